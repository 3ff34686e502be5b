/* SPDX-License-Identifier: MIT */
/* collapse_test - madvise(MADV_COLLAPSE): 512 small pages become one huge
 * page (docs/thp.md, "Collapse"), with Linux 6.1's answers: a full piece, a
 * half-full one, zero-page entries, nothing written (EINVAL), a range with
 * no whole 2 MiB piece (0, nothing done), already huge (0), a piece never
 * touched, MADV_NOHUGEPAGE and a VMA too small (EINVAL), a hole (ENOMEM), pages shared with a fork
 * child (copied: the child keeps its own; all read-only: EINVAL), a page
 * write-protected by userfaultfd (EINVAL). Huge pages are counted by the
 * AnonHugePages line of /proc/meminfo, every byte is checked.
 *
 * Linux's THP mode does not matter to MADV_COLLAPSE; the output is the same
 * on Linux 6.1 (tools/linux-ref, whose default is "never") and on Pagoda.
 */
#include "libc.h"
#include "uffd.h"

#define HUGE (2UL << 20)
#define NPAGES (HUGE / PAGE_SIZE)

/* A 2 MiB-aligned private anonymous region of n pieces. */
static u8 *map_pieces(size_t n)
{
	u8 *p = mmap(NULL, (n + 1) * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	u8 *a = (u8 *)(((unsigned long)p + HUGE - 1) & ~(HUGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + n * HUGE, (size_t)(p + HUGE - a));
	return a;
}

static int madv(void *p, size_t len, int advice)
{
	return madvise(p, len, advice) < 0 ? -errno : 0;
}

static const char *err_name(int e)
{
	return e ? errno_name(-e) : "0";
}

/* What each page of a piece holds. */
enum fill { NONE, ZERO_PAGE, DATA };

static enum fill all_data(size_t i) { (void)i; return DATA; }
static enum fill odd_data(size_t i) { return (i & 1) ? DATA : NONE; }
static enum fill zero_or_data(size_t i) { return (i & 1) ? DATA : ZERO_PAGE; }
static enum fill all_zero(size_t i) { (void)i; return ZERO_PAGE; }

static u8 tag(size_t i, u8 seed) { return (u8)(seed + i * 7); }

/* Fill with small pages (MADV_NOHUGEPAGE while writing), then allow THP. */
static void fill(u8 *p, enum fill (*f)(size_t), u8 seed)
{
	madv(p, HUGE, MADV_NOHUGEPAGE);
	volatile u8 sink = 0;
	for (size_t i = 0; i < NPAGES; i++) {
		if (f(i) == DATA)
			memset(p + i * PAGE_SIZE, tag(i, seed), PAGE_SIZE);
		else if (f(i) == ZERO_PAGE)
			sink += p[i * PAGE_SIZE];
	}
	(void)sink;
	madv(p, HUGE, MADV_HUGEPAGE);
}

static bool bytes_ok(const u8 *p, enum fill (*f)(size_t), u8 seed)
{
	for (size_t i = 0; i < NPAGES; i++) {
		u8 want = f(i) == DATA ? tag(i, seed) : 0;
		for (size_t b = 0; b < PAGE_SIZE; b++)
			if (p[i * PAGE_SIZE + b] != want)
				return false;
	}
	return true;
}

static long anon_huge_kb(void)
{
	return proc_field("/proc/meminfo", "AnonHugePages");
}

/* MADV_COLLAPSE of one piece filled by f: the answer, the AnonHugePages
 * change and the bytes. */
static void piece(enum fill (*f)(size_t), int want, const char *what)
{
	u8 *p = map_pieces(1);
	fill(p, f, 3);
	long before = anon_huge_kb();
	int r = madv(p, HUGE, MADV_COLLAPSE);
	long grew = anon_huge_kb() - before;
	bool ok = r == want && grew == (want == 0 ? 2048 : 0) && bytes_ok(p, f, 3);
	if (!ktap_ok(ok, "%s -> %s, AnonHugePages +%ld kB, every byte kept", what, err_name(want),
		     want == 0 ? 2048L : 0L))
		ktap_diag("got %s, AnonHugePages +%ld kB", err_name(r), grew);
	munmap(p, HUGE);
	long back = anon_huge_kb() - before;
	ktap_ok(back == 0, "%s: munmap gives the huge page back", what);
}

static void ranges(void)
{
	u8 *p = map_pieces(2);
	fill(p, all_data, 5);
	fill(p + HUGE, all_data, 6);
	long before = anon_huge_kb();
	/* Linux 6.1 computes "pieces wanted" as (hend - hstart) / 2 MiB with
	 * hstart rounded up and hend down, in unsigned arithmetic: a range
	 * inside one piece wants "a huge number" and gets EINVAL, one that
	 * meets a piece boundary but holds no whole piece wants 0 and gets 0. */
	int r = madv(p + PAGE_SIZE, HUGE / 2, MADV_COLLAPSE);
	if (!ktap_ok(r == -EINVAL && anon_huge_kb() == before,
		     "a range inside one 2 MiB piece -> EINVAL, nothing collapsed"))
		ktap_diag("got %s", err_name(r));
	r = madv(p + HUGE / 2, HUGE, MADV_COLLAPSE);
	if (!ktap_ok(r == 0 && anon_huge_kb() == before,
		     "a range across a piece boundary holding no whole piece -> 0, nothing collapsed"))
		ktap_diag("got %s", err_name(r));
	r = madv(p + HUGE, 2 * HUGE, MADV_COLLAPSE);
	ktap_ok(r == -ENOMEM && anon_huge_kb() - before == 2048,
		"a range running past the mapping -> ENOMEM, its mapped piece collapsed");
	r = madv(p + HUGE, HUGE, MADV_COLLAPSE);
	ktap_ok(r == 0 && anon_huge_kb() - before == 2048, "a piece already huge -> 0");
	madv(p, HUGE, MADV_NOHUGEPAGE);
	r = madv(p, HUGE, MADV_COLLAPSE);
	ktap_ok(r == -EINVAL && anon_huge_kb() - before == 2048, "MADV_NOHUGEPAGE -> EINVAL");
	madv(p, HUGE, MADV_HUGEPAGE);
	ktap_ok(bytes_ok(p, all_data, 5) && bytes_ok(p + HUGE, all_data, 6), "every byte kept");
	munmap(p, 2 * HUGE);

	/* Nothing ever mapped in a piece: EINVAL (the pieces before it are
	 * done); a mapping never touched at all: EINVAL. */
	p = map_pieces(2);
	fill(p, all_data, 7);
	before = anon_huge_kb();
	r = madv(p, 2 * HUGE, MADV_COLLAPSE);
	if (!ktap_ok(r == -EINVAL && anon_huge_kb() - before == 2048 && bytes_ok(p, all_data, 7),
		     "a written piece, then one never touched -> EINVAL, the first collapsed"))
		ktap_diag("got %s, AnonHugePages +%ld kB", err_name(r), anon_huge_kb() - before);
	munmap(p, 2 * HUGE);
	p = map_pieces(1);
	r = madv(p, HUGE, MADV_COLLAPSE);
	ktap_ok(r == -EINVAL, "a mapping never touched -> EINVAL");
	munmap(p, HUGE);
	/* The VMA is refused before its pieces are looked at (Linux: no
	 * anon_vma yet): even a range that holds no whole piece, 0 above. */
	p = map_pieces(2);
	r = madv(p + HUGE / 2, HUGE, MADV_COLLAPSE);
	if (!ktap_ok(r == -EINVAL, "a mapping never touched, a range holding no whole piece -> EINVAL"))
		ktap_diag("got %s", err_name(r));
	munmap(p, 2 * HUGE);

	u8 *s = mmap(NULL, HUGE / 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(s, 1, HUGE / 2);
	r = madv(s, HUGE / 2, MADV_COLLAPSE);
	ktap_ok(r == -EINVAL, "a 1 MiB mapping (no 2 MiB piece fits) -> EINVAL");
	munmap(s, HUGE / 2);
}

/* The parent collapses pages it shares with a fork child: its own copy
 * becomes huge, the child keeps reading what it had. */
static void shared_with_child(void)
{
	u8 *p = map_pieces(1);
	fill(p, all_data, 9);
	volatile u32 *go = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*go = 0;
	pid_t pid = fork();
	if (pid == 0) {
		while (*go == 0)
			;
		exit(bytes_ok(p, all_data, 9) ? 0 : 1);
	}
	int r = madv(p, HUGE, MADV_COLLAPSE);
	ktap_ok(r == -EINVAL, "every page shared read-only with a fork child -> EINVAL");
	for (size_t i = 0; i < NPAGES; i += 2)
		p[i * PAGE_SIZE] = tag(i, 9);   /* copy-on-write: half now our own */
	long before = anon_huge_kb();
	r = madv(p, HUGE, MADV_COLLAPSE);
	ktap_ok(r == 0 && anon_huge_kb() - before == 2048 && bytes_ok(p, all_data, 9),
		"half of them written since the fork -> 0, the shared ones copied");
	*go = 1;
	int status = -1;
	wait4(pid, &status, 0, NULL);
	ktap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"the child still reads its own pages, unchanged");
	munmap(p, HUGE);
	munmap((void *)go, PAGE_SIZE);
}

/* A page write-protected by userfaultfd: the piece is not collapsed. */
static void uffd_protected(void)
{
	u8 *p = map_pieces(1);
	fill(p, all_data, 11);
	int fd = uffd_open(0, NULL);
	struct uffdio_register reg = { .range = { (u64)p, HUGE }, .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { (u64)p + 5 * PAGE_SIZE, PAGE_SIZE },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0 || ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0)
		ktap_bail("userfaultfd: %s", errno_name(errno));
	int r = madv(p, HUGE, MADV_COLLAPSE);
	ktap_ok(r == -EINVAL, "a page write-protected by userfaultfd -> EINVAL");
	wp.mode = 0;
	ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
	long before = anon_huge_kb();
	r = madv(p, HUGE, MADV_COLLAPSE);
	ktap_ok(r == 0 && anon_huge_kb() - before == 2048 && bytes_ok(p, all_data, 11),
		"the protection removed -> 0");
	close(fd);
	munmap(p, HUGE);
}

int main(void)
{
	ktap_plan(23);
	piece(all_data, 0, "512 written pages");
	piece(odd_data, 0, "256 written pages, 256 empty");
	piece(zero_or_data, 0, "256 written pages, 256 zero-page reads");
	piece(all_zero, -EINVAL, "512 zero-page reads (nothing written)");
	ranges();
	shared_with_child();
	uffd_protected();
	return ktap_finish();
}
