/* SPDX-License-Identifier: MIT */
/* kernel/rcu.c - grace periods, quiescent states and callbacks.
 * The rules are in kernel/rcu.h; docs/rcu.md has the timeline. */
#include "kernel/rcu.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"
#include "kernel/trace.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"

bool rcu_debug_no_grace_period;
bool rcu_debug_switch_only;

/* Per-CPU callback lists. "next": queued, not yet assigned to a grace
 * period. "wait": waiting for the grace period in progress. The grace-period
 * thread moves next -> wait when it starts one, and runs "wait" when it ends;
 * so "wait" is empty whenever no grace period is in progress. */
struct rcu_cpu {
	spinlock_t lock;
	struct rcu_head *next_head, **next_tail;
	struct rcu_head *wait_head, **wait_tail;
	u64 queued;             /* callbacks ever queued here (rcu_barrier) */
	u64 invoked;            /* ... and ever run */
};
static struct rcu_cpu rcu_cpus[MAX_CPUS];

static spinlock_t rcu_gp_lock = SPINLOCK_INIT("rcu_gp");
static u64 gp_seq;              /* grace periods started */
static u64 gp_completed;        /* grace periods ended */
/* CPUs yet to pass a quiescent state in gp_seq: filled and cleared under
 * rcu_gp_lock, read locklessly (a word at a time). During a grace period
 * bits are only cleared, so once every word has been seen empty, in any
 * order, the mask is empty. */
static cpumask_t qs_pending;
static struct waitq gp_wq;      /* the grace-period thread sleeps here */
static struct waitq done_wq;    /* synchronize_rcu() and rcu_barrier() sleep here */
static bool gp_thread_running;
static struct rcu_stats stats;

/* ---- quiescent states ---- */

/* This CPU is not inside any read-side section right now. */
static void rcu_report_qs(void)
{
	u32 me = smp_processor_id();
	if (!cpumask_test_cpu(me, &qs_pending))
		return;         /* fast path: nothing asked of this CPU */
	u64 f = spin_lock_irqsave(&rcu_gp_lock);
	cpumask_clear_cpu(me, &qs_pending);
	bool last = cpumask_empty(&qs_pending);
	spin_unlock_irqrestore(&rcu_gp_lock, f);
	if (last)
		wake_up_all(&gp_wq);
}

void rcu_note_context_switch(void)
{
	/* Called after the switch, with no run-queue lock held (a wake-up
	 * from here must be able to take one). Neither the thread that left
	 * nor the one that arrived can be in a read-side section: readers
	 * may not sleep. */
	rcu_report_qs();
}

void rcu_note_quiescent(void)
{
	u64 f = local_irq_save();       /* stay on this CPU while reporting */
	rcu_report_qs();
	local_irq_restore(f);
}

void rcu_tick(void)
{
	/* The tick interrupted code with no read-side section open. (Code
	 * with interrupts disabled is never interrupted, which is why
	 * disabling interrupts also holds off grace periods.) */
	if (rcu_debug_switch_only)
		return;         /* the negative control: only context switches count */
	/* LAB(rcu) BEGIN: a tick is a quiescent state only if it interrupted no read-side section (this_cpu()->rcu_nesting) */
	if (this_cpu()->rcu_nesting == 0)
		rcu_report_qs();
	/* LAB(rcu) END */
}

/* LAB(rcu) BEGIN: an IPI handler for smp_call_function_many() that asks this CPU for a quiescent state now */
static void rcu_qs_ipi(void *arg)
{
	(void)arg;
	rcu_tick();     /* same rule as the tick, just sooner */
}
/* LAB(rcu) END */

/* ---- callbacks ---- */

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	head->func = func;
	head->next = NULL;
	if (rcu_debug_no_grace_period || !gp_thread_running) {
		/* Negative control (or early boot, one CPU, no readers yet). */
		func(head);
		return;
	}
	u64 f = local_irq_save();
	struct rcu_cpu *rc = &rcu_cpus[smp_processor_id()];
	spin_lock(&rc->lock);
	*rc->next_tail = head;
	rc->next_tail = &head->next;
	rc->queued++;
	spin_unlock(&rc->lock);
	local_irq_restore(f);
	__atomic_add_fetch(&stats.callbacks_queued, 1, __ATOMIC_RELAXED);
	wake_up_all(&gp_wq);
}

