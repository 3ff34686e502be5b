/* kernel/sys_misc.c - the small system calls: read, write, open, openat,
 * close (the console and read-only pseudo-files), uname, arch_prctl and the
 * sched_* calls. Each checks its arguments in the order Linux does, so that
 * a bad call gets Linux's errno (the fuzz program compares them). */
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/console.h"
#include "kernel/printk.h"
#include "kernel/elf.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/mm.h"
#include "mm/madvise.h"

#define AT_FDCWD (-100)
#define O_ACCMODE 3
#define O_RDONLY 0
#define O_DIRECTORY 0200000
#define PATH_MAX 4096

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

/* ---- the fd table ---- */

static void file_release(struct file *f)
{
	if (f->buf)
		free_pages_addr(f->buf, f->order);
	memset(f, 0, sizeof(*f));
}

void files_init(struct process *p)
{
	for (int fd = 0; fd < 3; fd++) {
		p->files[fd].used = true;
		p->files[fd].console = true;
	}
}

int files_copy(struct process *dst, struct process *src)
{
	int err = 0;
	down_read(&src->files_sem);
	for (u32 fd = 0; fd < MAX_FILES; fd++) {
		struct file *s = &src->files[fd], *d = &dst->files[fd];
		*d = *s;
		d->buf = NULL;
		if (!s->buf)
			continue;
		d->buf = get_free_pages(GFP_KERNEL, s->order);
		if (!d->buf) {
			memset(d, 0, sizeof(*d));
			err = -ENOMEM;
			break;
		}
		memcpy(d->buf, s->buf, s->len);
	}
	up_read(&src->files_sem);
	if (err)
		files_close_all(dst);
	return err;
}

void files_close_all(struct process *p)
{
	down_write(&p->files_sem);
	for (u32 fd = 0; fd < MAX_FILES; fd++)
		file_release(&p->files[fd]);
	up_write(&p->files_sem);
}

/* A valid open fd of the calling process, or NULL (files_sem held). */
static struct file *fd_lookup(struct process *p, u64 fd)
{
	if (fd >= MAX_FILES || !p->files[fd].used)
		return NULL;
	return &p->files[fd];
}

/* A new fd for f in the calling process, or -EMFILE (f is released). */
static long install_fd(struct process *p, struct file *nf)
{
	down_write(&p->files_sem);
	long fd = -EMFILE;
	for (u32 i = 0; i < MAX_FILES; i++) {
		if (!p->files[i].used) {
			nf->used = true;
			p->files[i] = *nf;
			fd = i;
			break;
		}
	}
	up_write(&p->files_sem);
	if (fd < 0)
		file_release(nf);
	return fd;
}

/* ---- read, write ---- */

static long sys_read(u64 fd, u64 ubuf, u64 count)
{
	struct process *p = current_proc();
	long ret;
	down_write(&p->files_sem);      /* it moves the file position */
	struct file *f = fd_lookup(p, fd);
	if (!f) {
		ret = -EBADF;
	} else if (!user_range_ok(ubuf, count)) {
		ret = -EFAULT;          /* Linux's access_ok, even for 0 bytes */
	} else if (f->pidfd) {
		ret = -EINVAL;          /* a pidfd has no read operation */
	} else if (f->console || count == 0) {
		ret = 0;                /* no console input: end of file */
	} else {
		u64 n = f->len - f->pos;
		if (n > count)
			n = count;
		if (n == 0) {
			ret = 0;
		} else if (copy_to_user(ubuf, f->buf + f->pos, n)) {
			ret = -EFAULT;
		} else {
			f->pos += n;
			ret = (long)n;
		}
	}
	up_write(&p->files_sem);
	return ret;
}

static long sys_write(u64 fd, u64 ubuf, u64 count)
{
	struct process *p = current_proc();
	down_read(&p->files_sem);
	struct file *f = fd_lookup(p, fd);
	bool console = f && f->console, pidfd = f && f->pidfd;
	up_read(&p->files_sem);
	if (pidfd)
		return -EINVAL;         /* open for writing, but no write operation */
	if (!f || !console)
		return -EBADF;          /* pseudo-files are read-only */
	if (!user_range_ok(ubuf, count))
		return -EFAULT;         /* Linux's access_ok, even for 0 bytes */
	/* Through a bounce buffer, whole chunks at a time: a line printed by
	 * one thread is not cut by another's (the C library writes lines). */
	char chunk[512];
	u64 done = 0;
	while (done < count) {
		u64 n = count - done;
		if (n > sizeof(chunk))
			n = sizeof(chunk);
		if (copy_from_user(chunk, ubuf + done, n))
			return done ? (long)done : -EFAULT;
		console_write(chunk, n);
		done += n;
	}
	return (long)done;
}

