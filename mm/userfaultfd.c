/* SPDX-License-Identifier: MIT */
/* mm/userfaultfd.c - userfaultfd write-protection in the page tables; the
 * interface and the entry encoding are in mm/userfaultfd.h, the story in
 * docs/userfaultfd.md.
 *
 * What lives here:
 *   - registering ranges: VM_UFFD_WP and vma->uffd_ctx on the VMAs;
 *   - uffd_wp_range(): set or clear the write-protect bit over a range,
 *     with markers in empty entries (WP_UNPOPULATED), under one mmu_gather
 *     so that protecting N pages costs one TLB flush; one walk that decides
 *     each 2 MiB piece under the PMD lock, so that a huge PMD a fault puts
 *     in meanwhile is protected too (docs/userfaultfd.md, "Racing a
 *     huge-page fault");
 *   - uffd_wp_fault(): what a write fault on a protected entry does (the
 *     fault path in mm/fault.c and mm/huge_memory.c asks it).
 * Why protecting must flush: a CPU that cached the writable translation
 * could go on writing after UFFDIO_WRITEPROTECT returned, and a "live
 * snapshot" taken then would miss that write. Clearing the protection only
 * adds a right, so it needs no flush (a stale read-only entry just faults).
 */
#include "mm/userfaultfd.h"
#include "mm/vma_lock.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/mmu_gather.h"
#include "mm/thp.h"
#include "mm/anon_exclusive.h"
#include "kernel/userfaultfd.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "arch/x86_64/tlb.h"

bool uffd_debug_local_wp_flush;
bool uffd_debug_wp_huge_first;
void (*uffd_wp_debug_window_hook)(struct mm_struct *mm, u64 addr);
bool uffd_debug_skip_must_wait;

void uffd_mm_init(void)
{
	cmdline_debug_switch("userfaultfd", "uffd_debug_local_wp_flush", &uffd_debug_local_wp_flush,
			     "write-protecting flushes this CPU's TLB only, not the other CPUs'");
	cmdline_debug_switch("userfaultfd", "uffd_debug_wp_huge_first", &uffd_debug_wp_huge_first,
			     "write-protecting does the huge PMDs first, then the PTE tables, "
			     "skipping a PMD that went huge between");
	cmdline_debug_switch("userfaultfd", "uffd_debug_copy_no_recheck", &uffd_debug_copy_no_recheck,
			     "UFFDIO_COPY/ZEROPAGE replace whatever the entry maps instead of "
			     "saying EEXIST");
	cmdline_debug_switch("userfaultfd", "uffd_debug_fork_drop_markers",
			     &uffd_debug_fork_drop_markers,
			     "fork with EVENT_FORK copies no uffd-wp marker into the child");
	cmdline_debug_switch("userfaultfd", "uffd_debug_remove_unchecked",
			     &uffd_debug_remove_unchecked,
			     "MADV_DONTNEED/FREE send REMOVE events for VMAs the advice refuses");
	cmdline_debug_switch("userfaultfd", "uffd_debug_skip_must_wait", &uffd_debug_skip_must_wait,
			     "a queued fault sleeps without looking at its entry again");
}

bool uffd_vma_async(const struct vm_area *vma)
{
	return vma->uffd_ctx && (uffd_ctx_features(vma->uffd_ctx) & UFFD_FEATURE_WP_ASYNC);
}

bool uffd_vma_wp_sync(const struct vm_area *vma)
{
	return (vma->flags & VM_UFFD_WP) && !uffd_vma_async(vma);
}

/* The entry mapping addr is a PTE (or a marker), or a huge PMD: read it
 * under the lock it changes under (mm/pgtable.h) and say whether it still
 * carries the uffd-wp bit. Takes only spinlocks, allocates nothing; an entry
 * that has gone (zapped, or its table reclaimed) is not protected. */
static bool uffd_entry_protected(struct mm_struct *mm, u64 addr)
{
	for (;;) {
		u32 *ptl;
		u64 *e = pte_offset_map_lock(mm, addr, &ptl);
		if (e) {
			bool wp = (pte_read(e) & PTE_UFFD_WP) != 0;
			pte_unmap_unlock(ptl);
			return wp;
		}
		/* No PTE table: a huge PMD, or nothing at all. */
		spin_lock(&mm->page_table_lock);
		u64 *pmd = pgtable_walk(mm, addr, PT_PMD);
		u64 v = pmd ? pte_read(pmd) : 0;
		spin_unlock(&mm->page_table_lock);
		if (pmd_huge(v))
			return (v & PTE_UFFD_WP) && !(v & PTE_W);
		if (!(v & PTE_P))
			return false;
		/* A PTE table was hooked in meanwhile: look at it. */
	}
}

