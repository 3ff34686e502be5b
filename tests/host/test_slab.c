/* SPDX-License-Identifier: MIT */
// SOURCES: mm/slab.c mm/buddy.c mm/pcp.c mm/fault_inject.c
/* tests/host/test_slab.c - kmalloc, object caches and their debug checks, on
 * the host over a fake 16 MiB of RAM. The checks that stop the kernel (double
 * free, red zone, use after free, foreign pointer) are run here with panic()
 * turned into a longjmp, so each one is seen to fire with the right message. */
#include "mm/slab.h"
#include "mm/fault_inject.h"
#include "mm/host_env.h"
#include "kernel/printk.h"
#include "tests/host/htest.h"
#include "tests/host/host_spinlock.h"
#include "tests/host/host_panic.h"
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>

#define NPAGES 4096u

u8 *host_ram;
u32 host_cpu;
static struct page *map;

int printk(const char *fmt, ...) { (void)fmt; return 0; }


#define PANICS(stmt) ({                                              \
		int ht_p = 0;                                        \
		panic_msg[0] = 0;                                    \
		panic_expected = 1;                                  \
		if (setjmp(panic_jmp) == 0) { stmt; } else ht_p = 1; \
		panic_expected = 0;                                  \
		ht_p; })

static bool initialised;
static void setup(void)
{
	if (!initialised) {
		host_ram = aligned_alloc(PAGE_SIZE, (size_t)NPAGES * PAGE_SIZE);
		map = calloc(NPAGES, sizeof(struct page));
		vmemmap = map;
		buddy_init(NPAGES);
		buddy_add_range(1, NPAGES);
		slab_init();
		initialised = true;
	}
	host_cpu = 0;
	fail_page_alloc_set(0, 0);
}

/* Slab memory fully returned: flush every "CPU" and free empty slabs. */
static void give_back(void)
{
	for (host_cpu = 0; host_cpu < MAX_CPUS; host_cpu++)
		slab_flush_cpu();
	host_cpu = 0;
	slab_shrink();
}

HTEST(sizes_and_alignment)
{
	setup();
	for (size_t n = 1; n <= 9000; n = n * 3 / 2 + 1) {
		u8 *p = kmalloc(n, GFP_KERNEL);
		HT_EXPECT(p != NULL);
		HT_EXPECT_EQ((uintptr_t)p & 7, 0);
		HT_EXPECT(ksize(p) >= n);
		memset(p, 0x11, n);
		kfree(p);
	}
	give_back();
	HT_EXPECT_EQ(vm_stat[NR_SLAB_PAGES], 0);
	HT_EXPECT_EQ(vm_stat[NR_KMALLOC_LARGE_PAGES], 0);
}

HTEST(many_objects_on_many_cpus_all_come_back)
{
	setup();
	u64 free_before = nr_free_pages();
	enum { N = 5000 };
	static u64 *objs[N];
	for (int i = 0; i < N; i++) {
		host_cpu = (u32)i % MAX_CPUS;
		objs[i] = kmalloc(8 + (size_t)(i % 200), GFP_KERNEL);
		HT_EXPECT(objs[i] != NULL);
		objs[i][0] = (u64)i;
	}
	HT_EXPECT(vm_stat[NR_SLAB_PAGES] > 0);
	for (int i = 0; i < N; i++) {
		HT_EXPECT_EQ(objs[i][0], (u64)i);
		host_cpu = (u32)(i * 7) % MAX_CPUS;    /* freed on another "CPU" */
		kfree(objs[i]);
	}
	u64 in_use = 0;
	for (u32 i = 0; i < slab_nr_caches(); i++) {
		struct slab_cache_info info;
		slab_cache_info(i, &info);
		in_use += info.objects_in_use;
	}
	HT_EXPECT_EQ(in_use, 0);
	give_back();
	HT_EXPECT_EQ(vm_stat[NR_SLAB_PAGES], 0);
	HT_EXPECT_EQ(nr_free_pages(), free_before);
}

