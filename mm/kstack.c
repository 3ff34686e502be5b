/* SPDX-License-Identifier: MIT */
/* mm/kstack.c - kernel stacks mapped on demand above guard pages; see kstack.h. */
#include "mm/kstack.h"
#include "mm/buddy.h"
#include "mm/paging.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

static spinlock_t kstack_lock = SPINLOCK_INIT("kstack_lock");
static u64 pages_mapped;        /* under kstack_lock */

_Static_assert(KSTACK_AREA_START + KSTACK_NR_SLOTS * KSTACK_SLOT_SIZE <=
	       KSTACK_AREA_START + (1UL << 39), "the stack area fits one root entry");

void *kstack_guard(u32 slot)
{
	if (slot >= KSTACK_NR_SLOTS)
		return NULL;
	return (void *)(KSTACK_AREA_START + (u64)slot * KSTACK_SLOT_SIZE);
}

/* Map the pages of [bottom, top) not mapped yet; false when a page or a
 * page table could not be had (the pages mapped so far stay: the next
 * call for this slot finishes the job). */
static bool map_stack_pages(u64 bottom, u64 top)
{
	for (u64 va = bottom; va < top; va += PAGE_SIZE) {
		enum pt_level level;
		if (paging_lookup(va, &level))
			continue;
		struct page *pg = alloc_page(GFP_KERNEL);
		if (!pg)
			return false;
		if (!paging_map_kernel_page(va, page_to_phys(pg), PTE_P | PTE_W | PTE_G | PTE_NX)) {
			free_page(pg);
			return false;
		}
		pages_mapped++;
	}
	return true;
}

void *kstack_map(u32 slot, u64 size)
{
	if (slot >= KSTACK_NR_SLOTS || size == 0 || size % PAGE_SIZE ||
	    size > KSTACK_SLOT_SIZE - PAGE_SIZE)
		return NULL;
	u64 top = (u64)kstack_guard(slot) + KSTACK_SLOT_SIZE;
	spin_lock(&kstack_lock);
	bool ok = map_stack_pages(top - size, top);
	spin_unlock(&kstack_lock);
	if (!ok) {
		printk(KERN_WARNING "kstack: no memory for a %lu KiB stack (slot %u)\n",
		       size / 1024, slot);
		return NULL;
	}
	return (void *)(top - size);
}

u64 kstack_pages_mapped(void)
{
	return READ_ONCE(pages_mapped);
}
