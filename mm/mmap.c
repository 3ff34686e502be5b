/* SPDX-License-Identifier: MIT */
/* mm/mmap.c - the memory system calls (mmap, munmap, mprotect, brk; madvise
 * is mm/madvise.c)
 * and the exec helpers that build an address space.
 *
 * Every check follows Linux's order (mm/mmap.c do_mmap, mm/mprotect.c,
 * mm/madvise.c there), so that the same bad call gets the same errno; the
 * comments name the cases. All changes to the VMA set happen with mmap_lock
 * held for write; entries change under the page-table locks (pgtable.h). Anything
 * that removes or narrows translations goes unmap -> flush -> free through
 * an mmu_gather (mm/mmu_gather.h).
 */
#include "mm/mm.h"
#include "mm/vma_lock.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/shared_anon.h"
#include "mm/mmu_gather.h"
#include "mm/thp.h"
#include "mm/anon_exclusive.h"
#include "mm/madvise.h"
#include "mm/userfaultfd.h"
#include "mm/mlock.h"
#include "mm/mremap.h"
#include "kernel/errno.h"
#include "kernel/file.h"         /* fd_mmap_mode */
#include "kernel/memfd.h"        /* memfd_get_object */
#include "kernel/sched.h"
#include "kernel/string.h"
#include "kernel/syscall.h"

#define PROT_SEM 0x8
#define PROT_GROWSDOWN 0x01000000
#define PROT_GROWSUP 0x02000000
#define MAP_TYPE 0x0f
#define MAP_SHARED_VALIDATE 0x03


#define VM_ACCESS (VM_READ | VM_WRITE | VM_EXEC)
#define VM_MAYALL (VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)

static inline u64 page_align(u64 x) { return (x + PAGE_SIZE - 1) & PAGE_MASK; }
static inline struct vma_set *vmas(struct mm_struct *mm) { return mm->vma_root; }
static inline void sync_nr(struct mm_struct *mm) { mm->nr_vmas = vmas(mm)->nr; }

static u32 prot_to_vm(u64 prot)
{
	u32 f = 0;
	if (prot & PROT_READ)
		f |= VM_READ;
	if (prot & PROT_WRITE)
		f |= VM_WRITE;
	if (prot & PROT_EXEC)
		f |= VM_EXEC;
	return f;
}

/* If a VMA straddles addr, split it there. 0 or -ENOMEM. Every VMA
 * boundary inside mapped memory is made here, so this is where the rule of
 * mm/thp.h holds: no huge PMD reaches over a VMA boundary (the other mover
 * of a boundary, mm_expand_stack, moves a start down into a hole, where no
 * huge PMD can be). The PMD is split first; if the
 * VMA split then fails, 512 PTEs map what one PMD did, which is harmless
 * (Linux splits first too, in vma_adjust_trans_huge). */
static int split_at(struct mm_struct *mm, u64 addr)
{
	struct vma_set *s = vmas(mm);
	u32 i = vma_index(s, addr);
	if (i < s->nr && s->v[i]->start < addr) {
		/* Fast-path faults out before the huge PMD is split under them
		 * (vma_lock.h), as the VMA split itself would. */
		vma_start_write(s->v[i]);
		vma_adjust_trans_huge(mm, addr);
		int err = vma_split(s, i, addr);
		sync_nr(mm);
		return err;
	}
	return 0;
}

/* Unmap [start, end) (page-aligned): split the VMAs at the edges, zap the
 * PTEs, drop the VMAs, unhook page tables nothing uses any more, flush,
 * free. Holes are fine. mmap_lock held for write. */
static int do_munmap(struct mm_struct *mm, u64 start, u64 end)
{
	struct vma_set *s = vmas(mm);
	if (!vma_find_intersection(s, start, end))
		return 0;
	if (split_at(mm, start) || split_at(mm, end))
		return -ENOMEM;
	/* Fast-path faults out of the VMAs before the zap, not only before
	 * they leave the set: one that ran after the zap would leave an entry
	 * behind in a range that is no longer this VMA's (vma_lock.h). */
	struct vm_area *v;
	u64 a = start;
	if (!vma_debug_lock_after_zap)
		for_each_vma_range(mm, v, a, end)
			vma_start_write(v);
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	zap_range(mm, start, end, &tlb);
	a = start;
	for_each_vma_range(mm, v, a, end) {
		vma_remove_at(s, vma_index(s, v->start));
		vma_free(v);            /* pages keep their PTE references in tlb */
	}
	sync_nr(mm);
	free_pgtables(mm, start, end, &tlb);
	/* One flush for the whole range, pages and tables alike; then the
	 * pages' map counts drop and they are freed (mmu_gather.h rule 3). */
	tlb_finish_mmu(&tlb);   /* free the pages; tables after a grace period */
	return 0;
}

