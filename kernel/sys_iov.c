/* SPDX-License-Identifier: MIT */
/* kernel/sys_iov.c - readv and writev: one read or write per piece of a
 * user vector, in order, on one file (C libraries' stdio writes with
 * writev: musl always, glibc for some streams).
 *
 * Linux's order (do_readv/vfs_readv): the fd (EBADF), opened for that
 * direction (EBADF), the kind has the operation (EINVAL), then the vector
 * (import_iovec: EINVAL, EFAULT). The pieces go one after the other and
 * stop at the first short one; an error is returned only if nothing was
 * transferred, else the byte count so far, as Linux's do_loop_readv_writev.
 */
#include "kernel/file.h"
#include "kernel/proc.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "mm/slab.h"

static long do_iov(u64 fd, u64 uvec, u64 cnt, bool write)
{
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret;
	if (!(f->mode & (write ? FMODE_WRITE : FMODE_READ))) {
		ret = -EBADF;
	} else if (!(write ? (void *)f->ops->write : (void *)f->ops->read)) {
		ret = -EINVAL;
	} else {
		struct iovec_k *iov = import_iovec(uvec, cnt, &ret);
		if (iov) {
			u64 done = 0;
			ret = 0;
			for (u64 i = 0; i < cnt; i++) {
				u64 len = (u64)iov[i].len;
				long n = write ? file_write(f, iov[i].base, len) :
						 file_read(f, iov[i].base, len);
				if (n < 0) {
					ret = done ? (long)done : n;
					break;
				}
				done += (u64)n;
				ret = (long)done;
				if ((u64)n < len)
					break;
			}
			kfree(iov);
		}
	}
	file_put(f);
	return ret;
}

static long sys_readv(u64 fd, u64 uvec, u64 cnt)
{
	return do_iov(fd, uvec, cnt, false);
}

static long sys_writev(u64 fd, u64 uvec, u64 cnt)
{
	return do_iov(fd, uvec, cnt, true);
}

void iov_syscalls_init(void)
{
	syscall_register(SYS_readv, (void (*)(void))sys_readv);
	syscall_register(SYS_writev, (void (*)(void))sys_writev);
}
