/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_buddy.c - in-kernel tests of the page allocator ("test=buddy").
 *
 * They run on the real memory map (holes, RAM above 4 GiB) and check
 * invariants the rest of the kernel counts on: every order works and is
 * aligned; memory can be exhausted and all of it comes back, coalesced into
 * the very blocks it started as; all CPUs at once never get the same page;
 * fault injection makes allocations fail. */
#include "kernel/ktest.h"
#include "kernel/printk.h"
#include "mm/buddy.h"
#include "mm/fault_inject.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"

/* Snapshot of the buddy lists with every per-CPU cache drained. */
struct snapshot {
	u64 free;
	u64 blocks[NR_ORDERS];
};

/* as_freed: the lists as the frees left them. Otherwise any block left
 * unmerged (the no-merge control) is merged first, so that a case that is
 * not about merging compares what is free, not how it was freed. */
static void snapshot_lists(struct snapshot *s, bool as_freed)
{
	struct mm_counters c;
	pcp_drain_all();
	if (!as_freed)
		buddy_rebuild_free_lists();
	mm_counters_read(&c);
	s->free = c.free_pages;
	for (unsigned o = 0; o < NR_ORDERS; o++)
		s->blocks[o] = c.free_blocks[o];
}

static void take_snapshot(struct snapshot *s)
{
	snapshot_lists(s, false);
}

static bool same_snapshot(struct ktest *t, const struct snapshot *a, const struct snapshot *b)
{
	bool same = KTEST_EXPECT_EQ(t, a->free, b->free);
	for (unsigned o = 0; o < NR_ORDERS; o++)
		same = KTEST_EXPECT_EQ(t, a->blocks[o], b->blocks[o]) && same;
	return same;
}

static void test_every_order(struct ktest *t)
{
	struct snapshot before, after;
	take_snapshot(&before);
	for (unsigned o = 0; o <= MAX_ORDER; o++) {
		struct page *p = alloc_pages(GFP_KERNEL, o);
		KTEST_ASSERT_TRUE(t, p != NULL);
		KTEST_EXPECT_EQ(t, page_to_pfn(p) & ((1UL << o) - 1), 0);
		KTEST_EXPECT_EQ(t, page_refcount(p), 1);
		KTEST_EXPECT_EQ(t, p->flags & (PG_reserved | PG_buddy | PG_pcp), 0);
		/* The whole block is reachable through the direct map. */
		u64 *w = page_address(p);
		u64 words = (PAGE_SIZE << o) / 8;
		w[0] = 0x1111;
		w[words - 1] = 0x2222;
		KTEST_EXPECT_EQ(t, w[0] + w[words - 1], 0x3333);
		free_pages(p, o);
		if (page_poisoning)
			KTEST_EXPECT_EQ(t, w[words - 1], 0xaaaaaaaaaaaaaaaaUL);
	}
	KTEST_EXPECT_TRUE(t, alloc_pages(GFP_KERNEL, MAX_ORDER + 1) == NULL);
	snapshot_lists(&after, true);
	same_snapshot(t, &before, &after);

	/* A block given back as its two halves (each made a block of its
	 * own, as a split would) comes back whole right after the frees. */
	take_snapshot(&before);
	struct page *p = alloc_pages(GFP_KERNEL, MAX_ORDER);
	KTEST_ASSERT_TRUE(t, p != NULL);
	struct page *upper = p + (1UL << (MAX_ORDER - 1));
	p->order = MAX_ORDER - 1;
	upper->order = MAX_ORDER - 1;
	upper->refcount = 1;
	free_pages(upper, MAX_ORDER - 1);
	free_pages(p, MAX_ORDER - 1);
	snapshot_lists(&after, true);
	if (!same_snapshot(t, &before, &after))
		ktest_log(t, "the two halves of an order-%u block did not merge on free", MAX_ORDER);
}

