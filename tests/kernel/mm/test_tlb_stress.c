/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_tlb_stress.c - "test=tlb_stress": a worker on every CPU mixing
 * mmap, munmap, mprotect, MADV_DONTNEED and faults over one window of one
 * address space for a bounded number of iterations, checking what each CPU
 * reads back, the address space's bookkeeping (mm/mm_debug.h) at rendezvous
 * points and at the end, and that every page and page table comes back once
 * the address space is gone. A second case splits the CPUs between two
 * address spaces and checks that flush IPIs stay within each one's CPUs.
 * docs/testing-mm.md describes the invariants.
 *
 * What a worker may read back. Every page of the window has one 8-byte slot
 * per CPU; only CPU c writes slot c, and it writes a tag naming itself, the
 * page and the iteration. Any slot read from any page is therefore 0 or a
 * tag of that slot's CPU for that page: never the free-page poison, never
 * another CPU's tag, never a tag for another page. For its own slot a CPU
 * knows more, thanks to a shadow the operations keep:
 *   seq[p]        odd while an operation on page p is in progress (the
 *                 operations are serialised by op_lock, so per page a plain
 *                 counter works as a sequence lock);
 *   state[p]      what the VMAs said after the last operation (unmapped,
 *                 PROT_NONE, read-only, read-write; private or shared);
 *   destroyed[p]  the seq value after the last operation that threw p's
 *                 contents away (munmap, MAP_FIXED over it, MADV_DONTNEED
 *                 on private memory).
 * An access is "clean" when seq[p] was even and unchanged around it: no
 * operation overlapped it, so the state read is the truth and the access
 * must agree with it exactly: succeed where the VMA allows it, fail where it
 * does not (a success there is a stale TLB entry), and read back the CPU's
 * last value, or 0 if the contents were destroyed since. An access that
 * overlapped an operation may fail or see either side; only the general
 * rule applies to it.
 *
 * Command line: tlb_stress_iters=N (per CPU; by default 1200 shared out,
 * from 150 to 300 each), tlb_stress_seed=N.
 */
#include "kernel/ktest.h"
#include "tests/kernel/mm/test_user.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/rcu.h"
#include "kernel/rwsem.h"
#include "kernel/cmdline.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/tlbflush.h"
#include "mm/mm_debug.h"
#include "mm/shared_anon.h"
#include "arch/x86_64/smp.h"

#define WIN_BASE 0x0000200000000000UL   /* 32 TiB: far from the other tests */
#define WIN_MAX_PAGES 16384U            /* 64 MiB per address space */
#define CHUNK 512U                      /* pages one page table maps (2 MiB) */
#define MIN_CHUNKS 2U
/* Iterations per CPU: TOTAL_ITERS shared out, within [MIN_ITERS, MAX_ITERS].
 * Under emulation every CPU is a host thread, and a flush waits for all its
 * targets to be scheduled: on a small host the time grows with the number
 * of CPUs much faster than the work does. */
#define TOTAL_ITERS 1200U
#define MIN_ITERS 150U
#define MAX_ITERS 300U
#define CHECKPOINTS 3U                  /* rendezvous checks during the run */
#define OP_PERCENT 35U                  /* iterations that make an operation */
#define ACCESSES 6U                     /* accesses per iteration */
#define HOT_PAGES 64U                   /* where most of the action is */
#define SWEEPS 4U                       /* re-reads of the recent pages per iteration */
#define HAMMER 4096U                    /* at most, reads of a page an operation is on */
#define RECENT 16U                      /* pages a worker re-touches (its TLB) */
#define MAX_REPORTS 12U                 /* error lines printed per case */

#define TAG_MAGIC 0x5aUL
#define POISON64 (PAGE_POISON * 0x0101010101010101UL)
#define OWN_UNKNOWN 0xffffffffU

/* state[] values. */
#define ST_UNMAPPED 0
#define ST_NONE 1
#define ST_RO 2
#define ST_RW 3
#define ST_ACCESS 3                     /* mask of the above */
#define ST_SHARED 4

enum stress_err {
	E_POISON,       /* a slot read the free-page poison */
	E_FOREIGN,      /* a slot held something its owner never wrote there */
	E_LOST,         /* a clean read of a CPU's own slot gave a wrong value */
	E_STALE_READ,   /* a clean read succeeded where the VMA forbids it */
	E_STALE_WRITE,  /* a clean write succeeded where the VMA forbids it */
	E_FAULT,        /* a clean access failed where the VMA allows it */
	E_OP,           /* an operation returned what it should not */
	E_COUNTS,       /* mm_check_counts found problems */
	E_SNAPSHOT,     /* at a rendezvous, memory differs from what was written */
	NR_ERR
};

static const char *const err_names[NR_ERR] = {
	"poison read", "foreign value", "lost or stale value", "read through a stale entry",
	"write through a stale entry", "unexpected fault", "operation failed",
	"mm_check_counts problems", "rendezvous data mismatch",
};

enum stress_op { OP_MMAP_FIXED, OP_MMAP_HINT, OP_MUNMAP, OP_MUNMAP_VMA, OP_MPROTECT,
		 OP_DONTNEED, NR_OPS };

struct stress;

/* One address space and the CPUs working in it. */
struct group {
	struct stress *s;
	char name;                      /* 'A', 'B' in messages */
	struct mm_struct *mm;
	cpumask_t cpus;
	u32 ncpus, leader;
	struct rwsem op_lock;           /* serialises the operations (and their shadow) */
	u32 *seq, *destroyed;           /* per page, see the top of the file */
	u8 *state;
	u32 barrier;                    /* arrivals at rendezvous points */
	u64 nops[NR_OPS];
	u64 accesses, refused;          /* copies made; copies that failed (-EFAULT) */
	u64 rss_max;
	u64 tables_before;              /* pgtable_pages when the current operation began */
	u64 table_frees;                /* operations after which there were fewer tables */
};

