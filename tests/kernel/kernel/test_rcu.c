/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_rcu.c - RCU must never let a reader see a freed object.
 *
 * The torture test: readers on every CPU but one keep following pointers to
 * objects; a writer on the remaining CPU keeps replacing them and frees each
 * old object through call_rcu(). "Freeing" writes POISON over the object, and
 * objects are never reused, so a reader that ever finds POISON read an
 * object after its grace period ended: RCU is broken. The negative control
 * (command line "rcu_debug_no_grace_period", run by tools/run-tests as a
 * configuration that must fail) makes call_rcu free at once, and this test
 * then fails.
 */
#include "kernel/ktest.h"
#include "kernel/rcu.h"
#include "kernel/sched.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/apic.h"

#define OBJ_LIVE 0x4c4956454c495645UL   /* "EVILEVIL" backwards: just a pattern */
#define OBJ_POISON 0xdeaddeaddeaddeadUL
#define NR_SLOTS 4
#define NR_WRITES 2000
#define READER_CHECKS 4

struct torture_obj {
	u64 magic;
	u64 serial;
	struct rcu_head rcu;
};

static struct torture_obj objs[NR_WRITES + NR_SLOTS];
static struct torture_obj *slots[NR_SLOTS];
static u32 writer_cpu;
static u32 writer_done;
static u64 poison_seen;
static u64 reads_done;
static u64 freed;

static void free_obj(struct rcu_head *head)
{
	struct torture_obj *o = container_of(head, struct torture_obj, rcu);
	WRITE_ONCE(o->magic, OBJ_POISON);
	__atomic_add_fetch(&freed, 1, __ATOMIC_RELAXED);
}

static void torture_cpu(void *arg)
{
	(void)arg;
	if (smp_processor_id() == writer_cpu) {
		for (u32 i = 0; i < NR_WRITES; i++) {
			struct torture_obj *o = &objs[NR_SLOTS + i];
			o->magic = OBJ_LIVE;
			o->serial = i;
			u32 slot = i % NR_SLOTS;
			struct torture_obj *old = slots[slot];
			rcu_assign_pointer(slots[slot], o);
			call_rcu(&old->rcu, free_obj);
			/* Pace the writer so that many grace periods start and
			 * end while the readers run (a tick is 10 ms). */
			udelay(200);
			if (i % 64 == 63)
				yield();        /* let the grace-period thread run here too */
		}
		__atomic_store_n(&writer_done, 1, __ATOMIC_SEQ_CST);
		return;
	}
	u64 n = 0;
	while (!__atomic_load_n(&writer_done, __ATOMIC_SEQ_CST)) {
		rcu_read_lock();
		struct torture_obj *o = rcu_dereference(slots[n % NR_SLOTS]);
		/* Look at it several times: a grace period that ends while we
		 * hold it is exactly the bug to catch. */
		for (int k = 0; k < READER_CHECKS; k++) {
			if (READ_ONCE(o->magic) != OBJ_LIVE) {
				__atomic_add_fetch(&poison_seen, 1, __ATOMIC_RELAXED);
				break;
			}
			cpu_relax();
		}
		rcu_read_unlock();
		n++;
		cond_resched();         /* let the grace-period thread run here */
	}
	__atomic_add_fetch(&reads_done, n, __ATOMIC_RELAXED);
}

static void test_torture_readers_never_see_poison(struct ktest *t)
{
	cpumask_t online;
	cpumask_copy(&online, &cpu_online_mask);
	if (cpumask_weight(&online) < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	for (u32 i = 0; i < NR_SLOTS; i++) {
		objs[i].magic = OBJ_LIVE;
		slots[i] = &objs[i];
	}
	writer_cpu = 0;
	writer_done = 0;
	poison_seen = reads_done = freed = 0;
	struct rcu_stats before, after;
	rcu_get_stats(&before);
	ktest_on_cpus(&online, torture_cpu, NULL);
	rcu_barrier();
	rcu_get_stats(&after);
	ktest_log(t, "%lu reads on %u CPUs, %u replacements, %lu grace periods, poison seen %lu time(s)",
		  reads_done, cpumask_weight(&online) - 1, NR_WRITES,
		  after.gp_completed - before.gp_completed, poison_seen);
	KTEST_EXPECT_EQ(t, poison_seen, 0);
	KTEST_EXPECT_EQ(t, freed, NR_WRITES);          /* every callback ran */
	KTEST_EXPECT_GT(t, reads_done, 0);
}

/* synchronize_rcu() must wait for a reader that was already inside. */
static u32 sync_reader_inside, sync_reader_exited, sync_updater_started;

static void long_reader(void *arg)
{
	(void)arg;
	rcu_read_lock();
	__atomic_store_n(&sync_reader_inside, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&sync_updater_started, __ATOMIC_SEQ_CST))
		cpu_relax();
	/* Stay inside well past the updater's call, then leave. */
	for (u32 i = 0; i < 2000000; i++)
		cpu_relax();
	__atomic_store_n(&sync_reader_exited, 1, __ATOMIC_SEQ_CST);
	rcu_read_unlock();
}

