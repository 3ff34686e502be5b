/* SPDX-License-Identifier: MIT */
/* mm/madvise.c - madvise(2) and its batched form, process_madvise(2); see
 * madvise.h.
 *
 * The checks follow Linux's order (mm/madvise.c there): the advice, the
 * alignment, the length; then VMA by VMA - a hole does not stop the work,
 * the call returns -ENOMEM after advising every mapped part.
 */
#include "mm/madvise.h"
#include "mm/userfaultfd.h"
#include "mm/vma_lock.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/mmu_gather.h"
#include "mm/shared_anon.h"
#include "mm/khugepaged.h"
#include "mm/slab.h"
#include "kernel/errno.h"
#include "kernel/file.h"         /* fd_pidfd */
#include "kernel/proc.h"         /* current_proc, proc_get_mm */
#include "kernel/uaccess.h"      /* import_iovec */
#include "kernel/cmdline.h"
#include "kernel/sched.h"
#include "kernel/printk.h"

bool madvise_batch = true;
/* Negative control (docs/cmdline.md): zaps ignore VM_LOCKED, so that
 * MADV_DONTNEED drops locked pages; mlock_test must catch it. */
static bool mlock_debug_allow_dontneed;

static inline u64 page_align(u64 x) { return (x + PAGE_SIZE - 1) & PAGE_MASK; }

/* The advice Pagoda knows: Linux 6.1's list (madvise_behavior_valid there)
 * as a Linux built without two options has it (MADV_COLLAPSE is known: it
 * builds huge pages now, mm/khugepaged.h), so that a refusal is one a real
 * Linux gives (docs/madvise.md has the table):
 *   MERGEABLE, UNMERGEABLE   no KSM (CONFIG_KSM=n): same-page merging is
 *                            not implemented;
 *   HWPOISON, SOFT_OFFLINE   no memory-failure handling
 *                            (CONFIG_MEMORY_FAILURE=n).
 * Accepting them and doing nothing would tell the caller a promise was kept
 * that was not. */
bool madvise_valid(u64 advice)
{
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTNEED: case MADV_FREE: case MADV_REMOVE: case MADV_DONTFORK:
	case MADV_DOFORK: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE: case MADV_DONTDUMP:
	case MADV_DODUMP: case MADV_WIPEONFORK: case MADV_KEEPONFORK: case MADV_COLD:
	case MADV_PAGEOUT: case MADV_POPULATE_READ: case MADV_POPULATE_WRITE:
	case MADV_DONTNEED_LOCKED: case MADV_COLLAPSE:
		return true;
	default:
		return false;
	}
}

static bool zap_advice(u64 advice)
{
	return advice == MADV_DONTNEED || advice == MADV_DONTNEED_LOCKED || advice == MADV_FREE;
}

/* The argument checks. 1: go on with [start, *end); 0: nothing to do;
 * or -EINVAL. */
static long check_range(u64 start, u64 len_in, u64 advice, u64 *end)
{
	if (!madvise_valid(advice))
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	u64 len = page_align(len_in);
	if (len_in && !len)
		return -EINVAL;
	*end = start + len;
	if (*end < start)
		return -EINVAL;
	return *end == start ? 0 : 1;
}

bool madvise_zap_refused(const struct vm_area *v, u64 advice)
{
	/* MADV_FREE promises the pages may be dropped lazily and read back as
	 * zeros: that means something only for anonymous memory. A VMA with
	 * an object behind it (shared memory, or a private mapping of a memfd
	 * or tmpfs file, whose unwritten pages are the file's) is refused, as
	 * Linux refuses every VMA that is not vma_is_anonymous(). */
	if (advice == MADV_FREE && v->shared)
		return true;
	/* Locked memory stays: only DONTNEED_LOCKED may drop it. */
	return advice != MADV_DONTNEED_LOCKED && (v->flags & VM_LOCKED) &&
	       !mlock_debug_allow_dontneed;
}

/* Zap the pages of every VMA part of [start, end) into tlb. Caller holds
 * mmap_lock (read is enough) and no page-table lock. -ENOMEM for a hole (after
 * the rest is done), -EINVAL for a VMA the advice may not zap (after those
 * before it are done, as Linux). */
