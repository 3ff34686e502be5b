/* SPDX-License-Identifier: MIT */
/* kernel/lockdep.h - the lock validator: locking rules checked at run time
 * (in the spirit of Linux's lockdep; docs/locking.md).
 *
 * A deadlock needs two CPUs (or threads) taking the same locks in opposite
 * orders, at the same moment: rare, so tests seldom hit it. The validator
 * instead remembers every order that was ever used and reports the first
 * acquisition that COULD deadlock with one of them, whether or not the
 * other side is running now.
 *
 * Classes. The validator reasons about kinds of locks, not single locks:
 * every mm's page_table_lock is one class, every mm's mmap_lock another.
 * A class is named by a key, a struct lock_class_key whose address is all
 * that counts: spin_init() and rwsem_init() are macros that give each call
 * site its own static key, so locks initialised at the same line share a
 * class; a lock initialised with SPINLOCK_INIT (a static lock) is its own
 * class; word locks (the PTE locks) share one class; VMA locks share one.
 * A subclass (0 or 1) splits a class in two for the one place that must
 * hold two locks of a kind at once in a fixed order (Linux's _nested).
 *
 * What each CPU and thread holds. A lock that never sleeps (spinlock, word
 * lock, VMA read lock) is held by a CPU: the kernel is not preemptible, so
 * it never leaves the CPU while held. It goes on that CPU's stack of held
 * locks - one stack for thread context, one for interrupt context, since an
 * interrupt's locks do not nest inside whatever it interrupted. A sleeping
 * lock (rwsem) is held by a thread, across its sleeps and onto other CPUs:
 * it goes on the thread's own stack. Stacks are fixed arrays.
 *
 * The rules checked at each acquisition:
 *   1. Order: taking class B while holding class A records the edge A->B
 *      the first time, with the stack of that acquisition. Before it is
 *      recorded, a search (bounded: every class visited at most once) looks
 *      for a path B->...->A among the edges already recorded; one closes a
 *      cycle - two CPUs could each hold one lock and wait for the other -
 *      and is reported with the chain and the stacks of both sides.
 *   2. Documented order: each class may have a rank (the table in
 *      kernel/lockdep_order.h, the same as docs/locking.md's); an edge from
 *      a higher or equal rank to a lower one is reported at once, before
 *      any cycle exists.
 *   3. Recursion: taking a class already held (another lock of the same
 *      kind, or the same rwsem for reading twice: a writer waiting between
 *      the two reads would block the second forever) is reported.
 *   4. Interrupts: a class taken in interrupt context must never be taken
 *      with interrupts enabled (an interrupt arriving on that CPU would spin
 *      forever on the lock it interrupted); reported in either order of
 *      discovery, with the stacks of both uses.
 *   A trylock never waits, so it cannot close a deadlock and records no
 *   edge; it is held all the same and orders the locks taken under it.
 *   Releasing a lock this context does not hold is reported too.
 *
 * A report: a multi-line splat on the console and then panic(), which the
 * test harness counts as a failure in every configuration. A test of the
 * validator sets lockdep_report_hook; the report is then handed to the hook
 * instead and the offending edge is not recorded.
 *
 * Cost: off with the boot word "lockdep=0" (the benchmark configurations):
 * every hook below is then one predictable branch on a read-mostly flag.
 * When the class table or edge table fills up, the validator says so once
 * and turns itself off: it never overwrites what it recorded.
 *
 * Assertions: lockdep_assert_held(lock) reports (like the rules above)
 * unless this CPU (a lock that never sleeps) or this thread (an rwsem)
 * holds the lock at that address; lockdep_assert_held_write(rwsem) unless
 * it holds it for writing. mm/vma_lock.h builds the mm ones on them
 * (mmap_assert_locked, pmd_assert_locked, ...). While the validator is off
 * they check nothing.
 *
 * Boot words: "lockdep=0" turns the validator off; "lockdep_stats" prints
 * every class and edge after the tests (one summary line is always
 * printed); "lockdep_debug_wrong_order" is the negative control below.
 */
#ifndef PAGODA_LOCKDEP_H
#define PAGODA_LOCKDEP_H

#include "kernel/types.h"

