/* SPDX-License-Identifier: MIT */
// SOURCES: arch/x86_64/tsc_calibrate.c arch/x86_64/hpet.c
/* tests/host/test_tsc_calibrate.c - the TSC calibration against fake clocks
 * on a simulated time line: what QEMU cannot show (a PIT that answers but
 * does not count, a machine with no usable clock at all, CPUID leaves 0x15
 * and 0x16).
 *
 * Simulated time advances only when the code under test looks at a clock:
 * each TSC read costs 20 ns, each read of a fake clock its own cost (a
 * microsecond for the port clocks, as on hardware). The TSC runs at
 * TSC_HZ. A fake clock counts at its true rate from simulated time, or is
 * dead (a constant, as a gated PIT's 0x00 or 0xFF), or absent. */
#include "tests/host/htest.h"
#include <stdlib.h>
#include <string.h>
#include "arch/x86_64/tsc_calibrate.h"
#include "arch/x86_64/hpet.h"
#include "kernel/printk.h"

static char log_buf[8192];
static size_t log_len;

int printk(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *m = msg;
	if (m[0] == '\001' && m[1])
		m += 2;
	printf("    # %s", m);
	size_t len = strlen(m);
	if (log_len + len < sizeof(log_buf)) {
		memcpy(log_buf + log_len, m, len + 1);
		log_len += len;
	}
	return n;
}

static int logged(const char *s)
{
	return strstr(log_buf, s) != NULL;
}

/* --- simulated time --- */

#define TSC_HZ 2500000000ULL
static unsigned long long now_ps;       /* picoseconds */
static unsigned long long tsc_reads;
/* A one-off delay (ps) inserted before the next TSC read: a preempted
 * virtual CPU between a clock read and its TSC read. */
static unsigned long long delay_before_tsc_ps;
static unsigned long long delay_at_tsc_read;
/* A host under load: after one clock read in preempt_every (chosen by a
 * fixed pseudo-random sequence), the next TSC read comes preempt_ps later
 * (the virtual CPU was descheduled between the two). */
static unsigned long long preempt_every, preempt_ps, preempt_pending, preempt_lcg;

static u64 fake_rdtsc(void *ctx)
{
	(void)ctx;
	tsc_reads++;
	if (delay_before_tsc_ps && tsc_reads == delay_at_tsc_read) {
		now_ps += delay_before_tsc_ps;
		delay_before_tsc_ps = 0;
	}
	now_ps += preempt_pending;
	preempt_pending = 0;
	now_ps += 20000;
	return (u64)((unsigned __int128)now_ps * TSC_HZ / 1000000000000ULL);
}

enum fake_kind { FAKE_GOOD, FAKE_DEAD, FAKE_ABSENT };

struct fake_clock {
	enum fake_kind kind;
	u64 hz;                 /* claimed rate, returned by start() */
	u64 true_hz;            /* rate it really counts at (0: = hz) */
	u64 dead_value;
	u64 offset;             /* counter value at time 0, to start near a wrap */
	u64 read_cost_ps;
	unsigned starts, stops, reads;
};

static u64 fake_start(void *ctx)
{
	struct fake_clock *f = ctx;
	f->starts++;
	return f->kind == FAKE_ABSENT ? 0 : f->hz;
}

static u64 fake_read(void *ctx)
{
	struct fake_clock *f = ctx;
	f->reads++;
	now_ps += f->read_cost_ps;
	if (preempt_every) {
		preempt_lcg = preempt_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((preempt_lcg >> 33) % preempt_every == 0)
			preempt_pending = preempt_ps;
	}
	if (f->kind == FAKE_DEAD)
		return f->dead_value;
	u64 hz = f->true_hz ? f->true_hz : f->hz;
	return f->offset + (u64)((unsigned __int128)now_ps * hz / 1000000000000ULL);
}

static void fake_stop(void *ctx)
{
	struct fake_clock *f = ctx;
	f->stops++;
}

static struct tsc_clock clock_of(const char *name, u32 bits, struct fake_clock *f)
{
	return (struct tsc_clock){ name, bits, fake_start, fake_read, fake_stop, f };
}

static struct fake_clock pit(void)
{
	return (struct fake_clock){ FAKE_GOOD, 1193182, 0, 0, 0, 1000000, 0, 0, 0 };
}

static struct fake_clock pm(void)
{
	return (struct fake_clock){ FAKE_GOOD, 3579545, 0, 0, 0, 1000000, 0, 0, 0 };
}

static struct fake_clock hpet(void)
{
	return (struct fake_clock){ FAKE_GOOD, 100000000, 0, 0, 0, 300000, 0, 0, 0 };
}

