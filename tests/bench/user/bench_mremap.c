/* SPDX-License-Identifier: MIT */
/* bench_mremap - what a mremap move costs (docs/mremap.md).
 *
 * 2 MiB of memory is moved back and forth between two 2 MiB-aligned
 * slots with MREMAP_FIXED, REPS times, in three shapes:
 *   4k-1      one 4 KiB page (one entry moved, one page flushed);
 *   4k-512    512 written 4 KiB pages (MADV_NOHUGEPAGE): 512 entries;
 *   thp       one 2 MiB huge page (MADV_HUGEPAGE): one huge PMD.
 * Each figure is the median of REPS moves, in TSC cycles per move. Every
 * byte must follow the pages (the test points); the figures never fail
 * anything. Linux moves a whole PTE table as one PMD entry
 * (move_normal_pmd) where Pagoda moves 512 entries.
 */
#include "libc.h"

#define HUGE (2UL << 20)
#define REPS 31
#define __NR_mremap_ 25
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2

static void thp_madvise_mode(void)
{
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_WRONLY, 0);
	if (fd < 0)
		return;
	if (write(fd, "madvise", 7) != 7)
		ktap_diag("could not set THP to madvise: %s", errno_name(errno));
	close(fd);
}

/* Median cycles of REPS moves of len bytes between a and b; *ok false if
 * a move failed or a byte did not follow. */
static u64 bench(u8 *a, u8 *b, size_t len, int advice, bool *ok)
{
	u64 t[REPS];
	madvise(a, len, advice);
	for (size_t off = 0; off < len; off += PAGE_SIZE)
		a[off] = (u8)(off / PAGE_SIZE + 1);
	for (int i = 0; i < REPS; i++) {
		u8 *from = i & 1 ? b : a, *to = i & 1 ? a : b;
		u64 t0 = rdtsc();
		long r = raw_syscall5(__NR_mremap_, (long)from, (long)len, (long)len,
				      MREMAP_MAYMOVE | MREMAP_FIXED, (long)to);
		t[i] = rdtsc() - t0;
		if (r != (long)to) {
			*ok = false;
			return 0;
		}
	}
	u8 *last = REPS & 1 ? b : a;
	for (size_t off = 0; off < len; off += PAGE_SIZE)
		*ok &= last[off] == (u8)(off / PAGE_SIZE + 1);
	munmap(last, len);
	return median_u64(t, REPS);
}

int main(void)
{
	struct utsname u;
	bool ok = true;
	thp_madvise_mode();
	ktap_plan(1);
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	ktap_diag("%s %s; mremap MAYMOVE|FIXED between 2 MiB-aligned slots, TSC cycles per move "
		  "(median of %d)", u.sysname, u.release, REPS);
	u8 *area = mmap_aligned(2 * HUGE, HUGE);
	if (area == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	u8 *a = area, *b = area + HUGE;
	munmap(b, HUGE);
	u64 one = bench(a, b, PAGE_SIZE, MADV_NOHUGEPAGE, &ok);
	munmap(a, HUGE);
	a = mmap(a, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	u64 small = bench(a, b, HUGE, MADV_NOHUGEPAGE, &ok);
	a = mmap(a, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	u64 huge = bench(a, b, HUGE, MADV_HUGEPAGE, &ok);
	ktap_diag("4k-1    %10lu cycles per move (1 page)", (unsigned long)one);
	ktap_diag("4k-512  %10lu cycles per move (512 pages, %lu per page)", (unsigned long)small,
		  (unsigned long)(small / 512));
	ktap_diag("thp     %10lu cycles per move (one 2 MiB huge page)", (unsigned long)huge);
	ktap_ok(ok, "every move landed and every page kept its bytes");
	return ktap_finish();
}
