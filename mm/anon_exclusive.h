/* SPDX-License-Identifier: MIT */
/* mm/anon_exclusive.h - which private anonymous pages this address space
 * owns alone (PG_exclusive), and when a write fault may take a page that is
 * not marked so as its own (docs/cow.md, docs/thp.md "fork and
 * copy-on-write of a THP"). Linux: PageAnonExclusive (include/linux/
 * page-flags.h, rmap.h) and wp_can_reuse_anon_folio (mm/memory.c).
 *
 * The rule: PG_exclusive on a 4 KiB page means "the address space that
 * maps it is the only one that does, and it may write to it in place".
 *   - A new page (fault, copy) is exclusive.
 *   - fork clears it on every page it shares (on the 4 KiB piece a PTE maps,
 *     on the head of a THP a huge PMD maps).
 *   - A THP mapped by a huge PMD keeps it on its head, for all 512 pieces;
 *     split_huge_pmd copies the head's state to every piece, so from then
 *     on each piece knows on its own.
 *   - A page not marked may be taken back (marked, then reused) only when
 *     every reference to it is explained by this address space's page-table
 *     entries, checked under the PTE lock (can_reuse_anon_page).
 *
 * Readers (mm/fault.c, mm/gup.c, mm/mmap.c's mprotect, userfaultfd) look at
 * the piece's own bit; the helpers below do that, or the head's bit under
 * "thp_whole_exclusive".
 *
 * Boot words:
 *   thp_whole_exclusive            the whole-compound rule: the bit of a
 *       4 KiB piece is its head's, and a piece of a compound page is never
 *       taken back (reused only once it is the compound's last reference,
 *       and only if it is the head). For comparison (make bench-thp-cow).
 *   thp_debug_reuse_shared_pieces  negative control: a piece of a compound
 *       page is reused without the "every reference explained" check; the
 *       thp_exclusive suite's child_alive and pinned cases must fail.
 *
 * Locking: the bit changes with atomic instructions. Setting it on a page
 * mapped by a PTE needs that PTE table's lock, and on a huge PMD's head the
 * PMD lock; fork clears it with the parent's mmap_lock and every VMA
 * write-locked, so no fault of the parent runs meanwhile.
 */
#ifndef PAGODA_MM_ANON_EXCLUSIVE_H
#define PAGODA_MM_ANON_EXCLUSIVE_H

#include "kernel/types.h"
#include "mm/page.h"

extern bool thp_whole_exclusive;
extern bool thp_debug_reuse_shared_pieces;

/* The descriptor that holds p's bit: p itself, or its head under the
 * whole-compound rule. */
static inline struct page *exclusive_bit_page(struct page *p)
{
	return thp_whole_exclusive ? compound_head(p) : p;
}

static inline bool page_anon_exclusive(struct page *p)
{
	return (__atomic_load_n(&exclusive_bit_page(p)->flags, __ATOMIC_RELAXED) &
		PG_exclusive) != 0;
}

static inline void set_page_anon_exclusive(struct page *p)
{
	__atomic_or_fetch(&exclusive_bit_page(p)->flags, PG_exclusive, __ATOMIC_RELAXED);
}

static inline void clear_page_anon_exclusive(struct page *p)
{
	__atomic_and_fetch(&exclusive_bit_page(p)->flags, ~PG_exclusive, __ATOMIC_RELAXED);
}

/* split_huge_pmd: the head's state, which stood for the whole THP, becomes
 * each piece's own. Caller holds the PMD lock and has not yet hooked in the
 * new PTE table (no fault can look at a piece meanwhile). */
void split_anon_exclusive(struct page *head);

/* A write (or unshare) fault on the private page p, mapped read-only by the
 * PTE *pte, whose table's lock the caller holds: may this address space
 * take p as its own? True when p is marked exclusive, or when nothing but
 * that table's entries holds p's page (then those entries' pieces are
 * marked). */
bool can_reuse_anon_page(struct page *p, const u64 *pte);

/* A read-only pin of p: does it need a private copy first (an unshare
 * fault, which reuses p if can_reuse_anon_page allows)? The cheap test,
 * without the PTE table: not marked, and not a lone 4 KiB page with one
 * reference and one mapping. */
bool anon_page_maybe_shared(struct page *p);

void anon_exclusive_init(void);         /* reads the boot words (thp_init) */

#endif
