/* SPDX-License-Identifier: MIT */
/* mm/thp.h - transparent huge pages for anonymous memory (docs/thp.md).
 *
 * A level-2 entry (PMD) with the PS bit maps 2 MiB at once: one TLB entry
 * and one fault instead of 512. Pagoda uses it where a private anonymous VMA
 * covers a whole 2 MiB-aligned range and THP is allowed there:
 * "thp=always" (every such VMA), "thp=madvise" (the default: VMAs given
 * MADV_HUGEPAGE) or "thp=never"; MADV_NOHUGEPAGE always wins.
 *
 *   read fault, nothing mapped     -> the huge zero page, read-only (special)
 *   write fault, nothing mapped    -> a new zeroed 2 MiB page, writable;
 *                                     none free: fall back to 4 KiB pages
 *   write fault on the huge zero   -> a new 2 MiB page replaces it (clear,
 *                                     flush, set); none free: split into 512
 *                                     zero-page PTEs and go on at PTE level
 *   write fault on a read-only THP -> reuse it when this mm is its only user,
 *     (after fork)                    else split and copy-on-write one 4 KiB
 *                                     page at PTE level
 *   write fault on a uffd-wp THP   -> sync: the handler; async: split, and
 *                                     the PTE level clears the one 4 KiB page
 *   unshare, or exec's need for a  -> split, and the PTE level makes the
 *     real page, on a huge PMD        4 KiB copy (the PMD unshare)
 *   munmap/mprotect/madvise/uffd   -> split first, then work on PTEs
 *     register of a part of a huge    (a VMA boundary never falls inside a
 *     PMD                              huge PMD: vma_adjust_trans_huge)
 * The faults are one function per kind in mm/huge_memory.c:
 * do_huge_pmd_anonymous_page (the first two rows), do_huge_zero_wp_pmd,
 * do_huge_pmd_wp_page, huge_pmd_uffd_wp and do_huge_pmd_unshare, reached
 * through huge_pmd_fault (below).
 *
 * Counting: a PMD mapping holds one reference and one map count on the head
 * page, one entire map count (below), and counts 512 pages in rss.
 * Splitting turns it into 512 PTEs, each with a reference (on the head, as
 * for any compound page) and a map count on its own 4 KiB page. The
 * compound allocation stays whole until the deferred split (mm/deferred_split.h)
 * gives back the pieces nobody maps.
 * Exclusivity (PG_exclusive) is the head's while a PMD maps it, then each
 * piece's own (mm/anon_exclusive.h).
 *
 * Splitting never fails: every huge PMD has a page table deposited beside it
 * when it is mapped (mm->pgtable_deposit, counted in VmPTE), which the split
 * fills and hooks in, and which a zap of the huge PMD frees (Linux does the
 * same). That table was never reachable by any walker or TLB, so it needs no
 * flush and no grace period.
 *
 * Locking: huge PMDs change under page_table_lock, the PMD lock (the PTEs
 * of a table under that table's own lock: mm/pgtable.h); faults hold
 * mmap_lock for read, range operations for write (MADV_DONTNEED: read).
 */
#ifndef PAGODA_MM_THP_H
#define PAGODA_MM_THP_H

#include "kernel/types.h"
#include "mm/mm.h"
#include "mm/paging.h"
#include "mm/fault.h"

#define HPAGE_SHIFT 21
#define HPAGE_SIZE (1UL << HPAGE_SHIFT)
#define HPAGE_MASK (~(HPAGE_SIZE - 1))
#define HPAGE_ORDER 9
#define HPAGE_NR 512

struct vm_area;
struct mmu_gather;

enum thp_mode { THP_NEVER, THP_MADVISE, THP_ALWAYS };
/* "thp=always|madvise|never" at boot; /sys/kernel/mm/transparent_hugepage/
 * enabled changes it at any time (mm/thp_sysfs.c): READ_ONCE it once per
 * decision. A change applies to the faults and scans that follow; huge
 * pages already mapped stay (as on Linux). */
