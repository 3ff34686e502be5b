/* mm/test_user.c - see test_user.h. */
#include "mm/test_user.h"
#include "mm/pgtable.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "arch/x86_64/cpu.h"

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_PROT 1UL
#define PF_WRITE 2UL

int test_user_access(struct mm_struct *mm, u64 addr, void *buf, size_t n, bool write)
{
	for (int tries = 0; tries < 4; tries++) {
		int r = write ? copy_to_user(addr, buf, n) : copy_from_user(buf, addr, n);
		if (r == 0)
			return 0;
		/* The error code the CPU would have pushed: a read fails only
		 * on a non-present entry; a write may hit a read-only one. (The
		 * entry is read after the fact, so another CPU may have filled
		 * it meanwhile: for a read that must not turn into PF_PROT.) */
		/* Under the lock: a zap elsewhere may free the table. */
		spin_lock(&mm->page_table_lock);
		u64 e = pgtable_leaf(mm, addr);
		spin_unlock(&mm->page_table_lock);
		u64 err = write ? PF_WRITE | (pte_present(e) ? PF_PROT : 0) : 0;
		r = handle_mm_fault(mm, addr, err);
		if (r)
			return r;
	}
	return -EFAULT;
}

int test_put_u64(struct mm_struct *mm, u64 addr, u64 v)
{
	return test_user_access(mm, addr, &v, 8, true);
}

int test_get_u64(struct mm_struct *mm, u64 addr, u64 *v)
{
	return test_user_access(mm, addr, v, 8, false);
}

int test_read_nofault(u64 addr, u64 *v)
{
	u64 f = local_irq_save();
	int r = copy_from_user(v, addr, 8);
	local_irq_restore(f);
	return r ? -EFAULT : 0;
}

int test_write_nofault(u64 addr, u64 v)
{
	u64 f = local_irq_save();
	int r = copy_to_user(addr, &v, 8);
	local_irq_restore(f);
	return r ? -EFAULT : 0;
}
