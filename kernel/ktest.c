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

/* One item of the test= list: "SUITE" (every case) or "SUITE.CASE", CASE a
 * case's name or its number from 1 (how a grader or a student runs one case
 * alone). Items are separated by commas; ITEM points into the list and
 * LEN is the item's length. */
static bool item_suite_is(const char *item, size_t len, const struct ktest_suite *s)
{
	size_t n = strlen(s->name);
	return len >= n && strncmp(item, s->name, n) == 0 && (len == n || item[n] == '.');
}

static bool item_names_case(const char *item, size_t len, const struct ktest_suite *s, u64 i)
{
	size_t n = strlen(s->name);
	if (len == n)
		return true;                    /* the whole suite */
	const char *c = item + n + 1;
	size_t clen = len - n - 1;
	if (strlen(s->cases[i].name) == clen && strncmp(c, s->cases[i].name, clen) == 0)
		return true;
	u64 num = 0;
	for (size_t k = 0; k < clen; k++) {
		if (c[k] < '0' || c[k] > '9')
			return false;
		num = num * 10 + (u64)(c[k] - '0');
	}
	return clen > 0 && num == i + 1;
}

/* Is case I of suite S selected by LIST (I == -1: is any case of S)?
 * "all" leaves out the suites named lab_*: a lab's student-written tests
 * (labs/testing), run only when named, so the matrix's time stays its own. */
static bool selected(const struct ktest_suite *s, s64 i, const char *list)
{
	if (strcmp(list, "all") == 0)
		return strncmp(s->name, "lab_", 4) != 0;
	for (const char *p = list; *p; ) {
		const char *item = p;
		while (*p && *p != ',')
			p++;
		size_t len = (size_t)(p - item);
		if (item_suite_is(item, len, s) &&
		    (i < 0 || item_names_case(item, len, s, (u64)i)))
			return true;
		if (*p == ',')
			p++;
	}
	return false;
}

static u64 nr_selected_cases(const struct ktest_suite *s, const char *list)
{
	u64 n = 0;
	for (u64 i = 0; i < s->nr_cases; i++)
		n += selected(s, (s64)i, list);
	return n;
}

/* Run one case and print its KTAP line as number N; returns whether it failed. */
static bool run_case(const struct ktest_case *c, u64 n)
{
	struct ktest t = { .name = c->name };
	u64 t0 = rdtsc();
	c->run(&t);
	/* Slow cases say so: the matrix has a time budget. */
	u64 ms = tsc_khz ? (rdtsc() - t0) / tsc_khz : 0;
	if (ms >= 1000)
		printk("    # %s: took %lu.%lu s\n", t.name, ms / 1000, ms % 1000 / 100);
	if (t.failed)
		printk("    not ok %lu %s\n", n, t.name);
	else if (t.skipped)
		printk("    ok %lu %s # SKIP %s\n", n, t.name, t.skip_reason);
	else
		printk("    ok %lu %s\n", n, t.name);
	return t.failed;
}

/* The selected cases are numbered 1..k in KTAP, in the suite's order. */
int ktest_run(const char *list)
{
	u64 nr_suites = 0;
	for (const struct ktest_suite *s = __ktest_suites_start; s < __ktest_suites_end; s++)
		if (selected(s, -1, list))
			nr_suites++;

	printk("KTAP version 1\n1..%lu\n", nr_suites);
	int failed_cases = 0;
	u64 n = 0;
	for (const struct ktest_suite *s = __ktest_suites_start; s < __ktest_suites_end; s++) {
		if (!selected(s, -1, list))
			continue;
		n++;
		printk("    KTAP version 1\n    # Subtest: %s\n    1..%lu\n", s->name,
		       nr_selected_cases(s, list));
		bool suite_failed = false;
		u64 k = 0;
		for (u64 i = 0; i < s->nr_cases; i++) {
			if (!selected(s, (s64)i, list))
				continue;
			if (run_case(&s->cases[i], ++k)) {
				suite_failed = true;
				failed_cases++;
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
