/* SPDX-License-Identifier: MIT */
/* softdirty_test - soft-dirty tracking (docs/soft-dirty.md), the way CRIU
 * uses it: write "4" to /proc/self/clear_refs, later read bit 55 of
 * /proc/self/pagemap; it must be set for every page written since, and
 * clear for the pages left alone. Modelled on Linux's
 * tools/testing/selftests/vm/soft-dirty.c.
 *
 * Checks:
 *   - clear_refs takes 1..5 and refuses 0, 6, junk, an empty write and an
 *     int overflow as Linux's kstrtoint does; it cannot be read; 5 brings
 *     VmHWM (the peak RSS) down to VmRSS.
 *   - a page written after a clear is soft-dirty, one left alone is not,
 *     round after round; a page only read (the zero page) is not; a new
 *     VMA is soft-dirty all over, touched or not, until the next clear,
 *     also one that grows an old one (Linux makes the merged VMA dirty);
 *   - mprotect: a page made read-only and writable again is not dirty
 *     until it is written, and then it is (Linux: it stays read-only and
 *     the write faults; Pagoda: it is writable and the MMU's D bit tells);
 *   - a 2 MiB MADV_HUGEPAGE region: clean after a clear, a write dirties
 *     the page written (or the whole huge page, where there is one);
 *   - a write by a thread on another CPU after the clear returned is always
 *     reported, round after round, while that thread keeps a hot writable
 *     TLB entry: clearing must flush, so the writer's next write faults;
 *   - the same while this thread keeps rewriting the entries (mprotect
 *     toggling PROT_EXEC on writable pages): no D bit set by the writer is
 *     lost in a rewrite;
 *   - interplay: a page write-protected by userfaultfd stays protected
 *     through a clear (bit 57 kept); a page shared with a child after fork
 *     stays copy-on-write (the child keeps its copy).
 * The output is the same on Linux 6.1 and on Pagoda.
 */
#include "libc.h"
#include "uffd.h"

#define NTESTS 28
#define ROUNDS 200
#define WRITER_PAGES 8
#define HUGE (2UL << 20)
#define HUGE_PAGES (HUGE / PAGE_SIZE)
#define WAIT_NS (10L * 1000 * 1000 * 1000)

static int pagemap_fd = -1;

static u64 pagemap_entry(const void *addr)
{
	u64 e = 0;
	if (pread(pagemap_fd, &e, sizeof(e), (off_t)((u64)addr / PAGE_SIZE * 8)) != sizeof(e))
		ktap_bail("pread /proc/self/pagemap: %s", errno_name(errno));
	return e;
}

static bool soft_dirty(const void *addr)
{
	return (pagemap_entry(addr) & PM_SOFT_DIRTY) != 0;
}

/* Soft-dirty pages among n from addr. */
static size_t count_dirty(const u8 *addr, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += soft_dirty(addr + i * PAGE_SIZE);
	return c;
}

/* write(2) of s to path's clear_refs: the count, or -errno. */
static long write_clear_refs(const char *path, const char *s, size_t len)
{
	int fd = open(path, O_WRONLY, 0);
	if (fd < 0)
		return -errno;
	long r = write(fd, s, len);
	if (r < 0)
		r = -errno;
	close(fd);
	return r;
}

static void clear_soft_dirty(void)
{
	long r = write_clear_refs("/proc/self/clear_refs", "4", 1);
	if (r != 1)
		ktap_bail("write 4 to /proc/self/clear_refs: %s", r < 0 ? errno_name((int)-r) : "short");
}

static u8 *map_anon(size_t npages)
{
	u8 *p = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ktap_bail("mmap %lu pages: %s", (unsigned long)npages, errno_name(errno));
	madvise(p, npages * PAGE_SIZE, MADV_NOHUGEPAGE);
	return p;
}

/* --- the file --- */

static void expect_write(const char *s, size_t len, long want, const char *what)
{
	long r = write_clear_refs("/proc/self/clear_refs", s, len);
	if (!ktap_ok(r == want, "clear_refs: %s -> %s", what,
		     want < 0 ? errno_name((int)-want) : "accepted"))
		ktap_diag("got %ld (%s)", r, r < 0 ? errno_name((int)-r) : "bytes");
}

