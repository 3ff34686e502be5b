/* SPDX-License-Identifier: MIT */
/* kernel/spinlock.c - test-and-test-and-set spinlock with debug checks.
 * See spinlock.h for the rules each check enforces. */
#include "kernel/spinlock.h"
#include "kernel/printk.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"

void __spin_init(spinlock_t *l, const char *name, const char *class_name,
		 const struct lock_class_key *key)
{
	l->locked = 0;
	l->owner_cpu = -1;
	l->name = name;
	l->used_in_irq = false;
	l->contended = 0;
	lockdep_init_map(&l->dep_map, class_name, key, 0);
}

static void check_before_lock(spinlock_t *l)
{
	s32 me = (s32)smp_processor_id();
	if (READ_ONCE(l->owner_cpu) == me && READ_ONCE(l->locked))
		panic("spinlock '%s': recursive lock on CPU %d", l->name, me);
	if (in_interrupt())
		WRITE_ONCE(l->used_in_irq, true);
	else if (READ_ONCE(l->used_in_irq) && !irqs_disabled())
		panic("spinlock '%s': taken with interrupts enabled on CPU %d, "
		      "but it is also taken in interrupt context", l->name, me);
}

static inline u32 xchg32(u32 *p, u32 v)
{
	__asm__ __volatile__("xchgl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static void do_spin_lock(spinlock_t *l, u32 subclass)
{
	check_before_lock(l);
	/* Before spinning: a deadlock is reported, not hung in. */
	lock_acquire(&l->dep_map, l, LD_SPIN, LD_NESTED(subclass));
	if (xchg32(&l->locked, 1) != 0) {
		/* Counted under the lock below, so the count is exact. */
		while (xchg32(&l->locked, 1) != 0) {
			while (READ_ONCE(l->locked))
				cpu_relax();
		}
		l->contended++;
	}
	l->owner_cpu = (s32)smp_processor_id();
	this_cpu()->locks_held++;
}

void spin_lock(spinlock_t *l)
{
	do_spin_lock(l, 0);
}

void spin_lock_nested(spinlock_t *l, u32 subclass)
{
	do_spin_lock(l, subclass);
}

bool spin_trylock(spinlock_t *l)
{
	check_before_lock(l);
	if (xchg32(&l->locked, 1) != 0)
		return false;
	l->owner_cpu = (s32)smp_processor_id();
	this_cpu()->locks_held++;
	lock_acquire(&l->dep_map, l, LD_SPIN, LD_TRY);
	return true;
}

void spin_unlock(spinlock_t *l)
{
	s32 me = (s32)smp_processor_id();
	if (!READ_ONCE(l->locked) || l->owner_cpu != me)
		panic("spinlock '%s': unlocked by CPU %d but held by %d (locked=%u)",
		      l->name, me, l->owner_cpu, l->locked);
	lock_release(&l->dep_map, l, LD_SPIN);
	l->owner_cpu = -1;
	this_cpu()->locks_held--;
	barrier();
	/* A plain store releases on x86 (stores are not reordered with
	 * earlier loads or stores); the barrier stops the compiler doing so. */
	WRITE_ONCE(l->locked, 0);
}

u64 spin_lock_irqsave(spinlock_t *l)
{
	u64 flags = local_irq_save();
	spin_lock(l);
	return flags;
}

void spin_unlock_irqrestore(spinlock_t *l, u64 flags)
{
	spin_unlock(l);
	local_irq_restore(flags);
}

bool spin_is_held_by_me(spinlock_t *l)
{
	return READ_ONCE(l->locked) && l->owner_cpu == (s32)smp_processor_id();
}

/* --- word locks (spinlock.h) --- */

static u64 word_contended[MAX_CPUS];
/* Every word lock is a PTE lock: one class (spinlock.h). */
static struct lockdep_map ptl_map = LOCKDEP_MAP_INIT("ptl");

static u32 cmpxchg32(u32 *p, u32 old, u32 new)
{
	__atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
	return old;     /* the value found: == old when we swapped */
}

/* Take w if free: true if taken. */
static bool word_grab(u32 *w)
{
	u32 me = smp_processor_id() + 1;
	u32 found = cmpxchg32(w, 0, me);
	if (found == me)
		panic("word lock %p: recursive lock on CPU %u", (void *)w, me - 1);
	if (found != 0)
		return false;
	this_cpu()->locks_held++;
	return true;
}

bool word_trylock(u32 *w)
{
	if (!word_grab(w))
		return false;
	lock_acquire(&ptl_map, w, LD_SPIN, LD_TRY);
	return true;
}

void word_lock(u32 *w)
{
	if (READ_ONCE(*w) == smp_processor_id() + 1)
		panic("word lock %p: recursive lock on CPU %u", (void *)w, smp_processor_id());
	lock_acquire(&ptl_map, w, LD_SPIN, 0);
	if (word_grab(w))
		return;
	word_contended[smp_processor_id()]++;
	do {
		while (READ_ONCE(*w))
			cpu_relax();
	} while (!word_grab(w));
}

void word_unlock(u32 *w)
{
	u32 me = smp_processor_id() + 1;
	if (READ_ONCE(*w) != me)
		panic("word lock %p: unlocked by CPU %u but held by %d", (void *)w, me - 1,
		      (int)READ_ONCE(*w) - 1);
	lock_release(&ptl_map, w, LD_SPIN);
	this_cpu()->locks_held--;
	barrier();
	WRITE_ONCE(*w, 0);      /* a plain store releases on x86 (see spin_unlock) */
}

u64 word_lock_contended(void)
{
	u64 sum = 0;
	u32 c;
	for_each_possible_cpu(c)
		sum += READ_ONCE(word_contended[c]);
	return sum;
}
