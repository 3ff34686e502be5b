/* SPDX-License-Identifier: MIT */
/* fcntl_test - fcntl(2) (kernel/fcntl.c): the descriptor's flag, the open
 * file's flags, duplication, seals and the pipe size, with Linux's errno.
 *
 *   - F_GETFD/F_SETFD: FD_CLOEXEC is the descriptor's, not the file's (a
 *     duplicate does not share it); pipe2(O_CLOEXEC) and F_DUPFD_CLOEXEC
 *     set it;
 *   - F_GETFL: the access mode, then the status flags: O_LARGEFILE for a
 *     file from open() or memfd_create, none for a pipe or a userfaultfd;
 *     O_DIRECT on a packet pipe's write end only;
 *   - F_SETFL: O_NONBLOCK makes an empty pipe's read EAGAIN, and is shared
 *     by a duplicate (it is the open file's); O_APPEND makes writes go to
 *     the end; the access mode cannot change; O_DIRECT on a memfd EINVAL;
 *   - F_DUPFD: the lowest free fd from arg, the same open file (one
 *     position); an arg past the fd limit EINVAL;
 *   - F_GET_SEALS: a memfd made without MFD_ALLOW_SEALING has F_SEAL_SEAL,
 *     F_ADD_SEALS is then EPERM; neither applies to a pipe (EINVAL);
 *   - F_GETPIPE_SZ: 64 KiB for a pipe, EBADF for anything else;
 *   - a closed fd EBADF, an unknown command EINVAL.
 * The output is the same on Linux (tools/linux-ref).
 */
#include "libc.h"

#define EXPECT(cond, ...) do { if (!ktap_ok((cond), __VA_ARGS__)) ktap_diag("line %d", __LINE__); } while (0)
#define ERRNO(call, e) ((call) == -1 && errno == (e))
#define TMP_FILE "/tmp/fcntl_test_file"

static void test_fd_flag(void)
{
	int p[2];
	pipe2(p, O_CLOEXEC);
	EXPECT(fcntl(p[0], F_GETFD, 0) == FD_CLOEXEC, "pipe2(O_CLOEXEC): F_GETFD says FD_CLOEXEC");
	int d = fcntl(p[0], F_DUPFD, 0);
	EXPECT(d > p[1] && fcntl(d, F_GETFD, 0) == 0,
	       "F_DUPFD: a new fd without FD_CLOEXEC (the flag is the descriptor's)");
	EXPECT(fcntl(d, F_SETFD, FD_CLOEXEC | 2) == 0 && fcntl(d, F_GETFD, 0) == FD_CLOEXEC &&
	       fcntl(p[0], F_SETFD, 0) == 0 && fcntl(p[0], F_GETFD, 0) == 0 &&
	       fcntl(d, F_GETFD, 0) == FD_CLOEXEC,
	       "F_SETFD sets and clears FD_CLOEXEC of one descriptor only, other bits ignored");
	int c = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
	EXPECT(c >= 0 && fcntl(c, F_GETFD, 0) == FD_CLOEXEC, "F_DUPFD_CLOEXEC sets it");
	close(c);
	close(d);
	close(p[0]);
	close(p[1]);
}

