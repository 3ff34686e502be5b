/* SPDX-License-Identifier: MIT */
/* kernel/fbcon.c - the screen console's text engine (interface and rules in
 * fbcon.h; the console registered with printk is in fbcon_screen.c).
 *
 * Two back ends share one engine. The engine keeps cells[] - what each
 * character position of the screen should show - and the cursor, all in
 * RAM; fbcon_flush() then brings the screen up to date. In pixel mode it
 * renders the changed span of each text row into the RAM strip and copies
 * it to the framebuffer one pixel line at a time; in text mode it stores
 * the changed cells into VGA text memory, whose layout is the cell layout.
 *
 * Why a flush and not a store per pixel: the framebuffer of a real PC is
 * uncached or (arch/x86_64/pat.h) write-combining. Uncached, every store
 * is a bus transaction; write-combining, stores are gathered into 64-byte
 * bursts only while they run in sequence. Drawing glyph by glyph goes 8
 * pixels right then one line down, and a scroll redraws the whole screen
 * once per line. Drawing into RAM and copying whole spans of each line,
 * once per write, stores each changed byte once and in order.
 */
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/string.h"

#define TAB_WIDTH 8

bool fbcon_debug_full_redraw;

/* The 16 colours of the VGA palette, as 8-bit R, G, B. */
static const u8 vga_colours[16][3] = {
	{ 0x00, 0x00, 0x00 }, /* 0 black */
	{ 0x00, 0x00, 0xAA }, /* 1 blue */
	{ 0x00, 0xAA, 0x00 }, /* 2 green */
	{ 0x00, 0xAA, 0xAA }, /* 3 cyan */
	{ 0xAA, 0x00, 0x00 }, /* 4 red */
	{ 0xAA, 0x00, 0xAA }, /* 5 magenta */
	{ 0xAA, 0x55, 0x00 }, /* 6 brown */
	{ 0xAA, 0xAA, 0xAA }, /* 7 light grey */
	{ 0x55, 0x55, 0x55 }, /* 8 dark grey */
	{ 0x55, 0x55, 0xFF }, /* 9 light blue */
	{ 0x55, 0xFF, 0x55 }, /* 10 light green */
	{ 0x55, 0xFF, 0xFF }, /* 11 light cyan */
	{ 0xFF, 0x55, 0x55 }, /* 12 light red */
	{ 0xFF, 0x55, 0xFF }, /* 13 light magenta */
	{ 0xFF, 0xFF, 0x55 }, /* 14 yellow */
	{ 0xFF, 0xFF, 0xFF }, /* 15 white */
};

/* --- pixels --- */

/* Scale an 8-bit channel to a field of size bits at pos (5 or 6 bits in
 * 15 and 16 bpp modes: the high bits of the 8-bit value). */
static u32 channel(u8 v, u8 pos, u8 size)
{
	u32 x = size >= 8 ? (u32)v << (size - 8) : (u32)v >> (8 - size);
	return x << pos;
}

u32 fb_pixel_value(const struct fb_surface *surf, u8 r, u8 g, u8 b)
{
	return channel(r, surf->red_pos, surf->red_size) |
	       channel(g, surf->green_pos, surf->green_size) |
	       channel(b, surf->blue_pos, surf->blue_size);
}

/* Pixels are stored least significant byte first (x86 is little-endian).
 * Only the RAM strip is drawn this way; __builtin_memcpy of a constant
 * size is one store, whatever the alignment, even under -fno-builtin. */
static void put_pixel(u8 *p, u32 bytes_pp, u32 v)
{
	if (bytes_pp == 4) {
		__builtin_memcpy(p, &v, 4);
	} else if (bytes_pp == 2) {
		u16 h = (u16)v;
		__builtin_memcpy(p, &h, 2);
	} else {
		p[0] = (u8)v;
		p[1] = (u8)(v >> 8);
		p[2] = (u8)(v >> 16);
	}
}

