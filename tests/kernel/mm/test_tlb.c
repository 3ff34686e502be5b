/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_tlb.c - the "tlb" suite: TLB shootdown, the mmu_gather and RCU
 * freeing of page tables, on real virtual CPUs.
 *
 * Under QEMU each virtual CPU keeps its own TLB and honours only INVLPG and
 * CR3 writes, so a flush that never reached a CPU leaves it really reading
 * the old page. The tests look for exactly that, with reads and writes that
 * do not resolve faults (test_read_nofault): such an access succeeds only
 * through a present translation, cached or walked - after an unmap it must
 * fail.
 *
 * Each safety mechanism has a switch that breaks it, and tools/run-tests
 * boots this suite with each switch and requires it to fail:
 *   tlb_debug_skip_remote_flush   stale_after_change, lazy_catch_up fail
 *   tlb_debug_flush_by_call       ipis_reach_mm_cpus_only fails
 *   tlb_debug_free_before_flush   poison_never_read fails
 *   tlb_debug_free_tables_now     walkers_vs_table_free fails
 *   tlb_debug_ignore_nested       nested_gather fails
 *   rcu_debug_no_grace_period     walkers_vs_table_free fails
 */
#include "kernel/ktest.h"
#include "kernel/cmdline.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/rcu.h"
#include "kernel/printk.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/tlbflush.h"
#include "mm/mmu_gather.h"
#include "mm/gup_fast.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/fault_inject.h"
#include "tests/kernel/mm/test_user.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

#define BASE 0x0000200000000000UL       /* 32 TiB: its own top-level slot */
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define POISON64 0xaaaaaaaaaaaaaaaaUL   /* freed pages, debug build (PAGE_POISON) */

/* These tests count 4 KiB pages and page tables: keep THP (mm/thp.h) out
 * of their mappings whatever "thp=" says. */
#define MADV_NOHUGEPAGE 15
static long map_small(struct mm_struct *mm, u64 addr, u64 len, u64 prot, u64 flags, int fd, u64 off)
{
	long r = do_mmap(mm, addr, len, prot, flags & ~(u64)MAP_POPULATE, fd, off);
	if (r >= 0) {
		do_madvise(mm, (u64)r, len, MADV_NOHUGEPAGE);
		if (flags & MAP_POPULATE)       /* as MAP_POPULATE would, after it */
			do_madvise(mm, (u64)r, len, (prot & PROT_WRITE) ? 23 /* MADV_POPULATE_WRITE */
								: 22 /* MADV_POPULATE_READ */);
	}
	return r;
}

static u32 online_count(void) { return num_online_cpus(); }
static u32 first_cpu(void) { return cpumask_first(&cpu_online_mask); }

static void bump(u32 *var)
{
	__atomic_add_fetch(var, 1, __ATOMIC_SEQ_CST);
}

/* --- 1. after munmap / mprotect / remap returns, no CPU sees the old page --- */

#define STALE_ROUNDS 40

struct stale_ctx {
	struct mm_struct *mm;
	u32 leader, readers;
	u32 rounds;             /* STALE_ROUNDS, or fewer (tlb_stale_rounds=) */
	u32 phase;              /* 2r+1: round r mapped; 2r+2: round r changed */
	u32 ready;              /* readers done with a phase, cumulative */
	u32 stale, poison, errors;
	u32 kind[STALE_ROUNDS];
};

enum { CHANGE_MUNMAP, CHANGE_PROTNONE, CHANGE_REMAP, CHANGE_READONLY, CHANGE_KINDS };

static u64 round_value(u32 r) { return 0x1000 + r; }
static u64 remap_value(u32 r) { return 0x2000 + r; }

static void stale_leader(struct stale_ctx *c)
{
	for (u32 r = 0; r < c->rounds; r++) {
		u32 kind = r % CHANGE_KINDS;
		c->kind[r] = kind;
		if (map_small(c->mm, BASE, P(1), RW, ANON | MAP_FIXED, -1, 0) != (long)BASE ||
		    test_put_u64(c->mm, BASE, round_value(r)))
			c->errors++;
		__atomic_store_n(&c->phase, 2 * r + 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->ready, (2 * r + 1) * c->readers);
		/* Every reader now holds a cached translation of BASE. */
		long err = 0;
		switch (kind) {
		case CHANGE_MUNMAP:
			err = do_munmap_range(c->mm, BASE, P(1));
			break;
		case CHANGE_PROTNONE:
			err = do_mprotect(c->mm, BASE, P(1), PROT_NONE);
			break;
		case CHANGE_READONLY:
			err = do_mprotect(c->mm, BASE, P(1), PROT_READ);
			break;
		case CHANGE_REMAP:
			/* A new page at the same address, with new contents. */
			if (map_small(c->mm, BASE, P(1), RW, ANON | MAP_FIXED, -1, 0) != (long)BASE)
				err = -ENOMEM;
			else
				err = test_put_u64(c->mm, BASE, remap_value(r));
			break;
		}
		if (err)
			c->errors++;
		/* The call returned: from now on the old state is gone everywhere. */
		__atomic_store_n(&c->phase, 2 * r + 2, __ATOMIC_SEQ_CST);
		test_wait_until(&c->ready, (2 * r + 2) * c->readers);
	}
}

