/* SPDX-License-Identifier: MIT */
/* mm/pgtable.h - the user page tables of an address space: one API over the
 * four x86-64 levels.
 *
 *   PT_PML4 (4)  PML4  (mm->pgd_phys)   one entry covers 512 GiB
 *   PT_PUD  (3)  PDPT                   one entry covers 1 GiB
 *   PT_PMD  (2)  PD                     one entry covers 2 MiB
 *   PT_PTE  (1)  PT                     one entry maps one 4 KiB page (the PTE)
 *
 * Upper-level entries of user tables are always P|W|U and never NX: the
 * rights of a translation are the intersection over the levels, so the leaf
 * alone decides. Leaves are 4 KiB PTEs, or 2 MiB PMDs with PS set (mm/thp.h):
 * the walkers below stop at a huge PMD (pgtable_walk returns NULL there,
 * pte_next_mapped skips it), and callers deal with huge PMDs first.
 *
 * Software bits (ignored by the MMU): PTE_SPECIAL marks a mapping that owns
 * no page reference (the shared zero page); PTE_UFFD_WP marks an entry
 * write-protected by userfaultfd, and alone it is a marker in an empty entry
 * (mm/userfaultfd.h); PTE_PROTNONE keeps a page owned by a PROT_NONE
 * VMA with P clear (Linux does the same with its _PAGE_PROTNONE), so that
 * mprotect back gives the contents back. "Mapped" means P or PROTNONE.
 *
 * Accounting: every table below the PML4 is counted in mm->pgtable_pages
 * (VmPTE) and globally (NR_PAGETABLE, by pagetable_alloc()).
 *
 * Locking (docs/madvise.md, "Split page-table locks"): two levels of lock,
 * always taken in this order:
 *   1. mm->page_table_lock, "the PMD lock": every entry above the PTEs -
 *      hooking in or unhooking a table at any level, huge PMDs (mm/thp.h),
 *      the deposited tables;
 *   2. the PTE lock of one PTE table (a word lock in its struct page, ptl):
 *      the 512 entries of that table.
 * Both are spinlocks taken with interrupts enabled, so a CPU spinning on one
 * still answers TLB-flush IPIs. Faults and MADV_DONTNEED on different 2 MiB
 * pieces of one address space so take different locks (Linux's split
 * ptlocks). Holding a PTE lock, the PMD lock may only be TRIED (the order
 * above): page-table reclaim in pgtable.c does so, and when the try fails it
 * drops the PTE lock, takes both in order and checks again.
 *   To lock the PTE for addr, pte_offset_map_lock() reads the PMD entry with
 * no lock (inside rcu_read_lock: a table unhooked meanwhile is not freed
 * before a grace period), locks that table, and re-reads the PMD: if it no
 * longer points to the table (reclaimed, or replaced), it unlocks and looks
 * again. Holding a table's lock with the PMD still pointing at it, the table
 * cannot be unhooked: reclaim holds both locks to do that.
 * Holding mmap_lock for write (fork, munmap, mprotect, exit) excludes every
 * other writer of entries (they hold mmap_lock for read at least). munmap,
 * mprotect and exit still take the locks where they change entries (they
 * share the zap and the walk with the read-lock paths); fork's copy takes
 * none: the parent's tables cannot change under its write lock, and the
 * child is not yet visible to anyone.
 *
 * Freeing (the project's rule): unmap, flush the TLBs, then free. The
 * mmu_gather (mm/mmu_gather.h) collects the pages and tables removed here
 * until it has flushed every CPU that may cache them; tables also wait for an
 * RCU grace period, because some walkers read them with no lock at all
 * (pgtable_leaf() below, pte_offset_map_lock's first look, mm/gup_fast.c).
 */
#ifndef PAGODA_MM_PGTABLE_H
#define PAGODA_MM_PGTABLE_H

#include "kernel/types.h"
#include "mm/paging.h"
#include "mm/page.h"
#include "mm/mm.h"
#include "kernel/spinlock.h"

