/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_softdirty.c - the "softdirty" suite: live entries rewritten
 * without losing what the MMU writes into them, and clear_refs
 * (mm/softdirty.h, docs/soft-dirty.md). tests/user/softdirty_test.c
 * checks what a program sees (also on Linux); these cases make the race
 * happen on purpose and look at the entries.
 *
 * The races: another CPU writes through a writable, clean entry at the
 * moment a rewrite has read the entry and not yet written it back
 * (pte_debug_modify_hook runs there). Its MMU sets D in the entry; the
 * rewrite must keep it, or the write is never reported. Booted with
 * "pte_debug_racy_modify" (read, then plain store) mprotect_keeps_dirty
 * and split_keeps_dirty must fail: tools/run-tests' neg-pte-racy-modify.
 * clear_refs_reaches_every_cpu must fail with "clear_refs_debug_skip_flush".
 */
#include "kernel/ktest.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/time.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "mm/pagemap.h"
#include "mm/softdirty.h"
#include "mm/userfaultfd.h"
#include "mm/mm_debug.h"
#include "mm/madvise.h"
#include "mm/gup.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "tests/kernel/mm/test_user.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

#define BASE 0x0000620000000000UL      /* 2 MiB-aligned */
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define NPAGES 8
#define WAIT_NS (5UL * 1000 * 1000 * 1000)

/* --- a write by another CPU inside a rewrite --- */

/* The leader CPU runs the rewrite; the hook, on the leader, asks the
 * writer CPU to write one address and waits until it has. */
struct race {
	struct mm_struct *mm;
	u64 *entry_lo, *entry_hi;       /* entries whose rewrite gets a write */
	u64 base;                       /* the address entry_lo maps */
	u64 step;                       /* bytes per entry */
	u64 offset;                     /* where inside an entry's range to write */
	u32 leader;
	u32 asked, done, quit;
	u32 wrote, refused;             /* the writer's writes, and faults */
	u64 target;
	void (*rewrite)(struct race *r);
	long ret;
};

static struct race *active_race;

static void race_hook(u64 *p, u64 old)
{
	struct race *r = active_race;
	(void)old;
	if (!r || p < r->entry_lo || p > r->entry_hi || smp_processor_id() != r->leader)
		return;
	r->target = r->base + (u64)(p - r->entry_lo) * r->step + r->offset;
	u32 want = __atomic_add_fetch(&r->asked, 1, __ATOMIC_SEQ_CST);
	u64 t0 = ktime_ns();
	while (__atomic_load_n(&r->done, __ATOMIC_SEQ_CST) < want && ktime_ns() - t0 < WAIT_NS)
		cpu_relax();
}

static void race_worker(void *arg)
{
	struct race *r = arg;
	if (smp_processor_id() == r->leader) {
		active_race = r;
		pte_debug_modify_hook = race_hook;
		r->rewrite(r);
		pte_debug_modify_hook = NULL;
		active_race = NULL;
		__atomic_store_n(&r->quit, 1, __ATOMIC_SEQ_CST);
		return;
	}
	kthread_use_mm(r->mm);
	u32 seen = 0;
	while (!__atomic_load_n(&r->quit, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&r->asked, __ATOMIC_SEQ_CST) == seen) {
			cpu_relax();
			continue;
		}
		seen++;
		/* The hardware alone: no fault is resolved here. The entry
		 * is writable and clean, so the MMU sets D in it. */
		if (test_write_nofault(r->target, 0x5d00 + seen) == 0)
			r->wrote++;
		else
			r->refused++;
		__atomic_store_n(&r->done, seen, __ATOMIC_SEQ_CST);
	}
	kthread_unuse_mm(r->mm);
}

/* Run r->rewrite on one CPU with writes from a second one. */
static bool run_race(struct ktest *t, struct race *r)
{
	cpumask_t online;
	cpumask_copy(&online, &cpu_online_mask);
	if (cpumask_weight(&online) < 2) {
		ktest_skip(t, "needs two CPUs");
		return false;
	}
	r->leader = cpumask_first(&online);
	ktest_on_cpu_pair(r->leader, ktest_other_cpu(r->leader), race_worker, r);
	return true;
}

