/* SPDX-License-Identifier: MIT */
/* vma_race_test - page faults on several CPUs racing changes to the very
 * VMA they fault in (docs/testing-mm.md, "vma_race_test").
 *
 * A fault finds the VMA of its address and maps a page according to it.
 * If it does so without mmap_lock (a per-VMA lock found under RCU, as Linux
 * does since 6.4), every writer that changes a VMA must make the faults in
 * it back off, and a fault must check that its VMA was not changed since it
 * looked it up. This program makes that race frequent and its loss visible.
 * There are no signal handlers in the parts: a worker touches only
 * addresses that stay mapped and accessible at every instant, so the
 * changes below change the VMA under the workers without ever taking away
 * the rights they use. (The last case has one: it checks the test's own
 * copy of part 3's bounds.)
 *
 * Worker threads are pinned to CPUs 1..n-1 (at most 3 of them), the
 * control thread to CPU 0 (one worker shares CPU 0 on a one-CPU machine). Every page holds a tag
 * in its first and last word: a magic number, the part, the page index and
 * a generation; the model says which tags a read may return.
 *
 *   1. Split and merge under faults. Region R, private, 4 MiB in blocks of
 *      16 pages; each round gives every block an owner (a worker or the
 *      control thread), rotating. A worker writes (a fault when the page is
 *      missing), reads back exactly, or zaps (MADV_DONTNEED) its own pages,
 *      and reads anyone's page (0 or a tag of that page). The control
 *      thread loops: mprotect a sub-range RW -> RW|EXEC, MADV_HUGEPAGE a
 *      sub-range (under 2 MiB: no huge page can fit), write and zap its own
 *      blocks, then undo both changes, so VMAs split and merge under the
 *      faults. Between rounds every page must match the model exactly,
 *      and on Pagoda mm_check must find no entry allowing more than its
 *      VMA (a fault that used the rights of a VMA from before an mprotect
 *      leaves an executable entry in a VMA without VM_EXEC).
 *   2. Replace under faults. Region L | S1 | S2 | H; workers read it at
 *      random, S1 mostly. The control thread maps again with MAP_FIXED,
 *      in turn, all of S as a new shared object (filled with this
 *      generation's tags, then zapped: the contents stay in the object and
 *      every read faults them in) and S1 alone as private memory (reads
 *      zero; MADV_NOHUGEPAGE merges it with L). S2 keeps the old object
 *      alive, so a fault served from the removed shared VMA would find its
 *      page and map it into the private S1. The next replacement follows
 *      as soon as the workers have moved on: they are still faulting the
 *      8 MiB of S1 in. A sequence word (odd while a replacement runs) says
 *      what a read may see: exactly the mapping in place if none began or
 *      ended around the read, else zero or what one of those held.
 *   3. fork under faults. Each page has a slot per worker, written by that
 *      worker alone with increasing generations, so several CPUs write
 *      every page (after each fork every first write is a copy-on-write
 *      fault). The child must find in every slot a generation between the
 *      last one completed before fork began and the last one started
 *      before fork returned (Linux 6.4's fork raced per-VMA-locked faults
 *      and broke exactly this); it then writes its copy, which the parent
 *      must never see, and each worker reads its own slots back exactly.
 *
 * After each part a single-threaded sweep compares every page with the
 * model, /proc/self/mm_check must read 0 (Pagoda only: Linux has no such
 * file), and the memory must come back (MemFree + Slab exactly on Pagoda;
 * AnonHugePages on both). Seeds are fixed and the iterations bounded; the
 * output does not depend on timing or on the number of CPUs, and is the
 * same on Linux.
 */
#include "libc.h"
#include "uffd.h"		/* pagemap_pfn */

/* Workers on CPUs 1..3 at most: under TCG every remote TLB flush waits for
 * each CPU that ran the process, and more CPUs made the 8-CPU run several
 * times slower without a race of another kind. */
#define MAX_WORKERS 3
#define WAIT_LIMIT_NS (60L * 1000 * 1000 * 1000)	/* any wait: 60 s */
#define MAGIC 0xa5a5UL
#define LAST_WORD (PAGE_SIZE / 8 - 1)

/* Part 1: R = P1_PAGES pages in blocks; rounds of P1_ITERS control loops. */
#define P1_PAGES 1024
#define P1_BLOCK 16
#define P1_ROUNDS 8
#define P1_ITERS 12
#define P1_EXEC_MAX 64		/* pages mprotect'ed RW|EXEC at once, at most */
#define P1_HUGE_MAX 256		/* pages MADV_HUGEPAGE'd at once (< 2 MiB) */

/* Part 2: L (P2_SIDE pages) | S = S1 | S2 | H (P2_SIDE pages). S1 is
 * large so that the workers are still faulting it in when it is replaced. */
