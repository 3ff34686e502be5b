/* SPDX-License-Identifier: MIT */
/* user/lib/uffd.h - the Linux ABI of userfaultfd(2), of /proc/PID/pagemap
 * and of its PAGEMAP_SCAN ioctl, as user programs need them.
 *
 * The values are Linux's (include/uapi/linux/userfaultfd.h and fs.h, and
 * Documentation/admin-guide/mm/pagemap.rst), written out here because the
 * programs use no host headers. What each thing means:
 *
 *   fd = userfaultfd(O_CLOEXEC | O_NONBLOCK);
 *   UFFDIO_API        must come first, exactly once: the caller names the
 *                     API version (UFFD_API) and the features it wants; the
 *                     kernel answers with every feature it has and the
 *                     ioctls the file accepts. An unknown version or feature
 *                     bit is EINVAL.
 *   UFFDIO_REGISTER   ties a range of the caller's memory to the file, in
 *                     MISSING and/or WP mode; answers with the range ioctls.
 *   UFFDIO_WRITEPROTECT  sets (mode WP) or clears the protection of a
 *                     registered range; clearing wakes the threads that
 *                     faulted there unless mode DONTWAKE.
 *   read(fd)          gives struct uffd_msg, one per faulting thread: the
 *                     faulter sleeps until the handler resolves the fault.
 *
 * With UFFD_FEATURE_WP_ASYNC the kernel resolves write-protect faults itself
 * (no message); /proc/self/pagemap bit 57 then says which pages are still
 * protected, and PAGEMAP_SCAN on the pagemap file lists the written ones and
 * can protect them again in the same call.
 */
#ifndef USER_UFFD_H
#define USER_UFFD_H

#include "types.h"

/* --- ioctl numbers: direction (2 bits) | size (14) | type (8) | number (8) */
#define IOC_NONE  0U
#define IOC_WRITE 1U		/* the caller passes data in */
#define IOC_READ  2U		/* the kernel passes data out */
#define IOC(dir, type, nr, size) \
	(((unsigned long)(dir) << 30) | ((unsigned long)(size) << 16) | \
	 ((unsigned long)(type) << 8) | (unsigned long)(nr))

/* --- userfaultfd(2) flags, besides O_CLOEXEC and O_NONBLOCK --- */
#define UFFD_USER_MODE_ONLY 1	/* only faults taken in user mode */

/* --- UFFDIO_API --- */
#define UFFD_API 0xaaUL		/* the only API version there is */

/* Feature bits, asked for and reported in struct uffdio_api.features. */
#define UFFD_FEATURE_PAGEFAULT_FLAG_WP  (1UL << 0)	/* WP mode exists */
#define UFFD_FEATURE_EVENT_FORK         (1UL << 1)
#define UFFD_FEATURE_EVENT_REMAP        (1UL << 2)
#define UFFD_FEATURE_EVENT_REMOVE       (1UL << 3)
#define UFFD_FEATURE_MISSING_HUGETLBFS  (1UL << 4)
#define UFFD_FEATURE_MISSING_SHMEM      (1UL << 5)
#define UFFD_FEATURE_EVENT_UNMAP        (1UL << 6)
#define UFFD_FEATURE_SIGBUS             (1UL << 7)
#define UFFD_FEATURE_THREAD_ID          (1UL << 8)	/* fill in ptid */
#define UFFD_FEATURE_MINOR_HUGETLBFS    (1UL << 9)
#define UFFD_FEATURE_MINOR_SHMEM        (1UL << 10)
#define UFFD_FEATURE_EXACT_ADDRESS      (1UL << 11)	/* no page rounding */
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1UL << 12)
#define UFFD_FEATURE_WP_UNPOPULATED     (1UL << 13)	/* markers (6.5) */
#define UFFD_FEATURE_POISON             (1UL << 14)
#define UFFD_FEATURE_WP_ASYNC           (1UL << 15)	/* dirty tracking (6.7) */
#define UFFD_FEATURE_MOVE               (1UL << 16)

struct uffdio_api {
	u64 api;		/* in: UFFD_API */
	u64 features;		/* in: wanted; out: all the kernel has */
	u64 ioctls;		/* out: 1 << _UFFDIO_* of the file's ioctls */
};

struct uffdio_range {
	u64 start;		/* page-aligned */
	u64 len;		/* page-aligned, not 0 */
};

/* --- UFFDIO_REGISTER --- */
#define UFFDIO_REGISTER_MODE_MISSING (1UL << 0)
#define UFFDIO_REGISTER_MODE_WP      (1UL << 1)
#define UFFDIO_REGISTER_MODE_MINOR   (1UL << 2)

