/* SPDX-License-Identifier: MIT */
/* kernel/proc.c - processes: creation, threads, exit, wait4, clone, fork,
 * and the small process system calls. The model and the locking rules are
 * in kernel/proc.h. */
#include "kernel/rcu.h"
#include "kernel/proc.h"
#include "kernel/alarm.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/time.h"
#include "kernel/signal.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/smp.h"
#include "mm/mm.h"
#include "mm/paging.h"

/* clone() flags (Linux uapi linux/sched.h). */
#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_PIDFD 0x00001000
#define CLONE_PTRACE 0x00002000
#define CLONE_VFORK 0x00004000
#define CLONE_PARENT 0x00008000
#define CLONE_THREAD 0x00010000
#define CLONE_NEWNS 0x00020000
#define CLONE_SYSVSEM 0x00040000
#define CLONE_SETTLS 0x00080000
#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_DETACHED 0x00400000
#define CLONE_UNTRACED 0x00800000
#define CLONE_CHILD_SETTID 0x01000000
#define CLONE_NEWUSER 0x10000000
/* Namespaces and cgroups: not supported. */
#define CLONE_UNSUPPORTED 0x7e020000UL

/* wait4() options. */
#define WNOHANG 0x00000001
#define WUNTRACED 0x00000002
#define WCONTINUED 0x00000008
#define __WNOTHREAD 0x20000000
#define __WALL 0x40000000
#define __WCLONE 0x80000000

#define SYSCALL_VECTOR 0x100    /* arch/x86_64/syscall.asm: "this frame is a syscall" */
#define CLD_EXITED 1
#define CLD_KILLED 2

static struct process proc_table[MAX_PROCS];
/* Parents (and proc_wait) sleep here; its lock is proc_lock (proc.h). */
static struct waitq proc_wq;

struct trap_frame *user_frame(struct thread *t)
{
	return (struct trap_frame *)(t->kstack + KSTACK_SIZE) - 1;
}

struct process *proc_alloc(struct process *parent, const char *name)
{
	struct process *p = NULL;
	u64 f = spin_lock_irqsave(&proc_wq.lock);
	for (u32 i = 0; i < MAX_PROCS; i++) {
		if (proc_table[i].state == PROC_FREE) {
			p = &proc_table[i];
			memset(p, 0, sizeof(*p));
			p->state = PROC_ALIVE;
			p->parent = parent;
			p->pgid = parent ? parent->pgid : 0;
			p->exit_signal = SIGCHLD;
			break;
		}
	}
	spin_unlock_irqrestore(&proc_wq.lock, f);
	if (p) {
		strlcpy(p->name, name, sizeof(p->name));
		rwsem_init(&p->files_sem, "files");
		signal_proc_init(p);
	}
	return p;
}

void proc_free_unstarted(struct process *p)
{
	files_close_all(p);
	if (p->mm)
		mm_put(p->mm);
	u64 f = spin_lock_irqsave(&proc_wq.lock);
	p->state = PROC_FREE;
	spin_unlock_irqrestore(&proc_wq.lock, f);
}

/* ---- threads ---- */

/* A user thread's first kernel code: optional set-up, then user mode. */
static void user_thread_start(void *arg)
{
	void (*entry)(void) = (void (*)(void))arg;
	struct thread *t = current_thread();
	/* CLONE_CHILD_SETTID: the child stores its tid in its own address
	 * space before it runs (Linux's schedule_tail); a fault is ignored,
	 * as there. */
	if (t->set_child_tid) {
		u32 v = t->tid;
		(void)copy_to_user(t->set_child_tid, &v, sizeof(v));
	}
	if (entry)
		entry();
	user_return_work();
	local_irq_disable();
	enter_user(user_frame(current_thread()));
}

