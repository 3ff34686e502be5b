/* SPDX-License-Identifier: MIT */
/* arch/x86_64/mtrr.c - reading the MTRRs at boot and checking mappings
 * against them; the decoding is in mtrr_decode.c (see mtrr.h). */
#include "arch/x86_64/mtrr.h"
#include "arch/x86_64/cpu.h"
#include "kernel/printk.h"
#include "mm/ioremap.h"          /* pat_type_name */

#define CPUID_1_EDX_MTRR (1u << 12)

struct mtrr_state mtrr_state;

const char *mtrr_type_name(u8 type)
{
	if (type == MTRR_MIXED)
		return "mixed";
	if (type == MTRR_CONFLICT)
		return "conflict";
	/* The MTRR types are PAT's encodings, less UC- (7 is no MTRR type). */
	return type == PAT_UC_MINUS ? "?" : pat_type_name((enum pat_type)type);
}

static void read_mtrrs(struct mtrr_state *s)
{
	u64 cap = rdmsr(MSR_MTRRCAP), def = rdmsr(MSR_MTRR_DEF_TYPE);
	s->present = true;
	s->enabled = (def & MTRR_DEF_TYPE_E) != 0;
	s->fixed_enabled = (cap & MTRRCAP_FIX) && (def & MTRR_DEF_TYPE_FE);
	s->wc_supported = (cap & MTRRCAP_WC) != 0;
	s->def_type = (u8)(def & 0xFF);
	s->nr_var = (u32)(cap & MTRRCAP_VCNT);
	if (s->nr_var > MTRR_MAX_VAR)
		s->nr_var = MTRR_MAX_VAR;
	for (u32 i = 0; i < s->nr_var; i++) {
		s->var[i].base = rdmsr(MSR_MTRR_PHYSBASE(i));
		s->var[i].mask = rdmsr(MSR_MTRR_PHYSMASK(i));
	}
	if (cap & MTRRCAP_FIX) {
		u64 msr[MTRR_NR_FIXED_MSRS];
		for (u32 i = 0; i < MTRR_NR_FIXED_MSRS; i++)
			msr[i] = rdmsr(mtrr_fixed_msr(i));
		mtrr_decode_fixed(s, msr);
	}
}

/* The fixed ranges as runs of one type: "0-0x9ffff WB, 0xa0000-0xbffff UC, ...". */
static void print_fixed(const struct mtrr_state *s)
{
	char line[256];
	int n = 0;
	u64 run_start = 0;
	for (u64 a = 0x1000; a <= MTRR_FIXED_END && n < (int)sizeof(line) - 40; a += 0x1000) {
		u8 t = mtrr_type_of(s, a - 0x1000);
		if (a < MTRR_FIXED_END && mtrr_type_of(s, a) == t)
			continue;
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s0x%lx-0x%lx %s",
			      run_start ? ", " : "", run_start, a - 1, mtrr_type_name(t));
		run_start = a;
	}
	printk("MTRR: below 1 MiB: %s\n", line);
}

static void print_summary(const struct mtrr_state *s)
{
	u32 used = 0;
	for (u32 i = 0; i < s->nr_var; i++)
		used += (s->var[i].mask & MTRR_PHYSMASK_VALID) != 0;
	printk("MTRR: %s, default %s, fixed ranges %s, %u of %u variable ranges used%s\n",
	       s->enabled ? "enabled" : "disabled (everything UC)", mtrr_type_name(s->def_type),
	       s->fixed_enabled ? "on" : "off", used, s->nr_var,
	       s->wc_supported ? "" : ", no WC type");
	if (!s->enabled)
		return;
	if (s->fixed_enabled)
		print_fixed(s);
	for (u32 i = 0; i < s->nr_var; i++) {
		const struct mtrr_var *v = &s->var[i];
		if (!(v->mask & MTRR_PHYSMASK_VALID))
			continue;
		u64 mask = v->mask & MTRR_ADDR_MASK;
		u64 base = v->base & MTRR_ADDR_MASK;
		/* A contiguous mask covers 2^(its lowest set bit) bytes. */
		u64 size = mask & -mask;
		printk("MTRR: variable %u: 0x%lx, %lu MiB, %s\n", i, base, size >> 20,
		       mtrr_type_name((u8)(v->base & 0xFF)));
	}
}

void mtrr_init(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & CPUID_1_EDX_MTRR)) {
		printk("MTRR: none (CPUID); memory types come from the page tables alone\n");
		return;
	}
	read_mtrrs(&mtrr_state);
	print_summary(&mtrr_state);
}

enum pat_type mtrr_check_mapping(const char *what, u64 phys, u64 size, enum pat_type page)
{
	if (!mtrr_state.present)
		return page;
	u8 mt = mtrr_type_of_range(&mtrr_state, phys, phys + size);
	enum pat_type eff = mtrr_effective_type(mt, page);
	if (eff != page)
		printk("MTRR: %s at 0x%lx (%lu KiB) is mapped %s over an MTRR range of type %s: "
		       "effectively %s\n", what, phys, size >> 10, pat_type_name(page),
		       mtrr_type_name(mt), pat_type_name(eff));
	return eff;
}
