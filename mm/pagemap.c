/* SPDX-License-Identifier: MIT */
/* mm/pagemap.c - /proc/PID/pagemap entries and PAGEMAP_SCAN (mm/pagemap.h
 * has the formats and the rules). */
#include "mm/pagemap.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/thp.h"
#include "mm/slab.h"
#include "mm/userfaultfd.h"
#include "mm/vma_lock.h"
#include "kernel/userfaultfd.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/sched.h"

_Static_assert(sizeof(struct pm_scan_arg) == 96, "struct pm_scan_arg as Linux");
_Static_assert(sizeof(struct page_region) == 24, "struct page_region as Linux");

/* ---- reading the page tables: the one place ---- */

u32 pagemap_read_leaves(struct mm_struct *mm, u64 addr, u64 end, u64 *out, bool *huge)
{
	mmap_assert_locked(mm);
	u64 region_end = (addr & HPAGE_MASK) + HPAGE_SIZE;
	if (end > region_end || end < addr)
		end = region_end;
	u32 n = (u32)((end - addr) >> PAGE_SHIFT);
	*huge = false;
	/* The usual case: a PTE table, read under its own lock. The entries
	 * of [addr, end) are consecutive in it. */
	u32 *ptl;
	u64 *pte = pte_offset_map_lock(mm, addr, &ptl);
	if (pte) {
		for (u32 i = 0; i < n; i++)
			out[i] = pte_read(&pte[i]);
		pte_unmap_unlock(ptl);
		return n;
	}
	/* A huge PMD, or nothing (or a table that appeared meanwhile): look
	 * under the PMD lock, which keeps any table hooked (reclaim needs it
	 * to unhook one). */
	spin_lock(&mm->page_table_lock);
	u64 *pmd = pgtable_walk(mm, addr, PT_PMD);
	u64 pmdv = pmd ? pte_read(pmd) : 0;
	if (pmd_huge(pmdv)) {
		/* What each 4 KiB page's entry would be after a split (as
		 * pgtable_leaf): its frame, and the PMD's bits (uffd-wp too). */
		*huge = true;
		u64 base = pmdv & PTE_ADDR_MASK & HPAGE_MASK;
		u64 bits = pmdv & ~(PTE_ADDR_MASK | PTE_PS);
		for (u32 i = 0; i < n; i++)
			out[i] = (base + (((addr & ~HPAGE_MASK) >> PAGE_SHIFT) + i) * PAGE_SIZE) | bits;
	} else if (pmdv & PTE_P) {
		u64 *pt = entry_table(pmdv);
		for (u32 i = 0; i < n; i++)
			out[i] = pte_read(&pt[pgtable_index(addr + (u64)i * PAGE_SIZE, PT_PTE)]);
	} else {
		memset(out, 0, n * sizeof(u64));
	}
	spin_unlock(&mm->page_table_lock);
	return n;
}

/* A marker: "empty, but write-protected" (mm/userfaultfd.h). */
static bool is_marker(u64 e) { return e == PTE_UFFD_WP; }

/* The page behind a mapped entry, NULL for the zero page (Linux's
 * vm_normal_page: a special mapping has no page of its own). */
static struct page *normal_page(u64 e)
{
	if (pte_special(e))
		return NULL;
	struct page *p = pte_page(e);
	return p == zero_page ? NULL : p;
}

/* A page of a file (an object's: shmem on Linux, whose pages are not
 * PageAnon), also mapped read-only in a private mapping of it; not the
 * private copies made of it. pagemap's bit 61 and PAGEMAP_SCAN's
 * PAGE_IS_FILE both say this. */
static bool file_page(const struct page *p)
{
	return p && (p->flags & PG_shmem);
}

