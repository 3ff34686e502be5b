/* SPDX-License-Identifier: MIT */
/* arch/x86_64/tsc_sync.h - are the CPUs' time-stamp counters in step?
 *
 * Pagoda times delays, benchmarks and its event log with RDTSC. Each CPU has
 * its own counter; firmware starts them together on most PCs, but some
 * boards (several sockets, buggy firmware, a BIOS that writes the TSC on
 * one CPU) leave them apart, and then a time taken on one CPU and compared
 * on another goes backwards. And without an *invariant* TSC (CPUID
 * 0x80000007 EDX bit 8) the rate itself changes with power states.
 *
 * The check is Linux's check_tsc_warp (arch/x86/kernel/tsc_sync.c): two
 * CPUs take turns, under one lock, reading their TSC and storing it as the
 * "last" value. Under the lock the reads are ordered in time, so a CPU that
 * reads a value smaller than the last one stored has a counter behind the
 * other's: a warp, by at least the difference.
 *
 * Locking: the measurement's own lock (a bare word, see tsc_sync.c); run
 * from thread context on the boot CPU with the other CPUs online. */
#ifndef PAGODA_TSC_SYNC_H
#define PAGODA_TSC_SYNC_H

#include "kernel/types.h"

struct tsc_warp {
	u64 warps;      /* times a CPU saw the counter go backwards */
	u64 max_warp;   /* the largest step back, in cycles */
};

/* Run the warp loop on the calling CPU and on cpu (another one) at the
 * same time. */
void tsc_check_pair(u32 cpu, struct tsc_warp *out);

/* After SMP bring-up: check each online CPU against the boot CPU, print the
 * outcome (and whether the TSC is invariant); tsc_reliable says whether
 * every pair was in step. */
void tsc_sync_check(void);
extern bool tsc_reliable;

#endif