/* ---- open, openat, close ---- */

static long do_open(long dirfd, u64 upath, u64 flags)
{
	struct process *p = current_proc();
	char path[256];
	long len = strncpy_from_user(path, upath, sizeof(path));
	if (len == -ENAMETOOLONG) {
		/* Longer than any name we have: Linux says ENOENT up to
		 * PATH_MAX, ENAMETOOLONG beyond. */
		long l2 = 0;
		for (u64 i = sizeof(path); i < PATH_MAX; i++) {
			char c;
			if (copy_from_user(&c, upath + i, 1))
				return -EFAULT;
			if (!c) {
				l2 = (long)i;
				break;
			}
		}
		return l2 ? -ENOENT : -ENAMETOOLONG;
	}
	if (len < 0)
		return len;
	if (len == 0)
		return -ENOENT;
	char full[260];
	if (path[0] != '/') {
		/* Relative: to the current directory, "/", or to dirfd. */
		if (dirfd != AT_FDCWD) {
			down_read(&p->files_sem);
			bool valid = dirfd >= 0 && fd_lookup(p, (u64)dirfd);
			up_read(&p->files_sem);
			return valid ? -ENOTDIR : -EBADF;
		}
		snprintf(full, sizeof(full), "/%s", path);
	} else {
		strlcpy(full, path, sizeof(full));
	}
	struct file nf;
	memset(&nf, 0, sizeof(nf));
	int err = procfs_open(full, &nf);
	if (err)
		return err;
	if ((flags & O_DIRECTORY) || (flags & O_ACCMODE) != O_RDONLY) {
		file_release(&nf);
		return (flags & O_DIRECTORY) ? -ENOTDIR : -EACCES;
	}
	return install_fd(p, &nf);
}

static long sys_open(u64 upath, u64 flags, u64 mode)
{
	(void)mode;
	return do_open(AT_FDCWD, upath, flags);
}

static long sys_openat(u64 dirfd, u64 upath, u64 flags, u64 mode)
{
	(void)mode;
	return do_open((s32)dirfd, upath, flags);
}

/* pidfd_open: an fd naming a process, for process_madvise below; it can be
 * closed. */
#define PIDFD_NONBLOCK 04000
static long sys_pidfd_open(u64 upid, u64 flags)
{
	long pid = (s32)upid;
	if (flags & ~(u64)PIDFD_NONBLOCK)
		return -EINVAL;
	if (pid <= 0)
		return -EINVAL;
	if (!proc_pid_alive((u32)pid))
		return -ESRCH;
	struct file nf;
	memset(&nf, 0, sizeof(nf));
	nf.pidfd = (u32)pid;
	return install_fd(current_proc(), &nf);
}

/* process_madvise: madvise on the address space a pidfd names, for a
 * vector of ranges. Linux 6.1's checks, in its order: flags, the vector
 * (at most UIO_MAXIOV entries, readable), the pidfd, the advice (for
 * another process only the non-destructive COLD, PAGEOUT, WILLNEED,
 * COLLAPSE; for the caller any advice, as Linux since 6.13). Returns the
 * bytes advised before the first failure, or that failure. */
_Static_assert(sizeof(struct iovec_k) == sizeof(struct madvise_range), "iovec = madvise_range");

static long sys_process_madvise(u64 pidfd, u64 uvec, u64 vlen, u64 advice, u64 flags)
{
	struct process *p = current_proc();
	if (flags != 0)
		return -EINVAL;
	long ret = 0;
	struct iovec_k *iov = import_iovec(uvec, vlen, &ret);
	if (!iov)
		return ret;
	u32 target = 0;
	if (!ret) {
		down_read(&p->files_sem);
		struct file *f = fd_lookup(p, pidfd);
		target = f ? f->pidfd : 0;
		up_read(&p->files_sem);
		if (!target)
			ret = -EBADF;
	}
	/* Another process: only the non-destructive advice (Linux 6.1's
	 * list). Ourselves: any advice, as Linux allows since 6.13. */
	bool self = target == p->pid;
	if (!ret && !self && advice != MADV_COLD && advice != MADV_PAGEOUT &&
	    advice != MADV_WILLNEED && advice != MADV_COLLAPSE)
		ret = -EINVAL;
	if (!ret && self && !madvise_valid(advice))
		ret = -EINVAL;
	struct mm_struct *mm = NULL;
	if (!ret) {
		mm = proc_get_mm(target);
		if (!mm)
			ret = -ESRCH;
	}
	if (!ret) {
		/* One mmu_gather (one flush) for the whole vector (madvise.h). */
		u64 done = 0;
		ret = madvise_vec(mm, (const struct madvise_range *)iov, vlen, advice, &done);
		if (done)
			ret = (long)done;
		mm_put(mm);
	}
	kfree(iov);
	return ret;
}

