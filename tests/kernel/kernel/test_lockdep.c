/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_lockdep.c - the "lockdep" suite: the lock validator
 * (kernel/lockdep.h, docs/locking.md) finds what it must, and nothing else.
 *
 * Each case takes locks of its own, private classes (every spin_init() and
 * rwsem_init() line below is a class of its own), with the report hook set:
 * a report is counted here instead of stopping the machine, so the cases
 * can break the rules on purpose. A report the case did not ask for still
 * shows in the counts, and fails it.
 *
 * The last case takes two real classes, mm->page_table_lock and a PTE lock,
 * in the documented order; the boot word "lockdep_debug_wrong_order" (the
 * neg-lock-order configuration) makes it take them the wrong way round
 * once, and the validator must report it: the case fails.
 */
#include "kernel/ktest.h"
#include "kernel/lockdep.h"
#include "kernel/spinlock.h"
#include "kernel/rwsem.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "mm/mm.h"
#include "mm/vma_lock.h"

static u32 reports[LDR_FULL + 1];

static void count_report(enum lockdep_kind kind, enum lockdep_report what)
{
	(void)kind;
	__atomic_add_fetch(&reports[what], 1, __ATOMIC_RELAXED);
}

/* Count reports instead of panicking until hook_off(). */
static void hook_on(void)
{
	for (u32 i = 0; i <= LDR_FULL; i++)
		reports[i] = 0;
	lockdep_report_hook = count_report;
}

static void hook_off(void) { lockdep_report_hook = NULL; }

static u32 total_reports(void)
{
	u32 n = 0;
	for (u32 i = 0; i <= LDR_FULL; i++)
		n += reports[i];
	return n;
}

static bool validator_on(struct ktest *t)
{
	if (!lockdep_enabled)
		ktest_skip(t, "the lock validator is off (lockdep=0)");
	return lockdep_enabled;
}

static void lock_pair(spinlock_t *first, spinlock_t *second)
{
	spin_lock(first);
	spin_lock(second);
	spin_unlock(second);
	spin_unlock(first);
}

/* A then B records A->B; B then A closes the cycle: reported, once. */
static void test_ab_ba(struct ktest *t)
{
	if (!validator_on(t))
		return;
	static spinlock_t a, b;
	spin_init(&a, "test A");
	spin_init(&b, "test B");
	hook_on();
	lock_pair(&a, &b);
	KTEST_EXPECT_EQ(t, total_reports(), 0);
	lock_pair(&a, &b);              /* the same order again: nothing */
	KTEST_EXPECT_EQ(t, total_reports(), 0);
	lock_pair(&b, &a);
	hook_off();
	KTEST_EXPECT_EQ(t, reports[LDR_CYCLE], 1);
	KTEST_EXPECT_EQ(t, total_reports(), 1);
}

/* A->B and B->C recorded separately; C then A closes A->B->C->A. */
static void test_three_chain(struct ktest *t)
{
	if (!validator_on(t))
		return;
	static spinlock_t a, b, c;
	spin_init(&a, "test chain A");
	spin_init(&b, "test chain B");
	spin_init(&c, "test chain C");
	hook_on();
	lock_pair(&a, &b);
	lock_pair(&b, &c);
	KTEST_EXPECT_EQ(t, total_reports(), 0);
	lock_pair(&c, &a);
	hook_off();
	KTEST_EXPECT_EQ(t, reports[LDR_CYCLE], 1);
	KTEST_EXPECT_EQ(t, total_reports(), 1);
}

/* Pretend to be an interrupt handler (interrupts off, irq_depth up): the
 * validator knows interrupt context by irq_depth. */
static void lock_as_interrupt(spinlock_t *l)
{
	u64 f = local_irq_save();
	this_cpu()->irq_depth++;
	spin_lock(l);
	spin_unlock(l);
	this_cpu()->irq_depth--;
	local_irq_restore(f);
}

