/* SPDX-License-Identifier: MIT */
/* signal_test - signals as Linux delivers them (docs/signals.md).
 *
 *   - Faults become signals with Linux's siginfo: SIGSEGV with SEGV_MAPERR
 *     outside every mapping and SEGV_ACCERR inside one that forbids the
 *     access, si_addr the exact address; the ucontext has trapno, err and
 *     cr2. A handler that mprotects (or maps) the page and returns makes
 *     the access complete: mprotect-based dirty tracking over many pages.
 *   - A handler may change the registers in uc_mcontext (skip the
 *     instruction, set rax): rt_sigreturn applies them. SIGILL (ud2),
 *     SIGFPE (divide by zero) and SIGTRAP (int3) carry Linux's codes.
 *   - sigaltstack with SA_ONSTACK handles a thread's stack overflow.
 *   - Masks: a blocked signal stays pending and is delivered on unblock;
 *     the handler runs with its signal blocked and rt_sigreturn restores
 *     the mask; SA_NODEFER, SA_RESETHAND; SA_RESTORER is required.
 *   - rt_sigsuspend and ppoll wait with their own mask: a signal blocked
 *     outside is taken inside, one blocked inside waits for the return.
 *   - kill (process-directed: a thread that does not block it takes it),
 *     tgkill (one thread); a signal ends a futex wait with EINTR, or
 *     restarts it with SA_RESTART; nanosleep returns EINTR; so does a
 *     blocking read of a pipe (restarted with SA_RESTART) or of a
 *     userfaultfd; a handler runs while its thread waits in a userfaultfd
 *     fault.
 *   - Deaths seen through wait4: SIGSEGV, SIGKILL, SIGTERM, a blocked or
 *     ignored fault signal, a fault inside its own handler, a frame that
 *     cannot be written. Fork inherits actions and mask, not pending.
 *   - alarm: what it returns (the seconds left, rounded), SIGALRM with
 *     SI_KERNEL never before its second, its default action kills; a fork
 *     child has none; it ends with its process.
 *   - Threads on different CPUs take faults and handle them at once.
 *
 * Every case prints a line that does not depend on timing or CPU count, so
 * the output is the same on Linux (tools/linux-ref).
 */
#include "libc.h"
#include "uffd.h"

static volatile int hits;
static volatile int last_signo, last_code;
static void *volatile last_addr;
static volatile unsigned long last_trapno, last_err, last_cr2;

static int install(int sig, void (*fn)(int, siginfo_t *, void *), unsigned long flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	return sigaction(sig, &sa, NULL);
}

/* Every case starts with nothing blocked, so that one case's broken mask
 * (the neg-signal-sigreturn-mask control) fails that case, not the rest. */
