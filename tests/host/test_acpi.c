/* SPDX-License-Identifier: MIT */
// SOURCES: arch/x86_64/acpi.c
/* tests/host/test_acpi.c - the ACPI parsers against tables built here:
 * good ones first, then the same tables corrupted in the ways firmware
 * (or a bad memory stick) can corrupt them. Every case must end: a parser
 * that loops forever is killed by the alarm in main() and the run fails.
 * Tables under test sit in heap buffers of exactly their size, so
 * AddressSanitizer reports any read past the end. */
#include "tests/host/htest.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "arch/x86_64/acpi.h"
#include "kernel/printk.h"

/* --- printk for the parsers: print as a KTAP diagnostic, keep for checks --- */

static char log_buf[16384];
static size_t log_len;
static int log_quiet;           /* keep, but do not print (the fuzz case) */

int printk(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *m = msg;
	if (m[0] == '\001' && m[1])
		m += 2;         /* the KERN_* level */
	if (!log_quiet)
		printf("    # %s", m);
	size_t len = strlen(m);
	if (log_len + len < sizeof(log_buf)) {
		memcpy(log_buf + log_len, m, len + 1);
		log_len += len;
	}
	return n;
}

static void log_reset(void)
{
	log_len = 0;
	log_buf[0] = 0;
}

static int logged(const char *s)
{
	return strstr(log_buf, s) != NULL;
}

/* --- table builders --- */

static void set_checksum(void *table, size_t len, u8 *field)
{
	*field = 0;
	u8 sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += ((u8 *)table)[i];
	*field = (u8)(0 - sum);
}

/* A table under construction: a fixed buffer, then copied out exactly. */
struct tb {
	u8 b[8192];
	u32 len;
};

static void tb_header(struct tb *t, const char *sig, u8 revision)
{
	memset(t, 0, sizeof(*t));
	struct acpi_sdt_header *h = (void *)t->b;
	memcpy(h->signature, sig, 4);
	h->revision = revision;
	memcpy(h->oem_id, "PAGODA", 6);
	t->len = sizeof(*h);
}

static void tb_put(struct tb *t, const void *p, u32 n)
{
	memcpy(t->b + t->len, p, n);
	t->len += n;
}

/* Set the header's length and checksum. */
static void tb_finish(struct tb *t)
{
	struct acpi_sdt_header *h = (void *)t->b;
	h->length = t->len;
	set_checksum(t->b, t->len, &h->checksum);
}

static void madt_begin(struct tb *t, u8 revision)
{
	tb_header(t, "APIC", revision);
	u32 lapic = 0xfee00000, flags = 1;
	tb_put(t, &lapic, 4);
	tb_put(t, &flags, 4);
}

static void madt_lapic(struct tb *t, u8 apic_id, u32 flags)
{
	struct acpi_madt_lapic e = { ACPI_MADT_LAPIC, sizeof(e), apic_id, apic_id, flags };
	tb_put(t, &e, sizeof(e));
}

static void madt_x2apic(struct tb *t, u32 id, u32 flags)
{
	struct acpi_madt_x2apic e = { ACPI_MADT_X2APIC, sizeof(e), 0, id, flags, id };
	tb_put(t, &e, sizeof(e));
}

static void madt_ioapic(struct tb *t, u8 id, u32 phys, u32 gsi_base)
{
	struct acpi_madt_ioapic e = { ACPI_MADT_IOAPIC, sizeof(e), id, 0, phys, gsi_base };
	tb_put(t, &e, sizeof(e));
}

static void madt_override(struct tb *t, u8 irq, u32 gsi, u16 flags)
{
	struct acpi_madt_override e = { ACPI_MADT_OVERRIDE, sizeof(e), 0, irq, gsi, flags };
	tb_put(t, &e, sizeof(e));
}

/* The MADT QEMU gives a 4-CPU pc machine, more or less. */
static void madt_qemu4(struct tb *t)
{
	madt_begin(t, 1);
	for (u8 i = 0; i < 4; i++)
		madt_lapic(t, i, ACPI_MADT_ENABLED);
	madt_ioapic(t, 0, 0xfec00000, 0);
	madt_override(t, 0, 2, 0);
	madt_override(t, 9, 9, 0xd);
	tb_finish(t);
}

/* A heap copy of exactly n bytes, so ASan catches reads past it. */
static u8 *exact(const void *p, size_t n)
{
	u8 *c = malloc(n ? n : 1);
	memcpy(c, p, n);
	return c;
}

static int parse_madt(struct tb *t, size_t len, struct acpi_info *out)
{
	u8 *c = exact(t->b, len);
	memset(out, 0xaa, sizeof(*out));        /* the parser must set every MADT field */
	log_reset();
	int r = acpi_parse_madt(c, len, out);
	free(c);
	return r;
}

static void expect_fallback(const struct acpi_info *a)
{
	HT_EXPECT(!a->have_madt);
	HT_EXPECT_EQ(a->nr_cpus, 1);
	HT_EXPECT_EQ(a->nr_ioapics, 0);
	HT_EXPECT_EQ(a->nr_overrides, 0);
}

/* --- checksums --- */

HTEST(checksum_sums_to_zero)
{
	u8 t[5] = { 1, 2, 3, 4, (u8)(0 - 10) };
	HT_EXPECT(acpi_checksum_ok(t, 5));
	t[2] ^= 0x10;
	HT_EXPECT(!acpi_checksum_ok(t, 5));
	HT_EXPECT(acpi_checksum_ok(t, 0));
}

/* --- MADT --- */

