/* SPDX-License-Identifier: MIT */
/* arch/x86_64/reset.h - resetting the machine (a reboot).
 *
 * A PC has several ways to reset itself and no single one works on every
 * machine, so machine_reset() tries them in turn, as Linux's x86 reboot
 * code does (arch/x86/kernel/reboot.c), each followed by a short wait:
 *
 *   acpi    the FADT's reset register (ACPI 2.0+, flag RESET_REG_SUP):
 *           firmware says which port or PCI register to write what value;
 *   pci     the chipset's reset control register at I/O port 0xCF9
 *           (Intel and AMD chipsets since the PIIX): 0x02, then 0x0E;
 *   kbd     the 8042 keyboard controller's "pulse reset line" (0xFE to
 *           port 0x64), the oldest way, still emulated by most firmware;
 *   triple  an empty IDT and an exception: a triple fault resets the CPU,
 *           which on a PC resets the machine. It always works, last.
 *
 * `reboot_method=NAME` on the command line tries that one first (the
 * others still follow if it fails, so a bad choice cannot leave a machine
 * hanging); each attempt prints "reset: trying NAME" and a failure prints
 * "reset: NAME did not reset the machine", which is how tools/run-tests's
 * `must_reset=` configurations check each method on its own.
 *
 * Locking: none; called last, with interrupts off, by one CPU. */
#ifndef PAGODA_RESET_H
#define PAGODA_RESET_H

#include "kernel/types.h"

enum reset_method { RESET_ACPI, RESET_PCI, RESET_KBD, RESET_TRIPLE, NR_RESET_METHODS };

__noreturn void machine_reset(void);
const char *reset_method_name(enum reset_method m);

#endif
