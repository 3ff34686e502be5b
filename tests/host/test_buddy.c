/* SPDX-License-Identifier: MIT */
// SOURCES: mm/buddy.c mm/pcp.c mm/fault_inject.c
/* tests/host/test_buddy.c - the buddy allocator, its per-CPU caches and fault
 * injection, run on the host against a reference model.
 *
 * "Physical memory" is a 32 MiB array with holes; the descriptors are a
 * plain array. The model records which frames each live allocation owns, so
 * every allocation can be checked (inside RAM, aligned, not overlapping any
 * other) and every failure too (no free aligned run of that size exists).
 * At the end everything must have coalesced back to the very blocks the
 * allocator started with. */
#include "mm/buddy.h"
#include "mm/fault_inject.h"
#include "kernel/printk.h"
#include "tests/host/htest.h"
#include "tests/host/host_spinlock.h"
#include "tests/host/host_panic.h"
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>

#define NPAGES 8192u                    /* 32 MiB */

u8 *host_ram;
u32 host_cpu;
static struct page *map;

/* --- what the kernel sources expect from their environment --- */

static int quiet = 1;
int printk(const char *fmt, ...)
{
	if (quiet)
		return 0;
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}


/* Run stmt and report whether it panicked; message in panic_msg. */
#define PANICS(stmt) ({                                              \
		int ht_p = 0;                                        \
		panic_msg[0] = 0;                                    \
		panic_expected = 1;                                  \
		if (setjmp(panic_jmp) == 0) { stmt; } else ht_p = 1; \
		panic_expected = 0;                                  \
		ht_p; })

/* RAM layout: frames [1, 1000), [1024, 5000), [6000, 8192); the rest are holes. */
static const u64 ranges[][2] = { { 1, 1000 }, { 1024, 5000 }, { 6000, NPAGES } };
static u64 total_ram;
static u64 initial_blocks[NR_ORDERS];

static bool in_ram(u64 pfn)
{
	for (unsigned i = 0; i < ARRAY_SIZE(ranges); i++)
		if (pfn >= ranges[i][0] && pfn < ranges[i][1])
			return true;
	return false;
}

static void setup(void)
{
	if (!host_ram) {
		host_ram = aligned_alloc(PAGE_SIZE, (size_t)NPAGES * PAGE_SIZE);
		map = calloc(NPAGES, sizeof(struct page));
	}
	memset(host_ram, 0x5a, (size_t)NPAGES * PAGE_SIZE);
	host_cpu = 0;
	pcp_bypass = false;
	page_poisoning = true;
	fail_page_alloc_set(0, 0);
	vmemmap = map;
	buddy_init(NPAGES);
	total_ram = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(ranges); i++) {
		buddy_add_range(ranges[i][0], ranges[i][1]);
		total_ram += ranges[i][1] - ranges[i][0];
	}
	for (unsigned o = 0; o < NR_ORDERS; o++)
		initial_blocks[o] = zone.free_area[o].nr_free;
}

/* Every page free again, with the lists as right after boot. as_freed:
 * as the frees left them (merging on free); otherwise blocks left unmerged
 * (the no-merge control) are merged first, for a case not about merging. */
static bool lists_back_to_initial(bool as_freed)
{
	pcp_drain_all();
	if (!as_freed)
		buddy_rebuild_free_lists();
	bool same = zone.nr_free == total_ram && pcp_count_all() == 0;
	for (unsigned o = 0; o < NR_ORDERS; o++)
		same = same && zone.free_area[o].nr_free == initial_blocks[o];
	return same;
}

static bool back_to_initial(void)
{
	return lists_back_to_initial(false);
}

HTEST(init_takes_exactly_the_ram)
{
	setup();
	HT_EXPECT_EQ(nr_free_pages(), total_ram);
	HT_EXPECT_EQ(zone.managed, total_ram);
	/* [1024, 5000) holds order-10 blocks at 1024, 2048, 3072 (not 4096:
	 * it would end at 5120). */
	HT_EXPECT(initial_blocks[MAX_ORDER] >= 3);
	for (u64 pfn = 0; pfn < NPAGES; pfn++)
		if (!in_ram(pfn))
			HT_EXPECT(map[pfn].flags & PG_reserved);
	u64 sum = 0;
	for (unsigned o = 0; o < NR_ORDERS; o++)
		sum += initial_blocks[o] << o;
	HT_EXPECT_EQ(sum, total_ram);
}

