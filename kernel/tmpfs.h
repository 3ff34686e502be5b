/* SPDX-License-Identifier: MIT */
/* kernel/tmpfs.h - a small writable RAM file system for regular files
 * (docs/tmpfs.md).
 *
 * Linux programs create scratch files where they stand (the working
 * directory, "/" for every Pagoda process) or in /tmp, map them, and unlink
 * them at once. Pagoda gives them Linux's tmpfs for that, much reduced:
 *   - two directories hold files: "/" (besides /proc and /sys, which stay
 *     what they are) and "/tmp" (mode 1777, as on a Linux system); no
 *     sub-directories, no mkdir, rename or links;
 *   - a file is a shared anonymous object (mm/shared_anon.h), the one a
 *     memfd is: its pages in the object's page tree, allocated where
 *     written or faulted, its size changed by write, ftruncate, O_TRUNC and
 *     fallocate. It is opened as a memfd is (kernel/memfd.h: read, write,
 *     pread, pwrite, lseek, fstat, ftruncate, fallocate, mmap MAP_SHARED);
 *   - a directory entry holds one reference on the object, each open file
 *     and each mapping another: unlink drops the entry's, and the pages go
 *     when the last file is closed and the last mapping unmapped, as on
 *     Linux;
 *   - Linux's errno: ENOENT (no such file, or a missing directory on the
 *     way), EEXIST (O_CREAT|O_EXCL of a name that exists), EISDIR (a
 *     directory opened for writing or created), ENOTDIR (a file used as a
 *     directory, O_DIRECTORY on a file), ENAMETOOLONG (a name over 255
 *     bytes), ENOSPC (more than TMPFS_MAX_FILES files: tmpfs's nr_inodes).
 * Permissions are not checked (every process is root); a new file's mode
 * is open's mode less the umask every Linux process starts with (022).
 *
 * Locking: tmpfs_lock (an rwsem) protects the list of names; it is held
 * while an entry is looked up and a reference taken, or an entry added or
 * removed, never across a file operation. Before an object's size_lock.
 */
#ifndef PAGODA_TMPFS_H
#define PAGODA_TMPFS_H

#include "kernel/types.h"

struct file;

/* Linux's open flags that the file system looks at (asm-generic/fcntl.h). */
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000

/* How many files may exist at once (tmpfs's nr_inodes): ENOSPC beyond. */
#define TMPFS_MAX_FILES 1024

/* Does the file system answer for this absolute name (from path_from_user)?
 * Everything but /proc and /sys and what is below them. */
bool tmpfs_claims(const char *path);
/* open(2) of a name tmpfs_claims: the open file (one reference, the
 * caller's), or NULL with *err. flags are open's (O_ACCMODE, O_CREAT,
 * O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NONBLOCK); mode is used when
 * the file is created. A directory opened read-only is a file that reads
 * EISDIR and fstat calls a directory. May sleep. */
struct file *tmpfs_open(const char *path, u64 flags, u32 mode, long *err);
/* Registers unlink and unlinkat (unlinkat's AT_REMOVEDIR too: the two
 * directories cannot go, EBUSY as a mount point's). */
void tmpfs_syscalls_init(void);

#endif
