/* SPDX-License-Identifier: MIT */
/* kernel/printk.c - printk: format, filter by level, write to every console. */
#include "kernel/printk.h"
#include "kernel/console.h"

int console_loglevel = 6;

int vprintk(const char *fmt, va_list ap)
{
	int level = 6;
	if (fmt[0] == '\001' && fmt[1] >= '0' && fmt[1] <= '7') {
		level = fmt[1] - '0';
		fmt += 2;
	}
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (level > console_loglevel)
		return n;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	console_write(buf, len);
	return n;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}
