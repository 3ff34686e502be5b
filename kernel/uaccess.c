/* SPDX-License-Identifier: MIT */
/* kernel/uaccess.c - see uaccess.h for the rules. */
#include "kernel/uaccess.h"
#include "mm/slab.h"
#include "kernel/errno.h"
#include "mm/user_layout.h"

bool cpu_has_smap;

bool user_range_ok(u64 addr, size_t n)
{
	return addr <= USER_SPACE_END && n <= USER_SPACE_END - addr;
}

static inline void user_access_begin(void)
{
	if (cpu_has_smap)
		__asm__ __volatile__("stac" ::: "memory");
}

static inline void user_access_end(void)
{
	if (cpu_has_smap)
		__asm__ __volatile__("clac" ::: "memory");
}

/* rep movsb with an exception-table entry: if it faults, the trap handler
 * resumes after it and RCX still holds the number of bytes not copied. */
static size_t copy_bytes_may_fault(void *dst, const void *src, size_t n)
{
	__asm__ __volatile__(
		"1: rep movsb\n"
		"2:\n"
		".pushsection .ex_table, \"a\"\n"
		".quad 1b, 2b\n"
		".popsection"
		: "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return n;
}

int copy_from_user(void *dst, u64 user_src, size_t n)
{
	if (!user_range_ok(user_src, n))
		return -EFAULT;
	user_access_begin();
	size_t left = copy_bytes_may_fault(dst, (const void *)user_src, n);
	user_access_end();
	return left ? -EFAULT : 0;
}

int copy_to_user(u64 user_dst, const void *src, size_t n)
{
	if (!user_range_ok(user_dst, n))
		return -EFAULT;
	user_access_begin();
	size_t left = copy_bytes_may_fault((void *)user_dst, src, n);
	user_access_end();
	return left ? -EFAULT : 0;
}

long strncpy_from_user(char *dst, u64 user_src, size_t size)
{
	/* Byte by byte: simple, and strings passed to Pagoda are short. */
	for (size_t i = 0; i < size; i++) {
		if (!user_range_ok(user_src + i, 1))
			return -EFAULT;
		if (copy_from_user(&dst[i], user_src + i, 1))
			return -EFAULT;
		if (dst[i] == 0)
			return (long)i;
	}
	if (size)
		dst[size - 1] = 0;
	return -ENAMETOOLONG;
}

struct iovec_k *import_iovec(u64 uvec, u64 cnt, long *err)
{
	if (cnt > UIO_MAXIOV) {
		*err = -EINVAL;
		return NULL;
	}
	struct iovec_k *iov = kmalloc(cnt ? cnt * sizeof(*iov) : 1, GFP_KERNEL);
	if (!iov) {
		*err = -ENOMEM;
		return NULL;
	}
	if (cnt && copy_from_user(iov, uvec, cnt * sizeof(*iov))) {
		kfree(iov);
		*err = -EFAULT;
		return NULL;
	}
	for (u64 i = 0; i < cnt; i++)
		if (iov[i].len < 0) {
			kfree(iov);
			*err = -EINVAL;
			return NULL;
		}
	return iov;
}
