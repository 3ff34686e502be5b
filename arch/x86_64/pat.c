/* SPDX-License-Identifier: MIT */
/* arch/x86_64/pat.c - programming the Page Attribute Table (see pat.h). */
#include "arch/x86_64/pat.h"
#include "arch/x86_64/cpu.h"

bool pat_enabled;

void pat_init_cpu(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!((d >> 16) & 1))
		return;
	/* The SDM's order for a new PAT: write back and invalidate the
	 * caches, write the MSR, then flush the TLB so no translation
	 * cached under the old table survives (reloading CR3 flushes the
	 * non-global ones; no global entry uses an entry that changes). */
	__asm__ __volatile__("wbinvd" : : : "memory");
	wrmsr(MSR_IA32_PAT, PAT_VALUE);
	write_cr3(read_cr3());
	pat_enabled = true;
}
