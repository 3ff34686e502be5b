/* SPDX-License-Identifier: MIT */
/* kernel/sched.c - threads, per-CPU run queues, sleeping and waking.
 * The rules this file keeps are stated in kernel/sched.h. */
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/rcu.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/fpu.h"
#include "mm/mm.h"
#include "mm/page.h"             /* PAGE_SIZE */
#include "kernel/time.h"

void switch_to(u64 *prev_ksp, u64 next_ksp);

static struct thread thread_table[MAX_THREADS];
/* Each slot: one guard page (never touched; unmapped by mm/ where it maps
 * the kernel image with 4 KiB pages) and then the stack. */
static u8 thread_stacks[MAX_THREADS][PAGE_SIZE + KSTACK_SIZE] __aligned(PAGE_SIZE);
static spinlock_t thread_table_lock = SPINLOCK_INIT("thread_table");
static u32 next_tid = 1;
static struct runqueue runqueues[MAX_CPUS];
/* Joiners of a dead thread sleep here; one queue is enough for a kernel
 * this size, and it keeps struct thread small. */
static struct waitq exit_wq;

static struct runqueue *this_rq(void) { return &runqueues[smp_processor_id()]; }

struct thread *current_thread(void)
{
	return this_rq()->current;
}

void *thread_stack_guard(u32 slot)
{
	return slot < MAX_THREADS ? thread_stacks[slot] : NULL;
}

/* ---- run queue primitives (rq->lock held) ---- */

static void rq_enqueue(struct runqueue *rq, struct thread *t)
{
	t->rq_next = NULL;
	if (rq->tail)
		rq->tail->rq_next = t;
	else
		rq->head = t;
	rq->tail = t;
	rq->nr_queued++;
}

static struct thread *rq_dequeue(struct runqueue *rq)
{
	struct thread *t = rq->head;
	if (!t)
		return NULL;
	rq->head = t->rq_next;
	if (!rq->head)
		rq->tail = NULL;
	rq->nr_queued--;
	t->rq_next = NULL;
	return t;
}

static u32 cpu_load(u32 c)
{
	struct runqueue *rq = &runqueues[c];
	struct thread *cur = READ_ONCE(rq->current);
	return READ_ONCE(rq->nr_queued) + (cur && !cur->is_idle);
}

/* The allowed online CPU with the fewest threads (queued or running),
 * preferring `prefer` on a tie: a woken thread goes back where its cache
 * is warm unless another CPU is less busy. In a kernel without preemption
 * this matters: a thread queued behind a long-running one waits for it. */
static u32 pick_cpu_prefer(const cpumask_t *allowed, u32 prefer)
{
	cpumask_t m;
	cpumask_and(&m, allowed, &cpu_online_mask);
	if (cpumask_test_cpu(prefer, &m) && cpu_load(prefer) == 0)
		return prefer;
	u32 best = cpumask_test_cpu(prefer, &m) ? prefer : MAX_CPUS;
	u32 best_load = best < MAX_CPUS ? cpu_load(best) : ~0u;
	u32 c;
	for_each_cpu(c, &m) {
		u32 load = cpu_load(c);
		if (load < best_load) {
			best = c;
			best_load = load;
		}
	}
	return best < MAX_CPUS ? best : cpumask_first(&cpu_online_mask);
}

/* The allowed online CPU with the fewest queued threads. */
static u32 pick_cpu(const cpumask_t *allowed)
{
	cpumask_t m;
	if (!cpumask_and(&m, allowed, &cpu_online_mask))
		cpumask_copy(&m, &cpu_online_mask);
	u32 best = cpumask_first(&m);
	u32 best_load = ~0u;
	u32 c;
	for_each_cpu(c, &m) {
		struct runqueue *rq = &runqueues[c];
		u32 load = READ_ONCE(rq->nr_queued) + (READ_ONCE(rq->current) && !READ_ONCE(rq->current)->is_idle);
		if (load < best_load) {
			best = c;
			best_load = load;
		}
	}
	return best;
}

