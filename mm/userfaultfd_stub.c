/* mm/userfaultfd_stub.c - TEMPORARY stand-ins for the memory manager's side
 * of userfaultfd (mm/userfaultfd.h), so that the file side builds and its
 * tests run before mm/userfaultfd.c exists. Delete this file when it lands.
 *
 * They only keep the VMA bookkeeping, coarsely: whole VMAs are marked (no
 * split at the range's ends) and no page-table entry is ever protected, so
 * no fault ever reaches handle_userfault() through them. Nothing in the
 * file side depends on this behaviour.
 */
#include "mm/userfaultfd.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "kernel/errno.h"

int uffd_register_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx,
			u64 start, u64 end, u32 vm_flags)
{
	down_write(&mm->mmap_lock);
	struct vma_set *set = mm->vma_root;
	int err = -EINVAL;
	for (u32 i = vma_index(set, start); i < set->nr && set->v[i]->start < end; i++) {
		struct vm_area *v = set->v[i];
		if (v->flags & VM_SHARED) {
			err = -EINVAL;
			goto out;
		}
		if (v->uffd_ctx && v->uffd_ctx != ctx) {
			err = -EBUSY;
			goto out;
		}
		err = 0;
	}
	if (err)
		goto out;
	for (u32 i = vma_index(set, start); i < set->nr && set->v[i]->start < end; i++) {
		set->v[i]->flags |= vm_flags;
		set->v[i]->uffd_ctx = ctx;
	}
out:
	up_write(&mm->mmap_lock);
	return err;
}

int uffd_unregister_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx,
			  u64 start, u64 end)
{
	down_write(&mm->mmap_lock);
	struct vma_set *set = mm->vma_root;
	int err = -EINVAL;
	for (u32 i = vma_index(set, start); i < set->nr && set->v[i]->start < end; i++) {
		struct vm_area *v = set->v[i];
		err = 0;
		if (v->uffd_ctx == ctx) {
			v->flags &= ~(u32)(VM_UFFD_MISSING | VM_UFFD_WP);
			v->uffd_ctx = NULL;
		}
	}
	up_write(&mm->mmap_lock);
	return err;
}

void uffd_release_mm(struct mm_struct *mm, struct userfaultfd_ctx *ctx)
{
	down_write(&mm->mmap_lock);
	struct vma_set *set = mm->vma_root;
	for (u32 i = 0; i < set->nr; i++) {
		struct vm_area *v = set->v[i];
		if (v->uffd_ctx == ctx) {
			v->flags &= ~(u32)(VM_UFFD_MISSING | VM_UFFD_WP);
			v->uffd_ctx = NULL;
		}
	}
	up_write(&mm->mmap_lock);
}

int uffd_wp_range(struct mm_struct *mm, u64 start, u64 end, bool wp)
{
	(void)wp;
	down_read(&mm->mmap_lock);
	struct vma_set *set = mm->vma_root;
	u64 a = start;
	for (u32 i = vma_index(set, start); i < set->nr && a < end; i++) {
		struct vm_area *v = set->v[i];
		if (v->start > a || !(v->flags & VM_UFFD_WP))
			break;
		a = v->end;
	}
	up_read(&mm->mmap_lock);
	return a >= end ? 0 : -ENOENT;
}

/* Tests that need real protection skip that part while this is linked. */
const bool uffd_mm_is_stub = true;
