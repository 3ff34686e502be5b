/* SPDX-License-Identifier: MIT */
// SOURCES: mm/vma.c
/* tests/host/test_vma.c - the VMA set (mm/vma.c) against a reference model.
 *
 * The model is one entry per page of a small address space: unmapped, or
 * the flags, shared object and object page that a VMA gives that page. That
 * description does not change when VMAs are split or merged, so after every
 * random operation (insert, munmap-like removal of a range, split, merge,
 * changing the flags of a range) the set must describe exactly the model,
 * stay sorted and non-overlapping, answer every lookup as the model does,
 * and hold exactly one reference on a shared object per VMA pointing at it.
 * Built with ASan: a VMA freed twice, leaked or used after free is caught. */
#include "mm/vma.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "kernel/errno.h"
#include "tests/host/htest.h"
#include <stdlib.h>
#include <string.h>

/* --- what mm/vma.c expects from the kernel --- */
static long live_allocs;
void *kmalloc(size_t size, gfp_t gfp)
{
	void *p = (gfp & __GFP_ZERO) ? calloc(1, size) : malloc(size);
	if (p)
		live_allocs++;
	return p;
}
void kfree(const void *p)
{
	if (p)
		live_allocs--;
	free((void *)p);
}

/* Per-VMA locks (mm/vma_lock.h): the set must write-lock every VMA it
 * changes, inserts or removes; the model counts the marks, and a removed
 * VMA must be marked. RCU callbacks run at once: no reader here. */
bool vma_debug_free_now;
static long write_marks;
void vma_start_write(struct vm_area *v)
{
	v->vm_lock_seq = 0;
	write_marks++;
}
void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	func(head);
}

#define NOBJ 8
struct shared_anon {
	int refs;
};
static struct shared_anon objs[NOBJ];
void shared_anon_get(struct shared_anon *s) { s->refs++; }
/* The reverse map is the kernel's (mm/shared_anon.c); the model checks the
 * set and the references only. */
void shared_anon_lock_mappers(struct shared_anon *s) { (void)s; }
void shared_anon_unlock_mappers(struct shared_anon *s) { (void)s; }
void shared_anon_link(struct vm_area *v) { (void)v; }
void shared_anon_unlink(struct vm_area *v) { (void)v; }
void shared_anon_put(struct shared_anon *s)
{
	HT_EXPECT(s->refs > 0);
	s->refs--;
}

/* --- the model --- */
#define NPAGES 512
#define BASE 0x10000000UL
#define ADDR(p) (BASE + (u64)(p) * PAGE_SIZE)

struct mpage {
	bool mapped;
	u32 flags;
	int obj;                /* -1: private */
	u64 objpage;
};
static struct mpage model[NPAGES];
static struct vma_set set;

static u32 rnd(u32 n) { return (u32)(random() % n); }

static struct mpage page_of_vma(const struct vm_area *v, u64 addr)
{
	struct mpage m = { true, v->flags, -1, 0 };
	if (v->shared) {
		m.obj = (int)(v->shared - objs);
		m.objpage = v->pgoff + (addr - v->start) / PAGE_SIZE;
	}
	return m;
}

static bool same(struct mpage a, struct mpage b)
{
	if (a.mapped != b.mapped)
		return false;
	if (!a.mapped)
		return true;
	return a.flags == b.flags && a.obj == b.obj && (a.obj < 0 || a.objpage == b.objpage);
}