static long sys_close(u64 fd)
{
	struct process *p = current_proc();
	down_write(&p->files_sem);
	struct file *f = fd_lookup(p, fd);
	if (f)
		file_release(f);
	up_write(&p->files_sem);
	return f ? 0 : -EBADF;
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

/* The kernel's CPU mask is one u64 (MAX_CPUS 64): Linux with as many
 * possible CPUs reports the same 8-byte size. */
#define KERNEL_MASK_SIZE 8

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
	u64 mask = 0;
	u64 n = len < KERNEL_MASK_SIZE ? len : KERNEL_MASK_SIZE;
	if (n && copy_from_user(&mask, umask, n))
		return -EFAULT;
	if (pid < 0)
		return -ESRCH;
	struct thread *t = sched_target(pid);
	if (!t)
		return -ESRCH;
	mask &= READ_ONCE(cpu_online_mask);
	if (!mask)
		return -EINVAL;
	if (t == current_thread())
		thread_set_affinity(mask);
	else
		WRITE_ONCE(t->allowed, mask);   /* applies at its next switch */
	return 0;
}

static long sys_sched_getaffinity(u64 upid, u64 len, u64 umask)
{
	long pid = (s32)upid;
	u32 ncpus = 0;
	for (u32 c = 0; c < MAX_CPUS; c++)
		if (cpumask_test(READ_ONCE(cpu_online_mask), c))
			ncpus = c + 1;
	if (len * 8 < ncpus || (len & 7))
		return -EINVAL;
	if (pid < 0)
		return -ESRCH;
	struct thread *t = sched_target(pid);
	if (!t)
		return -ESRCH;
	u64 mask = READ_ONCE(t->allowed) & READ_ONCE(cpu_online_mask);
	if (copy_to_user(umask, &mask, KERNEL_MASK_SIZE))
		return -EFAULT;
	return KERNEL_MASK_SIZE;
}

static long sys_sched_yield(void)
{
	yield();
	return 0;
}

void misc_syscalls_init(void)
{
	syscall_register(SYS_read, (void (*)(void))sys_read);
	syscall_register(SYS_write, (void (*)(void))sys_write);
	syscall_register(SYS_open, (void (*)(void))sys_open);
	syscall_register(SYS_openat, (void (*)(void))sys_openat);
	syscall_register(SYS_close, (void (*)(void))sys_close);
	syscall_register(SYS_pidfd_open, (void (*)(void))sys_pidfd_open);
	syscall_register(SYS_process_madvise, (void (*)(void))sys_process_madvise);
	syscall_register(SYS_uname, (void (*)(void))sys_uname);
	syscall_register(SYS_arch_prctl, (void (*)(void))sys_arch_prctl);
	syscall_register(SYS_sched_setaffinity, (void (*)(void))sys_sched_setaffinity);
	syscall_register(SYS_sched_getaffinity, (void (*)(void))sys_sched_getaffinity);
	syscall_register(SYS_sched_yield, (void (*)(void))sys_sched_yield);
}

/* mm/mmap.c asks how a file mapping's fd is open (mm.h, MM_FD_*), to refuse
 * the mapping with Linux's errno: the console is a character device open
 * for reading and writing, a pseudo-file a read-only regular file on a
 * noexec mount (procfs), a pidfd an anonymous file open read-write. None
 * of them can be mapped (ENODEV, from mm/). */
int mm_fd_mode(int fd)
{
	struct process *p = current_proc();
	if (fd < 0)
		return -EBADF;
	if (!p)                 /* a kernel thread (tests): the console's fds */
		return fd <= 2 ? MM_FD_READ | MM_FD_WRITE : -EBADF;
	down_read(&p->files_sem);
	struct file *f = fd_lookup(p, (u64)fd);
	int mode = -EBADF;
	if (f && f->console)
		mode = MM_FD_READ | MM_FD_WRITE;
	else if (f && f->pidfd)
		mode = MM_FD_READ | MM_FD_WRITE;
	else if (f)
		mode = MM_FD_READ | MM_FD_NOEXEC | MM_FD_REGULAR;
	up_read(&p->files_sem);
	return mode;
}
