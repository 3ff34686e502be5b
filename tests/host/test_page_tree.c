/* SPDX-License-Identifier: MIT */
// SOURCES: mm/page_tree.c mm/buddy.c mm/pcp.c mm/fault_inject.c
/* tests/host/test_page_tree.c - the radix tree of page pointers behind
 * shared anonymous memory and memfds (mm/page_tree.h), on the host over a
 * fake 16 MiB of RAM whose pages are its nodes: random stores and erases
 * against a model (loads, next, the node count, every node freed when the
 * last page goes), the -EAGAIN protocol, and a 2 GiB object. The pages it
 * indexes are never touched, so any descriptor will do as one. */
#include "mm/page_tree.h"
#include "mm/buddy.h"
#include "mm/fault_inject.h"
#include "kernel/printk.h"
#include "kernel/errno.h"
#include "tests/host/htest.h"
#include "tests/host/host_spinlock.h"
#include "tests/host/host_panic.h"
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

#define NPAGES 16384u

u8 *host_ram;
u32 host_cpu;
static struct page *map;

int printk(const char *fmt, ...) { (void)fmt; return 0; }

static u64 free_at_start;

static void setup(void)
{
	if (!host_ram) {
		host_ram = aligned_alloc(PAGE_SIZE, (size_t)NPAGES * PAGE_SIZE);
		map = calloc(NPAGES, sizeof(struct page));
		vmemmap = map;
		buddy_init(NPAGES);
		buddy_add_range(1, NPAGES);
	}
	host_cpu = 0;
	fail_page_alloc_set(0, 0);
	pcp_drain_all();
	free_at_start = nr_free_pages();
}

static bool all_nodes_freed(const struct page_tree *t)
{
	pcp_drain_all();
	return t->nodes == 0 && nr_free_pages() == free_at_start;
}

/* A stand-in for the page stored at idx. */
static struct page *fake(u64 idx) { return &map[idx % NPAGES]; }

/* Store as shared_anon does: a spare node allocated between tries. */
static int store(struct page_tree *t, u64 idx, struct page *p)
{
	struct page *spare = NULL;
	int err;
	while ((err = page_tree_store(t, idx, p, &spare)) == -EAGAIN) {
		spare = alloc_page(__GFP_ZERO);
		if (!spare)
			return -ENOMEM;
	}
	if (spare)
		free_page(spare);
	return err;
}

HTEST(empty_tree)
{
	setup();
	struct page_tree t;
	page_tree_init(&t);
	u64 i = 0;
	HT_EXPECT(page_tree_load(&t, 0) == NULL);
	HT_EXPECT(page_tree_load(&t, PAGE_TREE_MAX_INDEX) == NULL);
	HT_EXPECT(page_tree_next(&t, &i, ~0UL) == NULL);
	HT_EXPECT(page_tree_erase(&t, 5) == NULL);
	page_tree_destroy(&t, NULL);
	HT_EXPECT(all_nodes_freed(&t));
}

/* Without a spare nothing is stored; each call takes at most one node, and
 * the nodes linked before an -EAGAIN stay for the next call. */
HTEST(eagain_protocol)
{
	setup();
	struct page_tree t;
	page_tree_init(&t);
	u64 idx = (3UL << 27) | (7UL << 18) | (9UL << 9) | 11;  /* height 4 */
	struct page *spare = NULL;
	HT_EXPECT_EQ(page_tree_store(&t, idx, fake(1), &spare), -EAGAIN);
	u32 calls = 0;
	int err;
	do {
		spare = alloc_page(__GFP_ZERO);
		err = page_tree_store(&t, idx, fake(1), &spare);
		calls++;
		HT_EXPECT(spare == NULL);       /* taken every time */
		HT_EXPECT(err != -EAGAIN || page_tree_load(&t, idx) == NULL);
	} while (err == -EAGAIN);
	HT_EXPECT_EQ(err, 0);
	HT_EXPECT_EQ(calls, 4);                 /* root, then one node per level */
	HT_EXPECT_EQ(t.height, 4);
	HT_EXPECT_EQ(t.nodes, 4);
	HT_EXPECT(page_tree_load(&t, idx) == fake(1));
	HT_EXPECT(page_tree_load(&t, idx + 1) == NULL);
	HT_EXPECT(page_tree_erase(&t, idx) == fake(1));
	HT_EXPECT(all_nodes_freed(&t));
}

/* Growing keeps what the lower tree held: index 0, then ever higher. */
HTEST(grows_under_slot_zero)
{
	setup();
	struct page_tree t;
	page_tree_init(&t);
	HT_EXPECT_EQ(store(&t, 0, fake(0)), 0);
	HT_EXPECT_EQ(t.height, 1);
	for (u32 h = 2; h <= PAGE_TREE_MAX_HEIGHT; h++) {
		u64 idx = 1UL << (PAGE_TREE_SHIFT * (h - 1));
		HT_EXPECT_EQ(store(&t, idx, fake(h)), 0);
		HT_EXPECT_EQ(t.height, h);
		HT_EXPECT(page_tree_load(&t, 0) == fake(0));
		HT_EXPECT(page_tree_load(&t, idx) == fake(h));
	}
	HT_EXPECT_EQ(store(&t, PAGE_TREE_MAX_INDEX, fake(99)), 0);
	HT_EXPECT(page_tree_load(&t, PAGE_TREE_MAX_INDEX) == fake(99));
	page_tree_destroy(&t, NULL);
	HT_EXPECT(all_nodes_freed(&t));
}

/* --- random operations against a model --- */

#define MODEL 2048
static u64 m_idx[MODEL];
static struct page *m_page[MODEL];
static u32 m_n;

