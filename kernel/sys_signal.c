/* SPDX-License-Identifier: MIT */
/* kernel/sys_signal.c - the signal system calls: rt_sigaction,
 * rt_sigprocmask, rt_sigpending, rt_sigsuspend, pause, sigaltstack, kill,
 * tkill and tgkill, with Linux's checks in Linux's order (kernel/signal.c).
 * The state they change and its locking are in kernel/signal.h. */
#include "kernel/signal.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/string.h"
#include "kernel/errno.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/signal_frame.h"

/* The sa_flags Linux x86_64 knows (UAPI_SA_FLAGS): others are cleared, which
 * is how a program learns that a flag is not supported. */
#define UAPI_SA_FLAGS (SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | \
		       SA_NODEFER | SA_RESETHAND | SA_EXPOSE_TAGBITS | SA_RESTORER)
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2

struct flush_arg {
	struct process *p;
	kernel_sigset_t mask;
};

static bool flush_one(struct thread *t, void *arg)
{
	struct flush_arg *a = arg;
	if (t->proc == a->p)
		WRITE_ONCE(t->sig.pending.set, t->sig.pending.set & ~a->mask);
	return true;
}

static bool action_ignores(const struct k_sigaction *ka, int sig)
{
	if (ka->handler == SIG_IGN)
		return true;
	return ka->handler == SIG_DFL &&
	       (sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH);
}

/* Set sig's action; a pending signal the new action ignores is discarded
 * everywhere in the process, as POSIX asks (Linux's do_sigaction). */
static int do_sigaction(int sig, const struct k_sigaction *act, struct k_sigaction *oact)
{
	struct process *p = current_proc();
	if (sig < 1 || sig > _NSIG || (act && (sig == SIGKILL || sig == SIGSTOP)))
		return -EINVAL;
	u64 f = spin_lock_irqsave(&p->siglock);
	struct k_sigaction *k = &p->sig_action[sig - 1];
	if (oact)
		*oact = *k;
	if (act) {
		*k = *act;
		k->flags &= UAPI_SA_FLAGS;
		k->mask &= ~(sigmask(SIGKILL) | sigmask(SIGSTOP));
		if (action_ignores(k, sig)) {
			struct flush_arg a = { p, sigmask(sig) };
			WRITE_ONCE(p->shared_pending.set, p->shared_pending.set & ~sigmask(sig));
			sched_for_each_thread(flush_one, &a);
		}
	}
	spin_unlock_irqrestore(&p->siglock, f);
	if (oact)
		oact->flags &= UAPI_SA_FLAGS;
	return 0;
}

static long sys_rt_sigaction(u64 usig, u64 uact, u64 uoact, u64 sigsetsize)
{
	struct k_sigaction act, oact;
	if (sigsetsize != sizeof(kernel_sigset_t))
		return -EINVAL;
	if (uact && copy_from_user(&act, uact, sizeof(act)))
		return -EFAULT;
	int err = do_sigaction((int)usig, uact ? &act : NULL, uoact ? &oact : NULL);
	if (!err && uoact && copy_to_user(uoact, &oact, sizeof(oact)))
		return -EFAULT;
	return err;
}