/* Does new allow less than old? (a right taken away, or the page made
 * not present). Such a change must reach every TLB before it counts. */
static bool pte_narrowed(u64 old, u64 new)
{
	if ((old & PTE_P) && !(new & PTE_P))
		return true;
	if ((old & PTE_W) && !(new & PTE_W))
		return true;
	return !(old & PTE_NX) && (new & PTE_NX);
}

/* Rewrite the PTEs of [start, end) for new VMA flags, recording in tlb the
 * entries whose rights narrowed (widening needs no flush: a stale entry
 * with fewer rights only faults, and the fault finds the new entry). */
static void change_ptes(struct mm_struct *mm, u64 start, u64 end, u32 flags,
			struct mmu_gather *tlb)
{
	change_huge_pmds(mm, start, end, flags, tlb);   /* whole huge PMDs, or split */
	for (u64 a = pte_table_next(mm, start, end); a < end; a = pte_table_next(mm, a, end)) {
		u64 table_end = (a | (pgtable_span(PT_PMD) - 1)) + 1;
		u64 stop = table_end < end && table_end > a ? table_end : end;
		u32 *ptl;
		u64 *e = pte_offset_map_lock(mm, a, &ptl);
		for (; e && a < stop; a += PAGE_SIZE, e++) {
			u64 old = pte_read(e);
			if (!pte_mapped(old))
				continue;
			u64 keep = old & (PTE_A | PTE_D | PTE_SOFT_DIRTY | PTE_SPECIAL | PTE_UFFD_WP);
			/* The zero page stays read-only whatever the VMA says,
			 * and so does a private page another address space may
			 * share (after fork): giving it the write right would
			 * skip the copy. A userfaultfd-protected one too. */
			bool writable = !pte_special(old) && !(old & PTE_UFFD_WP) &&
				((flags & VM_SHARED) ||
				 page_anon_exclusive(pte_page(old)));
			u64 new = mk_pte(old & PTE_ADDR_MASK, flags, writable) | keep;
			/* A CPU may be writing through the entry right now:
			 * its D must survive the rewrite (pgtable.h). */
			pte_modify(e, old, new);
			if (pte_narrowed(old, new))
				tlb_track_range(tlb, a, PAGE_SIZE, PT_PTE);
		}
		if (e)
			pte_unmap_unlock(ptl);
		a = stop;
	}
}

/* Give [start, end), which lies inside the VMA at index i, the flags
 * newflags: split off the rest, set, rewrite the PTEs, merge with equal
 * neighbours. tlb collects what must be flushed. 0 or -ENOMEM. */
/* Split the VMA holding [start, end) at both ends, so that the range is
 * one VMA of its own; its index in *i. 0 or -ENOMEM. */
static int isolate_range(struct mm_struct *mm, u64 start, u64 end, u32 *i)
{
	if (split_at(mm, start) || split_at(mm, end))
		return -ENOMEM;
	*i = vma_index(vmas(mm), start);
	return 0;
}

int mm_set_range_flags(struct mm_struct *mm, u64 start, u64 end, u32 newflags,
		       struct mmu_gather *tlb)
{
	struct vma_set *s = vmas(mm);
	u32 i;
	if (isolate_range(mm, start, end, &i))
		return -ENOMEM;
	struct vm_area *v = s->v[i];
	if (v->flags != newflags) {
		vma_start_write(v);
		v->flags = newflags;
		change_ptes(mm, start, end, newflags, tlb);
	}
	vma_merge(s, i);
	sync_nr(mm);
	return 0;
}

/* userfaultfd (mm/userfaultfd.h): give [start, end), inside the VMA at
 * index i, the flags newflags and the context ctx. Only VM_UFFD_* differ
 * from the VMA's flags, so the entries keep their rights. 0 or -ENOMEM. */
