/* kernel/fbcon.h - the screen console: text drawn on the Multiboot2
 * framebuffer with a built-in 8x16 bitmap font, or VGA text mode when that is
 * what GRUB left. On a PC without a serial port this is the only output. */
#ifndef PAGODA_FBCON_H
#define PAGODA_FBCON_H

/* Register the screen console described by boot_info.fb (if any). */
void fbcon_init(void);

#endif
