/* SPDX-License-Identifier: MIT */
/* kernel/rwsem.h - a sleeping reader/writer lock (Linux: rw_semaphore).
 * Many readers or one writer; a waiting writer blocks new readers so it is
 * not starved. May sleep: never take it with a spinlock held or in an
 * interrupt handler. Implemented in kernel/rwsem.c on a wait queue.
 *
 * The lock validator (kernel/lockdep.h) sees it as a sleeping lock held by
 * the thread: rwsem_init() is a macro whose call site names the class (all
 * mm's mmap_locks are one class). Because a queued writer blocks new
 * readers, taking the same rwsem for reading twice can deadlock, and the
 * validator reports it. down_write_nested(s, 1) takes s as subclass 1, for
 * the one caller that holds two rwsems of a class in a fixed order (fork:
 * parent's mmap_lock, then the child's). The wait queue's own spinlock is
 * one class for every rwsem, "rwsem->wait_lock".
 */
#ifndef PAGODA_RWSEM_H
#define PAGODA_RWSEM_H

#include "kernel/types.h"
#include "kernel/sched.h"
#include "kernel/lockdep.h"

struct rwsem {
	struct waitq wq;        /* its lock protects the fields below */
	s32 readers;            /* >0: readers inside; -1: a writer inside */
	u32 writers_waiting;
	struct lockdep_map dep_map;
};

#define rwsem_init(s, name)                                                   \
	do {                                                                  \
		static struct lock_class_key __key;                           \
		__rwsem_init((s), (name), #s, &__key);                        \
	} while (0)
void __rwsem_init(struct rwsem *s, const char *name, const char *class_name,
		  const struct lock_class_key *key);
void down_read(struct rwsem *s);
/* Enter as a reader only if that needs no wait (no writer inside or
 * waiting): true if entered. Never sleeps. */
bool down_read_trylock(struct rwsem *s);
void up_read(struct rwsem *s);
void down_write(struct rwsem *s);
void down_write_nested(struct rwsem *s, u32 subclass);
void up_write(struct rwsem *s);

#endif
