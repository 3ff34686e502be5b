/* SPDX-License-Identifier: MIT */
/* mm/khugepaged.c - collapsing small pages into a huge page: the scan of a
 * 2 MiB piece, the collapse and the retract of its PTE table, MADV_COLLAPSE
 * and the background collapser; see khugepaged.h and docs/thp.md. */
#include "mm/khugepaged.h"
#include "mm/deferred_split.h"
#include "mm/thp.h"
#include "mm/vma.h"
#include "mm/vma_lock.h"
#include "mm/pgtable.h"
#include "mm/mmu_gather.h"
#include "mm/tlbflush.h"
#include "mm/userfaultfd.h"
#include "mm/buddy.h"
#include "kernel/sched.h"
#include "kernel/time.h"
#include "kernel/rcu.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/trace.h"

bool khugepaged_enabled;
u32 khugepaged_pages_to_scan = 4096;
u32 khugepaged_sleep_ms = 10000;
u32 khugepaged_max_ptes_none = HPAGE_NR - 1;
u32 khugepaged_max_ptes_shared = HPAGE_NR / 2;
u32 khugepaged_alloc_sleep_ms = 60000;
u32 khugepaged_max_ptes_swap = HPAGE_NR / 8;
bool khugepaged_defrag = true;
u64 khugepaged_pages_collapsed;
u64 khugepaged_full_scans;
bool collapse_debug_free_table_now;
bool collapse_debug_skip_pmd_recheck;
bool collapse_debug_skip_flush;
void (*collapse_debug_window_hook)(struct mm_struct *mm, u64 haddr);
void (*collapse_debug_copied_hook)(struct mm_struct *mm, u64 haddr);

/* What one collapse carries from its scan to its retract. */
struct collapse_control {
	bool is_khugepaged;     /* the limits max_ptes_none/shared apply */
	u64 pmdval;             /* the PMD the scan read: its PTE table */
};

/* --- eligibility --- */

bool collapse_vma_allowed(const struct vm_area *vma, u64 haddr, bool enforce_sysfs)
{
	/* Linux: a VMA without an anon_vma (no anonymous fault yet) is not
	 * eligible, even where its pieces are empty and the call would give 0. */
	if (!(vma->flags & VM_ANON_VMA))
		return false;
	if (enforce_sysfs)
		return thp_vma_allowed(vma, haddr);
	/* Linux 6.1's hugepage_vma_check without enforce_sysfs: "thp=" does
	 * not matter, VM_NOHUGEPAGE does. Shared memory is shmem there and is
	 * collapsed into the page cache; Pagoda has no shared huge pages. */
	if ((vma->flags & (VM_SHARED | VM_NOHUGEPAGE)) || vma->shared)
		return false;
	if (!(vma->flags & (VM_READ | VM_WRITE | VM_EXEC)))
		return false;
	return vma->end - vma->start >= HPAGE_SIZE && haddr >= vma->start &&
	       haddr <= vma->end - HPAGE_SIZE;
}

static bool userfaultfd_armed(const struct vm_area *vma)
{
	return (vma->flags & (VM_UFFD_MISSING | VM_UFFD_WP)) != 0;
}

/* --- the rule for one piece (khugepaged.h) --- */

struct scan_state {
	u32 none_or_zero, shared;
	bool writable, referenced;
	struct page *counted_head;      /* last compound whose count was checked */
};

/* A page's references are all explained by its mappings: for a compound
 * page (a split THP) the references sit on the head and the map counts on
 * each piece (mm/thp.h), so their sum must match. A pin, an I/O or a GUP in
 * flight adds one (Linux's is_refcount_suitable). */
static bool refcount_suitable(struct page *page, struct scan_state *s)
{
	struct page *head = compound_head(page);
	if (!(head->flags & PG_head))
		return page_refcount(page) == page_mapcount(page);
	if (head == s->counted_head)
		return true;
	s64 maps = 0;
	for (u32 i = 0; i < (1u << head->order); i++)
		maps += page_mapcount(&head[i]);
	s->counted_head = head;
	return page_refcount(head) == maps;
}

