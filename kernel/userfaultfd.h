/* SPDX-License-Identifier: MIT */
/* kernel/userfaultfd.h - the userfaultfd file (docs/userfaultfd.md): the
 * Linux user-space interface (constants and struct layouts as in Linux's
 * uapi linux/userfaultfd.h, our own definitions) and the kernel calls.
 *
 * The memory manager's side, and the seam between the two, is
 * mm/userfaultfd.h. This file's implementation is kernel/userfaultfd.c.
 */
#ifndef PAGODA_KERNEL_USERFAULTFD_H
#define PAGODA_KERNEL_USERFAULTFD_H

#include "kernel/types.h"

/* ---- the user-space interface ---- */

#define UFFD_API 0xAAUL

/* userfaultfd(2) flags: O_CLOEXEC and O_NONBLOCK, and: */
#define UFFD_USER_MODE_ONLY 1   /* only faults from user mode go to the handler */

/* ioctl numbers: _IOWR/_IOR('\xAA', nr, struct) in Linux's encoding:
 * direction << 30 | size << 16 | type << 8 | nr. */
#define UFFDIO 0xAA
#define _UFFDIO_REGISTER 0x00
#define _UFFDIO_UNREGISTER 0x01
#define _UFFDIO_WAKE 0x02
#define _UFFDIO_COPY 0x03
#define _UFFDIO_ZEROPAGE 0x04
#define _UFFDIO_MOVE 0x05
#define _UFFDIO_WRITEPROTECT 0x06
#define _UFFDIO_CONTINUE 0x07
#define _UFFDIO_POISON 0x08
#define _UFFDIO_API 0x3F

#define UFFD_IOC(dir, nr, size) (((u32)(dir) << 30) | ((u32)(size) << 16) | (UFFDIO << 8) | (nr))
#define UFFD_IOC_READ 2         /* _IOR */
#define UFFD_IOC_RW 3           /* _IOWR: _IOC_READ | _IOC_WRITE */

struct uffdio_range {
	u64 start;
	u64 len;
};

struct uffdio_api {
	u64 api;                /* in: UFFD_API */
	u64 features;           /* in: wanted; out: all the kernel supports */
	u64 ioctls;             /* out: 1 << _UFFDIO_* the fd accepts */
};

#define UFFDIO_REGISTER_MODE_MISSING 0x1
#define UFFDIO_REGISTER_MODE_WP 0x2
#define UFFDIO_REGISTER_MODE_MINOR 0x4

struct uffdio_register {
	struct uffdio_range range;
	u64 mode;               /* UFFDIO_REGISTER_MODE_* */
	u64 ioctls;             /* out: the range ioctls usable on the range */
};

#define UFFDIO_WRITEPROTECT_MODE_WP 0x1
#define UFFDIO_WRITEPROTECT_MODE_DONTWAKE 0x2

struct uffdio_writeprotect {
	struct uffdio_range range;
	u64 mode;               /* UFFDIO_WRITEPROTECT_MODE_* */
};

#define UFFDIO_COPY_MODE_DONTWAKE 0x1
#define UFFDIO_COPY_MODE_WP 0x2

struct uffdio_copy {
	u64 dst;
	u64 src;
	u64 len;
	u64 mode;               /* UFFDIO_COPY_MODE_* */
	s64 copy;               /* out: bytes copied, or -errno */
};

#define UFFDIO_ZEROPAGE_MODE_DONTWAKE 0x1

struct uffdio_zeropage {
	struct uffdio_range range;
	u64 mode;               /* UFFDIO_ZEROPAGE_MODE_* */
	s64 zeropage;           /* out: bytes mapped, or -errno */
};