int mm_set_range_uffd(struct mm_struct *mm, u64 start, u64 end, u32 newflags,
		      struct userfaultfd_ctx *ctx)
{
	struct vma_set *s = vmas(mm);
	u32 i;
	if (isolate_range(mm, start, end, &i))
		return -ENOMEM;
	vma_start_write(s->v[i]);
	s->v[i]->flags = newflags;
	s->v[i]->uffd_ctx = ctx;
	vma_merge(s, i);
	sync_nr(mm);
	return 0;
}

int mm_set_range_vm_flags(struct mm_struct *mm, u64 start, u64 end, u32 newflags)
{
	struct vma_set *s = vmas(mm);
	u32 i;
	if (isolate_range(mm, start, end, &i))
		return -ENOMEM;
	vma_start_write(s->v[i]);
	s->v[i]->flags = newflags;
	vma_merge(s, i);
	sync_nr(mm);
	return 0;
}

/* Linux's stack_guard_gap and default RLIMIT_STACK: a VM_GROWSDOWN VMA
 * keeps 1 MiB free below it (new mappings are not put there, and it does
 * not grow closer than that to an accessible VMA), and grows to 8 MiB. */
#define STACK_GUARD_GAP (1UL << 20)
#define STACK_RLIMIT (8UL << 20)

/* Where v's room starts, for placing a new mapping below it. */
static u64 vma_start_gap(const struct vm_area *v)
{
	if (!(v->flags & VM_GROWSDOWN))
		return v->start;
	return v->start > STACK_GUARD_GAP ? v->start - STACK_GUARD_GAP : 0;
}

/* MAP_GROWSDOWN (mm.h). */
int mm_expand_stack(struct mm_struct *mm, u64 addr)
{
	/* Write: the VMA's start changes, and two threads faulting below it
	 * at once must not both move it. */
	mmap_write_lock(mm);
	struct vma_set *s = vmas(mm);
	u32 i = vma_index(s, addr);
	int err = -EFAULT;
	addr &= PAGE_MASK;
	if (i >= s->nr)
		goto out;
	struct vm_area *v = s->v[i];
	if (v->start <= addr) {
		err = 0;                /* it grew (or was mapped) meanwhile */
		goto out;
	}
	/* Linux's expand_downwards and acct_stack_growth, in their order. */
	if (!(v->flags & VM_GROWSDOWN) || addr < MMAP_MIN_ADDR)
		goto out;
	if (i > 0) {
		const struct vm_area *prev = s->v[i - 1];
		if (!(prev->flags & VM_GROWSDOWN) && (prev->flags & VM_ACCESS) &&
		    addr - prev->end < STACK_GUARD_GAP)
			goto out;
	}
	if (v->end - addr > STACK_RLIMIT)
		goto out;
	vma_start_write(v);
	v->start = addr;                /* nothing below was mapped: no entries to fix */
	err = 0;
out:
	mmap_write_unlock(mm);
	return err;
}

int mm_munmap_locked(struct mm_struct *mm, u64 start, u64 end)
{
	mmap_assert_write_locked(mm);
	return do_munmap(mm, start, end);
}

/* Highest free range of len bytes below high and at or above MMAP_MIN_ADDR
 * (0 if none). A walk down the sorted array: O(n), see vma.h. */
static u64 gap_below(struct mm_struct *mm, u64 len, u64 high)
{
	struct vma_set *s = vmas(mm);
	u32 k = vma_index(s, high);
	for (;;) {
		u64 top = k < s->nr ? MIN(vma_start_gap(s->v[k]), high) : high;
		u64 bottom = k > 0 ? s->v[k - 1]->end : MMAP_MIN_ADDR;
		bottom = MAX(bottom, MMAP_MIN_ADDR);
		if (top >= bottom && top - bottom >= len)
			return top - len;
		if (k == 0)
			return 0;
		k--;
	}
}

/* May a mapping of len bytes go at the (page-aligned) hint, below limit?
 * Only into free space, and not into the guard gap below a VM_GROWSDOWN VMA. */
static bool hint_fits(struct mm_struct *mm, u64 hint, u64 len, u64 limit)
{
	struct vm_area *next = vma_find_intersection(vmas(mm), hint, TASK_SIZE);
	return hint >= MMAP_MIN_ADDR && len <= limit && hint <= limit - len &&
	       (!next || hint + len <= vma_start_gap(next));
}

