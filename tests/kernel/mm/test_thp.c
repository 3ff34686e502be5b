/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_thp.c - the "thp" suite: transparent huge pages (mm/thp.h,
 * docs/thp.md). Every mapping here asks for THP with MADV_HUGEPAGE, which
 * works under the default "thp=madvise" and under "thp=always".
 */
#include "kernel/ktest.h"
#include "kernel/rcu.h"
#include "kernel/errno.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "mm/fault.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/fault_inject.h"
#include "mm/mm_debug.h"
#include "mm/userfaultfd.h"
#include "mm/vma.h"
#include "tests/kernel/mm/test_user.h"
#include "kernel/file.h"
#include "kernel/userfaultfd.h"

#define BASE 0x0000400000000000UL       /* 2 MiB aligned, its own top-level slot */
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define MADV_DONTNEED 4
#define MADV_HUGEPAGE 14
#define MADV_NOHUGEPAGE 15

static u64 pmd_of(struct mm_struct *mm, u64 addr)
{
	u64 *e = pgtable_walk(mm, addr, PT_PMD);
	return e ? pte_read(e) : 0;
}

static bool is_huge(struct mm_struct *mm, u64 addr) { return pmd_huge(pmd_of(mm, addr)); }

static s64 stat(enum vm_stat_item i) { return __atomic_load_n(&vm_stat[i], __ATOMIC_RELAXED); }

/* A 4 MiB THP-eligible region at BASE. */
static struct mm_struct *thp_mm(void)
{
	struct mm_struct *mm = mm_create();
	if (!mm)
		return NULL;
	if (do_mmap(mm, BASE, 2 * HPAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0) != (long)BASE ||
	    do_madvise(mm, BASE, 2 * HPAGE_SIZE, MADV_HUGEPAGE) != 0) {
		mm_put(mm);
		return NULL;
	}
	return mm;
}

/* Read: the huge zero page. Write: one fault, one 2 MiB page. */
static void test_huge_zero_then_write(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		return;
	}
	struct mm_struct *mm = thp_mm();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE + 8), 0);
	u64 pmd = pmd_of(mm, BASE);
	KTEST_EXPECT_TRUE(t, pmd_huge(pmd) && (pmd & PTE_SPECIAL) && !(pmd & PTE_W));
	KTEST_EXPECT_EQ(t, mm->rss_pages, 0);
	s64 alloc0 = stat(NR_THP_FAULT_ALLOC), anon0 = stat(NR_ANON_THPS);
	KTEST_EXPECT_EQ(t, test_poke(mm, BASE + P(5), 55), 0);
	pmd = pmd_of(mm, BASE);
	KTEST_EXPECT_TRUE(t, pmd_huge(pmd) && !(pmd & PTE_SPECIAL) && (pmd & PTE_W));
	KTEST_EXPECT_EQ(t, stat(NR_THP_FAULT_ALLOC) - alloc0, 1);
	KTEST_EXPECT_EQ(t, stat(NR_ANON_THPS) - anon0, 1);
	KTEST_EXPECT_EQ(t, mm->rss_pages, HPAGE_NR);
	/* One fault: every 4 KiB page of the 2 MiB is reachable now, without
	 * another fault (raw accesses do not resolve faults). */
	u32 reachable = 0;
	kthread_use_mm(mm);
	for (u32 i = 0; i < HPAGE_NR; i++) {
		u64 v;
		if (test_read_nofault(BASE + P(i), &v) == 0 && v == (i == 5 ? 55 : 0))
			reachable++;
	}
	kthread_unuse_mm(mm);
	KTEST_EXPECT_EQ(t, reachable, HPAGE_NR);
	/* The second 2 MiB: a first write maps a 2 MiB page directly. */
	KTEST_EXPECT_EQ(t, test_poke(mm, BASE + HPAGE_SIZE, 7), 0);
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE + HPAGE_SIZE) && (pmd_of(mm, BASE + HPAGE_SIZE) & PTE_W));
	KTEST_EXPECT_EQ(t, stat(NR_THP_FAULT_ALLOC) - alloc0, 2);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, stat(NR_ANON_THPS), anon0);
}

