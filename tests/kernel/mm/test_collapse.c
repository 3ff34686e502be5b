/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_collapse.c - the "collapse" suite: MADV_COLLAPSE, the retract of a
 * PTE table and the background collapser (mm/khugepaged.h, docs/thp.md).
 *
 * Small pages are made in any "thp=" mode by writing with MADV_NOHUGEPAGE
 * set and then giving MADV_HUGEPAGE (which clears it). Negative controls
 * (tools/run-tests):
 *   collapse_debug_free_table_now     lockless_walkers fails
 *   collapse_debug_skip_pmd_recheck   table_replaced_before_retract fails
 *   collapse_debug_skip_flush         faults_during_collapse fails
 */
#include "kernel/ktest.h"
#include "kernel/rcu.h"
#include "kernel/errno.h"
#include "kernel/time.h"
#include "kernel/uaccess.h"
#include "kernel/sched.h"
#include "kernel/file.h"
#include "kernel/userfaultfd.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "mm/khugepaged.h"
#include "mm/madvise.h"
#include "mm/buddy.h"
#include "mm/gup_fast.h"
#include "mm/fault_inject.h"
#include "mm/mm_debug.h"
#include "mm/userfaultfd.h"
#include "tests/kernel/mm/test_user.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

#define BASE 0x0000600000000000UL       /* 2 MiB aligned, its own top-level slot */
#define ARGS (BASE + 64 * HPAGE_SIZE)   /* a page for ioctl arguments */
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define POISON64 0xaaaaaaaaaaaaaaaaUL   /* freed pages, debug build */

static s64 stat(enum vm_stat_item i) { return __atomic_load_n(&vm_stat[i], __ATOMIC_RELAXED); }
static u32 online_count(void) { return num_online_cpus(); }
static u32 first_cpu(void) { return cpumask_first(&cpu_online_mask); }
static void bump(u32 *v) { __atomic_add_fetch(v, 1, __ATOMIC_SEQ_CST); }

static u64 pmd_of(struct mm_struct *mm, u64 addr)
{
	u64 *e = pgtable_walk(mm, addr, PT_PMD);
	return e ? pte_read(e) : 0;
}

static bool is_huge(struct mm_struct *mm, u64 addr) { return pmd_huge(pmd_of(mm, addr)); }

/* Word w of the page at addr, written in round `seed`: never zero, never
 * poison, and it names its page (bits 12..20) and word (bits 3..11). */
static u64 pattern(u64 seed, u64 addr, u32 w)
{
	return (seed << 32) | (addr & 0xfffff000UL) | ((u64)w << 3) | 1;
}

/* What each page of a piece holds. */
enum fill { FILL_NONE, FILL_ZERO_PAGE, FILL_DATA };
typedef enum fill (*fill_fn)(u32 page);
static enum fill all_data(u32 i) { (void)i; return FILL_DATA; }
static enum fill odd_data(u32 i) { return (i & 1) ? FILL_DATA : FILL_NONE; }
static enum fill zero_or_data(u32 i) { return (i & 1) ? FILL_DATA : FILL_ZERO_PAGE; }
static enum fill all_zero_page(u32 i) { (void)i; return FILL_ZERO_PAGE; }

/* Fill the 512 pages of the piece at haddr as f says, with 4 KiB pages
 * (MADV_NOHUGEPAGE while writing), then allow THP there (MADV_HUGEPAGE). */
static bool fill_small(struct mm_struct *mm, u64 haddr, fill_fn f, u64 seed)
{
	struct page *buf = alloc_page(0);
	if (!buf)
		return false;
	u64 *b = page_address(buf);
	bool ok = do_madvise(mm, haddr, HPAGE_SIZE, MADV_NOHUGEPAGE) == 0;
	kthread_use_mm(mm);
	for (u32 i = 0; i < HPAGE_NR && ok; i++) {
		u64 a = haddr + P(i);
		if (f(i) == FILL_ZERO_PAGE) {
			u64 v;
			ok = test_get_u64(mm, a, &v) == 0 && v == 0;
		} else if (f(i) == FILL_DATA) {
			for (u32 w = 0; w < PAGE_SIZE / 8; w++)
				b[w] = pattern(seed, a, w);
			ok = test_user_access(mm, a, b, PAGE_SIZE, true) == 0;
		}
	}
	kthread_unuse_mm(mm);
	free_page(buf);
	return ok && do_madvise(mm, haddr, HPAGE_SIZE, MADV_HUGEPAGE) == 0;
}

/* Pages of the piece whose bytes differ from what fill_small wrote. */
static u32 bad_pages(struct mm_struct *mm, u64 haddr, fill_fn f, u64 seed)
{
	struct page *buf = alloc_page(0);
	if (!buf)
		return HPAGE_NR;
	u64 *b = page_address(buf);
	u32 bad = 0;
	kthread_use_mm(mm);
	for (u32 i = 0; i < HPAGE_NR; i++) {
		u64 a = haddr + P(i);
		if (test_user_access(mm, a, b, PAGE_SIZE, false)) {
			bad++;
			continue;
		}
		for (u32 w = 0; w < PAGE_SIZE / 8; w++)
			if (b[w] != (f(i) == FILL_DATA ? pattern(seed, a, w) : 0)) {
				bad++;
				break;
			}
	}
	kthread_unuse_mm(mm);
	free_page(buf);
	return bad;
}

/* The address spaces of this suite stay out of the background collapser's
 * list (khugepaged_enter does nothing while it is off), so that a piece
 * stays small until the case collapses it, also with "khugepaged=1". Only
 * "background" lets it in. */
static bool khugepaged_was;
static void khugepaged_quiet(void)
{
	khugepaged_was = khugepaged_enabled;
	khugepaged_enabled = false;
}

static void khugepaged_restore(void) { khugepaged_enabled = khugepaged_was; }

