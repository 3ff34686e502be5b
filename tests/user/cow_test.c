/* SPDX-License-Identifier: MIT */
/* cow_test - what fork promises about private memory, whether the kernel
 * copies it at fork or shares it read-only and copies on the first write.
 *
 * After fork, parent and child each have their own copy of every private
 * page: a write by one is never seen by the other, in either direction,
 * at any depth of forking, from any CPU, and whatever mprotect, munmap or
 * MADV_DONTNEED does afterwards on either side. Shared mappings stay
 * shared. A page that was only read (the zero page) reads zero until this
 * process writes it.
 *
 * The hardest case is a fork while another thread of the parent keeps
 * writing: the child's copy is the memory as it was while fork ran, so it
 * must stop changing once fork has returned in the parent, hold nothing
 * the parent wrote later, and the writing thread must lose no write. A
 * kernel that write-protects the parent's entries but does not flush the
 * other CPUs' TLBs before fork returns lets the writer go on writing the
 * page the child now maps; this test sees that.
 *
 * Processes talk through one MAP_SHARED anonymous page (flags polled with
 * a short sleep, every wait bounded) and exit statuses: a child exits 0
 * when all its checks passed, or with a number saying which failed. The
 * output is the same on Linux and on Pagoda and does not depend on the
 * number of CPUs, unless a check fails.
 *
 * A 2 MiB page (THP) cut in two by a VMA boundary (UFFDIO_REGISTER or
 * mprotect of half of it) must be copied once by fork, not once per VMA:
 * after the rounds, /proc/meminfo's AnonHugePages is back where it began.
 */
#include "libc.h"
#include "uffd.h"

#define WAIT_LIMIT_NS (20L * 1000 * 1000 * 1000)	/* any wait: 20 s */
#define POLL_NS (200L * 1000)				/* 0.2 ms */
#define MAX_CHILDREN 16		/* the every-CPU test forks at most this many */
#define CHAIN_DEPTH 3		/* child, grandchild, great-grandchild */
#define WRITER_ROUNDS 10	/* forks during the concurrent writer test */
#define BIG_PAGES 4096		/* 16 MiB */
#define LINE 64			/* patterns are written one word per cache line */
#define HUGE (2UL << 20)	/* one 2 MiB page */
#define SPLIT_ROUNDS 8		/* forks of a THP cut by a VMA boundary */

/* The page the processes share. Each test clears it before it forks. */
struct shared {
	volatile int flag[8];		/* per-test handshakes */
	volatile int done[MAX_CHILDREN];
	volatile u64 value[8];		/* results a child reports */
	volatile long bad_offset;	/* where a child saw a wrong value */
};

static struct shared *sh;

/* --- patterns --- */

/* The word at byte offset off of a region filled with seed: different for
 * every seed and every line, never zero. */
static u64 pattern(u64 seed, unsigned long off)
{
	return (seed << 48) ^ (off * 0x9e3779b97f4a7c15UL) ^ (seed * 0x5851f42d4c957f2dUL) ^ 1;
}

static void fill(void *buf, unsigned long npages, u64 seed)
{
	for (unsigned long off = 0; off < npages * PAGE_SIZE; off += LINE)
		*(volatile u64 *)((u8 *)buf + off) = pattern(seed, off);
}

/* Byte offset of the first line that does not hold seed's pattern, or -1. */
static long check(const void *buf, unsigned long npages, u64 seed)
{
	for (unsigned long off = 0; off < npages * PAGE_SIZE; off += LINE)
		if (*(const volatile u64 *)((const u8 *)buf + off) != pattern(seed, off))
			return (long)off;
	return -1;
}

/* Byte offset of the first non-zero word, or -1. */
static long check_zero(const void *buf, unsigned long npages)
{
	for (unsigned long off = 0; off < npages * PAGE_SIZE; off += sizeof(u64))
		if (*(const volatile u64 *)((const u8 *)buf + off))
			return (long)off;
	return -1;
}

/* --- processes --- */

