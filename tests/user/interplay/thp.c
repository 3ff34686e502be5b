/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/thp.c - huge pages in the interplay tester (docs/testing-mm.md,
 * "Huge pages: whole, cut and collapsed"): a 2 MiB-aligned MADV_HUGEPAGE region written
 * through, so that THPs form on both kernels, then cut at 4 KiB inside a huge page before
 * and after fork; and MADV_COLLAPSE, whose answer the model predicts as Linux 6.1 gives it. */
#include "interplay.h"

#define UNIT 512		/* pages in a 2 MiB unit */

struct thp_stats thp_stats;

/* ------------------------------------------------------------------ */
/* the THP counters of /proc/vmstat (interplay.thpstat=1)               */
/* ------------------------------------------------------------------ */

static const char *const vm_names[NR_THP_VM] = { "thp_fault_alloc", "thp_split_pmd",
						 "thp_collapse_alloc", "thp_split_page" };

static void vm_read(long out[NR_THP_VM])
{
	u64 val[NR_THP_VM];
	bool have[NR_THP_VM];
	proc_counters("/proc/vmstat", vm_names, NR_THP_VM, val, have);
	for (int i = 0; i < NR_THP_VM; i++)
		out[i] = have[i] ? (long)val[i] : -1;
}

void thp_stats_begin(void)
{
	memset(&thp_stats, 0, sizeof(thp_stats));
	vm_read(thp_stats.vm_start);
}

/* Counters of the whole system: the runner and its child are all that
 * runs, so the difference is theirs. Not compared with Linux (the two
 * kernels split and collapse at different moments): only printed. */
void thp_stats_print(u64 seed)
{
	long now[NR_THP_VM];
	vm_read(now);
	printf("# seed %lu: %d THP regions touched, %d cuts inside them; MADV_COLLAPSE %d done, "
	       "%d refused (predicted: %d done, %d EINVAL, %d either);", (unsigned long)seed,
	       thp_stats.regions, thp_stats.cuts, thp_stats.collapse_ok, thp_stats.collapse_refused,
	       thp_stats.sure_ok, thp_stats.sure_einval, thp_stats.either);
	for (int i = 0; i < NR_THP_VM; i++) {
		if (now[i] < 0 || thp_stats.vm_start[i] < 0)
			printf(" %s -", vm_names[i]);
		else
			printf(" %s +%ld", vm_names[i], now[i] - thp_stats.vm_start[i]);
	}
	printf("\n");
}

/* ------------------------------------------------------------------ */
/* what MADV_COLLAPSE answers (Linux 6.1, mm/khugepaged.c)              */
/* ------------------------------------------------------------------ */

/* madvise(MADV_COLLAPSE) goes VMA by VMA (the part of the range in each),
 * stopping at the first error; a hole makes ENOMEM at the end if nothing
 * failed. For each VMA part [start, end), Linux 6.1 refuses with EINVAL:
 *   R1 a VMA with VM_NOHUGEPAGE;
 *   R2 a VMA that holds no whole 2 MiB-aligned unit (for shared memory:
 *      also one whose file offset is not aligned like its address);
 *   R3 a private VMA without an anon_vma (nothing ever faulted in it);
 *   R4 a part that lies inside one unit without starting at its start
 *      (round_up(start) > round_down(end): an 8 KiB range in the middle
 *      is EINVAL, one from a unit's start is 0).
 * Then each whole unit of the part: a huge PMD (THP or huge zero page) is
 * already done; else its PTEs are scanned, and any of these is EINVAL:
 *   U1 a uffd-wp bit; U2 an empty or zero-page entry in a VMA registered
 *      with userfaultfd; U3 no writable entry at all (nothing there, only
 *      the zero page, read-only after mprotect, or shared with a fork
 *      child and not written since).
 * Otherwise the unit is collapsed (ENOMEM if no huge page can be had,
 * EAGAIN if a page cannot be isolated right now).
 * Measured on Debian's 6.1 through tools/linux-ref (docs/testing-mm.md).
 * The model knows some of these for sure and others not (where the huge
 * pages lie; where the kernel merged VMAs): it says EINVAL, success, or
 * "either" where it cannot know. */
