/* SPDX-License-Identifier: MIT */
/* bench_cow - what fork and copy-on-write cost: per write fault, per fork.
 *
 * All in TSC cycles, on 16 MiB of private anonymous memory in 4 KiB pages
 * (MADV_NOHUGEPAGE, so Linux does not use 2 MiB pages), with the main
 * thread pinned to one CPU and every child inheriting that pin:
 *
 *   first touch   write one byte to each page of a fresh mapping: one
 *                 fault per page that allocates and zeroes a page;
 *   rewrite       write the same pages again: no fault, the loop's cost;
 *   cow write     fork, then the child writes one byte to each page while
 *                 the parent waits (so every page is still shared): with
 *                 copy-on-write one fault per page that copies it. A kernel
 *                 that copies at fork takes no fault here (its cost is in
 *                 the fork below);
 *   after exit    once that child has exited, the parent writes each page
 *                 again: with copy-on-write one fault per page that finds
 *                 the page no longer shared and may reuse it in place;
 *   fork          fork of a process with (a) almost nothing mapped and
 *                 (b) the 16 MiB written; the child exits at once. Timed
 *                 to fork's return in the parent and to wait4's return.
 *
 * Around each timed loop it reads /proc/vmstat: pgfault (Linux; Pagoda
 * has no such counter: n/a) and the TLB counters nr_tlb_remote_flush and
 * nr_tlb_local_flush_one/_all (Pagoda; Linux only with
 * CONFIG_DEBUG_TLBFLUSH), printed per page or per fork.
 *
 * The test points check only correctness (every page reads back what was
 * written, on each side; every child exited 0); the figures are "#" lines
 * and never fail anything. Not in the test list: timings differ from run
 * to run (docs/benchmarks.md).
 */
#include "libc.h"

#define NPAGES 4096			/* 16 MiB */
#define REGION (NPAGES * PAGE_SIZE)
#define FAULT_REPS 5			/* repetitions of each per-page loop */
#define FORK_REPS 20			/* forks timed in each fork case */
#define SETTLE_NS (2L * 1000 * 1000 * 1000)	/* as bench_tlb: let Linux settle */

/* --- /proc/vmstat --- */

enum counter { C_PGFAULT, C_REMOTE_FLUSH, C_LOCAL_ALL, C_LOCAL_ONE, NCOUNTERS };

static const char *const counter_names[NCOUNTERS] = {
	"pgfault", "nr_tlb_remote_flush", "nr_tlb_local_flush_all", "nr_tlb_local_flush_one",
};

struct counters {
	u64 value[NCOUNTERS];
	bool have[NCOUNTERS];
};

static void read_counters(struct counters *c)
{
	proc_counters("/proc/vmstat", counter_names, NCOUNTERS, c->value, c->have);
}

/* "total/ops" with two decimals, or "n/a" when the counter is missing. */
static const char *per_op(char *buf, size_t size, bool have, u64 total, u64 ops)
{
	u64 hundredths;

	if (!have || !ops) {
		snprintf(buf, size, "n/a");
		return buf;
	}
	hundredths = (total * 100 + ops / 2) / ops;
	snprintf(buf, size, "%lu.%02lu", hundredths / 100, hundredths % 100);
	return buf;
}

/* --- results --- */

struct result {
	const char *name;
	const char *unit;	/* "page" or "fork" */
	u64 cycles[FORK_REPS];	/* per unit, one per repetition */
	int n;
	u64 units;		/* pages or forks inside the counted windows */
	u64 delta[NCOUNTERS];	/* counter increments summed over the windows */
	bool have[NCOUNTERS];	/* the counter existed in every window */
	int windows;
	u64 median, min;
};

enum { R_FIRST, R_REWRITE, R_COW, R_AFTER_EXIT, R_FORK_SMALL, R_FORK_SMALL_WAIT,
       R_FORK_16M, R_FORK_16M_WAIT, NRESULTS };

static struct result results[NRESULTS] = {
	[R_FIRST]           = { .name = "first-touch write fault", .unit = "page" },
	[R_REWRITE]         = { .name = "rewrite (no fault)", .unit = "page" },
	[R_COW]             = { .name = "cow write in the child", .unit = "page" },
	[R_AFTER_EXIT]      = { .name = "write after the child exited", .unit = "page" },
	[R_FORK_SMALL]      = { .name = "fork, small process", .unit = "fork" },
	[R_FORK_SMALL_WAIT] = { .name = "fork+exit+wait, small process", .unit = "fork" },
	[R_FORK_16M]        = { .name = "fork, 16 MiB populated", .unit = "fork" },
	[R_FORK_16M_WAIT]   = { .name = "fork+exit+wait, 16 MiB populated", .unit = "fork" },
};