HTEST(madt_good_table)
{
	struct tb t;
	struct acpi_info a;
	madt_qemu4(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT(a.have_madt);
	HT_EXPECT_EQ(a.lapic_phys, 0xfee00000);
	HT_EXPECT_EQ(a.nr_cpus, 4);
	for (u32 i = 0; i < 4; i++)
		HT_EXPECT_EQ(a.apic_ids[i], i);
	HT_EXPECT_EQ(a.nr_ioapics, 1);
	HT_EXPECT_EQ(a.ioapic[0].id, 0);
	HT_EXPECT_EQ(a.ioapic[0].phys, 0xfec00000);
	HT_EXPECT_EQ(a.ioapic[0].gsi_base, 0);
	HT_EXPECT_EQ(a.nr_overrides, 2);
	HT_EXPECT_EQ(a.overrides[0].source_irq, 0);
	HT_EXPECT_EQ(a.overrides[0].gsi, 2);
	HT_EXPECT_EQ(a.overrides[1].source_irq, 9);
	HT_EXPECT_EQ(a.overrides[1].flags, 0xd);
}

/* A wrong checksum alone is a warning, as in ACPICA: real firmware ships
 * such tables. The bounds checks still apply (the cases below). */
HTEST(madt_bad_checksum_used_with_warning)
{
	struct tb t;
	struct acpi_info a;
	madt_qemu4(&t);
	t.b[50] ^= 1;                   /* a flags byte no one reads */
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT(a.have_madt);
	HT_EXPECT_EQ(a.nr_cpus, 4);
	HT_EXPECT(logged("APIC table has a bad checksum; using it anyway"));
	/* Bad checksum and an entry of length 0: the entry check still
	 * stops the walk. */
	madt_qemu4(&t);
	t.b[sizeof(struct acpi_madt) + 1] = 0;
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);
	expect_fallback(&a);
	HT_EXPECT(logged("has length 0"));
}

HTEST(madt_wrong_signature)
{
	struct tb t;
	struct acpi_info a;
	madt_qemu4(&t);
	memcpy(t.b, "APIX", 4);
	tb_finish(&t);
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);
	expect_fallback(&a);
}

HTEST(madt_truncated)
{
	struct tb t;
	struct acpi_info a;
	madt_qemu4(&t);
	/* The caller can read fewer bytes than the header claims. */
	HT_EXPECT(parse_madt(&t, t.len - 1, &a) < 0);
	expect_fallback(&a);
	HT_EXPECT(logged("length"));
	/* Fewer bytes than a header at all. */
	HT_EXPECT(parse_madt(&t, 10, &a) < 0);
	expect_fallback(&a);
	/* A header whose length does not even cover the MADT's fixed part. */
	struct acpi_sdt_header *h = (void *)t.b;
	h->length = 40;
	set_checksum(t.b, 40, &h->checksum);
	HT_EXPECT(parse_madt(&t, 40, &a) < 0);
	expect_fallback(&a);
}

HTEST(madt_entry_length_zero_ends)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 1);
	madt_lapic(&t, 0, 1);
	struct acpi_madt_entry bad = { 0x7f, 0 };
	tb_put(&t, &bad, 2);
	madt_lapic(&t, 1, 1);
	tb_finish(&t);
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);      /* returns at all: no endless loop */
	expect_fallback(&a);
	HT_EXPECT(logged("has length 0"));
	/* Length 1 would also never advance past its own header. */
	t.b[sizeof(struct acpi_madt) + 8 + 1] = 1;
	tb_finish(&t);
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);
}

HTEST(madt_entry_past_end)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 1);
	madt_lapic(&t, 0, 1);
	madt_lapic(&t, 1, 1);
	t.b[t.len - 8 + 1] = 200;       /* the last entry claims 200 bytes */
	tb_finish(&t);
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);
	expect_fallback(&a);
	HT_EXPECT(logged("runs past"));

	/* One stray byte after the last entry. */
	madt_begin(&t, 1);
	madt_lapic(&t, 0, 1);
	u8 stray = ACPI_MADT_LAPIC;
	tb_put(&t, &stray, 1);
	tb_finish(&t);
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);
	HT_EXPECT(logged("stray"));
}

HTEST(madt_entry_too_short_for_type)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 1);
	madt_lapic(&t, 0, 1);
	/* An I/O APIC entry cut to 6 bytes: its address would be read from
	 * the next entry. */
	u8 short_ioapic[6] = { ACPI_MADT_IOAPIC, 6, 0, 0, 0, 0 };
	tb_put(&t, short_ioapic, 6);
	tb_finish(&t);
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);
	expect_fallback(&a);
	/* Longer than needed is fine (later ACPI revisions append fields). */
	madt_begin(&t, 1);
	u8 long_lapic[10] = { ACPI_MADT_LAPIC, 10, 0, 7, 1, 0, 0, 0, 0, 0 };
	tb_put(&t, long_lapic, 10);
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, 1);
	HT_EXPECT_EQ(a.apic_ids[0], 7);
}

HTEST(madt_too_many_cpus_capped)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 1);
	for (u32 i = 0; i < ACPI_MAX_CPUS + 6; i++)   /* xAPIC IDs end at 254 */
		if (i < 255)
			madt_lapic(&t, (u8)i, ACPI_MADT_ENABLED);
		else
			madt_x2apic(&t, i, ACPI_MADT_ENABLED);
	madt_ioapic(&t, 0, 0xfec00000, 0);     /* entries after the cap still count */
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, ACPI_MAX_CPUS);
	HT_EXPECT_EQ(a.apic_ids[ACPI_MAX_CPUS - 1], ACPI_MAX_CPUS - 1);
	HT_EXPECT_EQ(a.nr_ioapics, 1);
	char msg[64];
	snprintf(msg, sizeof(msg), "%u usable CPUs", ACPI_MAX_CPUS + 6);
	HT_EXPECT(logged(msg));
}

