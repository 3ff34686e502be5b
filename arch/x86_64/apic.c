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
#include "arch/x86_64/apic_regs.h"
#include "arch/x86_64/pit.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/trap.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"

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

void lapic_init_bsp(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & (1U << 9)))
		panic("this CPU has no local APIC; Pagoda needs one");
	bool cpu_has_x2apic = (c & (1U << 21)) != 0;
	u64 base = rdmsr(MSR_APIC_BASE);
	bool firmware_x2apic = (base & (APIC_BASE_ENABLE | APIC_BASE_EXTD)) ==
			       (APIC_BASE_ENABLE | APIC_BASE_EXTD);
	bool nox2apic = cmdline_has("nox2apic");

	pic_disable();

	if (firmware_x2apic) {
		/* Leaving x2APIC mode means disabling the APIC altogether,
		 * and firmware may have locked it (or routed interrupts with
		 * 32-bit IDs): stay in it. */
		apic = &x2apic_ops;
		if (nox2apic)
			printk(KERN_WARNING "APIC: firmware enabled x2APIC; ignoring nox2apic\n");
	} else if (cpu_has_x2apic && !nox2apic) {
		apic = &x2apic_ops;
	} else {
		phys_addr_t phys = base & APIC_BASE_ADDR_MASK;
		if (acpi_info.have_madt && acpi_info.lapic_phys &&
		    acpi_info.lapic_phys != phys)
			printk(KERN_WARNING "APIC: MADT says 0x%lx, APIC base MSR 0x%lx; using the MSR\n",
			       acpi_info.lapic_phys, phys);
		xapic_mmio = phys_to_virt(phys);
		apic = &xapic_ops;
	}
	apic_enable_msr();
	apic_setup_this_cpu(true);
	irq_register(VEC_APIC_ERROR, apic_error_interrupt);
	irq_register(VEC_TIMER, timer_interrupt);

	u32 version = apic->read(APIC_REG_VERSION);
	printk("APIC: %s mode%s, boot CPU APIC ID %u, version 0x%x, %u LVT entries\n",
	       apic->name,
	       firmware_x2apic ? " (left on by firmware)" :
	       (apic == &xapic_ops && cpu_has_x2apic) ? " (nox2apic)" : "",
	       apic->id(), version & 0xFF, ((version >> 16) & 0xFF) + 1);
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

/* Calibration compares clocks by sampling them together: each sample reads
 * the PIT count, the TSC, the LAPIC timer's current count and the ACPI PM
 * timer back to back, and the rates come from the differences between two
 * samples about CALIBRATE_MS apart. Only the few instructions inside a
 * sample must run undisturbed; a delay *between* samples (an SMI, or the
 * host descheduling an emulated CPU) changes nothing, which is why this is
 * better than timing how long the PIT takes to run out. */
#define CALIBRATE_MS 10
#define CALIBRATE_RUNS 5
#define PM_TIMER_HZ 3579545U
#define PIT_CALIBRATE_TICKS (PIT_HZ / 1000 * CALIBRATE_MS)
#define PM_CALIBRATE_TICKS (PM_TIMER_HZ / 1000 * CALIBRATE_MS)
#define MAX_POLLS 20000000UL    /* far more than 10 ms of port reads: never hang */

struct clock_sample {
	u64 tsc;
	u32 apic;               /* LAPIC timer current count (counts down) */
	u32 pm;                 /* ACPI PM timer, 24 bits (counts up) */
	u16 pit;                /* PIT channel 2 count (counts down) */
	bool pit_expired;       /* channel 2 reached zero: its count wrapped */
};

static u32 pm_timer_read(void)
{
	return inl((u16)acpi_info.pm_timer_port) & 0xFFFFFF;
}

static void take_sample(struct clock_sample *s, bool use_pit)
{
	s->pit = use_pit ? pit_ch2_read() : 0;
	s->tsc = rdtsc();
	s->apic = apic->read(APIC_REG_TIMER_CUR);
	s->pm = acpi_info.pm_timer_port ? pm_timer_read() : 0;
	s->pit_expired = use_pit && pit_ch2_expired();
}

struct calibration {
	u64 tsc_hz, apic_hz;    /* measured rates */
	u64 ref_us, pm_us;      /* interval by the reference clock, and by the PM timer */
};

/* One run against the PIT. False if the PIT does not count (some recent PCs
 * have none) or the run was disturbed enough for the count to wrap. */
