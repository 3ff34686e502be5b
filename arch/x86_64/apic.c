/* SPDX-License-Identifier: MIT */
/* arch/x86_64/apic.c - the local APIC: mode choice, per-CPU setup, IPIs, the
 * timer and its calibration, and TSC-based delays. See apic.h.
 *
 * Every register access goes through `apic`, a struct apic_ops chosen once on
 * the boot CPU: xAPIC (memory-mapped registers) or x2APIC (MSRs). Nothing
 * else in this file knows which mode is in use, so the x2APIC path differs
 * only in the few lines of its ops, whose encodings apic_regs.h provides and
 * the host tests check.
 */
#include "arch/x86_64/apic.h"
#include "kernel/sched.h"
#include "kernel/rcu.h"
#include "arch/x86_64/apic_regs.h"
#include "arch/x86_64/apic_mode.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/tsc_calibrate.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/trap.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "mm/ioremap.h"

u64 tsc_khz;
u64 lapic_timer_khz;

struct apic_ops {
	const char *name;
	u32 (*read)(u32 reg);
	void (*write)(u32 reg, u32 val);
	/* Send an IPI: ICR low half (vector, delivery mode, shorthand...) and
	 * a destination APIC ID (ignored with a shorthand). */
	void (*send_icr)(u32 low, u32 dest);
	u32 (*id)(void);
};

static const struct apic_ops *apic;     /* NULL until lapic_init_bsp() */
static volatile u32 *xapic_mmio;
static u32 timer_hz;                    /* 0 until lapic_timer_start() */

/* --- xAPIC: 32-bit registers in a 4 KiB MMIO page --- */

static u32 xapic_read(u32 reg)
{
	return xapic_mmio[reg / 4];
}

static void xapic_write(u32 reg, u32 val)
{
	xapic_mmio[reg / 4] = val;
}

static void xapic_wait_idle(void)
{
	/* The delivery-status bit clears once the IPI has been accepted; on
	 * every CPU since the Pentium 4 that is almost immediate. Bounded so
	 * a wedged APIC gives a message, not a hang. */
	for (u32 i = 0; i < 1000000; i++) {
		if (!(xapic_read(APIC_REG_ICR_LOW) & APIC_ICR_BUSY))
			return;
		cpu_relax();
	}
	printk(KERN_ERR "APIC: ICR stuck busy on CPU %u\n", smp_processor_id());
}

static void xapic_send_icr(u32 low, u32 dest)
{
	/* Two writes: an interrupt handler sending its own IPI between them
	 * would change the destination under us, hence irqsave (apic.h). */
	u64 flags = local_irq_save();
	xapic_wait_idle();
	xapic_write(APIC_REG_ICR_HIGH, xapic_icr_high(dest));
	xapic_write(APIC_REG_ICR_LOW, low);     /* this write sends */
	xapic_wait_idle();
	local_irq_restore(flags);
}

static u32 xapic_id(void)
{
	return apic_id_from_reg(xapic_read(APIC_REG_ID), false);
}

static const struct apic_ops xapic_ops = {
	.name = "xAPIC", .read = xapic_read, .write = xapic_write,
	.send_icr = xapic_send_icr, .id = xapic_id,
};

/* --- x2APIC: the same registers as MSRs 0x800.. --- */

static u32 x2apic_read(u32 reg)
{
	return (u32)rdmsr(x2apic_msr(reg));
}

static void x2apic_write(u32 reg, u32 val)
{
	wrmsr(x2apic_msr(reg), val);
}

static void x2apic_send_icr(u32 low, u32 dest)
{
	/* One 64-bit WRMSR: atomic with respect to interrupts, and there is
	 * no delivery-status bit to poll in x2APIC mode. Unlike other
	 * WRMSRs this one does not serialize, so fence first: the target must
	 * see what we stored before sending (a queued call, a trampoline). */
	__asm__ __volatile__("mfence; lfence" ::: "memory");
	wrmsr(x2apic_msr(APIC_REG_ICR_LOW), x2apic_icr(low, dest));
}

static u32 x2apic_id(void)
{
	return apic_id_from_reg(x2apic_read(APIC_REG_ID), true);
}