HTEST(madt_ioapics_and_overrides_capped)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 1);
	madt_lapic(&t, 0, 1);
	for (u32 i = 0; i < ACPI_MAX_IOAPICS + 2; i++)
		madt_ioapic(&t, (u8)i, 0xfec00000 + i * 0x1000, i * 24);
	for (u32 i = 0; i < ACPI_MAX_OVERRIDES + 1; i++)
		madt_override(&t, (u8)i, i, 0);
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.nr_ioapics, ACPI_MAX_IOAPICS);
	HT_EXPECT_EQ(a.ioapic[ACPI_MAX_IOAPICS - 1].gsi_base, (ACPI_MAX_IOAPICS - 1) * 24);
	HT_EXPECT_EQ(a.nr_overrides, ACPI_MAX_OVERRIDES);
	HT_EXPECT(logged("I/O APICs"));
	HT_EXPECT(logged("interrupt overrides"));
}

HTEST(madt_disabled_cpus_skipped)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 1);
	madt_lapic(&t, 0, ACPI_MADT_ENABLED);
	madt_lapic(&t, 1, 0);                           /* disabled */
	madt_lapic(&t, 2, ACPI_MADT_ONLINE_CAPABLE);    /* reserved bit before rev 5 */
	madt_lapic(&t, 3, ACPI_MADT_ENABLED);
	madt_x2apic(&t, 400, ACPI_MADT_ONLINE_CAPABLE);
	madt_x2apic(&t, 401, ACPI_MADT_ENABLED | ACPI_MADT_ONLINE_CAPABLE);
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, 3);
	HT_EXPECT_EQ(a.apic_ids[0], 0);
	HT_EXPECT_EQ(a.apic_ids[1], 3);
	HT_EXPECT_EQ(a.apic_ids[2], 401);
	HT_EXPECT_EQ(a.max_apic_id, 401);
	HT_EXPECT_EQ(a.nr_cpus_disabled, 3);
	HT_EXPECT_EQ(a.nr_cpus_hotplug, 0);
	HT_EXPECT_EQ(a.nr_skipped, 3);
	HT_EXPECT_EQ(a.skipped[0].apic_id, 1);
	HT_EXPECT_EQ(a.skipped[2].apic_id, 400);

	/* From MADT revision 5, online-capable without enabled is a
	 * hot-plug slot: still not started (an empty slot never answers),
	 * but reported as such. */
	((struct acpi_sdt_header *)t.b)->revision = 5;
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, 3);
	HT_EXPECT_EQ(a.apic_ids[1], 3);
	HT_EXPECT_EQ(a.nr_cpus_disabled, 1);
	HT_EXPECT_EQ(a.nr_cpus_hotplug, 2);
	HT_EXPECT(!a.skipped[0].hotplug);
	HT_EXPECT(a.skipped[1].hotplug);
	HT_EXPECT_EQ(a.skipped[1].apic_id, 2);
	HT_EXPECT(a.skipped[2].hotplug);

	/* Many slots: counted past the list's size. */
	madt_begin(&t, 5);
	madt_lapic(&t, 0, ACPI_MADT_ENABLED);
	for (u32 i = 1; i <= ACPI_MAX_SKIPPED + 10; i++)
		madt_lapic(&t, (u8)i, ACPI_MADT_ONLINE_CAPABLE);
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, 1);
	HT_EXPECT_EQ(a.nr_cpus_hotplug, ACPI_MAX_SKIPPED + 10);
	HT_EXPECT_EQ(a.nr_skipped, ACPI_MAX_SKIPPED);

	/* No enabled CPU at all: unusable. */
	madt_begin(&t, 1);
	madt_lapic(&t, 0, 0);
	madt_ioapic(&t, 0, 0xfec00000, 0);
	tb_finish(&t);
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);
	expect_fallback(&a);
	HT_EXPECT(logged("no usable CPU"));
}

HTEST(madt_x2apic_entries)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 4);
	madt_lapic(&t, 0, ACPI_MADT_ENABLED);
	madt_x2apic(&t, 300, ACPI_MADT_ENABLED);
	madt_x2apic(&t, 301, 0);
	madt_x2apic(&t, 0x12345, ACPI_MADT_ENABLED);
	madt_x2apic(&t, 0xffffffff, ACPI_MADT_ENABLED); /* invalid ID */
	madt_lapic(&t, 0xff, ACPI_MADT_ENABLED);        /* broadcast, invalid */
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, 3);
	HT_EXPECT_EQ(a.apic_ids[0], 0);
	HT_EXPECT_EQ(a.apic_ids[1], 300);
	HT_EXPECT_EQ(a.apic_ids[2], 0x12345);
	HT_EXPECT(logged("0xffffffff ignored"));
	HT_EXPECT(logged("0xff ignored"));
}

HTEST(madt_duplicate_ids_keep_first)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 4);
	madt_lapic(&t, 0, ACPI_MADT_ENABLED);
	madt_lapic(&t, 1, ACPI_MADT_ENABLED);
	madt_lapic(&t, 1, ACPI_MADT_ENABLED);
	madt_x2apic(&t, 0, ACPI_MADT_ENABLED);  /* same CPU listed again as x2APIC */
	madt_lapic(&t, 2, ACPI_MADT_ENABLED);
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, 3);
	HT_EXPECT_EQ(a.apic_ids[0], 0);
	HT_EXPECT_EQ(a.apic_ids[1], 1);
	HT_EXPECT_EQ(a.apic_ids[2], 2);
	HT_EXPECT(logged("APIC ID 1 twice"));
	HT_EXPECT(logged("APIC ID 0 twice"));
}

HTEST(madt_lapic_address_override)
{
	struct tb t;
	struct acpi_info a;
	madt_begin(&t, 1);
	madt_lapic(&t, 0, 1);
	struct acpi_madt_lapic_addr o = { ACPI_MADT_LAPIC_ADDR, sizeof(o), 0, 0x123fee00000ul };
	tb_put(&t, &o, sizeof(o));
	tb_finish(&t);
	HT_EXPECT_EQ(parse_madt(&t, t.len, &a), 0);
	HT_EXPECT_EQ(a.lapic_phys, 0x123fee00000ul);

	/* No address at all. */
	madt_begin(&t, 1);
	madt_lapic(&t, 0, 1);
	memset(t.b + sizeof(struct acpi_sdt_header), 0, 4);
	tb_finish(&t);
	HT_EXPECT(parse_madt(&t, t.len, &a) < 0);
	HT_EXPECT(logged("no local APIC address"));
}

