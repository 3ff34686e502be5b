/* SPDX-License-Identifier: MIT */
/* arch/x86_64/mce.c - enabling and reporting machine checks (mce.h). */
#include "arch/x86_64/mce.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/trap.h"
#include "kernel/printk.h"

/* Intel SDM vol. 3B, chapter 16: the global and per-bank registers. */
#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17A
#define MSR_MCG_CTL 0x17B
#define MSR_MC_CTL(i) (0x400u + 4u * (i))
#define MSR_MC_STATUS(i) (0x401u + 4u * (i))
#define MSR_MC_ADDR(i) (0x402u + 4u * (i))
#define MSR_MC_MISC(i) (0x403u + 4u * (i))

#define MCG_CAP_COUNT 0xFFu             /* number of banks */
#define MCG_CAP_CTL_P (1u << 8)         /* MCG_CTL exists */
#define MCG_STATUS_RIPV (1u << 0)       /* the saved RIP can be restarted */
#define MCG_STATUS_EIPV (1u << 1)       /* the saved RIP is where it happened */
#define MCI_STATUS_VAL (1UL << 63)      /* this bank holds an error */
#define MCI_STATUS_OVER (1UL << 62)     /* ...and lost an earlier one */
#define MCI_STATUS_UC (1UL << 61)       /* uncorrected */
#define MCI_STATUS_MISCV (1UL << 59)
#define MCI_STATUS_ADDRV (1UL << 58)
#define MCI_STATUS_PCC (1UL << 57)      /* processor context corrupt */

#define CPUID_1_EDX_MCE (1u << 7)
#define CPUID_1_EDX_MCA (1u << 14)
#define CR4_MCE (1UL << 6)
#define MAX_BANKS 32                    /* MCG_CAP allows 255; no CPU has more than ~30 */

static u32 nr_banks(void)
{
	u32 n = (u32)rdmsr(MSR_MCG_CAP) & MCG_CAP_COUNT;
	return n < MAX_BANKS ? n : MAX_BANKS;
}

/* Bank 0 of Intel P6-family CPUs before Nehalem must stay as firmware set
 * it (Intel SDM 16.3.1.3; Linux's mce_intel_feature_init quirk). */
static bool bank0_hands_off(void)
{
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	bool intel = b == 0x756e6547;   /* "Genu" */
	cpuid(1, 0, &a, &b, &c, &d);
	u32 family = (a >> 8) & 0xF, model = ((a >> 4) & 0xF) | ((a >> 12) & 0xF0);
	return intel && family == 6 && model < 0x1A;
}

/* One bank's error, as the panic report and the boot log print it. */
static void print_bank(u32 cpu, u32 bank, u64 status)
{
	printk(KERN_EMERG "mce: CPU %u bank %u: status %016lx%s%s%s\n", cpu, bank, status,
	       status & MCI_STATUS_UC ? " uncorrected" : " corrected",
	       status & MCI_STATUS_PCC ? ", processor context corrupt" : "",
	       status & MCI_STATUS_OVER ? ", earlier errors lost" : "");
	if (status & MCI_STATUS_ADDRV)
		printk(KERN_EMERG "mce:   address %016lx\n", rdmsr(MSR_MC_ADDR(bank)));
	if (status & MCI_STATUS_MISCV)
		printk(KERN_EMERG "mce:   misc %016lx\n", rdmsr(MSR_MC_MISC(bank)));
}

void mce_init_cpu(void)
{
	u32 a, b, c, d;
	bool bsp = smp_processor_id() == 0;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & CPUID_1_EDX_MCE) || !(d & CPUID_1_EDX_MCA)) {
		if (bsp)
			printk("mce: this CPU has no machine-check architecture\n");
		return;
	}
	u32 banks = nr_banks();
	if (rdmsr(MSR_MCG_CAP) & MCG_CAP_CTL_P)
		wrmsr(MSR_MCG_CTL, ~0UL);
	bool skip0 = bank0_hands_off();
	for (u32 i = 0; i < banks; i++) {
		u64 status = rdmsr(MSR_MC_STATUS(i));
		if (status & MCI_STATUS_VAL) {
			printk(KERN_WARNING "mce: an error was left in a bank before this boot:\n");
			print_bank(smp_processor_id(), i, status);
		}
		if (!(i == 0 && skip0))
			wrmsr(MSR_MC_CTL(i), ~0UL);
		wrmsr(MSR_MC_STATUS(i), 0);
	}
	wrmsr(MSR_MCG_STATUS, 0);
	write_cr4(read_cr4() | CR4_MCE);
	if (bsp)
		printk("mce: machine checks enabled, %u banks\n", banks);
}

void mce_handler(struct trap_frame *tf)
{
	/* Like an NMI, a machine check can arrive while this CPU holds the
	 * console lock: its report goes the NMI way, lock-free
	 * (kernel/console.h), and panic() below shows it on every console. */
	this_cpu()->nmi_depth++;
	u64 mcg = rdmsr(MSR_MCG_STATUS);
	u32 cpu = smp_processor_id(), first = MAX_BANKS;
	printk(KERN_EMERG "mce: MACHINE CHECK on CPU %u at %lx (%s mode); MCG_STATUS %lx:%s%s\n",
	       cpu, tf->rip, (tf->cs & 3) ? "user" : "kernel", mcg,
	       mcg & MCG_STATUS_RIPV ? " restartable" : " not restartable",
	       mcg & MCG_STATUS_EIPV ? ", at that instruction" : "");
	for (u32 i = 0; i < nr_banks(); i++) {
		u64 status = rdmsr(MSR_MC_STATUS(i));
		if (!(status & MCI_STATUS_VAL))
			continue;
		print_bank(cpu, i, status);
		if (first == MAX_BANKS)
			first = i;
	}
	if (first == MAX_BANKS)
		panic("machine check on CPU %u, no bank holds an error", cpu);
	panic("machine check: hardware error in bank %u on CPU %u", first, cpu);
}
