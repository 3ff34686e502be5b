/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_mremap.c - the "mremap" suite: moving page-table
 * entries (mm/mremap.h, docs/mremap.md).
 *
 *   stale_old_address  readers on every other CPU keep a hot translation of
 *                      the old address (4 KiB pages and a 2 MiB huge page,
 *                      round after round); once mremap returned, a read there
 *                      that does not resolve faults must fail. The negative
 *                      control "mremap_debug_skip_flush" must make it fail.
 *   counts             a move keeps every page: the same frames at the new
 *                      address, map count 1 each, rss and the huge page's
 *                      entire map count unchanged, the old range empty; a
 *                      DONTUNMAP leaves its old range mapped and empty; after
 *                      the address space goes, free pages are back to the
 *                      baseline (no page, no table lost or freed twice).
 */
#include "kernel/ktest.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "mm/mm.h"
#include "mm/mremap.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "mm/rmap.h"
#include "tests/kernel/mm/test_user.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

#define BASE 0x0000200000000000UL       /* its own top-level slot */
#define DEST (BASE + (64UL << 20))
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define MADV_HUGEPAGE 14
#define MADV_NOHUGEPAGE 15
#define ROUNDS 8

static u32 online_count(void) { return num_online_cpus(); }
static u32 first_cpu(void) { return cpumask_first(&cpu_online_mask); }
static void bump(u32 *v) { __atomic_add_fetch(v, 1, __ATOMIC_SEQ_CST); }

/* --- stale_old_address --- */

struct stale_ctx {
	struct mm_struct *mm;
	u32 leader, readers;
	u32 phase, ready;
	u32 stale, errors;
};

/* Round r: odd rounds a 2 MiB huge page, even ones 4 KiB pages; the
 * source alternates between two slots so no round finds the last one's. */
static bool huge_round(u32 r) { return (r & 1) && thp_mode != THP_NEVER; }
static u64 src_of(u32 r) { return BASE + (r & 2 ? HPAGE_SIZE * 4 : 0); }
static u64 value_of(u32 r) { return 0x5000 + r; }

