/* SPDX-License-Identifier: MIT */
/* kernel/sys_readlink.c - readlink, readlinkat: Pagoda's symbolic links.
 *
 * There are two, both Linux's: /proc/self names the caller's own
 * /proc/PID directory ("PID"), and /proc/self/exe (/proc/PID/exe for the
 * caller's pid) the program it runs: "/boot/bin/NAME", where the program
 * is on the boot image (docs/user-programs.md). C libraries read exe to
 * find themselves; glibc's static start-up does when it has no AT_EXECFN.
 * Any other name that exists is not a link: EINVAL; else ENOENT.
 */
#include "kernel/file.h"
#include "kernel/path.h"
#include "kernel/proc.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"

/* The link's text into target; false if path is not one of ours. */
static bool link_target(const char *path, char *target, size_t size)
{
	struct process *p = current_proc();
	char own[32];
	snprintf(own, sizeof(own), "/proc/%u/exe", p->pid);
	if (!strcmp(path, "/proc/self")) {
		snprintf(target, size, "%u", p->pid);
		return true;
	}
	if (!strcmp(path, "/proc/self/exe") || !strcmp(path, own)) {
		snprintf(target, size, "/boot/bin/%s", p->name);
		return true;
	}
	return false;
}

/* Does the name exist (as something other than a link)? */
static bool name_exists(const char *path)
{
	char own[32];
	snprintf(own, sizeof(own), "/proc/%u", current_proc()->pid);
	if (!strcmp(path, "/") || !strcmp(path, "/proc") || !strcmp(path, own))
		return true;
	long err;
	struct file *f = procfs_open(path, &err);
	if (f)
		file_put(f);
	return f != NULL;
}

/* do_readlinkat's order: the size (EINVAL), the name, then the link; the
 * text is not NUL-terminated and is cut at bufsiz, as Linux's. */
static long sys_readlinkat(u64 dirfd, u64 upath, u64 ubuf, u64 bufsiz)
{
	if ((s32)bufsiz <= 0)
		return -EINVAL;
	char full[PATH_BUF];
	long ret = path_from_user((s32)dirfd, upath, full, true);
	if (ret)
		return ret;
	char target[64];
	if (!full[0] || !link_target(full, target, sizeof(target)))
		return full[0] && name_exists(full) ? -EINVAL : -ENOENT;
	u64 len = strlen(target);
	if (len > (u32)bufsiz)
		len = (u32)bufsiz;
	return copy_to_user(ubuf, target, len) ? -EFAULT : (long)len;
}

static long sys_readlink(u64 upath, u64 ubuf, u64 bufsiz)
{
	return sys_readlinkat((u64)(s64)AT_FDCWD, upath, ubuf, bufsiz);
}

void readlink_syscalls_init(void)
{
	syscall_register(SYS_readlink, (void (*)(void))sys_readlink);
	syscall_register(SYS_readlinkat, (void (*)(void))sys_readlinkat);
}
