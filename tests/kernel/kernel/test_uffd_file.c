/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_uffd_file.c - in-kernel tests of the file side of userfaultfd
 * and of the fd layer and /proc/PID/pagemap ("test=uffd_file").
 *
 * They drive the file operations directly (kernel/file.h) on a test address
 * space borrowed with kthread_use_mm, so ioctl arguments and read buffers
 * are real user memory. Faulting threads are kernel threads calling
 * handle_userfault() the way mm/fault.c does (mmap_lock held for read), so
 * the queue, the wake-ups and the release work whatever the page tables do.
 * What these tests need from the mm side is only what mm/userfaultfd.h
 * promises (register marks the VMA with the context, release unregisters).
 */
#include "kernel/ktest.h"
#include "kernel/rcu.h"
#include "kernel/file.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/time.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/uaccess.h"
#include "kernel/userfaultfd.h"
#include "arch/x86_64/smp.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/pagemap.h"
#include "mm/thp.h"
#include "mm/madvise.h"
#include "tests/kernel/mm/test_user.h"
#include "mm/userfaultfd.h"
#include "mm/buddy.h"

#define ARGS 0x10000000UL       /* one populated page: ioctl arguments, buffers */
#define BASE 0x40000000UL       /* the registered area */
#define NPAGES 8
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
#define WAIT_NS (5UL * 1000000000UL)    /* never hang: fail after 5 s */

struct env {
	struct mm_struct *mm;
	struct process *proc;   /* a process with no threads: an fd table */
	struct process *saved_proc;
};

/* A test address space with ARGS and BASE mapped, in use by this thread. */
static bool env_setup(struct ktest *t, struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->mm = mm_create();
	if (!KTEST_EXPECT_TRUE(t, e->mm))
		return false;
	KTEST_EXPECT_EQ(t, do_mmap(e->mm, ARGS, P(1), RW, ANON | MAP_POPULATE, -1, 0), ARGS);
	KTEST_EXPECT_EQ(t, do_mmap(e->mm, BASE, P(NPAGES), RW, ANON, -1, 0), BASE);
	do_madvise(e->mm, BASE, P(NPAGES), MADV_NOHUGEPAGE);
	kthread_use_mm(e->mm);
	return true;
}

static void env_teardown(struct env *e)
{
	if (e->proc)
		proc_free_unstarted(e->proc);
	kthread_unuse_mm(e->mm);
	mm_put(e->mm);
	/* The page tables go after a grace period: let them, so that the
	 * suites after this one count free pages on a settled system. */
	rcu_barrier();
}

/* Open /proc paths as if this thread were a process of e->mm (procfs_open
 * reads current_proc()); undone by proc_end. */
static struct process *proc_begin(struct env *e)
{
	if (!e->proc) {
		e->proc = proc_alloc(NULL, "uffd_test");
		if (!e->proc)
			return NULL;
		files_init(e->proc);
		mm_get(e->mm);
		e->proc->mm = e->mm;
	}
	e->saved_proc = current_thread()->proc;
	current_thread()->proc = e->proc;
	return e->proc;
}

static void proc_end(struct env *e)
{
	current_thread()->proc = e->saved_proc;
}

static bool wait_for_ns(u32 *flag, u32 value, u64 ns)
{
	u64 deadline = ktime_ns() + ns;
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value) {
		if (ktime_ns() > deadline)
			return false;
		yield();
	}
	return true;
}

static bool wait_for(u32 *flag, u32 value)
{
	return wait_for_ns(flag, value, WAIT_NS);
}

static bool wait_waiting(struct userfaultfd_ctx *ctx, u32 n)
{
	u64 deadline = ktime_ns() + WAIT_NS;
	while (userfaultfd_nr_waiting(ctx) != n) {
		if (ktime_ns() > deadline)
			return false;
		yield();
	}
	return true;
}

static long do_api(struct file *f, u64 api, u64 features, struct uffdio_api *out)
{
	struct uffdio_api a = { api, features, 0 };
	(void)copy_to_user(ARGS, &a, sizeof(a));
	long r = file_ioctl(f, UFFDIO_API, ARGS);
	if (out)
		(void)copy_from_user(out, ARGS, sizeof(*out));
	return r;
}

static long do_register(struct file *f, u64 start, u64 len, u64 mode, u64 *ioctls)
{
	struct uffdio_register r = { { start, len }, mode, 0 };
	(void)copy_to_user(ARGS, &r, sizeof(r));
	long ret = file_ioctl(f, UFFDIO_REGISTER, ARGS);
	if (ioctls)
		(void)copy_from_user(ioctls, ARGS + 24, sizeof(*ioctls));
	return ret;
}

static long do_range_ioctl(struct file *f, u32 cmd, u64 start, u64 len, u64 mode)
{
	struct uffdio_writeprotect w = { { start, len }, mode };
	(void)copy_to_user(ARGS, &w, sizeof(w));
	return file_ioctl(f, cmd, ARGS);
}

/* Faulters only wait while their entry is protected (handle_userfault
 * looks at it again once queued): give every page of the area a page, then
 * register it with f and protect it all. */
static bool register_protected(struct ktest *t, struct env *e, struct file *f)
{
	for (u32 i = 0; i < NPAGES; i++)
		test_put_u64(e->mm, BASE + P(i), i);
	return KTEST_EXPECT_EQ(t, do_register(f, BASE, P(NPAGES), UFFDIO_REGISTER_MODE_WP, NULL), 0) &&
	       KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, P(NPAGES),
						 UFFDIO_WRITEPROTECT_MODE_WP), 0);
}

static struct file *new_uffd(struct ktest *t, struct env *e, u32 flags)
{
	long err = 0;
	struct file *f = userfaultfd_create(e->mm, flags, &err);
	KTEST_EXPECT_TRUE(t, f != NULL);
	return f;
}

/* ---- API negotiation ---- */

static void test_api_negotiation(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	if (!f)
		goto out;
	struct userfaultfd_ctx *ctx = userfaultfd_file_ctx(f);
	struct uffdio_api a;
	/* Before UFFDIO_API: every other ioctl, read and poll refuse. */
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(1), UFFDIO_REGISTER_MODE_WP, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 32), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_poll(f), POLLERR);
	/* Wrong api, unsupported features: EINVAL, and the struct reads back 0. */
	KTEST_EXPECT_EQ(t, do_api(f, 0xAB, 0, &a), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, a.api | a.features | a.ioctls, 0);
	/* POISON and MOVE are not Linux 6.1's and not Pagoda's. */
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, UFFD_FEATURE_POISON, &a), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, UFFD_FEATURE_MOVE, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 1UL << 40, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_ioctl(f, UFFDIO_API, 0x1000), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, uffd_ctx_features(ctx), 0);
	/* A refused handshake leaves the fd usable: WP_ASYNC (and with it
	 * WP_UNPOPULATED) is accepted; all features and the ioctls come back.
	 * A bit of Linux 6.1's set Pagoda lacks (MISSING_SHMEM) is accepted
	 * and not kept (kernel/userfaultfd.h). */
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_MISSING_SHMEM,
				  &a), 0);
	KTEST_EXPECT_EQ(t, a.api, UFFD_API);
	KTEST_EXPECT_EQ(t, a.features, UFFD_API_FEATURES);
	KTEST_EXPECT_EQ(t, a.ioctls, UFFD_API_IOCTLS);
	KTEST_EXPECT_EQ(t, uffd_ctx_features(ctx),
			UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	/* Only once. */
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, uffd_ctx_features(ctx),
			UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	/* Unknown ioctls: EINVAL (Linux's userfaultfd_ioctl), MOVE too. */
	KTEST_EXPECT_EQ(t, file_ioctl(f, 0xC028AA05, ARGS), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_ioctl(f, 0x1234, ARGS), (u64)-EINVAL);
	/* Open read-only; lseek is a no-op (Linux 6.1), pread ESPIPE. */
	KTEST_EXPECT_EQ(t, file_write(f, ARGS, 32), (u64)-EBADF);
	KTEST_EXPECT_EQ(t, file_lseek(f, 5, SEEK_SET), 0);
	KTEST_EXPECT_EQ(t, file_lseek(f, 0, SEEK_END), 0);
	KTEST_EXPECT_EQ(t, file_pread(f, ARGS, 32, 0), (u64)-ESPIPE);
	file_put(f);
	/* userfaultfd(2)'s own flags. */
	long err = 0;
	KTEST_EXPECT_TRUE(t, userfaultfd_create(e.mm, 0x10, &err) == NULL);
	KTEST_EXPECT_EQ(t, err, (u64)-EINVAL);
	f = userfaultfd_create(e.mm, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, &err);
	KTEST_EXPECT_TRUE(t, f != NULL);
	if (f) {
		KTEST_EXPECT_TRUE(t, uffd_ctx_user_mode_only(userfaultfd_file_ctx(f)));
		KTEST_EXPECT_EQ(t, f->flags, O_NONBLOCK);
		file_put(f);
	}
out:
	env_teardown(&e);
}

