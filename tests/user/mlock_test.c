/* SPDX-License-Identifier: MIT */
/* mlock_test - locked memory and population: mlock, mlock2(MLOCK_ONFAULT),
 * munlock, mlockall/munlockall, MAP_LOCKED, MAP_POPULATE and
 * MADV_POPULATE_READ/WRITE (docs/mlock.md).
 *
 * Each step checks the counters exactly: VmLck in /proc/self/status (the
 * size of the locked VMAs), Rss and Locked of the VMA in /proc/self/smaps,
 * the "lo" flag of its VmFlags, the VMAs /proc/self/maps shows (a lock of
 * part of a VMA splits it, an unlock merges it back), and the present bit
 * of each page in /proc/self/pagemap. Then the errors, in Linux 6.1's
 * order, fork (locks are not inherited), and a stress: threads on up to 4
 * CPUs lock, unlock, drop and populate overlapping pages, and the counters
 * are exact again afterwards.
 *
 * Every expected value is Debian's Linux 6.1's (tools/linux-ref): the
 * output is the same on both kernels. VmLck is compared with its value
 * before each step, so what the C library itself locks (nothing) or maps
 * does not matter.
 */
#include "libc.h"
#include "uffd.h"

#define PG 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static long vmlck(void) { return proc_field("/proc/self/status", "VmLck"); }

/* The value (kB) of field ("Locked", "Rss") in the smaps block of the VMA
 * containing addr; -1 if there is none. The VMA's VmFlags line goes to
 * flags when that is not NULL. */
static const char *skip_spaces(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

static char smaps_buf[1 << 17];
static long smaps_field(const void *addr, const char *field, char *flags, size_t fsize)
{
	if (read_file("/proc/self/smaps", smaps_buf, sizeof(smaps_buf)) < 0)
		return -1;
	unsigned long a = (unsigned long)addr;
	char *line = smaps_buf;
	bool inside = false;
	long value = -1;
	while (line && *line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *dash = strchr(line, '-');
		if (dash && line[0] != ' ' && strchr(line, ' ') > dash &&
		    strncmp(line, "VmFlags", 7)) {
			char *end;
			unsigned long s = strtoul(line, &end, 16);
			unsigned long e = end == dash ? strtoul(dash + 1, NULL, 16) : 0;
			if (end == dash && e)
				inside = s <= a && a < e;
		}
		size_t fl = strlen(field);
		if (inside && !strncmp(line, field, fl) && line[fl] == ':')
			value = (long)strtoul(skip_spaces(line + fl + 1), NULL, 10);
		if (inside && flags && !strncmp(line, "VmFlags:", 8))
			strlcpy(flags, line, fsize);
		line = next;
	}
	return value;
}

static bool has_lo(const void *addr)
{
	char flags[160] = "";
	smaps_field(addr, "Locked", flags, sizeof(flags));
	return strstr(flags, " lo ") != NULL;
}

/* How many VMAs of /proc/self/maps meet [addr, addr + len). */
static int vmas_in(const void *addr, size_t len)
{
	static struct map_entry m[512];
	int n = read_maps(m, 512), count = 0;
	unsigned long a = (unsigned long)addr;
	for (int i = 0; i < n; i++)
		if (m[i].start < a + len && m[i].end > a)
			count++;
	return count;
}

/* Pages of [addr, addr + npages pages) with pagemap bit `bit` set. */
static int pagemap_bits(const void *addr, int npages, int bit)
{
	int fd = open("/proc/self/pagemap", O_RDONLY, 0), n = 0;
	unsigned long e[64];
	if (fd < 0 || npages > 64)
		return -1;
	long r = pread(fd, e, (size_t)npages * 8, (off_t)((unsigned long)addr / PG * 8));
	close(fd);
	if (r != npages * 8)
		return -1;
	for (int i = 0; i < npages; i++)
		n += (int)((e[i] >> bit) & 1);
	return n;
}

static int present(const void *addr, int npages) { return pagemap_bits(addr, npages, 63); }
static int soft_dirty(const void *addr, int npages) { return pagemap_bits(addr, npages, 55); }

static char *map(size_t pages, int prot, int flags)
{
	char *p = mmap(NULL, pages * PG, prot, flags, -1, 0);
	if (p == MAP_FAILED)
		ktap_bail("mmap of %lu pages: %s", pages, errno_name(errno));
	return p;
}

static void touch(char *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++)
		p[i * PG] = (char)(i + 1);
}

