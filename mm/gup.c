/* mm/gup.c - pinning user pages; see gup.h. */
#include "mm/gup.h"
#include "mm/fault.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "kernel/string.h"

/* Does a read-only pin of the page behind entry e need a private copy? Only
 * a private anonymous page that another address space may share. */
static bool must_unshare(const struct vm_area *vma, u64 e)
{
	if ((vma->flags & VM_SHARED) || pte_special(e))
		return false;
	struct page *p = pte_page(e), *head = compound_head(p);
	return !(head->flags & PG_exclusive) &&
	       !(head == p && page_refcount(p) == 1 && page_mapcount(p) == 1);
}

struct page *pin_user_page(struct mm_struct *mm, u64 addr, bool write)
{
	if (addr >= USER_SPACE_END)
		return NULL;
	struct page *page = NULL;
	down_read(&mm->mmap_lock);
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	if (!vma || !(vma->flags & (write ? VM_WRITE : VM_READ)))
		goto out;
	/* Fault, then look; another CPU may undo our work in between (a
	 * fork write-protecting again), so try a few times. */
	for (int tries = 0; tries < 8 && !page; tries++) {
		spin_lock(&mm->page_table_lock);
		u64 *pe = pgtable_walk(mm, addr, 1);
		u64 e = pe ? pte_read(pe) : 0;
		u32 need = 0;
		u64 *pmd = pe ? NULL : pgtable_walk(mm, addr, 2);
		if (pmd && pmd_huge(pte_read(pmd))) {
			/* A huge PMD: the 4 KiB page inside it, or a fault
			 * (which splits it where a private copy is needed). */
			u64 h = pte_read(pmd);
			struct page *sub = pte_page(h) + ((addr & ~HPAGE_MASK) >> PAGE_SHIFT);
			if (write && !pte_write(h))
				need = FAULT_WRITE;
			else if (!write && must_unshare(vma, h))
				need = FAULT_UNSHARE;
			else {
				page = sub;
				get_page(page);
			}
		} else if (!pte_present(e))
			need = write ? FAULT_WRITE : 0;
		else if (write && !pte_write(e))
			need = FAULT_WRITE;
		else if (!write && must_unshare(vma, e))
			need = FAULT_UNSHARE;
		else {
			page = pte_page(e);
			get_page(page);
		}
		spin_unlock(&mm->page_table_lock);
		if (!page && mm_fault_in(mm, vma, addr, need))
			break;
	}
out:
	up_read(&mm->mmap_lock);
	return page;
}

size_t access_remote_vm_read(struct mm_struct *mm, u64 addr, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		u64 a = addr + done;
		size_t off = a & (PAGE_SIZE - 1);
		size_t n = MIN(len - done, PAGE_SIZE - off);
		struct page *p = pin_user_page(mm, a, false);
		if (!p)
			break;
		memcpy((u8 *)buf + done, (const u8 *)page_address(p) + off, n);
		put_page(p);
		done += n;
	}
	return done;
}
