/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_vma_lock.c - "test=vma_lock": the page-fault fast path under
 * per-VMA locks (mm/vma_lock.h), each rule made deterministic:
 *   fast_path_serves_faults   ordinary faults are served without mmap_lock
 *                             (vma_lock_success), a hole falls back;
 *   writer_waits_for_fault    vma_start_write waits for a fault inside the
 *                             VMA; a write-locked VMA is refused until the
 *                             section ends, then served again;
 *   replaced_after_lookup     the VMA a fault found is replaced (munmap and
 *                             a new mapping) before the fault locks it: the
 *                             fault must notice (detached), look again and
 *                             obey the new VMA. Under "vma_debug_skip_seq_
 *                             check" it obeys the old one; under "vma_debug_
 *                             free_now" the old VMA's memory is reused by
 *                             then, and the fault obeys what it holds now;
 *   fork_waits_for_fault      fork does not copy a VMA a fault is in
 *                             ("vma_debug_fork_skip_lock" breaks it);
 *   munmap_waits_before_zap   munmap zaps nothing of a VMA a fault is in
 *                             ("vma_debug_lock_after_zap" breaks it).
 * The stress side is tests/user/vma_race_test.c.
 */
#include "kernel/ktest.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/rcu.h"
#include "mm/pgtable.h"
#include "tests/kernel/mm/test_user.h"
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/vma_lock.h"
#include "mm/slab.h"
#include "arch/x86_64/smp.h"

#define BASE 0x0000300000000000UL
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* The races below need the fast path and a second CPU: else skip. */
static bool skipped_without_race(struct ktest *t)
{
	if (num_online_cpus() >= 2 && vma_lock_enabled)
		return false;
	ktest_skip(t, vma_lock_enabled ? "needs two CPUs" : "vma_lock=0: no fast path");
	return true;
}

static struct mm_struct *setup_mm(struct ktest *t, u64 prot)
{
	struct mm_struct *mm = mm_create();
	if (!mm)
		return NULL;
	if (do_mmap(mm, BASE, P(8), prot, ANON | MAP_FIXED, -1, 0) != (long)BASE) {
		ktest_log(t, "mmap failed");
		mm_put(mm);
		return NULL;
	}
	return mm;
}

static void test_fast_path_serves_faults(struct ktest *t)
{
	struct mm_struct *mm = setup_mm(t, RW);
	KTEST_ASSERT_TRUE(t, mm);
	u64 ok0 = vma_lock_events(VMA_LOCK_SUCCESS), ab0 = vma_lock_events(VMA_LOCK_ABORT);
	kthread_use_mm(mm);
	int errs = 0;
	for (u32 i = 0; i < 8; i++)
		errs += test_put_u64(mm, BASE + P(i), i) != 0;
	u64 ok1 = vma_lock_events(VMA_LOCK_SUCCESS);
	/* Below the mapping: no VMA, the fault falls back and fails. */
	u64 v;
	int hole = test_get_u64(mm, BASE - P(1), &v);
	kthread_unuse_mm(mm);
	u64 ab1 = vma_lock_events(VMA_LOCK_ABORT);
	ktest_log(t, "8 write faults: %lu on the fast path; a hole: %d, %lu abort(s)",
		  ok1 - ok0, hole, ab1 - ab0);
	KTEST_EXPECT_EQ(t, errs, 0);
	KTEST_EXPECT_EQ(t, hole, -EFAULT);
	if (vma_lock_enabled) {
		KTEST_EXPECT_TRUE(t, ok1 - ok0 >= 8);
		KTEST_EXPECT_TRUE(t, ab1 - ab0 >= 1);
	} else {
		KTEST_EXPECT_EQ(t, ok1 - ok0, 0);
	}
	mm_put(mm);
}

/* --- a writer against a fault holding the VMA --- */

static struct {
	struct mm_struct *mm;
	u32 reader_locked, writer_in, writer_done, release, locked_in_section;
	u32 section_ended, locked_after;
} wl;

