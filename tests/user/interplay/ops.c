/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/ops.c - the operations of a seed, each against the model, and one run
 * (docs/testing-mm.md, "The interplay tester"). */
#include "interplay.h"

/* ------------------------------------------------------------------ */
/* the operations                                                      */
/* ------------------------------------------------------------------ */

/* How often each kind is drawn (out of the sum). */
const u8 op_weight[NR_OPS] = {
	[OP_MMAP] = 10, [OP_MUNMAP] = 3, [OP_MPROTECT] = 7, [OP_MADVISE] = 14,
	[OP_WRITE] = 22, [OP_READ] = 14, [OP_PAGEMAP] = 5, [OP_FORK] = 5,
	[OP_CHILD_EXIT] = 2, [OP_UREG] = 7, [OP_UUNREG] = 2, [OP_UWP] = 8,
	[OP_PVM] = 3, [OP_PMADV] = 2, [OP_RETOUCH] = 10, [OP_CLEAR_REFS] = 4,
	[OP_THP] = 3, [OP_COLLAPSE] = 4, [OP_MLOCK] = 4, [OP_MREMAP] = 5,
};

const char *kind_name[NR_OPS] = {
	"mmap", "munmap", "mprotect", "madvise", "write", "read", "pagemap", "fork",
	"child-exit", "uffd-register", "uffd-unregister", "uffd-protect", "process_vm_readv",
	"process_madvise", "retouch", "clear-refs", "thp", "collapse", "mlock", "mremap",
};

struct op ops[MAX_OPS];
u64 cur_seed;
bool keep[MAX_OPS];

/* interplay.mix=thp: the huge-page kinds (a touched THP region cut at
 * 4 KiB, MADV_COLLAPSE) four times as often as their weight says. */
static int weight(int k)
{
	return op_weight[k] * (prm.thp_mix && (k == OP_THP || k == OP_COLLAPSE) ? 4 : 1);
}

void gen_ops(u64 seed, int n)
{
	int total = 0;
	for (int k = 0; k < NR_OPS; k++)
		total += weight(k);
	rng_state = mix(seed) | 1;
	for (int i = 0; i < n; i++) {
		int x = (int)(rnd() % (u64)total), k = 0;
		while (x >= weight(k))
			x -= weight(k++);
		ops[i].kind = (u8)k;
		for (int j = 0; j < 4; j++)
			ops[i].r[j] = (u32)(rnd() >> 16);
	}
}

/* A run of pages of slot s in view v that are all mapped (and pass ok, if
 * given), starting at or after the page r picks, at most maxn long. */
static bool pick_run(const struct view *v, int s, u32 r, int maxn, int *a, int *n,
		     bool (*ok)(const struct page_state *))
{
	int start = (int)(r % MAX_PAGES);
	for (int k = 0; k < MAX_PAGES; k++) {
		int p = (start + k) % MAX_PAGES;
		const struct page_state *ps = &v->pg[s][p];
		if (!ps->mapped || (ok && !ok(ps)))
			continue;
		int len = 1 + (int)((r >> 10) % (u32)maxn);
		int m = 1;
		while (m < len && p + m < MAX_PAGES && v->pg[s][p + m].mapped &&
		       (!ok || ok(&v->pg[s][p + m])))
			m++;
		*a = p;
		*n = m;
		return true;
	}
	return false;
}

/* Registered for WP, with either file (UREG_WP: uffd; UREG_MISSING_WP: mfd). */
static bool is_registered(const struct page_state *ps)
{
	return (ps->uffd == UREG_WP || ps->uffd == UREG_MISSING_WP) && !ps->shared;
}
static bool is_readable(const struct page_state *ps) { return ps->prot & PROT_READ; }

/* Run lengths: mostly a few pages, sometimes hundreds (inside or across a
 * huge page). */
static int pick_len(u32 r)
{
	return (r & 3) == 0 ? 512 : (r & 3) == 1 ? 64 : 8;
}

const char *errstr(long r)
{
	return r ? errno_name((int)-r) : "0";
}

/* A call's result against the model's; in fault-injection mode ENOMEM is
 * always a possible answer, and then the pages are what is unknown. */
bool expect_ret(long got, long want, const char *what, int s, int a, int n)
{
	if (got == want)
		return true;
	if (prm.faultinject && got == -ENOMEM) {
		for (int p = a; p < a + n; p++) {
			struct page_state *ps = &parent_view.pg[s][p];
			ps->unknown = 1;
			ps->present = ps->wp = ps->sd = ps->anon = ps->wpte = MAYBE;
			ps->mapped = is_mapped(page_addr(s, p));
			ps->prot = 0;	/* unknown: neither read nor write it */
		}
		return false;
	}
	fail("%s slot %d pages %d..%d -> %s, expected %s", what, s, a, a + n - 1,
	     errstr(got), errstr(want));
	return false;
}


void fresh_pages(struct view *v, int s, int a, int n, bool shared, bool thp)
{
	int obj = -1;
	if (shared && nobj < MAX_OBJ && obj_used + (u32)n <= OBJ_POOL) {
		obj = nobj++;
		objects[obj].base = obj_used;
		objects[obj].npages = (u32)n;
		memset(&obj_gen[obj_used], 0, sizeof(u32) * (size_t)n);
		obj_used += (u32)n;
	}
	for (int p = a; p < a + n; p++) {
		struct page_state *ps = &v->pg[s][p];
		*ps = (struct page_state){ .mapped = 1, .prot = PROT_READ | PROT_WRITE,
					   .thp = thp, .ever_thp = thp || (prm.thp_always && !shared),
					   .wpte = NO };
		ps->present = after_zap(ps);
		if (obj >= 0) {
			ps->shared = 1;
			ps->obj = (u16)obj;
			ps->opage = (u32)(p - a);
		}
	}
	new_vma(v, s, a, n);
}

static void prepare_writes(struct view *v, int s, int a, int n, bool in_child, bool huge_only,
			   struct job *jp, long *must_faultp);

/* interplay.threaded: while the runner changes the VMAs of [a, a + n) in
 * slot s (mmap over it, munmap, mprotect, advice that splits or merges), a
 * thread on another CPU writes other pages of the same slot, often of the
 * same VMA: faults racing the split, merge or replacement of the VMA they
 * fault in (per-VMA locks, docs/vma-locks.md). The pages are disjoint from
 * the change, so the model's answer does not depend on the timing. */
