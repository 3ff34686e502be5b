/* SPDX-License-Identifier: MIT */
/* mm/vma_lock.c - per-VMA locks and the fault fast path's VMA lookup; see
 * vma_lock.h for the rules. */
#include "mm/vma_lock.h"
#include "mm/vma.h"
#include "mm/page.h"
#include "mm/mm.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/rcu.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"

bool vma_lock_enabled = true;
bool vma_debug_skip_seq_check;
bool vma_debug_free_now;
bool vma_debug_fork_skip_lock;
bool vma_debug_lock_after_zap;
void (*vma_debug_lookup_hook)(struct mm_struct *mm, struct vm_area *found);

/* Per CPU, each on its own cache line: every fault counts one, and faults
 * on different CPUs must not fight over a shared counter (Linux's
 * vm_event counters are per CPU for the same reason). */
static struct {
	u64 n[NR_VMA_LOCK_EVENTS];
} __attribute__((aligned(64))) vma_lock_event_count[MAX_CPUS];

void count_vma_lock_event(enum vma_lock_event e)
{
	/* The fault path runs on one CPU throughout (no preemption). */
	u64 *c = &vma_lock_event_count[smp_processor_id()].n[e];
	__atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

u64 vma_lock_events(enum vma_lock_event e)
{
	u64 sum = 0;
	u32 c;
	for_each_possible_cpu(c)
		sum += __atomic_load_n(&vma_lock_event_count[c].n[e], __ATOMIC_RELAXED);
	return sum;
}

/* --- writers --- */

/* Every VMA's lock is one class for the validator (kernel/lockdep.h). */
static struct lockdep_map vma_lock_map = LOCKDEP_MAP_INIT("vma->vm_lock");

void mmap_write_lock(struct mm_struct *mm)
{
	down_write(&mm->mmap_lock);
}

void mmap_write_lock_nested(struct mm_struct *mm, u32 subclass)
{
	down_write_nested(&mm->mmap_lock, subclass);
}

void mmap_write_unlock(struct mm_struct *mm)
{
	/* Every VMA write-locked in this section (vm_lock_seq equal to the
	 * old value) is unlocked by this one store; release: the section's
	 * changes are visible to a fault that sees the new value. */
	__atomic_store_n(&mm->mm_lock_seq, mm->mm_lock_seq + 1, __ATOMIC_RELEASE);
	up_write(&mm->mmap_lock);
}

void mmap_assert_write_locked(struct mm_struct *mm)
{
	if (__atomic_load_n(&mm->mmap_lock.readers, __ATOMIC_RELAXED) != -1)
		panic("mm: a VMA is being changed without mmap_lock held for writing");
	lockdep_assert_held_write(&mm->mmap_lock);
}

void mmap_assert_locked(struct mm_struct *mm)
{
	if (__atomic_load_n(&mm->mmap_lock.readers, __ATOMIC_RELAXED) == 0)
		panic("mm: mmap_lock must be held here, and nobody holds it");
	lockdep_assert_held(&mm->mmap_lock);
}

void pmd_assert_locked(struct mm_struct *mm)
{
	lockdep_assert_held(&mm->page_table_lock);
}

void pte_assert_locked(const u64 *pte)
{
	/* A PTE table's lock is the word in its struct page. */
	lockdep_assert(__lock_is_held(&virt_to_page(pte)->ptl, false), "the PTE table's lock");
}

static bool vma_write_locked(const struct vm_area *v)
{
	return v->vm_lock_seq == v->mm->mm_lock_seq;
}

void vma_start_write(struct vm_area *v)
{
	mmap_assert_write_locked(v->mm);
	if (vma_write_locked(v))
		return;
	/* Take the lock from no reader to "a writer": fast-path faults
	 * inside v finish first (they never sleep holding it), and none can
	 * enter meanwhile. Then mark v locked for the rest of the section. */
	lock_acquire(&vma_lock_map, v, LD_SPIN, 0);     /* as Linux 6.4: a moment's hold */
	s32 idle = 0;
	while (!__atomic_compare_exchange_n(&v->vm_lock, &idle, -1, false, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		idle = 0;
		cpu_relax();
	}
	__atomic_store_n(&v->vm_lock_seq, v->mm->mm_lock_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&v->vm_lock, 0, __ATOMIC_RELEASE);
	lock_release(&vma_lock_map, v, LD_SPIN);
}

void vma_start_write_all(struct mm_struct *mm)
{
	const struct vma_set *s = mm->vma_root;
	for (u32 i = 0; i < s->nr; i++)
		vma_start_write(s->v[i]);
}

/* --- the fast path --- */

static void vma_read_unlock(struct vm_area *v)
{
	__atomic_sub_fetch(&v->vm_lock, 1, __ATOMIC_RELEASE);
}

/* Read-lock v unless a writer holds it: never waits for a writer (a
 * fault that would is better off under mmap_lock), but other readers -
 * faults of other threads in the same VMA - do not make it give up. For
 * the validator it is a trylock: it cannot deadlock. */
static bool vma_start_read(struct mm_struct *mm, struct vm_area *v)
{
	s32 readers = __atomic_load_n(&v->vm_lock, __ATOMIC_RELAXED);
	do {
		if (readers < 0)
			return false;
	} while (!__atomic_compare_exchange_n(&v->vm_lock, &readers, readers + 1, false,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	/* Locked by the current write section? (The acquire above orders
	 * this load after the writer's marking, which it did holding -1.) */
	if (!vma_debug_skip_seq_check &&
	    __atomic_load_n(&v->vm_lock_seq, __ATOMIC_RELAXED) ==
	    __atomic_load_n(&mm->mm_lock_seq, __ATOMIC_ACQUIRE)) {
		vma_read_unlock(v);
		return false;
	}
	lock_acquire(&vma_lock_map, v, LD_SPIN, LD_TRY | LD_READ);
	return true;
}

void vma_end_read(struct vm_area *v)
{
	lock_release(&vma_lock_map, v, LD_SPIN);
	vma_read_unlock(v);
}

void vma_assert_read_locked(struct vm_area *v)
{
	lockdep_assert_held(v);
}

void fault_assert_locked(struct mm_struct *mm, struct vm_area *v)
{
	lockdep_assert(__lock_is_held(&mm->mmap_lock, false) || __lock_is_held(v, false),
		       "mm's mmap_lock or the VMA's read lock");
}

#define LOOKUP_TRIES 4

struct vm_area *lock_vma_under_rcu(struct mm_struct *mm, u64 addr)
{
	for (int tries = 0; tries < LOOKUP_TRIES; tries++) {
		rcu_read_lock();        /* no VMA or array we read is freed meanwhile */
		struct vm_area *v = vma_find_rcu(mm->vma_root, addr);
		if (v && vma_debug_lookup_hook)
			vma_debug_lookup_hook(mm, v);
		if (!v || !vma_start_read(mm, v)) {
			rcu_read_unlock();
			break;
		}
		/* Locked and not being changed: its fields hold still. Was it
		 * changed between the lookup and the lock? */
		if (addr < v->start || addr >= v->end) {
			vma_end_read(v);
			rcu_read_unlock();
			break;
		}
		if (__atomic_load_n(&v->detached, __ATOMIC_RELAXED) && !vma_debug_skip_seq_check) {
			/* Replaced after the lookup: look again. */
			vma_end_read(v);
			rcu_read_unlock();
			count_vma_lock_event(VMA_LOCK_MISS);
			continue;
		}
		/* Held read-locked, v cannot be detached and so not freed:
		 * RCU is no longer needed to keep it. */
		rcu_read_unlock();
		return v;
	}
	count_vma_lock_event(VMA_LOCK_ABORT);
	return NULL;
}

void vma_lock_init(void)
{
	if (cmdline_long("vma_lock", 1) == 0) {
		vma_lock_enabled = false;
		printk("mm: vma_lock=0: every page fault takes mmap_lock\n");
	}
	cmdline_debug_switch("mm", "vma_debug_skip_seq_check", &vma_debug_skip_seq_check,
			     "the fault fast path trusts its lookup");
	cmdline_debug_switch("mm", "vma_debug_fork_skip_lock", &vma_debug_fork_skip_lock,
			     "fork copies the parent's page tables with its VMAs open to fast-path faults");
	cmdline_debug_switch("mm", "vma_debug_lock_after_zap", &vma_debug_lock_after_zap,
			     "munmap write-locks its VMAs only when it removes them, after the zap");
	cmdline_debug_switch("mm", "vma_debug_free_now", &vma_debug_free_now,
			     "VMAs are freed without an RCU grace period");
}
