/* SPDX-License-Identifier: MIT */
/* mm/buddy.h - the page allocator: buddy free lists over orders 0..MAX_ORDER,
 * fronted by per-CPU caches of order-0 pages (mm/pcp.c).
 *
 * Interface
 *   alloc_pages(gfp, order)  2^order contiguous pages, naturally aligned, with
 *                            refcount 1 on the first; NULL when there is no
 *                            block that big (or a fault was injected). Every
 *                            caller must handle NULL.
 *   free_pages(page, order)  give them back. The first page must hold exactly
 *                            the caller's reference and no page may be mapped
 *                            or already free: otherwise the kernel stops with
 *                            a report naming the page (dump_page).
 *   put_page(page)           drop a reference; the last one frees.
 *   gfp flags                __GFP_ZERO: zero the memory;
 *                            __GFP_COMP: a compound page (PG_head on the first,
 *                            PG_tail on the rest, order in each), so that
 *                            put_page() on any page frees the whole block.
 *
 * Locking
 *   One zone, one spinlock (zone.lock), taken with interrupts disabled so the
 *   allocator may be called from interrupt handlers. Order-0 requests are
 *   served from this CPU's cache, which has its own lock (taken by its CPU,
 *   and by another CPU only to drain it when memory runs out); lock order:
 *   per-CPU cache lock, then zone lock. Never call the allocator while
 *   holding a lock that an allocator path could need.
 */
#ifndef PAGODA_MM_BUDDY_H
#define PAGODA_MM_BUDDY_H

#include "kernel/types.h"
#include "kernel/spinlock.h"
#include "mm/page.h"

typedef u32 gfp_t;
#define GFP_KERNEL 0u
#define __GFP_ZERO (1u << 0)
#define __GFP_COMP (1u << 1)
/* The caller holds no spinlock (it may hold an mmap_lock or a VMA lock):
 * before failing, the allocator may drain the deferred split queue
 * (mm/deferred_split.h), which takes mmap_locks (only tried) and PTE locks.
 * Linux's name; Pagoda never sleeps in the allocator. */
#define __GFP_DIRECT_RECLAIM (1u << 2)

struct page *alloc_pages(gfp_t gfp, unsigned order);
static inline struct page *alloc_page(gfp_t gfp) { return alloc_pages(gfp, 0); }
void free_pages(struct page *p, unsigned order);
static inline void free_page(struct page *p) { free_pages(p, 0); }

/* A page whose count the caller froze at 0 (not compound: a piece of a
 * split one, mm/deferred_split.c) goes back to the allocator. */
void free_frozen_page(struct page *p);

/* Convenience for kernel buffers: direct-map address or NULL. */
void *get_free_pages(gfp_t gfp, unsigned order);
void free_pages_addr(void *addr, unsigned order);

/* --- counters (for /proc/meminfo and /proc/vmstat later) --- */
enum vm_stat_item {
	NR_PAGETABLE,           /* pages used as page tables */
	NR_SLAB_PAGES,          /* pages owned by the slab allocator */
	NR_SLAB_OBJECTS,        /* slab objects handed out */
	NR_SLAB_BYTES,          /* bytes requested by kmalloc callers (in use) */
	NR_KMALLOC_LARGE_PAGES, /* pages of kmalloc requests too big for a slab */
	NR_ALLOC_FAILED,        /* alloc_pages calls that returned NULL */
	NR_ALLOC_INJECTED,      /* ...of which failures injected on purpose */
	NR_ANON_THPS,           /* anonymous 2 MiB pages mapped by a PMD (AnonHugePages) */
	NR_THP_FAULT_ALLOC,     /* faults that mapped a new 2 MiB page (thp_fault_alloc) */
	NR_THP_FAULT_FALLBACK,  /* faults that wanted one and fell back (thp_fault_fallback) */
	NR_THP_SPLIT_PMD,       /* huge PMDs split into 512 PTEs (thp_split_pmd) */
	NR_THP_COLLAPSE_ALLOC,  /* huge pages allocated for a collapse (mm/khugepaged.h) */
	NR_THP_COLLAPSE_ALLOC_FAILED,   /* ...and allocations that failed */
	NR_THP_SPLIT_PAGE,      /* 2 MiB pages split into 512 (thp_split_page) */
	NR_THP_DEFERRED_SPLIT_PAGE,     /* 2 MiB pages queued for a deferred split
					   (thp_deferred_split_page) */
	NR_VM_STAT_ITEMS
};
extern s64 vm_stat[NR_VM_STAT_ITEMS];
static inline void vm_stat_add(enum vm_stat_item i, s64 delta)
{
	__atomic_add_fetch(&vm_stat[i], delta, __ATOMIC_RELAXED);
}

