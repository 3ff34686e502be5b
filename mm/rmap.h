/* SPDX-License-Identifier: MIT */
/* mm/rmap.h - map counts: how many page-table entries map a page (Linux's
 * rmap calls, by their names; Pagoda keeps the count, not the reverse map).
 *
 * What the counts mean (mm/page.h, mm/thp.h):
 *   page->mapcount      entries that map this 4 KiB page: PTEs, and for the
 *                       head of a 2 MiB page also each huge PMD mapping it;
 *   head[1].refcount    a 2 MiB page's entire map count: the huge PMDs
 *                       mapping it (Linux's entire_mapcount, thp.h).
 * References (page->refcount, get_page/put_page) are a separate count: an
 * entry holds one reference besides its map count, and the caller takes or
 * drops it itself.
 *
 * The rule the helpers uphold (mm/mmu_gather.h, rule 3): a map count drops
 * only once no TLB can still reach the page through the entry that is
 * gone - after the flush that followed the clear. So the removal helpers
 * are called by the gather after its flush, or by a fault that has cleared
 * and flushed the entry itself.
 *
 * Ordering: the counts are changed with relaxed atomic read-modify-writes.
 * Other address spaces may map the same page, so the update must be
 * atomic; no reader infers anything else from a count without holding a
 * page-table lock that orders it (mm/anon_exclusive.h reads them under
 * the PTE lock of the entries it counts).
 */
#ifndef PAGODA_MM_RMAP_H
#define PAGODA_MM_RMAP_H

#include "kernel/types.h"
#include "mm/page.h"

struct mm_struct;

static inline void page_mapcount_inc(struct page *page)
{
	__atomic_add_fetch(&page->mapcount, 1, __ATOMIC_RELAXED);
}

/* --- 4 KiB entries --- */

/* A fault maps a page it has just allocated (PG_anon | PG_exclusive, known
 * to no one else yet). Caller holds the PTE lock of the entry it is about
 * to set. */
static inline void page_add_new_anon_rmap(struct page *page)
{
	page_mapcount_inc(page);
}

/* One more PTE maps an anonymous page that is mapped already (a huge PMD's
 * pieces as its split puts them in PTEs). Caller holds the lock that
 * covers the new entry (page_table_lock for a split). */
static inline void page_add_anon_rmap(struct page *page)
{
	page_mapcount_inc(page);
}

/* fork: the child's new PTE maps the parent's page (shared read-only for
 * private memory). Caller holds both mmap_locks for write (mm/mm_struct.c:
 * the parent's tables cannot change, the child is not visible yet). */
static inline void page_dup_rmap(struct page *page)
{
	page_mapcount_inc(page);
}

/* A fault maps a page of a shared object (mm/shared_anon.h; Linux's shmem
 * pages are file pages). Caller holds the PTE lock of the new entry. */
static inline void page_add_file_rmap(struct page *page)
{
	page_mapcount_inc(page);
}

/* A PTE no longer maps page, and no TLB reaches it through that entry any
 * more (flushed). Drops the map count; a piece of a 2 MiB page that nobody
 * maps now is queued for the deferred split (mm/deferred_split.h), with mm
 * as its record (NULL: an exiting mm records nothing). Called by the
 * mmu_gather after its flush (no lock needed: the entry is gone), or under
 * the PTE lock by a fault that replaced the entry and flushed. */
void page_remove_rmap(struct page *page, struct mm_struct *mm);

/* --- huge PMDs (Linux's RMAP_COMPOUND) --- */

/* A huge PMD now maps head: one map count on the head and one entire map
 * count; AnonHugePages counts the 2 MiB page when the entire map count
 * goes 0 -> 1 (Linux 6.1). Caller holds page_table_lock. */
void page_add_pmd_rmap(struct page *head);

/* A huge PMD no longer maps head: drops the entire map count (AnonHugePages
 * on 1 -> 0) and returns what is left. The head's own map count is NOT
 * dropped here: that is page_remove_rmap(head) once the 2 MiB entry is out
 * of every TLB (a split right away, a zap through its mmu_gather). Caller
 * holds page_table_lock. */
s32 page_remove_pmd_rmap(struct page *head);

#endif
