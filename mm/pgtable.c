/* mm/pgtable.c - walking, filling and emptying user page tables; see pgtable.h. */
#include "mm/pgtable.h"
#include "mm/vma.h"
#include "mm/buddy.h"
#include "mm/mmu_gather.h"
#include "mm/thp.h"
#include "kernel/printk.h"

/* Upper-level entries: the leaf decides the rights (see pgtable.h). */
#define TABLE_ENTRY_FLAGS (PTE_P | PTE_W | PTE_U)

u64 mk_pte(u64 phys, u32 vm_flags, bool writable)
{
	u64 e = phys | PTE_U;
	if (vm_flags & (VM_READ | VM_WRITE | VM_EXEC))
		e |= PTE_P;
	else
		e |= PTE_PROTNONE;
	if (writable && (vm_flags & VM_WRITE))
		e |= PTE_W;
	if (!(vm_flags & VM_EXEC) && paging_features.nx)
		e |= PTE_NX;
	return e;
}

static u64 *walk(struct mm_struct *mm, u64 addr, int level, bool alloc)
{
	u64 *table = pgtable_root(mm);
	for (int l = PT_LEVELS; l > level; l--) {
		u64 *e = &table[pgtable_index(addr, l)];
		u64 v = pte_read(e);
		if (v & PTE_PS)
			return NULL;    /* a huge page, not a table: see thp.h */
		if (!(v & PTE_P)) {
			if (!alloc)
				return NULL;
			struct page *p = pagetable_alloc();
			if (!p)
				return NULL;
			mm->pgtable_pages++;
			/* The zeroed table is visible before the entry that
			 * publishes it (release store). */
			v = page_to_phys(p) | TABLE_ENTRY_FLAGS;
			pte_set(e, v);
		}
		table = entry_table(v);
	}
	return &table[pgtable_index(addr, level)];
}

u64 *pgtable_walk(struct mm_struct *mm, u64 addr, int level)
{
	return walk(mm, addr, level, false);
}

u64 *pgtable_walk_alloc(struct mm_struct *mm, u64 addr, int level)
{
	return walk(mm, addr, level, true);
}

u64 pgtable_leaf(struct mm_struct *mm, u64 addr)
{
	u64 *e = walk(mm, addr, 1, false);
	if (e)
		return pte_read(e);
	u64 *pmd = walk(mm, addr, 2, false);
	u64 v = pmd ? pte_read(pmd) : 0;
	if ((v & (PTE_P | PTE_PS)) != (PTE_P | PTE_PS))
		return 0;
	u64 sub = (addr >> PAGE_SHIFT) & (PT_ENTRIES - 1);
	return ((v & PTE_ADDR_MASK & ~(pgtable_span(2) - 1)) + sub * PAGE_SIZE) |
	       (v & ~(PTE_ADDR_MASK | PTE_PS));
}

static u64 align_up(u64 a, u64 size) { return (a + size) & ~(size - 1); }

u64 *pte_next_mapped(struct mm_struct *mm, u64 *addr, u64 end)
{
	u64 a = *addr;
	while (a < end) {
		u64 *table = pgtable_root(mm);
		int l;
		for (l = PT_LEVELS; l > 1; l--) {
			u64 v = pte_read(&table[pgtable_index(a, l)]);
			if (!(v & PTE_P) || (v & PTE_PS))
				break;  /* nothing, or a huge PMD (callers: thp.h) */
			table = entry_table(v);
		}
		if (l > 1) {
			/* No table below this entry: skip all it covers. */
			u64 next = align_up(a, pgtable_span(l));
			if (next <= a)          /* wrapped past the top */
				break;
			a = next;
			continue;
		}
		/* Scan this PT from a to its end (or to end). */
		u64 pt_end = align_up(a, pgtable_span(2));
		for (; a < end && a < pt_end; a += PAGE_SIZE) {
			u64 *e = &table[pgtable_index(a, 1)];
			if (pte_mapped(pte_read(e))) {
				*addr = a;
				return e;
			}
		}
	}
	*addr = end;
	return NULL;
}

/* --- unmapping --- */

bool pt_reclaim = true;
u64 pt_reclaimed;

/* After a zap: free the page tables wholly inside [start, end) - now with
 * no entry at all. A table with anything in it - a page, the zero page, later a
 * userfaultfd marker - stays. The PMD entry is cleared first, then the table
 * goes to the gather, which frees it after the TLB flush (with freed_tables:
 * lazy CPUs too) and a grace period (lockless walkers). A fault that held a
 * pointer into it re-walks after retaking page_table_lock (fault.c). */
