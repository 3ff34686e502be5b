/* SPDX-License-Identifier: MIT */
/* mm/sparse.c - present sections and the memory behind the vmemmap; see
 * sparse.h. */
#include "mm/sparse.h"
#include "mm/memmap.h"
#include "mm/page.h"
#include "kernel/bootinfo.h"
#include "kernel/printk.h"
#ifndef HOST_TEST
#include "mm/paging.h"
#endif

_Static_assert(sizeof(struct page) == STRUCT_PAGE_SIZE, "sparse.h assumes 32-byte descriptors");
_Static_assert(PFN_SECTION_SHIFT == SECTION_SIZE_BITS - PAGE_SHIFT, "PAGE_SHIFT changed");
/* A buddy block (and its buddy) never leaves its section, so merging
 * never looks at a descriptor that does not exist (mm/buddy.c). */
_Static_assert((1UL << (MAX_ORDER + 1)) <= PAGES_PER_SECTION, "buddies must share a section");

u64 mem_section_present[NR_MEM_SECTIONS / 64];
struct vmemmap_piece vmemmap_pieces[MAX_VMEMMAP_PIECES];
u32 nr_vmemmap_pieces;

/* One string, so that adjacent pieces share one reserved entry (memmap.h). */
static const char descriptors_what[] = "page descriptors (vmemmap)";

static void set_section_present(u64 nr)
{
	mem_section_present[nr / 64] |= 1UL << (nr % 64);
}

/* Linux's memblocks_present(): every section available RAM touches. */
static void mark_present_sections(u64 end_pfn)
{
	for (u64 i = 0; i < NR_MEM_SECTIONS / 64; i++)
		mem_section_present[i] = 0;
	for (u32 i = 0; i < boot_info.nr_mmap; i++) {
		const struct boot_mmap_entry *e = &boot_info.mmap[i];
		if (e->type != MMAP_AVAILABLE || e->length == 0)
			continue;
		u64 first = pfn_to_section_nr(e->base >> PAGE_SHIFT);
		u64 last = pfn_to_section_nr(MIN((e->base + e->length - 1) >> PAGE_SHIFT, end_pfn - 1));
		if (last >= NR_MEM_SECTIONS)
			panic("mm: RAM at 0x%lx lies beyond the %d-bit physical address space",
			      e->base, MAX_PHYSMEM_BITS);
		for (u64 nr = first; nr <= last; nr++)
			set_section_present(nr);
	}
}

static bool block_present(u64 block)
{
	for (u64 s = 0; s < SECTIONS_PER_BLOCK; s++)
		if (present_section_nr(block * SECTIONS_PER_BLOCK + s))
			return true;
	return false;
}

static void add_piece(u64 offset, u64 phys, u64 size, bool huge)
{
	struct vmemmap_piece *last = nr_vmemmap_pieces ? &vmemmap_pieces[nr_vmemmap_pieces - 1] : NULL;
	if (last && last->huge == huge && last->offset + last->size == offset &&
	    last->phys + last->size == phys) {
		last->size += size;
		return;
	}
	if (nr_vmemmap_pieces == MAX_VMEMMAP_PIECES)
		panic("mm: page descriptors in more than %d pieces: free RAM is too fragmented",
		      MAX_VMEMMAP_PIECES);
	vmemmap_pieces[nr_vmemmap_pieces++] = (struct vmemmap_piece){ offset, phys, size, huge };
}

/* Descriptor memory for vmemmap bytes [offset, offset + size): above
 * 4 GiB first, then below. False if no free range fits. */
static bool place(u64 offset, u64 size, bool huge)
{
	u64 align = huge ? VMEMMAP_BLOCK : PAGE_SIZE;
	u64 pa = early_alloc_range(size, align, FOUR_GIB, ~0UL, descriptors_what);
	if (!pa)
		pa = early_alloc_range(size, align, 0, FOUR_GIB, descriptors_what);
	if (!pa)
		return false;
	add_piece(offset, pa, size, huge);
	return true;
}

/* One block that no 2 MiB piece could hold: 1 MiB per present section. */
static void place_sections(u64 block)
{
	for (u64 s = 0; s < SECTIONS_PER_BLOCK; s++) {
		u64 nr = block * SECTIONS_PER_BLOCK + s;
		if (present_section_nr(nr) && !place(nr * SECTION_MAP_BYTES, SECTION_MAP_BYTES, false))
			panic("mm: no free RAM for the page descriptors of section %lu "
			      "(physical 0x%lx, %lu KiB)", nr, section_nr_to_pfn(nr) << PAGE_SHIFT,
			      SECTION_MAP_BYTES >> 10);
	}
}

/* The blocks [first, end), all with a present section. */
static void place_run(u64 first, u64 end)
{
	if (place(first * VMEMMAP_BLOCK, (end - first) * VMEMMAP_BLOCK, true))
		return;
	for (u64 b = first; b < end; b++)
		if (!place(b * VMEMMAP_BLOCK, VMEMMAP_BLOCK, true))
			place_sections(b);
}

void sparse_init(u64 end_pfn)
{
	mark_present_sections(end_pfn);
	nr_vmemmap_pieces = 0;
	u64 nr_sections = pfn_to_section_nr(end_pfn - 1) + 1;
	u64 nr_blocks = (nr_sections + SECTIONS_PER_BLOCK - 1) / SECTIONS_PER_BLOCK;
	u64 b = 0;
	while (b < nr_blocks) {
		if (!block_present(b)) {
			b++;
			continue;
		}
		u64 run = b;
		while (run < nr_blocks && block_present(run))
			run++;
		place_run(b, run);
		b = run;
	}
}

u64 sparse_present_sections(void)
{
	u64 n = 0;
	for (u64 i = 0; i < NR_MEM_SECTIONS / 64; i++)
		for (u64 w = mem_section_present[i]; w; w &= w - 1)
			n++;
	return n;
}

u64 vmemmap_bytes(void)
{
	u64 n = 0;
	for (u32 i = 0; i < nr_vmemmap_pieces; i++)
		n += vmemmap_pieces[i].size;
	return n;
}

u64 vmemmap_pagetable_estimate(void)
{
	/* The vmemmap's PDPT, then per piece: a PD per GiB it touches, and a
	 * PT per 2 MiB it touches when mapped in 4 KiB pages. */
	u64 n = 1;
	for (u32 i = 0; i < nr_vmemmap_pieces; i++) {
		const struct vmemmap_piece *p = &vmemmap_pieces[i];
		n += p->size / (1UL << 30) + 2;
		if (!p->huge)
			n += p->size / VMEMMAP_BLOCK + 2;
	}
	return n;
}

#ifndef HOST_TEST
void vmemmap_populate(void)
{
	for (u32 i = 0; i < nr_vmemmap_pieces; i++) {
		const struct vmemmap_piece *p = &vmemmap_pieces[i];
		paging_map_boot(VMEMMAP_START + p->offset, p->phys, p->size, p->huge);
	}
}
#endif
