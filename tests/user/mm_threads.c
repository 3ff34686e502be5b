/* SPDX-License-Identifier: MIT */
/* mm_threads - page faults on every CPU at once in one address space.
 *
 * One thread per CPU this process may use (from sched_getaffinity), each
 * pinned to its CPU. The threads wait at a start line, then all fault in
 * their share of one shared region at the same moment; the main thread
 * checks every page afterwards. Three patterns:
 *   - blocks: thread i writes pages [i*K, (i+1)*K), disjoint page tables
 *     mostly, so this is parallel work;
 *   - interleaved: thread i writes pages i, i+N, i+2N ...: neighbours share
 *     every page table, so their faults race on the same entries;
 *   - read then write: every thread reads the whole region (zero page), then
 *     writes its interleaved pages: a write fault replaces a zero-page entry
 *     that other CPUs may hold in their TLBs.
 * A last round has each thread mmap, touch and munmap regions of its own in
 * a loop while the others do the same.
 *
 * The output does not depend on the number of CPUs.
 */
#include "libc.h"

#define MAX_THREADS 64
#define PAGES_PER_THREAD 256
#define ROUNDS_PRIVATE 50

struct worker {
	int index;		/* 0..nthreads-1 */
	int cpu;		/* the CPU it is pinned to */
	int mode;		/* which pattern (enum below) */
	long error;		/* 0, or what went wrong (reported by main) */
};

enum { MODE_BLOCKS, MODE_INTERLEAVED, MODE_READ_WRITE, MODE_PRIVATE };

static int nthreads;
static u8 *region;
static unsigned long region_pages;
static volatile int arrived;
static struct worker workers[MAX_THREADS];

static u8 pattern(unsigned long page, unsigned long off)
{
	return (u8)(page * 7 + off / 64 + 1);
}

static void write_page(unsigned long page)
{
	u8 *p = region + page * PAGE_SIZE;

	for (unsigned long off = 0; off < PAGE_SIZE; off += 64)
		p[off] = pattern(page, off);
}

static bool page_ok(unsigned long page)
{
	u8 *p = region + page * PAGE_SIZE;

	for (unsigned long off = 0; off < PAGE_SIZE; off += 64)
		if (p[off] != pattern(page, off))
			return false;
	return true;
}

/* All threads arrive, then all go: the faults happen at the same time. */
static void start_line(void)
{
	__atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
	while (READ_ONCE(arrived) < nthreads)
		__asm__ volatile("pause");
}

static long private_rounds(struct worker *w)
{
	for (int r = 0; r < ROUNDS_PRIVATE; r++) {
		size_t len = (size_t)(1 + (r + w->index) % 16) * PAGE_SIZE;
		u8 *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return 100 + errno;
		for (size_t off = 0; off < len; off += PAGE_SIZE)
			m[off] = (u8)(w->index + r);
		for (size_t off = 0; off < len; off += PAGE_SIZE)
			if (m[off] != (u8)(w->index + r))
				return 3;
		if (munmap(m, len) < 0)
			return 200 + errno;
	}
	return 0;
}

static long worker_main(void *arg)
{
	struct worker *w = arg;
	cpu_set_t mask;

	/* thread_create pinned us; confirm the kernel agrees. */
	cpu_zero(&mask);
	if (sched_getaffinity(0, sizeof(mask), &mask) < 0 ||
	    cpu_count(&mask) != 1 || !cpu_isset(w->cpu, &mask))
		w->error = 1;
	start_line();

	switch (w->mode) {
	case MODE_BLOCKS:
		for (unsigned long p = 0; p < PAGES_PER_THREAD; p++)
			write_page((unsigned long)w->index * PAGES_PER_THREAD + p);
		break;
	case MODE_READ_WRITE: {
		unsigned long sum = 0;

		for (unsigned long p = 0; p < region_pages; p++)
			sum += READ_ONCE(region[p * PAGE_SIZE + PAGE_SIZE - 1]);
		if (sum)
			w->error = 2;
		/* then write our interleaved pages, as MODE_INTERLEAVED */
		__attribute__((fallthrough));
	}
	case MODE_INTERLEAVED:
		for (unsigned long p = (unsigned long)w->index; p < region_pages; p += nthreads)
			write_page(p);
		break;
	case MODE_PRIVATE:
		if (!w->error)
			w->error = private_rounds(w);
		break;
	}
	return 0;
}

