/* SPDX-License-Identifier: MIT */
/* arch/x86_64/mce.h - the machine-check architecture: hardware errors
 * (memory, caches, buses) reported by the CPU.
 *
 * A CPU with MCA has banks of registers, one per unit that can detect
 * errors; an uncorrected error raises exception 18 (#MC) when CR4.MCE is
 * set, and without CR4.MCE it *shuts the CPU down* (on a PC: a reset with
 * no message). So each CPU enables every bank and sets CR4.MCE at start,
 * after logging and clearing what firmware or a previous boot left in the
 * banks. The handler reads the banks and panics with what they say, which
 * reaches the screen: a photograph of it is a useful bug report.
 *
 * Pagoda does not recover from machine checks, nor poll for corrected
 * errors (Linux's CMCI and mce_timer): it reports and stops.
 *
 * Locking: none; per-CPU registers, touched by their own CPU. */
#ifndef PAGODA_MCE_H
#define PAGODA_MCE_H

#include "kernel/types.h"

struct trap_frame;

#define VEC_MACHINE_CHECK 18

/* Enable machine checks on the calling CPU (the BSP in kmain, each AP in
 * ap_main). Prints once, on the BSP, how many banks there are. */
void mce_init_cpu(void);

/* Exception 18: report every bank holding an error, then panic. */
__noreturn void mce_handler(struct trap_frame *tf);

#endif
