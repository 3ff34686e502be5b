/* SPDX-License-Identifier: MIT */
/* mm/memmap.h - from the firmware's memory map to the frames the page
 * allocator may own.
 *
 * memmap_init() builds a table of reserved physical ranges: everything below
 * 1 MiB (BIOS data, the AP trampoline), the kernel image (with its boot page
 * tables and static stacks), the Multiboot2 modules and information
 * structure, the framebuffer, and every memory-map entry that is not
 * "available" RAM (ACPI tables live in those). Before the page allocator
 * exists, early_alloc() carves memory out of what remains (for the page
 * descriptors and the first page tables) and records it as reserved too.
 *
 * Boot only, one CPU, no locking.
 */
#ifndef PAGODA_MM_MEMMAP_H
#define PAGODA_MM_MEMMAP_H

#include "kernel/types.h"

#define MAX_RESERVED 128
/* The reach of the boot direct map (and of early_alloc). */
#define FOUR_GIB 0x100000000UL

struct mem_range {
	u64 start, end;         /* physical, [start, end), page-aligned outward */
	const char *what;
};

extern struct mem_range reserved[MAX_RESERVED];
extern u32 nr_reserved;

void memmap_init(void);
/* Reserve [start, end) (rounded out to pages). */
void memmap_reserve(u64 start, u64 end, const char *what);
/* First frame past the highest available RAM. */
u64 memmap_ram_end_pfn(void);
/* Highest address any RAM, ACPI or framebuffer range reaches (for the direct map). */
u64 memmap_highest_addr(void);
/* Physical memory for boot-time structures, below 4 GiB (the boot direct
 * map covers only that), aligned, recorded as reserved; 0 if none fits. */
u64 early_alloc(u64 size, u64 align, const char *what);
/* The same inside [lo, hi): the lowest fit. Memory above 4 GiB must not be
 * touched before the kernel's page tables map it (the page descriptors,
 * mm/sparse.h, are reached through the vmemmap). Reserved ranges taken
 * one after the other with the same `what` (the same pointer) and
 * adjacent merge into one entry of the table. */
u64 early_alloc_range(u64 size, u64 align, u64 lo, u64 hi, const char *what);
/* Call fn for each range of available RAM that is not reserved, in pfns. */
void memmap_for_each_free(void (*fn)(u64 start_pfn, u64 end_pfn));
/* Print the firmware map and the reserved table. */
void memmap_print(void);

#endif
