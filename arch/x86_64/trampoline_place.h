/* SPDX-License-Identifier: MIT */
/* arch/x86_64/trampoline_place.h - where the AP trampoline may go.
 *
 * A startup IPI starts a CPU in real mode at a page number below 1 MiB,
 * so the trampoline (boot/trampoline.asm) must be copied to a page there.
 * "Available" in the firmware's memory map is not enough: GRUB may have
 * put modules, the Multiboot2 information or its own data below 1 MiB
 * (they are in the kernel's reserved list, mm/memmap.h), and the BIOS's
 * extended data area (EBDA) sits just below 640 KiB without always being
 * marked in the map. So the page is chosen against all three: the
 * firmware map, the kernel's reserved ranges and the EBDA.
 *
 * Pure functions over the maps, tested on the host with synthetic maps
 * (tests/host/test_trampoline.c).
 */
#ifndef PAGODA_TRAMPOLINE_PLACE_H
#define PAGODA_TRAMPOLINE_PLACE_H

#include "kernel/types.h"
#include "kernel/bootinfo.h"
#include "mm/memmap.h"

/* Conventional memory ends at 640 KiB; its last page may already be EBDA. */
#define TRAMPOLINE_LIMIT_MAX 0x9F000UL
/* Linux ignores an EBDA or base-memory size below 128 KiB as nonsense. */
#define TRAMPOLINE_LIMIT_MIN 0x20000UL

/* The top of usable low memory: 0x9F000, lowered to the EBDA's start
 * (segment at BDA 0x40E) and to the BDA's base memory size (KiB at 0x413)
 * when those are plausible (128 KiB .. 0x9F000); UEFI machines may leave
 * both 0, which is then ignored. Page-aligned. */
u64 trampoline_low_limit(u16 ebda_segment, u16 base_kib);

/* The highest page-aligned run of `size` bytes at or above 0x1000 (page 0
 * holds the real-mode interrupt table and BIOS data) and ending at or below
 * limit, inside an available map entry, touching no other map entry that
 * is not available and none of the busy ranges. Busy ranges that cover all
 * of [0, 1 MiB) are ignored: that is the kernel's blanket "keep the page
 * allocator out of low memory" reservation, which exists partly for the
 * trampoline itself. Returns 0 when nothing fits. */
u64 trampoline_place(const struct boot_mmap_entry *mmap, u32 nr_mmap,
		     const struct mem_range *busy, u32 nr_busy, u64 limit, u64 size);

#endif
