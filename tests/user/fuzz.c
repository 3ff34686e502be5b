/* SPDX-License-Identifier: MIT */
/* fuzz - thousands of system calls with bad pointers, lengths and flags.
 *
 * A fixed-seed generator picks a call from the library's list and fills its
 * arguments from pools of good and bad values: NULL, kernel and
 * non-canonical addresses, a read-only page, a hole, valid buffers, zero and
 * huge lengths, unknown flags and advice. Every result must be a success or
 * a valid errno (1..133), and the process must survive.
 *
 * Calls that change memory only ever touch an "arena" of our own (64 pages
 * with an unmapped page on each side), and lengths are clamped so that no
 * call can reach our code, data or stack; calls that could block, print,
 * create files or signal other processes are given only arguments for which
 * they fail or return at once. So every outcome depends on the arguments
 * alone, not on where the kernel placed things, and the per-call summary
 * (how often each errno came back) is the same on every run. Compared with
 * Linux's, it shows where Pagoda's error handling differs.
 */
#include "libc.h"

#define NCALLS 6000
#define ARENA_PAGES 64
#define MAX_ERRNO 133		/* EHWPOISON, the largest Linux errno */
#define P(n) ((unsigned long)(n) * PAGE_SIZE)

static u64 rng_state = 0x5eed5eed12345678UL;

/* xorshift64*: small, fast and the same everywhere. */
static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dUL;
}

static unsigned long pick(const unsigned long *pool, unsigned n)
{
	return pool[rnd() % n];
}
#define PICK(pool) pick(pool, ARRAY_SIZE(pool))

static u8 *arena;			/* ARENA_PAGES, with holes around */
static unsigned long hole;		/* the unmapped page below the arena */
static u8 *ro_page;			/* PROT_READ, all zero */
static u8 scratch[8192] __aligned(64);	/* a valid buffer */
static int maps_fd;			/* /proc/self/maps, read-only */
static unsigned long first_brk;
static cpu_set_t all_cpus;
static pid_t self;

#define KERNEL_ADDR   0xffff800000000000UL
#define KERNEL_TEXT   0xffffffff81000000UL
#define NONCANONICAL  0x8000000000000000UL

/* Addresses that no call may use successfully. */
static unsigned long bad_ptr(void)
{
	const unsigned long pool[] = { 0, 1, KERNEL_ADDR, KERNEL_TEXT,
				       NONCANONICAL, ~0UL, hole, hole + 8 };
	return PICK(pool);
}

/* Any pointer: bad, read-only, or good. */
static unsigned long any_ptr(void)
{
	switch (rnd() % 4) {
	case 0:
		return bad_ptr();
	case 1:
		return (unsigned long)ro_page;
	default:
		return (unsigned long)scratch + (rnd() % 2) * 64;
	}
}

/* A page-aligned (or, one time in eight, unaligned) arena address. */
static unsigned long arena_addr(void)
{
	unsigned long a = (unsigned long)arena + P(rnd() % ARENA_PAGES);

	return rnd() % 8 ? a : a + 1 + rnd() % 100;
}

/* A length that keeps [addr, addr+len) inside the arena, or one so huge or
 * so bad that the call fails before touching anything. */
static unsigned long arena_len(unsigned long addr)
{
	unsigned long room = (unsigned long)arena + P(ARENA_PAGES) - addr;
	const unsigned long bad[] = { 0, ~0UL, ~0UL - 4095 };

	if (rnd() % 6 == 0)
		return PICK(bad);
	switch (rnd() % 3) {
	case 0:
		return 1 + rnd() % room;
	default:
		return ((1 + rnd() % 8) * PAGE_SIZE) < room ? (1 + rnd() % 8) * PAGE_SIZE : room;
	}
}

static unsigned long small_len(void)
{
	const unsigned long pool[] = { 0, 1, 7, 64, 4096, 4097, 8192 };

	return PICK(pool);
}