static void add_sample(struct result *r, u64 cycles)
{
	if (r->n < FORK_REPS)
		r->cycles[r->n++] = cycles;
}

/* Count the counters' increments between a and b against units pages or
 * forks of r. */
static void account(struct result *r, const struct counters *a, const struct counters *b,
		    u64 units)
{
	for (int i = 0; i < NCOUNTERS; i++) {
		r->have[i] = (r->windows == 0 || r->have[i]) && a->have[i] && b->have[i];
		r->delta[i] += b->value[i] - a->value[i];
	}
	r->windows++;
	r->units += units;
}

static void finish(struct result *r)
{
	char f[NCOUNTERS][16];

	if (!r->n)
		return;
	sort_u64(r->cycles, r->n);
	r->min = r->cycles[0];
	r->median = r->cycles[r->n / 2];
	for (int i = 0; i < NCOUNTERS; i++)
		per_op(f[i], sizeof(f[i]), r->have[i], r->delta[i], r->units);
	ktap_diag("%s: cycles/%s median=%lu min=%lu (%d runs)", r->name, r->unit,
		  r->median, r->min, r->n);
	ktap_diag("  per %s: pgfault=%s tlb_remote_flush=%s tlb_local_flush_all=%s tlb_local_flush_one=%s",
		  r->unit, f[C_PGFAULT], f[C_REMOTE_FLUSH], f[C_LOCAL_ALL], f[C_LOCAL_ONE]);
}

/* --- the memory --- */

static u8 *map_region(void)
{
	u8 *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* 4 KiB pages on Linux too; EINVAL where THP is not built in. */
	madvise(p, REGION, MADV_NOHUGEPAGE);
	return p;
}

/* Write v into one byte of every page; the TSC cycles per page. */
static u64 write_pages(u8 *p, u8 v)
{
	u64 t0 = rdtsc();

	for (unsigned long i = 0; i < NPAGES; i++)
		*(volatile u8 *)(p + i * PAGE_SIZE + (i % 64) * 64) = v;
	return (rdtsc() - t0) / NPAGES;
}

static bool pages_hold(const u8 *p, u8 v)
{
	for (unsigned long i = 0; i < NPAGES; i++)
		if (*(const volatile u8 *)(p + i * PAGE_SIZE + (i % 64) * 64) != v)
			return false;
	return true;
}

/* The page children report through. */
struct shared {
	volatile u64 cycles;
	volatile int ok;
};

static struct shared *sh;