/* Random damage to a good MADT, checksum repaired so the entry walk sees
 * it: the parser must end, stay inside the buffer (ASan), and either
 * accept the table with sane counts or fall back to one CPU. */
HTEST(madt_random_corruption_is_safe)
{
	struct tb good, t;
	struct acpi_info a;
	madt_begin(&good, 5);
	for (u8 i = 0; i < 8; i++)
		madt_lapic(&good, i, i & 1 ? ACPI_MADT_ENABLED : ACPI_MADT_ONLINE_CAPABLE);
	madt_x2apic(&good, 500, 1);
	madt_ioapic(&good, 0, 0xfec00000, 0);
	madt_override(&good, 0, 2, 0);
	tb_finish(&good);
	srand(1);
	log_quiet = 1;
	int accepted = 0, rejected = 0;
	for (int iter = 0; iter < 20000; iter++) {
		t = good;
		int flips = 1 + rand() % 4;
		for (int f = 0; f < flips; f++) {
			u32 pos = sizeof(struct acpi_madt) + (u32)rand() % (good.len - sizeof(struct acpi_madt));
			t.b[pos] = (u8)rand();
		}
		size_t len = good.len;
		if (rand() % 4 == 0) {          /* also cut the table short */
			len = sizeof(struct acpi_madt) + (u32)rand() % (good.len - sizeof(struct acpi_madt));
			t.len = (u32)len;
		}
		tb_finish(&t);
		if (parse_madt(&t, len, &a) == 0) {
			accepted++;
			HT_EXPECT(a.have_madt);
			HT_EXPECT(a.nr_cpus >= 1 && a.nr_cpus <= ACPI_MAX_CPUS);
			HT_EXPECT(a.nr_ioapics <= ACPI_MAX_IOAPICS);
			HT_EXPECT(a.nr_overrides <= ACPI_MAX_OVERRIDES);
			for (u32 i = 0; i < a.nr_cpus; i++)
				for (u32 j = i + 1; j < a.nr_cpus; j++)
					HT_EXPECT(a.apic_ids[i] != a.apic_ids[j]);
		} else {
			rejected++;
			expect_fallback(&a);
		}
		if (htest_case_failed)
			break;
	}
	log_quiet = 0;
	printf("    # %d corrupted tables accepted, %d rejected\n", accepted, rejected);
	HT_EXPECT(accepted > 0 && rejected > 0);
}

/* --- \_S5 --- */

static int find_s5(const u8 *aml, size_t n, u16 *a, u16 *b)
{
	u8 *c = exact(aml, n);
	log_reset();
	int r = acpi_find_s5(c, n, a, b);
	free(c);
	return r;
}

HTEST(s5_package_found)
{
	u16 a = 99, b = 99;
	/* Name (_S5, Package (4) { Zero, Zero, Zero, Zero }), as QEMU has it. */
	const u8 qemu[] = { 'x', 'y', 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00 };
	HT_EXPECT_EQ(find_s5(qemu, sizeof(qemu), &a, &b), 0);
	HT_EXPECT_EQ(a, 0);
	HT_EXPECT_EQ(b, 0);
	/* Name (\_S5, Package () { 0x07, 0x05, ... }) with a 2-byte PkgLength
	 * and Byte/Word prefixes. */
	const u8 real[] = { 0x10, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x41, 0x00, 0x04,
			    0x0a, 0x07, 0x0b, 0x05, 0x00, 0x00, 0x00 };
	HT_EXPECT_EQ(find_s5(real, sizeof(real), &a, &b), 0);
	HT_EXPECT_EQ(a, 7);
	HT_EXPECT_EQ(b, 5);
	/* OneOp. */
	const u8 one[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x01, 0x0c, 2, 0, 0, 0 };
	HT_EXPECT_EQ(find_s5(one, sizeof(one), &a, &b), 0);
	HT_EXPECT_EQ(a, 1);
	HT_EXPECT_EQ(b, 2);
}

HTEST(s5_not_found_or_bad)
{
	u16 a, b;
	/* A method, not a package. */
	const u8 method[] = { 0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xa4, 0x00 };
	HT_EXPECT(find_s5(method, sizeof(method), &a, &b) < 0);
	/* The name without NameOp in front (e.g. a reference in code). */
	const u8 ref[] = { 0x70, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00 };
	HT_EXPECT(find_s5(ref, sizeof(ref), &a, &b) < 0);
	/* Cut off at every possible point: never read past the end. */
	const u8 qemu[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0b, 0x05, 0x00, 0x0c, 1, 0, 0, 0 };
	for (size_t n = 0; n < sizeof(qemu); n++)
		HT_EXPECT(find_s5(qemu, n, &a, &b) < 0);
	HT_EXPECT_EQ(find_s5(qemu, sizeof(qemu), &a, &b), 0);
	/* A value that does not fit the 3-bit SLP_TYP field. */
	const u8 big[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0a, 0x09, 0x00, 0x00 };
	HT_EXPECT(find_s5(big, sizeof(big), &a, &b) < 0);
	HT_EXPECT(logged("do not fit"));
	/* An unknown element encoding. */
	const u8 odd[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x5b, 0x00, 0x00, 0x00 };
	HT_EXPECT(find_s5(odd, sizeof(odd), &a, &b) < 0);
}

/* --- FADT --- */

