/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_fbcon.c - the screen console, tested on off-screen buffers.
 *
 * Each case sets up its own struct fbcon on a small buffer in memory (a
 * pixel surface or a fake VGA text array), writes text, and checks the
 * pixels or cells that should result, and the bytes the flush stored
 * (bytes_out: only the changed spans, one flush per write). The log replay
 * is checked on such a console too; only the_screen_shows_printk looks at
 * the real screen (its grid and framebuffer pixels). At the end, the crash
 * control "fbcon_panic_test" (a fault inside a console's write). */
#include "kernel/ktest.h"
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/console.h"
#include "kernel/bootinfo.h"

/* 10 x 4 characters, with 3 spare pixels right of the text area and a pitch
 * wider than the row, so we can check nothing is drawn outside it. */
#define T_COLS 10
#define T_ROWS 4
#define T_WIDTH (T_COLS * FONT_WIDTH + 3)
#define T_HEIGHT (T_ROWS * FONT_HEIGHT)
#define T_PITCH (T_WIDTH * 4 + 16)
#define SENTINEL 0x5A

static u8 pixels[T_PITCH * T_HEIGHT];
static u16 cells[T_COLS * T_ROWS], shown[T_COLS * T_ROWS];
static u8 strip[FONT_HEIGHT * T_WIDTH * 4] __aligned(8);
static const struct fbcon_buffers bufs = {
	.cells = cells, .shown = shown, .max_cells = ARRAY_SIZE(cells),
	.strip = strip, .strip_bytes = sizeof(strip),
};
static struct fbcon con;

static struct fb_surface xrgb_surface(void)
{
	memset(pixels, SENTINEL, sizeof(pixels));
	struct fb_surface s = {
		.base = pixels, .pitch = T_PITCH, .width = T_WIDTH, .height = T_HEIGHT,
		.bytes_pp = 4,
		.red_pos = 16, .red_size = 8, .green_pos = 8, .green_size = 8,
		.blue_pos = 0, .blue_size = 8,
	};
	return s;
}

static void write_str(struct fbcon *c, const char *s)
{
	fbcon_write_chars(c, s, strlen(s));
}

/* Pixels of cell (col, row) that differ from glyph ch in colours fg on bg. */
static u32 cell_mismatches(struct fbcon *c, u32 col, u32 row, char ch, u32 fg, u32 bg)
{
	return fbcon_cell_mismatches(c, col, row, ch, fg, bg);
}

static char cell_char(struct fbcon *c, u32 col, u32 row)
{
	return (char)(c->cells[row * c->cols + col] & 0xFF);
}

static void test_font_covers_printable_ascii(struct ktest *t)
{
	KTEST_EXPECT_EQ(t, font_bad_rows(), 0);
	u32 blank = 0, col7 = 0, same = 0;
	for (int ch = FONT_FIRST; ch <= FONT_LAST; ch++) {
		const u8 *g = font_glyph((char)ch);
		u32 lit = 0;
		for (int r = 0; r < FONT_HEIGHT; r++) {
			lit += g[r] != 0;
			/* Column 7 is the gap between characters. */
			if ((g[r] & 1) && ch != '_')
				col7++;
		}
		if ((lit == 0) != (ch == ' ')) {
			ktest_log(t, "glyph '%c' is %s", ch, lit ? "not blank" : "blank");
			blank++;
		}
		/* No two characters may look the same. */
		for (int other = FONT_FIRST; other < ch; other++)
			if (memcmp(g, font_glyph((char)other), FONT_HEIGHT) == 0) {
				ktest_log(t, "glyphs '%c' and '%c' are identical", other, ch);
				same++;
			}
	}
	KTEST_EXPECT_EQ(t, blank, 0);
	KTEST_EXPECT_EQ(t, col7, 0);
	KTEST_EXPECT_EQ(t, same, 0);
	/* Anything outside the font is drawn as '?'. */
	KTEST_EXPECT_EQ(t, (u64)font_glyph('\x01'), (u64)font_glyph('?'));
}

static void test_text_puts_expected_pixels(struct ktest *t)
{
	struct fb_surface s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	KTEST_EXPECT_EQ(t, con.cols, T_COLS);
	KTEST_EXPECT_EQ(t, con.rows, T_ROWS);
	u32 grey = 0xAAAAAA, black = 0;
	KTEST_EXPECT_EQ(t, con.palette[FBCON_ATTR_DEFAULT], grey);

	write_str(&con, "Hi!");
	KTEST_EXPECT_EQ(t, con.x, 3);
	KTEST_EXPECT_EQ(t, con.y, 0);
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 0, 0, 'H', grey, black), 0);
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 1, 0, 'i', grey, black), 0);
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 2, 0, '!', grey, black), 0);
	/* The cursor: an underline in the two bottom rows of the next cell. */
	KTEST_EXPECT_EQ(t, fb_read_pixel(&s, 3 * FONT_WIDTH, FONT_HEIGHT - 1), grey);
	KTEST_EXPECT_EQ(t, fb_read_pixel(&s, 3 * FONT_WIDTH, FONT_HEIGHT - 3), black);
	/* Moving on erases it. */
	write_str(&con, "\n");
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 3, 0, ' ', grey, black), 0);

	/* Outside the width, the padding in each row is never written. */
	u32 touched = 0;
	for (u32 y = 0; y < T_HEIGHT; y++)
		for (u32 b = T_WIDTH * 4; b < T_PITCH; b++)
			touched += pixels[y * T_PITCH + b] != SENTINEL;
	KTEST_EXPECT_EQ(t, touched, 0);
}

