/* SPDX-License-Identifier: MIT */
/* mm/userfaultfd_events.c - the memory manager's side of userfaultfd's
 * events (UFFD_FEATURE_EVENT_FORK, _REMAP, _REMOVE, _UNMAP; Linux's
 * dup_userfaultfd, mremap_userfaultfd_*, userfaultfd_remove,
 * userfaultfd_unmap_*). Interface in mm/userfaultfd.h; the queue and the
 * wait are the file side's (uffd_event_deliver, kernel/userfaultfd.c).
 *
 * The rule for every event: the change is noted under mmap_lock, where it
 * starts (a reference on the context, and mmap_changing raised so that a
 * UFFDIO_COPY into addresses that may be moving answers EAGAIN), and the
 * message is sent with no mm lock held - the thread then sleeps until the
 * handler has read it, and the handler may need this mm's mmap_lock to
 * answer (UFFDIO_UNREGISTER after a REMOVE, UFFDIO_COPY into a fork child).
 */
#include "mm/userfaultfd.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/vma_lock.h"
#include "mm/pgtable.h"
#include "mm/madvise.h"
#include "kernel/userfaultfd.h"
#include "kernel/errno.h"
#include "kernel/string.h"

static bool ctx_wants(const struct userfaultfd_ctx *ctx, u64 feature)
{
	return ctx && (uffd_ctx_features(ctx) & feature);
}

/* --- fork --- */

bool uffd_debug_fork_drop_markers;

bool uffd_fork_keeps(const struct vm_area *parent_vma)
{
	return ctx_wants(parent_vma->uffd_ctx, UFFD_FEATURE_EVENT_FORK);
}

bool uffd_fork_keeps_wp(const struct vm_area *parent_vma)
{
	return uffd_fork_keeps(parent_vma) && (parent_vma->flags & VM_UFFD_WP);
}

int dup_userfaultfd(struct vm_area *child_vma, struct userfaultfd_ctx *octx,
		    struct uffd_fork_list *fl)
{
	mmap_assert_write_locked(child_vma->mm);
	for (u32 i = 0; i < fl->n; i++) {
		if (fl->e[i].orig == octx) {
			child_vma->uffd_ctx = fl->e[i].new;
			return 0;
		}
	}
	if (fl->n == UFFD_FORK_MAX)
		return -ENOMEM;
	struct userfaultfd_ctx *nctx = uffd_ctx_fork(octx, child_vma->mm);
	if (!nctx)
		return -ENOMEM;
	/* From here until its FORK event is read, a copy into the parent
	 * answers EAGAIN (Linux raises the parent's mmap_changing here). */
	uffd_event_prepare(octx);
	fl->e[fl->n].orig = octx;
	fl->e[fl->n].new = nctx;
	fl->n++;
	child_vma->uffd_ctx = nctx;
	return 0;
}

int uffd_fork_copy_markers(struct mm_struct *parent, struct mm_struct *child,
			   const struct vm_area *v)
{
	if (!uffd_fork_keeps_wp(v) || uffd_debug_fork_drop_markers)
		return 0;
	mmap_assert_write_locked(parent);
	/* Only PTE tables hold markers (a huge PMD is a page, never one);
	 * pte_table_next skips the empty upper levels and the huge PMDs. */
	for (u64 a = pte_table_next(parent, v->start, v->end); a < v->end;
	     a = pte_table_next(parent, a, v->end)) {
		u64 table_end = (a | (pgtable_span(PT_PMD) - 1)) + 1;
		for (; a < v->end && a < table_end; a += PAGE_SIZE) {
			u64 *pe = pgtable_walk(parent, a, PT_PTE);
			if (!pe || !pte_uffd_marker(pte_read(pe)))
				continue;
			u64 *ce = pgtable_walk_alloc(child, a, PT_PTE);
			if (!ce)
				return -ENOMEM;
			pte_set(ce, PTE_UFFD_WP);
		}
	}
	return 0;
}

/* A child's context nobody will read from: its VMAs unregistered (and
 * their protection dropped), then the context dropped. */
static void fork_ctx_abandon(struct mm_struct *child, struct userfaultfd_ctx *nctx)
{
	uffd_release_mm(child, nctx);
	uffd_ctx_fork_drop(nctx);
}

