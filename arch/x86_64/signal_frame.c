/* SPDX-License-Identifier: MIT */
/* arch/x86_64/signal_frame.c - building a handler's frame and rt_sigreturn
 * (the layout and the rules are in signal_frame.h; Linux's are in
 * arch/x86/kernel/signal.c: get_sigframe, __setup_rt_frame, restore_sigcontext). */
#include "arch/x86_64/signal_frame.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/desc.h"
#include "arch/x86_64/fpu.h"
#include "kernel/signal.h"
#include "kernel/sched.h"
#include "kernel/proc.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/string.h"
#include "kernel/errno.h"
#include "kernel/cmdline.h"
#include "mm/user_layout.h"

_Static_assert(sizeof(struct sigcontext_64) == 256, "Linux's struct sigcontext");
_Static_assert(sizeof(struct ucontext_64) == 304, "Linux's struct ucontext");
_Static_assert(sizeof(struct siginfo_64) == 128, "Linux's siginfo_t");
_Static_assert(__builtin_offsetof(struct rt_sigframe, info) == 312, "Linux's rt_sigframe");

/* The flags a user may change through the frame (Linux's FIX_EFLAGS):
 * AC, OF, DF, TF, SF, ZF, AF, PF, CF and RF; never IF, IOPL, NT, VM. */
#define FIX_EFLAGS ((1UL << 18) | (1UL << 11) | (1UL << 10) | (1UL << 8) | (1UL << 7) | \
		    (1UL << 6) | (1UL << 4) | (1UL << 2) | (1UL << 0) | (1UL << 16))
#define EFLAGS_TF (1UL << 8)
#define EFLAGS_DF (1UL << 10)
#define EFLAGS_RF (1UL << 16)
#define RED_ZONE 128

/* Room for the FPU state below *sp, 64-byte aligned (XSAVE's rule), as
 * Linux's fpu__alloc_mathframe places it. */
u64 signal_fpstate_alloc(u64 *sp)
{
	*sp = (*sp - fpu_signal_frame_size()) & ~63UL;
	return *sp;
}

int signal_fpstate_save(u64 fpstate)
{
	return fpu_save_signal_frame((void *)fpstate);
}

/* The handler starts with the initial FPU state (Linux's
 * fpu__clear_user_states): the interrupted code's is in the frame. */
static void signal_fpstate_reset(void)
{
	fpu_reset_current();
}

/* A frame without FPU state gives the initial state, as Linux's
 * fpu__restore_sig(NULL) does. */
int signal_fpstate_restore(u64 fpstate)
{
	if (!fpstate) {
		fpu_reset_current();
		return 0;
	}
	return fpu_restore_signal_frame((const void *)fpstate);
}

/* Where the frame goes (Linux's get_sigframe): below the red zone, or at
 * the top of the alternate stack for SA_ONSTACK when not already on it;
 * 0 when it would overflow the alternate stack. */
static u64 get_sigframe(const struct trap_frame *tf, const struct k_sigaction *ka, u64 *fpstate)
{
	u64 sp = tf->rsp;
	bool nested_altstack = on_sig_stack(sp);
	bool entering_altstack = false;
	sp -= RED_ZONE;
	if ((ka->flags & SA_ONSTACK) && sas_ss_flags(sp) == 0) {
		struct k_sigaltstack *ss = &current_thread()->sig.altstack;
		sp = ss->sp + ss->size;
		entering_altstack = true;
	}
	*fpstate = signal_fpstate_alloc(&sp);
	sp -= sizeof(struct rt_sigframe);
	sp = (sp & ~15UL) - 8;          /* as after a call: (rsp + 8) % 16 == 0 */
	if ((nested_altstack || entering_altstack) && !sp_within_altstack(sp))
		return 0;
	return sp;
}

static void fill_siginfo(struct siginfo_64 *si, const struct kernel_siginfo *info)
{
	memset(si, 0, sizeof(*si));
	si->si_signo = info->signo;
	si->si_code = info->code;
	if (info->signo == SIGCHLD && info->code > 0) {
		si->u.chld.pid = info->pid;
		si->u.chld.status = info->status;
	} else if (info->code == SI_USER || info->code == SI_TKILL) {
		si->u.kill.pid = info->pid;
		si->u.kill.uid = info->uid;
	} else {
		si->u.fault.addr = info->addr;
	}
}

static void fill_sigcontext(struct sigcontext_64 *sc, const struct trap_frame *tf,
			    kernel_sigset_t oldmask, u64 fpstate)
{
	const struct thread_signals *s = &current_thread()->sig;
	memset(sc, 0, sizeof(*sc));
	sc->r8 = tf->r8; sc->r9 = tf->r9; sc->r10 = tf->r10; sc->r11 = tf->r11;
	sc->r12 = tf->r12; sc->r13 = tf->r13; sc->r14 = tf->r14; sc->r15 = tf->r15;
	sc->rdi = tf->rdi; sc->rsi = tf->rsi; sc->rbp = tf->rbp; sc->rbx = tf->rbx;
	sc->rdx = tf->rdx; sc->rax = tf->rax; sc->rcx = tf->rcx; sc->rsp = tf->rsp;
	sc->rip = tf->rip;
	sc->eflags = tf->rflags;
	sc->cs = (u16)tf->cs;
	sc->ss = (u16)tf->ss;
	sc->err = s->fault_err;
	sc->trapno = s->fault_trapno;
	sc->cr2 = s->fault_cr2;
	sc->oldmask = oldmask;
	sc->fpstate = fpstate;
}

