/* SPDX-License-Identifier: MIT */
/* kernel/sys_misc.c - the small system calls: open, openat and creat (the
 * /proc and /sys files here, the rest in kernel/tmpfs.c), pidfd_open (for process_madvise, mm/madvise.c), uname, arch_prctl
 * and the sched_* calls; it also registers the calls on open files
 * (kernel/file.c) and userfaultfd (kernel/userfaultfd.c). Each checks its
 * arguments in the order Linux does, so that a bad call gets Linux's errno
 * (the fuzz program compares them). */
#include "kernel/proc.h"
#include "kernel/file.h"
#include "kernel/path.h"
#include "kernel/sysfs.h"
#include "kernel/tmpfs.h"
#include "kernel/userfaultfd.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"
#include "mm/user_layout.h"      /* USER_SPACE_END */

#define O_ACCMODE 3
#define O_RDONLY 0
#define O_WRONLY 1
#define O_DIRECTORY 0200000

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

/* ---- open, openat ---- */

/* The status flags an opened file keeps (kernel/file.h), for F_GETFL and
 * F_SETFL: O_LARGEFILE always, as a 64-bit Linux forces it. */
static u32 open_status_flags(u64 flags)
{
	return ((u32)flags & (O_NONBLOCK | O_APPEND | O_NOATIME)) | O_LARGEFILE;
}

static long do_open(long dirfd, u64 upath, u64 flags, u64 mode)
{
	struct process *p = current_proc();
	char full[PATH_BUF];
	long ret = path_from_user(dirfd, upath, full, false);
	if (ret)
		return ret;
	long err;
	if (tmpfs_claims(full)) {       /* the writable files (kernel/tmpfs.h) */
		struct file *f = tmpfs_open(full, flags, (u32)mode, &err);
		if (!f)
			return err;
		WRITE_ONCE(f->flags, open_status_flags(flags));
		return fd_install(p, f, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0);
	}
	struct file *f = !strncmp(full, "/sys/", 5) ? sysfs_open(full, &err) : procfs_open(full, &err);
	if (!f)
		return err;
	/* Only a file with a write operation (clear_refs) may be opened for
	 * writing; it is then open the way it was asked. */
	u64 acc = flags & O_ACCMODE;
	if ((flags & O_DIRECTORY) || (acc != O_RDONLY && !f->ops->write) || acc == O_ACCMODE) {
		file_put(f);
		return (flags & O_DIRECTORY) ? -ENOTDIR : -EACCES;
	}
	if (f->ops->write)
		f->mode = acc == O_RDONLY ? FMODE_READ : acc == O_WRONLY ? FMODE_WRITE :
			  FMODE_READ | FMODE_WRITE;
	/* The status flags are kept (they change nothing for these files). */
	WRITE_ONCE(f->flags, open_status_flags(flags));
	return fd_install(p, f, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0);
}

static long sys_open(u64 upath, u64 flags, u64 mode)
{
	return do_open(AT_FDCWD, upath, flags, mode);
}

static long sys_openat(u64 dirfd, u64 upath, u64 flags, u64 mode)
{
	return do_open((s32)dirfd, upath, flags, mode);
}

/* creat(2): open(O_CREAT | O_WRONLY | O_TRUNC). */
#define SYS_creat 85
static long sys_creat(u64 upath, u64 mode)
{
	return do_open(AT_FDCWD, upath, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* A pidfd: an anonymous file open read-write with no read or write
 * operation (EINVAL), not seekable; poll says POLLIN once the process has
 * exited (reported when asked: nothing wakes a poller at the exit). */
static u32 pidfd_poll(struct file *f)
{
	return proc_pid_alive(f->pid) ? 0 : POLLIN | POLLRDNORM;
}

static const struct file_ops pidfd_ops = {
	.name = "pidfd",
	.poll = pidfd_poll,
};

u32 fd_pidfd(struct process *p, long fd)
{
	struct file *f = fget(p, fd);
	u32 pid = f && f->ops == &pidfd_ops ? f->pid : 0;
	if (f)
		file_put(f);
	return pid;
}

/* pidfd_open: an fd naming a process, for process_madvise (mm/madvise.c);
 * it can be closed. */
#define PIDFD_NONBLOCK 04000
static long sys_pidfd_open(u64 upid, u64 flags)
{
	long pid = (s32)upid;
	if (flags & ~(u64)PIDFD_NONBLOCK)
		return -EINVAL;
	if (pid <= 0)
		return -EINVAL;
	/* A zombie not yet reaped can still be named, as on Linux. */
	if (!proc_pid_exists((u32)pid))
		return -ESRCH;
	struct file *f = file_alloc(&pidfd_ops, FMODE_READ | FMODE_WRITE, (u32)flags, NULL);
	if (!f)
		return -ENOMEM;
	f->pid = (u32)pid;
	/* A pidfd is always close-on-exec on Linux. */
	return fd_install(current_proc(), f, FD_CLOEXEC);
}

/* ---- uname ---- */

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

static long sys_uname(u64 ubuf)
{
	struct utsname u;
	memset(&u, 0, sizeof(u));
	strlcpy(u.sysname, "Pagoda", sizeof(u.sysname));
	strlcpy(u.nodename, "pagoda", sizeof(u.nodename));
	strlcpy(u.release, "0.4.0-pagoda", sizeof(u.release));
	strlcpy(u.version, "#1 SMP " __DATE__, sizeof(u.version));
	strlcpy(u.machine, "x86_64", sizeof(u.machine));
	strlcpy(u.domainname, "(none)", sizeof(u.domainname));
	return copy_to_user(ubuf, &u, sizeof(u)) ? -EFAULT : 0;
}

/* ---- arch_prctl ---- */

static long sys_arch_prctl(u64 code, u64 addr)
{
	struct thread *t = current_thread();
	u64 zero = 0;
	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USER_SPACE_END)
			return -EPERM;
		t->fs_base = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user(addr, &t->fs_base, sizeof(u64)) ? -EFAULT : 0;
	case ARCH_SET_GS:
		/* GS base is not kept per thread: only the value every thread
		 * has, 0, can be "set" (docs/syscalls.md). */
		if (addr >= USER_SPACE_END)
			return -EPERM;
		return addr == 0 ? 0 : -EINVAL;
	case ARCH_GET_GS:
		return copy_to_user(addr, &zero, sizeof(u64)) ? -EFAULT : 0;
	default:
		return -EINVAL;
	}
}