static void stale_reader(struct stale_ctx *c)
{
	u64 v;
	for (u32 r = 0; r < c->rounds; r++) {
		test_wait_until(&c->phase, 2 * r + 1);
		/* Fill the TLB: read until the leader's value shows. */
		u32 tries = 0;
		while (test_read_nofault(BASE, &v) || v != round_value(r)) {
			test_get_u64(c->mm, BASE, &v);
			if (++tries > 1000) {
				bump(&c->errors);
				break;
			}
		}
		bump(&c->ready);
		test_wait_until(&c->phase, 2 * r + 2);
		int got = test_read_nofault(BASE, &v);
		bool bad;
		switch (c->kind[r]) {
		case CHANGE_MUNMAP:
		case CHANGE_PROTNONE:
			bad = got == 0;         /* must fault now */
			break;
		case CHANGE_READONLY:
			bad = test_write_nofault(BASE, v) == 0; /* a write must fault */
			break;
		default:
			/* The new page or a fault (not yet walked): never the old. */
			bad = got == 0 && v != remap_value(r);
			break;
		}
		if (got == 0 && v == POISON64)
			bump(&c->poison);
		if (bad)
			bump(&c->stale);
		bump(&c->ready);
	}
}

static void stale_worker(void *arg)
{
	struct stale_ctx *c = arg;
	kthread_use_mm(c->mm);
	if (smp_processor_id() == c->leader)
		stale_leader(c);
	else
		stale_reader(c);
	kthread_unuse_mm(c->mm);
}

static void test_stale_after_change(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	/* A machine with many emulated CPUs may ask for fewer rounds (at
	 * least one of each kind of change): every round waits for all. */
	long rounds = cmdline_long("tlb_stale_rounds", STALE_ROUNDS);
	struct stale_ctx c = { .mm = mm_create(), .leader = first_cpu(), .readers = online_count() - 1,
			       .rounds = (u32)MIN(MAX(rounds, (long)CHANGE_KINDS), (long)STALE_ROUNDS) };
	KTEST_ASSERT_TRUE(t, c.mm);
	ktest_on_cpus(&cpu_online_mask, stale_worker, &c);
	ktest_log(t, "%u rounds of munmap/PROT_NONE/remap/read-only with %u readers: %u stale, %u poison",
		  c.rounds, c.readers, c.stale, c.poison);
	KTEST_EXPECT_EQ(t, c.errors, 0);
	KTEST_EXPECT_EQ(t, c.stale, 0);
	KTEST_EXPECT_EQ(t, c.poison, 0);
	mm_put(c.mm);
}

/* --- 2. a freed page is never read through a stale entry (free after flush) --- */

/* Each round the readers cache translations of 16 written pages, then turn
 * interrupts off - so a flush IPI waits for them - and watch mm->tlb_gen.
 * When it moves, the unmapping CPU is inside flush_tlb_mm_range(), waiting
 * for their acks: with the rule kept, the pages are still allocated and
 * read back intact; with "free before flush" they were freed (and
 * poisoned) just before, and the stale entries show the poison. No race
 * window to hit: the readers hold the flush back themselves. */
#define POISON_ROUNDS 40
#define POISON_PAGES 16
#define POISON_SPIN_LIMIT 200000000UL   /* a bound, in case no flush comes */

struct poison_ctx {
	struct mm_struct *mm;
	u32 leader, readers;
	u32 phase;              /* 2r+1: round r mapped; 2r+2: readers armed */
	u32 ready, armed, done;
	u32 poison, errors, timeouts;
	u64 reads;
};

static void poison_leader(struct poison_ctx *c)
{
	for (u32 r = 0; r < POISON_ROUNDS; r++) {
		if (map_small(c->mm, BASE, P(POISON_PAGES), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0) != (long)BASE)
			c->errors++;
		for (u32 i = 0; i < POISON_PAGES; i++)
			test_put_u64(c->mm, BASE + P(i), 0x5a5a0000 + r);
		__atomic_store_n(&c->phase, 2 * r + 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->armed, (r + 1) * c->readers);
		do_munmap_range(c->mm, BASE, P(POISON_PAGES));
		test_wait_until(&c->done, (r + 1) * c->readers);
	}
}