#define EXPECT(cond, ...) do { if (!ktap_ok((cond), __VA_ARGS__)) ktap_diag("line %d", __LINE__); } while (0)
#define ERRNO(call, e) ((call) == -1 && errno == (e))

/* mlock of the middle of a touched VMA splits it in three; the counters
 * grow by exactly the locked pages; munlock merges it back. */
static void test_mlock_split(void)
{
	long base = vmlck();
	char *p = map(8, RW, ANON);
	touch(p, 8);
	EXPECT(mlock(p + 2 * PG, 4 * PG) == 0, "mlock of 4 pages in the middle of 8");
	EXPECT(vmlck() == base + 16, "mlock: VmLck grows by 16 kB");
	EXPECT(vmas_in(p, 8 * PG) == 3, "mlock: the VMA is split in three");
	EXPECT(smaps_field(p + 2 * PG, "Locked", NULL, 0) == 16, "mlock: smaps Locked is 16 kB");
	EXPECT(smaps_field(p, "Locked", NULL, 0) == 0, "mlock: the unlocked part's Locked is 0 kB");
	EXPECT(has_lo(p + 2 * PG) && !has_lo(p), "mlock: VmFlags has lo on the locked part only");
	EXPECT(mlock(p + 2 * PG, 4 * PG) == 0 && vmlck() == base + 16,
	       "mlock again: nothing counted twice");
	EXPECT(munlock(p + 3 * PG, PG) == 0 && vmlck() == base + 12 && vmas_in(p, 8 * PG) == 5,
	       "munlock of one page inside: VmLck 12 kB more, five VMAs");
	EXPECT(munlock(p, 8 * PG) == 0 && vmlck() == base, "munlock of all: VmLck back");
	EXPECT(vmas_in(p, 8 * PG) == 1, "munlock: the VMAs merge back into one");
	EXPECT(mlock(p + 100, PG) == 0 && vmlck() == base + 8,
	       "mlock at an unaligned address locks every page the range touches");
	munmap(p, 8 * PG);
	EXPECT(vmlck() == base, "munmap of locked memory: VmLck back");
}

/* mlock populates; mlock2(MLOCK_ONFAULT) does not, and locks what is
 * touched later. */
static void test_populate_on_lock(void)
{
	long base = vmlck();
	char *p = map(4, RW, ANON);
	EXPECT(present(p, 4) == 0, "a new mapping has no page present");
	EXPECT(mlock(p, 4 * PG) == 0 && present(p, 4) == 4, "mlock faults every page in");
	EXPECT(smaps_field(p, "Rss", NULL, 0) == 16 && smaps_field(p, "Locked", NULL, 0) == 16,
	       "mlock: Rss and Locked are 16 kB (written pages, not the zero page)");
	munmap(p, 4 * PG);

	p = map(4, RW, ANON);
	EXPECT(mlock2(p, 4 * PG, MLOCK_ONFAULT) == 0, "mlock2 MLOCK_ONFAULT");
	EXPECT(present(p, 4) == 0 && vmlck() == base + 16,
	       "MLOCK_ONFAULT: nothing populated, VmLck counts the VMA");
	EXPECT(smaps_field(p, "Locked", NULL, 0) == 0, "MLOCK_ONFAULT: Locked 0 kB before a touch");
	p[PG] = 1;
	EXPECT(present(p, 4) == 1 && smaps_field(p, "Locked", NULL, 0) == 4,
	       "MLOCK_ONFAULT: a touched page is present and locked");
	EXPECT(mlock(p, 4 * PG) == 0 && present(p, 4) == 4,
	       "mlock after MLOCK_ONFAULT populates the rest");
	munmap(p, 4 * PG);

	p = map(4, RW, ANON | MAP_LOCKED);
	EXPECT(present(p, 4) == 4 && vmlck() == base + 16 && has_lo(p),
	       "MAP_LOCKED: populated and locked");
	munmap(p, 4 * PG);
	EXPECT(vmlck() == base, "VmLck back after the munmaps");
}

