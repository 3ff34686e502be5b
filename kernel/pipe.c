/* SPDX-License-Identifier: MIT */
/* kernel/pipe.c - pipes (kernel/pipe.h has the rules). */
#include "kernel/pipe.h"
#include "kernel/file.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/signal.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/rwsem.h"
#include "mm/buddy.h"
#include "mm/slab.h"

#define PIPE_ORDER 4            /* PIPE_SIZE = 16 pages */
#define PIPE_PACKETS (PIPE_SIZE / PIPE_BUF)
#define SIGPIPE 13
#define SYS_pipe 22
#define SYS_pipe2 293

_Static_assert((PAGE_SIZE << PIPE_ORDER) == PIPE_SIZE, "PIPE_ORDER pages make PIPE_SIZE");

struct pipe {
	struct rwsem mutex;     /* readers and writers, one at a time (pipe.h) */
	u8 *buf;                /* a ring of PIPE_SIZE bytes */
	u32 head;               /* the first unread byte */
	u32 len;                /* bytes unread */
	u32 readers, writers;   /* open read and write ends (under mutex) */
	u32 ends;               /* ends not yet released (atomic): the last frees */
	bool packet;            /* O_DIRECT: packet mode */
	u32 pkt[PIPE_PACKETS];  /* packet mode: lengths, a ring of pkt_n from pkt_head */
	u32 pkt_head, pkt_n;
};

/* Bytes a writer may add now. */
static u32 pipe_room(const struct pipe *pp)
{
	if (pp->packet && READ_ONCE(pp->pkt_n) == PIPE_PACKETS)
		return 0;
	return PIPE_SIZE - READ_ONCE(pp->len);
}

/* Copy n bytes out of the ring at its head to user memory, consuming
 * them. 0 or -EFAULT (nothing consumed). mutex held. */
static int ring_copy_out(struct pipe *pp, u64 ubuf, u32 n)
{
	u32 first = MIN(n, PIPE_SIZE - pp->head);
	if (copy_to_user(ubuf, pp->buf + pp->head, first) ||
	    copy_to_user(ubuf + first, pp->buf, n - first))
		return -EFAULT;
	return 0;
}

/* Consume n bytes from the head. mutex held. */
static void ring_consume(struct pipe *pp, u32 n)
{
	pp->head = (pp->head + n) % PIPE_SIZE;
	WRITE_ONCE(pp->len, pp->len - n);
}

/* Read what is there (one packet in packet mode). Bytes or -EFAULT. */
static long pipe_take(struct pipe *pp, u64 ubuf, u64 count)
{
	u32 avail = pp->packet ? pp->pkt[pp->pkt_head] : pp->len;
	u32 n = (u32)MIN((u64)avail, count);
	if (ring_copy_out(pp, ubuf, n))
		return -EFAULT;
	/* Packet mode: the rest of a packet that did not fit is dropped. */
	ring_consume(pp, pp->packet ? avail : n);
	if (pp->packet) {
		pp->pkt_head = (pp->pkt_head + 1) % PIPE_PACKETS;
		WRITE_ONCE(pp->pkt_n, pp->pkt_n - 1);
	}
	return n;
}

static long pipe_read(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	(void)pos;
	struct pipe *pp = f->private;
	if (count == 0)
		return 0;
	for (;;) {
		u64 seq = file_poll_seq();
		down_write(&pp->mutex);
		if (pp->len) {
			long n = pipe_take(pp, ubuf, count);
			up_write(&pp->mutex);
			file_poll_notify();     /* room for the writers */
			return n;
		}
		bool eof = pp->writers == 0;
		up_write(&pp->mutex);
		if (eof)
			return 0;
		if (READ_ONCE(f->flags) & O_NONBLOCK)
			return -EAGAIN;
		if (READ_ONCE(current_thread()->killed))
			return -EINTR;
		if (signal_pending(current_thread()))
			return -ERESTARTSYS;    /* restarted after a SA_RESTART handler */
		file_poll_wait(seq);
	}
}

/* Copy n bytes from user memory to the tail of the ring (one packet in
 * packet mode). 0 or -EFAULT (nothing added). mutex held. */
static int pipe_put(struct pipe *pp, u64 ubuf, u32 n)
{
	u32 tail = (pp->head + pp->len) % PIPE_SIZE;
	u32 first = MIN(n, PIPE_SIZE - tail);
	if (copy_from_user(pp->buf + tail, ubuf, first) ||
	    copy_from_user(pp->buf, ubuf + first, n - first))
		return -EFAULT;
	WRITE_ONCE(pp->len, pp->len + n);
	if (pp->packet) {
		pp->pkt[(pp->pkt_head + pp->pkt_n) % PIPE_PACKETS] = n;
		WRITE_ONCE(pp->pkt_n, pp->pkt_n + 1);
	}
	return 0;
}

/* One step of a write: add what may go now. Bytes added (0: must wait),
 * -EPIPE (no reader) or -EFAULT. mutex taken and dropped. */
static long pipe_write_step(struct pipe *pp, u64 ubuf, u64 left)
{
	down_write(&pp->mutex);
	long ret = 0;
	u32 room = pipe_room(pp);
	/* At most PIPE_BUF bytes go in whole or not at all (atomic). */
	u64 need = left <= PIPE_BUF ? left : 1;
	if (!pp->readers) {
		ret = -EPIPE;
	} else if (room >= need) {
		u32 n = (u32)MIN(left, (u64)room);
		if (pp->packet)
			n = MIN(n, (u32)PIPE_BUF);
		ret = pipe_put(pp, ubuf, n) ? -EFAULT : (long)n;
	}
	up_write(&pp->mutex);
	if (ret > 0)
		file_poll_notify();     /* data for the readers */
	return ret;
}

