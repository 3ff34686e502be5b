/* SPDX-License-Identifier: MIT */
/* kernel/signal.c - signal state, sending and delivery; the model and the
 * locking rules are in kernel/signal.h, the frame in
 * arch/x86_64/signal_frame.h. Linux: kernel/signal.c. */
#include "kernel/signal.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/string.h"
#include "kernel/errno.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/signal_frame.h"

bool signal_debug_ignore_blocked;
/* "signal_debug_frame_saves_wait_mask": after ppoll or rt_sigsuspend the
 * handler's frame saves the wait's mask, not the caller's - so
 * rt_sigreturn leaves the wait's mask in place, the bug signal_test's
 * rt_sigsuspend case must catch. */
bool signal_debug_frame_saves_wait_mask;

#define SYSCALL_VECTOR 0x100    /* arch/x86_64/syscall.asm: "this frame is a syscall" */
#define UNBLOCKABLE (sigmask(SIGKILL) | sigmask(SIGSTOP))
/* Faults are taken before other signals (Linux's SYNCHRONOUS_MASK). */
#define SYNCHRONOUS_MASK (sigmask(SIGSEGV) | sigmask(SIGBUS) | sigmask(SIGILL) | \
			  sigmask(SIGTRAP) | sigmask(SIGFPE) | sigmask(SIGSYS))

enum sig_default { SIG_TERM, SIG_CORE, SIG_IGNORE, SIG_STOP };

/* Linux's default actions (signal(7)). "core" ends the process as
 * "terminate" does: no core file is written, and the wait status has no
 * 0x80 bit, as on Linux with RLIMIT_CORE 0. Stop signals are not
 * implemented (no job control): Pagoda ignores them (docs/signals.md). */
static enum sig_default sig_default_action(int sig)
{
	switch (sig) {
	case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS:
	case SIGFPE: case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
		return SIG_CORE;
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
		return SIG_IGNORE;
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return SIG_STOP;
	default:
		return SIG_TERM;
	}
}

/* Would sig be dropped on arrival? Blocked signals never are: the action
 * may change before they are unblocked (Linux's sig_ignored). */
static bool sig_ignored(struct process *p, kernel_sigset_t blocked, int sig)
{
	if (blocked & sigmask(sig))
		return false;
	u64 h = p->sig_action[sig - 1].handler;
	return h == SIG_IGN || (h == SIG_DFL && sig_default_action(sig) >= SIG_IGNORE);
}

bool signal_pending(struct thread *t)
{
	struct process *p = t->proc;
	if (!p)
		return false;
	kernel_sigset_t pending = READ_ONCE(t->sig.pending.set) | READ_ONCE(p->shared_pending.set);
	kernel_sigset_t blocked = signal_debug_ignore_blocked ? 0 : READ_ONCE(t->sig.blocked);
	return (pending & ~blocked) != 0;
}

static void sigqueue(struct sigpending *q, const struct kernel_siginfo *info)
{
	kernel_sigset_t m = sigmask(info->signo);
	if (q->set & m)
		return;         /* already pending: not queued twice */
	q->info[info->signo - 1] = *info;
	WRITE_ONCE(q->set, q->set | m);
}

/* ---- choosing a thread for a process-directed signal ---- */

struct pick_arg {
	struct process *p;
	int sig;
	struct thread *found;
};

static bool wants_signal(struct thread *t, struct process *p, int sig)
{
	return t->proc == p && t->state != THREAD_DEAD && !t->sig.exiting &&
	       !(t->sig.blocked & sigmask(sig));
}

static bool pick_one(struct thread *t, void *arg)
{
	struct pick_arg *a = arg;
	if (!wants_signal(t, a->p, a->sig))
		return true;
	if (!a->found || t->tid == a->p->pid)
		a->found = t;   /* the main thread first, as Linux's complete_signal */
	return t->tid != a->p->pid;
}

/* A thread of p that does not block sig, or NULL: it then stays pending
 * until a thread unblocks it. p->siglock held. */
static struct thread *pick_thread(struct process *p, int sig)
{
	lockdep_assert_held(&p->siglock);
	struct pick_arg a = { p, sig, NULL };
	sched_for_each_thread(pick_one, &a);
	return a.found;
}

/* Make t notice: out of its sleep, or into the kernel if it runs user
 * code on another CPU. After p->siglock is released. */
static void signal_wake_up(struct thread *t)
{
	if (t && t != current_thread())
		wake_up_thread(t);
}

