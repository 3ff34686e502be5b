/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_madvise.c - the "madvise" suite: MADV_DONTNEED, the batched
 * vector form, freeing the page tables a zap empties, and MADV_REMOVE of
 * shared memory that other address spaces and pins hold (docs/madvise.md).
 */
#include "kernel/ktest.h"
#include "kernel/rcu.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/madvise.h"
#include "mm/mmu_gather.h"
#include "mm/tlbflush.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/mm_debug.h"
#include "tests/kernel/mm/test_user.h"
#include "mm/fault_inject.h"
#include "mm/gup.h"
#include "mm/fault.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

#define BASE 0x0000600000000000UL       /* 1 GiB aligned: its own PD */
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define SPAN2M (2UL << 20)
#define GIB (1UL << 30)

/* Touch one page in every 2 MiB of a GiB: 512 page tables. DONTNEED the
 * GiB: with reclaim, only the PDPT and PD stay; without, all 514. */
static void sparse_run(struct ktest *t, bool reclaim, u64 *tables_after, u64 *reclaimed)
{
	bool saved = pt_reclaim;
	pt_reclaim = reclaim;
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, do_mmap(mm, BASE, GIB, RW, ANON | MAP_FIXED, -1, 0) == (long)BASE);
	do_madvise(mm, BASE, GIB, MADV_NOHUGEPAGE);
	kthread_use_mm(mm);
	for (u64 a = BASE; a < BASE + GIB; a += SPAN2M)
		test_put_u64(mm, a + P(7), a);
	kthread_unuse_mm(mm);
	KTEST_EXPECT_EQ(t, mm->pgtable_pages, 512 + 2);
	u64 r0 = pt_reclaimed;
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, GIB, MADV_DONTNEED), 0);
	*reclaimed = pt_reclaimed - r0;
	*tables_after = mm->pgtable_pages;
	KTEST_EXPECT_EQ(t, mm->rss_pages, 0);
	u64 v = 1;
	kthread_use_mm(mm);
	KTEST_EXPECT_EQ(t, test_get_u64(mm, BASE + 100 * SPAN2M + P(7), &v), 0);
	kthread_unuse_mm(mm);
	KTEST_EXPECT_EQ(t, v, 0);
	mm_put(mm);
	pt_reclaim = saved;
}

static void test_reclaim_sparse(struct ktest *t)
{
	u64 with, without, r_with, r_without;
	sparse_run(t, true, &with, &r_with);    /* warms caches up (slab, RCU) */
	u64 before = test_settled_free_pages();
	s64 tables0 = vm_stat[NR_PAGETABLE];
	sparse_run(t, true, &with, &r_with);
	sparse_run(t, false, &without, &r_without);
	ktest_log(t, "page tables after DONTNEED of 1 GiB touched sparsely: %lu with reclaim, %lu without",
		  with, without);
	KTEST_EXPECT_EQ(t, r_with, 512);
	KTEST_EXPECT_EQ(t, r_without, 0);
	KTEST_EXPECT_EQ(t, with, 2);
	KTEST_EXPECT_EQ(t, without, 512 + 2);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
	KTEST_EXPECT_EQ(t, vm_stat[NR_PAGETABLE], tables0);
}

/* A table that keeps anything - a page outside the zapped range, the zero
 * page - is not freed. */
static void test_reclaim_keeps_used(struct ktest *t)
{
	bool saved = pt_reclaim;
	pt_reclaim = true;              /* whatever the command line said */
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, do_mmap(mm, BASE, 2 * SPAN2M, RW, ANON | MAP_FIXED, -1, 0) == (long)BASE);
	do_madvise(mm, BASE, 2 * SPAN2M, MADV_NOHUGEPAGE);
	kthread_use_mm(mm);
	u64 v;
	test_put_u64(mm, BASE, 1);
	test_put_u64(mm, BASE + P(9), 2);               /* stays */
	test_put_u64(mm, BASE + SPAN2M, 3);
	test_get_u64(mm, BASE + SPAN2M + P(9), &v);     /* the zero page: stays */
	kthread_unuse_mm(mm);
	u64 tables = mm->pgtable_pages;
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, P(1), MADV_DONTNEED), 0);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE + SPAN2M, P(1), MADV_DONTNEED), 0);
	KTEST_EXPECT_EQ(t, mm->pgtable_pages, tables);
	kthread_use_mm(mm);
	KTEST_EXPECT_EQ(t, test_get_u64(mm, BASE + P(9), &v), 0);
	KTEST_EXPECT_EQ(t, v, 2);
	kthread_unuse_mm(mm);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, 2 * SPAN2M, MADV_DONTNEED), 0);
	KTEST_EXPECT_EQ(t, mm->pgtable_pages, tables - 2);
	mm_put(mm);
	pt_reclaim = saved;
}

