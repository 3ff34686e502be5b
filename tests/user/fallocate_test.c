/* SPDX-License-Identifier: MIT */
/* fallocate_test - fallocate(2) on shared-memory files (kernel/fallocate.c):
 * memfds and tmpfs files, as Linux's tmpfs answers.
 *
 *   - mode 0 grows the file and gives it the pages (st_blocks counts them),
 *     which read zeros; FALLOC_FL_KEEP_SIZE inside the file gives pages
 *     and keeps the size;
 *   - FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: the whole pages punched
 *     read zeros through read() and through every MAP_SHARED mapping, the
 *     caller's and a fork child's (which had them mapped: its entries are
 *     zapped too), st_blocks drops, the size stays, SEEK_HOLE finds the
 *     hole; a read fault through a shared mapping gives the file its page
 *     again (shmem allocates on any fault); a partial page keeps its other
 *     bytes, the punched ones zero; a write afterwards is seen by every
 *     mapper; a punch past the end changes nothing;
 *   - a punch leaves a MAP_PRIVATE mapping's own copies (its pages that
 *     are still the file's read zeros);
 *   - the same on a tmpfs file;
 *   - Linux's errno, in vfs_fallocate's order: EINVAL (offset < 0,
 *     len <= 0, COLLAPSE_RANGE with another flag), EOPNOTSUPP (an unknown
 *     bit, PUNCH_HOLE without KEEP_SIZE, ZERO_RANGE and COLLAPSE_RANGE on
 *     tmpfs), EBADF (no such fd, a file not open for writing), ESPIPE (a
 *     pipe), ENODEV (a pidfd: not a regular file), EFBIG (past the largest
 *     size), EOPNOTSUPP (a /proc file: no fallocate operation).
 * The output is the same on Linux (tools/linux-ref). The kernel checks that
 * the program leaves no page behind (its free-page report at exit).
 */
#include "libc.h"

#define EXPECT(cond, ...) do { if (!ktap_ok((cond), __VA_ARGS__)) ktap_diag("line %d", __LINE__); } while (0)
#define ERRNO(call, e) ((call) == -1 && errno == (e))

#define NR_fstat 5
#define EFBIG 27
#define NR_fallocate 285
#define SEEK_DATA 3
#define SEEK_HOLE 4
#define KEEP 0x01
#define PUNCH 0x02
#define NO_HIDE_STALE 0x04
#define COLLAPSE 0x08
#define ZERO_RANGE 0x10
#define PG 4096L

static int fallocate(int fd, int mode, long off, long len)
{
	return (int)ret_errno(raw_syscall4(NR_fallocate, fd, mode, off, len));
}

/* st_size, and st_blocks in *blocks. */
static long size_blocks(int fd, long *blocks)
{
	struct kstat st;
	if (ret_errno(raw_syscall2(NR_fstat, fd, (long)&st)))
		return -1;
	*blocks = st.blocks;
	return st.size;
}

static bool all_bytes(const char *p, char c, long n)
{
	for (long i = 0; i < n; i++)
		if (p[i] != c)
			return false;
	return true;
}

static void test_allocate(int fd)
{
	long blocks;
	char buf[8];
	EXPECT(fallocate(fd, 0, 0, 4 * PG) == 0 && size_blocks(fd, &blocks) == 4 * PG && blocks == 32,
	       "mode 0: the file grows to 4 pages, all held (32 blocks)");
	EXPECT(pread(fd, buf, 8, 3 * PG) == 8 && all_bytes(buf, 0, 8), "they read zeros");
	EXPECT(ftruncate(fd, 6 * PG) == 0 && fallocate(fd, KEEP, 4 * PG, PG) == 0 &&
	       size_blocks(fd, &blocks) == 6 * PG && blocks == 40,
	       "KEEP_SIZE inside the file: one more page held, the size kept");
}

/* Fill pages [0, 6) through a shared mapping, have a child map them too,
 * punch: every mapper reads zeros where whole pages went. */
