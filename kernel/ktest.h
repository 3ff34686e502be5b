/* SPDX-License-Identifier: MIT */
/* kernel/ktest.h - in-kernel tests, reported as KTAP version 1 (as Linux's
 * KUnit does) on every console.
 *
 * A suite is an array of cases registered with KTEST_SUITE(); the linker
 * gathers suites in the .ktest_suites section (linker.ld). The command line
 * "test=all" or "test=SUITE[,SUITE...]" runs them after boot, on the boot
 * CPU; "test=SUITE.CASE" (CASE a name or a number from 1) runs one case
 * of a suite, and the selected cases are numbered 1..k. Suites named lab_*
 * (the tests students write in labs/testing) run only when named, never
 * under "all". With "poweroff" the machine then exits with a code meaning pass or
 * fail (kernel/power.c).
 *
 * Inside a case, KTEST_EXPECT_* records a failure and continues;
 * KTEST_ASSERT_* records it and returns from the case. Failures print the
 * file, line, the expressions and their values.
 *
 * Test code that is not a suite - a benchmark, a deliberate crash - runs at
 * a fixed point of the boot through a hook registered with KTEST_HOOK() or
 * KTEST_BENCH() (the .ktest_hooks section). Production code names only the
 * points (ktest_run_hooks below), never a test: the tests live in tests/
 * (tests/README.md) and are linked in from there.
 */
#ifndef PAGODA_KTEST_H
#define PAGODA_KTEST_H

#include "kernel/types.h"
#include "arch/x86_64/percpu.h"

struct ktest {
	const char *name;
	bool failed;
	bool skipped;
	char skip_reason[96];
};

struct ktest_case {
	const char *name;
	void (*run)(struct ktest *t);
};

struct ktest_suite {
	const char *name;
	const struct ktest_case *cases;
	u64 nr_cases;
};

#define KTEST_SUITE(sname, case_array)                                         \
	static const struct ktest_suite ktest_suite_##sname                  \
		__section(".ktest_suites") __used __aligned(8) = {           \
		.name = #sname, .cases = case_array, .nr_cases = ARRAY_SIZE(case_array) }

/* Record a failure: "file:line: message" as a KTAP diagnostic. */
void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...) __printf(4, 5);
void ktest_skip(struct ktest *t, const char *reason);
void ktest_log(struct ktest *t, const char *fmt, ...) __printf(2, 3);

bool ktest_check_u64(struct ktest *t, const char *file, int line, const char *op,
		     const char *ea, u64 a, const char *eb, u64 b);

#define KTEST_CMP(t, a, op, b) \
	ktest_check_u64(t, __FILE__, __LINE__, #op, #a, (u64)(a), #b, (u64)(b))

#define KTEST_EXPECT_EQ(t, a, b) KTEST_CMP(t, a, ==, b)
#define KTEST_EXPECT_NE(t, a, b) KTEST_CMP(t, a, !=, b)
#define KTEST_EXPECT_LT(t, a, b) KTEST_CMP(t, a, <, b)
#define KTEST_EXPECT_LE(t, a, b) KTEST_CMP(t, a, <=, b)
#define KTEST_EXPECT_GT(t, a, b) KTEST_CMP(t, a, >, b)
#define KTEST_EXPECT_GE(t, a, b) KTEST_CMP(t, a, >=, b)
#define KTEST_EXPECT_TRUE(t, c) KTEST_CMP(t, !!(c), ==, 1)
#define KTEST_EXPECT_FALSE(t, c) KTEST_CMP(t, !!(c), ==, 0)

#define KTEST_ASSERT_EQ(t, a, b) do { if (!KTEST_CMP(t, a, ==, b)) return; } while (0)
#define KTEST_ASSERT_NE(t, a, b) do { if (!KTEST_CMP(t, a, !=, b)) return; } while (0)
#define KTEST_ASSERT_TRUE(t, c) do { if (!KTEST_CMP(t, !!(c), ==, 1)) return; } while (0)

/* Run the suites and cases selected by "test=" (all when list is "all";
 * items SUITE or SUITE.CASE). Returns the
 * number of failed cases. */
int ktest_run(const char *list);

/* --- boot-time hooks: test code run at a fixed point when asked for --- */
enum ktest_hook_point {
	/* The end of mm_init(): the page allocator and kmalloc work; one
	 * CPU, no interrupts, no scheduler (what a crash test of the
	 * allocator's debug checks needs: nothing else has run yet). */
	KTEST_HOOK_MM_INIT,
	/* The end of kmain(), after the suites and the user programs, before
	 * "poweroff": every CPU online, kernel threads available. */
	KTEST_HOOK_BOOT_END,
};

struct ktest_hook {
	const char *word;       /* the command-line word that asks for it */
	const char *name;       /* listed in the word's value; NULL: the word alone */
	enum ktest_hook_point point;
	void (*run)(void);
};

/* run() at point when the command line has "word" at all (run() reads the
 * word's value itself, e.g. "mm_crash_test=CASE"). */
#define KTEST_HOOK(hname, hpoint, hword, fn)                                   	static const struct ktest_hook ktest_hook_##hname                    		__section(".ktest_hooks") __used __aligned(8) = {            		.word = hword, .name = NULL, .point = hpoint, .run = fn }

/* A benchmark: run() at the end of the boot when "bench=" lists bname
 * ("bench=physmem,thp"). */
#define KTEST_BENCH(bname, fn)                                                 	static const struct ktest_hook ktest_bench_##bname                   		__section(".ktest_hooks") __used __aligned(8) = {            		.word = "bench", .name = #bname, .point = KTEST_HOOK_BOOT_END, .run = fn }

/* Run the hooks of point that the command line asks for, in link order
 * (the order of their files' paths). Without such words it does nothing. */
void ktest_run_hooks(enum ktest_hook_point point);

/* --- helpers to run test code on chosen CPUs (arch/x86_64/smp.c) --- */
/* Run fn(arg) on CPU cpu, in normal context with interrupts enabled, and
 * wait for it to return. Runs directly when cpu is this CPU. */
void ktest_on_cpu(u32 cpu, void (*fn)(void *arg), void *arg);
/* Start fn(arg) on every CPU in mask at once (a start barrier releases them
 * together; this CPU takes part if it is in mask) and wait for all. */
void ktest_on_cpus(const cpumask_t *mask, void (*fn)(void *arg), void *arg);
/* The same on two CPUs, a and b (different). */
void ktest_on_cpu_pair(u32 a, u32 b, void (*fn)(void *arg), void *arg);
/* The lowest online CPU other than cpu (NR_CPUS if there is none). */
u32 ktest_other_cpu(u32 cpu);

#endif