enum {
	SYS_READ, SYS_WRITE, SYS_OPEN, SYS_OPENAT, SYS_CLOSE, SYS_MMAP,
	SYS_MUNMAP, SYS_MPROTECT, SYS_BRK, SYS_MADVISE, SYS_CLONE, SYS_FORK,
	SYS_WAIT4, SYS_GETPID, SYS_GETTID, SYS_ARCH_PRCTL, SYS_SET_TID_ADDRESS,
	SYS_SCHED_SETAFFINITY, SYS_SCHED_GETAFFINITY, SYS_SCHED_YIELD,
	SYS_FUTEX, SYS_NANOSLEEP, SYS_CLOCK_GETTIME, SYS_UNAME, SYS_KILL,
	SYS_PIDFD_OPEN, SYS_PROCESS_MADVISE, NSYS
};

static const char *const sys_names[NSYS] = {
	"read", "write", "open", "openat", "close", "mmap", "munmap",
	"mprotect", "brk", "madvise", "clone", "fork", "wait4", "getpid",
	"gettid", "arch_prctl", "set_tid_address", "sched_setaffinity",
	"sched_getaffinity", "sched_yield", "futex", "nanosleep",
	"clock_gettime", "uname", "kill", "pidfd_open", "process_madvise",
};

/* Relative weights: the memory calls get most of the attention. */
static const unsigned weight[NSYS] = {
	[SYS_READ] = 3, [SYS_WRITE] = 3, [SYS_OPEN] = 3, [SYS_OPENAT] = 3,
	[SYS_CLOSE] = 2, [SYS_MMAP] = 12, [SYS_MUNMAP] = 8, [SYS_MPROTECT] = 8,
	[SYS_BRK] = 2, [SYS_MADVISE] = 8, [SYS_CLONE] = 2, [SYS_FORK] = 1,
	[SYS_WAIT4] = 2, [SYS_GETPID] = 1, [SYS_GETTID] = 1,
	[SYS_ARCH_PRCTL] = 3, [SYS_SET_TID_ADDRESS] = 1,
	[SYS_SCHED_SETAFFINITY] = 3, [SYS_SCHED_GETAFFINITY] = 3,
	[SYS_SCHED_YIELD] = 1, [SYS_FUTEX] = 4, [SYS_NANOSLEEP] = 2,
	[SYS_CLOCK_GETTIME] = 3, [SYS_UNAME] = 2, [SYS_KILL] = 2,
	[SYS_PIDFD_OPEN] = 2, [SYS_PROCESS_MADVISE] = 3,
};

/* counts[call][0] = successes, counts[call][e] = errno e. */
static unsigned counts[NSYS][MAX_ERRNO + 1];
static unsigned bad_results;		/* returns that are neither */

static void record(int call, long r)
{
	if (r >= 0 || !raw_is_error(r)) {
		counts[call][0]++;
	} else if (-r <= MAX_ERRNO) {
		counts[call][-r]++;
	} else {
		bad_results++;
		ktap_diag("%s returned %ld", sys_names[call], r);
	}
}

/* "fuzz -v" prints every call with its arguments and result, to find
 * which call a changed summary line comes from. */
static bool verbose;
#ifndef FUZZ_VERBOSE
#define FUZZ_VERBOSE 0
#endif

static long traced_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long r = raw_syscall6(n, a1, a2, a3, a4, a5, a6);

	if (verbose)
		printf("# call %ld(%lx, %lx, %lx, %lx, %lx, %lx) = %ld\n",
		       n, a1, a2, a3, a4, a5, a6, r);
	return r;
}

#define SC(n, ...) traced_syscall(n, __VA_ARGS__)
#define L(x) ((long)(x))

static long fuzz_read(void)
{
	const long fds[] = { -1, 99, 1000, maps_fd };

	/* Never fd 0, 1 or 2: a read from the console would wait for input. */
	return SC(__NR_read, fds[rnd() % 4], L(any_ptr()), L(small_len()), 0, 0, 0);
}