#define P2_SIDE 16
#define P2_S1 2048
#define P2_S2 64
#define P2_S (P2_S1 + P2_S2)
#define P2_PAGES (2 * P2_SIDE + P2_S)
#define P2_REPLACES 60

/* Part 3: F = P3_PAGES pages, forked P3_FORKS times. */
#define P3_PAGES 512
#define P3_FORKS 12
#define P3_OPS 32		/* worker operations before and after each fork */
#define CHILD_STACK (64 * 1024)

struct worker {
	int index;
	volatile u64 ops;	/* operations done, for the control's waits */
	struct uthread *t;
};

static struct worker workers[MAX_WORKERS];
static int nworkers;
static int ncpus;		/* CPUs this process may use, counted before main pins itself */
static bool is_pagoda;
static volatile int stop;		/* the workers end their loop */
static volatile int failed;		/* a check failed; fail_msg says which */
static char fail_msg[512];

/* The first failure of a part wins; everyone stops. */
static __printf(1, 2) void fail(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST) == 0) {
		va_start(ap, fmt);
		vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
		va_end(ap);
	}
	WRITE_ONCE(stop, 1);
}

static u64 rnd(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dUL;
}

/* A tag: magic (16 bits), part (8), page (16), generation (24). Never 0. */
static u64 tag(int part, u64 page, u64 gen)
{
	return MAGIC << 48 | (u64)part << 40 | (page & 0xffff) << 24 | (gen & 0xffffff);
}

static bool tag_is_of(u64 v, int part, u64 page)
{
	return (v >> 24) == (tag(part, page, 0) >> 24);
}

static u64 tag_gen(u64 v)
{
	return v & 0xffffff;
}

static volatile u64 *page_words(u8 *base, u64 page)
{
	return (volatile u64 *)(base + page * PAGE_SIZE);
}

/* Both words of a page, last first: a reader that sees the new first word
 * also finds the new last one. */
static void write_tag(u8 *base, u64 page, u64 t)
{
	volatile u64 *w = page_words(base, page);

	__atomic_store_n(&w[LAST_WORD], t, __ATOMIC_RELEASE);
	__atomic_store_n(&w[0], t, __ATOMIC_RELEASE);
}

static void read_tag(u8 *base, u64 page, u64 *first, u64 *last)
{
	volatile u64 *w = page_words(base, page);

	*first = __atomic_load_n(&w[0], __ATOMIC_ACQUIRE);
	*last = __atomic_load_n(&w[LAST_WORD], __ATOMIC_ACQUIRE);
}

static u64 total_ops(void)
{
	u64 sum = 0;

	for (int i = 0; i < nworkers; i++)
		sum += READ_ONCE(workers[i].ops);
	return sum;
}

/* Let the workers do n more operations (a yield each time round, so that a
 * fork child on this CPU runs too). False when they stopped or stalled. */
static bool wait_ops(u64 n)
{
	u64 target = total_ops() + n, t0 = now_ns();

	while (total_ops() < target) {
		if (READ_ONCE(stop))
			return false;
		if (now_ns() - t0 > WAIT_LIMIT_NS) {
			fail("the workers stalled");
			return false;
		}
		sched_yield();
	}
	return true;
}

static void start_workers(long (*fn)(void *))
{
	WRITE_ONCE(stop, 0);
	for (int i = 0; i < nworkers; i++) {
		workers[i].index = i;
		workers[i].ops = 0;
		workers[i].t = thread_create(fn, &workers[i], ncpus > 1 ? i + 1 : 0);
		if (!workers[i].t)
			ktap_bail("thread_create: %s", errno_name(errno));
	}
}

static void stop_workers(void)
{
	WRITE_ONCE(stop, 1);
	for (int i = 0; i < nworkers; i++) {
		long r = thread_join(workers[i].t);

		if (r <= -1000)
			fail("worker %d could not be pinned: %s", i, errno_name((int)(-1000 - r)));
	}
}

static void *map_region(size_t pages, int flags)
{
	void *r = mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       flags | MAP_ANONYMOUS, -1, 0);

	if (r == MAP_FAILED)
		ktap_bail("mmap of %lu pages: %s", (unsigned long)pages, errno_name(errno));
	/* 4 KiB pages only, on Linux too: THP would change what a fault is. */
	if (madvise(r, pages * PAGE_SIZE, MADV_NOHUGEPAGE) < 0)
		ktap_bail("MADV_NOHUGEPAGE: %s", errno_name(errno));
	return r;
}

/* ------------------------------------------------------------------ */
/* the checks after each part                                          */
/* ------------------------------------------------------------------ */

struct mem {
	long free_slab;		/* MemFree + Slab, kB: exact on Pagoda */
	long anon_huge;		/* AnonHugePages, kB */
};