struct verdict {
	bool sure_einval, maybe_einval, hole;
	const char *why;	/* the rule of a sure EINVAL */
};

static void einval(struct verdict *d, bool sure, const char *why)
{
	if (sure && !d->sure_einval) {
		d->sure_einval = true;
		d->why = why;
	}
	d->maybe_einval = true;
}

/* Pages [*lo, *hi) around p: mapped (the VMA lies inside them), or, with
 * same_vma, in the model's VMA of p (the VMA holds at least them). */
static void run_around(const struct view *v, int s, int p, bool same_vma, int *lo, int *hi)
{
	u32 vma = v->pg[s][p].vma;
	int l = p, h = p + 1;
	while (l > 0 && v->pg[s][l - 1].mapped && (!same_vma || v->pg[s][l - 1].vma == vma))
		l--;
	while (h < MAX_PAGES && v->pg[s][h].mapped && (!same_vma || v->pg[s][h].vma == vma))
		h++;
	*lo = l;
	*hi = h;
}

static bool holds_unit(int lo, int hi)
{
	return (lo + UNIT - 1) / UNIT * UNIT + UNIT <= hi;
}

/* R1-R3 for the VMA of page p. */
static void vma_rules(const struct view *v, int s, int p, struct verdict *d)
{
	const struct page_state *ps = &v->pg[s][p];
	int lo, hi, mlo, mhi;
	if (ps->unknown)
		einval(d, false, NULL);
	if (ps->nohuge)
		einval(d, true, "R1 VM_NOHUGEPAGE");
	run_around(v, s, p, false, &lo, &hi);
	run_around(v, s, p, true, &mlo, &mhi);
	if (!holds_unit(lo, hi))
		einval(d, true, "R2 no whole 2 MiB unit in the VMA");
	else if (!holds_unit(mlo, mhi))
		einval(d, false, NULL);		/* unless merged with a neighbour */
	if (ps->shared && (p - (int)ps->opage) % UNIT)
		einval(d, true, "R2 shared memory at an offset not aligned like its address");
	/* Shared memory otherwise: Linux 6.1 collapses the object's pages in
	 * its page cache even where shmem_enabled is "never" (MADV_COLLAPSE
	 * forces it), and answers 0 for a range without a whole unit; Pagoda
	 * has no huge pages for shared memory and refuses, as Linux does with
	 * shmem_enabled "deny". Both are Linux's answers: either is right. */
	if (ps->shared)
		einval(d, false, NULL);
	if (!ps->shared && ps->anon == NO)
		einval(d, true, "R3 no anon_vma (nothing faulted in the VMA)");
	else if (!ps->shared && ps->anon == MAYBE)
		einval(d, false, NULL);
}

/* R4 for a part that starts at p (sure: p is where the range or a VMA after
 * a hole starts; else a boundary the kernel may have merged away) and ends
 * at or before end. */
static void part_rule(int p, int end, bool sure, struct verdict *d)
{
	if ((p + UNIT - 1) / UNIT * UNIT > end / UNIT * UNIT)
		einval(d, sure, "R4 a part inside one 2 MiB unit, not from its start");
}

/* U1-U3 for the unit [u, u + UNIT), wholly mapped. */
static void unit_rules(const struct view *v, int s, int u, struct verdict *d)
{
	bool one_vma = true, pmd_possible = false, writable = false, may_write = false;
	bool u1 = false, u1_maybe = false, u2 = false, u2_maybe = false, shared = false;
	for (int p = u; p < u + UNIT; p++) {
		const struct page_state *ps = &v->pg[s][p];
		one_vma &= ps->vma == v->pg[s][u].vma;
		pmd_possible |= ps->ever_thp;
		shared |= ps->shared;
		writable |= ps->wpte == YES && ps->present == YES && !ps->unknown;
		may_write |= ps->present != NO && ps->wpte != NO &&
			     ps->prot == (PROT_READ | PROT_WRITE);
		u1 |= ps->wp == YES;
		u1_maybe |= ps->wp == MAYBE || ps->unknown;
		if (ps->uffd) {
			u2 |= ps->present == NO;
			u2_maybe |= ps->present != YES || ps->gen == 0 || ps->maybe_zero;
		}
	}
	/* Shared memory: Linux collapses the object's pages in its page cache
	 * (ok or EINVAL by what it holds); Pagoda has no shared huge pages. */
	if (shared) {
		einval(d, false, NULL);
		return;
	}
	bool sure = one_vma && !pmd_possible;
	if (u1)
		einval(d, sure, "U1 a uffd-wp entry");
	else if (u2)
		einval(d, sure, "U2 an empty entry in a VMA registered with userfaultfd");
	else if (!may_write)
		einval(d, sure, "U3 no writable entry in the unit");
	else if (u1_maybe || u2_maybe || !writable || !one_vma)
		einval(d, false, NULL);
}

