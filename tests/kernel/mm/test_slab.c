/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_slab.c - kmalloc and object caches ("test=slab"). */
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "mm/slab.h"
#include "mm/fault_inject.h"
#include "arch/x86_64/smp.h"

static s64 slab_pages(void)
{
	struct mm_counters c;
	mm_counters_read(&c);
	return c.stat[NR_SLAB_PAGES];
}

static void test_sizes(struct ktest *t)
{
	static const size_t sizes[] = { 1, 8, 15, 16, 17, 64, 100, 256, 1000, 2048, 2049, 4096,
					5000, 65536 };
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		u8 *p = kmalloc(sizes[i], GFP_KERNEL);
		KTEST_ASSERT_TRUE(t, p != NULL);
		KTEST_EXPECT_EQ(t, (u64)p & 7, 0);
		KTEST_EXPECT_GE(t, ksize(p), sizes[i]);
		memset(p, 0x3c, sizes[i]);
		kfree(p);
	}
	KTEST_EXPECT_TRUE(t, kmalloc(0, GFP_KERNEL) == NULL);
	kfree(NULL);
}

static void test_kzalloc(struct ktest *t)
{
	u8 *p = kmalloc(200, GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, p != NULL);
	memset(p, 0xff, 200);
	kfree(p);
	p = kzalloc(200, GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, p != NULL);
	u8 any = 0;
	for (int i = 0; i < 200; i++)
		any |= p[i];
	KTEST_EXPECT_EQ(t, any, 0);
	kfree(p);
}

/* Many live objects: all distinct, none overlapping, and every slab page
 * comes back once they are freed. */
#define MANY 3000
static void test_many_objects_then_all_back(struct ktest *t)
{
	slab_flush_cpu();
	slab_shrink();
	s64 before = slab_pages();
	u64 free_before = nr_free_pages();
	u64 **objs = kmalloc(MANY * sizeof(u64 *), GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, objs != NULL);
	for (u64 i = 0; i < MANY; i++) {
		objs[i] = kmalloc(48 + (i % 3) * 8, GFP_KERNEL);
		KTEST_ASSERT_TRUE(t, objs[i] != NULL);
		for (int w = 0; w < 6; w++)
			objs[i][w] = i * 8 + (u64)w;
	}
	KTEST_EXPECT_GT(t, slab_pages(), before);
	u64 bad = 0;
	for (u64 i = 0; i < MANY; i++)
		for (int w = 0; w < 6; w++)
			bad += objs[i][w] != i * 8 + (u64)w;
	KTEST_EXPECT_EQ(t, bad, 0);
	for (u64 i = 0; i < MANY; i++)
		kfree(objs[i]);
	kfree(objs);
	slab_flush_cpu();
	slab_shrink();
	KTEST_EXPECT_EQ(t, slab_pages(), before);
	KTEST_EXPECT_EQ(t, nr_free_pages(), free_before);
}

static void test_debug_layout(struct ktest *t)
{
	if (!CONFIG_DEBUG_MM) {
		ktest_skip(t, "not the debug build");
		return;
	}
	u8 *p = kmalloc(20, GFP_KERNEL);          /* from kmalloc-32 */
	KTEST_ASSERT_TRUE(t, p != NULL);
	/* Past the 20 requested bytes: red zone up to the end of the slot. */
	for (int i = 20; i < 32 + 8; i++)
		KTEST_EXPECT_EQ(t, p[i], SLAB_REDZONE);
	kfree(p);
	/* Freed: poisoned (the first word may hold a free-list link). */
	for (int i = 8; i < 32; i++)
		KTEST_EXPECT_EQ(t, p[i], SLAB_POISON_FREE);
	/* The tag before the object says "free": a second kfree would stop
	 * the kernel with "double free" (boot with mm_crash_test=kfree_twice). */
	KTEST_EXPECT_EQ(t, ((u64 *)p)[-1] >> 32, 0xF4EEF4EEu);
}