/* Soft-dirty as the pagemap says it, for n pages from addr. */
static u32 pagemap_dirty(struct mm_struct *mm, u64 addr, u32 n)
{
	u64 e[NPAGES];
	u32 c = 0;
	for (u32 i = 0; i < n; i++) {
		pagemap_read_entries(mm, addr + P(i), 1, e);
		c += (e[0] & PM_SOFT_DIRTY) != 0;
	}
	return c;
}

/* The pages of [addr, +n pages) whose entry is writable and clean. */
static u32 writable_clean(struct mm_struct *mm, u64 addr, u32 n)
{
	u32 c = 0;
	for (u32 i = 0; i < n; i++) {
		u64 e = pgtable_leaf(mm, addr + P(i));
		c += pte_write(e) && !pte_soft_dirty(e);
	}
	return c;
}

/* n written pages at addr, then cleared and made writable again: on
 * Pagoda mprotect gives an exclusive page its write right back without a
 * fault, so the entries end writable and clean (D clear, soft-dirty clear):
 * the next write reaches them only through the MMU. */
static void make_writable_clean(struct mm_struct *mm, u64 addr, u64 len)
{
	kthread_use_mm(mm);
	for (u64 a = addr; a < addr + len; a += PAGE_SIZE)
		test_put_u64(mm, a, a);
	kthread_unuse_mm(mm);
	mm_clear_refs(mm, CLEAR_REFS_SOFT_DIRTY);
	do_mprotect(mm, addr, len, PROT_READ);
	do_mprotect(mm, addr, len, RW);
}

static void rewrite_mprotect(struct race *r)
{
	/* Adds exec: every PTE rewritten, every one still writable. */
	r->ret = do_mprotect(r->mm, r->base, P(NPAGES), RWX);
}

static void test_mprotect_keeps_dirty(struct ktest *t)
{
	struct race *r = kzalloc(sizeof(*r), GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, r);
	r->mm = mm_create();
	if (!KTEST_EXPECT_TRUE(t, r->mm))
		goto out;
	KTEST_EXPECT_EQ(t, do_mmap(r->mm, BASE, P(NPAGES), RW, ANON | MAP_FIXED, -1, 0), (long)BASE);
	do_madvise(r->mm, BASE, P(NPAGES), MADV_NOHUGEPAGE);
	make_writable_clean(r->mm, BASE, P(NPAGES));
	KTEST_EXPECT_EQ(t, writable_clean(r->mm, BASE, NPAGES), NPAGES);
	KTEST_EXPECT_EQ(t, pagemap_dirty(r->mm, BASE, NPAGES), 0);
	r->entry_lo = pgtable_walk(r->mm, BASE, PT_PTE);
	r->entry_hi = r->entry_lo + NPAGES - 1;
	r->base = BASE;
	r->step = PAGE_SIZE;
	r->rewrite = rewrite_mprotect;
	if (!run_race(t, r))
		goto out;
	u32 dirty = pagemap_dirty(r->mm, BASE, NPAGES);
	ktest_log(t, "%u writes by another CPU inside mprotect's rewrites (%u refused); "
		  "%u of %u pages soft-dirty afterwards", r->wrote, r->refused, dirty, NPAGES);
	KTEST_EXPECT_EQ(t, r->ret, 0);
	KTEST_EXPECT_EQ(t, r->wrote, NPAGES);
	KTEST_EXPECT_EQ(t, dirty, NPAGES);
	char why[160] = "";
	KTEST_EXPECT_EQ(t, mm_check_counts(r->mm, why, sizeof(why)), 0);
out:
	if (r->mm)
		mm_put(r->mm);
	kfree(r);
}

static void rewrite_split(struct race *r)
{
	/* Part of the huge page only: the huge PMD is split. */
	r->ret = do_mprotect(r->mm, r->base, P(1), RWX);
}