static void reclaim_empty_tables(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb)
{
	const u64 span = pgtable_span(2);
	/* Only tables the zap covered whole (as Linux's reclaim): a zap of
	 * part of a table leaves it alone, so zapping a table piece by piece
	 * does not rescan it every time. */
	for (u64 a = (start + span - 1) & ~(span - 1); a + span <= end && a + span > a;) {
		u64 next = a + span;
		u64 *table = pgtable_root(mm);
		u64 *pmd = NULL;
		for (int l = PT_LEVELS; l > 2; l--) {
			u64 v = pte_read(&table[pgtable_index(a, l)]);
			if (!(v & PTE_P)) {
				u64 up = pgtable_span(l);
				next = (a & ~(up - 1)) + up;    /* nothing below: skip it all */
				break;
			}
			table = entry_table(v);
			if (l == 3)
				pmd = &table[pgtable_index(a, 2)];
		}
		u64 v = pmd ? pte_read(pmd) : 0;
		if ((v & PTE_P) && !(v & PTE_PS)) {
			const u64 *pt = entry_table(v);
			unsigned i = 0;
			while (i < PT_ENTRIES && pte_read(&pt[i]) == 0)
				i++;
			if (i == PT_ENTRIES) {
				pte_clear(pmd);
				tlb_track_range(tlb, a, span, 2);
				mm->pgtable_pages--;
				__atomic_add_fetch(&pt_reclaimed, 1, __ATOMIC_RELAXED);
				tlb_remove_table(tlb, virt_to_page(pt));
			}
		}
		if (next <= a)
			break;
		a = next;
	}
}

void zap_range(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb)
{
	u64 a = start;
	u64 *e;
	zap_huge_pmds(mm, start, end, tlb);     /* whole ones go, partial ones split */
	while ((e = pte_next_mapped(mm, &a, end)) != NULL) {
		u64 old = pte_clear(e);
		tlb_track_range(tlb, a, PAGE_SIZE, 1);
		if (!pte_special(old)) {
			mm->rss_pages--;
			/* The page keeps the PTE's reference and map count
			 * until the gather has flushed (mmu_gather.h rule 3). */
			if (tlb_remove_page(tlb, pte_page(old)))
				tlb_flush_mmu(tlb);     /* full: flush, free, go on */
		}
		a += PAGE_SIZE;
	}
	if (pt_reclaim)
		reclaim_empty_tables(mm, start, end, tlb);
}

/* Queue a whole subtree (a table at `level` and every table below it) in
 * tlb. Its leaves must already be clear. */
static void free_table_tree(struct mm_struct *mm, u64 *table, int level, struct mmu_gather *tlb)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		u64 v = pte_read(&table[i]);
		if (level > 1 && (v & PTE_PS))
			panic("mm: freeing a page table that still maps a huge page %lx", v);
		if (level == 1) {
			if (pte_mapped(v))
				panic("mm: freeing a page table that still maps %lx", v);
			continue;
		}
		if (v & PTE_P)
			free_table_tree(mm, entry_table(v), level - 1, tlb);
	}
	mm->pgtable_pages--;
	tlb_remove_table(tlb, virt_to_page(table));
}

/* Entries of `table` (level `level`, covering from base) that [start, end)
 * touches: a child whose span has no VMA goes whole; others are visited. */
static void free_range(struct mm_struct *mm, u64 *table, int level, u64 start, u64 end,
		       struct mmu_gather *tlb)
{
	const struct vma_set *s = mm->vma_root;
	u64 span = pgtable_span(level);
	u64 a = start & ~(span - 1);
	for (; a < end; a += span) {
		u64 *e = &table[pgtable_index(a, level)];
		u64 v = pte_read(e);
		if (!(v & PTE_P))
			continue;
		if (!vma_find_intersection(s, a, a + span)) {
			/* Unhook first: from here no new walk can enter it. */
			pte_clear(e);
			tlb_track_range(tlb, a, span, level);
			free_table_tree(mm, entry_table(v), level - 1, tlb);
		} else if (level > 2) {
			free_range(mm, entry_table(v), level - 1, MAX(start, a), MIN(end, a + span), tlb);
		}
		if (a + span < a)
			break;
	}
}

void free_pgtables(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb)
{
	free_range(mm, pgtable_root(mm), PT_LEVELS, start, end, tlb);
}