static long add_thread(struct process *p, const struct trap_frame *tf, u64 fs_base,
		       void (*entry)(void), u64 set_ptid, u64 clear_ctid, u64 set_ctid)
{
	struct thread *t = kthread_create_suspended(p->name, user_thread_start, (void *)entry, 0);
	if (!t)
		return -EAGAIN;
	/* Registers: fork and clone copy the calling user thread's (Linux's
	 * fpu_clone); a process the kernel starts begins in the init state. */
	if (fpu_thread_alloc(t, current_thread()->proc != NULL)) {
		t->state = THREAD_DEAD;
		t->on_cpu = false;
		thread_join(t);
		return -ENOMEM;
	}
	/* kthread_create_suspended built its first switch_to frame at the very
	 * top of the kernel stack, where the user registers belong: move that
	 * frame (eight words, popped by switch_to and thread_start) below. */
	struct trap_frame *frame = user_frame(t);
	u64 *old = (u64 *)t->ksp, *new = (u64 *)frame - 8;
	memmove(new, old, 8 * sizeof(u64));
	t->ksp = (u64)new;
	*frame = *tf;
	t->fs_base = fs_base;
	t->set_child_tid = set_ctid;
	t->detached = true;
	/* clone and fork inherit the caller's CPU affinity and signal mask,
	 * as on Linux. */
	if (current_thread()->proc) {
		t->allowed = current_thread()->allowed;
		signal_thread_init(t, current_thread(), p->mm == current_thread()->mm);
	}

	u64 f = spin_lock_irqsave(&proc_wq.lock);
	if (p->exiting) {
		/* exit_group raced with clone: the new thread never runs. */
		spin_unlock_irqrestore(&proc_wq.lock, f);
		fpu_thread_free(t);
		t->state = THREAD_DEAD;
		t->on_cpu = false;
		thread_join(t);
		return -EINTR;
	}
	p->nr_threads++;
	if (!p->pid)
		p->pid = t->tid;
	if (!p->pgid)
		p->pgid = p->pid;
	spin_unlock_irqrestore(&proc_wq.lock, f);
	t->proc = p;
	t->mm = p->mm;
	t->clear_child_tid = clear_ctid;
	long tid = t->tid;
	/* CLONE_PARENT_SETTID: written before the thread can run (and so
	 * before it can exit and clear the same word for a joiner). */
	if (set_ptid) {
		u32 v = (u32)tid;
		(void)copy_to_user(set_ptid, &v, sizeof(v));
	}
	thread_start_new(t);
	return tid;
}

long proc_add_thread(struct process *p, const struct trap_frame *tf, u64 fs_base,
		     void (*entry)(void), u64 set_ptid, u64 clear_ctid)
{
	return add_thread(p, tf, fs_base, entry, set_ptid, clear_ctid, 0);
}

/* ---- exit ---- */

/* Wake every thread of p that may be blocked in a system call (futex,
 * nanosleep, wait4, poll, userfaultfd: every queue a user thread can sleep
 * on for long), and
 * make the running ones enter the kernel: they all see t->killed on the way
 * back to user mode. The marks were made before, so a thread that checks
 * t->killed under its queue's lock either sees the mark or gets woken.
 * Called without proc_lock. */
static void kick_siblings(void)
{
	futex_wake_all_waiters();
	nanosleep_wake_all();
	files_wake_sleepers();          /* poll, userfaultfd reads and faults */
	wake_up_all(&proc_wq);
	u32 me = smp_processor_id();
	u32 c;
	for_each_online_cpu(c)
		if (c != me)
			lapic_send_ipi(cpus[c].apic_id, VEC_RESCHEDULE);
}

/* Mark the other threads of p killed (proc_lock held). Threads are in the
 * scheduler's table; walking it by tid would need its lock, so we mark by
 * process pointer through sched's iterator. */
static bool mark_siblings(struct process *p, struct thread *self);

/* The parent learns of the death by its exit signal (SIGCHLD for fork;
 * ignored unless it has a handler), with Linux's si_code and si_status. */
static void notify_parent(struct process *parent, struct process *p)
{
	int sig = p->exit_signal;
	if (sig < 1 || sig > _NSIG)
		return;
	int st = p->exit_status;
	struct kernel_siginfo info = { .signo = sig, .pid = p->pid };
	info.code = (st & 0x7f) ? CLD_KILLED : CLD_EXITED;
	info.status = (st & 0x7f) ? (st & 0x7f) : (st >> 8) & 0xff;
	send_sig_process(parent, &info);
}

