/* SPDX-License-Identifier: MIT */
/* mm/fault.h - page faults: the entry handle_mm_fault(), the fault flags and
 * results, copy-on-write statistics, and unsharing.
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
 *
 * The fault path, one kind at a time (mm/fault.c, mm/huge_memory.c):
 *   handle_mm_fault           the trap's entry: VMA, rights, lock
 *   __handle_mm_fault         huge PMD or not, for a VMA already found
 *     huge_pmd_fault          (thp.h) do_huge_pmd_anonymous_page,
 *                             do_huge_pmd_wp_page, the PMD unshare
 *     handle_pte_fault        the uffd-wp hand-off, then one of:
 *       do_anonymous_page     nothing mapped, private: zero or new page
 *       do_shared_fault       nothing mapped, shared: the object's page
 *       do_wp_page            mapped: wp_page_reuse, wp_page_copy, or
 *                             the unshare (wp_page_unshare)
 * Linux cuts the top differently: x86's do_user_addr_fault (arch/x86/mm/
 * fault.c) reads the error code, finds the VMA and calls handle_mm_fault,
 * the per-VMA function. Here the trap calls handle_mm_fault with the error
 * code, and __handle_mm_fault is the per-VMA function (the one Linux also
 * names so); below it the names and the cut are Linux's.
 */
#ifndef PAGODA_MM_FAULT_H
#define PAGODA_MM_FAULT_H

#include "kernel/types.h"
#include "mm/mm.h"
#include "kernel/errno.h"

/* What an access asks of a fault (an input: never a result). */
#define FAULT_WRITE     1u      /* the access writes */
#define FAULT_NEED_PAGE 2u      /* map a real page even for a read (exec) */
#define FAULT_UNSHARE   4u      /* a private copy, kept read-only */

/* What every fault function answers (Linux's vm_fault_t, one value rather
 * than a bit set), and who acts on it. */
typedef enum vm_fault_reason {
	/* Nothing more to do here: the entry allows the access now, or it
	 * changed under us (another CPU's fault, a zap, a split) and the
	 * access is simply tried again, faulting again if it must. */
	VM_FAULT_DONE = 0,
	/* The fault slept in handle_userfault, which released mmap_lock:
	 * the caller must not unlock it again; the access is retried. Only
	 * handle_mm_fault returns it. */
	VM_FAULT_RETRY,
	/* The PMD level could not handle it (no huge PMD fits, none could be
	 * allocated, or a huge PMD was split): go on at the PTE level. Only
	 * between the huge-PMD faults (mm/thp.h) and __handle_mm_fault. */
	VM_FAULT_FALLBACK,
	/* A write hit a userfaultfd-protected entry in sync mode: the
	 * handler must resolve it (mm/userfaultfd.h). handle_mm_fault hands
	 * it over under mmap_lock (the fast path retries there first); other
	 * callers (pins, populate) fail with -EFAULT. */
	VM_FAULT_USERFAULT,
	/* The same for a missing page: nothing mapped (or a marker) in a VMA
	 * registered for missing faults; the handler fills it (UFFDIO_COPY,
	 * UFFDIO_ZEROPAGE). Handed over and refused as VM_FAULT_USERFAULT. */
	VM_FAULT_USERFAULT_MISSING,
	/* No memory for a page or a table. handle_mm_fault first has the
	 * deferred split give memory back and retries; the trap handler
	 * kills the process (SIGKILL); others return -ENOMEM. */
	VM_FAULT_OOM,
	/* The access is not allowed (no VMA, no right, a refused entry):
	 * SIGSEGV for user code, the exception-table fixup for uaccess,
	 * -EFAULT for the other callers. */
	VM_FAULT_SIGSEGV,
	/* The page is beyond the end of the object the VMA maps (a memfd
	 * truncated under its mapping, a shared mapping grown by mremap):
	 * SIGBUS (BUS_ADRERR) for user code, the fixup for uaccess, -EFAULT
	 * for the other callers. */
	VM_FAULT_SIGBUS,
} vm_fault_t;

/* The errno a non-trap caller reports for a fault result (Linux's
 * vm_fault_to_errno): 0 for DONE and RETRY. */
static inline int vm_fault_to_errno(vm_fault_t r)
{
	switch (r) {
	case VM_FAULT_DONE:
	case VM_FAULT_RETRY:
		return 0;
	case VM_FAULT_OOM:
		return -ENOMEM;
	default:
		return -EFAULT;
	}
}

/* One fault as it goes down the levels (Linux's struct vm_fault): what was
 * asked, and what the first look under the lock saw. */
struct vm_area;
struct vm_fault {
	struct mm_struct *mm;
	struct vm_area *vma;
	u64 address;            /* the faulting address, page-aligned */
	u32 flags;              /* FAULT_* */
	u64 *pmd;               /* PMD level: the entry (page_table_lock) */
	u64 orig_pmd;           /*   and its value when looked at */
	u64 *pte;               /* PTE level: the entry, while *ptl is held */
	u32 *ptl;
	u64 orig_pte;           /*   its value when looked at (A, D aside) */
	bool exclusive;         /* its page may be taken as this mm's own */
};

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
/* Negative controls of labs/cow and labs/pagewalk (mm/fault.c): a write
 * fault that always copies, never reusing a page only this mm maps
 * ("cow_debug_always_copy": cow.reuse_vs_copy must fail); a read of
 * never-touched private memory that gets a fresh page, not the zero page
 * ("fault_debug_no_zero_page": vm.zero_then_fresh must fail). */
extern bool cow_debug_always_copy;
extern bool fault_debug_no_zero_page;
void fork_debug_init(void);     /* mm/mm_struct.c: reads the command line */

/* Test hook: if set, runs when a fault on shared memory has fetched the
 * object's page and not yet taken its PTE lock (the window a MADV_REMOVE
 * may land in: mm/shared_anon.h). */
extern void (*fault_debug_shared_hook)(struct mm_struct *mm, u64 addr);

/* A page fault at addr (error_code as pushed by the CPU) in mm: finds and
 * locks the VMA itself (per-VMA lock, else mmap_lock for read: mm/
 * vma_lock.h), checks the access against its rights, resolves it.
 * VM_FAULT_DONE or _RETRY: retry the access; _SIGSEGV; _OOM. Call it with
 * interrupts enabled and no spinlock held: it may sleep and may send
 * TLB-flush IPIs (mm.h). */
vm_fault_t handle_mm_fault(struct mm_struct *mm, u64 addr, u64 error_code);

/* Resolve one access at addr in vma as a fault would (flags: FAULT_*), for
 * callers that found the VMA and checked its rights themselves (the
 * trap's path above, pins, populate, exec, unshare). Caller holds mmap_lock
 * for read, or vma's read lock from lock_vma_under_rcu (then a
 * VM_FAULT_USERFAULT(_MISSING) answer must be retried under mmap_lock: the
 * wait drops it). VM_FAULT_DONE, _USERFAULT(_MISSING) or _OOM. */
vm_fault_t __handle_mm_fault(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 flags);

/* Give addr a page of its own in mm without making it writable (copy it if
 * another address space shares it). 0, -EFAULT (no VMA, or PROT_NONE) or
 * -ENOMEM. Takes mmap_lock for read. */
int mm_unshare_page(struct mm_struct *mm, u64 addr);

#endif
