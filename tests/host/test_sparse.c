/* SPDX-License-Identifier: MIT */
// SOURCES: mm/memmap.c mm/sparse.c
/* tests/host/test_sparse.c - where the page descriptors go (mm/sparse.h),
 * on memory maps QEMU cannot make: 256 GiB with holes and only 512 MiB
 * below 4 GiB, free RAM cut by reserved ranges so that no single block (or
 * no 2 MiB block) holds the descriptors, and a machine with no room at all.
 * Each layout is checked against the rules: every present section backed
 * exactly once, every piece inside free available RAM (the reserved table
 * as it stood before, and each other, untouched), aligned as its mapping
 * needs, above 4 GiB when there is room there, and a boot page-table pool
 * still to be had below 4 GiB afterwards. */
#include "mm/memmap.h"
#include "mm/sparse.h"
#include "mm/page.h"
#include "kernel/bootinfo.h"
#include "kernel/printk.h"
#include "tests/host/htest.h"
#include "tests/host/host_panic.h"
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

struct boot_info boot_info;
char __kernel_phys_start[1], __kernel_phys_end[1];
u64 max_pfn;
struct page *vmemmap;

int printk(const char *fmt, ...) { (void)fmt; return 0; }


static void map_add(u64 base, u64 len, u32 type)
{
	boot_info.mmap[boot_info.nr_mmap++] = (struct boot_mmap_entry){ base, len, type };
}

/* A PC's low memory: RAM to 0x9FC00, EBDA, BIOS, RAM from 1 MiB to low_end. */
static void map_pc_low(u64 low_end)
{
	memset(&boot_info, 0, sizeof(boot_info));
	map_add(0, 0x9FC00, MMAP_AVAILABLE);
	map_add(0x9FC00, 0x400, MMAP_RESERVED);
	map_add(0xF0000, 0x10000, MMAP_RESERVED);
	map_add(MiB, low_end - MiB, MMAP_AVAILABLE);
}

/* The reserved table as the kernel leaves it before sparse_init, copied. */
static struct mem_range before[MAX_RESERVED];
static u32 nr_before;

static void reserve_boot_ranges(void)
{
	memmap_init();
	memmap_reserve(2 * MiB, 16 * MiB, "kernel image");
	memmap_reserve(17 * MiB, 20 * MiB, "module");
	memcpy(before, reserved, sizeof(before));
	nr_before = nr_reserved;
}

static bool inside_available(u64 a, u64 b)
{
	for (u32 i = 0; i < boot_info.nr_mmap; i++) {
		const struct boot_mmap_entry *e = &boot_info.mmap[i];
		if (e->type == MMAP_AVAILABLE && a >= e->base && b <= e->base + e->length)
			return true;
	}
	return false;
}

static bool overlaps(u64 a, u64 b, u64 c, u64 d) { return a < d && c < b; }

/* Every piece sits in free available RAM, apart from the others. */
static void check_pieces_placed(void)
{
	for (u32 i = 0; i < nr_vmemmap_pieces; i++) {
		const struct vmemmap_piece *p = &vmemmap_pieces[i];
		u64 a = p->phys, b = p->phys + p->size;
		HT_EXPECT(inside_available(a, b));
		for (u32 r = 0; r < nr_before; r++)
			HT_EXPECT(!overlaps(a, b, before[r].start, before[r].end));
		for (u32 j = 0; j < i; j++)
			HT_EXPECT(!overlaps(a, b, vmemmap_pieces[j].phys,
					    vmemmap_pieces[j].phys + vmemmap_pieces[j].size));
		u64 align = p->huge ? VMEMMAP_BLOCK : PAGE_SIZE;
		HT_EXPECT(p->offset % align == 0 && p->phys % align == 0 && p->size % align == 0);
	}
}

/* How many pieces hold vmemmap byte off. */
static u32 pieces_covering(u64 off)
{
	u32 n = 0;
	for (u32 i = 0; i < nr_vmemmap_pieces; i++)
		if (off >= vmemmap_pieces[i].offset && off < vmemmap_pieces[i].offset + vmemmap_pieces[i].size)
			n++;
	return n;
}

static bool ram_in_section(u64 nr)
{
	u64 a = nr << SECTION_SIZE_BITS, b = a + (1ULL << SECTION_SIZE_BITS);
	for (u32 i = 0; i < boot_info.nr_mmap; i++) {
		const struct boot_mmap_entry *e = &boot_info.mmap[i];
		if (e->type == MMAP_AVAILABLE && overlaps(a, b, e->base, e->base + e->length))
			return true;
	}
	return false;
}

/* Present exactly where RAM is; each present section's first and last
 * descriptor backed exactly once; the whole placed; a pool still fits. */
static void check_layout(u64 end_pfn)
{
	u64 nr_sections = (end_pfn + PAGES_PER_SECTION - 1) / PAGES_PER_SECTION, present = 0;
	for (u64 nr = 0; nr < nr_sections + 2; nr++) {
		bool ram = nr < nr_sections && ram_in_section(nr);
		HT_EXPECT_EQ(present_section_nr(nr), ram);
		if (!ram)
			continue;
		present++;
		HT_EXPECT_EQ(pieces_covering(nr * SECTION_MAP_BYTES), 1);
		HT_EXPECT_EQ(pieces_covering((nr + 1) * SECTION_MAP_BYTES - 1), 1);
	}
	HT_EXPECT_EQ(sparse_present_sections(), present);
	check_pieces_placed();
	HT_EXPECT(early_alloc(64 * PAGE_SIZE, PAGE_SIZE, "boot page-table pool") != 0);
	HT_EXPECT(vmemmap_pagetable_estimate() >= 1 + nr_vmemmap_pieces);
}

