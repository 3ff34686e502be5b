/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_user.h - helpers shared by the in-kernel mm tests: touching user
 * memory of an address space (kthread_use_mm), counting what is free, and
 * waiting for other CPUs.
 *
 * copy_from_user/copy_to_user alone show what the hardware does: they fail
 * on any fault, so a stale TLB entry is visible as a copy that succeeds.
 * test_user_access() is what a user program would see: it resolves faults
 * through handle_mm_fault() the way the trap handler does, then retries.
 */
#ifndef PAGODA_MM_TEST_USER_H
#define PAGODA_MM_TEST_USER_H

#include "kernel/types.h"
#include "mm/mm.h"
#include "mm/paging.h"          /* enum pt_level */

/* Read 8 bytes the way the hardware alone would: through a cached or a
 * walked translation, never resolving a fault (interrupts are off for the
 * one access, so the fault handler does not call handle_mm_fault - Linux's
 * copy_from_user_nofault). 0, or -EFAULT when no present entry allows it. */
int test_read_nofault(u64 addr, u64 *v);
int test_write_nofault(u64 addr, u64 v);

/* Copy within one page, resolving faults. 0 or the fault's error. */
int test_user_access(struct mm_struct *mm, u64 addr, void *buf, size_t n, bool write);
int test_put_u64(struct mm_struct *mm, u64 addr, u64 v);
int test_get_u64(struct mm_struct *mm, u64 addr, u64 *v);

/* The same, borrowing mm for the one access (kthread_use_mm): the word at
 * addr, or ~0 if it cannot be read; 0 or the fault's error. */
u64 test_peek(struct mm_struct *mm, u64 addr);
int test_poke(struct mm_struct *mm, u64 addr, u64 v);

/* Free pages once RCU has freed the page tables queued for it and every
 * CPU's slab caches are given back: what leak checks compare. Call from a
 * test's own thread (it runs a function on every CPU). */
u64 test_settled_free_pages(void);
/* The same plus the pages the slab holds: what page-level frees (tables,
 * user pages) change, whatever kernel objects came and went meanwhile. */
u64 test_settled_free_and_slab_pages(void);
/* Slab objects handed out, all caches. */
u64 test_slab_objects(void);

/* Spin until *var >= value (counters other CPUs increment). */
void test_wait_until(u32 *var, u32 value);

/* Lockless walkers against a CPU that frees page tables (munmap, a
 * collapse). Each round the leader (the first online CPU) maps (prepare);
 * every other CPU walks to an address in [base, base + pages pages) with
 * interrupts off and RCU held (Linux's GUP-fast) and holds on to the tables
 * it walked while the leader frees them (free_tables). Once that has
 * returned the walker looks again: the tables at levels top down to where
 * its walk stopped must still be page tables without poison - freed tables
 * wait for a grace period, which the walker's section holds off. */
struct test_walk_race {
	struct mm_struct *mm;
	u64 base;
	u32 pages, rounds;
	enum pt_level top;                      /* the highest table checked (PT_PTE: that one alone) */
	void (*prepare)(struct test_walk_race *race, u32 r);
	void (*free_tables)(struct test_walk_race *race, u32 r);
	/* Set by test_walk_race_run. */
	u32 leader, walkers;
	u32 phase, armed, returned, done;       /* round r: r + 1 */
	u32 reached;                            /* walks that got to a PTE table */
	u32 poison, not_table, timeouts;        /* what must stay 0 */
};

/* Run the rounds on every online CPU (at least two); call from a test's own
 * thread. A walker gives up waiting for the leader after a bound, counted
 * in timeouts. */
void test_walk_race_run(struct test_walk_race *race);

#endif
