/* SPDX-License-Identifier: MIT */
/* mm/kstack.h - kernel stacks mapped when they are first needed, each above
 * a guard page that is never mapped.
 *
 * A machine may have up to NR_CPUS CPUs, and each started CPU needs a
 * kernel stack and IST_COUNT exception stacks (arch/x86_64/desc.h); each
 * kernel thread needs a stack too. Static arrays for every possible CPU
 * and thread slot cost tens of MiB of .bss whatever the machine has, so
 * instead every stack has a fixed place (a slot) in a virtual area of its
 * own, and its pages are taken from the page allocator and mapped when a
 * CPU is started or a thread slot is first used (Linux maps its thread
 * stacks with vmalloc for the same guard pages, CONFIG_VMAP_STACK).
 *
 *   KSTACK_AREA_START + slot * KSTACK_SLOT_SIZE
 *   | guard: never mapped ...            | stack pages, mapped on demand |
 *                                                                ^ top
 *
 * Rule: the lowest page of every slot is never mapped, so a stack that
 * overflows faults (and the double fault is reported on its IST stack)
 * instead of running into the stack below it.
 *
 * The area's root entry is made by paging_init(), before any address space
 * copies the kernel half, and is also put in the boot page tables: an AP
 * starts on those and uses its stack before it loads kernel_cr3
 * (arch/x86_64/smp.c). Stacks are never unmapped: a thread slot that is
 * used again keeps its stack. Entries are only ever added, so no TLB
 * flush is needed.
 *
 * Locking: kstack_lock (may allocate pages and page tables: taken before
 * the page allocator's locks). Not from interrupt context.
 */
#ifndef PAGODA_MM_KSTACK_H
#define PAGODA_MM_KSTACK_H

#include "kernel/types.h"
#include "kernel/cpumask.h"

/* One PML4 entry (512 GiB) of its own, between the direct map (up to
 * 2^46 bytes above 0xFFFF800000000000) and VMEMMAP_START. */
#define KSTACK_AREA_START 0xFFFFC90000000000UL
/* Each slot: 32 KiB of address space, of which at most the top
 * KSTACK_SLOT_SIZE - 4096 bytes are mapped. */
#define KSTACK_SLOT_SIZE (32UL * 1024)

/* Which slot holds which stack. IST stacks: KSTACK_NR_IST per CPU (at
 * least IST_COUNT: arch/x86_64/desc.c checks). Thread slots as many as
 * kernel/sched.h's MAX_THREADS (sched.c checks). */
#define KSTACK_NR_IST 4
#define KSTACK_NR_THREADS (NR_CPUS + 256)
#define KSTACK_SLOT_AP(cpu) (cpu)
#define KSTACK_SLOT_IST(cpu, ist) (NR_CPUS + (cpu) * KSTACK_NR_IST + (ist))
#define KSTACK_SLOT_THREAD(i) (NR_CPUS * (1 + KSTACK_NR_IST) + (i))
#define KSTACK_NR_SLOTS (NR_CPUS * (1 + KSTACK_NR_IST) + KSTACK_NR_THREADS)

/* The lowest byte of the stack in `slot`, `size` bytes (a multiple of 4 KiB,
 * at most KSTACK_SLOT_SIZE - 4096) just below the slot's top, mapped
 * read/write; the pages come from the page allocator the first time, and
 * the same stack is returned afterwards. NULL when there is no memory (a
 * message says so) or the slot or size is out of range. */
void *kstack_map(u32 slot, u64 size);

/* The guard page of `slot` (its lowest page), mapped or not; NULL past the
 * last slot. */
void *kstack_guard(u32 slot);

/* Pages mapped into the area so far (for /proc/meminfo-like reports and
 * tests). */
u64 kstack_pages_mapped(void);

#endif
