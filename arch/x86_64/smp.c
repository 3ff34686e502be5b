/* SPDX-License-Identifier: MIT */
/* arch/x86_64/smp.c - starting the other CPUs. See smp.h.
 *
 * Bring-up (smp_init, on the boot CPU, interrupts disabled):
 *   1. copy boot/trampoline.asm to a page below the EBDA that is free in
 *      the firmware map and in the kernel's reserved list (modules, boot
 *      information: trampoline_place.h);
 *   2. for each AP in the MADT, one at a time: fill the trampoline's data
 *      block (page tables, EFER, stack, CPU number), send INIT, wait 10 ms,
 *      send SIPI, wait 200 us, send a second SIPI unless the AP is already
 *      online (the MP specification's sequence: older CPUs could miss the
 *      first; a running CPU ignores a SIPI anyway), and wait up to
 *      AP_START_TIMEOUT_MS for the AP to mark itself online. The whole
 *      bring-up has one budget, SMP_BRINGUP_BUDGET_MS: a CPU that does
 *      not answer is reported and skipped, and once the budget is spent
 *      the CPUs not yet tried are reported and left off, so a machine
 *      whose MADT lists CPUs that are not there still boots promptly;
 *   3. the AP runs ap_main(): GS base, GDT/TSS, IDT, page tables, APIC and
 *      timer, its run queue; then it goes online and runs the scheduler's
 *      idle loop (kernel/sched.c), which runs whatever threads are queued.
 * CPUs are numbered in the order they come up, so cpus[0..nr_cpus-1] are
 * exactly the online CPUs and cpus[i].id == i.
 *
 * The function-call IPIs are in smp_call.c.
 */
#include "arch/x86_64/mce.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/pat.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/desc.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/apic_mode.h"
#include "arch/x86_64/trampoline_place.h"
#include "kernel/bootinfo.h"
#include "mm/memmap.h"
#include "mm/kstack.h"
#include "kernel/cmdline.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/trace.h"
#include "kernel/printk.h"
#include "kernel/string.h"

cpumask_t cpu_online_mask = { { 1 } };  /* the boot CPU; APs add themselves */
cpumask_t cpu_possible_mask = { { 1 } };        /* the boot CPU; start_ap adds each AP */
u64 kernel_cr3;
phys_addr_t smp_trampoline_phys;

/* --- AP stacks --- */

/* Each AP's kernel stack is mapped when the AP is started, in the kernel
 * stack area (mm/kstack.h): AP_STACK_SIZE bytes above a guard page that is
 * never mapped, so an overflow is a page fault (reported on the
 * double-fault IST stack) instead of silent corruption. The boot CPU keeps
 * its boot stack (boot/entry.asm). */
void *ap_stack_guard(u32 cpu)
{
	if (cpu == 0 || cpu >= MAX_CPUS)
		return NULL;
	return kstack_guard(KSTACK_SLOT_AP(cpu));
}

/* --- the trampoline --- */

extern const u8 trampoline_start[], trampoline_end[], trampoline_data[];
extern u8 boot_pml4[];

/* Must match the data block at the end of boot/trampoline.asm. */
struct trampoline_data {
	u32 cr3;
	u32 efer;
	u64 stack_top;
	u64 entry;
	u32 cpu;
	u32 reserved;
} __packed;

#define AP_START_TIMEOUT_MS 5000
#define SMP_BRINGUP_BUDGET_MS 10000

/* The trampoline page (trampoline_place.h): under the EBDA, free in the
 * firmware map and in mm/'s reserved list, which by now holds the modules,
 * the Multiboot2 information and everything early_alloc() handed out. The
 * page is only needed during smp_init(); low memory is never given to the
 * page allocator, so nothing else will be put there later. */
static phys_addr_t find_trampoline_page(u64 size, u64 *limit)
{
	/* The BIOS data area: EBDA segment at 0x40E, base memory in KiB at
	 * 0x413 (0 on many UEFI machines, which trampoline_low_limit
	 * ignores). */
	u16 ebda_seg = *(volatile u16 *)phys_to_virt(0x40E);
	u16 base_kib = *(volatile u16 *)phys_to_virt(0x413);
	*limit = trampoline_low_limit(ebda_seg, base_kib);
	return trampoline_place(boot_info.mmap, boot_info.nr_mmap, reserved, nr_reserved,
				*limit, size);
}

static struct trampoline_data *trampoline_data_in_page(void)
{
	return phys_to_virt(smp_trampoline_phys + (u64)(trampoline_data - trampoline_start));
}

/* --- test helpers: work for the AP idle loop --- */

/* --- bring-up --- */

static u64 bsp_cr0, bsp_cr4;     /* control bits every AP copies */

