/* SPDX-License-Identifier: MIT */
/* kernel/uaccess.h - copying between the kernel and user memory.
 *
 * Every access to a user pointer goes through these functions. They
 *   - refuse any range that reaches into the kernel half (-EFAULT), so a user
 *     cannot make the kernel read or write kernel memory for it;
 *   - turn a fault on an unmapped or protected user page into -EFAULT through
 *     the exception table, instead of an oops (the copy instruction is listed
 *     in .ex_table; the page-fault handler resumes at the fixup);
 *   - open the SMAP window (STAC ... CLAC) only around the copy, where the CPU
 *     has SMAP: any other kernel access to user memory faults.
 * They may sleep (a page fault may allocate), so no spinlock may be held.
 */
#ifndef PAGODA_UACCESS_H
#define PAGODA_UACCESS_H

#include "kernel/types.h"

/* 0 on success, -EFAULT if any byte could not be copied. */
int copy_from_user(void *dst, u64 user_src, size_t n);
int copy_to_user(u64 user_dst, const void *src, size_t n);
/* Copy a NUL-terminated string of at most size-1 bytes. Returns its length,
 * -EFAULT, or -ENAMETOOLONG when no NUL was found within size bytes. */
long strncpy_from_user(char *dst, u64 user_src, size_t size);
/* Is [addr, addr+n) entirely in the user half? */
bool user_range_ok(u64 addr, size_t n);

/* A user struct iovec, and Linux's limit on how many a call may pass. */
#define UIO_MAXIOV 1024
struct iovec_k {
	u64 base;
	s64 len;
};
/* Copy a user iovec array of cnt entries into a kmalloc'ed array (kfree
 * it). NULL with *err set: -EINVAL for more than UIO_MAXIOV entries or a
 * negative length, -EFAULT for an unreadable array, -ENOMEM. Linux's checks
 * in Linux's order (import_iovec). */
struct iovec_k *import_iovec(u64 uvec, u64 cnt, long *err);

/* Set once at boot when the CPU has SMAP (mm/ enables CR4.SMAP). */
extern bool cpu_has_smap;

#endif
