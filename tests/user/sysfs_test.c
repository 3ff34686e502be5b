/* SPDX-License-Identifier: MIT */
/* sysfs_test - the /sys files of transparent huge pages (kernel/sysfs.h,
 * mm/thp_sysfs.c), /proc/sys/vm/mmap_min_addr and time(2), as Linux's mm
 * selftests use them: Linux's formats ("always [madvise] never"), writes
 * that change what is read back and what faults do (use_zero_page), EINVAL
 * for words and numbers Linux refuses, EACCES for writing a read-only
 * attribute, stat of the files and directories; and clock_nanosleep(2),
 * which glibc's usleep calls (the selftests wait with it). Every knob is
 * put back as it was. The output is the same on Linux (tools/linux-ref) and does not
 * depend on the boot's THP mode.
 */
#include "libc.h"

#define EXPECT(cond, ...) do { if (!ktap_ok((cond), __VA_ARGS__)) ktap_diag("line %d", __LINE__); } while (0)
#define ERRNO(call, e) ((call) == -1 && errno == (e))
#define THP "/sys/kernel/mm/transparent_hugepage/"
#define NR_stat 4
#define NR_time 201
#define NR_clock_nanosleep 230
#define TIMER_ABSTIME 1
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define HPAGE (2UL << 20)

/* The whole file (NUL-terminated) in buf, or "" when it cannot be read. */
static const char *get(const char *path, char *buf, size_t size)
{
	if (read_file(path, buf, size) < 0)
		buf[0] = 0;
	return buf;
}

/* write(2) of the string to the file: its result, errno kept. */
static long put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY, 0);
	if (fd < 0)
		return -1;
	long n = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	errno = e;
	return n;
}

static bool is(const char *path, const char *want)
{
	char buf[128];
	return !strcmp(get(path, buf, sizeof(buf)), want);
}

/* Write back the bracketed word of old (the file's earlier text): true
 * when the file reads as before. */
static bool put_back(const char *path, const char *old)
{
	char word[64];
	const char *b = strchr(old, '['), *e = b ? strchr(b, ']') : NULL;
	if (!b || !e || e - b > (long)sizeof(word))
		return false;
	memcpy(word, b + 1, (size_t)(e - b - 1));
	word[e - b - 1] = 0;
	put(path, word);
	return is(path, old);
}

/* st_mode of path (Linux's x86_64 struct stat: at offset 24), or 0. */
static unsigned stat_mode(const char *path)
{
	unsigned long st[18];
	if (raw_syscall2(NR_stat, (long)path, (long)st) != 0)
		return 0;
	return (unsigned)(st[3] & 0xffffffff);
}

static void test_files(void)
{
	char buf[64];
	EXPECT(is(THP "hpage_pmd_size", "2097152\n"), "hpage_pmd_size reads 2097152");
	int fd = open(THP "hpage_pmd_size", O_RDONLY, 0);
	bool parts = read(fd, buf, 3) == 3 && !memcmp(buf, "209", 3) &&
		     read(fd, buf, 64) == 5 && !memcmp(buf, "7152\n", 5) && read(fd, buf, 64) == 0;
	EXPECT(parts, "hpage_pmd_size read in two parts, then end of file");
	EXPECT(pread(fd, buf, 4, 2) == 4 && !memcmp(buf, "9715", 4), "pread at an offset");
	close(fd);
	EXPECT(ERRNO(open(THP "hpage_pmd_size", O_WRONLY, 0), EACCES),
	       "hpage_pmd_size opened for writing: EACCES");
	EXPECT(ERRNO(open(THP "khugepaged/full_scans", O_RDWR, 0), EACCES),
	       "khugepaged/full_scans opened for writing: EACCES");
	EXPECT(ERRNO(open(THP "no_such_knob", O_RDONLY, 0), ENOENT), "an unknown name: ENOENT");
	EXPECT(stat_mode(THP "enabled") == (S_IFREG | 0644), "enabled is a regular file, 0644");
	EXPECT(stat_mode(THP "hpage_pmd_size") == (S_IFREG | 0444), "hpage_pmd_size: 0444");
	EXPECT((stat_mode("/sys/kernel/mm/transparent_hugepage") & S_IFMT) == S_IFDIR &&
	       (stat_mode(THP "khugepaged") & S_IFMT) == S_IFDIR &&
	       (stat_mode("/sys/kernel") & S_IFMT) == S_IFDIR, "stat: the directories");
	char n1[32], n2[32];
	get(THP "khugepaged/full_scans", n1, sizeof(n1));
	get(THP "khugepaged/pages_collapsed", n2, sizeof(n2));
	EXPECT(n1[0] >= '0' && n1[0] <= '9' && n2[0] >= '0' && n2[0] <= '9',
	       "full_scans and pages_collapsed read as numbers");
}