static void test_24bpp_and_colour_layout(struct ktest *t)
{
	/* 24 bits per pixel, blue in the high byte: the colour must follow
	 * the positions GRUB reports, not an assumed order. */
	memset(pixels, SENTINEL, sizeof(pixels));
	struct fb_surface s = {
		.base = pixels, .pitch = T_WIDTH * 3 + 1, .width = T_WIDTH, .height = T_HEIGHT,
		.bytes_pp = 3,
		.red_pos = 0, .red_size = 8, .green_pos = 8, .green_size = 8,
		.blue_pos = 16, .blue_size = 8,
	};
	KTEST_EXPECT_EQ(t, fb_pixel_value(&s, 0x12, 0x34, 0x56), 0x563412);
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	write_str(&con, "\tg");
	KTEST_EXPECT_EQ(t, cell_char(&con, 8, 0), 'g');
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 8, 0, 'g', 0xAAAAAA, 0), 0);
	/* The byte after the last pixel of a row is untouched. */
	KTEST_EXPECT_EQ(t, pixels[T_WIDTH * 3], SENTINEL);

	/* 5-6-5 style narrow fields scale the 8-bit value down. */
	struct fb_surface narrow = { .red_pos = 11, .red_size = 5, .green_pos = 5,
				     .green_size = 6, .blue_pos = 0, .blue_size = 5 };
	KTEST_EXPECT_EQ(t, fb_pixel_value(&narrow, 0xFF, 0xFF, 0xFF), 0xFFFF);
	KTEST_EXPECT_EQ(t, fb_pixel_value(&narrow, 0xFF, 0, 0), 0xF800);
}

static void test_scrolling_moves_rows_up(struct ktest *t)
{
	struct fb_surface s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	write_str(&con, "1\n2\n3\n4\n5");
	KTEST_EXPECT_EQ(t, con.y, T_ROWS - 1);
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 0), '2');
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 3), '5');
	for (u32 row = 0; row < T_ROWS; row++)
		KTEST_EXPECT_EQ(t, cell_mismatches(&con, 0, row, (char)('2' + row), 0xAAAAAA, 0), 0);

	/* A long line wraps and scrolls; after one more scroll the old
	 * first row's content has left the screen entirely. */
	write_str(&con, "\nabcdefghijKL");
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 0), '4');
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 2), 'a');
	KTEST_EXPECT_EQ(t, cell_char(&con, 9, 2), 'j');
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 3), 'K');
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 9, 2, 'j', 0xAAAAAA, 0), 0);
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 1, 3, 'L', 0xAAAAAA, 0), 0);
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 1, 0, ' ', 0xAAAAAA, 0), 0);
}

static void test_control_characters(struct ktest *t)
{
	struct fb_surface s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	write_str(&con, "abc\rX\bY\x01");
	/* \r back to column 0, X over a, \b back onto X, Y over it, \x01
	 * shown as '?'. */
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 0), 'Y');
	KTEST_EXPECT_EQ(t, cell_char(&con, 1, 0), '?');
	KTEST_EXPECT_EQ(t, cell_char(&con, 2, 0), 'c');
	/* Exactly a full line, then \n: one line down, not two. */
	write_str(&con, "\n0123456789\nZ");
	KTEST_EXPECT_EQ(t, cell_char(&con, 9, 1), '9');
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 2), 'Z');
	KTEST_EXPECT_EQ(t, con.y, 2);
	/* Backspace at column 0 stays there. */
	write_str(&con, "\r\b");
	KTEST_EXPECT_EQ(t, con.x, 0);
}

