/* SPDX-License-Identifier: MIT */
/* mm/mm.h - user address spaces: the contract between the memory manager
 * (mm/: address spaces, VMAs, user page tables, faults, mmap & co.) and the
 * process side (kernel/: processes, exec, the scheduler, system calls).
 *
 * An address space (struct mm_struct, Linux's name) is shared by the threads
 * of one process. Its lower half (user space, 0 .. USER_SPACE_END) is
 * described by VMAs and mapped by its own page tables; its upper half is the
 * kernel's, shared by every address space (the top-level entries 256..511
 * are copied from the kernel root when the address space is created, and
 * the kernel never adds top-level entries after boot).
 *
 * Locking (details in mm/vma.c and mm/pgtable.c):
 *   mmap_lock (reader/writer, may sleep): readers look at the VMA set
 *     (page faults, /proc/self/maps); writers change it (mmap, munmap,
 *     mprotect, brk, madvise, exit, fork copies the parent under it).
 *   page_table_lock (spinlock): the "PMD lock": held while changing the
 *     entries above the PTEs (hooking tables in and out, huge PMDs).
 *   the PTE lock of each PTE table (a word lock in its struct page): held
 *     while changing that table's entries (mm/pgtable.h).
 *   Lock order: mmap_lock, then page_table_lock, then a PTE lock, then
 *     page/zone locks.
 *
 * TLB rule (docs/tlb-shootdown.md, docs/mmu-gather.md): anything that
 * removes or narrows a translation flushes every CPU that may cache it and
 * waits (mm/tlbflush.h), and only then frees the pages and page tables it
 * unmapped (mm/mmu_gather.h does the ordering).
 */
#ifndef PAGODA_MM_MM_H
#define PAGODA_MM_MM_H

#include "kernel/types.h"
#include "kernel/spinlock.h"
#include "kernel/rwsem.h"
#include "arch/x86_64/percpu.h"
#include "mm/user_layout.h"      /* USER_SPACE_END, TASK_SIZE, MMAP_MIN_ADDR */

/* Linux's values (uapi asm-generic/mman-common.h, mman.h). */
#define PROT_NONE 0x0
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_GROWSDOWN 0x0100
#define MAP_NORESERVE 0x4000
#define MAP_POPULATE 0x8000
#define MAP_FIXED_NOREPLACE 0x100000

/* VMA flags (ours; Linux's VM_* have the same meaning). */
#define VM_READ 0x1
#define VM_WRITE 0x2
#define VM_EXEC 0x4
#define VM_SHARED 0x8
#define VM_MAYREAD 0x10
#define VM_MAYWRITE 0x20
#define VM_MAYEXEC 0x40
#define VM_STACK 0x100          /* the initial stack: "[stack]" */
#define VM_HEAP 0x200           /* brk area: "[heap]" */
#define VM_HUGEPAGE 0x400       /* madvise(MADV_HUGEPAGE): THP wanted (mm/thp.h) */
#define VM_NOHUGEPAGE 0x800     /* madvise(MADV_NOHUGEPAGE): never THP */
/* 0x1000 and 0x2000: VM_UFFD_MISSING and VM_UFFD_WP (mm/userfaultfd.h). */
#define VM_DONTCOPY 0x4000      /* madvise(MADV_DONTFORK): fork gives the child no mapping here */
#define VM_WIPEONFORK 0x8000    /* madvise(MADV_WIPEONFORK): the child's mapping starts empty */
#define VM_DONTDUMP 0x10000     /* madvise(MADV_DONTDUMP): left out of core dumps (none yet) */
#define VM_LOCKED 0x20000       /* mlock, MAP_LOCKED: populated at once; advice that drops pages refused (mm/mlock.h) */
#define VM_LOCKONFAULT 0x80000  /* with VM_LOCKED: mlock2(MLOCK_ONFAULT), not populated; Linux's value */
#define VM_GROWSDOWN 0x40000    /* mmap(MAP_GROWSDOWN): a fault just below grows it (mm_expand_stack) */
/* Every page counts as soft-dirty until the next clear_refs "4": a new VMA
 * is all new to a tracker (docs/soft-dirty.md). Linux's value. Ignored by
 * merging (the merged VMA keeps it if either half had it). */
