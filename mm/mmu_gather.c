/* SPDX-License-Identifier: MIT */
/* mm/mmu_gather.c - batching what an unmap removes until the TLBs are
 * flushed; see mmu_gather.h for the rules and docs/mmu-gather.md for the
 * timeline.
 */
#include "mm/mmu_gather.h"
#include "mm/tlbflush.h"
#include "mm/paging.h"
#include "mm/buddy.h"
#include "mm/rmap.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/trace.h"

_Static_assert(sizeof(struct gather_batch) + GATHER_BATCH_PAGES * sizeof(struct page *) <= PAGE_SIZE,
	       "a gather batch fills one page");
_Static_assert(sizeof(struct table_batch) <= PAGE_SIZE, "a table batch fills one page");
_Static_assert(offsetof(struct mmu_gather, local_pages) ==
	       offsetof(struct mmu_gather, local) + sizeof(struct gather_batch),
	       "the local batch's pages follow it");

u64 mmu_gather_nested_flushes;
u64 mmu_gather_table_fallbacks;
bool tlb_debug_free_before_flush;
bool tlb_debug_free_tables_now;
bool tlb_debug_ignore_nested;

static void reset_range(struct mmu_gather *tlb)
{
	tlb->start = ~0UL;
	tlb->end = 0;
	tlb->cleared_levels = 0;
	tlb->freed_tables = false;
}

static void gather_init(struct mmu_gather *tlb, struct mm_struct *mm, bool fullmm)
{
	tlb->mm = mm;
	tlb->fullmm = fullmm;
	reset_range(tlb);
	tlb->local.next = NULL;
	tlb->local.nr = 0;
	tlb->local.max = GATHER_LOCAL_PAGES;
	tlb->active = &tlb->local;
	tlb->nr_batches = 0;
	tlb->tables = NULL;
	tlb->pages_freed = 0;
	__atomic_add_fetch(&mm->tlb_flush_pending, 1, __ATOMIC_SEQ_CST);
	trace_event(TR_GATHER_START, mm->pgd_phys, 0);
}

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm)
{
	gather_init(tlb, mm, false);
}

void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm)
{
	gather_init(tlb, mm, true);
}

void tlb_track_range(struct mmu_gather *tlb, u64 addr, u64 size, enum pt_level level)
{
	tlb->start = MIN(tlb->start, addr);
	tlb->end = MAX(tlb->end, addr + size);
	tlb->cleared_levels |= 1u << level;
}

/* --- pages --- */

bool tlb_remove_page(struct mmu_gather *tlb, struct page *page)
{
	struct gather_batch *b = tlb->active;
	b->pages[b->nr++] = page;
	if (b->nr < b->max)
		return false;
	/* This batch is full: move to the next one, making it if we may. */
	if (b->next) {
		tlb->active = b->next;
		return false;
	}
	if (tlb->nr_batches >= GATHER_MAX_BATCHES)
		return true;
	/* alloc_page never sleeps here; failing is fine, we flush early. */
	struct page *p = alloc_page(0);
	if (!p)
		return true;
	struct gather_batch *nb = page_address(p);
	nb->next = NULL;
	nb->nr = 0;
	nb->max = GATHER_BATCH_PAGES;
	b->next = nb;
	tlb->active = nb;
	tlb->nr_batches++;
	return false;
}

static void free_queued_pages(struct mmu_gather *tlb)
{
	for (struct gather_batch *b = &tlb->local; b; b = b->next) {
		for (u32 i = 0; i < b->nr; i++) {
			/* Flushed: no TLB maps it now, so the mapping it
			 * stood for is really gone (rule 3), then the page.
			 * A piece of a 2 MiB page unmapped for good while
			 * the rest stays: queue the page for a deferred
			 * split (an exiting mm records nothing). */
			struct page *p = b->pages[i];
			page_remove_rmap(p, tlb->fullmm ? NULL : tlb->mm);
			put_page(p);
		}
		tlb->pages_freed += b->nr;
		b->nr = 0;
		if (b == tlb->active)
			break;
	}
	tlb->active = &tlb->local;
}

/* --- page tables --- */

static void free_table(struct page *table)
{
	trace_event(TR_TABLE_FREED, page_to_phys(table), 0);
	pagetable_free(table);
}

static void table_batch_free_rcu(struct rcu_head *head)
{
	struct table_batch *batch = container_of(head, struct table_batch, rcu);
	for (u64 i = 0; i < batch->nr; i++)
		free_table(batch->tables[i]);
	free_page(virt_to_page(batch));
}

/* One table, when no batch page could be had: its own rcu_head lives in its
 * struct page, over the list link a page table does not use. */
static struct rcu_head *table_rcu_head(struct page *table)
{
	_Static_assert(sizeof(struct rcu_head) <= sizeof(((struct page *)0)->lru),
		       "an rcu_head fits in page->lru");
	return (struct rcu_head *)&table->lru;
}