#define UFFDIO_API UFFD_IOC(UFFD_IOC_RW, _UFFDIO_API, sizeof(struct uffdio_api))
#define UFFDIO_REGISTER UFFD_IOC(UFFD_IOC_RW, _UFFDIO_REGISTER, sizeof(struct uffdio_register))
#define UFFDIO_UNREGISTER UFFD_IOC(UFFD_IOC_READ, _UFFDIO_UNREGISTER, sizeof(struct uffdio_range))
#define UFFDIO_WAKE UFFD_IOC(UFFD_IOC_READ, _UFFDIO_WAKE, sizeof(struct uffdio_range))
#define UFFDIO_COPY UFFD_IOC(UFFD_IOC_RW, _UFFDIO_COPY, sizeof(struct uffdio_copy))
#define UFFDIO_ZEROPAGE UFFD_IOC(UFFD_IOC_RW, _UFFDIO_ZEROPAGE, sizeof(struct uffdio_zeropage))
#define UFFDIO_WRITEPROTECT UFFD_IOC(UFFD_IOC_RW, _UFFDIO_WRITEPROTECT, \
				     sizeof(struct uffdio_writeprotect))

/* The message read(2) returns: 32 bytes, packed. */
struct uffd_msg {
	u8 event;               /* UFFD_EVENT_* */
	u8 reserved1;
	u16 reserved2;
	u32 reserved3;
	union {
		struct {
			u64 flags;      /* UFFD_PAGEFAULT_FLAG_* */
			u64 address;
			union {
				u32 ptid;       /* UFFD_FEATURE_THREAD_ID */
			} feat;
		} __attribute__((packed)) pagefault;
		struct {
			u32 ufd;        /* EVENT_FORK: the child's new uffd */
		} __attribute__((packed)) fork;
		struct {
			u64 from, to, len;      /* EVENT_REMAP */
		} __attribute__((packed)) remap;
		struct {
			u64 start, end;         /* EVENT_REMOVE and EVENT_UNMAP */
		} __attribute__((packed)) remove;
		struct {
			u64 reserved1, reserved2, reserved3;
		} reserved;
	} arg;
} __attribute__((packed));

#define UFFD_EVENT_PAGEFAULT 0x12
#define UFFD_EVENT_FORK 0x13
#define UFFD_EVENT_REMAP 0x14
#define UFFD_EVENT_REMOVE 0x15
#define UFFD_EVENT_UNMAP 0x16

#define UFFD_PAGEFAULT_FLAG_WRITE (1 << 0)
#define UFFD_PAGEFAULT_FLAG_WP (1 << 1)
#define UFFD_PAGEFAULT_FLAG_MINOR (1 << 2)

#define UFFD_FEATURE_PAGEFAULT_FLAG_WP (1 << 0)
#define UFFD_FEATURE_EVENT_FORK (1 << 1)
#define UFFD_FEATURE_EVENT_REMAP (1 << 2)
#define UFFD_FEATURE_EVENT_REMOVE (1 << 3)
#define UFFD_FEATURE_MISSING_HUGETLBFS (1 << 4)
#define UFFD_FEATURE_MISSING_SHMEM (1 << 5)
#define UFFD_FEATURE_EVENT_UNMAP (1 << 6)
#define UFFD_FEATURE_SIGBUS (1 << 7)
#define UFFD_FEATURE_THREAD_ID (1 << 8)
#define UFFD_FEATURE_MINOR_HUGETLBFS (1 << 9)
#define UFFD_FEATURE_MINOR_SHMEM (1 << 10)
#define UFFD_FEATURE_EXACT_ADDRESS (1 << 11)
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#define UFFD_FEATURE_POISON (1 << 14)
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#define UFFD_FEATURE_MOVE (1 << 16)

/* What Pagoda implements, and reports in UFFDIO_API's answer:
 *   PAGEFAULT_FLAG_WP  wp faults say UFFD_PAGEFAULT_FLAG_WP (always so)
 *   EVENT_FORK         a fork child keeps the registration, with a new
 *                      context whose fd the reader of the event gets
 *   EVENT_REMAP        mremap keeps the registration and says where
 *   EVENT_REMOVE       MADV_DONTNEED/FREE say what they are about to zap
 *   EVENT_UNMAP        munmap (and mremap's unmaps) say what went
 *   SIGBUS             faults raise SIGBUS instead of waiting
 *   THREAD_ID          messages carry the faulting thread's tid
 *   EXACT_ADDRESS      messages carry the exact address, not the page
 *   WP_UNPOPULATED     protecting empty entries installs markers (mm side)
 *   WP_ASYNC           the kernel resolves wp faults itself (mm side);
 *                      implies WP_UNPOPULATED, as on Linux
 * Missing faults (UFFDIO_REGISTER_MODE_MISSING) on private anonymous
 * memory need no feature bit. */
