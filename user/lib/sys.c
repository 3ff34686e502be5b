/* SPDX-License-Identifier: MIT */
/* user/lib/sys.c - system-call wrappers: convert the kernel's -errno into
 * -1 plus errno (the convention of sys.h). */
#include "sys.h"
#include "thread.h"

long ret_errno(long r)
{
	if (raw_is_error(r)) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#define S0(n)                  ret_errno(raw_syscall0(n))
#define S1(n, a)               ret_errno(raw_syscall1(n, (long)(a)))
#define S2(n, a, b)            ret_errno(raw_syscall2(n, (long)(a), (long)(b)))
#define S3(n, a, b, c)         ret_errno(raw_syscall3(n, (long)(a), (long)(b), (long)(c)))
#define S4(n, a, b, c, d)      ret_errno(raw_syscall4(n, (long)(a), (long)(b), (long)(c), (long)(d)))
#define S5(n, a, b, c, d, e)   ret_errno(raw_syscall5(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e)))
#define S6(n, a, b, c, d, e, f) ret_errno(raw_syscall6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))

ssize_t read(int fd, void *buf, size_t n) { return S3(__NR_read, fd, buf, n); }
ssize_t write(int fd, const void *buf, size_t n) { return S3(__NR_write, fd, buf, n); }
int open(const char *path, int flags, int mode) { return (int)S3(__NR_open, path, flags, mode); }
int openat(int dirfd, const char *path, int flags, int mode)
{
	return (int)S4(__NR_openat, dirfd, path, flags, mode);
}
int close(int fd) { return (int)S1(__NR_close, fd); }
ssize_t pread(int fd, void *buf, size_t n, off_t off) { return S4(__NR_pread64, fd, buf, n, off); }
off_t lseek(int fd, off_t off, int whence) { return S3(__NR_lseek, fd, off, whence); }
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return S4(__NR_pwrite64, fd, buf, n, off); }
int ftruncate(int fd, off_t len) { return (int)S2(__NR_ftruncate, fd, len); }
int unlink(const char *path) { return (int)S1(__NR_unlink, path); }
int memfd_create(const char *name, unsigned int flags) { return (int)S2(__NR_memfd_create, name, flags); }
int fcntl(int fd, int cmd, long arg) { return (int)S3(__NR_fcntl, fd, cmd, arg); }
int ioctl(int fd, unsigned long cmd, void *arg) { return (int)S3(__NR_ioctl, fd, cmd, arg); }
int poll(struct pollfd *fds, unsigned long nfds, int timeout_ms)
{
	return (int)S3(__NR_poll, fds, nfds, timeout_ms);
}
int userfaultfd(int flags) { return (int)S1(__NR_userfaultfd, flags); }

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r = raw_syscall6(__NR_mmap, (long)addr, (long)len, prot, flags, fd, off);

	if (raw_is_error(r)) {
		errno = (int)-r;
		return MAP_FAILED;
	}
	return (void *)r;
}

void *mmap_aligned(size_t len, size_t align)
{
	char *raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return MAP_FAILED;
	char *r = (char *)(((unsigned long)raw + align - 1) & ~(align - 1));
	if (r > raw)
		munmap(raw, (size_t)(r - raw));
	if (raw + len + align > r + len)
		munmap(r + len, (size_t)(raw + len + align - (r + len)));
	return r;
}

int munmap(void *addr, size_t len) { return (int)S2(__NR_munmap, addr, len); }
int mprotect(void *addr, size_t len, int prot) { return (int)S3(__NR_mprotect, addr, len, prot); }
unsigned long brk(unsigned long addr) { return (unsigned long)raw_syscall1(__NR_brk, (long)addr); }
int madvise(void *addr, size_t len, int advice) { return (int)S3(__NR_madvise, addr, len, advice); }
int mlock(const void *addr, size_t len) { return (int)S2(__NR_mlock, addr, len); }
int mlock2(const void *addr, size_t len, unsigned int flags) { return (int)S3(__NR_mlock2, addr, len, flags); }
int munlock(const void *addr, size_t len) { return (int)S2(__NR_munlock, addr, len); }
int mlockall(int flags) { return (int)S1(__NR_mlockall, flags); }
int munlockall(void) { return (int)S0(__NR_munlockall); }
int pipe(int fds[2]) { return (int)S1(__NR_pipe, fds); }
int pipe2(int fds[2], int flags) { return (int)S2(__NR_pipe2, fds, flags); }

/* fork(2). The child runs on a copy of the calling thread's block (its
 * errno included), whose tid must become the child's own. A lock another
 * thread held at the fork (malloc's) stays held in the child: fork from a
 * program with threads only when they are idle. */
