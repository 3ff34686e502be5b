/* SPDX-License-Identifier: MIT */
/* arch/x86_64/tlb.h - the local TLB primitives: what one CPU can do to its
 * own TLB. The shootdown protocol that decides *which* CPUs run them, and
 * when, is mm/tlbflush.c (docs/tlb-shootdown.md).
 *
 *   INVLPG addr      drops the translation of one page (4 KiB or the large
 *                    page containing addr), global or not, and - Intel SDM
 *                    vol. 3, 4.10.4.1 - every paging-structure-cache entry,
 *                    so it is also enough after a page table was unhooked.
 *   CR3 write        drops every non-global translation and every
 *                    paging-structure-cache entry. Kernel mappings are global
 *                    (PTE_G, CR4.PGE), so they survive it.
 *
 * The seam for address-space IDs: without PCID (QEMU's software emulation
 * has none) every CR3 write is a full flush, so switching address spaces
 * forgets everything and nobody needs to track what a CPU cached for an mm it
 * is not running. With PCID, load_user_cr3() would take an ASID and the
 * "no-flush" bit, and mm/tlbflush.c would keep, per CPU, which mm and which
 * tlb_gen each ASID holds (as Linux's cpu_tlbstate.ctxs[] does). Nothing else
 * would change: flushes already carry a generation.
 */
#ifndef PAGODA_ARCH_TLB_H
#define PAGODA_ARCH_TLB_H

#include "kernel/types.h"
#include "arch/x86_64/cpu.h"

static inline void local_flush_tlb_one(u64 addr)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"(addr) : "memory");
}

/* Every non-global translation of this CPU: reload CR3 with itself. */
static inline void local_flush_tlb_all(void)
{
	write_cr3(read_cr3());
}

/* Load a page-table root. Without PCID this is also a full non-global flush. */
static inline void load_user_cr3(u64 pgd_phys)
{
	write_cr3(pgd_phys);
}

/* A full barrier (a locked instruction would do as well). Used where a store
 * must be visible before a later load, which x86 may otherwise reorder. */
static inline void smp_mb(void)
{
	__asm__ __volatile__("mfence" ::: "memory");
}

#endif