/* ---- sending ---- */

/* Will sig kill p at once when delivered to a thread with this mask? Then
 * the whole process is killed now (Linux's complete_signal with
 * sig_fatal): a thread in a sleep that only a kill ends must not wait. */
static bool sig_fatal(struct process *p, kernel_sigset_t blocked, int sig)
{
	if (sig == SIGKILL)
		return true;
	return !(blocked & sigmask(sig)) && p->sig_action[sig - 1].handler == SIG_DFL &&
	       sig_default_action(sig) <= SIG_CORE;
}

/* send_sig_process, and send_sig_pid with pid != 0. */
static int send_to_process(struct process *p, u32 pid, const struct kernel_siginfo *info)
{
	int sig = info->signo;
	struct thread *target = NULL;
	bool fatal = false, gone = false;
	u64 f = spin_lock_irqsave(&p->siglock);
	if (pid && p->pid != pid)
		gone = true;            /* the slot holds another process now */
	else if (p->state == PROC_ALIVE && !p->exiting) {
		struct thread *main = pick_thread(p, sig);
		kernel_sigset_t blocked = main ? main->sig.blocked : (kernel_sigset_t)~0UL;
		if (!sig_ignored(p, blocked, sig)) {
			sigqueue(&p->shared_pending, info);
			target = main;
			fatal = sig_fatal(p, blocked, sig);
		}
	}
	spin_unlock_irqrestore(&p->siglock, f);
	if (fatal)
		proc_kill_group(p, sig);
	else
		signal_wake_up(target);
	return gone ? -ESRCH : 0;
}

int send_sig_process(struct process *p, const struct kernel_siginfo *info)
{
	return send_to_process(p, 0, info);
}

int send_sig_pid(struct process *p, u32 pid, const struct kernel_siginfo *info)
{
	return send_to_process(p, pid, info);
}

int send_sig_thread(struct thread *t, const struct kernel_siginfo *info)
{
	struct process *p = t->proc;
	if (!p)
		return -ESRCH;
	int ret = 0;
	bool wake = false, fatal = false;
	u64 f = spin_lock_irqsave(&p->siglock);
	if (t->proc != p || t->state == THREAD_DEAD || t->sig.exiting) {
		ret = -ESRCH;
	} else if (!p->exiting && !sig_ignored(p, t->sig.blocked, info->signo)) {
		sigqueue(&t->sig.pending, info);
		wake = !(t->sig.blocked & sigmask(info->signo));
		fatal = sig_fatal(p, t->sig.blocked, info->signo);
	}
	spin_unlock_irqrestore(&p->siglock, f);
	if (fatal)
		proc_kill_group(p, info->signo);
	else if (wake)
		signal_wake_up(t);
	return ret;
}

bool force_sig_fault(int sig, int code, u64 addr)
{
	struct thread *t = current_thread();
	struct process *p = t->proc;
	struct kernel_siginfo info = { .signo = sig, .code = code, .addr = addr };
	u64 f = spin_lock_irqsave(&p->siglock);
	struct k_sigaction *ka = &p->sig_action[sig - 1];
	bool blocked = t->sig.blocked & sigmask(sig);
	/* A blocked or ignored fault would only repeat: Linux's
	 * force_sig_info_to_task resets the action and unblocks it. */
	if (blocked || ka->handler == SIG_IGN) {
		ka->handler = SIG_DFL;
		t->sig.blocked &= ~sigmask(sig);
	}
	bool fatal = ka->handler == SIG_DFL;
	sigqueue(&t->sig.pending, &info);
	spin_unlock_irqrestore(&p->siglock, f);
	return fatal;
}

void force_sigsegv(int sig)
{
	struct process *p = current_proc();
	if (sig == SIGSEGV) {
		u64 f = spin_lock_irqsave(&p->siglock);
		p->sig_action[SIGSEGV - 1].handler = SIG_DFL;
		spin_unlock_irqrestore(&p->siglock, f);
	}
	force_sig_fault(SIGSEGV, SI_KERNEL, 0);
}

/* ---- dequeueing and delivery ---- */

static int next_signal(kernel_sigset_t pending, kernel_sigset_t blocked)
{
	kernel_sigset_t ready = pending;
	if (!signal_debug_ignore_blocked)
		ready &= ~blocked;
	if (!ready)
		return 0;
	if (ready & SYNCHRONOUS_MASK)
		ready &= SYNCHRONOUS_MASK;
	return __builtin_ctzl(ready) + 1;
}

