/* mm/huge_memory.c - transparent huge pages; see thp.h and docs/thp.md. */
#include "mm/thp.h"
#include "mm/userfaultfd.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/mmu_gather.h"
#include "mm/tlbflush.h"
#include "mm/fault.h"
#include "mm/anon_exclusive.h"
#include "mm/buddy.h"
#include "mm/deferred_split.h"
#include "mm/khugepaged.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/errno.h"
#include "kernel/string.h"

enum thp_mode thp_mode = THP_MADVISE;

static void set_mode(const char *mode);

#define TABLE_ENTRY_FLAGS (PTE_P | PTE_W | PTE_U)

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
	if (thp_mode == THP_NEVER || (vma->flags & (VM_SHARED | VM_NOHUGEPAGE)) || vma->shared)
		return false;
	if (thp_mode == THP_MADVISE && !(vma->flags & VM_HUGEPAGE))
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
	for (int l = PT_LEVELS; l > 2; l--) {
		u64 v = pte_read(&table[pgtable_index(addr, l)]);
		if (!(v & PTE_P)) {
			u64 span = pgtable_span(l);
			*skip_to = (addr & ~(span - 1)) + span;
			return NULL;
		}
		table = entry_table(v);
	}
	return &table[pgtable_index(addr, 2)];
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

/* --- PMD map counts (thp.h) --- */

void thp_add_pmd_map(struct page *head)
{
	__atomic_add_fetch(&head->mapcount, 1, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&head[1].refcount, 1, __ATOMIC_RELAXED) == 1)
		stat_inc(NR_ANON_THPS, 1);
}

s32 thp_remove_pmd_map(struct page *head)
{
	s32 left = __atomic_sub_fetch(&head[1].refcount, 1, __ATOMIC_RELAXED);
	if (left == 0)
		stat_inc(NR_ANON_THPS, -1);
	return left;
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
			__atomic_add_fetch(&head[i].mapcount, 1, __ATOMIC_RELAXED);
			ptes[i] = (phys + (u64)i * PAGE_SIZE) | bits;
		}
		/* From here each piece says on its own whether it is ours. */
		split_anon_exclusive(head);
		__atomic_sub_fetch(&head->mapcount, 1, __ATOMIC_RELAXED);
		thp_remove_pmd_map(head);
	}
	pte_set(pmd, page_to_phys(pt) | TABLE_ENTRY_FLAGS);
	stat_inc(NR_THP_SPLIT_PMD, 1);
}

/* --- VMA boundaries (docs/thp.md, "VMA boundaries") --- */

/* Negative control: "thp_debug_skip_vma_split" on the command line makes
 * vma_adjust_trans_huge() do nothing, so a VMA boundary can fall inside a
 * huge PMD; thp.vma_boundary_then_fork must then fail. */
bool thp_debug_skip_vma_split;
u64 thp_straddle_splits;