/* ---- range ioctls: argument checks ---- */

static void test_range_errno(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	if (!f)
		goto out;
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	const u64 WP = UFFDIO_REGISTER_MODE_WP;
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(1), 0, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(1), UFFDIO_REGISTER_MODE_MISSING |
					  UFFDIO_REGISTER_MODE_MINOR, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(1), UFFDIO_REGISTER_MODE_MINOR, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(1), WP | 8, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, BASE + 1, P(1), WP, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, 100, WP, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, 0, WP, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, 0x1000, P(1), WP, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, TASK_SIZE, P(1), WP, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, TASK_SIZE, WP, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, 0xfffffffffffff000UL, WP, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_ioctl(f, UFFDIO_REGISTER, 0x1000), (u64)-EFAULT);
	/* No VMA there: the mm side's EINVAL. */
	KTEST_EXPECT_EQ(t, do_register(f, 0x20000000UL, P(1), WP, NULL), (u64)-EINVAL);
	u64 ioctls = 0;
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(NPAGES), WP, &ioctls), 0);
	KTEST_EXPECT_EQ(t, ioctls, UFFD_API_RANGE_IOCTLS);
	/* WRITEPROTECT: mode bits, both WP and DONTWAKE, the range. */
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, P(1), 4), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, P(1),
					  UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE),
			(u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE + 8, P(1), 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, 0, 0), (u64)-EINVAL);
	/* Not registered: ENOENT (mm/userfaultfd.h). */
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, ARGS, P(1), 0), (u64)-ENOENT);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, P(NPAGES), 0), 0);
	/* WAKE and UNREGISTER check the range the same way. */
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE, 0, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE + 1, P(1), 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE, P(1), 0), 0);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_UNREGISTER, BASE, 100, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_UNREGISTER, BASE, P(NPAGES), 0), 0);
	file_put(f);
out:
	env_teardown(&e);
}

/* ---- read and poll with nothing queued ---- */

static void test_read_poll_empty(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	struct file *fb = new_uffd(t, &e, 0);
	if (!f || !fb)
		goto out;
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_EQ(t, do_api(fb, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 32), (u64)-EAGAIN);
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 31), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_read(f, USER_SPACE_END, 32), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, file_poll(f), 0);
	/* A blocking fd polls POLLERR, as Linux. */
	KTEST_EXPECT_EQ(t, file_poll(fb), POLLERR);
	/* FIONBIO makes it non-blocking. */
	int one = 1;
	(void)copy_to_user(ARGS, &one, sizeof(one));
	KTEST_EXPECT_EQ(t, file_ioctl(fb, 0x5421, ARGS), 0);
	KTEST_EXPECT_EQ(t, file_poll(fb), 0);
	KTEST_EXPECT_EQ(t, file_read(fb, ARGS, 32), (u64)-EAGAIN);
out:
	if (f)
		file_put(f);
	if (fb)
		file_put(fb);
	env_teardown(&e);
}

/* ---- faults: queue, read once, wake ---- */

struct faulter {
	struct mm_struct *mm;
	u64 addr;
	u32 reason;
	u32 tid;
	u32 done;
};

/* What mm/fault.c does for a fault that must go to the handler. */
static void faulter_fn(void *arg)
{
	struct faulter *fa = arg;
	fa->tid = current_thread()->tid;
	down_read(&fa->mm->mmap_lock);
	struct vm_area *vma = vma_find(fa->mm->vma_root, fa->addr);
	if (vma && vma->uffd_ctx)
		handle_userfault(fa->mm, vma, fa->addr, fa->reason, false);
	else
		up_read(&fa->mm->mmap_lock);
	__atomic_store_n(&fa->done, 1, __ATOMIC_RELEASE);
}

/* The online CPUs other than this one, in *buf; NULL (any CPU) if none. */
static const cpumask_t *other_cpus(cpumask_t *buf)
{
	cpumask_copy(buf, &cpu_online_mask);
	__cpumask_clear_cpu(smp_processor_id(), buf);
	return cpumask_empty(buf) ? NULL : buf;
}

static struct thread *start_faulter(struct faulter *fa, struct mm_struct *mm, u64 addr, u32 reason)
{
	memset(fa, 0, sizeof(*fa));
	fa->mm = mm;
	fa->addr = addr;
	fa->reason = reason;
	/* Another CPU if there is one: the handler and the faulter apart. */
	cpumask_t others_buf;
	const cpumask_t *others = other_cpus(&others_buf);
	return kthread_create("uffd_faulter", faulter_fn, fa, others);
}

static void test_fault_read_wake(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	if (!f)
		goto out;
	struct userfaultfd_ctx *ctx = userfaultfd_file_ctx(f);
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_TRUE(t, register_protected(t, &e, f));
	struct faulter fa;
	struct thread *th = start_faulter(&fa, e.mm, BASE + P(3) + 0x123,
					  UFFD_REASON_WRITE | UFFD_REASON_WP);
	KTEST_ASSERT_TRUE(t, th);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 1));
	KTEST_EXPECT_EQ(t, file_poll(f), POLLIN);
	/* One message, whole: a 64-byte buffer gets 32 bytes. */
	struct uffd_msg m;
	memset(&m, 0xee, sizeof(m));
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 64), 32);
	(void)copy_from_user(&m, ARGS, sizeof(m));
	KTEST_EXPECT_EQ(t, m.event, UFFD_EVENT_PAGEFAULT);
	KTEST_EXPECT_EQ(t, m.reserved1 | m.reserved2 | m.reserved3, 0);
	KTEST_EXPECT_EQ(t, m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);
	KTEST_EXPECT_EQ(t, m.arg.pagefault.address, BASE + P(3));      /* no EXACT_ADDRESS */
	KTEST_EXPECT_EQ(t, m.arg.pagefault.feat.ptid, 0);               /* no THREAD_ID */
	/* Read once; the faulter still waits. */
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 32), (u64)-EAGAIN);
	KTEST_EXPECT_EQ(t, file_poll(f), 0);
	KTEST_EXPECT_EQ(t, userfaultfd_nr_waiting(ctx), 1);
	/* Waking elsewhere, protecting, or clearing with DONTWAKE: still waits. */
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE + P(4), P(4), 0), 0);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, P(NPAGES),
					  UFFDIO_WRITEPROTECT_MODE_WP), 0);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE + P(3), P(1),
					  UFFDIO_WRITEPROTECT_MODE_DONTWAKE), 0);
	for (int i = 0; i < 20; i++)
		yield();
	KTEST_EXPECT_EQ(t, __atomic_load_n(&fa.done, __ATOMIC_ACQUIRE), 0);
	KTEST_EXPECT_EQ(t, userfaultfd_nr_waiting(ctx), 1);
	/* Clearing the protection over its page wakes it. */
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE + P(3), P(1), 0), 0);
	KTEST_EXPECT_TRUE(t, wait_for(&fa.done, 1));
	KTEST_EXPECT_EQ(t, userfaultfd_nr_waiting(ctx), 0);
	thread_join(th);

	/* UFFDIO_WAKE wakes too, and an unread message goes with its fault. */
	th = start_faulter(&fa, e.mm, BASE, UFFD_REASON_WRITE | UFFD_REASON_WP);
	KTEST_ASSERT_TRUE(t, th);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 1));
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE, P(1), 0), 0);
	KTEST_EXPECT_TRUE(t, wait_for(&fa.done, 1));
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 32), (u64)-EAGAIN);
	thread_join(th);
	file_put(f);
