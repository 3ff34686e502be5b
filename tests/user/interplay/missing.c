/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/missing.c - userfaultfd's missing mode in the
 * interplay tester (docs/testing-mm.md, "Missing faults"): a second
 * userfaultfd file per run, registered MISSING or MISSING|WP on private
 * runs, with the events REMOVE, UNMAP and REMAP; its handler thread fills
 * each missing page with UFFDIO_COPY of bytes chosen from the seed and the
 * page's address (or UFFDIO_ZEROPAGE), so the model knows every byte a
 * fault will bring without knowing when it happens; and the events each
 * call must raise (REMOVE, UNMAP), checked as they arrive. REMAP is asked
 * for but never raised: mremap.c leaves slots with such pages alone. */
#include "interplay.h"

int mfd = -1;
static struct uthread *mhandler;
static int mhandler_stop;

#define MAX_MEVENTS 4096
static struct mevent { u32 event; u64 a, b; } mev[MAX_MEVENTS];
static int mev_n;		/* written by the handler, read by the runner */
static int mev_checked;		/* the runner has accounted for these */

static u64 fill_buf[PAGE_SIZE / 8] __attribute__((aligned(4096)));

/* What a missing fault at addr brings: generation 0 (UFFDIO_ZEROPAGE, one
 * page in four) or a generation with FILL_GEN set (UFFDIO_COPY of the
 * pattern of addr's own key), chosen from the seed and the address only:
 * the same on both kernels, whenever the fault comes. */
u32 fill_gen(u64 addr)
{
	u64 h = mix(cur_seed * 0x9E3779B97F4A7C15UL ^ (addr >> 12));
	return (h & 3) == 0 ? 0 : FILL_GEN | (u32)((h >> 8) & 0xffffff);
}

static int fill(u64 page)
{
	u32 g = fill_gen(page);
	if (!g) {
		struct uffdio_zeropage z = { .range = { page, PAGE_SIZE }, .mode = 0 };
		return ioctl(mfd, UFFDIO_ZEROPAGE, &z) < 0 ? -errno : 0;
	}
	write_page((u64)fill_buf, page >> 12, g);
	struct uffdio_copy c = { page, (u64)fill_buf, PAGE_SIZE, 0, 0 };
	return ioctl(mfd, UFFDIO_COPY, &c) < 0 ? -errno : 0;
}

/* A fill done: 0; EEXIST (another thread's fault filled it first) or
 * ENOENT (unmapped or unregistered since): wake the faulting thread, which
 * retries. EAGAIN (an event is on its way: mmap_changing) or ENOMEM (fault
 * injection): try again after the next message. */
static bool try_fill(u64 page)
{
	int r = fill(page);
	if (r == -EEXIST || r == -ENOENT) {
		struct uffdio_range w = { page, PAGE_SIZE };
		ioctl(mfd, UFFDIO_WAKE, &w);
		return true;
	}
	if (r && r != -EAGAIN && r != -ENOMEM)
		fail("missing handler: fill of 0x%lx: %s", (unsigned long)page, errno_name(-r));
	return r == 0 || (r != -EAGAIN && r != -ENOMEM);
}

#define MAX_PENDING 64

static void handle_msg(const struct uffd_msg *m, u64 *pending, int *npending)
{
	if (m->event == UFFD_EVENT_PAGEFAULT) {
		u64 page = m->arg.pagefault.address & ~(PAGE_SIZE - 1);
		if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
			/* MISSING|WP: a write on a protected page, as the WP
			 * handler does (threads.c). */
			__atomic_add_fetch(&handler_faults, 1, __ATOMIC_RELAXED);
			int r = wp_range(mfd, page, PAGE_SIZE, 0);
			if (r)
				fail("missing handler: unprotect 0x%lx: %s", (unsigned long)page,
				     errno_name(-r));
		} else if (!try_fill(page)) {
			if (*npending < MAX_PENDING)
				pending[(*npending)++] = page;
		}
		return;
	}
	int n = mev_n;
	if (n == MAX_MEVENTS)
		return;
	mev[n].event = m->event;
	mev[n].a = m->arg.remap.from;	/* remove.start for REMOVE and UNMAP */
	mev[n].b = m->arg.remap.to;	/* remove.end */
	__atomic_store_n(&mev_n, n + 1, __ATOMIC_RELEASE);
}