static long sys_rt_sigprocmask(u64 how, u64 uset, u64 uoset, u64 sigsetsize)
{
	if (sigsetsize != sizeof(kernel_sigset_t))
		return -EINVAL;
	kernel_sigset_t old = current_blocked();
	if (uset) {
		kernel_sigset_t set;
		if (copy_from_user(&set, uset, sizeof(set)))
			return -EFAULT;
		switch ((int)how) {
		case SIG_BLOCK: set = old | set; break;
		case SIG_UNBLOCK: set = old & ~set; break;
		case SIG_SETMASK: break;
		default: return -EINVAL;
		}
		set_current_blocked(set);
	}
	if (uoset && copy_to_user(uoset, &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

static long sys_rt_sigpending(u64 uset, u64 sigsetsize)
{
	if (sigsetsize > sizeof(kernel_sigset_t))
		return -EINVAL;
	struct thread *t = current_thread();
	struct process *p = t->proc;
	u64 f = spin_lock_irqsave(&p->siglock);
	kernel_sigset_t set = (t->sig.pending.set | p->shared_pending.set) & t->sig.blocked;
	spin_unlock_irqrestore(&p->siglock, f);
	return copy_to_user(uset, &set, sigsetsize) ? -EFAULT : 0;
}

/* pause and rt_sigsuspend sleep here until a signal is pending: nothing
 * wakes this queue but signal_wake_up (wake_up_thread), which takes a
 * sleeper off whatever queue it is on. */
static struct waitq signal_wait_wq;

/* Sleep until a signal this thread does not block is pending (or it is
 * killed); -ERESTARTNOHAND, so that a handler makes the call return
 * EINTR and a signal that runs none restarts it (Linux's pause). */
static long sleep_until_signal(void)
{
	struct thread *me = current_thread();
	u64 f = spin_lock_irqsave(&signal_wait_wq.lock);
	while (!signal_pending(me) && !READ_ONCE(me->killed))
		sleep_on(&signal_wait_wq);
	spin_unlock_irqrestore(&signal_wait_wq.lock, f);
	return -ERESTARTNOHAND;
}

static long sys_pause(void)
{
	return sleep_until_signal();
}

/* Wait for a signal with exactly `set` blocked; the caller's mask is put
 * back by do_signal after the handler's frame has saved it (kernel/signal.h,
 * set_user_sigmask), so it always returns -1 EINTR to a handler. */
static long sys_rt_sigsuspend(u64 uset, u64 sigsetsize)
{
	kernel_sigset_t set;
	if (sigsetsize != sizeof(kernel_sigset_t))
		return -EINVAL;
	if (copy_from_user(&set, uset, sizeof(set)))
		return -EFAULT;
	set_user_sigmask(set);
	return sleep_until_signal();    /* the wait's mask stays for do_signal */
}

/* The user's stack_t: sp, flags (an int, padded), size. */
struct user_stack {
	u64 sp;
	s32 flags;
	u32 pad;
	u64 size;
};

static long sys_sigaltstack(u64 uss, u64 uoss)
{
	struct thread *t = current_thread();
	u64 sp = user_frame(t)->rsp;
	struct user_stack ss, oss = { t->sig.altstack.sp, 0, 0, t->sig.altstack.size };
	oss.flags = (s32)(sas_ss_flags(sp) | (t->sig.altstack.flags & SS_AUTODISARM));
	if (uss) {
		if (copy_from_user(&ss, uss, sizeof(ss)))
			return -EFAULT;
		int err = signal_set_altstack(ss.sp, ss.flags, ss.size, sp);
		if (err)
			return err;
	}
	if (uoss && copy_to_user(uoss, &oss, sizeof(oss)))
		return -EFAULT;
	return 0;
}

static struct kernel_siginfo user_siginfo(int sig, int code)
{
	struct kernel_siginfo info = { .signo = sig, .code = code };
	info.pid = current_proc()->pid;
	return info;
}

/* kill(pid, sig): pid > 0 is one process; a process group or every
 * process (pid <= 0) is not supported beyond Linux's argument checks.
 * A zombie not yet reaped is found: the signal is then lost and the call
 * succeeds, as on Linux. */
static long sys_kill(u64 upid, u64 usig)
{
	long pid = (s32)upid;
	long sig = (s32)usig;
	if (pid <= 0) {
		if (sig < 0 || sig > _NSIG)
			return -EINVAL;
		return pid == 0 || pid == -1 ? (sig ? -EPERM : 0) : -ESRCH;
	}
	struct process *p = proc_find((u32)pid, true);
	if (!p)
		return -ESRCH;
	/* Linux looks the process up first, then checks the signal. */
	if (sig < 0 || sig > _NSIG)
		return -EINVAL;
	if (sig == 0)
		return 0;
	struct kernel_siginfo info = user_siginfo((int)sig, SI_USER);
	return send_sig_process(p, &info);
}

struct find_arg {
	u32 tid;
	struct thread *found;
};

static bool find_one(struct thread *t, void *arg)
{
	struct find_arg *a = arg;
	if (t->tid == a->tid && t->proc && t->state != THREAD_DEAD)
		a->found = t;
	return !a->found;
}

/* tgkill(tgid, tid, sig), and tkill (tgid -1): one thread (Linux's
 * do_tkill, do_send_specific: the lookup before the signal's check). */
static long do_tkill(long tgid, long tid, long sig)
{
	struct find_arg a = { (u32)tid, NULL };
	sched_for_each_thread(find_one, &a);
	struct thread *t = a.found;
	struct process *p = t ? READ_ONCE(t->proc) : NULL;
	if (!p || (tgid > 0 && p->pid != (u32)tgid))
		return -ESRCH;
	if (sig < 0 || sig > _NSIG)
		return -EINVAL;
	if (sig == 0)
		return 0;
	struct kernel_siginfo info = user_siginfo((int)sig, SI_TKILL);
	return send_sig_thread(t, &info);
}

static long sys_tgkill(u64 utgid, u64 utid, u64 usig)
{
	long tgid = (s32)utgid, tid = (s32)utid;
	if (tid <= 0 || tgid <= 0)
		return -EINVAL;
	return do_tkill(tgid, tid, (s32)usig);
}

static long sys_tkill(u64 utid, u64 usig)
{
	long tid = (s32)utid;
	if (tid <= 0)
		return -EINVAL;
	return do_tkill(-1, tid, (s32)usig);
}

void signal_init(void)
{
	cmdline_debug_switch("signal", "signal_debug_frame_saves_wait_mask",
			     &signal_debug_frame_saves_wait_mask,
			     "a handler's frame after ppoll/rt_sigsuspend saves the wait's mask");
	cmdline_debug_switch("signal", "signal_debug_ignore_blocked", &signal_debug_ignore_blocked,
			     "delivery skips the blocked-mask check");
	syscall_register(SYS_rt_sigaction, (void (*)(void))sys_rt_sigaction);
	syscall_register(SYS_rt_sigprocmask, (void (*)(void))sys_rt_sigprocmask);
	syscall_register(SYS_rt_sigpending, (void (*)(void))sys_rt_sigpending);
	syscall_register(SYS_rt_sigsuspend, (void (*)(void))sys_rt_sigsuspend);
	syscall_register(SYS_pause, (void (*)(void))sys_pause);
	waitq_init(&signal_wait_wq, "sigsuspend");
	syscall_register(SYS_sigaltstack, (void (*)(void))sys_sigaltstack);
	syscall_register(SYS_kill, (void (*)(void))sys_kill);
	syscall_register(SYS_tkill, (void (*)(void))sys_tkill);
	syscall_register(SYS_tgkill, (void (*)(void))sys_tgkill);
	signal_frame_init();
}