out:
	env_teardown(&e);
}

/* THREAD_ID and EXACT_ADDRESS; several messages in one read. */
static void test_fault_features(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	if (!f)
		goto out;
	struct userfaultfd_ctx *ctx = userfaultfd_file_ctx(f);
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS,
				  NULL), 0);
	KTEST_EXPECT_TRUE(t, register_protected(t, &e, f));
	struct faulter fa, fb;
	struct thread *ta = start_faulter(&fa, e.mm, BASE + P(1) + 8, UFFD_REASON_WRITE | UFFD_REASON_WP);
	KTEST_ASSERT_TRUE(t, ta);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 1));
	struct thread *tb = start_faulter(&fb, e.mm, BASE + P(6), UFFD_REASON_WP);
	KTEST_ASSERT_TRUE(t, tb);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 2));
	/* 80 bytes: two whole messages, oldest first. */
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 80), 64);
	struct uffd_msg m[2];
	(void)copy_from_user(m, ARGS, sizeof(m));
	KTEST_EXPECT_EQ(t, m[0].arg.pagefault.address, BASE + P(1) + 8);
	KTEST_EXPECT_EQ(t, m[0].arg.pagefault.feat.ptid, fa.tid);
	KTEST_EXPECT_EQ(t, m[1].arg.pagefault.address, BASE + P(6));
	KTEST_EXPECT_EQ(t, m[1].arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP);
	KTEST_EXPECT_EQ(t, m[1].arg.pagefault.feat.ptid, fb.tid);
	/* One wake over both. */
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, P(NPAGES), 0), 0);
	KTEST_EXPECT_TRUE(t, wait_for(&fa.done, 1));
	KTEST_EXPECT_TRUE(t, wait_for(&fb.done, 1));
	thread_join(ta);
	thread_join(tb);
	file_put(f);
out:
	env_teardown(&e);
}

/* A reader blocked in read(2) wakes when a fault arrives. */
struct reader {
	struct mm_struct *mm;
	struct file *f;
	long ret;
	u32 done;
	u64 buf;        /* where to read to: 0 for ARGS + 2048 */
};

static void reader_fn(void *arg)
{
	struct reader *r = arg;
	kthread_use_mm(r->mm);
	r->ret = file_read(r->f, r->buf ? r->buf : ARGS + 2048, 32);
	kthread_unuse_mm(r->mm);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

static void test_blocking_read(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, 0);
	if (!f)
		goto out;
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_TRUE(t, register_protected(t, &e, f));
	struct reader r = { e.mm, f, 0, 0, 0 };
	cpumask_t others_buf;
	const cpumask_t *others = other_cpus(&others_buf);
	struct thread *tr = kthread_create("uffd_reader", reader_fn, &r, others);
	KTEST_ASSERT_TRUE(t, tr);
	for (int i = 0; i < 50; i++)
		yield();
	KTEST_EXPECT_EQ(t, __atomic_load_n(&r.done, __ATOMIC_ACQUIRE), 0);
	struct faulter fa;
	struct thread *ta = start_faulter(&fa, e.mm, BASE + P(2), UFFD_REASON_WRITE | UFFD_REASON_WP);
	KTEST_ASSERT_TRUE(t, ta);
	KTEST_EXPECT_TRUE(t, wait_for(&r.done, 1));
	KTEST_EXPECT_EQ(t, r.ret, 32);
	struct uffd_msg m;
	(void)copy_from_user(&m, ARGS + 2048, sizeof(m));
	KTEST_EXPECT_EQ(t, m.arg.pagefault.address, BASE + P(2));
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE, P(NPAGES), 0), 0);
	KTEST_EXPECT_TRUE(t, wait_for(&fa.done, 1));
	thread_join(tr);
	thread_join(ta);
	file_put(f);
out:
	env_teardown(&e);
}

/* ---- a wake between a fault's decision and its sleep ---- */

#define STRAND_NS (1UL * 1000000000UL)  /* a faulter still asleep after this is stranded */
#define WP_HUGE 0x80000000UL   /* a 2 MiB-aligned area for a huge PMD */

/* A fault that has decided to wait (mm/fault.c saw the protected entry and
 * dropped the page-table lock) and is not queued yet: it holds mmap_lock
 * for read, as there, and goes on into handle_userfault() when told. */
struct racer {
	struct mm_struct *mm;
	u64 addr;
	u32 decided, go, done;
};

static void racer_fn(void *arg)
{
	struct racer *r = arg;
	down_read(&r->mm->mmap_lock);
	struct vm_area *vma = vma_find(r->mm->vma_root, r->addr);
	__atomic_store_n(&r->decided, 1, __ATOMIC_RELEASE);
	wait_for(&r->go, 1);
	if (vma && vma->uffd_ctx)
		handle_userfault(r->mm, vma, r->addr, UFFD_REASON_WRITE | UFFD_REASON_WP, false);
	else
		up_read(&r->mm->mmap_lock);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

enum resolve { UNPROTECT, ZAP, NOTHING };

/* One racer at addr, in a protected unit of size len (a page, or a huge
 * PMD); resolve its fault (or not) after it decided and before it queues.
 * 1 if it is stranded: asleep STRAND_NS later although nothing is left to
 * wait for (UFFDIO_WAKE then lets it go). With NOTHING it must wait, until
 * the protection goes. */
static u32 race_once(struct ktest *t, struct file *f, struct mm_struct *mm, u64 addr, u64 len,
		     enum resolve how)
{
	struct userfaultfd_ctx *ctx = userfaultfd_file_ctx(f);
	struct racer r = { mm, addr, 0, 0, 0 };
	cpumask_t others_buf;
	const cpumask_t *others = other_cpus(&others_buf);
	struct thread *th = kthread_create("uffd_racer", racer_fn, &r, others);
	if (!KTEST_EXPECT_TRUE(t, th))
		return 0;
	KTEST_EXPECT_TRUE(t, wait_for(&r.decided, 1));
	u64 unit = addr & ~(len - 1);
	if (how == UNPROTECT)           /* mode 0: clears, then wakes */
		KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, unit, len, 0), 0);
	else if (how == ZAP)            /* the entry goes: nothing to wait for */
		KTEST_EXPECT_EQ(t, do_madvise(mm, unit, len, MADV_DONTNEED), 0);
	__atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
	u32 stranded = 0;
	if (how == NOTHING) {
		/* Still protected: it must sleep, and the unprotect wakes it. */
		KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 1));
		KTEST_EXPECT_EQ(t, __atomic_load_n(&r.done, __ATOMIC_ACQUIRE), 0);
		KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, unit, len, 0), 0);
	} else if (!wait_for_ns(&r.done, 1, STRAND_NS)) {
		stranded = 1;
		do_range_ioctl(f, UFFDIO_WAKE, unit, len, 0);
	}
	KTEST_EXPECT_TRUE(t, wait_for(&r.done, 1));
	KTEST_EXPECT_EQ(t, userfaultfd_nr_waiting(ctx), 0);
	thread_join(th);
	return stranded;
}

/* The unprotect (or the zap) comes after the fault saw the protected entry
 * and before it queued: it finds nobody to wake, so the fault must see, once
 * queued, that its entry no longer needs the handler, and not sleep. */
