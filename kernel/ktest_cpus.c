/* SPDX-License-Identifier: MIT */
/* kernel/ktest_cpus.c - running test code on chosen CPUs (kernel/ktest.h).
 *
 * Each participating CPU gets a kernel thread pinned to it; the threads meet
 * at a start barrier so that they begin together (what a race test needs),
 * and the caller joins them all. The code runs in ordinary thread context
 * with interrupts enabled, like any kernel thread.
 */
#include "kernel/ktest.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

struct ktest_job {
	void (*fn)(void *);
	void *arg;
	u32 expected;           /* participants */
	u32 arrived;            /* participants at the start barrier */
};

static void job_thread(void *p)
{
	struct ktest_job *job = p;
	__atomic_add_fetch(&job->arrived, 1, __ATOMIC_SEQ_CST);
	/* Every participant is on its own CPU, so spinning here only waits
	 * for the others to be scheduled, never for ourselves. */
	while (__atomic_load_n(&job->arrived, __ATOMIC_SEQ_CST) < job->expected)
		cpu_relax();
	job->fn(job->arg);
}

void ktest_on_cpus(cpumask_t mask, void (*fn)(void *arg), void *arg)
{
	cpumask_t online = READ_ONCE(cpu_online_mask);
	if (mask & ~online)
		printk(KERN_WARNING "ktest_on_cpus: CPUs 0x%lx are not online; skipping them\n",
		       mask & ~online);
	mask &= online;
	struct ktest_job job = { .fn = fn, .arg = arg, .expected = cpumask_weight(mask) };
	struct thread *th[MAX_CPUS];
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		th[cpu] = NULL;
		if (!cpumask_test(mask, cpu))
			continue;
		th[cpu] = kthread_create("ktest", job_thread, &job, 1UL << cpu);
		if (!th[cpu])
			panic("ktest_on_cpus: no free thread slot for CPU %u", cpu);
	}
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
		if (th[cpu])
			thread_join(th[cpu]);
}

void ktest_on_cpu(u32 cpu, void (*fn)(void *arg), void *arg)
{
	if (cpu >= MAX_CPUS || !cpumask_test(READ_ONCE(cpu_online_mask), cpu)) {
		printk(KERN_WARNING "ktest_on_cpu: CPU %u is not online\n", cpu);
		return;
	}
	ktest_on_cpus(1UL << cpu, fn, arg);
}