static struct mem mem_now(void)
{
	long free = proc_field("/proc/meminfo", "MemFree");
	long slab = proc_field("/proc/meminfo", "Slab");
	struct mem m = { free < 0 || slab < 0 ? -1 : free + slab,
			 proc_field("/proc/meminfo", "AnonHugePages") };
	return m;
}

/* Linux's free memory moves with everything it caches: there only
 * AnonHugePages must come back. Pages freed after an RCU grace period come
 * back a little later than munmap returns: allow 3 s. */
static void check_mem_back(const struct mem *before)
{
	u64 t0 = now_ns();
	struct mem after;

	do {
		after = mem_now();
		if (after.anon_huge == before->anon_huge &&
		    (!is_pagoda || after.free_slab == before->free_slab))
			return;
		sleep_ns(10 * 1000 * 1000);
	} while (now_ns() - t0 < 3UL * 1000 * 1000 * 1000);
	fail("memory not back: AnonHugePages %ld -> %ld kB, MemFree+Slab %ld -> %ld kB",
	     before->anon_huge, after.anon_huge, before->free_slab, after.free_slab);
}

/* Pagoda's consistency check of this address space (docs/testing-mm.md,
 * section 1): tables, counters, VMAs and pages agree. */
static void check_mm(const char *when)
{
	char buf[256];

	if (!is_pagoda || failed)
		return;
	if (read_file("/proc/self/mm_check", buf, sizeof(buf)) < 0) {
		fail("reading /proc/self/mm_check: %s", errno_name(errno));
		return;
	}
	if (strtoul(buf, NULL, 10) != 0) {
		/* "N\nfirst problem\n": one diagnostic line. */
		size_t n = strlen(buf);

		while (n && buf[n - 1] == '\n')
			buf[--n] = 0;
		for (char *c = buf; *c; c++)
			if (*c == '\n')
				*c = ' ';
		fail("mm_check %s: %s", when, buf);
	}
}

/* One KTAP line per part; its diagnostics only when it failed. */
static void report(bool pass, const char *desc)
{
	ktap_ok(pass, "%s", desc);
	if (!pass)
		ktap_diag("%s", fail_msg);
}

/* Memory once what the part before freed after a grace period (page
 * tables, VMAs) has come back: the same twice, 20 ms apart (at most 3 s). */
static struct mem settled_mem(void)
{
	struct mem m = mem_now(), again;
	for (int i = 0; i < 150; i++) {
		sleep_ns(20 * 1000 * 1000);
		again = mem_now();
		if (again.free_slab == m.free_slab && again.anon_huge == m.anon_huge)
			break;
		m = again;
	}
	return m;
}

static void begin_part(struct mem *before)
{
	failed = 0;
	fail_msg[0] = 0;
	*before = settled_mem();
}

/* ------------------------------------------------------------------ */
/* part 1: split and merge under faults                                */
/* ------------------------------------------------------------------ */

static u8 *r1;
static u64 p1_model[P1_PAGES];		/* what both words hold; written by the owner */
static u32 p1_gen[P1_PAGES];		/* generations written; by the owner */
static volatile int p1_round, p1_go;	/* the round asked for, and let go */
static volatile int p1_ack[MAX_WORKERS];

/* The owner of page p in round r: a worker, or nworkers for the control. */
static int p1_owner(u64 p, int r)
{
	return (int)((p / P1_BLOCK + (u64)r) % (u64)(nworkers + 1));
}

static void p1_check_owned(u64 p, const char *who)
{
	u64 first, last;

	read_tag(r1, p, &first, &last);
	if (first != p1_model[p] || last != p1_model[p])
		fail("part 1: %s: page %lu holds %#lx/%#lx, expected %#lx", who,
		     (unsigned long)p, (unsigned long)first, (unsigned long)last,
		     (unsigned long)p1_model[p]);
}

/* A page someone else owns: 0 or a tag of this very page. */
static void p1_check_other(u64 p)
{
	u64 first, last;

	read_tag(r1, p, &first, &last);
	if ((first && !tag_is_of(first, 1, p)) || (last && !tag_is_of(last, 1, p)))
		fail("part 1: page %lu holds %#lx/%#lx, not a tag of that page",
		     (unsigned long)p, (unsigned long)first, (unsigned long)last);
}

static void p1_write(u64 p)
{
	u64 t = tag(1, p, ++p1_gen[p]);

	write_tag(r1, p, t);
	p1_model[p] = t;
}

static void p1_zap(u64 p, u64 pages)
{
	if (madvise(r1 + p * PAGE_SIZE, pages * PAGE_SIZE, MADV_DONTNEED) < 0)
		fail("part 1: MADV_DONTNEED: %s", errno_name(errno));
	for (u64 i = p; i < p + pages; i++)
		p1_model[i] = 0;
}