__noreturn void ap_main(u32 cpu);
__noreturn void ap_main(u32 cpu)
{
	struct cpu *c = &cpus[cpu];
	/* GS first: spinlocks and printk ask which CPU they run on. */
	percpu_init_this_cpu(c);
	/* Our own GDT and the IDT before anything else: until then the GDT is
	 * the trampoline's, in low memory, and an NMI would find no IDT. */
	gdt_init_cpu(c);
	idt_load();
	/* The trampoline set only what long mode needs; take the boot CPU's
	 * control bits, then the kernel's page tables (which need not map
	 * low memory: nothing here uses the trampoline page any more). */
	write_cr0(bsp_cr0);
	write_cr4(bsp_cr4);
	pat_init_cpu();         /* the boot CPU's PAT, before tables that use it */
	fpu_init_cpu();         /* XCR0 is per CPU */
	write_cr3(READ_ONCE(kernel_cr3));
	mce_init_cpu();
	lapic_init_ap();
	u32 id = lapic_id();
	if (id != c->apic_id)
		printk(KERN_WARNING "CPU %u: APIC ID is %u, the MADT said %u\n", cpu, id, c->apic_id);
	/* The run queue must exist before the CPU is in cpu_online_mask:
	 * from then on other CPUs may queue threads here. */
	syscall_init_cpu();     /* SYSCALL MSRs are per CPU */
	sched_init_ap();
	cpumask_set_cpu(cpu, &cpu_online_mask);
	__atomic_store_n(&c->online, true, __ATOMIC_SEQ_CST);
	sched_idle_loop();
}

/* Start one AP as logical CPU `cpu`, waiting at most timeout_ms for it.
 * Returns whether it came online. */
static bool start_ap(u32 cpu, u32 apic_id, u64 timeout_ms)
{
	struct cpu *c = &cpus[cpu];
	c->id = cpu;
	c->apic_id = apic_id;
	c->online = false;
	/* Its stacks come from the page allocator (mm/kstack.h): memory is
	 * spent only on CPUs that exist. */
	u8 *stack = kstack_map(KSTACK_SLOT_AP(cpu), AP_STACK_SIZE);
	if (!stack || !ist_stacks_prepare(c)) {
		printk(KERN_ERR "SMP: no memory for the stacks of CPU %u (APIC ID %u); "
		       "not starting it\n", cpu, apic_id);
		return false;
	}
	c->kstack_top = stack + AP_STACK_SIZE;
	trace_cpu_prepare(cpu);
	/* From the first IPI on, it may touch its per-CPU data. */
	cpumask_set_cpu(cpu, &cpu_possible_mask);

	struct trampoline_data *td = trampoline_data_in_page();
	td->stack_top = (u64)c->kstack_top;
	td->cpu = cpu;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);   /* visible before the IPIs */

	u8 page = (u8)(smp_trampoline_phys >> 12);
	lapic_send_init(apic_id);
	mdelay(10);
	lapic_send_sipi(apic_id, page);
	udelay(200);
	if (!__atomic_load_n(&c->online, __ATOMIC_SEQ_CST))
		lapic_send_sipi(apic_id, page);

	u64 start = rdtsc();
	while (!__atomic_load_n(&c->online, __ATOMIC_SEQ_CST)) {
		if (rdtsc() - start > tsc_khz * timeout_ms) {
			printk(KERN_ERR "SMP: CPU with APIC ID %u did not come up within %lu ms; "
			       "continuing without it\n", apic_id, timeout_ms);
			/* Park it in wait-for-SIPI so it cannot wake up later on
			 * a stack we give to the next CPU. */
			lapic_send_init(apic_id);
			mdelay(10);
			return false;
		}
		cpu_relax();
	}
	printk("SMP: CPU %u online, APIC ID %u\n", cpu, apic_id);
	return true;
}

/* Copy the trampoline to its page and fill the parts of its data block
 * that are the same for every AP. */
static int setup_trampoline(void)
{
	u64 size = (u64)(trampoline_end - trampoline_start);
	u64 limit;
	smp_trampoline_phys = find_trampoline_page(size, &limit);
	if (!smp_trampoline_phys) {
		printk(KERN_ERR "SMP: no free page below 0x%lx for the AP trampoline (the "
		       "boot loader's modules and data, or the BIOS, fill low memory); "
		       "running on one CPU\n", limit);
		return -1;
	}
	memcpy(phys_to_virt(smp_trampoline_phys), trampoline_start, size);
	struct trampoline_data *td = trampoline_data_in_page();
	td->cr3 = (u32)virt_to_phys(boot_pml4);
	/* LME plus what the BSP has on: NXE, and SCE once system calls exist.
	 * Not LMA (bit 10): that one the CPU sets itself. */
	td->efer = (u32)(rdmsr(MSR_EFER) & ~(1UL << 10)) | (1U << 8);
	td->entry = (u64)ap_main;
	printk("SMP: AP trampoline at physical 0x%lx (%lu bytes; low memory usable up to 0x%lx)\n",
	       smp_trampoline_phys, size, limit);
	return 0;
}

/* Why CPUs listed in the MADT are not online, counted for the summary. */
struct bringup_skips {
	u32 maxcpus, no_x2apic, no_answer, over_budget;
};