#define VM_SOFTDIRTY 0x08000000
/* The VMA has had anonymous memory: a private page allocated by a fault
 * (a write, a copy-on-write, a huge page fault, even a read one), kept by
 * its splits and by fork (not across MADV_WIPEONFORK). Linux's
 * vma->anon_vma != NULL, which MADV_COLLAPSE and khugepaged require
 * (mm/khugepaged.h). Ignored by merging (either half's is kept), as Linux
 * merges a VMA without an anon_vma into one with it. Set with an atomic OR
 * under mmap_lock for read or the VMA's read lock: vma_anon_prepare(). */
#define VM_ANON_VMA 0x10000000

struct vm_area;                 /* mm/vma.h */
struct vma_set;                 /* mm/vma.h: an address space's VMAs */

/* TLB-flush counters, under Linux's /proc/vmstat names; kept per CPU
 * (mm/tlbflush.c) and per address space (mm_struct.tlb_stat). */
enum tlb_stat_item {
	NR_TLB_REMOTE_FLUSH,            /* flushes that had to interrupt other CPUs */
	NR_TLB_REMOTE_FLUSH_RECEIVED,   /* flush IPIs handled (one per CPU per flush) */
	NR_TLB_LOCAL_FLUSH_ALL,         /* full local flushes (CR3 reloads) */
	NR_TLB_LOCAL_FLUSH_ONE,         /* pages flushed one by one (INVLPG) */
	NR_TLB_STAT_ITEMS
};

struct mm_struct {
	u64 pgd_phys;                   /* top-level page table (PML4) */
	struct rwsem mmap_lock;
	u32 mm_lock_seq;                /* bumped as each mmap_lock write section
					   ends: a VMA whose vm_lock_seq equals it
					   is write-locked (mm/vma_lock.h) */
	spinlock_t page_table_lock;
	struct vma_set *vma_root;       /* its VMAs, in address order (mm/vma.h:
					   the set and its locking rules) */
	u32 nr_vmas;
	u32 users;                      /* threads using it, and holders that may
					   touch its VMAs and pages (atomic): the
					   last one tears the address space down */
	u32 count;                      /* references to the struct itself (atomic):
					   all users together hold one; the last
					   one frees it (Linux's mm_count) */
	cpumask_t cpumask;              /* CPUs that may hold its translations (atomic;
					   a superset, trimmed lazily: mm/tlbflush.h) */
	u64 tlb_gen;                    /* bumped per page-table change to flush (atomic) */
	u32 tlb_flush_pending;          /* mmu_gathers open on it (atomic; mmu_gather.h) */
	u64 tlb_stat[NR_TLB_STAT_ITEMS];        /* this mm's share of the counters (atomic) */
	u64 rss_pages;                  /* resident user pages (VmRSS); atomic:
					   faults and zaps under different PTE
					   locks change it at once */
	u64 pgtable_pages;              /* page-table pages below the PML4 (VmPTE) */
	u64 hiwater_rss;                /* the peak of rss_pages (VmHWM), brought up
					   to date before rss drops (atomic; Linux's
					   update_hiwater_rss); clear_refs 5 resets it */
	u64 start_brk, brk;
	u64 start_stack;
	u64 mmap_base;                  /* top of the area mmap() places mappings in */
	u32 def_flags;                  /* VM_* every new mapping and brk gets:
					   mlockall(MCL_FUTURE) (mm/mlock.h); under
					   mmap_lock; not inherited by fork */
	/* mm/ additions */
	struct page *pgd_page;          /* the PML4's descriptor */
	struct page *pgtable_deposit;   /* spare page tables, one per huge PMD
					   (mm/thp.h), linked through lru.next;
					   under page_table_lock */
};

