/* SPDX-License-Identifier: MIT */
/* mm/mremap.c - mremap(2): shrink, grow, move a mapping with its pages; see
 * mm/mremap.h and docs/mremap.md. The checks follow Linux 6.1's
 * mm/mremap.c in its order (sys_mremap, mremap_to, vma_to_resize,
 * move_vma), so the same bad call gets the same errno.
 */
#include "mm/mremap.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/vma_lock.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "mm/tlbflush.h"
#include "mm/shared_anon.h"
#include "mm/userfaultfd.h"
#include "mm/madvise.h"          /* mm_set_range_flags */
#include "mm/mmu_gather.h"
#include "mm/slab.h"
#include "kernel/cmdline.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"

bool mremap_debug_skip_flush;

static inline u64 page_align(u64 x) { return (x + PAGE_SIZE - 1) & PAGE_MASK; }
static inline u64 pmd_next(u64 a) { return (a & HPAGE_MASK) + HPAGE_SIZE; }

/* --- moving the entries --- */

/* Take the entries of [old_addr, old_end), all in one PTE table, out into
 * buf, and flush the old range before the table's lock is dropped
 * (mm/mremap.h). Returns how many were taken (markers included). */
static u32 take_ptes(struct mm_struct *mm, u64 old_addr, u64 old_end, u64 *buf)
{
	u32 *ptl, n = 0;
	bool flush = false;
	u64 *e = pte_offset_map_lock(mm, old_addr, &ptl);
	for (u32 i = 0; e && old_addr + (u64)i * PAGE_SIZE < old_end; i++, e++) {
		u64 v = pte_read(e);
		buf[i] = 0;
		if (v == 0)
			continue;
		/* A marker maps nothing; a mapped entry may be in TLBs. */
		buf[i] = pte_mapped(v) ? pte_get_and_clear(e, v) : pte_clear(e);
		flush |= pte_present(buf[i]);
		n++;
	}
	if (flush && !mremap_debug_skip_flush)
		flush_tlb_mm_range(mm, old_addr, old_end, PAGE_SHIFT, false);
	if (e)
		pte_unmap_unlock(ptl);
	return n;
}

/* Put the entries of buf into [addr, addr + nr pages), one PTE table,
 * allocating it. soft_dirty: mark them (the move; not when they go back). */
static int put_ptes(struct mm_struct *mm, u64 addr, u32 nr, const u64 *buf, bool soft_dirty)
{
	u32 *ptl;
	int err;
	u64 *e = pte_alloc_map_lock(mm, addr, &ptl, &err);
	if (!e)
		return -ENOMEM;         /* no table (a huge PMD here cannot be: empty range) */
	for (u32 i = 0; i < nr; i++, e++) {
		if (!buf[i])
			continue;
		if (pte_read(e) != 0)
			panic("mremap: destination entry at %lx not empty (%lx)", addr + i * PAGE_SIZE,
			      pte_read(e));
		/* Linux's move_soft_dirty_pte: present (or PROT_NONE) entries. */
		pte_set(e, soft_dirty && pte_mapped(buf[i]) ? buf[i] | PTE_SOFT_DIRTY : buf[i]);
	}
	pte_unmap_unlock(ptl);
	return 0;
}

/* Linux's move_ptes for one extent (inside one old and one new PTE table). */
static int move_ptes(struct mm_struct *mm, u64 old_addr, u64 old_end, u64 new_addr, u64 *buf)
{
	u32 nr = (u32)((old_end - old_addr) / PAGE_SIZE);
	if (!take_ptes(mm, old_addr, old_end, buf))
		return 0;
	if (put_ptes(mm, new_addr, nr, buf, true) == 0)
		return 0;
	/* No table for them: back where they were (that table still exists,
	 * and the old range was flushed, so nothing is stale). */
	put_ptes(mm, old_addr, nr, buf, false);
	return -ENOMEM;
}

