/* SPDX-License-Identifier: MIT */
/* user/lib/ktap.c - see ktap.h. Only the main thread reports. */
#include "ktap.h"
#include "stdio.h"
#include "sys.h"

static int planned, done, passed, failed, skipped;

void ktap_plan(int ntests)
{
	planned = ntests;
	printf("KTAP version 1\n1..%d\n", ntests);
}

static void report(const char *status, const char *fmt, va_list ap,
		   const char *skip_reason)
{
	char desc[200];

	vsnprintf(desc, sizeof(desc), fmt, ap);
	done++;
	if (skip_reason)
		printf("%s %d %s # SKIP %s\n", status, done, desc, skip_reason);
	else
		printf("%s %d %s\n", status, done, desc);
}

bool ktap_ok(bool pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(pass ? "ok" : "not ok", fmt, ap, NULL);
	va_end(ap);
	if (pass)
		passed++;
	else
		failed++;
	return pass;
}

void ktap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("ok", fmt, ap, reason);
	va_end(ap);
	skipped++;
}

void ktap_diag(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("# %s\n", line);
}

int ktap_finish(void)
{
	if (done != planned)
		printf("# planned %d tests but ran %d\n", planned, done);
	printf("# totals: pass:%d fail:%d skip:%d\n", passed, failed, skipped);
	return (failed == 0 && done == planned) ? 0 : 1;
}

void ktap_bail(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("Bail out! %s\n", line);
	exit(1);
}
