/* SPDX-License-Identifier: MIT */
/* kernel/userfaultfd.c - the userfaultfd file: userfaultfd(2), the context,
 * its ioctls, the queue of fault messages, read(2) and poll(2), and the
 * faulting threads that sleep until the handler resolves their fault
 * (docs/userfaultfd.md; the page-table side is mm/userfaultfd.c, and the
 * seam between the two is mm/userfaultfd.h).
 *
 * The context:
 *   - One per userfaultfd(2). The file holds a reference, and so does each
 *     thread sleeping on one of its faults, so the context outlives a close
 *     racing with a fault. It holds the struct of the address space it was
 *     created in (mm_grab), not the address space: the file may outlive
 *     the process (a fork child inherits it), and a dead process's pages
 *     must come back when its last thread leaves. Whatever walks the VMAs
 *     first becomes a user for the while (mm_get_not_zero), and fails as
 *     Linux's when the address space is gone.
 *   - UFFDIO_API must come first and only once; it fixes the features.
 *   - Each fault that must wait is a struct uffd_fault on the faulting
 *     thread's kernel stack, queued on the context in arrival order with an
 *     id of its own. Once queued, the fault asks the mm side whether its
 *     entry is still protected (uffd_must_wait), and sleeps only if so: an
 *     unprotect between its decision and its queueing woke nobody. A
 *     read(2) copies the oldest unread message out and marks it read; the
 *     faulter stays queued until a UFFDIO_WRITEPROTECT (clearing) or
 *     UFFDIO_WAKE covering its address wakes it, the context is released
 *     (last close), or its process is killed. It then retries the access.
 *
 * Locking: ctx->wq.lock (irq-safe spinlock) protects the queue, each record
 * on it, and ctx->released; faulters and blocking readers sleep on ctx->wq,
 * and every change they wait for is followed by wake_up_all(&ctx->wq). The
 * features are written once, before api_done, and read without a lock (the
 * mm side reads them under mmap_lock or a VMA's read lock, once a VMA
 * points at the context).
 * ctx_list_lock (irq-safe) protects the list of live contexts, walked to
 * wake every sleeper when a process is killed; order: ctx_list_lock, then
 * ctx->wq.lock. No lock of ours is held while calling the mm side (which
 * takes mmap_lock) or copying to or from user memory.
 */
#include "kernel/userfaultfd.h"
#include "kernel/file.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/apic.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/slab.h"
#include "mm/userfaultfd.h"

_Static_assert(sizeof(struct uffd_msg) == 32, "struct uffd_msg is 32 bytes");
_Static_assert(sizeof(struct uffdio_api) == 24, "struct uffdio_api");
_Static_assert(sizeof(struct uffdio_register) == 32, "struct uffdio_register");
_Static_assert(sizeof(struct uffdio_writeprotect) == 24, "struct uffdio_writeprotect");
_Static_assert(UFFDIO_API == 0xC018AA3F, "UFFDIO_API as Linux");
_Static_assert(UFFDIO_REGISTER == 0xC020AA00, "UFFDIO_REGISTER as Linux");
_Static_assert(UFFDIO_UNREGISTER == 0x8010AA01, "UFFDIO_UNREGISTER as Linux");
_Static_assert(UFFDIO_WAKE == 0x8010AA02, "UFFDIO_WAKE as Linux");
_Static_assert(UFFDIO_WRITEPROTECT == 0xC018AA06, "UFFDIO_WRITEPROTECT as Linux");
_Static_assert(UFFD_REASON_WRITE == UFFD_PAGEFAULT_FLAG_WRITE &&
	       UFFD_REASON_WP == UFFD_PAGEFAULT_FLAG_WP, "reasons are the message flags");

/* A thread waiting for the handler: lives on its kernel stack, so once it
 * is off the queue the same address may be the record of its next fault;
 * id tells the two apart. */
struct uffd_fault {
	struct uffd_msg msg;
	u64 id;                 /* unique in the context, never reused */
	u64 addr;               /* the faulting address (for wake ranges) */
	bool read;              /* a read(2) has returned its message */
	bool woken;             /* resolved: taken off the queue */
	struct uffd_fault *next;
};

struct userfaultfd_ctx {
	u32 refs;               /* the file + sleeping faulters (atomic) */
	struct mm_struct *mm;   /* the address space it was created in */
	u32 flags;              /* UFFD_USER_MODE_ONLY */
	u64 features;           /* UFFD_FEATURE_* negotiated (written once) */
	bool api_done;          /* UFFDIO_API succeeded (under wq.lock) */
	struct waitq wq;        /* its lock protects the fields below */
	bool released;          /* last close: faults no longer wait */
	struct uffd_fault *faults;      /* oldest first */
	u64 last_id;            /* the id of the last record queued */
	struct userfaultfd_ctx *next_ctx;       /* ctx_list */
};

