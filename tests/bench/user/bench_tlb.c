/* SPDX-License-Identifier: MIT */
/* bench_tlb - what an munmap costs when other CPUs have the address space
 * loaded: the price of the TLB shootdown.
 *
 * For k = 1, 2 and 4 CPUs: the main thread is pinned to the first CPU, and
 * k-1 helper threads, pinned one to each of the next CPUs, spin in user
 * mode on a cache line of their own until told to stop. Their CPUs have
 * this address space loaded and may cache its translations, so every
 * munmap must reach them. With each of them running we repeat, for 1, 32
 * and 512 pages:
 *
 *     map the pages (private anonymous), write each so that its PTE exists,
 *     then time the munmap alone with the TSC.
 *
 * Every repetition maps the same range with MAP_FIXED_NOREPLACE, which
 * succeeds only if the munmap before really removed the mapping; the range
 * keeps its page tables (see make_arena), so what is timed is the unmap and
 * the flush, never the freeing of a table. After the loop the range is
 * mapped once more and must read back zero: the pages written before are
 * gone.
 *
 * Around each loop we read the TLB counters of /proc/vmstat
 * (nr_tlb_remote_flush, ..._received, nr_tlb_local_flush_all, ..._one:
 * Pagoda always has them, Linux only with CONFIG_DEBUG_TLBFLUSH) and the
 * "TLB:" line of /proc/interrupts (Linux: shootdown IPIs handled, per CPU;
 * Pagoda has no such file), and print the differences per munmap. The
 * loop's mmap and first writes are inside that window but flush nothing on
 * either system (new PTEs need no shootdown), so the counts are the
 * munmaps'.
 *
 * The test points check only correctness (every munmap returned 0, the
 * range was free again, the helpers started on their CPUs); the figures
 * are "#" lines and never fail anything. Timings differ from run to run,
 * so this program is not part of `make linux-check`.
 */
#include "libc.h"

#define MAX_K 4			/* most CPUs a case loads the address space on */
#define MAX_REPS 200
#define HELPER_START_NS (10UL * 1000 * 1000 * 1000)	/* give up after 10 s */
/* Wait this long before measuring, and calibrate the TSC against
 * CLOCK_MONOTONIC meanwhile. tools/linux-ref starts the program about a
 * second after Linux boots; in two runs with the cpus=2 case first, its
 * medians were then 20M cycles instead of 45k, and 50k after this wait. */
#define SETTLE_NS (2L * 1000 * 1000 * 1000)

static const int cases_k[] = { 1, 2, 4 };
static const int sizes[] = { 1, 32, 512 };
static const int reps_for_size[] = { 200, 200, 50 };
#define NK ((int)ARRAY_SIZE(cases_k))
#define NSIZES ((int)ARRAY_SIZE(sizes))

/* --- the helper threads --- */

/* One cache line per helper, so that the spinning threads do not share a
 * line with each other or with the main thread's data. */
struct helper_line {
	volatile u64 spins;
	u64 pad[7];
} __aligned(64);

static struct helper_line helper_lines[MAX_K];
static volatile int helpers_stop;

/* Spin in user mode until told to stop: this CPU keeps the address space
 * loaded, and the TLB entries it holds are what the munmaps must flush.
 * Returns 1 (thread_create's wrapper reports a failed pin as < 0). */
static long helper_main(void *arg)
{
	struct helper_line *line = arg;

	while (!READ_ONCE(helpers_stop)) {
		line->spins++;
		__asm__ volatile("pause");
	}
	return 1;
}

/* --- counters from /proc --- */

enum counter {
	C_REMOTE_FLUSH,
	C_REMOTE_FLUSH_RECEIVED,
	C_LOCAL_FLUSH_ALL,
	C_LOCAL_FLUSH_ONE,
	C_IRQ_TLB,		/* sum of /proc/interrupts "TLB:" over CPUs */
	NCOUNTERS
};

static const char *const counter_names[NCOUNTERS] = {
	"nr_tlb_remote_flush", "nr_tlb_remote_flush_received",
	"nr_tlb_local_flush_all", "nr_tlb_local_flush_one", "TLB",
};

struct counters {
	u64 value[NCOUNTERS];
	bool have[NCOUNTERS];
};

