/* SPDX-License-Identifier: MIT */
/* mm/direct_map.h - what the direct map maps, and with which page sizes:
 * the pure part of mm/paging.c's map_direct(), host-tested
 * (tests/host/test_direct_map.c).
 *
 * The rule (Intel SDM vol. 3, "Large page size considerations"; AMD APM
 * vol. 2, 7.5.2): a 2 MiB or 1 GiB page must not span physical ranges of
 * different memory types - RAM and MMIO, or RAM and a hole - or the result
 * is undefined (on some CPUs a machine check). So the direct map holds RAM
 * only (the memory map's available, ACPI reclaimable and ACPI NVS
 * entries), write-back, each range cut into the largest pages that lie
 * wholly inside it: 4 KiB pages at every boundary that is not 2 MiB
 * aligned. Device memory is never in it by default; a driver asks for a
 * mapping with an explicit memory type (mm/ioremap.h).
 */
#ifndef PAGODA_MM_DIRECT_MAP_H
#define PAGODA_MM_DIRECT_MAP_H

#include "kernel/types.h"
#include "kernel/bootinfo.h"

struct phys_range {
	u64 start, end;         /* [start, end), page-aligned */
};

/* The RAM-like entries of map[0..n) (available, ACPI reclaimable, ACPI
 * NVS), rounded out to pages, sorted, with overlapping and touching ones
 * merged (they are all write-back memory), into out[0..max). Returns
 * how many, or max + 1 when they do not fit. */
u32 direct_map_ranges(const struct boot_mmap_entry *map, u32 n, struct phys_range *out, u32 max);

/* The page size to map va -> pa with, when [pa, pa + size) is all one
 * memory type: 1 GiB (if gbpages), 2 MiB, or 4 KiB - the largest whose
 * alignment va and pa share and which fits inside size. huge = false
 * always gives 4 KiB. */
u64 direct_map_page_size(u64 va, u64 pa, u64 size, bool gbpages, bool huge);

#endif
