/* SPDX-License-Identifier: MIT */
/* user/lib/stdio.h - formatted output (printf.c).
 *
 * Conversions: %d %i %u %x %X %o %c %s %p %%, with the length modifiers
 * l, ll, z (and h, hh, accepted and ignored), flags '-', '0' and '#' (0x,
 * 0X or 0 before a nonzero %x, %X, %o), a field width (a number or '*') and
 * a precision for %s (".N" or ".*").
 *
 * printf and dprintf format into a buffer on the stack and hand it to
 * write(2) in as few calls as possible; a line of up to 256 bytes reaches
 * the console in one write, so lines from different threads do not mix.
 */
#ifndef USER_STDIO_H
#define USER_STDIO_H

#include "types.h"

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vdprintf(int fd, const char *fmt, va_list ap);
int dprintf(int fd, const char *fmt, ...) __printf(2, 3);
int printf(const char *fmt, ...) __printf(1, 2);
int puts(const char *s);	/* s and a newline on fd 1 */

#endif