u64 move_page_tables(struct mm_struct *mm, u64 old_addr, u64 new_addr, u64 len)
{
	mmap_assert_write_locked(mm);
	u64 *buf = kmalloc(PT_ENTRIES * sizeof(u64), GFP_KERNEL);
	u64 done = 0, extent;
	if (!buf)
		return 0;
	for (; done < len; done += extent) {
		u64 o = old_addr + done, n = new_addr + done;
		/* Linux's get_extent: up to the next PMD boundary of either. */
		extent = MIN(len - done, MIN(pmd_next(o) - o, pmd_next(n) - n));
		int r = move_huge_pmd(mm, o, n, extent);
		if (r < 0)
			break;
		if (r == 0 && move_ptes(mm, o, o + extent, n, buf))
			break;
	}
	kfree(buf);
	return done;
}

/* --- the new VMA --- */

/* A VMA at [new_addr, new_addr + new_len) like v, for the part of v from
 * old_addr (Linux's copy_vma). Inserted, not merged. NULL on -ENOMEM. */
static struct vm_area *copy_vma(struct mm_struct *mm, struct vm_area *v, u64 old_addr,
				u64 new_addr, u64 new_len)
{
	if (vma_reserve(mm->vma_root, 1))
		return NULL;
	struct vm_area *n = vma_alloc(new_addr, new_addr + new_len, v->flags);
	if (!n)
		return NULL;
	n->mm = mm;
	n->uffd_ctx = v->uffd_ctx;
	if (v->shared) {
		n->shared = v->shared;
		n->pgoff = v->pgoff + (old_addr - v->start) / PAGE_SIZE;
		shared_anon_get(n->shared);
		shared_anon_attach(n);
	}
	vma_insert(mm->vma_root, n);    /* reserved: cannot fail */
	mm->nr_vmas = mm->vma_root->nr;
	return n;
}

/* Move the entries, holding a shared object's mappers lock (mm/mremap.h:
 * a punch of another process must not find them in flight). */
static u64 move_entries(struct mm_struct *mm, struct vm_area *v, u64 old_addr, u64 new_addr,
			u64 len)
{
	struct shared_anon *s = v->shared;
	if (s)
		shared_anon_lock_mappers(s);
	u64 moved = move_page_tables(mm, old_addr, new_addr, len);
	if (moved < len)        /* Linux: move them back, unmap the new range */
		move_page_tables(mm, new_addr, old_addr, moved);
	if (s)
		shared_anon_unlock_mappers(s);
	return moved;
}

/* DONTUNMAP: the old range stays mapped, empty; it keeps its
 * registration but not VM_LOCKED (Linux clears it on the old VMA). */
static void dontunmap_old(struct mm_struct *mm, u64 old_addr, u64 old_len)
{
	struct vm_area *v = vma_find(mm->vma_root, old_addr);
	if (!v || !(v->flags & VM_LOCKED))
		return;
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	mm_set_range_flags(mm, old_addr, old_addr + old_len, v->flags & ~VM_LOCKED, &tlb);
	tlb_finish_mmu(&tlb);   /* nothing to flush: no entries there */
}

/* The userfaultfd events of one mremap (mm/userfaultfd.h): the REMAP of
 * the moved VMA, the UNMAPs of what it unmaps; sent after the lock goes. */
struct mremap_uffd {
	struct uffd_remap remap;
	struct uffd_unmap_list unmap;
};

/* An unmap of mremap's, noted for EVENT_UNMAP first. */
static int mremap_munmap(struct mm_struct *mm, u64 start, u64 end, struct mremap_uffd *uf)
{
	int err = userfaultfd_unmap_prep(mm, start, end, &uf->unmap);
	return err ? err : mm_munmap_locked(mm, start, end);
}

/* Linux's move_vma: a new VMA, the entries moved, the old range unmapped
 * (or kept, DONTUNMAP). Returns new_addr or -errno; *populate: a locked
 * mapping grew, and the caller faults the new part in. */
