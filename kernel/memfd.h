/* SPDX-License-Identifier: MIT */
/* kernel/memfd.h - memfd_create(2): an anonymous file whose content is
 * shared anonymous memory (docs/madvise.md, "memfd").
 *
 * A memfd is an open file (kernel/file.h) over a struct shared_anon
 * (mm/shared_anon.h), the object MAP_SHARED|MAP_ANONYMOUS memory lives in,
 * here with a size that changes: ftruncate sets it, a write past the end
 * grows it. The file holds one reference on the object and each VMA that
 * maps it another, so the memory outlives close() while mapped, and the
 * last unmap or close frees it. What Linux's shmem file does, Pagoda's
 * memfd does with the same errno:
 *   - read, write, pread64, pwrite64 and lseek (SEEK_SET/CUR/END,
 *     SEEK_DATA/HOLE: a page never touched is a hole) at a position;
 *   - ftruncate: grows (zeros) or shrinks; a shrink zeroes the tail of the
 *     last page and unmaps the pages past the end from every mapper, so a
 *     later access there is SIGBUS (BUS_ADRERR), as Linux;
 *   - fstat: a regular file, mode 0777, its size, and 8 blocks a page held;
 *   - mmap MAP_SHARED at any page offset, also past the end (SIGBUS there
 *     until the file grows); /proc/PID/maps names it "/memfd:NAME (deleted)".
 * Refused, as a Linux without the feature: MFD_HUGETLB (no hugetlbfs:
 * ENOSYS, Linux's hugetlb_file_setup stub), MFD_ALLOW_SEALING (EINVAL: no
 * seals can be added; fcntl F_GET_SEALS says F_SEAL_SEAL, kernel/fcntl.c). MAP_PRIVATE maps the file's pages read-only and copies one
 * on the first write to it (mm/fault.c, do_cow_fault; docs/tmpfs.md). Sizes up to
 * shared_anon_max_size() (Linux's MAX_LFS_FILESIZE, as shmem; EFBIG
 * beyond); pages are allocated only where written or faulted.
 *
 * The same file kind opens a tmpfs file (kernel/tmpfs.h): a named object
 * of the same sort, opened by name, with its own mode and link count, and
 * O_APPEND honoured (every write goes to the end, as on Linux).
 *
 * Locking: the object's size_lock (an rwsem, mm/shared_anon.h) serialises
 * size changes (ftruncate, a write that grows the file, fallocate: write)
 * against reads and writes (read), across every file open on the object;
 * it comes before mmap_lock (a copy to or from user memory may fault with
 * it held) and before the object's other locks.
 */
#ifndef PAGODA_MEMFD_H
#define PAGODA_MEMFD_H

#include "kernel/types.h"

struct shared_anon;
struct file;

/* The object behind fd if it is the calling process's memfd, with a
 * reference taken for the caller (for mmap, mm/mmap.c); else NULL. */
struct shared_anon *memfd_get_object(int fd);

/* The object behind an open memfd or tmpfs file, else NULL. No reference
 * taken: valid while the caller holds f. */
struct shared_anon *shmem_file_object(struct file *f);
/* A new open file (one reference, the caller's) over obj, which it takes a
 * reference of its own on; fmode FMODE_*, flags O_NONBLOCK | O_APPEND.
 * NULL on -ENOMEM. */
struct file *shmem_file_open(struct shared_anon *obj, u32 fmode, u32 flags);
/* Set the size under size_lock: 0, -EFBIG past the largest size, -ENOMEM
 * (ftruncate, and open with O_TRUNC). */
long shmem_file_truncate(struct shared_anon *obj, u64 length);

/* Registers memfd_create and ftruncate, and fallocate (kernel/fallocate.c). */
void memfd_syscalls_init(void);
void fallocate_syscalls_init(void);

#endif