static struct mm_struct *region_mm(u64 len)
{
	struct mm_struct *mm = mm_create();
	if (mm && do_mmap(mm, BASE, len, RW, ANON | MAP_FIXED, -1, 0) != (long)BASE) {
		mm_put(mm);
		return NULL;
	}
	return mm;
}

static long collapse(struct mm_struct *mm, u64 start, u64 len)
{
	return do_madvise(mm, start, len, MADV_COLLAPSE);
}

static void counts_ok(struct ktest *t, struct mm_struct *mm)
{
	char why[160];
	int n = mm_check_counts(mm, why, sizeof(why));
	if (n)
		ktest_log(t, "mm_check_counts: %s", why);
	KTEST_EXPECT_EQ(t, n, 0);
}

/* --- 1. the collapse itself --- */

/* A full piece and a half-full one: both become huge, every byte stays,
 * the counters say one 2 MiB page each, and munmap gives everything back. */
static void full_and_partial(struct ktest *t)
{
	s64 alloc0 = stat(NR_THP_COLLAPSE_ALLOC), anon0 = stat(NR_ANON_THPS);
	struct mm_struct *mm = region_mm(2 * HPAGE_SIZE);
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE, all_data, 1));
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE + HPAGE_SIZE, odd_data, 1));
	KTEST_EXPECT_EQ(t, mm->rss_pages, HPAGE_NR + HPAGE_NR / 2);
	u64 tables = mm->pgtable_pages;
	KTEST_EXPECT_EQ(t, collapse(mm, BASE, 2 * HPAGE_SIZE), 0);
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE) && is_huge(mm, BASE + HPAGE_SIZE));
	u64 pmd = pmd_of(mm, BASE);
	/* The collapse's own copy: writable (the VMA is), dirty, exclusive. */
	KTEST_EXPECT_TRUE(t, (pmd & PTE_W) && (pmd & PTE_D) && !(pmd & PTE_SPECIAL));
	KTEST_EXPECT_TRUE(t, (pte_page(pmd)->flags & (PG_anon | PG_exclusive)) == (PG_anon | PG_exclusive));
	KTEST_EXPECT_EQ(t, mm->rss_pages, 2 * HPAGE_NR);
	KTEST_EXPECT_EQ(t, mm->pgtable_pages, tables);  /* a deposit for each table */
	KTEST_EXPECT_EQ(t, stat(NR_ANON_THPS) - anon0, 2);
	KTEST_EXPECT_EQ(t, stat(NR_THP_COLLAPSE_ALLOC) - alloc0, 2);
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE, all_data, 1), 0);
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE + HPAGE_SIZE, odd_data, 1), 0);
	counts_ok(t, mm);
	mm_put(mm);
}

static void test_full_and_partial(struct ktest *t)
{
	full_and_partial(t);            /* warms caches up (slab, RCU, per-CPU) */
	u64 before = test_settled_free_and_slab_pages();
	s64 anon0 = stat(NR_ANON_THPS), tables0 = stat(NR_PAGETABLE);
	full_and_partial(t);
	rcu_barrier();
	KTEST_EXPECT_EQ(t, stat(NR_ANON_THPS), anon0);
	KTEST_EXPECT_EQ(t, stat(NR_PAGETABLE), tables0);
	KTEST_EXPECT_EQ(t, test_settled_free_and_slab_pages(), before);
}

/* Zero-page entries count as empty: read zeros after. A piece of nothing
 * but the zero page has nothing written: refused (Linux: SCAN_PAGE_RO). */
static void test_zero_page_ptes(struct ktest *t)
{
	struct mm_struct *mm = region_mm(2 * HPAGE_SIZE);
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE, zero_or_data, 2));
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE + HPAGE_SIZE, all_zero_page, 2));
	KTEST_EXPECT_EQ(t, mm->rss_pages, HPAGE_NR / 2);
	KTEST_EXPECT_EQ(t, collapse(mm, BASE, HPAGE_SIZE), 0);
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE));
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE, zero_or_data, 2), 0);
	KTEST_EXPECT_EQ(t, collapse(mm, BASE + HPAGE_SIZE, HPAGE_SIZE), -EINVAL);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE + HPAGE_SIZE));
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE + HPAGE_SIZE, all_zero_page, 2), 0);
	KTEST_EXPECT_EQ(t, mm->rss_pages, HPAGE_NR);
	counts_ok(t, mm);
	mm_put(mm);
}

/* --- 2. Linux's answers --- */