/* No 2 MiB page to be had: split the huge zero PMD, write at PTE level. */
static void test_fallback(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		return;
	}
	struct mm_struct *mm = thp_mm();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE), 0);
	KTEST_ASSERT_TRUE(t, is_huge(mm, BASE));
	s64 fb0 = stat(NR_THP_FAULT_FALLBACK), split0 = stat(NR_THP_SPLIT_PMD);
	kthread_use_mm(mm);
	fail_page_alloc_set(1, 0);              /* the 2 MiB allocation fails */
	int r = test_put_u64(mm, BASE + P(3), 33);
	fail_page_alloc_set(0, 0);
	kthread_unuse_mm(mm);
	KTEST_EXPECT_EQ(t, r, 0);
	KTEST_EXPECT_EQ(t, stat(NR_THP_FAULT_FALLBACK) - fb0, 1);
	KTEST_EXPECT_EQ(t, stat(NR_THP_SPLIT_PMD) - split0, 1);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE));
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE + P(3)), 33);
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE + P(4)), 0);
	KTEST_EXPECT_TRUE(t, pte_page(pgtable_leaf(mm, BASE + P(4))) == zero_page);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 1);
	mm_put(mm);
}

/* fork shares a THP; a write on a shared one copies 4 KiB; alone, reuse. */
static void test_fork_thp(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		return;
	}
	struct mm_struct *parent = thp_mm(), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE, 1), 0);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE + P(1), 2), 0);
	KTEST_ASSERT_TRUE(t, is_huge(parent, BASE));
	struct page *head = pte_page(pmd_of(parent, BASE));
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	KTEST_EXPECT_TRUE(t, is_huge(child, BASE) && pte_page(pmd_of(child, BASE)) == head);
	KTEST_EXPECT_FALSE(t, pmd_of(parent, BASE) & PTE_W);
	KTEST_EXPECT_EQ(t, child->rss_pages, HPAGE_NR);
	KTEST_EXPECT_EQ(t, test_poke(child, BASE, 10), 0);           /* split, copy one page */
	KTEST_EXPECT_FALSE(t, is_huge(child, BASE));
	KTEST_EXPECT_EQ(t, test_peek(child, BASE), 10);
	KTEST_EXPECT_EQ(t, test_peek(child, BASE + P(1)), 2);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE), 1);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE + P(1), 20), 0);   /* still shared: split too */
	KTEST_EXPECT_EQ(t, test_peek(child, BASE + P(1)), 2);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE + P(1)), 20);
	mm_put(child);

	/* A THP whose child has gone is reused whole: no split. */
	struct mm_struct *p2 = thp_mm(), *c2 = NULL;
	KTEST_ASSERT_TRUE(t, p2);
	KTEST_EXPECT_EQ(t, test_poke(p2, BASE, 1), 0);
	KTEST_ASSERT_EQ(t, mm_fork(p2, &c2), 0);
	mm_put(c2);
	s64 split0 = stat(NR_THP_SPLIT_PMD);
	KTEST_EXPECT_EQ(t, test_poke(p2, BASE, 3), 0);
	KTEST_EXPECT_TRUE(t, is_huge(p2, BASE) && (pmd_of(p2, BASE) & PTE_W));
	KTEST_EXPECT_EQ(t, stat(NR_THP_SPLIT_PMD), split0);
	mm_put(p2);
	mm_put(parent);
}

/* munmap, mprotect and MADV_DONTNEED of part of a THP split it; of all of
 * it, they act on the PMD. Nothing leaks. */