static u64 get_unmapped_area(struct mm_struct *mm, u64 hint, u64 len)
{
	hint = page_align(hint);
	if (hint && hint_fits(mm, hint, len, TASK_SIZE))
		return hint;
	u64 a = gap_below(mm, len, mm->mmap_base);
	if (!a)
		a = gap_below(mm, len, TASK_SIZE);  /* above mmap_base, as a last resort */
	return a;
}

u64 mm_get_unmapped_area(struct mm_struct *mm, u64 hint, u64 len)
{
	mmap_assert_write_locked(mm);
	return get_unmapped_area(mm, hint, len);
}

/* MAP_32BIT (x86-64): the mapping must lie in the second GiB, below 2 GiB,
 * for code that keeps pointers in 32 bits. As Linux: a hint that fits below
 * 2 GiB is taken; else the lowest free range of [1 GiB, 2 GiB) (Linux
 * randomises the start within 32 MiB of 1 GiB); 0 if none. */
#define MAP_32BIT_BEGIN 0x40000000UL
#define MAP_32BIT_END 0x80000000UL

static u64 get_unmapped_area_32bit(struct mm_struct *mm, u64 hint, u64 len)
{
	struct vma_set *s = vmas(mm);
	if (len > MAP_32BIT_END)
		return 0;
	hint = page_align(hint);
	if (hint && hint_fits(mm, hint, len, MAP_32BIT_END))
		return hint;
	u64 a = MAP_32BIT_BEGIN;
	for (u32 i = vma_index(s, a); a <= MAP_32BIT_END - len; i++) {
		if (i >= s->nr || vma_start_gap(s->v[i]) >= a + len)
			return a;
		a = MAX(a, s->v[i]->end);
	}
	return 0;
}

/* A new VMA at [addr, addr+len), replacing what was there: anonymous, or
 * (obj set, VM_SHARED) mapping a memfd's object from page pgoff; the
 * caller's reference on obj moves to the VMA on success. */
static long mmap_region(struct mm_struct *mm, u64 addr, u64 len, u32 vm_flags,
			struct shared_anon *obj, u64 pgoff)
{
	struct vma_set *s = vmas(mm);
	int err = do_munmap(mm, addr, addr + len);
	if (err)
		return err;
	if (vma_reserve(s, 1))
		return -ENOMEM;
	/* New to any soft-dirty tracker: all of it dirty (docs/soft-dirty.md). */
	struct vm_area *v = vma_alloc(addr, addr + len, vm_flags | VM_SOFTDIRTY);
	if (!v)
		return -ENOMEM;
	v->mm = mm;
	if (obj) {
		v->shared = obj;
		v->pgoff = pgoff;
		shared_anon_attach(v);
	} else if (vm_flags & VM_SHARED) {
		v->shared = shared_anon_create(len / PAGE_SIZE);
		if (!v->shared) {
			vma_free(v);
			return -ENOMEM;
		}
		shared_anon_attach(v);
	}
	vma_insert(s, v);               /* reserved: cannot fail */
	vma_merge(s, vma_index(s, addr));
	sync_nr(mm);
	return (long)addr;
}

/* The flags every file's mmap understands (Linux's LEGACY_MAP_MASK). */
#define MAP_DENYWRITE 0x0800
#define MAP_EXECUTABLE 0x1000
#define MAP_UNINITIALIZED 0x4000000
#define MAP_LOCKED 0x2000
#define MAP_NONBLOCK 0x10000
#define MAP_STACK 0x20000
#define MAP_HUGETLB 0x40000
#define MAP_32BIT 0x40
#define LEGACY_MAP_MASK (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | \
			 MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | \
			 MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB)

/* The checks Linux makes on a file mapping before it calls the file's mmap
 * operation: -ENODEV here means they all passed (only memfds and tmpfs
 * files have one). */