static void test_text_mode_backend(struct ktest *t)
{
	/* A fake VGA text buffer: 10x3 cells with 2 spare cells per row. */
	static u16 vga[12 * 3];
	for (u32 i = 0; i < ARRAY_SIZE(vga); i++)
		vga[i] = 0xDEAD;
	KTEST_ASSERT_EQ(t, fbcon_setup_text(&con, vga, 10, 3, 12, &bufs), 0);
	KTEST_EXPECT_EQ(t, vga[0], FBCON_CELL(' ', FBCON_ATTR_DEFAULT));
	write_str(&con, "A\nB\nC\nD");
	/* Scrolled once: B, C, D. */
	KTEST_EXPECT_EQ(t, vga[0], FBCON_CELL('B', FBCON_ATTR_DEFAULT));
	KTEST_EXPECT_EQ(t, vga[12], FBCON_CELL('C', FBCON_ATTR_DEFAULT));
	KTEST_EXPECT_EQ(t, vga[24], FBCON_CELL('D', FBCON_ATTR_DEFAULT));
	KTEST_EXPECT_EQ(t, vga[10], 0xDEAD);
	KTEST_EXPECT_EQ(t, vga[35], 0xDEAD);
}

static void test_survives_a_corrupt_cursor(struct ktest *t)
{
	/* As after a CPU was stopped mid-write by panic: the next write must
	 * not index outside the grid. */
	struct fb_surface s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	con.x = 1000000;
	con.y = 1000000;
	write_str(&con, "Q");
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, T_ROWS - 1), 'Q');
	KTEST_EXPECT_EQ(t, con.y, T_ROWS - 1);
}

static void test_rejects_unusable_surfaces(struct ktest *t)
{
	struct fb_surface s = xrgb_surface();
	s.bytes_pp = 5;
	KTEST_EXPECT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), -1);
	s = xrgb_surface();
	s.width = FONT_WIDTH - 1;       /* narrower than one character */
	KTEST_EXPECT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), -1);
	s = xrgb_surface();
	s.pitch = T_WIDTH;              /* a row cannot hold width pixels */
	KTEST_EXPECT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), -1);
	/* A grid too small for the screen: use the rows that fit. */
	s = xrgb_surface();
	struct fbcon_buffers few = bufs;
	few.max_cells = T_COLS * 2;
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &few), 0);
	KTEST_EXPECT_EQ(t, con.rows, 2);
	static u16 vga[4];
	KTEST_EXPECT_EQ(t, fbcon_setup_text(&con, vga, 80, 25, 80, &bufs), -1);
}


/* Bytes of one character cell on a 4-byte surface. */
#define CELL_BYTES (FONT_WIDTH * FONT_HEIGHT * 4)

static void test_16bpp_and_15bpp(struct ktest *t)
{
	/* 16 bpp (5:6:5) and 15 bpp (5:5:5), two bytes per pixel, with a byte
	 * of padding after each row that must stay untouched. */
	static const struct { u8 rp, rs, gp, gs, bp, bs; u32 grey; } modes[] = {
		{ 11, 5, 5, 6, 0, 5, (0xAA >> 3) << 11 | (0xAA >> 2) << 5 | 0xAA >> 3 },
		{ 10, 5, 5, 5, 0, 5, (0xAA >> 3) << 10 | (0xAA >> 3) << 5 | 0xAA >> 3 },
	};
	for (u32 m = 0; m < ARRAY_SIZE(modes); m++) {
		memset(pixels, SENTINEL, sizeof(pixels));
		struct fb_surface s = {
			.base = pixels, .pitch = T_WIDTH * 2 + 1, .width = T_WIDTH, .height = T_HEIGHT,
			.bytes_pp = 2, .red_pos = modes[m].rp, .red_size = modes[m].rs,
			.green_pos = modes[m].gp, .green_size = modes[m].gs,
			.blue_pos = modes[m].bp, .blue_size = modes[m].bs,
		};
		KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
		KTEST_EXPECT_EQ(t, con.palette[FBCON_ATTR_DEFAULT], modes[m].grey);
		KTEST_EXPECT_EQ(t, con.palette[15], m == 0 ? 0xFFFF : 0x7FFF);
		write_str(&con, "W#\nq");
		KTEST_EXPECT_EQ(t, cell_mismatches(&con, 0, 0, 'W', modes[m].grey, 0), 0);
		KTEST_EXPECT_EQ(t, cell_mismatches(&con, 1, 0, '#', modes[m].grey, 0), 0);
		KTEST_EXPECT_EQ(t, cell_mismatches(&con, 0, 1, 'q', modes[m].grey, 0), 0);
		u32 touched = 0;
		for (u32 y = 0; y < T_HEIGHT; y++)
			touched += pixels[y * s.pitch + T_WIDTH * 2] != SENTINEL;
		KTEST_EXPECT_EQ(t, touched, 0);
	}
}

