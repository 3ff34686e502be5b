/* SPDX-License-Identifier: MIT */
/* user/lib/stats.h - the little statistics the benchmarks print. */
#ifndef USER_STATS_H
#define USER_STATS_H

#include "types.h"

/* Sort v[0..n) ascending (insertion sort: the benchmarks sort tens of
 * samples, not thousands). */
void sort_u64(u64 *v, int n);
/* Sort v, then return its middle element (n > 0). */
u64 median_u64(u64 *v, int n);

#endif
