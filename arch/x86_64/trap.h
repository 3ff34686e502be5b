/* SPDX-License-Identifier: MIT */
/* arch/x86_64/trap.h - exceptions and interrupts.
 *
 * trap_dispatch() is called from arch/x86_64/isr.asm for every vector with
 * a struct trap_frame on the stack. Exceptions (0-31) either hit an entry of
 * the exception table (a kernel instruction allowed to fault, which resumes at
 * its fixup) or end in a full report and panic. Vectors 32-255 go to handlers
 * registered with irq_register(); LAPIC interrupts are acknowledged (EOI) by
 * the dispatcher after the handler returns.
 */
#ifndef PAGODA_TRAP_H
#define PAGODA_TRAP_H

#include "kernel/types.h"

struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss;  /* pushed by the CPU */
};

/* Vectors used by Pagoda (docs/boot.md lists them). */
#define VEC_PAGE_FAULT 14
#define VEC_IRQ_BASE 32         /* legacy PIC remapped here, then masked */
#define VEC_TIMER 0x40          /* LAPIC timer */
#define VEC_CALL_FUNCTION 0xF0  /* smp_call_function IPI */
#define VEC_TLB_FLUSH 0xF1      /* TLB shootdown requests (mm/tlbflush.c) */
#define VEC_RESCHEDULE 0xF2     /* wake a CPU to look at its run queue */
#define VEC_APIC_ERROR 0xFE
#define VEC_SPURIOUS 0xFF

typedef void (*irq_handler_t)(struct trap_frame *tf);
void irq_register(u8 vector, irq_handler_t handler);

/* An entry of the exception table: if the instruction at fault_ip faults, the
 * trap handler resumes at fixup_ip instead of reporting. */
struct ex_entry {
	u64 fault_ip;
	u64 fixup_ip;
};

/* Print vector, error code, CR2, every register and a backtrace. */
void trap_report(const struct trap_frame *tf);
void dump_backtrace(u64 rbp, u64 rip);
const char *exception_name(u64 vector);

/* Test hook: the last frame that went through an exception-table fixup on
 * this CPU, and whether to print the full report for such traps. */
extern bool trap_report_fixups;
void trap_last_fixup(struct trap_frame *out);

#endif
