/* SPDX-License-Identifier: MIT */
/* thp_cow_test - copy-on-write of a transparent huge page that fork shared
 * and the parent then split (docs/thp.md, "fork and copy-on-write of a THP").
 *
 * The timeline: a 2 MiB MADV_HUGEPAGE region is written (one huge page),
 * the process forks, the parent's huge mapping is split (mprotect of one
 * 4 KiB page to read-only and back, which both kernels do by splitting the
 * PMD), and then
 *   (a) the child exits, and the parent writes every 4 KiB page;
 *   (b) the child stays, and the parent writes every 4 KiB page.
 * Frames are read from /proc/self/pagemap (Linux shows them to root only:
 * without them the frame tests are skipped, on either system).
 *
 * Both kernels must keep every byte right and copy in (b). In (a) Pagoda
 * keeps per-page exclusivity and takes every piece back in place; Linux 6.1
 * keeps it per page too (PageAnonExclusive) but still copies the pieces of
 * a large folio (reuse came with Linux 6.15's per-mm mapcount tracking):
 * that test is Pagoda's and is skipped on Linux. The program switches
 * Linux's THP from Debian's "never" to "madvise" (Pagoda's default); with
 * no huge page the frame tests say so and skip.
 */
#include "libc.h"
#include "uffd.h"

#define NTESTS 7
#define HUGE (2UL << 20)
#define NPIECES (HUGE / PAGE_SIZE)
#define WAIT_NS (60L * 1000 * 1000 * 1000)

struct shared {
	volatile int parent_wrote;
	volatile int child_ready;
};

static struct shared *sh;
static int pagemap_fd = -1;

static u64 pfn_of(const void *addr)
{
	u64 pfn = 0;
	if (pagemap_pfn(pagemap_fd, addr, &pfn))
		ktap_bail("pread /proc/self/pagemap: %s", errno_name(errno));
	return pfn;
}

static u64 val(size_t i, u64 gen) { return (gen << 32) | i; }

static void fill(u8 *r, u64 gen)
{
	for (size_t i = 0; i < NPIECES; i++)
		*(volatile u64 *)(r + i * PAGE_SIZE) = val(i, gen);
}

static size_t holding(const u8 *r, u64 gen)
{
	size_t n = 0;
	for (size_t i = 0; i < NPIECES; i++)
		n += *(const volatile u64 *)(r + i * PAGE_SIZE) == val(i, gen);
	return n;
}

/* Pieces whose frame is still pfn0 + i. */
static size_t same_frames(const u8 *r, u64 pfn0)
{
	size_t n = 0;
	for (size_t i = 0; i < NPIECES; i++)
		n += pfn_of(r + i * PAGE_SIZE) == pfn0 + i;
	return n;
}

/* A written huge page at a new region: its first frame, 0 when the frames
 * cannot be read, ~0 when the region is not one huge page. */
static u64 huge_region(u8 **rp)
{
	u8 *r = mmap_aligned(HUGE, HUGE);
	if (r == MAP_FAILED)
		ktap_bail("mmap of 2 MiB: %s", errno_name(errno));
	madvise(r, HUGE, MADV_HUGEPAGE);
	fill(r, 1);
	*rp = r;
	u64 pfn0 = pfn_of(r);
	if (!pfn0)
		return 0;
	return (pfn0 % NPIECES == 0 && same_frames(r, pfn0) == NPIECES) ? pfn0 : ~0UL;
}

/* The split: a VMA boundary inside the huge mapping, then none again. */
static bool split_by_mprotect(u8 *r)
{
	return mprotect(r + 7 * PAGE_SIZE, PAGE_SIZE, PROT_READ) == 0 &&
	       mprotect(r + 7 * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE) == 0;
}

static bool frames_ok(u64 pfn0, const char *what)
{
	if (pfn0 == 0) {
		ktap_skip("no frame numbers in /proc/self/pagemap (not root)", "%s", what);
		return false;
	}
	if (pfn0 == ~0UL) {
		ktap_skip("no huge page here (THP off)", "%s", what);
		return false;
	}
	return true;
}