struct mm_counters {
	u64 managed_pages;      /* pages handed to the allocator at boot */
	u64 reserved_pages;     /* descriptors marked PG_reserved (holes included) */
	u64 free_pages;         /* in buddy lists plus per-CPU caches */
	u64 pcp_pages;          /* ...of which in per-CPU caches */
	u64 free_blocks[NR_ORDERS];  /* free blocks on each buddy list */
	s64 stat[NR_VM_STAT_ITEMS];
};
void mm_counters_read(struct mm_counters *c);
/* Free pages right now (buddy + per-CPU caches): the invariant tests use. */
u64 nr_free_pages(void);

/* Freed pages are poisoned (and checked when handed out again) while this
 * is true: CONFIG_DEBUG_MM by default, "page_poison=0" turns it off. */
extern bool page_poisoning;

/* --- internals shared by mm/buddy.c, mm/pcp.c and mm/mm_init.c --- */
struct free_area {
	struct list_head list;
	u64 nr_free;            /* blocks on the list */
};

struct zone {
	spinlock_t lock;
	u64 start_pfn, end_pfn; /* pfns the zone may ever contain */
	struct free_area free_area[NR_ORDERS];
	u64 nr_free;            /* pages on the buddy lists */
	u64 managed;            /* pages ever given to the zone */
};
extern struct zone zone;

/* Set every descriptor below nr_pfns (pfn_valid) reserved, and an empty
 * zone over [0, nr_pfns). The descriptors must be reachable: vmemmap
 * populated (mm/sparse.h), or, in host tests, vmemmap set to an array. */
void buddy_init(u64 nr_pfns);
/* Hand the frames [start, end) to the allocator (boot). */
void buddy_add_range(u64 start_pfn, u64 end_pfn);
/* "buddy_debug_no_merge" (a negative control, labs/buddy): read from the
 * command line once the boot memory is in (it is merged as usual). */
extern bool buddy_debug_no_merge;
void buddy_debug_init(void);

/* Buddy-list operations (zone lock taken inside). They do no debug checks
 * or poisoning: alloc_pages/free_pages do, around them. */
struct page *buddy_alloc(unsigned order);
void buddy_free(struct page *p, unsigned order);
/* Move up to n order-0 pages onto list (returns how many) / all of list back. */
unsigned buddy_alloc_bulk(unsigned n, struct list_head *list);
void buddy_free_bulk(struct list_head *list);

/* Called on each page entering and leaving the free state. */
void page_prep_alloc(struct page *p, unsigned order, gfp_t gfp);
void page_prep_free(struct page *p, unsigned order);

/* Free blocks left unmerged (buddy_debug_no_merge, or the buddy lab's
 * starter) are merged now; nothing to do when every free merged. The
 * allocator does it itself before failing a request; tests that compare
 * the lists with a former state call it first. */
void buddy_rebuild_free_lists(void);

/* Per-CPU caches (mm/pcp.c). */
void pcp_init(void);
struct page *pcp_alloc(void);
void pcp_free(struct page *p);
void pcp_drain_all(void);        /* give every CPU's cached pages back */
void pcp_drain_local(void);
u64 pcp_count_all(void);
void pcp_stats(u64 *refills, u64 *drains);     /* zone-lock trips, all CPUs */
/* Tests and the benchmark: send order-0 requests straight to the buddy lists. */
extern bool pcp_bypass;

/* Fill a whole page range with one byte (rep stosq; memset is a byte loop). */
void page_fill(void *addr, u8 byte, u64 size);

#endif
