/* SPDX-License-Identifier: MIT */
/* arch/x86_64/ioapic.h - the I/O APICs, only to silence them.
 *
 * Pagoda routes no device interrupt (its timer and IPIs are the local
 * APIC's), but firmware may leave I/O APIC redirection entries unmasked:
 * a device or a stray level-triggered line would then deliver a vector
 * nothing handles, possibly one of the CPU exception vectors. So at boot,
 * before any local APIC is enabled, every redirection entry of every I/O
 * APIC the MADT lists is masked.
 *
 * Boot CPU only, before the other CPUs start; no locking.
 */
#ifndef PAGODA_IOAPIC_H
#define PAGODA_IOAPIC_H

#include "kernel/types.h"

/* Register access: write the index to IOREGSEL, then read/write IOWIN. */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_REG_VERSION 0x01         /* bits 23:16: highest entry index */
#define IOAPIC_REG_REDTBL 0x10          /* entry n: low word 0x10 + 2n */
#define IOAPIC_REDIR_MASKED (1u << 16)
/* The version register's field is 8 bits; no I/O APIC has more than 240
 * inputs in practice, a bigger number is a missing device reading 0xFF. */
#define IOAPIC_MAX_ENTRIES 240

/* Mask every redirection entry of every I/O APIC in acpi_info. */
void ioapic_mask_all(void);

#endif
