/* SPDX-License-Identifier: MIT */
/* mm/khugepaged.h - collapse: 512 small pages become one huge page
 * (docs/thp.md, "Collapse: small pages become a huge page").
 *
 * Two callers, one mechanism (Linux's mm/khugepaged.c):
 *   MADV_COLLAPSE (madvise_collapse): synchronous, for every 2 MiB-aligned
 *     piece inside [start, end) of the caller's VMAs;
 *   the background collapser, the kernel thread "khugepaged": scans the
 *     VMAs of registered address spaces a few pages per pass and collapses
 *     pieces whose PTEs are mostly present.
 *
 * The rule for a piece (hpage_collapse_scan_pmd, checked again by the
 * retract with the PMD cleared): a PTE table is there (a huge PMD counts as
 * done; nothing at all as a failure); and of its 512 entries
 *   none, or the zero page   allowed (MADV_COLLAPSE: all of them;
 *                            khugepaged: max_ptes_none, default 511), but
 *                            none at all in a VMA registered with userfaultfd
 *                            (a missing fault the handler would not see);
 *   a uffd-wp bit or marker  refused (SCAN_PTE_UFFD_WP, as Linux: a huge
 *                            PMD carrying the bit would report faults in
 *                            pages nobody protected);
 *   anything else not        refused (no swap in Pagoda; PROT_NONE VMAs are
 *     present                not eligible);
 *   a page                   anonymous, and no reference beyond the ones its
 *                            mappings explain (a pin, an I/O in flight:
 *                            SCAN_PAGE_COUNT, EAGAIN); mapped by another
 *                            address space as well (after fork): copied,
 *                            the other keeps it (MADV_COLLAPSE: any number;
 *                            khugepaged: max_ptes_shared, 256);
 *   and at least one entry writable (else SCAN_PAGE_RO: nothing was written
 *   here, or it is all shared copy-on-write) and, for khugepaged, one
 *   accessed (SCAN_LACK_REFERENCED_PAGE).
 *
 * The collapse of a piece (collapse_huge_page):
 *   1. allocate the 2 MiB page with no lock held;
 *   2. mmap_lock for write and the VMA write-locked (vma_start_write): no
 *      fault, zap, page-table reclaim or GUP of this address space runs in
 *      the range from here on; look the VMA up again (it may be gone);
 *   3. retract, under page_table_lock: the PMD must still point to the
 *      table the scan read (else abort); clear it; flush every CPU (lazy
 *      ones too: a table leaves); take every PTE out under the table's lock
 *      and check it again (a pin taken by a lockless GUP before the flush
 *      shows now); on failure put everything back;
 *   4. copy the pages (zeros for none and zero-page entries), deposit a
 *      table and install the huge PMD: PG_anon|PG_exclusive, dirty,
 *      writable iff the VMA is (thp_install_pmd, shared with the fault path);
 *   5. the old pages and the old table go to an mmu_gather: the pages after
 *      its flush, the table after the flush and an RCU grace period (lockless
 *      walkers - gup_fast, pgtable_leaf - may still be reading it).
 * The timeline of CPUs and what each may see: docs/thp.md.
 *
 * Locking: madvise_collapse and khugepaged take mmap_lock themselves (read
 * to scan, write to collapse; callers hold none); the order is the usual
 * mmap_lock, VMA lock, page_table_lock, PTE lock. khugepaged keeps each
 * registered mm's struct with mm_grab and becomes a user (mm_get_not_zero)
 * only for a pass over it, so an exiting process is never held up nor
 * used after its teardown. It never sleeps holding a page-table lock.
 *
 * Counters (/proc/vmstat, Linux's names): thp_collapse_alloc (huge pages
 * allocated for a collapse), thp_collapse_alloc_failed; khugepaged's
 * pages_collapsed and full_scans below.
 *
 * Boot words: "khugepaged=1" starts the background collapser scanning
 * (default 0: Linux runs it whenever THP is not "never", but Pagoda's tests
 * count pages and huge pages and a background collapse would make them
 * flaky; the collapse suite turns it on for its own case);
 * "khugepaged.pages_to_scan=N" (default 4096, Linux's),
 * "khugepaged.sleep_ms=N" (between passes, default 10000, Linux's
 * scan_sleep_millisecs), "khugepaged.max_ptes_none=N" (default 511),
 * "khugepaged.max_ptes_shared=N" (default 256).
 * Negative controls: "collapse_debug_free_table_now" (the retract frees the
 * old table at once, without the grace period: collapse.lockless_walkers
 * fails) and "collapse_debug_skip_pmd_recheck" (the retract trusts the scan's
 * PMD: collapse.table_replaced_before_retract fails) and
 * "collapse_debug_skip_flush" (the retract takes the entries out and copies
 * without flushing the TLBs first: CPUs keep writing into old pages through
 * cached entries, and collapse.faults_during_collapse loses their words).
 */
#ifndef PAGODA_MM_KHUGEPAGED_H
#define PAGODA_MM_KHUGEPAGED_H

#include "kernel/types.h"

struct mm_struct;
struct vm_area;

