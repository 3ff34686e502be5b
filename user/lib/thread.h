/* SPDX-License-Identifier: MIT */
/* user/lib/thread.h - threads on clone(2), joined through futex(2).
 *
 * Every thread, the first one included, has a thread block (struct uthread)
 * and the FS base register points at it (arch_prctl(ARCH_SET_FS) for the
 * first thread, CLONE_SETTLS for the others). Its first word points at
 * itself, as the x86_64 TLS ABI asks, so %fs:0 finds the block; errno lives
 * in it.
 *
 * thread_create() maps a stack (with a PROT_NONE guard page below it) and
 * calls clone with CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|
 * CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID: the
 * kernel stores the new tid in the block before clone returns, and when the
 * thread exits it writes 0 there and does a FUTEX_WAKE on it.
 * thread_join() sleeps with FUTEX_WAIT until that word is 0, then frees the
 * stack, which is safe: the kernel clears the word after the thread has left
 * user mode for good.
 *
 * No locking inside: a struct uthread belongs to the thread that created it.
 */
#ifndef USER_THREAD_H
#define USER_THREAD_H

#include "types.h"

struct uthread {
	struct uthread *self;	/* %fs:0, the TLS ABI's thread pointer */
	int err;		/* errno of this thread */
	int tid;		/* set by the kernel; 0 once the thread is gone */
	long (*fn)(void *arg);
	void *arg;
	long result;		/* fn's return value */
	int cpu;		/* CPU to pin to before fn runs, or -1 */
	void *map;		/* the stack mapping (and this block) */
	size_t map_len;
};

#define THREAD_STACK_SIZE (64 * 1024)

/* Start fn(arg) in a new thread; with cpu >= 0 the thread first pins itself
 * to that CPU (and records a failure in result = -1000 - errno).
 * Returns the thread block, or NULL with errno set. */
struct uthread *thread_create(long (*fn)(void *), void *arg, int cpu);
/* Wait for the thread to end; returns fn's result and frees the thread. */
long thread_join(struct uthread *t);
/* This thread's block. */
struct uthread *thread_self(void);

/* fork(2) as clone(SIGCHLD) onto another stack: the child process runs
 * fn(arg) on [stack, stack + len) and exits with its result; it never
 * returns into the caller. The caller maps the stack and must not touch it
 * while the child runs (it may reuse it for the next child): so the
 * parent's own writes after the fork (to its stack above all) land in no
 * page the child is using, even if a broken kernel left them shared.
 * Returns the child's pid, or -1 with errno. */
pid_t fork_call(long (*fn)(void *), void *arg, void *stack, size_t len);

/* A spinlock for the rare shared structure (malloc). */
typedef struct {
	volatile int locked;
} spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

#endif