extern enum thp_mode thp_mode;
void thp_set_mode(enum thp_mode mode);  /* at run time; may sleep */
/* Read faults map the huge zero page (true, Linux's default), or a new
 * 2 MiB page as a write fault would (false): .../use_zero_page. */
extern bool thp_use_zero_page;

static inline bool pmd_huge(u64 e)
{
	return (e & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS);
}

/* May the 2 MiB range around addr in vma be mapped by one PMD? */
bool thp_vma_allowed(const struct vm_area *vma, u64 addr);

/* A fault at PMD level (mm/fault.h), in a private VMA: a huge PMD maps
 * the address (do_huge_pmd_wp_page, the uffd-wp hand-off, the PMD unshare)
 * or nothing does and one may (do_huge_pmd_anonymous_page: a new 2 MiB
 * page, or the huge zero page). VM_FAULT_DONE, _USERFAULT or _OOM when it
 * was answered here; VM_FAULT_FALLBACK when the PTE level must go on
 * (nothing huge here, or a huge PMD was split). Caller holds mmap_lock for
 * read, or the VMA's read lock (mm/vma_lock.h); takes page_table_lock. */
struct vm_fault;
vm_fault_t huge_pmd_fault(struct vm_fault *vmf);

/* Turn the huge PMD *pmd (covering haddr) into a table of 512 PTEs with the
 * same rights. Caller holds page_table_lock. It flushes the 2 MiB entry from
 * every TLB before the table goes in (no translation may be cached at two
 * page sizes at once). */
void split_huge_pmd(struct mm_struct *mm, u64 *pmd, u64 haddr);

/* The rule: no huge PMD reaches over a VMA boundary. A VMA boundary is
 * about to be made at addr (mm/mmap.c split_at, the one place that makes
 * them inside mapped memory): split the huge PMD around it, if any. Takes page_table_lock; the
 * caller holds mmap_lock for write. Linux: vma_adjust_trans_huge(). */
void vma_adjust_trans_huge(struct mm_struct *mm, u64 addr);
extern bool thp_debug_skip_vma_split;  /* negative control: skip the above */
/* Huge PMDs found reaching outside their VMA by the range operations and
 * fork below, which split them instead of acting on them whole (a bug
 * elsewhere: it stays 0). */
extern u64 thp_straddle_splits;

/* Range operations: for each huge PMD meeting [start, end), a PMD wholly
 * inside is zapped (its page queued in tlb) / given the new rights; one
 * only partly inside, or reaching outside its VMA, is split. Take
 * page_table_lock (the caller holds no page-table lock). */
void zap_huge_pmds(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb);
void change_huge_pmds(struct mm_struct *mm, u64 start, u64 end, u32 vm_flags,
		      struct mmu_gather *tlb);

/* mremap (mm/mremap.h): the extent [old_addr, old_addr + extent) moves to
 * new_addr. If a huge PMD maps old_addr: when extent is the whole 2 MiB,
 * both addresses are 2 MiB aligned and the new PMD slot is empty, the
 * entry moves whole (flushed from the old address first, made soft-dirty,
 * the page's recorded address updated) and 1 is returned; otherwise it is
 * split (0: the PTE level moves the pieces). 0 when nothing huge is there,
 * -ENOMEM when no table for the new PMD. Takes page_table_lock. Linux:
 * move_huge_pmd, or split_huge_pmd when it refuses. */
int move_huge_pmd(struct mm_struct *mm, u64 old_addr, u64 new_addr, u64 extent);

/* userfaultfd (mm/userfaultfd.c): set or clear the write-protect bit of
 * the huge PMD *pmd mapping [haddr, haddr + 2 MiB), all of it in the range
 * being changed, in a VMA with flags vm_flags; recorded in tlb if it lost
 * the write right. Caller holds page_table_lock (the lock under which a
 * fault installs a huge PMD: docs/userfaultfd.md). */