static long fuzz_write(void)
{
	const long fds[] = { -1, 99, maps_fd, 1 };
	long fd = fds[rnd() % 4];
	unsigned long buf = any_ptr(), len = small_len();

	/* To the console, only what cannot print: a bad buffer. */
	if (fd == 1)
		buf = bad_ptr() ? bad_ptr() : KERNEL_ADDR;
	if (fd == 1 && buf <= 1)
		buf = KERNEL_ADDR;
	return SC(__NR_write, fd, L(buf), L(len), 0, 0, 0);
}

static unsigned long path_ptr(void)
{
	static const char *const paths[] = { "/proc/self/maps", "/proc/meminfo",
		"/nonexistent", "", "no-such-relative-file", "/proc/self/status" };

	if (rnd() % 4 == 0)
		return bad_ptr();
	return (unsigned long)paths[rnd() % ARRAY_SIZE(paths)];
}

/* Read-only opens only: nothing can be created or changed. */
static long open_flags(void)
{
	const long flags[] = { O_RDONLY, O_RDONLY | O_CLOEXEC, O_DIRECTORY, O_NONBLOCK };

	return flags[rnd() % 4];
}

static long close_if_fd(long r)
{
	if (r >= 0)
		raw_syscall1(__NR_close, r);
	return r;
}

static long fuzz_open(void)
{
	return close_if_fd(SC(__NR_open, L(path_ptr()), open_flags(), 0, 0, 0, 0));
}

static long fuzz_openat(void)
{
	const long dirfds[] = { AT_FDCWD, -1, 99, maps_fd };

	return close_if_fd(SC(__NR_openat, dirfds[rnd() % 4], L(path_ptr()), open_flags(), 0, 0, 0));
}

static long fuzz_close(void)
{
	const long fds[] = { -1, 99, 1000, 4096, 0x7fffffff };

	return SC(__NR_close, fds[rnd() % 5], 0, 0, 0, 0, 0);
}

/* PROT_GROWSDOWN and PROT_GROWSUP are left out: Linux 6.1 and later
 * versions check them in a different order, so their errno varies. */
static long fuzz_prot(void)
{
	const long extra[] = { 0, 0, 0, 0x10, 0x8, 0x40 };

	return (long)(rnd() % 8) | extra[rnd() % ARRAY_SIZE(extra)];
}

static long fuzz_mmap(void)
{
	const unsigned long types[] = { MAP_PRIVATE, MAP_PRIVATE, MAP_SHARED,
					MAP_SHARED_VALIDATE, 0, 0xf };
	const unsigned long extras[] = { 0, MAP_FIXED, MAP_FIXED_NOREPLACE,
		MAP_POPULATE, MAP_NORESERVE, MAP_STACK, 0x4000000 };
	const long offs[] = { 0, 0, 0, 1, 4096, -4096 };
	unsigned long flags = PICK(types) | PICK(extras), addr, len;
	long fd = -1, r;

	if (rnd() % 8)
		flags |= MAP_ANONYMOUS;
	else
		fd = (long[]){ -1, 99, maps_fd }[rnd() % 3];

	/* Linux 6.1 checks MAP_FIXED_NOREPLACE before it rejects an anonymous
	 * MAP_SHARED_VALIDATE, later versions after: avoid the pair. */
	if ((flags & MAP_FIXED_NOREPLACE) && (flags & MAP_TYPE) == MAP_SHARED_VALIDATE)
		flags = (flags & ~(unsigned long)MAP_TYPE) | MAP_SHARED;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		/* Fixed mappings land in the arena or nowhere. */
		switch (rnd() % 4) {
		case 0:
			addr = (rnd() % 2) ? KERNEL_ADDR : NONCANONICAL;
			len = small_len();
			break;
		default:
			addr = arena_addr();
			len = arena_len(addr);
			break;
		}
	} else {
		/* Anywhere the kernel likes; a hint is only a hint. */
		const unsigned long lens[] = { 0, 1, 4096, 5000, 1UL << 20,
					       1UL << 62, ~0UL - 4095 };

		addr = (rnd() % 2) ? 0 : (rnd() % 2 ? arena_addr() : KERNEL_ADDR);
		len = PICK(lens);
	}
	r = SC(__NR_mmap, L(addr), L(len), fuzz_prot(), L(flags), fd, offs[rnd() % ARRAY_SIZE(offs)]);
	if (!raw_is_error(r)) {
		unsigned long a = (unsigned long)r;

		if (a & (PAGE_SIZE - 1)) {
			bad_results++;
			ktap_diag("mmap returned an unaligned address");
		}
		/* A mapping the kernel placed (not MAP_FIXED*) went into free
		 * space, maybe into a hole of the arena, depending on the
		 * layout around it: unmap it at once to restore the state. */
		if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
			raw_syscall2(__NR_munmap, r, L(len));
	}
	return r;
}