static struct {
	bool on;
	int count;		/* this seed's, for its summary line */
	int cpu;
	long must_fault, faults;
	struct job j;
} beside;

/* A run of writable pages of slot s outside [a, a + n), starting near it. */
static bool pick_beside(int s, int a, int n, u32 r, int *b, int *m)
{
	int len = 1 + (int)((r >> 8) % 32);
	for (int k = 0; k < MAX_PAGES; k++) {
		int p = (a + n + (int)(r % 32) + k) % MAX_PAGES;
		const struct page_state *ps = &parent_view.pg[s][p];
		if (p >= a && p < a + n)
			continue;
		if (!ps->mapped || (ps->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
			continue;
		int q = p;
		while (q - p < len && q < MAX_PAGES && !(q >= a && q < a + n) &&
		       parent_view.pg[s][q].mapped &&
		       (parent_view.pg[s][q].prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE))
			q++;
		*b = p;
		*m = q - p;
		return true;
	}
	return false;
}

static void beside_start(const struct op *o, int s, int a, int n)
{
	int b, m;
	beside.on = false;
	if (!prm.threaded || ncpus < 2 || !pick_beside(s, a, n, o->r[3] ^ o->r[1], &b, &m))
		return;
	prepare_writes(&parent_view, s, b, m, false, false, &beside.j, &beside.must_fault);
	if (!beside.j.n)
		return;
	beside.cpu = 1 + (int)((o->r[2] >> 4) % (u32)(ncpus - 1));
	logop("beside it: write slot %d pages %d..%d (%d written) on cpu %d", s, b, b + m - 1,
	      beside.j.n, beside.cpu);
	beside.faults = READ_ONCE(handler_faults);
	job_start(beside.cpu, &beside.j);
	beside.on = true;
	beside.count++;
}

static void beside_finish(void)
{
	if (!beside.on)
		return;
	beside.on = false;
	job_wait(beside.cpu, &beside.j);
	if (READ_ONCE(handler_faults) - beside.faults < beside.must_fault)
		fail("beside: %ld write faults reached the handler, expected at least %ld",
		     READ_ONCE(handler_faults) - beside.faults, beside.must_fault);
}

static void op_mmap(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT);
	bool shared = o->r[1] & 1, thp = o->r[1] & (2 | 16), fixed = o->r[1] & 4;
	bool any = false;
	for (int p = 0; p < MAX_PAGES; p++)
		any |= parent_view.pg[s][p].mapped;
	int a = 0, n = (o->r[1] & 8) ? MAX_PAGES : MAX_PAGES / 2;
	if (any) {
		/* Replace part of what is there: MAP_FIXED. */
		a = (int)(o->r[2] % MAX_PAGES);
		n = 1 + (int)(o->r[3] % (u32)pick_len(o->r[3] >> 8));
		if (a + n > MAX_PAGES)
			n = MAX_PAGES - a;
		fixed = true;
	}
	if (shared && !(nobj < MAX_OBJ && obj_used + (u32)n <= OBJ_POOL))
		shared = false;
	u64 addr = page_addr(s, a);
	logop("mmap slot %d pages %d..%d %s%s%s", s, a, a + n - 1, shared ? "shared" : "private",
	      thp ? " thp" : "", fixed ? " fixed" : " hint");
	if (fixed)
		beside_start(o, s, a, n);
	void *m = mmap((void *)addr, (size_t)n * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | (fixed ? MAP_FIXED : 0),
		       -1, 0);
	int saved = errno;
	beside_finish();
	errno = saved;
	if (m == MAP_FAILED) {
		expect_ret(-errno, 0, "mmap", s, a, n);
		return;
	}
	if ((u64)m != addr) {
		fail("mmap with hint 0x%lx returned 0x%lx", (unsigned long)addr, (unsigned long)m);
		munmap(m, (size_t)n * PAGE_SIZE);
		return;
	}
	if (fixed)
		expect_unmap_event(s, a, n, "mmap(MAP_FIXED)");
	fresh_pages(&parent_view, s, a, n, shared, thp);
	if (thp) {
		long r = madvise(m, (size_t)n * PAGE_SIZE, MADV_HUGEPAGE) ? -errno : 0;
		expect_ret(r, 0, "madvise(HUGEPAGE)", s, a, n);
	}
}

void unmap_pages(struct view *v, int s, int a, int n)
{
	for (int p = a; p < a + n; p++)
		v->pg[s][p] = (struct page_state){ 0 };
}

static void op_munmap(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a = 0, n = MAX_PAGES;
	if (o->r[1] & 3) {
		a = (int)(o->r[2] % MAX_PAGES);
		n = 1 + (int)(o->r[3] % (u32)pick_len(o->r[3] >> 8));
		if (a + n > MAX_PAGES)
			n = MAX_PAGES - a;
	}
	logop("munmap slot %d pages %d..%d", s, a, a + n - 1);
	beside_start(o, s, a, n);
	long r = munmap((void *)page_addr(s, a), (size_t)n * PAGE_SIZE) ? -errno : 0;
	beside_finish();
	if (expect_ret(r, 0, "munmap", s, a, n)) {
		expect_unmap_event(s, a, n, "munmap");
		unmap_pages(&parent_view, s, a, n);
	}
	maybe_retouch(o);
}

static void op_mprotect(const struct op *o)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE,
				     PROT_READ | PROT_WRITE };
	int s = (int)(o->r[0] % NSLOT), a, n;
	int prot = prots[o->r[2] % 4];
	if (!pick_run(&parent_view, s, o->r[1], pick_len(o->r[3]), &a, &n, NULL))
		return;
	logop("mprotect slot %d pages %d..%d %s", s, a, a + n - 1,
	      prot == PROT_NONE ? "none" : prot == PROT_READ ? "r" : "rw");
	beside_start(o, s, a, n);
	long r = mprotect((void *)page_addr(s, a), (size_t)n * PAGE_SIZE, prot) ? -errno : 0;
	beside_finish();
	if (!r)
		mlock_after_mprotect(&parent_view, s, a, n, prot);
	if (expect_ret(r, 0, "mprotect", s, a, n))
		for (int p = a; p < a + n; p++) {
			parent_view.pg[s][p].prot = (u8)prot;
			/* Read-only now, or (rw) writable again only where the
			 * kernel chooses to (Linux: an exclusive dirty page). */
			parent_view.pg[s][p].wpte = prot == (PROT_READ | PROT_WRITE) ? MAYBE : NO;
		}
	split_vmas(&parent_view, s, a, n);
	maybe_retouch(o);
}