static void reset(void)
{
	now_ps = 0;
	tsc_reads = 0;
	delay_before_tsc_ps = 0;
	preempt_every = preempt_ps = preempt_pending = preempt_lcg = 0;
	log_len = 0;
	log_buf[0] = 0;
}

static struct tsc_env env_of(struct tsc_clock *clocks, u32 n)
{
	return (struct tsc_env){ fake_rdtsc, NULL, { 0 }, clocks, n };
}

static int close_to(u64 got, u64 want)
{
	u64 d = got > want ? got - want : want - got;
	return d <= want / 1000;        /* 0.1% */
}

/* --- CPUID --- */

HTEST(cpuid_leaf_15_with_crystal)
{
	const char *how;
	struct tsc_cpuid c = { 0x16, true, 2, 166, 24000000, 2000 };
	HT_EXPECT_EQ(tsc_hz_from_cpuid(&c, &how), 24000000ULL * 166 / 2);
	HT_EXPECT(how && strstr(how, "0x15"));
}

HTEST(cpuid_ratio_without_crystal_takes_base_frequency)
{
	const char *how;
	struct tsc_cpuid c = { 0x16, true, 2, 200, 0, 2400 };
	HT_EXPECT_EQ(tsc_hz_from_cpuid(&c, &how), 2400000000ULL);
	struct tsc_cpuid only16 = { 0x16, true, 0, 0, 0, 3100 };
	HT_EXPECT_EQ(tsc_hz_from_cpuid(&only16, &how), 3100000000ULL);
	HT_EXPECT(how && strstr(how, "0x16"));
}

HTEST(cpuid_not_trusted)
{
	const char *how;
	/* Not Intel: the leaves mean nothing here. */
	struct tsc_cpuid amd = { 0x16, false, 2, 166, 24000000, 2000 };
	HT_EXPECT_EQ(tsc_hz_from_cpuid(&amd, &how), 0);
	HT_EXPECT(how == NULL);
	/* Leaves beyond the maximum are not read, whatever is in them. */
	struct tsc_cpuid old = { 0x14, true, 2, 166, 24000000, 2000 };
	HT_EXPECT_EQ(tsc_hz_from_cpuid(&old, &how), 0);
	/* A zero denominator or numerator: no ratio. */
	struct tsc_cpuid zero = { 0x15, true, 0, 166, 24000000, 0 };
	HT_EXPECT_EQ(tsc_hz_from_cpuid(&zero, &how), 0);
}

/* --- the order --- */

HTEST(order_cpuid_first)
{
	reset();
	struct fake_clock h = hpet(), p = pit();
	struct tsc_clock clocks[] = { clock_of("HPET", 32, &h), clock_of("PIT", 16, &p) };
	struct tsc_env env = env_of(clocks, 2);
	env.cpuid = (struct tsc_cpuid){ 0x16, true, 2, 166, 24000000, 2000 };
	struct tsc_result r;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT_EQ(r.tsc_hz, 24000000ULL * 166 / 2);
	HT_EXPECT(!r.fallback);
	HT_EXPECT_EQ(h.starts + p.starts, 0);   /* no clock touched */
}

HTEST(order_hpet_pm_pit)
{
	reset();
	struct fake_clock h = hpet(), m = pm(), p = pit();
	struct tsc_clock clocks[] = { clock_of("HPET", 32, &h), clock_of("ACPI PM timer", 24, &m),
				      clock_of("PIT", 16, &p) };
	struct tsc_env env = env_of(clocks, 3);
	struct tsc_result r;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(!strcmp(r.source, "HPET"));
	HT_EXPECT(close_to(r.tsc_hz, TSC_HZ));
	HT_EXPECT_EQ(h.starts, 1);
	HT_EXPECT_EQ(h.stops, 1);               /* left as found */
	HT_EXPECT_EQ(m.starts + p.starts, 0);

	/* No HPET: the PM timer, then nothing else. */
	reset();
	h.kind = FAKE_ABSENT;
	h.starts = h.stops = 0;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(!strcmp(r.source, "ACPI PM timer"));
	HT_EXPECT(close_to(r.tsc_hz, TSC_HZ));
	HT_EXPECT_EQ(h.stops, 0);               /* never started, never stopped */
	HT_EXPECT_EQ(p.starts, 0);
	HT_EXPECT(logged("HPET not present"));

	/* Neither: the PIT. */
	reset();
	m.kind = FAKE_ABSENT;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(!strcmp(r.source, "PIT"));
	HT_EXPECT(close_to(r.tsc_hz, TSC_HZ));
	HT_EXPECT_EQ(p.stops, 1);
}

