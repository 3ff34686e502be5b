/* SPDX-License-Identifier: MIT */
/* kernel/time.c - clock_gettime, time, nanosleep, clock_nanosleep and the sleep-timer list.
 * The rules are in kernel/time.h. */
#include "kernel/time.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/spinlock.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/apic.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_TAI 11
#define NSEC_PER_SEC 1000000000UL

struct kernel_timespec {
	s64 tv_sec;
	s64 tv_nsec;
};

static spinlock_t timer_lock = SPINLOCK_INIT("timers");
static struct sleep_timer *timer_list;  /* unsorted: a handful of sleepers */
static u64 boot_tsc;
static u64 realtime_at_boot_ns;

u64 ktime_ns(void)
{
	if (!tsc_khz)
		return 0;
	u64 cycles = rdtsc() - boot_tsc;
	/* cycles * 10^6 / khz without overflowing: split whole seconds. */
	u64 per_sec = tsc_khz * 1000;
	return (cycles / per_sec) * NSEC_PER_SEC + (cycles % per_sec) * 1000000 / tsc_khz;
}

void timer_add(struct sleep_timer *t, u64 deadline_ns, struct waitq *wq)
{
	t->deadline_ns = deadline_ns;
	t->wq = wq;
	t->fired = false;
	u64 f = spin_lock_irqsave(&timer_lock);
	t->next = timer_list;
	timer_list = t;
	spin_unlock_irqrestore(&timer_lock, f);
}

