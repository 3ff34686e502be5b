/* SPDX-License-Identifier: MIT */
/* kernel/fcntl.c - fcntl(2): the descriptor's and the open file's flags,
 * duplication, and the questions other parts answer (seals, pipe size),
 * with Linux's checks in Linux's order (fs/fcntl.c there).
 *
 *   F_DUPFD, F_DUPFD_CLOEXEC  the same open file at the lowest free fd >= arg
 *                             (EINVAL when arg reaches RLIMIT_NOFILE, the
 *                             16 slots; EMFILE when none is free);
 *   F_GETFD, F_SETFD          FD_CLOEXEC, kept in the fd table;
 *   F_GETFL, F_SETFL          the access mode and the status flags the open
 *                             file keeps (kernel/file.h); F_SETFL changes
 *                             O_APPEND, O_NONBLOCK and O_NOATIME and leaves
 *                             the rest, as Linux;
 *   F_GET_SEALS, F_ADD_SEALS  memfds and tmpfs files: F_SEAL_SEAL, nothing
 *                             can be added (Pagoda has no MFD_ALLOW_SEALING);
 *   F_GETPIPE_SZ              a pipe's PIPE_SIZE.
 * Refused with EINVAL, as a Linux built without the feature refuses them:
 * record locks and leases (CONFIG_FILE_LOCKING=n), directory notification
 * (CONFIG_DNOTIFY=n), and everything about SIGIO (F_SETOWN, F_GETOWN,
 * F_SETSIG, O_ASYNC: Pagoda sends no SIGIO, so it takes no owner for one).
 * F_SETPIPE_SZ is EINVAL too (a pipe keeps its 64 KiB), and so is an
 * F_SETFL that would switch a pipe's packet mode (O_DIRECT): it is the
 * pipe's, fixed by pipe2, where Linux keeps it per writing file.
 */
#include "kernel/file.h"
#include "kernel/pipe.h"
#include "kernel/memfd.h"
#include "kernel/proc.h"
#include "kernel/syscall.h"
#include "kernel/errno.h"

#define SYS_fcntl 72

/* Commands (uapi asm-generic/fcntl.h, linux/fcntl.h). */
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_LINUX_SPECIFIC_BASE 1024
#define F_DUPFD_CLOEXEC (F_LINUX_SPECIFIC_BASE + 6)
#define F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7)
#define F_GETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 8)
#define F_ADD_SEALS (F_LINUX_SPECIFIC_BASE + 9)
#define F_GET_SEALS (F_LINUX_SPECIFIC_BASE + 10)

#define O_ACCMODE 3
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define FASYNC 020000

/* The flags F_SETFL may change (Linux's SETFL_MASK; O_NDELAY is
 * O_NONBLOCK on x86_64). */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

#define F_SEAL_SEAL 0x0001
#define F_ALL_SEALS 0x001f      /* SEAL, SHRINK, GROW, WRITE, FUTURE_WRITE (6.1) */

static long dupfd(struct process *p, struct file *f, u32 from, u32 fd_flags)
{
	if (from >= MAX_FILES)
		return -EINVAL;         /* RLIMIT_NOFILE (kernel/sys_rlimit.c) */
	file_get(f);                    /* the new slot's reference */
	return fd_install_from(p, f, from, fd_flags);
}

/* F_GETFD (set < 0) or F_SETFD: FD_CLOEXEC of fd, if fd still holds f. */
static long cloexec(struct process *p, u32 fd, struct file *f, int set)
{
	long ret = -EBADF;
	down_write(&p->files_sem);
	if (p->files[fd] == f) {
		if (set >= 0)
			p->fd_flags[fd] = (u32)set & FD_CLOEXEC;
		ret = set >= 0 ? 0 : p->fd_flags[fd] & FD_CLOEXEC;
	}
	up_write(&p->files_sem);
	return ret;
}

static long getfl(struct file *f)
{
	u32 acc = f->mode == (FMODE_READ | FMODE_WRITE) ? O_RDWR :
		  f->mode == FMODE_WRITE ? O_WRONLY : O_RDONLY;
	return acc | READ_ONCE(f->flags);
}

static long setfl(struct file *f, u32 arg)
{
	u32 old = READ_ONCE(f->flags);
	if (file_is_pipe(f) ? ((arg ^ old) & O_DIRECT) != 0 : (arg & O_DIRECT) != 0)
		return -EINVAL;         /* no direct I/O; a pipe's packet mode is fixed */
	if (arg & FASYNC)
		return -EINVAL;         /* no SIGIO */
	WRITE_ONCE(f->flags, (arg & SETFL_MASK) | (old & ~(u32)SETFL_MASK));
	return 0;
}

/* Linux's memfd_fcntl: every shmem file (memfd or tmpfs) has seals; a file
 * made without MFD_ALLOW_SEALING has F_SEAL_SEAL, so none can be added. */
static long seals(struct file *f, u32 cmd, u32 arg)
{
	bool shmem = shmem_file_object(f) != NULL;
	if (cmd == F_GET_SEALS)
		return shmem ? F_SEAL_SEAL : -EINVAL;
	if (!(f->mode & FMODE_WRITE))
		return -EPERM;
	if (arg & ~(u32)F_ALL_SEALS)
		return -EINVAL;
	return shmem ? -EPERM : -EINVAL;
}

static long do_fcntl(struct process *p, u32 fd, struct file *f, u32 cmd, u64 arg)
{
	switch (cmd) {
	case F_DUPFD:
		return dupfd(p, f, (u32)arg, 0);
	case F_DUPFD_CLOEXEC:
		return dupfd(p, f, (u32)arg, FD_CLOEXEC);
	case F_GETFD:
		return cloexec(p, fd, f, -1);
	case F_SETFD:
		return cloexec(p, fd, f, (int)(arg & FD_CLOEXEC));
	case F_GETFL:
		return getfl(f);
	case F_SETFL:
		return setfl(f, (u32)arg);
	case F_GET_SEALS:
	case F_ADD_SEALS:
		return seals(f, cmd, (u32)arg);
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		if (!file_is_pipe(f))
			return -EBADF;  /* Linux's pipe_fcntl: not a pipe */
		return cmd == F_GETPIPE_SZ ? PIPE_SIZE : -EINVAL;
	default:
		return -EINVAL;         /* locks, leases, SIGIO, dnotify: above */
	}
}

static long sys_fcntl(u64 ufd, u64 ucmd, u64 arg)
{
	struct process *p = current_proc();
	u32 fd = (u32)ufd;
	struct file *f = fget(p, fd);
	if (!f)
		return -EBADF;
	long ret = do_fcntl(p, fd, f, (u32)ucmd, arg);
	file_put(f);
	return ret;
}

void fcntl_syscalls_init(void)
{
	syscall_register(SYS_fcntl, (void (*)(void))sys_fcntl);
}
