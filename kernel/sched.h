/* SPDX-License-Identifier: MIT */
/* kernel/sched.h - threads and the per-CPU scheduler.
 *
 * Model (docs/scheduler.md):
 *   - A fixed table of MAX_THREADS threads, each with a 16 KiB kernel stack
 *     that has an unmapped guard page below it (like xv6's proc table).
 *   - One run queue per CPU, round robin. A thread runs only on CPUs in its
 *     affinity mask; a new or woken thread goes to the least-loaded allowed
 *     CPU's queue.
 *   - The kernel is not preemptible: a thread gives up the CPU when it
 *     blocks, yields, exits, or returns to user mode after its time slice
 *     ran out (the LAPIC timer sets need_resched). So per-CPU data touched
 *     by kernel code cannot change CPU under it between two lines.
 *   - Each CPU has an idle thread that halts until an interrupt arrives.
 *
 * Locking:
 *   rq->lock protects a run queue and the state/on_rq of threads queued on
 *   it. It is taken with interrupts disabled. A thread switching out holds
 *   its CPU's rq->lock across switch_to; the thread switched in releases it
 *   (finish_switch). A thread is never run on two CPUs: t->on_cpu stays set
 *   until the CPU that ran it has finished switching away, and a wake-up
 *   that moves a thread to another CPU waits for it to clear.
 *   A wait queue's lock protects its list (and, by convention, the condition
 *   its sleepers wait for); sleep_on() takes the run-queue lock before
 *   releasing the wait-queue lock, so a wake-up cannot be lost. Lock order:
 *   wait queue, then run queue.
 */
#ifndef PAGODA_SCHED_H
#define PAGODA_SCHED_H

#include "kernel/types.h"
#include "kernel/spinlock.h"
#include "arch/x86_64/percpu.h"
#include "kernel/signal.h"

/* Every CPU's idle thread, and 256 for everything else. */
#define MAX_THREADS (NR_CPUS + 256)
#define KSTACK_SIZE 16384
#define SCHED_SLICE_TICKS 2      /* at 100 Hz: 20 ms */

enum thread_state {
	THREAD_UNUSED = 0,
	THREAD_RUNNABLE,        /* on a run queue */
	THREAD_RUNNING,         /* current on some CPU */
	THREAD_BLOCKED,         /* on a wait queue (or none) */
	THREAD_DEAD,            /* exited; slot freed by thread_reap() */
};

struct mm_struct;
struct waitq;
struct process;

struct thread {
	u64 ksp;                /* saved kernel stack pointer (switch_to) */
	u8 *kstack;             /* lowest usable byte of the kernel stack */
	enum thread_state state;
	u32 tid;
	u32 cpu;                /* the run queue it is on or last ran on */
	cpumask_t allowed;      /* CPUs it may run on */
	bool on_cpu;            /* a CPU is still switching away from it */
	bool is_idle;
	u64 slice_end;          /* tick at which its time slice ends */
	struct thread *rq_next; /* link on a run queue */
	struct thread *wq_next; /* link on a wait queue */
	struct waitq *waiting_on;
	void (*entry)(void *arg);
	void *arg;
	struct mm_struct *mm;   /* user address space, NULL for kernel threads */
	struct process *proc;   /* kernel/proc.h; NULL for kernel threads */
	u64 fs_base;            /* user FS base (TLS), loaded when switched in */
	void *fpu_state;        /* user FPU/SSE/AVX registers (arch/x86_64/fpu.h); NULL: kernel thread */
	u64 clear_child_tid;    /* set_tid_address / CLONE_CHILD_CLEARTID */
	u64 set_child_tid;      /* CLONE_CHILD_SETTID: written at its first run */
	bool killed;            /* its process is dying: exit on the way to user mode */
	bool detached;          /* nobody joins it: its slot is freed once it is off the CPU */
	bool wake_kick;         /* wake_up_thread ran: the next sleep_on returns at once */
	struct thread_signals sig;      /* mask, pending, altstack (kernel/signal.h) */
	u64 nr_switches;        /* times switched in */
	char name[16];
};

struct runqueue {
	spinlock_t lock;
	struct thread *head, *tail;
	u32 nr_queued;
	struct thread *current;
	struct thread *idle;
	bool need_resched;
	u64 nr_switches;
};

struct waitq {
	spinlock_t lock;
	struct thread *head;
};

void sched_init(void);                  /* boot CPU, before smp_init() */
void sched_init_ap(void);               /* each AP, before it idles */
__noreturn void sched_idle_loop(void);  /* the idle thread's body */

struct thread *current_thread(void);

/* Create a kernel thread that runs fn(arg) on one of the CPUs in allowed
 * (NULL means any online CPU; the mask is copied). Returns NULL when the
 * table is full. */
struct thread *kthread_create(const char *name, void (*fn)(void *), void *arg,
			      const cpumask_t *allowed);
/* The same, but the thread does not run until thread_start_new(t): the
 * caller fills in its user state first (kernel/proc.c). */
struct thread *kthread_create_suspended(const char *name, void (*fn)(void *), void *arg,
					const cpumask_t *allowed);
void thread_start_new(struct thread *t);
/* Wait for t to exit and free its slot. */
void thread_join(struct thread *t);
__noreturn void thread_exit(void);
/* Move the calling thread to the allowed CPUs (migrates now if needed). */
void thread_set_affinity(const cpumask_t *allowed);

void schedule(void);                    /* give up the CPU; stays runnable */
void yield(void);
void sched_tick(void);                  /* from the timer interrupt */
/* Called on the way back to user mode: switch if the slice ran out. */
void sched_check_resched(void);
/* For long loops in kernel code (the kernel is not preemptible): give the
 * CPU away here if this thread's time slice ran out and others wait. Never
 * inside a spinlock or an RCU read-side section. */
void cond_resched(void);

void waitq_init(struct waitq *wq, const char *name);
/* Block on wq. The caller holds wq->lock with interrupts disabled and has
 * checked its condition under it; the lock is released once the thread is
 * committed to sleeping and taken again before returning, so the caller
 * re-checks in a loop:
 *     f = spin_lock_irqsave(&wq->lock);
 *     while (!condition) sleep_on(wq);
 *     spin_unlock_irqrestore(&wq->lock, f);
 * Wakers change the condition, then call wake_up_all(wq). */
void sleep_on(struct waitq *wq);
void wake_up_all(struct waitq *wq);
/* Take t off whatever wait queue it sleeps on and make it runnable, or, if
 * it runs on another CPU, interrupt it (so it passes user_return_work): a
 * signal for t. Sleepers re-check their condition, so a thread in a sleep
 * that a signal does not end just sleeps again. No lock held. Cannot be
 * lost: t->wake_kick is set before t->waiting_on is read, and sleep_on
 * reads t->wake_kick after publishing t->waiting_on (a full barrier on
 * each side), so either the waker finds the queue or the sleeper the kick. */
void wake_up_thread(struct thread *t);

u32 nr_threads_alive(void);
/* Call fn on every thread in use, under the table lock (fn must not sleep
 * or take a run-queue lock); stops early when fn returns false. */
bool sched_for_each_thread(bool (*fn)(struct thread *t, void *arg), void *arg);

/* The guard page below thread slot n's kernel stack, NULL past the last
 * slot; mm/paging.c unmaps them so a stack overflow faults. */
void *thread_stack_guard(u32 slot);

#endif
