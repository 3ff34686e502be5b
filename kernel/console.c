/* SPDX-License-Identifier: MIT */
/* kernel/console.c - the list of consoles, the lock that serialises them,
 * and the log they replay (rules in console.h). */
#include "kernel/console.h"
#include "kernel/spinlock.h"

static struct console *consoles;
static spinlock_t console_lock = SPINLOCK_INIT("console");

/* The log ring: log_head counts every byte ever written, so the ring holds
 * bytes [log_head - LOG_BUF_SIZE, log_head) once it has wrapped. */
static char log_buf[LOG_BUF_SIZE];
static u64 log_head;

static void log_append(const char *s, size_t n)
{
	/* Claim the bytes first: a write nested inside this one (console.h)
	 * then gets bytes of its own. */
	u64 at = log_head;
	log_head += n;
	for (size_t i = 0; i < n; i++)
		log_buf[(at + i) % LOG_BUF_SIZE] = s[i];
}

/* The first byte of the log still held, moved on to a line start when the
 * ring has wrapped (the oldest line is cut). */
static u64 log_start(void)
{
	if (log_head <= LOG_BUF_SIZE)
		return 0;
	u64 i = log_head - LOG_BUF_SIZE;
	while (i < log_head && log_buf[i % LOG_BUF_SIZE] != '\n')
		i++;
	return i < log_head ? i + 1 : log_head;
}

/* Write log bytes [from, log_head) to con, in at most two pieces. */
static void log_replay(struct console *con, u64 from)
{
	while (from < log_head) {
		u64 off = from % LOG_BUF_SIZE;
		u64 n = MIN(log_head - from, LOG_BUF_SIZE - off);
		con->write(con, &log_buf[off], n);
		from += n;
	}
}

void console_register(struct console *con)
{
	u64 f = spin_lock_irqsave(&console_lock);
	log_replay(con, log_start());
	struct console **pp = &consoles;
	while (*pp)
		pp = &(*pp)->next;
	con->next = NULL;
	*pp = con;
	spin_unlock_irqrestore(&console_lock, f);
}

void console_replay(struct console *con)
{
	u64 f = spin_lock_irqsave(&console_lock);
	log_replay(con, log_start());
	spin_unlock_irqrestore(&console_lock, f);
}

void console_write_locked(const char *s, size_t n)
{
	log_append(s, n);
	for (struct console *c = consoles; c; c = c->next)
		c->write(c, s, n);
}

void console_write(const char *s, size_t n)
{
	/* No lock on the CPU that panics, nor on one that holds it already
	 * (an exception or NMI inside a console's write): console.h. */
	if (panic_on_this_cpu() || spin_is_held_by_me(&console_lock)) {
		console_write_locked(s, n);
		return;
	}
	u64 f = spin_lock_irqsave(&console_lock);
	console_write_locked(s, n);
	spin_unlock_irqrestore(&console_lock, f);
}

void console_force_unlock(void)
{
	spin_init(&console_lock, "console");
}

size_t console_log_tail(char *buf, size_t size)
{
	u64 f = spin_lock_irqsave(&console_lock);
	u64 from = log_start();
	if (log_head - from > size) {
		from = log_head - size;
		while (from < log_head && log_buf[(from - 1) % LOG_BUF_SIZE] != '\n')
			from++;
	}
	size_t n = 0;
	for (; from < log_head; from++)
		buf[n++] = log_buf[from % LOG_BUF_SIZE];
	spin_unlock_irqrestore(&console_lock, f);
	return n;
}
