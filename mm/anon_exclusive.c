/* SPDX-License-Identifier: MIT */
/* mm/anon_exclusive.c - per-page exclusivity of private anonymous pages;
 * see anon_exclusive.h. */
#include "mm/anon_exclusive.h"
#include "mm/pgtable.h"
#include "mm/vma_lock.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"

bool thp_whole_exclusive;
bool thp_debug_reuse_shared_pieces;

void split_anon_exclusive(struct page *head)
{
	if (thp_whole_exclusive)
		return;                 /* the head's bit goes on standing for all */
	bool excl = head->flags & PG_exclusive;
	for (u32 i = 1; i < (1u << head->order); i++) {
		if (excl)
			__atomic_or_fetch(&head[i].flags, PG_exclusive, __ATOMIC_RELAXED);
		else
			__atomic_and_fetch(&head[i].flags, ~PG_exclusive, __ATOMIC_RELAXED);
	}
}

/* A lone 4 KiB page nobody else holds or maps: one reference (our entry's)
 * and one mapping. (A compound's head with refcount 1 is its last piece
 * still referenced: the same holds.) */
static bool lone_unshared(struct page *p)
{
	return compound_head(p) == p && page_refcount(p) == 1 && page_mapcount(p) == 1;
}

/* The pieces of head's compound that entries of table map, set in marks
 * (bit i: entry i); their number. */
static u32 pieces_in_table(const struct page *head, const u64 *table, u64 marks[PT_ENTRIES / 64])
{
	u64 first = page_to_pfn(head), nr = 1UL << head->order;
	u32 n = 0;
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		u64 e = pte_read(&table[i]);
		if (!pte_mapped(e) || pte_special(e))
			continue;
		if (((e & PTE_ADDR_MASK) >> PAGE_SHIFT) - first < nr) {
			marks[i / 64] |= 1UL << (i % 64);
			n++;
		}
	}
	return n;
}

/* A quick "no" without the scan: the head's map count holds more than
 * this table's entry for it at its aligned place (a huge PMD elsewhere -
 * typically the child's, never split - or another PTE). A head this table
 * maps at another place only makes us copy: always safe. */
static bool head_mapped_elsewhere(struct page *head, struct page *p, const u64 *pte)
{
	s64 at = (s64)(((u64)pte & ~PAGE_MASK) / sizeof(u64)) - (s64)(p - head);
	u64 e = at >= 0 && at < PT_ENTRIES ? pte_read(pte - (p - head)) : 0;
	bool ours = pte_mapped(e) && !pte_special(e) && pte_page(e) == head;
	return page_mapcount(head) > (ours ? 1 : 0);
}

/* Take back the pieces of a compound page (a split THP) that this table
 * maps, if every reference to the compound is one of their entries.
 *
 * Why that proves "no other address space, no pin": references are counted
 * on the head, one per PTE and one per huge PMD mapping any piece, one per
 * pin (pin_user_page, get_user_page_fast) and one per page an mmu_gather
 * holds until its flush. If the head's count equals the entries of this
 * table that point into the compound, no other table (of any mm) maps a
 * piece, no huge PMD maps it, nothing pins it, and no other mm's unmap is
 * still waiting for its TLB flush (so no stale TLB entry elsewhere reaches
 * a piece). Held under this table's lock, the entries counted cannot change.
 * What could add a reference while we decide:
 *   - fork: it write-locks the parent's mmap_lock and every VMA; this fault
 *     holds its VMA's read lock or mmap_lock for read, so no fork runs now.
 *   - the slow GUP path and another fault on these entries: they take this
 *     table's lock.
 *   - a zap of this table: also under this lock; its gather keeps the
 *     reference of what it took out until the flush, so the count is above
 *     the entries and we copy.
 *   - GUP-fast takes its reference with no lock, after reading an entry.
 *     Reading one of ours: the pin is of this mm's own page, as with the
 *     4 KiB rule (refcount == 1) - if it comes before our read of the count
 *     we copy, after it the pin simply sees this mm's page. Reading another
 *     mm's entry: that entry held a reference when read, so it was cleared
 *     before our read found none; the walker then sees a changed entry when
 *     it looks again and drops its reference unused (gup_fast.c). Linux
 *     makes the same argument for its PageAnonExclusive pieces (R/O pins by
 *     GUP-fast are refused on pages not marked, and a pin taken races only
 *     with the owner's own reuse).
 * The count can only err high (a transient GUP-fast reference): then we
 * copy, which is always safe. */
static bool take_back_pieces(struct page *p, const u64 *pte)
{
	const u64 *table = (const u64 *)((u64)pte & PAGE_MASK);
	struct page *head = compound_head(p);
	s32 refs = page_refcount(head);
	/* Cheap answers first: the scan costs 512 reads per fault. */
	if (refs > PT_ENTRIES || page_mapcount(p) > 1 || head_mapped_elsewhere(head, p, pte))
		return false;
	u64 marks[PT_ENTRIES / 64] = { 0 };
	if (pieces_in_table(head, table, marks) != (u32)refs)
		return false;
	for (u32 i = 0; i < PT_ENTRIES; i++)
		if (marks[i / 64] & (1UL << (i % 64)))
			set_page_anon_exclusive(pte_page(pte_read(&table[i])));
	return true;
}

bool can_reuse_anon_page(struct page *p, const u64 *pte)
{
	pte_assert_locked(pte);
	if (page_anon_exclusive(p))
		return true;
	if (lone_unshared(p)) {
		set_page_anon_exclusive(p);
		return true;
	}
	if (compound_head(p) == p && !(p->flags & PG_head))
		return false;           /* a 4 KiB page someone else holds */
	if (thp_whole_exclusive)
		return false;           /* the whole-compound rule: copy */
	if (thp_debug_reuse_shared_pieces) {
		set_page_anon_exclusive(p);     /* the bug: nothing checked */
		return true;
	}
	return take_back_pieces(p, pte);
}

bool anon_page_maybe_shared(struct page *p)
{
	return !page_anon_exclusive(p) && !lone_unshared(p);
}

void anon_exclusive_init(void)
{
	thp_whole_exclusive = cmdline_has("thp_whole_exclusive");
	if (thp_whole_exclusive)
		printk(KERN_INFO "thp: thp_whole_exclusive: a split THP's pieces share one exclusive bit\n");
	cmdline_debug_switch("thp", "thp_debug_reuse_shared_pieces", &thp_debug_reuse_shared_pieces,
			     "pieces of a compound page reused unchecked");
}