static long p1_worker(void *arg)
{
	struct worker *w = arg;
	u64 seed = 0x1234567 + (u64)w->index * 7919;
	int round = 0;

	while (!READ_ONCE(stop)) {
		int r = __atomic_load_n(&p1_round, __ATOMIC_ACQUIRE);

		if (r != round) {
			/* Rendezvous: the control checks every page, then
			 * hands out the new round's blocks. The release and
			 * acquire order the model's plain stores around it. */
			__atomic_store_n(&p1_ack[w->index], r, __ATOMIC_RELEASE);
			while (__atomic_load_n(&p1_go, __ATOMIC_ACQUIRE) != r && !READ_ONCE(stop))
				sched_yield();	/* the control may share this CPU */
			round = r;
			continue;
		}
		u64 p = rnd(&seed) % P1_PAGES, op = rnd(&seed) % 10;

		if (p1_owner(p, round) != w->index)
			p1_check_other(p);
		else if (op < 6)
			p1_write(p);
		else if (op < 9)
			p1_check_owned(p, "a worker's own page");
		else
			p1_zap(p, 1);
		w->ops++;
	}
	return 0;
}

/* A random sub-range of R: [*start, *start + *len), len in 1..max. */
static void p1_range(u64 *seed, u64 max, u64 *start, u64 *len)
{
	*start = rnd(seed) % P1_PAGES;
	*len = 1 + rnd(seed) % max;
	if (*start + *len > P1_PAGES)
		*len = P1_PAGES - *start;
}

/* The control's blocks this round: write a few pages, zap a block. */
static void p1_control_blocks(u64 *seed, int round)
{
	u64 nblocks = P1_PAGES / P1_BLOCK;

	for (int i = 0; i < 8; i++) {
		u64 p = rnd(seed) % P1_PAGES;

		if (p1_owner(p, round) == nworkers)
			p1_write(p);
	}
	for (u64 b = rnd(seed) % nblocks, n = 0; n < nblocks; n++, b = (b + 1) % nblocks) {
		if (p1_owner(b * P1_BLOCK, round) != nworkers)
			continue;
		for (u64 p = b * P1_BLOCK; p < (b + 1) * P1_BLOCK; p++)
			p1_check_owned(p, "the control's page before its zap");
		p1_zap(b * P1_BLOCK, P1_BLOCK);
		break;
	}
}

/* One loop of the control: split R twice (rights, then THP advice), work
 * on its own blocks while the VMAs are split, and merge them back. */
static void p1_control_iter(u64 *seed, int round)
{
	u64 xs, xl, ys, yl;

	p1_range(seed, P1_EXEC_MAX, &xs, &xl);
	p1_range(seed, P1_HUGE_MAX, &ys, &yl);
	if (mprotect(r1 + xs * PAGE_SIZE, xl * PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC) < 0)
		fail("part 1: mprotect RW|EXEC: %s", errno_name(errno));
	if (madvise(r1 + ys * PAGE_SIZE, yl * PAGE_SIZE, MADV_HUGEPAGE) < 0)
		fail("part 1: MADV_HUGEPAGE: %s", errno_name(errno));
	p1_control_blocks(seed, round);
	if (mprotect(r1 + xs * PAGE_SIZE, xl * PAGE_SIZE, PROT_READ | PROT_WRITE) < 0)
		fail("part 1: mprotect RW: %s", errno_name(errno));
	if (madvise(r1 + ys * PAGE_SIZE, yl * PAGE_SIZE, MADV_NOHUGEPAGE) < 0)
		fail("part 1: MADV_NOHUGEPAGE: %s", errno_name(errno));
}

/* Ask for round r; once every worker waits, check every page exactly
 * (nobody writes now), then let them go with the new owners. */
static void p1_next_round(int r)
{
	u64 t0 = now_ns();

	__atomic_store_n(&p1_round, r, __ATOMIC_RELEASE);
	for (int i = 0; i < nworkers && !READ_ONCE(stop); i++) {
		while (__atomic_load_n(&p1_ack[i], __ATOMIC_ACQUIRE) != r && !READ_ONCE(stop)) {
			if (now_ns() - t0 > WAIT_LIMIT_NS)
				fail("part 1: worker %d did not reach round %d", i, r);
			sched_yield();
		}
	}
	for (u64 p = 0; p < P1_PAGES && !READ_ONCE(stop); p++)
		p1_check_owned(p, "between rounds");
	/* No fault runs now: the tables must agree with the VMAs (a fault
	 * that used a VMA's rights from before a split or an mprotect leaves
	 * an entry allowing more than its VMA). */
	check_mm("between rounds of part 1");
	__atomic_store_n(&p1_go, r, __ATOMIC_RELEASE);
}