static bool dequeue_from(struct sigpending *q, kernel_sigset_t blocked, struct kernel_siginfo *info)
{
	int sig = next_signal(q->set, blocked);
	if (!sig)
		return false;
	*info = q->info[sig - 1];
	WRITE_ONCE(q->set, q->set & ~sigmask(sig));
	return true;
}

/* The next signal to act on, with its action as it was when taken off
 * the queue (SA_RESETHAND applied then, as Linux's get_signal). Ignored
 * ones are dropped here; a fatal one ends the process. */
static bool get_signal(struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct thread *t = current_thread();
	struct process *p = t->proc;
	for (;;) {
		u64 f = spin_lock_irqsave(&p->siglock);
		bool got = dequeue_from(&t->sig.pending, t->sig.blocked, info) ||
			   dequeue_from(&p->shared_pending, t->sig.blocked, info);
		if (!got) {
			spin_unlock_irqrestore(&p->siglock, f);
			return false;
		}
		struct k_sigaction *action = &p->sig_action[info->signo - 1];
		*ka = *action;
		if (ka->handler != SIG_DFL && ka->handler != SIG_IGN && (ka->flags & SA_RESETHAND))
			action->handler = SIG_DFL;
		spin_unlock_irqrestore(&p->siglock, f);
		if (ka->handler == SIG_IGN)
			continue;
		if (ka->handler != SIG_DFL)
			return true;
		if (sig_default_action(info->signo) >= SIG_IGNORE)
			continue;
		proc_exit(W_SIGNALED(info->signo), true);
	}
}

/* Run the handler: build its frame, then block its mask (and the signal
 * itself unless SA_NODEFER). A frame that cannot be written is SIGSEGV. */
static void handle_signal(struct trap_frame *tf, const struct kernel_siginfo *info,
			  const struct k_sigaction *ka)
{
	struct thread *t = current_thread();
	/* After ppoll or rt_sigsuspend the frame saves the caller's mask,
	 * not the wait's (set_user_sigmask). */
	kernel_sigset_t oldmask = t->sig.restore_blocked && !signal_debug_frame_saves_wait_mask ?
				  t->sig.saved_blocked : t->sig.blocked;
	if (setup_rt_frame(tf, info, ka, oldmask)) {
		force_sigsegv(info->signo);
		return;
	}
	t->sig.restore_blocked = false;
	kernel_sigset_t blocked = t->sig.blocked | ka->mask;
	if (!(ka->flags & SA_NODEFER))
		blocked |= sigmask(info->signo);
	set_current_blocked(blocked);
}

/* A system call interrupted by a signal: -ERESTART* becomes -EINTR or a
 * restart (rax = the call's number again, rip back over SYSCALL), as
 * Linux's handle_signal and arch_do_signal_or_restart decide. */
static void syscall_restart(struct trap_frame *tf, const struct k_sigaction *ka)
{
	long ret = (long)tf->rax;
	if (tf->vector != SYSCALL_VECTOR || (s64)tf->error_code < 0)
		return;
	bool restart;
	if (ret == -ERESTARTNOINTR)
		restart = true;
	else if (ret == -ERESTARTSYS)
		restart = !ka || (ka->flags & SA_RESTART);
	else if (ret == -ERESTARTNOHAND)
		restart = !ka;
	else
		return;
	if (restart) {
		tf->rax = tf->error_code;
		tf->rip -= 2;   /* SYSCALL is two bytes long */
	} else {
		tf->rax = (u64)-EINTR;
	}
	tf->error_code = (u64)-1;
}

void do_signal(struct trap_frame *tf)
{
	struct thread *t = current_thread();
	struct kernel_siginfo info;
	struct k_sigaction ka;
	bool first = true;
	while (signal_pending(t)) {
		if (!get_signal(&info, &ka))
			break;
		if (first)
			syscall_restart(tf, &ka);
		first = false;
		handle_signal(tf, &info, &ka);
	}
	if (first)
		syscall_restart(tf, NULL);
	/* No handler ran (the signal was taken by another thread, ignored,
	 * or the call restarts): the caller's mask comes back now. */
	restore_saved_sigmask_unless(false);
}

/* ---- masks ---- */

kernel_sigset_t current_blocked(void)
{
	return current_thread()->sig.blocked;
}