static void test_zeroing(struct ktest *t)
{
	struct page *p = alloc_pages(GFP_KERNEL, 3);
	KTEST_ASSERT_TRUE(t, p != NULL);
	page_fill(page_address(p), 0x5c, 8 * PAGE_SIZE);
	free_pages(p, 3);
	p = alloc_pages(__GFP_ZERO, 3);
	KTEST_ASSERT_TRUE(t, p != NULL);
	const u64 *w = page_address(p);
	u64 any = 0;
	for (u64 i = 0; i < 8 * PAGE_SIZE / 8; i++)
		any |= w[i];
	KTEST_EXPECT_EQ(t, any, 0);
	free_pages(p, 3);
}

/* Allocate everything, largest blocks first (an order-0 walk over 4 GiB would
 * take long under emulation), then give it all back. Allocated blocks are
 * chained through their descriptors' lru field, which the owner may use. */
static void test_exhaust_and_return(struct ktest *t)
{
	struct snapshot before, after;
	take_snapshot(&before);
	struct list_head held;
	list_init(&held);
	u64 pages = 0;
	for (int o = MAX_ORDER; o >= 0; o--) {
		struct page *p;
		while ((p = alloc_pages(GFP_KERNEL, (unsigned)o)) != NULL) {
			p->owner = (u16)o;
			list_add(&p->lru, &held);
			pages += 1UL << o;
		}
	}
	KTEST_EXPECT_EQ(t, pages, before.free);
	KTEST_EXPECT_EQ(t, nr_free_pages(), 0);
	KTEST_EXPECT_TRUE(t, alloc_page(GFP_KERNEL) == NULL);
	while (!list_empty(&held)) {
		struct page *p = list_first_entry(&held, struct page, lru);
		list_del(&p->lru);
		free_pages(p, p->owner);
	}
	take_snapshot(&after);
	ktest_log(t, "%lu pages taken and given back", pages);
	same_snapshot(t, &before, &after);
}

/* --- all CPUs at once --- */

#define CONC_ITER 3000
#define CONC_LIVE 48
static u8 *owner_map;                   /* owner_map[pfn]: CPU+1 holding it */
static u64 conc_errors;

