/* SPDX-License-Identifier: MIT */
/* tests/kernel/arch/test_trap.c - the exception path reports what happened.
 *
 * Each case makes a real exception at an instruction listed in the exception
 * table, so the handler resumes at the fixup instead of panicking, and then
 * checks the frame the handler saw: vector, error code, and register values
 * planted just before the faulting instruction. */
#include "kernel/ktest.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/percpu.h"
#include "kernel/string.h"

static void test_invalid_opcode_reported(struct ktest *t)
{
	trap_report_fixups = true;      /* print the full report, as a panic would */
	__asm__ __volatile__(
		"movabs $0x1122334455667788, %%rax\n\t"
		"movabs $0x0badc0de0badc0de, %%r12\n\t"
		"1: ud2\n\t"
		"2:\n\t"
		".pushsection .ex_table, \"a\"\n\t"
		".quad 1b, 2b\n\t"
		".popsection"
		: : : "rax", "r12", "memory");
	trap_report_fixups = false;
	struct trap_frame tf;
	trap_last_fixup(&tf);
	KTEST_EXPECT_EQ(t, tf.vector, 6);
	KTEST_EXPECT_EQ(t, tf.rax, 0x1122334455667788UL);
	KTEST_EXPECT_EQ(t, tf.r12, 0x0badc0de0badc0deUL);
	KTEST_EXPECT_EQ(t, tf.cs, 0x08);
}

static void test_page_fault_reports_cr2(struct ktest *t)
{
	/* An address in the non-canonical-free but unmapped lower half above 4 GiB. */
	volatile u64 *bad = (volatile u64 *)0x0000700000000000UL;
	u64 dummy = 0;
	__asm__ __volatile__(
		"1: movq (%1), %0\n\t"
		"2:\n\t"
		".pushsection .ex_table, \"a\"\n\t"
		".quad 1b, 2b\n\t"
		".popsection"
		: "+r"(dummy) : "r"(bad) : "memory");
	struct trap_frame tf;
	trap_last_fixup(&tf);
	KTEST_EXPECT_EQ(t, tf.vector, VEC_PAGE_FAULT);
	KTEST_EXPECT_EQ(t, read_cr2(), (u64)bad);
	/* Not present (bit 0 clear), read (bit 1 clear), kernel mode (bit 2 clear). */
	KTEST_EXPECT_EQ(t, tf.error_code & 7, 0);
}

static void test_divide_error_resumes(struct ktest *t)
{
	u64 zero = 0, result = 7;
	__asm__ __volatile__(
		"xorl %%edx, %%edx\n\t"
		"movl $100, %%eax\n\t"
		"1: divq %1\n\t"
		"2:\n\t"
		".pushsection .ex_table, \"a\"\n\t"
		".quad 1b, 2b\n\t"
		".popsection"
		: "+&r"(result) : "r"(zero) : "rax", "rdx", "memory");
	struct trap_frame tf;
	trap_last_fixup(&tf);
	KTEST_EXPECT_EQ(t, tf.vector, 0);
	KTEST_EXPECT_EQ(t, result, 7);
}

/* An NMI can arrive where CS says "kernel" but GS still holds another base:
 * the instructions of the SYSCALL entry before its swapgs. Imitate that by
 * pointing GS at a copy of this CPU's struct cpu (whose self pointer points
 * at the copy) and sending ourselves an NMI. The paranoid entry must run the
 * handler on the real struct cpu, found from its IST stack: the real NMI
 * count goes up, the copy's does not, and GS is the copy again afterwards
 * (the interrupted code gets back exactly what it had). An entry that
 * trusted CS would count the NMI in the copy (with a real user GS base it
 * would fault, then triple-fault). */
static struct cpu foreign_cpu;

static void test_nmi_with_foreign_gs(struct ktest *t)
{
	u64 flags = local_irq_save();
	struct cpu *me = this_cpu();
	memcpy(&foreign_cpu, me, sizeof(foreign_cpu));
	foreign_cpu.self = &foreign_cpu;
	foreign_cpu.nmis = 0;
	u64 before = me->nmis;
	wrmsr(MSR_GS_BASE, (u64)&foreign_cpu);
	/* Nothing here may rely on GS being right: the copy answers. */
	lapic_send_nmi(me->apic_id);
	for (u32 i = 0; i < 10000000 && *(volatile u64 *)&me->nmis == before &&
	     *(volatile u64 *)&foreign_cpu.nmis == 0; i++)
		cpu_relax();
	u64 gs_after = rdmsr(MSR_GS_BASE);
	wrmsr(MSR_GS_BASE, (u64)me);
	local_irq_restore(flags);
	KTEST_EXPECT_EQ(t, me->nmis, before + 1);
	KTEST_EXPECT_EQ(t, foreign_cpu.nmis, 0);
	KTEST_EXPECT_EQ(t, gs_after, (u64)&foreign_cpu);
}

static const struct ktest_case trap_cases[] = {
	{ "invalid_opcode_reported", test_invalid_opcode_reported },
	{ "page_fault_reports_cr2", test_page_fault_reports_cr2 },
	{ "divide_error_resumes", test_divide_error_resumes },
	{ "nmi_with_foreign_gs", test_nmi_with_foreign_gs },
};
KTEST_SUITE(trap, trap_cases);
