/* SPDX-License-Identifier: MIT */
/* mm/ioremap.c - device memory with an explicit memory type; see ioremap.h. */
#include "mm/ioremap.h"
#include "mm/paging.h"
#include "mm/sparse.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/mtrr.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/tlb.h"

#define CR4_PGE (1UL << 7)
#include "kernel/spinlock.h"

static spinlock_t ioremap_lock = SPINLOCK_INIT("ioremap_lock");

const char *pat_type_name(enum pat_type type)
{
	switch (type) {
	case PAT_UC: return "UC";
	case PAT_WC: return "WC";
	case PAT_WT: return "WT";
	case PAT_WP: return "WP";
	case PAT_WB: return "WB";
	case PAT_UC_MINUS: return "UC-";
	default: return "?";
	}
}

/* What a request for `type` gets on this CPU: without PAT only the
 * power-on entries WB, UC- and UC exist (pat.h). */
static enum pat_type effective_type(enum pat_type type)
{
	if (pat_enabled || type == PAT_WB || type == PAT_UC || type == PAT_UC_MINUS)
		return type;
	return PAT_UC;
}

/* The first page of [start, end) mapped with a type other than type, or
 * end when there is none. */
static u64 first_conflict(u64 start, u64 end, enum pat_type type, enum pat_type *found)
{
	for (u64 pa = start; pa < end; pa += PAGE_SIZE) {
		enum pt_level level;
		u64 *e = paging_lookup(DIRECT_MAP_BASE + pa, &level);
		if (e && (*found = pat_type_of(*e, level != PT_PTE)) != type)
			return pa;
	}
	return end;
}

/* How many ioremap calls share an entry ioremap made, in bits 52..58 of
 * the kernel entry, which the CPU ignores: iounmap removes the entry when
 * the count falls to 0. An entry with count 0 was not made here (RAM in
 * the direct map) and is never removed; one at the maximum stays for good. */
#define IOREMAP_COUNT_SHIFT 52
#define IOREMAP_COUNT_MAX 127UL
#define IOREMAP_COUNT_MASK (IOREMAP_COUNT_MAX << IOREMAP_COUNT_SHIFT)

static u64 map_count(u64 e) { return (e & IOREMAP_COUNT_MASK) >> IOREMAP_COUNT_SHIFT; }
static u64 with_count(u64 e, u64 n) { return (e & ~IOREMAP_COUNT_MASK) | (n << IOREMAP_COUNT_SHIFT); }

static void unmap_pages(u64 start, u64 end, enum pat_type type);

static bool map_pages(u64 start, u64 end, enum pat_type type)
{
	u64 flags = PTE_P | PTE_W | PTE_G | PTE_NX | pat_cache_bits(type, false) |
		    (1UL << IOREMAP_COUNT_SHIFT);
	for (u64 pa = start; pa < end; pa += PAGE_SIZE) {
		enum pt_level level;
		u64 *e = paging_lookup(DIRECT_MAP_BASE + pa, &level);
		if (e) {
			/* The same type: first_conflict said so. One more user
			 * of an ioremap entry; RAM's entries are not counted. */
			u64 n = level == PT_PTE ? map_count(*e) : 0;
			if (n && n < IOREMAP_COUNT_MAX)
				*e = with_count(*e, n + 1);
			continue;
		}
		if (!paging_map_kernel_page(DIRECT_MAP_BASE + pa, pa, flags)) {
			unmap_pages(start, pa, type);   /* give back what this call took */
			return false;
		}
	}
	return true;
}

/* --- iounmap --- */

/* Negative control: iounmap flushes only the calling CPU (paging.iounmap
 * must then see another CPU still reading the unmapped page). */
static bool ioremap_debug_local_flush;

struct flush_range {
	u64 start, end;         /* virtual */
};

/* This CPU's translations of [start, end): the entries are global (PTE_G),
 * which a CR3 reload keeps; invlpg drops them one by one, and toggling
 * CR4.PGE drops every global translation at once for a long range. */
static void flush_kernel_range_local(void *arg)
{
	const struct flush_range *r = arg;
	if ((r->end - r->start) / PAGE_SIZE > 64 && (read_cr4() & CR4_PGE)) {
		u64 cr4 = read_cr4();
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
		return;
	}
	for (u64 va = r->start; va < r->end; va += PAGE_SIZE)
		local_flush_tlb_one(va);
}

