/* SPDX-License-Identifier: MIT */
/* kernel/trace.h - a cheap per-CPU event log, for teaching and debugging.
 *
 * Each CPU appends fixed-size records (timestamp, event, two arguments) to
 * its own ring buffer, with interrupts disabled for the few stores it takes:
 * no lock, no allocation, callable from IPI handlers and with spinlocks held.
 * Recording is off unless the command line says "trace" (then a disabled
 * trace costs one load and a branch per event). trace_dump() prints every
 * CPU's records over the console in timestamp order, one line each:
 *
 *     TRACE <cpu> <tsc> <event-name> <a> <b>
 *
 * tools/trace-svg turns such lines from a serial log into a per-CPU timeline
 * picture (SVG), tools/trace-perfetto into trace-event JSON for Perfetto's
 * UI; docs/tracing.md says how, docs/tlb-shootdown.md shows one.
 * Opening /proc/trace dumps the log, /proc/trace_clear empties it
 * (kernel/procfs.c); "trace_dump_at_exit" dumps it at poweroff or panic.
 *
 * The events and what a, b mean:
 *   TR_FLUSH_REQ      a flush of mm requested here        a=mm id, b=pages (0 = full)
 *   TR_IPI_SEND       a flush IPI sent                    a=target cpu, b=mm id
 *   TR_IPI_RECV       a flush IPI handled here            a=initiator cpu, b=mm id
 *   TR_FLUSH_DONE     the initiator saw every ack         a=mm id, b=CPUs waited for
 *   TR_GATHER_START   tlb_gather_mmu                      a=mm id
 *   TR_GATHER_FINISH  tlb_finish_mmu                      a=mm id, b=pages freed
 *   TR_TABLE_QUEUED   a page table handed to RCU          a=table phys, b=tables in batch
 *   TR_TABLE_FREED    a page table freed after a GP       a=table phys
 *   TR_GP_START       an RCU grace period began           a=GP number
 *   TR_GP_END         an RCU grace period ended           a=GP number
 * The memory manager's events (a is a user address, printed in hex):
 *   TR_FAULT          a page fault reached handle_mm_fault a=address, b=error code
 *                     (the CPU's kind: bit 0 present, 1 write, 2 user, 4 fetch)
 *   TR_COW_COPY       a write fault copied the page       a=address, b=mm id
 *   TR_COW_REUSE      a write fault reused the page       a=address, b=mm id
 *   TR_THP_SPLIT_PMD  a huge PMD became 512 PTEs          a=address, b=mm id
 *   TR_THP_SPLIT_PAGE a 2 MiB page became 512 pages       a=page phys
 *   TR_THP_COLLAPSE   512 PTEs became one huge PMD        a=address, b=mm id
 *   TR_UFFD_WP        a write hit a uffd-wp entry         a=address, b=1 sync
 *                     (the handler decides), 0 async (protection cleared)
 * An mm id is the mm's page-table root (mm->pgd_phys): stable and unique.
 */
#ifndef PAGODA_KERNEL_TRACE_H
#define PAGODA_KERNEL_TRACE_H

#include "kernel/types.h"

enum trace_event {
	TR_FLUSH_REQ,
	TR_IPI_SEND,
	TR_IPI_RECV,
	TR_FLUSH_DONE,
	TR_GATHER_START,
	TR_GATHER_FINISH,
	TR_TABLE_QUEUED,
	TR_TABLE_FREED,
	TR_GP_START,
	TR_GP_END,
	TR_FAULT,
	TR_COW_COPY,
	TR_COW_REUSE,
	TR_THP_SPLIT_PMD,
	TR_THP_SPLIT_PAGE,
	TR_THP_COLLAPSE,
	TR_UFFD_WP,
	TR_NR_EVENTS
};

extern bool trace_enabled;      /* "trace" on the command line */

void trace_record(enum trace_event ev, u64 a, u64 b);

static inline void trace_event(enum trace_event ev, u64 a, u64 b)
{
	if (__builtin_expect(trace_enabled, 0))
		trace_record(ev, a, b);
}

/* Print every CPU's records, oldest first, then forget them. The output:
 *
 *     TRACE-BEGIN cpus=<N> tsc_khz=<K> ring=<records per CPU>
 *     TRACE <cpu> <tsc> <event-name> <a> <b>        (merged, in TSC order)
 *     TRACE-LOST <cpu> <n>                           (only CPUs that lost some)
 *     TRACE-END records=<printed> lost=<overwritten before they were printed>
 *
 * a and b are decimal, except addresses in a (hex, 0x...): a table's or a
 * page's physical address, a fault's or a COW's user address.
 * Safe while other CPUs keep recording: each CPU's ring is read from a
 * snapshot of its head, and a record overwritten while being read is
 * counted as lost, never printed torn. One dump at a time; a second caller
 * gets a message instead of waiting. */
void trace_dump(void);
void trace_init(void);          /* reads the command line */
/* Give CPU cpu (not the boot CPU, whose records are static) its records,
 * before it is started: false, with a message, when there is no memory
 * for them (it then records nothing). */
bool trace_cpu_prepare(u32 cpu);

/* --- the rest of the interface: tests, /proc/trace, the exit paths --- */

/* The dump as lines (no newline) handed to emit(line, arg): to the
 * consoles (trace_emit_console), or to a test that reads them back. clear:
 * forget what was printed, as trace_dump() does. totals (may be NULL) gets
 * the TRACE-END figures. Returns false, emitting nothing, when another dump
 * is running. */
struct trace_totals {
	u64 records, lost;
};
bool trace_dump_to(void (*emit)(const char *line, void *arg), void *arg, bool clear,
		   struct trace_totals *totals);
void trace_emit_console(const char *line, void *arg);
/* Forget every record so far (a dump then starts from here). */
void trace_clear(void);
/* Turn recording on or off at run time (the command line sets the start). */
void trace_set_enabled(bool on);
/* "flush_req", "ipi_send", ...; "unknown" for a bad number. */
const char *trace_event_name(u32 ev);
/* The command line word "trace_dump_at_exit": kernel/power.c and
 * kernel/panic.c call this just before the machine stops. */
void trace_dump_at_exit(void);

/* For tests/kernel/kernel/test_trace.c only: called by a dump between
 * copying a record of cpu and checking that it was not overwritten
 * meanwhile, so that a test can overwrite it right there. NULL (the
 * default) for none. */
extern void (*trace_test_after_copy)(u32 cpu);

/* Records per CPU; when a ring is full the oldest record is overwritten and
 * counted as lost. */
#define TRACE_RING 1024

#endif
