/* SPDX-License-Identifier: MIT */
/* tests/kernel/arch/mce_test.c - a machine check must reach the handler and
 * its report, not reset the machine.
 *
 * With "mce_test_wait" on the command line the boot ends by waiting (up to
 * a minute) for a machine check; tools/run-tests's crash-mce configuration
 * injects one through QEMU's monitor ("mce" command) when it sees the
 * waiting line. QEMU raises it only if the kernel enabled the banks, and
 * without CR4.MCE it resets the machine instead, so the configuration's
 * expected panic ("machine check: hardware error in bank 1") proves both,
 * and that the handler found the bank QEMU filled in. */
#include "kernel/ktest.h"
#include "kernel/printk.h"
#include "arch/x86_64/apic.h"

static void mce_test_wait(void)
{
	printk("mce_test: waiting for an injected machine check\n");
	for (int i = 0; i < 6000; i++)
		mdelay(10);
	pr_err("mce_test: no machine check arrived within a minute\n");
}

KTEST_HOOK(mce_test, KTEST_HOOK_BOOT_END, "mce_test_wait", mce_test_wait);
