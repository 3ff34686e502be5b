/* SPDX-License-Identifier: MIT */
/* mm/tlbflush.c - TLB shootdown across CPUs; see tlbflush.h and
 * docs/tlb-shootdown.md.
 *
 * The protocol, in the order the code runs it:
 *
 *   initiator (CPU A)                        target (CPU B)
 *   -----------------                        --------------
 *   change the page tables
 *   gen = ++mm->tlb_gen   (a locked op:
 *         a full barrier)
 *   for B in mm->cpumask:
 *     B needs it if B has mm loaded and is
 *     not lazy, or if tables were freed
 *   post the request in B's inbox, IPI B  -> flush_ipi(): for each request:
 *   flush itself if mm is loaded here           mm not loaded here: leave the
 *   wait until every B has acked,                 cpumask (lazy trimming)
 *     serving its own inbox meanwhile           lazy: switch to the kernel
 *                                                 root (tables were freed)
 *                                               already at gen: nothing
 *                                               exactly one behind and the
 *                                                 range is small: INVLPG each
 *                                               else: CR3 reload
 *                                               record the new gen, ack
 *
 * Why the generation: a CPU that was interrupted late, or that switched back
 * to the mm after a lazy period, can tell from one number whether its TLB is
 * already as new as the request (a full flush done for a later request
 * covers an earlier one), and a CPU coming back from lazy mode catches up
 * there instead of being interrupted while away.
 *
 * The ordering that makes "skip CPUs that do not have mm loaded" safe: the
 * initiator bumps tlb_gen, then reads loaded_mm/is_lazy; a CPU switching in
 * stores loaded_mm/is_lazy, then (after a full barrier) reads tlb_gen. One of
 * the two sees the other: either the initiator interrupts it, or it sees the
 * new generation and flushes itself (Linux missed this barrier until 2025).
 *
 * Mailboxes: each CPU owns one request (its flush_tlb_info) and a count of
 * acks it waits for; each CPU has an inbox, a cpumask of CPUs whose request
 * it must serve. An initiator sets its bit in each target's inbox with an
 * atomic OR on the bit's word and sends one IPI; the target takes the whole
 * mask with one atomic exchange per word (kernel/cpumask.h). A request stays valid until its acks reach zero, because
 * its owner is waiting for exactly that before it may post another.
 */
#include "mm/tlbflush.h"
#include "mm/paging.h"
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/trap.h"
#include "kernel/sched.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/trace.h"

u32 tlb_single_page_flush_ceiling = 33;
bool tlb_debug_skip_remote_flush;
bool tlb_debug_flush_by_call;

struct flush_tlb_info {
	struct mm_struct *mm;
	u64 start, end;                 /* end == TLB_FLUSH_ALL: everything */
	u64 new_tlb_gen;                /* the generation this flush brings CPUs to */
	u32 stride_shift;
	u32 initiator;
	bool freed_tables;
};

struct tlb_state {
	/* Written by this CPU only (interrupts disabled); read by initiators. */
	struct mm_struct *loaded_mm;    /* NULL: the kernel's own root */
	u64 loaded_mm_gen;
	bool is_lazy;
	/* Written by other CPUs (atomic OR) and taken by this one (exchange). */
	cpumask_t inbox;
	/* This CPU's own outgoing request and the acks it still waits for. */
	struct flush_tlb_info info;
	u32 acks;
	u64 stat[NR_TLB_STAT_ITEMS];    /* this CPU's counters */
	u64 flush_ipis;                 /* VEC_TLB_FLUSH interrupts taken (tests) */
} __attribute__((aligned(64)));

static struct tlb_state tlb_state[MAX_CPUS];

static struct tlb_state *this_tlb(void)
{
	return &tlb_state[smp_processor_id()];
}

/* Counted on the CPU that did the work, and in the mm it was done for. */
static void count(struct mm_struct *mm, enum tlb_stat_item item, u64 n)
{
	this_tlb()->stat[item] += n;    /* only this CPU writes its counters */
	if (mm)
		__atomic_add_fetch(&mm->tlb_stat[item], n, __ATOMIC_RELAXED);
}