/* ---- scheduling ---- */

/* The bytes of a CPU mask the affinity calls copy: whole longs covering the
 * CPU numbers in use, as Linux's cpumask_size() with nr_cpu_ids (its
 * CONFIG_CPUMASK_OFFSTACK, as in Debian's kernel): 8 up to 64 CPUs. */
static u32 nr_cpu_ids(void)
{
	u32 ids = 0, c;
	for_each_cpu(c, &cpu_online_mask)
		ids = c + 1;
	return ids;
}

static u32 kernel_mask_size(void)
{
	return (nr_cpu_ids() + 63) / 64 * 8;
}

struct find_arg {
	u32 tid;
	struct thread *found;
};

static bool find_one(struct thread *t, void *arg)
{
	struct find_arg *a = arg;
	if (t->proc && t->tid == a->tid && t->state != THREAD_DEAD) {
		a->found = t;
		return false;
	}
	return true;
}

/* The thread a sched_* call names: 0 is the caller. NULL: no such thread.
 * (The thread cannot vanish under us only because a process's threads
 * exit on their way to user mode; for another process's thread this is a
 * snapshot, documented as a limit.) */
static struct thread *sched_target(long pid)
{
	if (pid == 0)
		return current_thread();
	struct find_arg a = { (u32)pid, NULL };
	sched_for_each_thread(find_one, &a);
	return a.found;
}

static long sys_sched_setaffinity(u64 upid, u64 len, u64 umask)
{
	long pid = (s32)upid;
	cpumask_t mask = CPUMASK_NONE;
	u64 n = len < kernel_mask_size() ? len : kernel_mask_size();
	if (n && copy_from_user(&mask, umask, n))
		return -EFAULT;
	if (pid < 0)
		return -ESRCH;
	struct thread *t = sched_target(pid);
	if (!t)
		return -ESRCH;
	if (!cpumask_and(&mask, &mask, &cpu_online_mask))
		return -EINVAL;
	if (t == current_thread())
		thread_set_affinity(&mask);
	else
		cpumask_copy(&t->allowed, &mask);       /* applies at its next switch */
	return 0;
}

static long sys_sched_getaffinity(u64 upid, u64 len, u64 umask)
{
	long pid = (s32)upid;
	if (len * 8 < nr_cpu_ids() || (len & 7))
		return -EINVAL;
	if (pid < 0)
		return -ESRCH;
	struct thread *t = sched_target(pid);
	if (!t)
		return -ESRCH;
	cpumask_t mask;
	cpumask_and(&mask, &t->allowed, &cpu_online_mask);
	u32 size = kernel_mask_size();
	if (copy_to_user(umask, &mask, size))
		return -EFAULT;
	return size;
}

static long sys_sched_yield(void)
{
	yield();
	return 0;
}

void misc_syscalls_init(void)
{
	file_syscalls_init();
	userfaultfd_init();
	syscall_register(SYS_open, (void (*)(void))sys_open);
	syscall_register(SYS_openat, (void (*)(void))sys_openat);
	syscall_register(SYS_creat, (void (*)(void))sys_creat);
	tmpfs_syscalls_init();
	syscall_register(SYS_pidfd_open, (void (*)(void))sys_pidfd_open);
	syscall_register(SYS_uname, (void (*)(void))sys_uname);
	syscall_register(SYS_arch_prctl, (void (*)(void))sys_arch_prctl);
	syscall_register(SYS_sched_setaffinity, (void (*)(void))sys_sched_setaffinity);
	syscall_register(SYS_sched_getaffinity, (void (*)(void))sys_sched_getaffinity);
	syscall_register(SYS_sched_yield, (void (*)(void))sys_sched_yield);
}

/* mm/mmap.c asks how a file mapping's fd is open (file.h, FD_MMAP_*), to
 * refuse the mapping with Linux's errno: the console is a character device open
 * for reading and writing, a /proc file a read-only regular file on a
 * noexec mount, a pidfd an anonymous file open read-write, a userfaultfd
 * one open read-only. None of them can be mapped (ENODEV, from mm/). */
int fd_mmap_mode(int fd)
{
	struct process *p = current_proc();
	if (fd < 0)
		return -EBADF;
	if (!p)                 /* a kernel thread (tests): the console's fds */
		return fd <= 2 ? FD_MMAP_READ | FD_MMAP_WRITE : -EBADF;
	struct file *f = fget(p, fd);
	if (!f)
		return -EBADF;
	int mode = 0;
	if (f->mode & FMODE_READ)
		mode |= FD_MMAP_READ;
	if (f->mode & FMODE_WRITE)
		mode |= FD_MMAP_WRITE;
	if (f->ops->procfs)
		mode |= FD_MMAP_NOEXEC | FD_MMAP_REGULAR;
	if ((f->ops->stat_mode & 0170000) == 0100000)
		mode |= FD_MMAP_REGULAR;        /* S_IFREG: a memfd */
	file_put(f);
	return mode;
}
