/* mm/fault.c - resolving page faults on user addresses (docs/cow.md).
 *
 * Path: find the VMA (read-locked on its own under RCU, or with mmap_lock
 * held for read when that cannot be done: mm/vma_lock.h) -> check the
 * access against its rights -> make the PTE satisfy it:
 *   read, nothing mapped, private  -> the shared zero page, read-only, with
 *                                     PTE_SPECIAL (it holds no reference and
 *                                     is not counted in rss);
 *   write, nothing mapped, private -> a fresh zeroed page, writable, marked
 *                                     PG_exclusive (only this mm maps it);
 *   write to a zero-page mapping   -> a fresh zeroed page: clear the PTE,
 *                                     flush the TLBs, then map it (no CPU may
 *                                     keep reading zeros through a stale
 *                                     entry once the new page is written);
 *   write to a read-only private   -> copy-on-write: reuse the page in place
 *     page (after fork)               when this mm is known to be its only
 *                                     user (PG_exclusive, or no reference
 *                                     but this mm's entries: mm/
 *                                     anon_exclusive.h), else copy it: clear
 *                                     the old entry and flush, install the
 *                                     copy, and only then drop the old page's
 *                                     map count and reference;
 *   unshare (FAULT_UNSHARE)        -> the same copy, but mapped read-only: a
 *                                     private copy for a read-only pin;
 *   shared VMA                     -> the shared object's page, read or write
 *                                     (mapped only if the object still holds
 *                                     it under our PTE lock: MADV_REMOVE).
 * Pages are allocated (and filled) before the PTE lock is taken (the lock of
 * this one PTE table: mm/pgtable.h); under it the PTE is read again, and if another CPU resolved the same fault
 * meanwhile our page is dropped and the instruction simply retries. The
 * filling stores come before the PTE store that publishes the page (a
 * release store: on x86 stores are not reordered with stores anyway).
 */
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/shared_anon.h"
#include "mm/buddy.h"
#include "mm/fault.h"
#include "mm/vma_lock.h"
#include "mm/thp.h"
#include "mm/anon_exclusive.h"
#include "mm/deferred_split.h"
#include "mm/userfaultfd.h"
#include "kernel/userfaultfd.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/string.h"

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_PROT  (1UL << 0)     /* the page was present */
#define PF_WRITE (1UL << 1)
#define PF_USER  (1UL << 2)
#define PF_RSVD  (1UL << 3)
#define PF_INSTR (1UL << 4)

#define PTE_AD (PTE_A | PTE_D)

struct cow_stats cow_stats;

