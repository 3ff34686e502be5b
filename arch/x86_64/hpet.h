/* SPDX-License-Identifier: MIT */
/* arch/x86_64/hpet.h - the High Precision Event Timer, used only as a clock
 * of known rate to measure the TSC at boot (arch/x86_64/tsc_calibrate.c).
 *
 * The HPET is a block of memory-mapped registers (address from the ACPI
 * "HPET" table) with a free-running main counter of 32 or 64 bits whose
 * period, in femtoseconds, is in its capabilities register. Pagoda maps the
 * page uncached, enables the main counter for the calibration only, and
 * then puts the enable bit back as firmware left it: nothing else in Pagoda
 * uses the HPET, and a counter left running would be a change the next
 * kernel (or firmware, on reboot) did not ask for.
 *
 * Boot CPU only, before the other CPUs start; no locking.
 */
#ifndef PAGODA_HPET_H
#define PAGODA_HPET_H

#include "kernel/types.h"

/* Register offsets and bits (IA-PC HPET specification 1.0a, 2.3). */
#define HPET_REG_CAP_ID 0x000           /* 64-bit: period in bits 63:32 */
#define HPET_REG_CONFIG 0x010
#define HPET_REG_COUNTER 0x0F0
#define HPET_CONFIG_ENABLE 1u
#define HPET_CAP_COUNT_64 (1u << 13)
/* The period must be nonzero and at most 100 ns (10 MHz at least). */
#define HPET_MAX_PERIOD_FS 100000000u

/* The counter rate implied by a capabilities register, or 0 when the
 * period is out of range (no HPET, or reads of 0xFF from nothing). */
u64 hpet_hz_from_cap(u64 cap);

#ifndef HOST_TEST
/* Map the HPET found by ACPI, check it, remember how firmware left it and
 * start its main counter. Returns its rate in Hz, or 0 (after a message)
 * when there is none or it does not look like one. */
u64 hpet_calibration_start(void *ctx);
/* The low 32 bits of the main counter. */
u64 hpet_read_counter(void *ctx);
/* Stop the main counter again if it was stopped before. */
void hpet_calibration_stop(void *ctx);
#endif

#endif
