/* SPDX-License-Identifier: MIT */
/* arch/x86_64/smp_call.c - running a function on other CPUs through IPIs.
 *
 * Each CPU has a fixed-size queue of incoming requests protected by a
 * spinlock. A sender queues a request on each target and sends it an IPI at VEC_CALL_FUNCTION; the target's handler runs
 * every queued request and, for a waited-for call, decrements the sender's
 * pending count. While the sender waits (for completion, or for room in a
 * full queue) it runs the requests queued for itself, with interrupts
 * disabled. That is what makes the helper usable with interrupts disabled:
 * if CPU A and CPU B call each other at the same moment, each of them, while
 * waiting, handles the other's request, so both finish. TLB shootdown is
 * built on this: a CPU changing a page table, possibly with interrupts off,
 * asks the others to flush and waits.
 *
 * Locking: a queue's lock is taken by its own CPU in the IPI handler and by
 * senders, always with interrupts disabled (the spinlock debug checks insist,
 * since the handler takes it too). No code holds two queue locks at once.
 */
#include "arch/x86_64/smp.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"
#include "mm/tlbflush.h"          /* tlb_flush_poll */

#define CALL_QUEUE_LEN 16

struct call_request {
	void (*fn)(void *);
	void *arg;
	u32 *pending;           /* sender's counter, or NULL when not waiting */
};

struct call_queue {
	spinlock_t lock;
	u32 head, count;
	struct call_request req[CALL_QUEUE_LEN];
	u64 handled;            /* requests run on this CPU (statistics) */
};

static struct call_queue call_queues[MAX_CPUS];

/* Run every request queued for this CPU. Interrupts must be disabled: the
 * functions run with them off, and the lock is also taken by the IPI
 * handler. */
static void call_queue_run(void)
{
	struct call_queue *q = this_cpu()->call_queue;
	for (;;) {
		spin_lock(&q->lock);
		if (q->count == 0) {
			spin_unlock(&q->lock);
			return;
		}
		struct call_request r = q->req[q->head];
		q->head = (q->head + 1) % CALL_QUEUE_LEN;
		q->count--;
		q->handled++;
		spin_unlock(&q->lock);
		r.fn(r.arg);
		if (r.pending)
			__atomic_sub_fetch(r.pending, 1, __ATOMIC_SEQ_CST);
	}
}

/* Called while waiting on another CPU, with or without interrupts enabled:
 * run what others asked of us - function calls and TLB flushes alike - so no
 * cycle of waiting CPUs can form (one waiting for a call, the other for a
 * flush ack, both with interrupts off). */
void smp_call_poll(void)
{
	u64 flags = local_irq_save();
	call_queue_run();
	tlb_flush_poll();
	local_irq_restore(flags);
}

static void call_function_interrupt(struct trap_frame *tf)
{
	(void)tf;
	call_queue_run();
}

static void call_queue_push(u32 cpu, const struct call_request *r)
{
	struct call_queue *q = cpus[cpu].call_queue;
	for (;;) {
		u64 flags = spin_lock_irqsave(&q->lock);
		if (q->count < CALL_QUEUE_LEN) {
			q->req[(q->head + q->count) % CALL_QUEUE_LEN] = *r;
			q->count++;
			spin_unlock_irqrestore(&q->lock, flags);
			return;
		}
		spin_unlock_irqrestore(&q->lock, flags);
		/* Full: the target is busy, perhaps waiting on us. */
		smp_call_poll();
		cpu_relax();
	}
}

/* A call normally completes in microseconds. After 10 s we say so; after
 * CALL_TIMEOUT_MS something is wrong for certain (a CPU stuck with interrupts
 * off, or a lost IPI), and a panic naming it beats a silent hang. We cannot
 * simply give up: the request may point into our stack. */
#define CALL_WARN_MS 10000
#define CALL_TIMEOUT_MS 60000

static void wait_for_calls(u32 *pending)
{
	u64 start = rdtsc();
	bool warned = false;
	while (__atomic_load_n(pending, __ATOMIC_SEQ_CST) != 0) {
		smp_call_poll();
		cpu_relax();
		u64 waited = rdtsc() - start;
		if (!warned && waited > tsc_khz * CALL_WARN_MS) {
			printk(KERN_WARNING "smp_call_function: CPU %u still waiting for %u CPU(s) after %u s\n",
			       smp_processor_id(), *pending, CALL_WARN_MS / 1000);
			warned = true;
		}
		if (waited > tsc_khz * CALL_TIMEOUT_MS)
			panic("smp_call_function: %u CPU(s) did not run the call in %u s",
			      *pending, CALL_TIMEOUT_MS / 1000);
	}
}

void smp_call_function_single(u32 cpu, void (*fn)(void *), void *arg, bool wait)
{
	if (cpu == smp_processor_id()) {
		u64 flags = local_irq_save();
		fn(arg);
		local_irq_restore(flags);
		return;
	}
	if (cpu >= MAX_CPUS || !cpumask_test_cpu(cpu, &cpu_online_mask)) {
		printk(KERN_WARNING "smp_call_function_single: CPU %u is not online\n", cpu);
		return;
	}
	u32 pending = 1;
	struct call_request r = { .fn = fn, .arg = arg, .pending = wait ? &pending : NULL };
	call_queue_push(cpu, &r);
	lapic_send_ipi(cpus[cpu].apic_id, VEC_CALL_FUNCTION);
	if (wait)
		wait_for_calls(&pending);
}

void smp_call_function_many(const cpumask_t *mask, void (*fn)(void *), void *arg, bool wait)
{
	cpumask_t targets;      /* a snapshot: the caller's mask may change */
	if (!cpumask_and(&targets, mask, &cpu_online_mask))
		return;
	__cpumask_clear_cpu(smp_processor_id(), &targets);
	if (cpumask_empty(&targets))
		return;
	u32 pending = cpumask_weight(&targets);
	struct call_request r = { .fn = fn, .arg = arg, .pending = wait ? &pending : NULL };
	u32 cpu;
	for_each_cpu(cpu, &targets)
		call_queue_push(cpu, &r);
	for_each_cpu(cpu, &targets)
		lapic_send_ipi(cpus[cpu].apic_id, VEC_CALL_FUNCTION);
	if (wait)
		wait_for_calls(&pending);
}

/* One NMI per online CPU rather than the "all but self" shorthand: the
 * shorthand also reaches CPUs we never started (maxcpus=, nosmp), which may
 * still sit in firmware's parking code on UEFI machines; an NMI there could
 * reset the machine before the panic message is out. */
void smp_stop_other_cpus(void)
{
	u32 me = smp_processor_id(), cpu;
	for_each_cpu(cpu, &cpu_online_mask)
		if (cpu != me)
			lapic_send_nmi(cpus[cpu].apic_id);
}

void smp_call_init(void)
{
	for (u32 i = 0; i < MAX_CPUS; i++) {
		spin_init(&call_queues[i].lock, "call_queue");
		cpus[i].call_queue = &call_queues[i];
	}
	irq_register(VEC_CALL_FUNCTION, call_function_interrupt);
}
