/* SPDX-License-Identifier: MIT */
/* kernel/sys_enosys.c - calls Pagoda answers ENOSYS on purpose, as a Linux
 * built without the feature does, because the C libraries have a fallback
 * for each (an unregistered number gets ENOSYS too, but also a line in
 * the log: kernel/syscall.c; these are known and expected).
 *
 *   set_robust_list, get_robust_list: robust futexes would need the kernel
 *     to walk the list at thread exit and mark the lock words of a dead
 *     owner (FUTEX_OWNER_DIED); Pagoda does not. glibc then refuses
 *     PTHREAD_MUTEX_ROBUST mutexes with ENOTSUP (Linux without
 *     futex_cmpxchg_enabled answers ENOSYS the same way).
 *   rseq: restartable sequences (CONFIG_RSEQ=n): glibc then takes its
 *     sched_getcpu fallback.
 *   clone3: glibc's pthread_create and fork fall back to clone.
 */
#include "kernel/syscall.h"
#include "kernel/errno.h"

static long sys_not_built(void)
{
	return -ENOSYS;
}

void enosys_syscalls_init(void)
{
	syscall_register(SYS_set_robust_list, (void (*)(void))sys_not_built);
	syscall_register(SYS_get_robust_list, (void (*)(void))sys_not_built);
	syscall_register(SYS_rseq, (void (*)(void))sys_not_built);
	syscall_register(SYS_clone3, (void (*)(void))sys_not_built);
}
