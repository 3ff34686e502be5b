/* SPDX-License-Identifier: MIT */
/* pipe_test - pipes (kernel/pipe.h): a blocking reader and writer across
 * fork and across threads, end of file when every write end is closed,
 * EPIPE (and SIGPIPE's default action) when no read end is, O_NONBLOCK's
 * EAGAIN, atomic writes of PIPE_BUF, poll, pipe2's flags and O_DIRECT's
 * packets. The output is the same on Linux (tools/linux-ref).
 */
#include "libc.h"

#define EXPECT(cond, ...) do { if (!ktap_ok((cond), __VA_ARGS__)) ktap_diag("line %d", __LINE__); } while (0)
#define ERRNO(call, e) ((call) == -1 && errno == (e))
#define SIGPIPE 13
#define PIPE_CAP 65536

static void test_basic(void)
{
	int fd[2];
	char buf[16];
	EXPECT(pipe(fd) == 0 && fd[0] >= 0 && fd[1] > fd[0], "pipe gives two new fds");
	EXPECT(write(fd[1], "hello", 5) == 5, "write 5 bytes");
	EXPECT(read(fd[0], buf, 3) == 3 && !memcmp(buf, "hel", 3), "read 3 of them");
	EXPECT(read(fd[0], buf, 16) == 2 && !memcmp(buf, "lo", 2), "read returns what is left");
	EXPECT(ERRNO(lseek(fd[0], 0, SEEK_SET), ESPIPE), "lseek on a pipe: ESPIPE");
	EXPECT(ERRNO(pread(fd[0], buf, 1, 0), ESPIPE), "pread on a pipe: ESPIPE");
	EXPECT(ERRNO(read(fd[1], buf, 1), EBADF), "read of the write end: EBADF");
	EXPECT(ERRNO(write(fd[0], buf, 1), EBADF), "write to the read end: EBADF");
	close(fd[1]);
	EXPECT(read(fd[0], buf, 16) == 0, "every write end closed: end of file");
	close(fd[0]);
	EXPECT(ERRNO(pipe2(fd, 0x1000000), EINVAL), "pipe2 with an unknown flag: EINVAL");
	EXPECT(raw_syscall1(__NR_pipe, 8) == -EFAULT, "pipe into a bad address: EFAULT");
}

/* A child writes in pieces while the parent blocks in read; the child
 * blocks in write while the pipe is full. */
static void test_fork(void)
{
	int fd[2];
	pipe(fd);
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		static char big[3 * PIPE_CAP];
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (char)(i * 7);
		exit(write(fd[1], big, sizeof(big)) != sizeof(big));
	}
	close(fd[1]);
	static char got[3 * PIPE_CAP + 1];
	size_t total = 0;
	long n;
	sleep_ns(50 * 1000000L);        /* the child fills the pipe and blocks */
	while ((n = read(fd[0], got + total, sizeof(got) - total)) > 0)
		total += (size_t)n;
	bool same = total == 3 * PIPE_CAP;
	for (size_t i = 0; same && i < total; i++)
		same = got[i] == (char)(i * 7);
	EXPECT(same, "across fork: 192 KiB through a 64 KiB pipe, in order, then end of file");
	EXPECT(reap_child(pid) == 0, "the writer's write returned every byte");
	close(fd[0]);
}

static int tfd[2];
static long reader(void *arg)
{
	(void)arg;
	char c;
	long sum = 0;
	for (int i = 0; i < 1000; i++) {
		if (read(tfd[0], &c, 1) != 1)
			return -1;
		sum += c;
	}
	return sum;
}

static void test_threads(void)
{
	pipe(tfd);
	struct uthread *t = thread_create(reader, NULL, online_cpus() > 1 ? 1 : 0);
	long want = 0;
	for (int i = 0; i < 1000; i++) {
		char c = (char)(i % 100);
		want += c;
		write(tfd[1], &c, 1);
	}
	EXPECT(t && thread_join(t) == want, "across threads: 1000 one-byte writes read one by one");
	close(tfd[0]);
	close(tfd[1]);
}