static void test_errno(struct ktest *t)
{
	struct mm_struct *mm = region_mm(2 * HPAGE_SIZE);
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE, all_data, 3));
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE + HPAGE_SIZE, all_data, 3));
	/* No whole 2 MiB piece in the range: inside one piece, EINVAL (Linux
	 * 6.1's unsigned count); across a boundary, nothing to do, 0. */
	KTEST_EXPECT_EQ(t, collapse(mm, BASE + P(1), HPAGE_SIZE / 2), -EINVAL);
	KTEST_EXPECT_EQ(t, collapse(mm, BASE + HPAGE_SIZE / 2, HPAGE_SIZE), 0);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE));
	/* A hole after the VMA: the VMA's pieces are done, then ENOMEM. */
	KTEST_EXPECT_EQ(t, collapse(mm, BASE + HPAGE_SIZE, 2 * HPAGE_SIZE), -ENOMEM);
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE + HPAGE_SIZE));
	/* MADV_NOHUGEPAGE: refused. */
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, HPAGE_SIZE, MADV_NOHUGEPAGE), 0);
	KTEST_EXPECT_EQ(t, collapse(mm, BASE, HPAGE_SIZE), -EINVAL);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, HPAGE_SIZE, MADV_HUGEPAGE), 0);
	/* No 2 MiB page to be had: ENOMEM, counted. */
	s64 failed0 = stat(NR_THP_COLLAPSE_ALLOC_FAILED);
	fail_page_alloc_set(1, 0);
	long r = collapse(mm, BASE, HPAGE_SIZE);
	fail_page_alloc_set(0, 0);
	KTEST_EXPECT_EQ(t, r, -ENOMEM);
	KTEST_EXPECT_EQ(t, stat(NR_THP_COLLAPSE_ALLOC_FAILED) - failed0, 1);
	/* A pinned page (a reference no mapping explains): EAGAIN. */
	struct page *pin = get_user_page_fast(mm, BASE + P(3), false);
	KTEST_ASSERT_TRUE(t, pin);
	KTEST_EXPECT_EQ(t, collapse(mm, BASE, HPAGE_SIZE), -EAGAIN);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE));
	put_page(pin);
	/* "thp=never" does not matter to MADV_COLLAPSE (Linux 6.1). */
	enum thp_mode mode = thp_mode;
	thp_mode = THP_NEVER;
	r = collapse(mm, BASE, HPAGE_SIZE);
	thp_mode = mode;
	KTEST_EXPECT_EQ(t, r, 0);
	/* Already huge: done, 0. */
	u64 pmd = pmd_of(mm, BASE);
	KTEST_EXPECT_EQ(t, collapse(mm, BASE, HPAGE_SIZE), 0);
	KTEST_EXPECT_EQ(t, pmd_of(mm, BASE), pmd);
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE, all_data, 3), 0);
	/* A VMA with no whole piece; a shared mapping: EINVAL. */
	u64 small = BASE + 4 * HPAGE_SIZE, shared = BASE + 8 * HPAGE_SIZE;
	KTEST_EXPECT_EQ(t, do_mmap(mm, small, HPAGE_SIZE / 2, RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0), (long)small);
	KTEST_EXPECT_EQ(t, collapse(mm, small, HPAGE_SIZE / 2), -EINVAL);
	KTEST_EXPECT_EQ(t, do_mmap(mm, shared, HPAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
				   -1, 0), (long)shared);
	KTEST_EXPECT_EQ(t, collapse(mm, shared, HPAGE_SIZE), -EINVAL);
	KTEST_EXPECT_FALSE(t, is_huge(mm, shared));
	counts_ok(t, mm);
	mm_put(mm);
}

/* userfaultfd: a uffd-wp bit, or a marker, in the piece: refused (Linux's
 * SCAN_PTE_UFFD_WP); with the protection gone it collapses. */
static void test_uffd_wp(struct ktest *t)
{
	struct mm_struct *mm = region_mm(2 * HPAGE_SIZE);
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE, all_data, 4));
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE + HPAGE_SIZE, all_data, 4));
	long err = 0;
	struct file *uffd = userfaultfd_create(mm, O_NONBLOCK, &err);
	KTEST_ASSERT_TRUE(t, uffd);
	KTEST_ASSERT_EQ(t, do_mmap(mm, ARGS, P(1), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0), (long)ARGS);
	struct uffdio_api api = { UFFD_API, UFFD_FEATURE_WP_UNPOPULATED, 0 };
	kthread_use_mm(mm);
	KTEST_EXPECT_EQ(t, copy_to_user(ARGS, &api, sizeof(api)), 0);
	KTEST_EXPECT_EQ(t, file_ioctl(uffd, UFFDIO_API, ARGS), 0);
	kthread_unuse_mm(mm);
	struct userfaultfd_ctx *ctx = userfaultfd_file_ctx(uffd);
	KTEST_ASSERT_EQ(t, uffd_register_range(mm, ctx, BASE, BASE + 2 * HPAGE_SIZE, VM_UFFD_WP), 0);
	/* One protected page in the first piece. */
	KTEST_EXPECT_EQ(t, uffd_wp_range(mm, BASE + P(5), BASE + P(6), true), 0);
	KTEST_EXPECT_EQ(t, collapse(mm, BASE, HPAGE_SIZE), -EINVAL);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE));
	KTEST_EXPECT_EQ(t, uffd_wp_range(mm, BASE + P(5), BASE + P(6), false), 0);
	KTEST_EXPECT_EQ(t, collapse(mm, BASE, HPAGE_SIZE), 0);
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE));
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE, all_data, 4), 0);
	/* A marker: an empty entry, protected. */
	u64 m = BASE + HPAGE_SIZE + P(9);
	KTEST_EXPECT_EQ(t, do_madvise(mm, m, P(1), MADV_DONTNEED), 0);
	KTEST_EXPECT_EQ(t, uffd_wp_range(mm, m, m + P(1), true), 0);
	KTEST_EXPECT_TRUE(t, pte_uffd_marker(pgtable_leaf(mm, m)));
	KTEST_EXPECT_EQ(t, collapse(mm, BASE + HPAGE_SIZE, HPAGE_SIZE), -EINVAL);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE + HPAGE_SIZE));
	KTEST_EXPECT_TRUE(t, pte_uffd_marker(pgtable_leaf(mm, m)));
	counts_ok(t, mm);
	file_put(uffd);
	mm_put(mm);
}

/* --- 3. the retract against lockless walkers --- */

/* Each round CPU 0 makes a piece of small pages; the other CPUs walk into
 * its PTE table the way GUP-fast does (interrupts off, rcu_read_lock, no
 * lock) and hold on to the table while CPU 0 collapses the piece. Once
 * MADV_COLLAPSE has returned they look at the table again: it must still be
 * a page table, without poison - freed only after a grace period, which
 * their section holds off. collapse_debug_free_table_now must fail here. */
#define WALK_ROUNDS 12

struct walk_ctx {
	struct test_walk_race race;
	u32 collapsed;
};

static void walk_prepare(struct test_walk_race *race, u32 r)
{
	do_madvise(race->mm, BASE, HPAGE_SIZE, MADV_DONTNEED);
	fill_small(race->mm, BASE, all_data, 10 + r);
}

