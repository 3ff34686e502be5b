/* SPDX-License-Identifier: MIT */
/* mm/tlbflush.h - TLB shootdown: making every CPU forget a translation
 * before what it pointed to is reused (docs/tlb-shootdown.md).
 *
 * State (Linux's names, arch/x86/mm/tlb.c):
 *   per address space  mm->tlb_gen   bumped once per change to its tables
 *                      mm->cpumask   CPUs that may cache its translations: a
 *                                    superset, set on switch-in and cleared
 *                                    lazily (by a CPU that gets a flush for an
 *                                    mm it no longer has loaded)
 *   per CPU            loaded_mm, loaded_mm_gen (the generation its TLB is
 *                      known to be flushed to for loaded_mm), is_lazy (a
 *                      kernel thread borrows the user tables it found loaded)
 *   Invariant: a CPU's TLB holds no translation of loaded_mm older than
 *   loaded_mm_gen.
 *
 * The rule for callers: change the page tables first, then call
 * flush_tlb_mm_range(); when it returns, no CPU can use the old entries, and
 * only then may the pages (or tables) they pointed to be freed. The mmu_gather
 * (mm/mmu_gather.h) does this ordering for unmap-like operations.
 *
 * Locking and context: flush_tlb_mm_range() may be called with spinlocks held
 * and with interrupts on or off, but not from an interrupt handler. It
 * disables interrupts while it sends and waits; while waiting it serves the
 * flush and function-call requests other CPUs send it, so two CPUs shooting
 * each other down at the same moment both finish.
 */
#ifndef PAGODA_MM_TLBFLUSH_H
#define PAGODA_MM_TLBFLUSH_H

#include "kernel/types.h"
#include "mm/mm.h"

#define TLB_FLUSH_ALL (~0UL)

/* Ranges of more than this many pages get one full flush instead of an
 * INVLPG per page (Linux's tlb_single_page_flush_ceiling; "tlb_ceiling=N"). */
extern u32 tlb_single_page_flush_ceiling;

/* Flush [start, end) of mm, pages of 1 << stride_shift bytes, on every CPU
 * that may cache it, and wait. end == TLB_FLUSH_ALL: everything of mm.
 * freed_tables: page-table pages were unhooked, so CPUs in lazy TLB mode
 * (which may still walk them speculatively) are interrupted too. */
void flush_tlb_mm_range(struct mm_struct *mm, u64 start, u64 end, u32 stride_shift,
			bool freed_tables);

/* This CPU stops using any user address space: the kernel's own root is
 * loaded. Interrupts disabled. */
void leave_mm(void);

/* A kernel thread runs next: keep the user tables loaded (lazy TLB). */
void enter_lazy_tlb(void);

/* Serve the flush requests other CPUs sent this one. Called by every loop
 * that waits for another CPU with interrupts disabled (smp_call.c too). */
void tlb_flush_poll(void);

void tlb_flush_init(void);      /* the IPI vector and "tlb_ceiling=" */

/* Per-CPU counters under Linux's /proc/vmstat names (enum in mm.h). */
u64 tlb_stat_read(enum tlb_stat_item item);             /* summed over CPUs */
u64 tlb_stat_cpu(u32 cpu, enum tlb_stat_item item);
/* For tests: VEC_TLB_FLUSH interrupts this CPU has taken. */
u64 tlb_flush_ipis_cpu(u32 cpu);

/* Negative controls (docs/tlb-shootdown.md): "tlb_debug_skip_remote_flush"
 * flushes only the calling CPU - the bug of kernels that forget other CPUs.
 * The stale-TLB tests must then fail. */
extern bool tlb_debug_skip_remote_flush;
/* "tlb_debug_flush_by_call": a flush that must reach other CPUs asks them
 * through smp_call_function_many() instead of the mailboxes and the
 * VEC_TLB_FLUSH interrupt: still correct, but the flush vector is never
 * taken, which tlb.ipis_reach_mm_cpus_only must catch. */
extern bool tlb_debug_flush_by_call;

/* For tests: what this CPU has loaded, and whether lazily. */
bool tlb_this_cpu_is_lazy(void);
u64 tlb_this_cpu_gen(void);

#endif
