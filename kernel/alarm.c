/* SPDX-License-Identifier: MIT */
/* kernel/alarm.c - alarm(2) and the thread that sends SIGALRM. The rules
 * are in kernel/alarm.h. */
#include "kernel/alarm.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/signal.h"
#include "kernel/spinlock.h"
#include "kernel/syscall.h"
#include "kernel/time.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"

#define NSEC_PER_SEC 1000000000UL
#define NO_ALARM (~0UL)

/* One set alarm; p == NULL: a free entry. At most one per process, so the
 * table has a slot for every process. */
struct alarm {
	struct process *p;
	u32 pid;                /* p's pid when it was set */
	u64 deadline_ns;        /* CLOCK_MONOTONIC */
};

static spinlock_t alarm_lock = SPINLOCK_INIT("alarms");
static struct alarm alarms[MAX_PROCS];
/* The alarm thread sleeps here: woken by its sleep_timer, or by alarm(2)
 * when the table changed (alarm_changed, read under alarm_wq.lock). */
static struct waitq alarm_wq;
static bool alarm_changed;

/* p's entry, or NULL. alarm_lock held. */
static struct alarm *find(struct process *p)
{
	for (u32 i = 0; i < MAX_PROCS; i++)
		if (alarms[i].p == p)
			return &alarms[i];
	return NULL;
}

/* What alarm(2) returns for a deadline: whole seconds left, rounded to the
 * nearest, and 1 rather than 0 while the alarm is still to come. */
static u32 seconds_left(u64 deadline_ns, u64 now)
{
	u64 left = deadline_ns > now ? deadline_ns - now : 1;
	u64 sec = left / NSEC_PER_SEC, nsec = left % NSEC_PER_SEC;
	if ((!sec && nsec) || nsec >= NSEC_PER_SEC / 2)
		sec++;
	return sec > 0xffffffffUL ? 0xffffffffU : (u32)sec;
}

/* alarm(seconds): the argument is an unsigned int; the high half of the
 * register is not looked at, as on Linux. Never fails. */
static long sys_alarm(u64 useconds)
{
	u32 seconds = (u32)useconds;
	struct process *p = current_proc();
	u64 now = ktime_ns();
	u32 old = 0;
	u64 f = spin_lock_irqsave(&alarm_lock);
	struct alarm *a = find(p);
	if (a) {
		old = seconds_left(a->deadline_ns, now);
		a->p = NULL;
	}
	if (seconds) {
		a = find(NULL);         /* there is one: a slot per process */
		*a = (struct alarm){ p, p->pid, now + (u64)seconds * NSEC_PER_SEC };
	}
	spin_unlock_irqrestore(&alarm_lock, f);
	f = spin_lock_irqsave(&alarm_wq.lock);
	alarm_changed = true;
	spin_unlock_irqrestore(&alarm_wq.lock, f);
	wake_up_all(&alarm_wq);
	return old;
}

/* Negative control (docs/cmdline.md): an alarm outlives its process and
 * is sent to whatever process holds the slot when it expires. */
static bool alarm_debug_outlives_process;

void alarm_exit(struct process *p)
{
	if (alarm_debug_outlives_process)
		return;
	u64 f = spin_lock_irqsave(&alarm_lock);
	struct alarm *a = find(p);
	if (a)
		a->p = NULL;
	spin_unlock_irqrestore(&alarm_lock, f);
}

/* The earliest deadline set, or NO_ALARM. */
static u64 earliest(void)
{
	u64 next = NO_ALARM;
	u64 f = spin_lock_irqsave(&alarm_lock);
	for (u32 i = 0; i < MAX_PROCS; i++)
		if (alarms[i].p && alarms[i].deadline_ns < next)
			next = alarms[i].deadline_ns;
	spin_unlock_irqrestore(&alarm_lock, f);
	return next;
}

/* Take one alarm that is due off the table: true with its process and pid. */
static bool take_due(u64 now, struct process **p, u32 *pid)
{
	bool found = false;
	u64 f = spin_lock_irqsave(&alarm_lock);
	for (u32 i = 0; i < MAX_PROCS && !found; i++) {
		if (alarms[i].p && alarms[i].deadline_ns <= now) {
			*p = alarms[i].p;
			*pid = alarms[i].pid;
			alarms[i].p = NULL;
			found = true;
		}
	}
	spin_unlock_irqrestore(&alarm_lock, f);
	return found;
}

/* Sleep until next (NO_ALARM: no deadline) or until alarm(2) changes the
 * table. */
static void wait_for(u64 next)
{
	struct sleep_timer timer = { 0 };
	if (next != NO_ALARM)
		timer_add(&timer, next, &alarm_wq);
	u64 f = spin_lock_irqsave(&alarm_wq.lock);
	while (!alarm_changed && !(next != NO_ALARM && READ_ONCE(timer.fired)))
		sleep_on(&alarm_wq);
	alarm_changed = false;
	spin_unlock_irqrestore(&alarm_wq.lock, f);
	if (next != NO_ALARM)
		timer_del(&timer);
}

static void alarm_thread(void *arg)
{
	(void)arg;
	for (;;) {
		u64 next = earliest();
		if (next == NO_ALARM || next > ktime_ns())
			wait_for(next);
		struct process *p;
		u32 pid;
		while (take_due(ktime_ns(), &p, &pid)) {
			struct kernel_siginfo info = { .signo = SIGALRM, .code = SI_KERNEL };
			if (alarm_debug_outlives_process)
				send_sig_process(p, &info);
			else
				send_sig_pid(p, pid, &info);
		}
	}
}

void alarm_init(void)
{
	cmdline_debug_switch("alarm", "alarm_debug_outlives_process", &alarm_debug_outlives_process,
			     "an alarm is not dropped when its process exits and goes to the next "
			     "process in its slot");
	waitq_init(&alarm_wq, "alarm");
	syscall_register(SYS_alarm, (void (*)(void))sys_alarm);
	if (!kthread_create("alarm", alarm_thread, NULL, NULL))
		panic("alarm: no thread slot for the alarm thread");
}
