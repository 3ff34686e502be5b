/* SPDX-License-Identifier: MIT */
/* arch/x86_64/hpet.c - the HPET as a calibration clock. See hpet.h. */
#include "arch/x86_64/hpet.h"

u64 hpet_hz_from_cap(u64 cap)
{
	u32 period_fs = (u32)(cap >> 32);
	if (period_fs == 0 || period_fs > HPET_MAX_PERIOD_FS)
		return 0;
	return 1000000000000000UL / period_fs;
}

/* ------------------------- kernel only below ------------------------- */
#ifndef HOST_TEST
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"
#include "kernel/printk.h"
#include "mm/ioremap.h"

static volatile u8 *hpet_regs;
static u64 hpet_rate;
static u64 config_found;        /* the configuration register as firmware left it */

static u64 reg_read64(u32 off)
{
	/* Two 32-bit reads: every HPET accepts them, not all accept 64-bit
	 * ones. The capability and configuration words do not change. */
	u32 lo = *(volatile u32 *)(hpet_regs + off);
	u32 hi = *(volatile u32 *)(hpet_regs + off + 4);
	return (u64)hi << 32 | lo;
}

static void reg_write32(u32 off, u32 v)
{
	*(volatile u32 *)(hpet_regs + off) = v;
}

u64 hpet_calibration_start(void *ctx)
{
	(void)ctx;
	u64 phys = acpi_info.hpet_phys;
	if (!phys) {
		printk("Clocks: no HPET (no ACPI HPET table)\n");
		return 0;
	}
	if (phys & 0x3ff) {
		printk(KERN_WARNING "Clocks: HPET address 0x%lx is not 1 KiB aligned; skipped\n", phys);
		return 0;
	}
	/* Device registers: uncached, or a read of the counter could come
	 * from a cache and return an old count. */
	hpet_regs = ioremap_uc(phys, 1024);
	if (!hpet_regs) {
		printk(KERN_WARNING "Clocks: cannot map the HPET at 0x%lx uncached; skipped\n", phys);
		return 0;
	}
	u64 cap = reg_read64(HPET_REG_CAP_ID);
	hpet_rate = hpet_hz_from_cap(cap);
	if (!hpet_rate) {
		printk(KERN_WARNING "Clocks: HPET at 0x%lx reports period %u fs; skipped\n",
		       phys, (u32)(cap >> 32));
		return 0;
	}
	config_found = reg_read64(HPET_REG_CONFIG);
	reg_write32(HPET_REG_CONFIG, (u32)config_found | HPET_CONFIG_ENABLE);
	return hpet_rate;
}

u64 hpet_read_counter(void *ctx)
{
	(void)ctx;
	return *(volatile u32 *)(hpet_regs + HPET_REG_COUNTER);
}

void hpet_calibration_stop(void *ctx)
{
	(void)ctx;
	if (!(config_found & HPET_CONFIG_ENABLE))
		reg_write32(HPET_REG_CONFIG, (u32)config_found);
}
#endif