static bool callbacks_waiting(void)
{
	u32 c;
	for_each_possible_cpu(c)
		if (READ_ONCE(rcu_cpus[c].next_head))
			return true;
	return false;
}

static void run_callbacks(struct rcu_head *h)
{
	while (h) {
		struct rcu_head *next = h->next;
		h->func(h);
		h = next;
	}
}

/* ---- the grace-period thread ---- */

/* The simple correct wait for a grace period: visit every pending CPU in
 * turn. Arriving there is a context switch on that CPU, and the thread then
 * runs outside any reader: a quiescent state either way. When the tour ends
 * every CPU has passed one. It needs no tick and no IPI, but each grace
 * period migrates this thread once per CPU, and a CPU busy in a long kernel
 * loop holds it off until the loop yields. "rcu_debug_switch_only" uses it,
 * and so does the rcu lab's starter. */
static void wait_for_qs_by_visiting(void)
{
	cpumask_t allowed, visit;
	cpumask_copy(&allowed, &current_thread()->allowed);
	cpumask_copy(&visit, &qs_pending);
	u32 cpu;
	for_each_cpu(cpu, &visit) {
		if (!cpumask_test_cpu(cpu, &qs_pending))
			continue;       /* it switched meanwhile */
		thread_set_affinity(cpumask_of(cpu));
		rcu_note_quiescent();   /* on cpu now, outside any reader */
	}
	thread_set_affinity(&allowed);
}

static void wait_for_qs_pending(void)
{
	u64 f = spin_lock_irqsave(&gp_wq.lock);
	while (!cpumask_empty(&qs_pending))
		sleep_on(&gp_wq);
	spin_unlock_irqrestore(&gp_wq.lock, f);
}

static void start_grace_period(void)
{
	u32 c;
	for_each_possible_cpu(c) {
		struct rcu_cpu *rc = &rcu_cpus[c];
		u64 f = spin_lock_irqsave(&rc->lock);
		if (rc->next_head) {
			*rc->wait_tail = rc->next_head;
			rc->wait_tail = rc->next_tail;
			rc->next_head = NULL;
			rc->next_tail = &rc->next_head;
		}
		spin_unlock_irqrestore(&rc->lock, f);
	}
	/* The callbacks above were queued after their objects were unlinked,
	 * so readers that start from now on cannot find those objects; only
	 * readers already running can, and every CPU must now show that it
	 * has none left. The lock's atomic operation is a full barrier. */
	u64 f = spin_lock_irqsave(&rcu_gp_lock);
	gp_seq++;
	u64 seq = gp_seq;
	cpumask_copy(&qs_pending, &cpu_online_mask);
	spin_unlock_irqrestore(&rcu_gp_lock, f);
	trace_event(TR_GP_START, seq, 0);
	stats.gp_started++;
}

static void finish_grace_period(void)
{
	u64 f = spin_lock_irqsave(&rcu_gp_lock);
	gp_completed = gp_seq;
	u64 seq = gp_completed;
	spin_unlock_irqrestore(&rcu_gp_lock, f);
	trace_event(TR_GP_END, seq, 0);
	stats.gp_completed++;
	u32 c;
	for_each_possible_cpu(c) {
		struct rcu_cpu *rc = &rcu_cpus[c];
		f = spin_lock_irqsave(&rc->lock);
		struct rcu_head *list = rc->wait_head;
		rc->wait_head = NULL;
		rc->wait_tail = &rc->wait_head;
		spin_unlock_irqrestore(&rc->lock, f);
		u64 n = 0;
		for (struct rcu_head *h = list; h; h = h->next)
			n++;
		run_callbacks(list);
		f = spin_lock_irqsave(&rc->lock);
		rc->invoked += n;
		spin_unlock_irqrestore(&rc->lock, f);
		__atomic_add_fetch(&stats.callbacks_invoked, n, __ATOMIC_RELAXED);
	}
	wake_up_all(&done_wq);
}

