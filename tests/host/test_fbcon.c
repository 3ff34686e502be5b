/* SPDX-License-Identifier: MIT */
// SOURCES: kernel/fbcon.c kernel/font.c
/* tests/host/test_fbcon.c - what the screen console costs the framebuffer.
 *
 * On a real PC every byte stored to the framebuffer is a bus write (one per
 * store when firmware left it uncached, 64-byte bursts when it is
 * write-combining), so the console's speed on a large screen is the number
 * of bytes it stores per printed line. The engine counts them (bytes_out);
 * here a console runs on screens of real sizes held in host memory, fills
 * them with lines like a test log's, and the counts must stay within
 * budgets: a count, not a timing. Each budget is also shown to fail with
 * the engine's negative control (fbcon_debug_full_redraw: every flush
 * redraws every row), so the measurement can fail.
 */
#include "tests/host/htest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/fbcon.h"
#include "kernel/font.h"

struct screen {
	struct fbcon con;
	struct fb_surface surf;
	struct fbcon_buffers buf;
};

static struct screen *screen_new(unsigned width, unsigned height, unsigned bytes_pp)
{
	struct screen *s = calloc(1, sizeof(*s));
	u32 cells = (width / FONT_WIDTH) * (height / FONT_HEIGHT);
	s->surf = (struct fb_surface){
		.base = malloc((size_t)width * height * bytes_pp), .pitch = width * bytes_pp,
		.width = width, .height = height, .bytes_pp = bytes_pp,
		.red_pos = 16, .red_size = 8, .green_pos = 8, .green_size = 8,
		.blue_pos = 0, .blue_size = 8,
	};
	if (bytes_pp == 2)
		s->surf = (struct fb_surface){ .base = s->surf.base, .pitch = width * 2,
			.width = width, .height = height, .bytes_pp = 2, .red_pos = 11, .red_size = 5,
			.green_pos = 5, .green_size = 6, .blue_pos = 0, .blue_size = 5 };
	s->buf = (struct fbcon_buffers){
		.cells = calloc(cells, 2), .shown = calloc(cells, 2), .max_cells = cells,
		.strip = malloc((size_t)FONT_HEIGHT * width * bytes_pp),
		.strip_bytes = (size_t)FONT_HEIGHT * width * bytes_pp,
	};
	if (fbcon_setup_pixels(&s->con, &s->surf, &s->buf) != 0)
		abort();
	return s;
}

static void screen_free(struct screen *s)
{
	free(s->surf.base);
	free(s->buf.cells);
	free(s->buf.shown);
	free(s->buf.strip);
	free(s);
}

/* Line i of a fake test log: 30 to 79 characters, varying. */
static size_t log_line(char *out, unsigned i)
{
	int n = snprintf(out, 128, "    ok %u mm.case_%u %.*s\n", i, i * 7919 % 1000,
			 (int)(i * 37 % 50), "the quick brown fox jumps over the lazy dog, twice");
	return (size_t)n;
}

static void print_lines(struct screen *s, unsigned from, unsigned count)
{
	char line[128];
	for (unsigned i = from; i < from + count; i++)
		fbcon_write_chars(&s->con, line, log_line(line, i));
}

/* Fill the screen with log lines in one write (one flush). */
static void fill_screen(struct screen *s)
{
	static char text[200 * 128];
	size_t n = 0;
	for (unsigned i = 0; i < s->con.rows + 5 && i < 200; i++)
		n += log_line(text + n, i);
	fbcon_write_chars(&s->con, text, n);
}

/* Bytes one character cell takes on s. */
static u64 cell_bytes(const struct screen *s)
{
	return (u64)FONT_WIDTH * FONT_HEIGHT * s->surf.bytes_pp;
}

/* The cost of one printed line once the screen is full (every line
 * scrolls), averaged over `lines` lines. */
static u64 bytes_per_scrolled_line(struct screen *s, unsigned lines)
{
	fill_screen(s);
	s->con.bytes_out = 0;
	print_lines(s, 1000, lines);
	return s->con.bytes_out / lines;
}