static void test_wake_before_queue(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	if (!f)
		goto out;
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_TRUE(t, register_protected(t, &e, f));
	u32 stranded = 0;
	for (u32 i = 0; i < 4; i++)
		stranded += race_once(t, f, e.mm, BASE + P(i) + 8, P(1), UNPROTECT);
	for (u32 i = 4; i < 6; i++)
		stranded += race_once(t, f, e.mm, BASE + P(i), P(1), ZAP);
	race_once(t, f, e.mm, BASE + P(6), P(1), NOTHING);
	/* The zero page: unprotecting leaves it read-only (a write must still
	 * fault, for a page of its own). The fault waited for the bit, not for
	 * the write right: with the bit gone it must not sleep. */
	u64 zero;
	KTEST_EXPECT_EQ(t, do_madvise(e.mm, BASE + P(7), P(1), MADV_DONTNEED), 0);
	test_get_u64(e.mm, BASE + P(7), &zero);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE + P(7), P(1),
					  UFFDIO_WRITEPROTECT_MODE_WP), 0);
	KTEST_EXPECT_TRUE(t, pgtable_leaf(e.mm, BASE + P(7)) & PTE_UFFD_WP);
	stranded += race_once(t, f, e.mm, BASE + P(7), P(1), UNPROTECT);
	KTEST_EXPECT_FALSE(t, pgtable_leaf(e.mm, BASE + P(7)) & (PTE_UFFD_WP | PTE_W));
	/* A protected huge PMD, unprotected whole. */
	KTEST_EXPECT_EQ(t, do_mmap(e.mm, WP_HUGE, HPAGE_SIZE, RW, ANON, -1, 0), WP_HUGE);
	do_madvise(e.mm, WP_HUGE, HPAGE_SIZE, MADV_HUGEPAGE);
	test_put_u64(e.mm, WP_HUGE, 1);
	KTEST_EXPECT_EQ(t, do_register(f, WP_HUGE, HPAGE_SIZE, UFFDIO_REGISTER_MODE_WP, NULL), 0);
	for (u32 i = 0; i < 2; i++) {
		KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, WP_HUGE, HPAGE_SIZE,
						  UFFDIO_WRITEPROTECT_MODE_WP), 0);
		u64 *pmd = pgtable_walk(e.mm, WP_HUGE, PT_PMD);
		u64 v = pmd ? pte_read(pmd) : 0;
		if (!pmd_huge(v) || !(v & PTE_UFFD_WP)) {
			ktest_log(t, "no protected huge PMD here (thp=never?): 4 KiB only");
			break;
		}
		if (i == 0)
			race_once(t, f, e.mm, WP_HUGE + P(5), HPAGE_SIZE, NOTHING);
		else
			stranded += race_once(t, f, e.mm, WP_HUGE + P(5), HPAGE_SIZE, UNPROTECT);
	}
	ktest_log(t, "%u of 8 faults stranded", stranded);
	KTEST_EXPECT_EQ(t, stranded, 0);
	file_put(f);
out:
	env_teardown(&e);
}

/* ---- a read whose copy fails gives back its own message ---- */

#define BUF2 0x12000000UL       /* a read buffer protected by a second context */

/* One thread faulting at addr[0], then, once woken, at addr[1]: its two
 * waits are records at the same place on its stack. */
struct faulter2 {
	struct mm_struct *mm;
	u64 addr[2];
	u32 stage;
};

static void faulter2_fn(void *arg)
{
	struct faulter2 *fa = arg;
	for (u32 i = 0; i < 2; i++) {
		down_read(&fa->mm->mmap_lock);
		struct vm_area *vma = vma_find(fa->mm->vma_root, fa->addr[i]);
		if (vma && vma->uffd_ctx)
			handle_userfault(fa->mm, vma, fa->addr[i], UFFD_REASON_WRITE | UFFD_REASON_WP,
					 false);
		else
			up_read(&fa->mm->mmap_lock);
		__atomic_store_n(&fa->stage, i + 1, __ATOMIC_RELEASE);
	}
}

static u64 read_address(struct ktest *t, struct file *f)
{
	struct uffd_msg m;
	memset(&m, 0, sizeof(m));
	if (!KTEST_EXPECT_EQ(t, file_read(f, ARGS, 32), 32))
		return 0;
	(void)copy_from_user(&m, ARGS, sizeof(m));
	return m.arg.pagefault.address;
}

/* A reader takes message A and its copy out faults (its buffer is protected
 * by another context) and sleeps. Meanwhile A's fault is woken and the same
 * thread faults again: record B, at the address A had, which the test reads.
 * The reader's copy then fails: B must stay read (no duplicate). And with
 * B and a new C queued, a failed copy gives back C, read once after. */
static void test_read_giveback(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	struct file *f2 = new_uffd(t, &e, O_NONBLOCK);
	if (!f || !f2)
		goto out;
	struct userfaultfd_ctx *ctx = userfaultfd_file_ctx(f), *ctx2 = userfaultfd_file_ctx(f2);
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_EQ(t, do_api(f2, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_TRUE(t, register_protected(t, &e, f));
	KTEST_EXPECT_EQ(t, do_mmap(e.mm, BUF2, P(1), RW, ANON | MAP_POPULATE, -1, 0), BUF2);
	KTEST_EXPECT_EQ(t, do_register(f2, BUF2, P(1), UFFDIO_REGISTER_MODE_WP, NULL), 0);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f2, UFFDIO_WRITEPROTECT, BUF2, P(1),
					  UFFDIO_WRITEPROTECT_MODE_WP), 0);
	struct faulter2 fa = { e.mm, { BASE + P(1), BASE + P(2) }, 0 };
	cpumask_t others_buf;
	const cpumask_t *others = other_cpus(&others_buf);
	struct thread *ta = kthread_create("uffd_faulter2", faulter2_fn, &fa, others);
	KTEST_ASSERT_TRUE(t, ta);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 1));
	/* The reader takes A and sleeps in its copy out. */
	struct reader r = { e.mm, f, 0, 0, BUF2 };
	struct thread *tr = kthread_create("uffd_reader", reader_fn, &r, others);
	KTEST_ASSERT_TRUE(t, tr);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx2, 1));
	KTEST_EXPECT_EQ(t, file_poll(f), 0);            /* A is taken */
	/* A's fault goes on and faults again: B, unread, then read here. */
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE + P(1), P(1), 0), 0);
	KTEST_EXPECT_TRUE(t, wait_for(&fa.stage, 1));
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 1));
	KTEST_EXPECT_EQ(t, read_address(t, f), BASE + P(2));
	/* The reader's buffer goes away; woken, its copy fails. */
	KTEST_EXPECT_EQ(t, do_munmap_range(e.mm, BUF2, P(1)), 0);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f2, UFFDIO_WAKE, BUF2, P(1), 0), 0);
	KTEST_EXPECT_TRUE(t, wait_for(&r.done, 1));
	KTEST_EXPECT_EQ(t, r.ret, (u64)-EFAULT);
	thread_join(tr);
	/* A's message went with A; B's was read once. */
	KTEST_EXPECT_EQ(t, file_poll(f), 0);
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 32), (u64)-EAGAIN);
	/* B (read) and C (unread) queued: a failed copy gives back C only. */
	struct faulter fc;
	struct thread *tc = start_faulter(&fc, e.mm, BASE + P(3), UFFD_REASON_WRITE | UFFD_REASON_WP);
	KTEST_ASSERT_TRUE(t, tc);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 2));
	KTEST_EXPECT_EQ(t, file_read(f, USER_SPACE_END - P(1), 32), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, read_address(t, f), BASE + P(3));
	KTEST_EXPECT_EQ(t, file_read(f, ARGS, 32), (u64)-EAGAIN);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE, P(NPAGES), 0), 0);
	KTEST_EXPECT_TRUE(t, wait_for(&fa.stage, 2));
	KTEST_EXPECT_TRUE(t, wait_for(&fc.done, 1));
	thread_join(ta);
	thread_join(tc);
out:
	if (f)
		file_put(f);
	if (f2)
		file_put(f2);
	env_teardown(&e);
}

/* ---- release and kill ---- */

static bool registered(struct mm_struct *mm, u64 addr)
{
	down_read(&mm->mmap_lock);
	struct vm_area *vma = vma_find(mm->vma_root, addr);
	bool r = vma && vma->uffd_ctx && (vma->flags & VM_UFFD_WP);
	up_read(&mm->mmap_lock);
	return r;
}

