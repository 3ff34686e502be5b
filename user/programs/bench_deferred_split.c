/* bench_deferred_split - the memory a partial munmap of THPs leaves behind,
 * and what the deferred split gives back (docs/thp.md, "Deferred split").
 *
 * 100 THPs (MADV_HUGEPAGE, every 4 KiB page written), then the upper half
 * of each is unmapped. Until their deferred split, each keeps all 2 MiB.
 * The drain is made to happen the way it happens on both kernels: memory
 * pressure. A second region (MADV_NOHUGEPAGE) of MemFree + 50 MiB is
 * written page by page: more than is free, less than free plus the 100
 * MiB the unmapped halves hold. Linux's reclaim runs the deferred split
 * shrinker; Pagoda's allocator drains the queue before it fails a fault's
 * request. Then the pressure region goes, and MemFree is read again.
 *
 * Figures (MemFree in MiB, /proc/vmstat deltas): before the THPs, with
 * them, after the partial munmap, after the pressure. Test points: every
 * byte kept is still right; the pressure did not need more than the
 * unmapped halves. The figures never fail anything.
 */
#include "libc.h"
#include "proc.h"

#define NR_THPS 100
#define HUGE (2UL << 20)
#define HALF (HUGE / 2)
#define EXTRA (50UL << 20)

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

int main(void)
{
	struct utsname u;
	struct snapshot s0, s1, s2, s3;
	ktap_plan(3);
	set_thp_madvise();
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	ktap_diag("%s %s; %d THPs, the upper 1 MiB of each unmapped, then %lu MiB more than "
		  "MemFree written", u.sysname, u.release, NR_THPS, EXTRA >> 20);
	snap(&s0);
	u8 *r = mmap_aligned(NR_THPS * HUGE, HUGE);
	if (r == MAP_FAILED || madvise(r, NR_THPS * HUGE, MADV_HUGEPAGE) < 0) {
		ktap_diag("mmap/madvise: %s", errno_name(errno));
		return 1;
	}
	pattern((u64 *)r, NR_THPS * HUGE, true);
	snap(&s1);
	for (int i = 0; i < NR_THPS; i++)
		munmap(r + i * HUGE + HALF, HALF);
	snap(&s2);
	/* The pressure: MemFree now, plus EXTRA. */
	unsigned long len = (unsigned long)s2.free_kb * 1024 + EXTRA;
	u8 *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool pressed = p != MAP_FAILED;
	if (pressed) {
		madvise(p, len, MADV_NOHUGEPAGE);
		for (unsigned long off = 0; off < len; off += PAGE_SIZE)
			p[off] = 1;
		munmap(p, len);
	}
	snap(&s3);
	bool kept = true;
	for (int i = 0; i < NR_THPS; i++)
		kept &= pattern((u64 *)(r + i * HUGE), HALF, false);
	ktap_ok(kept, "every byte of the %d halves kept is still right", NR_THPS);
	ktap_ok(pressed, "MemFree + %lu MiB written (the deferred split made room)", EXTRA >> 20);
	long back = (s3.free_kb - s2.free_kb) / 1024;
	ktap_ok(back >= (long)(NR_THPS * HALF >> 20) * 9 / 10,
		"MemFree after the pressure is back by about the %lu MiB unmapped (%ld MiB)",
		(unsigned long)(NR_THPS * HALF >> 20), back);
	row("before the THPs", &s0, &s0);
	row("100 THPs written", &s1, &s0);
	row("upper halves unmapped", &s2, &s0);
	row("after the pressure", &s3, &s0);
	munmap(r, NR_THPS * HUGE);
	return ktap_finish();
}
