/* SPDX-License-Identifier: MIT */
/* kernel/rwsem.c - see rwsem.h. */
#include "kernel/rwsem.h"
#include "kernel/printk.h"

/* The wait queues' locks of all rwsems: one class (rwsem.h). */
static struct lock_class_key wait_lock_key;

void __rwsem_init(struct rwsem *s, const char *name, const char *class_name,
		  const struct lock_class_key *key)
{
	waitq_init(&s->wq, name);
	lockdep_init_map(&s->wq.lock.dep_map, "rwsem->wait_lock", &wait_lock_key, 0);
	s->readers = 0;
	s->writers_waiting = 0;
	lockdep_init_map(&s->dep_map, class_name, key, 0);
}

/* The validator hears of an acquisition before it waits, so that a
 * deadlock is reported rather than slept in. */
void down_read(struct rwsem *s)
{
	lock_acquire(&s->dep_map, s, LD_SLEEP, LD_READ);
	u64 f = spin_lock_irqsave(&s->wq.lock);
	while (s->readers < 0 || s->writers_waiting)
		sleep_on(&s->wq);
	s->readers++;
	spin_unlock_irqrestore(&s->wq.lock, f);
}

bool down_read_trylock(struct rwsem *s)
{
	u64 f = spin_lock_irqsave(&s->wq.lock);
	bool ok = s->readers >= 0 && !s->writers_waiting;
	if (ok)
		s->readers++;
	spin_unlock_irqrestore(&s->wq.lock, f);
	if (ok)
		lock_acquire(&s->dep_map, s, LD_SLEEP, LD_READ | LD_TRY);
	return ok;
}

void up_read(struct rwsem *s)
{
	lock_release(&s->dep_map, s, LD_SLEEP);
	u64 f = spin_lock_irqsave(&s->wq.lock);
	BUG_ON(s->readers <= 0);
	bool last = --s->readers == 0;
	spin_unlock_irqrestore(&s->wq.lock, f);
	if (last)
		wake_up_all(&s->wq);
}

static void do_down_write(struct rwsem *s)
{
	u64 f = spin_lock_irqsave(&s->wq.lock);
	s->writers_waiting++;
	while (s->readers != 0)
		sleep_on(&s->wq);
	s->writers_waiting--;
	s->readers = -1;
	spin_unlock_irqrestore(&s->wq.lock, f);
}

void down_write(struct rwsem *s)
{
	lock_acquire(&s->dep_map, s, LD_SLEEP, 0);
	do_down_write(s);
}

void down_write_nested(struct rwsem *s, u32 subclass)
{
	lock_acquire(&s->dep_map, s, LD_SLEEP, LD_NESTED(subclass));
	do_down_write(s);
}

void up_write(struct rwsem *s)
{
	lock_release(&s->dep_map, s, LD_SLEEP);
	u64 f = spin_lock_irqsave(&s->wq.lock);
	BUG_ON(s->readers != -1);
	s->readers = 0;
	spin_unlock_irqrestore(&s->wq.lock, f);
	wake_up_all(&s->wq);
}
