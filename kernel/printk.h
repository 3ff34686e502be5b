/* SPDX-License-Identifier: MIT */
/* kernel/printk.h - formatted output to every console, with log levels.
 *
 * Levels are a prefix string, as in Linux: printk(KERN_ERR "x=%d\n", x).
 * Messages above console_loglevel (command line "loglevel=N", default 6:
 * everything but debug) are not printed. printk may be called from any
 * context, interrupts included; it serialises consoles with one irq-safe lock.
 */
#ifndef PAGODA_PRINTK_H
#define PAGODA_PRINTK_H

#include "kernel/types.h"

#define KERN_EMERG "\0010"
#define KERN_ALERT "\0011"
#define KERN_CRIT "\0012"
#define KERN_ERR "\0013"
#define KERN_WARNING "\0014"
#define KERN_NOTICE "\0015"
#define KERN_INFO "\0016"
#define KERN_DEBUG "\0017"

extern int console_loglevel;

int printk(const char *fmt, ...) __printf(1, 2);
int vprintk(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#define pr_err(...) printk(KERN_ERR __VA_ARGS__)
#define pr_warn(...) printk(KERN_WARNING __VA_ARGS__)
#define pr_info(...) printk(KERN_INFO __VA_ARGS__)
#define pr_debug(...) printk(KERN_DEBUG __VA_ARGS__)

/* Stop the machine: message and backtrace on every console, all CPUs halted
 * (NMI), and under test=/poweroff a failing exit code. kernel/panic.c */
__noreturn void panic(const char *fmt, ...) __printf(1, 2);

#define BUG_ON(cond)                                                          \
	do {                                                                  \
		if (unlikely(cond))                                           \
			panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
