/* SPDX-License-Identifier: MIT */
/* process_madvise_test - process_madvise(2) with MADV_DONTNEED on our own
 * address space (docs/madvise.md): Linux allows that since 6.13, and the
 * kernel then zaps the whole vector under one mmu_gather, so the other CPUs
 * running this address space get one TLB shootdown for all ranges, not one
 * per range.
 *
 * Checks: a vector of 64 ranges zaps exactly those pages and returns their
 * total; flags != 0, more than 1024 iovecs, a descriptor that is no pidfd
 * are refused; a vector whose third range has a hole returns the bytes of
 * the first two (Linux 6.13: the bytes advised before the first failure,
 * or that failure if nothing was), the hole's mapped neighbours within the
 * third range are zapped all the same and the fourth range is left alone;
 * and, on Pagoda, /proc/self/tlbstat's nr_tlb_remote_flush grows by exactly
 * one for a 64-range call while threads spin on the other CPUs.
 *
 * Not compared with Linux (user/Makefile TEST_PROGRAMS): Debian's 6.1
 * refuses MADV_DONTNEED here with EINVAL, and then every test point is a
 * SKIP saying so.
 */
#include "libc.h"

#define NTESTS 10
#define NRANGES 64
#define WAIT_NS (10UL * 1000 * 1000 * 1000)

static bool page_is(const u8 *p, u8 v)
{
	for (size_t i = 0; i < PAGE_SIZE; i++)
		if (p[i] != v)
			return false;
	return true;
}

