/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_proc.c - in-kernel tests of processes, exec, sleep timers
 * and futex wake-ups ("test=proc"). The user programs (run=) test the
 * system calls from user space; these check the kernel side directly. */
#include "kernel/rcu.h"
#include "kernel/ktest.h"
#include "kernel/proc.h"
#include "kernel/time.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "mm/mm.h"
#include "mm/buddy.h"

static void free_and_slab(u64 *pages, s64 *objects)
{
	struct mm_counters c;
	rcu_barrier();          /* page tables are freed after a grace period */
	mm_counters_read(&c);
	*pages = c.free_pages + (u64)c.stat[NR_SLAB_PAGES];
	*objects = c.stat[NR_SLAB_OBJECTS];
}

static void exec_unknown_module(struct ktest *t)
{
	KTEST_EXPECT_EQ(t, exec_spawn("no-such-program"), (u64)-ENOENT);
}

/* The smallest program runs, exits 0, and leaves nothing behind. */
static void exec_hello_no_leak(struct ktest *t)
{
	if (!boot_module_exists("hello")) {
		ktest_skip(t, "no module named hello on this image");
		return;
	}
	zero_page_init();
	u64 pages0, pages1;
	s64 objs0, objs1;
	free_and_slab(&pages0, &objs0);
	long pid = exec_spawn("hello");
	KTEST_ASSERT_TRUE(t, pid > 0);
	int status = proc_wait((u32)pid);
	KTEST_EXPECT_EQ(t, status, W_EXITCODE(0));
	free_and_slab(&pages1, &objs1);
	KTEST_EXPECT_EQ(t, pages1, pages0);
	KTEST_EXPECT_EQ(t, objs1, objs0);
}

static void wait_status_encoding(struct ktest *t)
{
	/* What user space's WIFEXITED/WEXITSTATUS/WTERMSIG decode. */
	KTEST_EXPECT_EQ(t, W_EXITCODE(3), 0x300);
	KTEST_EXPECT_EQ(t, W_EXITCODE(256 + 7), 0x700);
	KTEST_EXPECT_EQ(t, W_SIGNALED(SIGSEGV), 11);
	KTEST_EXPECT_EQ(t, W_SIGNALED(SIGSEGV) & 0xff00, 0);
}

/* A sleep timer wakes its queue no earlier than its deadline. */
static struct waitq test_wq;

static void timer_wakes_after_deadline(struct ktest *t)
{
	waitq_init(&test_wq, "test_timer");
	u64 start = ktime_ns();
	struct sleep_timer timer;
	timer_add(&timer, start + 30000000, &test_wq);  /* 30 ms */
	u64 f = spin_lock_irqsave(&test_wq.lock);
	while (!READ_ONCE(timer.fired))
		sleep_on(&test_wq);
	spin_unlock_irqrestore(&test_wq.lock, f);
	timer_del(&timer);
	u64 elapsed = ktime_ns() - start;
	KTEST_EXPECT_GE(t, elapsed, 30000000);
	ktest_log(t, "slept %lu us for 30000 us", elapsed / 1000);
}

static void clock_is_monotonic(struct ktest *t)
{
	u64 prev = ktime_ns();
	for (int i = 0; i < 1000; i++) {
		u64 now = ktime_ns();
		if (!KTEST_EXPECT_GE(t, now, prev))
			return;
		prev = now;
	}
}

static void futex_wake_without_waiters(struct ktest *t)
{
	static u32 word;
	KTEST_EXPECT_EQ(t, futex_wake(NULL, (u64)&word, 1), 0);
}

static const struct ktest_case proc_cases[] = {
	{ "exec_unknown_module", exec_unknown_module },
	{ "exec_hello_no_leak", exec_hello_no_leak },
	{ "wait_status_encoding", wait_status_encoding },
	{ "timer_wakes_after_deadline", timer_wakes_after_deadline },
	{ "clock_is_monotonic", clock_is_monotonic },
	{ "futex_wake_without_waiters", futex_wake_without_waiters },
};
KTEST_SUITE(proc, proc_cases);