static struct verdict collapse_verdict(const struct view *v, int s, int a, int n)
{
	struct verdict d = { 0 };
	for (int p = a; p < a + n; p++) {
		const struct page_state *ps = &v->pg[s][p];
		if (!ps->mapped) {
			d.hole = true;
			continue;
		}
		vma_rules(v, s, p, &d);
		bool starts = p == a || !v->pg[s][p - 1].mapped;
		if (starts || ps->vma != v->pg[s][p - 1].vma) {
			int end = p;
			while (end < a + n && v->pg[s][end].mapped)
				end++;
			part_rule(p, end, starts, &d);
		}
	}
	for (int u = (a + UNIT - 1) / UNIT * UNIT; u + UNIT <= a + n; u += UNIT) {
		bool whole = true;
		for (int p = u; p < u + UNIT; p++)
			whole &= v->pg[s][p].mapped;
		if (whole)
			unit_rules(v, s, u, &d);
	}
	return d;
}

/* After MADV_COLLAPSE of [a, a + n), whatever it answered (a unit before
 * the one that failed may be done): each whole unit may now be one huge
 * page, every entry present and dirty; shared memory collapsed in the page
 * cache is unmapped from every process (Linux's collapse_file), a read
 * fault then maps the whole huge page, and a punch in it splits it and
 * unmaps it whole (fault_around, punch: ever_thp on a shared page). */
static void model_collapse(int s, int a, int n)
{
	for (int u = (a + UNIT - 1) / UNIT * UNIT; u + UNIT <= a + n; u += UNIT)
		for (int p = u; p < u + UNIT; p++) {
			struct page_state *ps = &parent_view.pg[s][p];
			if (!ps->mapped)
				continue;
			if (ps->shared) {
				struct view *views[2] = { &parent_view, &child_view };
				for (int w = 0; w < (child_alive ? 2 : 1); w++)
					for (int t = 0; t < NSLOT; t++)
						for (int q = 0; q < MAX_PAGES; q++) {
							struct page_state *o = &views[w]->pg[t][q];
							if (o->mapped && o->shared && o->obj == ps->obj &&
							    o->opage == ps->opage) {
								o->present = MAYBE;
								o->ever_thp = 1;
								sd_dropped(o);
							}
						}
				continue;
			}
			ps->ever_thp = 1;
			ps->wpte = MAYBE;
			if (ps->present == NO)
				ps->present = MAYBE;
			if (ps->sd == NO)
				ps->sd = MAYBE;
		}
}

static bool collapse_range(int s, int a, int n)
{
	struct verdict d = collapse_verdict(&parent_view, s, a, n);
	const char *want = d.sure_einval ? "EINVAL" : d.maybe_einval ? (d.hole ? "EINVAL or ENOMEM" :
				     "0 or EINVAL") : d.hole ? "ENOMEM" : "0";
	logop("madvise slot %d pages %d..%d COLLAPSE (expected %s%s%s)", s, a, a + n - 1, want,
	      d.why ? ": " : "", d.why ? d.why : "");
	long r = madvise((void *)page_addr(s, a), (size_t)n * PAGE_SIZE, MADV_COLLAPSE) ? -errno : 0;
	model_collapse(s, a, n);
	/* Not the kernel's to decide the same way twice: EAGAIN (a page could
	 * not be isolated at that moment: Linux's lru and refcount checks) and,
	 * with allocations failing on purpose, ENOMEM (no huge page). */
	if (r == -EAGAIN || (prm.faultinject && r == -ENOMEM))
		return true;
	bool ok = d.sure_einval ? r == -EINVAL
		: r == (d.hole ? -ENOMEM : 0) || (d.maybe_einval && r == -EINVAL);
	thp_stats.sure_einval += d.sure_einval;
	thp_stats.either += !d.sure_einval && d.maybe_einval;
	thp_stats.sure_ok += !d.maybe_einval && !d.hole;
	thp_stats.collapse_ok += r == 0;
	thp_stats.collapse_refused += r == -EINVAL;
	if (!ok)
		fail("COLLAPSE slot %d pages %d..%d -> %s, expected %s%s%s", s, a, a + n - 1,
		     errstr(r), want, d.why ? " by " : "", d.why ? d.why : "");
	return ok;
}

