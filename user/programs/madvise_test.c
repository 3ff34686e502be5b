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
 * Only behaviour Linux 6.1 already has is tested here, so the output is the
 * same on Linux and Pagoda (`make linux-check`); process_madvise with
 * MADV_DONTNEED, which Linux allows only since 6.13, is process_madvise_test.
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
	ktap_plan(33);
	argument_checks();			/* 6 */
	holes();				/* 6 */
	prot_none(MADV_DONTNEED, "DONTNEED");	/* 1 */
	prot_none(MADV_DONTNEED_LOCKED, "DONTNEED_LOCKED");	/* 1 */
	private_zero(MADV_DONTNEED, "DONTNEED");	/* 2 */
	private_zero(MADV_DONTNEED_LOCKED, "DONTNEED_LOCKED");	/* 2 */
	shared_kept();				/* 2 */
	huge();					/* 3 */
	readers_on_every_cpu();			/* 1 */
	shared_remove();			/* 3 */
	remove_errors();			/* 6 */
	return ktap_finish();
}