/* One line of a span from the strip to the screen: 8-byte stores in
 * order when both ends allow (spans are a multiple of 8 bytes: 8 pixels
 * of 2, 3 or 4 bytes), which write-combining gathers into full bursts. */
static void copy_to_screen(u8 *dst, const u8 *src, size_t bytes)
{
	if ((((uintptr_t)dst | (uintptr_t)src | bytes) & 7) != 0) {
		memcpy(dst, src, bytes);
		return;
	}
	volatile u64 *d = (volatile u64 *)dst;
	const u64 *s = (const u64 *)src;
	for (size_t i = 0; i < bytes / 8; i++)
		d[i] = s[i];
}

u32 fb_read_pixel(const struct fb_surface *surf, u32 x, u32 y)
{
	if (x >= surf->width || y >= surf->height)
		return 0;
	const volatile u8 *p = surf->base + (u64)y * surf->pitch + (u64)x * surf->bytes_pp;
	u32 v = p[0] | (u32)p[1] << 8;
	if (surf->bytes_pp >= 3)
		v |= (u32)p[2] << 16;
	if (surf->bytes_pp == 4)
		v |= (u32)p[3] << 24;
	return v;
}

u32 fbcon_cell_mismatches(const struct fbcon *c, u32 col, u32 row, char ch, u32 fg, u32 bg)
{
	const u8 *g = font_glyph(ch);
	u32 bad = 0;
	for (u32 r = 0; r < FONT_HEIGHT; r++)
		for (u32 i = 0; i < FONT_WIDTH; i++) {
			u32 want = (g[r] & (0x80 >> i)) ? fg : bg;
			u32 got = fb_read_pixel(&c->surf, col * FONT_WIDTH + i, row * FONT_HEIGHT + r);
			bad += got != want;
		}
	return bad;
}

/* Fill the whole surface with v, one line at a time from the strip. */
static void fill_surface(struct fbcon *c, u32 v)
{
	u32 line = c->surf.width * c->surf.bytes_pp;
	for (u32 x = 0; x < c->surf.width; x++)
		put_pixel(c->strip + x * c->surf.bytes_pp, c->surf.bytes_pp, v);
	for (u32 y = 0; y < c->surf.height; y++)
		copy_to_screen(c->surf.base + (u64)y * c->surf.pitch, c->strip, line);
	c->bytes_out += (u64)line * c->surf.height;
}

/* --- the flush: from cells[] to the screen --- */

/* Glyph of cell into the strip at character column i (of a strip whose
 * lines are span characters wide), underlined if it is the cursor. */
static void render_cell(struct fbcon *c, u32 i, u32 span, u16 cell, bool cursor)
{
	const u8 *glyph = font_glyph((char)(cell & 0xFF));
	u32 fg = c->palette[(cell >> 8) & 0xF];
	u32 bg = c->palette[(cell >> 12) & 0xF];
	u32 bpp = c->surf.bytes_pp, stride = span * FONT_WIDTH * bpp;
	u8 *line = c->strip + (u64)i * FONT_WIDTH * bpp;
	for (u32 r = 0; r < FONT_HEIGHT; r++, line += stride) {
		u8 bits = glyph[r];
		if (cursor && r >= FONT_HEIGHT - 2)
			bits = 0xFF;
		u8 *p = line;
		for (u32 k = 0; k < FONT_WIDTH; k++, p += bpp)
			put_pixel(p, bpp, (bits & (0x80 >> k)) ? fg : bg);
	}
}

static bool is_cursor(const struct fbcon *c, u32 col, u32 row)
{
	return col == c->x && row == c->y;
}