static void updater(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&sync_reader_inside, __ATOMIC_SEQ_CST))
		cpu_relax();
	__atomic_store_n(&sync_updater_started, 1, __ATOMIC_SEQ_CST);
	synchronize_rcu();
	/* Checked by the caller: the reader must have left by now. */
}

static void test_synchronize_waits_for_reader(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	sync_reader_inside = sync_reader_exited = sync_updater_started = 0;
	struct thread *r = kthread_create("rcu_reader", long_reader, NULL, cpumask_of(1));
	struct thread *u = kthread_create("rcu_updater", updater, NULL, cpumask_of(0));
	KTEST_ASSERT_TRUE(t, r && u);
	thread_join(u);
	u32 exited_when_sync_returned = __atomic_load_n(&sync_reader_exited, __ATOMIC_SEQ_CST);
	thread_join(r);
	KTEST_EXPECT_EQ(t, exited_when_sync_returned, 1);
}

static u64 cb_ran;
static void count_cb(struct rcu_head *h)
{
	(void)h;
	__atomic_add_fetch(&cb_ran, 1, __ATOMIC_RELAXED);
}

static void test_barrier_runs_every_callback(struct ktest *t)
{
	static struct rcu_head heads[200];
	cb_ran = 0;
	for (u32 i = 0; i < 200; i++)
		call_rcu(&heads[i], count_cb);
	rcu_barrier();
	KTEST_EXPECT_EQ(t, cb_ran, 200);
}

static void test_grace_periods_advance(struct ktest *t)
{
	struct rcu_stats a, b;
	rcu_get_stats(&a);
	for (int i = 0; i < 5; i++)
		synchronize_rcu();
	rcu_get_stats(&b);
	if (rcu_debug_no_grace_period)
		return;
	KTEST_EXPECT_GE(t, b.gp_completed - a.gp_completed, 5);
}

/* A CPU busy in kernel code, interrupts on, outside any reader, that never
 * switches context must not hold a grace period off: its tick (or the
 * grace period's IPI) finds no reader open, which is a quiescent state.
 * synchronize_rcu() on another CPU must return while it is still busy. A
 * kernel that counted only context switches ("rcu_debug_switch_only") waits
 * for it to stop. The busy CPU gives up after BUSY_TICK_LIMIT of its own
 * ticks (a deadlock bound, not a measure: the grace period normally ends
 * within a tick or two), and its giving up is the failure. Three CPUs at
 * least, so that the grace-period thread wakes on an idle one (the least
 * loaded) rather than behind the busy thread, which would never let it run. */
#define BUSY_TICK_LIMIT 2000            /* 20 s at 100 Hz */

static u32 busy_started, busy_stop, busy_gave_up;

static void busy_cpu(void *arg)
{
	(void)arg;
	struct cpu *c = this_cpu();
	u64 start = READ_ONCE(c->ticks);
	__atomic_store_n(&busy_started, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&busy_stop, __ATOMIC_SEQ_CST)) {
		if (READ_ONCE(c->ticks) - start > BUSY_TICK_LIMIT) {
			__atomic_store_n(&busy_gave_up, 1, __ATOMIC_SEQ_CST);
			return;
		}
		cpu_relax();    /* no cond_resched(), no schedule(): busy */
	}
}

static void test_busy_cpu_does_not_hold_off(struct ktest *t)
{
	if (num_online_cpus() < 3) {
		ktest_skip(t, "needs three CPUs");
		return;
	}
	busy_started = busy_stop = busy_gave_up = 0;
	/* Stay on one CPU; the busy thread gets another. */
	cpumask_t allowed;
	cpumask_copy(&allowed, &current_thread()->allowed);
	u32 me = smp_processor_id();
	thread_set_affinity(cpumask_of(me));
	u32 busy = ktest_other_cpu(me);
	struct thread *b = kthread_create("rcu_busy", busy_cpu, NULL, cpumask_of(busy));
	KTEST_ASSERT_TRUE(t, b);
	while (!__atomic_load_n(&busy_started, __ATOMIC_SEQ_CST))
		cond_resched();
	struct rcu_stats before, after;
	rcu_get_stats(&before);
	synchronize_rcu();
	rcu_get_stats(&after);
	u32 gave_up = __atomic_load_n(&busy_gave_up, __ATOMIC_SEQ_CST);
	__atomic_store_n(&busy_stop, 1, __ATOMIC_SEQ_CST);
	thread_join(b);
	thread_set_affinity(&allowed);
	ktest_log(t, "CPU %u busy in kernel code; synchronize_rcu() on CPU %u returned %s "
		  "(%lu grace periods)", busy, me,
		  gave_up ? "only after it gave up" : "while it was still busy",
		  after.gp_completed - before.gp_completed);
	KTEST_EXPECT_EQ(t, gave_up, 0);
}

static const struct ktest_case rcu_cases[] = {
	{ "torture_readers_never_see_poison", test_torture_readers_never_see_poison },
	{ "synchronize_waits_for_reader", test_synchronize_waits_for_reader },
	{ "barrier_runs_every_callback", test_barrier_runs_every_callback },
	{ "grace_periods_advance", test_grace_periods_advance },
	{ "busy_cpu_does_not_hold_off", test_busy_cpu_does_not_hold_off },
};
KTEST_SUITE(rcu, rcu_cases);