static const struct apic_ops x2apic_ops = {
	.name = "x2APIC", .read = x2apic_read, .write = x2apic_write,
	.send_icr = x2apic_send_icr, .id = x2apic_id,
};

/* --- the legacy 8259 PICs --- */

/* Firmware may leave the 8259s delivering IRQ 0-15 at vectors 8-15, which
 * are CPU exceptions in protected mode. Remap them to VEC_IRQ_BASE (so a
 * stray IRQ cannot look like a double fault) and then mask every line: all
 * interrupts come through the APICs. */
static void pic_disable(void)
{
	outb(0x20, 0x11); io_wait();            /* ICW1: init, expect ICW4 */
	outb(0xA0, 0x11); io_wait();
	outb(0x21, VEC_IRQ_BASE); io_wait();    /* ICW2: vector offsets */
	outb(0xA1, VEC_IRQ_BASE + 8); io_wait();
	outb(0x21, 0x04); io_wait();            /* ICW3: slave on IRQ 2 */
	outb(0xA1, 0x02); io_wait();
	outb(0x21, 0x01); io_wait();            /* ICW4: 8086 mode */
	outb(0xA1, 0x01); io_wait();
	outb(0x21, 0xFF);                       /* mask everything */
	outb(0xA1, 0xFF);
}

/* --- interrupt handlers --- */

static void apic_error_interrupt(struct trap_frame *tf)
{
	(void)tf;
	apic->write(APIC_REG_ESR, 0);           /* latch the current errors */
	u32 esr = apic->read(APIC_REG_ESR);
	printk(KERN_ERR "APIC error on CPU %u: ESR=0x%x\n", smp_processor_id(), esr);
}

static void timer_interrupt(struct trap_frame *tf)
{
	(void)tf;
	struct cpu *c = this_cpu();
	WRITE_ONCE(c->ticks, c->ticks + 1);
	sched_tick();
	rcu_tick();
}

/* --- per-CPU setup --- */

