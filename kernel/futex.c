/* SPDX-License-Identifier: MIT */
/* kernel/futex.c - FUTEX_WAIT and FUTEX_WAKE: enough for joining threads
 * and for user-space locks; FUTEX_REQUEUE and FUTEX_CMP_REQUEUE for the
 * condition variables of C libraries (musl's).
 *
 * A futex is a user word, named by (address space, user address). Waiters
 * hang on one of FUTEX_BUCKETS wait queues chosen by a hash of that key;
 * each waiter has a record (on its kernel stack) saying which word it waits
 * on and whether a FUTEX_WAKE picked it.
 *
 * Lost wake-ups: the waiter must read the user word without holding the
 * bucket lock (reading may fault and sleep). So each bucket counts its
 * FUTEX_WAKE calls (seq). The waiter notes seq under the lock, reads the
 * word, and takes the lock again: if seq moved, a wake may have been meant
 * for it, and it returns 0 (a spurious wake-up, which callers must accept on
 * Linux too). If seq did not move, no waker has finished since the note;
 * a waker changes the word before it increments seq, so any later one will
 * find this waiter on the list.
 *
 * Requeue: Linux moves up to nr_requeue waiters of the first word onto the
 * second, to be woken with it later. Pagoda wakes them instead (with the
 * nr_wake it was asked to wake) and returns the same count: to each
 * moved waiter this is a spurious wake-up, which every FUTEX_WAIT caller
 * must accept (it re-checks its word and waits again, now on the second
 * word's lock if that is where it goes next). Correct, at the price of
 * the thundering herd that requeueing exists to avoid (docs/syscalls.md).
 *
 * Timeouts (a relative struct timespec) use a sleep timer (kernel/time.h).
 * Private and shared futexes are the same here: the key is always the
 * address space and address (documented in docs/syscalls.md).
 */
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/time.h"
#include "kernel/elf.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/gup_fast.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu

#define FUTEX_BUCKETS 64

struct futex_waiter {
	struct mm_struct *mm;
	u64 uaddr;
	u32 bitset;
	bool woken;
	struct futex_waiter *next;
};

struct futex_bucket {
	struct waitq wq;                /* its lock protects the fields below */
	u64 seq;                        /* FUTEX_WAKE calls on this bucket */
	struct futex_waiter *waiters;
};

static struct futex_bucket buckets[FUTEX_BUCKETS];

static struct futex_bucket *bucket_of(struct mm_struct *mm, u64 uaddr)
{
	u64 h = (uaddr >> 2) ^ ((u64)mm >> 6);
	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15UL;
	return &buckets[h >> 58];       /* top 6 bits: 64 buckets */
}

