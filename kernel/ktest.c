/* SPDX-License-Identifier: MIT */
/* kernel/ktest.c - runs the registered suites and prints KTAP version 1;
 * runs the boot-time hooks (benchmarks, crash tests) asked for. */
#include "kernel/ktest.h"
#include "arch/x86_64/apic.h"        /* tsc_khz */
#include "arch/x86_64/cpu.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/cmdline.h"

extern const struct ktest_suite __ktest_suites_start[], __ktest_suites_end[];
extern const struct ktest_hook __ktest_hooks_start[], __ktest_hooks_end[];

void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->failed = true;
	printk("    # %s: EXPECTATION FAILED at %s:%d\n    #   %s\n", t->name, file, line, msg);
}

void ktest_skip(struct ktest *t, const char *reason)
{
	t->skipped = true;
	strlcpy(t->skip_reason, reason, sizeof(t->skip_reason));
}

void ktest_log(struct ktest *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk("    # %s: %s\n", t->name, msg);
}

bool ktest_check_u64(struct ktest *t, const char *file, int line, const char *op,
		     const char *ea, u64 a, const char *eb, u64 b)
{
	bool ok;
	if (op[0] == '=')
		ok = a == b;
	else if (op[0] == '!')
		ok = a != b;
	else if (op[0] == '<')
		ok = op[1] == '=' ? a <= b : a < b;
	else
		ok = op[1] == '=' ? a >= b : a > b;
	if (!ok)
		ktest_fail(t, file, line, "expected %s %s %s, but %s == %lu (0x%lx), %s == %lu (0x%lx)",
			   ea, op, eb, ea, a, a, eb, b, b);
	return ok;
}

static bool suite_selected(const struct ktest_suite *s, const char *list)
{
	return strcmp(list, "all") == 0 || list_contains(list, s->name);
}

/* ktest_cases=NAME,NAME: run only these cases of the selected suites (a
 * big machine under emulation cannot afford every case); the others are
 * reported as skipped, so the counts stay the same. */
static bool case_selected(const char *name)
{
	static char cases[256];
	static int have = -1;
	if (have < 0)
		have = cmdline_get("ktest_cases", cases, sizeof(cases));
	return !have || list_contains(cases, name);
}

int ktest_run(const char *list)
{
	u64 nr_suites = 0;
	for (const struct ktest_suite *s = __ktest_suites_start; s < __ktest_suites_end; s++)
		if (suite_selected(s, list))
			nr_suites++;

	printk("KTAP version 1\n1..%lu\n", nr_suites);
	int failed_cases = 0;
	u64 n = 0;
	for (const struct ktest_suite *s = __ktest_suites_start; s < __ktest_suites_end; s++) {
		if (!suite_selected(s, list))
			continue;
		n++;
		printk("    KTAP version 1\n    # Subtest: %s\n    1..%lu\n", s->name, s->nr_cases);
		bool suite_failed = false;
		for (u64 i = 0; i < s->nr_cases; i++) {
			struct ktest t = { .name = s->cases[i].name };
			u64 t0 = rdtsc();
			if (case_selected(t.name))
				s->cases[i].run(&t);
			else
				ktest_skip(&t, "not in ktest_cases=");
			/* Slow cases say so: the matrix has a time budget. */
			u64 ms = tsc_khz ? (rdtsc() - t0) / tsc_khz : 0;
			if (ms >= 1000)
				printk("    # %s: took %lu.%lu s\n", t.name, ms / 1000, ms % 1000 / 100);
			if (t.failed) {
				suite_failed = true;
				failed_cases++;
				printk("    not ok %lu %s\n", i + 1, t.name);
			} else if (t.skipped) {
				printk("    ok %lu %s # SKIP %s\n", i + 1, t.name, t.skip_reason);
			} else {
				printk("    ok %lu %s\n", i + 1, t.name);
			}
		}
		printk("%s %lu %s\n", suite_failed ? "not ok" : "ok", n, s->name);
	}
	return failed_cases;
}

void ktest_run_hooks(enum ktest_hook_point point)
{
	for (const struct ktest_hook *h = __ktest_hooks_start; h < __ktest_hooks_end; h++) {
		char value[128];
		if (h->point != point || !cmdline_get(h->word, value, sizeof(value)))
			continue;
		if (h->name && !list_contains(value, h->name))
			continue;
		h->run();
	}
}