static void cow_count(u64 *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

void (*fault_debug_shared_hook)(struct mm_struct *mm, u64 addr);

/* Make addr's PTE allow the access `flags` asks for (FAULT_* in fault.h). */
int mm_fault_in(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 flags)
{
	bool write = flags & FAULT_WRITE;
	bool need_page = flags & FAULT_NEED_PAGE;
	bool shared = (vma->flags & VM_SHARED) != 0;
	struct page *old_page = NULL;   /* the page a COW copies (referenced) */
	if (!shared) {
		/* A huge PMD, or room for one (mm/thp.h); 1: go on here. */
		int r = thp_handle_fault(mm, vma, addr, flags);
		if (r != 1)
			return r;       /* done, an error, or FAULT_USERFAULT */
	}
	addr &= PAGE_MASK;
	u32 *ptl;
	int err;
	u64 *e = pte_alloc_map_lock(mm, addr, &ptl, &err);
	if (!e)
		return err;     /* -ENOMEM, or 0: a huge PMD appeared, retry */
	u64 old = pte_read(e);
	if (write && (old & PTE_UFFD_WP)) {
		/* A userfaultfd-protected entry (or marker): the handler
		 * decides (sync), or the write itself clears the protection
		 * - the page reads as "written" from now on (async). */
		if (uffd_vma_wp_sync(vma)) {
			pte_unmap_unlock(ptl);
			return FAULT_USERFAULT;
		}
		/* A marker becomes an empty entry; a present entry keeps
		 * the D bit a CPU may be setting right now (pgtable.h). */
		old = pte_update(e, PTE_UFFD_WP, 0) & ~PTE_UFFD_WP;
	}
	if (pte_mapped(old)) {
		bool real = !pte_special(old);
		/* May this mm take the page as its own (mm/anon_exclusive.h)?
		 * An mmu_gather that still holds the page of another mm's
		 * unmap keeps its count up, so a page is never reused while a
		 * stale TLB entry elsewhere may still reach it. */
		bool exclusive = real && (shared ||
			can_reuse_anon_page(pte_page(old), e));
		if (flags & FAULT_UNSHARE) {
			if (exclusive || !real) {
				/* Already ours (or the zero page, which a read-only
				 * pin may share: it never changes). */
				pte_unmap_unlock(ptl);
				return 0;
			}
		} else if ((!write || pte_write(old)) && (real || !need_page)) {
			pte_unmap_unlock(ptl);
			return 0;       /* already done (another CPU, or spurious) */
		} else if (exclusive) {
			/* Our own page mapped read-only in a writable VMA (after
			 * a fork whose child has gone, or a shared page):
			 * adding a right needs no flush. */
			if (!shared)
				cow_count(&cow_stats.reuse);
			pte_modify(e, old, pte_mkdirty(old | PTE_W));
			pte_unmap_unlock(ptl);
			return 0;
		}
		if (real) {
			/* Copy-on-write: keep the old page alive while we copy
			 * it without the lock. */
			old_page = pte_page(old);
			get_page(old_page);
		}
		/* The zero page, or a page shared with another mm: below. */
	}
	pte_unmap_unlock(ptl);

	struct page *page = NULL;
	u64 idx = vma->pgoff + (addr - vma->start) / PAGE_SIZE;  /* shared: object page */
	if (shared) {
		page = shared_anon_page(vma->shared, idx);
		if (!page)
			return -ENOMEM;
		if (fault_debug_shared_hook)
			fault_debug_shared_hook(mm, addr);
	} else if (old_page) {
		vma_anon_prepare(vma);
		page = alloc_page(__GFP_DIRECT_RECLAIM);     /* no spinlock held */
		if (!page) {
			put_page(old_page);
			return -ENOMEM;
		}
		memcpy(page_address(page), page_address(old_page), PAGE_SIZE);
		page->flags |= PG_anon | PG_exclusive;
	} else if (write || need_page) {
		vma_anon_prepare(vma);
		page = alloc_page(__GFP_ZERO | __GFP_DIRECT_RECLAIM);
		if (!page)
			return -ENOMEM;
		page->flags |= PG_anon | PG_exclusive;
	}

	/* Look again, locked. MADV_DONTNEED runs under mmap_lock for read,
	 * like this fault, and may have freed our page table meanwhile (empty
	 * tables are reclaimed: pgtable.c); then e points into a freed table
	 * and must not be touched. Whatever table maps addr now, we go on only
	 * if its entry still says what we saw. */
	e = pte_alloc_map_lock(mm, addr, &ptl, &err);
	u64 now = e ? pte_read(e) : ~old;
	/* A shared page is mapped only if the object still holds it: a
	 * MADV_REMOVE that took it out meanwhile unmaps this entry after us
	 * (its zap waits for this lock) or has already: then fault again for
	 * the object's fresh page (mm/shared_anon.h). */
	if (e && shared && page && !shared_anon_page_current(vma->shared, idx, page))
		now = ~old;
	if ((now & ~PTE_AD) != (old & ~PTE_AD)) {
		if (e)
			pte_unmap_unlock(ptl);
		if (page)
			put_page(page);
		if (old_page)
			put_page(old_page);
		return e || !err ? 0 : err;     /* changed under us: retry the access */
	}
	if (pte_mapped(now)) {
		/* Replacing a mapping: unhook, flush, then map the new page. */
		pte_clear(e);
		flush_tlb_page(mm, addr);
	}
	u64 pte;
	if (page) {
		__atomic_add_fetch(&page->mapcount, 1, __ATOMIC_RELAXED);
		/* An unshare gives a private copy without the right to write. */
		bool w = !(flags & FAULT_UNSHARE) || pte_write(now);
		pte = mk_pte(page_to_phys(page), vma->flags, w);
		if (!old_page)
			mm_add_rss(mm, 1);        /* a COW copy replaces a counted page */
	} else {
		pte = mk_pte(page_to_phys(zero_page), vma->flags, false) | PTE_SPECIAL;
	}
	/* A read of a marker, or an unshare of a protected page: still
	 * protected (a write was handled above: sync never gets here). */
	if (!write)
		pte |= now & PTE_UFFD_WP;
	/* Soft-dirty (docs/soft-dirty.md): a write, or the loader's filling,
	 * dirties the new page; an unshare's copy is as dirty as the entry
	 * it replaces, and a read of nothing is clean. */
	if (write || need_page)
		pte = pte_mkdirty(pte);
	else if (pte_soft_dirty(now))
		pte |= PTE_SOFT_DIRTY;
	pte_set(e, pte);
	if (old_page) {
		/* The new entry is in place and no TLB holds the old one: now
		 * the old page may lose this mapping and its reference. */
		__atomic_sub_fetch(&old_page->mapcount, 1, __ATOMIC_RELAXED);
		page_remove_pte_map(old_page, mm);      /* a piece of a 2 MiB page? */
		put_page(old_page);     /* the old PTE's reference */
		cow_count(flags & FAULT_UNSHARE ? &cow_stats.unshare : &cow_stats.copy);
	}
	pte_unmap_unlock(ptl);
	if (old_page)
		put_page(old_page);     /* ours, taken for the copy */
	return 0;
}

/* Does vma refuse this access? (Then the fault is the process's error.) */
static bool access_error(const struct vm_area *vma, u64 error_code)
{
	if ((error_code & PF_WRITE) && !(vma->flags & VM_WRITE))
		return true;
	if ((error_code & PF_INSTR) && !(vma->flags & VM_EXEC))
		return true;
	return !(vma->flags & (VM_READ | VM_WRITE | VM_EXEC));     /* PROT_NONE */
}

/* The fast path (mm/vma_lock.h): the fault under its VMA's lock alone.
 * true when it was handled (result in *ret); false to fault under
 * mmap_lock instead. */
static bool fault_under_vma_lock(struct mm_struct *mm, u64 addr, u64 error_code, int *ret)
{
	struct vm_area *vma = lock_vma_under_rcu(mm, addr);
	if (!vma)
		return false;
	if (access_error(vma, error_code)) {
		vma_end_read(vma);
		count_vma_lock_event(VMA_LOCK_SUCCESS);
		*ret = -EFAULT;
		return true;
	}
	int r = mm_fault_in(mm, vma, addr, (error_code & PF_WRITE) ? FAULT_WRITE : 0);
	vma_end_read(vma);
	if (r == FAULT_USERFAULT) {
		/* The handler's wait sleeps and drops mmap_lock: that path. */
		count_vma_lock_event(VMA_LOCK_RETRY);
		return false;
	}
	count_vma_lock_event(VMA_LOCK_SUCCESS);
	*ret = r;
	return true;
}

static int do_handle_mm_fault(struct mm_struct *mm, u64 addr, u64 error_code);

/* Out of memory, with every lock of the fault dropped: before the process
 * is killed, the 2 MiB pages with unmapped pieces give those back
 * (mm/deferred_split.h; only tried: the faulting kernel access may come
 * from a section holding some mmap_lock), and the access is retried. A
 * page table, which the fault allocates under page_table_lock, gets its
 * memory this way too. */
int handle_mm_fault(struct mm_struct *mm, u64 addr, u64 error_code)
{
	int r = do_handle_mm_fault(mm, addr, error_code);
	if (r == -ENOMEM && deferred_split_queue_len() &&
	    deferred_split_reclaim(deferred_split_queue_len()))
		return 0;
	return r;
}

static int do_handle_mm_fault(struct mm_struct *mm, u64 addr, u64 error_code)
{
	if (!mm || addr >= USER_SPACE_END)
		return -EFAULT;
	if (error_code & PF_RSVD)
		return -EFAULT;         /* a corrupt entry: never "resolved" */
	/* A read or fetch that hit a present page was refused by the entry
	 * itself (NX, or SMAP/SMEP for a kernel access): mapping cannot help,
	 * and returning 0 would retry the access forever. Only writes to a
	 * present page are ours to fix (the zero page). */
	if ((error_code & PF_PROT) && !(error_code & PF_WRITE))
		return -EFAULT;
	if ((error_code & PF_INSTR) && !(error_code & PF_USER))
		return -EFAULT;         /* the kernel never runs user code (SMEP) */
	int ret;
	if (vma_lock_enabled && fault_under_vma_lock(mm, addr, error_code, &ret))
		return ret;
	down_read(&mm->mmap_lock);
	ret = -EFAULT;
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	if (!vma) {
		/* Below a MAP_GROWSDOWN VMA: grow it (under the write lock),
		 * then retry the access. */
		struct vm_area *next = vma_find_intersection(mm->vma_root, addr, USER_SPACE_END);
		if (!next || !(next->flags & VM_GROWSDOWN))
			goto out;
		up_read(&mm->mmap_lock);
		return mm_expand_stack(mm, addr);
	}
	if (access_error(vma, error_code))
		goto out;
	ret = mm_fault_in(mm, vma, addr, (error_code & PF_WRITE) ? FAULT_WRITE : 0);
	if (ret == FAULT_USERFAULT) {
		/* A context made with UFFD_USER_MODE_ONLY does not handle
		 * faults of the kernel's own accesses (a read(2) into a
		 * protected buffer): those fail, as on Linux. */
		if (!(error_code & PF_USER) && uffd_ctx_user_mode_only(vma->uffd_ctx)) {
			ret = -EFAULT;
			goto out;
		}
		/* Queue a message for the handler and sleep until it resolves
		 * the fault; mmap_lock is released there. Then retry. */
		handle_userfault(mm, vma, addr, UFFD_REASON_WRITE | UFFD_REASON_WP);
		/* Killed while it waited: do not retry. A kernel-mode fault
		 * (a copy in a system call) would otherwise fault again and
		 * again and never reach the way out to user mode. */
		if (READ_ONCE(current_thread()->killed))
			return -EFAULT;
		return 0;
	}
out:
	up_read(&mm->mmap_lock);
	return ret;
}

int mm_populate(struct mm_struct *mm, u64 start, u64 end, bool write)
{
	for (u64 a = start & PAGE_MASK; a < end; a += PAGE_SIZE) {
		struct vm_area *vma = vma_find(mm->vma_root, a);
		if (!vma)
			return -EFAULT;
		if (!(vma->flags & (VM_READ | VM_WRITE | VM_EXEC)))
			continue;       /* PROT_NONE: nothing to fault in */
		bool w = write && (vma->flags & VM_WRITE);
		int err = mm_fault_in(mm, vma, a, w ? FAULT_WRITE : 0);
		if (err)
			return err == FAULT_USERFAULT ? -EFAULT : err;
	}
	return 0;
}

/* exec: a private page at addr whatever the VMA's rights (the loader
 * writes the file's bytes into it through the direct map). */
struct page *mm_get_private_page(struct mm_struct *mm, u64 addr)
{
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	if (!vma || mm_fault_in(mm, vma, addr, FAULT_NEED_PAGE))
		return NULL;
	u64 *e = pgtable_walk(mm, addr, 1);
	return e && pte_mapped(*e) && !pte_special(*e) ? pte_page(*e) : NULL;
}

int mm_unshare_page(struct mm_struct *mm, u64 addr)
{
	down_read(&mm->mmap_lock);
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	int err = -EFAULT;
	if (vma && (vma->flags & (VM_READ | VM_WRITE | VM_EXEC)))
		err = mm_fault_in(mm, vma, addr, FAULT_UNSHARE);
	up_read(&mm->mmap_lock);
	return err;
}
