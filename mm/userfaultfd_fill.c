/* SPDX-License-Identifier: MIT */
/* mm/userfaultfd_fill.c - UFFDIO_COPY and UFFDIO_ZEROPAGE: the handler
 * resolves a missing fault by filling the empty page (Linux's
 * mfill_atomic, mm/userfaultfd.c there). Interface in mm/userfaultfd.h,
 * the story in docs/userfaultfd.md ("Missing faults").
 *
 * The rule: a page is installed only into an entry that is still empty
 * (or a uffd-wp marker, for COPY) when looked at under its PTE lock - the
 * lock the faulting thread's uffd_must_wait() reads the entry under, and
 * the lock any other fill or fault installs under. So of two racing fills
 * of one page exactly one lands, the other says EEXIST; and a faulter
 * that queued itself after the fill sees the page and does not sleep. An
 * empty entry is not present: no TLB holds it, and installing needs no
 * flush.
 *
 * Locking: the caller's memory (src) is read with no lock held - the read
 * may fault, and when the caller is the address space being filled that
 * fault needs mmap_lock; then mmap_lock of the filled mm for read, the
 * checks of the VMA again (it may have changed meanwhile), and the PTE lock.
 */
#include "mm/userfaultfd.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/vma_lock.h"
#include "mm/pgtable.h"
#include "mm/buddy.h"
#include "mm/rmap.h"
#include "kernel/userfaultfd.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "arch/x86_64/tlb.h"

bool uffd_debug_copy_no_recheck;

/* Linux's find_dst_vma and the checks after it: the range inside one VMA
 * registered with some context (ENOENT), private (EINVAL), WP-registered
 * for a write-protected copy (EINVAL). mmap_lock held. */
static int mfill_dst_vma(struct mm_struct *mm, u64 dst, u64 len, u32 how,
			 struct vm_area **vmap)
{
	mmap_assert_locked(mm);
	struct vm_area *vma = vma_find(mm->vma_root, dst);
	if (!vma || dst < vma->start || dst + len > vma->end || !vma->uffd_ctx)
		return -ENOENT;
	if (vma->flags & VM_SHARED)
		return -EINVAL;
	if (how == UFFD_MFILL_COPY_WP && !(vma->flags & VM_UFFD_WP))
		return -EINVAL;
	vma_anon_prepare(vma);
	*vmap = vma;
	return 0;
}

/* The negative control: the entry was not empty, and the fill replaces
 * what it maps as a careless kernel would (unhook, flush, drop the old
 * page) instead of saying EEXIST. PTE lock held. */
static void mfill_debug_replace(struct mm_struct *mm, u64 *e, u64 addr)
{
	u64 old = pte_read(e);
	pte_clear(e);
	flush_tlb_page(mm, addr);
	if (pte_present(old) && !pte_special(old)) {
		struct page *p = pte_page(old);
		page_remove_rmap(p, mm);
		put_page(p);
		mm_add_rss(mm, -1);
	}
}

/* Install page (NULL: the zero page) at addr under the PTE lock, if the
 * entry is still empty. 0, -EEXIST (an entry, or a huge PMD, is there) or
 * -ENOMEM (no page table). */
static int mfill_install(struct mm_struct *mm, struct vm_area *vma, u64 addr, struct page *page,
			 u32 how)
{
	int err;
	u32 *ptl;
	u64 *e = pte_alloc_map_lock(mm, addr, &ptl, &err);
	if (!e)
		return err ? -ENOMEM : -EEXIST;         /* a huge PMD: strict, as Linux */
	u64 old = pte_read(e);
	bool empty = old == 0 || (page && pte_uffd_marker(old));
	if (!empty && !uffd_debug_copy_no_recheck) {
		pte_unmap_unlock(ptl);
		return -EEXIST;
	}
	if (!empty)
		mfill_debug_replace(mm, e, addr);
	u64 pte;
	if (page) {
		bool wp = how == UFFD_MFILL_COPY_WP;
		page_add_new_anon_rmap(page);
		mm_add_rss(mm, 1);
		pte = pte_mkdirty(mk_pte(page_to_phys(page), vma->flags, !wp));
		if (wp)
			pte |= PTE_UFFD_WP;
	} else {
		pte = mk_pte(page_to_phys(zero_page), vma->flags, false) | PTE_SPECIAL;
	}
	pte_set(e, pte);
	pte_unmap_unlock(ptl);
	return 0;
}

/* A new private page holding a copy of the caller's page at src. No lock
 * held: the read may fault. */
static int mfill_read_src(u64 src, struct page **pagep)
{
	struct page *page = alloc_page(__GFP_DIRECT_RECLAIM);
	if (!page)
		return -ENOMEM;
	if (copy_from_user(page_address(page), src, PAGE_SIZE)) {
		put_page(page);
		return -EFAULT;
	}
	page->flags |= PG_anon | PG_exclusive;
	*pagep = page;
	return 0;
}

/* One page at dst: checks under mmap_lock, the source read without it
 * (then everything checked again), the install. 0 or -errno. */
static int mfill_one(struct userfaultfd_ctx *ctx, struct mm_struct *mm, u64 dst_start,
		     u64 len, u64 dst, u64 src, u32 how)
{
	struct page *page = NULL;
	int err;
	for (;;) {
		down_read(&mm->mmap_lock);
		struct vm_area *vma;
		/* An event under way: the addresses may be moving. */
		err = uffd_ctx_mmap_changing(ctx) ? -EAGAIN
						  : mfill_dst_vma(mm, dst_start, len, how, &vma);
		if (!err && (page || how == UFFD_MFILL_ZEROPAGE)) {
			err = mfill_install(mm, vma, dst, page, how);
			if (!err)
				page = NULL;            /* the entry's now */
			up_read(&mm->mmap_lock);
			break;
		}
		up_read(&mm->mmap_lock);
		if (err)
			break;
		err = mfill_read_src(src, &page);
		if (err)
			break;
	}
	if (page)
		put_page(page);
	return err;
}

long uffd_mfill(struct userfaultfd_ctx *ctx, struct mm_struct *mm, u64 dst, u64 src, u64 len,
		u32 how)
{
	u64 done = 0;
	int err = 0;
	while (done < len) {
		err = mfill_one(ctx, mm, dst, len, dst + done, src + done, how);
		if (err)
			break;
		done += PAGE_SIZE;
		if (READ_ONCE(current_thread()->killed)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	return done ? (long)done : err;
}