static void print_bringup_summary(const struct bringup_skips *k, long maxcpus, u64 ms)
{
	if (k->maxcpus)
		printk("SMP: maxcpus=%ld: %u CPU(s) left offline\n", maxcpus, k->maxcpus);
	if (k->no_answer)
		printk(KERN_WARNING "SMP: %u CPU(s) did not answer\n", k->no_answer);
	if (k->over_budget)
		printk(KERN_WARNING "SMP: %u CPU(s) not tried: the %u ms bring-up budget was spent\n",
		       k->over_budget, SMP_BRINGUP_BUDGET_MS);
	if (acpi_info.nr_cpus_disabled + acpi_info.nr_cpus_hotplug)
		printk("SMP: %u disabled and %u hot-plug MADT entries not started (listed above)\n",
		       acpi_info.nr_cpus_disabled, acpi_info.nr_cpus_hotplug);
	printk("SMP: %u CPU(s) online; bring-up took %lu ms\n", nr_cpus, ms);
}

u32 smp_cpus_not_answering;

/* The APIC IDs to try, in order: the MADT's enabled CPUs, and under the
 * negative control smp_debug_start_disabled also its disabled entries and
 * hot-plug slots, which is what a kernel that ignored the flags would do. */
static u32 bringup_list(u32 *ids, u32 max)
{
	bool start_disabled = false;
	cmdline_debug_switch("SMP", "smp_debug_start_disabled", &start_disabled,
			     "also starting MADT CPUs that are not enabled");
	u32 n = 0;
	for (u32 i = 0; i < acpi_info.nr_cpus && n < max; i++)
		ids[n++] = acpi_info.apic_ids[i];
	for (u32 i = 0; start_disabled && i < acpi_info.nr_skipped && n < max; i++)
		ids[n++] = acpi_info.skipped[i].apic_id;
	return n;
}

/* Start the MADT's CPUs in order, within maxcpus and the time budget. */
static void start_aps(u32 bsp_apic, u32 maxcpus)
{
	static u32 ids[ACPI_MAX_CPUS + ACPI_MAX_SKIPPED];
	u32 n = bringup_list(ids, ARRAY_SIZE(ids));
	struct bringup_skips k = { 0, 0, 0, 0 };
	u64 t0 = rdtsc(), budget = tsc_khz * SMP_BRINGUP_BUDGET_MS;
	for (u32 i = 0; i < n; i++) {
		u32 apic_id = ids[i];
		u64 spent = rdtsc() - t0;
		if (apic_id == bsp_apic)
			continue;
		if (nr_cpus >= maxcpus) {
			k.maxcpus++;
		} else if (!lapic_x2apic_mode() && apic_id > XAPIC_MAX_APIC_ID) {
			printk(KERN_WARNING "SMP: APIC ID %u needs x2APIC mode; not starting it\n",
			       apic_id);
			k.no_x2apic++;
		} else if (spent >= budget) {
			printk(KERN_WARNING "SMP: APIC ID %u not started: bring-up budget spent\n",
			       apic_id);
			k.over_budget++;
		} else if (start_ap(nr_cpus, apic_id,
				    MIN((u64)AP_START_TIMEOUT_MS, (budget - spent) / tsc_khz + 1))) {
			nr_cpus++;
		} else {
			k.no_answer++;
		}
	}
	smp_cpus_not_answering = k.no_answer;
	print_bringup_summary(&k, maxcpus, (rdtsc() - t0) / tsc_khz);
}

void smp_init(void)
{
	smp_call_init();
	if (!kernel_cr3)
		kernel_cr3 = read_cr3();
	bsp_cr0 = read_cr0();
	bsp_cr4 = read_cr4();

	u32 bsp_apic = cpus[0].apic_id;
	long maxcpus = cmdline_long("maxcpus", MAX_CPUS);
	if (cmdline_has("nosmp"))
		maxcpus = 1;
	if (maxcpus < 1)
		maxcpus = 1;
	if (maxcpus > MAX_CPUS)
		maxcpus = MAX_CPUS;

	bool bsp_listed = false;
	for (u32 i = 0; i < acpi_info.nr_cpus; i++)
		if (acpi_info.apic_ids[i] == bsp_apic)
			bsp_listed = true;
	printk("SMP: %u CPU(s) in the MADT%s; CPU 0 online, APIC ID %u (boot CPU)\n",
	       acpi_info.nr_cpus, bsp_listed ? "" : " (not including the boot CPU!)", bsp_apic);
	nr_cpus = 1;
	if (acpi_info.nr_cpus <= 1 && bsp_listed)
		return;
	if (maxcpus == 1) {
		printk("SMP: %s: not starting the other CPUs\n",
		       cmdline_has("nosmp") ? "nosmp" : "maxcpus=1");
		return;
	}

	if (setup_trampoline() == 0)
		start_aps(bsp_apic, (u32)maxcpus);
}