static void walk_collapse(struct test_walk_race *race, u32 r)
{
	(void)r;
	struct walk_ctx *c = container_of(race, struct walk_ctx, race);
	if (collapse(race->mm, BASE, HPAGE_SIZE) == 0 && is_huge(race->mm, BASE))
		c->collapsed++;
}

static void test_lockless_walkers(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	rcu_barrier();
	s64 tables0 = stat(NR_PAGETABLE);
	/* The PTE table alone is checked (top 1): the collapse frees no other. */
	struct walk_ctx c = { .race = { .mm = region_mm(HPAGE_SIZE), .base = BASE,
					.pages = HPAGE_NR, .rounds = WALK_ROUNDS, .top = PT_PTE,
					.prepare = walk_prepare, .free_tables = walk_collapse } };
	KTEST_ASSERT_TRUE(t, c.race.mm);
	test_walk_race_run(&c.race);
	ktest_log(t, "%u rounds, %u collapsed, %u walks reached the PTE table; after the collapse: "
		  "%u tables freed, %u with poison", WALK_ROUNDS, c.collapsed, c.race.reached,
		  c.race.not_table, c.race.poison);
	KTEST_EXPECT_EQ(t, c.collapsed, WALK_ROUNDS);
	KTEST_EXPECT_EQ(t, c.race.reached, WALK_ROUNDS * c.race.walkers);
	KTEST_EXPECT_EQ(t, c.race.timeouts, 0);
	KTEST_EXPECT_EQ(t, c.race.not_table, 0);
	KTEST_EXPECT_EQ(t, c.race.poison, 0);
	counts_ok(t, c.race.mm);
	mm_put(c.race.mm);
	rcu_barrier();
	KTEST_EXPECT_EQ(t, stat(NR_PAGETABLE), tables0);
}

/* --- 4. the retract against a table replaced since the scan --- */

/* The hook runs between the scan and the retract: it zaps the piece (the
 * emptied table is reclaimed, mm/pgtable.c) and writes one word there (a
 * new THP, or a new table). The retract must find the PMD changed and
 * leave it alone. collapse_debug_skip_pmd_recheck must fail here. */
static u64 replaced_pmd;

static void replace_table_hook(struct mm_struct *mm, u64 haddr)
{
	do_madvise(mm, haddr, HPAGE_SIZE, MADV_DONTNEED);
	rcu_barrier();                  /* the old table is freed by now */
	test_poke(mm, haddr + P(7), 0x77);
	replaced_pmd = pmd_of(mm, haddr);
}

static void test_table_replaced_before_retract(struct ktest *t)
{
	s64 anon0 = stat(NR_ANON_THPS);
	struct mm_struct *mm = region_mm(HPAGE_SIZE);
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE, all_data, 5));
	u64 scanned = pmd_of(mm, BASE);
	collapse_debug_window_hook = replace_table_hook;
	long r = collapse(mm, BASE, HPAGE_SIZE);
	collapse_debug_window_hook = NULL;
	KTEST_EXPECT_NE(t, replaced_pmd, scanned);
	bool huge = pmd_huge(replaced_pmd);
	ktest_log(t, "the hook left a %s; MADV_COLLAPSE returned %ld", huge ? "huge PMD" : "new table", r);
	/* A huge PMD is what the collapse wanted (Linux: SCAN_PMD_MAPPED, 0);
	 * another table: try again. */
	KTEST_EXPECT_EQ(t, r, huge ? 0 : -EAGAIN);
	u64 now = pmd_of(mm, BASE);
	if (!KTEST_EXPECT_EQ(t, now, replaced_pmd)) {
		/* The retract overwrote it: put it back so that the address
		 * space can be torn down without freeing tables twice. */
		spin_lock(&mm->page_table_lock);
		pte_set(pgtable_walk(mm, BASE, PT_PMD), replaced_pmd);
		spin_unlock(&mm->page_table_lock);
	}
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE + P(7)), 0x77);
	counts_ok(t, mm);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, stat(NR_ANON_THPS), anon0);
}

/* --- 5. collapse beside faults, zaps, table reclaim and GUP-fast --- */

#define RACE_ROUNDS 16

struct race_ctx {
	struct mm_struct *mm;
	u32 leader, gup_cpu, stop;
	u32 collapsed, eagain, other_err, bad;
	u32 gups, poison, wrong_page, zaps;
	u64 wrong_v, wrong_i;
};

/* A collapse that meets a GUP-fast pin in flight answers EAGAIN, as Linux
 * does; with a reader on every other CPU that can happen many times in a
 * row, so each round tries again (as a program would) up to this bound. */
#define RACE_TRIES 64

/* CPU 0: refill the first piece with round r's data, collapse it. */
static void race_leader(struct race_ctx *c)
{
	for (u32 r = 0; r < RACE_ROUNDS; r++) {
		do_madvise(c->mm, BASE, HPAGE_SIZE, MADV_DONTNEED);
		if (!fill_small(c->mm, BASE, all_data, 100 + r))
			c->bad++;
		long e = -EAGAIN;
		for (u32 k = 0; k < RACE_TRIES && e == -EAGAIN; k++) {
			e = collapse(c->mm, BASE, HPAGE_SIZE);
			if (e == -EAGAIN)
				c->eagain++;    /* a GUP-fast pin was in flight */
		}
		if (e == 0)
			c->collapsed++;
		else if (e != -EAGAIN)
			c->other_err++;
		c->bad += bad_pages(c->mm, BASE, all_data, 100 + r);
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
}

/* Does word 0 of page i hold what fill_small writes there (seed aside), or
 * a part of it? The fill copies with rep movsb, lowest byte first, so a
 * reader beside it may see the first bytes of the word written and the
 * rest still zero. Another page's data, or a freed page's, never fits. */
static bool word0_fits(u64 v, u32 i)
{
	u32 lo = (u32)v, want = (u32)pattern(0, P(i), 0);
	for (u32 k = 1; k <= 4; k++)
		if (lo == (want & (k == 4 ? ~0u : (1u << (8 * k)) - 1)))
			return true;
	return false;
}

/* One CPU (the lowest even one after the leader) pins pages of the first
 * piece with no lock and reads them. With more pinning CPUs one of the 512
 * pages is nearly always pinned, and MADV_COLLAPSE rightly answers EAGAIN
 * to every try: the race is real but never won (0 of 16 rounds collapsed
 * on 8 CPUs, once). */
static void race_gup(struct race_ctx *c, u32 cpu)
{
	for (u32 n = cpu; !__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST); n += 7) {
		u32 i = n % HPAGE_NR;
		struct page *p = get_user_page_fast(c->mm, BASE + P(i), false);
		if (!p)
			continue;
		u64 v = *(volatile u64 *)page_address(p);
		bump(&c->gups);
		if (v == POISON64)
			bump(&c->poison);
		else if (v && !word0_fits(v, i)) {
			c->wrong_v = v;
			c->wrong_i = i;
			bump(&c->wrong_page);
		}
		put_page(p);
	}
}

