/* kernel/rwsem.h - a sleeping reader/writer lock (Linux: rw_semaphore).
 * Many readers or one writer; a waiting writer blocks new readers so it is
 * not starved. May sleep: never take it with a spinlock held or in an
 * interrupt handler. Implemented in kernel/rwsem.c on a wait queue. */
#ifndef PAGODA_RWSEM_H
#define PAGODA_RWSEM_H

#include "kernel/types.h"
#include "kernel/sched.h"

struct rwsem {
	struct waitq wq;        /* its lock protects the fields below */
	s32 readers;            /* >0: readers inside; -1: a writer inside */
	u32 writers_waiting;
};

void rwsem_init(struct rwsem *s, const char *name);
void down_read(struct rwsem *s);
/* Enter as a reader only if that needs no wait (no writer inside or
 * waiting): true if entered. Never sleeps. */
bool down_read_trylock(struct rwsem *s);
void up_read(struct rwsem *s);
void down_write(struct rwsem *s);
void up_write(struct rwsem *s);

#endif
