/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_spinlock.c - spinlocks exclude each other on every CPU, count
 * contention exactly, and answer trylock / is-held-by-me correctly.
 *
 * The debug checks that panic (recursion, unlock by a non-owner, interrupt
 * state) cannot be tested here without stopping the machine; the cases below
 * check the queries those checks are built on. */
#include "kernel/ktest.h"
#include "kernel/spinlock.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"

#define INCREMENTS 100000

static spinlock_t counter_lock = SPINLOCK_INIT("test_counter");
static u64 counter;             /* protected by counter_lock; plain accesses */

static void increment_many(void *arg)
{
	(void)arg;
	for (u32 i = 0; i < INCREMENTS; i++) {
		spin_lock(&counter_lock);
		/* A non-atomic read-modify-write: any lost update shows. */
		u64 v = READ_ONCE(counter);
		WRITE_ONCE(counter, v + 1);
		spin_unlock(&counter_lock);
	}
}

static void test_contention_counted_exactly(struct ktest *t)
{
	cpumask_t all;
	cpumask_copy(&all, &cpu_online_mask);
	counter = 0;
	counter_lock.contended = 0;
	ktest_on_cpus(&all, increment_many, NULL);
	KTEST_EXPECT_EQ(t, counter, (u64)cpumask_weight(&all) * INCREMENTS);
	KTEST_EXPECT_FALSE(t, counter_lock.locked);
	KTEST_EXPECT_EQ(t, counter_lock.owner_cpu, -1);
	/* Contention depends on timing, so it is reported, not required;
	 * it can never exceed the number of acquisitions. */
	KTEST_EXPECT_LE(t, counter_lock.contended, counter);
	ktest_log(t, "%u CPU(s) x %u increments = %lu; lock found held %lu time(s)",
		  cpumask_weight(&all), INCREMENTS, counter, counter_lock.contended);
}

static spinlock_t probe_lock = SPINLOCK_INIT("test_probe");
static bool remote_held_by_me, remote_trylock;

static void probe_from_other_cpu(void *arg)
{
	(void)arg;
	remote_held_by_me = spin_is_held_by_me(&probe_lock);
	remote_trylock = spin_trylock(&probe_lock);
	if (remote_trylock)
		spin_unlock(&probe_lock);
}

static void test_trylock(struct ktest *t)
{
	/* Interrupts off throughout: the probe below takes this lock in an
	 * interrupt (an IPI), and the debug checks insist on that rule. */
	u64 irq = local_irq_save();
	bool got = spin_trylock(&probe_lock);
	KTEST_EXPECT_TRUE(t, got);
	KTEST_EXPECT_TRUE(t, spin_is_held_by_me(&probe_lock));
	KTEST_EXPECT_EQ(t, probe_lock.owner_cpu, (s32)smp_processor_id());
	if (got)
		spin_unlock(&probe_lock);
	local_irq_restore(irq);
	KTEST_EXPECT_FALSE(t, spin_is_held_by_me(&probe_lock));
	KTEST_EXPECT_EQ(t, probe_lock.owner_cpu, -1);

	if (nr_cpus < 2) {
		ktest_skip(t, "needs 2 CPUs for the cross-CPU half");
		return;
	}
	/* Held here: another CPU's trylock fails and it does not own it.
	 * The probe runs through an IPI, because a thread must not sleep
	 * (as waiting for another thread would) while holding a spinlock. */
	u64 f = spin_lock_irqsave(&probe_lock);
	u32 other = smp_processor_id() == 0 ? 1 : 0;   /* the test thread may run anywhere */
	remote_held_by_me = true;
	remote_trylock = true;
	smp_call_function_single(other, probe_from_other_cpu, NULL, true);
	KTEST_EXPECT_FALSE(t, remote_held_by_me);
	KTEST_EXPECT_FALSE(t, remote_trylock);
	KTEST_EXPECT_TRUE(t, spin_is_held_by_me(&probe_lock));
	spin_unlock_irqrestore(&probe_lock, f);

	/* Free: the other CPU gets it (and gives it back). This thread has
	 * not slept since choosing `other`, so it is still on the same CPU. */
	smp_call_function_single(other, probe_from_other_cpu, NULL, true);
	KTEST_EXPECT_FALSE(t, remote_held_by_me);
	KTEST_EXPECT_TRUE(t, remote_trylock);
	KTEST_EXPECT_FALSE(t, probe_lock.locked);
}

static void test_irqsave_restores_state(struct ktest *t)
{
	spinlock_t l = SPINLOCK_INIT("test_irqsave");
	u64 outer = local_irq_save();

	local_irq_enable();
	u64 f = spin_lock_irqsave(&l);
	KTEST_EXPECT_TRUE(t, irqs_disabled());
	KTEST_EXPECT_TRUE(t, spin_is_held_by_me(&l));
	spin_unlock_irqrestore(&l, f);
	KTEST_EXPECT_FALSE(t, irqs_disabled());

	local_irq_disable();
	f = spin_lock_irqsave(&l);
	spin_unlock_irqrestore(&l, f);
	KTEST_EXPECT_TRUE(t, irqs_disabled());   /* stays off */
	KTEST_EXPECT_FALSE(t, spin_is_held_by_me(&l));

	if (outer & RFLAGS_IF)
		local_irq_enable();
}

static const struct ktest_case spinlock_cases[] = {
	{ "contention_counted_exactly", test_contention_counted_exactly },
	{ "trylock", test_trylock },
	{ "irqsave_restores_state", test_irqsave_restores_state },
};
KTEST_SUITE(spinlock, spinlock_cases);
