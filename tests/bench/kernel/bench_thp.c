/* SPDX-License-Identifier: MIT */
/* tests/bench/kernel/bench_thp.c - "bench=thp": what a write into a huge-zero region costs
 * with a 2 MiB page and with the fallback forced (docs/thp.md).
 *
 * User programs cannot make the 2 MiB allocation fail, so this runs in the
 * kernel: a kernel thread borrows a fresh address space, reads a 2 MiB
 * THP-eligible range (the huge zero page), then times writing one word into
 * each of its 512 pages - once as is (one fault maps a 2 MiB page, 511
 * writes need none), once with the 2 MiB allocation failing by fault
 * injection (the huge zero PMD is split into zero-page PTEs, and each of the
 * 512 writes takes a 4 KiB fault). Medians over REPS runs, in TSC cycles.
 * Boot with page_poison=0 as for bench=physmem: the debug build's poisoning
 * and poison checks of 2 MiB at a time otherwise dominate the THP figure.
 */
#include "kernel/ktest.h"
#include "mm/mm.h"
#include "mm/thp.h"
#include "mm/buddy.h"
#include "mm/fault_inject.h"
#include "tests/kernel/mm/test_user.h"
#include "kernel/printk.h"
#include "arch/x86_64/cpu.h"

#define REPS 9
#define REGION 0x0000500000000000UL

static u64 one_run(bool fallback)
{
	struct mm_struct *mm = mm_create();
	if (!mm)
		return 0;
	u64 cycles = 0;
	if (do_mmap(mm, REGION, HPAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == (long)REGION &&
	    do_madvise(mm, REGION, HPAGE_SIZE, 14 /* MADV_HUGEPAGE */) == 0) {
		kthread_use_mm(mm);
		u64 v;
		test_get_u64(mm, REGION, &v);           /* the huge zero page */
		if (fallback)
			fail_page_alloc_set(1, 0);      /* the 2 MiB allocation fails */
		u64 t0 = rdtsc();
		for (u64 i = 0; i < HPAGE_NR; i++)
			test_put_u64(mm, REGION + i * PAGE_SIZE, i);
		cycles = rdtsc() - t0;
		fail_page_alloc_set(0, 0);
		kthread_unuse_mm(mm);
	}
	mm_put(mm);
	return cycles;
}

static u64 median(u64 *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static void bench_thp(void)
{
	if (thp_mode == THP_NEVER) {
		printk("bench thp: thp=never, nothing to measure\n");
		return;
	}
	u64 thp[REPS], fb[REPS];
	s64 fb0 = vm_stat[NR_THP_FAULT_FALLBACK];
	for (int i = 0; i < REPS; i++) {
		thp[i] = one_run(false);
		fb[i] = one_run(true);
	}
	printk("bench thp: writing every 4 KiB page of a huge-zero 2 MiB range, TSC cycles (median of %d)\n",
	       REPS);
	printk("bench thp:   2 MiB page (1 fault):              %lu per 2 MiB\n", median(thp, REPS));
	printk("bench thp:   forced fallback (split, 512 faults): %lu per 2 MiB\n", median(fb, REPS));
	printk("bench thp:   fallbacks counted: %ld (expected %d)\n",
	       vm_stat[NR_THP_FAULT_FALLBACK] - fb0, REPS);
}

KTEST_BENCH(thp, bench_thp);