/* Signals this thread stops blocking may be taken here; process signals
 * it starts blocking go to another thread (Linux's retarget_shared_pending). */
void set_current_blocked(kernel_sigset_t set)
{
	struct thread *t = current_thread();
	struct process *p = t->proc;
	struct thread *other = NULL;
	set &= ~UNBLOCKABLE;
	u64 f = spin_lock_irqsave(&p->siglock);
	kernel_sigset_t newly = set & ~t->sig.blocked & p->shared_pending.set;
	WRITE_ONCE(t->sig.blocked, set);
	if (newly)
		other = pick_thread(p, __builtin_ctzl(newly) + 1);
	spin_unlock_irqrestore(&p->siglock, f);
	signal_wake_up(other);
}

void set_user_sigmask(kernel_sigset_t set)
{
	struct thread *t = current_thread();
	t->sig.saved_blocked = t->sig.blocked;
	t->sig.restore_blocked = true;
	set_current_blocked(set);
}

void restore_saved_sigmask_unless(bool interrupted)
{
	struct thread *t = current_thread();
	if (interrupted || !t->sig.restore_blocked)
		return;
	t->sig.restore_blocked = false;
	set_current_blocked(t->sig.saved_blocked);
}

bool signal_restore_pending(struct thread *t)
{
	return t->sig.restore_blocked;
}

/* ---- the alternate stack ---- */

bool sp_within_altstack(u64 sp)
{
	const struct k_sigaltstack *ss = &current_thread()->sig.altstack;
	return sp > ss->sp && sp - ss->sp <= ss->size;
}

bool on_sig_stack(u64 sp)
{
	/* With SS_AUTODISARM a handler may run on the stack while it is
	 * reset: it then counts as not being on it (Linux's on_sig_stack). */
	if (current_thread()->sig.altstack.flags & SS_AUTODISARM)
		return false;
	return sp_within_altstack(sp);
}

u32 sas_ss_flags(u64 sp)
{
	if (!current_thread()->sig.altstack.size)
		return SS_DISABLE;
	return on_sig_stack(sp) ? SS_ONSTACK : 0;
}

int signal_set_altstack(u64 ss_sp, s32 ss_flags, u64 ss_size, u64 cur_sp)
{
	struct k_sigaltstack *ss = &current_thread()->sig.altstack;
	if (on_sig_stack(cur_sp))
		return -EPERM;
	u32 mode = (u32)ss_flags & ~SS_AUTODISARM;
	if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0)
		return -EINVAL;
	if (mode == SS_DISABLE) {
		ss_size = 0;
		ss_sp = 0;
	} else if (ss_size < MINSIGSTKSZ) {
		return -ENOMEM;
	}
	ss->sp = ss_sp;
	ss->size = ss_size;
	ss->flags = (u32)ss_flags;
	return 0;
}

/* ---- fork, threads, exit ---- */

void signal_proc_init(struct process *p)
{
	spin_init(&p->siglock, "siglock");
}

void signal_fork(struct process *child, struct process *parent)
{
	u64 f = spin_lock_irqsave(&parent->siglock);
	memcpy(child->sig_action, parent->sig_action, sizeof(child->sig_action));
	spin_unlock_irqrestore(&parent->siglock, f);
}

void signal_exec(struct process *p)
{
	u64 f = spin_lock_irqsave(&p->siglock);
	for (int i = 0; i < _NSIG; i++) {
		struct k_sigaction *ka = &p->sig_action[i];
		if (ka->handler != SIG_IGN)
			ka->handler = SIG_DFL;
		ka->flags = 0;
		ka->restorer = 0;
		ka->mask = 0;
	}
	spin_unlock_irqrestore(&p->siglock, f);
}

void signal_thread_init(struct thread *t, struct thread *creator, bool same_mm)
{
	t->sig.blocked = creator->sig.blocked;
	t->sig.restore_blocked = false;
	if (!same_mm)
		t->sig.altstack = creator->sig.altstack;
	else
		t->sig.altstack.flags = SS_DISABLE;
}

void signal_thread_exit(struct thread *t)
{
	struct process *p = t->proc;
	struct thread *other = NULL;
	u64 f = spin_lock_irqsave(&p->siglock);
	t->sig.exiting = true;
	kernel_sigset_t shared = p->shared_pending.set;
	if (shared)
		other = pick_thread(p, __builtin_ctzl(shared) + 1);
	spin_unlock_irqrestore(&p->siglock, f);
	signal_wake_up(other);
}