static long move_vma(struct mm_struct *mm, struct vm_area *v, u64 old_addr, u64 old_len,
		     u64 new_len, u64 new_addr, u64 flags, bool *populate, struct mremap_uffd *uf)
{
	if (mm->nr_vmas >= MAX_VMAS - 3)
		return -ENOMEM;
	u32 vm_flags = v->flags;
	vma_start_write(v);     /* no fast-path fault in the old VMA from here */
	struct vm_area *n = copy_vma(mm, v, old_addr, new_addr, new_len);
	if (!n)
		return -ENOMEM;
	if (move_entries(mm, v, old_addr, new_addr, old_len) < old_len) {
		mm_munmap_locked(mm, new_addr, new_addr + new_len);
		return -ENOMEM;
	}
	mremap_userfaultfd_prep(mm, n, &uf->remap);
	if (flags & MREMAP_DONTUNMAP) {
		dontunmap_old(mm, old_addr, old_len);
	} else {
		/* An -ENOMEM here (no memory to split the old VMA) leaves it
		 * mapped and empty; the move stands, as on Linux. */
		mremap_munmap(mm, old_addr, old_addr + old_len, uf);
	}
	vma_merge(mm->vma_root, vma_index(mm->vma_root, new_addr));
	mm->nr_vmas = mm->vma_root->nr;
	*populate = (vm_flags & VM_LOCKED) && new_len > old_len;
	return (long)new_addr;
}

/* --- the checks --- */

/* Linux's vma_to_resize: may [addr, addr + old_len) of its VMA become
 * new_len long? The VMA in *vp, or -errno. */
static long vma_to_resize(struct mm_struct *mm, u64 addr, u64 old_len, u64 new_len,
			  struct vm_area **vp)
{
	struct vm_area *v = vma_find(mm->vma_root, addr);
	if (!v)
		return -EFAULT;
	/* old_len 0 duplicates a shared mapping; a private one would get
	 * fresh memory unrelated to the old, so Linux refuses it. */
	if (!old_len && !(v->flags & VM_SHARED))
		return -EINVAL;
	if (old_len > v->end - addr)
		return -EFAULT;         /* not across VMA boundaries */
	*vp = v;
	if (new_len == old_len)
		return 0;
	u64 pgoff = (v->shared ? v->pgoff : v->start / PAGE_SIZE) + (addr - v->start) / PAGE_SIZE;
	if (pgoff + new_len / PAGE_SIZE < pgoff)
		return -EINVAL;
	/* VM_LOCKED: no RLIMIT_MEMLOCK here (as root), so no EAGAIN; no
	 * RLIMIT_AS either, so no ENOMEM from may_expand_vm. */
	return 0;
}

/* Linux's vma_expandable: the delta bytes after v are free. */
static bool vma_expandable(struct mm_struct *mm, struct vm_area *v, u64 delta)
{
	u64 end = v->end + delta;
	if (end < v->end || end > TASK_SIZE)
		return false;
	return !vma_find_intersection(mm->vma_root, v->end, end);
}

/* MREMAP_FIXED or MREMAP_DONTUNMAP: Linux's mremap_to. */
static long mremap_to(struct mm_struct *mm, u64 addr, u64 old_len, u64 new_addr, u64 new_len,
		      u64 flags, bool *populate, struct mremap_uffd *uf)
{
	if (new_addr & ~PAGE_MASK)
		return -EINVAL;
	if (new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len)
		return -EINVAL;
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return -EINVAL;         /* old and new overlap */
	if (mm->nr_vmas + 2 >= MAX_VMAS - 3)
		return -ENOMEM;
	long err;
	if ((flags & MREMAP_FIXED) && (err = mremap_munmap(mm, new_addr, new_addr + new_len, uf)))
		return err;
	if (old_len > new_len) {
		if ((err = mremap_munmap(mm, addr + new_len, addr + old_len, uf)))
			return err;
		old_len = new_len;
	}
	struct vm_area *v;
	if ((err = vma_to_resize(mm, addr, old_len, new_len, &v)))
		return err;
	if (flags & MREMAP_FIXED) {
		if (new_addr < MMAP_MIN_ADDR)
			return -EPERM;  /* get_unmapped_area's security_mmap_addr */
	} else {
		new_addr = mm_get_unmapped_area(mm, new_addr, new_len);
		if (!new_addr)
			return -ENOMEM;
	}
	return move_vma(mm, v, addr, old_len, new_len, new_addr, flags, populate, uf);
}