#define UFFD_API_FEATURES (UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_EVENT_FORK | \
			   UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | \
			   UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_SIGBUS | \
			   UFFD_FEATURE_THREAD_ID | \
			   UFFD_FEATURE_EXACT_ADDRESS | UFFD_FEATURE_WP_UNPOPULATED | \
			   UFFD_FEATURE_WP_ASYNC)
/* What a request may name: Linux 6.1's own UFFD_API_FEATURES (its
 * userfaultfd_api refuses only bits outside it, and a kernel built without
 * an arch's minor-fault or shmem-marker support accepts those bits and
 * leaves them out of its answer), and Pagoda's later bits. The ones Pagoda
 * lacks - missing and minor faults on shmem and hugetlbfs, wp on them - are
 * accepted that way: absent from the answer, and a shared VMA cannot be
 * registered (EINVAL), so nothing is promised that is not kept. POISON
 * and MOVE (Linux 6.6/6.8) are refused with EINVAL. */
#define UFFD_API_FEATURES_KNOWN (UFFD_API_FEATURES | UFFD_FEATURE_MISSING_HUGETLBFS | \
				 UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_HUGETLBFS | \
				 UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_WP_HUGETLBFS_SHMEM)
/* The ioctls of a fresh fd, and those a registered range accepts
 * (UFFDIO_WRITEPROTECT only where the range is registered for WP). */
#define UFFD_API_IOCTLS ((1UL << _UFFDIO_REGISTER) | (1UL << _UFFDIO_UNREGISTER) | \
			 (1UL << _UFFDIO_API))
#define UFFD_API_RANGE_IOCTLS ((1UL << _UFFDIO_WAKE) | (1UL << _UFFDIO_COPY) | \
			       (1UL << _UFFDIO_ZEROPAGE) | (1UL << _UFFDIO_WRITEPROTECT))
/* Registration modes accepted (MINOR is refused, as a Linux without
 * CONFIG_HAVE_ARCH_USERFAULTFD_MINOR). */
#define UFFD_API_REGISTER_MODES (UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP)

/* ---- kernel calls ---- */

struct file;
struct mm_struct;
struct userfaultfd_ctx;

/* A new userfaultfd file on mm (userfaultfd(2) without the fd): flags are
 * O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY (O_CLOEXEC is the caller's
 * business: it belongs to the fd). NULL with *err = -EINVAL or -ENOMEM. */
struct file *userfaultfd_create(struct mm_struct *mm, u32 flags, long *err);
/* The context behind a userfaultfd file, or NULL if f is another kind. */
struct userfaultfd_ctx *userfaultfd_file_ctx(struct file *f);
/* Was the context created with UFFD_USER_MODE_ONLY? Then the mm side must
 * not call handle_userfault() for a fault from kernel mode (a copy to or
 * from user memory in a system call): that fault fails (-EFAULT) instead. */
bool uffd_ctx_user_mode_only(const struct userfaultfd_ctx *ctx);
/* Faults queued and not yet woken (tests). */
u32 userfaultfd_nr_waiting(struct userfaultfd_ctx *ctx);
/* Wake every sleeper of every context to re-check (a kill). */
void userfaultfd_wake_all_sleepers(void);
void userfaultfd_init(void);    /* registers userfaultfd(2) */

/* "uffd_debug_queue_delay" (a test switch, not a fault): a fault that has
 * decided to wait pauses this long before it queues itself, widening the
 * window in which an unprotect can come between its decision and its
 * queueing. uffd_test's unprotect race then meets that window often: with
 * the re-check (uffd_must_wait) no writer is left asleep; without it
 * ("uffd_debug_skip_must_wait" as well) writers are stranded. */
#define UFFD_DEBUG_QUEUE_DELAY_US 200

#endif
