/* kernel/power.c - exit codes for QEMU and ACPI poweroff for real machines. */
#include "kernel/power.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"
#include "kernel/trace.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/acpi.h"

void machine_exit(bool success)
{
	trace_dump_at_exit();   /* "trace_dump_at_exit": the log, last thing */
	printk("Pagoda: %s, powering off\n", success ? "all done" : "FAILED");
	outl(QEMU_EXIT_PORT, success ? QEMU_EXIT_PASS : QEMU_EXIT_FAIL);
	/* Still here: not QEMU with isa-debug-exit. */
	acpi_poweroff();
	printk("Pagoda: it is now safe to switch off the machine.\n");
	halt_forever();
}

void machine_exit_on_panic(void)
{
	if (cmdline_has("poweroff"))
		outl(QEMU_EXIT_PORT, QEMU_EXIT_FAIL);
}
