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
#include "kernel/errno.h"
#include "kernel/string.h"

bool shared_anon_debug_local_punch;
bool shared_anon_debug_trust_fault;
bool shared_anon_debug_keep_beyond_eof;

/* Pages [0, size_pages) are inside the object. */
static u64 size_pages(u64 size)
{
	return (size + PAGE_SIZE - 1) / PAGE_SIZE;
}

void shared_anon_init(void)
{
	shared_anon_debug_local_punch = cmdline_has("shared_anon_debug_local_punch");
	shared_anon_debug_trust_fault = cmdline_has("shared_anon_debug_trust_fault");
	shared_anon_debug_keep_beyond_eof = cmdline_has("shared_anon_debug_keep_beyond_eof");
	if (shared_anon_debug_keep_beyond_eof)
		printk(KERN_WARNING "mm: shared_anon_debug_keep_beyond_eof: shrinking an object "
		       "leaves its old pages mapped (negative control)\n");
	if (shared_anon_debug_local_punch)
		printk(KERN_WARNING "mm: shared_anon_debug_local_punch: MADV_REMOVE unmaps only "
		       "the caller's address space (negative control)\n");
	if (shared_anon_debug_trust_fault)
		printk(KERN_WARNING "mm: shared_anon_debug_trust_fault: a fault maps the page it "
		       "fetched even if a punch took it out meanwhile (negative control)\n");
}

/* kmalloc's largest block is 2^MAX_ORDER pages: room for 2 GiB. */
static u64 max_pages(void)
{
	return (PAGE_SIZE << MAX_ORDER) / sizeof(struct page *);
}

u64 shared_anon_max_size(void)
{
	return max_pages() * PAGE_SIZE;
}

struct shared_anon *shared_anon_create(u64 npages)
{
	if (npages > max_pages())
		return NULL;
	struct shared_anon *s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	if (npages) {
		s->pages = kzalloc(npages * sizeof(struct page *), GFP_KERNEL);
		if (!s->pages) {
			kfree(s);
			return NULL;
		}
	}
	s->refs = 1;
	rwsem_init(&s->mappers_lock, "shared_anon mappers");
	spin_init(&s->lock, "shared_anon");
	s->nr_pages = npages;
	s->size = npages * PAGE_SIZE;
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
	kfree(s->pages);
	kfree(s->name);
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

u64 shared_anon_size(struct shared_anon *s)
{
	spin_lock(&s->lock);
	u64 size = s->size;
	spin_unlock(&s->lock);
	return size;
}

bool shared_anon_beyond_eof(struct shared_anon *s, u64 idx)
{
	return idx >= size_pages(shared_anon_size(s));
}

struct page *shared_anon_find_page(struct shared_anon *s, u64 idx)
{
	spin_lock(&s->lock);
	struct page *p = idx < size_pages(s->size) ? s->pages[idx] : NULL;
	if (p)
		get_page(p);
	spin_unlock(&s->lock);
	return p;
}

struct page *shared_anon_page(struct shared_anon *s, u64 idx)
{
	spin_lock(&s->lock);
	if (idx >= size_pages(s->size)) {
		spin_unlock(&s->lock);
		return NULL;
	}
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
	if (idx >= size_pages(s->size)) {
		/* The object shrank meanwhile: past the end now. */
		spin_unlock(&s->lock);
		put_page(fresh);
		return NULL;
	}
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
	bool current = idx < size_pages(s->size) && s->pages[idx] == p;
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

/* The punch, mappers_lock held for read; unmap false only for the
 * keep_beyond_eof negative control. */
static void punch_locked(struct shared_anon *s, u64 first, u64 n, struct mm_struct *mm, bool unmap)
{
	lockdep_assert_held(&s->mappers_lock);
	spin_lock(&s->lock);
	u64 last = MIN(first + n, s->nr_pages);
	spin_unlock(&s->lock);
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
	if (unmap)
		unmap_mapping_range(s, first, last, mm);
}

void shared_anon_punch(struct shared_anon *s, u64 first, u64 n, struct mm_struct *mm)
{
	down_read(&s->mappers_lock);
	punch_locked(s, first, n, mm, true);
	up_read(&s->mappers_lock);
}

/* --- the size (memfd) --- */

/* Room in pages[] for npages: a bigger array, swapped in under lock (a
 * fault or a punch reads the array under it). */
static int grow_array(struct shared_anon *s, u64 npages)
{
	if (npages <= s->nr_pages)
		return 0;
	if (npages > max_pages())
		return -ENOMEM;
	u64 room = MIN(MAX(npages, 2 * s->nr_pages), max_pages());
	struct page **fresh = kzalloc(room * sizeof(struct page *), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	spin_lock(&s->lock);
	struct page **old = s->pages;
	for (u64 i = 0; i < s->nr_pages; i++)
		fresh[i] = old[i];
	s->pages = fresh;
	s->nr_pages = room;
	spin_unlock(&s->lock);
	kfree(old);
	return 0;
}

/* Bytes [size, end of its page) of the last page read as zeros after a
 * shrink, as Linux's truncate_inode_partial_folio zeroes them: a later
 * grow must not bring old bytes back. */
static void zero_partial_tail(struct shared_anon *s, u64 size)
{
	u64 off = size % PAGE_SIZE;
	if (!off)
		return;
	struct page *p = shared_anon_find_page(s, size / PAGE_SIZE);
	if (!p)
		return;
	memset((char *)page_address(p) + off, 0, PAGE_SIZE - off);
	put_page(p);
}

int shared_anon_set_size(struct shared_anon *s, u64 size)
{
	int err = grow_array(s, size_pages(size));
	if (err)
		return err;
	/* mappers_lock across the whole shrink: mm_check (which holds it for
	 * write) never sees the new size with the old pages still mapped. */
	down_read(&s->mappers_lock);
	spin_lock(&s->lock);
	u64 old = s->size;
	s->size = size;
	spin_unlock(&s->lock);
	if (size < old) {
		zero_partial_tail(s, size);
		u64 first = size_pages(size);
		punch_locked(s, first, size_pages(old) - first, NULL,
			     !shared_anon_debug_keep_beyond_eof);
	}
	up_read(&s->mappers_lock);
	return 0;
}
