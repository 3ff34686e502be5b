/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_uffd.c - the "uffd" suite: userfaultfd write protection in the
 * page tables (mm/userfaultfd.c, docs/userfaultfd.md). The user-visible
 * behaviour is tested by tests/user/uffd_test.c (also on Linux); these
 * cases look at what only the kernel can see: the TLBs of other CPUs, the
 * flush count, the entries and the tables.
 */
#include "kernel/ktest.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/file.h"
#include "kernel/uaccess.h"
#include "kernel/string.h"
#include "kernel/userfaultfd.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/madvise.h"
#include "mm/tlbflush.h"
#include "mm/userfaultfd.h"
#include "mm/mm_debug.h"
#include "mm/slab.h"
#include "tests/kernel/mm/test_user.h"
#include "mm/fault_inject.h"
#include "mm/fault.h"
#include "mm/thp.h"
#include "mm/vma.h"
#include "mm/mmu_gather.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

#define BASE 0x0000610000000000UL
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define NPAGES 16
#define ARGS (BASE - P(1))              /* a page for ioctl arguments */
#define SPAN2M (2UL << 20)
#define EMPTY (BASE + (1UL << 30))      /* 4 MiB never touched, 2 MiB aligned */
#define RACE (BASE + (2UL << 30))       /* the THP race's range, 2 MiB aligned */
#define RACE_PIECES 128                 /* 2 MiB pieces in it: 256 MiB */
#define RACE_ROUNDS 20                  /* at most: until a round loses the race */

/* An address space with NPAGES written pages at BASE, registered for WP
 * with a fresh userfaultfd context (no UFFDIO_API: the features are 0,
 * i.e. sync mode without markers). */
struct env {
	struct mm_struct *mm;
	struct file *uffd;
	struct userfaultfd_ctx *ctx;
};

static bool env_setup(struct ktest *t, struct env *e)
{
	long err = 0;
	e->mm = mm_create();
	if (!KTEST_EXPECT_TRUE(t, e->mm))
		return false;
	if (!KTEST_EXPECT_EQ(t, do_mmap(e->mm, BASE, P(NPAGES), RW, ANON | MAP_FIXED, -1, 0), (long)BASE))
		return false;
	do_madvise(e->mm, BASE, P(NPAGES), MADV_NOHUGEPAGE);
	kthread_use_mm(e->mm);
	for (u32 i = 0; i < NPAGES; i++)
		test_put_u64(e->mm, BASE + P(i), 1000 + i);
	kthread_unuse_mm(e->mm);
	e->uffd = userfaultfd_create(e->mm, O_NONBLOCK, &err);
	if (!KTEST_EXPECT_TRUE(t, e->uffd))
		return false;
	e->ctx = userfaultfd_file_ctx(e->uffd);
	return KTEST_EXPECT_EQ(t, uffd_register_range(e->mm, e->ctx, BASE, BASE + P(NPAGES), VM_UFFD_WP), 0);
}

static void env_teardown(struct env *e)
{
	if (e->uffd)
		file_put(e->uffd);      /* the last reference: unregisters */
	if (e->mm)
		mm_put(e->mm);
}

/* UFFDIO_API asking for `features`, its argument in a page of e's address
 * space at ARGS (the ioctl reads it from user memory). */
static bool env_negotiate(struct ktest *t, struct env *e, u64 features)
{
	if (!KTEST_EXPECT_EQ(t, do_mmap(e->mm, ARGS, P(1), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0),
			     (long)ARGS))
		return false;
	struct uffdio_api api = { UFFD_API, features, 0 };
	kthread_use_mm(e->mm);
	bool ok = KTEST_EXPECT_EQ(t, copy_to_user(ARGS, &api, sizeof(api)), 0) &&
		  KTEST_EXPECT_EQ(t, file_ioctl(e->uffd, UFFDIO_API, ARGS), 0);
	kthread_unuse_mm(e->mm);
	return ok;
}

/* --- protecting reaches every CPU, with one flush --- */