HTEST(every_order_aligned_and_coalesces)
{
	setup();
	for (unsigned o = 0; o <= MAX_ORDER; o++) {
		struct page *p = alloc_pages(GFP_KERNEL, o);
		HT_EXPECT(p != NULL);
		if (!p)
			continue;
		u64 pfn = page_to_pfn(p);
		HT_EXPECT_EQ(pfn & ((1UL << o) - 1), 0);
		for (u64 i = 0; i < (1UL << o); i++)
			HT_EXPECT(in_ram(pfn + i));
		HT_EXPECT_EQ(p->refcount, 1);
		HT_EXPECT_EQ(nr_free_pages(), total_ram - (1UL << o));
		free_pages(p, o);
		HT_EXPECT(lists_back_to_initial(true));
	}
	HT_EXPECT(alloc_pages(GFP_KERNEL, MAX_ORDER + 1) == NULL);
}

/* --- the reference model --- */
struct live { u64 pfn; unsigned order; u64 tag; };
static u32 owner_of[NPAGES];    /* 0 free, else index+1 of the live allocation */

static bool model_has_free_run(unsigned order)
{
	u64 n = 1UL << order;
	for (u64 pfn = 0; pfn + n <= NPAGES; pfn += n) {
		bool ok = true;
		for (u64 i = 0; i < n && ok; i++)
			ok = in_ram(pfn + i) && owner_of[pfn + i] == 0;
		if (ok)
			return true;
	}
	return false;
}

/* as_freed: the lists must be back to initial right after the last free
 * (merging on free), not only once unmerged blocks are merged. */
static void random_run(unsigned seed, unsigned steps, bool switch_cpus, bool as_freed)
{
	setup();
	srand(seed);
	static struct live live[NPAGES];
	unsigned nlive = 0;
	u64 used = 0;
	memset(owner_of, 0, sizeof(owner_of));
	for (unsigned step = 0; step < steps; step++) {
		if (switch_cpus)
			host_cpu = (u32)rand() % 4;
		bool do_alloc = nlive == 0 || rand() % 100 < 55;
		if (do_alloc) {
			/* Mostly small orders, sometimes large ones. */
			unsigned order = rand() % 4 == 0 ? (unsigned)rand() % NR_ORDERS : (unsigned)rand() % 3;
			struct page *p = alloc_pages((rand() & 1) ? __GFP_ZERO : 0, order);
			if (!p) {
				HT_EXPECT(!model_has_free_run(order));
				continue;
			}
			u64 pfn = page_to_pfn(p), n = 1UL << order;
			HT_EXPECT_EQ(pfn & (n - 1), 0);
			for (u64 i = 0; i < n; i++) {
				HT_EXPECT(in_ram(pfn + i));
				HT_EXPECT_EQ(owner_of[pfn + i], 0);
				owner_of[pfn + i] = nlive + 1;
			}
			u64 tag = ((u64)seed << 32) | step;
			*(u64 *)page_address(p) = tag;
			live[nlive++] = (struct live){ pfn, order, tag };
			used += n;
		} else {
			unsigned k = (unsigned)rand() % nlive;
			struct live l = live[k];
			struct page *p = pfn_to_page(l.pfn);
			HT_EXPECT_EQ(*(u64 *)page_address(p), l.tag);
			for (u64 i = 0; i < (1UL << l.order); i++)
				owner_of[l.pfn + i] = 0;
			free_pages(p, l.order);
			used -= 1UL << l.order;
			live[k] = live[--nlive];
			/* Renumber the moved allocation in the model. */
			if (k < nlive)
				for (u64 i = 0; i < (1UL << live[k].order); i++)
					owner_of[live[k].pfn + i] = k + 1;
		}
		HT_EXPECT_EQ(nr_free_pages(), total_ram - used);
		if (htest_case_failed)
			return;
	}
	while (nlive > 0) {
		struct live l = live[--nlive];
		free_pages(pfn_to_page(l.pfn), l.order);
	}
	HT_EXPECT(lists_back_to_initial(as_freed));
}

HTEST(random_against_model) { random_run(1, 20000, false, true); random_run(2, 20000, false, true); }
HTEST(random_with_per_cpu_caches) { random_run(3, 20000, true, false); random_run(4, 20000, true, false); }

HTEST(random_without_per_cpu_caches)
{
	setup();
	pcp_bypass = true;
	struct page *p = alloc_page(0);
	HT_EXPECT(p != NULL);
	HT_EXPECT_EQ(pcp_count_all(), 0);      /* straight from the buddy lists */
	free_page(p);
	HT_EXPECT_EQ(pcp_count_all(), 0);
	HT_EXPECT(back_to_initial());
}

HTEST(exhaust_and_give_back)
{
	setup();
	static struct page *pages[NPAGES];
	u64 n = 0;
	host_cpu = 0;
	while ((pages[n] = alloc_page(0)) != NULL) {
		host_cpu = (u32)(n % 4);        /* spread pages over all caches */
		n++;
	}
	HT_EXPECT_EQ(n, total_ram);
	HT_EXPECT_EQ(nr_free_pages(), 0);
	for (u64 i = 0; i < n; i++) {
		host_cpu = (u32)(i % 3);
		free_page(pages[i]);
	}
	HT_EXPECT_EQ(nr_free_pages(), total_ram);
	HT_EXPECT(back_to_initial());
}