static long mhandler_main(void *arg)
{
	(void)arg;
	u64 pending[MAX_PENDING];
	int npending = 0;
	while (!READ_ONCE(mhandler_stop)) {
		struct pollfd pfd = { .fd = mfd, .events = POLLIN };
		if (poll(&pfd, 1, npending ? 1 : 20) > 0) {
			struct uffd_msg m;
			if (read(mfd, &m, sizeof(m)) == (ssize_t)sizeof(m))
				handle_msg(&m, pending, &npending);
		}
		for (int i = 0; i < npending; i++)
			if (try_fill(pending[i]))
				pending[i--] = pending[--npending];
	}
	return 0;
}

void missing_setup(void)
{
	mfd = uffd_open(UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_EVENT_REMOVE |
			UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMAP, NULL);
	mhandler_stop = 0;
	mev_n = mev_checked = 0;
	mhandler = thread_create(mhandler_main, NULL, ncpus - 1);
	if (!mhandler)
		ktap_bail("thread_create: %s", errno_name(errno));
}

void missing_teardown(void)
{
	if (!failed && !prm.faultinject && READ_ONCE(mev_n) != mev_checked)
		fail("missing handler: %d userfaultfd events nobody expected (the first: 0x%x "
		     "0x%lx..0x%lx)", READ_ONCE(mev_n) - mev_checked, mev[mev_checked].event,
		     (unsigned long)mev[mev_checked].a, (unsigned long)mev[mev_checked].b);
	WRITE_ONCE(mhandler_stop, 1);
	thread_join(mhandler);
	mhandler = NULL;
	close(mfd);
	mfd = -1;
}

/* --- the model --- */

bool is_missing_reg(const struct page_state *ps)
{
	return ps->mapped && !ps->shared && (ps->uffd == UREG_MISSING || ps->uffd == UREG_MISSING_WP);
}

/* A registered page whose entry may be empty: its next touch faults and
 * brings fill_gen's bytes, so that is what the model says it holds (or
 * zeros too, where a zero page may be mapped instead). */
void missing_may_fill(struct page_state *ps, int s, int p)
{
	if (!is_missing_reg(ps) || ps->unknown || ps->present == YES)
		return;
	if (ps->gen && ps->maybe_zero) {
		/* MADV_FREE: Linux keeps the old page until memory is short,
		 * Pagoda drops it at once and the handler fills it. */
		ps->unknown = 1;
		return;
	}
	if (ps->gen && !(ps->gen & FILL_GEN))
		return;		/* written and still there */
	u32 g = fill_gen(page_addr(s, p));
	ps->maybe_zero = g && ps->present == MAYBE;
	ps->gen = g;
	ps->okey = 0;
}

/* No longer registered MISSING (unregistered, or the fork child's copy): a
 * fill the model expected that may not have come reads as zeros now. */
void missing_forget(struct page_state *ps)
{
	if (ps->shared || !(ps->gen & FILL_GEN) || ps->present == YES)
		return;
	if (ps->present == NO) {
		ps->gen = 0;
		ps->maybe_zero = 0;
	} else {
		ps->maybe_zero = 1;
	}
}

bool slot_has_missing(int s)
{
	for (int p = 0; p < MAX_PAGES; p++)
		if (is_missing_reg(&parent_view.pg[s][p]))
			return true;
	return false;
}

/* --- the events --- */

static const char *event_name(u32 e)
{
	return e == UFFD_EVENT_REMOVE ? "REMOVE" : e == UFFD_EVENT_UNMAP ? "UNMAP" :
	       e == UFFD_EVENT_REMAP ? "REMAP" : e == UFFD_EVENT_FORK ? "FORK" : "?";
}

