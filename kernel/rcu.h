/* SPDX-License-Identifier: MIT */
/* kernel/rcu.h - read-copy-update (RCU) for a non-preemptible kernel.
 *
 * The problem: readers (page-table walkers, lookups) follow pointers with no
 * lock, while an updater replaces an object. When may the old one be freed?
 * Answer: after a *grace period*, i.e. once every CPU has passed through a
 * *quiescent state* - a moment where it cannot be inside a read-side critical
 * section. Readers that started before the update have then finished.
 *
 * Readers:   rcu_read_lock(); p = rcu_dereference(gp); ... use p ...; rcu_read_unlock();
 *            A reader must not sleep. Interrupts disabled also hold off grace
 *            periods (no quiescent state can be reported meanwhile).
 * Updaters:  rcu_assign_pointer(gp, new); call_rcu(&old->rcu, free_old);
 *            or synchronize_rcu() (sleeps a grace period), then free.
 *
 * Quiescent states (docs/rcu.md):
 *   - a context switch (readers cannot sleep, so none is in progress);
 *   - cond_resched(), which long kernel loops call outside any reader;
 *   - a timer tick or an RCU IPI that interrupted code with no read-side
 *     section open on that CPU (rcu_nesting == 0);
 *   - every return to user mode (kernel/proc.c user_return_work), and a
 *     tick that interrupted user code (the tick rule above).
 * The idle loop is covered by the tick and the IPI: they wake a halted CPU
 * and find rcu_nesting == 0.
 *
 * Callbacks are queued on per-CPU lists and run by the grace-period kernel
 * thread ("rcu_gp") after the grace period that follows their queueing.
 *
 * Locking: each CPU's callback lists are protected by its rcu_cpu lock; the
 * grace-period state by rcu_gp_lock. Both are irq-safe (quiescent states are
 * reported from interrupts). Callbacks run in thread context, may sleep
 * briefly, and must not call synchronize_rcu.
 */
#ifndef PAGODA_RCU_H
#define PAGODA_RCU_H

#include "kernel/types.h"
#include "arch/x86_64/percpu.h"

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

static inline void rcu_read_lock(void)
{
	this_cpu()->rcu_nesting++;
	barrier();      /* no load of the section may move above this */
}

static inline void rcu_read_unlock(void)
{
	barrier();      /* ... or below this */
	this_cpu()->rcu_nesting--;
}

/* Publish a pointer: the object's contents must be visible before it. x86
 * keeps stores in order; the compiler must be told not to reorder them. */
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define rcu_dereference(p) __atomic_load_n(&(p), __ATOMIC_CONSUME)

void rcu_init(void);            /* after sched_init and smp_init */
void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void synchronize_rcu(void);
/* Wait until every callback queued before this call has run. */
void rcu_barrier(void);

/* Hooks: kernel/sched.c at each context switch and in cond_resched(); the
 * LAPIC timer tick. */
void rcu_note_context_switch(void);
void rcu_note_quiescent(void);
void rcu_tick(void);

struct rcu_stats {
	u64 gp_started, gp_completed;
	u64 callbacks_queued, callbacks_invoked;
};
void rcu_get_stats(struct rcu_stats *s);

/* Negative control for the tests: "rcu_debug_no_grace_period" on the command
 * line makes call_rcu() run callbacks at once and synchronize_rcu() return
 * at once - the bug RCU exists to prevent. The torture test must then fail. */
extern bool rcu_debug_no_grace_period;

/* "rcu_debug_switch_only": ticks and IPIs report no quiescent state; a grace
 * period ends only when every CPU has switched context, the grace-period
 * thread visiting each CPU in turn to make it switch. Still correct, but a
 * CPU busy in kernel code outside any reader holds every grace period off
 * until it yields: rcu.busy_cpu_does_not_hold_off must then fail. */
extern bool rcu_debug_switch_only;

#endif
