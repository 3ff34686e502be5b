/* SPDX-License-Identifier: MIT */
/* mm/fault_inject.c - see fault_inject.h. */
#include "mm/fault_inject.h"
#ifndef HOST_TEST
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#endif

/* Read on every allocation: "enabled" keeps the common case to one load. */
static bool enabled;
static u64 fail_nth;            /* 0: off */
static u64 fail_every;          /* 0: off */
static u64 calls;               /* allocations counted since the last set */
static u64 injected;

void fail_page_alloc_set(u64 nth, u64 every)
{
	WRITE_ONCE(enabled, false);
	__atomic_store_n(&calls, 0, __ATOMIC_SEQ_CST);
	fail_nth = nth;
	fail_every = every;
	WRITE_ONCE(enabled, nth != 0 || every != 0);
}

bool should_fail_page_alloc(void)
{
	if (likely(!READ_ONCE(enabled)))
		return false;
	u64 n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	bool fail = (fail_nth != 0 && n == fail_nth) ||
		    (fail_every != 0 && n % fail_every == 0);
	if (fail)
		__atomic_add_fetch(&injected, 1, __ATOMIC_RELAXED);
	return fail;
}

u64 fail_page_alloc_injected(void)
{
	return __atomic_load_n(&injected, __ATOMIC_RELAXED);
}

#ifndef HOST_TEST
void fail_page_alloc_init(void)
{
	long nth = cmdline_long("fail_page_alloc", 0);
	long every = cmdline_long("fail_page_alloc_every", 0);
	if (nth > 0)
		pr_info("mm: fault injection: page allocation number %ld will fail\n", nth);
	if (every > 0)
		pr_info("mm: fault injection: every %ld-th page allocation will fail\n", every);
	if (nth > 0 || every > 0)
		fail_page_alloc_set((u64)nth, (u64)every);
}
#endif