/* MADV_COLLAPSE of a unit, the whole slot, a mapped run or any range. */
void op_collapse(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a, n;
	if (!prm.collapse)
		return;
	if (o->r[1] % 4 == 0) {
		a = (int)(o->r[2] % 2) * UNIT;		/* one unit */
		n = UNIT;
	} else if (o->r[1] % 4 == 1) {
		a = 0;					/* the whole slot */
		n = MAX_PAGES;
	} else if (o->r[1] % 4 == 2) {
		a = (int)(o->r[2] % MAX_PAGES);		/* anything, holes too */
		n = 1 + (int)((o->r[2] >> 10) % MAX_PAGES);
		if (a + n > MAX_PAGES)
			n = MAX_PAGES - a;
	} else {
		/* A mapped run of 8, 64 or 1024 pages at most. */
		u32 x = o->r[3] >> 4;
		int len = x % 3 == 0 ? 2 * UNIT : x % 3 == 1 ? 64 : 8;
		bool found = false;
		for (int k = 0; k < MAX_PAGES && !found; k++) {
			a = (int)((o->r[2] + (u32)k) % MAX_PAGES);
			found = parent_view.pg[s][a].mapped;
		}
		if (!found)
			return;
		n = 1;
		while (n < len && a + n < MAX_PAGES && parent_view.pg[s][a + n].mapped)
			n++;
	}
	collapse_range(s, a, n);
}

/* ------------------------------------------------------------------ */
/* a THP region, touched, then cut at 4 KiB                             */
/* ------------------------------------------------------------------ */

/* One cut of 1 to 16 pages inside a huge page of [a, a + n): munmap,
 * mprotect or MADV_DONTNEED, by the parent or the fork child, or a write
 * (after a fork: a copy of one piece of a shared huge page). */
static void thp_cut(int s, int a, int n, u32 x)
{
	int u = a + (int)((x >> 3) % (u32)(n / UNIT)) * UNIT;
	int p = u + (int)((x >> 5) % UNIT), len = 1 + (int)((x >> 14) % 16);
	static const int prots[] = { PROT_READ, PROT_NONE, PROT_READ | PROT_WRITE };
	int prot = prots[(x >> 18) % 3];
	bool in_child = child_alive && (x >> 20) % 2;
	struct view *v = in_child ? &child_view : &parent_view;
	if (p + len > u + UNIT)
		len = u + UNIT - p;
	int kind = (int)(x % 4);
	for (int q = p; q < p + len; q++)
		if (!v->pg[s][q].mapped || v->pg[s][q].unknown || v->pg[s][q].locked)
			return;		/* cut before, or locked: keep to one operation per page */
	thp_stats.cuts++;
	if (kind == 3) {
		write_range(v, s, p, len, (int)((x >> 22) % (u32)ncpus), in_child, false);
		return;
	}
	static const char *const names[] = { "munmap", "mprotect", "madvise DONTNEED" };
	logop("%sthp cut: %s slot %d pages %d..%d%s", in_child ? "child: " : "", names[kind], s, p,
	      p + len - 1, kind == 1 ? (prot == PROT_NONE ? " none" : prot == PROT_READ ? " r" : " rw")
	      : "");
	u64 addr = page_addr(s, p), bytes = (u64)len * PAGE_SIZE;
	long r;
	if (in_child) {
		ctl->addr = addr;
		ctl->len = bytes;
		ctl->advice = kind == 1 ? prot : MADV_DONTNEED;
		if (!child_call(kind == 0 ? CMD_MUNMAP : kind == 1 ? CMD_MPROTECT : CMD_MADVISE))
			return;
		r = ctl->result;
	} else if (kind == 0) {
		r = munmap((void *)addr, bytes) ? -errno : 0;
	} else if (kind == 1) {
		r = mprotect((void *)addr, bytes, prot) ? -errno : 0;
	} else {
		r = madvise((void *)addr, bytes, MADV_DONTNEED) ? -errno : 0;
	}
	if (!expect_ret(r, 0, names[kind], s, p, len))
		return;
	if (kind == 0) {
		unmap_pages(v, s, p, len);
		return;
	}
	if (kind == 2) {
		model_madvise(v, s, p, len, MADV_DONTNEED);
		return;
	}
	for (int q = p; q < p + len; q++) {
		v->pg[s][q].prot = (u8)prot;
		v->pg[s][q].wpte = prot == (PROT_READ | PROT_WRITE) ? MAYBE : NO;
	}
	split_vmas(v, s, p, len);
}