static void *map_private(unsigned long npages)
{
	void *p = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Wait until *flag == want; false after WAIT_LIMIT_NS. */
static bool wait_flag(volatile int *flag, int want)
{
	u64 t0 = now_ns();

	while (*flag != want) {
		if (now_ns() - t0 > WAIT_LIMIT_NS)
			return false;
		sleep_ns(POLL_NS);
	}
	return true;
}

/* Reap one child: its exit code (0 = every check passed), or 1000 plus the
 * wait status when it did not exit normally, or -1 if wait4 failed. */
static int reap(pid_t pid)
{
	int status = 0;

	if (pid <= 0 || wait4(pid, &status, 0, NULL) != pid)
		return -1;
	if (!WIFEXITED(status))
		return 1000 + status;
	return WEXITSTATUS(status);
}

static void reset_shared(void)
{
	memset((void *)sh, 0, sizeof(*sh));
	sh->bad_offset = -1;
}

/* Report a test whose checks were made by a child (code) and the parent
 * (parent_bad: byte offset of a wrong line, or -1). */
static bool report(const char *name, int code, long parent_bad)
{
	bool ok = code == 0 && parent_bad < 0;

	if (!ktap_ok(ok, "%s", name)) {
		if (code)
			ktap_diag("child exit code %d (child's bad offset %ld)", code,
				  sh->bad_offset);
		if (parent_bad >= 0)
			ktap_diag("parent: wrong value at byte offset %ld", parent_bad);
	}
	return ok;
}

/* --- 1, 2: isolation both ways --- */

#define SMALL_PAGES 8

static void test_child_writes(void)
{
	u8 *buf = map_private(SMALL_PAGES);
	long bad = -1;
	int code;
	pid_t pid;

	if (!buf)
		ktap_bail("mmap: %s", errno_name(errno));
	reset_shared();
	fill(buf, SMALL_PAGES, 1);
	pid = fork();
	if (pid == 0) {
		if (check(buf, SMALL_PAGES, 1) >= 0)
			exit(1);	/* the child did not get the parent's data */
		fill(buf, SMALL_PAGES, 2);
		if ((sh->bad_offset = check(buf, SMALL_PAGES, 2)) >= 0)
			exit(2);	/* its own write did not stick */
		exit(0);
	}
	code = reap(pid);
	bad = check(buf, SMALL_PAGES, 1);
	/* Once the child is gone the parent's pages are its alone: writing
	 * them must work (Linux reuses them in place). */
	if (bad < 0) {
		fill(buf, SMALL_PAGES, 3);
		bad = check(buf, SMALL_PAGES, 3);
	}
	report("the child writes after fork: the parent's copy is unchanged", code, bad);
	munmap(buf, SMALL_PAGES * PAGE_SIZE);
}

static void test_parent_writes(void)
{
	u8 *buf = map_private(SMALL_PAGES);
	long bad;
	int code;
	pid_t pid;

	if (!buf)
		ktap_bail("mmap: %s", errno_name(errno));
	reset_shared();
	fill(buf, SMALL_PAGES, 4);
	pid = fork();
	if (pid == 0) {
		if (!wait_flag(&sh->flag[0], 1))
			exit(10);	/* the parent never said it wrote */
		if ((sh->bad_offset = check(buf, SMALL_PAGES, 4)) >= 0)
			exit(11);	/* the parent's write reached the child */
		fill(buf, SMALL_PAGES, 6);	/* and the child can still write */
		if ((sh->bad_offset = check(buf, SMALL_PAGES, 6)) >= 0)
			exit(12);
		exit(0);
	}
	fill(buf, SMALL_PAGES, 5);
	bad = check(buf, SMALL_PAGES, 5);
	sh->flag[0] = 1;
	code = reap(pid);
	if (bad < 0)
		bad = check(buf, SMALL_PAGES, 5);
	report("the parent writes after fork: the child's copy is unchanged", code, bad);
	munmap(buf, SMALL_PAGES * PAGE_SIZE);
}

/* --- 3: a chain of forks --- */

/* In the process at this level, whose buffer holds seed 10 + level: fork
 * the next level, then overwrite our copy with 110 + level. The child
 * waits for that write, must still see 10 + level, writes 10 + level + 1
 * and goes on down. After the child is done, our copy must still hold
 * 110 + level. Returns 0, or a code saying which check failed where. */
static int chain_level(u8 *buf, int level)
{
	int code;
	pid_t pid;

	if (level == CHAIN_DEPTH)	/* the last one: still our own value? */
		return check(buf, SMALL_PAGES, 10 + level) >= 0 ? 40 + level : 0;
	pid = fork();
	if (pid == 0) {
		int next = level + 1;

		if (!wait_flag(&sh->flag[level], 1))
			exit(20 + next);
		if (check(buf, SMALL_PAGES, 10 + level) >= 0)
			exit(30 + next);	/* the parent's later write showed */
		fill(buf, SMALL_PAGES, 10 + next);
		/* chain_level checks our copy again once the levels below
		 * have written theirs. */
		exit(chain_level(buf, next));
	}
	if (pid < 0)
		return 50 + level;
	fill(buf, SMALL_PAGES, 110 + level);
	sh->flag[level] = 1;
	code = reap(pid);
	if (code)
		return code;
	if (check(buf, SMALL_PAGES, 110 + level) >= 0)
		return 60 + level;
	return 0;
}

static void test_chain(void)
{
	u8 *buf = map_private(SMALL_PAGES);

	if (!buf)
		ktap_bail("mmap: %s", errno_name(errno));
	reset_shared();
	fill(buf, SMALL_PAGES, 10);
	report("a chain of forks: each level writes and verifies, three deep",
	       chain_level(buf, 0), -1);
	munmap(buf, SMALL_PAGES * PAGE_SIZE);
}

/* --- 4: children on every CPU --- */

#define CPU_PAGES 32

static int allowed_cpus(int *cpus, int max)
{
	cpu_set_t mask;
	int n = 0;

	cpu_zero(&mask);
	if (sched_getaffinity(0, sizeof(mask), &mask) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (cpu_isset(c, &mask))
			cpus[n++] = c;
	return n;
}

static void restore_affinity(const int *cpus, int n)
{
	cpu_set_t mask;

	cpu_zero(&mask);
	for (int i = 0; i < n; i++)
		cpu_set(cpus[i], &mask);
	sched_setaffinity(0, sizeof(mask), &mask);
}

static void test_every_cpu(void)
{
	int cpus[MAX_CHILDREN], n = allowed_cpus(cpus, MAX_CHILDREN), code = 0;
	pid_t pids[MAX_CHILDREN];
	u8 *buf = map_private(CPU_PAGES);
	long bad = -1;

	if (!buf)
		ktap_bail("mmap: %s", errno_name(errno));
	if (n == 0)
		ktap_bail("sched_getaffinity: %s", errno_name(errno));
	reset_shared();
	fill(buf, CPU_PAGES, 200);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			u64 seed = 201 + i;

			if (pin_to_cpu(cpus[i]) < 0)
				exit(70);
			if (!wait_flag(&sh->flag[0], 1))
				exit(71);
			if (check(buf, CPU_PAGES, 200) >= 0)
				exit(72);	/* not the parent's data of fork time */
			fill(buf, CPU_PAGES, seed);
			/* Look again while the others and the parent write. */
			for (int r = 0; r < 5; r++) {
				if ((sh->bad_offset = check(buf, CPU_PAGES, seed)) >= 0)
					exit(73);
				sched_yield();
			}
			sh->done[i] = 1;
			/* Stay until the parent has written and checked, so
			 * that every copy is alive at once. */
			if (!wait_flag(&sh->flag[1], 1))
				exit(74);
			if ((sh->bad_offset = check(buf, CPU_PAGES, seed)) >= 0)
				exit(75);
			exit(0);
		}
		if (pids[i] < 0)
			ktap_bail("fork: %s", errno_name(errno));
	}
	sh->flag[0] = 1;
	fill(buf, CPU_PAGES, 300);
	/* Check our copy while the children write theirs. */
	for (int i = 0; i < n && bad < 0; i++) {
		u64 t0 = now_ns();

		while (bad < 0 && !sh->done[i] && now_ns() - t0 < WAIT_LIMIT_NS) {
			bad = check(buf, CPU_PAGES, 300);
			sleep_ns(POLL_NS);
		}
	}
	if (bad < 0)
		bad = check(buf, CPU_PAGES, 300);
	sh->flag[1] = 1;
	for (int i = 0; i < n; i++) {
		int c = reap(pids[i]);

		if (c && !code)
			code = c;
	}
	if (!report("children pinned to every CPU write their copies; the parent's holds", code, bad))
		ktap_diag("%d CPUs", n);
	munmap(buf, CPU_PAGES * PAGE_SIZE);
}

