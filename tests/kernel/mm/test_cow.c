/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_cow.c - the "cow" suite: copy-on-write after fork, reuse against
 * copy, unsharing for read-only pins (docs/cow.md).
 *
 * fork_while_writing is the one with a negative control: booted with
 * "fork_debug_skip_flush" (fork forgets to flush the parent's TLBs after
 * write-protecting it) it must fail - tools/run-tests' neg-cow-flush.
 */
#include "kernel/ktest.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/fault.h"
#include "mm/gup.h"
#include "tests/kernel/mm/test_user.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/fault_inject.h"
#include "mm/mm_debug.h"
#include "mm/thp.h"
#include "kernel/rcu.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

#define BASE 0x0000300000000000UL
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static u64 pte_of(struct mm_struct *mm, u64 addr)
{
	return pgtable_leaf(mm, addr);
}

static struct page *page_of(struct mm_struct *mm, u64 addr)
{
	u64 e = pte_of(mm, addr);
	return pte_mapped(e) ? pte_page(e) : NULL;
}

static struct mm_struct *filled_mm(u32 pages)
{
	struct mm_struct *mm = mm_create();
	if (!mm)
		return NULL;
	do_mmap(mm, BASE, P(pages), RW, ANON | MAP_FIXED, -1, 0);
	for (u32 i = 0; i < pages; i++)
		test_poke(mm, BASE + P(i), 100 + i);
	return mm;
}

/* Reuse when this mm is the page's only user, copy when it is shared. */
static void test_reuse_vs_copy(struct ktest *t)
{
	struct mm_struct *parent = filled_mm(4), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	struct page *shared = page_of(parent, BASE);
	KTEST_EXPECT_TRUE(t, page_of(child, BASE) == shared);
	KTEST_EXPECT_EQ(t, page_refcount(shared), 2);
	KTEST_EXPECT_EQ(t, page_mapcount(shared), 2);
	KTEST_EXPECT_FALSE(t, shared->flags & PG_exclusive);

	struct cow_stats s0 = cow_stats;
	KTEST_EXPECT_EQ(t, test_poke(child, BASE, 1), 0);            /* shared: copy */
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 1);
	KTEST_EXPECT_TRUE(t, page_of(child, BASE) != shared);
	KTEST_EXPECT_TRUE(t, page_of(child, BASE)->flags & PG_exclusive);
	KTEST_EXPECT_EQ(t, page_refcount(shared), 1);
	KTEST_EXPECT_EQ(t, page_mapcount(shared), 1);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE, 2), 0);           /* now ours alone: reuse */
	KTEST_EXPECT_EQ(t, cow_stats.reuse - s0.reuse, 1);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 1);
	KTEST_EXPECT_TRUE(t, page_of(parent, BASE) == shared);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE + P(1), 3), 0);    /* still shared: copy */
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 2);
	mm_put(child);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE + P(2), 4), 0);    /* the child is gone: reuse */
	KTEST_EXPECT_EQ(t, cow_stats.reuse - s0.reuse, 2);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 2);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE), 2);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE + P(3)), 103);
	mm_put(parent);
}

/* The zero page needs no copy: a fresh zeroed page. */
static void test_zero_page_cow(struct ktest *t)
{
	struct mm_struct *parent = mm_create(), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	KTEST_ASSERT_TRUE(t, do_mmap(parent, BASE, P(2), RW, ANON | MAP_FIXED, -1, 0) == (long)BASE);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE), 0);
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	KTEST_EXPECT_TRUE(t, page_of(child, BASE) == zero_page);
	struct cow_stats s0 = cow_stats;
	KTEST_EXPECT_EQ(t, test_poke(child, BASE, 5), 0);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 0);
	KTEST_EXPECT_TRUE(t, page_of(child, BASE) != zero_page);
	KTEST_EXPECT_EQ(t, test_peek(child, BASE + 8), 0);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE), 0);
	mm_put(child);
	mm_put(parent);
}

