/* SPDX-License-Identifier: MIT */
/* mm/user_layout.h - where user space lies in every address space: the
 * constants the memory manager, the ELF loader and the user-copy checks all
 * measure user addresses against.
 *
 * User space is the lower canonical half, 0 .. USER_SPACE_END (mm/mm.h);
 * the kernel owns the upper half. This header only names numbers (no
 * types, no locks), so that pure code such as kernel/elf.c (host-tested)
 * can use it without the rest of mm/.
 */
#ifndef PAGODA_MM_USER_LAYOUT_H
#define PAGODA_MM_USER_LAYOUT_H

/* The first non-canonical address: no user mapping reaches it. */
#define USER_SPACE_END 0x0000800000000000UL

/* Highest user address + 1 that mmap hands out (Linux's TASK_SIZE: the
 * last page below USER_SPACE_END stays unmapped), the lowest address
 * MAP_FIXED may use (Linux's default vm.mmap_min_addr), and where mm_create()
 * puts mmap_base (TASK_SIZE minus Linux's minimum stack gap of 128 MiB). */
#define TASK_SIZE 0x00007ffffffff000UL
#define MMAP_MIN_ADDR 0x10000UL
#define MMAP_BASE_DEFAULT (TASK_SIZE - (128UL << 20))

#endif