/* The other CPUs: fault, zap and reclaim the table of the second piece. */
static void race_zapper(struct race_ctx *c)
{
	u64 h = BASE + HPAGE_SIZE;
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
		kthread_use_mm(c->mm);
		for (u32 i = 0; i < HPAGE_NR; i += 37)
			test_put_u64(c->mm, h + P(i), i);
		kthread_unuse_mm(c->mm);
		do_madvise(c->mm, h, HPAGE_SIZE, MADV_DONTNEED);
		bump(&c->zaps);
	}
}

static void race_worker(void *arg)
{
	struct race_ctx *c = arg;
	u32 cpu = smp_processor_id();
	if (cpu == c->leader)
		race_leader(c);
	else if (cpu == c->gup_cpu)
		race_gup(c, cpu);
	else
		race_zapper(c);
}

static void test_races(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct race_ctx c = { .mm = region_mm(2 * HPAGE_SIZE), .leader = first_cpu() };
	c.gup_cpu = NR_CPUS;            /* none on two CPUs: a zapper is needed more */
	for (u32 cpu = c.leader + 2; cpu < NR_CPUS && c.gup_cpu == NR_CPUS; cpu += 2)
		if (cpumask_test_cpu(cpu, &cpu_online_mask))
			c.gup_cpu = cpu;
	KTEST_ASSERT_TRUE(t, c.mm);
	do_madvise(c.mm, BASE + HPAGE_SIZE, HPAGE_SIZE, MADV_NOHUGEPAGE);
	ktest_on_cpus(&cpu_online_mask, race_worker, &c);
	ktest_log(t, "%u rounds: %u collapsed, %u EAGAIN; %u GUP-fast reads, %u zaps of the other piece",
		  RACE_ROUNDS, c.collapsed, c.eagain, c.gups, c.zaps);
	KTEST_EXPECT_GT(t, c.collapsed, 0);
	KTEST_EXPECT_EQ(t, c.other_err, 0);
	KTEST_EXPECT_EQ(t, c.bad, 0);
	KTEST_EXPECT_EQ(t, c.poison, 0);
	if (!KTEST_EXPECT_EQ(t, c.wrong_page, 0))
		ktest_log(t, "page %lu read %lx", c.wrong_i, c.wrong_v);
	counts_ok(t, c.mm);
	mm_put(c.mm);
}

/* --- 5b. collapse while other CPUs write into the same piece --- */

/* The other CPUs keep writing words into the piece (each its own few
 * pages, faulting when they must) while CPU 0, round after round, splits
 * the huge PMD (MADV_DONTNEED of the last page, which nobody writes) and
 * collapses the piece again. Once the collapse has copied the old pages
 * (collapse_debug_copied_hook) the writers are told to stop; when it has
 * returned, every page must hold the last word its writer wrote. A write
 * that went to an old page after the copy (a CPU still writing through a
 * cached entry: no flush) is lost; so is one that a fault put into a new
 * table while the PMD was clear (no vma_start_write). */
#define WRITE_ROUNDS 12
#define WRITE_PAGES 8                   /* per writing CPU */
#define STOP_WAIT_NS 20000000UL          /* 20 ms */

struct write_ctx {
	struct mm_struct *mm;
	u32 leader, writers, round, stop, acks, done;
	u32 collapsed, other_err, put_err, lost;
	u32 lost_round, lost_page;      /* the first word lost, to tell how */
	u64 lost_found, lost_want;
	u64 writes, writes_during;
	u64 last[HPAGE_NR];
};

static struct write_ctx *copied_ctx;

/* Inside the collapse, after the copy: stop the writers, and wait a while
 * for those that are not held in a fault (by the collapse's own locks). */
