/* SPDX-License-Identifier: MIT */
/* mm/huge_memory.c - transparent huge pages; see thp.h and docs/thp.md. */
#include "mm/thp.h"
#include "mm/vma_lock.h"         /* the lock assertions */
#include "mm/userfaultfd.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/mmu_gather.h"
#include "mm/tlbflush.h"
#include "mm/fault.h"
#include "mm/anon_exclusive.h"
#include "mm/buddy.h"
#include "mm/deferred_split.h"
#include "mm/rmap.h"
#include "mm/khugepaged.h"
#include "mm/mremap.h"          /* mremap_debug_skip_flush */
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/trace.h"

enum thp_mode thp_mode = THP_MADVISE;
bool thp_use_zero_page = true;

static void set_mode(const char *mode);


static void stat_inc(enum vm_stat_item i, s64 d) { vm_stat_add(i, d); }

/* --- the huge zero page: 2 MiB of zeros shared by every read fault --- */

static struct page *huge_zero_page;

static struct page *get_huge_zero_page(void)
{
	struct page *p = __atomic_load_n(&huge_zero_page, __ATOMIC_ACQUIRE);
	if (p)
		return p;
	p = alloc_pages(__GFP_ZERO | __GFP_COMP, HPAGE_ORDER);
	if (!p)
		return NULL;
	p->flags |= PG_zero;
	struct page *expected = NULL;
	if (!__atomic_compare_exchange_n(&huge_zero_page, &expected, p, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		put_page(p);                    /* another CPU was first */
		return expected;
	}
	return p;
}

/* --- deposited page tables (thp.h: splitting never fails) --- */

bool thp_deposit_table(struct mm_struct *mm)
{
	struct page *pt = pagetable_alloc();
	if (!pt)
		return false;
	mm->pgtable_pages++;
	pt->lru.next = (struct list_head *)mm->pgtable_deposit;
	mm->pgtable_deposit = pt;
	return true;
}

static struct page *withdraw_table(struct mm_struct *mm)
{
	struct page *pt = mm->pgtable_deposit;
	if (!pt)
		panic("thp: a huge PMD without a deposited page table");
	mm->pgtable_deposit = (struct page *)pt->lru.next;
	pt->lru.next = NULL;
	return pt;
}

/* Never hooked into the tree: no TLB or walker can know it. */
static void free_deposited_table(struct mm_struct *mm)
{
	pagetable_free(withdraw_table(mm));
	mm->pgtable_pages--;
}

void thp_free_deposits(struct mm_struct *mm)
{
	while (mm->pgtable_deposit)
		free_deposited_table(mm);
}

/* --- policy --- */

bool thp_vma_allowed(const struct vm_area *vma, u64 addr)
{
	enum thp_mode mode = READ_ONCE(thp_mode);
	if (mode == THP_NEVER || (vma->flags & (VM_SHARED | VM_NOHUGEPAGE)) || vma->shared)
		return false;
	if (mode == THP_MADVISE && !(vma->flags & VM_HUGEPAGE))
		return false;
	if (!(vma->flags & (VM_READ | VM_WRITE | VM_EXEC)))
		return false;
	u64 haddr = addr & HPAGE_MASK;
	return haddr >= vma->start && haddr + HPAGE_SIZE <= vma->end;
}

static u64 mk_pmd(u64 phys, u32 vm_flags, bool writable)
{
	return mk_pte(phys, vm_flags, writable) | PTE_PS;
}

/* The PMD entry for addr, or NULL when a table above it is missing; then
 * *skip_to is where the next PMD worth looking at is. */
static u64 *pmd_lookup(struct mm_struct *mm, u64 addr, u64 *skip_to)
{
	u64 *table = pgtable_root(mm);
	for (enum pt_level l = PT_PML4; l > PT_PMD; l--) {
		u64 v = pte_read(&table[pgtable_index(addr, l)]);
		if (!(v & PTE_P)) {
			u64 span = pgtable_span(l);
			*skip_to = (addr & ~(span - 1)) + span;
			return NULL;
		}
		table = entry_table(v);
	}
	return &table[pgtable_index(addr, PT_PMD)];
}

/* The next huge PMD meeting [*a, end) (*a is 2 MiB-aligned): its entry,
 * with *a set to the address it maps; NULL when none is left. Empty upper
 * levels are skipped whole. */
static u64 *next_huge_pmd(struct mm_struct *mm, u64 *a, u64 end)
{
	for (u64 x = *a; x < end;) {
		u64 next = x + HPAGE_SIZE;
		u64 *pmd = pmd_lookup(mm, x, &next);
		if (pmd && pmd_huge(pte_read(pmd))) {
			*a = x;
			return pmd;
		}
		if (next <= x)
			break;          /* wrapped past the top */
		x = next;
	}
	return NULL;
}

/* Same owner only: PG_exclusive, or nobody else holds or maps it. */
static bool can_reuse_huge(struct page *head)
{
	if (head->flags & PG_exclusive)
		return true;
	if (page_refcount(head) == 1 && page_mapcount(head) == 1) {
		__atomic_or_fetch(&head->flags, PG_exclusive, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

/* Is a piece of head mapped by a PTE (the PMD being zapped aside)? Linux
 * 6.1 looks at every piece too, when the last PMD mapping goes. */
static bool pte_mapped_pieces(struct page *head)
{
	if (page_mapcount(head) > 1)
		return true;            /* one is the PMD's own, until the flush */
	for (u32 i = 1; i < HPAGE_NR; i++)
		if (page_mapcount(&head[i]) > 0)
			return true;
	return false;
}

/* --- splitting --- */

void split_huge_pmd(struct mm_struct *mm, u64 *pmd, u64 haddr)
{
	pmd_assert_locked(mm);
	u64 v = pte_read(pmd);
	if (!pmd_huge(v))
		return;
	struct page *pt = withdraw_table(mm);
	u64 *ptes = page_address(pt);
	/* One translation may not be cached at two page sizes at once: take
	 * the huge entry out of every TLB before the table goes in. Out first,
	 * and the PTEs are built from what came out, not from v: a CPU writing
	 * through the huge entry since v was read has its D bit there
	 * (pgtable.h, "rewriting a live entry"). From the exchange on, a CPU
	 * that must set D faults, and waits for our lock. */
	v = pte_get_and_clear(pmd, v);
	flush_tlb_mm_range(mm, haddr, haddr + HPAGE_SIZE, HPAGE_SHIFT, false);
	u64 bits = v & ~(PTE_ADDR_MASK | PTE_PS);      /* bit 7 is PAT in a PTE */
	u64 phys = v & PTE_ADDR_MASK & HPAGE_MASK;
	if (v & PTE_SPECIAL) {
		for (u32 i = 0; i < HPAGE_NR; i++)
			ptes[i] = page_to_phys(zero_page) | bits;
	} else {
		struct page *head = phys_to_page(phys);
		/* The PMD's one reference and one (whole) mapping become 512
		 * references and one mapping per 4 KiB page. */
		__atomic_add_fetch(&head->refcount, HPAGE_NR - 1, __ATOMIC_RELAXED);
		for (u32 i = 0; i < HPAGE_NR; i++) {
			page_add_anon_rmap(&head[i]);
			ptes[i] = (phys + (u64)i * PAGE_SIZE) | bits;
		}
		/* From here each piece says on its own whether it is ours. */
		split_anon_exclusive(head);
		/* The PMD mapping is gone and flushed above: both its counts
		 * drop now (the head stays mapped by page 0's PTE). */
		page_remove_rmap(head, mm);
		page_remove_pmd_rmap(head);
	}
	pte_set(pmd, page_to_phys(pt) | TABLE_ENTRY_FLAGS);
	stat_inc(NR_THP_SPLIT_PMD, 1);
	trace_event(TR_THP_SPLIT_PMD, haddr, mm->pgd_phys);
}

/* --- mremap --- */

/* Move the huge entry *old_pmd (read as v) to the empty *new_pmd: out of
 * the old slot and out of every TLB first (mm/mremap.h), then in. */
static void move_huge_entry(struct mm_struct *mm, u64 *old_pmd, u64 v, u64 *new_pmd,
			    u64 old_addr, u64 new_addr)
{
	v = pte_get_and_clear(old_pmd, v);
	if (!mremap_debug_skip_flush)
		flush_tlb_mm_range(mm, old_addr, old_addr + HPAGE_SIZE, HPAGE_SHIFT, false);
	/* Same page, same counts: the entry's map count and reference move
	 * with it. A tracker sees the 2 MiB as new here (Linux's
	 * move_soft_dirty_pmd). */
	pte_set(new_pmd, v | PTE_SOFT_DIRTY);
	if (!(v & PTE_SPECIAL))
		thp_set_mapped_address(pte_page(v), new_addr);  /* for the deferred split */
}

int move_huge_pmd(struct mm_struct *mm, u64 old_addr, u64 new_addr, u64 extent)
{
	mmap_assert_write_locked(mm);
	u64 skip;
	int ret = 0;
	spin_lock(&mm->page_table_lock);
	u64 *old_pmd = pmd_lookup(mm, old_addr, &skip);
	u64 v = old_pmd ? pte_read(old_pmd) : 0;
	if (!pmd_huge(v))
		goto out;
	bool whole = extent == HPAGE_SIZE && !(old_addr & ~HPAGE_MASK) && !(new_addr & ~HPAGE_MASK);
	u64 *new_pmd = whole ? pgtable_walk_alloc(mm, new_addr, PT_PMD) : NULL;
	if (whole && !new_pmd) {
		ret = -ENOMEM;
		goto out;
	}
	/* An empty PTE table left at the destination: move the pieces
	 * instead of freeing it here. */
	if (new_pmd && pte_read(new_pmd) == 0) {
		move_huge_entry(mm, old_pmd, v, new_pmd, old_addr, new_addr);
		ret = 1;
	} else {
		split_huge_pmd(mm, old_pmd, old_addr & HPAGE_MASK);
	}
out:
	spin_unlock(&mm->page_table_lock);
	return ret;
}

/* --- VMA boundaries (docs/thp.md, "VMA boundaries") --- */

/* Negative control: "thp_debug_skip_vma_split" on the command line makes
 * vma_adjust_trans_huge() do nothing, so a VMA boundary can fall inside a
 * huge PMD; thp.vma_boundary_then_fork must then fail. */
bool thp_debug_skip_vma_split;
u64 thp_straddle_splits;

void vma_adjust_trans_huge(struct mm_struct *mm, u64 addr)
{
	mmap_assert_write_locked(mm);
	if (!(addr & ~HPAGE_MASK) || thp_debug_skip_vma_split)
		return;                 /* a boundary between two PMDs */
	u64 haddr = addr & HPAGE_MASK, skip;
	spin_lock(&mm->page_table_lock);
	u64 *pmd = pmd_lookup(mm, haddr, &skip);
	if (pmd)
		split_huge_pmd(mm, pmd, haddr);         /* nothing unless huge */
	spin_unlock(&mm->page_table_lock);
}

/* The defence behind vma_adjust_trans_huge(): a huge PMD about to be
 * zapped, changed or copied whole lies inside one VMA (vma, or when NULL
 * the VMA at haddr). One that reaches outside is a bug elsewhere: say so
 * and count it (the thp suite fails on the count); the caller then splits
 * it, so that the PTE level acts on this VMA's part alone. */
static bool huge_pmd_straddles(struct mm_struct *mm, const struct vm_area *vma, u64 haddr,
			       const char *op)
{
	if (!vma)
		vma = vma_find(mm->vma_root, haddr);
	if (vma && vma->start <= haddr && haddr + HPAGE_SIZE <= vma->end)
		return false;
	__atomic_add_fetch(&thp_straddle_splits, 1, __ATOMIC_RELAXED);
	printk(KERN_ERR "thp: BUG: huge PMD at %lx reaches outside its VMA %lx-%lx: %s it at PTE level\n",
	       haddr, vma ? vma->start : 0, vma ? vma->end : 0, op);
	return true;
}

/* --- range operations --- */

void zap_huge_pmds(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb)
{
	spin_lock(&mm->page_table_lock);
	u64 *pmd;
	for (u64 a = start & HPAGE_MASK; (pmd = next_huge_pmd(mm, &a, end)) != NULL;
	     a += HPAGE_SIZE) {
		u64 v = pte_read(pmd);
		if (a >= start && a + HPAGE_SIZE <= end && !huge_pmd_straddles(mm, NULL, a, "zap")) {
			pte_clear(pmd);
			tlb_track_range(tlb, a, HPAGE_SIZE, PT_PMD);
			free_deposited_table(mm);
			if (!(v & PTE_SPECIAL)) {
				struct page *head = pte_page(v);
				mm_add_rss(mm, -HPAGE_NR);
				/* The entire map count drops now, the head's
				 * map count after the flush (mmu_gather.h). The
				 * last PMD gone while pieces are PTE-mapped
				 * elsewhere (a fork partner split it): queue it,
				 * keeping the record of whoever unmapped one. */
				if (page_remove_pmd_rmap(head) == 0 && pte_mapped_pieces(head))
					deferred_split_folio(head, NULL);
				/* One reference, one map count: on the head. */
				if (tlb_remove_page(tlb, head))
					tlb_flush_mmu(tlb);
			}
		} else {
			split_huge_pmd(mm, pmd, a);
		}
	}
	spin_unlock(&mm->page_table_lock);
}

void change_huge_pmds(struct mm_struct *mm, u64 start, u64 end, u32 vm_flags,
		      struct mmu_gather *tlb)
{
	spin_lock(&mm->page_table_lock);
	u64 *pmd;
	for (u64 a = start & HPAGE_MASK; (pmd = next_huge_pmd(mm, &a, end)) != NULL;
	     a += HPAGE_SIZE) {
		u64 v = pte_read(pmd);
		bool whole = a >= start && a + HPAGE_SIZE <= end &&
			     !huge_pmd_straddles(mm, NULL, a, "change");
		if (!whole || !(vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) {
			split_huge_pmd(mm, pmd, a);     /* PROT_NONE: at PTE level */
		} else {
			bool special = v & PTE_SPECIAL;
			bool writable = !special && !(v & PTE_UFFD_WP) &&
					(pte_page(v)->flags & PG_exclusive);
			u64 keep = v & (PTE_A | PTE_D | PTE_SOFT_DIRTY | PTE_SPECIAL | PTE_UFFD_WP);
			u64 nv = mk_pmd(v & PTE_ADDR_MASK, vm_flags, writable) | keep;
			pte_modify(pmd, v, nv);         /* keeps a D set meanwhile */
			if (((v & PTE_W) && !(nv & PTE_W)) || (!(v & PTE_NX) && (nv & PTE_NX)))
				tlb_track_range(tlb, a, HPAGE_SIZE, PT_PMD);
		}
	}
	spin_unlock(&mm->page_table_lock);
}

void uffd_wp_huge_pmd(u64 *pmd, u64 haddr, u32 vm_flags, bool wp, struct mmu_gather *tlb)
{
	u64 v = pte_read(pmd);
	/* One atomic step each: the MMU may set D meanwhile (pgtable.h). */
	if (wp && !(v & PTE_UFFD_WP)) {
		u64 old = pte_update(pmd, PTE_W, PTE_UFFD_WP);
		if ((old & PTE_W) && !uffd_debug_local_wp_flush)
			tlb_track_range(tlb, haddr, HPAGE_SIZE, PT_PMD);
	} else if (!wp && (v & PTE_UFFD_WP)) {
		/* Adding rights needs no flush. */
		pte_update(pmd, PTE_UFFD_WP, uffd_may_restore_write(v, vm_flags) ? PTE_W : 0);
	}
}

int copy_huge_pmds(struct mm_struct *parent, struct mm_struct *child,
		   const struct vm_area *vma, bool *wrprotected)
{
	u64 *pmd;
	for (u64 a = vma->start & HPAGE_MASK; (pmd = next_huge_pmd(parent, &a, vma->end)) != NULL;
	     a += HPAGE_SIZE) {
		if (huge_pmd_straddles(parent, vma, a, "copy")) {
			/* Copied whole, it would be copied again for the
			 * other VMA: two references, rss counted twice. */
			spin_lock(&parent->page_table_lock);
			split_huge_pmd(parent, pmd, a);
			spin_unlock(&parent->page_table_lock);
			continue;
		}
		u64 v = pte_read(pmd);
		u64 *cpmd = pgtable_walk_alloc(child, a, PT_PMD);
		if (!cpmd || !thp_deposit_table(child))
			return -ENOMEM;
		if (!(v & PTE_SPECIAL)) {
			struct page *head = pte_page(v);
			if (v & PTE_W) {
				v = __atomic_and_fetch(pmd, ~PTE_W, __ATOMIC_SEQ_CST);
				*wrprotected = true;
			}
			__atomic_and_fetch(&head->flags, ~PG_exclusive, __ATOMIC_RELAXED);
			get_page(head);
			page_add_pmd_rmap(head);        /* AnonHugePages: counted once */
			mm_add_rss(child, HPAGE_NR);
		}
		/* A child not registered for WP (no EVENT_FORK) gets no
		 * protection either; with it the bit stays, as Linux. */
		u64 keep = uffd_fork_keeps_wp(vma) ? PTE_UFFD_WP : 0;
		pte_set(cpmd, pte_fold_dirty(v) & ~(PTE_A | (PTE_UFFD_WP & ~keep)));
	}
	return 0;
}

/* --- faults --- */

/* Called with no spinlock held: the allocator may drain the deferred
 * split queue before it gives up. */
static struct page *alloc_thp(void)
{
	struct page *p = alloc_pages(__GFP_ZERO | __GFP_COMP | __GFP_DIRECT_RECLAIM, HPAGE_ORDER);
	if (p)
		p->flags |= PG_anon | PG_exclusive;
	return p;
}

/* Every 2 MiB page is mapped whole here first: its address is recorded
 * for the deferred split (thp.h). */
void thp_install_pmd(struct mm_struct *mm, const struct vm_area *vma, u64 *pmd,
		     u64 haddr, struct page *page)
{
	thp_set_mapped_address(page, haddr);
	page_add_pmd_rmap(page);
	mm_add_rss(mm, HPAGE_NR);
	/* Dirty: the page holds data no file has (a write fault's, or a
	 * collapse's copy); writable where the VMA is: the page is ours alone.
	 * Young (accessed), as Linux's entries made from x86's vm_page_prot:
	 * a collapse's PMD is touched by no MMU until someone reads it, and a
	 * split hands the bit to the 512 PTEs, where khugepaged looks for it
	 * (without it a PTE-mapped THP never counts as referenced). */
	pte_set(pmd, pte_mkdirty(mk_pmd(page_to_phys(page), vma->flags, true)) | PTE_A);
}

/* Map the new THP page at *pmd (empty, or the huge zero page being
 * replaced). page_table_lock held. */
static void map_thp(struct mm_struct *mm, struct vm_area *vma, u64 *pmd, u64 haddr,
		    struct page *page)
{
	if (pte_read(pmd)) {
		/* The huge zero page: out of every TLB before the new page
		 * goes in, or a CPU could keep reading zeros. */
		pte_clear(pmd);
		flush_tlb_mm_range(mm, haddr, haddr + HPAGE_SIZE, HPAGE_SHIFT, false);
	}
	thp_install_pmd(mm, vma, pmd, haddr, page);
	stat_inc(NR_THP_FAULT_ALLOC, 1);
}

/* A huge PMD that cannot serve this fault whole: split it into 512 PTEs
 * (thp.h: splitting never fails), and the PTE level handles the one 4 KiB
 * page. page_table_lock held. */
static vm_fault_t huge_pmd_fallback(struct vm_fault *vmf)
{
	split_huge_pmd(vmf->mm, vmf->pmd, vmf->address & HPAGE_MASK);
	return VM_FAULT_FALLBACK;
}

/* The PMD unshare: an unshare fault, or the exec loader's need for a real
 * page, on a huge PMD. Both want one 4 KiB page of their own, so the
 * private copy (or the page) is made at the PTE level: 4 KiB, not 2 MiB.
 * page_table_lock held. */
static vm_fault_t do_huge_pmd_unshare(struct vm_fault *vmf)
{
	return huge_pmd_fallback(vmf);
}

/* A write to a huge PMD write-protected by userfaultfd: sync mode asks the
 * handler; async mode splits, and the PTE level clears the protection of
 * the one 4 KiB page written (dirty tracking stays per page, as on Linux).
 * page_table_lock held. */
static vm_fault_t huge_pmd_uffd_wp(struct vm_fault *vmf)
{
	trace_event(TR_UFFD_WP, vmf->address, uffd_vma_wp_sync(vmf->vma));
	if (uffd_vma_wp_sync(vmf->vma))
		return VM_FAULT_USERFAULT;
	return huge_pmd_fallback(vmf);
}

/* A write to the huge zero page: try for a real 2 MiB page; with none free,
 * split into 512 zero-page PTEs and go on at the PTE level. Called with
 * page_table_lock held, which is dropped for the allocation (the allocator
 * may drain the deferred split queue) and held again on return. */
static vm_fault_t do_huge_zero_wp_pmd(struct vm_fault *vmf)
{
	struct spinlock *ptl = &vmf->mm->page_table_lock;
	spin_unlock(ptl);
	struct page *page = alloc_thp();
	spin_lock(ptl);
	if (pte_read(vmf->pmd) != vmf->orig_pmd) {      /* changed meanwhile: retry */
		if (page)
			put_page(page);
		return VM_FAULT_DONE;
	}
	if (!page) {
		stat_inc(NR_THP_FAULT_FALLBACK, 1);
		return huge_pmd_fallback(vmf);
	}
	map_thp(vmf->mm, vmf->vma, vmf->pmd, vmf->address & HPAGE_MASK, page);
	return VM_FAULT_DONE;
}

/* Copy-on-write at PMD level: reuse the THP when this mm is its only user;
 * shared after fork, split and copy 4 KiB at the PTE level, not 2 MiB.
 * page_table_lock held. */
static vm_fault_t do_huge_pmd_wp_page(struct vm_fault *vmf)
{
	u64 v = vmf->orig_pmd;
	if (v & PTE_SPECIAL)
		return do_huge_zero_wp_pmd(vmf);
	if (!can_reuse_huge(pte_page(v)))
		return huge_pmd_fallback(vmf);
	/* Adding a right: no flush. A write: dirty. */
	pte_modify(vmf->pmd, v, pte_mkdirty(v | PTE_W));
	trace_event(TR_COW_REUSE, vmf->address & HPAGE_MASK, vmf->mm->pgd_phys);
	return VM_FAULT_DONE;
}

/* A huge PMD maps the address: send the fault to its kind. page_table_lock
 * held (and held on return). */
static vm_fault_t huge_pmd_mapped_fault(struct vm_fault *vmf)
{
	u64 v = vmf->orig_pmd;
	if (vmf->flags & (FAULT_NEED_PAGE | FAULT_UNSHARE))
		return do_huge_pmd_unshare(vmf);
	if (!(vmf->flags & FAULT_WRITE) || (v & PTE_W))
		return VM_FAULT_DONE;   /* spurious, or another CPU did it */
	if (v & PTE_UFFD_WP)
		return huge_pmd_uffd_wp(vmf);
	return do_huge_pmd_wp_page(vmf);
}

/* Install the new THP page (or, when NULL, the huge zero page hzp) at the
 * empty PMD, with a page table deposited for its split. VM_FAULT_DONE also
 * when someone mapped here meanwhile (retry the access); VM_FAULT_FALLBACK
 * with no memory for the deposit; VM_FAULT_OOM with none for the tables
 * above. No lock held (taken here). */
static vm_fault_t set_huge_pmd(struct vm_fault *vmf, struct page *page, struct page *hzp)
{
	struct mm_struct *mm = vmf->mm;
	u64 haddr = vmf->address & HPAGE_MASK;
	spin_lock(&mm->page_table_lock);
	u64 *pmd = pgtable_walk_alloc(mm, haddr, PT_PMD);
	if (!pmd || pte_read(pmd) != 0 || !thp_deposit_table(mm)) {
		bool raced = pmd && pte_read(pmd) != 0;
		spin_unlock(&mm->page_table_lock);
		if (page) {
			put_page(page);
			if (!raced)
				stat_inc(NR_THP_FAULT_FALLBACK, 1);
		}
		return raced ? VM_FAULT_DONE : (pmd ? VM_FAULT_FALLBACK : VM_FAULT_OOM);
	}
	if (page)
		map_thp(mm, vmf->vma, pmd, haddr, page);
	else
		pte_set(pmd, mk_pmd(page_to_phys(hzp), vmf->vma->flags, false) | PTE_SPECIAL);
	spin_unlock(&mm->page_table_lock);
	return VM_FAULT_DONE;
}

/* Nothing mapped in the 2 MiB around the address: where THP is allowed, a
 * new 2 MiB page for a write, the huge zero page for a read (a new page
 * too when use_zero_page is off, as Linux); otherwise, or with no memory
 * for them, the PTE level (4 KiB pages will do). No lock held. */
static vm_fault_t do_huge_pmd_anonymous_page(struct vm_fault *vmf)
{
	/* A VMA registered for missing faults gets no huge page: its
	 * handler resolves each 4 KiB page (the PTE level hands the fault
	 * over), as Linux's do_huge_pmd_anonymous_page does. */
	if ((vmf->flags & (FAULT_NEED_PAGE | FAULT_UNSHARE)) || uffd_vma_missing(vmf->vma) ||
	    !thp_vma_allowed(vmf->vma, vmf->address))
		return VM_FAULT_FALLBACK;
	khugepaged_enter(vmf->mm);      /* its small pages may be collapsed later */
	/* Linux prepares the anon_vma here, before it knows whether the
	 * fault gets a huge page at all. */
	vma_anon_prepare(vmf->vma);
	if (!(vmf->flags & FAULT_WRITE) && READ_ONCE(thp_use_zero_page)) {
		struct page *hzp = get_huge_zero_page();
		return hzp ? set_huge_pmd(vmf, NULL, hzp) : VM_FAULT_FALLBACK;
	}
	struct page *page = alloc_thp();
	if (!page) {
		stat_inc(NR_THP_FAULT_FALLBACK, 1);
		return VM_FAULT_FALLBACK;
	}
	return set_huge_pmd(vmf, page, NULL);
}

vm_fault_t huge_pmd_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->mm;
	u64 skip;
	spin_lock(&mm->page_table_lock);
	vmf->pmd = pmd_lookup(mm, vmf->address & HPAGE_MASK, &skip);
	vmf->orig_pmd = vmf->pmd ? pte_read(vmf->pmd) : 0;
	vm_fault_t ret = VM_FAULT_FALLBACK;     /* a page table is there already */
	if (pmd_huge(vmf->orig_pmd))
		ret = huge_pmd_mapped_fault(vmf);
	spin_unlock(&mm->page_table_lock);
	if (vmf->orig_pmd & PTE_P)
		return ret;
	return do_huge_pmd_anonymous_page(vmf);
}

/* --- clear_refs --- */

void clear_refs_huge_pmds(struct mm_struct *mm, u64 start, u64 end, u64 clear,
			  struct mmu_gather *tlb)
{
	spin_lock(&mm->page_table_lock);
	u64 *pmd;
	for (u64 a = start & HPAGE_MASK; (pmd = next_huge_pmd(mm, &a, end)) != NULL;
	     a += HPAGE_SIZE) {
		/* Atomic: a CPU may set D meanwhile (pgtable.h). */
		u64 old = pte_update(pmd, clear, 0);
		if (tlb && (old & clear & PTE_W))
			tlb_track_range(tlb, a, HPAGE_SIZE, PT_PMD);
	}
	spin_unlock(&mm->page_table_lock);
}

void thp_init(void)
{
	char mode[16];
	if (cmdline_get("thp", mode, sizeof(mode)))
		set_mode(mode);
	anon_exclusive_init();
	thp_debug_skip_vma_split = cmdline_has("thp_debug_skip_vma_split");
	deferred_split_init();
	if (thp_debug_skip_vma_split)
		printk(KERN_WARNING "thp: thp_debug_skip_vma_split: VMA boundaries do NOT split huge PMDs (negative control)\n");
	/* The huge zero page lives for good (as the 4 KiB one): take it now,
	 * so that it is never counted as a program's leak. */
	if (thp_mode != THP_NEVER)
		get_huge_zero_page();
}

void thp_set_mode(enum thp_mode mode)
{
	/* The huge zero page is taken before any fault may want it, as at
	 * boot (thp_init): once taken it lives for good, never a leak. */
	if (mode != THP_NEVER)
		get_huge_zero_page();
	WRITE_ONCE(thp_mode, mode);
}

static void set_mode(const char *mode)
{
	if (!strcmp(mode, "always"))
		thp_mode = THP_ALWAYS;
	else if (!strcmp(mode, "madvise"))
		thp_mode = THP_MADVISE;
	else if (!strcmp(mode, "never"))
		thp_mode = THP_NEVER;
	else
		printk(KERN_WARNING "thp: unknown mode \"%s\" (always, madvise, never); keeping madvise\n", mode);
}
