/* SPDX-License-Identifier: MIT */
/* mm/gup.h - pinning user pages for the kernel (Linux's pin_user_pages):
 * the slow, locked counterpart of mm/gup_fast.h.
 *
 * A pin is a page reference the kernel holds while it reads (or writes) the
 * page's contents directly, outside the address space's page tables. For a
 * read-only pin of private anonymous memory the page must be this address
 * space's own: if fork shares it with another process, the first write on
 * either side would move that side to a copy while the pin kept the other
 * page - the reader would see memory that is no longer what the process
 * maps. So a read-only pin of a shared page first unshares it (a private
 * copy, still read-only: docs/cow.md), as Linux does since 5.19.
 *
 * A pin keeps a page alive, not mapped: MADV_REMOVE of shared memory
 * takes a pinned page out of its object and out of every page table all the
 * same; the pin holder goes on seeing the old contents, and its put_page
 * frees the page (mm/shared_anon.h).
 *
 * Locking: takes mmap_lock for read; may sleep and may send flush IPIs.
 */
#ifndef PAGODA_MM_GUP_H
#define PAGODA_MM_GUP_H

#include "kernel/types.h"
#include "mm/mm.h"
#include "mm/page.h"

/* The page at addr in mm with a reference, after faulting it in for a read
 * (or a write). NULL: no VMA, no right, or no memory. Drop with put_page(). */
struct page *pin_user_page(struct mm_struct *mm, u64 addr, bool write);

/* Copy len bytes at addr in another address space mm into buf (kernel
 * memory) through read-only pins. Returns the bytes copied (less than len
 * if a page could not be pinned). Used by process_vm_readv. */
size_t access_remote_vm_read(struct mm_struct *mm, u64 addr, void *buf, size_t len);

#endif
