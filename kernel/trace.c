/* SPDX-License-Identifier: MIT */
/* kernel/trace.c - the per-CPU event log; the interface and the dump format
 * are in trace.h, how to use it in docs/tracing.md.
 *
 * Each CPU owns one ring of TRACE_RING records and counts the records it
 * ever wrote there: record number i lives in slot i % TRACE_RING until
 * record i + TRACE_RING overwrites it. Only the owning CPU writes its ring,
 * with interrupts off, so recording needs no lock. It writes record i in
 * three steps: claimed = i + 1 ("slot i % TRACE_RING is about to change"),
 * the record itself, head = i + 1 ("record i is complete").
 *
 * A dump reads other CPUs' rings while they keep writing. It takes each
 * head once (records past it wait for the next dump) and copies a record
 * before trusting it; then it reads "claimed": if the owner has in the
 * meantime claimed record i + TRACE_RING, the copy of record i may be torn
 * and is counted as lost instead of printed. This works because x86 makes a
 * CPU's stores visible in program order: a reader that saw any store into
 * the slot also sees the claim made before it. (With head alone, a full
 * ring's oldest record would look the same as one being overwritten.)
 *
 * "start" is the first record not yet dumped or cleared. Only a dumper or
 * trace_clear() moves it, and only one of those runs at a time (dump_busy).
 */
#include "kernel/trace.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/console.h"
#include "kernel/string.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/apic.h"
#include "mm/buddy.h"
#include "mm/page.h"

_Static_assert((TRACE_RING & (TRACE_RING - 1)) == 0, "TRACE_RING: a power of two");

struct trace_rec {
	u64 tsc;
	u64 a, b;
	u32 ev;
};

/* One CPU's records are 2^TRACE_RING_ORDER pages. */
#define TRACE_RING_ORDER 3
_Static_assert(sizeof(struct trace_rec) * TRACE_RING == PAGE_SIZE << TRACE_RING_ORDER,
	       "TRACE_RING records fill 2^TRACE_RING_ORDER pages");

struct trace_ring {
	u64 head;               /* records complete; only its own CPU writes it */
	u64 claimed;            /* records begun: head, or head + 1 while writing */
	u64 start;              /* first record not yet dumped; under dump_busy */
	struct trace_rec *rec;  /* TRACE_RING records; NULL: this CPU records nothing */
};

bool trace_enabled;
static bool dump_at_exit;
/* The records of CPUs that exist only: the boot CPU's are static (it
 * records before the page allocator exists), the others' come from the
 * page allocator when the CPU is started (trace_cpu_prepare). Static
 * records for every possible CPU would be NR_CPUS x 32 KiB, 8 MiB of a
 * 128 MiB machine. A CPU without records (none could be allocated) stays
 * at head 0, so readers find it empty. */
static struct trace_rec boot_cpu_recs[TRACE_RING];
static struct trace_ring rings[MAX_CPUS] = { [0] = { .rec = boot_cpu_recs } };
static u32 dump_busy;           /* 1 while a dump or a clear runs */
void (*trace_test_after_copy)(u32 cpu);

static const char *const event_names[TR_NR_EVENTS] = {
	[TR_FLUSH_REQ] = "flush_req",
	[TR_IPI_SEND] = "ipi_send",
	[TR_IPI_RECV] = "ipi_recv",
	[TR_FLUSH_DONE] = "flush_done",
	[TR_GATHER_START] = "gather_start",
	[TR_GATHER_FINISH] = "gather_finish",
	[TR_TABLE_QUEUED] = "table_queued",
	[TR_TABLE_FREED] = "table_freed",
	[TR_GP_START] = "gp_start",
	[TR_GP_END] = "gp_end",
	[TR_FAULT] = "fault",
	[TR_COW_COPY] = "cow_copy",
	[TR_COW_REUSE] = "cow_reuse",
	[TR_THP_SPLIT_PMD] = "thp_split_pmd",
	[TR_THP_SPLIT_PAGE] = "thp_split_page",
	[TR_THP_COLLAPSE] = "thp_collapse",
	[TR_UFFD_WP] = "uffd_wp",
};

/* Is a an address (printed in hex, as trace.h says)? */
static bool event_a_is_address(u32 ev)
{
	return ev == TR_TABLE_QUEUED || ev == TR_TABLE_FREED ||
	       (ev >= TR_FAULT && ev < TR_NR_EVENTS);
}

const char *trace_event_name(u32 ev)
{
	return ev < TR_NR_EVENTS && event_names[ev] ? event_names[ev] : "unknown";
}

