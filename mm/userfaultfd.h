/* SPDX-License-Identifier: MIT */
/* mm/userfaultfd.h - the memory manager's side of userfaultfd
 * (docs/userfaultfd.md), and the seam between it and the file side.
 *
 * Two halves:
 *   kernel/userfaultfd.c - the file: userfaultfd(2), the context, the
 *                          ioctls, the queue of fault messages, read/poll,
 *                          the faulting threads that sleep until woken.
 *   mm/userfaultfd.c     - the page tables: registering ranges on VMAs, the
 *                          write-protect bit and markers, write-protecting a
 *                          range under one mmu_gather, resolving async faults.
 * mm/fault.c calls handle_userfault() (file side) when a fault must go to the
 * handler; the file side calls the uffd_* functions below (mm side).
 *
 * Page-table encoding (x86 software bits, as Linux):
 *   PTE_UFFD_WP (bit 10) on a present entry: write-protected for userfaultfd.
 *     Setting it always clears PTE_W; a write fault on such an entry in a
 *     VM_UFFD_WP VMA goes to the handler (sync) or clears the bit (async).
 *   A marker: an entry that is exactly PTE_UFFD_WP (not present, no page):
 *     "empty, but write-protected" (UFFD_FEATURE_WP_UNPOPULATED). A read of
 *     it maps the zero page keeping the bit; a write faults like above.
 *   On a huge PMD the same bit 10 means the same for the whole 2 MiB.
 *
 * Locking: VMA flags and vma->uffd_ctx change under mmap_lock for write; the
 * bits in the entries under the page-table locks (mm/pgtable.h). The file side
 * never touches page tables.
 */
#ifndef PAGODA_MM_USERFAULTFD_H
#define PAGODA_MM_USERFAULTFD_H

#include "kernel/types.h"

struct mm_struct;
struct vm_area;
struct userfaultfd_ctx;         /* kernel/userfaultfd.c */

/* VMA flags (mm/mm.h VM_*): registered for missing faults / for WP. */
#define VM_UFFD_MISSING 0x1000
#define VM_UFFD_WP      0x2000

/* Reasons passed to handle_userfault(): the flags of struct uffd_msg's
 * pagefault event (Linux uapi UFFD_PAGEFAULT_FLAG_*). */
#define UFFD_REASON_WRITE 0x1   /* the access was a write */
#define UFFD_REASON_WP    0x2   /* it hit a write-protected entry */

/* --- file side (kernel/userfaultfd.c) ---------------------------------- */

/* The features the context's UFFDIO_API negotiated (UFFD_FEATURE_* bits). */
u64 uffd_ctx_features(const struct userfaultfd_ctx *ctx);

/* Events (UFFD_FEATURE_EVENT_*, Linux's userfaultfd_event_wait_completion):
 * a change of the address space that the handler must hear of before it
 * goes on. uffd_event_prepare() under mmap_lock, where the change starts:
 * a reference, and mmap_changing raised - UFFDIO_COPY/ZEROPAGE answer
 * -EAGAIN meanwhile, since the addresses they name may be moving. Then,
 * with no mm lock held, uffd_event_deliver() queues the message, wakes the
 * readers and sleeps until a read(2) has taken it (or the context is
 * released, or the thread killed), lowers mmap_changing and drops the
 * reference. true if it was read. fork_ctx: a FORK event's new context. */
struct uffd_msg;
bool uffd_ctx_mmap_changing(const struct userfaultfd_ctx *ctx);
void uffd_event_prepare(struct userfaultfd_ctx *ctx);
bool uffd_event_deliver(struct userfaultfd_ctx *ctx, const struct uffd_msg *msg,
			struct userfaultfd_ctx *fork_ctx);
/* Give back what uffd_event_prepare() took, sending nothing (a failed fork). */
void uffd_event_deliver_cancel(struct userfaultfd_ctx *ctx);
/* EVENT_FORK: a context for the child mm like octx (its flags, features,
 * handshake done), without a file until the event is read; NULL on
 * -ENOMEM. Dropped with uffd_ctx_fork_drop() if it is never read. */