static void fadt_build(struct tb *t, u32 len)
{
	tb_header(t, "FACP", len >= 244 ? 5 : 1);
	union { struct acpi_fadt f; u8 raw[300]; } u;
	struct acpi_fadt f;
	memset(&u, 0, sizeof(u));
	memset(&f, 0, sizeof(f));
	f.dsdt = 0x5000;
	f.smi_cmd = 0xb2;
	f.acpi_enable = 0xf1;
	f.pm1a_cnt_blk = 0x604;
	f.pm_tmr_blk = 0x608;
	f.pm_tmr_len = 4;
	f.pm1_cnt_len = 2;
	u.f = f;        /* zero beyond the fields the struct names */
	memcpy(t->b + sizeof(struct acpi_sdt_header), u.raw + sizeof(struct acpi_sdt_header),
	       len - sizeof(struct acpi_sdt_header));
	t->len = len;
	tb_finish(t);
}

static struct acpi_fadt *fadt_of(struct tb *t)
{
	return (struct acpi_fadt *)t->b;
}

static int parse_fadt(struct tb *t, struct acpi_info *out)
{
	u8 *c = exact(t->b, t->len);
	memset(out, 0, sizeof(*out));
	log_reset();
	int r = acpi_parse_fadt(c, t->len, out);
	free(c);
	return r;
}

HTEST(fadt_acpi1_fields)
{
	struct tb t;
	struct acpi_info a;
	fadt_build(&t, ACPI_FADT_V1_LEN);
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT(a.have_fadt);
	HT_EXPECT_EQ(a.pm_timer_port, 0x608);
	HT_EXPECT(!a.pm_timer_32bit);
	HT_EXPECT_EQ(a.pm1a_cnt_port, 0x604);
	HT_EXPECT_EQ(a.pm1b_cnt_port, 0);
	HT_EXPECT_EQ(a.dsdt_phys, 0x5000);
	HT_EXPECT_EQ(a.smi_cmd, 0xb2);
	HT_EXPECT_EQ(a.acpi_enable, 0xf1);

	/* PM_TMR_LEN 0 means there is no timer, whatever PM_TMR_BLK says. */
	fadt_of(&t)->pm_tmr_len = 0;
	tb_finish(&t);
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT_EQ(a.pm_timer_port, 0);
}

HTEST(fadt_extended_fields_win)
{
	struct tb t;
	struct acpi_info a;
	fadt_build(&t, 244);
	struct acpi_fadt *f = fadt_of(&t);
	f->flags = ACPI_FADT_TMR_VAL_EXT;
	f->x_dsdt = 0x6000;
	f->x_pm_tmr_blk = (struct acpi_gas){ ACPI_GAS_IO, 32, 0, 3, 0x1808 };
	f->x_pm1a_cnt_blk = (struct acpi_gas){ ACPI_GAS_IO, 16, 0, 2, 0x1804 };
	f->x_pm1b_cnt_blk = (struct acpi_gas){ ACPI_GAS_IO, 16, 0, 2, 0x1904 };
	tb_finish(&t);
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT_EQ(a.pm_timer_port, 0x1808);
	HT_EXPECT(a.pm_timer_32bit);
	HT_EXPECT_EQ(a.pm1a_cnt_port, 0x1804);
	HT_EXPECT_EQ(a.pm1b_cnt_port, 0x1904);
	HT_EXPECT_EQ(a.dsdt_phys, 0x6000);

	/* A PM timer in memory space cannot be read as a port: keep the
	 * legacy port if there is one, else no timer (with a message). */
	f->x_pm_tmr_blk.space_id = ACPI_GAS_MEMORY;
	tb_finish(&t);
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT_EQ(a.pm_timer_port, 0x608);
	f->pm_tmr_blk = 0;
	tb_finish(&t);
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT_EQ(a.pm_timer_port, 0);
	HT_EXPECT(logged("address space 0"));

	/* X_ fields the table is too short to contain are not read. */
	fadt_build(&t, 200);    /* ends before X_PM_TMR_BLK (208) */
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT_EQ(a.pm_timer_port, 0x608);
}

/* What poweroff and reset read: the PM1 event blocks and GPE0 (to clear
 * wake-up sources before S5) and the reset register, which exists only
 * when the table reaches it and RESET_REG_SUP says it is filled in. */
HTEST(fadt_sleep_and_reset_registers)
{
	struct tb t;
	struct acpi_info a;
	fadt_build(&t, 244);
	struct acpi_fadt *f = fadt_of(&t);
	f->pm1a_evt_blk = 0x600;
	f->pm1_evt_len = 4;
	f->gpe0_blk = 0x620;
	f->gpe0_blk_len = 8;
	f->reset_reg = (struct acpi_gas){ ACPI_GAS_IO, 8, 0, 1, 0xcf9 };
	f->reset_value = 0x0f;
	tb_finish(&t);
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT_EQ(a.pm1a_evt_port, 0x600);
	HT_EXPECT_EQ(a.pm1b_evt_port, 0);
	HT_EXPECT_EQ(a.pm1_evt_len, 4);
	HT_EXPECT_EQ(a.gpe0_port, 0x620);
	HT_EXPECT_EQ(a.gpe0_len, 8);
	HT_EXPECT(!a.have_reset_reg);           /* RESET_REG_SUP clear */

	f->flags = ACPI_FADT_RESET_REG_SUP;
	tb_finish(&t);
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT(a.have_reset_reg);
	HT_EXPECT_EQ(a.reset_space, ACPI_GAS_IO);
	HT_EXPECT_EQ(a.reset_addr, 0xcf9);
	HT_EXPECT_EQ(a.reset_value, 0x0f);

	/* An ACPI 1.0 table ends at the flags: no reset register, whatever
	 * the flags claim. */
	fadt_build(&t, ACPI_FADT_V1_LEN);
	fadt_of(&t)->flags = ACPI_FADT_RESET_REG_SUP;
	tb_finish(&t);
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT(!a.have_reset_reg);
}

