/* SPDX-License-Identifier: MIT */
/* memfd_test - memfd_create(2) (kernel/memfd.h): a file whose content is
 * shared anonymous memory.
 *
 *   - create, fstat (a regular file, its size), ftruncate, write/read at
 *     the file position, pwrite/pread anywhere (a write past the end grows
 *     the file, the gap reads as zeros), lseek with SEEK_END, SEEK_DATA
 *     and SEEK_HOLE (a page never touched is a hole);
 *   - mmap MAP_SHARED: the mapping and read/write see the same bytes; a
 *     fork child's writes, through the inherited mapping and through one
 *     it makes itself at an offset, are seen by the parent;
 *   - past the end of the file an access is SIGBUS (BUS_ADRERR, si_addr
 *     exact); shrinking the file while it is mapped unmaps the pages past
 *     the new end in every process (a handler grows the file again and the
 *     access completes, reading zeros: the old page is gone; a child that
 *     had the page mapped dies of SIGBUS), and zeroes the tail of the last
 *     page;
 *   - /proc/self/maps names the mapping "/memfd:NAME (deleted)", with its
 *     file offset; the mapping outlives close();
 *   - Linux's errno: unknown flags and a name over 249 bytes (EINVAL), an
 *     unreadable name (EFAULT), ftruncate's EINVAL and EBADF, pwrite on a
 *     pipe (ESPIPE), SEEK_DATA at the end (ENXIO);
 *   - a 1 TiB file holds only the pages written, at either end.
 * The output is the same on Linux (tools/linux-ref). The kernel checks that
 * the program leaves no page behind (its free-page report at exit).
 */
#include "libc.h"

#define EXPECT(cond, ...) do { if (!ktap_ok((cond), __VA_ARGS__)) ktap_diag("line %d", __LINE__); } while (0)
#define ERRNO(call, e) ((call) == -1 && errno == (e))

#define NR_fstat 5
#define SEEK_DATA 3
#define SEEK_HOLE 4
#define S_IFMT 0170000
#define S_IFREG 0100000
#define BUS_ADRERR 2
#define PG 4096L

static long file_size(int fd, long *blocks)
{
	struct kstat st;
	if (ret_errno(raw_syscall2(NR_fstat, fd, (long)&st)) < 0 || (st.mode & S_IFMT) != S_IFREG)
		return -1;
	if (blocks)
		*blocks = st.blocks;
	return st.size;
}

static int mfd;

static void test_file(void)
{
	char buf[16];
	long blocks = -1;
	mfd = memfd_create("memfd_test", MFD_CLOEXEC);
	EXPECT(mfd >= 0 && file_size(mfd, NULL) == 0, "memfd_create: a regular file of size 0");
	EXPECT(ftruncate(mfd, 3 * PG) == 0 && file_size(mfd, &blocks) == 3 * PG && blocks == 0,
	       "ftruncate to 3 pages: st_size 12288, no block held yet");
	EXPECT(lseek(mfd, 0, SEEK_END) == 3 * PG && lseek(mfd, 0, SEEK_SET) == 0,
	       "lseek: SEEK_END is the size");
	EXPECT(write(mfd, "hello", 5) == 5 && lseek(mfd, 0, SEEK_CUR) == 5,
	       "write 5 bytes at the position, which moves");
	EXPECT(pread(mfd, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5), "pread reads them back");
	EXPECT(pwrite(mfd, "tail", 4, 5 * PG + 10) == 4 && file_size(mfd, &blocks) == 5 * PG + 14 &&
	       blocks == 16, "pwrite past the end grows the file; 2 pages held (16 blocks)");
	memset(buf, 1, sizeof(buf));
	EXPECT(pread(mfd, buf, 16, 4 * PG) == 16 && !memcmp(buf, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16),
	       "the gap reads as zeros");
	EXPECT(pread(mfd, buf, 16, 5 * PG + 10) == 4 && !memcmp(buf, "tail", 4),
	       "a read stops at the end of the file");
	EXPECT(lseek(mfd, 0, SEEK_HOLE) == PG && lseek(mfd, PG, SEEK_DATA) == 5 * PG,
	       "SEEK_HOLE and SEEK_DATA: untouched pages are a hole");
	EXPECT(ERRNO(lseek(mfd, 5 * PG + 14, SEEK_DATA), ENXIO), "SEEK_DATA at the end: ENXIO");
}

