/* SPDX-License-Identifier: MIT */
/* arch/x86_64/tsc_calibrate.h - how fast the TSC ticks, from whatever clock
 * this PC really has.
 *
 * The TSC is the kernel's stopwatch (udelay, timeouts, the APIC timer's
 * calibration), but nothing on the CPU says its rate for sure; it must be
 * read from CPUID or measured against a clock of known rate. Real PCs differ
 * in which clocks work: recent chipsets may clock-gate the 8254 PIT (it
 * answers port reads but does not count), hardware-reduced ACPI has no PM
 * timer, and a port read costs about a microsecond, so a loop of millions of
 * them is seconds to minutes. The order (Linux's, roughly) is:
 *
 *   1. CPUID leaf 0x15 (TSC/crystal ratio and crystal frequency), or leaf
 *      0x16 (base frequency in MHz): no measurement at all;
 *   2. the HPET (ACPI "HPET" table; memory-mapped, 10 MHz or more);
 *   3. the ACPI PM timer (3.579545 MHz, I/O port from the FADT);
 *   4. the PIT (1.193182 MHz, ports 0x42/0x43/0x61), last: the one most
 *      often dead on new machines.
 *
 * A source is measured in a few runs of CALIBRATE_MS each, and the median
 * kept. Each end of a run is a sample whose clock read sits between two
 * TSC reads that are close together (START_SAMPLES below): a sample an SMI
 * or a descheduled virtual CPU stretched is not used as an end. Every wait is bounded by TSC cycles, never by a count of reads:
 * a run gives up when its counter has not moved for STALL_CYCLES ("the
 * counter stopped moving": a gated PIT reading 0x00 or 0xFF is caught in
 * a few milliseconds) or when the run takes RUN_MAX_CYCLES. When no source
 * works, the TSC is assumed to run at TSC_FALLBACK_HZ (see below) and a
 * message says so.
 *
 * The logic is pure: clocks and the TSC are reached through function
 * pointers (struct tsc_clock, struct tsc_env), so tests/host/
 * test_tsc_calibrate.c drives it with fake clocks. The real sources (HPET,
 * PM timer, PIT, CPUID) are below the "kernel only" line of
 * tsc_calibrate.c. Boot CPU only, before the other CPUs start; no locking.
 */
#ifndef PAGODA_TSC_CALIBRATE_H
#define PAGODA_TSC_CALIBRATE_H

#include "kernel/types.h"

#define CALIBRATE_MS 10
#define CALIBRATE_RUNS 5
/* A counter that has not changed for this many TSC cycles is dead: at
 * 6 GHz that is 0.33 ms (400 PIT ticks), at 500 MHz 4 ms. */
#define STALL_CYCLES 2000000UL
/* One run of CALIBRATE_MS takes 60M cycles at 6 GHz; past this bound the
 * reference clock runs far too slowly to be trusted. */
#define RUN_MAX_CYCLES 400000000UL
/* A run starts at the narrowest of START_SAMPLES samples (clock read
 * between two TSC reads) and ends at the first sample past CALIBRATE_MS
 * whose bracket is at most SAMPLE_WIDTH_FACTOR times the narrowest seen
 * plus SAMPLE_SLACK_CYCLES: one that an SMI or a preempted virtual CPU
 * widened by far more than a read costs is not an end. */
#define START_SAMPLES 4
#define SAMPLE_WIDTH_FACTOR 4
#define SAMPLE_SLACK_CYCLES 20000UL
/* Rates outside this range are a broken measurement, not a CPU. */
#define TSC_MIN_HZ 100000000UL         /* 100 MHz */
#define TSC_MAX_HZ 20000000000UL       /* 20 GHz */
/* With no clock at all the TSC is assumed to run at 3 GHz: a guess on the
 * high side of today's PCs, so that on most machines every delay lasts
 * longer than asked (a short INIT-SIPI delay can lose a CPU; a long one
 * only costs time). */
#define TSC_FALLBACK_HZ 3000000000UL

/* A reference clock: a free-running counter of `bits` bits that counts up
 * (a down-counter's read() returns it negated). start() prepares it and
 * returns its rate in Hz, or 0 when the hardware is not there; stop()
 * leaves it as start() found it (called only after a successful start). */
struct tsc_clock {
	const char *name;
	u32 bits;
	u64 (*start)(void *ctx);
	u64 (*read)(void *ctx);
	void (*stop)(void *ctx);
	void *ctx;
};

/* The CPUID words the TSC rate can come from; zero where a leaf is absent
 * (max_leaf says which exist). */
struct tsc_cpuid {
	u32 max_leaf;                   /* CPUID.0:EAX */
	bool intel;                     /* vendor "GenuineIntel" */
	u32 l15_eax, l15_ebx, l15_ecx;  /* denominator, numerator, crystal Hz */
	u32 l16_eax;                    /* base frequency, MHz */
};

/* TSC rate from CPUID, or 0 if CPUID does not give it. Leaf 0x15 is
 * trusted only on Intel CPUs (its meaning is Intel's); a ratio without a
 * crystal frequency takes the base frequency of leaf 0x16, as Linux does. */
u64 tsc_hz_from_cpuid(const struct tsc_cpuid *c, const char **how);

struct tsc_env {
	u64 (*rdtsc)(void *ctx);
	void *ctx;
	struct tsc_cpuid cpuid;
	const struct tsc_clock *clocks; /* tried in this order */
	u32 nr_clocks;
};

struct tsc_result {
	u64 tsc_hz;
	const char *source;             /* "CPUID 0x15", a clock's name, or "fallback" */
	bool fallback;                  /* no source worked: TSC_FALLBACK_HZ */
};

/* Why one run against a clock failed (or TSC_RUN_OK). */
enum tsc_run_status {
	TSC_RUN_OK,
	TSC_RUN_STALLED,                /* the counter stopped moving */
	TSC_RUN_TOO_SLOW,               /* RUN_MAX_CYCLES passed first */
	TSC_RUN_IMPLAUSIBLE,            /* a rate outside TSC_MIN_HZ..TSC_MAX_HZ */
};

/* One run against clk (started, counting at clk_hz): the TSC cycles over
 * CALIBRATE_MS of it, as a rate in *tsc_hz. */
enum tsc_run_status tsc_measure_run(const struct tsc_env *env, const struct tsc_clock *clk,
				    u64 clk_hz, u64 *tsc_hz);
/* The whole order above; always fills *out (the fallback included) and
 * prints what it used and why each earlier source was passed over.
 * Returns 0, or -1 when it fell back. */
int tsc_calibrate(const struct tsc_env *env, struct tsc_result *out);

#ifndef HOST_TEST
/* The boot CPU's TSC rate in Hz, from the real CPUID and clocks; also kept
 * in tsc_boot_result for the tests. "tsc_calibrate_skip=cpuid,hpet,pm,pit"
 * on the command line hides sources, so the test matrix can take each
 * path on QEMU, whose machines have them all. */
struct tsc_result tsc_calibrate_boot_cpu(void);
extern struct tsc_result tsc_boot_result;
#endif

#endif
