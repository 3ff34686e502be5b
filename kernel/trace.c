/* kernel/trace.c - the per-CPU event log; see trace.h. (First version:
 * recording only; the dump and the timeline tool come next.) */
#include "kernel/trace.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"

#define TRACE_RING 1024

struct trace_rec {
	u64 tsc;
	u64 a, b;
	u32 ev;
};

struct trace_ring {
	u32 head;               /* next slot; written only by its own CPU */
	struct trace_rec rec[TRACE_RING];
};

bool trace_enabled;
static struct trace_ring rings[MAX_CPUS];

void trace_record(enum trace_event ev, u64 a, u64 b)
{
	u64 flags = local_irq_save();
	struct trace_ring *r = &rings[smp_processor_id()];
	struct trace_rec *x = &r->rec[r->head % TRACE_RING];
	x->tsc = rdtsc();
	x->ev = ev;
	x->a = a;
	x->b = b;
	r->head++;
	local_irq_restore(flags);
}

void trace_dump(void)
{
}

void trace_init(void)
{
	trace_enabled = cmdline_has("trace");
}
