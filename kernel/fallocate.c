/* SPDX-License-Identifier: MIT */
/* kernel/fallocate.c - fallocate(2) on the files whose content is a shared
 * anonymous object: memfds and tmpfs files (kernel/memfd.h,
 * kernel/tmpfs.h). Linux's tmpfs (shmem_fallocate) knows two things, and
 * so does Pagoda:
 *
 *   mode 0, FALLOC_FL_KEEP_SIZE   give the range its pages now (zeroed),
 *                                 and grow the file to cover it unless
 *                                 KEEP_SIZE;
 *   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
 *                                 the range reads zeros from now on: whole
 *                                 pages leave the object and every mapping
 *                                 of them, the bytes of a partial page at
 *                                 either end are zeroed in place.
 *
 * The punch is MADV_REMOVE's (mm/shared_anon.h, shared_anon_punch): the
 * object lets go of the pages, then each VMA that maps the object, in
 * every address space, has the range zapped through an mmu_gather of its
 * own mm, so its CPUs are flushed before the PTEs' references on the old
 * pages are dropped. Only shared mappings map an object's pages (a private
 * mapping of these files is refused, mm/mmap.c), and a shared VMA never
 * holds a THP (mm/thp.h), so there is no huge PMD to split: every entry
 * zapped is a PTE. A page pinned by get_user_pages lives on for its pin
 * holder only, as on Linux.
 *
 * Everything else is refused as tmpfs refuses it: the other modes
 * (COLLAPSE_RANGE, ZERO_RANGE, INSERT_RANGE, UNSHARE_RANGE) EOPNOTSUPP,
 * and files of other kinds with vfs_fallocate's errno.
 */
#include "kernel/file.h"
#include "kernel/memfd.h"
#include "kernel/proc.h"
#include "kernel/syscall.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "mm/shared_anon.h"
#include "mm/page.h"

#define SYS_fallocate 285

/* uapi linux/falloc.h */
#define FALLOC_FL_KEEP_SIZE 0x01
#define FALLOC_FL_PUNCH_HOLE 0x02
#define FALLOC_FL_NO_HIDE_STALE 0x04
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#define FALLOC_FL_ZERO_RANGE 0x10
#define FALLOC_FL_INSERT_RANGE 0x20
#define FALLOC_FL_UNSHARE_RANGE 0x40
/* What the system call knows (Linux's FALLOC_FL_SUPPORTED_MASK): any
 * other bit is EOPNOTSUPP before anything else is looked at. */
#define FALLOC_FL_SUPPORTED_MASK (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | \
				  FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE | \
				  FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE)

#define S_IFMT 0170000
#define S_IFIFO 0010000
#define S_IFDIR 0040000
#define S_IFREG 0100000

/* vfs_fallocate's checks on the arguments, in its order. */
static long check_mode(s64 offset, s64 len, u32 mode)
{
	if (offset < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~FALLOC_FL_SUPPORTED_MASK)
		return -EOPNOTSUPP;
	if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) ==
	    (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_COLLAPSE_RANGE) && (mode & ~FALLOC_FL_COLLAPSE_RANGE))
		return -EINVAL;
	if ((mode & FALLOC_FL_INSERT_RANGE) && (mode & ~FALLOC_FL_INSERT_RANGE))
		return -EINVAL;
	if ((mode & FALLOC_FL_UNSHARE_RANGE) &&
	    (mode & ~(FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE)))
		return -EINVAL;
	return 0;
}

/* ... then on the file: open for writing, its type, the size limit, and
 * an fallocate operation (only the shared-memory files have one). */
static long check_file(struct file *f, s64 offset, s64 len)
{
	if (!(f->mode & FMODE_WRITE))
		return -EBADF;
	u32 type = f->ops->stat_mode & S_IFMT;
	if (type == S_IFIFO)
		return -ESPIPE;
	if (type == S_IFDIR)
		return -EISDIR;
	if (type != S_IFREG && !f->ops->procfs)
		return -ENODEV;         /* the console, anonymous inodes */
	if ((u64)offset + (u64)len > shared_anon_max_size())
		return -EFBIG;
	if (!shmem_file_object(f))
		return -EOPNOTSUPP;     /* a /proc or /sys file */
	return 0;
}

