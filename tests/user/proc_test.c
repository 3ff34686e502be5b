/* SPDX-License-Identifier: MIT */
/* proc_test - processes and threads: exit statuses, exit_group killing
 * threads that are running, sleeping or waiting, wait4's options, getppid,
 * nanosleep, inherited CPU affinity and /proc/self/status, and what a
 * zombie (exited, not reaped) still answers to.
 *
 * Every case that could disturb the parent runs in a forked child; the
 * parent checks the child's wait status. Output is the same on Linux and
 * on Pagoda (no pids, times or CPU counts are printed unless a check fails).
 */
#include "libc.h"

#define NR_getppid 110

/* Fork a child that runs fn and exits with what it returns; return the
 * child's wait status, or -1 if fork or wait4 failed. */
static int run_child(int (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0)
		exit(fn());
	if (pid < 0 || wait4(pid, &status, 0, NULL) != pid)
		return -1;
	return status;
}

static int exits_3(void) { return 3; }
static int exits_263(void) { return 256 + 7; }

static int kills_itself(void)
{
	kill(getpid(), SIGKILL);
	return 1;	/* not reached */
}

/* exit_group while the other threads spin in user mode, sleep in
 * nanosleep and wait on a futex: all of them must go, at once. */
static volatile int spinning;
static int never_changes;

static long spin(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&spinning, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__asm__ volatile("" ::: "memory");
	return 0;
}

static long sleep_long(void *arg)
{
	(void)arg;
	sleep_ns(60L * 1000000000L);
	return 1;
}

static long wait_forever(void *arg)
{
	(void)arg;
	for (;;)
		futex(&never_changes, FUTEX_WAIT, 0, NULL, NULL, 0);
	return 1;
}

static int group_exit_kills_threads(void)
{
	int n = online_cpus() > 1 ? online_cpus() - 1 : 1;

	if (n > 3)
		n = 3;
	for (int i = 0; i < n; i++)
		if (!thread_create(spin, NULL, -1))
			return 10;
	if (!thread_create(sleep_long, NULL, -1) || !thread_create(wait_forever, NULL, -1))
		return 11;
	while (READ_ONCE(spinning) < n)
		sched_yield();
	sleep_ns(20 * 1000000L);	/* let the others block */
	exit(5);			/* exit_group */
	return 12;
}

/* The main thread exits alone; the process lives on in its other thread
 * and, once that one exits too, reports the last thread's status (as
 * Linux does). */
static long exit_later(void *arg)
{
	(void)arg;
	sleep_ns(30 * 1000000L);
	exit_thread(9);
	return 0;
}

static int main_thread_exits_first(void)
{
	if (!thread_create(exit_later, NULL, -1))
		return 20;
	exit_thread(4);
	return 21;
}

static int sleeps_50ms(void)
{
	sleep_ns(50 * 1000000L);
	return 0;
}

static long report_affinity(void *arg)
{
	cpu_set_t s;

	(void)arg;
	cpu_zero(&s);
	if (sched_getaffinity(0, sizeof(s), &s) < 0)
		return -1;
	return cpu_count(&s) == 1 && cpu_isset(0, &s);
}

static long count_threads(void *arg)
{
	(void)arg;
	return proc_field("/proc/self/status", "Threads");
}

/* A child that has exited but is not reaped yet (a zombie) can still be
 * named: kill(pid, 0) and pidfd_open succeed, while process_madvise finds
 * no address space (ESRCH). Once reaped, the pid is gone: ESRCH. */
