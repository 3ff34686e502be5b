/* SPDX-License-Identifier: MIT */
/* kernel/syscall.h - system-call numbers (Linux x86_64, from its
 * arch/x86/entry/syscalls/syscall_64.tbl) and the dispatcher.
 *
 * Convention, as on Linux: number in RAX; arguments in RDI, RSI, RDX, R10,
 * R8, R9; result in RAX, a negative errno on failure. RCX and R11 are
 * clobbered by SYSCALL itself. Unknown numbers return -ENOSYS.
 */
#ifndef PAGODA_SYSCALL_H
#define PAGODA_SYSCALL_H

#include "kernel/types.h"

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_stat 4
#define SYS_fstat 5
#define SYS_lstat 6
#define SYS_poll 7
#define SYS_lseek 8
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_brk 12
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_rt_sigreturn 15
#define SYS_ioctl 16
#define SYS_pread64 17
#define SYS_pwrite64 18
#define SYS_readv 19
#define SYS_writev 20
#define SYS_sched_yield 24
#define SYS_mremap 25
#define SYS_madvise 28
#define SYS_nanosleep 35
#define SYS_alarm 37
#define SYS_getpid 39
#define SYS_clone 56
#define SYS_fork 57
#define SYS_exit 60
#define SYS_wait4 61
#define SYS_kill 62
#define SYS_pause 34
#define SYS_uname 63
#define SYS_ftruncate 77
#define SYS_readlink 89
#define SYS_getrlimit 97
#define SYS_rt_sigpending 127
#define SYS_rt_sigsuspend 130
#define SYS_sigaltstack 131
#define SYS_mlock 149
#define SYS_munlock 150
#define SYS_mlockall 151
#define SYS_munlockall 152
#define SYS_arch_prctl 158
#define SYS_setrlimit 160
#define SYS_gettid 186
#define SYS_tkill 200
#define SYS_time 201
#define SYS_futex 202
#define SYS_sched_setaffinity 203
#define SYS_sched_getaffinity 204
#define SYS_set_tid_address 218
#define SYS_clock_gettime 228
#define SYS_clock_nanosleep 230
#define SYS_exit_group 231
#define SYS_tgkill 234
#define SYS_openat 257
#define SYS_newfstatat 262
#define SYS_readlinkat 267
#define SYS_ppoll 271
#define SYS_set_robust_list 273
#define SYS_get_robust_list 274
#define SYS_prlimit64 302
#define SYS_process_vm_readv 310
#define SYS_getrandom 318
#define SYS_memfd_create 319
#define SYS_userfaultfd 323
#define SYS_mlock2 325
#define SYS_rseq 334
#define SYS_pidfd_open 434
#define SYS_clone3 435
#define SYS_process_madvise 440
#define NR_SYSCALLS 448

struct trap_frame;

/* A handler takes up to six u64 arguments; each is declared with the
 * arguments it uses and stored in the table as a plain function address. */
typedef long (*syscall_fn)(u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5);
void syscall_register(u32 nr, void (*handler)(void));

/* Called from arch/x86_64/syscall.asm with the user's registers. */
void syscall_dispatch(struct trap_frame *tf);

/* Program this CPU's SYSCALL MSRs (every CPU, at bring-up). */
void syscall_init_cpu(void);

/* The calls C libraries (glibc, musl) use at start-up and for threads,
 * registered by proc_init, one file per concept: stat (sys_stat.c),
 * readlink (sys_readlink.c), resource limits (sys_rlimit.c), getrandom
 * (random.c), readv/writev (sys_iov.c), and the ones answered ENOSYS on
 * purpose (sys_enosys.c). */
void stat_syscalls_init(void);
void readlink_syscalls_init(void);
void rlimit_syscalls_init(void);
void random_syscalls_init(void);
void iov_syscalls_init(void);
void enosys_syscalls_init(void);

#endif