/* clear_refs 5: VmHWM, the peak RSS, starts again from the current RSS. */
static void peak_rss(void)
{
	const size_t n = 1024;          /* 4 MiB */
	u8 *p = map_anon(n);
	for (size_t i = 0; i < n; i++)
		p[i * PAGE_SIZE] = 1;
	munmap(p, n * PAGE_SIZE);
	long rss = proc_field("/proc/self/status", "VmRSS");
	long peak = proc_field("/proc/self/status", "VmHWM");
	long r = write_clear_refs("/proc/self/clear_refs", "5", 1);
	long after = proc_field("/proc/self/status", "VmHWM");
	long rss2 = proc_field("/proc/self/status", "VmRSS");
	/* Linux's counters may lag by 64 pages per thread: margins. */
	if (!ktap_ok(r == 1 && peak >= rss + 3 * 1024 && after <= rss2 + 512,
		     "clear_refs: 5 brings VmHWM (the peak RSS) down to VmRSS"))
		ktap_diag("write %ld; VmRSS %ld kB, VmHWM %ld kB before, %ld kB after (VmRSS %ld kB)",
			  r, rss, peak, after, rss2);
}

static void file_checks(void)
{
	bool ok = true;
	for (int v = 1; v <= 5; v++) {
		char s[3] = { (char)('0' + v), '\n', 0 };
		long r = write_clear_refs("/proc/self/clear_refs", s, 2);
		if (r != 2) {
			ktap_diag("writing %d: got %ld", v, r);
			ok = false;
		}
	}
	ktap_ok(ok, "clear_refs: 1 to 5 are accepted, the whole write consumed");
	expect_write("0", 1, -EINVAL, "0");
	expect_write("6", 1, -EINVAL, "6");
	expect_write("soft", 4, -EINVAL, "junk");
	expect_write("", 0, -EINVAL, "an empty write");
	expect_write("99999999999", 11, -ERANGE, "a number past an int");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", getpid());
	long r = write_clear_refs(path, " 4 ", 3);
	if (!ktap_ok(r == 3, "clear_refs: /proc/PID/clear_refs of ourselves takes \" 4 \""))
		ktap_diag("got %ld", r);
	/* Linux looks at 12 bytes at most (PROC_NUMBUF less one) and says so. */
	r = write_clear_refs("/proc/self/clear_refs", "4                    ", 21);
	if (!ktap_ok(r == 12, "clear_refs: a 21-byte write of \"4\" and spaces consumes 12"))
		ktap_diag("got %ld", r);
	int fd = open("/proc/self/clear_refs", O_RDWR, 0);
	char c;
	long rr = fd < 0 ? -1000 : read(fd, &c, 1) < 0 ? -errno : 0;
	if (!ktap_ok(rr == -EINVAL, "clear_refs: reading it -> EINVAL"))
		ktap_diag("got %ld", rr);
	if (fd >= 0)
		close(fd);
	peak_rss();
}

/* --- one thread --- */

static void simple(void)
{
	u8 *p = map_anon(2);
	p[0] = 1;
	int bad = -1;
	for (int i = 0; i < ROUNDS && bad < 0; i++) {
		clear_soft_dirty();
		if (soft_dirty(p))
			bad = 2 * i;
		p[0]++;
		if (!soft_dirty(p))
			bad = 2 * i + 1;
	}
	if (!ktap_ok(bad < 0, "%d rounds: clean after each clear, dirty after each write", ROUNDS))
		ktap_diag("wrong at step %d", bad);
	clear_soft_dirty();
	(void)*(volatile u8 *)(p + PAGE_SIZE);  /* a read: the zero page */
	ktap_ok(!soft_dirty(p + PAGE_SIZE) && !soft_dirty(p), "a page only read, or left alone, stays clean");
	munmap(p, 2 * PAGE_SIZE);
}