HTEST(allocation_failure_returns_null)
{
	setup();
	give_back();
	fail_page_alloc_set(0, 1);
	HT_EXPECT(kmalloc(100, GFP_KERNEL) == NULL);     /* needs a new slab */
	HT_EXPECT(kmalloc(20000, GFP_KERNEL) == NULL);   /* needs pages */
	fail_page_alloc_set(0, 0);
	void *p = kmalloc(100, GFP_KERNEL);
	HT_EXPECT(p != NULL);
	kfree(p);
	give_back();
}

HTEST(double_free_detected)
{
	setup();
	void *p = kmalloc(40, GFP_KERNEL);
	kfree(p);
	HT_EXPECT(PANICS(kfree(p)));
	HT_EXPECT(strstr(panic_msg, "double free") != NULL);
	/* The same after the object went back to its slab. */
	void *q = kmalloc(40, GFP_KERNEL);
	kfree(q);
	give_back();
	HT_EXPECT(PANICS(kfree(q)));
	HT_EXPECT(strstr(panic_msg, "double free") != NULL);
	/* And for a large allocation, whose pages are free again. */
	void *big = kmalloc(3 * PAGE_SIZE, GFP_KERNEL);
	kfree(big);
	HT_EXPECT(PANICS(kfree(big)));
	HT_EXPECT(strstr(panic_msg, "double free") != NULL);
}

HTEST(overflow_into_red_zone_detected)
{
	setup();
	u8 *p = kmalloc(20, GFP_KERNEL);           /* kmalloc-32 */
	p[20] = 0;                                 /* one past what was asked for */
	HT_EXPECT(PANICS(kfree(p)));
	HT_EXPECT(strstr(panic_msg, "red zone") != NULL);
	u8 *q = kmalloc(32, GFP_KERNEL);
	q[32 + 3] = 0;                             /* into the red zone proper */
	HT_EXPECT(PANICS(kfree(q)));
	HT_EXPECT(strstr(panic_msg, "red zone") != NULL);
}

HTEST(use_after_free_detected)
{
	setup();
	u8 *p = kmalloc(64, GFP_KERNEL);
	kfree(p);
	HT_EXPECT_EQ(p[30], SLAB_POISON_FREE);
	p[30] = 1;
	/* The per-CPU magazine is LIFO: the next kmalloc-64 is p again. */
	HT_EXPECT(PANICS(kmalloc(64, GFP_KERNEL)));
	HT_EXPECT(strstr(panic_msg, "written after it was freed") != NULL);
}

HTEST(foreign_pointers_refused)
{
	setup();
	u8 *p = kmalloc(64, GFP_KERNEL);
	HT_EXPECT(PANICS(kfree(p + 8)));           /* inside an object */
	HT_EXPECT(strstr(panic_msg, "not the start of an object") != NULL);
	struct page *pg = alloc_page(0);
	HT_EXPECT(PANICS(kfree(page_address(pg)))); /* a page, not from kmalloc */
	HT_EXPECT(strstr(panic_msg, "did not return") != NULL);
	free_page(pg);
	kfree(p);
}

HTEST(named_cache)
{
	setup();
	struct kmem_cache *c = kmem_cache_create("host-test-100", 100);
	HT_EXPECT(c != NULL);
	void *a = kmem_cache_alloc(c, __GFP_ZERO);
	HT_EXPECT(a != NULL);
	HT_EXPECT_EQ(((u8 *)a)[99], 0);
	HT_EXPECT_EQ(ksize(a), 104);               /* rounded up to 8 */
	struct kmem_cache *other = kmem_cache_create("host-test-other", 100);
	HT_EXPECT(PANICS(kmem_cache_free(other, a)));
	HT_EXPECT(strstr(panic_msg, "another cache") != NULL);
	kmem_cache_free(c, a);
}

int main(void)
{
	return htest_main("slab", (struct htest[]){
		HT_CASE(sizes_and_alignment),
		HT_CASE(many_objects_on_many_cpus_all_come_back),
		HT_CASE(allocation_failure_returns_null),
		HT_CASE(double_free_detected),
		HT_CASE(overflow_into_red_zone_detected),
		HT_CASE(use_after_free_detected),
		HT_CASE(foreign_pointers_refused),
		HT_CASE(named_cache),
		{ 0 } });
}
