/* SPDX-License-Identifier: MIT */
/* mm/mm_init.c - the order in which the memory manager comes up; see mm_init.h.
 *
 *  1. memory map -> table of reserved ranges (mm/memmap.c)
 *  2. sparse_init: memory for the page descriptors, in pieces, from any RAM
 *     (above 4 GiB first; nothing touches it yet) (mm/sparse.c)
 *  3. early_alloc: a pool for the first page tables, below 4 GiB where the
 *     boot direct map reaches
 *  4. paging_init: direct map of all RAM, W^X kernel image, guard pages;
 *     switch CR3; then vmemmap_populate maps the descriptors' pieces, and
 *     the pool is closed
 *  5. buddy_init + buddy_add_range: the descriptors written, every free
 *     range of RAM to the allocator
 *  6. slab_init: kmalloc
 */
#include "mm/mm_init.h"
#include "mm/memmap.h"
#include "mm/sparse.h"
#include "mm/buddy.h"
#include "mm/paging.h"
#include "mm/slab.h"
#include "mm/fault_inject.h"
#include "mm/fault.h"
#include "kernel/cmdline.h"
#include "kernel/ktest.h"
#include "mm/userfaultfd.h"
#include "mm/softdirty.h"
#include "mm/shared_anon.h"
#include "mm/vma_lock.h"
#include "kernel/printk.h"
#include "arch/x86_64/cpu.h"

u64 mm_boot_free_pages;

static void mark_pagetables(u64 start_pfn, u64 n)
{
	for (u64 i = 0; i < n; i++)
		pfn_to_page(start_pfn + i)->flags |= PG_pagetable;
	vm_stat_add(NR_PAGETABLE, (s64)n);
}

void mm_init(void)
{
	memmap_init();
	u64 end_pfn = memmap_ram_end_pfn();
	if (end_pfn == 0)
		panic("mm: the memory map lists no available RAM");

	sparse_init(end_pfn);
	u64 pool_pages = paging_pool_estimate() + vmemmap_pagetable_estimate();
	u64 pool_phys = early_alloc(pool_pages * PAGE_SIZE, PAGE_SIZE, "boot page-table pool");
	if (!pool_phys)
		panic("mm: no room below 4 GiB for %lu page-table pages", pool_pages);
	memmap_print();

	paging_init(pool_phys, pool_pages);
	vmemmap_populate();
	u64 used = paging_pool_finish();

	buddy_init(end_pfn);
	memmap_for_each_free(buddy_add_range);
	mark_pagetables(pool_phys >> PAGE_SHIFT, used);
	/* The pool's unused tail goes back to the allocator. */
	buddy_add_range((pool_phys >> PAGE_SHIFT) + used, (pool_phys >> PAGE_SHIFT) + pool_pages);

	if (cmdline_long("page_poison", 1) == 0)
		page_poisoning = false;
	slab_init();
	/* Last: injected failures count from here, so boot itself is spared. */
	fail_page_alloc_init();
	fork_debug_init();
	buddy_debug_init();
	shared_anon_init();
	uffd_mm_init();
	softdirty_init();
	vma_lock_init();

	mm_boot_free_pages = nr_free_pages();
	pr_info("mm: %lu MiB of RAM managed, %lu MiB free; page descriptors for %lu "
		"sections of %lu MiB (%lu bytes each, %lu KiB in %u piece(s)); debug checks %s, "
		"poisoning %s\n", zone.managed >> 8, mm_boot_free_pages >> 8,
		sparse_present_sections(), 1UL << (SECTION_SIZE_BITS - 20), sizeof(struct page),
		vmemmap_bytes() >> 10, nr_vmemmap_pieces, CONFIG_DEBUG_MM ? "on" : "off",
		page_poisoning ? "on" : "off");
	/* "mm_crash_test=CASE" (tests/kernel/mm/crash_test.c): now, before
	 * anything else has allocated. */
	ktest_run_hooks(KTEST_HOOK_MM_INIT);
}