HTEST(printed_line_without_scroll)
{
	/* A line on a screen not yet full stores its own cells and the
	 * cursor's, nothing else: at most 80 characters + the cursor's cell. */
	struct screen *s = screen_new(1024, 768, 4);
	char line[128];
	size_t n = log_line(line, 3);
	s->con.bytes_out = 0;
	fbcon_write_chars(&s->con, line, n);
	HT_EXPECT((s->con.bytes_out) <= ((n + 1) * cell_bytes(s)));
	printf("    # 1024x768x32: a %zu-character line (no scroll) stores %llu bytes\n", n - 1,
	       (unsigned long long)s->con.bytes_out);
	screen_free(s);
}

/* The budget of a scrolled line: every row may change, but only over the
 * longer of its old and new line (at most 80 characters here) - never the
 * whole width, which is what a full redraw stores. */
static void check_scroll_budget(unsigned w, unsigned h, unsigned bpp)
{
	struct screen *s = screen_new(w, h, bpp);
	u64 per_line = bytes_per_scrolled_line(s, 20);
	u64 budget = (u64)s->con.rows * 81 * cell_bytes(s);
	u64 full = (u64)s->con.rows * s->con.cols * cell_bytes(s);
	printf("    # %ux%ux%u: %llu bytes per scrolled line (budget %llu, full redraw %llu)\n",
	       w, h, bpp * 8, (unsigned long long)per_line, (unsigned long long)budget,
	       (unsigned long long)full);
	HT_EXPECT((per_line) <= (budget));
	/* The negative control: the same measurement with full redraws must
	 * break the budget (the test can fail). */
	fbcon_debug_full_redraw = true;
	u64 redraw = bytes_per_scrolled_line(s, 3);
	fbcon_debug_full_redraw = false;
	HT_EXPECT(redraw > budget);
	HT_EXPECT_EQ(redraw, full);
	screen_free(s);
}

HTEST(scrolled_line_1024x768) { check_scroll_budget(1024, 768, 4); }
HTEST(scrolled_line_4k) { check_scroll_budget(3840, 2160, 4); }
HTEST(scrolled_line_16bpp) { check_scroll_budget(1920, 1080, 2); }

HTEST(many_lines_in_one_write_cost_one_screen)
{
	/* The log replay writes hundreds of lines at once: one flush, each
	 * cell stored at most once. */
	struct screen *s = screen_new(3840, 2160, 4);
	static char text[1000 * 128];
	size_t n = 0;
	for (unsigned i = 0; i < 1000; i++)
		n += log_line(text + n, i);
	s->con.bytes_out = 0;
	fbcon_write_chars(&s->con, text, n);
	HT_EXPECT((s->con.bytes_out) <= ((u64)s->con.rows * s->con.cols * cell_bytes(s)));
	printf("    # 3840x2160x32: 1000 lines in one write store %llu bytes\n",
	       (unsigned long long)s->con.bytes_out);
	screen_free(s);
}

HTEST(pixels_match_the_glyphs_16bpp)
{
	struct screen *s = screen_new(640, 480, 2);
	char line[128];
	fill_screen(s);         /* scrolled */
	size_t n = log_line(line, 9999);
	fbcon_write_chars(&s->con, line, n);
	u32 fg = s->con.palette[7], bg = s->con.palette[0], bad = 0;
	u32 row = s->con.y - 1;
	for (u32 col = 0; col + 1 < n && col < s->con.cols; col++)
		bad += fbcon_cell_mismatches(&s->con, col, row, line[col], fg, bg);
	HT_EXPECT_EQ(bad, 0);
	HT_EXPECT_EQ(fg, 0xAD55);       /* 0xAA in 5:6:5 */
	screen_free(s);
}

int main(void)
{
	return htest_main("fbcon", (struct htest[]){
		HT_CASE(printed_line_without_scroll), HT_CASE(scrolled_line_1024x768),
		HT_CASE(scrolled_line_4k), HT_CASE(scrolled_line_16bpp),
		HT_CASE(many_lines_in_one_write_cost_one_screen),
		HT_CASE(pixels_match_the_glyphs_16bpp), {0} });
}