/* Advice that would drop locked pages is refused. */
static void test_locked_advice(void)
{
	char *p = map(4, RW, ANON);
	EXPECT(mlock(p, 4 * PG) == 0, "mlock for the advice checks");
	EXPECT(ERRNO(madvise(p, PG, MADV_DONTNEED), EINVAL), "MADV_DONTNEED on locked memory: EINVAL");
	EXPECT(ERRNO(madvise(p, PG, MADV_FREE), EINVAL), "MADV_FREE on locked memory: EINVAL");
	EXPECT(ERRNO(madvise(p, PG, MADV_PAGEOUT), EINVAL), "MADV_PAGEOUT on locked memory: EINVAL");
	EXPECT(ERRNO(madvise(p, PG, MADV_COLD), EINVAL), "MADV_COLD on locked memory: EINVAL");
	EXPECT(present(p, 4) == 4 && p[0] == 0, "the refused advice kept the pages");
	EXPECT(madvise(p, PG, MADV_DONTNEED_LOCKED) == 0 && present(p, 4) == 3,
	       "MADV_DONTNEED_LOCKED drops a locked page");
	EXPECT(smaps_field(p, "Locked", NULL, 0) == 12, "Locked counts the pages left");
	munmap(p, 4 * PG);
}

/* The errors, in Linux's order. */
static void test_errors(void)
{
	long base = vmlck();
	char *p = map(4, RW, ANON);
	EXPECT(ERRNO(mlock2(p, PG, 2), EINVAL), "mlock2 with an unknown flag: EINVAL");
	EXPECT(ERRNO(mlock(p, -PG), EINVAL), "mlock of a range that wraps: EINVAL");
	EXPECT(mlock(p, 0) == 0, "mlock of 0 bytes: 0");
	munmap(p + PG, PG);
	EXPECT(ERRNO(mlock(p, 3 * PG), ENOMEM), "mlock over a hole: ENOMEM");
	EXPECT(vmlck() == base + 4, "mlock over a hole: the VMA before the hole is locked");
	EXPECT(ERRNO(munlock(p, 3 * PG), ENOMEM) && vmlck() == base,
	       "munlock over a hole: ENOMEM, the VMA before it unlocked");
	EXPECT(ERRNO(mlock((void *)0x10000, PG), ENOMEM), "mlock of unmapped memory: ENOMEM");
	munmap(p, 4 * PG);
	p = map(2, PROT_NONE, ANON);
	EXPECT(ERRNO(mlock(p, 2 * PG), ENOMEM) && vmlck() == base + 8 && present(p, 2) == 0,
	       "mlock of PROT_NONE: ENOMEM, locked all the same, nothing present");
	munmap(p, 2 * PG);
	EXPECT(ERRNO(mlockall(0), EINVAL), "mlockall(0): EINVAL");
	EXPECT(ERRNO(mlockall(MCL_ONFAULT), EINVAL), "mlockall(MCL_ONFAULT) alone: EINVAL");
	EXPECT(ERRNO(mlockall(8), EINVAL), "mlockall with an unknown flag: EINVAL");
}

/* Locks are not inherited by fork (Linux's dup_mmap clears VM_LOCKED). */
static void test_fork(void)
{
	long base = vmlck();
	char *p = map(4, RW, ANON);
	mlock(p, 4 * PG);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		if (vmlck() != base)
			bad |= 1;
		if (has_lo(p))
			bad |= 2;
		if (present(p, 4) != 4 || madvise(p, 4 * PG, MADV_DONTNEED) != 0)
			bad |= 4;
		exit(bad);
	}
	int st = reap_child(pid);
	EXPECT(st == 0, "fork: the child's copy is not locked (VmLck, VmFlags, DONTNEED allowed)");
	if (st)
		ktap_diag("child status %d", st);
	EXPECT(vmlck() == base + 16 && present(p, 4) == 4, "fork: the parent's lock stays");
	munmap(p, 4 * PG);
}

