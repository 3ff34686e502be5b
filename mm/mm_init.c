/* SPDX-License-Identifier: MIT */
/* mm/mm_init.c - the order in which the memory manager comes up; see mm_init.h.
 *
 *  1. memory map -> table of reserved ranges (mm/memmap.c)
 *  2. early_alloc: mem_map[] (a descriptor per frame) and a pool for the
 *     first page tables, both below 4 GiB where the boot direct map reaches
 *  3. buddy_init + buddy_add_range: every free range of RAM to the allocator
 *     (only the descriptors are written, so RAM above 4 GiB needs no mapping yet)
 *  4. paging_init: direct map of all RAM, W^X kernel image, guard pages;
 *     switch CR3
 *  5. slab_init: kmalloc
 */
#include "mm/mm_init.h"
#include "mm/memmap.h"
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

	u64 map_bytes = end_pfn * sizeof(struct page);
	u64 map_phys = early_alloc(map_bytes, PAGE_SIZE, "mem_map (page descriptors)");
	if (!map_phys)
		panic("mm: no room below 4 GiB for %lu KiB of page descriptors", map_bytes >> 10);
	u64 pool_pages = paging_pool_estimate();
	u64 pool_phys = early_alloc(pool_pages * PAGE_SIZE, PAGE_SIZE, "boot page-table pool");
	if (!pool_phys)
		panic("mm: no room below 4 GiB for %lu page-table pages", pool_pages);
	memmap_print();

	buddy_init(phys_to_virt(map_phys), end_pfn);
	memmap_for_each_free(buddy_add_range);

	u64 used = paging_init(pool_phys, pool_pages);
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
	pr_info("mm: %lu MiB of RAM managed, %lu MiB free; %lu page descriptors "
		"(%lu bytes each, %lu KiB); debug checks %s, poisoning %s\n",
		zone.managed >> 8, mm_boot_free_pages >> 8, end_pfn, sizeof(struct page),
		map_bytes >> 10, CONFIG_DEBUG_MM ? "on" : "off", page_poisoning ? "on" : "off");
	/* "mm_crash_test=CASE" (tests/kernel/mm/crash_test.c): now, before
	 * anything else has allocated. */
	ktest_run_hooks(KTEST_HOOK_MM_INIT);
}
