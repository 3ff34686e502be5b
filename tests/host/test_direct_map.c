/* SPDX-License-Identifier: MIT */
// SOURCES: mm/direct_map.c
/* tests/host/test_direct_map.c - the direct map's ranges and page sizes
 * (mm/direct_map.h) on memory maps of real PCs: RAM that ends off a 2 MiB
 * boundary next to firmware memory, ACPI ranges touching RAM, overlapping
 * entries, the legacy hole below 1 MiB, most RAM above 4 GiB. The mapping
 * is replayed as mm/paging.c's map_range() walks it, and every page it
 * would make is checked: wholly inside RAM (a large page never spans RAM
 * and anything else), aligned to its size, the RAM covered exactly once. */
#include "mm/direct_map.h"
#include "tests/host/htest.h"
#include <string.h>

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define DIRECT_BASE 0xFFFF800000000000ULL

static struct boot_mmap_entry map[BOOT_MAX_MMAP];
static u32 nr_map;
static struct phys_range ranges[BOOT_MAX_MMAP];
static u32 nr_ranges;

static void add(u64 base, u64 len, u32 type) { map[nr_map++] = (struct boot_mmap_entry){ base, len, type }; }

static bool is_ram_byte(u64 a)
{
	for (u32 i = 0; i < nr_map; i++)
		if ((map[i].type == MMAP_AVAILABLE || map[i].type == MMAP_ACPI_RECLAIMABLE ||
		     map[i].type == MMAP_ACPI_NVS) && a >= map[i].base && a < map[i].base + map[i].length)
			return true;
	return false;
}

/* Pages by size, and whether one broke a rule. */
static u64 nr_4k, nr_2m, nr_1g, bad_span, bad_align;

/* One page [pa, pa + step): inside one range; for a large page, every
 * 4 KiB of it holds RAM per the map (probed at each 4 KiB boundary). */
static void check_page(const struct phys_range *r, u64 pa, u64 step)
{
	if (pa < r->start || pa + step > r->end)
		bad_span++;
	if (pa % step != 0)
		bad_align++;
	if (step > 4 * KiB)
		for (u64 a = pa; a < pa + step; a += 4 * KiB)
			if (!is_ram_byte(a) && !is_ram_byte(a + 4 * KiB - 1))
				bad_span++;
	nr_4k += step == 4 * KiB;
	nr_2m += step == 2 * MiB;
	nr_1g += step == GiB;
}

/* Replay map_direct(): the ranges, then each cut into pages. */
static void replay(bool gbpages)
{
	nr_4k = nr_2m = nr_1g = bad_span = bad_align = 0;
	nr_ranges = direct_map_ranges(map, nr_map, ranges, BOOT_MAX_MMAP);
	for (u32 i = 0; i < nr_ranges; i++) {
		HT_EXPECT(ranges[i].start < ranges[i].end);
		if (i)
			HT_EXPECT(ranges[i - 1].end < ranges[i].start);        /* sorted, apart */
		u64 pa = ranges[i].start;
		while (pa < ranges[i].end) {
			u64 step = direct_map_page_size(DIRECT_BASE + pa, pa, ranges[i].end - pa, gbpages, true);
			check_page(&ranges[i], pa, step);
			pa += step;
		}
		HT_EXPECT_EQ(pa, ranges[i].end);
	}
	HT_EXPECT_EQ(bad_span, 0);
	HT_EXPECT_EQ(bad_align, 0);
}

/* The range holding a, or NULL. */
static const struct phys_range *range_of(u64 a)
{
	for (u32 i = 0; i < nr_ranges; i++)
		if (a >= ranges[i].start && a < ranges[i].end)
			return &ranges[i];
	return NULL;
}

/* A desktop: RAM to 0x9FC00, EBDA, ROMs; RAM from 1 MiB to 0x7FF5E000
 * (off any 2 MiB boundary), ACPI reclaimable and NVS right after it, then
 * reserved firmware memory, the MMIO hole, and 6 GiB from 4 GiB. */
static void desktop_map(void)
{
	nr_map = 0;
	add(0, 0x9FC00, MMAP_AVAILABLE);
	add(0x9FC00, 0x400, MMAP_RESERVED);
	add(0xE0000, 0x20000, MMAP_RESERVED);
	add(MiB, 0x7FF5E000 - MiB, MMAP_AVAILABLE);
	add(0x7FF5E000, 0x20000, MMAP_ACPI_RECLAIMABLE);
	add(0x7FF7E000, 0x42000, MMAP_ACPI_NVS);
	add(0x7FFC0000, 0x40000, MMAP_RESERVED);
	add(0xFEC00000, 0x1400000, MMAP_RESERVED);
	add(4 * GiB, 6 * GiB, MMAP_AVAILABLE);
}