/* What CPU c knows of its own slot in each page. */
struct own {
	u64 *val;                       /* last value written or read back */
	u32 *seq;                       /* seq[p] when val was known in memory, or OWN_UNKNOWN */
};

struct stress {
	struct ktest *t;
	u32 npages, iters;
	u64 seed;
	u32 row_slots;                  /* slots read per access: highest CPU id + 1 */
	struct group groups[2];
	u32 ngroups;
	struct group *group_of[MAX_CPUS];
	struct own own[MAX_CPUS];
	u64 nerr[NR_ERR];
	u32 reports;
};

struct worker {
	struct stress *s;
	struct group *g;
	struct own *own;
	u32 cpu, iter;
	u64 rng;
	u32 recent[RECENT];
	u32 nrecent;
	u64 nops[NR_OPS];               /* added to the group's at the end */
	u64 accesses, refused;
};

/* --- small helpers --- */

static u64 rnd(struct worker *w)
{
	/* xorshift64: plenty for choosing operations. */
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static u32 rnd_below(struct worker *w, u32 n)
{
	return (u32)(rnd(w) % n);
}

static u64 page_addr(u32 p)
{
	return WIN_BASE + (u64)p * PAGE_SIZE;
}

static u64 make_tag(u32 cpu, u32 page, u32 iter)
{
	return TAG_MAGIC << 56 | (u64)cpu << 48 | (u64)(page & 0xffff) << 32 | iter;
}

/* Could CPU cpu have left v in its slot of page p? Its tags, or a tag torn
 * by a copy that faulted half way (rep movsb stops between bytes): then each
 * of the upper four bytes is the tag's or zero. The poison never passes. */
static bool plausible(u64 v, u32 cpu, u32 p)
{
	u64 want = make_tag(cpu, p, 0);
	for (int b = 4; b < 8; b++) {
		u64 byte = (v >> (8 * b)) & 0xff;
		if (byte != 0 && byte != ((want >> (8 * b)) & 0xff))
			return false;
	}
	return true;
}

static u32 seq_read(const u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void report(struct stress *s, enum stress_err e, const char *fmt, ...) __printf(3, 4);
static void report(struct stress *s, enum stress_err e, const char *fmt, ...)
{
	__atomic_add_fetch(&s->nerr[e], 1, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&s->reports, 1, __ATOMIC_RELAXED) > MAX_REPORTS)
		return;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ktest_log(s->t, "%s: %s", err_names[e], msg);
}

/* The state a VMA gives its pages. */
static u8 vma_state(const struct vm_area *v)
{
	if (!v)
		return ST_UNMAPPED;
	u8 st = ST_NONE;
	if (v->flags & VM_WRITE)
		st = ST_RW;
	else if (v->flags & (VM_READ | VM_EXEC))
		st = ST_RO;
	return st | ((v->flags & VM_SHARED) ? ST_SHARED : 0);
}

/* The k-th meeting point of the group's workers (k = 1, 2, ...). */
static void group_barrier(struct group *g, u32 k)
{
	__atomic_add_fetch(&g->barrier, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&g->barrier, __ATOMIC_SEQ_CST) < k * g->ncpus)
		cpu_relax();
}

/* --- operations: each one under op_lock, bracketed by the shadow --- */

static void op_begin(struct group *g, u32 first, u32 n)
{
	down_write(&g->op_lock);
	for (u32 p = first; p < first + n; p++)
		__atomic_add_fetch(&g->seq[p], 1, __ATOMIC_SEQ_CST);       /* odd */
	g->tables_before = READ_ONCE(g->mm->pgtable_pages);
}

/* Which pages of the range lost their contents: none, all, or those that
 * were mapped private before the operation (MADV_DONTNEED). */
enum destroy { DESTROY_NONE, DESTROY_ALL, DESTROY_PRIVATE };

/* Record what the operation did: contents destroyed, the state the VMAs
 * now give each page; then let the readers trust the shadow again. */
static void op_end(struct group *g, u32 first, u32 n, enum destroy d)
{
	struct mm_struct *mm = g->mm;
	down_read(&mm->mmap_lock);
	for (u32 p = first; p < first + n; p++) {
		u8 old = g->state[p];   /* only op_end writes it, under op_lock */
		bool gone = d == DESTROY_ALL ||
			    (d == DESTROY_PRIVATE && (old & ST_ACCESS) != ST_UNMAPPED && !(old & ST_SHARED));
		if (gone)
			WRITE_ONCE(g->destroyed[p], g->seq[p] + 1);
		WRITE_ONCE(g->state[p], vma_state(vma_find(mm->vma_root, page_addr(p))));
		__atomic_add_fetch(&g->seq[p], 1, __ATOMIC_SEQ_CST);       /* even */
	}
	u64 rss = mm->rss_pages;
	if (rss > g->rss_max)
		g->rss_max = rss;
	/* A lower bound: faults may add tables meanwhile. */
	if (mm->pgtable_pages < g->tables_before)
		g->table_frees++;
	up_read(&mm->mmap_lock);
	up_write(&g->op_lock);
}

/* A range in pages. Mostly in a small hot zone that straddles a 2 MiB
 * boundary and moves every few dozen iterations: the CPUs then keep
 * unmapping and changing what the others have just touched (and still have
 * in their TLBs), and page tables on both sides of the boundary come and
 * go. Sometimes whole page tables, sometimes anywhere in the window. */