void timer_del(struct sleep_timer *t)
{
	u64 f = spin_lock_irqsave(&timer_lock);
	for (struct sleep_timer **pp = &timer_list; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	spin_unlock_irqrestore(&timer_lock, f);
}

void timer_tick(void)
{
	if (!READ_ONCE(timer_list))
		return;
	u64 now = ktime_ns();
	spin_lock(&timer_lock);         /* interrupts are off in the handler */
	for (struct sleep_timer *t = timer_list; t; t = t->next) {
		if (!t->fired && now >= t->deadline_ns) {
			WRITE_ONCE(t->fired, true);
			wake_up_all(t->wq);
		}
	}
	spin_unlock(&timer_lock);
}

int get_user_timespec(u64 uaddr, u64 *ns)
{
	struct kernel_timespec ts;
	if (copy_from_user(&ts, uaddr, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (s64)NSEC_PER_SEC)
		return -EINVAL;
	/* Clamp absurd lengths to ~292 years rather than overflow. */
	if ((u64)ts.tv_sec > (~0UL / NSEC_PER_SEC) - 1)
		*ns = ~0UL / 2;
	else
		*ns = (u64)ts.tv_sec * NSEC_PER_SEC + (u64)ts.tv_nsec;
	return 0;
}

static long sys_clock_gettime(u64 clock, u64 uts)
{
	u64 ns;
	switch ((s64)clock) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
		ns = realtime_at_boot_ns + ktime_ns();
		break;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
	/* Per-process and per-thread CPU time are not accounted: they read
	 * as the monotonic clock (docs/syscalls.md). */
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		ns = ktime_ns();
		break;
	default:
		return -EINVAL;
	}
	struct kernel_timespec ts = { (s64)(ns / NSEC_PER_SEC), (s64)(ns % NSEC_PER_SEC) };
	return copy_to_user(uts, &ts, sizeof(ts)) ? -EFAULT : 0;
}

/* Linux's time(2): whole seconds of CLOCK_REALTIME, also stored at tloc
 * unless it is NULL (EFAULT if it cannot be written; nothing is returned
 * then). */
static long sys_time(u64 tloc)
{
	s64 secs = (s64)((realtime_at_boot_ns + ktime_ns()) / NSEC_PER_SEC);
	if (tloc && copy_to_user(tloc, &secs, sizeof(secs)))
		return -EFAULT;
	return secs;
}

/* Sleepers of nanosleep wait here; the timer wakes it, each re-checks. */
static struct waitq sleep_wq;

void nanosleep_wake_all(void)
{
	wake_up_all(&sleep_wq);
}

/* Sleep until ktime_ns() reaches deadline, a signal, or the process being
 * killed. 0, or -EINTR with what was left stored at urem (unless 0). */
static long sleep_until(u64 deadline, u64 urem)
{
	if (deadline <= ktime_ns())
		return 0;               /* already past: no tick to wait for */
	struct thread *me = current_thread();
	struct sleep_timer timer;
	timer_add(&timer, deadline, &sleep_wq);
	u64 f = spin_lock_irqsave(&sleep_wq.lock);
	while (!READ_ONCE(timer.fired) && !READ_ONCE(me->killed) && !signal_pending(me))
		sleep_on(&sleep_wq);
	spin_unlock_irqrestore(&sleep_wq.lock, f);
	timer_del(&timer);
	if (!timer.fired) {
		/* Interrupted by a signal (or the process is being killed):
		 * report what is left, as Linux does for EINTR. Not restarted
		 * even with SA_RESTART (Linux's restart_block is not kept). */
		u64 now = ktime_ns(), left = deadline > now ? deadline - now : 0;
		struct kernel_timespec rem = { (s64)(left / NSEC_PER_SEC), (s64)(left % NSEC_PER_SEC) };
		if (urem && copy_to_user(urem, &rem, sizeof(rem)))
			return -EFAULT;
		return -EINTR;
	}
	return 0;
}

static long sys_nanosleep(u64 ureq, u64 urem)
{
	u64 len;
	int err = get_user_timespec(ureq, &len);
	if (err)
		return err;
	return sleep_until(ktime_ns() + len, urem);
}

#define TIMER_ABSTIME 1
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9

/* Linux's clock_nanosleep, in its order: the clock (EINVAL for no such
 * clock, and for the process CPU-time clock, which Pagoda does not
 * account; EOPNOTSUPP for a clock that cannot be slept on: the raw and
 * coarse ones, the thread CPU-time clock, and the alarm clocks, which need
 * a wake-up RTC), the request (EFAULT, EINVAL). CLOCK_TAI is
 * CLOCK_REALTIME (Linux's offset between them is 0 until NTP sets it). Flags other than TIMER_ABSTIME are ignored, as Linux does; an
 * absolute sleep stores no remainder. The kernel returns the errno: glibc
 * hands it back as the function's result. */
static long sys_clock_nanosleep(u64 clock, u64 flags, u64 ureq, u64 urem)
{
	switch ((s64)(s32)clock) {
	case CLOCK_REALTIME:
	case CLOCK_TAI:
	case CLOCK_MONOTONIC:
	case CLOCK_BOOTTIME:
		break;
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_THREAD_CPUTIME_ID:
	case CLOCK_REALTIME_ALARM:
	case CLOCK_BOOTTIME_ALARM:
		return -EOPNOTSUPP;
	default:
		return -EINVAL;
	}
	u64 t;
	int err = get_user_timespec(ureq, &t);
	if (err)
		return err;
	if (!(flags & TIMER_ABSTIME))
		return sleep_until(ktime_ns() + t, urem);
	/* An absolute time on the clock asked for, as a ktime deadline. */
	u64 base = (s32)clock == CLOCK_REALTIME || (s32)clock == CLOCK_TAI ? realtime_at_boot_ns : 0;
	return sleep_until(t > base ? t - base : 0, 0);
}

/* The CMOS real-time clock, read once at boot for CLOCK_REALTIME. */
static u8 cmos_read(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static u64 bcd(u8 v, bool is_bcd) { return is_bcd ? (v & 15) + (v >> 4) * 10 : v; }

static u64 days_from_civil(u64 y, u64 m, u64 d)
{
	/* Days since 1970-01-01 of a Gregorian date (year >= 1970). */
	static const u16 before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	u64 days = (y - 1970) * 365 + before[m - 1] + d - 1;
	days += (y - 1969) / 4 - (y - 1901) / 100 + (y - 1601) / 400;
	if (m > 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		days++;
	return days;
}

static void read_rtc(void)
{
	/* Wait for an update to finish, then read; good to a second. */
	for (int i = 0; i < 100000 && (cmos_read(0x0a) & 0x80); i++)
		cpu_relax();
	u8 regb = cmos_read(0x0b);
	bool is_bcd = !(regb & 4);
	u64 sec = bcd(cmos_read(0x00), is_bcd), min = bcd(cmos_read(0x02), is_bcd);
	u8 hr = cmos_read(0x04);
	bool pm = !(regb & 2) && (hr & 0x80);
	u64 hour = bcd(hr & 0x7f, is_bcd);
	if (!(regb & 2))
		hour = hour % 12 + (pm ? 12 : 0);
	u64 day = bcd(cmos_read(0x07), is_bcd), mon = bcd(cmos_read(0x08), is_bcd);
	u64 year = bcd(cmos_read(0x09), is_bcd) + 2000;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return;         /* no usable RTC: the epoch it is */
	u64 secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
	realtime_at_boot_ns = secs * NSEC_PER_SEC;
}

void time_syscalls_init(void)
{
	boot_tsc = rdtsc();
	read_rtc();
	waitq_init(&sleep_wq, "nanosleep");
	syscall_register(SYS_clock_gettime, (void (*)(void))sys_clock_gettime);
	syscall_register(SYS_time, (void (*)(void))sys_time);
	syscall_register(SYS_nanosleep, (void (*)(void))sys_nanosleep);
	syscall_register(SYS_clock_nanosleep, (void (*)(void))sys_clock_nanosleep);
}
