/* SPDX-License-Identifier: MIT */
/* kernel/spinlock.h - spinlocks with debug checks.
 *
 * Interface:
 *   spin_lock / spin_unlock           - for locks never taken in interrupt context
 *   spin_lock_irqsave / _irqrestore   - for locks an interrupt handler may take
 *
 * Debug checks (always on; they cost a few instructions and catch real bugs):
 *   - recursion: taking a lock this CPU already holds panics (it would hang);
 *   - unlock by a CPU that does not hold it panics;
 *   - sleeping: schedule() panics if the CPU holds any spinlock other than
 *     its run-queue lock (each CPU counts the locks it holds);
 *   - interrupt state: a lock that has been taken inside an interrupt handler
 *     must never be taken with interrupts enabled (an interrupt arriving on
 *     that CPU would spin forever on it); doing so panics, naming the lock.
 * Each lock also counts how often it was found held (contention), which the
 * tests and benchmarks read.
 *
 * The lock validator (kernel/lockdep.h) sees every acquisition and release
 * and checks the order between locks, by class: spin_init() is a macro
 * whose call site names the class (every lock initialised there shares
 * it); a lock initialised with SPINLOCK_INIT is a class of its own. Every
 * word lock is of one class, "ptl": the only word locks are the PTE locks.
 * spin_lock_nested(l, 1) takes l as subclass 1 of its class, for a caller
 * that must hold two locks of one class and always takes them in the same
 * order (lockdep.h).
 */
#ifndef PAGODA_SPINLOCK_H
#define PAGODA_SPINLOCK_H

#include "kernel/types.h"
#include "kernel/lockdep.h"

typedef struct spinlock {
	u32 locked;             /* 0 free, 1 held; changed with xchg */
	s32 owner_cpu;          /* -1 when free; debug */
	const char *name;
	bool used_in_irq;       /* set the first time it is taken in an interrupt */
	u64 contended;          /* times a CPU found it held and had to spin */
	struct lockdep_map dep_map;
} spinlock_t;

#define SPINLOCK_INIT(n) { .locked = 0, .owner_cpu = -1, .name = (n), .used_in_irq = false, \
			   .contended = 0, .dep_map = LOCKDEP_MAP_INIT(n) }

/* The class is named after the lock expression, as Linux names it. */
#define spin_init(l, name)                                                    \
	do {                                                                  \
		static struct lock_class_key __key;                           \
		__spin_init((l), (name), #l, &__key);                         \
	} while (0)
void __spin_init(spinlock_t *l, const char *name, const char *class_name,
		 const struct lock_class_key *key);
void spin_lock(spinlock_t *l);
void spin_lock_nested(spinlock_t *l, u32 subclass);
bool spin_trylock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
u64 spin_lock_irqsave(spinlock_t *l);
void spin_unlock_irqrestore(spinlock_t *l, u64 flags);
bool spin_is_held_by_me(spinlock_t *l);

/* A lock in one 32-bit word, for objects with no room for a spinlock_t: a
 * page table's lock lives in its struct page (mm/pgtable.h), and struct page
 * is 32 bytes. The word is 0 when free, the holder's CPU number + 1 when
 * held. Same checks as above (recursion, unlock by another CPU, sleeping
 * while held), except the interrupt one: never take a word lock in an
 * interrupt handler. Contention is counted per CPU (word_lock_contended). */
void word_lock(u32 *w);
bool word_trylock(u32 *w);
void word_unlock(u32 *w);
u64 word_lock_contended(void);  /* summed over every CPU */

#endif