static u64 pm_entry(u64 e, bool huge, const struct vm_area *vma)
{
	/* Soft-dirty (docs/soft-dirty.md): the whole VMA while it is new,
	 * else a mapped entry written since the last clear_refs (the software
	 * bit, or D: the MMU sets that one without a fault). A marker never. */
	u64 pm = (vma->flags & VM_SOFTDIRTY) ? PM_SOFT_DIRTY : 0;
	if (pte_mapped(e)) {
		pm |= PM_PRESENT | ((e & PTE_ADDR_MASK) >> PAGE_SHIFT);
		if (pte_soft_dirty(e))
			pm |= PM_SOFT_DIRTY;
		if (e & PTE_UFFD_WP)
			pm |= PM_UFFD_WP;
		struct page *p = normal_page(e);
		if (file_page(p))
			pm |= PM_FILE;
		if (p && page_mapcount(huge ? compound_head(p) : p) == 1)
			pm |= PM_MMAP_EXCLUSIVE;
	} else if (is_marker(e)) {
		pm |= PM_UFFD_WP;
	}
	return pm;
}

void pagemap_read_entries(struct mm_struct *mm, u64 addr, u64 n, u64 *out)
{
	memset(out, 0, n * sizeof(u64));
	u64 end = addr + n * PAGE_SIZE;
	down_read(&mm->mmap_lock);
	struct vm_area *vma;
	u64 cur = addr;
	for_each_vma_range(mm, vma, cur, end) {
		u64 a = vma->start > cur ? vma->start : cur;
		u64 e = vma->end < end ? vma->end : end;
		while (a < e) {
			u64 *slot = &out[(a - addr) >> PAGE_SHIFT];
			bool huge;
			u32 got = pagemap_read_leaves(mm, a, e, slot, &huge);
			for (u32 j = 0; j < got; j++)
				slot[j] = pm_entry(slot[j], huge, vma);
			a += (u64)got * PAGE_SIZE;
		}
	}
	up_read(&mm->mmap_lock);
}

/* ---- PAGEMAP_SCAN ---- */

#define SCAN_OUT_BATCH 32       /* regions kept before a copy to the user */
#define SCAN_WP_BATCH 32        /* runs to re-protect before unlocking */
#define SCAN_CHUNK_PAGES 4096   /* pages per hold of mmap_lock */

struct scan {
	struct pm_scan_arg arg;
	u64 found;                      /* pages reported so far */
	u64 flushed;                    /* regions copied to the user so far */
	struct page_region out[SCAN_OUT_BATCH];
	u32 nout;
	struct uffdio_range wp[SCAN_WP_BATCH];  /* runs to re-protect */
	u32 nwp;
	u64 *leaves;                    /* HPAGE_NR entries */
};

/* Why the walk of a chunk stopped. */
enum scan_stop { SCAN_GO, SCAN_FLUSH, SCAN_FULL, SCAN_ERROR };

static bool interesting(const struct scan *s, u64 cat)
{
	cat ^= s->arg.category_inverted;
	if ((cat & s->arg.category_mask) != s->arg.category_mask)
		return false;
	if (s->arg.category_anyof_mask && !(cat & s->arg.category_anyof_mask))
		return false;
	return true;
}

static bool interesting_vma(const struct scan *s, u64 vma_cat)
{
	u64 required = s->arg.category_mask & PAGE_IS_WPALLOWED;
	return ((vma_cat ^ s->arg.category_inverted) & required) == required;
}

static u64 page_categories(u64 e, bool huge)
{
	u64 cat = 0;
	if (pte_mapped(e)) {
		cat |= PAGE_IS_PRESENT;
		if (file_page(normal_page(e)))
			cat |= PAGE_IS_FILE;
		if (pte_soft_dirty(e))
			cat |= PAGE_IS_SOFT_DIRTY;
		if (!(e & PTE_UFFD_WP))
			cat |= PAGE_IS_WRITTEN;
		if (pte_page(e) == zero_page)
			cat |= PAGE_IS_PFNZERO;
		if (huge)
			cat |= PAGE_IS_HUGE;
	} else if (e) {
		/* Not present, not empty: a marker (or a swap entry). */
		cat |= PAGE_IS_SWAPPED;
		if (!(e & PTE_UFFD_WP))
			cat |= PAGE_IS_WRITTEN;
	}
	return cat;
}

