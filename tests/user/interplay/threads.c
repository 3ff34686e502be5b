/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/threads.c - the threads pinned to CPUs, the userfaultfd handler and the fork child
 * (docs/testing-mm.md, "The interplay tester"). */
#include "interplay.h"

/* ------------------------------------------------------------------ */
/* threads pinned to CPUs: each runs the reads and writes given to it  */
/* ------------------------------------------------------------------ */

static struct worker workers[MAX_CPUS];

void futex_wait_change(int *word, int seen)
{
	raw_syscall6(__NR_futex, (long)word, FUTEX_WAIT, seen, 0, 0, 0);
}

void futex_wake_all(int *word)
{
	raw_syscall6(__NR_futex, (long)word, FUTEX_WAKE, 1 << 30, 0, 0, 0);
}

/* Run a job here, on the calling thread's CPU. */
static void do_job(struct job *j)
{
	j->ok = true;
	for (int i = 0; i < j->n && j->ok; i++) {
		if (j->kind == JOB_WRITE)
			write_page(j->e[i].addr, j->e[i].key, j->e[i].gen);
		else
			j->ok = check_page(&j->e[i], j->msg, sizeof(j->msg));
	}
}

static long worker_main(void *arg)
{
	struct worker *w = arg;
	int seen = 0;
	for (;;) {
		int seq;
		/* Spin a while before sleeping: a sleeping thread's CPU runs
		 * something else, which may flush the TLB this tester wants to
		 * see kept (op_retouch). */
		for (int spin = 0; spin < 200000 && READ_ONCE(w->seq) == seen; spin++)
			__asm__ volatile("pause");
		while ((seq = READ_ONCE(w->seq)) == seen)
			futex_wait_change(&w->seq, seen);
		seen = seq;
		if (w->job.kind == JOB_STOP)
			break;
		do_job(&w->job);
		__atomic_store_n(&w->done, seq, __ATOMIC_RELEASE);
		futex_wake_all(&w->done);
	}
	return 0;
}

/* Hand j to the thread of cpu (not 0) and return at once. */
void job_start(int cpu, const struct job *j)
{
	struct worker *w = &workers[cpu];
	w->job = *j;
	__atomic_store_n(&w->seq, w->seq + 1, __ATOMIC_RELEASE);
	futex_wake_all(&w->seq);
}

/* Wait for the job posted to cpu; its result into j. */
void job_wait(int cpu, struct job *j)
{
	struct worker *w = &workers[cpu];
	int seq = w->seq, d;
	u64 deadline = now_ns() + 20UL * 1000 * 1000 * 1000;
	while ((d = READ_ONCE(w->done)) != seq) {
		struct timespec ts = { 1, 0 };
		raw_syscall6(__NR_futex, (long)&w->done, FUTEX_WAIT, d, (long)&ts, 0, 0);
		if (now_ns() > deadline) {
			fail("the thread on cpu %d did not finish its %s within 20 s", cpu,
			     j->kind == JOB_WRITE ? "writes" : "reads");
			abort_run();
		}
	}
	j->ok = w->job.ok;
	memcpy(j->msg, w->job.msg, sizeof(j->msg));
}

/* Hand j to the thread of cpu (CPU 0 is the main thread itself) and wait. */
void run_job_on(int cpu, struct job *j)
{
	if (cpu == 0) {
		do_job(j);
		return;
	}
	job_start(cpu, j);
	job_wait(cpu, j);
}

void start_workers(void)
{
	for (int c = 1; c < ncpus; c++) {
		workers[c] = (struct worker){ .cpu = c };
		workers[c].t = thread_create(worker_main, &workers[c], c);
		if (!workers[c].t)
			ktap_bail("thread_create: %s", errno_name(errno));
	}
}

void stop_workers(void)
{
	for (int c = 1; c < ncpus; c++) {
		struct job j = { .kind = JOB_STOP };
		struct worker *w = &workers[c];
		w->job = j;
		__atomic_store_n(&w->seq, w->seq + 1, __ATOMIC_RELEASE);
		futex_wake_all(&w->seq);
		thread_join(w->t);
	}
}

/* ------------------------------------------------------------------ */
/* userfaultfd: one file per run, a handler thread for sync mode        */
/* ------------------------------------------------------------------ */

int uffd = -1;
bool have_markers, have_async, uffd_async;
struct uthread *handler;
static int handler_stop;
long handler_faults;

int uffd_call(unsigned long cmd, void *arg)
{
	return ioctl(uffd, cmd, arg) < 0 ? -errno : 0;
}

