/* SPDX-License-Identifier: MIT */
/* mm/mlock.h - mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2):
 * locked memory (docs/mlock.md).
 *
 * What locking means here. Linux's promise is that a locked page stays in
 * memory: reclaim never swaps it out or drops it. Pagoda has no swap and
 * never reclaims anonymous memory, so every page already stays; what is
 * left of mlock is Linux's other promises, which Pagoda keeps exactly:
 *   - populated now: mlock faults the range in (writable private memory
 *     with write faults, so that no copy-on-write fault comes later), as
 *     MAP_LOCKED and mlockall(MCL_CURRENT) do; VM_LOCKONFAULT (mlock2's
 *     MLOCK_ONFAULT, MCL_ONFAULT) skips that: pages are locked as they are
 *     touched;
 *   - kept: advice that would drop or age the pages (MADV_DONTNEED,
 *     MADV_FREE, MADV_REMOVE, MADV_COLD, MADV_PAGEOUT) fails with EINVAL
 *     on a VM_LOCKED VMA (only MADV_DONTNEED_LOCKED may drop them);
 *     khugepaged and MADV_COLLAPSE replace small pages by a huge one, which
 *     keeps the memory present (Linux collapses locked VMAs too); an empty
 *     page table is reclaimed only when it maps nothing, which a populated
 *     locked range never leaves;
 *   - not inherited: fork gives the child the VMAs without VM_LOCKED and
 *     VM_LOCKONFAULT, and an mm without mlockall's future flags.
 *
 * VM_LOCKED and VM_LOCKONFAULT are VMA flags (mm/mm.h), so locking part of
 * a VMA splits it and unlocking merges it again (mm/vma.c), as any other
 * flag change. VmLck (/proc/PID/status) is the size of the VM_LOCKED VMAs,
 * Linux's mm->locked_vm, computed from them when asked (mm_locked_pages);
 * /proc/PID/smaps's Locked is the Pss of a VM_LOCKED VMA (mm/maps.c).
 *
 * RLIMIT_MEMLOCK: every process is root (uid 0) with every capability, so
 * Linux's check "over the limit and not CAP_IPC_LOCK" never refuses; Pagoda
 * has no limit to check (can_do_mlock is always true, as for root).
 *
 * Locking: the calls take mmap_lock for write to change the VMAs, then for
 * read to populate (Linux's __mm_populate), as Linux's do_mlock.
 */
#ifndef PAGODA_MM_MLOCK_H
#define PAGODA_MM_MLOCK_H

#include "kernel/types.h"

struct mm_struct;

/* Linux's uapi values. */
#define MLOCK_ONFAULT 0x01
#define MCL_CURRENT 1
#define MCL_FUTURE 2
#define MCL_ONFAULT 4

/* The calls on a given address space (the sys_ handlers pass current's). */
long do_mlock(struct mm_struct *mm, u64 start, u64 len, u32 vm_flags);
long do_munlock(struct mm_struct *mm, u64 start, u64 len);
long do_mlockall(struct mm_struct *mm, u64 flags);
long do_munlockall(struct mm_struct *mm);

/* Pages in VM_LOCKED VMAs (VmLck). Takes mmap_lock for read. */
u64 mm_locked_pages(struct mm_struct *mm);

/* mm/mmap.c: give [start, end), inside one VMA, the flags newflags, which
 * differ from the VMA's only in bits the page-table entries do not depend
 * on (VM_LOCKED, VM_LOCKONFAULT): split at the ends, set, merge with equal
 * neighbours. mmap_lock held for write. 0 or -ENOMEM. */
int mm_set_range_vm_flags(struct mm_struct *mm, u64 start, u64 end, u32 newflags);

/* Registers the five system calls. */
void mlock_syscalls_init(void);

#endif