/* mlockall: MCL_CURRENT locks what is mapped, MCL_FUTURE what comes. */
static void test_mlockall(void)
{
	long base = vmlck();
	char *p = map(4, RW, ANON);
	EXPECT(mlockall(MCL_CURRENT) == 0 && present(p, 4) == 4 && has_lo(p),
	       "mlockall(MCL_CURRENT): a mapping is populated and locked");
	char *q = map(4, RW, ANON);
	EXPECT(present(q, 4) == 0 && !has_lo(q), "without MCL_FUTURE a new mapping is not locked");
	EXPECT(munlockall() == 0 && vmlck() == base && !has_lo(p), "munlockall unlocks everything");
	munmap(q, 4 * PG);
	EXPECT(mlockall(MCL_FUTURE) == 0, "mlockall(MCL_FUTURE)");
	q = map(4, RW, ANON);
	EXPECT(present(q, 4) == 4 && has_lo(q) && vmlck() == base + 16,
	       "MCL_FUTURE: a new mapping is populated and locked");
	EXPECT(!has_lo(p), "MCL_FUTURE alone leaves the mappings before it unlocked");
	munmap(q, 4 * PG);
	EXPECT(mlockall(MCL_FUTURE | MCL_ONFAULT) == 0, "mlockall(MCL_FUTURE | MCL_ONFAULT)");
	q = map(4, RW, ANON | MAP_POPULATE);
	EXPECT(present(q, 4) == 0 && has_lo(q),
	       "MCL_ONFAULT: a new mapping is locked, not populated, MAP_POPULATE or not");
	munmap(q, 4 * PG);
	EXPECT(munlockall() == 0, "munlockall");
	q = map(4, RW, ANON);
	EXPECT(!has_lo(q) && vmlck() == base, "after munlockall new mappings are not locked");
	munmap(q, 4 * PG);
	munmap(p, 4 * PG);
}

/* MAP_POPULATE and MADV_POPULATE_READ/WRITE. */
static void test_populate(void)
{
	char *p = map(4, RW, ANON | MAP_POPULATE);
	EXPECT(present(p, 4) == 4 && smaps_field(p, "Rss", NULL, 0) == 16,
	       "MAP_POPULATE: every page present and resident");
	munmap(p, 4 * PG);
	p = map(4, RW, ANON);
	EXPECT(madvise(p, 4 * PG, MADV_POPULATE_READ) == 0 && present(p, 4) == 4,
	       "MADV_POPULATE_READ: every page present");
	EXPECT(smaps_field(p, "Rss", NULL, 0) == 0, "MADV_POPULATE_READ: the zero page, no Rss");
	EXPECT(madvise(p, 4 * PG, MADV_POPULATE_WRITE) == 0 && smaps_field(p, "Rss", NULL, 0) == 16,
	       "MADV_POPULATE_WRITE: pages of its own, 16 kB Rss");
	EXPECT(p[0] == 0 && p[3 * PG] == 0, "populated pages read as zero");
	munmap(p + PG, PG);
	EXPECT(ERRNO(madvise(p, 4 * PG, MADV_POPULATE_READ), ENOMEM), "MADV_POPULATE_READ over a hole: ENOMEM");
	munmap(p, 4 * PG);
	p = map(2, PROT_NONE, ANON);
	EXPECT(ERRNO(madvise(p, 2 * PG, MADV_POPULATE_READ), EINVAL), "MADV_POPULATE_READ of PROT_NONE: EINVAL");
	munmap(p, 2 * PG);
	p = map(2, PROT_READ, ANON);
	EXPECT(ERRNO(madvise(p, 2 * PG, MADV_POPULATE_WRITE), EINVAL),
	       "MADV_POPULATE_WRITE of read-only memory: EINVAL");
	EXPECT(madvise(p, 2 * PG, MADV_POPULATE_READ) == 0 && present(p, 2) == 2,
	       "MADV_POPULATE_READ of read-only memory");
	munmap(p, 2 * PG);
	p = map(4, RW, ANON);
	touch(p, 4);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = madvise(p, 4 * PG, MADV_POPULATE_WRITE) != 0 || p[PG] != 2;
		exit(bad);
	}
	EXPECT(reap_child(pid) == 0, "MADV_POPULATE_WRITE after fork: copies with the old contents");
	EXPECT(p[PG] == 2, "the parent's page is untouched");
	munmap(p, 4 * PG);
}

