/* SPDX-License-Identifier: MIT */
/* user/lib/ktap.h - KTAP version 1 output for user test programs, in the
 * same format as the kernel's own suites (kernel/ktest.h):
 *
 *     KTAP version 1
 *     1..3
 *     ok 1 first test
 *     # a diagnostic line
 *     not ok 2 second test
 *     ok 3 third test # SKIP why it was skipped
 *
 * A program calls ktap_plan() once with the number of tests, one of
 * ktap_ok()/ktap_skip() per test, and returns ktap_finish() from main: 0
 * only when every planned test ran and none failed.
 */
#ifndef USER_KTAP_H
#define USER_KTAP_H

#include "types.h"

void ktap_plan(int ntests);
/* Report one test; returns pass so callers can chain. */
bool ktap_ok(bool pass, const char *fmt, ...) __printf(2, 3);
void ktap_skip(const char *reason, const char *fmt, ...) __printf(2, 3);
void ktap_diag(const char *fmt, ...) __printf(1, 2);
/* Print the totals as a diagnostic and return the exit status. */
int ktap_finish(void);
/* A fatal problem that makes the rest meaningless: "Bail out!" and exit 1. */
__noreturn void ktap_bail(const char *fmt, ...) __printf(1, 2);

#endif
