/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_mmu_ad.c - the "mmu_ad" suite: the MMU's own writes
 * to page-table entries (the accessed and dirty bits) against the kernel's
 * changes of the same entries.
 *
 * A CPU that walks to an entry without A (or, for a write, without D) sets
 * that bit in the entry. Intel's SDM (vol. 3, 4.8) has it do so atomically:
 * a change the kernel made in between is never undone. Everything that
 * narrows a live entry with an atomic operation and then flushes (fork's
 * write-protect, a zap's exchange, mprotect: pgtable.h) relies on it. A
 * walker that loaded the entry, then stored it back with A set, would
 * bring back a write right fork had just taken: the parent would go on
 * writing the page its child maps. Older QEMU versions did exactly that
 * under TCG, with a plain load and store (7.2, Debian 12's, does not).
 *
 *   ad_update_probe     one CPU walks to an entry without A again and
 *                       again (INVLPG, then a read) while another gives the
 *                       entry W and no A, takes W away atomically, and
 *                       looks whether W came back, for 1 s. Nothing but a
 *                       non-atomic A update can bring it back.
 */
#include "kernel/ktest.h"
#include "kernel/printk.h"
#include "kernel/time.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "tests/kernel/mm/test_user.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/tlb.h"

#define BASE 0x0000200000000000UL
#define PROBE_NS (1UL * 1000 * 1000 * 1000)    /* how long the two CPUs race */

struct ad_ctx {
	struct mm_struct *mm;
	u64 *pte;
	u64 fresh;              /* the entry each round starts from: W|D, no A */
	u32 leader, walker;
	u32 started, stop;
	u64 rounds, came_back, walks;
};

/* Walk to the entry again and again: each walk that finds no A sets it. */
static void ad_walker(struct ad_ctx *c)
{
	kthread_use_mm(c->mm);
	__atomic_store_n(&c->started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		u64 v;
		local_flush_tlb_one(BASE);
		test_read_nofault(BASE, &v);
		c->walks++;
	}
	kthread_unuse_mm(c->mm);
}

/* Give the entry W and no A, take W away, and look whether it came back:
 * nothing but a walker's plain store of what it read can bring it back. */
static void ad_leader(struct ad_ctx *c)
{
	while (!__atomic_load_n(&c->started, __ATOMIC_ACQUIRE))
		cpu_relax();
	u64 end = ktime_ns() + PROBE_NS;
	for (u64 r = 1; ktime_ns() < end; r++) {
		__atomic_exchange_n(c->pte, c->fresh, __ATOMIC_SEQ_CST);
		for (u32 i = 0; i < r % 16; i++)
			barrier();
		__atomic_and_fetch(c->pte, ~PTE_W, __ATOMIC_SEQ_CST);
		for (u32 i = 0; i < 64; i++)
			barrier();
		if (pte_read(c->pte) & PTE_W)
			c->came_back++;
		c->rounds++;
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
}

static void ad_worker(void *arg)
{
	struct ad_ctx *c = arg;
	if (smp_processor_id() == c->leader)
		ad_leader(c);
	else
		ad_walker(c);
}

static void test_ad_update_probe(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct ad_ctx c = { .mm = mm_create() };
	KTEST_ASSERT_TRUE(t, c.mm);
	KTEST_ASSERT_TRUE(t, do_mmap(c.mm, BASE, PAGE_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == (long)BASE);
	KTEST_ASSERT_EQ(t, test_poke(c.mm, BASE, 1), 0);
	c.pte = pgtable_walk(c.mm, BASE, PT_PTE);
	KTEST_ASSERT_TRUE(t, c.pte && pte_present(*c.pte));
	u64 orig = pte_read(c.pte);
	c.fresh = (orig | PTE_W | PTE_D) & ~PTE_A;
	c.leader = cpumask_first(&cpu_online_mask);
	c.walker = ktest_other_cpu(c.leader);
	ktest_on_cpu_pair(c.leader, c.walker, ad_worker, &c);
	__atomic_exchange_n(c.pte, orig, __ATOMIC_SEQ_CST);
	ktest_log(t, "%lu rounds against %lu walks: W came back %lu times", c.rounds, c.walks,
		  c.came_back);
	KTEST_EXPECT_EQ(t, c.came_back, 0);
	mm_put(c.mm);
}

static const struct ktest_case mmu_ad_cases[] = {
	{ "ad_update_probe", test_ad_update_probe },
};

KTEST_SUITE(mmu_ad, mmu_ad_cases);
