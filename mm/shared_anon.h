/* mm/shared_anon.h - the object behind MAP_SHARED|MAP_ANONYMOUS memory.
 *
 * Every VMA that maps the region (in the process that created it, in its
 * fork children, and the pieces left by splits) points at the same object,
 * which holds one reference on each of its pages; each PTE that maps a page
 * holds another. So a write through any mapping is seen through all of
 * them, and a page is freed only when the object is gone and no page table
 * maps it any more (after the TLB flush of the last unmap, see pgtable.h).
 * Linux uses a shmem file for this; a page array is enough without swap.
 *
 * Locking: refs is atomic; lock protects pages[] (a fault allocating a page
 * installs it under the lock and re-checks, so two CPUs faulting the same
 * page at once agree on one page).
 */
#ifndef PAGODA_MM_SHARED_ANON_H
#define PAGODA_MM_SHARED_ANON_H

#include "kernel/types.h"
#include "kernel/spinlock.h"
#include "mm/page.h"

struct shared_anon {
	u32 refs;               /* VMAs pointing here (atomic) */
	spinlock_t lock;
	u64 nr_pages;
	struct page *pages[];   /* NULL until first touched */
};

/* An object for npages pages, with one reference. NULL on -ENOMEM. */
struct shared_anon *shared_anon_create(u64 npages);
/* Page idx (allocated zeroed on first use) with a reference taken for the
 * caller; NULL on -ENOMEM. */
struct page *shared_anon_page(struct shared_anon *s, u64 idx);
/* MADV_REMOVE: drop pages [first, first+n) that no page table maps any
 * more (call after unmapping them here, flush included). A page another
 * process still maps stays: without reverse mapping we cannot unmap it
 * there, which Linux does (a known difference). */
void shared_anon_punch(struct shared_anon *s, u64 first, u64 n);
/* shared_anon_get / shared_anon_put are declared in mm/vma.h. */

#endif