__noreturn void proc_exit(int wait_status, bool group)
{
	struct thread *t = current_thread();
	struct process *p = t->proc;
	/* This thread's own reference: p->mm is cleared by whichever thread
	 * turns out to be the last, possibly before we get there. */
	struct mm_struct *mm = t->mm;
	bool kicked = false;
	/* The FPU area first: this thread never returns to user mode, and
	 * the last thread's page must be back before its parent is woken
	 * (a parent counting free pages would see it missing). */
	fpu_thread_free(t);

	signal_thread_exit(t);
	u64 f = spin_lock_irqsave(&proc_wq.lock);
	if (!p->exiting && (group || p->nr_threads == 1)) {
		p->exiting = true;
		p->exit_status = wait_status;
	}
	if (group)
		kicked = mark_siblings(p, t);
	bool last = --p->nr_threads == 0;
	spin_unlock_irqrestore(&proc_wq.lock, f);
	if (kicked)
		kick_siblings();

	/* CLONE_CHILD_CLEARTID: a joiner waits for this word to become 0. */
	if (t->clear_child_tid && !last) {
		u32 zero = 0;
		if (copy_to_user(t->clear_child_tid, &zero, sizeof(zero)) == 0)
			futex_wake(mm, t->clear_child_tid, 1);
	}

	if (last) {
		files_close_all(p);
		alarm_exit(p);
	}
	/* Off this address space, then drop this thread's reference: the last
	 * one frees the page tables, and no CPU may keep a freed top-level
	 * table loaded (mm/ switches every CPU still holding it away). */
	kthread_unuse_mm(mm);

	if (last) {
		f = spin_lock_irqsave(&proc_wq.lock);
		struct process *parent = p->orphan ? NULL : p->parent;
		p->mm = NULL;
		/* Orphan the children; zombies among them are freed now. */
		for (u32 i = 0; i < MAX_PROCS; i++) {
			struct process *c = &proc_table[i];
			if (c->state == PROC_FREE || c->parent != p)
				continue;
			c->parent = NULL;
			c->orphan = true;
			if (c->state == PROC_ZOMBIE)
				c->state = PROC_FREE;
		}
		p->state = p->orphan ? PROC_FREE : PROC_ZOMBIE;
		spin_unlock_irqrestore(&proc_wq.lock, f);
		if (parent)
			notify_parent(parent, p);
		wake_up_all(&proc_wq);
	}
	t->proc = NULL;
	thread_exit();
}

__noreturn void proc_kill_current(int signal)
{
	proc_exit(W_SIGNALED(signal), true);
}

void user_return_work(void)
{
	/* Back to user mode: no RCU read-side section can be open here. */
	rcu_note_quiescent();
	sched_check_resched();
	struct thread *t = current_thread();
	if (!t->proc)
		return;
	if (READ_ONCE(t->killed)) {
		local_irq_enable();
		proc_exit(0, false);    /* the status was set by the killer */
	}
	struct trap_frame *tf = user_frame(t);
	s64 ret = (s64)tf->rax;
	bool restart = tf->vector == SYSCALL_VECTOR && ret >= -ERESTARTNOHAND && ret <= -ERESTARTSYS;
	if (signal_pending(t) || restart || signal_restore_pending(t)) {
		/* Writing a frame may fault, and a fault may sleep: with
		 * interrupts on, then as the caller had them. */
		u64 f = local_irq_save();
		local_irq_enable();
		do_signal(tf);
		local_irq_restore(f);
	}
}

/* ---- wait ---- */

static bool wait_matches(struct process *c, struct process *parent, long pid, u64 options)
{
	if (c->state == PROC_FREE || c->parent != parent)
		return false;
	if (!(options & __WALL)) {
		bool clone_child = c->exit_signal != SIGCHLD;
		if (clone_child != !!(options & __WCLONE))
			return false;
	}
	if (pid > 0)
		return c->pid == (u64)pid;
	if (pid == -1)
		return true;
	if (pid == 0)
		return c->pgid == parent->pgid;
	return c->pgid == (u64)-pid;
}

/* Find and reap a zombie. Returns its pid (status in *status), 0 when
 * matching children exist but none has exited, -ECHILD when none exist. */
static long reap_one(struct process *parent, long pid, u64 options, int *status)
{
	bool any = false;
	for (u32 i = 0; i < MAX_PROCS; i++) {
		struct process *c = &proc_table[i];
		if (!wait_matches(c, parent, pid, options))
			continue;
		any = true;
		if (c->state == PROC_ZOMBIE) {
			*status = c->exit_status;
			c->state = PROC_FREE;
			return c->pid;
		}
	}
	return any ? 0 : -ECHILD;
}