/* Drop one user of each ioremap entry in [start, end) and remove the
 * entries that have none left; returns how many were removed. Cacheable
 * pages are written back and evicted first (clflush), so no line of the
 * old type outlives the mapping when the page is mapped again with
 * another type (SDM vol. 3, "Memory type aliasing"). */
static u64 drop_pages(u64 start, u64 end, enum pat_type *type)
{
	u64 removed = 0;
	for (u64 pa = start; pa < end; pa += PAGE_SIZE) {
		enum pt_level level;
		u64 va = DIRECT_MAP_BASE + pa;
		u64 *e = paging_lookup(va, &level);
		u64 n = e && level == PT_PTE ? map_count(*e) : 0;
		if (n == 0 || n == IOREMAP_COUNT_MAX)
			continue;       /* RAM, not mapped, or mapped for good */
		*type = pat_type_of(*e, false);
		if (n > 1) {
			*e = with_count(*e, n - 1);
			continue;
		}
		if (*type == PAT_WB || *type == PAT_WT || *type == PAT_WP)
			for (u64 line = va; line < va + PAGE_SIZE; line += 64)
				__asm__ __volatile__("clflush (%0)" : : "r"(line) : "memory");
		*e = 0;
		removed++;
	}
	return removed;
}

/* Remove, then flush every CPU's TLB for the range before anyone may map
 * these pages again (ioremap_lock is held throughout: a new mapping of
 * another type cannot meet a stale translation of the old one). */
static void unmap_pages(u64 start, u64 end, enum pat_type type)
{
	if (!drop_pages(start, end, &type))
		return;
	if (type == PAT_WC)
		__asm__ __volatile__("sfence" ::: "memory");    /* drain write-combining buffers */
	struct flush_range r = { DIRECT_MAP_BASE + start, DIRECT_MAP_BASE + end };
	flush_kernel_range_local(&r);
	if (!ioremap_debug_local_flush)
		smp_call_function_many(&cpu_online_mask, flush_kernel_range_local, &r, true);
}

void iounmap(volatile void *addr, u64 size)
{
	if (!addr || size == 0)
		return;
	static bool switch_read;
	if (!switch_read) {
		cmdline_debug_switch("ioremap", "ioremap_debug_local_flush",
				     &ioremap_debug_local_flush,
				     "iounmap flushes only this CPU's TLB");
		switch_read = true;
	}
	u64 phys = virt_to_phys((const void *)addr);
	u64 start = ALIGN_DOWN(phys, PAGE_SIZE), end = ALIGN_UP(phys + size, PAGE_SIZE);
	spin_lock(&ioremap_lock);
	unmap_pages(start, end, PAT_UC);
	spin_unlock(&ioremap_lock);
}

void *ioremap_prot(phys_addr_t phys, u64 size, enum pat_type type)
{
	u64 start = ALIGN_DOWN(phys, PAGE_SIZE);
	u64 end = ALIGN_UP(phys + size, PAGE_SIZE);
	if (size == 0 || end <= start || end > (1UL << MAX_PHYSMEM_BITS)) {
		printk(KERN_WARNING "ioremap: [0x%lx, +0x%lx) is not a physical range\n", phys, size);
		return NULL;
	}
	type = effective_type(type);
	spin_lock(&ioremap_lock);
	enum pat_type found = type;
	u64 bad = first_conflict(start, end, type, &found);
	bool ok = bad == end && map_pages(start, end, type);
	spin_unlock(&ioremap_lock);
	if (bad != end)
		printk(KERN_WARNING "ioremap: 0x%lx is mapped %s already; %s refused for "
		       "[0x%lx, +0x%lx) (one memory type per page)\n", bad, pat_type_name(found),
		       pat_type_name(type), phys, size);
	if (!ok)
		return NULL;
	/* The type the accesses really get also depends on firmware's MTRRs
	 * (arch/x86_64/mtrr.h): said on the console when it differs. */
	mtrr_check_mapping("ioremap", phys, size, type);
	return phys_to_virt(phys);
}