/* A zap that held a table's lock for its whole walk and saw every entry
 * empty knows the table is empty: it frees it at once (the fast path),
 * without taking the locks again for a second look. 512 tables each holding
 * one page: 512 freed, no second look. (The dontneed lab grades this: its
 * starter always looks again, which is correct but slow.) */
static void test_reclaim_fast_path(struct ktest *t)
{
	u64 tables, reclaimed, rescans0 = pt_reclaim_rescans;
	sparse_run(t, true, &tables, &reclaimed);
	u64 rescans = pt_reclaim_rescans - rescans0;
	ktest_log(t, "DONTNEED of 1 GiB touched sparsely: %lu tables freed, %lu of them after a "
		  "second look", reclaimed, rescans);
	KTEST_EXPECT_EQ(t, reclaimed, 512);
	KTEST_EXPECT_EQ(t, tables, 2);
	KTEST_EXPECT_EQ(t, rescans, 0);
}

/* One vector of N ranges: one flush, one IPI per other CPU holding mm - or
 * N of each with madvise_batch off. */
#define VEC_RANGES 32

struct vec_ctx {
	struct mm_struct *mm;
	u32 leader, phase, ready, readers, stale;
	u64 recv0[MAX_CPUS], recv1[MAX_CPUS];
	u64 flushes;
	long ret;
	u64 done;
	bool batch;
};

static void vec_worker(void *arg)
{
	struct vec_ctx *c = arg;
	u32 cpu = smp_processor_id();
	kthread_use_mm(c->mm);
	if (cpu == c->leader) {
		test_wait_until(&c->ready, c->readers);
		struct madvise_range r[VEC_RANGES];
		for (u32 i = 0; i < VEC_RANGES; i++)
			r[i] = (struct madvise_range){ BASE + P(2 * i), PAGE_SIZE };
		for (u32 x = 0; x < MAX_CPUS; x++)
			c->recv0[x] = tlb_stat_cpu(x, NR_TLB_REMOTE_FLUSH_RECEIVED);
		u64 f0 = c->mm->tlb_stat[NR_TLB_REMOTE_FLUSH];
		bool saved = madvise_batch;
		madvise_batch = c->batch;
		c->ret = madvise_vec(c->mm, r, VEC_RANGES, MADV_DONTNEED, &c->done);
		madvise_batch = saved;
		c->flushes = c->mm->tlb_stat[NR_TLB_REMOTE_FLUSH] - f0;
		for (u32 x = 0; x < MAX_CPUS; x++)
			c->recv1[x] = tlb_stat_cpu(x, NR_TLB_REMOTE_FLUSH_RECEIVED);
		__atomic_store_n(&c->phase, 1, __ATOMIC_SEQ_CST);
	} else {
		/* A hot translation of every page, then: zeros must show. */
		u64 v;
		for (u32 i = 0; i < VEC_RANGES; i++)
			test_get_u64(c->mm, BASE + P(2 * i), &v);
		__atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->phase, 1);
		for (u32 i = 0; i < VEC_RANGES; i++)
			if (test_read_nofault(BASE + P(2 * i), &v) == 0 && v != 0)
				__atomic_add_fetch(&c->stale, 1, __ATOMIC_SEQ_CST);
	}
	kthread_unuse_mm(c->mm);
}

static void vec_run(struct ktest *t, bool batch)
{
	struct vec_ctx c = { .mm = mm_create(), .batch = batch,
			     .leader = cpumask_first(&cpu_online_mask),
			     .readers = num_online_cpus() - 1 };
	KTEST_ASSERT_TRUE(t, c.mm);
	KTEST_ASSERT_TRUE(t, do_mmap(c.mm, BASE, P(2 * VEC_RANGES), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0) == (long)BASE);
	kthread_use_mm(c.mm);
	for (u32 i = 0; i < 2 * VEC_RANGES; i++)
		test_put_u64(c.mm, BASE + P(i), 100 + i);
	kthread_unuse_mm(c.mm);
	ktest_on_cpus(&cpu_online_mask, vec_worker, &c);
	KTEST_EXPECT_EQ(t, c.ret, 0);
	KTEST_EXPECT_EQ(t, c.done, P(VEC_RANGES));
	KTEST_EXPECT_EQ(t, c.stale, 0);
	u64 want = batch ? 1 : VEC_RANGES;
	KTEST_EXPECT_EQ(t, c.flushes, want);
	u32 bad = 0;
	for (u32 x = 0; x < MAX_CPUS; x++)
		if (x != c.leader && cpumask_test_cpu(x, &cpu_online_mask) && c.recv1[x] - c.recv0[x] != want)
			bad++;
	KTEST_EXPECT_EQ(t, bad, 0);
	ktest_log(t, "%u ranges, batching %s: %lu flush(es), %lu IPI(s) on each of %u other CPUs",
		  VEC_RANGES, batch ? "on" : "off", c.flushes,
		  c.readers ? c.recv1[ktest_other_cpu(c.leader)] -
			      c.recv0[ktest_other_cpu(c.leader)] : 0,
		  c.readers);
	/* The odd pages were not advised: intact. */
	kthread_use_mm(c.mm);
	u64 v = 0;
	test_get_u64(c.mm, BASE + P(1), &v);
	kthread_unuse_mm(c.mm);
	KTEST_EXPECT_EQ(t, v, 101);
	mm_put(c.mm);
}

