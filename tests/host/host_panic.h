/* SPDX-License-Identifier: MIT */
/* tests/host/host_panic.h - panic() for a host test: with panic_expected
 * set (around a setjmp on panic_jmp) it jumps back with the message in
 * panic_msg, so a test can see a debug check fire; otherwise it reports the
 * message and ends the test binary with status 2. Include once. */
#ifndef PAGODA_HOST_PANIC_H
#define PAGODA_HOST_PANIC_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static jmp_buf panic_jmp;
static int panic_expected;
static char panic_msg[256];

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	if (panic_expected)
		longjmp(panic_jmp, 1);
	printf("    # unexpected panic: %s\n", panic_msg);
	exit(2);
}

#endif