static void test_release_wakes(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	u64 objs0 = test_slab_objects();
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	if (!f)
		goto out;
	struct userfaultfd_ctx *ctx = userfaultfd_file_ctx(f);
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_TRUE(t, register_protected(t, &e, f));
	KTEST_EXPECT_TRUE(t, registered(e.mm, BASE));
	struct faulter fa;
	struct thread *th = start_faulter(&fa, e.mm, BASE, UFFD_REASON_WRITE | UFFD_REASON_WP);
	KTEST_ASSERT_TRUE(t, th);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 1));
	/* The last close: the faulter goes on, the range is unregistered. */
	file_put(f);
	KTEST_EXPECT_TRUE(t, wait_for(&fa.done, 1));
	KTEST_EXPECT_FALSE(t, registered(e.mm, BASE));
	thread_join(th);
	/* The context (and the file) are freed once the faulter let go. */
	KTEST_EXPECT_EQ(t, test_slab_objects(), objs0);
out:
	env_teardown(&e);
}

/* Free pages plus the slab's, once freed page tables have gone: what a
 * whole address space gives back when it goes (kmalloc'd objects stay
 * inside the slab's pages). */
static u64 free_and_slab_pages(void)
{
	struct mm_counters c;
	rcu_barrier();
	mm_counters_read(&c);
	return c.free_pages + (u64)c.stat[NR_SLAB_PAGES];
}

#define VICTIM_PAGES 64

/* The address space of a process about to exit: VICTIM_PAGES pages at
 * BASE, all present. NULL (the failure reported) if it cannot be made. */
static struct mm_struct *victim_create(struct ktest *t)
{
	struct mm_struct *victim = mm_create();
	if (!KTEST_EXPECT_TRUE(t, victim != NULL))
		return NULL;
	KTEST_EXPECT_EQ(t, do_mmap(victim, BASE, P(VICTIM_PAGES), RW, ANON | MAP_POPULATE, -1, 0),
			BASE);
	return victim;
}

/* The context pins the mm_struct, not the address space: when the last
 * thread of a process leaves while another process still holds its
 * userfaultfd (a fork child inherits the fd), every page and page table
 * of the dead process comes back at once; the file's ioctls then fail
 * as Linux's do once mmget_not_zero fails, and the last close has
 * nothing left to unregister. */
static void test_exit_frees_while_open(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	u64 before = free_and_slab_pages();
	struct mm_struct *victim = victim_create(t);
	KTEST_ASSERT_TRUE(t, victim);
	long err = 0;
	struct file *f = userfaultfd_create(victim, O_NONBLOCK, &err);
	if (!KTEST_EXPECT_TRUE(t, f != NULL)) {
		mm_put(victim);
		goto out;
	}
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(VICTIM_PAGES), UFFDIO_REGISTER_MODE_WP, NULL), 0);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, P(VICTIM_PAGES),
					  UFFDIO_WRITEPROTECT_MODE_WP), 0);
	mm_put(victim);         /* its last thread exits; the fd stays open */
	u64 gone = free_and_slab_pages();
	KTEST_EXPECT_EQ(t, gone, before);
	if (gone != before)
		ktest_log(t, "%ld pages still held by the open userfaultfd", (long)(before - gone));
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WRITEPROTECT, BASE, P(1), 0), (u64)-ESRCH);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(1), UFFDIO_REGISTER_MODE_WP, NULL), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_UNREGISTER, BASE, P(1), 0), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE, P(1), 0), 0);
	file_put(f);            /* the last close: nothing to unregister */
	KTEST_EXPECT_EQ(t, free_and_slab_pages(), before);
out:
	env_teardown(&e);
}

static void test_kill_wakes(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	if (!f)
		goto out;
	struct userfaultfd_ctx *ctx = userfaultfd_file_ctx(f);
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_TRUE(t, register_protected(t, &e, f));
	struct faulter fa;
	struct thread *th = start_faulter(&fa, e.mm, BASE, UFFD_REASON_WRITE | UFFD_REASON_WP);
	KTEST_ASSERT_TRUE(t, th);
	KTEST_EXPECT_TRUE(t, wait_waiting(ctx, 1));
	/* What kick_siblings() does for a killed process's threads. */
	WRITE_ONCE(th->killed, true);
	files_wake_sleepers();
	KTEST_EXPECT_TRUE(t, wait_for(&fa.done, 1));
	KTEST_EXPECT_EQ(t, userfaultfd_nr_waiting(ctx), 0);
	KTEST_EXPECT_TRUE(t, registered(e.mm, BASE));   /* nothing else changed */
	thread_join(th);
	file_put(f);
out:
	env_teardown(&e);
}

/* fork shares the open file: the context lives until both fds close. */
static void test_fork_shares(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct process *parent = proc_alloc(NULL, "uffd_parent");
	struct process *child = proc_alloc(NULL, "uffd_child");
	KTEST_ASSERT_TRUE(t, parent && child);
	files_init(parent);
	struct file *f = new_uffd(t, &e, O_NONBLOCK);
	long fd = f ? fd_install(parent, f, FD_CLOEXEC) : -1;
	KTEST_EXPECT_EQ(t, fd, 3);
	KTEST_EXPECT_EQ(t, do_api(f, UFFD_API, 0, NULL), 0);
	KTEST_EXPECT_EQ(t, do_register(f, BASE, P(NPAGES), UFFDIO_REGISTER_MODE_WP, NULL), 0);
	KTEST_EXPECT_EQ(t, files_copy(child, parent), 0);
	struct file *pf = fget(parent, fd), *cf = fget(child, fd);
	KTEST_EXPECT_TRUE(t, pf == f && cf == f);
	KTEST_EXPECT_EQ(t, f->refs, 4);         /* two slots, two fgets */
	KTEST_EXPECT_EQ(t, child->fd_flags[fd], FD_CLOEXEC);
	file_put(pf);
	file_put(cf);
	KTEST_EXPECT_EQ(t, fd_close(parent, fd), 0);
	KTEST_EXPECT_EQ(t, fd_close(parent, fd), (u64)-EBADF);
	KTEST_EXPECT_TRUE(t, registered(e.mm, BASE));   /* the child's fd keeps it */
	KTEST_EXPECT_EQ(t, do_range_ioctl(f, UFFDIO_WAKE, BASE, P(1), 0), 0);
	KTEST_EXPECT_EQ(t, fd_close(child, fd), 0);
	KTEST_EXPECT_FALSE(t, registered(e.mm, BASE));  /* released */
	proc_free_unstarted(parent);
	proc_free_unstarted(child);
	env_teardown(&e);
}

/* ---- the fd layer ---- */

