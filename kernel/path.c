/* SPDX-License-Identifier: MIT */
/* kernel/path.c - file names from user space (path.h). */
#include "kernel/path.h"
#include "kernel/proc.h"
#include "kernel/file.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"

/* A name that does not fit: Linux says ENAMETOOLONG beyond PATH_MAX or
 * for a component over NAME_MAX (255 bytes), else ENOENT (no such file:
 * no name here is that long). */
static long too_long(u64 upath)
{
	u64 comp = 0;
	for (u64 i = 0; i < PATH_MAX; i++) {
		char c;
		if (copy_from_user(&c, upath + i, 1))
			return -EFAULT;
		if (!c)
			return -ENOENT;
		comp = c == '/' ? 0 : comp + 1;
		if (comp > 255)
			return -ENAMETOOLONG;
	}
	return -ENAMETOOLONG;
}

long path_from_user(long dirfd, u64 upath, char *full, bool allow_empty)
{
	char path[256];
	long len = strncpy_from_user(path, upath, sizeof(path));
	if (len == -ENAMETOOLONG)
		return too_long(upath);
	if (len < 0)
		return len;
	if (len == 0) {
		full[0] = 0;
		return allow_empty ? 0 : -ENOENT;
	}
	if (path[0] == '/') {
		strlcpy(full, path, PATH_BUF);
		return 0;
	}
	if (dirfd != AT_FDCWD) {
		/* Relative to a file: none of ours is a directory. */
		struct file *d = fget(current_proc(), dirfd);
		if (d)
			file_put(d);
		return d ? -ENOTDIR : -EBADF;
	}
	snprintf(full, PATH_BUF, "/%s", path);
	return 0;
}
