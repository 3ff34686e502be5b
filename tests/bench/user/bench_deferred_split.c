/* SPDX-License-Identifier: MIT */
/* bench_deferred_split - the memory a partial munmap of THPs leaves behind,
 * and what the deferred split gives back (docs/thp.md, "Deferred split").
 *
 * 100 THPs (MADV_HUGEPAGE, every byte written), then the upper half of
 * each is unmapped. Until their deferred split, each keeps all 2 MiB.
 * Two ways to make the split happen, each on its own 100 THPs:
 *   drop_caches  "2" written to /proc/sys/vm/drop_caches: Linux runs every
 *                shrinker, its deferred split queue's among them; Pagoda
 *                drains its queue (its one shrinkable cache). Both kernels.
 *   pressure     a second region (MADV_NOHUGEPAGE) of MemFree + 25 MiB is
 *                written page by page: more than is free, less than free
 *                plus what the unmapped halves hold. Pagoda's allocator
 *                drains the queue before it fails a fault's request. Only
 *                on Pagoda: Linux 6.1 (no swap) OOM-killed this program in
 *                most runs before its shrinker had split enough.
 * Figures: MemFree (MiB) and /proc/vmstat deltas after each step. Test
 * points: every byte kept is still right, and thp_split_page grew by 100.
 * The figures never fail anything (Linux's MemFree leaves out the free
 * pages in its per-CPU lists, some MiB).
 */
#include "libc.h"
#include "proc.h"

#define NR_THPS 100
#define HUGE (2UL << 20)
#define HALF (HUGE / 2)
#define EXTRA (25UL << 20)

static const char *const vm_names[] = {
	"thp_split_pmd", "thp_split_page", "thp_deferred_split_page",
};
#define NR_VM (sizeof(vm_names) / sizeof(vm_names[0]))

struct snapshot {
	long free_kb, anon_huge_kb;
	u64 vm[NR_VM];
	bool have[NR_VM];
};

static void snap(struct snapshot *s)
{
	s->free_kb = proc_field("/proc/meminfo", "MemFree");
	s->anon_huge_kb = proc_field("/proc/meminfo", "AnonHugePages");
	proc_counters("/proc/vmstat", vm_names, NR_VM, s->vm, s->have);
}

static u64 word_of(const void *addr) { return (u64)(unsigned long)addr * 0x9e3779b97f4a7c15UL; }

/* Write (or check) one word per 8 bytes of [p, p + len). */
static bool pattern(u64 *p, unsigned long len, bool write)
{
	for (unsigned long i = 0; i < len / 8; i++) {
		if (write)
			p[i] = word_of(&p[i]);
		else if (p[i] != word_of(&p[i]))
			return false;
	}
	return true;
}

static void set_thp_madvise(void)
{
	/* Linux: Debian's kernel starts with THP "never"; ask for Pagoda's
	 * default, "madvise" (Pagoda has no /sys and needs none). */
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_WRONLY, 0);
	if (fd >= 0) {
		if (write(fd, "madvise", 7) != 7)
			ktap_diag("could not set THP to madvise: %s", errno_name(errno));
		close(fd);
	}
}

static void row(const char *what, const struct snapshot *s, const struct snapshot *base)
{
	ktap_diag("%-24s MemFree %4ld MiB (change %5ld)  AnonHugePages %4ld MiB  "
		  "thp_split_page %4ld  thp_deferred_split_page %4ld", what, s->free_kb / 1024,
		  (s->free_kb - base->free_kb) / 1024, s->anon_huge_kb / 1024,
		  s->have[1] ? (long)(s->vm[1] - base->vm[1]) : -1,
		  s->have[2] ? (long)(s->vm[2] - base->vm[2]) : -1);
}

/* 100 THPs written, their upper halves unmapped: the region. */
static u8 *thps_half_unmapped(struct snapshot *written, struct snapshot *unmapped)
{
	u8 *r = mmap_aligned(NR_THPS * HUGE, HUGE);
	if (r == MAP_FAILED || madvise(r, NR_THPS * HUGE, MADV_HUGEPAGE) < 0) {
		ktap_diag("mmap/madvise: %s", errno_name(errno));
		return NULL;
	}
	pattern((u64 *)r, NR_THPS * HUGE, true);
	snap(written);
	for (int i = 0; i < NR_THPS; i++)
		munmap(r + i * HUGE + HALF, HALF);
	snap(unmapped);
	return r;
}

static bool halves_intact(u8 *r)
{
	bool kept = true;
	for (int i = 0; i < NR_THPS; i++)
		kept &= pattern((u64 *)(r + i * HUGE), HALF, false);
	return kept;
}

static bool drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY, 0);
	if (fd < 0)
		return false;
	bool ok = write(fd, "2\n", 2) == 2;
	close(fd);
	return ok;
}

/* MemFree + EXTRA written in 4 KiB pages, then unmapped. */
static bool pressure(const struct snapshot *now)
{
	unsigned long len = (unsigned long)now->free_kb * 1024 + EXTRA;
	u8 *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	madvise(p, len, MADV_NOHUGEPAGE);
	for (unsigned long off = 0; off < len; off += PAGE_SIZE)
		p[off] = 1;
	munmap(p, len);
	return true;
}

/* One way of making the split happen, on its own 100 THPs. */
static void run(const char *how, bool use_pressure)
{
	struct snapshot s0, s1, s2, s3;
	snap(&s0);
	u8 *r = thps_half_unmapped(&s1, &s2);
	if (!r) {
		ktap_ok(false, "%s: 100 THPs mapped", how);
		return;
	}
	bool done = use_pressure ? pressure(&s2) : drop_caches();
	snap(&s3);
	ktap_ok(done, "%s: %s", how, use_pressure ? "MemFree + 25 MiB written" :
		"2 written to /proc/sys/vm/drop_caches");
	ktap_ok(halves_intact(r), "%s: every byte of the %d halves kept is still right", how,
		NR_THPS);
	/* MemFree is a figure, not a test: Linux does not count the free
	 * pages waiting in its per-CPU lists. */
	long split = s3.have[1] ? (long)(s3.vm[1] - s0.vm[1]) : -1;
	ktap_ok(split == NR_THPS, "%s: every THP split (thp_split_page +%ld)", how, split);
	ktap_diag("%s: MemFree came back by %ld MiB (the halves unmapped: %lu MiB)", how,
		  (s3.free_kb - s2.free_kb) / 1024, (unsigned long)(NR_THPS * HALF >> 20));
	row("before the THPs", &s0, &s0);
	row("100 THPs written", &s1, &s0);
	row("upper halves unmapped", &s2, &s0);
	row(use_pressure ? "after the pressure" : "after drop_caches", &s3, &s0);
	munmap(r, NR_THPS * HUGE);
}

int main(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	bool pagoda = !strcmp(u.sysname, "Pagoda");
	ktap_plan(pagoda ? 6 : 3);
	set_thp_madvise();
	ktap_diag("%s %s; %d THPs, the upper 1 MiB of each unmapped", u.sysname, u.release,
		  NR_THPS);
	run("drop_caches", false);
	if (pagoda)
		run("pressure", true);
	return ktap_finish();
}
