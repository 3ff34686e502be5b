/* SPDX-License-Identifier: MIT */
/* mm/list.h - a circular doubly linked list threaded through the objects it
 * links (an "intrusive" list, as Linux's list_head): the allocator's free
 * lists cost no memory beyond the two pointers in each struct page.
 *
 * No locking of its own: every list is protected by the lock of its owner. */
#ifndef PAGODA_MM_LIST_H
#define PAGODA_MM_LIST_H

#include "kernel/types.h"

struct list_head {
	struct list_head *next, *prev;
};

static inline void list_init(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list_insert_between(struct list_head *n, struct list_head *prev,
				       struct list_head *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

/* Add n right after head (LIFO use: the most recently freed page, still warm
 * in the cache, is handed out first). */
static inline void list_add(struct list_head *n, struct list_head *head)
{
	list_insert_between(n, head, head->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	list_insert_between(n, head->prev, head);
}

/* Unlink n. Its pointers are cleared so that a second removal, or a walk from
 * a stale entry, faults at once instead of corrupting another list. */
static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = NULL;
	n->prev = NULL;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(head, type, member) container_of((head)->next, type, member)

#endif
