/* SPDX-License-Identifier: MIT */
/* kernel/power.h - ending a boot: exit codes for the test harness, poweroff,
 * reset. */
#ifndef PAGODA_POWER_H
#define PAGODA_POWER_H

#include "kernel/types.h"

/* QEMU's isa-debug-exit device (port 0xf4) turns a write of v into the exit
 * status (v << 1) | 1; tools/run-tests expects these two. The port is
 * written only under a hypervisor (CPUID's hypervisor bit): on a real PC,
 * port 0xf4 may belong to some chipset device. */
#define QEMU_EXIT_PASS 0x10     /* exit status 33 */
#define QEMU_EXIT_FAIL 0x11     /* exit status 35 */
#define QEMU_EXIT_PORT 0xf4

/* The end of a boot with the command line's "poweroff": with "reboot" as
 * well, reset the machine (arch/x86_64/reset.h); else leave QEMU with
 * pass/fail; on other machines power off through ACPI; if none of that
 * works, print that it is safe to switch off and halt. */
__noreturn void machine_exit(bool success);
/* Called by panic(): exits with failure when the command line says
 * "poweroff" (test runs), else returns so the panic message stays on screen. */
void machine_exit_on_panic(void);
bool panic_in_progress(void);

#endif