/* (a): fork, split, the child exits, the parent writes. */
static void child_exits(void)
{
	u8 *r;
	u64 pfn0 = huge_region(&r);
	bool frames = pfn0 && pfn0 != ~0UL;
	if (frames_ok(pfn0, "a written MADV_HUGEPAGE 2 MiB region is one huge page (512 frames in a row)"))
		ktap_ok(true, "a written MADV_HUGEPAGE 2 MiB region is one huge page (512 frames in a row)");
	pid_t pid = fork();
	if (pid == 0)
		exit(holding(r, 1) == NPIECES ? 0 : 1);
	bool split = split_by_mprotect(r);
	int code = reap_child(pid);
	if (frames_ok(pfn0, "fork, split in the parent, the child exits: the parent keeps its frames"))
		ktap_ok(split && code == 0 && same_frames(r, pfn0) == NPIECES,
			"fork, split in the parent, the child exits: the parent keeps its frames");
	long free0 = proc_field("/proc/meminfo", "MemFree");
	long rss0 = proc_field("/proc/self/status", "VmRSS");
	fill(r, 2);
	size_t same = frames ? same_frames(r, pfn0) : 0;
	long free1 = proc_field("/proc/meminfo", "MemFree");
	long rss1 = proc_field("/proc/self/status", "VmRSS");
	ktap_ok(holding(r, 2) == NPIECES, "then the parent writes every 4 KiB page: every page reads back");
	const char *reuse = "the parent's writes reuse every piece in place: same frames, "
			    "MemFree and VmRSS unchanged";
	if (strcmp(system_name(), "Pagoda"))
		ktap_skip("Linux 6.1 copies the pieces of a PTE-mapped THP", "%s", reuse);
	else if (frames_ok(pfn0, reuse)) {
		if (!ktap_ok(same == NPIECES && free0 - free1 < 1024 && rss1 == rss0, "%s", reuse))
			ktap_diag("same frames %lu of %lu, MemFree %ld -> %ld kB, VmRSS %ld -> %ld kB",
				  same, NPIECES, free0, free1, rss0, rss1);
	}
	munmap(r, HUGE);
}

/* (b): fork, split, the child stays while the parent writes. */
static void child_stays(void)
{
	u8 *r;
	u64 pfn0 = huge_region(&r);
	sh->parent_wrote = 0;
	sh->child_ready = 0;
	pid_t pid = fork();
	if (pid == 0) {
		sh->child_ready = 1;
		u64 deadline = now_ns() + WAIT_NS;
		while (!sh->parent_wrote && now_ns() < deadline)
			sleep_ns(100000);
		exit(!sh->parent_wrote ? 10 : holding(r, 1) == NPIECES ? 0 : 11);
	}
	while (!sh->child_ready)
		sleep_ns(100000);
	bool split = split_by_mprotect(r);
	fill(r, 2);
	size_t same = pfn0 && pfn0 != ~0UL ? same_frames(r, pfn0) : 0;
	bool mine = holding(r, 2) == NPIECES;
	sh->parent_wrote = 1;
	int code = reap_child(pid);
	ktap_ok(split && mine, "with the child alive, the parent writes every page of its split THP");
	if (frames_ok(pfn0, "with the child alive, every write copies (no frame kept)"))
		ktap_ok(same == 0, "with the child alive, every write copies (no frame kept)");
	if (!ktap_ok(code == 0, "the child still reads what was there at fork"))
		ktap_diag("child exit %d", code);
	munmap(r, HUGE);
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
	ktap_plan(NTESTS);
	thp_madvise_mode();
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY, 0);
	if (pagemap_fd < 0)
		ktap_bail("open /proc/self/pagemap: %s", errno_name(errno));
	sh = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ktap_bail("mmap of a shared page: %s", errno_name(errno));
	child_exits();
	child_stays();
	return ktap_finish();
}