struct userfaultfd_ctx *uffd_ctx_fork(struct userfaultfd_ctx *octx, struct mm_struct *child);
void uffd_ctx_fork_drop(struct userfaultfd_ctx *ctx);

/* A fault at addr in vma (registered with vma->uffd_ctx) must go to the
 * handler. reason: UFFD_REASON_WP for a write-protect fault, else a missing
 * fault (UFFD_REASON_WRITE if it was a write). Called from handle_mm_fault with mmap_lock held for read; queues
 * a message, asks uffd_must_wait() (below) whether the entry is still
 * protected - if not, it unqueues and returns at once - then wakes readers,
 * RELEASES mmap_lock and sleeps until a UFFDIO_WRITEPROTECT/WAKE covering
 * addr wakes it, the context is released, or the process is being killed -
 * or, when interruptible (a fault of user code), until a signal is pending:
 * the thread then goes back to user mode, runs the handler, and faults
 * again (Linux's interruptible wait; a fault of the kernel's own access
 * gives way to a kill only there too). Returns with mmap_lock released; the
 * caller then returns 0 so the access is retried. (UFFD_FEATURE_SIGBUS: the
 * caller raises SIGBUS instead.) */
void handle_userfault(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 reason,
		      bool interruptible);

/* --- mm side (mm/userfaultfd.c) ---------------------------------------- */

/* UFFDIO_REGISTER: mark every VMA in [start, end) with vm_flags
 * (VM_UFFD_MISSING and/or VM_UFFD_WP) and ctx, splitting VMAs at the ends.
 * Takes mmap_lock for write. 0, or -EINVAL (no VMA in the range, or one
 * that cannot be registered: not private anonymous), -EBUSY (registered
 * with another context), -ENOMEM. */
int uffd_register_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx,
			u64 start, u64 end, u32 vm_flags);

/* UFFDIO_UNREGISTER: clear the registration of [start, end), dropping any
 * write protection left in the entries. Same errors. */
int uffd_unregister_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx,
			  u64 start, u64 end);

/* The context is going away (last close): unregister every VMA of mm that
 * points at it. */
void uffd_release_mm(struct mm_struct *mm, struct userfaultfd_ctx *ctx);

/* UFFDIO_WRITEPROTECT: set (wp) or clear the protection of [start, end),
 * all of which must be registered with VM_UFFD_WP (else -ENOENT). With
 * markers (the context negotiated WP_UNPOPULATED), empty entries get a
 * marker when protecting; on return every entry of the range is protected,
 * whatever huge PMDs faults put in meanwhile (each 2 MiB piece is decided
 * under the PMD lock). One mmu_gather, one TLB flush. Takes mmap_lock for
 * read. 0 or -errno; -ENOMEM when a page table for markers cannot be had:
 * the pieces before it stay protected, as on Linux (nothing is rolled
 * back; the flush is still done). The caller wakes faulters afterwards. */
int uffd_wp_range(struct mm_struct *mm, u64 start, u64 end, bool wp);

/* "uffd_debug_local_wp_flush": protecting takes the write right away but
 * flushes only the calling CPU's TLB, not the other CPUs' - the bug the
 * uffd_test program must catch (a writer thread on another CPU keeps writing
 * through its cached writable entry: its write is neither stopped nor seen
 * as "written"). Read by uffd_mm_init(). */
extern bool uffd_debug_local_wp_flush;
/* "uffd_debug_wp_huge_first": protecting walks the range twice, huge PMDs
 * first, then the PTE tables, and the second walk leaves a PMD that became
 * huge in between alone - the gap uffd.markers_race_thp_faults must catch
 * (a THP faulted in there keeps no uffd-wp bit). Read by uffd_mm_init(). */
extern bool uffd_debug_wp_huge_first;
/* If set (by a test), protecting calls it for each piece with a PTE table
 * between deciding the piece under the PMD lock and taking the PTE lock:
 * the window in which the table may be reclaimed and a huge PMD faulted in.
 * mmap_lock is held for read, no page-table lock. */
extern void (*uffd_wp_debug_window_hook)(struct mm_struct *mm, u64 addr);
void uffd_mm_init(void);

