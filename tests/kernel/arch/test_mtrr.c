/* SPDX-License-Identifier: MIT */
/* tests/kernel/arch/test_mtrr.c - the MTRRs as read at boot
 * (arch/x86_64/mtrr.h), and the effective memory type of the mappings
 * that depend on them. QEMU ignores memory types, so this checks the
 * reading and the arithmetic on the live registers, not the hardware's
 * behaviour; the decoding rules are in tests/host/test_mtrr.c. */
#include "kernel/ktest.h"
#include "kernel/bootinfo.h"
#include "arch/x86_64/mtrr.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"
#include "mm/paging.h"

/* Firmware makes RAM write-back: the first page above 1 MiB (RAM on every
 * PC) must read back as WB, or the registers were misread. */
static void test_ram_is_write_back(struct ktest *t)
{
	if (!mtrr_state.present) {
		ktest_skip(t, "no MTRRs (CPUID)");
		return;
	}
	KTEST_EXPECT_TRUE(t, mtrr_state.enabled);
	KTEST_EXPECT_EQ(t, mtrr_type_of(&mtrr_state, 0x100000), PAT_WB);
	ktest_log(t, "default %s, %u variable ranges", mtrr_type_name(mtrr_state.def_type),
		  mtrr_state.nr_var);
}

/* The effective type of the page at phys as the kernel maps it: its page
 * entry's PAT type combined with the MTRR type there; PAT_UC + 1 (not a
 * type) when it is not mapped. */
static u32 effective_type_of_mapping(u64 phys)
{
	enum pt_level level;
	u64 *e = paging_lookup((u64)phys_to_virt(phys), &level);
	if (!e)
		return PAT_UC + 1;
	return mtrr_effective_type(mtrr_type_of(&mtrr_state, phys), pat_type_of(*e, level != PT_PTE));
}

/* The framebuffer is mapped WC, device registers UC: whatever the MTRRs
 * say there, those must be the effective types of the live mappings (a
 * WB mapping over a UC MTRR would be uncached, over a WB MTRR cached). */
static void test_mappings_get_intended_type(struct ktest *t)
{
	if (boot_info.fb.present) {
		u64 size = (u64)boot_info.fb.pitch * boot_info.fb.height;
		u64 start = ALIGN_DOWN(boot_info.fb.addr, PAGE_SIZE);
		for (u64 pa = start; pa < boot_info.fb.addr + size; pa += PAGE_SIZE)
			if (effective_type_of_mapping(pa) != PAT_WC) {
				KTEST_EXPECT_EQ(t, effective_type_of_mapping(pa), PAT_WC);
				break;
			}
		ktest_log(t, "framebuffer at 0x%lx: MTRR %s, mapped WC", boot_info.fb.addr,
			  mtrr_type_name(mtrr_type_of_range(&mtrr_state, start,
							    boot_info.fb.addr + size)));
	}
	for (u32 i = 0; i < acpi_info.nr_ioapics; i++) {
		u64 phys = acpi_info.ioapic[i].phys;
		KTEST_EXPECT_EQ(t, effective_type_of_mapping(phys), PAT_UC);
		ktest_log(t, "I/O APIC at 0x%lx: MTRR %s, mapped UC", phys,
			  mtrr_type_name(mtrr_type_of(&mtrr_state, phys)));
	}
}

static const struct ktest_case mtrr_cases[] = {
	{ "ram_is_write_back", test_ram_is_write_back },
	{ "mappings_get_intended_type", test_mappings_get_intended_type },
};
KTEST_SUITE(mtrr, mtrr_cases);
