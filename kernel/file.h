/* SPDX-License-Identifier: MIT */
/* kernel/file.h - open files and the fd table (docs/syscalls.md).
 *
 * Model (Linux's, much reduced):
 *   - A struct file is an open file: its kind's operations (struct
 *     file_ops), how it was opened (FMODE_*, O_NONBLOCK), a position, and a
 *     pointer to the object behind it (the kind's own: a text snapshot, a
 *     userfaultfd context, the address space a pagemap reads...).
 *   - A process's fd table (struct process, kernel/proc.h) holds pointers to
 *     files. Each pointer holds a reference; fork copies the table and takes
 *     a reference per fd, so parent and child share the open file and its
 *     position, as on Linux. A system call takes a reference of its own for
 *     the duration of the call (fget/file_put), so close() by another thread
 *     cannot free a file under a read in progress.
 *   - The last file_put calls the kind's release: it drops what the file
 *     holds (for a userfaultfd: the context, which wakes its faulters).
 *
 * The kinds: the console (fds 0, 1, 2; kernel/file.c), the /proc text
 * snapshots and /proc/PID/pagemap (kernel/procfs.c), the /sys attributes
 * (kernel/sysfs.c), pidfds (kernel/sys_misc.c), userfaultfds
 * (kernel/userfaultfd.c), pipes (kernel/pipe.c) and memfds (kernel/memfd.c).
 *
 * Locking:
 *   files_sem (per process, sleeping) protects the fd table only: it is
 *     held to look a slot up and take a reference, or to fill or empty a
 *     slot, never across a file operation. (An operation may block for a
 *     long time: a read of a userfaultfd, or a copy to user memory that
 *     faults into a write-protected range and waits for the handler, which
 *     may be another thread of the same process using the same table.)
 *   f->refs is atomic. f->flags (the status flags) is read and written with
 *     READ_ONCE/WRITE_ONCE: a whole-word store.
 *   f->pos_lock (sleeping) serialises read and lseek on the position of a
 *     positional file, as Linux's f_pos_lock; pread does not touch pos.
 *     Never taken for other kinds: a blocking read (userfaultfd) must not
 *     hold up a second reader of the same file.
 *   poll_wq: poll() sleeps on one global wait queue; anything that may make
 *     a file readable calls file_poll_notify(), which bumps poll_seq under
 *     the queue's lock and wakes every poller to re-check (simple; pollers
 *     are few). Lock order: a kind's own locks, then poll_wq's lock.
 */
#ifndef PAGODA_FILE_H
#define PAGODA_FILE_H

#include "kernel/types.h"
#include "kernel/rwsem.h"

/* Linux's open flags (uapi asm-generic/fcntl.h) that files keep: the
 * status flags fcntl's F_GETFL reports after the access mode (O_LARGEFILE:
 * a file opened by open() or memfd_create, as a 64-bit Linux forces it;
 * anonymous files - pipes, userfaultfds, pidfds - have none). */
#define O_NONBLOCK 04000
#define O_APPEND 02000
#define O_LARGEFILE 0100000
#define O_NOATIME 01000000
#define O_CLOEXEC 02000000
#define FD_CLOEXEC 1

/* How a file is open (Linux's FMODE_READ, FMODE_WRITE). */
#define FMODE_READ 1
#define FMODE_WRITE 2

/* poll(2) event bits (Linux's, uapi asm-generic/poll.h). */
#define POLLIN 0x0001
#define POLLPRI 0x0002
#define POLLOUT 0x0004
#define POLLERR 0x0008
#define POLLHUP 0x0010
#define POLLNVAL 0x0020
#define POLLRDNORM 0x0040
#define POLLWRNORM 0x0100
/* What a file without a poll operation reports (Linux's DEFAULT_POLLMASK). */
#define DEFAULT_POLLMASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

struct file;
struct process;

/* A kind's operations. A NULL operation means what it means on Linux:
 *   read/write NULL: -EINVAL (the file has no such operation);
 *   ioctl NULL: -ENOTTY;  poll NULL: DEFAULT_POLLMASK;
 *   llseek NULL: not seekable: lseek gives -ESPIPE;
 *   release NULL: nothing to drop (the console). */
struct file_ops {
	const char *name;
	/* Read at *pos (updated by the operation), up to count bytes into
	 * user memory. Bytes read, or -errno. Called with a reference held
	 * and (for seekable files) pos_lock. */
	long (*read)(struct file *f, u64 ubuf, u64 count, u64 *pos);
	long (*write)(struct file *f, u64 ubuf, u64 count);
	/* A positional file's write at *pos (updated), instead of write:
	 * write(2) passes f->pos under pos_lock, pwrite64 its own position
	 * (Linux's FMODE_PWRITE). Bytes written, or -errno. */
	long (*write_at)(struct file *f, u64 ubuf, u64 count, u64 *pos);
	long (*ioctl)(struct file *f, u32 cmd, u64 arg);
	/* The POLL* bits that hold now; never sleeps. */
	u32 (*poll)(struct file *f);
	/* The new position for lseek(offset, whence), or -errno; does not
	 * store it (the caller does, under pos_lock). */
	s64 (*llseek)(struct file *f, s64 offset, int whence);
	void (*release)(struct file *f);
	/* Reads work at a position (Linux's FMODE_PREAD): pread is allowed,
	 * and read/lseek update f->pos under pos_lock. Else pread gives
	 * -ESPIPE and read passes a scratch position. */
	bool positional;
	/* mmap's view (fd_mmap_mode): a regular file on a noexec mount (/proc)
	 * rather than a character device or an anonymous file. */
	bool procfs;
	/* fstat's st_mode (kernel/sys_stat.c); 0: by kind, a /proc file's
	 * S_IFREG with its permissions, else an anonymous inode's 0600. */
	u32 stat_mode;
	/* fstat's st_size and st_blocks (512-byte units); NULL: both 0. */
	void (*stat_size)(struct file *f, s64 *size, s64 *blocks);
	/* The inode behind the file (memfds and tmpfs files): may set fstat's
	 * st_mode and st_nlink, and sets st_ino; NULL: the kind's mode, one
	 * link, an inode number per open file. */
	void (*stat_inode)(struct file *f, u32 *mode, u64 *nlink, u64 *ino);
};