/* Columns [lo, hi) of text row `row` to the screen, then into shown[]. */
static void flush_span(struct fbcon *c, u32 row, u32 lo, u32 hi)
{
	u16 *want = &c->cells[row * c->cols], *have = &c->shown[row * c->cols];
	if (c->text_mode) {
		for (u32 col = lo; col < hi; col++)
			c->vga[row * c->vga_pitch + col] = want[col];
		c->bytes_out += (u64)(hi - lo) * 2;
	} else {
		u32 span = hi - lo, bytes = span * FONT_WIDTH * c->surf.bytes_pp;
		for (u32 col = lo; col < hi; col++)
			render_cell(c, col - lo, span, want[col], is_cursor(c, col, row));
		u8 *dst = c->surf.base + (u64)row * FONT_HEIGHT * c->surf.pitch +
			  (u64)lo * FONT_WIDTH * c->surf.bytes_pp;
		for (u32 r = 0; r < FONT_HEIGHT; r++, dst += c->surf.pitch)
			copy_to_screen(dst, c->strip + (u64)r * bytes, bytes);
		c->bytes_out += (u64)bytes * FONT_HEIGHT;
	}
	/* Only now: a flush interrupted before this point (by a panic on
	 * this CPU) is redone by the next one. */
	memcpy(&have[lo], &want[lo], (hi - lo) * sizeof(u16));
}

/* Widen [*lo, *hi) to cover col. */
static void widen(u32 *lo, u32 *hi, u32 col)
{
	if (col < *lo)
		*lo = col;
	if (col + 1 > *hi)
		*hi = col + 1;
}

void fbcon_flush(struct fbcon *c)
{
	bool moved = c->cursor_x != c->x || c->cursor_y != c->y;
	for (u32 row = 0; row < c->rows; row++) {
		const u16 *want = &c->cells[row * c->cols], *have = &c->shown[row * c->cols];
		u32 lo = c->cols, hi = 0;
		for (u32 col = 0; col < c->cols; col++)
			if (want[col] != have[col])
				widen(&lo, &hi, col);
		/* The pixel cursor is drawn into its cell: a move redraws the
		 * cell it leaves and the cell it enters. */
		if (!c->text_mode && moved) {
			if (row == c->cursor_y && c->cursor_x < c->cols)
				widen(&lo, &hi, c->cursor_x);
			if (row == c->y && c->x < c->cols)
				widen(&lo, &hi, c->x);
		}
		if (fbcon_debug_full_redraw)
			lo = 0, hi = c->cols;
		if (lo < hi)
			flush_span(c, row, lo, hi);
	}
	/* Write-combining stores are not ordered and may wait in the CPU's
	 * write-combining buffers; drain them, so that what was flushed is on
	 * the screen even if this CPU halts next (a panic). */
	__asm__ __volatile__("sfence" : : : "memory");
	c->cursor_x = c->x < c->cols ? c->x : c->cols;
	c->cursor_y = c->y;
	if (c->text_mode && c->move_hw_cursor)
		c->move_hw_cursor(c);
}

/* --- the text engine: cells[] and the cursor, in RAM --- */

static u16 blank_cell(const struct fbcon *c)
{
	return FBCON_CELL(' ', c->attr);
}

static void scroll_up(struct fbcon *c)
{
	/* Row by row: each copy is to a row that does not overlap its source. */
	for (u32 row = 0; row + 1 < c->rows; row++)
		memcpy(&c->cells[row * c->cols], &c->cells[(row + 1) * c->cols], c->cols * sizeof(u16));
	for (u32 col = 0; col < c->cols; col++)
		c->cells[(c->rows - 1) * c->cols + col] = blank_cell(c);
}

static void newline(struct fbcon *c)
{
	c->x = 0;
	if (c->y + 1 < c->rows)
		c->y++;
	else
		scroll_up(c);
}