/* Three generations, each writing: nobody sees another's writes. */
static void test_grandchildren(struct ktest *t)
{
	struct mm_struct *a = filled_mm(2), *b = NULL, *c = NULL;
	KTEST_ASSERT_TRUE(t, a);
	KTEST_ASSERT_EQ(t, mm_fork(a, &b), 0);
	KTEST_EXPECT_EQ(t, test_poke(b, BASE, 0xb), 0);
	KTEST_ASSERT_EQ(t, mm_fork(b, &c), 0);
	KTEST_EXPECT_EQ(t, test_poke(c, BASE + P(1), 0xc1), 0);
	KTEST_EXPECT_EQ(t, test_poke(a, BASE + P(1), 0xa1), 0);
	KTEST_EXPECT_EQ(t, test_poke(c, BASE, 0xc), 0);
	KTEST_EXPECT_EQ(t, test_peek(a, BASE), 100);
	KTEST_EXPECT_EQ(t, test_peek(b, BASE), 0xb);
	KTEST_EXPECT_EQ(t, test_peek(c, BASE), 0xc);
	KTEST_EXPECT_EQ(t, test_peek(a, BASE + P(1)), 0xa1);
	KTEST_EXPECT_EQ(t, test_peek(b, BASE + P(1)), 101);
	KTEST_EXPECT_EQ(t, test_peek(c, BASE + P(1)), 0xc1);
	mm_put(b);              /* the middle one goes first */
	KTEST_EXPECT_EQ(t, test_peek(c, BASE + P(1)), 0xc1);
	KTEST_EXPECT_EQ(t, test_peek(a, BASE), 100);
	mm_put(c);
	mm_put(a);
}

/* Every CPU forks the same parent at once and scribbles on its child. */
struct forks_ctx {
	struct mm_struct *parent;
	u32 errors;
};

static void forks_worker(void *arg)
{
	struct forks_ctx *c = arg;
	u32 cpu = smp_processor_id();
	for (u32 round = 0; round < 8; round++) {
		struct mm_struct *child = NULL;
		if (mm_fork(c->parent, &child)) {
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		kthread_use_mm(child);
		for (u32 i = 0; i < 8; i++) {
			u64 v = 0;
			if (test_get_u64(child, BASE + P(i), &v) || v != 100 + i ||
			    test_put_u64(child, BASE + P(i), (cpu << 8) | i) ||
			    test_get_u64(child, BASE + P(i), &v) || v != ((cpu << 8) | i))
				__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
		}
		kthread_unuse_mm(child);
		mm_put(child);
	}
}

static void test_forks_on_all_cpus(struct ktest *t)
{
	struct forks_ctx c = { .parent = filled_mm(8) };
	KTEST_ASSERT_TRUE(t, c.parent);
	ktest_on_cpus(&cpu_online_mask, forks_worker, &c);
	KTEST_EXPECT_EQ(t, c.errors, 0);
	for (u32 i = 0; i < 8; i++)
		KTEST_EXPECT_EQ(t, test_peek(c.parent, BASE + P(i)), 100 + i);
	/* Every child is gone: the parent's pages are its own again. */
	for (u32 i = 0; i < 8; i++)
		KTEST_EXPECT_EQ(t, page_refcount(page_of(c.parent, BASE + P(i))), 1);
	mm_put(c.parent);
}

/* fork while a sibling thread on another CPU keeps writing: once fork has
 * returned, the child's copy must not change any more. */
struct race_ctx {
	struct mm_struct *parent, *child;
	u32 leader;
	u32 forked, stop;
	u64 writes;             /* the sibling's progress */
	u64 child_at_fork, child_later, parent_later;
	u32 errors;
};

static void race_worker(void *arg)
{
	struct race_ctx *c = arg;
	if (smp_processor_id() == c->leader) {
		while (__atomic_load_n(&c->writes, __ATOMIC_SEQ_CST) < 2000)
			cpu_relax();
		if (mm_fork(c->parent, &c->child))
			c->errors++;
		/* fork has returned: sample the child's copy through its page. */
		const u64 *kva = page_address(page_of(c->child, BASE));
		c->child_at_fork = __atomic_load_n(kva, __ATOMIC_SEQ_CST);
		u64 w = __atomic_load_n(&c->writes, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&c->writes, __ATOMIC_SEQ_CST) < w + 20000)
			cpu_relax();
		kva = page_address(page_of(c->child, BASE));
		c->child_later = __atomic_load_n(kva, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
		return;
	}
	kthread_use_mm(c->parent);
	u64 n = 0;
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
		/* Mostly through the TLB; a fault (after fork) is resolved. */
		if (test_put_u64(c->parent, BASE, ++n))
			c->errors++;
		__atomic_store_n(&c->writes, n, __ATOMIC_SEQ_CST);
	}
	c->parent_later = n;
	kthread_unuse_mm(c->parent);
}