static long sys_wait4(u64 upid, u64 ustatus, u64 options, u64 urusage)
{
	long pid = (s32)upid;
	if (options & ~(u64)(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE))
		return -EINVAL;
	if (pid == (long)(s32)0x80000000)
		return -ESRCH;
	struct process *me = current_proc();
	struct thread *t = current_thread();
	int status = 0;
	long r;
	u64 f = spin_lock_irqsave(&proc_wq.lock);
	for (;;) {
		r = reap_one(me, pid, options, &status);
		if (r != 0 || (options & WNOHANG))
			break;
		if (READ_ONCE(t->killed)) {
			r = -EINTR;
			break;
		}
		if (signal_pending(t)) {
			r = -ERESTARTSYS;       /* SA_RESTART restarts it */
			break;
		}
		sleep_on(&proc_wq);
	}
	spin_unlock_irqrestore(&proc_wq.lock, f);
	if (r > 0) {
		if (ustatus && copy_to_user(ustatus, &status, sizeof(status)))
			return -EFAULT;
		if (urusage) {
			u8 zero[144];   /* struct rusage: not accounted, all zero */
			memset(zero, 0, sizeof(zero));
			if (copy_to_user(urusage, zero, sizeof(zero)))
				return -EFAULT;
		}
	}
	return r;
}

struct process *proc_find(u32 pid, bool zombie_too)
{
	struct process *found = NULL;
	u64 f = spin_lock_irqsave(&proc_wq.lock);
	for (u32 i = 0; i < MAX_PROCS; i++) {
		enum proc_state st = proc_table[i].state;
		if (proc_table[i].pid == pid &&
		    (st == PROC_ALIVE || (zombie_too && st == PROC_ZOMBIE)))
			found = &proc_table[i];
	}
	spin_unlock_irqrestore(&proc_wq.lock, f);
	return found;
}

static bool pid_found(u32 pid, bool zombie_too)
{
	return proc_find(pid, zombie_too) != NULL;
}

bool proc_pid_alive(u32 pid)
{
	return pid_found(pid, false);
}

bool proc_pid_exists(u32 pid)
{
	return pid_found(pid, true);
}

struct mm_struct *proc_get_mm(u32 pid)
{
	struct mm_struct *mm = NULL;
	u64 f = spin_lock_irqsave(&proc_wq.lock);
	for (u32 i = 0; i < MAX_PROCS; i++) {
		struct process *p = &proc_table[i];
		if (p->state == PROC_ALIVE && p->pid == pid && p->mm && !p->exiting) {
			mm = p->mm;
			mm_get(mm);     /* mm_get is an atomic increment: fine here */
		}
	}
	spin_unlock_irqrestore(&proc_wq.lock, f);
	return mm;
}

int proc_wait(u32 pid)
{
	int status = 0;
	u64 f = spin_lock_irqsave(&proc_wq.lock);
	for (;;) {
		if (reap_one(NULL, pid, __WALL, &status) > 0)
			break;
		sleep_on(&proc_wq);
	}
	spin_unlock_irqrestore(&proc_wq.lock, f);
	return status;
}

/* ---- clone and fork ---- */

static long do_fork(u64 flags, u64 newsp, u64 tls, u64 ptid, u64 ctid)
{
	struct thread *t = current_thread();
	struct process *parent = t->proc;
	struct process *child = proc_alloc(parent, parent->name);
	if (!child)
		return -EAGAIN;
	child->exit_signal = (int)(flags & 0xff);
	int err;
	if (flags & CLONE_VM) {
		mm_get(parent->mm);
		child->mm = parent->mm;
	} else {
		err = mm_fork(parent->mm, &child->mm);
		if (err) {
			child->mm = NULL;
			proc_free_unstarted(child);
			return err;
		}
	}
	signal_fork(child, parent);
	err = files_copy(child, parent);
	if (err) {
		proc_free_unstarted(child);
		return err;
	}
	struct trap_frame tf = *user_frame(t);
	tf.rax = 0;
	if (newsp)
		tf.rsp = newsp;
	u64 fs = (flags & CLONE_SETTLS) ? tls : t->fs_base;
	long pid = add_thread(child, &tf, fs, NULL,
			      (flags & CLONE_PARENT_SETTID) ? ptid : 0,
			      (flags & CLONE_CHILD_CLEARTID) ? ctid : 0,
			      (flags & CLONE_CHILD_SETTID) ? ctid : 0);
	if (pid < 0)
		proc_free_unstarted(child);
	return pid;
}

