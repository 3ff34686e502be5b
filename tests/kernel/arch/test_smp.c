/* SPDX-License-Identifier: MIT */
/* tests/kernel/arch/test_smp.c - every CPU came up, IPIs reach every CPU, cross
 * calls with interrupts disabled do not deadlock, and the timer ticks
 * everywhere.
 *
 * "expect_cpus=N" on the command line makes cpus_online also check that
 * exactly N CPUs are online (the test matrix passes QEMU's -smp value), so a
 * CPU that silently failed to start is a failure, not a smaller machine.
 */
#include "kernel/ktest.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"

static const cpumask_t *all_online(void)
{
	return &cpu_online_mask;
}

/* Each CPU writes what its own APIC says, from ktest_on_cpus. */
static u32 seen_apic_id[MAX_CPUS];
static u32 seen_ran[MAX_CPUS];
static u32 seen_irqs_off[MAX_CPUS];
static u32 seen_in_irq[MAX_CPUS];

static void record_self(void *arg)
{
	(void)arg;
	u32 me = smp_processor_id();
	seen_apic_id[me] = lapic_id();
	seen_irqs_off[me] = irqs_disabled();
	seen_in_irq[me] = in_interrupt();
	__atomic_add_fetch(&seen_ran[me], 1, __ATOMIC_SEQ_CST);
}

static u32 nr_cpu_highest(void)
{
	u32 c, last = 0;
	for_each_cpu(c, all_online())
		last = c;
	return last;
}

static void test_cpus_online(struct ktest *t)
{
	long expect = cmdline_long("expect_cpus", -1);
	ktest_log(t, "%u CPU(s) online, the highest CPU %u, %s", nr_cpus,
		  nr_cpu_highest(), lapic_x2apic_mode() ? "x2APIC" : "xAPIC");
	if (expect >= 0)
		KTEST_EXPECT_EQ(t, nr_cpus, (u64)expect);
	KTEST_EXPECT_EQ(t, cpumask_weight(all_online()), nr_cpus);
	/* CPUs are numbered densely in the order they came up. */
	cpumask_t dense;
	cpumask_set_first_n(&dense, nr_cpus);
	KTEST_EXPECT_TRUE(t, cpumask_equal(all_online(), &dense));

	for (u32 i = 0; i < MAX_CPUS; i++) {
		seen_ran[i] = 0;
		seen_apic_id[i] = 0xFFFFFFFF;
	}
	ktest_on_cpus(all_online(), record_self, NULL);
	for (u32 i = 0; i < nr_cpus; i++) {
		KTEST_EXPECT_EQ(t, cpus[i].id, i);
		KTEST_EXPECT_TRUE(t, cpus[i].online);
		KTEST_EXPECT_EQ(t, seen_ran[i], 1);
		/* The APIC ID the CPU reads from its own APIC is the one the
		 * MADT gave for it, and no two CPUs share one. */
		KTEST_EXPECT_EQ(t, seen_apic_id[i], cpus[i].apic_id);
		for (u32 j = 0; j < i; j++)
			KTEST_EXPECT_NE(t, cpus[i].apic_id, cpus[j].apic_id);
	}
}

static void test_ktest_on_cpus_context(struct ktest *t)
{
	for (u32 i = 0; i < MAX_CPUS; i++) {
		seen_ran[i] = 0;
		seen_irqs_off[i] = 1;
		seen_in_irq[i] = 1;
	}
	ktest_on_cpus(all_online(), record_self, NULL);
	for (u32 i = 0; i < nr_cpus; i++) {
		/* Normal context with interrupts enabled, as ktest.h says. */
		KTEST_EXPECT_EQ(t, seen_ran[i], 1);
		KTEST_EXPECT_EQ(t, seen_irqs_off[i], 0);
		KTEST_EXPECT_EQ(t, seen_in_irq[i], 0);
	}
	/* One CPU only: nobody else runs. */
	if (nr_cpus < 2) {
		ktest_skip(t, "needs 2 CPUs for the single-CPU half");
		return;
	}
	u32 last = nr_cpus - 1;
	for (u32 i = 0; i < MAX_CPUS; i++)
		seen_ran[i] = 0;
	ktest_on_cpu(last, record_self, NULL);
	for (u32 i = 0; i < nr_cpus; i++)
		KTEST_EXPECT_EQ(t, seen_ran[i], i == last ? 1 : 0);
}

