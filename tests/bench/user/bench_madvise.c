/* SPDX-License-Identifier: MIT */
/* bench_madvise - what batching process_madvise(MADV_DONTNEED) saves, and
 * what freeing empty page tables after a zap gives back (docs/madvise.md,
 * docs/benchmarks.md).
 *
 * Latency: a REGION of private anonymous memory is written in 4 KiB pieces
 * (every page faulted in), then zapped with process_madvise on our own
 * pidfd, the pieces grouped VLEN iovecs to a call: VLEN 1 makes one call
 * per page, 1024 makes REGION / 4 MiB calls. Meanwhile a thread pinned to
 * each other CPU spins in user mode, so every flush must reach them by IPI.
 * Only the calls are timed (TSC); each figure is the median of REPS runs.
 * /proc/self/tlbstat (Pagoda's own) gives the remote flushes the calls
 * caused: with the whole vector under one mmu_gather that is one per call
 * whatever VLEN is; with `madvise_batch=0` on Pagoda's command line, one per
 * range. Linux before 6.13 refuses MADV_DONTNEED in process_madvise; the
 * program then says so and times one madvise() per iovec instead.
 *
 * Emptied PTE tables are freed by the zap itself on Pagoda (below), and a
 * freed table means a full flush and a new table at the next write; run
 * with `pt_reclaim=0` to time the zap of pages alone.
 *
 * Page-table memory: one byte written in every 2 MiB of a 2 MiB-aligned
 * GiB (512 PTE tables), then MADV_DONTNEED of the whole GiB. VmPTE from
 * /proc/self/status before writing, after, and after the zap: Pagoda frees
 * the emptied tables (unless booted with `pt_reclaim=0`); Linux 6.1 keeps
 * them until munmap.
 *
 * Test points check only that zapped memory reads zero; the figures are "#"
 * lines and never fail anything.
 */
#include "libc.h"

#define REGION (256UL << 20)
#define NPIECES (REGION / PAGE_SIZE)
#define REPS 5
#define MAX_HELPERS 64
#define SPARSE (1UL << 30)
#define HUGE (2UL << 20)
#define WAIT_NS (10UL * 1000 * 1000 * 1000)

static const int vlens[] = { 1, 2, 4, 16, 64, 1024 };
#define NVLENS ((int)ARRAY_SIZE(vlens))

static struct iovec pieces[NPIECES];
static bool use_madvise;	/* this kernel refuses DONTNEED in process_madvise */

/* --- helpers spinning on the other CPUs --- */

struct spinner {
	volatile u64 spins;
	u64 pad[7];
} __aligned(64);

static struct spinner spinners[MAX_HELPERS];
static struct uthread *helpers[MAX_HELPERS];
static volatile int helpers_stop;

static long spin_main(void *arg)
{
	struct spinner *s = arg;

	while (!READ_ONCE(helpers_stop)) {
		s->spins++;
		__asm__ volatile("pause");
	}
	return 1;
}

static bool start_helpers(int n)
{
	u64 deadline = now_ns() + WAIT_NS;

	for (int i = 1; i < n; i++) {
		helpers[i] = thread_create(spin_main, &spinners[i], i);
		if (!helpers[i])
			return false;
	}
	for (int i = 1; i < n; i++)
		while (spinners[i].spins == 0) {
			if (now_ns() > deadline || READ_ONCE(helpers[i]->tid) == 0)
				return false;
			sched_yield();
		}
	return true;
}

static bool stop_helpers(int n)
{
	bool ok = true;

	WRITE_ONCE(helpers_stop, 1);
	for (int i = 1; i < n; i++)
		if (helpers[i] && thread_join(helpers[i]) != 1)
			ok = false;
	return ok;
}

/* --- counters --- */

/* --- latency --- */

/* Zap the region's pieces VLEN at a time; returns false if a call failed. */
static bool zap_all(int pidfd, int vlen)
{
	for (size_t i = 0; i < NPIECES; i += vlen) {
		if (use_madvise) {
			for (int k = 0; k < vlen; k++)
				if (madvise(pieces[i + k].iov_base, PAGE_SIZE, MADV_DONTNEED) < 0)
					return false;
		} else if (process_madvise(pidfd, &pieces[i], vlen, MADV_DONTNEED, 0) !=
			   (ssize_t)(vlen * PAGE_SIZE)) {
			return false;
		}
	}
	return true;
}