/* Report the page at a with categories cat. SCAN_GO, or why not. */
static enum scan_stop report(struct scan *s, u64 a, u64 cat)
{
	cat &= s->arg.return_mask;
	struct page_region *last = s->nout ? &s->out[s->nout - 1] : NULL;
	if (last && last->end == a && last->categories == cat) {
		last->end = a + PAGE_SIZE;
		return SCAN_GO;
	}
	if (s->flushed + s->nout >= s->arg.vec_len)
		return SCAN_FULL;       /* no room for another region */
	if (s->nout == SCAN_OUT_BATCH)
		return SCAN_FLUSH;
	s->out[s->nout++] = (struct page_region){ a, a + PAGE_SIZE, cat };
	return SCAN_GO;
}

static enum scan_stop note_wp(struct scan *s, u64 a)
{
	if (s->nwp && s->wp[s->nwp - 1].start + s->wp[s->nwp - 1].len == a) {
		s->wp[s->nwp - 1].len += PAGE_SIZE;
		return SCAN_GO;
	}
	if (s->nwp == SCAN_WP_BATCH)
		return SCAN_FLUSH;
	s->wp[s->nwp++] = (struct uffdio_range){ a, PAGE_SIZE };
	return SCAN_GO;
}

/* Whether to walk the VMA (*cat: its own categories); -EPERM in *err for
 * PM_SCAN_CHECK_WPASYNC on a VMA without async write protection. */
static bool vma_categories(const struct scan *s, const struct vm_area *vma, u64 *cat, long *err)
{
	bool wp_allowed = (vma->flags & VM_UFFD_WP) && vma->uffd_ctx &&
			  (uffd_ctx_features(vma->uffd_ctx) & UFFD_FEATURE_WP_ASYNC);
	if (!wp_allowed) {
		if (s->arg.flags & PM_SCAN_CHECK_WPASYNC) {
			*err = -EPERM;
			return false;
		}
		if (s->arg.flags & PM_SCAN_WP_MATCHING)
			return false;   /* silently skipped, as Linux */
	}
	*cat = (vma->flags & VM_SOFTDIRTY) ? PAGE_IS_SOFT_DIRTY : 0;  /* a new VMA: all of it */
	if (wp_allowed)
		*cat |= PAGE_IS_WPALLOWED;
	return interesting_vma(s, *cat);
}

/* Walk from *addr under mmap_lock (read) until a buffer needs flushing, the
 * output is full, the chunk is done or the range ends; *addr is where to go
 * on. Pages are consumed only when everything about them was recorded. */
static enum scan_stop scan_chunk(struct scan *s, struct mm_struct *mm, u64 *addr, long *err)
{
	u64 a = *addr, end = s->arg.end;
	u64 budget = SCAN_CHUNK_PAGES;
	enum scan_stop stop = SCAN_GO;
	struct vm_area *vma;
	u64 cur = a;
	for_each_vma_range(mm, vma, cur, end) {
		if (a < vma->start)
			a = vma->start;
		u64 vcat = 0;
		u64 vend = vma->end < end ? vma->end : end;
		if (!vma_categories(s, vma, &vcat, err)) {
			if (*err) {
				stop = SCAN_ERROR;
				break;
			}
			a = vend;
			continue;
		}
		while (a < vend && stop == SCAN_GO && budget) {
			bool huge;
			u32 got = pagemap_read_leaves(mm, a, vend, s->leaves, &huge);
			u32 j;
			for (j = 0; j < got; j++) {
				u64 pa = a + (u64)j * PAGE_SIZE;
				u64 cat = vcat | page_categories(s->leaves[j], huge);
				if (!interesting(s, cat))
					continue;
				bool wp = (s->arg.flags & PM_SCAN_WP_MATCHING) && (cat & PAGE_IS_WRITTEN);
				/* Room for the re-protection first: a page is
				 * reported only if it will be protected too. */
				if (wp && s->nwp == SCAN_WP_BATCH &&
				    s->wp[s->nwp - 1].start + s->wp[s->nwp - 1].len != pa) {
					stop = SCAN_FLUSH;
					break;
				}
				if (s->arg.vec_len) {
					stop = report(s, pa, cat);
					if (stop != SCAN_GO)
						break;
					s->found++;
				}
				if (wp)
					(void)note_wp(s, pa);   /* room checked above */
				if (s->arg.vec_len && s->found == s->arg.max_pages) {
					stop = SCAN_FULL;
					j++;            /* this page is done */
					break;
				}
			}
			a += (u64)j * PAGE_SIZE;
			budget = budget > j ? budget - j : 0;
		}
		if (stop != SCAN_GO || !budget)
			break;
	}
	/* Neither stopped nor out of budget: no VMA is left in the range. */
	if (stop == SCAN_GO && budget)
		a = end;
	*addr = a;
	return stop;
}

