/* SPDX-License-Identifier: MIT */
/* tests/bench/kernel/bench_memmodel.c - "bench=memmodel": what turning a
 * pfn into its descriptor and back costs, in TSC cycles per operation, for
 * the memory model Pagoda uses and the two it could have used
 * (mm/sparse.h, docs/physical-memory.md section 2). Every page fault does
 * several of these. It prints figures; it does not pass or fail.
 *
 *   vmemmap         Pagoda: vmemmap + pfn, a constant base (no memory load)
 *   flat mem_map    mem_map + pfn, the base loaded from a variable (the
 *                   layout before sections: one contiguous array)
 *   section table   classic SPARSEMEM: mem_section[pfn >> 15] + pfn, one
 *                   table load per conversion (page_to_pfn would need the
 *                   section number kept in the descriptor as well)
 *
 * The pfns are 4096 valid ones spread over all RAM (descriptors of several
 * sections, so the table is not one cache line), visited in a fixed
 * pseudo-random order; each result feeds the next index, so the loop cannot
 * be folded away.
 */
#include "mm/page.h"
#include "mm/sparse.h"
#include "mm/slab.h"
#include "kernel/ktest.h"
#include "kernel/printk.h"
#include "arch/x86_64/cpu.h"

#define NR_PFNS 4096
#define ROUNDS 256

static u64 pfns[NR_PFNS];
/* The alternatives, built from the real vmemmap so they give the same
 * descriptors. volatile: the compiler must load them as real code would. */
static struct page *volatile flat_mem_map;
static struct page **section_map;       /* per section: descriptors - section start */

static void pick_pfns(void)
{
	u64 n = 0, seed = 12345;
	while (n < NR_PFNS) {
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		u64 pfn = (seed >> 20) % max_pfn;
		if (pfn_valid(pfn))
			pfns[n++] = pfn;
	}
}

/* Cycles per pfn -> page -> pfn round trip, the conversion chosen by how. */
static u64 measure(int how)
{
	u64 idx = 0, t0 = rdtsc();
	for (u32 r = 0; r < ROUNDS; r++)
		for (u32 i = 0; i < NR_PFNS; i++) {
			u64 pfn = pfns[(i + idx) & (NR_PFNS - 1)];
			struct page *p;
			if (how == 0)
				p = pfn_to_page(pfn);
			else if (how == 1)
				p = flat_mem_map + pfn;
			else
				p = section_map[pfn_to_section_nr(pfn)] + pfn;
			u64 back = how == 0 ? page_to_pfn(p) : (u64)(p - (how == 1 ? flat_mem_map :
				   section_map[pfn_to_section_nr(pfn)]));
			idx = (idx + back) & 7;
		}
	return (rdtsc() - t0) / ((u64)ROUNDS * NR_PFNS);
}

static void bench_memmodel(void)
{
	u64 nr_sections = pfn_to_section_nr(max_pfn - 1) + 1;
	section_map = kmalloc(nr_sections * sizeof(*section_map), 0);
	if (!section_map) {
		printk("bench memmodel: no memory for the section table\n");
		return;
	}
	for (u64 s = 0; s < nr_sections; s++)
		section_map[s] = vmemmap;       /* encoded: descriptor of pfn 0 */
	flat_mem_map = vmemmap;
	pick_pfns();
	printk("bench memmodel: cycles (rdtsc) per pfn_to_page + page_to_pfn; %lu sections present\n",
	       sparse_present_sections());
	static const char *const names[] = { "vmemmap (Pagoda)", "flat mem_map", "section table" };
	for (int how = 0; how < 3; how++)
		printk("  %-20s %4lu\n", names[how], measure(how));
	kfree(section_map);
}

KTEST_BENCH(memmodel, bench_memmodel);
