/* SPDX-License-Identifier: MIT */
/* bench_mm - what a page fault, an mmap and a thread cost, in TSC cycles.
 *
 * Four measurements, each repeated many times; for each we print the
 * median and the minimum over the repetitions (a repetition's figure is
 * its average per operation):
 *   write fault    - first write to each page of a fresh anonymous region:
 *                    allocate a zeroed page and map it;
 *   zero-page read - first read of each page: map the shared zero page;
 *   mmap+touch+munmap - one page mapped, written once, unmapped;
 *   thread create+join - clone a thread that returns at once, join it.
 * Each runs first in one thread, then in one thread per CPU at once (all
 * pinned, same address space, separate regions), which shows how the
 * kernel's locks and TLB shootdowns scale. Threads are pinned (see main).
 * Regions get MADV_NOHUGEPAGE so
 * that 4 KiB faults are measured on Linux with THP enabled.
 *
 * The figures are KTAP diagnostics: they differ from run to run and system
 * to system, so this program is not part of `make linux-check`.
 */
#include "libc.h"

#define MAX_THREADS 64
#define FAULT_PAGES 1024	/* pages per fault repetition (4 MiB) */
#define FAULT_REPS 16
#define MMAP_OPS 256		/* mmap+touch+munmap per repetition */
#define MMAP_REPS 16
#define THREAD_OPS 32		/* create+join per repetition */
#define THREAD_REPS 8
#define MAX_REPS 16

enum bench { B_WRITE_FAULT, B_READ_FAULT, B_MMAP, B_THREAD, NBENCH };

static const char *const bench_names[NBENCH] = {
	"anon write fault", "zero-page read fault", "mmap+touch+munmap",
	"thread create+join",
};
static const char *const bench_units[NBENCH] = { "page", "page", "op", "op" };

struct result {
	u64 cycles[MAX_REPS];	/* per operation, one per repetition */
	u64 ns[MAX_REPS];
	int reps;
	int error;
};

static volatile int arrived;
static int nstart;

static void start_line(void)
{
	__atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
	while (READ_ONCE(arrived) < nstart)
		__asm__ volatile("pause");
}

static long empty_thread(void *arg)
{
	(void)arg;
	return 0;
}

