/* SPDX-License-Identifier: MIT */
/* mm/kstack.h - kernel stacks mapped when they are first needed, each above
 * a guard page that is never mapped.
 *
 * A machine may have up to NR_CPUS CPUs, and each started CPU needs a
 * kernel stack and IST_COUNT exception stacks (arch/x86_64/desc.h).
 * Static arrays for every possible CPU cost 14 MiB of .bss whatever the
 * machine has, so instead every such stack has a fixed place (a slot) in a
 * virtual area of its own, and its pages are taken from the page
 * allocator and mapped when the CPU is started (Linux maps its stacks
 * with vmalloc for the same guard pages, CONFIG_VMAP_STACK).
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
 * (arch/x86_64/smp.c). Stacks are never unmapped (no CPU goes offline):
 * entries are only ever added, so no TLB flush is needed.
 *
 * Kernel threads' stacks are not here: they are static (kernel/sched.c).
 * A slot's stack would outlive its thread (freeing it means unmapping, and
 * a TLB flush on every CPU from the scheduler), and programs' memory
 * checks (the run= leak check, /proc/meminfo's MemFree) would count it as
 * lost.
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
 * least IST_COUNT: arch/x86_64/desc.c checks). */
#define KSTACK_NR_IST 4
#define KSTACK_SLOT_AP(cpu) (cpu)
#define KSTACK_SLOT_IST(cpu, ist) (NR_CPUS + (cpu) * KSTACK_NR_IST + (ist))
#define KSTACK_NR_SLOTS (NR_CPUS * (1 + KSTACK_NR_IST))

/* The lowest byte of the stack in `slot`, `size` bytes (a multiple of 4 KiB,
 * at most KSTACK_SLOT_SIZE - 4096) just below the slot's top, mapped
 * read/write; the pages come from the page allocator the first time, and
 * the same stack is returned afterwards. NULL when there is no memory (a
 * message says so) or the slot or size is out of range. */
void *kstack_map(u32 slot, u64 size);

/* The guard page of `slot` (its lowest page), mapped or not; NULL past the
 * last slot. */
void *kstack_guard(u32 slot);

/* Pages mapped into the area so far. */
u64 kstack_pages_mapped(void);

#endif