/* A shared mapping of the file, seen by read and write and by a child. */
static void test_mmap_shared(void)
{
	char buf[8];
	char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	EXPECT(m != MAP_FAILED && !memcmp(m, "hello", 5), "mmap MAP_SHARED sees what write wrote");
	memcpy(m + PG, "mapped", 6);
	EXPECT(pread(mfd, buf, 6, PG) == 6 && !memcmp(buf, "mapped", 6),
	       "pread sees a store through the mapping");
	pid_t pid = fork();
	if (pid == 0) {
		memcpy(m + 2 * PG, "child", 5);
		char *far = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 5 * PG);
		if (far == MAP_FAILED || memcmp(far + 10, "tail", 4))
			exit(1);
		memcpy(far, "offset", 6);
		exit(0);
	}
	EXPECT(reap_child(pid) == 0 && !memcmp(m + 2 * PG, "child", 5),
	       "fork: the child's store through the inherited mapping is seen");
	EXPECT(pread(mfd, buf, 6, 5 * PG) == 6 && !memcmp(buf, "offset", 6),
	       "the child's own mapping at offset 5 pages wrote the file");
	munmap(m, 3 * PG);
}

static volatile int bus_hits, bus_code;
static void *volatile bus_addr;
static volatile long bus_grow_to;

/* SIGBUS past the end: note it, grow the file back; the access then
 * completes on a fresh page. */
static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)ctx;
	bus_hits++;
	bus_code = si->si_code;
	bus_addr = si->si_addr;
	ftruncate(mfd, bus_grow_to);
}

static void test_sigbus(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	ftruncate(mfd, 3 * PG);
	volatile char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	m[2 * PG] = 'z';                /* mapped: the shrink must unmap it */
	m[PG + 200] = 'x';
	int fds[2], ready[2];
	char c;
	pipe(fds);
	pipe(ready);
	pid_t pid = fork();
	if (pid == 0) {
		volatile char seen = m[2 * PG];
		write(ready[1], "r", 1);        /* page 2 is mapped here too */
		read(fds[0], &c, 1);            /* the parent has shrunk the file */
		seen = m[2 * PG];
		exit(seen == 'z' ? 2 : 0);
	}
	read(ready[0], &c, 1);
	close(ready[0]);
	close(ready[1]);
	sigaction(SIGBUS, &sa, NULL);   /* the parent's only: the child dies of it */
	bus_grow_to = 3 * PG;
	EXPECT(ftruncate(mfd, PG + 100) == 0 && file_size(mfd, NULL) == PG + 100, "shrink to 4196 bytes");
	write(fds[1], "g", 1);
	int status = 0;
	wait4(pid, &status, 0, NULL);
	EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
	       "a child that had the page mapped dies of SIGBUS reading it after the shrink");
	char got = m[2 * PG];
	EXPECT(bus_hits == 1 && bus_code == BUS_ADRERR && bus_addr == (void *)(m + 2 * PG),
	       "an access past the end: SIGBUS, BUS_ADRERR, si_addr exact");
	EXPECT(got == 0, "after the handler grew the file the access completes: zeros, not the old page");
	EXPECT(m[PG + 200] == 0 && m[PG] == 'm', "the shrink zeroed the tail of the last page");
	bus_hits = 0;
	bus_grow_to = 4 * PG;
	(void)m[3 * PG];
	EXPECT(bus_hits == 1 && bus_addr == (void *)(m + 3 * PG),
	       "a mapping longer than the file: SIGBUS past the end");
	close(fds[0]);
	close(fds[1]);
	munmap((void *)m, 4 * PG);
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	sigaction(SIGBUS, &sa, NULL);
}

