/* SPDX-License-Identifier: MIT */
/* mm/rmap.c - map counts; see rmap.h. */
#include "mm/rmap.h"
#include "mm/buddy.h"
#include "mm/deferred_split.h"

void page_remove_rmap(struct page *page, struct mm_struct *mm)
{
	__atomic_sub_fetch(&page->mapcount, 1, __ATOMIC_RELAXED);
	page_remove_pte_map(page, mm);          /* a piece of a 2 MiB page? */
}

void page_add_pmd_rmap(struct page *head)
{
	page_mapcount_inc(head);
	if (__atomic_add_fetch(&head[1].refcount, 1, __ATOMIC_RELAXED) == 1)
		vm_stat_add(NR_ANON_THPS, 1);
}

s32 page_remove_pmd_rmap(struct page *head)
{
	s32 left = __atomic_sub_fetch(&head[1].refcount, 1, __ATOMIC_RELAXED);
	if (left == 0)
		vm_stat_add(NR_ANON_THPS, -1);
	return left;
}