static u64 rnd(void) { return ((u64)rand() << 31) ^ (u64)rand(); }

/* Indices in clusters (dense runs share leaves) and far apart. */
static u64 pick_index(void)
{
	switch (rand() % 4) {
	case 0: return rnd() % 2048;
	case 1: return (1UL << 30) + rnd() % 4096;
	case 2: return rnd() & PAGE_TREE_MAX_INDEX;
	default: return m_n ? m_idx[rand() % m_n] : 0;
	}
}

static s64 model_find(u64 idx)
{
	for (u32 i = 0; i < m_n; i++)
		if (m_idx[i] == idx)
			return i;
	return -1;
}

/* The model's first index in [from, end), or ~0. */
static u64 model_next(u64 from, u64 end)
{
	u64 best = ~0UL;
	for (u32 i = 0; i < m_n; i++)
		if (m_idx[i] >= from && m_idx[i] < end && m_idx[i] < best)
			best = m_idx[i];
	return best;
}

static void random_step(struct page_tree *t)
{
	u64 idx = pick_index();
	s64 at = model_find(idx);
	if (rand() % 2 && (at >= 0 || m_n < MODEL)) {
		struct page *p = fake(rnd());
		HT_EXPECT_EQ(store(t, idx, p), 0);
		if (at < 0)
			at = m_n++;
		m_idx[at] = idx;
		m_page[at] = p;
	} else {
		struct page *p = page_tree_erase(t, idx);
		HT_EXPECT(p == (at >= 0 ? m_page[at] : NULL));
		if (at >= 0) {
			m_idx[at] = m_idx[--m_n];
			m_page[at] = m_page[m_n];
		}
	}
	u64 probe = pick_index(), from = probe, end = probe + rnd() % (1UL << 40);
	u64 want = model_next(probe, end);
	struct page *p = page_tree_next(t, &from, end);
	HT_EXPECT(want == ~0UL ? p == NULL : (p != NULL && from == want));
	s64 k = model_find(probe);
	HT_EXPECT(page_tree_load(t, probe) == (k >= 0 ? m_page[k] : NULL));
}

static u32 released;
static void count_release(struct page *p) { (void)p; released++; }

HTEST(random_against_model)
{
	setup();
	srand(7);
	struct page_tree t;
	page_tree_init(&t);
	m_n = 0;
	for (u32 step = 0; step < 20000; step++)
		random_step(&t);
	for (u32 i = 0; i < m_n; i++)
		HT_EXPECT(page_tree_load(&t, m_idx[i]) == m_page[i]);
	/* Empty it in random order: every node goes with its last page. */
	while (m_n) {
		u32 i = (u32)rand() % m_n;
		HT_EXPECT(page_tree_erase(&t, m_idx[i]) == m_page[i]);
		m_idx[i] = m_idx[--m_n];
		m_page[i] = m_page[m_n];
	}
	HT_EXPECT(t.root == NULL);
	HT_EXPECT(all_nodes_freed(&t));
	/* And destroy releases what is left. */
	for (u32 i = 0; i < 1000; i++)
		HT_EXPECT_EQ(store(&t, rnd() & PAGE_TREE_MAX_INDEX, fake(i)), 0);
	released = 0;
	page_tree_destroy(&t, count_release);
	HT_EXPECT(released >= 995);     /* a repeated index is stored once */
	HT_EXPECT(all_nodes_freed(&t));
}

/* mremap_test's 2 GiB shared object, every page present: 1024 leaves, 2
 * nodes above them and a root - 4 MiB of single pages, 1/512 of the data. */
HTEST(two_gib_object)
{
	setup();
	struct page_tree t;
	page_tree_init(&t);
	u64 n = (2UL << 30) / PAGE_SIZE;
	for (u64 i = 0; i < n; i++)
		HT_EXPECT_EQ(store(&t, i, fake(i)), 0);
	HT_EXPECT_EQ(t.height, 3);
	HT_EXPECT_EQ(t.nodes, 1024 + 2 + 1);
	u32 bad = 0;
	for (u64 i = 0; i < n; i++)
		bad += page_tree_load(&t, i) != fake(i);
	HT_EXPECT_EQ(bad, 0);
	u64 from = n - 1;
	HT_EXPECT(page_tree_next(&t, &from, ~0UL) == fake(n - 1) && from == n - 1);
	released = 0;
	page_tree_destroy(&t, count_release);
	HT_EXPECT_EQ(released, n);
	HT_EXPECT(all_nodes_freed(&t));
}

/* A sparse object: 4 pages 1 GiB apart cost their own paths only. */
HTEST(sparse_costs_little)
{
	setup();
	struct page_tree t;
	page_tree_init(&t);
	for (u64 i = 0; i < 4; i++)
		HT_EXPECT_EQ(store(&t, i << 18, fake(i)), 0);
	HT_EXPECT_EQ(t.height, 3);
	HT_EXPECT_EQ(t.nodes, 1 + 4 + 4);       /* root, a node and a leaf per page */
	u64 idx = 1, seen = 0;
	while (page_tree_next(&t, &idx, 1UL << 20)) {
		HT_EXPECT_EQ(idx, (seen + 1) << 18);
		seen++;
		idx++;
	}
	HT_EXPECT_EQ(seen, 3);
	page_tree_destroy(&t, NULL);
	HT_EXPECT(all_nodes_freed(&t));
}

int main(void)
{
	return htest_main("page_tree", (struct htest[]){
		HT_CASE(empty_tree),
		HT_CASE(eagain_protocol),
		HT_CASE(grows_under_slot_zero),
		HT_CASE(random_against_model),
		HT_CASE(two_gib_object),
		HT_CASE(sparse_costs_little),
		{ 0 } });
}