/* A remote CPU may be halted in its idle loop: an interrupt wakes it, and
 * the idle loop then finds the queued thread. */
static void kick_cpu(u32 cpu)
{
	if (cpu != smp_processor_id())
		lapic_send_ipi(cpus[cpu].apic_id, VEC_RESCHEDULE);
}

/* Make a blocked (or new, or migrating) thread runnable on an allowed CPU. */
static void wake_thread(struct thread *t)
{
	u32 target = pick_cpu_prefer(&t->allowed, t->cpu);
	/* Its old CPU may still be saving its registers: never run a thread
	 * on a second CPU before the first has switched away from it. */
	while (READ_ONCE(t->on_cpu))
		cpu_relax();
	struct runqueue *rq = &runqueues[target];
	u64 f = spin_lock_irqsave(&rq->lock);
	t->cpu = target;
	t->state = THREAD_RUNNABLE;
	rq_enqueue(rq, t);
	/* A woken thread should not wait a whole time slice behind a busy
	 * one: ask the running thread to yield at its next chance (return to
	 * user mode or cond_resched). */
	if (rq->current && !rq->current->is_idle)
		rq->need_resched = true;
	spin_unlock_irqrestore(&rq->lock, f);
	kick_cpu(target);
}

/* ---- switching ---- */

static struct thread *switch_prev[MAX_CPUS];

/* Runs on the thread just switched in, still with interrupts disabled:
 * releases the run-queue lock the previous thread took, and lets go of the
 * previous thread (it may now run elsewhere, or be reaped). */
static void finish_switch(void)
{
	u32 cpu = smp_processor_id();
	struct runqueue *rq = &runqueues[cpu];
	struct thread *prev = switch_prev[cpu];
	spin_unlock(&rq->lock);
	rcu_note_context_switch();
	if (!prev)
		return;
	switch_prev[cpu] = NULL;
	/* Its registers are saved on its stack by now (switch_to stored its
	 * stack pointer before loading ours). */
	barrier();
	WRITE_ONCE(prev->on_cpu, false);
	if (prev->state == THREAD_DEAD && prev->detached) {
		/* A user thread: nobody joins it, its slot is free now. */
		u64 f = spin_lock_irqsave(&thread_table_lock);
		prev->state = THREAD_UNUSED;
		spin_unlock_irqrestore(&thread_table_lock, f);
	} else if (prev->state == THREAD_DEAD) {
		wake_up_all(&exit_wq);  /* thread_join() waits for on_cpu == false */
	} else if (prev->state == THREAD_RUNNABLE && prev->rq_next == NULL &&
		   !cpumask_test_cpu(cpu, &prev->allowed)) {
		/* It asked to leave this CPU (thread_set_affinity). */
		wake_thread(prev);
	}
}

/* Pick the next thread and switch to it. Called with interrupts disabled
 * and rq->lock held; returns (in this thread, possibly much later and on
 * another CPU) with the lock released and interrupts still disabled. */
