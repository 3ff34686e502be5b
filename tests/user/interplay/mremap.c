/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/mremap.c - the mremap operation (docs/mremap.md,
 * docs/testing-mm.md "The interplay tester"): a mapped run of one VMA is
 * shrunk or grown in place, or moved with MREMAP_FIXED inside its slot
 * (shrinking or growing on the way, or with MREMAP_DONTUNMAP), and the
 * model moves with it: each moved page keeps its contents (its key, so
 * the bytes written at the old address are what the new one must hold),
 * its presence and its fork sharing; the moved entries are soft-dirty; the
 * moved VMA loses its userfaultfd registration (Linux 6.1 leaves the
 * uffd-wp bits in the entries, Pagoda clears them: the model says MAYBE).
 * The operation only ever asks for addresses in its slot, so both kernels
 * get the same calls and must give the same answers. */
#include "interplay.h"

#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MREMAP_DONTUNMAP 4
#define NR_MREMAP 25

enum { MR_SHRINK, MR_GROW, MR_MOVE, MR_DONTUNMAP, MR_KINDS };

static long sys_mremap(u64 old, u64 old_len, u64 new_len, int flags, u64 new_addr)
{
	long r = raw_syscall5(NR_MREMAP, (long)old, (long)old_len, (long)new_len, flags,
			      (long)new_addr);
	return r < 0 ? r : 0;
}

/* A run of mapped pages of one model VMA (so of one kernel VMA), none of
 * them of unknown state, starting at or after the page r picks. */
static bool pick_vma_run(int s, u32 r, int maxn, int *a, int *n)
{
	const struct page_state *pg = parent_view.pg[s];
	int start = (int)(r % MAX_PAGES);
	for (int k = 0; k < MAX_PAGES; k++) {
		int p = (start + k) % MAX_PAGES;
		if (!pg[p].mapped || pg[p].unknown)
			continue;
		int len = 1 + (int)((r >> 10) % (u32)maxn), m = 1;
		while (m < len && p + m < MAX_PAGES && pg[p + m].mapped && !pg[p + m].unknown &&
		       pg[p + m].vma == pg[p].vma)
			m++;
		*a = p;
		*n = m;
		return true;
	}
	return false;
}

static bool range_free(int s, int a, int n)
{
	for (int p = a; p < a + n; p++)
		if (parent_view.pg[s][p].mapped)
			return false;
	return true;
}

/* Pages a..a+n-1 were mapped by this op and their state may be anything
 * (fault injection: the call failed with ENOMEM part way). */
static void lost(int s, int a, int n, const char *what)
{
	expect_ret(-ENOMEM, 0, what, s, a, n);
}

/* The state a page has once its entry moved into a VMA that is a copy of
 * its own, not registered with userfaultfd. */
static struct page_state moved_state(struct page_state ps, int s, int p)
{
	if (!ps.shared && !ps.okey)
		ps.okey = page_key(s, p, &ps);         /* its bytes keep the old identity */
	ps.sd = ps.present == YES ? YES : MAYBE;      /* move_soft_dirty_pte */
	if (ps.uffd) {
		ps.wp = ps.wp == NO ? NO : MAYBE;
		ps.wpte = MAYBE;
		ps.uffd = 0;
	}
	return ps;
}

/* A page added to the end of a VMA like `like` (grown), never touched. */
static struct page_state grown_state(const struct page_state *like)
{
	struct page_state ps = *like;
	ps.okey = 0;
	ps.gen = 0;
	ps.maybe_zero = 0;
	ps.ever_thp = like->thp || (prm.thp_always && !like->shared);
	ps.present = after_zap(&ps);
	ps.wp = NO;
	ps.wpte = NO;
	ps.sd = MAYBE;
	/* Of a locked VMA (mlock.c): populated at once, unless it was locked
	 * with MLOCK_ONFAULT, which the model does not tell apart. */
	if (ps.locked) {
		ps.present = MAYBE;
		ps.wpte = MAYBE;
	}
	return ps;
}

static void op_shrink(int s, int a, int n, u32 r)
{
	int m = (int)(r % (u32)n);                    /* pages kept, 0..n-1 */
	if (m == 0)
		m = n;                                  /* same length: a no-op */
	logop("mremap slot %d pages %d..%d to %d pages in place", s, a, a + n - 1, m);
	long got = sys_mremap(page_addr(s, a), (u64)n * PAGE_SIZE, (u64)m * PAGE_SIZE, 0, 0);
	if (expect_ret(got, 0, "mremap shrink", s, a, n))
		unmap_pages(&parent_view, s, a + m, n - m);
}

static void op_grow(int s, int a, int n, u32 r)
{
	struct page_state *pg = parent_view.pg[s];
	int g = 1 + (int)(r % 16);
	/* In place needs old_len to reach the VMA's end: a hole right after. */
	if (pg[a].shared || a + n + g > MAX_PAGES || (a + n < MAX_PAGES && pg[a + n].mapped))
		return;
	bool fits = range_free(s, a + n, g);
	logop("mremap slot %d pages %d..%d grow by %d in place (%s)", s, a, a + n - 1, g,
	      fits ? "free" : "blocked");
	long got = sys_mremap(page_addr(s, a), (u64)n * PAGE_SIZE, (u64)(n + g) * PAGE_SIZE, 0, 0);
	if (!expect_ret(got, fits ? 0 : -ENOMEM, "mremap grow", s, a, n + (fits ? g : 0)))
		return;
	for (int p = a + n; fits && p < a + n + g; p++)
		pg[p] = grown_state(&pg[a + n - 1]);
}

/* The source's old range after a DONTUNMAP: mapped, empty, registered as
 * before; a private page reads zeros, a shared one its object's page. */