/* Punch object pages out (MADV_REMOVE): zeros for everyone who maps them,
 * and the mappings of every process gone. */
static void punch(const struct page_state *at)
{
	*obj_slot(at) = 0;
	struct view *views[2] = { &parent_view, &child_view };
	for (int v = 0; v < (child_alive ? 2 : 1); v++)
		for (int s = 0; s < NSLOT; s++)
			for (int p = 0; p < MAX_PAGES; p++) {
				struct page_state *ps = &views[v]->pg[s][p];
				if (!ps->mapped || !ps->shared || ps->obj != at->obj)
					continue;
				/* A punch inside a huge page of the object
				 * (MADV_COLLAPSE made one on Linux) splits it,
				 * and the split unmaps all of it everywhere. */
				if (ps->opage == at->opage ||
				    (ps->ever_thp && ps->opage / 512 == at->opage / 512)) {
					ps->present = ps->opage == at->opage ? after_zap(ps) : MAYBE;
					sd_dropped(ps);
				}
			}
}

/* What madvise(advice) does to pages a..a+n-1 of view v: applied page by
 * page in address order until the first VMA that refuses the advice, whose
 * error is returned (Linux advises VMA by VMA and stops at an error). */
long model_madvise(struct view *v, int s, int a, int n, int advice)
{
	if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
		return model_populate(v, s, a, n, advice == MADV_POPULATE_WRITE);
	for (int p = a; p < a + n; p++) {
		struct page_state *ps = &v->pg[s][p];
		/* Locked memory keeps its pages (mlock.c). */
		if (ps->locked && (advice == MADV_DONTNEED || advice == MADV_FREE ||
				   advice == MADV_REMOVE))
			return -EINVAL;
		switch (advice) {
		case MADV_DONTNEED:
			if (!ps->shared) {
				ps->gen = 0;
				ps->maybe_zero = 0;
				ps->unknown = 0;
			}
			ps->present = after_zap(ps);
			ps->wp = NO;
			ps->wpte = ps->ever_thp ? MAYBE : NO;
			sd_dropped(ps);
			missing_may_fill(ps, s, p);
			break;
		case MADV_FREE:
			if (ps->shared)
				return -EINVAL;
			ps->maybe_zero = ps->gen != 0;
			ps->present = ps->wp = ps->wpte = MAYBE;
			sd_dropped(ps);	/* Linux keeps the page, Pagoda drops it */
			missing_may_fill(ps, s, p);
			break;
		case MADV_REMOVE:
			/* Linux 6.1 asks for a shared mapping that may be
			 * written (VM_MAYWRITE), not one writable now: ours all
			 * are, whatever mprotect did since. */
			if (!ps->shared)
				return -EINVAL;
			punch(ps);
			break;
		case MADV_HUGEPAGE:
			ps->thp = ps->ever_thp = 1;
			ps->nohuge = 0;
			break;
		case MADV_NOHUGEPAGE:
			ps->thp = 0;
			ps->nohuge = 1;
			break;
		case MADV_DONTFORK:
		case MADV_DOFORK:
			ps->dontfork = advice == MADV_DONTFORK;
			break;
		case MADV_WIPEONFORK:
			if (ps->shared)
				return -EINVAL;
			ps->wipeonfork = 1;
			break;
		case MADV_KEEPONFORK:
			ps->wipeonfork = 0;
			break;
		}
	}
	return 0;
}

static const char *advice_name(int advice)
{
	switch (advice) {
	case MADV_DONTNEED: return "DONTNEED";
	case MADV_FREE: return "FREE";
	case MADV_REMOVE: return "REMOVE";
	case MADV_HUGEPAGE: return "HUGEPAGE";
	case MADV_NOHUGEPAGE: return "NOHUGEPAGE";
	case MADV_DONTFORK: return "DONTFORK";
	case MADV_DOFORK: return "DOFORK";
	case MADV_WIPEONFORK: return "WIPEONFORK";
	case MADV_KEEPONFORK: return "KEEPONFORK";
	case MADV_COLD: return "COLD";
	case MADV_POPULATE_READ: return "POPULATE_READ";
	case MADV_POPULATE_WRITE: return "POPULATE_WRITE";
	}
	return "?";
}

/* The fork child was killed (fault injection) in the middle of a write or
 * a madvise of [a, a + n) in slot s: where that range is shared memory the
 * parent maps too, the child may have changed some pages and not others. */
void child_lost_range(int s, int a, int n)
{
	for (int p = a; p < a + n; p++) {
		struct page_state *ps = &parent_view.pg[s][p];
		if (!ps->mapped || !ps->shared)
			continue;
		ps->unknown = 1;
		ps->present = ps->sd = MAYBE;
	}
}

/* The first page of [a, a + n) whose VMA refuses the zap advice (locked;
 * FREE of shared memory), a + n if none: the REMOVE events stop there. */
static int zap_refused_at(int s, int a, int n, int advice)
{
	for (int p = a; p < a + n; p++) {
		const struct page_state *ps = &parent_view.pg[s][p];
		if (ps->locked || (advice == MADV_FREE && ps->shared))
			return p;
	}
	return a + n;
}