static bool zombie_is_named(void)
{
	static char page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
	pid_t pid = fork();
	if (pid == 0)
		exit(0);
	if (pid < 0)
		return false;
	int first = pidfd_open(pid, 0);
	/* The pidfd polls readable once the child has exited. */
	struct pollfd pfd = { .fd = first, .events = POLLIN };
	u64 deadline = now_ns() + 10UL * 1000 * 1000 * 1000;
	while (first >= 0 && poll(&pfd, 1, 0) == 0 && now_ns() < deadline)
		sleep_ns(1000 * 1000);
	page[0] = 1;
	struct iovec iov = { page, PAGE_SIZE };
	int second = pidfd_open(pid, 0);
	bool ok = first >= 0 && (pfd.revents & POLLIN) && kill(pid, 0) == 0 && second >= 0;
	if (!ok)
		ktap_diag("zombie: pidfd %d, revents 0x%x, second pidfd %d (%s)", first,
			  pfd.revents, second, second < 0 ? errno_name(errno) : "ok");
	if (ok && !(process_madvise(second, &iov, 1, MADV_COLD, 0) == -1 && errno == ESRCH)) {
		ktap_diag("process_madvise of a zombie: %s", errno_name(errno));
		ok = false;
	}
	int status;
	ok = ok && wait4(pid, &status, 0, NULL) == pid && WIFEXITED(status);
	ok = ok && pidfd_open(pid, 0) == -1 && errno == ESRCH;
	ok = ok && kill(pid, 0) == -1 && errno == ESRCH;
	if (first >= 0)
		close(first);
	if (second >= 0)
		close(second);
	return ok;
}

int main(void)
{
	int status, st;
	pid_t me = getpid(), pid;
	u64 t0;

	ktap_plan(11);

	status = run_child(exits_3);
	ktap_ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 3,
		"exit(3) gives WIFEXITED with status 3");
	status = run_child(exits_263);
	ktap_ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 7,
		"exit(263) keeps the low 8 bits: 7");
	status = run_child(kills_itself);
	if (!ktap_ok(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		     "kill(self, SIGKILL) gives WIFSIGNALED with SIGKILL"))
		ktap_diag("status 0x%x", status);

	t0 = now_ns();
	status = run_child(group_exit_kills_threads);
	if (!ktap_ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 5 &&
		     now_ns() - t0 < 30 * 1000000000UL,
		     "exit_group ends spinning, sleeping and waiting threads"))
		ktap_diag("status 0x%x after %lu ms", status, (unsigned long)((now_ns() - t0) / 1000000));

	status = run_child(main_thread_exits_first);
	if (!ktap_ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 9,
		     "the main thread exits first: the last thread's status counts"))
		ktap_diag("status 0x%x", status);

	pid = fork();
	if (pid == 0)
		exit(sleeps_50ms());
	st = (int)wait4(pid, &status, WNOHANG, NULL);
	{
		bool ok = pid > 0 && st == 0;

		ok = ok && wait4(pid, &status, 0, NULL) == pid && WIFEXITED(status);
		ktap_ok(ok, "wait4 with WNOHANG returns 0 while the child runs");
	}
	ktap_ok(wait4(-1, &status, 0, NULL) == -1 && errno == ECHILD,
		"wait4 with no children fails with ECHILD");

	pid = fork();
	if (pid == 0)
		exit(raw_syscall0(NR_getppid) == me ? 0 : 1);
	ktap_ok(pid > 0 && wait4(pid, &status, 0, NULL) == pid && WIFEXITED(status) &&
		WEXITSTATUS(status) == 0, "getppid in the child is the parent's pid");

	t0 = now_ns();
	sleep_ns(30 * 1000000L);
	if (!ktap_ok(now_ns() - t0 >= 30 * 1000000UL, "nanosleep of 30 ms sleeps at least 30 ms"))
		ktap_diag("slept %lu us", (unsigned long)((now_ns() - t0) / 1000));

	ktap_ok(zombie_is_named(),
		"a zombie: kill(pid, 0) and pidfd_open succeed, process_madvise ESRCH; reaped: ESRCH");

	/* A thread created by a thread pinned to CPU 0 starts pinned there,
	 * and /proc/self/status counts the threads. */
	{
		struct uthread *t1, *t2;
		long pinned = -2, threads = -2;

		if (pin_to_cpu(0) == 0 && (t1 = thread_create(report_affinity, NULL, -1))) {
			pinned = thread_join(t1);
			t2 = thread_create(count_threads, NULL, -1);
			if (t2)
				threads = thread_join(t2);
		}
		/* At least 2: on Linux a joined thread may be counted a
		 * little longer (its tid word is cleared before it is gone). */
		if (!ktap_ok(pinned == 1 && threads >= 2,
			     "a new thread inherits the CPU affinity; status counts the threads"))
			ktap_diag("pinned %ld, threads %ld", pinned, threads);
	}
	return ktap_finish();
}
