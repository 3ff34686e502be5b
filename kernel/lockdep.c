/* SPDX-License-Identifier: MIT */
/* kernel/lockdep.c - the lock validator; kernel/lockdep.h states the rules
 * it checks and docs/locking.md the order it checks them against.
 *
 * Data, all fixed-size:
 *   classes[]        one per lock class (key, subclass), with its rank and
 *                    the first stack of each interrupt use;
 *   edges[]          one per order ever seen, A->B, with the stack of the
 *                    acquisition of B that first showed it; edge_of[A][B]
 *                    is its index + 1, so "seen before?" is one load;
 *   held stacks      per CPU (thread context, interrupt context) for locks
 *                    that never sleep, per thread for rwsems.
 * graph_lock serialises changes to classes and edges (readers of edge_of
 * need no lock: an entry only ever goes from 0 to its final value). It is
 * a bare lock of its own, not a spinlock_t: the validator does not validate
 * itself. Interrupts are off inside the validator, so an interrupt never
 * sees a held stack half updated; a per-CPU flag keeps the validator's own
 * printing (the console lock) out of it. */
#include "kernel/lockdep.h"
#include "kernel/lockdep_order.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/cmdline.h"
#include "kernel/ksyms.h"
#include "kernel/sched.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"

#define MAX_CLASSES 128
#define MAX_EDGES 1024
#define MAX_HELD 24             /* locks one context holds at once */
#define STACK_DEPTH 8           /* return addresses kept per stack */

struct stack {
	u64 ip[STACK_DEPTH];
};

struct lock_class {
	const void *key;
	const char *name;
	u8 subclass;
	u8 kind;                /* enum lockdep_kind */
	u16 rank;               /* lockdep_order.h; 0: not in the table */
	bool used_in_irq;       /* rule 4: taken in interrupt context ... */
	bool used_irqs_on;      /* ... and taken with interrupts enabled */
	struct stack irq_stack, irqs_on_stack;
};

struct lock_edge {
	u16 from, to;
	struct stack stack;     /* the acquisition of `to` that recorded it */
};

struct held_lock {
	const void *instance;
	u16 class;
	u8 how;                 /* LD_TRY, LD_READ */
	u64 ip[2];              /* where it was taken: the lock call's caller, its caller */
};

struct held_stack {
	u32 depth;
	struct held_lock h[MAX_HELD];
};

bool lockdep_enabled = true;
bool lockdep_debug_wrong_order;
void (*lockdep_report_hook)(enum lockdep_kind kind, enum lockdep_report what);

static u32 graph_lock;
static struct lock_class classes[MAX_CLASSES];
static u32 nr_classes;
static struct lock_edge edges[MAX_EDGES];
static u32 nr_edges;
static u16 edge_of[MAX_CLASSES][MAX_CLASSES];

/* [cpu][0] thread context, [cpu][1] interrupt context. */
static struct held_stack cpu_held[MAX_CPUS][2];
/* Sleeping locks: per thread, by thread-table slot; before the scheduler
 * runs, per CPU. */
static struct held_stack thread_held[MAX_THREADS];
static struct held_stack boot_held[MAX_CPUS];
static bool in_lockdep[MAX_CPUS];
static u32 nr_provoked;         /* reports handed to a test's hook */

/* --- small helpers --- */

static void graph_lock_acquire(void)
{
	while (__atomic_exchange_n(&graph_lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&graph_lock, __ATOMIC_RELAXED))
			cpu_relax();
}

static void graph_lock_release(void)
{
	__atomic_store_n(&graph_lock, 0, __ATOMIC_RELEASE);
}

/* The return addresses of the frames above us (frame pointers are kept). */
static void save_stack(struct stack *s)
{
	u64 rbp = (u64)__builtin_frame_address(0);
	u32 n = 0;
	memset(s, 0, sizeof(*s));
	for (u32 skip = 0; n < STACK_DEPTH && rbp >= DIRECT_MAP_BASE && !(rbp & 7); skip++) {
		u64 ret = ((u64 *)rbp)[1];
		if (ret < KERNEL_VMA)
			break;
		if (skip >= 2)  /* save_stack's caller and the lock hook: noise */
			s->ip[n++] = ret;
		rbp = ((u64 *)rbp)[0];
	}
}