/* One repetition of bench b; returns operations done, or -1. */
static long run_once(enum bench b)
{
	u8 *m;
	unsigned long sum = 0;

	switch (b) {
	case B_WRITE_FAULT:
	case B_READ_FAULT:
		m = mmap(NULL, FAULT_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return -1;
		madvise(m, FAULT_PAGES * PAGE_SIZE, MADV_NOHUGEPAGE);
		return (long)(unsigned long)m;	/* timed by the caller */
	case B_MMAP:
		for (int i = 0; i < MMAP_OPS; i++) {
			m = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				return -1;
			m[0] = 1;
			munmap(m, PAGE_SIZE);
		}
		return MMAP_OPS;
	case B_THREAD:
		for (int i = 0; i < THREAD_OPS; i++) {
			struct uthread *t = thread_create(empty_thread, NULL, -1);

			if (!t)
				return -1;
			thread_join(t);
		}
		return THREAD_OPS;
	default:
		(void)sum;
		return -1;
	}
}

static void measure(enum bench b, struct result *res)
{
	int reps = b == B_MMAP ? MMAP_REPS : b == B_THREAD ? THREAD_REPS : FAULT_REPS;

	res->reps = 0;
	for (int r = 0; r < reps; r++) {
		u64 t0, t1, n0, n1;
		long ops;

		if (b == B_WRITE_FAULT || b == B_READ_FAULT) {
			volatile u8 *m = (volatile u8 *)run_once(b);
			unsigned long sum = 0;

			if ((long)m == -1) {
				res->error = 1;
				return;
			}
			n0 = now_ns();
			t0 = rdtsc();
			if (b == B_WRITE_FAULT)
				for (unsigned long p = 0; p < FAULT_PAGES; p++)
					m[p * PAGE_SIZE] = 1;
			else
				for (unsigned long p = 0; p < FAULT_PAGES; p++)
					sum += m[p * PAGE_SIZE];
			t1 = rdtsc();
			n1 = now_ns();
			munmap((void *)m, FAULT_PAGES * PAGE_SIZE);
			if (sum)
				res->error = 2;
			ops = FAULT_PAGES;
		} else {
			n0 = now_ns();
			t0 = rdtsc();
			ops = run_once(b);
			t1 = rdtsc();
			n1 = now_ns();
			if (ops <= 0) {
				res->error = 1;
				return;
			}
		}
		res->cycles[res->reps] = (t1 - t0) / (u64)ops;
		res->ns[res->reps] = (n1 - n0) / (u64)ops;
		res->reps++;
	}
}

struct worker {
	enum bench b;
	struct result res;
};

static long worker_main(void *arg)
{
	struct worker *w = arg;

	start_line();
	measure(w->b, &w->res);
	return 0;
}

/* Median and minimum over all repetitions of all threads. */
static void report(enum bench b, const char *who, struct result *res, int nres)
{
	static u64 cyc[MAX_THREADS * MAX_REPS], ns[MAX_THREADS * MAX_REPS];
	int n = 0;

	for (int i = 0; i < nres; i++)
		for (int r = 0; r < res[i].reps; r++) {
			cyc[n] = res[i].cycles[r];
			ns[n] = res[i].ns[r];
			n++;
		}
	if (!n) {
		ktap_diag("%-20s %-14s no result", bench_names[b], who);
		return;
	}
	sort_u64(cyc, n);
	sort_u64(ns, n);
	ktap_diag("%-20s %-14s median %7lu cycles/%s (min %7lu), median %6lu ns",
		  bench_names[b], who, cyc[n / 2], bench_units[b], cyc[0], ns[n / 2]);
}

int main(void)
{
	static struct worker workers[MAX_THREADS];
	int cpus[MAX_THREADS], ncpu = 0, errors = 0;
	cpu_set_t mask;
	char who[32];

	ktap_plan(2);
	cpu_zero(&mask);
	sched_getaffinity(0, sizeof(mask), &mask);
	for (int c = 0; c < CPU_SETSIZE && ncpu < MAX_THREADS; c++)
		if (cpu_isset(c, &mask))
			cpus[ncpu++] = c;
	if (!ncpu)
		cpus[ncpu++] = 0;
	ktap_diag("%d CPUs; TSC cycles per operation", ncpu);

	/* Every measuring thread is pinned, and the threads it creates inherit
	 * that: a created thread runs on its creator's CPU when the creator
	 * waits in thread_join, so create+join measures clone, exit and futex,
	 * not how long an idle (virtual) CPU takes to wake up. */
	if (pin_to_cpu(cpus[0]) < 0)
		errors++;

	for (int b = 0; b < NBENCH; b++) {
		struct result one = { 0 };

		measure((enum bench)b, &one);
		errors += one.error;
		report((enum bench)b, "1 thread", &one, 1);
	}
	ktap_ok(errors == 0, "benchmarks in one thread");

	errors = 0;
	snprintf(who, sizeof(who), "%d threads", ncpu);
	for (int b = 0; b < NBENCH; b++) {
		struct uthread *t[MAX_THREADS];
		struct result res[MAX_THREADS];

		arrived = 0;
		nstart = ncpu;
		for (int i = 0; i < ncpu; i++) {
			workers[i] = (struct worker){ .b = (enum bench)b };
			t[i] = thread_create(worker_main, &workers[i], cpus[i]);
			if (!t[i]) {
				__atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
				errors++;
			}
		}
		for (int i = 0; i < ncpu; i++) {
			if (t[i] && thread_join(t[i]) < 0)
				errors++;
			res[i] = workers[i].res;
			errors += res[i].error;
		}
		report((enum bench)b, who, res, ncpu);
	}
	ktap_ok(errors == 0, "benchmarks in one pinned thread per CPU at once");
	return ktap_finish();
}