/* The text is one of the lines a file may show. */
static bool one_bracket(const char *text, const char *const *lines, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(text, lines[i]))
			return true;
	return false;
}

static void test_enabled(void)
{
	static const char *const lines[] = {
		"[always] madvise never\n", "always [madvise] never\n", "always madvise [never]\n",
	};
	char old[64];
	get(THP "enabled", old, sizeof(old));
	EXPECT(one_bracket(old, lines, 3), "enabled: the three words, the current one in brackets");
	EXPECT(put(THP "enabled", "never") == 5 && is(THP "enabled", lines[2]),
	       "enabled: write never, read it back");
	EXPECT(put(THP "enabled", "always\n") == 7 && is(THP "enabled", lines[0]),
	       "enabled: always with a newline");
	EXPECT(ERRNO(put(THP "enabled", "sometimes"), EINVAL) && is(THP "enabled", lines[0]),
	       "enabled: an unknown word is EINVAL and changes nothing");
	EXPECT(ERRNO(put(THP "enabled", "[madvise]"), EINVAL), "enabled: brackets are no word");
	EXPECT(put_back(THP "enabled", old), "enabled: put back as it was");
}

static void test_defrag(void)
{
	static const char *const lines[] = {
		"[always] defer defer+madvise madvise never\n",
		"always [defer] defer+madvise madvise never\n",
		"always defer [defer+madvise] madvise never\n",
		"always defer defer+madvise [madvise] never\n",
		"always defer defer+madvise madvise [never]\n",
	};
	char old[64];
	get(THP "defrag", old, sizeof(old));
	EXPECT(one_bracket(old, lines, 5), "defrag: the five words, the current one in brackets");
	EXPECT(put(THP "defrag", "defer+madvise") == 13 && is(THP "defrag", lines[2]),
	       "defrag: write defer+madvise, read it back");
	EXPECT(ERRNO(put(THP "defrag", "defer+"), EINVAL), "defrag: an unknown word is EINVAL");
	EXPECT(put_back(THP "defrag", old), "defrag: put back as it was");
}

static void test_shmem_enabled(void)
{
	char old[80];
	get(THP "shmem_enabled", old, sizeof(old));
	EXPECT(strstr(old, "always") && strstr(old, "within_size") && strstr(old, "deny") &&
	       strchr(old, '['), "shmem_enabled: Linux's words, the current one in brackets");
	EXPECT(put(THP "shmem_enabled", "advise") == 6 &&
	       is(THP "shmem_enabled", "always within_size [advise] never deny force\n"),
	       "shmem_enabled: write advise, read it back");
	EXPECT(ERRNO(put(THP "shmem_enabled", "huge"), EINVAL), "shmem_enabled: unknown word: EINVAL");
	EXPECT(put_back(THP "shmem_enabled", old), "shmem_enabled: put back as it was");
}

/* A read fault in a MADV_HUGEPAGE range: the AnonHugePages it adds. */
static long read_fault_thp_kb(void)
{
	char *p = mmap_aligned(HPAGE, HPAGE);
	if (p == MAP_FAILED)
		return -1;
	madvise(p, HPAGE, MADV_HUGEPAGE);
	long before = proc_field("/proc/self/smaps_rollup", "AnonHugePages");
	volatile char c = p[100];
	(void)c;
	long after = proc_field("/proc/self/smaps_rollup", "AnonHugePages");
	munmap(p, HPAGE);
	return after - before;
}

static void test_use_zero_page(void)
{
	char old[16], mode[64];
	get(THP "use_zero_page", old, sizeof(old));
	get(THP "enabled", mode, sizeof(mode));
	EXPECT(!strcmp(old, "0\n") || !strcmp(old, "1\n"), "use_zero_page reads 0 or 1");
	EXPECT(ERRNO(put(THP "use_zero_page", "2"), EINVAL) &&
	       ERRNO(put(THP "use_zero_page", "x"), EINVAL), "use_zero_page: 2 and x are EINVAL");
	put(THP "enabled", "madvise");
	EXPECT(put(THP "use_zero_page", "1") == 1 && read_fault_thp_kb() == 0,
	       "use_zero_page 1: a read fault maps the huge zero page (no AnonHugePages)");
	EXPECT(put(THP "use_zero_page", "0\n") == 2 && is(THP "use_zero_page", "0\n") &&
	       read_fault_thp_kb() == 2048, "use_zero_page 0: a read fault maps a new huge page");
	put(THP "use_zero_page", old);
	EXPECT(is(THP "use_zero_page", old) && put_back(THP "enabled", mode),
	       "use_zero_page and enabled put back as they were");
}