static void test_partial_ops(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		return;
	}
	u64 before = test_settled_free_pages();
	s64 tables0 = stat(NR_PAGETABLE);
	struct mm_struct *mm = thp_mm();
	KTEST_ASSERT_TRUE(t, mm);
	for (u32 h = 0; h < 2; h++)
		for (u32 i = 0; i < HPAGE_NR; i += 64)
			test_poke(mm, BASE + h * HPAGE_SIZE + P(i), 1000 + h * HPAGE_NR + i);
	KTEST_ASSERT_TRUE(t, is_huge(mm, BASE) && is_huge(mm, BASE + HPAGE_SIZE));
	s64 split0 = stat(NR_THP_SPLIT_PMD);
	/* Part of the first: split; the rest keeps its contents. */
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE + P(64), P(1)), 0);
	KTEST_EXPECT_EQ(t, stat(NR_THP_SPLIT_PMD) - split0, 1);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE));
	KTEST_EXPECT_EQ(t, mm->rss_pages, 2 * HPAGE_NR - 1);
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE + P(128)), 1000 + 128);
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE), 1000);
	/* All of the second, read-only: stays huge, loses the write right. */
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + HPAGE_SIZE, HPAGE_SIZE, PROT_READ), 0);
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE + HPAGE_SIZE));
	KTEST_EXPECT_FALSE(t, pmd_of(mm, BASE + HPAGE_SIZE) & PTE_W);
	KTEST_EXPECT_EQ(t, test_poke(mm, BASE + HPAGE_SIZE, 1), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + HPAGE_SIZE, HPAGE_SIZE, RW), 0);
	KTEST_EXPECT_TRUE(t, pmd_of(mm, BASE + HPAGE_SIZE) & PTE_W);   /* exclusive: writable again */
	/* DONTNEED of part of it: split, that page reads zero. */
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE + HPAGE_SIZE + P(64), P(1), MADV_DONTNEED), 0);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE + HPAGE_SIZE));
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE + HPAGE_SIZE + P(64)), 0);
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE + HPAGE_SIZE + P(128)), 1000 + HPAGE_NR + 128);
	/* A fresh THP zapped whole by DONTNEED: rss drops by 512. */
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE, 2 * HPAGE_SIZE), 0);
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE, HPAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0), BASE);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, HPAGE_SIZE, MADV_HUGEPAGE), 0);
	KTEST_EXPECT_EQ(t, test_poke(mm, BASE, 9), 0);
	KTEST_EXPECT_TRUE(t, is_huge(mm, BASE));
	split0 = stat(NR_THP_SPLIT_PMD);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, HPAGE_SIZE, MADV_DONTNEED), 0);
	KTEST_EXPECT_EQ(t, stat(NR_THP_SPLIT_PMD), split0);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 0);
	KTEST_EXPECT_EQ(t, test_peek(mm, BASE), 0);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
	KTEST_EXPECT_EQ(t, stat(NR_PAGETABLE), tables0);
}

/* A split THP's 4 KiB pages share the compound's exclusivity (on its
 * head): after fork neither side may write in place. Before fork, its own
 * mm may (made writable again by mprotect without a copy). */
static void test_split_then_fork(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		return;
	}
	struct mm_struct *parent = thp_mm(), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	for (u32 i = 0; i < 8; i++)
		test_poke(parent, BASE + P(i), 500 + i);
	KTEST_ASSERT_TRUE(t, is_huge(parent, BASE));
	KTEST_EXPECT_EQ(t, do_munmap_range(parent, BASE + P(100), P(1)), 0);   /* split */
	KTEST_EXPECT_EQ(t, do_mprotect(parent, BASE, P(8), PROT_READ), 0);
	KTEST_EXPECT_EQ(t, do_mprotect(parent, BASE, P(8), RW), 0);
	KTEST_EXPECT_TRUE(t, pte_write(pgtable_leaf(parent, BASE + P(5))));    /* still its own */
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	KTEST_EXPECT_EQ(t, test_poke(child, BASE + P(5), 1), 0);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE + P(6), 2), 0);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE + P(5)), 505);
	KTEST_EXPECT_EQ(t, test_peek(child, BASE + P(6)), 506);
	KTEST_EXPECT_EQ(t, test_peek(child, BASE + P(5)), 1);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE + P(6)), 2);
	mm_put(child);
	mm_put(parent);
}

