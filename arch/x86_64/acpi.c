/* SPDX-License-Identifier: MIT */
/* arch/x86_64/acpi.c - finding CPUs, I/O APICs and the poweroff registers in
 * the firmware's ACPI tables.
 *
 * The path is RSDP -> XSDT (or RSDT) -> MADT and FADT -> DSDT. Firmware
 * tables are input from outside the kernel, so nothing in them is trusted:
 * every table's length is checked against what can be read and its checksum
 * verified before any field is used, and every MADT entry must fit inside
 * its table. A corrupt table costs a message and a one-CPU boot, never a
 * read out of bounds or a loop that does not end.
 *
 * Everything above the "kernel only" line is pure (no port I/O, no globals,
 * physical memory reached through a map callback) and is compiled into the
 * host unit tests (tests/host/test_acpi.c) with -DHOST_TEST.
 */
#include "arch/x86_64/acpi.h"
#include "kernel/printk.h"

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header layout");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT layout");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags offset");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT offset");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_cnt_blk) == 172, "FADT X_PM1a_CNT offset");
_Static_assert(offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT X_PM_TMR offset");

/* No real table is this big (a large server's DSDT is a few hundred KiB);
 * a larger length is corruption, and refusing it bounds every walk. */
#define ACPI_MAX_TABLE_LEN (16u << 20)

/* --- small helpers (no libc: this file is also built on the host) --- */

static bool sig_is(const char *p, const char *sig, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != sig[i])
			return false;
	return true;
}