/* Writers on every other CPU hold a writable translation of every page.
 * CPU `leader` protects the range. Once UFFDIO_WRITEPROTECT has returned,
 * no write may go through: the writers then try writes that cannot resolve
 * a fault (test_write_nofault), which succeed only through a stale TLB
 * entry. "uffd_debug_local_wp_flush" (flush this CPU only) must fail here. */
struct wp_ctx {
	struct env e;
	u32 leader, ready, phase;
	u32 stale;              /* writes that went through after protection */
	int ret;
	u64 flushes;            /* remote flushes of the protect call */
	u64 recv0[MAX_CPUS], recv1[MAX_CPUS];
};

static void wp_worker(void *arg)
{
	struct wp_ctx *c = arg;
	u32 others = num_online_cpus() - 1;
	kthread_use_mm(c->e.mm);
	if (smp_processor_id() == c->leader) {
		test_wait_until(&c->ready, others);
		for (u32 x = 0; x < MAX_CPUS; x++)
			c->recv0[x] = tlb_stat_cpu(x, NR_TLB_REMOTE_FLUSH_RECEIVED);
		u64 f0 = c->e.mm->tlb_stat[NR_TLB_REMOTE_FLUSH];
		c->ret = uffd_wp_range(c->e.mm, BASE, BASE + P(NPAGES), true);
		c->flushes = c->e.mm->tlb_stat[NR_TLB_REMOTE_FLUSH] - f0;
		for (u32 x = 0; x < MAX_CPUS; x++)
			c->recv1[x] = tlb_stat_cpu(x, NR_TLB_REMOTE_FLUSH_RECEIVED);
		__atomic_store_n(&c->phase, 1, __ATOMIC_SEQ_CST);
	} else {
		/* A hot, writable translation of every page. */
		for (u32 i = 0; i < NPAGES; i++)
			test_put_u64(c->e.mm, BASE + P(i), 2000 + i);
		__atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->phase, 1);
		for (u32 i = 0; i < NPAGES; i++)
			if (test_write_nofault(BASE + P(i), 3000 + i) == 0)
				__atomic_add_fetch(&c->stale, 1, __ATOMIC_SEQ_CST);
	}
	kthread_unuse_mm(c->e.mm);
}

static void test_protect_reaches_every_cpu(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct wp_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, c);
	if (!env_setup(t, &c->e))
		goto out;
	c->leader = cpumask_first(&cpu_online_mask);
	ktest_on_cpus(&cpu_online_mask, wp_worker, c);
	u32 others = num_online_cpus() - 1, bad = 0;
	for (u32 x = 0; x < MAX_CPUS; x++)
		if (x != c->leader && cpumask_test_cpu(x, &cpu_online_mask) && c->recv1[x] - c->recv0[x] != 1)
			bad++;
	ktest_log(t, "%u pages protected with %lu remote flush(es); %u other CPUs, %u of them not "
		  "interrupted exactly once; %u of %u writes went through afterwards",
		  NPAGES, c->flushes, others, bad, c->stale, others * NPAGES);
	KTEST_EXPECT_EQ(t, c->ret, 0);
	KTEST_EXPECT_EQ(t, c->stale, 0);
	KTEST_EXPECT_EQ(t, c->flushes, 1);
	KTEST_EXPECT_EQ(t, bad, 0);
	/* Every entry protected, none writable; the contents are the
	 * writers' last ones (2000 + i), none of the refused 3000s. */
	u32 unprotected = 0, wrong = 0;
	for (u32 i = 0; i < NPAGES; i++) {
		u64 pte = pgtable_leaf(c->e.mm, BASE + P(i));
		if (!(pte & PTE_UFFD_WP) || pte_write(pte))
			unprotected++;
		if (test_peek(c->e.mm, BASE + P(i)) != 2000 + i)
			wrong++;
	}
	KTEST_EXPECT_EQ(t, unprotected, 0);
	KTEST_EXPECT_EQ(t, wrong, 0);
out:
	env_teardown(&c->e);
	kfree(c);
}

