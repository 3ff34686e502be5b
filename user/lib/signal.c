/* SPDX-License-Identifier: MIT */
/* user/lib/signal.c - the signal calls (signal.h). */
#include "signal.h"
#include "syscall.h"
#include "sys.h"

/* A handler "returns" here: its frame's first word points at it. */
__asm__(".text\n"
	".globl __restore_rt\n"
	".type __restore_rt, @function\n"
	"__restore_rt:\n"
	"\tmov $15, %eax\n"         /* rt_sigreturn */
	"\tsyscall\n"
	"\thlt\n"
	".size __restore_rt, . - __restore_rt\n");

int rt_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return (int)ret_errno(raw_syscall4(13, sig, (long)act, (long)old, sizeof(sigset_t)));
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction k;

	if (act) {
		k = *act;
		k.sa_flags |= SA_RESTORER;
		k.sa_restorer = __restore_rt;
		act = &k;
	}
	return rt_sigaction(sig, act, old);
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return (int)ret_errno(raw_syscall4(14, how, (long)set, (long)old, sizeof(sigset_t)));
}

int sigsuspend(const sigset_t *mask)
{
	return (int)ret_errno(raw_syscall2(130, (long)mask, sizeof(sigset_t)));
}

int ppoll(struct pollfd *fds, unsigned long nfds, const struct timespec *ts, const sigset_t *mask)
{
	return (int)ret_errno(raw_syscall5(271, (long)fds, (long)nfds, (long)ts, (long)mask,
					   sizeof(sigset_t)));
}

int sigpending(sigset_t *set)
{
	return (int)ret_errno(raw_syscall2(127, (long)set, sizeof(sigset_t)));
}

int sigaltstack(const stack_t *ss, stack_t *old)
{
	return (int)ret_errno(raw_syscall2(131, (long)ss, (long)old));
}

int tgkill(pid_t tgid, pid_t tid, int sig)
{
	return (int)ret_errno(raw_syscall3(234, tgid, tid, sig));
}

int raise(int sig)
{
	return tgkill(getpid(), gettid(), sig);
}
