/* SPDX-License-Identifier: MIT */
/* arch/x86_64/ioapic.c - masking every I/O APIC input at boot. See ioapic.h. */
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"
#include "kernel/printk.h"
#include "mm/ioremap.h"

static u32 ioapic_read(volatile u32 *base, u32 reg)
{
	base[IOAPIC_REGSEL / 4] = reg;
	return base[IOAPIC_WIN / 4];
}

static void ioapic_write(volatile u32 *base, u32 reg, u32 val)
{
	base[IOAPIC_REGSEL / 4] = reg;
	base[IOAPIC_WIN / 4] = val;
}

/* Mask the entries of one I/O APIC; returns how many were unmasked. */
static u32 ioapic_mask_one(u32 index)
{
	u64 phys = acpi_info.ioapic[index].phys;
	volatile u32 *base = ioremap_uc(phys, IOAPIC_WIN + 4);
	if (!base) {
		printk(KERN_WARNING "I/O APIC %u at 0x%lx cannot be mapped; skipped\n",
		       acpi_info.ioapic[index].id, phys);
		return 0;
	}
	u32 entries = ((ioapic_read(base, IOAPIC_REG_VERSION) >> 16) & 0xFF) + 1;
	if (entries > IOAPIC_MAX_ENTRIES) {
		printk(KERN_WARNING "I/O APIC %u at 0x%lx answers like nothing is there; skipped\n",
		       acpi_info.ioapic[index].id, phys);
		return 0;
	}
	u32 were_unmasked = 0;
	for (u32 n = 0; n < entries; n++) {
		u32 reg = IOAPIC_REG_REDTBL + 2 * n;
		u32 low = ioapic_read(base, reg);
		if (!(low & IOAPIC_REDIR_MASKED)) {
			were_unmasked++;
			ioapic_write(base, reg, low | IOAPIC_REDIR_MASKED);
		}
	}
	printk("I/O APIC %u at 0x%lx: %u inputs masked (%u were unmasked)\n",
	       acpi_info.ioapic[index].id, phys, entries, were_unmasked);
	return were_unmasked;
}

void ioapic_mask_all(void)
{
	for (u32 i = 0; i < acpi_info.nr_ioapics; i++)
		ioapic_mask_one(i);
}
