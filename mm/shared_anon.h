/* SPDX-License-Identifier: MIT */
/* mm/shared_anon.h - the object behind MAP_SHARED|MAP_ANONYMOUS memory
 * and behind a memfd (kernel/memfd.h: the same object with a size that
 * ftruncate changes, opened as a file).
 *
 * Every VMA that maps the region (in the process that created it, in its
 * fork children, and the pieces left by splits) points at the same object,
 * which holds one reference on each of its pages; each PTE that maps a page
 * holds another. So a write through any mapping is seen through all of
 * them, and a page is freed only when the object has let it go and no page
 * table maps it any more (after the TLB flush of the last unmap, see
 * pgtable.h). Linux uses a shmem file for this, its pages in the file's
 * page cache (an xarray); here a radix tree of page pointers
 * (mm/page_tree.h) holds them: nodes only where pages are, each page
 * allocated at its first fault, so a 2 GiB object costs what was touched.
 *
 * The reverse map: the object also knows every VMA that maps it, in every
 * address space (Linux: the file's i_mmap tree), so that MADV_REMOVE can
 * punch a hole in the object and unmap that range from all of its mappers
 * at once (docs/madvise.md, "MADV_REMOVE"). A mapper's page tables are
 * walked without its mmap_lock: the object's mappers_lock keeps each listed
 * VMA, its address space and the page tables under it alive, because a VMA
 * leaves the list (vma_free) before munmap or exit frees its tables.
 *
 * Locking, in this order:
 *   1. mmap_lock of an address space (only ever one: never another's), or,
 *      for a fault on the fast path, the read lock of its VMA instead
 *      (mm/vma_lock.h; a writer write-locks a VMA under mmap_lock);
 *   2. mappers_lock (an rwsem, Linux's i_mmap_rwsem): the list and the
 *      start, end and pgoff of every VMA on it (read: a punch, a shrink). Held for write to link or
 *      unlink a VMA or change those fields (vma_split, vma_merge, vma_free),
 *      and by fork while it copies a shared VMA's entries (its copy takes no
 *      page-table lock); held for read by the punch while it unmaps;
 *   3. the PMD lock, then PTE locks of a mapper (mm/pgtable.h);
 *   4. lock (a spinlock): the page tree (every call on it). A fault
 *      allocating a page installs it
 *      under it and re-checks, so two CPUs faulting the same page at once
 *      agree on one page; and it re-checks under its PTE lock that the
 *      object still holds the page (shared_anon_page_current) before
 *      mapping it, so a fault racing with a punch never maps a page the
 *      punch already took out.
 * refs is atomic.
 */
#ifndef PAGODA_MM_SHARED_ANON_H
#define PAGODA_MM_SHARED_ANON_H

#include "kernel/types.h"
#include "kernel/spinlock.h"
#include "kernel/rwsem.h"
#include "mm/page.h"
#include "mm/mm.h"
#include "mm/page_tree.h"

struct vm_area;

struct shared_anon {
	u32 refs;               /* VMAs and open memfds pointing here (atomic) */
	struct rwsem mappers_lock;
	struct vm_area *mappers;        /* linked by vm_area.next_mapper, any mm */
	spinlock_t lock;
	/* The object's size in bytes (Linux's i_size), under lock: a page at
	 * or past DIV_ROUND_UP(size, PAGE_SIZE) is beyond the end, and a
	 * fault there is SIGBUS, as on Linux. A MAP_SHARED|MAP_ANONYMOUS
	 * object is as big as its first mapping for ever; a memfd's size
	 * changes with ftruncate and write (kernel/memfd.h). */
	u64 size;
	struct page_tree pages; /* page idx at index idx; a hole reads zeros */
	char *name;             /* a memfd's "memfd:NAME", a tmpfs file's path
				 * without its leading '/' (maps), else NULL */
	/* Size changes (ftruncate, a write that grows the file, fallocate)
	 * against reads and writes through files (kernel/memfd.h; Linux's
	 * i_rwsem). Before mmap_lock and the locks above. */
	struct rwsem size_lock;
	/* A tmpfs file (kernel/tmpfs.h): its permission bits, and whether a
	 * directory still names it (maps adds " (deleted)" when not; a memfd
	 * never has a name there). 0 and false for every other object. */
	u32 mode;
	bool linked;
};