static void arena_range(unsigned long *addr, unsigned long *len)
{
	if (rnd() % 6 == 0) {
		*addr = (rnd() % 2) ? KERNEL_ADDR : NONCANONICAL;
		*len = small_len();
	} else {
		*addr = arena_addr();
		*len = arena_len(*addr);
	}
}

static long fuzz_munmap(void)
{
	unsigned long addr, len;

	arena_range(&addr, &len);
	return SC(__NR_munmap, L(addr), L(len), 0, 0, 0, 0);
}

static long fuzz_mprotect(void)
{
	unsigned long addr, len;

	arena_range(&addr, &len);
	return SC(__NR_mprotect, L(addr), L(len), fuzz_prot(), 0, 0, 0);
}

static long fuzz_madvise(void)
{
	/* Never MADV_HWPOISON/SOFT_OFFLINE (100, 101): as root they would
	 * really poison memory. KSM and THP advice depend on the kernel's
	 * configuration, so they are left out too. */
	const long advice[] = { MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL,
		MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_REMOVE,
		MADV_DONTFORK, MADV_DOFORK, MADV_COLD, MADV_PAGEOUT,
		5, 6, 7, 99, 1000, -1 };
	unsigned long addr, len;

	arena_range(&addr, &len);
	return SC(__NR_madvise, L(addr), L(len), advice[rnd() % ARRAY_SIZE(advice)], 0, 0, 0);
}

static long fuzz_brk(void)
{
	const unsigned long pool[] = { 0, 1, KERNEL_ADDR, NONCANONICAL };
	long r = SC(__NR_brk, L(PICK(pool)), 0, 0, 0, 0, 0);

	/* brk never fails with an errno; a refused request returns the
	 * current break, which must not have moved. */
	if ((unsigned long)r != first_brk) {
		bad_results++;
		ktap_diag("brk moved the break");
	}
	return 0;
}

static long fuzz_clone(void)
{
	/* Only flag combinations Linux refuses: no child is ever made here. */
	const unsigned long flags[] = { CLONE_SIGHAND, CLONE_THREAD,
		CLONE_THREAD | CLONE_SIGHAND, CLONE_NEWNS | CLONE_FS };

	return SC(__NR_clone, L(PICK(flags)), L(any_ptr()), L(any_ptr()), L(any_ptr()), 0, 0);
}

static long fuzz_fork(void)
{
	long r = SC(__NR_fork, 0, 0, 0, 0, 0, 0);
	int status;

	if (r == 0)
		raw_syscall1(__NR_exit_group, 0);
	if (r > 0) {
		if (wait4((pid_t)r, &status, 0, NULL) != r || !WIFEXITED(status)) {
			bad_results++;
			ktap_diag("fork: the child did not exit cleanly");
		}
		return 0;
	}
	return r;
}