u64 tlb_stat_cpu(u32 cpu, enum tlb_stat_item item)
{
	return READ_ONCE(tlb_state[cpu].stat[item]);
}

u64 tlb_flush_ipis_cpu(u32 cpu)
{
	return READ_ONCE(tlb_state[cpu].flush_ipis);
}

u64 tlb_stat_read(enum tlb_stat_item item)
{
	u64 sum = 0;
	u32 c;
	for_each_possible_cpu(c)
		sum += tlb_stat_cpu(c, item);
	return sum;
}

/* trace ids: an mm is named by its page-table root (stable and unique). */
static u64 mm_id(const struct mm_struct *mm)
{
	return mm ? mm->pgd_phys : 0;
}

/* --- switching address spaces --- */

struct mm_struct *mm_loaded_on_this_cpu(void)
{
	return this_tlb()->loaded_mm;
}

bool tlb_this_cpu_is_lazy(void)
{
	return this_tlb()->is_lazy;
}

u64 tlb_this_cpu_gen(void)
{
	return this_tlb()->loaded_mm_gen;
}

void leave_mm(void)
{
	u64 flags = local_irq_save();
	struct tlb_state *st = this_tlb();
	struct mm_struct *mm = st->loaded_mm;
	if (mm) {
		load_user_cr3(kernel_root_phys);
		WRITE_ONCE(st->loaded_mm, NULL);
		WRITE_ONCE(st->is_lazy, false);
		/* Nothing of mm is cached here any more (no PCID). */
		cpumask_clear_cpu(smp_processor_id(), &mm->cpumask);
	}
	local_irq_restore(flags);
}

void enter_lazy_tlb(void)
{
	struct tlb_state *st = this_tlb();
	if (st->loaded_mm)
		WRITE_ONCE(st->is_lazy, true);
}

void switch_mm(struct mm_struct *prev, struct mm_struct *next)
{
	(void)prev;     /* what is loaded is what counts (lazy TLB may differ) */
	if (!next) {
		enter_lazy_tlb();
		return;
	}
	u64 flags = local_irq_save();
	u32 cpu = smp_processor_id();
	struct tlb_state *st = this_tlb();
	if (st->loaded_mm == next) {
		/* Back to the mm we kept loaded: were we lazy? Then flushes may
		 * have skipped us; catch up on the generation. */
		if (st->is_lazy) {
			WRITE_ONCE(st->is_lazy, false);
			smp_mb();       /* is_lazy store before the tlb_gen load */
			u64 gen = __atomic_load_n(&next->tlb_gen, __ATOMIC_SEQ_CST);
			if (st->loaded_mm_gen < gen) {
				local_flush_tlb_all();
				count(next, NR_TLB_LOCAL_FLUSH_ALL, 1);
				st->loaded_mm_gen = gen;
			}
		}
		local_irq_restore(flags);
		return;
	}
	/* A different mm. Join its cpumask first (a locked op, so a full
	 * barrier): an initiator that reads the mask after this interrupts
	 * us; one that read it before changed the tables before its tlb_gen
	 * bump, which we read below, and our CR3 load starts clean anyway.
	 * The previous mm keeps our bit until a flush finds us gone. */
	cpumask_set_cpu(cpu, &next->cpumask);
	WRITE_ONCE(st->loaded_mm, next);
	WRITE_ONCE(st->is_lazy, false);
	smp_mb();               /* loaded_mm store before the tlb_gen load */
	u64 gen = __atomic_load_n(&next->tlb_gen, __ATOMIC_SEQ_CST);
	load_user_cr3(next->pgd_phys);
	st->loaded_mm_gen = gen;
	local_irq_restore(flags);
}

/* --- the flush itself, on one CPU --- */

/* Bring this CPU's TLB up to info's generation (initiator and targets alike).
 * Interrupts disabled. */
