/* SPDX-License-Identifier: MIT */
/* arch/x86_64/mtrr_decode.c - what the MTRRs say about an address, and how
 * that combines with a page's PAT type; see mtrr.h. Pure: no MSR access. */
#include "arch/x86_64/mtrr.h"

/* Fixed-range MSRs (SDM "Fixed Range MTRRs"): one of 64 KiB pieces at 0,
 * two of 16 KiB pieces at 0x80000, eight of 4 KiB pieces at 0xC0000. */
u32 mtrr_fixed_msr(u32 i)
{
	if (i == 0)
		return 0x250;
	if (i <= 2)
		return 0x258 + (i - 1);
	return 0x268 + (i - 3);
}

void mtrr_fixed_span(u32 i, u64 *start, u64 *piece)
{
	if (i == 0) {
		*start = 0;
		*piece = 0x10000;
	} else if (i <= 2) {
		*start = 0x80000 + (i - 1) * 0x20000;
		*piece = 0x4000;
	} else {
		*start = 0xC0000 + (i - 3) * 0x8000;
		*piece = 0x1000;
	}
}

void mtrr_decode_fixed(struct mtrr_state *s, const u64 msr[MTRR_NR_FIXED_MSRS])
{
	for (u32 i = 0; i < MTRR_NR_FIXED_MSRS; i++)
		for (u32 b = 0; b < 8; b++)
			s->fixed[i * 8 + b] = (u8)(msr[i] >> (b * 8));
}

static u8 fixed_type_of(const struct mtrr_state *s, u64 addr)
{
	for (u32 i = MTRR_NR_FIXED_MSRS; i-- > 0;) {
		u64 start, piece;
		mtrr_fixed_span(i, &start, &piece);
		if (addr >= start)
			return s->fixed[i * 8 + (addr - start) / piece];
	}
	return MTRR_CONFLICT;   /* not reached: MSR 0 starts at 0 */
}

/* Several variable ranges match: UC wins; WT and WB give WT (the only mix
 * the SDM defines); the same type everywhere is that type. */
static u8 combine_overlap(u8 a, u8 b)
{
	if (a == PAT_UC || b == PAT_UC)
		return PAT_UC;
	if (a == b)
		return a;
	if ((a == PAT_WT && b == PAT_WB) || (a == PAT_WB && b == PAT_WT))
		return PAT_WT;
	return MTRR_CONFLICT;
}

u8 mtrr_type_of(const struct mtrr_state *s, u64 addr)
{
	if (!s->present || !s->enabled)
		return PAT_UC;
	if (s->fixed_enabled && addr < MTRR_FIXED_END)
		return fixed_type_of(s, addr);
	bool matched = false;
	u8 type = s->def_type;
	for (u32 i = 0; i < s->nr_var && i < MTRR_MAX_VAR; i++) {
		const struct mtrr_var *v = &s->var[i];
		if (!(v->mask & MTRR_PHYSMASK_VALID))
			continue;
		u64 mask = v->mask & MTRR_ADDR_MASK;
		if ((addr & mask) != (v->base & mask))
			continue;
		u8 t = (u8)(v->base & 0xFF);
		type = matched ? combine_overlap(type, t) : t;
		matched = true;
		if (type == PAT_UC)
			break;          /* nothing overrides UC */
	}
	return type;
}

u8 mtrr_type_of_range(const struct mtrr_state *s, u64 start, u64 end)
{
	start &= ~0xFFFULL;
	if (end <= start)
		return MTRR_MIXED;
	u8 type = mtrr_type_of(s, start);
	for (u64 a = start + 0x1000; a < end && a > start; a += 0x1000)
		if (mtrr_type_of(s, a) != type)
			return MTRR_MIXED;
	return type;
}

/* The SDM's table of effective memory types (vol. 3, "Effective
 * Page-Level Memory Types"), one row per MTRR type. */
enum pat_type mtrr_effective_type(u8 mtrr, enum pat_type page)
{
	if (page == PAT_UC)
		return PAT_UC;
	if (page == PAT_WC)
		return PAT_WC;          /* WC pages are WC over any MTRR type */
	switch (mtrr) {
	case PAT_UC:
		return PAT_UC;
	case PAT_WC:
		return page == PAT_UC_MINUS || page == PAT_WB ? PAT_WC : PAT_UC;
	case PAT_WT:
		return page == PAT_UC_MINUS ? PAT_UC : page == PAT_WP ? PAT_WP : PAT_WT;
	case PAT_WB:
		return page == PAT_UC_MINUS ? PAT_UC : page;
	case PAT_WP:
		return page == PAT_UC_MINUS ? PAT_WC : page == PAT_WT ? PAT_WT : PAT_WP;
	default:
		return PAT_UC;  /* a conflict or a mixed range: assume the worst */
	}
}
