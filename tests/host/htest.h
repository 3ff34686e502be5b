/* SPDX-License-Identifier: MIT */
/* tests/host/htest.h - a tiny KTAP-printing harness for host unit tests.
 *
 * A host test is one C file, tests/host/test_NAME.c, built by the Makefile
 * with AddressSanitizer and UBSan against the kernel sources it lists on a
 * line "// SOURCES: path/a.c path/b.c". It defines its cases with
 * HTEST(name) { ... } and lists them in main() through htest_run():
 *
 *     HTEST(parses_good_table) { HT_EXPECT_EQ(f(1), 2); }
 *     int main(void) { return htest_main("acpi", (struct htest[]){
 *             HT_CASE(parses_good_table), {0} }); }
 *
 * Output is KTAP version 1; the exit status is 0 only if every case passed.
 * Compiled with -DHOST_TEST so kernel sources can leave out hardware parts.
 */
#ifndef PAGODA_HTEST_H
#define PAGODA_HTEST_H

#include <stdio.h>
#include <stdint.h>

struct htest {
	const char *name;
	void (*fn)(void);
};

static int htest_case_failed;

#define HTEST(name) static void htest_##name(void)
#define HT_CASE(name) { #name, htest_##name }

#define HT_EXPECT(cond)                                                       \
	do {                                                                  \
		if (!(cond)) {                                                \
			printf("    # %s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
			htest_case_failed = 1;                                \
		}                                                             \
	} while (0)

#define HT_EXPECT_EQ(a, b)                                                    \
	do {                                                                  \
		unsigned long long ht_a = (unsigned long long)(a);            \
		unsigned long long ht_b = (unsigned long long)(b);            \
		if (ht_a != ht_b) {                                           \
			printf("    # %s:%d: expected %s == %s, got %llu (0x%llx) vs %llu (0x%llx)\n", \
			       __FILE__, __LINE__, #a, #b, ht_a, ht_a, ht_b, ht_b); \
			htest_case_failed = 1;                                \
		}                                                             \
	} while (0)

static inline int htest_main(const char *suite, const struct htest *cases)
{
	int n = 0, failed = 0;
	while (cases[n].name)
		n++;
	printf("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: %s\n    1..%d\n", suite, n);
	for (int i = 0; i < n; i++) {
		htest_case_failed = 0;
		cases[i].fn();
		printf("    %s %d %s\n", htest_case_failed ? "not ok" : "ok", i + 1, cases[i].name);
		failed += htest_case_failed;
	}
	printf("%s 1 %s\n", failed ? "not ok" : "ok", suite);
	return failed ? 1 : 0;
}

#endif