static void stop_writers_hook(struct mm_struct *mm, u64 haddr)
{
	(void)mm;
	(void)haddr;
	struct write_ctx *c = copied_ctx;
	u32 acks = __atomic_load_n(&c->acks, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
	u64 t0 = ktime_ns();
	while (__atomic_load_n(&c->acks, __ATOMIC_SEQ_CST) < acks + c->writers &&
	       ktime_ns() - t0 < STOP_WAIT_NS)
		cpu_relax();
}

static void write_leader(struct write_ctx *c)
{
	for (u32 r = 0; r < WRITE_ROUNDS; r++) {
		do_madvise(c->mm, BASE + P(HPAGE_NR - 1), P(1), MADV_DONTNEED);
		__atomic_store_n(&c->stop, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->round, r + 1, __ATOMIC_SEQ_CST);
		u64 w0 = __atomic_load_n(&c->writes, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&c->writes, __ATOMIC_SEQ_CST) < w0 + 100)
			cpu_relax();    /* the writers are under way */
		collapse_debug_copied_hook = stop_writers_hook;
		long e = collapse(c->mm, BASE, HPAGE_SIZE);
		collapse_debug_copied_hook = NULL;
		__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);       /* if it failed early */
		test_wait_until(&c->done, (r + 1) * c->writers);
		c->writes_during += __atomic_load_n(&c->writes, __ATOMIC_SEQ_CST) - w0;
		if (e == 0)
			c->collapsed++;
		else if (e != -EAGAIN)
			c->other_err++;
		kthread_use_mm(c->mm);
		for (u32 p = 0; p < WRITE_PAGES * c->writers; p++) {
			u64 now = 0;
			if (test_get_u64(c->mm, BASE + P(p), &now) || now != c->last[p]) {
				if (!c->lost++) {
					c->lost_round = r;
					c->lost_page = p;
					c->lost_found = now;
					c->lost_want = c->last[p];
				}
			}
		}
		kthread_unuse_mm(c->mm);
	}
}

/* Writer `me`: each round, write its pages over and over until told to
 * stop, then say so (acks) and that the round is done for it (done). */
static void write_writer(struct write_ctx *c, u32 me)
{
	kthread_use_mm(c->mm);
	u64 seq = 0;
	for (u32 r = 0; r < WRITE_ROUNDS; r++) {
		test_wait_until(&c->round, r + 1);
		while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST))
			for (u32 p = me; p < WRITE_PAGES * c->writers; p += c->writers) {
				u64 v = (++seq << 16) | p;
				if (test_put_u64(c->mm, BASE + P(p), v))
					bump(&c->put_err);
				else
					c->last[p] = v;
				__atomic_add_fetch(&c->writes, 1, __ATOMIC_SEQ_CST);
			}
		bump(&c->acks);
		bump(&c->done);
	}
	kthread_unuse_mm(c->mm);
}

static void write_worker(void *arg)
{
	struct write_ctx *c = arg;
	u32 cpu = smp_processor_id();
	if (cpu == c->leader)
		write_leader(c);
	else
		write_writer(c, cpu < c->leader ? cpu : cpu - 1);
}

static void test_faults_during_collapse(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct write_ctx c = { .mm = region_mm(HPAGE_SIZE), .leader = first_cpu(),
			       .writers = online_count() - 1 };
	KTEST_ASSERT_TRUE(t, c.mm);
	KTEST_ASSERT_TRUE(t, fill_small(c.mm, BASE, all_data, 7));
	/* What each page holds before any writer runs: a writer whose CPU
	 * starts late may write nothing in a round, and its pages must then
	 * still hold this. */
	for (u32 p = 0; p < WRITE_PAGES * c.writers; p++)
		c.last[p] = test_peek(c.mm, BASE + P(p));
	copied_ctx = &c;
	ktest_on_cpus(&cpu_online_mask, write_worker, &c);
	ktest_log(t, "%u rounds, %u collapsed beside %u writing CPUs (%lu words written); %u words lost",
		  WRITE_ROUNDS, c.collapsed, c.writers, c.writes_during, c.lost);
	KTEST_EXPECT_GT(t, c.collapsed, 0);
	KTEST_EXPECT_EQ(t, c.other_err, 0);
	KTEST_EXPECT_EQ(t, c.put_err, 0);
	/* A word is (sequence << 16) | page: a lost one that holds an older
	 * word of its writer went to a page the collapse had already copied. */
	if (!KTEST_EXPECT_EQ(t, c.lost, 0))
		ktest_log(t, "first lost: round %u page %u holds %lx, last written %lx (%ld writes "
			  "of that writer behind)", c.lost_round, c.lost_page, c.lost_found,
			  c.lost_want, (long)((c.lost_want >> 16) - (c.lost_found >> 16)));
	KTEST_EXPECT_EQ(t, test_peek(c.mm, BASE + P(HPAGE_NR - 1)), 0);
	counts_ok(t, c.mm);
	mm_put(c.mm);
}

/* --- 6. collapse racing userfaultfd write-protection --- */

/* Each round CPU 0 refills the piece with small pages and collapses it
 * while another CPU write-protects it. Whichever comes first, every page is
 * protected afterwards: either the huge PMD carries the bit (the protect
 * came second) or the collapse saw the bits and refused (EINVAL). */
struct wp_race_ctx {
	struct mm_struct *mm;
	u32 leader, phase, done;
	long protect_ret[RACE_ROUNDS];
	u32 huge, unprotected, bad, wrong_ret;
};

static void wp_race_leader(struct wp_race_ctx *c)
{
	for (u32 r = 0; r < RACE_ROUNDS; r++) {
		uffd_wp_range(c->mm, BASE, BASE + HPAGE_SIZE, false);
		do_madvise(c->mm, BASE, HPAGE_SIZE, MADV_DONTNEED);
		fill_small(c->mm, BASE, all_data, 200 + r);
		__atomic_store_n(&c->phase, r + 1, __ATOMIC_SEQ_CST);
		long e = collapse(c->mm, BASE, HPAGE_SIZE);
		test_wait_until(&c->done, r + 1);
		if (e != 0 && e != -EINVAL)
			c->wrong_ret++;
		c->huge += is_huge(c->mm, BASE);
		for (u32 i = 0; i < HPAGE_NR; i++) {
			u64 v = pgtable_leaf(c->mm, BASE + P(i));
			if (!(v & PTE_UFFD_WP) || (v & PTE_W))
				c->unprotected++;
		}
		c->bad += bad_pages(c->mm, BASE, all_data, 200 + r);
	}
}

static void wp_race_protector(struct wp_race_ctx *c)
{
	for (u32 r = 0; r < RACE_ROUNDS; r++) {
		test_wait_until(&c->phase, r + 1);
		c->protect_ret[r] = uffd_wp_range(c->mm, BASE, BASE + HPAGE_SIZE, true);
		bump(&c->done);
	}
}

