/* SPDX-License-Identifier: MIT */
/* kernel/sysrq.c - see sysrq.h. */
#include "kernel/sysrq.h"
#include "kernel/sched.h"
#include "kernel/proc.h"
#include "kernel/file.h"
#include "kernel/uaccess.h"
#include "kernel/printk.h"
#include "kernel/errno.h"
#include "kernel/ksyms.h"
#include "arch/x86_64/cpu.h"

u32 sysrq_stopped_frames(struct thread *t, u64 *frames, u32 max)
{
	if (t->state == THREAD_RUNNING || READ_ONCE(t->on_cpu) || t->is_idle ||
	    t->state == THREAD_DEAD || t->state == THREAD_UNUSED)
		return 0;
	/* switch_to (arch/x86_64/switch.asm) left r15, r14, r13, r12, rbx,
	 * rbp and its return address at t->ksp; rbp starts the chain of
	 * frame pointers ([rbp]: the caller's rbp, [rbp+8]: the return
	 * address), which is followed only while it stays on t's stack. */
	u64 lo = (u64)t->kstack, hi = lo + KSTACK_SIZE;
	u64 *sw = (u64 *)READ_ONCE(t->ksp);
	if ((u64)sw < lo || (u64)sw > hi - 7 * sizeof(u64) || max == 0)
		return 0;
	u32 n = 0;
	frames[n++] = sw[6];
	u64 rbp = sw[5];
	while (n < max && rbp >= lo && rbp <= hi - 2 * sizeof(u64) && !(rbp & 7)) {
		u64 ret = ((u64 *)rbp)[1];
		if (ret < KERNEL_VMA)
			break;
		frames[n++] = ret;
		rbp = ((u64 *)rbp)[0];
	}
	return n;
}

static const char *state_name(enum thread_state s)
{
	switch (s) {
	case THREAD_RUNNABLE: return "runnable";
	case THREAD_RUNNING:  return "running";
	case THREAD_BLOCKED:  return "blocked";
	case THREAD_DEAD:     return "dead";
	default:              return "unused";
	}
}

/* One thread: a line, then where it stopped. */
static bool show_thread(struct thread *t, void *arg)
{
	bool blocked_only = *(bool *)arg;
	if (blocked_only && t->state != THREAD_BLOCKED)
		return true;
	struct process *p = t->proc;
	const char *on = t->waiting_on ? t->waiting_on->lock.name : "-";
	printk(KERN_EMERG "sysrq: tid %u %s: %s on CPU %u, waiting on %s%s; process %u%s%s\n",
	       t->tid, t->name, state_name(t->state), t->cpu, on ? on : "?",
	       READ_ONCE(t->killed) ? ", killed" : "",
	       p ? p->pid : 0, p && p->exiting ? " exiting" : "", p ? "" : " (kernel)");
	u64 frames[SYSRQ_MAX_FRAMES];
	u32 n = sysrq_stopped_frames(t, frames, SYSRQ_MAX_FRAMES);
	for (u32 i = 0; i < n; i++) {
		u64 off;
		const char *name = ksym_lookup(frames[i], &off);
		printk(KERN_EMERG "sysrq:   [<%016lx>] %s+0x%lx\n", frames[i], name ? name : "?",
		       name ? off : 0);
	}
	return true;
}

void sysrq_show_threads(bool blocked_only)
{
	printk(KERN_EMERG "sysrq: show %s threads\n", blocked_only ? "blocked" : "all");
	sched_for_each_thread(show_thread, &blocked_only);
	printk(KERN_EMERG "sysrq: end\n");
}

/* Linux's write_sysrq_trigger: the first byte is the key, the write
 * reports every byte taken. */
static long sysrq_write(struct file *f, u64 ubuf, u64 count)
{
	(void)f;
	char key;
	if (count == 0)
		return 0;
	if (copy_from_user(&key, ubuf, 1))
		return -EFAULT;
	if (key == 't' || key == 'w')
		sysrq_show_threads(key == 'w');
	else
		printk(KERN_INFO "sysrq: HELP : show-all-threads(t) show-blocked-threads(w)\n");
	return (long)count;
}

static const struct file_ops sysrq_ops = {
	.name = "sysrq-trigger",
	.write = sysrq_write,
	.procfs = true,
};

struct file *sysrq_open(long *err)
{
	struct file *f = file_alloc(&sysrq_ops, FMODE_WRITE, 0, NULL);
	if (!f)
		*err = -ENOMEM;
	return f;
}
