/* SPDX-License-Identifier: MIT */
/* kernel/sysfs.c - the /sys files: names, open, read, write (sysfs.h). */
#include "kernel/sysfs.h"
#include "kernel/file.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "mm/slab.h"
#include "mm/page.h"

#define SHOW_MAX 256            /* longer than any value shown here */

static const struct {
	const char *dir;        /* with its trailing '/' */
	const struct sysfs_attr *attrs;
	const u32 *nr;
} groups[] = {
	{ "/sys/kernel/mm/transparent_hugepage/", thp_sysfs_attrs, &thp_sysfs_nr_attrs },
};

/* The attribute path names, or NULL. */
static const struct sysfs_attr *attr_lookup(const char *path)
{
	for (u32 g = 0; g < ARRAY_SIZE(groups); g++) {
		u64 n = strlen(groups[g].dir);
		if (strncmp(path, groups[g].dir, n))
			continue;
		for (u32 i = 0; i < *groups[g].nr; i++)
			if (!strcmp(path + n, groups[g].attrs[i].name))
				return &groups[g].attrs[i];
	}
	return NULL;
}

/* A directory is a proper prefix of an attribute's full name that ends
 * where a '/' follows. */
bool sysfs_is_dir(const char *path)
{
	u64 len = strlen(path);
	char full[128];
	for (u32 g = 0; g < ARRAY_SIZE(groups); g++) {
		for (u32 i = 0; i < *groups[g].nr; i++) {
			snprintf(full, sizeof(full), "%s%s", groups[g].dir, groups[g].attrs[i].name);
			if (len > 1 && !strncmp(full, path, len) && full[len] == '/')
				return true;
		}
	}
	return false;
}

/* Linux's seq_file read of a sysfs attribute: show() into a buffer, then
 * the bytes from the position on. */
static long sysfs_read(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	const struct sysfs_attr *a = f->private;
	char buf[SHOW_MAX];
	u64 len = a->show(buf, sizeof(buf));
	if (*pos >= len || count == 0)
		return 0;
	u64 n = len - *pos < count ? len - *pos : count;
	if (copy_to_user(ubuf, buf + *pos, n))
		return -EFAULT;
	*pos += n;
	return (long)n;
}

/* Linux's kernfs_fop_write_iter: at most PAGE_SIZE - 1 bytes, with a NUL
 * after them, go to store() in one call; its result is write's. */
static long sysfs_write(struct file *f, u64 ubuf, u64 count)
{
	const struct sysfs_attr *a = f->private;
	if (count >= PAGE_SIZE)
		count = PAGE_SIZE - 1;
	char *buf = kmalloc(count + 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	long ret = -EFAULT;
	if (!copy_from_user(buf, ubuf, count)) {
		buf[count] = 0;
		ret = a->store(buf, count);
	}
	kfree(buf);
	return ret;
}

/* As /proc's text files: SEEK_SET and SEEK_CUR, never below 0. */
static s64 sysfs_llseek(struct file *f, s64 offset, int whence)
{
	s64 pos;
	if (whence == SEEK_SET)
		pos = offset;
	else if (whence == SEEK_CUR)
		pos = (s64)f->pos + offset;
	else
		return -EINVAL;
	return pos < 0 ? -EINVAL : pos;
}

/* procfs: a regular file on a noexec mount for stat and mmap (kernel/
 * file.h), which a sysfs file is too. The mode comes from the ops: a
 * read-only attribute has no write (open for writing: EACCES, as kernfs). */
static const struct file_ops sysfs_rw_ops = {
	.name = "sysfs",
	.read = sysfs_read,
	.write = sysfs_write,
	.llseek = sysfs_llseek,
	.positional = true,
	.procfs = true,
	.stat_mode = 0100644,
};

static const struct file_ops sysfs_ro_ops = {
	.name = "sysfs",
	.read = sysfs_read,
	.llseek = sysfs_llseek,
	.positional = true,
	.procfs = true,
	.stat_mode = 0100444,
};

struct file *sysfs_open(const char *path, long *err)
{
	const struct sysfs_attr *a = attr_lookup(path);
	if (!a) {
		*err = -ENOENT;
		return NULL;
	}
	/* The attribute table is static: the file holds no reference. */
	struct file *f = file_alloc(a->store ? &sysfs_rw_ops : &sysfs_ro_ops, FMODE_READ, 0,
				    (void *)a);
	if (!f)
		*err = -ENOMEM;
	return f;
}

/* ---- Linux's parsing helpers for store() ---- */

bool sysfs_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	if (*a == *b)
		return true;
	if (!*a && *b == '\n' && !b[1])
		return true;
	return !*b && *a == '\n' && !a[1];
}

long kstrtoul(const char *s, u64 *v)
{
	if (*s == '+')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	u64 r = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		u64 d = (u64)(*s - '0');
		if (r > (~0UL - d) / 10)
			return -ERANGE;
		r = r * 10 + d;
	}
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*v = r;
	return 0;
}

long kstrtouint(const char *s, u32 *v)
{
	u64 r;
	long err = kstrtoul(s, &r);
	if (err)
		return err;
	if (r > 0xffffffffUL)
		return -ERANGE;
	*v = (u32)r;
	return 0;
}
