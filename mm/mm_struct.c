/* mm/mm_struct.c - creating, sharing, copying and destroying address spaces;
 * loading them on a CPU (switch_mm) and flushing their TLB entries.
 *
 * cpumask policy: switch_mm() sets this CPU's bit in next->cpumask before
 * loading CR3 and clears it in the previously loaded mm right after (not
 * lazily): without PCID a CR3 write drops every non-global translation, so
 * from then on this CPU caches nothing of the old mm. A kernel thread
 * (next == NULL) keeps the old tables loaded (lazy TLB, as Linux does), so
 * the old mm's bit stays set and its flushes still reach this CPU. The
 * last mm_put() makes every CPU that still has the dying mm loaded switch
 * to the kernel's own tables before anything is freed.
 */
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/shared_anon.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "kernel/sched.h"
#include "kernel/string.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

u64 tlb_stat[NR_TLB_STAT_ITEMS];
struct page *zero_page;

/* The mm whose tables each CPU has in CR3 (NULL: the kernel root). Written
 * only by its own CPU, with interrupts disabled. */
static struct mm_struct *loaded_mm[MAX_CPUS];

static void tlb_stat_inc(enum tlb_stat_item i)
{
	__atomic_add_fetch(&tlb_stat[i], 1, __ATOMIC_RELAXED);
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
	mm->mmap_base = MMAP_BASE_DEFAULT;
	return mm;
}

void mm_get(struct mm_struct *mm)
{
	__atomic_add_fetch(&mm->users, 1, __ATOMIC_RELAXED);
}

/* IPI (and local) handler: stop using mm on this CPU. */
static void leave_mm(void *arg)
{
	struct mm_struct *mm = arg;
	u32 cpu = smp_processor_id();
	if (loaded_mm[cpu] == mm) {
		write_cr3(kernel_root_phys);
		loaded_mm[cpu] = NULL;
	}
	__atomic_and_fetch(&mm->cpumask, ~(1UL << cpu), __ATOMIC_SEQ_CST);
}

static void leave_mm_everywhere(struct mm_struct *mm)
{
	u64 flags = local_irq_save();
	cpumask_t others = __atomic_load_n(&mm->cpumask, __ATOMIC_SEQ_CST) &
			   ~(1UL << smp_processor_id());
	if (others)
		smp_call_function_many(others, leave_mm, mm, true);
	leave_mm(mm);
	local_irq_restore(flags);
}

/* Remove every VMA, then every user page and table: unmap, flush, free. */
static void exit_mmap(struct mm_struct *mm)
{
	struct vma_set *set = mm->vma_root;
	struct unmap_batch b;
	unmap_batch_init(&b, mm);
	spin_lock(&mm->page_table_lock);
	for (u32 i = 0; i < set->nr; i++)
		zap_range(mm, set->v[i]->start, set->v[i]->end, &b);
	u32 nr = set->nr;
	struct vm_area **v = set->v;
	set->nr = 0;                    /* free_pgtables sees no VMA left */
	free_pgtables(mm, 0, USER_SPACE_END, &b);
	spin_unlock(&mm->page_table_lock);
	/* No CPU keeps these tables loaded, which also flushes everything. */
	leave_mm_everywhere(mm);
	unmap_batch_finish(&b);
	for (u32 i = 0; i < nr; i++)
		vma_free(v[i]);
	mm->nr_vmas = 0;
}

