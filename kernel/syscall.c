/* SPDX-License-Identifier: MIT */
/* kernel/syscall.c - the system-call table and dispatcher. */
#include "kernel/syscall.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/proc.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/desc.h"

static void (*syscall_table[NR_SYSCALLS])(void);

void syscall_register(u32 nr, void (*handler)(void))
{
	if (nr >= NR_SYSCALLS || syscall_table[nr])
		panic("syscall_register: bad or duplicate number %u", nr);
	syscall_table[nr] = handler;
}

/* A program that calls something Pagoda lacks gets Linux's answer for an
 * unknown call, ENOSYS (a C library then takes its fallback); the log says
 * which number, once per number, so a missing call is easy to find. */
static u64 enosys_reported[(NR_SYSCALLS + 63) / 64];

static void report_enosys(u64 nr)
{
	u64 bit = 1UL << (nr % 64), *word = &enosys_reported[nr / 64];
	if (nr >= NR_SYSCALLS) {
		word = &enosys_reported[0];
		bit = 1;        /* every out-of-range number: one report */
	}
	if (__atomic_fetch_or(word, bit, __ATOMIC_RELAXED) & bit)
		return;
	struct process *p = current_proc();
	pr_warn("[pagoda] pid %u (%s): system call %lu is not implemented: ENOSYS\n",
		p ? p->pid : 0, p ? p->name : "?", nr);
}

void syscall_dispatch(struct trap_frame *tf)
{
	/* SYSCALL masked interrupts; a system call is ordinary thread context. */
	local_irq_enable();
	u64 nr = tf->rax;
	long ret = -ENOSYS;
	/* Kept for a restart after a signal (kernel/signal.h): Linux's orig_ax. */
	tf->error_code = nr;
	if (nr < NR_SYSCALLS && syscall_table[nr]) {
		syscall_fn fn = (syscall_fn)syscall_table[nr];
		ret = fn(tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9);
	} else {
		report_enosys(nr);
	}
	tf->rax = (u64)ret;
	/* The way back to user mode is where a thread whose time slice ran
	 * out gives up the CPU (the kernel itself is not preemptible), and
	 * where a thread of a dying process exits. */
	user_return_work();
	local_irq_disable();
}

void syscall_entry(void);

void syscall_init_cpu(void)
{
	/* STAR: SYSCALL loads CS = 0x08 (SS = 0x10); SYSRET would load
	 * CS = 0x10 + 16 = USER_CS and SS = 0x10 + 8 = USER_DS (desc.h).
	 * LSTAR: the entry point. SFMASK: clear IF, TF, DF and AC on entry. */
	wrmsr(MSR_STAR, ((u64)KERNEL_CS << 32) | ((u64)(KERNEL_DS | 0) << 48));
	wrmsr(MSR_LSTAR, (u64)syscall_entry);
	wrmsr(MSR_SFMASK, (1UL << 9) | (1UL << 8) | (1UL << 10) | (1UL << 18));
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1);   /* SCE: enable SYSCALL */
}