static void test_split_keeps_dirty(struct ktest *t)
{
	struct race *r = kzalloc(sizeof(*r), GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, r);
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		goto out;
	}
	r->mm = mm_create();
	if (!KTEST_EXPECT_TRUE(t, r->mm))
		goto out;
	KTEST_EXPECT_EQ(t, do_mmap(r->mm, BASE, HPAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0), (long)BASE);
	do_madvise(r->mm, BASE, HPAGE_SIZE, MADV_HUGEPAGE);
	make_writable_clean(r->mm, BASE, HPAGE_SIZE);
	u64 *pmd = pgtable_walk(r->mm, BASE, PT_PMD);
	if (!pmd || !pmd_huge(pte_read(pmd))) {
		ktest_skip(t, "no huge page");
		goto out;
	}
	KTEST_EXPECT_EQ(t, writable_clean(r->mm, BASE, NPAGES), NPAGES);
	r->entry_lo = r->entry_hi = pmd;
	r->base = BASE;
	r->step = HPAGE_SIZE;
	r->offset = P(5);               /* outside the page made executable */
	r->rewrite = rewrite_split;
	if (!run_race(t, r))
		goto out;
	bool split = !pmd_huge(pte_read(pmd));
	u32 dirty = pagemap_dirty(r->mm, BASE + P(4), 4);
	ktest_log(t, "%u write(s) by another CPU inside the split of a clean huge PMD (%u refused); "
		  "split %s; %u of 4 of its pages soft-dirty afterwards", r->wrote, r->refused,
		  split ? "yes" : "no", dirty);
	KTEST_EXPECT_EQ(t, r->ret, 0);
	KTEST_EXPECT_TRUE(t, split);
	KTEST_EXPECT_EQ(t, r->wrote, 1);
	KTEST_EXPECT_EQ(t, dirty, 4);   /* the huge PMD's D goes to every PTE */
	KTEST_EXPECT_EQ(t, test_peek(r->mm, BASE + P(5)), 0x5d01);
	char why[160] = "";
	KTEST_EXPECT_EQ(t, mm_check_counts(r->mm, why, sizeof(why)), 0);
out:
	if (r->mm)
		mm_put(r->mm);
	kfree(r);
}

/* --- clear_refs --- */

/* Writers on every other CPU hold writable, dirty TLB entries for every
 * page; the leader clears soft-dirty. Once that returned, no write may go
 * through without a fault. */
struct flush_ctx {
	struct mm_struct *mm;
	u32 leader, ready, phase;
	u32 stale;
	int ret;
};

static void flush_worker(void *arg)
{
	struct flush_ctx *c = arg;
	u32 others = num_online_cpus() - 1;
	kthread_use_mm(c->mm);
	if (smp_processor_id() == c->leader) {
		test_wait_until(&c->ready, others);
		c->ret = mm_clear_refs(c->mm, CLEAR_REFS_SOFT_DIRTY);
		__atomic_store_n(&c->phase, 1, __ATOMIC_SEQ_CST);
	} else {
		for (u32 i = 0; i < NPAGES; i++)
			test_put_u64(c->mm, BASE + P(i), 2000 + i);
		__atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->phase, 1);
		for (u32 i = 0; i < NPAGES; i++)
			if (test_write_nofault(BASE + P(i), 3000 + i) == 0)
				__atomic_add_fetch(&c->stale, 1, __ATOMIC_SEQ_CST);
	}
	kthread_unuse_mm(c->mm);
}

static void test_clear_refs_reaches_every_cpu(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct flush_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, c);
	c->mm = mm_create();
	if (!KTEST_EXPECT_TRUE(t, c->mm))
		goto out;
	KTEST_EXPECT_EQ(t, do_mmap(c->mm, BASE, P(NPAGES), RW, ANON | MAP_FIXED, -1, 0), (long)BASE);
	do_madvise(c->mm, BASE, P(NPAGES), MADV_NOHUGEPAGE);
	c->leader = cpumask_first(&cpu_online_mask);
	ktest_on_cpus(&cpu_online_mask, flush_worker, c);
	u32 others = num_online_cpus() - 1;
	u32 dirty = pagemap_dirty(c->mm, BASE, NPAGES);
	ktest_log(t, "%u other CPUs wrote every page, then clear_refs: %u of %u writes went through "
		  "without a fault afterwards; %u pages soft-dirty", others, c->stale, others * NPAGES,
		  dirty);
	KTEST_EXPECT_EQ(t, c->ret, 0);
	KTEST_EXPECT_EQ(t, c->stale, 0);
	KTEST_EXPECT_EQ(t, dirty, 0);
out:
	if (c->mm)
		mm_put(c->mm);
	kfree(c);
}