static long fuzz_wait4(void)
{
	const long pids[] = { -1, 0, 99999999, -99999999 };
	const long options[] = { 0, WNOHANG, 0x4000, 0x7fffffff };

	return SC(__NR_wait4, pids[rnd() % 4], L(any_ptr()), options[rnd() % 4], L(any_ptr()), 0, 0);
}

static long fuzz_arch_prctl(void)
{
	switch (rnd() % 4) {
	case 0:
		return SC(__NR_arch_prctl, (rnd() % 2) ? ARCH_GET_FS : ARCH_GET_GS, L(any_ptr()), 0, 0, 0, 0);
	case 1:	/* FS holds our thread block: only values it must refuse */
		return SC(__NR_arch_prctl, ARCH_SET_FS, L(NONCANONICAL), 0, 0, 0, 0);
	case 2:
		return SC(__NR_arch_prctl, ARCH_SET_GS, (rnd() % 2) ? 0 : L(NONCANONICAL), 0, 0, 0, 0);
	default:
		return SC(__NR_arch_prctl, (rnd() % 2) ? 0 : 0x999, L(any_ptr()), 0, 0, 0, 0);
	}
}

static long fuzz_set_tid_address(void)
{
	long r = SC(__NR_set_tid_address, L(any_ptr()), 0, 0, 0, 0, 0);

	if (r != gettid()) {
		bad_results++;
		ktap_diag("set_tid_address did not return our tid");
	}
	return 0;
}

static long fuzz_sched_setaffinity(void)
{
	static cpu_set_t empty, far;
	const long pids[] = { 0, 0, 0, 99999999 };
	unsigned long mask;

	cpu_set(CPU_SETSIZE - 1, &far);
	switch (rnd() % 4) {
	case 0: mask = (unsigned long)&empty; break;
	case 1: mask = (unsigned long)&far; break;
	case 2: mask = bad_ptr(); break;
	default: mask = (unsigned long)&all_cpus; break;
	}
	return SC(__NR_sched_setaffinity, pids[rnd() % 4],
		  (long[]){ 0, 8, 128, 3 }[rnd() % 4], L(mask), 0, 0, 0);
}

static long fuzz_sched_getaffinity(void)
{
	const long pids[] = { 0, 0, 99999999, -1 };
	const long lens[] = { 0, 4, 7, 8, 128 };

	return SC(__NR_sched_getaffinity, pids[rnd() % 4], lens[rnd() % 5], L(any_ptr()), 0, 0, 0);
}

static long fuzz_futex(void)
{
	static const struct timespec short_wait = { 0, 1000 }, bad_wait = { 0, 2000000000 };
	int *word = (int *)scratch;	/* always 0 */
	const long ops[] = { FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT | FUTEX_PRIVATE_FLAG,
			     FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 99, 9 };
	unsigned long uaddr, timeout;
	long op = ops[rnd() % ARRAY_SIZE(ops)], val;

	switch (rnd() % 5) {
	case 0: uaddr = bad_ptr(); break;
	case 1: uaddr = (unsigned long)scratch + 1; break;	/* unaligned */
	case 2: uaddr = (unsigned long)ro_page; break;	/* holds 0 */
	default: uaddr = (unsigned long)word; break;
	}
	switch (rnd() % 4) {
	case 0: timeout = 0; break;
	case 1: timeout = (unsigned long)&bad_wait; break;
	case 2: timeout = bad_ptr(); break;
	default: timeout = (unsigned long)&short_wait; break;
	}
	/* Both possible words hold 0: a wait with val 0 would sleep, so it
	 * gets one only with a short timeout. */
	val = (timeout == (unsigned long)&short_wait) ? (long)(rnd() % 2) : 1;
	return SC(__NR_futex, L(uaddr), op, val, L(timeout), L(any_ptr()), 0);
}

