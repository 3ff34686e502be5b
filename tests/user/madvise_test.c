/* SPDX-License-Identifier: MIT */
/* madvise_test - madvise(MADV_DONTNEED), MADV_DONTNEED_LOCKED and MADV_REMOVE with
 * Linux's answers (docs/madvise.md): the argument checks, a range with holes
 * (-ENOMEM, but every mapped part on both sides of a hole is still zapped),
 * what memory reads afterwards (zero for private anonymous memory, the
 * shared object's contents for MAP_SHARED), a 2 MiB MADV_HUGEPAGE region
 * zapped whole and in part, and threads on every other CPU that held a hot
 * translation of the zapped page: once madvise has returned, none of them
 * may still read the old page. And MADV_REMOVE of shared memory that a
 * fork child maps too: the hole reads zero for both, and both share the
 * object's new pages afterwards; with Linux's errnos.
 *
 * Then the advice about fork: DONTFORK (the child has no mapping there) and
 * DOFORK, WIPEONFORK (the child's mapping starts empty, also for a 2 MiB
 * huge page, and stays so for its own children) and KEEPONFORK; every
 * advice value's answer; DONTDUMP kept as a VMA flag.
 *
 * Only behaviour Linux 6.1 already has is tested here, so the output is the
 * same on Linux and Pagoda (`make linux-check`); process_madvise with
 * MADV_DONTNEED, which Linux allows only since 6.13, is process_madvise_test.
 * Two lines differ, each naming a kernel option Debian's Linux has and
 * Pagoda has not (docs/madvise.md, "Every advice value"): KSM (MERGEABLE,
 * UNMERGEABLE), memory-failure handling (HWPOISON, SOFT_OFFLINE). The
 * MADV_COLLAPSE line is the same (mm/khugepaged.h).
 */
#include "libc.h"

#define HUGE (2UL << 20)
#define ROUNDS 10
#define WAIT_NS (30UL * 1000 * 1000 * 1000)	/* a helper that never answers */

