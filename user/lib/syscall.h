/* SPDX-License-Identifier: MIT */
/* user/lib/syscall.h - the raw Linux x86_64 system-call instruction.
 *
 * Convention (Linux x86_64): number in %rax, arguments in %rdi %rsi %rdx
 * %r10 %r8 %r9; SYSCALL clobbers %rcx (return %rip) and %r11 (RFLAGS); the
 * result comes back in %rax, a value in [-4095, -1] being -errno.
 *
 * These raw_syscallN() functions return exactly what the kernel returned,
 * -errno included; the fuzzer uses them. Everything else uses the wrappers
 * of sys.h, which follow the C library convention: -1 and errno set.
 */
#ifndef USER_SYSCALL_H
#define USER_SYSCALL_H

/* Linux x86_64 system-call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
#define __NR_read               0
#define __NR_write              1
#define __NR_open               2
#define __NR_close              3
#define __NR_poll               7
#define __NR_lseek              8
#define __NR_mmap               9
#define __NR_mprotect           10
#define __NR_munmap             11
#define __NR_brk                12
#define __NR_pipe               22
#define __NR_ioctl              16
#define __NR_pread64            17
#define __NR_pwrite64           18
#define __NR_sched_yield        24
#define __NR_madvise            28
#define __NR_nanosleep          35
#define __NR_alarm              37
#define __NR_getpid             39
#define __NR_clone              56
#define __NR_fork               57
#define __NR_exit               60
#define __NR_wait4              61
#define __NR_kill               62
#define __NR_uname              63
#define __NR_fcntl              72
#define __NR_ftruncate          77
#define __NR_unlink             87
#define __NR_getppid            110
#define __NR_mlock              149
#define __NR_munlock            150
#define __NR_mlockall           151
#define __NR_munlockall         152
#define __NR_arch_prctl         158
#define __NR_gettid             186
#define __NR_futex              202
#define __NR_sched_setaffinity  203
#define __NR_sched_getaffinity  204
#define __NR_set_tid_address    218
#define __NR_clock_gettime      228
#define __NR_exit_group         231
#define __NR_openat             257
#define __NR_pipe2              293
#define __NR_memfd_create       319
#define __NR_process_vm_readv   310
#define __NR_userfaultfd        323
#define __NR_mlock2             325
#define __NR_pidfd_open         434
#define __NR_process_madvise    440

static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4,
				long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long raw_syscall0(long n) { return raw_syscall6(n, 0, 0, 0, 0, 0, 0); }
static inline long raw_syscall1(long n, long a1) { return raw_syscall6(n, a1, 0, 0, 0, 0, 0); }
static inline long raw_syscall2(long n, long a1, long a2) { return raw_syscall6(n, a1, a2, 0, 0, 0, 0); }
static inline long raw_syscall3(long n, long a1, long a2, long a3) { return raw_syscall6(n, a1, a2, a3, 0, 0, 0); }
static inline long raw_syscall4(long n, long a1, long a2, long a3, long a4) { return raw_syscall6(n, a1, a2, a3, a4, 0, 0); }
static inline long raw_syscall5(long n, long a1, long a2, long a3, long a4, long a5) { return raw_syscall6(n, a1, a2, a3, a4, a5, 0); }

/* True when a raw result is an error (-4095..-1), as Linux defines it. */
static inline int raw_is_error(long r) { return r < 0 && r >= -4095; }

#endif
