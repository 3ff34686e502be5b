/* SPDX-License-Identifier: MIT */
/* mm/buddy.c - the buddy allocator and the page allocator's entry points.
 *
 * Free memory is kept as blocks of 2^order pages, each aligned to its own
 * size, on one list per order. A block of order k has exactly one "buddy":
 * the block of the same size it was split from, at pfn ^ (1 << k).
 *   Allocation takes the smallest block that fits and splits it in halves,
 *   putting the unused halves back on the lower lists.
 *   Freeing looks at the buddy: if it is free and of the same order, the two
 *   merge into one block of the next order, and so on up. So memory returns
 *   to large blocks as soon as it is free, without any search.
 * Only the first page of a free block is marked (PG_buddy, order); the others
 * are recognised as free because they have refcount 0 and are inside it.
 *
 * Debug checks and poisoning are done outside the zone lock (page_prep_*).
 * docs/physical-memory.md explains the whole path with pictures.
 */
#include "mm/buddy.h"
#include "mm/fault_inject.h"
#ifndef HOST_TEST
#include "mm/deferred_split.h"
#endif
#include "kernel/printk.h"
#include "kernel/string.h"
#ifndef HOST_TEST
#include "arch/x86_64/cpu.h"
#include "kernel/cmdline.h"
#endif

#ifdef HOST_TEST
struct page *vmemmap;
#endif
u64 max_pfn;
/* Pfns below max_pfn that have a descriptor (mm/sparse.h). */
static u64 present_pages;
struct zone zone;
s64 vm_stat[NR_VM_STAT_ITEMS];
bool page_poisoning = CONFIG_DEBUG_MM;
/* Negative control (labs/buddy): "buddy_debug_no_merge" frees every block
 * at its own order, never merging with its buddy (free_block_unmerged:
 * the lists are rebuilt only before a request would fail); the buddy
 * suite's every_order must fail (the pieces of a split block no longer
 * come back as the block right after the free). */
bool buddy_debug_no_merge;

void page_fill(void *addr, u8 byte, u64 size)
{
#ifdef HOST_TEST
	memset(addr, byte, size);
#else
	u64 pattern = byte * 0x0101010101010101UL;
	u64 count = size / 8;
	__asm__ __volatile__("rep stosq" : "+D"(addr), "+c"(count) : "a"(pattern) : "memory");
#endif
}

/* --- reports --- */

static const char *const flag_names[] = {
	"reserved", "buddy", "pcp", "pagetable", "anon", "zero", "head", "tail",
	"exclusive", "slab", "poisoned", "deferred_split",
};

void dump_page(const struct page *p, const char *why)
{
	char flags[128];
	size_t n = 0;
	flags[0] = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(flag_names); i++) {
		if (!(p->flags & (1u << i)))
			continue;
		int w = snprintf(flags + n, sizeof(flags) - n, "%s%s", n ? "|" : "", flag_names[i]);
		if (w > 0 && (size_t)w < sizeof(flags) - n)
			n += (size_t)w;
	}
	printk(KERN_EMERG "page: pfn 0x%lx phys 0x%lx: %s\n", page_to_pfn(p), page_to_phys(p), why);
	printk(KERN_EMERG "page: flags 0x%x (%s) refcount %d mapcount %d order %u owner %u\n",
	       p->flags, flags[0] ? flags : "none", p->refcount, p->mapcount, p->order, p->owner);
}

static __noreturn void bad_page(const struct page *p, const char *op, const char *why)
{
	dump_page(p, why);
	panic("%s: bad page state at pfn 0x%lx: %s", op, page_to_pfn(p), why);
}

/* --- the buddy lists (zone lock held) --- */

static void add_free_block(struct page *p, unsigned order)
{
	p->flags |= PG_buddy;
	p->order = (u8)order;
	list_add(&p->lru, &zone.free_area[order].list);
	zone.free_area[order].nr_free++;
	zone.nr_free += 1UL << order;
}