static void print_ip(u64 ip)
{
	u64 off;
	const char *name = ksym_lookup(ip, &off);
	if (name)
		printk(KERN_EMERG "      %s+0x%lx\n", name, off);
	else
		printk(KERN_EMERG "      [<%016lx>]\n", ip);
}

static void print_stack(const struct stack *s)
{
	for (u32 i = 0; i < STACK_DEPTH && s->ip[i]; i++)
		print_ip(s->ip[i]);
}

static void print_class(u16 c)
{
	const struct lock_class *k = &classes[c];
	if (k->subclass)
		printk(KERN_EMERG "'%s/%u'", k->name, k->subclass);
	else
		printk(KERN_EMERG "'%s'", k->name);
}

static struct held_stack *sleep_stack(void)
{
	struct thread *t = current_thread();
	if (!t)
		return &boot_held[smp_processor_id()];
	/* thread_table is one array of MAX_THREADS: this is the slot. */
	return &thread_held[((u64)t / sizeof(*t)) % MAX_THREADS];
}

static struct held_stack *spin_stack(void)
{
	return &cpu_held[smp_processor_id()][in_interrupt() ? 1 : 0];
}

/* The stacks whose locks an acquisition here nests inside: an interrupt's
 * only its own; thread context the thread's sleeping locks and the CPU's
 * others. Returns how many (at most 2). */
static u32 context_stacks(struct held_stack *out[2])
{
	if (in_interrupt()) {
		out[0] = spin_stack();
		return 1;
	}
	out[0] = sleep_stack();
	out[1] = spin_stack();
	return 2;
}

/* --- turning off and reporting --- */

static void lockdep_off(void)
{
	__atomic_store_n(&lockdep_enabled, false, __ATOMIC_RELAXED);
}

static void table_full(const char *what)
{
	lockdep_off();
	printk(KERN_ERR "lockdep: the %s table is full: lock validation is OFF from here\n", what);
	if (lockdep_report_hook)
		lockdep_report_hook(LD_SPIN, LDR_FULL);
}

static const char *const report_title[] = {
	[LDR_CYCLE] = "possible circular locking dependency",
	[LDR_RANK] = "lock order against the documented order (docs/locking.md)",
	[LDR_RECURSION] = "possible recursive locking",
	[LDR_IRQ] = "lock taken in interrupt context and with interrupts enabled",
	[LDR_BAD_RELEASE] = "release of a lock not held here",
	[LDR_ASSERT] = "lock assertion failed",
	[LDR_FULL] = "tables full",
};

static void report_begin(enum lockdep_report what)
{
	struct thread *t = current_thread();
	printk(KERN_EMERG "\n======================================================\n");
	/* A test's own report says so: grep "^LOCKDEP:" finds the real ones. */
	printk(KERN_EMERG "LOCKDEP%s: %s\n", lockdep_report_hook ? " (provoked by a test)" : "",
	       report_title[what]);
	printk(KERN_EMERG "CPU %u, thread '%s'%s\n", smp_processor_id(), t ? t->name : "-",
	       in_interrupt() ? ", in interrupt context" : "");
	printk(KERN_EMERG "------------------------------------------------------\n");
}

static void print_held(void)
{
	struct held_stack *st[2];
	u32 n = context_stacks(st);
	printk(KERN_EMERG "  locks held here:\n");
	for (u32 s = 0; s < n; s++)
		for (u32 i = 0; i < st[s]->depth; i++) {
			const struct held_lock *h = &st[s]->h[i];
			printk(KERN_EMERG "    #%u %p ", i, h->instance);
			print_class(h->class);
			printk(KERN_EMERG "%s%s at\n", h->how & LD_READ ? " (read)" : "",
			       h->how & LD_TRY ? " (trylock)" : "");
			print_ip(h->ip[0]);
			print_ip(h->ip[1]);
		}
}