/* A class taken with interrupts on and in an interrupt, in either order
 * of discovery; two locks of the class, so spinlock.c's own check (one
 * lock) does not see it - the validator reasons per class. */
static void test_irq_safe_vs_unsafe(struct ktest *t)
{
	if (!validator_on(t))
		return;
	static spinlock_t on_first[2], irq_first[2], always_off[2];
	for (int i = 0; i < 2; i++) {
		spin_init(&on_first[i], "test irqs on first");
		spin_init(&irq_first[i], "test irq first");
		spin_init(&always_off[i], "test irqsave");
	}
	KTEST_ASSERT_TRUE(t, !irqs_disabled());
	hook_on();
	spin_lock(&on_first[0]);        /* interrupts on */
	spin_unlock(&on_first[0]);
	lock_as_interrupt(&on_first[1]);
	KTEST_EXPECT_EQ(t, reports[LDR_IRQ], 1);
	lock_as_interrupt(&irq_first[0]);
	spin_lock(&irq_first[1]);
	spin_unlock(&irq_first[1]);
	KTEST_EXPECT_EQ(t, reports[LDR_IRQ], 2);
	/* Taken with interrupts off outside the handler: right. */
	lock_as_interrupt(&always_off[0]);
	u64 f = spin_lock_irqsave(&always_off[1]);
	spin_unlock_irqrestore(&always_off[1], f);
	hook_off();
	KTEST_EXPECT_EQ(t, reports[LDR_IRQ], 2);
	KTEST_EXPECT_EQ(t, total_reports(), 2);
}

/* A trylock cannot deadlock: B->A recorded, then A held and B tried. It
 * is held all the same: C taken under it records B->C. */
static void test_trylock(struct ktest *t)
{
	if (!validator_on(t))
		return;
	static spinlock_t a, b, c;
	spin_init(&a, "test try A");
	spin_init(&b, "test try B");
	spin_init(&c, "test try C");
	hook_on();
	lock_pair(&b, &a);
	spin_lock(&a);
	KTEST_EXPECT_TRUE(t, spin_trylock(&b));
	spin_lock(&c);                  /* records B->C (and A->C) */
	spin_unlock(&c);
	spin_unlock(&b);
	spin_unlock(&a);
	KTEST_EXPECT_EQ(t, total_reports(), 0);
	lock_pair(&c, &b);              /* C->B against the B->C above */
	hook_off();
	KTEST_EXPECT_EQ(t, reports[LDR_CYCLE], 1);
	KTEST_EXPECT_EQ(t, total_reports(), 1);
}

/* Two locks of one class nested: reported, unless the inner one is taken
 * as subclass 1 (the order fixed by the caller). */
static void test_same_class(struct ktest *t)
{
	if (!validator_on(t))
		return;
	static spinlock_t l[2];
	for (int i = 0; i < 2; i++)
		spin_init(&l[i], "test same class");
	hook_on();
	spin_lock(&l[0]);
	spin_lock_nested(&l[1], 1);
	spin_unlock(&l[1]);
	spin_unlock(&l[0]);
	KTEST_EXPECT_EQ(t, total_reports(), 0);
	lock_pair(&l[0], &l[1]);
	hook_off();
	KTEST_EXPECT_EQ(t, reports[LDR_RECURSION], 1);
	KTEST_EXPECT_EQ(t, total_reports(), 1);
}

/* An rwsem read twice by one thread deadlocks if a writer queues between
 * the two reads (a waiting writer blocks new readers); a read trylock
 * never waits, so it may. */
static void test_rwsem_recursive_read(struct ktest *t)
{
	if (!validator_on(t))
		return;
	static struct rwsem s;
	rwsem_init(&s, "test rwsem");
	hook_on();
	down_read(&s);
	KTEST_EXPECT_TRUE(t, down_read_trylock(&s));
	up_read(&s);
	KTEST_EXPECT_EQ(t, total_reports(), 0);
	down_read(&s);
	up_read(&s);
	up_read(&s);
	hook_off();
	KTEST_EXPECT_EQ(t, reports[LDR_RECURSION], 1);
	KTEST_EXPECT_EQ(t, total_reports(), 1);
}

