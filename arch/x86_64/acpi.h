/* SPDX-License-Identifier: MIT */
/* arch/x86_64/acpi.h - the ACPI tables Pagoda reads: RSDP -> XSDT/RSDT ->
 * MADT (CPUs, I/O APICs, interrupt overrides), FADT (PM timer, poweroff),
 * HPET (a clock for the TSC calibration) and DMAR (the x2APIC opt-out).
 *
 * The parsers are pure functions over a byte buffer (acpi_parse_*), so the
 * host unit tests (tests/host/test_acpi.c) feed them good and corrupt tables.
 * A missing or broken table gives a clear message and a single-CPU boot,
 * never a hang. A wrong checksum alone is only a warning, as in ACPICA:
 * real firmware ships such tables (docs/real-hardware.md).
 */
#ifndef PAGODA_ACPI_H
#define PAGODA_ACPI_H

#include "kernel/types.h"
#include "kernel/cpumask.h"

#define ACPI_MAX_CPUS NR_CPUS          /* one logical CPU per kept entry */
#define ACPI_MAX_IOAPICS 8
#define ACPI_MAX_OVERRIDES 16
#define ACPI_MAX_SKIPPED 16

struct acpi_info {
	bool have_madt;
	u64 lapic_phys;                 /* MADT local APIC address (or override) */
	u32 nr_cpus;                    /* enabled CPUs (the ones to start) */
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

	/* Additions beyond the first interface (acpi.c fills them too). */
	u8 rsdp_revision;
	bool used_xsdt;                 /* root table was the XSDT (else RSDT) */
	char oem_id[7];                 /* the RSDP's OEM id, NUL-terminated */
	u64 madt_phys, fadt_phys, dsdt_phys;    /* 0 when not found */
	u32 madt_len;
	bool pm_timer_32bit;            /* FADT TMR_VAL_EXT: 32-bit, else 24-bit */
	u32 smi_cmd;                    /* port to ask firmware for ACPI mode, or 0 */
	u8 acpi_enable;                 /* value to write there */

	/* MADT CPUs not started at boot, for the log: disabled ones, and
	 * hot-plug slots (Online Capable, not Enabled: MADT revision 5+). */
	u32 nr_cpus_disabled, nr_cpus_hotplug;
	u32 nr_skipped;                 /* entries in skipped[] */
	struct { u32 apic_id; bool hotplug; } skipped[ACPI_MAX_SKIPPED];
	u32 max_apic_id;                /* highest enabled APIC ID, past the cap too */
	u64 hpet_phys;                  /* HPET registers (ACPI "HPET"), 0 if none */
	bool have_dmar;                 /* the "DMAR" table (Intel VT-d) */
	u8 dmar_flags;                  /* ACPI_DMAR_* */
	/* For poweroff in ACPI's order (acpi_poweroff) and for reset
	 * (arch/x86_64/reset.c). Ports are 0 when absent. */
	u32 pm1a_evt_port, pm1b_evt_port;       /* PM1 status (first half) + enable */
	u8 pm1_evt_len;                         /* bytes of each PM1 event block */
	u32 gpe0_port;                          /* GPE0 status, then enable registers */
	u8 gpe0_len;                            /* bytes of the whole GPE0 block */
	bool have_reset_reg;                    /* FADT RESET_REG_SUP and a register */
	u8 reset_space;                         /* ACPI_GAS_IO, _MEMORY or _PCI_CONFIG */
	u64 reset_addr;
	u8 reset_value;
};

extern struct acpi_info acpi_info;

/* Find and parse the tables from GRUB's RSDP copy (boot_info). Returns 0, or
 * a negative number after printing why ACPI could not be used; acpi_info then
 * says one CPU and no I/O APIC. */
int acpi_init(void);

/* Pure parsers, host-tested. Return 0 on success, negative on a bad table. */
bool acpi_checksum_ok(const void *table, size_t len);
/* acpi_parse_madt checks the MADT's signature, length and checksum, then
 * fills the MADT fields of *out (have_madt, lapic_phys, CPUs, I/O APICs,
 * overrides). On a bad table it prints why and leaves them saying one CPU
 * with have_madt false; apic_ids[] is then meaningless (the BSP reads its
 * own ID from its APIC). len is how many bytes the caller can read at madt. */
int acpi_parse_madt(const void *madt, size_t len, struct acpi_info *out);

/* --- On-firmware layouts (ACPI 6.x, chapter 5), for the parsers and tests. --- */

/* Root System Description Pointer: version 1 is the first 20 bytes. */
struct acpi_rsdp {
	char signature[8];              /* "RSD PTR " */
	u8 checksum;                    /* over the first 20 bytes */
	char oem_id[6];
	u8 revision;                    /* 0 for ACPI 1.0, 2 for 2.0 and later */
	u32 rsdt_phys;
	/* revision >= 2: */
	u32 length;                     /* of this structure, 36 */
	u64 xsdt_phys;
	u8 ext_checksum;                /* over all `length` bytes */
	u8 reserved[3];
} __packed;
#define ACPI_RSDP_V1_LEN 20

/* Every other table starts with this header; the checksum makes all
 * `length` bytes sum to 0 (mod 256). */
struct acpi_sdt_header {
	char signature[4];
	u32 length;                     /* whole table, header included */
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} __packed;