static void apic_enable_msr(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	/* Enabled xAPIC first: the SDM allows disabled -> xAPIC -> x2APIC but
	 * not disabled -> x2APIC in one step. */
	if (!(base & APIC_BASE_ENABLE)) {
		base |= APIC_BASE_ENABLE;
		wrmsr(MSR_APIC_BASE, base);
	}
	if (apic == &x2apic_ops && !(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
}

static void apic_setup_this_cpu(bool bsp)
{
	apic->write(APIC_REG_TPR, 0);           /* accept every priority */
	if (apic == &xapic_ops) {
		/* Flat logical model; Pagoda sends to physical IDs, but give
		 * each CPU a sensible logical ID anyway (x2APIC's is fixed). */
		apic->write(APIC_REG_DFR, 0xFFFFFFFF);
		apic->write(APIC_REG_LDR, xapic_flat_ldr(smp_processor_id()));
	}
	/* LINT0 carried the 8259 (virtual wire mode): masked, as the PIC is.
	 * LINT1 is the NMI line on PCs; only the boot CPU listens to it. */
	apic->write(APIC_REG_LVT_LINT0, APIC_LVT_MASKED | APIC_LVT_DM_EXTINT);
	apic->write(APIC_REG_LVT_LINT1, bsp ? APIC_LVT_DM_NMI : APIC_LVT_MASKED);
	apic->write(APIC_REG_LVT_TIMER, apic_lvt_timer(VEC_TIMER, false, true));
	apic->write(APIC_REG_LVT_ERROR, VEC_APIC_ERROR);
	/* The ESR must be written before it is read (xAPIC); twice clears
	 * anything latched before we got here. */
	apic->write(APIC_REG_ESR, 0);
	apic->write(APIC_REG_ESR, 0);
	apic->write(APIC_REG_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	apic->write(APIC_REG_EOI, 0);           /* drop anything left in service */
}

/* The inputs of apic_choose_mode() (apic_mode.h) on this machine. */
static struct apic_mode_input apic_mode_inputs(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & (1U << 9)))
		panic("this CPU has no local APIC; Pagoda needs one");
	u64 base = rdmsr(MSR_APIC_BASE);
	return (struct apic_mode_input){
		.cpu_has_x2apic = (c & (1U << 21)) != 0,
		.firmware_x2apic = (base & (APIC_BASE_ENABLE | APIC_BASE_EXTD)) ==
				   (APIC_BASE_ENABLE | APIC_BASE_EXTD),
		.max_apic_id = acpi_info.have_madt ? acpi_info.max_apic_id : 0,
		.dmar_opt_out = acpi_info.have_dmar &&
				(acpi_info.dmar_flags & ACPI_DMAR_X2APIC_OPT_OUT),
		.nox2apic = cmdline_has("nox2apic"),
	};
}

void lapic_init_bsp(void)
{
	struct apic_mode_input in = apic_mode_inputs();
	struct apic_mode_choice mode = apic_choose_mode(&in);

	pic_disable();
	/* Every I/O APIC input masked before any APIC is enabled: firmware
	 * may leave some unmasked, and Pagoda routes no device interrupt. */
	ioapic_mask_all();

	if (mode.x2apic) {
		apic = &x2apic_ops;
	} else {
		phys_addr_t phys = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK;
		if (acpi_info.have_madt && acpi_info.lapic_phys &&
		    acpi_info.lapic_phys != phys)
			printk(KERN_WARNING "APIC: MADT says 0x%lx, APIC base MSR 0x%lx; using the MSR\n",
			       acpi_info.lapic_phys, phys);
		xapic_mmio = ioremap_uc(phys, 0x1000);
		if (!xapic_mmio)
			panic("APIC: cannot map the local APIC's registers at 0x%lx", phys);
		apic = &xapic_ops;
	}
	apic_enable_msr();
	apic_setup_this_cpu(true);
	irq_register(VEC_APIC_ERROR, apic_error_interrupt);
	irq_register(VEC_TIMER, timer_interrupt);

	u32 version = apic->read(APIC_REG_VERSION);
	printk("APIC: %s mode (%s), boot CPU APIC ID %u, version 0x%x, %u LVT entries\n",
	       apic->name, mode.why, apic->id(), version & 0xFF, ((version >> 16) & 0xFF) + 1);
}

void lapic_init_ap(void)
{
	apic_enable_msr();
	apic_setup_this_cpu(false);
	if (timer_hz)
		lapic_timer_start(timer_hz);
}

bool lapic_x2apic_mode(void)
{
	return apic == &x2apic_ops;
}

u32 lapic_id(void)
{
	return apic->id();
}

void lapic_eoi(void)
{
	if (apic)
		apic->write(APIC_REG_EOI, 0);
}

/* --- IPIs --- */

void lapic_send_ipi(u32 apic_id, u8 vector)
{
	apic->send_icr(apic_icr_low(vector, APIC_ICR_DM_FIXED, false, APIC_DEST_NONE), apic_id);
}

void lapic_send_self_ipi(u8 vector)
{
	if (apic == &x2apic_ops)
		apic->write(APIC_REG_SELF_IPI, x2apic_self_ipi(vector));
	else
		apic->send_icr(apic_icr_low(vector, APIC_ICR_DM_FIXED, false, APIC_DEST_SELF), 0);
}

void lapic_send_nmi(u32 apic_id)
{
	apic->send_icr(apic_icr_low(0, APIC_ICR_DM_NMI, false, APIC_DEST_NONE), apic_id);
}

void lapic_send_nmi_all_but_self(void)
{
	if (!apic)
		return;         /* panic before the APIC was set up: nobody else runs */
	apic->send_icr(apic_icr_low(0, APIC_ICR_DM_NMI, false, APIC_DEST_ALL_BUT_SELF), 0);
}

void lapic_send_init(u32 apic_id)
{
	apic->send_icr(apic_icr_low(0, APIC_ICR_DM_INIT, false, APIC_DEST_NONE), apic_id);
}

void lapic_send_sipi(u32 apic_id, u8 start_page)
{
	/* The "vector" of a startup IPI is the page number of the real-mode
	 * entry point: the AP starts at CS = page << 8, IP = 0. */
	apic->send_icr(apic_icr_low(start_page, APIC_ICR_DM_STARTUP, false, APIC_DEST_NONE), apic_id);
}

/* --- timer and clocks --- */

/* The APIC timer is measured against the TSC once the TSC's rate is known
 * (tsc_calibrate.c): count down from the top for CALIBRATE_MS of TSC time.
 * The TSC needs no port I/O and cannot be gated, so this works on every
 * machine; an interrupt or SMI inside one window only spoils that run, and
 * the median of APIC_CALIBRATE_RUNS drops it. */
#define APIC_CALIBRATE_RUNS 5

static u64 lapic_measure_khz(void)
{
	u64 runs[APIC_CALIBRATE_RUNS];
	u64 window = tsc_khz * CALIBRATE_MS;
	for (int i = 0; i < APIC_CALIBRATE_RUNS; i++) {
		apic->write(APIC_REG_TIMER_INIT, 0xFFFFFFFF);
		u64 t0 = rdtsc();
		u32 c0 = apic->read(APIC_REG_TIMER_CUR);
		while (rdtsc() - t0 < window)
			cpu_relax();
		u32 c1 = apic->read(APIC_REG_TIMER_CUR);
		u64 cycles = rdtsc() - t0;
		/* ticks * kHz stays below 2^64 for any 32-bit count and any
		 * TSC below TSC_MAX_HZ. */
		runs[i] = (u64)(c0 - c1) * tsc_khz / cycles;
	}
	apic->write(APIC_REG_TIMER_INIT, 0);    /* stop it */
	for (int i = 1; i < APIC_CALIBRATE_RUNS; i++)
		for (int j = i; j > 0 && runs[j - 1] > runs[j]; j--) {
			u64 t = runs[j]; runs[j] = runs[j - 1]; runs[j - 1] = t;
		}
	return runs[APIC_CALIBRATE_RUNS / 2];
}

void lapic_timer_calibrate(void)
{
	struct tsc_result r = tsc_calibrate_boot_cpu();
	tsc_khz = r.tsc_hz / 1000;
	apic->write(APIC_REG_TIMER_DIV, APIC_TIMER_DIV_16);
	apic->write(APIC_REG_LVT_TIMER, apic_lvt_timer(VEC_TIMER, false, true));
	lapic_timer_khz = lapic_measure_khz();
	if (lapic_timer_khz == 0) {
		printk(KERN_ERR "Clocks: the APIC timer does not count; assuming 100 MHz\n");
		lapic_timer_khz = 100000;
	}
	printk("Clocks: TSC %lu.%03lu MHz (%s %s), APIC timer %lu.%03lu MHz "
	       "(measured against the TSC; bus clock / %u)\n",
	       tsc_khz / 1000, tsc_khz % 1000, r.fallback ? "assumed:" : "from the", r.source,
	       lapic_timer_khz / 1000, lapic_timer_khz % 1000, APIC_TIMER_DIVISOR);
}

static void timer_start_remote(void *arg)
{
	lapic_timer_start((u32)(uintptr_t)arg);
}

void lapic_timer_start(u32 hz)
{
	u64 count = lapic_timer_khz * 1000 / hz;
	if (count == 0)
		count = 1;
	if (count > 0xFFFFFFFFUL)
		count = 0xFFFFFFFFUL;
	apic->write(APIC_REG_TIMER_DIV, APIC_TIMER_DIV_16);
	apic->write(APIC_REG_LVT_TIMER, apic_lvt_timer(VEC_TIMER, true, false));
	apic->write(APIC_REG_TIMER_INIT, (u32)count);
	if (smp_processor_id() == 0 && timer_hz == 0) {
		/* First call, on the boot CPU: remember the rate for CPUs that
		 * come up later, and start it on those already running. */
		WRITE_ONCE(timer_hz, hz);
		smp_call_function_many(&cpu_online_mask, timer_start_remote,
				       (void *)(uintptr_t)hz, true);
		printk("APIC timer: %u Hz on %u CPU(s)\n", hz, num_online_cpus());
	}
}

void udelay(u64 us)
{
	/* Before calibration, the fallback rate: on the high side, so the
	 * wait is at least as long as asked on most machines. */
	u64 khz = tsc_khz ? tsc_khz : TSC_FALLBACK_HZ / 1000;
	u64 start = rdtsc();
	u64 ticks = us * khz / 1000;
	while (rdtsc() - start < ticks)
		cpu_relax();
}

void mdelay(u64 ms)
{
	while (ms--)
		udelay(1000);
}
