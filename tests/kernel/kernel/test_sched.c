/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_sched.c - threads, run queues, sleeping and waking. */
#include "kernel/ktest.h"
#include "kernel/sched.h"
#include "arch/x86_64/smp.h"
#include "kernel/sysrq.h"
#include "kernel/ksyms.h"
#include "kernel/string.h"

static u64 counter;

static void bump(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
}

static void test_threads_run_and_join(struct ktest *t)
{
	struct thread *th[32];
	u32 before = nr_threads_alive();
	counter = 0;
	for (int i = 0; i < 32; i++) {
		th[i] = kthread_create("bump", bump, NULL, 0);
		KTEST_ASSERT_TRUE(t, th[i] != NULL);
	}
	for (int i = 0; i < 32; i++)
		thread_join(th[i]);
	KTEST_EXPECT_EQ(t, counter, 32);
	KTEST_EXPECT_EQ(t, nr_threads_alive(), before);
}

static u32 ran_on[MAX_CPUS];

static void record_cpu(void *arg)
{
	u32 slot = (u32)(u64)arg;
	ran_on[slot] = smp_processor_id();
}

static void test_pinned_threads_run_on_their_cpu(struct ktest *t)
{
	struct thread *th[MAX_CPUS];
	u32 c;
	for_each_online_cpu(c) {
		th[c] = NULL;
		ran_on[c] = ~0u;
		th[c] = kthread_create("pinned", record_cpu, (void *)(u64)c, cpumask_of(c));
		KTEST_ASSERT_TRUE(t, th[c] != NULL);
	}
	for_each_online_cpu(c) {
		thread_join(th[c]);
		KTEST_EXPECT_EQ(t, ran_on[c], c);
	}
}

/* Two threads take turns through one wait queue. A lost wake-up leaves
 * both asleep and the test never finishes: the harness reports the hang. */
#define PING_PONG_ROUNDS 5000
static struct waitq pp_wq;
static u32 pp_turn;
static u32 pp_count[2];
static u32 pp_cpu[2];

static void ping_pong(void *arg)
{
	u32 me = (u32)(u64)arg;
	pp_cpu[me] = smp_processor_id();
	for (u32 i = 0; i < PING_PONG_ROUNDS; i++) {
		u64 f = spin_lock_irqsave(&pp_wq.lock);
		while (pp_turn != me)
			sleep_on(&pp_wq);
		pp_count[me]++;
		pp_turn = 1 - me;
		spin_unlock_irqrestore(&pp_wq.lock, f);
		wake_up_all(&pp_wq);
	}
}

static void test_ping_pong_no_lost_wakeup(struct ktest *t)
{
	waitq_init(&pp_wq, "ping_pong");
	pp_turn = 0;
	pp_count[0] = pp_count[1] = 0;
	/* On different CPUs when there are two, else both on CPU 0. */
	u32 other = num_online_cpus() > 1 ? 1 : 0;
	struct thread *a = kthread_create("ping", ping_pong, (void *)0, cpumask_of(0));
	struct thread *b = kthread_create("pong", ping_pong, (void *)1, cpumask_of(other));
	KTEST_ASSERT_TRUE(t, a && b);
	thread_join(a);
	thread_join(b);
	KTEST_EXPECT_EQ(t, pp_count[0], PING_PONG_ROUNDS);
	KTEST_EXPECT_EQ(t, pp_count[1], PING_PONG_ROUNDS);
	KTEST_EXPECT_EQ(t, pp_cpu[0], 0);
	KTEST_EXPECT_EQ(t, pp_cpu[1], other);
}

static u32 migrate_before, migrate_after, migrate_target;

static void migrate_self(void *arg)
{
	(void)arg;
	migrate_before = smp_processor_id();
	thread_set_affinity(cpumask_of(migrate_target));
	migrate_after = smp_processor_id();
}

static void test_migration_by_affinity(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	u32 c;
	for_each_cpu(c, &cpu_online_mask)
		migrate_target = c;     /* the highest online CPU */
	struct thread *th = kthread_create("migrate", migrate_self, NULL, cpumask_of(0));
	KTEST_ASSERT_TRUE(t, th != NULL);
	thread_join(th);
	KTEST_EXPECT_EQ(t, migrate_before, 0);
	KTEST_EXPECT_EQ(t, migrate_after, migrate_target);
}

