/* SPDX-License-Identifier: MIT */
/* mm/gup_fast.c - lockless page-table walks; see gup_fast.h. */
#include "mm/gup_fast.h"
#include "mm/deferred_split.h"
#include "kernel/rcu.h"
#include "arch/x86_64/cpu.h"

u64 pgtable_lockless_walk(struct mm_struct *mm, u64 addr, struct lockless_walk *w)
{
	u64 *table = pgtable_root(mm);
	for (enum pt_level l = PT_PML4; l >= PT_PTE; l--) {
		/* One read per entry: the value may change right after, but a
		 * table it points to stays a table until we leave the RCU
		 * section. */
		u64 e = pte_read(&table[pgtable_index(addr, l)]);
		if (w) {
			w->table[l] = table;
			w->entry[l] = e;
			w->level = l;
		}
		if (l == PT_PTE)
			return e;
		if (!(e & PTE_P) || (e & PTE_PS))
			return 0;
		table = entry_table(e);
	}
	return 0;
}

void (*gup_fast_debug_hook)(struct page *p);

/* A reference, unless the count already reached zero (the page is on its
 * way to the allocator, or frozen for a split: it must not come back to
 * life). The count is p's head's; if p is no longer a piece of that head
 * once we hold it - a deferred split (mm/deferred_split.h) ran between our
 * compound_head() and our reference, so the reference landed on another
 * page than p's - give it back and fail (Linux re-checks the folio the
 * same way). The split stores the head's count last, so a reference that
 * succeeds after it sees p's new flags. */
static bool get_page_unless_zero(struct page *p)
{
	struct page *head = compound_head(p);
	if (gup_fast_debug_hook)
		gup_fast_debug_hook(p);
	s32 c = __atomic_load_n(&head->refcount, __ATOMIC_RELAXED);
	while (c > 0) {
		if (__atomic_compare_exchange_n(&head->refcount, &c, c + 1, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			if (likely(compound_head(p) == head) ||
			    deferred_split_debug_skip_gup_recheck)
				return true;
			put_page(head);
			return false;
		}
	}
	return false;
}

struct page *get_user_page_fast(struct mm_struct *mm, u64 addr, bool write)
{
	if (addr >= USER_SPACE_END)
		return NULL;
	struct page *page = NULL;
	struct lockless_walk w;
	u64 flags = local_irq_save();
	rcu_read_lock();
	u64 e = pgtable_lockless_walk(mm, addr, &w);
	if (!pte_present(e) || !(e & PTE_U) || pte_special(e) || (write && !pte_write(e)))
		goto out;
	struct page *p = pte_page(e);
	if (!get_page_unless_zero(p))
		goto out;
	/* The entry may have been cleared between our read and the reference
	 * (then the page may already be queued for freeing): look again. */
	u64 *entry = &w.table[PT_PTE][pgtable_index(addr, PT_PTE)];
	if (pte_read(entry) != e) {
		put_page(p);
		goto out;
	}
	/* A write pin: mark the entry written (the caller writes through the
	 * direct map, unseen by the MMU: gup.c mark_written). Only if it is
	 * still e - it may be cleared any time, and an empty entry must stay
	 * empty; otherwise the slow path does it under the lock. */
	if (write && !pte_soft_dirty(e) &&
	    !__atomic_compare_exchange_n(entry, &e, pte_mkdirty(e), false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED)) {
		put_page(p);
		goto out;
	}
	page = p;
out:
	rcu_read_unlock();
	local_irq_restore(flags);
	return page;
}
