/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_thp_exclusive.c - the "thp_exclusive" suite: per-page exclusivity
 * of a split THP's pieces (mm/anon_exclusive.h, docs/thp.md "fork and
 * copy-on-write of a THP").
 *
 * The timeline every case starts from: a parent fills a THP, forks, the
 * parent's huge PMD is split (mprotect of one page and back, as a program
 * would), and then the child goes or stays. After the child has gone the
 * parent's write faults must reuse every piece in place; while the child
 * (or a pin) still holds the compound, they must copy.
 *
 * Negative controls (tools/run-tests): "thp_whole_exclusive" (one bit for
 * the whole compound: reuse_after_child_exit fails, every piece is copied)
 * and "thp_debug_reuse_shared_pieces" (no "every reference explained"
 * check: child_alive_copies and pinned_piece_copied fail).
 */
#include "kernel/ktest.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "mm/fault.h"
#include "mm/gup.h"
#include "mm/anon_exclusive.h"
#include "tests/kernel/mm/test_user.h"

#define BASE 0x0000400000000000UL       /* 2 MiB aligned, its own top-level slot */
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define MADV_HUGEPAGE 14
#define VAL(i, gen) (((u64)(gen) << 32) | (i))

static u64 pmd_of(struct mm_struct *mm, u64 addr)
{
	u64 *e = pgtable_walk(mm, addr, PT_PMD);
	return e ? pte_read(e) : 0;
}

static struct page *page_at(struct mm_struct *mm, u64 addr)
{
	u64 e = pgtable_leaf(mm, addr);
	return pte_mapped(e) && !pte_special(e) ? pte_page(e) : NULL;
}

/* mm's 2 MiB at BASE made one THP, piece i holding VAL(i, 1). Returns the
 * THP's head, NULL on failure. */
static struct page *thp_at_base(struct mm_struct *mm)
{
	if (!mm || do_mmap(mm, BASE, HPAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0) != (long)BASE ||
	    do_madvise(mm, BASE, HPAGE_SIZE, MADV_HUGEPAGE) != 0)
		return NULL;
	for (u32 i = 0; i < HPAGE_NR; i++)
		test_poke(mm, BASE + P(i), VAL(i, 1));
	if (!pmd_huge(pmd_of(mm, BASE)))
		return NULL;
	return pte_page(pmd_of(mm, BASE));
}

/* A VMA boundary made in the THP and removed again: its PMD is split in
 * mm, the VMA is whole again. */
static void split_by_vma_boundary(struct ktest *t, struct mm_struct *mm)
{
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + P(7), P(1), PROT_READ), 0);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + P(7), P(1), RW), 0);
}

/* A parent whose 2 MiB at BASE is one THP (thp_at_base), forked (*child),
 * and split in the parent by split_by_vma_boundary. Returns the THP's head,
 * NULL on failure. */
static struct page *fork_and_split(struct ktest *t, struct mm_struct **parent,
				   struct mm_struct **child)
{
	struct mm_struct *mm = mm_create();
	*parent = mm;
	*child = NULL;
	struct page *head = thp_at_base(mm);
	if (!head || mm_fork(mm, child))
		return NULL;
	split_by_vma_boundary(t, mm);
	return pmd_huge(pmd_of(mm, BASE)) ? NULL : head;
}

/* Write generation gen into every piece in mm; count the pieces
 * still backed by the THP's own page afterwards (page identity). */
static u32 write_all(struct mm_struct *mm, struct page *head, u32 gen)
{
	u32 same = 0;
	for (u32 i = 0; i < HPAGE_NR; i++) {
		test_poke(mm, BASE + P(i), VAL(i, gen));
		same += page_at(mm, BASE + P(i)) == head + i;
	}
	return same;
}

static u32 pieces_holding(struct mm_struct *mm, u32 gen)
{
	u32 n = 0;
	for (u32 i = 0; i < HPAGE_NR; i++)
		n += test_peek(mm, BASE + P(i)) == VAL(i, gen);
	return n;
}

static bool skip_without_thp(struct ktest *t)
{
	if (thp_mode != THP_NEVER) {
		zero_page_init();       /* for good: not in a leak check's baseline */
		return false;
	}
	ktest_skip(t, "thp=never");
	return true;
}

/* The child has gone: every piece is reused where it is - same physical
 * page, no copy counted, no page allocated, rss unchanged. */
