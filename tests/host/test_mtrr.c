/* SPDX-License-Identifier: MIT */
// SOURCES: arch/x86_64/mtrr_decode.c
/* tests/host/test_mtrr.c - decoding the MTRRs (arch/x86_64/mtrr.h) on
 * register values a real PC's firmware could leave: QEMU's firmware
 * programs few ranges and QEMU ignores memory types, so no boot shows
 * these. Expected types are written out from the Intel SDM (vol. 3,
 * "MTRR Precedences", "Fixed Range MTRRs", "Effective Page-Level Memory
 * Types"), not recomputed. */
#include "tests/host/htest.h"
#include "arch/x86_64/mtrr.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/* A variable range [base, base + size) of type t; size a power of two,
 * base aligned to it; 36 physical address bits, as many desktop CPUs. */
static struct mtrr_var var(unsigned long long base, unsigned long long size, u8 t)
{
	unsigned long long phys_mask = (1ULL << 36) - 1;
	return (struct mtrr_var){ base | t, ((~(size - 1)) & phys_mask & MTRR_ADDR_MASK) |
					    MTRR_PHYSMASK_VALID };
}

static struct mtrr_state enabled_state(u8 def)
{
	struct mtrr_state s = { 0 };
	s.present = s.enabled = true;
	s.def_type = def;
	s.nr_var = 8;
	return s;
}

HTEST(variable_range_masks)
{
	/* A typical desktop: default UC, RAM 0-2 GiB WB as one range, and
	 * 2-3 GiB WB as a second; the rest (the PCI hole) falls to the default. */
	struct mtrr_state s = enabled_state(PAT_UC);
	s.var[0] = var(0, 2 * GIB, PAT_WB);
	s.var[1] = var(2 * GIB, GIB, PAT_WB);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0x100000), PAT_WB);
	HT_EXPECT_EQ(mtrr_type_of(&s, 2 * GIB - 1), PAT_WB);
	HT_EXPECT_EQ(mtrr_type_of(&s, 3 * GIB - 0x1000), PAT_WB);
	HT_EXPECT_EQ(mtrr_type_of(&s, 3 * GIB), PAT_UC);
	HT_EXPECT_EQ(mtrr_type_of(&s, 4 * GIB - 0x1000), PAT_UC);
	/* The mask compares only its bits: 2 GiB at 0 does not match 4 GiB
	 * + 1 MiB (bit 32 is in the mask). */
	HT_EXPECT_EQ(mtrr_type_of(&s, 4 * GIB + MIB), PAT_UC);
	/* An invalid range (valid bit clear) matches nothing. */
	s.var[1].mask &= ~(unsigned long long)MTRR_PHYSMASK_VALID;
	HT_EXPECT_EQ(mtrr_type_of(&s, 2 * GIB), PAT_UC);
	/* Ranges past nr_var are not looked at. */
	s.var[1] = var(2 * GIB, GIB, PAT_WB);
	s.nr_var = 1;
	HT_EXPECT_EQ(mtrr_type_of(&s, 2 * GIB), PAT_UC);
}

HTEST(overlaps_uc_wins_and_wt_over_wb)
{
	/* Default WB; a WB range over all 4 GiB with a UC hole carved by an
	 * overlapping range (the common firmware idiom), and a WT range over
	 * part of the WB one. */
	struct mtrr_state s = enabled_state(PAT_WB);
	s.var[0] = var(0, 4 * GIB, PAT_WB);
	s.var[1] = var(3 * GIB, GIB, PAT_UC);
	s.var[2] = var(GIB, 256 * MIB, PAT_WT);
	s.var[3] = var(2 * GIB, 256 * MIB, PAT_WC);
	HT_EXPECT_EQ(mtrr_type_of(&s, 3 * GIB + 0x5000), PAT_UC);     /* UC wins */
	HT_EXPECT_EQ(mtrr_type_of(&s, GIB + 0x1000), PAT_WT);         /* WT + WB = WT */
	HT_EXPECT_EQ(mtrr_type_of(&s, GIB + 256 * MIB), PAT_WB);
	/* UC wins whatever the order of the ranges. */
	struct mtrr_state r = enabled_state(PAT_WB);
	r.var[0] = var(3 * GIB, GIB, PAT_UC);
	r.var[1] = var(0, 4 * GIB, PAT_WB);
	r.var[2] = var(3 * GIB, 512 * MIB, PAT_WT);
	HT_EXPECT_EQ(mtrr_type_of(&r, 3 * GIB), PAT_UC);
	/* WC over WB is not defined by the SDM. */
	HT_EXPECT_EQ(mtrr_type_of(&s, 2 * GIB), MTRR_CONFLICT);
	/* Two ranges of one type are that type. */
	s.var[4] = var(GIB + 512 * MIB, 512 * MIB, PAT_WB);
	HT_EXPECT_EQ(mtrr_type_of(&s, GIB + 600 * MIB), PAT_WB);
}

