/* SPDX-License-Identifier: MIT */
/* arch/x86_64/percpu.c - the per-CPU areas. */
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/cpu.h"

struct cpu cpus[MAX_CPUS];
u32 nr_cpus = 1;

void percpu_init_this_cpu(struct cpu *c)
{
	c->self = c;
	wrmsr(MSR_GS_BASE, (u64)c);
	/* Kept equal until user mode exists; SWAPGS then exchanges them. */
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}