static void test_vector_one_flush(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	vec_run(t, true);
	vec_run(t, false);
}

/* Faults on every CPU into a region another CPU keeps zapping (and whose
 * tables it frees): no write lost except by a zap, no poison, the counts
 * consistent, everything back at the end. */
#define RACE_ROUNDS 300
#define RACE_PAGES 64                   /* spread over two page tables */
#define RACE_STRIDE 16

struct race_ctx {
	struct mm_struct *mm;
	u32 leader, stop, started;
	u32 bad, poison, failed;
	u64 zaps;
};

/* Each byte is ours or zero. The test copies go byte by byte, and a zap may
 * land in the middle of one: the first bytes then went to (or came from)
 * the old page, the rest to (from) the new zero-filled one - as on Linux
 * for a copy_to_user that is not one 8-byte move. Anything else - another
 * value, poison - is a lost or misplaced write. */
static bool want_or_zero(u64 v, u64 want)
{
	for (int i = 0; i < 8; i++) {
		u8 b = (u8)(v >> (8 * i));
		if (b != 0 && b != (u8)(want >> (8 * i)))
			return false;
	}
	return true;
}

static void race_worker(void *arg)
{
	struct race_ctx *c = arg;
	u32 cpu = smp_processor_id();
	kthread_use_mm(c->mm);
	if (cpu == c->leader) {
		test_wait_until(&c->started, num_online_cpus() - 1);
		for (u32 r = 0; r < RACE_ROUNDS; r++) {
			/* Odd rounds: both page tables whole (they are freed);
			 * even rounds: three pages somewhere. */
			u64 off = P(((r * 13) % RACE_PAGES) * RACE_STRIDE);
			do_madvise(c->mm, r & 1 ? BASE : BASE + off, r & 1 ? 2 * SPAN2M : P(3),
				   MADV_DONTNEED);
			c->zaps++;
		}
		__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
	} else {
		__atomic_add_fetch(&c->started, 1, __ATOMIC_SEQ_CST);
		u64 n = 0;
		while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
			/* Each CPU owns one word of each page. */
			u64 a = BASE + P((n % RACE_PAGES) * RACE_STRIDE) + 8 * cpu;
			u64 want = ((u64)cpu << 32) | n, v = 0;
			if (test_put_u64(c->mm, a, want) || test_get_u64(c->mm, a, &v))
				__atomic_add_fetch(&c->failed, 1, __ATOMIC_RELAXED);
			else if (v == 0xaaaaaaaaaaaaaaaaUL)
				__atomic_add_fetch(&c->poison, 1, __ATOMIC_RELAXED);
			else if (!want_or_zero(v, want))
				__atomic_add_fetch(&c->bad, 1, __ATOMIC_RELAXED);
			n++;
		}
	}
	kthread_unuse_mm(c->mm);
}