/* Generic Address Structure: where a register lives (FADT X_ fields). */
struct acpi_gas {
	u8 space_id;                    /* ACPI_GAS_MEMORY or ACPI_GAS_IO */
	u8 bit_width, bit_offset, access_size;
	u64 address;
} __packed;
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1
#define ACPI_GAS_PCI_CONFIG 2

/* MADT ("APIC"): the header, then variable-length entries {type, length}. */
struct acpi_madt {
	struct acpi_sdt_header h;
	u32 lapic_phys;
	u32 flags;                      /* bit 0: PC-AT 8259 PICs present */
} __packed;
#define ACPI_MADT_LAPIC 0               /* struct acpi_madt_lapic */
#define ACPI_MADT_IOAPIC 1
#define ACPI_MADT_OVERRIDE 2
#define ACPI_MADT_LAPIC_ADDR 5          /* 64-bit local APIC address */
#define ACPI_MADT_X2APIC 9
#define ACPI_MADT_ENABLED 1u            /* flags: usable now */
#define ACPI_MADT_ONLINE_CAPABLE 2u     /* flags: may be enabled (MADT rev >= 5) */

struct acpi_madt_entry { u8 type, length; } __packed;
struct acpi_madt_lapic { u8 type, length, acpi_uid, apic_id; u32 flags; } __packed;
struct acpi_madt_ioapic { u8 type, length, id, reserved; u32 phys, gsi_base; } __packed;
struct acpi_madt_override { u8 type, length, bus, source_irq; u32 gsi; u16 flags; } __packed;
struct acpi_madt_lapic_addr { u8 type, length; u16 reserved; u64 phys; } __packed;
struct acpi_madt_x2apic { u8 type, length; u16 reserved; u32 x2apic_id, flags, acpi_uid; } __packed;

/* FADT ("FACP"), the fields Pagoda reads. ACPI 1.0 tables end after
 * `flags` (116 bytes); the X_ fields exist only when `length` covers them. */
struct acpi_fadt {
	struct acpi_sdt_header h;
	u32 firmware_ctrl, dsdt;
	u8 reserved0, preferred_pm_profile;
	u16 sci_int;
	u32 smi_cmd;
	u8 acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	u32 pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	u32 pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	u8 pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	u8 gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	u16 p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	u8 duty_offset, duty_width, day_alrm, mon_alrm, century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;                      /* offset 112 */
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 minor_version;
	u64 x_firmware_ctrl, x_dsdt;    /* offset 132, 140 */
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk, x_pm1b_cnt_blk;  /* offset 172, 184 */
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk;     /* offset 196, 208 */
} __packed;
#define ACPI_FADT_V1_LEN 116            /* up to and including flags */
#define ACPI_FADT_TMR_VAL_EXT (1u << 8)
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)

/* HPET description table: where the event timer block's registers are. */
struct acpi_hpet {
	struct acpi_sdt_header h;
	u32 event_timer_block_id;
	struct acpi_gas base;           /* must be in memory space */
	u8 hpet_number;
	u16 min_tick;
	u8 page_protection;
} __packed;

/* DMA Remapping table (Intel VT-d), the fixed part; remapping structures
 * follow, which Pagoda does not read. */
struct acpi_dmar {
	struct acpi_sdt_header h;
	u8 host_address_width;
	u8 flags;
	u8 reserved[10];
} __packed;
#define ACPI_DMAR_INTR_REMAP 1u         /* interrupt remapping supported */
#define ACPI_DMAR_X2APIC_OPT_OUT 2u     /* firmware asks the OS not to enable x2APIC */

/* PM1 control register bits. */
#define ACPI_PM1_SCI_EN (1u << 0)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_EN (1u << 13)
/* PM1 status register, where every bit is cleared by writing 1: the fixed
 * events' bits (timer, bus master, global lock, power and sleep buttons,
 * RTC, and WAK_STS, bit 15), as ACPICA clears them all before sleeping. */
#define ACPI_PM1_FIXED_STATUS 0x8731u

/* The walk from the RSDP, with physical memory reached through a callback
 * so the host tests can hand it fake tables: map(phys, len, ctx) returns a
 * pointer to len readable bytes at phys, or NULL if they cannot be reached.
 * Fills *out (MADT, FADT, \_S5). Returns 0 if a usable MADT was found;
 * otherwise negative, after printing why, with *out saying one CPU (any
 * FADT information found is kept, so poweroff may still work). */
typedef const void *(*acpi_map_fn)(u64 phys, u64 len, void *ctx);
int acpi_parse_tables(const void *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
		      struct acpi_info *out);
/* HPET ("HPET") and DMAR ("DMAR"): header checks, then hpet_phys, or
 * have_dmar and dmar_flags. A table Pagoda cannot use leaves them 0. */
int acpi_parse_hpet(const void *hpet, size_t len, struct acpi_info *out);
int acpi_parse_dmar(const void *dmar, size_t len, struct acpi_info *out);
/* FADT fields into *out (have_fadt, PM timer, PM1 control, DSDT address,
 * SMI_CMD). Checks the header and checksum first. */
int acpi_parse_fadt(const void *fadt, size_t len, struct acpi_info *out);
/* Find \_S5 in AML bytes (a DSDT or SSDT after its header): returns 0 and
 * SLP_TYPa/b, or negative. A bounded byte scan, not an AML interpreter. */
int acpi_find_s5(const void *dsdt, size_t len, u16 *slp_typa, u16 *slp_typb);

/* Enter S5 through PM1a/PM1b control if the FADT and \_S5 allowed it. */
void acpi_poweroff(void);

#endif
