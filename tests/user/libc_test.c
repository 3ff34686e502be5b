/* SPDX-License-Identifier: MIT */
/* libc_test - the user library checks itself: printf formats, string and
 * memory functions, malloc, errno per thread, threads and futex join.
 * Nothing here depends on the kernel beyond the basic calls, so it is the
 * first program to try on a new kernel after hello. */
#include "libc.h"

static void expect_fmt(const char *expected, const char *fmt, ...) __printf(2, 3);

static void expect_fmt(const char *expected, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!ktap_ok(!strcmp(buf, expected), "snprintf \"%s\" gives \"%s\"", fmt, expected))
		ktap_diag("got \"%s\"", buf);
}

static void test_printf(void)
{
	char small[8];
	int n;

	expect_fmt("42 -7 0", "%d %d %d", 42, -7, 0);
	expect_fmt("-2147483648", "%d", (int)0x80000000);
	expect_fmt("4294967295", "%u", 0xffffffffu);
	expect_fmt("ff FF 0", "%x %X %x", 255, 255, 0);
	expect_fmt("ffffffffffffffff", "%lx", ~0UL);
	expect_fmt("-9223372036854775808", "%ld", (long)(1UL << 63));
	expect_fmt("18446744073709551615", "%zu", (size_t)-1);
	expect_fmt("0x1000", "%p", (void *)0x1000);
	expect_fmt("[   ab] [ab   ]", "[%5s] [%-5s]", "ab", "ab");
	expect_fmt("[00042] [   42] [42   ]", "[%05d] [%5d] [%-5d]", 42, 42, 42);
	expect_fmt("[-0042]", "[%05d]", -42);
	expect_fmt("[0000beef]", "[%08x]", 0xbeef);
	expect_fmt("0x2a 0X2A 017 0 [  0xff] [0x0000ff]", "%#x %#X %#o %#x [%#6x] [%#08lx]",
		   42, 42, 15, 0, 255, 255UL);
	expect_fmt("x%y", "%c%%%c", 'x', 'y');
	expect_fmt("abc", "%.3s", "abcdef");
	expect_fmt("[  7]", "[%*d]", 3, 7);
	{
		const char *volatile none = NULL;	/* hidden from the format check */

		expect_fmt("(null)", "%s", none);
	}
	n = snprintf(small, sizeof(small), "%s", "0123456789");
	ktap_ok(n == 10 && !strcmp(small, "0123456"), "snprintf truncates and returns the full length");
}

static void test_string(void)
{
	char buf[32];
	u8 a[16], b[16];

	memset(a, 0xab, sizeof(a));
	memcpy(b, a, sizeof(b));
	ktap_ok(!memcmp(a, b, sizeof(a)) && a[15] == 0xab, "memset, memcpy, memcmp");
	strlcpy(buf, "hello world", sizeof(buf));
	memmove(buf + 2, buf, 5);
	ktap_ok(!strcmp(buf, "hehelloorld"), "memmove with overlap");
	ktap_ok(strlen("abc") == 3 && strcmp("abc", "abd") < 0 && strncmp("abcx", "abcy", 3) == 0,
		"strlen, strcmp, strncmp");
	ktap_ok(strchr("abc", 'c') && !strchr("abc", 'z') && strstr("haystack", "st"),
		"strchr, strstr");
	ktap_ok(strtoul("0x1f", NULL, 0) == 31 && strtoul("  123kB", NULL, 10) == 123 &&
		strtoul("7fff0000-", NULL, 16) == 0x7fff0000, "strtoul");
}

static void test_malloc(void)
{
	void *small[64];
	bool ok = true;
	u8 *big;

	for (int i = 0; i < 64; i++) {
		small[i] = malloc((size_t)(i * 37 + 1));
		ok = ok && small[i] && ((unsigned long)small[i] & 15) == 0;
		if (small[i])
			memset(small[i], i, (size_t)(i * 37 + 1));
	}
	for (int i = 0; i < 64 && ok; i++)
		ok = ((u8 *)small[i])[i * 37] == (u8)i;
	for (int i = 0; i < 64; i++)
		free(small[i]);
	ktap_ok(ok, "malloc: 64 blocks, 16-byte aligned, independent");
	big = calloc(1, 100000);
	ok = big != NULL;
	for (int i = 0; ok && i < 100000; i++)
		ok = big[i] == 0;
	free(big);
	ktap_ok(ok, "calloc of 100000 bytes is zeroed");
}

static volatile int go;

static long set_errno_thread(void *arg)
{
	errno = (int)(long)arg;
	while (!go)
		sched_yield();
	return errno;
}

static void test_threads(void)
{
	struct uthread *t[4];
	bool ok = true;

	errno = 0;
	for (int i = 0; i < 4; i++) {
		t[i] = thread_create(set_errno_thread, (void *)(long)(100 + i), -1);
		ok = ok && t[i];
	}
	go = 1;
	for (int i = 0; i < 4; i++)
		if (t[i])
			ok = thread_join(t[i]) == 100 + i && ok;
	ktap_ok(ok, "4 threads created and joined, each returned its own value");
	ktap_ok(errno == 0, "errno is per thread");
	ktap_ok(thread_self()->tid == gettid(), "the main thread's block holds its tid");
}

int main(void)
{
	ktap_plan(28);
	test_printf();
	test_string();
	test_malloc();
	test_threads();
	return ktap_finish();
}
