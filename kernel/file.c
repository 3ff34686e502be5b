/* SPDX-License-Identifier: MIT */
/* kernel/file.c - open files, the fd table, and the system calls that work
 * on any open file: read, write, close, lseek, pread64, pwrite64, ioctl,
 * poll, ppoll
 * (kernel/file.h has the model and the locking rules).
 *
 * Each call checks its arguments in Linux's order (fs/read_write.c,
 * fs/ioctl.c, fs/select.c), so that a bad call gets Linux's errno.
 */
#include "kernel/file.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/console.h"
#include "kernel/printk.h"
#include "kernel/time.h"
#include "kernel/userfaultfd.h"
#include "kernel/pipe.h"
#include "kernel/signal.h"
#include "kernel/memfd.h"
#include "mm/slab.h"

/* ---- files ---- */

struct file *file_alloc(const struct file_ops *ops, u32 mode, u32 flags, void *private)
{
	struct file *f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return NULL;
	f->ops = ops;
	f->refs = 1;
	f->mode = mode;
	f->flags = flags;
	f->private = private;
	rwsem_init(&f->pos_lock, "f_pos");
	return f;
}

void file_get(struct file *f)
{
	__atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
}

void file_put(struct file *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (f == &console_file)
		panic("file_put: the console's last reference");
	if (f->ops->release)
		f->ops->release(f);
	kfree(f);
}

/* ---- the console: writes go to every console, reads find end of file ---- */

static long console_read(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	(void)f, (void)ubuf, (void)count, (void)pos;
	return 0;               /* no console input */
}

