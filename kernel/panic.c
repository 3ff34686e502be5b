/* SPDX-License-Identifier: MIT */
/* kernel/panic.c - stop the machine with a readable report.
 *
 * Only the first CPU to panic reports; any other CPU that panics at the same
 * time just halts. The reporter stops every other CPU with an NMI (an NMI gets
 * through even with interrupts disabled), breaks the console lock (its holder
 * may be one of the CPUs just stopped, or this one), prints on every console
 * (with no lock: kernel/console.h), and under
 * "poweroff" exits QEMU with the failure code so the harness sees it.
 */
#include "kernel/printk.h"
#include "kernel/console.h"
#include "kernel/power.h"
#include "kernel/trace.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/smp.h"

static u32 panic_cpu_plus_one;  /* 0: no panic yet */
void (*panic_report_hook)(void);

bool panic_in_progress(void)
{
	return READ_ONCE(panic_cpu_plus_one) != 0;
}

bool panic_on_this_cpu(void)
{
	/* Interrupts are off on the reporting CPU, so it cannot move. */
	u32 cpu = READ_ONCE(panic_cpu_plus_one);
	return cpu != 0 && cpu == smp_processor_id() + 1;
}

void panic(const char *fmt, ...)
{
	local_irq_disable();
	u32 me = smp_processor_id() + 1;
	u32 expected = 0;
	if (!__atomic_compare_exchange_n(&panic_cpu_plus_one, &expected, me, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		halt_forever();  /* another CPU (or a nested panic here) reports */

	smp_stop_other_cpus();
	console_force_unlock();

	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk(KERN_EMERG "\nKernel panic on CPU %u: %s\n", me - 1, msg);
	dump_backtrace((u64)__builtin_frame_address(0), (u64)__builtin_return_address(0));
	printk(KERN_EMERG "---[ end Kernel panic: %s ]---\n", msg);
	if (panic_report_hook)
		panic_report_hook();
	/* "trace_dump_at_exit": what led here. The other CPUs are stopped, so
	 * the rings hold still. */
	trace_dump_at_exit();
	machine_exit_on_panic();
	halt_forever();
}

void nmi_handler(struct trap_frame *tf)
{
	this_cpu()->nmis++;
	if (panic_in_progress()) {
		/* Stopped by panic(): stay here. NMIs stay blocked until an
		 * IRET that never comes. */
		this_cpu()->online = false;
		halt_forever();
	}
	/* printk here takes no console lock (kernel/console.h). */
	this_cpu()->nmi_depth++;
	printk(KERN_WARNING "NMI on CPU %u at %lx (ignored)\n", smp_processor_id(), tf->rip);
	this_cpu()->nmi_depth--;
	this_cpu()->nmis_done++;
}