/* End a report: the current stack, then panic - or hand it to a test. */
static void report_end(enum lockdep_kind kind, enum lockdep_report what)
{
	struct stack now;
	save_stack(&now);
	print_held();
	printk(KERN_EMERG "  this acquisition's stack:\n");
	print_stack(&now);
	printk(KERN_EMERG "======================================================\n");
	if (lockdep_report_hook) {
		__atomic_add_fetch(&nr_provoked, 1, __ATOMIC_RELAXED);
		lockdep_report_hook(kind, what);
		return;
	}
	lockdep_off();
	panic("lockdep: %s", report_title[what]);
}

/* --- classes --- */

static u16 lookup_class(const void *key, u8 subclass, const char *name, enum lockdep_kind kind)
{
	for (u32 i = 0; i < nr_classes; i++)
		if (classes[i].key == key && classes[i].subclass == subclass)
			return (u16)i;
	if (nr_classes == MAX_CLASSES)
		return 0xffff;
	struct lock_class *c = &classes[nr_classes];
	c->key = key;
	c->name = name[0] == '&' ? name + 1 : name;
	c->subclass = subclass;
	c->kind = (u8)kind;
	c->rank = (u16)lockdep_rank_of(c->name);
	__atomic_store_n(&nr_classes, nr_classes + 1, __ATOMIC_RELEASE);
	return (u16)(nr_classes - 1);
}

/* The class of m taken as subclass; 0xffff when the table is full. */
static u16 class_of(struct lockdep_map *m, u8 subclass, enum lockdep_kind kind)
{
	if (m->class_cache && subclass == 0)
		return m->class_cache - 1;
	graph_lock_acquire();
	u16 c = lookup_class(m->key ? (const void *)m->key : (const void *)m, subclass,
			     m->name, kind);
	graph_lock_release();
	if (c == 0xffff)
		table_full("lock class");
	else if (subclass == 0)
		m->class_cache = c + 1;
	return c;
}

u32 lockdep_rank_of(const char *name)
{
	for (u32 i = 0; i < ARRAY_SIZE(lock_order); i++)
		if (strcmp(lock_order[i].name, name) == 0)
			return lock_order[i].rank;
	return 0;
}

void lockdep_init_map(struct lockdep_map *m, const char *name,
		      const struct lock_class_key *key, u8 subclass)
{
	m->key = key;
	m->name = name;
	m->class_cache = 0;
	m->subclass = subclass;
}

u32 lockdep_nr_classes(void) { return __atomic_load_n(&nr_classes, __ATOMIC_ACQUIRE); }
u32 lockdep_nr_edges(void) { return __atomic_load_n(&nr_edges, __ATOMIC_ACQUIRE); }

/* --- rule 1: the order graph --- */

/* A path from -> ... -> to among the recorded edges? Breadth first, every
 * class at most once, so bounded by MAX_CLASSES. Fills path[] (edge
 * indices, from first) and returns its length, or 0. Under graph_lock. */
static u32 find_path(u16 from, u16 to, u16 path[MAX_CLASSES])
{
	static u16 queue[MAX_CLASSES], via[MAX_CLASSES];   /* under graph_lock */
	static bool seen[MAX_CLASSES];
	memset(seen, 0, sizeof(seen));
	u32 head = 0, tail = 0;
	queue[tail++] = from;
	seen[from] = true;
	while (head < tail) {
		u16 c = queue[head++];
		for (u16 n = 0; n < nr_classes; n++) {
			u16 e = edge_of[c][n];
			if (!e || seen[n])
				continue;
			seen[n] = true;
			via[n] = e - 1;
			if (n == to) {
				u32 len = 0;
				for (u16 k = to; k != from; k = edges[via[k]].from)
					len++;
				u32 i = len;
				for (u16 k = to; k != from; k = edges[via[k]].from)
					path[--i] = via[k];
				return len;
			}
			queue[tail++] = n;
		}
	}
	return 0;
}

