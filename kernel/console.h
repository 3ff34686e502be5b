/* SPDX-License-Identifier: MIT */
/* kernel/console.h - output devices printk writes to, and the log they
 * replay.
 *
 * A console is registered once and never removed. Writers hold console_lock
 * (taken by printk, irq-safe), so a console's write() needs no lock of its
 * own.
 *
 * The log: everything written to the consoles also goes into a ring buffer
 * in RAM (LOG_BUF_SIZE bytes, the oldest lines dropped first), from the
 * first line printk prints. console_register() replays it to the new
 * console before anything else reaches it, so a screen console that comes
 * up late (the framebuffer needs the boot information, or the kernel's own
 * page tables) still shows what serial saw. Replay starts at a line start.
 *
 * Nesting and panic: console_write takes no lock on the CPU that panics
 * (panic_on_this_cpu()), whose lock may be held by a CPU that panic()
 * stopped by NMI - the other CPUs are stopped then, so no one else writes -
 * nor on a CPU that holds it already: an exception or an NMI that came in
 * the middle of a console's write. Taking it there would be a recursive
 * lock, itself a panic, and the exception's report would be lost; written
 * straight through, the report reaches every console, interleaved with the
 * interrupted line (the consoles' write() must survive being re-entered:
 * fbcon.h). panic() also resets the lock (console_force_unlock) for the
 * code after it that takes it.
 *
 * NMI: console_write never takes console_lock in an NMI handler, nor in
 * the machine-check handler (both count in_nmi(), arch/x86_64/percpu.h). An NMI
 * can arrive on a CPU that holds the lock (a self-deadlock if it waited),
 * or while another CPU holds it and waits for this one. The NMI's bytes go
 * to this CPU's NMI buffer (one producer: NMIs do not nest; one consumer:
 * the lock holder, which drains every CPU's buffer into the log and the
 * other consoles before its own bytes and before it unlocks), and
 * straight to the consoles marked nmi_safe (serial: a polled port, whose
 * write only stores bytes, so an NMI's line may interleave with a line
 * another CPU is writing - the price of never waiting). A full buffer
 * drops bytes and counts them. Linux did the same with printk_nmi's per-CPU
 * buffers (before its lockless ring buffer); "console_debug_nmi_lock" makes
 * the NMI path take the lock like any other, for the negative control.
 */
#ifndef PAGODA_CONSOLE_H
#define PAGODA_CONSOLE_H

#include "kernel/types.h"

#define LOG_BUF_SIZE (64 * 1024)

struct console {
	const char *name;
	void (*write)(struct console *con, const char *s, size_t n);
	/* write() may run at any moment, even inside another write() on this
	 * or another CPU, without console_lock: an NMI writes straight to it. */
	bool nmi_safe;
	struct console *next;
};

/* Add con and replay the log to it (under console_lock). */
void console_register(struct console *con);
/* Replay the log to con, which is not registered (under console_lock):
 * what console_register does first; the tests call it on their own. */
void console_replay(struct console *con);
void console_write(const char *s, size_t n);   /* takes console_lock */
void console_write_locked(const char *s, size_t n);
void console_force_unlock(void);
/* Hold console_lock (and drain the NMI buffers on release), for code that
 * must keep the consoles still: the NMI test holds it while an NMI prints. */
u64 console_lock_irqsave(void);
void console_unlock_irqrestore(u64 flags);
/* Read "console_debug_nmi_lock" from the command line (boot, once). */
void console_nmi_init(void);
/* Copy the newest bytes of the log (up to size, from a line start when the
 * log holds more) into buf; returns the count (tests). */
size_t console_log_tail(char *buf, size_t size);

/* kernel/panic.c: this CPU is the one reporting a panic. */
bool panic_on_this_cpu(void);
/* kernel/panic.c: if set, panic() calls it after the report, before it
 * exits QEMU (tests: check what reached the screen). */
extern void (*panic_report_hook)(void);

/* kernel/serial.c: COM1, 115200 8N1. */
void serial_init(void);
/* Poll COM1 for one received byte; -1 when none. */
int serial_getc(void);

#endif
