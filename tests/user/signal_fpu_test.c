/* SPDX-License-Identifier: MIT */
/* signal_fpu_test - the FPU state in a signal frame (docs/signals.md, "The
 * frame"): the interrupted code's registers are saved in the frame
 * (uc_mcontext.fpregs, 64-byte aligned), the handler starts with the
 * initial state, and rt_sigreturn loads the frame's registers back, so a
 * handler's change to them applies.
 *
 * Only inline assembly touches xmm0: the program is built
 * -mgeneral-regs-only, so the compiler never does between these lines.
 * Pagoda's matrix runs it with XSAVE (signal-4cpu, signal-8cpu) and with
 * FXSAVE (signal-qemu64-4cpu).
 */
#include "libc.h"

static volatile unsigned long xmm0_in_handler, fpregs_aligned;

static void fpu_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	unsigned long v;

	(void)sig; (void)si;
	__asm__ __volatile__("movq %%xmm0, %0" : "=r"(v));
	xmm0_in_handler = v;
	u8 *fx = uc->uc_mcontext.fpregs;
	fpregs_aligned = fx && ((unsigned long)fx & 63) == 0;
	if (fx)
		*(unsigned long *)(fx + 160) = 0x5151515151515151UL;   /* xmm0, low half */
}

int main(void)
{
	unsigned long before = 0x1234567890abcdefUL, after;
	struct sigaction sa;

	ktap_plan(1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fpu_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	__asm__ __volatile__("movq %0, %%xmm0" : : "r"(before));
	raise(SIGUSR1);
	__asm__ __volatile__("movq %%xmm0, %0" : "=r"(after));
	ktap_ok(fpregs_aligned && xmm0_in_handler == 0 && after == 0x5151515151515151UL,
		"the frame holds the FPU state (64-byte aligned), the handler starts clean, rt_sigreturn loads the frame's xmm0");
	return ktap_finish();
}
