/* SPDX-License-Identifier: MIT */
/* mm/gup_fast.h - reading an address space's page tables with no lock
 * (Linux's "fast GUP", mm/gup.c), and the rule that makes it safe.
 *
 * The walker takes neither mmap_lock nor page_table_lock: it disables
 * interrupts and enters an RCU read-side section, then reads each level's
 * entry once (a torn or changing entry is fine: it reads one value, old or
 * new). What it must never do is read a table after it was freed and reused.
 * The unmap side guarantees that: a table is unhooked from its parent entry,
 * the TLBs are flushed, and the table is freed only after an RCU grace period
 * (mm/mmu_gather.h rule 2). A walker that could still see the parent entry
 * started before the unhook, so it is inside a read-side section that the
 * grace period waits for. Interrupts off also holds off the flush IPI on
 * this CPU (the older protection Linux relied on, which covers only CPUs in
 * the address space's cpumask: a walker of another process's tables, like
 * get_user_page_fast() on a futex in shared memory, is not in it).
 *
 * Huge entries (PS) end the walk at their level; nothing maps them yet.
 *
 * The reference is counted on the head of a compound page; a deferred
 * split (mm/deferred_split.h) may turn the page into 512 single pages
 * between our compound_head() and our reference, so the head is checked
 * again once the reference is held.
 */
#ifndef PAGODA_MM_GUP_FAST_H
#define PAGODA_MM_GUP_FAST_H

#include "kernel/types.h"
#include "mm/mm.h"
#include "mm/page.h"
#include "mm/pgtable.h"

/* What one walk saw, level by level (index = level, PT_PML4 .. PT_PTE). */
struct lockless_walk {
	u64 *table[PT_LEVELS + 1];      /* the table read at each level */
	u64 entry[PT_LEVELS + 1];       /* the entry read there */
	enum pt_level level;            /* the last level read */
};

/* Walk mm's tables for addr. Caller: interrupts disabled and
 * rcu_read_lock() held, for as long as it uses what the walk returned.
 * Returns the leaf (level-1) entry, or 0 if a table on the way is missing;
 * w (may be NULL) records every table and entry read. */
u64 pgtable_lockless_walk(struct mm_struct *mm, u64 addr, struct lockless_walk *w);

/* Take a reference on the page mapped at addr, with no lock (Linux's
 * get_user_pages_fast_only for one page). NULL when the fast path cannot
 * tell - nothing present, not writable when write is asked, a special
 * mapping such as the zero page, or the entry changed under us - and the
 * caller falls back to the slow path (mmap_lock and a fault). */
struct page *get_user_page_fast(struct mm_struct *mm, u64 addr, bool write);

/* Test hook: runs in get_user_page_fast() between compound_head() and
 * the reference on that head (interrupts off, in the RCU section). */
extern void (*gup_fast_debug_hook)(struct page *p);

#endif