static void test_fork_while_writing(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct race_ctx c = { .parent = filled_mm(1) };
	KTEST_ASSERT_TRUE(t, c.parent);
	c.leader = cpumask_first(&cpu_online_mask);
	u32 other = ktest_other_cpu(c.leader);
	ktest_on_cpu_pair(c.leader, other, race_worker, &c);
	KTEST_EXPECT_EQ(t, c.errors, 0);
	KTEST_ASSERT_TRUE(t, c.child);
	ktest_log(t, "child's copy at fork return %lu, later %lu; the parent went on to %lu",
		  c.child_at_fork, c.child_later, c.parent_later);
	KTEST_EXPECT_EQ(t, c.child_later, c.child_at_fork);
	KTEST_EXPECT_GT(t, c.parent_later, c.child_at_fork);
	KTEST_EXPECT_EQ(t, test_peek(c.child, BASE), c.child_at_fork);
	mm_put(c.child);
	mm_put(c.parent);
}

/* Unshare: a private copy, still read-only; and what read-only pins do. */
static void test_unshare(struct ktest *t)
{
	struct mm_struct *parent = filled_mm(3), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	struct page *shared = page_of(parent, BASE);
	struct cow_stats s0 = cow_stats;
	KTEST_EXPECT_EQ(t, mm_unshare_page(child, BASE), 0);
	KTEST_EXPECT_EQ(t, cow_stats.unshare - s0.unshare, 1);
	KTEST_EXPECT_TRUE(t, page_of(child, BASE) != shared);
	KTEST_EXPECT_FALSE(t, pte_write(pte_of(child, BASE)));  /* no right gained */
	KTEST_EXPECT_EQ(t, test_peek(child, BASE), 100);
	KTEST_EXPECT_EQ(t, mm_unshare_page(child, BASE), 0);    /* already its own */
	KTEST_EXPECT_EQ(t, mm_unshare_page(parent, BASE), 0);   /* the parent's alone now */
	KTEST_EXPECT_EQ(t, cow_stats.unshare - s0.unshare, 1);
	KTEST_EXPECT_TRUE(t, page_of(parent, BASE) == shared);
	/* The child's write to its unshared page reuses it. */
	KTEST_EXPECT_EQ(t, test_poke(child, BASE, 7), 0);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 0);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE), 100);

	/* A read-only pin of a shared page unshares it; a write pin copies. */
	struct page *p1 = page_of(parent, BASE + P(1));
	struct page *pin = pin_user_page(child, BASE + P(1), false);
	KTEST_EXPECT_TRUE(t, pin && pin != p1 && pin == page_of(child, BASE + P(1)));
	if (pin)
		put_page(pin);
	struct page *wpin = pin_user_page(child, BASE + P(2), true);
	KTEST_EXPECT_TRUE(t, wpin && wpin == page_of(child, BASE + P(2)) && pte_write(pte_of(child, BASE + P(2))));
	if (wpin)
		put_page(wpin);
	KTEST_EXPECT_TRUE(t, pin_user_page(child, BASE + P(9), false) == NULL);   /* no VMA */
	/* What the process maps is what a pin-based copy reads. */
	u64 got[3] = { 0 };
	KTEST_EXPECT_EQ(t, access_remote_vm_read(child, BASE, got, sizeof(got)), sizeof(got));
	KTEST_EXPECT_EQ(t, got[0], 7);
	mm_put(child);
	mm_put(parent);
}

/* fork under fault injection at every allocation point in turn: each
 * failure returns -ENOMEM, leaves the parent as it was and leaks nothing.
 * The parent has 4 KiB pages, the zero page, a shared page and (THP on) a
 * 2 MiB page, so every kind of copy is on the way. */
