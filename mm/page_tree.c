/* SPDX-License-Identifier: MIT */
/* mm/page_tree.c - a radix tree of page pointers, one 4 KiB page per node;
 * see page_tree.h for the shape and the rules. */
#include "mm/page_tree.h"
#include "mm/buddy.h"
#include "kernel/printk.h"
#include "kernel/errno.h"

static struct page **slots(struct page *node)
{
	return page_address(node);
}

/* The slot of idx in a node at level (0: a leaf). */
static u32 slot_of(u64 idx, u32 level)
{
	return (u32)(idx >> (PAGE_TREE_SHIFT * level)) & (PAGE_TREE_SLOTS - 1);
}

/* Indices a tree of this height can hold: [0, capacity). */
static u64 capacity(u32 height)
{
	return 1UL << (PAGE_TREE_SHIFT * height);
}

/* The least height that holds idx. */
static u32 height_for(u64 idx)
{
	u32 h = 1;
	while (h < PAGE_TREE_MAX_HEIGHT && idx >= capacity(h))
		h++;
	return h;
}

void page_tree_init(struct page_tree *t)
{
	t->root = NULL;
	t->height = 0;
	t->nodes = 0;
}

struct page *page_tree_load(const struct page_tree *t, u64 idx)
{
	if (!t->root || idx >= capacity(t->height))
		return NULL;
	struct page *node = t->root;
	for (u32 level = t->height - 1; level > 0 && node; level--)
		node = slots(node)[slot_of(idx, level)];
	return node ? slots(node)[slot_of(idx, 0)] : NULL;
}

/* The caller's spare becomes a node of t (zeroed by the caller: no slot
 * used). */
static struct page *take_spare(struct page_tree *t, struct page **spare)
{
	struct page *n = *spare;
	*spare = NULL;
	n->owner = 0;
	t->nodes++;
	return n;
}

/* Make the tree tall enough for idx: a new root above the old one, whose
 * indices all lie under its slot 0. */
static int grow(struct page_tree *t, u64 idx, struct page **spare)
{
	u32 need = height_for(idx);
	if (!t->root) {
		if (!*spare)
			return -EAGAIN;
		t->root = take_spare(t, spare);
		t->height = need;
	}
	while (t->height < need) {
		if (!*spare)
			return -EAGAIN;
		struct page *n = take_spare(t, spare);
		slots(n)[0] = t->root;
		n->owner = 1;
		t->root = n;
		t->height++;
	}
	return 0;
}

int page_tree_store(struct page_tree *t, u64 idx, struct page *p, struct page **spare)
{
	if (idx > PAGE_TREE_MAX_INDEX || !p)
		panic("page_tree: store of %p at index %lx", p, idx);
	int err = grow(t, idx, spare);
	if (err)
		return err;
	struct page *node = t->root;
	for (u32 level = t->height - 1; level > 0; level--) {
		struct page **s = &slots(node)[slot_of(idx, level)];
		if (!*s) {
			/* A node linked here and then left empty by an -EAGAIN
			 * stays until a page comes or the tree is destroyed. */
			if (!*spare)
				return -EAGAIN;
			*s = take_spare(t, spare);
			node->owner++;
		}
		node = *s;
	}
	struct page **s = &slots(node)[slot_of(idx, 0)];
	if (!*s)
		node->owner++;
	*s = p;
	return 0;
}

static void free_node(struct page_tree *t, struct page *node)
{
	node->owner = 0;
	t->nodes--;
	free_page(node);
}

struct page *page_tree_erase(struct page_tree *t, u64 idx)
{
	if (!t->root || idx >= capacity(t->height))
		return NULL;
	struct page *path[PAGE_TREE_MAX_HEIGHT];
	struct page *node = t->root;
	for (u32 level = t->height - 1;; level--) {
		path[level] = node;
		node = slots(node)[slot_of(idx, level)];
		if (!node)
			return NULL;
		if (level == 0)
			break;
	}
	/* node is the page. Clear its slot; a node left with no used slot
	 * goes, and so its slot in the node above, up to the root. */
	for (u32 level = 0; level < t->height; level++) {
		slots(path[level])[slot_of(idx, level)] = NULL;
		if (--path[level]->owner)
			return node;
		free_node(t, path[level]);
	}
	t->root = NULL;
	t->height = 0;
	return node;
}

/* page_tree_next inside one node at level covering indices from base:
 * slots at or after *idx, before end, depth first. */
static struct page *next_in(struct page *n, u32 level, u64 base, u64 *idx, u64 end)
{
	u64 span = capacity(level);
	for (u32 i = slot_of(*idx - base, level); i < PAGE_TREE_SLOTS; i++) {
		u64 cbase = base + i * span;
		if (cbase >= end)
			return NULL;
		struct page *c = slots(n)[i];
		if (!c)
			continue;       /* an empty subtree: span indices skipped at once */
		if (level == 0) {
			*idx = cbase;
			return c;
		}
		u64 from = *idx > cbase ? *idx : cbase;
		struct page *r = next_in(c, level - 1, cbase, &from, end);
		if (r) {
			*idx = from;
			return r;
		}
	}
	return NULL;
}

struct page *page_tree_next(const struct page_tree *t, u64 *idx, u64 end)
{
	if (!t->root || *idx >= capacity(t->height) || *idx >= end)
		return NULL;
	return next_in(t->root, t->height - 1, 0, idx, end);
}

static void destroy_node(struct page_tree *t, struct page *n, u32 level,
			 void (*release)(struct page *))
{
	for (u32 i = 0; i < PAGE_TREE_SLOTS; i++) {
		struct page *c = slots(n)[i];
		if (!c)
			continue;
		if (level)
			destroy_node(t, c, level - 1, release);
		else if (release)
			release(c);
	}
	free_node(t, n);
}

void page_tree_destroy(struct page_tree *t, void (*release)(struct page *))
{
	if (t->root)
		destroy_node(t, t->root, t->height - 1, release);
	t->root = NULL;
	t->height = 0;
}