static long file_mmap_error(u64 len, u64 pgoff, u64 prot, u64 flags, int mode)
{
	/* file_mmap_ok: the mapped range must fit in a file offset. */
	u64 maxsize = (mode & FD_MMAP_REGULAR) ? 0x7fffffffffffffffUL : ~0UL;
	if (len > maxsize || pgoff > (maxsize - len) >> PAGE_SHIFT)
		return -EOVERFLOW;
	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
		flags &= LEGACY_MAP_MASK;
		/* fall through */
	case MAP_SHARED_VALIDATE:
		if (flags & ~(u64)LEGACY_MAP_MASK)
			return -EOPNOTSUPP;
		if ((prot & PROT_WRITE) && !(mode & FD_MMAP_WRITE))
			return -EACCES;
		/* fall through */
	case MAP_PRIVATE:
		if (!(mode & FD_MMAP_READ))
			return -EACCES;
		if ((mode & FD_MMAP_NOEXEC) && (prot & PROT_EXEC))
			return -EPERM;
		return -ENODEV;
	default:
		return -EINVAL;
	}
}

/* Where the mapping goes (Linux's get_unmapped_area and the checks of a
 * MAP_FIXED address), in *addr. 0 or -errno. mmap_lock held for write. */
static long mmap_get_area(struct mm_struct *mm, u64 *addr, u64 len, u64 flags)
{
	if (len > TASK_SIZE)
		return -ENOMEM;
	if (flags & MAP_FIXED) {
		if (*addr > TASK_SIZE - len)
			return -ENOMEM;
		if (*addr & ~PAGE_MASK)
			return -EINVAL;
		if (*addr < MMAP_MIN_ADDR)
			return -EPERM;  /* security_mmap_addr */
	} else {
		*addr = (flags & MAP_32BIT) ? get_unmapped_area_32bit(mm, *addr, len) :
					      get_unmapped_area(mm, *addr, len);
		if (!*addr)
			return -ENOMEM;
	}
	if ((flags & MAP_FIXED_NOREPLACE) && vma_find_intersection(vmas(mm), *addr, *addr + len))
		return -EEXIST;
	return 0;
}

/* A memfd's or tmpfs file's mapping (its object, a reference taken in
 * obj), shared or private (docs/tmpfs.md, "Private mappings"). Any other
 * fd has no mmap operation: the -ENODEV the checks left. A file mapping
 * cannot grow down (EINVAL, as Linux's do_mmap). */
static long memfd_mmap_check(long err, u64 flags, struct shared_anon *obj)
{
	if (err != -ENODEV || !obj)
		return err;
	return (flags & MAP_GROWSDOWN) ? -EINVAL : 0;
}

/* A file mapping's VMA flags. A private one is an ordinary private VMA
 * that also points at the object (mm/fault.c, do_cow_fault). A shared one
 * of a file not open for writing may never become writable (mprotect:
 * EACCES), as Linux clears VM_MAYWRITE. */
static u32 file_vm_flags(u32 vm_flags, u64 type, int mode)
{
	if (type == MAP_PRIVATE)
		return vm_flags;
	vm_flags |= VM_SHARED;
	return (mode & FD_MMAP_WRITE) ? vm_flags : vm_flags & ~VM_MAYWRITE;
}

/* do_mmap; *obj: a memfd's object (a reference), for the caller to put
 * unless the mapping took it (then NULL). */
