/* SPDX-License-Identifier: MIT */
/* mm/vma_lock.h - page faults without the mmap_lock: per-VMA locks
 * (Linux 6.4's lock_vma_under_rcu; docs/vma-locks.md).
 *
 * The problem: every fault used to take its address space's mmap_lock for
 * reading, so one thread's mmap, munmap or mprotect (holding it for
 * writing) stalled every other thread's faults, even in unrelated memory.
 *
 * The fast path (handle_mm_fault): look the VMA up under RCU with no lock
 * (vma_find_rcu: the set is RCU-safe, mm/vma.h), take that VMA's own lock
 * for reading - never waiting for a writer (other faults in the same VMA
 * do not stop it) - and check under it that the VMA is
 * not being changed (vma_lock_seq, below) and is still in the set around
 * the address. Then handle the fault holding only that lock. Whenever that
 * cannot be done, drop everything and fault the old way, under mmap_lock:
 *   - no VMA at the address (a miss, or a stack that must grow): abort;
 *   - the VMA is write-locked, or its lock is held for a change: abort;
 *   - it left the set since the lookup (detached): look it up again (miss);
 *   - the fault must wait for a userfaultfd handler, which sleeps and
 *     drops mmap_lock there: retry under mmap_lock.
 * Everything else - anonymous, zero-page, copy-on-write, unshare, THP,
 * huge zero page, shared anonymous faults, access errors - is served on
 * the fast path.
 *
 * Writers: a section holding mmap_lock for writing write-locks each VMA it
 * changes or removes, and every VMA it inserts, before changing it
 * (vma_start_write: waits for the fast-path faults inside that VMA to
 * leave, then sets its vm_lock_seq to the mm's mm_lock_seq). It stays
 * write-locked until the section ends: mmap_write_unlock bumps
 * mm_lock_seq, which unlocks all of them at once. So a fast-path fault
 * either finished before the change began, or starts after the section
 * and sees its result, or gives up. fork write-locks every VMA of the
 * parent (its copy of the page tables assumes no fault in the parent:
 * Linux 6.4 corrupted memory without it), and so do clear_refs and the
 * map checker.
 *
 * Who stays under mmap_lock: MADV_DONTNEED, process_madvise, pagemap,
 * UFFDIO_WRITEPROTECT and the other readers take it for reading, as
 * before; they never excluded faults, so fast-path faults change nothing
 * for them.
 *
 * Lock order: mmap_lock, then a VMA's lock (a writer holds it only for a
 * moment); a fast-path fault holds one VMA's lock (never two, never
 * mmap_lock) and then takes page-table locks (mm/pgtable.h). A fault
 * never sleeps holding a VMA's lock, so a writer waits for it spinning.
 *
 * Counters (/proc/vmstat, Linux's names): vma_lock_success (faults served
 * on the fast path), vma_lock_abort (could not lock a VMA: fell back),
 * vma_lock_retry (locked, but the fault needed mmap_lock), vma_lock_miss
 * (the VMA found was detached: looked up again).
 *
 * Boot words: "vma_lock=0" turns the fast path off (every fault under
 * mmap_lock, for comparison). Negative controls: "vma_debug_skip_seq_check"
 * (the fast path trusts its lookup: no write-lock or detached check),
 * "vma_debug_free_now" (VMAs freed without waiting for a grace period),
 * "vma_debug_fork_skip_lock" (fork leaves the parent's VMAs open to
 * fast-path faults while it copies) and "vma_debug_lock_after_zap" (munmap
 * write-locks its VMAs only as it removes them, after the zap): each makes
 * a case of the vma_lock suite fail.
 */
#ifndef PAGODA_MM_VMA_LOCK_H
#define PAGODA_MM_VMA_LOCK_H

#include "kernel/types.h"

struct mm_struct;
struct vm_area;

/* The mmap_lock for writing: every section that changes VMAs goes through
 * these two (mmap_write_unlock ends the section's VMA write locks). */
void mmap_write_lock(struct mm_struct *mm);
void mmap_write_unlock(struct mm_struct *mm);
/* The same for a second mm while holding the first one's (fork: the
 * child's, subclass 1 - the validator's name for "always second"). */
void mmap_write_lock_nested(struct mm_struct *mm, u32 subclass);
/* Panics unless some thread holds mm's mmap_lock for writing; with the
 * lock validator on (kernel/lockdep.h), unless THIS thread does. */
void mmap_assert_write_locked(struct mm_struct *mm);
/* The same for reading or writing. */
void mmap_assert_locked(struct mm_struct *mm);
/* With the validator on, report unless this CPU holds mm's page_table_lock
 * (the PMD lock) / the lock of the PTE table pte is in (mm/pgtable.h). */
void pmd_assert_locked(struct mm_struct *mm);
void pte_assert_locked(const u64 *pte);

/* Write-lock v (v->mm's mmap_lock held for writing) until the section
 * ends; waits for fast-path faults inside v to finish. */
void vma_start_write(struct vm_area *v);
/* The same for every VMA of mm. */
void vma_start_write_all(struct mm_struct *mm);

/* The fast path: the VMA around addr, read-locked, or NULL (fall back to
 * mmap_lock; the counters say why). vma_end_read() when done. */
struct vm_area *lock_vma_under_rcu(struct mm_struct *mm, u64 addr);
void vma_end_read(struct vm_area *v);
/* With the validator on: report unless this CPU read-locked v. */
void vma_assert_read_locked(struct vm_area *v);
/* What a fault needs: mm's mmap_lock (read or write), or v's read lock
 * from lock_vma_under_rcu (Linux: vma_assert_locked). */
void fault_assert_locked(struct mm_struct *mm, struct vm_area *v);

/* Is the fast path on ("vma_lock=0" turns it off)? */
extern bool vma_lock_enabled;
/* The negative controls above. */
extern bool vma_debug_skip_seq_check;
extern bool vma_debug_free_now;
extern bool vma_debug_fork_skip_lock;
extern bool vma_debug_lock_after_zap;

enum vma_lock_event { VMA_LOCK_SUCCESS, VMA_LOCK_ABORT, VMA_LOCK_RETRY, VMA_LOCK_MISS,
		      NR_VMA_LOCK_EVENTS };
void count_vma_lock_event(enum vma_lock_event e);
u64 vma_lock_events(enum vma_lock_event e);

/* Test hook: called by lock_vma_under_rcu between the lookup and the
 * VMA's lock (the window a change may fall into), when set. */
extern void (*vma_debug_lookup_hook)(struct mm_struct *mm, struct vm_area *found);

void vma_lock_init(void);               /* reads the command line */

#endif