static bool latency(int pidfd, u8 *r)
{
	bool all_ok = true;

	ktap_diag("%-5s %6s %12s %14s %14s %14s", "vlen", "calls", "cycles/call",
		  "total Mcycles", "rflush/call", "ipi-recv/call");
	for (int v = 0; v < NVLENS; v++) {
		int vlen = vlens[v];
		size_t calls = NPIECES / vlen;
		u64 cyc[REPS];
		long flush = 0, recv = 0;
		bool ok = true, counters = proc_counter("/proc/self/tlbstat", "nr_tlb_remote_flush") >= 0;

		for (int rep = 0; rep < REPS; rep++) {
			for (size_t i = 0; i < NPIECES; i++)
				r[i * PAGE_SIZE] = (u8)(1 + rep);
			long f0 = proc_counter("/proc/self/tlbstat", "nr_tlb_remote_flush");
			long g0 = proc_counter("/proc/self/tlbstat", "nr_tlb_remote_flush_received");
			u64 t0 = rdtsc();
			ok &= zap_all(pidfd, vlen);
			cyc[rep] = rdtsc() - t0;
			flush += proc_counter("/proc/self/tlbstat", "nr_tlb_remote_flush") - f0;
			recv += proc_counter("/proc/self/tlbstat", "nr_tlb_remote_flush_received") - g0;
			for (size_t i = 0; i < NPIECES; i += 61)
				ok &= r[i * PAGE_SIZE] == 0;
		}
		u64 m = median_u64(cyc, REPS);
		char fl[32] = "-", rc[32] = "-";
		if (counters) {
			snprintf(fl, sizeof(fl), "%lu.%02lu", (unsigned long)(flush / REPS / calls),
				 (unsigned long)(flush * 100 / REPS / calls % 100));
			snprintf(rc, sizeof(rc), "%lu.%02lu", (unsigned long)(recv / REPS / calls),
				 (unsigned long)(recv * 100 / REPS / calls % 100));
		}
		ktap_diag("%-5d %6lu %12lu %14lu %14s %14s", vlen, (unsigned long)calls,
			  (unsigned long)(m / calls), (unsigned long)(m / 1000000), fl, rc);
		all_ok &= ok;
	}
	return all_ok;
}

/* --- page tables after a sparse zap --- */

static bool sparse(void)
{
	u8 *raw = mmap(NULL, SPARSE + HUGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		ktap_diag("mmap 1 GiB: %s", errno_name(errno));
		return false;
	}
	u8 *r = (u8 *)(((unsigned long)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(r, SPARSE, MADV_NOHUGEPAGE);	/* 4 KiB pages under a table each */
	long before = proc_field("/proc/self/status", "VmPTE");
	for (unsigned long off = 0; off < SPARSE; off += HUGE)
		r[off] = 1;
	long touched = proc_field("/proc/self/status", "VmPTE");
	int e = madvise(r, SPARSE, MADV_DONTNEED);
	long after = proc_field("/proc/self/status", "VmPTE");
	bool ok = e == 0;
	for (unsigned long off = 0; off < SPARSE; off += HUGE)
		ok &= r[off] == 0;
	ktap_diag("VmPTE: %ld kB before, %ld kB with one page in every 2 MiB of 1 GiB, "
		  "%ld kB after MADV_DONTNEED of the GiB", before, touched, after);
	munmap(raw, SPARSE + HUGE);
	return ok;
}

int main(void)
{
	ktap_plan(3);
	int n = online_cpus();
	if (n > MAX_HELPERS)
		n = MAX_HELPERS;
	ktap_diag("%s, %d CPUs, %lu MiB in 4 KiB pieces, median of %d runs", system_name(), n,
		  REGION >> 20, REPS);

	int pidfd = pidfd_open(getpid(), 0);
	u8 *r = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pidfd < 0 || r == MAP_FAILED)
		ktap_bail("pidfd_open or mmap: %s", errno_name(errno));
	madvise(r, REGION, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < NPIECES; i++) {
		pieces[i].iov_base = r + i * PAGE_SIZE;
		pieces[i].iov_len = PAGE_SIZE;
	}
	r[0] = 1;
	if (process_madvise(pidfd, pieces, 1, MADV_DONTNEED, 0) < 0) {
		if (errno != EINVAL)
			ktap_bail("process_madvise: %s", errno_name(errno));
		use_madvise = true;
		ktap_diag("process_madvise refuses MADV_DONTNEED here (Linux before 6.13):"
			  " timing one madvise() per iovec instead");
	}

	pin_to_cpu(0);
	bool helpers_ok = start_helpers(n);
	ktap_ok(helpers_ok, "a spinning thread on each of the other %d CPUs", n - 1);
	ktap_ok(helpers_ok && latency(pidfd, r), "every piece zapped reads zero");
	stop_helpers(n);
	munmap(r, REGION);
	ktap_ok(sparse(), "1 GiB touched sparsely reads zero after MADV_DONTNEED");
	close(pidfd);
	return ktap_finish();
}