static void poison_reader(struct poison_ctx *c)
{
	u64 v, n = 0;
	for (u32 r = 0; r < POISON_ROUNDS; r++) {
		test_wait_until(&c->phase, 2 * r + 1);
		for (u32 i = 0; i < POISON_PAGES; i++)             /* fill the TLB */
			if (test_get_u64(c->mm, BASE + P(i), &v) || v != 0x5a5a0000 + r)
				bump(&c->errors);
		u64 f = local_irq_save();
		u64 gen = __atomic_load_n(&c->mm->tlb_gen, __ATOMIC_SEQ_CST);
		bump(&c->armed);
		u64 spins = 0;
		while (__atomic_load_n(&c->mm->tlb_gen, __ATOMIC_SEQ_CST) == gen &&
		       spins < POISON_SPIN_LIMIT) {
			cpu_relax();
			spins++;
		}
		if (spins == POISON_SPIN_LIMIT)
			bump(&c->timeouts);
		/* The unmapper now waits for our ack: through our cached
		 * entries, the pages must still hold what was written. */
		for (u32 i = 0; i < POISON_PAGES; i++, n++)
			if (test_read_nofault(BASE + P(i), &v) == 0 && v == POISON64)
				bump(&c->poison);
		local_irq_restore(f);
		bump(&c->done);
	}
	__atomic_add_fetch(&c->reads, n, __ATOMIC_RELAXED);
}

static void poison_worker(void *arg)
{
	struct poison_ctx *c = arg;
	kthread_use_mm(c->mm);
	if (smp_processor_id() == c->leader)
		poison_leader(c);
	else
		poison_reader(c);
	kthread_unuse_mm(c->mm);
}

static void test_poison_never_read(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct poison_ctx c = { .mm = mm_create(), .leader = first_cpu(), .readers = online_count() - 1 };
	KTEST_ASSERT_TRUE(t, c.mm);
	ktest_on_cpus(&cpu_online_mask, poison_worker, &c);
	ktest_log(t, "%u unmaps of %u pages held back by %u readers with interrupts off: %lu reads, %u saw poison",
		  POISON_ROUNDS, POISON_PAGES, c.readers, c.reads, c.poison);
	KTEST_EXPECT_EQ(t, c.errors, 0);
	KTEST_EXPECT_EQ(t, c.timeouts, 0);
	KTEST_EXPECT_EQ(t, c.poison, 0);
	mm_put(c.mm);
}

/* --- 3. IPIs go where the address space is, once per flush; lazy CPUs --- */

struct ipi_ctx {
	struct mm_struct *mm;
	u32 leader, lazy_cpu, other_holder;
	cpumask_t holders;      /* CPUs keeping mm loaded (leader included) */
	u32 phase, ready, errors;
	/* Measured by the leader: IPIs received per CPU in each step. */
	u64 recv[5][MAX_CPUS];
	u64 flushes[5];         /* mm's NR_TLB_REMOTE_FLUSH at each point */
	/* Measured by the lazy CPU. */
	u32 lazy_stale;
	bool left_on_table_free;
	u64 caught_up_flushes;
};

static u64 received(u32 cpu) { return tlb_stat_cpu(cpu, NR_TLB_REMOTE_FLUSH_RECEIVED); }

static void ipi_snapshot(struct ipi_ctx *c, int step)
{
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
		c->recv[step][cpu] = received(cpu);
	c->flushes[step] = __atomic_load_n(&c->mm->tlb_stat[NR_TLB_REMOTE_FLUSH], __ATOMIC_SEQ_CST);
}

static void set_lazy(struct mm_struct *mm, bool lazy)
{
	u64 f = local_irq_save();
	if (lazy) {
		current_thread()->mm = NULL;    /* a kernel thread borrowing the tables */
		enter_lazy_tlb();
	} else {
		current_thread()->mm = mm;
		switch_mm(NULL, mm);
	}
	local_irq_restore(f);
}

static const u64 FAR = BASE + (1UL << 39);      /* another top-level slot */

