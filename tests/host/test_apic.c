/* SPDX-License-Identifier: MIT */
/* tests/host/test_apic.c - the local APIC encodings in apic_regs.h.
 *
 * QEMU's software emulation has no x2APIC, so this is where the x2APIC side
 * is checked: MSR numbers, the 64-bit ICR with its 32-bit destination, the
 * derived logical ID, self IPI. Expected values are written out from the
 * Intel SDM (vol. 3, "Extended XAPIC (x2APIC)") rather than recomputed.
 * Also the mode decision of apic_mode.h, with the inputs QEMU cannot give
 * (firmware in x2APIC mode, APIC IDs above 254, a DMAR opt-out).
 */
#include "tests/host/htest.h"
#include "arch/x86_64/apic_regs.h"
#include "arch/x86_64/apic_mode.h"
#include <string.h>

HTEST(x2apic_msr_numbers)
{
	/* SDM table "Local APIC Register Address Map Supported by x2APIC". */
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_ID), 0x802);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_VERSION), 0x803);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_TPR), 0x808);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_EOI), 0x80B);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_LDR), 0x80D);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_SVR), 0x80F);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_ESR), 0x828);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_ICR_LOW), 0x830);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_LVT_TIMER), 0x832);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_LVT_LINT0), 0x835);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_LVT_LINT1), 0x836);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_LVT_ERROR), 0x837);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_TIMER_INIT), 0x838);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_TIMER_CUR), 0x839);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_TIMER_DIV), 0x83E);
	HT_EXPECT_EQ(x2apic_msr(APIC_REG_SELF_IPI), 0x83F);
}

HTEST(icr_low_fields)
{
	/* Fixed IPI, vector 0xF0, physical, no shorthand: vector | assert. */
	HT_EXPECT_EQ(apic_icr_low(0xF0, APIC_ICR_DM_FIXED, false, APIC_DEST_NONE), 0x40F0);
	/* INIT: delivery mode 101b in bits 8-10. */
	HT_EXPECT_EQ(apic_icr_low(0, APIC_ICR_DM_INIT, false, APIC_DEST_NONE), 0x4500);
	/* Startup IPI for page 0x9E: mode 110b, vector = page number. */
	HT_EXPECT_EQ(apic_icr_low(0x9E, APIC_ICR_DM_STARTUP, false, APIC_DEST_NONE), 0x469E);
	/* NMI to all but self: mode 100b, shorthand 11b in bits 18-19. */
	HT_EXPECT_EQ(apic_icr_low(0, APIC_ICR_DM_NMI, false, APIC_DEST_ALL_BUT_SELF), 0xC4400);
	/* Self shorthand 01b, logical destination bit 11. */
	HT_EXPECT_EQ(apic_icr_low(0x40, APIC_ICR_DM_FIXED, false, APIC_DEST_SELF), 0x44040);
	HT_EXPECT_EQ(apic_icr_low(0x40, APIC_ICR_DM_FIXED, true, APIC_DEST_NONE), 0x4840);
	HT_EXPECT_EQ(apic_icr_low(0x40, APIC_ICR_DM_FIXED, false, APIC_DEST_ALL), 0x84040);
}

HTEST(xapic_destination_in_high_byte)
{
	HT_EXPECT_EQ(xapic_icr_high(0), 0);
	HT_EXPECT_EQ(xapic_icr_high(3), 0x03000000);
	HT_EXPECT_EQ(xapic_icr_high(0xFF), 0xFF000000);
	/* Only 8 bits exist: higher bits must not spill into reserved ones. */
	HT_EXPECT_EQ(xapic_icr_high(0x1FF), 0xFF000000);
}

HTEST(x2apic_icr_is_one_64bit_value)
{
	u32 low = apic_icr_low(0xF0, APIC_ICR_DM_FIXED, false, APIC_DEST_NONE);
	/* Destination is the full 32-bit x2APIC ID in bits 32-63. */
	HT_EXPECT_EQ(x2apic_icr(low, 5), 0x00000005000040F0UL);
	HT_EXPECT_EQ(x2apic_icr(low, 0x12345678), 0x12345678000040F0UL);
	HT_EXPECT_EQ(x2apic_icr(low, 0xFFFFFFFF), 0xFFFFFFFF000040F0UL);
	/* INIT to APIC ID 300, which xAPIC could not even address. */
	HT_EXPECT_EQ(x2apic_icr(apic_icr_low(0, APIC_ICR_DM_INIT, false, APIC_DEST_NONE), 300),
		     0x0000012C00004500UL);
	/* No delivery-status bit is ever set by us. */
	HT_EXPECT_EQ(x2apic_icr(low, 7) & APIC_ICR_BUSY, 0);
}

HTEST(apic_id_register)
{
	/* xAPIC keeps the ID in bits 24-31; x2APIC uses all 32 bits. */
	HT_EXPECT_EQ(apic_id_from_reg(0x03000000, false), 3);
	HT_EXPECT_EQ(apic_id_from_reg(0xFF000000, false), 0xFF);
	HT_EXPECT_EQ(apic_id_from_reg(0x00000103, true), 0x103);
	HT_EXPECT_EQ(apic_id_from_reg(3, true), 3);
}

