/* SPDX-License-Identifier: MIT */
/* arch/x86_64/apic_mode.h - which local APIC mode to run in: the decision
 * alone, as a pure function, so the host tests (tests/host/test_apic.c)
 * can feed it the inputs QEMU cannot produce (firmware in x2APIC mode,
 * APIC IDs above 254, a DMAR opt-out).
 *
 * The policy, Linux's in spirit:
 *   1. Firmware handed over in x2APIC mode: stay. Leaving x2APIC means
 *      disabling the APIC altogether, and firmware may have locked the mode
 *      or set up interrupt routing with 32-bit IDs. nox2apic cannot undo it.
 *   2. Otherwise keep firmware's xAPIC mode, unless an enabled CPU has an
 *      APIC ID above 254, which xAPIC cannot address (8-bit IDs, 0xFF is
 *      broadcast). Then switch to x2APIC, if the CPU has it and neither the
 *      DMAR table's X2APIC_OPT_OUT flag (firmware asks the OS not to: its
 *      SMM code or interrupt routing expects xAPIC) nor "nox2apic" forbids
 *      it; if one does, stay in xAPIC and leave those CPUs offline.
 */
#ifndef PAGODA_APIC_MODE_H
#define PAGODA_APIC_MODE_H

#include "kernel/types.h"

#define XAPIC_MAX_APIC_ID 254

struct apic_mode_input {
	bool cpu_has_x2apic;            /* CPUID.1:ECX bit 21 */
	bool firmware_x2apic;           /* IA32_APIC_BASE had EN and EXTD set */
	u32 max_apic_id;                /* highest enabled APIC ID in the MADT */
	bool dmar_opt_out;              /* DMAR flags bit 1 */
	bool nox2apic;                  /* the command-line word */
};

struct apic_mode_choice {
	bool x2apic;
	const char *why;                /* one phrase for the boot log */
};

static inline struct apic_mode_choice apic_choose_mode(const struct apic_mode_input *in)
{
	bool need = in->max_apic_id > XAPIC_MAX_APIC_ID;
	if (in->firmware_x2apic)
		return (struct apic_mode_choice){ true, in->nox2apic ?
			"left on by firmware; nox2apic cannot turn it off" : "left on by firmware" };
	if (!need)
		return (struct apic_mode_choice){ false, "as firmware left it" };
	if (!in->cpu_has_x2apic)
		return (struct apic_mode_choice){ false,
			"APIC IDs above 254 need x2APIC, which this CPU lacks: those CPUs stay off" };
	if (in->dmar_opt_out)
		return (struct apic_mode_choice){ false,
			"the DMAR table opts out of x2APIC: CPUs with APIC IDs above 254 stay off" };
	if (in->nox2apic)
		return (struct apic_mode_choice){ false,
			"nox2apic: CPUs with APIC IDs above 254 stay off" };
	return (struct apic_mode_choice){ true, "switched on: an APIC ID above 254 needs it" };
}

#endif
