/* SPDX-License-Identifier: MIT */
// SOURCES: arch/x86_64/trampoline_place.c
/* tests/host/test_trampoline.c - where the AP trampoline goes, on synthetic
 * memory maps: what QEMU's SeaBIOS and OVMF never produce (GRUB's modules
 * and information below 1 MiB, an EBDA lower than usual, low memory cut
 * into pieces). */
#include "tests/host/htest.h"
#include "arch/x86_64/trampoline_place.h"

#define PAGE 0x1000ULL

/* The usual PC: RAM to 0x9FC00, EBDA and ROMs above, RAM from 1 MiB. */
static const struct boot_mmap_entry pc_map[] = {
	{ 0x0, 0x9FC00, MMAP_AVAILABLE },
	{ 0x9FC00, 0x400, MMAP_RESERVED },
	{ 0xF0000, 0x10000, MMAP_RESERVED },
	{ 0x100000, 0x1FF00000, MMAP_AVAILABLE },
};
#define PC_N 4

/* The kernel's blanket low-memory reservation, as mm/memmap.c makes it. */
static const struct mem_range low_1m = { 0, 0x100000, "low 1 MiB" };

static u64 place(const struct mem_range *busy, u32 nr_busy, u64 limit)
{
	return trampoline_place(pc_map, PC_N, busy, nr_busy, limit, 272);
}

HTEST(plain_pc_takes_highest_page)
{
	HT_EXPECT_EQ(place(NULL, 0, TRAMPOLINE_LIMIT_MAX), 0x9E000);
	/* The blanket reservation is not a reason to refuse. */
	HT_EXPECT_EQ(place(&low_1m, 1, TRAMPOLINE_LIMIT_MAX), 0x9E000);
}

HTEST(modules_and_boot_info_avoided)
{
	/* GRUB put a module over the top pages, the Multiboot2 information
	 * half-way into the page below (not page-aligned at its end). */
	const struct mem_range busy[] = {
		low_1m,
		{ 0x9C000, 0x9F000, "module" },
		{ 0x9A800, 0x9B400, "multiboot2 info" },
	};
	u64 p = place(busy, 3, TRAMPOLINE_LIMIT_MAX);
	HT_EXPECT_EQ(p, 0x99000);
	for (u32 i = 1; i < 3; i++)
		HT_EXPECT(p + PAGE <= busy[i].start || p >= busy[i].end);
}

HTEST(ebda_lowers_the_limit)
{
	/* EBDA at 0x8F000 (segment 0x8F00): the page must end below it. */
	u64 limit = trampoline_low_limit(0x8F00, 639);
	HT_EXPECT_EQ(limit, 0x8F000);
	HT_EXPECT_EQ(place(NULL, 0, limit), 0x8E000);
	/* The base memory size can lower it too. */
	HT_EXPECT_EQ(trampoline_low_limit(0x9FC0, 512), 0x80000);
	/* Typical: EBDA at 0x9FC00, 639 KiB: the top page is 0x9F000. */
	HT_EXPECT_EQ(trampoline_low_limit(0x9FC0, 639), 0x9F000);
	/* UEFI may leave both 0, and nonsense below 128 KiB is ignored. */
	HT_EXPECT_EQ(trampoline_low_limit(0, 0), TRAMPOLINE_LIMIT_MAX);
	HT_EXPECT_EQ(trampoline_low_limit(0x100, 4), TRAMPOLINE_LIMIT_MAX);
	/* Above 640 KiB is not conventional memory: ignored. */
	HT_EXPECT_EQ(trampoline_low_limit(0xC000, 800), TRAMPOLINE_LIMIT_MAX);
}

HTEST(fragmented_low_memory)
{
	/* Available only in pieces, a reserved entry overlapping one (maps
	 * may overlap), and a busy range: the highest free page left. */
	const struct boot_mmap_entry map[] = {
		{ 0x0, 0x8000, MMAP_AVAILABLE },
		{ 0x10000, 0x10000, MMAP_AVAILABLE },
		{ 0x1F000, 0x1000, MMAP_ACPI_NVS },
		{ 0x1E000, 0x800, MMAP_RESERVED },
		{ 0x9F000, 0x1000, MMAP_AVAILABLE },
	};
	const struct mem_range busy[] = { low_1m, { 0x9F000, 0xA0000, "module" },
					  { 0x1D000, 0x1E000, "early_alloc" } };
	HT_EXPECT_EQ(trampoline_place(map, 5, busy, 3, 0xA0000, 272), 0x1C000);
	/* Two pages in a row are wanted: the run must be whole. */
	HT_EXPECT_EQ(trampoline_place(map, 5, busy, 3, 0xA0000, 2 * PAGE), 0x1B000);
	/* A busy range that does not cover all of low memory counts. */
	const struct mem_range half = { 0, 0x80000, "big" };
	HT_EXPECT_EQ(trampoline_place(pc_map, PC_N, &half, 1, 0x9F000, 272), 0x9E000);
	HT_EXPECT_EQ(trampoline_place(pc_map, PC_N, &half, 1, 0x80000, 272), 0);
}

HTEST(page_zero_and_nothing_free)
{
	const struct boot_mmap_entry two_pages[] = { { 0x0, 0x2000, MMAP_AVAILABLE } };
	HT_EXPECT_EQ(trampoline_place(two_pages, 1, NULL, 0, 0x9F000, 272), 0x1000);
	const struct boot_mmap_entry one_page[] = { { 0x0, 0x1000, MMAP_AVAILABLE } };
	HT_EXPECT_EQ(trampoline_place(one_page, 1, NULL, 0, 0x9F000, 272), 0);
	/* Everything under the limit busy. */
	const struct mem_range all = { 0x1000, 0x9F000, "modules" };
	HT_EXPECT_EQ(place(&all, 1, 0x9F000), 0);
	/* No map at all, or nothing available below 1 MiB. */
	HT_EXPECT_EQ(trampoline_place(NULL, 0, NULL, 0, 0x9F000, 272), 0);
	const struct boot_mmap_entry high[] = { { 0x100000, 0x100000, MMAP_AVAILABLE } };
	HT_EXPECT_EQ(trampoline_place(high, 1, NULL, 0, 0x9F000, 272), 0);
	/* A limit above 1 MiB is cut to 1 MiB: a SIPI cannot reach higher. */
	const struct boot_mmap_entry big[] = { { 0x0, 0x200000, MMAP_AVAILABLE } };
	HT_EXPECT_EQ(trampoline_place(big, 1, NULL, 0, 0x200000, 272), 0xFF000);
}

int main(void)
{
	return htest_main("trampoline", (struct htest[]){
		HT_CASE(plain_pc_takes_highest_page),
		HT_CASE(modules_and_boot_info_avoided),
		HT_CASE(ebda_lowers_the_limit),
		HT_CASE(fragmented_low_memory),
		HT_CASE(page_zero_and_nothing_free),
		{0} });
}
