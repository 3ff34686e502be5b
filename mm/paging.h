/* SPDX-License-Identifier: MIT */
/* mm/paging.h - the kernel's own page tables: the direct map of physical
 * memory and the kernel image mapped with W^X permissions.
 *
 * Layout of the kernel root (PML4) after paging_init():
 *   lower half (entries 0..255)  empty: user address spaces go there later
 *   DIRECT_MAP_BASE + phys       RAM only (available, ACPI reclaimable,
 *                                ACPI NVS), write-back: read/write, NX,
 *                                global; 1 GiB pages where the CPU has them
 *                                and the range allows, else 2 MiB, 4 KiB at
 *                                unaligned edges (mm/direct_map.h); the
 *                                alias of kernel text/rodata read-only.
 *                                Device memory (APIC, I/O APIC, HPET, the
 *                                framebuffer, firmware tables outside RAM)
 *                                at the same place once a driver ioremaps
 *                                it, with its memory type (mm/ioremap.h);
 *                                holes stay unmapped
 *   KSTACK_AREA_START + slot     the APs' kernel and IST stacks, mapped
 *                                when each AP is started, guard pages
 *                                never (mm/kstack.h)
 *   VMEMMAP_START + offset       the page descriptors, in pieces (mm/sparse.h)
 *   KERNEL_VMA + phys            the kernel image in 4 KiB pages:
 *                                text R+X, rodata R+NX, data/bss R+W+NX;
 *                                the page under the boot CPU's stacks and
 *                                under each kernel thread's stack unmapped
 *
 * Locking: the kernel mappings are built at boot on one CPU.
 * paging_unmap_kernel_page flushes only this CPU's TLB: it is for boot,
 * before the APs start. After boot entries are added (ioremap and the
 * kernel stack area, under their own locks: no flush needed) and removed
 * only by iounmap, which flushes every CPU itself (mm/ioremap.h).
 */
#ifndef PAGODA_MM_PAGING_H
#define PAGODA_MM_PAGING_H

#include "kernel/types.h"
#include "mm/page.h"

/* Page-table entry bits (Intel SDM vol. 3, 4.5). */
#define PTE_P   (1UL << 0)      /* present */
#define PTE_W   (1UL << 1)      /* writable */
#define PTE_U   (1UL << 2)      /* user */
#define PTE_PWT (1UL << 3)
#define PTE_PCD (1UL << 4)
#define PTE_A   (1UL << 5)      /* accessed */
#define PTE_D   (1UL << 6)      /* dirty */
#define PTE_PS  (1UL << 7)      /* 2 MiB / 1 GiB page (in a PD / PDPT entry) */
#define PTE_G   (1UL << 8)      /* global: survives CR3 reloads */
#define PTE_NX  (1UL << 63)     /* no execute (needs EFER.NXE) */
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000UL

#define PT_ENTRIES 512
#define PML4_SHIFT 39
#define PDPT_SHIFT 30
#define PD_SHIFT 21

/* The level of a table, counted from the leaf: the number every walk takes,
 * of the kernel's tables (paging_lookup) and of user ones (mm/pgtable.h).
 * Linux's names for the same levels are pte, pmd, pud and pgd (p4d folded). */
enum pt_level {
	PT_PTE = 1,     /* a PT: entries map 4 KiB pages */
	PT_PMD = 2,     /* a PD: entries point to PTs or map 2 MiB pages */
	PT_PUD = 3,     /* a PDPT: entries point to PDs or map 1 GiB pages (kernel only) */
	PT_PML4 = 4,    /* the root: kernel_root, or an mm's pgd_phys */
};
#define PT_LEVELS PT_PML4

/* CPU features found by paging_init(). */
struct paging_features {
	bool nx, gbpages, pge, smep, smap;
};
extern struct paging_features paging_features;

/* Physical address of the kernel root; published to the APs as kernel_cr3
 * (arch/x86_64/smp.h). */
extern u64 kernel_root_phys;

/* Build the kernel page tables and switch this CPU to them. Uses pages
 * [pool, pool + pool_pages*4K) for the tables (early_alloc'd, below 4 GiB),
 * and keeps using the pool until paging_pool_finish(). */
void paging_init(u64 pool_phys, u64 pool_pages);
/* Map kernel data [va, va+size) -> [pa, ...): read/write, NX, global, with
 * large pages where aligned if huge. Boot only, between paging_init() and
 * paging_pool_finish() (the vmemmap, mm/sparse.h). */
void paging_map_boot(u64 va, u64 pa, u64 size, bool huge);
/* Close the boot pool: later tables come from the page allocator. Returns
 * how many pool pages were used. */
u64 paging_pool_finish(void);
/* How many pool pages paging_init() may need. */
u64 paging_pool_estimate(void);
/* APs need no call here: arch/x86_64/smp.c gives each AP the boot CPU's CR4
 * (so PGE, SMEP and SMAP) and EFER (NXE) and loads kernel_cr3. */

/* The leaf entry mapping va in the kernel root and its level (PT_PTE =
 * 4 KiB, PT_PMD = 2 MiB, PT_PUD = 1 GiB), or NULL when nothing maps it. */
u64 *paging_lookup(u64 va, enum pt_level *level);
/* Remove the 4 KiB mapping of va (a guard page); returns false if va was not
 * mapped by a 4 KiB entry. Flushes this CPU's TLB entry. */
bool paging_unmap_kernel_page(u64 va);

/* Map the 4 KiB page va -> pa with flags (cache bits included), allocating
 * tables; false if va is mapped already, no table page could be had, or
 * (after boot) it would need a new entry in the kernel root.
 * No TLB flush: the entry was not present. For mm/ioremap.c, under its
 * lock. */
bool paging_map_kernel_page(u64 va, u64 pa, u64 flags);

/* Page-table pages after boot: zeroed, PG_pagetable, counted (NR_PAGETABLE). */
struct page *pagetable_alloc(void);
void pagetable_free(struct page *p);

#endif