static void test_cache_create(struct ktest *t)
{
	static struct kmem_cache *c;
	if (!c)
		c = kmem_cache_create("test-72", 72);
	KTEST_ASSERT_TRUE(t, c != NULL);
	void *a = kmem_cache_alloc(c, GFP_KERNEL), *b = kmem_cache_alloc(c, __GFP_ZERO);
	KTEST_ASSERT_TRUE(t, a && b);
	KTEST_EXPECT_NE(t, (u64)a, (u64)b);
	KTEST_EXPECT_EQ(t, ksize(a), 72);
	KTEST_EXPECT_EQ(t, ((u64 *)b)[8], 0);
	kmem_cache_free(c, a);
	kfree(b);                       /* kfree works on any cache's objects */
	KTEST_EXPECT_TRUE(t, kmem_cache_create("too big", KMALLOC_MAX_CACHE_SIZE + 1) == NULL);
}

static void test_fails_cleanly(struct ktest *t)
{
	slab_flush_cpu();
	slab_shrink();
	/* Every page allocation fails: a large kmalloc, and a cache that needs
	 * a new slab, both return NULL. */
	struct kmem_cache *c = kmem_cache_create("test-fail", 512);
	KTEST_ASSERT_TRUE(t, c != NULL);
	fail_page_alloc_set(0, 1);
	void *big = kmalloc(10000, GFP_KERNEL);
	void *obj = kmem_cache_alloc(c, GFP_KERNEL);
	fail_page_alloc_set(0, 0);
	KTEST_EXPECT_TRUE(t, big == NULL);
	KTEST_EXPECT_TRUE(t, obj == NULL);
	obj = kmem_cache_alloc(c, GFP_KERNEL);
	KTEST_EXPECT_TRUE(t, obj != NULL);
	kmem_cache_free(c, obj);
}

/* All CPUs kmalloc and kfree at once, checking their objects stay theirs. */
static u64 conc_bad;
static void conc_worker(void *arg)
{
	(void)arg;
	u64 me = smp_processor_id() + 1;
	u64 *live[32] = { 0 };
	for (unsigned it = 0; it < 4000; it++) {
		unsigned s = (it * 7 + (unsigned)me) % 32;
		if (live[s]) {
			if (live[s][0] != (me << 32 | s) || live[s][1] != (u64)live[s])
				__atomic_add_fetch(&conc_bad, 1, __ATOMIC_SEQ_CST);
			kfree(live[s]);
			live[s] = NULL;
		} else {
			live[s] = kmalloc(16 << (it % 5), GFP_KERNEL);
			if (live[s]) {
				live[s][0] = me << 32 | s;
				live[s][1] = (u64)live[s];
			}
		}
	}
	for (unsigned s = 0; s < 32; s++)
		kfree(live[s]);
	slab_flush_cpu();
}

static void test_concurrent(struct ktest *t)
{
	conc_bad = 0;
	ktest_on_cpus(&cpu_online_mask, conc_worker, NULL);
	KTEST_EXPECT_EQ(t, conc_bad, 0);
	u64 in_use = 0;
	for (u32 i = 0; i < slab_nr_caches(); i++) {
		struct slab_cache_info info;
		slab_cache_info(i, &info);
		if (info.name[0] == 'k')        /* kmalloc-*: nothing else holds them here */
			in_use += info.objects_in_use;
	}
	ktest_log(t, "kmalloc objects in use after the run: %lu", in_use);
}

static const struct ktest_case slab_cases[] = {
	{ "sizes", test_sizes },
	{ "kzalloc", test_kzalloc },
	{ "many_objects_then_all_back", test_many_objects_then_all_back },
	{ "debug_layout", test_debug_layout },
	{ "cache_create", test_cache_create },
	{ "fails_cleanly", test_fails_cleanly },
	{ "concurrent", test_concurrent },
};
KTEST_SUITE(slab, slab_cases);