static void pick_range(struct worker *w, u32 *first, u32 *n)
{
	u32 npages = w->s->npages, nchunks = npages / CHUNK;
	u32 hot = ((w->iter / 32) * 5 + (u32)(w->g->name - 'A') * 3) % (nchunks - 1);
	u32 hot_first = (hot + 1) * CHUNK - HOT_PAGES / 2;
	u32 f, len, r = rnd_below(w, 100);
	if (r < 60) {
		f = hot_first + rnd_below(w, HOT_PAGES);
		len = 1 + rnd_below(w, HOT_PAGES / 2);
	} else if (r < 75) {
		f = hot_first - rnd_below(w, 4 * HOT_PAGES);
		len = 1 + rnd_below(w, 8 * HOT_PAGES);
	} else if (r < 85) {
		f = (hot + rnd_below(w, 2)) * CHUNK;
		len = CHUNK * (1 + rnd_below(w, 2));
	} else {
		f = rnd_below(w, npages);
		len = 1 + rnd_below(w, 4 * HOT_PAGES);
	}
	if (f >= npages)
		f = npages - 1;
	if (len > npages - f)
		len = npages - f;
	*first = f;
	*n = len;
}

/* Mostly read-write, so that most accesses reach memory. */
static u64 pick_prot(struct worker *w, u32 rw_percent, u32 ro_percent)
{
	u32 r = rnd_below(w, 100);
	return r < rw_percent ? PROT_READ | PROT_WRITE :
	       r < rw_percent + ro_percent ? PROT_READ : PROT_NONE;
}

static void op_mmap_fixed(struct worker *w, u32 first, u32 n)
{
	struct group *g = w->g;
	u64 flags = MAP_FIXED | MAP_ANONYMOUS | (rnd_below(w, 10) < 3 ? MAP_SHARED : MAP_PRIVATE);
	if (rnd_below(w, 4) == 0)
		flags |= MAP_POPULATE;
	u64 prot = pick_prot(w, 70, 20);
	op_begin(g, first, n);
	long r = do_mmap(g->mm, page_addr(first), (u64)n * PAGE_SIZE, prot, flags, -1, 0);
	if (r != (long)page_addr(first))
		report(w->s, E_OP, "CPU %u: mmap(%lx, %u pages, prot %lx, flags %lx) = %ld",
		       w->cpu, page_addr(first), n, prot, flags, r);
	op_end(g, first, n, DESTROY_ALL);
	w->nops[OP_MMAP_FIXED]++;
}

/* Without MAP_FIXED, with a hint: the kernel honours a free hint, else puts
 * the mapping below mmap_base, far above the window; there it is unmapped
 * again at once. */
static void op_mmap_hint(struct worker *w, u32 first, u32 n)
{
	struct group *g = w->g;
	u64 len = (u64)n * PAGE_SIZE;
	op_begin(g, first, n);
	long r = do_mmap(g->mm, page_addr(first), len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0) {
		report(w->s, E_OP, "CPU %u: mmap(hint %lx, %u pages) = %ld", w->cpu, page_addr(first), n, r);
	} else if ((u64)r != page_addr(first)) {
		u64 a = (u64)r;
		if (a < WIN_BASE + (u64)w->s->npages * PAGE_SIZE && a + len > WIN_BASE)
			report(w->s, E_OP, "CPU %u: mmap(hint %lx, %u pages) landed in the window at %lx",
			       w->cpu, page_addr(first), n, a);
		else if (do_munmap_range(g->mm, a, len) != 0)
			report(w->s, E_OP, "CPU %u: munmap of the mapping at %lx failed", w->cpu, a);
	}
	op_end(g, first, n, DESTROY_NONE);
	w->nops[OP_MMAP_HINT]++;
}

static void op_munmap(struct worker *w, u32 first, u32 n)
{
	struct group *g = w->g;
	op_begin(g, first, n);
	long r = do_munmap_range(g->mm, page_addr(first), (u64)n * PAGE_SIZE);
	if (r != 0)
		report(w->s, E_OP, "CPU %u: munmap(%lx, %u pages) = %ld", w->cpu, page_addr(first), n, r);
	op_end(g, first, n, DESTROY_ALL);
	w->nops[OP_MUNMAP]++;
}

/* munmap of exactly the VMA around a page (clipped to the window). */
static void op_munmap_vma(struct worker *w, u32 page)
{
	struct group *g = w->g;
	struct mm_struct *mm = g->mm;
	down_write(&g->op_lock);        /* the VMAs cannot change until op_begin */
	down_read(&mm->mmap_lock);
	struct vm_area *v = vma_find(mm->vma_root, page_addr(page));
	u64 start = v ? MAX(v->start, WIN_BASE) : 0;
	u64 end = v ? MIN(v->end, WIN_BASE + (u64)w->s->npages * PAGE_SIZE) : 0;
	up_read(&mm->mmap_lock);
	up_write(&g->op_lock);
	if (!v)
		return;
	/* Nobody else changes VMAs between the unlock and op_begin: only the
	 * worker holding op_lock does, and if one did meanwhile, this unmaps
	 * a range that is still valid to unmap. */
	op_munmap(w, (u32)((start - WIN_BASE) / PAGE_SIZE), (u32)((end - start) / PAGE_SIZE));
	w->nops[OP_MUNMAP]--;
	w->nops[OP_MUNMAP_VMA]++;
}

static void op_mprotect(struct worker *w, u32 first, u32 n)
{
	struct group *g = w->g;
	u64 prot = pick_prot(w, 55, 30);
	op_begin(g, first, n);
	long r = do_mprotect(g->mm, page_addr(first), (u64)n * PAGE_SIZE, prot);
	if (r != 0 && r != -ENOMEM)     /* -ENOMEM: a hole in the range */
		report(w->s, E_OP, "CPU %u: mprotect(%lx, %u pages, %lx) = %ld",
		       w->cpu, page_addr(first), n, prot, r);
	op_end(g, first, n, DESTROY_NONE);
	w->nops[OP_MPROTECT]++;
}