struct file {
	const struct file_ops *ops;
	u32 refs;               /* fd-table slots + calls in progress (atomic) */
	u32 mode;               /* FMODE_READ | FMODE_WRITE, fixed at open */
	u32 flags;              /* status flags: O_NONBLOCK, O_APPEND, O_NOATIME,
				   O_LARGEFILE, O_DIRECT (a pipe's write end)
				   (READ_ONCE/WRITE_ONCE; fcntl F_SETFL) */
	struct rwsem pos_lock;  /* serialises read/lseek on pos */
	u64 pos;
	void *private;          /* the kind's object */
	u32 pid;                /* a pidfd: the pid it names; else 0 */
};

/* A new file with one reference (the caller's), NULL on -ENOMEM. */
struct file *file_alloc(const struct file_ops *ops, u32 mode, u32 flags, void *private);
void file_get(struct file *f);
/* Drop a reference; the last one calls ops->release and frees f. May sleep
 * (release may take mmap_lock): no spinlock held. */
void file_put(struct file *f);

/* The operations on an open file, with Linux's checks and errno (vfs_read,
 * vfs_write, vfs_ioctl, vfs_llseek...). The system calls below are these
 * plus an fd lookup; in-kernel tests call them directly. */
long file_read(struct file *f, u64 ubuf, u64 count);
long file_pread(struct file *f, u64 ubuf, u64 count, s64 pos);
long file_write(struct file *f, u64 ubuf, u64 count);
long file_pwrite(struct file *f, u64 ubuf, u64 count, s64 pos);
long file_ioctl(struct file *f, u32 cmd, u64 arg);
u32 file_poll(struct file *f);
s64 file_lseek(struct file *f, s64 offset, int whence);

/* The fd table. fget: the open file at fd with a reference taken, or NULL
 * (EBADF). fd_install: put f (its reference moves to the table) at the
 * lowest free fd; returns it, or -EMFILE (f is put). fd_close: 0 or
 * -EBADF. */
struct file *fget(struct process *p, long fd);
long fd_install(struct process *p, struct file *f, u32 fd_flags);
/* The same at the lowest free fd >= lowest (fcntl's F_DUPFD). */
long fd_install_from(struct process *p, struct file *f, u32 lowest, u32 fd_flags);
int fd_close(struct process *p, long fd);
/* Is fd open in p with these ops? (pidfd lookups.) Its file's pid, or 0. */
u32 fd_pidfd(struct process *p, long fd);

/* How the calling process has fd open, for mmap() of a descriptor
 * (mm/mmap.c): -EBADF, or FD_MMAP_* bits. mmap needs them to give Linux's
 * errno in Linux's order (EBADF; EOVERFLOW; EOPNOTSUPP/EACCES; EPERM for
 * PROT_EXEC on a noexec mount such as /proc; then ENODEV, since no file can
 * be mapped yet). A /proc file opened read-only is FD_MMAP_READ |
 * FD_MMAP_NOEXEC | FD_MMAP_REGULAR; a kernel thread (tests) has the
 * console's 0, 1 and 2, open for reading and writing. Takes and drops a
 * file reference; may sleep (files_sem). */
#define FD_MMAP_READ 1          /* opened for reading (FMODE_READ) */
#define FD_MMAP_WRITE 2         /* opened for writing (FMODE_WRITE) */
#define FD_MMAP_NOEXEC 4        /* on a noexec mount (procfs always is) */
#define FD_MMAP_REGULAR 8       /* a regular file (else a character device) */
int fd_mmap_mode(int fd);

/* The shared console file (fds 0..2 of every process). */
extern struct file console_file;
/* Its ioctls (kernel/tty.c): a terminal's TCGETS and TIOCGWINSZ. */
long console_ioctl(struct file *f, u32 cmd, u64 arg);

/* Pollers re-check: something may have become ready (or been released). */
void file_poll_notify(void);
/* Sleeping until something changes (pipes, kernel/pipe.h): note
 * file_poll_seq(), check the condition, then file_poll_wait(seq) returns
 * once a file_poll_notify() came after the note (at once if one already
 * did), the thread is being killed, or a signal is pending for it (the
 * caller then returns -ERESTARTSYS: an interruptible sleep,
 * kernel/signal.h). */
u64 file_poll_seq(void);
void file_poll_wait(u64 seq);
/* A process is being killed: wake every thread sleeping in a file
 * operation (poll, a userfaultfd read or fault) so it sees t->killed. */
void files_wake_sleepers(void);

/* Registers read, write, close, lseek, pread64, pwrite64, ioctl, poll,
 * ppoll (and, through the kinds' files, pipes, memfds and fcntl). */
void file_syscalls_init(void);
/* kernel/fcntl.c */
void fcntl_syscalls_init(void);

#endif
