/* SPDX-License-Identifier: MIT */
/* kernel/memfd.c - memfd_create(2) and ftruncate(2): an anonymous file
 * over shared anonymous memory (kernel/memfd.h has the model and the
 * locking rules). Arguments are checked in Linux's order (mm/memfd.c,
 * fs/open.c, mm/shmem.c), so that a bad call gets Linux's errno.
 */
#include "kernel/memfd.h"
#include "kernel/file.h"
#include "kernel/proc.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "mm/shared_anon.h"
#include "mm/vma.h"             /* shared_anon_get, shared_anon_put */
#include "mm/page.h"
#include "mm/mm.h"
#include "mm/slab.h"

struct memfd {
	struct shared_anon *obj;        /* the file's reference */
};

static struct memfd *memfd_of(struct file *f)
{
	return f->private;
}

/* ---- read and write at a position ---- */

/* Copy one piece of a page (or of the zero page for a hole) to the user. */
static int read_piece(struct shared_anon *obj, u64 pos, u64 ubuf, u64 n)
{
	struct page *p = shared_anon_find_page(obj, pos / PAGE_SIZE);
	const char *src = page_address(p ? p : zero_page);
	int err = copy_to_user(ubuf, src + pos % PAGE_SIZE, n);
	if (p)
		put_page(p);
	return err;
}

static long memfd_read(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	struct memfd *m = memfd_of(f);
	down_read(&m->obj->size_lock);
	u64 size = shared_anon_size(m->obj), done = 0;
	while (done < count && *pos < size) {
		u64 n = MIN(count - done, PAGE_SIZE - *pos % PAGE_SIZE);
		n = MIN(n, size - *pos);
		if (read_piece(m->obj, *pos, ubuf + done, n))
			break;
		done += n;
		*pos += n;
	}
	up_read(&m->obj->size_lock);
	/* A fault after some bytes: those bytes (Linux's short read). */
	return done || !count || *pos >= size ? (long)done : -EFAULT;
}

/* Linux's MAX_LFS_FILESIZE (the object's largest size too: shmem's
 * s_maxbytes). */
#define MAX_LFS_FILESIZE 0x7fffffffffffffffUL

static long write_pieces(struct shared_anon *obj, u64 ubuf, u64 count, u64 pos)
{
	u64 done = 0;
	while (done < count) {
		u64 at = pos + done;
		u64 n = MIN(count - done, PAGE_SIZE - at % PAGE_SIZE);
		struct page *p = shared_anon_page(obj, at / PAGE_SIZE);
		if (!p)
			return done ? (long)done : -ENOMEM;
		int err = copy_from_user((char *)page_address(p) + at % PAGE_SIZE, ubuf + done, n);
		put_page(p);
		if (err)
			return done ? (long)done : -EFAULT;
		done += n;
	}
	return (long)done;
}

/* The file grows to cover the write first (its pages must be inside the
 * object to be filled), and back to the bytes really written if the copy
 * stopped short, as Linux's i_size only covers what was written. */
static long memfd_write_at(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	struct memfd *m = memfd_of(f);
	if (!count)
		return 0;
	down_write(&m->obj->size_lock);
	u64 old = shared_anon_size(m->obj);
	/* O_APPEND: every write (pwrite too, as on Linux) goes to the end,
	 * read under the lock so that two appenders never overlap. */
	if (READ_ONCE(f->flags) & O_APPEND)
		*pos = old;
	/* generic_write_checks */
	if (*pos > MAX_LFS_FILESIZE - count || *pos + count > shared_anon_max_size()) {
		up_write(&m->obj->size_lock);
		return -EFBIG;
	}
	long ret = 0;
	if (*pos + count > old)
		ret = shared_anon_set_size(m->obj, *pos + count);
	if (!ret)
		ret = write_pieces(m->obj, ubuf, count, *pos);
	u64 end = ret > 0 ? *pos + (u64)ret : 0;
	if (*pos + count > old && (ret < 0 || (u64)ret < count))
		shared_anon_set_size(m->obj, MAX(old, end));    /* shrinking cannot fail */
	if (ret > 0)
		*pos += (u64)ret;
	up_write(&m->obj->size_lock);
	return ret;
}

/* ---- lseek ---- */

