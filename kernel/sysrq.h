/* SPDX-License-Identifier: MIT */
/* kernel/sysrq.h - /proc/sysrq-trigger: a look at every thread, for hangs.
 *
 * Writing a key to /proc/sysrq-trigger acts at once, as on Linux (only the
 * first byte counts):
 *   t  every thread: its process, state, the wait queue it sleeps on, and
 *      the kernel backtrace where it stopped (a running thread: its CPU);
 *   w  the same for blocked threads only.
 * Any other key prints the list of keys, as Linux does. The report goes to
 * the console. A test that sees a process stop answering writes "t" here
 * before it gives up, so the log says where the process is stuck.
 *
 * Locking: the walk holds the scheduler's thread table lock (no thread is
 * created or freed meanwhile); a sleeping thread may wake and run while its
 * stack is read, so its backtrace is followed only inside its own kernel
 * stack and may end early.
 */
#ifndef PAGODA_KERNEL_SYSRQ_H
#define PAGODA_KERNEL_SYSRQ_H

#include "kernel/types.h"

struct file;
struct thread;

#define SYSRQ_MAX_FRAMES 24

/* Where t stopped: the return addresses on its kernel stack, innermost
 * first, at most max; 0 when it is running (or not a thread any more). */
u32 sysrq_stopped_frames(struct thread *t, u64 *frames, u32 max);

/* Print every thread (blocked_only: those asleep on a wait queue). */
void sysrq_show_threads(bool blocked_only);
/* Open /proc/sysrq-trigger (write-only). */
struct file *sysrq_open(long *err);

#endif