static void report_cycle(u16 from, u16 to, const u16 *path, u32 len, enum lockdep_kind kind)
{
	report_begin(LDR_CYCLE);
	printk(KERN_EMERG "  this acquisition adds the order ");
	print_class(from);
	printk(KERN_EMERG " -> ");
	print_class(to);
	printk(KERN_EMERG "\n  but the opposite order was already recorded:\n");
	for (u32 i = 0; i < len; i++) {
		const struct lock_edge *e = &edges[path[i]];
		printk(KERN_EMERG "    ");
		print_class(e->from);
		printk(KERN_EMERG " -> ");
		print_class(e->to);
		printk(KERN_EMERG ", first taken so at:\n");
		print_stack(&e->stack);
	}
	printk(KERN_EMERG "  two CPUs, one on each side, can wait for each other forever.\n");
	report_end(kind, LDR_CYCLE);
}

/* Rule 2: an edge may only go up the documented ranks (or, within one
 * class, from a lower subclass to a higher one). */
static bool rank_allows(u16 from, u16 to)
{
	const struct lock_class *a = &classes[from], *b = &classes[to];
	if (!a->rank || !b->rank)
		return true;
	if (a->key == b->key)
		return a->subclass < b->subclass;
	return a->rank < b->rank;
}

static void report_rank(u16 from, u16 to, enum lockdep_kind kind)
{
	report_begin(LDR_RANK);
	printk(KERN_EMERG "  this acquisition takes ");
	print_class(to);
	printk(KERN_EMERG " (rank %u) while holding ", classes[to].rank);
	print_class(from);
	printk(KERN_EMERG " (rank %u):\n  docs/locking.md orders them the other way\n",
	       classes[from].rank);
	report_end(kind, LDR_RANK);
}

/* Record from -> to unless seen before; report it if it contradicts the
 * documented ranks or closes a cycle (then it is not recorded). */
static void add_edge(u16 from, u16 to, enum lockdep_kind kind)
{
	static u16 path[MAX_CLASSES];           /* under graph_lock */
	if (__atomic_load_n(&edge_of[from][to], __ATOMIC_ACQUIRE))
		return;
	if (!rank_allows(from, to)) {
		report_rank(from, to, kind);
		return;
	}
	graph_lock_acquire();
	if (edge_of[from][to]) {
		graph_lock_release();
		return;
	}
	u32 len = find_path(to, from, path);
	if (len) {
		report_cycle(from, to, path, len, kind);
		graph_lock_release();
		return;
	}
	if (nr_edges == MAX_EDGES) {
		graph_lock_release();
		table_full("lock order (edge)");
		return;
	}
	struct lock_edge *e = &edges[nr_edges];
	e->from = from;
	e->to = to;
	save_stack(&e->stack);
	__atomic_store_n(&nr_edges, nr_edges + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&edge_of[from][to], (u16)nr_edges, __ATOMIC_RELEASE);
	graph_lock_release();
}

/* --- rule 3: recursion --- */

static void report_recursion(u16 c, const struct held_lock *h, bool same, enum lockdep_kind kind)
{
	report_begin(LDR_RECURSION);
	printk(KERN_EMERG "  this acquisition takes ");
	print_class(c);
	if (same && (h->how & LD_READ))
		printk(KERN_EMERG " for reading again, already read-held here: a writer "
		       "queued in between blocks the second read forever\n");
	else if (same)
		printk(KERN_EMERG " again, already held here (taken at the address below): it "
		       "waits for itself\n");
	else
		printk(KERN_EMERG " while holding another lock of the same class (taken at "
		       "the address below): two CPUs taking such a pair in opposite orders "
		       "deadlock; give the inner one a subclass if the order is fixed\n");
	print_ip(h->ip[0]);
	print_ip(h->ip[1]);
	report_end(kind, LDR_RECURSION);
}