static int check_all(void)
{
	int bad = 0;
	/* Sorted, non-overlapping, aligned, inside the model's range. */
	for (u32 i = 0; i < set.nr; i++) {
		const struct vm_area *v = set.v[i];
		if (v->start >= v->end || (v->start | v->end) % PAGE_SIZE || v->start < BASE ||
		    v->end > ADDR(NPAGES) || (i > 0 && set.v[i - 1]->end > v->start))
			bad++;
	}
	/* For the lockless lookup (vma.h): the slots past the count are NULL,
	 * and vma_find_rcu, on a set at rest, answers as vma_find. */
	for (u32 i = set.nr; i < set.cap; i++)
		if (set.v[i])
			bad++;
	/* Every page as the model says, through vma_find. */
	for (u32 p = 0; p < NPAGES; p++) {
		u64 addr = ADDR(p) + rnd(PAGE_SIZE);
		const struct vm_area *v = vma_find(&set, addr);
		if (vma_find_rcu(&set, addr) != v)
			bad++;
		struct mpage got = { false, 0, -1, 0 };
		if (v)
			got = page_of_vma(v, ADDR(p));
		if (!same(got, model[p]))
			bad++;
	}
	/* vma_find_intersection agrees with a scan of the model. */
	for (int k = 0; k < 20; k++) {
		u32 a = rnd(NPAGES), b = a + 1 + rnd(NPAGES - a);
		bool any = false;
		u32 first = 0;
		for (u32 p = a; p < b; p++)
			if (model[p].mapped) {
				any = true;
				first = p;
				break;
			}
		const struct vm_area *v = vma_find_intersection(&set, ADDR(a), ADDR(b));
		if (any != (v != NULL) || (v && !(v->start <= ADDR(first) && ADDR(first) < v->end)))
			bad++;
	}
	/* One reference per VMA on each shared object. */
	int refs[NOBJ] = { 0 };
	for (u32 i = 0; i < set.nr; i++)
		if (set.v[i]->shared)
			refs[set.v[i]->shared - objs]++;
	for (int o = 0; o < NOBJ; o++)
		if (refs[o] != objs[o].refs)
			bad++;
	return bad;
}

/* Split so that VMA boundaries fall at a and b (pages). */
static void split_edges(u32 a, u32 b)
{
	u32 i = vma_index(&set, ADDR(a));
	if (i < set.nr && set.v[i]->start < ADDR(a))
		HT_EXPECT_EQ(vma_split(&set, i, ADDR(a)), 0);
	i = vma_index(&set, ADDR(b));
	if (i < set.nr && set.v[i]->start < ADDR(b))
		HT_EXPECT_EQ(vma_split(&set, i, ADDR(b)), 0);
}

static void op_insert(void)
{
	u32 a = rnd(NPAGES), len = 1 + rnd(16);
	if (a + len > NPAGES)
		return;
	for (u32 p = a; p < a + len; p++)
		if (model[p].mapped)
			return;
	struct vm_area *v = vma_alloc(ADDR(a), ADDR(a + len), rnd(3));
	HT_EXPECT(v != NULL);
	int obj = rnd(3) == 0 ? (int)rnd(NOBJ) : -1;
	u64 pgoff = rnd(64);
	if (obj >= 0) {
		v->shared = &objs[obj];
		v->pgoff = pgoff;
		shared_anon_get(v->shared);
	}
	HT_EXPECT_EQ(vma_insert(&set, v), 0);
	for (u32 p = a; p < a + len; p++)
		model[p] = (struct mpage){ true, v->flags, obj, pgoff + (p - a) };
	if (rnd(2)) {
		u32 i = vma_merge(&set, vma_index(&set, ADDR(a)));
		HT_EXPECT(set.v[i]->start <= ADDR(a) && ADDR(a) < set.v[i]->end);
	}
}

static void op_remove_range(void)
{
	u32 a = rnd(NPAGES), b = a + 1 + rnd(MIN(40u, NPAGES - a));
	split_edges(a, b);
	u32 i = vma_index(&set, ADDR(a));
	while (i < set.nr && set.v[i]->start < ADDR(b)) {
		struct vm_area *v = set.v[i];
		HT_EXPECT(v->start >= ADDR(a) && v->end <= ADDR(b));
		long marks = write_marks;
		vma_remove_at(&set, i);
		/* Write-locked and marked detached before it leaves. */
		HT_EXPECT(write_marks > marks && v->detached && v->vm_lock_seq == 0);
		vma_free(v);
	}
	for (u32 p = a; p < b; p++)
		model[p].mapped = false;
}

static void op_split(void)
{
	if (!set.nr)
		return;
	u32 i = rnd(set.nr);
	struct vm_area *v = set.v[i];
	u64 pages = (v->end - v->start) / PAGE_SIZE;
	if (pages < 2)
		return;
	u64 at = v->start + (1 + rnd((u32)pages - 1)) * PAGE_SIZE;
	HT_EXPECT_EQ(vma_split(&set, i, at), 0);
	HT_EXPECT(set.v[i]->end == at && set.v[i + 1]->start == at);
}

