/* SPDX-License-Identifier: MIT */
/* uffd_test - userfaultfd write protection as Linux has it
 * (docs/userfaultfd.md): the handshake, the argument checks with Linux's
 * errno, messages read(2) and poll(2) from the file, protected pages whose
 * writers sleep until the handler clears the protection, a handler on CPU 0
 * serving writers on every other CPU (no write may land before the handler
 * lets it: what the handler sees is what was there when the range was
 * protected), an unprotect racing the writers' way to sleep (none may be
 * left asleep), /proc/self/pagemap's uffd-wp bit, fork, MADV_DONTNEED and
 * transparent huge pages; then the newer features, each skipped with a
 * reason where the kernel lacks it: markers on never-touched memory
 * (UFFD_FEATURE_WP_UNPOPULATED, Linux 6.5), asynchronous protection for
 * dirty tracking (UFFD_FEATURE_WP_ASYNC, 6.7) and the PAGEMAP_SCAN ioctl
 * (6.7), checked over rounds of writers on the other CPUs.
 *
 * Every expected value is what Debian's Linux 6.1 does (tools/linux-ref),
 * and the host's 6.18 for the features 6.1 lacks; the output does not depend
 * on addresses, timings or the number of CPUs, so it can be compared line
 * by line with Pagoda's. Linux's answers worth knowing:
 *   - Before UFFDIO_API every other ioctl and read(2) is EINVAL and poll(2)
 *     reports POLLERR; a refused UFFDIO_API (bad api, unknown feature bit)
 *     zeroes the structure and leaves the handshake still to do; a second
 *     successful one is EINVAL. UFFDIO_API reports every feature the kernel
 *     has whatever was asked, and ioctls API|REGISTER|UNREGISTER.
 *   - poll(2) of a userfaultfd opened without O_NONBLOCK is POLLERR.
 *   - A range (REGISTER, UNREGISTER, WRITEPROTECT, WAKE) with an unaligned
 *     start or length, length 0, start below mmap_min_addr or past the end
 *     of user space is EINVAL; REGISTER or UNREGISTER of a range with no
 *     VMA in it is EINVAL, but a hole between VMAs is fine; another
 *     userfaultfd's range is EBUSY; WRITEPROTECT of a range not wholly
 *     registered for WP is ENOENT; mode WP|DONTWAKE is EINVAL; an unknown
 *     ioctl number is EINVAL; UFFDIO_WAKE of any valid range is 0.
 *   - A fault message's address is the page's, ptid 0 without THREAD_ID.
 *   - fork without EVENT_FORK: the child's memory is not registered and not
 *     protected; the parent's stays protected.
 *   - MADV_DONTNEED of protected anonymous memory drops the protection with
 *     the page (and, on 6.18, markers it covers); markers elsewhere in the
 *     same page table stay.
 *   - UNREGISTER clears the protection; closing the file wakes sleeping
 *     writers and their writes then land.
 */
#include "libc.h"
#include "uffd.h"

#define HUGE (2UL << 20)
#define WAIT_NS (20UL * 1000 * 1000 * 1000)	/* a thread that never answers */
#define ROUND_NS (30UL * 1000 * 1000 * 1000)	/* one round of the CPU tests */
#define MAX_WRITERS 63

#define SYNC_PAGES 8		/* pages per writer in the sync test */
#define SYNC_ROUNDS 4
#define ASYNC_PAGES 32		/* pages per writer in the async test */
#define ASYNC_ROUNDS 6

static u64 kernel_features;	/* what UFFDIO_API reports */
static int ncpus;		/* online CPUs, counted before any pinning */
static bool have_pagemap_scan;

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static int other_cpu(void)
{
	return ncpus > 1 ? 1 : 0;
}

static u8 *map_anon(size_t npages)
{
	u8 *p = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ktap_bail("mmap %lu pages: %s", (unsigned long)npages, errno_name(errno));
	return p;
}

/* A 2 MiB-aligned, 2 MiB MADV_HUGEPAGE region (a huge page where the kernel
 * gives one; the checks hold for 4 KiB pages too). */
static u8 *map_huge(void)
{
	u8 *r = mmap_aligned(HUGE, HUGE);
	if (r == MAP_FAILED)
		ktap_bail("mmap 4 MiB: %s", errno_name(errno));
	madvise(r, HUGE, MADV_HUGEPAGE);
	return r;
}

static bool page_is(const u8 *p, u8 v)
{
	for (size_t i = 0; i < PAGE_SIZE; i++)
		if (p[i] != v)
			return false;
	return true;
}


/* The ioctls below return 0 or -errno, for comparing with one value. */
static int uffd_register(int fd, void *start, u64 len, u64 mode, u64 *ioctls)
{
	struct uffdio_register r = { .range = { (u64)start, len }, .mode = mode };
	if (ioctl(fd, UFFDIO_REGISTER, &r) < 0)
		return -errno;
	if (ioctls)
		*ioctls = r.ioctls;
	return 0;
}

static int uffd_unregister(int fd, void *start, u64 len)
{
	struct uffdio_range r = { (u64)start, len };
	return ioctl(fd, UFFDIO_UNREGISTER, &r) < 0 ? -errno : 0;
}

static int uffd_wp(int fd, void *start, u64 len, u64 mode)
{
	struct uffdio_writeprotect w = { .range = { (u64)start, len }, .mode = mode };
	return ioctl(fd, UFFDIO_WRITEPROTECT, &w) < 0 ? -errno : 0;
}

static void register_or_bail(int fd, void *start, u64 len)
{
	int r = uffd_register(fd, start, len, UFFDIO_REGISTER_MODE_WP, NULL);
	if (r)
		ktap_bail("UFFDIO_REGISTER MODE_WP: %s", errno_name(-r));
}

static void protect_or_bail(int fd, void *start, u64 len)
{
	int r = uffd_wp(fd, start, len, UFFDIO_WRITEPROTECT_MODE_WP);
	if (r)
		ktap_bail("UFFDIO_WRITEPROTECT: %s", errno_name(-r));
}

static const char *err_str(int r)
{
	return r ? errno_name(-r) : "0";
}

static void expect(int got, int want, const char *what)
{
	if (!ktap_ok(got == want, "%s -> %s", what, err_str(want)))
		ktap_diag("got %s", err_str(got));
}

/* The pagemap entry of the page at addr, or 0 with *ok false. */
static u64 pagemap(const void *addr, bool *ok)
{
	u64 e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY, 0);

	if (fd < 0 || pread(fd, &e, 8, (off_t)((u64)addr / PAGE_SIZE * 8)) != 8) {
		if (ok)
			*ok = false;
		e = 0;
	}
	if (fd >= 0)
		close(fd);
	return e;
}

/* Bits 57 (uffd-wp) and 63 (present) of addr's pagemap entry are wp and
 * present. */
static bool pagemap_is(const void *addr, bool wp, bool present)
{
	bool ok = true;
	u64 e = pagemap(addr, &ok);

	if (!ok)
		ktap_diag("cannot read /proc/self/pagemap: %s", errno_name(errno));
	return ok && !!(e & PM_UFFD_WP) == wp && !!(e & PM_PRESENT) == present;
}

static void diag_pagemap(const char *what, const void *addr)
{
	u64 e = pagemap(addr, NULL);
	ktap_diag("%s: pagemap uffd-wp %d, present %d", what, !!(e & PM_UFFD_WP),
		  !!(e & PM_PRESENT));
}

/* Poll then read one message; true when one was read within timeout_ms. */
static bool read_msg(int fd, struct uffd_msg *msg, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) <= 0 || !(pfd.revents & POLLIN))
		return false;
	return read(fd, msg, sizeof(*msg)) == (ssize_t)sizeof(*msg);
}

