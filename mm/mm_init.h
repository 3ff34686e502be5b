/* SPDX-License-Identifier: MIT */
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

#endif