int setup_rt_frame(struct trap_frame *tf, const struct kernel_siginfo *info,
		   const struct k_sigaction *ka, kernel_sigset_t oldmask)
{
	u64 fpstate;
	/* Linux x86_64 has no stub of its own to return through: a handler
	 * without SA_RESTORER cannot return (__setup_rt_frame's Efault). */
	if (!(ka->flags & SA_RESTORER))
		return -EFAULT;
	u64 sp = get_sigframe(tf, ka, &fpstate);
	if (!sp || signal_fpstate_save(fpstate))
		return -EFAULT;
	struct k_sigaltstack *ss = &current_thread()->sig.altstack;
	struct rt_sigframe frame, *f = &frame;
	memset(f, 0, sizeof(*f));
	f->pretcode = ka->restorer;
	f->uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS |
			 (fpu_uses_xsave() ? UC_FP_XSTATE : 0);
	f->uc.uc_stack.ss_sp = ss->sp;
	f->uc.uc_stack.ss_flags = (s32)sas_ss_flags(tf->rsp);
	f->uc.uc_stack.ss_size = ss->size;
	fill_sigcontext(&f->uc.uc_mcontext, tf, oldmask, fpstate);
	f->uc.uc_sigmask = oldmask;
	fill_siginfo(&f->info, info);
	if (copy_to_user(sp, f, sizeof(*f)))
		return -EFAULT;
	if (ss->flags & SS_AUTODISARM) {
		/* The handler may take signals on this stack's stead: Linux's
		 * sas_ss_reset; rt_sigreturn restores it from uc_stack. */
		ss->sp = 0;
		ss->size = 0;
		ss->flags = SS_DISABLE;
	}
	tf->rdi = (u64)info->signo;
	tf->rsi = sp + __builtin_offsetof(struct rt_sigframe, info);
	tf->rdx = sp + __builtin_offsetof(struct rt_sigframe, uc);
	tf->rax = 0;
	tf->rsp = sp;
	tf->rip = ka->handler;
	tf->rflags &= ~(EFLAGS_DF | EFLAGS_RF | EFLAGS_TF);
	tf->cs = USER_CS;
	tf->ss = USER_DS;
	signal_fpstate_reset();
	return 0;
}

static bool canonical(u64 a)
{
	return a < USER_SPACE_END || a >= 0xffff800000000000UL;
}

/* Apply the registers of the frame's sigcontext to *tf (Linux's
 * restore_sigcontext), refusing what IRETQ could not return to: false for
 * a bad frame. */
static bool restore_sigcontext(struct trap_frame *tf, const struct sigcontext_64 *sc)
{
	if ((sc->cs | 3) != USER_CS || (sc->ss | 3) != USER_DS ||
	    !canonical(sc->rip) || sc->rip >= USER_SPACE_END)
		return false;
	tf->r8 = sc->r8; tf->r9 = sc->r9; tf->r10 = sc->r10; tf->r11 = sc->r11;
	tf->r12 = sc->r12; tf->r13 = sc->r13; tf->r14 = sc->r14; tf->r15 = sc->r15;
	tf->rdi = sc->rdi; tf->rsi = sc->rsi; tf->rbp = sc->rbp; tf->rbx = sc->rbx;
	tf->rdx = sc->rdx; tf->rax = sc->rax; tf->rcx = sc->rcx; tf->rsp = sc->rsp;
	tf->rip = sc->rip;
	tf->rflags = (tf->rflags & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS);
	tf->cs = USER_CS;
	tf->ss = USER_DS;
	tf->error_code = (u64)-1;       /* no system call to restart */
	return signal_fpstate_restore(sc->fpstate) == 0;
}

/* "signal_debug_sigreturn_keep_mask": rt_sigreturn leaves the handler's
 * mask in place - the bug signal_test's mask cases must catch. */
bool signal_debug_sigreturn_keep_mask;

/* The handler returned through its restorer: the frame starts 8 bytes
 * below rsp (its ret popped pretcode). Restore the mask, the alternate
 * stack and the registers; a frame that cannot be read or fails the checks
 * is a bad frame (SIGSEGV, as Linux's badframe). */
static long sys_rt_sigreturn(void)
{
	struct trap_frame *tf = user_frame(current_thread());
	u64 at = tf->rsp - 8;
	tf->error_code = (u64)-1;       /* not a call to restart, whatever rax says */
	struct rt_sigframe frame;
	if (copy_from_user(&frame, at, sizeof(frame)))
		goto badframe;
	if (!signal_debug_sigreturn_keep_mask)
		set_current_blocked(frame.uc.uc_sigmask);
	if (!restore_sigcontext(tf, &frame.uc.uc_mcontext))
		goto badframe;
	/* Linux squashes every error of restoring the alternate stack but a
	 * fault (restore_altstack): the stack may legitimately be in use. */
	(void)signal_set_altstack(frame.uc.uc_stack.ss_sp, frame.uc.uc_stack.ss_flags,
				  frame.uc.uc_stack.ss_size, tf->rsp);
	return (long)tf->rax;   /* syscall_dispatch stores it back in rax */
badframe:
	force_sig_fault(SIGSEGV, SI_KERNEL, 0);
	return (long)tf->rax;
}

void signal_frame_init(void)
{
	cmdline_debug_switch("signal", "signal_debug_sigreturn_keep_mask",
			     &signal_debug_sigreturn_keep_mask,
			     "rt_sigreturn does not restore the signal mask");
	syscall_register(SYS_rt_sigreturn, (void (*)(void))sys_rt_sigreturn);
}