/* Not eligible: no VM_HUGEPAGE under thp=madvise, a VMA too small. */
static void test_eligibility(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE, HPAGE_SIZE - PAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0), BASE);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, HPAGE_SIZE - PAGE_SIZE, MADV_HUGEPAGE), 0);
	KTEST_EXPECT_EQ(t, test_poke(mm, BASE, 1), 0);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE));               /* 2 MiB not covered */
	u64 b2 = BASE + 4 * HPAGE_SIZE;
	KTEST_EXPECT_EQ(t, do_mmap(mm, b2, HPAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0), b2);
	KTEST_EXPECT_EQ(t, do_madvise(mm, b2, HPAGE_SIZE, 15 /* MADV_NOHUGEPAGE */), 0);
	KTEST_EXPECT_EQ(t, test_poke(mm, b2, 1), 0);
	KTEST_EXPECT_FALSE(t, is_huge(mm, b2));                 /* said no */
	mm_put(mm);
}

/* --- a VMA boundary inside a huge PMD (docs/thp.md, "VMA boundaries") ---
 *
 * Every way of changing part of a VMA puts a boundary there. Inside a 2 MiB
 * page, the PMD must be split first: a huge PMD reaching over two VMAs is
 * copied by fork once per VMA (two references, rss counted twice), and the
 * 2 MiB never comes back. */

enum boundary_op { BY_MPROTECT, BY_MUNMAP, BY_MADVISE, BY_UFFD_REGISTER, NR_BOUNDARY_OPS };
static const char *const boundary_op_name[NR_BOUNDARY_OPS] = {
	"mprotect", "munmap", "MADV_NOHUGEPAGE", "UFFDIO_REGISTER",
};

static long boundary_op(struct mm_struct *mm, enum boundary_op op, struct file *uffd,
			u64 start, u64 end)
{
	switch (op) {
	case BY_MPROTECT:
		return do_mprotect(mm, start, end - start, PROT_READ);
	case BY_MUNMAP:
		return do_munmap_range(mm, start, end - start);
	case BY_MADVISE:
		return do_madvise(mm, start, end - start, MADV_NOHUGEPAGE);
	default:
		return uffd_register_range(mm, userfaultfd_file_ctx(uffd), start, end, VM_UFFD_WP);
	}
}

/* mm_check_counts() finds nothing wrong; else the first problem is logged. */
static bool counts_ok(struct ktest *t, struct mm_struct *mm, const char *whose,
		      enum boundary_op op)
{
	char why[160];
	int problems = mm_check_counts(mm, why, sizeof(why));
	if (problems)
		ktest_log(t, "%s, %s of part of a THP: %d problem(s): %s", whose,
			  boundary_op_name[op], problems, why);
	return KTEST_EXPECT_EQ(t, problems, 0);
}

/* The word test_boundary pokes at page i of the 4 MiB (every 64th page). */
static u64 boundary_word(u32 i) { return 7000 + i; }

/* Does every poked page outside [hole, hole_end) still hold its word? */
static bool boundary_words_ok(struct mm_struct *mm, u64 hole, u64 hole_end)
{
	for (u32 i = 0; i < 2 * HPAGE_NR; i += 64) {
		u64 a = BASE + P(i);
		if ((a < hole || a >= hole_end) && test_peek(mm, a) != boundary_word(i))
			return false;
	}
	return true;
}

/* Make the next VMA split need a bigger VMA array while this one split
 * still fits: the set full but for one slot, at a capacity whose doubling
 * is a whole page (kmalloc's large path), so that with every page
 * allocation failing the split at `end` fails with -ENOMEM. One-page VMAs
 * with gaps between them above the 4 MiB, which never merge. */
