/* SPDX-License-Identifier: MIT */
/* kernel/main.c - kmain: the boot CPU's path from the assembly entry to the
 * tests or the demo. The order matters and each step says why it is here;
 * docs/boot.md walks through it. */
#include "kernel/types.h"
#include "kernel/printk.h"
#include "kernel/console.h"
#include "kernel/fbcon.h"
#include "kernel/bootinfo.h"
#include "kernel/cmdline.h"
#include "kernel/lockdep.h"
#include "kernel/ktest.h"
#include "kernel/power.h"
#include "arch/x86_64/mce.h"
#include "arch/x86_64/mtrr.h"
#include "arch/x86_64/tsc_sync.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/desc.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/fpu.h"
#include "mm/mm_init.h"
#include "mm/tlbflush.h"
#include "mm/mmu_gather.h"
#include "mm/thp.h"
#include "mm/madvise.h"
#include "mm/khugepaged.h"
#include "kernel/sched.h"
#include "kernel/alarm.h"
#include "kernel/rcu.h"
#include "kernel/syscall.h"
#include "kernel/proc.h"
#include "kernel/trace.h"

extern char boot_stack_top[];

/* The first steps of the boot CPU, up to a console that reports: this
 * CPU's per-CPU area, the serial port, the boot information and command
 * line, the event log and the screen console, then the banner. */
static void boot_cpu_console_init(u32 magic, u32 info_phys)
{
	/* First: GS base, because spinlocks (and so printk) ask which CPU
	 * they run on. */
	cpus[0].id = 0;
	cpus[0].kstack_top = boot_stack_top;
	percpu_init_this_cpu(&cpus[0]);

	/* Then a console, so every later problem can be reported. */
	serial_init();
	if (multiboot2_parse(magic, info_phys) != 0)
		halt_forever();
	size_t from_fw_cfg = cmdline_add_from_fw_cfg();
	console_loglevel = (int)cmdline_long("loglevel", console_loglevel);
	console_nmi_init();
	lockdep_init();         /* "lockdep=0": before most locks are first taken */
	/* The event log ("trace"): as soon as the command line is known, so
	 * that even boot-time events can be recorded. */
	trace_init();
	fbcon_init();

	printk("\nPagoda: a small x86_64 kernel built around its memory manager\n");
	printk("Booted by %s%s; command line: %s\n",
	       boot_info.loader[0] ? boot_info.loader : "an unknown loader",
	       boot_info.efi ? " (UEFI)" : " (BIOS)", boot_info.cmdline);
	if (from_fw_cfg)
		printk("  (its last %lu bytes from QEMU's fw_cfg file %s)\n",
		       (unsigned long)from_fw_cfg, CMDLINE_FW_CFG_FILE);
}

void kmain(u32 magic, u32 info_phys);
void kmain(u32 magic, u32 info_phys)
{
	boot_cpu_console_init(magic, info_phys);

	/* Our own GDT/TSS (IST stacks for double fault, NMI, machine check)
	 * and the IDT, before anything can fault in an interesting way. */
	ist_stacks_prepare(&cpus[0]);   /* static: cannot fail */
	gdt_init_cpu(&cpus[0]);
	idt_init();
	idt_load();
	mce_init_cpu();         /* without CR4.MCE a hardware error resets silently */
	mtrr_init();            /* firmware's memory types, before anything is ioremapped */

	/* The memory manager: page allocator, kernel page tables (W^X, guard
	 * pages), kmalloc. After the IDT, so a mistake gets a report. */
	mm_init();
	fbcon_init_late();      /* a framebuffer above 4 GiB: mapped now */

	/* CPUs and interrupt controllers come from ACPI; the APIC must be up
	 * before the other CPUs can be started. */
	acpi_init();
	lapic_init_bsp();
	cpus[0].apic_id = lapic_id();
	lapic_timer_calibrate();
	cpus[0].online = true;
	sched_init();
	fpu_init();             /* user FPU/SSE/AVX state, before any user thread */
	/* System calls: the table, then this CPU's SYSCALL MSRs (each AP
	 * programs its own in ap_main). */
	proc_init();
	syscall_init_cpu();
	tlb_flush_init();       /* the flush IPI, before other CPUs can send one */
	mmu_gather_init();
	thp_init();
	madvise_init();
	smp_init();
	tsc_sync_check();       /* the event log and benchmarks compare TSCs across CPUs */
	rcu_init();
	khugepaged_init();      /* a kernel thread: after the scheduler */
	alarm_init();           /* the same */
	lapic_timer_start(100);
	local_irq_enable();

	char tests[BOOT_CMDLINE_MAX];     /* test=SUITE.CASE lists can be long */
	int failed = 0;
	bool ran_tests = cmdline_get("test", tests, sizeof(tests));
	if (ran_tests)
		failed = ktest_run(tests[0] ? tests : "all");

	/* run=NAME[,NAME...]: user programs (boot modules), one at a time.
	 * A plain boot ("make run": no tests, no run=) runs the demo program
	 * when it is on the image. */
	char run[BOOT_CMDLINE_MAX];     /* a list as long as the command line allows */
	if (cmdline_get("run", run, sizeof(run)))
		failed += run_user_programs(run);
	else if (!ran_tests && !cmdline_has("bench") && boot_module_exists("demo"))
		failed += run_user_programs("demo");

	/* bench=NAME[,NAME...]: the in-kernel benchmarks (tests/bench/kernel/). */
	ktest_run_hooks(KTEST_HOOK_BOOT_END);

	lockdep_print_stats(cmdline_has("lockdep_stats"));
	if (cmdline_has("poweroff"))
		machine_exit(failed == 0);

	printk("Pagoda: boot complete; nothing more to run. Halting.\n");
	for (;;)
		hlt();
}
