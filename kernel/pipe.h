/* SPDX-License-Identifier: MIT */
/* kernel/pipe.h - pipes: pipe(2) and pipe2(2) (docs/syscalls.md, "Pipes").
 *
 * A pipe is a buffer of PIPE_SIZE bytes (Linux's default: 16 pages) with a
 * read end and a write end, each an open file (kernel/file.h); fork shares
 * both ends as it shares every open file. Linux's semantics:
 *   - read blocks while the pipe is empty and a writer remains; it returns
 *     what is there (at most count), 0 (end of file) once every write end
 *     is closed, -EAGAIN when empty with O_NONBLOCK;
 *   - write of at most PIPE_BUF bytes is atomic: it waits until all of it
 *     fits; a longer one goes in pieces, blocking until all is written (or,
 *     with O_NONBLOCK, returns what fitted, -EAGAIN if nothing did);
 *   - write with no read end open fails with -EPIPE and sends SIGPIPE to
 *     the writer (kernel/signal.h), whose default action kills it;
 *   - poll: POLLIN when there is data, POLLHUP on the read end once the
 *     writers are gone; POLLOUT when PIPE_BUF bytes fit, POLLERR on the
 *     write end once the readers are gone;
 *   - O_DIRECT: "packet mode" (Linux 3.4): each write of up to PIPE_BUF
 *     bytes is one packet, larger writes are cut in PIPE_BUF pieces, and a
 *     read returns at most one packet, discarding what did not fit.
 *   pipe2 takes O_CLOEXEC, O_NONBLOCK and O_DIRECT; any other flag is
 *   -EINVAL (O_NOTIFICATION_PIPE needs CONFIG_WATCH_QUEUE, which Pagoda, as
 *   a Linux built without it, does not have).
 *
 * Locking: pp->mutex (sleeping) serialises the readers and writers of one
 * pipe and is held across the copy to or from user memory (which may
 * fault: lock order pp->mutex, then mm->mmap_lock, as Linux's
 * pp->mutex). A blocked reader or writer sleeps with nothing held, on
 * the poll wait queue (file_poll_wait): every change to a pipe calls
 * file_poll_notify(), which wakes it and the pollers to look again.
 */
#ifndef PAGODA_KERNEL_PIPE_H
#define PAGODA_KERNEL_PIPE_H

#define PIPE_SIZE 65536         /* bytes a pipe holds (Linux: 16 pages) */
#define PIPE_BUF 4096           /* writes up to this size are atomic */
#define O_DIRECT 040000         /* pipe2: packet mode */

#include "kernel/types.h"

struct file;

/* Is f an end of a pipe (fcntl's F_GETPIPE_SZ, F_SETFL's O_DIRECT)? */
bool file_is_pipe(const struct file *f);

/* Registers pipe and pipe2. */
void pipe_syscalls_init(void);

#endif
