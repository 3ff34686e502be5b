/* SPDX-License-Identifier: MIT */
/* mm/deferred_split.c - the deferred split queue and its drain; see
 * deferred_split.h for the rule and docs/thp.md for the timeline.
 */
#include "mm/deferred_split.h"
#include "mm/thp.h"
#include "mm/buddy.h"
#include "mm/pgtable.h"
#include "mm/vma_lock.h"
#include "kernel/rwsem.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/trace.h"

bool deferred_split_debug_skip_freeze;
bool deferred_split_debug_skip_refcheck;
bool deferred_split_debug_skip_gup_recheck;
void (*deferred_split_debug_hook)(struct page *head);

/* The queue, its length, every PG_deferred_split flag and every record:
 * innermost lock, taken with interrupts off (the free path may run with
 * them off: GUP-fast drops a reference there). */
static spinlock_t queue_lock = SPINLOCK_INIT("deferred_split");
static struct list_head queue = { &queue, &queue };
static u64 queue_len;

/* --- the fields in the tail pages (thp.h) --- */

static struct list_head *queue_link(struct page *head) { return &head[1].lru; }

static struct page *link_to_head(struct list_head *l)
{
	return container_of(l, struct page, lru) - 1;
}

/* head[1].flags has other bits that others change (PG_exclusive of the
 * 4 KiB page itself, under its PTE lock): change ours atomically. */
static bool queued(const struct page *head)
{
	return __atomic_load_n(&head[1].flags, __ATOMIC_RELAXED) & PG_deferred_split;
}

static void set_queued(struct page *head, bool on)
{
	if (on)
		__atomic_or_fetch(&head[1].flags, PG_deferred_split, __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&head[1].flags, ~PG_deferred_split, __ATOMIC_RELAXED);
}

static struct mm_struct *record_mm(const struct page *head)
{
	return (struct mm_struct *)head[2].lru.next;
}

static void set_record_mm(struct page *head, struct mm_struct *mm)
{
	head[2].lru.next = (struct list_head *)mm;
}

/* --- queueing --- */

/* An mm that exits records nothing: a drain could never use it. */
void deferred_split_folio(struct page *head, struct mm_struct *mm)
{
	if (mm && __atomic_load_n(&mm->users, __ATOMIC_RELAXED) == 0)
		mm = NULL;
	struct mm_struct *old = NULL;
	u64 flags = spin_lock_irqsave(&queue_lock);
	if (!queued(head)) {
		set_queued(head, true);
		set_record_mm(head, NULL);
		list_add_tail(queue_link(head), &queue);
		queue_len++;
		vm_stat_add(NR_THP_DEFERRED_SPLIT_PAGE, 1);
	}
	/* The newest unmapper is the likeliest to map the rest. */
	if (mm && record_mm(head) != mm) {
		old = record_mm(head);
		mm_grab(mm);
		set_record_mm(head, mm);
	}
	spin_unlock_irqrestore(&queue_lock, flags);
	if (old)
		mm_drop(old);
}

/* A reference count of 1 is the caller's last: the page is about to be
 * freed whole (a huge PMD zapped, its head's map count dropping here, or
 * the last piece of one), with nothing to split. */
void page_remove_pte_map(struct page *p, struct mm_struct *mm)
{
	if (!(p->flags & (PG_head | PG_tail)) || page_mapcount(p) != 0)
		return;
	struct page *head = compound_head(p);
	if ((head->flags & PG_anon) && head->order == HPAGE_ORDER && page_refcount(head) > 1)
		deferred_split_folio(head, mm);
}

/* Off the queue, record taken (queue_lock held); the caller drops it. */
static struct mm_struct *dequeue_locked(struct page *head)
{
	struct mm_struct *mm = record_mm(head);
	list_del(queue_link(head));
	set_queued(head, false);
	set_record_mm(head, NULL);
	queue_len--;
	return mm;
}

void deferred_split_free(struct page *head)
{
	/* Unqueued and unreferenced: nobody can queue it now (queueing needs
	 * a reference), so the flag may be read without the lock. */
	if (!queued(head))
		return;
	struct mm_struct *mm = NULL;
	u64 flags = spin_lock_irqsave(&queue_lock);
	if (queued(head))
		mm = dequeue_locked(head);
	spin_unlock_irqrestore(&queue_lock, flags);
	if (mm)
		mm_drop(mm);
}