static bool fill_vma_array(struct mm_struct *mm)
{
	struct vma_set *s = mm->vma_root;
	for (u64 a = BASE + 4 * HPAGE_SIZE; s->cap < 256 || s->nr + 1 != s->cap; a += P(2))
		if (do_mmap(mm, a, P(1), RW, ANON | MAP_FIXED, -1, 0) != (long)a)
			return false;
	return true;
}

/* The op on [start, end) with every page allocation failing: the VMA split
 * at start fits in the array, the one at end does not. */
static long boundary_op_enomem(struct mm_struct *mm, enum boundary_op op, struct file *uffd,
			       u64 start, u64 end)
{
	/* The split at start takes one small object: have one cached. */
	kfree(kmalloc(sizeof(struct vm_area), GFP_KERNEL));
	fail_page_alloc_set(0, 1);
	long r = boundary_op(mm, op, uffd, start, end);
	fail_page_alloc_set(0, 0);
	return r;
}

/* Two THPs at BASE; op on [BASE + 1 MiB, end) puts a VMA boundary inside
 * the first (and, with enomem, fails at end, inside the second); then fork.
 * Both address spaces stay consistent, the child sees the parent's words,
 * and once both are gone every page, table and THP count is back. */
static void boundary_then_fork(struct ktest *t, enum boundary_op op, bool enomem)
{
	u64 before = test_settled_free_pages();
	s64 anon0 = stat(NR_ANON_THPS), tables0 = stat(NR_PAGETABLE);
	u64 straddles0 = thp_straddle_splits;
	u64 start = BASE + HPAGE_SIZE / 2, end = enomem ? start + HPAGE_SIZE : BASE + HPAGE_SIZE;
	struct mm_struct *mm = thp_mm(), *child = NULL;
	KTEST_ASSERT_TRUE(t, mm);
	long err = 0;
	struct file *uffd = userfaultfd_create(mm, O_NONBLOCK, &err);
	KTEST_ASSERT_TRUE(t, uffd);
	for (u32 i = 0; i < 2 * HPAGE_NR; i += 64)
		test_poke(mm, BASE + P(i), boundary_word(i));
	KTEST_ASSERT_TRUE(t, is_huge(mm, BASE) && is_huge(mm, BASE + HPAGE_SIZE));
	if (enomem) {
		KTEST_ASSERT_TRUE(t, fill_vma_array(mm));
		long r = boundary_op_enomem(mm, op, uffd, start, end);
		/* Linux's madvise says -EAGAIN where a split failed. */
		KTEST_EXPECT_TRUE(t, r == -ENOMEM || (op == BY_MADVISE && r == -EAGAIN));
		/* The split at start was made, the one at end was not. */
		KTEST_EXPECT_TRUE(t, vma_find(mm->vma_root, start)->start == start);
		KTEST_EXPECT_TRUE(t, vma_find(mm->vma_root, end)->start < end);
	} else {
		KTEST_EXPECT_EQ(t, boundary_op(mm, op, uffd, start, end), 0);
	}
	bool unmapped = op == BY_MUNMAP && !enomem;
	u64 hole = unmapped ? start : 0, hole_end = unmapped ? end : 0;
	counts_ok(t, mm, "parent", op);
	KTEST_ASSERT_EQ(t, mm_fork(mm, &child), 0);
	counts_ok(t, mm, "parent after fork", op);
	counts_ok(t, child, "child", op);
	KTEST_EXPECT_TRUE(t, boundary_words_ok(child, hole, hole_end));
	KTEST_EXPECT_TRUE(t, boundary_words_ok(mm, hole, hole_end));
	/* fork met no huge PMD reaching over a boundary (thp.h's defence). */
	KTEST_EXPECT_EQ(t, thp_straddle_splits, straddles0);
	mm_put(child);
	file_put(uffd);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, stat(NR_ANON_THPS), anon0);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
	KTEST_EXPECT_EQ(t, stat(NR_PAGETABLE), tables0);
}