HTEST(fixed_ranges_below_1mib)
{
	/* Firmware's usual first MiB: RAM WB to 0x9FFFF, the VGA window
	 * 0xA0000-0xBFFFF UC, option ROMs 0xC0000-0xC7FFF WP, the rest of
	 * 0xC8000-0xEFFFF UC, the BIOS 0xF0000-0xFFFFF WP. */
	struct mtrr_state s = enabled_state(PAT_UC);
	s.fixed_enabled = true;
	s.var[0] = var(0, 2 * GIB, PAT_WB);
	u64 msr[MTRR_NR_FIXED_MSRS];
	msr[0] = 0x0606060606060606ULL;                 /* 0x00000-0x7FFFF, 64 KiB each */
	msr[1] = 0x0606060606060606ULL;                 /* 0x80000-0x9FFFF, 16 KiB each */
	msr[2] = 0x0000000000000000ULL;                 /* 0xA0000-0xBFFFF */
	for (int i = 3; i < 11; i++)                    /* 0xC0000-0xFFFFF, 4 KiB each */
		msr[i] = 0;
	msr[3] = 0x0505050505050505ULL;                 /* 0xC0000-0xC7FFF */
	msr[9] = msr[10] = 0x0505050505050505ULL;       /* 0xF0000-0xFFFFF */
	msr[4] = 0x0000000000060000ULL;                 /* 0xCA000 alone WB */
	mtrr_decode_fixed(&s, msr);
	HT_EXPECT_EQ(mtrr_fixed_msr(0), 0x250);
	HT_EXPECT_EQ(mtrr_fixed_msr(2), 0x259);
	HT_EXPECT_EQ(mtrr_fixed_msr(3), 0x268);
	HT_EXPECT_EQ(mtrr_fixed_msr(10), 0x26F);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0x9F000), PAT_WB);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0xA0000), PAT_UC);      /* fixed beats the WB range */
	HT_EXPECT_EQ(mtrr_type_of(&s, 0xBFFFF), PAT_UC);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0xC7000), PAT_WP);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0xC8000), PAT_UC);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0xCA000), PAT_WB);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0xCB000), PAT_UC);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0xFF000), PAT_WP);
	HT_EXPECT_EQ(mtrr_type_of(&s, 0x100000), PAT_WB);     /* the variable ranges again */
	HT_EXPECT_EQ(mtrr_type_of_range(&s, 0xC0000, 0xC8000), PAT_WP);
	HT_EXPECT_EQ(mtrr_type_of_range(&s, 0xC0000, 0xC9000), MTRR_MIXED);
	/* Fixed ranges disabled (FE clear): the variable ranges decide. */
	s.fixed_enabled = false;
	HT_EXPECT_EQ(mtrr_type_of(&s, 0xA0000), PAT_WB);
}

HTEST(disabled_or_absent_is_uc)
{
	struct mtrr_state s = enabled_state(PAT_WB);
	s.var[0] = var(0, 4 * GIB, PAT_WB);
	s.enabled = false;
	HT_EXPECT_EQ(mtrr_type_of(&s, 0x100000), PAT_UC);
	struct mtrr_state none = { 0 };
	HT_EXPECT_EQ(mtrr_type_of(&none, 0x100000), PAT_UC);
}