/* Copy the regions found to the user's vector; re-protect the runs noted.
 * No lock held. 0 or -errno. */
static long scan_flush(struct scan *s, struct mm_struct *mm)
{
	long err = 0;
	if (s->nout) {
		u64 at = s->arg.vec + s->flushed * sizeof(struct page_region);
		if (copy_to_user(at, s->out, s->nout * sizeof(struct page_region)))
			err = -EFAULT;
		s->flushed += s->nout;
		s->nout = 0;
	}
	for (u32 i = 0; i < s->nwp && !err; i++)
		err = uffd_wp_range(mm, s->wp[i].start, s->wp[i].start + s->wp[i].len, true);
	s->nwp = 0;
	return err;
}

/* Linux's pagemap_scan_get_args: the checks in its order. */
static long scan_args(struct pm_scan_arg *a, u64 uarg)
{
	if (copy_from_user(a, uarg, sizeof(*a)))
		return -EFAULT;
	if (a->size != sizeof(*a))
		return -EINVAL;
	if (a->flags & ~(u64)PM_SCAN_FLAGS)
		return -EINVAL;
	if ((a->category_inverted | a->category_mask | a->category_anyof_mask | a->return_mask) &
	    ~PM_SCAN_CATEGORIES)
		return -EINVAL;
	if (a->start & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!user_range_ok(a->start, a->end - a->start))
		return -EFAULT;
	if (!a->vec && a->vec_len)
		return -EINVAL;
	if (a->vec && (a->vec_len > ~0UL / sizeof(struct page_region) ||
		       !user_range_ok(a->vec, a->vec_len * sizeof(struct page_region))))
		return -EFAULT;
	a->end = (a->end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	a->walk_end = 0;
	if (!a->max_pages)
		a->max_pages = ~0UL;
	return 0;
}

long pagemap_scan(struct mm_struct *mm, u64 uarg)
{
	struct scan *s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	long ret = scan_args(&s->arg, uarg);
	if (ret) {
		kfree(s);
		return ret;
	}
	s->leaves = kmalloc(HPAGE_NR * sizeof(u64), GFP_KERNEL);
	if (!s->leaves) {
		kfree(s);
		return -ENOMEM;
	}
	u64 a = s->arg.start;
	enum scan_stop stop = SCAN_GO;
	while (a < s->arg.end) {
		down_read(&mm->mmap_lock);
		stop = scan_chunk(s, mm, &a, &ret);
		up_read(&mm->mmap_lock);
		long err = scan_flush(s, mm);
		if (err && !ret)
			ret = err;
		if (ret || stop == SCAN_FULL)
			break;
		cond_resched();
	}
	if (!ret) {
		ret = (long)s->flushed;
		/* Where the walk stopped when the output filled up, else the end. */
		s->arg.walk_end = stop == SCAN_FULL ? a : s->arg.end;
	} else {
		s->arg.walk_end = a;
	}
	if (copy_to_user(uarg + __builtin_offsetof(struct pm_scan_arg, walk_end), &s->arg.walk_end,
			 sizeof(s->arg.walk_end)))
		ret = -EFAULT;
	kfree(s->leaves);
	kfree(s);
	return ret;
}
