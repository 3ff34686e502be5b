/* SPDX-License-Identifier: MIT */
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
	{ "scan_serial",            10 },
	{ "f->pos_lock",            12 },
	{ "p->files_sem",           14 },
	{ "pp->mutex",              16 },
	{ "m->lock",                17 },
	{ "mm->mmap_lock",          20 },
	{ "s->mappers_lock",        30 },
	{ "vma->vm_lock",           40 },
	{ "mm->page_table_lock",    50 },
	{ "ptl",                    60 },
	{ "s->lock",                70 },
	{ "deferred_split",         72 },
	{ "slots_lock",             74 },
	{ "uffd_ctx_list",          76 },
	{ "ioremap_lock",           78 },
	{ "kstack_lock",            79 },
	{ "c->lock",                80 },
	{ "pcp_caches[cpu].lock",   82 },
	{ "zone.lock",              84 },
	{ "rcu_gp",                 90 },
	{ "rc->lock",               92 },
	{ "alarms",                 93 },
	{ "timers",                 94 },
	{ "wq->lock",              110 },
	{ "rwsem->wait_lock",      112 },
	{ "p->siglock",            115 },
	{ "thread_table",          120 },
	{ "runqueues[c].lock",     130 },
	{ "call_queues[i].lock",   140 },
	/* Last: printk may be called holding any lock, and the console
	 * lock takes none inside it. */
	{ "console",               200 },
	{ "console_lock",          200 },
};

#endif