static void unlink_waiter(struct futex_bucket *b, struct futex_waiter *w)
{
	for (struct futex_waiter **pp = &b->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static long futex_wait(struct mm_struct *mm, u64 uaddr, u32 val, bool has_timeout,
		       u64 timeout_ns, u32 bitset, bool absolute)
{
	struct futex_bucket *b = bucket_of(mm, uaddr);
	u64 f = spin_lock_irqsave(&b->wq.lock);
	u64 seq = b->seq;
	spin_unlock_irqrestore(&b->wq.lock, f);

	u32 cur;
	if (copy_from_user(&cur, uaddr, sizeof(cur)))
		return -EFAULT;
	if (cur != val)
		return -EAGAIN;

	struct sleep_timer timer;
	u64 deadline = 0;
	if (has_timeout) {
		/* Absolute timeouts (FUTEX_WAIT_BITSET) count on the monotonic
		 * clock, which is also where CLOCK_REALTIME ones are measured
		 * from here (docs/syscalls.md). */
		deadline = absolute ? timeout_ns : ktime_ns() + timeout_ns;
		timer_add(&timer, deadline, &b->wq);
	}
	struct thread *me = current_thread();
	struct futex_waiter w = { mm, uaddr, bitset, false, NULL };
	long ret = 0;
	f = spin_lock_irqsave(&b->wq.lock);
	if (b->seq == seq) {
		w.next = b->waiters;
		b->waiters = &w;
		for (;;) {
			if (w.woken)
				break;
			if (READ_ONCE(me->killed)) {
				ret = -EINTR;
				break;
			}
			if (signal_pending(me)) {
				/* Linux: restart after SA_RESTART without a
				 * timeout; a timed wait returns -EINTR. */
				ret = has_timeout ? -EINTR : -ERESTARTSYS;
				break;
			}
			if (has_timeout && READ_ONCE(timer.fired)) {
				ret = -ETIMEDOUT;
				break;
			}
			sleep_on(&b->wq);
		}
		if (!w.woken)
			unlink_waiter(b, &w);
		else
			ret = 0;
	}
	spin_unlock_irqrestore(&b->wq.lock, f);
	if (has_timeout)
		timer_del(&timer);
	return ret;
}

static long futex_wake_bitset(struct mm_struct *mm, u64 uaddr, int nr, u32 bitset)
{
	struct futex_bucket *b = bucket_of(mm, uaddr);
	int woken = 0;
	u64 f = spin_lock_irqsave(&b->wq.lock);
	b->seq++;
	for (struct futex_waiter **pp = &b->waiters; *pp && woken < nr;) {
		struct futex_waiter *w = *pp;
		if (w->mm == mm && w->uaddr == uaddr && (w->bitset & bitset)) {
			w->woken = true;
			*pp = w->next;
			woken++;
		} else {
			pp = &w->next;
		}
	}
	spin_unlock_irqrestore(&b->wq.lock, f);
	if (woken)
		wake_up_all(&b->wq);    /* the others re-check and sleep again */
	return woken;
}

long futex_wake(struct mm_struct *mm, u64 uaddr, int nr)
{
	return futex_wake_bitset(mm, uaddr, nr, FUTEX_BITSET_MATCH_ANY);
}

void futex_wake_all_waiters(void)
{
	for (u32 i = 0; i < FUTEX_BUCKETS; i++)
		wake_up_all(&buckets[i].wq);
}

/* A shared (not FUTEX_PRIVATE_FLAG) futex is named on Linux by the page
 * behind the address, so the page must exist, and the shared zero page
 * (an untouched read-only mapping) is refused with EFAULT. Our key is the
 * address either way; this reproduces Linux's answers. Like Linux, the page
 * is looked up first with no lock at all (mm/gup_fast.h), and only if that
 * cannot tell through mmap_lock after faulting the word in. */
static int shared_futex_check(struct mm_struct *mm, u64 uaddr)
{
	struct page *fast = get_user_page_fast(mm, uaddr, false);
	if (fast) {
		put_page(fast);         /* a real page: only its existence counted */
		return 0;
	}
	u32 probe;
	if (copy_from_user(&probe, uaddr, sizeof(probe)))
		return -EFAULT;
	int err = 0;
	down_read(&mm->mmap_lock);
	/* A snapshot is enough: is it the zero page? (pgtable_leaf reads
	 * under RCU, so a zap beside us cannot free the table under it.) */
	u64 pte = pgtable_leaf(mm, uaddr);
	if (pte_present(pte) && pte_page(pte) == zero_page)
		err = -EFAULT;
	up_read(&mm->mmap_lock);
	return err;
}

/* The word's address: aligned (EINVAL), in user space (EFAULT), and for a
 * shared futex a real page (shared_futex_check). */
static long futex_key_check(struct mm_struct *mm, u64 uaddr, u64 op)
{
	if (uaddr & 3)
		return -EINVAL;
	if (!user_range_ok(uaddr, 4))
		return -EFAULT;
	if (!(op & FUTEX_PRIVATE_FLAG))
		return shared_futex_check(mm, uaddr);
	return 0;
}

/* FUTEX_REQUEUE and FUTEX_CMP_REQUEUE (Linux's futex_requeue, not PI):
 * negative counts are EINVAL, both words are checked, CMP_REQUEUE
 * compares the first word with val3 (EAGAIN); then the wake-up above. */
static long futex_requeue(u64 uaddr, u64 op, int nr_wake, int nr_requeue, u64 uaddr2,
			  u32 val3, bool cmp)
{
	if (nr_wake < 0 || nr_requeue < 0)
		return -EINVAL;
	struct mm_struct *mm = current_proc()->mm;
	long err = futex_key_check(mm, uaddr, op);
	if (!err)
		err = futex_key_check(mm, uaddr2, op);
	if (err)
		return err;
	if (cmp) {
		u32 cur;
		if (copy_from_user(&cur, uaddr, sizeof(cur)))
			return -EFAULT;
		if (cur != val3)
			return -EAGAIN;
	}
	u64 nr = (u64)nr_wake + (u64)nr_requeue;
	return futex_wake(mm, uaddr, nr > 0x7fffffff ? 0x7fffffff : (int)nr);
}

/* The checks in Linux's order (kernel/futex/syscalls.c, core.c): the
 * timeout is read first, then the command, the bitset, the alignment and
 * the address. */
static long sys_futex(u64 uaddr, u64 op, u64 val, u64 utimeout, u64 uaddr2, u64 val3)
{
	int cmd = (int)op & FUTEX_CMD_MASK;
	bool waits = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
	u64 timeout_ns = 0;
	if (utimeout && waits) {
		int err = get_user_timespec(utimeout, &timeout_ns);
		if (err)
			return err;
	}
	if ((op & FUTEX_CLOCK_REALTIME) && cmd != FUTEX_WAIT_BITSET)
		return -ENOSYS;
	u32 bitset = FUTEX_BITSET_MATCH_ANY;
	switch (cmd) {
	case FUTEX_WAIT_BITSET:
	case FUTEX_WAKE_BITSET:
		bitset = (u32)val3;
		if (!bitset)
			return -EINVAL;
		break;
	case FUTEX_WAIT:
	case FUTEX_WAKE:
		break;
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
		/* The timeout argument is the requeue count here. */
		return futex_requeue(uaddr, op, (int)val, (int)utimeout, uaddr2, (u32)val3,
				     cmd == FUTEX_CMP_REQUEUE);
	default:
		return -ENOSYS;
	}
	struct mm_struct *mm = current_proc()->mm;
	long err = futex_key_check(mm, uaddr, op);
	if (err)
		return err;
	if (waits)
		return futex_wait(mm, uaddr, (u32)val, utimeout != 0, timeout_ns, bitset,
				  cmd == FUTEX_WAIT_BITSET);
	return futex_wake_bitset(mm, uaddr, (int)val < 0 ? 0x7fffffff : (int)val, bitset);
}

void futex_init(void)
{
	for (u32 i = 0; i < FUTEX_BUCKETS; i++)
		waitq_init(&buckets[i].wq, "futex");
	syscall_register(SYS_futex, (void (*)(void))sys_futex);
}
