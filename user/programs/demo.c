/* SPDX-License-Identifier: MIT */
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
 *   5. /proc/meminfo: the machine's memory;
 *   6. one TLB shootdown, recorded by the kernel's event trace and dumped
 *      on the serial console for tools/trace-svg (docs/tracing.md). This
 *      step has its own threads and data, apart from steps 1-5.
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

/* ---- Step 6: one TLB shootdown, traced (docs/tracing.md) ----
 *
 * Kept separate from the steps above: its own region, its own threads.
 * Threads on other CPUs read a small region and keep running in this
 * address space; the main thread then unmaps it, so the kernel must make
 * those CPUs drop the region's translations from their TLBs (a shootdown,
 * by IPI) before it frees the pages. The kernel's event trace is emptied
 * just before (opening /proc/trace_clear) and dumped on the serial console
 * just after (opening /proc/trace). */
#define TRACE_PAGES 16
#define TRACE_SPINNERS 3

static u8 *trace_region;
static int trace_ready, trace_stop;

static long trace_spinner(void *arg)
{
	unsigned long sum = 0;

	(void)arg;
	for (unsigned long p = 0; p < TRACE_PAGES; p++)
		sum += trace_region[p * PAGE_SIZE];	/* now in this CPU's TLB */
	__atomic_add_fetch(&trace_ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&trace_stop, __ATOMIC_SEQ_CST))
		__asm__ __volatile__("pause");
	return (long)sum;
}

static bool step_trace(void)
{
	static char text[512];
	struct uthread *t[TRACE_SPINNERS];
	int cpus[TRACE_SPINNERS + 1], n = 0, spinners = 0;
	cpu_set_t all;
	bool ok = true;

	printf("#\n");
	say("Step 6: one TLB shootdown, traced. Threads on other CPUs read a");
	say("small region, so their TLBs cache its translations, and keep running");
	say("in this address space. Then this thread unmaps the region: before the");
	say("pages can be reused, the kernel must interrupt those CPUs (an IPI) and");
	say("have each flush its TLB. The kernel's event trace records each step.");
	if (read_file("/proc/trace_clear", text, sizeof(text)) < 0) {
		say("  (no /proc/trace_clear: this kernel has no event trace; skipped)");
		return true;
	}
	if (!strstr(text, "recording is on")) {
		say("  Recording is off: boot with \"trace\" on the kernel command line");
		say("  (make run does) to see the events. The shootdown happens anyway.");
	}

	cpu_zero(&all);
	sched_getaffinity(0, sizeof(all), &all);
	for (int c = 0; c < CPU_SETSIZE && n < TRACE_SPINNERS + 1; c++)
		if (cpu_isset(c, &all))
			cpus[n++] = c;
	pin_to_cpu(cpus[0]);	/* this thread stays off the spinners' CPUs */
	trace_region = mmap(NULL, TRACE_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (trace_region == MAP_FAILED) {
		sched_setaffinity(0, sizeof(all), &all);
		return false;
	}
	for (unsigned long p = 0; p < TRACE_PAGES; p++)
		trace_region[p * PAGE_SIZE] = 1;
	trace_ready = trace_stop = 0;
	for (int i = 1; i < n; i++) {
		t[spinners] = thread_create(trace_spinner, NULL, cpus[i]);
		if (t[spinners])
			spinners++;
		else
			ok = false;
	}
	while (__atomic_load_n(&trace_ready, __ATOMIC_SEQ_CST) < spinners)
		sched_yield();
	printf("#   %d threads on CPUs", spinners);
	for (int i = 1; i <= spinners; i++)
		printf(" %d", cpus[i]);
	printf(" hold the region; CPU %d unmaps it now.\n", cpus[0]);

	read_file("/proc/trace_clear", text, sizeof(text));
	if (munmap(trace_region, TRACE_PAGES * PAGE_SIZE) != 0)
		ok = false;
	/* Opening /proc/trace prints the log on the serial console (the
	 * TRACE-BEGIN ... TRACE-END lines just above what follows). Before
	 * the threads are joined: unmapping their stacks would add more
	 * shootdowns to the picture. */
	if (read_file("/proc/trace", text, sizeof(text)) < 0)
		ok = false;
	__atomic_store_n(&trace_stop, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < spinners; i++)
		if (thread_join(t[i]) < 0)
			ok = false;
	sched_setaffinity(0, sizeof(all), &all);
	printf("#   /proc/trace: %s", text);
	say("The TRACE lines above are that log: one line per event, with the");
	say("CPU and its time stamp counter. To see it as a picture, one lane per");
	say("CPU with an arrow for each IPI, save this serial output and run");
	say("  make run | tee build/run.log");
	say("  tools/trace-svg --out build/trace.svg build/run.log");
	say("then open build/trace.svg in a web browser (docs/tracing.md).");
	return ok;
}

int main(void)
{
	struct utsname u;

	ktap_plan(6);
	if (uname(&u) == 0)
		printf("# demo: running on %s %s (%s)\n", u.sysname, u.release, u.machine);
	ktap_ok(step_threads(), "threads on every CPU touched their pages");
	ktap_ok(step_check(), "the main thread sees every write");
	ktap_ok(step_maps(), "/proc/self/maps read");
	ktap_ok(step_segv(), "a bad access killed only the child");
	ktap_ok(step_meminfo(), "/proc/meminfo read");
	ktap_ok(step_trace(), "one TLB shootdown traced");
	printf("#\n");
	say("The end. Each step is a test too: the KTAP lines above say whether");
	say("it worked.");
	return ktap_finish();
}
