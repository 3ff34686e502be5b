/* SPDX-License-Identifier: MIT */
/* kernel/fbcon.h - the screen console: text drawn on the Multiboot2
 * framebuffer with a built-in 8x16 bitmap font (kernel/font.h), or VGA text
 * mode when that is what GRUB left. On a PC without a serial port this is
 * the only output.
 *
 * The console keeps two grids of character cells (character and colour,
 * packed as in VGA text memory): cells[], what the screen should show, and
 * shown[], what it shows now. Writing text, scrolling and moving the cursor
 * only change cells[], in RAM. At the end of each write, fbcon_flush()
 * compares the grids row by row, renders each row's changed span of
 * characters into a RAM strip (one text row of pixels), and copies that
 * span to the framebuffer line by line: sequential stores, each pixel of
 * the screen written at most once per write, however many lines scrolled.
 * The screen is never read: reading framebuffer memory is very slow on
 * real hardware (it is uncached or write-combining). bytes_out counts every
 * byte stored to the screen memory (the tests hold a budget on it).
 *
 * Locking: none of its own. Writes arrive through console_lock (printk),
 * or with no lock (kernel/console.h) from the CPU that panics - another
 * CPU may have been stopped anywhere in a write - or from an exception or
 * NMI that came in the middle of a write on this CPU: so write() re-checks
 * the cursor on every call, an interrupted flush is redone by the next
 * (shown[] is updated only after its span reached the screen), and nothing
 * here can fault or wait.
 *
 * The rest of this header is the machinery, exposed so that the tests
 * (tests/kernel/kernel/test_fbcon.c, tests/host/test_fbcon.c) can run a
 * console on an off-screen buffer.
 */
#ifndef PAGODA_FBCON_H
#define PAGODA_FBCON_H

#include "kernel/types.h"
#include "kernel/console.h"

/* Register the screen console described by boot_info.fb, if the boot page
 * tables reach it (below 4 GiB). Called before the memory manager. */
void fbcon_init(void);
/* After mm_init: a framebuffer above 4 GiB (a 64-bit BAR), which only the
 * kernel's own direct map reaches (mm/paging.c), is registered now; the
 * log replay (console.h) shows it everything printed before. */
void fbcon_init_late(void);
/* The screen console's grid holds line (at a row start): for the tests that
 * check a panic reached the screen. Also compares the framebuffer's pixels
 * of that row with the glyphs (reading the screen, which the console itself
 * never does), so a line that never left RAM does not count. */
bool fbcon_screen_shows(const char *line);

/* A cell: character in bits 0-7, colour in bits 8-15 (foreground in the low
 * nibble, background in the high one), exactly the VGA text-mode layout. */
#define FBCON_ATTR_DEFAULT 0x07         /* light grey on black */
#define FBCON_CELL(ch, attr) ((u16)((u8)(ch) | ((u16)(attr) << 8)))

/* A linear pixel buffer: the real framebuffer or a test buffer. */
struct fb_surface {
	u8 *base;
	u32 pitch;                      /* bytes from one row to the next */
	u32 width, height;              /* pixels */
	u32 bytes_pp;                   /* 2 (15 or 16 bpp), 3 or 4 */
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

/* The RAM a console works in, given by its owner. */
struct fbcon_buffers {
	u16 *cells, *shown;             /* max_cells each */
	u32 max_cells;
	u8 *strip;                      /* pixel mode: one text row of pixels */
	size_t strip_bytes;
};

struct fbcon {
	struct console con;             /* first: write() gets &con */
	bool text_mode;                 /* VGA text: cells go straight to vga */
	struct fb_surface surf;         /* pixel mode only */
	volatile u16 *vga;              /* text mode only */
	u32 vga_pitch;                  /* text mode: cells per row in memory */
	u32 cols, rows;
	u32 x, y;                       /* cursor, in cells */
	u8 attr;                        /* colour of new characters */
	u16 *cells;                     /* cols * rows, what the screen should show */
	u16 *shown;                     /* cols * rows, what it shows */
	u32 cursor_x, cursor_y;         /* where the cursor is drawn (cols: nowhere) */
	u8 *strip;                      /* FONT_HEIGHT rows of cols characters */
	u32 palette[16];                /* the 16 VGA colours as pixel values */
	u64 bytes_out;                  /* bytes stored to the screen memory */
	/* Text mode, the real screen only: move the VGA hardware cursor. */
	void (*move_hw_cursor)(struct fbcon *c);
};

/* Set up con to draw on surf (pixel mode) in buf. Clears the screen.
 * Returns 0, or -1 if the surface is unusable (bytes_pp not 2, 3 or 4,
 * smaller than one glyph, a strip too small for one row of glyphs). */
int fbcon_setup_pixels(struct fbcon *con, const struct fb_surface *surf,
		       const struct fbcon_buffers *buf);
/* Set up con on VGA text memory (cols x rows cells, pitch cells per row).
 * Clears the screen. Returns 0, or -1 if the grid does not fit. */
int fbcon_setup_text(struct fbcon *con, volatile u16 *vga, u32 cols, u32 rows,
		     u32 pitch, const struct fbcon_buffers *buf);
/* Write n bytes: printable ASCII, '\n', '\r', '\t', '\b'; anything else is
 * shown as '?'. Ends with fbcon_flush(). */
void fbcon_write_chars(struct fbcon *con, const char *s, size_t n);
/* Bring the screen up to date with cells[] and the cursor. */
void fbcon_flush(struct fbcon *con);
/* The negative control "fbcon_debug_full_redraw": every flush redraws
 * every row whole, as drawing with no record of the screen would (the
 * byte budgets of the tests must then fail). */
extern bool fbcon_debug_full_redraw;
/* The pixel value for an 8-bit-per-channel colour on surf. */
u32 fb_pixel_value(const struct fb_surface *surf, u8 r, u8 g, u8 b);
/* Read back one pixel (tests only: the console never reads the screen). */
u32 fb_read_pixel(const struct fb_surface *surf, u32 x, u32 y);
/* Pixels of cell (col, row) that differ from glyph ch drawn in palette
 * colours fg on bg (tests: reads the screen). */
u32 fbcon_cell_mismatches(const struct fbcon *con, u32 col, u32 row, char ch, u32 fg, u32 bg);

#endif
