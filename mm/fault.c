/* SPDX-License-Identifier: MIT */
/* mm/fault.c - resolving page faults on user addresses (docs/cow.md).
 *
 * Path: find the VMA (read-locked on its own under RCU, or with mmap_lock
 * held for read when that cannot be done: mm/vma_lock.h) -> check the
 * access against its rights -> a huge PMD, or room for one (mm/thp.h) ->
 * make the PTE satisfy the access, one kind of fault per function:
 *   read, nothing mapped, private  -> do_anonymous_page: the shared zero
 *                                     page, read-only, with PTE_SPECIAL (it
 *                                     holds no reference, is not in rss);
 *   write, nothing mapped, private -> do_anonymous_page: a fresh zeroed
 *                                     page, writable, marked PG_exclusive
 *                                     (only this mm maps it);
 *   nothing mapped, shared VMA     -> do_shared_fault: the shared object's
 *                                     page, read or write (mapped only if
 *                                     the object still holds it under our
 *                                     PTE lock: MADV_REMOVE); SIGBUS
 *                                     past the object's end (memfd);
 *   nothing mapped, private VMA    -> do_cow_fault: a read maps the
 *   of a file (a memfd, tmpfs)        object's page read-only; a write
 *                                     maps a private copy of it at once;
 *   write to a read-only page      -> do_wp_page, copy-on-write:
 *                                     wp_page_reuse makes it writable in
 *                                     place when this mm is known to be its
 *                                     only user (PG_exclusive, or no
 *                                     reference but this mm's entries: mm/
 *                                     anon_exclusive.h); else wp_page_copy
 *                                     clears the old entry and flushes,
 *                                     installs the copy, and only then drops
 *                                     the old page's map count and reference.
 *                                     A write to the zero page is a copy of
 *                                     zeros (no CPU may keep reading zeros
 *                                     through a stale entry once the new
 *                                     page is written);
 *   unshare (FAULT_UNSHARE)        -> wp_page_unshare: the same copy, but
 *                                     mapped read-only: a private copy for a
 *                                     read-only pin;
 *   write to a uffd-wp entry       -> handle_pte_fault hands sync mode to the
 *                                     handler (handle_userfault), clears the
 *                                     protection in async mode.
 * Pages are allocated (and filled) before the PTE lock is taken (the lock of
 * this one PTE table: mm/pgtable.h); under it the PTE is read again
 * (pte_relock_same), and if another CPU resolved the same fault meanwhile
 * our page is dropped and the instruction simply retries. The filling
 * stores come before the PTE store that publishes the page (a release
 * store: on x86 stores are not reordered with stores anyway).
 */
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/shared_anon.h"
#include "mm/buddy.h"
#include "mm/fault.h"
#include "mm/rmap.h"
#include "mm/vma_lock.h"
#include "mm/thp.h"
#include "mm/anon_exclusive.h"
#include "mm/deferred_split.h"
#include "mm/userfaultfd.h"
#include "kernel/userfaultfd.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/string.h"
#include "kernel/trace.h"

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_PROT  (1UL << 0)     /* the page was present */
#define PF_WRITE (1UL << 1)
#define PF_USER  (1UL << 2)
#define PF_RSVD  (1UL << 3)
#define PF_INSTR (1UL << 4)

#define PTE_AD (PTE_A | PTE_D)

struct cow_stats cow_stats;
bool cow_debug_always_copy;
bool fault_debug_no_zero_page;

