/* mm/vma.c - the sorted VMA array; see vma.h for the choice and the rules. */
#include "mm/vma.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "kernel/errno.h"

/* Every address space has many VMAs: keep one in kmalloc's 64-byte class. */
_Static_assert(sizeof(struct vm_area) <= 64, "a VMA fits in 64 bytes");

void vma_set_init(struct vma_set *s)
{
	s->v = NULL;
	s->nr = 0;
	s->cap = 0;
}

void vma_set_destroy(struct vma_set *s)
{
	kfree(s->v);
	vma_set_init(s);
}

u32 vma_index(const struct vma_set *s, u64 addr)
{
	/* Invariant: entries below lo end at or below addr; entries at or
	 * above hi end above it. Ends are sorted because VMAs do not overlap. */
	u32 lo = 0, hi = s->nr;
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		if (s->v[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct vm_area *vma_find(const struct vma_set *s, u64 addr)
{
	u32 i = vma_index(s, addr);
	if (i < s->nr && s->v[i]->start <= addr)
		return s->v[i];
	return NULL;
}

struct vm_area *vma_find_intersection(const struct vma_set *s, u64 start, u64 end)
{
	u32 i = vma_index(s, start);
	if (i < s->nr && s->v[i]->start < end)
		return s->v[i];
	return NULL;
}

struct vm_area *vma_alloc(u64 start, u64 end, u32 flags)
{
	struct vm_area *v = kmalloc(sizeof(*v), GFP_KERNEL);
	if (!v)
		return NULL;
	v->start = start;
	v->end = end;
	v->flags = flags;
	v->mm = NULL;
	v->shared = NULL;
	v->next_mapper = NULL;
	v->pgoff = 0;
	v->uffd_ctx = NULL;
	return v;
}

void vma_free(struct vm_area *v)
{
	if (v->shared) {
		/* Off the list before munmap or exit frees the page tables
		 * under it: a punch walking the list may be in them. */
		shared_anon_lock_mappers(v->shared);
		shared_anon_unlink(v);
		shared_anon_unlock_mappers(v->shared);
		shared_anon_put(v->shared);
	}
	kfree(v);
}

int vma_reserve(struct vma_set *s, u32 n)
{
	if ((u64)s->nr + n > MAX_VMAS)
		return -ENOMEM;
	if (s->nr + n <= s->cap)
		return 0;
	u32 cap = s->cap ? s->cap : 8;
	while (cap < s->nr + n)
		cap *= 2;
	struct vm_area **v = kmalloc(cap * sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	for (u32 i = 0; i < s->nr; i++)
		v[i] = s->v[i];
	kfree(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

static void insert_at(struct vma_set *s, u32 i, struct vm_area *v)
{
	for (u32 j = s->nr; j > i; j--)
		s->v[j] = s->v[j - 1];
	s->v[i] = v;
	s->nr++;
}

int vma_insert(struct vma_set *s, struct vm_area *v)
{
	int err = vma_reserve(s, 1);
	if (err)
		return err;
	insert_at(s, vma_index(s, v->start), v);
	return 0;
}

void vma_remove_at(struct vma_set *s, u32 i)
{
	for (u32 j = i; j + 1 < s->nr; j++)
		s->v[j] = s->v[j + 1];
	s->nr--;
}

int vma_split(struct vma_set *s, u32 i, u64 addr)
{
	struct vm_area *old = s->v[i];
	if (vma_reserve(s, 1))
		return -ENOMEM;
	struct vm_area *hi = vma_alloc(addr, old->end, old->flags);
	if (!hi)
		return -ENOMEM;
	hi->mm = old->mm;
	hi->uffd_ctx = old->uffd_ctx;
	if (old->shared) {
		hi->shared = old->shared;
		hi->pgoff = old->pgoff + (addr - old->start) / PAGE_SIZE;
		shared_anon_get(hi->shared);
		/* A punch walking the object's mappers sees the whole VMA or
		 * both halves, never one half alone. */
		shared_anon_lock_mappers(old->shared);
		old->end = addr;
		shared_anon_link(hi);
		shared_anon_unlock_mappers(old->shared);
	} else {
		old->end = addr;
	}
	insert_at(s, i + 1, hi);
	return 0;
}

/* Grow v to end at end (a merge). Under the mappers lock if shared: the
 * punch reads ends. The merged-away VMA leaves the list in vma_free just
 * after: until then the two overlap there, and a punch zaps that range
 * twice, which is harmless. */
static void vma_set_end(struct vm_area *v, u64 end)
{
	if (v->shared)
		shared_anon_lock_mappers(v->shared);
	v->end = end;
	if (v->shared)
		shared_anon_unlock_mappers(v->shared);
}

bool vma_can_merge(const struct vm_area *a, const struct vm_area *b)
{
	if (a->end != b->start || ((a->flags ^ b->flags) & ~VM_SOFTDIRTY) || a->shared != b->shared ||
	    a->uffd_ctx != b->uffd_ctx)
		return false;
	/* Pieces of one shared object merge only where the pages line up
	 * (a split undone); two different objects never do. */
	if (a->shared && a->pgoff + (a->end - a->start) / PAGE_SIZE != b->pgoff)
		return false;
	return true;
}

u32 vma_merge(struct vma_set *s, u32 i)
{
	if (i + 1 < s->nr && vma_can_merge(s->v[i], s->v[i + 1])) {
		struct vm_area *next = s->v[i + 1];
		vma_set_end(s->v[i], next->end);
		s->v[i]->flags |= next->flags & VM_SOFTDIRTY;   /* soft-dirty wins */
		vma_remove_at(s, i + 1);
		vma_free(next);
	}
	if (i > 0 && vma_can_merge(s->v[i - 1], s->v[i])) {
		struct vm_area *cur = s->v[i];
		vma_set_end(s->v[i - 1], cur->end);
		s->v[i - 1]->flags |= cur->flags & VM_SOFTDIRTY;
		vma_remove_at(s, i);
		vma_free(cur);
		i--;
	}
	return i;
}
