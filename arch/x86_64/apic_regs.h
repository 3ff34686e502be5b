/* SPDX-License-Identifier: MIT */
/* arch/x86_64/apic_regs.h - local APIC register numbers and encodings.
 *
 * Pure functions only: no hardware access, so the host unit tests
 * (tests/host/test_apic.c) check the x2APIC encodings that Debian 12's QEMU
 * cannot run in software mode. The driver (apic.c) uses these for both modes.
 *
 * The two modes address the same registers differently:
 *   xAPIC:  32-bit MMIO registers at base + offset (offsets below, 16 apart);
 *   x2APIC: MSR 0x800 + (offset >> 4), 32 or 64 bits wide.
 * The interrupt command register (ICR) differs most: xAPIC has two 32-bit
 * halves (destination in bits 24-31 of the high half, and writing the low half
 * sends); x2APIC has one 64-bit MSR with a 32-bit destination in bits 32-63,
 * and one WRMSR sends.
 */
#ifndef PAGODA_APIC_REGS_H
#define PAGODA_APIC_REGS_H

#include "kernel/types.h"

/* Register offsets (Intel SDM vol. 3, "Local APIC Register Address Map"). */
#define APIC_REG_ID          0x020
#define APIC_REG_VERSION     0x030
#define APIC_REG_TPR         0x080
#define APIC_REG_EOI         0x0B0
#define APIC_REG_LDR         0x0D0   /* logical destination */
#define APIC_REG_DFR         0x0E0   /* destination format; xAPIC only */
#define APIC_REG_SVR         0x0F0   /* spurious vector + software enable */
#define APIC_REG_ESR         0x280   /* error status */
#define APIC_REG_ICR_LOW     0x300
#define APIC_REG_ICR_HIGH    0x310   /* xAPIC only: x2APIC's ICR is one MSR */
#define APIC_REG_LVT_TIMER   0x320
#define APIC_REG_LVT_THERMAL 0x330
#define APIC_REG_LVT_PERF    0x340
#define APIC_REG_LVT_LINT0   0x350
#define APIC_REG_LVT_LINT1   0x360
#define APIC_REG_LVT_ERROR   0x370
#define APIC_REG_TIMER_INIT  0x380
#define APIC_REG_TIMER_CUR   0x390
#define APIC_REG_TIMER_DIV   0x3E0
#define APIC_REG_SELF_IPI    0x3F0   /* x2APIC only */

/* IA32_APIC_BASE MSR (0x1B) bits. */
#define APIC_BASE_BSP        (1UL << 8)
#define APIC_BASE_EXTD       (1UL << 10)  /* x2APIC mode */
#define APIC_BASE_ENABLE     (1UL << 11)
#define APIC_BASE_ADDR_MASK  0x000FFFFFFFFFF000UL

#define APIC_SVR_ENABLE      (1U << 8)

/* Local vector table entries. */
#define APIC_LVT_MASKED      (1U << 16)
#define APIC_LVT_PERIODIC    (1U << 17)
#define APIC_LVT_DM_NMI      (4U << 8)
#define APIC_LVT_DM_EXTINT   (7U << 8)

/* Timer divide configuration value for "divide by 16" (bits 0,1,3 = 0b011). */
#define APIC_TIMER_DIV_16    0x3
#define APIC_TIMER_DIVISOR   16

/* ICR low-half fields (shared by both modes). */
#define APIC_ICR_DM_FIXED    (0U << 8)
#define APIC_ICR_DM_NMI      (4U << 8)
#define APIC_ICR_DM_INIT     (5U << 8)
#define APIC_ICR_DM_STARTUP  (6U << 8)
#define APIC_ICR_DEST_LOGICAL (1U << 11)   /* clear: physical destination */
#define APIC_ICR_BUSY        (1U << 12)    /* delivery status; xAPIC only */
#define APIC_ICR_ASSERT      (1U << 14)
#define APIC_ICR_LEVEL       (1U << 15)    /* trigger mode: level */

/* Destination shorthands, bits 18-19. */
#define APIC_DEST_NONE        0U
#define APIC_DEST_SELF        1U
#define APIC_DEST_ALL         2U   /* all including self */
#define APIC_DEST_ALL_BUT_SELF 3U
#define APIC_ICR_SHORTHAND_SHIFT 18

/* The MSR that reaches register offset `reg` in x2APIC mode. */
static inline u32 x2apic_msr(u32 reg)
{
	return 0x800 + (reg >> 4);
}

/* The low 32 bits of an ICR value. `dm` is an APIC_ICR_DM_* value. INIT and
 * SIPI are sent as edge-triggered "assert"; INIT de-assert is not needed on
 * anything newer than a Pentium (the SDM says modern CPUs ignore it). */
static inline u32 apic_icr_low(u8 vector, u32 dm, bool logical, u32 shorthand)
{
	u32 v = vector | dm | APIC_ICR_ASSERT | (shorthand << APIC_ICR_SHORTHAND_SHIFT);
	if (logical)
		v |= APIC_ICR_DEST_LOGICAL;
	return v;
}

/* xAPIC: the value for the ICR high register; the destination is 8 bits. */
static inline u32 xapic_icr_high(u32 dest)
{
	return (dest & 0xFF) << 24;
}

/* x2APIC: the whole 64-bit ICR MSR value; the destination is 32 bits. */
static inline u64 x2apic_icr(u32 low, u32 dest)
{
	return ((u64)dest << 32) | low;
}

/* The APIC ID from the ID register: bits 24-31 in xAPIC mode, all 32 bits
 * in x2APIC mode. */
static inline u32 apic_id_from_reg(u32 reg, bool x2apic)
{
	return x2apic ? reg : reg >> 24;
}

/* Logical destination of an APIC. xAPIC "flat" model (DFR = all ones): LDR
 * bits 24-31 are a bit mask we choose, one bit per CPU, so only 8 CPUs can
 * be told apart. x2APIC: the LDR is read-only and derived from the APIC ID:
 * cluster (ID >> 4) in bits 16-31, bit (ID & 15) set in bits 0-15. */
static inline u32 xapic_flat_ldr(u32 cpu_bit)
{
	return (1U << (cpu_bit & 7)) << 24;
}
static inline u32 x2apic_logical_id(u32 apic_id)
{
	return ((apic_id >> 4) << 16) | (1U << (apic_id & 0xF));
}

/* x2APIC SELF IPI register value: just the vector (fixed delivery to self). */
static inline u32 x2apic_self_ipi(u8 vector)
{
	return vector;
}

/* LVT timer entry for periodic (or one-shot) mode at `vector`. */
static inline u32 apic_lvt_timer(u8 vector, bool periodic, bool masked)
{
	u32 v = vector;
	if (periodic)
		v |= APIC_LVT_PERIODIC;
	if (masked)
		v |= APIC_LVT_MASKED;
	return v;
}

#endif
