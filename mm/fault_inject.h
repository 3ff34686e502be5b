/* SPDX-License-Identifier: MIT */
/* mm/fault_inject.h - make page allocations fail on purpose, so that the
 * code which handles a NULL from alloc_pages() can be tested.
 *
 * Command line (counted from the end of mm_init(), so boot itself is spared):
 *   fail_page_alloc=N        the Nth allocation fails (once)
 *   fail_page_alloc_every=N  every Nth allocation fails
 * Test API: fail_page_alloc_set(nth, every) with the same meaning (0 = off),
 * counting from the call. Allocations are counted with an atomic counter, so
 * "the Nth" is global across CPUs. Slab (kmalloc) failures follow from the
 * page allocations it makes.
 */
#ifndef PAGODA_MM_FAULT_INJECT_H
#define PAGODA_MM_FAULT_INJECT_H

#include "kernel/types.h"

void fail_page_alloc_set(u64 nth, u64 every);
/* Called once per alloc_pages(): true means "fail this one". */
bool should_fail_page_alloc(void);
/* How many failures have been injected since boot. */
u64 fail_page_alloc_injected(void);
/* Read the command line (kernel only). */
void fail_page_alloc_init(void);

#endif