static void del_free_block(struct page *p, unsigned order)
{
	list_del(&p->lru);
	p->flags &= ~PG_buddy;
	zone.free_area[order].nr_free--;
	zone.nr_free -= 1UL << order;
}

/* --- the simple correct version of freeing: no merge, a rebuild later ---
 *
 * A block may also go back on its own order's list as it is, without
 * looking at its buddy (the no-merge control, and the buddy lab's starter).
 * Memory stays usable, slowly: before a request fails, rebuild_free_lists
 * walks every frame and puts each run of free frames back as the largest
 * aligned blocks it holds, the lists merging on free would have kept. */
static bool free_lists_unmerged;

static void free_block_unmerged(struct page *p, unsigned order)
{
	add_free_block(p, order);
	free_lists_unmerged = true;
}

/* The free frames [start, end) as the largest aligned blocks, no larger
 * than MAX_ORDER, from the left (the same cut as buddy_add_range). */
static void add_free_run(u64 start, u64 end)
{
	while (start < end) {
		unsigned order = 0;
		while (order < MAX_ORDER && (start & ((2UL << order) - 1)) == 0 &&
		       start + (2UL << order) <= end)
			order++;
		add_free_block(pfn_to_page(start), order);
		start += 1UL << order;
	}
}

/* Zone lock held. Every block comes off its list (its first page keeps
 * PG_buddy and its order until the walk reaches it); the walk then joins
 * neighbouring free blocks into runs. A frame without a descriptor, or
 * not free, ends a run. True if the lists may have changed. */
static bool rebuild_free_lists_locked(void)
{
	if (!free_lists_unmerged)
		return false;
	for (unsigned o = 0; o < NR_ORDERS; o++) {
		list_init(&zone.free_area[o].list);
		zone.free_area[o].nr_free = 0;
	}
	zone.nr_free = 0;
	u64 run = zone.start_pfn;
	u64 pfn = zone.start_pfn;
	while (pfn < zone.end_pfn) {
		struct page *p = pfn_valid(pfn) ? pfn_to_page(pfn) : NULL;
		if (p && (p->flags & PG_buddy)) {
			p->flags &= ~PG_buddy;
			pfn += 1UL << p->order;
			continue;
		}
		add_free_run(run, pfn);
		run = ++pfn;
	}
	add_free_run(run, pfn);
	free_lists_unmerged = false;
	return true;
}

void buddy_rebuild_free_lists(void)
{
	u64 flags = spin_lock_irqsave(&zone.lock);
	rebuild_free_lists_locked();
	spin_unlock_irqrestore(&zone.lock, flags);
}

/* --- the buddy allocator proper (zone lock held) --- */

static struct page *buddy_alloc_locked(unsigned order)
{
	unsigned k;
	do {
		k = order;
		while (k <= MAX_ORDER && list_empty(&zone.free_area[k].list))
			k++;
	} while (k > MAX_ORDER && rebuild_free_lists_locked());
	if (k > MAX_ORDER)
		return NULL;
	struct page *p = list_first_entry(&zone.free_area[k].list, struct page, lru);
	del_free_block(p, k);
	/* Split: keep the lower half, give the upper half back one order down. */
	while (k > order) {
		k--;
		add_free_block(p + (1UL << k), k);
	}
	p->order = (u8)order;
	return p;
}

static void buddy_free_locked(struct page *p, unsigned order)
{
	/* LAB(buddy) BEGIN: merge the freed block with its buddy while the buddy is a free block of the same order, then put the result on its list */
	/* LAB(buddy) STUB: free_block_unmerged(p, order); */
	if (buddy_debug_no_merge) {
		free_block_unmerged(p, order);
		return;
	}
	u64 pfn = page_to_pfn(p);
	while (order < MAX_ORDER) {
		u64 buddy_pfn = pfn ^ (1UL << order);
		if (buddy_pfn < zone.start_pfn || buddy_pfn + (1UL << order) > zone.end_pfn)
			break;
		struct page *b = pfn_to_page(buddy_pfn);
		if (!(b->flags & PG_buddy) || b->order != order)
			break;
		del_free_block(b, order);
		pfn &= ~(1UL << order);         /* the merged block starts at the lower one */
		order++;
	}
	add_free_block(pfn_to_page(pfn), order);
	/* LAB(buddy) END */
}