/* Plain private memory: no madvise, so that a neighbour mapped the same
 * way can merge with it (no THP: the mappings are not 2 MiB). */
static u8 *map_plain(u8 *at, size_t npages)
{
	u8 *p = mmap(at, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);
	if (p == MAP_FAILED)
		ktap_bail("mmap %lu pages: %s", (unsigned long)npages, errno_name(errno));
	return p;
}

static void new_vmas(void)
{
	u8 *p = map_plain(NULL, 4);
	p[0] = 1;
	ktap_ok(count_dirty(p, 4) == 4, "a new mapping is soft-dirty, touched or not");
	clear_soft_dirty();
	ktap_ok(count_dirty(p, 4) == 0, "after a clear, none of it is");
	/* Unmapped and mapped again in place: new data for a tracker. */
	munmap(p, 4 * PAGE_SIZE);
	u8 *q = map_plain(p, 4);
	ktap_ok(count_dirty(q, 4) == 4, "munmap, then mmap at the same place: soft-dirty again");
	/* A mapping that grows an old, clean one: the merged VMA is new. */
	munmap(q + 2 * PAGE_SIZE, 2 * PAGE_SIZE);
	q[0] = 2;
	clear_soft_dirty();
	map_plain(q + 2 * PAGE_SIZE, 2);
	size_t n = count_dirty(q, 4);
	if (!ktap_ok(n == 4, "a mapping that extends a clean one makes all of it soft-dirty"))
		ktap_diag("%lu of 4 pages soft-dirty", (unsigned long)n);
	munmap(q, 4 * PAGE_SIZE);
}

/* Linux's selftest test_mprotect, anonymous. */
static void mprotect_checks(void)
{
	u8 *p = map_anon(1);
	memset(p, 0, PAGE_SIZE);
	clear_soft_dirty();
	mprotect(p, PAGE_SIZE, PROT_READ);
	mprotect(p, PAGE_SIZE, PROT_READ | PROT_WRITE);
	ktap_ok(!soft_dirty(p), "mprotect read-only, then writable again: still clean");
	memset(p, 1, PAGE_SIZE);
	ktap_ok(soft_dirty(p), "then a write: soft-dirty");
	clear_soft_dirty();
	mprotect(p, PAGE_SIZE, PROT_READ);
	ktap_ok(!soft_dirty(p), "clear, then mprotect read-only: clean");
	munmap(p, PAGE_SIZE);
}

static void thp_checks(void)
{
	u8 *h = mmap_aligned(HUGE, HUGE);
	if (h == MAP_FAILED)
		ktap_bail("mmap 2 MiB: %s", errno_name(errno));
	madvise(h, HUGE, MADV_HUGEPAGE);
	memset(h, 1, HUGE);             /* a huge page where the kernel gives one */
	clear_soft_dirty();
	size_t n0 = count_dirty(h, HUGE_PAGES);
	ktap_ok(n0 == 0, "2 MiB MADV_HUGEPAGE region: clean after a clear");
	h[100 * PAGE_SIZE] = 2;
	size_t n1 = count_dirty(h, HUGE_PAGES);
	bool written = soft_dirty(h + 100 * PAGE_SIZE);
	/* One page, or all of a huge page (Linux and Pagoda track a huge
	 * PMD whole). */
	if (!ktap_ok(written && (n1 == 1 || n1 == HUGE_PAGES),
		     "2 MiB region: a write dirties its page (or its whole huge page)"))
		ktap_diag("after a write to one page: %lu of %lu pages soft-dirty", (unsigned long)n1,
			  (unsigned long)HUGE_PAGES);
	clear_soft_dirty();
	/* Split the huge page (if any) by an mprotect of its first page; the
	 * rest must stay clean until written. */
	mprotect(h, PAGE_SIZE, PROT_READ);
	size_t n2 = count_dirty(h, HUGE_PAGES);
	h[200 * PAGE_SIZE] = 3;
	ktap_ok(n2 == 0 && soft_dirty(h + 200 * PAGE_SIZE),
		"2 MiB region: clean through an mprotect of part of it, dirty once written");
	munmap(h, HUGE);
}