HTEST(fadt_bad_tables)
{
	struct tb t;
	struct acpi_info a;
	fadt_build(&t, 100);    /* shorter than ACPI 1.0's FADT */
	HT_EXPECT(parse_fadt(&t, &a) < 0);
	HT_EXPECT(!a.have_fadt);
	/* A bad checksum only warns; the fields are read as usual. */
	fadt_build(&t, ACPI_FADT_V1_LEN);
	t.b[9] ^= 0x40;
	HT_EXPECT_EQ(parse_fadt(&t, &a), 0);
	HT_EXPECT(a.have_fadt);
	HT_EXPECT_EQ(a.pm_timer_port, 0x608);
	HT_EXPECT(logged("FACP table has a bad checksum; using it anyway"));
	/* A wrong signature is not a FADT. */
	fadt_build(&t, ACPI_FADT_V1_LEN);
	t.b[0] = 'X';
	HT_EXPECT(parse_fadt(&t, &a) < 0);
	HT_EXPECT(!a.have_fadt);
	HT_EXPECT_EQ(a.pm_timer_port, 0);
}

/* --- the whole walk, over fake physical memory --- */

#define FAKE_MEM_SIZE 0x10000
static u8 fake_mem[FAKE_MEM_SIZE];

static const void *fake_map(u64 phys, u64 len, void *ctx)
{
	(void)ctx;
	if (phys >= FAKE_MEM_SIZE || len > FAKE_MEM_SIZE - phys)
		return NULL;
	return fake_mem + phys;
}

enum { RSDT_AT = 0x1000, XSDT_AT = 0x2000, MADT_AT = 0x3000, FADT_AT = 0x4000,
       DSDT_AT = 0x5000, MADT2_AT = 0x6000 };

static void place(u64 phys, struct tb *t)
{
	memcpy(fake_mem + phys, t->b, t->len);
}

static void root_build(u64 phys, const char *sig, u32 entry_size, const u64 *entries, u32 n)
{
	struct tb t;
	tb_header(&t, sig, 1);
	for (u32 i = 0; i < n; i++)
		tb_put(&t, &entries[i], entry_size);
	tb_finish(&t);
	place(phys, &t);
}

static void rsdp_build(struct acpi_rsdp *r, u8 revision)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, "BOCHS ", 6);
	r->revision = revision;
	r->rsdt_phys = RSDT_AT;
	r->length = sizeof(*r);
	r->xsdt_phys = revision >= 2 ? XSDT_AT : 0;
	set_checksum(r, ACPI_RSDP_V1_LEN, &r->checksum);
	set_checksum(r, sizeof(*r), &r->ext_checksum);
}

/* A machine: RSDT and XSDT listing a FADT and a MADT (RSDT: 4 CPUs,
 * XSDT: 2 CPUs, so a test can tell which root was followed). */
static void machine_build(void)
{
	struct tb t;
	memset(fake_mem, 0, sizeof(fake_mem));
	madt_qemu4(&t);
	place(MADT_AT, &t);
	madt_begin(&t, 1);
	madt_lapic(&t, 8, 1);
	madt_lapic(&t, 9, 1);
	tb_finish(&t);
	place(MADT2_AT, &t);
	fadt_build(&t, ACPI_FADT_V1_LEN);
	place(FADT_AT, &t);
	tb_header(&t, "DSDT", 2);
	const u8 aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0a, 0x05, 0x0a, 0x06 };
	tb_put(&t, aml, sizeof(aml));
	tb_finish(&t);
	place(DSDT_AT, &t);
	u64 r[] = { 0x100000, FADT_AT, MADT_AT };       /* first entry unreachable */
	root_build(RSDT_AT, "RSDT", 4, r, 3);
	u64 x[] = { FADT_AT, 0, MADT2_AT };
	root_build(XSDT_AT, "XSDT", 8, x, 3);
}

static int walk(const struct acpi_rsdp *r, size_t len, struct acpi_info *a)
{
	u8 *c = exact(r, len);
	memset(a, 0xaa, sizeof(*a));
	log_reset();
	int ret = acpi_parse_tables(c, len, fake_map, NULL, a);
	free(c);
	return ret;
}

HTEST(walk_rsdt)
{
	struct acpi_rsdp r;
	struct acpi_info a;
	machine_build();
	rsdp_build(&r, 0);
	HT_EXPECT_EQ(walk(&r, ACPI_RSDP_V1_LEN, &a), 0);
	HT_EXPECT(!a.used_xsdt);
	HT_EXPECT(!strcmp(a.oem_id, "BOCHS"));
	HT_EXPECT(a.have_madt);
	HT_EXPECT_EQ(a.nr_cpus, 4);
	HT_EXPECT_EQ(a.madt_phys, MADT_AT);
	HT_EXPECT(a.have_fadt);
	HT_EXPECT_EQ(a.pm_timer_port, 0x608);
	HT_EXPECT(a.have_s5);
	HT_EXPECT_EQ(a.slp_typa_s5, 5);
	HT_EXPECT_EQ(a.slp_typb_s5, 6);
	HT_EXPECT(logged("root table RSDT"));
	HT_EXPECT(logged("above the 4 GiB"));   /* the unreachable entry */
}

HTEST(walk_xsdt_preferred)
{
	struct acpi_rsdp r;
	struct acpi_info a;
	machine_build();
	rsdp_build(&r, 2);
	HT_EXPECT_EQ(walk(&r, sizeof(r), &a), 0);
	HT_EXPECT(a.used_xsdt);
	HT_EXPECT_EQ(a.nr_cpus, 2);
	HT_EXPECT_EQ(a.apic_ids[0], 8);
	HT_EXPECT(a.have_s5);
}