struct page *buddy_alloc(unsigned order)
{
	u64 flags = spin_lock_irqsave(&zone.lock);
	struct page *p = buddy_alloc_locked(order);
	spin_unlock_irqrestore(&zone.lock, flags);
	return p;
}

void buddy_free(struct page *p, unsigned order)
{
	u64 flags = spin_lock_irqsave(&zone.lock);
	buddy_free_locked(p, order);
	spin_unlock_irqrestore(&zone.lock, flags);
}

unsigned buddy_alloc_bulk(unsigned n, struct list_head *list)
{
	unsigned got = 0;
	u64 flags = spin_lock_irqsave(&zone.lock);
	while (got < n) {
		struct page *p = buddy_alloc_locked(0);
		if (!p)
			break;
		list_add_tail(&p->lru, list);
		got++;
	}
	spin_unlock_irqrestore(&zone.lock, flags);
	return got;
}

void buddy_free_bulk(struct list_head *list)
{
	u64 flags = spin_lock_irqsave(&zone.lock);
	while (!list_empty(list)) {
		struct page *p = list_first_entry(list, struct page, lru);
		list_del(&p->lru);
		buddy_free_locked(p, 0);
	}
	spin_unlock_irqrestore(&zone.lock, flags);
}

/* --- boot --- */

#ifndef HOST_TEST
void buddy_debug_init(void)
{
	cmdline_debug_switch("buddy", "buddy_debug_no_merge", &buddy_debug_no_merge,
			     "freed blocks are NOT merged with their buddies");
}
#endif

void buddy_init(u64 nr_pfns)
{
	max_pfn = nr_pfns;
	present_pages = 0;
	for (u64 pfn = 0; pfn < nr_pfns; pfn++) {
		/* Sections without RAM have no descriptors (mm/sparse.h). */
		if (!pfn_valid(pfn))
			continue;
		present_pages++;
		struct page *p = pfn_to_page(pfn);
		p->flags = PG_reserved;
		p->refcount = 1;        /* reserved pages are "in use" by the firmware/kernel */
		p->mapcount = 0;
		p->order = 0;
		p->reserved_pad = 0;
		p->owner = 0;
		p->lru.next = p->lru.prev = NULL;
	}
	spin_init(&zone.lock, "zone");
	zone.start_pfn = 0;
	zone.end_pfn = nr_pfns;
	for (unsigned o = 0; o < NR_ORDERS; o++) {
		list_init(&zone.free_area[o].list);
		zone.free_area[o].nr_free = 0;
	}
	zone.nr_free = 0;
	zone.managed = 0;
	pcp_init();
}

void buddy_add_range(u64 start, u64 end)
{
	if (end > max_pfn)
		end = max_pfn;
	for (u64 pfn = start; pfn < end; pfn++) {
		struct page *p = pfn_to_page(pfn);
		p->flags = 0;
		p->refcount = 0;
	}
	u64 flags = spin_lock_irqsave(&zone.lock);
	u64 pfn = start;
	while (pfn < end) {
		/* The largest block that is aligned at pfn and fits before end. */
		unsigned order = 0;
		while (order < MAX_ORDER && (pfn & ((2UL << order) - 1)) == 0 &&
		       pfn + (2UL << order) <= end)
			order++;
		buddy_free_locked(pfn_to_page(pfn), order);
		pfn += 1UL << order;
	}
	if (end > start)
		zone.managed += end - start;
	spin_unlock_irqrestore(&zone.lock, flags);
}

/* --- page state on the way in and out --- */