static void test_punch(int fd)
{
	long blocks;
	char buf[8];
	char *m = mmap(NULL, 6 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	memset(m, 'a', 6 * PG);
	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t pid = fork();
	if (pid == 0) {
		char c = 0;
		bool before = all_bytes(m + PG, 'a', PG);      /* mapped here now */
		write(done[1], "r", 1);
		read(go[0], &c, 1);                             /* the parent punched */
		bool after = all_bytes(m + PG, 0, 2 * PG) && all_bytes(m, 'a', PG);
		exit(before && after ? 0 : 1);
	}
	char c;
	read(done[0], &c, 1);
	EXPECT(fallocate(fd, PUNCH | KEEP, PG, 2 * PG) == 0 && size_blocks(fd, &blocks) == 6 * PG &&
	       blocks == 32 && pread(fd, buf, 8, PG) == 8 && all_bytes(buf, 0, 8) &&
	       lseek(fd, 0, SEEK_HOLE) == PG && lseek(fd, PG, SEEK_DATA) == 3 * PG,
	       "PUNCH_HOLE|KEEP_SIZE of pages 1-2: the size stays, 16 blocks fewer, read() and SEEK_HOLE see the hole");
	EXPECT(all_bytes(m + PG, 0, 2 * PG) && all_bytes(m, 'a', PG) && all_bytes(m + 3 * PG, 'a', PG),
	       "the caller's shared mapping reads zeros there, its neighbours intact");
	write(go[1], "g", 1);
	EXPECT(reap_child(pid) == 0, "a fork child's shared mapping reads zeros there too");
	EXPECT(size_blocks(fd, &blocks) == 6 * PG && blocks == 48,
	       "reading the hole through a shared mapping gave the file its pages again (48 blocks)");
	EXPECT(fallocate(fd, PUNCH | KEEP, 4 * PG + 100, 200) == 0 && size_blocks(fd, &blocks) == 6 * PG &&
	       blocks == 48 && all_bytes(m + 4 * PG, 'a', 100) && all_bytes(m + 4 * PG + 100, 0, 200) &&
	       all_bytes(m + 4 * PG + 300, 'a', PG - 300),
	       "a punch inside a page zeroes those bytes only; the page stays");
	EXPECT(pwrite(fd, "new", 3, PG) == 3 && !memcmp(m + PG, "new", 3),
	       "a write into the punched range; the mapping sees it");
	EXPECT(fallocate(fd, PUNCH | KEEP, 10 * PG, PG) == 0 && size_blocks(fd, &blocks) == 6 * PG &&
	       blocks == 48, "a punch past the end changes nothing");
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	munmap(m, 6 * PG);
}

/* A punch leaves a private mapping's own copies (Linux's even_cows 0); its
 * pages that are still the file's read the hole's zeros. */
static void test_punch_private(int fd)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	pwrite(fd, "shared", 6, 0);
	pwrite(fd, "shared", 6, PG);
	bool before = p != MAP_FAILED && !memcmp(p + PG, "shared", 6);  /* the file's page */
	memcpy(p, "copy", 4);
	EXPECT(before && fallocate(fd, PUNCH | KEEP, 0, 2 * PG) == 0 && !memcmp(p, "copy", 4) &&
	       all_bytes(p + PG, 0, PG), "a punch keeps a private mapping's copy; its file page reads zeros");
	munmap(p, 2 * PG);
}

static void test_tmpfs_file(void)
{
	long blocks;
	int fd = open("./fallocate_test_file", O_RDWR | O_CREAT, 0644);
	EXPECT(fd >= 0 && fallocate(fd, 0, 0, 2 * PG) == 0 && size_blocks(fd, &blocks) == 2 * PG &&
	       blocks == 16, "a tmpfs file: mode 0 allocates");
	EXPECT(pwrite(fd, "xy", 2, PG) == 2 && fallocate(fd, PUNCH | KEEP, 0, 2 * PG) == 0 &&
	       size_blocks(fd, &blocks) == 2 * PG && blocks == 0, "and a punch of all of it frees all");
	close(fd);
	int ro = open("./fallocate_test_file", O_RDONLY, 0);
	EXPECT(ERRNO(fallocate(ro, 0, 0, PG), EBADF), "a file open read-only: EBADF");
	close(ro);
	unlink("./fallocate_test_file");
}

static void test_errors(int fd)
{
	int p[2];
	pipe(p);
	EXPECT(ERRNO(fallocate(fd, 0, -1, PG), EINVAL) && ERRNO(fallocate(fd, 0, 0, 0), EINVAL),
	       "offset < 0 or len 0: EINVAL");
	EXPECT(ERRNO(fallocate(fd, NO_HIDE_STALE, 0, PG), EOPNOTSUPP) &&
	       ERRNO(fallocate(fd, 0x80, 0, PG), EOPNOTSUPP), "a bit the call does not know: EOPNOTSUPP");
	EXPECT(ERRNO(fallocate(fd, PUNCH, 0, PG), EOPNOTSUPP), "PUNCH_HOLE without KEEP_SIZE: EOPNOTSUPP");
	EXPECT(ERRNO(fallocate(fd, COLLAPSE | KEEP, 0, PG), EINVAL), "COLLAPSE_RANGE with another flag: EINVAL");
	EXPECT(ERRNO(fallocate(fd, ZERO_RANGE, 0, PG), EOPNOTSUPP) && ERRNO(fallocate(fd, COLLAPSE, 0, PG), EOPNOTSUPP),
	       "ZERO_RANGE, COLLAPSE_RANGE: EOPNOTSUPP on tmpfs");
	EXPECT(ERRNO(fallocate(99, 0, 0, PG), EBADF), "no such fd: EBADF");
	EXPECT(ERRNO(fallocate(p[1], 0, 0, PG), ESPIPE), "a pipe: ESPIPE");
	int pidfd = pidfd_open(getpid(), 0);
	EXPECT(ERRNO(fallocate(pidfd, 0, 0, PG), ENODEV), "a pidfd (not a regular file): ENODEV");
	EXPECT(ERRNO(fallocate(fd, 0, 0x7fffffffffffff00L, PG), EFBIG), "past the largest file: EFBIG");
	int cr = open("/proc/self/clear_refs", O_WRONLY, 0);
	EXPECT(ERRNO(fallocate(cr, 0, 0, PG), EOPNOTSUPP), "a /proc file: EOPNOTSUPP");
	close(cr);
	close(pidfd);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	ktap_plan(24);
	int fd = memfd_create("fallocate_test", MFD_CLOEXEC);
	if (fd < 0)
		ktap_bail("memfd_create: errno %d", errno);
	test_allocate(fd);
	test_punch(fd);
	test_punch_private(fd);
	test_tmpfs_file();
	test_errors(fd);
	close(fd);
	return ktap_finish();
}