HTEST(walk_rsdp_bad)
{
	struct acpi_rsdp r;
	struct acpi_info a;
	machine_build();
	rsdp_build(&r, 0);
	r.signature[0] = 'X';
	HT_EXPECT(walk(&r, ACPI_RSDP_V1_LEN, &a) < 0);
	expect_fallback(&a);
	HT_EXPECT(logged("signature"));
	rsdp_build(&r, 0);
	r.rsdt_phys ^= 1;
	HT_EXPECT(walk(&r, ACPI_RSDP_V1_LEN, &a) < 0);
	expect_fallback(&a);
	HT_EXPECT(logged("RSDP checksum"));
	rsdp_build(&r, 0);
	HT_EXPECT(walk(&r, 12, &a) < 0);        /* copy too short */
	expect_fallback(&a);
}

HTEST(walk_xsdt_problems_fall_back_to_rsdt)
{
	struct acpi_rsdp r;
	struct acpi_info a;
	machine_build();
	/* Extended checksum wrong. */
	rsdp_build(&r, 2);
	r.ext_checksum ^= 1;
	HT_EXPECT_EQ(walk(&r, sizeof(r), &a), 0);
	HT_EXPECT(!a.used_xsdt);
	HT_EXPECT_EQ(a.nr_cpus, 4);
	HT_EXPECT(logged("extended checksum"));
	/* Revision 2 but the copy is only the ACPI 1.0 part. */
	rsdp_build(&r, 2);
	HT_EXPECT_EQ(walk(&r, ACPI_RSDP_V1_LEN, &a), 0);
	HT_EXPECT(!a.used_xsdt);
	/* XSDT beyond reachable memory (as above 4 GiB on real hardware). */
	rsdp_build(&r, 2);
	r.xsdt_phys = 0x100000000ul;
	set_checksum(&r, sizeof(r), &r.ext_checksum);
	HT_EXPECT_EQ(walk(&r, sizeof(r), &a), 0);
	HT_EXPECT(!a.used_xsdt);
	HT_EXPECT(logged("lies outside"));
	/* XSDT with a bad checksum: used anyway, with a warning. */
	rsdp_build(&r, 2);
	fake_mem[XSDT_AT + 9] ^= 1;
	HT_EXPECT_EQ(walk(&r, sizeof(r), &a), 0);
	HT_EXPECT(a.used_xsdt);
	HT_EXPECT_EQ(a.nr_cpus, 2);
	HT_EXPECT(logged("XSDT table has a bad checksum; using it anyway"));
	/* XSDT with an impossible length: the RSDT. */
	struct acpi_sdt_header *x = (void *)(fake_mem + XSDT_AT);
	x->length = 10;
	HT_EXPECT_EQ(walk(&r, sizeof(r), &a), 0);
	HT_EXPECT(!a.used_xsdt);
	HT_EXPECT_EQ(a.nr_cpus, 4);
	/* And the RSDT's length impossible too: nothing left. */
	((struct acpi_sdt_header *)(fake_mem + RSDT_AT))->length = 10;
	HT_EXPECT(walk(&r, sizeof(r), &a) < 0);
	expect_fallback(&a);
}

