/* SPDX-License-Identifier: MIT */
/* mm/softdirty.c - /proc/PID/clear_refs: clearing soft-dirty and accessed
 * bits (mm/softdirty.h has the rules, docs/soft-dirty.md the story). */
#include "mm/softdirty.h"
#include "mm/vma_lock.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/mmu_gather.h"
#include "mm/thp.h"
#include "kernel/cmdline.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/sched.h"

bool clear_refs_debug_skip_flush;

void softdirty_init(void)
{
	clear_refs_debug_skip_flush = cmdline_has("clear_refs_debug_skip_flush");
	if (clear_refs_debug_skip_flush)
		printk(KERN_WARNING "softdirty: clear_refs_debug_skip_flush: clearing soft-dirty does "
		       "NOT flush the TLBs (negative control)\n");
	pte_debug_racy_modify = cmdline_has("pte_debug_racy_modify");
	if (pte_debug_racy_modify)
		printk(KERN_WARNING "pgtable: pte_debug_racy_modify: live entries are rewritten by a "
		       "read then a store, losing the D bit set in between (negative control)\n");
}

#define SOFT_DIRTY_BITS (PTE_SOFT_DIRTY | PTE_D | PTE_W)

/* One PTE: clear soft-dirty, D and the write right in one atomic step; an
 * entry that was writable must leave every TLB (tlb NULL: the control). */
static void clear_soft_dirty_pte(u64 *e, u64 addr, void *arg)
{
	struct mmu_gather *tlb = arg;
	u64 old = pte_update(e, SOFT_DIRTY_BITS, 0);
	if (tlb && pte_write(old))
		tlb_track_range(tlb, addr, PAGE_SIZE, PT_PTE);
}

/* One PTE: clear the accessed bit. No flush, as Linux: a TLB entry that
 * keeps the page "young" a little longer only delays the next A. */
static void clear_young_pte(u64 *e, u64 addr, void *arg)
{
	(void)addr;
	(void)arg;
	pte_update(e, PTE_A, 0);
}

static void clear_refs_vma(struct mm_struct *mm, struct vm_area *v, long type,
			   struct mmu_gather *tlb)
{
	if (type == CLEAR_REFS_SOFT_DIRTY) {
		struct mmu_gather *track = clear_refs_debug_skip_flush ? NULL : tlb;
		vma_start_write(v);
		v->flags &= ~VM_SOFTDIRTY;
		clear_refs_huge_pmds(mm, v->start, v->end, SOFT_DIRTY_BITS, track);
		pte_range_apply(mm, v->start, v->end, clear_soft_dirty_pte, track);
		return;
	}
	/* Linux: "anonymous" are the VMAs without a file, "mapped" those with
	 * one; a shared anonymous VMA is shmem there, a file, and so is a
	 * private mapping of a memfd or tmpfs file (v->shared set). */
	bool shared = (v->flags & VM_SHARED) || v->shared;
	if ((type == CLEAR_REFS_ANON && shared) || (type == CLEAR_REFS_MAPPED && !shared))
		return;
	clear_refs_huge_pmds(mm, v->start, v->end, PTE_A, NULL);
	pte_range_apply(mm, v->start, v->end, clear_young_pte, NULL);
}

int mm_clear_refs(struct mm_struct *mm, long type)
{
	if (type < CLEAR_REFS_ALL || type >= CLEAR_REFS_LAST)
		return -EINVAL;
	mmap_write_lock(mm);
	if (type == CLEAR_REFS_MM_HIWATER_RSS) {
		/* The peak starts again from what is resident now. */
		__atomic_store_n(&mm->hiwater_rss, __atomic_load_n(&mm->rss_pages, __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
		mmap_write_unlock(mm);
		return 0;
	}
	/* No fault may set a bit behind the walk before the flush: fast-path
	 * faults too are kept out of every VMA (vma_lock.h). */
	vma_start_write_all(mm);
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	const struct vma_set *s = mm->vma_root;
	for (u32 i = 0; i < s->nr; i++) {
		clear_refs_vma(mm, s->v[i], type, &tlb);
		cond_resched();
	}
	/* One flush for every entry that lost its write right, before the
	 * call returns: a write after it must fault (or set D). */
	tlb_finish_mmu(&tlb);
	mmap_write_unlock(mm);
	return 0;
}
