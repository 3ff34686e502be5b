/* SPDX-License-Identifier: MIT */
/* tests/kernel/arch/test_clocks.c - the TSC's rate came from the source the
 * machine should give it, and agrees with an independent clock.
 *
 * "expect_clock=NAME" on the command line names the source the boot must
 * have used (the start of its name: "HPET", "ACPI PM", "PIT", "CPUID",
 * "fallback"); the test matrix hides sources (tsc_calibrate_skip=) or
 * removes them from the machine (-machine pc,pit=off) to take each path.
 * The rate check measures the TSC against the ACPI PM timer, which QEMU's
 * machines always have, in the calibration's own kind of run
 * (tsc_measure_run), with a wide margin: it catches a calibration that is
 * wrong by a factor (a sign or a unit), not a small error. */
#include "kernel/ktest.h"
#include "kernel/cmdline.h"
#include "kernel/string.h"
#include "arch/x86_64/tsc_calibrate.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"
#include "mm/paging.h"

static void test_source_as_expected(struct ktest *t)
{
	char want[32];
	ktest_log(t, "TSC %lu kHz from %s", tsc_khz, tsc_boot_result.source);
	if (!cmdline_get("expect_clock", want, sizeof(want))) {
		ktest_skip(t, "no expect_clock=NAME on the command line");
		return;
	}
	KTEST_ASSERT_TRUE(t, tsc_boot_result.source != NULL);
	KTEST_EXPECT_EQ(t, strncmp(tsc_boot_result.source, want, strlen(want)), 0);
	KTEST_EXPECT_EQ(t, tsc_boot_result.fallback, strcmp(want, "fallback") == 0);
}

/* The TSC against the PM timer now, in one run of the calibration's own
 * measurement (tsc_measure_run: its ends are narrow samples, so a vCPU
 * descheduled in the middle of a read does not skew it); kHz, 0 if the
 * run failed. */
static u64 test_pm_read(void *ctx)
{
	(void)ctx;
	return inl((u16)acpi_info.pm_timer_port);
}

static u64 test_rdtsc(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

static u64 tsc_khz_by_pm_timer(void)
{
	struct tsc_clock pm = { "ACPI PM timer", acpi_info.pm_timer_32bit ? 32 : 24,
				NULL, test_pm_read, NULL, NULL };
	struct tsc_env env = { test_rdtsc, NULL, { 0 }, &pm, 1 };
	u64 hz = 0;
	if (tsc_measure_run(&env, &pm, 3579545, &hz) != TSC_RUN_OK)
		return 0;
	return hz / 1000;
}

static void test_rate_agrees_with_pm_timer(struct ktest *t)
{
	if (!acpi_info.pm_timer_port) {
		ktest_skip(t, "no ACPI PM timer");
		return;
	}
	if (tsc_boot_result.fallback) {
		ktest_skip(t, "the TSC rate is the fallback guess");
		return;
	}
	u64 by_pm[3];
	for (int i = 0; i < 3; i++)
		by_pm[i] = tsc_khz_by_pm_timer();
	/* The middle of three. */
	u64 lo = MIN(by_pm[0], by_pm[1]), hi = MAX(by_pm[0], by_pm[1]);
	u64 mid = by_pm[2] < lo ? lo : by_pm[2] > hi ? hi : by_pm[2];
	ktest_log(t, "calibrated %lu kHz, by the PM timer now %lu kHz", tsc_khz, mid);
	KTEST_EXPECT_GE(t, mid * 5, tsc_khz * 4);
	KTEST_EXPECT_LE(t, mid * 4, tsc_khz * 5);
}

/* The HPET's registers are reached through an uncached 4 KiB page of the
 * direct map once the calibration has looked at them (PCD|PWT: PAT entry
 * 3, UC), so no read of the counter can come from a cache. */
static void test_hpet_page_uncached(struct ktest *t)
{
	if (!acpi_info.hpet_phys || strcmp(tsc_boot_result.source, "HPET") != 0) {
		ktest_skip(t, "the TSC's rate did not come from the HPET");
		return;
	}
	enum pt_level level;
	u64 *e = paging_lookup(DIRECT_MAP_BASE + acpi_info.hpet_phys, &level);
	KTEST_ASSERT_TRUE(t, e != NULL);
	KTEST_EXPECT_EQ(t, (unsigned)level, (unsigned)PT_PTE);
	KTEST_EXPECT_EQ(t, *e & (PTE_PCD | PTE_PWT), PTE_PCD | PTE_PWT);
}

static const struct ktest_case clocks_cases[] = {
	{ "source_as_expected", test_source_as_expected },
	{ "rate_agrees_with_pm_timer", test_rate_agrees_with_pm_timer },
	{ "hpet_page_uncached", test_hpet_page_uncached },
};
KTEST_SUITE(clocks, clocks_cases);