/* --- IPI round trip --- */

static u32 calls_on[MAX_CPUS];
static u32 calls_irqs_off[MAX_CPUS];

static void count_call(void *arg)
{
	(void)arg;
	u32 me = smp_processor_id();
	if (irqs_disabled())
		__atomic_add_fetch(&calls_irqs_off[me], 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&calls_on[me], 1, __ATOMIC_SEQ_CST);
}

static void test_ipi_round_trip(struct ktest *t)
{
	u32 me = smp_processor_id();
	for (u32 i = 0; i < MAX_CPUS; i++)
		calls_on[i] = calls_irqs_off[i] = 0;

	/* One waited-for call to each CPU in turn (to ourselves: direct). */
	for (u32 cpu = 0; cpu < nr_cpus; cpu++)
		smp_call_function_single(cpu, count_call, NULL, true);
	for (u32 cpu = 0; cpu < nr_cpus; cpu++)
		KTEST_EXPECT_EQ(t, calls_on[cpu], 1);

	/* One broadcast: everybody but the caller, exactly once more. */
	smp_call_function_many(all_online(), count_call, NULL, true);
	for (u32 cpu = 0; cpu < nr_cpus; cpu++)
		KTEST_EXPECT_EQ(t, calls_on[cpu], cpu == me ? 1 : 2);

	/* Fire-and-forget: it still arrives (bounded wait). */
	for (u32 cpu = 0; cpu < nr_cpus; cpu++)
		if (cpu != me)
			smp_call_function_single(cpu, count_call, NULL, false);
	u64 start = rdtsc();
	for (u32 cpu = 0; cpu < nr_cpus; cpu++) {
		if (cpu == me)
			continue;
		while (READ_ONCE(calls_on[cpu]) < 3 && rdtsc() - start < tsc_khz * 10000)
			cpu_relax();
		KTEST_EXPECT_EQ(t, calls_on[cpu], 3);
	}
	/* The called function always runs with interrupts disabled. */
	for (u32 cpu = 0; cpu < nr_cpus; cpu++)
		KTEST_EXPECT_EQ(t, calls_irqs_off[cpu], calls_on[cpu]);
}

/* --- two (or more) CPUs calling each other with interrupts disabled --- */

#define CROSS_CALLS 2000
static u32 cross_received[MAX_CPUS];

static void cross_inc(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&cross_received[smp_processor_id()], 1, __ATOMIC_SEQ_CST);
}

/* Every participant calls its neighbour, waiting each time, with interrupts
 * off. Without servicing its own queue while waiting, the first round would
 * deadlock: each waits for an IPI the other cannot take. */
static void cross_call_body(void *arg)
{
	u32 n = *(u32 *)arg;
	u32 me = smp_processor_id();
	u32 target = (me + 1) % n;
	u64 flags = local_irq_save();
	for (u32 i = 0; i < CROSS_CALLS; i++)
		smp_call_function_single(target, cross_inc, NULL, true);
	local_irq_restore(flags);
}

static void test_cross_call_irqs_disabled(struct ktest *t)
{
	if (nr_cpus < 2) {
		ktest_skip(t, "needs 2 CPUs");
		return;
	}
	/* First exactly two CPUs (0 <-> 1), then all in a ring. */
	u32 n = 2;
	for (u32 i = 0; i < MAX_CPUS; i++)
		cross_received[i] = 0;
	ktest_on_cpu_pair(0, 1, cross_call_body, &n);
	KTEST_EXPECT_EQ(t, cross_received[0], CROSS_CALLS);
	KTEST_EXPECT_EQ(t, cross_received[1], CROSS_CALLS);

	n = nr_cpus;
	for (u32 i = 0; i < MAX_CPUS; i++)
		cross_received[i] = 0;
	ktest_on_cpus(all_online(), cross_call_body, &n);
	for (u32 i = 0; i < nr_cpus; i++)
		KTEST_EXPECT_EQ(t, cross_received[i], CROSS_CALLS);
}

