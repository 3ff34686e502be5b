/* SPDX-License-Identifier: MIT */
/* tests/kernel/arch/test_tsc.c - every CPU's time-stamp counter is in step
 * with the boot CPU's (arch/x86_64/tsc_sync.h): the boot's own check found
 * no warp, and a second run of it, now, finds none either. The negative
 * control tsc_debug_skew makes CPU 1 read its counter a second behind in
 * the check (configuration neg-tsc-skew): both runs must then see it. */
#include "kernel/ktest.h"
#include "arch/x86_64/tsc_sync.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"

/* The test thread may run on any CPU: pair it with every other one (the
 * kernel is not preemptible, so it stays where it is between pairs). */
static void test_cpus_in_step(struct ktest *t)
{
	KTEST_EXPECT_TRUE(t, tsc_reliable);
	u32 cpu;
	for_each_online_cpu(cpu) {
		if (cpu == smp_processor_id())
			continue;
		struct tsc_warp w;
		tsc_check_pair(cpu, &w);
		KTEST_EXPECT_EQ(t, w.warps, 0);
	}
}

static const struct ktest_case tsc_cases[] = {
	{ "cpus_in_step", test_cpus_in_step },
};
KTEST_SUITE(tsc, tsc_cases);