/* Wait (at most 20 s) for the handler to have read the events of a call
 * that returned: the call's thread slept until they were read, but the
 * handler notes them just after. Their ranges, adjacent ones merged (the
 * kernels may split a range at different VMA boundaries), must be want[]. */
void expect_events(u32 event, const u64 (*want)[2], int nwant, const char *what)
{
	static u64 got[MAX_PAGES][2];
	int ngot = 0;
	if (prm.faultinject) {
		/* A call that failed (ENOMEM) may have sent its events or not,
		 * and one that unmapped part before failing sends them too. */
		mev_checked = __atomic_load_n(&mev_n, __ATOMIC_ACQUIRE);
		return;
	}
	bool same = false;
	u64 deadline = now_ns() + 20UL * 1000 * 1000 * 1000;
	for (;;) {
		int n = __atomic_load_n(&mev_n, __ATOMIC_ACQUIRE);
		for (; mev_checked < n; mev_checked++) {
			const struct mevent *e = &mev[mev_checked];
			if (e->event != event) {
				fail("%s: a userfaultfd %s event 0x%lx..0x%lx, expected %s", what,
				     event_name(e->event), (unsigned long)e->a, (unsigned long)e->b,
				     event_name(event));
				return;
			}
			if (ngot && got[ngot - 1][1] == e->a)
				got[ngot - 1][1] = e->b;
			else if (ngot < MAX_PAGES) {
				got[ngot][0] = e->a;
				got[ngot++][1] = e->b;
			}
		}
		same = ngot == nwant;
		for (int i = 0; same && i < ngot; i++)
			same = got[i][0] == want[i][0] && got[i][1] == want[i][1];
		/* None expected: a late one is caught by the next check. */
		if (same || !nwant || now_ns() > deadline)
			break;
		sleep_ns(1000 * 1000);
	}
	if (!same)
		fail("%s: %d userfaultfd %s event range(s), the first 0x%lx..0x%lx; expected %d, "
		     "the first 0x%lx..0x%lx", what, ngot, event_name(event),
		     ngot ? (unsigned long)got[0][0] : 0UL, ngot ? (unsigned long)got[0][1] : 0UL,
		     nwant, nwant ? (unsigned long)want[0][0] : 0UL,
		     nwant ? (unsigned long)want[0][1] : 0UL);
}

/* munmap, or mmap(MAP_FIXED) over [a, a + n) of slot s: one UNMAP event
 * with the call's range if any page there is registered MISSING (one
 * context: Linux and Pagoda send one per context and call). */
void expect_unmap_event(int s, int a, int n, const char *what)
{
	for (int p = a; p < a + n; p++)
		if (is_missing_reg(&parent_view.pg[s][p])) {
			u64 want[1][2] = { { page_addr(s, a), page_addr(s, a + n) } };
			expect_events(UFFD_EVENT_UNMAP, want, 1, what);
			return;
		}
}

/* MADV_DONTNEED or MADV_FREE of [a, a + n): a REMOVE event for every
 * registered piece before page stop, where the advice was refused (a
 * locked VMA: Linux checks each VMA before its event), merged. */
void expect_remove_events(int s, int a, int n, int stop, const char *what)
{
	static u64 want[MAX_PAGES][2];
	int nwant = 0;
	for (int p = a; p < a + n && p < stop; p++) {
		if (!is_missing_reg(&parent_view.pg[s][p]))
			continue;
		if (nwant && want[nwant - 1][1] == page_addr(s, p)) {
			want[nwant - 1][1] += PAGE_SIZE;
		} else {
			want[nwant][0] = page_addr(s, p);
			want[nwant++][1] = page_addr(s, p) + PAGE_SIZE;
		}
	}
	expect_events(UFFD_EVENT_REMOVE, (const u64 (*)[2])want, nwant, what);
}