static void wp_race_worker(void *arg)
{
	struct wp_race_ctx *c = arg;
	if (smp_processor_id() == c->leader)
		wp_race_leader(c);
	else
		wp_race_protector(c);
}

static void test_uffd_protect_race(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct wp_race_ctx c = { .mm = region_mm(HPAGE_SIZE), .leader = first_cpu() };
	KTEST_ASSERT_TRUE(t, c.mm);
	long err = 0;
	struct file *uffd = userfaultfd_create(c.mm, O_NONBLOCK, &err);
	KTEST_ASSERT_TRUE(t, uffd);
	KTEST_ASSERT_EQ(t, uffd_register_range(c.mm, userfaultfd_file_ctx(uffd), BASE, BASE + HPAGE_SIZE,
					       VM_UFFD_WP), 0);
	u32 other = ktest_other_cpu(c.leader);
	ktest_on_cpu_pair(c.leader, other, wp_race_worker, &c);
	ktest_log(t, "%u rounds, %u collapsed before the protect", RACE_ROUNDS, c.huge);
	for (u32 r = 0; r < RACE_ROUNDS; r++)
		KTEST_EXPECT_EQ(t, c.protect_ret[r], 0);
	KTEST_EXPECT_EQ(t, c.wrong_ret, 0);
	KTEST_EXPECT_EQ(t, c.unprotected, 0);
	KTEST_EXPECT_EQ(t, c.bad, 0);
	counts_ok(t, c.mm);
	file_put(uffd);
	mm_put(c.mm);
}

/* --- 7. the background collapser --- */

static void test_background(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never: khugepaged collapses nothing (as Linux)");
		return;
	}
	struct mm_struct *mm = region_mm(HPAGE_SIZE);
	KTEST_ASSERT_TRUE(t, mm);
	u64 collapsed0 = khugepaged_pages_collapsed;
	bool was = khugepaged_enabled;
	u32 sleep = khugepaged_sleep_ms;
	khugepaged_sleep_ms = 10;
	khugepaged_enabled = true;
	bool filled = fill_small(mm, BASE, odd_data, 6);     /* MADV_HUGEPAGE registers it */
	khugepaged_wake();
	u64 t0 = ktime_ns();
	while (__atomic_load_n(&khugepaged_pages_collapsed, __ATOMIC_SEQ_CST) == collapsed0 &&
	       ktime_ns() - t0 < 20000000000UL)
		yield();
	khugepaged_enabled = was;
	khugepaged_sleep_ms = sleep;
	KTEST_EXPECT_TRUE(t, filled);
	u64 ms = (ktime_ns() - t0) / 1000000;
	if (!KTEST_EXPECT_TRUE(t, is_huge(mm, BASE)))
		ktest_log(t, "khugepaged did not collapse the piece within %lu ms", ms);
	else
		ktest_log(t, "khugepaged collapsed the piece after %lu ms", ms);
	KTEST_EXPECT_GT(t, khugepaged_pages_collapsed, collapsed0);
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE, odd_data, 6), 0);
	counts_ok(t, mm);
	mm_put(mm);
}

#define QUIET(name) \
	static void quiet_##name(struct ktest *t) { khugepaged_quiet(); test_##name(t); khugepaged_restore(); }
QUIET(full_and_partial)
QUIET(zero_page_ptes)
QUIET(errno)
QUIET(uffd_wp)
QUIET(lockless_walkers)
QUIET(table_replaced_before_retract)
QUIET(races)
QUIET(faults_during_collapse)
QUIET(uffd_protect_race)

/* Put mm on the collapser's list, with the thread itself kept idle (it
 * scans only while khugepaged_enabled). */
static void register_mm(struct mm_struct *mm)
{
	khugepaged_enabled = true;
	khugepaged_enter(mm);
	khugepaged_enabled = false;
}

/* The background collapser's limits, one pass at a time (called directly,
 * the thread left idle): max_ptes_none against a piece of one written page,
 * max_ptes_shared against pages shared with a fork child. */
static void limits_none(struct ktest *t)
{
	struct mm_struct *mm = region_mm(HPAGE_SIZE);
	KTEST_ASSERT_TRUE(t, mm);
	register_mm(mm);
	KTEST_ASSERT_EQ(t, do_madvise(mm, BASE, HPAGE_SIZE, MADV_NOHUGEPAGE), 0);
	KTEST_EXPECT_EQ(t, test_poke(mm, BASE + P(9), 99), 0);
	KTEST_ASSERT_EQ(t, do_madvise(mm, BASE, HPAGE_SIZE, MADV_HUGEPAGE), 0);
	u32 none = khugepaged_max_ptes_none;
	khugepaged_max_ptes_none = HPAGE_NR - 2;
	khugepaged_scan_pass();
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE));       /* 511 empty > 510 */
	khugepaged_max_ptes_none = HPAGE_NR - 1;
	khugepaged_scan_pass();
	khugepaged_max_ptes_none = none;
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE));        /* 511 <= 511 */
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE + P(9)), 99);
	counts_ok(t, mm);
	mm_put(mm);
}

static void limits_shared(struct ktest *t)
{
	struct mm_struct *mm = region_mm(HPAGE_SIZE), *child = NULL;
	KTEST_ASSERT_TRUE(t, mm);
	register_mm(mm);
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE, all_data, 8));
	KTEST_ASSERT_EQ(t, mm_fork(mm, &child), 0);
	/* Copy-on-write makes 200, then 300 of the 512 pages ours alone. */
	for (u32 i = 0; i < 200; i++)
		test_poke(mm, BASE + P(i), pattern(8, BASE + P(i), 0));
	khugepaged_scan_pass();
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE));       /* 312 shared > 256 */
	for (u32 i = 200; i < 300; i++)
		test_poke(mm, BASE + P(i), pattern(8, BASE + P(i), 0));
	khugepaged_scan_pass();
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE));        /* 212 shared <= 256 */
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE, all_data, 8), 0);
	KTEST_EXPECT_EQ(t, bad_pages(child, BASE, all_data, 8), 0);
	counts_ok(t, mm);
	counts_ok(t, child);
	mm_put(child);
	mm_put(mm);
}