int wp_range(int fd, u64 start, u64 len, u64 mode)
{
	struct uffdio_writeprotect w = { .range = { start, len }, .mode = mode };
	return ioctl(fd, UFFDIO_WRITEPROTECT, &w) < 0 ? -errno : 0;
}

/* Sync mode: a writer sleeps on a protected page until this thread, told by
 * the message, unprotects that page (mode 0 wakes it). */
static long handler_main(void *arg)
{
	(void)arg;
	while (!READ_ONCE(handler_stop)) {
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		struct uffd_msg m;
		if (read(uffd, &m, sizeof(m)) != (ssize_t)sizeof(m))
			continue;
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		u64 page = m.arg.pagefault.address & ~(PAGE_SIZE - 1);
		/* Counted before the unprotect wakes the writer, whose thread
		 * looks at the count as soon as its write is done. */
		__atomic_add_fetch(&handler_faults, 1, __ATOMIC_RELAXED);
		int r = wp_range(uffd, page, PAGE_SIZE, 0);
		if (r)
			fail("handler: unprotect 0x%lx: %s", (unsigned long)page, errno_name(-r));
	}
	return 0;
}

/* Open the run's userfaultfd: markers where the kernel has them, async mode
 * for odd seeds where it has that. */
void uffd_setup(u64 seed)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = userfaultfd(O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0)
		ktap_bail("userfaultfd: %s", errno_name(errno));
	have_markers = api.features & UFFD_FEATURE_WP_UNPOPULATED;
	have_async = api.features & UFFD_FEATURE_WP_ASYNC;
	close(fd);
	u64 want = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
	if (have_markers)
		want |= UFFD_FEATURE_WP_UNPOPULATED;
	uffd_async = have_async && (seed & 1);
	if (uffd_async)
		want |= UFFD_FEATURE_WP_ASYNC;
	uffd = uffd_open(want, NULL);
	handler_stop = 0;
	handler_faults = 0;
	if (!uffd_async) {
		handler = thread_create(handler_main, NULL, ncpus - 1);
		if (!handler)
			ktap_bail("thread_create: %s", errno_name(errno));
	}
}

void uffd_teardown(void)
{
	if (handler) {
		WRITE_ONCE(handler_stop, 1);
		thread_join(handler);
		handler = NULL;
	}
	close(uffd);
	uffd = -1;
}

/* ------------------------------------------------------------------ */
/* the fork child: a process that checks, writes and advises on command */
/* ------------------------------------------------------------------ */

struct ctl *ctl;
int child_deaths;	/* interplay.child_dies: commands that ended the child */		/* MAP_SHARED: seen by parent and child */
void *child_stack;	/* mapped once per runner, reused by each child */

/* Let another thread or process run: parent and child share CPU 0, so a
 * yield hands it over at once, where a sleep would last a whole timer tick
 * (10 ms on Pagoda). After many yields, sleep: the other side may be slow. */
void pause_briefly(unsigned *spins)
{
	if (++*spins < 2000)
		sched_yield();
	else
		sleep_ns(1000 * 1000);
}

static void wait_word(int *word, int want, u64 deadline_ns, bool *timed_out)
{
	unsigned spins = 0;
	while (__atomic_load_n(word, __ATOMIC_ACQUIRE) != want) {
		if (deadline_ns && now_ns() > deadline_ns) {
			*timed_out = true;
			return;
		}
		pause_briefly(&spins);
	}
}

/* arg: the runner's pid. A runner killed (under fault injection, by the
 * out-of-memory path) sends no more commands: the child then goes too, or
 * it would spin on forever, orphaned, and its pages would never come back. */