static void test_vma_boundary_then_fork(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		return;
	}
	for (u32 op = 0; op < NR_BOUNDARY_OPS; op++)
		boundary_then_fork(t, op, false);
}

/* The op's VMA split at start succeeds and the one at end fails: -ENOMEM,
 * and still no huge PMD reaches over a boundary. */
static void test_vma_boundary_enomem(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		return;
	}
	for (u32 op = 0; op < NR_BOUNDARY_OPS; op++)
		boundary_then_fork(t, op, true);
}

/* The defence behind the rule: with vma_adjust_trans_huge() switched off
 * for a moment, a huge PMD does reach over a VMA boundary; munmap's zap and
 * fork's copy then meet it and split it (counted) instead of acting on it
 * whole, and nothing leaks. */
static void test_straddle_defence(struct ktest *t)
{
	if (thp_mode == THP_NEVER) {
		ktest_skip(t, "thp=never");
		return;
	}
	u64 before = test_settled_free_pages();
	s64 anon0 = stat(NR_ANON_THPS);
	u64 straddles0 = thp_straddle_splits;
	bool skip0 = thp_debug_skip_vma_split;
	struct mm_struct *mm = thp_mm(), *child = NULL;
	KTEST_ASSERT_TRUE(t, mm);
	long err = 0;
	struct file *uffd = userfaultfd_create(mm, O_NONBLOCK, &err);
	KTEST_ASSERT_TRUE(t, uffd);
	for (u32 i = 0; i < 2 * HPAGE_NR; i += 64)
		test_poke(mm, BASE + P(i), boundary_word(i));
	KTEST_ASSERT_TRUE(t, is_huge(mm, BASE) && is_huge(mm, BASE + HPAGE_SIZE));
	u64 half = HPAGE_SIZE / 2;
	thp_debug_skip_vma_split = true;
	KTEST_EXPECT_EQ(t, boundary_op(mm, BY_UFFD_REGISTER, uffd, BASE + half, BASE + HPAGE_SIZE), 0);
	KTEST_EXPECT_EQ(t, boundary_op(mm, BY_UFFD_REGISTER, uffd, BASE + 3 * half, BASE + 4 * half), 0);
	thp_debug_skip_vma_split = skip0;
	char why[160];
	KTEST_EXPECT_GT(t, mm_check_counts(mm, why, sizeof(why)), 0);  /* the checker sees it */
	/* Zapped whole, the first THP would be zapped over two VMAs. */
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE, HPAGE_SIZE), 0);
	KTEST_EXPECT_EQ(t, thp_straddle_splits - straddles0, 1);
	/* Copied whole, the second would be copied once per VMA. */
	KTEST_ASSERT_EQ(t, mm_fork(mm, &child), 0);
	KTEST_EXPECT_EQ(t, thp_straddle_splits - straddles0, 2);
	KTEST_EXPECT_FALSE(t, is_huge(mm, BASE + HPAGE_SIZE) || is_huge(child, BASE + HPAGE_SIZE));
	counts_ok(t, mm, "parent", BY_UFFD_REGISTER);
	counts_ok(t, child, "child", BY_UFFD_REGISTER);
	KTEST_EXPECT_TRUE(t, boundary_words_ok(child, BASE, BASE + HPAGE_SIZE));
	mm_put(child);
	file_put(uffd);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, stat(NR_ANON_THPS), anon0);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

static const struct ktest_case thp_cases[] = {
	{ "huge_zero_then_write", test_huge_zero_then_write },
	{ "fallback", test_fallback },
	{ "fork_thp", test_fork_thp },
	{ "partial_ops", test_partial_ops },
	{ "split_then_fork", test_split_then_fork },
	{ "eligibility", test_eligibility },
	{ "vma_boundary_then_fork", test_vma_boundary_then_fork },
	{ "vma_boundary_enomem", test_vma_boundary_enomem },
	{ "straddle_defence", test_straddle_defence },
};

KTEST_SUITE(thp, thp_cases);