static spinlock_t ctx_list_lock = SPINLOCK_INIT("uffd_ctx_list");
static bool uffd_debug_queue_delay;     /* kernel/userfaultfd.h */
static struct userfaultfd_ctx *ctx_list;

static void ctx_get(struct userfaultfd_ctx *ctx)
{
	__atomic_fetch_add(&ctx->refs, 1, __ATOMIC_RELAXED);
}

static void ctx_put(struct userfaultfd_ctx *ctx)
{
	if (__atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	u64 fl = spin_lock_irqsave(&ctx_list_lock);
	for (struct userfaultfd_ctx **pp = &ctx_list; *pp; pp = &(*pp)->next_ctx) {
		if (*pp == ctx) {
			*pp = ctx->next_ctx;
			break;
		}
	}
	spin_unlock_irqrestore(&ctx_list_lock, fl);
	mm_drop(ctx->mm);
	kfree(ctx);
}

u64 uffd_ctx_features(const struct userfaultfd_ctx *ctx)
{
	return READ_ONCE(ctx->features);
}

bool uffd_ctx_user_mode_only(const struct userfaultfd_ctx *ctx)
{
	return (ctx->flags & UFFD_USER_MODE_ONLY) != 0;
}

/* ---- the queue ---- */

static void unlink_fault(struct userfaultfd_ctx *ctx, struct uffd_fault *w)
{
	for (struct uffd_fault **pp = &ctx->faults; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

/* Wake the faulters whose address is in [start, end) (all when end is 0). */
static void wake_range(struct userfaultfd_ctx *ctx, u64 start, u64 end)
{
	bool any = false;
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	for (struct uffd_fault **pp = &ctx->faults; *pp;) {
		struct uffd_fault *w = *pp;
		if (end == 0 || (w->addr >= start && w->addr < end)) {
			*pp = w->next;
			w->woken = true;
			any = true;
		} else {
			pp = &w->next;
		}
	}
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	if (any)
		wake_up_all(&ctx->wq);
}

u32 userfaultfd_nr_waiting(struct userfaultfd_ctx *ctx)
{
	u32 n = 0;
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	for (struct uffd_fault *w = ctx->faults; w; w = w->next)
		n++;
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	return n;
}

void userfaultfd_wake_all_sleepers(void)
{
	u64 fl = spin_lock_irqsave(&ctx_list_lock);
	for (struct userfaultfd_ctx *ctx = ctx_list; ctx; ctx = ctx->next_ctx)
		wake_up_all(&ctx->wq);
	spin_unlock_irqrestore(&ctx_list_lock, fl);
}

/* ---- the fault side: called by mm/ with mmap_lock held for read ---- */

/* Append w to the queue with a fresh id, unless faults no longer wait (the
 * context released, or the thread killed). */
static bool queue_fault(struct userfaultfd_ctx *ctx, struct uffd_fault *w)
{
	bool queued = false;
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	if (!ctx->released && !READ_ONCE(current_thread()->killed)) {
		w->id = ++ctx->last_id;
		struct uffd_fault **pp = &ctx->faults;
		while (*pp)
			pp = &(*pp)->next;
		*pp = w;
		queued = true;
	}
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	return queued;
}

void handle_userfault(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 reason)
{
	struct userfaultfd_ctx *ctx = vma->uffd_ctx;
	struct thread *me = current_thread();
	if (!ctx || ctx->mm != mm) {
		/* Not ours to wait for (a bug on the caller's side): retry. */
		printk("uffd: handle_userfault at %lx without a context of this mm\n", addr);
		up_read(&mm->mmap_lock);
		return;
	}
	u64 features = uffd_ctx_features(ctx);
	struct uffd_fault w;
	memset(&w, 0, sizeof(w));
	w.addr = addr;
	w.msg.event = UFFD_EVENT_PAGEFAULT;
	w.msg.arg.pagefault.flags = reason & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);
	w.msg.arg.pagefault.address = (features & UFFD_FEATURE_EXACT_ADDRESS) ? addr
									    : addr & ~(PAGE_SIZE - 1);
	if (features & UFFD_FEATURE_THREAD_ID)
		w.msg.arg.pagefault.feat.ptid = me->tid;

	if (uffd_debug_queue_delay)
		udelay(UFFD_DEBUG_QUEUE_DELAY_US);      /* the test switch: a wider window */
	/* Our reference keeps the context once mmap_lock no longer does (the
	 * VMA's pointer is only stable under it). */
	ctx_get(ctx);
	bool queued = queue_fault(ctx, &w);
	/* Queued, then the entry looked at again (Linux's
	 * userfaultfd_must_wait): an unprotect between the fault's decision
	 * and our queueing woke nobody, and must not leave us asleep. Its
	 * clearing and our look hold the same page-table lock, and its
	 * wake-up follows its clearing: either we see the entry cleared, or
	 * the wake-up finds us queued (docs/userfaultfd.md, "Deciding to
	 * sleep"). mmap_lock is still held: the VMA and its tables stay. */
	bool must_wait = queued && uffd_must_wait(mm, vma, addr);
	up_read(&mm->mmap_lock);
	if (must_wait) {
		wake_up_all(&ctx->wq);          /* readers blocked in read(2) */
		file_poll_notify();             /* and in poll(2) */
	}
	if (queued) {
		/* w.woken, set under wq.lock by whoever takes us off the
		 * queue, is what we sleep on: no wake-up after the look above
		 * is missed, whenever it comes. */
		u64 fl = spin_lock_irqsave(&ctx->wq.lock);
		while (must_wait && !w.woken && !ctx->released && !READ_ONCE(me->killed))
			sleep_on(&ctx->wq);
		if (!w.woken)
			unlink_fault(ctx, &w);
		spin_unlock_irqrestore(&ctx->wq.lock, fl);
	}
	ctx_put(ctx);
}

/* ---- ioctls ---- */

/* Linux's validate_range: a page-aligned, non-empty range of user space
 * at or above mmap_min_addr. */
static int validate_range(u64 start, u64 len)
{
	if (start & (PAGE_SIZE - 1))
		return -EINVAL;
	if (len & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!len)
		return -EINVAL;
	if (start < MMAP_MIN_ADDR)
		return -EINVAL;
	if (start >= TASK_SIZE)
		return -EINVAL;
	if (len > TASK_SIZE - start)
		return -EINVAL;
	return 0;
}

static long uffdio_api(struct userfaultfd_ctx *ctx, u64 uarg)
{
	struct uffdio_api a;
	if (READ_ONCE(ctx->api_done))
		return -EINVAL;
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	u64 wanted = a.features;
	long err = -EINVAL;
	if (a.api != UFFD_API || (wanted & ~(u64)UFFD_API_FEATURES))
		goto refuse;
	/* Async write protection relies on markers: choose them too. */
	if (wanted & UFFD_FEATURE_WP_ASYNC)
		wanted |= UFFD_FEATURE_WP_UNPOPULATED;
	a.features = UFFD_API_FEATURES;
	a.ioctls = UFFD_API_IOCTLS;
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	/* Two racing UFFDIO_APIs: only the first takes effect. */
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	bool first = !ctx->api_done;
	if (first) {
		WRITE_ONCE(ctx->features, wanted);
		WRITE_ONCE(ctx->api_done, true);
	}
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	if (first)
		return 0;
refuse:
	/* As Linux: a refused handshake reads back all zeroes. */
	memset(&a, 0, sizeof(a));
	if (copy_to_user(uarg, &a, sizeof(a)))
		err = -EFAULT;
	return err;
}

static long uffdio_register(struct userfaultfd_ctx *ctx, u64 uarg)
{
	struct uffdio_register r;
	/* Everything but the ioctls field, which is output only. */
	if (copy_from_user(&r, uarg, sizeof(r) - sizeof(r.ioctls)))
		return -EFAULT;
	if (!r.mode)
		return -EINVAL;
	/* MISSING and MINOR are Linux modes we do not implement: refused
	 * like an unknown bit rather than accepted and ignored. */
	if (r.mode & ~(u64)UFFD_API_REGISTER_MODES)
		return -EINVAL;
	int err = validate_range(r.range.start, r.range.len);
	if (err)
		return err;
	/* Linux's errno when the process has exited (mmget_not_zero failed). */
	if (!mm_get_not_zero(ctx->mm))
		return -ENOMEM;
	err = uffd_register_range(ctx->mm, ctx, r.range.start, r.range.start + r.range.len,
				  VM_UFFD_WP);
	mm_put(ctx->mm);
	if (err)
		return err;
	u64 ioctls = UFFD_API_RANGE_IOCTLS;
	if (copy_to_user(uarg + __builtin_offsetof(struct uffdio_register, ioctls), &ioctls,
			 sizeof(ioctls)))
		return -EFAULT;
	return 0;
}

/* A struct uffdio_range from user space, checked as Linux's validate_range. */
static int get_range(u64 uarg, struct uffdio_range *r)
{
	if (copy_from_user(r, uarg, sizeof(*r)))
		return -EFAULT;
	return validate_range(r->start, r->len);
}

static long uffdio_unregister(struct userfaultfd_ctx *ctx, u64 uarg)
{
	struct uffdio_range r;
	int err = get_range(uarg, &r);
	if (err)
		return err;
	if (!mm_get_not_zero(ctx->mm))
		return -ENOMEM;         /* as register */
	err = uffd_unregister_range(ctx->mm, ctx, r.start, r.start + r.len);
	mm_put(ctx->mm);
	if (err)
		return err;
	/* Nobody can resolve a fault in the range any more: its faulters
	 * retry now, and find the range unprotected (Linux does this for
	 * MISSING ranges, where a wp range would otherwise hang). */
	wake_range(ctx, r.start, r.start + r.len);
	return 0;
}

static long uffdio_wake(struct userfaultfd_ctx *ctx, u64 uarg)
{
	struct uffdio_range r;
	int err = get_range(uarg, &r);
	if (err)
		return err;
	wake_range(ctx, r.start, r.start + r.len);
	return 0;
}

static long uffdio_writeprotect(struct userfaultfd_ctx *ctx, u64 uarg)
{
	struct uffdio_writeprotect wp;
	if (copy_from_user(&wp, uarg, sizeof(wp)))
		return -EFAULT;
	int err = validate_range(wp.range.start, wp.range.len);
	if (err)
		return err;
	if (wp.mode & ~(u64)(UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE))
		return -EINVAL;
	bool protect = wp.mode & UFFDIO_WRITEPROTECT_MODE_WP;
	bool dontwake = wp.mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
	if (protect && dontwake)
		return -EINVAL;
	u64 end = wp.range.start + wp.range.len;
	if (!mm_get_not_zero(ctx->mm))
		return -ESRCH;          /* Linux's errno: the process has exited */
	err = uffd_wp_range(ctx->mm, wp.range.start, end, protect);
	mm_put(ctx->mm);
	if (err)
		return err;
	/* Unprotected: the faulters there may go on (their retry finds the
	 * entry writable). Protecting wakes nobody. */
	if (!protect && !dontwake)
		wake_range(ctx, wp.range.start, end);
	return 0;
}

static long uffd_ioctl(struct file *f, u32 cmd, u64 arg)
{
	struct userfaultfd_ctx *ctx = f->private;
	if (cmd != UFFDIO_API && !READ_ONCE(ctx->api_done))
		return -EINVAL;
	switch (cmd) {
	case UFFDIO_API:
		return uffdio_api(ctx, arg);
	case UFFDIO_REGISTER:
		return uffdio_register(ctx, arg);
	case UFFDIO_UNREGISTER:
		return uffdio_unregister(ctx, arg);
	case UFFDIO_WAKE:
		return uffdio_wake(ctx, arg);
	case UFFDIO_WRITEPROTECT:
		return uffdio_writeprotect(ctx, arg);
	default:
		return -EINVAL;         /* Linux's answer here, not ENOTTY */
	}
}

/* ---- read, poll, release ---- */

/* The oldest message no reader has taken yet (wq.lock held). */
static struct uffd_fault *first_unread(struct userfaultfd_ctx *ctx)
{
	for (struct uffd_fault *w = ctx->faults; w; w = w->next)
		if (!w->read)
			return w;
	return NULL;
}

/* A read(2) could not copy the message of record id out: make it unread
 * again if that fault still waits. By id, not by the record's address: the
 * record was on the faulter's stack, and while we copied without the lock
 * that fault may have been woken and the same thread queued a new record at
 * the same address, perhaps already read by someone else - giving that one
 * back would deliver its message twice. */
static void give_back(struct userfaultfd_ctx *ctx, u64 id)
{
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	for (struct uffd_fault *q = ctx->faults; q; q = q->next)
		if (q->id == id)
			q->read = false;
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
}

/* Whole messages only; blocks (unless O_NONBLOCK) for the first one, then
 * returns as many more as are queued and fit. */
static long uffd_read(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	(void)pos;
	struct userfaultfd_ctx *ctx = f->private;
	struct thread *me = current_thread();
	if (!READ_ONCE(ctx->api_done))
		return -EINVAL;
	bool nowait = READ_ONCE(f->flags) & O_NONBLOCK;
	long done = 0;
	for (;;) {
		if (count < sizeof(struct uffd_msg))
			return done ? done : -EINVAL;
		struct uffd_msg msg;
		u64 id = 0;
		u64 fl = spin_lock_irqsave(&ctx->wq.lock);
		struct uffd_fault *w;
		while (!(w = first_unread(ctx)) && !nowait && !READ_ONCE(me->killed))
			sleep_on(&ctx->wq);
		if (w) {
			w->read = true;
			msg = w->msg;
			id = w->id;
		}
		spin_unlock_irqrestore(&ctx->wq.lock, fl);
		if (!w)
			return done ? done : (nowait ? -EAGAIN : -EINTR);
		if (copy_to_user(ubuf, &msg, sizeof(msg))) {
			give_back(ctx, id);
			return done ? done : -EFAULT;
		}
		done += sizeof(msg);
		ubuf += sizeof(msg);
		count -= sizeof(msg);
		nowait = true;
	}
}

/* As Linux: POLLERR before UFFDIO_API, on a blocking fd (a read after
 * POLLIN could still block: the fault may be woken meanwhile), and after
 * release; POLLIN while a message is unread. */
static u32 uffd_poll(struct file *f)
{
	struct userfaultfd_ctx *ctx = f->private;
	if (!READ_ONCE(ctx->api_done))
		return POLLERR;
	if (!(READ_ONCE(f->flags) & O_NONBLOCK))
		return POLLERR;
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	u32 mask = ctx->released ? POLLERR : first_unread(ctx) ? POLLIN : 0;
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	return mask;
}

/* Last close: no fault waits any more, no range stays registered. */
static void uffd_release(struct file *f)
{
	struct userfaultfd_ctx *ctx = f->private;
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	ctx->released = true;
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	/* Takes mmap_lock for write: no fault is between its VMA lookup and
	 * its queueing while it runs (a fault on the per-VMA fast path never
	 * queues: it retries under mmap_lock first), and each VMA it
	 * unregisters is write-locked, so none finds the context after. An
	 * address space already gone has no VMA left that points here. */
	if (mm_get_not_zero(ctx->mm)) {
		uffd_release_mm(ctx->mm, ctx);
		mm_put(ctx->mm);
	}
	wake_range(ctx, 0, 0);
	file_poll_notify();
	ctx_put(ctx);
}

/* Linux 6.1's noop_llseek: lseek "succeeds" and the position stays 0
 * (pread is still ESPIPE: the file is not positional). */
static s64 uffd_llseek(struct file *f, s64 offset, int whence)
{
	(void)offset, (void)whence;
	return (s64)f->pos;
}

/* An anonymous file open read-only, as Linux's [userfaultfd]. */
static const struct file_ops uffd_ops = {
	.name = "userfaultfd",
	.read = uffd_read,
	.ioctl = uffd_ioctl,
	.poll = uffd_poll,
	.llseek = uffd_llseek,
	.release = uffd_release,
};

struct userfaultfd_ctx *userfaultfd_file_ctx(struct file *f)
{
	return f->ops == &uffd_ops ? f->private : NULL;
}

struct file *userfaultfd_create(struct mm_struct *mm, u32 flags, long *err)
{
	if (flags & ~(u32)(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY)) {
		*err = -EINVAL;
		return NULL;
	}
	struct userfaultfd_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx) {
		*err = -ENOMEM;
		return NULL;
	}
	struct file *f = file_alloc(&uffd_ops, FMODE_READ, flags & O_NONBLOCK, ctx);
	if (!f) {
		kfree(ctx);
		*err = -ENOMEM;
		return NULL;
	}
	ctx->refs = 1;          /* the file's */
	ctx->flags = flags & UFFD_USER_MODE_ONLY;
	mm_grab(mm);            /* the struct only: see the top of this file */
	ctx->mm = mm;
	waitq_init(&ctx->wq, "uffd");
	u64 fl = spin_lock_irqsave(&ctx_list_lock);
	ctx->next_ctx = ctx_list;
	ctx_list = ctx;
	spin_unlock_irqrestore(&ctx_list_lock, fl);
	return f;
}

static long sys_userfaultfd(u64 uflags)
{
	u32 flags = (u32)uflags;
	struct process *p = current_proc();
	long err;
	struct file *f = userfaultfd_create(p->mm, flags, &err);
	if (!f)
		return err;
	return fd_install(p, f, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0);
}

void userfaultfd_init(void)
{
	uffd_debug_queue_delay = cmdline_has("uffd_debug_queue_delay");
	if (uffd_debug_queue_delay)
		printk(KERN_WARNING "userfaultfd: uffd_debug_queue_delay: a fault that must wait "
		       "pauses %u us before it queues itself (test switch)\n",
		       UFFD_DEBUG_QUEUE_DELAY_US);
	syscall_register(SYS_userfaultfd, (void (*)(void))sys_userfaultfd);
}
