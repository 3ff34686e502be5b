/* SPDX-License-Identifier: MIT */
/* segv - bad memory accesses kill only the process that made them.
 *
 * Each case runs in a forked child that makes one bad access; the parent
 * collects it with wait4 and checks that it died of SIGSEGV (a wait status
 * with WIFSIGNALED and WTERMSIG == 11), then checks that it is itself fine.
 * When run on Pagoda the kernel prints a report for each killed child on
 * the console; the program's own output is the same as on Linux.
 */
#include "libc.h"

/* Through a volatile pointer the compiler must emit the access as written
 * (a plain NULL dereference it may turn into a trap instruction). */
static void read_at(unsigned long addr)
{
	volatile u8 *p = (volatile u8 *)addr;

	(void)*p;
}

static void write_at(unsigned long addr)
{
	volatile u8 *p = (volatile u8 *)addr;

	*p = 1;
}

int main(void);

static unsigned long unmapped_page;	/* mapped, then unmapped */
static unsigned long readonly_page;	/* PROT_READ */
static unsigned long none_page;		/* PROT_NONE */
static unsigned long data_page;		/* PROT_READ|PROT_WRITE, no exec */

static void bad_read_unmapped(void) { read_at(unmapped_page); }
static void bad_read_null(void) { read_at(0); }
static void bad_read_kernel(void) { read_at(0xffffffff80000000UL); }
static void bad_read_noncanonical(void) { read_at(0x8000000000000000UL); }
static void bad_read_prot_none(void) { read_at(none_page); }
static void bad_write_readonly(void) { write_at(readonly_page); }
static void bad_write_text(void) { write_at((unsigned long)&main); }

static void bad_exec_data(void)
{
	/* A "ret" instruction in a page without PROT_EXEC: the fetch faults
	 * (NX), the instruction never runs. */
	void (*fn)(void) = (void (*)(void))data_page;

	*(volatile u8 *)data_page = 0xc3;
	fn();
}

static long faulting_thread(void *arg)
{
	(void)arg;
	read_at(unmapped_page);
	return 0;
}

/* One thread of a two-thread process faults: the whole process dies. */
static void bad_read_in_thread(void)
{
	struct uthread *t = thread_create(faulting_thread, NULL, -1);

	if (!t)
		exit(3);
	thread_join(t);		/* never returns: the fault kills us */
	exit(4);
}

struct bad_case {
	const char *name;
	void (*fn)(void);
};

static const struct bad_case cases[] = {
	{ "read of an unmapped page", bad_read_unmapped },
	{ "read of address 0", bad_read_null },
	{ "read of a kernel address", bad_read_kernel },
	{ "read of a non-canonical address", bad_read_noncanonical },
	{ "read of a PROT_NONE page", bad_read_prot_none },
	{ "write to a PROT_READ page", bad_write_readonly },
	{ "write to the program's own code", bad_write_text },
	{ "exec of a page without PROT_EXEC", bad_exec_data },
	{ "read of an unmapped page in a second thread", bad_read_in_thread },
};

static unsigned long map_page(int prot)
{
	void *p = mmap(NULL, PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		ktap_bail("mmap failed: %s", errno_name(errno));
	return (unsigned long)p;
}

int main(void)
{
	pid_t me = getpid();
	u8 *mine;

	ktap_plan((int)ARRAY_SIZE(cases) + 2);
	readonly_page = map_page(PROT_READ);
	none_page = map_page(PROT_NONE);
	data_page = map_page(PROT_READ | PROT_WRITE);
	mine = (u8 *)map_page(PROT_READ | PROT_WRITE);
	memset(mine, 0x5a, PAGE_SIZE);
	/* The unmapped page is a one-page hole between two PROT_NONE pages,
	 * made last: a later mmap of one page could otherwise reuse it, and
	 * nothing later is that small. */
	{
		u8 *three = mmap(NULL, 3 * PAGE_SIZE, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (three == MAP_FAILED || munmap(three + PAGE_SIZE, PAGE_SIZE) < 0)
			ktap_bail("cannot make a hole: %s", errno_name(errno));
		unmapped_page = (unsigned long)three + PAGE_SIZE;
	}

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		int status = 0;
		pid_t pid = fork();

		if (pid == 0) {
			/* The child scribbles on its copy first: the parent's
			 * copy must not change. */
			memset(mine, 0, PAGE_SIZE);
			cases[i].fn();
			exit(2);	/* not reached when the kernel kills us */
		}
		if (pid < 0) {
			ktap_ok(false, "%s: fork failed: %s", cases[i].name, errno_name(errno));
			continue;
		}
		if (wait4(pid, &status, 0, NULL) != pid) {
			ktap_ok(false, "%s: wait4 failed: %s", cases[i].name, errno_name(errno));
			continue;
		}
		if (!ktap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
			     "%s kills the child with SIGSEGV", cases[i].name)) {
			if (WIFSIGNALED(status))
				ktap_diag("killed by signal %d", WTERMSIG(status));
			else
				ktap_diag("exited with status %d", WEXITSTATUS(status));
		}
	}

	{
		bool intact = getpid() == me;

		for (unsigned long i = 0; i < PAGE_SIZE; i++)
			intact = intact && mine[i] == 0x5a;
		ktap_ok(intact, "the parent is alive and its memory unchanged");
	}
	{
		int status;

		ktap_ok(wait4(-1, &status, WNOHANG, NULL) == -1 && errno == ECHILD,
			"no child is left over (wait4 -> ECHILD)");
	}
	return ktap_finish();
}