static void fresh_mask(void)
{
	sigset_t none = 0;

	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Back to SIG_DFL, through SIG_IGN: that discards a pending instance a
 * failed case may have left, which would otherwise kill the program. */
static void set_default(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(sig, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
}

static void record(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	hits++;
	last_signo = sig;
	last_code = si->si_code;
	last_addr = si->si_addr;
	last_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	last_err = uc->uc_mcontext.gregs[REG_ERR];
	last_cr2 = uc->uc_mcontext.gregs[REG_CR2];
}

static u8 *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	return p;
}

/* Wait for a child, through EINTR (a handler may run meanwhile). */
static int wait_status(pid_t pid)
{
	int status = 0;

	while (wait4(pid, &status, 0, NULL) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* ---- faults fixed by the handler ---- */

static u8 *hole;                /* an unmapped page between two PROT_NONE pages */

static void map_hole(int sig, siginfo_t *si, void *ctx)
{
	record(sig, si, ctx);
	u8 *page = (u8 *)((unsigned long)si->si_addr & ~(PAGE_SIZE - 1));
	if (mmap(page, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		exit(90);
}

static void case_maperr(void)
{
	fresh_mask();
	hits = 0;
	install(SIGSEGV, map_hole, 0);
	volatile u8 *p = hole + 123;
	*p = 7;
	ktap_ok(hits == 1 && last_signo == SIGSEGV && last_code == SEGV_MAPERR &&
		last_addr == (void *)(hole + 123) && *p == 7,
		"SIGSEGV outside every mapping: SEGV_MAPERR, si_addr exact; the handler maps the page and the write completes");
	ktap_ok(last_trapno == 14 && (last_err & 6) == 6 && last_cr2 == (unsigned long)(hole + 123),
		"uc_mcontext has trapno 14, err (user, write) and cr2");
	set_default(SIGSEGV);
	munmap(hole, PAGE_SIZE);
}

#define TRACK_PAGES 64
static u8 *tracked;
static volatile u8 dirty[TRACK_PAGES];

static void track_write(int sig, siginfo_t *si, void *ctx)
{
	record(sig, si, ctx);
	unsigned long i = ((unsigned long)si->si_addr - (unsigned long)tracked) / PAGE_SIZE;
	if (i >= TRACK_PAGES || si->si_code != SEGV_ACCERR)
		exit(91);
	dirty[i]++;
	if (mprotect(tracked + i * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE))
		exit(92);
}

static void case_dirty_tracking(void)
{
	fresh_mask();
	tracked = map(TRACK_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE);
	memset(tracked, 0, TRACK_PAGES * PAGE_SIZE);
	/* SA_NODEFER: the handler cannot fault, and a program whose
	 * rt_sigreturn kept SIGSEGV blocked would die here rather than fail
	 * the mask case (neg-signal-sigreturn-mask). */
	install(SIGSEGV, track_write, SA_NODEFER);
	bool ok = true;
	for (int round = 0; round < 3; round++) {
		memset((void *)dirty, 0, sizeof(dirty));
		mprotect(tracked, TRACK_PAGES * PAGE_SIZE, PROT_READ);
		/* Write every third page, twice each, in a scattered order. */
		for (int k = 0; k < TRACK_PAGES; k++) {
			int i = (k * 37 + round) % TRACK_PAGES;
			if (i % 3)
				continue;
			tracked[i * PAGE_SIZE + 5] = (u8)(round + i);
			tracked[i * PAGE_SIZE + 6] = (u8)(round + i);
		}
		for (int i = 0; i < TRACK_PAGES; i++) {
			bool written = i % 3 == 0;
			ok = ok && dirty[i] == (written ? 1 : 0);
			ok = ok && (!written || tracked[i * PAGE_SIZE + 5] == (u8)(round + i));
		}
	}
	ktap_ok(ok && last_code == SEGV_ACCERR,
		"mprotect dirty tracking: one SEGV_ACCERR per written page, the handler mprotects it and the write completes");
	set_default(SIGSEGV);
}

/* ---- handlers that change the registers ---- */

extern char skip_from[], skip_to[], div_from[], div_to[];

static void skip_insn(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	record(sig, si, ctx);
	if (uc->uc_mcontext.gregs[REG_RIP] == (unsigned long)skip_from) {
		uc->uc_mcontext.gregs[REG_RIP] = (unsigned long)skip_to;
		uc->uc_mcontext.gregs[REG_RAX] = 0x5157;
	} else if (uc->uc_mcontext.gregs[REG_RIP] == (unsigned long)div_from) {
		uc->uc_mcontext.gregs[REG_RIP] = (unsigned long)div_to;
		uc->uc_mcontext.gregs[REG_RAX] = 42;
	} else {
		uc->uc_mcontext.gregs[REG_RIP] += 2;    /* ud2 */
	}
}

static void case_skip(void)
{
	unsigned long rax;

	fresh_mask();
	hits = 0;
	install(SIGSEGV, skip_insn, 0);
	__asm__ __volatile__("xor %%eax, %%eax\n"
			     ".globl skip_from\nskip_from:\n\tmovb $1, (%1)\n"
			     ".globl skip_to\nskip_to:\n"
			     : "=&a"(rax) : "r"(hole + PAGE_SIZE) : "memory");
	ktap_ok(hits == 1 && rax == 0x5157 && last_code == SEGV_ACCERR,
		"a handler skips the faulting instruction and sets rax: rt_sigreturn applies both");
	set_default(SIGSEGV);

	hits = 0;
	install(SIGILL, skip_insn, 0);
	__asm__ __volatile__("ud2" ::: "memory");
	ktap_ok(hits == 1 && last_signo == SIGILL && last_code == ILL_ILLOPN && last_trapno == 6,
		"ud2: SIGILL with ILL_ILLOPN, trapno 6; the handler steps over it");
	set_default(SIGILL);

	hits = 0;
	install(SIGFPE, skip_insn, 0);
	__asm__ __volatile__("xor %%edx, %%edx\nmov $1, %%eax\n"
			     ".globl div_from\ndiv_from:\n\tdivl %1\n"
			     ".globl div_to\ndiv_to:\n"
			     : "=&a"(rax) : "r"(0) : "rdx");
	ktap_ok(hits == 1 && last_code == FPE_INTDIV && last_addr == (void *)div_from && rax == 42,
		"divide by zero: SIGFPE with FPE_INTDIV, si_addr the instruction");
	set_default(SIGFPE);

	hits = 0;
	install(SIGTRAP, record, 0);
	__asm__ __volatile__("int3" ::: "memory");
	ktap_ok(hits == 1 && last_code == SI_KERNEL && last_trapno == 3,
		"int3: SIGTRAP with SI_KERNEL, trapno 3, execution goes on after it");
	set_default(SIGTRAP);
}

/* ---- the alternate stack ---- */

static u8 *altstack;
#define ALT_SIZE (64 * 1024)

static void on_alt(int sig, siginfo_t *si, void *ctx)
{
	u8 here;

	(void)sig; (void)ctx;
	bool on = &here > altstack && &here < altstack + ALT_SIZE;
	exit(on && si->si_code == SEGV_ACCERR ? 0 : 3);
}

static volatile int recurse_limit = 1 << 30;   /* never reached: the guard page is */

static int recurse(volatile u8 *prev, int depth)
{
	volatile u8 buf[512];

	buf[0] = (u8)depth;
	buf[511] = prev ? prev[0] : 0;
	if (depth >= recurse_limit)
		return 0;
	return recurse(buf, depth + 1) + buf[511];
}

static long overflow_thread(void *arg)
{
	stack_t ss = { altstack, 0, ALT_SIZE };

	if (sigaltstack(&ss, NULL))
		return 1;
	install(SIGSEGV, on_alt, arg ? SA_ONSTACK : 0);
	return recurse(NULL, 0);
}

/* In a child: a thread overflows its stack into the guard page. */
static int overflow_child(bool onstack)
{
	pid_t pid = fork();

	if (pid == 0) {
		altstack = map(ALT_SIZE, PROT_READ | PROT_WRITE);
		struct uthread *t = thread_create(overflow_thread, onstack ? (void *)1 : NULL, -1);
		if (t)
			thread_join(t);
		exit(4);
	}
	return wait_status(pid);
}

static void case_altstack(void)
{
	fresh_mask();
	int st = overflow_child(true);

	ktap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"a stack overflow is handled on the sigaltstack (SA_ONSTACK)");
	st = overflow_child(false);
	ktap_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
		"without SA_ONSTACK the frame cannot be written: killed by SIGSEGV");

	stack_t ss = { 0, 0, 100 }, old;
	ktap_ok(sigaltstack(&ss, NULL) == -1 && errno == ENOMEM &&
		sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE,
		"sigaltstack: a stack below MINSIGSTKSZ is ENOMEM; none is set (SS_DISABLE)");
}

/* ---- masks ---- */

static volatile int usr1_hits, usr1_blocked_inside, depth, max_depth;

static sigset_t blocked_now(void)
{
	sigset_t cur;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	return cur;
}

static void usr1(int sig, siginfo_t *si, void *ctx)
{
	record(sig, si, ctx);
	usr1_hits++;
	usr1_blocked_inside = (blocked_now() & sigbit(SIGUSR1)) != 0;
}

static void case_masks(void)
{
	sigset_t set = sigbit(SIGUSR1), pend = 0;

	fresh_mask();
	install(SIGUSR1, usr1, 0);
	usr1_hits = 0;
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	raise(SIGUSR1);
	sigpending(&pend);
	int before = usr1_hits;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	ktap_ok(before == 0 && pend == sigbit(SIGUSR1) && usr1_hits == 1,
		"a blocked signal pends (rt_sigpending shows it, raised twice it is pending once) and is delivered on unblock");

	usr1_hits = 0;
	raise(SIGUSR1);
	ktap_ok(usr1_hits == 1 && usr1_blocked_inside && !(blocked_now() & sigbit(SIGUSR1)),
		"the handler runs with its signal blocked; rt_sigreturn restores the mask");
	ktap_ok(last_code == SI_TKILL && last_signo == SIGUSR1,
		"raise (tgkill) gives SI_TKILL");
}

static void nested(int sig, siginfo_t *si, void *ctx)
{
	(void)si; (void)ctx;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (usr1_hits++ == 0)
		raise(sig);
	depth--;
}

static void case_nodefer_resethand(void)
{
	struct sigaction old;

	fresh_mask();
	usr1_hits = depth = max_depth = 0;
	install(SIGUSR2, nested, 0);
	raise(SIGUSR2);
	bool deferred = usr1_hits == 2 && max_depth == 1;
	usr1_hits = depth = max_depth = 0;
	install(SIGUSR2, nested, SA_NODEFER);
	raise(SIGUSR2);
	ktap_ok(deferred && usr1_hits == 2 && max_depth == 2,
		"a signal raised in its own handler waits for it; with SA_NODEFER it nests");

	usr1_hits = 0;
	install(SIGUSR2, usr1, SA_RESETHAND);
	raise(SIGUSR2);
	sigaction(SIGUSR2, NULL, &old);
	ktap_ok(usr1_hits == 1 && old.sa_handler == SIG_DFL && !usr1_blocked_inside,
		"SA_RESETHAND: the action is SIG_DFL after one delivery");
	set_default(SIGUSR2);
}

/* ---- waits under their own mask: rt_sigsuspend, ppoll ---- */

static void pause_ms(long ms);

static void case_wait_masks(void)
{
	sigset_t only_usr1 = sigbit(SIGUSR1), only_usr2 = sigbit(SIGUSR2), none = 0, after = 0;
	struct timespec ts = { 0, 300 * 1000000L };

	fresh_mask();
	install(SIGUSR1, usr1, 0);
	usr1_hits = 0;
	sigprocmask(SIG_BLOCK, &only_usr1, NULL);
	raise(SIGUSR1);
	/* Never wait for a signal that is not there (a broken kernel - the
	 * neg-signal-blocked control - delivers it at once): that would hang. */
	sigset_t pend = 0;
	sigpending(&pend);
	int r = -1, e = 0;
	if (pend & only_usr1) {
		r = sigsuspend(&none);
		e = errno;
	}
	sigprocmask(SIG_BLOCK, NULL, &after);
	ktap_ok(r == -1 && e == EINTR && usr1_hits == 1 && usr1_blocked_inside && after == only_usr1,
		"rt_sigsuspend takes a signal the caller blocks: the handler runs, -1 EINTR, the caller's mask is back");

	usr1_hits = 0;
	raise(SIGUSR1);
	r = ppoll(NULL, 0, &ts, &none);
	e = errno;
	sigprocmask(SIG_BLOCK, NULL, &after);
	ktap_ok(r == -1 && e == EINTR && usr1_hits == 1 && after == only_usr1,
		"ppoll's mask unblocks a pending signal: the handler runs, -1 EINTR, the caller's mask is back");

	/* A child sends SIGUSR2 while ppoll waits with it blocked: the wait
	 * times out (0), and the signal is taken once ppoll has returned and
	 * the caller's mask (nothing blocked) is back. */
	fresh_mask();
	install(SIGUSR2, usr1, 0);
	usr1_hits = 0;
	pid_t pid = fork();
	if (pid == 0) {
		pause_ms(50);
		kill(getppid(), SIGUSR2);
		exit(0);
	}
	ts.tv_nsec = 500 * 1000000L;
	r = ppoll(NULL, 0, &ts, &only_usr2);
	int status = wait_status(pid);
	ktap_ok(r == 0 && status == 0 && usr1_hits == 1,
		"ppoll's mask blocks a signal sent during the wait: it times out (0), the handler runs after it");
	set_default(SIGUSR1);
	set_default(SIGUSR2);
}

/* ---- threads: tgkill, process-directed, EINTR ---- */

static volatile int handler_tid, thread_tid, stop;
static int futex_word;

static void who(int sig, siginfo_t *si, void *ctx)
{
	record(sig, si, ctx);
	handler_tid = gettid();
}

static long spin_thread(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	while (!stop)
		sched_yield();
	return 0;
}

static long futex_thread(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	long r = futex(&futex_word, FUTEX_WAIT, 0, NULL, NULL, 0);
	return r < 0 ? errno : 0;
}

static long sleep_thread(void *arg)
{
	struct timespec ts = { 5, 0 }, rem = { 0, 0 };

	(void)arg;
	thread_tid = gettid();
	long r = nanosleep(&ts, &rem);
	return r < 0 ? errno : 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Join a thread blocked in FUTEX_WAIT on futex_word; if it is still there
 * after 3 s (the signal came before it slept), wake it rather than hang:
 * its result (0) then fails the case. */
static long join_or_wake(struct uthread *t)
{
	for (int i = 0; i < 300 && READ_ONCE(t->tid); i++)
		pause_ms(10);
	futex_word = 1;
	futex(&futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
	long r = thread_join(t);
	futex_word = 0;
	return r;
}

/* Signal a thread until it has left its sleep: a signal that lands before
 * the thread sleeps only runs the handler, the next one then interrupts
 * the sleep. So the case does not depend on how soon the thread sleeps. */
static void kick_until_done(struct uthread *t, int sig)
{
	for (int i = 0; i < 30 && READ_ONCE(t->tid); i++) {
		tgkill(getpid(), thread_tid, sig);
		for (int j = 0; j < 20 && READ_ONCE(t->tid); j++)
			pause_ms(10);
	}
}

static struct uthread *start(long (*fn)(void *))
{
	thread_tid = 0;
	stop = 0;
	struct uthread *t = thread_create(fn, NULL, -1);
	if (!t)
		ktap_bail("thread_create: %s", errno_name(errno));
	while (!thread_tid)
		sched_yield();
	return t;
}

static void case_threads(void)
{
	sigset_t set = sigbit(SIGUSR2);

	fresh_mask();
	install(SIGUSR1, who, SA_RESTART);
	install(SIGUSR2, who, SA_RESTART);
	struct uthread *t = start(spin_thread);
	handler_tid = 0;
	tgkill(getpid(), thread_tid, SIGUSR1);
	while (!handler_tid)
		sched_yield();
	ktap_ok(handler_tid == thread_tid && last_code == SI_TKILL,
		"tgkill to another thread: its handler runs in that thread");
	handler_tid = 0;
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGUSR2);
	while (!handler_tid)
		sched_yield();
	ktap_ok(handler_tid == thread_tid && last_code == SI_USER && last_signo == SIGUSR2,
		"kill to the process: taken by the thread that does not block it (SI_USER)");
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	stop = 1;
	thread_join(t);

	install(SIGUSR1, who, 0);
	t = start(futex_thread);
	kick_until_done(t, SIGUSR1);
	ktap_ok(join_or_wake(t) == EINTR, "a signal ends a futex wait: EINTR without SA_RESTART");

	install(SIGUSR1, who, SA_RESTART);
	handler_tid = 0;
	t = start(futex_thread);
	pause_ms(100);
	tgkill(getpid(), thread_tid, SIGUSR1);
	while (!handler_tid)
		sched_yield();
	pause_ms(50);
	ktap_ok(join_or_wake(t) == 0, "with SA_RESTART the futex wait is restarted after the handler");

	t = start(sleep_thread);
	kick_until_done(t, SIGUSR1);
	ktap_ok(thread_join(t) == EINTR, "nanosleep returns EINTR even with SA_RESTART");
	set_default(SIGUSR1);
	set_default(SIGUSR2);
}

/* ---- blocking reads ---- */

static int read_fd;             /* the blocking_reader's fd */
static u8 read_buf[64];

/* Read read_fd once: 0 with what it read in read_buf[0], or the errno. */
static long blocking_reader(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	long r = read(read_fd, read_buf, sizeof(read_buf));
	return r < 0 ? errno : 0;
}

/* Has the handler run within 2 s? */
static bool handler_ran(void)
{
	for (int i = 0; i < 200 && !handler_tid; i++)
		pause_ms(10);
	return handler_tid != 0;
}

/* A read of an empty pipe sleeps until a writer writes: a signal ends it
 * with EINTR, or restarts it after a SA_RESTART handler. When the kernel
 * does not interrupt the read, the byte written at the end ends it, and
 * the case fails. */
static void case_pipe_read(void)
{
	int p[2];

	fresh_mask();
	pipe(p);
	read_fd = p[0];
	install(SIGUSR1, who, 0);
	struct uthread *t = start(blocking_reader);
	kick_until_done(t, SIGUSR1);
	write(p[1], "x", 1);
	ktap_ok(thread_join(t) == EINTR, "a signal ends a blocking pipe read: EINTR without SA_RESTART");
	read(p[0], read_buf, sizeof(read_buf));         /* the byte, if left */

	install(SIGUSR1, who, SA_RESTART);
	handler_tid = 0;
	read_buf[0] = 0;
	t = start(blocking_reader);
	pause_ms(100);
	tgkill(getpid(), thread_tid, SIGUSR1);
	bool ran = handler_ran();
	write(p[1], "y", 1);
	ktap_ok(ran && thread_join(t) == 0 && read_buf[0] == 'y',
		"with SA_RESTART the handler runs during the read, which goes on and gets the data");
	set_default(SIGUSR1);
	close(p[0]);
	close(p[1]);
}

/* A blocking read of a userfaultfd with nothing to report: a signal ends
 * it with EINTR (pthread_cancel of a handler thread relies on it). When
 * the kernel does not interrupt it, an unmap event ends it. */
static void case_uffd_read(void)
{
	u64 got = 0;

	fresh_mask();
	int fd = uffd_open(UFFD_FEATURE_EVENT_UNMAP, &got);
	u8 *area = map(PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct uffdio_register reg = { { (u64)area, PAGE_SIZE }, UFFDIO_REGISTER_MODE_MISSING, 0 };
	if (ioctl(fd, UFFDIO_REGISTER, &reg) || fcntl(fd, F_SETFL, 0))
		ktap_bail("userfaultfd: %s", errno_name(errno));
	read_fd = fd;
	install(SIGUSR1, who, 0);
	struct uthread *t = start(blocking_reader);
	kick_until_done(t, SIGUSR1);
	/* The unmap event waits until it is read: only for a reader still
	 * there; else the file goes first. */
	if (READ_ONCE(t->tid)) {
		munmap(area, PAGE_SIZE);
		close(fd);
	} else {
		close(fd);
		munmap(area, PAGE_SIZE);
	}
	ktap_ok(thread_join(t) == EINTR, "a signal ends a blocking userfaultfd read: EINTR");
	set_default(SIGUSR1);
}

/* A thread reads a page of a range registered for missing faults, and
 * waits in the fault for the handler: a signal's handler runs meanwhile
 * (the access faults again after it), and the read completes once the
 * page is filled. When the kernel does not let the signal in, the
 * handler only runs after the fill, and the case fails. */
static u8 *uffd_page;

static long faulting_reader(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	return *(volatile u8 *)uffd_page;
}

static void case_uffd_fault_signal(void)
{
	static u8 src[PAGE_SIZE];
	u64 got = 0;

	fresh_mask();
	int fd = uffd_open(0, &got);
	uffd_page = map(PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct uffdio_register reg = { { (u64)uffd_page, PAGE_SIZE }, UFFDIO_REGISTER_MODE_MISSING, 0 };
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		ktap_bail("UFFDIO_REGISTER: %s", errno_name(errno));
	install(SIGUSR1, who, SA_RESTART);
	handler_tid = 0;
	struct uthread *t = start(faulting_reader);
	struct pollfd pfd = { fd, POLLIN, 0 };
	bool queued = poll(&pfd, 1, 3000) == 1;         /* the fault is waiting */
	tgkill(getpid(), thread_tid, SIGUSR1);
	bool ran = handler_ran();
	memset(src, 7, sizeof(src));
	struct uffdio_copy copy = { (u64)uffd_page, (u64)src, PAGE_SIZE, 0, 0 };
	ioctl(fd, UFFDIO_COPY, &copy);
	long r = thread_join(t);
	if (!ktap_ok(queued && ran && r == 7,
		     "a signal's handler runs while a thread waits in a userfaultfd fault; the "
		     "access completes after the fill"))
		ktap_diag("fault queued %d, handler ran %d, read %ld", queued, ran, r);
	set_default(SIGUSR1);
	close(fd);
	munmap(uffd_page, PAGE_SIZE);
}

/* ---- deaths seen by the parent ---- */

static void fault_in_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)sig; (void)si; (void)ctx;
	*(volatile u8 *)hole = 1;       /* SIGSEGV again, blocked now */
}

enum death { D_SEGV, D_TERM, D_KILL, D_SEGV_BLOCKED, D_SEGV_IGNORED, D_NESTED, D_BADSTACK,
	     D_NORESTORER, D_IGNORED_DEFAULT };

static void die(enum death how)
{
	sigset_t set = sigbit(SIGSEGV);
	struct sigaction sa;
	stack_t ss = { hole, 0, PAGE_SIZE };

	switch (how) {
	case D_SEGV: *(volatile u8 *)hole = 1; break;
	case D_TERM: raise(SIGTERM); break;
	case D_KILL: pause_ms(10000); break;
	case D_SEGV_BLOCKED:
		sigprocmask(SIG_BLOCK, &set, NULL);
		*(volatile u8 *)hole = 1;
		break;
	case D_SEGV_IGNORED:
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGSEGV, &sa, NULL);
		*(volatile u8 *)hole = 1;
		break;
	case D_NESTED:
		install(SIGSEGV, fault_in_handler, 0);
		*(volatile u8 *)hole = 1;
		break;
	case D_BADSTACK:
		sigaltstack(&ss, NULL);
		install(SIGUSR1, usr1, SA_ONSTACK);
		raise(SIGUSR1);
		break;
	case D_NORESTORER:
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = usr1;
		sa.sa_flags = SA_SIGINFO;
		rt_sigaction(SIGUSR1, &sa, NULL);
		raise(SIGUSR1);
		break;
	case D_IGNORED_DEFAULT:
		raise(SIGCHLD);
		raise(SIGURG);
		raise(SIGWINCH);
		exit(0);
	}
	exit(5);
}

static void case_deaths(void)
{
	static const struct { enum death how; int sig; const char *what; } cases[] = {
		{ D_SEGV, SIGSEGV, "a fault without a handler" },
		{ D_TERM, SIGTERM, "SIGTERM raised" },
		{ D_KILL, SIGKILL, "SIGKILL from the parent during a sleep" },
		{ D_SEGV_BLOCKED, SIGSEGV, "a fault with SIGSEGV blocked" },
		{ D_SEGV_IGNORED, SIGSEGV, "a fault with SIGSEGV ignored" },
		{ D_NESTED, SIGSEGV, "a fault inside the SIGSEGV handler" },
		{ D_BADSTACK, SIGSEGV, "a frame on an unmapped alternate stack" },
		{ D_NORESTORER, SIGSEGV, "a handler without SA_RESTORER" },
		{ D_IGNORED_DEFAULT, 0, "SIGCHLD, SIGURG, SIGWINCH (default: ignore)" },
	};

	fresh_mask();
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		pid_t pid = fork();

		if (pid == 0)
			die(cases[i].how);
		if (cases[i].how == D_KILL) {
			pause_ms(50);
			kill(pid, SIGKILL);
		}
		int st = wait_status(pid);
		bool ok = cases[i].sig ? WIFSIGNALED(st) && WTERMSIG(st) == cases[i].sig &&
					 !(st & 0x80) : st == 0;
		if (!ktap_ok(ok, "%s: wait4 status %s %d", cases[i].what,
			     cases[i].sig ? "WTERMSIG" : "exit", cases[i].sig))
			ktap_diag("status 0x%x", st);
	}
}

/* ---- alarm ---- */

static volatile int alrm_hits, alrm_code;

static void on_alrm(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	alrm_hits++;
	alrm_code = sig == SIGALRM ? si->si_code : -1;
}

/* A child sets an alarm and exits at once; the next child (which takes
 * the freed process slot) sleeps past that deadline: the alarm ended with
 * its process and reaches nobody else. */
static bool alarm_ends_with_process(void)
{
	pid_t a = fork();
	if (a == 0) {
		alarm(1);
		exit(0);
	}
	int sa = wait_status(a);
	pid_t b = fork();
	if (b == 0) {
		pause_ms(1500);
		exit(0);
	}
	int sb = wait_status(b);
	if (sa || sb)
		ktap_diag("status 0x%x, then 0x%x", sa, sb);
	return sa == 0 && sb == 0;
}

static void case_alarm(void)
{
	sigset_t only_alrm = sigbit(SIGALRM), none = 0;
	struct timespec limit = { 3, 0 };

	fresh_mask();
	unsigned int unset = alarm(0), first = alarm(100), left = alarm(0), after = alarm(0);
	ktap_ok(unset == 0 && first == 0 && left == 100 && after == 0,
		"alarm: 0 when none is set; replaced, the seconds left (100); alarm(0) cancels");

	/* Blocked until the wait, so it cannot come before it; the wait ends
	 * after 3 s if it never comes. */
	install(SIGALRM, on_alrm, 0);
	alrm_hits = 0;
	sigprocmask(SIG_BLOCK, &only_alrm, NULL);
	u64 t0 = now_ns();
	alarm(1);
	int r = ppoll(NULL, 0, &limit, &none);
	int e = errno;
	u64 waited = now_ns() - t0;
	fresh_mask();
	if (!ktap_ok(r == -1 && e == EINTR && alrm_hits == 1 && alrm_code == SI_KERNEL &&
		     waited >= 1000000000UL,
		     "alarm(1): SIGALRM (SI_KERNEL) ends a wait, never before the second"))
		ktap_diag("ppoll %d %s, %d hits, code %d, %lu ns", r, errno_name(e), alrm_hits,
			  alrm_code, (unsigned long)waited);
	set_default(SIGALRM);

	pid_t pid = fork();
	if (pid == 0) {
		alarm(1);
		pause_ms(3000);
		exit(0);
	}
	int st = wait_status(pid);
	if (!ktap_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM,
		     "SIGALRM's default action: the process dies of it"))
		ktap_diag("status 0x%x", st);

	alarm(100);
	pid = fork();
	if (pid == 0)
		exit(alarm(0) == 0 ? 0 : 1);
	st = wait_status(pid);
	ktap_ok(st == 0 && alarm(0) == 100, "fork: the child has no alarm; the parent keeps its own");

	ktap_ok(alarm_ends_with_process(),
		"an alarm ends with its process: the next process sleeps past its deadline");
}

/* ---- fork ---- */

static volatile int chld_hits, chld_pid, chld_code, chld_status;

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
	(void)sig; (void)ctx;
	chld_hits++;
	chld_pid = si->si_pid;
	chld_code = si->si_code;
	chld_status = si->si_status;
}

