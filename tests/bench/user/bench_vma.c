/* SPDX-License-Identifier: MIT */
/* bench_vma - what the address space's lock costs a page fault
 * (docs/benchmarks.md, "Per-VMA locks").
 *
 * A fault that finds its VMA under mmap_lock waits whenever another thread
 * of the process holds that lock for writing: mmap, munmap and mprotect of
 * memory the fault never touches. With per-VMA locks a fault looks its VMA
 * up under RCU and locks only that VMA, so only a change to that VMA stops
 * it. This program measures, in TSC cycles:
 *
 * 1. One thread pinned to CPU 0 writes one word into each page of a region
 *    of NPAGES fresh 4 KiB pages (private anonymous, MADV_NOHUGEPAGE: every
 *    write is one fault that allocates a page); the loop over the region is
 *    timed and divided by NPAGES, MADV_DONTNEED (untimed) makes the pages
 *    fresh again, and the figure is the median of ROUNDS rounds:
 *      (a) alone;
 *      (s) beside a thread pinned to CPU 1 that spins in user mode: under
 *          TCG a busy virtual CPU takes host time from the other, so this
 *          is the baseline that (b) and (c) are fair against;
 *      (b) beside a thread pinned to CPU 1 that loops on mmap of a page,
 *          a write into it and munmap, then mprotect RW -> R -> RW of
 *          PROT_PAGES written pages: other VMAs than the faulting one's;
 *      (c) beside the same loop on memory never written, started at the
 *          pace (b)'s loop kept and spinning in between: no page is ever
 *          mapped there, so its munmap and mprotect flush no TLB and what
 *          is left of the slowdown is the lock.
 *    It prints b/a and c/a, and b/s and c/s. How many loops the other
 *    thread got through matters as much: a lock that starves the writer
 *    spares the faults.
 * 2. 1, 2 and 4 threads (thread i pinned to CPU i mod the CPUs) fault at
 *    once, each into a region of its own (its own VMA and page tables),
 *    a barrier before and after each timed loop: cycles per fault of the
 *    median and of the slowest thread, and faults per second of them all
 *    (every fault of a round over the time from the first thread's start
 *    to the last one's end; medians of ROUNDS rounds).
 *
 * Every region sits 2 MiB-aligned in a PROT_NONE reservation, PROT_NONE
 * between them: no VMA merges with another, none shares a page table, and
 * the other thread's page is a hole in the reservation (mapped with
 * MAP_FIXED_NOREPLACE) whose unmapping frees no table, on both systems.
 *
 * Around each case it prints the increments of /proc/vmstat's per-VMA lock
 * counters (vma_lock_success, _abort, _retry, _miss: faults served under
 * the VMA lock, given up, retried under mmap_lock, VMA not found) and of
 * nr_tlb_remote_flush (Pagoda's), "n/a" where a line is absent (Linux 6.1
 * has none of them). The other thread's own faults count too.
 *
 * Test points check only correctness: each page holds its write and zeros
 * around it (so every round got fresh pages), the other thread's calls all
 * succeeded, its new pages read zero and its mprotected pages kept their
 * data. The figures are "#" lines and never fail anything.
 */
#include "libc.h"

#define NPAGES 1024			/* faulted per round and thread: 4 MiB */
#define REGION ((size_t)NPAGES * PAGE_SIZE)
#define ROUNDS 11
#define MAX_THREADS 4
#define TABLE_SPAN (2UL << 20)		/* what one page table maps */
#define SLOT (REGION + TABLE_SPAN)	/* a region and the PROT_NONE after it */
#define PROT_PAGES 16			/* the other thread's mprotect */
#define ARENA_SIZE (MAX_THREADS * SLOT + 3 * TABLE_SPAN)
#define WORDS 8				/* words checked at the start of each page */
#define WAIT_NS (10UL * 1000 * 1000 * 1000)
#define SETTLE_NS (1000L * 1000 * 1000)

static u8 *arena;			/* 2 MiB-aligned, inside the reservation */
static u64 tsc_per_us;			/* 0 if unknown */
static int ncpus;

/* Region k faulted by thread k; after them, in a 2 MiB piece each, the
 * other thread's page (a hole) and its written and never-written regions. */
static u8 *region(int k)
{
	return arena + (size_t)k * SLOT;
}

