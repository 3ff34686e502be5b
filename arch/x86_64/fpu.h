/* SPDX-License-Identifier: MIT */
/* arch/x86_64/fpu.h - the FPU, SSE and AVX registers of user threads.
 *
 * Rule (docs/fpu.md): each user thread's x87/SSE/AVX registers are its own.
 * Switching is eager, as Linux's since lazy switching leaked one process's
 * registers to another (CVE-2018-3665): at every context switch the
 * outgoing user thread's registers are saved to its area and the incoming
 * one's are loaded (fpu_switch, called from the scheduler with interrupts
 * disabled). Hence, whenever a user thread runs, in user mode or in the
 * kernel on its behalf, the CPU's registers are that thread's: the signal
 * functions below may read and write them directly.
 *
 * The kernel itself never touches these registers (it is built with
 * -mgeneral-regs-only -mno-sse ...): only this file's explicit
 * XSAVE/XRSTOR/FXSAVE/FXRSTOR instructions do. Kernel threads have no
 * area (t->fpu_state NULL) and load nothing.
 *
 * Format: XSAVE's standard form when CPUID says XSAVE (XCR0 = x87, SSE, AVX,
 * plus the three AVX-512 components when all are offered), FXSAVE's 512
 * bytes otherwise (the qemu64 CPU). One page per thread, 64-byte aligned.
 *
 * Initial state (Linux's ABI): x87 control word 0x037F, MXCSR 0x1F80, every
 * register zero. Fork and clone (threads too: Linux's fpu_clone) copy the
 * caller's live registers; a process the kernel starts begins clean.
 *
 * Locking: a thread's area is touched only by that thread or, while it is
 * off every CPU, by the scheduler switching it in or out; no lock.
 */
#ifndef PAGODA_FPU_H
#define PAGODA_FPU_H

#include "kernel/types.h"

struct thread;

/* Boot CPU: find the format and size, enable it. Before any user thread. */
void fpu_init(void);
/* Each AP after it loaded the boot CPU's CR0/CR4: its own XCR0. */
void fpu_init_cpu(void);

/* Bytes of one thread's area (XSAVE's size for XCR0, or 512). */
u32 fpu_state_size(void);
/* Does this CPU save with XSAVE (else FXSAVE)? */
bool fpu_uses_xsave(void);
/* The XCR0 Pagoda enables (0 without XSAVE). */
u64 fpu_xfeatures(void);

/* Give t (a new user thread, not yet started) its area: a copy of the
 * calling user thread's live registers when src_current (fork, clone), the
 * initial state otherwise. 0 or -ENOMEM. */
int fpu_thread_alloc(struct thread *t, bool src_current);
/* Free the calling thread's area before it dies; from then on the
 * scheduler saves nothing for it. Also for a thread that never ran. */
void fpu_thread_free(struct thread *t);

/* The scheduler, interrupts disabled, just before switch_to: save prev's
 * registers (if a user thread), load next's (if a user thread). The only
 * place registers change hands. */
void fpu_switch(struct thread *prev, struct thread *next);

/* ---- signal frames (Linux's layout, arch/x86/include/uapi/asm/sigcontext.h) ----
 * The user area is FXSAVE's 512 bytes; with XSAVE it is followed by the
 * extended components (XSAVE standard form), bytes 464..511 hold
 * struct _fpx_sw_bytes (FP_XSTATE_MAGIC1, extended_size, xfeatures,
 * xstate_size) and FP_XSTATE_MAGIC2 follows the area. ustate must be
 * 64-byte aligned (XSAVE's rule; the signal code places it so). */
#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U
#define FP_XSTATE_MAGIC2_SIZE 4

/* Bytes of the user fpstate area in a signal frame (Linux's
 * fpu__get_fpstate_size: the area, plus MAGIC2 with XSAVE). */
u32 fpu_signal_frame_size(void);
/* Write the current thread's live registers to user memory at ustate.
 * 0 or -EFAULT (unwritable or not 64-byte aligned). May sleep. */
int fpu_save_signal_frame(void *ustate);
/* rt_sigreturn: read the area at ustate back into the registers, checked
 * as Linux's __fpu_restore_sig does: a frame without valid magic words is
 * taken as FXSAVE-only (FP and SSE loaded, the rest reset); bad MXCSR bits
 * or a header XRSTOR would refuse (#GP on Linux) fail the restore and leave
 * the registers untouched. 0, or -EFAULT (unreadable, unaligned or bad):
 * the caller then kills with SIGSEGV as Linux does; -ENOMEM if no page
 * was free for the kernel's copy of the frame. May sleep. */
int fpu_restore_signal_frame(const void *ustate);
/* The initial state in the current thread's registers: a signal handler
 * starts with it (Linux's fpu__clear_user_states after saving). */
void fpu_reset_current(void);

#endif