static void test_flush_writes_only_changed_spans(struct ktest *t)
{
	struct fb_surface s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	/* The setup cleared the screen once: every line, whole. */
	KTEST_EXPECT_EQ(t, con.bytes_out, (u64)T_WIDTH * 4 * T_HEIGHT + CELL_BYTES);
	con.bytes_out = 0;
	/* Two characters: their cells and the cursor's new cell. */
	write_str(&con, "ab");
	KTEST_EXPECT_EQ(t, con.bytes_out, 3 * CELL_BYTES);
	/* The same text again over itself: only the cursor moves. */
	con.bytes_out = 0;
	write_str(&con, "\rab");
	KTEST_EXPECT_EQ(t, con.bytes_out, 0);
	write_str(&con, "\n1\n2\n3");
	con.bytes_out = 0;
	/* Screen: ab / 1 / 2 / 3, cursor after 3. A scroll changes two
	 * cells in row 0 (ab -> 1) and one in each other row; the cursor
	 * stays where it is. Redrawing the screen would cost T_COLS * T_ROWS. */
	write_str(&con, "\n4");
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 0), '1');
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, 3), '4');
	KTEST_EXPECT_EQ(t, con.bytes_out, 5 * CELL_BYTES);
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 0, 3, '4', 0xAAAAAA, 0), 0);
	/* The cursor is still drawn after the 4. */
	KTEST_EXPECT_EQ(t, fb_read_pixel(&s, FONT_WIDTH, 4 * FONT_HEIGHT - 1), 0xAAAAAA);
}

static void test_many_lines_cost_one_screen(struct ktest *t)
{
	/* Forty lines in one write (the log replay, a long message): one
	 * flush at the end, never more than one screenful of cells. */
	struct fb_surface s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	con.bytes_out = 0;
	char text[40 * 11 + 1];
	u32 n = 0;
	for (u32 i = 0; i < 40; i++) {
		memcpy(text + n, "line 00000\n", 11);
		text[n + 8] = (char)('0' + i / 10);
		text[n + 9] = (char)('0' + i % 10);
		n += 11;
	}
	fbcon_write_chars(&con, text, n);
	KTEST_EXPECT_LE(t, con.bytes_out, (u64)T_COLS * T_ROWS * CELL_BYTES);
	KTEST_EXPECT_EQ(t, cell_char(&con, 8, 2), '3');
	KTEST_EXPECT_EQ(t, cell_char(&con, 9, 2), '9');
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 9, 2, '9', 0xAAAAAA, 0), 0);
}

static void test_interrupted_flush_is_redone(struct ktest *t)
{
	/* A panic on this CPU may stop a flush before a row reached the
	 * screen; shown[] then still says the old content, and the next
	 * write (the panic report) redraws that row. */
	struct fb_surface s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	write_str(&con, "old");
	con.cells[0] = FBCON_CELL('N', FBCON_ATTR_DEFAULT);     /* as put_char did */
	write_str(&con, "!");
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 0, 0, 'N', 0xAAAAAA, 0), 0);
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 3, 0, '!', 0xAAAAAA, 0), 0);
}

static void replay_write(struct console *c, const char *s, size_t n)
{
	fbcon_write_chars(container_of(c, struct fbcon, con), s, n);
}

static bool grid_has(struct fbcon *c, const char *word)
{
	size_t n = strlen(word);
	for (u32 row = 0; row < c->rows; row++)
		if (n <= c->cols) {
			u32 col = 0;
			while (col < n && cell_char(c, col, row) == word[col])
				col++;
			if (col == n)
				return true;
		}
	return false;
}