/* An object of npages pages (size npages * PAGE_SIZE, at most
 * shared_anon_max_size()), with one reference; no page allocated yet.
 * NULL on -ENOMEM. */
struct shared_anon *shared_anon_create(u64 npages);
/* Page idx (allocated zeroed on first use) with a reference taken for the
 * caller; NULL on -ENOMEM or when idx is beyond the end (ask
 * shared_anon_beyond_eof which). */
struct page *shared_anon_page(struct shared_anon *s, u64 idx);
bool shared_anon_beyond_eof(struct shared_anon *s, u64 idx);
/* Page idx if the object has one (a reference taken), else NULL: reads
 * of a hole see zeros without filling it. */
struct page *shared_anon_find_page(struct shared_anon *s, u64 idx);
/* How many pages the object holds below its end (fstat's st_blocks): a
 * walk of the pages there are, not of every index - a 1 TiB memfd with
 * nothing in it costs nothing. */
u64 shared_anon_nr_pages(struct shared_anon *s);
u64 shared_anon_size(struct shared_anon *s);
/* Change the size (memfd's ftruncate and writes past the end; callers
 * serialise their size changes, kernel/memfd.c). Growing allocates nothing.
 * Shrinking first lowers size (from then on a fault past it is SIGBUS),
 * zeroes the tail of a last partial page, then punches the pages past the
 * end out of the object and unmaps them from every mapper, as
 * shared_anon_punch (Linux's shmem_setattr: truncate_setsize, then
 * unmap_mapping_range), all under mappers_lock for read. 0 or -ENOMEM.
 * May sleep; no lock held but the caller's own. */
int shared_anon_set_size(struct shared_anon *s, u64 size);
/* The largest size an object can have: Linux's MAX_LFS_FILESIZE, shmem's
 * s_maxbytes (the page tree indexes every page below it). */
u64 shared_anon_max_size(void);
/* Is p still the object's page idx? A fault asks under the PTE lock of the
 * entry it is about to fill (lock order above). */
bool shared_anon_page_current(struct shared_anon *s, u64 idx, struct page *p);

/* v (shared, mm, start, end and pgoff set, and holding its reference)
 * goes on the list of mappers. Takes mappers_lock. */
void shared_anon_attach(struct vm_area *v);

/* MADV_REMOVE, fallocate(PUNCH_HOLE): punch pages [first, first+n) out of
 * the object and unmap them from every VMA of every address space that maps
 * them (a MAP_PRIVATE mapping keeps its own copies), each through
 * its own mmu_gather (unmap, flush, then free). Afterwards every mapper
 * reads zeros there (a fault gets a fresh page of the object); a pinned
 * page lives on for its pin holder only, freed by its last put_page. The
 * caller may hold its own mmap_lock (mm), and no page-table lock. */
void shared_anon_punch(struct shared_anon *s, u64 first, u64 n, struct mm_struct *mm);

/* "shared_anon_debug_local_punch" on the command line: the punch unmaps the
 * range only from the caller's address space (negative control: other
 * mappers keep the old pages; madvise.remove_vs_readers must fail). */
extern bool shared_anon_debug_local_punch;
/* "shared_anon_debug_trust_fault": shared_anon_page_current always says
 * yes (negative control: a fault maps a page the punch took out;
 * madvise.remove_fault_window must fail). */
extern bool shared_anon_debug_trust_fault;
/* "shared_anon_debug_keep_beyond_eof": a shrinking set_size takes the
 * pages out of the object but leaves them mapped (negative control: a
 * mapper still reads the old page past the end instead of SIGBUS;
 * memfd_test's shrink case must fail). */
extern bool shared_anon_debug_keep_beyond_eof;
/* "shared_anon_debug_punch_cows": a punch (MADV_REMOVE, fallocate) also
 * zaps the private copies of a MAP_PRIVATE mapping of the object
 * (negative control: fallocate_test's "a punch keeps a private mapping's
 * copy" must fail). */
extern bool shared_anon_debug_punch_cows;
void shared_anon_init(void);    /* reads the command line */

/* shared_anon_get / _put, _lock_mappers / _unlock_mappers and _link /
 * _unlink (what mm/vma.c needs) are declared in mm/vma.h. */

#endif
