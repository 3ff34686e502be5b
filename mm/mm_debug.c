/* SPDX-License-Identifier: MIT */
/* mm/mm_debug.c - whole-address-space consistency checks; see mm_debug.h for
 * what is checked and the locking.
 *
 * One pass over the tables, top down, counting as it goes; the pages the
 * leaves map are collected in a scratch array, sorted, and counted per page
 * afterwards, so that "entries mapping this page <= its mapcount" costs a
 * sort instead of a search per entry.
 */
#include "mm/mm_debug.h"
#include "mm/thp.h"
#include "mm/vma_lock.h"
#include "mm/pgtable.h"
#include "mm/userfaultfd.h"
#include "mm/vma.h"
#include "mm/shared_anon.h"
#include "mm/slab.h"
#include "kernel/errno.h"
#include "kernel/printk.h"         /* vsnprintf */

struct check {
	const struct vma_set *vmas;
	char *why;
	size_t len;
	int problems;
	u64 rss;                        /* non-special mapped leaves seen */
	u64 tables;                     /* tables below the PML4 seen */
	struct page **pages;            /* the pages those leaves map */
	u64 nr_pages, cap;
};

static void problem(struct check *c, const char *fmt, ...) __printf(2, 3);
static void problem(struct check *c, const char *fmt, ...)
{
	/* Only the first problem is described; the rest are counted. */
	if (c->problems++ == 0 && c->len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->why, c->len, fmt, ap);
		va_end(ap);
	}
}

/* The page an entry at addr points to, if it is a live allocated page;
 * otherwise report it and return NULL. what names the entry. */
static struct page *live_page(struct check *c, u64 e, u64 addr, const char *what)
{
	u64 pfn = (e & PTE_ADDR_MASK) >> PAGE_SHIFT;
	if (!pfn_valid(pfn)) {
		problem(c, "%s at %lx points beyond memory (%lx)", what, addr, e);
		return NULL;
	}
	struct page *p = pfn_to_page(pfn);
	/* The head of a free block is PG_buddy or PG_pcp; the other pages of
	 * a free block have refcount 0 (and PG_poisoned in the debug build). */
	/* A 4 KiB page of a 2 MiB one (mm/thp.h): references are counted
	 * on the head. */
	struct page *head = compound_head(p);
	if (page_is_free(head) || page_refcount(head) <= 0 || (p->flags & PG_poisoned)) {
		problem(c, "%s at %lx points at a free page (pfn %lx flags %x ref %d map %d)",
			what, addr, pfn, p->flags, page_refcount(p), page_mapcount(p));
		return NULL;
	}
	if (p->flags & (PG_reserved | PG_slab)) {
		problem(c, "%s at %lx points at a reserved or slab page (pfn %lx flags %x)",
			what, addr, pfn, p->flags);
		return NULL;
	}
	return p;
}

static void check_leaf(struct check *c, u64 addr, u64 e)
{
	if (!pte_mapped(e)) {
		const struct vm_area *v = vma_find(c->vmas, addr);
		if (pte_uffd_marker(e)) {
			/* A userfaultfd marker lives only in a VMA registered
			 * for write protection (mm/userfaultfd.h). */
			if (!v || !(v->flags & VM_UFFD_WP))
				problem(c, "marker at %lx outside a VMA registered for WP", addr);
		} else if (e) {
			problem(c, "PTE at %lx is not mapped but holds %lx", addr, e);
		}
		return;
	}
	if ((e & PTE_UFFD_WP) && pte_write(e))
		problem(c, "PTE at %lx is write-protected by userfaultfd yet writable (%lx)", addr, e);
	if ((e & PTE_P) && (e & PTE_PROTNONE))
		problem(c, "PTE at %lx is both present and PROTNONE (%lx)", addr, e);
	if (!(e & PTE_U))
		problem(c, "PTE at %lx is not a user entry (%lx)", addr, e);
	const struct vm_area *v = vma_find(c->vmas, addr);
	if (!v) {
		problem(c, "PTE at %lx maps %lx outside every VMA", addr, e);
	} else {
		bool accessible = (v->flags & (VM_READ | VM_WRITE | VM_EXEC)) != 0;
		if ((e & PTE_P) && !accessible)
			problem(c, "PTE at %lx is present in a PROT_NONE VMA (%lx)", addr, e);
		if ((e & PTE_PROTNONE) && accessible)
			problem(c, "PTE at %lx is PROTNONE in an accessible VMA (%lx)", addr, e);
		if (pte_write(e) && !(v->flags & VM_WRITE))
			problem(c, "PTE at %lx is writable in a VMA without VM_WRITE (%lx)", addr, e);
		if (paging_features.nx && (e & PTE_P) && !(e & PTE_NX) && !(v->flags & VM_EXEC))
			problem(c, "PTE at %lx is executable in a VMA without VM_EXEC (%lx)", addr, e);
	}
	if (pte_special(e)) {
		if (pte_page(e) != zero_page)
			problem(c, "special PTE at %lx maps %lx, not the zero page", addr, e);
		if (pte_write(e))
			problem(c, "zero-page PTE at %lx is writable (%lx)", addr, e);
		return;
	}
	c->rss++;
	struct page *p = live_page(c, e, addr, "PTE");
	if (!p)
		return;
	if (p == zero_page)
		problem(c, "PTE at %lx maps the zero page without PTE_SPECIAL", addr);
	if (p->flags & PG_pagetable)
		problem(c, "PTE at %lx maps a page table (pfn %lx)", addr, page_to_pfn(p));
	/* Flags and references of a 4 KiB page inside a 2 MiB one live on
	 * its head (mm/thp.h); the map count is the page's own. */
	struct page *h = compound_head(p);
	if (!(h->flags & PG_anon))
		problem(c, "PTE at %lx maps a page that is not anonymous (flags %x)", addr, h->flags);
	s32 ref = page_refcount(h), map = page_mapcount(p);
	if (map < 1 || ref < map)
		problem(c, "page mapped at %lx has refcount %d, mapcount %d (want ref >= map >= 1)",
			addr, ref, map);
	if (c->nr_pages < c->cap)
		c->pages[c->nr_pages++] = p;
}

