/* SPDX-License-Identifier: MIT */
/* mm/sparse.h - where the page descriptors live: sections and the vmemmap
 * (Linux's SPARSEMEM_VMEMMAP, mm/sparse.c and mm/sparse-vmemmap.c there).
 *
 * Physical memory is cut into sections of 128 MiB (SECTION_SIZE_BITS, as on
 * Linux x86_64). A section is *present* when any available RAM lies in it.
 * The descriptors of all pfns form one virtual array at VMEMMAP_START
 * (pfn_to_page(pfn) = vmemmap + pfn, page.h), but only the part describing
 * present sections is backed by memory: 1 MiB of descriptors per section,
 * mapped in 2 MiB blocks (two sections each) where memory allows.
 *
 *   pfn --(>> PFN_SECTION_SHIFT)--> section --(present?)--> vmemmap + pfn
 *                                                    page tables map it to
 *                                                    a piece of RAM, anywhere
 *
 * So the descriptors never need one contiguous block of physical memory,
 * nor one below 4 GiB: at 256 GiB of RAM they are 2 GiB, placed in pieces
 * (vmemmap_pieces[]) wherever free RAM is, above 4 GiB first (memory below
 * 4 GiB is scarce on such machines, and the boot page-table pool must be
 * there). A pfn in a section with no RAM has no descriptor (pfn_valid()
 * false), and touching one faults.
 *
 * Order at boot (mm/mm_init.c): sparse_init() after memmap_init() (marks
 * the present sections and takes the pieces out of free RAM through the
 * reserved table, mm/memmap.h); vmemmap_populate() while the boot
 * page-table pool is still in use (it maps the pieces); then buddy_init()
 * writes the descriptors. Boot only, one CPU, no locking.
 */
#ifndef PAGODA_MM_SPARSE_H
#define PAGODA_MM_SPARSE_H

#include "kernel/types.h"

#define SECTION_SIZE_BITS 27                            /* 128 MiB */
#define PFN_SECTION_SHIFT (SECTION_SIZE_BITS - 12)      /* 12: PAGE_SHIFT */
#define PAGES_PER_SECTION (1UL << PFN_SECTION_SHIFT)
/* The physical address width 4-level paging allows (Linux's, x86_64). */
#define MAX_PHYSMEM_BITS 46
#define NR_MEM_SECTIONS (1UL << (MAX_PHYSMEM_BITS - SECTION_SIZE_BITS))

/* The vmemmap: one PML4 entry (512 GiB of virtual space) holds the
 * descriptors of 2^46 bytes of physical memory, 32 bytes per 4 KiB.
 * Linux's address for it. */
#define VMEMMAP_START 0xFFFFEA0000000000UL
#define STRUCT_PAGE_SIZE 32                             /* page.h asserts it */
#define SECTION_MAP_BYTES (PAGES_PER_SECTION * STRUCT_PAGE_SIZE)       /* 1 MiB */
#define VMEMMAP_BLOCK (2UL << 20)       /* one 2 MiB page of vmemmap: two sections */
#define SECTIONS_PER_BLOCK (VMEMMAP_BLOCK / SECTION_MAP_BYTES)

extern u64 mem_section_present[NR_MEM_SECTIONS / 64];

static inline u64 pfn_to_section_nr(u64 pfn) { return pfn >> PFN_SECTION_SHIFT; }
static inline u64 section_nr_to_pfn(u64 nr) { return nr << PFN_SECTION_SHIFT; }
static inline bool present_section_nr(u64 nr)
{
	return nr < NR_MEM_SECTIONS && ((mem_section_present[nr / 64] >> (nr % 64)) & 1);
}

/* A piece of descriptor memory: vmemmap bytes [offset, offset + size)
 * live at physical [phys, phys + size). huge: offset and phys are 2 MiB
 * aligned, mapped with 2 MiB (or 1 GiB) pages; else 4 KiB pages. */
struct vmemmap_piece {
	u64 offset, phys, size;
	bool huge;
};
#define MAX_VMEMMAP_PIECES 64
extern struct vmemmap_piece vmemmap_pieces[MAX_VMEMMAP_PIECES];
extern u32 nr_vmemmap_pieces;

/* Mark the present sections below end_pfn from the memory map and take
 * descriptor memory for them out of free RAM (early_alloc_range: the
 * reserved table is respected and extended). For each run of consecutive
 * 2 MiB blocks: one piece if a free block that size exists, else one 2 MiB
 * piece per block, else 1 MiB (4 KiB-aligned) per section. Panics if even
 * that finds no memory. */
void sparse_init(u64 end_pfn);
/* Sections present, and the pages they span (each fully, holes included). */
u64 sparse_present_sections(void);
/* Page-table pages vmemmap_populate() may need (an upper bound). */
u64 vmemmap_pagetable_estimate(void);
/* Bytes of descriptor memory taken. */
u64 vmemmap_bytes(void);

#ifndef HOST_TEST
/* Map every piece at VMEMMAP_START + offset (paging_map_boot: only while
 * the boot page-table pool is in use, mm/paging.h). */
void vmemmap_populate(void);
#endif

#endif
