/* SPDX-License-Identifier: MIT */
/* arch/x86_64/smp.h - bringing up the other CPUs and calling functions on them.
 *
 * smp_call_function_*: run fn(arg) on other CPUs from an IPI (VEC_CALL_FUNCTION)
 * and optionally wait. Each CPU has a fixed-size queue of incoming requests
 * (16 entries, spinlock-protected, taken with interrupts off). Safe with
 * interrupts disabled on the sender: while it waits (for completion, or for
 * room in a full queue) it keeps running the calls other CPUs queued for it,
 * so two CPUs calling each other at once cannot deadlock. TLB shootdown is
 * built on this.
 *
 * Rules for fn: it runs with interrupts disabled (in the IPI handler, or in a
 * waiting sender's loop), must not sleep, and must not take a lock that the
 * sender may hold while it waits. Without wait, arg must outlive the call.
 * Requests to offline CPUs are dropped with a warning.
 *
 * Bring-up is single-threaded on the boot CPU (smp_init, before interrupts
 * are enabled); docs/boot.md explains the trampoline.
 */
#ifndef PAGODA_SMP_H
#define PAGODA_SMP_H

#include "kernel/types.h"
#include "arch/x86_64/percpu.h"

/* The CPUs that have come up (each AP sets its own bit, atomically, once;
 * no CPU goes offline). Read it with the cpumask functions. */
extern cpumask_t cpu_online_mask;
static inline u32 num_online_cpus(void) { return cpumask_weight(&cpu_online_mask); }

/* The page-table root every AP loads in ap_main() (CR3 value). smp_init()
 * sets it to the boot CPU's CR3 unless mm/ has already published its own. */
extern u64 kernel_cr3;

/* Physical page the AP trampoline was copied to (0 if none); only needed
 * during smp_init(), free for reuse afterwards. */
extern phys_addr_t smp_trampoline_phys;

/* Each AP's kernel stack: AP_STACK_SIZE bytes mapped when the AP is
 * started, above a guard page that is never mapped (mm/kstack.h). */
#define AP_STACK_SIZE 16384
/* The guard page below CPU cpu's stack (NULL for CPU 0, which runs on the
 * boot stack from boot/entry.asm). */
void *ap_stack_guard(u32 cpu);

/* Start every enabled AP listed in the MADT (respecting nosmp and
 * maxcpus=N), each within a timeout and all within one time budget; a CPU
 * that does not answer is reported and skipped. */
void smp_init(void);
/* How many CPUs smp_init() tried that never answered (for the tests). */
extern u32 smp_cpus_not_answering;

void smp_call_function_single(u32 cpu, void (*fn)(void *), void *arg, bool wait);
/* Every CPU in mask except the caller (mask is read once, at the call). */
void smp_call_function_many(const cpumask_t *mask, void (*fn)(void *), void *arg, bool wait);
/* NMI every other online CPU (panic). */
void smp_stop_other_cpus(void);

/* Run the calls queued for this CPU now (any context; interrupts are
 * disabled while they run). For loops that wait on other CPUs. */
void smp_call_poll(void);
/* Set up the call queues and the IPI handler (smp_init, before any AP). */
void smp_call_init(void);

#endif