static u64 lowest_piece(void)
{
	u64 low = ~0ULL;
	for (u32 i = 0; i < nr_vmemmap_pieces; i++)
		if (vmemmap_pieces[i].phys < low)
			low = vmemmap_pieces[i].phys;
	return low;
}

HTEST(qemu_512m_one_piece_below_4g)
{
	map_pc_low(512 * MiB);
	reserve_boot_ranges();
	sparse_init((512 * MiB) >> PAGE_SHIFT);
	check_layout((512 * MiB) >> PAGE_SHIFT);
	HT_EXPECT_EQ(nr_vmemmap_pieces, 1);
	HT_EXPECT_EQ(vmemmap_bytes(), 4 * MiB);        /* four sections of 1 MiB */
	HT_EXPECT(vmemmap_pieces[0].huge);
}

/* 256 GiB of RAM: 512 MiB below 4 GiB (a large MMIO hole), the rest above,
 * with holes (a missing DIMM's 4 GiB, a firmware range). 2 GiB of
 * descriptors: more than all of low memory. */
static u64 map_256g(void)
{
	map_pc_low(512 * MiB);
	map_add(0xFEC00000, 0x1400000, MMAP_RESERVED);
	map_add(4 * GiB, 64 * GiB, MMAP_AVAILABLE);
	map_add(72 * GiB, 128 * GiB, MMAP_AVAILABLE);
	map_add(200 * GiB, 16 * MiB, MMAP_RESERVED);
	map_add(200 * GiB + 16 * MiB, 60 * GiB - 16 * MiB, MMAP_AVAILABLE);
	return (260 * GiB) >> PAGE_SHIFT;
}

HTEST(ram_256g_with_holes_descriptors_above_4g)
{
	u64 end_pfn = map_256g();
	reserve_boot_ranges();
	sparse_init(end_pfn);
	check_layout(end_pfn);
	HT_EXPECT(lowest_piece() >= 4 * GiB);           /* low memory left alone */
	HT_EXPECT(!present_section_nr((70 * GiB) >> SECTION_SIZE_BITS));       /* the hole */
	/* Blocks, not bytes of RAM: at most one 2 MiB block per 256 MiB. */
	HT_EXPECT(vmemmap_bytes() <= (260 * GiB / (256 * MiB) + 1) * 2 * MiB);
	HT_EXPECT(vmemmap_bytes() >= 2 * GiB - 128 * MiB);
	HT_EXPECT(nr_vmemmap_pieces <= 4);
	HT_EXPECT(nr_reserved <= nr_before + 2);        /* adjacent pieces: one entry */
}

/* RAM above 4 GiB in 100 pieces of 128 MiB, one every 256 MiB (one per
 * 2 MiB block of descriptors), one of them cut by a module, and 64 MiB
 * below 4 GiB: no free range holds the 200 MiB of descriptors of the run,
 * so they go in 2 MiB blocks, each where there is room. */
HTEST(fragmented_ram_pieces_per_block)
{
	map_pc_low(64 * MiB);
	for (u64 i = 0; i < 100; i++)
		map_add(4 * GiB + i * 256 * MiB, 128 * MiB, MMAP_AVAILABLE);
	reserve_boot_ranges();
	memmap_reserve(4 * GiB + 64 * MiB, 4 * GiB + 66 * MiB, "module");
	memcpy(before, reserved, sizeof(before));
	nr_before = nr_reserved;
	u64 end_pfn = (4 * GiB + 100 * 256 * MiB) >> PAGE_SHIFT;
	sparse_init(end_pfn);
	check_layout(end_pfn);
	HT_EXPECT(nr_vmemmap_pieces >= 3);
	HT_EXPECT(lowest_piece() >= 4 * GiB);
}

/* Available RAM only in 1.5 MiB pieces with gaps: no 2 MiB block anywhere,
 * so each section gets 1 MiB mapped in 4 KiB pages. */
HTEST(no_2m_block_pieces_per_section)
{
	map_pc_low(2 * MiB);
	for (u32 i = 0; i < 100; i++)
		map_add(8 * GiB + i * 2 * MiB + 512 * 1024, 1536 * 1024, MMAP_AVAILABLE);
	reserve_boot_ranges();
	u64 end_pfn = (8 * GiB + 200 * MiB) >> PAGE_SHIFT;
	sparse_init(end_pfn);
	u32 small = 0;
	for (u32 i = 0; i < nr_vmemmap_pieces; i++)
		small += !vmemmap_pieces[i].huge;
	HT_EXPECT(small >= 2);
	HT_EXPECT(vmemmap_pieces[0].size == SECTION_MAP_BYTES);
	check_layout(end_pfn);
}

HTEST(no_room_panics_with_the_section)
{
	map_pc_low(3 * MiB);
	memset(before, 0, sizeof(before));
	memmap_init();
	memmap_reserve(MiB, 2 * MiB + 512 * 1024, "kernel image");
	panic_expected = 1;
	int panicked = setjmp(panic_jmp);
	if (!panicked)
		sparse_init((3 * MiB) >> PAGE_SHIFT);
	panic_expected = 0;
	HT_EXPECT(panicked);
	HT_EXPECT(strstr(panic_msg, "no free RAM for the page descriptors of section 0") != NULL);
}

int main(void)
{
	return htest_main("sparse", (struct htest[]){
		HT_CASE(qemu_512m_one_piece_below_4g),
		HT_CASE(ram_256g_with_holes_descriptors_above_4g),
		HT_CASE(fragmented_ram_pieces_per_block),
		HT_CASE(no_2m_block_pieces_per_section),
		HT_CASE(no_room_panics_with_the_section),
		{0} });
}
