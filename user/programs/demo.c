/* demo - a guided tour of what the memory manager does for a program.
 *
 * Run by `make run`. Every step prints what it is about to do and why, then
 * the result; the output is KTAP (explanations are "#" lines), so it also
 * serves as a smoke test. Steps:
 *   1. one thread per CPU, all in this address space, each writing its own
 *      part of one region: every first write is a page fault that the
 *      kernel handles on that CPU;
 *   2. the main thread checks all of it;
 *   3. /proc/self/maps: the program's own view of its address space;
 *   4. a child process makes a bad access and is killed, the parent lives;
 *   5. /proc/meminfo: the machine's memory.
 */
#include "libc.h"

#define MAX_THREADS 64
#define PAGES_PER_THREAD 512	/* 2 MiB each */

static u8 *region;
static int nthreads;

struct worker {
	int index, cpu;
	u64 ns;
};

static long toucher(void *arg)
{
	struct worker *w = arg;
	u8 *mine = region + (unsigned long)w->index * PAGES_PER_THREAD * PAGE_SIZE;
	u64 t0 = now_ns();

	for (unsigned long p = 0; p < PAGES_PER_THREAD; p++)
		mine[p * PAGE_SIZE] = (u8)(w->index + 1);
	w->ns = now_ns() - t0;
	return 0;
}

static void say(const char *text)
{
	printf("# %s\n", text);
}

/* Print a file as "#" lines, at most max_lines of it. */
static void show_file(const char *path, int max_lines)
{
	static char buf[32 * 1024];
	char *p = buf;
	int lines = 0;

	if (read_file(path, buf, sizeof(buf)) < 0) {
		printf("#   (cannot read %s)\n", path);
		return;
	}
	while (*p && lines < max_lines) {
		char *eol = strchr(p, '\n');
		int len = eol ? (int)(eol - p) : (int)strlen(p);

		printf("#   %.*s\n", len, p);
		lines++;
		if (!eol)
			break;
		p = eol + 1;
	}
	if (*p && lines == max_lines)
		printf("#   ...\n");
}

/* /proc/self/maps as "#" lines, with our region marked. */
static void show_maps(void)
{
	static char buf[32 * 1024];
	char *p = buf;

	if (read_file("/proc/self/maps", buf, sizeof(buf)) < 0) {
		printf("#   (cannot read /proc/self/maps)\n");
		return;
	}
	while (*p) {
		char *eol = strchr(p, '\n');
		int len = eol ? (int)(eol - p) : (int)strlen(p);
		unsigned long start = strtoul(p, NULL, 16);

		printf("#   %.*s%s\n", len, p,
		       start == (unsigned long)region ? "   <- our region" : "");
		if (!eol)
			break;
		p = eol + 1;
	}
}

static bool step_threads(void)
{
	static struct worker w[MAX_THREADS];
	struct uthread *t[MAX_THREADS];
	int cpus[MAX_THREADS];
	cpu_set_t mask;
	bool ok = true;

	cpu_zero(&mask);
	sched_getaffinity(0, sizeof(mask), &mask);
	nthreads = 0;
	for (int c = 0; c < CPU_SETSIZE && nthreads < MAX_THREADS; c++)
		if (cpu_isset(c, &mask))
			cpus[nthreads++] = c;

	printf("#\n");
	say("Step 1: threads on every CPU touching one region.");
	printf("# This process may run on %d CPUs. We map one region of %d x 2 MiB\n",
	       nthreads, nthreads);
	say("with mmap(). The kernel only reserves the addresses: no memory is");
	say("used yet. Then one thread per CPU, pinned there with");
	say("sched_setaffinity(), writes one byte in each 4 KiB page of its own");
	say("2 MiB. Each first write to a page is a page fault: the CPU stops the");
	say("thread, the kernel finds the region, allocates a zeroed page, maps it");
	say("and lets the thread go on. All CPUs do this at the same time, in the");
	say("same address space.");

	region = mmap(NULL, (unsigned long)nthreads * PAGES_PER_THREAD * PAGE_SIZE,
		      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		printf("# mmap failed: %s\n", errno_name(errno));
		return false;
	}
	printf("# The region is at %p.\n", (void *)region);
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .index = i, .cpu = cpus[i] };
		t[i] = thread_create(toucher, &w[i], cpus[i]);
		if (!t[i]) {
			printf("# thread_create failed: %s\n", errno_name(errno));
			ok = false;
		}
	}
	for (int i = 0; i < nthreads; i++) {
		if (!t[i])
			continue;
		if (thread_join(t[i]) < 0)
			ok = false;
		printf("#   thread %d on CPU %d: %d page faults in %lu us\n", i,
		       w[i].cpu, PAGES_PER_THREAD, (unsigned long)(w[i].ns / 1000));
	}
	return ok;
}

