/* SPDX-License-Identifier: MIT */
/* kernel/cmdline.h - the kernel command line: "key=value" and bare "flag"
 * words separated by spaces (GRUB's multiboot2 line, after the kernel path).
 *
 * Under QEMU, more words may come from its fw_cfg device (below): the test
 * harness passes each configuration's words that way.
 *
 * Words Pagoda understands are listed in docs/cmdline.md (one table of every word).
 */
#ifndef PAGODA_CMDLINE_H
#define PAGODA_CMDLINE_H

#include "kernel/types.h"

/* The fw_cfg file whose words are added to GRUB's line under QEMU. */
#define CMDLINE_FW_CFG_FILE "opt/pagoda/cmdline"

/* Append the words of QEMU's fw_cfg file CMDLINE_FW_CFG_FILE, when the
 * machine has one (arch/x86_64/fw_cfg.h), to GRUB's command line in
 * boot_info.cmdline. Boot CPU, once, right after the boot information is
 * read and before any word is looked up. Returns the bytes added (0 when
 * there is no such file); a file that does not fit is refused whole, with a
 * message, since half a line would run the wrong thing quietly. */
size_t cmdline_add_from_fw_cfg(void);

/* Copy the value of key into buf (empty string for a bare flag).
 * Returns false if key is absent. */
bool cmdline_get(const char *key, char *buf, size_t size);
bool cmdline_has(const char *key);
/* Integer value of key=N, or def when absent or malformed. */
long cmdline_long(const char *key, long def);
/* Is item one of the comma-separated words in list ("a,b,c")? */
bool list_contains(const char *list, const char *item);
/* A negative control's bare word: *flag says whether word is on the line,
 * and when it is the console says "who: word: what (negative control)", so
 * that a rule broken on purpose never goes unnoticed in a log. */
void cmdline_debug_switch(const char *who, const char *word, bool *flag, const char *what);

#endif
