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
#include "kernel/signal.h"
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
_Static_assert(UFFDIO_COPY == 0xC028AA03, "UFFDIO_COPY as Linux");
_Static_assert(UFFDIO_ZEROPAGE == 0xC020AA04, "UFFDIO_ZEROPAGE as Linux");
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

/* A change of the address space told to the handler (EVENT_*): lives on
 * the changing thread's stack; it waits until a read(2) has taken it. */
struct uffd_event {
	struct uffd_msg msg;
	struct userfaultfd_ctx *fork_ctx;       /* EVENT_FORK: the child's */
	bool done;              /* read, or given up: off the queue */
	bool delivered;         /* read (a FORK event: with its fd) */
	bool taken;             /* a reader has it: wait for it, whatever */
	struct uffd_event *next;
};

struct userfaultfd_ctx {
	u32 refs;               /* the file + sleeping faulters + events (atomic) */
	struct mm_struct *mm;   /* the address space it was created in */
	u32 flags;              /* O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY */
	u32 mmap_changing;      /* events under way (atomic): COPY says EAGAIN */
	u64 features;           /* UFFD_FEATURE_* negotiated (written once) */
	bool api_done;          /* UFFDIO_API succeeded (under wq.lock) */
	struct waitq wq;        /* its lock protects the fields below */
	bool released;          /* last close: faults no longer wait */
	struct uffd_fault *faults;      /* oldest first */
	struct uffd_event *events;      /* oldest first */
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

static const struct file_ops uffd_ops;

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

void handle_userfault(struct mm_struct *mm, struct vm_area *vma, u64 addr, u32 reason,
		      bool interruptible)
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
	 * sleep"); a missing fault the same with "still empty", against a
	 * UFFDIO_COPY. mmap_lock is still held: the VMA and its tables stay. */
	bool must_wait = queued && uffd_must_wait(mm, vma, addr, reason);
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
		while (must_wait && !w.woken && !ctx->released && !READ_ONCE(me->killed) &&
		       !(interruptible && signal_pending(me)))
			sleep_on(&ctx->wq);
		if (!w.woken)
			unlink_fault(ctx, &w);
		spin_unlock_irqrestore(&ctx->wq.lock, fl);
	}
	ctx_put(ctx);
}

/* ---- events: called by mm/ with no mm lock held ---- */

bool uffd_ctx_mmap_changing(const struct userfaultfd_ctx *ctx)
{
	return __atomic_load_n(&ctx->mmap_changing, __ATOMIC_ACQUIRE) != 0;
}

void uffd_event_prepare(struct userfaultfd_ctx *ctx)
{
	ctx_get(ctx);
	__atomic_fetch_add(&ctx->mmap_changing, 1, __ATOMIC_ACQ_REL);
}

/* Linux's userfaultfd_event_wait_completion: queue the event, tell the
 * readers, sleep until a read(2) has taken it - or the context is
 * released, or this thread killed: then it is taken off unread. Either
 * way what uffd_event_prepare() took is given back. */
bool uffd_event_deliver(struct userfaultfd_ctx *ctx, const struct uffd_msg *msg,
			struct userfaultfd_ctx *fork_ctx)
{
	struct thread *me = current_thread();
	struct uffd_event e;
	memset(&e, 0, sizeof(e));
	e.msg = *msg;
	e.fork_ctx = fork_ctx;
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	struct uffd_event **pp = &ctx->events;
	while (*pp)
		pp = &(*pp)->next;
	*pp = &e;
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	wake_up_all(&ctx->wq);
	file_poll_notify();
	fl = spin_lock_irqsave(&ctx->wq.lock);
	/* A reader that took it is still using our record: wait for it. */
	while (!e.done && (e.taken || (!ctx->released && !READ_ONCE(me->killed))))
		sleep_on(&ctx->wq);
	bool delivered = e.delivered;
	if (!e.done) {
		for (pp = &ctx->events; *pp; pp = &(*pp)->next) {
			if (*pp == &e) {
				*pp = e.next;
				break;
			}
		}
	}
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	__atomic_fetch_sub(&ctx->mmap_changing, 1, __ATOMIC_ACQ_REL);
	ctx_put(ctx);
	return delivered;
}

void uffd_event_deliver_cancel(struct userfaultfd_ctx *ctx)
{
	__atomic_fetch_sub(&ctx->mmap_changing, 1, __ATOMIC_ACQ_REL);
	ctx_put(ctx);
}

/* The context a fork child's registered VMAs get (Linux's dup_userfaultfd):
 * octx's flags and features, the handshake done, no file yet - the reader
 * of the FORK event gets one. Its reference is the future file's. */
