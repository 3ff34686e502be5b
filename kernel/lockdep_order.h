/* kernel/lockdep_order.h - the documented lock order, as the validator
 * checks it (kernel/lockdep.h, rule 2). One row per lock class, by the
 * class's name; a lock may be taken while holding only locks of a lower
 * rank. docs/locking.md has the same table with what each lock protects;
 * tools/check-lock-order (make host-test) fails when the two differ.
 * Included by kernel/lockdep.c only. */
#ifndef PAGODA_LOCKDEP_ORDER_H
#define PAGODA_LOCKDEP_ORDER_H

static const struct {
	const char *name;
	u16 rank;
} lock_order[] = {
	{ "mm->mmap_lock", 10 },
};

#endif
