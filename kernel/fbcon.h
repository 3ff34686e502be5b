/* kernel/fbcon.h - the screen console: text drawn on the Multiboot2
 * framebuffer with a built-in 8x16 bitmap font (kernel/font.h), or VGA text
 * mode when that is what GRUB left. On a PC without a serial port this is
 * the only output.
 *
 * The console keeps a grid of character cells (character and colour, packed
 * as in VGA text memory) and only ever *writes* the screen: scrolling moves
 * the grid and redraws the cells whose content changed. Reading framebuffer
 * memory is very slow on real hardware (it is uncached or write-combining),
 * so we never do.
 *
 * Locking: none of its own. Writes arrive through console_lock (printk);
 * panic() breaks that lock, so write() re-checks the cursor on every call and
 * touches nothing but the screen and its own grid: it cannot fault or wait.
 *
 * The rest of this header is the machinery, exposed so that the tests
 * (tests/kernel/kernel/test_fbcon.c) can run a console on an off-screen buffer.
 */
#ifndef PAGODA_FBCON_H
#define PAGODA_FBCON_H

#include "kernel/types.h"
#include "kernel/console.h"

/* Register the screen console described by boot_info.fb (if any). */
void fbcon_init(void);

/* A cell: character in bits 0-7, colour in bits 8-15 (foreground in the low
 * nibble, background in the high one), exactly the VGA text-mode layout. */
#define FBCON_ATTR_DEFAULT 0x07         /* light grey on black */
#define FBCON_CELL(ch, attr) ((u16)((u8)(ch) | ((u16)(attr) << 8)))

/* A linear pixel buffer: the real framebuffer or a test buffer. */
struct fb_surface {
	u8 *base;
	u32 pitch;                      /* bytes from one row to the next */
	u32 width, height;              /* pixels */
	u32 bytes_pp;                   /* 3 or 4 */
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
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
	u16 *cells;                     /* cols * rows, what the screen shows */
	u32 palette[16];                /* the 16 VGA colours as pixel values */
};

/* Set up con to draw on surf (pixel mode), with cells[] (room for
 * max_cells) as its grid. Clears the screen. Returns 0, or -1 if the surface
 * is unusable (bytes_pp not 3 or 4, smaller than one glyph). */
int fbcon_setup_pixels(struct fbcon *con, const struct fb_surface *surf,
		       u16 *cells, u32 max_cells);
/* Set up con on VGA text memory (cols x rows cells, pitch cells per row).
 * Clears the screen. Returns 0, or -1 if the grid does not fit. */
int fbcon_setup_text(struct fbcon *con, volatile u16 *vga, u32 cols, u32 rows,
		     u32 pitch, u16 *cells, u32 max_cells);
/* Write n bytes: printable ASCII, '\n', '\r', '\t', '\b'; anything else is
 * shown as '?'. */
void fbcon_write_chars(struct fbcon *con, const char *s, size_t n);
/* The pixel value for an 8-bit-per-channel colour on surf. */
u32 fb_pixel_value(const struct fb_surface *surf, u8 r, u8 g, u8 b);
/* Read back one pixel (tests only: the console never reads the screen). */
u32 fb_read_pixel(const struct fb_surface *surf, u32 x, u32 y);

#endif