/* --- clearing needs no flush; unregistering drops every trace --- */

static void test_clear_and_unregister(struct ktest *t)
{
	struct env e = { 0 };
	if (!env_setup(t, &e))
		goto out;
	KTEST_EXPECT_EQ(t, uffd_wp_range(e.mm, BASE, BASE + P(NPAGES), true), 0);
	u64 gen = __atomic_load_n(&e.mm->tlb_gen, __ATOMIC_SEQ_CST);
	/* Clearing only gives a right back: no flush at all. */
	KTEST_EXPECT_EQ(t, uffd_wp_range(e.mm, BASE, BASE + P(NPAGES / 2), false), 0);
	KTEST_EXPECT_EQ(t, __atomic_load_n(&e.mm->tlb_gen, __ATOMIC_SEQ_CST), gen);
	KTEST_EXPECT_EQ(t, !!(pgtable_leaf(e.mm, BASE) & PTE_UFFD_WP), 0);
	KTEST_EXPECT_EQ(t, !!(pgtable_leaf(e.mm, BASE + P(NPAGES - 1)) & PTE_UFFD_WP), 1);
	/* Our own pages in a writable VMA: writable again at once. */
	KTEST_EXPECT_TRUE(t, pte_write(pgtable_leaf(e.mm, BASE)));
	KTEST_EXPECT_FALSE(t, pte_write(pgtable_leaf(e.mm, BASE + P(NPAGES - 1))));
	/* Half a range not registered: ENOENT, nothing changed. */
	KTEST_EXPECT_EQ(t, uffd_wp_range(e.mm, BASE, BASE + P(NPAGES + 1), true), -ENOENT);
	KTEST_EXPECT_EQ(t, !!(pgtable_leaf(e.mm, BASE) & PTE_UFFD_WP), 0);
	/* Unregistering drops the bits of the pages still protected. */
	KTEST_EXPECT_EQ(t, uffd_unregister_range(e.mm, e.ctx, BASE, BASE + P(NPAGES)), 0);
	u32 left = 0;
	for (u32 i = 0; i < NPAGES; i++)
		left += !!(pgtable_leaf(e.mm, BASE + P(i)) & PTE_UFFD_WP);
	KTEST_EXPECT_EQ(t, left, 0);
	char why[160] = "";
	KTEST_EXPECT_EQ(t, mm_check_counts(e.mm, why, sizeof(why)), 0);
out:
	env_teardown(&e);
}

/* --- markers when page tables cannot be had --- */

/* Protecting never-touched memory with markers needs page tables to hold
 * them. The first 2 MiB piece of the range has its table (one written
 * page in it), the second has none; with every allocation failing the call
 * must stop at the second piece with -ENOMEM, as Linux does, and keep what
 * it did before it (docs/userfaultfd.md): the first piece wholly protected
 * - the page with the bit and without the write right, flushed; every
 * empty entry a marker - the second untouched, no table gained. With
 * memory back the same call completes it. */
