/* SPDX-License-Identifier: MIT */
/* mm/mmu_gather.h - the mmu_gather: unmap, flush the TLBs, and only then
 * free (docs/mmu-gather.md).
 *
 * Every operation that removes translations (munmap, exit, MADV_DONTNEED,
 * mprotect that takes rights away) is bracketed:
 *
 *     struct mmu_gather tlb;
 *     tlb_gather_mmu(&tlb, mm);
 *     ... under the page-table locks (mm/pgtable.h), one table at a time:
 *         clear entries: tlb_remove_page() for each page, tlb_remove_table()
 *         for each page table unhooked, tlb_track_range() for every entry ...
 *     tlb_finish_mmu(&tlb);             <- flush (if still needed), then free
 *
 * One gather spans as many lock sections as it likes: that is how one
 * flush covers a whole munmap, or a whole process_madvise vector.
 *
 * What it records: the virtual range whose entries were cleared and at which
 * levels, whether page tables were unhooked (then lazy CPUs must be flushed
 * too), the pages to free (a small array inside the struct, then batch pages
 * taken without sleeping, at most GATHER_MAX_BATCHES of them), and the page
 * tables to free (a batch page handed to RCU as a whole).
 *
 * The three rules it enforces:
 *   1. A page is freed only after every TLB that may map it was flushed.
 *   2. A page table is freed only after that flush AND an RCU grace period:
 *      lockless walkers (mm/gup_fast.c) read tables with interrupts off
 *      under rcu_read_lock, holding no lock the unmapper could wait for.
 *   3. A removed page's map count drops only after the flush, with its
 *      reference: until then a stale writable TLB entry on another CPU can
 *      still write to the page, so nobody may see it as unmapped. Linux
 *      ("delayed rmap", 2022/2023) delays only dirty file pages, and must
 *      do so before it drops the PTE lock, for writeback's page_mkclean;
 *      Pagoda has no writeback, so it delays every page and needs no lock
 *      for it - which lets one flush cover many lock sections. Decisions
 *      on a page's users also read its refcount (fault.c
 *      can_reuse_anon_page), which the gather's reference keeps above 1.
 *
 * Nested gathers: mm->tlb_flush_pending counts the gathers open on mm. A
 * finisher that sees another one open flushes everything: the other may
 * have cleared entries that this one then found empty and did not record,
 * yet the caller must be able to rely on "gone everywhere" when we return.
 *
 * Locking: a gather belongs to one thread. tlb_remove_page/table are called
 * with the lock of the entry just cleared held; tlb_flush_mmu_tlbonly may be
 * (it waits for IPIs, never sleeps); tlb_flush_mmu and tlb_finish_mmu are
 * best called with no spinlock held (they free).
 */
#ifndef PAGODA_MM_MMU_GATHER_H
#define PAGODA_MM_MMU_GATHER_H

#include "kernel/types.h"
#include "kernel/rcu.h"
#include "mm/page.h"
#include "mm/paging.h"          /* enum pt_level */
#include "mm/mm.h"

/* Pages in the struct itself, per extra batch page, and extra batch pages at
 * most (about 10,000 pages in flight, as Linux). */
#define GATHER_LOCAL_PAGES 8
#define GATHER_BATCH_PAGES ((PAGE_SIZE - 16) / sizeof(struct page *))
#define GATHER_MAX_BATCHES 20

struct gather_batch {
	struct gather_batch *next;
	u32 nr, max;
	struct page *pages[];   /* each holds the reference its PTE had */
};

/* A page of page tables waiting for a grace period. */
#define TABLE_BATCH_MAX ((PAGE_SIZE - sizeof(struct rcu_head) - 8) / sizeof(struct page *))
struct table_batch {
	struct rcu_head rcu;
	u64 nr;
	struct page *tables[TABLE_BATCH_MAX];
};

struct mmu_gather {
	struct mm_struct *mm;
	/* Cleared since the last flush: [start, end), levels (bit L for a
	 * level-L entry), whether tables were unhooked. */
	u64 start, end;
	u32 cleared_levels;
	bool freed_tables;
	bool fullmm;            /* the whole address space goes (exit) */
	/* Pages to free: local, then extra batch pages. */
	struct gather_batch *active;
	u32 nr_batches;         /* extra batch pages allocated */
	struct table_batch *tables;
	u64 pages_freed;        /* statistics, for the trace */
	struct gather_batch local;      /* must stay last: local_pages follows */
	struct page *local_pages[GATHER_LOCAL_PAGES];
};

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
/* exit: the same, for the whole address space. */
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm);
/* Flush what is still unflushed, free everything queued. */
void tlb_finish_mmu(struct mmu_gather *tlb);

/* An entry at `level` covering [addr, addr + size) was cleared. */
void tlb_track_range(struct mmu_gather *tlb, u64 addr, u64 size, enum pt_level level);

/* Queue a page whose PTE was cleared (with the PTE's reference and map
 * count). Returns true when the batches are full: the caller must call
 * tlb_flush_mmu() before queueing more. */
bool tlb_remove_page(struct mmu_gather *tlb, struct page *page);

/* Queue a page table that was unhooked from its parent entry. It is freed
 * after the TLB flush and a grace period. */
void tlb_remove_table(struct mmu_gather *tlb, struct page *table);

/* Flush the TLBs for what was cleared; free nothing yet. */
void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb);
/* Flush, hand the tables to RCU, free the pages. */
void tlb_flush_mmu(struct mmu_gather *tlb);

/* Statistics and negative controls (tests, docs/mmu-gather.md). */
extern u64 mmu_gather_nested_flushes;   /* finishes that found another gather open */
extern u64 mmu_gather_table_fallbacks;  /* tables freed by their own call_rcu */
/* "tlb_debug_free_before_flush": pages are freed before the TLB flush.
 * "tlb_debug_free_tables_now": tables are freed right after the flush,
 * without waiting for RCU readers. The tests must catch both. */
extern bool tlb_debug_free_before_flush;
extern bool tlb_debug_free_tables_now;
/* "tlb_debug_ignore_nested": tlb_finish_mmu flushes only what its own
 * gather recorded even while another gather is open on the mm (the nested
 * rule above broken); the nested-gather test must catch it. */
extern bool tlb_debug_ignore_nested;
void mmu_gather_init(void);     /* reads the command line */

#endif