/* Only its address matters: one static key per class. */
struct lock_class_key {
	char unused;
};

/* What a lock carries for the validator. key NULL: the map's own address
 * is the key (a statically initialised lock is its own class). */
struct lockdep_map {
	const struct lock_class_key *key;
	const char *name;
	u16 class_cache;        /* index + 1 of its class, once looked up */
	u8 subclass;
};

#define LOCKDEP_MAP_INIT(n) { .key = NULL, .name = (n), .class_cache = 0, .subclass = 0 }

enum lockdep_kind {
	LD_SPIN,                /* spinlock or word lock: never sleeps, per CPU */
	LD_SLEEP,               /* rwsem: may sleep, per thread */
};

/* How it is taken. */
#define LD_TRY   1u         /* a trylock that succeeded (records no edge) */
#define LD_READ  2u         /* shared (rwsem reader, VMA read lock) */
#define LD_NESTED(sub) ((u32)(sub) << 4)   /* taken as subclass sub (0 or 1) */

extern bool lockdep_enabled;    /* read-mostly; "lockdep=0" clears it */

/* Built with -DLOCKDEP_COMPILED_OUT, the hooks vanish: only for measuring
 * what the one branch of "lockdep=0" costs (docs/locking.md, "Cost"). */
#ifdef LOCKDEP_COMPILED_OUT
#define lockdep_on() false
#else
#define lockdep_on() unlikely(lockdep_enabled)
#endif

void lockdep_init_map(struct lockdep_map *m, const char *name,
		      const struct lock_class_key *key, u8 subclass);
void __lock_acquire(struct lockdep_map *m, const void *instance, enum lockdep_kind kind,
		    u32 how);
void __lock_release(struct lockdep_map *m, const void *instance, enum lockdep_kind kind);
/* Does this context hold the lock at instance (for writing, if asked)?
 * True whenever the validator is off: it then knows nothing. */
bool __lock_is_held(const void *instance, bool for_write);

static inline void lock_acquire(struct lockdep_map *m, const void *instance,
				enum lockdep_kind kind, u32 how)
{
	if (lockdep_on())
		__lock_acquire(m, instance, kind, how);
}

static inline void lock_release(struct lockdep_map *m, const void *instance,
				enum lockdep_kind kind)
{
	if (lockdep_on())
		__lock_release(m, instance, kind);
}

/* Report (as a splat, then panic) unless the lock is held here. what names
 * the lock and why in the report. */
void lockdep_assert_failed(const char *what, const char *file, int line);
#define lockdep_assert_held(instance)                                          \
	lockdep_assert(__lock_is_held((instance), false), #instance)
#define lockdep_assert_held_write(instance)                                    \
	lockdep_assert(__lock_is_held((instance), true), #instance " (for writing)")
#define lockdep_assert(held, what)                                            \
	do {                                                                  \
		if (lockdep_on() && !(held))                                  \
			lockdep_assert_failed(what, __FILE__, __LINE__);      \
	} while (0)

/* The negative control "lockdep_debug_wrong_order": the lockdep suite's
 * last case takes two real locks against the documented order, once. */
extern bool lockdep_debug_wrong_order;

/* Read the boot words; print what is on. */
void lockdep_init(void);

/* How much was recorded (the test suite and docs/locking.md's figures). */
u32 lockdep_nr_classes(void);
u32 lockdep_nr_edges(void);
/* One line with those counts; with all, every class and edge too (the
 * boot word "lockdep_stats" asks for it at the end of the tests). */
void lockdep_print_stats(bool all);

/* --- for the validator's own tests (kernel/test_lockdep.c) --- */
enum lockdep_report {
	LDR_CYCLE,              /* rule 1 */
	LDR_RANK,               /* rule 2 */
	LDR_RECURSION,          /* rule 3 */
	LDR_IRQ,                /* rule 4 */
	LDR_BAD_RELEASE,
	LDR_ASSERT,
	LDR_FULL,               /* not a report: the tables filled up */
};
/* Set: a report goes here (after the splat) instead of panicking. */
extern void (*lockdep_report_hook)(enum lockdep_kind kind, enum lockdep_report what);
/* The rank given to a class name by the order table, 0 if none. */
u32 lockdep_rank_of(const char *name);

#endif