HTEST(desktop_no_large_page_across_a_boundary)
{
	desktop_map();
	for (int gb = 0; gb <= 1; gb++) {
		replay(gb);
		HT_EXPECT_EQ(nr_ranges, 3);     /* low, 1 MiB..ACPI NVS merged, above 4 GiB */
		HT_EXPECT(nr_2m > 0);
		HT_EXPECT_EQ(nr_1g > 0, gb);
	}
	/* The page holding the EBDA's start is RAM's last (partial) page. */
	HT_EXPECT(range_of(0x9F000) != NULL);
	HT_EXPECT(range_of(0xA0000) == NULL);           /* legacy VGA: not mapped */
	HT_EXPECT(range_of(0x7FFBF000) != NULL);        /* ACPI NVS: memory */
	HT_EXPECT(range_of(0x7FFC0000) == NULL);        /* firmware reserved */
	HT_EXPECT(range_of(0xFEE00000) == NULL);        /* the local APIC */
	HT_EXPECT(range_of(0xC0000000) == NULL);        /* the MMIO hole */
	HT_EXPECT(range_of(10 * GiB - 1) != NULL);
}

HTEST(unaligned_end_gets_4k_pages)
{
	desktop_map();
	replay(true);
	/* 0x7FE00000..0x7FFC0000: no 2 MiB page fits before the reserved
	 * range, so 4 KiB pages: 448 of them. And 0..0x9F000 + 1 MiB..2 MiB. */
	u64 expect_4k = (0x7FFC0000 - 0x7FE00000) / (4 * KiB) + 0xA0000 / (4 * KiB) + MiB / (4 * KiB);
	HT_EXPECT_EQ(nr_4k, expect_4k);
}

HTEST(overlapping_and_unsorted_entries_merge)
{
	nr_map = 0;
	add(4 * GiB, 2 * GiB, MMAP_AVAILABLE);
	add(MiB, 511 * MiB, MMAP_AVAILABLE);
	add(5 * GiB, 2 * GiB, MMAP_AVAILABLE);          /* overlaps the first */
	add(512 * MiB, 4 * KiB + 100, MMAP_ACPI_RECLAIMABLE);   /* touches, odd length */
	add(0, 0x9FC00, MMAP_AVAILABLE);
	add(9 * GiB, 0, MMAP_AVAILABLE);                /* empty: ignored */
	replay(true);
	HT_EXPECT_EQ(nr_ranges, 3);
	HT_EXPECT_EQ(ranges[0].start, 0);
	HT_EXPECT_EQ(ranges[0].end, 0xA0000);
	HT_EXPECT_EQ(ranges[1].start, MiB);
	HT_EXPECT_EQ(ranges[1].end, 512 * MiB + 8 * KiB);
	HT_EXPECT_EQ(ranges[2].start, 4 * GiB);
	HT_EXPECT_EQ(ranges[2].end, 7 * GiB);
	HT_EXPECT_EQ(nr_1g, 3);
}

HTEST(qemu_max_ram_below_4g_1g)
{
	/* QEMU pc,max-ram-below-4g=1G -m 6G under SeaBIOS, as it boots. */
	nr_map = 0;
	add(0, 0x9FC00, MMAP_AVAILABLE);
	add(0x9FC00, 0x400, MMAP_RESERVED);
	add(0xF0000, 0x10000, MMAP_RESERVED);
	add(MiB, 0x3FEE0000, MMAP_AVAILABLE);
	add(0x3FFE0000, 0x20000, MMAP_RESERVED);
	add(0xFFFC0000, 0x40000, MMAP_RESERVED);
	add(4 * GiB, 5 * GiB, MMAP_AVAILABLE);
	replay(true);
	HT_EXPECT_EQ(nr_ranges, 3);
	HT_EXPECT_EQ(nr_1g, 5);
	HT_EXPECT(range_of(0x3FFE0000) == NULL);
}

HTEST(too_many_ranges_reported)
{
	nr_map = 0;
	for (u32 i = 0; i < 10; i++)
		add(i * 4 * MiB, MiB, MMAP_AVAILABLE);
	struct phys_range few[4];
	HT_EXPECT_EQ(direct_map_ranges(map, nr_map, few, 4), 5);
	HT_EXPECT_EQ(direct_map_ranges(map, nr_map, ranges, BOOT_MAX_MMAP), 10);
}

HTEST(page_size_choices)
{
	HT_EXPECT_EQ(direct_map_page_size(DIRECT_BASE, 0, GiB, true, true), GiB);
	HT_EXPECT_EQ(direct_map_page_size(DIRECT_BASE, 0, GiB, false, true), 2 * MiB);
	HT_EXPECT_EQ(direct_map_page_size(DIRECT_BASE, 0, GiB - 4 * KiB, true, true), 2 * MiB);
	HT_EXPECT_EQ(direct_map_page_size(DIRECT_BASE, 0, 2 * MiB - 4 * KiB, true, true), 4 * KiB);
	HT_EXPECT_EQ(direct_map_page_size(DIRECT_BASE + 4 * KiB, 4 * KiB, GiB, true, true), 4 * KiB);
	HT_EXPECT_EQ(direct_map_page_size(DIRECT_BASE, 0, GiB, true, false), 4 * KiB);
}

int main(void)
{
	return htest_main("direct_map", (struct htest[]){
		HT_CASE(desktop_no_large_page_across_a_boundary),
		HT_CASE(unaligned_end_gets_4k_pages),
		HT_CASE(overlapping_and_unsorted_entries_merge),
		HT_CASE(qemu_max_ram_below_4g_1g),
		HT_CASE(too_many_ranges_reported),
		HT_CASE(page_size_choices),
		{0} });
}
