/* SPDX-License-Identifier: MIT */
/* kernel/vsprintf.c - a small vsnprintf: %d %i %u %x %X %p %s %c %%, with
 * flags '-' '0', a width, and the length modifiers l, ll, z. Enough for the
 * kernel; no floating point (the kernel has no FPU state). */
#include "kernel/printk.h"
#include "kernel/string.h"

struct outbuf {
	char *buf;
	size_t size;
	size_t len;             /* length the full output would have */
};

static void put(struct outbuf *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct outbuf *o, const char *s, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;
	if (!left && pad == '0' && n > 0 && s[0] == '-') {
		put(o, '-');
		s++;
		n--;
	}
	if (!left)
		while (fill--)
			put(o, pad);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

static size_t format_unsigned(char *tmp, u64 v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	size_t n = 0;
	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	for (size_t i = 0; i < n; i++)
		tmp[i] = rev[n - 1 - i];
	return n;
}

/* The arguments, in a struct so that helpers can take them by pointer and
 * va_arg them (a va_list parameter cannot be passed on and used after). */
struct vargs {
	va_list ap;
};

/* What comes between '%' and the conversion character. */
struct spec {
	bool left;      /* '-': pad on the right */
	char pad;       /* '0' or ' ' */
	int width;      /* digits, or '*' (an int argument) */
	int lng;        /* 'l's counted; 'z' counts as one */
};

/* Read the flags, width and length of a conversion; fmt is just past the
 * '%'. Returns where the conversion character is. */
static const char *parse_spec(const char *fmt, struct vargs *va, struct spec *sp)
{
	sp->left = false;
	sp->pad = ' ';
	for (;; fmt++) {
		if (*fmt == '-')
			sp->left = true;
		else if (*fmt == '0')
			sp->pad = '0';
		else
			break;
	}
	sp->width = 0;
	if (*fmt == '*') {
		sp->width = va_arg(va->ap, int);
		fmt++;
	}
	while (*fmt >= '0' && *fmt <= '9')
		sp->width = sp->width * 10 + (*fmt++ - '0');
	sp->lng = 0;
	while (*fmt == 'l') {
		sp->lng++;
		fmt++;
	}
	if (*fmt == 'z') {
		sp->lng = 1;
		fmt++;
	}
	return fmt;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct outbuf o = { buf, size, 0 };
	char tmp[32];
	struct vargs va;
	va_copy(va.ap, ap);

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		struct spec sp;
		fmt = parse_spec(fmt + 1, &va, &sp);
		bool left = sp.left;
		char pad = sp.pad;
		int width = sp.width;
		int lng = sp.lng;
		switch (*fmt) {
		case 'd':
		case 'i': {
			s64 v = lng ? va_arg(va.ap, s64) : va_arg(va.ap, int);
			size_t n = 0;
			u64 mag = v < 0 ? (u64)0 - (u64)v : (u64)v;
			if (v < 0)
				tmp[n++] = '-';
			n += format_unsigned(tmp + n, mag, 10, false);
			put_padded(&o, tmp, n, width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			u64 v = lng ? va_arg(va.ap, u64) : va_arg(va.ap, unsigned int);
			unsigned base = *fmt == 'u' ? 10 : 16;
			size_t n = format_unsigned(tmp, v, base, *fmt == 'X');
			put_padded(&o, tmp, n, width, left, pad);
			break;
		}
		case 'p': {
			u64 v = (u64)va_arg(va.ap, void *);
			tmp[0] = '0';
			tmp[1] = 'x';
			size_t n = 2 + format_unsigned(tmp + 2, v, 16, false);
			put_padded(&o, tmp, n, width, left, pad);
			break;
		}
		case 's': {
			const char *s = va_arg(va.ap, const char *);
			if (!s)
				s = "(null)";
			put_padded(&o, s, strlen(s), width, left, ' ');
			break;
		}
		case 'c':
			tmp[0] = (char)va_arg(va.ap, int);
			put_padded(&o, tmp, 1, width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	va_end(va.ap);
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