static void test_markers_enomem(struct ktest *t)
{
	u64 before = test_settled_free_pages();
	struct env e = { 0 };
	if (!env_setup(t, &e))
		goto out;
	KTEST_EXPECT_EQ(t, do_mmap(e.mm, EMPTY, 2 * SPAN2M, RW, ANON | MAP_FIXED, -1, 0), (long)EMPTY);
	do_madvise(e.mm, EMPTY, 2 * SPAN2M, MADV_NOHUGEPAGE);
	if (!env_negotiate(t, &e, UFFD_FEATURE_WP_UNPOPULATED))
		goto out;
	KTEST_EXPECT_EQ(t, uffd_register_range(e.mm, e.ctx, EMPTY, EMPTY + 2 * SPAN2M, VM_UFFD_WP), 0);
	KTEST_EXPECT_EQ(t, test_poke(e.mm, EMPTY + P(1), 77), 0);
	KTEST_EXPECT_TRUE(t, pte_write(pgtable_leaf(e.mm, EMPTY + P(1))));
	u64 tables = e.mm->pgtable_pages;
	u64 gen = __atomic_load_n(&e.mm->tlb_gen, __ATOMIC_SEQ_CST);

	fail_page_alloc_set(1, 1);      /* every allocation fails */
	int r = uffd_wp_range(e.mm, EMPTY, EMPTY + 2 * SPAN2M, true);
	fail_page_alloc_set(0, 0);
	KTEST_EXPECT_EQ(t, r, -ENOMEM);
	u32 first = 0;                  /* entries of the first piece protected */
	for (u32 i = 0; i < PT_ENTRIES; i++)
		first += !!(pgtable_leaf(e.mm, EMPTY + P(i)) & PTE_UFFD_WP);
	u64 page = pgtable_leaf(e.mm, EMPTY + P(1));
	KTEST_EXPECT_EQ(t, first, PT_ENTRIES);
	KTEST_EXPECT_TRUE(t, pte_present(page) && !pte_write(page));
	KTEST_EXPECT_TRUE(t, pte_uffd_marker(pgtable_leaf(e.mm, EMPTY)));
	/* The write right it took is gone from every TLB. */
	KTEST_EXPECT_GT(t, __atomic_load_n(&e.mm->tlb_gen, __ATOMIC_SEQ_CST), gen);
	KTEST_EXPECT_EQ(t, pgtable_walk(e.mm, EMPTY + SPAN2M, PT_PTE), NULL);
	KTEST_EXPECT_EQ(t, e.mm->pgtable_pages, tables);
	ktest_log(t, "with no memory: -ENOMEM; %u of %u entries of the piece with a table protected, "
		  "the piece without one left as it was", first, PT_ENTRIES);

	KTEST_EXPECT_EQ(t, uffd_wp_range(e.mm, EMPTY, EMPTY + 2 * SPAN2M, true), 0);
	KTEST_EXPECT_TRUE(t, pte_uffd_marker(pgtable_leaf(e.mm, EMPTY + SPAN2M + P(5))));
	KTEST_EXPECT_EQ(t, e.mm->pgtable_pages, tables + 1);
	KTEST_EXPECT_EQ(t, test_peek(e.mm, EMPTY + P(1)), 77);
	char why[160] = "";
	KTEST_EXPECT_EQ(t, mm_check_counts(e.mm, why, sizeof(why)), 0);
out:
	env_teardown(&e);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* --- protecting with markers while other CPUs fault huge pages in --- */

/* CPU `leader` write-protects RACE with markers (WP_UNPOPULATED) while
 * every other CPU faults its share of the 2 MiB pieces from the top down
 * (the protect walks up): one piece in four by a write (a THP), the others
 * by a read (the huge zero page).
 * Whatever order each fault and the protect's visit to its piece take,
 * once the call has returned every entry must carry the protection: a
 * huge PMD its bit, a PTE its bit or a marker, and no PMD be left empty.
 * A fault that comes after the visit finds a table of markers (a read maps
 * the zero page keeping the bit, a write is refused: VM_FAULT_USERFAULT). */
struct race_ctx {
	struct env e;
	u32 leader, faulters;
	u32 ids;                /* faulters numbered so far */
	u32 started;            /* faulters past their first fault */
	int ret;
};

static void race_fault(struct mm_struct *mm, u64 addr, bool write)
{
	down_read(&mm->mmap_lock);
	struct vm_area *v = vma_find(mm->vma_root, addr);
	if (v)
		__handle_mm_fault(mm, v, addr, write ? FAULT_WRITE : 0);
	up_read(&mm->mmap_lock);
}

static void race_worker(void *arg)
{
	struct race_ctx *c = arg;
	if (smp_processor_id() == c->leader) {
		/* Every faulter is running (and going on) when we start. */
		test_wait_until(&c->started, c->faulters);
		c->ret = uffd_wp_range(c->e.mm, RACE, RACE + RACE_PIECES * SPAN2M, true);
		return;
	}
	u32 me = __atomic_fetch_add(&c->ids, 1, __ATOMIC_SEQ_CST);
	bool first = true;
	for (u32 p = RACE_PIECES; p-- > 0;) {
		if (p % c->faulters != me)
			continue;
		race_fault(c->e.mm, RACE + p * SPAN2M + P(p % PT_ENTRIES), p % 4 == 1);
		if (first)
			__atomic_add_fetch(&c->started, 1, __ATOMIC_SEQ_CST);
		first = false;
	}
}

/* What the protect left in the pieces of RACE. */
struct wp_census {
	u32 huge;               /* huge PMDs (faulted in just before or during the call) */
	u32 huge_bare;          /* ... of them without the uffd-wp bit */
	u32 ptes_bare;          /* PTEs neither protected nor a marker */
	u32 pmds_empty;         /* PMDs with nothing at all: no marker could be there */
};

static void wp_census(struct mm_struct *mm, struct wp_census *w)
{
	for (u32 p = 0; p < RACE_PIECES; p++) {
		u64 a = RACE + p * SPAN2M;
		u64 *pmd = pgtable_walk(mm, a, PT_PMD);
		u64 v = pmd ? pte_read(pmd) : 0;
		if (pmd_huge(v)) {
			w->huge++;
			w->huge_bare += !(v & PTE_UFFD_WP);
		} else if (v & PTE_P) {
			const u64 *pt = entry_table(v);
			for (u32 i = 0; i < PT_ENTRIES; i++)
				w->ptes_bare += !(pte_read(&pt[i]) & PTE_UFFD_WP);
		} else {
			w->pmds_empty++;
		}
	}
}

/* One round in a fresh address space; false if it could not be set up. */
static bool race_round(struct ktest *t, struct race_ctx *c, struct wp_census *w)
{
	bool ok = false;
	if (!env_setup(t, &c->e) || !env_negotiate(t, &c->e, UFFD_FEATURE_WP_UNPOPULATED))
		goto out;
	u64 len = RACE_PIECES * SPAN2M;
	if (!KTEST_EXPECT_EQ(t, do_mmap(c->e.mm, RACE, len, RW, ANON | MAP_FIXED, -1, 0), (long)RACE))
		goto out;
	do_madvise(c->e.mm, RACE, len, MADV_HUGEPAGE);
	if (!KTEST_EXPECT_EQ(t, uffd_register_range(c->e.mm, c->e.ctx, RACE, RACE + len, VM_UFFD_WP), 0))
		goto out;
	c->leader = cpumask_first(&cpu_online_mask);
	c->faulters = num_online_cpus() - 1;
	c->started = c->ids = 0;
	ktest_on_cpus(&cpu_online_mask, race_worker, c);
	KTEST_EXPECT_EQ(t, c->ret, 0);
	wp_census(c->e.mm, w);
	char why[160] = "";
	KTEST_EXPECT_EQ(t, mm_check_counts(c->e.mm, why, sizeof(why)), 0);
	ok = true;
out:
	env_teardown(&c->e);
	memset(&c->e, 0, sizeof(c->e));
	return ok;
}

static void test_markers_race_thp_faults(struct ktest *t)
{
	if (num_online_cpus() < 2 || thp_mode == THP_NEVER) {
		ktest_skip(t, "needs two CPUs and THP");
		return;
	}
	u64 before = test_settled_free_pages();
	struct race_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, c);
	struct wp_census w = { 0 };
	u32 rounds = 0;
	/* Until a round shows the race lost, at most RACE_ROUNDS. */
	while (rounds < RACE_ROUNDS && !w.huge_bare && !w.ptes_bare && !w.pmds_empty) {
		if (!race_round(t, c, &w))
			break;
		rounds++;
	}
	ktest_log(t, "%u round(s) of %u pieces: %u huge PMDs faulted in around the protect, %u of "
		  "them without the uffd-wp bit; %u PTEs unprotected, %u PMDs left empty",
		  rounds, RACE_PIECES, w.huge, w.huge_bare, w.ptes_bare, w.pmds_empty);
	KTEST_EXPECT_EQ(t, w.huge_bare, 0);
	KTEST_EXPECT_EQ(t, w.ptes_bare, 0);
	KTEST_EXPECT_EQ(t, w.pmds_empty, 0);
	/* The faults did race the protect: some pieces went huge. */
	KTEST_EXPECT_GT(t, w.huge, 0);
	kfree(c);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* The same race made certain: in the window between deciding a piece (an
 * empty PMD: a new table for the markers) and taking its PTE lock, a hook
 * empties the piece with a zap (which reclaims the empty table) and faults
 * a huge PMD in: a THP by a write in the first piece, the huge zero page by
 * a read in the second. The protect must find the PTE level gone, decide
 * the piece again under the PMD lock and protect the huge PMD. */
#define WINDOW (BASE + (3UL << 30))    /* 2 pieces, 2 MiB aligned */
static u32 window_calls, window_huge;

static void window_hook(struct mm_struct *mm, u64 addr)
{
	u64 haddr = addr & HPAGE_MASK;
	if (window_calls++ >= 2)
		return;                 /* once per piece: the retry goes through */
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	zap_range(mm, haddr, haddr + SPAN2M, &tlb);
	tlb_finish_mmu(&tlb);
	struct vm_area *v = vma_find(mm->vma_root, haddr);
	if (v && __handle_mm_fault(mm, v, haddr + P(3), haddr == WINDOW ? FAULT_WRITE : 0) == VM_FAULT_DONE &&
	    pmd_huge(pte_read(pgtable_walk(mm, haddr, PT_PMD))))
		window_huge++;
}

static void test_markers_refault_in_window(struct ktest *t)
{
	if (thp_mode == THP_NEVER || !pt_reclaim) {
		ktest_skip(t, "needs THP and page-table reclaim");
		return;
	}
	u64 before = test_settled_free_pages();
	struct env e = { 0 };
	if (!env_setup(t, &e) || !env_negotiate(t, &e, UFFD_FEATURE_WP_UNPOPULATED))
		goto out;
	KTEST_EXPECT_EQ(t, do_mmap(e.mm, WINDOW, 2 * SPAN2M, RW, ANON | MAP_FIXED, -1, 0), (long)WINDOW);
	do_madvise(e.mm, WINDOW, 2 * SPAN2M, MADV_HUGEPAGE);
	KTEST_EXPECT_EQ(t, uffd_register_range(e.mm, e.ctx, WINDOW, WINDOW + 2 * SPAN2M, VM_UFFD_WP), 0);
	window_calls = window_huge = 0;
	uffd_wp_debug_window_hook = window_hook;
	int r = uffd_wp_range(e.mm, WINDOW, WINDOW + 2 * SPAN2M, true);
	uffd_wp_debug_window_hook = NULL;
	KTEST_EXPECT_EQ(t, r, 0);
	KTEST_EXPECT_EQ(t, window_huge, 2);
	u32 bare = 0;
	for (u32 p = 0; p < 2; p++) {
		u64 v = pte_read(pgtable_walk(e.mm, WINDOW + p * SPAN2M, PT_PMD));
		bare += !pmd_huge(v) || !(v & PTE_UFFD_WP);
	}
	ktest_log(t, "%u huge PMDs faulted in between deciding a piece and locking its PTEs; "
		  "%u of the 2 pieces without the uffd-wp bit afterwards", window_huge, bare);
	KTEST_EXPECT_EQ(t, bare, 0);
	char why[160] = "";
	KTEST_EXPECT_EQ(t, mm_check_counts(e.mm, why, sizeof(why)), 0);
out:
	env_teardown(&e);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

static const struct ktest_case uffd_cases[] = {
	{ "protect_reaches_every_cpu", test_protect_reaches_every_cpu },
	{ "clear_and_unregister", test_clear_and_unregister },
	{ "markers_enomem", test_markers_enomem },
	{ "markers_race_thp_faults", test_markers_race_thp_faults },
	{ "markers_refault_in_window", test_markers_refault_in_window },
};

KTEST_SUITE(uffd, uffd_cases);