static void put_char(struct fbcon *c, char ch)
{
	switch (ch) {
	case '\n':
		newline(c);     /* as the serial console does: \n is \r\n */
		return;
	case '\r':
		c->x = 0;
		return;
	case '\b':
		if (c->x > 0)
			c->x--;
		return;
	case '\t':
		do
			put_char(c, ' ');
		while (c->x % TAB_WIDTH != 0 && c->x < c->cols);
		return;
	}
	if (ch < FONT_FIRST || ch > FONT_LAST)
		ch = '?';
	/* x == cols means "the line is full": wrap only when another
	 * character comes, so a line of exactly cols characters followed by
	 * '\n' does not leave an empty line. */
	if (c->x >= c->cols)
		newline(c);
	c->cells[c->y * c->cols + c->x] = FBCON_CELL(ch, c->attr);
	c->x++;
}

void fbcon_write_chars(struct fbcon *c, const char *s, size_t n)
{
	if (c->cols == 0 || c->rows == 0)
		return;
	/* A CPU stopped by panic's NMI in the middle of a write may have left
	 * anything here; never index the grid with a bad cursor. */
	if (c->y >= c->rows)
		c->y = c->rows - 1;
	if (c->x > c->cols)
		c->x = c->cols;
	if (c->cursor_y >= c->rows)
		c->cursor_y = c->rows - 1;
	for (size_t i = 0; i < n; i++)
		put_char(c, s[i]);
	fbcon_flush(c);
}

/* --- setting up --- */

/* Both grids blank, cursor home and not yet drawn (so the first flush
 * draws it). */
static void clear_grid(struct fbcon *c, const struct fbcon_buffers *buf)
{
	c->attr = FBCON_ATTR_DEFAULT;
	c->cells = buf->cells;
	c->shown = buf->shown;
	for (u32 i = 0; i < c->cols * c->rows; i++)
		c->cells[i] = c->shown[i] = blank_cell(c);
	c->x = c->y = 0;
	c->cursor_x = c->cols;
	c->cursor_y = 0;
	c->bytes_out = 0;
	c->move_hw_cursor = NULL;
}

int fbcon_setup_pixels(struct fbcon *c, const struct fb_surface *surf,
		       const struct fbcon_buffers *buf)
{
	if (surf->bytes_pp < 2 || surf->bytes_pp > 4)
		return -1;
	u32 cols = surf->width / FONT_WIDTH, rows = surf->height / FONT_HEIGHT;
	if (cols == 0 || rows == 0 || surf->pitch < surf->width * surf->bytes_pp)
		return -1;
	/* The strip holds one line of the screen (fill_surface) and one text
	 * row of glyphs; a narrower strip means fewer columns. */
	if (buf->strip_bytes < (size_t)surf->width * surf->bytes_pp)
		return -1;
	cols = MIN(cols, (u32)(buf->strip_bytes / (FONT_HEIGHT * FONT_WIDTH * surf->bytes_pp)));
	if (cols == 0 || cols > buf->max_cells)
		return -1;
	if ((u64)cols * rows > buf->max_cells)
		rows = buf->max_cells / cols;
	c->text_mode = false;
	c->surf = *surf;
	c->vga = NULL;
	c->cols = cols;
	c->rows = rows;
	c->strip = buf->strip;
	clear_grid(c, buf);
	for (u32 i = 0; i < 16; i++)
		c->palette[i] = fb_pixel_value(surf, vga_colours[i][0],
					       vga_colours[i][1], vga_colours[i][2]);
	fill_surface(c, c->palette[(c->attr >> 4) & 0xF]);
	fbcon_flush(c);
	return 0;
}

int fbcon_setup_text(struct fbcon *c, volatile u16 *vga, u32 cols, u32 rows,
		     u32 pitch, const struct fbcon_buffers *buf)
{
	if (cols == 0 || rows == 0 || pitch < cols || (u64)cols * rows > buf->max_cells)
		return -1;
	c->text_mode = true;
	c->vga = vga;
	c->vga_pitch = pitch;
	c->cols = cols;
	c->rows = rows;
	c->strip = NULL;
	clear_grid(c, buf);
	/* What GRUB left on the screen is unknown: write every cell. */
	for (u32 row = 0; row < rows; row++)
		flush_span(c, row, 0, cols);
	fbcon_flush(c);
	return 0;
}
