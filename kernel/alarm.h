/* SPDX-License-Identifier: MIT */
/* kernel/alarm.h - alarm(2): SIGALRM for a process after a number of
 * seconds (docs/signals.md, "alarm").
 *
 * A process has at most one alarm (Linux's ITIMER_REAL without an
 * interval). alarm(n) replaces it and returns the seconds the old one had
 * left, rounded to the nearest second but never 0 while one was set (as
 * Linux's alarm_setitimer); alarm(0) cancels it. A fork child starts with
 * none; the alarm ends with its process.
 *
 * Delivery: one kernel thread, "alarm", sleeps on a sleep_timer
 * (kernel/time.h) set to the earliest deadline and sends SIGALRM (SI_KERNEL,
 * as Linux's it_real_fn) to each process whose deadline has passed, in
 * process context: a signal's default action kills the process, which is
 * not work for the timer interrupt. Resolution is the timer tick (10 ms).
 *
 * Locking: alarm_lock (irq-safe, taken alone) protects the table of set
 * alarms; SIGALRM is sent after it is released, to the process only if its
 * slot still holds the same pid (send_sig_pid), so a process that exited
 * meanwhile, or a new one in its slot, gets nothing.
 */
#ifndef PAGODA_ALARM_H
#define PAGODA_ALARM_H

#include "kernel/types.h"

struct process;

/* Registers alarm(2) and starts the alarm thread (after the scheduler). */
void alarm_init(void);
/* p's last thread is exiting: its alarm, if any, is dropped. */
void alarm_exit(struct process *p);

#endif
