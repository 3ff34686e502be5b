/* arch/x86_64/pit.h - the legacy 8254 programmable interval timer, used only
 * as a known clock (1.193182 MHz) to measure the TSC and LAPIC timer at boot.
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

/* Start a one-shot countdown of `count` PIT ticks (1..65535) on channel 2. */
void pit_ch2_start(u16 count);
/* Has the countdown started by pit_ch2_start() reached zero? */
bool pit_ch2_expired(void);
/* The current count of channel 2 (latched, so both bytes are from the same
 * instant). Counts down at PIT_HZ while the gate is open. */
u16 pit_ch2_read(void);
/* Wait for the countdown to end, polling at most max_polls times.
 * Returns false if it never ended (no PIT: some modern PCs lack one). */
bool pit_ch2_wait(u64 max_polls);

/* Busy-wait using the PIT alone (before the TSC is calibrated). */
void pit_delay_us(u64 us);

#endif