/* Zero bytes [from, to) of one page of the object, if it has the page
 * (a hole reads zeros already). */
static void zero_partial(struct shared_anon *obj, u64 from, u64 to)
{
	struct page *p = shared_anon_find_page(obj, from / PAGE_SIZE);
	if (!p)
		return;
	memset((char *)page_address(p) + from % PAGE_SIZE, 0, to - from);
	put_page(p);
}

/* The hole [offset, end): size_lock held for write. Whole pages leave the
 * object and every mapping; a partial page at either end keeps its page,
 * its bytes in the hole zeroed (every mapper sees that at once: it is the
 * same page). Nothing changes past the end of the file. */
static void punch_hole(struct shared_anon *obj, u64 offset, u64 end)
{
	if (offset >= end)
		return;                 /* all of it past the end */
	u64 first = (offset + PAGE_SIZE - 1) / PAGE_SIZE, last = end / PAGE_SIZE;
	if (first > last) {             /* inside one page */
		zero_partial(obj, offset, end);
		return;
	}
	if (offset % PAGE_SIZE)
		zero_partial(obj, offset, first * PAGE_SIZE);
	if (last > first)
		shared_anon_punch(obj, first, last - first, current_proc()->mm);
	if (end % PAGE_SIZE)
		zero_partial(obj, last * PAGE_SIZE, end);
}

/* Pages [offset, end) now; the file grows to end first unless keep_size
 * (then only pages below the end of the file are given: the object holds
 * none past it). On -ENOMEM a grown file shrinks back, which frees the
 * pages given past its old end. size_lock held for write. */
static long allocate(struct shared_anon *obj, u64 offset, u64 end, bool keep_size)
{
	u64 old = shared_anon_size(obj);
	if (!keep_size && end > old) {
		long err = shared_anon_set_size(obj, end);
		if (err)
			return err;
	}
	u64 stop = (MIN(end, shared_anon_size(obj)) + PAGE_SIZE - 1) / PAGE_SIZE;
	for (u64 idx = offset / PAGE_SIZE; idx < stop; idx++) {
		struct page *p = shared_anon_page(obj, idx);
		if (!p) {
			if (!keep_size && end > old)
				shared_anon_set_size(obj, old);        /* shrinking cannot fail */
			return -ENOMEM;
		}
		put_page(p);
	}
	return 0;
}

static long sys_fallocate(u64 fd, u64 umode, u64 uoffset, u64 ulen)
{
	struct file *f = fget(current_proc(), (long)(u32)fd);
	if (!f)
		return -EBADF;
	s64 offset = (s64)uoffset, len = (s64)ulen;
	u32 mode = (u32)umode;
	long ret = check_mode(offset, len, mode);
	if (!ret)
		ret = check_file(f, offset, len);
	/* shmem_fallocate: the two modes tmpfs has. */
	if (!ret && (mode & ~(u32)(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)))
		ret = -EOPNOTSUPP;
	if (!ret) {
		struct shared_anon *obj = shmem_file_object(f);
		u64 end = (u64)offset + (u64)len;
		down_write(&obj->size_lock);
		if (mode & FALLOC_FL_PUNCH_HOLE)
			punch_hole(obj, (u64)offset, MIN(end, shared_anon_size(obj)));
		else
			ret = allocate(obj, (u64)offset, end, mode & FALLOC_FL_KEEP_SIZE);
		up_write(&obj->size_lock);
	}
	file_put(f);
	return ret;
}

void fallocate_syscalls_init(void)
{
	syscall_register(SYS_fallocate, (void (*)(void))sys_fallocate);
}
