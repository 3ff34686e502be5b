/* SPDX-License-Identifier: MIT */
/* user/lib/sys.h - Linux x86_64 ABI constants and structures, and the
 * system-call wrappers of the user library.
 *
 * Error convention: every wrapper here returns what the kernel returned on
 * success, and on failure returns -1 (MAP_FAILED for mmap) and stores the
 * error number in errno, which is per thread (see thread.h). raw_syscallN()
 * in syscall.h gives the unconverted -errno for code that wants it.
 *
 * Values are Linux's (include/uapi/...): a program built against this file
 * runs unchanged on Linux and on Pagoda.
 */
#ifndef USER_SYS_H
#define USER_SYS_H

#include "types.h"
#include "syscall.h"

/* --- errno (include/uapi/asm-generic/errno-base.h, errno.h) --- */
#define EPERM       1
#define ENOENT      2
#define ESRCH       3
#define EINTR       4
#define EIO         5
#define ENXIO       6
#define E2BIG       7
#define ENOEXEC     8
#define EBADF       9
#define ECHILD     10
#define EAGAIN     11
#define ENOMEM     12
#define EACCES     13
#define EFAULT     14
#define EBUSY      16
#define EEXIST     17
#define ENODEV     19
#define ENOTDIR    20
#define EISDIR     21
#define EINVAL     22
#define ENFILE     23
#define EMFILE     24
#define ENOTTY     25
#define ENOSPC     28
#define ESPIPE     29
#define EROFS      30
#define EPIPE      32
#define ERANGE     34
#define ENAMETOOLONG 36
#define ENOSYS     38
#define EOVERFLOW  75
#define EOPNOTSUPP 95
#define ETIMEDOUT 110

int *__errno_location(void);
#define errno (*__errno_location())
/* "EINVAL" for 22, or "E?" for a number the table does not know. */
const char *errno_name(int err);

/* --- mmap, mprotect, madvise --- */
#define PROT_NONE       0x0
#define PROT_READ       0x1
#define PROT_WRITE      0x2
#define PROT_EXEC       0x4
#define PROT_GROWSDOWN  0x01000000
#define PROT_GROWSUP    0x02000000

#define MAP_SHARED          0x01
#define MAP_PRIVATE         0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE            0x0f
#define MAP_FIXED           0x10
#define MAP_ANONYMOUS       0x20
#define MAP_32BIT           0x40
#define MAP_GROWSDOWN       0x0100
#define MAP_DENYWRITE       0x0800
#define MAP_EXECUTABLE      0x1000
#define MAP_LOCKED          0x2000
#define MAP_NORESERVE       0x4000
#define MAP_POPULATE        0x8000
#define MAP_NONBLOCK        0x10000
#define MAP_STACK           0x20000
#define MAP_HUGETLB         0x40000
#define MAP_SYNC            0x80000
#define MAP_FIXED_NOREPLACE 0x100000
#define MAP_FAILED          ((void *)-1)

#define MADV_NORMAL      0
#define MADV_RANDOM      1
#define MADV_SEQUENTIAL  2
#define MADV_WILLNEED    3
#define MADV_DONTNEED    4
#define MADV_FREE        8
#define MADV_REMOVE      9
#define MADV_DONTFORK   10
#define MADV_DOFORK     11
#define MADV_MERGEABLE  12
#define MADV_UNMERGEABLE 13
#define MADV_HUGEPAGE   14
#define MADV_NOHUGEPAGE 15
#define MADV_DONTDUMP   16
#define MADV_DODUMP     17
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#define MADV_COLD       20
#define MADV_PAGEOUT    21
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#define MADV_DONTNEED_LOCKED 24
#define MADV_COLLAPSE   25
#define MADV_HWPOISON   100
#define MADV_SOFT_OFFLINE 101

/* --- open --- */
#define O_RDONLY    0
#define O_WRONLY    1
#define O_RDWR      2
#define O_CREAT     0100
#define O_NONBLOCK  04000
#define O_APPEND    02000
#define O_LARGEFILE 0100000
#define O_DIRECTORY 0200000
#define O_CLOEXEC   02000000
#define AT_FDCWD    (-100)

