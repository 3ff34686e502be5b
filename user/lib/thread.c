/* SPDX-License-Identifier: MIT */
/* user/lib/thread.c - thread blocks, errno, threads and process start. */
#include "thread.h"
#include "sys.h"
#include "string.h"
#include "syscall.h"

/* The first thread's block; the others live at the top of their stacks. */
static struct uthread main_thread;

/* crt0.S */
long __thread_clone(unsigned long flags, void *stack, int *ptid, int *ctid,
		    unsigned long tls);

struct uthread *thread_self(void)
{
	struct uthread *t;

	__asm__("mov %%fs:0, %0" : "=r"(t));
	return t;
}

int *__errno_location(void)
{
	return &thread_self()->err;
}

int main(int argc, char **argv);

/* Called by _start with the initial stack pointer (argc, argv..., envp...). */
__noreturn void __libc_start(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);

	main_thread.self = &main_thread;
	main_thread.cpu = -1;
	if (raw_syscall2(__NR_arch_prctl, ARCH_SET_FS, (long)&main_thread) < 0) {
		static const char msg[] = "libc: arch_prctl(ARCH_SET_FS) failed\n";

		raw_syscall3(__NR_write, 2, (long)msg, sizeof(msg) - 1);
		exit(127);
	}
	main_thread.tid = (int)raw_syscall0(__NR_gettid);
	exit(main(argc, argv));
}

/* First C code of a new thread, on its own stack. */
static long thread_start(void *arg)
{
	struct uthread *t = arg;

	if (t->cpu >= 0 && pin_to_cpu(t->cpu) < 0) {
		t->result = -1000 - errno;
		return 0;
	}
	t->result = t->fn(t->arg);
	return 0;
}

struct uthread *thread_create(long (*fn)(void *), void *arg, int cpu)
{
	const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES |
		CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
		CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	/* Layout, low to high: guard page, stack, thread block. */
	size_t len = PAGE_SIZE + THREAD_STACK_SIZE + PAGE_SIZE;
	u8 *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uthread *t;
	unsigned long *sp;
	long tid;

	if (map == MAP_FAILED)
		return NULL;
	if (mprotect(map, PAGE_SIZE, PROT_NONE) < 0) {
		munmap(map, len);
		return NULL;
	}
	t = (struct uthread *)(map + len - PAGE_SIZE);
	memset(t, 0, sizeof(*t));
	t->self = t;
	t->fn = fn;
	t->arg = arg;
	t->cpu = cpu;
	t->map = map;
	t->map_len = len;

	/* __thread_clone pops the entry and its argument; after the two pops
	 * %rsp is t's address, 16-byte aligned, as a call requires. */
	sp = (unsigned long *)t - 2;
	sp[0] = (unsigned long)thread_start;
	sp[1] = (unsigned long)t;
	tid = __thread_clone(flags, sp, &t->tid, &t->tid, (unsigned long)t);
	if (raw_is_error(tid)) {
		munmap(map, len);
		errno = (int)-tid;
		return NULL;
	}
	return t;
}

pid_t fork_call(long (*fn)(void *), void *arg, void *stack, size_t len)
{
	/* The entry and its argument for __thread_clone to pop; %rsp is then
	 * the (16-byte aligned) top of the stack. The child ends with exit(2),
	 * which in a one-thread process ends the process. */
	unsigned long *sp = (unsigned long *)(((unsigned long)stack + len) & ~15UL) - 2;
	long pid;

	sp[0] = (unsigned long)fn;
	sp[1] = (unsigned long)arg;
	pid = __thread_clone(SIGCHLD, sp, NULL, NULL, 0);
	if (raw_is_error(pid)) {
		errno = (int)-pid;
		return -1;
	}
	return (pid_t)pid;
}

long thread_join(struct uthread *t)
{
	long result;

	for (;;) {
		int tid = READ_ONCE(t->tid);

		if (tid == 0)
			break;
		/* Sleeps only while the word still holds tid; EAGAIN (it
		 * changed) and EINTR just loop. The raw call leaves errno
		 * alone: joining must not change the caller's errno. */
		raw_syscall6(__NR_futex, (long)&t->tid, FUTEX_WAIT, tid, 0, 0, 0);
	}
	result = t->result;
	munmap(t->map, t->map_len);
	return result;
}

void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (READ_ONCE(l->locked))
			__asm__ volatile("pause");
}

void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
