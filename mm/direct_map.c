/* SPDX-License-Identifier: MIT */
/* mm/direct_map.c - the direct map's ranges and page sizes; see direct_map.h. */
#include "mm/direct_map.h"

#define DM_PAGE (1UL << 12)
#define DM_2M (1UL << 21)
#define DM_1G (1UL << 30)

static bool ram_like(u32 type)
{
	return type == MMAP_AVAILABLE || type == MMAP_ACPI_RECLAIMABLE || type == MMAP_ACPI_NVS;
}

/* Insert [s, e) into the sorted, disjoint list out[0..*n), merging; false
 * if it needed a slot past max. */
static bool insert_range(struct phys_range *out, u32 *n, u32 max, u64 s, u64 e)
{
	u32 i = 0;
	while (i < *n && out[i].end < s)
		i++;
	/* out[i..j) overlap or touch [s, e): they become one. */
	u32 j = i;
	while (j < *n && out[j].start <= e) {
		s = MIN(s, out[j].start);
		e = MAX(e, out[j].end);
		j++;
	}
	if (j == i) {           /* nothing merged: open a slot at i */
		if (*n == max)
			return false;
		for (u32 k = *n; k > i; k--)
			out[k] = out[k - 1];
		(*n)++;
	} else {                /* merged out[i..j) into out[i]: close the gap */
		for (u32 k = j; k < *n; k++)
			out[i + 1 + k - j] = out[k];
		*n -= j - i - 1;
	}
	out[i] = (struct phys_range){ s, e };
	return true;
}

u32 direct_map_ranges(const struct boot_mmap_entry *map, u32 n, struct phys_range *out, u32 max)
{
	u32 count = 0;
	for (u32 i = 0; i < n; i++) {
		if (!ram_like(map[i].type) || map[i].length == 0)
			continue;
		u64 s = ALIGN_DOWN(map[i].base, DM_PAGE);
		u64 e = ALIGN_UP(map[i].base + map[i].length, DM_PAGE);
		if (!insert_range(out, &count, max, s, e))
			return max + 1;
	}
	return count;
}

u64 direct_map_page_size(u64 va, u64 pa, u64 size, bool gbpages, bool huge)
{
	if (huge && gbpages && ((va | pa) & (DM_1G - 1)) == 0 && size >= DM_1G)
		return DM_1G;
	if (huge && ((va | pa) & (DM_2M - 1)) == 0 && size >= DM_2M)
		return DM_2M;
	return DM_PAGE;
}