static void op_dontneed(struct worker *w, u32 first, u32 n)
{
	struct group *g = w->g;
	op_begin(g, first, n);
	long r = do_madvise(g->mm, page_addr(first), (u64)n * PAGE_SIZE, 4 /* MADV_DONTNEED */);
	if (r != 0 && r != -ENOMEM)
		report(w->s, E_OP, "CPU %u: madvise(%lx, %u pages, DONTNEED) = %ld",
		       w->cpu, page_addr(first), n, r);
	op_end(g, first, n, DESTROY_PRIVATE);
	w->nops[OP_DONTNEED]++;
}

static void do_operation(struct worker *w)
{
	u32 first, n;
	pick_range(w, &first, &n);
	u32 r = rnd_below(w, 100);
	if (r < 28)
		op_mmap_fixed(w, first, n);
	else if (r < 36)
		op_mmap_hint(w, first, n);
	else if (r < 52)
		op_munmap(w, first, n);
	else if (r < 56)
		op_munmap_vma(w, first);
	else if (r < 83)
		op_mprotect(w, first, n);
	else
		op_dontneed(w, first, n);
}

/* --- accesses --- */

/* Check a slot of another CPU (or of nobody) read from page p. */
static void check_other_slot(struct worker *w, u32 slot, u32 p, u64 v)
{
	struct stress *s = w->s;
	if (v == 0)
		return;
	if (v == POISON64)
		report(s, E_POISON, "CPU %u read the poison from CPU %u's slot of page %u (%lx)",
		       w->cpu, slot, p, page_addr(p));
	else if (!cpumask_test_cpu(slot, &w->g->cpus) || !plausible(v, slot, p))
		report(s, E_FOREIGN, "CPU %u read %lx from CPU %u's slot of page %u (%lx)",
		       w->cpu, v, slot, p, page_addr(p));
}

/* Write this CPU's tag into page p (if write) and read the page's slots
 * back; check what came back against the shadow. Returns whether the read
 * succeeded. */
static bool access_page(struct worker *w, u32 p, bool write)
{
	struct group *g = w->g;
	struct stress *s = w->s;
	struct own *own = w->own;
	u64 addr = page_addr(p);
	u64 row[MAX_CPUS];
	u64 tag = make_tag(w->cpu, p, w->iter);

	u32 s1 = seq_read(&g->seq[p]);
	u8 st = READ_ONCE(g->state[p]);
	u32 destroyed = READ_ONCE(g->destroyed[p]);
	int wr = write ? copy_to_user(addr + 8 * w->cpu, &tag, 8) : 0;
	int rd = copy_from_user(row, addr, 8 * s->row_slots);
	u32 s2 = seq_read(&g->seq[p]);
	bool clean = !(s1 & 1) && s1 == s2;
	u8 access = st & ST_ACCESS;
	w->accesses += 1 + write;
	w->refused += (wr != 0) + (rd != 0);

	if (write) {
		if (!clean) {
			own->seq[p] = OWN_UNKNOWN;      /* it may or may not have landed */
		} else if (access == ST_RW) {
			if (wr)
				report(s, E_FAULT, "CPU %u: write to page %u (%lx, read-write%s) failed",
				       w->cpu, p, addr, st & ST_SHARED ? ", shared" : "");
			else {
				own->val[p] = tag;
				own->seq[p] = s1;
			}
		} else if (!wr) {
			report(s, E_STALE_WRITE, "CPU %u: write to page %u (%lx) succeeded but it is %s",
			       w->cpu, p, addr, access == ST_RO ? "read-only" :
			       access == ST_NONE ? "PROT_NONE" : "unmapped");
			own->seq[p] = OWN_UNKNOWN;
		}
	}
	if (rd) {
		if (clean && (access == ST_RO || access == ST_RW))
			report(s, E_FAULT, "CPU %u: read of page %u (%lx, %s) failed", w->cpu, p, addr,
			       access == ST_RO ? "read-only" : "read-write");
		return false;
	}
	bool stale = clean && (access == ST_UNMAPPED || access == ST_NONE);
	if (stale)
		report(s, E_STALE_READ, "CPU %u: read of page %u (%lx) succeeded but it is %s",
		       w->cpu, p, addr, access == ST_NONE ? "PROT_NONE" : "unmapped");
	for (u32 slot = 0; slot < s->row_slots; slot++)
		if (slot != w->cpu)
			check_other_slot(w, slot, p, row[slot]);
	u64 v = row[w->cpu];
	if (stale) {
		own->seq[p] = OWN_UNKNOWN;
		clean = false;          /* the value came from a page we lost track of */
	}
	if (v == POISON64) {
		report(s, E_POISON, "CPU %u read the poison from its own slot of page %u (%lx)",
		       w->cpu, p, addr);
		own->seq[p] = OWN_UNKNOWN;
		return true;
	}
	if (!clean) {
		if (v && !plausible(v, w->cpu, p))
			report(s, E_FOREIGN, "CPU %u read %lx from its own slot of page %u (%lx)",
			       w->cpu, v, p, addr);
		return true;
	}
	/* Clean: the exact value. */
	if (own->seq[p] == OWN_UNKNOWN) {
		if (v && !plausible(v, w->cpu, p))
			report(s, E_FOREIGN, "CPU %u read %lx from its own slot of page %u (%lx)",
			       w->cpu, v, p, addr);
	} else {
		u64 want = destroyed > own->seq[p] ? 0 : own->val[p];
		if (v != want)
			report(s, E_LOST, "CPU %u: page %u (%lx, state %u) slot reads %lx, expected %lx",
			       w->cpu, p, addr, st, v, want);
	}
	own->val[p] = v;
	own->seq[p] = s1;
	return true;
}

