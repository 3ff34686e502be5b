/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_user.c - see test_user.h. */
#include "tests/kernel/mm/test_user.h"
#include "mm/pgtable.h"
#include "mm/fault.h"
#include "mm/gup_fast.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"
#include "kernel/ktest.h"
#include "kernel/rcu.h"
#include "mm/buddy.h"
#include "mm/slab.h"

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_PROT 1UL
#define PF_WRITE 2UL

int test_user_access(struct mm_struct *mm, u64 addr, void *buf, size_t n, bool write)
{
	for (int tries = 0; tries < 4; tries++) {
		int r = write ? copy_to_user(addr, buf, n) : copy_from_user(buf, addr, n);
		if (r == 0)
			return 0;
		/* The error code the CPU would have pushed: a read fails only
		 * on a non-present entry; a write may hit a read-only one. (The
		 * entry is read after the fact, so another CPU may have filled
		 * it meanwhile: for a read that must not turn into PF_PROT.) */
		/* A snapshot (pgtable_leaf reads under RCU: a zap elsewhere
		 * may free the table meanwhile). */
		u64 e = pgtable_leaf(mm, addr);
		u64 err = write ? PF_WRITE | (pte_present(e) ? PF_PROT : 0) : 0;
		vm_fault_t f = handle_mm_fault(mm, addr, err);
		if (f != VM_FAULT_DONE && f != VM_FAULT_RETRY)
			return vm_fault_to_errno(f);
	}
	return -EFAULT;
}

int test_put_u64(struct mm_struct *mm, u64 addr, u64 v)
{
	return test_user_access(mm, addr, &v, 8, true);
}

int test_get_u64(struct mm_struct *mm, u64 addr, u64 *v)
{
	return test_user_access(mm, addr, v, 8, false);
}

int test_read_nofault(u64 addr, u64 *v)
{
	u64 f = local_irq_save();
	int r = copy_from_user(v, addr, 8);
	local_irq_restore(f);
	return r ? -EFAULT : 0;
}

int test_write_nofault(u64 addr, u64 v)
{
	u64 f = local_irq_save();
	int r = copy_to_user(addr, &v, 8);
	local_irq_restore(f);
	return r ? -EFAULT : 0;
}

u64 test_peek(struct mm_struct *mm, u64 addr)
{
	u64 v = ~0UL;
	kthread_use_mm(mm);
	test_get_u64(mm, addr, &v);
	kthread_unuse_mm(mm);
	return v;
}

int test_poke(struct mm_struct *mm, u64 addr, u64 v)
{
	kthread_use_mm(mm);
	int r = test_put_u64(mm, addr, v);
	kthread_unuse_mm(mm);
	return r;
}

static void flush_slab_here(void *arg)
{
	(void)arg;
	slab_flush_cpu();
}

u64 test_settled_free_pages(void)
{
	rcu_barrier();
	ktest_on_cpus(&cpu_online_mask, flush_slab_here, NULL);
	slab_shrink();
	return nr_free_pages();
}

u64 test_settled_free_and_slab_pages(void)
{
	u64 free = test_settled_free_pages();
	struct mm_counters c;
	mm_counters_read(&c);
	return free + (u64)c.stat[NR_SLAB_PAGES];
}

u64 test_slab_objects(void)
{
	u64 n = 0;
	for (u32 i = 0; i < slab_nr_caches(); i++) {
		struct slab_cache_info info;
		slab_cache_info(i, &info);
		n += info.objects_in_use;
	}
	return n;
}

void test_wait_until(u32 *var, u32 value)
{
	while (__atomic_load_n(var, __ATOMIC_SEQ_CST) < value)
		cpu_relax();
}

#define WALK_SPIN_LIMIT 200000000UL     /* a bound, in case the operation never returns */
#define POISON64 0xaaaaaaaaaaaaaaaaUL   /* freed pages, debug build (PAGE_POISON) */

static void bump(u32 *v) { __atomic_add_fetch(v, 1, __ATOMIC_SEQ_CST); }

static void walk_round(struct test_walk_race *race, u64 addr, u32 r)
{
	struct lockless_walk w;
	u64 flags = local_irq_save();
	rcu_read_lock();
	pgtable_lockless_walk(race->mm, addr, &w);
	if (w.level == PT_PTE)
		bump(&race->reached);
	bump(&race->armed);
	u64 spins = 0;
	while (__atomic_load_n(&race->returned, __ATOMIC_SEQ_CST) < r + 1 && spins < WALK_SPIN_LIMIT) {
		cpu_relax();
		spins++;
	}
	if (spins == WALK_SPIN_LIMIT)
		bump(&race->timeouts);
	/* The leader has returned; we are still inside our section. */
	for (int l = (int)race->top; l >= (int)w.level; l--) {
		if (!(virt_to_page(w.table[l])->flags & PG_pagetable))
			bump(&race->not_table);
		for (u32 i = 0; i < PT_ENTRIES; i++)
			if (pte_read(&w.table[l][i]) == POISON64) {
				bump(&race->poison);
				break;
			}
	}
	rcu_read_unlock();
	local_irq_restore(flags);
}

static void walk_leader(struct test_walk_race *race)
{
	for (u32 r = 0; r < race->rounds; r++) {
		race->prepare(race, r);
		__atomic_store_n(&race->phase, r + 1, __ATOMIC_SEQ_CST);
		test_wait_until(&race->armed, (r + 1) * race->walkers);
		race->free_tables(race, r);
		__atomic_store_n(&race->returned, r + 1, __ATOMIC_SEQ_CST);
		test_wait_until(&race->done, (r + 1) * race->walkers);
	}
}

static void walk_reader(struct test_walk_race *race)
{
	u32 cpu = smp_processor_id();
	for (u32 r = 0; r < race->rounds; r++) {
		test_wait_until(&race->phase, r + 1);
		walk_round(race, race->base + (u64)((cpu * 97 + r * 131) % race->pages) * PAGE_SIZE, r);
		bump(&race->done);
	}
}

static void walk_worker(void *arg)
{
	struct test_walk_race *race = arg;
	if (smp_processor_id() == race->leader)
		walk_leader(race);
	else
		walk_reader(race);
}

void test_walk_race_run(struct test_walk_race *race)
{
	cpumask_t online;
	cpumask_copy(&online, &cpu_online_mask);
	race->leader = cpumask_first(&online);
	race->walkers = cpumask_weight(&online) - 1;
	ktest_on_cpus(&online, walk_worker, race);
}