/* No reader: SIGPIPE to the writing thread, as Linux's send_sig(SIGPIPE,
 * current, 0) (si_code SI_USER, from itself). Its default action kills;
 * a program that ignores or handles it sees -EPIPE. */
static void send_sigpipe(void)
{
	struct kernel_siginfo info = {
		.signo = SIGPIPE, .code = SI_USER, .pid = current_proc()->pid, .uid = 0,
	};
	send_sig_thread(current_thread(), &info);
}

static long pipe_write(struct file *f, u64 ubuf, u64 count)
{
	struct pipe *pp = f->private;
	u64 done = 0;
	if (count == 0)
		return 0;       /* a null write succeeds, readers or not (Linux) */
	while (done < count) {
		u64 seq = file_poll_seq();
		long n = pipe_write_step(pp, ubuf + done, count - done);
		if (n == -EPIPE) {
			send_sigpipe();
			return done ? (long)done : -EPIPE;
		}
		if (n < 0)
			return done ? (long)done : n;
		done += (u64)n;
		if (n > 0 || done == count)
			continue;
		if (READ_ONCE(f->flags) & O_NONBLOCK)
			return done ? (long)done : -EAGAIN;
		if (READ_ONCE(current_thread()->killed))
			return done ? (long)done : -EINTR;
		if (signal_pending(current_thread()))
			return done ? (long)done : -ERESTARTSYS;
		file_poll_wait(seq);
	}
	return (long)done;
}

static u32 pipe_poll(struct file *f)
{
	struct pipe *pp = f->private;
	u32 mask = 0;
	if (f->mode & FMODE_READ) {
		if (READ_ONCE(pp->len))
			mask |= POLLIN | POLLRDNORM;
		if (!READ_ONCE(pp->writers))
			mask |= POLLHUP;
	}
	if (f->mode & FMODE_WRITE) {
		if (pipe_room(pp) >= PIPE_BUF)
			mask |= POLLOUT | POLLWRNORM;
		if (!READ_ONCE(pp->readers))
			mask |= POLLERR;
	}
	return mask;
}

static void pipe_release(struct file *f)
{
	struct pipe *pp = f->private;
	down_write(&pp->mutex);
	if (f->mode & FMODE_READ)
		pp->readers--;
	else
		pp->writers--;
	up_write(&pp->mutex);
	file_poll_notify();     /* EOF for readers, EPIPE for writers */
	if (__atomic_sub_fetch(&pp->ends, 1, __ATOMIC_ACQ_REL) == 0) {
		free_pages_addr(pp->buf, PIPE_ORDER);
		kfree(pp);
	}
}

static const struct file_ops pipe_ops = {
	.name = "pipe",
	.read = pipe_read,
	.write = pipe_write,
	.poll = pipe_poll,
	.release = pipe_release,
	.stat_mode = 010600,    /* S_IFIFO | 0600, as Linux's pipefs reports */
};

static struct pipe *pipe_alloc(bool packet)
{
	struct pipe *pp = kzalloc(sizeof(*pp), GFP_KERNEL);
	if (!pp)
		return NULL;
	pp->buf = get_free_pages(GFP_KERNEL, PIPE_ORDER);
	if (!pp->buf) {
		kfree(pp);
		return NULL;
	}
	rwsem_init(&pp->mutex, "pipe");
	pp->readers = pp->writers = pp->ends = 1;
	pp->packet = packet;
	return pp;
}

/* Linux's do_pipe2: the flags, the two files, two fds, then the copy to
 * user memory (on a fault both fds are closed again: -EFAULT). */
static long sys_pipe2(u64 ufds, u64 flags)
{
	struct process *p = current_proc();
	if (flags & ~(u64)(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	struct pipe *pp = pipe_alloc(flags & O_DIRECT);
	if (!pp)
		return -ENFILE;
	u32 fl = (u32)flags & O_NONBLOCK;
	struct file *r = file_alloc(&pipe_ops, FMODE_READ, fl, pp);
	/* O_DIRECT is the write end's, as Linux's (F_GETFL shows it there). */
	struct file *w = r ? file_alloc(&pipe_ops, FMODE_WRITE, fl | ((u32)flags & O_DIRECT), pp)
			   : NULL;
	if (!w) {
		if (r) {
			pp->writers = 0;        /* one end to release: the read one */
			file_put(r);
		} else {
			free_pages_addr(pp->buf, PIPE_ORDER);
			kfree(pp);
		}
		return -ENFILE;
	}
	pp->ends = 2;
	u32 fdf = (flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	long fd0 = fd_install(p, r, fdf);
	if (fd0 < 0) {
		file_put(w);
		return fd0;
	}
	long fd1 = fd_install(p, w, fdf);
	if (fd1 < 0) {
		fd_close(p, fd0);
		return fd1;
	}
	int fds[2] = { (int)fd0, (int)fd1 };
	if (copy_to_user(ufds, fds, sizeof(fds))) {
		fd_close(p, fd0);
		fd_close(p, fd1);
		return -EFAULT;
	}
	return 0;
}

static long sys_pipe(u64 ufds)
{
	return sys_pipe2(ufds, 0);
}

bool file_is_pipe(const struct file *f)
{
	return f->ops == &pipe_ops;
}

void pipe_syscalls_init(void)
{
	syscall_register(SYS_pipe, (void (*)(void))sys_pipe);
	syscall_register(SYS_pipe2, (void (*)(void))sys_pipe2);
}