static bool step_check(void)
{
	unsigned long bad = 0;

	printf("#\n");
	say("Step 2: the main thread reads every page back. The threads' writes");
	say("went to the same physical pages the main thread now sees, because");
	say("they share one set of page tables.");
	for (int i = 0; i < nthreads; i++)
		for (unsigned long p = 0; p < PAGES_PER_THREAD; p++)
			bad += region[((unsigned long)i * PAGES_PER_THREAD + p) * PAGE_SIZE] != (u8)(i + 1);
	printf("#   %lu of %lu pages wrong\n", bad, (unsigned long)nthreads * PAGES_PER_THREAD);
	return bad == 0;
}

static bool step_maps(void)
{
	long rss;

	printf("#\n");
	say("Step 3: /proc/self/maps, this process's address space as the kernel");
	say("keeps it: one line per region (a VMA), with its addresses, its");
	say("permissions (r read, w write, x execute, p private or s shared) and");
	say("what it maps: the program's code (r-x) and data (rw-), our region");
	say("(marked below), and the stack. The threads' stacks are gone: they");
	say("were unmapped when the threads were joined. Linux also shows its");
	say("[vdso] and [vvar] helper pages here.");
	show_maps();
	rss = proc_field("/proc/self/status", "VmRSS");
	printf("# VmRSS (memory really in use by this process): %ld kB; our region\n", rss);
	printf("# alone accounts for %d kB of it.\n", nthreads * PAGES_PER_THREAD * 4);
	return rss > 0;
}

static bool step_segv(void)
{
	u8 *ro = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status = 0;
	pid_t pid;

	printf("#\n");
	say("Step 4: a bad access. We fork a child process and it writes to a");
	say("page mapped read-only. The page fault finds that the region does not");
	say("allow writing, so the kernel kills the child with SIGSEGV (signal");
	say("11). Only the child: the parent collects its status with wait4().");
	if (ro == MAP_FAILED)
		return false;
	pid = fork();
	if (pid == 0) {
		*(volatile u8 *)ro = 1;
		exit(0);	/* never reached */
	}
	if (pid < 0 || wait4(pid, &status, 0, NULL) != pid)
		return false;
	if (WIFSIGNALED(status))
		printf("#   child %d was killed by signal %d%s\n", pid, WTERMSIG(status),
		       WTERMSIG(status) == SIGSEGV ? " (SIGSEGV)" : "");
	else
		printf("#   child %d exited with status %d\n", pid, WEXITSTATUS(status));
	printf("#   the parent (pid %d) is still running\n", getpid());
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static bool step_meminfo(void)
{
	printf("#\n");
	say("Step 5: /proc/meminfo, the machine's memory: MemTotal is what the");
	say("kernel manages, MemFree what no one uses. Our region is freed when");
	say("this program exits, and MemFree goes back up.");
	show_file("/proc/meminfo", 12);
	return proc_field("/proc/meminfo", "MemTotal") > 0;
}

int main(void)
{
	struct utsname u;

	ktap_plan(5);
	if (uname(&u) == 0)
		printf("# demo: running on %s %s (%s)\n", u.sysname, u.release, u.machine);
	ktap_ok(step_threads(), "threads on every CPU touched their pages");
	ktap_ok(step_check(), "the main thread sees every write");
	ktap_ok(step_maps(), "/proc/self/maps read");
	ktap_ok(step_segv(), "a bad access killed only the child");
	ktap_ok(step_meminfo(), "/proc/meminfo read");
	printf("#\n");
	say("The end. Each step is a test too: the KTAP lines above say whether");
	say("it worked.");
	return ktap_finish();
}
