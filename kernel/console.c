/* kernel/console.c - the list of consoles and the lock that serialises them. */
#include "kernel/console.h"
#include "kernel/spinlock.h"

static struct console *consoles;
static spinlock_t console_lock = SPINLOCK_INIT("console");

void console_register(struct console *con)
{
	u64 f = spin_lock_irqsave(&console_lock);
	struct console **pp = &consoles;
	while (*pp)
		pp = &(*pp)->next;
	con->next = NULL;
	*pp = con;
	spin_unlock_irqrestore(&console_lock, f);
}

void console_write_locked(const char *s, size_t n)
{
	for (struct console *c = consoles; c; c = c->next)
		c->write(c, s, n);
}

void console_write(const char *s, size_t n)
{
	u64 f = spin_lock_irqsave(&console_lock);
	console_write_locked(s, n);
	spin_unlock_irqrestore(&console_lock, f);
}

void console_force_unlock(void)
{
	spin_init(&console_lock, "console");
}