static void flush_tlb_func(const struct flush_tlb_info *info)
{
	u32 cpu = smp_processor_id();
	struct tlb_state *st = this_tlb();
	struct mm_struct *mm = info->mm;

	if (st->loaded_mm != mm) {
		/* We left mm since we joined its cpumask: our CR3 load dropped
		 * everything of it. Leave the mask now (lazy trimming). */
		cpumask_clear_cpu(cpu, &mm->cpumask);
		return;
	}
	if (st->is_lazy) {
		/* A kernel thread borrows mm's tables and tables were freed: it
		 * could still walk them speculatively. Stop borrowing. */
		leave_mm();
		return;
	}
	u64 local_gen = st->loaded_mm_gen;
	u64 mm_gen = __atomic_load_n(&mm->tlb_gen, __ATOMIC_SEQ_CST);
	if (local_gen >= info->new_tlb_gen)
		return;         /* an earlier full flush already covered this one */

	/* A partial flush is enough only if ours is the one change we miss
	 * and nobody has made another since; otherwise flush everything and
	 * catch up to the newest generation at once. */
	if (info->end != TLB_FLUSH_ALL && info->new_tlb_gen == local_gen + 1 &&
	    info->new_tlb_gen == mm_gen) {
		u64 n = 0;
		for (u64 a = info->start; a < info->end; a += 1UL << info->stride_shift, n++)
			local_flush_tlb_one(a);
		count(mm, NR_TLB_LOCAL_FLUSH_ONE, n);
		st->loaded_mm_gen = info->new_tlb_gen;
	} else {
		local_flush_tlb_all();
		count(mm, NR_TLB_LOCAL_FLUSH_ALL, 1);
		st->loaded_mm_gen = mm_gen;
	}
}

/* Serve every request in this CPU's inbox. Interrupts disabled. */
void tlb_flush_poll(void)
{
	/* LAB(tlb-shootdown) BEGIN: take the whole inbox at once; for each sender run flush_tlb_func() on its request, then ack it */
	struct tlb_state *st = this_tlb();
	cpumask_t from;
	cpumask_take_all(&from, &st->inbox);
	u32 src;
	for_each_cpu(src, &from) {
		struct tlb_state *owner = &tlb_state[src];
		const struct flush_tlb_info *info = &owner->info;
		trace_event(TR_IPI_RECV, src, mm_id(info->mm));
		count(info->mm, NR_TLB_REMOTE_FLUSH_RECEIVED, 1);
		flush_tlb_func(info);
		/* After this the initiator may reuse info: touch it no more. */
		__atomic_sub_fetch(&owner->acks, 1, __ATOMIC_SEQ_CST);
	}
	/* LAB(tlb-shootdown) END */
}

static void flush_ipi(struct trap_frame *tf)
{
	(void)tf;
	this_tlb()->flush_ipis++;       /* only this CPU writes it */
	tlb_flush_poll();
}

/* --- the initiator --- */

/* Which other CPUs must hear about this flush, into *targets; false if none.
 * The mask is read one word at a time after the tlb_gen bump (a full
 * barrier): a CPU whose bit is not seen set joined after our read of its
 * word, so after the bump, and reads the new generation when it loads mm
 * (switch_mm); a bit is cleared only by a CPU that no longer holds mm's
 * entries. So a per-word snapshot loses no CPU that must flush. */
