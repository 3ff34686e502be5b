/* kernel/power.h - ending a boot: exit codes for the test harness, poweroff. */
#ifndef PAGODA_POWER_H
#define PAGODA_POWER_H

#include "kernel/types.h"

/* QEMU's isa-debug-exit device (port 0xf4) turns a write of v into the exit
 * status (v << 1) | 1; tools/run-tests expects these two. */
#define QEMU_EXIT_PASS 0x10     /* exit status 33 */
#define QEMU_EXIT_FAIL 0x11     /* exit status 35 */
#define QEMU_EXIT_PORT 0xf4

/* Leave QEMU with pass/fail; on other machines power off through ACPI; if
 * neither works, print that it is safe to switch off and halt. */
__noreturn void machine_exit(bool success);
/* Called by panic(): exits with failure when the command line says
 * "poweroff" (test runs), else returns so the panic message stays on screen. */
void machine_exit_on_panic(void);
bool panic_in_progress(void);

#endif