static void test_faults_vs_zap(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	u64 before = test_settled_free_pages();
	u64 reclaimed0 = pt_reclaimed;
	struct race_ctx c = { .mm = mm_create(), .leader = cpumask_first(&cpu_online_mask) };
	KTEST_ASSERT_TRUE(t, c.mm);
	KTEST_ASSERT_TRUE(t, do_mmap(c.mm, BASE, 2 * SPAN2M, RW, ANON | MAP_FIXED, -1, 0) == (long)BASE);
	do_madvise(c.mm, BASE, 2 * SPAN2M, MADV_NOHUGEPAGE);
	ktest_on_cpus(&cpu_online_mask, race_worker, &c);
	char why[160] = "";
	int problems = mm_check_counts(c.mm, why, sizeof(why));
	ktest_log(t, "%lu zaps against faults on %u CPUs; %lu page tables freed; %u failed accesses, %u wrong values, %u poison; %s",
		  c.zaps, num_online_cpus() - 1, pt_reclaimed - reclaimed0, c.failed, c.bad,
		  c.poison, problems ? why : "counts consistent");
	KTEST_EXPECT_EQ(t, c.failed, 0);
	KTEST_EXPECT_EQ(t, c.bad, 0);
	KTEST_EXPECT_EQ(t, c.poison, 0);
	KTEST_EXPECT_EQ(t, problems, 0);
	mm_put(c.mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* --- a PTE table refilled while the zap had dropped its lock --- */

/* The zap of one whole PTE table drops the table's lock when its gather
 * fills (the pages are freed unlocked, as Linux does). In that window a
 * fault on another CPU maps a page at an address the zap has already
 * passed. The walk's count of empty entries then says "all 512 empty", but
 * the table is not: only a re-scan under both locks may decide (Linux's
 * 2025 bug freed it). Made deterministic: the gather's batch pages are
 * refused (fault injection), so it fills after its 8 built-in slots; the
 * zap's unlocked hook then asks CPU `helper` to fault, and waits. */
#define REFILL_PAGES 16
#define REFILL_VALUE 0x5eed5eed5eedUL

static struct refill_ctx {
	struct mm_struct *mm;
	u32 go, done, stop;
	int err;
	u32 hooks;
} refill;

static void refill_hook(struct mm_struct *mm, u64 addr)
{
	(void)addr;
	if (mm != refill.mm || refill.hooks++)
		return;         /* only the first window */
	fail_page_alloc_set(0, 0);      /* the helper's fault needs a page */
	__atomic_store_n(&refill.go, 1, __ATOMIC_SEQ_CST);
	test_wait_until(&refill.done, 1);
}

static void refill_helper(void *arg)
{
	(void)arg;
	kthread_use_mm(refill.mm);
	while (!__atomic_load_n(&refill.go, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&refill.stop, __ATOMIC_SEQ_CST))
		cpu_relax();
	if (__atomic_load_n(&refill.go, __ATOMIC_SEQ_CST))
		refill.err = test_put_u64(refill.mm, BASE, REFILL_VALUE);  /* entry 0: zapped already */
	kthread_unuse_mm(refill.mm);
	__atomic_store_n(&refill.done, 1, __ATOMIC_SEQ_CST);
}

static void refill_zapper(long *ret)
{
	fail_page_alloc_set(1, 1);      /* every allocation fails: no batch pages */
	*ret = do_madvise(refill.mm, BASE, SPAN2M, MADV_DONTNEED);
	fail_page_alloc_set(0, 0);
	__atomic_store_n(&refill.stop, 1, __ATOMIC_SEQ_CST);
}

static u32 refill_zap_cpu;

static void refill_worker(void *arg)
{
	if (smp_processor_id() == refill_zap_cpu)
		refill_zapper(arg);
	else
		refill_helper(NULL);
}

/* One round: fill the table, zap it with the helper refilling an entry in
 * the unlocked window, and check that entry survived, mapped and counted. */
static void refill_round(struct ktest *t)
{
	u64 rescans0 = pt_reclaim_rescans, reclaimed0 = pt_reclaimed;
	refill = (struct refill_ctx){ .mm = mm_create() };
	KTEST_ASSERT_TRUE(t, refill.mm);
	KTEST_ASSERT_TRUE(t, do_mmap(refill.mm, BASE, SPAN2M, RW, ANON | MAP_FIXED, -1, 0) == (long)BASE);
	do_madvise(refill.mm, BASE, SPAN2M, MADV_NOHUGEPAGE);
	kthread_use_mm(refill.mm);
	for (u32 i = 0; i < REFILL_PAGES; i++)
		test_put_u64(refill.mm, BASE + P(i), i + 1);
	kthread_unuse_mm(refill.mm);
	refill_zap_cpu = cpumask_first(&cpu_online_mask);
	u32 helper = ktest_other_cpu(refill_zap_cpu);
	long ret = -1;
	zap_debug_unlocked_hook = refill_hook;
	ktest_on_cpu_pair(refill_zap_cpu, helper, refill_worker, &ret);
	zap_debug_unlocked_hook = NULL;
	KTEST_EXPECT_EQ(t, ret, 0);
	KTEST_EXPECT_EQ(t, refill.hooks >= 1, 1);
	KTEST_EXPECT_EQ(t, refill.err, 0);
	/* The helper's page must still be there, mapped and counted. */
	u64 v = 0;
	kthread_use_mm(refill.mm);
	int gerr = test_get_u64(refill.mm, BASE, &v);
	kthread_unuse_mm(refill.mm);
	char why[160] = "";
	int problems = mm_check_counts(refill.mm, why, sizeof(why));
	ktest_log(t, "lock dropped %u times mid-table; the refill %s; %lu rescans, %lu tables freed; %s",
		  refill.hooks, v == REFILL_VALUE ? "survived" : "was lost",
		  pt_reclaim_rescans - rescans0, pt_reclaimed - reclaimed0,
		  problems ? why : "counts consistent");
	KTEST_EXPECT_EQ(t, gerr, 0);
	KTEST_EXPECT_EQ(t, v, REFILL_VALUE);
	KTEST_EXPECT_EQ(t, problems, 0);
	mm_put(refill.mm);
}

static void test_refill_while_unlocked(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	bool saved = pt_reclaim;
	pt_reclaim = true;
	/* Twice, and the leak check on the second round only: the first
	 * warms up what the kernel keeps once made (as reclaim_sparse does),
	 * which would count as a leak when this case runs alone. */
	refill_round(t);
	u64 before = test_settled_free_pages();
	refill_round(t);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
	pt_reclaim = saved;
}

/* --- MADV_REMOVE: a hole in a shared object, for every mapper --- */

#define SHARED (MAP_SHARED | MAP_ANONYMOUS)
#define REMOVE_PAGES 4

/* Four shared pages holding 0x100 + i, in a parent and its fork child that
 * both map them. */
static struct mm_struct *remove_setup(struct ktest *t, struct mm_struct **child)
{
	struct mm_struct *mm = mm_create();
	*child = NULL;
	if (!mm)
		return NULL;
	if (do_mmap(mm, BASE, P(REMOVE_PAGES), RW, SHARED | MAP_FIXED, -1, 0) != (long)BASE)
		goto fail;
	kthread_use_mm(mm);
	for (u32 i = 0; i < REMOVE_PAGES; i++)
		test_put_u64(mm, BASE + P(i), 0x100 + i);
	kthread_unuse_mm(mm);
	if (mm_fork(mm, child))
		goto fail;
	return mm;
fail:
	KTEST_EXPECT_TRUE(t, false);
	mm_put(mm);
	return NULL;
}

/* Page i of mm reads v (through faults, as its program would). */
static bool reads(struct mm_struct *mm, u32 i, u64 v)
{
	u64 got = ~0UL;
	kthread_use_mm(mm);
	test_get_u64(mm, BASE + P(i), &got);
	kthread_unuse_mm(mm);
	return got == v;
}

/* A parent punches pages 1 and 2 of an object its child maps too, while a
 * pin (the child's, through GUP) holds page 1: both read zeros there, the
 * pin holder still sees the old page, which goes when the pin does; writes
 * after the punch land in the object's new pages, seen by both. */
static void test_remove_pinned(struct ktest *t)
{
	u64 before = test_settled_free_pages();
	struct mm_struct *child, *mm = remove_setup(t, &child);
	KTEST_ASSERT_TRUE(t, mm);
	struct page *pin = pin_user_page(child, BASE + P(1), false);
	KTEST_ASSERT_TRUE(t, pin);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE + P(1), P(2), MADV_REMOVE), 0);
	bool zeros = reads(mm, 1, 0) && reads(mm, 2, 0) && reads(child, 1, 0) && reads(child, 2, 0);
	bool kept = reads(mm, 0, 0x100) && reads(mm, 3, 0x103) && reads(child, 0, 0x100) &&
		    reads(child, 3, 0x103);
	u64 pinned = *(u64 *)page_address(pin);
	s32 pin_refs = page_refcount(pin);
	char why[160] = "";
	int problems = mm_check_counts(mm, why, sizeof(why)) +
		       mm_check_counts(child, why, sizeof(why));
	kthread_use_mm(child);
	test_put_u64(child, BASE + P(1), 7);
	kthread_unuse_mm(child);
	bool shared_after = reads(mm, 1, 7);
	u64 free0 = test_settled_free_pages();
	put_page(pin);
	u64 freed = test_settled_free_pages() - free0;
	ktest_log(t, "after the punch: hole %s for both, rest %s; the pin sees %lx with %d "
		  "reference(s); dropping it freed %lu page(s); %s",
		  zeros ? "zero" : "NOT zero", kept ? "kept" : "LOST", pinned, pin_refs, freed,
		  problems ? why : "counts consistent");
	KTEST_EXPECT_TRUE(t, zeros);
	KTEST_EXPECT_TRUE(t, kept);
	KTEST_EXPECT_EQ(t, pinned, 0x101);
	KTEST_EXPECT_EQ(t, pin_refs, 1);
	KTEST_EXPECT_EQ(t, problems, 0);
	KTEST_EXPECT_TRUE(t, shared_after);
	KTEST_EXPECT_EQ(t, freed, 1);
	mm_put(child);
	mm_put(mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* The punch while other CPUs hold hot translations of the pages, in the
 * child's address space and in the parent's own: once MADV_REMOVE has
 * returned, no CPU may read the old contents (each mapper's TLB was flushed
 * through its mmu_gather before the pages went). */
#define REMOVE_ROUNDS 8

struct remove_ctx {
	struct mm_struct *mm, *child;
	u32 leader, round, ready, done, readers, stale;
	long ret;
};

static void remove_reader(struct remove_ctx *c, struct mm_struct *mm)
{
	for (u32 r = 1; r <= REMOVE_ROUNDS; r++) {
		u64 v;
		test_wait_until(&c->round, 2 * r - 1);  /* the leader filled the pages */
		for (u32 i = 0; i < REMOVE_PAGES; i++)
			test_get_u64(mm, BASE + P(i), &v);      /* hot translations */
		__atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->round, 2 * r);      /* the punch returned */
		for (u32 i = 0; i < REMOVE_PAGES; i++)
			if (test_read_nofault(BASE + P(i), &v) == 0 && v != 0)
				__atomic_add_fetch(&c->stale, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&c->done, 1, __ATOMIC_SEQ_CST);
	}
}

static void remove_leader(struct remove_ctx *c)
{
	for (u32 r = 1; r <= REMOVE_ROUNDS; r++) {
		for (u32 i = 0; i < REMOVE_PAGES; i++)
			test_put_u64(c->mm, BASE + P(i), 0x1000 * r + i);
		__atomic_store_n(&c->round, 2 * r - 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->ready, r * c->readers);
		long ret = do_madvise(c->mm, BASE, P(REMOVE_PAGES), MADV_REMOVE);
		if (ret)
			c->ret = ret;
		__atomic_store_n(&c->round, 2 * r, __ATOMIC_SEQ_CST);
		test_wait_until(&c->done, r * c->readers);
	}
}

static void remove_worker(void *arg)
{
	struct remove_ctx *c = arg;
	u32 cpu = smp_processor_id();
	/* Readers alternate: the child's mm, then the parent's. */
	struct mm_struct *mm = cpu == c->leader || (cpu & 1) == 0 ? c->mm : c->child;
	kthread_use_mm(mm);
	if (cpu == c->leader)
		remove_leader(c);
	else
		remove_reader(c, mm);
	kthread_unuse_mm(mm);
}

static void test_remove_vs_readers(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	u64 before = test_settled_free_pages();
	struct remove_ctx c = { .leader = cpumask_first(&cpu_online_mask),
				.readers = num_online_cpus() - 1 };
	c.mm = remove_setup(t, &c.child);
	KTEST_ASSERT_TRUE(t, c.mm);
	ktest_on_cpus(&cpu_online_mask, remove_worker, &c);
	char why[160] = "";
	int problems = mm_check_counts(c.mm, why, sizeof(why)) +
		       mm_check_counts(c.child, why, sizeof(why));
	ktest_log(t, "%u punches of %u pages read hot by %u CPUs (two address spaces): "
		  "%u stale reads; %s", REMOVE_ROUNDS, REMOVE_PAGES, c.readers, c.stale,
		  problems ? why : "counts consistent");
	KTEST_EXPECT_EQ(t, c.ret, 0);
	KTEST_EXPECT_EQ(t, c.stale, 0);
	KTEST_EXPECT_EQ(t, problems, 0);
	mm_put(c.child);
	mm_put(c.mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* Faults in both address spaces into pages a third CPU keeps punching: a
 * fault that fetched a page just before the punch took it out of the
 * object must not map it (it would keep a private copy of what should be
 * shared). Afterwards every page is one page for both address spaces: a
 * write by one is read by the other. No access fails, no byte is foreign or
 * poison, the counts are consistent, every page comes back. */
#define PUNCH_ROUNDS 200

struct punch_ctx {
	struct mm_struct *mm, *child;
	u32 leader, stop, started;
	u32 bad, poison, failed;
};

static void punch_faulter(struct punch_ctx *c, struct mm_struct *mm, u32 cpu)
{
	__atomic_add_fetch(&c->started, 1, __ATOMIC_SEQ_CST);
	for (u64 n = 0; !__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST); n++) {
		u64 a = BASE + P(n % REMOVE_PAGES) + 8 * cpu, want = ((u64)cpu << 32) | n, v = 0;
		if (test_put_u64(mm, a, want) || test_get_u64(mm, a, &v))
			__atomic_add_fetch(&c->failed, 1, __ATOMIC_RELAXED);
		else if (v == 0xaaaaaaaaaaaaaaaaUL)
			__atomic_add_fetch(&c->poison, 1, __ATOMIC_RELAXED);
		else if (!want_or_zero(v, want))
			__atomic_add_fetch(&c->bad, 1, __ATOMIC_RELAXED);
	}
}

static void punch_worker(void *arg)
{
	struct punch_ctx *c = arg;
	u32 cpu = smp_processor_id();
	struct mm_struct *mm = cpu == c->leader || (cpu & 1) == 0 ? c->mm : c->child;
	kthread_use_mm(mm);
	if (cpu == c->leader) {
		test_wait_until(&c->started, num_online_cpus() - 1);
		for (u32 r = 0; r < PUNCH_ROUNDS; r++)
			do_madvise(mm, BASE + P(r % 2), P(REMOVE_PAGES - r % 2), MADV_REMOVE);
		__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
	} else {
		punch_faulter(c, mm, cpu);
	}
	kthread_unuse_mm(mm);
}

/* Pages whose write through one address space the other does not read. */
static u32 split_pages(struct mm_struct *a, struct mm_struct *b)
{
	u32 split = 0;
	for (u32 i = 0; i < REMOVE_PAGES; i++) {
		kthread_use_mm(a);
		test_put_u64(a, BASE + P(i), 0x5150 + i);
		kthread_unuse_mm(a);
		split += !reads(b, i, 0x5150 + i);
	}
	return split;
}

static void test_remove_vs_faults(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	u64 before = test_settled_free_pages();
	struct punch_ctx c = { .leader = cpumask_first(&cpu_online_mask) };
	c.mm = remove_setup(t, &c.child);
	KTEST_ASSERT_TRUE(t, c.mm);
	ktest_on_cpus(&cpu_online_mask, punch_worker, &c);
	u32 split = split_pages(c.mm, c.child) + split_pages(c.child, c.mm);
	char why[160] = "";
	int problems = mm_check_counts(c.mm, why, sizeof(why)) +
		       mm_check_counts(c.child, why, sizeof(why));
	ktest_log(t, "%u punches against faults in two address spaces: %u failed accesses, "
		  "%u wrong values, %u poison, %u pages no longer shared; %s", PUNCH_ROUNDS,
		  c.failed, c.bad, c.poison, split, problems ? why : "counts consistent");
	KTEST_EXPECT_EQ(t, c.failed, 0);
	KTEST_EXPECT_EQ(t, c.bad, 0);
	KTEST_EXPECT_EQ(t, c.poison, 0);
	KTEST_EXPECT_EQ(t, split, 0);
	KTEST_EXPECT_EQ(t, problems, 0);
	mm_put(c.child);
	mm_put(c.mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* The window of a fault on shared memory between fetching the object's
 * page and taking its PTE lock, made deterministic: the child's read of
 * page 1 (unmapped in the child by DONTNEED) fetches the old page, and
 * fault_debug_shared_hook then has another CPU punch page 1 through the
 * parent, and waits. The fault must see, under its PTE lock, that the
 * object let the page go, and retry: it reads zero, and the page stays
 * shared with the parent. */
static struct window_ctx {
	struct mm_struct *mm, *child;
	u32 go, done, stop, hooks;
	long punched;
	u64 read;
} window;

static void window_hook(struct mm_struct *mm, u64 addr)
{
	(void)addr;
	if (mm != window.child || window.hooks++)
		return;         /* only the first fault: its retry goes through */
	__atomic_store_n(&window.go, 1, __ATOMIC_SEQ_CST);
	test_wait_until(&window.done, 1);
}

static u32 window_fault_cpu;

static void window_worker(void *arg)
{
	(void)arg;
	if (smp_processor_id() == window_fault_cpu) {
		kthread_use_mm(window.child);
		test_get_u64(window.child, BASE + P(1), &window.read);
		kthread_unuse_mm(window.child);
		__atomic_store_n(&window.stop, 1, __ATOMIC_SEQ_CST);
		return;
	}
	while (!__atomic_load_n(&window.go, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&window.stop, __ATOMIC_SEQ_CST))
		cpu_relax();
	if (__atomic_load_n(&window.go, __ATOMIC_SEQ_CST))
		window.punched = do_madvise(window.mm, BASE + P(1), P(1), MADV_REMOVE);
	__atomic_store_n(&window.done, 1, __ATOMIC_SEQ_CST);
}

static void test_remove_fault_window(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	u64 before = test_settled_free_pages();
	window = (struct window_ctx){ .read = ~0UL, .punched = -1 };
	window.mm = remove_setup(t, &window.child);
	KTEST_ASSERT_TRUE(t, window.mm);
	KTEST_EXPECT_EQ(t, do_madvise(window.child, BASE + P(1), P(1), MADV_DONTNEED), 0);
	window_fault_cpu = cpumask_first(&cpu_online_mask);
	u32 puncher = ktest_other_cpu(window_fault_cpu);
	fault_debug_shared_hook = window_hook;
	ktest_on_cpu_pair(window_fault_cpu, puncher, window_worker, NULL);
	fault_debug_shared_hook = NULL;
	u32 split = split_pages(window.mm, window.child);
	char why[160] = "";
	int problems = mm_check_counts(window.mm, why, sizeof(why)) +
		       mm_check_counts(window.child, why, sizeof(why));
	ktest_log(t, "punch inside the fault's window (%u hook call(s)): the fault read %lx; "
		  "%u page(s) no longer shared; %s", window.hooks, window.read, split,
		  problems ? why : "counts consistent");
	KTEST_EXPECT_EQ(t, window.punched, 0);
	KTEST_EXPECT_TRUE(t, window.hooks >= 1);
	KTEST_EXPECT_EQ(t, window.read, 0);
	KTEST_EXPECT_EQ(t, split, 0);
	KTEST_EXPECT_EQ(t, problems, 0);
	mm_put(window.child);
	mm_put(window.mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

/* fork against punches: the parent forks again and again while another
 * address space (its first child) keeps punching the object and the other
 * CPUs keep writing the pages back through the parent. fork copies the
 * shared entries without page-table locks, under the object's mappers
 * lock: every child must map only pages the object still holds
 * (mm_check_counts compares each shared entry with the object). */
#define FORK_ROUNDS 60

struct fork_ctx {
	struct mm_struct *mm, *puncher_mm;
	u32 leader, puncher, stop, started;
	u32 pause, paused;      /* the check of a child runs with no punch */
	u32 forks, failed, problems;
	char why[160];
};

/* mm_check_counts' page walk must not race with a punch of the child
 * (mm/mm_debug.h): hold the puncher between two punches meanwhile. A
 * stale page fork copied is still there then - the next punch would
 * have removed it. */
static int fork_check(struct fork_ctx *c, struct mm_struct *child)
{
	char why[160];
	__atomic_store_n(&c->pause, 1, __ATOMIC_SEQ_CST);
	test_wait_until(&c->paused, 1);
	int problems = mm_check_counts(child, why, sizeof(why));
	__atomic_store_n(&c->pause, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&c->paused, __ATOMIC_SEQ_CST))
		cpu_relax();    /* it saw the release: the next pause is seen */
	if (problems && !c->problems)
		memcpy(c->why, why, sizeof(why));
	return problems;
}

static void fork_leader(struct fork_ctx *c)
{
	test_wait_until(&c->started, num_online_cpus() - 1);
	for (u32 r = 0; r < FORK_ROUNDS; r++) {
		struct mm_struct *child;
		if (mm_fork(c->mm, &child)) {
			c->failed++;
			continue;
		}
		c->forks++;
		if (fork_check(c, child))
			c->problems++;
		mm_put(child);
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
}

static void fork_puncher(struct fork_ctx *c)
{
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&c->pause, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&c->paused, 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&c->pause, __ATOMIC_SEQ_CST))
				cpu_relax();
			__atomic_store_n(&c->paused, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		do_madvise(c->puncher_mm, BASE, P(REMOVE_PAGES), MADV_REMOVE);
	}
}

static void fork_worker(void *arg)
{
	struct fork_ctx *c = arg;
	u32 cpu = smp_processor_id();
	if (cpu == c->leader) {
		fork_leader(c);
		return;
	}
	__atomic_add_fetch(&c->started, 1, __ATOMIC_SEQ_CST);
	if (cpu == c->puncher) {
		fork_puncher(c);
		return;
	}
	kthread_use_mm(c->mm);
	for (u64 n = 0; !__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST); n++)
		test_put_u64(c->mm, BASE + P(n % REMOVE_PAGES) + 8 * cpu, n);
	kthread_unuse_mm(c->mm);
}

static void test_remove_vs_fork(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	u64 before = test_settled_free_pages();
	struct fork_ctx c = { .leader = cpumask_first(&cpu_online_mask) };
	c.puncher = ktest_other_cpu(c.leader);
	c.mm = remove_setup(t, &c.puncher_mm);
	KTEST_ASSERT_TRUE(t, c.mm);
	ktest_on_cpus(&cpu_online_mask, fork_worker, &c);
	ktest_log(t, "%u forks against punches: %u failed, %u children with a problem%s%s",
		  c.forks, c.failed, c.problems, c.problems ? ": " : "", c.problems ? c.why : "");
	KTEST_EXPECT_EQ(t, c.forks, FORK_ROUNDS);
	KTEST_EXPECT_EQ(t, c.problems, 0);
	mm_put(c.puncher_mm);
	mm_put(c.mm);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
}

static const struct ktest_case madvise_cases[] = {
	{ "reclaim_sparse", test_reclaim_sparse },
	{ "reclaim_keeps_used", test_reclaim_keeps_used },
	{ "reclaim_fast_path", test_reclaim_fast_path },
	{ "vector_one_flush", test_vector_one_flush },
	{ "faults_vs_zap", test_faults_vs_zap },
	{ "refill_while_unlocked", test_refill_while_unlocked },
	{ "remove_pinned", test_remove_pinned },
	{ "remove_vs_readers", test_remove_vs_readers },
	{ "remove_vs_faults", test_remove_vs_faults },
	{ "remove_fault_window", test_remove_fault_window },
	{ "remove_vs_fork", test_remove_vs_fork },
};

KTEST_SUITE(madvise, madvise_cases);
