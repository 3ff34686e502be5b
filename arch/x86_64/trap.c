/* SPDX-License-Identifier: MIT */
/* arch/x86_64/trap.c - exception reports, the exception table, IRQ dispatch. */
#include "arch/x86_64/mce.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/apic.h"
#include "kernel/printk.h"
#include "kernel/ksyms.h"
#include "kernel/string.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/proc.h"
#include "kernel/uaccess.h"
#include "kernel/signal.h"
#include "mm/mm.h"
#include "mm/fault.h"
#include "mm/vma.h"

static irq_handler_t irq_handlers[256];
bool trap_report_fixups;
static struct trap_frame last_fixup[MAX_CPUS];

extern const struct ex_entry __ex_table_start[], __ex_table_end[];

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault",
	"coprocessor segment overrun", "invalid TSS", "segment not present",
	"stack-segment fault", "general protection fault", "page fault",
	"reserved", "x87 floating-point", "alignment check", "machine check",
	"SIMD floating-point", "virtualization", "control protection",
	"reserved", "reserved", "reserved", "reserved", "reserved", "reserved",
	"hypervisor injection", "VMM communication", "security", "reserved",
};

const char *exception_name(u64 vector)
{
	return vector < 32 ? exception_names[vector] : "interrupt";
}

void irq_register(u8 vector, irq_handler_t handler)
{
	irq_handlers[vector] = handler;
}

static void print_symbol(u64 addr)
{
	u64 off;
	const char *name = ksym_lookup(addr, &off);
	if (name)
		printk(KERN_EMERG "  [<%016lx>] %s+0x%lx\n", addr, name, off);
	else
		printk(KERN_EMERG "  [<%016lx>] ?\n", addr);
}

static bool kernel_stack_addr(u64 a)
{
	return a >= DIRECT_MAP_BASE && (a & 7) == 0;
}

void dump_backtrace(u64 rbp, u64 rip)
{
	printk(KERN_EMERG "Backtrace:\n");
	print_symbol(rip);
	/* Frame pointers are kept (-fno-omit-frame-pointer): [rbp] is the
	 * caller's rbp and [rbp+8] the return address. Stop at a null or
	 * implausible rbp (boot code sets rbp = 0 at every stack's root). */
	for (int depth = 0; depth < 32 && kernel_stack_addr(rbp); depth++) {
		u64 ret = ((u64 *)rbp)[1];
		if (ret < KERNEL_VMA)
			break;
		print_symbol(ret);
		rbp = ((u64 *)rbp)[0];
	}
}

void trap_report(const struct trap_frame *tf)
{
	u32 cpu = smp_processor_id();
	printk(KERN_EMERG "\n*** %s (vector %lu) on CPU %u, error code 0x%lx\n",
	       exception_name(tf->vector), tf->vector, cpu, tf->error_code);
	if (tf->vector == VEC_PAGE_FAULT)
		printk(KERN_EMERG "    CR2 (faulting address) = %016lx: %s, %s, %s mode%s\n",
		       read_cr2(), tf->error_code & 1 ? "protection violation" : "not present",
		       tf->error_code & 2 ? "write" : (tf->error_code & 16 ? "instruction fetch" : "read"),
		       tf->error_code & 4 ? "user" : "kernel",
		       tf->error_code & 8 ? ", reserved bit set" : "");
	else
		printk(KERN_EMERG "    CR2 = %016lx\n", read_cr2());
	printk(KERN_EMERG "RIP: %04lx:%016lx RFLAGS: %016lx\n", tf->cs, tf->rip, tf->rflags);
	printk(KERN_EMERG "RSP: %04lx:%016lx\n", tf->ss, tf->rsp);
	printk(KERN_EMERG "RAX: %016lx RBX: %016lx RCX: %016lx\n", tf->rax, tf->rbx, tf->rcx);
	printk(KERN_EMERG "RDX: %016lx RSI: %016lx RDI: %016lx\n", tf->rdx, tf->rsi, tf->rdi);
	printk(KERN_EMERG "RBP: %016lx R08: %016lx R09: %016lx\n", tf->rbp, tf->r8, tf->r9);
	printk(KERN_EMERG "R10: %016lx R11: %016lx R12: %016lx\n", tf->r10, tf->r11, tf->r12);
	printk(KERN_EMERG "R13: %016lx R14: %016lx R15: %016lx\n", tf->r13, tf->r14, tf->r15);
	printk(KERN_EMERG "CR0: %016lx CR3: %016lx CR4: %016lx\n", read_cr0(), read_cr3(), read_cr4());
	if ((tf->cs & 3) == 0)
		dump_backtrace(tf->rbp, tf->rip);
}

static const struct ex_entry *search_exception_table(u64 ip)
{
	for (const struct ex_entry *e = __ex_table_start; e < __ex_table_end; e++)
		if (e->fault_ip == ip)
			return e;
	return NULL;
}

void trap_last_fixup(struct trap_frame *out)
{
	*out = last_fixup[smp_processor_id()];
}

