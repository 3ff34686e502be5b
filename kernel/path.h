/* SPDX-License-Identifier: MIT */
/* kernel/path.h - file names from user space.
 *
 * The names Pagoda knows are the /proc files (kernel/procfs.c), the /sys
 * files (kernel/sysfs.c), the few symbolic links of kernel/sys_readlink.c,
 * and the regular files of the RAM file system in "/" and "/tmp"
 * (kernel/tmpfs.h).
 * Every call that takes a name (open, stat, readlink ...) reads it here,
 * with Linux's errno for what cannot be a name at all, and resolves a
 * relative one from "/" (every process's working directory).
 */
#ifndef PAGODA_PATH_H
#define PAGODA_PATH_H

#include "kernel/types.h"

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_NO_AUTOMOUNT 0x800
#define AT_EMPTY_PATH 0x1000
#define AT_STATX_SYNC_TYPE 0x6000
#define PATH_MAX 4096
#define PATH_BUF 260            /* longer than any name Pagoda has */

/* Copy the name at upath into full (PATH_BUF bytes) as an absolute path.
 * 0, or: -EFAULT (unreadable), -ENOENT (empty, unless allow_empty: then
 * full is ""; or longer than the 255 bytes any name here has, but within
 * PATH_MAX), -ENAMETOOLONG (beyond PATH_MAX, or a component over
 * NAME_MAX: 255 bytes), and for a relative name with a dirfd
 * other than AT_FDCWD: -EBADF (no such fd) or -ENOTDIR (no file here is a
 * directory). May sleep. */
long path_from_user(long dirfd, u64 upath, char *full, bool allow_empty);

#endif
