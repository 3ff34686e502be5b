/* SPDX-License-Identifier: MIT */
/* mm/shared_anon.c - pages of shared anonymous memory and the VMAs that map
 * them; see shared_anon.h for the rules. */
#include "mm/shared_anon.h"
#include "mm/vma.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/pgtable.h"
#include "mm/mmu_gather.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"

bool shared_anon_debug_local_punch;
bool shared_anon_debug_trust_fault;

void shared_anon_init(void)
{
	shared_anon_debug_local_punch = cmdline_has("shared_anon_debug_local_punch");
	shared_anon_debug_trust_fault = cmdline_has("shared_anon_debug_trust_fault");
	if (shared_anon_debug_local_punch)
		printk(KERN_WARNING "mm: shared_anon_debug_local_punch: MADV_REMOVE unmaps only "
		       "the caller's address space (negative control)\n");
	if (shared_anon_debug_trust_fault)
		printk(KERN_WARNING "mm: shared_anon_debug_trust_fault: a fault maps the page it "
		       "fetched even if a punch took it out meanwhile (negative control)\n");
}

struct shared_anon *shared_anon_create(u64 npages)
{
	/* kmalloc's largest block is 2^MAX_ORDER pages: enough for 2 GiB. */
	u64 bytes = sizeof(struct shared_anon) + npages * sizeof(struct page *);
	if (npages > (PAGE_SIZE << MAX_ORDER) / sizeof(struct page *))
		return NULL;
	struct shared_anon *s = kzalloc(bytes, GFP_KERNEL);
	if (!s)
		return NULL;
	s->refs = 1;
	rwsem_init(&s->mappers_lock, "shared_anon mappers");
	spin_init(&s->lock, "shared_anon");
	s->nr_pages = npages;
	return s;
}

void shared_anon_get(struct shared_anon *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void shared_anon_put(struct shared_anon *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	/* Pages still mapped somewhere keep their PTE's reference: they are
	 * freed by the unmap that drops it, after its TLB flush. */
	for (u64 i = 0; i < s->nr_pages; i++)
		if (s->pages[i])
			put_page(s->pages[i]);
	kfree(s);
}

/* --- the reverse map --- */

void shared_anon_lock_mappers(struct shared_anon *s)
{
	down_write(&s->mappers_lock);
}

void shared_anon_unlock_mappers(struct shared_anon *s)
{
	up_write(&s->mappers_lock);
}

/* A singly linked list: a VMA stays 64 bytes, and an object has few
 * mappers, so finding the one to unlink is a short walk. */
void shared_anon_link(struct vm_area *v)
{
	v->next_mapper = v->shared->mappers;
	v->shared->mappers = v;
}

void shared_anon_unlink(struct vm_area *v)
{
	struct vm_area **pp = &v->shared->mappers;
	while (*pp != v) {
		if (!*pp)
			panic("mm: VMA %lx-%lx is not on its shared object's list", v->start, v->end);
		pp = &(*pp)->next_mapper;
	}
	*pp = v->next_mapper;
	v->next_mapper = NULL;
}

void shared_anon_attach(struct vm_area *v)
{
	shared_anon_lock_mappers(v->shared);
	shared_anon_link(v);
	shared_anon_unlock_mappers(v->shared);
}

/* --- pages --- */

struct page *shared_anon_page(struct shared_anon *s, u64 idx)
{
	if (idx >= s->nr_pages)
		return NULL;
	spin_lock(&s->lock);
	struct page *p = s->pages[idx];
	if (p) {
		get_page(p);
		spin_unlock(&s->lock);
		return p;
	}
	spin_unlock(&s->lock);

	struct page *fresh = alloc_page(__GFP_ZERO);
	if (!fresh)
		return NULL;
	fresh->flags |= PG_anon;
	spin_lock(&s->lock);
	p = s->pages[idx];
	if (!p) {
		s->pages[idx] = fresh;  /* the object's reference */
		p = fresh;
		fresh = NULL;
	}
	get_page(p);                    /* the caller's */
	spin_unlock(&s->lock);
	if (fresh)
		put_page(fresh);        /* another CPU won the race */
	return p;
}

bool shared_anon_page_current(struct shared_anon *s, u64 idx, struct page *p)
{
	if (shared_anon_debug_trust_fault)
		return true;
	spin_lock(&s->lock);
	bool current = idx < s->nr_pages && s->pages[idx] == p;
	spin_unlock(&s->lock);
	return current;
}

/* --- MADV_REMOVE --- */

/* Unmap object pages [first, last) from every VMA on the list (Linux's
 * unmap_mapping_range). Caller holds mappers_lock (read): each VMA's mm and
 * page tables stay while we walk them (shared_anon.h). */
static void unmap_mapping_range(struct shared_anon *s, u64 first, u64 last,
				struct mm_struct *caller)
{
	lockdep_assert_held(&s->mappers_lock);
	for (struct vm_area *v = s->mappers; v; v = v->next_mapper) {
		u64 vfirst = v->pgoff, vlast = v->pgoff + (v->end - v->start) / PAGE_SIZE;
		u64 lo = MAX(first, vfirst), hi = MIN(last, vlast);
		if (lo >= hi || (shared_anon_debug_local_punch && v->mm != caller))
			continue;
		/* A gather on the mapper's mm: its CPUs are flushed before its
		 * PTEs' references on the old pages are dropped. */
		struct mmu_gather tlb;
		tlb_gather_mmu(&tlb, v->mm);
		zap_mapping_range(v->mm, v->start + (lo - vfirst) * PAGE_SIZE,
				  v->start + (hi - vfirst) * PAGE_SIZE, &tlb);
		tlb_finish_mmu(&tlb);
	}
}

void shared_anon_punch(struct shared_anon *s, u64 first, u64 n, struct mm_struct *mm)
{
	u64 last = MIN(first + n, s->nr_pages);
	down_read(&s->mappers_lock);
	/* First the object lets go of the pages: from here a fault gets a
	 * fresh zero page, and one that fetched an old page before finds it
	 * gone when it re-checks under its PTE lock. A page still mapped
	 * lives on through its PTEs' references until the unmap below has
	 * flushed; a pinned one until its pin is dropped. */
	for (u64 i = first; i < last; i++) {
		spin_lock(&s->lock);
		struct page *p = s->pages[i];
		s->pages[i] = NULL;
		spin_unlock(&s->lock);
		if (p)
			put_page(p);
	}
	/* Then every mapper, in every address space, unmaps the range. */
	unmap_mapping_range(s, first, last, mm);
	up_read(&s->mappers_lock);
}