static void part1(void)
{
	u64 seed = 0xfeedface;
	struct mem before;

	begin_part(&before);
	r1 = map_region(P1_PAGES, MAP_PRIVATE);
	memset(p1_model, 0, sizeof(p1_model));
	memset(p1_gen, 0, sizeof(p1_gen));
	p1_round = p1_go = 0;
	memset((void *)p1_ack, 0, sizeof(p1_ack));
	start_workers(p1_worker);
	for (int round = 0; round < P1_ROUNDS && !READ_ONCE(stop); round++) {
		if (round)
			p1_next_round(round);
		for (int it = 0; it < P1_ITERS && !READ_ONCE(stop); it++)
			p1_control_iter(&seed, round);
	}
	stop_workers();
	for (u64 p = 0; p < P1_PAGES && !failed; p++)
		p1_check_owned(p, "final sweep");
	check_mm("after part 1");
	munmap(r1, P1_PAGES * PAGE_SIZE);
	check_mem_back(&before);
	report(!failed, "split and merge under faults: mprotect RW|EXEC and back, "
	       "MADV_HUGEPAGE and back, MADV_DONTNEED, every page as the model says");
}

/* ------------------------------------------------------------------ */
/* part 2: replace under faults                                        */
/* ------------------------------------------------------------------ */

static u8 *r2;
static volatile u64 p2_seq;	/* 2k: mapping k in place; odd: replacing */

static bool p2_in_s(u64 p)
{
	return p >= P2_SIDE && p < P2_SIDE + P2_S;
}

/* S's first half, the part a private mapping replaces. */
static bool p2_in_s1(u64 p)
{
	return p >= P2_SIDE && p < P2_SIDE + P2_S1;
}

/* What page p holds while mapping k is in place. Odd k: all of S is a new
 * shared object with tags of generation k. Even k: its first half S1 is
 * private (reads zero), its second half S2 still maps object k - 1, which
 * thus stays alive: a fault served from the removed VMA would find its
 * page there and map it into S1. L and H never change. */
static u64 p2_expected(u64 k, u64 p)
{
	if (!p2_in_s(p))
		return tag(2, p, 1);
	if (k % 2)
		return tag(2, p, k);
	return p2_in_s1(p) || k == 0 ? 0 : tag(2, p, k - 1);
}

/* v read from page p between sequence values s0 and s1: exact when no
 * replacement began or ended, else zero (a page of the new object not
 * filled yet) or what a mapping in place at some moment in between held. */
static bool p2_read_ok(u64 p, u64 v, u64 s0, u64 s1)
{
	if (s0 == s1 && s0 % 2 == 0)
		return v == p2_expected(s0 / 2, p);
	if (!v)
		return true;
	for (u64 k = s0 / 2; k <= (s1 + 1) / 2; k++)
		if (v == p2_expected(k, p))
			return true;
	return false;
}

static void p2_check(u64 p, u64 s0, u64 s1, u64 first, u64 last)
{
	if (!p2_read_ok(p, first, s0, s1) || !p2_read_ok(p, last, s0, s1))
		fail("part 2: page %lu holds %#lx/%#lx, sequence %lu..%lu",
		     (unsigned long)p, (unsigned long)first, (unsigned long)last,
		     (unsigned long)s0, (unsigned long)s1);
}

static long p2_worker(void *arg)
{
	struct worker *w = arg;
	u64 seed = 0x7654321 + (u64)w->index * 104729;

	while (!READ_ONCE(stop)) {
		/* S1 mostly: after each replacement its reads are faults. */
		u64 p = rnd(&seed) % 8 ? P2_SIDE + rnd(&seed) % P2_S1 : rnd(&seed) % P2_PAGES;
		u64 s0 = __atomic_load_n(&p2_seq, __ATOMIC_ACQUIRE), first, last;

		read_tag(r2, p, &first, &last);
		p2_check(p, s0, __atomic_load_n(&p2_seq, __ATOMIC_ACQUIRE), first, last);
		w->ops++;
	}
	return 0;
}

static void p2_zap_s(void)
{
	if (madvise(r2 + P2_SIDE * PAGE_SIZE, P2_S * PAGE_SIZE, MADV_DONTNEED) < 0)
		fail("part 2: MADV_DONTNEED of S: %s", errno_name(errno));
}

/* Put mapping k in place: all of S shared (odd k) or S1 private (even k).
 * munmap and insert happen under one mmap_lock, so every address of S
 * stays readable. */
