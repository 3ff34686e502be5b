/* SPDX-License-Identifier: MIT */
/* trace_fork - a fork and its copy-on-write faults, traced (docs/tracing.md,
 * "Trace your fork").
 *
 * Boot with "trace" (make run does; or RUN_CMDLINE="trace run=trace_fork
 * poweroff"). The program writes two pages A and B, empties the kernel's
 * event trace, forks, and then:
 *   the child writes A      -> a write fault, cow_copy (the parent still maps A)
 *   the parent writes B     -> a write fault, cow_copy (the child still maps B)
 *   the parent writes A     -> a write fault, cow_reuse (the child has its own
 *                              copy, so the parent is A's only user again)
 *   the parent reads C      -> a read fault on a page never written: the zero page
 * and opens /proc/trace, which prints the log on the serial console. The
 * pipes only order the steps; the lines printed here name each step's
 * address so that the trace's "fault" lines can be matched to them. */
#include "libc.h"

#define PAGE 4096

static void step(const char *who, const char *what, volatile char *p)
{
	printf("# %s %s at %p\n", who, what, (void *)p);
}

static void child(volatile char *a, int go, int done)
{
	char c;
	step("child", "writes A", a);
	a[0] = 'c';
	write(done, "x", 1);
	read(go, &c, 1);                /* stay alive until the parent wrote B */
	exit(0);
}

int main(void)
{
	volatile char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile char *a = m, *b = m + PAGE, *cpage = m + 2 * PAGE;
	int to_child[2], from_child[2];
	char text[256], c;

	if (m == MAP_FAILED || pipe(to_child) || pipe(from_child))
		return 1;
	a[0] = 'a';
	b[0] = 'b';
	if (read_file("/proc/trace_clear", text, sizeof(text)) < 0)
		printf("# no /proc/trace_clear: this kernel has no event trace\n");
	pid_t pid = fork();
	if (pid == 0)
		child(a, to_child[0], from_child[1]);
	read(from_child[0], &c, 1);     /* the child has written A */
	step("parent", "writes B", b);
	b[0] = 'B';
	write(to_child[1], "x", 1);
	int status = reap_child(pid);
	step("parent", "writes A", a);
	a[0] = 'A';
	step("parent", "reads C", cpage);
	c = cpage[0];
	read_file("/proc/trace", text, sizeof(text));
	printf("# /proc/trace: %s", text);
	printf("# child exit %d, A=%c B=%c C=%d\n", status, a[0], b[0], c);
	return status == 0 && a[0] == 'A' && b[0] == 'B' && c == 0 ? 0 : 1;
}