HTEST(walk_bad_tables_skipped)
{
	struct acpi_rsdp r;
	struct acpi_info a;
	machine_build();
	rsdp_build(&r, 0);
	/* A MADT with a bad checksum is used (with a warning). */
	fake_mem[MADT_AT + 50] ^= 1;
	u64 list[] = { MADT_AT, FADT_AT, MADT2_AT };
	root_build(RSDT_AT, "RSDT", 4, list, 3);
	HT_EXPECT_EQ(walk(&r, ACPI_RSDP_V1_LEN, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, 4);
	HT_EXPECT_EQ(a.madt_phys, MADT_AT);
	HT_EXPECT(logged("APIC table has a bad checksum; using it anyway"));
	/* A broken MADT (an entry of length 0), then a good copy later. */
	fake_mem[MADT_AT + sizeof(struct acpi_madt) + 1] = 0;
	HT_EXPECT_EQ(walk(&r, ACPI_RSDP_V1_LEN, &a), 0);
	HT_EXPECT_EQ(a.nr_cpus, 2);
	HT_EXPECT_EQ(a.madt_phys, MADT2_AT);
	/* No good MADT at all: one CPU, but the FADT is still used. */
	u64 only[] = { MADT_AT, FADT_AT };
	root_build(RSDT_AT, "RSDT", 4, only, 2);
	HT_EXPECT(walk(&r, ACPI_RSDP_V1_LEN, &a) < 0);
	expect_fallback(&a);
	HT_EXPECT(a.have_fadt);
	HT_EXPECT(a.have_s5);
	HT_EXPECT(logged("no usable MADT"));
	/* A MADT whose length runs off the end of memory. */
	struct acpi_sdt_header *h = (void *)(fake_mem + MADT2_AT);
	h->length = FAKE_MEM_SIZE;
	u64 one[] = { MADT2_AT };
	root_build(RSDT_AT, "RSDT", 4, one, 1);
	HT_EXPECT(walk(&r, ACPI_RSDP_V1_LEN, &a) < 0);
	expect_fallback(&a);
	HT_EXPECT(logged("lies outside"));
	/* A root table with an absurd length. */
	h = (void *)(fake_mem + RSDT_AT);
	h->length = 0xfffffff0u;
	HT_EXPECT(walk(&r, ACPI_RSDP_V1_LEN, &a) < 0);
	HT_EXPECT(logged("impossible length"));
	/* A root table listing itself: visited once per entry, no recursion. */
	u64 self[] = { RSDT_AT, RSDT_AT };
	root_build(RSDT_AT, "RSDT", 4, self, 2);
	HT_EXPECT(walk(&r, ACPI_RSDP_V1_LEN, &a) < 0);
	expect_fallback(&a);
}

HTEST(walk_bad_dsdt)
{
	struct acpi_rsdp r;
	struct acpi_info a;
	machine_build();
	rsdp_build(&r, 0);
	/* A bad checksum: used, \_S5 found. */
	fake_mem[DSDT_AT + 9] ^= 1;
	HT_EXPECT_EQ(walk(&r, ACPI_RSDP_V1_LEN, &a), 0);
	HT_EXPECT(a.have_fadt);
	HT_EXPECT(a.have_s5);
	HT_EXPECT(logged("DSDT table has a bad checksum; using it anyway"));
	/* An impossible length: no \_S5. */
	((struct acpi_sdt_header *)(fake_mem + DSDT_AT))->length = 8;
	HT_EXPECT_EQ(walk(&r, ACPI_RSDP_V1_LEN, &a), 0);
	HT_EXPECT(a.have_fadt);
	HT_EXPECT(!a.have_s5);
}

/* --- HPET and DMAR --- */

static int parse_with(int (*fn)(const void *, size_t, struct acpi_info *), struct tb *t,
		      u32 len, struct acpi_info *a)
{
	u8 *c = exact(t->b, len);
	memset(a, 0, sizeof(*a));
	log_reset();
	int ret = fn(c, len, a);
	free(c);
	return ret;
}

static void hpet_build(struct tb *t, u8 space, u64 addr)
{
	struct acpi_hpet h;
	memset(&h, 0, sizeof(h));
	h.base.space_id = space;
	h.base.address = addr;
	tb_header(t, "HPET", 1);
	tb_put(t, (u8 *)&h + sizeof(h.h), sizeof(h) - sizeof(h.h));
	tb_finish(t);
}

HTEST(hpet_table)
{
	struct tb t;
	struct acpi_info a;
	hpet_build(&t, ACPI_GAS_MEMORY, 0xfed00000);
	HT_EXPECT_EQ(parse_with(acpi_parse_hpet, &t, t.len, &a), 0);
	HT_EXPECT_EQ(a.hpet_phys, 0xfed00000);
	/* Bad checksum: used, with a warning. */
	t.b[9] ^= 1;
	HT_EXPECT_EQ(parse_with(acpi_parse_hpet, &t, t.len, &a), 0);
	HT_EXPECT_EQ(a.hpet_phys, 0xfed00000);
	HT_EXPECT(logged("HPET table has a bad checksum"));
	/* Registers in I/O space, or at 0: not usable. */
	hpet_build(&t, ACPI_GAS_IO, 0xfed00000);
	HT_EXPECT(parse_with(acpi_parse_hpet, &t, t.len, &a) < 0);
	HT_EXPECT_EQ(a.hpet_phys, 0);
	hpet_build(&t, ACPI_GAS_MEMORY, 0);
	HT_EXPECT(parse_with(acpi_parse_hpet, &t, t.len, &a) < 0);
	/* Too short for its fields, or fewer bytes than it claims. */
	hpet_build(&t, ACPI_GAS_MEMORY, 0xfed00000);
	t.len = 50;
	tb_finish(&t);
	HT_EXPECT(parse_with(acpi_parse_hpet, &t, t.len, &a) < 0);
	HT_EXPECT_EQ(a.hpet_phys, 0);
	hpet_build(&t, ACPI_GAS_MEMORY, 0xfed00000);
	HT_EXPECT(parse_with(acpi_parse_hpet, &t, t.len - 1, &a) < 0);
}

HTEST(dmar_table)
{
	struct tb t;
	struct acpi_info a;
	const u8 body[] = { 46, ACPI_DMAR_INTR_REMAP | ACPI_DMAR_X2APIC_OPT_OUT, 0, 0, 0, 0, 0,
			    0, 0, 0, 0, 0 };
	tb_header(&t, "DMAR", 1);
	tb_put(&t, body, sizeof(body));
	tb_finish(&t);
	HT_EXPECT_EQ(parse_with(acpi_parse_dmar, &t, t.len, &a), 0);
	HT_EXPECT(a.have_dmar);
	HT_EXPECT_EQ(a.dmar_flags, ACPI_DMAR_INTR_REMAP | ACPI_DMAR_X2APIC_OPT_OUT);
	/* Ends before the flags byte. */
	t.len = 37;
	tb_finish(&t);
	HT_EXPECT(parse_with(acpi_parse_dmar, &t, t.len, &a) < 0);
	HT_EXPECT(!a.have_dmar);
}

int main(void)
{
	alarm(60);      /* a parser stuck in a loop fails the run instead of hanging it */
	return htest_main("acpi", (struct htest[]){
		HT_CASE(checksum_sums_to_zero),
		HT_CASE(madt_good_table),
		HT_CASE(madt_bad_checksum_used_with_warning),
		HT_CASE(madt_wrong_signature),
		HT_CASE(madt_truncated),
		HT_CASE(madt_entry_length_zero_ends),
		HT_CASE(madt_entry_past_end),
		HT_CASE(madt_entry_too_short_for_type),
		HT_CASE(madt_too_many_cpus_capped),
		HT_CASE(madt_ioapics_and_overrides_capped),
		HT_CASE(madt_disabled_cpus_skipped),
		HT_CASE(madt_x2apic_entries),
		HT_CASE(madt_duplicate_ids_keep_first),
		HT_CASE(madt_lapic_address_override),
		HT_CASE(madt_random_corruption_is_safe),
		HT_CASE(s5_package_found),
		HT_CASE(s5_not_found_or_bad),
		HT_CASE(fadt_acpi1_fields),
		HT_CASE(fadt_extended_fields_win),
		HT_CASE(fadt_sleep_and_reset_registers),
		HT_CASE(fadt_bad_tables),
		HT_CASE(walk_rsdt),
		HT_CASE(walk_xsdt_preferred),
		HT_CASE(walk_rsdp_bad),
		HT_CASE(walk_xsdt_problems_fall_back_to_rsdt),
		HT_CASE(walk_bad_tables_skipped),
		HT_CASE(walk_bad_dsdt),
		HT_CASE(hpet_table),
		HT_CASE(dmar_table),
		{0} });
}