/* Rules 1-3 for a blocking acquisition of class c. */
static void check_order(u16 c, const void *instance, enum lockdep_kind kind)
{
	struct held_stack *st[2];
	u32 n = context_stacks(st);
	for (u32 s = 0; s < n; s++)
		for (u32 i = 0; i < st[s]->depth; i++) {
			const struct held_lock *h = &st[s]->h[i];
			if (h->class == c) {
				report_recursion(c, h, h->instance == instance, kind);
				return;
			}
			add_edge(h->class, c, kind);
			if (!lockdep_enabled)
				return;
		}
}

/* --- rule 4: interrupts --- */

static void report_irq(u16 c, bool now_in_irq, enum lockdep_kind kind)
{
	struct lock_class *k = &classes[c];
	report_begin(LDR_IRQ);
	printk(KERN_EMERG "  ");
	print_class(c);
	printk(KERN_EMERG " is taken %s now; it was taken %s at:\n",
	       now_in_irq ? "in interrupt context" : "with interrupts enabled",
	       now_in_irq ? "with interrupts enabled" : "in interrupt context");
	print_stack(now_in_irq ? &k->irqs_on_stack : &k->irq_stack);
	printk(KERN_EMERG "  an interrupt arriving while this CPU holds it with interrupts "
	       "on spins forever on it\n");
	report_end(kind, LDR_IRQ);
}

static void check_irq_usage(u16 c, bool irqs_were_on, enum lockdep_kind kind)
{
	struct lock_class *k = &classes[c];
	if (in_interrupt()) {
		if (!k->used_in_irq) {
			save_stack(&k->irq_stack);
			k->used_in_irq = true;
		}
		if (k->used_irqs_on)
			report_irq(c, true, kind);
	} else if (irqs_were_on) {
		if (!k->used_irqs_on) {
			save_stack(&k->irqs_on_stack);
			k->used_irqs_on = true;
		}
		if (k->used_in_irq)
			report_irq(c, false, kind);
	}
}

/* --- the hooks --- */

#define LD_NESTED_SHIFT 4       /* LD_NESTED(): how >> 4 is the subclass */

/* Where the lock was taken: the return address `depth` frames up. */
static inline __attribute__((always_inline)) u64 caller_ip(u32 depth)
{
	u64 rbp = (u64)__builtin_frame_address(0);
	for (u32 i = 0; i < depth && rbp >= DIRECT_MAP_BASE && !(rbp & 7); i++)
		rbp = ((u64 *)rbp)[0];
	return rbp >= DIRECT_MAP_BASE && !(rbp & 7) ? ((u64 *)rbp)[1] : 0;
}

void __lock_acquire(struct lockdep_map *m, const void *instance, enum lockdep_kind kind,
		    u32 how)
{
	u64 flags = local_irq_save();
	u32 cpu = smp_processor_id();
	if (in_lockdep[cpu] || !lockdep_enabled)
		goto out;
	in_lockdep[cpu] = true;
	u16 c = class_of(m, (u8)(how >> LD_NESTED_SHIFT), kind);
	if (c == 0xffff)
		goto done;
	check_irq_usage(c, flags & RFLAGS_IF, kind);
	if (!(how & LD_TRY) && lockdep_enabled)
		check_order(c, instance, kind);
	struct held_stack *st = kind == LD_SLEEP && !in_interrupt() ? sleep_stack() : spin_stack();
	if (st->depth == MAX_HELD) {
		table_full("held lock");
		goto done;
	}
	st->h[st->depth++] = (struct held_lock){ .instance = instance, .class = c,
						 .how = (u8)(how & (LD_TRY | LD_READ)),
						 .ip = { caller_ip(1), caller_ip(2) } };
done:
	in_lockdep[cpu] = false;
out:
	local_irq_restore(flags);
}

static bool remove_held(struct held_stack *st, const void *instance)
{
	for (u32 i = st->depth; i-- > 0;) {
		if (st->h[i].instance != instance)
			continue;
		for (u32 j = i + 1; j < st->depth; j++)
			st->h[j - 1] = st->h[j];
		st->depth--;
		return true;
	}
	return false;
}

