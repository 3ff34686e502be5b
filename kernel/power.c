/* SPDX-License-Identifier: MIT */
/* kernel/power.c - the end of a boot: exit codes for QEMU, ACPI poweroff
 * and reset for real machines (power.h). */
#include "kernel/power.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"
#include "kernel/trace.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/reset.h"

/* Only a virtual machine has QEMU's exit device; a write to port 0xf4 on a
 * real PC would reach whatever chipset device decodes it. */
static void qemu_exit(u32 code)
{
	if (cpu_under_hypervisor())
		outl(QEMU_EXIT_PORT, code);
}

void machine_exit(bool success)
{
	trace_dump_at_exit();   /* "trace_dump_at_exit": the log, last thing */
	if (cmdline_has("reboot")) {
		printk("Pagoda: %s, resetting\n", success ? "all done" : "FAILED");
		machine_reset();
	}
	printk("Pagoda: %s, powering off\n", success ? "all done" : "FAILED");
	qemu_exit(success ? QEMU_EXIT_PASS : QEMU_EXIT_FAIL);
	/* Still here: not QEMU with isa-debug-exit. */
	acpi_poweroff();
	printk("Pagoda: it is now safe to switch off the machine.\n");
	halt_forever();
}

void machine_exit_on_panic(void)
{
	if (cmdline_has("poweroff"))
		qemu_exit(QEMU_EXIT_FAIL);
}