/* --- 5: fork while another thread writes --- */

/* The writer's page: word 0 is its counter, word 8 (its own cache line)
 * the main thread's marker. */
struct writer {
	volatile u64 *page;
	volatile int stop;
	u64 last;		/* the last value it wrote */
	struct uthread *t;
	long result;		/* thread_join's: 1, or a failed pin */
};

static long writer_main(void *arg)
{
	struct writer *w = arg;
	u64 i = 0;

	while (!READ_ONCE(w->stop))
		w->page[0] = ++i;
	w->last = i;
	return 1;
}

/* Stop the writer and wait for it (once). */
static void stop_writer(struct writer *w)
{
	if (!w->t)
		return;
	w->stop = 1;
	w->result = thread_join(w->t);
	w->t = NULL;
}

/* The child's checks; 0 or a code. */
static int writer_child(volatile u64 *page)
{
	u64 first = page[0];

	sh->value[0] = first;
	if (!wait_flag(&sh->flag[0], 1))
		return 80;
	for (int r = 0; r < 10; r++) {
		if (page[0] != first) {
			sh->value[1] = page[0];
			return 81;	/* the child's copy changed */
		}
		sleep_ns(2 * 1000 * 1000);
	}
	sh->value[2] = page[8];
	if (page[8] != 0)
		return 82;	/* the parent's marker showed */
	return 0;
}