/* The maps line of the mapping that starts at addr, or "" if none. */
static void maps_line_of(void *addr, char *line, size_t size)
{
	static char text[16384];
	char key[32];
	line[0] = 0;
	if (read_file("/proc/self/maps", text, sizeof(text)) < 0)
		return;
	snprintf(key, sizeof(key), "%lx-", (unsigned long)addr);
	char *at = strstr(text, key);
	if (!at)
		return;
	size_t n = 0;
	while (at[n] && at[n] != '\n' && n + 1 < size) {
		line[n] = at[n];
		n++;
	}
	line[n] = 0;
}

static void test_maps(void)
{
	char line[512];
	char *m = mmap(NULL, PG, PROT_READ, MAP_SHARED, mfd, 2 * PG);
	close(mfd);
	maps_line_of(m, line, sizeof(line));
	size_t n = strlen(line);
	const char *tail = "/memfd:memfd_test (deleted)";
	EXPECT(strstr(line, " r--s 00002000 ") && n > strlen(tail) &&
	       !strcmp(line + n - strlen(tail), tail),
	       "/proc/self/maps: r--s, offset 00002000, \"/memfd:memfd_test (deleted)\"");
	EXPECT(m != MAP_FAILED && m[0] == 0 && m[PG - 1] == 0,
	       "the mapping outlives close (the shrink and grow left zeros there)");
	munmap(m, PG);
}

static void test_errors(void)
{
	static char name[300];
	int fds[2];
	EXPECT(ERRNO(memfd_create("x", 8), EINVAL), "an unknown flag: EINVAL");
	memset(name, 'n', 250);
	EXPECT(ERRNO(memfd_create(name, 0), EINVAL), "a 250-byte name: EINVAL");
	name[249] = 0;
	int fd = memfd_create(name, 0);
	EXPECT(fd >= 0, "a 249-byte name is allowed");
	close(fd);
	EXPECT(ERRNO(memfd_create((const char *)8, 0), EFAULT), "an unreadable name: EFAULT");
	fd = memfd_create("e", 0);
	EXPECT(ERRNO(ftruncate(fd, -1), EINVAL), "ftruncate to a negative length: EINVAL");
	EXPECT(ERRNO(ftruncate(99, 0), EBADF), "ftruncate of a closed fd: EBADF");
	pipe(fds);
	EXPECT(ERRNO(ftruncate(fds[1], 0), EINVAL), "ftruncate of a pipe: EINVAL");
	EXPECT(ERRNO(pwrite(fds[1], "a", 1, 0), ESPIPE), "pwrite on a pipe: ESPIPE");
	EXPECT(ERRNO(lseek(fd, -1, SEEK_SET), EINVAL), "lseek to a negative position: EINVAL");
	close(fds[0]);
	close(fds[1]);
	close(fd);
}

/* A file far larger than memory holds only the pages written (the object
 * keeps them in a tree, mm/page_tree.h), at any offset, and a shrink lets
 * go of the far ones. */
static void test_large(void)
{
	char buf[8];
	long blocks = -1, tib = 1L << 40;
	int fd = memfd_create("large", 0);
	EXPECT(fd >= 0 && ftruncate(fd, tib) == 0 && file_size(fd, &blocks) == tib && blocks == 0,
	       "ftruncate to 1 TiB: no block held");
	EXPECT(pwrite(fd, "far", 3, tib - PG) == 3 && pwrite(fd, "near", 4, 0) == 4 &&
	       file_size(fd, &blocks) == tib && blocks == 16, "a page written at each end: 2 pages held");
	char *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, tib - PG);
	EXPECT(m != MAP_FAILED && !memcmp(m, "far", 3), "mapped at 1 TiB less a page: what pwrite wrote");
	munmap(m, PG);
	EXPECT(ftruncate(fd, PG) == 0 && file_size(fd, &blocks) == PG && blocks == 8 &&
	       pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "near", 4),
	       "shrunk to one page: the far page is gone, the near one stays");
	close(fd);
}

int main(void)
{
	ktap_plan(35);
	test_file();
	test_mmap_shared();
	test_sigbus();
	test_maps();
	test_errors();
	test_large();
	return ktap_finish();
}