/* What a clear does to each kind of entry, and the values refused. */
static void test_clear_refs_entries(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE, P(NPAGES), RW, ANON | MAP_FIXED, -1, 0), (long)BASE);
	do_madvise(mm, BASE, P(NPAGES), MADV_NOHUGEPAGE);
	kthread_use_mm(mm);
	for (u32 i = 0; i < 4; i++)
		test_put_u64(mm, BASE + P(i), i);
	u64 v;
	test_get_u64(mm, BASE + P(4), &v);      /* the zero page */
	kthread_unuse_mm(mm);
	KTEST_EXPECT_EQ(t, pagemap_dirty(mm, BASE, NPAGES), NPAGES);    /* a new VMA */
	/* Every value but 1-5 is refused; 1-3 clear A only. */
	KTEST_EXPECT_EQ(t, mm_clear_refs(mm, 0), -EINVAL);
	/* 5: the peak RSS starts again from the current one. */
	mm->hiwater_rss = 1000;
	KTEST_EXPECT_EQ(t, mm_clear_refs(mm, CLEAR_REFS_MM_HIWATER_RSS), 0);
	KTEST_EXPECT_EQ(t, mm->hiwater_rss, mm->rss_pages);
	KTEST_EXPECT_EQ(t, mm_clear_refs(mm, CLEAR_REFS_LAST), -EINVAL);
	KTEST_EXPECT_EQ(t, mm_clear_refs(mm, CLEAR_REFS_ALL), 0);
	KTEST_EXPECT_FALSE(t, pgtable_leaf(mm, BASE) & PTE_A);
	KTEST_EXPECT_TRUE(t, pte_write(pgtable_leaf(mm, BASE)) && pte_soft_dirty(pgtable_leaf(mm, BASE)));
	KTEST_EXPECT_EQ(t, mm_clear_refs(mm, CLEAR_REFS_SOFT_DIRTY), 0);
	u32 left = 0;
	for (u32 i = 0; i < NPAGES; i++) {
		u64 e = pgtable_leaf(mm, BASE + P(i));
		left += pte_write(e) || pte_soft_dirty(e);
	}
	KTEST_EXPECT_EQ(t, left, 0);
	KTEST_EXPECT_EQ(t, pagemap_dirty(mm, BASE, NPAGES), 0);
	/* The next write faults and dirties its page only. */
	KTEST_EXPECT_EQ(t, test_poke(mm, BASE + P(2), 77), 0);
	KTEST_EXPECT_EQ(t, pagemap_dirty(mm, BASE, NPAGES), 1);
	KTEST_EXPECT_TRUE(t, pgtable_leaf(mm, BASE + P(2)) & PTE_SOFT_DIRTY);
	/* A write pin: the kernel then writes through the direct map, which
	 * sets no D in the user's entry - the pin itself marks it written,
	 * also where the entry was writable already (writable and clean,
	 * after a clear and mprotect back). */
	mm_clear_refs(mm, CLEAR_REFS_SOFT_DIRTY);
	do_mprotect(mm, BASE, P(NPAGES), PROT_READ);
	do_mprotect(mm, BASE, P(NPAGES), RW);
	KTEST_EXPECT_EQ(t, writable_clean(mm, BASE, 4), 4);
	struct page *pinned = pin_user_page(mm, BASE + P(1), true);
	KTEST_EXPECT_TRUE(t, pinned);
	if (pinned)
		put_page(pinned);
	u32 pin_dirty = pagemap_dirty(mm, BASE, NPAGES);
	ktest_log(t, "a write pin of a writable, clean page: %u page(s) soft-dirty", pin_dirty);
	KTEST_EXPECT_EQ(t, pin_dirty, 1);
	KTEST_EXPECT_TRUE(t, pte_soft_dirty(pgtable_leaf(mm, BASE + P(1))));
	char why[160] = "";
	KTEST_EXPECT_EQ(t, mm_check_counts(mm, why, sizeof(why)), 0);
	mm_put(mm);
}

static const struct ktest_case softdirty_cases[] = {
	{ "mprotect_keeps_dirty", test_mprotect_keeps_dirty },
	{ "split_keeps_dirty", test_split_keeps_dirty },
	{ "clear_refs_reaches_every_cpu", test_clear_refs_reaches_every_cpu },
	{ "clear_refs_entries", test_clear_refs_entries },
};

KTEST_SUITE(softdirty, softdirty_cases);