/* Pages this CPU read successfully of late: its TLB probably still holds
 * their translations, the entries a missed or late flush would leave. */
static void remember(struct worker *w, u32 p)
{
	for (u32 i = 0; i < w->nrecent; i++)
		if (w->recent[i] == p)
			return;
	if (w->nrecent < RECENT)
		w->recent[w->nrecent++] = p;
	else
		w->recent[rnd_below(w, RECENT)] = p;
}

static void forget(struct worker *w, u32 i)
{
	w->recent[i] = w->recent[--w->nrecent];
}

static void access_burst(struct worker *w)
{
	u32 first, n;
	pick_range(w, &first, &n);
	for (u32 i = 0; i < ACCESSES; i++) {
		u32 p = first + rnd_below(w, n);
		if (access_page(w, p, rnd_below(w, 100) < 60))
			remember(w, p);
	}
	/* Then read the recent pages again, a few times over: TLB hits take
	 * no lock, so these reads can run while another CPU is in the middle
	 * of unmapping the pages - where a page freed before the flush would
	 * show its poison. (A read that faults waits for mmap_lock, that is
	 * for the end of the operation: such pages leave the list.) */
	for (u32 pass = 0; pass < SWEEPS; pass++)
		for (u32 i = 0; i < w->nrecent;) {
			u32 p = w->recent[i];
			bool ok = access_page(w, p, false);
			/* An operation on the page is under way right now: keep
			 * reading it while that lasts and the TLB still lets us. */
			for (u32 k = 0; ok && k < HAMMER && (seq_read(&w->g->seq[p]) & 1); k++)
				ok = access_page(w, p, false);
			if (ok)
				i++;
			else
				forget(w, i);
		}
}

/* --- checks with everybody stopped --- */

/* What the page tables hold in CPU cpu's slot of page p, compared with what
 * that CPU knows it left there. All workers are stopped. */
static void snapshot_check(struct group *g)
{
	struct stress *s = g->s;
	struct mm_struct *mm = g->mm;
	down_read(&mm->mmap_lock);
	for (u32 p = 0; p < s->npages; p++) {
		u8 st = g->state[p];
		struct vm_area *v = vma_find(mm->vma_root, page_addr(p));
		if (vma_state(v) != st)
			report(s, E_SNAPSHOT, "page %u: the shadow says state %u, the VMAs %u",
			       p, st, vma_state(v));
		u64 pte = pgtable_leaf(mm, page_addr(p));       /* huge PMDs too */
		const u64 *kva = NULL;
		if (pte_mapped(pte) && !pte_special(pte))
			kva = page_address(pte_page(pte));
		else if (!pte_mapped(pte) && (st & ST_SHARED))
			continue;       /* the contents are in the shared object */
		for (u32 cpu = 0; cpu < s->row_slots; cpu++) {
			u64 have = kva ? kva[cpu] : 0;
			if (!cpumask_test_cpu(cpu, &g->cpus)) {
				if (have)
					report(s, E_SNAPSHOT, "page %u: slot of CPU %u (not in group %c) holds %lx",
					       p, cpu, g->name, have);
				continue;
			}
			const struct own *o = &s->own[cpu];
			if (o->seq[p] == OWN_UNKNOWN) {
				if (have && !plausible(have, cpu, p))
					report(s, E_SNAPSHOT, "page %u: CPU %u's slot holds %lx", p, cpu, have);
				continue;
			}
			u64 want = g->destroyed[p] > o->seq[p] ? 0 : o->val[p];
			if (have != want)
				report(s, E_SNAPSHOT, "page %u (%lx, state %u, pte %lx): CPU %u's slot holds %lx, expected %lx",
				       p, page_addr(p), st, pte, cpu, have, want);
		}
	}
	up_read(&mm->mmap_lock);
}

static void counts_check(struct group *g, const char *when)
{
	char why[160];
	int r = mm_check_counts(g->mm, why, sizeof(why));
	if (r != 0)
		report(g->s, E_COUNTS, "%s (mm %c): %d problem(s), first: %s", when, g->name, r, why);
}

static void checkpoint(struct worker *w, u32 k)
{
	struct group *g = w->g;
	group_barrier(g, 2 * k - 1);
	if (w->cpu == g->leader) {
		counts_check(g, "rendezvous");
		snapshot_check(g);
		ktest_log(w->s->t, "checkpoint %u/%u (mm %c, iteration %u): rss %lu pages, %lu page tables, %u errors so far",
			  k, CHECKPOINTS, g->name, w->iter, g->mm->rss_pages, g->mm->pgtable_pages,
			  __atomic_load_n(&w->s->reports, __ATOMIC_RELAXED));
	}
	group_barrier(g, 2 * k);
}

static void stress_worker(void *arg)
{
	struct stress *s = arg;
	u32 cpu = smp_processor_id();
	struct worker w = { .s = s, .g = s->group_of[cpu], .own = &s->own[cpu], .cpu = cpu,
			    .rng = s->seed * 0x9e3779b97f4a7c15UL + cpu + 1 };
	struct group *g = w.g;
	u32 every = s->iters / (CHECKPOINTS + 1);
	kthread_use_mm(g->mm);
	for (w.iter = 1; w.iter <= s->iters; w.iter++) {
		if (every && w.iter % every == 0 && w.iter / every <= CHECKPOINTS)
			checkpoint(&w, w.iter / every);
		if (rnd_below(&w, 100) < OP_PERCENT)
			do_operation(&w);
		access_burst(&w);
		/* Let other threads (RCU's) run now and then: the CPU goes
		 * lazy under them and must catch up when it comes back. */
		if (w.iter % 16 == 0)
			cond_resched();
	}
	kthread_unuse_mm(g->mm);
	for (int i = 0; i < NR_OPS; i++)
		__atomic_add_fetch(&g->nops[i], w.nops[i], __ATOMIC_RELAXED);
	__atomic_add_fetch(&g->accesses, w.accesses, __ATOMIC_RELAXED);
	__atomic_add_fetch(&g->refused, w.refused, __ATOMIC_RELAXED);
}

