/* kernel/fbcon.c - the screen console (interface and rules in fbcon.h).
 *
 * Two back ends share one text engine. The engine keeps cells[] - what each
 * character position of the screen shows - and the cursor; whenever a cell
 * changes it calls draw_cell(), which either paints the glyph's 8x16 pixels
 * into a framebuffer (pixel mode) or stores the cell into VGA text memory,
 * whose layout is the cell layout (text mode).
 *
 * Scrolling moves the grid up one row and redraws only the cells whose
 * character or colour changed, so a screen of short lines costs little and
 * the framebuffer is never read back.
 */
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/bootinfo.h"
#include "kernel/printk.h"
#include "arch/x86_64/cpu.h"

/* Room for a 480x135-character grid: a 3840x2160 screen. On anything
 * bigger the console uses the top rows that fit. */
#define FBCON_MAX_CELLS 65536

#define TAB_WIDTH 8

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

/* Scale an 8-bit channel to a field of size bits at pos. */
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

static void put_pixel(u8 *p, u32 bytes_pp, u32 v)
{
	if (bytes_pp == 4) {
		*(u32 *)p = v;
	} else {        /* 24 bpp: three bytes, least significant first */
		p[0] = (u8)v;
		p[1] = (u8)(v >> 8);
		p[2] = (u8)(v >> 16);
	}
}

u32 fb_read_pixel(const struct fb_surface *surf, u32 x, u32 y)
{
	if (x >= surf->width || y >= surf->height)
		return 0;
	const u8 *p = surf->base + (u64)y * surf->pitch + (u64)x * surf->bytes_pp;
	if (surf->bytes_pp == 4)
		return *(const u32 *)p;
	return p[0] | (u32)p[1] << 8 | (u32)p[2] << 16;
}

static void fill_surface(const struct fb_surface *surf, u32 v)
{
	for (u32 y = 0; y < surf->height; y++) {
		u8 *p = surf->base + (u64)y * surf->pitch;
		for (u32 x = 0; x < surf->width; x++, p += surf->bytes_pp)
			put_pixel(p, surf->bytes_pp, v);
	}
}

/* --- the two back ends --- */

/* Show cell at (col, row). With cursor set, pixel mode underlines it (the
 * cursor); text mode has a hardware cursor instead (move_hw_cursor). */
static void draw_cell(struct fbcon *c, u32 col, u32 row, u16 cell, bool cursor)
{
	if (c->text_mode) {
		c->vga[row * c->vga_pitch + col] = cell;
		return;
	}
	const u8 *glyph = font_glyph((char)(cell & 0xFF));
	u32 fg = c->palette[(cell >> 8) & 0xF];
	u32 bg = c->palette[(cell >> 12) & 0xF];
	u32 bpp = c->surf.bytes_pp;
	u8 *line = c->surf.base + (u64)row * FONT_HEIGHT * c->surf.pitch +
		   (u64)col * FONT_WIDTH * bpp;
	for (u32 r = 0; r < FONT_HEIGHT; r++, line += c->surf.pitch) {
		u8 bits = glyph[r];
		if (cursor && r >= FONT_HEIGHT - 2)
			bits = 0xFF;
		u8 *p = line;
		for (u32 i = 0; i < FONT_WIDTH; i++, p += bpp)
			put_pixel(p, bpp, (bits & (0x80 >> i)) ? fg : bg);
	}
}

/* The VGA CRT controller's cursor location registers (0x0E high, 0x0F
 * low), reached through the index/data port pair at 0x3D4/0x3D5. */
static void move_hw_cursor(struct fbcon *c)
{
	u32 x = c->x < c->cols ? c->x : c->cols - 1;
	u16 pos = (u16)(c->y * c->vga_pitch + x);
	outb(0x3D4, 0x0F);
	outb(0x3D5, (u8)pos);
	outb(0x3D4, 0x0E);
	outb(0x3D5, (u8)(pos >> 8));
}

/* Only the console registered by fbcon_init drives the real VGA cursor;
 * test consoles on memory buffers must not. */
static struct fbcon screen;

static void show_cursor(struct fbcon *c, bool on)
{
	if (c->text_mode) {
		if (on && c == &screen)
			move_hw_cursor(c);
		return;
	}
	if (c->x < c->cols)
		draw_cell(c, c->x, c->y, c->cells[c->y * c->cols + c->x], on);
}

/* --- the text engine --- */

static u16 blank_cell(const struct fbcon *c)
{
	return FBCON_CELL(' ', c->attr);
}

static void set_cell(struct fbcon *c, u32 col, u32 row, u16 cell)
{
	/* Cheap insurance: a panic report nested inside a write (an
	 * exception in this very code) may move the cursor under us. */
	if (col >= c->cols || row >= c->rows)
		return;
	u16 *slot = &c->cells[row * c->cols + col];
	if (*slot != cell) {
		*slot = cell;
		draw_cell(c, col, row, cell, false);
	}
}

static void scroll_up(struct fbcon *c)
{
	for (u32 row = 0; row + 1 < c->rows; row++)
		for (u32 col = 0; col < c->cols; col++)
			set_cell(c, col, row, c->cells[(row + 1) * c->cols + col]);
	for (u32 col = 0; col < c->cols; col++)
		set_cell(c, col, c->rows - 1, blank_cell(c));
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
	set_cell(c, c->x, c->y, FBCON_CELL(ch, c->attr));
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
	show_cursor(c, false);
	for (size_t i = 0; i < n; i++)
		put_char(c, s[i]);
	show_cursor(c, true);
}