static u8 *churn_page(void)
{
	return arena + MAX_THREADS * SLOT + PAGE_SIZE;
}

static u8 *churn_prot(bool written)
{
	return arena + MAX_THREADS * SLOT + (written ? 1 : 2) * TABLE_SPAN + PAGE_SIZE;
}

/* --- /proc/vmstat --- */

enum counter { C_SUCCESS, C_ABORT, C_RETRY, C_MISS, C_REMOTE_FLUSH, NCOUNTERS };

static const char *const counter_names[NCOUNTERS] = {
	"vma_lock_success", "vma_lock_abort", "vma_lock_retry", "vma_lock_miss",
	"nr_tlb_remote_flush",
};

struct counters {
	u64 value[NCOUNTERS];
	bool have[NCOUNTERS];
};

static void read_counters(struct counters *c)
{
	proc_counters("/proc/vmstat", counter_names, NCOUNTERS, c->value, c->have);
}

/* One line: each counter's increment from a to b, or n/a. */
static void print_deltas(const struct counters *a, const struct counters *b)
{
	char line[256], *p = line;

	for (int i = 0; i < NCOUNTERS; i++) {
		size_t left = sizeof(line) - (size_t)(p - line);

		if (a->have[i] && b->have[i])
			p += snprintf(p, left, " %s=%lu", counter_names[i],
				      (unsigned long)(b->value[i] - a->value[i]));
		else
			p += snprintf(p, left, " %s=n/a", counter_names[i]);
	}
	ktap_diag("  vmstat:%s", line);
}

/* "x.yy": a / b with two decimals. */
static const char *ratio(char *buf, size_t size, u64 a, u64 b)
{
	u64 hundredths = b ? (a * 100 + b / 2) / b : 0;

	snprintf(buf, size, "%lu.%02lu", (unsigned long)(hundredths / 100),
		 (unsigned long)(hundredths % 100));
	return buf;
}

/* --- the memory --- */

/* Reserve the arena and open the faulting regions and the other thread's
 * mprotect regions in it (the written one written). */