#define SEEK_DATA 3
#define SEEK_HOLE 4

/* SEEK_DATA / SEEK_HOLE from off: the first page held (data) or not held
 * (a hole) at or after off; the end of the file is a hole. -ENXIO at or
 * past the end (mm/shmem.c's shmem_file_llseek). */
static s64 seek_data_hole(struct shared_anon *obj, u64 off, int whence)
{
	u64 size = shared_anon_size(obj);
	if (off >= size)
		return -ENXIO;
	for (u64 at = off; at < size; at = (at / PAGE_SIZE + 1) * PAGE_SIZE) {
		struct page *p = shared_anon_find_page(obj, at / PAGE_SIZE);
		if (p)
			put_page(p);
		if ((p != NULL) == (whence == SEEK_DATA))
			return (s64)at;
	}
	return whence == SEEK_DATA ? -ENXIO : (s64)size;
}

static s64 memfd_llseek(struct file *f, s64 offset, int whence)
{
	struct memfd *m = memfd_of(f);
	s64 base;
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (s64)f->pos;
		break;
	case SEEK_END:
		base = (s64)shared_anon_size(m->obj);
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		if (offset < 0)
			return -ENXIO;
		return seek_data_hole(m->obj, (u64)offset, whence);
	default:
		return -EINVAL;
	}
	s64 pos = base + offset;
	if (pos < 0 || (offset > 0 && pos < base))
		return -EINVAL;         /* negative, or overflowed */
	return pos;
}

/* ---- fstat, release ---- */

static void memfd_stat_size(struct file *f, s64 *size, s64 *blocks)
{
	struct shared_anon *obj = memfd_of(f)->obj;
	*size = (s64)shared_anon_size(obj);
	*blocks = (s64)(shared_anon_nr_pages(obj) * (PAGE_SIZE / 512));
}

/* The inode's part of fstat: a tmpfs file's own mode and link count; a
 * memfd's 0777 and one link (Linux's memfd is never unlinked from its
 * internal mount's view). The inode number is the object's, as maps says. */
static void memfd_stat_inode(struct file *f, u32 *mode, u64 *nlink, u64 *ino)
{
	struct shared_anon *obj = memfd_of(f)->obj;
	if (obj->mode) {
		*mode = obj->mode;
		*nlink = READ_ONCE(obj->linked) ? 1 : 0;
	}
	*ino = ((u64)obj >> 6) & 0xffffffffUL;
}

static void memfd_release(struct file *f)
{
	struct memfd *m = memfd_of(f);
	shared_anon_put(m->obj);
	kfree(m);
}

/* A regular file of a tmpfs on Linux, mode 0777 (shmem_file_setup's
 * S_IFREG | S_IRWXUGO), seekable, readable and writable at a position. */
static const struct file_ops memfd_ops = {
	.name = "memfd",
	.read = memfd_read,
	.write_at = memfd_write_at,
	.llseek = memfd_llseek,
	.release = memfd_release,
	.positional = true,
	.stat_mode = 0100777,
	.stat_size = memfd_stat_size,
	.stat_inode = memfd_stat_inode,
};

struct shared_anon *shmem_file_object(struct file *f)
{
	return f->ops == &memfd_ops ? memfd_of(f)->obj : NULL;
}

struct file *shmem_file_open(struct shared_anon *obj, u32 fmode, u32 flags)
{
	struct memfd *m = kzalloc(sizeof(*m), GFP_KERNEL);
	struct file *f = m ? file_alloc(&memfd_ops, fmode, flags, m) : NULL;
	if (!f) {
		kfree(m);
		return NULL;
	}
	shared_anon_get(obj);
	m->obj = obj;
	return f;
}

struct shared_anon *memfd_get_object(int fd)
{
	struct process *p = current_proc();
	struct file *f = p ? fget(p, fd) : NULL;
	if (!f)
		return NULL;
	struct shared_anon *obj = NULL;
	if (f->ops == &memfd_ops) {
		obj = memfd_of(f)->obj;
		shared_anon_get(obj);
	}
	file_put(f);
	return obj;
}

/* ---- memfd_create ---- */