static void __schedule(struct runqueue *rq)
{
	u32 cpu = smp_processor_id();
	struct thread *prev = rq->current;

	if (this_cpu()->rcu_nesting)
		panic("schedule() inside an RCU read-side section (thread %s): readers may not sleep",
		      prev->name);
	/* Exactly one spinlock may be held here: this run queue's. Sleeping
	 * with another one held would let a second thread on this CPU spin
	 * on it forever (or release it from another CPU). */
	if (this_cpu()->locks_held != 1)
		panic("schedule() with %u spinlock(s) held besides the run queue (thread %s)",
		      this_cpu()->locks_held - 1, prev->name);
	if (prev->state == THREAD_RUNNING && !prev->is_idle) {
		prev->state = THREAD_RUNNABLE;
		if (cpumask_test_cpu(cpu, &prev->allowed))
			rq_enqueue(rq, prev);
		/* else finish_switch() on the next thread moves it. */
	}
	struct thread *next = rq_dequeue(rq);
	if (!next)
		next = rq->idle;
	rq->need_resched = false;
	if (next == prev) {
		prev->state = THREAD_RUNNING;
		spin_unlock(&rq->lock);
		return;
	}
	next->state = THREAD_RUNNING;
	next->on_cpu = true;
	next->cpu = cpu;
	next->slice_end = this_cpu()->ticks + SCHED_SLICE_TICKS;
	next->nr_switches++;
	rq->current = next;
	rq->nr_switches++;
	switch_prev[cpu] = prev;
	/* The kernel stack the CPU switches to on an interrupt or a system
	 * call from user mode. */
	if (next->kstack) {
		this_cpu()->tss.rsp[0] = (u64)next->kstack + KSTACK_SIZE;
		this_cpu()->syscall_rsp = (u64)next->kstack + KSTACK_SIZE;
	}
	/* User threads: their address space and TLS base. A kernel thread
	 * keeps whatever page tables are loaded (switch_mm decides). */
	if (next->mm && next->mm != prev->mm)
		switch_mm(prev->mm, next->mm);
	else if (!next->mm && prev->mm)
		switch_mm(prev->mm, NULL);
	if (next->proc)
		wrmsr(MSR_FS_BASE, next->fs_base);
	/* Eager FPU switch (fpu.h): prev's registers saved, next's loaded. */
	fpu_switch(prev, next);
	switch_to(&prev->ksp, next->ksp);
	finish_switch();
}

void schedule(void)
{
	u64 f = local_irq_save();
	struct runqueue *rq = this_rq();
	spin_lock(&rq->lock);
	if (rq->current->is_idle)
		rq->current->state = THREAD_RUNNABLE;   /* idle is never queued */
	__schedule(rq);
	local_irq_restore(f);
}

void yield(void)
{
	schedule();
}

void sched_tick(void)
{
	struct runqueue *rq = this_rq();
	struct thread *cur = rq->current;
	/* One CPU runs the sleep timers (every CPU ticks, one is enough). */
	if (smp_processor_id() == 0)
		timer_tick();
	if (cur && !cur->is_idle && this_cpu()->ticks >= cur->slice_end && READ_ONCE(rq->nr_queued))
		rq->need_resched = true;
}

void sched_check_resched(void)
{
	if (this_rq()->need_resched)
		schedule();
}

void cond_resched(void)
{
	/* Callers are outside any read-side section: a quiescent state, as
	 * Linux's cond_resched() reports too. It lets grace periods end while
	 * long kernel loops run. */
	if (this_cpu()->rcu_nesting)
		panic("cond_resched() inside an RCU read-side section");
	rcu_note_quiescent();
	sched_check_resched();
}

/* ---- idle ---- */

void sched_idle_loop(void)
{
	for (;;) {
		local_irq_disable();
		if (READ_ONCE(this_rq()->nr_queued)) {
			schedule();
			continue;
		}
		/* "sti; hlt" is atomic: an interrupt that queues work between
		 * the check above and the halt still wakes us (STI delays
		 * interrupts by one instruction). */
		__asm__ __volatile__("sti; hlt" ::: "memory");
	}
}

/* ---- thread lifetime ---- */

static struct thread *alloc_thread(const char *name)
{
	u64 f = spin_lock_irqsave(&thread_table_lock);
	struct thread *t = NULL;
	for (u32 i = 0; i < MAX_THREADS; i++) {
		if (thread_table[i].state == THREAD_UNUSED) {
			t = &thread_table[i];
			memset(t, 0, sizeof(*t));
			t->state = THREAD_BLOCKED;
			t->tid = next_tid++;
			t->kstack = thread_stacks[i] + PAGE_SIZE;
			break;
		}
	}
	spin_unlock_irqrestore(&thread_table_lock, f);
	if (t)
		strlcpy(t->name, name, sizeof(t->name));
	return t;
}

static void thread_start(void)
{
	finish_switch();
	local_irq_enable();
	struct thread *t = current_thread();
	t->entry(t->arg);
	thread_exit();
}