static void case_fork(void)
{
	sigset_t set = sigbit(SIGUSR2), pend = 0;

	fresh_mask();
	install(SIGUSR1, usr1, 0);
	install(SIGUSR2, usr1, 0);
	install(SIGCHLD, on_chld, SA_RESTART);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR2);
	chld_hits = 0;
	pid_t pid = fork();

	if (pid == 0) {
		usr1_hits = 0;
		sigpending(&pend);
		raise(SIGUSR1);
		exit(pend == 0 && usr1_hits == 1 && blocked_now() == sigbit(SIGUSR2) ? 7 : 8);
	}
	int st = wait_status(pid);
	ktap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 7,
		"fork: the child inherits the handlers and the mask, not the pending signals");
	ktap_ok(chld_hits == 1 && chld_pid == pid && chld_code == CLD_EXITED && chld_status == 7,
		"the parent gets SIGCHLD with CLD_EXITED, si_pid and si_status");
	usr1_hits = 0;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	ktap_ok(usr1_hits == 1, "the parent's own pending signal is still there");
	set_default(SIGUSR1);
	set_default(SIGUSR2);
	set_default(SIGCHLD);
}

/* ---- many threads faulting at once ---- */

#define WORKERS 4
#define W_PAGES 32
#define W_ROUNDS 20
static u8 *wregion[WORKERS];
static volatile int wfaults[WORKERS];
static volatile int wready;