static long fuzz_nanosleep(void)
{
	static const struct timespec good = { 0, 1000 }, bad_ns = { 0, 1000000000 },
		neg = { -1, 0 };
	const unsigned long req[] = { (unsigned long)&good, (unsigned long)&bad_ns,
				      (unsigned long)&neg, 0, KERNEL_ADDR };

	return SC(__NR_nanosleep, L(PICK(req)), L(any_ptr()), 0, 0, 0, 0);
}

static long fuzz_clock_gettime(void)
{
	const long ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, 16, 100 };

	return SC(__NR_clock_gettime, ids[rnd() % 4], L(any_ptr()), 0, 0, 0, 0);
}

static long fuzz_uname(void)
{
	return SC(__NR_uname, L(any_ptr()), 0, 0, 0, 0, 0);
}

static long fuzz_kill(void)
{
	/* Signal 0 only checks; to ourselves nothing else is sent, and other
	 * pids do not exist. */
	if (rnd() % 2)
		return SC(__NR_kill, self, (long[]){ 0, 65, -1, 1000 }[rnd() % 4], 0, 0, 0, 0);
	return SC(__NR_kill, 99999999, (long[]){ 0, 9, 15, 65 }[rnd() % 4], 0, 0, 0, 0);
}

static long fuzz_pidfd_open(void)
{
	const long pids[] = { self, self, 0, -1, 99999999 };
	const long flags[] = { 0, O_NONBLOCK, 1, 0x7fffffff };

	return close_if_fd(SC(__NR_pidfd_open, pids[rnd() % 5], flags[rnd() % 4], 0, 0, 0, 0));
}

static long fuzz_process_madvise(void)
{
	/* Only advice every Linux version accepts here, and one it never does;
	 * vlen 0 too is left out: the order of the checks changed after 6.1. */
	static struct iovec iov[2];
	const long advice[] = { MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED, 999 };
	long pidfd = raw_syscall2(__NR_pidfd_open, self, 0), r;
	unsigned long vec;

	for (int i = 0; i < 2; i++) {
		iov[i].iov_base = (void *)((unsigned long)arena + P(rnd() % ARENA_PAGES));
		iov[i].iov_len = P(1);
	}
	vec = (rnd() % 4) ? (unsigned long)iov : bad_ptr();
	r = SC(__NR_process_madvise, (rnd() % 4) ? pidfd : 99, L(vec),
	       (long[]){ 1, 2, 5000 }[rnd() % 3], advice[rnd() % 4],
	       (rnd() % 4) ? 0 : 1, 0);
	close_if_fd(pidfd);
	return r;
}

static long (*const fuzzers[NSYS])(void) = {
	[SYS_READ] = fuzz_read, [SYS_WRITE] = fuzz_write,
	[SYS_OPEN] = fuzz_open, [SYS_OPENAT] = fuzz_openat,
	[SYS_CLOSE] = fuzz_close, [SYS_MMAP] = fuzz_mmap,
	[SYS_MUNMAP] = fuzz_munmap, [SYS_MPROTECT] = fuzz_mprotect,
	[SYS_BRK] = fuzz_brk, [SYS_MADVISE] = fuzz_madvise,
	[SYS_CLONE] = fuzz_clone, [SYS_FORK] = fuzz_fork,
	[SYS_WAIT4] = fuzz_wait4,
	[SYS_GETPID] = NULL, [SYS_GETTID] = NULL,
	[SYS_ARCH_PRCTL] = fuzz_arch_prctl,
	[SYS_SET_TID_ADDRESS] = fuzz_set_tid_address,
	[SYS_SCHED_SETAFFINITY] = fuzz_sched_setaffinity,
	[SYS_SCHED_GETAFFINITY] = fuzz_sched_getaffinity,
	[SYS_SCHED_YIELD] = NULL, [SYS_FUTEX] = fuzz_futex,
	[SYS_NANOSLEEP] = fuzz_nanosleep,
	[SYS_CLOCK_GETTIME] = fuzz_clock_gettime, [SYS_UNAME] = fuzz_uname,
	[SYS_KILL] = fuzz_kill, [SYS_PIDFD_OPEN] = fuzz_pidfd_open,
	[SYS_PROCESS_MADVISE] = fuzz_process_madvise,
};

