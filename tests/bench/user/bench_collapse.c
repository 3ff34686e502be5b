/* SPDX-License-Identifier: MIT */
/* bench_collapse - what MADV_COLLAPSE costs (docs/thp.md, "Collapse").
 *
 * For each of REPS fresh 2 MiB pieces (aligned, MADV_NOHUGEPAGE while
 * filled):
 *   fault-4k   cycles to write one word into each of the 512 pages of the
 *              piece: 512 faults of 4 KiB pages (the cost of making it);
 *   collapse   then MADV_HUGEPAGE and cycles for madvise(MADV_COLLAPSE) of
 *              the piece: scan, allocate 2 MiB, retract the table, flush,
 *              copy 512 pages, install, free the old pages and table.
 * Each figure is the median of REPS, in TSC cycles per 2 MiB; the collapse
 * figure is also given per 4 KiB page. AnonHugePages must grow by 2 MiB per
 * collapse and every byte must stay: the test points; the figures never
 * fail anything.
 */
#include "libc.h"

#define HUGE (2UL << 20)
#define NPAGES (HUGE / PAGE_SIZE)
#define REPS 15

static long anon_huge_kb(void)
{
	return proc_field("/proc/meminfo", "AnonHugePages");
}

static bool check(const u8 *r, u8 tag)
{
	for (unsigned long off = 0; off < HUGE; off += PAGE_SIZE)
		if (r[off] != (u8)(tag + off / PAGE_SIZE) || r[off + 1] != 0)
			return false;
	return true;
}

int main(void)
{
	struct utsname u;
	u64 fault[REPS], coll[REPS];
	bool ok = true, grew = true;
	ktap_plan(2);
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	ktap_diag("%s %s; 2 MiB pieces of 4 KiB pages, TSC cycles (median of %d)", u.sysname,
		  u.release, REPS);
	for (int i = 0; i < REPS; i++) {
		u8 *r = mmap_aligned(HUGE, HUGE);
		if (r == MAP_FAILED)
			ktap_bail("mmap: %s", errno_name(errno));
		madvise(r, HUGE, MADV_NOHUGEPAGE);
		u64 t0 = rdtsc();
		for (unsigned long off = 0; off < HUGE; off += PAGE_SIZE)
			r[off] = (u8)(i + off / PAGE_SIZE);
		fault[i] = rdtsc() - t0;
		madvise(r, HUGE, MADV_HUGEPAGE);
		long kb0 = anon_huge_kb();
		t0 = rdtsc();
		int e = madvise(r, HUGE, MADV_COLLAPSE);
		coll[i] = rdtsc() - t0;
		if (e < 0) {
			ktap_diag("MADV_COLLAPSE: %s", errno_name(errno));
			ok = false;
		}
		grew &= anon_huge_kb() - kb0 == 2048;
		ok &= check(r, (u8)i);
		munmap(r, HUGE);
	}
	u64 f = median_u64(fault, REPS), c = median_u64(coll, REPS);
	ktap_diag("fault-4k   %10lu cycles per 2 MiB (512 faults, %lu per page)", f, f / NPAGES);
	ktap_diag("collapse   %10lu cycles per 2 MiB (%lu per 4 KiB page; %lu.%02lu x the faults)", c,
		  c / NPAGES, c / f, (c * 100 / f) % 100);
	ktap_ok(grew, "AnonHugePages grew by 2048 kB per MADV_COLLAPSE");
	ktap_ok(ok, "MADV_COLLAPSE -> 0 and every page kept its data");
	return ktap_finish();
}
