/* SPDX-License-Identifier: MIT */
/* mm/mm_debug.h - whole-address-space consistency checks, for tests and for
 * debugging (docs/testing-mm.md).
 *
 * mm_check_counts() walks every entry of mm's user page tables and checks
 * that the tables, the counters in mm, the VMAs and the page descriptors
 * tell the same story:
 *   counters   rss_pages == mapped PTEs that own a page (not PTE_SPECIAL);
 *              pgtable_pages == tables reachable below the PML4;
 *   tables     every upper-level entry is P|W|U (no NX, no PS) and points at
 *              a live PG_pagetable page; no table covers only addresses
 *              without a VMA (munmap frees those);
 *   leaves     an entry that is neither present nor PROTNONE is zero (there
 *              are no swap entries) or a userfaultfd marker in a VMA
 *              registered for WP; an entry with the uffd-wp bit is not
 *              writable; a mapped entry lies in a VMA and allows
 *              no more than it (present only if the VMA is accessible,
 *              PROTNONE only if it is not, writable only in a VM_WRITE VMA);
 *              a special entry maps the zero page, read-only; a huge PMD
 *              lies inside one VMA (mm/thp.h) and is counted in its page's
 *              entire map count (thp_entire_mapcount);
 *   pages      every page a non-special entry maps is live (not free, not
 *              poisoned, not a table, not the zero page, anonymous) and
 *              refcount >= mapcount >= (entries of this mm mapping it) >= 1.
 *              Only ">=": shared anonymous pages are also held by their
 *              object (mm/shared_anon.h) and may be mapped by other mms;
 *   VMAs       each belongs to mm; a shared one lies inside its object and
 *              is on the object's list of mappers (MADV_REMOVE's reverse
 *              map), and each of its entries maps the object's current
 *              page at that index (a page a punch took out is mapped
 *              nowhere). Takes each object's mappers lock for write.
 *
 * Returns the number of problems found (0: consistent) and describes the
 * first one in why (NUL-terminated, len bytes at most; nothing is printed);
 * -ENOMEM if its scratch array could not be allocated.
 *
 * Locking: takes mmap_lock for write, then page_table_lock, itself; the
 * caller holds neither. Every operation that changes entries holds
 * mmap_lock, for read at least (faults, MADV_DONTNEED) or for write (munmap,
 * mprotect, exit), until its mmu_gather has flushed and dropped the map
 * counts, so with the write lock held the counts are settled while the
 * check runs; no PTE lock is needed. The one exception: a MADV_REMOVE by
 * another address space clears mm's entries of a shared object under that
 * object's mappers lock only (mm/shared_anon.h): the per-VMA check holds
 * that lock, the page walk after it does not, so check the page counts
 * when no such punch runs. May sleep.
 */
#ifndef PAGODA_MM_MM_DEBUG_H
#define PAGODA_MM_MM_DEBUG_H

#include "kernel/types.h"
#include "mm/mm.h"

int mm_check_counts(struct mm_struct *mm, char *why, size_t len);

#endif