/* --- lseek --- */
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

/* --- poll --- */
#define POLLIN   0x001
#define POLLPRI  0x002
#define POLLOUT  0x004
#define POLLERR  0x008
#define POLLHUP  0x010
#define POLLNVAL 0x020
struct pollfd {
	int fd;
	short events;		/* what to wait for */
	short revents;		/* what happened (written by the kernel) */
};

/* --- clone, wait, signals --- */
#define CLONE_VM             0x00000100
#define CLONE_FS             0x00000200
#define CLONE_FILES          0x00000400
#define CLONE_SIGHAND        0x00000800
#define CLONE_PIDFD          0x00001000
#define CLONE_VFORK          0x00004000
#define CLONE_PARENT         0x00008000
#define CLONE_THREAD         0x00010000
#define CLONE_NEWNS          0x00020000
#define CLONE_SYSVSEM        0x00040000
#define CLONE_SETTLS         0x00080000
#define CLONE_PARENT_SETTID  0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_CHILD_SETTID   0x01000000

#define SIGKILL  9
#define SIGSEGV 11
#define SIGCHLD 17

#define WNOHANG 1
#define WIFEXITED(s)   (((s) & 0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((s) & 0x7f) != 0 && ((s) & 0x7f) != 0x7f)
#define WTERMSIG(s)    ((s) & 0x7f)

/* --- futex --- */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128

/* --- arch_prctl --- */
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

/* --- time --- */
#define CLOCK_REALTIME  0
#define CLOCK_MONOTONIC 1
struct timespec {
	long tv_sec;
	long tv_nsec;
};

/* --- uname: six fields of 65 bytes (struct new_utsname) --- */
struct utsname {
	char sysname[65];
	char nodename[65];
	char release[65];
	char version[65];
	char machine[65];
	char domainname[65];
};

/* --- process_madvise --- */
struct iovec {
	void *iov_base;
	size_t iov_len;
};

/* --- CPU sets for sched_{set,get}affinity: 1024 CPUs, as glibc's --- */
#define CPU_SETSIZE 1024
typedef struct {
	unsigned long bits[CPU_SETSIZE / 64];
} cpu_set_t;
void cpu_zero(cpu_set_t *s);
void cpu_set(int cpu, cpu_set_t *s);
int cpu_isset(int cpu, const cpu_set_t *s);
int cpu_count(const cpu_set_t *s);

/* Linux's x86_64 struct stat, as fstat and newfstatat fill it. */
struct kstat {
	unsigned long dev, ino, nlink;
	unsigned int mode, uid, gid, pad0;
	unsigned long rdev;
	long size, blksize, blocks;
	unsigned long times[6];
	long unused[3];
};

/* --- the wrappers (sys.c): -1 and errno on failure --- */
/* A raw system call's result in the wrappers' convention: -errno becomes
 * -1 with errno set; for a program's own raw_syscallN() of a call libc
 * does not wrap. */
long ret_errno(long r);
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int open(const char *path, int flags, int mode);
int openat(int dirfd, const char *path, int flags, int mode);
int close(int fd);
/* Read at an offset without moving the file position (pread64). */
ssize_t pread(int fd, void *buf, size_t n, off_t off);
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);
off_t lseek(int fd, off_t off, int whence);
int ftruncate(int fd, off_t len);
int unlink(const char *path);
/* memfd_create(2): an anonymous RAM file; flags MFD_CLOEXEC. */
#define MFD_CLOEXEC 1
int memfd_create(const char *name, unsigned int flags);
/* fcntl(2): cmd F_* with its one argument (an int or a pointer). */
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_SETLK 6
#define F_SETOWN 8
#define F_DUPFD_CLOEXEC 1030
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_WRITE 0x0008
#define FD_CLOEXEC 1
int fcntl(int fd, int cmd, long arg);
/* ioctl(2): the argument is a pointer or a number, as the command says. */
int ioctl(int fd, unsigned long cmd, void *arg);
/* poll(2); timeout in milliseconds, -1 waits for ever. Returns the number
 * of entries with revents set, 0 on timeout. */
