/* SPDX-License-Identifier: MIT */
/* tmpfs_test - the writable RAM file system (kernel/tmpfs.h, docs/tmpfs.md):
 * regular files in the working directory and in /tmp.
 *
 *   - open with O_CREAT makes a regular file, its mode open's less the
 *     umask (0666 -> 0644), one link; stat by name and fstat agree; a
 *     second open of the name is the same file (same inode, same bytes);
 *   - write, read, pread, pwrite, lseek, ftruncate, O_TRUNC and O_APPEND;
 *   - mmap MAP_SHARED of the file: stores through the mapping are read
 *     back by read() through another open file, a fork child's too;
 *   - mmap MAP_PRIVATE: the file's pages until a write copies one; a
 *     write to the file shows where the mapping has no copy; fork shares
 *     the copies copy-on-write; MADV_DONTNEED drops them (the file again);
 *     MADV_FREE is refused (EINVAL: it is for anonymous memory only);
 *     a read-only file maps privately writable, but its shared mapping
 *     cannot be made writable (EACCES);
 *   - unlink: the name is gone (ENOENT), the open file and the mapping
 *     still work (st_nlink 0), /proc/self/maps says "(deleted)"; a new file
 *     of the same name is empty; the working directory's "./name" and
 *     "/tmp/name" are different files;
 *   - Linux's errno: ENOENT (no such name, no such directory on the way),
 *     EEXIST (O_CREAT|O_EXCL), EISDIR (a directory opened for writing, or
 *     created, read, unlinked), ENOTDIR (a file used as a directory,
 *     O_DIRECTORY), ENAMETOOLONG, EBADF (write to a read-only file),
 *     EINVAL (its ftruncate), EACCES (its MAP_SHARED PROT_WRITE mapping).
 * The output is the same on Linux (tools/linux-ref, whose initramfs has a
 * /tmp of mode 1777). The kernel checks that the program leaves no page
 * behind (its free-page report at exit).
 */
#include "libc.h"

#define EXPECT(cond, ...) do { if (!ktap_ok((cond), __VA_ARGS__)) ktap_diag("line %d", __LINE__); } while (0)
#define ERRNO(call, e) ((call) == -1 && errno == (e))

#define NR_fstat 5
#define NR_newfstatat 262
#define O_EXCL 0200
#define O_TRUNC 01000
#define S_IFMT 0170000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define PG 4096L

static int fstat_k(int fd, struct kstat *st)
{
	return (int)ret_errno(raw_syscall2(NR_fstat, fd, (long)st));
}

static int stat_k(const char *path, struct kstat *st)
{
	return (int)ret_errno(raw_syscall4(NR_newfstatat, AT_FDCWD, (long)path, (long)st, 0));
}

static long size_of(int fd)
{
	struct kstat st;
	return fstat_k(fd, &st) ? -1 : st.size;
}

#define CWD_FILE "./tmpfs_test_file"
#define TMP_FILE "/tmp/tmpfs_test_file"

static void test_create(void)
{
	struct kstat st, by_name;
	char buf[16];
	int fd = open(CWD_FILE, O_RDWR | O_CREAT | O_EXCL, 0666);
	EXPECT(fd >= 0 && fstat_k(fd, &st) == 0 && (st.mode & S_IFMT) == S_IFREG &&
	       (st.mode & 07777) == 0644 && st.nlink == 1 && st.size == 0,
	       "open O_CREAT|O_EXCL: a regular file, mode 0644 (0666 less the umask), one link, empty");
	EXPECT(stat_k("tmpfs_test_file", &by_name) == 0 && by_name.ino == st.ino &&
	       by_name.mode == st.mode, "stat by name: the same inode");
	EXPECT(write(fd, "hello world", 11) == 11 && size_of(fd) == 11 && lseek(fd, 0, SEEK_CUR) == 11,
	       "write 11 bytes: the size and the position follow");
	int fd2 = open(CWD_FILE, O_RDONLY, 0);
	EXPECT(fd2 >= 0 && read(fd2, buf, 16) == 11 && !memcmp(buf, "hello world", 11),
	       "a second open of the name reads what the first wrote");
	EXPECT(pwrite(fd, "XY", 2, 3 * PG) == 2 && size_of(fd2) == 3 * PG + 2 &&
	       pread(fd2, buf, 4, 2 * PG) == 4 && !memcmp(buf, "\0\0\0\0", 4),
	       "pwrite past the end grows the file for every open file; the gap reads zeros");
	EXPECT(ERRNO(write(fd2, "x", 1), EBADF) && ERRNO(ftruncate(fd2, 0), EINVAL),
	       "read-only open: write is EBADF, ftruncate EINVAL");
	EXPECT(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0) == MAP_FAILED && errno == EACCES,
	       "read-only open: a writable MAP_SHARED mapping is EACCES");
	EXPECT(ftruncate(fd, 5) == 0 && pread(fd2, buf, 16, 0) == 5 && lseek(fd2, 0, SEEK_END) == 5,
	       "ftruncate shrinks it for every open file");
	close(fd2);
	close(fd);
	fd = open(CWD_FILE, O_WRONLY | O_APPEND, 0);
	EXPECT(fd >= 0 && write(fd, "++", 2) == 2 && size_of(fd) == 7,
	       "O_APPEND: a write goes to the end");
	close(fd);
	fd = open(CWD_FILE, O_RDWR | O_TRUNC, 0);
	EXPECT(fd >= 0 && size_of(fd) == 0, "O_TRUNC empties it");
	close(fd);
	EXPECT(unlink(CWD_FILE) == 0 && ERRNO(open(CWD_FILE, O_RDONLY, 0), ENOENT) &&
	       ERRNO(unlink(CWD_FILE), ENOENT), "unlink: the name is gone");
}