/* A fault at addr in vma, queued for the handler by handle_userfault(),
 * is about to sleep: must it? A missing fault (reason without
 * UFFD_REASON_WP): yes while the PTE is still empty (or a marker) in a VMA
 * still registered for MISSING, under the PTE lock UFFDIO_COPY installs
 * under. A write-protect fault: yes while the entry that
 * sent it there - the PTE or marker, or the huge PMD, mapping addr - still
 * carries the uffd-wp bit in a VMA registered for sync WP; no once the
 * protection was cleared, or the entry zapped. Reads the entry under its
 * page-table lock, which every clearing of the bit holds: a clearing that
 * comes after this look is followed by its wake-up, which finds the fault
 * queued. Caller holds mmap_lock for read; does not sleep or allocate. */
bool uffd_must_wait(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 reason);

/* "uffd_debug_skip_must_wait": uffd_must_wait() always says yes, so a fault
 * sleeps even when its entry was unprotected (and the wake-up sent) between
 * its decision and its queueing - the lost wake-up uffd_file's
 * wake_before_queue case must catch (the fault stays asleep). */
extern bool uffd_debug_skip_must_wait;

/* Clearing the protection of entry (a PTE or a huge PMD) in a VMA with
 * vm_flags: may it become writable at once? (mm/userfaultfd.c) */
bool uffd_may_restore_write(u64 entry, u32 vm_flags);

/* Does vma resolve its own write-protect faults (WP_ASYNC negotiated)? */
bool uffd_vma_async(const struct vm_area *vma);
/* Do write faults on protected entries of vma go to the handler (VM_UFFD_WP
 * and not async)? What the faults decide on (mm/fault.c, mm/huge_memory.c), and
 * uffd_must_wait() checks again. */
bool uffd_vma_wp_sync(const struct vm_area *vma);

/* Does a missing fault in vma go to the handler (VM_UFFD_MISSING)? */
bool uffd_vma_missing(const struct vm_area *vma);

/* UFFDIO_COPY / UFFDIO_ZEROPAGE (Linux's mfill_atomic): fill the empty
 * pages of [dst, dst + len) in mm, a range inside one VMA registered with
 * some context (else -ENOENT), with copies of the caller's memory at src
 * (COPY; COPY_WP maps them write-protected, which needs VM_UFFD_WP, else
 * -EINVAL) or with the zero page. Each page is read from the caller first
 * (no lock held: that read may fault), then installed under mmap_lock for
 * read and its PTE lock, only if the entry is still empty (or a marker):
 * else -EEXIST. A new entry replaces a non-present one, so no TLB holds
 * anything to flush. Stops at the first error, or when ctx's
 * mmap_changing is raised (-EAGAIN). The bytes filled if any, else
 * -errno. Takes mmap_lock itself. */
#define UFFD_MFILL_COPY 0
#define UFFD_MFILL_COPY_WP 1
#define UFFD_MFILL_ZEROPAGE 2
long uffd_mfill(struct userfaultfd_ctx *ctx, struct mm_struct *mm, u64 dst, u64 src, u64 len,
		u32 how);
/* "uffd_debug_copy_no_recheck": the fill installs without looking at the
 * entry under the PTE lock - an existing page is overwritten, and EEXIST
 * never said (the negative control of uffd_missing_test's EEXIST cases). */
extern bool uffd_debug_copy_no_recheck;

/* fork (mm/mm_struct.c), Linux's dup_userfaultfd. A child VMA copied from a
 * registered parent VMA keeps the registration only if the parent's context
 * negotiated EVENT_FORK: uffd_fork_keeps(parent VMA). Then
 * dup_userfaultfd() (both mmap_locks held for write) gives it the child's
 * context for that parent context - one per context and fork, made on
 * first use - and after the locks are dropped dup_userfaultfd_complete()
 * sends each parent context its FORK event and waits for it to be read;
 * a context whose event was not read (released, killed), or every one if
 * the fork failed, is dropped and its child VMAs unregistered. The child's
 * entries keep their uffd-wp bits and markers where its VMA stays
 * registered for WP. */
