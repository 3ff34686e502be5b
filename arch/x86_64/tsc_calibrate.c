/* SPDX-License-Identifier: MIT */
/* arch/x86_64/tsc_calibrate.c - the TSC's rate from CPUID or a reference
 * clock, with every wait bounded by TSC cycles. See tsc_calibrate.h.
 *
 * Everything above the "kernel only" line is pure (clocks and the TSC
 * through function pointers) and is compiled into tests/host/
 * test_tsc_calibrate.c with -DHOST_TEST.
 */
#include "arch/x86_64/tsc_calibrate.h"
#include "kernel/printk.h"

u64 tsc_hz_from_cpuid(const struct tsc_cpuid *c, const char **how)
{
	*how = NULL;
	/* Leaves 0x15/0x16 are Intel's; other vendors' (and hypervisors')
	 * may be zero or mean something else. */
	if (!c->intel)
		return 0;
	bool have15 = c->max_leaf >= 0x15 && c->l15_eax && c->l15_ebx;
	bool have16 = c->max_leaf >= 0x16 && c->l16_eax;
	if (have15 && c->l15_ecx) {
		*how = "CPUID 0x15 (crystal x ratio)";
		return (u64)c->l15_ecx * c->l15_ebx / c->l15_eax;
	}
	/* The TSC runs at the base (P1) frequency on the CPUs that list one:
	 * Linux derives the missing crystal from it, which comes to the same. */
	if (have16) {
		*how = have15 ? "CPUID 0x15 ratio, 0x16 base frequency" : "CPUID 0x16 base frequency";
		return (u64)c->l16_eax * 1000000;
	}
	return 0;
}

static u64 counter_mask(u32 bits)
{
	return bits >= 64 ? ~0UL : (1UL << bits) - 1;
}

static const char *run_status_text(enum tsc_run_status st)
{
	switch (st) {
	case TSC_RUN_OK: return "ok";
	case TSC_RUN_STALLED: return "its counter stopped moving";
	case TSC_RUN_TOO_SLOW: return "it counted far too slowly";
	default: return "the rate it gave is impossible";
	}
}

/* One sample: the clock read between two TSC reads. A delay between two
 * samples (an SMI, a descheduled virtual CPU) changes nothing; one inside
 * a sample makes its TSC time uncertain by the delay, which shows as a
 * wide bracket (Linux's tsc_read_refs rejects such samples the same way). */
struct tsc_sample {
	u64 clk;
	u64 tsc;                /* the middle of the bracket */
	u64 width;              /* TSC cycles between the two TSC reads */
};

static struct tsc_sample take_sample(const struct tsc_env *env, const struct tsc_clock *clk,
				     u64 mask)
{
	u64 t1 = env->rdtsc(env->ctx);
	u64 c = clk->read(clk->ctx) & mask;
	u64 t2 = env->rdtsc(env->ctx);
	return (struct tsc_sample){ c, t1 + (t2 - t1) / 2, t2 - t1 };
}

/* Narrow enough to be an end of a run: within a few times the narrowest
 * bracket seen (what one read of this clock costs), plus slack. */
static bool sample_tight(const struct tsc_sample *s, u64 narrowest)
{
	return s->width <= SAMPLE_WIDTH_FACTOR * narrowest + SAMPLE_SLACK_CYCLES;
}

/* The start of a run: the narrowest of a few samples. */
static struct tsc_sample first_sample(const struct tsc_env *env, const struct tsc_clock *clk,
				      u64 mask)
{
	struct tsc_sample best = take_sample(env, clk, mask);
	for (int i = 1; i < START_SAMPLES; i++) {
		struct tsc_sample s = take_sample(env, clk, mask);
		if (s.width < best.width)
			best = s;
	}
	return best;
}

