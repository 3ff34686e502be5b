/* mm/shared_anon.c - pages of shared anonymous memory; see shared_anon.h. */
#include "mm/shared_anon.h"
#include "mm/vma.h"
#include "mm/buddy.h"
#include "mm/slab.h"

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

void shared_anon_punch(struct shared_anon *s, u64 first, u64 n)
{
	for (u64 i = first; i < first + n && i < s->nr_pages; i++) {
		spin_lock(&s->lock);
		struct page *p = s->pages[i];
		/* Only the object's own reference left: nobody maps it or is
		 * about to (a mapper takes its reference under this lock). */
		if (p && page_refcount(p) == 1) {
			s->pages[i] = NULL;
			spin_unlock(&s->lock);
			put_page(p);
			continue;
		}
		spin_unlock(&s->lock);
	}
}