static u64 xorshift(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void claim(struct page *p, unsigned order, u8 me)
{
	u64 pfn = page_to_pfn(p);
	for (u64 i = 0; i < (1UL << order); i++) {
		u8 expected = 0;
		if (!__atomic_compare_exchange_n(&owner_map[pfn + i], &expected, me, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			printk(KERN_ERR "buddy test: pfn 0x%lx handed to CPU %u while CPU %u holds it\n",
			       pfn + i, me - 1, expected - 1);
			__atomic_add_fetch(&conc_errors, 1, __ATOMIC_SEQ_CST);
		}
	}
	u64 *w = page_address(p);
	w[0] = ((u64)me << 56) | pfn;
}

static void release(struct page *p, unsigned order, u8 me)
{
	u64 pfn = page_to_pfn(p);
	u64 *w = page_address(p);
	if (w[0] != (((u64)me << 56) | pfn))
		__atomic_add_fetch(&conc_errors, 1, __ATOMIC_SEQ_CST);
	for (u64 i = 0; i < (1UL << order); i++)
		__atomic_store_n(&owner_map[pfn + i], 0, __ATOMIC_SEQ_CST);
	free_pages(p, order);
}

static void conc_worker(void *arg)
{
	(void)arg;
	u8 me = (u8)(smp_processor_id() + 1);
	u64 seed = 0x9E3779B97F4A7C15UL * me;
	struct page *live[CONC_LIVE];
	unsigned orders[CONC_LIVE];
	for (unsigned i = 0; i < CONC_LIVE; i++)
		live[i] = NULL;
	for (unsigned it = 0; it < CONC_ITER; it++) {
		unsigned slot = (unsigned)(xorshift(&seed) % CONC_LIVE);
		if (live[slot]) {
			release(live[slot], orders[slot], me);
			live[slot] = NULL;
		} else {
			u64 r = xorshift(&seed) % 16;
			unsigned order = r < 12 ? 0 : (unsigned)(r - 11);   /* mostly 0, up to 4 */
			struct page *p = alloc_pages(GFP_KERNEL, order);
			if (!p)
				continue;
			claim(p, order, me);
			live[slot] = p;
			orders[slot] = order;
		}
	}
	for (unsigned i = 0; i < CONC_LIVE; i++)
		if (live[i])
			release(live[i], orders[i], me);
}

static void test_concurrent_no_page_twice(struct ktest *t)
{
	unsigned map_order = 0;
	while ((PAGE_SIZE << map_order) < max_pfn)
		map_order++;
	KTEST_ASSERT_TRUE(t, map_order <= MAX_ORDER);
	struct page *mp = alloc_pages(__GFP_ZERO, map_order);
	KTEST_ASSERT_TRUE(t, mp != NULL);
	owner_map = page_address(mp);
	conc_errors = 0;
	u64 before = nr_free_pages();
	ktest_on_cpus(&cpu_online_mask, conc_worker, NULL);
	ktest_log(t, "%u CPUs, %u operations each", num_online_cpus(), CONC_ITER);
	KTEST_EXPECT_EQ(t, conc_errors, 0);
	KTEST_EXPECT_EQ(t, nr_free_pages(), before);
	free_pages(mp, map_order);
}

static void test_fault_injection(struct ktest *t)
{
	u64 injected = fail_page_alloc_injected();
	fail_page_alloc_set(2, 0);
	struct page *a = alloc_page(0), *b = alloc_page(0), *c = alloc_pages(0, 9);
	fail_page_alloc_set(0, 0);
	KTEST_EXPECT_TRUE(t, a != NULL);
	KTEST_EXPECT_TRUE(t, b == NULL);
	KTEST_EXPECT_TRUE(t, c != NULL);
	if (a)
		free_page(a);
	if (c)
		free_pages(c, 9);

	fail_page_alloc_set(0, 3);
	unsigned failed = 0;
	struct page *p[9];
	for (int i = 0; i < 9; i++) {
		p[i] = alloc_pages(0, (unsigned)i % 4);
		failed += p[i] == NULL;
		KTEST_EXPECT_EQ(t, p[i] == NULL, i % 3 == 2);
	}
	fail_page_alloc_set(0, 0);
	for (int i = 0; i < 9; i++)
		if (p[i])
			free_pages(p[i], (unsigned)i % 4);
	KTEST_EXPECT_EQ(t, failed, 3);
	KTEST_EXPECT_EQ(t, fail_page_alloc_injected() - injected, 4);
}

static void test_counters_add_up(struct ktest *t)
{
	struct mm_counters c;
	pcp_drain_all();
	mm_counters_read(&c);
	u64 sum = 0;
	for (unsigned o = 0; o < NR_ORDERS; o++)
		sum += c.free_blocks[o] << o;
	KTEST_EXPECT_EQ(t, sum + c.pcp_pages, c.free_pages);
	KTEST_EXPECT_LE(t, c.free_pages, c.managed_pages);
	KTEST_EXPECT_GT(t, c.stat[NR_PAGETABLE], 0);
	/* Order-0 traffic stays in the per-CPU cache. */
	struct page *p = alloc_page(0);
	KTEST_ASSERT_TRUE(t, p != NULL);
	free_page(p);
	mm_counters_read(&c);
	KTEST_EXPECT_GT(t, c.pcp_pages, 0);
}

static const struct ktest_case buddy_cases[] = {
	{ "every_order", test_every_order },
	{ "zeroing", test_zeroing },
	{ "exhaust_and_return", test_exhaust_and_return },
	{ "concurrent_no_page_twice", test_concurrent_no_page_twice },
	{ "fault_injection", test_fault_injection },
	{ "counters_add_up", test_counters_add_up },
};
KTEST_SUITE(buddy, buddy_cases);