void vma_adjust_trans_huge(struct mm_struct *mm, u64 addr)
{
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
			tlb_track_range(tlb, a, HPAGE_SIZE, 2);
			free_deposited_table(mm);
			if (!(v & PTE_SPECIAL)) {
				struct page *head = pte_page(v);
				mm_add_rss(mm, -HPAGE_NR);
				/* The entire map count drops now, the head's
				 * map count after the flush (mmu_gather.h). The
				 * last PMD gone while pieces are PTE-mapped
				 * elsewhere (a fork partner split it): queue it,
				 * keeping the record of whoever unmapped one. */
				if (thp_remove_pmd_map(head) == 0 && pte_mapped_pieces(head))
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
				tlb_track_range(tlb, a, HPAGE_SIZE, 2);
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
			tlb_track_range(tlb, haddr, HPAGE_SIZE, 2);
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
		u64 *cpmd = pgtable_walk_alloc(child, a, 2);
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
			thp_add_pmd_map(head);          /* AnonHugePages: counted once */
			mm_add_rss(child, HPAGE_NR);
		}
		/* The child is not registered with userfaultfd (no
		 * EVENT_FORK): no protection either. */
		pte_set(cpmd, pte_fold_dirty(v) & ~(PTE_A | PTE_UFFD_WP));
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
	thp_add_pmd_map(page);
	mm_add_rss(mm, HPAGE_NR);
	/* Dirty: the page holds data no file has (a write fault's, or a
	 * collapse's copy); writable where the VMA is: the page is ours alone. */
	pte_set(pmd, pte_mkdirty(mk_pmd(page_to_phys(page), vma->flags, true)));
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

int thp_handle_fault(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 flags)
{
	bool write = flags & FAULT_WRITE;
	bool small_only = flags & (FAULT_NEED_PAGE | FAULT_UNSHARE);
	u64 haddr = addr & HPAGE_MASK;
	u64 skip;
	spin_lock(&mm->page_table_lock);
	u64 *pmd = pmd_lookup(mm, haddr, &skip);
	u64 v = pmd ? pte_read(pmd) : 0;
	if (pmd_huge(v)) {
		if (small_only) {
			split_huge_pmd(mm, pmd, haddr);
			goto pte_level;
		}
		if (!write || (v & PTE_W))
			goto done;              /* spurious, or another CPU did it */
		if (v & PTE_UFFD_WP) {
			/* Write-protected by userfaultfd: sync mode asks the
			 * handler; async mode splits, and the PTE level clears
			 * the protection of the one 4 KiB page written (dirty
			 * tracking stays per page, as on Linux). */
			if (uffd_vma_wp_sync(vma)) {
				spin_unlock(&mm->page_table_lock);
				return FAULT_USERFAULT;
			}
			split_huge_pmd(mm, pmd, haddr);
			goto pte_level;
		}
		if (!(v & PTE_SPECIAL)) {
			if (can_reuse_huge(pte_page(v))) {
				/* Adding a right: no flush. A write: dirty. */
				pte_modify(pmd, v, pte_mkdirty(v | PTE_W));
				goto done;
			}
			/* Shared after fork: copy 4 KiB, not 2 MiB. */
			split_huge_pmd(mm, pmd, haddr);
			goto pte_level;
		}
		/* A write to the huge zero page: try for a real 2 MiB page. */
		spin_unlock(&mm->page_table_lock);
		struct page *page = alloc_thp();
		spin_lock(&mm->page_table_lock);
		if (pte_read(pmd) != v) {               /* changed meanwhile: retry */
			spin_unlock(&mm->page_table_lock);
			if (page)
				put_page(page);
			return 0;
		}
		if (!page) {
			stat_inc(NR_THP_FAULT_FALLBACK, 1);
			split_huge_pmd(mm, pmd, haddr);         /* 512 zero-page PTEs */
			goto pte_level;
		}
		map_thp(mm, vma, pmd, haddr, page);
		goto done;
	}
	if (v & PTE_P)
		goto pte_level;                 /* a page table is there already */
	spin_unlock(&mm->page_table_lock);
	if (small_only || !thp_vma_allowed(vma, addr))
		return 1;
	khugepaged_enter(mm);           /* its small pages may be collapsed later */

	/* Nothing mapped in an eligible range. Linux prepares the anon_vma
	 * here, before it knows whether the fault gets a huge page at all. */
	vma_anon_prepare(vma);
	struct page *page = NULL, *hzp = NULL;
	if (write) {
		page = alloc_thp();
		if (!page) {
			stat_inc(NR_THP_FAULT_FALLBACK, 1);
			return 1;
		}
	} else {
		hzp = get_huge_zero_page();
		if (!hzp)
			return 1;               /* 4 KiB zero pages will do */
	}
	spin_lock(&mm->page_table_lock);
	pmd = pgtable_walk_alloc(mm, haddr, 2);
	if (!pmd || pte_read(pmd) != 0 || !thp_deposit_table(mm)) {
		/* No memory for a table, or someone mapped here meanwhile. */
		bool raced = pmd && pte_read(pmd) != 0;
		spin_unlock(&mm->page_table_lock);
		if (page) {
			put_page(page);
			if (!raced)
				stat_inc(NR_THP_FAULT_FALLBACK, 1);
		}
		return raced ? 0 : (pmd ? 1 : -ENOMEM);
	}
	if (page)
		map_thp(mm, vma, pmd, haddr, page);
	else
		pte_set(pmd, mk_pmd(page_to_phys(hzp), vma->flags, false) | PTE_SPECIAL);
done:
	spin_unlock(&mm->page_table_lock);
	return 0;
pte_level:
	spin_unlock(&mm->page_table_lock);
	return 1;
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
			tlb_track_range(tlb, a, HPAGE_SIZE, 2);
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
