/* SPDX-License-Identifier: MIT */
/* kernel/sysfs.h - the /sys files (docs/syscalls.md, docs/thp.md).
 *
 * Linux's sysfs shows kernel objects as directories and their attributes
 * as small text files: reading one calls the attribute's show(), writing
 * calls its store() with the written bytes. Pagoda has the attributes of
 * /sys/kernel/mm/transparent_hugepage/ (mm/thp_sysfs.c), the THP and
 * khugepaged knobs that Linux's own mm selftests read and set.
 *
 * An attribute is a name below its group's directory and two functions;
 * this file does the rest as Linux's kernfs does: open by name (ENOENT for
 * any other name below /sys), EACCES when opened for writing without a
 * store, each read a fresh show() from which the position picks the bytes
 * (one value, never torn: show writes one word), each write one store()
 * of at most PAGE_SIZE - 1 bytes, NUL-terminated, whatever the position.
 * stat sees regular files (0644, or 0444 without store) and directories
 * for every path prefix of an attribute (/sys, /sys/kernel, ...).
 *
 * Locking: none here. show and store read and write their variables with
 * READ_ONCE/WRITE_ONCE (one word each), and the mm code reads them the
 * same way; a store never sleeps holding anything.
 */
#ifndef PAGODA_KERNEL_SYSFS_H
#define PAGODA_KERNEL_SYSFS_H

#include "kernel/types.h"

struct file;

struct sysfs_attr {
	const char *name;       /* below the group's directory: "enabled", "khugepaged/defrag" */
	/* Format the value into buf (size bytes, always enough for one
	 * line); returns the length. */
	u64 (*show)(char *buf, u64 size);
	/* buf holds the count written bytes and a NUL. Returns count, or
	 * -errno (Linux's: EINVAL for a word or number it does not take).
	 * NULL: read-only. */
	long (*store)(const char *buf, u64 count);
};

/* Open the /sys file at path (absolute): a new file with one reference,
 * or NULL with *err = -ENOENT or -ENOMEM. */
struct file *sysfs_open(const char *path, long *err);

/* Is path a directory of /sys (stat: kernel/sys_stat.c)? */
bool sysfs_is_dir(const char *path);

/* Linux's helpers for store(): sysfs_streq (equal, a trailing newline on
 * either side ignored) and kstrtoul/kstrtouint in base 10 (an optional
 * '+', digits, an optional newline, nothing else: -EINVAL; too large:
 * -ERANGE). */
bool sysfs_streq(const char *a, const char *b);
long kstrtoul(const char *s, u64 *v);
long kstrtouint(const char *s, u32 *v);

/* The attribute groups (mm/thp_sysfs.c). */
extern const struct sysfs_attr thp_sysfs_attrs[];
extern const u32 thp_sysfs_nr_attrs;

#endif