/* --- another CPU --- */

struct writer {
	u8 *pages;
	volatile int stop;
	volatile int pause;     /* asked by the main thread */
	volatile int paused;    /* the writer's answer */
	volatile u64 writes;
};

/* Keep writing every page, each one a new value: a hot, writable TLB
 * entry for each on this CPU. Hold still while asked to. */
static long writer_fn(void *arg)
{
	struct writer *w = arg;
	while (!w->stop) {
		if (w->pause) {
			w->paused = 1;
			while (w->pause && !w->stop)
				;
			w->paused = 0;
			continue;
		}
		for (int i = 0; i < WRITER_PAGES; i++)
			(*(volatile u64 *)(w->pages + i * PAGE_SIZE))++;
		w->writes++;
	}
	return 0;
}

static void writer_pause(struct writer *w)
{
	w->pause = 1;
	u64 t0 = now_ns();
	while (!w->paused)
		if (now_ns() - t0 > (u64)WAIT_NS)
			ktap_bail("the writer thread does not answer");
}

/* Wait until every page holds a value other than the one in seen[]: a
 * write after the moment seen[] was read. False after WAIT_NS. */
static bool wait_written(struct writer *w, const u64 *seen)
{
	u64 t0 = now_ns();
	for (int i = 0; i < WRITER_PAGES; i++)
		while (*(volatile u64 *)(w->pages + i * PAGE_SIZE) == seen[i])
			if (now_ns() - t0 > WAIT_NS)
				return false;
	return true;
}

/* Rounds of: clear (and, with toggle, rewrite every entry by mprotect
 * while the writer runs), read each page's value, wait for a newer one;
 * each page must then be soft-dirty. Returns the misses; *timeouts counts
 * rounds where the writer made no progress. */
static int writer_rounds(struct writer *w, bool toggle, int *timeouts)
{
	int missed = 0;
	size_t len = WRITER_PAGES * PAGE_SIZE;
	for (int r = 0; r < ROUNDS; r++) {
		u64 seen[WRITER_PAGES];
		if (toggle) {
			/* With the writer held still (a write to a read-only
			 * page would kill us): clear, then read-only and back.
			 * On Pagoda the entries are then writable and clean, so
			 * the writer's next write goes through the MMU alone
			 * (D); Linux keeps them read-only until written. */
			writer_pause(w);
			clear_soft_dirty();
			mprotect(w->pages, len, PROT_READ);
			mprotect(w->pages, len, PROT_READ | PROT_WRITE);
			for (int i = 0; i < WRITER_PAGES; i++)
				seen[i] = *(volatile u64 *)(w->pages + i * PAGE_SIZE);
			w->pause = 0;
		} else {
			clear_soft_dirty();
			for (int i = 0; i < WRITER_PAGES; i++)
				seen[i] = *(volatile u64 *)(w->pages + i * PAGE_SIZE);
		}
		/* Rewrite the entries again and again (writable all along)
		 * while the writer writes. */
		for (int k = 0; toggle && k < 4; k++) {
			mprotect(w->pages, len, PROT_READ | PROT_WRITE | PROT_EXEC);
			mprotect(w->pages, len, PROT_READ | PROT_WRITE);
		}
		if (!wait_written(w, seen)) {
			(*timeouts)++;
			continue;
		}
		for (int i = 0; i < WRITER_PAGES; i++)
			if (!soft_dirty(w->pages + i * PAGE_SIZE))
				missed++;
	}
	return missed;
}