/* --- setting up, running, and the leak check --- */

/* The window: 64 MiB, or an eighth of free memory split between the
 * address spaces, in whole page tables. */
static u32 window_pages(u32 nmms)
{
	u64 n = nr_free_pages() / 8 / nmms;
	n = MIN(n, (u64)WIN_MAX_PAGES);
	return (u32)(n / CHUNK * CHUNK);
}

static bool stress_alloc(struct stress *s)
{
	for (u32 i = 0; i < s->ngroups; i++) {
		struct group *g = &s->groups[i];
		g->seq = kzalloc(s->npages * sizeof(u32), GFP_KERNEL);
		g->destroyed = kzalloc(s->npages * sizeof(u32), GFP_KERNEL);
		g->state = kzalloc(s->npages, GFP_KERNEL);
		if (!g->seq || !g->destroyed || !g->state)
			return false;
	}
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (!s->group_of[cpu])
			continue;
		s->own[cpu].val = kzalloc(s->npages * sizeof(u64), GFP_KERNEL);
		s->own[cpu].seq = kzalloc(s->npages * sizeof(u32), GFP_KERNEL);
		if (!s->own[cpu].val || !s->own[cpu].seq)
			return false;
	}
	return true;
}

static void stress_free(struct stress *s)
{
	for (u32 i = 0; i < s->ngroups; i++) {
		kfree(s->groups[i].seq);
		kfree(s->groups[i].destroyed);
		kfree(s->groups[i].state);
	}
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		kfree(s->own[cpu].val);
		kfree(s->own[cpu].seq);
	}
}

/* Run the stress with the online CPUs split into ngroups address spaces
 * (masks[i]); everything checked at the end except the TLB-counter rules,
 * which the callers check from the per-mm counters left in before/after. */
struct tlb_counts {
	u64 mm_stat[2][NR_TLB_STAT_ITEMS];      /* per group's mm, at the end */
	u64 cpu_received[MAX_CPUS];             /* per CPU, during the run */
	u64 total_received, total_remote;       /* all CPUs, during the run */
};