static void op_merge(void)
{
	if (!set.nr)
		return;
	u32 k = rnd(set.nr);
	/* The merged VMA must take in exactly the neighbours that could merge. */
	u64 start = set.v[k]->start, end = set.v[k]->end;
	if (k > 0 && vma_can_merge(set.v[k - 1], set.v[k]))
		start = set.v[k - 1]->start;
	if (k + 1 < set.nr && vma_can_merge(set.v[k], set.v[k + 1]))
		end = set.v[k + 1]->end;
	u32 i = vma_merge(&set, k);
	HT_EXPECT(i < set.nr);
	HT_EXPECT_EQ(set.v[i]->start, start);
	HT_EXPECT_EQ(set.v[i]->end, end);
}

/* mprotect-like: the mapped pages of a range get new flags. */
static void op_set_flags(void)
{
	u32 a = rnd(NPAGES), b = a + 1 + rnd(MIN(40u, NPAGES - a));
	u32 flags = rnd(3);
	split_edges(a, b);
	for (u32 i = vma_index(&set, ADDR(a)); i < set.nr && set.v[i]->start < ADDR(b); i++)
		set.v[i]->flags = flags;
	for (u32 p = a; p < b; p++)
		if (model[p].mapped)
			model[p].flags = flags;
	/* Merge the changed VMAs with their neighbours, as mprotect does. */
	u32 i = vma_index(&set, ADDR(a));
	while (i < set.nr && set.v[i]->start < ADDR(b)) {
		i = vma_merge(&set, i);
		i++;
	}
}

static void clear_all(void)
{
	while (set.nr) {
		struct vm_area *v = set.v[set.nr - 1];
		vma_remove_at(&set, set.nr - 1);
		vma_free(v);
	}
	vma_set_destroy(&set);
	memset(model, 0, sizeof(model));
}

HTEST(random_ops_match_model)
{
	srandom(42);
	vma_set_init(&set);
	long bad = 0, ops = 0;
	u32 max_nr = 0;
	for (int round = 0; round < 20000; round++) {
		switch (rnd(10)) {
		case 0: case 1: case 2: case 3: op_insert(); break;
		case 4: case 5: op_remove_range(); break;
		case 6: op_split(); break;
		case 7: op_merge(); break;
		default: op_set_flags(); break;
		}
		ops++;
		max_nr = MAX(max_nr, set.nr);
		int b = check_all();
		if (b && bad == 0)
			printf("    # first mismatch after operation %ld\n", ops);
		bad += b;
	}
	printf("    # %ld operations, up to %u VMAs\n", ops, max_nr);
	HT_EXPECT_EQ(bad, 0);
	HT_EXPECT(max_nr > 20);
	clear_all();
	for (int o = 0; o < NOBJ; o++)
		HT_EXPECT_EQ(objs[o].refs, 0);
	HT_EXPECT_EQ(live_allocs, 0);
}

HTEST(merge_rules)
{
	vma_set_init(&set);
	struct vm_area *a = vma_alloc(ADDR(0), ADDR(2), VM_READ);
	struct vm_area *b = vma_alloc(ADDR(2), ADDR(4), VM_READ);
	struct vm_area *c = vma_alloc(ADDR(4), ADDR(6), VM_READ);
	HT_EXPECT_EQ(vma_insert(&set, c), 0);
	HT_EXPECT_EQ(vma_insert(&set, a), 0);
	HT_EXPECT_EQ(vma_insert(&set, b), 0);
	HT_EXPECT_EQ(set.nr, 3);
	HT_EXPECT(set.v[0] == a && set.v[1] == b && set.v[2] == c);
	/* Merging the middle one takes both neighbours. */
	HT_EXPECT_EQ(vma_merge(&set, 1), 0);
	HT_EXPECT_EQ(set.nr, 1);
	HT_EXPECT_EQ(set.v[0]->end, ADDR(6));
	/* Different flags, a gap, shared pages that do not line up, or two
	 * userfaultfd contexts: no. */
	struct vm_area x = { .start = ADDR(0), .end = ADDR(1), .flags = VM_READ };
	struct vm_area y = { .start = ADDR(1), .end = ADDR(2), .flags = VM_READ | VM_WRITE };
	HT_EXPECT(!vma_can_merge(&x, &y));
	y.flags = VM_READ;
	HT_EXPECT(vma_can_merge(&x, &y));
	y.uffd_ctx = (struct userfaultfd_ctx *)&objs[0];
	HT_EXPECT(!vma_can_merge(&x, &y));
	y.uffd_ctx = NULL;
	y.start = ADDR(3);
	HT_EXPECT(!vma_can_merge(&x, &y));
	y.start = ADDR(1);
	x.shared = y.shared = &objs[0];
	x.pgoff = 5;
	y.pgoff = 7;
	HT_EXPECT(!vma_can_merge(&x, &y));
	y.pgoff = 6;
	HT_EXPECT(vma_can_merge(&x, &y));
	y.shared = &objs[1];
	HT_EXPECT(!vma_can_merge(&x, &y));
	/* The set refuses to grow past MAX_VMAS. */
	HT_EXPECT_EQ(vma_reserve(&set, MAX_VMAS), -ENOMEM);
	HT_EXPECT_EQ(vma_reserve(&set, 100), 0);
	clear_all();
	HT_EXPECT_EQ(live_allocs, 0);
}