/* One fork; returns 0 or a code. The child reads its copy of the counter
 * right away and over ~20 ms, and reports what it saw. It then waits for
 * the parent's word to exit: when it saw the writer's stores, the writer
 * is stopped first, since the page it writes through a stale TLB entry is
 * the one the child's exit would free. */
static int writer_round(struct writer *w, int round, u64 *seen_at_fork)
{
	volatile u64 *page = w->page;
	u64 before = page[0], at_return;
	pid_t pid;
	int code;

	reset_shared();
	page[8] = 0;
	pid = fork();
	if (pid == 0) {
		code = writer_child(page);
		sh->value[3] = (u64)code;
		sh->flag[1] = 1;
		if (!wait_flag(&sh->flag[2], 1) && !code)
			code = 79;
		exit(code);
	}
	at_return = page[0];
	if (pid < 0)
		return 83;
	page[8] = 1000 + round;		/* a write of this thread's own */
	sh->flag[0] = 1;
	if (!wait_flag(&sh->flag[1], 1) || sh->value[3])
		stop_writer(w);
	sh->flag[2] = 1;
	code = reap(pid);
	*seen_at_fork = at_return;
	if (code) {
		ktap_diag("round %d: counter %lu before fork, %lu at return; child saw %lu then %lu",
			  round, (unsigned long)before, (unsigned long)at_return,
			  (unsigned long)sh->value[0], (unsigned long)sh->value[1]);
		return code;
	}
	/* The child's copy was taken while fork ran. */
	if (sh->value[0] < before || sh->value[0] > at_return) {
		ktap_diag("round %d: child saw %lu, not within [%lu, %lu]", round,
			  (unsigned long)sh->value[0], (unsigned long)before,
			  (unsigned long)at_return);
		return 84;
	}
	if (page[8] != 1000 + (u64)round)
		return 85;	/* the parent lost its own write */
	return 0;
}

static void test_concurrent_writer(void)
{
	int cpus[2], n = allowed_cpus(cpus, 2), code = 0, all[MAX_CHILDREN];
	int nall = allowed_cpus(all, MAX_CHILDREN);
	volatile u64 *page = map_private(1);
	struct writer w = { 0 };
	u64 at_fork = 0, advanced = 0, t0;

	if (!page)
		ktap_bail("mmap: %s", errno_name(errno));
	/* The main thread on one CPU, the writer on another (or anywhere on
	 * a single CPU: the test then still checks the copy, not the flush). */
	if (n >= 2 && pin_to_cpu(cpus[0]) < 0)
		ktap_bail("pin: %s", errno_name(errno));
	/* Write the page first, so that it is a real page before the writer
	 * starts (replacing a zero page has a flush of its own to get right;
	 * this test is about fork's). */
	page[0] = 0;
	w.page = page;
	w.t = thread_create(writer_main, &w, n >= 2 ? cpus[1] : -1);
	if (!w.t)
		ktap_bail("thread_create: %s", errno_name(errno));
	t0 = now_ns();
	while (page[0] == 0 && now_ns() - t0 < WAIT_LIMIT_NS)
		sched_yield();
	if (page[0] == 0)
		code = 86;	/* the writer never started */
	for (int r = 0; r < WRITER_ROUNDS && !code; r++) {
		code = writer_round(&w, r, &at_fork);
		/* The writer must keep going after fork (its next write is
		 * the one that takes a copy-on-write fault). */
		t0 = now_ns();
		while (!code && page[0] == at_fork && now_ns() - t0 < WAIT_LIMIT_NS)
			sched_yield();
		if (!code && page[0] == at_fork)
			code = 87;
		if (!code)
			advanced++;
	}
	stop_writer(&w);
	if (!code && w.result != 1)
		code = 88;	/* the writer could not be pinned */
	if (!code && page[0] != w.last) {
		ktap_diag("the writer's last value %lu, its page holds %lu",
			  (unsigned long)w.last, (unsigned long)page[0]);
		code = 89;	/* a write was lost */
	}
	restore_affinity(all, nall);
	if (!report("fork while another thread writes: the child's copy is frozen at fork, no write lost",
		    code, -1))
		ktap_diag("%lu rounds done", (unsigned long)advanced);
	munmap((void *)page, PAGE_SIZE);
}