static void emptied(struct page_state *ps)
{
	ps->gen = 0;
	ps->okey = 0;
	ps->maybe_zero = 0;
	ps->present = after_zap(ps);
	ps->wp = NO;
	ps->wpte = NO;
	sd_dropped(ps);
	ps->anon = MAYBE;       /* Linux drops the anon_vma of a VMA moved whole */
	ps->locked = 0;         /* ...and VM_LOCKED of the old VMA (mlock.c) */
}

/* The model of a successful move of pages a..a+n-1 to d..d+m-1 (m <= n
 * already: the tail was cut), plus g grown pages after them. */
static void model_move(int s, int a, int n, int d, int g, bool dontunmap)
{
	static struct page_state saved[MAX_PAGES];
	struct page_state *pg = parent_view.pg[s];
	for (int i = 0; i < n; i++) {
		saved[i] = moved_state(pg[a + i], s, a + i);
		/* Linux moves a whole PTE table as one PMD entry when both
		 * ends are 2 MiB aligned (move_normal_pmd), which sets no
		 * soft-dirty bit: either may be seen then. */
		if ((d - a) % 512 == 0)
			saved[i].sd = MAYBE;
	}
	if (dontunmap)
		for (int i = 0; i < n; i++)
			emptied(&pg[a + i]);
	else
		unmap_pages(&parent_view, s, a, n);
	for (int i = 0; i < n; i++)
		pg[d + i] = saved[i];
	for (int i = 0; i < g; i++)
		pg[d + n + i] = grown_state(&saved[n - 1]);
	/* A VMA of its own (or merged with a neighbour), keeping its anon_vma. */
	new_vma(&parent_view, s, d, n + g);
	for (int i = 0; i < n + g; i++)
		pg[d + i].anon = saved[i < n ? i : n - 1].anon;
}

/* After a move: the old range read from the CPU that read it just before
 * the move (its TLB held the old entries): a DONTUNMAP's old range must
 * read empty, and a fresh mapping put where the moved pages were must
 * read zeros - not the moved pages through a translation nobody flushed. */
static void reread_old(int s, int a, int tn, int cpu, bool dontunmap, u32 r)
{
	if (!dontunmap) {
		if (!(r & 16))
			return;
		logop("mmap slot %d pages %d..%d where the moved pages were", s, a, a + tn - 1);
		void *m = mmap((void *)page_addr(s, a), (size_t)tn * PAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (!expect_ret(m == MAP_FAILED ? -errno : 0, 0, "mmap", s, a, tn))
			return;
		fresh_pages(&parent_view, s, a, tn, false, false);
	}
	read_range(&parent_view, s, a, tn, cpu, false);
}

static void op_move(int s, int a, int n, u32 r, bool dontunmap)
{
	const struct page_state *pg = parent_view.pg[s];
	int m = n, g = 0;
	if (!dontunmap && (r & 3) == 1)
		m = 1 + (int)((r >> 2) % (u32)n);      /* shrink on the way */
	else if (!dontunmap && (r & 3) == 2 && !pg[a].shared)
		g = 1 + (int)((r >> 2) % 16);           /* grow on the way (private) */
	int d = (int)((r >> 8) % MAX_PAGES);
	if (d + m + g > MAX_PAGES)
		return;
	bool overlap = a + n > d && d + m + g > a;
	logop("mremap slot %d pages %d..%d to %d..%d FIXED%s%s", s, a, a + n - 1, d,
	      d + m + g - 1, dontunmap ? " DONTUNMAP" : "", overlap ? " (overlapping)" : "");
	int flags = MREMAP_MAYMOVE | MREMAP_FIXED | (dontunmap ? MREMAP_DONTUNMAP : 0);
	/* A CPU with the old entries in its TLB. */
	int cpu = (int)((r >> 20) % (u32)ncpus), tn = m < MAX_RW ? m : MAX_RW;
	read_range(&parent_view, s, a, tn, cpu, false);
	if (failed)
		return;
	long got = sys_mremap(page_addr(s, a), (u64)n * PAGE_SIZE, (u64)(m + g) * PAGE_SIZE, flags,
			      page_addr(s, d));
	if (overlap) {
		expect_ret(got, -EINVAL, "mremap overlapping", s, a, n);
		return;
	}
	if (got == -ENOMEM && prm.faultinject) {
		lost(s, a, n, "mremap");
		lost(s, d, m + g, "mremap");
		return;
	}
	if (!expect_ret(got, 0, "mremap move", s, a, n))
		return;
	unmap_pages(&parent_view, s, d, m + g);         /* FIXED: what was there goes */
	unmap_pages(&parent_view, s, a + m, n - m);     /* the tail it did not want */
	model_move(s, a, m, d, g, dontunmap);
	reread_old(s, a, tn, cpu, dontunmap, r);
}

void op_mremap(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a, n;
	/* The MISSING file has EVENT_REMAP: a moved VMA stays registered and
	 * REMAP/UNMAP events come; not modelled yet, so not in such a slot. */
	if (slot_has_missing(s))
		return;
	if (!pick_vma_run(s, o->r[1], (o->r[3] & 1) ? 64 : (o->r[3] & 2) ? 8 : 512, &a, &n))
		return;
	switch (o->r[2] % MR_KINDS) {
	case MR_SHRINK:
		op_shrink(s, a, n, o->r[3] >> 1);
		break;
	case MR_GROW:
		op_grow(s, a, n, o->r[3] >> 1);
		break;
	case MR_MOVE:
		op_move(s, a, n, o->r[2] / MR_KINDS, false);
		break;
	default:
		op_move(s, a, n, o->r[2] / MR_KINDS, true);
		break;
	}
	maybe_retouch(o);
}
