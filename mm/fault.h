/* mm/fault.h - what mm/fault.c offers besides handle_mm_fault() (mm.h):
 * the fault flags, copy-on-write statistics, and unsharing.
 *
 * Copy-on-write (docs/cow.md): fork shares private pages read-only in both
 * address spaces and clears PG_exclusive on them. A write fault on such a
 * page then either reuses it in place - when PG_exclusive is set, or when
 * no reference but this mm's page-table entries exists (mm/
 * anon_exclusive.h) - or copies it. An unshare
 * fault (Linux's FAULT_FLAG_UNSHARE) makes the same copy but keeps it
 * read-only: a read-only pin must see a page no other address space can
 * change or take back, yet must not gain the right to write.
 *
 * Locking: as handle_mm_fault - the faulting VMA's read lock taken under
 * RCU (lock_vma_under_rcu, mm/vma_lock.h) or mmap_lock for read (taken
 * here by mm_unshare_page), the page-table locks inside (mm/pgtable.h).
 */
#ifndef PAGODA_MM_FAULT_H
#define PAGODA_MM_FAULT_H

#include "kernel/types.h"
#include "mm/mm.h"

#define FAULT_WRITE     1u      /* the access writes */
#define FAULT_NEED_PAGE 2u      /* map a real page even for a read (exec) */
#define FAULT_UNSHARE   4u      /* a private copy, kept read-only */

/* mm_fault_in's (and thp_handle_fault's) answer "this write hit a
 * userfaultfd-protected entry in sync mode: the handler must resolve it"
 * (mm/userfaultfd.h). handle_mm_fault then hands the fault over; other
 * callers (pins, populate) fail with -EFAULT. */
#define FAULT_USERFAULT 2

/* Counted for the tests and docs: write faults resolved on a private page
 * already mapped read-only. */
struct cow_stats {
	u64 reuse;              /* the page was this mm's own: made writable */
	u64 copy;               /* shared: copied, the copy mapped writable */
	u64 unshare;            /* unshare faults that copied */
};
extern struct cow_stats cow_stats;

/* "fork_debug_skip_flush": fork does not flush the parent's TLBs after
 * write-protecting it - the bug the cow suite must catch. */
extern bool fork_debug_skip_flush;
void fork_debug_init(void);     /* mm/mm_struct.c: reads the command line */

/* Test hook: if set, runs when a fault on shared memory has fetched the
 * object's page and not yet taken its PTE lock (the window a MADV_REMOVE
 * may land in: mm/shared_anon.h). */
extern void (*fault_debug_shared_hook)(struct mm_struct *mm, u64 addr);

/* Resolve one access at addr in vma as a fault would (flags: FAULT_*).
 * Caller holds mmap_lock for read, or vma's read lock from
 * lock_vma_under_rcu (then a FAULT_USERFAULT answer must be retried under
 * mmap_lock: the wait drops it), and has checked the VMA's rights. */
struct vm_area;
int mm_fault_in(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 flags);

/* Give addr a page of its own in mm without making it writable (copy it if
 * another address space shares it). 0, -EFAULT (no VMA, or PROT_NONE) or
 * -ENOMEM. Takes mmap_lock for read. */
int mm_unshare_page(struct mm_struct *mm, u64 addr);

#endif