void trace_record(enum trace_event ev, u64 a, u64 b)
{
	u64 flags = local_irq_save();   /* an interrupt's record must not land in our slot */
	struct trace_ring *r = &rings[smp_processor_id()];
	if (!r->rec) {
		local_irq_restore(flags);
		return;
	}
	u64 h = r->head;
	struct trace_rec *x = &r->rec[h % TRACE_RING];
	/* The claim before the record's stores, they before the new head
	 * (see the top comment; x86 keeps stores in order, the compiler
	 * must be told). */
	__atomic_store_n(&r->claimed, h + 1, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	x->tsc = rdtsc();
	x->ev = ev;
	x->a = a;
	x->b = b;
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
	local_irq_restore(flags);
}

bool trace_cpu_prepare(u32 cpu)
{
	if (rings[cpu].rec)
		return true;
	struct page *pg = alloc_pages(GFP_KERNEL, TRACE_RING_ORDER);
	if (!pg) {
		printk(KERN_WARNING "trace: no memory for CPU %u's records; it records nothing\n", cpu);
		return false;
	}
	rings[cpu].rec = page_address(pg);
	return true;
}

void trace_set_enabled(bool on)
{
	WRITE_ONCE(trace_enabled, on);
}

/* ---- reading the rings ---- */

/* One CPU's place in the merge. */
struct cursor {
	u64 pos, end;           /* next record to read; the head taken once */
	u64 lost;
	bool have;              /* rec holds record pos-1, valid, not yet printed */
	struct trace_rec rec;
};

/* Copy the next record of cpu that is still intact into c->rec; count the
 * ones overwritten before we got to them. */
static void cursor_next(struct cursor *c, u32 cpu)
{
	struct trace_ring *r = &rings[cpu];
	c->have = false;
	while (c->pos < c->end) {
		/* Record i's slot is reused by record i + TRACE_RING, which
		 * makes claimed i + TRACE_RING + 1. */
		u64 claimed = __atomic_load_n(&r->claimed, __ATOMIC_ACQUIRE);
		if (claimed - c->pos > TRACE_RING) {
			/* Overwritten already: skip to the oldest one left. */
			u64 oldest = claimed - TRACE_RING;
			if (oldest > c->end)
				oldest = c->end;
			c->lost += oldest - c->pos;
			c->pos = oldest;
			continue;
		}
		c->rec = r->rec[c->pos % TRACE_RING];
		if (trace_test_after_copy)
			trace_test_after_copy(cpu);
		/* The copy's loads before this second look at the claim. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		claimed = __atomic_load_n(&r->claimed, __ATOMIC_ACQUIRE);
		c->pos++;
		if (claimed - (c->pos - 1) <= TRACE_RING) {
			c->have = true;
			return;
		}
		c->lost++;              /* it changed under us */
	}
}

static bool dump_lock(void)
{
	return __atomic_exchange_n(&dump_busy, 1, __ATOMIC_ACQUIRE) == 0;
}

static void dump_unlock(void)
{
	__atomic_store_n(&dump_busy, 0, __ATOMIC_RELEASE);
}

static u32 nr_rings(void)
{
	/* Before the APs are counted, only the boot CPU can have records. */
	return nr_cpus ? (nr_cpus < MAX_CPUS ? nr_cpus : MAX_CPUS) : 1;
}

bool trace_dump_to(void (*emit)(const char *line, void *arg), void *arg, bool clear,
		   struct trace_totals *totals)
{
	if (!dump_lock())
		return false;
	static struct cursor cur[MAX_CPUS];     /* under dump_busy */
	u32 n = nr_rings();
	char line[128];
	u64 printed = 0, lost = 0;

	for (u32 c = 0; c < n; c++) {
		struct cursor *k = &cur[c];
		k->end = __atomic_load_n(&rings[c].head, __ATOMIC_ACQUIRE);
		k->pos = rings[c].start;
		k->lost = 0;
		cursor_next(k, c);
	}
	snprintf(line, sizeof(line), "TRACE-BEGIN cpus=%u tsc_khz=%lu ring=%u",
		 n, tsc_khz, TRACE_RING);
	emit(line, arg);

	/* Merge: print the oldest of the CPUs' next records, repeat. Each
	 * CPU's own records are already in TSC order. */
	for (;;) {
		struct cursor *best = NULL;
		u32 best_cpu = 0;
		for (u32 c = 0; c < n; c++)
			if (cur[c].have && (!best || cur[c].rec.tsc < best->rec.tsc)) {
				best = &cur[c];
				best_cpu = c;
			}
		if (!best)
			break;
		const struct trace_rec *x = &best->rec;
		bool hex_a = event_a_is_address(x->ev);
		snprintf(line, sizeof(line), hex_a ? "TRACE %u %lu %s 0x%lx %lu" : "TRACE %u %lu %s %lu %lu",
			 best_cpu, x->tsc, trace_event_name(x->ev), x->a, x->b);
		emit(line, arg);
		printed++;
		cursor_next(best, best_cpu);
	}

	for (u32 c = 0; c < n; c++) {
		if (cur[c].lost) {
			snprintf(line, sizeof(line), "TRACE-LOST %u %lu", c, cur[c].lost);
			emit(line, arg);
		}
		lost += cur[c].lost;
		if (clear)
			rings[c].start = cur[c].end;
	}
	snprintf(line, sizeof(line), "TRACE-END records=%lu lost=%lu", printed, lost);
	emit(line, arg);
	if (totals) {
		totals->records = printed;
		totals->lost = lost;
	}
	dump_unlock();
	return true;
}

/* Straight to the consoles, whatever the log level: the dump was asked
 * for. One write per line, so another CPU's message cannot split it. */
void trace_emit_console(const char *line, void *arg)
{
	(void)arg;
	char buf[144];
	size_t n = strlcpy(buf, line, sizeof(buf) - 1);
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	console_write(buf, n);
}

void trace_dump(void)
{
	if (!trace_dump_to(trace_emit_console, NULL, true, NULL))
		printk(KERN_WARNING "trace: another dump is running; not dumping twice\n");
}

void trace_clear(void)
{
	if (!dump_lock()) {
		printk(KERN_WARNING "trace: a dump is running; not cleared\n");
		return;
	}
	u32 c;
	for_each_possible_cpu(c)
		rings[c].start = __atomic_load_n(&rings[c].head, __ATOMIC_ACQUIRE);
	dump_unlock();
}

void trace_dump_at_exit(void)
{
	if (dump_at_exit)
		trace_dump();
}

void trace_init(void)
{
	/* Dumping at exit is pointless without recording: it implies "trace". */
	dump_at_exit = cmdline_has("trace_dump_at_exit");
	trace_set_enabled(cmdline_has("trace") || dump_at_exit);
	if (trace_enabled)
		printk("trace: recording (%u records per CPU); docs/tracing.md shows how to dump\n",
		       TRACE_RING);
}