static void test_replay_shows_the_log(struct ktest *t)
{
	/* A console that comes up late is first given the log: the lines
	 * printed before it existed, newest at the bottom. */
	printk("fbreplay1\nfbreplay2\n");
	char tail[64];
	size_t n = console_log_tail(tail, sizeof(tail));
	KTEST_ASSERT_TRUE(t, n >= 20);
	KTEST_EXPECT_EQ(t, memcmp(tail + n - 20, "fbreplay1\nfbreplay2\n", 20), 0);
	/* From a line start: a tail never begins mid-line. */
	KTEST_EXPECT_TRUE(t, n == 0 || tail[n - 1] == '\n');

	struct fb_surface s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, &bufs), 0);
	con.con.write = replay_write;
	console_replay(&con.con);
	KTEST_EXPECT_TRUE(t, grid_has(&con, "fbreplay1"));
	KTEST_EXPECT_TRUE(t, grid_has(&con, "fbreplay2"));
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, T_ROWS - 2), 'f');
	KTEST_EXPECT_EQ(t, cell_mismatches(&con, 8, T_ROWS - 2, '2', 0xAAAAAA, 0), 0);
}

static void test_the_screen_shows_printk(struct ktest *t)
{
	/* The real screen, when the boot loader gave one: a line printed now
	 * is in its grid and in the framebuffer's pixels. */
	if (!boot_info.fb.present || boot_info.fb.type == FB_TYPE_INDEXED) {
		ktest_log(t, "no framebuffer: nothing to check");
		return;
	}
	printk("fbcon test: this line is on the screen\n");
	KTEST_EXPECT_TRUE(t, fbcon_screen_shows("fbcon test: this line is on the screen"));
	KTEST_EXPECT_FALSE(t, fbcon_screen_shows("fbcon test: this line was never printed"));
}

static const struct ktest_case fbcon_cases[] = {
	{ "font_covers_printable_ascii", test_font_covers_printable_ascii },
	{ "text_puts_expected_pixels", test_text_puts_expected_pixels },
	{ "24bpp_and_colour_layout", test_24bpp_and_colour_layout },
	{ "scrolling_moves_rows_up", test_scrolling_moves_rows_up },
	{ "control_characters", test_control_characters },
	{ "text_mode_backend", test_text_mode_backend },
	{ "survives_a_corrupt_cursor", test_survives_a_corrupt_cursor },
	{ "rejects_unusable_surfaces", test_rejects_unusable_surfaces },
	{ "16bpp_and_15bpp", test_16bpp_and_15bpp },
	{ "flush_writes_only_changed_spans", test_flush_writes_only_changed_spans },
	{ "many_lines_cost_one_screen", test_many_lines_cost_one_screen },
	{ "interrupted_flush_is_redone", test_interrupted_flush_is_redone },
	{ "replay_shows_the_log", test_replay_shows_the_log },
	{ "the_screen_shows_printk", test_the_screen_shows_printk },
};
KTEST_SUITE(fbcon, fbcon_cases);

/* --- the crash control: a fault inside a console's write ---
 * "fbcon_panic_test" on the command line: at the end of the boot, a console
 * whose write() faults (a store to a non-canonical address: #GP) is
 * registered and a line printed, so the exception comes with console_lock
 * held by the faulting CPU; its report and the panic that follows must
 * still reach the screen. The report hook checks both lines there (grid
 * and framebuffer pixels) and says so on every console; tools/run-tests
 * wants that line (config crash-fbcon-panic). */

static bool fault_armed;

static void faulting_write(struct console *c, const char *s, size_t n)
{
	(void)c, (void)s, (void)n;
	if (!fault_armed)
		return;
	fault_armed = false;    /* the report comes through here again */
	*(volatile u64 *)0x8000000000000000UL = 1;
}

static struct console faulting_console = { .name = "fault-test", .write = faulting_write };

static void report_screen(void)
{
	bool report = fbcon_screen_shows("*** general protection fault (vector 13) on CPU 0");
	bool panic = fbcon_screen_shows("Kernel panic on CPU 0: unhandled general protection fault");
	printk(KERN_EMERG "fbcon_panic_test: the exception report is %s the screen, "
	       "the panic line %s\n", report ? "on" : "NOT on", panic ? "too" : "NOT");
}

static void fbcon_panic_test(void)
{
	panic_report_hook = report_screen;
	console_register(&faulting_console);
	fault_armed = true;
	printk("fbcon_panic_test: printing through a console that faults\n");
	panic("fbcon_panic_test: the console did not fault");
}

KTEST_HOOK(fbcon_panic_test, KTEST_HOOK_BOOT_END, "fbcon_panic_test", fbcon_panic_test);
