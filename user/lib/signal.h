/* SPDX-License-Identifier: MIT */
/* user/lib/signal.h - signals as Linux's x86_64 ABI has them: the raw
 * rt_sigaction (with the SA_RESTORER stub every libc passes), masks, the
 * alternate stack, tgkill, and the siginfo/ucontext a handler receives.
 *
 * sigaction() always adds SA_RESTORER and __restore_rt, the stub a handler
 * returns into (it calls rt_sigreturn), as glibc and musl do. */
#ifndef USER_SIGNAL_H
#define USER_SIGNAL_H

#include "types.h"

struct pollfd;
struct timespec;

#define SIGHUP   1
#define SIGINT   2
#define SIGILL   4
#define SIGTRAP  5
#define SIGABRT  6
#define SIGBUS   7
#define SIGFPE   8
#define SIGKILL  9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGURG  23
#define SIGWINCH 28

#define SA_SIGINFO   0x00000004UL
#define SA_RESTORER  0x04000000UL
#define SA_ONSTACK   0x08000000UL
#define SA_RESTART   0x10000000UL
#define SA_NODEFER   0x40000000UL
#define SA_RESETHAND 0x80000000UL

#define SIG_DFL ((void (*)(int))0)
#define SIG_IGN ((void (*)(int))1)

#define SIG_BLOCK   0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2

#define SI_USER   0
#define SI_KERNEL 0x80
#define SI_TKILL  (-6)
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define BUS_ADRERR 2
#define ILL_ILLOPN 2
#define FPE_INTDIV 1
#define CLD_EXITED 1
#define CLD_KILLED 2

#define SS_ONSTACK 1
#define SS_DISABLE 2
#define MINSIGSTKSZ 2048

typedef unsigned long sigset_t;         /* the kernel's 64-bit set */
#define sigbit(sig) (1UL << ((sig) - 1))

typedef struct {
	int si_signo;
	int si_errno;
	int si_code;
	int pad;
	union {
		struct { int pid; unsigned uid; int status; } kill;  /* and SIGCHLD */
		struct { void *addr; } fault;
		char bytes[112];
	} u;
} siginfo_t;
#define si_pid u.kill.pid
#define si_status u.kill.status
#define si_addr u.fault.addr

typedef struct {
	void *ss_sp;
	int ss_flags;
	size_t ss_size;
} stack_t;

/* uc_mcontext's registers, in the order of Linux's struct sigcontext. */
enum { REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
       REG_RDI, REG_RSI, REG_RBP, REG_RBX, REG_RDX, REG_RAX, REG_RCX, REG_RSP,
       REG_RIP, REG_EFL, REG_CSGSFS, REG_ERR, REG_TRAPNO, REG_OLDMASK, REG_CR2, NGREG };

typedef struct {
	unsigned long gregs[NGREG];
	void *fpregs;
	unsigned long reserved1[8];
} mcontext_t;

typedef struct ucontext {
	unsigned long uc_flags;
	struct ucontext *uc_link;
	stack_t uc_stack;
	mcontext_t uc_mcontext;
	sigset_t uc_sigmask;
} ucontext_t;

struct sigaction {
	union {
		void (*sa_handler)(int);
		void (*sa_sigaction)(int, siginfo_t *, void *);
	};
	unsigned long sa_flags;
	void (*sa_restorer)(void);
	sigset_t sa_mask;
};

/* The raw call: act as given (no restorer added). */
int rt_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* sigaction with SA_RESTORER and __restore_rt added, as a libc does. */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int sigprocmask(int how, const sigset_t *set, sigset_t *old);
int sigpending(sigset_t *set);
/* Wait for a signal with exactly *mask blocked; always -1 with EINTR. */
int sigsuspend(const sigset_t *mask);
/* poll(2) with a timeout (NULL: for ever) and, unless NULL, the mask
 * blocked while it waits (the caller's mask is back afterwards). */
int ppoll(struct pollfd *fds, unsigned long nfds, const struct timespec *ts, const sigset_t *mask);
int sigaltstack(const stack_t *ss, stack_t *old);
int tgkill(pid_t tgid, pid_t tid, int sig);
int raise(int sig);             /* tgkill to this thread */
void __restore_rt(void);

#endif
