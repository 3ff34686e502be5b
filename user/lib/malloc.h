/* SPDX-License-Identifier: MIT */
/* user/lib/malloc.h - a small allocator on mmap (malloc.c).
 *
 * Requests up to 2 KiB come from power-of-two size classes (16 bytes ..
 * 2 KiB) carved out of 64 KiB mmap'd chunks, with one free list per class;
 * larger ones get their own mapping and go back to the kernel on free().
 * A spinlock makes it safe from several threads. Memory is never returned
 * to the kernel for the small classes: enough for test programs.
 */
#ifndef USER_MALLOC_H
#define USER_MALLOC_H

#include "types.h"

void *malloc(size_t n);
void *calloc(size_t count, size_t size);
void free(void *p);

#endif
