/* SPDX-License-Identifier: MIT */
/* tests/bench/kernel/bench_fbcon.c - "bench=fbcon": what a printed line
 * costs the screen console once the screen is full (every line scrolls), in
 * TSC cycles and in bytes stored to the screen, with the flush of changed
 * spans (kernel/fbcon.c) and with a full redraw (fbcon_debug_full_redraw),
 * on a 1024x768x32 buffer in RAM. It prints figures; it does not pass or
 * fail. RAM is write-back, so the cycles measure the console's own work;
 * on a real framebuffer (uncached or write-combining) every byte stored
 * costs a bus write on top, which is what the byte counts stand for.
 */
#include "kernel/ktest.h"
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "mm/buddy.h"
#include "arch/x86_64/cpu.h"

#define B_WIDTH 1024
#define B_HEIGHT 768
#define B_COLS (B_WIDTH / FONT_WIDTH)
#define B_ROWS (B_HEIGHT / FONT_HEIGHT)
#define B_ORDER 10              /* 4 MiB >= 1024 * 768 * 4 */
#define B_LINES 100

static u16 b_cells[B_COLS * B_ROWS], b_shown[B_COLS * B_ROWS];
static u8 b_strip[FONT_HEIGHT * B_WIDTH * 4] __aligned(8);
static struct fbcon b_con;

/* Line i of a fake test log, 30 to 79 characters. */
static size_t log_line(char *out, u32 i)
{
	return (size_t)snprintf(out, 128, "    ok %u mm.case_%u %.*s\n", i, i * 7919 % 1000,
				(int)(i * 37 % 50), "the quick brown fox jumps over the lazy dog, twice");
}

/* Cycles per scrolled line; *bytes gets the bytes stored per line. */
static u64 measure(u64 *bytes)
{
	char line[128];
	for (u32 i = 0; i < B_ROWS + 5; i++)
		fbcon_write_chars(&b_con, line, log_line(line, i));
	b_con.bytes_out = 0;
	u64 t0 = rdtsc();
	for (u32 i = 0; i < B_LINES; i++)
		fbcon_write_chars(&b_con, line, log_line(line, 1000 + i));
	u64 t = rdtsc() - t0;
	*bytes = b_con.bytes_out / B_LINES;
	return t / B_LINES;
}

static void bench_fbcon(void)
{
	struct page *p = alloc_pages(0, B_ORDER);
	if (!p) {
		pr_err("bench fbcon: no memory for the buffer\n");
		return;
	}
	struct fb_surface s = {
		.base = page_address(p), .pitch = B_WIDTH * 4, .width = B_WIDTH, .height = B_HEIGHT,
		.bytes_pp = 4, .red_pos = 16, .red_size = 8, .green_pos = 8, .green_size = 8,
		.blue_pos = 0, .blue_size = 8,
	};
	const struct fbcon_buffers buf = {
		.cells = b_cells, .shown = b_shown, .max_cells = B_COLS * B_ROWS,
		.strip = b_strip, .strip_bytes = sizeof(b_strip),
	};
	u64 bytes, redraw_bytes;
	fbcon_setup_pixels(&b_con, &s, &buf);
	u64 cycles = measure(&bytes);
	bool was = fbcon_debug_full_redraw;
	fbcon_debug_full_redraw = true;
	u64 redraw = measure(&redraw_bytes);
	fbcon_debug_full_redraw = was;
	printk("# bench fbcon: 1024x768x32 in RAM, a scrolled line: flush of changed spans "
	       "%lu cycles, %lu bytes; full redraw %lu cycles, %lu bytes\n",
	       cycles, bytes, redraw, redraw_bytes);
	free_pages(p, B_ORDER);
}

KTEST_BENCH(fbcon, bench_fbcon);