/* A page fault on a user address by a thread with an address space goes
 * to the memory manager first, from user mode and from the kernel alike
 * (copy_to_user touching a page not yet faulted in). It may sleep, so only
 * when the faulting code could have: interrupts were on and no interrupt
 * handler is running. Returns handle_mm_fault's answer (mm/fault.h):
 * VM_FAULT_DONE or _RETRY when the access can be retried, else
 * VM_FAULT_SIGSEGV, _SIGBUS or _OOM. */
static vm_fault_t handle_user_page_fault(struct trap_frame *tf, u64 addr)
{
	struct thread *t = current_thread();
	if (!t || !t->mm || addr >= USER_SPACE_END || in_interrupt() || !(tf->rflags & RFLAGS_IF))
		return VM_FAULT_SIGSEGV;
	/* From the kernel, only the user-access instructions (listed in the
	 * exception table) may touch user memory: any other kernel access is a
	 * bug, and gets the full report below rather than a quiet fix-up. */
	if ((tf->cs & 3) == 0 && !search_exception_table(tf->rip))
		return VM_FAULT_SIGSEGV;
	local_irq_enable();
	vm_fault_t r = handle_mm_fault(t->mm, addr, tf->error_code);
	local_irq_disable();
	return r;
}

/* The x87 or SSE exception that trapped, as Linux's fpu__exception_code
 * names it: the first raised and unmasked one, in Linux's order. The user's
 * FPU registers are still the CPU's here (the kernel uses none). */
static int fpu_exception_code(u64 vector)
{
	u32 err;
	if (vector == 16) {
		u16 sw, cw;
		__asm__ __volatile__("fnstsw %0; fnstcw %1" : "=m"(sw), "=m"(cw));
		err = (u32)(sw & ~cw);
	} else {
		u32 mxcsr;
		__asm__ __volatile__("stmxcsr %0" : "=m"(mxcsr));
		err = ~(mxcsr >> 7) & mxcsr;
	}
	if (err & 0x001)
		return FPE_FLTINV;
	if (err & 0x004)
		return FPE_FLTDIV;
	if (err & 0x008)
		return FPE_FLTOVF;
	if (err & 0x012)
		return FPE_FLTUND;
	return (err & 0x020) ? FPE_FLTRES : 0;
}

/* The signal, si_code and si_addr Linux sends for an exception raised by
 * user code (arch/x86/kernel/traps.c); page faults are handled apart. */
static void exception_siginfo(const struct trap_frame *tf, struct kernel_siginfo *info)
{
	info->code = SI_KERNEL;
	info->addr = 0;
	switch (tf->vector) {
	case 0:
		info->signo = SIGFPE;
		info->code = FPE_INTDIV;
		info->addr = tf->rip;
		break;
	case 16: case 19:
		info->signo = SIGFPE;
		info->code = fpu_exception_code(tf->vector);
		info->addr = tf->rip;
		break;
	case 1:
		info->signo = SIGTRAP;
		info->code = 2;         /* TRAP_TRACE: a single step */
		info->addr = tf->rip;
		break;
	case 3:
		info->signo = SIGTRAP;
		break;
	case 6:
		info->signo = SIGILL;
		info->code = ILL_ILLOPN;
		info->addr = tf->rip;
		break;
	case 11: case 12:
		info->signo = SIGBUS;
		break;
	case 17:
		info->signo = SIGBUS;
		info->code = BUS_ADRALN;
		break;
	default:
		info->signo = SIGSEGV;
		break;
	}
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGFPE: return "SIGFPE";
	case SIGTRAP: return "SIGTRAP";
	case SIGILL: return "SIGILL";
	case SIGBUS: return "SIGBUS";
	case SIGKILL: return "SIGKILL";
	default: return "SIGSEGV";
	}
}

/* Why a user page fault could not be resolved, in words, and its si_code
 * (Linux's bad_area: SEGV_MAPERR outside every mapping, SEGV_ACCERR inside
 * one that does not allow the access). Interrupts on: takes mmap_lock. */
static const char *fault_reason(u64 addr, int *code)
{
	struct mm_struct *mm = current_thread()->mm;
	*code = SEGV_MAPERR;
	if (addr >= USER_SPACE_END)
		return "kernel address";
	if (!mm)
		return "no address space";
	down_read(&mm->mmap_lock);
	struct vm_area *v = vma_find(mm->vma_root, addr);
	u32 flags = v ? v->flags : 0;
	up_read(&mm->mmap_lock);
	if (!v)
		return "no mapping";
	*code = SEGV_ACCERR;
	if (!(flags & (VM_READ | VM_WRITE | VM_EXEC)))
		return "mapping is PROT_NONE";
	return "mapping does not allow it";
}

/* The report of a fault that kills (no handler will run): on the console,
 * kernel lines start with "[pagoda]", so they can be told from the
 * program's own output. */
