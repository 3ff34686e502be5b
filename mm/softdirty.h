/* SPDX-License-Identifier: MIT */
/* mm/softdirty.h - soft-dirty tracking and /proc/PID/clear_refs, as Linux
 * (docs/soft-dirty.md; Linux's Documentation/admin-guide/mm/soft-dirty.rst).
 *
 * A tracker (CRIU's incremental dump) writes "4" to /proc/PID/clear_refs,
 * then later reads bit 55 of /proc/PID/pagemap: set for every page written
 * since. The state of a page is:
 *   - its VMA's VM_SOFTDIRTY (mm/mm.h): a VMA made since the last clear is
 *     new to the tracker, every page of it counts as written;
 *   - else its entry (PTE or huge PMD): PTE_SOFT_DIRTY, set by every write
 *     fault, new anonymous page and copy-on-write copy, or the hardware's D
 *     bit, which a write through a writable entry sets without a fault
 *     (mm/pgtable.h pte_soft_dirty).
 * Clearing ("4") drops VM_SOFTDIRTY from every VMA and, in every mapped
 * entry, PTE_SOFT_DIRTY, D and the write right, then flushes the TLBs of the
 * address space before it returns: from then on the first write to each
 * page faults, or at least makes the MMU set D again. That holds only if no
 * rewrite of an entry ever drops a D the MMU set meanwhile: the rule of
 * pgtable.h, "rewriting a live entry".
 *   uffd-wp (PTE_UFFD_WP) entries stay protected, pages shared after fork
 * stay read-only (the write right goes, it is never added here), huge PMDs
 * are cleared whole, and markers (no page) are left alone: a marker is
 * never soft-dirty.
 *
 * The other values of clear_refs, Linux's: 1 (all), 2 (anonymous: the
 * private VMAs), 3 (mapped: shared ones, Linux's file and shmem VMAs)
 * clear the accessed bit A of the entries they cover; 5 resets the peak
 * RSS (VmHWM in /proc/PID/status, mm->hiwater_rss) to the current RSS.
 * Anything else is EINVAL.
 *
 * Locking: mmap_lock for write (VM_SOFTDIRTY is a VMA flag; it also keeps
 * faults out, which Linux does not need), then the page-table locks entry by
 * entry; the flush through an mmu_gather (mm/mmu_gather.h).
 */
#ifndef PAGODA_MM_SOFTDIRTY_H
#define PAGODA_MM_SOFTDIRTY_H

#include "kernel/types.h"

struct mm_struct;

enum clear_refs_type {
	CLEAR_REFS_ALL = 1,
	CLEAR_REFS_ANON,
	CLEAR_REFS_MAPPED,
	CLEAR_REFS_SOFT_DIRTY,
	CLEAR_REFS_MM_HIWATER_RSS,
	CLEAR_REFS_LAST,
};

/* What writing the number `type` to /proc/PID/clear_refs does to mm: 0 or
 * -EINVAL (see above). Takes mmap_lock for write. */
int mm_clear_refs(struct mm_struct *mm, long type);

/* The negative control "clear_refs_debug_skip_flush": clearing soft-dirty
 * does not flush the TLBs, so a CPU that cached a writable, dirty entry
 * goes on writing without a fault and without setting D: those writes are
 * not reported. */
extern bool clear_refs_debug_skip_flush;
void softdirty_init(void);      /* reads the command line */

#endif
