/* mm/test_user.h - helpers for in-kernel tests that touch user memory of an
 * address space the calling kernel thread has loaded (kthread_use_mm).
 *
 * copy_from_user/copy_to_user alone show what the hardware does: they fail
 * on any fault, so a stale TLB entry is visible as a copy that succeeds.
 * test_user_access() is what a user program would see: it resolves faults
 * through handle_mm_fault() the way the trap handler does, then retries.
 */
#ifndef PAGODA_MM_TEST_USER_H
#define PAGODA_MM_TEST_USER_H

#include "kernel/types.h"
#include "mm/mm.h"

/* Read 8 bytes the way the hardware alone would: through a cached or a
 * walked translation, never resolving a fault (interrupts are off for the
 * one access, so the fault handler does not call handle_mm_fault - Linux's
 * copy_from_user_nofault). 0, or -EFAULT when no present entry allows it. */
int test_read_nofault(u64 addr, u64 *v);
int test_write_nofault(u64 addr, u64 v);

/* Copy within one page, resolving faults. 0 or the fault's error. */
int test_user_access(struct mm_struct *mm, u64 addr, void *buf, size_t n, bool write);
int test_put_u64(struct mm_struct *mm, u64 addr, u64 v);
int test_get_u64(struct mm_struct *mm, u64 addr, u64 *v);

#endif