static long zap_vmas(struct mm_struct *mm, u64 start, u64 end, u64 advice,
		     struct mmu_gather *tlb)
{
	mmap_assert_locked(mm);
	struct vm_area *v;
	bool hole = false;
	u64 a = start;
	for_each_vma_range(mm, v, a, end) {
		if (v->start > a)
			hole = true;    /* keep going: Linux advises every VMA */
		if (madvise_zap_refused(v, advice))
			return -EINVAL;
		zap_range(mm, MAX(a, v->start), MIN(end, v->end), tlb);
	}
	return hole || a < end ? -ENOMEM : 0;
}

/* A zap of [start, end) with its own gather: one flush. */
static long zap_one(struct mm_struct *mm, u64 start, u64 end, u64 advice)
{
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	long err = zap_vmas(mm, start, end, advice, &tlb);
	tlb_finish_mmu(&tlb);
	return err;
}

/* The advice that only set or clear a flag of fork or of core dumps
 * (Linux's madvise_vma_behavior): v's new flags in *nf. 0, -EINVAL where
 * the advice does not apply to v, or 1 for advice of another kind. */
static int fork_dump_flags(const struct vm_area *v, u64 advice, u32 *nf)
{
	u32 f = v->flags;
	switch (advice) {
	case MADV_DONTFORK:     /* mm_fork leaves the VMA out of the child */
		f |= VM_DONTCOPY;
		break;
	case MADV_DOFORK:
		f &= ~VM_DONTCOPY;
		break;
	case MADV_WIPEONFORK:
		/* The child gets the VMA empty. Only private anonymous memory
		 * can be empty in one process and full in another: a shared
		 * VMA's pages belong to the object both map. */
		if ((v->flags & VM_SHARED) || v->shared)
			return -EINVAL;         /* a file mapping too, as Linux */
		f |= VM_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		f &= ~VM_WIPEONFORK;
		break;
	case MADV_DONTDUMP:     /* kept, as Linux keeps it, for a core dump */
		f |= VM_DONTDUMP;
		break;
	case MADV_DODUMP:
		f &= ~VM_DONTDUMP;
		break;
	default:
		return 1;
	}
	*nf = f;
	return 0;
}

/* Give [lo, hi) of one VMA the flags nf (splitting and merging VMAs).
 * Linux reports a split that found no memory as -EAGAIN: "try again". */
static long set_vma_flags(struct mm_struct *mm, u64 lo, u64 hi, u32 nf)
{
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	long err = mm_set_range_flags(mm, lo, hi, nf, &tlb);
	tlb_finish_mmu(&tlb);
	return err == -ENOMEM ? -EAGAIN : err;
}

/* MADV_POPULATE_READ/WRITE on [lo, hi) of v (Linux's madvise_populate):
 * a read needs VM_READ, a write VM_WRITE (check_vma_flags without
 * FOLL_FORCE; a refusal is -EINVAL, as faultin_vma_page_range says). A
 * write to a userfaultfd-protected page waits for the handler, as the
 * same write would, and the VMA is looked up again after the wait (gone:
 * -ENOMEM). mmap_lock held for read. */
static long madvise_populate(struct mm_struct *mm, struct vm_area *v, u64 lo, u64 hi,
			     bool write)
{
	for (u64 a = lo; a < hi;) {
		if (!(v->flags & (write ? VM_WRITE : VM_READ)))
			return -EINVAL;
		int r = mm_populate_page(mm, v, a, write);
		if (r < 0)
			return r;
		if (r == 0) {
			a += PAGE_SIZE;
			continue;
		}
		v = vma_find(mm->vma_root, a);          /* the lock was dropped */
		if (!v)
			return -ENOMEM;
		hi = MIN(hi, v->end);
	}
	return 0;
}

/* The advice that change VMAs or shared objects, on the piece [lo, hi) of
 * one VMA v; mmap_lock held for write. The VMA set may change (a split). */