/* Entries of a table at `level` covering [base, base + 512 spans). */
static void walk_table(struct check *c, const u64 *table, enum pt_level level, u64 base)
{
	/* The PML4's upper half is the kernel's, shared by every mm. */
	unsigned n = level == PT_PML4 ? PT_ENTRIES / 2 : PT_ENTRIES;
	u64 span = pgtable_span(level);
	for (unsigned i = 0; i < n; i++) {
		u64 a = base + i * span;
		u64 e = pte_read(&table[i]);
		if (level == PT_PTE) {
			check_leaf(c, a, e);
			continue;
		}
		if (!(e & PTE_P)) {
			if (e)
				problem(c, "level-%d entry at %lx is not present but holds %lx", (int)level, a, e);
			continue;
		}
		if (level == PT_PMD && (e & PTE_PS)) {
			/* A huge PMD (mm/thp.h): a 2 MiB page, or the huge
			 * zero page, mapped whole. */
			struct page *h = live_page(c, e, a, "huge PMD");
			if (h && !(e & PTE_SPECIAL)) {
				c->rss += 512;
				if (page_mapcount(h) < 1 || page_refcount(h) < page_mapcount(h))
					problem(c, "huge PMD at %lx: ref %d map %d", a,
						page_refcount(h), page_mapcount(h));
				/* Every huge PMD is counted in the entire map
				 * count, which the head's map count includes. */
				if (thp_entire_mapcount(h) < 1 || thp_entire_mapcount(h) > page_mapcount(h))
					problem(c, "huge PMD at %lx: entire map count %d, map %d", a,
						thp_entire_mapcount(h), page_mapcount(h));
			}
			/* Inside ONE VMA: a VMA boundary within it splits it
			 * first (docs/thp.md, "VMA boundaries"). */
			const struct vm_area *v = vma_find(c->vmas, a);
			if (!v || v->end < a + span)
				problem(c, "huge PMD at %lx-%lx not inside one VMA (%s %lx-%lx)",
					a, a + span, v ? "it starts in" : "no VMA at its start",
					v ? v->start : 0, v ? v->end : 0);
			continue;
		}
		if ((e & (PTE_P | PTE_W | PTE_U)) != (PTE_P | PTE_W | PTE_U) || (e & (PTE_NX | PTE_PS)))
			problem(c, "level-%d entry at %lx has rights %lx (want P|W|U, no NX or PS)",
				(int)level, a, e);
		struct page *t = live_page(c, e, a, "table entry");
		if (!t)
			continue;       /* never walk into a freed page */
		if (!(t->flags & PG_pagetable)) {
			problem(c, "level-%d entry at %lx points at a page that is not a table (flags %x)",
				(int)level, a, t->flags);
			continue;
		}
		c->tables++;
		if (!vma_find_intersection(c->vmas, a, a + span))
			problem(c, "level-%d table for %lx-%lx covers no VMA (munmap should have freed it)",
				(int)level - 1, a, a + span);
		walk_table(c, entry_table(e), level - 1, a);
	}
}

/* Every entry of a shared VMA maps the object's current page at that index:
 * a page the object let go (MADV_REMOVE, a shrink) must be mapped nowhere. Caller
 * holds mmap_lock for write and the object's mappers_lock for write. */