static bool calibrate_pit(struct calibration *r)
{
	struct clock_sample a, b;
	u64 polls = 0;
	pit_ch2_start(0xFFFF);
	apic->write(APIC_REG_TIMER_INIT, 0xFFFFFFFF);
	/* The count is loaded on the PIT's next clock edge; wait for it. */
	while (pit_ch2_read() > 0xFF00 && ++polls < MAX_POLLS)
		;
	take_sample(&a, true);
	while ((u16)(a.pit - pit_ch2_read()) < PIT_CALIBRATE_TICKS && !pit_ch2_expired() &&
	       ++polls < MAX_POLLS)
		;
	take_sample(&b, true);
	if (polls >= MAX_POLLS || b.pit_expired || b.pit >= a.pit)
		return false;
	u64 ticks = a.pit - b.pit;
	r->tsc_hz = (b.tsc - a.tsc) * PIT_HZ / ticks;
	r->apic_hz = (u64)(a.apic - b.apic) * PIT_HZ / ticks;
	r->ref_us = ticks * 1000000 / PIT_HZ;
	r->pm_us = (u64)((b.pm - a.pm) & 0xFFFFFF) * 1000000 / PM_TIMER_HZ;
	return true;
}

/* One run against the ACPI PM timer, for machines without a PIT. */
static bool calibrate_pm(struct calibration *r)
{
	struct clock_sample a, b;
	u64 polls = 0;
	apic->write(APIC_REG_TIMER_INIT, 0xFFFFFFFF);
	take_sample(&a, false);
	while (((pm_timer_read() - a.pm) & 0xFFFFFF) < PM_CALIBRATE_TICKS && ++polls < MAX_POLLS)
		cpu_relax();
	take_sample(&b, false);
	u64 ticks = (b.pm - a.pm) & 0xFFFFFF;
	if (polls >= MAX_POLLS || ticks == 0)
		return false;
	r->tsc_hz = (b.tsc - a.tsc) * PM_TIMER_HZ / ticks;
	r->apic_hz = (u64)(a.apic - b.apic) * PM_TIMER_HZ / ticks;
	r->ref_us = r->pm_us = ticks * 1000000 / PM_TIMER_HZ;
	return true;
}

static void sort_u64(u64 *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j]; v[j] = v[j - 1]; v[j - 1] = t;
		}
}

void lapic_timer_calibrate(void)
{
	u64 tsc[CALIBRATE_RUNS], lapic[CALIBRATE_RUNS];
	struct calibration r = { 0 };
	const char *ref = "PIT";
	bool (*run)(struct calibration *) = calibrate_pit;

	apic->write(APIC_REG_TIMER_DIV, APIC_TIMER_DIV_16);
	apic->write(APIC_REG_LVT_TIMER, apic_lvt_timer(VEC_TIMER, false, true));
	if (!calibrate_pit(&r) && !calibrate_pit(&r)) {
		if (!acpi_info.pm_timer_port || !calibrate_pm(&r)) {
			printk(KERN_ERR "Clocks: neither the PIT nor an ACPI PM timer counts; "
			       "assuming a 1 GHz TSC and a 100 MHz APIC timer\n");
			tsc_khz = 1000000;
			lapic_timer_khz = 100000;
			return;
		}
		ref = "ACPI PM timer";
		run = calibrate_pm;
	}
	/* Several runs and the median: one disturbed sample cannot skew it. */
	int good = 0;
	for (int tries = 0; good < CALIBRATE_RUNS && tries < 2 * CALIBRATE_RUNS; tries++) {
		if (!run(&r))
			continue;
		tsc[good] = r.tsc_hz;
		lapic[good] = r.apic_hz;
		good++;
	}
	apic->write(APIC_REG_TIMER_INIT, 0);    /* stop it */
	if (good == 0) {
		printk(KERN_ERR "Clocks: every calibration run failed; assuming 1 GHz / 100 MHz\n");
		tsc_khz = 1000000;
		lapic_timer_khz = 100000;
		return;
	}
	sort_u64(tsc, good);
	sort_u64(lapic, good);
	tsc_khz = tsc[good / 2] / 1000;
	lapic_timer_khz = lapic[good / 2] / 1000;
	if (lapic_timer_khz == 0)
		lapic_timer_khz = 1;
	printk("Clocks (measured against the %s): TSC %lu.%03lu MHz, APIC timer %lu.%03lu MHz "
	       "(bus clock / %u)\n", ref, tsc_khz / 1000, tsc_khz % 1000,
	       lapic_timer_khz / 1000, lapic_timer_khz % 1000, APIC_TIMER_DIVISOR);
	/* The same interval by the PM timer: the two should agree. */
	if (acpi_info.pm_timer_port && run == calibrate_pit)
		printk("Clocks: cross-check: last run %lu us by the PIT, %lu us by the ACPI PM timer\n",
		       r.ref_us, r.pm_us);
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
		smp_call_function_many(cpu_online_mask, timer_start_remote,
				       (void *)(uintptr_t)hz, true);
		printk("APIC timer: %u Hz on %u CPU(s)\n", hz, cpumask_weight(cpu_online_mask));
	}
}

void udelay(u64 us)
{
	if (!tsc_khz) {
		pit_delay_us(us);
		return;
	}
	u64 start = rdtsc();
	u64 ticks = us * tsc_khz / 1000;
	while (rdtsc() - start < ticks)
		cpu_relax();
}

void mdelay(u64 ms)
{
	while (ms--)
		udelay(1000);
}