static long advise_vma(struct mm_struct *mm, struct vm_area *v, u64 lo, u64 hi, u64 advice)
{
	/* Locked memory keeps its pages: no hole punched in it. */
	if (advice == MADV_REMOVE && (v->flags & VM_LOCKED))
		return -EINVAL;
	u32 nf;
	int r = fork_dump_flags(v, advice, &nf);
	if (r < 0)
		return r;
	if (r == 0)
		return nf != v->flags ? set_vma_flags(mm, lo, hi, nf) : 0;
	switch (advice) {
	case MADV_REMOVE:
		/* Punch a hole in the shared object: it reads back as
		 * zero in every address space that maps it, at once
		 * (mm/shared_anon.h). Private memory has no object:
		 * -EINVAL. The right needed is the right to be made
		 * writable (Linux 6.1's stable updates check
		 * VM_MAYWRITE), which a read-only mprotect keeps. */
		if (!(v->flags & VM_SHARED))
			return v->shared ? -EACCES : -EINVAL;   /* a private file mapping */
		if (!(v->flags & VM_MAYWRITE))
			return -EACCES;
		vma_start_write(v);     /* our own faults wait, as before */
		shared_anon_punch(v->shared, v->pgoff + (lo - v->start) / PAGE_SIZE,
				  (hi - lo) / PAGE_SIZE, mm);
		break;
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE: {
		/* Where THP may be used (mm/thp.h); pages already
		 * mapped stay as they are, as on Linux. */
		u32 nf = advice == MADV_HUGEPAGE ?
			 (v->flags | VM_HUGEPAGE) & ~VM_NOHUGEPAGE :
			 (v->flags | VM_NOHUGEPAGE) & ~VM_HUGEPAGE;
		if (nf != v->flags) {
			long err = set_vma_flags(mm, lo, hi, nf);
			if (err)
				return err;
		}
		if (advice == MADV_HUGEPAGE)
			khugepaged_enter(mm);   /* its small pages may be collapsed */
		break;
	}
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		return madvise_populate(mm, v, lo, hi, advice == MADV_POPULATE_WRITE);
	case MADV_COLD:
	case MADV_PAGEOUT:
		/* Hints about reclaim, which Pagoda does not do (no
		 * swap); but locked memory refuses them, as on Linux. */
		if (v->flags & VM_LOCKED)
			return -EINVAL;
		break;
	default:
		break;          /* hints: nothing to do */
	}
	return 0;
}

/* advise_vma on every VMA piece of [start, end): mmap_lock for write.
 * -ENOMEM for a hole (after the rest is done). */
static long advise_vmas(struct mm_struct *mm, u64 start, u64 end, u64 advice)
{
	struct vm_area *v;
	bool hole = false;
	u64 a = start;
	for_each_vma_range(mm, v, a, end) {
		if (v->start > a)
			hole = true;    /* keep going: Linux advises every VMA */
		long err = advise_vma(mm, v, MAX(a, v->start), MIN(end, v->end), advice);
		if (err)
			return err;
	}
	return hole || a < end ? -ENOMEM : 0;
}

long do_madvise(struct mm_struct *mm, u64 start, u64 len_in, u64 advice)
{
	u64 end;
	long r = check_range(start, len_in, advice, &end);
	if (r <= 0)
		return r;
	if (advice == MADV_COLLAPSE)
		return madvise_collapse(mm, start, end);   /* locks itself (mm/khugepaged.h) */
	if (zap_advice(advice)) {
		/* Read: faults may run beside the zap, each under the lock of
		 * its own PTE table (mm/pgtable.h). */
		down_read(&mm->mmap_lock);
		/* EVENT_REMOVE: the handler hears first (the lock is
		 * dropped while it reads; zap_vmas looks up the VMAs after). */
		userfaultfd_remove(mm, start, end, advice);
		r = zap_one(mm, start, end, advice);
		up_read(&mm->mmap_lock);
		return r;
	}
	if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
		down_read(&mm->mmap_lock);
	else
		mmap_write_lock(mm);
	r = advise_vmas(mm, start, end, advice);
	if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
		up_read(&mm->mmap_lock);
	else
		mmap_write_unlock(mm);
	return r;
}

