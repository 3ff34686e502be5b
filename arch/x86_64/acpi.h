/* arch/x86_64/acpi.h - the ACPI tables Pagoda reads: RSDP -> XSDT/RSDT ->
 * MADT (CPUs, I/O APICs, interrupt overrides) and FADT (PM timer, poweroff).
 *
 * The parsers are pure functions over a byte buffer (acpi_parse_*), so the
 * host unit tests (tests/host/test_acpi.c) feed them good and corrupt tables.
 * A missing or corrupt table gives a clear message and a single-CPU boot,
 * never a hang.
 */
#ifndef PAGODA_ACPI_H
#define PAGODA_ACPI_H

#include "kernel/types.h"

#define ACPI_MAX_CPUS 64
#define ACPI_MAX_IOAPICS 8
#define ACPI_MAX_OVERRIDES 16

struct acpi_info {
	bool have_madt;
	u64 lapic_phys;                 /* MADT local APIC address (or override) */
	u32 nr_cpus;                    /* enabled (or online-capable) CPUs */
	u32 apic_ids[ACPI_MAX_CPUS];    /* nr_cpus entries; [0] is not necessarily the BSP */
	u32 nr_ioapics;
	struct { u32 id; u32 phys; u32 gsi_base; } ioapic[ACPI_MAX_IOAPICS];
	u32 nr_overrides;
	struct { u8 source_irq; u32 gsi; u16 flags; } overrides[ACPI_MAX_OVERRIDES];
	bool have_fadt;
	u32 pm_timer_port;              /* 0 if none */
	u32 pm1a_cnt_port, pm1b_cnt_port;
	u16 slp_typa_s5, slp_typb_s5;   /* from the DSDT's \_S5 package */
	bool have_s5;
};

extern struct acpi_info acpi_info;

/* Find and parse the tables from GRUB's RSDP copy (boot_info). Returns 0, or
 * a negative number after printing why ACPI could not be used; acpi_info then
 * says one CPU and no I/O APIC. */
int acpi_init(void);

/* Pure parsers, host-tested. Return 0 on success, negative on a bad table. */
bool acpi_checksum_ok(const void *table, size_t len);
int acpi_parse_madt(const void *madt, size_t len, struct acpi_info *out);

/* Enter S5 through PM1a/PM1b control if the FADT and \_S5 allowed it. */
void acpi_poweroff(void);

#endif
