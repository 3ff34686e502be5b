/* SPDX-License-Identifier: MIT */
/* mm/process_vm_access.c - process_vm_readv(2): copy from another process's
 * memory (or our own) into ours, as debuggers and MPI libraries do.
 *
 * The remote pages are reached through read-only pins (mm/gup.h), never
 * through the remote page tables loaded on this CPU: a pin of a private page
 * that fork shares is unshared first, so what we copy is the page the
 * process really maps (docs/cow.md). A bounce page carries the bytes from
 * the pinned page to our own user memory, since copy_to_user may fault and
 * sleep, and we hold no lock of the other address space meanwhile.
 *
 * Linux's order of checks (mm/process_vm_access.c): flags; the local and the
 * remote vectors (at most UIO_MAXIOV entries, readable, no negative length);
 * the pid (ESRCH). It returns the bytes copied, or the error that stopped it
 * if nothing was copied (EFAULT for an unmapped remote or local address).
 */
#include "kernel/proc.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "mm/mm.h"
#include "mm/gup.h"
#include "mm/slab.h"
#include "mm/buddy.h"

/* Copy n bytes from buf to the local vector at (*li, *loff). false when a
 * local address faults. */
static bool copy_to_local(const struct iovec_k *lv, u64 lcnt, u64 *li, u64 *loff,
			  const u8 *buf, u64 n)
{
	while (n) {
		while (*li < lcnt && *loff == (u64)lv[*li].len) {
			(*li)++;
			*loff = 0;
		}
		if (*li >= lcnt)
			return true;    /* the local side is full: caller stops */
		u64 k = MIN(n, (u64)lv[*li].len - *loff);
		if (copy_to_user(lv[*li].base + *loff, buf, k))
			return false;
		*loff += k;
		buf += k;
		n -= k;
	}
	return true;
}

static long sys_process_vm_readv(u64 upid, u64 lvec, u64 liovcnt, u64 rvec, u64 riovcnt, u64 flags)
{
	if (flags != 0)
		return -EINVAL;
	long err = 0;
	struct iovec_k *lv = import_iovec(lvec, liovcnt, &err);
	if (!lv)
		return err;
	struct iovec_k *rv = import_iovec(rvec, riovcnt, &err);
	if (!rv) {
		kfree(lv);
		return err;
	}
	long pid = (s32)upid;
	struct mm_struct *mm = pid > 0 ? proc_get_mm((u32)pid) : NULL;
	u8 *bounce = NULL;
	u64 total = 0, local_room = 0;
	if (!mm) {
		err = -ESRCH;
		goto out;
	}
	bounce = get_free_pages(GFP_KERNEL, 0);
	if (!bounce) {
		err = -ENOMEM;
		goto out;
	}
	for (u64 i = 0; i < liovcnt; i++)      /* saturating: lengths may be huge */
		local_room = (u64)lv[i].len > ~0UL - local_room ? ~0UL : local_room + (u64)lv[i].len;
	u64 li = 0, loff = 0;
	for (u64 r = 0; r < riovcnt && !err && total < local_room; r++) {
		u64 done = 0, len = MIN((u64)rv[r].len, local_room - total);
		while (done < len) {
			u64 a = rv[r].base + done;
			u64 n = MIN(len - done, PAGE_SIZE - (a & (PAGE_SIZE - 1)));
			u64 got = access_remote_vm_read(mm, a, bounce, n);
			if (!copy_to_local(lv, liovcnt, &li, &loff, bounce, got)) {
				err = -EFAULT;
				break;
			}
			total += got;
			done += got;
			if (got < n) {
				err = -EFAULT;  /* an unmapped remote page */
				break;
			}
		}
	}
out:
	if (bounce)
		free_pages_addr(bounce, 0);
	if (mm)
		mm_put(mm);
	kfree(lv);
	kfree(rv);
	return total ? (long)total : err;
}

void process_vm_init(void)
{
	syscall_register(SYS_process_vm_readv, (void (*)(void))sys_process_vm_readv);
}