/* lockdep_assert_held: silent while held, a report when not; and the
 * mmap_lock assertions of mm/vma_lock.h on a real mm. */
static void test_assertions(struct ktest *t)
{
	if (!validator_on(t))
		return;
	static spinlock_t l;
	spin_init(&l, "test assert");
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm != NULL);
	hook_on();
	spin_lock(&l);
	lockdep_assert_held(&l);
	spin_unlock(&l);
	KTEST_EXPECT_EQ(t, total_reports(), 0);
	lockdep_assert_held(&l);
	KTEST_EXPECT_EQ(t, reports[LDR_ASSERT], 1);
	down_read(&mm->mmap_lock);
	mmap_assert_locked(mm);
	KTEST_EXPECT_EQ(t, reports[LDR_ASSERT], 1);
	lockdep_assert_held_write(&mm->mmap_lock);      /* read is not enough */
	KTEST_EXPECT_EQ(t, reports[LDR_ASSERT], 2);
	up_read(&mm->mmap_lock);
	mmap_write_lock(mm);
	mmap_assert_write_locked(mm);
	mmap_write_unlock(mm);
	KTEST_EXPECT_EQ(t, reports[LDR_ASSERT], 2);
	pmd_assert_locked(mm);                          /* page_table_lock not held */
	KTEST_EXPECT_EQ(t, reports[LDR_ASSERT], 3);
	spin_lock(&mm->page_table_lock);
	pmd_assert_locked(mm);
	spin_unlock(&mm->page_table_lock);
	hook_off();
	KTEST_EXPECT_EQ(t, reports[LDR_ASSERT], 3);
	KTEST_EXPECT_EQ(t, total_reports(), 3);
	mm_put(mm);
}

/* The documented order on two real classes: page_table_lock, then a PTE
 * lock (mm/pgtable.h). The negative control takes them reversed. */
static void test_documented_order_kept(struct ktest *t)
{
	if (!validator_on(t))
		return;
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm != NULL);
	u32 ptl = 0;                    /* every word lock is a PTE lock */
	hook_on();
	if (lockdep_debug_wrong_order) {
		word_lock(&ptl);
		spin_lock(&mm->page_table_lock);
		spin_unlock(&mm->page_table_lock);
		word_unlock(&ptl);
	} else {
		spin_lock(&mm->page_table_lock);
		word_lock(&ptl);
		word_unlock(&ptl);
		spin_unlock(&mm->page_table_lock);
	}
	hook_off();
	KTEST_EXPECT_EQ(t, total_reports(), 0);
	mm_put(mm);
}

static void test_tables_bounded(struct ktest *t)
{
	if (!validator_on(t))
		return;
	ktest_log(t, "%u lock classes, %u orders recorded so far", lockdep_nr_classes(),
		  lockdep_nr_edges());
	KTEST_EXPECT_GT(t, lockdep_nr_classes(), 0);
	KTEST_EXPECT_GT(t, lockdep_rank_of("mm->mmap_lock"), 0);
	KTEST_EXPECT_LT(t, lockdep_rank_of("mm->mmap_lock"), lockdep_rank_of("ptl"));
	KTEST_EXPECT_EQ(t, lockdep_rank_of("test A"), 0);
}

static const struct ktest_case lockdep_cases[] = {
	{ "ab_ba", test_ab_ba },
	{ "three_chain", test_three_chain },
	{ "irq_safe_vs_unsafe", test_irq_safe_vs_unsafe },
	{ "trylock", test_trylock },
	{ "same_class", test_same_class },
	{ "rwsem_recursive_read", test_rwsem_recursive_read },
	{ "assertions", test_assertions },
	{ "documented_order_kept", test_documented_order_kept },
	{ "tables_bounded", test_tables_bounded },
};

KTEST_SUITE(lockdep, lockdep_cases);