pid_t fork(void)
{
	pid_t pid = (pid_t)S0(__NR_fork);

	if (pid == 0)
		thread_self()->tid = (int)raw_syscall0(__NR_gettid);
	return pid;
}

long clone(unsigned long flags, void *stack, int *ptid, int *ctid, unsigned long tls)
{
	return S5(__NR_clone, flags, stack, ptid, ctid, tls);
}

pid_t wait4(pid_t pid, int *status, int options, void *rusage)
{
	return (pid_t)S4(__NR_wait4, pid, status, options, rusage);
}

int reap_child(pid_t pid)
{
	int status = 0;
	if (pid <= 0 || wait4(pid, &status, 0, NULL) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + status;
}

void exit(int status)
{
	for (;;)
		raw_syscall1(__NR_exit_group, status);
}

void exit_thread(int status)
{
	for (;;)
		raw_syscall1(__NR_exit, status);
}

pid_t getpid(void) { return (pid_t)S0(__NR_getpid); }
pid_t getppid(void) { return (pid_t)S0(__NR_getppid); }
pid_t gettid(void) { return (pid_t)S0(__NR_gettid); }
int arch_prctl(int code, unsigned long addr) { return (int)S2(__NR_arch_prctl, code, addr); }
pid_t set_tid_address(int *tidptr) { return (pid_t)S1(__NR_set_tid_address, tidptr); }

int sched_setaffinity(pid_t pid, size_t size, const cpu_set_t *set)
{
	return (int)S3(__NR_sched_setaffinity, pid, size, set);
}

int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set)
{
	return (int)S3(__NR_sched_getaffinity, pid, size, set);
}

int sched_yield(void) { return (int)S0(__NR_sched_yield); }

long futex(int *uaddr, int op, int val, const struct timespec *timeout,
	   int *uaddr2, int val3)
{
	return ret_errno(raw_syscall6(__NR_futex, (long)uaddr, op, val,
				      (long)timeout, (long)uaddr2, val3));
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	return (int)S2(__NR_nanosleep, req, rem);
}

unsigned int alarm(unsigned int seconds) { return (unsigned int)raw_syscall1(__NR_alarm, seconds); }
int clock_gettime(int clock, struct timespec *ts) { return (int)S2(__NR_clock_gettime, clock, ts); }
int uname(struct utsname *u) { return (int)S1(__NR_uname, u); }
int kill(pid_t pid, int sig) { return (int)S2(__NR_kill, pid, sig); }
int pidfd_open(pid_t pid, unsigned int flags) { return (int)S2(__NR_pidfd_open, pid, flags); }

ssize_t process_madvise(int pidfd, const struct iovec *iov, size_t vlen,
			int advice, unsigned int flags)
{
	return S5(__NR_process_madvise, pidfd, iov, vlen, advice, flags);
}

ssize_t process_vm_readv(pid_t pid, const struct iovec *local, unsigned long liovcnt,
			 const struct iovec *remote, unsigned long riovcnt, unsigned long flags)
{
	return S6(__NR_process_vm_readv, pid, local, liovcnt, remote, riovcnt, flags);
}

/* --- CPU sets --- */
void cpu_zero(cpu_set_t *s)
{
	for (unsigned i = 0; i < ARRAY_SIZE(s->bits); i++)
		s->bits[i] = 0;
}

void cpu_set(int cpu, cpu_set_t *s)
{
	if (cpu >= 0 && cpu < CPU_SETSIZE)
		s->bits[cpu / 64] |= 1UL << (cpu % 64);
}

int cpu_isset(int cpu, const cpu_set_t *s)
{
	return cpu >= 0 && cpu < CPU_SETSIZE && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

int cpu_count(const cpu_set_t *s)
{
	int n = 0;

	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		n += cpu_isset(cpu, s);
	return n;
}

const char *system_name(void)
{
	static struct utsname u;

	if (!u.sysname[0] && uname(&u) < 0)
		return "unknown";
	return u.sysname;
}

int online_cpus(void)
{
	cpu_set_t s;

	cpu_zero(&s);
	if (sched_getaffinity(0, sizeof(s), &s) < 0)
		return 1;
	return cpu_count(&s) ? cpu_count(&s) : 1;
}

int pin_to_cpu(int cpu)
{
	cpu_set_t s;

	cpu_zero(&s);
	cpu_set(cpu, &s);
	return sched_setaffinity(0, sizeof(s), &s);
}

void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	nanosleep(&ts, NULL);
}

u64 now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (u64)ts.tv_sec * 1000000000UL + (u64)ts.tv_nsec;
}