static void p2_replace(u64 k)
{
	u8 *s = r2 + P2_SIDE * PAGE_SIZE;
	int type = k % 2 ? MAP_SHARED : MAP_PRIVATE;
	u64 len = (k % 2 ? P2_S : P2_S1) * PAGE_SIZE;

	__atomic_store_n(&p2_seq, 2 * k - 1, __ATOMIC_RELEASE);
	if (mmap(s, len, PROT_READ | PROT_WRITE, type | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != s) {
		fail("part 2: mmap MAP_FIXED: %s", errno_name(errno));
		return;
	}
	if (k % 2) {
		/* The tags stay in the shared object; the zap makes every
		 * read of S a fault again. */
		for (u64 p = P2_SIDE; p < P2_SIDE + P2_S; p++)
			write_tag(r2, p, tag(2, p, k));
		p2_zap_s();
	} else if (madvise(s, len, MADV_NOHUGEPAGE) < 0) {
		/* Same flags as L: the two merge into one VMA. */
		fail("part 2: MADV_NOHUGEPAGE of S: %s", errno_name(errno));
	}
	__atomic_store_n(&p2_seq, 2 * k, __ATOMIC_RELEASE);
}

static void part2(void)
{
	struct mem before;

	begin_part(&before);
	r2 = map_region(P2_PAGES, MAP_PRIVATE);
	for (u64 p = 0; p < P2_PAGES; p++)
		if (!p2_in_s(p))
			write_tag(r2, p, tag(2, p, 1));
	p2_seq = 0;
	start_workers(p2_worker);
	for (u64 k = 1; k <= P2_REPLACES && !READ_ONCE(stop); k++) {
		p2_replace(k);
		/* The next replacement comes while the workers fault the new
		 * mapping in: faults in flight on the VMA it removes. */
		wait_ops((u64)nworkers);
	}
	stop_workers();
	for (u64 p = 0, first, last; p < P2_PAGES && !failed; p++) {
		read_tag(r2, p, &first, &last);
		p2_check(p, p2_seq, p2_seq, first, last);
	}
	check_mm("after part 2");
	munmap(r2, P2_PAGES * PAGE_SIZE);
	check_mem_back(&before);
	report(!failed, "replace under faults: S mapped again with MAP_FIXED, shared and private "
	       "in turn, every read sees the mapping in place");
}

/* ------------------------------------------------------------------ */
/* part 3: fork under faults                                           */
/* ------------------------------------------------------------------ */

/* Every page has a slot (word 1 + w) per worker w, written by w alone:
 * several CPUs write each page, so a copy-on-write fault by one may race a
 * write another still makes through the entry fork just write-protected. */
static u8 *r3;
static u32 p3_started[P3_PAGES][MAX_WORKERS];	/* by the slot's worker, before the write */
static u32 p3_completed[P3_PAGES][MAX_WORKERS];	/* and after it */
static u32 p3_lo[P3_PAGES][MAX_WORKERS];	/* completed before this fork began */

/* What parent and child share (MAP_SHARED). */
struct p3_shared {
	volatile int go;		/* hi[] is there: the child may check */
	volatile int bad;		/* the child's verdict: 1 = a slot was wrong */
	u32 bad_page, bad_slot, bad_lo, bad_hi;
	u64 bad_value;
	u64 bad_pfn;			/* the child's frame of that page (0: hidden) */
	u32 hi[P3_PAGES][MAX_WORKERS];	/* started before fork returned */
};

static struct p3_shared *p3sh;
static u8 *child_stack;

static volatile u64 *p3_slot(u64 p, int w)
{
	return page_words(r3, p) + 1 + w;
}

/* What slot w of page p must hold once generation g is complete. */
static u64 p3_value(u64 p, u32 g)
{
	return g ? tag(3, p, g) : 0;
}

static long p3_worker(void *arg)
{
	struct worker *w = arg;
	u64 seed = 0xabcdef + (u64)w->index * 65537;
	int i = w->index;

	while (!READ_ONCE(stop)) {
		u64 p = rnd(&seed) % P3_PAGES, v;

		if (rnd(&seed) % 5) {
			u32 g = p3_started[p][i] + 1;

			__atomic_store_n(&p3_started[p][i], g, __ATOMIC_RELEASE);
			__atomic_store_n(p3_slot(p, i), tag(3, p, g), __ATOMIC_RELEASE);
			__atomic_store_n(&p3_completed[p][i], g, __ATOMIC_RELEASE);
		} else if ((v = __atomic_load_n(p3_slot(p, i), __ATOMIC_ACQUIRE)) !=
			   p3_value(p, p3_completed[p][i])) {
			fail("part 3: the parent's page %lu (%p), slot %d holds %#lx, expected %#lx "
			     "(a write lost; started %u)", (unsigned long)p, (void *)(r3 + p * PAGE_SIZE),
			     i, (unsigned long)v, (unsigned long)p3_value(p, p3_completed[p][i]),
			     p3_started[p][i]);
		}
		w->ops++;
	}
	return 0;
}

/* The frame this process maps at addr, for a failure's diagnostic: equal
 * frames in parent and child after both wrote would be a page fork left
 * shared. 0 when pagemap hides frames (Linux, unprivileged) or fails. */
static u64 page_frame(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY, 0);
	u64 pfn = 0;

	if (fd >= 0) {
		if (pagemap_pfn(fd, addr, &pfn) < 0)
			pfn = 0;
		close(fd);
	}
	return pfn;
}

