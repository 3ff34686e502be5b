/* SPDX-License-Identifier: MIT */
/* mm_basic - mmap, munmap and mprotect of anonymous memory, checked against
 * /proc/self/maps, plus the errors Linux gives for bad arguments.
 *
 * All layout tests work inside an "arena": 64 pages reserved with PROT_NONE
 * with an unmapped page on either side, so no other mapping can merge with
 * what we look at. Maps lines are printed relative to the arena base, in
 * pages ("0-8 rw-p" is the arena's first 8 pages, readable and writable,
 * private), so the output is the same wherever the kernel put the arena.
 *
 * Every expected value was checked on Linux (see docs/user-programs.md).
 * One line differs by design: MAP_HUGETLB names the kernel's hugetlbfs,
 * which Debian's Linux has and Pagoda has not (docs/syscalls.md).
 */
#include "libc.h"

#define ARENA_PAGES 64
#define P(n) ((unsigned long)(n) * PAGE_SIZE)

static u8 *arena;

static void *arena_map(unsigned long first, unsigned long npages, int prot, int flags)
{
	return mmap(arena + P(first), P(npages), prot,
		    flags | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* The maps lines inside the arena, clipped to it, as "a-b perm" in pages,
 * separated by commas. */
static void arena_layout(char *out, size_t size)
{
	static struct map_entry maps[512];
	unsigned long lo = (unsigned long)arena, hi = lo + P(ARENA_PAGES);
	int n = read_maps(maps, 512);
	size_t len = 0;

	out[0] = 0;
	if (n < 0) {
		snprintf(out, size, "(cannot read /proc/self/maps)");
		return;
	}
	for (int i = 0; i < n; i++) {
		unsigned long s = maps[i].start, e = maps[i].end;

		if (e <= lo || s >= hi)
			continue;
		if (s < lo)
			s = lo;
		if (e > hi)
			e = hi;
		len += (size_t)snprintf(out + len, size - len, "%s%lu-%lu %s",
					len ? "," : "", (s - lo) / PAGE_SIZE,
					(e - lo) / PAGE_SIZE, maps[i].perms);
		if (len >= size)
			break;
	}
}

static void expect_layout(const char *expected, const char *what)
{
	char got[512];

	arena_layout(got, sizeof(got));
	if (!ktap_ok(!strcmp(got, expected), "maps: %s", what)) {
		ktap_diag("expected: %s", expected);
		ktap_diag("got:      %s", got);
	}
}

/* ret must be -1 (or MAP_FAILED) with errno err. */
static void expect_err(long ret, int err, const char *what)
{
	int e = errno;

	if (!ktap_ok(ret == -1 && e == err, "%s -> %s", what, errno_name(err)))
		ktap_diag("got ret=%ld errno=%s", ret, ret == -1 ? errno_name(e) : "-");
}

static void expect_zero(long ret, const char *what)
{
	int e = errno;

	if (!ktap_ok(ret == 0, "%s -> 0", what))
		ktap_diag("got ret=%ld errno=%s", ret, ret == -1 ? errno_name(e) : "-");
}

/* Write a byte pattern that names each page; check it. */
static void fill(unsigned long first, unsigned long npages, u8 tag)
{
	for (unsigned long p = first; p < first + npages; p++)
		for (unsigned long off = 0; off < PAGE_SIZE; off += 512)
			arena[P(p) + off] = (u8)(tag + p);
}

static bool check(unsigned long first, unsigned long npages, u8 tag)
{
	for (unsigned long p = first; p < first + npages; p++)
		for (unsigned long off = 0; off < PAGE_SIZE; off += 512)
			if (arena[P(p) + off] != (u8)(tag + p))
				return false;
	return true;
}

static bool all_zero(const u8 *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void test_layout(void)
{
	void *r;

	expect_layout("0-64 ---p", "the arena is one PROT_NONE mapping");

	r = arena_map(0, 8, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	ktap_ok(r == arena, "MAP_FIXED maps at the exact address");
	expect_layout("0-8 rw-p,8-64 ---p", "MAP_FIXED over part of a mapping splits it");
	fill(0, 8, 0x10);
	ktap_ok(check(0, 8, 0x10), "8 private pages hold what was written");

	expect_zero(mprotect(arena + P(2), P(2), PROT_READ), "mprotect pages 2-3 read-only");
	expect_layout("0-2 rw-p,2-4 r--p,4-8 rw-p,8-64 ---p", "mprotect in the middle splits in three");
	expect_zero(mprotect(arena + P(2), P(2), PROT_READ | PROT_WRITE), "mprotect pages 2-3 back");
	expect_layout("0-8 rw-p,8-64 ---p", "mprotect back merges the three again");
	ktap_ok(check(0, 8, 0x10), "contents survive split and merge");

	expect_zero(munmap(arena + P(3), P(2)), "munmap pages 3-4");
	expect_layout("0-3 rw-p,5-8 rw-p,8-64 ---p", "munmap in the middle leaves a hole");
	expect_zero(munmap(arena + P(3), P(2)), "munmap of a hole");

	r = arena_map(3, 2, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	ktap_ok(r == arena + P(3), "mmap MAP_FIXED into the hole");
	expect_layout("0-8 rw-p,8-64 ---p", "refilling the hole merges with both sides");
	ktap_ok(all_zero(arena + P(3), P(2)) && check(0, 3, 0x10) && check(5, 3, 0x10),
		"the new pages are zero, the old ones kept");

	r = mmap(arena + P(2), P(1), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	expect_err(r == MAP_FAILED ? -1 : 0, EEXIST, "MAP_FIXED_NOREPLACE over a mapping");
	expect_zero(munmap(arena + P(40), P(1)), "munmap arena page 40");
	r = mmap(arena + P(40), P(1), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ktap_ok(r == arena + P(40), "MAP_FIXED_NOREPLACE into a free page maps there");
	expect_layout("0-8 rw-p,8-40 ---p,40-41 r--p,41-64 ---p", "layout after MAP_FIXED_NOREPLACE");

	r = arena_map(6, 4, PROT_READ, MAP_PRIVATE);
	ktap_ok(r == arena + P(6) && all_zero(arena + P(6), P(4)),
		"MAP_FIXED over two mappings replaces them with zero pages");
	expect_layout("0-6 rw-p,6-10 r--p,10-40 ---p,40-41 r--p,41-64 ---p",
		      "MAP_FIXED across a boundary");

	r = arena_map(16, 4, PROT_READ | PROT_WRITE, MAP_SHARED);
	ktap_ok(r == arena + P(16), "shared anonymous mmap MAP_FIXED");
	expect_layout("0-6 rw-p,6-10 r--p,10-16 ---p,16-20 rw-s,20-40 ---p,40-41 r--p,41-64 ---p",
		      "shared mapping shows as rw-s");
	expect_zero(mprotect(arena + P(17), P(1), PROT_READ), "mprotect one shared page read-only");
	expect_layout("0-6 rw-p,6-10 r--p,10-16 ---p,16-17 rw-s,17-18 r--s,18-20 rw-s,20-40 ---p,40-41 r--p,41-64 ---p",
		      "a shared mapping splits too");
}

/* A child writes to a shared and a private page: the parent must see the
 * first write and not the second. */
static void test_fork_sharing(void)
{
	u8 *shared = arena + P(16), *private = arena + P(0);
	int status = -1;
	pid_t pid;

	shared[0] = 1;
	private[0] = 1;
	pid = fork();
	if (pid == 0) {
		shared[0] = 2;
		private[0] = 2;
		exit(0);
	}
	ktap_ok(pid > 0 && wait4(pid, &status, 0, NULL) == pid &&
		WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork child ran and exited 0");
	ktap_ok(shared[0] == 2, "MAP_SHARED: the parent sees the child's write");
	ktap_ok(private[0] == 1, "MAP_PRIVATE: the parent does not see the child's write");
}

/* Linux before 6.2 keeps per-thread RSS deltas and folds them into the
 * process's count every 64 faults, so VmRSS may lag by up to 64 pages. */
#define RSS_LAG_PAGES 64
#define RSS_MIN_KB(npages) ((long)((npages) - RSS_LAG_PAGES) * 4)

static long rss_kb(void)
{
	return proc_field("/proc/self/status", "VmRSS");
}

/* Reads of never-written anonymous memory map the shared zero page: they
 * return zeros and do not grow the resident set; writes then do. */
static void test_zero_page(void)
{
	const unsigned long npages = 512;
	u8 *m = mmap(NULL, P(npages), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long before, after_read, after_write;
	unsigned long sum = 0;

	if (m == MAP_FAILED)
		ktap_bail("mmap of %lu pages failed: %s", npages, errno_name(errno));
	/* Stop transparent huge pages from mapping this range in 2 MiB pieces;
	 * harmless where THP does not exist. */
	madvise(m, P(npages), MADV_NOHUGEPAGE);
	before = rss_kb();
	for (unsigned long p = 0; p < npages; p++)
		sum += m[P(p)];
	after_read = rss_kb();
	ktap_ok(sum == 0, "zero page: reads of fresh anonymous memory give 0");
	if (!ktap_ok(before >= 0 && after_read - before < (long)(npages * 4 / 4),
		     "zero page: read faults add (almost) nothing to VmRSS"))
		ktap_diag("VmRSS %ld kB before, %ld kB after", before, after_read);
	for (unsigned long p = 0; p < npages; p++)
		m[P(p) + 8] = (u8)p;
	after_write = rss_kb();
	if (!ktap_ok(after_write - after_read >= RSS_MIN_KB(npages),
		     "zero page: write faults then add a page each to VmRSS"))
		ktap_diag("VmRSS %ld kB after reads, %ld kB after writes", after_read, after_write);
	sum = 0;
	for (unsigned long p = 0; p < npages; p++)
		sum += (m[P(p) + 8] == (u8)p) + m[P(p)];
	ktap_ok(sum == npages, "zero page: written values read back, the rest still 0");
	expect_zero(munmap(m, P(npages)), "munmap the zero-page test region");
}

static void test_populate(void)
{
	const unsigned long npages = 512;
	long before = rss_kb(), after;
	u8 *m = mmap(NULL, P(npages), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (m == MAP_FAILED)
		ktap_bail("mmap MAP_POPULATE failed: %s", errno_name(errno));
	after = rss_kb();
	if (!ktap_ok(after - before >= RSS_MIN_KB(npages),
		     "MAP_POPULATE: the pages are resident before any access"))
		ktap_diag("VmRSS %ld kB before, %ld kB after", before, after);
	ktap_ok(all_zero(m, P(npages)), "MAP_POPULATE: the pages are zero");
	expect_zero(munmap(m, P(npages)), "munmap the MAP_POPULATE region");
}

#define MAPRET(x) ((x) == MAP_FAILED ? -1L : 0L)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

/* --- mmap flags: each honoured, refused as Linux refuses it, or one that
 * Linux ignores too (docs/syscalls.md, "mmap flags") --- */

#define FLAG_PAGES 512UL

/* MAP_NONBLOCK turns MAP_POPULATE off. */
static void test_nonblock(void)
{
	long before = rss_kb();
	u8 *m = mmap(NULL, P(FLAG_PAGES), RW, ANON | MAP_POPULATE | MAP_NONBLOCK, -1, 0);
	long after = rss_kb();
	if (!ktap_ok(m != MAP_FAILED && after - before < RSS_MIN_KB(FLAG_PAGES),
		     "MAP_POPULATE | MAP_NONBLOCK: mapped, nothing populated"))
		ktap_diag("VmRSS %ld kB before, %ld kB after", before, after);
	if (m != MAP_FAILED)
		munmap(m, P(FLAG_PAGES));
}

static int child_dontneed(u8 *m)
{
	return madvise(m, P(FLAG_PAGES), MADV_DONTNEED) == 0 ? 0 : 1;
}

/* MAP_LOCKED: populated at once; the advice that would drop or age the
 * pages is refused, DONTNEED_LOCKED is not; a child does not inherit it. */
static void test_locked(void)
{
	long before = rss_kb();
	u8 *m = mmap(NULL, P(FLAG_PAGES), RW, ANON | MAP_LOCKED, -1, 0);
	long after = rss_kb();
	if (m == MAP_FAILED)
		ktap_bail("mmap MAP_LOCKED: %s", errno_name(errno));
	if (!ktap_ok(after - before >= RSS_MIN_KB(FLAG_PAGES),
		     "MAP_LOCKED: the pages are resident before any access"))
		ktap_diag("VmRSS %ld kB before, %ld kB after", before, after);
	m[0] = 7;
	const int refused[] = { MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT };
	bool ok = true;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		ok &= madvise(m, P(1), refused[i]) < 0 && errno == EINVAL;
	ktap_ok(ok && m[0] == 7, "MAP_LOCKED: DONTNEED, FREE, COLD, PAGEOUT -> EINVAL, data kept");
	ktap_ok(madvise(m, P(1), MADV_DONTNEED_LOCKED) == 0 && m[0] == 0,
		"MAP_LOCKED: DONTNEED_LOCKED -> 0, the page reads zero");
	pid_t pid = fork();
	if (pid == 0)
		exit(child_dontneed(m));
	int status = 0;
	ktap_ok(pid > 0 && wait4(pid, &status, 0, NULL) == pid && WIFEXITED(status) &&
		WEXITSTATUS(status) == 0, "MAP_LOCKED: a child's copy is not locked (DONTNEED -> 0)");
	munmap(m, P(FLAG_PAGES));

	u8 *sh = mmap(NULL, P(1), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (sh == MAP_FAILED)
		ktap_bail("mmap shared MAP_LOCKED: %s", errno_name(errno));
	sh[0] = 9;
	ktap_ok(madvise(sh, P(1), MADV_REMOVE) < 0 && errno == EINVAL && sh[0] == 9,
		"MAP_LOCKED shared memory: REMOVE -> EINVAL, data kept");
	munmap(sh, P(1));
}

/* MAP_HUGETLB needs hugetlbfs: a Linux without it answers EINVAL. With it
 * (Debian's), the answer depends on the huge pages reserved: this line is
 * about the kernel, and differs (docs/syscalls.md). */
static void test_hugetlb(void)
{
	u8 *m = mmap(NULL, 2UL << 20, RW, ANON | MAP_HUGETLB, -1, 0);
	int err = m == MAP_FAILED ? errno : 0;
	if (m != MAP_FAILED)
		munmap(m, 2UL << 20);
	if (err == EINVAL)
		ktap_ok(true, "MAP_HUGETLB -> EINVAL: a kernel without hugetlbfs");
	else
		ktap_ok(true, "MAP_HUGETLB not EINVAL: a kernel with hugetlbfs");
}

/* MAP_32BIT: somewhere in [1 GiB, 2 GiB), also when the hint is above. */
static void test_32bit(void)
{
	for (int hinted = 0; hinted < 2; hinted++) {
		void *hint = hinted ? (void *)(1UL << 40) : NULL;
		u8 *m = mmap(hint, P(4), RW, ANON | MAP_32BIT, -1, 0);
		unsigned long a = (unsigned long)m;
		if (!ktap_ok(m != MAP_FAILED && a >= (1UL << 30) && a + P(4) <= (2UL << 30),
			     "MAP_32BIT%s: mapped in the second GiB", hinted ? " with a hint at 1 TiB" : ""))
			ktap_diag("got %lx", a);
		if (m != MAP_FAILED)
			munmap(m, P(4));
	}
}

/* MAP_GROWSDOWN, in a 4 MiB window of our own: an accessible page at its
 * bottom ("floor"), a 4-page MAP_GROWSDOWN mapping at its top, nothing
 * between. Linux's rules: a fault below the mapping grows it, but not to
 * within 1 MiB (stack_guard_gap) of the floor, nor to more than 8 MiB
 * (RLIMIT_STACK). Each access runs in a child, which SIGSEGV may kill. */
#define GROW_WINDOW (4UL << 20)
static u8 *grow_floor, *grow_map;

/* Child: write at grow_map - off, then report the mapping's new start:
 * 0 if it begins exactly at the written page. */
static int child_grow(unsigned long off)
{
	static struct map_entry m[256];
	u8 *a = grow_map - off;
	*(volatile u8 *)a = 1;
	int n = read_maps(m, 256);
	for (int i = 0; i < n; i++)
		if (m[i].end == (unsigned long)grow_map + P(4))
			return m[i].start == ((unsigned long)a & ~(PAGE_SIZE - 1)) ? 0 : 2;
	return 3;
}

/* The child's exit status, or 256 + the signal that killed it. */
static int grow_in_child(unsigned long off)
{
	pid_t pid = fork();
	if (pid == 0)
		exit(child_grow(off));
	int status = 0;
	if (pid < 0 || wait4(pid, &status, 0, NULL) != pid)
		return -1;
	return WIFSIGNALED(status) ? 256 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void test_growsdown(void)
{
	u8 *w = mmap(NULL, GROW_WINDOW, PROT_NONE, ANON, -1, 0);
	if (w == MAP_FAILED)
		ktap_bail("mmap the MAP_GROWSDOWN window: %s", errno_name(errno));
	grow_floor = mmap(w, P(1), RW, ANON | MAP_FIXED, -1, 0);
	munmap(w + P(1), GROW_WINDOW - P(5));
	grow_map = mmap(w + GROW_WINDOW - P(4), P(4), RW, ANON | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
	if (grow_floor != w || grow_map != w + GROW_WINDOW - P(4))
		ktap_bail("MAP_GROWSDOWN window: %s", errno_name(errno));
	int near = grow_in_child(P(64));
	/* The floor ends at w + P(1): 1 MiB above it is the lowest page the
	 * mapping may reach, one page less is inside the guard gap. */
	unsigned long lowest = (unsigned long)(grow_map - (w + P(1) + (1UL << 20)));
	int far = grow_in_child(lowest);
	int gap = grow_in_child(lowest + P(1));
	if (!ktap_ok(near == 0 && far == 0,
		     "MAP_GROWSDOWN: a write 64 pages below, or 1 MiB above the next mapping, grows it down"))
		ktap_diag("64 pages below: %d, 1 MiB above: %d", near, far);
	if (!ktap_ok(gap == 256 + SIGSEGV,
		     "MAP_GROWSDOWN: not closer than 1 MiB to the mapping below (SIGSEGV)"))
		ktap_diag("child %d", gap);
	ktap_ok(mprotect(grow_map, P(1), PROT_READ | PROT_GROWSDOWN) == 0,
		"mprotect PROT_GROWSDOWN of a MAP_GROWSDOWN mapping -> 0");
	munmap(w, GROW_WINDOW);
}

/* Beyond RLIMIT_STACK (8 MiB from the mapping's end): SIGSEGV. In a
 * 12 MiB window with nothing below the mapping. */
static void test_growsdown_limit(void)
{
	const unsigned long window = 12UL << 20;
	u8 *w = mmap(NULL, window, PROT_NONE, ANON, -1, 0);
	if (w == MAP_FAILED)
		ktap_bail("mmap the MAP_GROWSDOWN window: %s", errno_name(errno));
	munmap(w, window - P(4));
	grow_map = mmap(w + window - P(4), P(4), RW, ANON | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
	if (grow_map != w + window - P(4))
		ktap_bail("MAP_GROWSDOWN window: %s", errno_name(errno));
	int in = grow_in_child((8UL << 20) - P(4));
	int out = grow_in_child((8UL << 20) - P(4) + P(1));
	if (!ktap_ok(in == 0 && out == 256 + SIGSEGV,
		     "MAP_GROWSDOWN: grows to 8 MiB (RLIMIT_STACK), a page more is SIGSEGV"))
		ktap_diag("8 MiB: %d, one page more: %d", in, out);
	munmap(grow_map, P(4));
}

/* Flags Linux accepts and ignores for private anonymous memory. */
static void test_ignored_flags(void)
{
	const int flags[] = { MAP_STACK, MAP_NORESERVE, MAP_DENYWRITE, MAP_EXECUTABLE,
			      MAP_SYNC, 0x4000000 /* MAP_UNINITIALIZED */ };
	bool ok = true;
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		u8 *m = mmap(NULL, P(1), RW, ANON | flags[i], -1, 0);
		ok &= m != MAP_FAILED && all_zero(m, P(1));
		if (m != MAP_FAILED)
			munmap(m, P(1));
	}
	ktap_ok(ok, "STACK, NORESERVE, DENYWRITE, EXECUTABLE, SYNC, UNINITIALIZED: mapped, zero");
}

static void test_errors(void)
{
	char buf[16];
	void *kernel = (void *)0xffff800000000000UL;
	/* The last page below 2^56: past the end of user space with 4-level
	 * paging (2^47) and with 5-level paging (2^56) alike. */
	void *top = (void *)((1UL << 56) - PAGE_SIZE);
	void *hole = arena + P(30);

	expect_zero(munmap(hole, P(1)), "munmap arena page 30 (a hole for the tests)");

	expect_err(MAPRET(mmap(arena + 1, P(1), RW, ANON | MAP_FIXED, -1, 0)), EINVAL,
		   "mmap MAP_FIXED at an unaligned address");
	expect_err(MAPRET(mmap(NULL, 0, RW, ANON, -1, 0)), EINVAL, "mmap of length 0");
	expect_err(MAPRET(mmap(NULL, P(1), RW, MAP_ANONYMOUS, -1, 0)), EINVAL,
		   "mmap with neither MAP_PRIVATE nor MAP_SHARED");
	expect_err(MAPRET(mmap(NULL, P(1), RW, MAP_PRIVATE, -1, 0)), EBADF,
		   "mmap of fd -1 without MAP_ANONYMOUS");
	expect_err(MAPRET(mmap(NULL, P(1), RW, MAP_SHARED, 99, 0)), EBADF,
		   "mmap of a closed fd");
	expect_err(MAPRET(mmap(NULL, P(1), RW, ANON, -1, 1)), EINVAL,
		   "mmap with an unaligned offset");
	expect_err(MAPRET(mmap(NULL, 1UL << 62, RW, ANON, -1, 0)), ENOMEM,
		   "mmap of 2^62 bytes");
	expect_err(MAPRET(mmap(NULL, (unsigned long)-4096, RW, ANON, -1, 0)), ENOMEM,
		   "mmap of a length that overflows when rounded");
	expect_err(MAPRET(mmap(top, P(2), RW, ANON | MAP_FIXED, -1, 0)), ENOMEM,
		   "mmap MAP_FIXED past the end of user space");
	expect_err(MAPRET(mmap(kernel, P(1), RW, ANON | MAP_FIXED, -1, 0)), ENOMEM,
		   "mmap MAP_FIXED at a kernel address");

	expect_err(munmap(arena + 1, P(1)), EINVAL, "munmap of an unaligned address");
	expect_err(munmap(arena, 0), EINVAL, "munmap of length 0");
	expect_err(munmap(kernel, P(1)), EINVAL, "munmap of a kernel address");

	expect_err(mprotect(arena + 1, P(1), PROT_READ), EINVAL, "mprotect of an unaligned address");
	expect_err(mprotect(arena, P(1), 0x10), EINVAL, "mprotect with an unknown PROT bit");
	expect_err(mprotect(hole, P(1), PROT_READ), ENOMEM, "mprotect of an unmapped page");
	expect_err(mprotect(arena + P(29), P(2), PROT_READ), ENOMEM,
		   "mprotect of a range that runs into a hole");
	expect_zero(mprotect(hole, 0, PROT_READ), "mprotect of length 0");

	expect_err(madvise(arena, P(1), 999), EINVAL, "madvise with unknown advice");
	expect_err(madvise(arena + 1, P(1), MADV_NORMAL), EINVAL, "madvise of an unaligned address");
	expect_err(madvise(hole, P(1), MADV_DONTNEED), ENOMEM, "madvise MADV_DONTNEED of an unmapped page");
	expect_zero(madvise(hole, 0, MADV_DONTNEED), "madvise of length 0");
	expect_zero(madvise(arena, P(8), MADV_DONTNEED), "madvise MADV_DONTNEED of mapped pages");
	ktap_ok(all_zero(arena, P(6)), "MADV_DONTNEED: private pages read back as zero");

	expect_err(read(99, buf, 1), EBADF, "read of a closed fd");
	expect_err(write(1, NULL, 1), EFAULT, "write from a NULL buffer");
	expect_err(write(1, kernel, 1), EFAULT, "write from a kernel address");
	expect_err(close(99), EBADF, "close of a closed fd");
	expect_err(open("/nonexistent", O_RDONLY, 0), ENOENT, "open of a missing file");
	expect_err(open(NULL, O_RDONLY, 0), EFAULT, "open of a NULL path");

	{
		unsigned long cur = brk(0);

		ktap_ok(cur != 0 && brk(1) == cur, "brk refuses a bad break and returns the current one");
		ktap_ok(brk(cur + P(4)) == cur + P(4) && brk(cur) == cur,
			"brk grows and shrinks the heap");
	}
}

int main(void)
{
	u8 *r;

	ktap_plan(83);
	/* Reserve the arena with a free page on each side. */
	r = mmap(NULL, P(ARENA_PAGES + 2), PROT_NONE, ANON, -1, 0);
	if (r == MAP_FAILED)
		ktap_bail("cannot reserve the arena: %s", errno_name(errno));
	munmap(r, P(1));
	munmap(r + P(ARENA_PAGES + 1), P(1));
	arena = r + P(1);

	test_layout();
	test_fork_sharing();
	test_zero_page();
	test_populate();
	test_nonblock();
	test_locked();
	test_hugetlb();
	test_32bit();
	test_growsdown();
	test_growsdown_limit();
	test_ignored_flags();
	test_errors();
	return ktap_finish();
}
