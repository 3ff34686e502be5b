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
 * picture (SVG). docs/tlb-shootdown.md shows one.
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
	TR_NR_EVENTS
};

extern bool trace_enabled;      /* "trace" on the command line */

void trace_record(enum trace_event ev, u64 a, u64 b);

static inline void trace_event(enum trace_event ev, u64 a, u64 b)
{
	if (__builtin_expect(trace_enabled, 0))
		trace_record(ev, a, b);
}

/* Print every CPU's records, oldest first, then forget them. */
void trace_dump(void);
void trace_init(void);          /* reads the command line */

#endif