#define UFFD_FORK_MAX 8
struct uffd_fork_list {
	u32 n;
	struct {
		struct userfaultfd_ctx *orig, *new;
	} e[UFFD_FORK_MAX];
};
bool uffd_fork_keeps(const struct vm_area *parent_vma);
bool uffd_fork_keeps_wp(const struct vm_area *parent_vma);
int dup_userfaultfd(struct vm_area *child_vma, struct userfaultfd_ctx *octx,
		    struct uffd_fork_list *fl);
void dup_userfaultfd_complete(struct mm_struct *child, struct uffd_fork_list *fl, bool failed);
/* The markers of v (the parent's VMA) into the child, where the child's copy
 * stays registered for WP (uffd_fork_keeps_wp): an unpopulated protected
 * page is still protected in the child, as on Linux (which copies its PTE
 * markers when the child VMA is uffd-wp). Called by fork after the pages
 * are copied, both mmap_locks held for write (no fault can run). 0 or
 * -ENOMEM (a page table for the child). */
int uffd_fork_copy_markers(struct mm_struct *parent, struct mm_struct *child,
			   const struct vm_area *v);
/* "uffd_debug_fork_drop_markers": fork copies no marker (the negative
 * control of uffd_missing_test's fork-with-markers case). */
extern bool uffd_debug_fork_drop_markers;

/* mremap moved entries into vma, a copy of a registered VMA (mm/mremap.h;
 * mmap_lock held for write, the VMA not yet merged). With EVENT_REMAP the
 * VMA keeps its registration and protection, and *uf remembers the context
 * for mremap_userfaultfd_complete() (no mm lock held: the REMAP event).
 * Without it the VMA loses both, as a Linux without the event. */
struct uffd_remap {
	struct userfaultfd_ctx *ctx;
};
void mremap_userfaultfd_prep(struct mm_struct *mm, struct vm_area *vma, struct uffd_remap *uf);
void mremap_userfaultfd_complete(struct uffd_remap *uf, u64 from, u64 to, u64 len);

/* MADV_DONTNEED/FREE of [start, end), mmap_lock held for read (Linux's
 * userfaultfd_remove): each VMA there whose context negotiated
 * EVENT_REMOVE gets a REMOVE event for its part before anything is
 * zapped, up to the first VMA the advice refuses (locked, unless
 * MADV_DONTNEED_LOCKED; MADV_FREE of shared memory), where madvise stops
 * with EINVAL: no event for what is not removed, as Linux checks each
 * VMA before its event. The lock is dropped while the event waits for its
 * reader and taken again (for read) before returning. */
void userfaultfd_remove(struct mm_struct *mm, u64 start, u64 end, u64 advice);
/* "uffd_debug_remove_unchecked": a REMOVE event for every registered VMA of
 * the range, refused or not (the negative control of uffd_missing_test's
 * refused-DONTNEED case). */
extern bool uffd_debug_remove_unchecked;

/* munmap of [start, end) (Linux's userfaultfd_unmap_prep/complete): under
 * mmap_lock for write, before the unmap, note each context with
 * EVENT_UNMAP of the VMAs there (once per context); after the lock is
 * dropped, send each an UNMAP event {start, end} and wait for its reader.
 * Prep returns -ENOMEM, having noted nothing more, when more than
 * UFFD_UNMAP_MAX contexts would be noted: the caller must then not unmap. */
#define UFFD_UNMAP_MAX 4
struct uffd_unmap_list {
	u32 n;
	struct {
		struct userfaultfd_ctx *ctx;
		u64 start, end;
	} e[UFFD_UNMAP_MAX];
};
int userfaultfd_unmap_prep(struct mm_struct *mm, u64 start, u64 end, struct uffd_unmap_list *ul);
void userfaultfd_unmap_complete(struct uffd_unmap_list *ul);

/* mm/mmap.c: give [start, end), inside one VMA, the flags newflags (which
 * differ from the VMA's in VM_UFFD_* only) and the context ctx, splitting
 * and merging VMAs. mmap_lock held for write. 0 or -ENOMEM. */
int mm_set_range_uffd(struct mm_struct *mm, u64 start, u64 end, u32 newflags,
		      struct userfaultfd_ctx *ctx);

#endif
