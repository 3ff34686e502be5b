/* SPDX-License-Identifier: MIT */
/* kernel/random.c - getrandom(2).
 *
 * The bytes come from the CPU's RDRAND when CPUID has it, mixed into a
 * counter-based generator (splitmix64) seeded at the first call from the
 * TSC; without RDRAND (the qemu64 CPU) from the generator alone. This is
 * not a cryptographic random number generator: Pagoda is a teaching
 * kernel, and C libraries want these bytes for hash seeds and the stack
 * protector's canary, not for keys (docs/syscalls.md). Never blocks: the
 * pool is "ready" from boot, so GRND_NONBLOCK changes nothing.
 */
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "arch/x86_64/cpu.h"

#define GRND_NONBLOCK 0x0001
#define GRND_RANDOM 0x0002
#define GRND_INSECURE 0x0004
#define INT_MAX 0x7fffffffUL

static u64 counter;             /* atomic: every call takes fresh values */
static int have_rdrand = -1;    /* -1: not yet asked */

static u64 splitmix64(u64 x)
{
	x += 0x9e3779b97f4a7c15UL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebUL;
	return x ^ (x >> 31);
}

static u64 rdrand_or_zero(void)
{
	if (have_rdrand < 0) {
		u32 a, b, c, d;
		cpuid(1, 0, &a, &b, &c, &d);
		have_rdrand = (c >> 30) & 1;
	}
	if (!have_rdrand)
		return 0;
	for (int i = 0; i < 10; i++) {  /* Intel's advice: retry a few times */
		u64 v;
		u8 ok;
		__asm__ __volatile__("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
		if (ok)
			return v;
	}
	return 0;
}

static u64 random_u64(void)
{
	u64 n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	return splitmix64(n * 0x2545f4914f6cdd1dUL ^ rdtsc()) ^ rdrand_or_zero();
}

/* Linux's checks: unknown flags and GRND_RANDOM with GRND_INSECURE are
 * EINVAL; a count is cut at INT_MAX; an unwritable buffer is EFAULT if
 * nothing was written, else the bytes written so far. */
static long sys_getrandom(u64 ubuf, u64 count, u64 flags)
{
	if (flags & ~(u64)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if ((flags & (GRND_INSECURE | GRND_RANDOM)) == (GRND_INSECURE | GRND_RANDOM))
		return -EINVAL;
	if (count > INT_MAX)
		count = INT_MAX;
	if (!user_range_ok(ubuf, count))
		return -EFAULT;
	u64 done = 0;
	while (done < count) {
		u64 v[8];
		for (u32 i = 0; i < 8; i++)
			v[i] = random_u64();
		u64 n = count - done < sizeof(v) ? count - done : sizeof(v);
		if (copy_to_user(ubuf + done, v, n))
			return done ? (long)done : -EFAULT;
		done += n;
		if ((done & 0xffff) == 0)
			cond_resched();
	}
	return (long)done;
}

void random_syscalls_init(void)
{
	syscall_register(SYS_getrandom, (void (*)(void))sys_getrandom);
}