static bool is_zero_pte(u64 e)
{
	return pte_present(e) && pte_special(e) && pte_page(e) == zero_page;
}

/* One entry of the piece (Linux's order of checks). */
static enum scan_result scan_pte(const struct vm_area *vma, u64 e, bool khugepaged,
				 struct scan_state *s)
{
	if (pte_uffd_marker(e))
		return SCAN_PTE_UFFD_WP;
	if (e == 0 || is_zero_pte(e)) {
		s->none_or_zero++;
		/* A VMA registered with userfaultfd: an empty entry is a fault
		 * its handler expects to see; no zeros may fill it. */
		if (userfaultfd_armed(vma) ||
		    (khugepaged && s->none_or_zero > READ_ONCE(khugepaged_max_ptes_none)))
			return SCAN_EXCEED_NONE_PTE;
		return SCAN_SUCCEED;
	}
	if (e & PTE_UFFD_WP)
		return SCAN_PTE_UFFD_WP;
	if (!pte_present(e))
		return SCAN_PTE_NON_PRESENT;
	s->writable |= pte_write(e);
	if (pte_special(e) || !pfn_valid((e & PTE_ADDR_MASK) >> PAGE_SHIFT))
		return SCAN_PAGE_NULL;
	struct page *page = pte_page(e);
	if (!(compound_head(page)->flags & PG_anon))
		return SCAN_PAGE_ANON;
	/* Shared as Linux counts it: a parent's huge PMD over the whole THP
	 * maps this piece too (thp_piece_mapcount). */
	if (khugepaged && thp_piece_mapcount(page) > 1 &&
	    ++s->shared > READ_ONCE(khugepaged_max_ptes_shared))
		return SCAN_EXCEED_SHARED_PTE;
	if (!refcount_suitable(page, s))
		return SCAN_PAGE_COUNT;
	s->referenced |= (e & PTE_A) != 0;
	return SCAN_SUCCEED;
}

/* The verdict on 512 entries: one scan_pte each, then the totals. */
static enum scan_result scan_ptes(const struct vm_area *vma, const u64 *ptes, bool khugepaged)
{
	struct scan_state s = { 0 };
	for (u32 i = 0; i < HPAGE_NR; i++) {
		enum scan_result r = scan_pte(vma, pte_read(&ptes[i]), khugepaged, &s);
		if (r != SCAN_SUCCEED)
			return r;
	}
	if (!s.writable)
		return SCAN_PAGE_RO;    /* nothing written, or all shared copy-on-write */
	if (khugepaged && !s.referenced)
		return SCAN_LACK_REFERENCED_PAGE;
	return SCAN_SUCCEED;
}

/* What a PMD holds, when it is not a PTE table. */
static enum scan_result pmd_result(u64 v)
{
	if (v == 0)
		return SCAN_PMD_NONE;
	if (pmd_huge(v))
		return SCAN_PMD_MAPPED;
	return (v & PTE_P) ? SCAN_SUCCEED : SCAN_PMD_NULL;
}

/* Linux's hpage_collapse_scan_pmd: may [haddr, +2 MiB) of vma be collapsed?
 * On SCAN_SUCCEED cc->pmdval is the PMD (its table) that was read. Caller
 * holds mmap_lock (read is enough). */
static enum scan_result hpage_collapse_scan_pmd(struct mm_struct *mm, struct vm_area *vma,
						u64 haddr, struct collapse_control *cc)
{
	u64 *pmd = pgtable_walk(mm, haddr, PT_PMD);
	if (!pmd)
		return SCAN_PMD_NULL;
	u32 *ptl;
	u64 *ptes = pte_offset_map_lock(mm, haddr, &ptl);
	if (!ptes) {
		enum scan_result r = pmd_result(pte_read(pmd));
		return r == SCAN_SUCCEED ? SCAN_PMD_CHANGED : r;
	}
	/* Locked with the PMD pointing at it: it stays hooked in meanwhile. */
	cc->pmdval = pte_read(pmd);
	enum scan_result r = scan_ptes(vma, ptes, cc->is_khugepaged);
	pte_unmap_unlock(ptl);
	return r;
}

/* --- the collapse --- */

