/* SPDX-License-Identifier: MIT */
/* arch/x86_64/pit.c - 8254 channel 2 as a one-shot stopwatch. See pit.h. */
#include "arch/x86_64/pit.h"
#include "arch/x86_64/cpu.h"

#define PIT_CH2_DATA 0x42
#define PIT_COMMAND 0x43
#define PORT_B 0x61             /* "system control port B" on the PC */
#define PORT_B_GATE2 0x01       /* channel 2 gate */
#define PORT_B_SPEAKER 0x02     /* speaker data enable: keep off */

/* Command byte: channel 2 (bits 6-7 = 10), access lobyte then hibyte
 * (bits 4-5 = 11), mode 0 "interrupt on terminal count" (bits 1-3 = 000),
 * binary counting. In mode 0 the output goes low when the count is written
 * and rises when the counter reaches zero, counting only while the gate is
 * high. */
#define PIT_CMD_CH2_MODE0 0xB0
/* Counter latch command for channel 2 (access bits 00): the next two reads
 * return the count as it was at the latch. */
#define PIT_CMD_CH2_LATCH 0x80

void pit_ch2_start(u16 count)
{
	u8 b = inb(PORT_B) & (u8)~(PORT_B_SPEAKER | PORT_B_GATE2);
	outb(PORT_B, b);                        /* gate closed while we program */
	outb(PIT_COMMAND, PIT_CMD_CH2_MODE0);
	outb(PIT_CH2_DATA, count & 0xFF);
	outb(PIT_CH2_DATA, count >> 8);
	outb(PORT_B, b | PORT_B_GATE2);         /* open the gate: counting starts */
}

u16 pit_ch2_read(void)
{
	outb(PIT_COMMAND, PIT_CMD_CH2_LATCH);
	u8 lo = inb(PIT_CH2_DATA);
	u8 hi = inb(PIT_CH2_DATA);
	return (u16)(lo | (hi << 8));
}

void pit_ch2_stop(void)
{
	outb(PORT_B, inb(PORT_B) & (u8)~(PORT_B_SPEAKER | PORT_B_GATE2));
}