static void ipi_leader(struct ipi_ctx *c)
{
	test_wait_until(&c->ready, 2);                       /* both holders cached page 0 */
	ipi_snapshot(c, 0);
	for (u32 i = 1; i <= 10; i++)                   /* (a) ten one-page unmaps */
		if (do_munmap_range(c->mm, BASE + P(i), P(1)))
			c->errors++;
	ipi_snapshot(c, 1);
	if (do_munmap_range(c->mm, BASE + P(20), P(40)))        /* (b) one of 40 pages */
		c->errors++;
	ipi_snapshot(c, 2);
	__atomic_store_n(&c->phase, 1, __ATOMIC_SEQ_CST);
	test_wait_until(&c->ready, 3);                       /* the lazy CPU is lazy */
	if (do_munmap_range(c->mm, BASE, P(1)))         /* (c) page 0: no table freed */
		c->errors++;
	__atomic_store_n(&c->phase, 2, __ATOMIC_SEQ_CST);
	test_wait_until(&c->ready, 4);                       /* caught up, lazy again */
	ipi_snapshot(c, 3);
	if (do_munmap_range(c->mm, FAR, P(1)))          /* (d) frees three tables */
		c->errors++;
	ipi_snapshot(c, 4);
	__atomic_store_n(&c->phase, 3, __ATOMIC_SEQ_CST);
}

static void ipi_holder(struct ipi_ctx *c)
{
	u32 cpu = smp_processor_id();
	u64 v;
	if (test_get_u64(c->mm, BASE, &v))              /* cache page 0 */
		bump(&c->errors);
	bump(&c->ready);
	if (cpu != c->lazy_cpu) {
		test_wait_until(&c->phase, 3);
		return;
	}
	test_wait_until(&c->phase, 1);
	set_lazy(c->mm, true);
	bump(&c->ready);
	test_wait_until(&c->phase, 2);
	/* Page 0 went while we were lazy, and nobody interrupted us: switching
	 * back must catch up on the generation before any user access. */
	u64 before = tlb_stat_cpu(cpu, NR_TLB_LOCAL_FLUSH_ALL);
	set_lazy(c->mm, false);
	c->caught_up_flushes = tlb_stat_cpu(cpu, NR_TLB_LOCAL_FLUSH_ALL) - before;
	if (test_read_nofault(BASE, &v) == 0)
		bump(&c->lazy_stale);
	set_lazy(c->mm, true);
	bump(&c->ready);
	test_wait_until(&c->phase, 3);
	/* Tables were freed meanwhile: the flush must have made us let go. */
	c->left_on_table_free = mm_loaded_on_this_cpu() != c->mm;
	set_lazy(c->mm, false);                         /* as kthread_unuse_mm expects */
}

static void ipi_worker(void *arg)
{
	struct ipi_ctx *c = arg;
	kthread_use_mm(c->mm);
	if (smp_processor_id() == c->leader)
		ipi_leader(c);
	else
		ipi_holder(c);
	kthread_unuse_mm(c->mm);
}

static void test_ipi_accounting(struct ktest *t)
{
	if (online_count() < 3) {
		ktest_skip(t, "needs three CPUs");
		return;
	}
	struct ipi_ctx c = { .mm = mm_create() };
	KTEST_ASSERT_TRUE(t, c.mm);
	/* The first three CPUs hold mm (the first one unmaps, the third goes
	 * lazy); any others never run it. */
	cpumask_t online;
	cpumask_copy(&online, &cpu_online_mask);
	u32 k = 0;
	for (u32 cpu = 0; cpu < MAX_CPUS && k < 3; cpu++) {
		if (!cpumask_test_cpu(cpu, &online))
			continue;
		__cpumask_set_cpu(cpu, &c.holders);
		if (k == 0)
			c.leader = cpu;
		else if (k == 1)
			c.other_holder = cpu;
		else
			c.lazy_cpu = cpu;
		k++;
	}
	KTEST_ASSERT_TRUE(t, map_small(c.mm, BASE, P(64), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0) == (long)BASE);
	KTEST_ASSERT_TRUE(t, map_small(c.mm, FAR, P(1), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0) == (long)FAR);
	ktest_on_cpus(&c.holders, ipi_worker, &c);
	KTEST_EXPECT_EQ(t, c.errors, 0);

	u32 h1 = c.other_holder, lz = c.lazy_cpu;
	/* (a) ten flushes, one IPI each to each other holder. */
	KTEST_EXPECT_EQ(t, c.flushes[1] - c.flushes[0], 10);
	KTEST_EXPECT_EQ(t, c.recv[1][h1] - c.recv[0][h1], 10);
	KTEST_EXPECT_EQ(t, c.recv[1][lz] - c.recv[0][lz], 10);
	/* (b) one munmap of 40 pages is one flush. */
	KTEST_EXPECT_EQ(t, c.flushes[2] - c.flushes[1], 1);
	KTEST_EXPECT_EQ(t, c.recv[2][h1] - c.recv[1][h1], 1);
	KTEST_EXPECT_EQ(t, c.recv[2][lz] - c.recv[1][lz], 1);
	/* (c) lazy CPUs are left alone by ordinary flushes, and catch up when
	 * they switch back (one full flush, and the page is gone). */
	KTEST_EXPECT_EQ(t, c.recv[3][h1] - c.recv[2][h1], 1);
	KTEST_EXPECT_EQ(t, c.recv[3][lz] - c.recv[2][lz], 0);
	KTEST_EXPECT_EQ(t, c.caught_up_flushes, 1);
	KTEST_EXPECT_EQ(t, c.lazy_stale, 0);
	/* (d) freeing tables interrupts lazy CPUs too, and they let go. */
	KTEST_EXPECT_EQ(t, c.recv[4][lz] - c.recv[3][lz], 1);
	KTEST_EXPECT_TRUE(t, c.left_on_table_free);
	/* CPUs that never ran mm never heard of it. */
	u32 outsiders = 0;
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
		if (cpumask_test_cpu(cpu, &online) && !cpumask_test_cpu(cpu, &c.holders)) {
			outsiders++;
			KTEST_EXPECT_EQ(t, c.recv[4][cpu] - c.recv[0][cpu], 0);
		}
	ktest_log(t, "holders CPUs %u, %u, %u (the last lazy), %u CPUs never ran it; "
		  "%lu flushes sent IPIs", c.leader, h1, lz, outsiders, c.flushes[4] - c.flushes[0]);
	mm_put(c.mm);
}