bool uffd_vma_missing(const struct vm_area *vma)
{
	return (vma->flags & VM_UFFD_MISSING) && vma->uffd_ctx;
}

/* Is the PTE mapping addr still empty (or a marker), read under its lock?
 * No PTE table (a huge PMD, or nothing: reclaimed) is not waited on, as
 * Linux's userfaultfd_must_wait: the retry decides again. */
static bool uffd_entry_missing(struct mm_struct *mm, u64 addr)
{
	u32 *ptl;
	u64 *e = pte_offset_map_lock(mm, addr, &ptl);
	if (!e)
		return false;
	u64 v = pte_read(e);
	pte_unmap_unlock(ptl);
	return v == 0 || pte_uffd_marker(v);
}

bool uffd_must_wait(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 reason)
{
	if (uffd_debug_skip_must_wait)
		return true;
	if (!(reason & UFFD_REASON_WP))
		return uffd_vma_missing(vma) && uffd_entry_missing(mm, addr);
	return uffd_vma_wp_sync(vma) && uffd_entry_protected(mm, addr);
}

static bool uffd_vma_markers(const struct vm_area *vma)
{
	/* WP_ASYNC implies WP_UNPOPULATED (as on Linux): dirty tracking must
	 * see the first write to a page that was never touched. */
	return vma->uffd_ctx && (uffd_ctx_features(vma->uffd_ctx) &
				 (UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_WP_ASYNC));
}

/* May vma be registered? Private anonymous memory only: Linux also takes
 * shmem (a private mapping of a memfd or tmpfs file too) and hugetlbfs,
 * which Pagoda's shared anonymous objects are not. */
static bool vma_can_userfault(const struct vm_area *vma)
{
	return !(vma->flags & VM_SHARED) && !vma->shared && (vma->flags & VM_MAYWRITE);
}

/* --- registering --- */

/* Linux's checks (fs/userfaultfd.c userfaultfd_register): some VMA must
 * meet the range (EINVAL), each one met must be one that can be
 * registered (EINVAL) and not belong to another context (EBUSY); holes in
 * between are allowed. Checked for all before any is changed. */
static int check_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx, u64 start, u64 end)
{
	struct vm_area *v;
	bool met = false;
	for_each_vma_range(mm, v, start, end) {
		met = true;
		if (!vma_can_userfault(v))
			return -EINVAL;
		if (v->uffd_ctx && v->uffd_ctx != ctx)
			return -EBUSY;
	}
	return met ? 0 : -EINVAL;
}

/* Set the flags of every VMA piece in [start, end) to (flags & ~clear) |
 * set, and their context to ctx. mmap_lock held for write. */
static int set_range(struct mm_struct *mm, u64 start, u64 end, u32 set, u32 clear,
		     struct userfaultfd_ctx *ctx)
{
	struct vm_area *v;
	u64 a = start;
	for_each_vma_range(mm, v, a, end) {
		int err = mm_set_range_uffd(mm, MAX(a, v->start), MIN(end, v->end),
					    (v->flags & ~clear) | set, ctx);
		if (err)
			return err;
	}
	return 0;
}

int uffd_register_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx,
			u64 start, u64 end, u32 vm_flags)
{
	mmap_write_lock(mm);
	int err = check_range(mm, ctx, start, end);
	/* The modes asked for replace those registered before (Linux). */
	if (!err)
		err = set_range(mm, start, end, vm_flags, VM_UFFD_WP | VM_UFFD_MISSING, ctx);
	mmap_write_unlock(mm);
	return err;
}

/* --- the entries --- */

/* May a page whose protection is cleared get the write right back at
 * once? Where its next write fault would simply reuse it: a writable VMA
 * and a page this mm owns alone (Linux: can_change_pte_writable). Adding a
 * right needs no flush; it saves the writer that fault. */
bool uffd_may_restore_write(u64 entry, u32 vm_flags)
{
	return (vm_flags & VM_WRITE) && pte_present(entry) && !pte_special(entry) &&
	       page_anon_exclusive(pte_page(entry));
}

/* Set (wp) or clear the protection of the PTE *e mapping addr, in a VMA
 * with flags vm_flags; markers: an empty entry gets a marker when
 * protecting. An entry that loses its write right is recorded in tlb. The
 * PTE table's lock is held. */