static char proc_buf[32 * 1024];

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "name value" lines of /proc/vmstat. */
static void read_vmstat(struct counters *c)
{
	if (read_file("/proc/vmstat", proc_buf, sizeof(proc_buf)) < 0)
		return;
	for (int i = 0; i < C_IRQ_TLB; i++)
		c->have[i] = text_counter(proc_buf, counter_names[i], &c->value[i]);
}

/* Linux's /proc/interrupts line "       TLB:   12   34   TLB shootdowns":
 * one count per online CPU, then a description. */
static void read_interrupts(struct counters *c)
{
	const char *p = proc_buf;

	if (read_file("/proc/interrupts", proc_buf, sizeof(proc_buf)) < 0)
		return;
	while (*p) {
		const char *eol = strchr(p, '\n');

		p = skip_spaces(p);
		if (!strncmp(p, "TLB:", 4)) {
			u64 sum = 0;

			p = skip_spaces(p + 4);
			while (is_digit(*p)) {
				char *end;

				sum += strtoul(p, &end, 10);
				p = skip_spaces(end);
			}
			c->value[C_IRQ_TLB] = sum;
			c->have[C_IRQ_TLB] = true;
			return;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
}

static void read_counters(struct counters *c)
{
	memset(c, 0, sizeof(*c));
	read_vmstat(c);
	read_interrupts(c);
}

/* "a/b" with two decimals into buf, or "n/a". */
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

/* --- where the pages go --- */

/* The measured range always lies at the same place inside a PROT_NONE
 * reservation that stays mapped: a page above a 2 MiB boundary, so even
 * the 512-page range shares both of its page tables with the reservation.
 * No munmap then frees a page table, whatever the case: freeing one
 * changes the work (and, on both systems, forces a full flush), and where
 * mmap(NULL) put the range would decide it (next to a helper's stack, the
 * table is shared; alone, it is freed). The range is a hole in the
 * reservation only while measure() runs: a hole left open would take the
 * next thread stack that mmap(NULL) places (Pagoda's mmap did). */
#define ARENA_SIZE (8UL << 20)
#define TABLE_SPAN (2UL << 20)		/* what one page table maps */

static u8 *make_arena(void)
{
	u8 *arena = mmap(NULL, ARENA_SIZE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (arena == MAP_FAILED)
		return NULL;
	return (u8 *)((((unsigned long)arena + TABLE_SPAN - 1) & ~(TABLE_SPAN - 1)) + PAGE_SIZE);
}

/* Open the hole for len bytes at base. Nothing was ever mapped there, so
 * this munmap flushes nothing. */
static bool open_hole(u8 *base, size_t len)
{
	return munmap(base, len) == 0;
}

/* Fill it again with the reservation's PROT_NONE. */
static bool close_hole(u8 *base, size_t len)
{
	return mmap(base, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		    MAP_FIXED_NOREPLACE, -1, 0) == base;
}

/* --- one measurement --- */

struct result {
	bool done;
	u64 median, mean, min;
	struct counters delta;
	char ipis[16];		/* per op, for the summary */
};

static void *map_pages(void *hint, size_t len, int extra_flags)
{
	void *p = mmap(hint, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);

	/* 2 MiB could become one transparent huge page on Linux: the point
	 * is 512 PTEs. A kernel without THP may refuse the advice. */
	if (p != MAP_FAILED && len >= 512 * PAGE_SIZE)
		madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

/* Time `reps` munmaps of `npages` written pages; true if every call did
 * what it should. Figures go to *res. */
static bool measure(u8 *base, int npages, int reps, struct result *res)
{
	static u64 cycles[MAX_REPS];
	size_t len = (size_t)npages * PAGE_SIZE;
	struct counters before, after;
	volatile u8 *region = base;
	bool ok = true;
	u64 sum = 0;
	int n = 0;		/* munmaps timed */

	if (!open_hole(base, len)) {
		ktap_diag("cannot open a hole of %d pages in the reservation: %s", npages,
			  errno_name(errno));
		return false;
	}
	read_counters(&before);
	for (int r = 0; r < reps; r++) {
		volatile u8 *p;
		u64 t0, t1;
		int rc;

		p = map_pages((void *)region, len, MAP_FIXED_NOREPLACE);
		if (p != region) {
			ktap_diag("repetition %d: mmap MAP_FIXED_NOREPLACE of %d pages gave %p (errno %s)",
				  r, npages, (void *)p,
				  p == MAP_FAILED ? errno_name(errno) : "none");
			if (p != MAP_FAILED)
				munmap((void *)p, len);
			ok = false;
			break;
		}
		for (int i = 0; i < npages; i++)
			p[(size_t)i * PAGE_SIZE] = (u8)(r + 1);

		t0 = rdtsc();
		rc = munmap((void *)p, len);
		t1 = rdtsc();
		if (rc != 0) {
			ktap_diag("repetition %d: munmap of %d pages: %s", r, npages,
				  errno_name(errno));
			ok = false;
			break;
		}
		cycles[n++] = t1 - t0;
		sum += t1 - t0;
	}
	read_counters(&after);
	if (!n)
		return false;
	res->done = true;

	/* The pages written before are gone: the range maps again, zeroed. */
	if (ok) {
		volatile u8 *p = map_pages((void *)region, len, MAP_FIXED_NOREPLACE);

		if (p != region) {
			ktap_diag("after the loop: the range does not map again (%s)",
				  p == MAP_FAILED ? errno_name(errno) : "other address");
			ok = false;
			if (p != MAP_FAILED)
				munmap((void *)p, len);
		} else {
			for (int i = 0; i < npages; i++)
				if (p[(size_t)i * PAGE_SIZE] != 0) {
					ktap_diag("after the loop: page %d reads %u, not 0",
						  i, p[(size_t)i * PAGE_SIZE]);
					ok = false;
					break;
				}
			if (munmap((void *)p, len) != 0)
				ok = false;
		}
	}
	if (ok && !close_hole(base, len)) {
		ktap_diag("cannot fill the hole in the reservation again: %s", errno_name(errno));
		ok = false;
	}

	sort_u64(cycles, n);
	res->min = cycles[0];
	res->median = cycles[n / 2];
	res->mean = sum / (u64)n;
	for (int i = 0; i < NCOUNTERS; i++) {
		res->delta.have[i] = before.have[i] && after.have[i];
		res->delta.value[i] = after.value[i] - before.value[i];
	}
	/* IPIs: Pagoda's (and a debug Linux's) received-flush counter, else
	 * Linux's shootdown interrupts. */
	if (res->delta.have[C_REMOTE_FLUSH_RECEIVED])
		per_op(res->ipis, sizeof(res->ipis), true,
		       res->delta.value[C_REMOTE_FLUSH_RECEIVED], (u64)n);
	else
		per_op(res->ipis, sizeof(res->ipis), res->delta.have[C_IRQ_TLB],
		       res->delta.value[C_IRQ_TLB], (u64)n);
	return ok;
}

static void print_result(int npages, int k, int reps, const struct result *res)
{
	char f[NCOUNTERS][16];

	ktap_diag("munmap pages=%d cpus=%d cycles/op median=%lu mean=%lu min=%lu  ipis/op=%s",
		  npages, k, res->median, res->mean, res->min, res->ipis);
	for (int i = 0; i < NCOUNTERS; i++)
		per_op(f[i], sizeof(f[i]), res->delta.have[i], res->delta.value[i], (u64)reps);
	ktap_diag("  per op: remote_flush=%s remote_flush_received=%s local_flush_all=%s local_flush_one=%s interrupts_TLB=%s",
		  f[0], f[1], f[2], f[3], f[4]);
}

/* --- main --- */

static struct result results[NK][NSIZES];

/* Start k-1 helpers on cpus[1..k-1] and wait until each spins; false (with
 * a diagnostic) if one could not be pinned or did not start in time. */
static bool start_helpers(int k, const int *cpus, struct uthread **t)
{
	u64 deadline = now_ns() + HELPER_START_NS;

	helpers_stop = 0;
	for (int i = 1; i < k; i++) {
		helper_lines[i].spins = 0;
		t[i] = thread_create(helper_main, (void *)&helper_lines[i], cpus[i]);
		if (!t[i]) {
			ktap_diag("cpus=%d: cannot create a helper thread: %s", k,
				  errno_name(errno));
			return false;
		}
	}
	for (int i = 1; i < k; i++)
		while (helper_lines[i].spins == 0) {
			if (READ_ONCE(t[i]->tid) == 0) {
				ktap_diag("cpus=%d: the helper for CPU %d ended at once (pinning failed?)",
					  k, cpus[i]);
				return false;
			}
			if (now_ns() > deadline) {
				ktap_diag("cpus=%d: the helper for CPU %d did not start within 10 s",
					  k, cpus[i]);
				return false;
			}
			sched_yield();
		}
	return true;
}

/* Stop and join the helpers that were created; false if one had failed. */
static bool stop_helpers(int k, struct uthread **t)
{
	bool ok = true;

	WRITE_ONCE(helpers_stop, 1);
	for (int i = 1; i < k; i++)
		if (t[i] && thread_join(t[i]) != 1)
			ok = false;
	return ok;
}

static void run_case(u8 *base, int ki, const int *cpus, int ncpu)
{
	int k = cases_k[ki];
	struct uthread *t[MAX_K] = { 0 };
	bool helpers_ok;

	if (k > ncpu) {
		ktap_diag("skip cpus=%d: this machine lets us run on %d CPU%s", k, ncpu,
			  ncpu == 1 ? "" : "s");
		for (int si = 0; si < NSIZES; si++)
			ktap_skip("needs more CPUs", "munmap pages=%d cpus=%d", sizes[si], k);
		return;
	}
	helpers_ok = start_helpers(k, cpus, t);
	for (int si = 0; si < NSIZES; si++) {
		struct result *res = &results[ki][si];
		bool ok = helpers_ok;
		u64 spins[MAX_K];

		if (ok) {
			ktap_diag("cpus=%d pages=%d: %d munmaps...", k, sizes[si],
				  reps_for_size[si]);
			for (int i = 1; i < k; i++)
				spins[i] = helper_lines[i].spins;
			ok = measure(base, sizes[si], reps_for_size[si], res);
			for (int i = 1; i < k; i++)
				if (helper_lines[i].spins == spins[i])
					ktap_diag("note: the helper on CPU %d did not run during the loop",
						  cpus[i]);
			if (res->done)
				print_result(sizes[si], k, reps_for_size[si], res);
		}
		ktap_ok(ok, "munmap pages=%d cpus=%d: every munmap returned 0 and freed its range",
			sizes[si], k);
	}
	if (!stop_helpers(k, t) && helpers_ok)
		ktap_diag("cpus=%d: a helper thread reported a failure", k);
}

static void print_summary(void)
{
	char cell[NK][40];

	ktap_diag("summary: munmap cycles/op (median) and IPIs/op");
	ktap_diag("  %-6s %-22s %-22s %s", "pages", "cpus=1", "cpus=2", "cpus=4");
	for (int si = 0; si < NSIZES; si++) {
		for (int ki = 0; ki < NK; ki++) {
			const struct result *r = &results[ki][si];

			if (r->done)
				snprintf(cell[ki], sizeof(cell[ki]), "%lu (%s)", r->median, r->ipis);
			else
				snprintf(cell[ki], sizeof(cell[ki]), "-");
		}
		ktap_diag("  %-6d %-22s %-22s %s", sizes[si], cell[0], cell[1], cell[2]);
	}
}

int main(void)
{
	struct utsname u;
	int cpus[MAX_K], ncpu = 0, allowed = 0;
	cpu_set_t mask;
	u64 t0, n0;
	u8 *base;

	ktap_plan(NK * NSIZES);
	cpu_zero(&mask);
	sched_getaffinity(0, sizeof(mask), &mask);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (cpu_isset(c, &mask)) {
			if (ncpu < MAX_K)
				cpus[ncpu++] = c;
			allowed++;
		}
	if (!ncpu)
		cpus[ncpu++] = 0;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	ktap_diag("%s %s, %d CPUs; munmap of written private anonymous pages, TSC cycles",
		  u.sysname, u.release, allowed);
	if (pin_to_cpu(cpus[0]) < 0)
		ktap_bail("cannot pin the main thread to CPU %d: %s", cpus[0],
			  errno_name(errno));

	base = make_arena();
	if (!base)
		ktap_bail("cannot reserve %lu MiB of address space: %s", ARENA_SIZE >> 20,
			  errno_name(errno));
	/* The wait doubles as a TSC calibration, so cycles read as time. */
	t0 = rdtsc();
	n0 = now_ns();
	sleep_ns(SETTLE_NS);
	if (now_ns() > n0)
		ktap_diag("TSC: %lu cycles per microsecond",
			  (rdtsc() - t0) * 1000 / (now_ns() - n0));
	for (int ki = 0; ki < NK; ki++)
		run_case(base, ki, cpus, ncpu);
	print_summary();
	return ktap_finish();
}