struct uffdio_register {
	struct uffdio_range range;
	u64 mode;		/* in: UFFDIO_REGISTER_MODE_* */
	u64 ioctls;		/* out: the ioctls the range accepts */
};

/* --- UFFDIO_WRITEPROTECT --- */
#define UFFDIO_WRITEPROTECT_MODE_WP       (1UL << 0)	/* set; clear if 0 */
#define UFFDIO_WRITEPROTECT_MODE_DONTWAKE (1UL << 1)	/* clear, no wake */

struct uffdio_writeprotect {
	struct uffdio_range range;
	u64 mode;
};

/* --- UFFDIO_COPY, UFFDIO_ZEROPAGE: fill missing pages --- */
#define UFFDIO_COPY_MODE_DONTWAKE     (1UL << 0)
#define UFFDIO_COPY_MODE_WP           (1UL << 1)	/* mapped write-protected */
#define UFFDIO_ZEROPAGE_MODE_DONTWAKE (1UL << 0)

struct uffdio_copy {
	u64 dst, src, len;
	u64 mode;
	s64 copy;		/* out: bytes copied, or -errno */
};

struct uffdio_zeropage {
	struct uffdio_range range;
	u64 mode;
	s64 zeropage;		/* out: bytes mapped, or -errno */
};

/* --- the ioctls: type 0xaa, numbers _UFFDIO_* (also the bit numbers of
 * struct uffdio_api.ioctls and struct uffdio_register.ioctls) --- */
#define UFFDIO_TYPE 0xaa
#define _UFFDIO_REGISTER     0x00
#define _UFFDIO_UNREGISTER   0x01
#define _UFFDIO_WAKE         0x02
#define _UFFDIO_COPY         0x03
#define _UFFDIO_ZEROPAGE     0x04
#define _UFFDIO_MOVE         0x05
#define _UFFDIO_WRITEPROTECT 0x06
#define _UFFDIO_CONTINUE     0x07
#define _UFFDIO_POISON       0x08
#define _UFFDIO_API          0x3f

#define UFFDIO_API \
	IOC(IOC_READ | IOC_WRITE, UFFDIO_TYPE, _UFFDIO_API, sizeof(struct uffdio_api))
#define UFFDIO_REGISTER \
	IOC(IOC_READ | IOC_WRITE, UFFDIO_TYPE, _UFFDIO_REGISTER, sizeof(struct uffdio_register))
/* UNREGISTER and WAKE are marked "read" although the kernel reads the
 * range: a slip Linux keeps for the ABI's sake. */
#define UFFDIO_UNREGISTER \
	IOC(IOC_READ, UFFDIO_TYPE, _UFFDIO_UNREGISTER, sizeof(struct uffdio_range))
#define UFFDIO_WAKE \
	IOC(IOC_READ, UFFDIO_TYPE, _UFFDIO_WAKE, sizeof(struct uffdio_range))
#define UFFDIO_COPY \
	IOC(IOC_READ | IOC_WRITE, UFFDIO_TYPE, _UFFDIO_COPY, sizeof(struct uffdio_copy))
#define UFFDIO_ZEROPAGE \
	IOC(IOC_READ | IOC_WRITE, UFFDIO_TYPE, _UFFDIO_ZEROPAGE, sizeof(struct uffdio_zeropage))
#define UFFDIO_WRITEPROTECT \
	IOC(IOC_READ | IOC_WRITE, UFFDIO_TYPE, _UFFDIO_WRITEPROTECT, \
	    sizeof(struct uffdio_writeprotect))

/* --- messages read(2) from the file: 32 bytes each --- */
#define UFFD_EVENT_PAGEFAULT 0x12
#define UFFD_EVENT_FORK      0x13
#define UFFD_EVENT_REMAP     0x14
#define UFFD_EVENT_REMOVE    0x15
#define UFFD_EVENT_UNMAP     0x16

/* Flags of a page-fault message. */
#define UFFD_PAGEFAULT_FLAG_WRITE (1UL << 0)	/* the access was a write */
#define UFFD_PAGEFAULT_FLAG_WP    (1UL << 1)	/* it hit a protected page */
#define UFFD_PAGEFAULT_FLAG_MINOR (1UL << 2)