static void clear_grid(struct fbcon *c)
{
	for (u32 i = 0; i < c->cols * c->rows; i++)
		c->cells[i] = blank_cell(c);
	c->x = c->y = 0;
}

int fbcon_setup_pixels(struct fbcon *c, const struct fb_surface *surf,
		       u16 *cells, u32 max_cells)
{
	if (surf->bytes_pp != 3 && surf->bytes_pp != 4)
		return -1;
	u32 cols = surf->width / FONT_WIDTH, rows = surf->height / FONT_HEIGHT;
	if (cols == 0 || rows == 0 || cols > max_cells ||
	    surf->pitch < surf->width * surf->bytes_pp)
		return -1;
	if ((u64)cols * rows > max_cells)
		rows = max_cells / cols;
	c->text_mode = false;
	c->surf = *surf;
	c->vga = NULL;
	c->cols = cols;
	c->rows = rows;
	c->attr = FBCON_ATTR_DEFAULT;
	c->cells = cells;
	for (u32 i = 0; i < 16; i++)
		c->palette[i] = fb_pixel_value(surf, vga_colours[i][0],
					       vga_colours[i][1], vga_colours[i][2]);
	clear_grid(c);
	fill_surface(surf, c->palette[(c->attr >> 4) & 0xF]);
	show_cursor(c, true);
	return 0;
}

int fbcon_setup_text(struct fbcon *c, volatile u16 *vga, u32 cols, u32 rows,
		     u32 pitch, u16 *cells, u32 max_cells)
{
	if (cols == 0 || rows == 0 || pitch < cols || (u64)cols * rows > max_cells)
		return -1;
	c->text_mode = true;
	c->vga = vga;
	c->vga_pitch = pitch;
	c->cols = cols;
	c->rows = rows;
	c->attr = FBCON_ATTR_DEFAULT;
	c->cells = cells;
	clear_grid(c);
	for (u32 row = 0; row < rows; row++)
		for (u32 col = 0; col < cols; col++)
			draw_cell(c, col, row, c->cells[row * cols + col], false);
	show_cursor(c, true);
	return 0;
}

/* --- the console registered with printk --- */

static u16 screen_cells[FBCON_MAX_CELLS];

static void screen_write(struct console *con, const char *s, size_t n)
{
	fbcon_write_chars(container_of(con, struct fbcon, con), s, n);
}

/* Pixel mode: check what GRUB gave before we draw on it. */
static int init_pixels(const struct boot_framebuffer *fb)
{
	if (fb->bpp != 32 && fb->bpp != 24) {
		pr_warn("fbcon: %u bits per pixel is not supported (only 24 and 32); screen console off\n",
			fb->bpp);
		return -1;
	}
	struct fb_surface surf = {
		.base = phys_to_virt(fb->addr),
		.pitch = fb->pitch,
		.width = fb->width,
		.height = fb->height,
		.bytes_pp = fb->bpp / 8u,
		.red_pos = fb->red_pos, .red_size = fb->red_size,
		.green_pos = fb->green_pos, .green_size = fb->green_size,
		.blue_pos = fb->blue_pos, .blue_size = fb->blue_size,
	};
	if (!surf.red_size && !surf.green_size && !surf.blue_size) {
		/* No colour layout given: assume the usual xRGB. */
		surf.red_pos = 16;
		surf.green_pos = 8;
		surf.blue_pos = 0;
		surf.red_size = surf.green_size = surf.blue_size = 8;
	}
	if (fbcon_setup_pixels(&screen, &surf, screen_cells, FBCON_MAX_CELLS) != 0) {
		pr_warn("fbcon: unusable framebuffer geometry %ux%u pitch %u; screen console off\n",
			fb->width, fb->height, fb->pitch);
		return -1;
	}
	return 0;
}

void fbcon_init(void)
{
	const struct boot_framebuffer *fb = &boot_info.fb;
	if (!fb->present) {
		pr_info("fbcon: the boot loader gave no framebuffer; no screen console\n");
		return;
	}
	/* The boot page tables map physical 0..4 GiB only (boot/entry.asm). */
	u64 end = fb->addr + (u64)fb->pitch * fb->height;
	if (end > (4UL << 30) || end < fb->addr) {
		pr_warn("fbcon: framebuffer at 0x%lx..0x%lx is above 4 GiB, outside the boot direct map; screen console off\n",
			fb->addr, end);
		return;
	}
	int err;
	switch (fb->type) {
	case FB_TYPE_RGB:
		err = init_pixels(fb);
		break;
	case FB_TYPE_EGA_TEXT:
		/* Width and height are in characters, pitch in bytes. */
		err = fbcon_setup_text(&screen, phys_to_virt(fb->addr), fb->width, fb->height,
				       fb->pitch / 2, screen_cells, FBCON_MAX_CELLS);
		if (err)
			pr_warn("fbcon: unusable VGA text mode %ux%u pitch %u; screen console off\n",
				fb->width, fb->height, fb->pitch);
		break;
	default:
		pr_warn("fbcon: framebuffer type %u (indexed colour) is not supported; screen console off\n",
			fb->type);
		err = -1;
		break;
	}
	if (err)
		return;
	screen.con.name = "fbcon";
	screen.con.write = screen_write;
	console_register(&screen.con);
	/* Now on the screen too, so a person sees what it is showing. */
	if (fb->type == FB_TYPE_EGA_TEXT)
		pr_info("fbcon: VGA text mode, %ux%u characters at 0x%lx\n",
			fb->width, fb->height, fb->addr);
	else
		pr_info("fbcon: %ux%u %u bpp framebuffer at 0x%lx, %ux%u characters\n",
			fb->width, fb->height, fb->bpp, fb->addr, screen.cols, screen.rows);
}