static long one_call(int call)
{
	switch (call) {
	case SYS_GETPID:
		return SC(__NR_getpid, 0, 0, 0, 0, 0, 0);
	case SYS_GETTID:
		return SC(__NR_gettid, 0, 0, 0, 0, 0, 0);
	case SYS_SCHED_YIELD:
		return SC(__NR_sched_yield, 0, 0, 0, 0, 0, 0);
	default:
		return fuzzers[call]();
	}
}

static int choose_call(void)
{
	unsigned total = 0, x;

	for (int i = 0; i < NSYS; i++)
		total += weight[i];
	x = (unsigned)(rnd() % total);
	for (int i = 0; i < NSYS; i++) {
		if (x < weight[i])
			return i;
		x -= weight[i];
	}
	return SYS_GETPID;
}

static void print_summary(void)
{
	for (int c = 0; c < NSYS; c++) {
		char line[256];
		size_t len = 0;
		unsigned total = 0;

		for (int e = 0; e <= MAX_ERRNO; e++)
			total += counts[c][e];
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%-18s %4u calls:",
					sys_names[c], total);
		for (int e = 0; e <= MAX_ERRNO && len < sizeof(line); e++)
			if (counts[c][e])
				len += (size_t)snprintf(line + len, sizeof(line) - len, " %s=%u",
							e ? errno_name(e) : "ok", counts[c][e]);
		ktap_diag("%s", line);
	}
}

int main(int argc, char **argv)
{
	u8 *r;
	bool alive;

	verbose = FUZZ_VERBOSE || (argc > 1 && !strcmp(argv[1], "-v"));
	ktap_plan(4);
	self = getpid();
	first_brk = brk(0);
	cpu_zero(&all_cpus);
	sched_getaffinity(0, sizeof(all_cpus), &all_cpus);
	maps_fd = open("/proc/self/maps", O_RDONLY, 0);
	r = mmap(NULL, P(ARENA_PAGES + 2), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_page = mmap(NULL, P(1), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED || ro_page == MAP_FAILED || maps_fd < 0)
		ktap_bail("setup failed: %s", errno_name(errno));
	munmap(r, P(1));
	munmap(r + P(ARENA_PAGES + 1), P(1));
	arena = r + P(1);
	hole = (unsigned long)r;
	memset(scratch, 0, sizeof(scratch));

	for (int i = 0; i < NCALLS; i++) {
		int call = choose_call();

		record(call, one_call(call));
		/* Calls may write into scratch; the futex word must stay 0. */
		*(volatile int *)scratch = 0;
	}
	set_tid_address(NULL);
	sched_setaffinity(0, sizeof(all_cpus), &all_cpus);

	print_summary();
	ktap_ok(bad_results == 0, "every result was a success or an errno in 1..%d", MAX_ERRNO);
	alive = getpid() == self && brk(0) == first_brk;
	ktap_ok(alive, "the process survived %d calls", NCALLS);
	{
		u8 *m = mmap(NULL, P(4), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		bool ok = m != MAP_FAILED;

		if (ok) {
			m[0] = 1;
			m[P(3)] = 2;
			ok = m[0] + m[P(3)] == 3 && munmap(m, P(4)) == 0;
		}
		ktap_ok(ok, "mmap, write and munmap still work");
	}
	{
		int status = 0;
		pid_t pid = fork();

		if (pid == 0)
			exit(7);
		ktap_ok(pid > 0 && wait4(pid, &status, 0, NULL) == pid && WIFEXITED(status) &&
			WEXITSTATUS(status) == 7, "fork and wait4 still work");
	}
	return ktap_finish();
}
