/* arch/x86_64/smp.c - placeholder until SMP bring-up lands: one CPU. */
#include "arch/x86_64/smp.h"
#include "kernel/ktest.h"

cpumask_t cpu_online_mask = 1;

void smp_init(void) {}
void smp_call_function_single(u32 cpu, void (*fn)(void *), void *arg, bool wait)
{
	(void)cpu; (void)wait;
	fn(arg);
}
void smp_call_function_many(cpumask_t mask, void (*fn)(void *), void *arg, bool wait)
{
	(void)mask; (void)fn; (void)arg; (void)wait;
}
void smp_stop_other_cpus(void) {}
void ktest_on_cpu(u32 cpu, void (*fn)(void *arg), void *arg) { (void)cpu; fn(arg); }
void ktest_on_cpus(cpumask_t mask, void (*fn)(void *arg), void *arg) { if (mask & 1) fn(arg); }
