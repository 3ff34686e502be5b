/* kernel/console.h - output devices printk writes to.
 *
 * A console is registered once and never removed. Writers hold console_lock
 * (taken by printk, irq-safe), so a console's write() needs no lock of its
 * own. panic() breaks the lock (console_force_unlock) because the CPU that
 * held it may have been stopped by NMI mid-message.
 */
#ifndef PAGODA_CONSOLE_H
#define PAGODA_CONSOLE_H

#include "kernel/types.h"

struct console {
	const char *name;
	void (*write)(struct console *con, const char *s, size_t n);
	struct console *next;
};

void console_register(struct console *con);
void console_write(const char *s, size_t n);   /* takes console_lock */
void console_write_locked(const char *s, size_t n);
void console_force_unlock(void);

/* kernel/serial.c: COM1, 115200 8N1. */
void serial_init(void);
/* Poll COM1 for one received byte; -1 when none. */
int serial_getc(void);

#endif
