/* arch/x86_64/smp.h - bringing up the other CPUs and calling functions on them.
 *
 * smp_call_function_*: run fn(arg) on other CPUs from an IPI (VEC_CALL_FUNCTION)
 * and optionally wait. Safe with interrupts disabled on the sender: while it
 * waits, it keeps running calls other CPUs queued for it, so two CPUs calling
 * each other at once cannot deadlock. fn runs with interrupts disabled and
 * must not sleep or wait for the sender.
 */
#ifndef PAGODA_SMP_H
#define PAGODA_SMP_H

#include "kernel/types.h"
#include "arch/x86_64/percpu.h"

extern cpumask_t cpu_online_mask;

/* Start every AP listed in the MADT (respecting nosmp and maxcpus=N). */
void smp_init(void);

void smp_call_function_single(u32 cpu, void (*fn)(void *), void *arg, bool wait);
/* Every CPU in mask except the caller. */
void smp_call_function_many(cpumask_t mask, void (*fn)(void *), void *arg, bool wait);
/* NMI every other online CPU (panic). */
void smp_stop_other_cpus(void);

#endif
