/* SPDX-License-Identifier: MIT */
/* mm/madvise.h - madvise(2) and the batched form process_madvise(2) uses
 * (docs/madvise.md).
 *
 * MADV_DONTNEED (and _LOCKED, and MADV_FREE, which Pagoda treats the same
 * way: free at once, which Linux allows) zaps the pages of a range: private
 * anonymous memory reads back as zero, shared memory as its object. The zap
 * runs under mmap_lock for *read* - faults may run beside it - taking each
 * PTE table's lock in turn (mm/pgtable.h), and queues everything in one
 * mmu_gather: one TLB flush per call, never one per page.
 *
 * process_madvise of a vector of ranges uses one gather for the whole
 * vector (madvise_vec): one flush, at most one IPI per remote CPU, for all
 * ranges - Linux's 2025 split of "zap without flushing" from "zap one
 * range". "madvise_batch=0" on the command line goes back to a gather per
 * range, for comparison (bench_madvise).
 *
 * A zap also frees page tables it leaves empty (pgtable.h, "pt_reclaim").
 *
 * MADV_REMOVE of shared memory is not a zap of this address space: it
 * punches the range out of the shared object and unmaps it from every
 * address space that maps it (mm/shared_anon.h, shared_anon_punch), so all
 * of them read zeros there afterwards.
 * Every other advice is done as Linux does it, or is a pure hint (nothing
 * to do without read-ahead or reclaim), or is refused as a Linux without
 * the feature refuses it (madvise_valid): none is accepted and dropped.
 * DONTFORK/DOFORK and WIPEONFORK/KEEPONFORK set VMA flags that mm_fork
 * reads; DONTDUMP/DODUMP one that a core dump would.
 */
#ifndef PAGODA_MM_MADVISE_H
#define PAGODA_MM_MADVISE_H

#include "kernel/types.h"
#include "mm/mm.h"

/* Linux's values (uapi asm-generic/mman-common.h). */
#define MADV_NORMAL 0
#define MADV_RANDOM 1
#define MADV_SEQUENTIAL 2
#define MADV_WILLNEED 3
#define MADV_DONTNEED 4
#define MADV_FREE 8
#define MADV_REMOVE 9
#define MADV_DONTFORK 10
#define MADV_DOFORK 11
#define MADV_MERGEABLE 12
#define MADV_UNMERGEABLE 13
#define MADV_HUGEPAGE 14
#define MADV_NOHUGEPAGE 15
#define MADV_DONTDUMP 16
#define MADV_DODUMP 17
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#define MADV_COLD 20
#define MADV_PAGEOUT 21
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#define MADV_DONTNEED_LOCKED 24
#define MADV_COLLAPSE 25

bool madvise_valid(u64 advice);

/* Does a zapping advice (DONTNEED, DONTNEED_LOCKED, FREE) refuse v with
 * -EINVAL? MADV_FREE on a VMA that is not anonymous memory; anything but
 * DONTNEED_LOCKED on locked memory. The userfaultfd REMOVE event asks the
 * same question before it tells a handler pages are going. */
struct vm_area;
bool madvise_zap_refused(const struct vm_area *v, u64 advice);

/* One range of a vector (struct iovec's layout). */
struct madvise_range {
	u64 base;
	u64 len;
};

/* advice on each range in turn, as process_madvise does: stops at the first
 * error. Returns 0 or that error; *done counts the bytes of the ranges fully
 * advised before it. */
long madvise_vec(struct mm_struct *mm, const struct madvise_range *r, u64 n, u64 advice,
		 u64 *done);

extern bool madvise_batch;              /* "madvise_batch=0": a gather per range */

/* The system calls, registered by mm_syscalls_init. process_madvise names
 * its address space by a pidfd (kernel/sys_misc.c's pidfd_open). */
long sys_madvise(u64 start, u64 len, u64 advice);
long sys_process_madvise(u64 pidfd, u64 uvec, u64 vlen, u64 advice, u64 flags);
void madvise_init(void);                /* reads the command line */

/* mm/mmap.c: give [start, end) (inside one VMA after splitting) new VMA
 * flags, rewriting the PTEs; tlb collects what must be flushed. */
struct mmu_gather;
int mm_set_range_flags(struct mm_struct *mm, u64 start, u64 end, u32 newflags,
		       struct mmu_gather *tlb);

#endif
