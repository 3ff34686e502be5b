/* SPDX-License-Identifier: MIT */
/* user/lib/stats.c - see stats.h. */
#include "stats.h"

void sort_u64(u64 *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

u64 median_u64(u64 *v, int n)
{
	sort_u64(v, n);
	return v[n / 2];
}