long madvise_vec(struct mm_struct *mm, const struct madvise_range *rv, u64 n, u64 advice,
		 u64 *done)
{
	*done = 0;
	if (!zap_advice(advice) || !madvise_batch) {
		for (u64 i = 0; i < n; i++) {
			long r = do_madvise(mm, rv[i].base, rv[i].len, advice);
			if (r < 0)
				return r;
			*done += rv[i].len;
		}
		return 0;
	}
	/* One gather, one flush for them all: the zap takes and drops each
	 * PTE table's lock, the gather spans them (mmu_gather.h). */
	long err = 0;
	struct mmu_gather tlb;
	down_read(&mm->mmap_lock);
	tlb_gather_mmu(&tlb, mm);
	for (u64 i = 0; i < n; i++) {
		u64 end;
		long r = check_range(rv[i].base, rv[i].len, advice, &end);
		if (r > 0)
			r = zap_vmas(mm, rv[i].base, end, advice, &tlb);
		if (r < 0) {
			err = r;
			break;
		}
		*done += rv[i].len;
	}
	tlb_finish_mmu(&tlb);
	up_read(&mm->mmap_lock);
	return err;
}

long sys_madvise(u64 start, u64 len, u64 advice)
{
	struct mm_struct *mm = current_thread()->mm;
	if (!mm)
		return -ENOMEM;
	return do_madvise(mm, start, len, advice);
}

/* process_madvise: madvise on the address space a pidfd names, for a
 * vector of ranges. Linux 6.1's checks, in its order: flags, the vector
 * (at most UIO_MAXIOV entries, readable), the pidfd, the advice (for
 * another process only the non-destructive COLD, PAGEOUT, WILLNEED and
 * COLLAPSE, Linux 6.1's list; for the caller any advice, as Linux since
 * 6.13). Returns the bytes advised before the first failure, or that
 * failure. */
_Static_assert(sizeof(struct iovec_k) == sizeof(struct madvise_range), "iovec = madvise_range");

long sys_process_madvise(u64 pidfd, u64 uvec, u64 vlen, u64 advice, u64 flags)
{
	struct process *p = current_proc();
	if (flags != 0)
		return -EINVAL;
	long ret = 0;
	struct iovec_k *iov = import_iovec(uvec, vlen, &ret);
	if (!iov)
		return ret;
	u32 target = 0;
	if (!ret) {
		target = fd_pidfd(p, (long)(u32)pidfd);
		if (!target)
			ret = -EBADF;
	}
	/* Another process: only the non-destructive advice (Linux 6.1's
	 * list). Ourselves: any advice, as Linux allows since 6.13. */
	bool self = target == p->pid;
	if (!ret && !self && advice != MADV_COLD && advice != MADV_PAGEOUT &&
	    advice != MADV_WILLNEED && advice != MADV_COLLAPSE)
		ret = -EINVAL;
	if (!ret && self && !madvise_valid(advice))
		ret = -EINVAL;
	struct mm_struct *mm = NULL;
	if (!ret) {
		mm = proc_get_mm(target);
		if (!mm)
			ret = -ESRCH;
	}
	if (!ret) {
		/* One mmu_gather (one flush) for the whole vector (madvise.h). */
		u64 done = 0;
		ret = madvise_vec(mm, (const struct madvise_range *)iov, vlen, advice, &done);
		if (done)
			ret = (long)done;
		mm_put(mm);
	}
	kfree(iov);
	return ret;
}

void madvise_init(void)
{
	if (cmdline_long("pt_reclaim", 1) == 0) {
		pt_reclaim = false;
		printk("madvise: pt_reclaim=0: zaps keep the page tables they empty\n");
	}
	if (cmdline_has("pt_debug_trust_walk")) {
		pt_debug_trust_walk = true;
		printk(KERN_WARNING "madvise: pt_debug_trust_walk: a zap that dropped its PTE lock "
		       "mid-table still frees the table on its walk's count (negative control)\n");
	}
	if (cmdline_has("mlock_debug_allow_dontneed")) {
		mlock_debug_allow_dontneed = true;
		printk(KERN_WARNING "madvise: mlock_debug_allow_dontneed: MADV_DONTNEED and "
		       "MADV_FREE drop locked pages (negative control)\n");
	}
	if (cmdline_long("madvise_batch", 1) == 0) {
		madvise_batch = false;
		printk("madvise: madvise_batch=0: process_madvise flushes once per range\n");
	}
}