/* A maps line naming path, without or with " (deleted)". */
static int maps_names(const char *path, bool deleted)
{
	static char maps[16384];
	char want[128];
	int fd = open("/proc/self/maps", O_RDONLY, 0);
	long n = fd >= 0 ? read(fd, maps, sizeof(maps) - 1) : -1;
	close(fd);
	if (n <= 0)
		return 0;
	maps[n] = 0;
	snprintf(want, sizeof(want), " %s%s\n", path, deleted ? " (deleted)" : "");
	return strstr(maps, want) != NULL;
}

static void test_mmap(void)
{
	char buf[8];
	struct kstat st;
	int fd = open(TMP_FILE, O_RDWR | O_CREAT, 0600);
	EXPECT(fd >= 0 && ftruncate(fd, 2 * PG) == 0 && fstat_k(fd, &st) == 0 &&
	       (st.mode & 07777) == 0600, "a file in /tmp, mode 0600, 2 pages");
	char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT(m != MAP_FAILED && maps_names(TMP_FILE, false), "mmap MAP_SHARED; maps names the file");
	memcpy(m + PG, "mapped", 6);
	int fd2 = open(TMP_FILE, O_RDONLY, 0);
	EXPECT(fd2 >= 0 && pread(fd2, buf, 6, PG) == 6 && !memcmp(buf, "mapped", 6),
	       "a store through the mapping is read through another open file");
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(TMP_FILE, O_RDWR, 0);
		exit(cfd >= 0 && pwrite(cfd, "child", 5, 10) == 5 ? 0 : 1);
	}
	EXPECT(reap_child(pid) == 0 && !memcmp(m + 10, "child", 5),
	       "a fork child's write through the name is seen in the mapping");
	EXPECT(unlink(TMP_FILE) == 0 && fstat_k(fd, &st) == 0 && st.nlink == 0 &&
	       maps_names(TMP_FILE, true), "unlink while mapped: st_nlink 0, maps says (deleted)");
	m[0] = 'A';
	EXPECT(pread(fd2, buf, 1, 0) == 1 && buf[0] == 'A' && !memcmp(m + PG, "mapped", 6),
	       "the unlinked file lives on through its mapping and open files");
	int fd3 = open(TMP_FILE, O_RDWR | O_CREAT | O_EXCL, 0600);
	EXPECT(fd3 >= 0 && size_of(fd3) == 0, "a new file of the same name is a new, empty file");
	close(fd3);
	unlink(TMP_FILE);
	close(fd2);
	close(fd);
	EXPECT(m[10] == 'c', "the mapping outlives close()");
	munmap(m, 2 * PG);
}

/* /proc/self/pagemap's entry for addr (0 if unreadable). */
static unsigned long pagemap_entry(const void *addr)
{
	unsigned long e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY, 0);
	if (fd >= 0 && pread(fd, &e, sizeof(e), (long)addr / PG * 8) != sizeof(e))
		e = 0;
	close(fd);
	return e;
}

#define PM_FILE (1UL << 61)
#define PM_PRESENT (1UL << 63)