struct uffd_msg {
	u8 event;		/* UFFD_EVENT_* */
	u8 reserved1;
	u16 reserved2;
	u32 reserved3;
	union {
		struct {
			u64 flags;	/* UFFD_PAGEFAULT_FLAG_* */
			u64 address;	/* page-aligned unless EXACT_ADDRESS */
			u32 ptid;	/* with UFFD_FEATURE_THREAD_ID */
		} __attribute__((packed)) pagefault;
		struct {
			u32 ufd;
		} __attribute__((packed)) fork;
		struct {
			u64 from, to, len;
		} __attribute__((packed)) remap;
		struct {
			u64 start, end;	/* REMOVE and UNMAP */
		} __attribute__((packed)) remove;
		struct {
			u64 reserved1, reserved2, reserved3;
		} __attribute__((packed)) reserved;
	} arg;
} __attribute__((packed));

_Static_assert(sizeof(struct uffdio_api) == 24, "uffdio_api is 24 bytes");
_Static_assert(sizeof(struct uffdio_register) == 32, "uffdio_register is 32 bytes");
_Static_assert(sizeof(struct uffdio_writeprotect) == 24, "uffdio_writeprotect is 24 bytes");
_Static_assert(sizeof(struct uffd_msg) == 32, "uffd_msg is 32 bytes");
_Static_assert(sizeof(struct uffdio_copy) == 40, "uffdio_copy is 40 bytes");
_Static_assert(sizeof(struct uffdio_zeropage) == 32, "uffdio_zeropage is 32 bytes");

/* --- /proc/PID/pagemap: one u64 per virtual page, at offset
 * (address / 4096) * 8 --- */
#define PM_PFN_MASK       ((1UL << 55) - 1)	/* zero unless CAP_SYS_ADMIN */
#define PM_SOFT_DIRTY     (1UL << 55)
#define PM_MMAP_EXCLUSIVE (1UL << 56)
#define PM_UFFD_WP        (1UL << 57)	/* write-protected by userfaultfd */
#define PM_FILE           (1UL << 61)
#define PM_SWAP           (1UL << 62)
#define PM_PRESENT        (1UL << 63)
/* The frame mapped at addr, read from the pagemap file open as fd: 0 when
 * nothing is present there or the frames are hidden (Linux shows them to
 * root only). Returns 0, or -1 with errno when the read fails. */
int pagemap_pfn(int fd, const void *addr, u64 *pfn);

/* --- PAGEMAP_SCAN, an ioctl of the pagemap file (Linux 6.7) --- */
/* Page categories, for the masks and in struct page_region. */
#define PAGE_IS_WPALLOWED (1UL << 0)	/* registered for async WP */
#define PAGE_IS_WRITTEN   (1UL << 1)	/* written since last protected */
#define PAGE_IS_FILE      (1UL << 2)
#define PAGE_IS_PRESENT   (1UL << 3)
#define PAGE_IS_SWAPPED   (1UL << 4)
#define PAGE_IS_PFNZERO   (1UL << 5)
#define PAGE_IS_HUGE      (1UL << 6)

/* One run of pages with the same categories, [start, end). */
struct page_region {
	u64 start;
	u64 end;
	u64 categories;
};

#define PM_SCAN_WP_MATCHING   (1UL << 0)	/* protect what matched */
#define PM_SCAN_CHECK_WPASYNC (1UL << 1)	/* fail on non-async-WP memory */

/* A page matches when (categories ^ category_inverted) has every bit of
 * category_mask and, if category_anyof_mask is not 0, one of its bits. */
struct pm_scan_arg {
	u64 size;		/* sizeof(struct pm_scan_arg) */
	u64 flags;		/* PM_SCAN_* */
	u64 start, end;		/* the range to scan */
	u64 walk_end;		/* out: where the scan stopped */
	u64 vec;		/* struct page_region[vec_len], out */
	u64 vec_len;
	u64 max_pages;		/* 0: no limit */
	u64 category_inverted;
	u64 category_mask;
	u64 category_anyof_mask;
	u64 return_mask;	/* categories reported in the regions */
};

_Static_assert(sizeof(struct pm_scan_arg) == 96, "pm_scan_arg is 96 bytes");

/* 'f' 16; returns the number of regions written, -1 and errno. */
#define PAGEMAP_SCAN IOC(IOC_READ | IOC_WRITE, 'f', 16, sizeof(struct pm_scan_arg))

/* A userfaultfd (O_CLOEXEC | O_NONBLOCK) after a successful UFFDIO_API
 * asking for features; the kernel's whole feature set in *got if not NULL.
 * Bails out of the KTAP program if either call fails (lib/uffd.c). */
int uffd_open(u64 features, u64 *got);

#endif