/* Everybody broadcasts to everybody at once, interrupts off. */
#define BROADCASTS 50
static void broadcast_body(void *arg)
{
	(void)arg;
	u64 flags = local_irq_save();
	for (u32 i = 0; i < BROADCASTS; i++)
		smp_call_function_many(all_online(), cross_inc, NULL, true);
	local_irq_restore(flags);
}

static void test_all_to_all_broadcast(struct ktest *t)
{
	if (nr_cpus < 2) {
		ktest_skip(t, "needs 2 CPUs");
		return;
	}
	for (u32 i = 0; i < MAX_CPUS; i++)
		cross_received[i] = 0;
	ktest_on_cpus(all_online(), broadcast_body, NULL);
	for (u32 i = 0; i < nr_cpus; i++)
		KTEST_EXPECT_EQ(t, cross_received[i], (u64)BROADCASTS * (nr_cpus - 1));
}

/* --- timer --- */

static void test_timer_ticks_everywhere(struct ktest *t)
{
	u64 before[MAX_CPUS];
	for (u32 i = 0; i < nr_cpus; i++)
		before[i] = READ_ONCE(cpus[i].ticks);
	/* Not a timing test: only that every CPU's timer fires at all. Wait
	 * until each has ticked twice, giving up after 10 s of TSC time. */
	u64 start = rdtsc();
	for (u32 i = 0; i < nr_cpus; i++)
		while (READ_ONCE(cpus[i].ticks) < before[i] + 2 &&
		       rdtsc() - start < tsc_khz * 10000)
			cpu_relax();
	for (u32 i = 0; i < nr_cpus; i++)
		KTEST_EXPECT_GE(t, READ_ONCE(cpus[i].ticks), before[i] + 2);
	KTEST_EXPECT_GT(t, tsc_khz, 0);
	KTEST_EXPECT_GT(t, lapic_timer_khz, 0);
}

/* --- self IPI --- */

#define VEC_TEST_SELF 0xE0      /* unused by the kernel; only this test */
static u32 self_ipi_seen;

static void self_ipi_handler(struct trap_frame *tf)
{
	(void)tf;
	__atomic_add_fetch(&self_ipi_seen, 1, __ATOMIC_SEQ_CST);
}

static void test_self_ipi(struct ktest *t)
{
	irq_register(VEC_TEST_SELF, self_ipi_handler);
	self_ipi_seen = 0;
	u64 flags = local_irq_save();
	lapic_send_self_ipi(VEC_TEST_SELF);
	/* Held pending in the IRR while interrupts are off... */
	KTEST_EXPECT_EQ(t, READ_ONCE(self_ipi_seen), 0);
	local_irq_enable();
	/* ...and delivered once they are on (bounded wait). */
	u64 start = rdtsc();
	while (!READ_ONCE(self_ipi_seen) && rdtsc() - start < tsc_khz * 1000)
		cpu_relax();
	if (!(flags & RFLAGS_IF))
		local_irq_disable();
	KTEST_EXPECT_EQ(t, self_ipi_seen, 1);
	irq_register(VEC_TEST_SELF, NULL);
}

/* Every CPU bring-up tried came online: the boot did not spend its time
 * budget on CPUs that are not there (disabled MADT entries, hot-plug
 * slots). smp_debug_start_disabled breaks that rule on purpose. */
static void test_every_started_cpu_answered(struct ktest *t)
{
	KTEST_EXPECT_EQ(t, smp_cpus_not_answering, 0);
}

static const struct ktest_case smp_cases[] = {
	{ "cpus_online", test_cpus_online },
	{ "every_started_cpu_answered", test_every_started_cpu_answered },
	{ "ktest_on_cpus_context", test_ktest_on_cpus_context },
	{ "ipi_round_trip", test_ipi_round_trip },
	{ "cross_call_irqs_disabled", test_cross_call_irqs_disabled },
	{ "all_to_all_broadcast", test_all_to_all_broadcast },
	{ "timer_ticks_everywhere", test_timer_ticks_everywhere },
	{ "self_ipi", test_self_ipi },
};
KTEST_SUITE(smp, smp_cases);