/* Why a piece was or was not collapsed (Linux's enum scan_result names). */
enum scan_result {
	SCAN_FAIL,
	SCAN_SUCCEED,
	SCAN_PMD_NULL,                  /* no table above the PMD */
	SCAN_PMD_NONE,                  /* the PMD is empty */
	SCAN_PMD_MAPPED,                /* already a huge PMD: nothing to do */
	SCAN_PMD_CHANGED,               /* the table was replaced since the scan */
	SCAN_EXCEED_NONE_PTE,
	SCAN_EXCEED_SHARED_PTE,
	SCAN_PTE_NON_PRESENT,
	SCAN_PTE_UFFD_WP,
	SCAN_PAGE_RO,
	SCAN_LACK_REFERENCED_PAGE,
	SCAN_PAGE_NULL,
	SCAN_PAGE_ANON,
	SCAN_PAGE_COUNT,
	SCAN_ANY_PROCESS,               /* the address space is exiting */
	SCAN_VMA_NULL,
	SCAN_VMA_CHECK,
	SCAN_ALLOC_HUGE_PAGE_FAIL,
};

/* MADV_COLLAPSE of [start, end) (page-aligned, start < end) in mm: every
 * 2 MiB-aligned piece wholly inside a VMA of the range. Linux 6.1's
 * semantics: 0 when every piece is (now) huge - also when the range meets
 * a piece boundary but holds no whole piece, while one inside a single
 * piece gives EINVAL (Linux's unsigned count of pieces); else the errno of
 * the last failure: -ENOMEM (no huge page),
 * -EAGAIN (a page with an extra reference: try again), -EINVAL (anything
 * intrinsic to the range: a VMA THP may not use - VM_NOHUGEPAGE, shared,
 * PROT_NONE -, uffd-wp, nothing written, an empty PMD, ...). -ENOMEM as
 * well for a hole in the range (madvise's rule). Takes mmap_lock itself. */
long madvise_collapse(struct mm_struct *mm, u64 start, u64 end);

/* May [haddr, haddr + 2 MiB) of vma become one huge page? With
 * enforce_sysfs (khugepaged) "thp=" decides as for faults; without it
 * (MADV_COLLAPSE) only what makes a huge mapping impossible or forbidden:
 * VM_NOHUGEPAGE, shared memory, no access rights, the VMA too small. */
bool collapse_vma_allowed(const struct vm_area *vma, u64 haddr, bool enforce_sysfs);

/* The background collapser learns of an address space that has (or may
 * get) THP-eligible VMAs: MADV_HUGEPAGE and THP faults call it. Nothing
 * while the collapser is off (khugepaged=0). Cheap when mm is known
 * already; takes a reference on the struct (mm_grab), dropped by
 * khugepaged_exit or once the thread finds the address space gone. Never
 * sleeps. */
void khugepaged_enter(struct mm_struct *mm);

/* The last user of mm is gone (mm_put): forget it now, so that its struct
 * is not kept until the next pass (Linux's khugepaged_exit). */
void khugepaged_exit(struct mm_struct *mm);

/* One pass of the background collapser: up to pages_to_scan pages of the
 * registered address spaces, collapsing what qualifies. The thread calls it
 * each time it wakes up (with khugepaged=1); tests call it directly. Takes
 * mmap_lock of each mm in turn; the caller holds no lock. Returns the
 * pieces collapsed. */
u32 khugepaged_scan_pass(void);

/* Wake the thread now (tests after turning it on). */
void khugepaged_wake(void);

/* The controls (boot words above; tests change them too, and so do writes
 * to /sys/kernel/mm/transparent_hugepage/khugepaged/, mm/thp_sysfs.c: read
 * them with READ_ONCE, write with WRITE_ONCE). */
extern bool khugepaged_enabled;
extern u32 khugepaged_pages_to_scan;
extern u32 khugepaged_sleep_ms;
extern u32 khugepaged_max_ptes_none;
extern u32 khugepaged_max_ptes_shared;
/* Linux's alloc_sleep_millisecs: after a pass in which a collapse found no
 * huge page, the thread sleeps this long instead of sleep_ms (60000). */
extern u32 khugepaged_alloc_sleep_ms;
/* Linux's knobs for what Pagoda does not have, kept so that they read
 * back what was written (docs/thp.md): max_ptes_swap (64: Pagoda has no
 * swap, so no PTE is ever a swap entry) and defrag (1: Pagoda's allocator
 * has no compaction or reclaim to allow or forbid). */
extern u32 khugepaged_max_ptes_swap;
extern bool khugepaged_defrag;
/* Linux's khugepaged/pages_collapsed and full_scans. */
extern u64 khugepaged_pages_collapsed;
extern u64 khugepaged_full_scans;

/* Negative controls (above) and the test hook: called between a collapse's
 * scan and its retract, with no lock held (the window in which a zap or
 * a page-table reclaim may free or replace the scanned table). */
extern bool collapse_debug_free_table_now;
extern bool collapse_debug_skip_pmd_recheck;
extern bool collapse_debug_skip_flush;
extern void (*collapse_debug_window_hook)(struct mm_struct *mm, u64 haddr);
/* Test hook: called once the old pages are copied, before the huge PMD
 * goes in (mmap_lock held for write, no spinlock): a write that lands in
 * an old page from here on is lost, unless no CPU can still write there. */
extern void (*collapse_debug_copied_hook)(struct mm_struct *mm, u64 haddr);

/* Reads the boot words and starts the thread (after the scheduler). */
void khugepaged_init(void);

#endif
