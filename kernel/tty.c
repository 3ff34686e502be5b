/* SPDX-License-Identifier: MIT */
/* kernel/tty.c - the console as a terminal: the two ioctls a C library
 * asks at start-up. glibc's isatty() is TCGETS (then stdout is line
 * buffered); musl asks TIOCGWINSZ for the same decision. Linux's serial
 * console answers both; Pagoda answers with Linux's defaults for a new
 * terminal (tty_std_termios) and a 0x0 window, as a serial line has.
 * Setting anything (TCSETS ...) is not supported: ENOTTY, as for any
 * ioctl a file does not have. */
#include "kernel/file.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"

#define TCGETS 0x5401
#define TIOCGWINSZ 0x5413

/* Linux's struct termios (uapi asm-generic/termbits.h), 36 bytes. */
struct termios_k {
	u32 c_iflag, c_oflag, c_cflag, c_lflag;
	u8 c_line;
	u8 c_cc[19];
};

struct winsize_k {
	u16 ws_row, ws_col, ws_xpixel, ws_ypixel;
};

static long tcgets(u64 arg)
{
	/* tty_std_termios: ICRNL|IXON; OPOST|ONLCR; B38400|CS8|CREAD|HUPCL;
	 * ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN; INIT_C_CC. */
	static const u8 init_cc[19] = { 3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0 };
	struct termios_k t = {
		.c_iflag = 0x500, .c_oflag = 0x5, .c_cflag = 0xbf, .c_lflag = 0x8a3b,
	};
	memcpy(t.c_cc, init_cc, sizeof(t.c_cc));
	return copy_to_user(arg, &t, sizeof(t)) ? -EFAULT : 0;
}

long console_ioctl(struct file *f, u32 cmd, u64 arg)
{
	(void)f;
	if (cmd == TCGETS)
		return tcgets(arg);
	if (cmd == TIOCGWINSZ) {
		struct winsize_k w = { 0, 0, 0, 0 };
		return copy_to_user(arg, &w, sizeof(w)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}
