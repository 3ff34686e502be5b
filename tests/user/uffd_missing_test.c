/* SPDX-License-Identifier: MIT */
/* uffd_missing_test - userfaultfd's missing mode and events as Linux 6.1
 * has them (docs/userfaultfd.md, "Missing faults" and "Events"): a range
 * registered with UFFDIO_REGISTER_MODE_MISSING sends the first touch of
 * each empty page to the handler, which fills it with UFFDIO_COPY or
 * UFFDIO_ZEROPAGE; a page already there is EEXIST (the rule the negative
 * control uffd_debug_copy_no_recheck breaks); a fill that stops short is
 * EAGAIN with the bytes done; UFFD_FEATURE_SIGBUS raises SIGBUS instead of
 * waiting; no huge page fills a registered MADV_HUGEPAGE range; and the
 * events FORK (the child's fd comes with the message and its faults arrive
 * there, and the child keeps the parent's uffd-wp bits and markers),
 * REMAP, REMOVE and UNMAP, each of which holds its thread until the
 * handler has read it.
 *
 * Every expected value is what Debian's Linux 6.1 does (tools/linux-ref);
 * nothing printed depends on addresses or timings. Waits for a message
 * are bounded (poll), so a kernel that never sends one fails, not hangs.
 */
#include "libc.h"
#include "uffd.h"

#define HUGE (2UL << 20)
#define MSG_MS 20000		/* a message that never comes */
#define __NR_mremap 25
#define MREMAP_MAYMOVE 1

/* Linux 6.1's UFFD_API_FEATURES, what its selftest asks for. */
#define LINUX61_FEATURES \
	(UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | \
	 UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_MISSING_HUGETLBFS | \
	 UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_SIGBUS | UFFD_FEATURE_THREAD_ID | \
	 UFFD_FEATURE_MINOR_HUGETLBFS | UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_EXACT_ADDRESS | \
	 UFFD_FEATURE_WP_HUGETLBFS_SHMEM)
#define MISSING UFFDIO_REGISTER_MODE_MISSING
#define WP UFFDIO_REGISTER_MODE_WP

static const char *err_str(long e)
{
	return e ? errno_name((int)-e) : "0";
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	return p;
}

static int reg(int fd, void *p, size_t len, u64 mode, u64 *ioctls)
{
	struct uffdio_register r = { .range = { (u64)p, len }, .mode = mode };
	if (ioctl(fd, UFFDIO_REGISTER, &r) < 0)
		return -errno;
	if (ioctls)
		*ioctls = r.ioctls;
	return 0;
}

/* UFFDIO_COPY: the ioctl's answer (0 or -errno), the copy field in *res. */
static int copy(int fd, void *dst, const void *src, size_t len, u64 mode, s64 *res)
{
	struct uffdio_copy c = { (u64)dst, (u64)src, len, mode, 0x5a5a };
	int r = ioctl(fd, UFFDIO_COPY, &c) < 0 ? -errno : 0;
	if (res)
		*res = c.copy;
	return r;
}

static int zeropage(int fd, void *dst, size_t len, s64 *res)
{
	struct uffdio_zeropage z = { .range = { (u64)dst, len }, .mode = 0 };
	int r = ioctl(fd, UFFDIO_ZEROPAGE, &z) < 0 ? -errno : 0;
	if (res)
		*res = z.zeropage;
	return r;
}

static bool read_msg(int fd, struct uffd_msg *m)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, MSG_MS) <= 0 || !(pfd.revents & POLLIN))
		return false;
	return read(fd, m, sizeof(*m)) == sizeof(*m);
}

/* --- a thread that touches a page --- */

struct toucher {
	volatile char *p;
	bool write;
	char seen;
};

static long touch_fn(void *arg)
{
	struct toucher *t = arg;
	if (t->write)
		t->p[1] = 'w';
	t->seen = t->p[0];
	return 0;
}

/* --- the cases --- */