static bool make_arena(void)
{
	u8 *raw = mmap(NULL, ARENA_SIZE + TABLE_SPAN, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (raw == MAP_FAILED)
		return false;
	/* Above raw, so region 0 has the reservation below it too. */
	arena = (u8 *)(((unsigned long)raw + TABLE_SPAN) & ~(TABLE_SPAN - 1));
	for (int k = 0; k < MAX_THREADS; k++) {
		if (mprotect(region(k), REGION, PROT_READ | PROT_WRITE) < 0)
			return false;
		/* 4 KiB pages on Linux too; EINVAL where THP is not built in. */
		madvise(region(k), REGION, MADV_NOHUGEPAGE);
	}
	for (int written = 0; written < 2; written++)
		if (mprotect(churn_prot(written), PROT_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE) < 0)
			return false;
	for (int i = 0; i < PROT_PAGES; i++)
		*(u64 *)(churn_prot(true) + i * PAGE_SIZE) = 0xc0de0000UL + (u64)i;
	return true;
}

/* The other thread's page is a hole in the reservation only while that
 * thread runs: a hole left open could take a page that mmap(NULL) places. */
static bool open_hole(void)
{
	return munmap(churn_page(), PAGE_SIZE) == 0;
}

static bool close_hole(void)
{
	return mmap(churn_page(), PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0) == churn_page();
}

/* The tag written into page i in round r by thread t. */
static u64 tag(int r, int t, size_t i)
{
	return ((u64)(r + 1) << 40) | ((u64)t << 32) | i;
}

/* Write word w of each page of r: one fault per page. Returns the cycles. */
static u64 fault_pages(u8 *r, int w, int round, int thread)
{
	u64 t0 = rdtsc();

	for (size_t i = 0; i < NPAGES; i++)
		((volatile u64 *)(r + i * PAGE_SIZE))[w] = tag(round, thread, i);
	return rdtsc() - t0;
}

/* Each page holds its write in word w and zero in the other WORDS - 1
 * words (a fresh page, not one left from an earlier round); then zap them
 * all, so that the next round faults again. */
static bool check_and_zap(u8 *r, int w, int round, int thread)
{
	bool ok = true;

	for (size_t i = 0; i < NPAGES; i++) {
		const volatile u64 *p = (const volatile u64 *)(r + i * PAGE_SIZE);

		for (int k = 0; k < WORDS; k++)
			ok &= p[k] == (k == w ? tag(round, thread, i) : 0);
	}
	return madvise(r, REGION, MADV_DONTNEED) == 0 && ok;
}

/* --- the other thread --- */

/* What the faulting thread runs beside: nothing; a thread that spins in
 * user mode (under TCG a busy virtual CPU takes host time from the other
 * one, so this is the fair baseline of the two below); a thread looping on
 * mmap of a page, a write into it, munmap, and mprotect RW -> R -> RW of
 * PROT_PAGES written pages; the same on memory never written, started at
 * the pace the written loop kept, spinning in between. */
enum beside { ALONE, SPINNING, BESIDE_WRITTEN, BESIDE_UNWRITTEN, NBESIDE };

static const char *const beside_names[NBESIDE] = {
	"alone",
	"beside a thread spinning in user mode",
	"beside mmap+write+munmap, mprotect",
	"beside the same pace, nothing written",
};

struct churn {
	enum beside how;
	u64 period;		/* BESIDE_UNWRITTEN: a loop every period cycles */
	volatile int stop;
	u64 loops;
	bool ok;
};

/* One loop; false if a call failed or memory read wrong. */
static bool churn_once(bool written, u64 i)
{
	u8 *page = churn_page(), *prot = churn_prot(written);
	bool ok = true;

	if (mmap(page, PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != page)
		return false;
	if (written) {
		volatile u64 *w = (volatile u64 *)page;

		w[i & 1] = i + 1;
		ok &= w[(i & 1) ^ 1] == 0 && w[i & 1] == i + 1;
	}
	ok &= munmap(page, PAGE_SIZE) == 0;
	ok &= mprotect(prot, PROT_PAGES * PAGE_SIZE, PROT_READ) == 0;
	ok &= mprotect(prot, PROT_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE) == 0;
	if (written) {
		size_t k = i % PROT_PAGES;

		ok &= *(volatile u64 *)(prot + k * PAGE_SIZE) == 0xc0de0000UL + k;
	}
	return ok;
}

static long churn_main(void *arg)
{
	struct churn *c = arg;
	u64 t0 = rdtsc();

	if (c->how == SPINNING) {
		WRITE_ONCE(c->loops, 1);
		while (!READ_ONCE(c->stop))
			__asm__ volatile("pause");
		return 1;
	}
	while (!READ_ONCE(c->stop) && c->ok) {
		c->ok = churn_once(c->how == BESIDE_WRITTEN, c->loops);
		WRITE_ONCE(c->loops, c->loops + 1);
		/* Paced: spin in user mode, the mm still loaded on this CPU. */
		while (c->period && rdtsc() - t0 < c->loops * c->period && !READ_ONCE(c->stop))
			__asm__ volatile("pause");
	}
	return 1;
}

/* Start the other thread on CPU 1 and wait for its first loop. */
static struct uthread *start_churn(struct churn *c)
{
	u64 deadline = now_ns() + WAIT_NS;
	struct uthread *t;

	if (!open_hole())
		return NULL;
	t = thread_create(churn_main, c, ncpus > 1 ? 1 : 0);
	if (!t)
		ktap_bail("thread_create: %s", errno_name(errno));
	while (READ_ONCE(c->loops) == 0 && now_ns() < deadline)
		sleep_ns(1000 * 1000);
	return t;
}

static bool stop_churn(struct uthread *t, struct churn *c)
{
	WRITE_ONCE(c->stop, 1);
	return thread_join(t) == 1 && c->ok && c->loops > 0 && close_hole();
}

/* --- part 1: one faulting thread beside each of the above --- */

/* Run the rounds in region 0 from CPU 0; *per_fault gets the median.
 * *period is set by (BESIDE_WRITTEN) or paces (BESIDE_UNWRITTEN) the
 * other thread: the cycles from one of its loops to the next. */
static bool one_thread(enum beside how, u64 *per_fault, u64 *period)
{
	struct churn c = { .how = how, .ok = true,
			   .period = how == BESIDE_UNWRITTEN ? *period : 0 };
	struct uthread *t = NULL;
	struct counters before, after;
	u64 cyc[ROUNDS], loops0 = 0, t0 = 0, loops, cycles;
	bool ok = true;

	read_counters(&before);
	if (how != ALONE) {
		t = start_churn(&c);
		ok &= t != NULL;
		loops0 = READ_ONCE(c.loops);
		t0 = rdtsc();
	}
	for (int r = 0; r < ROUNDS; r++) {
		cyc[r] = fault_pages(region(0), r % WORDS, r, 0) / NPAGES;
		ok &= check_and_zap(region(0), r % WORDS, r, 0);
	}
	loops = READ_ONCE(c.loops) - loops0;
	cycles = rdtsc() - t0;
	if (t)
		ok &= stop_churn(t, &c);
	read_counters(&after);
	*per_fault = median_u64(cyc, ROUNDS);
	ktap_diag("%-38s %8lu cycles/fault", beside_names[how], (unsigned long)*per_fault);
	if (how == BESIDE_WRITTEN)
		*period = loops ? cycles / loops : 0;
	if (how == BESIDE_WRITTEN || how == BESIDE_UNWRITTEN)
		ktap_diag("  other thread: %lu loops, one per %lu cycles", (unsigned long)loops,
			  (unsigned long)(loops ? cycles / loops : 0));
	print_deltas(&before, &after);
	return ok;
}

/* The slowdown factors of the two loops over both baselines. */
static void print_slowdowns(const u64 *per_fault)
{
	char x[16], y[16];

	ktap_diag("slowdown beside the other thread: %sx over alone, %sx over a spinning thread",
		  ratio(x, sizeof(x), per_fault[BESIDE_WRITTEN], per_fault[ALONE]),
		  ratio(y, sizeof(y), per_fault[BESIDE_WRITTEN], per_fault[SPINNING]));
	ktap_diag("same pace, nothing written (no TLB flush): %sx over alone, %sx over a "
		  "spinning thread",
		  ratio(x, sizeof(x), per_fault[BESIDE_UNWRITTEN], per_fault[ALONE]),
		  ratio(y, sizeof(y), per_fault[BESIDE_UNWRITTEN], per_fault[SPINNING]));
}

/* --- part 2: several threads, each into its own region --- */

struct worker {
	int index, nthreads;
	u64 per_fault[ROUNDS];
	u64 start[ROUNDS], end[ROUNDS];
	bool ok;
} __aligned(64);

static struct worker workers[MAX_THREADS];
static int barrier_count, barrier_gen, barrier_broken;

/* Wait until all n workers are here; false if one has not come within
 * WAIT_NS (it could not start, or could not pin itself), and then for
 * every later call too, so that none waits for it forever. The last one
 * in opens the next generation; the others yield meanwhile (4 threads on
 * 2 CPUs must not spin away a time slice that the one still faulting
 * needs). */
static bool barrier_wait(int n)
{
	int gen = __atomic_load_n(&barrier_gen, __ATOMIC_ACQUIRE);
	u64 deadline = now_ns() + WAIT_NS;

	if (__atomic_add_fetch(&barrier_count, 1, __ATOMIC_ACQ_REL) == n) {
		__atomic_store_n(&barrier_count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&barrier_gen, gen + 1, __ATOMIC_RELEASE);
		return !READ_ONCE(barrier_broken);
	}
	while (__atomic_load_n(&barrier_gen, __ATOMIC_ACQUIRE) == gen && !READ_ONCE(barrier_broken)) {
		if (now_ns() > deadline)
			WRITE_ONCE(barrier_broken, 1);
		sched_yield();
	}
	return !READ_ONCE(barrier_broken);
}

static long worker_main(void *arg)
{
	struct worker *w = arg;
	u8 *r = region(w->index);

	for (int round = 0; round < ROUNDS; round++) {
		if (!barrier_wait(w->nthreads))
			return 0;
		w->start[round] = rdtsc();
		w->per_fault[round] = fault_pages(r, round % WORDS, round, w->index) / NPAGES;
		w->end[round] = rdtsc();
		/* Nobody zaps while another is timed. */
		if (!barrier_wait(w->nthreads))
			return 0;
		w->ok &= check_and_zap(r, round % WORDS, round, w->index);
	}
	return 1;
}

/* Faults per second of round r: all faults over first start to last end. */
static u64 round_rate(int n, int r)
{
	u64 first = workers[0].start[r], last = workers[0].end[r];

	for (int i = 1; i < n; i++) {
		if (workers[i].start[r] < first)
			first = workers[i].start[r];
		if (workers[i].end[r] > last)
			last = workers[i].end[r];
	}
	return last > first ? (u64)n * NPAGES * tsc_per_us * 1000000 / (last - first) : 0;
}

static bool threads(int n)
{
	struct uthread *t[MAX_THREADS];
	struct counters before, after;
	u64 med[MAX_THREADS], rate[ROUNDS];
	bool ok = true;

	read_counters(&before);
	for (int i = 0; i < n; i++) {
		workers[i] = (struct worker){ .index = i, .nthreads = n, .ok = true };
		t[i] = thread_create(worker_main, &workers[i], i % ncpus);
		if (!t[i])
			ktap_bail("thread_create: %s", errno_name(errno));
	}
	for (int i = 0; i < n; i++)
		ok &= thread_join(t[i]) == 1 && workers[i].ok;
	read_counters(&after);
	if (!ok) {
		ktap_diag("%d threads: a thread failed or did not start", n);
		return false;
	}
	for (int i = 0; i < n; i++)
		med[i] = median_u64(workers[i].per_fault, ROUNDS);
	sort_u64(med, n);
	for (int r = 0; r < ROUNDS; r++)
		rate[r] = round_rate(n, r);
	ktap_diag("%d thread%s %8lu cycles/fault (median thread), %8lu (slowest); %8lu faults/s",
		  n, n == 1 ? " " : "s", (unsigned long)med[n / 2], (unsigned long)med[n - 1],
		  (unsigned long)median_u64(rate, ROUNDS));
	print_deltas(&before, &after);
	return ok;
}

/* --- main --- */

/* Is word one of the words of /proc/cmdline? */
static bool cmdline_has(const char *word)
{
	static char buf[4096];
	size_t len = strlen(word);

	if (read_file("/proc/cmdline", buf, sizeof(buf)) < 0)
		return false;
	for (const char *p = buf; (p = strstr(p, word)) != NULL; p += len)
		if ((p == buf || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
			return true;
	return false;
}

static void calibrate(void)
{
	u64 t0 = rdtsc(), n0 = now_ns();

	sleep_ns(SETTLE_NS);
	if (now_ns() > n0)
		tsc_per_us = (rdtsc() - t0) * 1000 / (now_ns() - n0);
	ktap_diag("TSC: %lu cycles per microsecond", (unsigned long)tsc_per_us);
}

int main(void)
{
	u64 per_fault[NBESIDE], period = 0;

	ktap_plan(7);
	ncpus = online_cpus();
	ktap_diag("%s, %d CPU%s; %d fresh 4 KiB pages written per round and thread, "
		  "median of %d rounds, TSC cycles", system_name(), ncpus, ncpus == 1 ? "" : "s",
		  NPAGES, ROUNDS);
	ktap_diag("vma_lock=0 on the command line: %s", cmdline_has("vma_lock=0") ? "yes" : "no");
	if (ncpus < 2)
		ktap_diag("one CPU: the threads take turns on it");
	if (pin_to_cpu(0) < 0)
		ktap_bail("cannot pin to CPU 0: %s", errno_name(errno));
	if (!make_arena())
		ktap_bail("cannot set up the regions: %s", errno_name(errno));
	calibrate();

	ktap_ok(one_thread(ALONE, &per_fault[ALONE], &period),
		"one thread alone: every page held its write on a fresh page");
	ktap_ok(one_thread(SPINNING, &per_fault[SPINNING], &period),
		"beside a spinning thread: every page held its write on a fresh page");
	ktap_ok(one_thread(BESIDE_WRITTEN, &per_fault[BESIDE_WRITTEN], &period),
		"beside mmap+write+munmap and mprotect of other memory: every page held its write, "
		"every call succeeded, new pages read zero, mprotected ones kept their data");
	ktap_ok(one_thread(BESIDE_UNWRITTEN, &per_fault[BESIDE_UNWRITTEN], &period),
		"beside mmap+munmap and mprotect of unwritten memory: every page held its write, "
		"every call succeeded");
	print_slowdowns(per_fault);

	for (int n = 1; n <= MAX_THREADS; n *= 2)
		ktap_ok(threads(n), "%d thread%s into separate VMAs: every page held its write "
			"on a fresh page", n, n == 1 ? "" : "s");
	return ktap_finish();
}
