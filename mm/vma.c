/* SPDX-License-Identifier: MIT */
/* mm/vma.c - the sorted VMA array; see vma.h for the choice and the rules. */
#include "mm/vma.h"
#include "mm/vma_lock.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "kernel/errno.h"

/* Every address space has many VMAs: keep one in kmalloc's 128-byte class. */
_Static_assert(sizeof(struct vm_area) <= 128, "a VMA fits in 128 bytes");

/* The array behind s->v, with what a lockless reader needs to stay inside
 * it (its capacity) and to be freed after a grace period. */
struct vma_array {
	struct rcu_head rcu;
	u32 cap;
	struct vm_area *v[];
};

static struct vma_array *array_of(struct vm_area **v)
{
	return (struct vma_array *)((u8 *)v - offsetof(struct vma_array, v));
}

static void array_free_rcu(struct rcu_head *head)
{
	kfree((struct vma_array *)head);
}

void vma_set_init(struct vma_set *s)
{
	s->v = NULL;
	s->nr = 0;
	s->cap = 0;
}

void vma_set_destroy(struct vma_set *s)
{
	/* The address space is dead: no fault can be looking. */
	if (s->v)
		kfree(array_of(s->v));
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

struct vm_area *vma_find_rcu(const struct vma_set *s, u64 addr)
{
	/* The same search, on a snapshot that may be changing: every load
	 * once, NULL or an out-of-date count is an answer of "none". */
	struct vm_area **v = __atomic_load_n(&s->v, __ATOMIC_ACQUIRE);
	if (!v)
		return NULL;
	u32 n = MIN(__atomic_load_n(&s->nr, __ATOMIC_RELAXED), array_of(v)->cap);
	u32 lo = 0, hi = n;
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		struct vm_area *x = __atomic_load_n(&v[mid], __ATOMIC_ACQUIRE);
		if (!x)
			return NULL;
		if (__atomic_load_n(&x->end, __ATOMIC_RELAXED) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct vm_area *x = lo < n ? __atomic_load_n(&v[lo], __ATOMIC_ACQUIRE) : NULL;
	if (x && __atomic_load_n(&x->start, __ATOMIC_RELAXED) <= addr)
		return x;
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
	v->vm_lock = 0;
	v->vm_lock_seq = ~0u;           /* not write-locked */
	v->detached = false;
	return v;
}

static void vma_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct vm_area, rcu));
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
	/* A fast-path lookup that found v before it left the set may still
	 * be reading it (vma.h). */
	if (vma_debug_free_now)
		kfree(v);
	else
		call_rcu(&v->rcu, vma_free_rcu);
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
	/* A copy, published whole: a lockless reader sees the old array or
	 * the new one, each with its own capacity (zeroed: NULL slots). */
	struct vma_array *a = kmalloc(sizeof(*a) + cap * sizeof(a->v[0]), GFP_KERNEL | __GFP_ZERO);
	if (!a)
		return -ENOMEM;
	a->cap = cap;
	for (u32 i = 0; i < s->nr; i++)
		a->v[i] = s->v[i];
	struct vm_area **old = s->v;
	__atomic_store_n(&s->v, a->v, __ATOMIC_RELEASE);
	s->cap = cap;
	if (old)
		call_rcu(&array_of(old)->rcu, array_free_rcu);
	return 0;
}

/* Slots change one word at a time, so a lockless reader finds a VMA
 * pointer or NULL in each (vma.h). */
static void set_slot(struct vma_set *s, u32 i, struct vm_area *v)
{
	__atomic_store_n(&s->v[i], v, __ATOMIC_RELEASE);
}

static void insert_at(struct vma_set *s, u32 i, struct vm_area *v)
{
	for (u32 j = s->nr; j > i; j--)
		set_slot(s, j, s->v[j - 1]);
	set_slot(s, i, v);
	__atomic_store_n(&s->nr, s->nr + 1, __ATOMIC_RELEASE);
}

int vma_insert(struct vma_set *s, struct vm_area *v)
{
	int err = vma_reserve(s, 1);
	if (err)
		return err;
	vma_start_write(v);     /* not visible to a fault half-made */
	insert_at(s, vma_index(s, v->start), v);
	return 0;
}

void vma_remove_at(struct vma_set *s, u32 i)
{
	struct vm_area *v = s->v[i];
	vma_start_write(v);
	for (u32 j = i; j + 1 < s->nr; j++)
		set_slot(s, j, s->v[j + 1]);
	set_slot(s, s->nr - 1, NULL);
	__atomic_store_n(&s->nr, s->nr - 1, __ATOMIC_RELEASE);
	/* A fault that found v before this locks it after the section and
	 * must see that it is gone. */
	__atomic_store_n(&v->detached, true, __ATOMIC_RELEASE);
}

int vma_split(struct vma_set *s, u32 i, u64 addr)
{
	struct vm_area *old = s->v[i];
	if (vma_reserve(s, 1))
		return -ENOMEM;
	struct vm_area *hi = vma_alloc(addr, old->end, old->flags);
	if (!hi)
		return -ENOMEM;
	vma_start_write(old);
	hi->mm = old->mm;
	vma_start_write(hi);
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
	if (a->end != b->start || ((a->flags ^ b->flags) & ~(VM_SOFTDIRTY | VM_ANON_VMA)) || a->shared != b->shared ||
	    a->uffd_ctx != b->uffd_ctx)
		return false;
	/* Pieces of one shared object merge only where the pages line up
	 * (a split undone); two different objects never do. */
	if (a->shared && a->pgoff + (a->end - a->start) / PAGE_SIZE != b->pgoff)
		return false;
	return true;
}

void vma_anon_prepare(struct vm_area *vma)
{
	if (!(__atomic_load_n(&vma->flags, __ATOMIC_RELAXED) & VM_ANON_VMA))
		__atomic_or_fetch(&vma->flags, VM_ANON_VMA, __ATOMIC_RELAXED);
}

u32 vma_merge(struct vma_set *s, u32 i)
{
	if (i + 1 < s->nr && vma_can_merge(s->v[i], s->v[i + 1])) {
		struct vm_area *next = s->v[i + 1];
		vma_start_write(s->v[i]);
		vma_set_end(s->v[i], next->end);
		s->v[i]->flags |= next->flags & (VM_SOFTDIRTY | VM_ANON_VMA);   /* these win */
		vma_remove_at(s, i + 1);
		vma_free(next);
	}
	if (i > 0 && vma_can_merge(s->v[i - 1], s->v[i])) {
		struct vm_area *cur = s->v[i];
		vma_start_write(s->v[i - 1]);
		vma_set_end(s->v[i - 1], cur->end);
		s->v[i - 1]->flags |= cur->flags & (VM_SOFTDIRTY | VM_ANON_VMA);
		vma_remove_at(s, i);
		vma_free(cur);
		i--;
	}
	return i;
}
