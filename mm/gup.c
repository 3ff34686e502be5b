/* SPDX-License-Identifier: MIT */
/* mm/gup.c - pinning user pages; see gup.h. */
#include "mm/gup.h"
#include "mm/fault.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "mm/anon_exclusive.h"
#include "kernel/string.h"

/* Does a read-only pin of the page behind entry e need a private copy? Only
 * a private anonymous page that another address space may share. */
static bool must_unshare(const struct vm_area *vma, u64 e)
{
	if ((vma->flags & VM_SHARED) || pte_special(e))
		return false;
	/* A huge PMD's entry gives the head: its bit stands for the whole. */
	return anon_page_maybe_shared(pte_page(e));
}

/* A write pin: the caller writes through the direct map, where no MMU
 * sets D in the user's entry. Mark the entry written now, or soft-dirty
 * tracking would miss it (Linux's touch_pmd with FOLL_WRITE). Under the
 * entry's lock; atomic, as the MMU may set A meanwhile. */
static void mark_written(u64 *entry)
{
	pte_update(entry, 0, PTE_D | PTE_SOFT_DIRTY);
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
		u32 need = 0;
		u32 *ptl;
		u64 *pe = pte_offset_map_lock(mm, addr, &ptl);
		if (pe) {
			/* Under the PTE lock: the page cannot go between our
			 * look and our reference. */
			u64 e = pte_read(pe);
			if (!pte_present(e))
				need = write ? FAULT_WRITE : 0;
			else if (write && !pte_write(e))
				need = FAULT_WRITE;
			else if (!write && must_unshare(vma, e))
				need = FAULT_UNSHARE;
			else {
				page = pte_page(e);
				get_page(page);
				if (write)
					mark_written(pe);
			}
			pte_unmap_unlock(ptl);
		} else {
			/* No PTE table: a huge PMD (under the PMD lock), or
			 * nothing yet. */
			spin_lock(&mm->page_table_lock);
			u64 *pmd = pgtable_walk(mm, addr, PT_PMD);
			u64 h = pmd ? pte_read(pmd) : 0;
			if (!pmd_huge(h))
				need = write ? FAULT_WRITE : 0;
			else if (write && !pte_write(h))
				need = FAULT_WRITE;
			else if (!write && must_unshare(vma, h))
				need = FAULT_UNSHARE;
			else {
				/* The 4 KiB page inside it; a fault splits it
				 * where a private copy is needed. */
				page = pte_page(h) + ((addr & ~HPAGE_MASK) >> PAGE_SHIFT);
				get_page(page);
				if (write)
					mark_written(pmd);
			}
			spin_unlock(&mm->page_table_lock);
		}
		if (!page && __handle_mm_fault(mm, vma, addr, need) != VM_FAULT_DONE)
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