HTEST(logical_destinations)
{
	/* x2APIC: cluster = ID >> 4 in bits 16-31, one bit for ID & 15. */
	HT_EXPECT_EQ(x2apic_logical_id(0), 0x00000001);
	HT_EXPECT_EQ(x2apic_logical_id(1), 0x00000002);
	HT_EXPECT_EQ(x2apic_logical_id(15), 0x00008000);
	HT_EXPECT_EQ(x2apic_logical_id(16), 0x00010001);
	HT_EXPECT_EQ(x2apic_logical_id(0x23), 0x00020008);
	/* xAPIC flat model: one bit per CPU in LDR bits 24-31. */
	HT_EXPECT_EQ(xapic_flat_ldr(0), 0x01000000);
	HT_EXPECT_EQ(xapic_flat_ldr(7), 0x80000000);
}

HTEST(self_ipi_and_timer)
{
	HT_EXPECT_EQ(x2apic_self_ipi(0xE0), 0xE0);
	HT_EXPECT_EQ(apic_lvt_timer(0x40, true, false), 0x20040);
	HT_EXPECT_EQ(apic_lvt_timer(0x40, false, true), 0x10040);
	/* Divide-by-16 encoding: bits 3,1,0 = 0,1,1. */
	HT_EXPECT_EQ(APIC_TIMER_DIV_16, 3);
}

HTEST(apic_base_msr_bits)
{
	/* A typical firmware value: base 0xFEE00000, enabled, BSP, x2APIC. */
	u64 v = 0xFEE00D00UL;
	HT_EXPECT_EQ(v & APIC_BASE_ADDR_MASK, 0xFEE00000UL);
	HT_EXPECT(v & APIC_BASE_ENABLE);
	HT_EXPECT(v & APIC_BASE_EXTD);
	HT_EXPECT(v & APIC_BASE_BSP);
}

/* --- the mode decision (apic_mode.h) --- */

static struct apic_mode_choice choose(bool has, bool fw, u32 max_id, bool opt_out, bool nox2apic)
{
	struct apic_mode_input in = { has, fw, max_id, opt_out, nox2apic };
	return apic_choose_mode(&in);
}

HTEST(mode_firmware_x2apic_is_kept)
{
	/* Whatever else is true, x2APIC handed over stays x2APIC. */
	HT_EXPECT(choose(true, true, 3, false, false).x2apic);
	HT_EXPECT(choose(true, true, 3, true, false).x2apic);
	struct apic_mode_choice c = choose(true, true, 3, false, true);
	HT_EXPECT(c.x2apic);
	HT_EXPECT(strstr(c.why, "nox2apic") != NULL);
}

HTEST(mode_xapic_kept_when_ids_fit)
{
	/* An x2APIC-capable CPU with small IDs: firmware's xAPIC stays. */
	HT_EXPECT(!choose(true, false, 7, false, false).x2apic);
	HT_EXPECT(!choose(true, false, XAPIC_MAX_APIC_ID, false, false).x2apic);
	HT_EXPECT(!choose(false, false, 0, false, false).x2apic);
}

HTEST(mode_x2apic_when_an_id_needs_it)
{
	struct apic_mode_choice c = choose(true, false, XAPIC_MAX_APIC_ID + 1, false, false);
	HT_EXPECT(c.x2apic);
	HT_EXPECT(strstr(c.why, "above 254") != NULL);
	HT_EXPECT(choose(true, false, 300, false, false).x2apic);
}

HTEST(mode_x2apic_refused)
{
	/* Needed, but the DMAR opts out, or nox2apic, or no x2APIC at all. */
	struct apic_mode_choice c = choose(true, false, 300, true, false);
	HT_EXPECT(!c.x2apic);
	HT_EXPECT(strstr(c.why, "DMAR") != NULL);
	c = choose(true, false, 300, false, true);
	HT_EXPECT(!c.x2apic);
	HT_EXPECT(strstr(c.why, "nox2apic") != NULL);
	c = choose(false, false, 300, false, false);
	HT_EXPECT(!c.x2apic);
	HT_EXPECT(strstr(c.why, "lacks") != NULL);
}

int main(void)
{
	return htest_main("apic", (struct htest[]){
		HT_CASE(x2apic_msr_numbers),
		HT_CASE(icr_low_fields),
		HT_CASE(xapic_destination_in_high_byte),
		HT_CASE(x2apic_icr_is_one_64bit_value),
		HT_CASE(apic_id_register),
		HT_CASE(logical_destinations),
		HT_CASE(self_ipi_and_timer),
		HT_CASE(apic_base_msr_bits),
		HT_CASE(mode_firmware_x2apic_is_kept),
		HT_CASE(mode_xapic_kept_when_ids_fit),
		HT_CASE(mode_x2apic_when_an_id_needs_it),
		HT_CASE(mode_x2apic_refused),
		{ 0 } });
}
