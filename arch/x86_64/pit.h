/* SPDX-License-Identifier: MIT */
/* arch/x86_64/pit.h - the legacy 8254 programmable interval timer, used only
 * as a known clock (1.193182 MHz) to measure the TSC at boot, and only when
 * CPUID, the HPET and the ACPI PM timer could not (tsc_calibrate.h: recent
 * chipsets may clock-gate the PIT, which then answers but does not count).
 *
 * Channel 2 is used because its gate is under software control (port 0x61
 * bit 0) and its output can be read back (port 0x61 bit 5), so no interrupt
 * is needed: program a count, open the gate, poll until the output rises.
 * Channel 0 (IRQ 0) is left alone; the legacy PIC is masked anyway.
 *
 * Boot CPU only, before the other CPUs run; no locking.
 */
#ifndef PAGODA_PIT_H
#define PAGODA_PIT_H

#include "kernel/types.h"

#define PIT_HZ 1193182U

/* Start a countdown of `count` PIT ticks (1..65535) on channel 2. In mode
 * 0 the counter goes on past zero (to 0xFFFF and down again). */
void pit_ch2_start(u16 count);
/* The current count of channel 2 (latched, so both bytes are from the same
 * instant). Counts down at PIT_HZ while the gate is open. A PIT that is not
 * there reads 0xFFFF (or 0x0000) for ever: callers bound their waits. */
u16 pit_ch2_read(void);
/* Close channel 2's gate again (the speaker stays off). */
void pit_ch2_stop(void);

#endif
