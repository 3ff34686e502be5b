/* SPDX-License-Identifier: MIT */
/* mm/shared_anon.c - pages of shared anonymous memory and the VMAs that map
 * them; see shared_anon.h for the rules. */
#include "mm/shared_anon.h"
#include "mm/page_tree.h"
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
bool shared_anon_debug_punch_cows;

/* Pages [0, size_pages) are inside the object. */
static u64 size_pages(u64 size)
{
	return (size + PAGE_SIZE - 1) / PAGE_SIZE;
}

void shared_anon_init(void)
{
	cmdline_debug_switch("mm", "shared_anon_debug_punch_cows", &shared_anon_debug_punch_cows,
			     "a punch zaps private mappings' own copies too");
	cmdline_debug_switch("mm", "shared_anon_debug_keep_beyond_eof",
			     &shared_anon_debug_keep_beyond_eof,
			     "shrinking an object leaves its old pages mapped");
	cmdline_debug_switch("mm", "shared_anon_debug_local_punch", &shared_anon_debug_local_punch,
			     "MADV_REMOVE unmaps only the caller's address space");
	cmdline_debug_switch("mm", "shared_anon_debug_trust_fault", &shared_anon_debug_trust_fault,
			     "a fault maps the page it fetched even if a punch took it out meanwhile");
}

/* Linux's MAX_LFS_FILESIZE (shmem's s_maxbytes). */
#define MAX_SIZE 0x7fffffffffffffffUL

u64 shared_anon_max_size(void)
{
	return MAX_SIZE;
}

struct shared_anon *shared_anon_create(u64 npages)
{
	if (npages > MAX_SIZE / PAGE_SIZE)
		return NULL;
	struct shared_anon *s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->refs = 1;
	rwsem_init(&s->mappers_lock, "shared_anon mappers");
	rwsem_init(&s->size_lock, "shared_anon size");
	spin_init(&s->lock, "shared_anon");
	page_tree_init(&s->pages);
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
	page_tree_destroy(&s->pages, put_page);
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
	struct page *p = idx < size_pages(s->size) ? page_tree_load(&s->pages, idx) : NULL;
	if (p)
		get_page(p);
	spin_unlock(&s->lock);
	return p;
}

u64 shared_anon_nr_pages(struct shared_anon *s)
{
	u64 n = 0, idx = 0;
	spin_lock(&s->lock);
	u64 end = size_pages(s->size);
	while (idx < end && page_tree_next(&s->pages, &idx, end)) {
		n++;
		idx++;
	}
	spin_unlock(&s->lock);
	return n;
}

/* Install *fresh at idx unless a page is there already (lock held). 0 with
 * *out the page at idx and a reference for the caller, or *out NULL past
 * the end (the object shrank while we allocated); -EAGAIN when the tree
 * needs a node and *spare is empty (page_tree_store). */
static int install_locked(struct shared_anon *s, u64 idx, struct page **fresh,
			  struct page **spare, struct page **out)
{
	lockdep_assert_held(&s->lock);
	*out = NULL;
	if (idx >= size_pages(s->size))
		return 0;
	struct page *p = page_tree_load(&s->pages, idx);
	if (!p) {
		int err = page_tree_store(&s->pages, idx, *fresh, spare);
		if (err)
			return err;
		p = *fresh;             /* its reference is the object's now */
		*fresh = NULL;
	}
	get_page(p);                    /* the caller's */
	*out = p;
	return 0;
}

struct page *shared_anon_page(struct shared_anon *s, u64 idx)
{
	struct page *p = shared_anon_find_page(s, idx);
	if (p || idx >= size_pages(shared_anon_size(s)))
		return p;
	/* Allocate with no lock held; a tree node too when the store asks
	 * for one (page_tree.h), and try again. */
	struct page *fresh = alloc_page(__GFP_ZERO), *spare = NULL;
	if (!fresh)
		return NULL;
	fresh->flags |= PG_anon | PG_shmem;
	for (;;) {
		spin_lock(&s->lock);
		int err = install_locked(s, idx, &fresh, &spare, &p);
		spin_unlock(&s->lock);
		if (err != -EAGAIN)
			break;
		spare = alloc_page(__GFP_ZERO);
		if (!spare)
			break;          /* p is NULL: -ENOMEM */
	}
	if (spare)
		free_page(spare);
	if (fresh)
		put_page(fresh);        /* another CPU won the race, or no node */
	return p;
}

bool shared_anon_page_current(struct shared_anon *s, u64 idx, struct page *p)
{
	if (shared_anon_debug_trust_fault)
		return true;
	spin_lock(&s->lock);
	bool current = idx < size_pages(s->size) && page_tree_load(&s->pages, idx) == p;
	spin_unlock(&s->lock);
	return current;
}

/* --- MADV_REMOVE --- */

/* Unmap object pages [first, last) from every VMA on the list (Linux's
 * unmap_mapping_range). Caller holds mappers_lock (read): each VMA's mm and
 * page tables stay while we walk them (shared_anon.h). */
static void unmap_mapping_range(struct shared_anon *s, u64 first, u64 last,
				struct mm_struct *caller, bool even_cows)
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
				  v->start + (hi - vfirst) * PAGE_SIZE, &tlb, even_cows);
		tlb_finish_mmu(&tlb);
	}
}

/* The punch, mappers_lock held for read; unmap false only for the
 * keep_beyond_eof negative control. even_cows: private mappings lose their
 * own copies too (a shrink: past the end nothing may stay mapped, as
 * Linux's truncate); a hole keeps them (Linux's punch). */
static void punch_locked(struct shared_anon *s, u64 first, u64 n, struct mm_struct *mm, bool unmap,
			 bool even_cows)
{
	lockdep_assert_held(&s->mappers_lock);
	u64 last = first + n < first ? ~0UL : first + n;
	/* First the object lets go of the pages: from here a fault gets a
	 * fresh zero page, and one that fetched an old page before finds it
	 * gone when it re-checks under its PTE lock. A page still mapped
	 * lives on through its PTEs' references until the unmap below has
	 * flushed; a pinned one until its pin is dropped. Holes cost nothing:
	 * the tree skips empty subtrees. */
	for (u64 i = first;; i++) {
		spin_lock(&s->lock);
		struct page *p = page_tree_next(&s->pages, &i, last);
		if (p)
			page_tree_erase(&s->pages, i);
		spin_unlock(&s->lock);
		if (!p)
			break;
		put_page(p);
	}
	/* Then every mapper, in every address space, unmaps the range. */
	if (unmap)
		unmap_mapping_range(s, first, last, mm, even_cows);
}

void shared_anon_punch(struct shared_anon *s, u64 first, u64 n, struct mm_struct *mm)
{
	down_read(&s->mappers_lock);
	punch_locked(s, first, n, mm, true, shared_anon_debug_punch_cows);
	up_read(&s->mappers_lock);
}

/* --- the size (memfd) --- */

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
	if (size > MAX_SIZE)
		return -ENOMEM;
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
			     !shared_anon_debug_keep_beyond_eof, true);
	}
	up_read(&s->mappers_lock);
	return 0;
}