static struct page *collapse_alloc_page(void)
{
	/* Not zeroed: every 4 KiB piece is written by the copy. */
	struct page *page = alloc_pages(__GFP_COMP, HPAGE_ORDER);
	if (!page) {
		vm_stat_add(NR_THP_COLLAPSE_ALLOC_FAILED, 1);
		return NULL;
	}
	vm_stat_add(NR_THP_COLLAPSE_ALLOC, 1);
	page->flags |= PG_anon | PG_exclusive;  /* the collapse's own copy */
	return page;
}

/* Put the taken-out entries back and hook the table in again: the abort
 * of a retract. page_table_lock held; nobody can reach the table (the PMD
 * is clear), so plain stores do. */
static void restore_pte_table(u64 *pmd, u64 pmdval, const u64 *old)
{
	u64 *ptes = entry_table(pmdval);
	for (u32 i = 0; i < HPAGE_NR; i++)
		pte_set(&ptes[i], old[i]);
	pte_set(pmd, pmdval);
}

/* Step 3 (khugepaged.h): unhook the scanned table, flush, take its entries
 * out into old[] and check them again. SCAN_SUCCEED: the PMD is clear and
 * old[] holds what the table mapped; otherwise all is as it was. */
static enum scan_result retract_pte_table(struct mm_struct *mm, struct vm_area *vma, u64 *pmd,
					  u64 haddr, struct collapse_control *cc, u64 *old)
{
	spin_lock(&mm->page_table_lock);
	u64 v = pte_read(pmd);
	/* Since the scan we held no lock: a zap may have emptied and freed
	 * the table (page-table reclaim), a fault put another table or a huge
	 * PMD there. Only the table we scanned may be retracted. */
	if (v != cc->pmdval && !collapse_debug_skip_pmd_recheck) {
		spin_unlock(&mm->page_table_lock);
		enum scan_result r = pmd_result(v);
		return r == SCAN_SUCCEED ? SCAN_PMD_CHANGED : r;
	}
	/* Out of the tree, then out of every TLB and paging-structure cache
	 * (lazy CPUs too: a table leaves): from here no MMU sets A or D in
	 * its entries and no CPU writes the old pages through a stale entry. */
	pte_clear(pmd);
	if (!collapse_debug_skip_flush)
		flush_tlb_mm_range(mm, haddr, haddr + HPAGE_SIZE, PAGE_SHIFT, true);
	u32 *ptl = pmd_ptl(cc->pmdval);
	u64 *ptes = entry_table(cc->pmdval);
	word_lock(ptl);
	/* Exchange, not read: a lockless GUP that read an entry before the
	 * flush re-reads it after taking its reference, finds it empty and
	 * lets go (gup_fast.c); one that was quicker shows in the counts. */
	for (u32 i = 0; i < HPAGE_NR; i++)
		old[i] = pte_clear(&ptes[i]);
	enum scan_result r = scan_ptes(vma, old, cc->is_khugepaged);
	word_unlock(ptl);
	if (r != SCAN_SUCCEED)
		restore_pte_table(pmd, cc->pmdval, old);
	spin_unlock(&mm->page_table_lock);
	return r;
}

/* Step 4's copy: each 4 KiB of the new page from the old page, or zeros. */
static void copy_old_pages(struct page *page, const u64 *old)
{
	u8 *dst = page_address(page);
	for (u32 i = 0; i < HPAGE_NR; i++, dst += PAGE_SIZE) {
		u64 e = old[i];
		if (e == 0 || is_zero_pte(e))
			page_fill(dst, 0, PAGE_SIZE);
		else
			memcpy(dst, page_address(pte_page(e)), PAGE_SIZE);
	}
}

/* Step 5: the old pages (their map counts and references drop after the
 * gather's flush) and the old table (after the flush and a grace period). */
static void release_old(struct mm_struct *mm, struct mmu_gather *tlb, const u64 *old,
			u64 pmdval)
{
	s64 pages = 0;
	for (u32 i = 0; i < HPAGE_NR; i++) {
		u64 e = old[i];
		if (e == 0 || pte_special(e))
			continue;
		pages++;
		if (tlb_remove_page(tlb, pte_page(e)))
			tlb_flush_mmu(tlb);
	}
	mm_add_rss(mm, -pages);
	struct page *table = phys_to_page(pmdval & PTE_ADDR_MASK);
	if (collapse_debug_free_table_now)
		pagetable_free(table);          /* the negative control: no grace period */
	else
		tlb_remove_table(tlb, table);
}