/* First frame for switch_to: six callee-saved registers (rbp = 0 ends
 * backtraces) and the return address thread_start, above which sits a zero
 * "return address" so the stack looks as if thread_start had been called. */
static void build_first_frame(struct thread *t)
{
	u64 *sp = (u64 *)(t->kstack + KSTACK_SIZE);
	*--sp = 0;
	*--sp = (u64)thread_start;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->ksp = (u64)sp;
}

struct thread *kthread_create_suspended(const char *name, void (*fn)(void *), void *arg,
					const cpumask_t *allowed)
{
	struct thread *t = alloc_thread(name);
	if (!t)
		return NULL;
	t->entry = fn;
	t->arg = arg;
	if (allowed)
		cpumask_copy(&t->allowed, allowed);
	else
		cpumask_set_first_n(&t->allowed, NR_CPUS);
	build_first_frame(t);
	t->cpu = pick_cpu(&t->allowed);
	return t;
}

void thread_start_new(struct thread *t)
{
	wake_thread(t);
}

struct thread *kthread_create(const char *name, void (*fn)(void *), void *arg,
			      const cpumask_t *allowed)
{
	struct thread *t = kthread_create_suspended(name, fn, arg, allowed);
	if (t)
		wake_thread(t);
	return t;
}

void thread_exit(void)
{
	local_irq_disable();
	struct runqueue *rq = this_rq();
	spin_lock(&rq->lock);
	rq->current->state = THREAD_DEAD;
	__schedule(rq);
	panic("thread_exit: a dead thread was scheduled again");
}

void thread_join(struct thread *t)
{
	u64 f = spin_lock_irqsave(&exit_wq.lock);
	while (!(READ_ONCE(t->state) == THREAD_DEAD && !READ_ONCE(t->on_cpu)))
		sleep_on(&exit_wq);
	spin_unlock_irqrestore(&exit_wq.lock, f);
	f = spin_lock_irqsave(&thread_table_lock);
	t->state = THREAD_UNUSED;
	spin_unlock_irqrestore(&thread_table_lock, f);
}

void thread_set_affinity(const cpumask_t *allowed)
{
	struct thread *t = current_thread();
	cpumask_copy(&t->allowed, allowed);
	if (!cpumask_test_cpu(smp_processor_id(), allowed))
		schedule();     /* __schedule leaves it off this queue; finish_switch moves it */
}

u32 nr_threads_alive(void)
{
	u32 n = 0;
	u64 f = spin_lock_irqsave(&thread_table_lock);
	for (u32 i = 0; i < MAX_THREADS; i++)
		if (thread_table[i].state != THREAD_UNUSED)
			n++;
	spin_unlock_irqrestore(&thread_table_lock, f);
	return n;
}

bool sched_for_each_thread(bool (*fn)(struct thread *t, void *arg), void *arg)
{
	bool completed = true;
	u64 f = spin_lock_irqsave(&thread_table_lock);
	for (u32 i = 0; i < MAX_THREADS && completed; i++)
		if (thread_table[i].state != THREAD_UNUSED)
			completed = fn(&thread_table[i], arg);
	spin_unlock_irqrestore(&thread_table_lock, f);
	return completed;
}

/* ---- wait queues ---- */

void waitq_init(struct waitq *wq, const char *name)
{
	spin_init(&wq->lock, name);
	wq->head = NULL;
}

static void unlink_waiter(struct waitq *wq, struct thread *t)
{
	for (struct thread **pp = &wq->head; *pp; pp = &(*pp)->wq_next) {
		if (*pp == t) {
			*pp = t->wq_next;
			break;
		}
	}
	t->wq_next = NULL;
	t->waiting_on = NULL;
}