#define PTE_SPECIAL  (1UL << 9)  /* no page reference behind it (zero page) */
#define PTE_UFFD_WP  (1UL << 10) /* userfaultfd write-protect (mm/userfaultfd.h) */
#define PTE_PROTNONE (1UL << 11) /* P clear but the page still owned (PROT_NONE) */
/* Written since the last clear_refs "4" (docs/soft-dirty.md). Linux x86 uses
 * bit 11 (_PAGE_SOFT_DIRTY), taken here by PTE_PROTNONE; 52-58 are ignored
 * by the MMU in PTEs and huge PMDs alike (59-62 are protection keys). */
#define PTE_SOFT_DIRTY (1UL << 58)

/* Every upper-level entry of a user table (one that points to a table):
 * the leaf decides the rights (see above). */
#define TABLE_ENTRY_FLAGS (PTE_P | PTE_W | PTE_U)

/* The levels (enum pt_level, PT_PTE .. PT_PML4) and PT_LEVELS are in
 * mm/paging.h: the kernel's own tables have the same four. */

/* Bytes one entry of a level-`level` table covers. */
static inline u64 pgtable_span(enum pt_level level) { return 1UL << (PAGE_SHIFT + 9 * (level - 1)); }
/* Index of addr's entry in a level-`level` table. */
static inline unsigned pgtable_index(u64 addr, enum pt_level level)
{
	return (unsigned)((addr >> (PAGE_SHIFT + 9 * (level - 1))) & (PT_ENTRIES - 1));
}
/* The table an upper-level entry points to (direct-map address). */
static inline u64 *entry_table(u64 e) { return phys_to_virt(e & PTE_ADDR_MASK); }
static inline u64 *pgtable_root(struct mm_struct *mm) { return phys_to_virt(mm->pgd_phys); }

static inline bool pte_present(u64 e) { return (e & PTE_P) != 0; }
static inline bool pte_mapped(u64 e) { return (e & (PTE_P | PTE_PROTNONE)) != 0; }
static inline bool pte_write(u64 e) { return (e & PTE_W) != 0; }
static inline bool pte_special(u64 e) { return (e & PTE_SPECIAL) != 0; }
/* A userfaultfd marker: "empty, but write-protected" (mm/userfaultfd.h). */
static inline bool pte_uffd_marker(u64 e) { return e == PTE_UFFD_WP; }
static inline struct page *pte_page(u64 e) { return phys_to_page(e & PTE_ADDR_MASK); }

/* Entries are read once and written whole: the MMU sets A and D in them
 * concurrently, so clearing uses an atomic exchange and returns the last
 * value (with its dirty bit). */