static void test_api(void)
{
	int fd = userfaultfd(O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api a = { .api = UFFD_API, .features = LINUX61_FEATURES };
	int r = ioctl(fd, UFFDIO_API, &a) < 0 ? -errno : 0;
	const u64 events = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
			   UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_SIGBUS;
	ktap_ok(r == 0 && (a.features & events) == events,
		"UFFDIO_API asking for every Linux 6.1 feature -> 0, reports the events and SIGBUS");
	close(fd);
	fd = uffd_open(0, NULL);
	char *p = map_anon(4 * PAGE_SIZE);
	u64 ioctls = 0;
	r = reg(fd, p, 4 * PAGE_SIZE, MISSING, &ioctls);
	const u64 want = (1UL << _UFFDIO_WAKE) | (1UL << _UFFDIO_COPY) | (1UL << _UFFDIO_ZEROPAGE);
	ktap_ok(r == 0 && (ioctls & want) == want && !(ioctls & (1UL << _UFFDIO_WRITEPROTECT)),
		"REGISTER MODE_MISSING -> 0, ioctls WAKE COPY ZEROPAGE, not WRITEPROTECT");
	close(fd);
	munmap(p, 4 * PAGE_SIZE);
}

/* A thread's first touch of an empty page: a message (flags say read or
 * write), then the thread sleeps until COPY fills the page and wakes it. */
static void test_fault_copy(bool write)
{
	int fd = uffd_open(0, NULL);
	char *p = map_anon(PAGE_SIZE);
	reg(fd, p, PAGE_SIZE, MISSING, NULL);
	struct toucher t = { .p = p, .write = write };
	struct uthread *th = thread_create(touch_fn, &t, -1);
	struct uffd_msg m;
	bool got = read_msg(fd, &m);
	static char src[PAGE_SIZE] __attribute__((aligned(4096)));
	memset(src, 'c', sizeof(src));
	s64 res = 0;
	int r = got ? copy(fd, p, src, PAGE_SIZE, 0, &res) : -1;
	if (!got)
		ioctl(fd, UFFDIO_UNREGISTER, &(struct uffdio_range){ (u64)p, PAGE_SIZE });
	thread_join(th);
	bool ok = got && m.event == UFFD_EVENT_PAGEFAULT && m.arg.pagefault.address == (u64)p &&
		  m.arg.pagefault.flags == (write ? UFFD_PAGEFAULT_FLAG_WRITE : 0) && r == 0 &&
		  res == PAGE_SIZE && t.seen == 'c' && (!write || p[1] == 'w');
	ktap_ok(ok, "a %s of a missing page: message flags %s; COPY -> 0, copy %d, the thread "
		"goes on with the copied bytes", write ? "write" : "read", write ? "WRITE" : "0",
		(int)PAGE_SIZE);
	if (!ok)
		ktap_diag("got %d flags %#lx r %s res %ld seen %c", got, (unsigned long)m.arg.pagefault.flags,
			  err_str(r), (long)res, t.seen);
	close(fd);
	munmap(p, PAGE_SIZE);
}

/* Fills over pages already there: EEXIST, the page unchanged; a fill of
 * three pages whose second is there stops there: EAGAIN, one page done. */
static void test_eexist(void)
{
	int fd = uffd_open(0, NULL);
	char *p = map_anon(4 * PAGE_SIZE);
	reg(fd, p, 4 * PAGE_SIZE, MISSING, NULL);
	static char src[3 * PAGE_SIZE] __attribute__((aligned(4096)));
	memset(src, 's', sizeof(src));
	s64 res = 0;
	int r1 = copy(fd, p, src, PAGE_SIZE, 0, &res);
	p[0] = 'x';             /* present and written: no fault */
	s64 res2 = 0;
	int r2 = copy(fd, p, src, PAGE_SIZE, 0, &res2);
	ktap_ok(r1 == 0 && r2 == -EEXIST && res2 == -EEXIST && p[0] == 'x' && p[1] == 's',
		"COPY onto a page already there -> EEXIST, copy -EEXIST, the page unchanged");
	s64 res3 = 0;
	int r3 = zeropage(fd, p, PAGE_SIZE, &res3);
	ktap_ok(r3 == -EEXIST && res3 == -EEXIST && p[0] == 'x',
		"ZEROPAGE onto a page already there -> EEXIST, the page unchanged");
	int r4 = copy(fd, p + 2 * PAGE_SIZE, src, PAGE_SIZE, 0, NULL);
	s64 res5 = 0;
	int r5 = copy(fd, p + PAGE_SIZE, src, 3 * PAGE_SIZE, 0, &res5);
	/* (The third page stays missing: reading it would wait for a handler.) */
	ktap_ok(r4 == 0 && r5 == -EAGAIN && res5 == PAGE_SIZE && p[PAGE_SIZE] == 's',
		"COPY of 3 pages whose second is there -> EAGAIN, copy %d (the first only)",
		(int)PAGE_SIZE);
	if (r5 != -EAGAIN || res5 != PAGE_SIZE)
		ktap_diag("got %s, copy %ld", err_str(r5), (long)res5);
	close(fd);
	munmap(p, 4 * PAGE_SIZE);
}

static void test_zeropage_and_errors(void)
{
	int fd = uffd_open(0, NULL);
	char *p = map_anon(2 * PAGE_SIZE);
	char *q = map_anon(PAGE_SIZE);
	reg(fd, p, 2 * PAGE_SIZE, MISSING, NULL);
	s64 res = 0;
	int r = zeropage(fd, p, PAGE_SIZE, &res);
	ktap_ok(r == 0 && res == PAGE_SIZE && p[5] == 0, "ZEROPAGE of a missing page -> 0, reads 0");
	static char src[PAGE_SIZE] __attribute__((aligned(4096)));
	ktap_ok(copy(fd, p + 1, src, PAGE_SIZE, 0, NULL) == -EINVAL, "COPY unaligned dst -> EINVAL");
	ktap_ok(copy(fd, p + PAGE_SIZE, src, PAGE_SIZE, 1UL << 5, NULL) == -EINVAL,
		"COPY unknown mode bit -> EINVAL");
	ktap_ok(copy(fd, p + PAGE_SIZE, src, PAGE_SIZE, UFFDIO_COPY_MODE_WP, &res) == -EINVAL &&
		res == -EINVAL, "COPY MODE_WP into a range not registered for WP -> EINVAL");
	ktap_ok(copy(fd, q, src, PAGE_SIZE, 0, &res) == -ENOENT && res == -ENOENT,
		"COPY into memory not registered -> ENOENT");
	ktap_ok(copy(fd, p + PAGE_SIZE, src, 2 * PAGE_SIZE, 0, &res) == -ENOENT,
		"COPY running past the registered VMA -> ENOENT");
	ktap_ok(copy(fd, p + PAGE_SIZE, (void *)8, PAGE_SIZE, 0, &res) == -EFAULT && res == -EFAULT,
		"COPY from an unmapped source -> EFAULT");
	close(fd);
	munmap(p, 2 * PAGE_SIZE);
	munmap(q, PAGE_SIZE);
}

/* COPY with MODE_WP into a range registered MISSING|WP: the page reads,
 * and is write-protected. */
static void test_copy_wp(void)
{
	int fd = uffd_open(UFFD_FEATURE_PAGEFAULT_FLAG_WP, NULL);
	char *p = map_anon(PAGE_SIZE);
	reg(fd, p, PAGE_SIZE, MISSING | WP, NULL);
	static char src[PAGE_SIZE] __attribute__((aligned(4096)));
	memset(src, 'p', sizeof(src));
	int r = copy(fd, p, src, PAGE_SIZE, UFFDIO_COPY_MODE_WP, NULL);
	int pm = open("/proc/self/pagemap", O_RDONLY, 0);
	u64 e = 0;
	pread(pm, &e, 8, (off_t)((u64)p / PAGE_SIZE * 8));
	close(pm);
	ktap_ok(r == 0 && p[0] == 'p' && (e & PM_UFFD_WP),
		"COPY MODE_WP -> 0: the page reads the copy, pagemap says uffd-wp");
	close(fd);
	munmap(p, PAGE_SIZE);
}

static volatile int bus_signo, bus_code;
static volatile u64 bus_addr;
static int bus_fd;

/* Resolves the fault itself (ZEROPAGE), so the access then succeeds. */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	bus_signo = sig;
	bus_code = si->si_code;
	bus_addr = (u64)si->si_addr;
	zeropage(bus_fd, (void *)(bus_addr & ~(PAGE_SIZE - 1)), PAGE_SIZE, NULL);
}

