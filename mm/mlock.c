/* SPDX-License-Identifier: MIT */
/* mm/mlock.c - locking memory (mm/mlock.h has the rules, docs/mlock.md the
 * story).
 *
 * The checks and their order are Linux 6.1's (mm/mlock.c there): mlock and
 * munlock round the range out to whole pages, change the VMAs VMA by VMA
 * (a hole stops the walk with -ENOMEM, the VMAs before it keep their new
 * flags), then mlock populates with the mmap lock held for read. Errors of
 * the population are reported as POSIX says: EFAULT (a PROT_NONE VMA, which
 * is locked all the same) becomes ENOMEM, ENOMEM becomes EAGAIN.
 */
#include "mm/mlock.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/vma_lock.h"
#include "mm/fault.h"
#include "mm/page.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"

#define VM_LOCKED_MASK (VM_LOCKED | VM_LOCKONFAULT)

static inline u64 page_align(u64 x) { return (x + PAGE_SIZE - 1) & PAGE_MASK; }

/* Fault [*a, hi) of v in as Linux's populate_vma_page_range, advancing
 * *a: nothing for VM_LOCKONFAULT (pages are locked as they are touched);
 * writable private memory with write faults, so copy-on-write happens now
 * and not later; a PROT_NONE VMA cannot be faulted in: -EFAULT. A write to
 * a userfaultfd-protected page waits for the handler (mm_populate_page):
 * 1 then, mmap_lock was dropped and v may be gone. On an error *a = hi.
 * mmap_lock held for read. */