static void test_reuse_after_child_exit(struct ktest *t)
{
	if (skip_without_thp(t))
		return;
	u64 before = test_settled_free_pages();
	struct mm_struct *mm, *child;
	struct page *head = fork_and_split(t, &mm, &child);
	KTEST_ASSERT_TRUE(t, head);
	mm_put(child);
	u64 free0 = test_settled_free_pages(), rss0 = mm->rss_pages;
	struct cow_stats s0 = cow_stats;
	KTEST_EXPECT_EQ(t, write_all(mm, head, 2), HPAGE_NR);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 0);
	KTEST_EXPECT_EQ(t, cow_stats.reuse - s0.reuse, HPAGE_NR);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), free0);
	KTEST_EXPECT_EQ(t, mm->rss_pages, rss0);
	KTEST_EXPECT_EQ(t, pieces_holding(mm, 2), HPAGE_NR);
	for (u32 i = 0; i < HPAGE_NR; i += 97)
		KTEST_EXPECT_TRUE(t, page_anon_exclusive(head + i) &&
				  pte_write(pgtable_leaf(mm, BASE + P(i))));
	mm_put(mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* The child still maps every piece: each parent write copies, and the
 * child goes on seeing what was there at fork. */
static void test_child_alive_copies(struct ktest *t)
{
	if (skip_without_thp(t))
		return;
	u64 before = test_settled_free_pages();
	struct mm_struct *mm, *child;
	struct page *head = fork_and_split(t, &mm, &child);
	KTEST_ASSERT_TRUE(t, head);
	struct cow_stats s0 = cow_stats;
	KTEST_EXPECT_EQ(t, write_all(mm, head, 2), 0);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, HPAGE_NR);
	KTEST_EXPECT_EQ(t, pieces_holding(mm, 2), HPAGE_NR);
	KTEST_EXPECT_EQ(t, pieces_holding(child, 1), HPAGE_NR);
	/* The child's own writes: now it alone maps the THP (split in it
	 * by its first write), so its pieces are taken back in place. */
	s0 = cow_stats;
	KTEST_EXPECT_EQ(t, write_all(child, head, 3), HPAGE_NR);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 0);
	KTEST_EXPECT_EQ(t, pieces_holding(mm, 2), HPAGE_NR);
	mm_put(child);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* A reference no entry explains - here a read-only pin the parent took
 * before the fork, which fork does not tell apart from another process's -
 * stops the taking back: the pieces are copied and the pinned page keeps
 * what it held. */
static void test_pinned_piece_copied(struct ktest *t)
{
	if (skip_without_thp(t))
		return;
	u64 before = test_settled_free_pages();
	struct mm_struct *mm = mm_create(), *child = NULL;
	KTEST_ASSERT_TRUE(t, mm);
	struct page *head = thp_at_base(mm);
	KTEST_ASSERT_TRUE(t, head);
	struct page *pin = pin_user_page(mm, BASE + P(5), false);
	KTEST_ASSERT_TRUE(t, pin == head + 5);
	KTEST_ASSERT_EQ(t, mm_fork(mm, &child), 0);
	split_by_vma_boundary(t, mm);
	mm_put(child);
	struct cow_stats s0 = cow_stats;
	KTEST_EXPECT_EQ(t, write_all(mm, head, 2), 0);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, HPAGE_NR);
	KTEST_EXPECT_EQ(t, *(u64 *)page_address(pin), VAL(5, 1));
	KTEST_EXPECT_EQ(t, pieces_holding(mm, 2), HPAGE_NR);
	put_page(pin);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* Pieces unmapped (while the child lives, then it goes): the rest is taken
 * back in place; the unmapped ones stay allocated with their compound. */
static void test_partial_munmap_then_reuse(struct ktest *t)
{
	if (skip_without_thp(t))
		return;
	u64 before = test_settled_free_pages();
	struct mm_struct *mm, *child;
	struct page *head = fork_and_split(t, &mm, &child);
	KTEST_ASSERT_TRUE(t, head);
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE + P(100), P(100)), 0);
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE + P(500), P(12)), 0);
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE, P(1)), 0);      /* the head too */
	mm_put(child);
	u64 free0 = test_settled_free_pages(), rss0 = mm->rss_pages;
	KTEST_EXPECT_EQ(t, rss0, HPAGE_NR - 113);
	struct cow_stats s0 = cow_stats;
	u32 same = 0, kept = 0;
	for (u32 i = 0; i < HPAGE_NR; i++) {
		if (i == 0 || (i >= 100 && i < 200) || i >= 500)
			continue;
		test_poke(mm, BASE + P(i), VAL(i, 2));
		same += page_at(mm, BASE + P(i)) == head + i;
		kept += test_peek(mm, BASE + P(i)) == VAL(i, 2);
	}
	KTEST_EXPECT_EQ(t, same, HPAGE_NR - 113);
	KTEST_EXPECT_EQ(t, kept, HPAGE_NR - 113);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 0);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), free0);
	KTEST_EXPECT_EQ(t, mm->rss_pages, rss0);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* A read-only pin after the child has gone: the unshare fault takes the
 * pieces back instead of copying, and the pin is of the page the parent
 * goes on writing. */
static void test_unshare_takes_back(struct ktest *t)
{
	if (skip_without_thp(t))
		return;
	u64 before = test_settled_free_pages();
	struct mm_struct *mm, *child;
	struct page *head = fork_and_split(t, &mm, &child);
	KTEST_ASSERT_TRUE(t, head);
	mm_put(child);
	struct cow_stats s0 = cow_stats;
	struct page *pin = pin_user_page(mm, BASE + P(9), false);
	KTEST_EXPECT_TRUE(t, pin == head + 9);
	KTEST_EXPECT_EQ(t, cow_stats.unshare - s0.unshare, 0);
	KTEST_EXPECT_EQ(t, write_all(mm, head, 2), HPAGE_NR);
	KTEST_EXPECT_EQ(t, cow_stats.copy - s0.copy, 0);
	if (pin) {
		KTEST_EXPECT_EQ(t, *(u64 *)page_address(pin), VAL(9, 2));
		put_page(pin);
	}
	mm_put(mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

static const struct ktest_case thp_exclusive_cases[] = {
	{ "reuse_after_child_exit", test_reuse_after_child_exit },
	{ "child_alive_copies", test_child_alive_copies },
	{ "pinned_piece_copied", test_pinned_piece_copied },
	{ "partial_munmap_then_reuse", test_partial_munmap_then_reuse },
	{ "unshare_takes_back", test_unshare_takes_back },
};

KTEST_SUITE(thp_exclusive, thp_exclusive_cases);