static bool msg_pending(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* A write-protect fault message for a write to the page at page. Without
 * UFFD_FEATURE_EXACT_ADDRESS the address is the page's, and without
 * UFFD_FEATURE_THREAD_ID ptid and everything reserved is 0. */
static bool msg_is_wp_write(const struct uffd_msg *m, const void *page)
{
	return m->event == UFFD_EVENT_PAGEFAULT && m->reserved1 == 0 && m->reserved2 == 0 &&
	       m->reserved3 == 0 &&
	       m->arg.pagefault.flags == (UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE) &&
	       m->arg.pagefault.address == (u64)page && m->arg.pagefault.ptid == 0;
}

static void diag_msg(const struct uffd_msg *m, const void *page)
{
	ktap_diag("message: event %#x flags %#lx, address %s the page's%s", m->event,
		  (unsigned long)m->arg.pagefault.flags,
		  m->arg.pagefault.address == (u64)page ? "is" : "is not",
		  m->arg.pagefault.ptid ? ", ptid set" : "");
}

/* ------------------------------------------------------------------ */
/* a probe: one write from a thread on another CPU                     */
/* ------------------------------------------------------------------ */

struct probe {
	struct uthread *t;
	volatile u8 *addr;
	u8 val;
	volatile int done;
};

static long probe_main(void *arg)
{
	struct probe *p = arg;

	*p->addr = p->val;
	WRITE_ONCE(p->done, 1);
	return 1;
}

static void probe_start(struct probe *p, void *addr, u8 val)
{
	p->addr = addr;
	p->val = val;
	p->done = 0;
	p->t = thread_create(probe_main, p, other_cpu());
	if (!p->t)
		ktap_bail("thread_create: %s", errno_name(errno));
}

enum probe_result { WROTE, FAULTED, STUCK };

/* Wait until the write finished (WROTE: and no message came) or a message
 * came (FAULTED, the message in *msg). fd < 0: there is no file to read. */
static enum probe_result probe_wait(struct probe *p, int fd, struct uffd_msg *msg)
{
	u64 deadline = now_ns() + WAIT_NS;

	while (now_ns() < deadline) {
		if (READ_ONCE(p->done))
			return (fd >= 0 && read_msg(fd, msg, 0)) ? FAULTED : WROTE;
		if (fd >= 0) {
			if (read_msg(fd, msg, 10))
				return FAULTED;
		} else {
			sleep_ns(1000 * 1000);
		}
	}
	return STUCK;
}

/* Let the writer go (clearing the protection of its page, which wakes it,
 * when unprotect) and join it; a writer that never finishes ends the
 * program, since it cannot be joined. */
static void probe_finish(struct probe *p, int fd, bool unprotect)
{
	u64 deadline = now_ns() + WAIT_NS;

	if (unprotect) {
		void *page = (void *)((u64)p->addr & ~(PAGE_SIZE - 1));
		int r = uffd_wp(fd, page, PAGE_SIZE, 0);
		if (r)
			ktap_bail("UFFDIO_WRITEPROTECT clear: %s", errno_name(-r));
	}
	while (!READ_ONCE(p->done)) {
		if (now_ns() > deadline)
			ktap_bail("a writer blocked on a write-protected page was never woken");
		sleep_ns(1000 * 1000);
	}
	thread_join(p->t);
}

/* Probe a write that must fault: the message is a WP write fault for the
 * page, the page still holds before, and once the protection is cleared
 * the write lands. Returns whether all of that held. */
static bool write_faults(int fd, u8 *addr, u8 val, u8 before)
{
	struct probe p;
	struct uffd_msg m;
	u8 *page = (u8 *)((u64)addr & ~(PAGE_SIZE - 1));

	probe_start(&p, addr, val);
	enum probe_result r = probe_wait(&p, fd, &m);
	if (r == STUCK)
		ktap_bail("a write to a protected page neither finished nor sent a message");
	if (r == WROTE) {
		ktap_diag("the write landed without a message");
		thread_join(p.t);
		return false;
	}
	bool ok = msg_is_wp_write(&m, page) && page_is(page, before);
	if (!ok)
		diag_msg(&m, page);
	probe_finish(&p, fd, true);
	return ok && *addr == val && !msg_pending(fd);
}

/* Probe a write that must not fault: it lands and no message comes. */
static bool write_goes_through(int fd, u8 *addr, u8 val)
{
	struct probe p;
	struct uffd_msg m;

	probe_start(&p, addr, val);
	enum probe_result r = probe_wait(&p, fd, &m);
	if (r == STUCK)
		ktap_bail("a write that should not fault neither finished nor sent a message");
	if (r == FAULTED) {
		diag_msg(&m, (void *)((u64)addr & ~(PAGE_SIZE - 1)));
		probe_finish(&p, fd, true);
		return false;
	}
	thread_join(p.t);
	return *addr == val;
}

/* Join threads told to stop; one that does not end ends the program. */
static void join_all(struct uthread **t, int n)
{
	u64 deadline = now_ns() + WAIT_NS;

	for (int i = 0; i < n; i++) {
		while (READ_ONCE(t[i]->tid) != 0) {
			if (now_ns() > deadline)
				ktap_bail("a writer never finished");
			sleep_ns(1000 * 1000);
		}
		thread_join(t[i]);
	}
}

/* ------------------------------------------------------------------ */
/* 1. the handshake                                                    */
/* ------------------------------------------------------------------ */

static void api(void)
{
	int r = userfaultfd(0x10);
	expect(r < 0 ? -errno : 0, -EINVAL, "userfaultfd with an unknown flag");
	if (r >= 0)
		close(r);
	r = userfaultfd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	expect(r < 0 ? -errno : 0, 0, "userfaultfd with UFFD_USER_MODE_ONLY");
	if (r >= 0)
		close(r);

	int fd = userfaultfd(O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		ktap_bail("userfaultfd: %s", errno_name(errno));

	u8 *p = map_anon(1);
	expect(uffd_register(fd, p, PAGE_SIZE, UFFDIO_REGISTER_MODE_WP, NULL), -EINVAL,
	       "UFFDIO_REGISTER before UFFDIO_API");
	struct uffd_msg m;
	expect(read(fd, &m, sizeof(m)) < 0 ? -errno : 0, -EINVAL, "read before UFFDIO_API");
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	r = poll(&pfd, 1, 0);
	ktap_ok(r == 1 && pfd.revents == POLLERR, "poll before UFFDIO_API -> POLLERR");
	if (r != 1 || pfd.revents != POLLERR)
		ktap_diag("poll %d, revents %#x", r, pfd.revents);

	struct uffdio_api a = { .api = 0xab, .features = 0, .ioctls = 7 };
	r = ioctl(fd, UFFDIO_API, &a) < 0 ? -errno : 0;
	ktap_ok(r == -EINVAL && a.api == 0 && a.features == 0 && a.ioctls == 0,
		"UFFDIO_API with api 0xab -> EINVAL, the structure zeroed");
	if (r != -EINVAL)
		ktap_diag("got %s", err_str(r));

	a = (struct uffdio_api){ .api = UFFD_API, .features = 1UL << 62 };
	expect(ioctl(fd, UFFDIO_API, &a) < 0 ? -errno : 0, -EINVAL,
	       "UFFDIO_API with an unknown feature bit");

	a = (struct uffdio_api){ .api = UFFD_API, .features = 0 };
	r = ioctl(fd, UFFDIO_API, &a) < 0 ? -errno : 0;
	kernel_features = a.features;
	const u64 api_ioctls = (1UL << _UFFDIO_REGISTER) | (1UL << _UFFDIO_UNREGISTER) |
			       (1UL << _UFFDIO_API);
	ktap_ok(r == 0 && (a.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP) && a.ioctls == api_ioctls,
		"UFFDIO_API after refused ones -> 0, reports PAGEFAULT_FLAG_WP and the ioctls "
		"API, REGISTER, UNREGISTER");
	if (r || a.ioctls != api_ioctls)
		ktap_diag("got %s, features %#lx ioctls %#lx", err_str(r),
			  (unsigned long)a.features, (unsigned long)a.ioctls);

	a = (struct uffdio_api){ .api = UFFD_API, .features = 0 };
	expect(ioctl(fd, UFFDIO_API, &a) < 0 ? -errno : 0, -EINVAL, "a second UFFDIO_API");

	expect(ioctl(fd, IOC(IOC_NONE, UFFDIO_TYPE, 0x30, 0), NULL) < 0 ? -errno : 0, -EINVAL,
	       "an unknown ioctl number on the file");
	close(fd);
	munmap(p, PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* 2. read and poll on a file with nothing pending                     */
/* ------------------------------------------------------------------ */

static void read_poll(void)
{
	int fd = uffd_open(0, NULL);
	struct uffd_msg m;
	u8 small[16];

	expect(read(fd, &m, sizeof(m)) < 0 ? -errno : 0, -EAGAIN,
	       "read with nothing pending, O_NONBLOCK");
	expect(read(fd, small, sizeof(small)) < 0 ? -errno : 0, -EINVAL,
	       "read into a buffer shorter than a message");
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r = poll(&pfd, 1, 0);
	ktap_ok(r == 0 && pfd.revents == 0, "poll with nothing pending -> 0");
	close(fd);

	/* Linux refuses to poll a blocking userfaultfd: POLLERR. */
	fd = userfaultfd(O_CLOEXEC);
	struct uffdio_api a = { .api = UFFD_API };
	if (fd < 0 || ioctl(fd, UFFDIO_API, &a) < 0)
		ktap_bail("userfaultfd without O_NONBLOCK: %s", errno_name(errno));
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	r = poll(&pfd, 1, 0);
	ktap_ok(r == 1 && pfd.revents == POLLERR, "poll of a userfaultfd without O_NONBLOCK -> POLLERR");
	if (r != 1 || pfd.revents != POLLERR)
		ktap_diag("poll %d, revents %#x", r, pfd.revents);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* 3. argument checks                                                  */
/* ------------------------------------------------------------------ */

static void register_checks(void)
{
	int fd = uffd_open(0, NULL);
	u8 *p = map_anon(4);
	const u64 WP = UFFDIO_REGISTER_MODE_WP;

	expect(uffd_register(fd, p + 1, PAGE_SIZE, WP, NULL), -EINVAL, "REGISTER unaligned start");
	expect(uffd_register(fd, p, PAGE_SIZE + 1, WP, NULL), -EINVAL, "REGISTER unaligned length");
	expect(uffd_register(fd, p, 0, WP, NULL), -EINVAL, "REGISTER length 0");
	expect(uffd_register(fd, p, PAGE_SIZE, 0, NULL), -EINVAL, "REGISTER mode 0");
	expect(uffd_register(fd, p, PAGE_SIZE, WP | (1UL << 3), NULL), -EINVAL,
	       "REGISTER unknown mode bit");
	expect(uffd_register(fd, p, PAGE_SIZE, UFFDIO_REGISTER_MODE_MINOR, NULL), -EINVAL,
	       "REGISTER MODE_MINOR on private anonymous memory");
	u8 *hole = map_anon(1);
	munmap(hole, PAGE_SIZE);
	expect(uffd_register(fd, hole, PAGE_SIZE, WP, NULL), -EINVAL, "REGISTER nothing mapped");
	expect(uffd_register(fd, NULL, PAGE_SIZE, WP, NULL), -EINVAL, "REGISTER at address 0");
	expect(uffd_register(fd, (void *)(1UL << 56), PAGE_SIZE, WP, NULL), -EINVAL,
	       "REGISTER start beyond user space");
	expect(uffd_register(fd, p, 1UL << 56, WP, NULL), -EINVAL,
	       "REGISTER length running past the end of user space");

	u64 ioctls = 0;
	int r = uffd_register(fd, p, 2 * PAGE_SIZE, WP, &ioctls);
	const u64 want = (1UL << _UFFDIO_WAKE) | (1UL << _UFFDIO_WRITEPROTECT);
	ktap_ok(r == 0 && (ioctls & want) == want,
		"REGISTER MODE_WP -> 0, the range's ioctls include WAKE and WRITEPROTECT");
	if (r || (ioctls & want) != want)
		ktap_diag("got %s, ioctls %#lx", err_str(r), (unsigned long)ioctls);

	expect(uffd_register(fd, p, 2 * PAGE_SIZE, WP, NULL), 0, "REGISTER the same range again");

	int fd2 = uffd_open(0, NULL);
	expect(uffd_register(fd2, p, PAGE_SIZE, WP, NULL), -EBUSY,
	       "REGISTER a range registered with another userfaultfd");
	close(fd2);

	/* Pages 0-1 registered, 2-3 not; a hole between two mapped pages. */
	expect(uffd_wp(fd, p + 2 * PAGE_SIZE, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), -ENOENT,
	       "WRITEPROTECT an unregistered range");
	expect(uffd_wp(fd, p + PAGE_SIZE, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), -ENOENT,
	       "WRITEPROTECT a range half registered");
	expect(uffd_wp(fd, p, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE),
	       -EINVAL, "WRITEPROTECT mode WP|DONTWAKE");
	expect(uffd_wp(fd, p, PAGE_SIZE, 1UL << 2), -EINVAL, "WRITEPROTECT unknown mode bit");
	expect(uffd_wp(fd, p + 8, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), -EINVAL,
	       "WRITEPROTECT unaligned start");
	expect(uffd_wp(fd, p, 0, UFFDIO_WRITEPROTECT_MODE_WP), -EINVAL, "WRITEPROTECT length 0");
	expect(uffd_wp(fd, (void *)(1UL << 56), PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), -EINVAL,
	       "WRITEPROTECT beyond user space");

	struct uffdio_range wr = { (u64)p + 8, PAGE_SIZE };
	expect(ioctl(fd, UFFDIO_WAKE, &wr) < 0 ? -errno : 0, -EINVAL, "WAKE unaligned start");
	wr = (struct uffdio_range){ (u64)hole, PAGE_SIZE };
	expect(ioctl(fd, UFFDIO_WAKE, &wr) < 0 ? -errno : 0, 0,
	       "WAKE a range nobody waits on, not even mapped");

	expect(uffd_unregister(fd, p + 1, PAGE_SIZE), -EINVAL, "UNREGISTER unaligned start");
	expect(uffd_unregister(fd, p, 0), -EINVAL, "UNREGISTER length 0");
	expect(uffd_unregister(fd, hole, PAGE_SIZE), -EINVAL, "UNREGISTER nothing mapped");
	expect(uffd_unregister(fd, p, 2 * PAGE_SIZE), 0, "UNREGISTER the registered range");
	expect(uffd_wp(fd, p, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), -ENOENT,
	       "WRITEPROTECT after UNREGISTER");
	expect(uffd_unregister(fd, p, 4 * PAGE_SIZE), 0, "UNREGISTER a range never registered");

	/* A range with a hole in the middle: the mapped parts are registered. */
	munmap(p + PAGE_SIZE, PAGE_SIZE);
	r = uffd_register(fd, p, 4 * PAGE_SIZE, WP, NULL);
	int r0 = uffd_wp(fd, p, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	int r2 = uffd_wp(fd, p + 2 * PAGE_SIZE, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	ktap_ok(r == 0 && r0 == 0 && r2 == 0,
		"REGISTER a range with a hole in the middle -> 0, both sides registered");
	if (r || r0 || r2)
		ktap_diag("got %s; WRITEPROTECT before the hole %s, after it %s", err_str(r),
			  err_str(r0), err_str(r2));
	close(fd);
	munmap(p, 4 * PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* 4. one protected page at a time                                     */
/* ------------------------------------------------------------------ */

static void single_faults(void)
{
	int fd = uffd_open(0, NULL);
	u8 *p = map_anon(4);
	memset(p, 0x11, 4 * PAGE_SIZE);
	register_or_bail(fd, p, 4 * PAGE_SIZE);
	protect_or_bail(fd, p, 4 * PAGE_SIZE);

	/* The writer on another CPU blocks; we see the message. */
	struct probe pr;
	struct uffd_msg m;
	probe_start(&pr, p + 123, 0x22);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r = poll(&pfd, 1, (int)(WAIT_NS / 1000000));
	ktap_ok(r == 1 && pfd.revents == POLLIN, "a write to a protected page: poll -> POLLIN");
	bool got = r == 1 && read(fd, &m, sizeof(m)) == (ssize_t)sizeof(m);
	if (!got && probe_wait(&pr, fd, &m) == FAULTED)
		got = true;
	bool ok = got && msg_is_wp_write(&m, p);
	if (!got)
		ktap_bail("no message for a write to a protected page");
	ktap_ok(ok, "the message: PAGEFAULT, flags WP|WRITE, the page's address, ptid 0");
	if (!ok)
		diag_msg(&m, p);
	ktap_ok(page_is(p, 0x11) && !READ_ONCE(pr.done),
		"the writer is blocked and its page unchanged");
	expect(read(fd, &m, sizeof(m)) < 0 ? -errno : 0, -EAGAIN,
	       "read again: the one message was taken");
	probe_finish(&pr, fd, true);
	ktap_ok(p[123] == 0x22 && p[122] == 0x11 && !msg_pending(fd),
		"clearing the protection wakes the writer; its write lands, no more messages");

	/* Reading protected memory is no fault for the handler. */
	bool reads = p[PAGE_SIZE] == 0x11 && p[2 * PAGE_SIZE + 5] == 0x11 && !msg_pending(fd);
	ktap_ok(reads, "reading a protected page sends no message");

	/* Protect and clear again: then writes go through. */
	protect_or_bail(fd, p + PAGE_SIZE, PAGE_SIZE);
	int c = uffd_wp(fd, p + PAGE_SIZE, PAGE_SIZE, 0);
	ktap_ok(c == 0 && write_goes_through(fd, p + PAGE_SIZE, 0x33),
		"protected then cleared: a write goes through without a message");

	/* Cleared with DONTWAKE, the writer sleeps on until UFFDIO_WAKE. (A
	 * kernel slow to wake it wrongly would pass the first check: it
	 * cannot fail for slowness.) */
	probe_start(&pr, p + 2 * PAGE_SIZE + 9, 0x3a);
	if (probe_wait(&pr, fd, &m) != FAULTED)
		ktap_bail("no message for a write to a protected page");
	c = uffd_wp(fd, p + 2 * PAGE_SIZE, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
	sleep_ns(50 * 1000 * 1000);
	ktap_ok(c == 0 && !READ_ONCE(pr.done) && p[2 * PAGE_SIZE + 9] == 0x11,
		"clearing with DONTWAKE leaves the writer asleep");
	struct uffdio_range wake = { (u64)p + 2 * PAGE_SIZE, PAGE_SIZE };
	c = ioctl(fd, UFFDIO_WAKE, &wake) < 0 ? -errno : 0;
	probe_finish(&pr, fd, false);
	ktap_ok(c == 0 && p[2 * PAGE_SIZE + 9] == 0x3a && !msg_pending(fd),
		"UFFDIO_WAKE wakes it, and its write lands without a new message");
	protect_or_bail(fd, p + 2 * PAGE_SIZE, PAGE_SIZE);

	/* pagemap's bits 57 (uffd-wp) and 63 (present). */
	ktap_ok(pagemap_is(p + 2 * PAGE_SIZE, true, true),
		"pagemap of a protected page: uffd-wp 1, present 1");
	ktap_ok(pagemap_is(p + PAGE_SIZE, false, true),
		"pagemap of a cleared page: uffd-wp 0, present 1");
	u8 *fresh = map_anon(1);
	register_or_bail(fd, fresh, PAGE_SIZE);
	ktap_ok(pagemap_is(fresh, false, false),
		"pagemap of a registered, never-touched page: uffd-wp 0, present 0");
	munmap(fresh, PAGE_SIZE);

	/* A page that was only read (the zero page), then protected: its
	 * first write goes to the handler too. */
	u8 *z = map_anon(2);
	madvise(z, 2 * PAGE_SIZE, MADV_NOHUGEPAGE);
	register_or_bail(fd, z, 2 * PAGE_SIZE);
	bool zero = page_is(z, 0);
	protect_or_bail(fd, z, 2 * PAGE_SIZE);
	ktap_ok(zero && write_faults(fd, z + 7, 0x44, 0),
		"a read-only zero page, protected: its first write goes to the handler");
	munmap(z, 2 * PAGE_SIZE);

	/* UNREGISTER drops the protection of the range. */
	protect_or_bail(fd, p + 3 * PAGE_SIZE, PAGE_SIZE);
	r = uffd_unregister(fd, p, 4 * PAGE_SIZE);
	ktap_ok(r == 0 && write_goes_through(fd, p + 3 * PAGE_SIZE, 0x55),
		"UNREGISTER of protected pages: a write then goes through");
	close(fd);

	/* Closing the file does too. */
	fd = uffd_open(0, NULL);
	register_or_bail(fd, p, 4 * PAGE_SIZE);
	protect_or_bail(fd, p, 4 * PAGE_SIZE);
	close(fd);
	ktap_ok(write_goes_through(-1, p + 2 * PAGE_SIZE, 0x66),
		"closing the userfaultfd: a write to a page it protected goes through");

	/* And a writer asleep on a protected page when the file is closed is
	 * woken, and its write lands. */
	fd = uffd_open(0, NULL);
	register_or_bail(fd, p, 4 * PAGE_SIZE);
	protect_or_bail(fd, p, 4 * PAGE_SIZE);
	probe_start(&pr, p + PAGE_SIZE + 1, 0x67);
	if (probe_wait(&pr, fd, &m) != FAULTED)
		ktap_bail("no message for a write to a protected page");
	close(fd);
	probe_finish(&pr, -1, false);
	ktap_ok(p[PAGE_SIZE + 1] == 0x67,
		"closing the userfaultfd wakes a writer asleep on it; its write lands");
	munmap(p, 4 * PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* 5. fork and MADV_DONTNEED                                           */
/* ------------------------------------------------------------------ */

/* Child's exit status bits. */
#define CHILD_PAGEMAP_WP 1	/* its copy still had the uffd-wp bit */
#define CHILD_BAD_READ   2	/* it did not read the parent's contents */
#define CHILD_BAD_WRITE  4	/* its write did not land */

static void fork_checks(void)
{
	int fd = uffd_open(0, NULL);
	u8 *p = map_anon(2);
	madvise(p, 2 * PAGE_SIZE, MADV_NOHUGEPAGE);
	memset(p, 0x5a, 2 * PAGE_SIZE);
	register_or_bail(fd, p, 2 * PAGE_SIZE);
	protect_or_bail(fd, p, 2 * PAGE_SIZE);

	pid_t pid = fork();
	if (pid == 0) {
		int code = 0;
		if (pagemap(p, NULL) & PM_UFFD_WP)
			code |= CHILD_PAGEMAP_WP;
		if (!page_is(p, 0x5a))
			code |= CHILD_BAD_READ;
		p[10] = 0xc1;		/* would block for ever if still protected */
		if (p[10] != 0xc1)
			code |= CHILD_BAD_WRITE;
		exit(code);
	}
	if (pid < 0)
		ktap_bail("fork: %s", errno_name(errno));
	int status = 0;
	u64 deadline = now_ns() + WAIT_NS;
	bool hung = false;
	while (wait4(pid, &status, WNOHANG, NULL) == 0) {
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			wait4(pid, &status, 0, NULL);
			hung = true;
			break;
		}
		sleep_ns(1000 * 1000);
	}
	bool ok = !hung && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	ktap_ok(ok, "fork without EVENT_FORK: the child's copy is not protected, its write "
		"does not block");
	if (!ok)
		ktap_diag("%s, status %#x", hung ? "the child hung" : "the child failed", status);
	ok = page_is(p, 0x5a) && pagemap_is(p, true, true) && !msg_pending(fd);
	ktap_ok(ok && write_faults(fd, p + 10, 0xd2, 0x5a),
		"the parent's page keeps its contents and protection: its write goes to the "
		"handler first");
	close(fd);
	munmap(p, 2 * PAGE_SIZE);
}

static void dontneed(void)
{
	int fd = uffd_open(0, NULL);
	u8 *p = map_anon(2);
	madvise(p, 2 * PAGE_SIZE, MADV_NOHUGEPAGE);
	memset(p, 0x77, 2 * PAGE_SIZE);
	register_or_bail(fd, p, 2 * PAGE_SIZE);
	protect_or_bail(fd, p, 2 * PAGE_SIZE);
	int r = madvise(p, PAGE_SIZE, MADV_DONTNEED) < 0 ? -errno : 0;
	bool pm = pagemap_is(p, false, false);
	ktap_ok(r == 0 && pm,
		"MADV_DONTNEED of a protected page -> 0; pagemap: uffd-wp 0, present 0");
	if (!pm)
		diag_pagemap("after DONTNEED", p);
	ktap_ok(page_is(p, 0) && !msg_pending(fd), "it reads zero, with no message");
	ktap_ok(write_goes_through(fd, p + 1, 0x78),
		"the protection went with the page: a write goes through");
	ktap_ok(write_faults(fd, p + PAGE_SIZE, 0x79, 0x77),
		"the neighbouring page keeps its protection");
	close(fd);
	munmap(p, 2 * PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* 6. transparent huge pages                                           */
/* ------------------------------------------------------------------ */

static void thp(void)
{
	int fd = uffd_open(0, NULL);
	u8 *r = map_huge();
	memset(r, 0x3c, HUGE);
	register_or_bail(fd, r, HUGE);
	protect_or_bail(fd, r, HUGE);
	ktap_ok(write_faults(fd, r + 300 * PAGE_SIZE + 9, 0x3d, 0x3c),
		"a write into a protected 2 MiB MADV_HUGEPAGE region goes to the handler");
	bool rest = true;
	for (size_t i = 0; i < HUGE / PAGE_SIZE; i++)
		rest &= i == 300 || pagemap_is(r + i * PAGE_SIZE, true, true);
	ktap_ok(rest && pagemap_is(r + 300 * PAGE_SIZE, false, true) &&
		write_faults(fd, r + 7 * PAGE_SIZE, 0x3e, 0x3c),
		"after clearing one 4 KiB page of it, the other pages are still protected");
	bool content = true;
	for (size_t i = 0; i < HUGE / PAGE_SIZE; i++) {
		u8 *pg = r + i * PAGE_SIZE;
		if (i == 300)
			content &= pg[9] == 0x3d && pg[8] == 0x3c;
		else if (i == 7)
			content &= pg[0] == 0x3e && pg[1] == 0x3c;
		else
			content &= page_is(pg, 0x3c);
	}
	ktap_ok(content, "the region holds exactly the two writes");
	close(fd);
	munmap(r, HUGE);
}

/* ------------------------------------------------------------------ */
/* 7. a handler on CPU 0, writers on every other CPU                   */
/* ------------------------------------------------------------------ */

struct sync_writer {
	int id;
	u8 *pages;			/* its SYNC_PAGES pages */
	u64 writes[SYNC_PAGES];		/* how many times it wrote each */
	u64 pad[4];
} __aligned(64);

static struct sync_writer sync_writers[MAX_WRITERS];
static volatile int sync_stop;

/* Write the first word of each page in turn, again and again; a write to
 * a protected page sleeps until the handler clears it. */
static long sync_writer_main(void *arg)
{
	struct sync_writer *w = arg;

	while (!READ_ONCE(sync_stop)) {
		for (int k = 0; k < SYNC_PAGES; k++) {
			volatile u64 *word = (volatile u64 *)(w->pages + k * PAGE_SIZE);
			*word = *word + 1;
			w->writes[k]++;
		}
	}
	return 1;
}

static void sync_many_cpus(void)
{
	int ncpu = ncpus;
	int nw = ncpu > 1 ? ncpu - 1 : 1;
	if (nw > MAX_WRITERS)
		nw = MAX_WRITERS;
	size_t npages = (size_t)nw * SYNC_PAGES;
	int fd = uffd_open(0, NULL);
	u8 *region = map_anon(npages);
	madvise(region, npages * PAGE_SIZE, MADV_NOHUGEPAGE);
	/* Each page: its counter word 0, then a pattern of its own. */
	for (size_t i = 0; i < npages; i++) {
		memset(region + i * PAGE_SIZE, (u8)(0x40 + i), PAGE_SIZE);
		*(u64 *)(region + i * PAGE_SIZE) = 0;
	}
	u8 *snapshot = malloc(npages * PAGE_SIZE);
	u8 *served = malloc(npages);
	if (!snapshot || !served)
		ktap_bail("malloc");
	register_or_bail(fd, region, npages * PAGE_SIZE);

	pin_to_cpu(0);
	struct uthread *t[MAX_WRITERS];
	for (int i = 0; i < nw; i++) {
		sync_writers[i].id = i;
		sync_writers[i].pages = region + (size_t)i * SYNC_PAGES * PAGE_SIZE;
		t[i] = thread_create(sync_writer_main, &sync_writers[i], ncpu > 1 ? i + 1 : 0);
		if (!t[i])
			ktap_bail("thread_create: %s", errno_name(errno));
	}

	bool msgs_ok = true, snap_ok = true, timely = true;
	for (int round = 0; round < SYNC_ROUNDS && timely; round++) {
		/* Let the writers run unprotected for a moment, then protect
		 * everything under their feet and take the snapshot: from the
		 * moment WRITEPROTECT returns no page may change until the
		 * handler clears it. */
		sleep_ns(2 * 1000 * 1000);
		protect_or_bail(fd, region, npages * PAGE_SIZE);
		memcpy(snapshot, region, npages * PAGE_SIZE);
		memset(served, 0, npages);
		size_t nserved = 0;
		u64 deadline = now_ns() + ROUND_NS;
		while (nserved < npages) {
			struct uffd_msg m;
			if (now_ns() > deadline) {
				ktap_diag("round %d: %lu of %lu pages faulted before the deadline", round,
					  (unsigned long)nserved, (unsigned long)npages);
				timely = false;
				break;
			}
			if (!read_msg(fd, &m, 100))
				continue;
			u64 a = m.arg.pagefault.address;
			size_t i = (a - (u64)region) / PAGE_SIZE;
			if (a < (u64)region || i >= npages || !msg_is_wp_write(&m, region + i * PAGE_SIZE) ||
			    served[i]) {
				if (msgs_ok)
					ktap_diag("round %d: unexpected message (event %#x flags %#lx%s)",
						  round, m.event, (unsigned long)m.arg.pagefault.flags,
						  a >= (u64)region && i < npages && served[i] ?
						  ", page served already" : "");
				msgs_ok = false;
				if (a < (u64)region || i >= npages || served[i])
					continue;
			}
			if (memcmp(region + i * PAGE_SIZE, snapshot + i * PAGE_SIZE, PAGE_SIZE)) {
				if (snap_ok)
					ktap_diag("round %d: page %lu changed between protection and its fault",
						  round, (unsigned long)i);
				snap_ok = false;
			}
			served[i] = 1;
			nserved++;
			int r = uffd_wp(fd, region + i * PAGE_SIZE, PAGE_SIZE, 0);
			if (r)
				ktap_bail("UFFDIO_WRITEPROTECT clear: %s", errno_name(-r));
		}
	}
	if (!timely) {
		/* Writers may be asleep on protected pages: let them all go. */
		uffd_wp(fd, region, npages * PAGE_SIZE, 0);
	}
	WRITE_ONCE(sync_stop, 1);
	join_all(t, nw);
	bool once = true;
	for (int i = 0; i < nw; i++)
		for (int k = 0; k < SYNC_PAGES; k++) {
			u8 *pg = sync_writers[i].pages + k * PAGE_SIZE;
			size_t idx = (size_t)i * SYNC_PAGES + k;
			once &= *(u64 *)pg == sync_writers[i].writes[k];
			for (size_t b = 8; b < PAGE_SIZE; b++)
				once &= pg[b] == (u8)(0x40 + idx);
		}
	pin_to_cpu(0);
	ktap_ok(timely && msgs_ok,
		"handler on CPU 0, writers on every other CPU: each round one message per page, "
		"flags WP|WRITE");
	ktap_ok(timely && snap_ok,
		"live snapshot: each page at its fault still holds what it held when protected");
	ktap_ok(once, "every write landed exactly once (%d rounds)", SYNC_ROUNDS);
	free(snapshot);
	free(served);
	close(fd);
	munmap(region, npages * PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* 7b. an unprotect racing the writers' faults                         */
/* ------------------------------------------------------------------ */

#define RACE_ROUNDS 200
#define RACE_SPREAD 400000	/* TSC cycles: the handler's head start, 0 to this */
#define RACE_MAX_STRANDED 1	/* stop at the first: each costs STRAND_NS + STRAND_CONFIRM_NS */
#define STRAND_NS (2UL * 1000 * 1000 * 1000)
/* A writer not done STRAND_NS after the clearing is only suspected: on a
 * loaded host a virtual CPU can stand still that long. A stranded writer
 * never writes until UFFDIO_WAKE; a slow one writes within this. */
#define STRAND_CONFIRM_NS (20UL * 1000 * 1000 * 1000)

struct race_writer {
	u8 *page;
	volatile int go;		/* the round to write in */
	volatile int done;		/* the last round written */
	int pad[12];
} __aligned(64);

static struct race_writer race_writers[MAX_WRITERS];

/* One write per round: it faults if the page is still protected. */
static long race_writer_main(void *arg)
{
	struct race_writer *w = arg;

	for (int round = 1; round <= RACE_ROUNDS; round++) {
		int go;
		while ((go = READ_ONCE(w->go)) >= 0 && go < round)
			;
		if (go < 0)
			break;		/* stopped early */
		(*(volatile u64 *)w->page)++;
		WRITE_ONCE(w->done, round);
	}
	return 1;
}

/* Wait until writer w has written round, at most ns: true if it has. */
static bool race_wait_done(int w, int round, u64 ns)
{
	u64 deadline = now_ns() + ns;

	while (READ_ONCE(race_writers[w].done) < round && now_ns() < deadline)
		sleep_ns(100 * 1000);
	return READ_ONCE(race_writers[w].done) >= round;
}

/* Each round: protect every writer's page, let them write, and at once
 * clear the protection (mode 0, which wakes) without reading any message.
 * A writer whose fault decided to wait just before the clearing, and queued
 * itself just after its wake-up, is asleep with nothing left to wake it:
 * counted as stranded when it has not written STRAND_NS later and still
 * has not STRAND_CONFIRM_NS after that (UFFDIO_WAKE then lets it go); one
 * that writes in between was only slow (a loaded host), not asleep. Pagoda must strand none: a queued fault looks at its
 * entry again before it sleeps (docs/userfaultfd.md, "Deciding to sleep").
 * Linux 6.1 can strand writers here, so there a strand is reported as a
 * skip (with the count), not a failure. The
 * window is narrow: the boot switch uffd_debug_queue_delay widens it
 * (tools/run-tests: uffd-race-user, neg-uffd-must-wait-user). */
static void unprotect_race(void)
{
	int ncpu = ncpus;
	int nw = ncpu > 1 ? ncpu - 1 : 1;
	if (nw > MAX_WRITERS)
		nw = MAX_WRITERS;
	int fd = uffd_open(0, NULL);
	u8 *region = map_anon(nw);
	madvise(region, (size_t)nw * PAGE_SIZE, MADV_NOHUGEPAGE);
	memset(region, 0, (size_t)nw * PAGE_SIZE);
	register_or_bail(fd, region, (size_t)nw * PAGE_SIZE);
	pin_to_cpu(0);
	struct uthread *t[MAX_WRITERS];
	for (int i = 0; i < nw; i++) {
		race_writers[i].page = region + (size_t)i * PAGE_SIZE;
		race_writers[i].go = race_writers[i].done = 0;
		t[i] = thread_create(race_writer_main, &race_writers[i], ncpu > 1 ? i + 1 : 0);
		if (!t[i])
			ktap_bail("thread_create: %s", errno_name(errno));
	}
	int stranded = 0, late = 0, writes = 0, round;
	for (round = 1; round <= RACE_ROUNDS && stranded < RACE_MAX_STRANDED; round++) {
		protect_or_bail(fd, region, (size_t)nw * PAGE_SIZE);
		for (int i = 0; i < nw; i++)
			WRITE_ONCE(race_writers[i].go, round);
		/* A varying head start (the clock's low bits, scattered by
		 * the timing of the rounds before), so the clearing meets the
		 * faults at every point of their way to sleep. */
		u64 now = rdtsc();
		for (u64 until = now + (now >> 4) % RACE_SPREAD; rdtsc() < until;)
			;
		int r = uffd_wp(fd, region, (size_t)nw * PAGE_SIZE, 0);
		if (r)
			ktap_bail("UFFDIO_WRITEPROTECT clear: %s", errno_name(-r));
		for (int i = 0; i < nw; i++) {
			writes++;
			if (race_wait_done(i, round, STRAND_NS))
				continue;
			if (race_wait_done(i, round, STRAND_CONFIRM_NS))
				late++;
			else
				stranded++;
		}
		struct uffdio_range all = { (u64)region, (u64)nw * PAGE_SIZE };
		ioctl(fd, UFFDIO_WAKE, &all);
	}
	for (int i = 0; i < nw; i++)
		WRITE_ONCE(race_writers[i].go, -1);
	join_all(t, nw);
	const char *name = "an unprotect racing writers' faults (mode 0, no message read) "
			   "leaves no writer asleep";
	if (strcmp(system_name(), "Pagoda") && stranded) {
		ktap_diag("%s: %d of %d writes stranded", system_name(), stranded, writes);
		ktap_skip("Linux 6.1 can strand writers here", "%s", name);
	} else if (!ktap_ok(stranded == 0, "%s", name)) {
		ktap_diag("%d of %d writes stranded (%d rounds; %d more were late but landed)",
			  stranded, writes, round - 1, late);
	}
	close(fd);
	munmap(region, (size_t)nw * PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* 8. markers on never-touched memory (WP_UNPOPULATED)                 */
/* ------------------------------------------------------------------ */

static const char *const marker_names[] = {
	"markers: a protected never-touched page: pagemap uffd-wp 1, present 0",
	"markers: reading it reads zeros, with no message",
	"markers: after the read it is still protected: its first write goes to the handler",
	"markers: a never-touched page's first write goes to the handler",
	"markers: MADV_DONTNEED of the one present page of a 2 MiB table of markers leaves "
	"the markers: a write elsewhere still faults",
	"markers: MADV_DONTNEED drops the markers it covers (anonymous memory): a write goes through",
	"markers: MADV_DONTNEED of a written protected page leaves no marker",
	"markers: huge zero pages that other CPUs fault in while the range is being protected "
	"are all protected when the call returns",
};

/* Protecting with markers while threads on the other CPUs read 2 MiB
 * pieces in, from the top down: each read of an empty piece maps the huge
 * zero page. When the call returns every page of the range must read
 * uffd-wp 1 in pagemap, whichever came first at each piece, its fault or
 * the protection (docs/userfaultfd.md, "Racing a huge-page fault"). Reads
 * only: a write after the protection would sleep for a handler, and THPs
 * by writes are raced in the kernel's own test (uffd.markers_race_thp_faults).
 * Rounds until one loses, at most HUGE_RACE_ROUNDS. */
#define RACE_HUGES 128			/* 2 MiB pieces: 256 MiB */
#define HUGE_RACE_ROUNDS 20

struct race_faulter {
	u8 *region;
	int id, n;
	volatile int started;		/* past its first fault */
	u64 pad[5];
} __aligned(64);

static struct race_faulter race_faulters[MAX_WRITERS];

static long race_faulter_main(void *arg)
{
	struct race_faulter *f = arg;
	u64 sum = 0;

	for (int p = RACE_HUGES - 1; p >= 0; p--) {
		if (p % f->n != f->id)
			continue;
		sum += *(volatile u8 *)(f->region + (size_t)p * HUGE + (size_t)(p % 512) * PAGE_SIZE);
		WRITE_ONCE(f->started, 1);
	}
	return 1 + (long)(sum & 1);
}

/* One round: the pages of a fresh range left without uffd-wp. */
static size_t markers_race_round(int fd, int ncpu, u64 *pm)
{
	int nf = ncpu > 1 ? ncpu - 1 : 1;
	if (nf > MAX_WRITERS)
		nf = MAX_WRITERS;
	size_t len = RACE_HUGES * HUGE, npages = len / PAGE_SIZE;
	u8 *r = mmap_aligned(len, HUGE);
	if (r == MAP_FAILED)
		ktap_bail("mmap %lu MiB: %s", (unsigned long)(len >> 20), errno_name(errno));
	madvise(r, len, MADV_HUGEPAGE);
	register_or_bail(fd, r, len);
	struct uthread *t[MAX_WRITERS];
	for (int i = 0; i < nf; i++) {
		race_faulters[i] = (struct race_faulter){ .region = r, .id = i, .n = nf };
		t[i] = thread_create(race_faulter_main, &race_faulters[i], ncpu > 1 ? i + 1 : 0);
		if (!t[i])
			ktap_bail("thread_create: %s", errno_name(errno));
	}
	u64 deadline = now_ns() + WAIT_NS;
	for (int i = 0; i < nf; i++)
		while (!READ_ONCE(race_faulters[i].started))
			if (now_ns() > deadline)
				ktap_bail("a faulting thread never started");
	protect_or_bail(fd, r, len);
	int pmfd = open("/proc/self/pagemap", O_RDONLY, 0);
	if (pmfd < 0 || pread(pmfd, pm, npages * 8, (off_t)((u64)r / PAGE_SIZE * 8)) !=
	    (ssize_t)(npages * 8))
		ktap_bail("cannot read /proc/self/pagemap: %s", errno_name(errno));
	close(pmfd);
	size_t bare = 0;
	for (size_t i = 0; i < npages; i++)
		bare += !(pm[i] & PM_UFFD_WP);
	join_all(t, nf);
	munmap(r, len);
	return bare;
}

static void markers_race(int fd)
{
	u64 *pm = malloc(RACE_HUGES * HUGE / PAGE_SIZE * 8);
	if (!pm)
		ktap_bail("malloc");
	int ncpu = ncpus;
	pin_to_cpu(0);
	size_t bare = 0;
	int round;
	for (round = 0; round < HUGE_RACE_ROUNDS && !bare; round++)
		bare = markers_race_round(fd, ncpu, pm);
	ktap_ok(bare == 0, "%s", marker_names[7]);
	if (bare)
		ktap_diag("round %d: %lu pages without uffd-wp", round, (unsigned long)bare);
	free(pm);
}

static void markers(void)
{
	if (!(kernel_features & UFFD_FEATURE_WP_UNPOPULATED)) {
		for (size_t i = 0; i < ARRAY_SIZE(marker_names); i++)
			ktap_skip("no UFFD_FEATURE_WP_UNPOPULATED (Linux 6.5)", "%s", marker_names[i]);
		return;
	}
	int fd = uffd_open(UFFD_FEATURE_WP_UNPOPULATED, NULL);
	u8 *p = map_anon(4);
	madvise(p, 4 * PAGE_SIZE, MADV_NOHUGEPAGE);
	p[3 * PAGE_SIZE] = 0x83;	/* pages 0-2 never touched, 3 written */
	register_or_bail(fd, p, 4 * PAGE_SIZE);
	protect_or_bail(fd, p, 4 * PAGE_SIZE);

	bool pm = pagemap_is(p, true, false);
	ktap_ok(pm, "%s", marker_names[0]);
	if (!pm)
		diag_pagemap("marker", p);
	ktap_ok(page_is(p, 0) && !msg_pending(fd), "%s", marker_names[1]);
	ktap_ok(pagemap_is(p, true, true) && write_faults(fd, p + 5, 0x81, 0), "%s", marker_names[2]);
	ktap_ok(write_faults(fd, p + PAGE_SIZE + 5, 0x82, 0), "%s", marker_names[3]);

	/* A page-table page holding one present page and 511 markers: zapping
	 * the page leaves a table of markers only, which is not empty (a
	 * kernel that frees emptied tables must keep it). */
	u8 *h = map_huge();
	madvise(h, HUGE, MADV_NOHUGEPAGE);
	h[0] = 1;
	register_or_bail(fd, h, HUGE);
	protect_or_bail(fd, h, HUGE);
	int r = madvise(h, PAGE_SIZE, MADV_DONTNEED) < 0 ? -errno : 0;
	bool pmh = pagemap_is(h + 100 * PAGE_SIZE, true, false);
	ktap_ok(r == 0 && pmh && write_faults(fd, h + 100 * PAGE_SIZE, 0x86, 0), "%s",
		marker_names[4]);
	if (!pmh)
		diag_pagemap("a marker beside the zapped page", h + 100 * PAGE_SIZE);
	munmap(h, HUGE);

	/* MADV_DONTNEED over markers and over a protected page: on anonymous
	 * memory Linux drops both the markers and the protection. */
	r = madvise(p + 2 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTNEED) < 0 ? -errno : 0;
	bool pm2 = pagemap_is(p + 2 * PAGE_SIZE, false, false);
	bool pm3 = pagemap_is(p + 3 * PAGE_SIZE, false, false);
	ktap_ok(r == 0 && pm2 && write_goes_through(fd, p + 2 * PAGE_SIZE, 0x84), "%s",
		marker_names[5]);
	if (!pm2)
		diag_pagemap("a marker after DONTNEED", p + 2 * PAGE_SIZE);
	ktap_ok(pm3 && write_goes_through(fd, p + 3 * PAGE_SIZE, 0x85), "%s", marker_names[6]);
	if (!pm3)
		diag_pagemap("a written page after DONTNEED", p + 3 * PAGE_SIZE);
	markers_race(fd);
	close(fd);
	munmap(p, 4 * PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* 9. asynchronous protection: dirty tracking (WP_ASYNC, PAGEMAP_SCAN) */
/* ------------------------------------------------------------------ */

static const char *const async_names[] = {
	("async wp: a write to a protected page neither blocks nor sends a message; "
	 "pagemap uffd-wp 1 before, 0 after"),
	"async wp: writers on every other CPU, rounds of random pages: no message, no writer blocked",
	"async wp: pagemap uffd-wp 0 on exactly the pages written in the round",
	"async wp: PAGEMAP_SCAN reports exactly the pages written in the round",
	"async wp: PM_SCAN_WP_MATCHING protects them again",
	"async wp: a write into a protected 2 MiB MADV_HUGEPAGE region unprotects only its 4 KiB page",
};

struct async_writer {
	u8 *pages;			/* its ASYNC_PAGES pages */
	const u8 *chosen;		/* which of them to write this round */
	volatile int round;		/* main: go for this round */
	volatile int done;		/* writer: finished this round */
	u64 pad[5];
} __aligned(64);

static struct async_writer async_writers[MAX_WRITERS];
static volatile int async_stop;

/* Between rounds, keep reading every page so this CPU's TLB keeps their
 * translations; in a round, write the chosen pages. */
static long async_writer_main(void *arg)
{
	struct async_writer *w = arg;
	int last = -1;
	u64 sum = 0;

	while (!READ_ONCE(async_stop)) {
		int r = READ_ONCE(w->round);
		if (r != last) {
			for (int k = 0; k < ASYNC_PAGES; k++)
				if (w->chosen[k])
					((volatile u8 *)w->pages)[k * PAGE_SIZE + 64 + r] = (u8)(r + 1);
			last = r;
			WRITE_ONCE(w->done, r);
		}
		for (int k = 0; k < ASYNC_PAGES; k++)
			sum += ((volatile u8 *)w->pages)[k * PAGE_SIZE];
		__asm__ volatile("pause");
	}
	(void)sum;
	return 1;
}

static u64 rng_state = 0x2545f4914f6cdd1dUL;
static u32 rng(void)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (u32)(rng_state >> 33);
}

/* PAGEMAP_SCAN of [start, start + len) for written pages, protecting them
 * again (PM_SCAN_WP_MATCHING) when reprotect; marks them in written[].
 * Returns the number of regions, or -errno. */
static long scan_written(int pm, u8 *start, size_t len, bool reprotect, u8 *written,
			 struct page_region *vec, size_t vec_len)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = reprotect ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : 0,
		.start = (u64)start,
		.end = (u64)start + len,
		.vec = (u64)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	long n = ioctl(pm, PAGEMAP_SCAN, &a);
	if (n < 0)
		return -errno;
	for (long i = 0; i < n; i++)
		for (u64 a0 = vec[i].start; a0 < vec[i].end; a0 += PAGE_SIZE)
			if (a0 >= (u64)start && a0 < (u64)start + len)
				written[(a0 - (u64)start) / PAGE_SIZE] = 1;
	return n;
}

static void async_tracking(void)
{
	if (!(kernel_features & UFFD_FEATURE_WP_ASYNC)) {
		for (size_t i = 0; i < ARRAY_SIZE(async_names); i++)
			ktap_skip("no UFFD_FEATURE_WP_ASYNC (Linux 6.7)", "%s", async_names[i]);
		return;
	}
	int fd = uffd_open(UFFD_FEATURE_WP_ASYNC, NULL);
	int pm = open("/proc/self/pagemap", O_RDONLY, 0);
	if (pm < 0)
		ktap_bail("open /proc/self/pagemap: %s", errno_name(errno));

	/* One page first: no block, no message, the bit cleared. */
	u8 *one = map_anon(1);
	one[0] = 1;
	register_or_bail(fd, one, PAGE_SIZE);
	protect_or_bail(fd, one, PAGE_SIZE);
	bool was = pagemap_is(one, true, true);
	ktap_ok(was && write_goes_through(fd, one + 1, 2) && pagemap_is(one, false, true), "%s",
		async_names[0]);
	munmap(one, PAGE_SIZE);

	/* Does this kernel have PAGEMAP_SCAN? (Linux 6.1: ENOTTY.) */
	int ncpu = ncpus;
	int nw = ncpu > 1 ? ncpu - 1 : 1;
	if (nw > MAX_WRITERS)
		nw = MAX_WRITERS;
	size_t npages = (size_t)nw * ASYNC_PAGES;
	u8 *region = map_anon(npages);
	madvise(region, npages * PAGE_SIZE, MADV_NOHUGEPAGE);
	memset(region, 0, npages * PAGE_SIZE);		/* every page present */
	register_or_bail(fd, region, npages * PAGE_SIZE);
	u8 *chosen = malloc(npages), *written = malloc(npages);
	struct page_region *vec = malloc(npages * sizeof(*vec));
	if (!chosen || !written || !vec)
		ktap_bail("malloc");
	long probe = scan_written(pm, region, npages * PAGE_SIZE, false, written, vec, npages);
	have_pagemap_scan = probe >= 0;
	if (!have_pagemap_scan && probe != -ENOTTY)
		ktap_diag("PAGEMAP_SCAN: %s", errno_name((int)-probe));
	protect_or_bail(fd, region, npages * PAGE_SIZE);

	pin_to_cpu(0);
	memset(chosen, 0, npages);
	struct uthread *t[MAX_WRITERS];
	for (int i = 0; i < nw; i++) {
		async_writers[i].pages = region + (size_t)i * ASYNC_PAGES * PAGE_SIZE;
		async_writers[i].chosen = chosen + (size_t)i * ASYNC_PAGES;
		async_writers[i].round = -1;
		async_writers[i].done = -1;
		t[i] = thread_create(async_writer_main, &async_writers[i], ncpu > 1 ? i + 1 : 0);
		if (!t[i])
			ktap_bail("thread_create: %s", errno_name(errno));
	}

	bool timely = true, no_msgs = true, bits_ok = true, scan_ok = true, reprot_ok = true;
	for (int round = 0; round < ASYNC_ROUNDS && timely; round++) {
		/* Round 0 writes nothing, the last one everything. */
		for (size_t i = 0; i < npages; i++)
			chosen[i] = round == 0 ? 0 : round == ASYNC_ROUNDS - 1 ? 1 : (rng() & 3) == 0;
		for (int i = 0; i < nw; i++)
			WRITE_ONCE(async_writers[i].round, round);
		u64 deadline = now_ns() + ROUND_NS;
		for (int i = 0; i < nw && timely; i++)
			while (READ_ONCE(async_writers[i].done) != round) {
				if (now_ns() > deadline) {
					ktap_diag("round %d: a writer did not finish", round);
					timely = false;
					break;
				}
				sleep_ns(100 * 1000);
			}
		if (!timely)
			break;
		no_msgs &= !msg_pending(fd);
		/* pagemap: written pages lost their uffd-wp bit, the others
		 * kept it. */
		size_t wrong = 0;
		for (size_t i = 0; i < npages; i++)
			wrong += !pagemap_is(region + i * PAGE_SIZE, !chosen[i], true);
		if (wrong) {
			if (bits_ok)
				ktap_diag("round %d: %lu pages with the wrong uffd-wp bit", round,
					  (unsigned long)wrong);
			bits_ok = false;
		}
		/* Re-protect: by the scan itself, or by WRITEPROTECT. */
		if (have_pagemap_scan) {
			memset(written, 0, npages);
			long n = scan_written(pm, region, npages * PAGE_SIZE, true, written, vec, npages);
			wrong = 0;
			for (size_t i = 0; i < npages; i++)
				wrong += written[i] != chosen[i];
			if (n < 0 || wrong) {
				if (scan_ok)
					ktap_diag("round %d: PAGEMAP_SCAN %s, %lu pages misreported", round,
						  n < 0 ? errno_name((int)-n) : "ok", (unsigned long)wrong);
				scan_ok = false;
			}
		} else {
			protect_or_bail(fd, region, npages * PAGE_SIZE);
		}
		wrong = 0;
		for (size_t i = 0; i < npages; i++)
			wrong += !pagemap_is(region + i * PAGE_SIZE, true, true);
		if (wrong) {
			if (reprot_ok)
				ktap_diag("round %d: %lu pages not protected again", round,
					  (unsigned long)wrong);
			reprot_ok = false;
		}
	}
	if (!timely) {
		/* A kernel that made a writer wait for a handler: let it go. */
		uffd_wp(fd, region, npages * PAGE_SIZE, 0);
	}
	WRITE_ONCE(async_stop, 1);
	join_all(t, nw);

	ktap_ok(timely && no_msgs, "%s", async_names[1]);
	ktap_ok(timely && bits_ok, "%s", async_names[2]);
	if (have_pagemap_scan) {
		ktap_ok(timely && scan_ok, "%s", async_names[3]);
		ktap_ok(timely && reprot_ok, "%s", async_names[4]);
	} else {
		ktap_skip("no PAGEMAP_SCAN (Linux 6.7)", "%s", async_names[3]);
		ktap_skip("no PAGEMAP_SCAN (Linux 6.7)", "%s", async_names[4]);
	}
	munmap(region, npages * PAGE_SIZE);

	/* A protected huge page: an async write splits it, so only the
	 * written 4 KiB page counts as written. */
	u8 *h = map_huge();
	memset(h, 0x21, HUGE);
	register_or_bail(fd, h, HUGE);
	protect_or_bail(fd, h, HUGE);
	bool ok = write_goes_through(fd, h + 77 * PAGE_SIZE + 3, 0x22);
	size_t wrong = 0;
	for (size_t i = 0; i < HUGE / PAGE_SIZE; i++)
		wrong += !pagemap_is(h + i * PAGE_SIZE, i != 77, true);
	ktap_ok(ok && wrong == 0 && page_is(h, 0x21) && h[77 * PAGE_SIZE + 3] == 0x22, "%s",
		async_names[5]);
	if (wrong)
		ktap_diag("%lu pages with the wrong uffd-wp bit", (unsigned long)wrong);
	munmap(h, HUGE);
	free(chosen);
	free(written);
	free(vec);
	close(pm);
	close(fd);
}

int main(void)
{
	/* Counted once: online_cpus() is the CPUs this thread may run on,
	 * and the CPU tests pin it to CPU 0. */
	ncpus = online_cpus();
	ktap_plan(86);
	api();				/* 11 */
	ktap_diag("features: WP_UNPOPULATED %s, WP_ASYNC %s",
		  kernel_features & UFFD_FEATURE_WP_UNPOPULATED ? "yes" : "no",
		  kernel_features & UFFD_FEATURE_WP_ASYNC ? "yes" : "no");
	read_poll();			/* 4 */
	register_checks();		/* 27 */
	single_faults();		/* 13 */
	fork_checks();			/* 2 */
	dontneed();			/* 4 */
	thp();				/* 3 */
	sync_many_cpus();		/* 3 */
	unprotect_race();		/* 1 */
	markers();			/* 8 */
	async_tracking();		/* 6 */
	return ktap_finish();
}
