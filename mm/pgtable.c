/* SPDX-License-Identifier: MIT */
/* mm/pgtable.c - walking, filling and emptying user page tables; see pgtable.h. */
#include "mm/pgtable.h"
#include "mm/vma.h"
#include "mm/buddy.h"
#include "mm/mmu_gather.h"
#include "mm/thp.h"
#include "mm/vma_lock.h"
#include "kernel/printk.h"
#include "kernel/errno.h"
#include "kernel/rcu.h"

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

/* --- rewriting a live entry (the rule: pgtable.h) --- */

bool pte_debug_racy_modify;
void (*pte_debug_modify_hook)(u64 *p, u64 old);

u64 pte_modify(u64 *p, u64 old, u64 new)
{
	if (pte_debug_modify_hook)
		pte_debug_modify_hook(p, old);
	if (pte_debug_racy_modify) {
		pte_set(p, new);        /* the negative control: read, then store */
		return old;
	}
	/* On failure old becomes the current value: beside our lock only the
	 * MMU (A, D) and gup_fast's lockless write pin (D and soft-dirty)
	 * write the entry, and only by setting those bits, which new takes. */
	while (!__atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		new |= old & (PTE_A | PTE_D | PTE_SOFT_DIRTY);
	return old;
}

u64 pte_update(u64 *p, u64 clear, u64 set)
{
	u64 old = pte_read(p);
	while (!__atomic_compare_exchange_n(p, &old, (old & ~clear) | set, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED))
		;
	return old;
}

u64 pte_get_and_clear(u64 *p, u64 old)
{
	if (pte_debug_modify_hook)
		pte_debug_modify_hook(p, old);
	if (pte_debug_racy_modify) {
		pte_set(p, 0);
		return old;
	}
	return pte_clear(p);
}

static u64 *walk(struct mm_struct *mm, u64 addr, enum pt_level level, bool alloc)
{
	u64 *table = pgtable_root(mm);
	for (enum pt_level l = PT_PML4; l > level; l--) {
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

u64 *pgtable_walk(struct mm_struct *mm, u64 addr, enum pt_level level)
{
	return walk(mm, addr, level, false);
}

u64 *pgtable_walk_alloc(struct mm_struct *mm, u64 addr, enum pt_level level)
{
	return walk(mm, addr, level, true);
}

/* The next multiple of size above a (not a itself). */
static u64 align_up(u64 a, u64 size) { return (a + size) & ~(size - 1); }

u64 pgtable_leaf(struct mm_struct *mm, u64 addr)
{
	/* A reclaim beside us may unhook our PTE table: rcu_read_lock keeps
	 * it readable (it is freed after a grace period). */
	rcu_read_lock();
	u64 *pmd = walk(mm, addr, PT_PMD, false);
	u64 v = pmd ? pte_read(pmd) : 0;
	u64 leaf = 0;
	if ((v & (PTE_P | PTE_PS)) == PTE_P) {
		leaf = pte_read(&entry_table(v)[pgtable_index(addr, PT_PTE)]);
	} else if (v & PTE_P) {
		u64 sub = (addr >> PAGE_SHIFT) & (PT_ENTRIES - 1);
		leaf = ((v & PTE_ADDR_MASK & ~(pgtable_span(PT_PMD) - 1)) + sub * PAGE_SIZE) |
		       (v & ~(PTE_ADDR_MASK | PTE_PS));
	}
	rcu_read_unlock();
	return leaf;
}

/* --- PTE locks (the rules: pgtable.h) --- */

u64 *pte_offset_map_lock(struct mm_struct *mm, u64 addr, u32 **ptl)
{
	for (;;) {
		rcu_read_lock();
		u64 *pmd = walk(mm, addr, PT_PMD, false);
		u64 v = pmd ? pte_read(pmd) : 0;
		if ((v & (PTE_P | PTE_PS)) != PTE_P) {
			rcu_read_unlock();
			return NULL;    /* no PTE table: nothing, or huge */
		}
		u32 *lock = pmd_ptl(v);
		word_lock(lock);
		/* Still hooked in? Then nobody can unhook it while we hold its
		 * lock. If not, the table may be on its way to being freed
		 * (after our RCU section): let go and look again. */
		if (pte_read(pmd) == v) {
			rcu_read_unlock();
			*ptl = lock;
			return &entry_table(v)[pgtable_index(addr, PT_PTE)];
		}
		word_unlock(lock);
		rcu_read_unlock();
	}
}

u64 *pte_alloc_map_lock(struct mm_struct *mm, u64 addr, u32 **ptl, int *err)
{
	for (;;) {
		u64 *e = pte_offset_map_lock(mm, addr, ptl);
		if (e)
			return e;
		spin_lock(&mm->page_table_lock);
		e = walk(mm, addr, PT_PTE, true);
		u64 *pmd = e ? NULL : walk(mm, addr, PT_PMD, false);
		bool huge = pmd && (pte_read(pmd) & PTE_PS);
		spin_unlock(&mm->page_table_lock);
		if (!e) {
			*err = huge ? 0 : -ENOMEM;
			return NULL;
		}
		/* The table exists now; lock it (a reclaim may even have taken
		 * it again meanwhile: then round we go). */
	}
}

/* The first address in [a, end) a PTE table covers, and that table in
 * *table; end (and *table untouched) if none. No lock: see pgtable.h. */
static u64 next_pte_table(struct mm_struct *mm, u64 a, u64 end, u64 **table)
{
	while (a < end) {
		u64 *t = pgtable_root(mm);
		enum pt_level l;
		for (l = PT_PML4; l > PT_PTE; l--) {
			u64 v = pte_read(&t[pgtable_index(a, l)]);
			if (!(v & PTE_P) || (v & PTE_PS))
				break;  /* nothing, or a huge PMD (callers: thp.h) */
			t = entry_table(v);
		}
		if (l == PT_PTE) {
			*table = t;     /* a PTE table covers a */
			return a;
		}
		/* Nothing below this entry (or a huge PMD): skip all it covers. */
		u64 next = align_up(a, pgtable_span(l));
		if (next <= a)
			break;          /* wrapped past the top */
		a = next;
	}
	return end;
}

u64 pte_table_next(struct mm_struct *mm, u64 a, u64 end)
{
	u64 *table;
	return next_pte_table(mm, a, end, &table);
}

u64 *pte_next_mapped(struct mm_struct *mm, u64 *addr, u64 end)
{
	u64 *table;
	for (u64 a = next_pte_table(mm, *addr, end, &table); a < end;
	     a = next_pte_table(mm, a, end, &table)) {
		/* Scan this PT from a to its end (or to end). */
		u64 pt_end = align_up(a, pgtable_span(PT_PMD));
		for (; a < end && a < pt_end; a += PAGE_SIZE) {
			u64 *e = &table[pgtable_index(a, PT_PTE)];
			if (pte_mapped(pte_read(e))) {
				*addr = a;
				return e;
			}
		}
	}
	*addr = end;
	return NULL;
}

void pte_range_apply(struct mm_struct *mm, u64 start, u64 end,
		     void (*fn)(u64 *e, u64 addr, void *arg), void *arg)
{
	mmap_assert_locked(mm);
	for (u64 a = pte_table_next(mm, start, end); a < end; a = pte_table_next(mm, a, end)) {
		u64 table_end = align_up(a, pgtable_span(PT_PMD));
		u64 stop = table_end < end && table_end > a ? table_end : end;
		u32 *ptl;
		u64 *e = pte_offset_map_lock(mm, a, &ptl);
		for (; e && a < stop; a += PAGE_SIZE, e++)
			if (pte_mapped(pte_read(e)))
				fn(e, a, arg);
		if (e)
			pte_unmap_unlock(ptl);
		a = stop;
	}
}

/* --- unmapping --- */

bool pt_reclaim = true;
bool pt_debug_trust_walk;
u64 pt_reclaimed, pt_reclaim_rescans;
void (*zap_debug_unlocked_hook)(struct mm_struct *mm, u64 addr);

static bool table_is_empty(const u64 *pt)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (pte_read(&pt[i]) != 0)
			return false;
	return true;
}

/* Unhook the empty PTE table *pmd points to (value v) and return it. The
 * caller holds page_table_lock and the table's lock, and hands the table to
 * the gather only after dropping both: the gather frees it after the TLB
 * flush (with freed_tables: lazy CPUs too) and a grace period (lockless
 * walkers, and pte_offset_map_lock's look before it locks) - and a grace
 * period can end while we spin-hold a lock (a tick then counts as a
 * quiescent state), so the lock word inside the table's struct page must be
 * ours no longer by the time the table is queued. */
static struct page *unhook_pte_table(struct mm_struct *mm, u64 *pmd, u64 v, u64 haddr,
				     struct mmu_gather *tlb)
{
	pmd_assert_locked(mm);
	lockdep_assert_held(pmd_ptl(v));
	pte_clear(pmd);
	tlb_track_range(tlb, haddr, pgtable_span(PT_PMD), PT_PMD);
	mm->pgtable_pages--;
	__atomic_add_fetch(&pt_reclaimed, 1, __ATOMIC_RELAXED);
	return phys_to_page(v & PTE_ADDR_MASK);
}

/* The slow path: no PTE lock held. Take the PMD lock, then the lock of
 * whatever table is hooked in now, and check every entry again: while no
 * lock was held a fault may have filled it (or another zap freed it). */
static void reclaim_pte_table_slow(struct mm_struct *mm, u64 haddr, struct mmu_gather *tlb)
{
	struct page *freed = NULL;
	__atomic_add_fetch(&pt_reclaim_rescans, 1, __ATOMIC_RELAXED);
	spin_lock(&mm->page_table_lock);
	u64 *pmd = pgtable_walk(mm, haddr, PT_PMD);
	u64 v = pmd ? pte_read(pmd) : 0;
	if ((v & (PTE_P | PTE_PS)) == PTE_P) {
		u32 *ptl = pmd_ptl(v);
		word_lock(ptl);         /* PMD lock, then PTE lock: the order */
		if (table_is_empty(entry_table(v)))
			freed = unhook_pte_table(mm, pmd, v, haddr, tlb);
		word_unlock(ptl);
	}
	spin_unlock(&mm->page_table_lock);
	if (freed)
		tlb_remove_table(tlb, freed);
}

/* A zap covered the whole PTE table at haddr and saw `none` of its entries
 * empty (or emptied them); dropped: it let go of the table's lock on the
 * way. ptl: that lock if still held (released here), NULL if the zap ended
 * unlocked. Free the table if it is empty, by the fast path when the walk's
 * count can be trusted, else by looking again under both locks. */
static void reclaim_pte_table(struct mm_struct *mm, u64 haddr, u32 *ptl, unsigned none,
			      bool dropped, struct mmu_gather *tlb)
{
	/* LAB(dontneed) BEGIN: the fast path (no second look) only when the walk held the PTE lock throughout and saw all 512 entries empty; else the slow path */
	if (!ptl) {
		reclaim_pte_table_slow(mm, haddr, tlb);
		return;
	}
	/* Fast path: we held the lock for the whole walk and saw all 512
	 * entries empty, so the table IS empty now. The PMD lock comes
	 * before ours in the lock order: only try it. If the lock was dropped
	 * mid-walk, the count means nothing any more (a fault may have
	 * refilled an entry already counted): Linux freed live tables that
	 * way in 2025. pt_debug_trust_walk repeats that bug. */
	if (none == PT_ENTRIES && (!dropped || pt_debug_trust_walk) &&
	    spin_trylock(&mm->page_table_lock)) {
		u64 *pmd = pgtable_walk(mm, haddr, PT_PMD);
		struct page *freed = unhook_pte_table(mm, pmd, pte_read(pmd), haddr, tlb);
		spin_unlock(&mm->page_table_lock);
		pte_unmap_unlock(ptl);
		tlb_remove_table(tlb, freed);
		return;
	}
	pte_unmap_unlock(ptl);
	if (none == PT_ENTRIES || dropped)
		reclaim_pte_table_slow(mm, haddr, tlb);
	/* LAB(dontneed) STUB: (void)none; (void)dropped; if (ptl) pte_unmap_unlock(ptl); reclaim_pte_table_slow(mm, haddr, tlb); */
	/* LAB(dontneed) END */
}

/* Zap the PTEs of [a, end), all in the PTE table covering a (end is at most
 * that table's end). If the zap covered the whole table and left it empty,
 * and reclaim allows, free the table (docs/madvise.md, "Freeing empty page
 * tables"). */
static void zap_pte_table(struct mm_struct *mm, u64 a, u64 end, struct mmu_gather *tlb,
			  bool reclaim, bool even_cows)
{
	const u64 span = pgtable_span(PT_PMD);
	u64 haddr = a & ~(span - 1);
	bool whole = a == haddr && end - a == span;
	u32 *ptl;
	u64 *e = pte_offset_map_lock(mm, a, &ptl);
	if (!e)
		return;         /* unhooked meanwhile (another zap's reclaim) */
	unsigned none = 0;      /* entries seen empty, or emptied, by this walk */
	bool dropped = false;   /* was the lock let go mid-table? */
	for (; a < end; a += PAGE_SIZE, e++) {
		u64 v = pte_read(e);
		if (v == 0) {
			none++;
			continue;
		}
		if (pte_uffd_marker(v)) {
			/* A userfaultfd marker: a zap of anonymous memory drops
			 * it with everything else (as Linux). It maps nothing:
			 * no flush, no page. */
			pte_clear(e);
			none++;
			continue;
		}
		if (!pte_mapped(v))
			continue;       /* nothing else is kept today */
		/* A punch keeps a private mapping's own copies (pgtable.h). */
		if (!even_cows && (pte_special(v) || !(pte_page(v)->flags & PG_shmem)))
			continue;
		u64 old = pte_clear(e);
		none++;
		tlb_track_range(tlb, a, PAGE_SIZE, PT_PTE);
		if (pte_special(old))
			continue;
		mm_add_rss(mm, -1);
		/* The page keeps the PTE's reference and map count until the
		 * gather has flushed (mmu_gather.h rules 1 and 3). */
		if (!tlb_remove_page(tlb, pte_page(old)))
			continue;
		/* The gather is full. Flush the TLBs while we still hold the
		 * lock (no CPU may write through an entry we cleared once a
		 * fault can refill it), then free with the lock dropped, as
		 * Linux does, and carry on where we were. */
		tlb_flush_mmu_tlbonly(tlb);
		pte_unmap_unlock(ptl);
		tlb_flush_mmu(tlb);
		dropped = true;
		if (zap_debug_unlocked_hook)
			zap_debug_unlocked_hook(mm, a);
		if (a + PAGE_SIZE >= end) {
			ptl = NULL;     /* that was the last entry: stay unlocked */
			break;
		}
		e = pte_offset_map_lock(mm, a + PAGE_SIZE, &ptl);
		if (!e)
			return;         /* the table went meanwhile */
		e--;            /* the loop steps to a + PAGE_SIZE */
	}
	if (!reclaim || !whole) {
		if (ptl)
			pte_unmap_unlock(ptl);
		return;
	}
	reclaim_pte_table(mm, haddr, ptl, none, dropped, tlb);
}

/* The PTEs of [start, end), table by table. */
static void zap_pte_range(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb,
			  bool reclaim, bool even_cows)
{
	const u64 span = pgtable_span(PT_PMD);
	for (u64 a = pte_table_next(mm, start, end); a < end; a = pte_table_next(mm, a, end)) {
		u64 table_end = align_up(a, span);
		u64 stop = table_end < end && table_end > a ? table_end : end;
		zap_pte_table(mm, a, stop, tlb, reclaim, even_cows);
		a = stop;
	}
}

void zap_range(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb)
{
	zap_huge_pmds(mm, start, end, tlb);     /* whole ones go, partial ones split */
	zap_pte_range(mm, start, end, tlb, pt_reclaim, true);
}

void zap_mapping_range(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb,
		       bool even_cows)
{
	/* No huge PMDs to split: VMAs that map an object never get one
	 * (mm/thp.h). */
	zap_pte_range(mm, start, end, tlb, false, even_cows);
}

/* Queue a whole subtree (a table at `level` and every table below it) in
 * tlb. Its leaves must already be clear. */
static void free_table_tree(struct mm_struct *mm, u64 *table, enum pt_level level,
			    struct mmu_gather *tlb)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		u64 v = pte_read(&table[i]);
		if (level > PT_PTE && (v & PTE_PS))
			panic("mm: freeing a page table that still maps a huge page %lx", v);
		if (level == PT_PTE) {
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
static void free_range(struct mm_struct *mm, u64 *table, enum pt_level level, u64 start, u64 end,
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
		} else if (level > PT_PMD) {
			free_range(mm, entry_table(v), level - 1, MAX(start, a), MIN(end, a + span), tlb);
		}
		if (a + span < a)
			break;
	}
}

void free_pgtables(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb)
{
	spin_lock(&mm->page_table_lock);
	free_range(mm, pgtable_root(mm), PT_PML4, start, end, tlb);
	spin_unlock(&mm->page_table_lock);
}