static void worker_fault(int sig, siginfo_t *si, void *ctx)
{
	(void)sig; (void)ctx;
	u8 *a = si->si_addr;
	for (int w = 0; w < WORKERS; w++) {
		if (a >= wregion[w] && a < wregion[w] + W_PAGES * PAGE_SIZE) {
			wfaults[w]++;
			u8 *page = (u8 *)((unsigned long)a & ~(PAGE_SIZE - 1));
			if (mprotect(page, PAGE_SIZE, PROT_READ | PROT_WRITE))
				exit(93);
			return;
		}
	}
	exit(94);
}

static long worker(void *arg)
{
	int w = (int)(long)arg;
	u8 *r = wregion[w];

	__atomic_fetch_add(&wready, 1, __ATOMIC_SEQ_CST);
	while (wready < WORKERS)
		sched_yield();
	for (int round = 0; round < W_ROUNDS; round++) {
		if (mprotect(r, W_PAGES * PAGE_SIZE, PROT_READ))
			return 1;
		for (int i = 0; i < W_PAGES; i++)
			r[i * PAGE_SIZE + w] = (u8)(round + i);
		for (int i = 0; i < W_PAGES; i++)
			if (r[i * PAGE_SIZE + w] != (u8)(round + i))
				return 2;
	}
	return 0;
}