/* Every page of [a, a + n) read back and checked, in the parent and in
 * the child if there is one. */
static void thp_check(int s, int a, int n, int cpu)
{
	for (int p = a; p < a + n && !failed; p += MAX_RW)
		read_range(&parent_view, s, p, MAX_RW, cpu, false);
	for (int p = a; p < a + n && !failed && child_alive; p += MAX_RW)
		read_range(&child_view, s, p, MAX_RW, 0, true);
}

/* Ask the kernel to split the partly unmapped huge pages now: Pagoda
 * drains its deferred split queue, Linux runs its shrinkers (the deferred
 * split one among them). No byte changes, so the model does not either;
 * the read-back that follows checks the pieces kept. Root only on both. */
static void drain_deferred_splits(int s, int a, int n)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY, 0);
	long r = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		r = write(fd, "2", 1) == 1 ? 0 : -errno;
		close(fd);
	}
	expect_ret(r, 0, "drop_caches", s, a, n);
}

/* A private region of 2 or 4 MiB at a 2 MiB boundary of the slot (the
 * slots are 2 MiB-aligned), MADV_HUGEPAGE, written through: the first
 * page of each unit first (the write fault maps a whole huge page on both
 * kernels), then every page (so every byte has a generation). Then,
 * sometimes after a fork, 1 to 3 cuts at 4 KiB inside the huge pages,
 * the deferred splits drained, every page read back in both processes,
 * and sometimes MADV_COLLAPSE of the region and a second read. */
void op_thp(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), layout = (int)(o->r[1] % 3);
	int a = layout == 2 ? UNIT : 0, n = layout == 1 ? 2 * UNIT : UNIT;
	int cpu = (int)(o->r[2] % (u32)ncpus);
	logop("thp slot %d pages %d..%d: private, MADV_HUGEPAGE, every page written", s, a,
	      a + n - 1);
	void *m = mmap((void *)page_addr(s, a), (size_t)n * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m == MAP_FAILED) {
		expect_ret(-errno, 0, "mmap", s, a, n);
		return;
	}
	expect_unmap_event(s, a, n, "mmap(MAP_FIXED)");
	fresh_pages(&parent_view, s, a, n, false, true);
	long r = madvise(m, (size_t)n * PAGE_SIZE, MADV_HUGEPAGE) ? -errno : 0;
	if (!expect_ret(r, 0, "madvise(HUGEPAGE)", s, a, n))
		return;
	write_range(&parent_view, s, a, n, cpu, false, true);
	for (int p = a; p < a + n && !failed; p += MAX_RW)
		write_range(&parent_view, s, p, MAX_RW, cpu, false, false);
	thp_stats.regions++;
	if (failed)
		return;
	if ((o->r[1] >> 4) & 1)
		op_fork(o);
	int cuts = 1 + (int)((o->r[3] >> 28) % 3);
	for (int i = 0; i < cuts && !failed; i++)
		thp_cut(s, a, n, (u32)mix(((u64)o->r[3] << 8) ^ (u64)i));
	if (failed)
		return;
	drain_deferred_splits(s, a, n);
	thp_check(s, a, n, cpu);
	if (prm.collapse && !failed && (o->r[2] >> 12) % 3 == 0) {
		collapse_range(s, a, n);
		thp_check(s, a, n, cpu);
	}
}