void dup_userfaultfd_complete(struct mm_struct *child, struct uffd_fork_list *fl, bool failed)
{
	for (u32 i = 0; i < fl->n; i++) {
		struct uffd_msg msg;
		memset(&msg, 0, sizeof(msg));
		msg.event = UFFD_EVENT_FORK;
		bool read = false;
		if (!failed)
			read = uffd_event_deliver(fl->e[i].orig, &msg, fl->e[i].new);
		else
			uffd_event_deliver_cancel(fl->e[i].orig);
		if (!read)
			fork_ctx_abandon(child, fl->e[i].new);
	}
	fl->n = 0;
}

/* --- mremap --- */

void mremap_userfaultfd_complete(struct uffd_remap *uf, u64 from, u64 to, u64 len)
{
	if (!uf->ctx)
		return;
	struct uffd_msg msg;
	memset(&msg, 0, sizeof(msg));
	msg.event = UFFD_EVENT_REMAP;
	msg.arg.remap.from = from;
	msg.arg.remap.to = to;
	msg.arg.remap.len = len;
	uffd_event_deliver(uf->ctx, &msg, NULL);
	uf->ctx = NULL;
}

/* --- MADV_DONTNEED / MADV_FREE --- */

bool uffd_debug_remove_unchecked;

void userfaultfd_remove(struct mm_struct *mm, u64 start, u64 end, u64 advice)
{
	mmap_assert_locked(mm);
	u64 a = start;
	while (a < end) {
		struct vm_area *v = vma_find_intersection(mm->vma_root, a, end);
		if (!v || (!uffd_debug_remove_unchecked && madvise_zap_refused(v, advice)))
			return;
		u64 lo = MAX(a, v->start), hi = MIN(end, v->end);
		a = hi;
		if (!ctx_wants(v->uffd_ctx, UFFD_FEATURE_EVENT_REMOVE))
			continue;
		struct userfaultfd_ctx *ctx = v->uffd_ctx;
		uffd_event_prepare(ctx);
		/* The handler may need this lock to answer (UNREGISTER):
		 * the VMAs are looked up again after. */
		up_read(&mm->mmap_lock);
		struct uffd_msg msg;
		memset(&msg, 0, sizeof(msg));
		msg.event = UFFD_EVENT_REMOVE;
		msg.arg.remove.start = lo;
		msg.arg.remove.end = hi;
		uffd_event_deliver(ctx, &msg, NULL);
		down_read(&mm->mmap_lock);
	}
}

/* --- munmap --- */

/* Give back what this call noted (entries from n0 on), sending nothing. */
static void unmap_list_cancel(struct uffd_unmap_list *ul, u32 n0)
{
	while (ul->n > n0)
		uffd_event_deliver_cancel(ul->e[--ul->n].ctx);
}

int userfaultfd_unmap_prep(struct mm_struct *mm, u64 start, u64 end, struct uffd_unmap_list *ul)
{
	mmap_assert_write_locked(mm);
	struct vm_area *v;
	u64 a = start;
	u32 n0 = ul->n;
	for_each_vma_range(mm, v, a, end) {
		struct userfaultfd_ctx *ctx = v->uffd_ctx;
		if (!ctx_wants(ctx, UFFD_FEATURE_EVENT_UNMAP))
			continue;
		bool noted = false;
		for (u32 i = 0; i < ul->n; i++)
			noted |= ul->e[i].ctx == ctx && ul->e[i].start == start && ul->e[i].end == end;
		if (noted)
			continue;
		if (ul->n == UFFD_UNMAP_MAX) {
			/* More contexts than the list holds: the unmap is refused
			 * rather than done with a handler left untold (Linux
			 * refuses it too when it cannot allocate the list). */
			unmap_list_cancel(ul, n0);
			return -ENOMEM;
		}
		uffd_event_prepare(ctx);
		ul->e[ul->n].ctx = ctx;
		ul->e[ul->n].start = start;
		ul->e[ul->n].end = end;
		ul->n++;
	}
	return 0;
}

void userfaultfd_unmap_complete(struct uffd_unmap_list *ul)
{
	for (u32 i = 0; i < ul->n; i++) {
		struct uffd_msg msg;
		memset(&msg, 0, sizeof(msg));
		msg.event = UFFD_EVENT_UNMAP;
		msg.arg.remove.start = ul->e[i].start;
		msg.arg.remove.end = ul->e[i].end;
		uffd_event_deliver(ul->e[i].ctx, &msg, NULL);
	}
	ul->n = 0;
}