void uffd_wp_huge_pmd(u64 *pmd, u64 haddr, u32 vm_flags, bool wp, struct mmu_gather *tlb);
/* clear_refs (mm/softdirty.h): clear the bits `clear` in every huge PMD
 * meeting [start, end), whole (never split). With tlb, those that lose
 * PTE_W are recorded for the flush. Takes page_table_lock. */
void clear_refs_huge_pmds(struct mm_struct *mm, u64 start, u64 end, u64 clear,
			  struct mmu_gather *tlb);
/* fork: copy the huge PMDs of vma into child (sharing THPs read-only, as
 * 4 KiB pages are shared); one reaching outside vma is split in the parent
 * instead, for the PTE copy. 0 or -ENOMEM. *wrprotected as copy_vma_pages. */
int copy_huge_pmds(struct mm_struct *parent, struct mm_struct *child,
		   const struct vm_area *vma, bool *wrprotected);

/* --- what a THP keeps in its tail pages ---
 * A tail page's refcount, lru and flags are unused (references are counted
 * on the head, map counts per page in mapcount), so a 2 MiB page keeps its
 * own bookkeeping there, as Linux keeps its folio fields in tail pages:
 *   head[1].refcount   the entire map count: huge PMDs mapping it (Linux's
 *                      entire_mapcount). It must be 0 again when the page is
 *                      freed: buddy.c refuses a tail with a nonzero refcount.
 *   head[1].lru        its link in the deferred split queue, and
 *   head[1].flags      PG_deferred_split while it is queued (deferred_split.h);
 *   head[2].lru        the mm recorded for the deferred split (.next, grabbed)
 *                      and the user address its 2 MiB are mapped at (.prev:
 *                      set by map_thp, moved by mremap's move_huge_pmd;
 *                      fork keeps addresses, so it is the same in every
 *                      mm. A move of PTE-mapped pieces by a multiple of
 *                      2 MiB moves it too; any other move leaves it stale,
 *                      and the drain then finds the references unexplained
 *                      and leaves the page queued: safe, never wrong).
 * head->mapcount keeps its meaning: PMD maps plus page 0's PTE maps. */
static inline s32 thp_entire_mapcount(const struct page *head)
{
	return __atomic_load_n(&head[1].refcount, __ATOMIC_RELAXED);
}

/* Linux's page_mapcount() of a 4 KiB page that may be a piece of a THP:
 * the entries that map it, where a huge PMD mapping its 2 MiB counts for
 * every piece (a tail's own mapcount holds only its PTE maps; the head's
 * holds the PMD maps already). After fork, a piece the child maps by a PTE
 * while the parent still maps the whole by its PMD is mapped twice: shared,
 * as khugepaged's max_ptes_shared counts it. */
static inline s32 thp_piece_mapcount(const struct page *p)
{
	const struct page *head = compound_head((struct page *)p);
	return page_mapcount(p) + (head != p ? thp_entire_mapcount(head) : 0);
}

/* The PMD map counts (a map count on the head, the entire map count,
 * AnonHugePages) change in page_add_pmd_rmap and page_remove_pmd_rmap
 * (mm/rmap.h). */

static inline u64 thp_mapped_address(const struct page *head)
{
	return (u64)head[2].lru.prev;
}

static inline void thp_set_mapped_address(struct page *head, u64 haddr)
{
	head[2].lru.prev = (struct list_head *)haddr;
}

/* For the collapse (mm/khugepaged.c), shared with the fault path:
 * deposit a spare page table for a huge PMD about to be installed (false:
 * no memory), and install the huge PMD mapping page (a new PG_anon 2 MiB
 * page, referenced once) at the empty *pmd of vma: one map count and the entire map count,
 * rss, AnonHugePages, the address it is mapped at (for the deferred split); dirty, young, writable iff the VMA is. page_table_lock held. */
bool thp_deposit_table(struct mm_struct *mm);
void thp_install_pmd(struct mm_struct *mm, const struct vm_area *vma, u64 *pmd,
		     u64 haddr, struct page *page);

/* Free the page tables still deposited when an address space dies. */
void thp_free_deposits(struct mm_struct *mm);

void thp_init(void);    /* reads "thp=" */

#endif
