/* SPDX-License-Identifier: MIT */
/* mm/host_env.h - what mm/pcp.c and mm/slab.c need from the CPU, for the host
 * unit tests (-DHOST_TEST): a handful of "CPUs" chosen by the test program,
 * and interrupt masking that does nothing (a test program has one thread). */
#ifndef PAGODA_MM_HOST_ENV_H
#define PAGODA_MM_HOST_ENV_H

#include "kernel/types.h"

#define MAX_CPUS 4
/* Every host "CPU" may be used. */
#define for_each_possible_cpu(cpu) for ((cpu) = 0; (cpu) < MAX_CPUS; (cpu)++)
extern u32 host_cpu;            /* the test program's "current CPU" */
static inline u32 smp_processor_id(void) { return host_cpu; }
static inline u64 local_irq_save(void) { return 0; }
static inline void local_irq_restore(u64 f) { (void)f; }

#endif