static void check_poison(struct page *p)
{
	const u64 *w = page_address(p);
	const u64 want = PAGE_POISON * 0x0101010101010101UL;
	for (u64 i = 0; i < PAGE_SIZE / 8; i++) {
		if (w[i] != want) {
			printk(KERN_EMERG "page: byte offset 0x%lx holds 0x%lx, poison is 0x%lx\n",
			       i * 8, w[i], want);
			bad_page(p, "alloc_pages", "written after it was freed (poison overwritten)");
		}
	}
}

void page_prep_alloc(struct page *p, unsigned order, gfp_t gfp)
{
	u64 n = 1UL << order;
	for (u64 i = 0; i < n; i++) {
		struct page *q = p + i;
		if (CONFIG_DEBUG_MM &&
		    ((q->flags & (PG_reserved | PG_buddy | PG_pcp | PG_head | PG_tail |
				  PG_pagetable | PG_slab)) ||
		     q->refcount != 0 || q->mapcount != 0))
			bad_page(q, "alloc_pages", "free page in a bad state");
		if (q->flags & PG_poisoned) {
			check_poison(q);
			q->flags &= ~PG_poisoned;
		}
		q->flags = 0;
		q->owner = 0;
		if ((gfp & __GFP_COMP) && order > 0) {
			q->flags = i == 0 ? PG_head : PG_tail;
			q->order = (u8)order;
		} else {
			q->order = i == 0 ? (u8)order : 0;
		}
	}
	p->refcount = 1;
	if (gfp & __GFP_ZERO)
		page_fill(page_address(p), 0, n * PAGE_SIZE);
}

/* Called with the first page's refcount already dropped to 0. */
void page_prep_free(struct page *p, unsigned order)
{
	u64 n = 1UL << order;
	if (page_to_pfn(p) & (n - 1))
		bad_page(p, "free_pages", "block not aligned to its order");
	bool compound = (p->flags & PG_head) != 0;
	if (compound && p->order != order)
		bad_page(p, "free_pages", "compound page freed with the wrong order");
	for (u64 i = 0; i < n; i++) {
		struct page *q = p + i;
		if (page_is_free(q))
			bad_page(q, "free_pages", "already free (double free)");
		if (q->flags & PG_reserved)
			bad_page(q, "free_pages", "reserved page freed");
		if (q->mapcount != 0)
			bad_page(q, "free_pages", "still mapped (mapcount != 0)");
		if (q->flags & (PG_pagetable | PG_slab))
			bad_page(q, "free_pages", "still a page table or a slab");
		if (i > 0 && q->refcount != 0)
			bad_page(q, "free_pages", "tail page still referenced");
		if (i > 0 && compound && !(q->flags & PG_tail))
			bad_page(q, "free_pages", "compound page with a missing tail");
		if (!CONFIG_DEBUG_MM)
			break;          /* only the first page without the debug build */
	}
	for (u64 i = 0; i < n; i++) {
		p[i].flags = 0;
		p[i].order = 0;
	}
	if (page_poisoning) {
		page_fill(page_address(p), PAGE_POISON, n * PAGE_SIZE);
		for (u64 i = 0; i < n; i++)
			p[i].flags = PG_poisoned;
	}
}

/* --- entry points --- */

/* The buddy lists or this CPU's cache; other CPUs' caches are taken back
 * once before giving up. */
static struct page *get_page_from_lists(unsigned order)
{
	struct page *p = NULL;
	for (int attempt = 0; attempt < 2 && !p; attempt++) {
		if (order == 0 && !READ_ONCE(pcp_bypass))
			p = pcp_alloc();
		else
			p = buddy_alloc(order);
		if (!p && attempt == 0)
			pcp_drain_all();
	}
	return p;
}

/* The slow path: memory gives back before a request fails. Only for a
 * caller that holds no spinlock (mm/deferred_split.h takes PTE locks). */