static long map_round(struct mm_struct *mm, u32 r)
{
	u64 len = huge_round(r) ? HPAGE_SIZE : P(4);
	long a = do_mmap(mm, src_of(r), len, RW, ANON | MAP_FIXED, -1, 0);
	if (a >= 0)
		do_madvise(mm, src_of(r), len, huge_round(r) ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (a < 0 || test_put_u64(mm, src_of(r), value_of(r)))
		return -ENOMEM;
	return 0;
}

static void stale_leader(struct stale_ctx *c)
{
	for (u32 r = 0; r < ROUNDS; r++) {
		u64 len = huge_round(r) ? HPAGE_SIZE : P(4);
		if (map_round(c->mm, r))
			c->errors++;
		__atomic_store_n(&c->phase, 2 * r + 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->ready, (2 * r + 1) * c->readers);
		/* Every reader holds a translation of the old address now. */
		if (do_mremap(c->mm, src_of(r), len, len, MREMAP_MAYMOVE | MREMAP_FIXED, DEST) !=
		    (long)DEST)
			c->errors++;
		__atomic_store_n(&c->phase, 2 * r + 2, __ATOMIC_SEQ_CST);
		test_wait_until(&c->ready, (2 * r + 2) * c->readers);
		do_munmap_range(c->mm, DEST, len);
	}
}

static void stale_reader(struct stale_ctx *c)
{
	u64 v;
	for (u32 r = 0; r < ROUNDS; r++) {
		test_wait_until(&c->phase, 2 * r + 1);
		u32 tries = 0;
		while (test_read_nofault(src_of(r), &v) || v != value_of(r)) {
			test_get_u64(c->mm, src_of(r), &v);
			if (++tries > 1000) {
				bump(&c->errors);
				break;
			}
		}
		bump(&c->ready);
		test_wait_until(&c->phase, 2 * r + 2);
		/* mremap returned: the old address must fault everywhere. */
		if (test_read_nofault(src_of(r), &v) == 0)
			bump(&c->stale);
		bump(&c->ready);
	}
}

static void stale_worker(void *arg)
{
	struct stale_ctx *c = arg;
	kthread_use_mm(c->mm);
	if (smp_processor_id() == c->leader)
		stale_leader(c);
	else
		stale_reader(c);
	kthread_unuse_mm(c->mm);
}

static void test_stale_old_address(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct stale_ctx c = { .mm = mm_create(), .leader = first_cpu(),
			       .readers = online_count() - 1 };
	KTEST_ASSERT_TRUE(t, c.mm);
	ktest_on_cpus(&cpu_online_mask, stale_worker, &c);
	ktest_log(t, "%u moves (4 KiB and 2 MiB) with %u readers: %u stale reads of the old address",
		  ROUNDS, c.readers, c.stale);
	KTEST_EXPECT_EQ(t, c.errors, 0);
	KTEST_EXPECT_EQ(t, c.stale, 0);
	mm_put(c.mm);
}

/* --- counts --- */

static struct page *page_at(struct mm_struct *mm, u64 addr)
{
	u64 e = pgtable_leaf(mm, addr);
	return pte_present(e) && !pte_special(e) ? pte_page(e) : NULL;
}

/* 8 small pages at BASE and a THP at BASE + 2 MiB, each page's first word
 * its address. */
static void fill(struct ktest *t, struct mm_struct *mm)
{
	KTEST_ASSERT_TRUE(t, do_mmap(mm, BASE, P(8), RW, ANON | MAP_FIXED, -1, 0) == (long)BASE);
	do_madvise(mm, BASE, P(8), MADV_NOHUGEPAGE);
	KTEST_ASSERT_TRUE(t, do_mmap(mm, BASE + HPAGE_SIZE, HPAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0) ==
			  (long)(BASE + HPAGE_SIZE));
	do_madvise(mm, BASE + HPAGE_SIZE, HPAGE_SIZE, MADV_HUGEPAGE);
	kthread_use_mm(mm);
	for (u64 a = BASE; a < BASE + P(8); a += PAGE_SIZE)
		test_put_u64(mm, a, a);
	for (u64 a = BASE + HPAGE_SIZE; a < BASE + 2 * HPAGE_SIZE; a += PAGE_SIZE)
		test_put_u64(mm, a, a);
	kthread_unuse_mm(mm);
}

/* n pages moved from `from` to `to`: the frames in before[], each page's
 * first word orig + its offset, nothing left at from. */
static void check_moved(struct ktest *t, struct mm_struct *mm, u64 from, u64 to, u64 n,
			struct page **before, u64 orig)
{
	u32 bad_frame = 0, bad_count = 0, bad_value = 0, old_left = 0;
	kthread_use_mm(mm);
	for (u64 i = 0; i < n; i++) {
		struct page *p = page_at(mm, to + P(i));
		u64 v = 0;
		bad_frame += p != before[i];
		bad_count += p && compound_head(p) == p && p->order == 0 && page_mapcount(p) != 1;
		bad_value += test_get_u64(mm, to + P(i), &v) || v != orig + P(i);
		old_left += pgtable_leaf(mm, from + P(i)) != 0;
	}
	kthread_unuse_mm(mm);
	KTEST_EXPECT_EQ(t, bad_frame, 0);
	KTEST_EXPECT_EQ(t, bad_count, 0);
	KTEST_EXPECT_EQ(t, bad_value, 0);
	KTEST_EXPECT_EQ(t, old_left, 0);
}

static void test_counts(struct ktest *t)
{
	static struct page *before[HPAGE_NR];
	zero_page_init();
	u64 free0 = test_settled_free_and_slab_pages();
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	fill(t, mm);
	u64 rss = mm->rss_pages;
	for (u32 i = 0; i < 8; i++)
		before[i] = page_at(mm, BASE + P(i));
	/* 8 small pages to a misaligned address, FIXED. */
	KTEST_EXPECT_EQ(t, do_mremap(mm, BASE, P(8), P(8), MREMAP_MAYMOVE | MREMAP_FIXED,
				     DEST + P(3)), (long)(DEST + P(3)));
	check_moved(t, mm, BASE, DEST + P(3), 8, before, BASE);
	/* The huge page to an aligned address: still one huge PMD. */
	u64 hsrc = BASE + HPAGE_SIZE, hdst = DEST + 2 * HPAGE_SIZE;
	for (u32 i = 0; i < HPAGE_NR; i++)
		before[i] = page_at(mm, hsrc + P(i));
	struct page *head = before[0] ? compound_head(before[0]) : NULL;
	s32 entire = head ? thp_entire_mapcount(head) : -1;
	KTEST_EXPECT_EQ(t, do_mremap(mm, hsrc, HPAGE_SIZE, HPAGE_SIZE,
				     MREMAP_MAYMOVE | MREMAP_FIXED, hdst), (long)hdst);
	check_moved(t, mm, hsrc, hdst, HPAGE_NR, before, hsrc);
	if (head && thp_mode != THP_NEVER) {
		KTEST_EXPECT_EQ(t, entire, 1);
		KTEST_EXPECT_EQ(t, thp_entire_mapcount(head), 1);
		KTEST_EXPECT_EQ(t, thp_mapped_address(head), hdst);
	}
	/* DONTUNMAP: the old range stays, empty. */
	for (u32 i = 0; i < 8; i++)
		before[i] = page_at(mm, DEST + P(3 + i));
	KTEST_EXPECT_EQ(t, do_mremap(mm, DEST + P(3), P(8), P(8),
				     MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, BASE),
			(long)BASE);
	check_moved(t, mm, DEST + P(3), BASE, 8, before, BASE);
	KTEST_EXPECT_EQ(t, mm->rss_pages, rss);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, test_settled_free_and_slab_pages(), free0);
}

static const struct ktest_case mremap_cases[] = {
	{ "stale_old_address", test_stale_old_address },
	{ "counts", test_counts },
};

KTEST_SUITE(mremap, mremap_cases);
