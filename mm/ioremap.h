/* SPDX-License-Identifier: MIT */
/* mm/ioremap.h - mapping device memory with an explicit memory type.
 *
 * The direct map holds RAM only, write-back (mm/direct_map.h). A driver
 * that needs device registers or a framebuffer asks for them here, naming
 * the memory type: ioremap_uc (registers: every access reaches the
 * device, in order), ioremap_wc (a framebuffer: stores combined into
 * bursts), ioremap_cache (firmware tables that lie outside RAM: plain
 * memory). The mapping is at phys_to_virt(phys), in 4 KiB pages, so no
 * large page spans the device and its neighbours.
 *
 * Rule: one memory type per physical page while it is mapped. A page
 * already mapped - RAM (write-back) or an earlier ioremap - with another
 * type is refused (NULL and a message), as are all other pages of that
 * request; the same type again returns the existing mapping. (Two mappings of one
 * page with different types are undefined behaviour, Intel SDM vol. 3,
 * "Memory type aliasing"; Linux refuses them the same way, through its
 * memtype tree, arch/x86/mm/pat/memtype.c.) Without PAT, a request for WC
 * or WT is given UC: never a faster type than asked for.
 *
 * Mapping: the entries are new, so no TLB flush is needed on any CPU;
 * the tables above them are shared by every address space (the direct
 * map's PML4 entries exist from boot), so a mapping made after the other
 * CPUs started is seen by all of them. Each entry ioremap made counts the
 * calls that share it (bits the CPU ignores).
 *
 * Unmapping (iounmap): each page loses one user; a page with none left is
 * written back if it was cacheable, its entry cleared, and every online
 * CPU's TLB flushed for the range (the entries are global: a CR3 reload
 * would keep them) before ioremap_lock is released, so the page can then
 * be mapped with another type without two types ever meeting. RAM's
 * direct-map entries are never removed. Unlike Linux's iounmap(addr),
 * the size is passed back: Pagoda keeps no list of mappings.
 *
 * Locking: ioremap_lock (may allocate a page table: taken before the page
 * allocator's locks). Not from interrupt context, nor with interrupts
 * disabled: iounmap waits for the other CPUs' flushes.
 */
#ifndef PAGODA_MM_IOREMAP_H
#define PAGODA_MM_IOREMAP_H

#include "kernel/types.h"
#include "arch/x86_64/pat.h"

/* [phys, phys + size) with memory type `type`; the virtual address of
 * phys, or NULL (refused, or no memory for a page table). */
void *ioremap_prot(phys_addr_t phys, u64 size, enum pat_type type);

static inline void *ioremap_uc(phys_addr_t phys, u64 size) { return ioremap_prot(phys, size, PAT_UC); }
static inline void *ioremap_wc(phys_addr_t phys, u64 size) { return ioremap_prot(phys, size, PAT_WC); }
static inline void *ioremap_cache(phys_addr_t phys, u64 size) { return ioremap_prot(phys, size, PAT_WB); }

/* Undo ioremap_*(phys, size) that returned addr (same size). */
void iounmap(volatile void *addr, u64 size);

/* The name of a memory type, for messages. */
const char *pat_type_name(enum pat_type type);

#endif