static void change_wp_pte(u64 *e, u64 addr, u32 vm_flags, bool wp, bool markers,
			  struct mmu_gather *tlb)
{
	u64 old = pte_read(e);
	u64 new = old;
	if (wp) {
		if (pte_mapped(old))
			new = (old & ~PTE_W) | PTE_UFFD_WP;
		else if (old == 0 && markers)
			new = PTE_UFFD_WP;      /* a marker */
	} else {
		if (pte_uffd_marker(old))
			new = 0;
		else if (pte_mapped(old))
			new = (old & ~PTE_UFFD_WP) |
			      (uffd_may_restore_write(old, vm_flags) ? PTE_W : 0);
		/* Otherwise the write right comes back at the next write
		 * fault, which reuses an exclusive page without a flush (or
		 * copies a shared one). */
	}
	if (new == old)
		return;
	if (pte_write(old)) {
		/* Atomic: the MMU may set D meanwhile. */
		pte_update(e, PTE_W, PTE_UFFD_WP);
		/* The write right went: every TLB must forget it before the
		 * call returns. */
		/* LAB(uffd-wp) BEGIN: every CPU must forget the write right before the call returns, with ONE flush for the whole range: record the page in tlb (not under uffd_debug_local_wp_flush) */
		if (!uffd_debug_local_wp_flush)
			tlb_track_range(tlb, addr, PAGE_SIZE, PT_PTE);
		/* LAB(uffd-wp) STUB: flush_tlb_page(tlb->mm, addr); */
		/* LAB(uffd-wp) END */
	} else {
		pte_modify(e, old, new);        /* may be live: pgtable.h */
	}
}

/* The PTEs of [a, stop), all in one PTE table, under that table's lock.
 * -EAGAIN when no PTE table maps a any more: since the caller looked under
 * the PMD lock, a reclaim took the table (and a THP fault may have put a
 * huge PMD there); the caller decides the piece again. */
static int change_wp_ptes(struct mm_struct *mm, u64 a, u64 stop, u32 vm_flags, bool wp,
			  bool markers, struct mmu_gather *tlb)
{
	u32 *ptl;
	u64 *e = pte_offset_map_lock(mm, a, &ptl);
	if (!e)
		return -EAGAIN;
	for (; a < stop; a += PAGE_SIZE, e++)
		change_wp_pte(e, a, vm_flags, wp, markers, tlb);
	pte_unmap_unlock(ptl);
	return 0;
}

/* What change_wp_pmd() may handle: both, except under the negative control
 * uffd_debug_wp_huge_first (mm/userfaultfd.h). */
#define WP_HUGE 1u      /* huge PMDs */
#define WP_PTES 2u      /* PTE tables, and empty PMDs given markers */

/* Decide the 2 MiB piece holding [a, stop) under the PMD lock, the lock a
 * THP or huge-zero-page fault holds to put a huge PMD into an empty PMD
 * (mm/huge_memory.c set_huge_pmd):
 *   - a huge PMD wholly inside gets (or loses) the bit right here; one only
 *     partly inside is split, and its PTEs are done below;
 *   - an empty PMD: nothing to protect, or, protecting with markers, a new
 *     PTE table, which the markers fill below; a fault after this finds the
 *     table and goes to the PTE level, so it can no longer put a bare huge
 *     PMD here;
 *   - a PTE table: its entries, under its own lock (not the PMD lock: the
 *     faults of other pieces need that one; and a table seen without the
 *     PMD lock is done at once).
 * 0, -ENOMEM, or -EAGAIN from change_wp_ptes (decide again). */
