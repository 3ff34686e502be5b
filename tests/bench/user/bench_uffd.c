/* SPDX-License-Identifier: MIT */
/* bench_uffd - what userfaultfd write protection costs (docs/userfaultfd.md,
 * docs/benchmarks.md).
 *
 * Protecting a range: UFFDIO_WRITEPROTECT of 1 GiB of private anonymous
 * memory (4 KiB pages, MADV_NOHUGEPAGE), then clearing it again, each timed
 * (TSC cycles, median of REPS runs), over
 *   unpopulated         never touched, without markers: nothing to protect;
 *   unpopulated+markers never touched, with UFFD_FEATURE_WP_UNPOPULATED: a
 *                       marker in each of the 262144 entries (and the 512
 *                       page tables to hold them); skipped where missing;
 *   read-faulted        every page read once, so every entry maps the zero
 *                       page: the same entries to change, no memory behind;
 *   written             every page written: 1 GiB of memory, so with less
 *                       than 1.75 GiB of RAM a quarter of it, said so.
 * The first protection of a range may also allocate page tables (markers
 * need them); its time is printed beside the median.
 * Faults:
 *   sync                a writer pinned to CPU 1 writes one protected page
 *                       after another; a handler pinned to CPU 0 waits in
 *                       poll(2) (or spins on a non-blocking read(2), so its
 *                       CPU never idles), reads the message and clears that
 *                       page's protection, which wakes the writer: the
 *                       writer's cycles from before its write to after it,
 *                       median;
 *   async               UFFD_FEATURE_WP_ASYNC: the kernel clears the bit
 *                       itself; cycles per first write to a protected page;
 *                       skipped where missing;
 *   plain               for scale: the first write to a page that was only
 *                       read (a copy of the zero page), no userfaultfd.
 *
 * Test points check only that the calls succeeded and every fault was
 * seen; the figures never fail anything. With one CPU the writer and the
 * handler share it.
 */
#include "libc.h"
#include "uffd.h"

#define GIB (1UL << 30)
#define REPS 5
#define NFAULTS 2000
#define FAULT_REPS 3
#define WAIT_NS (30UL * 1000 * 1000 * 1000)

static u64 kernel_features;
static bool one_cpu;		/* the writer shares the handler's CPU */


static bool uffd_register(int fd, void *start, u64 len)
{
	struct uffdio_register r = { .range = { (u64)start, len }, .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(fd, UFFDIO_REGISTER, &r) == 0)
		return true;
	ktap_diag("UFFDIO_REGISTER: %s", errno_name(errno));
	return false;
}