static void test_fd_layer(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	struct process *p = proc_begin(&e);
	KTEST_ASSERT_TRUE(t, p);
	KTEST_EXPECT_TRUE(t, fget(p, 5) == NULL);
	KTEST_EXPECT_TRUE(t, fget(p, -1) == NULL);
	KTEST_EXPECT_TRUE(t, fget(p, MAX_FILES) == NULL);
	KTEST_EXPECT_EQ(t, fd_close(p, 7), (u64)-EBADF);
	struct file *con = fget(p, 1);
	KTEST_EXPECT_TRUE(t, con == &console_file);
	if (con) {
		/* A terminal to TCGETS (kernel/tty.c), no other tty ioctl. */
		KTEST_EXPECT_EQ(t, file_ioctl(con, 0x5401 /* TCGETS */, ARGS), 0);
		KTEST_EXPECT_EQ(t, file_ioctl(con, 0x5402 /* TCSETS */, ARGS), (u64)-ENOTTY);
		KTEST_EXPECT_EQ(t, file_lseek(con, 0, SEEK_SET), (u64)-ESPIPE);
		KTEST_EXPECT_EQ(t, file_pread(con, ARGS, 8, 0), (u64)-ESPIPE);
		KTEST_EXPECT_EQ(t, file_read(con, ARGS, 8), 0);
		KTEST_EXPECT_TRUE(t, file_poll(con) & POLLOUT);
		file_put(con);
	}
	/* A text file: seekable like seq_file, pread at an offset. */
	long err = 0;
	struct file *st = procfs_open("/proc/self/status", &err);
	KTEST_ASSERT_TRUE(t, st);
	char a[16], b[16];
	KTEST_EXPECT_EQ(t, file_read(st, ARGS, 16), 16);
	(void)copy_from_user(a, ARGS, 16);
	KTEST_EXPECT_EQ(t, memcmp(a, "Name:\tuffd_test\n", 16), 0);
	KTEST_EXPECT_EQ(t, file_lseek(st, 0, SEEK_CUR), 16);
	KTEST_EXPECT_EQ(t, file_lseek(st, 6, SEEK_SET), 6);
	KTEST_EXPECT_EQ(t, file_read(st, ARGS, 4), 4);
	(void)copy_from_user(b, ARGS, 4);
	KTEST_EXPECT_EQ(t, memcmp(b, "uffd", 4), 0);
	KTEST_EXPECT_EQ(t, file_pread(st, ARGS, 5, 0), 5);
	KTEST_EXPECT_EQ(t, file_lseek(st, 0, SEEK_CUR), 10);    /* pread kept pos */
	KTEST_EXPECT_EQ(t, file_lseek(st, -20, SEEK_CUR), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_lseek(st, 0, SEEK_END), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_lseek(st, 0, SEEK_CUR), 10);
	KTEST_EXPECT_EQ(t, file_ioctl(st, 0x1234, ARGS), (u64)-ENOTTY);
	KTEST_EXPECT_EQ(t, file_write(st, ARGS, 1), (u64)-EBADF);
	KTEST_EXPECT_EQ(t, file_poll(st), DEFAULT_POLLMASK);
	/* The fd table: lowest free slot, EMFILE when full (f is put). */
	long fd = fd_install(p, st, 0);
	KTEST_EXPECT_EQ(t, fd, 3);
	long n = 0;
	for (long i = 4; i < MAX_FILES; i++) {
		struct file *x = procfs_open("/proc/meminfo", &err);
		if (x && fd_install(p, x, 0) == i)
			n++;
	}
	KTEST_EXPECT_EQ(t, n, MAX_FILES - 4);
	struct file *x = procfs_open("/proc/meminfo", &err);
	KTEST_EXPECT_EQ(t, x ? fd_install(p, x, 0) : 0, (u64)-EMFILE);
	KTEST_EXPECT_TRUE(t, procfs_open("/proc/nothing", &err) == NULL);
	KTEST_EXPECT_EQ(t, err, (u64)-ENOENT);
	KTEST_EXPECT_TRUE(t, procfs_open("/proc/99999/pagemap", &err) == NULL);
	KTEST_EXPECT_EQ(t, err, (u64)-ENOENT);
	proc_end(&e);
	env_teardown(&e);       /* closes them all */
}

/* ---- pagemap ---- */

static u64 pm_read1(struct file *pm, u64 addr)
{
	u64 v = ~0UL;
	if (file_pread(pm, ARGS, 8, (s64)(addr / PAGE_SIZE * 8)) == 8)
		(void)copy_from_user(&v, ARGS, 8);
	return v;
}

/* /proc/PID/pagemap and clear_refs, like the userfaultfd: an open file
 * (inherited by a fork child, or opened by another process) keeps the
 * struct, not the pages, of a process that has exited; reads and scans
 * then fail as Linux's pagemap_read does (ESRCH), and a clear_refs write
 * does nothing and succeeds, as Linux's does for a task without an mm. */
static void test_pagemap_exit_frees_while_open(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	u64 before = free_and_slab_pages();
	struct mm_struct *victim = victim_create(t);
	KTEST_ASSERT_TRUE(t, victim);
	struct process *p = proc_alloc(NULL, "pagemap_victim");
	KTEST_ASSERT_TRUE(t, p);
	files_init(p);
	p->mm = victim;         /* the process's reference: ours goes to it */
	struct process *saved = current_thread()->proc;
	current_thread()->proc = p;
	long err = 0;
	struct file *pm = procfs_open("/proc/self/pagemap", &err);
	struct file *cr = procfs_open("/proc/self/clear_refs", &err);
	current_thread()->proc = saved;
	KTEST_EXPECT_TRUE(t, pm && cr);
	proc_free_unstarted(p); /* the process is gone; the files stay open */
	u64 gone = free_and_slab_pages();
	KTEST_EXPECT_EQ(t, gone, before);
	if (gone != before)
		ktest_log(t, "%ld pages still held by the open pagemap and clear_refs",
			  (long)(before - gone));
	if (pm) {
		KTEST_EXPECT_EQ(t, file_pread(pm, ARGS, 8, (s64)(BASE / PAGE_SIZE * 8)), (u64)-ESRCH);
		KTEST_EXPECT_EQ(t, file_ioctl(pm, PAGEMAP_SCAN, ARGS), (u64)-ESRCH);
		file_put(pm);
	}
	if (cr) {
		(void)copy_to_user(ARGS, "4", 1);
		KTEST_EXPECT_EQ(t, file_write(cr, ARGS, 1), 1);
		file_put(cr);
	}
	KTEST_EXPECT_EQ(t, free_and_slab_pages(), before);
	env_teardown(&e);
}

