/* SPDX-License-Identifier: MIT */
/* kernel/font.h - the built-in 8x16 bitmap font of the screen console:
 * printable ASCII, 0x20 (space) to 0x7E (~).
 *
 * A glyph is 16 bytes, one per pixel row from the top; in each byte bit 7 is
 * the leftmost pixel. The glyphs are written in kernel/font.c as pictures
 * ("..XX....") and turned into bytes on first use.
 */
#ifndef PAGODA_FONT_H
#define PAGODA_FONT_H

#include "kernel/types.h"

#define FONT_WIDTH 8
#define FONT_HEIGHT 16
#define FONT_FIRST ' '
#define FONT_LAST '~'
#define FONT_COUNT (FONT_LAST - FONT_FIRST + 1)

/* The 16 rows of ch's glyph; characters outside the font get '?'. */
const u8 *font_glyph(char ch);

/* Number of malformed picture rows in the font source (missing, not 8
 * characters, or a character other than '.' and 'X'): 0 when the font is
 * sound. Malformed rows are drawn blank. For the tests. */
u32 font_bad_rows(void);

#endif
