/* SPDX-License-Identifier: MIT */
/* bench_thp_cow - write faults on the pieces of a THP that fork shared and
 * the parent then split (docs/thp.md, "fork and copy-on-write of a THP").
 *
 * 16 MiB (8 huge pages, MADV_HUGEPAGE) are written, the process forks, the
 * parent splits each huge mapping (mprotect of one 4 KiB page to read-only
 * and back), and the parent writes one byte to every 4 KiB page, timed in
 * TSC cycles per page:
 *
 *   split, child exited   the child is gone before the writes: a kernel with
 *                         per-piece exclusivity reuses every piece in place
 *                         (one fault per page that only adds the write
 *                         right); one that copies pays a copy per page;
 *   split, child alive    the child waits until the parent has written:
 *                         every write copies, on any kernel;
 *   whole, child exited   no split: one fault per 2 MiB takes the whole
 *                         huge page back (per page: the loop's cost);
 *   4 KiB, child exited   the same timeline on 4 KiB pages (MADV_NOHUGEPAGE):
 *                         the reuse path for small pages, for reference.
 *
 * "kept" counts the pages whose frame (/proc/self/pagemap, root only on
 * Linux) did not change: reused in place rather than copied. The main
 * thread is pinned to one CPU. Test points check only that every page reads
 * back what was written; the figures are "#" lines and never fail anything
 * (docs/benchmarks.md). make bench-thp-cow runs it on Pagoda (as it boots
 * and with thp_whole_exclusive) and on Linux 6.1.
 */
#include "libc.h"
#include "uffd.h"

#define NHUGE 8
#define HUGE (2UL << 20)
#define REGION (NHUGE * HUGE)
#define NPAGES (REGION / PAGE_SIZE)
#define REPS 7
#define WAIT_NS (60L * 1000 * 1000 * 1000)

enum shape { SPLIT, WHOLE, SMALL };

struct result {
	const char *name;
	u64 cycles[REPS];
	u64 kept;               /* pages that kept their frame, all runs */
	u64 pages;              /* pages written in the runs */
	bool frames;            /* frames were readable in every run */
	int n;
};

struct shared {
	volatile int child_ready;
	volatile int parent_wrote;
};

static struct shared *sh;
static int pagemap_fd = -1;

/* 0 when the frames cannot be read: then no page counts as kept. */
static u64 pfn_of(const void *addr)
{
	u64 pfn = 0;
	return pagemap_pfn(pagemap_fd, addr, &pfn) ? 0 : pfn;
}

static void fill(u8 *p, u8 v)
{
	for (unsigned long i = 0; i < NPAGES; i++)
		*(volatile u8 *)(p + i * PAGE_SIZE + (i % 64) * 64) = v;
}

static bool pages_hold(const u8 *p, u8 v)
{
	for (unsigned long i = 0; i < NPAGES; i++)
		if (*(const volatile u8 *)(p + i * PAGE_SIZE + (i % 64) * 64) != v)
			return false;
	return true;
}

static bool split_all(u8 *p)
{
	for (int h = 0; h < NHUGE; h++) {
		u8 *a = p + h * HUGE + 7 * PAGE_SIZE;
		if (mprotect(a, PAGE_SIZE, PROT_READ) || mprotect(a, PAGE_SIZE, PROT_READ | PROT_WRITE))
			return false;
	}
	return true;
}

/* One run: fork, (split), the child exits or waits, the parent writes.
 * Records cycles per page and frames kept; false on a wrong byte. */
static bool one_run(struct result *r, enum shape shape, bool child_alive)
{
	u8 *p = mmap_aligned(REGION, HUGE);
	if (p == MAP_FAILED)
		ktap_bail("mmap of 16 MiB: %s", errno_name(errno));
	madvise(p, REGION, shape == SMALL ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
	fill(p, 1);
	static u64 pfn[NPAGES];
	for (unsigned long i = 0; i < NPAGES; i++)
		pfn[i] = pfn_of(p + i * PAGE_SIZE);
	sh->child_ready = sh->parent_wrote = 0;
	pid_t pid = fork();
	if (pid == 0) {
		sh->child_ready = 1;
		u64 deadline = now_ns() + WAIT_NS;
		while (child_alive && !sh->parent_wrote && now_ns() < deadline)
			sleep_ns(100000);
		exit(pages_hold(p, 1) ? 0 : 1);
	}
	while (!sh->child_ready)
		sleep_ns(100000);
	int code = child_alive ? 0 : reap_child(pid);
	bool ok = shape != SPLIT || split_all(p);
	u64 t0 = rdtsc();
	fill(p, 2);
	u64 cycles = (rdtsc() - t0) / NPAGES;
	sh->parent_wrote = 1;
	if (child_alive)
		code = reap_child(pid);
	ok = ok && code == 0 && pages_hold(p, 2);
	for (unsigned long i = 0; i < NPAGES; i++) {
		u64 now = pfn_of(p + i * PAGE_SIZE);
		r->frames = r->frames && pfn[i] && now;
		r->kept += now == pfn[i];
	}
	r->pages += NPAGES;
	r->cycles[r->n++] = cycles;
	munmap(p, REGION);
	return ok;
}

static void report(struct result *r)
{
	sort_u64(r->cycles, r->n);
	char kept[48];
	if (r->frames)
		snprintf(kept, sizeof(kept), "kept %lu/%lu", r->kept / r->n, r->pages / r->n);
	else
		snprintf(kept, sizeof(kept), "kept n/a");
	ktap_diag("%-32s cycles/page median=%lu min=%lu  %s", r->name, r->cycles[r->n / 2],
		  r->cycles[0], kept);
}

static void bench(const char *name, enum shape shape, bool child_alive)
{
	struct result r = { .name = name, .frames = true };
	bool ok = true;
	for (int i = 0; i < REPS && ok; i++)
		ok = one_run(&r, shape, child_alive);
	if (ktap_ok(ok, "%s: every page reads back on both sides", name))
		report(&r);
}

/* Linux: Debian's kernel starts with THP "never"; ask for Pagoda's default,
 * "madvise" (root may; Pagoda has no /sys and needs none). */
static void thp_madvise_mode(void)
{
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_WRONLY, 0);
	if (fd < 0)
		return;
	if (write(fd, "madvise", 7) != 7)
		ktap_diag("could not set THP to madvise: %s", errno_name(errno));
	close(fd);
}

int main(void)
{
	ktap_plan(4);
	thp_madvise_mode();
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY, 0);
	sh = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ktap_bail("mmap of a shared page: %s", errno_name(errno));
	ktap_diag("%s, %d CPUs, 16 MiB (8 THPs), median of %d runs, TSC cycles per 4 KiB page written",
		  system_name(), online_cpus(), REPS);
	pin_to_cpu(0);
	bench("split, child exited", SPLIT, false);
	bench("split, child alive", SPLIT, true);
	bench("whole, child exited", WHOLE, false);
	bench("4 KiB, child exited", SMALL, false);
	return ktap_finish();
}
