/* SPDX-License-Identifier: MIT */
/* tests/bench/kernel/bench_physmem.c - "bench=physmem": what an allocation costs, in TSC
 * cycles per alloc+free pair, on one CPU and on every online CPU at once.
 * It prints figures; it does not pass or fail (timings under emulation say
 * little about hardware, but the ratios between cases do).
 *
 * Cases
 *   order-0, per-CPU cache hit   alloc_page + free_page: the page comes from
 *                                and returns to this CPU's cache
 *   order-0, cache miss          the same with the caches bypassed: every
 *                                call takes the zone lock
 *   order-0, batches of 128      128 allocations then 128 frees: the cache
 *                                refills and drains 31 pages at a time
 *   order-9                      a 2 MiB block: split on alloc, merge on free
 *   kmalloc-64                   kmalloc(64) + kfree (slab fast path)
 * Each is run with page poisoning on (the debug build's default) and off.
 */
#include "mm/buddy.h"
#include "mm/slab.h"
#include "kernel/ktest.h"
#include "kernel/printk.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"

enum bench_case { B_HIT, B_MISS, B_BATCH, B_ORDER9, B_KMALLOC, NR_BENCH };

static const char *const case_names[NR_BENCH] = {
	"order-0, per-CPU cache hit",
	"order-0, cache miss (zone lock)",
	"order-0, batches of 128",
	"order-9 (2 MiB)",
	"kmalloc(64) + kfree",
};

static u64 case_iters(enum bench_case c, bool poison)
{
	switch (c) {
	case B_ORDER9: return poison ? 40 : 400;
	case B_BATCH: return 100;       /* x128 pairs */
	default: return 20000;
	}
}

static u64 result[MAX_CPUS];    /* cycles per pair, per CPU */
static enum bench_case current_case;
static bool current_poison;

static void run_case(void *arg)
{
	(void)arg;
	enum bench_case c = current_case;
	u64 n = case_iters(c, current_poison);
	u64 pairs = n;
	struct page *batch[128];
	/* Warm up: fill the per-CPU cache, touch the code. */
	for (int i = 0; i < 64; i++) {
		struct page *p = alloc_page(0);
		if (p)
			free_page(p);
	}
	u64 t0 = rdtsc();
	for (u64 i = 0; i < n; i++) {
		switch (c) {
		case B_HIT:
		case B_MISS: {
			struct page *p = alloc_page(0);
			if (p)
				free_page(p);
			break;
		}
		case B_BATCH:
			for (int k = 0; k < 128; k++)
				batch[k] = alloc_page(0);
			for (int k = 0; k < 128; k++)
				if (batch[k])
					free_page(batch[k]);
			break;
		case B_ORDER9: {
			struct page *p = alloc_pages(0, 9);
			if (p)
				free_pages(p, 9);
			break;
		}
		case B_KMALLOC:
			kfree(kmalloc(64, GFP_KERNEL));
			break;
		default:
			break;
		}
	}
	u64 t1 = rdtsc();
	if (c == B_BATCH)
		pairs = n * 128;
	result[smp_processor_id()] = (t1 - t0) / pairs;
}

static void run(enum bench_case c, bool poison, bool all_cpus, u64 *mean, u64 *max)
{
	current_case = c;
	current_poison = poison;
	page_poisoning = poison;
	pcp_bypass = c == B_MISS;
	for (u32 i = 0; i < MAX_CPUS; i++)
		result[i] = 0;
	const cpumask_t *mask = all_cpus ? &cpu_online_mask : cpumask_of(0);
	if (all_cpus)
		ktest_on_cpus(mask, run_case, NULL);
	else
		run_case(NULL);
	pcp_bypass = false;
	u64 sum = 0, n = 0;
	*max = 0;
	for (u32 i = 0; i < MAX_CPUS; i++) {
		if (!cpumask_test_cpu(i, mask))
			continue;
		sum += result[i];
		n++;
		*max = MAX(*max, result[i]);
	}
	*mean = n ? sum / n : 0;
}

static void bench_physmem(void)
{
	bool saved_poison = page_poisoning;
	u32 ncpus = num_online_cpus();
	printk("bench physmem: cycles (rdtsc) per alloc+free pair; %u CPUs online; "
	       "debug checks %s\n", ncpus, CONFIG_DEBUG_MM ? "on" : "off");
	for (int poison = 1; poison >= 0; poison--) {
		printk("bench physmem: page poisoning %s\n", poison ? "on" : "off");
		printk("  %-34s %10s %14s %14s\n", "case", "1 CPU", "all (mean)", "all (max)");
		for (int c = 0; c < NR_BENCH; c++) {
			u64 one, one_max, all, all_max;
			run((enum bench_case)c, poison, false, &one, &one_max);
			run((enum bench_case)c, poison, true, &all, &all_max);
			printk("  %-34s %10lu %14lu %14lu\n", case_names[c], one, all, all_max);
		}
	}
	page_poisoning = saved_poison;
	u64 refills, drains;
	pcp_stats(&refills, &drains);
	printk("bench physmem: per-CPU caches went to the zone lock %lu times to refill, "
	       "%lu to drain\n", refills, drains);
}

KTEST_BENCH(physmem, bench_physmem);
