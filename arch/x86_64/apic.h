/* SPDX-License-Identifier: MIT */
/* arch/x86_64/apic.h - the local APIC (xAPIC over MMIO or x2APIC over MSRs),
 * its timer, and inter-processor interrupts.
 *
 * All register access goes through one small interface (struct apic_ops in
 * apic.c) so that the x2APIC side, which Debian 12's QEMU cannot emulate in
 * software mode, is tested on the host (tests/host/test_apic.c) through the
 * pure encoding helpers in apic_regs.h.
 *
 * Locking: the ICR is per-CPU hardware; sending an IPI disables interrupts
 * around the (xAPIC: two-register) write so an interrupt handler's own IPI
 * cannot interleave with it.
 */
#ifndef PAGODA_APIC_H
#define PAGODA_APIC_H

#include "kernel/types.h"

struct trap_frame;

/* On the boot CPU: mask the legacy PICs (after remapping them to
 * VEC_IRQ_BASE) and every I/O APIC input (ioapic.h), pick the mode
 * (apic_mode.h: firmware's, x2APIC only when an APIC ID needs it), enable
 * the APIC with spurious vector VEC_SPURIOUS and error vector
 * VEC_APIC_ERROR. */
void lapic_init_bsp(void);
/* On each AP: enable its APIC in the mode the BSP chose, and its timer if
 * lapic_timer_start() has already run on the BSP. */
void lapic_init_ap(void);
bool lapic_x2apic_mode(void);
u32 lapic_id(void);
void lapic_eoi(void);

/* IPIs: fixed vector to a physical APIC ID; to this CPU (x2APIC has a
 * dedicated SELF IPI register); NMI; INIT and startup IPI (AP bring-up). */
void lapic_send_ipi(u32 apic_id, u8 vector);
void lapic_send_self_ipi(u8 vector);
void lapic_send_nmi(u32 apic_id);
void lapic_send_nmi_all_but_self(void);
void lapic_send_init(u32 apic_id);
void lapic_send_sipi(u32 apic_id, u8 start_page);

/* Timer: lapic_timer_calibrate() on the BSP finds the TSC's rate
 * (tsc_calibrate.h: CPUID, HPET, ACPI PM timer or PIT) and measures the
 * APIC timer against the TSC. lapic_timer_start() on the BSP starts a
 * periodic timer at hz on every online CPU (VEC_TIMER), counting cpu->ticks; CPUs started later start theirs at the same rate. */
void lapic_timer_calibrate(void);
void lapic_timer_start(u32 hz);
extern u64 tsc_khz;             /* TSC frequency (tsc_calibrate.h) */
extern u64 lapic_timer_khz;     /* LAPIC timer input clock, after divider */

/* Busy-wait helpers on the TSC (before calibration at TSC_FALLBACK_HZ). */
void udelay(u64 us);
void mdelay(u64 ms);

void nmi_handler(struct trap_frame *tf);   /* kernel/panic.c */

#endif