static long console_fwrite(struct file *f, u64 ubuf, u64 count)
{
	(void)f;
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

static u32 console_poll(struct file *f)
{
	(void)f;
	/* Writable, and a read returns at once (end of file). */
	return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
}

/* A terminal on Linux (a character device): not seekable; the terminal
 * ioctls C libraries ask at start-up (kernel/tty.c). */
static const struct file_ops console_ops = {
	.name = "console",
	.read = console_read,
	.write = console_fwrite,
	.poll = console_poll,
	.ioctl = console_ioctl,
	.stat_mode = 020620,    /* S_IFCHR | 0620, as /dev/console */
};

/* Never freed: its reference count starts at one that nobody drops. */
struct file console_file = {
	.ops = &console_ops,
	.refs = 1,
	.mode = FMODE_READ | FMODE_WRITE,
	.flags = O_LARGEFILE,   /* opened by open(), as Linux's /dev/console */
};

/* ---- operations on an open file ---- */

/* vfs_read's checks: open for reading (EBADF), a read operation (EINVAL),
 * the buffer in user space (EFAULT, even for 0 bytes). */
static long read_checks(struct file *f, u64 ubuf, u64 count)
{
	if (!(f->mode & FMODE_READ))
		return -EBADF;
	if (!f->ops->read)
		return -EINVAL;
	if (!user_range_ok(ubuf, count))
		return -EFAULT;
	return 0;
}

long file_read(struct file *f, u64 ubuf, u64 count)
{
	long ret = read_checks(f, ubuf, count);
	if (ret)
		return ret;
	if (!f->ops->positional) {
		u64 pos = 0;
		return f->ops->read(f, ubuf, count, &pos);
	}
	down_write(&f->pos_lock);
	u64 pos = f->pos;
	ret = f->ops->read(f, ubuf, count, &pos);
	if (ret >= 0)
		f->pos = pos;
	up_write(&f->pos_lock);
	return ret;
}

long file_pread(struct file *f, u64 ubuf, u64 count, s64 pos)
{
	if (!f->ops->positional)
		return -ESPIPE;         /* no FMODE_PREAD */
	long ret = read_checks(f, ubuf, count);
	if (ret)
		return ret;
	u64 p = (u64)pos;
	return f->ops->read(f, ubuf, count, &p);
}

/* vfs_write's checks: open for writing (EBADF), a write operation
 * (EINVAL), the buffer in user space (EFAULT). */
static long write_checks(struct file *f, u64 ubuf, u64 count)
{
	if (!(f->mode & FMODE_WRITE))
		return -EBADF;
	if (!f->ops->write && !f->ops->write_at)
		return -EINVAL;
	if (!user_range_ok(ubuf, count))
		return -EFAULT;
	return 0;
}

long file_write(struct file *f, u64 ubuf, u64 count)
{
	long ret = write_checks(f, ubuf, count);
	if (ret)
		return ret;
	if (!f->ops->write_at)
		return f->ops->write(f, ubuf, count);
	down_write(&f->pos_lock);
	u64 pos = f->pos;
	ret = f->ops->write_at(f, ubuf, count, &pos);
	if (ret >= 0)
		f->pos = pos;
	up_write(&f->pos_lock);
	return ret;
}

long file_pwrite(struct file *f, u64 ubuf, u64 count, s64 pos)
{
	if (!f->ops->write_at)
		return -ESPIPE;         /* no FMODE_PWRITE */
	long ret = write_checks(f, ubuf, count);
	if (ret)
		return ret;
	u64 p = (u64)pos;
	return f->ops->write_at(f, ubuf, count, &p);
}

/* The ioctls every file has (Linux's do_vfs_ioctl), then the kind's. */
#define FIONBIO 0x5421
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451

long file_ioctl(struct file *f, u32 cmd, u64 arg)
{
	if (cmd == FIONBIO) {
		int on;
		if (copy_from_user(&on, arg, sizeof(on)))
			return -EFAULT;
		u32 flags = READ_ONCE(f->flags);
		WRITE_ONCE(f->flags, on ? flags | O_NONBLOCK : flags & ~(u32)O_NONBLOCK);
		return 0;
	}
	if (!f->ops->ioctl)
		return -ENOTTY;
	return f->ops->ioctl(f, cmd, arg);
}

u32 file_poll(struct file *f)
{
	return f->ops->poll ? f->ops->poll(f) : DEFAULT_POLLMASK;
}

s64 file_lseek(struct file *f, s64 offset, int whence)
{
	if (!f->ops->llseek)
		return -ESPIPE;
	down_write(&f->pos_lock);
	s64 pos = f->ops->llseek(f, offset, whence);
	if (pos >= 0 || pos < -4095)
		f->pos = (u64)pos;      /* errors are -1..-4095; larger "negative"
					   positions exist (pagemap's top half) */
	up_write(&f->pos_lock);
	return pos;
}

/* ---- the fd table ---- */

void files_init(struct process *p)
{
	for (int fd = 0; fd < 3; fd++) {
		file_get(&console_file);
		p->files[fd] = &console_file;
		p->fd_flags[fd] = 0;
	}
}

int files_copy(struct process *dst, struct process *src)
{
	down_read(&src->files_sem);
	for (u32 fd = 0; fd < MAX_FILES; fd++) {
		struct file *f = src->files[fd];
		if (f)
			file_get(f);
		dst->files[fd] = f;
		dst->fd_flags[fd] = src->fd_flags[fd];
	}
	up_read(&src->files_sem);
	return 0;
}

void files_close_all(struct process *p)
{
	struct file *old[MAX_FILES];
	down_write(&p->files_sem);
	for (u32 fd = 0; fd < MAX_FILES; fd++) {
		old[fd] = p->files[fd];
		p->files[fd] = NULL;
	}
	up_write(&p->files_sem);
	/* Outside the table lock: a release may sleep (a userfaultfd takes
	 * mmap_lock to unregister its ranges). */
	for (u32 fd = 0; fd < MAX_FILES; fd++)
		if (old[fd])
			file_put(old[fd]);
}

struct file *fget(struct process *p, long fd)
{
	if (fd < 0 || fd >= MAX_FILES)
		return NULL;
	down_read(&p->files_sem);
	struct file *f = p->files[fd];
	if (f)
		file_get(f);
	up_read(&p->files_sem);
	return f;
}

long fd_install(struct process *p, struct file *f, u32 fd_flags)
{
	return fd_install_from(p, f, 0, fd_flags);
}

long fd_install_from(struct process *p, struct file *f, u32 lowest, u32 fd_flags)
{
	long fd = -EMFILE;
	down_write(&p->files_sem);
	for (u32 i = lowest; i < MAX_FILES; i++) {
		if (!p->files[i]) {
			p->files[i] = f;
			p->fd_flags[i] = fd_flags;
			fd = i;
			break;
		}
	}
	up_write(&p->files_sem);
	if (fd < 0)
		file_put(f);
	return fd;
}

int fd_close(struct process *p, long fd)
{
	if (fd < 0 || fd >= MAX_FILES)
		return -EBADF;
	down_write(&p->files_sem);
	struct file *f = p->files[fd];
	p->files[fd] = NULL;
	up_write(&p->files_sem);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

/* ---- poll's wait queue ---- */

static struct waitq poll_wq;    /* its lock protects poll_seq */
static u64 poll_seq;

void file_poll_notify(void)
{
	u64 fl = spin_lock_irqsave(&poll_wq.lock);
	poll_seq++;
	spin_unlock_irqrestore(&poll_wq.lock, fl);
	wake_up_all(&poll_wq);
}

u64 file_poll_seq(void)
{
	u64 fl = spin_lock_irqsave(&poll_wq.lock);
	u64 seq = poll_seq;
	spin_unlock_irqrestore(&poll_wq.lock, fl);
	return seq;
}

void file_poll_wait(u64 seq)
{
	struct thread *me = current_thread();
	u64 fl = spin_lock_irqsave(&poll_wq.lock);
	while (poll_seq == seq && !READ_ONCE(me->killed) && !signal_pending(me))
		sleep_on(&poll_wq);
	spin_unlock_irqrestore(&poll_wq.lock, fl);
}

void files_wake_sleepers(void)
{
	userfaultfd_wake_all_sleepers();
	file_poll_notify();
}

/* ---- the system calls ---- */

static long sys_read(u64 fd, u64 ubuf, u64 count)
{
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret = file_read(f, ubuf, count);
	file_put(f);
	return ret;
}

static long sys_write(u64 fd, u64 ubuf, u64 count)
{
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret = file_write(f, ubuf, count);
	file_put(f);
	return ret;
}

static long sys_close(u64 fd)
{
	return fd_close(current_proc(), (long)(u32)fd);
}

#define SEEK_MAX 4      /* SEEK_HOLE; larger whence values are EINVAL */

static long sys_lseek(u64 fd, u64 offset, u64 whence)
{
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret = (u32)whence > SEEK_MAX ? -EINVAL : file_lseek(f, (s64)offset, (int)whence);
	file_put(f);
	return ret;
}

static long sys_pread64(u64 fd, u64 ubuf, u64 count, u64 pos)
{
	if ((s64)pos < 0)
		return -EINVAL;         /* before the fd, as ksys_pread64 */
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret = file_pread(f, ubuf, count, (s64)pos);
	file_put(f);
	return ret;
}

static long sys_pwrite64(u64 fd, u64 ubuf, u64 count, u64 pos)
{
	if ((s64)pos < 0)
		return -EINVAL;         /* before the fd, as ksys_pwrite64 */
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret = file_pwrite(f, ubuf, count, (s64)pos);
	file_put(f);
	return ret;
}

static long sys_ioctl(u64 fd, u64 cmd, u64 arg)
{
	struct process *p = current_proc();
	struct file *f = fget(p, (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret;
	if ((u32)cmd == FIOCLEX || (u32)cmd == FIONCLEX) {
		/* close-on-exec lives in the fd table, not in the file. */
		down_write(&p->files_sem);
		if (p->files[(u32)fd] == f)
			p->fd_flags[(u32)fd] = (u32)cmd == FIOCLEX ? FD_CLOEXEC : 0;
		up_write(&p->files_sem);
		ret = 0;
	} else {
		ret = file_ioctl(f, (u32)cmd, arg);
	}
	file_put(f);
	return ret;
}

/* struct pollfd (Linux's). */
struct pollfd_k {
	s32 fd;
	s16 events;
	s16 revents;
};

#define POLL_MAX_FDS 1024       /* Linux's default RLIMIT_NOFILE */

/* One pass over the fds: fill revents, return how many are non-zero. */
static u32 poll_scan(struct process *p, struct pollfd_k *fds, u32 n)
{
	u32 ready = 0;
	for (u32 i = 0; i < n; i++) {
		u16 rev = 0;
		if (fds[i].fd >= 0) {
			struct file *f = fget(p, fds[i].fd);
			if (!f) {
				rev = POLLNVAL;
			} else {
				/* POLLERR and POLLHUP are reported unasked. */
				u32 mask = file_poll(f);
				rev = (u16)(mask & ((u16)fds[i].events | POLLERR | POLLHUP));
				file_put(f);
			}
		}
		fds[i].revents = (s16)rev;
		if (rev)
			ready++;
	}
	return ready;
}

/* poll and ppoll: timeout_ns < 0 waits for ever. */
static long do_poll(u64 ufds, u64 nfds, s64 timeout_ns)
{
	struct process *p = current_proc();
	struct thread *me = current_thread();
	if (nfds > POLL_MAX_FDS)
		return -EINVAL;
	struct pollfd_k *fds = NULL;
	if (nfds) {
		fds = kmalloc(nfds * sizeof(*fds), GFP_KERNEL);
		if (!fds)
			return -ENOMEM;
		if (copy_from_user(fds, ufds, nfds * sizeof(*fds))) {
			kfree(fds);
			return -EFAULT;
		}
	}
	struct sleep_timer timer;
	bool timed = timeout_ns > 0;
	if (timed)
		timer_add(&timer, ktime_ns() + (u64)timeout_ns, &poll_wq);
	long ret;
	for (;;) {
		/* Note the sequence before scanning: a notify after the scan
		 * moves it, and the sleep below then does not happen. */
		u64 fl = spin_lock_irqsave(&poll_wq.lock);
		u64 seq = poll_seq;
		spin_unlock_irqrestore(&poll_wq.lock, fl);
		u32 ready = poll_scan(p, fds, (u32)nfds);
		if (ready || timeout_ns == 0 || (timed && READ_ONCE(timer.fired))) {
			ret = ready;
			break;
		}
		if (READ_ONCE(me->killed)) {
			ret = -EINTR;
			break;
		}
		if (signal_pending(me)) {
			ret = -ERESTARTNOHAND;  /* -EINTR after a handler */
			break;
		}
		fl = spin_lock_irqsave(&poll_wq.lock);
		while (poll_seq == seq && !READ_ONCE(me->killed) && !signal_pending(me) &&
		       !(timed && READ_ONCE(timer.fired)))
			sleep_on(&poll_wq);
		spin_unlock_irqrestore(&poll_wq.lock, fl);
	}
	if (timed)
		timer_del(&timer);
	/* Linux writes back only revents, whatever the outcome but a fault. */
	if (ret >= 0) {
		for (u64 i = 0; i < nfds; i++) {
			u64 at = ufds + i * sizeof(*fds) + __builtin_offsetof(struct pollfd_k, revents);
			if (copy_to_user(at, &fds[i].revents, sizeof(fds[i].revents))) {
				ret = -EFAULT;
				break;
			}
		}
	}
	kfree(fds);
	return ret;
}

static long sys_poll(u64 ufds, u64 nfds, u64 timeout_ms)
{
	s32 ms = (s32)timeout_ms;
	return do_poll(ufds, (u32)nfds, ms < 0 ? -1 : (s64)ms * 1000000);
}

#define SIGSET_SIZE 8

static long sys_ppoll(u64 ufds, u64 nfds, u64 utsp, u64 usigmask, u64 sigsetsize)
{
	u64 ns = 0;
	if (utsp) {
		int err = get_user_timespec(utsp, &ns);
		if (err)
			return err;
	}
	/* The wait blocks exactly the given mask (kernel/signal.h,
	 * set_user_sigmask): a signal the caller blocks can end it, one the
	 * mask blocks cannot. */
	if (usigmask) {
		u64 mask;
		if (sigsetsize != SIGSET_SIZE)
			return -EINVAL;
		if (copy_from_user(&mask, usigmask, sizeof(mask)))
			return -EFAULT;
		set_user_sigmask(mask);
	}
	long ret = do_poll(ufds, (u32)nfds, utsp ? (s64)ns : -1);
	if (usigmask)
		restore_saved_sigmask_unless(ret == -ERESTARTNOHAND);
	return ret;
}

void file_syscalls_init(void)
{
	waitq_init(&poll_wq, "poll");
	syscall_register(SYS_read, (void (*)(void))sys_read);
	syscall_register(SYS_write, (void (*)(void))sys_write);
	syscall_register(SYS_close, (void (*)(void))sys_close);
	syscall_register(SYS_lseek, (void (*)(void))sys_lseek);
	syscall_register(SYS_pread64, (void (*)(void))sys_pread64);
	syscall_register(SYS_pwrite64, (void (*)(void))sys_pwrite64);
	syscall_register(SYS_ioctl, (void (*)(void))sys_ioctl);
	syscall_register(SYS_poll, (void (*)(void))sys_poll);
	syscall_register(SYS_ppoll, (void (*)(void))sys_ppoll);
	pipe_syscalls_init();
	memfd_syscalls_init();
	fcntl_syscalls_init();
}
