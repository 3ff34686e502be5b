/* SPDX-License-Identifier: MIT */
/* kernel/ksyms.c - binary search in the generated symbol table. */
#include "kernel/ksyms.h"

/* Provided by the generated build/ksyms.S (empty in the first link pass). */
extern const u64 ksyms_addrs[];
extern const u32 ksyms_name_offsets[];
extern const char ksyms_names[];
extern const u64 ksyms_count;

const char *ksym_lookup(u64 addr, u64 *offset)
{
	u64 n = ksyms_count;
	if (n == 0 || addr < ksyms_addrs[0])
		return NULL;
	u64 lo = 0, hi = n;
	while (hi - lo > 1) {
		u64 mid = (lo + hi) / 2;
		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (offset)
		*offset = addr - ksyms_addrs[lo];
	return &ksyms_names[ksyms_name_offsets[lo]];
}