static long sys_clone(u64 flags, u64 newsp, u64 ptid, u64 ctid, u64 tls)
{
	/* Linux's checks, in Linux's order (kernel/fork.c copy_process). */
	if ((flags & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS))
		return -EINVAL;
	if ((flags & (CLONE_NEWUSER | CLONE_FS)) == (CLONE_NEWUSER | CLONE_FS))
		return -EINVAL;
	if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
		return -EINVAL;
	if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
		return -EINVAL;
	if (flags & (CLONE_UNSUPPORTED | CLONE_PIDFD | CLONE_VFORK))
		return -EINVAL;         /* not implemented (docs/syscalls.md) */
	if ((flags & CLONE_SETTLS) && tls >= USER_SPACE_END)
		return -EPERM;
	if (!(flags & CLONE_THREAD))
		return do_fork(flags, newsp, tls, ptid, ctid);

	struct thread *t = current_thread();
	struct process *p = t->proc;
	struct trap_frame tf = *user_frame(t);
	tf.rax = 0;
	if (newsp)
		tf.rsp = newsp;
	u64 fs = (flags & CLONE_SETTLS) ? tls : t->fs_base;
	mm_get(p->mm);          /* one reference per thread (mm.h: users) */
	long tid = add_thread(p, &tf, fs, NULL,
			      (flags & CLONE_PARENT_SETTID) ? ptid : 0,
			      (flags & CLONE_CHILD_CLEARTID) ? ctid : 0,
			      (flags & CLONE_CHILD_SETTID) ? ctid : 0);
	if (tid < 0)
		mm_put(p->mm);
	return tid;
}

static long sys_fork(void)
{
	return do_fork(SIGCHLD, 0, 0, 0, 0);
}

/* ---- small calls ---- */

static long sys_getpid(void) { return current_proc()->pid; }
static long sys_gettid(void) { return current_thread()->tid; }
static long sys_getppid(void)
{
	struct process *parent = current_proc()->parent;
	return parent ? parent->pid : 0;
}

static long sys_set_tid_address(u64 tidptr)
{
	current_thread()->clear_child_tid = tidptr;
	return current_thread()->tid;
}

static long sys_exit(u64 code) { proc_exit(W_EXITCODE((int)code), false); }
static long sys_exit_group(u64 code) { proc_exit(W_EXITCODE((int)code), true); }

void proc_kill_group(struct process *p, int sig)
{
	bool kick = false;
	u64 f = spin_lock_irqsave(&proc_wq.lock);
	if (p->state == PROC_ALIVE && !p->exiting) {
		p->exiting = true;
		p->exit_status = W_SIGNALED(sig);
		kick = mark_siblings(p, NULL);
	}
	spin_unlock_irqrestore(&proc_wq.lock, f);
	if (kick)
		kick_siblings();
}

/* ---- the sibling walk ---- */

struct mark_arg {
	struct process *p;
	struct thread *self;
	bool any;
};

static bool mark_one(struct thread *t, void *arg)
{
	struct mark_arg *m = arg;
	if (t->proc == m->p && t != m->self && t->state != THREAD_DEAD) {
		WRITE_ONCE(t->killed, true);
		m->any = true;
	}
	return true;
}

static bool mark_siblings(struct process *p, struct thread *self)
{
	struct mark_arg m = { p, self, false };
	sched_for_each_thread(mark_one, &m);
	return m.any;
}

void proc_init(void)
{
	waitq_init(&proc_wq, "proc");
	futex_init();
	syscall_register(SYS_getpid, (void (*)(void))sys_getpid);
	syscall_register(SYS_gettid, (void (*)(void))sys_gettid);
	syscall_register(110 /* getppid */, (void (*)(void))sys_getppid);
	syscall_register(SYS_set_tid_address, (void (*)(void))sys_set_tid_address);
	syscall_register(SYS_exit, (void (*)(void))sys_exit);
	syscall_register(SYS_exit_group, (void (*)(void))sys_exit_group);
	syscall_register(SYS_wait4, (void (*)(void))sys_wait4);
	syscall_register(SYS_clone, (void (*)(void))sys_clone);
	syscall_register(SYS_fork, (void (*)(void))sys_fork);
	signal_init();
	misc_syscalls_init();
	process_vm_init();
	time_syscalls_init();
	mm_syscalls_init();
	stat_syscalls_init();
	readlink_syscalls_init();
	rlimit_syscalls_init();
	random_syscalls_init();
	iov_syscalls_init();
	enosys_syscalls_init();
}