static void op_madvise(const struct op *o)
{
	static const int advices[] = {
		MADV_DONTNEED, MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_REMOVE,
		MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTFORK, MADV_DOFORK,
		MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
	};
	int s = (int)(o->r[0] % NSLOT), a, n;
	int advice = advices[o->r[2] % ARRAY_SIZE(advices)];
	if (left_out(advice_name(advice)))
		return;
	/* The punching and zapping kinds also from the child, when there is one. */
	bool in_child = child_alive && (o->r[2] >> 8) % 3 == 0 &&
			(advice == MADV_DONTNEED || advice == MADV_REMOVE);
	struct view *v = in_child ? &child_view : &parent_view;
	if (!pick_run(v, s, o->r[1], pick_len(o->r[3]), &a, &n, NULL))
		return;
	bool populate = advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE;
	for (int p = a; populate && p < a + n; p++)
		if (v->pg[s][p].unknown)
			return;         /* what it may fault in is not known */
	if (advice == MADV_REMOVE && left_out("REMOVE-ro"))
		for (int p = a; p < a + n; p++)
			if (v->pg[s][p].shared && !(v->pg[s][p].prot & PROT_WRITE))
				return;
	logop("%smadvise slot %d pages %d..%d %s", in_child ? "child: " : "", s, a, a + n - 1,
	      advice_name(advice));
	/* A punch must reach the other process too: it reads the range before
	 * (so that it maps those pages) and after. */
	bool cross = child_alive && advice == MADV_REMOVE;
	struct view *other = in_child ? &parent_view : &child_view;
	if (cross)
		read_range(other, s, a, n > MAX_RW ? MAX_RW : n, 0, !in_child);
	if (failed)
		return;
	long r;
	if (in_child) {
		ctl->addr = page_addr(s, a);
		ctl->len = (u64)n * PAGE_SIZE;
		ctl->advice = advice;
		if (!child_call(CMD_MADVISE)) {
			if (!failed)
				child_lost_range(s, a, n);
			return;
		}
		r = ctl->result;
	} else {
		/* Advice that splits or merges VMAs: with faults beside it. */
		bool vma_advice = advice != MADV_DONTNEED && advice != MADV_FREE &&
				  advice != MADV_REMOVE && !populate;
		if (vma_advice)
			beside_start(o, s, a, n);
		r = madvise((void *)page_addr(s, a), (size_t)n * PAGE_SIZE, advice) ? -errno : 0;
		int saved = errno;
		beside_finish();
		errno = saved;
	}
	long want = model_madvise(v, s, a, n, advice);
	expect_ret(r, want, advice_name(advice), s, a, n);
	if (!in_child && (advice == MADV_DONTNEED || advice == MADV_FREE) && !failed)
		expect_remove_events(s, a, n, zap_refused_at(s, a, n, advice), advice_name(advice));
	/* The child may have been killed (fault injection) by the read before:
	 * then there is nobody left to read in. */
	if (cross && !failed && (in_child || child_alive))
		read_range(other, s, a, n > MAX_RW ? MAX_RW : n, 0, !in_child);
	if (advice != MADV_DONTNEED && advice != MADV_FREE && advice != MADV_REMOVE && !populate)
		split_vmas(v, s, a, n);
	maybe_retouch(o);
}

u32 next_gen;

/* Writes: from the parent (a thread on the chosen CPU) or the child, to
 * every writable page of a run; a protected page's write waits for the
 * handler (sync) or is resolved by the kernel (async). */
/* The last run of pages a parent thread touched, and on which CPU: its TLB
 * may still hold their translations (the thread spins a while after each
 * job rather than sleep, which would switch its CPU away). */
static struct { bool valid; int s, a, n, cpu; } last_touch;

/* The writes to the writable pages of a run (the model updated as if they
 * were done): the job, and how many must reach the userfaultfd handler. */