static void check_shared_ptes(struct check *c, struct mm_struct *mm, struct vm_area *v)
{
	struct shared_anon *s = v->shared;
	for (u64 a = v->start; a < v->end; a += PAGE_SIZE) {
		u64 e = pgtable_leaf(mm, a);
		if (!pte_mapped(e) || pte_special(e))
			continue;
		/* A private mapping of the object may map its own copies. */
		if (!(v->flags & VM_SHARED) && !(pte_page(e)->flags & PG_shmem))
			continue;
		u64 idx = v->pgoff + (a - v->start) / PAGE_SIZE;
		spin_lock(&s->lock);
		/* Past the object's end (a memfd shrunk, a mapping longer
		 * than its object) nothing may be mapped. */
		struct page *obj = idx < (s->size + PAGE_SIZE - 1) / PAGE_SIZE ?
				   page_tree_load(&s->pages, idx) : NULL;
		spin_unlock(&s->lock);
		if (obj != pte_page(e))
			problem(c, "shared PTE at %lx maps pfn %lx, but its object's page %lu is %s",
				a, page_to_pfn(pte_page(e)), idx, obj ? "another" : "gone");
	}
}

/* Every VMA belongs to mm; a shared one is on
 * the object's list of mappers (mm/shared_anon.h: MADV_REMOVE finds the
 * mappers there, so one missing would keep old pages after a punch). */
static void check_vmas(struct check *c, struct mm_struct *mm)
{
	for (u32 i = 0; i < c->vmas->nr; i++) {
		struct vm_area *v = c->vmas->v[i], *m;
		if (v->mm != mm)
			problem(c, "VMA %lx-%lx belongs to another address space", v->start, v->end);
		struct shared_anon *s = v->shared;
		if (!s)
			continue;
		/* For write (after mmap_lock: the order): no punch of the
		 * object is half done while we compare its pages. */
		down_write(&s->mappers_lock);
		for (m = s->mappers; m && m != v; m = m->next_mapper)
			;
		if (!m)
			problem(c, "shared VMA %lx-%lx is not on its object's list of mappers",
				v->start, v->end);
		check_shared_ptes(c, mm, v);
		up_write(&s->mappers_lock);
	}
}

/* Heapsort: no recursion, no allocation, O(n log n) worst case. */
static void sift_down(struct page **a, u64 root, u64 n)
{
	for (;;) {
		u64 child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		struct page *tmp = a[root];
		a[root] = a[child];
		a[child] = tmp;
		root = child;
	}
}

static void sort_pages(struct page **a, u64 n)
{
	for (u64 i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (u64 end = n; end-- > 1;) {
		struct page *tmp = a[0];
		a[0] = a[end];
		a[end] = tmp;
		sift_down(a, 0, end);
	}
}

int mm_check_counts(struct mm_struct *mm, char *why, size_t len)
{
	struct check c = { .vmas = mm->vma_root, .why = why, .len = len };
	if (len)
		why[0] = 0;
	mmap_write_lock(mm);
	vma_start_write_all(mm);        /* fast-path faults out too */
	/* rss cannot change while we hold mmap_lock for write, except by
	 * another process's MADV_REMOVE of shared memory we map (it zaps our
	 * entries under the object's mappers_lock alone: mm_debug.h says why
	 * callers keep punches out meanwhile); a wrong rss is reported below,
	 * and a page array too small for the truth only leaves the per-page
	 * count of the extra pages unchecked. */
	c.cap = mm->rss_pages + 64;
	c.pages = kmalloc(c.cap * sizeof(struct page *), GFP_KERNEL);
	if (!c.pages) {
		mmap_write_unlock(mm);
		if (len)
			snprintf(why, len, "no memory for the check's array of %lu pages", c.cap);
		return -ENOMEM;
	}
	check_vmas(&c, mm);
	/* mmap_lock for write keeps every writer of entries out (they all
	 * hold it for read at least), but for a punch from another process
	 * (above); page_table_lock for the deposits. */
	spin_lock(&mm->page_table_lock);
	walk_table(&c, pgtable_root(mm), PT_PML4, 0);
	/* Tables deposited beside huge PMDs count in VmPTE too (thp.h). */
	for (struct page *d = mm->pgtable_deposit; d; d = (struct page *)d->lru.next)
		c.tables++;
	if (c.rss != mm->rss_pages)
		problem(&c, "rss_pages is %lu but %lu PTEs map a page", mm->rss_pages, c.rss);
	if (c.tables != mm->pgtable_pages)
		problem(&c, "pgtable_pages is %lu but %lu tables are reachable", mm->pgtable_pages,
			c.tables);
	/* Entries of this mm mapping each page, against its mapcount. */
	sort_pages(c.pages, c.nr_pages);
	for (u64 i = 0; i < c.nr_pages;) {
		u64 j = i + 1;
		while (j < c.nr_pages && c.pages[j] == c.pages[i])
			j++;
		if ((u64)page_mapcount(c.pages[i]) < j - i)
			problem(&c, "page pfn %lx is mapped %lu times here but its mapcount is %d",
				page_to_pfn(c.pages[i]), j - i, page_mapcount(c.pages[i]));
		i = j;
	}
	spin_unlock(&mm->page_table_lock);
	mmap_write_unlock(mm);
	kfree(c.pages);
	return c.problems;
}
