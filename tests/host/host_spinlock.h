/* SPDX-License-Identifier: MIT */
/* tests/host/host_spinlock.h - spinlocks for kernel code compiled into a
 * single-threaded host test: a lock is a flag, and taking a held lock or
 * releasing a free one fails the running case (it would deadlock, or is a
 * locking bug, in the kernel). Include once, after tests/host/htest.h, in a
 * test whose sources take spinlocks. */
#ifndef PAGODA_HOST_SPINLOCK_H
#define PAGODA_HOST_SPINLOCK_H

void __spin_init(spinlock_t *l, const char *name, const char *class_name,
		 const struct lock_class_key *key)
{
	(void)class_name;       /* no lock validator on the host */
	(void)key;
	l->locked = 0;
	l->name = name;
}
u64 spin_lock_irqsave(spinlock_t *l) { HT_EXPECT(!l->locked); l->locked = 1; return 0; }
void spin_unlock_irqrestore(spinlock_t *l, u64 f) { (void)f; HT_EXPECT(l->locked); l->locked = 0; }
void spin_lock(spinlock_t *l) { HT_EXPECT(!l->locked); l->locked = 1; }
void spin_unlock(spinlock_t *l) { HT_EXPECT(l->locked); l->locked = 0; }

#endif
