/* SPDX-License-Identifier: MIT */
/* mm/vma.h - virtual memory areas (VMAs) and the ordered set that holds an
 * address space's VMAs.
 *
 * A VMA is a page-aligned range [start, end) of user addresses with one set
 * of rights (VM_* in mm/mm.h). Private anonymous VMAs own their pages
 * directly through the page tables. The others point at a struct
 * shared_anon, the object that owns the pages (page
 * `pgoff + (addr - start) / PAGE_SIZE` of the object backs addr): shared
 * memory (MAP_SHARED|MAP_ANONYMOUS, or MAP_SHARED of a memfd or tmpfs
 * file), whose pages every sharer maps, and private mappings of such a
 * file (MAP_PRIVATE), which map the object's pages read-only until a write
 * copies one into the VMA's own (mm/fault.c, do_cow_fault).
 *
 * The set: a sorted array of pointers, kept in address order, with binary
 * search. Why an array and not a balanced tree:
 *   - lookup (every page fault) is O(log n) over contiguous memory: a few
 *     cache lines instead of a pointer chase per level;
 *   - insert and remove move the pointers behind the slot (memmove): O(n),
 *     but of 8-byte entries; a process with a thousand VMAs moves at most
 *     8 KiB, which costs less than the page-table work of the same mmap;
 *   - walking the set in order (maps, fork, munmap of a range) is a loop;
 *   - it is obviously correct, and the host test checks it against a model.
 * Linux made the same trade with the maple tree (a B-tree of arrays). The
 * array grows by doubling; MAX_VMAS bounds it as Linux's max_map_count does.
 * A gap search for mmap() is a linear walk down from the top (Linux keeps
 * the largest gap in each tree node to make it O(log n); not needed yet).
 *
 * Locking: the caller holds the address space's mmap_lock (read to look,
 * write to change). The set has no lock of its own. One reader needs no
 * lock at all: the page-fault fast path (mm/vma_lock.h) looks a VMA up
 * under RCU, so the set is kept safe for that:
 *   - the array is published as a whole: a bigger one is a copy, made
 *     visible with rcu_assign_pointer and freed after a grace period; its
 *     capacity is stored with it, so a reader never indexes past its end
 *     however stale the count it read;
 *   - every slot below the capacity holds NULL or a VMA pointer, stored a
 *     word at a time: a lookup racing an insert or a removal may find the
 *     wrong VMA or none, never a freed one;
 *   - a VMA is freed after a grace period (vma_free), and leaves the set
 *     write-locked and marked detached (vma_lock.h), so the fast path,
 *     which checks both under the VMA's own lock, never uses a stale find.
 */
#ifndef PAGODA_MM_VMA_H
#define PAGODA_MM_VMA_H

#include "kernel/types.h"
#include "kernel/rcu.h"

#define MAX_VMAS 65530          /* Linux's default vm.max_map_count */

struct shared_anon;
struct userfaultfd_ctx;
struct mm_struct;

struct vm_area {
	u64 start, end;                 /* [start, end), page-aligned */
	u32 flags;                      /* VM_* */
	struct mm_struct *mm;           /* the address space it belongs to */
	struct shared_anon *shared;     /* the object behind the VMA (above), or
					   NULL for private anonymous memory */
	u64 pgoff;                      /* with shared: object page backing start */
	struct vm_area *next_mapper;    /* with shared: the next on shared->mappers */
	struct userfaultfd_ctx *uffd_ctx; /* VM_UFFD_*: the registered context
					   * (mm/userfaultfd.h), else NULL */
	/* The per-VMA lock (mm/vma_lock.h). */
	s32 vm_lock;                    /* fast-path readers inside, or -1 while a
					   writer marks it (atomic) */
	u32 vm_lock_seq;                /* == mm->mm_lock_seq: write-locked for the
					   rest of the current mmap_lock write section */
	bool detached;                  /* out of its set: the fast path must not use it */
	struct rcu_head rcu;            /* vma_free: freed after a grace period */
};

/* An address space's VMAs (mm_struct.vma_root: allocated with the mm by
 * mm_create, emptied and freed by its teardown). The rules above: looked at
 * under mmap_lock for read, changed under it for write, looked up under RCU
 * only by the fault fast path (vma_find_rcu). */
struct vma_set {
	struct vm_area **v;             /* sorted by start; never overlapping;
					   v[nr..cap) are NULL (see above) */
	u32 nr, cap;
};

/* The shared object's reference count and reverse map, provided by
 * mm/shared_anon.c (and by the host test). Every VMA with ->shared holds a
 * reference and is on the object's list of mappers; the list and the
 * start, end and pgoff of the VMAs on it change only under the object's
 * mappers lock (mm/shared_anon.h: a MADV_REMOVE walks them). vma_split()
 * links the new half, vma_merge() moves ends under the lock, vma_free()
 * unlinks and drops the reference. */