/* Raise hiwater_rss to the current rss if that is higher. */
static inline void mm_update_hiwater_rss(struct mm_struct *mm)
{
	u64 rss = __atomic_load_n(&mm->rss_pages, __ATOMIC_RELAXED);
	u64 hw = __atomic_load_n(&mm->hiwater_rss, __ATOMIC_RELAXED);
	while (hw < rss && !__atomic_compare_exchange_n(&mm->hiwater_rss, &hw, rss, false,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* VmHWM: the peak so far, the current rss included. */
static inline u64 mm_hiwater_rss(struct mm_struct *mm)
{
	mm_update_hiwater_rss(mm);
	return __atomic_load_n(&mm->hiwater_rss, __ATOMIC_RELAXED);
}

static inline void mm_add_rss(struct mm_struct *mm, s64 pages)
{
	if (pages < 0)
		mm_update_hiwater_rss(mm);      /* the peak, before it goes */
	__atomic_add_fetch(&mm->rss_pages, (u64)pages, __ATOMIC_RELAXED);
}

/* New empty address space (kernel half shared). NULL on -ENOMEM. */
struct mm_struct *mm_create(void);
void mm_get(struct mm_struct *mm);
/* Drop a user; the last one unmaps everything and frees every page and page
 * table (free-page counts return to their value before the mm existed). */
void mm_put(struct mm_struct *mm);
/* Linux's mmgrab/mmdrop: keep only the struct, so that a pointer to it stays
 * valid and comparable, while the address space goes with its last user. A
 * holder that outlives the process (a userfaultfd another process has open)
 * must grab, not get: a get would keep every page of a dead process. */
void mm_grab(struct mm_struct *mm);
void mm_drop(struct mm_struct *mm);
/* Linux's mmget_not_zero: become a user of a grabbed mm for a while (then
 * mm_put), unless its address space is already gone (false). */
bool mm_get_not_zero(struct mm_struct *mm);
/* fork(): a copy of parent's VMAs and contents. 0 or -ENOMEM (nothing leaks
 * and the parent is untouched on failure). Caller holds no mm lock. */
int mm_fork(struct mm_struct *parent, struct mm_struct **child);
/* fork's simple correct version for one private page, which the cow lab's
 * starter uses instead of sharing it copy-on-write: the child's entry ce
 * gets a copy of the page of the parent's entry e. 0 or -ENOMEM. */
int fork_copy_private_pte(struct mm_struct *child, u64 *ce, u64 e);

/* Load next's page tables on this CPU (CR3) and keep cpumask right. prev may
 * equal next (no-op) or be NULL. Called by the scheduler with interrupts
 * disabled. Kernel threads (mm NULL) keep whatever is loaded (lazy TLB). */
void switch_mm(struct mm_struct *prev, struct mm_struct *next);

/* exec: map an ELF segment. data/filesz are copied, the rest up to memsz
 * is zero; prot is PROT_*. 0 or -errno. Takes mmap_lock for write (the
 * caller holds none). */
int mm_map_segment(struct mm_struct *mm, u64 vaddr, u64 memsz, const void *data,
		   u64 filesz, u32 prot);
/* exec: the initial stack VMA (VM_STACK) of `size` bytes ending at top,
 * and the heap start for brk. 0 or -errno. mm_setup_stack takes mmap_lock
 * for write. */
int mm_setup_stack(struct mm_struct *mm, u64 top, u64 size);
void mm_set_brk_start(struct mm_struct *mm, u64 start);

/* A page fault at addr in mm: handle_mm_fault() in mm/fault.h, with its
 * result type (vm_fault_t). Takes mmap_lock itself. */

/* Flush every translation of mm on every CPU that may cache it (this one
 * included), waiting for all (mm/tlbflush.h has the ranged form). */
void flush_tlb_mm(struct mm_struct *mm);

/* /proc/self/maps text in Linux's format; returns length written. */
size_t mm_format_maps(struct mm_struct *mm, char *buf, size_t size);
/* /proc/self/smaps (rollup: smaps_rollup) in Linux 6.1's format, mm/maps.c:
 * each maps line and its counters computed from the page tables; swap,
 * hugetlb and file counters are 0 (Pagoda has none). Takes mmap_lock for
 * read. Returns length written (whole text cut at size - 1). */
size_t mm_format_smaps(struct mm_struct *mm, char *buf, size_t size, bool rollup);

/* Registers mmap, munmap, mprotect, brk, madvise, process_madvise (mm/mmap.c)
 * and mremap (mm/mremap.c). */
void mm_syscalls_init(void);
/* Registers process_vm_readv (mm/process_vm_access.c). */
void process_vm_init(void);

/* --- additions beyond the first contract (mm/ side) --- */

/* Notes on the calls above:
 *   handle_mm_fault may sleep (mmap_lock is a sleeping lock) and may send
 *     TLB-flush IPIs and wait for them: call it with interrupts enabled and
 *     no spinlock held (the #PF handler enables interrupts first if the
 *     faulting context had them on).
 *   mm_map_segment wants vaddr >= MMAP_MIN_ADDR and the segment below
 *     TASK_SIZE; mm_setup_stack accepts a top up to USER_SPACE_END (Linux
 *     uses TASK_SIZE) and sets start_stack = top, which /proc/PID/maps uses
 *     to name [stack] (the process side may store the real initial RSP).
 *   switch_mm ignores prev: it trusts its own record of what each CPU has
 *     loaded, so a scheduler may pass the previous thread's mm or NULL.
 */

/* TASK_SIZE, MMAP_MIN_ADDR and MMAP_BASE_DEFAULT: mm/user_layout.h. */

/* A kernel thread borrowing an address space (Linux's kthread_use_mm):
 * takes a reference, sets current->mm and loads it; unuse loads the kernel's
 * own tables again and drops the reference. Tests use it to touch user
 * memory through copy_to_user/copy_from_user. */
void kthread_use_mm(struct mm_struct *mm);
void kthread_unuse_mm(struct mm_struct *mm);

/* The address space loaded on this CPU (NULL: the kernel's own tables). */
struct mm_struct *mm_loaded_on_this_cpu(void);

/* The shared zero page (PG_zero). Allocated by the first mm_create(); tests
 * call zero_page_init() before measuring a free-page baseline. */
extern struct page *zero_page;
void zero_page_init(void);

/* Fault [start, end) in now, as reads (or writes, in writable VMAs) would;
 * PROT_NONE VMAs are skipped. Caller holds mmap_lock. 0, -EFAULT (a hole)
 * or -ENOMEM. (MAP_POPULATE, MADV_POPULATE_*.) */
int mm_populate(struct mm_struct *mm, u64 start, u64 end, bool write);
/* One page of a population that may wait for a userfaultfd handler
 * (Linux's faultin_page with FAULT_FLAG_ALLOW_RETRY: MADV_POPULATE_*,
 * mlock): a write to a write-protected entry goes to the handler as the
 * same write from user mode would; the wait drops mmap_lock, which is taken
 * again (for read) before returning 1: vma may be gone, look it up again.
 * 0 when the page is in, or -EFAULT, -ENOMEM, -EINTR (killed while
 * waiting). Caller holds mmap_lock for read and has checked vma's rights. */
struct vm_area;
int mm_populate_page(struct mm_struct *mm, struct vm_area *vma, u64 addr, bool write);
/* mm/mmap.c: a fault at addr, in the free range just below a VM_GROWSDOWN
 * VMA, grows that VMA down to addr's page. Takes mmap_lock for write (the
 * caller holds none). 0: retry the access; -EFAULT: it may not grow. */
int mm_expand_stack(struct mm_struct *mm, u64 addr);
/* A private page mapped at addr whatever the VMA's rights (exec fills it
 * through the direct map); NULL when there is no VMA or no memory. */
struct page *mm_get_private_page(struct mm_struct *mm, u64 addr);

/* The system calls on a given address space (the sys_* handlers pass
 * current->mm; tests call these directly). Linux's return values. */
long do_mmap(struct mm_struct *mm, u64 addr, u64 len, u64 prot, u64 flags, int fd, u64 off);
long do_munmap_range(struct mm_struct *mm, u64 start, u64 len);
long do_mprotect(struct mm_struct *mm, u64 start, u64 len, u64 prot);
long do_brk(struct mm_struct *mm, u64 brk);
long do_madvise(struct mm_struct *mm, u64 start, u64 len, u64 advice);
/* mremap(2), Linux's flags and errno (mm/mremap.h, docs/mremap.md). */
long do_mremap(struct mm_struct *mm, u64 addr, u64 old_len, u64 new_len, u64 flags,
	       u64 new_addr);

/* mmap() of a descriptor asks the file side how it is open: fd_mmap_mode()
 * in kernel/file.h. */

/* Flush one page's translation of mm on every CPU that may cache it (INVLPG
 * there and here), waiting for all: a fault replacing one PTE needs no more. */
void flush_tlb_page(struct mm_struct *mm, u64 addr);

#endif