static void test_pagemap_read(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	KTEST_ASSERT_TRUE(t, proc_begin(&e));
	long err = 0;
	struct file *pm = procfs_open("/proc/self/pagemap", &err);
	proc_end(&e);
	KTEST_ASSERT_TRUE(t, pm);
	/* Touch pages 0, 2 and 5 (written), read page 6 (the zero page). */
	test_put_u64(e.mm, BASE + P(0), 1);
	test_put_u64(e.mm, BASE + P(2), 2);
	test_put_u64(e.mm, BASE + P(5), 3);
	u64 dummy;
	test_get_u64(e.mm, BASE + P(6), &dummy);
	/* All eight with one lseek + read. */
	KTEST_EXPECT_EQ(t, file_lseek(pm, (s64)(BASE / PAGE_SIZE * 8), SEEK_SET), BASE / PAGE_SIZE * 8);
	KTEST_EXPECT_EQ(t, file_read(pm, ARGS + 1024, NPAGES * 8), NPAGES * 8);
	KTEST_EXPECT_EQ(t, file_lseek(pm, 0, SEEK_CUR), (BASE / PAGE_SIZE + NPAGES) * 8);
	u64 ent[NPAGES];
	(void)copy_from_user(ent, ARGS + 1024, sizeof(ent));
	for (int i = 0; i < NPAGES; i++) {
		u64 leaf = pgtable_leaf(e.mm, BASE + P(i));
		bool touched = i == 0 || i == 2 || i == 5;
		KTEST_EXPECT_EQ(t, ent[i], pm_read1(pm, BASE + P(i)));   /* pread agrees */
		KTEST_EXPECT_EQ(t, !!(ent[i] & PM_PRESENT), touched || i == 6);
		KTEST_EXPECT_TRUE(t, ent[i] & PM_SOFT_DIRTY);
		KTEST_EXPECT_FALSE(t, ent[i] & (PM_UFFD_WP | PM_FILE | PM_SWAP));
		if (touched) {
			KTEST_EXPECT_EQ(t, ent[i] & PM_PFN_MASK, (leaf & PTE_ADDR_MASK) >> PAGE_SHIFT);
			KTEST_EXPECT_TRUE(t, ent[i] & PM_MMAP_EXCLUSIVE);
		} else if (i == 6) {
			KTEST_EXPECT_EQ(t, ent[i] & PM_PFN_MASK, page_to_pfn(zero_page));
			KTEST_EXPECT_FALSE(t, ent[i] & PM_MMAP_EXCLUSIVE);
		} else {
			KTEST_EXPECT_EQ(t, ent[i], PM_SOFT_DIRTY);
		}
	}
	/* Outside any VMA: all zero. */
	KTEST_EXPECT_EQ(t, pm_read1(pm, BASE + P(NPAGES)), 0);
	KTEST_EXPECT_EQ(t, pm_read1(pm, 0x30000000UL), 0);
	/* uffd-wp bit: on a present entry, and a marker (installed by hand
	 * here, removed before teardown). */
	down_read(&e.mm->mmap_lock);
	u32 *ptl;
	u64 *pte0 = pte_offset_map_lock(e.mm, BASE, &ptl);  /* pages 0 and 1 */
	bool have = pte0 && !pte_read(&pte0[1]);
	if (have) {
		pte_set(&pte0[0], pte_read(&pte0[0]) | PTE_UFFD_WP);
		pte_set(&pte0[1], PTE_UFFD_WP);
	}
	if (pte0)
		pte_unmap_unlock(ptl);
	up_read(&e.mm->mmap_lock);
	KTEST_EXPECT_TRUE(t, have);
	if (have) {
		u64 v0 = pm_read1(pm, BASE + P(0)), v1 = pm_read1(pm, BASE + P(1));
		KTEST_EXPECT_TRUE(t, (v0 & PM_UFFD_WP) && (v0 & PM_PRESENT));
		KTEST_EXPECT_EQ(t, v1, PM_UFFD_WP | PM_SOFT_DIRTY);
		down_read(&e.mm->mmap_lock);
		pte0 = pte_offset_map_lock(e.mm, BASE, &ptl);
		if (pte0) {
			pte_set(&pte0[0], pte_read(&pte0[0]) & ~PTE_UFFD_WP);
			pte_set(&pte0[1], 0);
			pte_unmap_unlock(ptl);
		}
		up_read(&e.mm->mmap_lock);
	}
	/* Linux's checks: whole entries, nothing past user space. */
	KTEST_EXPECT_EQ(t, file_pread(pm, ARGS, 8, 4), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_pread(pm, ARGS, 12, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_pread(pm, ARGS, 0, 0), 0);
	KTEST_EXPECT_EQ(t, file_pread(pm, ARGS, 8, (s64)(TASK_SIZE / PAGE_SIZE * 8)), 0);
	KTEST_EXPECT_EQ(t, file_pread(pm, ARGS, 16, (s64)(TASK_SIZE / PAGE_SIZE * 8 - 8)), 8);
	KTEST_EXPECT_EQ(t, file_pread(pm, 0x1000, 8, 0), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, file_lseek(pm, 0, SEEK_END), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_ioctl(pm, 0x1234, ARGS), (u64)-EINVAL);
	file_put(pm);
	env_teardown(&e);
}

/* ---- PAGEMAP_SCAN ---- */

#define VEC (ARGS + 512)        /* room for 100 regions after the argument */

static long scan(struct file *pm, u64 flags, u64 start, u64 end, u64 vec_len, u64 max_pages,
		 u64 mask, u64 anyof, u64 inverted, u64 ret_mask, struct pm_scan_arg *out)
{
	struct pm_scan_arg a = { sizeof(a), flags, start, end, 0, vec_len ? VEC : 0, vec_len,
				 max_pages, inverted, mask, anyof, ret_mask };
	(void)copy_to_user(ARGS, &a, sizeof(a));
	long r = file_ioctl(pm, PAGEMAP_SCAN, ARGS);
	if (out)
		(void)copy_from_user(out, ARGS, sizeof(*out));
	return r;
}

static struct page_region region(u32 i)
{
	struct page_region r = { 0, 0, 0 };
	(void)copy_from_user(&r, VEC + i * sizeof(r), sizeof(r));
	return r;
}

static void test_pagemap_scan(struct ktest *t)
{
	struct env e;
	if (!env_setup(t, &e))
		return;
	KTEST_ASSERT_TRUE(t, proc_begin(&e));
	long err = 0;
	struct file *pm = procfs_open("/proc/self/pagemap", &err);
	proc_end(&e);
	KTEST_ASSERT_TRUE(t, pm);
	test_put_u64(e.mm, BASE + P(0), 1);
	test_put_u64(e.mm, BASE + P(2), 2);
	test_put_u64(e.mm, BASE + P(3), 2);
	test_put_u64(e.mm, BASE + P(5), 3);
	const u64 END = BASE + P(NPAGES);
	const u64 PW = PAGE_IS_PRESENT | PAGE_IS_WRITTEN;
	struct pm_scan_arg o;
	/* Argument checks, in Linux's order. */
	struct pm_scan_arg bad = { 95, 0, BASE, END, 0, 0, 0, 0, 0, 0, 0, 0 };
	(void)copy_to_user(ARGS, &bad, sizeof(bad));
	KTEST_EXPECT_EQ(t, file_ioctl(pm, PAGEMAP_SCAN, ARGS), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, file_ioctl(pm, PAGEMAP_SCAN, 0x1000), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, scan(pm, 4, BASE, END, 10, 0, 0, 0, 0, PW, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, END, 10, 0, 1 << 8, 0, 0, PW, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE + 8, END, 10, 0, 0, 0, 0, PW, NULL), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, USER_SPACE_END + P(1), 10, 0, 0, 0, 0, PW, NULL),
			(u64)-EFAULT);
	struct pm_scan_arg novec = { sizeof(novec), 0, BASE, END, 0, 0, 3, 0, 0, 0, 0, PW };
	(void)copy_to_user(ARGS, &novec, sizeof(novec));
	KTEST_EXPECT_EQ(t, file_ioctl(pm, PAGEMAP_SCAN, ARGS), (u64)-EINVAL);
	/* Present pages: 0, 2-3, 5 as three runs. */
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, END, 10, 0, PAGE_IS_PRESENT, 0, 0, PW, &o), 3);
	KTEST_EXPECT_EQ(t, o.walk_end, END);
	struct page_region r0 = region(0), r1 = region(1), r2 = region(2);
	KTEST_EXPECT_EQ(t, r0.start, BASE);
	KTEST_EXPECT_EQ(t, r0.end, BASE + P(1));
	KTEST_EXPECT_EQ(t, r0.categories, PW);
	KTEST_EXPECT_EQ(t, r1.start, BASE + P(2));
	KTEST_EXPECT_EQ(t, r1.end, BASE + P(4));
	KTEST_EXPECT_EQ(t, r2.start, BASE + P(5));
	KTEST_EXPECT_EQ(t, r2.end, BASE + P(6));
	/* Inverted: the pages not present, as two runs (end not aligned). */
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, END - 100, 10, 0, PAGE_IS_PRESENT, 0, PAGE_IS_PRESENT,
				PAGE_IS_PRESENT, &o), 3);
	KTEST_EXPECT_EQ(t, region(0).start, BASE + P(1));
	KTEST_EXPECT_EQ(t, region(0).categories, 0);
	KTEST_EXPECT_EQ(t, region(2).start, BASE + P(6));
	KTEST_EXPECT_EQ(t, region(2).end, END);
	/* Every page is soft-dirty here: one run of the whole area. */
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, END, 10, 0, 0, 0, 0, PAGE_IS_SOFT_DIRTY, &o), 1);
	KTEST_EXPECT_EQ(t, region(0).end - region(0).start, P(NPAGES));
	/* max_pages: stops after 2 pages, in the middle of a run. */
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, END, 10, 2, PAGE_IS_PRESENT, 0, 0, PW, &o), 2);
	KTEST_EXPECT_EQ(t, region(1).end, BASE + P(3));
	KTEST_EXPECT_EQ(t, o.walk_end, BASE + P(3));
	/* vec_len 1: the second run does not fit; the walk ends before it. */
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, END, 1, 0, PAGE_IS_PRESENT, 0, 0, PW, &o), 1);
	KTEST_EXPECT_EQ(t, o.walk_end, BASE + P(2));
	/* No wp-async VMA: CHECK_WPASYNC is EPERM; WP_MATCHING skips it. */
	KTEST_EXPECT_EQ(t, scan(pm, PM_SCAN_CHECK_WPASYNC, BASE, END, 10, 0, 0, 0, 0, PW, NULL),
			(u64)-EPERM);
	KTEST_EXPECT_EQ(t, scan(pm, PM_SCAN_WP_MATCHING, BASE, END, 10, 0, PAGE_IS_WRITTEN, 0, 0, PW,
				&o), 0);
	KTEST_EXPECT_EQ(t, o.walk_end, END);
	/* Registered with WP_ASYNC: WPALLOWED, and WP_MATCHING re-protects
	 * what it reports (once the mm side really protects). */
	struct file *uf = new_uffd(t, &e, O_NONBLOCK);
	KTEST_ASSERT_TRUE(t, uf);
	KTEST_EXPECT_EQ(t, do_api(uf, UFFD_API, UFFD_FEATURE_WP_ASYNC, NULL), 0);
	KTEST_EXPECT_EQ(t, do_register(uf, BASE, P(NPAGES), UFFDIO_REGISTER_MODE_WP, NULL), 0);
	KTEST_EXPECT_EQ(t, scan(pm, PM_SCAN_CHECK_WPASYNC, BASE, END, 10, 0, PAGE_IS_WPALLOWED, 0, 0,
				PAGE_IS_WPALLOWED, &o), 1);
	KTEST_EXPECT_EQ(t, region(0).end - region(0).start, P(NPAGES));
	KTEST_EXPECT_EQ(t, scan(pm, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, BASE, END, 10, 0,
				PAGE_IS_WRITTEN, 0, 0, PW, &o), 3);
	/* Re-protected: the bit is back, and nothing reads as written. */
	KTEST_EXPECT_TRUE(t, pgtable_leaf(e.mm, BASE + P(2)) & PTE_UFFD_WP);
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, END, 10, 0, PAGE_IS_WRITTEN, 0, 0, PW, &o), 0);
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, END, 10, 0, PAGE_IS_PRESENT, 0, 0, PW, &o), 3);
	KTEST_EXPECT_EQ(t, region(0).categories, PAGE_IS_PRESENT);
	file_put(uf);
	file_put(pm);
	env_teardown(&e);
}

