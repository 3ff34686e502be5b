/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/mlock.c - locked memory in the interplay tester
 * (docs/testing-mm.md, "The interplay tester"; docs/mlock.md): the
 * OP_MLOCK operation (mlock, mlock2 MLOCK_ONFAULT, munlock on a run of
 * mapped pages) and the model of population, which MADV_POPULATE_READ and
 * MADV_POPULATE_WRITE (op_madvise) share with mlock.
 *
 * The model: a locked page keeps what it has (DONTNEED, FREE, REMOVE and
 * COLD on a locked VMA fail with EINVAL: model_madvise, op_pmadv); mlock
 * populates the run VMA by VMA - writable private pages as writes would
 * (copy-on-write broken, a userfaultfd-protected page resolved by the
 * handler), other readable pages as reads - and stops with ENOMEM at the
 * first PROT_NONE page (locked all the same); MLOCK_ONFAULT populates
 * nothing. The fork child's copies are not locked (model_fork). */
#include "interplay.h"

/* Page p was populated by a read fault (MADV_POPULATE_READ, mlock of
 * read-only memory): present, the zero page or what was there. */
static void populate_read(struct view *v, int s, int p)
{
	fault_around(v, s, p);
	v->pg[s][p].present = YES;
	anon_read(v, s, p);
}

/* Page p was populated by a write fault without new contents
 * (MADV_POPULATE_WRITE, mlock of writable private memory): present and
 * writable, its own copy, no longer protected. A page already present
 * and writable takes no fault, so its soft-dirty bit stays what it was. */
static void populate_write(struct view *v, int s, int p)
{
	struct page_state *ps = &v->pg[s][p];
	u8 sd = ps->sd;
	bool faults = ps->present != YES || ps->wpte != YES;
	bool maybe = ps->present == YES && ps->wpte == MAYBE;
	ps->present = YES;
	ps->wp = NO;
	ps->wpte = YES;
	anon_faulted(v, s, p);
	if (faults) {
		sd_written(v, s, p);
		if (maybe && sd != YES)
			ps->sd = MAYBE;
	}
}

long model_populate(struct view *v, int s, int a, int n, bool write)
{
	for (int p = a; p < a + n; p++) {
		if (!(v->pg[s][p].prot & (write ? PROT_WRITE : PROT_READ)))
			return -EINVAL;
		if (write)
			populate_write(v, s, p);
		else
			populate_read(v, s, p);
	}
	return 0;
}

/* mlock's population of a..a+n-1: 0, or -ENOMEM at a PROT_NONE page. */
static long model_mlock_populate(struct view *v, int s, int a, int n)
{
	for (int p = a; p < a + n; p++) {
		struct page_state *ps = &v->pg[s][p];
		if (!(ps->prot & (PROT_READ | PROT_WRITE)))
			return -ENOMEM;
		if ((ps->prot & PROT_WRITE) && !ps->shared)
			populate_write(v, s, p);
		else
			populate_read(v, s, p);
	}
	return 0;
}

/* mprotect of locked private memory to read-write populates it with
 * writes (Linux's mprotect_fixup), but without waiting for a userfaultfd
 * handler: a protected page stays as it is. Called before the model
 * takes the new protection. */
void mlock_after_mprotect(struct view *v, int s, int a, int n, int prot)
{
	if (!(prot & PROT_WRITE))
		return;
	/* The population stops at a protected page (Linux and Pagoda alike):
	 * with one in the run, what comes after it is not known either. */
	bool sure = true;
	for (int p = a; p < a + n; p++)
		sure &= v->pg[s][p].wp == NO && !v->pg[s][p].uffd;
	for (int p = a; p < a + n; p++) {
		struct page_state *ps = &v->pg[s][p];
		if (!ps->locked || ps->shared || (ps->prot & PROT_WRITE))
			continue;
		if (sure) {
			populate_write(v, s, p);
			ps->wpte = MAYBE;       /* mprotect's own rule follows */
			continue;
		}
		ps->present = ps->present == YES ? YES : MAYBE;
		if (ps->sd == NO)
			ps->sd = MAYBE;
		if (ps->anon == NO)
			ps->anon = MAYBE;
	}
}

/* Any page of the run the model no longer knows (fault injection)? */
static bool run_known(const struct view *v, int s, int a, int n)
{
	for (int p = a; p < a + n; p++)
		if (v->pg[s][p].unknown)
			return false;
	return true;
}

/* A run of mapped pages of slot s from the page r picks, up to 64 long. */
static bool pick_mapped(int s, u32 r, int *a, int *n)
{
	int start = (int)(r % MAX_PAGES);
	for (int k = 0; k < MAX_PAGES; k++) {
		int p = (start + k) % MAX_PAGES;
		if (!parent_view.pg[s][p].mapped)
			continue;
		int len = 1 + (int)((r >> 12) % 64), m = 1;
		while (m < len && p + m < MAX_PAGES && parent_view.pg[s][p + m].mapped)
			m++;
		*a = p;
		*n = m;
		return true;
	}
	return false;
}

void op_mlock(const struct op *o)
{
	static const char *const names[] = { "mlock", "mlock2 ONFAULT", "munlock" };
	int s = (int)(o->r[0] % NSLOT), a, n, kind = (int)(o->r[2] % 3);
	if (!pick_mapped(s, o->r[1], &a, &n) || !run_known(&parent_view, s, a, n))
		return;
	logop("%s slot %d pages %d..%d", names[kind], s, a, a + n - 1);
	void *addr = (void *)page_addr(s, a);
	size_t len = (size_t)n * PAGE_SIZE;
	long r = (kind == 0 ? mlock(addr, len) : kind == 1 ? mlock2(addr, len, MLOCK_ONFAULT) :
		  munlock(addr, len)) ? -errno : 0;
	/* The VMAs change first (all of the run), then the population. */
	for (int p = a; p < a + n; p++)
		parent_view.pg[s][p].locked = kind != 2;
	split_vmas(&parent_view, s, a, n);
	long want = kind == 0 ? model_mlock_populate(&parent_view, s, a, n) : 0;
	/* Fault injection: a population that found no memory is EAGAIN. */
	if (prm.faultinject && r == -EAGAIN)
		r = -ENOMEM;
	if (!expect_ret(r, want, names[kind], s, a, n) || kind == 2 || !(o->r[3] & 1))
		return;
	/* Half the time, try to drop a piece of what was just locked: the
	 * model says EINVAL, and the pages stay. */
	int b = a + (int)((o->r[3] >> 1) % (u32)n), m = 1 + (int)((o->r[3] >> 9) % (u32)(a + n - b));
	int advice = (o->r[3] >> 20) & 1 ? MADV_FREE : MADV_DONTNEED;
	logop("madvise slot %d pages %d..%d %s (locked)", s, b, b + m - 1,
	      advice == MADV_FREE ? "FREE" : "DONTNEED");
	r = madvise((void *)page_addr(s, b), (size_t)m * PAGE_SIZE, advice) ? -errno : 0;
	expect_ret(r, model_madvise(&parent_view, s, b, m, advice), "madvise of locked pages",
		   s, b, m);
}
