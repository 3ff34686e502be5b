/* tests/kernel/arch/test_trap.c - the exception path reports what happened.
 *
 * Each case makes a real exception at an instruction listed in the exception
 * table, so the handler resumes at the fixup instead of panicking, and then
 * checks the frame the handler saw: vector, error code, and register values
 * planted just before the faulting instruction. */
#include "kernel/ktest.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"

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

static const struct ktest_case trap_cases[] = {
	{ "invalid_opcode_reported", test_invalid_opcode_reported },
	{ "page_fault_reports_cr2", test_page_fault_reports_cr2 },
	{ "divide_error_resumes", test_divide_error_resumes },
};
KTEST_SUITE(trap, trap_cases);