static void test_getfl(void)
{
	int p[2], q[2];
	pipe2(p, O_NONBLOCK);
	pipe2(q, O_DIRECT);
	int m = memfd_create("fcntl_test", 0);
	int t = open(TMP_FILE, O_WRONLY | O_CREAT | O_APPEND, 0600);
	int u = userfaultfd(O_NONBLOCK);
	EXPECT(fcntl(p[0], F_GETFL, 0) == (O_RDONLY | O_NONBLOCK) &&
	       fcntl(p[1], F_GETFL, 0) == (O_WRONLY | O_NONBLOCK),
	       "F_GETFL of a pipe2(O_NONBLOCK): O_RDONLY and O_WRONLY with O_NONBLOCK");
	EXPECT(fcntl(q[0], F_GETFL, 0) == O_RDONLY && fcntl(q[1], F_GETFL, 0) == (O_WRONLY | O_DIRECT),
	       "a packet pipe: O_DIRECT on its write end only");
	EXPECT(fcntl(m, F_GETFL, 0) == (O_RDWR | O_LARGEFILE), "a memfd: O_RDWR | O_LARGEFILE");
	EXPECT(fcntl(t, F_GETFL, 0) == (O_WRONLY | O_APPEND | O_LARGEFILE),
	       "a file opened O_WRONLY | O_APPEND: those and O_LARGEFILE");
	EXPECT(u < 0 || fcntl(u, F_GETFL, 0) == (O_RDONLY | O_NONBLOCK),
	       "a userfaultfd(O_NONBLOCK): O_RDONLY | O_NONBLOCK");
	close(u);
	close(t);
	unlink(TMP_FILE);
	close(m);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static void test_setfl(void)
{
	int p[2];
	char c;
	pipe(p);
	int d = fcntl(p[0], F_DUPFD, 0);
	EXPECT(fcntl(p[0], F_SETFL, O_NONBLOCK | O_RDWR) == 0 &&
	       fcntl(p[0], F_GETFL, 0) == (O_RDONLY | O_NONBLOCK) && ERRNO(read(p[0], &c, 1), EAGAIN),
	       "F_SETFL O_NONBLOCK: an empty pipe's read is EAGAIN; the access mode stays");
	EXPECT(fcntl(d, F_GETFL, 0) == (O_RDONLY | O_NONBLOCK),
	       "the duplicate shares it (O_NONBLOCK is the open file's)");
	EXPECT(fcntl(d, F_SETFL, 0) == 0 && fcntl(p[0], F_GETFL, 0) == O_RDONLY,
	       "F_SETFL 0 clears it for both");
	EXPECT(ERRNO(fcntl(p[1], F_SETFL, O_DIRECT), EINVAL) ||
	       fcntl(p[1], F_GETFL, 0) == (O_WRONLY | O_DIRECT),
	       "F_SETFL O_DIRECT on a pipe: packet mode, or EINVAL where it is fixed");
	close(d);
	close(p[0]);
	close(p[1]);

	char buf[8] = { 0 };
	int m = memfd_create("fcntl_test", 0);
	write(m, "abcd", 4);
	lseek(m, 0, SEEK_SET);
	EXPECT(fcntl(m, F_SETFL, O_APPEND) == 0 && write(m, "ef", 2) == 2 &&
	       pread(m, buf, 8, 0) == 6 && !memcmp(buf, "abcdef", 6),
	       "F_SETFL O_APPEND: a write goes to the end, wherever the position was");
	EXPECT(ERRNO(fcntl(m, F_SETFL, O_DIRECT), EINVAL) &&
	       fcntl(m, F_GETFL, 0) == (O_RDWR | O_LARGEFILE | O_APPEND),
	       "F_SETFL O_DIRECT on a memfd: EINVAL (no direct I/O), the flags unchanged");
	close(m);
}

static void test_dupfd(void)
{
	int m = memfd_create("fcntl_test", 0);
	write(m, "0123456789", 10);
	int d = fcntl(m, F_DUPFD, 9);
	EXPECT(d >= 9, "F_DUPFD 9: an fd of 9 or more");
	int d2 = fcntl(m, F_DUPFD, 9);
	EXPECT(d2 > d, "F_DUPFD 9 again: the next free one");
	lseek(d, 3, SEEK_SET);
	EXPECT(lseek(m, 0, SEEK_CUR) == 3, "a duplicate is the same open file: one position");
	EXPECT(ERRNO(fcntl(m, F_DUPFD, -1), EINVAL) && ERRNO(fcntl(m, F_DUPFD, 1 << 20), EINVAL),
	       "F_DUPFD from past the fd limit: EINVAL");
	close(d2);
	close(d);
	close(m);
}

static void test_seals_and_pipe_size(void)
{
	int m = memfd_create("fcntl_test", 0);
	int p[2];
	pipe(p);
	EXPECT(fcntl(m, F_GET_SEALS, 0) == F_SEAL_SEAL && ERRNO(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE), EPERM),
	       "a memfd without MFD_ALLOW_SEALING: F_SEAL_SEAL, F_ADD_SEALS EPERM");
	EXPECT(ERRNO(fcntl(m, F_ADD_SEALS, 0x10000), EINVAL) && ERRNO(fcntl(p[0], F_GET_SEALS, 0), EINVAL),
	       "an unknown seal, the seals of a pipe: EINVAL");
	EXPECT(fcntl(p[0], F_GETPIPE_SZ, 0) == 65536 && ERRNO(fcntl(m, F_GETPIPE_SZ, 0), EBADF),
	       "F_GETPIPE_SZ: 64 KiB for a pipe, EBADF for a memfd");
	close(p[0]);
	close(p[1]);
	EXPECT(ERRNO(fcntl(m, 0x7777, 0), EINVAL), "an unknown command: EINVAL");
	close(m);
	EXPECT(ERRNO(fcntl(m, F_GETFL, 0), EBADF) && ERRNO(fcntl(-1, F_GETFD, 0), EBADF),
	       "a closed fd, fd -1: EBADF");
}

int main(void)
{
	ktap_plan(24);
	test_fd_flag();
	test_getfl();
	test_setfl();
	test_dupfd();
	test_seals_and_pipe_size();
	return ktap_finish();
}
