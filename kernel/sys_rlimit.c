/* SPDX-License-Identifier: MIT */
/* kernel/sys_rlimit.c - getrlimit, setrlimit, prlimit64: resource limits.
 *
 * Pagoda's limits are fixed and the same for every process: those it
 * enforces by construction (RLIMIT_STACK: the 8 MiB stack VMA;
 * RLIMIT_NOFILE: the 16-slot fd table; RLIMIT_NPROC: the thread table),
 * Linux's defaults where Linux's default is also what Pagoda does
 * (RLIMIT_CORE 0: no core dumps; RLIMIT_MEMLOCK 8 MiB, which root ignores),
 * and RLIM_INFINITY for what it does not limit. glibc reads RLIMIT_STACK at
 * start-up to size thread stacks.
 *
 * Setting a limit to the value it has is accepted; any other value is
 * refused with EPERM: a limit Pagoda would not enforce must not look set
 * (docs/syscalls.md). The checks come first, in Linux's order.
 */
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"

#define RLIM_NLIMITS 16
#define RLIM_INFINITY (~0UL)
#define RLIMIT_STACK 3
#define RLIMIT_CORE 4
#define RLIMIT_NPROC 6
#define RLIMIT_NOFILE 7
#define RLIMIT_MEMLOCK 8
#define RLIMIT_MSGQUEUE 12
#define RLIMIT_NICE 13
#define RLIMIT_RTPRIO 14

struct rlimit_k {
	u64 cur, max;
};

static struct rlimit_k limit_of(u32 resource)
{
	switch (resource) {
	case RLIMIT_STACK:
		return (struct rlimit_k){ 8UL << 20, RLIM_INFINITY };
	case RLIMIT_CORE:
		return (struct rlimit_k){ 0, RLIM_INFINITY };
	case RLIMIT_NPROC:
		return (struct rlimit_k){ MAX_THREADS, MAX_THREADS };
	case RLIMIT_NOFILE:
		return (struct rlimit_k){ MAX_FILES, MAX_FILES };
	case RLIMIT_MEMLOCK:
		return (struct rlimit_k){ 8UL << 20, 8UL << 20 };
	case RLIMIT_MSGQUEUE:
		return (struct rlimit_k){ 819200, 819200 };
	case RLIMIT_NICE:
	case RLIMIT_RTPRIO:
		return (struct rlimit_k){ 0, 0 };
	default:
		return (struct rlimit_k){ RLIM_INFINITY, RLIM_INFINITY };
	}
}

/* do_prlimit: a new value is checked (EINVAL) before it is refused. */
static long set_limit(u32 resource, const struct rlimit_k *new)
{
	if (new->cur > new->max)
		return -EINVAL;
	struct rlimit_k now = limit_of(resource);
	if (new->cur != now.cur || new->max != now.max)
		return -EPERM;
	return 0;
}

static long sys_prlimit64(u64 pid, u64 resource, u64 unew, u64 uold)
{
	struct rlimit_k new, old;
	if (resource >= RLIM_NLIMITS)
		return -EINVAL;
	if (unew && copy_from_user(&new, unew, sizeof(new)))
		return -EFAULT;
	if ((s32)pid != 0 && (s32)pid != (s32)current_proc()->pid && !proc_pid_alive((u32)pid))
		return -ESRCH;
	if (unew) {
		long ret = set_limit((u32)resource, &new);
		if (ret)
			return ret;
	}
	old = limit_of((u32)resource);
	if (uold && copy_to_user(uold, &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

static long sys_getrlimit(u64 resource, u64 uold)
{
	if (resource >= RLIM_NLIMITS)
		return -EINVAL;
	struct rlimit_k old = limit_of((u32)resource);
	return copy_to_user(uold, &old, sizeof(old)) ? -EFAULT : 0;
}

static long sys_setrlimit(u64 resource, u64 unew)
{
	struct rlimit_k new;
	if (resource >= RLIM_NLIMITS)
		return -EINVAL;
	if (copy_from_user(&new, unew, sizeof(new)))
		return -EFAULT;
	return set_limit((u32)resource, &new);
}

void rlimit_syscalls_init(void)
{
	syscall_register(SYS_getrlimit, (void (*)(void))sys_getrlimit);
	syscall_register(SYS_setrlimit, (void (*)(void))sys_setrlimit);
	syscall_register(SYS_prlimit64, (void (*)(void))sys_prlimit64);
}