static void wl_writer(void *arg)
{
	(void)arg;
	test_wait_until(&wl.reader_locked, 1);
	mmap_write_lock(wl.mm);
	struct vm_area *v = vma_find(wl.mm->vma_root, BASE);
	__atomic_store_n(&wl.writer_in, 1, __ATOMIC_SEQ_CST);
	vma_start_write(v);     /* returns once the reader let go */
	__atomic_store_n(&wl.writer_done, 1, __ATOMIC_SEQ_CST);
	test_wait_until(&wl.release, 2);
	mmap_write_unlock(wl.mm);
	__atomic_store_n(&wl.section_ended, 1, __ATOMIC_SEQ_CST);
}

static void test_writer_waits_for_fault(struct ktest *t)
{
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	memset(&wl, 0, sizeof(wl));
	wl.mm = setup_mm(t, RW);
	KTEST_ASSERT_TRUE(t, wl.mm);
	u32 reader = cpumask_first(&cpu_online_mask);
	u32 writer = ktest_other_cpu(reader);
	/* This thread is the reader, what a fast-path fault holds while it
	 * works: pinned, while the writer runs on another CPU. */
	thread_set_affinity(cpumask_of(reader));
	struct thread *th = kthread_create("wl", wl_writer, NULL, cpumask_of(writer));
	KTEST_ASSERT_TRUE(t, th != NULL);
	struct vm_area *held = lock_vma_under_rcu(wl.mm, BASE);
	__atomic_store_n(&wl.reader_locked, 1, __ATOMIC_SEQ_CST);
	test_wait_until(&wl.writer_in, 1);
	/* The writer is in vma_start_write now, and must stay there. */
	for (int i = 0; i < 200000; i++)
		cpu_relax();
	u32 early = __atomic_load_n(&wl.writer_done, __ATOMIC_SEQ_CST);
	if (held)
		vma_end_read(held);
	test_wait_until(&wl.writer_done, 1);
	struct vm_area *v = lock_vma_under_rcu(wl.mm, BASE);
	wl.locked_in_section = v != NULL;
	if (v)
		vma_end_read(v);
	__atomic_store_n(&wl.release, 2, __ATOMIC_SEQ_CST);
	test_wait_until(&wl.section_ended, 1);
	v = lock_vma_under_rcu(wl.mm, BASE);
	wl.locked_after = v != NULL;
	if (v)
		vma_end_read(v);
	thread_join(th);
	thread_set_affinity(&cpu_online_mask);
	ktest_log(t, "reader held the VMA: %s; writer past vma_start_write while held: %s; "
		  "locked during the section: %s; after it: %s", held ? "yes" : "no",
		  early ? "yes" : "no", wl.locked_in_section ? "yes" : "no",
		  wl.locked_after ? "yes" : "no");
	KTEST_EXPECT_TRUE(t, held != NULL);
	KTEST_EXPECT_EQ(t, early, 0);
	KTEST_EXPECT_EQ(t, wl.locked_in_section, 0);
	KTEST_EXPECT_EQ(t, wl.locked_after, 1);
	mm_put(wl.mm);
}

/* --- the VMA replaced between lookup and lock --- */

static struct {
	struct mm_struct *mm;
	struct vm_area *decoy;
	u32 go, done, hooks;
	u32 held, fault_done;   /* the grace-period holder's handshake */
	long unmapped, remapped;
} rp;

/* On the faulting CPU, inside its RCU read section: another CPU replaces
 * the VMA meanwhile (our RCU section keeps its memory from being freed). */
static void rp_hook(struct mm_struct *mm, struct vm_area *found)
{
	(void)found;
	if (mm != rp.mm || rp.hooks++)
		return;         /* the first lookup only */
	__atomic_store_n(&rp.go, 1, __ATOMIC_SEQ_CST);
	test_wait_until(&rp.done, 1);
}

/* The replacement: unmapped, then mapped again read-only. In between, a
 * kernel object of a VMA's size is allocated and made to look like the old
 * VMA, writable: if the old VMA's memory was freed at once, the allocator
 * hands exactly that memory back (its per-CPU cache is last in, first
 * out), and the fault, reading it, would obey the impostor. */