void __lock_release(struct lockdep_map *m, const void *instance, enum lockdep_kind kind)
{
	u64 flags = local_irq_save();
	u32 cpu = smp_processor_id();
	if (in_lockdep[cpu] || !lockdep_enabled)
		goto out;
	in_lockdep[cpu] = true;
	struct held_stack *st = kind == LD_SLEEP && !in_interrupt() ? sleep_stack() : spin_stack();
	if (!remove_held(st, instance)) {
		report_begin(LDR_BAD_RELEASE);
		printk(KERN_EMERG "  releasing '%s' (%p), which this %s does not hold\n",
		       m->name, instance, kind == LD_SLEEP ? "thread" : "CPU");
		report_end(kind, LDR_BAD_RELEASE);
	}
	in_lockdep[cpu] = false;
out:
	local_irq_restore(flags);
}

/* LD_READ if held for reading, LD_READ << 1 for writing, 0 if not held. */
static u32 held_mode(const void *instance)
{
	struct held_stack *st[2];
	u32 n = context_stacks(st);
	for (u32 s = 0; s < n; s++)
		for (u32 i = 0; i < st[s]->depth; i++)
			if (st[s]->h[i].instance == instance)
				return st[s]->h[i].how & LD_READ ? LD_READ : LD_READ << 1;
	return 0;
}

bool __lock_is_held(const void *instance, bool for_write)
{
	u64 flags = local_irq_save();
	u32 mode = held_mode(instance);
	local_irq_restore(flags);
	if (!lockdep_enabled)
		return true;
	return for_write ? mode == (LD_READ << 1) : mode != 0;
}

void lockdep_assert_failed(const char *what, const char *file, int line)
{
	u64 flags = local_irq_save();
	u32 cpu = smp_processor_id();
	if (in_lockdep[cpu] || !lockdep_enabled)
		goto out;
	in_lockdep[cpu] = true;
	report_begin(LDR_ASSERT);
	printk(KERN_EMERG "  %s:%d: %s is not held here\n", file, line, what);
	report_end(LD_SPIN, LDR_ASSERT);
	in_lockdep[cpu] = false;
out:
	local_irq_restore(flags);
}

/* --- boot word, statistics --- */

void lockdep_init(void)
{
	cmdline_debug_switch("lockdep", "lockdep_debug_wrong_order", &lockdep_debug_wrong_order,
			     "the lockdep suite takes a PTE lock, then page_table_lock");
	if (cmdline_long("lockdep", 1) == 0) {
		lockdep_off();
		printk("lockdep: off (lockdep=0): locking rules are not checked\n");
		return;
	}
	printk("lockdep: on: lock order, recursion, interrupt use and lock assertions are "
	       "checked (%u classes, %u orders seen so far)\n", lockdep_nr_classes(),
	       lockdep_nr_edges());
}

void lockdep_print_stats(bool all)
{
	u32 nc = lockdep_nr_classes(), ne = lockdep_nr_edges();
	printk("lockdep: %u lock classes, %u orders (edges) recorded, %s (%u provoked by tests)\n",
	       nc, ne, lockdep_enabled ? "no report" : "validator off", nr_provoked);
	if (!all)
		return;
	for (u32 i = 0; i < nc; i++) {
		const struct lock_class *k = &classes[i];
		printk("lockdep: class %s%s%s rank %u%s%s\n", k->name, k->subclass ? "/1" : "",
		       k->kind == LD_SLEEP ? " (sleeping)" : "", k->rank,
		       k->used_in_irq ? " in-irq" : "", k->used_irqs_on ? " irqs-on" : "");
	}
	for (u32 i = 0; i < ne; i++)
		printk("lockdep: edge %s%s -> %s%s\n", classes[edges[i].from].name,
		       classes[edges[i].from].subclass ? "/1" : "", classes[edges[i].to].name,
		       classes[edges[i].to].subclass ? "/1" : "");
}