static bool p3_child_slot_ok(u64 p, int w, u64 v)
{
	if (!v)
		return p3_lo[p][w] == 0;
	return tag_is_of(v, 3, p) && tag_gen(v) >= p3_lo[p][w] && tag_gen(v) <= p3sh->hi[p][w];
}

/* The fork child: its copy of each page is frozen at some moment of the
 * fork. Then it writes its copy, which the parent must never see. */
static long p3_child(void *arg)
{
	u64 t0 = now_ns();

	(void)arg;
	while (!__atomic_load_n(&p3sh->go, __ATOMIC_ACQUIRE)) {
		if (now_ns() - t0 > WAIT_LIMIT_NS)
			return 2;
		sched_yield();
	}
	for (u64 p = 0; p < P3_PAGES; p++) {
		for (int w = 0; w < nworkers; w++) {
			u64 v = *p3_slot(p, w);

			if (p3_child_slot_ok(p, w, v))
				continue;
			p3sh->bad_page = (u32)p;
			p3sh->bad_slot = (u32)w;
			p3sh->bad_value = v;
			p3sh->bad_lo = p3_lo[p][w];
			p3sh->bad_hi = p3sh->hi[p][w];
			p3sh->bad_pfn = page_frame(r3 + p * PAGE_SIZE);
			p3sh->bad = 1;
			return 1;
		}
	}
	for (u64 p = 0; p < P3_PAGES; p++)
		for (int w = 0; w < nworkers; w++)
			*p3_slot(p, w) = tag(4, p, 0);
	return 0;
}

/* The child saw a value outside lo..hi: say everything that tells a stale
 * TLB entry (the value written after fork returned, the frames differ)
 * from a page fork left shared (the same frame) or a lost write (the
 * parent's slot holds less than its worker completed). */
static void p3_report_child(u32 p, u32 w)
{
	fail("part 3: the child's page %u (%p), slot %u holds %#lx, not a generation in %u..%u; "
	     "the parent's slot holds %#lx (started %u, completed %u); frames: child %#lx, parent %#lx",
	     p, (void *)(r3 + (u64)p * PAGE_SIZE), w, (unsigned long)p3sh->bad_value,
	     p3sh->bad_lo, p3sh->bad_hi, (unsigned long)*p3_slot(p, (int)w),
	     READ_ONCE(p3_started[p][w]), READ_ONCE(p3_completed[p][w]),
	     (unsigned long)p3sh->bad_pfn, (unsigned long)page_frame(r3 + (u64)p * PAGE_SIZE));
}

/* Copy the workers' counters while they keep counting: one 4-byte load per
 * counter. Not memcpy: this libc's copies byte by byte, and a counter
 * that moves between the reads of its low and high bytes comes out as a
 * number it never held - above its later values, when the copy stalls
 * (the copy's first store faults: fork left that page read-only) while
 * the low byte wraps. A bound made of such a number is not a bound. */
static void p3_snapshot(u32 dst[P3_PAGES][MAX_WORKERS], u32 src[P3_PAGES][MAX_WORKERS])
{
	for (u32 p = 0; p < P3_PAGES; p++)
		for (int w = 0; w < MAX_WORKERS; w++)
			dst[p][w] = __atomic_load_n(&src[p][w], __ATOMIC_ACQUIRE);
}

/* The model's own consistency: a worker's completed count never passes
 * its started count, and lo was read before hi, so lo <= hi in every
 * slot. A failure here is the test's, not the kernel's. */
static void p3_check_bounds(void)
{
	for (u32 p = 0; p < P3_PAGES; p++) {
		for (int w = 0; w < nworkers; w++) {
			if (p3_lo[p][w] > p3sh->hi[p][w]) {
				fail("part 3: the test's own bounds for page %u, slot %d are %u..%u: "
				     "a counter was misread", p, w, p3_lo[p][w], p3sh->hi[p][w]);
				return;
			}
		}
	}
}

static void p3_fork_once(void)
{
	int status = 0;
	pid_t pid;

	p3_snapshot(p3_lo, p3_completed);
	p3sh->go = 0;
	p3sh->bad = 0;
	pid = fork_call(p3_child, NULL, child_stack, CHILD_STACK);
	if (pid < 0) {
		fail("part 3: fork: %s", errno_name(errno));
		return;
	}
	p3_snapshot(p3sh->hi, p3_started);
	p3_check_bounds();      /* a failure here wins over the child's verdict */
	/* Let the workers write on for a while first: a write that reaches
	 * the child's copy is then there to be seen. */
	wait_ops(P3_OPS);
	__atomic_store_n(&p3sh->go, 1, __ATOMIC_RELEASE);
	if (wait4(pid, &status, 0, NULL) != pid)
		fail("part 3: wait4: %s", errno_name(errno));
	else if (p3sh->bad)
		p3_report_child(p3sh->bad_page, p3sh->bad_slot);
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("part 3: the fork child ended with status %#x", status);
}