void sleep_on(struct waitq *wq)
{
	lockdep_assert_held(&wq->lock);
	struct runqueue *rq = this_rq();
	struct thread *t = rq->current;
	t->wq_next = wq->head;
	wq->head = t;
	t->waiting_on = wq;
	/* wake_up_thread's other half (sched.h): published, then the kick. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&t->wake_kick, false, __ATOMIC_SEQ_CST)) {
		unlink_waiter(wq, t);
		return;
	}
	/* Take the run-queue lock before dropping the wait-queue lock: a
	 * waker needs both, so it cannot run between our "I am asleep" and
	 * the switch. Lock order: wait queue, then run queue. */
	spin_lock(&rq->lock);
	t->state = THREAD_BLOCKED;
	spin_unlock(&wq->lock);
	__schedule(rq);
	spin_lock(&wq->lock);
}

void wake_up_all(struct waitq *wq)
{
	u64 f = spin_lock_irqsave(&wq->lock);
	struct thread *t = wq->head;
	wq->head = NULL;
	while (t) {
		struct thread *next = t->wq_next;
		t->wq_next = NULL;
		t->waiting_on = NULL;
		wake_thread(t);
		t = next;
	}
	spin_unlock_irqrestore(&wq->lock, f);
}

void wake_up_thread(struct thread *t)
{
	WRITE_ONCE(t->wake_kick, true);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct waitq *wq = READ_ONCE(t->waiting_on);
	if (wq) {
		u64 f = spin_lock_irqsave(&wq->lock);
		bool asleep = t->waiting_on == wq;
		if (asleep)
			unlink_waiter(wq, t);
		if (asleep)
			wake_thread(t);
		spin_unlock_irqrestore(&wq->lock, f);
	} else if (READ_ONCE(t->state) == THREAD_RUNNING) {
		/* In user mode there: the IPI brings it through
		 * user_return_work. In the kernel: harmless. */
		kick_cpu(READ_ONCE(t->cpu));
	}
}

/* ---- bring-up ---- */

static void reschedule_ipi(struct trap_frame *tf)
{
	(void)tf;       /* waking from hlt is all it is for */
}

static void idle_entry(void *arg)
{
	(void)arg;
	sched_idle_loop();
}

static struct thread *make_running_thread(const char *name, bool idle)
{
	struct thread *t = alloc_thread(name);
	if (!t)
		panic("sched: no thread slot for %s", name);
	t->state = THREAD_RUNNING;
	t->on_cpu = true;
	t->is_idle = idle;
	t->cpu = smp_processor_id();
	if (idle)
		t->allowed = cpumask_of_cpu(t->cpu);
	else
		cpumask_set_first_n(&t->allowed, NR_CPUS);
	return t;
}

void sched_init(void)
{
	waitq_init(&exit_wq, "exit_wq");
	for (u32 c = 0; c < MAX_CPUS; c++)
		spin_init(&runqueues[c].lock, "runqueue");
	irq_register(VEC_RESCHEDULE, reschedule_ipi);

	/* The code running now (kmain on the boot stack) becomes a thread;
	 * its kstack field points at a table slot it does not use, which is
	 * harmless: it never returns to user mode. */
	struct runqueue *rq = this_rq();
	struct thread *boot = make_running_thread("kmain", false);
	rq->current = boot;
	boot->kstack = NULL;    /* runs on the boot stack, never in user mode */
	/* CPU 0's idle thread gets a fresh stack and starts in the idle loop. */
	struct thread *idle = alloc_thread("idle/0");
	if (!idle)
		panic("sched: no thread slot for idle/0");
	idle->entry = idle_entry;
	build_first_frame(idle);
	idle->is_idle = true;
	idle->state = THREAD_RUNNABLE;
	idle->allowed = cpumask_of_cpu(0);
	rq->idle = idle;
}

void sched_init_ap(void)
{
	/* The AP's bring-up context becomes its idle thread. */
	struct runqueue *rq = this_rq();
	char name[16];
	snprintf(name, sizeof(name), "idle/%u", smp_processor_id());
	struct thread *idle = make_running_thread(name, true);
	idle->kstack = NULL;    /* runs on the AP's boot stack */
	rq->current = idle;
	rq->idle = idle;
}