static void cow_count(u64 *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

void (*fault_debug_shared_hook)(struct mm_struct *mm, u64 addr);

/* --- helpers of the PTE-level faults --- */

/* The second look. MADV_DONTNEED runs under mmap_lock for read, like this
 * fault, and may have freed our page table while we allocated (empty
 * tables are reclaimed: pgtable.c); then vmf->pte points into a freed
 * table and must not be touched. So lock whatever table maps the address
 * now (allocating it again), and go on only if its entry still says what
 * the first look saw, A and D aside: true, locked, with vmf->orig_pte
 * updated to that value. Else false with nothing locked and *ret saying
 * what to do: VM_FAULT_DONE (retry the access) or VM_FAULT_OOM. */
static bool pte_relock_same(struct vm_fault *vmf, vm_fault_t *ret)
{
	int err;
	vmf->pte = pte_alloc_map_lock(vmf->mm, vmf->address, &vmf->ptl, &err);
	if (!vmf->pte) {
		*ret = err ? VM_FAULT_OOM : VM_FAULT_DONE;  /* a huge PMD: retry */
		return false;
	}
	u64 now = pte_read(vmf->pte);
	if ((now & ~PTE_AD) != (vmf->orig_pte & ~PTE_AD)) {
		pte_unmap_unlock(vmf->ptl);
		*ret = VM_FAULT_DONE;   /* changed under us: retry the access */
		return false;
	}
	vmf->orig_pte = now;
	return true;
}

/* The bits a new entry takes over from the one it replaces (orig_pte).
 * userfaultfd: a read of a marker, or an unshare of a protected page, stays
 * protected (a write was handled before: sync never gets here), and so
 * without the write right, or the next write would not fault: a fresh page
 * mapped for a read (fault_debug_no_zero_page) would otherwise be writable.
 * Soft-dirty
 * (docs/soft-dirty.md): a write, or the loader's filling, dirties the new
 * page; an unshare's copy is as dirty as the entry it replaces, and a read
 * of nothing is clean. */
static u64 fault_pte_bits(const struct vm_fault *vmf, u64 pte)
{
	bool write = vmf->flags & FAULT_WRITE;
	if (!write && (vmf->orig_pte & PTE_UFFD_WP))
		pte = (pte | PTE_UFFD_WP) & ~PTE_W;
	if (write || (vmf->flags & FAULT_NEED_PAGE))
		pte = pte_mkdirty(pte);
	else if (pte_soft_dirty(vmf->orig_pte))
		pte |= PTE_SOFT_DIRTY;
	return pte;
}

/* A new private page for vma: zeroed, or a copy of src. Called with no
 * spinlock held: the allocator may reclaim (the deferred split queue). */
static struct page *alloc_anon_page(struct vm_area *vma, const struct page *src)
{
	vma_anon_prepare(vma);
	struct page *page = alloc_page(src ? __GFP_DIRECT_RECLAIM : __GFP_ZERO | __GFP_DIRECT_RECLAIM);
	if (!page)
		return NULL;
	if (src)
		memcpy(page_address(page), page_address(src), PAGE_SIZE);
	page->flags |= PG_anon | PG_exclusive;
	return page;
}

/* --- nothing mapped --- */

/* A private VMA, nothing mapped (or a uffd marker): the zero page for a
 * read, a new zeroed page for a write or the exec loader. PTE lock held on
 * entry; released. */
static vm_fault_t do_anonymous_page(struct vm_fault *vmf)
{
	pte_unmap_unlock(vmf->ptl);
	/* LAB(pagewalk) BEGIN: a write (or the loader's FAULT_NEED_PAGE) needs a fresh zeroed page; a read gets none here (page stays NULL: the zero page is mapped below) */
	/* LAB(pagewalk) STUB: struct page *page = alloc_anon_page(vmf->vma, NULL); if (!page) return VM_FAULT_OOM; */
	struct page *page = NULL;
	if ((vmf->flags & (FAULT_WRITE | FAULT_NEED_PAGE)) || fault_debug_no_zero_page) {
		page = alloc_anon_page(vmf->vma, NULL);
		if (!page)
			return VM_FAULT_OOM;
	}
	/* LAB(pagewalk) END */
	vm_fault_t ret;
	if (!pte_relock_same(vmf, &ret)) {
		if (page)
			put_page(page);
		return ret;
	}
	/* LAB(pagewalk) BEGIN: the entry: a fresh page joins the rmap and the rss, writable; the zero page is read-only and PTE_SPECIAL (no reference, no rss) */
	/* LAB(pagewalk) STUB: page_add_new_anon_rmap(page); mm_add_rss(vmf->mm, 1); u64 pte = mk_pte(page_to_phys(page), vmf->vma->flags, !(vmf->flags & FAULT_UNSHARE)); */
	u64 pte;
	if (page) {
		page_add_new_anon_rmap(page);
		mm_add_rss(vmf->mm, 1);
		pte = mk_pte(page_to_phys(page), vmf->vma->flags, !(vmf->flags & FAULT_UNSHARE));
	} else {
		pte = mk_pte(page_to_phys(zero_page), vmf->vma->flags, false) | PTE_SPECIAL;
	}
	/* LAB(pagewalk) END */
	pte_set(vmf->pte, fault_pte_bits(vmf, pte));
	pte_unmap_unlock(vmf->ptl);
	return VM_FAULT_DONE;
}

/* A shared VMA, nothing mapped: the object's page (mm/shared_anon.h). It
 * is mapped only if the object still holds it under our PTE lock: a
 * MADV_REMOVE that took it out meanwhile unmaps this entry after us (its
 * zap waits for this lock) or has already - then the access faults again
 * for the object's fresh page. PTE lock held on entry; released. */
static vm_fault_t do_shared_fault(struct vm_fault *vmf)
{
	struct vm_area *vma = vmf->vma;
	pte_unmap_unlock(vmf->ptl);
	u64 idx = vma->pgoff + (vmf->address - vma->start) / PAGE_SIZE;
	struct page *page = shared_anon_page(vma->shared, idx);
	if (!page)
		return shared_anon_beyond_eof(vma->shared, idx) ? VM_FAULT_SIGBUS : VM_FAULT_OOM;
	if (fault_debug_shared_hook)
		fault_debug_shared_hook(vmf->mm, vmf->address);
	vm_fault_t ret;
	if (!pte_relock_same(vmf, &ret)) {
		put_page(page);
		return ret;
	}
	if (!shared_anon_page_current(vma->shared, idx, page)) {
		pte_unmap_unlock(vmf->ptl);
		put_page(page);
		return VM_FAULT_DONE;
	}
	page_add_file_rmap(page);
	mm_add_rss(vmf->mm, 1);
	/* A private mapping of the file (do_cow_fault's read) never writes
	 * the object's page: read-only, a write copies it (do_wp_page). */
	bool w = (vma->flags & VM_SHARED) && !(vmf->flags & FAULT_UNSHARE);
	u64 pte = mk_pte(page_to_phys(page), vma->flags, w);
	pte_set(vmf->pte, fault_pte_bits(vmf, pte));
	pte_unmap_unlock(vmf->ptl);
	return VM_FAULT_DONE;
}

/* A private mapping of a file (MAP_PRIVATE of a memfd or tmpfs file),
 * nothing mapped (Linux's do_read_fault / do_cow_fault). A read maps the
 * object's page read-only (do_shared_fault); a write copies it at once into
 * a private page of this VMA. The object's page is never written through a
 * private mapping: mapped read-only, the object's own reference keeps it
 * from ever looking exclusive, so a later write copies it (do_wp_page).
 * PTE lock held on entry; released. */
static vm_fault_t do_cow_fault(struct vm_fault *vmf)
{
	struct vm_area *vma = vmf->vma;
	if (!(vmf->flags & FAULT_WRITE))
		return do_shared_fault(vmf);
	pte_unmap_unlock(vmf->ptl);
	u64 idx = vma->pgoff + (vmf->address - vma->start) / PAGE_SIZE;
	struct page *src = shared_anon_page(vma->shared, idx);
	if (!src)
		return shared_anon_beyond_eof(vma->shared, idx) ? VM_FAULT_SIGBUS : VM_FAULT_OOM;
	struct page *page = alloc_anon_page(vma, src);
	put_page(src);
	if (!page)
		return VM_FAULT_OOM;
	vm_fault_t ret;
	if (!pte_relock_same(vmf, &ret)) {
		put_page(page);
		return ret;
	}
	page_add_new_anon_rmap(page);
	mm_add_rss(vmf->mm, 1);
	u64 pte = mk_pte(page_to_phys(page), vma->flags, true);
	pte_set(vmf->pte, fault_pte_bits(vmf, pte));
	pte_unmap_unlock(vmf->ptl);
	return VM_FAULT_DONE;
}

/* --- a page mapped read-only: copy-on-write and unshare --- */

/* Our own page mapped read-only in a writable VMA (after a fork whose child
 * has gone, or a shared page): adding a right needs no flush. PTE lock
 * held; released. */
static vm_fault_t wp_page_reuse(struct vm_fault *vmf)
{
	if (!(vmf->vma->flags & VM_SHARED)) {
		cow_count(&cow_stats.reuse);
		trace_event(TR_COW_REUSE, vmf->address, vmf->mm->pgd_phys);
	}
	pte_modify(vmf->pte, vmf->orig_pte, pte_mkdirty(vmf->orig_pte | PTE_W));
	pte_unmap_unlock(vmf->ptl);
	return VM_FAULT_DONE;
}

/* Put the copy page in place of the old entry (PTE lock held): unhook and
 * flush first, so that no CPU keeps using the old page through a stale TLB
 * entry once the copy is written; then the old page (NULL: the zero page)
 * loses this mapping and the old PTE's reference. */
static void wp_page_replace(struct vm_fault *vmf, struct page *page, struct page *old_page)
{
	pte_clear(vmf->pte);
	flush_tlb_page(vmf->mm, vmf->address);
	page_add_new_anon_rmap(page);
	/* An unshare gives a private copy without the right to write. */
	bool w = !(vmf->flags & FAULT_UNSHARE) || pte_write(vmf->orig_pte);
	if (!(vmf->flags & FAULT_UNSHARE))
		trace_event(TR_COW_COPY, vmf->address, vmf->mm->pgd_phys);
	u64 pte = mk_pte(page_to_phys(page), vmf->vma->flags, w);
	if (!old_page)
		mm_add_rss(vmf->mm, 1);   /* a COW copy replaces a counted page */
	pte_set(vmf->pte, fault_pte_bits(vmf, pte));
	if (old_page) {
		page_remove_rmap(old_page, vmf->mm);
		put_page(old_page);     /* the old PTE's reference */
		cow_count(vmf->flags & FAULT_UNSHARE ? &cow_stats.unshare : &cow_stats.copy);
	}
}

/* Copy the page (a fresh zeroed page for the zero page) and map the copy.
 * PTE lock held on entry; released. */
static vm_fault_t wp_page_copy(struct vm_fault *vmf)
{
	struct page *old_page = NULL;
	if (!pte_special(vmf->orig_pte)) {
		/* Keep the old page alive while we copy it without the lock. */
		old_page = pte_page(vmf->orig_pte);
		get_page(old_page);
	}
	pte_unmap_unlock(vmf->ptl);
	struct page *page = alloc_anon_page(vmf->vma, old_page);
	vm_fault_t ret = VM_FAULT_OOM;
	if (page && pte_relock_same(vmf, &ret)) {
		wp_page_replace(vmf, page, old_page);
		pte_unmap_unlock(vmf->ptl);
		ret = VM_FAULT_DONE;
	} else if (page) {
		put_page(page);
	}
	if (old_page)
		put_page(old_page);     /* ours, taken for the copy */
	return ret;
}

/* An unshare: a read-only pin wants a page no other address space can
 * change or take back. Already ours, or the zero page (which a read-only
 * pin may share: it never changes): nothing to do. Else copy, read-only.
 * PTE lock held; released. */
static vm_fault_t wp_page_unshare(struct vm_fault *vmf)
{
	if (vmf->exclusive || pte_special(vmf->orig_pte)) {
		pte_unmap_unlock(vmf->ptl);
		return VM_FAULT_DONE;
	}
	return wp_page_copy(vmf);
}

/* A mapped entry that does not allow the access (a write to a read-only
 * page or to the zero page, the loader's need for a real page, an unshare).
 * PTE lock held; released. */
static vm_fault_t do_wp_page(struct vm_fault *vmf)
{
	if (vmf->flags & FAULT_UNSHARE)
		return wp_page_unshare(vmf);
	/* A shared VMA's page belongs to its object: the write right comes
	 * back in place, never as a private copy. */
	if (vmf->vma->flags & VM_SHARED)
		return wp_page_reuse(vmf);
	/* LAB(cow) BEGIN: a page this mm alone may use (vmf->exclusive) is reused in place, not copied */
	if (vmf->exclusive && !cow_debug_always_copy)
		return wp_page_reuse(vmf);
	/* LAB(cow) END */
	return wp_page_copy(vmf);
}

/* --- the PTE level --- */

/* A write hit a userfaultfd-protected entry (or marker): true when the
 * handler decides (sync mode). In async mode the write itself clears the
 * protection - the page reads as "written" from now on: a marker becomes
 * an empty entry, and a present entry keeps the D bit a CPU may be setting
 * right now (pgtable.h). PTE lock held. */
static bool uffd_wp_must_wait(struct vm_fault *vmf)
{
	trace_event(TR_UFFD_WP, vmf->address, uffd_vma_wp_sync(vmf->vma));
	if (uffd_vma_wp_sync(vmf->vma))
		return true;
	vmf->orig_pte = pte_update(vmf->pte, PTE_UFFD_WP, 0) & ~PTE_UFFD_WP;
	return false;
}

/* May this mm take the mapped page as its own (mm/anon_exclusive.h)? Asked
 * for every mapped entry before anything else, as the answer is kept on the
 * page (PG_exclusive) for later pins. An mmu_gather that still holds the
 * page of another mm's unmap keeps its count up, so a page is never reused
 * while a stale TLB entry elsewhere may still reach it. PTE lock held. */
static bool pte_page_exclusive(const struct vm_fault *vmf)
{
	if (pte_special(vmf->orig_pte))
		return false;
	return (vmf->vma->flags & VM_SHARED) ||
	       can_reuse_anon_page(pte_page(vmf->orig_pte), vmf->pte);
}

/* Already done: another CPU resolved it, or the fault was spurious. */
static bool pte_fault_done(const struct vm_fault *vmf)
{
	u64 e = vmf->orig_pte;
	if (vmf->flags & FAULT_UNSHARE)
		return false;           /* decided by wp_page_unshare */
	return (!(vmf->flags & FAULT_WRITE) || pte_write(e)) &&
	       (!pte_special(e) || !(vmf->flags & FAULT_NEED_PAGE));
}

/* Lock the PTE, look at it, and send the fault to the function for its
 * kind (the table at the top). */
static vm_fault_t handle_pte_fault(struct vm_fault *vmf)
{
	int err;
	vmf->pte = pte_alloc_map_lock(vmf->mm, vmf->address, &vmf->ptl, &err);
	if (!vmf->pte)
		return err ? VM_FAULT_OOM : VM_FAULT_DONE;  /* a huge PMD: retry */
	vmf->orig_pte = pte_read(vmf->pte);
	/* Missing, decided under the PTE lock that UFFDIO_COPY installs
	 * under (Linux's do_anonymous_page asks userfaultfd_missing there).
	 * A marker is empty too: a missing fault first, as Linux. */
	if ((vmf->orig_pte == 0 || pte_uffd_marker(vmf->orig_pte)) &&
	    uffd_vma_missing(vmf->vma) && !(vmf->flags & FAULT_NEED_PAGE)) {
		pte_unmap_unlock(vmf->ptl);
		return VM_FAULT_USERFAULT_MISSING;
	}
	if ((vmf->flags & FAULT_WRITE) && (vmf->orig_pte & PTE_UFFD_WP) &&
	    uffd_wp_must_wait(vmf)) {
		pte_unmap_unlock(vmf->ptl);
		return VM_FAULT_USERFAULT;
	}
	if (!pte_mapped(vmf->orig_pte)) {
		if (vmf->vma->flags & VM_SHARED)
			return do_shared_fault(vmf);
		return vmf->vma->shared ? do_cow_fault(vmf) : do_anonymous_page(vmf);
	}
	vmf->exclusive = pte_page_exclusive(vmf);
	if (pte_fault_done(vmf)) {
		pte_unmap_unlock(vmf->ptl);
		return VM_FAULT_DONE;
	}
	return do_wp_page(vmf);
}

vm_fault_t __handle_mm_fault(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 flags)
{
	fault_assert_locked(mm, vma);
	struct vm_fault vmf = {
		.mm = mm, .vma = vma, .address = addr & PAGE_MASK, .flags = flags,
	};
	if (!(vma->flags & VM_SHARED)) {
		/* A huge PMD, or room for one (mm/thp.h). */
		vm_fault_t ret = huge_pmd_fault(&vmf);
		if (ret != VM_FAULT_FALLBACK)
			return ret;
	}
	return handle_pte_fault(&vmf);
}

/* --- the entry from the trap --- */

/* Does vma refuse this access? (Then the fault is the process's error.) */
static bool access_error(const struct vm_area *vma, u64 error_code)
{
	if ((error_code & PF_WRITE) && !(vma->flags & VM_WRITE))
		return true;
	if ((error_code & PF_INSTR) && !(vma->flags & VM_EXEC))
		return true;
	return !(vma->flags & (VM_READ | VM_WRITE | VM_EXEC));     /* PROT_NONE */
}

static u32 fault_flags(u64 error_code)
{
	return (error_code & PF_WRITE) ? FAULT_WRITE : 0;
}

/* The fast path (mm/vma_lock.h): the fault under its VMA's lock alone.
 * true when it was handled (result in *ret); false to fault under
 * mmap_lock instead. */
static bool fault_under_vma_lock(struct mm_struct *mm, u64 addr, u64 error_code, vm_fault_t *ret)
{
	struct vm_area *vma = lock_vma_under_rcu(mm, addr);
	if (!vma)
		return false;
	if (access_error(vma, error_code)) {
		vma_end_read(vma);
		count_vma_lock_event(VMA_LOCK_SUCCESS);
		*ret = VM_FAULT_SIGSEGV;
		return true;
	}
	vm_fault_t r = __handle_mm_fault(mm, vma, addr, fault_flags(error_code));
	vma_end_read(vma);
	if (r == VM_FAULT_USERFAULT || r == VM_FAULT_USERFAULT_MISSING) {
		/* The handler's wait sleeps and drops mmap_lock: that path. */
		count_vma_lock_event(VMA_LOCK_RETRY);
		return false;
	}
	count_vma_lock_event(VMA_LOCK_SUCCESS);
	*ret = r;
	return true;
}

/* What the handler's message says of a fault __handle_mm_fault handed
 * over: a write-protect fault, or a missing one (a write or a read). */
static u32 userfault_reason(vm_fault_t r, bool write)
{
	if (r == VM_FAULT_USERFAULT)
		return UFFD_REASON_WRITE | UFFD_REASON_WP;
	return write ? UFFD_REASON_WRITE : 0;
}

/* The hand-off to the handler, mmap_lock held for read (released here).
 * UFFD_FEATURE_SIGBUS: no handler waits, the access raises SIGBUS (Linux's
 * handle_userfault checks it first). A context made with
 * UFFD_USER_MODE_ONLY does not handle faults of the kernel's own accesses
 * (a read(2) into a protected buffer): those fail, as on Linux. Otherwise
 * queue a message for the handler and sleep until it resolves the fault
 * (or, for user code, until a signal comes: its handler runs first); mmap_lock
 * is released there. Then retry - unless killed while waiting: a
 * kernel-mode fault (a copy in a system call) would otherwise fault again
 * and again and never reach the way out to user mode. */
static vm_fault_t do_userfault(struct mm_struct *mm, struct vm_area *vma, u64 addr,
			       u64 error_code, vm_fault_t r)
{
	if (uffd_ctx_features(vma->uffd_ctx) & UFFD_FEATURE_SIGBUS) {
		up_read(&mm->mmap_lock);
		return VM_FAULT_SIGBUS;
	}
	if (!(error_code & PF_USER) && uffd_ctx_user_mode_only(vma->uffd_ctx)) {
		up_read(&mm->mmap_lock);
		return VM_FAULT_SIGSEGV;
	}
	/* User code's fault gives way to a signal: the handler runs, then the
	 * access faults again. */
	handle_userfault(mm, vma, addr, userfault_reason(r, error_code & PF_WRITE),
			 error_code & PF_USER);
	if (READ_ONCE(current_thread()->killed))
		return VM_FAULT_SIGSEGV;
	return VM_FAULT_RETRY;
}

/* The slow path: the fault under mmap_lock for read. */
static vm_fault_t fault_under_mmap_lock(struct mm_struct *mm, u64 addr, u64 error_code)
{
	down_read(&mm->mmap_lock);
	vm_fault_t ret = VM_FAULT_SIGSEGV;
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	if (!vma) {
		/* Below a MAP_GROWSDOWN VMA: grow it (under the write lock),
		 * then retry the access. */
		struct vm_area *next = vma_find_intersection(mm->vma_root, addr, USER_SPACE_END);
		if (!next || !(next->flags & VM_GROWSDOWN))
			goto out;
		up_read(&mm->mmap_lock);
		return mm_expand_stack(mm, addr) ? VM_FAULT_SIGSEGV : VM_FAULT_DONE;
	}
	if (access_error(vma, error_code))
		goto out;
	ret = __handle_mm_fault(mm, vma, addr, fault_flags(error_code));
	if (ret == VM_FAULT_USERFAULT || ret == VM_FAULT_USERFAULT_MISSING)
		return do_userfault(mm, vma, addr, error_code, ret);
out:
	up_read(&mm->mmap_lock);
	return ret;
}

/* Faults no mapping can resolve, whatever the VMA says. */
static bool bad_fault(struct mm_struct *mm, u64 addr, u64 error_code)
{
	if (!mm || addr >= USER_SPACE_END)
		return true;
	if (error_code & PF_RSVD)
		return true;            /* a corrupt entry: never "resolved" */
	/* A read or fetch that hit a present page was refused by the entry
	 * itself (NX, or SMAP/SMEP for a kernel access): mapping cannot help,
	 * and "done" would retry the access forever. Only writes to a present
	 * page are ours to fix (the zero page). */
	if ((error_code & PF_PROT) && !(error_code & PF_WRITE))
		return true;
	return (error_code & PF_INSTR) && !(error_code & PF_USER);  /* SMEP */
}

static vm_fault_t do_user_addr_fault(struct mm_struct *mm, u64 addr, u64 error_code)
{
	if (bad_fault(mm, addr, error_code))
		return VM_FAULT_SIGSEGV;
	vm_fault_t ret;
	if (vma_lock_enabled && fault_under_vma_lock(mm, addr, error_code, &ret))
		return ret;
	return fault_under_mmap_lock(mm, addr, error_code);
}

/* Out of memory, with every lock of the fault dropped: before the process
 * is killed, the 2 MiB pages with unmapped pieces give those back
 * (mm/deferred_split.h; only tried: the faulting kernel access may come
 * from a section holding some mmap_lock), and the access is retried. A
 * page table, which the fault allocates under page_table_lock, gets its
 * memory this way too. */
vm_fault_t handle_mm_fault(struct mm_struct *mm, u64 addr, u64 error_code)
{
	trace_event(TR_FAULT, addr, error_code);
	vm_fault_t r = do_user_addr_fault(mm, addr, error_code);
	if (r == VM_FAULT_OOM && deferred_split_queue_len() &&
	    deferred_split_reclaim(deferred_split_queue_len()))
		return VM_FAULT_DONE;
	return r;
}

/* --- faults asked for by the kernel itself --- */

int mm_populate(struct mm_struct *mm, u64 start, u64 end, bool write)
{
	mmap_assert_locked(mm);
	for (u64 a = start & PAGE_MASK; a < end; a += PAGE_SIZE) {
		struct vm_area *vma = vma_find(mm->vma_root, a);
		if (!vma)
			return -EFAULT;
		if (!(vma->flags & (VM_READ | VM_WRITE | VM_EXEC)))
			continue;       /* PROT_NONE: nothing to fault in */
		bool w = write && (vma->flags & VM_WRITE);
		vm_fault_t r = __handle_mm_fault(mm, vma, a, w ? FAULT_WRITE : 0);
		if (r != VM_FAULT_DONE)
			return vm_fault_to_errno(r);    /* a userfault: -EFAULT */
	}
	return 0;
}

int mm_populate_page(struct mm_struct *mm, struct vm_area *vma, u64 addr, bool write)
{
	mmap_assert_locked(mm);
	vm_fault_t r = __handle_mm_fault(mm, vma, addr, write ? FAULT_WRITE : 0);
	if (r == VM_FAULT_DONE)
		return 0;
	if (r != VM_FAULT_USERFAULT && r != VM_FAULT_USERFAULT_MISSING)
		return vm_fault_to_errno(r) ? vm_fault_to_errno(r) : -EFAULT;
	/* A kernel access: a user-mode-only context does not handle it, nor
	 * does one with UFFD_FEATURE_SIGBUS (Linux: VM_FAULT_SIGBUS, -EFAULT). */
	if (uffd_ctx_user_mode_only(vma->uffd_ctx) ||
	    (uffd_ctx_features(vma->uffd_ctx) & UFFD_FEATURE_SIGBUS))
		return -EFAULT;
	handle_userfault(mm, vma, addr, userfault_reason(r, write), false);
	down_read(&mm->mmap_lock);
	return READ_ONCE(current_thread()->killed) ? -EINTR : 1;
}

/* exec: a private page at addr whatever the VMA's rights (the loader
 * writes the file's bytes into it through the direct map). */
struct page *mm_get_private_page(struct mm_struct *mm, u64 addr)
{
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	if (!vma || __handle_mm_fault(mm, vma, addr, FAULT_NEED_PAGE) != VM_FAULT_DONE)
		return NULL;
	u64 *e = pgtable_walk(mm, addr, PT_PTE);
	return e && pte_mapped(*e) && !pte_special(*e) ? pte_page(*e) : NULL;
}

int mm_unshare_page(struct mm_struct *mm, u64 addr)
{
	down_read(&mm->mmap_lock);
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	int err = -EFAULT;
	if (vma && (vma->flags & (VM_READ | VM_WRITE | VM_EXEC)))
		err = vm_fault_to_errno(__handle_mm_fault(mm, vma, addr, FAULT_UNSHARE));
	up_read(&mm->mmap_lock);
	return err;
}