static void copy_id(char *dst, const char *src, size_t n)
{
	size_t i;
	for (i = 0; i < n && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	/* Firmware pads with spaces; drop them for the log. */
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = 0;
}

bool acpi_checksum_ok(const void *table, size_t len)
{
	const u8 *p = table;
	u8 sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

/* Check a table already known to be len readable bytes: signature (if sig
 * is non-NULL), a length that fits in len and covers the header, checksum.
 * Prints what is wrong and returns false; a bad checksum only warns. */
static bool table_ok(const void *table, size_t len, const char *sig)
{
	const struct acpi_sdt_header *h = table;
	char name[5];
	if (len < sizeof(*h)) {
		pr_err("ACPI: table of %lu bytes is shorter than a table header\n", len);
		return false;
	}
	copy_id(name, h->signature, 4);
	if (sig && !sig_is(h->signature, sig, 4)) {
		pr_err("ACPI: expected a %s table, found signature \"%s\"\n", sig, name);
		return false;
	}
	if (h->length < sizeof(*h) || h->length > len) {
		pr_err("ACPI: %s table length %u is impossible (header %lu, %lu bytes available)\n",
		       name, h->length, sizeof(*h), len);
		return false;
	}
	/* Real firmware ships tables with wrong checksums (edited by a setup
	 * screen, patched by a vendor tool). ACPICA warns and uses them, and
	 * so does Pagoda: the length checks above and every parser's bounds
	 * checks still hold, so a bad checksum cannot cause a read out of
	 * bounds, only wrong values, which the parsers check anyway. */
	if (!acpi_checksum_ok(table, h->length))
		pr_warn("ACPI: %s table has a bad checksum; using it anyway (as ACPICA does)\n",
			name);
	return true;
}

/* Map a whole table: its header first (to learn the length), then all of
 * it, then check it. Returns NULL (after a message) if anything is wrong. */
static const struct acpi_sdt_header *map_table(u64 phys, const char *sig,
					       acpi_map_fn map, void *ctx)
{
	const struct acpi_sdt_header *h = map(phys, sizeof(*h), ctx);
	if (!h) {
		pr_err("ACPI: %s table at 0x%lx lies outside the memory Pagoda can read "
		       "at boot (the boot direct map covers 0..4 GiB); treating it as missing\n",
		       sig ? sig : "a", phys);
		return NULL;
	}
	u32 len = h->length;
	if (len < sizeof(*h) || len > ACPI_MAX_TABLE_LEN) {
		char name[5];
		copy_id(name, h->signature, 4);
		pr_err("ACPI: %s table at 0x%lx has impossible length %u\n", name, phys, len);
		return NULL;
	}
	h = map(phys, len, ctx);
	if (!h) {
		pr_err("ACPI: %s table at 0x%lx (%u bytes) lies outside the memory Pagoda "
		       "can read at boot; treating it as missing\n", sig ? sig : "a", phys, len);
		return NULL;
	}
	return table_ok(h, len, sig) ? h : NULL;
}

/* --- MADT --- */

static void madt_fallback(struct acpi_info *out)
{
	out->have_madt = false;
	out->lapic_phys = 0;
	out->nr_cpus = 1;
	out->apic_ids[0] = 0;
	out->nr_ioapics = 0;
	out->nr_overrides = 0;
	out->nr_cpus_disabled = out->nr_cpus_hotplug = out->nr_skipped = 0;
	out->max_apic_id = 0;
}

/* Record one usable CPU; *seen counts all of them, kept or not. */
static void madt_add_cpu(struct acpi_info *out, u32 apic_id, u32 *seen)
{
	for (u32 i = 0; i < out->nr_cpus; i++) {
		if (out->apic_ids[i] == apic_id) {
			pr_warn("ACPI: MADT lists APIC ID %u twice; keeping the first\n", apic_id);
			return;
		}
	}
	(*seen)++;
	if (apic_id > out->max_apic_id)
		out->max_apic_id = apic_id;
	if (out->nr_cpus == ACPI_MAX_CPUS)
		return;         /* reported once, after the walk */
	out->apic_ids[out->nr_cpus++] = apic_id;
}

/* The size each entry type must have at least (later ACPI versions may
 * append fields, so longer is fine); 2 for types Pagoda skips. */
static u32 madt_entry_min_len(u8 type)
{
	switch (type) {
	case ACPI_MADT_LAPIC: return sizeof(struct acpi_madt_lapic);
	case ACPI_MADT_IOAPIC: return sizeof(struct acpi_madt_ioapic);
	case ACPI_MADT_OVERRIDE: return sizeof(struct acpi_madt_override);
	case ACPI_MADT_LAPIC_ADDR: return sizeof(struct acpi_madt_lapic_addr);
	case ACPI_MADT_X2APIC: return sizeof(struct acpi_madt_x2apic);
	default: return sizeof(struct acpi_madt_entry);
	}
}

/* Is a CPU with these MADT flags one Pagoda may start at boot? Only an
 * enabled one. Online Capable without Enabled (MADT revision 5 on) is a
 * hot-plug slot: firmware lists every socket the board could take, and a
 * slot with no CPU in it never answers a startup IPI. Such entries, and
 * plain disabled ones, are remembered for the boot log. */
static bool madt_cpu_usable(struct acpi_info *out, u32 apic_id, u32 flags, u8 madt_revision)
{
	if (flags & ACPI_MADT_ENABLED)
		return true;
	bool hotplug = madt_revision >= 5 && (flags & ACPI_MADT_ONLINE_CAPABLE);
	if (hotplug)
		out->nr_cpus_hotplug++;
	else
		out->nr_cpus_disabled++;
	if (out->nr_skipped < ACPI_MAX_SKIPPED) {
		out->skipped[out->nr_skipped].apic_id = apic_id;
		out->skipped[out->nr_skipped].hotplug = hotplug;
		out->nr_skipped++;
	}
	return false;
}

/* The entry at off in a MADT of end bytes, if it is whole: at least a
 * header, no longer than what is left, and as long as its type needs.
 * NULL (reported) if not. */
static const struct acpi_madt_entry *madt_entry_at(const u8 *base, u32 off, u32 end)
{
	if (end - off < sizeof(struct acpi_madt_entry)) {
		pr_err("ACPI: MADT ends with %u stray byte(s) at offset %u\n", end - off, off);
		return NULL;
	}
	const struct acpi_madt_entry *e = (const void *)(base + off);
	if (e->length < sizeof(*e)) {
		pr_err("ACPI: MADT entry at offset %u (type %u) has length %u\n",
		       off, e->type, e->length);
		return NULL;
	}
	if (e->length > end - off) {
		pr_err("ACPI: MADT entry at offset %u (type %u, length %u) runs past "
		       "the table's end (%u)\n", off, e->type, e->length, end);
		return NULL;
	}
	if (e->length < madt_entry_min_len(e->type)) {
		pr_err("ACPI: MADT entry at offset %u (type %u) is %u bytes, needs %u\n",
		       off, e->type, e->length, madt_entry_min_len(e->type));
		return NULL;
	}
	return e;
}

/* How many entries of each kind the MADT has, kept or not (for the
 * warnings about the ones past Pagoda's limits). */
struct madt_seen {
	u32 cpus, ioapics, overrides;
};

/* Record what one (whole) MADT entry says in out. */
static void madt_apply_entry(struct acpi_info *out, const struct acpi_madt_entry *e, u8 revision,
			     struct madt_seen *seen)
{
	switch (e->type) {
	case ACPI_MADT_LAPIC: {
		const struct acpi_madt_lapic *l = (const void *)e;
		if (!madt_cpu_usable(out, l->apic_id, l->flags, revision))
			break;
		/* 0xff is the xAPIC broadcast ID, never a CPU's. */
		if (l->apic_id == 0xff) {
			pr_warn("ACPI: MADT CPU entry with APIC ID 0xff ignored\n");
			break;
		}
		madt_add_cpu(out, l->apic_id, &seen->cpus);
		break;
	}
	case ACPI_MADT_X2APIC: {
		const struct acpi_madt_x2apic *x = (const void *)e;
		if (!madt_cpu_usable(out, x->x2apic_id, x->flags, revision))
			break;
		if (x->x2apic_id == 0xffffffffu) {
			pr_warn("ACPI: MADT x2APIC entry with ID 0xffffffff ignored\n");
			break;
		}
		madt_add_cpu(out, x->x2apic_id, &seen->cpus);
		break;
	}
	case ACPI_MADT_IOAPIC: {
		const struct acpi_madt_ioapic *io = (const void *)e;
		seen->ioapics++;
		if (out->nr_ioapics == ACPI_MAX_IOAPICS)
			break;
		out->ioapic[out->nr_ioapics].id = io->id;
		out->ioapic[out->nr_ioapics].phys = io->phys;
		out->ioapic[out->nr_ioapics].gsi_base = io->gsi_base;
		out->nr_ioapics++;
		break;
	}
	case ACPI_MADT_OVERRIDE: {
		const struct acpi_madt_override *o = (const void *)e;
		seen->overrides++;
		if (out->nr_overrides == ACPI_MAX_OVERRIDES)
			break;
		out->overrides[out->nr_overrides].source_irq = o->source_irq;
		out->overrides[out->nr_overrides].gsi = o->gsi;
		out->overrides[out->nr_overrides].flags = o->flags;
		out->nr_overrides++;
		break;
	}
	case ACPI_MADT_LAPIC_ADDR: {
		const struct acpi_madt_lapic_addr *a = (const void *)e;
		out->lapic_phys = a->phys;
		break;
	}
	default:
		break;  /* NMI sources, GIC entries...: not Pagoda's concern */
	}
}

int acpi_parse_madt(const void *madt, size_t len, struct acpi_info *out)
{
	madt_fallback(out);
	out->nr_cpus = 0;
	if (!table_ok(madt, len, "APIC"))
		goto bad;
	const struct acpi_madt *m = madt;
	if (m->h.length < sizeof(*m)) {
		pr_err("ACPI: MADT of %u bytes is too short for its fixed fields\n", m->h.length);
		goto bad;
	}
	out->lapic_phys = m->lapic_phys;

	const u8 *base = madt;
	u32 end = m->h.length;
	struct madt_seen seen = { 0, 0, 0 };
	/* Each step advances by an entry's length, which must be at least 2
	 * and must not run past the table: so the walk always ends. */
	for (u32 off = sizeof(*m); off < end;) {
		const struct acpi_madt_entry *e = madt_entry_at(base, off, end);
		if (!e)
			goto bad;
		madt_apply_entry(out, e, m->h.revision, &seen);
		off += e->length;
	}

	if (seen.cpus > ACPI_MAX_CPUS)
		pr_warn("ACPI: MADT lists %u usable CPUs; Pagoda supports %u and uses the first %u\n",
			seen.cpus, ACPI_MAX_CPUS, ACPI_MAX_CPUS);
	if (seen.ioapics > ACPI_MAX_IOAPICS)
		pr_warn("ACPI: MADT lists %u I/O APICs; Pagoda keeps the first %u\n",
			seen.ioapics, ACPI_MAX_IOAPICS);
	if (seen.overrides > ACPI_MAX_OVERRIDES)
		pr_warn("ACPI: MADT lists %u interrupt overrides; Pagoda keeps the first %u\n",
			seen.overrides, ACPI_MAX_OVERRIDES);
	if (out->nr_cpus == 0) {
		pr_err("ACPI: MADT lists no usable CPU\n");
		goto bad;
	}
	if (out->lapic_phys == 0) {
		pr_err("ACPI: MADT gives no local APIC address\n");
		goto bad;
	}
	out->have_madt = true;
	return 0;
bad:
	madt_fallback(out);
	return -1;
}

/* --- HPET and DMAR --- */

int acpi_parse_hpet(const void *hpet, size_t len, struct acpi_info *out)
{
	out->hpet_phys = 0;
	if (!table_ok(hpet, len, "HPET"))
		return -1;
	const struct acpi_hpet *t = hpet;
	if (t->h.length < sizeof(*t)) {
		pr_err("ACPI: HPET table of %u bytes is shorter than its %lu fixed bytes\n",
		       t->h.length, sizeof(*t));
		return -1;
	}
	if (t->base.space_id != ACPI_GAS_MEMORY || t->base.address == 0) {
		pr_warn("ACPI: HPET registers at 0x%lx in address space %u; not usable\n",
			t->base.address, t->base.space_id);
		return -1;
	}
	out->hpet_phys = t->base.address;
	return 0;
}

int acpi_parse_dmar(const void *dmar, size_t len, struct acpi_info *out)
{
	out->have_dmar = false;
	out->dmar_flags = 0;
	if (!table_ok(dmar, len, "DMAR"))
		return -1;
	const struct acpi_dmar *t = dmar;
	/* The flags byte is all Pagoda reads; it must be inside the table. */
	if (t->h.length < offsetof(struct acpi_dmar, flags) + 1) {
		pr_err("ACPI: DMAR table of %u bytes has no flags\n", t->h.length);
		return -1;
	}
	out->have_dmar = true;
	out->dmar_flags = t->flags;
	return 0;
}

/* --- FADT and \_S5 --- */

/* A register from a FADT pair: the 64-bit GAS when the table has it and it
 * is set (ACPI says it then wins), else the 32-bit port number. Pagoda only
 * drives these registers with port I/O, so a GAS in memory space (or a port
 * above 0xffff) gives 0 and a message. */
static u32 fadt_port(const struct acpi_fadt *f, u32 legacy, const struct acpi_gas *gas,
		     const char *what)
{
	size_t gas_end = (size_t)((const u8 *)gas - (const u8 *)f) + sizeof(*gas);
	if (f->h.length >= gas_end && gas->address != 0) {
		if (gas->space_id == ACPI_GAS_IO && gas->address <= 0xffff)
			return (u32)gas->address;
		if (legacy == 0)
			pr_warn("ACPI: FADT %s is at 0x%lx in address space %u; Pagoda only "
				"uses I/O ports, so it is ignored\n", what, gas->address, gas->space_id);
	}
	return legacy <= 0xffff ? legacy : 0;
}

/* The registers a sleep sequence touches besides PM1 control: PM1 status
 * (to clear wake events) and GPE0 (to disable wake-up sources). */
static void fadt_sleep_regs(const struct acpi_fadt *f, struct acpi_info *out)
{
	out->pm1_evt_len = f->pm1_evt_len;
	out->pm1a_evt_port = fadt_port(f, f->pm1a_evt_blk, &f->x_pm1a_evt_blk, "PM1a event");
	out->pm1b_evt_port = fadt_port(f, f->pm1b_evt_blk, &f->x_pm1b_evt_blk, "PM1b event");
	out->gpe0_port = f->gpe0_blk <= 0xffff ? f->gpe0_blk : 0;
	out->gpe0_len = out->gpe0_port ? f->gpe0_blk_len : 0;
}

/* The reset register exists from ACPI 2.0 (the table must reach
 * reset_value) when RESET_REG_SUP says firmware filled it in. */
static void fadt_reset_reg(const struct acpi_fadt *f, struct acpi_info *out)
{
	size_t end = offsetof(struct acpi_fadt, reset_value) + 1;
	out->have_reset_reg = f->h.length >= end && (f->flags & ACPI_FADT_RESET_REG_SUP) &&
			      f->reset_reg.address != 0;
	if (out->have_reset_reg) {
		out->reset_space = f->reset_reg.space_id;
		out->reset_addr = f->reset_reg.address;
		out->reset_value = f->reset_value;
	}
}

int acpi_parse_fadt(const void *fadt, size_t len, struct acpi_info *out)
{
	out->have_fadt = false;
	out->pm_timer_port = out->pm1a_cnt_port = out->pm1b_cnt_port = 0;
	out->dsdt_phys = 0;
	out->smi_cmd = 0;
	out->acpi_enable = 0;
	out->pm1a_evt_port = out->pm1b_evt_port = out->gpe0_port = 0;
	out->pm1_evt_len = out->gpe0_len = 0;
	out->have_reset_reg = false;
	if (!table_ok(fadt, len, "FACP"))
		return -1;
	const struct acpi_fadt *f = fadt;
	if (f->h.length < ACPI_FADT_V1_LEN) {
		pr_err("ACPI: FADT of %u bytes is shorter than ACPI 1.0's %u\n",
		       f->h.length, ACPI_FADT_V1_LEN);
		return -1;
	}
	if (f->flags & ACPI_FADT_HW_REDUCED)
		pr_warn("ACPI: hardware-reduced ACPI: no PM timer or PM1 registers\n");

	/* The PM timer exists only if PM_TMR_LEN says its 4 bytes do. */
	out->pm_timer_port = fadt_port(f, f->pm_tmr_len >= 4 ? f->pm_tmr_blk : 0,
				       &f->x_pm_tmr_blk, "PM timer");
	out->pm_timer_32bit = (f->flags & ACPI_FADT_TMR_VAL_EXT) != 0;
	out->pm1a_cnt_port = fadt_port(f, f->pm1a_cnt_blk, &f->x_pm1a_cnt_blk, "PM1a control");
	out->pm1b_cnt_port = fadt_port(f, f->pm1b_cnt_blk, &f->x_pm1b_cnt_blk, "PM1b control");
	if (f->h.length >= offsetof(struct acpi_fadt, x_dsdt) + sizeof(u64) && f->x_dsdt)
		out->dsdt_phys = f->x_dsdt;
	else
		out->dsdt_phys = f->dsdt;
	out->smi_cmd = f->smi_cmd <= 0xffff ? f->smi_cmd : 0;
	out->acpi_enable = f->acpi_enable;
	fadt_sleep_regs(f, out);
	fadt_reset_reg(f, out);
	out->have_fadt = true;
	return 0;
}

/* One AML integer as the _S5 package holds them: ZeroOp, OneOp, or a
 * Byte/Word/DWord prefix and its value. Returns the bytes used, 0 if p
 * (n bytes readable) does not start with one. */
static size_t aml_integer(const u8 *p, size_t n, u32 *val)
{
	if (n < 1)
		return 0;
	switch (p[0]) {
	case 0x00: *val = 0; return 1;                          /* ZeroOp */
	case 0x01: *val = 1; return 1;                          /* OneOp */
	case 0x0a:                                              /* BytePrefix */
		if (n < 2)
			return 0;
		*val = p[1];
		return 2;
	case 0x0b:                                              /* WordPrefix */
		if (n < 3)
			return 0;
		*val = p[1] | (u32)p[2] << 8;
		return 3;
	case 0x0c:                                              /* DWordPrefix */
		if (n < 5)
			return 0;
		*val = p[1] | (u32)p[2] << 8 | (u32)p[3] << 16 | (u32)p[4] << 24;
		return 5;
	default:
		return 0;
	}
}

/* Decoding AML properly needs an interpreter; Pagoda only needs the two
 * numbers of "Name (_S5, Package () { SLP_TYPa, SLP_TYPb, ... })". So, as
 * many small kernels do, scan the bytes for NameOp (0x08), optionally a
 * root prefix '\', the name "_S5_", and PackageOp (0x12); then skip the
 * package length (1-4 bytes, count in the top two bits of the first) and
 * the element count, and read two integers. Every read is checked against
 * len, and the scan moves forward one byte at a time, so it ends. An _S5
 * written as a method instead of a package is not found: no poweroff. */
int acpi_find_s5(const void *dsdt, size_t len, u16 *slp_typa, u16 *slp_typb)
{
	const u8 *p = dsdt;
	for (size_t i = 1; i + 5 <= len; i++) {
		if (!sig_is((const char *)p + i, "_S5_", 4) || p[i + 4] != 0x12)
			continue;
		bool named = p[i - 1] == 0x08 || (p[i - 1] == '\\' && i >= 2 && p[i - 2] == 0x08);
		if (!named)
			continue;
		size_t j = i + 5;                       /* after PackageOp */
		if (j >= len)
			break;
		j += 1 + (p[j] >> 6);                   /* PkgLength */
		j += 1;                                 /* NumElements */
		u32 a, b;
		size_t used;
		if (j > len || !(used = aml_integer(p + j, len - j, &a)))
			continue;
		j += used;
		if (!aml_integer(p + j, len - j, &b))
			continue;
		/* SLP_TYP is a 3-bit field of PM1_CNT. */
		if (a > 7 || b > 7) {
			pr_warn("ACPI: \\_S5 values 0x%x/0x%x do not fit SLP_TYP; ignored\n", a, b);
			continue;
		}
		*slp_typa = (u16)a;
		*slp_typb = (u16)b;
		return 0;
	}
	return -1;
}

/* --- the walk from the RSDP --- */

/* Validate the RSDP copy; return the root table's address and kind. The
 * XSDT is preferred (ACPI 2.0+: 64-bit addresses); a bad extended part
 * falls back to the RSDT, which every RSDP has. */
static int rsdp_root(const void *rsdp, size_t rsdp_len, struct acpi_info *out,
		     u64 *xsdt, u64 *rsdt)
{
	const struct acpi_rsdp *r = rsdp;
	*xsdt = *rsdt = 0;
	if (rsdp_len < ACPI_RSDP_V1_LEN) {
		pr_err("ACPI: RSDP copy is only %lu bytes\n", rsdp_len);
		return -1;
	}
	if (!sig_is(r->signature, "RSD PTR ", 8)) {
		pr_err("ACPI: RSDP signature is wrong\n");
		return -1;
	}
	if (!acpi_checksum_ok(r, ACPI_RSDP_V1_LEN)) {
		pr_err("ACPI: RSDP checksum is wrong\n");
		return -1;
	}
	out->rsdp_revision = r->revision;
	copy_id(out->oem_id, r->oem_id, 6);
	*rsdt = r->rsdt_phys;
	if (r->revision >= 2) {
		if (rsdp_len < sizeof(*r) || r->length < sizeof(*r) || r->length > rsdp_len)
			pr_warn("ACPI: RSDP revision %u with length %u (%lu bytes copied); using the RSDT\n",
				r->revision, rsdp_len >= sizeof(*r) ? r->length : 0, rsdp_len);
		else if (!acpi_checksum_ok(r, r->length))
			pr_warn("ACPI: RSDP extended checksum is wrong; using the RSDT\n");
		else
			*xsdt = r->xsdt_phys;
	}
	if (*xsdt == 0 && *rsdt == 0) {
		pr_err("ACPI: RSDP gives neither an XSDT nor an RSDT address\n");
		return -1;
	}
	return 0;
}

/* Read entry i of the root table (4-byte RSDT or 8-byte XSDT addresses;
 * XSDT entries are not 8-byte aligned, hence byte by byte). */
static u64 root_entry(const struct acpi_sdt_header *root, u32 entry_size, u32 i)
{
	const u8 *p = (const u8 *)(root + 1) + (size_t)i * entry_size;
	u64 v = 0;
	for (u32 b = 0; b < entry_size; b++)
		v |= (u64)p[b] << (8 * b);
	return v;
}

/* Look for MADT, FADT, HPET and DMAR in one root table. A table with an
 * impossible length is reported and skipped, in case a good copy follows;
 * one with a bad checksum is used, with a warning (table_ok). */
static void walk_root(const struct acpi_sdt_header *root, u32 entry_size,
		      acpi_map_fn map, void *ctx, struct acpi_info *out, bool *madt_ok)
{
	u32 n = (root->length - (u32)sizeof(*root)) / entry_size;
	for (u32 i = 0; i < n; i++) {
		u64 phys = root_entry(root, entry_size, i);
		if (phys == 0)
			continue;
		const struct acpi_sdt_header *h = map(phys, sizeof(*h), ctx);
		if (!h) {
			pr_warn("ACPI: table %u at 0x%lx is above the 4 GiB Pagoda can read at "
				"boot; skipped\n", i, phys);
			continue;
		}
		if (!*madt_ok && sig_is(h->signature, "APIC", 4)) {
			const struct acpi_sdt_header *t = map_table(phys, "APIC", map, ctx);
			if (t && acpi_parse_madt(t, t->length, out) == 0) {
				*madt_ok = true;
				out->madt_phys = phys;
				out->madt_len = t->length;
			}
		} else if (!out->have_fadt && sig_is(h->signature, "FACP", 4)) {
			const struct acpi_sdt_header *t = map_table(phys, "FACP", map, ctx);
			if (t && acpi_parse_fadt(t, t->length, out) == 0)
				out->fadt_phys = phys;
		} else if (!out->hpet_phys && sig_is(h->signature, "HPET", 4)) {
			const struct acpi_sdt_header *t = map_table(phys, "HPET", map, ctx);
			if (t)
				acpi_parse_hpet(t, t->length, out);
		} else if (!out->have_dmar && sig_is(h->signature, "DMAR", 4)) {
			const struct acpi_sdt_header *t = map_table(phys, "DMAR", map, ctx);
			if (t)
				acpi_parse_dmar(t, t->length, out);
		}
	}
}

int acpi_parse_tables(const void *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
		      struct acpi_info *out)
{
	bool madt_ok = false;
	u64 xsdt, rsdt;
	*out = (struct acpi_info){ 0 };
	madt_fallback(out);
	if (rsdp_root(rsdp, rsdp_len, out, &xsdt, &rsdt) != 0)
		return -1;

	const struct acpi_sdt_header *root = NULL;
	if (xsdt) {
		root = map_table(xsdt, "XSDT", map, ctx);
		if (!root && rsdt)
			pr_warn("ACPI: XSDT unusable; trying the RSDT\n");
	}
	if (root) {
		out->used_xsdt = true;
	} else if (rsdt) {
		root = map_table(rsdt, "RSDT", map, ctx);
	}
	if (!root)
		return -1;
	printk("ACPI: RSDP revision %u, OEM \"%s\", root table %s at 0x%lx\n",
	       out->rsdp_revision, out->oem_id, out->used_xsdt ? "XSDT" : "RSDT",
	       out->used_xsdt ? xsdt : rsdt);

	walk_root(root, out->used_xsdt ? 8 : 4, map, ctx, out, &madt_ok);

	if (out->have_fadt && out->dsdt_phys) {
		const struct acpi_sdt_header *d = map_table(out->dsdt_phys, "DSDT", map, ctx);
		/* The AML starts after the header. */
		if (d && acpi_find_s5(d + 1, d->length - sizeof(*d),
				      &out->slp_typa_s5, &out->slp_typb_s5) == 0)
			out->have_s5 = true;
		else if (d)
			pr_warn("ACPI: no \\_S5 package in the DSDT; ACPI poweroff unavailable\n");
	} else if (out->have_fadt) {
		pr_warn("ACPI: FADT gives no DSDT; ACPI poweroff unavailable\n");
	} else {
		pr_warn("ACPI: no usable FADT: no PM timer, no ACPI poweroff\n");
	}

	if (!madt_ok) {
		madt_fallback(out);
		pr_err("ACPI: no usable MADT\n");
		return -1;
	}
	return 0;
}

/* ------------------------- kernel only below ------------------------- */
#ifndef HOST_TEST
#include "kernel/bootinfo.h"
#include "kernel/string.h"
#include "arch/x86_64/cpu.h"
#include "mm/ioremap.h"

struct acpi_info acpi_info;

/* ACPI tables are memory, usually in "ACPI reclaimable" ranges (RAM, in
 * the direct map already), but firmware may put them in "reserved" ones,
 * which the direct map leaves out: ioremap_cache maps those write-back,
 * and is a no-op on RAM (mm/ioremap.h). */
static const void *boot_map(u64 phys, u64 len, void *ctx)
{
	(void)ctx;
	if (len == 0 || phys + len < phys)
		return NULL;
	return ioremap_cache(phys, len);
}

/* The boot CPU's APIC ID as CPUID reports it: the 32-bit x2APIC ID from
 * leaf 0xb when the CPU has that leaf, else the 8-bit one from leaf 1. */
static u32 boot_cpu_apic_id(void)
{
	u32 max, a, b, c, d;
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 0xb) {
		cpuid(0xb, 0, &a, &b, &c, &d);
		if (b != 0)
			return d;
	}
	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

/* The CPU running this code must be in the list, whatever the firmware
 * wrote: it may have been cut off by the ACPI_MAX_CPUS cap, or (a firmware
 * bug) be missing or disabled in the MADT. Add it, in the last slot if
 * the list is full. */
static void madt_ensure_boot_cpu(struct acpi_info *a)
{
	u32 me = boot_cpu_apic_id();
	for (u32 i = 0; i < a->nr_cpus; i++)
		if (a->apic_ids[i] == me)
			return;
	if (a->nr_cpus < ACPI_MAX_CPUS) {
		pr_warn("ACPI: the boot CPU (APIC ID %u) is not in the MADT; adding it\n", me);
		a->apic_ids[a->nr_cpus++] = me;
	} else {
		pr_warn("ACPI: the boot CPU (APIC ID %u) is past the first %u CPUs; "
			"it replaces APIC ID %u\n", me, ACPI_MAX_CPUS, a->apic_ids[ACPI_MAX_CPUS - 1]);
		a->apic_ids[ACPI_MAX_CPUS - 1] = me;
	}
}

/* The MADT's CPUs that will not be started, and why: a hot-plug slot
 * (usually empty) or a disabled CPU. */
static void acpi_print_skipped_cpus(const struct acpi_info *a)
{
	for (u32 i = 0; i < a->nr_skipped; i++)
		printk("ACPI: APIC ID %u not started: %s\n", a->skipped[i].apic_id,
		       a->skipped[i].hotplug ? "hot-plug slot (online-capable, not enabled)"
					     : "disabled in the MADT");
	u32 total = a->nr_cpus_disabled + a->nr_cpus_hotplug;
	if (total > a->nr_skipped)
		printk("ACPI: and %u more CPU entries not started\n", total - a->nr_skipped);
	if (a->hpet_phys)
		printk("ACPI: HPET at 0x%lx\n", a->hpet_phys);
	if (a->have_dmar)
		printk("ACPI: DMAR flags 0x%x%s\n", a->dmar_flags,
		       (a->dmar_flags & ACPI_DMAR_X2APIC_OPT_OUT) ? " (x2APIC opt-out)" : "");
}

int acpi_init(void)
{
	struct acpi_info *a = &acpi_info;
	memset(a, 0, sizeof(*a));
	int ret;
	if (boot_info.rsdp_phys == 0) {
		pr_err("ACPI: the boot loader passed no RSDP\n");
		madt_fallback(a);
		ret = -1;
	} else {
		ret = acpi_parse_tables(boot_info.rsdp, boot_info.rsdp_len, boot_map, NULL, a);
	}
	if (ret != 0) {
		pr_err("ACPI: cannot find the CPUs; Pagoda continues on one CPU\n");
		return ret;
	}
	madt_ensure_boot_cpu(a);

	for (u32 i = 0; i < a->nr_cpus; i++)
		printk("ACPI: CPU %u: APIC ID %u\n", i, a->apic_ids[i]);
	acpi_print_skipped_cpus(a);
	printk("ACPI: local APIC at 0x%lx\n", a->lapic_phys);
	for (u32 i = 0; i < a->nr_ioapics; i++)
		printk("ACPI: I/O APIC %u at 0x%x, GSIs from %u\n",
		       a->ioapic[i].id, a->ioapic[i].phys, a->ioapic[i].gsi_base);
	for (u32 i = 0; i < a->nr_overrides; i++)
		printk("ACPI: IRQ %u -> GSI %u (flags 0x%x)\n", a->overrides[i].source_irq,
		       a->overrides[i].gsi, a->overrides[i].flags);
	if (a->have_fadt)
		printk("ACPI: PM timer %s0x%x (%s), PM1 control 0x%x/0x%x, S5 %s\n",
		       a->pm_timer_port ? "at port " : "", a->pm_timer_port,
		       a->pm_timer_32bit ? "32-bit" : "24-bit",
		       a->pm1a_cnt_port, a->pm1b_cnt_port, a->have_s5 ? "found" : "missing");
	return 0;
}

/* Spin for roughly n microseconds without a calibrated timer: each write
 * to port 0x80 takes about 1 us on PC hardware (longer under emulation,
 * which only makes the wait longer). */
static void port_delay(u32 n)
{
	for (u32 i = 0; i < n; i++)
		io_wait();
}

/* SLP_EN is only honoured in ACPI mode (SCI_EN set). If firmware left the
 * machine in legacy mode, ask it to switch through SMI_CMD and wait
 * (bounded: about a second) for SCI_EN to appear. */
static void enter_acpi_mode(const struct acpi_info *a)
{
	if ((inw((u16)a->pm1a_cnt_port) & ACPI_PM1_SCI_EN) || !a->smi_cmd || !a->acpi_enable)
		return;
	printk("ACPI: asking firmware for ACPI mode (SMI_CMD 0x%x <- 0x%x)\n",
	       a->smi_cmd, a->acpi_enable);
	outb((u16)a->smi_cmd, a->acpi_enable);
	for (u32 i = 0; i < 1000 && !(inw((u16)a->pm1a_cnt_port) & ACPI_PM1_SCI_EN); i++)
		port_delay(1000);
	if (!(inw((u16)a->pm1a_cnt_port) & ACPI_PM1_SCI_EN))
		pr_warn("ACPI: firmware did not enter ACPI mode; trying poweroff anyway\n");
}

/* Before sleeping: no wake-up source may be armed or pending, or the
 * machine may wake (or refuse to sleep) at once. Disable every GPE (the
 * enable half of GPE0) and clear its status, then clear the fixed events'
 * status in PM1 (bits are cleared by writing 1), WAK_STS among them. */
static void clear_wake_events(const struct acpi_info *a)
{
	u8 half = a->gpe0_len / 2;
	for (u8 i = 0; a->gpe0_port && i < half; i++) {
		outb((u16)(a->gpe0_port + half + i), 0);
		outb((u16)(a->gpe0_port + i), 0xFF);
	}
	if (a->pm1a_evt_port)
		outw((u16)a->pm1a_evt_port, ACPI_PM1_FIXED_STATUS);
	if (a->pm1b_evt_port)
		outw((u16)a->pm1b_evt_port, ACPI_PM1_FIXED_STATUS);
}

/* PM1 control of one block with SLP_TYP set to typ, SLP_EN as given. */
static void write_slp(u32 port, u16 typ, bool enable)
{
	if (!port)
		return;
	u16 v = inw((u16)port) & (u16)~(7u << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
	v |= (u16)(typ << ACPI_PM1_SLP_TYP_SHIFT);
	outw((u16)port, enable ? (u16)(v | ACPI_PM1_SLP_EN) : v);
}

/* The sleep sequence of ACPI 6.x 7.4.2 / 16.1.6 for S5, as Linux's
 * acpi_hw_legacy_sleep runs it: (\_PTS(5): Pagoda has no AML interpreter,
 * so it is not run; firmware that needs it to power off is the one case
 * this cannot handle) clear wake status, write SLP_TYP to PM1a and PM1b,
 * then SLP_TYP with SLP_EN, which starts the transition. */
void acpi_poweroff(void)
{
	struct acpi_info *a = &acpi_info;
	if (!a->have_fadt || !a->have_s5 || a->pm1a_cnt_port == 0) {
		pr_err("ACPI: cannot power off: %s\n",
		       !a->have_fadt ? "no FADT" : !a->have_s5 ? "no \\_S5 in the DSDT"
							    : "no PM1a control register");
		return;
	}
	local_irq_disable();
	enter_acpi_mode(a);
	printk("ACPI: entering S5 (SLP_TYP %u/%u)\n", a->slp_typa_s5, a->slp_typb_s5);
	clear_wake_events(a);
	write_slp(a->pm1a_cnt_port, a->slp_typa_s5, false);
	write_slp(a->pm1b_cnt_port, a->slp_typb_s5, false);
	write_slp(a->pm1a_cnt_port, a->slp_typa_s5, true);
	write_slp(a->pm1b_cnt_port, a->slp_typb_s5, true);
	/* The power should now be going; if it has not after a second, say so. */
	port_delay(1000000);
	pr_err("ACPI: poweroff through PM1 control did not take effect\n");
}
#endif