static void rp_replace(void)
{
	test_wait_until(&rp.go, 1);
	test_wait_until(&rp.held, 1);
	rp.unmapped = do_munmap_range(rp.mm, BASE, P(8));
	rp.decoy = kmalloc(sizeof(struct vm_area), GFP_KERNEL | __GFP_ZERO);
	if (rp.decoy) {
		rp.decoy->start = BASE;
		rp.decoy->end = BASE + P(8);
		rp.decoy->flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;
		rp.decoy->mm = rp.mm;
		rp.decoy->vm_lock_seq = ~0u;
	}
	rp.remapped = do_mmap(rp.mm, BASE, P(8), PROT_READ, ANON | MAP_FIXED, -1, 0);
	__atomic_store_n(&rp.done, 1, __ATOMIC_SEQ_CST);
}

static u32 rp_fault_cpu, rp_holder_cpu;
static int rp_write;

/* A third CPU holds a read-side section from before the munmap until the
 * fault is over, so the old VMA's memory outlives the fault whatever the
 * fault does with it. Under "vma_debug_skip_seq_check" the fault goes on
 * using the old VMA after its own RCU section: without the holder, a
 * grace period could end meanwhile (it does on a loaded host) and free
 * it under the fault - a use-after-free panic instead of the wrong
 * answer this case checks for. With two CPUs there is no holder. */
static void rp_hold_grace_period(void)
{
	rcu_read_lock();
	__atomic_store_n(&rp.held, 1, __ATOMIC_SEQ_CST);
	test_wait_until(&rp.fault_done, 1);
	rcu_read_unlock();
}

static void rp_worker(void *arg)
{
	(void)arg;
	if (smp_processor_id() == rp_holder_cpu) {
		rp_hold_grace_period();
		return;
	}
	if (smp_processor_id() != rp_fault_cpu) {
		rp_replace();
		return;
	}
	kthread_use_mm(rp.mm);
	rp_write = test_put_u64(rp.mm, BASE + P(2), 0x1234);
	kthread_unuse_mm(rp.mm);
	__atomic_store_n(&rp.fault_done, 1, __ATOMIC_SEQ_CST);
}

static void test_replaced_after_lookup(struct ktest *t)
{
	if (skipped_without_race(t))
		return;
	memset(&rp, 0, sizeof(rp));
	rp.mm = setup_mm(t, RW);
	KTEST_ASSERT_TRUE(t, rp.mm);
	u64 miss0 = vma_lock_events(VMA_LOCK_MISS);
	/* The faulting CPU, the replacing CPU, and a third holding a grace
	 * period open when there is one. */
	rp_fault_cpu = cpumask_first(&cpu_online_mask);
	u32 other = ktest_other_cpu(rp_fault_cpu);
	cpumask_t cpus = cpumask_of_cpu(rp_fault_cpu);
	__cpumask_set_cpu(other, &cpus);
	cpumask_t rest;
	cpumask_andnot(&rest, &cpu_online_mask, &cpus);
	rp_holder_cpu = cpumask_first(&rest);
	if (rp_holder_cpu < NR_CPUS)
		__cpumask_set_cpu(rp_holder_cpu, &cpus);
	else
		rp.held = 1;    /* nobody to wait for */
	vma_debug_lookup_hook = rp_hook;
	ktest_on_cpus(&cpus, rp_worker, NULL);
	vma_debug_lookup_hook = NULL;
	u64 misses = vma_lock_events(VMA_LOCK_MISS) - miss0;
	u64 *pte = pgtable_walk(rp.mm, BASE + P(2), PT_PTE);
	bool writable = pte && pte_mapped(*pte) && pte_write(*pte);
	ktest_log(t, "write fault after its VMA was replaced by a read-only one: %d; "
		  "%lu miss(es); entry writable: %s", rp_write, misses, writable ? "yes" : "no");
	KTEST_EXPECT_EQ(t, rp.unmapped, 0);
	KTEST_EXPECT_EQ(t, rp.remapped, (long)BASE);
	KTEST_EXPECT_EQ(t, rp.hooks >= 1, 1);
	KTEST_EXPECT_EQ(t, rp_write, -EFAULT);
	KTEST_EXPECT_EQ(t, writable, 0);
	KTEST_EXPECT_TRUE(t, misses >= 1);
	mm_put(rp.mm);
	kfree(rp.decoy);
}