static void test_nonblock_and_poll(void)
{
	int fd[2];
	static char buf[PIPE_CAP];
	EXPECT(pipe2(fd, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2(O_NONBLOCK | O_CLOEXEC)");
	EXPECT(ERRNO(read(fd[0], buf, 1), EAGAIN), "O_NONBLOCK: read of an empty pipe: EAGAIN");
	struct pollfd p[2] = { { fd[0], POLLIN, 0 }, { fd[1], POLLOUT, 0 } };
	EXPECT(poll(p, 2, 0) == 1 && p[0].revents == 0 && p[1].revents == POLLOUT,
	       "poll: an empty pipe is writable, not readable");
	EXPECT(write(fd[1], buf, PIPE_CAP) == PIPE_CAP, "O_NONBLOCK: 64 KiB fill the pipe");
	EXPECT(ERRNO(write(fd[1], buf, 1), EAGAIN), "O_NONBLOCK: write to a full pipe: EAGAIN");
	p[0].revents = p[1].revents = 0;
	EXPECT(poll(p, 2, 0) == 1 && p[0].revents == POLLIN && p[1].revents == 0,
	       "poll: a full pipe is readable, not writable");
	EXPECT(read(fd[0], buf, 100) == 100, "read 100 bytes of a full pipe");
	EXPECT(ERRNO(write(fd[1], buf, 200), EAGAIN),
	       "a write of at most PIPE_BUF is atomic: 200 bytes do not fit in 100");
	EXPECT(read(fd[0], buf, PIPE_CAP) == PIPE_CAP - 100, "read the rest");
	close(fd[1]);
	p[0].revents = 0;
	EXPECT(poll(p, 1, 0) == 1 && p[0].revents == POLLHUP, "poll: POLLHUP once the writers are gone");
	close(fd[0]);
	pipe(fd);
	close(fd[0]);
	p[1].fd = fd[1];
	p[1].revents = 0;
	EXPECT(poll(&p[1], 1, 0) == 1 && (p[1].revents & POLLERR), "poll: POLLERR once the readers are gone");
	close(fd[1]);
}

/* No reader: EPIPE, and SIGPIPE's default action ends the writer. */
static void test_epipe(void)
{
	int fd[2];
	pipe(fd);
	close(fd[0]);
	pid_t pid = fork();
	if (pid == 0) {
		write(fd[1], "x", 1);
		exit(0);        /* not reached: SIGPIPE */
	}
	int st = reap_child(pid);
	EXPECT(st == 1000 + SIGPIPE, "write with no reader: the writer dies of SIGPIPE");
	if (st != 1000 + SIGPIPE)
		ktap_diag("status %d", st);
	EXPECT(write(fd[1], "", 0) == 0, "a write of 0 bytes succeeds even with no reader");
	close(fd[1]);
}

/* With SIGPIPE ignored the writer lives and sees EPIPE; with a handler,
 * the handler runs first, with the signal sent by the writer to itself
 * (si_code SI_USER, si_pid its own pid). */
static volatile int sigpipe_code = -1, sigpipe_pid = -1;

static void on_sigpipe(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	sigpipe_code = si->si_code;
	sigpipe_pid = si->si_pid;
}

static void test_epipe_handled(void)
{
	int fd[2];
	pipe(fd);
	close(fd[0]);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old);
	long r = write(fd[1], "x", 1);
	EXPECT(r == -1 && errno == EPIPE, "SIGPIPE ignored: the write fails with EPIPE");
	sa.sa_sigaction = on_sigpipe;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGPIPE, &sa, NULL);
	r = write(fd[1], "x", 1);
	EXPECT(r == -1 && errno == EPIPE && sigpipe_code == 0 && sigpipe_pid == getpid(),
	       "SIGPIPE handled: the handler ran (SI_USER, from the writer), then EPIPE");
	sigaction(SIGPIPE, &old, NULL);
	close(fd[1]);
}

/* O_DIRECT: each write a packet, each read at most one. */
static void test_packets(void)
{
	int fd[2];
	char buf[16];
	EXPECT(pipe2(fd, O_DIRECT) == 0, "pipe2(O_DIRECT)");
	write(fd[1], "abc", 3);
	write(fd[1], "defgh", 5);
	EXPECT(read(fd[0], buf, 16) == 3 && !memcmp(buf, "abc", 3), "packet mode: one read, one packet");
	EXPECT(read(fd[0], buf, 2) == 2 && !memcmp(buf, "de", 2), "packet mode: a short read");
	write(fd[1], "ij", 2);
	EXPECT(read(fd[0], buf, 16) == 2 && !memcmp(buf, "ij", 2),
	       "packet mode: the rest of a packet read short is gone");
	close(fd[0]);
	close(fd[1]);
}

int main(void)
{
	ktap_plan(33);
	test_basic();
	test_fork();
	test_threads();
	test_nonblock_and_poll();
	test_epipe();
	test_epipe_handled();
	test_packets();
	return ktap_finish();
}