/* --- 6: the zero page --- */

static void test_zero_page(void)
{
	u8 *buf = map_private(SMALL_PAGES);
	long bad;
	int code;
	pid_t pid;

	if (!buf)
		ktap_bail("mmap: %s", errno_name(errno));
	reset_shared();
	/* Read every page: each is mapped to the shared zero page. */
	bad = check_zero(buf, SMALL_PAGES);
	pid = fork();
	if (pid == 0) {
		/* Write the first half, leave the second half read-only zero. */
		fill(buf, SMALL_PAGES / 2, 7);
		if ((sh->bad_offset = check(buf, SMALL_PAGES / 2, 7)) >= 0)
			exit(90);	/* its write did not read back */
		sh->flag[0] = 1;
		if (!wait_flag(&sh->flag[1], 1))
			exit(91);
		if ((sh->bad_offset = check(buf, SMALL_PAGES / 2, 7)) >= 0)
			exit(92);	/* the parent's write showed here */
		if ((sh->bad_offset = check_zero(buf + SMALL_PAGES / 2 * PAGE_SIZE,
						 SMALL_PAGES / 2)) >= 0)
			exit(93);	/* ... or in the pages left at zero */
		exit(0);
	}
	if (bad < 0 && !wait_flag(&sh->flag[0], 1))
		bad = 0;
	if (bad < 0)
		bad = check_zero(buf, SMALL_PAGES);	/* the child's write is not ours */
	if (bad < 0) {
		fill(buf, SMALL_PAGES, 8);
		bad = check(buf, SMALL_PAGES, 8);
	}
	sh->flag[1] = 1;
	code = reap(pid);
	report("zero page, then fork: a write on one side reads back there, zero on the other",
	       code, bad);
	munmap(buf, SMALL_PAGES * PAGE_SIZE);
}

/* --- 7: MAP_SHARED stays shared --- */

static void test_shared(void)
{
	u8 *buf = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long bad = -1;
	int code;
	pid_t pid;

	if (buf == MAP_FAILED)
		ktap_bail("mmap shared: %s", errno_name(errno));
	reset_shared();
	fill(buf, 4, 20);
	pid = fork();
	if (pid == 0) {
		if ((sh->bad_offset = check(buf, 4, 20)) >= 0)
			exit(100);
		fill(buf, 4, 21);
		sh->flag[0] = 1;
		if (!wait_flag(&sh->flag[1], 1))
			exit(101);
		if ((sh->bad_offset = check(buf, 4, 22)) >= 0)
			exit(102);	/* the parent's write did not reach us */
		exit(0);
	}
	if (!wait_flag(&sh->flag[0], 1))
		bad = 0;
	if (bad < 0)
		bad = check(buf, 4, 21);	/* the child's write reached us */
	fill(buf, 4, 22);
	sh->flag[1] = 1;
	code = reap(pid);
	report("MAP_SHARED anonymous memory stays shared across fork, both ways", code, bad);
	munmap(buf, 4 * PAGE_SIZE);
}

/* --- 8, 9: munmap and MADV_DONTNEED on one side --- */

#define DROP_PAGES 16