/* --- 3b. a flush interrupts the CPUs running the mm, and no other --- */

/* Two CPUs run mm (the first unmaps, the second holds a translation); any
 * others never do. Each one-page munmap is one remote flush that the
 * holder serves once, told by the TLB-flush interrupt (VEC_TLB_FLUSH): the
 * holder waits with interrupts on and polls nothing, so it takes at least
 * one. A CPU that never ran mm is not interrupted at all. Flushing through
 * the generic cross-call is correct but fails here
 * ("tlb_debug_flush_by_call"), and so does forgetting the other CPUs. */
struct targets_ctx {
	struct mm_struct *mm;
	u32 leader, holder;
	u32 phase, ready, errors;
	u64 recv[2][MAX_CPUS];
	u64 flushes[2];
	u64 ipis[2];            /* the holder's flush interrupts */
};

#define TARGETS_UNMAPS 10

static void targets_snapshot(struct targets_ctx *c, int step)
{
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
		c->recv[step][cpu] = received(cpu);
	c->flushes[step] = __atomic_load_n(&c->mm->tlb_stat[NR_TLB_REMOTE_FLUSH], __ATOMIC_SEQ_CST);
	c->ipis[step] = tlb_flush_ipis_cpu(c->holder);
}

static void targets_worker(void *arg)
{
	struct targets_ctx *c = arg;
	kthread_use_mm(c->mm);
	if (smp_processor_id() == c->leader) {
		test_wait_until(&c->ready, 1);          /* the holder cached page 0 */
		targets_snapshot(c, 0);
		for (u32 i = 1; i <= TARGETS_UNMAPS; i++)
			if (do_munmap_range(c->mm, BASE + P(i), P(1)))
				bump(&c->errors);
		targets_snapshot(c, 1);
		__atomic_store_n(&c->phase, 1, __ATOMIC_SEQ_CST);
	} else {
		u64 v;
		if (test_get_u64(c->mm, BASE, &v))
			bump(&c->errors);
		bump(&c->ready);
		test_wait_until(&c->phase, 1);          /* keep mm loaded meanwhile */
	}
	kthread_unuse_mm(c->mm);
}

