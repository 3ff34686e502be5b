/* SPDX-License-Identifier: MIT */
/* mremap_pagoda_test - mremap(2) (docs/mremap.md), on Pagoda and Linux 6.1
 * alike (the name keeps clear of Linux's selftest mremap_test).
 *
 * Checks:
 *   - every argument error, in Linux 6.1's order: flags, FIXED or
 *     DONTUNMAP without MAYMOVE, DONTUNMAP resizing, an unaligned address,
 *     a zero new length (EINVAL); no mapping, a range past its VMA
 *     (EFAULT); a private old_len 0, an unaligned or overlapping FIXED
 *     target (EINVAL); a grow that cannot move (ENOMEM);
 *   - shrink in place (the tail unmapped), grow in place (the new part
 *     zero and writable), grow by a move (same frames, old range gone),
 *     MREMAP_FIXED over another mapping (it is replaced), a shrinking
 *     FIXED move, MREMAP_DONTUNMAP (old range mapped and empty), old_len
 *     0 duplicating a shared mapping (both views share the pages);
 *   - a 2 MiB huge page moved to a 2 MiB-aligned address stays huge
 *     (AnonHugePages), moved to a misaligned one it is split, contents kept;
 *   - the moved pages are soft-dirty after a clear_refs;
 *   - a thread on another CPU that kept reading the range sees the data at
 *     the new address, and a forked child touching the old one dies of
 *     SIGSEGV;
 *   - userfaultfd: the moved VMA is no longer registered (no
 *     UFFD_FEATURE_EVENT_REMAP); the old range of a DONTUNMAP keeps its
 *     registration;
 *   - a MAP_LOCKED mapping grown by mremap has its new part populated.
 */
#include "libc.h"
#include "uffd.h"

#define NTESTS 27
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MREMAP_DONTUNMAP 4
#define __NR_mremap_ 25
#define HUGE (2UL << 20)
#define MAP_LOCKED_ 0x2000

static int pagemap_fd = -1;

/* The raw call: the address, or -errno. */
static long xmremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return raw_syscall5(__NR_mremap_, (long)old, (long)old_len, (long)new_len, flags,
			    (long)new_addr);
}

static u8 *map(size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | flags, -1, 0);
	if (p == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	return p;
}

static void fill(u8 *p, size_t len, u8 seed)
{
	for (size_t i = 0; i < len; i += 512)
		p[i] = (u8)(seed + i / 512);
}

static bool check(const u8 *p, size_t len, u8 seed)
{
	for (size_t i = 0; i < len; i += 512)
		if (p[i] != (u8)(seed + i / 512))
			return false;
	return true;
}

/* Is [p, p + len) mapped all over? mprotect fails with ENOMEM on a hole. */
static bool mapped(void *p, size_t len)
{
	return mprotect(p, len, PROT_READ | PROT_WRITE) == 0;
}

static bool unmapped_page(void *p)
{
	return mprotect(p, PAGE_SIZE, PROT_READ | PROT_WRITE) < 0 && errno == ENOMEM;
}

static u64 pagemap(const void *addr)
{
	u64 e = 0;
	if (pread(pagemap_fd, &e, sizeof(e), (off_t)((u64)addr / PAGE_SIZE * 8)) != sizeof(e))
		ktap_bail("pread pagemap: %s", errno_name(errno));
	return e;
}

static void expect(long got, long want, const char *what)
{
	if (!ktap_ok(got == want, "%s -> %s", what, want < 0 ? errno_name((int)-want) : "ok"))
		ktap_diag("got %ld", got);
}