void mm_put(struct mm_struct *mm)
{
	if (__atomic_sub_fetch(&mm->users, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	exit_mmap(mm);
	if (mm->rss_pages != 0 || mm->pgtable_pages != 0)
		printk(KERN_ERR "mm: address space freed with rss %lu, page tables %lu\n",
		       mm->rss_pages, mm->pgtable_pages);
	struct vma_set *set = mm->vma_root;
	vma_set_destroy(set);
	kfree(set);
	pagetable_free(mm->pgd_page);
	kfree(mm);
}

/* --- fork --- */

/* Copy one VMA's page-table entries into the child. Private pages are copied
 * now (copy-on-write comes with a later issue: then both sides will map the
 * page read-only and the first write copies); zero-page mappings stay
 * shared, and shared pages gain one more mapping. */
static int copy_vma_pages(struct mm_struct *parent, struct mm_struct *child,
			  const struct vm_area *v)
{
	u64 a = v->start;
	u64 *pe;
	while ((pe = pte_next_mapped(parent, &a, v->end)) != NULL) {
		u64 e = pte_read(pe);
		u64 *ce = pgtable_walk_alloc(child, a, 1);
		if (!ce)
			return -ENOMEM;
		if (pte_special(e)) {
			pte_set(ce, e);
		} else if (v->flags & VM_SHARED) {
			struct page *p = pte_page(e);
			get_page(p);
			__atomic_add_fetch(&p->mapcount, 1, __ATOMIC_RELAXED);
			child->rss_pages++;
			pte_set(ce, e & ~(PTE_A | PTE_D));
		} else {
			struct page *np = alloc_page(0);
			if (!np)
				return -ENOMEM;
			np->flags |= PG_anon | PG_exclusive;
			memcpy(page_address(np), page_address(pte_page(e)), PAGE_SIZE);
			np->mapcount = 1;
			child->rss_pages++;
			pte_set(ce, page_to_phys(np) | (e & ~(PTE_ADDR_MASK | PTE_A | PTE_D)));
		}
		a += PAGE_SIZE;
	}
	return 0;
}

int mm_fork(struct mm_struct *parent, struct mm_struct **childp)
{
	struct mm_struct *child = mm_create();
	if (!child)
		return -ENOMEM;
	int err = 0;
	/* Write lock: no fault may change the parent's tables while we copy
	 * them (Linux learned this the hard way with per-VMA locks, 6.4). */
	down_write(&parent->mmap_lock);
	struct vma_set *ps = parent->vma_root, *cs = child->vma_root;
	err = vma_reserve(cs, ps->nr);
	for (u32 i = 0; !err && i < ps->nr; i++) {
		const struct vm_area *v = ps->v[i];
		struct vm_area *c = vma_alloc(v->start, v->end, v->flags);
		if (!c) {
			err = -ENOMEM;
			break;
		}
		if (v->shared) {
			c->shared = v->shared;
			c->pgoff = v->pgoff;
			shared_anon_get(c->shared);
		}
		vma_insert(cs, c);      /* cannot fail: reserved */
		child->nr_vmas = cs->nr;
		err = copy_vma_pages(parent, child, v);
	}
	child->start_brk = parent->start_brk;
	child->brk = parent->brk;
	child->start_stack = parent->start_stack;
	child->mmap_base = parent->mmap_base;
	up_write(&parent->mmap_lock);
	if (err) {
		mm_put(child);          /* unmaps and frees whatever was copied */
		return err;
	}
	*childp = child;
	return 0;
}

/* --- loading and flushing --- */

struct mm_struct *mm_loaded_on_this_cpu(void)
{
	return loaded_mm[smp_processor_id()];
}

void switch_mm(struct mm_struct *prev, struct mm_struct *next)
{
	(void)prev;     /* what is loaded is what counts (lazy TLB may differ) */
	if (!next)
		return;
	u64 flags = local_irq_save();
	u32 cpu = smp_processor_id();
	struct mm_struct *cur = loaded_mm[cpu];
	if (cur != next || read_cr3() != next->pgd_phys) {
		/* Set the bit first: a flush that reads cpumask after this
		 * reaches us; one that read it before changed the tables before
		 * our CR3 write, which loads them fresh. */
		__atomic_or_fetch(&next->cpumask, 1UL << cpu, __ATOMIC_SEQ_CST);
		loaded_mm[cpu] = next;
		write_cr3(next->pgd_phys);
		tlb_stat_inc(NR_TLB_LOCAL_FLUSH_ALL);
		if (cur && cur != next)
			__atomic_and_fetch(&cur->cpumask, ~(1UL << cpu), __ATOMIC_SEQ_CST);
	}
	local_irq_restore(flags);
}

static void flush_ipi(void *arg)
{
	(void)arg;
	tlb_stat_inc(NR_TLB_REMOTE_FLUSH_RECEIVED);
	tlb_stat_inc(NR_TLB_LOCAL_FLUSH_ALL);
	write_cr3(read_cr3());
}

void flush_tlb_mm(struct mm_struct *mm)
{
	/* Order the page-table changes before the read of cpumask (pairs with
	 * the atomic bit set in switch_mm). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	u64 flags = local_irq_save();
	u32 me = smp_processor_id();
	cpumask_t others = __atomic_load_n(&mm->cpumask, __ATOMIC_SEQ_CST) & ~(1UL << me);
	if (others) {
		tlb_stat_inc(NR_TLB_REMOTE_FLUSH);
		smp_call_function_many(others, flush_ipi, mm, true);
	}
	if (loaded_mm[me] == mm) {
		tlb_stat_inc(NR_TLB_LOCAL_FLUSH_ALL);
		write_cr3(read_cr3());
	}
	local_irq_restore(flags);
}

static inline void invlpg(u64 addr)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"(addr) : "memory");
}

static void flush_page_ipi(void *arg)
{
	tlb_stat_inc(NR_TLB_REMOTE_FLUSH_RECEIVED);
	tlb_stat_inc(NR_TLB_LOCAL_FLUSH_ONE);
	invlpg(*(const u64 *)arg);
}

void flush_tlb_page(struct mm_struct *mm, u64 addr)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	u64 flags = local_irq_save();
	u32 me = smp_processor_id();
	cpumask_t others = __atomic_load_n(&mm->cpumask, __ATOMIC_SEQ_CST) & ~(1UL << me);
	if (others) {
		tlb_stat_inc(NR_TLB_REMOTE_FLUSH);
		/* Waited for, so addr on our stack outlives the calls. */
		smp_call_function_many(others, flush_page_ipi, &addr, true);
	}
	if (loaded_mm[me] == mm) {
		tlb_stat_inc(NR_TLB_LOCAL_FLUSH_ONE);
		invlpg(addr);
	}
	local_irq_restore(flags);
}

/* --- kernel threads borrowing an address space --- */

void kthread_use_mm(struct mm_struct *mm)
{
	mm_get(mm);
	u64 flags = local_irq_save();
	current_thread()->mm = mm;
	switch_mm(NULL, mm);
	local_irq_restore(flags);
}

void kthread_unuse_mm(struct mm_struct *mm)
{
	u64 flags = local_irq_save();
	current_thread()->mm = NULL;
	if (loaded_mm[smp_processor_id()] == mm)
		leave_mm(mm);
	local_irq_restore(flags);
	mm_put(mm);
}