/* Fresh private anonymous pages, each page's first word set to its tag. */
static u8 *map_private(size_t npages)
{
	u8 *p = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void fill_pages(u8 *p, size_t npages, u8 tag)
{
	for (size_t i = 0; i < npages; i++)
		memset(p + i * PAGE_SIZE, (u8)(tag + i), PAGE_SIZE);
}

/* Every byte of the page is v. */
static bool page_is(const u8 *p, u8 v)
{
	for (size_t i = 0; i < PAGE_SIZE; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* madvise that returns -errno, for comparing with one expected value. */
static int madv(void *p, size_t len, int advice)
{
	return madvise(p, len, advice) < 0 ? -errno : 0;
}

static void expect(int got, int want, const char *what)
{
	if (!ktap_ok(got == want, "%s -> %s", what, want ? errno_name(-want) : "0"))
		ktap_diag("got %s", got ? errno_name(-got) : "0");
}

static void argument_checks(void)
{
	u8 *p = map_private(2);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	fill_pages(p, 2, 1);
	expect(madv(p + 1, PAGE_SIZE, MADV_DONTNEED), -EINVAL, "unaligned start");
	int r = madv(p, 0, MADV_DONTNEED);
	ktap_ok(r == 0 && page_is(p, 1), "length 0 -> 0 and nothing zapped");
	expect(madv(p, ~0UL, MADV_DONTNEED), -EINVAL, "length rounding up past 2^64");
	expect(madv(p, (size_t)0 - (unsigned long)p + PAGE_SIZE, MADV_DONTNEED), -EINVAL,
	       "start + length wrapping");
	expect(madv(p, PAGE_SIZE, 999), -EINVAL, "unknown advice 999");
	ktap_ok(page_is(p, 1) && page_is(p + PAGE_SIZE, 2), "refused calls zapped nothing");
	munmap(p, 2 * PAGE_SIZE);
}

/* Pages 0, 2 and 4 of five mapped, 1 and 3 holes: -ENOMEM, and 0, 2 and 4
 * (before, between and after the holes) all read zero afterwards. A range
 * ending past the mapping, and one with nothing mapped at all. */
static void holes(void)
{
	u8 *p = map_private(6);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	munmap(p + PAGE_SIZE, PAGE_SIZE);
	munmap(p + 3 * PAGE_SIZE, PAGE_SIZE);
	munmap(p + 5 * PAGE_SIZE, PAGE_SIZE);
	for (int i = 0; i < 5; i += 2)
		memset(p + i * PAGE_SIZE, 0x77, PAGE_SIZE);
	expect(madv(p, 5 * PAGE_SIZE, MADV_DONTNEED), -ENOMEM, "range with two holes");
	ktap_ok(page_is(p, 0) && page_is(p + 2 * PAGE_SIZE, 0) && page_is(p + 4 * PAGE_SIZE, 0),
		"mapped parts before, between and after the holes were zapped");
	memset(p + 4 * PAGE_SIZE, 0x66, PAGE_SIZE);
	expect(madv(p + 4 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTNEED), -ENOMEM,
	       "range running past the end of the mapping");
	ktap_ok(page_is(p + 4 * PAGE_SIZE, 0), "its mapped page was zapped");
	expect(madv(p + 3 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED), -ENOMEM,
	       "range with nothing mapped");
	expect(madv(p + 3 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED_LOCKED), -ENOMEM,
	       "DONTNEED_LOCKED, nothing mapped");
	munmap(p, 5 * PAGE_SIZE);
}

/* PROT_NONE memory may be zapped (Linux refuses only locked and PFN-mapped
 * VMAs); once readable again it reads zero. */
static void prot_none(int advice, const char *name)
{
	u8 *p = map_private(2);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	fill_pages(p, 2, 9);
	mprotect(p, 2 * PAGE_SIZE, PROT_NONE);
	int r = madv(p, 2 * PAGE_SIZE, advice);
	mprotect(p, 2 * PAGE_SIZE, PROT_READ);
	ktap_ok(r == 0 && page_is(p, 0) && page_is(p + PAGE_SIZE, 0),
		"%s on PROT_NONE memory -> 0, reads zero afterwards", name);
	if (r)
		ktap_diag("got %s", errno_name(-r));
	munmap(p, 2 * PAGE_SIZE);
}

/* 16 private pages, the middle 8 zapped: those read zero, the rest kept. */
static void private_zero(int advice, const char *name)
{
	u8 *p = map_private(16);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	fill_pages(p, 16, 0x10);
	int r = madv(p + 4 * PAGE_SIZE, 8 * PAGE_SIZE, advice);
	bool ok = r == 0;
	for (int i = 0; i < 16; i++)
		ok &= page_is(p + i * PAGE_SIZE, (i >= 4 && i < 12) ? 0 : (u8)(0x10 + i));
	ktap_ok(ok, "%s on private memory: zapped pages read zero, the others kept", name);
	/* And the zapped pages are ordinary memory again. */
	memset(p + 4 * PAGE_SIZE, 0x3c, PAGE_SIZE);
	ktap_ok(page_is(p + 4 * PAGE_SIZE, 0x3c), "%s: a zapped page can be written again", name);
	munmap(p, 16 * PAGE_SIZE);
}

/* Shared anonymous memory: the pages belong to the shared object, so a
 * zapped mapping faults them back in, contents intact, here and in a
 * child that shares them. */
static void shared_kept(void)
{
	u8 *p = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ktap_bail("mmap shared: %s", errno_name(errno));
	fill_pages(p, 4, 0x40);
	int r = madv(p, 4 * PAGE_SIZE, MADV_DONTNEED);
	bool ok = r == 0;
	for (int i = 0; i < 4; i++)
		ok &= page_is(p + i * PAGE_SIZE, (u8)(0x40 + i));
	ktap_ok(ok, "MAP_SHARED anonymous memory keeps its contents after DONTNEED");

	pid_t pid = fork();
	if (pid == 0) {
		/* The child zaps its view, then writes through it. */
		madvise(p, 4 * PAGE_SIZE, MADV_DONTNEED);
		bool same = page_is(p + PAGE_SIZE, 0x41);
		p[0] = 0x99;
		exit(same ? 0 : 1);
	}
	int status = 0;
	wait4(pid, &status, 0, NULL);
	ktap_ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && p[0] == 0x99,
		"a child's DONTNEED of shared memory: it reads the object, its writes reach us");
	munmap(p, 4 * PAGE_SIZE);
}

/* A 2 MiB-aligned MADV_HUGEPAGE region (a huge page where the kernel gives
 * one; on a kernel without THP the same checks hold for 4 KiB pages). */
static u8 *map_huge(void)
{
	u8 *r = mmap_aligned(HUGE, HUGE);
	if (r == MAP_FAILED)
		return NULL;
	madvise(r, HUGE, MADV_HUGEPAGE);
	return r;
}

/* Pages [lo, hi) and [lo2, 512) of the 512 read zero, the others
 * (u8)(7 + i), as fill_pages(r, 512, 7) left them. */
static bool huge_check(const u8 *r, size_t lo, size_t hi, size_t lo2)
{
	for (size_t i = 0; i < HUGE / PAGE_SIZE; i++) {
		bool zapped = (i >= lo && i < hi) || i >= lo2;
		if (!page_is(r + i * PAGE_SIZE, zapped ? 0 : (u8)(7 + i)))
			return false;
	}
	return true;
}

static void huge(void)
{
	u8 *r = map_huge();
	if (!r)
		ktap_bail("mmap 4 MiB: %s", errno_name(errno));
	fill_pages(r, HUGE / PAGE_SIZE, 7);
	int e = madv(r, HUGE, MADV_DONTNEED);
	ktap_ok(e == 0 && huge_check(r, 0, 512, 512), "DONTNEED of a whole MADV_HUGEPAGE 2 MiB: all zero");
	munmap(r, HUGE);

	r = map_huge();
	if (!r)
		ktap_bail("mmap 4 MiB: %s", errno_name(errno));
	fill_pages(r, HUGE / PAGE_SIZE, 7);
	e = madv(r + 100 * PAGE_SIZE, 50 * PAGE_SIZE, MADV_DONTNEED);
	ktap_ok(e == 0 && huge_check(r, 100, 150, 512),
		"DONTNEED of 50 pages inside a MADV_HUGEPAGE 2 MiB: those zero, the rest kept");
	e = madv(r + 400 * PAGE_SIZE, 112 * PAGE_SIZE, MADV_DONTNEED_LOCKED);
	ktap_ok(e == 0 && huge_check(r, 100, 150, 400),
		"DONTNEED_LOCKED of its last 112 pages: those zero too, the rest still kept");
	munmap(r, HUGE);
}

/* --- advice about fork: DONTFORK/DOFORK, WIPEONFORK/KEEPONFORK --- */

#define FORK_PAGES 4	/* advice goes on pages 1 and 2; 0 and 3 are copied */
#define FORK_TAG 0x20

/* Fork; the child returns fn(p) as its exit status. The parent gets that
 * status, 256 + the signal if the child was killed, or -1. */
static int in_child(int (*fn)(u8 *), u8 *p)
{
	pid_t pid = fork();
	if (pid == 0)
		exit(fn(p));
	int status = 0;
	if (pid < 0 || wait4(pid, &status, 0, NULL) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 256 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Pages 0 and 3 hold their tags (the part of the mapping advice missed). */
static bool ends_kept(const u8 *p)
{
	return page_is(p, FORK_TAG) && page_is(p + 3 * PAGE_SIZE, FORK_TAG + 3);
}

static bool all_kept(const u8 *p)
{
	return ends_kept(p) && page_is(p + PAGE_SIZE, FORK_TAG + 1) &&
	       page_is(p + 2 * PAGE_SIZE, FORK_TAG + 2);
}

/* Child: 0 if pages 1 and 2 are not mapped at all (a new mapping may be put
 * there without replacing anything) and pages 0 and 3 were copied. */
static int child_unmapped(u8 *p)
{
	if (!ends_kept(p))
		return 2;
	void *q = mmap(p + PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	return q == p + PAGE_SIZE ? 0 : 1;
}

/* Child: pages 0 and 2 are not mapped (page 1 is a hole anyway). */
static int child_ends_unmapped(u8 *p)
{
	int bad = 0;
	for (int i = 0; i < 3; i += 2) {
		void *q = mmap(p + i * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		bad += q != p + i * PAGE_SIZE;
	}
	return bad;
}

/* Child: page 0 reads zero, page 1 (shared) holds 0x77. */
static int child_first_wiped(u8 *p)
{
	return page_is(p, 0) && page_is(p + PAGE_SIZE, 0x77) ? 0 : 1;
}

/* Child: read page 1 (killed by SIGSEGV if it is not mapped). */
static int child_read(u8 *p)
{
	return READ_ONCE(p[PAGE_SIZE]) == FORK_TAG + 1 ? 0 : 1;
}

static int child_all_kept(u8 *p)
{
	return all_kept(p) ? 0 : 1;
}

/* Child: pages 1 and 2 read zero, 0 and 3 were copied. */
static int child_wiped(u8 *p)
{
	return ends_kept(p) && page_is(p + PAGE_SIZE, 0) && page_is(p + 2 * PAGE_SIZE, 0) ? 0 : 1;
}

/* Child: write page 1, then fork again: the grandchild finds it wiped too
 * (the child's VMA keeps VM_WIPEONFORK). */
static int child_wipes_own_child(u8 *p)
{
	memset(p + PAGE_SIZE, 0x55, PAGE_SIZE);
	return in_child(child_wiped, p);
}

/* Entries of /proc/self/maps that [p, p + len) meets. */
static int maps_entries(const u8 *p, size_t len)
{
	static struct map_entry m[256];
	int n = read_maps(m, 256), k = 0;
	for (int i = 0; i < n; i++)
		k += m[i].start < (unsigned long)p + len && m[i].end > (unsigned long)p;
	return k;
}

static u8 *map_fork_pages(void)
{
	u8 *p = map_private(FORK_PAGES);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	fill_pages(p, FORK_PAGES, FORK_TAG);
	return p;
}

static void dontfork(void)
{
	u8 *p = map_fork_pages();
	int r = madv(p + PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTFORK);
	int c = in_child(child_unmapped, p);
	if (!ktap_ok(r == 0 && c == 0, "DONTFORK: the child has no mapping there, the rest is copied"))
		ktap_diag("madvise %s, child %d", errno_name(-r), c);
	c = in_child(child_read, p);
	if (!ktap_ok(c == 256 + SIGSEGV, "DONTFORK: a read there kills the child with SIGSEGV"))
		ktap_diag("child %d", c);
	ktap_ok(maps_entries(p, FORK_PAGES * PAGE_SIZE) == 3 && all_kept(p),
		"DONTFORK splits the mapping in /proc/self/maps; the parent keeps its data");
	r = madv(p + PAGE_SIZE, 2 * PAGE_SIZE, MADV_DOFORK);
	c = in_child(child_all_kept, p);
	if (!ktap_ok(r == 0 && c == 0 && maps_entries(p, FORK_PAGES * PAGE_SIZE) == 1,
		     "DOFORK undoes it: the child sees the parent's data, one mapping again"))
		ktap_diag("madvise %s, child %d", errno_name(-r), c);
	munmap(p, FORK_PAGES * PAGE_SIZE);

	/* Over a hole: ENOMEM, and the mapped pages on both sides marked. */
	p = map_fork_pages();
	munmap(p + PAGE_SIZE, PAGE_SIZE);
	r = madv(p, 3 * PAGE_SIZE, MADV_DONTFORK);
	c = in_child(child_ends_unmapped, p);
	if (!ktap_ok(r == -ENOMEM && c == 0,
		     "DONTFORK over a hole -> ENOMEM, the pages on both sides still left out"))
		ktap_diag("madvise %s, child %d", errno_name(-r), c);
	munmap(p, FORK_PAGES * PAGE_SIZE);
}

static void wipeonfork(void)
{
	u8 *p = map_fork_pages();
	int r = madv(p + PAGE_SIZE, 2 * PAGE_SIZE, MADV_WIPEONFORK);
	int c = in_child(child_wiped, p);
	if (!ktap_ok(r == 0 && c == 0, "WIPEONFORK: the child reads zeros there, the rest is copied"))
		ktap_diag("madvise %s, child %d", errno_name(-r), c);
	c = in_child(child_wipes_own_child, p);
	if (!ktap_ok(c == 0 && all_kept(p),
		     "WIPEONFORK: the child's own child gets it empty too; the parent keeps its data"))
		ktap_diag("child %d", c);
	r = madv(p + PAGE_SIZE, 2 * PAGE_SIZE, MADV_KEEPONFORK);
	c = in_child(child_all_kept, p);
	if (!ktap_ok(r == 0 && c == 0, "KEEPONFORK undoes it: the child sees the parent's data"))
		ktap_diag("madvise %s, child %d", errno_name(-r), c);
	munmap(p, FORK_PAGES * PAGE_SIZE);

	u8 *s = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		ktap_bail("mmap shared: %s", errno_name(errno));
	expect(madv(s, PAGE_SIZE, MADV_WIPEONFORK), -EINVAL, "WIPEONFORK on MAP_SHARED memory");
	expect(madv(s, PAGE_SIZE, MADV_KEEPONFORK), 0, "KEEPONFORK on MAP_SHARED memory");
	munmap(s, PAGE_SIZE);

	/* A private page, then a shared one: EINVAL at the shared VMA, and
	 * the private one before it already marked (Linux's order). */
	p = map_private(2);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	s = mmap(p + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (s == MAP_FAILED)
		ktap_bail("mmap shared: %s", errno_name(errno));
	fill_pages(p, 1, 0x66);
	fill_pages(s, 1, 0x77);
	r = madv(p, 2 * PAGE_SIZE, MADV_WIPEONFORK);
	c = in_child(child_first_wiped, p);
	if (!ktap_ok(r == -EINVAL && c == 0,
		     "WIPEONFORK over private then shared -> EINVAL, the private page already wiped in a child"))
		ktap_diag("madvise %s, child %d", errno_name(-r), c);
	munmap(p, 2 * PAGE_SIZE);
}

/* Child: every page of the 2 MiB region reads zero. */
static int child_huge_wiped(u8 *r)
{
	for (size_t i = 0; i < HUGE / PAGE_SIZE; i++)
		if (!page_is(r + i * PAGE_SIZE, 0))
			return 1;
	return 0;
}

/* Child: the first half of the 2 MiB region holds fill_pages(r, 512, 7)'s
 * tags, the second half reads zero. */
static int child_half_wiped(u8 *r)
{
	return huge_check(r, 256, 512, 512) ? 0 : 1;
}

/* A 2 MiB MADV_HUGEPAGE region (one huge PMD where THP is on): the child
 * gets no copy of it, the parent keeps every page. */
static void wipeonfork_huge(void)
{
	u8 *r = map_huge();
	if (!r)
		ktap_bail("mmap 4 MiB: %s", errno_name(errno));
	fill_pages(r, HUGE / PAGE_SIZE, 7);
	int e = madv(r, HUGE, MADV_WIPEONFORK);
	int c = in_child(child_huge_wiped, r);
	if (!ktap_ok(e == 0 && c == 0 && huge_check(r, 512, 512, 512),
		     "WIPEONFORK of a whole MADV_HUGEPAGE 2 MiB: the child reads zeros, the parent keeps it"))
		ktap_diag("madvise %s, child %d", errno_name(-e), c);
	munmap(r, HUGE);

	/* Its second half only: the huge PMD is split, the halves fork
	 * differently. */
	r = map_huge();
	if (!r)
		ktap_bail("mmap 4 MiB: %s", errno_name(errno));
	fill_pages(r, HUGE / PAGE_SIZE, 7);
	e = madv(r + HUGE / 2, HUGE / 2, MADV_WIPEONFORK);
	c = in_child(child_half_wiped, r);
	if (!ktap_ok(e == 0 && c == 0 && huge_check(r, 512, 512, 512),
		     "WIPEONFORK of its second half: the child reads the first half and zeros"))
		ktap_diag("madvise %s, child %d", errno_name(-e), c);
	munmap(r, HUGE);
}

/* --- every advice value --- */

static const char *const advice_names[] = {
	[MADV_NORMAL] = "NORMAL", [MADV_RANDOM] = "RANDOM", [MADV_SEQUENTIAL] = "SEQUENTIAL",
	[MADV_WILLNEED] = "WILLNEED", [MADV_DONTNEED] = "DONTNEED", [MADV_FREE] = "FREE",
	[MADV_REMOVE] = "REMOVE", [MADV_DONTFORK] = "DONTFORK", [MADV_DOFORK] = "DOFORK",
	[MADV_HUGEPAGE] = "HUGEPAGE", [MADV_NOHUGEPAGE] = "NOHUGEPAGE",
	[MADV_DONTDUMP] = "DONTDUMP", [MADV_DODUMP] = "DODUMP",
	[MADV_WIPEONFORK] = "WIPEONFORK", [MADV_KEEPONFORK] = "KEEPONFORK",
	[MADV_COLD] = "COLD", [MADV_PAGEOUT] = "PAGEOUT",
	[MADV_POPULATE_READ] = "POPULATE_READ", [MADV_POPULATE_WRITE] = "POPULATE_WRITE",
	[MADV_DONTNEED_LOCKED] = "DONTNEED_LOCKED",
};

/* The advice of a kernel option (KSM, MADV_COLLAPSE, memory failure):
 * all of them known (length 0 -> 0) or none (-> EINVAL), and then a real
 * call on one private page, when given (real), answers the same. The line
 * says which kernel this is: the one line of each that differs between
 * Linux and Pagoda (docs/madvise.md). */
static void option_advice(u8 *p, const int *adv, int n, const char *names, const char *option,
			  bool real)
{
	int known = 0, unknown = 0;
	for (int i = 0; i < n; i++) {
		int r = madv(p, 0, adv[i]);
		known += r == 0;
		unknown += r == -EINVAL;
		if (real && r != madv(p, PAGE_SIZE, adv[i]))
			known = unknown = -1;
	}
	if (known == n)
		ktap_ok(true, "%s known: a kernel with %s", names, option);
	else
		ktap_ok(unknown == n, "%s -> EINVAL: a kernel without %s", names, option);
}

static void every_advice(void)
{
	u8 *p = map_private(1);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	bool ok = true;
	for (size_t a = 0; a < ARRAY_SIZE(advice_names); a++) {
		if (a == MADV_MERGEABLE || a == MADV_UNMERGEABLE)
			continue;	/* KSM's, below */
		int r = madv(p, 0, (int)a);
		int want = advice_names[a] ? 0 : -EINVAL;
		if (r != want) {
			ktap_diag("advice %zu %s: got %s", a, advice_names[a] ? advice_names[a] : "",
				  r ? errno_name(-r) : "0");
			ok = false;
		}
	}
	ktap_ok(ok, "length 0: the 20 values Linux 6.1 always knows -> 0, 5..7 -> EINVAL");
	ok = true;
	for (int a = 26; a < 300; a++)
		if (a != MADV_HWPOISON && a != MADV_SOFT_OFFLINE)
			ok &= madv(p, 0, a) == -EINVAL;
	ok &= madv(p, 0, -1) == -EINVAL;
	ktap_ok(ok, "length 0: 26..299 (but 100, 101) and -1 -> EINVAL");

	fill_pages(p, 1, 0x31);
	const int hints[] = { MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
			      MADV_COLD, MADV_PAGEOUT, MADV_DONTDUMP, MADV_DODUMP };
	ok = true;
	for (size_t i = 0; i < ARRAY_SIZE(hints); i++)
		ok &= madv(p, PAGE_SIZE, hints[i]) == 0;
	ktap_ok(ok && page_is(p, 0x31),
		"NORMAL, RANDOM, SEQUENTIAL, WILLNEED, COLD, PAGEOUT, DONTDUMP, DODUMP -> 0, data kept");
	expect(madv(p, PAGE_SIZE, MADV_REMOVE), -EINVAL, "REMOVE on private memory");

	option_advice(p, (const int[]){ MADV_MERGEABLE, MADV_UNMERGEABLE }, 2,
		      "MERGEABLE, UNMERGEABLE", "KSM", true);
	option_advice(p, (const int[]){ MADV_COLLAPSE }, 1, "COLLAPSE",
		      "MADV_COLLAPSE (Linux 6.1)", false);
	/* Length 0 only: a real HWPOISON would poison the page. */
	option_advice(p, (const int[]){ MADV_HWPOISON, MADV_SOFT_OFFLINE }, 2,
		      "HWPOISON, SOFT_OFFLINE", "memory-failure handling", false);
	munmap(p, PAGE_SIZE);
}

/* DONTDUMP is kept as a VMA flag, as Linux keeps it: the VMA splits. */
static void dontdump(void)
{
	u8 *p = map_fork_pages();
	int r1 = madv(p + PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTDUMP);
	int n1 = maps_entries(p, FORK_PAGES * PAGE_SIZE);
	int r2 = madv(p + PAGE_SIZE, 2 * PAGE_SIZE, MADV_DODUMP);
	int n2 = maps_entries(p, FORK_PAGES * PAGE_SIZE);
	if (!ktap_ok(r1 == 0 && n1 == 3 && r2 == 0 && n2 == 1 && all_kept(p),
		     "DONTDUMP splits the mapping (3 maps entries), DODUMP joins it again (1)"))
		ktap_diag("DONTDUMP %d: %d entries, DODUMP %d: %d", r1, n1, r2, n2);
	munmap(p, FORK_PAGES * PAGE_SIZE);
}

/* --- readers on every other CPU --- */

struct reader {
	volatile u64 seen;	/* the last round whose value this reader saw */
	volatile u64 after;	/* what it read once told the page was zapped */
	volatile u64 done;	/* the round it finished */
	u64 pad[5];
} __aligned(64);

static struct reader readers[64];
static volatile u64 *shared_word;
static volatile u64 round_no;		/* the value main wrote for this round */
static volatile u64 zapped_round;	/* main's madvise of this round returned */
static volatile int readers_stop;

/* Read the word in a loop, so this CPU keeps its translation hot; report
 * seeing each round's value, and after the zap what the word reads. */
static long reader_main(void *arg)
{
	struct reader *me = arg;

	while (!READ_ONCE(readers_stop)) {
		u64 r = READ_ONCE(round_no);
		if (r && *shared_word == r && me->seen != r)
			me->seen = r;
		u64 z = READ_ONCE(zapped_round);
		if (z && me->done != z) {
			me->after = *shared_word;
			__asm__ volatile("" ::: "memory");
			me->done = z;
		}
		__asm__ volatile("pause");
	}
	return 1;
}

/* Wait until readers 1..n-1 have seen round r (done: finished it). */
static bool wait_all(int n, bool done, u64 r)
{
	u64 deadline = now_ns() + WAIT_NS;

	for (int i = 1; i < n; i++) {
		while ((done ? readers[i].done : readers[i].seen) != r) {
			if (now_ns() > deadline)
				return false;
			sched_yield();
		}
	}
	return true;
}

static void readers_on_every_cpu(void)
{
	int n = online_cpus();
	if (n > 64)
		n = 64;
	u8 *p = map_private(1);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	shared_word = (volatile u64 *)p;
	pin_to_cpu(0);
	struct uthread *t[64] = { 0 };
	bool ok = true;
	for (int i = 1; i < n; i++) {
		t[i] = thread_create(reader_main, &readers[i], i);
		ok &= t[i] != NULL;
	}
	int bad_rounds = 0;
	for (u64 r = 1; ok && r <= ROUNDS; r++) {
		*shared_word = r;		/* a new page after the last zap */
		WRITE_ONCE(round_no, r);
		if (!wait_all(n, false, r)) {
			ktap_diag("round %lu: a reader never saw the value", (unsigned long)r);
			ok = false;
			break;
		}
		if (madvise(p, PAGE_SIZE, MADV_DONTNEED) < 0) {
			ok = false;
			break;
		}
		WRITE_ONCE(round_no, 0);
		WRITE_ONCE(zapped_round, r);
		if (!wait_all(n, true, r)) {
			ktap_diag("round %lu: a reader did not answer", (unsigned long)r);
			ok = false;
			break;
		}
		bool round_ok = *shared_word == 0;
		for (int i = 1; i < n; i++)
			round_ok &= readers[i].after == 0;
		if (!round_ok)
			bad_rounds++;
	}
	WRITE_ONCE(readers_stop, 1);
	for (int i = 1; i < n; i++)
		if (t[i] && thread_join(t[i]) != 1)
			ok = false;
	ktap_ok(ok && bad_rounds == 0,
		"after DONTNEED every CPU's reader sees zero, never the old page (%d rounds)", ROUNDS);
	if (bad_rounds)
		ktap_diag("%d rounds had a reader still seeing the old value", bad_rounds);
	munmap(p, PAGE_SIZE);
}

/* --- MADV_REMOVE: a hole in the shared object, for every mapper --- */

/* Words in a page of their own, shared with the child: who is where. */
struct remove_sync {
	volatile u32 step;		/* 1 child mapped, 2 punched, 3 child wrote, 4 parent wrote */
	volatile u32 child_zero;	/* the child read zeros in the hole, the rest kept */
	volatile u32 child_sees;	/* the child read the parent's write after the punch */
};

static bool wait_step(struct remove_sync *s, u32 step)
{
	u64 deadline = now_ns() + WAIT_NS;
	while (s->step < step) {
		if (now_ns() > deadline)
			return false;
		sched_yield();
	}
	return true;
}

/* Pages 1 and 2 of four read zero, pages 0 and 3 their fill. */
static bool hole_check(const u8 *p)
{
	return page_is(p, 0x50) && page_is(p + PAGE_SIZE, 0) &&
	       page_is(p + 2 * PAGE_SIZE, 0) && page_is(p + 3 * PAGE_SIZE, 0x53);
}

/* The child of shared_remove: map (touch) every page, let the parent
 * punch, look, then write into the hole and read the parent's write. */
static void remove_child(u8 *p, struct remove_sync *s)
{
	volatile u8 sum = 0;
	for (int i = 0; i < 4; i++)
		sum += p[i * PAGE_SIZE];
	(void)sum;              /* the reads are the point: they map the pages */
	s->step = 1;
	if (!wait_step(s, 2))
		exit(2);
	s->child_zero = hole_check(p);
	p[PAGE_SIZE] = 0x61;
	s->step = 3;
	if (!wait_step(s, 4))
		exit(2);
	s->child_sees = p[2 * PAGE_SIZE] == 0x62;
	exit(0);
}

/* A parent and a child that both map four shared pages; the parent punches
 * pages 1 and 2 (Linux: the hole is unmapped from every mapper and reads
 * zero for all of them); after it, both use the object's new pages. */
static void shared_remove(void)
{
	u8 *p = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct remove_sync *s = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || s == MAP_FAILED)
		ktap_bail("mmap shared: %s", errno_name(errno));
	fill_pages(p, 4, 0x50);
	pid_t pid = fork();
	if (pid == 0)
		remove_child(p, s);
	bool ok = pid > 0 && wait_step(s, 1);
	int r = ok ? madv(p + PAGE_SIZE, 2 * PAGE_SIZE, MADV_REMOVE) : -1;
	ktap_ok(ok && r == 0 && hole_check(p),
		"REMOVE of shared memory: the hole reads zero here, the rest is kept");
	s->step = 2;
	ok = ok && wait_step(s, 3);
	ktap_ok(ok && s->child_zero,
		"a child that mapped the pages reads zero in the hole too");
	p[2 * PAGE_SIZE] = 0x62;
	s->step = 4;
	int status = 0;
	if (pid > 0)
		wait4(pid, &status, 0, NULL);
	ktap_ok(ok && p[PAGE_SIZE] == 0x61 && s->child_sees && WIFEXITED(status) &&
		WEXITSTATUS(status) == 0,
		"after REMOVE, writes into the hole by either one reach the other");
	munmap(p, 4 * PAGE_SIZE);
	munmap(s, PAGE_SIZE);
}

/* MADV_REMOVE's answers: private anonymous memory has no object (-EINVAL);
 * a shared mapping needs only the right to become writable (VM_MAYWRITE,
 * as Linux 6.1's stable updates check), which shared anonymous memory always
 * has: PROT_READ alone does not stop the punch; a hole gives -ENOMEM. */
static void remove_errors(void)
{
	u8 *priv = map_private(1);
	u8 *sh = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!priv || sh == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	memset(priv, 0x21, PAGE_SIZE);
	expect(madv(priv, PAGE_SIZE, MADV_REMOVE), -EINVAL, "REMOVE of private anonymous memory");
	ktap_ok(page_is(priv, 0x21), "the refused REMOVE left private memory alone");
	fill_pages(sh, 2, 0x30);
	mprotect(sh, 2 * PAGE_SIZE, PROT_READ);
	expect(madv(sh + PAGE_SIZE, PAGE_SIZE, MADV_REMOVE), 0,
	       "REMOVE of shared memory made read-only (it may be made writable again)");
	mprotect(sh, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	ktap_ok(page_is(sh, 0x30) && page_is(sh + PAGE_SIZE, 0), "that page reads zero, the other is kept");
	sh[0] = 0x31;
	munmap(sh + PAGE_SIZE, PAGE_SIZE);
	expect(madv(sh, 2 * PAGE_SIZE, MADV_REMOVE), -ENOMEM, "REMOVE of a range with a hole");
	ktap_ok(page_is(sh, 0), "its mapped part was punched");
	munmap(sh, PAGE_SIZE);
	munmap(priv, PAGE_SIZE);
}

int main(void)
{
	ktap_plan(54);
	argument_checks();			/* 6 */
	holes();				/* 6 */
	prot_none(MADV_DONTNEED, "DONTNEED");	/* 1 */
	prot_none(MADV_DONTNEED_LOCKED, "DONTNEED_LOCKED");	/* 1 */
	private_zero(MADV_DONTNEED, "DONTNEED");	/* 2 */
	private_zero(MADV_DONTNEED_LOCKED, "DONTNEED_LOCKED");	/* 2 */
	shared_kept();				/* 2 */
	huge();					/* 3 */
	dontfork();				/* 5 */
	wipeonfork();				/* 6 */
	wipeonfork_huge();			/* 2 */
	every_advice();				/* 7 */
	dontdump();				/* 1 */
	readers_on_every_cpu();			/* 1 */
	shared_remove();			/* 3 */
	remove_errors();			/* 6 */
	return ktap_finish();
}