struct userfaultfd_ctx *uffd_ctx_fork(struct userfaultfd_ctx *octx, struct mm_struct *child)
{
	struct userfaultfd_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return NULL;
	ctx->refs = 1;
	ctx->flags = octx->flags;
	ctx->features = uffd_ctx_features(octx);
	ctx->api_done = true;
	mm_grab(child);
	ctx->mm = child;
	waitq_init(&ctx->wq, "uffd");
	u64 fl = spin_lock_irqsave(&ctx_list_lock);
	ctx->next_ctx = ctx_list;
	ctx_list = ctx;
	spin_unlock_irqrestore(&ctx_list_lock, fl);
	return ctx;
}

void uffd_ctx_fork_drop(struct userfaultfd_ctx *ctx)
{
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
	if (a.api != UFFD_API || (wanted & ~(u64)UFFD_API_FEATURES_KNOWN))
		goto refuse;
	/* Bits Linux 6.1 knows and Pagoda lacks: accepted, not reported
	 * (kernel/userfaultfd.h); only what is implemented is kept. */
	wanted &= UFFD_API_FEATURES;
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
	/* MINOR is a Linux mode we do not implement: refused like an
	 * unknown bit rather than accepted and ignored. */
	if (r.mode & ~(u64)UFFD_API_REGISTER_MODES)
		return -EINVAL;
	u32 vm_flags = 0;
	if (r.mode & UFFDIO_REGISTER_MODE_MISSING)
		vm_flags |= VM_UFFD_MISSING;
	if (r.mode & UFFDIO_REGISTER_MODE_WP)
		vm_flags |= VM_UFFD_WP;
	int err = validate_range(r.range.start, r.range.len);
	if (err)
		return err;
	/* Linux's errno when the process has exited (mmget_not_zero failed). */
	if (!mm_get_not_zero(ctx->mm))
		return -ENOMEM;
	err = uffd_register_range(ctx->mm, ctx, r.range.start, r.range.start + r.range.len,
				  vm_flags);
	mm_put(ctx->mm);
	if (err)
		return err;
	/* As Linux: UFFDIO_WRITEPROTECT only where WP was asked for. */
	u64 ioctls = UFFD_API_RANGE_IOCTLS;
	if (!(r.mode & UFFDIO_REGISTER_MODE_WP))
		ioctls &= ~(1UL << _UFFDIO_WRITEPROTECT);
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

/* The tail of UFFDIO_COPY and UFFDIO_ZEROPAGE (Linux's): the result (bytes
 * done, or -errno) goes to the struct's last field at res_off; the range
 * done wakes its faulters unless DONTWAKE; a short fill is -EAGAIN. */
static long mfill_finish(struct userfaultfd_ctx *ctx, u64 uarg, u64 res_off, long done,
			 u64 start, u64 len, bool dontwake)
{
	s64 res = done;
	if (copy_to_user(uarg + res_off, &res, sizeof(res)))
		return -EFAULT;
	if (done < 0)
		return done;
	if (!dontwake)
		wake_range(ctx, start, start + (u64)done);
	return (u64)done == len ? 0 : -EAGAIN;
}

static long uffdio_copy(struct userfaultfd_ctx *ctx, u64 uarg)
{
	struct uffdio_copy c;
	/* An event under way: retry later, the copy field untouched. */
	if (uffd_ctx_mmap_changing(ctx))
		return -EAGAIN;
	if (copy_from_user(&c, uarg, sizeof(c) - sizeof(c.copy)))
		return -EFAULT;
	int err = validate_range(c.dst, c.len);
	if (err)
		return err;
	if (c.src + c.len <= c.src)
		return -EINVAL;         /* wraps around */
	if (c.mode & ~(u64)(UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP))
		return -EINVAL;
	if (!mm_get_not_zero(ctx->mm))
		return -ESRCH;
	long done = uffd_mfill(ctx, ctx->mm, c.dst, c.src, c.len,
			       (c.mode & UFFDIO_COPY_MODE_WP) ? UFFD_MFILL_COPY_WP : UFFD_MFILL_COPY);
	mm_put(ctx->mm);
	return mfill_finish(ctx, uarg, __builtin_offsetof(struct uffdio_copy, copy), done, c.dst,
			    c.len, c.mode & UFFDIO_COPY_MODE_DONTWAKE);
}

static long uffdio_zeropage(struct userfaultfd_ctx *ctx, u64 uarg)
{
	struct uffdio_zeropage z;
	if (uffd_ctx_mmap_changing(ctx))
		return -EAGAIN;
	if (copy_from_user(&z, uarg, sizeof(z) - sizeof(z.zeropage)))
		return -EFAULT;
	int err = validate_range(z.range.start, z.range.len);
	if (err)
		return err;
	if (z.mode & ~(u64)UFFDIO_ZEROPAGE_MODE_DONTWAKE)
		return -EINVAL;
	if (!mm_get_not_zero(ctx->mm))
		return -ESRCH;
	long done = uffd_mfill(ctx, ctx->mm, z.range.start, 0, z.range.len, UFFD_MFILL_ZEROPAGE);
	mm_put(ctx->mm);
	return mfill_finish(ctx, uarg, __builtin_offsetof(struct uffdio_zeropage, zeropage), done,
			    z.range.start, z.range.len, z.mode & UFFDIO_ZEROPAGE_MODE_DONTWAKE);
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
	case UFFDIO_COPY:
		return uffdio_copy(ctx, arg);
	case UFFDIO_ZEROPAGE:
		return uffdio_zeropage(ctx, arg);
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

/* The first event not yet taken, taken off the queue (wq.lock held). */
static struct uffd_event *take_event(struct userfaultfd_ctx *ctx)
{
	struct uffd_event *e = ctx->events;
	if (e) {
		ctx->events = e->next;
		e->taken = true;
	}
	return e;
}

/* A taken event is read: its thread may go on (wq.lock not held).
 * delivered false: a FORK event whose fd could not be made. */
static void event_done(struct userfaultfd_ctx *ctx, struct uffd_event *e, bool delivered)
{
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	e->delivered = delivered;
	e->done = true;
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	wake_up_all(&ctx->wq);
}

/* A FORK event read: the child's context gets its file, and the reader's
 * process an fd for it, with the flags of the parent's (Linux's
 * resolve_userfault_fork). The file takes the context's reference; if no
 * fd is free the file is put, which unregisters the child's ranges. */
static long fork_event_fd(struct userfaultfd_ctx *nctx, struct uffd_msg *msg)
{
	struct file *f = file_alloc(&uffd_ops, FMODE_READ, nctx->flags & O_NONBLOCK, nctx);
	if (!f)
		return -ENOMEM;
	long fd = fd_install(current_proc(), f, (nctx->flags & O_CLOEXEC) ? FD_CLOEXEC : 0);
	msg->arg.fork.ufd = (u32)fd;
	return fd;
}

/* One message: the oldest unread fault, else the oldest event (faults
 * first, as Linux). Blocks unless nowait. 0 with *msg filled, or -errno. */
static long read_one(struct userfaultfd_ctx *ctx, bool nowait, struct uffd_msg *msg, u64 *id)
{
	struct thread *me = current_thread();
	u64 fl = spin_lock_irqsave(&ctx->wq.lock);
	struct uffd_fault *w;
	struct uffd_event *e = NULL;
	while (!(w = first_unread(ctx)) && !(e = take_event(ctx)) && !nowait &&
	       !READ_ONCE(me->killed) && !signal_pending(me))
		sleep_on(&ctx->wq);
	if (w) {
		w->read = true;
		*msg = w->msg;
		*id = w->id;
	} else if (e) {
		*msg = e->msg;
		*id = 0;
	}
	spin_unlock_irqrestore(&ctx->wq.lock, fl);
	if (!w && !e)   /* a signal: restarted after a SA_RESTART handler, as Linux */
		return nowait ? -EAGAIN : READ_ONCE(me->killed) ? -EINTR : -ERESTARTSYS;
	if (e) {
		long err = 0;
		if (e->msg.event == UFFD_EVENT_FORK) {
			err = fork_event_fd(e->fork_ctx, msg);
			err = err == -ENOMEM ? err : 0;
		}
		event_done(ctx, e, err == 0);
		return err;
	}
	return 0;
}

/* Whole messages only; blocks (unless O_NONBLOCK) for the first one, then
 * returns as many more as are queued and fit. */
static long uffd_read(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	(void)pos;
	struct userfaultfd_ctx *ctx = f->private;
	if (!READ_ONCE(ctx->api_done))
		return -EINVAL;
	bool nowait = READ_ONCE(f->flags) & O_NONBLOCK;
	long done = 0;
	for (;;) {
		if (count < sizeof(struct uffd_msg))
			return done ? done : -EINVAL;
		struct uffd_msg msg;
		u64 id = 0;
		long err = read_one(ctx, nowait, &msg, &id);
		if (err)
			return done ? done : err;
		if (copy_to_user(ubuf, &msg, sizeof(msg))) {
			if (id)
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
	u32 mask = ctx->released ? POLLERR : (first_unread(ctx) || ctx->events) ? POLLIN : 0;
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
	wake_up_all(&ctx->wq);          /* events wait for a reader no more */
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
	ctx->flags = flags;     /* a fork child's fd takes the same */
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