/* --- for_each_vma_range (vma.h) --- */

static struct mm_struct iter_mm;        /* only its vma_root is used */
#define PAGE_OF(addr) ((u32)(((addr) - BASE) / PAGE_SIZE))

/* What a loop body may do to the piece [lo, hi) it was given (the set is
 * at rest outside the piece): nothing, unmap it, or give it new flags and
 * merge it with its neighbours. The model follows. */
static void change_piece(u64 lo, u64 hi)
{
	u32 a = PAGE_OF(lo), b = PAGE_OF(hi);
	switch (rnd(3)) {
	case 0:
		break;
	case 1: {
		split_edges(a, b);
		u32 i = vma_index(&set, lo);
		struct vm_area *v = set.v[i];
		vma_remove_at(&set, i);
		vma_free(v);    /* freed at once here (call_rcu above): ASan */
		for (u32 p = a; p < b; p++)
			model[p].mapped = false;
		break;
	}
	default: {
		u32 flags = rnd(3);
		split_edges(a, b);
		u32 i = vma_index(&set, lo);
		set.v[i]->flags = flags;
		for (u32 p = a; p < b; p++)
			model[p].flags = flags;
		vma_merge(&set, i);
		break;
	}
	}
}

/* Every page of the range mapped when the loop starts is handed to the
 * body exactly once, in address order, however the body changes the set;
 * the cursor tells the holes; the set stays as the model says. */
HTEST(vma_range_iterator)
{
	srandom(7);
	vma_set_init(&set);
	iter_mm.vma_root = &set;
	long bad = 0, pieces = 0;
	static u8 visits[NPAGES];
	for (int round = 0; round < 5000; round++) {
		switch (rnd(4)) {
		case 0: case 1: op_insert(); break;
		case 2: op_remove_range(); break;
		default: op_split(); break;
		}
		u32 a = rnd(NPAGES), b = a + 1 + rnd(NPAGES - a);
		bool mapped[NPAGES], want_hole = false;
		for (u32 p = 0; p < NPAGES; p++)
			mapped[p] = model[p].mapped;
		for (u32 p = a; p < b; p++)
			want_hole |= !mapped[p];
		memset(visits, 0, sizeof(visits));
		bool hole = false;
		u64 last = 0, cur = ADDR(a);
		struct vm_area *v;
		for_each_vma_range(&iter_mm, v, cur, ADDR(b)) {
			u64 lo = MAX(cur, v->start), hi = MIN(ADDR(b), v->end);
			if (v->start > cur)
				hole = true;
			if (lo >= hi || lo < last)
				bad++;  /* empty, or not in address order */
			last = hi;
			for (u32 p = PAGE_OF(lo); p < PAGE_OF(hi); p++)
				visits[p]++;
			pieces++;
			change_piece(lo, hi);
		}
		if (cur < ADDR(b))
			hole = true;
		for (u32 p = 0; p < NPAGES; p++)
			if (visits[p] != (p >= a && p < b && mapped[p]))
				bad++;
		if (hole != want_hole)
			bad++;
		int c = check_all();
		bad += c;
	}
	printf("    # %ld pieces handed to loop bodies\n", pieces);
	HT_EXPECT_EQ(bad, 0);
	HT_EXPECT(pieces > 1000);
	clear_all();
	HT_EXPECT_EQ(live_allocs, 0);
}

int main(void)
{
	return htest_main("vma", (struct htest[]){
		HT_CASE(random_ops_match_model),
		HT_CASE(merge_rules),
		HT_CASE(vma_range_iterator),
		{ 0 } });
}