static void other_cpu(void)
{
	struct writer w = { .pages = map_anon(WRITER_PAGES) };
	memset(w.pages, 0, WRITER_PAGES * PAGE_SIZE);
	int cpu = online_cpus() > 1 ? 1 : 0;
	pin_to_cpu(0);
	struct uthread *t = thread_create(writer_fn, &w, cpu);
	if (!t)
		ktap_bail("thread_create: %s", errno_name(errno));
	while (w.writes < 100)
		sched_yield();
	int timeouts = 0;
	int missed = writer_rounds(&w, false, &timeouts);
	if (!ktap_ok(missed == 0 && timeouts == 0,
		     "%d rounds: every write by another CPU after the clear is reported", ROUNDS))
		ktap_diag("%d writes not reported, %d rounds without a write", missed, timeouts);
	timeouts = 0;
	missed = writer_rounds(&w, true, &timeouts);
	if (!ktap_ok(missed == 0 && timeouts == 0,
		     "%d rounds: the same while mprotect rewrites the entries under the writer", ROUNDS))
		ktap_diag("%d writes not reported, %d rounds without a write", missed, timeouts);
	w.stop = 1;
	long res = thread_join(t);
	if (res)
		ktap_diag("writer thread: %ld", res);
	/* Stopped: after a clear nothing is dirty any more. */
	clear_soft_dirty();
	ktap_ok(count_dirty(w.pages, WRITER_PAGES) == 0, "the writer stopped: a clear leaves them clean");
	munmap(w.pages, WRITER_PAGES * PAGE_SIZE);
}

/* --- interplay --- */

static void uffd_interplay(void)
{
	u8 *p = map_anon(1);
	p[0] = 1;
	int fd = userfaultfd(O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API };
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0)
		ktap_bail("userfaultfd: %s", errno_name(errno));
	struct uffdio_register reg = { .range = { (u64)p, PAGE_SIZE }, .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { (u64)p, PAGE_SIZE }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0 || ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0)
		ktap_bail("register/protect: %s", errno_name(errno));
	clear_soft_dirty();
	u64 e = pagemap_entry(p);
	ktap_ok((e & PM_UFFD_WP) && !(e & PM_SOFT_DIRTY),
		"a userfaultfd-protected page stays protected through a clear, and is clean");
	wp.mode = 0;
	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0)
		ktap_bail("unprotect: %s", errno_name(errno));
	p[0] = 2;
	e = pagemap_entry(p);
	ktap_ok(!(e & PM_UFFD_WP) && (e & PM_SOFT_DIRTY), "unprotected and written: soft-dirty");
	close(fd);
	munmap(p, PAGE_SIZE);
}

static void fork_interplay(void)
{
	u8 *p = map_anon(1);
	volatile int *flag = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (flag == MAP_FAILED)
		ktap_bail("mmap shared: %s", errno_name(errno));
	memset(p, 7, PAGE_SIZE);
	*flag = 0;
	pid_t pid = fork();
	if (pid == 0) {
		u64 t0 = now_ns();
		while (!*flag && now_ns() - t0 < (u64)WAIT_NS)
			sched_yield();
		for (size_t i = 0; i < PAGE_SIZE; i++)
			if (p[i] != 7)
				exit(1);
		exit(*flag ? 0 : 2);
	}
	clear_soft_dirty();
	bool clean = !soft_dirty(p);
	memset(p, 8, PAGE_SIZE);        /* copy-on-write, after the clear */
	bool dirty = soft_dirty(p);
	*flag = 1;
	int status = -1;
	wait4(pid, &status, 0, NULL);
	ktap_ok(clean && dirty && status == 0,
		"a page shared with a child: clean after a clear, its copy dirty, the child's untouched");
	if (status != 0)
		ktap_diag("child status %#x", status);
	munmap(p, PAGE_SIZE);
	munmap((void *)flag, PAGE_SIZE);
}

int main(void)
{
	ktap_plan(NTESTS);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY, 0);
	if (pagemap_fd < 0)
		ktap_bail("open /proc/self/pagemap: %s", errno_name(errno));
	int fd = open("/proc/self/clear_refs", O_WRONLY, 0);
	if (fd < 0)
		ktap_bail("open /proc/self/clear_refs: %s", errno_name(errno));
	close(fd);
	file_checks();          /* 10 */
	simple();               /* 2 */
	new_vmas();             /* 4 */
	mprotect_checks();      /* 3 */
	thp_checks();           /* 3 */
	other_cpu();            /* 3 */
	uffd_interplay();       /* 2 */
	fork_interplay();       /* 1 */
	return ktap_finish();
}