/* Pages 0-3 unmapped, 4-7 dropped (must read zero), 8-15 kept. */
static long drop_and_check(u8 *buf, u64 seed)
{
	long bad;

	if (munmap(buf, 4 * PAGE_SIZE) < 0 ||
	    madvise(buf + 4 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_DONTNEED) < 0)
		return 0;
	bad = check_zero(buf + 4 * PAGE_SIZE, 4);
	if (bad >= 0)
		return 4 * PAGE_SIZE + bad;
	bad = check(buf + 8 * PAGE_SIZE, 8, seed + 1);
	if (bad >= 0)
		return 8 * PAGE_SIZE + bad;
	return -1;
}

/* Pages 8-15 of a DROP_PAGES region filled with seed hold seed + 1's
 * pattern at their own offsets (so drop_and_check can check them alone). */
static void fill_drop(u8 *buf, u64 seed)
{
	fill(buf, 8, seed);
	fill(buf + 8 * PAGE_SIZE, 8, seed + 1);
}

static long check_drop(const u8 *buf, u64 seed)
{
	long bad = check(buf, 8, seed);

	if (bad >= 0)
		return bad;
	bad = check(buf + 8 * PAGE_SIZE, 8, seed + 1);
	return bad >= 0 ? (long)(8 * PAGE_SIZE) + bad : -1;
}

static void test_child_drops(void)
{
	u8 *buf = map_private(DROP_PAGES);
	long bad;
	int code;
	pid_t pid;

	if (!buf)
		ktap_bail("mmap: %s", errno_name(errno));
	reset_shared();
	fill_drop(buf, 30);
	pid = fork();
	if (pid == 0) {
		if ((sh->bad_offset = drop_and_check(buf, 30)) >= 0)
			exit(110);
		sh->flag[0] = 1;
		/* Stay alive while the parent checks. */
		if (!wait_flag(&sh->flag[1], 1))
			exit(111);
		exit(0);
	}
	bad = wait_flag(&sh->flag[0], 1) ? check_drop(buf, 30) : 0;
	sh->flag[1] = 1;
	code = reap(pid);
	if (bad < 0)
		bad = check_drop(buf, 30);	/* and after it has exited */
	report("munmap and MADV_DONTNEED in the child leave the parent's data intact", code, bad);
	munmap(buf, DROP_PAGES * PAGE_SIZE);
}

static void test_parent_drops(void)
{
	u8 *buf = map_private(DROP_PAGES);
	long bad;
	int code;
	pid_t pid;

	if (!buf)
		ktap_bail("mmap: %s", errno_name(errno));
	reset_shared();
	fill_drop(buf, 40);
	pid = fork();
	if (pid == 0) {
		if (!wait_flag(&sh->flag[0], 1))
			exit(120);
		if ((sh->bad_offset = check_drop(buf, 40)) >= 0)
			exit(121);
		exit(0);
	}
	bad = drop_and_check(buf, 40);
	sh->flag[0] = 1;
	code = reap(pid);
	report("munmap and MADV_DONTNEED in the parent leave the child's data intact", code, bad);
	munmap(buf + 4 * PAGE_SIZE, (DROP_PAGES - 4) * PAGE_SIZE);
}

/* --- 10: mprotect after fork --- */

static void test_mprotect(void)
{
	u8 *buf = map_private(SMALL_PAGES);
	long bad = -1;
	int code;
	pid_t pid;

	if (!buf)
		ktap_bail("mmap: %s", errno_name(errno));
	reset_shared();
	fill(buf, SMALL_PAGES, 50);
	pid = fork();
	if (pid == 0) {
		if (!wait_flag(&sh->flag[0], 1))
			exit(130);
		if ((sh->bad_offset = check(buf, SMALL_PAGES, 50)) >= 0)
			exit(131);	/* the parent's write went to our page */
		exit(0);
	}
	/* Making the range writable again must not make the shared pages
	 * writable in place. */
	if (mprotect(buf, SMALL_PAGES * PAGE_SIZE, PROT_READ) < 0 ||
	    check(buf, SMALL_PAGES, 50) >= 0 ||
	    mprotect(buf, SMALL_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE) < 0)
		bad = 0;
	if (bad < 0) {
		fill(buf, SMALL_PAGES, 51);
		bad = check(buf, SMALL_PAGES, 51);
	}
	sh->flag[0] = 1;
	code = reap(pid);
	report("mprotect read-only then read-write and a write in the parent: the child's copy holds",
	       code, bad);
	munmap(buf, SMALL_PAGES * PAGE_SIZE);
}

/* --- 11: 16 MiB --- */

