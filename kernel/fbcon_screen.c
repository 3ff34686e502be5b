/* SPDX-License-Identifier: MIT */
/* kernel/fbcon_screen.c - the screen console registered with printk: the
 * Multiboot2 framebuffer (or VGA text mode) driven by the engine in
 * fbcon.c. Interface in fbcon.h.
 *
 * When it comes up: fbcon_init(), before the memory manager, through the
 * boot page tables, which map physical 0..4 GiB only (boot/entry.asm); a
 * framebuffer above 4 GiB (a 64-bit BAR behind "Above 4G decoding" or
 * Resizable BAR) waits for fbcon_init_late(), after paging_init() has mapped
 * it (mm/paging.c). Either way console_register() replays the log
 * (kernel/console.h), so the screen shows every line printed before.
 */
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/bootinfo.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/cpu.h"

/* Room for a 480x135-character grid: a 3840x2160 screen. On anything
 * bigger the console uses the top rows that fit. */
#define FBCON_MAX_CELLS 65536
/* One text row of pixels for screens up to 8192 pixels wide at 4 bytes per
 * pixel (wider ones use the left part). */
#define STRIP_BYTES (FONT_HEIGHT * 8192 * 4)

static struct fbcon screen;
static u16 screen_cells[FBCON_MAX_CELLS], screen_shown[FBCON_MAX_CELLS];
static u8 screen_strip[STRIP_BYTES] __aligned(8);
static bool waiting_for_mm;     /* above 4 GiB: fbcon_init_late() sets it up */

static const struct fbcon_buffers screen_buffers = {
	.cells = screen_cells, .shown = screen_shown, .max_cells = FBCON_MAX_CELLS,
	.strip = screen_strip, .strip_bytes = STRIP_BYTES,
};

static void screen_write(struct console *con, const char *s, size_t n)
{
	fbcon_write_chars(container_of(con, struct fbcon, con), s, n);
}

/* The VGA CRT controller's cursor location registers (0x0E high, 0x0F
 * low), reached through the index/data port pair at 0x3D4/0x3D5. */
static void vga_move_hw_cursor(struct fbcon *c)
{
	u32 x = c->x < c->cols ? c->x : c->cols - 1;
	u16 pos = (u16)(c->y * c->vga_pitch + x);
	outb(0x3D4, 0x0F);
	outb(0x3D5, (u8)pos);
	outb(0x3D4, 0x0E);
	outb(0x3D5, (u8)(pos >> 8));
}

/* The colour layout GRUB gave, or the usual one for the depth when it gave
 * none: xRGB 8:8:8, RGB 5:6:5 at 16 bpp, 5:5:5 at 15 bpp. */
static void colour_layout(struct fb_surface *s, const struct boot_framebuffer *fb)
{
	s->red_pos = fb->red_pos, s->red_size = fb->red_size;
	s->green_pos = fb->green_pos, s->green_size = fb->green_size;
	s->blue_pos = fb->blue_pos, s->blue_size = fb->blue_size;
	if (s->red_size || s->green_size || s->blue_size)
		return;
	if (fb->bpp == 16) {
		s->red_pos = 11, s->green_pos = 5, s->blue_pos = 0;
		s->red_size = 5, s->green_size = 6, s->blue_size = 5;
	} else if (fb->bpp == 15) {
		s->red_pos = 10, s->green_pos = 5, s->blue_pos = 0;
		s->red_size = s->green_size = s->blue_size = 5;
	} else {
		s->red_pos = 16, s->green_pos = 8, s->blue_pos = 0;
		s->red_size = s->green_size = s->blue_size = 8;
	}
}

