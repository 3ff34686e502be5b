/* SPDX-License-Identifier: MIT */
/* mm/mm_struct.c - creating, sharing, copying and destroying address spaces.
 * (Loading them on a CPU and flushing their TLB entries: mm/tlbflush.c.)
 *
 * The last mm_put() makes every CPU that still has the dying mm loaded -
 * lazily, under a kernel thread, or still running its last thread - switch
 * to the kernel's own tables before anything is freed.
 *
 * Two counts, as Linux's mm_users and mm_count: users (threads, and
 * whoever walks the VMAs or pages for a while) keep the address space; the
 * count keeps only the struct, so that a long-lived holder such as a
 * userfaultfd context never keeps a dead process's pages (mm_grab).
 */
#include "mm/mm.h"
#include "mm/vma_lock.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/shared_anon.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "kernel/sched.h"
#include "kernel/string.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"
#include "mm/tlbflush.h"
#include "mm/mmu_gather.h"
#include "mm/thp.h"
#include "mm/anon_exclusive.h"
#include "mm/rmap.h"
#include "mm/khugepaged.h"
#include "mm/userfaultfd.h"

struct page *zero_page;
/* Negative control (docs/cow.md): "fork_debug_skip_flush" on the command
 * line skips fork's flush of the parent; the cow suite's fork_while_writing
 * must fail. */
bool fork_debug_skip_flush;
/* Negative control (docs/madvise.md): "fork_debug_ignore_advice" makes fork
 * copy DONTFORK and WIPEONFORK ranges like any other; madvise_test's
 * WIPEONFORK case must fail. */
static bool fork_debug_ignore_advice;
/* Negative control (labs/cow): "fork_debug_share_writable" makes fork map a
 * private page into the child as the parent has it, writable and
 * exclusive: parent and child write the same page; the cow suite's
 * grandchildren must fail. */
static bool fork_debug_share_writable;

void fork_debug_init(void)
{
	cmdline_debug_switch("mm", "fork_debug_skip_flush", &fork_debug_skip_flush,
			     "fork does NOT flush the parent's TLBs");
	cmdline_debug_switch("mm", "fork_debug_ignore_advice", &fork_debug_ignore_advice,
			     "fork copies DONTFORK and WIPEONFORK ranges");
	cmdline_debug_switch("mm", "fork_debug_share_writable", &fork_debug_share_writable,
			     "fork shares private pages writable: no copy-on-write");
	cmdline_debug_switch("mm", "cow_debug_always_copy", &cow_debug_always_copy,
			     "a write fault copies even a page this mm alone uses");
	cmdline_debug_switch("mm", "fault_debug_no_zero_page", &fault_debug_no_zero_page,
			     "a read of never-touched anonymous memory gets a fresh page");
}