static bool uffd_wp(int fd, void *start, u64 len, bool protect)
{
	struct uffdio_writeprotect w = {
		.range = { (u64)start, len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};
	return ioctl(fd, UFFDIO_WRITEPROTECT, &w) == 0;
}

static u8 *map_region(size_t len)
{
	u8 *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		     -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static void print_range(const char *what, u64 cycles, u64 pages)
{
	ktap_diag("%-34s %12lu cycles %6lu per page", what, (unsigned long)cycles,
		  (unsigned long)(cycles / pages));
}

static void print_fault(const char *what, u64 cycles)
{
	ktap_diag("%-34s %12lu cycles per fault", what, (unsigned long)cycles);
}

/* --- protecting a range --- */

enum fill { UNTOUCHED, READ, WRITTEN };

/* Time REPS protect/clear pairs of len bytes; false if a call failed. */
static bool time_protect(const char *name, size_t len, enum fill fill, u64 features)
{
	int fd = uffd_open(features, &kernel_features);
	u8 *p = map_region(len);
	if (!p) {
		ktap_diag("%s: mmap %lu MiB: %s", name, len >> 20, errno_name(errno));
		close(fd);
		return false;
	}
	volatile u8 sink = 0;
	for (size_t off = 0; fill != UNTOUCHED && off < len; off += PAGE_SIZE) {
		if (fill == READ)
			sink += ((volatile u8 *)p)[off];
		else
			p[off] = 1;
	}
	(void)sink;
	bool ok = uffd_register(fd, p, len);
	u64 set[REPS], clear[REPS];
	for (int r = 0; ok && r < REPS; r++) {
		u64 t0 = rdtsc();
		ok &= uffd_wp(fd, p, len, true);
		u64 t1 = rdtsc();
		ok &= uffd_wp(fd, p, len, false);
		u64 t2 = rdtsc();
		set[r] = t1 - t0;
		clear[r] = t2 - t1;
	}
	if (ok) {
		char what[64];
		u64 pages = len / PAGE_SIZE;
		u64 first = set[0];
		snprintf(what, sizeof(what), "%s protect", name);
		print_range(what, median_u64(set, REPS), pages);
		snprintf(what, sizeof(what), "%s protect, 1st run", name);
		print_range(what, first, pages);
		snprintf(what, sizeof(what), "%s clear", name);
		print_range(what, median_u64(clear, REPS), pages);
	} else {
		ktap_diag("%s: UFFDIO_WRITEPROTECT failed: %s", name, errno_name(errno));
	}
	close(fd);
	munmap(p, len);
	return ok;
}

/* --- sync faults: a writer on CPU 1, the handler (us) on CPU 0 --- */

struct writer {
	u8 *pages;
	u64 cycles[NFAULTS];
	volatile int go;
	volatile int done;
};

static long writer_main(void *arg)
{
	struct writer *w = arg;

	while (!READ_ONCE(w->go))
		__asm__ volatile("pause");
	for (int i = 0; i < NFAULTS; i++) {
		u64 t0 = rdtsc();
		((volatile u8 *)w->pages)[i * PAGE_SIZE] = 2;
		w->cycles[i] = rdtsc() - t0;
	}
	WRITE_ONCE(w->done, 1);
	return 1;
}

static struct writer writer;

/* The next message: sleeping in poll(2), or (spin) trying read(2) until
 * one comes, so that the handler's CPU never goes idle. */
static bool next_msg(int fd, struct uffd_msg *m, bool spin)
{
	if (spin) {
		for (int i = 0; i < 1000000; i++) {
			if (read(fd, m, sizeof(*m)) == (ssize_t)sizeof(*m))
				return true;
			if (one_cpu)
				sched_yield();	/* the writer needs this CPU */
			else
				__asm__ volatile("pause");
		}
		return false;
	}
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	return poll(&pfd, 1, 100) == 1 && read(fd, m, sizeof(*m)) == (ssize_t)sizeof(*m);
}

/* One round: protect NFAULTS pages, let the writer write them all, serve
 * each fault. Returns the writer's median, or 0 when a fault was missed. */
static u64 sync_round(int fd, u8 *p, int cpu, bool spin)
{
	if (!uffd_wp(fd, p, (u64)NFAULTS * PAGE_SIZE, true))
		return 0;
	writer.pages = p;
	writer.go = 0;
	writer.done = 0;
	struct uthread *t = thread_create(writer_main, &writer, cpu);
	if (!t)
		ktap_bail("thread_create: %s", errno_name(errno));
	WRITE_ONCE(writer.go, 1);
	int served = 0;
	u64 deadline = now_ns() + WAIT_NS;
	while (served < NFAULTS && now_ns() < deadline) {
		struct uffd_msg m;
		if (!next_msg(fd, &m, spin))
			continue;
		if (m.event != UFFD_EVENT_PAGEFAULT || !(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			continue;
		if (!uffd_wp(fd, (void *)m.arg.pagefault.address, PAGE_SIZE, false))
			ktap_bail("UFFDIO_WRITEPROTECT clear: %s", errno_name(errno));
		served++;
	}
	if (served < NFAULTS) {
		uffd_wp(fd, p, (u64)NFAULTS * PAGE_SIZE, false);	/* let it finish */
		ktap_diag("sync: %d of %d faults served", served, NFAULTS);
	}
	while (!READ_ONCE(writer.done))
		sleep_ns(1000 * 1000);
	thread_join(t);
	return served == NFAULTS ? median_u64(writer.cycles, NFAULTS) : 0;
}

static bool sync_faults(int writer_cpu, bool spin)
{
	int fd = uffd_open(0, &kernel_features);
	u8 *p = map_region((u64)NFAULTS * PAGE_SIZE);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	memset(p, 1, (u64)NFAULTS * PAGE_SIZE);
	bool ok = uffd_register(fd, p, (u64)NFAULTS * PAGE_SIZE);
	u64 med[FAULT_REPS];
	_Static_assert(FAULT_REPS == 3, "the diagnostic prints three runs");
	for (int r = 0; ok && r < FAULT_REPS; r++) {
		med[r] = sync_round(fd, p, writer_cpu, spin);
		ok &= med[r] != 0;
	}
	for (int i = 0; ok && i < NFAULTS; i++)
		ok &= p[i * PAGE_SIZE] == 2;
	if (ok) {
		print_fault(spin ? "sync round trip, handler spins" :
			    "sync round trip, handler polls", median_u64(med, FAULT_REPS));
		ktap_diag("  (each run's median, sorted: %lu %lu %lu)", (unsigned long)med[0],
			  (unsigned long)med[1], (unsigned long)med[2]);
	}
	close(fd);
	munmap(p, (u64)NFAULTS * PAGE_SIZE);
	return ok;
}

/* --- async faults, and a plain write fault for scale --- */

static u64 time_writes(u8 *p, u8 val)
{
	static u64 cycles[NFAULTS];

	for (int i = 0; i < NFAULTS; i++) {
		u64 t0 = rdtsc();
		((volatile u8 *)p)[i * PAGE_SIZE] = val;
		cycles[i] = rdtsc() - t0;
	}
	return median_u64(cycles, NFAULTS);
}

static bool async_faults(void)
{
	int fd = uffd_open(UFFD_FEATURE_WP_ASYNC, &kernel_features);
	u8 *p = map_region((u64)NFAULTS * PAGE_SIZE);
	if (!p)
		ktap_bail("mmap: %s", errno_name(errno));
	memset(p, 1, (u64)NFAULTS * PAGE_SIZE);
	bool ok = uffd_register(fd, p, (u64)NFAULTS * PAGE_SIZE);
	u64 med[FAULT_REPS];
	for (int r = 0; ok && r < FAULT_REPS; r++) {
		ok &= uffd_wp(fd, p, (u64)NFAULTS * PAGE_SIZE, true);
		med[r] = time_writes(p, (u8)(2 + r));
	}
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ok &= poll(&pfd, 1, 0) == 0;		/* async: never a message */
	for (int i = 0; ok && i < NFAULTS; i++)
		ok &= p[i * PAGE_SIZE] == 1 + FAULT_REPS;
	if (ok)
		print_fault("async wp fault", median_u64(med, FAULT_REPS));
	close(fd);
	munmap(p, (u64)NFAULTS * PAGE_SIZE);
	return ok;
}

static bool plain_faults(void)
{
	u64 med[FAULT_REPS];
	bool ok = true;

	for (int r = 0; r < FAULT_REPS; r++) {
		u8 *p = map_region((u64)NFAULTS * PAGE_SIZE);
		if (!p)
			ktap_bail("mmap: %s", errno_name(errno));
		volatile u8 sink = 0;
		for (int i = 0; i < NFAULTS; i++)
			sink += ((volatile u8 *)p)[i * PAGE_SIZE];
		(void)sink;
		med[r] = time_writes(p, 3);
		for (int i = 0; i < NFAULTS; i++)
			ok &= p[i * PAGE_SIZE] == 3;
		munmap(p, (u64)NFAULTS * PAGE_SIZE);
	}
	print_fault("write fault on a zero page", median_u64(med, FAULT_REPS));
	return ok;
}

int main(void)
{
	ktap_plan(8);
	int n = online_cpus();
	one_cpu = n == 1;
	int fd = uffd_open(0, &kernel_features);		/* learn the features */
	close(fd);
	long mem_kb = proc_field("/proc/meminfo", "MemTotal");
	size_t written = mem_kb >= 1792L * 1024 ? GIB : GIB / 4;
	ktap_diag("%s, %d CPUs, %ld MiB; TSC cycles, median of %d (protect) and of %d x %d "
		  "(faults)", system_name(), n, mem_kb / 1024, REPS, FAULT_REPS, NFAULTS);
	ktap_diag("WP_UNPOPULATED %s, WP_ASYNC %s",
		  kernel_features & UFFD_FEATURE_WP_UNPOPULATED ? "yes" : "no",
		  kernel_features & UFFD_FEATURE_WP_ASYNC ? "yes" : "no");

	pin_to_cpu(0);
	ktap_ok(time_protect("1 GiB unpopulated", GIB, UNTOUCHED, 0),
		"protect and clear 1 GiB never touched");
	if (kernel_features & UFFD_FEATURE_WP_UNPOPULATED)
		ktap_ok(time_protect("1 GiB markers", GIB, UNTOUCHED, UFFD_FEATURE_WP_UNPOPULATED),
			"protect and clear 1 GiB never touched, with markers");
	else
		ktap_skip("no UFFD_FEATURE_WP_UNPOPULATED (Linux 6.5)",
			  "protect and clear 1 GiB never touched, with markers");
	ktap_ok(time_protect("1 GiB read-faulted", GIB, READ, 0),
		"protect and clear 1 GiB of zero-page entries");
	char name[32];
	snprintf(name, sizeof(name), "%lu MiB written", written >> 20);
	ktap_ok(time_protect(name, written, WRITTEN, 0), "protect and clear %s", name);

	ktap_ok(sync_faults(n > 1 ? 1 : 0, false),
		"sync wp faults, handler sleeping in poll: every one served, every write landed");
	ktap_ok(sync_faults(n > 1 ? 1 : 0, true),
		"sync wp faults, handler spinning on read: every one served, every write landed");
	if (kernel_features & UFFD_FEATURE_WP_ASYNC)
		ktap_ok(async_faults(), "async wp faults: no message, every write landed");
	else
		ktap_skip("no UFFD_FEATURE_WP_ASYNC (Linux 6.7)",
			  "async wp faults: no message, every write landed");
	ktap_ok(plain_faults(), "plain write faults after a read: every write landed");
	return ktap_finish();
}