static u8 *map_pages(size_t n)
{
	u8 *p = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Page i of n holds (u8)(1 + i) in every byte. */
static void fill(u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memset(p + i * PAGE_SIZE, (u8)(1 + i), PAGE_SIZE);
}

/* process_madvise returning -errno on failure. */
static long pmadv(int pidfd, const struct iovec *iov, size_t n, int advice, unsigned flags)
{
	ssize_t r = process_madvise(pidfd, iov, n, advice, flags);
	return r < 0 ? -errno : r;
}

static void expect_err(long got, int want, const char *what)
{
	if (!ktap_ok(got == -want, "%s -> %s", what, errno_name(want)))
		ktap_diag("got %ld (%s)", got, got < 0 ? errno_name((int)-got) : "bytes");
}

/* Every other page of 2 * NRANGES: the even ones are the vector. */
static struct iovec vec[1025];

static void set_even_pages(u8 *p)
{
	for (int i = 0; i < NRANGES; i++) {
		vec[i].iov_base = p + 2 * i * PAGE_SIZE;
		vec[i].iov_len = PAGE_SIZE;
	}
}

static void many_ranges(int pidfd)
{
	u8 *p = map_pages(2 * NRANGES);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	fill(p, 2 * NRANGES);
	set_even_pages(p);
	long r = pmadv(pidfd, vec, NRANGES, MADV_DONTNEED, 0);
	bool ok = r == NRANGES * (long)PAGE_SIZE;
	for (int i = 0; i < 2 * NRANGES; i++)
		ok &= page_is(p + i * PAGE_SIZE, (i & 1) ? (u8)(1 + i) : 0);
	if (!ktap_ok(ok, "%d ranges: returns their total, they read zero, the pages between kept",
		     NRANGES))
		ktap_diag("returned %ld", r);
	munmap(p, 2 * NRANGES * PAGE_SIZE);
}

static void errors(int pidfd)
{
	u8 *p = map_pages(8);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	fill(p, 8);
	struct iovec one = { p, PAGE_SIZE };
	expect_err(pmadv(pidfd, &one, 1, MADV_DONTNEED, 1), EINVAL, "flags 1");
	for (int i = 0; i < 1025; i++)
		vec[i] = one;
	expect_err(pmadv(pidfd, vec, 1025, MADV_DONTNEED, 0), EINVAL, "1025 iovecs");
	expect_err(pmadv(999, &one, 1, MADV_DONTNEED, 0), EBADF, "fd 999 (not open)");
	expect_err(pmadv(1, &one, 1, MADV_DONTNEED, 0), EBADF, "fd 1 (not a pidfd)");
	ktap_ok(page_is(p, 1), "refused calls zapped nothing");

	/* Ranges: pages 0, 1, 3..5 (4 a hole), 7. */
	munmap(p + 4 * PAGE_SIZE, PAGE_SIZE);
	struct iovec v4[4] = {
		{ p, PAGE_SIZE }, { p + PAGE_SIZE, PAGE_SIZE },
		{ p + 3 * PAGE_SIZE, 3 * PAGE_SIZE }, { p + 7 * PAGE_SIZE, PAGE_SIZE },
	};
	long r = pmadv(pidfd, v4, 4, MADV_DONTNEED, 0);
	bool ok = r == 2 * (long)PAGE_SIZE && page_is(p, 0) && page_is(p + PAGE_SIZE, 0);
	ok &= page_is(p + 3 * PAGE_SIZE, 0) && page_is(p + 5 * PAGE_SIZE, 0);
	ok &= page_is(p + 2 * PAGE_SIZE, 3) && page_is(p + 7 * PAGE_SIZE, 8);
	if (!ktap_ok(ok, "hole in the 3rd range: the bytes of the first two; the 3rd's mapped pages zapped, the 4th kept"))
		ktap_diag("returned %ld", r);
	struct iovec hole = { p + 4 * PAGE_SIZE, PAGE_SIZE };
	expect_err(pmadv(pidfd, &hole, 1, MADV_DONTNEED, 0), ENOMEM, "first range unmapped");
	munmap(p, 8 * PAGE_SIZE);
}

/* --- one shootdown per call --- */

struct spinner {
	volatile u64 spins;
	u64 pad[7];
} __aligned(64);

static struct spinner spinners[64];
static volatile int spinners_stop;

static long spin_main(void *arg)
{
	struct spinner *s = arg;

	while (!READ_ONCE(spinners_stop)) {
		s->spins++;
		__asm__ volatile("pause");
	}
	return 1;
}

static void one_flush(int pidfd)
{
	int n = online_cpus();
	if (n < 2) {
		ktap_skip("one CPU: no remote CPU to flush", "one remote flush for %d ranges", NRANGES);
		return;
	}
	if (proc_counter("/proc/self/tlbstat", "nr_tlb_remote_flush") < 0) {
		ktap_skip("no /proc/self/tlbstat (Pagoda's own)", "one remote flush for %d ranges",
			  NRANGES);
		return;
	}
	if (n > 64)
		n = 64;
	u8 *p = map_pages(2 * NRANGES);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	fill(p, 2 * NRANGES);
	set_even_pages(p);
	pin_to_cpu(0);
	struct uthread *t[64] = { 0 };
	bool ok = true;
	u64 deadline = now_ns() + WAIT_NS;
	spinners_stop = 0;
	for (int i = 1; i < n; i++) {
		t[i] = thread_create(spin_main, &spinners[i], i);
		ok &= t[i] != NULL;
	}
	for (int i = 1; ok && i < n; i++)
		while (spinners[i].spins == 0 && ok) {
			ok = now_ns() < deadline && READ_ONCE(t[i]->tid) != 0;
			sched_yield();
		}
	long before = proc_counter("/proc/self/tlbstat", "nr_tlb_remote_flush");
	long r = ok ? pmadv(pidfd, vec, NRANGES, MADV_DONTNEED, 0) : -1;
	long after = proc_counter("/proc/self/tlbstat", "nr_tlb_remote_flush");
	WRITE_ONCE(spinners_stop, 1);
	for (int i = 1; i < n; i++)
		if (t[i] && thread_join(t[i]) != 1)
			ok = false;
	bool zero = true;
	for (int i = 0; i < NRANGES; i++)
		zero &= page_is(p + 2 * i * PAGE_SIZE, 0);
	if (!ktap_ok(ok && r == NRANGES * (long)PAGE_SIZE && zero && after - before == 1,
		     "one remote flush for %d ranges while the other CPUs run this address space",
		     NRANGES))
		ktap_diag("helpers %s, returned %ld, nr_tlb_remote_flush grew by %ld",
			  ok ? "ran" : "failed", r, after - before);
	munmap(p, 2 * NRANGES * PAGE_SIZE);
}

int main(void)
{
	ktap_plan(NTESTS);
	int pidfd = pidfd_open(getpid(), 0);
	if (!ktap_ok(pidfd >= 0, "pidfd_open(getpid())"))
		ktap_bail("pidfd_open: %s", errno_name(errno));

	/* Linux before 6.13 refuses MADV_DONTNEED in process_madvise: say so
	 * and skip. Pagoda must accept it, so there a refusal fails below. */
	u8 *probe = map_pages(1);
	struct iovec one = { probe, PAGE_SIZE };
	if (!strcmp(system_name(), "Linux") &&
	    process_madvise(pidfd, &one, 1, MADV_DONTNEED, 0) < 0 && errno == EINVAL) {
		for (int i = 2; i <= NTESTS; i++)
			ktap_skip("this Linux refuses MADV_DONTNEED in process_madvise (before 6.13)",
				  "process_madvise check %d", i);
		return ktap_finish();
	}
	munmap(probe, PAGE_SIZE);

	many_ranges(pidfd);	/* 1 */
	errors(pidfd);		/* 7 */
	one_flush(pidfd);	/* 1 */
	close(pidfd);
	return ktap_finish();
}
