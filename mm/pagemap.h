/* SPDX-License-Identifier: MIT */
/* mm/pagemap.h - what the page tables say about each user page, in Linux's
 * formats: the entries of /proc/PID/pagemap and the PAGEMAP_SCAN ioctl
 * (docs/userfaultfd.md; kernel/procfs.c is the file around them).
 *
 * A pagemap entry (8 bytes per virtual page, Linux's
 * Documentation/admin-guide/mm/pagemap.rst), as set here for anonymous memory:
 *   bits 0-54  the page frame number, when present (Linux shows it to
 *              CAP_SYS_ADMIN only; every process here is root)
 *   bit 55     soft-dirty (docs/soft-dirty.md): every page of a VMA
 *              with VM_SOFTDIRTY (new since the last clear_refs "4"), else
 *              a mapped entry with PTE_SOFT_DIRTY or D; never a marker
 *   bit 56     exclusively mapped: present and mapped once (mapcount 1)
 *   bit 57     uffd-wp: a present entry with PTE_UFFD_WP, or a marker
 *   bit 61     file page or shared anonymous: present in a MAP_SHARED VMA
 *   bit 62     swapped (never here: there is no swap)
 *   bit 63     present (a PROT_NONE page counts, as on Linux)
 * Outside any VMA, and for empty entries, the entry is 0 (bit 55 aside).
 * PAGE_IS_SOFT_DIRTY is bit 55's rule.
 *
 * PAGEMAP_SCAN (Linux 6.7's fs/proc/task_mmu.c): walk [start, end), give
 * each page categories (PAGE_IS_*), keep the pages the masks select, report
 * them as runs of equal categories (struct page_region), and with
 * PM_SCAN_WP_MATCHING write-protect the reported pages that were written.
 * A page is WRITTEN when its entry is present without the uffd-wp bit (or
 * not present, not empty and not a marker: a swap entry, which Pagoda has
 * not). A marker is SWAPPED and not WRITTEN, as Linux (a marker is a
 * non-present, non-empty entry there). WPALLOWED: the VMA is registered for
 * WP with a context that negotiated UFFD_FEATURE_WP_ASYNC.
 *
 * Re-protection is not atomic with the read of each entry: the walk reads
 * entries under mmap_lock (read) and the page-table lock, notes the runs
 * to protect, drops the locks, and calls uffd_wp_range() on each run
 * (which takes mmap_lock itself). For dirty tracking this is still exact:
 *   - a page seen WRITTEN and written again before its re-protection is
 *     reported by this round; the caller copies its contents after the
 *     ioctl returns, so the copy holds that write too;
 *   - a write after the re-protection faults (async: clears the bit) and is
 *     reported by the next round;
 *   - a page seen protected is not touched: if a write lands on it after
 *     the read, it is unprotected and the next round reports it.
 * What can be lost is nothing; what can be reported twice is a page written
 * in the window (reported now, and again next round only if written again).
 *
 * Locking: pagemap_read_leaves() is the one place that reads page tables:
 * caller holds mmap_lock for read; it takes the PTE table's lock, or the
 * PMD lock (mm->page_table_lock) for a huge PMD or a missing table.
 */
#ifndef PAGODA_MM_PAGEMAP_H
#define PAGODA_MM_PAGEMAP_H

#include "kernel/types.h"

struct mm_struct;

#define PM_PFN_MASK ((1UL << 55) - 1)
#define PM_SOFT_DIRTY (1UL << 55)
#define PM_MMAP_EXCLUSIVE (1UL << 56)
#define PM_UFFD_WP (1UL << 57)
#define PM_FILE (1UL << 61)
#define PM_SWAP (1UL << 62)
#define PM_PRESENT (1UL << 63)

/* PAGEMAP_SCAN: _IOWR('f', 16, struct pm_scan_arg) */
#define PAGEMAP_SCAN 0xC0606610u

#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)
#define PM_SCAN_CATEGORIES 0xffUL

#define PM_SCAN_WP_MATCHING (1 << 0)    /* write-protect the pages matched */
#define PM_SCAN_CHECK_WPASYNC (1 << 1)  /* EPERM on a VMA without async wp */
#define PM_SCAN_FLAGS (PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC)

struct page_region {
	u64 start;
	u64 end;
	u64 categories;
};

struct pm_scan_arg {
	u64 size;               /* sizeof(struct pm_scan_arg) */
	u64 flags;              /* PM_SCAN_* */
	u64 start, end;         /* the range to walk; start page-aligned */
	u64 walk_end;           /* out: where the walk stopped */
	u64 vec;                /* user array of struct page_region */
	u64 vec_len;
	u64 max_pages;          /* report at most this many pages (0: no limit) */
	u64 category_inverted;  /* categories flipped before matching */
	u64 category_mask;      /* all of these required */
	u64 category_anyof_mask;        /* at least one of these (if not 0) */
	u64 return_mask;        /* the categories reported */
};

/* Pagemap entries of the n pages from addr (page-aligned) into out[].
 * Takes mmap_lock for read. */
void pagemap_read_entries(struct mm_struct *mm, u64 addr, u64 n, u64 *out);

/* The PAGEMAP_SCAN ioctl on mm; uarg is the user's struct pm_scan_arg.
 * Regions written, or -errno (Linux's). */
long pagemap_scan(struct mm_struct *mm, u64 uarg);

/* The leaf entries mapping the pages [addr, end), up to the end of the
 * 2 MiB region holding addr, into out[] (0 for none); returns how many
 * pages it filled. *huge: a huge PMD maps them (out[] then holds what each
 * 4 KiB page's entry would be after a split, as pgtable_leaf()). Caller
 * holds mmap_lock for read and no page-table lock; takes them itself. */
u32 pagemap_read_leaves(struct mm_struct *mm, u64 addr, u64 end, u64 *out, bool *huge);

#endif