static void case_concurrent(void)
{
	cpu_set_t cpus;
	int ncpu = 1;
	struct uthread *t[WORKERS];

	fresh_mask();
	cpu_zero(&cpus);
	if (sched_getaffinity(0, sizeof(cpus), &cpus) > 0)
		ncpu = cpu_count(&cpus);
	install(SIGSEGV, worker_fault, SA_NODEFER);     /* as in case_dirty_tracking */
	wready = 0;
	for (int w = 0; w < WORKERS; w++) {
		wregion[w] = map(W_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE);
		wfaults[w] = 0;
	}
	for (int w = 0; w < WORKERS; w++)
		t[w] = thread_create(worker, (void *)(long)w, w % ncpu);
	bool ok = true;
	for (int w = 0; w < WORKERS; w++) {
		ok = ok && t[w] && thread_join(t[w]) == 0;
		ok = ok && wfaults[w] == W_PAGES * W_ROUNDS;
	}
	ktap_ok(ok, "%d threads on different CPUs: %d fault-handler-mprotect rounds of %d pages each, every fault handled",
		WORKERS, W_ROUNDS, W_PAGES);
	set_default(SIGSEGV);
}

int main(void)
{
	ktap_plan(45);
	u8 *three = map(3 * PAGE_SIZE, PROT_NONE);
	if (munmap(three + PAGE_SIZE, PAGE_SIZE))
		ktap_bail("munmap: %s", errno_name(errno));
	hole = three + PAGE_SIZE;

	case_maperr();
	case_dirty_tracking();
	case_skip();
	case_altstack();
	case_masks();
	case_nodefer_resethand();
	case_wait_masks();
	case_threads();
	case_pipe_read();
	case_uffd_read();
	case_uffd_fault_signal();
	case_deaths();
	case_fork();
	case_alarm();
	case_concurrent();
	return ktap_finish();
}
