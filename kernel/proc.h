/* SPDX-License-Identifier: MIT */
/* kernel/proc.h - processes: a pid, an address space, threads, a parent,
 * an exit status, open files.
 *
 * Model (docs/syscalls.md):
 *   - A fixed table of MAX_PROCS processes. A process owns one address
 *     space (mm, shared by its threads), an fd table and its wait status.
 *     Its pid is the tid of its first thread, as on Linux, so getpid() ==
 *     gettid() in the main thread.
 *   - Threads are scheduler threads (kernel/sched.h) with t->proc set; each
 *     has its user registers in a struct trap_frame at the top of its kernel
 *     stack (user_frame()). User threads are "detached": the scheduler frees
 *     a dead one's slot as soon as it is off its CPU.
 *   - The last thread to exit releases the address space and the files and
 *     turns the process into a zombie; its parent's wait4() reaps it. A
 *     process started by the kernel (run=) has no parent: proc_wait() reaps
 *     it. Children of an exiting process are orphaned and reap themselves.
 *   - exit_group() and fatal faults kill the whole process: every sibling
 *     thread gets t->killed, blocked ones are woken and running ones get an
 *     IPI; each exits on its way back to user mode (user_return_work()).
 *
 * Locking: proc_lock (the lock of the wait queue parents sleep on) protects
 * the process table: state, parent links, nr_threads, exit status. It is an
 * irq-safe spinlock: never sleep or touch user memory under it. A process's
 * fd table has its own sleeping lock (files_sem), held only to look up or
 * change a slot, never across a file operation (kernel/file.h).
 */
#ifndef PAGODA_PROC_H
#define PAGODA_PROC_H

#include "kernel/types.h"
#include "kernel/spinlock.h"
#include "kernel/sched.h"
#include "kernel/rwsem.h"
#include "kernel/file.h"

#define MAX_PROCS 64
#define MAX_FILES 16

/* Wait status encoding (Linux's): exit code in bits 8..15, or the signal
 * number in bits 0..6 for a death by signal. */
#define W_EXITCODE(code) (((code) & 0xff) << 8)
#define W_SIGNALED(sig) ((sig) & 0x7f)

enum proc_state { PROC_FREE = 0, PROC_ALIVE, PROC_ZOMBIE };

struct process {
	enum proc_state state;
	u32 pid;
	u32 pgid;
	struct process *parent; /* NULL: started by the kernel, or orphaned */
	bool orphan;            /* nobody will wait for it: free it at exit */
	struct mm_struct *mm;
	u32 nr_threads;         /* threads not yet exited */
	bool exiting;           /* exit_group or a fatal signal under way */
	int exit_status;        /* wait status, valid once exiting or a zombie */
	int exit_signal;        /* clone's low byte: SIGCHLD for fork */
	char name[16];
	void *exec_stack;       /* exec: the initial stack, until the first thread copies it */
	struct rwsem files_sem;  /* the fd table (kernel/file.h) */
	struct file *files[MAX_FILES];  /* open files, NULL: a free fd */
	u32 fd_flags[MAX_FILES];        /* FD_CLOEXEC */
	spinlock_t siglock;             /* the signal state (kernel/signal.h) */
	struct k_sigaction sig_action[_NSIG];   /* sig_action[sig - 1] */
	struct sigpending shared_pending;       /* process-directed signals */
};

void proc_init(void);           /* registers the process system calls */

static inline struct process *current_proc(void) { return current_thread()->proc; }

/* The user registers of a user thread (the top of its kernel stack). */
struct trap_frame;
struct trap_frame *user_frame(struct thread *t);

/* A new process with no threads yet (parent may be NULL); NULL if the table
 * is full. Its pid is assigned with its first thread. */
struct process *proc_alloc(struct process *parent, const char *name);
/* Give up a process that never got a thread (exec failure). */
void proc_free_unstarted(struct process *p);

/* Create a user thread in p that starts with the registers *tf: entry (if
 * not NULL) runs first in the new thread's context, before user mode (exec
 * uses it to build the initial stack in the new address space). Returns the
 * new tid or -errno. fs_base is the thread's TLS base; set_ptid (if not 0)
 * receives the tid in the caller's address space before the thread runs;
 * clear_ctid is its CLONE_CHILD_CLEARTID word. */
long proc_add_thread(struct process *p, const struct trap_frame *tf, u64 fs_base,
		     void (*entry)(void), u64 set_ptid, u64 clear_ctid);

/* The process with this pid, live (or a zombie, with zombie_too), or NULL.
 * Process slots are never freed: a caller that uses it after the table's
 * lock is released re-checks p->state and p->pid under p->siglock. */
struct process *proc_find(u32 pid, bool zombie_too);
/* Is there a live (not zombie) process with this pid? */
bool proc_pid_alive(u32 pid);
/* Is there a process with this pid, live or a zombie not yet reaped? */
bool proc_pid_exists(u32 pid);
/* A reference to a live process's address space (mm_put it), or NULL. */
struct mm_struct *proc_get_mm(u32 pid);
/* Wait for a process started by the kernel (no parent) and reap it.
 * Returns its wait status. */
int proc_wait(u32 pid);

/* End the calling thread. group: the whole process (exit_group or a fatal
 * signal) with the given wait status. */
__noreturn void proc_exit(int wait_status, bool group);
/* A fatal signal for p (SIGKILL, or a default action that terminates):
 * every thread is marked killed and woken, as Linux's complete_signal
 * does, so none stays asleep where a signal alone would not wake it. */
void proc_kill_group(struct process *p, int signal);
/* Kill the current process for a bad access (report already printed). */
__noreturn void proc_kill_current(int signal);

/* On the way back to user mode (syscall return, interrupt return): switch
 * if the time slice ran out; exit if the process is being killed. */
void user_return_work(void);

/* Enter user mode with the registers *tf (never returns). usermode.asm. */
__noreturn void enter_user(struct trap_frame *tf);

/* Files (kernel/file.c). */
void files_init(struct process *p);             /* fds 0..2: console */
int files_copy(struct process *dst, struct process *src);
void files_close_all(struct process *p);
void misc_syscalls_init(void);
/* kernel/procfs.c: open a /proc file (a new file with one reference), or
 * NULL with *err = -ENOENT (unknown name) or -ENOMEM. */
struct file *procfs_open(const char *path, long *err);
/* kernel/futex.c */
void futex_init(void);
long futex_wake(struct mm_struct *mm, u64 uaddr, int nr);
void futex_wake_all_waiters(void);      /* a process is being killed */
/* kernel/exec.c */
long exec_spawn(const char *module_name);
bool boot_module_exists(const char *name);
int run_user_programs(const char *list);

#endif