/* Linux's madv_populate selftest cases: write-only memory, and the
 * soft-dirty bit after each kind of population. */
static void test_populate_softdirty(void)
{
	char *p = map(4, PROT_WRITE, ANON);
	EXPECT(ERRNO(madvise(p, 4 * PG, MADV_POPULATE_READ), EINVAL),
	       "MADV_POPULATE_READ of write-only memory: EINVAL");
	EXPECT(madvise(p, 4 * PG, MADV_POPULATE_WRITE) == 0 && present(p, 4) == 4,
	       "MADV_POPULATE_WRITE of write-only memory");
	munmap(p, 4 * PG);
	p = map(4, RW, ANON);
	int fd = open("/proc/self/clear_refs", O_WRONLY, 0);
	bool cleared = fd >= 0 && write(fd, "4", 1) == 1;
	if (fd >= 0)
		close(fd);
	EXPECT(cleared && soft_dirty(p, 4) == 0, "after clear_refs 4 no page is soft-dirty");
	EXPECT(madvise(p, 4 * PG, MADV_POPULATE_READ) == 0 && soft_dirty(p, 4) == 0,
	       "MADV_POPULATE_READ leaves the pages clean");
	EXPECT(madvise(p, 4 * PG, MADV_POPULATE_WRITE) == 0 && soft_dirty(p, 4) == 4,
	       "MADV_POPULATE_WRITE makes them soft-dirty");
	munmap(p, 4 * PG);
}

/* MADV_POPULATE_WRITE and mlock on userfaultfd-protected pages: the
 * write goes to the handler as a write from user mode would, and the call
 * goes on once the handler has resolved it. The handler thread reads one
 * message per fault and takes the protection off that page. */