static long do_mmap_obj(struct mm_struct *mm, u64 addr, u64 len, u64 prot, u64 flags, int fd,
			u64 off, struct shared_anon **obj)
{
	bool anon = (flags & MAP_ANONYMOUS) != 0;
	int mode = 0;
	if (off & ~PAGE_MASK)
		return -EINVAL;
	if (!anon) {
		mode = fd_mmap_mode(fd);
		if (mode < 0)
			return -EBADF;
		*obj = memfd_get_object(fd);
	}
	/* No hugetlbfs: no huge page size for an anonymous MAP_HUGETLB and no
	 * hugetlbfs file for a file one. A Linux built without it refuses both
	 * here, before do_mmap's own checks. */
	if (flags & MAP_HUGETLB)
		return -EINVAL;
	if (len == 0)
		return -EINVAL;
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;
	if (!(flags & MAP_FIXED) && addr && addr < MMAP_MIN_ADDR)
		addr = MMAP_MIN_ADDR;   /* Linux's round_hint_to_min */
	len = page_align(len);
	if (len == 0)
		return -ENOMEM;         /* the length wrapped */
	u64 pgoff = off >> PAGE_SHIFT;
	if (pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (mm->nr_vmas >= MAX_VMAS)
		return -ENOMEM;

	struct uffd_unmap_list ul = { .n = 0 };
	mmap_write_lock(mm);
	long ret = mmap_get_area(mm, &addr, len, flags);
	if (ret)
		goto out;
	if ((flags & MAP_FIXED) && (ret = userfaultfd_unmap_prep(mm, addr, addr + len, &ul)))
		goto out;       /* what MAP_FIXED replaces is unmapped: EVENT_UNMAP */
	/* def_flags: mlockall(MCL_FUTURE) locks every new mapping. */
	u32 vm_flags = prot_to_vm(prot) | VM_MAYALL | mm->def_flags;
	/* MAP_LOCKED: as mlock (mm/mlock.h): populated now, and no advice
	 * that would drop or age the pages (mm/madvise.c). Every process may
	 * lock (no RLIMIT_MEMLOCK: as root on Linux). */
	if (flags & MAP_LOCKED)
		vm_flags |= VM_LOCKED;
	u64 type = flags & MAP_TYPE;
	if (!anon) {
		ret = memfd_mmap_check(file_mmap_error(len, pgoff, prot, flags, mode), flags, *obj);
		if (ret)
			goto out;
		vm_flags = file_vm_flags(vm_flags, type, mode);
	} else if (type == MAP_SHARED) {
		if (flags & MAP_GROWSDOWN) {
			ret = -EINVAL;
			goto out;
		}
		vm_flags |= VM_SHARED;
	} else if (type != MAP_PRIVATE) {
		ret = -EINVAL;
		goto out;
	} else if (flags & MAP_GROWSDOWN) {
		vm_flags |= VM_GROWSDOWN;
	}
	ret = mmap_region(mm, addr, len, vm_flags, *obj, pgoff);
	if (ret >= 0)
		*obj = NULL;            /* the VMA's reference now */
	/* MAP_NONBLOCK turns MAP_POPULATE off (Linux: "do not block on IO",
	 * and it skips the whole population); a locked mapping populates,
	 * unless locked on fault (MCL_ONFAULT: Linux's populate_vma_page_range
	 * skips it, MAP_POPULATE or not). */
	bool populate = ((vm_flags & VM_LOCKED) ||
			 (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE) &&
			!(vm_flags & VM_LOCKONFAULT);
	if (ret >= 0 && populate)
		mm_populate(mm, addr, addr + len, (vm_flags & VM_WRITE) != 0);  /* errors ignored, as Linux */
out:
	mmap_write_unlock(mm);
	userfaultfd_unmap_complete(&ul);
	return ret;
}

long do_mmap(struct mm_struct *mm, u64 addr, u64 len, u64 prot, u64 flags, int fd, u64 off)
{
	struct shared_anon *obj = NULL;
	long ret = do_mmap_obj(mm, addr, len, prot, flags, fd, off, &obj);
	if (obj)
		shared_anon_put(obj);   /* not mapped after all */
	return ret;
}

static struct mm_struct *current_mm(void)
{
	return current_thread()->mm;
}

static long sys_mmap(u64 addr, u64 len, u64 prot, u64 flags, u64 fd, u64 off)
{
	struct mm_struct *mm = current_mm();
	if (!mm)
		return -ENOMEM;
	return do_mmap(mm, addr, len, prot, flags, (int)fd, off);
}

long do_munmap_range(struct mm_struct *mm, u64 start, u64 len)
{
	if ((start & ~PAGE_MASK) || start > TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	len = page_align(len);
	if (len == 0)
		return -EINVAL;
	struct uffd_unmap_list ul = { .n = 0 };
	mmap_write_lock(mm);
	long ret = userfaultfd_unmap_prep(mm, start, start + len, &ul);     /* EVENT_UNMAP */
	if (!ret)
		ret = do_munmap(mm, start, start + len);
	mmap_write_unlock(mm);
	userfaultfd_unmap_complete(&ul);
	return ret;
}

static long sys_munmap(u64 start, u64 len)
{
	struct mm_struct *mm = current_mm();
	if (!mm)
		return -EINVAL;
	return do_munmap_range(mm, start, len);
}

long do_mprotect(struct mm_struct *mm, u64 start, u64 len, u64 prot)
{
	if (start & ~PAGE_MASK)
		return -EINVAL;
	if (len == 0)
		return 0;
	len = page_align(len);
	u64 end = start + len;
	if (end <= start)
		return -ENOMEM;
	u64 grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	prot &= ~grows;
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (prot & ~(u64)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
		return -EINVAL;

	struct vma_set *s = vmas(mm);
	long err = 0;
	struct mmu_gather tlb;
	mmap_write_lock(mm);
	tlb_gather_mmu(&tlb, mm);
	u32 i = vma_index(s, start);
	if (i >= s->nr) {
		err = -ENOMEM;
		goto out;
	}
	if (grows & PROT_GROWSUP) {
		err = -EINVAL;          /* x86 has no upward-growing VMAs */
		goto out;
	}
	if (grows & PROT_GROWSDOWN) {
		if (s->v[i]->start >= end || !(s->v[i]->flags & (VM_STACK | VM_GROWSDOWN))) {
			err = -EINVAL;
			goto out;
		}
		start = s->v[i]->start;
	} else if (s->v[i]->start > start) {
		err = -ENOMEM;
		goto out;
	}
	/* VMA by VMA, as Linux: a hole found part way leaves the VMAs before
	 * it changed and returns -ENOMEM. */
	u64 nstart = start;
	struct vm_area *v;
	for_each_vma_range(mm, v, nstart, end) {
		if (v->start > nstart) {
			err = -ENOMEM;  /* a hole */
			break;
		}
		u32 newflags = (v->flags & ~VM_ACCESS) | prot_to_vm(prot);
		/* Each right asked for needs its VM_MAY* (VM_MAYREAD == VM_READ << 4...). */
		if ((newflags & ~(newflags >> 4)) & VM_ACCESS) {
			err = -EACCES;
			break;
		}
		u64 tmp = MIN(v->end, end);
		/* Locked private memory made writable gets its own copies now,
		 * as Linux's mlock promises: no copy-on-write fault later. */
		bool unshare = (v->flags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED &&
			       (newflags & VM_WRITE);
		err = mm_set_range_flags(mm, nstart, tmp, newflags, &tlb);
		if (err)
			break;
		if (unshare)
			mm_populate(mm, nstart, tmp, true);     /* errors ignored, as Linux */
	}
	if (!err && nstart < end)
		err = -ENOMEM;          /* a hole at the end */
out:
	/* One flush for every entry that lost a right, before we return. */
	tlb_finish_mmu(&tlb);
	mmap_write_unlock(mm);
	return err;
}

static long sys_mprotect(u64 start, u64 len, u64 prot)
{
	struct mm_struct *mm = current_mm();
	if (!mm)
		return -ENOMEM;
	return do_mprotect(mm, start, len, prot);
}

long do_brk(struct mm_struct *mm, u64 brk)
{
	mmap_write_lock(mm);
	u64 origbrk = mm->brk;
	u64 newbrk = page_align(brk), oldbrk = page_align(mm->brk);
	if (brk < mm->start_brk || brk > TASK_SIZE)
		goto out;
	if (newbrk == oldbrk) {
		mm->brk = brk;
		goto success;
	}
	if (brk <= mm->brk) {
		/* Shrink: the heap's tail goes. */
		if (do_munmap(mm, newbrk, oldbrk))
			goto out;
		mm->brk = brk;
		goto success;
	}
	/* Grow: not into the next mapping, nor into the guard gap below a
	 * MAP_GROWSDOWN one (with a page to spare, as Linux). */
	struct vm_area *next = vma_find_intersection(vmas(mm), oldbrk, TASK_SIZE);
	if (next && newbrk + PAGE_SIZE > vma_start_gap(next))
		goto out;
	if (mmap_region(mm, oldbrk, newbrk - oldbrk,
			VM_READ | VM_WRITE | VM_MAYALL | mm->def_flags, NULL, 0) < 0)
		goto out;
	mm->brk = brk;
	/* mlockall(MCL_FUTURE) without MCL_ONFAULT: the new heap is populated
	 * (Linux's brk; errors ignored). */
	if ((mm->def_flags & (VM_LOCKED | VM_LOCKONFAULT)) == VM_LOCKED)
		mm_populate(mm, oldbrk, newbrk, true);
success:
	mmap_write_unlock(mm);
	return (long)brk;
out:
	mmap_write_unlock(mm);
	return (long)origbrk;
}

static long sys_brk(u64 brk)
{
	struct mm_struct *mm = current_mm();
	if (!mm)
		return 0;
	return do_brk(mm, brk);
}

void mm_syscalls_init(void)
{
	syscall_register(SYS_mmap, (void (*)(void))sys_mmap);
	syscall_register(SYS_munmap, (void (*)(void))sys_munmap);
	syscall_register(SYS_mprotect, (void (*)(void))sys_mprotect);
	syscall_register(SYS_brk, (void (*)(void))sys_brk);
	syscall_register(SYS_madvise, (void (*)(void))sys_madvise);
	syscall_register(SYS_process_madvise, (void (*)(void))sys_process_madvise);
	mlock_syscalls_init();
	mremap_init();
}

/* --- exec --- */

static int map_segment(struct mm_struct *mm, u64 vaddr, u64 memsz, const void *data,
		       u64 filesz, u32 prot)
{
	if (memsz == 0)
		return 0;
	if (filesz > memsz || vaddr < MMAP_MIN_ADDR || vaddr >= TASK_SIZE || memsz > TASK_SIZE - vaddr)
		return -EINVAL;
	u64 start = vaddr & PAGE_MASK, end = page_align(vaddr + memsz);
	u32 flags = prot_to_vm(prot) | VM_MAYALL;
	struct vma_set *s = vmas(mm);

	/* Pages already mapped by an earlier segment (two segments sharing a
	 * page) keep their VMA with the union of the rights; the rest gets a
	 * new VMA. */
	u64 a = start;
	while (a < end) {
		struct vm_area *v = vma_find_intersection(s, a, end);
		u64 gap_end = v ? MAX(v->start, a) : end;
		if (gap_end > a) {
			long r = mmap_region(mm, a, gap_end - a, flags, NULL, 0);
			if (r < 0)
				return (int)r;
			a = gap_end;
			continue;
		}
		u64 hi = MIN(v->end, end);
		if ((v->flags | flags) != v->flags) {
			/* Only widens rights: nothing for the gather to flush. */
			struct mmu_gather tlb;
			tlb_gather_mmu(&tlb, mm);
			int err = mm_set_range_flags(mm, a, hi, v->flags | flags, &tlb);
			tlb_finish_mmu(&tlb);
			if (err)
				return err;
		}
		a = hi;
	}

	/* The bytes: file data, then zeros up to memsz. */
	for (a = start; a < end; a += PAGE_SIZE) {
		struct page *p = mm_get_private_page(mm, a);
		if (!p)
			return -ENOMEM;
		u8 *kva = page_address(p);
		u64 lo = MAX(a, vaddr), hi = MIN(a + PAGE_SIZE, vaddr + memsz);
		for (u64 x = lo; x < hi; x++) {
			u64 off = x - vaddr;
			kva[x - a] = off < filesz ? ((const u8 *)data)[off] : 0;
		}
	}
	return 0;
}

int mm_map_segment(struct mm_struct *mm, u64 vaddr, u64 memsz, const void *data,
		   u64 filesz, u32 prot)
{
	/* Nobody else uses the new address space yet; the lock is taken all
	 * the same, because the VMA code checks that it is held
	 * (mm/vma_lock.h), as Linux's exec takes it. */
	mmap_write_lock(mm);
	int err = map_segment(mm, vaddr, memsz, data, filesz, prot);
	mmap_write_unlock(mm);
	return err;
}

static int setup_stack(struct mm_struct *mm, u64 top, u64 size)
{
	size = page_align(size);
	/* Linux puts the top at TASK_SIZE; up to USER_SPACE_END is accepted. */
	if ((top & ~PAGE_MASK) || top > USER_SPACE_END || top < MMAP_MIN_ADDR || size == 0 ||
	    size > top - MMAP_MIN_ADDR)
		return -EINVAL;
	if (vma_find_intersection(vmas(mm), top - size, top))
		return -EEXIST;
	long r = mmap_region(mm, top - size, size, VM_READ | VM_WRITE | VM_MAYALL | VM_STACK,
			     NULL, 0);
	if (r < 0)
		return (int)r;
	mm->start_stack = top;
	return 0;
}

int mm_setup_stack(struct mm_struct *mm, u64 top, u64 size)
{
	mmap_write_lock(mm);            /* as mm_map_segment */
	int err = setup_stack(mm, top, size);
	mmap_write_unlock(mm);
	return err;
}

void mm_set_brk_start(struct mm_struct *mm, u64 start)
{
	mm->start_brk = mm->brk = page_align(start);
}