/* After the workers: every slot holds its last generation exactly. */
static void p3_sweep(void)
{
	for (u64 p = 0; p < P3_PAGES && !failed; p++) {
		for (int w = 0; w < nworkers; w++) {
			u64 v = *p3_slot(p, w), want = p3_value(p, p3_completed[p][w]);

			if (v != want)
				fail("part 3: final sweep: page %lu, slot %d holds %#lx, expected %#lx",
				     (unsigned long)p, w, (unsigned long)v, (unsigned long)want);
		}
	}
}

static void part3(void)
{
	struct mem before;

	begin_part(&before);
	r3 = map_region(P3_PAGES, MAP_PRIVATE);
	p3sh = mmap(NULL, sizeof(*p3sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	child_stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p3sh == MAP_FAILED || child_stack == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	memset(p3_started, 0, sizeof(p3_started));
	memset(p3_completed, 0, sizeof(p3_completed));
	start_workers(p3_worker);
	for (int f = 0; f < P3_FORKS && wait_ops(P3_OPS); f++)
		p3_fork_once();
	stop_workers();
	p3_sweep();
	check_mm("after part 3");
	munmap(r3, P3_PAGES * PAGE_SIZE);
	munmap(p3sh, sizeof(*p3sh));
	munmap(child_stack, CHILD_STACK);
	check_mem_back(&before);
	report(!failed, "fork under faults: the child's copy of each page is frozen during fork, "
	       "the parent loses no write and sees none of the child's");
}

/* ------------------------------------------------------------------ */
/* the bounds' copy, interrupted                                       */
/* ------------------------------------------------------------------ */

/* p3_snapshot copies counters that other threads move meanwhile. Made
 * certain here: the copy's first store lands in a read-only page, and the
 * SIGSEGV handler moves the first counter across a byte boundary (0xff ->
 * 0x100) before it lets the store through. A copy that read the counter
 * whole holds 0xff (or 0x100, had it read it after that store); a copy by
 * bytes holds 0x1ff, a value never there. */
static u32 snap_src[P3_PAGES][MAX_WORKERS];
static u8 *snap_dst;
static volatile int snap_faults;

static void snap_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (++snap_faults > 1 || (u8 *)si->si_addr < snap_dst ||
	    (u8 *)si->si_addr >= snap_dst + 2 * PAGE_SIZE)
		exit(3);        /* not the fault this case makes: stop */
	__atomic_store_n(&snap_src[0][0], 0x100, __ATOMIC_RELEASE);
	mprotect(snap_dst, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
}

static void bounds_copy(void)
{
	struct sigaction sa, old;
	u32 (*dst)[MAX_WORKERS];

	failed = 0;
	fail_msg[0] = 0;
	snap_dst = mmap(NULL, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (snap_dst == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	dst = (u32 (*)[MAX_WORKERS])snap_dst;
	snap_src[0][0] = 0xff;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = snap_segv;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSEGV, &sa, &old) < 0)
		ktap_bail("sigaction: %s", errno_name(errno));
	p3_snapshot(dst, snap_src);
	sigaction(SIGSEGV, &old, NULL);
	if (snap_faults != 1)
		fail("the copy faulted %d times, expected once", snap_faults);
	else if (dst[0][0] != 0xff && dst[0][0] != 0x100)
		fail("the copy of a counter that went from 0xff to 0x100 during the copy "
		     "holds %#x", dst[0][0]);
	munmap(snap_dst, 2 * PAGE_SIZE);
	report(!failed, "part 3's bounds: a counter that moves while their copy faults "
	       "is copied whole, as one value it held");
}

/* The address space's VMA array grows as parts split their regions and
 * never shrinks: grow it now, so that "memory back" compares like with
 * like. 64 VMAs, more than any part makes. */
static void warm_up(void)
{
	u8 *m = mmap(NULL, 128 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	for (int i = 0; i < 64; i++)
		if (mprotect(m + 2 * i * PAGE_SIZE, PAGE_SIZE, PROT_READ) < 0)
			ktap_bail("mprotect: %s", errno_name(errno));
	munmap(m, 128 * PAGE_SIZE);
}

int main(void)
{
	int cpus = ncpus = online_cpus();

	is_pagoda = !strcmp(system_name(), "Pagoda");
	nworkers = cpus > 1 ? cpus - 1 : 1;
	if (nworkers > MAX_WORKERS)
		nworkers = MAX_WORKERS;
	if (cpus > 1 && pin_to_cpu(0) < 0)
		ktap_bail("pin to CPU 0: %s", errno_name(errno));
	ktap_plan(4);
	warm_up();
	part1();
	part2();
	part3();
	bounds_copy();
	return ktap_finish();
}