u64 deferred_split_queue_len(void)
{
	return __atomic_load_n(&queue_len, __ATOMIC_RELAXED);
}

/* --- the split --- */

/* Which of head's pieces the PTE table holding `ptes` maps, each at its
 * own index (piece i at the recorded address + i pages; pieces mremap moved
 * elsewhere are not found, and their references stay unexplained), and
 * how many: every other reference is unexplained. */
static u32 count_table_maps(struct page *head, const u64 *ptes, u64 *bitmap)
{
	u32 n = 0;
	for (u32 i = 0; i < HPAGE_NR; i++) {
		u64 e = pte_read(&ptes[i]);
		if (pte_mapped(e) && !pte_special(e) && pte_page(e) == head + i) {
			bitmap[i / 64] |= 1UL << (i % 64);
			n++;
		}
	}
	return n;
}

static bool mapped_here(const u64 *bitmap, u32 i) { return bitmap[i / 64] & (1UL << (i % 64)); }

/* Every map count agrees with the table: frozen, nothing else can map. */
static bool map_counts_agree(struct page *head, const u64 *bitmap)
{
	for (u32 i = 0; i < HPAGE_NR; i++)
		if (page_mapcount(&head[i]) != (mapped_here(bitmap, i) ? 1 : 0))
			return false;
	return true;
}

/* Freeze head's count at *expected (Linux's page_ref_freeze): from here
 * on no GUP-fast can take a reference. */