/* Pixel mode: check what GRUB gave before we draw on it. */
static int init_pixels(const struct boot_framebuffer *fb)
{
	if (fb->bpp != 32 && fb->bpp != 24 && fb->bpp != 16 && fb->bpp != 15) {
		pr_warn("fbcon: %u bits per pixel is not supported (only 15, 16, 24 and 32); "
			"screen console off\n", fb->bpp);
		return -1;
	}
	struct fb_surface surf = {
		.base = phys_to_virt(fb->addr),
		.pitch = fb->pitch,
		.width = fb->width,
		.height = fb->height,
		.bytes_pp = (fb->bpp + 7u) / 8u,
	};
	colour_layout(&surf, fb);
	if (fbcon_setup_pixels(&screen, &surf, &screen_buffers) != 0) {
		pr_warn("fbcon: unusable framebuffer geometry %ux%u pitch %u; screen console off\n",
			fb->width, fb->height, fb->pitch);
		return -1;
	}
	return 0;
}

static int init_text(const struct boot_framebuffer *fb)
{
	/* Width and height are in characters, pitch in bytes. */
	int err = fbcon_setup_text(&screen, phys_to_virt(fb->addr), fb->width, fb->height,
				   fb->pitch / 2, &screen_buffers);
	if (err)
		pr_warn("fbcon: unusable VGA text mode %ux%u pitch %u; screen console off\n",
			fb->width, fb->height, fb->pitch);
	else
		screen.move_hw_cursor = vga_move_hw_cursor;
	return err;
}

/* Set up and register the screen console on boot_info.fb. */
static void start_screen(void)
{
	const struct boot_framebuffer *fb = &boot_info.fb;
	int err;
	switch (fb->type) {
	case FB_TYPE_RGB:
		err = init_pixels(fb);
		break;
	case FB_TYPE_EGA_TEXT:
		err = init_text(fb);
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
	console_register(&screen.con);  /* replays the log onto the screen */
	if (fb->type == FB_TYPE_EGA_TEXT)
		pr_info("fbcon: VGA text mode, %ux%u characters at 0x%lx\n",
			fb->width, fb->height, fb->addr);
	else
		pr_info("fbcon: %ux%u %u bpp framebuffer at 0x%lx, %ux%u characters\n",
			fb->width, fb->height, fb->bpp, fb->addr, screen.cols, screen.rows);
}

void fbcon_init(void)
{
	const struct boot_framebuffer *fb = &boot_info.fb;
	fbcon_debug_full_redraw = cmdline_has("fbcon_debug_full_redraw");
	if (!fb->present) {
		pr_info("fbcon: the boot loader gave no framebuffer; no screen console\n");
		return;
	}
	u64 end = fb->addr + (u64)fb->pitch * fb->height;
	if (end < fb->addr) {
		pr_warn("fbcon: framebuffer at 0x%lx wraps around; screen console off\n", fb->addr);
		return;
	}
	/* "fbcon_debug_late": act as if it were above 4 GiB (QEMU cannot
	 * place one there), so that the late path and its replay are tested. */
	if (end > (4UL << 30) || cmdline_has("fbcon_debug_late")) {
		pr_info("fbcon: framebuffer at 0x%lx..0x%lx%s: on the screen once "
			"the kernel page tables map it\n", fb->addr, end,
			end > (4UL << 30) ? " is above 4 GiB" : "");
		waiting_for_mm = true;
		return;
	}
	start_screen();
}

void fbcon_init_late(void)
{
	if (!waiting_for_mm)
		return;
	waiting_for_mm = false;
	start_screen();
}

/* Row `row` of the screen shows line from its first column: in the grid,
 * and (pixel mode) in the framebuffer's pixels. */
static bool row_shows(u32 row, const char *line, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		u16 cell = screen.cells[row * screen.cols + i];
		if ((char)(cell & 0xFF) != line[i])
			return false;
		if (screen.text_mode) {
			if (screen.vga[row * screen.vga_pitch + i] != cell)
				return false;
		} else if (fbcon_cell_mismatches(&screen, (u32)i, row, line[i],
						 screen.palette[(cell >> 8) & 0xF],
						 screen.palette[(cell >> 12) & 0xF]) != 0) {
			return false;
		}
	}
	return true;
}

bool fbcon_screen_shows(const char *line)
{
	size_t n = strlen(line);
	if (!screen.con.write || n == 0 || n > screen.cols)
		return false;
	for (u32 row = 0; row < screen.rows; row++)
		if (row_shows(row, line, n))
			return true;
	return false;
}
