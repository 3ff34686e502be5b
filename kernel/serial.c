/* SPDX-License-Identifier: MIT */
/* kernel/serial.c - 16550 UART on COM1 (0x3F8): the console the test harness
 * reads. Polled, not interrupt-driven, so it works in panic and early boot. */
#include "kernel/console.h"
#include "arch/x86_64/cpu.h"

#define COM1 0x3F8
#define UART_THR 0      /* transmit holding */
#define UART_RBR 0      /* receive buffer */
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

#define MCR_DTR_RTS_OUT2 0x0B   /* normal operation, OUT2 (IRQ line) on */
#define MCR_LOOPBACK 0x1E       /* transmitter wired to the receiver */
#define LOOPBACK_PROBE 0xAE

static bool serial_present;

static void serial_putc(char c)
{
	/* Bounded wait: a missing or wedged UART must not hang the kernel. A
	 * transmitter that never empties is given up on, so a dead port costs
	 * one timeout, not one per character. */
	int i;
	for (i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THR_EMPTY); i++)
		cpu_relax();
	if (i == 100000) {
		serial_present = false;
		return;
	}
	outb(COM1 + UART_THR, (u8)c);
}

static void serial_write(struct console *con, const char *s, size_t n)
{
	(void)con;
	for (size_t i = 0; i < n && serial_present; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

/* NMI-safe (console.h): a write only polls and stores to the port. */
static struct console serial_console = { .name = "ttyS0", .write = serial_write, .nmi_safe = true };

/* Is there a 16550 at COM1? A missing port may read 0xFF (a floating bus)
 * or 0x00 (some chipsets), and either would pass a check of a status
 * register; so send a byte to ourselves in loopback mode, as Linux's
 * 8250 probe does, and see it come back. Bounded: a dozen port reads. */
static bool uart_loopback_works(void)
{
	outb(COM1 + UART_MCR, MCR_LOOPBACK);
	(void)inb(COM1 + UART_RBR);             /* drop a stale byte */
	outb(COM1 + UART_THR, LOOPBACK_PROBE);
	for (int i = 0; i < 10; i++) {
		if (inb(COM1 + UART_LSR) & LSR_DATA_READY)
			return inb(COM1 + UART_RBR) == LOOPBACK_PROBE;
		io_wait();
	}
	return false;
}

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80);    /* DLAB: set the divisor */
	outb(COM1 + 0, 1);              /* 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03);    /* 8N1 */
	outb(COM1 + UART_FCR, 0xC7);    /* FIFO on, cleared */
	serial_present = uart_loopback_works();
	outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
	/* No UART (many new PCs): the screen is then the only console. */
	if (serial_present)
		console_register(&serial_console);
}

int serial_getc(void)
{
	if (!serial_present || !(inb(COM1 + UART_LSR) & LSR_DATA_READY))
		return -1;
	return inb(COM1 + UART_RBR);
}
