/* SPDX-License-Identifier: MIT */
/* mm/mremap.h - mremap(2): resizing and moving a mapping with its pages
 * (docs/mremap.md). Linux: mm/mremap.c.
 *
 * The system call (do_mremap in mm/mm.h) shrinks a mapping in place (its
 * tail is unmapped like munmap), grows it in place when the range after it
 * is free, and otherwise - MREMAP_MAYMOVE - moves it: a new VMA, then the
 * page-table entries themselves are moved (move_page_tables below), so the
 * pages go with them without a copy: same pages, same map counts, same
 * exclusivity; the new entries are soft-dirty, as Linux marks them (a
 * tracker must see the pages as new at their new address).
 *
 * The rule of a move (docs/tlb-shootdown.md): an entry taken out of the old
 * table must be flushed from every CPU that may cache it before anything
 * else can use the old address or the page behind it. So each old PTE
 * table (or huge PMD) is emptied under its lock, the old range is flushed
 * before that lock is dropped, and only then do the entries go into the
 * new table. In between they are held in a buffer, in no table at all:
 * nobody can look for them there, because
 *   - the caller holds mmap_lock for write and has write-locked the old
 *     VMA and the new one (vma_start_write): no fault, no GUP, no other
 *     range operation of this address space runs;
 *   - GUP-fast, which walks with no lock, finds an empty entry and falls
 *     back to the slow path, which waits for mmap_lock;
 *   - a shared VMA's pages can also be reached through the object's list
 *     of mappers by MADV_REMOVE of another process (mm/shared_anon.h): the
 *     move holds the object's mappers_lock for write (Linux's
 *     take_rmap_locks).
 * Linux holds the old and the new PTE lock together instead (and flushes
 * before dropping them: the bug fixed in 2018, docs/mremap.md); Pagoda's
 * lock validator allows one PTE lock at a time, and the buffer keeps the
 * same order - clear, flush, then publish.
 *
 * Locking: mmap_lock for write; then (shared VMAs) mappers_lock; then
 * page_table_lock for huge PMDs and for allocating tables, and one PTE
 * lock at a time.
 */
#ifndef PAGODA_MM_MREMAP_H
#define PAGODA_MM_MREMAP_H

#include "kernel/types.h"

struct mm_struct;

/* Linux's uapi values (linux/mman.h). */
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MREMAP_DONTUNMAP 4

/* Move the entries of [old_addr, old_addr + len) to [new_addr, ...): PTEs
 * one table at a time, a huge PMD whole when both addresses are 2 MiB
 * aligned and the whole 2 MiB moves, else it is split first (Linux's
 * move_huge_pmd / split_huge_pmd). The destination holds no entry. Returns
 * the bytes moved: less than len only when a page table could not be
 * allocated (then the caller moves that much back). Caller holds mmap_lock
 * for write, both VMAs write-locked, and (shared) the mappers lock. */
u64 move_page_tables(struct mm_struct *mm, u64 old_addr, u64 new_addr, u64 len);

/* The negative control "mremap_debug_skip_flush": a move does not flush
 * the old range from the TLBs (Linux before its 2018 fix flushed too late;
 * this never does). A CPU that cached the old address keeps reading and
 * writing the moved page through it; mremap.stale_old_address must fail. */
extern bool mremap_debug_skip_flush;

/* mm/mmap.c, for mremap (mmap_lock held for write): munmap of [start,
 * end), 0 or -ENOMEM; and a free range of len bytes, at hint if it fits
 * (page-aligned), else where mmap would put it, 0 if none. */
int mm_munmap_locked(struct mm_struct *mm, u64 start, u64 end);
u64 mm_get_unmapped_area(struct mm_struct *mm, u64 hint, u64 len);

/* Registers mremap (called by mm_syscalls_init) and reads the boot word. */
void mremap_init(void);

#endif