enum tsc_run_status tsc_measure_run(const struct tsc_env *env, const struct tsc_clock *clk,
				    u64 clk_hz, u64 *tsc_hz)
{
	u64 mask = counter_mask(clk->bits);
	u64 want = clk_hz * CALIBRATE_MS / 1000;
	/* The interval must fit well inside one wrap of the counter, and the
	 * products below inside 64 bits. */
	if (clk_hz == 0 || clk_hz > 10000000000UL || want == 0 || want > mask / 2)
		return TSC_RUN_IMPLAUSIBLE;
	struct tsc_sample s0 = first_sample(env, clk, mask);
	u64 c0 = s0.clk, t0 = s0.tsc, narrowest = s0.width;
	u64 last = c0, last_change = t0;
	for (;;) {
		struct tsc_sample s = take_sample(env, clk, mask);
		u64 c = s.clk, t = s.tsc;
		if (s.width < narrowest)
			narrowest = s.width;
		if (t - t0 > RUN_MAX_CYCLES)
			return TSC_RUN_TOO_SLOW;
		if (c != last) {
			last = c;
			last_change = t;
		} else if (t - last_change > STALL_CYCLES &&
			   (clk->read(clk->ctx) & mask) == last) {
			/* Read once more after the TSC: a delay between this
			 * iteration's two reads (an SMI, a preempted virtual
			 * CPU) must not look like a stopped counter. */
			return TSC_RUN_STALLED;
		}
		u64 ticks = (c - c0) & mask;
		/* A wide sample cannot end the run; the next one will. */
		if (ticks >= want && sample_tight(&s, narrowest)) {
			*tsc_hz = (t - t0) * clk_hz / ticks;
			if (*tsc_hz < TSC_MIN_HZ || *tsc_hz > TSC_MAX_HZ)
				return TSC_RUN_IMPLAUSIBLE;
			return TSC_RUN_OK;
		}
	}
}

static void sort_u64(u64 *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j]; v[j] = v[j - 1]; v[j - 1] = t;
		}
}

/* CALIBRATE_RUNS good runs (at most twice as many tries) and their median.
 * A stalled clock is given up at once: retrying a dead clock only
 * multiplies the cost. A run that was too slow or gave an impossible rate
 * may have been disturbed, and is retried. */
static int measure_runs(const struct tsc_env *env, const struct tsc_clock *clk, u64 clk_hz,
			u64 *tsc_hz)
{
	u64 t0 = env->rdtsc(env->ctx);
	u64 runs[CALIBRATE_RUNS];
	int good = 0;
	enum tsc_run_status st = TSC_RUN_OK;
	for (int tries = 0; good < CALIBRATE_RUNS && tries < 2 * CALIBRATE_RUNS; tries++) {
		st = tsc_measure_run(env, clk, clk_hz, &runs[good]);
		if (st == TSC_RUN_OK)
			good++;
		else if (st == TSC_RUN_STALLED)
			break;
	}
	if (good <= CALIBRATE_RUNS / 2) {
		printk(KERN_WARNING "Clocks: %s not used: %s (%d good run(s) of %d; "
		       "%lu TSC cycles spent)\n", clk->name, run_status_text(st), good,
		       CALIBRATE_RUNS, env->rdtsc(env->ctx) - t0);
		return -1;
	}
	sort_u64(runs, good);
	*tsc_hz = runs[good / 2];
	return 0;
}

static int measure_clock(const struct tsc_env *env, const struct tsc_clock *clk, u64 *tsc_hz)
{
	u64 clk_hz = clk->start(clk->ctx);
	if (!clk_hz) {
		printk("Clocks: %s not present\n", clk->name);
		return -1;
	}
	int ret = measure_runs(env, clk, clk_hz, tsc_hz);
	if (clk->stop)
		clk->stop(clk->ctx);
	return ret;
}