static int reap(pid_t pid)
{
	int status = 0;

	if (pid <= 0 || wait4(pid, &status, 0, NULL) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + status;
}

/* --- the cases --- */

/* First touch and rewrite on fresh mappings. */
static void bench_first_touch(void)
{
	bool ok = true;

	for (int r = 0; r < FAULT_REPS && ok; r++) {
		u8 *p = map_region();
		struct counters a, b;

		if (!p) {
			ktap_diag("mmap of 16 MiB: %s", errno_name(errno));
			ok = false;
			break;
		}
		read_counters(&a);
		add_sample(&results[R_FIRST], write_pages(p, 1));
		read_counters(&b);
		account(&results[R_FIRST], &a, &b, NPAGES);

		read_counters(&a);
		add_sample(&results[R_REWRITE], write_pages(p, 2));
		read_counters(&b);
		account(&results[R_REWRITE], &a, &b, NPAGES);
		ok = pages_hold(p, 2);
		munmap(p, REGION);
	}
	finish(&results[R_FIRST]);
	finish(&results[R_REWRITE]);
	ktap_ok(ok, "first-touch write faults and rewrites: every page reads back");
}

/* The child writes every page while the parent waits; then, with the
 * child gone, the parent writes every page. */
static void bench_cow_faults(void)
{
	bool ok = true;

	for (int r = 0; r < FAULT_REPS && ok; r++) {
		u8 *p = map_region();
		struct counters a, b;
		pid_t pid;
		int code;

		if (!p) {
			ktap_diag("mmap of 16 MiB: %s", errno_name(errno));
			ok = false;
			break;
		}
		write_pages(p, 1);
		sh->ok = 0;
		read_counters(&a);
		pid = fork();
		if (pid == 0) {
			sh->cycles = write_pages(p, 2);
			sh->ok = pages_hold(p, 2);
			exit(0);
		}
		code = reap(pid);
		read_counters(&b);
		if (code || !sh->ok || !pages_hold(p, 1)) {
			ktap_diag("run %d: child exit %d, child's pages %s, parent's %s", r, code,
				  sh->ok ? "right" : "wrong", pages_hold(p, 1) ? "right" : "wrong");
			ok = false;
		}
		add_sample(&results[R_COW], sh->cycles);
		/* The window holds the fork and the child's exit too (their
		 * own share is in the fork rows below). */
		account(&results[R_COW], &a, &b, NPAGES);

		read_counters(&a);
		add_sample(&results[R_AFTER_EXIT], write_pages(p, 3));
		read_counters(&b);
		account(&results[R_AFTER_EXIT], &a, &b, NPAGES);
		if (!pages_hold(p, 3))
			ok = false;
		munmap(p, REGION);
	}
	finish(&results[R_COW]);
	finish(&results[R_AFTER_EXIT]);
	ktap_ok(ok, "cow writes in the child and writes after it exited: each side reads its own");
}

/* FORK_REPS forks whose child exits at once. */
static bool time_forks(struct result *to_return, struct result *to_wait)
{
	struct counters a, b;
	bool ok = true;

	read_counters(&a);
	for (int r = 0; r < FORK_REPS && ok; r++) {
		u64 t0 = rdtsc(), t1;
		pid_t pid = fork();

		if (pid == 0)
			exit(0);
		t1 = rdtsc();
		if (reap(pid) != 0) {
			ktap_diag("fork %d: the child did not exit 0", r);
			ok = false;
		}
		add_sample(to_return, t1 - t0);
		add_sample(to_wait, rdtsc() - t0);
	}
	read_counters(&b);
	account(to_return, &a, &b, (u64)to_return->n);
	account(to_wait, &a, &b, (u64)to_wait->n);
	finish(to_return);
	finish(to_wait);
	return ok;
}

static void bench_fork(void)
{
	u8 *p;
	bool ok = time_forks(&results[R_FORK_SMALL], &results[R_FORK_SMALL_WAIT]);
	pid_t pid;

	ktap_ok(ok, "fork+exit+wait of a small process: every child exited 0");

	p = map_region();
	if (!p) {
		ktap_diag("mmap of 16 MiB: %s", errno_name(errno));
		ktap_ok(false, "fork+exit+wait with 16 MiB populated");
		return;
	}
	write_pages(p, 4);
	ok = time_forks(&results[R_FORK_16M], &results[R_FORK_16M_WAIT]);
	/* One more, untimed: the child sees the data. */
	pid = fork();
	if (pid == 0)
		exit(pages_hold(p, 4) ? 0 : 1);
	if (reap(pid) != 0)
		ok = false;
	ktap_ok(ok, "fork+exit+wait with 16 MiB populated: every child exited 0, one saw the data");
	munmap(p, REGION);
}

/* --- THP ---
 * The 2 MiB variants live in bench_thp (docs/benchmarks.md): fork of 16 MiB
 * in 2 MiB pages against 4 KiB pages, and the first write into the huge
 * zero page. A THP case added here (a copy-on-write fault on a shared THP,
 * which splits it and copies 4 KiB) would go in this place. */

static u64 tsc_per_us;		/* from the settling sleep; 0 if unknown */

static void print_summary(void)
{
	ktap_diag("summary (TSC cycles, median; microseconds):");
	for (int i = 0; i < NRESULTS; i++) {
		const struct result *r = &results[i];
		u64 tenths = tsc_per_us ? r->median * 10 / tsc_per_us : 0;

		if (r->n)
			ktap_diag("  %-34s %10lu per %s  (%lu.%lu us)", r->name, r->median,
				  r->unit, tenths / 10, tenths % 10);
	}
}

int main(void)
{
	struct utsname u;
	cpu_set_t mask;
	int cpu = -1, allowed = 0;
	u64 t0, n0;

	ktap_plan(4);
	cpu_zero(&mask);
	sched_getaffinity(0, sizeof(mask), &mask);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (cpu_isset(c, &mask)) {
			if (cpu < 0)
				cpu = c;
			allowed++;
		}
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	ktap_diag("%s %s, %d CPUs; fork and copy-on-write of %d private 4 KiB pages, TSC cycles",
		  u.sysname, u.release, allowed, NPAGES);
	if (cpu >= 0 && pin_to_cpu(cpu) < 0)
		ktap_bail("cannot pin to CPU %d: %s", cpu, errno_name(errno));
	sh = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ktap_bail("cannot map the shared page: %s", errno_name(errno));

	t0 = rdtsc();
	n0 = now_ns();
	sleep_ns(SETTLE_NS);
	if (now_ns() > n0) {
		tsc_per_us = (rdtsc() - t0) * 1000 / (now_ns() - n0);
		ktap_diag("TSC: %lu cycles per microsecond", tsc_per_us);
	}

	bench_first_touch();
	bench_cow_faults();
	bench_fork();
	print_summary();
	return ktap_finish();
}