/* --- dead clocks --- */

/* A PIT that answers but does not count, reading 0x00 or 0xFF: detected
 * within a few milliseconds of simulated time and a few thousand reads,
 * then the next source is used. */
static void dead_pit_case(u64 value)
{
	reset();
	struct fake_clock p = pit(), m = pm();
	p.kind = FAKE_DEAD;
	p.dead_value = value;
	struct tsc_clock clocks[] = { clock_of("PIT", 16, &p), clock_of("ACPI PM timer", 24, &m) };
	struct tsc_env env = env_of(clocks, 2);
	struct tsc_result r;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(!strcmp(r.source, "ACPI PM timer"));
	HT_EXPECT(logged("PIT not used: its counter stopped moving"));
	/* Only one run was tried: about STALL_CYCLES, at a microsecond a read. */
	u64 stall_reads = STALL_CYCLES * 1000000 / TSC_HZ + 10;
	HT_EXPECT(p.reads <= stall_reads);
	HT_EXPECT_EQ(p.stops, 1);
}

HTEST(dead_pit_reads_00)
{
	dead_pit_case(0x0000);
}

HTEST(dead_pit_reads_ff)
{
	/* pit_read() returns the count negated: 0xFFFF reads as 1. */
	dead_pit_case(0x0001);
	dead_pit_case(0xFFFF);
}

HTEST(dead_clock_costs_milliseconds)
{
	reset();
	struct fake_clock p = pit();
	p.kind = FAKE_DEAD;
	struct tsc_clock clocks[] = { clock_of("PIT", 16, &p) };
	struct tsc_env env = env_of(clocks, 1);
	struct tsc_result r;
	tsc_calibrate(&env, &r);
	/* STALL_CYCLES at 2.5 GHz is 0.8 ms; allow for the read costs. */
	HT_EXPECT(now_ps < 5ULL * 1000000000);  /* 5 ms */
}

HTEST(no_sources_falls_back_with_a_message)
{
	reset();
	struct fake_clock h = hpet(), m = pm(), p = pit();
	h.kind = m.kind = FAKE_ABSENT;
	p.kind = FAKE_DEAD;
	struct tsc_clock clocks[] = { clock_of("HPET", 32, &h), clock_of("ACPI PM timer", 24, &m),
				      clock_of("PIT", 16, &p) };
	struct tsc_env env = env_of(clocks, 3);
	struct tsc_result r;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), -1);
	HT_EXPECT(r.fallback);
	HT_EXPECT_EQ(r.tsc_hz, TSC_FALLBACK_HZ);
	HT_EXPECT(!strcmp(r.source, "fallback"));
	HT_EXPECT(logged("no clock to measure the TSC against"));

	/* No clocks listed at all. */
	reset();
	env.nr_clocks = 0;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), -1);
	HT_EXPECT(r.fallback);
	HT_EXPECT_EQ(r.tsc_hz, TSC_FALLBACK_HZ);
}

/* --- measurement details --- */

HTEST(counters_that_wrap)
{
	/* A 24-bit PM timer and the 16-bit PIT, each starting just below its
	 * wrap: the differences are taken modulo the width. */
	reset();
	struct fake_clock m = pm();
	m.offset = 0xFFFFFF - 1000;
	struct tsc_clock clocks[] = { clock_of("ACPI PM timer", 24, &m) };
	struct tsc_env env = env_of(clocks, 1);
	struct tsc_result r;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(close_to(r.tsc_hz, TSC_HZ));
	reset();
	struct fake_clock p = pit();
	p.offset = 0xFFFF - 5;
	clocks[0] = clock_of("PIT", 16, &p);
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(close_to(r.tsc_hz, TSC_HZ));
}

HTEST(delay_between_reads_is_not_a_stall)
{
	/* 8 ms lost between a clock read and its TSC read, in the middle of
	 * the first run: the PIT has moved meanwhile, so it is not dead. */
	reset();
	struct fake_clock p = pit();
	/* Cheap reads, so that most reads see the same count as the one
	 * before: the delay then comes after a read that did not move. */
	p.read_cost_ps = 10000;
	struct tsc_clock clocks[] = { clock_of("PIT", 16, &p) };
	struct tsc_env env = env_of(clocks, 1);
	delay_before_tsc_ps = 8000000000ULL;
	delay_at_tsc_read = 500;
	struct tsc_result r;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(!strcmp(r.source, "PIT"));
	HT_EXPECT(close_to(r.tsc_hz, TSC_HZ));  /* the median drops the disturbed run */
}

