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