static void test_ipis_reach_mm_cpus_only(struct ktest *t)
{
	if (online_count() < 3) {
		ktest_skip(t, "needs three CPUs (one that never runs the mm)");
		return;
	}
	struct targets_ctx c = { .mm = mm_create() };
	KTEST_ASSERT_TRUE(t, c.mm);
	c.leader = first_cpu();
	c.holder = ktest_other_cpu(c.leader);
	cpumask_t both;
	cpumask_clear(&both);
	__cpumask_set_cpu(c.leader, &both);
	__cpumask_set_cpu(c.holder, &both);
	KTEST_ASSERT_TRUE(t, map_small(c.mm, BASE, P(16), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0) == (long)BASE);
	ktest_on_cpus(&both, targets_worker, &c);
	KTEST_EXPECT_EQ(t, c.errors, 0);
	KTEST_EXPECT_EQ(t, c.flushes[1] - c.flushes[0], TARGETS_UNMAPS);
	KTEST_EXPECT_EQ(t, c.recv[1][c.holder] - c.recv[0][c.holder], TARGETS_UNMAPS);
	u32 outsiders = 0, interrupted = 0;
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (!cpumask_test_cpu(cpu, &cpu_online_mask) || cpumask_test_cpu(cpu, &both))
			continue;
		outsiders++;
		if (c.recv[1][cpu] != c.recv[0][cpu])
			interrupted++;
	}
	ktest_log(t, "CPU %u unmapped, CPU %u held mm and served %lu flushes after %lu flush "
		  "interrupts; %u of %u CPUs that never ran mm were interrupted", c.leader, c.holder,
		  c.recv[1][c.holder] - c.recv[0][c.holder], c.ipis[1] - c.ipis[0], interrupted, outsiders);
	KTEST_EXPECT_GE(t, c.ipis[1] - c.ipis[0], 1);
	KTEST_EXPECT_EQ(t, interrupted, 0);
	mm_put(c.mm);
}

/* --- 4. the ceiling: per-page flushes up to it, one full flush above --- */

struct ceiling_ctx {
	struct mm_struct *mm;
	u32 leader, holder, phase, ready, errors;
	u64 one[3], all[3];     /* the holder's counters before/after each step */
};

static void ceiling_snapshot(struct ceiling_ctx *c, int i)
{
	c->one[i] = tlb_stat_cpu(c->holder, NR_TLB_LOCAL_FLUSH_ONE);
	c->all[i] = tlb_stat_cpu(c->holder, NR_TLB_LOCAL_FLUSH_ALL);
}

static void ceiling_worker(void *arg)
{
	struct ceiling_ctx *c = arg;
	kthread_use_mm(c->mm);
	if (smp_processor_id() == c->leader) {
		test_wait_until(&c->ready, 1);
		u32 ceiling = tlb_single_page_flush_ceiling;
		ceiling_snapshot(c, 0);
		if (do_munmap_range(c->mm, BASE, P(ceiling)))           /* at the ceiling */
			c->errors++;
		ceiling_snapshot(c, 1);
		if (do_munmap_range(c->mm, BASE + P(ceiling), P(ceiling + 1)))  /* above it */
			c->errors++;
		ceiling_snapshot(c, 2);
		__atomic_store_n(&c->phase, 1, __ATOMIC_SEQ_CST);
	} else {
		u64 v;
		if (test_get_u64(c->mm, BASE, &v))
			bump(&c->errors);
		bump(&c->ready);
		test_wait_until(&c->phase, 1);
	}
	kthread_unuse_mm(c->mm);
}

static void test_ceiling(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	u32 ceiling = tlb_single_page_flush_ceiling;
	if (ceiling == 0 || ceiling > 200) {
		ktest_skip(t, "tlb_ceiling is 0 or above 200");
		return;
	}
	struct ceiling_ctx c = { .mm = mm_create(), .leader = first_cpu() };
	KTEST_ASSERT_TRUE(t, c.mm);
	c.holder = ktest_other_cpu(c.leader);
	/* One VMA bigger than both ranges: nothing but PTEs is freed. */
	KTEST_ASSERT_TRUE(t, map_small(c.mm, BASE, P(512), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0) == (long)BASE);
	ktest_on_cpu_pair(c.leader, c.holder, ceiling_worker, &c);
	KTEST_EXPECT_EQ(t, c.errors, 0);
	KTEST_EXPECT_EQ(t, c.one[1] - c.one[0], ceiling);       /* INVLPG per page */
	KTEST_EXPECT_EQ(t, c.all[1] - c.all[0], 0);
	KTEST_EXPECT_EQ(t, c.one[2] - c.one[1], 0);             /* one CR3 reload */
	KTEST_EXPECT_EQ(t, c.all[2] - c.all[1], 1);
	ktest_log(t, "ceiling %u: %u pages -> %lu INVLPG; %u pages -> %lu full flush",
		  ceiling, ceiling, c.one[1] - c.one[0], ceiling + 1, c.all[2] - c.all[1]);
	mm_put(c.mm);
}

/* --- 5. nested gathers; the table-batch fallback --- */