HTEST(preempted_samples_do_not_end_a_run)
{
	/* 200 us lost between one clock read in seven and the TSC read
	 * after it: many runs would start or end on such a sample, and a run
	 * of 10 ms that did would be off by 2%. Only narrow samples end a
	 * run, so every run is right. */
	reset();
	struct fake_clock m = pm();
	struct tsc_clock clocks[] = { clock_of("ACPI PM timer", 24, &m) };
	struct tsc_env env = env_of(clocks, 1);
	preempt_every = 7;
	preempt_ps = 200000000ULL;
	for (int i = 0; i < 20; i++) {
		u64 hz = 0;
		HT_EXPECT_EQ(tsc_measure_run(&env, &clocks[0], m.hz, &hz), TSC_RUN_OK);
		HT_EXPECT(close_to(hz, TSC_HZ));
	}
}

HTEST(slow_clock_passed_over)
{
	/* Claims 1.19 MHz, counts at a hundredth of it: every run is too
	 * slow, and the next source is used. */
	reset();
	struct fake_clock p = pit(), m = pm();
	p.true_hz = p.hz / 100;
	struct tsc_clock clocks[] = { clock_of("PIT", 16, &p), clock_of("ACPI PM timer", 24, &m) };
	struct tsc_env env = env_of(clocks, 2);
	struct tsc_result r;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(!strcmp(r.source, "ACPI PM timer"));
	HT_EXPECT(logged("PIT not used: it counted far too slowly"));
}

HTEST(implausible_rates_refused)
{
	/* A clock that claims a rate far too high makes the TSC look slower
	 * than TSC_MIN_HZ. */
	reset();
	struct fake_clock p = pit();
	p.hz = 1193182ULL * 100;        /* claims 100x its true rate */
	p.true_hz = 1193182;
	struct tsc_clock clocks[] = { clock_of("PIT", 16, &p) };
	struct tsc_env env = env_of(clocks, 1);
	u64 hz;
	/* The wanted interval no longer fits the 16-bit counter. */
	HT_EXPECT_EQ(tsc_measure_run(&env, &clocks[0], p.hz, &hz), TSC_RUN_IMPLAUSIBLE);
	/* CPUID giving 50 MHz: refused, then measured. */
	reset();
	struct fake_clock m = pm();
	clocks[0] = clock_of("ACPI PM timer", 24, &m);
	env.cpuid = (struct tsc_cpuid){ 0x16, true, 0, 0, 0, 50 };
	struct tsc_result r;
	HT_EXPECT_EQ(tsc_calibrate(&env, &r), 0);
	HT_EXPECT(!strcmp(r.source, "ACPI PM timer"));
	HT_EXPECT(logged("impossible; measuring instead"));
}

/* --- HPET capabilities --- */

HTEST(hpet_period)
{
	/* QEMU's HPET: 10 ns = 10,000,000 fs, 100 MHz. */
	HT_EXPECT_EQ(hpet_hz_from_cap(10000000ULL << 32 | 0x8086a201), 100000000);
	/* A common chipset value: 69.841279 ns, 14.318 MHz. */
	HT_EXPECT_EQ(hpet_hz_from_cap(69841279ULL << 32), 14318179);
	/* Nothing there (all ones), a zero period, or slower than 10 MHz. */
	HT_EXPECT_EQ(hpet_hz_from_cap(~0ULL), 0);
	HT_EXPECT_EQ(hpet_hz_from_cap(0x8086a201), 0);
	HT_EXPECT_EQ(hpet_hz_from_cap((u64)(HPET_MAX_PERIOD_FS + 1) << 32), 0);
}

int main(void)
{
	return htest_main("tsc_calibrate", (struct htest[]){
		HT_CASE(cpuid_leaf_15_with_crystal),
		HT_CASE(cpuid_ratio_without_crystal_takes_base_frequency),
		HT_CASE(cpuid_not_trusted),
		HT_CASE(order_cpuid_first),
		HT_CASE(order_hpet_pm_pit),
		HT_CASE(dead_pit_reads_00),
		HT_CASE(dead_pit_reads_ff),
		HT_CASE(dead_clock_costs_milliseconds),
		HT_CASE(no_sources_falls_back_with_a_message),
		HT_CASE(counters_that_wrap),
		HT_CASE(delay_between_reads_is_not_a_stall),
		HT_CASE(preempted_samples_do_not_end_a_run),
		HT_CASE(slow_clock_passed_over),
		HT_CASE(implausible_rates_refused),
		HT_CASE(hpet_period),
		{0} });
}
