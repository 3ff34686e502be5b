/* SPDX-License-Identifier: MIT */
/* tests/host/test_pat.c - the Page Attribute Table encodings in pat.h.
 *
 * QEMU ignores memory types (video memory is plain RAM there), so a wrong
 * PAT value or wrong cache bits in an entry would only show on a real PC,
 * as a slow or corrupted screen. Expected values are written out from the
 * Intel SDM (vol. 3, "Page Attribute Table": the IA32_PAT layout, the
 * memory type encodings, and where PAT sits in 4 KiB and large entries)
 * rather than recomputed.
 */
#include "tests/host/htest.h"
#include "arch/x86_64/pat.h"

HTEST(pat_msr_value)
{
	/* Entries 0..7 = WB(06) WC(01) UC-(07) UC(00) WB(06) WP(05) UC-(07)
	 * WT(04), entry 0 in the low byte: Linux's table. */
	HT_EXPECT_EQ(PAT_VALUE, 0x0407050600070106ULL);
	/* Entries 0, 2 and 3 keep their power-on types (power-on value
	 * 0x0007040600070406), so entries with no PAT bits set and PCD-only
	 * entries mean the same before and after pat_init_cpu(). */
	const unsigned long long power_on = 0x0007040600070406ULL;
	for (int i = 0; i < 4; i++)
		if (i != 1)
			HT_EXPECT_EQ((PAT_VALUE >> (i * 8)) & 0xFF, (power_on >> (i * 8)) & 0xFF);
}

HTEST(cache_bits_4k)
{
	/* index = PAT*4 + PCD*2 + PWT; PWT bit 3, PCD bit 4, PAT bit 7. */
	HT_EXPECT_EQ(pat_cache_bits(PAT_WB, false), 0);
	HT_EXPECT_EQ(pat_cache_bits(PAT_WC, false), 0x8);       /* PWT: entry 1 */
	HT_EXPECT_EQ(pat_cache_bits(PAT_UC_MINUS, false), 0x10); /* PCD: entry 2 */
	HT_EXPECT_EQ(pat_cache_bits(PAT_UC, false), 0x18);
	HT_EXPECT_EQ(pat_cache_bits(PAT_WP, false), 0x88);      /* PAT|PWT: entry 5 */
	HT_EXPECT_EQ(pat_cache_bits(PAT_WT, false), 0x98);      /* entry 7 */
	HT_EXPECT_EQ(pat_cache_mask(false), 0x98);
}

HTEST(cache_bits_large_page)
{
	/* In a 2 MiB or 1 GiB entry bit 7 is PS: PAT moves to bit 12. */
	HT_EXPECT_EQ(pat_cache_bits(PAT_WB, true), 0);
	HT_EXPECT_EQ(pat_cache_bits(PAT_WC, true), 0x8);
	HT_EXPECT_EQ(pat_cache_bits(PAT_UC, true), 0x18);
	HT_EXPECT_EQ(pat_cache_bits(PAT_WP, true), 0x1008);
	HT_EXPECT_EQ(pat_cache_bits(PAT_WT, true), 0x1018);
	HT_EXPECT_EQ(pat_cache_mask(true), 0x1018);
	for (int t = 0; t < 8; t++)
		HT_EXPECT_EQ(pat_cache_bits((enum pat_type)t, true) & 0x80, 0);
}

HTEST(type_of_entry)
{
	/* The classic bug: reading bit 7 of a large entry as PAT. A 2 MiB
	 * page (PS set, no cache bits) is WB, not WP. */
	HT_EXPECT_EQ(pat_type_of(0x80 | 0x3, true), PAT_WB);
	HT_EXPECT_EQ(pat_type_of(0x80 | 0x8, false), PAT_WP);
	HT_EXPECT_EQ(pat_type_of(0x1000 | 0x8, true), PAT_WP);
	HT_EXPECT_EQ(pat_type_of(0x8, false), PAT_WC);
	HT_EXPECT_EQ(pat_type_of(0x8, true), PAT_WC);
	HT_EXPECT_EQ(pat_type_of(0x10, false), PAT_UC_MINUS);
	/* Every type the table holds round-trips, at both sizes. */
	static const enum pat_type types[] = { PAT_UC, PAT_WC, PAT_WT, PAT_WP, PAT_WB, PAT_UC_MINUS };
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		HT_EXPECT_EQ(pat_type_of(pat_cache_bits(types[i], false), false), types[i]);
		HT_EXPECT_EQ(pat_type_of(pat_cache_bits(types[i], true), true), types[i]);
	}
}

int main(void)
{
	return htest_main("pat", (struct htest[]){
		HT_CASE(pat_msr_value), HT_CASE(cache_bits_4k), HT_CASE(cache_bits_large_page),
		HT_CASE(type_of_entry), {0} });
}
