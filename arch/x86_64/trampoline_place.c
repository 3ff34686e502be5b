/* SPDX-License-Identifier: MIT */
/* arch/x86_64/trampoline_place.c - choosing the AP trampoline's page.
 * See trampoline_place.h. Pure: also built into tests/host/test_trampoline.c. */
#include "arch/x86_64/trampoline_place.h"

#define LOW_PAGE 0x1000UL
#define ONE_MIB 0x100000UL

u64 trampoline_low_limit(u16 ebda_segment, u16 base_kib)
{
	u64 limit = TRAMPOLINE_LIMIT_MAX;
	u64 ebda = (u64)ebda_segment << 4;
	u64 base = (u64)base_kib << 10;
	if (ebda >= TRAMPOLINE_LIMIT_MIN && ebda < limit)
		limit = ebda;
	if (base >= TRAMPOLINE_LIMIT_MIN && base < limit)
		limit = base;
	return ALIGN_DOWN(limit, 4096UL);
}

static bool overlaps(u64 a0, u64 a1, u64 b0, u64 b1)
{
	return a0 < b1 && b0 < a1;
}

/* Is [p, p + len) inside one available entry and clear of every other
 * entry and busy range? */
static bool run_is_free(const struct boot_mmap_entry *mmap, u32 nr_mmap,
			const struct mem_range *busy, u32 nr_busy, u64 p, u64 len)
{
	bool inside = false;
	for (u32 i = 0; i < nr_mmap; i++) {
		const struct boot_mmap_entry *e = &mmap[i];
		u64 end = e->base + e->length;
		if (e->type == MMAP_AVAILABLE && e->base <= p && p + len <= end)
			inside = true;
		else if (e->type != MMAP_AVAILABLE && overlaps(p, p + len, e->base, end))
			return false;
	}
	if (!inside)
		return false;
	for (u32 i = 0; i < nr_busy; i++) {
		if (busy[i].start == 0 && busy[i].end >= ONE_MIB)
			continue;       /* the blanket low-memory reservation */
		if (overlaps(p, p + len, busy[i].start, busy[i].end))
			return false;
	}
	return true;
}

u64 trampoline_place(const struct boot_mmap_entry *mmap, u32 nr_mmap,
		     const struct mem_range *busy, u32 nr_busy, u64 limit, u64 size)
{
	u64 len = ALIGN_UP(size, 4096UL);
	limit = ALIGN_DOWN(MIN(limit, ONE_MIB), 4096UL);
	if (len == 0 || limit < LOW_PAGE + len)
		return 0;
	/* Highest first, as before: the pages just under the EBDA are the
	 * ones least likely to hold anything of the boot loader's. */
	for (u64 p = limit - len; p >= LOW_PAGE; p -= 4096)
		if (run_is_free(mmap, nr_mmap, busy, nr_busy, p, len))
			return p;
	return 0;
}