static void test_thread_table_full_returns_null(struct ktest *t)
{
	/* Fill the table (threads that exit at once still hold their slot
	 * until joined), check that creation then fails cleanly, and that
	 * every slot comes back. */
	static struct thread *th[MAX_THREADS];
	u32 before = nr_threads_alive();
	u32 n = 0;
	for (; n < MAX_THREADS; n++) {
		th[n] = kthread_create("filler", bump, NULL, 0);
		if (!th[n])
			break;
	}
	KTEST_EXPECT_EQ(t, n, MAX_THREADS - before);
	for (u32 i = 0; i < n; i++)
		thread_join(th[i]);
	KTEST_EXPECT_EQ(t, nr_threads_alive(), before);
}

/* /proc/sysrq-trigger's backtrace of a sleeping thread (kernel/sysrq.h)
 * names where it sleeps: sleep_on, called from the function that waits. */
static struct waitq bt_wq;
static u32 bt_asleep, bt_release;

static __attribute__((noinline)) void sysrq_test_sleeper(void *arg)
{
	(void)arg;
	u64 f = spin_lock_irqsave(&bt_wq.lock);
	WRITE_ONCE(bt_asleep, 1);
	while (!bt_release)
		sleep_on(&bt_wq);
	spin_unlock_irqrestore(&bt_wq.lock, f);
}

static bool frames_name(const u64 *frames, u32 n, const char *fn)
{
	for (u32 i = 0; i < n; i++) {
		u64 off;
		const char *name = ksym_lookup(frames[i], &off);
		if (name && !strcmp(name, fn))
			return true;
	}
	return false;
}

static void test_sysrq_backtrace_of_sleeper(struct ktest *t)
{
	waitq_init(&bt_wq, "sysrq test");
	bt_asleep = bt_release = 0;
	struct thread *th = kthread_create("sleeper", sysrq_test_sleeper, NULL, 0);
	KTEST_ASSERT_TRUE(t, th != NULL);
	/* Asleep once it said so and no CPU is still switching away from it. */
	while (!READ_ONCE(bt_asleep) || READ_ONCE(th->state) != THREAD_BLOCKED ||
	       READ_ONCE(th->on_cpu))
		yield();
	u64 frames[SYSRQ_MAX_FRAMES];
	u32 n = sysrq_stopped_frames(th, frames, SYSRQ_MAX_FRAMES);
	KTEST_EXPECT_TRUE(t, n >= 3);
	KTEST_EXPECT_TRUE(t, frames_name(frames, n, "sleep_on"));
	KTEST_EXPECT_TRUE(t, frames_name(frames, n, "sysrq_test_sleeper"));
	/* What "w" to /proc/sysrq-trigger prints: it walks the thread table
	 * under its lock and prints each thread, so the console lock is taken
	 * under thread_table: an order docs/locking.md must allow, or the lock
	 * validator reports it (the console lock is ranked last). */
	sysrq_show_threads(true);
	u64 f = spin_lock_irqsave(&bt_wq.lock);
	bt_release = 1;
	spin_unlock_irqrestore(&bt_wq.lock, f);
	wake_up_all(&bt_wq);
	thread_join(th);
	/* A thread that is running (this one) has no stopped frames. */
	KTEST_EXPECT_EQ(t, sysrq_stopped_frames(current_thread(), frames, SYSRQ_MAX_FRAMES), 0);
}

static const struct ktest_case sched_cases[] = {
	{ "threads_run_and_join", test_threads_run_and_join },
	{ "pinned_threads_run_on_their_cpu", test_pinned_threads_run_on_their_cpu },
	{ "ping_pong_no_lost_wakeup", test_ping_pong_no_lost_wakeup },
	{ "migration_by_affinity", test_migration_by_affinity },
	{ "thread_table_full_returns_null", test_thread_table_full_returns_null },
	{ "sysrq_backtrace_of_sleeper", test_sysrq_backtrace_of_sleeper },
};
KTEST_SUITE(sched, sched_cases);