static void test_sigbus(void)
{
	bus_fd = uffd_open(UFFD_FEATURE_SIGBUS, NULL);
	char *p = map_anon(PAGE_SIZE);
	reg(bus_fd, p, PAGE_SIZE, MISSING, NULL);
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	sigaction(SIGBUS, &sa, NULL);
	char c = ((volatile char *)p)[7];
	ktap_ok(bus_signo == SIGBUS && bus_code == BUS_ADRERR && bus_addr == (u64)p + 7 && c == 0,
		"FEATURE_SIGBUS: a missing fault raises SIGBUS (BUS_ADRERR, the address), no message");
	struct uffd_msg m;
	ktap_ok(read(bus_fd, &m, sizeof(m)) < 0 && errno == EAGAIN, "and nothing to read: EAGAIN");
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	sigaction(SIGBUS, &sa, NULL);
	close(bus_fd);
	munmap(p, PAGE_SIZE);
}

/* A registered MADV_HUGEPAGE range: each 4 KiB page faults to the handler,
 * none is filled by a huge page. */
static void test_no_thp(void)
{
	int fd = uffd_open(0, NULL);
	char *raw = map_anon(2 * HUGE);
	char *p = (char *)(((u64)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(p, HUGE, MADV_HUGEPAGE);
	reg(fd, p, HUGE, MISSING, NULL);
	int faults = 0;
	static char src[PAGE_SIZE] __attribute__((aligned(4096)));
	for (int i = 0; i < 3; i++) {
		struct toucher t = { .p = p + i * PAGE_SIZE, .write = true };
		struct uthread *th = thread_create(touch_fn, &t, -1);
		struct uffd_msg m;
		if (read_msg(fd, &m) && m.arg.pagefault.address == (u64)t.p)
			faults++;
		copy(fd, (void *)t.p, src, PAGE_SIZE, 0, NULL);
		thread_join(th);
	}
	ktap_ok(faults == 3, "a registered MADV_HUGEPAGE range: 3 writes to 3 pages, 3 missing "
		"faults (no huge page filled the rest)");
	close(fd);
	munmap(raw, 2 * HUGE);
}

/* --- events --- */

struct reader {
	int fd;
	struct uffd_msg m;
	bool got;
};

static long reader_fn(void *arg)
{
	struct reader *r = arg;
	r->got = read_msg(r->fd, &r->m);
	return 0;
}

static void test_fork_event(void)
{
	int fd = uffd_open(UFFD_FEATURE_EVENT_FORK, NULL);
	char *p = map_anon(PAGE_SIZE);
	reg(fd, p, PAGE_SIZE, MISSING, NULL);
	struct reader rd = { .fd = fd };
	struct uthread *th = thread_create(reader_fn, &rd, -1);
	pid_t pid = fork();
	if (pid == 0)
		exit(((volatile char *)p)[0] == 'f' ? 0 : 1);   /* faults to the new fd */
	thread_join(th);
	bool ev = rd.got && rd.m.event == UFFD_EVENT_FORK && (int)rd.m.arg.fork.ufd >= 0 &&
		  (int)rd.m.arg.fork.ufd != fd;
	ktap_ok(ev, "fork with EVENT_FORK: a FORK message carrying a new fd");
	struct uffd_msg m;
	bool fault = ev && read_msg((int)rd.m.arg.fork.ufd, &m) &&
		     m.event == UFFD_EVENT_PAGEFAULT && m.arg.pagefault.address == (u64)p;
	static char src[PAGE_SIZE] __attribute__((aligned(4096)));
	memset(src, 'f', sizeof(src));
	int r = fault ? copy((int)rd.m.arg.fork.ufd, p, src, PAGE_SIZE, 0, NULL) : -1;
	if (ev && !fault)
		close((int)rd.m.arg.fork.ufd);  /* the child then retries unregistered */
	int st = reap_child(pid);
	ktap_ok(fault && r == 0 && st == 0,
		"the child's missing fault arrives on the new fd; COPY there fills the child's page, "
		"not the parent's");
	if (ev)
		close((int)rd.m.arg.fork.ufd);
	close(fd);
	munmap(p, PAGE_SIZE);
}

/* The child's pagemap bit 57 (uffd-wp) at p: 1, 0, or -1 if unreadable. */
static int child_wp_bit(const void *p)
{
	u64 e = 0;
	int pm = open("/proc/self/pagemap", O_RDONLY, 0);
	if (pm < 0 || pread(pm, &e, sizeof(e), (off_t)((u64)p / PAGE_SIZE * 8)) != sizeof(e))
		return -1;
	close(pm);
	return (e & PM_UFFD_WP) != 0;
}

/* EVENT_FORK and a range protected with markers (WP_UNPOPULATED): the
 * child's VMA stays registered for WP, so both its protected pages stay
 * protected - the written one (its entry's bit) and the never-touched one
 * (its marker), as Linux copies PTE markers into a uffd-wp child VMA. A
 * fork that copied only the present entries left the second unprotected:
 * the child's first write there went through with no fault. Exit status
 * of the child: 0, or 1 (the marker lost), 2 (the bit lost), 3. */
static void test_fork_markers(void)
{
	u64 got = 0;
	int fd = uffd_open(0, &got);	/* what the kernel has (6.1 refuses bits it lacks) */
	close(fd);
	if (!(got & UFFD_FEATURE_WP_UNPOPULATED)) {
		ktap_skip("no UFFD_FEATURE_WP_UNPOPULATED (Linux before 6.4)",
			  "fork with EVENT_FORK copies the markers of unpopulated protected pages");
		return;
	}
	fd = uffd_open(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		       UFFD_FEATURE_WP_UNPOPULATED, NULL);
	char *p = map_anon(2 * PAGE_SIZE);
	p[PAGE_SIZE] = 'x';	/* the second page present, the first never touched */
	reg(fd, p, 2 * PAGE_SIZE, WP, NULL);
	struct uffdio_writeprotect w = { .range = { (u64)p, 2 * PAGE_SIZE },
					 .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int r = ioctl(fd, UFFDIO_WRITEPROTECT, &w) < 0 ? -errno : 0;
	struct reader rd = { .fd = fd };
	struct uthread *th = thread_create(reader_fn, &rd, -1);
	pid_t pid = fork();
	if (pid == 0) {
		int marker = child_wp_bit(p), bit = child_wp_bit(p + PAGE_SIZE);
		exit((marker != 1) | (bit != 1) << 1);
	}
	thread_join(th);
	bool ev = rd.got && rd.m.event == UFFD_EVENT_FORK;
	int st = reap_child(pid);
	if (r || !ev || st)
		ktap_diag("protect %s, FORK message %d, child status %d", err_str(r), ev, st);
	ktap_ok(r == 0 && ev && st == 0,
		"fork with EVENT_FORK copies the markers of unpopulated protected pages");
	if (ev)
		close((int)rd.m.arg.fork.ufd);
	close(fd);
	munmap(p, 2 * PAGE_SIZE);
}

/* An event-raising call in this thread, a reader thread for its message. */
static bool event_of(int fd, struct uffd_msg *m, long (*op)(void *), void *arg)
{
	struct reader rd = { .fd = fd };
	struct uthread *th = thread_create(reader_fn, &rd, -1);
	op(arg);
	thread_join(th);
	*m = rd.m;
	return rd.got;
}

struct region {
	char *p;
	size_t len;
	char *to;
};

static long do_remap(void *arg)
{
	struct region *r = arg;
	r->to = (char *)raw_syscall5(__NR_mremap, (long)r->p, (long)r->len, (long)(2 * r->len),
				    MREMAP_MAYMOVE, 0);
	return 0;
}

static long do_dontneed(void *arg)
{
	struct region *r = arg;
	return madvise(r->p, r->len, MADV_DONTNEED);
}

static long do_munmap(void *arg)
{
	struct region *r = arg;
	return munmap(r->p, r->len);
}

static long do_map_fixed(void *arg)
{
	struct region *r = arg;
	r->to = mmap(r->p, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	return 0;
}

/* mmap(MAP_FIXED) unmaps what it replaces: the same UNMAP as munmap. */
static void test_map_fixed_event(void)
{
	int fd = uffd_open(UFFD_FEATURE_EVENT_UNMAP, NULL);
	char *f = map_anon(2 * PAGE_SIZE);
	reg(fd, f, PAGE_SIZE, MISSING, NULL);
	struct region fx = { f, 2 * PAGE_SIZE, NULL };
	struct uffd_msg m;
	bool got = event_of(fd, &m, do_map_fixed, &fx);
	ktap_ok(got && fx.to == f && m.event == UFFD_EVENT_UNMAP && m.arg.remove.start == (u64)f &&
		m.arg.remove.end == (u64)f + 2 * PAGE_SIZE,
		"mmap(MAP_FIXED) over a registered range: an UNMAP message {start, end} of the new mapping");
	close(fd);
	munmap(f, 2 * PAGE_SIZE);
}

static void test_events(void)
{
	/* Without EVENT_UNMAP here: the move's unmap of the old range would
	 * send one more message (REMAP, then UNMAP: Linux's order). */
	int fd = uffd_open(UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE, NULL);
	/* A neighbour that cannot merge keeps mremap from growing in place. */
	char *p = map_anon(4 * PAGE_SIZE);
	mprotect(p + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ);
	reg(fd, p, 2 * PAGE_SIZE, MISSING, NULL);
	zeropage(fd, p, 2 * PAGE_SIZE, NULL);
	struct region rg = { p, 2 * PAGE_SIZE, NULL };
	struct uffd_msg m;
	bool got = event_of(fd, &m, do_remap, &rg);
	ktap_ok(got && m.event == UFFD_EVENT_REMAP && m.arg.remap.from == (u64)p &&
		m.arg.remap.to == (u64)rg.to && m.arg.remap.len == 2 * PAGE_SIZE,
		"mremap (moving) of a registered range: a REMAP message {from, to, old length}");
	struct toucher t = { .p = rg.to + 3 * PAGE_SIZE, .write = false };
	struct uthread *th = thread_create(touch_fn, &t, -1);
	bool fault = read_msg(fd, &m) && m.event == UFFD_EVENT_PAGEFAULT &&
		     m.arg.pagefault.address == (u64)t.p;
	zeropage(fd, (void *)t.p, PAGE_SIZE, NULL);
	thread_join(th);
	ktap_ok(fault, "the moved range stays registered: a missing fault at its new address");
	struct region dn = { rg.to, PAGE_SIZE, NULL };
	got = event_of(fd, &m, do_dontneed, &dn);
	ktap_ok(got && m.event == UFFD_EVENT_REMOVE && m.arg.remove.start == (u64)rg.to &&
		m.arg.remove.end == (u64)rg.to + PAGE_SIZE,
		"MADV_DONTNEED of a registered range: a REMOVE message {start, end}");
	close(fd);
	munmap(rg.to, 4 * PAGE_SIZE);
	munmap(p + 2 * PAGE_SIZE, 2 * PAGE_SIZE);
	fd = uffd_open(UFFD_FEATURE_EVENT_UNMAP, NULL);
	char *u = map_anon(4 * PAGE_SIZE);
	reg(fd, u + PAGE_SIZE, PAGE_SIZE, MISSING, NULL);
	struct region un = { u, 3 * PAGE_SIZE, NULL };
	got = event_of(fd, &m, do_munmap, &un);
	ktap_ok(got && m.event == UFFD_EVENT_UNMAP && m.arg.remove.start == (u64)u &&
		m.arg.remove.end == (u64)u + 3 * PAGE_SIZE,
		"munmap over a registered range: an UNMAP message {start, end} of the call");
	close(fd);
	munmap(u + 3 * PAGE_SIZE, PAGE_SIZE);
}

/* MADV_DONTNEED refused (EINVAL) by a locked VMA sends no REMOVE event:
 * Linux checks each VMA before its event and stops at the first refusal,
 * so neither the locked VMA nor the registered one after it hears of a
 * removal that does not happen. (Pagoda sent one for every registered VMA
 * of the range before looking at any.) The madvise runs in a thread: an
 * event would hold it until read, and this thread reads what comes. */
struct advice_call {
	struct region r;
	long ret;
	int done;
};

static long advise_fn(void *arg)
{
	struct advice_call *c = arg;
	c->ret = madvise(c->r.p, c->r.len, MADV_DONTNEED) ? -errno : 0;
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return 0;
}

static void test_remove_refused(void)
{
	int fd = uffd_open(UFFD_FEATURE_EVENT_REMOVE, NULL);
	char *p = map_anon(2 * PAGE_SIZE);
	reg(fd, p, 2 * PAGE_SIZE, MISSING, NULL);
	zeropage(fd, p, 2 * PAGE_SIZE, NULL);
	int lr = mlock(p, PAGE_SIZE) ? -errno : 0;	/* two VMAs: locked, then not */
	struct advice_call c = { .r = { p, 2 * PAGE_SIZE, NULL } };
	struct uthread *th = thread_create(advise_fn, &c, -1);
	int events = 0;
	u64 deadline = now_ns() + (u64)MSG_MS * 1000 * 1000;
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) && now_ns() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct uffd_msg m;
		if (poll(&pfd, 1, 10) > 0 && read(fd, &m, sizeof(m)) == sizeof(m))
			events++;
	}
	thread_join(th);
	if (lr || c.ret != -EINVAL || events)
		ktap_diag("mlock %s, madvise %s, %d event(s)", err_str(lr), err_str(c.ret), events);
	ktap_ok(lr == 0 && c.ret == -EINVAL && events == 0,
		"MADV_DONTNEED refused by a locked VMA: EINVAL and no REMOVE event");
	close(fd);
	munlock(p, PAGE_SIZE);
	munmap(p, 2 * PAGE_SIZE);
}

int main(void)
{
	ktap_plan(27);
	test_api();
	test_fault_copy(false);
	test_fault_copy(true);
	test_eexist();
	test_zeropage_and_errors();
	test_copy_wp();
	test_sigbus();
	test_no_thp();
	test_fork_event();
	test_fork_markers();
	test_events();
	test_map_fixed_event();
	test_remove_refused();
	return ktap_finish();
}
