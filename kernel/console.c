/* SPDX-License-Identifier: MIT */
/* kernel/console.c - the list of consoles, the lock that serialises them,
 * and the log they replay (rules in console.h). */
#include "kernel/console.h"
#include "kernel/spinlock.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "arch/x86_64/percpu.h"

static struct console *consoles;
static spinlock_t console_lock = SPINLOCK_INIT("console");

/* The log ring: log_head counts every byte ever written, so the ring holds
 * bytes [log_head - LOG_BUF_SIZE, log_head) once it has wrapped. */
static char log_buf[LOG_BUF_SIZE];
static u64 log_head;

/* An NMI's bytes, per CPU (console.h): head moves only in this CPU's NMI
 * handler, tail only under console_lock; both count every byte ever. */
#define NMI_BUF_SIZE 1024
struct nmi_buf {
	char buf[NMI_BUF_SIZE];
	u64 head, tail, dropped;
};
static struct nmi_buf nmi_bufs[MAX_CPUS];
static bool console_debug_nmi_lock;

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

/* In an NMI: into this CPU's buffer, and to the NMI-safe consoles now. */
static void console_write_nmi(const char *s, size_t n)
{
	struct nmi_buf *b = &nmi_bufs[smp_processor_id()];
	u64 head = b->head;
	u64 tail = __atomic_load_n(&b->tail, __ATOMIC_ACQUIRE);
	size_t fit = MIN(n, NMI_BUF_SIZE - (head - tail));
	for (size_t i = 0; i < fit; i++)
		b->buf[(head + i) % NMI_BUF_SIZE] = s[i];
	if (fit < n)
		__atomic_add_fetch(&b->dropped, n - fit, __ATOMIC_RELAXED);
	/* The bytes before the new head: the drainer reads them after this. */
	__atomic_store_n(&b->head, head + fit, __ATOMIC_RELEASE);
	for (struct console *c = consoles; c; c = c->next)
		if (c->nmi_safe)
			c->write(c, s, n);
}

/* Under console_lock: a full NMI buffer is said, never silent. */
static void report_nmi_dropped(u32 cpu, u64 lost)
{
	char msg[80];
	int n = snprintf(msg, sizeof(msg), "console: %lu bytes of NMI output lost on CPU %u "
			 "(buffer full)\n", lost, cpu);
	log_append(msg, (size_t)n);
	for (struct console *c = consoles; c; c = c->next)
		c->write(c, msg, (size_t)n);
}

/* Under console_lock: every CPU's NMI bytes into the log and to the
 * consoles that did not get them (the NMI-safe ones did). */
static void nmi_bufs_drain(void)
{
	u32 cpu;
	for_each_possible_cpu(cpu) {
		struct nmi_buf *b = &nmi_bufs[cpu];
		u64 head = __atomic_load_n(&b->head, __ATOMIC_ACQUIRE);
		u64 tail = b->tail;
		while (tail < head) {
			u64 off = tail % NMI_BUF_SIZE;
			u64 len = MIN(head - tail, NMI_BUF_SIZE - off);
			log_append(&b->buf[off], len);
			for (struct console *c = consoles; c; c = c->next)
				if (!c->nmi_safe)
					c->write(c, &b->buf[off], len);
			tail += len;
		}
		__atomic_store_n(&b->tail, tail, __ATOMIC_RELEASE);
		u64 lost = __atomic_exchange_n(&b->dropped, 0, __ATOMIC_RELAXED);
		if (lost)
			report_nmi_dropped(cpu, lost);
	}
}

void console_write_locked(const char *s, size_t n)
{
	nmi_bufs_drain();
	log_append(s, n);
	for (struct console *c = consoles; c; c = c->next)
		c->write(c, s, n);
}

u64 console_lock_irqsave(void)
{
	return spin_lock_irqsave(&console_lock);
}

void console_unlock_irqrestore(u64 flags)
{
	nmi_bufs_drain();
	spin_unlock_irqrestore(&console_lock, flags);
}

void console_write(const char *s, size_t n)
{
	/* No lock on the CPU that panics, nor in an NMI, nor on a CPU that
	 * holds it already (an exception inside a console's write): console.h. */
	if (panic_on_this_cpu()) {
		console_write_locked(s, n);
		return;
	}
	if (in_nmi() && !console_debug_nmi_lock) {
		console_write_nmi(s, n);
		return;
	}
	if (spin_is_held_by_me(&console_lock)) {
		console_write_locked(s, n);
		return;
	}
	u64 f = console_lock_irqsave();
	console_write_locked(s, n);
	console_unlock_irqrestore(f);
}

void console_nmi_init(void)
{
	cmdline_debug_switch("console", "console_debug_nmi_lock", &console_debug_nmi_lock,
			     "printk in an NMI takes the console lock");
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