static void test_nested_gather(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	u64 nested = mmu_gather_nested_flushes;
	u64 gen = mm->tlb_gen;
	struct mmu_gather a, b;
	tlb_gather_mmu(&a, mm);
	tlb_gather_mmu(&b, mm);
	KTEST_EXPECT_EQ(t, mm->tlb_flush_pending, 2);
	/* b found nothing to clear (a cleared it), yet must flush all. */
	tlb_finish_mmu(&b);
	KTEST_EXPECT_EQ(t, mmu_gather_nested_flushes - nested, 1);
	KTEST_EXPECT_EQ(t, mm->tlb_gen - gen, 1);
	tlb_finish_mmu(&a);     /* alone now, nothing recorded: no flush */
	KTEST_EXPECT_EQ(t, mmu_gather_nested_flushes - nested, 1);
	KTEST_EXPECT_EQ(t, mm->tlb_gen - gen, 1);
	KTEST_EXPECT_EQ(t, mm->tlb_flush_pending, 0);
	mm_put(mm);
}

static void test_table_fallback(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, map_small(mm, FAR, P(4), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0) == (long)FAR);
	/* Slab pages counted too: the unmap frees the VMA, and with it maybe
	 * the slab page it was alone in. */
	u64 before = test_settled_free_and_slab_pages();
	u64 tables = mm->pgtable_pages;
	u64 fallbacks = mmu_gather_table_fallbacks;
	/* The unmap's only page allocations are table batches: fail them all. */
	fail_page_alloc_set(0, 1);
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, FAR, P(4)), 0);
	fail_page_alloc_set(0, 0);
	KTEST_EXPECT_EQ(t, mmu_gather_table_fallbacks - fallbacks, tables);
	KTEST_EXPECT_EQ(t, mm->pgtable_pages, 0);
	/* Each went through its own grace period, and all came back. */
	KTEST_EXPECT_EQ(t, test_settled_free_and_slab_pages(), before + tables + 4);
	ktest_log(t, "%lu tables freed one by one through call_rcu", tables);
	mm_put(mm);
}

/* --- 6. lockless walkers never read a freed page table --- */

/* Each round CPU 0 maps a 4 MiB region alone in its top-level slot (so its
 * PDPT, PD and page tables all come and go) and the other CPUs walk into it
 * the way fast GUP does: interrupts off, rcu_read_lock(), no lock. Holding
 * that section, each keeps a pointer to every table it went through while
 * CPU 0 unmaps the region and munmap returns; only then does it look at the
 * tables again. They must still be page tables holding no poison: the
 * gather hands them to RCU, and no grace period can end while a walker has
 * interrupts off. Freeing them without RCU (or with RCU broken) frees them
 * before munmap returns, and every walker sees it. */
#define WALK_ROUNDS 30
#define WALK_PAGES 1024                 /* 4 MiB: two page tables */

static void walk_map(struct test_walk_race *race, u32 r)
{
	(void)r;
	map_small(race->mm, FAR, P(WALK_PAGES), PROT_READ, ANON | MAP_FIXED | MAP_POPULATE, -1, 0);
}

static void walk_munmap(struct test_walk_race *race, u32 r)
{
	(void)r;
	do_munmap_range(race->mm, FAR, P(WALK_PAGES));
}

static void test_walkers_vs_table_free(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	rcu_barrier();
	s64 tables_before = vm_stat[NR_PAGETABLE];
	/* Every table below the top level is checked: munmap may free each. */
	struct test_walk_race c = { .mm = mm_create(), .base = FAR, .pages = WALK_PAGES,
				    .rounds = WALK_ROUNDS, .top = PT_PUD,
				    .prepare = walk_map, .free_tables = walk_munmap };
	KTEST_ASSERT_TRUE(t, c.mm);
	test_walk_race_run(&c);
	ktest_log(t, "%u map/unmap rounds, %u walks reached a page table; after munmap returned: %u tables freed, %u with poison",
		  WALK_ROUNDS, c.reached, c.not_table, c.poison);
	KTEST_EXPECT_EQ(t, c.reached, WALK_ROUNDS * c.walkers);        /* the walks did go down */
	KTEST_EXPECT_EQ(t, c.timeouts, 0);
	KTEST_EXPECT_EQ(t, c.poison, 0);
	KTEST_EXPECT_EQ(t, c.not_table, 0);
	KTEST_EXPECT_EQ(t, c.mm->pgtable_pages, 0);
	mm_put(c.mm);
	rcu_barrier();
	KTEST_EXPECT_EQ(t, vm_stat[NR_PAGETABLE], tables_before);
}

/* --- 7. two CPUs shooting each other down at once --- */

#define CROSSFIRE_ROUNDS 200

struct crossfire_ctx {
	struct mm_struct *mm;
	u32 started;
	u32 calls;
};