static void run_stress(struct ktest *t, const cpumask_t *masks, u32 ngroups, struct tlb_counts *tc)
{
	static struct stress s;         /* too big for a 16 KiB stack */
	memset(&s, 0, sizeof(s));
	memset(tc, 0, sizeof(*tc));
	s.t = t;
	s.ngroups = ngroups;
	u32 share = TOTAL_ITERS / num_online_cpus();
	s.iters = (u32)cmdline_long("tlb_stress_iters", MIN(MAX(share, MIN_ITERS), MAX_ITERS));
	s.seed = (u64)cmdline_long("tlb_stress_seed", 1);
	s.npages = window_pages(ngroups);
	cpumask_t online;
	cpumask_copy(&online, &cpu_online_mask);
	u32 cpu;
	for_each_cpu(cpu, &online)
		s.row_slots = cpu + 1;  /* the highest online CPU, plus one */
	if (s.npages < MIN_CHUNKS * CHUNK) {
		ktest_skip(t, "not enough free memory for the window");
		return;
	}
	for (u32 i = 0; i < ngroups; i++) {
		struct group *g = &s.groups[i];
		g->s = &s;
		g->name = (char)('A' + i);
		g->cpus = masks[i];
		g->ncpus = cpumask_weight(&masks[i]);
		g->leader = cpumask_first(&masks[i]);
		rwsem_init(&g->op_lock, "tlb_stress op_lock");
		for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
			if (cpumask_test_cpu(cpu, &masks[i]))
				s.group_of[cpu] = g;
	}
	if (!stress_alloc(&s)) {
		stress_free(&s);
		ktest_fail(t, __FILE__, __LINE__, "no memory for the shadow arrays");
		return;
	}

	zero_page_init();
	u64 free_before = test_settled_free_pages();
	u64 objects_before = test_slab_objects();
	s64 tables_before = vm_stat[NR_PAGETABLE];
	s64 failed_allocs = vm_stat[NR_ALLOC_FAILED];

	bool ok = true;
	for (u32 i = 0; i < ngroups; i++) {
		struct group *g = &s.groups[i];
		g->mm = mm_create();
		if (!g->mm) {
			ok = false;
			break;
		}
		/* The whole window starts mapped read-write (nothing to flush:
		 * no CPU has the mm loaded yet). */
		long r = do_mmap(g->mm, WIN_BASE, (u64)s.npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (r != (long)WIN_BASE)
			ok = false;
		memset(g->state, ST_RW, s.npages);
	}
	if (!ok) {
		ktest_fail(t, __FILE__, __LINE__, "could not create and map the address spaces");
	} else {
		u64 rcv[MAX_CPUS];
		for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
			rcv[cpu] = tlb_stat_cpu(cpu, NR_TLB_REMOTE_FLUSH_RECEIVED);
		u64 remote = tlb_stat_read(NR_TLB_REMOTE_FLUSH);
		ktest_on_cpus(&online, stress_worker, &s);
		for (u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
			tc->cpu_received[cpu] = tlb_stat_cpu(cpu, NR_TLB_REMOTE_FLUSH_RECEIVED) - rcv[cpu];
			tc->total_received += tc->cpu_received[cpu];
		}
		tc->total_remote = tlb_stat_read(NR_TLB_REMOTE_FLUSH) - remote;
		for (u32 i = 0; i < ngroups; i++) {
			struct group *g = &s.groups[i];
			counts_check(g, "end");
			snapshot_check(g);
			KTEST_EXPECT_TRUE(t, cpumask_empty(&g->mm->cpumask));  /* every worker left it */
			for (int k = 0; k < NR_TLB_STAT_ITEMS; k++)
				tc->mm_stat[i][k] = g->mm->tlb_stat[k];
			ktest_log(t, "mm %c: %u CPUs x %u iterations, seed %lu, window %u pages: "
				  "mmap %lu+%lu, munmap %lu+%lu, mprotect %lu, dontneed %lu; %lu accesses "
				  "(%lu refused); rss max %lu; %lu operations freed page tables; %lu remote flushes, %lu received",
				  g->name, g->ncpus, s.iters, s.seed, s.npages,
				  g->nops[OP_MMAP_FIXED], g->nops[OP_MMAP_HINT], g->nops[OP_MUNMAP],
				  g->nops[OP_MUNMAP_VMA], g->nops[OP_MPROTECT], g->nops[OP_DONTNEED],
				  g->accesses, g->refused, g->rss_max, g->table_frees,
				  g->mm->tlb_stat[NR_TLB_REMOTE_FLUSH],
				  g->mm->tlb_stat[NR_TLB_REMOTE_FLUSH_RECEIVED]);
		}
	}
	for (u32 i = 0; i < ngroups; i++)
		if (s.groups[i].mm)
			mm_put(s.groups[i].mm);

	for (int e = 0; e < NR_ERR; e++)
		if (s.nerr[e])
			ktest_fail(t, __FILE__, __LINE__, "%lu x %s", s.nerr[e], err_names[e]);
	if (vm_stat[NR_ALLOC_FAILED] != failed_allocs)
		ktest_log(t, "note: %ld page allocations failed during the run",
			  vm_stat[NR_ALLOC_FAILED] - failed_allocs);
	/* Everything came back: pages (tables after their grace period),
	 * page-table accounting, slab objects (VMAs, shared objects, mms). */
	u64 free_after = test_settled_free_pages();
	KTEST_EXPECT_EQ(t, vm_stat[NR_PAGETABLE], tables_before);
	KTEST_EXPECT_EQ(t, test_slab_objects(), objects_before);
	KTEST_EXPECT_EQ(t, free_after, free_before);
	stress_free(&s);
}

/* Every online CPU in one address space. */
static void test_one_mm(struct ktest *t)
{
	cpumask_t online;
	cpumask_copy(&online, &cpu_online_mask);
	struct tlb_counts tc;
	u64 remote = tlb_stat_read(NR_TLB_REMOTE_FLUSH);
	run_stress(t, &online, 1, &tc);
	if (t->skipped)
		return;
	if (cpumask_weight(&online) > 1) {
		/* Munmap with other CPUs using the mm must have interrupted them. */
		KTEST_EXPECT_GT(t, tc.mm_stat[0][NR_TLB_REMOTE_FLUSH], 0);
		KTEST_EXPECT_GT(t, tc.mm_stat[0][NR_TLB_REMOTE_FLUSH_RECEIVED], 0);
		KTEST_EXPECT_GT(t, tlb_stat_read(NR_TLB_REMOTE_FLUSH) - remote, 0);
	}
	KTEST_EXPECT_GT(t, tc.mm_stat[0][NR_TLB_LOCAL_FLUSH_ALL] + tc.mm_stat[0][NR_TLB_LOCAL_FLUSH_ONE], 0);
}

/* The CPUs split between two address spaces: a flush of one must never
 * interrupt the CPUs of the other (they never loaded it, so they are not in
 * its cpumask). The per-CPU counters do not say which mm a flush was for, so
 * the check adds them up per group: a group's CPUs can only have received
 * flushes of their own mm (or of some other mm active meanwhile, counted in
 * "other"). And each mm's flushes reached at most its own CPUs other than
 * the initiator, itself one of them: received <= remote flushes x (CPUs - 1). */
static void test_two_mms(struct ktest *t)
{
	cpumask_t online;
	cpumask_copy(&online, &cpu_online_mask);
	u32 n = cpumask_weight(&online);
	if (n < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	cpumask_t masks[2] = { CPUMASK_NONE, CPUMASK_NONE };
	u32 k = 0;
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
		if (cpumask_test_cpu(cpu, &online))
			__cpumask_set_cpu(cpu, &masks[k++ < n / 2 ? 0 : 1]);
	struct tlb_counts tc;
	run_stress(t, masks, 2, &tc);
	if (t->skipped)
		return;
	u64 recv_mm[2], other = tc.total_received;
	for (u32 i = 0; i < 2; i++) {
		recv_mm[i] = tc.mm_stat[i][NR_TLB_REMOTE_FLUSH_RECEIVED];
		other -= MIN(other, recv_mm[i]);
	}
	for (u32 i = 0; i < 2; i++) {
		u32 ncpus = cpumask_weight(&masks[i]);
		u64 on_group = 0;
		for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
			if (cpumask_test_cpu(cpu, &masks[i]))
				on_group += tc.cpu_received[cpu];
		ktest_log(t, "mm %c on %u CPUs from CPU %u: %lu remote flushes, %lu received; its CPUs "
			  "received %lu (other mms: %lu)", 'A' + i, ncpus, cpumask_first(&masks[i]), tc.mm_stat[i][NR_TLB_REMOTE_FLUSH],
			  recv_mm[i], on_group, other);
		KTEST_EXPECT_LE(t, on_group, recv_mm[i] + other);
		KTEST_EXPECT_LE(t, recv_mm[i], tc.mm_stat[i][NR_TLB_REMOTE_FLUSH] * (ncpus - 1));
		if (ncpus > 1)
			KTEST_EXPECT_GT(t, tc.mm_stat[i][NR_TLB_REMOTE_FLUSH], 0);
	}
	/* The per-mm counters count the same events as the per-CPU ones. */
	KTEST_EXPECT_LE(t, recv_mm[0] + recv_mm[1], tc.total_received);
}

/* mm_check_counts() itself must be able to fail: break one thing at a time
 * in a small address space nobody has loaded, check that it is reported,
 * put it back. */
static bool expect_problem(struct ktest *t, struct mm_struct *mm, const char *what, int line)
{
	char why[160];
	int r = mm_check_counts(mm, why, sizeof(why));
	if (r <= 0) {
		ktest_fail(t, __FILE__, line, "mm_check_counts missed: %s (returned %d)", what, r);
		return false;
	}
	ktest_log(t, "%s: caught (%d problem(s)): %s", what, r, why);
	return true;
}

static void test_checker(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	u64 base = WIN_BASE, rw = PROT_READ | PROT_WRITE;
	u64 priv = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE;
	KTEST_EXPECT_EQ(t, do_mmap(mm, base, 8 * PAGE_SIZE, rw, priv, -1, 0), base);
	KTEST_EXPECT_EQ(t, do_mmap(mm, base + 8 * PAGE_SIZE, 4 * PAGE_SIZE, rw,
				   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0),
			base + 8 * PAGE_SIZE);
	KTEST_EXPECT_EQ(t, do_mmap(mm, base + 12 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ, priv, -1, 0),
			base + 12 * PAGE_SIZE);   /* the zero page */
	KTEST_EXPECT_EQ(t, do_mprotect(mm, base + PAGE_SIZE, PAGE_SIZE, PROT_READ), 0);
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, base + 3 * PAGE_SIZE, PAGE_SIZE), 0);
	char why[160];
	KTEST_ASSERT_EQ(t, mm_check_counts(mm, why, sizeof(why)), 0);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 7 + 4);

	mm->rss_pages++;
	expect_problem(t, mm, "rss one too high", __LINE__);
	mm->rss_pages--;
	mm->pgtable_pages--;
	expect_problem(t, mm, "pgtable_pages one too low", __LINE__);
	mm->pgtable_pages++;

	u64 *e0 = pgtable_walk(mm, base, PT_PTE);
	KTEST_ASSERT_TRUE(t, e0 && pte_present(*e0));
	struct page *p0 = pte_page(*e0);
	p0->mapcount--;
	expect_problem(t, mm, "a mapped page with mapcount 0", __LINE__);
	p0->mapcount++;

	u64 *e1 = pgtable_walk(mm, base + PAGE_SIZE, PT_PTE);       /* read-only VMA */
	KTEST_ASSERT_TRUE(t, e1 && pte_present(*e1) && !pte_write(*e1));
	*e1 |= PTE_W;
	expect_problem(t, mm, "a writable PTE in a read-only VMA", __LINE__);
	*e1 &= ~PTE_W;

	u64 *hole = pgtable_walk(mm, base + 3 * PAGE_SIZE, PT_PTE);  /* munmapped */
	KTEST_ASSERT_TRUE(t, hole && *hole == 0);
	*hole = PTE_SPECIAL;
	expect_problem(t, mm, "stray bits in an unmapped PTE", __LINE__);
	*hole = *e0;            /* the same page twice, and outside every VMA */
	get_page(p0);
	p0->mapcount++;
	expect_problem(t, mm, "a PTE outside every VMA", __LINE__);
	p0->mapcount--;
	put_page(p0);

	struct page *freed = alloc_page(0);
	KTEST_ASSERT_TRUE(t, freed);
	u64 phys = page_to_phys(freed);
	free_page(freed);
	*hole = 0;
	u64 saved = *e0;
	*e0 = phys | (saved & ~PTE_ADDR_MASK);
	expect_problem(t, mm, "a PTE pointing at a free page", __LINE__);
	*e0 = saved;
	*hole = 0;
	flush_tlb_mm(mm);       /* nobody has it loaded; cheap insurance */

	/* The reverse map MADV_REMOVE walks (mm/shared_anon.h). */
	struct vm_area *sv = vma_find(mm->vma_root, base + 8 * PAGE_SIZE);
	KTEST_ASSERT_TRUE(t, sv && sv->shared);
	shared_anon_lock_mappers(sv->shared);
	shared_anon_unlink(sv);
	shared_anon_unlock_mappers(sv->shared);
	expect_problem(t, mm, "a shared VMA missing from its object's mappers", __LINE__);
	shared_anon_lock_mappers(sv->shared);
	shared_anon_link(sv);
	shared_anon_unlock_mappers(sv->shared);
	struct shared_anon *obj = sv->shared;
	spin_lock(&obj->lock);
	struct page *kept = page_tree_erase(&obj->pages, sv->pgoff);
	spin_unlock(&obj->lock);
	KTEST_ASSERT_TRUE(t, kept);
	/* As if punched, but still mapped here. */
	expect_problem(t, mm, "a shared PTE whose page the object let go", __LINE__);
	/* Back in; the erase may have freed its tree nodes (page_tree.h). */
	struct page *spare = NULL;
	int err;
	do {
		spin_lock(&obj->lock);
		err = page_tree_store(&obj->pages, sv->pgoff, kept, &spare);
		spin_unlock(&obj->lock);
	} while (err == -EAGAIN && (spare = alloc_page(__GFP_ZERO)) != NULL);
	KTEST_EXPECT_EQ(t, err, 0);
	if (spare)
		free_page(spare);

	KTEST_EXPECT_EQ(t, mm_check_counts(mm, why, sizeof(why)), 0);
	mm_put(mm);
}

static const struct ktest_case tlb_stress_cases[] = {
	{ "checker", test_checker },
	{ "one_mm", test_one_mm },
	{ "two_mms", test_two_mms },
};
KTEST_SUITE(tlb_stress, tlb_stress_cases);