static bool ref_freeze(struct page *head, s32 *expected)
{
	if (deferred_split_debug_skip_freeze)
		return true;    /* the negative control: trusts the check made before */
	if (deferred_split_debug_skip_refcheck)
		*expected = page_refcount(head);        /* the negative control */
	return __atomic_compare_exchange_n(&head->refcount, expected, 0, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* 512 order-0 pages: tails first, the head's count last (a release
 * store), so that a GUP-fast whose reference on the head succeeds sees its
 * piece is no tail any more (gup_fast.c re-checks). The pieces this table
 * maps keep one reference each (their PTE's) and are PG_exclusive: mapped
 * once, with no other reference, they are this mm's alone; the others go
 * back to the allocator. */
static void split_frozen(struct page *head, const u64 *bitmap)
{
	for (u32 i = HPAGE_NR; i-- > 0;) {
		struct page *p = &head[i];
		bool mapped = mapped_here(bitmap, i);
		__atomic_store_n(&p->flags, mapped ? PG_anon | PG_exclusive : PG_anon,
				 __ATOMIC_RELEASE);
		p->order = 0;
		if (!mapped) {
			p->refcount = 0;        /* head[1]: the entire map count, 0 */
			free_frozen_page(p);
			continue;
		}
		__atomic_store_n(&p->refcount, 1, __ATOMIC_RELEASE);
	}
}

/* May head be split: no huge PMD, every reference a PTE of this table
 * (plus ours), the count frozen, the map counts in agreement? */
static bool freeze_if_explained(struct page *head, const u64 *ptes, u64 *bitmap)
{
	s32 expected = (s32)count_table_maps(head, ptes, bitmap) + 1;      /* + ours */
	if (thp_entire_mapcount(head) != 0 ||
	    (page_refcount(head) != expected && !deferred_split_debug_skip_refcheck))
		return false;
	if (deferred_split_debug_hook)
		deferred_split_debug_hook(head);
	if (!ref_freeze(head, &expected))
		return false;
	if (!map_counts_agree(head, bitmap)) {
		printk(KERN_ERR "deferred_split: BUG: map counts of pfn %lx disagree with its table\n",
		       page_to_pfn(head));
		if (!deferred_split_debug_skip_freeze)
			__atomic_store_n(&head->refcount, expected, __ATOMIC_RELEASE);
		return false;
	}
	return true;
}

/* Split head (referenced by us) if only the table at its address in mm
 * maps and holds it. Caller holds mm as a user and its mmap_lock. */
static bool try_split(struct mm_struct *mm, struct page *head)
{
	mmap_assert_locked(mm);
	u64 addr = thp_mapped_address(head);
	u32 *ptl;
	u64 *e = pte_offset_map_lock(mm, addr, &ptl);
	if (!e)
		return false;                   /* a huge PMD, or nothing */
	u64 bitmap[HPAGE_NR / 64] = { 0 };
	bool split = freeze_if_explained(head, e - pgtable_index(addr, PT_PTE), bitmap);
	struct mm_struct *rec = NULL;
	if (split) {
		u64 flags = spin_lock_irqsave(&queue_lock);
		if (queued(head))
			rec = dequeue_locked(head);
		spin_unlock_irqrestore(&queue_lock, flags);
		split_frozen(head, bitmap);
		vm_stat_add(NR_THP_SPLIT_PAGE, 1);
		trace_event(TR_THP_SPLIT_PAGE, page_to_phys(head), 0);
	}
	pte_unmap_unlock(ptl);
	if (rec)
		mm_drop(rec);
	return split;
}

/* --- draining --- */

/* Take the next queued page with a reference, and its record as a user,
 * moving it to the queue's tail (a failure is retried after the others).
 * false when the queue is empty. *head is NULL when the page is being
 * freed (the free path dequeues it); *mm is NULL when there is no live
 * record; *dead is an exited mm whose record was dropped (the caller
 * drops it). */
static bool next_candidate(struct page **head, struct mm_struct **mm, struct mm_struct **dead)
{
	*head = NULL;
	*mm = *dead = NULL;
	u64 flags = spin_lock_irqsave(&queue_lock);
	bool any = !list_empty(&queue);
	if (any) {
		struct page *h = link_to_head(queue.next);
		list_del(queue_link(h));
		list_add_tail(queue_link(h), &queue);
		s32 c = page_refcount(h);
		while (c > 0 && !__atomic_compare_exchange_n(&h->refcount, &c, c + 1, false,
							      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			;
		struct mm_struct *rec = record_mm(h);
		if (c > 0 && rec && mm_get_not_zero(rec)) {
			*mm = rec;
		} else if (c > 0 && rec) {
			set_record_mm(h, NULL);
			*dead = rec;
		}
		if (c > 0)
			*head = h;
	}
	spin_unlock_irqrestore(&queue_lock, flags);
	return any;
}

static bool mmap_read_lock_maybe(struct mm_struct *mm, bool wait)
{
	if (wait) {
		down_read(&mm->mmap_lock);
		return true;
	}
	return down_read_trylock(&mm->mmap_lock);
}

static u64 drain(u64 nr, bool wait)
{
	u64 split = 0;
	for (u64 tries = MIN(nr, deferred_split_queue_len()); tries > 0; tries--) {
		struct mm_struct *mm, *dead;
		struct page *head;
		if (!next_candidate(&head, &mm, &dead))
			break;
		if (dead)
			mm_drop(dead);
		if (!head)
			continue;
		bool done = false;
		if (mm && mmap_read_lock_maybe(mm, wait)) {
			done = try_split(mm, head);
			up_read(&mm->mmap_lock);
		}
		if (mm)
			mm_put(mm);
		if (done)
			split++;        /* our reference went with the freeze */
		else
			put_page(head);
	}
	return split;
}

u64 deferred_split_scan(u64 nr) { return drain(nr, true); }
u64 deferred_split_reclaim(u64 nr) { return drain(nr, false); }

void deferred_split_init(void)
{
	cmdline_debug_switch("deferred_split", "deferred_split_debug_skip_gup_recheck",
			     &deferred_split_debug_skip_gup_recheck,
			     "GUP-fast keeps a reference on a head its page left");
	cmdline_debug_switch("deferred_split", "deferred_split_debug_skip_freeze",
			     &deferred_split_debug_skip_freeze, "splits WITHOUT freezing the count");
	cmdline_debug_switch("deferred_split", "deferred_split_debug_skip_refcheck",
			     &deferred_split_debug_skip_refcheck,
			     "splits pages with unexplained references");
}