static int change_wp_pmd(struct mm_struct *mm, u64 a, u64 stop, u32 vm_flags, bool wp,
			 bool markers, unsigned what, struct mmu_gather *tlb)
{
	const u64 haddr = a & HPAGE_MASK;
	bool fill = wp && markers && (what & WP_PTES);
	int err = 0;
	/* A PTE table needs no PMD lock: change_wp_ptes' PTE lock is taken
	 * only while the PMD still points to the table, and finding it gone
	 * brings us to the locked look below (Linux's change_pmd_range reads
	 * the PMD without its lock the same way). */
	u64 *pmd = pgtable_walk(mm, a, PT_PMD);
	if (pmd && (pte_read(pmd) & (PTE_P | PTE_PS)) == PTE_P && (what & WP_PTES)) {
		err = change_wp_ptes(mm, a, stop, vm_flags, wp, markers, tlb);
		if (err != -EAGAIN)
			return err;
		err = 0;
	}
	spin_lock(&mm->page_table_lock);
	pmd = fill ? pgtable_walk_alloc(mm, a, PT_PMD) : pgtable_walk(mm, a, PT_PMD);
	u64 v = pmd ? pte_read(pmd) : 0;
	if (pmd_huge(v)) {
		if (!(what & WP_HUGE))
			goto out;       /* the negative control's gap */
		if (a == haddr && stop == haddr + HPAGE_SIZE) {
			uffd_wp_huge_pmd(pmd, haddr, vm_flags, wp, tlb);
			goto out;
		}
		split_huge_pmd(mm, pmd, haddr);         /* partly inside: the PTEs do it */
	} else if (!(v & PTE_P)) {
		if (!fill)
			goto out;       /* nothing to protect, no marker wanted */
		/* Markers need a table to live in, even where nothing was
		 * ever mapped. */
		if (!pmd || !pgtable_walk_alloc(mm, a, PT_PTE)) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (!(what & WP_PTES))
		goto out;
	spin_unlock(&mm->page_table_lock);
	if (uffd_wp_debug_window_hook)
		uffd_wp_debug_window_hook(mm, a);
	return change_wp_ptes(mm, a, stop, vm_flags, wp, markers, tlb);
out:
	spin_unlock(&mm->page_table_lock);
	return err;
}

/* The first address in [a, end) whose PMD is not empty (a is returned
 * as it is if so), or end. Only for walks that leave empty PMDs alone; it
 * reads the upper levels with no lock, as pte_table_next (mm/pgtable.h).
 * A PMD filled after this look is a fault that came after the call. */
static u64 skip_empty_pmds(struct mm_struct *mm, u64 a, u64 end)
{
	while (a < end) {
		u64 *pmd = pgtable_walk(mm, a, PT_PMD);
		if (pmd && pte_read(pmd))
			return a;
		/* No table below the level-3 entry: skip its 1 GiB whole. */
		u64 step = pmd ? HPAGE_SIZE : pgtable_span(PT_PUD);
		u64 next = (a & ~(step - 1)) + step;
		if (next <= a)
			break;          /* wrapped past the top */
		a = next;
	}
	return end;
}

/* One pass over [start, end), all in one VMA with flags vm_flags, piece by
 * piece (change_wp_pmd). */
static int change_wp_pass(struct mm_struct *mm, u64 start, u64 end, u32 vm_flags, bool wp,
			  bool markers, unsigned what, struct mmu_gather *tlb)
{
	for (u64 a = start; a < end;) {
		if (!(wp && markers && (what & WP_PTES)))
			a = skip_empty_pmds(mm, a, end);        /* no marker to put */
		if (a >= end)
			break;
		u64 stop = MIN(end, (a & HPAGE_MASK) + HPAGE_SIZE);
		int err = change_wp_pmd(mm, a, stop, vm_flags, wp, markers, what, tlb);
		if (err == -EAGAIN)
			continue;       /* the PTE level went: this piece again */
		if (err)
			return err;     /* the pieces before keep what they got */
		a = stop;
		cond_resched();
	}
	return 0;
}

/* Set (wp) or clear the protection in the entries of [start, end), all in
 * one VMA with flags vm_flags. markers: put a marker in every empty entry
 * when protecting. Narrowed entries are recorded in tlb. Caller holds
 * mmap_lock. One walk deciding each 2 MiB piece under the PMD lock: a
 * "huge PMDs first, then the PTE tables" order would leave a gap in which a
 * THP fault installs a huge PMD that neither pass protects. */
static int change_wp(struct mm_struct *mm, u64 start, u64 end, u32 vm_flags, bool wp,
		     bool markers, struct mmu_gather *tlb)
{
	mmap_assert_locked(mm);
	if (!uffd_debug_wp_huge_first)
		return change_wp_pass(mm, start, end, vm_flags, wp, markers, WP_HUGE | WP_PTES, tlb);
	/* The negative control: that gap. */
	change_wp_pass(mm, start, end, vm_flags, wp, markers, WP_HUGE, tlb);
	return change_wp_pass(mm, start, end, vm_flags, wp, markers, WP_PTES, tlb);
}

/* Does all of [start, end) lie in VMAs registered for WP, with no hole?
 * 0, or -ENOENT as Linux's mwriteprotect_range. (Linux 6.1 wants a single
 * VMA; newer kernels walk several, and uffd_test avoids the difference.) */
static int check_wp_range(struct mm_struct *mm, u64 start, u64 end)
{
	struct vm_area *v;
	u64 a = start;
	for_each_vma_range(mm, v, a, end)
		if (v->start > a || !(v->flags & VM_UFFD_WP))
			return -ENOENT;
	return a < end ? -ENOENT : 0;      /* a hole at the end */
}

int uffd_wp_range(struct mm_struct *mm, u64 start, u64 end, bool wp)
{
	down_read(&mm->mmap_lock);
	int err = check_wp_range(mm, start, end);
	if (err) {
		up_read(&mm->mmap_lock);
		return err;
	}
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	struct vm_area *v;
	u64 a = start;
	for_each_vma_range(mm, v, a, end) {
		/* No hole (checked): v starts at or below a. */
		err = change_wp(mm, a, MIN(end, v->end), v->flags, wp, uffd_vma_markers(v), &tlb);
		if (err)
			break;
	}
	/* One flush for every entry that lost its write right. */
	tlb_finish_mmu(&tlb);
	if (uffd_debug_local_wp_flush)
		local_flush_tlb_all();  /* the negative control: here only */
	up_read(&mm->mmap_lock);
	return err;
}

/* Drop every trace of protection from [start, end), inside one VMA with
 * flags vm_flags: bits and markers. */
static void clear_wp(struct mm_struct *mm, u64 start, u64 end, u32 vm_flags)
{
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	change_wp(mm, start, end, vm_flags, false, false, &tlb);
	tlb_finish_mmu(&tlb);
}

/* mremap (Linux's mremap_userfaultfd_prep): with EVENT_REMAP the moved VMA
 * keeps registration and protection, and the handler hears where it went.
 * Without it the moved VMA loses its registration, and its protection -
 * the bits and markers the move carried over - goes with it, as Linux does
 * since 6.13 (6.1 left the bits in the entries of a VMA no longer
 * registered: docs/mremap.md). */
void mremap_userfaultfd_prep(struct mm_struct *mm, struct vm_area *vma, struct uffd_remap *uf)
{
	mmap_assert_write_locked(mm);
	uf->ctx = NULL;
	if (!vma->uffd_ctx)
		return;
	if (uffd_ctx_features(vma->uffd_ctx) & UFFD_FEATURE_EVENT_REMAP) {
		uf->ctx = vma->uffd_ctx;
		uffd_event_prepare(uf->ctx);
		return;
	}
	clear_wp(mm, vma->start, vma->end, vma->flags);
	vma_start_write(vma);
	vma->flags &= ~(VM_UFFD_WP | VM_UFFD_MISSING);
	vma->uffd_ctx = NULL;
}

/* Unregistering needs some VMA in [start, end), and every VMA met one that
 * can be registered (EINVAL). mmap_lock held. */
static int unregister_check(struct mm_struct *mm, u64 start, u64 end)
{
	struct vm_area *v;
	bool met = false;
	for_each_vma_range(mm, v, start, end) {
		met = true;
		if (!vma_can_userfault(v))
			return -EINVAL;
	}
	return met ? 0 : -EINVAL;
}

int uffd_unregister_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx,
			  u64 start, u64 end)
{
	mmap_write_lock(mm);
	int err = unregister_check(mm, start, end);
	struct vm_area *v;
	u64 a = start;
	/* VMAs of this context lose registration and protection; others
	 * (unregistered, or another context's) are left as they are. */
	if (!err) {
		for_each_vma_range(mm, v, a, end) {
			if (v->uffd_ctx != ctx)
				continue;
			u64 lo = MAX(a, v->start), hi = MIN(end, v->end);
			vma_start_write(v);     /* it changes from here on */
			clear_wp(mm, lo, hi, v->flags);
			err = mm_set_range_uffd(mm, lo, hi, v->flags & ~(VM_UFFD_WP | VM_UFFD_MISSING),
						NULL);
			if (err)
				break;
		}
	}
	mmap_write_unlock(mm);
	return err;
}

void uffd_release_mm(struct mm_struct *mm, struct userfaultfd_ctx *ctx)
{
	mmap_write_lock(mm);
	struct vm_area *v;
	u64 a = 0;
	for_each_vma_range(mm, v, a, USER_SPACE_END) {
		if (v->uffd_ctx != ctx)
			continue;
		u64 lo = v->start, hi = v->end;
		vma_start_write(v);
		clear_wp(mm, lo, hi, v->flags);
		/* May merge with neighbours (the iterator looks again from
		 * hi: a merged VMA has no context and is passed over). */
		mm_set_range_uffd(mm, lo, hi, v->flags & ~(VM_UFFD_WP | VM_UFFD_MISSING), NULL);
	}
	mmap_write_unlock(mm);
}
