/* SPDX-License-Identifier: MIT */
/* tests/kernel/arch/test_acpi.c - what acpi_init() found agrees with the machine.
 *
 * Run with "test=acpi expect_cpus=N" where N is QEMU's -smp count; without
 * expect_cpus the count check is skipped. Checks that only hold for QEMU's
 * tables (OEM id "BOCHS") are skipped on other machines. The corrupt-table
 * cases work on a copy of the live MADT, so they test the parser against
 * real firmware output, not only the host tests' hand-made tables. */
#include "kernel/ktest.h"
#include "kernel/cmdline.h"
#include "kernel/string.h"
#include "kernel/bootinfo.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"

#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000UL

static bool on_qemu(void)
{
	return strcmp(acpi_info.oem_id, "BOCHS") == 0;
}

/* The boot CPU's APIC ID as CPUID reports it: the full 32-bit x2APIC ID
 * from leaf 0xb when the CPU has it, else the 8-bit ID from leaf 1. */
static u32 cpuid_apic_id(void)
{
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 0xb) {
		u32 max = a;
		cpuid(0xb, 0, &a, &b, &c, &d);
		if (max >= 0xb && b != 0)
			return d;
	}
	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

static void test_madt_found(struct ktest *t)
{
	KTEST_ASSERT_TRUE(t, acpi_info.have_madt);
	KTEST_EXPECT_GE(t, acpi_info.nr_cpus, 1);
	KTEST_EXPECT_LE(t, acpi_info.nr_cpus, ACPI_MAX_CPUS);
	/* The MADT's local APIC address is where the CPU says its APIC is. */
	KTEST_EXPECT_EQ(t, acpi_info.lapic_phys, rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK);
}

static void test_cpu_count_matches(struct ktest *t)
{
	long expect = cmdline_long("expect_cpus", 0);
	if (expect <= 0) {
		ktest_skip(t, "no expect_cpus=N on the command line");
		return;
	}
	/* expect_cpus counts CPUs brought online; nosmp and maxcpus= leave
	 * some MADT CPUs offline on purpose. */
	if (cmdline_has("nosmp") || cmdline_has("maxcpus")) {
		ktest_skip(t, "nosmp/maxcpus: the MADT lists more CPUs than are started");
		return;
	}
	KTEST_EXPECT_EQ(t, acpi_info.nr_cpus, expect);
}

static void test_apic_ids_distinct(struct ktest *t)
{
	for (u32 i = 0; i < acpi_info.nr_cpus; i++)
		for (u32 j = i + 1; j < acpi_info.nr_cpus; j++)
			KTEST_EXPECT_NE(t, acpi_info.apic_ids[i], acpi_info.apic_ids[j]);
}

static void test_boot_cpu_listed(struct ktest *t)
{
	KTEST_ASSERT_TRUE(t, acpi_info.have_madt);
	u32 me = cpuid_apic_id();
	bool found = false;
	for (u32 i = 0; i < acpi_info.nr_cpus; i++)
		if (acpi_info.apic_ids[i] == me)
			found = true;
	if (!found)
		ktest_log(t, "boot CPU APIC ID %u not in the MADT list", me);
	KTEST_EXPECT_TRUE(t, found);
}

static void test_ioapic_present(struct ktest *t)
{
	KTEST_ASSERT_TRUE(t, acpi_info.have_madt);
	KTEST_ASSERT_TRUE(t, acpi_info.nr_ioapics >= 1);
	/* Some I/O APIC must take the ISA IRQs, from GSI 0. */
	bool gsi0 = false;
	for (u32 i = 0; i < acpi_info.nr_ioapics; i++) {
		KTEST_EXPECT_NE(t, acpi_info.ioapic[i].phys, 0);
		if (acpi_info.ioapic[i].gsi_base == 0)
			gsi0 = true;
	}
	KTEST_EXPECT_TRUE(t, gsi0);
	if (on_qemu())
		KTEST_EXPECT_EQ(t, acpi_info.ioapic[0].phys, 0xfec00000);
}

/* The PM timer counts at 3.579545 MHz: reading it over and over must see
 * it move. The bound is on reads, not on time, and is generous (each read
 * is a port access, a microsecond or more). */
static void test_pm_timer_ticks(struct ktest *t)
{
	if (!acpi_info.pm_timer_port && !on_qemu()) {
		ktest_skip(t, "no PM timer on this machine");
		return;
	}
	KTEST_ASSERT_TRUE(t, acpi_info.have_fadt);
	KTEST_ASSERT_NE(t, acpi_info.pm_timer_port, 0);
	u16 port = (u16)acpi_info.pm_timer_port;
	u32 mask = acpi_info.pm_timer_32bit ? 0xffffffffu : 0xffffffu;
	u32 first = inl(port) & mask, now = first;
	for (u32 i = 0; i < 1000000 && now == first; i++)
		now = inl(port) & mask;
	KTEST_EXPECT_NE(t, now, first);
}

static void test_s5_found(struct ktest *t)
{
	if (!on_qemu()) {
		ktest_skip(t, "not QEMU's tables");
		return;
	}
	KTEST_EXPECT_TRUE(t, acpi_info.have_s5);
	KTEST_EXPECT_NE(t, acpi_info.pm1a_cnt_port, 0);
	KTEST_EXPECT_LE(t, acpi_info.slp_typa_s5, 7);
}

/* "expect_skipped_cpus=N": the MADT lists N CPUs that are not started
 * (QEMU's -smp 2,maxcpus=8 lists six absent CPUs as disabled), and none
 * of them is among the CPUs to start. */