#define MADV_HUGEPAGE 14
static void test_fork_enomem(struct ktest *t)
{
	struct mm_struct *parent = filled_mm(4), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	const u64 huge = BASE + 0x40000000UL, sh = BASE + 0x200000UL;
	KTEST_EXPECT_EQ(t, do_mmap(parent, huge, 2UL << 20, RW, ANON | MAP_FIXED, -1, 0), huge);
	do_madvise(parent, huge, 2UL << 20, MADV_HUGEPAGE);
	KTEST_EXPECT_EQ(t, test_poke(parent, huge, 77), 0);
	KTEST_EXPECT_EQ(t, do_mmap(parent, sh, P(2), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0), sh);
	KTEST_EXPECT_EQ(t, test_poke(parent, sh, 88), 0);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE + P(8)), ~0UL);    /* no VMA there */
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);         /* warm-up */
	mm_put(child);
	u64 before = test_settled_free_pages(), rss = parent->rss_pages;
	u32 failures = 0;
	for (u64 nth = 1; nth < 100; nth++) {
		child = NULL;
		u64 injected = fail_page_alloc_injected();
		fail_page_alloc_set(nth, 0);
		int r = mm_fork(parent, &child);
		fail_page_alloc_set(0, 0);
		if (r == 0) {
			mm_put(child);
			if (fail_page_alloc_injected() == injected)
				break;          /* past the last allocation */
		} else {
			failures++;
			KTEST_EXPECT_EQ(t, r, (u64)-ENOMEM);
		}
		if (!KTEST_EXPECT_EQ(t, test_settled_free_pages(), before))
			break;
	}
	ktest_log(t, "fork failed cleanly at %u allocation points", failures);
	KTEST_EXPECT_GT(t, failures, 3);
	KTEST_EXPECT_EQ(t, parent->rss_pages, rss);
	for (u32 i = 0; i < 4; i++)
		KTEST_EXPECT_EQ(t, test_peek(parent, BASE + P(i)), 100 + i);
	KTEST_EXPECT_EQ(t, test_peek(parent, huge), 77);
	KTEST_EXPECT_EQ(t, test_peek(parent, sh), 88);
	mm_put(parent);
}

/* madvise's fork advice (docs/madvise.md, "Advice about fork"): page 1
 * DONTFORK, page 2 and a 2 MiB huge page WIPEONFORK. The child has no VMA
 * at page 1 and nothing mapped in the wiped ones; the parent's wiped pages
 * are not shared with it (still exclusive, one reference and mapping,
 * still writable: no copy-on-write), and the counts are consistent. */