long child_main(void *arg)
{
	pid_t runner = (pid_t)(long)arg;
	int seen = 0;
	for (;;) {
		unsigned spins = 0;
		while (__atomic_load_n(&ctl->seq, __ATOMIC_ACQUIRE) == seen) {
			if (getppid() != runner)
				exit(0);
			pause_briefly(&spins);
		}
		seen = ctl->seq;
		struct job j = { .kind = ctl->cmd == CMD_WRITE ? JOB_WRITE : JOB_READ, .n = ctl->n };
		ctl->ok = true;
		ctl->result = 0;
		if (ctl->die && ctl->cmd != CMD_CHECK && ctl->cmd != CMD_WRITE)
			kill(getpid(), SIGKILL);
		if (ctl->cmd == CMD_CHECK || ctl->cmd == CMD_WRITE) {
			memcpy(j.e, ctl->e, sizeof(j.e[0]) * (size_t)j.n);
			if (ctl->die) {
				/* Half the pages, then the end an out-of-memory
				 * kill would bring in the middle of the job. */
				j.n /= 2;
				do_job(&j);
				kill(getpid(), SIGKILL);
			}
			do_job(&j);
			ctl->ok = j.ok;
			memcpy(ctl->msg, j.msg, sizeof(ctl->msg));
		} else if (ctl->cmd == CMD_MADVISE) {
			ctl->result = madvise((void *)ctl->addr, ctl->len, ctl->advice) ? -errno : 0;
		} else if (ctl->cmd == CMD_MUNMAP) {
			ctl->result = munmap((void *)ctl->addr, ctl->len) ? -errno : 0;
		} else if (ctl->cmd == CMD_MPROTECT) {
			ctl->result = mprotect((void *)ctl->addr, ctl->len, ctl->advice) ? -errno : 0;
		}
		int cmd = ctl->cmd;
		__atomic_store_n(&ctl->ack, seen, __ATOMIC_RELEASE);
		if (cmd == CMD_EXIT)
			return 0;
	}
}

/* Under fault injection the kernel may kill the child whenever a fault of
 * its finds no page, and a call on it then fails with ESRCH. True when the
 * child has indeed ended by SIGKILL (it is reaped here; its exit may take
 * a moment to finish, so we wait up to 60 s); false for a child that lives
 * on or ended otherwise. */
bool child_was_killed(void)
{
	if (!child_kill_allowed() || !child_alive)
		return false;
	u64 deadline = now_ns() + 60UL * 1000 * 1000 * 1000;
	unsigned spins = 0;
	int status;
	pid_t r;
	while ((r = wait4(child_pid, &status, WNOHANG, NULL)) == 0 && now_ns() < deadline)
		pause_briefly(&spins);
	if (r != child_pid)
		return false;
	child_alive = false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/* May the fork child end by SIGKILL? Under fault injection (the kernel's
 * out-of-memory path), and with interplay.child_dies, which kills it on
 * purpose to test the tester's side of that: every operation that talks to
 * the child must cope with its end at any command. */
bool child_kill_allowed(void)
{
	return prm.faultinject || prm.child_dies;
}

/* interplay.child_dies=N: does the child die at this command? Decided from
 * the seed, the operation's index and the call's number within it, so a
 * reproducer (a subset of the operations) dies at the same places. */
static bool child_dies_now(void)
{
	static int op = -2, nth;
	if (!prm.child_dies)
		return false;
	nth = op == cur_op ? nth + 1 : 0;
	op = cur_op;
	u64 h = mix(cur_seed ^ ((u64)(u32)cur_op << 20) ^ (u64)nth);
	bool die = h % prm.child_dies == 0;
	child_deaths += die;
	return die;
}

/* Post the command in ctl and wait for the child's answer; a child that
 * died or does not answer within 60 s is a failure. */
bool child_call(int cmd)
{
	/* An operation that calls the child twice must look again in
	 * between: the first call may have ended it. */
	if (!child_alive) {
		fail("tester: command %d for a fork child that has already ended", cmd);
		return false;
	}
	ctl->cmd = cmd;
	ctl->die = child_dies_now();
	int seq = ctl->seq + 1;
	__atomic_store_n(&ctl->seq, seq, __ATOMIC_RELEASE);
	bool timed_out = false;
	u64 deadline = now_ns() + 60UL * 1000 * 1000 * 1000;
	while (!timed_out && __atomic_load_n(&ctl->ack, __ATOMIC_ACQUIRE) != seq) {
		int status;
		pid_t r = wait4(child_pid, &status, WNOHANG, NULL);
		if (r < 0) {
			fail("wait4(child) during command %d: %s", cmd, errno_name(errno));
			return false;
		}
		if (r == child_pid) {
			child_alive = false;
			/* With allocations failing on purpose, the kernel may kill
			 * a process whose fault found no page: a clean end. */
			if (child_kill_allowed() && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
				return false;
			fail("the fork child died (status 0x%x) during command %d", status, cmd);
			return false;
		}
		wait_word(&ctl->ack, seq, now_ns() + 100UL * 1000 * 1000, &timed_out);
		timed_out = now_ns() > deadline;
	}
	if (timed_out) {
		fail("the fork child did not answer command %d within 60 s", cmd);
		abort_run();
	}
	if (!ctl->ok)
		fail("in the fork child: %s", ctl->msg);
	return ctl->ok;
}
