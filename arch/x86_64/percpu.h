/* SPDX-License-Identifier: MIT */
/* arch/x86_64/percpu.h - the per-CPU area, reached through the GS base.
 *
 * Each CPU's GS base points at its own struct cpu, whose first field points
 * back at itself, so "mov %gs:0, reg" yields this CPU's struct without a
 * table lookup. The BSP sets its GS base first thing in kmain(); each AP sets
 * its own in ap_main() before touching anything else.
 *
 * Rule: a struct cpu field is written only by its own CPU unless the field's
 * comment says otherwise.
 */
#ifndef PAGODA_PERCPU_H
#define PAGODA_PERCPU_H

#include "kernel/types.h"
#include "kernel/cpumask.h"
#include "arch/x86_64/desc.h"

/* The bound of every per-CPU array: as many CPUs as a cpumask holds
 * (NR_CPUS, kernel/cpumask.h). A machine with more starts only the first
 * MAX_CPUS and says so at boot (docs/boot.md). */
#define MAX_CPUS NR_CPUS

struct cpu {
	struct cpu *self;       /* must stay first: this_cpu() reads %gs:0 */
	u64 syscall_rsp;        /* %gs:8: kernel stack top for SYSCALL entry (syscall.asm) */
	u64 user_rsp_scratch;   /* %gs:16: user RSP while syscall entry switches stacks */
	u32 id;                 /* logical CPU number, 0 = boot CPU */
	u32 apic_id;            /* local APIC ID from the MADT */
	u32 irq_depth;          /* >0 while handling an interrupt */
	u32 rcu_nesting;        /* open rcu_read_lock() sections (kernel/rcu.h) */
	u32 locks_held;         /* spinlocks held by this CPU (kernel/spinlock.c) */
	bool online;            /* written by the CPU itself, read by others */
	u64 ticks;              /* LAPIC timer interrupts seen on this CPU */
	struct tss tss;
	u64 gdt[GDT_ENTRIES];
	void *kstack_top;       /* the stack this CPU started on */
	void *ist_stack_top[IST_COUNT];
	void *call_queue;       /* arch/x86_64/smp_call.c: incoming function calls */
	u64 nmis;               /* NMIs this CPU has handled (kernel/panic.c) */
	u64 nmis_done;          /* ...and whose handler returned */
	u32 nmi_depth;          /* >0 in the NMI or machine-check handler (printk: kernel/console.h) */
};

_Static_assert(offsetof(struct cpu, syscall_rsp) == 8, "syscall.asm uses %gs:8");
_Static_assert(offsetof(struct cpu, user_rsp_scratch) == 16, "syscall.asm uses %gs:16");

extern struct cpu cpus[MAX_CPUS];

/* The CPUs whose per-CPU data may be in use: the boot CPU and every CPU
 * that bring-up prepared and sent a startup IPI, whether or not it came
 * online (arch/x86_64/smp.c sets the bit before the IPI; none is ever
 * cleared). Sums and drains of per-CPU counters and caches walk it. */
extern cpumask_t cpu_possible_mask;
/* The CPUs that came up (arch/x86_64/smp.h): everything that talks to a
 * CPU (an IPI, a wait for its answer) walks this one. */
extern cpumask_t cpu_online_mask;
#define for_each_possible_cpu(cpu) for_each_cpu((cpu), &cpu_possible_mask)
#define for_each_online_cpu(cpu) for_each_cpu((cpu), &cpu_online_mask)
extern u32 nr_cpus;          /* CPUs found in the MADT (and allowed by maxcpus=) */

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ __volatile__("mov %%gs:0, %0" : "=r"(c));
	return c;
}

static inline u32 smp_processor_id(void) { return this_cpu()->id; }
static inline bool in_interrupt(void) { return this_cpu()->irq_depth != 0; }
static inline bool in_nmi(void) { return this_cpu()->nmi_depth != 0; }

/* Point GS base at c; used once per CPU at bring-up. */
void percpu_init_this_cpu(struct cpu *c);

#endif
