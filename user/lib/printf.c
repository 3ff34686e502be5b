/* SPDX-License-Identifier: MIT */
/* user/lib/printf.c - one formatting engine, two destinations.
 *
 * format() walks the format string and passes every produced character to
 * an output object; a string buffer (snprintf) and a flushing buffer in
 * front of a file descriptor (dprintf) are the two kinds of output.
 */
#include "stdio.h"
#include "string.h"
#include "sys.h"

struct out {
	char *buf;
	size_t size;	/* capacity of buf */
	size_t len;	/* bytes in buf now */
	size_t total;	/* bytes produced so far, the return value */
	int fd;		/* -1: a string (truncate); else flush to fd when full */
};

static void out_flush(struct out *o)
{
	size_t done = 0;

	while (done < o->len) {
		ssize_t n = write(o->fd, o->buf + done, o->len - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	o->len = 0;
}

static void out_char(struct out *o, char c)
{
	o->total++;
	if (o->fd < 0) {
		if (o->len + 1 < o->size)	/* keep room for the NUL */
			o->buf[o->len++] = c;
		return;
	}
	if (o->len == o->size)
		out_flush(o);
	o->buf[o->len++] = c;
}

static void out_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

/* Emit digits (already in text form) in a field of the given width. */
static void out_field(struct out *o, const char *prefix, const char *digits,
		      int width, bool left, bool zero)
{
	int len = (int)(strlen(prefix) + strlen(digits));

	if (!left && !zero)
		out_pad(o, ' ', width - len);
	for (; *prefix; prefix++)
		out_char(o, *prefix);
	if (!left && zero)
		out_pad(o, '0', width - len);
	for (; *digits; digits++)
		out_char(o, *digits);
	if (left)
		out_pad(o, ' ', width - len);
}

static void utoa(unsigned long v, unsigned base, bool upper, char *out)
{
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = dig[v % base];
		v /= base;
	} while (v);
	while (n)
		*out++ = tmp[--n];
	*out = 0;
}

static void format(struct out *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool left = false, zero = false, alt = false;
		int width = 0, prec = -1, lng = 0;
		char digits[24];

		if (*fmt != '%') {
			out_char(o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				width = -width;
			}
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		for (;; fmt++) {
			if (*fmt == 'l' || *fmt == 'z')
				lng = 1;
			else if (*fmt != 'h')
				break;
		}

		switch (*fmt) {
		case 'd':
		case 'i': {
			long v = lng ? va_arg(ap, long) : va_arg(ap, int);
			unsigned long mag = v < 0 ? -(unsigned long)v : (unsigned long)v;

			utoa(mag, 10, false, digits);
			out_field(o, v < 0 ? "-" : "", digits, width, left, zero);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			unsigned long v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;

			/* '#': 0x (0X) before a hex number, 0 before an
			 * octal one; none before a zero, as C says. */
			const char *prefix = !alt || !v || base == 10 ? "" :
					     base == 8 ? "0" : *fmt == 'X' ? "0X" : "0x";

			utoa(v, base, *fmt == 'X', digits);
			out_field(o, prefix, digits, width, left, zero);
			break;
		}
		case 'p':
			utoa((unsigned long)va_arg(ap, void *), 16, false, digits);
			out_field(o, "0x", digits, width, left, zero);
			break;
		case 'c':
			digits[0] = (char)va_arg(ap, int);
			digits[1] = 0;
			out_field(o, "", digits, width, left, false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len;

			if (!s)
				s = "(null)";
			len = (int)strnlen(s, prec < 0 ? (size_t)-1 : (size_t)prec);
			if (!left)
				out_pad(o, ' ', width - len);
			for (int i = 0; i < len; i++)
				out_char(o, s[i]);
			if (left)
				out_pad(o, ' ', width - len);
			break;
		}
		case '%':
			out_char(o, '%');
			break;
		case 0:
			return;
		default:	/* unknown: print it as written */
			out_char(o, '%');
			out_char(o, *fmt);
			break;
		}
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0, 0, -1 };

	format(&o, fmt, ap);
	if (size)
		buf[o.len] = 0;
	return (int)o.total;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
	char buf[256];
	struct out o = { buf, sizeof(buf), 0, 0, fd };

	format(&o, fmt, ap);
	out_flush(&o);
	return (int)o.total;
}

int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(1, fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	return printf("%s\n", s);
}