#define MADV_DONTFORK 10
#define MADV_WIPEONFORK 18
static void test_fork_advice(struct ktest *t)
{
	struct mm_struct *parent = filled_mm(4), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	const u64 huge = BASE + 0x40000000UL;
	KTEST_EXPECT_EQ(t, do_mmap(parent, huge, 2UL << 20, RW, ANON | MAP_FIXED, -1, 0), huge);
	do_madvise(parent, huge, 2UL << 20, MADV_HUGEPAGE);
	KTEST_EXPECT_EQ(t, test_poke(parent, huge, 77), 0);
	u64 *pmd = pgtable_walk(parent, huge, PT_PMD);
	bool was_huge = pmd && pmd_huge(pte_read(pmd));
	KTEST_EXPECT_EQ(t, do_madvise(parent, BASE + P(1), P(1), MADV_DONTFORK), 0);
	KTEST_EXPECT_EQ(t, do_madvise(parent, BASE + P(2), P(1), MADV_WIPEONFORK), 0);
	KTEST_EXPECT_EQ(t, do_madvise(parent, huge, 2UL << 20, MADV_WIPEONFORK), 0);
	u64 before = test_settled_free_pages();
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	KTEST_EXPECT_EQ(t, child->nr_vmas, parent->nr_vmas - 1);
	KTEST_EXPECT_EQ(t, child->rss_pages, 2);                 /* pages 0 and 3 */
	struct page *wiped = page_of(parent, BASE + P(2));
	KTEST_EXPECT_TRUE(t, wiped && (wiped->flags & PG_exclusive));
	KTEST_EXPECT_EQ(t, page_refcount(wiped), 1);
	KTEST_EXPECT_EQ(t, page_mapcount(wiped), 1);
	KTEST_EXPECT_TRUE(t, pte_write(pte_of(parent, BASE + P(2))));
	if (was_huge) {         /* the parent's huge PMD: still its own */
		u64 h = pte_read(pgtable_walk(parent, huge, PT_PMD));
		KTEST_EXPECT_TRUE(t, pmd_huge(h) && (h & PTE_W));
		KTEST_EXPECT_EQ(t, page_mapcount(pte_page(h)), 1);
		KTEST_EXPECT_TRUE(t, pte_page(h)->flags & PG_exclusive);
		u64 *cpmd = pgtable_walk(child, huge, PT_PMD);
		KTEST_EXPECT_FALSE(t, cpmd && pte_read(cpmd));
	}
	KTEST_EXPECT_EQ(t, test_peek(child, BASE), 100);
	KTEST_EXPECT_EQ(t, test_peek(child, BASE + P(1)), ~0UL);  /* no VMA */
	KTEST_EXPECT_EQ(t, test_peek(child, BASE + P(2)), 0);
	KTEST_EXPECT_EQ(t, test_peek(child, huge), 0);
	KTEST_EXPECT_EQ(t, test_peek(child, BASE + P(3)), 103);
	struct cow_stats s0 = cow_stats;
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE + P(2), 5), 0);
	KTEST_EXPECT_EQ(t, test_poke(parent, huge, 6), 0);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 0);
	char why[160];
	KTEST_EXPECT_EQ(t, mm_check_counts(child, why, sizeof(why)), 0);
	KTEST_EXPECT_EQ(t, mm_check_counts(parent, why, sizeof(why)), 0);
	mm_put(child);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE + P(1)), 101);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE + P(2)), 5);
	KTEST_EXPECT_EQ(t, test_peek(parent, huge), 6);
	ktest_log(t, "2 MiB region %s a huge PMD; the child got 2 of 4 pages and no huge page",
		  was_huge ? "was" : "was not");
	mm_put(parent);
}

/* MAP_LOCKED private memory that mprotect makes writable again is copied
 * at once (Linux's mprotect_fixup): after fork and a read-only spell, the
 * parent's pages are its own, writable, before any write. */
#define MAP_LOCKED 0x2000
static void test_locked_mprotect(struct ktest *t)
{
	struct mm_struct *parent = mm_create(), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	KTEST_ASSERT_EQ(t, do_mmap(parent, BASE, P(2), RW, ANON | MAP_FIXED | MAP_LOCKED, -1, 0),
			BASE);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE, 41), 0);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE + P(1), 42), 0);
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	KTEST_EXPECT_TRUE(t, page_of(parent, BASE) == page_of(child, BASE));
	KTEST_EXPECT_EQ(t, do_mprotect(parent, BASE, P(2), PROT_READ), 0);
	struct cow_stats s0 = cow_stats;
	KTEST_EXPECT_EQ(t, do_mprotect(parent, BASE, P(2), RW), 0);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 2);
	for (u32 i = 0; i < 2; i++) {
		KTEST_EXPECT_TRUE(t, page_of(parent, BASE + P(i)) != page_of(child, BASE + P(i)));
		KTEST_EXPECT_TRUE(t, pte_write(pte_of(parent, BASE + P(i))));
		KTEST_EXPECT_EQ(t, test_peek(child, BASE + P(i)), 41 + i);
	}
	mm_put(child);
	mm_put(parent);
}

static const struct ktest_case cow_cases[] = {
	{ "reuse_vs_copy", test_reuse_vs_copy },
	{ "zero_page_cow", test_zero_page_cow },
	{ "grandchildren", test_grandchildren },
	{ "forks_on_all_cpus", test_forks_on_all_cpus },
	{ "fork_while_writing", test_fork_while_writing },
	{ "unshare", test_unshare },
	{ "fork_enomem", test_fork_enomem },
	{ "fork_advice", test_fork_advice },
	{ "locked_mprotect", test_locked_mprotect },
};

KTEST_SUITE(cow, cow_cases);
