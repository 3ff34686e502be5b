/* SPDX-License-Identifier: MIT */
/* mm/ioremap.c - device memory with an explicit memory type; see ioremap.h. */
#include "mm/ioremap.h"
#include "mm/paging.h"
#include "mm/sparse.h"
#include "kernel/printk.h"
#include "arch/x86_64/mtrr.h"
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

static bool map_pages(u64 start, u64 end, enum pat_type type)
{
	u64 flags = PTE_P | PTE_W | PTE_G | PTE_NX | pat_cache_bits(type, false);
	for (u64 pa = start; pa < end; pa += PAGE_SIZE) {
		enum pt_level level;
		if (paging_lookup(DIRECT_MAP_BASE + pa, &level))
			continue;       /* the same type: first_conflict said so */
		if (!paging_map_kernel_page(DIRECT_MAP_BASE + pa, pa, flags))
			return false;
	}
	return true;
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