static bool flush_targets(const struct flush_tlb_info *info, u32 me, cpumask_t *targets)
{
	/* LAB(tlb-shootdown) BEGIN: the online CPUs of mm->cpumask but this one (extra: leave out lazy CPUs unless tables were freed) */
	struct mm_struct *mm = info->mm;
	cpumask_t mask;
	cpumask_and(&mask, &mm->cpumask, &cpu_online_mask);
	__cpumask_clear_cpu(me, &mask);
	if (info->freed_tables) {
		cpumask_copy(targets, &mask);   /* everyone who may walk the tables, lazy or not */
		return !cpumask_empty(targets);
	}
	cpumask_clear(targets);
	u32 cpu;
	for_each_cpu(cpu, &mask) {
		/* Lazy CPUs catch up on the generation when they switch back;
		 * CPUs that left mm dropped its entries with their CR3 load. */
		if (READ_ONCE(tlb_state[cpu].loaded_mm) == mm && !READ_ONCE(tlb_state[cpu].is_lazy))
			__cpumask_set_cpu(cpu, targets);
	}
	return !cpumask_empty(targets);
	/* LAB(tlb-shootdown) STUB: cpumask_and(targets, &info->mm->cpumask, &cpu_online_mask); __cpumask_clear_cpu(me, targets); return !cpumask_empty(targets); */
	/* LAB(tlb-shootdown) END */
}

/* The simple correct version of the sending: each target runs
 * flush_tlb_func() through the generic cross-call, and we wait for them
 * all, serving requests meanwhile. Safe, but every flush takes a slot in
 * each target's bounded call queue under its lock (a sender finding it full
 * waits), where the mailboxes take one bit per sender, lock-free, and one
 * interrupt serves every request posted by then. The "tlb_debug_flush_by_call"
 * switch uses it, and so does the tlb-shootdown lab's starter in place of the
 * mailboxes. */
static void flush_tlb_func_call(void *arg)
{
	const struct flush_tlb_info *info = arg;
	trace_event(TR_IPI_RECV, info->initiator, mm_id(info->mm));
	count(info->mm, NR_TLB_REMOTE_FLUSH_RECEIVED, 1);
	flush_tlb_func(info);
}

static void flush_tlb_others_by_call(struct flush_tlb_info *info, const cpumask_t *targets)
{
	count(info->mm, NR_TLB_REMOTE_FLUSH, 1);
	smp_call_function_many(targets, flush_tlb_func_call, info, true);
}

#define FLUSH_WARN_MS 10000
#define FLUSH_TIMEOUT_MS 60000

static void wait_for_acks(struct tlb_state *st, const cpumask_t *targets)
{
	/* LAB(tlb-shootdown) BEGIN: spin until st->acks is 0, serving smp_call_poll() meanwhile; warn after FLUSH_WARN_MS, panic after FLUSH_TIMEOUT_MS */
	u64 start = rdtsc();
	bool warned = false;
	while (__atomic_load_n(&st->acks, __ATOMIC_SEQ_CST) != 0) {
		/* Serve others while we wait: they may be waiting for us. */
		smp_call_poll();        /* function calls and flush requests */
		cpu_relax();
		u64 waited = rdtsc() - start;
		if (!warned && waited > tsc_khz * FLUSH_WARN_MS) {
			printk(KERN_WARNING "tlb: CPU %u still waiting for %u flush ack(s) "
			       "(%u targets, the first CPU %u)\n", smp_processor_id(), st->acks,
			       cpumask_weight(targets), cpumask_first(targets));
			warned = true;
		}
		if (waited > tsc_khz * FLUSH_TIMEOUT_MS)
			panic("tlb: %u CPU(s) never acknowledged a flush (%u targets, the first CPU %u)",
			      st->acks, cpumask_weight(targets), cpumask_first(targets));
	}
	/* LAB(tlb-shootdown) STUB: (void)st; (void)targets; */
	/* LAB(tlb-shootdown) END */
}

