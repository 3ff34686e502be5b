/* SPDX-License-Identifier: MIT */
/* hello_libc - a plain C program on the host's C library (glibc or musl),
 * linked statically: its start-up (TLS, IRELATIVE relocations, stdio,
 * the random canary, rlimits), the FPU/SSE code the C library and the
 * compiler use everywhere, and fork (clone with CLONE_CHILD_SETTID). Built twice, as hello_glibc and hello_musl
 * (tests/user-libc/README.md); prints KTAP, the same lines on Linux.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures, number;

static void ok(int pass, const char *what)
{
	number++;
	printf("%sok %d %s\n", pass ? "" : "not ", number, what);
	if (!pass)
		failures++;
}

/* A block of several pages, filled, grown far past mmap's threshold
 * (glibc tries mremap, and copies if the kernel refuses), checked. */
static int malloc_realloc(void)
{
	size_t small = 300 * 1024, big = 8 * 1024 * 1024;
	unsigned char *p = malloc(small);

	if (!p)
		return 0;
	for (size_t i = 0; i < small; i++)
		p[i] = (unsigned char)(i * 7);
	unsigned char *q = realloc(p, big);
	if (!q) {
		free(p);
		return 0;
	}
	int good = 1;
	for (size_t i = 0; i < small; i++)
		if (q[i] != (unsigned char)(i * 7))
			good = 0;
	memset(q + small, 0xa5, big - small);
	good = good && q[big - 1] == 0xa5;
	free(q);
	return good;
}

int main(void)
{
	char buf[64];
	volatile double two = 2.0;      /* computed at run time, in SSE */

	printf("KTAP version 1\n1..8\n");
	snprintf(buf, sizeof(buf), "%.3f", sqrt(two));
	ok(strcmp(buf, "1.414") == 0, "printf(\"%.3f\", sqrt(2)) prints 1.414");
	char *end;
	double d = strtod("2.5e3xyz", &end);
	ok(d == 2500.0 && strcmp(end, "xyz") == 0, "strtod(\"2.5e3xyz\") is 2500 and stops at xyz");
	snprintf(buf, sizeof(buf), "%g %e %.10f", 1.0 / 3.0, 6.02214076e23, M_PI);
	ok(strcmp(buf, "0.333333 6.022141e+23 3.1415926536") == 0, "%g %e %.10f format doubles");
	ok(malloc_realloc(), "malloc 300 KiB, realloc to 8 MiB: contents kept");

	struct stat st;
	ok(fstat(1, &st) == 0, "fstat(1) succeeds");
	char exe[256];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = 0;
	ok(n > 0 && exe[0] == '/', "readlink(/proc/self/exe) gives an absolute path");

	fflush(stdout);
	struct iovec iov[3] = {
		{ "ok 7 writev ", 12 }, { "writes three ", 13 }, { "pieces\n", 7 },
	};
	ssize_t w = writev(1, iov, 3);
	number++;
	if (w != 32) {
		printf("not ok 7 writev: %zd\n", w);
		failures++;
	}
	/* The child computes in SSE too, and its exit code says whether
	 * getpid() agrees with what fork returned in the parent. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		snprintf(buf, sizeof(buf), "%.2f", sqrt(two * 8.0));
		_exit(strcmp(buf, "4.00") == 0 ? 3 : 4);
	}
	int status = 0;
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	   WEXITSTATUS(status) == 3, "fork: the child runs and exits 3, waitpid sees it");
	printf("# totals: pass:%d fail:%d skip:0\n", number - failures, failures);
	return failures ? 1 : 0;
}
