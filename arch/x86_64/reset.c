/* SPDX-License-Identifier: MIT */
/* arch/x86_64/reset.c - resetting the machine: ACPI, 0xCF9, the keyboard
 * controller, a triple fault (see reset.h). */
#include "arch/x86_64/reset.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/desc.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/string.h"

#define PCI_RESET_PORT 0xCF9
#define PCI_RESET_SYS 0x02      /* "system reset" armed */
#define PCI_RESET_CPU 0x04      /* start the reset */
#define PCI_RESET_FULL 0x08     /* full (cold) reset: power cycles the platform */
#define KBD_STATUS_PORT 0x64
#define KBD_INPUT_FULL 0x02     /* status: the controller has not read our last byte */
#define KBD_PULSE_RESET 0xFE
#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC

static const char *const names[NR_RESET_METHODS] = {
	[RESET_ACPI] = "acpi", [RESET_PCI] = "pci", [RESET_KBD] = "kbd", [RESET_TRIPLE] = "triple",
};

const char *reset_method_name(enum reset_method m)
{
	return m < NR_RESET_METHODS ? names[m] : "?";
}

/* A byte to PCI configuration space, bus 0, by configuration mechanism #1:
 * where the FADT's reset register lives when its address space is PCI. */
static void pci_config_write8(u32 dev, u32 fn, u32 off, u8 v)
{
	outl(PCI_CONFIG_ADDRESS, 0x80000000u | dev << 11 | fn << 8 | (off & 0xFC));
	outb((u16)(PCI_CONFIG_DATA + (off & 3)), v);
}

/* Returns false when the FADT gives no reset register Pagoda can write. */
static bool reset_acpi(void)
{
	const struct acpi_info *a = &acpi_info;
	if (!a->have_reset_reg) {
		printk("reset: no ACPI reset register (FADT older than 2.0, or RESET_REG_SUP clear)\n");
		return false;
	}
	u64 addr = a->reset_addr;
	switch (a->reset_space) {
	case ACPI_GAS_IO:
		outb((u16)addr, a->reset_value);
		return true;
	case ACPI_GAS_PCI_CONFIG:
		/* ACPI 6.x 5.2.3.2: device in bits 32-47, function 16-31, offset 0-15. */
		pci_config_write8((u32)(addr >> 32) & 0x1F, (u32)(addr >> 16) & 7,
				  (u32)addr & 0xFF, a->reset_value);
		return true;
	default:
		printk("reset: ACPI reset register in address space %u is not supported\n",
		       a->reset_space);
		return false;
	}
}

static bool reset_pci(void)
{
	/* Arm with SYS_RST, then set RST_CPU (and FULL_RST) in a second write:
	 * the chipset acts on the 0->1 edge of RST_CPU. */
	u8 keep = inb(PCI_RESET_PORT) & (u8)~(PCI_RESET_SYS | PCI_RESET_CPU | PCI_RESET_FULL);
	outb(PCI_RESET_PORT, keep | PCI_RESET_SYS);
	udelay(50);
	outb(PCI_RESET_PORT, keep | PCI_RESET_SYS | PCI_RESET_CPU | PCI_RESET_FULL);
	return true;
}

static bool reset_kbd(void)
{
	/* Wait (bounded) for the controller to take bytes, then ask it to
	 * pulse the CPU's reset line; a few times, as a busy 8042 may drop it. */
	for (int attempt = 0; attempt < 10; attempt++) {
		for (int i = 0; i < 10000 && (inb(KBD_STATUS_PORT) & KBD_INPUT_FULL); i++)
			udelay(2);
		outb(KBD_STATUS_PORT, KBD_PULSE_RESET);
		udelay(50);
	}
	return true;
}

static bool reset_triple(void)
{
	/* No IDT: the exception cannot be delivered, nor the double fault that
	 * follows, so the CPU shuts down; the chipset turns that into a reset. */
	struct desc_ptr empty = { 0, 0 };
	__asm__ __volatile__("lidt %0; int3" : : "m"(empty) : "memory");
	return true;
}

static bool (*const try_method[NR_RESET_METHODS])(void) = {
	[RESET_ACPI] = reset_acpi, [RESET_PCI] = reset_pci,
	[RESET_KBD] = reset_kbd, [RESET_TRIPLE] = reset_triple,
};

/* reboot_method=NAME: the method to try first, or NR_RESET_METHODS. */
static enum reset_method chosen_method(void)
{
	char want[16];
	if (!cmdline_get("reboot_method", want, sizeof(want)))
		return NR_RESET_METHODS;
	for (int m = 0; m < NR_RESET_METHODS; m++)
		if (strcmp(want, names[m]) == 0)
			return (enum reset_method)m;
	pr_warn("reset: unknown reboot_method=%s (acpi, pci, kbd or triple); trying each\n", want);
	return NR_RESET_METHODS;
}

static void attempt(enum reset_method m)
{
	printk("reset: trying %s\n", names[m]);
	if (try_method[m]())
		mdelay(100);    /* a reset takes effect well within this */
	printk("reset: %s did not reset the machine\n", names[m]);
}

void machine_reset(void)
{
	local_irq_disable();
	enum reset_method first = chosen_method();
	if (first != NR_RESET_METHODS)
		attempt(first);
	for (int m = 0; m < NR_RESET_METHODS; m++)
		if (m != (int)first)
			attempt((enum reset_method)m);
	printk("reset: every method failed; switch the machine off\n");
	halt_forever();
}