static int wp_fd;
static long wp_handler(void *arg)
{
	long n = (long)arg, seen = 0;
	for (long i = 0; i < n; i++) {
		struct uffd_msg m;
		if (read(wp_fd, &m, sizeof(m)) != sizeof(m) || m.event != UFFD_EVENT_PAGEFAULT ||
		    !(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			return -1;
		struct uffdio_writeprotect wp = { { m.arg.pagefault.address & ~(PG - 1), PG }, 0 };
		if (ioctl(wp_fd, UFFDIO_WRITEPROTECT, &wp))
			return -2;
		seen++;
	}
	return seen;
}

static bool wp_setup(char *p, size_t pages)
{
	struct uffdio_api api = { UFFD_API, UFFD_FEATURE_PAGEFAULT_FLAG_WP, 0 };
	struct uffdio_register reg = { { (u64)p, pages * PG }, UFFDIO_REGISTER_MODE_WP, 0 };
	struct uffdio_writeprotect wp = { { (u64)p, pages * PG }, UFFDIO_WRITEPROTECT_MODE_WP };
	wp_fd = userfaultfd(O_CLOEXEC);
	return wp_fd >= 0 && !ioctl(wp_fd, UFFDIO_API, &api) && !ioctl(wp_fd, UFFDIO_REGISTER, &reg) &&
	       !ioctl(wp_fd, UFFDIO_WRITEPROTECT, &wp);
}

static void test_populate_uffd_wp(void)
{
	char *p = map(4, RW, ANON);
	touch(p, 4);
	bool ok = wp_setup(p, 4);
	EXPECT(ok, "userfaultfd: 4 written pages registered and write-protected");
	if (!ok)
		return;
	struct uthread *t = thread_create(wp_handler, (void *)4L, -1);
	EXPECT(madvise(p, 2 * PG, MADV_POPULATE_WRITE) == 0,
	       "MADV_POPULATE_WRITE on protected pages waits for the handler, then succeeds");
	EXPECT(mlock(p + 2 * PG, 2 * PG) == 0, "mlock on protected pages: the same");
	EXPECT(t && thread_join(t) == 4, "the handler saw one write-protect fault per page");
	EXPECT(p[0] == 1 && p[3 * PG] == 4, "the contents stay");
	close(wp_fd);
	munmap(p, 4 * PG);
}

/* The stress: each thread picks a random piece of a shared 64-page region
 * and locks it (populating or on fault), unlocks it, drops it or populates
 * it, for a bounded number of rounds. Every answer must be one Linux can
 * give (a drop is refused with EINVAL only where some page is locked);
 * afterwards, unlocked and unmapped, VmLck is back where it was. */
#define STRESS_PAGES 64
#define STRESS_ROUNDS 300
static char *stress_mem;
static int stress_bad;

static unsigned long stress_rand(unsigned long *s)
{
	*s = *s * 6364136223846793005UL + 1442695040888963407UL;
	return *s >> 33;
}

static long stress_thread(void *arg)
{
	unsigned long seed = (unsigned long)arg * 7919 + 1;
	for (int r = 0; r < STRESS_ROUNDS; r++) {
		unsigned long first = stress_rand(&seed) % STRESS_PAGES;
		unsigned long n = 1 + stress_rand(&seed) % (STRESS_PAGES - first);
		char *a = stress_mem + first * PG;
		long ret;
		switch (stress_rand(&seed) % 5) {
		case 0: ret = mlock(a, n * PG); break;
		case 1: ret = mlock2(a, n * PG, MLOCK_ONFAULT); break;
		case 2: ret = munlock(a, n * PG); break;
		case 3:
			ret = madvise(a, n * PG, MADV_DONTNEED);
			if (ret && errno == EINVAL)
				ret = 0;        /* some page was locked */
			break;
		default: ret = madvise(a, n * PG, MADV_POPULATE_WRITE); break;
		}
		if (ret)
			__atomic_store_n(&stress_bad, errno, __ATOMIC_RELAXED);
		a[0] = 1;               /* a fault beside the others' changes */
	}
	return 0;
}

static void test_stress(void)
{
	long base = vmlck();
	int n = online_cpus() < 4 ? online_cpus() : 4;
	struct uthread *t[4];
	stress_mem = map(STRESS_PAGES, RW, ANON);
	/* Every piece a split makes then shares one anon_vma on Linux, so
	 * that unlocking merges them all back (as it does here). */
	touch(stress_mem, STRESS_PAGES);
	for (int i = 0; i < n; i++)
		if (!(t[i] = thread_create(stress_thread, (void *)(long)i, i)))
			ktap_bail("thread_create");
	for (int i = 0; i < n; i++)
		thread_join(t[i]);
	EXPECT(stress_bad == 0, "stress: every call answered as Linux may");
	if (stress_bad)
		ktap_diag("an unexpected %s", errno_name(stress_bad));
	EXPECT(munlock(stress_mem, STRESS_PAGES * PG) == 0 && vmlck() == base &&
	       vmas_in(stress_mem, STRESS_PAGES * PG) == 1,
	       "stress: unlocked, VmLck is back and the region is one VMA again");
	EXPECT(madvise(stress_mem, STRESS_PAGES * PG, MADV_DONTNEED) == 0 &&
	       present(stress_mem, STRESS_PAGES) == 0, "stress: unlocked pages can be dropped");
	munmap(stress_mem, STRESS_PAGES * PG);
	EXPECT(vmlck() == base, "stress: VmLck after munmap");
}

int main(void)
{
	ktap_plan(78);
	test_mlock_split();
	test_populate_on_lock();
	test_locked_advice();
	test_errors();
	test_fork();
	test_mlockall();
	test_populate();
	test_populate_softdirty();
	test_populate_uffd_wp();
	test_stress();
	return ktap_finish();
}