void flush_tlb_mm_range(struct mm_struct *mm, u64 start, u64 end, u32 stride_shift,
			bool freed_tables)
{
	u64 flags = local_irq_save();
	u32 me = smp_processor_id();
	struct tlb_state *st = this_tlb();
	struct flush_tlb_info *info = &st->info;

	if (end != TLB_FLUSH_ALL &&
	    (end - start) >> stride_shift > tlb_single_page_flush_ceiling) {
		start = 0;
		end = TLB_FLUSH_ALL;
	}
	/* The bump is a locked op (a full barrier): the page-table changes
	 * before it, the reads of cpumask and loaded_mm after it. */
	u64 gen = __atomic_add_fetch(&mm->tlb_gen, 1, __ATOMIC_SEQ_CST);
	info->mm = mm;
	info->start = start;
	info->end = end;
	info->stride_shift = stride_shift;
	info->freed_tables = freed_tables;
	info->new_tlb_gen = gen;
	info->initiator = me;
	trace_event(TR_FLUSH_REQ, mm_id(mm), end == TLB_FLUSH_ALL ? 0 : (end - start) >> stride_shift);

	cpumask_t targets;
	bool remote = flush_targets(info, me, &targets);
	if (tlb_debug_skip_remote_flush)
		remote = false; /* the negative control: a broken kernel */
	if (remote && tlb_debug_flush_by_call) {
		/* The other negative control: correct, without the mailboxes. */
		flush_tlb_others_by_call(info, &targets);
		remote = false;
	}
	/* LAB(tlb-shootdown) BEGIN: set st->acks to the number of targets, post your bit in each target's inbox, send each one VEC_TLB_FLUSH */
	if (remote) {
		count(mm, NR_TLB_REMOTE_FLUSH, 1);
		/* Every target's ack is counted before any target is asked. */
		__atomic_store_n(&st->acks, cpumask_weight(&targets), __ATOMIC_SEQ_CST);
		u32 cpu;
		for_each_cpu(cpu, &targets) {
			cpumask_set_cpu(me, &tlb_state[cpu].inbox);
			trace_event(TR_IPI_SEND, cpu, mm_id(mm));
			lapic_send_ipi(cpus[cpu].apic_id, VEC_TLB_FLUSH);
		}
	}
	/* LAB(tlb-shootdown) STUB: if (remote) flush_tlb_others_by_call(info, &targets); */
	/* LAB(tlb-shootdown) END */
	/* Our own TLB meanwhile (the targets work in parallel). */
	if (st->loaded_mm == mm)
		flush_tlb_func(info);
	if (remote)
		wait_for_acks(st, &targets);
	trace_event(TR_FLUSH_DONE, mm_id(mm), remote ? cpumask_weight(&targets) : 0);
	local_irq_restore(flags);
}

void flush_tlb_mm(struct mm_struct *mm)
{
	flush_tlb_mm_range(mm, 0, TLB_FLUSH_ALL, PAGE_SHIFT, false);
}

void flush_tlb_page(struct mm_struct *mm, u64 addr)
{
	addr &= PAGE_MASK;
	flush_tlb_mm_range(mm, addr, addr + PAGE_SIZE, PAGE_SHIFT, false);
}

void tlb_flush_init(void)
{
	long c = cmdline_long("tlb_ceiling", -1);
	if (c >= 0)
		tlb_single_page_flush_ceiling = (u32)c;
	tlb_debug_skip_remote_flush = cmdline_has("tlb_debug_skip_remote_flush");
	if (tlb_debug_skip_remote_flush)
		printk(KERN_WARNING "tlb: tlb_debug_skip_remote_flush: other CPUs are NOT flushed (negative control)\n");
	tlb_debug_flush_by_call = cmdline_has("tlb_debug_flush_by_call");
	if (tlb_debug_flush_by_call)
		printk(KERN_WARNING "tlb: tlb_debug_flush_by_call: remote flushes go through the generic "
		       "cross-call, not the mailboxes (negative control)\n");
	irq_register(VEC_TLB_FLUSH, flush_ipi);
}

/* --- kernel threads borrowing an address space --- */

void kthread_use_mm(struct mm_struct *mm)
{
	mm_get(mm);
	u64 flags = local_irq_save();
	current_thread()->mm = mm;
	switch_mm(NULL, mm);
	local_irq_restore(flags);
}

void kthread_unuse_mm(struct mm_struct *mm)
{
	u64 flags = local_irq_save();
	current_thread()->mm = NULL;
	if (this_tlb()->loaded_mm == mm)
		leave_mm();
	local_irq_restore(flags);
	mm_put(mm);
}
