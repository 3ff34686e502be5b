/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_lab_testing.c - the "lab_testing" suite: the test a
 * student writes in labs/testing. It must pass on the full kernel and fail
 * under each of labs/cow's negative-control switches:
 *   fork_debug_skip_flush   fork leaves the parent's TLBs unflushed after
 *                           write-protecting its entries;
 *   cow_debug_always_copy   a write fault copies even a page no one else
 *                           maps any more.
 * Named lab_*, it runs only when asked for (test=lab_testing), never under
 * test=all (kernel/ktest.h). tests/kernel/mm/test_cow.c has the cow suite's
 * own versions of these checks. */
#include "kernel/ktest.h"
#include "kernel/uaccess.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/fault.h"
#include "tests/kernel/mm/test_user.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"

#define BASE 0x0000310000000000UL
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* LAB(testing) BEGIN: helpers your cases need (an address space with a written page, a worker for ktest_on_cpus...) */
static struct mm_struct *one_written_page(void)
{
	struct mm_struct *mm = mm_create();
	if (!mm)
		return NULL;
	if (do_mmap(mm, BASE, PAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0) != (long)BASE ||
	    test_poke(mm, BASE, 1)) {
		mm_put(mm);
		return NULL;
	}
	return mm;
}

static struct page *frame_of(struct mm_struct *mm, u64 addr)
{
	u64 e = pgtable_leaf(mm, addr);
	return pte_mapped(e) ? pte_page(e) : NULL;
}

/* One CPU keeps writing the parent's page through its TLB; the leader forks
 * meanwhile and samples the child's copy at fork's return and later. */
struct frozen {
	struct mm_struct *parent, *child;
	u32 leader, stop, errors;
	u64 writes, at_fork, later;
};

static void frozen_worker(void *arg)
{
	struct frozen *f = arg;
	if (smp_processor_id() == f->leader) {
		while (__atomic_load_n(&f->writes, __ATOMIC_SEQ_CST) < 1000)
			cpu_relax();
		if (mm_fork(f->parent, &f->child)) {
			f->errors++;
		} else {
			f->at_fork = __atomic_load_n((u64 *)page_address(frame_of(f->child, BASE)),
						     __ATOMIC_SEQ_CST);
			u64 w = __atomic_load_n(&f->writes, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&f->writes, __ATOMIC_SEQ_CST) < w + 10000)
				cpu_relax();
			f->later = __atomic_load_n((u64 *)page_address(frame_of(f->child, BASE)),
						   __ATOMIC_SEQ_CST);
		}
		__atomic_store_n(&f->stop, 1, __ATOMIC_SEQ_CST);
		return;
	}
	kthread_use_mm(f->parent);
	for (u64 n = 1; !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST); n++) {
		if (test_put_u64(f->parent, BASE, n))
			f->errors++;
		__atomic_store_n(&f->writes, n, __ATOMIC_SEQ_CST);
	}
	kthread_unuse_mm(f->parent);
}
/* LAB(testing) END */

/* The child's copy is frozen when fork returns, whatever the parent's
 * threads on other CPUs write afterwards. */
static void test_copy_frozen_at_fork(struct ktest *t)
{
	/* LAB(testing) BEGIN: fork while another CPU writes the parent's page; the child's copy must not change after fork returns */
	/* LAB(testing) STUB: (void)t; */
	if (num_online_cpus() < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct frozen f = { .parent = one_written_page() };
	KTEST_ASSERT_TRUE(t, f.parent);
	f.leader = cpumask_first(&cpu_online_mask);
	ktest_on_cpu_pair(f.leader, ktest_other_cpu(f.leader), frozen_worker, &f);
	KTEST_EXPECT_EQ(t, f.errors, 0);
	KTEST_ASSERT_TRUE(t, f.child);
	KTEST_EXPECT_EQ(t, f.later, f.at_fork);
	KTEST_EXPECT_EQ(t, test_peek(f.child, BASE), f.at_fork);
	mm_put(f.child);
	mm_put(f.parent);
	/* LAB(testing) END */
}

/* Once the child has gone, the parent's write reuses its page in place:
 * the same frame, no copy. */
static void test_reuse_after_child_exit(struct ktest *t)
{
	/* LAB(testing) BEGIN: fork, let the child go, write from the parent: the frame must stay the same */
	/* LAB(testing) STUB: (void)t; */
	struct mm_struct *parent = one_written_page(), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	struct page *before = frame_of(parent, BASE);
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	mm_put(child);
	KTEST_EXPECT_EQ(t, test_poke(parent, BASE, 2), 0);
	KTEST_EXPECT_TRUE(t, frame_of(parent, BASE) == before);
	KTEST_EXPECT_EQ(t, test_peek(parent, BASE), 2);
	mm_put(parent);
	/* LAB(testing) END */
}

static const struct ktest_case lab_testing_cases[] = {
	{ "copy_frozen_at_fork", test_copy_frozen_at_fork },
	{ "reuse_after_child_exit", test_reuse_after_child_exit },
};
KTEST_SUITE(lab_testing, lab_testing_cases);
