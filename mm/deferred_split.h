/* SPDX-License-Identifier: MIT */
/* mm/deferred_split.h - giving back the unmapped pieces of a 2 MiB page
 * (Linux's deferred split: deferred_split_folio and its shrinker;
 * docs/thp.md, "Deferred split").
 *
 * A THP whose huge PMD was split stays one compound allocation: munmap of
 * half of it unmaps 256 of its 4 KiB pieces, but all 2 MiB stay allocated
 * until the last piece goes. So when a piece of a compound anonymous page
 * loses its last mapping while the page stays allocated, the page is
 * queued (deferred_split_folio); a drain later splits it into 512 order-0
 * pages, frees the pieces nobody maps and leaves the mapped ones as ordinary
 * 4 KiB anonymous pages.
 *
 * When a split is allowed. Linux finds every mapping through its reverse
 * map, unmaps them all, freezes the reference count and splits. Pagoda has
 * no reverse map, so it splits only what it can prove is mapped by one page
 * table alone. Queueing records an address space (the mm that unmapped the
 * piece, grabbed: mm_grab) and the page's user address is known (thp.h).
 * A drain splits the page only when, holding that mm as a user, its
 * mmap_lock for read and the PTE lock of the table at that address:
 *   - no huge PMD maps it (entire map count 0), and
 *   - every reference is explained by a PTE of that one table: the head's
 *     refcount equals the number of PTEs there that map one of its pieces
 *     (plus the drain's own reference).
 * Each mapping holds a reference, so then no other address space maps it,
 * no mmu_gather still holds a piece it unmapped (its TLB flush may be
 * pending), and no pin exists. fork copies page tables under the parent's
 * mmap_lock for write, so it cannot add a mapping meanwhile; every other
 * way to a piece reads a PTE of that table under its lock - except
 * GUP-fast (mm/gup_fast.h), which takes references with no lock. Against
 * it the count is frozen first: one compare-and-exchange from the expected
 * value to 0 (Linux's page_ref_freeze), after which get_page_unless_zero
 * fails; and GUP-fast re-checks, after taking its reference, that the page
 * still belongs to the head it counted it on (a split between its
 * compound_head() and its reference moves the piece out from under it).
 *
 * A page that cannot be split now - shared with a fork child, pinned, its
 * mm busy (mmap_lock held for write, or a trylock that failed), or queued
 * by an mm that has exited - stays queued for a later drain (an exited mm's
 * record is dropped: only a later unmap by a live mm records a new one).
 * Freeing a queued page (its last reference gone) takes it off the queue.
 *
 * Who drains: deferred_split_scan() (the background collapser thread after
 * each pass, when khugepaged=1 runs it: mm/khugepaged.h;
 * a write of 2 or 3 to /proc/sys/vm/drop_caches; tests), and, with the
 * mmap_lock only tried (deferred_split_reclaim), the page allocator before
 * it fails a request made with __GFP_DIRECT_RECLAIM (mm/buddy.h: the
 * caller holds no spinlock) and an out-of-memory fault before it gives up
 * (handle_mm_fault, every lock of the fault dropped).
 *
 * Locking: one global spinlock (taken with interrupts off) protects the
 * queue, the PG_deferred_split flags and the records; it is the innermost
 * lock - nothing else is taken under it - so deferred_split_folio() may be
 * called under page-table locks and the free path from anywhere. A drain
 * holds no lock when it takes mmap_lock, then the PTE lock.
 *
 * Counters (/proc/vmstat): thp_deferred_split_page (pages queued: once per
 * queueing), thp_split_page (pages split; Linux's names) and
 * pagoda_thp_deferred_split_queue (Pagoda's own: pages queued now).
 */
#ifndef PAGODA_MM_DEFERRED_SPLIT_H
#define PAGODA_MM_DEFERRED_SPLIT_H

#include "kernel/types.h"
#include "mm/page.h"
#include "mm/mm.h"

/* Queue head (a compound anonymous page whose piece lost its last mapping;
 * the caller holds a reference). mm: the address space that unmapped it,
 * recorded for the drain (NULL, or an exiting mm: keep the old record).
 * Counts thp_deferred_split_page when it was not queued yet. */
void deferred_split_folio(struct page *head, struct mm_struct *mm);

/* A PTE mapping of p is gone (its map count already dropped, the TLBs
 * flushed; the caller still holds p's reference): queue p's compound page
 * if p was a piece of one and lost its last mapping. mm as above. */
void page_remove_pte_map(struct page *p, struct mm_struct *mm);

/* The free path (mm/buddy.c): head's last reference is gone; take it off
 * the queue and drop its record. Any context. */
void deferred_split_free(struct page *head);

/* Try to split up to nr queued pages (under mmap_lock for read, waiting
 * for it). Returns the pages split. Process context, no lock held. */
u64 deferred_split_scan(u64 nr);
/* The allocator's form: mmap_lock only tried, never waited for. Called
 * with no spinlock held (__GFP_DIRECT_RECLAIM). */
u64 deferred_split_reclaim(u64 nr);

/* Pages queued now. */
u64 deferred_split_queue_len(void);

/* Negative controls (boot words of the same names): the drain splits
 * without freezing the count (GUP-fast can take a reference between the
 * check and the split), or without checking that every reference is
 * explained (a pinned page is split). The deferred_split suite must fail
 * with each. */
extern bool deferred_split_debug_skip_freeze;
extern bool deferred_split_debug_skip_refcheck;
/* And GUP-fast keeps a reference taken on a head its page no longer
 * belongs to (mm/gup_fast.c skips the re-check). */
extern bool deferred_split_debug_skip_gup_recheck;
/* Test hook: runs in a drain after the references were counted and before
 * the freeze, with the PTE lock held. */
extern void (*deferred_split_debug_hook)(struct page *head);

void deferred_split_init(void);         /* reads the command line */

#endif
