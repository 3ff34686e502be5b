/* SPDX-License-Identifier: MIT */
/* bench_thp - what transparent huge pages save (docs/thp.md, docs/benchmarks.md).
 *
 * Over a 16 MiB region aligned to 2 MiB, each case once with MADV_HUGEPAGE
 * (2 MiB pages where the kernel gives them) and once with MADV_NOHUGEPAGE
 * (4 KiB pages only):
 *   read-then-write  read every page first (the huge zero page, or the 4 KiB
 *                    zero page), then time writing one word into every 4 KiB
 *                    page: with THP the first write per 2 MiB replaces the
 *                    huge zero page, the other 511 need no fault;
 *   first-write      time writing every 4 KiB page of fresh memory;
 *   fork             with every page written, time fork + the child's exit
 *                    + wait: copy-on-write sharing of 8 PMDs against 4096 PTEs.
 * Each figure is the median of REPS runs, in TSC cycles, per 2 MiB (for
 * fork: per fork). /proc/meminfo's AnonHugePages before and after the
 * first-write case shows whether huge pages were really used.
 *
 * Test points check only that the memory holds what was written; the
 * figures never fail anything.
 */
#include "libc.h"

#define REGION (16UL << 20)
#define HUGE (2UL << 20)
#define REPS 7

static int madvise_errno;

/* A fresh 16 MiB region at a 2 MiB boundary, with the advice given. */
static u8 *region_map(int advice)
{
	u8 *r = mmap_aligned(REGION, HUGE);
	if (r == MAP_FAILED)
		return NULL;
	if (madvise(r, REGION, advice) < 0)     /* a kernel without THP may refuse */
		madvise_errno = errno;
	return r;
}

static long anon_huge_kb(void)
{
	static char buf[8192];
	int fd = open("/proc/meminfo", O_RDONLY, 0);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *p = strstr(buf, "AnonHugePages:");
	if (!p)
		return -1;
	p += 14;
	while (*p == ' ')
		p++;
	long v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	return v;
}

static bool check(const u8 *r, u8 tag)
{
	for (unsigned long off = 0; off < REGION; off += PAGE_SIZE)
		if (r[off] != tag)
			return false;
	return true;
}

/* Returns the cycles for writing every page; *ok says the data is right. */
static u64 write_all(u8 *r, u8 tag)
{
	u64 t0 = rdtsc();
	for (unsigned long off = 0; off < REGION; off += PAGE_SIZE)
		r[off] = tag;
	return rdtsc() - t0;
}

struct figures {
	u64 read_then_write, first_write, fork;
	long huge_kb;
	bool ok;
};

static void run(int advice, struct figures *f)
{
	u64 rtw[REPS], fw[REPS], fk[REPS];
	f->ok = true;
	f->huge_kb = -1;
	for (int i = 0; i < REPS; i++) {
		u8 *r = region_map(advice);
		if (!r) {
			f->ok = false;
			return;
		}
		volatile u8 sink = 0;
		for (unsigned long off = 0; off < REGION; off += PAGE_SIZE)
			sink += r[off];
		(void)sink;
		rtw[i] = write_all(r, 1);
		f->ok &= check(r, 1);
		munmap(r, REGION);

		r = region_map(advice);
		if (!r) {
			f->ok = false;
			return;
		}
		long kb0 = anon_huge_kb();
		fw[i] = write_all(r, 2);
		long kb1 = anon_huge_kb();
		if (i == 0 && kb0 >= 0 && kb1 >= 0)
			f->huge_kb = kb1 - kb0;
		f->ok &= check(r, 2);

		u64 t0 = rdtsc();
		pid_t pid = fork();
		if (pid == 0)
			exit(0);
		int status = 0;
		if (pid < 0 || wait4(pid, &status, 0, NULL) != pid || status != 0)
			f->ok = false;
		fk[i] = rdtsc() - t0;
		f->ok &= check(r, 2);
		munmap(r, REGION);
	}
	f->read_then_write = median_u64(rtw, REPS) / (REGION / HUGE);
	f->first_write = median_u64(fw, REPS) / (REGION / HUGE);
	f->fork = median_u64(fk, REPS);
}

int main(void)
{
	struct utsname u;
	struct figures thp, small;

	ktap_plan(2);
	/* Linux: Debian's kernel starts with THP "never"; ask for Pagoda's
	 * default, "madvise" (root may; Pagoda has no /sys and needs none). */
	int sfd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_WRONLY, 0);
	if (sfd >= 0) {
		if (write(sfd, "madvise", 7) != 7)
			ktap_diag("could not set THP to madvise: %s", errno_name(errno));
		close(sfd);
	}
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	ktap_diag("%s %s; 16 MiB of private anonymous memory, TSC cycles (median of %d)",
		  u.sysname, u.release, REPS);
	run(MADV_HUGEPAGE, &thp);
	ktap_ok(thp.ok, "MADV_HUGEPAGE: every page holds what was written, fork kept it");
	run(MADV_NOHUGEPAGE, &small);
	ktap_ok(small.ok, "MADV_NOHUGEPAGE: every page holds what was written, fork kept it");
	ktap_diag("%-16s %14s %14s", "per 2 MiB", "MADV_HUGEPAGE", "MADV_NOHUGEPAGE");
	ktap_diag("%-16s %14lu %14lu", "read-then-write", thp.read_then_write, small.read_then_write);
	ktap_diag("%-16s %14lu %14lu", "first-write", thp.first_write, small.first_write);
	ktap_diag("%-16s %14lu %14lu", "fork 16 MiB", thp.fork, small.fork);
	if (madvise_errno)
		ktap_diag("madvise refused the advice: %s", errno_name(madvise_errno));
	static char mode[128];
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY, 0);
	if (fd >= 0) {
		ssize_t n = read(fd, mode, sizeof(mode) - 1);
		close(fd);
		if (n > 0) {
			mode[n - 1] = 0;
			ktap_diag("THP setting: %s", mode);
		}
	}
	ktap_diag("AnonHugePages grew by %ld kB (huge) and %ld kB (small) in the first-write case",
		  thp.huge_kb, small.huge_kb);
	return ktap_finish();
}