static void count_call(void *arg)
{
	__atomic_add_fetch((u32 *)arg, 1, __ATOMIC_RELAXED);
}

static void crossfire_worker(void *arg)
{
	struct crossfire_ctx *c = arg;
	u32 me = smp_processor_id();
	cpumask_t others;
	cpumask_copy(&others, &cpu_online_mask);
	__cpumask_clear_cpu(me, &others);
	kthread_use_mm(c->mm);
	bump(&c->started);
	test_wait_until(&c->started, online_count());
	for (u32 r = 0; r < CROSSFIRE_ROUNDS; r++) {
		/* Interrupts off half the time: a waiting CPU must still serve
		 * the others' flushes and calls, or two of them deadlock. */
		u64 f = (r & 1) ? local_irq_save() : 0;
		flush_tlb_mm_range(c->mm, BASE + P(r % 64), BASE + P(r % 64 + 1), PAGE_SHIFT, false);
		if ((r & 15) == 0)
			smp_call_function_many(&others, count_call, &c->calls, true);
		if (r & 1)
			local_irq_restore(f);
	}
	kthread_unuse_mm(c->mm);
}

static void test_crossfire(struct ktest *t)
{
	if (online_count() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct crossfire_ctx c = { .mm = mm_create() };
	KTEST_ASSERT_TRUE(t, c.mm);
	u64 gen = c.mm->tlb_gen;
	ktest_on_cpus(&cpu_online_mask, crossfire_worker, &c);
	/* Finishing at all is the test (a deadlock is a hang, which the
	 * harness reports); every flush and call was done. */
	u32 n = online_count();
	KTEST_EXPECT_EQ(t, c.mm->tlb_gen - gen, (u64)n * CROSSFIRE_ROUNDS);
	KTEST_EXPECT_EQ(t, c.calls, n * (n - 1) * ((CROSSFIRE_ROUNDS + 15) / 16));
	mm_put(c.mm);
}

/* --- 8. get_user_page_fast --- */

static void test_gup_fast(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_ASSERT_TRUE(t, map_small(mm, BASE, P(4), RW, ANON | MAP_FIXED, -1, 0) == (long)BASE);
	KTEST_ASSERT_TRUE(t, map_small(mm, BASE + P(8), P(1), PROT_READ, ANON | MAP_FIXED, -1, 0) == (long)(BASE + P(8)));
	kthread_use_mm(mm);
	u64 v;
	KTEST_EXPECT_EQ(t, test_put_u64(mm, BASE, 7), 0);               /* a real page */
	KTEST_EXPECT_EQ(t, test_get_u64(mm, BASE + P(1), &v), 0);       /* the zero page */
	down_read(&mm->mmap_lock);      /* mm_populate's rule, as MAP_POPULATE keeps it */
	mm_populate(mm, BASE + P(8), BASE + P(9), false);
	up_read(&mm->mmap_lock);
	kthread_unuse_mm(mm);
	u64 *pte = pgtable_walk(mm, BASE, PT_PTE);
	struct page *expect = pte_page(*pte);
	s32 refs = page_refcount(expect);
	struct page *p = get_user_page_fast(mm, BASE, true);
	KTEST_EXPECT_TRUE(t, p == expect);
	KTEST_EXPECT_EQ(t, page_refcount(expect), refs + 1);
	if (p)
		put_page(p);
	KTEST_EXPECT_TRUE(t, get_user_page_fast(mm, BASE + P(1), false) == NULL);  /* special */
	KTEST_EXPECT_TRUE(t, get_user_page_fast(mm, BASE + P(2), false) == NULL);  /* nothing */
	KTEST_EXPECT_TRUE(t, get_user_page_fast(mm, BASE + P(8), true) == NULL);   /* zero page, and read-only */
	KTEST_EXPECT_TRUE(t, get_user_page_fast(mm, USER_SPACE_END, false) == NULL);
	mm_put(mm);
}

static const struct ktest_case tlb_cases[] = {
	{ "stale_after_change", test_stale_after_change },
	{ "poison_never_read", test_poison_never_read },
	{ "ipi_accounting", test_ipi_accounting },
	{ "ceiling", test_ceiling },
	{ "nested_gather", test_nested_gather },
	{ "table_fallback", test_table_fallback },
	{ "walkers_vs_table_free", test_walkers_vs_table_free },
	{ "crossfire", test_crossfire },
	{ "gup_fast", test_gup_fast },
	{ "ipis_reach_mm_cpus_only", test_ipis_reach_mm_cpus_only },
};

KTEST_SUITE(tlb, tlb_cases);