/* MAP_PRIVATE: the file's pages until a write copies them. */
static void test_private(void)
{
	char buf[8];
	int fd = open(CWD_FILE, O_RDWR | O_CREAT, 0644);
	pwrite(fd, "file0", 5, 0);
	pwrite(fd, "file1", 5, PG);
	pwrite(fd, "file2", 5, 2 * PG);
	char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT(p != MAP_FAILED && !memcmp(p, "file0", 5) && !memcmp(p + PG, "file1", 5),
	       "mmap MAP_PRIVATE reads the file's bytes");
	memcpy(p, "priv0", 5);
	EXPECT(pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "file0", 5),
	       "a store through the private mapping does not reach the file");
	pwrite(fd, "new-1", 5, PG);
	pwrite(fd, "new-0", 5, 0);
	EXPECT(!memcmp(p + PG, "new-1", 5) && !memcmp(p, "priv0", 5),
	       "a write to the file shows where the mapping has no copy of its own, not where it has");
	unsigned long file_e = pagemap_entry(p + PG), copy_e = pagemap_entry(p);
	EXPECT((file_e & (PM_PRESENT | PM_FILE)) == (PM_PRESENT | PM_FILE) &&
	       (copy_e & (PM_PRESENT | PM_FILE)) == PM_PRESENT,
	       "pagemap: the file's page is a file page (bit 61), the copy is not");
	pid_t pid = fork();
	if (pid == 0) {
		bool ok = !memcmp(p, "priv0", 5);
		memcpy(p + 2 * PG, "child", 5);
		exit(ok && !memcmp(p + 2 * PG, "child", 5) ? 0 : 1);
	}
	EXPECT(reap_child(pid) == 0 && !memcmp(p + 2 * PG, "file2", 5) &&
	       pread(fd, buf, 5, 2 * PG) == 5 && !memcmp(buf, "file2", 5),
	       "fork: the child sees the parent's copy; its own store reaches neither parent nor file");
	EXPECT(madvise(p, PG, MADV_DONTNEED) == 0 && !memcmp(p, "new-0", 5),
	       "MADV_DONTNEED drops the copy: the file's page again");
	EXPECT(madvise(p, PG, MADV_REMOVE) == -1 && errno == EACCES,
	       "MADV_REMOVE of a private file mapping: EACCES");
	EXPECT(ERRNO(madvise(p, PG, MADV_FREE), EINVAL) && !memcmp(p + PG, "new-1", 5),
	       "MADV_FREE of a private file mapping: EINVAL (anonymous memory only)");
	munmap(p, 3 * PG);
	int ro = open(CWD_FILE, O_RDONLY, 0);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	char *s = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
	EXPECT(p != MAP_FAILED && (p[0] = 'X') == 'X' && pread(ro, buf, 1, 0) == 1 && buf[0] == 'n',
	       "a read-only file: a writable private mapping is allowed, and writes its copy only");
	EXPECT(s != MAP_FAILED && mprotect(s, PG, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
	       "a read-only file's shared mapping cannot be made writable: EACCES");
	munmap(p, PG);
	munmap(s, PG);
	close(ro);
	close(fd);
	unlink(CWD_FILE);
}

static void test_errors(void)
{
	char name[300];
	struct kstat st;
	int fd = open(CWD_FILE, O_RDWR | O_CREAT, 0644);
	EXPECT(ERRNO(open(CWD_FILE, O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST),
	       "O_CREAT|O_EXCL of an existing name: EEXIST");
	EXPECT(ERRNO(open("./tmpfs_test_none", O_RDONLY, 0), ENOENT) &&
	       ERRNO(open("/tmp/no_dir/x", O_RDWR | O_CREAT, 0644), ENOENT),
	       "no such file, no such directory on the way: ENOENT");
	EXPECT(ERRNO(open(CWD_FILE "/x", O_RDWR | O_CREAT, 0644), ENOTDIR) &&
	       ERRNO(open(CWD_FILE, O_RDONLY | O_DIRECTORY, 0), ENOTDIR),
	       "a file as a directory, O_DIRECTORY on a file: ENOTDIR");
	EXPECT(ERRNO(open("/tmp", O_RDWR, 0), EISDIR) && ERRNO(open("/tmp", O_RDWR | O_CREAT, 0644), EISDIR) &&
	       ERRNO(open("/tmp", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST),
	       "/tmp opened for writing or created: EISDIR (EEXIST with O_EXCL)");
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY, 0);
	char c;
	EXPECT(dfd >= 0 && ERRNO(read(dfd, &c, 1), EISDIR) && ERRNO(unlink("/tmp"), EISDIR),
	       "a directory: read and unlink are EISDIR");
	close(dfd);
	EXPECT(stat_k("/tmp", &st) == 0 && st.mode == (S_IFDIR | 01777), "stat /tmp: a directory, 1777");
	memset(name, 'n', sizeof(name));
	memcpy(name, "/tmp/", 5);
	name[5 + 256] = 0;
	EXPECT(ERRNO(open(name, O_RDWR | O_CREAT, 0644), ENAMETOOLONG), "a 256-byte name: ENAMETOOLONG");
	close(fd);
	unlink(CWD_FILE);
}

int main(void)
{
	ktap_plan(36);
	test_create();
	test_mmap();
	test_private();
	test_errors();
	return ktap_finish();
}
