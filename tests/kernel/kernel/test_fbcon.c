/* tests/kernel/kernel/test_fbcon.c - the screen console, tested on off-screen buffers.
 *
 * Each case sets up its own struct fbcon on a small buffer in memory (a
 * pixel surface or a fake VGA text array), writes text, and checks the
 * pixels or cells that should result. The real screen is never touched. */
#include "kernel/ktest.h"
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/string.h"

/* 10 x 4 characters, with 3 spare pixels right of the text area and a pitch
 * wider than the row, so we can check nothing is drawn outside it. */
#define T_COLS 10
#define T_ROWS 4
#define T_WIDTH (T_COLS * FONT_WIDTH + 3)
#define T_HEIGHT (T_ROWS * FONT_HEIGHT)
#define T_PITCH (T_WIDTH * 4 + 16)
#define SENTINEL 0x5A

static u8 pixels[T_PITCH * T_HEIGHT];
static u16 cells[T_COLS * T_ROWS];
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
	const u8 *g = font_glyph(ch);
	u32 bad = 0;
	for (u32 r = 0; r < FONT_HEIGHT; r++)
		for (u32 i = 0; i < FONT_WIDTH; i++) {
			u32 want = (g[r] & (0x80 >> i)) ? fg : bg;
			u32 got = fb_read_pixel(&c->surf, col * FONT_WIDTH + i, row * FONT_HEIGHT + r);
			if (got != want)
				bad++;
		}
	return bad;
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
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, cells, ARRAY_SIZE(cells)), 0);
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
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, cells, ARRAY_SIZE(cells)), 0);
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
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, cells, ARRAY_SIZE(cells)), 0);
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
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, cells, ARRAY_SIZE(cells)), 0);
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
	KTEST_ASSERT_EQ(t, fbcon_setup_text(&con, vga, 10, 3, 12, cells, ARRAY_SIZE(cells)), 0);
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
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, cells, ARRAY_SIZE(cells)), 0);
	con.x = 1000000;
	con.y = 1000000;
	write_str(&con, "Q");
	KTEST_EXPECT_EQ(t, cell_char(&con, 0, T_ROWS - 1), 'Q');
	KTEST_EXPECT_EQ(t, con.y, T_ROWS - 1);
}

static void test_rejects_unusable_surfaces(struct ktest *t)
{
	struct fb_surface s = xrgb_surface();
	s.bytes_pp = 2;
	KTEST_EXPECT_EQ(t, fbcon_setup_pixels(&con, &s, cells, ARRAY_SIZE(cells)), -1);
	s = xrgb_surface();
	s.width = FONT_WIDTH - 1;       /* narrower than one character */
	KTEST_EXPECT_EQ(t, fbcon_setup_pixels(&con, &s, cells, ARRAY_SIZE(cells)), -1);
	s = xrgb_surface();
	s.pitch = T_WIDTH;              /* a row cannot hold width pixels */
	KTEST_EXPECT_EQ(t, fbcon_setup_pixels(&con, &s, cells, ARRAY_SIZE(cells)), -1);
	/* A grid too small for the screen: use the rows that fit. */
	s = xrgb_surface();
	KTEST_ASSERT_EQ(t, fbcon_setup_pixels(&con, &s, cells, T_COLS * 2), 0);
	KTEST_EXPECT_EQ(t, con.rows, 2);
	static u16 vga[4];
	KTEST_EXPECT_EQ(t, fbcon_setup_text(&con, vga, 80, 25, 80, cells, ARRAY_SIZE(cells)), -1);
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
};
KTEST_SUITE(fbcon, fbcon_cases);