#define MFD_CLOEXEC 0x0001U
#define MFD_ALLOW_SEALING 0x0002U
#define MFD_HUGETLB 0x0004U
#define MFD_ALL_FLAGS (MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB)
#define MFD_HUGE_SHIFT 26
#define MFD_HUGE_MASK 0x3fU
#define MFD_NAME_PREFIX "memfd:"
/* NAME_MAX (255) less the prefix: 249 bytes of name. */
#define MFD_NAME_MAX_LEN (255 - (sizeof(MFD_NAME_PREFIX) - 1))

/* The flags, in Linux's order: unknown bits (a huge page size only with
 * MFD_HUGETLB) are EINVAL. MFD_ALLOW_SEALING is refused too: Pagoda cannot
 * add seals, and accepting it would promise them (kernel/memfd.h). */
static long check_flags(u32 flags)
{
	u32 allowed = MFD_ALL_FLAGS;
	if (flags & MFD_HUGETLB)
		allowed |= MFD_HUGE_MASK << MFD_HUGE_SHIFT;
	if (flags & ~allowed)
		return -EINVAL;
	if (flags & MFD_ALLOW_SEALING)
		return -EINVAL;
	return 0;
}

/* "memfd:NAME" from the user's string: -EFAULT if unreadable, -EINVAL if
 * longer than MFD_NAME_MAX_LEN. */
static long copy_name(u64 uname, char *name, size_t size)
{
	size_t pre = sizeof(MFD_NAME_PREFIX) - 1;
	strlcpy(name, MFD_NAME_PREFIX, size);
	long len = strncpy_from_user(name + pre, uname, MFD_NAME_MAX_LEN + 1);
	if (len == -ENAMETOOLONG)
		return -EINVAL;
	return len < 0 ? -EFAULT : 0;
}

static struct file *memfd_file(const char *name)
{
	struct shared_anon *obj = shared_anon_create(0);
	char *copy = kmalloc(strlen(name) + 1, GFP_KERNEL);
	struct file *f = obj && copy ? shmem_file_open(obj, FMODE_READ | FMODE_WRITE, O_LARGEFILE) : NULL;
	if (obj)
		shared_anon_put(obj);   /* the file holds its own reference */
	if (!f) {
		kfree(copy);
		return NULL;
	}
	strlcpy(copy, name, strlen(name) + 1);
	obj->name = copy;
	return f;
}

static long sys_memfd_create(u64 uname, u64 uflags)
{
	u32 flags = (u32)uflags;
	long err = check_flags(flags);
	if (err)
		return err;
	char name[sizeof(MFD_NAME_PREFIX) + MFD_NAME_MAX_LEN];
	err = copy_name(uname, name, sizeof(name));
	if (err)
		return err;
	/* No hugetlbfs: Linux's hugetlb_file_setup stub answers ENOSYS. */
	if (flags & MFD_HUGETLB)
		return -ENOSYS;
	struct file *f = memfd_file(name);
	if (!f)
		return -ENOMEM;
	return fd_install(current_proc(), f, (flags & MFD_CLOEXEC) ? FD_CLOEXEC : 0);
}

/* ---- ftruncate ---- */

long shmem_file_truncate(struct shared_anon *obj, u64 length)
{
	if (length > shared_anon_max_size())
		return -EFBIG;
	down_write(&obj->size_lock);
	long ret = shared_anon_set_size(obj, length);
	up_write(&obj->size_lock);
	return ret;
}

/* do_sys_ftruncate's order: a negative length (EINVAL), the fd (EBADF),
 * a regular file open for writing (EINVAL; only memfds and tmpfs files
 * here), then the
 * size (EFBIG past what the object can hold: shmem's s_maxbytes, the
 * same). */
static long sys_ftruncate(u64 fd, u64 length)
{
	if ((s64)length < 0)
		return -EINVAL;
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	long ret = -EINVAL;
	if (f->ops == &memfd_ops && (f->mode & FMODE_WRITE)) {
		ret = shmem_file_truncate(memfd_of(f)->obj, length);
	}
	file_put(f);
	return ret;
}

void memfd_syscalls_init(void)
{
	syscall_register(SYS_memfd_create, (void (*)(void))sys_memfd_create);
	syscall_register(SYS_ftruncate, (void (*)(void))sys_ftruncate);
	fallocate_syscalls_init();
}
