/* SPDX-License-Identifier: MIT */
/* arch/x86_64/pat.h - the Page Attribute Table: a memory type per page.
 *
 * Three bits of a page-table entry - PWT, PCD and PAT - select one of eight
 * entries of the IA32_PAT MSR (0x277), each a memory type (Intel SDM vol. 3,
 * "Page Attribute Table"): index = PAT*4 + PCD*2 + PWT. The effective type
 * of an access combines this page type with the MTRR type firmware gave the
 * range; a write-combining page over an uncached MTRR range is effectively
 * write-combining, which is how a framebuffer that firmware left uncached
 * gets fast stores (Linux does the same).
 *
 * The table programmed here is Linux's: WB, WC, UC-, UC, WB, WP, UC-, WT.
 * Entries 0, 2 and 3 keep their power-on types, so an entry with no cache
 * bits, or with PCD alone, means what it meant before pat_init_cpu(); only
 * PWT alone changes meaning (WT -> WC), and nothing uses it before.
 *
 * The PAT selector bit is not at the same place in every entry: bit 7 in a
 * 4 KiB PTE, but bit 12 in a 2 MiB or 1 GiB entry, whose bit 7 is PS.
 *
 * Rule: every CPU has the same PAT (the SDM requires it when CPUs share
 * mappings), written before it loads page tables that use entry 1: the boot
 * CPU before paging_init() builds the kernel tables, each AP in ap_main()
 * before it loads kernel_cr3.
 */
#ifndef PAGODA_ARCH_PAT_H
#define PAGODA_ARCH_PAT_H

#include "kernel/types.h"

#define MSR_IA32_PAT 0x277

/* Memory type encodings (SDM table "Memory Types That Can Be Encoded"). */
enum pat_type {
	PAT_UC = 0,             /* uncacheable */
	PAT_WC = 1,             /* write-combining */
	PAT_WT = 4,             /* write-through */
	PAT_WP = 5,             /* write-protected */
	PAT_WB = 6,             /* write-back */
	PAT_UC_MINUS = 7,       /* uncacheable, overridable by a WC MTRR */
};

#define PAT_ENTRY(i, type) ((u64)(type) << ((i) * 8))
/* The value written to IA32_PAT on every CPU. */
#define PAT_VALUE (PAT_ENTRY(0, PAT_WB) | PAT_ENTRY(1, PAT_WC) | PAT_ENTRY(2, PAT_UC_MINUS) | \
		   PAT_ENTRY(3, PAT_UC) | PAT_ENTRY(4, PAT_WB) | PAT_ENTRY(5, PAT_WP) |       \
		   PAT_ENTRY(6, PAT_UC_MINUS) | PAT_ENTRY(7, PAT_WT))

/* The selector bits in a page-table entry. */
#define PAT_PTE_PWT (1UL << 3)
#define PAT_PTE_PCD (1UL << 4)
#define PAT_PTE_PAT_4K (1UL << 7)       /* in a 4 KiB PTE */
#define PAT_PTE_PAT_LARGE (1UL << 12)   /* in a 2 MiB / 1 GiB entry (bit 7 is PS) */
/* Every bit that selects the memory type, for a 4 KiB or a large entry. */
static inline u64 pat_cache_mask(bool large)
{
	return PAT_PTE_PWT | PAT_PTE_PCD | (large ? PAT_PTE_PAT_LARGE : PAT_PTE_PAT_4K);
}

/* The entry bits that select `type` under PAT_VALUE: the first index whose
 * entry holds type (so WB gives no bits at all). A type not in the table
 * gives UC's bits: never a faster type than asked for. */
static inline u64 pat_cache_bits(enum pat_type type, bool large)
{
	u32 i = 3;      /* UC */
	for (u32 j = 0; j < 8; j++)
		if (((PAT_VALUE >> (j * 8)) & 0xFF) == (u64)type) {
			i = j;
			break;
		}
	return ((i & 1) ? PAT_PTE_PWT : 0) | ((i & 2) ? PAT_PTE_PCD : 0) |
	       ((i & 4) ? (large ? PAT_PTE_PAT_LARGE : PAT_PTE_PAT_4K) : 0);
}

/* The memory type an entry selects under PAT_VALUE. */
static inline enum pat_type pat_type_of(u64 entry, bool large)
{
	u32 i = ((entry & PAT_PTE_PWT) ? 1 : 0) | ((entry & PAT_PTE_PCD) ? 2 : 0) |
		((entry & (large ? PAT_PTE_PAT_LARGE : PAT_PTE_PAT_4K)) ? 4 : 0);
	return (enum pat_type)((PAT_VALUE >> (i * 8)) & 0xFF);
}

#ifndef HOST_TEST
/* Program IA32_PAT on this CPU (rule above). Without PAT (CPUID.1:EDX bit
 * 16) nothing is written and pat_enabled stays false: then PWT alone means
 * write-through and callers must not ask for WC (pat_wc_bits). */
void pat_init_cpu(void);
extern bool pat_enabled;
/* The bits for write-combining, or for UC when this machine has no PAT. */
static inline u64 pat_wc_bits(bool large)
{
	return pat_cache_bits(pat_enabled ? PAT_WC : PAT_UC, large);
}
#endif

#endif
