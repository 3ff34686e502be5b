/* SPDX-License-Identifier: MIT */
/* user/lib/proc.h - reading Linux's pseudo-files (proc.c).
 *
 * /proc/self/maps lines look like
 *     7f0000000000-7f0000004000 rw-p 00000000 00:00 0        [heap]
 * /proc/self/status and /proc/meminfo have "Name:   value kB" lines, and
 * /proc/vmstat "name value" lines.
 */
#ifndef USER_PROC_H
#define USER_PROC_H

#include "types.h"

/* Read a whole file into buf (NUL-terminated); returns its length or -1. */
long read_file(const char *path, char *buf, size_t size);

struct map_entry {
	unsigned long start, end;
	char perms[5];		/* "rw-p" */
};

/* Parse /proc/self/maps into out[] (at most max entries); returns the
 * number of entries, or -1 when the file cannot be read. */
int read_maps(struct map_entry *out, int max);

/* The value of "key:" in a status-style file (in kB for sizes), or -1. */
long proc_field(const char *path, const char *key);

/* "name value" lines, as in /proc/vmstat and /proc/self/tlbstat: the value
 * of name in text (true) or false when no line has it; proc_counter reads
 * the file first and returns the value or -1. */
bool text_counter(const char *text, const char *name, u64 *value);
long proc_counter(const char *path, const char *name);
/* n lines of one file read once (a consistent set): value[i] and have[i]
 * (false where no line has names[i], e.g. on another kernel, or when the
 * file cannot be read). */
void proc_counters(const char *path, const char *const *names, int n, u64 *value, bool *have);

#endif