/* Write v, read it back, put the old value back. */
static bool roundtrip(const char *name, const char *v)
{
	char path[128], old[32], want[32];
	snprintf(path, sizeof(path), THP "khugepaged/%s", name);
	snprintf(want, sizeof(want), "%s\n", v);
	get(path, old, sizeof(old));
	bool ok = put(path, v) == (long)strlen(v) && is(path, want);
	put(path, old);
	return ok && is(path, old);
}

static void test_khugepaged(void)
{
	EXPECT(roundtrip("pages_to_scan", "4096") && roundtrip("scan_sleep_millisecs", "10") &&
	       roundtrip("alloc_sleep_millisecs", "10") && roundtrip("defrag", "0"),
	       "khugepaged: pages_to_scan, the two sleeps and defrag read back what was written");
	EXPECT(roundtrip("max_ptes_none", "511") && roundtrip("max_ptes_swap", "64") &&
	       roundtrip("max_ptes_shared", "256"), "khugepaged: the max_ptes_* read back");
	EXPECT(ERRNO(put(THP "khugepaged/max_ptes_none", "512"), EINVAL) &&
	       ERRNO(put(THP "khugepaged/max_ptes_swap", "512"), EINVAL) &&
	       ERRNO(put(THP "khugepaged/max_ptes_shared", "-1"), EINVAL),
	       "khugepaged: max_ptes_* above 511 or negative: EINVAL");
	EXPECT(ERRNO(put(THP "khugepaged/pages_to_scan", "0"), EINVAL) &&
	       ERRNO(put(THP "khugepaged/scan_sleep_millisecs", "4294967296"), EINVAL) &&
	       ERRNO(put(THP "khugepaged/defrag", "2"), EINVAL),
	       "khugepaged: pages_to_scan 0, a sleep past 32 bits, defrag 2: EINVAL");
}

static void test_proc_and_time(void)
{
	EXPECT(is("/proc/sys/vm/mmap_min_addr", "65536\n"), "/proc/sys/vm/mmap_min_addr reads 65536");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long t = raw_syscall1(NR_time, 0), stored = 0;
	/* Linux's time() reads the seconds kept at the last tick, which may
	 * lag clock_gettime's by one just after a second begins. */
	EXPECT(t >= ts.tv_sec - 1 && t <= ts.tv_sec + 1 && t > 1577836800L,
	       "time(NULL): the seconds of CLOCK_REALTIME, after 2020");
	long t2 = raw_syscall1(NR_time, (long)&stored);
	EXPECT(t2 == stored && t2 >= t && t2 <= t + 1, "time(&t) returns and stores the same seconds");
	EXPECT(raw_syscall1(NR_time, 8) == -EFAULT, "time into a bad address: EFAULT");
}

/* clock_nanosleep(2), which glibc's usleep and nanosleep call. */
static void test_clock_nanosleep(void)
{
	struct timespec d = { 0, 20 * 1000000L }, now;
	u64 t0 = now_ns();
	long r = raw_syscall4(NR_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&d, 0);
	EXPECT(r == 0 && now_ns() - t0 >= 20 * 1000000UL, "clock_nanosleep: 20 ms on CLOCK_MONOTONIC");
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec += 30 * 1000000L;
	if (now.tv_nsec >= 1000000000L) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000L;
	}
	t0 = now_ns();
	r = raw_syscall4(NR_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, (long)&now, 0);
	EXPECT(r == 0 && now_ns() - t0 >= 20 * 1000000UL,
	       "clock_nanosleep: TIMER_ABSTIME on CLOCK_REALTIME, 30 ms ahead");
	struct timespec past = { 1, 0 };
	EXPECT(raw_syscall4(NR_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&past, 0) == 0,
	       "clock_nanosleep: an absolute time already past returns at once");
	struct timespec bad = { 0, 1000000000L };
	EXPECT(raw_syscall4(NR_clock_nanosleep, 4 /* MONOTONIC_RAW */, 0, (long)&d, 0) == -EOPNOTSUPP &&
	       raw_syscall4(NR_clock_nanosleep, 3 /* THREAD_CPUTIME_ID */, 0, (long)&d, 0) == -EOPNOTSUPP &&
	       raw_syscall4(NR_clock_nanosleep, 77, 0, (long)&d, 0) == -EINVAL &&
	       raw_syscall4(NR_clock_nanosleep, CLOCK_MONOTONIC, 0, 8, 0) == -EFAULT &&
	       raw_syscall4(NR_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&bad, 0) == -EINVAL,
	       "clock_nanosleep: EOPNOTSUPP, EINVAL, EFAULT as Linux");
}

int main(void)
{
	ktap_plan(41);
	test_files();
	test_enabled();
	test_defrag();
	test_shmem_enabled();
	test_use_zero_page();
	test_khugepaged();
	test_proc_and_time();
	test_clock_nanosleep();
	return ktap_finish();
}