void shared_anon_get(struct shared_anon *s);
void shared_anon_put(struct shared_anon *s);
void shared_anon_lock_mappers(struct shared_anon *s);
void shared_anon_unlock_mappers(struct shared_anon *s);
void shared_anon_link(struct vm_area *v);       /* mappers lock held */
void shared_anon_unlink(struct vm_area *v);     /* mappers lock held */

void vma_set_init(struct vma_set *s);
/* Frees the array (the VMAs must have been removed and freed first). */
void vma_set_destroy(struct vma_set *s);

/* Index of the first VMA whose end is above addr (s->nr if none): the VMA
 * containing addr, or the first one after it. O(log n). */
u32 vma_index(const struct vma_set *s, u64 addr);
/* The VMA containing addr, or NULL. */
struct vm_area *vma_find(const struct vma_set *s, u64 addr);
/* The same without mmap_lock, inside rcu_read_lock(): a hint only (a VMA
 * that contained addr at some moment of the lookup, or NULL), to be
 * checked under the VMA's lock (mm/vma_lock.h). */
struct vm_area *vma_find_rcu(const struct vma_set *s, u64 addr);
/* The first VMA intersecting [start, end), or NULL. */
struct vm_area *vma_find_intersection(const struct vma_set *s, u64 start, u64 end);

/* for_each_vma_range(mm, vma, addr, end): every VMA of mm that meets
 * [addr, end), in address order (Linux's name; its iterator walks the maple
 * tree, this one the sorted array). addr is the caller's u64 cursor: at the
 * top of each pass it is where the part of the range not yet visited
 * begins, so the piece of the range inside vma is
 * [MAX(addr, vma->start), MIN(end, vma->end)), and vma->start > addr means
 * a hole before vma; after the loop, addr < end means a hole at the end.
 *   Locking: the caller holds mmap_lock, for read if the body only looks,
 * for write if it changes the set.
 *   The set may change inside the body (a split, a merge, a removal: the
 * array moves and vma may even be freed): the iterator keeps no index and
 * never reads vma again once the body has run. The next VMA is looked up
 * afresh, by address, from this piece's end (read before the body runs).
 * So a body may change the VMAs of its own piece; VMAs it creates beyond
 * that piece are visited next, and a VMA it merges with one below the
 * piece is not visited again.
 *   (vma_find_from: the first VMA ending above addr that starts below end,
 * or NULL when addr >= end. The macro's end_ is not called end because
 * vma->end must stay the member.) */
static inline struct vm_area *vma_find_from(const struct vma_set *s, u64 addr, u64 end)
{
	u32 i = vma_index(s, addr);
	return addr < end && i < s->nr && s->v[i]->start < end ? s->v[i] : NULL;
}
#define for_each_vma_range(mm, vma, addr, end_)                                         \
	for (u64 vmr_next_ = 0;                                                         \
	     ((vma) = vma_find_from((mm)->vma_root, (addr), (end_))) != NULL &&         \
	     (vmr_next_ = (vma)->end < (end_) ? (vma)->end : (end_), true);             \
	     (addr) = vmr_next_)

/* A new VMA (not in any set, mm NULL), NULL on -ENOMEM; vma_free() takes
 * it off its shared object's list, drops its reference and frees it after
 * an RCU grace period (a fast-path lookup may still be reading it). */
struct vm_area *vma_alloc(u64 start, u64 end, u32 flags);
void vma_free(struct vm_area *v);

/* Make room for n more entries so that the next n inserts cannot fail.
 * 0 or -ENOMEM (also when the set would exceed MAX_VMAS). */
int vma_reserve(struct vma_set *s, u32 n);
/* The functions below change the set or the VMAs in it: the caller holds
 * mmap_lock for write, and each VMA they change is write-locked first
 * (vma_start_write; checked). */
/* Insert v (it must not overlap any VMA; v->mm set): write-locked before
 * it becomes visible. 0 or -ENOMEM. */
int vma_insert(struct vma_set *s, struct vm_area *v);
/* Remove the VMA at index i from the set (not freed): it is write-locked
 * and marked detached. */
void vma_remove_at(struct vma_set *s, u32 i);

/* Split the VMA at index i at addr (start < addr < end, page-aligned): it
 * keeps [start, addr); a new VMA [addr, end) goes in at i+1. 0 or -ENOMEM. */
int vma_split(struct vma_set *s, u32 i, u64 addr);
/* Can a and b (a directly below b) become one VMA? */
bool vma_can_merge(const struct vm_area *a, const struct vm_area *b);

/* A fault is about to give vma private anonymous memory (Linux's
 * anon_vma_prepare): mark it VM_ANON_VMA (mm/mm.h). Faults run side by
 * side under read locks, hence the atomic OR. */
void vma_anon_prepare(struct vm_area *vma);
/* Merge the VMA at index i with its neighbours where vma_can_merge() allows.
 * Returns the index of the VMA that now covers the old one. */
u32 vma_merge(struct vma_set *s, u32 i);

#endif
