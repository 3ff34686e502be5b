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

void ktest_on_cpus(const cpumask_t *mask, void (*fn)(void *arg), void *arg)
{
	cpumask_t run, offline;
	if (cpumask_andnot(&offline, mask, &cpu_online_mask))
		printk(KERN_WARNING "ktest_on_cpus: %u CPU(s) (the first CPU %u) are not online; "
		       "skipping them\n", cpumask_weight(&offline), cpumask_first(&offline));
	cpumask_and(&run, mask, &cpu_online_mask);
	struct ktest_job job = { .fn = fn, .arg = arg, .expected = cpumask_weight(&run) };
	static struct thread *th[MAX_CPUS];     /* too big for a kernel stack; one caller at a time */
	u32 cpu;
	for_each_cpu(cpu, &run) {
		th[cpu] = kthread_create("ktest", job_thread, &job, cpumask_of(cpu));
		if (!th[cpu])
			panic("ktest_on_cpus: no free thread slot for CPU %u", cpu);
	}
	for_each_cpu(cpu, &run)
		thread_join(th[cpu]);
}

void ktest_on_cpu(u32 cpu, void (*fn)(void *arg), void *arg)
{
	if (cpu >= MAX_CPUS || !cpumask_test_cpu(cpu, &cpu_online_mask)) {
		printk(KERN_WARNING "ktest_on_cpu: CPU %u is not online\n", cpu);
		return;
	}
	ktest_on_cpus(cpumask_of(cpu), fn, arg);
}

void ktest_on_cpu_pair(u32 a, u32 b, void (*fn)(void *arg), void *arg)
{
	cpumask_t pair = cpumask_of_cpu(a);
	__cpumask_set_cpu(b, &pair);
	ktest_on_cpus(&pair, fn, arg);
}

u32 ktest_other_cpu(u32 cpu)
{
	u32 c;
	for_each_cpu(c, &cpu_online_mask)
		if (c != cpu)
			return c;
	return NR_CPUS;
}