static void errors(void)
{
	u8 *a = map(4 * PAGE_SIZE, MAP_PRIVATE);
	u8 *b = map(PAGE_SIZE, MAP_PRIVATE);
	expect(xmremap(a, PAGE_SIZE, PAGE_SIZE, 8, NULL), -EINVAL, "unknown flag");
	expect(xmremap(a, PAGE_SIZE, PAGE_SIZE, MREMAP_FIXED, b), -EINVAL, "FIXED without MAYMOVE");
	expect(xmremap(a, PAGE_SIZE, PAGE_SIZE, MREMAP_DONTUNMAP, NULL), -EINVAL,
	       "DONTUNMAP without MAYMOVE");
	expect(xmremap(a, PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, NULL),
	       -EINVAL, "DONTUNMAP with old_len != new_len");
	expect(xmremap(a + 1, PAGE_SIZE, PAGE_SIZE, 0, NULL), -EINVAL, "unaligned address");
	expect(xmremap(a, PAGE_SIZE, 0, 0, NULL), -EINVAL, "new_len 0");
	munmap(a + 3 * PAGE_SIZE, PAGE_SIZE);
	expect(xmremap(a + 3 * PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, 0, NULL), -EFAULT, "no mapping");
	expect(xmremap(a, 4 * PAGE_SIZE, 5 * PAGE_SIZE, MREMAP_MAYMOVE, NULL), -EFAULT,
	       "old range past its VMA");
	expect(xmremap(a, 0, PAGE_SIZE, MREMAP_MAYMOVE, NULL), -EINVAL, "old_len 0, private");
	expect(xmremap(a, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, b + 1), -EINVAL,
	       "FIXED to an unaligned address");
	expect(xmremap(a, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		       a + PAGE_SIZE), -EINVAL, "FIXED overlapping the old range");
	/* a's 3 pages with a mapped page right after them (b placed there). */
	u8 *c = mmap(a + 3 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	expect(xmremap(a, 3 * PAGE_SIZE, 4 * PAGE_SIZE, 0, NULL), -ENOMEM,
	       "grow in place into a mapping, no MAYMOVE");
	munmap(a, 3 * PAGE_SIZE);
	munmap(b, PAGE_SIZE);
	munmap(c, PAGE_SIZE);
}

static void resize_in_place(void)
{
	u8 *a = map(4 * PAGE_SIZE, MAP_PRIVATE);
	fill(a, 4 * PAGE_SIZE, 1);
	long r = xmremap(a, 4 * PAGE_SIZE, 2 * PAGE_SIZE, 0, NULL);
	ktap_ok(r == (long)a && check(a, 2 * PAGE_SIZE, 1) && unmapped_page(a + 2 * PAGE_SIZE) &&
		unmapped_page(a + 3 * PAGE_SIZE), "shrink in place: head kept, tail unmapped");
	r = xmremap(a, 2 * PAGE_SIZE, 4 * PAGE_SIZE, 0, NULL);
	bool zero = a[2 * PAGE_SIZE] == 0 && a[4 * PAGE_SIZE - 1] == 0;
	a[3 * PAGE_SIZE] = 7;
	ktap_ok(r == (long)a && check(a, 2 * PAGE_SIZE, 1) && zero && a[3 * PAGE_SIZE] == 7,
		"grow in place: contents kept, new part zero and writable");
	munmap(a, 4 * PAGE_SIZE);
}

static void moves(void)
{
	u8 *a = map(4 * PAGE_SIZE, MAP_PRIVATE);
	fill(a, 4 * PAGE_SIZE, 2);
	u8 *guard = mmap(a + 4 * PAGE_SIZE, PAGE_SIZE, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	u64 pfn0 = 0, pfn1 = 0;
	pagemap_pfn(pagemap_fd, a, &pfn0);
	long r = xmremap(a, 4 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE, NULL);
	u8 *n = (u8 *)r;
	if (r > 0)
		pagemap_pfn(pagemap_fd, n, &pfn1);
	ktap_ok(r > 0 && n != a && check(n, 4 * PAGE_SIZE, 2) && pfn0 == pfn1 && unmapped_page(a) &&
		n[7 * PAGE_SIZE] == 0, "grow by a move: same frames at the new address, old gone");
	/* FIXED over another mapping, shrinking on the way. */
	u8 *t = map(2 * PAGE_SIZE, MAP_PRIVATE);
	fill(t, 2 * PAGE_SIZE, 99);
	r = xmremap(n, 8 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, t);
	ktap_ok(r == (long)t && check(t, 2 * PAGE_SIZE, 2) && unmapped_page(n) &&
		unmapped_page(n + 3 * PAGE_SIZE), "FIXED, shrinking: the target replaced, old gone");
	/* DONTUNMAP: the old range stays, empty. */
	r = xmremap(t, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	n = (u8 *)r;
	bool old_ok = r > 0 && mapped(t, 2 * PAGE_SIZE) && t[0] == 0 && t[PAGE_SIZE + 512] == 0;
	if (r > 0)
		t[0] = 5;
	ktap_ok(old_ok && check(n, 2 * PAGE_SIZE, 2) && t[0] == 5 && n[0] != 5,
		"DONTUNMAP: moved, the old range mapped and empty");
	munmap(n, 2 * PAGE_SIZE);
	munmap(t, 2 * PAGE_SIZE);
	munmap(guard, PAGE_SIZE);
}

static void shared_dup(void)
{
	u8 *s = map(2 * PAGE_SIZE, MAP_SHARED);
	fill(s, 2 * PAGE_SIZE, 3);
	long r = xmremap(s, 0, 2 * PAGE_SIZE, MREMAP_MAYMOVE, NULL);
	u8 *d = (u8 *)r;
	bool ok = r > 0 && d != s && check(d, 2 * PAGE_SIZE, 3);
	if (r > 0)
		d[PAGE_SIZE] = 77;
	ktap_ok(ok && s[PAGE_SIZE] == 77 && mapped(s, 2 * PAGE_SIZE),
		"old_len 0 duplicates a shared mapping: one set of pages");
	r = xmremap(d, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	u8 *e = (u8 *)r;
	ok = r > 0 && e[PAGE_SIZE] == 77 && d[PAGE_SIZE] == 77;   /* shared: refaults the page */
	ktap_ok(ok, "DONTUNMAP of a shared mapping: the old range still sees the object");
	if (r > 0)
		munmap(e, 2 * PAGE_SIZE);
	munmap(d, 2 * PAGE_SIZE);
	munmap(s, 2 * PAGE_SIZE);
}

static long anon_huge_kb(void)
{
	return proc_field("/proc/meminfo", "AnonHugePages");
}

/* A 2 MiB huge page moved to `to` (offset from a 2 MiB boundary). */
static void thp_move(size_t offset)
{
	u8 *area = mmap_aligned(3 * HUGE, HUGE);
	if (area == MAP_FAILED)
		ktap_bail("mmap_aligned: %s", errno_name(errno));
	munmap(area + HUGE, 2 * HUGE);
	long base = anon_huge_kb();
	madvise(area, HUGE, MADV_HUGEPAGE);
	fill(area, HUGE, 4);
	long huge = anon_huge_kb() - base;
	u8 *to = area + HUGE + offset;
	long r = xmremap(area, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	long after = anon_huge_kb() - base;
	bool ok = r == (long)to && check(to, HUGE, 4) && unmapped_page(area);
	if (offset == 0)
		ktap_ok(ok && huge == 2048 && after == 2048,
			"THP moved to a 2 MiB-aligned address stays huge, contents kept");
	else
		ktap_ok(ok && huge == 2048 && after == 0,
			"THP moved to a misaligned address is split, contents kept");
	if (!ok || huge != 2048)
		ktap_diag("r %ld, AnonHugePages +%ld kB before, +%ld kB after", r, huge, after);
	munmap(to, HUGE);
}

static void soft_dirty(void)
{
	u8 *a = map(4 * PAGE_SIZE, MAP_PRIVATE);
	fill(a, 4 * PAGE_SIZE, 6);
	int fd = open("/proc/self/clear_refs", O_WRONLY, 0);
	if (fd < 0 || write(fd, "4", 1) != 1)
		ktap_bail("clear_refs: %s", errno_name(errno));
	close(fd);
	bool clean = !(pagemap(a) & PM_SOFT_DIRTY);
	u8 *t = map(8 * PAGE_SIZE, MAP_PRIVATE);
	munmap(t, 8 * PAGE_SIZE);
	long r = xmremap(a, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
			 t + PAGE_SIZE);
	u8 *n = (u8 *)r;
	bool dirty = r > 0;
	for (int i = 0; r > 0 && i < 4; i++)
		dirty &= (pagemap(n + i * PAGE_SIZE) & (PM_SOFT_DIRTY | PM_PRESENT)) ==
			 (PM_SOFT_DIRTY | PM_PRESENT);
	ktap_ok(clean && dirty && check(n, 4 * PAGE_SIZE, 6),
		"moved pages are soft-dirty after a clear_refs");
	munmap(n, 4 * PAGE_SIZE);
}

/* stopped: the reader has left its loop and reads the old range no more;
 * the move waits for it, or a read begun just before "stop" could land
 * after the move and fault (a stalled virtual CPU makes that window wide).
 * Its TLB still holds the old entries: the move must shoot them down. */
struct reader {
	volatile u8 *p;
	volatile int stop, stopped, moved, seen;
	volatile u8 *newp;
};

static long reader_main(void *arg)
{
	struct reader *r = arg;
	u64 sum = 0;
	while (!r->stop)
		sum += r->p[0] + r->p[PAGE_SIZE];       /* hot TLB entries */
	r->stopped = 1;
	while (!r->moved)
		;
	r->seen = r->newp[0] == 0xab && r->newp[PAGE_SIZE] == 0xcd;
	return (long)(sum & 1);
}

static long touch_old(void *arg)
{
	volatile u8 *p = arg;
	return p[0];    /* must not return: SIGSEGV */
}

static void remote_reader(void)
{
	u8 *a = map(3 * PAGE_SIZE, MAP_PRIVATE);
	mprotect(a + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ);     /* no growing in place */
	a[0] = 1;
	a[PAGE_SIZE] = 2;
	struct reader rd = { .p = a };
	struct uthread *t = thread_create(reader_main, &rd, online_cpus() > 1 ? 1 : -1);
	if (!t)
		ktap_bail("thread_create: %s", errno_name(errno));
	sleep_ns(20 * 1000 * 1000);
	rd.stop = 1;
	while (!rd.stopped)
		;
	long r = xmremap(a, 2 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE, NULL);
	u8 *n = (u8 *)r;
	if (r > 0) {
		n[0] = 0xab;
		n[PAGE_SIZE] = 0xcd;
	}
	rd.newp = n;
	rd.moved = 1;
	thread_join(t);
	ktap_ok(r > 0 && rd.seen, "a thread on another CPU reads the new data at the new address");
	pid_t pid = fork();
	if (pid == 0)
		exit((int)touch_old(a));
	int st = reap_child(pid);
	ktap_ok(st == 1000 + 11, "a child touching the old address dies of SIGSEGV");
	if (st != 1000 + 11)
		ktap_diag("child status %d", st);
	if (r > 0)
		munmap(n, 4 * PAGE_SIZE);
	munmap(a + 2 * PAGE_SIZE, PAGE_SIZE);
}

static void uffd(void)
{
	int fd = uffd_open(UFFD_FEATURE_PAGEFAULT_FLAG_WP, NULL);
	u8 *a = map(2 * PAGE_SIZE, MAP_PRIVATE);
	fill(a, 2 * PAGE_SIZE, 8);
	struct uffdio_register reg = { .range = { (u64)a, 2 * PAGE_SIZE },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { (u64)a, 2 * PAGE_SIZE },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0 || ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0)
		ktap_bail("uffd register/protect: %s", errno_name(errno));
	long r = xmremap(a, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	u8 *n = (u8 *)r;
	bool moved_ok = r > 0 && check(n, 2 * PAGE_SIZE, 8);
	if (r > 0)
		n[0] = 9;       /* unregistered now: no handler, no wait */
	wp.range.start = (u64)n;
	int new_wp = ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0 ? -errno : 0;
	wp.range.start = (u64)a;
	int old_wp = ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0 ? -errno : 0;
	ktap_ok(moved_ok && n[0] == 9 && new_wp == -ENOENT,
		"uffd-wp: the moved VMA is no longer registered (writable, WRITEPROTECT ENOENT)");
	ktap_ok(old_wp == 0 && a[PAGE_SIZE] == 0,
		"uffd-wp: DONTUNMAP's old range keeps its registration, empty");
	munmap(n, 2 * PAGE_SIZE);
	munmap(a, 2 * PAGE_SIZE);
	close(fd);
}

static void locked(void)
{
	u8 *a = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED_, -1, 0);
	if (a == MAP_FAILED)
		ktap_bail("mmap MAP_LOCKED: %s", errno_name(errno));
	u8 *g = mmap(a + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	long r = xmremap(a, 2 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE, NULL);
	u8 *n = (u8 *)r;
	bool present = r > 0;
	for (int i = 0; r > 0 && i < 4; i++)
		present &= (pagemap(n + i * PAGE_SIZE) & PM_PRESENT) != 0;
	ktap_ok(present, "a locked mapping grown by a move is populated");
	if (r > 0)
		munmap(n, 4 * PAGE_SIZE);
	munmap(g, PAGE_SIZE);
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
	thp_madvise_mode();
	ktap_plan(NTESTS);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY, 0);
	if (pagemap_fd < 0)
		ktap_bail("open pagemap: %s", errno_name(errno));
	errors();
	resize_in_place();
	moves();
	shared_dup();
	thp_move(0);
	thp_move(PAGE_SIZE);
	soft_dirty();
	remote_reader();
	uffd();
	locked();
	return ktap_finish();
}