/* --- writers that must wait for a fault before they touch its VMA --- */

/* What a writer does on another CPU while this thread holds the VMA at
 * BASE read-locked, as a fault on the fast path does. */
static struct {
	struct mm_struct *mm, *child;
	int (*op)(void);
	u32 started, done;
	int result;
} hw;

static void held_writer(void *arg)
{
	(void)arg;
	__atomic_store_n(&hw.started, 1, __ATOMIC_SEQ_CST);
	hw.result = hw.op();
	__atomic_store_n(&hw.done, 1, __ATOMIC_SEQ_CST);
}

/* Hold the VMA, start the writer, give it time to go wrong, look with
 * probe (true: nothing happened to the VMA yet), let go, wait for it. */
static bool writer_waited(struct ktest *t, bool (*probe)(void))
{
	u32 me = cpumask_first(&cpu_online_mask);
	u32 other = ktest_other_cpu(me);
	thread_set_affinity(cpumask_of(me));
	struct vm_area *held = lock_vma_under_rcu(hw.mm, BASE);
	struct thread *th = kthread_create("held", held_writer, NULL, cpumask_of(other));
	if (!th || !held) {
		if (held)
			vma_end_read(held);
		thread_set_affinity(&cpu_online_mask);
		ktest_log(t, "could not hold the VMA or start the writer");
		return false;
	}
	test_wait_until(&hw.started, 1);
	for (int i = 0; i < 400000; i++)
		cpu_relax();
	bool untouched = !__atomic_load_n(&hw.done, __ATOMIC_SEQ_CST) && probe();
	vma_end_read(held);
	thread_join(th);
	thread_set_affinity(&cpu_online_mask);
	return untouched;
}

/* One case: mm with a written page at BASE, op run by a writer while the
 * VMA is held; the writer must wait (probe: it has touched nothing yet). */
static void held_case(struct ktest *t, int (*op)(void), bool (*probe)(void), const char *what)
{
	if (skipped_without_race(t))
		return;
	memset(&hw, 0, sizeof(hw));
	hw.mm = setup_mm(t, RW);
	KTEST_ASSERT_TRUE(t, hw.mm);
	KTEST_EXPECT_EQ(t, test_poke(hw.mm, BASE, 7), 0);
	hw.op = op;
	bool waited = writer_waited(t, probe);
	ktest_log(t, "%s while a fault held the VMA: %s", what,
		  waited ? "waited for it" : "went ahead meanwhile");
	KTEST_EXPECT_TRUE(t, waited);
	KTEST_EXPECT_EQ(t, hw.result, 0);
	if (hw.child)
		mm_put(hw.child);
	mm_put(hw.mm);
}

static int fork_op(void)
{
	return mm_fork(hw.mm, &hw.child);
}

static bool nothing_to_see(void)
{
	return true;    /* for fork, whether it finished is the whole question */
}

static void test_fork_waits_for_fault(struct ktest *t)
{
	held_case(t, fork_op, nothing_to_see, "fork");
}

static int munmap_op(void)
{
	return (int)do_munmap_range(hw.mm, BASE, P(8));
}

/* The page the fault's VMA maps is still there: no zap has run. */
static bool page_still_mapped(void)
{
	u64 *pte = pgtable_walk(hw.mm, BASE, PT_PTE);
	return pte && pte_mapped(*pte);
}

static void test_munmap_waits_before_zap(struct ktest *t)
{
	held_case(t, munmap_op, page_still_mapped, "munmap (zap included)");
}

static const struct ktest_case vma_lock_cases[] = {
	{ "fast_path_serves_faults", test_fast_path_serves_faults },
	{ "writer_waits_for_fault", test_writer_waits_for_fault },
	{ "replaced_after_lookup", test_replaced_after_lookup },
	{ "fork_waits_for_fault", test_fork_waits_for_fault },
	{ "munmap_waits_before_zap", test_munmap_waits_before_zap },
};
KTEST_SUITE(vma_lock, vma_lock_cases);
