/* mm/mm_init.h - bringing up the memory manager on the boot CPU.
 *
 * mm_init() runs once, after the boot information is parsed and the IDT is
 * loaded (so a mistake in the new page tables gets an exception report), and
 * before anything allocates memory or starts another CPU. Afterwards:
 * alloc_pages(), kmalloc() and the kernel page tables (mm/paging.h) work.
 */
#ifndef PAGODA_MM_MM_INIT_H
#define PAGODA_MM_MM_INIT_H

#include "kernel/types.h"

void mm_init(void);

/* Free pages right after mm_init() (for reports and tests). */
extern u64 mm_boot_free_pages;

/* "mm_crash_test=CASE": a deliberate bug the debug checks must catch
 * (mm/crash_test.c); called at the end of mm_init(). */
void mm_crash_test(void);

/* "bench=physmem": cycles per allocation (mm/bench_physmem.c). */
void bench_physmem(void);
/* "bench=thp": a huge-zero write with and without a 2 MiB page (mm/bench_thp.c). */
void bench_thp(void);

#endif