HTEST(fault_injection_nth_and_every)
{
	setup();
	struct page *p[12];
	fail_page_alloc_set(3, 0);
	for (int i = 0; i < 5; i++)
		p[i] = alloc_page(0);
	HT_EXPECT(p[0] && p[1] && !p[2] && p[3] && p[4]);
	HT_EXPECT_EQ(vm_stat[NR_ALLOC_INJECTED], 1);
	fail_page_alloc_set(0, 4);
	for (int i = 0; i < 12; i++) {
		p[i] = alloc_pages(0, (unsigned)i % 3);
		HT_EXPECT_EQ(p[i] == NULL, (i + 1) % 4 == 0);
	}
	fail_page_alloc_set(0, 0);
	for (int i = 0; i < 12; i++)
		if (p[i])
			free_pages(p[i], (unsigned)i % 3);
	HT_EXPECT(alloc_pages(0, 5) != NULL);
	HT_EXPECT_EQ(vm_stat[NR_ALLOC_INJECTED], 4);
}

HTEST(zeroing_and_poison)
{
	setup();
	struct page *p = alloc_pages(0, 2);
	memset(page_address(p), 0x77, 4 * PAGE_SIZE);
	free_pages(p, 2);
	/* Freed memory is poisoned in the debug build. */
	HT_EXPECT_EQ(((u8 *)page_address(p))[100], PAGE_POISON);
	HT_EXPECT(p->flags & PG_poisoned);
	struct page *q = alloc_pages(__GFP_ZERO, 2);
	u8 *b = page_address(q);
	u8 any = 0;
	for (u64 i = 0; i < 4 * PAGE_SIZE; i++)
		any |= b[i];
	HT_EXPECT_EQ(any, 0);
	free_pages(q, 2);
}

HTEST(compound_pages_and_put_page)
{
	setup();
	struct page *p = alloc_pages(__GFP_COMP, 3);
	HT_EXPECT(p->flags & PG_head);
	HT_EXPECT(p[5].flags & PG_tail);
	HT_EXPECT(compound_head(&p[5]) == p);
	get_page(&p[5]);                /* a reference through a tail counts on the head */
	HT_EXPECT_EQ(p->refcount, 2);
	put_page(&p[7]);
	HT_EXPECT_EQ(nr_free_pages(), total_ram - 8);
	put_page(p);
	HT_EXPECT(back_to_initial());
}

HTEST(debug_checks_stop_bad_frees)
{
	setup();
	struct page *p = alloc_page(0);
	free_page(p);
	HT_EXPECT(PANICS(free_page(p)));
	HT_EXPECT(strstr(panic_msg, "double free") != NULL);

	setup();
	p = alloc_page(0);
	get_page(p);
	HT_EXPECT(PANICS(free_page(p)));
	HT_EXPECT(strstr(panic_msg, "still referenced") != NULL);

	setup();
	p = alloc_page(0);
	p->mapcount = 1;
	HT_EXPECT(PANICS(free_page(p)));
	HT_EXPECT(strstr(panic_msg, "still mapped") != NULL);

	setup();
	HT_EXPECT(PANICS(free_page(pfn_to_page(1010))));     /* a hole */
	HT_EXPECT(strstr(panic_msg, "reserved") != NULL);

	/* Interior page of a free block: refcount 0, so "already free". */
	setup();
	HT_EXPECT(PANICS(free_page(pfn_to_page(2050))));
	HT_EXPECT(strstr(panic_msg, "double free") != NULL);

	/* Use after free: a write into a freed page is found when the page is
	 * handed out again (the per-CPU cache is LIFO: same page back). */
	setup();
	p = alloc_page(0);
	free_page(p);
	((u8 *)page_address(p))[123] = 1;
	HT_EXPECT(PANICS(alloc_page(0)));
	HT_EXPECT(strstr(panic_msg, "written after it was freed") != NULL);
}

int main(void)
{
	return htest_main("buddy", (struct htest[]){
		HT_CASE(init_takes_exactly_the_ram),
		HT_CASE(every_order_aligned_and_coalesces),
		HT_CASE(random_against_model),
		HT_CASE(random_with_per_cpu_caches),
		HT_CASE(random_without_per_cpu_caches),
		HT_CASE(exhaust_and_give_back),
		HT_CASE(fault_injection_nth_and_every),
		HT_CASE(zeroing_and_poison),
		HT_CASE(compound_pages_and_put_page),
		HT_CASE(debug_checks_stop_bad_frees),
		{ 0 } });
}
