/* SPDX-License-Identifier: MIT */
/* kernel/signal.h - signals: the state a process and its threads keep, how a
 * signal is sent, and how it is delivered (docs/signals.md).
 *
 * Model (Linux's, kernel/signal.c):
 *   - A process has one table of actions (struct k_sigaction, per signal:
 *     SIG_DFL, SIG_IGN or a handler with its flags and mask) shared by its
 *     threads, and a set of process-directed pending signals (kill()).
 *   - A thread has its own mask of blocked signals, its own set of
 *     thread-directed pending signals (tgkill(), faults) and its own
 *     alternate stack (sigaltstack).
 *   - One siginfo is kept per pending signal: a signal already pending is
 *     not queued again (Linux does so for signals 1-31; it queues real-time
 *     signals 32-64, Pagoda does not: docs/signals.md).
 *   - Sending makes the signal pending and wakes one thread that does not
 *     block it (signal_wake_up): a sleeper leaves its wait queue, a thread
 *     running user code on another CPU is interrupted. Delivery happens on
 *     the way back to user mode (user_return_work -> do_signal): a default
 *     action (terminate, ignore) or a handler called on a frame built on the
 *     user stack (arch/x86_64/signal_frame.h); rt_sigreturn undoes it.
 *   - A fault's signal is forced (force_sig_fault): a blocked or ignored
 *     SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP is unblocked and its action reset
 *     to SIG_DFL first, so the process dies rather than run the faulting
 *     instruction again forever (Linux's force_sig_info_to_task).
 *
 * Interruptible sleeps: a thread sleeping in futex, nanosleep, poll, ppoll,
 * wait4, a pipe's read or write, a userfaultfd's read (-ERESTARTSYS, as
 * Linux's) or a user-mode fault waiting for a userfaultfd handler (back to
 * user mode, faulting again after the handler) checks signal_pending()
 * under its wait queue's lock in the loop
 * around sleep_on(), and gives up with -ERESTARTSYS (restarted after a
 * handler with SA_RESTART, else -EINTR), -ERESTARTNOHAND (-EINTR after any
 * handler) or -EINTR. Only user threads are ever woken this way.
 *
 * Locking: p->siglock (an irq-safe spinlock, kernel/lockdep_order.h) guards
 * p's actions, its shared pending set, and each of its threads' pending set
 * and blocked mask. A thread's blocked mask and pending sets are read
 * without it by signal_pending() (a hint, re-checked under the lock before
 * anything is dequeued). Never sleep or touch user memory under it; the
 * wake-ups of signal_wake_up happen after it is released.
 */
#ifndef PAGODA_SIGNAL_H
#define PAGODA_SIGNAL_H

#include "kernel/types.h"

#define _NSIG 64
typedef u64 kernel_sigset_t;           /* bit (sig - 1) for signal sig */
#define sigmask(sig) (1UL << ((sig) - 1))

/* Signal numbers (Linux x86_64). */
#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGURG 23
#define SIGXCPU 24
#define SIGXFSZ 25
#define SIGWINCH 28
#define SIGSYS 31

/* sa_flags (Linux uapi asm-generic/signal.h, x86). */
#define SA_NOCLDSTOP 0x00000001UL
#define SA_NOCLDWAIT 0x00000002UL
#define SA_SIGINFO 0x00000004UL
#define SA_UNSUPPORTED 0x00000400UL
#define SA_EXPOSE_TAGBITS 0x00000800UL
#define SA_RESTORER 0x04000000UL
#define SA_ONSTACK 0x08000000UL
#define SA_RESTART 0x10000000UL
#define SA_NODEFER 0x40000000UL
#define SA_RESETHAND 0x80000000UL

#define SIG_DFL 0UL
#define SIG_IGN 1UL

/* si_code values. */
#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_TKILL (-6)
#define ILL_ILLOPN 2
#define FPE_INTDIV 1
#define FPE_FLTDIV 3
#define FPE_FLTOVF 4
#define FPE_FLTUND 5
#define FPE_FLTRES 6
#define FPE_FLTINV 7
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define BUS_ADRALN 1
#define BUS_ADRERR 2
#define TRAP_BRKPT 1

/* System-call results that never reach user mode: do_signal turns them
 * into a restart of the call or -EINTR (Linux's include/linux/errno.h). */
#define ERESTARTSYS 512         /* restart if the handler has SA_RESTART */
#define ERESTARTNOINTR 513      /* always restart */
#define ERESTARTNOHAND 514      /* restart only if no handler runs */

/* The user's struct sigaction as rt_sigaction passes it (x86_64). */
struct k_sigaction {
	u64 handler;            /* SIG_DFL, SIG_IGN or the handler's address */
	u64 flags;              /* SA_* */
	u64 restorer;           /* where the handler returns: calls rt_sigreturn */
	kernel_sigset_t mask;          /* blocked while the handler runs */
};

/* What a pending signal carries: the fields of Linux's siginfo that
 * Pagoda fills (kill, tgkill, faults). */
struct kernel_siginfo {
	int signo;
	int code;               /* SI_USER, SI_TKILL, SEGV_MAPERR ... */
	u32 pid;                /* kill/tgkill: the sender's pid */
	u32 uid;
	u64 addr;               /* faults: the faulting address */
	int status;             /* SIGCHLD: exit code or signal */
};

