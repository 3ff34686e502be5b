/* SPDX-License-Identifier: MIT */
/* kernel/sys_stat.c - stat, fstat, lstat, newfstatat: what an open file or
 * a name is. C libraries ask at start-up (stdio sizes its buffers from
 * st_blksize and asks whether stdout is a terminal), and programs ask
 * whether a /proc file exists.
 *
 * Pagoda has no inodes: a file's kind gives its type and permissions
 * (file_ops.stat_mode: the console is a character device, /proc files are
 * regular files, userfaultfds and pidfds anonymous inodes, mode 0600, as
 * on Linux, a memfd a regular file); sizes are 0 (Linux's /proc files say
 * 0 too) but a memfd's (file_ops.stat_size), times 0, owner root. Each
 * kind has one device number and each open file its own inode number. A
 * name is resolved as open() resolves it: /proc and /sys files and the
 * RAM file system's (kernel/tmpfs.h; opened for the look-up and closed
 * again), plus the directories "/", "/tmp", "/proc" and those of /sys.
 */
#include "kernel/file.h"
#include "kernel/path.h"
#include "kernel/sysfs.h"
#include "kernel/tmpfs.h"
#include "kernel/proc.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "mm/page.h"

#define S_IFDIR 0040000
#define S_IFREG 0100000

/* Linux's x86_64 struct stat (arch/x86/include/uapi/asm/stat.h). */
struct stat_k {
	u64 st_dev, st_ino, st_nlink;
	u32 st_mode, st_uid, st_gid, pad0;
	u64 st_rdev;
	s64 st_size, st_blksize, st_blocks;
	u64 st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
	s64 unused[3];
};

/* Device numbers (major << 8 | minor, the old encoding): /dev/console is
 * char 5:1 on devtmpfs; /proc and the anonymous inodes have their own
 * anonymous block devices, as on Linux. */
#define DEV_DEVTMPFS 0x5
#define DEV_PROC 0x16
#define DEV_ANON 0xd
#define RDEV_CONSOLE 0x501

static u32 file_mode(const struct file *f)
{
	const struct file_ops *ops = f->ops;
	if (ops->stat_mode)
		return ops->stat_mode;
	if (!ops->procfs)
		return 0600;            /* anon_inode: no type bits */
	u32 perm = (ops->read ? 0444 : 0) | (ops->write ? 0200 : 0);
	return S_IFREG | perm;
}

static void fill_stat(const struct file *f, struct stat_k *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = file_mode(f);
	st->st_nlink = 1;
	if (f == &console_file) {
		st->st_dev = DEV_DEVTMPFS;
		st->st_rdev = RDEV_CONSOLE;
		st->st_ino = 2;
		st->st_blksize = 1024;  /* a tty's */
		return;
	}
	st->st_dev = f->ops->procfs ? DEV_PROC : DEV_ANON;
	st->st_ino = ((u64)f >> 6) & 0xffffffffUL;     /* unique while open */
	st->st_blksize = PAGE_SIZE;
	if (f->ops->stat_size)
		f->ops->stat_size((struct file *)f, &st->st_size, &st->st_blocks);
	if (f->ops->stat_inode) {
		u32 mode = st->st_mode;
		f->ops->stat_inode((struct file *)f, &mode, &st->st_nlink, &st->st_ino);
		st->st_mode = mode;
	}
}

static long stat_file(struct file *f, u64 ustat)
{
	struct stat_k st;
	fill_stat(f, &st);
	return copy_to_user(ustat, &st, sizeof(st)) ? -EFAULT : 0;
}

static long sys_fstat(u64 fd, u64 ustat)
{
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret = stat_file(f, ustat);
	file_put(f);
	return ret;
}

/* A directory Pagoda admits to: "/" and "/proc" (and "/proc/self"), and
 * those of /sys (kernel/sysfs.h). */
static bool is_known_dir(const char *path)
{
	char own[32];
	snprintf(own, sizeof(own), "/proc/%u", current_proc()->pid);
	return !strcmp(path, "/") || !strcmp(path, "/proc") || !strcmp(path, "/proc/self") ||
	       !strcmp(path, own) || sysfs_is_dir(path);
}

static long stat_path(const char *path, u64 ustat)
{
	if (is_known_dir(path)) {
		struct stat_k st;
		memset(&st, 0, sizeof(st));
		st.st_dev = strcmp(path, "/") ? DEV_PROC : DEV_DEVTMPFS;
		st.st_ino = 1;
		st.st_nlink = 2;
		st.st_mode = S_IFDIR | (strcmp(path, "/") ? 0555 : 0755);   /* "/" holds files */
		st.st_blksize = PAGE_SIZE;
		return copy_to_user(ustat, &st, sizeof(st)) ? -EFAULT : 0;
	}
	long err;
	struct file *f;
	if (tmpfs_claims(path))
		f = tmpfs_open(path, 0, 0, &err);       /* O_RDONLY: never creates */
	else
		f = !strncmp(path, "/sys/", 5) ? sysfs_open(path, &err) : procfs_open(path, &err);
	if (!f)
		return err;
	long ret = stat_file(f, ustat);
	file_put(f);
	return ret;
}

/* vfs_fstatat's order: the flags (EINVAL), the name (EFAULT, ENOENT...),
 * then the file. AT_SYMLINK_NOFOLLOW changes nothing: /proc/self, the one
 * link that stat would follow, is reported as the directory it names. */
static long sys_newfstatat(u64 dirfd, u64 upath, u64 ustat, u64 flags)
{
	if (flags & ~(u64)(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	char full[PATH_BUF];
	long ret = path_from_user((s32)dirfd, upath, full, flags & AT_EMPTY_PATH);
	if (ret)
		return ret;
	if (!full[0]) {
		if ((s32)dirfd == AT_FDCWD)
			return stat_path("/", ustat);
		return sys_fstat((u32)dirfd, ustat);
	}
	return stat_path(full, ustat);
}

static long sys_stat(u64 upath, u64 ustat)
{
	return sys_newfstatat((u64)(s64)AT_FDCWD, upath, ustat, 0);
}

static long sys_lstat(u64 upath, u64 ustat)
{
	return sys_newfstatat((u64)(s64)AT_FDCWD, upath, ustat, AT_SYMLINK_NOFOLLOW);
}

void stat_syscalls_init(void)
{
	syscall_register(SYS_stat, (void (*)(void))sys_stat);
	syscall_register(SYS_fstat, (void (*)(void))sys_fstat);
	syscall_register(SYS_lstat, (void (*)(void))sys_lstat);
	syscall_register(SYS_newfstatat, (void (*)(void))sys_newfstatat);
}
