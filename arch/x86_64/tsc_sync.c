/* SPDX-License-Identifier: MIT */
/* arch/x86_64/tsc_sync.c - checking that every CPU's TSC is in step with the
 * boot CPU's (tsc_sync.h). */
#include "arch/x86_64/tsc_sync.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"

#define WARP_ROUNDS 2000        /* per CPU, in strict turns */
#define CPUID_8000_0007_EDX_INVARIANT_TSC (1u << 8)

bool tsc_reliable = true;

/* Negative control: tsc_debug_skew makes CPU 1's reads in the check a
 * second behind (the tsc suite's cpus_in_step must then fail). It imitates
 * a counter set back rather than setting one: QEMU's TCG ignores writes to
 * the TSC, and the point is to see the check catch a warp. */
static bool tsc_debug_skew;
#define DEBUG_SKEW_CYCLES 1000000000UL

/* The shared state of one pair's run. The lock is a bare word rather than
 * a spinlock_t: it is taken from an IPI on one side and with interrupts
 * off on the other, is never held with any other lock, and must add as
 * little time as it can between the two reads it orders. */
static struct {
	u32 lock;
	u32 arrived;            /* both CPUs start the loop together */
	u32 done;               /* ...and the result is read when both are out */
	u32 turn;               /* rounds taken by both, in turn */
	u64 last;
	struct tsc_warp warp;
} run;

static u64 rdtsc_ordered(void)
{
	/* LFENCE: the read happens after the lock is held, not speculatively
	 * before (Intel SDM: RDTSC is not serialising). */
	__asm__ __volatile__("lfence" ::: "memory");
	u64 t = rdtsc();
	if (tsc_debug_skew && smp_processor_id() == 1)
		t -= DEBUG_SKEW_CYCLES;
	return t;
}

/* The two CPUs take strict turns (run.turn: even for the first to
 * arrive, odd for the other), so their reads interleave on every round
 * even where the two are not scheduled at the same moment (virtual CPUs
 * are host threads); the lock still orders each read before its store. */
static void warp_loop(void *unused)
{
	(void)unused;
	u32 me = __atomic_fetch_add(&run.arrived, 1, __ATOMIC_SEQ_CST);
	for (u32 i = 0; i < WARP_ROUNDS; i++) {
		while ((__atomic_load_n(&run.turn, __ATOMIC_ACQUIRE) & 1) != me)
			cpu_relax();
		while (__atomic_exchange_n(&run.lock, 1, __ATOMIC_ACQUIRE))
			cpu_relax();
		u64 prev = run.last, now = rdtsc_ordered();
		run.last = now;
		if (prev > now) {
			run.warp.warps++;
			if (prev - now > run.warp.max_warp)
				run.warp.max_warp = prev - now;
		}
		__atomic_store_n(&run.lock, 0, __ATOMIC_RELEASE);
		__atomic_add_fetch(&run.turn, 1, __ATOMIC_RELEASE);
	}
	__atomic_add_fetch(&run.done, 1, __ATOMIC_RELEASE);
}

void tsc_check_pair(u32 cpu, struct tsc_warp *out)
{
	u64 flags = local_irq_save();
	/* A pair is two CPUs: the call below would wait for itself. */
	BUG_ON(cpu == smp_processor_id());
	run.lock = 0;
	run.arrived = run.done = run.turn = 0;
	run.last = 0;
	run.warp = (struct tsc_warp){ 0, 0 };
	smp_call_function_single(cpu, warp_loop, NULL, false);
	warp_loop(NULL);
	while (__atomic_load_n(&run.done, __ATOMIC_ACQUIRE) < 2)
		cpu_relax();
	local_irq_restore(flags);
	*out = run.warp;
}

void tsc_sync_check(void)
{
	cmdline_debug_switch("TSC", "tsc_debug_skew", &tsc_debug_skew,
			     "CPU 1 reads its time-stamp counter a second behind in the check");
	u32 a, b, c, d;
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	bool invariant = false;
	if (a >= 0x80000007) {
		cpuid(0x80000007, 0, &a, &b, &c, &d);
		invariant = (d & CPUID_8000_0007_EDX_INVARIANT_TSC) != 0;
	}
	/* tsc_sync_cpus=N checks only about N of the other CPUs, evenly
	 * spaced and always the highest: each pair takes strict turns, which
	 * on real CPUs costs microseconds but under QEMU's TCG with many
	 * virtual CPUs on few host cores about a second (smp-128-boot). */
	u32 others = num_online_cpus() - 1;
	long limit = cmdline_long("tsc_sync_cpus", 0);
	u32 stride = limit > 0 && (u64)limit < others ? (others + (u32)limit - 1) / (u32)limit : 1;
	u32 checked = 0;
	u32 cpu;
	for_each_online_cpu(cpu) {
		if (cpu == 0 || (others - cpu) % stride)
			continue;
		struct tsc_warp w;
		tsc_check_pair(cpu, &w);
		checked++;
		if (w.warps) {
			tsc_reliable = false;
			pr_warn("TSC: CPU %u is out of step with CPU 0: %lu warps, up to %lu cycles "
				"back; times compared across CPUs (event log, benchmarks) are off\n",
				cpu, w.warps, w.max_warp);
		}
	}
	printk("TSC: %s%s\n", invariant ? "invariant (constant rate)" :
	       "not invariant: its rate may change with power states",
	       !checked ? "" : tsc_reliable ? "; every CPU checked in step with CPU 0" : "");
	if (checked < others)
		printk("TSC: tsc_sync_cpus=%ld: %u of the %u other CPUs checked\n", limit, checked,
		       others);
}