static void gp_thread(void *arg)
{
	(void)arg;
	for (;;) {
		u64 f = spin_lock_irqsave(&gp_wq.lock);
		while (!callbacks_waiting())
			sleep_on(&gp_wq);
		spin_unlock_irqrestore(&gp_wq.lock, f);

		start_grace_period();
		if (rcu_debug_switch_only) {
			wait_for_qs_by_visiting();      /* the negative control */
		} else {
			/* LAB(rcu) BEGIN: report this CPU's quiescent state, ask the others by IPI (rcu_qs_ipi) */
			f = local_irq_save();   /* stay on this CPU while reporting */
			rcu_report_qs();        /* this CPU: a thread, outside any reader */
			/* Ask the other CPUs now rather than waiting for their
			 * next tick; a CPU inside a reader answers at a later
			 * tick. */
			cpumask_t others;
			cpumask_copy(&others, &qs_pending);
			__cpumask_clear_cpu(smp_processor_id(), &others);
			local_irq_restore(f);
			if (!cpumask_empty(&others))
				smp_call_function_many(&others, rcu_qs_ipi, NULL, false);
			/* LAB(rcu) STUB: wait_for_qs_by_visiting(); */
			/* LAB(rcu) END */
		}
		wait_for_qs_pending();
		finish_grace_period();
	}
}

/* ---- waiting ---- */

struct rcu_sync {
	struct rcu_head head;
	bool done;
};

static void rcu_sync_done(struct rcu_head *head)
{
	struct rcu_sync *s = container_of(head, struct rcu_sync, head);
	u64 f = spin_lock_irqsave(&done_wq.lock);
	s->done = true;
	spin_unlock_irqrestore(&done_wq.lock, f);
	/* finish_grace_period() wakes done_wq after running callbacks. */
}

void synchronize_rcu(void)
{
	if (rcu_debug_no_grace_period || !gp_thread_running)
		return;
	struct rcu_sync s = { .done = false };
	call_rcu(&s.head, rcu_sync_done);
	u64 f = spin_lock_irqsave(&done_wq.lock);
	while (!s.done)
		sleep_on(&done_wq);
	spin_unlock_irqrestore(&done_wq.lock, f);
}

static bool barrier_reached(const u64 *snapshot)
{
	u32 c;
	for_each_possible_cpu(c)
		if (READ_ONCE(rcu_cpus[c].invoked) < snapshot[c])
			return false;
	return true;
}

void rcu_barrier(void)
{
	u64 snapshot[MAX_CPUS] = { 0 };
	u32 c;
	for_each_possible_cpu(c)
		snapshot[c] = READ_ONCE(rcu_cpus[c].queued);
	u64 f = spin_lock_irqsave(&done_wq.lock);
	while (!barrier_reached(snapshot))
		sleep_on(&done_wq);
	spin_unlock_irqrestore(&done_wq.lock, f);
}

void rcu_get_stats(struct rcu_stats *s)
{
	*s = stats;
}

void rcu_init(void)
{
	rcu_debug_no_grace_period = cmdline_has("rcu_debug_no_grace_period");
	/* Every slot, not only the possible CPUs: this runs before any other
	 * CPU is prepared, and a CPU prepared later queues on its slot at once. */
	for (u32 c = 0; c < MAX_CPUS; c++) {
		struct rcu_cpu *rc = &rcu_cpus[c];
		spin_init(&rc->lock, "rcu_cpu");
		rc->next_tail = &rc->next_head;
		rc->wait_tail = &rc->wait_head;
	}
	waitq_init(&gp_wq, "rcu_gp_wq");
	waitq_init(&done_wq, "rcu_done_wq");
	if (!kthread_create("rcu_gp", gp_thread, NULL, NULL))
		panic("rcu: cannot start the grace-period thread");
	gp_thread_running = true;
	if (rcu_debug_no_grace_period)
		printk(KERN_WARNING "rcu: rcu_debug_no_grace_period: callbacks run AT ONCE "
		       "(negative control: RCU is broken on purpose)\n");
	rcu_debug_switch_only = cmdline_has("rcu_debug_switch_only");
	if (rcu_debug_switch_only)
		printk(KERN_WARNING "rcu: rcu_debug_switch_only: only context switches are quiescent "
		       "states (negative control: slow but correct)\n");
}