/* Run one round with every worker in the given mode; returns the number of
 * workers that reported an error (and prints what they reported). */
static int run_round(int mode, const char *name, const int *cpus)
{
	struct uthread *t[MAX_THREADS];
	int bad = 0;

	arrived = 0;
	for (int i = 0; i < nthreads; i++) {
		workers[i] = (struct worker){ .index = i, .cpu = cpus[i], .mode = mode };
		t[i] = thread_create(worker_main, &workers[i], cpus[i]);
		if (!t[i]) {
			ktap_diag("%s: thread_create %d failed: %s", name, i, errno_name(errno));
			/* Let the others pass the start line. */
			__atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
			bad++;
		}
	}
	for (int i = 0; i < nthreads; i++) {
		if (!t[i])
			continue;
		/* A thread that could not pin itself reports -1000 - errno. */
		if (thread_join(t[i]) < 0 && !workers[i].error)
			workers[i].error = 4;
		if (workers[i].error) {
			ktap_diag("%s: thread %d (cpu %d) error %ld", name, i, cpus[i],
				  workers[i].error);
			bad++;
		}
	}
	return bad;
}

int main(void)
{
	static int cpus[MAX_THREADS];
	cpu_set_t mask;
	int bad;

	ktap_plan(9);
	cpu_zero(&mask);
	if (!ktap_ok(sched_getaffinity(0, sizeof(mask), &mask) > 0 && cpu_count(&mask) > 0,
		     "sched_getaffinity reports the CPUs we may use"))
		return ktap_finish();
	for (int cpu = 0; cpu < CPU_SETSIZE && nthreads < MAX_THREADS; cpu++)
		if (cpu_isset(cpu, &mask))
			cpus[nthreads++] = cpu;

	region_pages = (unsigned long)nthreads * PAGES_PER_THREAD;
	region = mmap(NULL, region_pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		ktap_bail("mmap of the region failed: %s", errno_name(errno));

	bad = run_round(MODE_BLOCKS, "blocks", cpus);
	ktap_ok(bad == 0, "one pinned thread per CPU faults in its own block");
	bad = 0;
	for (unsigned long p = 0; p < region_pages; p++)
		bad += !page_ok(p);
	ktap_ok(bad == 0, "blocks: every page holds what its thread wrote");

	madvise(region, region_pages * PAGE_SIZE, MADV_DONTNEED);
	bad = run_round(MODE_INTERLEAVED, "interleaved", cpus);
	ktap_ok(bad == 0, "pinned threads fault in interleaved pages at once");
	bad = 0;
	for (unsigned long p = 0; p < region_pages; p++)
		bad += !page_ok(p);
	ktap_ok(bad == 0, "interleaved: every page holds what its thread wrote");

	madvise(region, region_pages * PAGE_SIZE, MADV_DONTNEED);
	bad = run_round(MODE_READ_WRITE, "read-write", cpus);
	ktap_ok(bad == 0, "threads read the zero page everywhere, then write");
	bad = 0;
	for (unsigned long p = 0; p < region_pages; p++)
		bad += !page_ok(p);
	ktap_ok(bad == 0, "read-write: every page holds what its thread wrote");

	bad = run_round(MODE_PRIVATE, "private", cpus);
	ktap_ok(bad == 0, "threads mmap, touch and munmap their own regions at once");

	ktap_ok(munmap(region, region_pages * PAGE_SIZE) == 0, "munmap the shared region");
	return ktap_finish();
}
