/* SPDX-License-Identifier: MIT */
/* arch/x86_64/signal_frame.h - the frame a signal handler is called on, in
 * Linux's x86_64 layout (arch/x86/include/asm/sigframe.h, uapi
 * asm/sigcontext.h, asm-generic/ucontext.h), and rt_sigreturn, which undoes
 * it (docs/signals.md has the figure).
 *
 *   higher addresses   the interrupted code's stack (its 128-byte red zone
 *                      is skipped), or the top of the alternate stack
 *                      [FPU state, 64-byte aligned: uc_mcontext.fpstate]
 *                      struct rt_sigframe {
 *                          pretcode     the restorer: the handler's "ret"
 *                          uc           struct ucontext (flags, link,
 *                                       uc_stack, uc_mcontext, uc_sigmask)
 *                          info         the 128-byte siginfo
 *                      }
 *   rsp at entry  ->   &pretcode, with (rsp + 8) % 16 == 0 as after a call
 *
 * The handler starts with rdi = signal, rsi = &info, rdx = &uc, rax = 0.
 * A handler may change uc_mcontext (registers, rip, rsp, eflags);
 * rt_sigreturn applies the change with Linux's checks: only the flags a
 * user may change (FIX_EFLAGS) are taken, cs and ss must be the user
 * segments, rip must be canonical (IRETQ to a non-canonical rip would fault
 * in the kernel); a frame that fails them is a bad frame: SIGSEGV.
 */
#ifndef PAGODA_SIGNAL_FRAME_H
#define PAGODA_SIGNAL_FRAME_H

#include "kernel/types.h"
#include "kernel/signal.h"

/* struct sigcontext (uapi asm/sigcontext.h, x86_64): 256 bytes. */
struct sigcontext_64 {
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp;
	u64 rip, eflags;
	u16 cs, gs, fs, ss;
	u64 err, trapno, oldmask, cr2;
	u64 fpstate;            /* user address of the FPU state, or 0 */
	u64 reserved1[8];
};

struct ucontext_64 {
	u64 uc_flags;
	u64 uc_link;
	struct {
		u64 ss_sp;
		s32 ss_flags;
		u32 pad;
		u64 ss_size;
	} uc_stack;
	struct sigcontext_64 uc_mcontext;
	kernel_sigset_t uc_sigmask;
};

/* The user's siginfo_t: 128 bytes, the union at offset 16. */
struct siginfo_64 {
	s32 si_signo, si_errno, si_code, pad;
	union {
		struct { u32 pid, uid; } kill;          /* SI_USER, SI_TKILL */
		struct { u32 pid, uid; s32 status; } chld;      /* SIGCHLD */
		struct { u64 addr; } fault;             /* SIGSEGV, SIGBUS ... */
		u8 bytes[112];
	} u;
};

struct rt_sigframe {
	u64 pretcode;
	struct ucontext_64 uc;
	struct siginfo_64 info;
};

/* uc_flags, as Linux sets them on x86_64. */
#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4

/* Build the frame for sig with action ka on the user stack (or the
 * alternate stack) and point *tf at the handler. 0, or -EFAULT when the
 * frame could not be written (the caller forces SIGSEGV). oldmask is the
 * blocked mask to restore on rt_sigreturn. */
int setup_rt_frame(struct trap_frame *tf, const struct kernel_siginfo *info,
		   const struct k_sigaction *ka, kernel_sigset_t oldmask);

/* The FPU state in the frame (arch/x86_64/fpu.h, Linux's layout): room
 * below *sp (moved down, 64-byte aligned), returning its user address;
 * the calling thread's registers written there (0 or -EFAULT); and read
 * back on rt_sigreturn (0: none in the frame, the initial state). */
u64 signal_fpstate_alloc(u64 *sp);
int signal_fpstate_save(u64 fpstate);
int signal_fpstate_restore(u64 fpstate);

void signal_frame_init(void);           /* registers rt_sigreturn */

#endif
