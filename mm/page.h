/* SPDX-License-Identifier: MIT */
/* mm/page.h - the page descriptor (struct page) and the conversions between a
 * descriptor, a page frame number (pfn), a physical address and the
 * direct-map virtual address.
 *
 * The descriptors form one virtually contiguous array, vmemmap[] (Linux's
 * SPARSEMEM_VMEMMAP, mm/sparse.h): pfn n is described by vmemmap[n], so the
 * conversions are a subtraction or an addition, whatever the physical
 * layout. Only the 128 MiB sections that hold RAM are backed by memory
 * (pfn_valid); frames of a present section that are not RAM (holes, MMIO)
 * have a descriptor marked PG_reserved.
 *
 * Locking: flags and order of a free page belong to the zone lock (buddy
 * lists) or to the per-CPU cache that holds it; once a page is allocated its
 * descriptor belongs to the caller. refcount and mapcount are changed with
 * atomic instructions (get_page/put_page) because several address spaces may
 * share a page.
 */
#ifndef PAGODA_MM_PAGE_H
#define PAGODA_MM_PAGE_H

#include "kernel/types.h"
#include "mm/list.h"
#ifndef HOST_TEST
#include "arch/x86_64/cpu.h"
#include "mm/sparse.h"
#endif

/* The debug build: extra checks on every free, and freed memory poisoned so
 * that a use after free shows up as a recognisable pattern (and is caught
 * when the page or object is handed out again). On by default; build with
 * -DCONFIG_DEBUG_MM=0 to measure the allocator without it. */
#ifndef CONFIG_DEBUG_MM
#define CONFIG_DEBUG_MM 1
#endif

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

/* Buddy orders 0..MAX_ORDER: order 9 is 2 MiB (a huge page), 10 is 4 MiB. */
#define MAX_ORDER 10
#define NR_ORDERS (MAX_ORDER + 1)

/* Page flags (struct page.flags). */
#define PG_reserved   (1u << 0)  /* never handed out: hole, firmware, kernel image... */
#define PG_buddy      (1u << 1)  /* head of a free block on a buddy list; order = its order */
#define PG_pcp        (1u << 2)  /* free, in a per-CPU cache of order-0 pages */
#define PG_pagetable  (1u << 3)  /* a page table (any level) */
#define PG_anon       (1u << 4)  /* anonymous user memory */
#define PG_zero       (1u << 5)  /* the shared zero page */
#define PG_head       (1u << 6)  /* first page of a compound (multi-page) allocation */
#define PG_tail       (1u << 7)  /* later page of a compound allocation */
#define PG_exclusive  (1u << 8)  /* anonymous page known to belong to one address space */
#define PG_slab       (1u << 9)  /* first page of a slab (mm/slab.c) */
#define PG_poisoned   (1u << 10) /* filled with PAGE_POISON when freed (debug build) */
#define PG_deferred_split (1u << 11) /* on a THP's first tail: queued for a deferred split
				      * (mm/deferred_split.h) */
#define PG_shmem      (1u << 12) /* a page of a shared anonymous object (mm/shared_anon.h):
				  * a private mapping of a file maps it read-only and
				  * copies it on write; a punch leaves other pages alone */

#define PAGE_POISON 0xaa         /* byte written over freed pages in the debug build */

struct page {
	u32 flags;              /* PG_* */
	s32 refcount;           /* 0 when free; 1 for the allocator's caller; +1 per get_page */
	union {
		s32 mapcount;   /* page-table entries that map this page */
		u32 ptl;        /* PG_pagetable, a PTE table: the lock of its
				 * entries (mm/pgtable.h); no entry maps a
				 * page table, so mapcount is free for it */
	};
	u8 order;               /* PG_buddy: order of the free block; PG_head/PG_tail: of the compound */
	u8 reserved_pad;        /* unused; keeps the layout explicit */
	u16 owner;              /* free for the owner's use (tests: owner tag) */
	struct list_head lru;   /* buddy free list, per-CPU cache, or the owner's list */
};

_Static_assert(sizeof(struct page) == 32, "struct page must stay 32 bytes");

extern u64 max_pfn;             /* no RAM at or above pfn max_pfn; mm/buddy.c */

#ifdef HOST_TEST
/* Host unit tests: one flat array the test allocates (every pfn below
 * max_pfn has a descriptor). */
extern struct page *vmemmap;
static inline bool pfn_valid(u64 pfn) { return pfn < max_pfn; }
#else
/* The descriptor of pfn 0, at a fixed virtual address (mm/sparse.h): the
 * conversions below compile to one shift and one add, no memory load. */
#define vmemmap ((struct page *)VMEMMAP_START)
/* A descriptor exists: the pfn's section holds RAM. */
static inline bool pfn_valid(u64 pfn) { return pfn < max_pfn && present_section_nr(pfn_to_section_nr(pfn)); }
#endif

static inline u64 page_to_pfn(const struct page *p) { return (u64)(p - vmemmap); }
static inline struct page *pfn_to_page(u64 pfn) { return vmemmap + pfn; }
static inline phys_addr_t page_to_phys(const struct page *p) { return page_to_pfn(p) << PAGE_SHIFT; }
static inline struct page *phys_to_page(phys_addr_t pa) { return pfn_to_page(pa >> PAGE_SHIFT); }

#ifdef HOST_TEST
/* Host unit tests: "physical memory" is an array in the test program. */
extern u8 *host_ram;
static inline void *page_address(const struct page *p) { return host_ram + page_to_phys(p); }
static inline struct page *virt_to_page(const void *v)
{
	return phys_to_page((phys_addr_t)((const u8 *)v - host_ram));
}
#else
/* The direct map: every RAM page is mapped at DIRECT_MAP_BASE + phys. */
static inline void *page_address(const struct page *p) { return phys_to_virt(page_to_phys(p)); }
static inline struct page *virt_to_page(const void *v) { return phys_to_page(virt_to_phys(v)); }
#endif

/* The first page of the compound allocation a page belongs to. Compound
 * allocations are naturally aligned to their size, so the head is found by
 * rounding the pfn down: no pointer to store. */
static inline struct page *compound_head(struct page *p)
{
	if (!(p->flags & PG_tail))
		return p;
	return pfn_to_page(page_to_pfn(p) & ~((1UL << p->order) - 1));
}

static inline bool page_is_free(const struct page *p)
{
	return (p->flags & (PG_buddy | PG_pcp)) != 0;
}

/* Take a reference. References are counted on the head of a compound page,
 * whichever of its pages the caller holds. */
static inline void get_page(struct page *p)
{
	__atomic_add_fetch(&compound_head(p)->refcount, 1, __ATOMIC_RELAXED);
}

static inline s32 page_refcount(const struct page *p) { return __atomic_load_n(&p->refcount, __ATOMIC_RELAXED); }
static inline s32 page_mapcount(const struct page *p) { return __atomic_load_n(&p->mapcount, __ATOMIC_RELAXED); }

/* Drop a reference; the last one frees the page (and its compound). */
void put_page(struct page *p);

/* Print everything the descriptor says about one page (used by the reports
 * of the debug checks and by tests). */
void dump_page(const struct page *p, const char *why);

#endif