/* What a page is: PAGE_IS_FILE for a page of an object (shared memory here;
 * shmem on Linux, whose pages are not PageAnon), PAGE_IS_PFNZERO for the
 * shared zero page a read fault maps, neither for a private page. */
static void test_pagemap_categories(struct ktest *t)
{
	const u64 SHARED = 0x50000000UL;
	const u64 ALL = PAGE_IS_PRESENT | PAGE_IS_FILE | PAGE_IS_PFNZERO;
	struct env e;
	if (!env_setup(t, &e))
		return;
	KTEST_EXPECT_EQ(t, do_mmap(e.mm, SHARED, P(1), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
				   -1, 0), SHARED);
	u64 v = 1;
	test_put_u64(e.mm, BASE + P(0), 1);                   /* a private page */
	KTEST_EXPECT_EQ(t, test_get_u64(e.mm, BASE + P(1), &v), 0); /* the zero page */
	KTEST_EXPECT_EQ(t, v, 0);
	test_put_u64(e.mm, SHARED, 2);                         /* the object's page */
	KTEST_ASSERT_TRUE(t, proc_begin(&e));
	long err = 0;
	struct file *pm = procfs_open("/proc/self/pagemap", &err);
	proc_end(&e);
	KTEST_ASSERT_TRUE(t, pm);
	KTEST_EXPECT_EQ(t, scan(pm, 0, BASE, BASE + P(2), 10, 0, 0, 0, 0, ALL, NULL), 2);
	KTEST_EXPECT_EQ(t, region(0).categories, PAGE_IS_PRESENT);
	KTEST_EXPECT_EQ(t, region(1).categories, PAGE_IS_PRESENT | PAGE_IS_PFNZERO);
	KTEST_EXPECT_EQ(t, scan(pm, 0, SHARED, SHARED + P(1), 10, 0, 0, 0, 0, ALL, NULL), 1);
	KTEST_EXPECT_EQ(t, region(0).categories, PAGE_IS_PRESENT | PAGE_IS_FILE);
	file_put(pm);
	env_teardown(&e);
}

/* A huge PMD: 512 consecutive frames, exclusive, and PAGE_IS_HUGE. */
static void test_pagemap_huge(struct ktest *t)
{
	const u64 HUGE_BASE = 0x80000000UL, BUF = 0x11000000UL;
	struct env e;
	if (!env_setup(t, &e))
		return;
	KTEST_EXPECT_EQ(t, do_mmap(e.mm, HUGE_BASE, HPAGE_SIZE, RW, ANON, -1, 0), HUGE_BASE);
	KTEST_EXPECT_EQ(t, do_mmap(e.mm, BUF, P(1), RW, ANON | MAP_POPULATE, -1, 0), BUF);
	do_madvise(e.mm, HUGE_BASE, HPAGE_SIZE, MADV_HUGEPAGE);
	test_put_u64(e.mm, HUGE_BASE + P(7), 7);
	u64 *pmd = pgtable_walk(e.mm, HUGE_BASE, PT_PMD);
	if (!pmd || !pmd_huge(pte_read(pmd))) {
		ktest_skip(t, "no huge page here (thp=never?)");
		env_teardown(&e);
		return;
	}
	KTEST_ASSERT_TRUE(t, proc_begin(&e));
	long err = 0;
	struct file *pm = procfs_open("/proc/self/pagemap", &err);
	proc_end(&e);
	KTEST_ASSERT_TRUE(t, pm);
	u64 first = 0;
	u32 good = 0;
	for (u32 chunk = 0; chunk < HPAGE_NR / 512 * 8; chunk++) {
		/* 64 entries (512 bytes) at a time into BUF. */
		u64 off = (HUGE_BASE / PAGE_SIZE + chunk * 64) * 8;
		if (file_pread(pm, BUF, 512, (s64)off) != 512)
			break;
		u64 ent[64];
		(void)copy_from_user(ent, BUF, sizeof(ent));
		for (u32 i = 0; i < 64; i++) {
			if (chunk == 0 && i == 0)
				first = ent[0] & PM_PFN_MASK;
			u64 want = PM_PRESENT | PM_MMAP_EXCLUSIVE | PM_SOFT_DIRTY | (first + chunk * 64 + i);
			if (ent[i] == want)
				good++;
		}
	}
	KTEST_EXPECT_EQ(t, good, HPAGE_NR);
	KTEST_EXPECT_EQ(t, first, (pte_read(pmd) & PTE_ADDR_MASK) >> PAGE_SHIFT);
	KTEST_EXPECT_EQ(t, scan(pm, 0, HUGE_BASE, HUGE_BASE + HPAGE_SIZE, 10, 0, PAGE_IS_HUGE, 0, 0,
				PAGE_IS_HUGE | PAGE_IS_PRESENT, NULL), 1);
	KTEST_EXPECT_EQ(t, region(0).start, HUGE_BASE);
	KTEST_EXPECT_EQ(t, region(0).end, HUGE_BASE + HPAGE_SIZE);
	KTEST_EXPECT_EQ(t, region(0).categories, PAGE_IS_HUGE | PAGE_IS_PRESENT);
	file_put(pm);
	env_teardown(&e);
}

static const struct ktest_case uffd_file_cases[] = {
	{ "api_negotiation", test_api_negotiation },
	{ "range_errno", test_range_errno },
	{ "read_poll_empty", test_read_poll_empty },
	{ "fault_read_wake", test_fault_read_wake },
	{ "fault_features", test_fault_features },
	{ "blocking_read", test_blocking_read },
	{ "wake_before_queue", test_wake_before_queue },
	{ "read_giveback", test_read_giveback },
	{ "release_wakes", test_release_wakes },
	{ "kill_wakes", test_kill_wakes },
	{ "exit_frees_while_open", test_exit_frees_while_open },
	{ "fork_shares", test_fork_shares },
	{ "fd_layer", test_fd_layer },
	{ "pagemap_read", test_pagemap_read },
	{ "pagemap_scan", test_pagemap_scan },
	{ "pagemap_categories", test_pagemap_categories },
	{ "pagemap_huge", test_pagemap_huge },
	{ "pagemap_exit_frees_while_open", test_pagemap_exit_frees_while_open },
};
KTEST_SUITE(uffd_file, uffd_file_cases);