int poll(struct pollfd *fds, unsigned long nfds, int timeout_ms);
/* userfaultfd(2): flags O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY
 * (uffd.h has the file's ioctls and messages). */
int userfaultfd(int flags);
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
/* len bytes of private anonymous read-write memory starting at a multiple
 * of align (a power of two: 2 MiB for a huge page), the slack mapped to
 * find it given back. MAP_FAILED and errno if mmap fails. */
void *mmap_aligned(size_t len, size_t align);
int munmap(void *addr, size_t len);
int mprotect(void *addr, size_t len, int prot);
/* The kernel's brk: returns the new break, or the old one when it refused
 * (it never reports an errno). brk(0) asks for the current break. */
unsigned long brk(unsigned long addr);
int madvise(void *addr, size_t len, int advice);
/* Locked memory (mlock2's MLOCK_ONFAULT, mlockall's MCL_*: Linux's values). */
#define MLOCK_ONFAULT 0x01
#define MCL_CURRENT 1
#define MCL_FUTURE  2
#define MCL_ONFAULT 4
#define MAP_LOCKED  0x2000
int mlock(const void *addr, size_t len);
int mlock2(const void *addr, size_t len, unsigned int flags);
int munlock(const void *addr, size_t len);
int mlockall(int flags);
int munlockall(void);
/* pipe(2), pipe2(2): fds[0] reads, fds[1] writes; flags O_CLOEXEC,
 * O_NONBLOCK, O_DIRECT (packet mode). */
#define O_DIRECT 040000
int pipe(int fds[2]);
int pipe2(int fds[2], int flags);
pid_t fork(void);
/* clone(2) as the kernel has it (x86_64 argument order). With stack NULL
 * the child goes on from here like a forked one; with a new stack it could
 * not return into this function, so threads use thread_create() instead. */
long clone(unsigned long flags, void *stack, int *ptid, int *ctid, unsigned long tls);
pid_t wait4(pid_t pid, int *status, int options, void *rusage);
/* Wait for the child pid: its exit code (0 = every check it made passed),
 * 1000 plus the wait status when it did not exit normally, -1 if wait4
 * failed (or pid <= 0: a fork that failed). */
int reap_child(pid_t pid);
__noreturn void exit(int status);	/* exit_group: the whole process */
__noreturn void exit_thread(int status);	/* exit: this thread only */
pid_t getpid(void);
pid_t getppid(void);
pid_t gettid(void);
int arch_prctl(int code, unsigned long addr);
pid_t set_tid_address(int *tidptr);
/* The kernel's sched_setaffinity/getaffinity; pid 0 means this thread.
 * getaffinity returns the number of bytes the kernel wrote (not 0 as
 * glibc's does); bytes past it are left as they were, so zero the set first. */
int sched_setaffinity(pid_t pid, size_t size, const cpu_set_t *set);
int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set);
int sched_yield(void);
long futex(int *uaddr, int op, int val, const struct timespec *timeout,
	   int *uaddr2, int val3);
int nanosleep(const struct timespec *req, struct timespec *rem);
/* SIGALRM after seconds (0: cancel); the seconds the previous alarm had
 * left. Never fails. */
unsigned int alarm(unsigned int seconds);
int clock_gettime(int clock, struct timespec *ts);
int uname(struct utsname *u);
int kill(pid_t pid, int sig);
int pidfd_open(pid_t pid, unsigned int flags);
/* Copy from another process's memory (or our own) into ours. */
ssize_t process_vm_readv(pid_t pid, const struct iovec *local, unsigned long liovcnt,
			 const struct iovec *remote, unsigned long riovcnt, unsigned long flags);
ssize_t process_madvise(int pidfd, const struct iovec *iov, size_t vlen,
			int advice, unsigned int flags);

/* Helpers built on the calls above. */
/* uname's sysname: "Linux", "Pagoda", ... A test that is legitimately
 * system-specific checks it and reports ktap_skip() elsewhere. */
const char *system_name(void);
int online_cpus(void);			/* CPUs this thread may run on */
int pin_to_cpu(int cpu);		/* sched_setaffinity to one CPU */
void sleep_ns(long ns);
u64 now_ns(void);			/* CLOCK_MONOTONIC */

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#endif
