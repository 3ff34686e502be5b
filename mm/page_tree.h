/* SPDX-License-Identifier: MIT */
/* mm/page_tree.h - a tree of page pointers indexed by page number: where a
 * shared anonymous object and a memfd (mm/shared_anon.h) keep their pages.
 *
 * Linux keeps a file's pages in its page cache, an xarray (a radix tree):
 * nodes of 64 slots, as deep as the largest index needs, with nodes only
 * where pages are. Here the same idea with 512 slots per node, so that a
 * node is exactly one 4 KiB page (as a page table is):
 *
 *   height 1: root = one leaf node, slots 0..511 point at pages;
 *   height h: root's slot i covers indices [i * 512^(h-1), (i+1) * 512^(h-1)).
 *
 *   root (height 2)   [0] [1] . . . [511]
 *                      |   |
 *   leaves          [pages 0..511] [pages 512..1023] . . .
 *
 * An object of 2 GiB (524288 pages) needs height 3 and, with every page
 * present, 1024 leaves + 2 + 1 nodes (4 MiB, 1/512 of what they index),
 * each allocated when its first page arrives and freed when its last page
 * goes. A page array would be 4 MiB of one contiguous kmalloc at mmap time,
 * and a kmalloc cannot grow past 2^MAX_ORDER pages.
 *
 * Each node's count of used slots is kept in its page descriptor's owner
 * field (free for the owner's use, mm/page.h); slots hold struct page *,
 * of a child node or, in a leaf, of the indexed page.
 *
 * Allocation: the tree never allocates. page_tree_store takes a node from
 * the caller when it needs one (*spare: a zeroed page) and answers -EAGAIN
 * when it needs one and has none; the caller drops its lock, allocates, and
 * calls again (Linux's xas_nomem does the same). Nothing is lost in between:
 * nodes already linked stay. page_tree_erase frees the nodes it empties.
 *
 * Locking: none inside. The owner serialises every call on one tree
 * (shared_anon: its spinlock `lock`). Nothing here sleeps.
 */
#ifndef PAGODA_MM_PAGE_TREE_H
#define PAGODA_MM_PAGE_TREE_H

#include "kernel/types.h"
#include "mm/page.h"

#define PAGE_TREE_SHIFT 9
#define PAGE_TREE_SLOTS (1u << PAGE_TREE_SHIFT)
/* 7 levels of 9 bits: every u64 page index below 2^63. */
#define PAGE_TREE_MAX_HEIGHT 7
#define PAGE_TREE_MAX_INDEX ((1UL << (PAGE_TREE_SHIFT * PAGE_TREE_MAX_HEIGHT)) - 1)

struct page_tree {
	struct page *root;      /* a node, or NULL when the tree is empty */
	u32 height;             /* levels of nodes under and with root; 0 when empty */
	u64 nodes;              /* nodes allocated (for tests and accounting) */
};

void page_tree_init(struct page_tree *t);
/* The page at idx, or NULL. */
struct page *page_tree_load(const struct page_tree *t, u64 idx);
/* Put p (not NULL) at idx (<= PAGE_TREE_MAX_INDEX), replacing what was
 * there. 0; or -EAGAIN when a node is needed and *spare is NULL (call again
 * with a zeroed page in *spare). A spare used is set to NULL; one left is
 * the caller's to free. */
int page_tree_store(struct page_tree *t, u64 idx, struct page *p, struct page **spare);
/* Take the page at idx out (returned; NULL if none) and free the nodes
 * this leaves empty. */
struct page *page_tree_erase(struct page_tree *t, u64 idx);
/* The first page at an index in [*idx, end), *idx set to its index; NULL
 * if none. Skips empty subtrees whole: a sparse range is walked fast. */
struct page *page_tree_next(const struct page_tree *t, u64 *idx, u64 end);
/* Free every node, calling release on every page still in the tree. */
void page_tree_destroy(struct page_tree *t, void (*release)(struct page *));

#endif