HTEST(range_of_one_type)
{
	/* A framebuffer at 0xE0000000 (8 MiB) inside a UC hole, and one that
	 * straddles the hole's edge. */
	struct mtrr_state s = enabled_state(PAT_WB);
	s.var[0] = var(3 * GIB, GIB, PAT_UC);
	HT_EXPECT_EQ(mtrr_type_of_range(&s, 0xE0000000ULL, 0xE0800000ULL), PAT_UC);
	HT_EXPECT_EQ(mtrr_type_of_range(&s, 3 * GIB - 0x2000, 3 * GIB + 0x2000), MTRR_MIXED);
	/* An unaligned start counts its whole page. */
	HT_EXPECT_EQ(mtrr_type_of_range(&s, 3 * GIB - 0x10, 3 * GIB + 0x10), MTRR_MIXED);
	HT_EXPECT_EQ(mtrr_type_of_range(&s, 3 * GIB + 0x10, 3 * GIB + 0x20), PAT_UC);
}

HTEST(effective_type_with_pat)
{
	/* WC pages are WC and UC pages UC over any MTRR type. */
	const u8 mtrrs[] = { PAT_UC, PAT_WC, PAT_WT, PAT_WP, PAT_WB };
	for (unsigned i = 0; i < sizeof(mtrrs); i++) {
		HT_EXPECT_EQ(mtrr_effective_type(mtrrs[i], PAT_WC), PAT_WC);
		HT_EXPECT_EQ(mtrr_effective_type(mtrrs[i], PAT_UC), PAT_UC);
	}
	/* A WB page takes the MTRR's type: a framebuffer left WB over a UC
	 * MTRR is uncached (the slow screen the WC mapping avoids). */
	HT_EXPECT_EQ(mtrr_effective_type(PAT_UC, PAT_WB), PAT_UC);
	HT_EXPECT_EQ(mtrr_effective_type(PAT_WC, PAT_WB), PAT_WC);
	HT_EXPECT_EQ(mtrr_effective_type(PAT_WT, PAT_WB), PAT_WT);
	HT_EXPECT_EQ(mtrr_effective_type(PAT_WP, PAT_WB), PAT_WP);
	HT_EXPECT_EQ(mtrr_effective_type(PAT_WB, PAT_WB), PAT_WB);
	/* UC- is UC except over a WC MTRR, where it is WC. */
	HT_EXPECT_EQ(mtrr_effective_type(PAT_WC, PAT_UC_MINUS), PAT_WC);
	HT_EXPECT_EQ(mtrr_effective_type(PAT_WB, PAT_UC_MINUS), PAT_UC);
	/* WT pages: UC over UC and WC MTRRs, WT over WB. */
	HT_EXPECT_EQ(mtrr_effective_type(PAT_UC, PAT_WT), PAT_UC);
	HT_EXPECT_EQ(mtrr_effective_type(PAT_WC, PAT_WT), PAT_UC);
	HT_EXPECT_EQ(mtrr_effective_type(PAT_WB, PAT_WT), PAT_WT);
	/* A conflicting or mixed MTRR range is assumed UC. */
	HT_EXPECT_EQ(mtrr_effective_type(MTRR_CONFLICT, PAT_WB), PAT_UC);
	HT_EXPECT_EQ(mtrr_effective_type(MTRR_MIXED, PAT_WB), PAT_UC);
	HT_EXPECT_EQ(mtrr_effective_type(MTRR_MIXED, PAT_WC), PAT_WC);
}

int main(void)
{
	return htest_main("mtrr", (struct htest[]){
		HT_CASE(variable_range_masks),
		HT_CASE(overlaps_uc_wins_and_wt_over_wb),
		HT_CASE(fixed_ranges_below_1mib),
		HT_CASE(disabled_or_absent_is_uc),
		HT_CASE(range_of_one_type),
		HT_CASE(effective_type_with_pat),
		{0} });
}