static void one_table_free_rcu(struct rcu_head *head)
{
	free_table(container_of((struct list_head *)head, struct page, lru));
}

/* Hand the batch of tables to RCU. The TLB flush must already be done. */
static void table_batch_submit(struct mmu_gather *tlb)
{
	struct table_batch *batch = tlb->tables;
	if (!batch)
		return;
	tlb->tables = NULL;
	if (tlb_debug_free_tables_now) {
		table_batch_free_rcu(&batch->rcu);      /* the negative control */
		return;
	}
	call_rcu(&batch->rcu, table_batch_free_rcu);
}

void tlb_remove_table(struct mmu_gather *tlb, struct page *table)
{
	tlb->freed_tables = true;
	if (!tlb->tables) {
		struct page *p = alloc_page(0);
		if (!p) {
			/* No batch page: flush now, then this one table goes
			 * through its own grace period. */
			tlb_flush_mmu_tlbonly(tlb);
			__atomic_add_fetch(&mmu_gather_table_fallbacks, 1, __ATOMIC_RELAXED);
			trace_event(TR_TABLE_QUEUED, page_to_phys(table), 1);
			if (tlb_debug_free_tables_now) {
				free_table(table);
				return;
			}
			call_rcu(table_rcu_head(table), one_table_free_rcu);
			return;
		}
		tlb->tables = page_address(p);
		tlb->tables->nr = 0;
	}
	tlb->tables->tables[tlb->tables->nr++] = table;
	trace_event(TR_TABLE_QUEUED, page_to_phys(table), tlb->tables->nr);
	if (tlb->tables->nr == TABLE_BATCH_MAX) {
		tlb_flush_mmu_tlbonly(tlb);
		table_batch_submit(tlb);
	}
}

/* --- flushing --- */

void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb)
{
	if (tlb_debug_free_before_flush) {
		/* The negative control: free first, as a broken kernel would. */
		free_queued_pages(tlb);
	}
	/* LAB(mmu-gather) BEGIN: nothing recorded: no flush; else flush [start, end) (everything for fullmm) with freed_tables, then reset the range */
	if (tlb->end > tlb->start || tlb->freed_tables) {
		u64 start = tlb->start, end = tlb->end;
		if (tlb->fullmm || end <= start) {
			start = 0;
			end = TLB_FLUSH_ALL;
		}
		flush_tlb_mm_range(tlb->mm, start, end, PAGE_SHIFT, tlb->freed_tables);
		reset_range(tlb);
	}
	/* LAB(mmu-gather) STUB: if (tlb->end > tlb->start || tlb->freed_tables) { flush_tlb_mm_range(tlb->mm, 0, TLB_FLUSH_ALL, PAGE_SHIFT, true); reset_range(tlb); } */
	/* LAB(mmu-gather) END */
}

void tlb_flush_mmu(struct mmu_gather *tlb)
{
	/* The order is the whole point (mmu_gather.h, rules 1 to 3): no CPU
	 * may still reach a page or table when it is freed. */
	tlb_flush_mmu_tlbonly(tlb);
	table_batch_submit(tlb);
	free_queued_pages(tlb);
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	struct mm_struct *mm = tlb->mm;
	if (__atomic_load_n(&mm->tlb_flush_pending, __ATOMIC_SEQ_CST) > 1 &&
	    !tlb_debug_ignore_nested) {
		/* Another gather is open on mm: flush everything, everywhere. */
		__atomic_add_fetch(&mmu_gather_nested_flushes, 1, __ATOMIC_RELAXED);
		tlb->fullmm = true;
		tlb->freed_tables = true;
	}
	tlb_flush_mmu(tlb);
	/* The extra batch pages. */
	struct gather_batch *b = tlb->local.next;
	while (b) {
		struct gather_batch *next = b->next;
		free_page(virt_to_page(b));
		b = next;
	}
	tlb->local.next = NULL;
	__atomic_sub_fetch(&mm->tlb_flush_pending, 1, __ATOMIC_SEQ_CST);
	trace_event(TR_GATHER_FINISH, mm->pgd_phys, tlb->pages_freed);
}

void mmu_gather_init(void)
{
	tlb_debug_free_before_flush = cmdline_has("tlb_debug_free_before_flush");
	tlb_debug_free_tables_now = cmdline_has("tlb_debug_free_tables_now");
	tlb_debug_ignore_nested = cmdline_has("tlb_debug_ignore_nested");
	if (tlb_debug_free_before_flush)
		printk(KERN_WARNING "mmu_gather: tlb_debug_free_before_flush: pages freed BEFORE the TLB flush (negative control)\n");
	if (tlb_debug_free_tables_now)
		printk(KERN_WARNING "mmu_gather: tlb_debug_free_tables_now: page tables freed without an RCU grace period (negative control)\n");
	if (tlb_debug_ignore_nested)
		printk(KERN_WARNING "mmu_gather: tlb_debug_ignore_nested: a finish flushes only what it recorded, "
		       "other gathers open or not (negative control)\n");
}
