/* SPDX-License-Identifier: MIT */
/* kernel/cmdline.h - the kernel command line: "key=value" and bare "flag"
 * words separated by spaces (GRUB's multiboot2 line, after the kernel path).
 *
 * Words Pagoda understands are listed in docs/cmdline.md (one table of every word).
 */
#ifndef PAGODA_CMDLINE_H
#define PAGODA_CMDLINE_H

#include "kernel/types.h"

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
