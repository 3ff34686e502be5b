/* kernel/test_sched.c - threads, run queues, sleeping and waking. */
#include "kernel/ktest.h"
#include "kernel/sched.h"
#include "arch/x86_64/smp.h"

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
	for (u32 c = 0; c < MAX_CPUS; c++) {
		th[c] = NULL;
		if (!cpumask_test(cpu_online_mask, c))
			continue;
		ran_on[c] = ~0u;
		th[c] = kthread_create("pinned", record_cpu, (void *)(u64)c, 1UL << c);
		KTEST_ASSERT_TRUE(t, th[c] != NULL);
	}
	for (u32 c = 0; c < MAX_CPUS; c++) {
		if (!th[c])
			continue;
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
	cpumask_t other = cpumask_weight(cpu_online_mask) > 1 ? 2 : 1;
	struct thread *a = kthread_create("ping", ping_pong, (void *)0, 1);
	struct thread *b = kthread_create("pong", ping_pong, (void *)1, other);
	KTEST_ASSERT_TRUE(t, a && b);
	thread_join(a);
	thread_join(b);
	KTEST_EXPECT_EQ(t, pp_count[0], PING_PONG_ROUNDS);
	KTEST_EXPECT_EQ(t, pp_count[1], PING_PONG_ROUNDS);
	KTEST_EXPECT_EQ(t, pp_cpu[0], 0);
	KTEST_EXPECT_EQ(t, pp_cpu[1], (u32)__builtin_ctzl(other));
}

static u32 migrate_before, migrate_after, migrate_target;

static void migrate_self(void *arg)
{
	(void)arg;
	migrate_before = smp_processor_id();
	thread_set_affinity(1UL << migrate_target);
	migrate_after = smp_processor_id();
}

static void test_migration_by_affinity(struct ktest *t)
{
	if (cpumask_weight(cpu_online_mask) < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	migrate_target = 31 - (u32)__builtin_clz((u32)cpu_online_mask); /* highest online CPU */
	struct thread *th = kthread_create("migrate", migrate_self, NULL, 1);
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

static const struct ktest_case sched_cases[] = {
	{ "threads_run_and_join", test_threads_run_and_join },
	{ "pinned_threads_run_on_their_cpu", test_pinned_threads_run_on_their_cpu },
	{ "ping_pong_no_lost_wakeup", test_ping_pong_no_lost_wakeup },
	{ "migration_by_affinity", test_migration_by_affinity },
	{ "thread_table_full_returns_null", test_thread_table_full_returns_null },
};
KTEST_SUITE(sched, sched_cases);