static void test_skipped_cpus_reported(struct ktest *t)
{
	long expect = cmdline_long("expect_skipped_cpus", -1);
	if (expect < 0) {
		ktest_skip(t, "no expect_skipped_cpus=N on the command line");
		return;
	}
	KTEST_EXPECT_EQ(t, acpi_info.nr_cpus_disabled + acpi_info.nr_cpus_hotplug, expect);
	for (u32 i = 0; i < acpi_info.nr_skipped; i++)
		for (u32 j = 0; j < acpi_info.nr_cpus; j++)
			KTEST_EXPECT_NE(t, acpi_info.skipped[i].apic_id, acpi_info.apic_ids[j]);
}

/* A copy of the live MADT, to re-parse and to damage. */
static u8 madt_copy[4096];
static struct acpi_info reparsed;

static bool copy_live_madt(struct ktest *t)
{
	if (!acpi_info.have_madt || acpi_info.madt_len > sizeof(madt_copy)) {
		ktest_skip(t, "no MADT, or too large to copy");
		return false;
	}
	memcpy(madt_copy, phys_to_virt(acpi_info.madt_phys), acpi_info.madt_len);
	return true;
}

static void fix_checksum(u8 *table, u32 len)
{
	struct acpi_sdt_header *h = (void *)table;
	h->checksum = 0;
	u8 sum = 0;
	for (u32 i = 0; i < len; i++)
		sum += table[i];
	h->checksum = (u8)(0 - sum);
}

static void test_reparse_live_madt(struct ktest *t)
{
	if (!copy_live_madt(t))
		return;
	KTEST_ASSERT_EQ(t, acpi_parse_madt(madt_copy, acpi_info.madt_len, &reparsed), 0);
	KTEST_EXPECT_EQ(t, reparsed.nr_cpus, acpi_info.nr_cpus);
	for (u32 i = 0; i < reparsed.nr_cpus && i < acpi_info.nr_cpus; i++)
		KTEST_EXPECT_EQ(t, reparsed.apic_ids[i], acpi_info.apic_ids[i]);
	KTEST_EXPECT_EQ(t, reparsed.nr_ioapics, acpi_info.nr_ioapics);
	KTEST_EXPECT_EQ(t, reparsed.lapic_phys, acpi_info.lapic_phys);
}

static void test_damaged_live_madt(struct ktest *t)
{
	if (!copy_live_madt(t))
		return;
	u32 len = acpi_info.madt_len;
	KTEST_ASSERT_TRUE(t, len > sizeof(struct acpi_madt) + 2);

	/* A wrong checksum alone is accepted with a warning, as ACPICA does
	 * (real firmware ships such tables); the contents are read as usual. */
	((struct acpi_sdt_header *)madt_copy)->checksum ^= 0x01;
	KTEST_EXPECT_EQ(t, acpi_parse_madt(madt_copy, len, &reparsed), 0);
	KTEST_EXPECT_TRUE(t, reparsed.have_madt);
	KTEST_EXPECT_EQ(t, reparsed.nr_cpus, acpi_info.nr_cpus);

	/* First entry of length 0, checksum repaired: the walk must stop,
	 * not spin on the same entry. */
	copy_live_madt(t);
	madt_copy[sizeof(struct acpi_madt) + 1] = 0;
	fix_checksum(madt_copy, len);
	KTEST_EXPECT_TRUE(t, acpi_parse_madt(madt_copy, len, &reparsed) < 0);
	KTEST_EXPECT_FALSE(t, reparsed.have_madt);
	KTEST_EXPECT_EQ(t, reparsed.nr_cpus, 1);

	/* Header length larger than the bytes available. */
	copy_live_madt(t);
	KTEST_EXPECT_TRUE(t, acpi_parse_madt(madt_copy, len - 1, &reparsed) < 0);
	KTEST_EXPECT_EQ(t, reparsed.nr_cpus, 1);
}

/* acpi_init() itself, given a damaged RSDP copy, must say so and fall
 * back to one CPU. The real state is saved and put back afterwards. */
static struct acpi_info saved_info;

static void test_init_falls_back_on_bad_rsdp(struct ktest *t)
{
	if (boot_info.rsdp_phys == 0) {
		ktest_skip(t, "no RSDP from the boot loader");
		return;
	}
	saved_info = acpi_info;
	boot_info.rsdp[8] ^= 0xff;      /* the checksum byte */
	int r = acpi_init();
	bool madt = acpi_info.have_madt;
	u32 n = acpi_info.nr_cpus;
	boot_info.rsdp[8] ^= 0xff;
	acpi_info = saved_info;
	KTEST_EXPECT_TRUE(t, r < 0);
	KTEST_EXPECT_FALSE(t, madt);
	KTEST_EXPECT_EQ(t, n, 1);
}

static const struct ktest_case acpi_cases[] = {
	{ "madt_found", test_madt_found },
	{ "cpu_count_matches", test_cpu_count_matches },
	{ "apic_ids_distinct", test_apic_ids_distinct },
	{ "boot_cpu_listed", test_boot_cpu_listed },
	{ "ioapic_present", test_ioapic_present },
	{ "pm_timer_ticks", test_pm_timer_ticks },
	{ "s5_found", test_s5_found },
	{ "skipped_cpus_reported", test_skipped_cpus_reported },
	{ "reparse_live_madt", test_reparse_live_madt },
	{ "damaged_live_madt", test_damaged_live_madt },
	{ "init_falls_back_on_bad_rsdp", test_init_falls_back_on_bad_rsdp },
};
KTEST_SUITE(acpi, acpi_cases);