static int populate_vma_range(struct mm_struct *mm, struct vm_area *v, u64 *a, u64 hi)
{
	mmap_assert_locked(mm);
	if (v->flags & VM_LOCKONFAULT) {
		*a = hi;
		return 0;
	}
	if (!(v->flags & (VM_READ | VM_WRITE | VM_EXEC))) {
		*a = hi;
		return -EFAULT;
	}
	bool write = (v->flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
	for (; *a < hi; *a += PAGE_SIZE) {
		int r = mm_populate_page(mm, v, *a, write);
		if (r < 0)
			*a = hi;
		if (r)
			return r;
	}
	return 0;
}

/* Linux's __mm_populate: every VMA meeting [start, end), holes skipped;
 * stops at the first error unless ignore_errors (mlockall). */
static int populate_range(struct mm_struct *mm, u64 start, u64 end, bool ignore_errors)
{
	down_read(&mm->mmap_lock);
	int err = 0;
	for (u64 a = start; a < end;) {
		struct vm_area *v = vma_find_intersection(mm->vma_root, a, end);
		if (!v)
			break;
		a = MAX(a, v->start);
		err = populate_vma_range(mm, v, &a, MIN(end, v->end));
		if (err < 0 && !ignore_errors)
			break;
		err = 0;        /* 1: the lock was dropped; look the VMA up again */
	}
	up_read(&mm->mmap_lock);
	return err;
}

/* Linux's mlock_fixup: give the piece [lo, hi) of one VMA its new lock
 * flags. Only the VMA changes: pages present stay, and there is no LRU to
 * move them off (mm/mlock.h). */
static int mlock_fixup(struct mm_struct *mm, struct vm_area *v, u64 lo, u64 hi, u32 newflags)
{
	if (newflags == v->flags)
		return 0;
	return mm_set_range_vm_flags(mm, lo, hi, newflags);
}

/* Linux's apply_vma_lock_flags: [start, start+len) gets flags (VM_LOCKED,
 * VM_LOCKONFAULT, or 0 to unlock), VMA by VMA. mmap_lock held for write. */
static long apply_vma_lock_flags(struct mm_struct *mm, u64 start, u64 len, u32 flags)
{
	mmap_assert_write_locked(mm);
	u64 end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	if (!vma_find(mm->vma_root, start))
		return -ENOMEM;
	struct vm_area *v;
	u64 a = start;
	for_each_vma_range(mm, v, a, end) {
		if (v->start > a)
			return -ENOMEM;         /* a hole: what came before stays changed */
		u32 newflags = (v->flags & ~VM_LOCKED_MASK) | flags;
		int err = mlock_fixup(mm, v, a, MIN(end, v->end), newflags);
		if (err)
			return err;
	}
	return a < end ? -ENOMEM : 0;
}

/* POSIX's errors for a population that failed (Linux's
 * __mlock_posix_error_return). */
static long mlock_posix_error(long err)
{
	if (err == -EFAULT)
		return -ENOMEM;
	if (err == -ENOMEM)
		return -EAGAIN;
	return err;
}

long do_mlock(struct mm_struct *mm, u64 start, u64 len, u32 vm_flags)
{
	/* can_do_mlock and RLIMIT_MEMLOCK: root may always (mlock.h). */
	len = page_align(len + (start & ~PAGE_MASK));
	start &= PAGE_MASK;
	mmap_write_lock(mm);
	long err = apply_vma_lock_flags(mm, start, len, vm_flags);
	mmap_write_unlock(mm);
	if (err)
		return err;
	if (start + len > start)
		err = populate_range(mm, start, start + len, false);
	return mlock_posix_error(err);
}

long do_munlock(struct mm_struct *mm, u64 start, u64 len)
{
	len = page_align(len + (start & ~PAGE_MASK));
	start &= PAGE_MASK;
	mmap_write_lock(mm);
	long err = apply_vma_lock_flags(mm, start, len, 0);
	mmap_write_unlock(mm);
	return err;
}

/* Linux's apply_mlockall_flags: the future flags into mm->def_flags (new
 * mappings and brk get them: mm/mmap.c), and with MCL_CURRENT the lock
 * flags onto every VMA (errors ignored, as Linux). 0 for flags 0:
 * munlockall. mmap_lock held for write. */
static void apply_mlockall_flags(struct mm_struct *mm, u64 flags)
{
	mmap_assert_write_locked(mm);
	mm->def_flags &= ~VM_LOCKED_MASK;
	if (flags & MCL_FUTURE) {
		mm->def_flags |= VM_LOCKED;
		if (flags & MCL_ONFAULT)
			mm->def_flags |= VM_LOCKONFAULT;
		if (!(flags & MCL_CURRENT))
			return;
	}
	u32 to_add = 0;
	if (flags & MCL_CURRENT) {
		to_add = VM_LOCKED;
		if (flags & MCL_ONFAULT)
			to_add |= VM_LOCKONFAULT;
	}
	struct vm_area *v;
	u64 a = 0;
	for_each_vma_range(mm, v, a, USER_SPACE_END)
		mlock_fixup(mm, v, v->start, v->end, (v->flags & ~VM_LOCKED_MASK) | to_add);
}

long do_mlockall(struct mm_struct *mm, u64 flags)
{
	if (!flags || (flags & ~(u64)(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
	    flags == MCL_ONFAULT)
		return -EINVAL;
	mmap_write_lock(mm);
	apply_mlockall_flags(mm, flags);
	mmap_write_unlock(mm);
	if (flags & MCL_CURRENT)
		populate_range(mm, 0, USER_SPACE_END, true);
	return 0;
}

long do_munlockall(struct mm_struct *mm)
{
	mmap_write_lock(mm);
	apply_mlockall_flags(mm, 0);
	mmap_write_unlock(mm);
	return 0;
}

u64 mm_locked_pages(struct mm_struct *mm)
{
	u64 pages = 0;
	down_read(&mm->mmap_lock);
	const struct vma_set *s = mm->vma_root;
	for (u32 i = 0; i < s->nr; i++)
		if (s->v[i]->flags & VM_LOCKED)
			pages += (s->v[i]->end - s->v[i]->start) / PAGE_SIZE;
	up_read(&mm->mmap_lock);
	return pages;
}

static struct mm_struct *current_mm(void)
{
	return current_thread()->mm;
}

static long sys_mlock(u64 start, u64 len)
{
	return current_mm() ? do_mlock(current_mm(), start, len, VM_LOCKED) : -ENOMEM;
}

static long sys_mlock2(u64 start, u64 len, u64 flags)
{
	if (flags & ~(u64)MLOCK_ONFAULT)
		return -EINVAL;
	u32 vm_flags = VM_LOCKED | ((flags & MLOCK_ONFAULT) ? VM_LOCKONFAULT : 0);
	return current_mm() ? do_mlock(current_mm(), start, len, vm_flags) : -ENOMEM;
}

static long sys_munlock(u64 start, u64 len)
{
	return current_mm() ? do_munlock(current_mm(), start, len) : -ENOMEM;
}

static long sys_mlockall(u64 flags)
{
	return current_mm() ? do_mlockall(current_mm(), flags) : -EINVAL;
}

static long sys_munlockall(void)
{
	return current_mm() ? do_munlockall(current_mm()) : 0;
}

void mlock_syscalls_init(void)
{
	syscall_register(SYS_mlock, (void (*)(void))sys_mlock);
	syscall_register(SYS_munlock, (void (*)(void))sys_munlock);
	syscall_register(SYS_mlockall, (void (*)(void))sys_mlockall);
	syscall_register(SYS_munlockall, (void (*)(void))sys_munlockall);
	syscall_register(SYS_mlock2, (void (*)(void))sys_mlock2);
}