static void test_many_pages(void)
{
	u8 *buf = map_private(BIG_PAGES);
	long bad;
	int code;
	pid_t pid;

	if (!buf)
		ktap_bail("mmap of %lu MiB: %s", BIG_PAGES * PAGE_SIZE >> 20, errno_name(errno));
	reset_shared();
	fill(buf, BIG_PAGES, 60);
	pid = fork();
	if (pid == 0) {
		fill(buf, BIG_PAGES, 61);
		sh->flag[0] = 1;
		if (!wait_flag(&sh->flag[1], 1))
			exit(140);
		if ((sh->bad_offset = check(buf, BIG_PAGES, 61)) >= 0)
			exit(141);	/* the parent's writes showed */
		exit(0);
	}
	/* The child has written every page: ours are all as before. */
	bad = wait_flag(&sh->flag[0], 1) ? check(buf, BIG_PAGES, 60) : 0;
	if (bad < 0) {
		fill(buf, BIG_PAGES, 62);
		bad = check(buf, BIG_PAGES, 62);
	}
	sh->flag[1] = 1;
	code = reap(pid);
	report("16 MiB: the child writes every page, then the parent; each sees only its own",
	       code, bad);
	munmap(buf, BIG_PAGES * PAGE_SIZE);
}

/* --- 12: a VMA boundary inside a 2 MiB page, then fork --- */

/* Put a VMA boundary in the middle of r's 2 MiB: register the upper half
 * with userfaultfd (uffd >= 0) or make it read-only. */
static void cut_in_two(u8 *r, int uffd)
{
	int err;

	if (uffd >= 0) {
		struct uffdio_register reg = {
			.range = { (u64)(r + HUGE / 2), HUGE / 2 },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		err = ioctl(uffd, UFFDIO_REGISTER, &reg);
	} else {
		err = mprotect(r + HUGE / 2, HUGE / 2, PROT_READ);
	}
	if (err < 0)
		ktap_bail("%s of half a 2 MiB page: %s", uffd >= 0 ? "UFFDIO_REGISTER" : "mprotect",
			  errno_name(errno));
}

/* One round: a 2 MiB-aligned MADV_HUGEPAGE region, written whole (a THP
 * where the kernel gives one), cut in two, forked; the child checks the
 * contents and exits, the parent checks them and unmaps. 0, or the
 * child's code, or 151 when the parent's copy is wrong. */
static int split_round(int round, int uffd)
{
	u8 *r = mmap_aligned(HUGE, HUGE);
	u64 seed = 70 + (u64)round;
	int code;
	pid_t pid;

	if (r == MAP_FAILED)
		ktap_bail("mmap of 2 MiB: %s", errno_name(errno));
	madvise(r, HUGE, MADV_HUGEPAGE);
	fill(r, HUGE / PAGE_SIZE, seed);
	cut_in_two(r, uffd);
	pid = fork();
	if (pid == 0)
		exit(check(r, HUGE / PAGE_SIZE, seed) >= 0 ? 150 : 0);
	code = reap(pid);
	if (!code && check(r, HUGE / PAGE_SIZE, seed) >= 0)
		code = 151;
	munmap(r, HUGE);
	return code;
}

static void test_thp_cut_by_vma(void)
{
	long anon0 = proc_field("/proc/meminfo", "AnonHugePages"), anon;
	int uffd = uffd_open(0, NULL), code = 0;

	for (int round = 0; round < SPLIT_ROUNDS && !code; round++)
		code = split_round(round, round % 2 ? -1 : uffd);
	close(uffd);
	anon = proc_field("/proc/meminfo", "AnonHugePages");
	report("a 2 MiB page cut in two by UFFDIO_REGISTER or mprotect of half, then fork, 8 "
	       "rounds: parent and child each read it whole", code, -1);
	if (!ktap_ok(anon0 >= 0 && anon == anon0,
		     "after the 8 rounds AnonHugePages is back to its start value"))
		ktap_diag("AnonHugePages %ld kB at the start, %ld kB after", anon0, anon);
}

int main(void)
{
	sh = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ktap_bail("cannot map the shared page: %s", errno_name(errno));
	ktap_plan(13);
	test_child_writes();
	test_parent_writes();
	test_chain();
	test_every_cpu();
	test_concurrent_writer();
	test_zero_page();
	test_shared();
	test_child_drops();
	test_parent_drops();
	test_mprotect();
	test_many_pages();
	test_thp_cut_by_vma();
	return ktap_finish();
}
