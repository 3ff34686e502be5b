/* SPDX-License-Identifier: MIT */
/* kernel/time.h - clocks and sleeping (nanosleep, futex timeouts).
 *
 * Clocks come from the TSC (calibrated at boot, arch/x86_64/apic.c):
 * CLOCK_MONOTONIC counts from boot; CLOCK_REALTIME is the same plus the
 * wall-clock time read from the CMOS RTC at boot; time(2) gives its whole
 * seconds.
 *
 * Sleeping: a thread with a deadline puts a struct sleep_timer on one list
 * (timer_add) and sleeps on a wait queue; the boot CPU's LAPIC tick
 * (timer_tick, from sched_tick) wakes the queue of every timer that has
 * expired. Resolution is one tick (10 ms). Timers live on their owner's
 * kernel stack and must be removed (timer_del) before it returns.
 *
 * Locking: timer_lock (irq-safe) protects the list; it is never taken
 * while a wait-queue lock is held (timer_tick takes it, then wq locks).
 */
#ifndef PAGODA_TIME_H
#define PAGODA_TIME_H

#include "kernel/types.h"

struct waitq;

struct sleep_timer {
	u64 deadline_ns;        /* CLOCK_MONOTONIC */
	struct waitq *wq;       /* woken when it expires; must never be freed */
	bool fired;
	struct sleep_timer *next;
};

u64 ktime_ns(void);             /* CLOCK_MONOTONIC, nanoseconds since boot */
void timer_add(struct sleep_timer *t, u64 deadline_ns, struct waitq *wq);
void timer_del(struct sleep_timer *t);
void timer_tick(void);          /* boot CPU's timer interrupt */
/* Wake every thread sleeping in nanosleep: a process is being killed and
 * its threads must notice (each re-checks its deadline and t->killed). */
void nanosleep_wake_all(void);

/* struct timespec from user space: 0, -EFAULT or -EINVAL. */
int get_user_timespec(u64 uaddr, u64 *ns);

void time_syscalls_init(void);

#endif