/* Everything after the argument checks, under mmap_lock for write. */
static long mremap_locked(struct mm_struct *mm, u64 addr, u64 old_len, u64 new_len, u64 flags,
			  u64 new_addr, bool *populate, struct mremap_uffd *uf)
{
	if (!vma_find(mm->vma_root, addr))
		return -EFAULT;
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))
		return mremap_to(mm, addr, old_len, new_addr, new_len, flags, populate, uf);
	/* Shrinking always works: the tail goes, like munmap. */
	if (old_len >= new_len) {
		long err = mremap_munmap(mm, addr + new_len, addr + old_len, uf);
		if (err && old_len != new_len)
			return err;
		return (long)addr;
	}
	struct vm_area *v;
	long err = vma_to_resize(mm, addr, old_len, new_len, &v);
	if (err)
		return err;
	if (old_len == v->end - addr && vma_expandable(mm, v, new_len - old_len)) {
		/* Grow in place: nothing to move, the new part faults in. */
		vma_start_write(v);
		if (v->shared)          /* a punch reads the ends (mm/vma.h) */
			shared_anon_lock_mappers(v->shared);
		v->end = addr + new_len;
		if (v->shared)
			shared_anon_unlock_mappers(v->shared);
		vma_merge(mm->vma_root, vma_index(mm->vma_root, addr));
		mm->nr_vmas = mm->vma_root->nr;
		*populate = (v->flags & VM_LOCKED) != 0;
		return (long)addr;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	new_addr = mm_get_unmapped_area(mm, 0, new_len);
	if (!new_addr)
		return -ENOMEM;
	return move_vma(mm, v, addr, old_len, new_len, new_addr, flags, populate, uf);
}

long do_mremap(struct mm_struct *mm, u64 addr, u64 old_len, u64 new_len, u64 flags,
	       u64 new_addr)
{
	if (flags & ~(u64)(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	/* DONTUNMAP always moves, and never resizes. */
	if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len))
		return -EINVAL;
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	old_len = page_align(old_len);
	new_len = page_align(new_len);
	if (!new_len)
		return -EINVAL;
	bool populate = false;
	struct mremap_uffd uf = { .remap = { NULL }, .unmap = { .n = 0 } };
	mmap_write_lock(mm);
	long ret = mremap_locked(mm, addr, old_len, new_len, flags, new_addr, &populate, &uf);
	/* A locked mapping that grew: its new part now, as mlock promises
	 * (Linux does it after unlocking; errors ignored there too). Not for
	 * mlock2(MLOCK_ONFAULT): its pages are locked as they are touched
	 * (Linux's populate_vma_page_range returns early for it). */
	if (ret >= 0 && populate) {
		struct vm_area *v = vma_find(mm->vma_root, (u64)ret);
		if (v && !(v->flags & VM_LOCKONFAULT))
			mm_populate(mm, (u64)ret + old_len, (u64)ret + new_len, v->flags & VM_WRITE);
	}
	mmap_write_unlock(mm);
	/* The handler hears of the move, then of what went (Linux's order). */
	mremap_userfaultfd_complete(&uf.remap, addr, (u64)ret, old_len);
	userfaultfd_unmap_complete(&uf.unmap);
	return ret;
}

static long sys_mremap(u64 addr, u64 old_len, u64 new_len, u64 flags, u64 new_addr)
{
	struct mm_struct *mm = current_thread()->mm;
	if (!mm)
		return -EFAULT;
	return do_mremap(mm, addr, old_len, new_len, flags, new_addr);
}

void mremap_init(void)
{
	mremap_debug_skip_flush = cmdline_has("mremap_debug_skip_flush");
	syscall_register(SYS_mremap, (void (*)(void))sys_mremap);
}