void zero_page_init(void)
{
	if (__atomic_load_n(&zero_page, __ATOMIC_ACQUIRE))
		return;
	struct page *p = alloc_page(__GFP_ZERO);
	if (!p)
		panic("mm: no memory for the zero page");
	p->flags |= PG_zero;
	struct page *expected = NULL;
	if (!__atomic_compare_exchange_n(&zero_page, &expected, p, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		free_page(p);           /* another CPU was first */
}

struct mm_struct *mm_create(void)
{
	zero_page_init();
	struct mm_struct *mm = kzalloc(sizeof(*mm), GFP_KERNEL);
	if (!mm)
		return NULL;
	struct vma_set *set = kmalloc(sizeof(*set), GFP_KERNEL);
	struct page *pgd = pagetable_alloc();
	if (!set || !pgd) {
		kfree(set);
		if (pgd)
			pagetable_free(pgd);
		kfree(mm);
		return NULL;
	}
	vma_set_init(set);
	mm->vma_root = set;
	mm->pgd_page = pgd;
	mm->pgd_phys = page_to_phys(pgd);
	/* The kernel half: the same PDPTs as every other address space. */
	u64 *root = page_address(pgd);
	const u64 *kroot = phys_to_virt(kernel_root_phys);
	for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		root[i] = kroot[i];
	rwsem_init(&mm->mmap_lock, "mmap_lock");
	spin_init(&mm->page_table_lock, "page_table_lock");
	mm->users = 1;
	mm->count = 1;          /* the users' */
	mm->mmap_base = MMAP_BASE_DEFAULT;
	return mm;
}

void mm_get(struct mm_struct *mm)
{
	__atomic_add_fetch(&mm->users, 1, __ATOMIC_RELAXED);
}

bool mm_get_not_zero(struct mm_struct *mm)
{
	u32 users = __atomic_load_n(&mm->users, __ATOMIC_RELAXED);
	do {
		if (users == 0)
			return false;   /* exit_mmap has run or is running */
	} while (!__atomic_compare_exchange_n(&mm->users, &users, users + 1, false,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	return true;
}

void mm_grab(struct mm_struct *mm)
{
	__atomic_add_fetch(&mm->count, 1, __ATOMIC_RELAXED);
}

void mm_drop(struct mm_struct *mm)
{
	if (__atomic_sub_fetch(&mm->count, 1, __ATOMIC_ACQ_REL) == 0)
		kfree(mm);
}

/* IPI (and local) handler: stop using mm on this CPU. */
static void leave_mm_if_loaded(void *arg)
{
	struct mm_struct *mm = arg;
	if (mm_loaded_on_this_cpu() == mm)
		leave_mm();
	else            /* left earlier: only the lazily kept cpumask bit */
		cpumask_clear_cpu(smp_processor_id(), &mm->cpumask);
}

static void leave_mm_everywhere(struct mm_struct *mm)
{
	u64 flags = local_irq_save();
	cpumask_t others;
	cpumask_copy(&others, &mm->cpumask);
	__cpumask_clear_cpu(smp_processor_id(), &others);
	if (!cpumask_empty(&others))
		smp_call_function_many(&others, leave_mm_if_loaded, mm, true);
	leave_mm_if_loaded(mm);
	local_irq_restore(flags);
}

/* Remove every VMA, then every user page and table: unmap, flush, free. */
static void exit_mmap(struct mm_struct *mm)
{
	struct vma_set *set = mm->vma_root;
	struct mmu_gather tlb;
	/* No CPU may keep these tables loaded, not even lazily: from here on
	 * none can cache a translation of mm or walk its tables by hardware. */
	leave_mm_everywhere(mm);
	tlb_gather_mmu_fullmm(&tlb, mm);
	for (u32 i = 0; i < set->nr; i++)
		zap_range(mm, set->v[i]->start, set->v[i]->end, &tlb);
	/* The VMAs go before the tables: a shared one leaves its object's
	 * list of mappers, so no punch walks these tables any more (the
	 * pages keep their PTE references in tlb). */
	for (u32 i = 0; i < set->nr; i++)
		vma_free(set->v[i]);
	set->nr = 0;                    /* free_pgtables sees no VMA left */
	free_pgtables(mm, 0, USER_SPACE_END, &tlb);
	/* Pages now; tables after a grace period (lockless walkers). */
	tlb_finish_mmu(&tlb);
	mm->nr_vmas = 0;
}

void mm_put(struct mm_struct *mm)
{
	if (__atomic_sub_fetch(&mm->users, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	khugepaged_exit(mm);            /* its struct is not kept for the collapser */
	exit_mmap(mm);
	thp_free_deposits(mm);          /* none should be left: zaps free them */
	if (mm->rss_pages != 0 || mm->pgtable_pages != 0)
		printk(KERN_ERR "mm: address space freed with rss %lu, page tables %lu\n",
		       mm->rss_pages, mm->pgtable_pages);
	struct vma_set *set = mm->vma_root;
	vma_set_destroy(set);
	kfree(set);
	pagetable_free(mm->pgd_page);
	mm->vma_root = NULL;
	mm->pgd_page = NULL;
	mm_drop(mm);            /* the users' reference: grabbers keep the struct */
}

/* --- fork --- */

/* The child's entry ce maps the page of the parent's entry e: one more
 * reference and mapping, the child's rss. */
static void fork_dup_pte(struct mm_struct *child, u64 *ce, u64 e)
{
	struct page *p = pte_page(e);
	get_page(p);
	page_dup_rmap(p);
	mm_add_rss(child, 1);
	pte_set(ce, pte_fold_dirty(e) & ~PTE_A);
}

/* The simple correct version of fork for a private page (the cow lab's
 * starter): the child gets its own copy now and the parent keeps its
 * entry as it is, write right included: no page is shared, so no entry
 * changes and nothing needs a flush. Correct, but fork copies every page,
 * whether either side writes it later or not. A write the parent's other
 * threads make during the copy may or may not be in it, as it may or may
 * not be before a fork that shares. 0 or -ENOMEM. */
int fork_copy_private_pte(struct mm_struct *child, u64 *ce, u64 e)
{
	struct page *page = alloc_page(__GFP_DIRECT_RECLAIM);
	if (!page)
		return -ENOMEM;
	memcpy(page_address(page), page_address(pte_page(e)), PAGE_SIZE);
	page->flags |= PG_anon | PG_exclusive;
	page_add_new_anon_rmap(page);
	mm_add_rss(child, 1);
	pte_set(ce, (pte_fold_dirty(e) & ~(PTE_A | PTE_ADDR_MASK)) | page_to_phys(page));
	return 0;
}

/* Copy one VMA's page-table entries into the child (docs/cow.md):
 *   the zero page        the same special entry;
 *   a shared VMA's page  one more mapping of it, with the same rights;
 *   a private page       copy-on-write: both entries read-only, the page
 *                        shared (one more reference and mapping) and no
 *                        longer exclusive. The first write on either side
 *                        copies it, or reuses it if the other side has gone.
 * *wrprotected says whether a parent entry lost its write right: the caller
 * must flush the parent's TLBs before fork returns, or a thread of the
 * parent on another CPU could keep writing through a stale writable entry
 * into the page the child now sees. */
static int copy_vma_pages(struct mm_struct *parent, struct mm_struct *child,
			  const struct vm_area *v, bool *wrprotected)
{
	const bool keep_wp = uffd_fork_keeps_wp(v);
	u64 a = v->start;
	u64 *pe;
	int err = copy_huge_pmds(parent, child, v, wrprotected);        /* THPs: mm/thp.h */
	if (err)
		return err;
	while ((pe = pte_next_mapped(parent, &a, v->end)) != NULL) {
		u64 *ce = pgtable_walk_alloc(child, a, PT_PTE);
		if (!ce)
			return -ENOMEM;
		u64 e = pte_read(pe);
		/* A child not registered for WP (no EVENT_FORK) carries no
		 * protection; with it the bits stay, as Linux. Markers (not
		 * "mapped") are copied after: uffd_fork_copy_markers. */
		if (!keep_wp)
			e &= ~PTE_UFFD_WP;
		if (pte_special(e)) {
			pte_set(ce, e);
		} else if (v->flags & VM_SHARED) {
			fork_dup_pte(child, ce, e);
		} else {
			/* LAB(cow) BEGIN: a private page is shared copy-on-write: take the write right from the parent's entry (atomically: the MMU may set A or D meanwhile), say so in *wrprotected, and the page is no longer exclusive; then the child maps it too (fork_dup_pte) */
			/* LAB(cow) STUB: if ((err = fork_copy_private_pte(child, ce, e))) return err; */
			if (!fork_debug_share_writable) {
				/* Atomic: the MMU may set A or D meanwhile. */
				if (e & PTE_W) {
					e = __atomic_and_fetch(pe, ~PTE_W, __ATOMIC_SEQ_CST);
					*wrprotected = true;
				}
				/* On the piece itself: the other pieces of a
				 * split THP stay this mm's if not shared. */
				clear_page_anon_exclusive(pte_page(e));
			}
			fork_dup_pte(child, ce, e);
			/* LAB(cow) END */
		}
		a += PAGE_SIZE;
	}
	return 0;
}

/* The child's copy of v, not yet inserted. Not inherited, as on Linux:
 * userfaultfd registration (unless EVENT_FORK: then with a context of the
 * child's, mm/userfaultfd.h) and mlock (mm/mlock.h). 0 or -ENOMEM. */
static int fork_vma(struct mm_struct *child, const struct vm_area *v, struct uffd_fork_list *fl,
		    struct vm_area **cp)
{
	u32 cflags = v->flags & ~(VM_LOCKED | VM_LOCKONFAULT);
	if (!uffd_fork_keeps(v))
		cflags &= ~(VM_UFFD_WP | VM_UFFD_MISSING);
	struct vm_area *c = vma_alloc(v->start, v->end, cflags);
	if (!c)
		return -ENOMEM;
	c->mm = child;
	if (uffd_fork_keeps(v) && dup_userfaultfd(c, v->uffd_ctx, fl)) {
		vma_free(c);
		return -ENOMEM;
	}
	*cp = c;
	return 0;
}

int mm_fork(struct mm_struct *parent, struct mm_struct **childp)
{
	struct mm_struct *child = mm_create();
	if (!child)
		return -ENOMEM;
	int err = 0;
	bool wrprotected = false;
	struct uffd_fork_list uffd_fork = { .n = 0 };
	/* Write lock, and every VMA write-locked: no fault, not even on the
	 * fast path, may change the parent's tables while we copy them
	 * (Linux learned this the hard way with per-VMA locks, 6.4). */
	mmap_write_lock(parent);
	if (!vma_debug_fork_skip_lock)
		vma_start_write_all(parent);
	/* The child's too, though nobody can see it yet (as Linux's
	 * dup_mmap): the VMA code checks that it is held. */
	mmap_write_lock_nested(child, 1);
	struct vma_set *ps = parent->vma_root, *cs = child->vma_root;
	err = vma_reserve(cs, ps->nr);
	for (u32 i = 0; !err && i < ps->nr; i++) {
		const struct vm_area *v = ps->v[i];
		/* MADV_DONTFORK: the child has no mapping here at all. */
		if ((v->flags & VM_DONTCOPY) && !fork_debug_ignore_advice)
			continue;
		struct vm_area *c;
		if ((err = fork_vma(child, v, &uffd_fork, &c)))
			break;
		/* A wiped child's VMA starts without anonymous memory, as on
		 * Linux (no anon_vma until its first fault). */
		if ((v->flags & VM_WIPEONFORK) && !fork_debug_ignore_advice)
			c->flags &= ~VM_ANON_VMA;
		if (v->shared) {
			c->shared = v->shared;
			c->pgoff = v->pgoff;
			shared_anon_get(c->shared);
			/* The copy takes no page-table lock: a punch of the
			 * object (another mm's MADV_REMOVE) must not run in
			 * the parent's entries meanwhile, and must find the
			 * child's copies once it runs (shared_anon.h). */
			shared_anon_lock_mappers(c->shared);
			shared_anon_link(c);
		}
		vma_insert(cs, c);      /* cannot fail: reserved */
		child->nr_vmas = cs->nr;
		/* MADV_WIPEONFORK: the child's VMA (which keeps the flag, for
		 * its own children) starts empty - no entry, no huge PMD, no
		 * page shared copy-on-write with the parent - and reads zeros. */
		if (!(v->flags & VM_WIPEONFORK) || fork_debug_ignore_advice)
			err = copy_vma_pages(parent, child, v, &wrprotected);
		if (!err && !(v->flags & VM_WIPEONFORK))
			err = uffd_fork_copy_markers(parent, child, v);
		if (v->shared)
			shared_anon_unlock_mappers(c->shared);
	}
	/* One flush for every entry fork write-protected, before the parent
	 * can run on (and before the lock goes, so no fault sees a half-done
	 * state): from here no CPU writes to a page the child shares. Done on
	 * failure too - the entries stay read-only, and their next write fault
	 * reuses the page once the child's copy is gone. */
	/* LAB(cow) BEGIN: if any parent entry lost its write right, flush the parent's TLBs (every CPU) before fork returns */
	/* LAB(cow) STUB: flush_tlb_mm(parent); */
	if (wrprotected && !fork_debug_skip_flush)
		flush_tlb_mm(parent);
	/* LAB(cow) END */
	child->start_brk = parent->start_brk;
	child->brk = parent->brk;
	child->start_stack = parent->start_stack;
	child->mmap_base = parent->mmap_base;
	mmap_write_unlock(child);
	mmap_write_unlock(parent);
	/* EVENT_FORK: each parent context hears of the child's, with no lock
	 * held (its handler may answer with a copy into either mm). */
	dup_userfaultfd_complete(child, &uffd_fork, err != 0);
	if (err) {
		mm_put(child);          /* unmaps and frees whatever was copied */
		return err;
	}
	*childp = child;
	return 0;
}