struct sigpending {
	kernel_sigset_t set;
	struct kernel_siginfo info[_NSIG];     /* info[sig - 1], valid when pending */
};

/* sigaltstack's stack_t. */
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1U << 31)
#define MINSIGSTKSZ 2048
struct k_sigaltstack {
	u64 sp;
	u32 flags;              /* 0, or SS_DISABLE (stored with SS_AUTODISARM) */
	u64 size;
};

/* A thread's signal state (in struct thread). */
struct thread_signals {
	kernel_sigset_t blocked;
	struct sigpending pending;      /* thread-directed */
	struct k_sigaltstack altstack;
	bool exiting;           /* leaving: no longer picked for process signals */
	/* A wait with its own mask (ppoll, rt_sigsuspend): the mask to put
	 * back, and whether it is still to be put back. Only the thread
	 * itself reads or writes them, so no lock. */
	kernel_sigset_t saved_blocked;
	bool restore_blocked;
	u64 fault_trapno, fault_err, fault_cr2;  /* the last fault, for sigcontext */
};

struct thread;
struct process;
struct trap_frame;

void signal_init(void);                 /* registers the system calls */
void signal_proc_init(struct process *p);       /* a new process's siglock */

/* A new process (fork) starts with the parent's actions, nothing pending
 * (Linux's copy_sighand, and a child's pending set is empty); a new
 * thread with its creator's blocked mask, no alternate stack for a thread
 * (Linux's clone with CLONE_VM), the parent's for fork. */
void signal_fork(struct process *child, struct process *parent);
void signal_thread_init(struct thread *t, struct thread *creator, bool same_mm);
/* execve (when Pagoda has one): handled signals go back to SIG_DFL,
 * ignored ones stay ignored, the mask and pending signals are kept
 * (Linux's flush_signal_handlers). Not called yet: there is no execve. */
void signal_exec(struct process *p);
/* The calling thread is exiting: process signals go to the others. */
void signal_thread_exit(struct thread *t);

/* Is an unblocked signal pending for t (thread or process directed)? A
 * lockless hint for sleep loops, checked under their wait queue's lock. */
bool signal_pending(struct thread *t);

/* Send sig to the process (kill) or to one thread (tgkill), with info.
 * 0, or -ESRCH when the thread is gone. */
int send_sig_process(struct process *p, const struct kernel_siginfo *info);
int send_sig_thread(struct thread *t, const struct kernel_siginfo *info);
/* send_sig_process for a sender that found p earlier and kept its pid (a
 * timer: kernel/alarm.c): nothing is sent, -ESRCH, when p's slot holds
 * another process by now (checked under p->siglock, as kernel/proc.h asks
 * of a caller that keeps a process pointer). */
int send_sig_pid(struct process *p, u32 pid, const struct kernel_siginfo *info);
/* A synchronous fault of the calling thread in user mode (trap.c): queue
 * sig with its code and address, forced as described above. Returns true
 * when it will kill the process (no handler runs), so the caller can
 * print its report. */
bool force_sig_fault(int sig, int code, u64 addr);
/* The frame could not be written (bad stack): SIGSEGV, with the SIGSEGV
 * action reset to SIG_DFL if that was the signal being delivered. */
void force_sigsegv(int sig);

/* On the way back to user mode with the user registers *tf: apply the
 * pending signals' actions. Interrupts enabled; may sleep; may not return
 * (a fatal signal). */
void do_signal(struct trap_frame *tf);

/* rt_sigreturn's mask restore and the handler's: set the calling thread's
 * blocked mask (SIGKILL and SIGSTOP are never blocked). */
void set_current_blocked(kernel_sigset_t set);
kernel_sigset_t current_blocked(void);

/* A wait under a mask of its own (Linux's set_user_sigmask and
 * restore_saved_sigmask_unless): ppoll and rt_sigsuspend block exactly
 * `set` while they wait, and the caller's mask comes back when they end.
 * If the wait ends because of a signal (interrupted: the call returns
 * -EINTR or -ERESTART*), the mask is not put back at once but by
 * do_signal: the handler runs under the wait's mask (plus its own) and
 * its frame saves the caller's mask, which rt_sigreturn restores; that
 * is what makes a signal blocked outside the wait deliverable only inside
 * it, without a race (docs/signals.md). */
void set_user_sigmask(kernel_sigset_t set);
void restore_saved_sigmask_unless(bool interrupted);
/* Is a caller's mask still to be put back (user_return_work asks)? */
bool signal_restore_pending(struct thread *t);
/* Is sp on the calling thread's alternate stack? The flags sigaltstack
 * reports for it (SS_ONSTACK, SS_DISABLE). */
bool on_sig_stack(u64 sp);
u32 sas_ss_flags(u64 sp);
bool sp_within_altstack(u64 sp);        /* on_sig_stack even with SS_AUTODISARM */
/* sigaltstack's change of the calling thread's alternate stack, cur_sp its
 * user stack pointer: 0, -EPERM (running on it), -EINVAL, -ENOMEM (too
 * small). */
int signal_set_altstack(u64 ss_sp, s32 ss_flags, u64 ss_size, u64 cur_sp);

/* Boot words, negative controls (docs/cmdline.md). */
extern bool signal_debug_ignore_blocked;   /* delivery skips the blocked check */
extern bool signal_debug_frame_saves_wait_mask; /* a handler after ppoll/sigsuspend returns to the wait's mask */

#endif