/* A THP made by MADV_COLLAPSE and mapped by its PMD, then split by a VMA
 * boundary in mm (MADV_NOHUGEPAGE on its first page, then MADV_HUGEPAGE on
 * all of it, which merges the VMA back): 512 PTEs over the compound page,
 * as the selftest's alloc_hpage and "Split huge page" steps leave it. */
static bool collapsed_then_split(struct ktest *t, struct mm_struct *mm, u64 seed)
{
	if (!fill_small(mm, BASE, all_data, seed) || collapse(mm, BASE, HPAGE_SIZE) ||
	    !is_huge(mm, BASE))
		return false;
	bool ok = do_madvise(mm, BASE, P(1), MADV_NOHUGEPAGE) == 0 &&
		  do_madvise(mm, BASE, HPAGE_SIZE, MADV_HUGEPAGE) == 0 && !is_huge(mm, BASE);
	KTEST_EXPECT_TRUE(t, ok);
	return ok;
}

/* The parent maps the THP by its PMD, the child by 512 PTEs: every piece
 * the child has not copied is mapped twice, shared as Linux counts it
 * (page_mapcount adds the PMD map). 257 shared > max_ptes_shared (256):
 * not collapsed; one more copied: 256, collapsed. */
static void limits_shared_pmd(struct ktest *t)
{
	struct mm_struct *mm = region_mm(HPAGE_SIZE), *child = NULL;
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, fill_small(mm, BASE, all_data, 9));
	KTEST_ASSERT_EQ(t, collapse(mm, BASE, HPAGE_SIZE), 0);
	KTEST_ASSERT_EQ(t, mm_fork(mm, &child), 0);
	register_mm(child);
	KTEST_ASSERT_EQ(t, do_madvise(child, BASE, P(1), MADV_NOHUGEPAGE), 0);
	KTEST_ASSERT_EQ(t, do_madvise(child, BASE, HPAGE_SIZE, MADV_HUGEPAGE), 0);
	KTEST_EXPECT_FALSE(t, is_huge(child, BASE));
	u32 limit = khugepaged_max_ptes_shared, cow = HPAGE_NR - limit - 1;
	for (u32 i = 0; i < cow; i++)
		test_poke(child, BASE + P(i), pattern(9, BASE + P(i), 0));
	khugepaged_scan_pass();
	if (!KTEST_EXPECT_FALSE(t, is_huge(child, BASE)))
		ktest_log(t, "collapsed with %u pieces shared with the parent's PMD (limit %u)",
			  HPAGE_NR - cow, limit);
	test_poke(child, BASE + P(cow), pattern(9, BASE + P(cow), 0));
	khugepaged_scan_pass();
	KTEST_EXPECT_TRUE(t, is_huge(child, BASE));     /* limit shared: allowed */
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE));
	KTEST_EXPECT_EQ(t, bad_pages(mm, BASE, all_data, 9), 0);
	KTEST_EXPECT_EQ(t, bad_pages(child, BASE, all_data, 9), 0);
	counts_ok(t, mm);
	counts_ok(t, child);
	mm_put(child);
	mm_put(mm);
}

/* A THP split after MADV_COLLAPSE made it, with nothing read or written
 * since: its PTEs carry the accessed bit of the collapse's PMD (Linux
 * makes it young), so khugepaged finds the piece referenced and collapses
 * it again; also with a single PTE left (MADV_DONTNEED of the rest). */
static void referenced_after_split(struct ktest *t)
{
	for (u32 single = 0; single < 2; single++) {
		struct mm_struct *mm = region_mm(HPAGE_SIZE);
		KTEST_ASSERT_TRUE(t, mm);
		register_mm(mm);
		KTEST_ASSERT_TRUE(t, collapsed_then_split(t, mm, 10));
		if (single)
			KTEST_EXPECT_EQ(t, do_madvise(mm, BASE + P(1), HPAGE_SIZE - P(1),
						      MADV_DONTNEED), 0);
		khugepaged_scan_pass();
		if (!KTEST_EXPECT_TRUE(t, is_huge(mm, BASE)))
			ktest_log(t, "%s: not collapsed", single ? "one PTE left" : "512 PTEs");
		KTEST_EXPECT_EQ(t, test_peek(mm, BASE), pattern(10, BASE, 0));
		counts_ok(t, mm);
		mm_put(mm);
	}
}

static void test_khugepaged_limits(struct ktest *t)
{
	if (thp_mode == THP_NEVER || khugepaged_enabled) {
		ktest_skip(t, thp_mode == THP_NEVER ? "thp=never" : "khugepaged=1: the thread would race the passes");
		return;
	}
	limits_none(t);
	limits_shared(t);
	limits_shared_pmd(t);
	referenced_after_split(t);
}

static const struct ktest_case collapse_cases[] = {
	{ "full_and_partial", quiet_full_and_partial },
	{ "zero_page_ptes", quiet_zero_page_ptes },
	{ "errno", quiet_errno },
	{ "uffd_wp", quiet_uffd_wp },
	{ "lockless_walkers", quiet_lockless_walkers },
	{ "table_replaced_before_retract", quiet_table_replaced_before_retract },
	{ "races", quiet_races },
	{ "faults_during_collapse", quiet_faults_during_collapse },
	{ "uffd_protect_race", quiet_uffd_protect_race },
	{ "khugepaged_limits", test_khugepaged_limits },
	{ "background", test_background },
};
KTEST_SUITE(collapse, collapse_cases);