int tsc_calibrate(const struct tsc_env *env, struct tsc_result *out)
{
	const char *how;
	u64 hz = tsc_hz_from_cpuid(&env->cpuid, &how);
	if (hz >= TSC_MIN_HZ && hz <= TSC_MAX_HZ) {
		*out = (struct tsc_result){ hz, how, false };
		return 0;
	}
	if (hz)
		printk(KERN_WARNING "Clocks: %s says %lu Hz, impossible; measuring instead\n", how, hz);
	for (u32 i = 0; i < env->nr_clocks; i++) {
		if (measure_clock(env, &env->clocks[i], &hz) == 0) {
			*out = (struct tsc_result){ hz, env->clocks[i].name, false };
			return 0;
		}
	}
	printk(KERN_ERR "Clocks: no clock to measure the TSC against (no rate from CPUID, "
	       "no HPET, PM timer or PIT that counts); assuming %lu MHz: delays and "
	       "timeouts may be off by the ratio to the real rate\n", TSC_FALLBACK_HZ / 1000000);
	*out = (struct tsc_result){ TSC_FALLBACK_HZ, "fallback", true };
	return -1;
}

/* ------------------------- kernel only below ------------------------- */
#ifndef HOST_TEST
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/hpet.h"
#include "arch/x86_64/pit.h"
#include "kernel/cmdline.h"

#define PM_TIMER_HZ 3579545U

static u64 env_rdtsc(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

static u64 pm_start(void *ctx)
{
	(void)ctx;
	return acpi_info.pm_timer_port ? PM_TIMER_HZ : 0;
}

static u64 pm_read(void *ctx)
{
	(void)ctx;
	return inl((u16)acpi_info.pm_timer_port);
}

/* Channel 2 counts down from 0xFFFF in mode 0 and goes on past zero, so
 * its negation is a 16-bit up-counter that wraps every 55 ms. */
static u64 pit_start(void *ctx)
{
	(void)ctx;
	pit_ch2_start(0xFFFF);
	return PIT_HZ;
}

static u64 pit_read(void *ctx)
{
	(void)ctx;
	return (u16)(0 - pit_ch2_read());
}

static void pit_stop(void *ctx)
{
	(void)ctx;
	pit_ch2_stop();
}

static void read_cpuid(struct tsc_cpuid *c)
{
	u32 a, b, cx, d;
	cpuid(0, 0, &c->max_leaf, &b, &cx, &d);
	/* "GenuineIntel" in EBX, EDX, ECX. */
	c->intel = b == 0x756e6547 && d == 0x49656e69 && cx == 0x6c65746e;
	if (c->max_leaf >= 0x15)
		cpuid(0x15, 0, &c->l15_eax, &c->l15_ebx, &c->l15_ecx, &d);
	if (c->max_leaf >= 0x16)
		cpuid(0x16, 0, &c->l16_eax, &a, &cx, &d);
}

struct tsc_result tsc_boot_result;

struct tsc_result tsc_calibrate_boot_cpu(void)
{
	char hide[64] = "";
	cmdline_get("tsc_calibrate_skip", hide, sizeof(hide));
	struct tsc_clock all[] = {
		{ "HPET", 32, hpet_calibration_start, hpet_read_counter, hpet_calibration_stop, NULL },
		{ "ACPI PM timer", acpi_info.pm_timer_32bit ? 32 : 24, pm_start, pm_read, NULL, NULL },
		{ "PIT", 16, pit_start, pit_read, pit_stop, NULL },
	};
	static const char *const words[] = { "hpet", "pm", "pit" };
	struct tsc_clock use[3];
	struct tsc_env env = { env_rdtsc, NULL, { 0 }, use, 0 };
	if (!list_contains(hide, "cpuid"))
		read_cpuid(&env.cpuid);
	for (u32 i = 0; i < 3; i++)
		if (!list_contains(hide, words[i]))
			use[env.nr_clocks++] = all[i];
	if (hide[0])
		printk("Clocks: tsc_calibrate_skip=%s: not using those sources\n", hide);
	tsc_calibrate(&env, &tsc_boot_result);
	return tsc_boot_result;
}
#endif