/* Steps 3-5 with mmap_lock held for write and vma write-locked. */
static enum scan_result collapse_locked(struct mm_struct *mm, struct vm_area *vma, u64 haddr,
					struct page *page, struct collapse_control *cc, u64 *old)
{
	u64 *pmd = pgtable_walk(mm, haddr, PT_PMD);
	if (!pmd)
		return SCAN_PMD_NULL;
	enum scan_result r = retract_pte_table(mm, vma, pmd, haddr, cc, old);
	if (r != SCAN_SUCCEED)
		return r;
	/* Nobody else can fill the empty PMD: faults, zaps and GUP of this
	 * range all need the locks we hold. Copy with no spinlock held. */
	copy_old_pages(page, old);
	if (collapse_debug_copied_hook)
		collapse_debug_copied_hook(mm, haddr);
	spin_lock(&mm->page_table_lock);
	if (!thp_deposit_table(mm)) {
		restore_pte_table(pmd, cc->pmdval, old);
		spin_unlock(&mm->page_table_lock);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	thp_install_pmd(mm, vma, pmd, haddr, page);
	trace_event(TR_THP_COLLAPSE, haddr, mm->pgd_phys);
	mm->pgtable_pages--;                    /* the old table */
	spin_unlock(&mm->page_table_lock);
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	release_old(mm, &tlb, old, cc->pmdval);
	tlb_finish_mmu(&tlb);
	return SCAN_SUCCEED;
}

/* Linux's collapse_huge_page: the piece at haddr was scanned (cc) with
 * mmap_lock held, now released. Allocate, lock, look again, collapse. */
static enum scan_result collapse_huge_page(struct mm_struct *mm, u64 haddr,
					   struct collapse_control *cc)
{
	struct page *page = collapse_alloc_page();
	struct page *scratch = page ? alloc_page(0) : NULL;
	if (!scratch) {
		if (page)
			put_page(page);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	if (collapse_debug_window_hook)
		collapse_debug_window_hook(mm, haddr);
	mmap_write_lock(mm);
	enum scan_result r = SCAN_VMA_NULL;
	struct vm_area *vma = vma_find(mm->vma_root, haddr);
	if (vma && !collapse_vma_allowed(vma, haddr, cc->is_khugepaged))
		r = SCAN_VMA_CHECK;
	else if (vma) {
		/* Fast-path faults in this VMA finish now and no new one
		 * starts until we unlock (mm/vma_lock.h). */
		vma_start_write(vma);
		r = collapse_locked(mm, vma, haddr, page, cc, page_address(scratch));
	}
	mmap_write_unlock(mm);
	free_page(scratch);
	if (r != SCAN_SUCCEED)
		put_page(page);
	return r;
}

/* --- MADV_COLLAPSE --- */

/* Linux's madvise_collapse_errno. */
static long collapse_errno(enum scan_result r)
{
	switch (r) {
	case SCAN_ALLOC_HUGE_PAGE_FAIL:
		return -ENOMEM;
	case SCAN_PAGE_COUNT:
	case SCAN_PMD_CHANGED:
		return -EAGAIN;         /* temporary: trying again may succeed */
	default:
		return -EINVAL;         /* intrinsic to the range */
	}
}

/* Results after which MADV_COLLAPSE goes on with the next piece (Linux's
 * list); any other failure ends the call. */
static bool collapse_may_continue(enum scan_result r)
{
	switch (r) {
	case SCAN_PMD_NULL: case SCAN_PTE_NON_PRESENT: case SCAN_PTE_UFFD_WP:
	case SCAN_PAGE_RO: case SCAN_LACK_REFERENCED_PAGE: case SCAN_PAGE_NULL:
	case SCAN_PAGE_COUNT: case SCAN_PMD_CHANGED:
		return true;
	default:
		return false;
	}
}

/* One piece: scan under mmap_lock for read, collapse under it for write. */
static enum scan_result collapse_one(struct mm_struct *mm, u64 haddr, bool khugepaged)
{
	struct collapse_control cc = { .is_khugepaged = khugepaged };
	down_read(&mm->mmap_lock);
	struct vm_area *vma = vma_find(mm->vma_root, haddr);
	enum scan_result r = SCAN_VMA_NULL;
	if (vma)
		r = collapse_vma_allowed(vma, haddr, khugepaged) ?
		    hpage_collapse_scan_pmd(mm, vma, haddr, &cc) : SCAN_VMA_CHECK;
	up_read(&mm->mmap_lock);
	if (r != SCAN_SUCCEED)
		return r;
	return collapse_huge_page(mm, haddr, &cc);
}

/* The pieces of [start, end), all inside one VMA that was found eligible
 * (Linux's madvise_collapse for one VMA). */
static long collapse_vma_range(struct mm_struct *mm, u64 start, u64 end)
{
	u64 hstart = (start + HPAGE_SIZE - 1) & HPAGE_MASK, hend = end & HPAGE_MASK;
	/* Linux 6.1's count, unsigned: a range inside one piece (hend below
	 * hstart) "wants" a huge number of pieces and fails with EINVAL; one
	 * that only meets a piece boundary wants none and succeeds. */
	u64 wanted = (hend - hstart) >> HPAGE_SHIFT, thps = 0;
	enum scan_result last_fail = SCAN_FAIL;
	for (u64 a = hstart; a < hend; a += HPAGE_SIZE) {
		enum scan_result r = collapse_one(mm, a, false);
		if (r == SCAN_SUCCEED || r == SCAN_PMD_MAPPED) {
			thps++;
			continue;
		}
		last_fail = r;
		if (!collapse_may_continue(r))
			break;
		cond_resched();
	}
	return thps == wanted ? 0 : collapse_errno(last_fail);
}

long madvise_collapse(struct mm_struct *mm, u64 start, u64 end)
{
	bool hole = false;
	for (u64 a = start; a < end;) {
		down_read(&mm->mmap_lock);
		struct vma_set *s = mm->vma_root;
		u32 i = vma_index(s, a);
		struct vm_area *v = i < s->nr ? s->v[i] : NULL;
		if (!v || v->start >= end) {
			up_read(&mm->mmap_lock);
			return -ENOMEM;         /* the rest of the range is a hole */
		}
		hole |= v->start > a;
		u64 lo = MAX(a, v->start), hi = MIN(end, v->end);
		/* The VMA as a whole: its last 2 MiB piece must fit (Linux's
		 * transhuge_vma_suitable at vm_end), THP must be allowed. */
		bool ok = collapse_vma_allowed(v, v->end >= HPAGE_SIZE ?
					       (v->end - HPAGE_SIZE) & HPAGE_MASK : 0, false);
		up_read(&mm->mmap_lock);
		if (!ok)
			return -EINVAL;
		long err = collapse_vma_range(mm, lo, hi);
		if (err)
			return err;
		a = hi;
	}
	return hole ? -ENOMEM : 0;
}

/* --- the background collapser --- */

/* The address spaces it scans (Linux's mm_slot list), each grabbed. */
#define KHUGEPAGED_SLOTS 512
static struct mm_struct *slots[KHUGEPAGED_SLOTS];
static u64 slot_address[KHUGEPAGED_SLOTS];     /* where its next pass resumes */
static u32 nr_slots, scan_cursor;
static spinlock_t slots_lock;
static struct rwsem scan_serial;        /* used as a mutex */
static struct waitq khugepaged_wq;
static bool khugepaged_kicked;

void khugepaged_enter(struct mm_struct *mm)
{
	if (!READ_ONCE(khugepaged_enabled))
		return;
	spin_lock(&slots_lock);
	bool known = false;
	for (u32 i = 0; i < nr_slots && !known; i++)
		known = slots[i] == mm;
	if (!known && nr_slots < KHUGEPAGED_SLOTS) {
		mm_grab(mm);            /* the struct stays; the pages may go */
		slot_address[nr_slots] = 0;
		slots[nr_slots++] = mm;
	}
	spin_unlock(&slots_lock);
}

/* Remove slot i (slots_lock held): the last one takes its place. */
static struct mm_struct *remove_slot(u32 i)
{
	struct mm_struct *mm = slots[i];
	slots[i] = slots[--nr_slots];
	slot_address[i] = slot_address[nr_slots];
	return mm;
}

void khugepaged_exit(struct mm_struct *mm)
{
	struct mm_struct *gone = NULL;
	spin_lock(&slots_lock);
	for (u32 i = 0; i < nr_slots && !gone; i++)
		if (slots[i] == mm)
			gone = remove_slot(i);
	spin_unlock(&slots_lock);
	if (gone)
		mm_drop(gone);          /* not the last reference: the users' is */
}

/* The slot at the cursor, a user of its mm for the pass (NULL at the end
 * of a full scan). Address spaces that died meanwhile are dropped here. */
static struct mm_struct *next_slot_mm(u32 *index)
{
	for (;;) {
		spin_lock(&slots_lock);
		if (scan_cursor >= nr_slots) {
			scan_cursor = 0;
			spin_unlock(&slots_lock);
			return NULL;
		}
		u32 i = scan_cursor;
		struct mm_struct *mm = slots[i];
		if (mm_get_not_zero(mm)) {
			spin_unlock(&slots_lock);
			*index = i;
			return mm;
		}
		/* Gone (its last user is on its way out). */
		remove_slot(i);
		spin_unlock(&slots_lock);
		mm_drop(mm);
	}
}

/* The next eligible piece at or above a in mm (mmap_lock held), or 0. */
static u64 next_eligible_piece(struct mm_struct *mm, u64 a)
{
	struct vm_area *v;
	u64 cur = a;
	for_each_vma_range(mm, v, cur, USER_SPACE_END) {
		u64 h = (MAX(a, v->start) + HPAGE_SIZE - 1) & HPAGE_MASK;
		/* The mode and the flags are the VMA's: if its first whole
		 * piece may not, none of them may. */
		if (h >= v->start && h + HPAGE_SIZE > h && h + HPAGE_SIZE <= v->end &&
		    collapse_vma_allowed(v, h, true))
			return h;
	}
	return 0;
}

/* Scan mm from *addr for at most *budget pages; *addr becomes 0 when its
 * end was reached. Returns the pieces collapsed. */
static u32 scan_mm(struct mm_struct *mm, u64 *addr, u32 *budget)
{
	u32 collapsed = 0;
	while (*budget) {
		down_read(&mm->mmap_lock);
		u64 h = next_eligible_piece(mm, *addr);
		up_read(&mm->mmap_lock);
		if (!h) {
			*addr = 0;
			break;
		}
		*budget -= MIN(*budget, (u32)HPAGE_NR);
		*addr = h + HPAGE_SIZE;
		if (collapse_one(mm, h, true) == SCAN_SUCCEED) {
			collapsed++;
			__atomic_add_fetch(&khugepaged_pages_collapsed, 1, __ATOMIC_RELAXED);
		}
		cond_resched();
	}
	return collapsed;
}

u32 khugepaged_scan_pass(void)
{
	/* One pass at a time (the thread, or a test): slot indices stay put
	 * meanwhile except for appends. */
	down_write(&scan_serial);
	u32 budget = READ_ONCE(khugepaged_pages_to_scan), collapsed = 0, i;
	struct mm_struct *mm;
	while (budget && (mm = next_slot_mm(&i)) != NULL) {
		u64 addr = slot_address[i];
		collapsed += scan_mm(mm, &addr, &budget);
		spin_lock(&slots_lock);
		/* Unless an exit removed it meanwhile (khugepaged_exit moves
		 * the last slot into its place): then the cursor stays. */
		bool here = i < nr_slots && slots[i] == mm, wrapped = false;
		if (here)
			slot_address[i] = addr;
		if (here && !addr && ++scan_cursor >= nr_slots)
			wrapped = true; /* next_slot_mm starts over */
		spin_unlock(&slots_lock);
		mm_put(mm);             /* may be the last user: it is torn down here */
		if (wrapped)
			__atomic_add_fetch(&khugepaged_full_scans, 1, __ATOMIC_RELAXED);
	}
	up_write(&scan_serial);
	return collapsed;
}

void khugepaged_wake(void)
{
	u64 f = spin_lock_irqsave(&khugepaged_wq.lock);
	khugepaged_kicked = true;
	spin_unlock_irqrestore(&khugepaged_wq.lock, f);
	wake_up_all(&khugepaged_wq);
}

/* Sleep ms, or until khugepaged_wake(). */
static void khugepaged_sleep(u32 ms)
{
	struct sleep_timer timer;
	timer_add(&timer, ktime_ns() + (u64)ms * 1000000, &khugepaged_wq);
	u64 f = spin_lock_irqsave(&khugepaged_wq.lock);
	while (!READ_ONCE(timer.fired) && !khugepaged_kicked)
		sleep_on(&khugepaged_wq);
	khugepaged_kicked = false;
	spin_unlock_irqrestore(&khugepaged_wq.lock, f);
	timer_del(&timer);
}

static void khugepaged_thread(void *arg)
{
	(void)arg;
	for (;;) {
		u32 ms = READ_ONCE(khugepaged_sleep_ms);
		if (READ_ONCE(khugepaged_enabled)) {
			s64 failed = __atomic_load_n(&vm_stat[NR_THP_COLLAPSE_ALLOC_FAILED], __ATOMIC_RELAXED);
			khugepaged_scan_pass();
			/* Linux's khugepaged_alloc_sleep: no huge page for a
			 * collapse, so wait longer before the next try. */
			if (__atomic_load_n(&vm_stat[NR_THP_COLLAPSE_ALLOC_FAILED], __ATOMIC_RELAXED) != failed)
				ms = READ_ONCE(khugepaged_alloc_sleep_ms);
			/* Linux splits partly unmapped THPs only under memory
			 * pressure (its shrinker); a pass here gives their
			 * unmapped pieces back before anyone runs short. */
			deferred_split_scan(deferred_split_queue_len());
		}
		khugepaged_sleep(ms);
	}
}

static void read_u32_word(const char *key, u32 *var, u32 max)
{
	long v = cmdline_long(key, (long)*var);
	if (v >= 0 && (u64)v <= max)
		*var = (u32)v;
	else
		printk(KERN_WARNING "khugepaged: %s=%ld out of range (0..%u): keeping %u\n", key, v,
		       max, *var);
}

void khugepaged_init(void)
{
	spin_init(&slots_lock, "khugepaged_slots");
	waitq_init(&khugepaged_wq, "khugepaged");
	rwsem_init(&scan_serial, "khugepaged_scan");
	khugepaged_enabled = cmdline_long("khugepaged", 0) != 0;
	read_u32_word("khugepaged.pages_to_scan", &khugepaged_pages_to_scan, 1u << 30);
	read_u32_word("khugepaged.sleep_ms", &khugepaged_sleep_ms, 3600000);
	read_u32_word("khugepaged.max_ptes_none", &khugepaged_max_ptes_none, HPAGE_NR - 1);
	read_u32_word("khugepaged.max_ptes_shared", &khugepaged_max_ptes_shared, HPAGE_NR - 1);
	cmdline_debug_switch("khugepaged", "collapse_debug_skip_flush", &collapse_debug_skip_flush,
			     "the retract reads the PTE table WITHOUT flushing the TLBs first");
	cmdline_debug_switch("khugepaged", "collapse_debug_free_table_now",
			     &collapse_debug_free_table_now,
			     "the retract frees the old PTE table WITHOUT a grace period");
	cmdline_debug_switch("khugepaged", "collapse_debug_skip_pmd_recheck",
			     &collapse_debug_skip_pmd_recheck, "the retract does NOT re-check the PMD");
	if (!kthread_create("khugepaged", khugepaged_thread, NULL, 0))
		panic("khugepaged: cannot start the thread");
	if (khugepaged_enabled)
		printk("khugepaged: scanning %u pages every %u ms\n", khugepaged_pages_to_scan,
		       khugepaged_sleep_ms);
}
