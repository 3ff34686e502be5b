/* mm/fault.c - resolving page faults on user addresses.
 *
 * Path: find the VMA (mmap_lock held for read) -> check the access against
 * its rights -> make the PTE satisfy it:
 *   read, nothing mapped, private  -> the shared zero page, read-only, with
 *                                     PTE_SPECIAL (it holds no reference and
 *                                     is not counted in rss);
 *   write, nothing mapped, private -> a fresh zeroed page, writable;
 *   write to a zero-page mapping   -> clear the PTE, flush the TLBs, then map
 *                                     a fresh page (no CPU may keep reading
 *                                     zeros through a stale entry once the
 *                                     new page is written);
 *   shared VMA                     -> the shared object's page, read or write.
 * Pages are allocated (and zeroed) before page_table_lock is taken; under it
 * the PTE is read again, and if another CPU resolved the same fault
 * meanwhile our page is dropped and the instruction simply retries. The
 * zeroing stores come before the PTE store that publishes the page (a
 * release store: on x86 stores are not reordered with stores anyway).
 */
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/shared_anon.h"
#include "mm/buddy.h"
#include "kernel/errno.h"

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_PROT  (1UL << 0)     /* the page was present */
#define PF_WRITE (1UL << 1)
#define PF_USER  (1UL << 2)
#define PF_RSVD  (1UL << 3)
#define PF_INSTR (1UL << 4)

#define PTE_AD (PTE_A | PTE_D)

/* Make addr's PTE allow a read (or a write). need_page: map a real private
 * page even for a read (exec copies file data into it). */
static int fault_in(struct mm_struct *mm, struct vm_area *vma, u64 addr, bool write,
		    bool need_page)
{
	addr &= PAGE_MASK;
	spin_lock(&mm->page_table_lock);
	u64 *e = pgtable_walk_alloc(mm, addr, 1);
	if (!e) {
		spin_unlock(&mm->page_table_lock);
		return -ENOMEM;
	}
	u64 old = pte_read(e);
	if (pte_mapped(old)) {
		bool real = !pte_special(old);
		if ((!write || pte_write(old)) && (real || !need_page)) {
			spin_unlock(&mm->page_table_lock);
			return 0;       /* already done (another CPU, or spurious) */
		}
		if (real) {
			/* Our own page mapped read-only in a writable VMA:
			 * adding a right needs no flush. */
			pte_set(e, old | PTE_W);
			spin_unlock(&mm->page_table_lock);
			return 0;
		}
		/* The zero page, and a real page is wanted: below. */
	}
	spin_unlock(&mm->page_table_lock);

	struct page *page = NULL;
	if (vma->shared) {
		page = shared_anon_page(vma->shared, vma->pgoff + (addr - vma->start) / PAGE_SIZE);
		if (!page)
			return -ENOMEM;
	} else if (write || need_page) {
		page = alloc_page(__GFP_ZERO);
		if (!page)
			return -ENOMEM;
		page->flags |= PG_anon | PG_exclusive;
	}

	spin_lock(&mm->page_table_lock);
	/* The tables cannot have gone: freeing them needs mmap_lock for write. */
	u64 now = pte_read(e);
	if ((now & ~PTE_AD) != (old & ~PTE_AD)) {
		spin_unlock(&mm->page_table_lock);
		if (page)
			put_page(page);
		return 0;               /* changed under us: retry the access */
	}
	if (pte_mapped(now)) {
		/* Replacing the zero page: unhook, flush, then map the new page. */
		pte_clear(e);
		flush_tlb_page(mm, addr);
	}
	u64 pte;
	if (page) {
		__atomic_add_fetch(&page->mapcount, 1, __ATOMIC_RELAXED);
		mm->rss_pages++;
		pte = mk_pte(page_to_phys(page), vma->flags, true);
	} else {
		pte = mk_pte(page_to_phys(zero_page), vma->flags, false) | PTE_SPECIAL;
	}
	pte_set(e, pte);
	spin_unlock(&mm->page_table_lock);
	return 0;
}

int handle_mm_fault(struct mm_struct *mm, u64 addr, u64 error_code)
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
	down_read(&mm->mmap_lock);
	int ret = -EFAULT;
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	if (!vma)
		goto out;
	if ((error_code & PF_WRITE) && !(vma->flags & VM_WRITE))
		goto out;
	if ((error_code & PF_INSTR) && !(vma->flags & VM_EXEC))
		goto out;
	if (!(vma->flags & (VM_READ | VM_WRITE | VM_EXEC)))
		goto out;               /* PROT_NONE */
	ret = fault_in(mm, vma, addr, (error_code & PF_WRITE) != 0, false);
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
		int err = fault_in(mm, vma, a, w, false);
		if (err)
			return err;
	}
	return 0;
}

/* exec: a private page at addr whatever the VMA's rights (the loader
 * writes the file's bytes into it through the direct map). */
struct page *mm_get_private_page(struct mm_struct *mm, u64 addr)
{
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	if (!vma || fault_in(mm, vma, addr, false, true))
		return NULL;
	u64 *e = pgtable_walk(mm, addr, 1);
	return e && pte_mapped(*e) && !pte_special(*e) ? pte_page(*e) : NULL;
}