static struct page *alloc_pages_reclaim(gfp_t gfp, unsigned order)
{
#ifndef HOST_TEST
	if ((gfp & __GFP_DIRECT_RECLAIM) && deferred_split_queue_len() &&
	    deferred_split_reclaim(deferred_split_queue_len()))
		return get_page_from_lists(order);
#endif
	(void)gfp;
	(void)order;
	return NULL;
}

struct page *alloc_pages(gfp_t gfp, unsigned order)
{
	if (order > MAX_ORDER)
		return NULL;
	if (unlikely(!max_pfn)) {
		printk(KERN_ERR "alloc_pages called before mm_init(): no memory yet\n");
		return NULL;
	}
	if (should_fail_page_alloc()) {
		vm_stat_add(NR_ALLOC_INJECTED, 1);
		vm_stat_add(NR_ALLOC_FAILED, 1);
		return NULL;
	}
	struct page *p = get_page_from_lists(order);
	if (!p)
		p = alloc_pages_reclaim(gfp, order);
	if (!p) {
		vm_stat_add(NR_ALLOC_FAILED, 1);
		return NULL;
	}
	page_prep_alloc(p, order, gfp);
	return p;
}

static void free_pages_final(struct page *p, unsigned order)
{
	page_prep_free(p, order);
	if (order == 0 && !READ_ONCE(pcp_bypass))
		pcp_free(p);
	else
		buddy_free(p, order);
}

void free_frozen_page(struct page *p)
{
	if (page_refcount(p) != 0 || (p->flags & (PG_head | PG_tail)))
		bad_page(p, "free_frozen_page", "not a frozen order-0 page");
	free_pages_final(p, 0);
}

void free_pages(struct page *p, unsigned order)
{
	if (order > MAX_ORDER)
		bad_page(p, "free_pages", "order larger than MAX_ORDER");
	s32 ref = __atomic_load_n(&p->refcount, __ATOMIC_RELAXED);
	if (ref <= 0 || page_is_free(p))
		bad_page(p, "free_pages", "already free (double free)");
	if (ref != 1)
		bad_page(p, "free_pages", "still referenced (refcount > 1)");
	p->refcount = 0;
	free_pages_final(p, order);
}

void put_page(struct page *p)
{
	struct page *head = compound_head(p);
	s32 ref = __atomic_sub_fetch(&head->refcount, 1, __ATOMIC_ACQ_REL);
	if (ref > 0)
		return;
	if (ref < 0)
		bad_page(head, "put_page", "reference count dropped below zero");
#ifndef HOST_TEST
	if ((head->flags & PG_head) && head->order >= 2)
		deferred_split_free(head);      /* off the queue, if it was on it */
#endif
	free_pages_final(head, (head->flags & PG_head) ? head->order : 0);
}

void *get_free_pages(gfp_t gfp, unsigned order)
{
	struct page *p = alloc_pages(gfp, order);
	return p ? page_address(p) : NULL;
}

void free_pages_addr(void *addr, unsigned order)
{
	free_pages(virt_to_page(addr), order);
}

/* --- counters --- */

u64 nr_free_pages(void)
{
	return READ_ONCE(zone.nr_free) + pcp_count_all();
}

void mm_counters_read(struct mm_counters *c)
{
	u64 flags = spin_lock_irqsave(&zone.lock);
	c->managed_pages = zone.managed;
	c->free_pages = zone.nr_free;
	for (unsigned o = 0; o < NR_ORDERS; o++)
		c->free_blocks[o] = zone.free_area[o].nr_free;
	spin_unlock_irqrestore(&zone.lock, flags);
	c->pcp_pages = pcp_count_all();
	c->free_pages += c->pcp_pages;
	c->reserved_pages = present_pages > zone.managed ? present_pages - zone.managed : 0;
	for (unsigned i = 0; i < NR_VM_STAT_ITEMS; i++)
		c->stat[i] = __atomic_load_n(&vm_stat[i], __ATOMIC_RELAXED);
}