static void report_fatal(const struct trap_frame *tf, u64 addr, vm_fault_t fault, int sig,
			 const char *why)
{
	struct process *p = current_proc();
	if (tf->vector == VEC_PAGE_FAULT && fault == VM_FAULT_OOM) {
		printk("[pagoda] pid %u (%s): out of memory on a fault at 0x%lx, ip 0x%lx; killed by SIGKILL (wait status 0x%x)\n",
		       p->pid, p->name, addr, tf->rip, W_SIGNALED(sig));
	} else if (tf->vector == VEC_PAGE_FAULT) {
		const char *what = tf->error_code & 16 ? "instruction fetch" :
				   tf->error_code & 2 ? "write" : "read";
		printk("[pagoda] pid %u (%s): %s at 0x%lx: %s, ip 0x%lx; killed by %s (wait status 0x%x)\n",
		       p->pid, p->name, what, addr, why, tf->rip, signal_name(sig), W_SIGNALED(sig));
	} else {
		printk("[pagoda] pid %u (%s): %s (vector %lu, error 0x%lx), ip 0x%lx, sp 0x%lx; killed by %s (wait status 0x%x)\n",
		       p->pid, p->name, exception_name(tf->vector), tf->vector, tf->error_code,
		       tf->rip, tf->rsp, signal_name(sig), W_SIGNALED(sig));
	}
}

/* An exception user code caused that the kernel could not resolve: its
 * signal is forced on the thread (kernel/signal.h), delivered on the way
 * back to user mode - a handler, or the process's death (reported here).
 * Linux: force_sig_fault from do_trap, do_user_addr_fault's bad_area. */
static void user_exception(struct trap_frame *tf, u64 addr, vm_fault_t fault)
{
	struct thread *t = current_thread();
	if (!t->proc) {
		trap_report(tf);
		panic("user-mode exception in a thread without a process");
	}
	struct kernel_siginfo info = { 0 };
	const char *why = "";
	local_irq_enable();     /* fault_reason takes mmap_lock */
	if (tf->vector == VEC_PAGE_FAULT && fault == VM_FAULT_OOM) {
		/* Linux's out-of-memory killer would pick a victim and send it
		 * SIGKILL; here the process that could not get a page goes. */
		info.signo = SIGKILL;
	} else if (tf->vector == VEC_PAGE_FAULT && fault == VM_FAULT_SIGBUS) {
		info.signo = SIGBUS;
		info.code = BUS_ADRERR;
		info.addr = addr;
		why = "beyond the end of the mapped object";
	} else if (tf->vector == VEC_PAGE_FAULT) {
		info.signo = SIGSEGV;
		info.addr = addr;
		why = fault_reason(addr, &info.code);
	} else {
		exception_siginfo(tf, &info);
	}
	t->sig.fault_trapno = tf->vector;
	t->sig.fault_err = tf->error_code;
	t->sig.fault_cr2 = tf->vector == VEC_PAGE_FAULT ? addr : 0;
	if (force_sig_fault(info.signo, info.code, info.addr))
		report_fatal(tf, addr, fault, info.signo, why);
	local_irq_disable();
}

static void handle_exception(struct trap_frame *tf)
{
	if (tf->vector == VEC_PAGE_FAULT) {
		u64 addr = read_cr2();
		vm_fault_t r = handle_user_page_fault(tf, addr);
		if (r == VM_FAULT_DONE || r == VM_FAULT_RETRY)
			return;
		if ((tf->cs & 3) == 3) {
			user_exception(tf, addr, r);
			return;
		}
	} else if ((tf->cs & 3) == 3) {
		user_exception(tf, 0, VM_FAULT_SIGSEGV);
		return;
	}
	if ((tf->cs & 3) == 0) {
		const struct ex_entry *e = search_exception_table(tf->rip);
		if (e) {
			last_fixup[smp_processor_id()] = *tf;
			if (trap_report_fixups)
				trap_report(tf);
			tf->rip = e->fixup_ip;
			return;
		}
	}
	trap_report(tf);
	panic("unhandled %s in %s mode", exception_name(tf->vector),
	      (tf->cs & 3) ? "user" : "kernel");
}

void trap_dispatch(struct trap_frame *tf);
void trap_dispatch(struct trap_frame *tf)
{
	if (tf->vector == 2) {
		/* NMI: panic() uses it to stop the other CPUs. */
		nmi_handler(tf);
		return;
	}
	if (tf->vector == VEC_MACHINE_CHECK)
		mce_handler(tf);        /* reports the banks and panics */
	if (tf->vector < 32) {
		handle_exception(tf);
		if ((tf->cs & 3) == 3)
			user_return_work();
		return;
	}
	struct cpu *c = this_cpu();
	c->irq_depth++;
	irq_handler_t h = irq_handlers[tf->vector];
	if (tf->vector == VEC_SPURIOUS) {
		/* Spurious interrupts must not be acknowledged. */
	} else if (h) {
		h(tf);
		lapic_eoi();
	} else if (tf->vector >= VEC_IRQ_BASE && tf->vector < VEC_IRQ_BASE + 16) {
		/* A legacy PIC line firing before we masked it: ignore. */
	} else {
		printk(KERN_WARNING "unexpected interrupt vector %lu on CPU %u\n",
		       tf->vector, c->id);
		lapic_eoi();
	}
	c->irq_depth--;
	if ((tf->cs & 3) == 3)
		user_return_work();     /* time slice over, or the process killed */
}