static void prepare_writes(struct view *v, int s, int a, int n, bool in_child, bool huge_only,
			   struct job *jp, long *must_faultp)
{
	struct job j = { .kind = JOB_WRITE };
	long must_fault = 0;
	for (int p = a; p < a + n && j.n < MAX_RW; p++) {
		struct page_state *ps = &v->pg[s][p];
		if (!ps->mapped || (ps->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
			continue;
		if (huge_only && p % 512)
			continue;
		u32 gen = ++next_gen;
		if (ps->shared)
			*obj_slot(ps) = gen;
		else
			ps->gen = gen;
		/* The MISSING file's handler is always there (sync). */
		must_fault += !in_child && ps->wp == YES &&
			      (ps->uffd == UREG_MISSING_WP || (ps->uffd == UREG_WP && !uffd_async));
		ps->maybe_zero = ps->unknown = 0;
		ps->present = YES;
		ps->wp = NO;
		ps->wpte = YES;
		anon_faulted(v, s, p);
		if (!in_child)
			sd_written(v, s, p);	/* the child's write dirties its own entry */
		j.e[j.n++] = (struct expect){ .addr = page_addr(s, p), .key = page_key(s, p, ps),
					      .gen = gen };
	}
	*jp = j;
	*must_faultp = must_fault;
}

void write_range(struct view *v, int s, int a, int n, int cpu, bool in_child,
		 bool huge_only)
{
	struct job j;
	long must_fault;
	prepare_writes(v, s, a, n, in_child, huge_only, &j, &must_fault);
	if (!j.n)
		return;
	logop("%swrite slot %d pages %d..%d (%d written) on cpu %d", in_child ? "child: " : "",
	      s, a, a + n - 1, j.n, in_child ? 0 : cpu);
	long faults = READ_ONCE(handler_faults);
	if (in_child) {
		ctl->n = j.n;
		memcpy(ctl->e, j.e, sizeof(j.e[0]) * (size_t)j.n);
		if (!child_call(CMD_WRITE) && !failed)
			child_lost_range(s, a, n);
		return;
	}
	run_job_on(cpu, &j);
	if (READ_ONCE(handler_faults) - faults < must_fault)
		fail("%ld write faults reached the handler, expected at least %ld",
		     READ_ONCE(handler_faults) - faults, must_fault);
}

void read_range(struct view *v, int s, int a, int n, int cpu, bool in_child)
{
	struct job j = { .kind = JOB_READ, .n = n };
	for (int p = a; p < a + n; p++) {
		j.e[p - a] = expect_of(v, s, p);
		if (j.e[p - a].kind == EXP_CONTENT) {
			fault_around(v, s, p);
			v->pg[s][p].present = YES;
			anon_read(v, s, p);
		}
	}
	logop("%sread slot %d pages %d..%d on cpu %d", in_child ? "child: " : "", s, a,
	      a + n - 1, in_child ? 0 : cpu);
	if (in_child) {
		ctl->n = j.n;
		memcpy(ctl->e, j.e, sizeof(j.e[0]) * (size_t)j.n);
		child_call(CMD_CHECK);
		return;
	}
	run_job_on(cpu, &j);
	if (!j.ok)
		fail("read on cpu %d: %s", cpu, j.msg);
}

static void touched(int s, int a, int n, int cpu)
{
	last_touch.valid = true;
	last_touch.s = s;
	last_touch.a = a;
	last_touch.n = n;
	last_touch.cpu = cpu;
}

static void op_write(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a, n;
	int cpu = (int)(o->r[2] % (u32)ncpus);
	bool in_child = child_alive && (o->r[2] >> 8) % 4 == 0;
	struct view *v = in_child ? &child_view : &parent_view;
	bool huge_only = (o->r[3] & 3) == 0;
	if (huge_only) {
		/* The first page of each 2 MiB unit: where the region allows it,
		 * the write fault maps a whole huge page. */
		a = 0;
		n = MAX_PAGES;
	} else if (!pick_run(v, s, o->r[1], MAX_RW, &a, &n, NULL)) {
		return;
	}
	write_range(v, s, a, n, cpu, in_child, huge_only);
	if (!in_child && !huge_only)
		touched(s, a, n, cpu);
}

/* After an operation that takes rights away (fork, zap, protect), every
 * other time: the last touched pages again, from the CPU that touched them. */
void maybe_retouch(const struct op *o)
{
	if (!failed && (o->r[3] >> 28) & 1)
		op_retouch(o);
}

/* The last touched run again, on the same CPU: read (checked) and written.
 * After a zap, a fork or a protection in between, a CPU whose TLB kept the
 * old translation reads the old page or writes where it must not. */
void op_retouch(const struct op *o)
{
	(void)o;
	if (!last_touch.valid)
		return;
	read_range(&parent_view, last_touch.s, last_touch.a, last_touch.n, last_touch.cpu, false);
	if (!failed)
		write_range(&parent_view, last_touch.s, last_touch.a, last_touch.n, last_touch.cpu,
			    false, false);
}

/* Reads, checked against the model: from a thread on the chosen CPU, or in
 * the child; a page unmapped in the model must be unmapped. */
static void op_read(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT);
	int cpu = (int)(o->r[2] % (u32)ncpus);
	bool in_child = child_alive && (o->r[2] >> 8) % 3 == 0;
	struct view *v = in_child ? &child_view : &parent_view;
	int a = (int)(o->r[1] % MAX_PAGES), n = 1 + (int)(o->r[3] % MAX_RW);
	if (a + n > MAX_PAGES)
		n = MAX_PAGES - a;
	read_range(v, s, a, n, cpu, in_child);
	if (!in_child)
		touched(s, a, n, cpu);
}

/* /proc/self/pagemap of a run against the model: no entry where nothing is
 * mapped; present (bit 63), uffd-wp (bit 57) and soft-dirty (bit 55) where
 * the model knows. */
static void check_pagemap(int s, int a, int n)
{
	static u64 pm[MAX_PAGES];
	int fd = open("/proc/self/pagemap", O_RDONLY, 0);
	if (fd < 0 || pread(fd, pm, (size_t)n * 8, (off_t)(page_addr(s, a) / PAGE_SIZE * 8)) !=
	    (ssize_t)n * 8) {
		/* Opening the file or building its entries needs memory, and
		 * so may the copy out (EFAULT when the buffer's page cannot be
		 * had, as on Linux). */
		if (!(prm.faultinject && (errno == ENOMEM || errno == EFAULT)))
			fail("reading /proc/self/pagemap: %s", errno_name(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	for (int p = a; p < a + n && !failed; p++) {
		const struct page_state *ps = &parent_view.pg[s][p];
		u64 e = pm[p - a];
		bool present = e & PM_PRESENT, wp = e & PM_UFFD_WP, sd = e & PM_SOFT_DIRTY;
		if (!ps->mapped && e)
			fail("pagemap of unmapped page 0x%lx is 0x%lx", (unsigned long)page_addr(s, p),
			     (unsigned long)e);
		else if (ps->present != MAYBE && present != (ps->present == YES))
			fail("pagemap: page 0x%lx is %spresent, expected %spresent",
			     (unsigned long)page_addr(s, p), present ? "" : "not ",
			     ps->present == YES ? "" : "not ");
		else if (ps->mapped && ps->wp != MAYBE && wp != (ps->wp == YES))
			fail("pagemap: page 0x%lx uffd-wp is %d, expected %d",
			     (unsigned long)page_addr(s, p), wp, ps->wp == YES);
		else if (ps->mapped && ps->sd != MAYBE && sd != (ps->sd == YES))
			fail("pagemap: page 0x%lx soft-dirty is %d, expected %d%s",
			     (unsigned long)page_addr(s, p), sd, ps->sd == YES,
			     ps->sd == YES ? " (written since the last clear-refs)" : "");
	}
}

static void op_pagemap(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT);
	int a = (int)(o->r[1] % MAX_PAGES), n = 1 + (int)(o->r[3] % (u32)pick_len(o->r[2]));
	if (a + n > MAX_PAGES)
		n = MAX_PAGES - a;
	logop("pagemap slot %d pages %d..%d", s, a, a + n - 1);
	check_pagemap(s, a, n);
}

/* clear-refs: "4" to /proc/self/clear_refs, after which no page is
 * soft-dirty until written (docs/soft-dirty.md). The last touched run is
 * written just before, from its CPU, so that the CPU's TLB holds writable,
 * dirty entries for it; written again just after, and checked: a clear
 * that did not flush that CPU lets the second write through without a
 * fault and without setting D, and pagemap then says clean. */
static void op_clear_refs(const struct op *o)
{
	bool hot = last_touch.valid;
	if (hot)
		op_retouch(o);
	if (failed)
		return;
	logop("clear-refs");
	int fd = open("/proc/self/clear_refs", O_WRONLY, 0);
	long r = fd < 0 ? -errno : write(fd, "4", 1) == 1 ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	/* A clear that failed (fault injection) may have cleared some. */
	bool done = expect_ret(r, 0, "clear_refs", 0, 0, 0);
	for (int s = 0; s < NSLOT; s++)
		for (int p = 0; p < MAX_PAGES; p++) {
			struct page_state *ps = &parent_view.pg[s][p];
			if (ps->mapped)
				ps->sd = ps->ever_thp || ps->unknown || !done ||
					 (is_missing_reg(ps) && ps->present != YES) ? MAYBE : NO;
			/* Linux write-protects the entries it cleans. */
			ps->wpte = ps->wpte == YES ? MAYBE : ps->wpte;
		}
	if (!done)
		return;
	if (hot) {
		op_retouch(o);
		if (!failed)
			check_pagemap(last_touch.s, last_touch.a, last_touch.n);
	}
}

/* ------------------------------------------------------------------ */
/* fork and the child's end                                            */
/* ------------------------------------------------------------------ */

/* The child's model at fork: DONTFORK pages absent, WIPEONFORK pages zero,
 * nothing registered with userfaultfd (no UFFD_FEATURE_EVENT_FORK), shared
 * pages the same objects, private pages a copy. */
static void model_fork(void)
{
	/* Private entries become read-only in both (copy-on-write), except
	 * where the child gets no copy (DONTFORK, WIPEONFORK). */
	for (int s = 0; s < NSLOT; s++)
		for (int p = 0; p < MAX_PAGES; p++) {
			struct page_state *ps = &parent_view.pg[s][p];
			if (ps->wpte == YES && !ps->shared && !ps->dontfork && !ps->wipeonfork)
				ps->wpte = NO;
		}
	child_view = parent_view;
	for (int s = 0; s < NSLOT; s++)
		for (int p = 0; p < MAX_PAGES; p++) {
			struct page_state *ps = &child_view.pg[s][p];
			if (!ps->mapped)
				continue;
			if (ps->dontfork) {
				*ps = (struct page_state){ 0 };
				continue;
			}
			if (ps->wipeonfork) {
				ps->gen = 0;
				ps->maybe_zero = ps->unknown = 0;
			}
			if (is_missing_reg(ps))
				missing_forget(ps);	/* the child's empty entries read zeros */
			ps->uffd = 0;
			ps->wp = NO;
			ps->present = MAYBE;
			ps->locked = 0;         /* mlock is not inherited */
		}
}

/* Check every page of the child's view in the child, then let it exit. */
static void child_exit(void)
{
	for (int s = 0; s < NSLOT && !failed && child_alive; s++)
		for (int a = 0; a < MAX_PAGES && !failed && child_alive; a += MAX_RW) {
			ctl->n = MAX_RW;
			for (int i = 0; i < MAX_RW; i++)
				ctl->e[i] = expect_of(&child_view, s, a + i);
			child_call(CMD_CHECK);
		}
	if (!child_alive)
		return;		/* killed (fault injection) and reaped */
	if (!failed)
		child_call(CMD_EXIT);
	else
		kill(child_pid, SIGKILL);
	int status = 0;
	if (!child_alive)
		return;
	if (wait4(child_pid, &status, 0, NULL) != child_pid)
		fail("wait4(child): %s", errno_name(errno));
	else if (status && !(child_kill_allowed() && WIFSIGNALED(status)))
		fail("the fork child ended with status 0x%x", status);
	child_alive = false;
}

static void op_child_exit(const struct op *o)
{
	(void)o;
	if (!child_alive)
		return;
	logop("child: check every page and exit");
	child_exit();
}

void op_fork(const struct op *o)
{
	(void)o;
	if (child_alive) {
		logop("child: check every page and exit (before the next fork)");
		child_exit();
		if (failed)
			return;
	}
	/* The last touched run written just before, from its CPU, so that CPU's
	 * TLB holds writable entries for it when fork write-protects them (as
	 * op_clear_refs does): a fork that did not flush that CPU lets the write
	 * after it through to the page the child shares. */
	op_retouch(o);
	if (failed)
		return;
	logop("fork");
	ctl->seq = ctl->ack = 0;
	model_fork();
	child_pid = fork_call(child_main, (void *)(long)getpid(), child_stack, STACK_LEN);
	if (child_pid < 0) {
		if (!(prm.faultinject && errno == ENOMEM))
			fail("fork: %s", errno_name(errno));
		return;
	}
	child_alive = true;
	/* The parent writes on where it wrote before: the child must not see it. */
	op_retouch(o);
}

/* ------------------------------------------------------------------ */
/* userfaultfd operations (private memory: Linux 6.1 write-protects     */
/* shared memory only with a feature it does not have)                  */
/* ------------------------------------------------------------------ */

/* Most runs registered MISSING hold pages already; as a post-copy
 * migration would, three times in four the run is then emptied
 * (MADV_DONTNEED: REMOVE events) and, one time in two after that, touched
 * at once from a chosen CPU - reads or writes, which fault to the handler. */
static void missing_after_register(const struct op *o, int s, int a, int n)
{
	u32 how = (o->r[2] >> 8) % 4, cpu = (o->r[2] >> 12) % (u32)ncpus;
	if (how == 0 || left_out("DONTNEED"))
		return;
	logop("madvise slot %d pages %d..%d DONTNEED (after registering)", s, a, a + n - 1);
	long r = madvise((void *)page_addr(s, a), (size_t)n * PAGE_SIZE, MADV_DONTNEED) ? -errno : 0;
	long want = model_madvise(&parent_view, s, a, n, MADV_DONTNEED);
	expect_ret(r, want, "DONTNEED", s, a, n);
	if (!failed)
		expect_remove_events(s, a, n, zap_refused_at(s, a, n, MADV_DONTNEED), "DONTNEED");
	int m = n > MAX_RW ? MAX_RW : n;
	if (how == 2 && !failed)
		read_range(&parent_view, s, a, m, (int)cpu, false);
	else if (how == 3 && !failed)
		write_range(&parent_view, s, a, m, (int)cpu, false, false);
}

/* Registering: the WP file (uffd, markers, async for odd seeds) one time
 * in two, the MISSING file (mfd, missing.c) in MISSING or MISSING|WP mode
 * otherwise. A run is taken only where no page is registered with the
 * other file (EBUSY) or, for mfd, in the other mode (the entries' uffd-wp
 * bits in a VMA that drops WP are left out of the model). */
static int reg_kind;

static bool can_register(const struct page_state *ps)
{
	return !ps->shared && (ps->uffd == UREG_NONE || ps->uffd == reg_kind);
}

static void op_uffd_register(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a, n;
	static const int kinds[4] = { UREG_WP, UREG_WP, UREG_MISSING, UREG_MISSING_WP };
	reg_kind = kinds[(o->r[2] >> 4) % 4];
	if (left_out("uffd-missing") && reg_kind != UREG_WP)
		return;
	if (!pick_run(&parent_view, s, o->r[1], pick_len(o->r[3]), &a, &n, can_register))
		return;
	static const char *const mode_name[] = { "", "", " missing", " missing+wp" };
	logop("uffd register slot %d pages %d..%d%s", s, a, a + n - 1, mode_name[reg_kind]);
	u64 mode = reg_kind == UREG_WP ? UFFDIO_REGISTER_MODE_WP :
		   reg_kind == UREG_MISSING ? UFFDIO_REGISTER_MODE_MISSING :
		   UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
	struct uffdio_register r = { .range = { page_addr(s, a), (u64)n * PAGE_SIZE },
				     .mode = mode };
	int fd = reg_kind == UREG_WP ? uffd : mfd;
	if (expect_ret(ioctl(fd, UFFDIO_REGISTER, &r) < 0 ? -errno : 0, 0, "UFFDIO_REGISTER",
		       s, a, n))
		for (int p = a; p < a + n; p++) {
			parent_view.pg[s][p].uffd = (u8)reg_kind;
			missing_may_fill(&parent_view.pg[s][p], s, p);
		}
	split_vmas(&parent_view, s, a, n);
	if (reg_kind != UREG_WP && !failed)
		missing_after_register(o, s, a, n);
}

/* Unregistering with one file: a run with no page of the other's. */
static bool can_unregister(const struct page_state *ps)
{
	bool of_mfd = ps->uffd == UREG_MISSING || ps->uffd == UREG_MISSING_WP;
	return !ps->shared && (ps->uffd == UREG_NONE || of_mfd == (reg_kind != UREG_WP));
}

static void op_uffd_unregister(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a, n;
	reg_kind = (o->r[2] & 1) && !left_out("uffd-missing") ? UREG_MISSING : UREG_WP;
	if (!pick_run(&parent_view, s, o->r[1], pick_len(o->r[3]), &a, &n, can_unregister))
		return;
	logop("uffd unregister slot %d pages %d..%d%s", s, a, a + n - 1,
	      reg_kind == UREG_WP ? "" : " (missing file)");
	struct uffdio_range r = { page_addr(s, a), (u64)n * PAGE_SIZE };
	int fd = reg_kind == UREG_WP ? uffd : mfd;
	if (expect_ret(ioctl(fd, UFFDIO_UNREGISTER, &r) < 0 ? -errno : 0, 0, "UFFDIO_UNREGISTER",
		       s, a, n))
		for (int p = a; p < a + n; p++) {
			struct page_state *ps = &parent_view.pg[s][p];
			if (is_missing_reg(ps))
				missing_forget(ps);
			ps->uffd = 0;
			ps->wp = NO;
		}
	split_vmas(&parent_view, s, a, n);
}

/* Protect (markers on pages not present, where the kernel has them) or
 * unprotect a registered run. */
static void op_uffd_wp(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a, n;
	bool on = o->r[2] % 3 != 0;
	if (!pick_run(&parent_view, s, o->r[1], pick_len(o->r[3]), &a, &n, is_registered))
		return;
	/* Linux 6.1 write-protects within one VMA only (ENOENT otherwise;
	 * later kernels, and Pagoda, take several). */
	for (int p = a + 1; p < a + n; p++)
		if (parent_view.pg[s][p].vma != parent_view.pg[s][a].vma ||
		    parent_view.pg[s][p].uffd != parent_view.pg[s][a].uffd) {
			n = p - a;
			break;
		}
	logop("uffd %sprotect slot %d pages %d..%d", on ? "" : "un", s, a, a + n - 1);
	bool of_mfd = parent_view.pg[s][a].uffd == UREG_MISSING_WP;
	int r = wp_range(of_mfd ? mfd : uffd, page_addr(s, a), (u64)n * PAGE_SIZE,
			 on ? UFFDIO_WRITEPROTECT_MODE_WP : 0);
	if (!expect_ret(r, 0, "UFFDIO_WRITEPROTECT", s, a, n))
		return;
	for (int p = a; p < a + n; p++) {
		struct page_state *ps = &parent_view.pg[s][p];
		/* No markers with the MISSING file (WP_UNPOPULATED not asked). */
		ps->wp = !on ? NO : have_markers && !of_mfd ? YES : ps->present;
		ps->wpte = on ? NO : MAYBE;
	}
	maybe_retouch(o);
}

/* ------------------------------------------------------------------ */
/* process_vm_readv and process_madvise                                 */
/* ------------------------------------------------------------------ */

static u64 pvm_buf[PVM_PAGES][PAGE_SIZE / 8];

static void op_pvm(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a, n;
	bool of_child = child_alive && (o->r[2] & 1);
	struct view *v = of_child ? &child_view : &parent_view;
	if (!pick_run(v, s, o->r[1], PVM_PAGES, &a, &n, is_readable))
		return;
	for (int p = a; p < a + n; p++)
		if (v->pg[s][p].unknown || is_missing_reg(&v->pg[s][p]))
			return;		/* missing pages: not through another process's GUP */
	logop("process_vm_readv of %s slot %d pages %d..%d", of_child ? "the child" : "self",
	      s, a, a + n - 1);
	struct iovec local = { pvm_buf, (size_t)n * PAGE_SIZE };
	struct iovec remote = { (void *)page_addr(s, a), (size_t)n * PAGE_SIZE };
	ssize_t got = process_vm_readv(of_child ? child_pid : getpid(), &local, 1, &remote, 1, 0);
	if (got != (ssize_t)n * (ssize_t)PAGE_SIZE) {
		/* A page that cannot be pinned for want of memory ends the copy
		 * as on Linux: a short count, or EFAULT when nothing was copied
		 * (process_vm_rw_single_vec). The pages copied are checked. */
		bool enomem = got < 0 && (errno == ENOMEM || errno == EFAULT);
		if (got < 0 && errno == ESRCH && of_child && child_was_killed())
			return;
		if (!(prm.faultinject && (enomem || got >= 0))) {
			fail("process_vm_readv: %ld (%s), expected %ld", (long)got,
			     got < 0 ? errno_name(errno) : "short", (long)n * (long)PAGE_SIZE);
			return;
		}
		n = got > 0 ? (int)(got / (ssize_t)PAGE_SIZE) : 0;
	}
	for (int p = a; p < a + n; p++) {
		struct expect e = expect_of(v, s, p);
		char msg[200];
		fault_around(v, s, p);
		v->pg[s][p].present = YES;
		anon_read(v, s, p);
		if (!page_matches(pvm_buf[p - a], &e, msg, sizeof(msg))) {
			fail("process_vm_readv: %s", msg);
			return;
		}
	}
}

static void op_pmadv(const struct op *o)
{
	int s = (int)(o->r[0] % NSLOT), a, n;
	bool of_child = child_alive && (o->r[2] & 1);
	struct view *v = of_child ? &child_view : &parent_view;
	if (!pick_run(v, s, o->r[1], pick_len(o->r[3]), &a, &n, NULL))
		return;
	logop("process_madvise(COLD) of %s slot %d pages %d..%d", of_child ? "the child" : "self",
	      s, a, a + n - 1);
	int pidfd = pidfd_open(of_child ? child_pid : getpid(), 0);
	if (pidfd < 0) {
		fail("pidfd_open: %s", errno_name(errno));
		return;
	}
	struct iovec iov = { (void *)page_addr(s, a), (size_t)n * PAGE_SIZE };
	ssize_t got = process_madvise(pidfd, &iov, 1, MADV_COLD, 0);
	close(pidfd);
	bool locked = false;    /* COLD on locked memory: EINVAL (mlock.c) */
	for (int p = a; p < a + n; p++)
		locked |= v->pg[s][p].locked;
	if (locked) {
		if (!(got < 0 && (errno == EINVAL || (prm.faultinject && errno == ENOMEM))))
			fail("process_madvise(COLD) of locked memory: %ld (%s), expected EINVAL",
			     (long)got, got < 0 ? errno_name(errno) : "no error");
		return;
	}
	if (got < 0 && errno == ESRCH && of_child && child_was_killed())
		return;
	if (got != (ssize_t)iov.iov_len && !(prm.faultinject && got < 0 && errno == ENOMEM))
		fail("process_madvise(COLD): %ld (%s), expected %lu", (long)got,
		     got < 0 ? errno_name(errno) : "short", (unsigned long)iov.iov_len);
}

/* ------------------------------------------------------------------ */
/* one run: a seed's operations (or the kept ones) in a fresh process   */
/* ------------------------------------------------------------------ */

static void (*const op_fn[NR_OPS])(const struct op *) = {
	[OP_MMAP] = op_mmap, [OP_MUNMAP] = op_munmap, [OP_MPROTECT] = op_mprotect,
	[OP_MADVISE] = op_madvise, [OP_WRITE] = op_write, [OP_READ] = op_read,
	[OP_PAGEMAP] = op_pagemap, [OP_FORK] = op_fork, [OP_CHILD_EXIT] = op_child_exit,
	[OP_UREG] = op_uffd_register, [OP_UUNREG] = op_uffd_unregister,
	[OP_UWP] = op_uffd_wp, [OP_PVM] = op_pvm, [OP_PMADV] = op_pmadv,
	[OP_RETOUCH] = op_retouch, [OP_CLEAR_REFS] = op_clear_refs,
	[OP_THP] = op_thp, [OP_COLLAPSE] = op_collapse, [OP_MLOCK] = op_mlock, [OP_MREMAP] = op_mremap,
};

/* The whole parent view, page by page, on CPU 0; then pagemap. */
static void sweep_parent(void)
{
	for (int s = 0; s < NSLOT && !failed; s++) {
		for (int p = 0; p < MAX_PAGES && !failed; p++) {
			struct expect e = expect_of(&parent_view, s, p);
			char msg[200];
			if (!check_page(&e, msg, sizeof(msg)))
				fail("final sweep: %s", msg);
			else if (e.kind == EXP_CONTENT) {
				fault_around(&parent_view, s, p);
				parent_view.pg[s][p].present = YES;
				anon_read(&parent_view, s, p);
			}
		}
		if (!failed)
			check_pagemap(s, 0, MAX_PAGES);
	}
}

/* Pagoda's map and reference count checker on this address space; Linux
 * has no such file. */
static void check_mm(const char *when)
{
	char buf[256];
	if (!is_pagoda || failed)
		return;
	if (read_file("/proc/self/mm_check", buf, sizeof(buf)) < 0) {
		if (!(prm.faultinject && errno == ENOMEM))
			fail("reading /proc/self/mm_check: %s", errno_name(errno));
		return;
	}
	/* The checker's own allocation may fail under fault injection: it
	 * then reads as -ENOMEM, which says nothing about the mm. */
	if (prm.faultinject && !strncmp(buf, "-12", 3))
		return;
	if (strtoul(buf, NULL, 10) != 0) {
		char *nl = strchr(buf, '\n');
		if (nl)
			*nl = ' ';
		fail("mm_check %s: %s", when, buf);
	}
}

/* Runner: the whole life of one seed. Exit status 0 when the model held. */
long runner_main(void *arg)
{
	u64 seed = *(u64 *)arg;
	cur_seed = seed;
	child_deaths = 0;
	beside.count = 0;
	pin_to_cpu(0);
	memset(&parent_view, 0, sizeof(parent_view));
	nobj = 0;
	obj_used = 0;
	next_vma = 0;
	next_gen = 0;
	oplog_n = 0;
	child_alive = false;
	last_touch.valid = false;
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	child_stack = mmap(NULL, STACK_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED || child_stack == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	start_workers();
	uffd_setup(seed);
	missing_setup();
	thp_stats_begin();
	for (int i = 0; i < (int)prm.ops && !failed; i++) {
		if (!keep[i] || left_out(kind_name[ops[i].kind]))
			continue;
		cur_op = i;
		op_fn[ops[i].kind](&ops[i]);
		if (!failed && ops[i].kind == OP_FORK)
			check_mm("after fork");
	}
	cur_op = (int)prm.ops;
	if (child_alive && !failed) {
		logop("child: check every page and exit (end)");
		child_exit();
	} else if (child_alive) {
		kill(child_pid, SIGKILL);
		wait4(child_pid, NULL, 0, NULL);
	}
	if (!failed)
		sweep_parent();
	check_mm("at the end");
	missing_teardown();
	uffd_teardown();
	munmap((void *)WINDOW, NSLOT * SLOT_SPAN);
	check_mm("after munmap");
	stop_workers();
	if (failed && !quiet) {
		printf("# %s\n", fail_msg);
		print_oplog();
	}
	if (prm.threaded && !quiet)
		printf("# seed %lu: %d VMA changes with writes beside them (interplay.threaded)\n",
		       (unsigned long)seed, beside.count);
	if (prm.thpstat && !quiet)
		thp_stats_print(seed);
	if (prm.child_dies && !quiet)
		printf("# seed %lu: %d commands ended the fork child (interplay.child_dies)\n",
		       (unsigned long)seed, child_deaths);
	if (failed)
		strlcpy(shared_msg, fail_msg, 256);
	return failed ? 1 : 0;
}