static inline u64 pte_read(const u64 *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void pte_set(u64 *p, u64 e) { __atomic_store_n(p, e, __ATOMIC_RELEASE); }
static inline u64 pte_clear(u64 *p) { return __atomic_exchange_n(p, 0, __ATOMIC_SEQ_CST); }

/* Soft-dirty (docs/soft-dirty.md): the page was written since the last
 * clear_refs. The MMU sets D on a write through a writable entry without a
 * fault, so D counts as much as the software bit. */
static inline bool pte_soft_dirty(u64 e) { return (e & (PTE_SOFT_DIRTY | PTE_D)) != 0; }
/* What a write makes of an entry (Linux's pte_mkdirty): dirty, soft-dirty. */
static inline u64 pte_mkdirty(u64 e) { return e | PTE_D | PTE_SOFT_DIRTY; }
/* The entry without D, its soft-dirty state kept in the software bit (a
 * copy for fork's child, which starts clean in the hardware's eyes). */
static inline u64 pte_fold_dirty(u64 e)
{
	return (e & ~PTE_D) | (pte_soft_dirty(e) ? PTE_SOFT_DIRTY : 0);
}

/* --- rewriting a live entry (docs/soft-dirty.md, section 3) ---
 * A mapped entry (PTE or huge PMD) belongs to the MMU of every CPU that may
 * use it as much as to us: with a locked read-modify-write of its own, and
 * whatever locks we hold, the MMU sets A on an access and D on the first
 * write through a clean TLB entry. "v = read; store(f(v))" would wipe a D set
 * between the two: a write that happened and that nobody sees any more
 * (soft-dirty, pagemap). So an entry that may be present is never rewritten
 * with a plain store: either pte_modify() (compare-and-exchange, keeping
 * what the MMU added), pte_update() (the same for a change of some bits), or
 * pte_get_and_clear() (exchange with 0, as pte_clear) when the entry goes
 * away for a while (a PMD split). Plain pte_set() is for entries no MMU can
 * reach: empty ones, ones just cleared (and flushed where needed), tables
 * nobody has seen yet.
 * The caller holds the entry's lock (pgtable.h), so beside it only the MMU
 * changes the entry, by setting A or D, and gup_fast's lockless write pin
 * (mm/gup_fast.h), by setting D and PTE_SOFT_DIRTY. Narrowing rights still
 * needs its TLB flush (mmu_gather.h): a CPU with a stale writable TLB entry
 * may set D in the new, read-only entry until then, which these helpers keep
 * too (the write did happen). */

/* Replace *p, which the caller read as old, by new computed from old; A and
 * D that the MMU set since the read are carried into new. Returns the value
 * replaced (old with those bits). */
u64 pte_modify(u64 *p, u64 old, u64 new);
/* Clear the bits `clear`, then set `set`, in *p in one atomic step (D set
 * meanwhile by the MMU is not lost, except where `clear` asks for it: the
 * write then came before this call). Returns the value replaced. */
u64 pte_update(u64 *p, u64 clear, u64 set);
/* Exchange *p, which the caller read as old, with 0; returns the value
 * taken out (old with the A and D set since), which is what the caller
 * must build on. */
u64 pte_get_and_clear(u64 *p, u64 old);
/* The negative control "pte_debug_racy_modify": pte_modify and
 * pte_get_and_clear store what the caller computed from its read, losing
 * what the MMU set meanwhile. pte_debug_modify_hook, if set, runs in both
 * between the caller's read and the write (tests make another CPU write
 * through the entry there). The command line is read by softdirty_init()
 * (mm/softdirty.h), with the other soft-dirty control. */
extern bool pte_debug_racy_modify;
extern void (*pte_debug_modify_hook)(u64 *p, u64 old);

/* The leaf entry for a page at phys in a VMA with vm_flags; writable only
 * when asked (a zero-page mapping never is). PROT_NONE gives PTE_PROTNONE. */
u64 mk_pte(u64 phys, u32 vm_flags, bool writable);

/* The level-`level` entry for addr (PT_PTE = the PTE), or NULL when a table
 * above it is missing. */
u64 *pgtable_walk(struct mm_struct *mm, u64 addr, enum pt_level level);
/* The same, allocating missing tables; NULL on -ENOMEM. Caller holds
 * page_table_lock (or is the only user of mm). */
u64 *pgtable_walk_alloc(struct mm_struct *mm, u64 addr, enum pt_level level);
/* What maps the 4 KiB page at addr, as a PTE value: the PTE itself, or for
 * a huge PMD (mm/thp.h) the entry a split would give that page; 0 if
 * nothing. A snapshot read with no lock (inside rcu_read_lock, so the
 * tables stay readable): for readers that look (tests, checkers). */
u64 pgtable_leaf(struct mm_struct *mm, u64 addr);

/* --- PTE locks --- */

/* The PTE for addr with its table's lock held (*ptl: unlock it with
 * pte_unmap_unlock), or NULL when no PTE table is there (nothing, or a huge
 * PMD). Caller holds mmap_lock (read is enough) - or, for a shared VMA of
 * another address space, its object's mappers lock (zap_mapping_range) -
 * and no PTE lock. */
u64 *pte_offset_map_lock(struct mm_struct *mm, u64 addr, u32 **ptl);
static inline void pte_unmap_unlock(u32 *ptl) { word_unlock(ptl); }
/* The same, first allocating the tables down to the PTE table under
 * page_table_lock if they are missing. NULL with *err = -ENOMEM, or with
 * *err = 0 when a huge PMD maps addr (mm/thp.h: the caller retries). */
u64 *pte_alloc_map_lock(struct mm_struct *mm, u64 addr, u32 **ptl, int *err);
/* The lock word of the PTE table a (present, non-huge) PMD value points to. */
static inline u32 *pmd_ptl(u64 pmdval) { return &phys_to_page(pmdval & PTE_ADDR_MASK)->ptl; }
/* The first address in [a, end) that a PTE table covers (end if none):
 * skips empty upper-level entries and huge PMDs. Reads the upper levels with
 * no lock: the caller holds mmap_lock, and only munmap and exit (holding it
 * for write) free tables above the PTEs - or it holds the mappers lock of a
 * shared object with a VMA over [a, end), whose tables stay until that VMA
 * has left the object's list (mm/shared_anon.h). */
u64 pte_table_next(struct mm_struct *mm, u64 a, u64 end);
/* The first mapped PTE at an address in [*addr, end): sets *addr to it and
 * returns the entry, or NULL (with *addr >= end). Skips missing tables whole. */
u64 *pte_next_mapped(struct mm_struct *mm, u64 *addr, u64 end);

/* Call fn(e, addr, arg) for every mapped PTE in [start, end), one PTE table
 * at a time under its lock (fn must not sleep or take page-table locks).
 * Huge PMDs are skipped: callers deal with them first (thp.h). Caller holds
 * mmap_lock (read is enough) and no page-table lock. */
void pte_range_apply(struct mm_struct *mm, u64 start, u64 end,
		     void (*fn)(u64 *e, u64 addr, void *arg), void *arg);

/* --- unmapping (through an mmu_gather: mm/mmu_gather.h) --- */
struct mmu_gather;

/* Clear every PTE and huge PMD in [start, end), adjusting rss, and queue
 * the pages in tlb (their map counts drop at its next flush). Takes the
 * page-table locks itself, one PTE table at a time; caller holds mmap_lock
 * (read is enough) and no page-table lock - or is exit_mmap, the last user,
 * when no other thread can reach the address space (as Linux's exit_mmap
 * zaps before it takes the write lock). */
void zap_range(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb);
/* The zap of MADV_REMOVE, fallocate's punch and a shrink (mm/shared_anon.c:
 * Linux's unmap_mapping_range): the PTEs of [start, end), inside a VMA of
 * mm that maps an object, from a caller that holds not mm's mmap_lock but
 * the VMA's object's mappers lock (which keeps the VMA and the upper-level
 * tables under it). It frees no page table: only mm's own mmap_lock
 * holders may (Linux's unmap_mapping_range frees none either). even_cows
 * false (a punch): in a private mapping of the object only the object's
 * own pages (PG_shmem) go, its private copies stay, as Linux's. */
void zap_mapping_range(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb,
		       bool even_cows);
/* zap_range also frees the PTE tables it leaves empty ("pt_reclaim=0" on
 * the command line: it does not); pt_reclaimed counts them, and
 * pt_reclaim_rescans the ones that needed the slow path (the PMD lock was
 * busy, or the PTE lock had been dropped mid-table). The negative control
 * "pt_debug_trust_walk" takes the fast path even after the lock was
 * dropped - Linux's 2025 bug: a table refilled meanwhile is freed anyway.
 * zap_debug_unlocked_hook, if set, runs each time a zap has dropped a PTE
 * lock mid-table (tests use it to fault into that window). */
extern bool pt_reclaim;
extern bool pt_debug_trust_walk;
extern u64 pt_reclaimed, pt_reclaim_rescans;
extern void (*zap_debug_unlocked_hook)(struct mm_struct *mm, u64 addr);

/* Unhook the tables that cover only addresses inside [start, end) with no
 * VMA left and queue them in tlb (freed after the flush and a grace
 * period). Caller holds mmap_lock for write (no page-table lock: taken
 * here), or is exit_mmap, the last user; the VMAs of the range are already
 * removed. */
void free_pgtables(struct mm_struct *mm, u64 start, u64 end, struct mmu_gather *tlb);

#endif
