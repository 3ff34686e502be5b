/* kernel/rwsem.c - see rwsem.h. */
#include "kernel/rwsem.h"
#include "kernel/printk.h"

void rwsem_init(struct rwsem *s, const char *name)
{
	waitq_init(&s->wq, name);
	s->readers = 0;
	s->writers_waiting = 0;
}

void down_read(struct rwsem *s)
{
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
	return ok;
}

void up_read(struct rwsem *s)
{
	u64 f = spin_lock_irqsave(&s->wq.lock);
	BUG_ON(s->readers <= 0);
	bool last = --s->readers == 0;
	spin_unlock_irqrestore(&s->wq.lock, f);
	if (last)
		wake_up_all(&s->wq);
}

void down_write(struct rwsem *s)
{
	u64 f = spin_lock_irqsave(&s->wq.lock);
	s->writers_waiting++;
	while (s->readers != 0)
		sleep_on(&s->wq);
	s->writers_waiting--;
	s->readers = -1;
	spin_unlock_irqrestore(&s->wq.lock, f);
}

void up_write(struct rwsem *s)
{
	u64 f = spin_lock_irqsave(&s->wq.lock);
	BUG_ON(s->readers != -1);
	s->readers = 0;
	spin_unlock_irqrestore(&s->wq.lock, f);
	wake_up_all(&s->wq);
}
