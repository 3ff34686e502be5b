/* SPDX-License-Identifier: MIT */
/* mm/thp_sysfs.c - /sys/kernel/mm/transparent_hugepage/: the THP and
 * khugepaged knobs, in Linux 6.1's formats and with its checks (its
 * mm/huge_memory.c, mm/khugepaged.c and mm/shmem.c handlers); the file
 * layer is kernel/sysfs.h, what each knob does docs/thp.md.
 *
 *   enabled          "always [madvise] never": thp_mode (mm/thp.h)
 *   defrag           Linux's five words, stored and shown back: Pagoda's
 *                    allocator has no compaction or reclaim to ask for, so
 *                    every word allocates the same way (as Linux built
 *                    without CONFIG_COMPACTION still takes them)
 *   use_zero_page    1/0: read faults map the huge zero page, or not
 *   hpage_pmd_size   2097152 (read-only)
 *   shmem_enabled    Linux's six words, stored and shown back: a policy
 *                    that allows huge pages in shared memory, which Pagoda
 *                    never maps huge (mm/thp.h: shared VMAs are not
 *                    eligible), as a Linux shmem allocation may always
 *                    fall back to small pages
 *   khugepaged/      pages_to_scan, scan_sleep_millisecs,
 *                    alloc_sleep_millisecs, max_ptes_none, max_ptes_shared
 *                    (mm/khugepaged.h's controls); max_ptes_swap and
 *                    defrag (stored: no swap, no compaction);
 *                    pages_collapsed and full_scans (read-only counters)
 * Each value is one word, read and written with READ_ONCE/WRITE_ONCE.
 */
#include "kernel/sysfs.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "mm/thp.h"
#include "mm/khugepaged.h"

/* "a [b] c\n": the words, the current one in brackets (Linux's format). */
static u64 show_words(char *buf, u64 size, const char *const *words, u32 n, u32 cur)
{
	u64 len = 0;
	for (u32 i = 0; i < n && len < size; i++)
		len += (u64)snprintf(buf + len, size - len, i == cur ? "%s[%s]" : "%s%s",
				     i ? " " : "", words[i]);
	if (len < size)
		len += (u64)snprintf(buf + len, size - len, "\n");
	return len < size ? len : size - 1;
}

/* The index of the word buf names (sysfs_streq), or -EINVAL. */
static long store_word(const char *buf, const char *const *words, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (sysfs_streq(buf, words[i]))
			return i;
	return -EINVAL;
}

static u64 show_num(char *buf, u64 size, u64 v)
{
	return (u64)snprintf(buf, size, "%lu\n", v);
}

/* ---- enabled ---- */

static const char *const enabled_words[] = { "always", "madvise", "never" };
static const enum thp_mode enabled_modes[] = { THP_ALWAYS, THP_MADVISE, THP_NEVER };

static u64 enabled_show(char *buf, u64 size)
{
	enum thp_mode mode = READ_ONCE(thp_mode);
	u32 cur = 0;
	while (cur < 2 && enabled_modes[cur] != mode)
		cur++;
	return show_words(buf, size, enabled_words, 3, cur);
}

static long enabled_store(const char *buf, u64 count)
{
	long i = store_word(buf, enabled_words, 3);
	if (i < 0)
		return i;
	thp_set_mode(enabled_modes[i]);
	return (long)count;
}

/* ---- defrag ---- */

static const char *const defrag_words[] = { "always", "defer", "defer+madvise", "madvise", "never" };
static u32 thp_defrag = 3;      /* Linux's default: madvise */

static u64 defrag_show(char *buf, u64 size)
{
	return show_words(buf, size, defrag_words, 5, READ_ONCE(thp_defrag));
}

static long defrag_store(const char *buf, u64 count)
{
	long i = store_word(buf, defrag_words, 5);
	if (i < 0)
		return i;
	WRITE_ONCE(thp_defrag, (u32)i);
	return (long)count;
}

/* ---- one-bit flags: use_zero_page, khugepaged/defrag ---- */

/* Linux's single_hugepage_flag_store: kstrtoul's error as it is, above 1
 * EINVAL. */
static long store_flag(const char *buf, u64 count, bool *flag)
{
	u64 v;
	long err = kstrtoul(buf, &v);
	if (err)
		return err;
	if (v > 1)
		return -EINVAL;
	WRITE_ONCE(*flag, v != 0);
	return (long)count;
}

static u64 use_zero_page_show(char *buf, u64 size)
{
	return show_num(buf, size, READ_ONCE(thp_use_zero_page));
}

static long use_zero_page_store(const char *buf, u64 count)
{
	return store_flag(buf, count, &thp_use_zero_page);
}

static u64 khugepaged_defrag_show(char *buf, u64 size)
{
	return show_num(buf, size, READ_ONCE(khugepaged_defrag));
}

static long khugepaged_defrag_store(const char *buf, u64 count)
{
	return store_flag(buf, count, &khugepaged_defrag);
}

static u64 hpage_pmd_size_show(char *buf, u64 size)
{
	return show_num(buf, size, HPAGE_SIZE);
}

/* ---- shmem_enabled ---- */

static const char *const shmem_words[] = { "always", "within_size", "advise", "never", "deny",
					   "force" };
static u32 shmem_huge = 3;      /* Linux 6.1's default: never */

static u64 shmem_enabled_show(char *buf, u64 size)
{
	return show_words(buf, size, shmem_words, 6, READ_ONCE(shmem_huge));
}

/* Linux's shmem_enabled_store: at most 15 bytes, one trailing newline
 * dropped, then the exact word. */
static long shmem_enabled_store(const char *buf, u64 count)
{
	char tmp[16];
	if (count + 1 > sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, buf, count + 1);
	if (count && tmp[count - 1] == '\n')
		tmp[count - 1] = 0;
	for (u32 i = 0; i < ARRAY_SIZE(shmem_words); i++) {
		if (!strcmp(tmp, shmem_words[i])) {
			WRITE_ONCE(shmem_huge, i);
			return (long)count;
		}
	}
	return -EINVAL;
}

/* ---- khugepaged/ ---- */

/* Linux's kstrtouint stores: any error is EINVAL. */
static long store_uint(const char *buf, u64 count, u32 *var, u32 min, bool wake)
{
	u32 v;
	if (kstrtouint(buf, &v) || v < min)
		return -EINVAL;
	WRITE_ONCE(*var, v);
	if (wake)
		khugepaged_wake();      /* the new sleep starts now, as Linux */
	return (long)count;
}

/* Linux's max_ptes_* stores: kstrtoul, at most HPAGE_PMD_NR - 1. */
static long store_max_ptes(const char *buf, u64 count, u32 *var)
{
	u64 v;
	if (kstrtoul(buf, &v) || v > HPAGE_NR - 1)
		return -EINVAL;
	WRITE_ONCE(*var, (u32)v);
	return (long)count;
}

static u64 pages_to_scan_show(char *buf, u64 size)
{
	return show_num(buf, size, READ_ONCE(khugepaged_pages_to_scan));
}

static long pages_to_scan_store(const char *buf, u64 count)
{
	return store_uint(buf, count, &khugepaged_pages_to_scan, 1, false);
}

static u64 scan_sleep_show(char *buf, u64 size)
{
	return show_num(buf, size, READ_ONCE(khugepaged_sleep_ms));
}

static long scan_sleep_store(const char *buf, u64 count)
{
	return store_uint(buf, count, &khugepaged_sleep_ms, 0, true);
}

static u64 alloc_sleep_show(char *buf, u64 size)
{
	return show_num(buf, size, READ_ONCE(khugepaged_alloc_sleep_ms));
}

static long alloc_sleep_store(const char *buf, u64 count)
{
	return store_uint(buf, count, &khugepaged_alloc_sleep_ms, 0, true);
}

static u64 max_ptes_none_show(char *buf, u64 size)
{
	return show_num(buf, size, READ_ONCE(khugepaged_max_ptes_none));
}

static long max_ptes_none_store(const char *buf, u64 count)
{
	return store_max_ptes(buf, count, &khugepaged_max_ptes_none);
}

static u64 max_ptes_swap_show(char *buf, u64 size)
{
	return show_num(buf, size, READ_ONCE(khugepaged_max_ptes_swap));
}

static long max_ptes_swap_store(const char *buf, u64 count)
{
	return store_max_ptes(buf, count, &khugepaged_max_ptes_swap);
}

static u64 max_ptes_shared_show(char *buf, u64 size)
{
	return show_num(buf, size, READ_ONCE(khugepaged_max_ptes_shared));
}

static long max_ptes_shared_store(const char *buf, u64 count)
{
	return store_max_ptes(buf, count, &khugepaged_max_ptes_shared);
}

/* Linux prints both counters as unsigned int. */
static u64 pages_collapsed_show(char *buf, u64 size)
{
	return show_num(buf, size, (u32)__atomic_load_n(&khugepaged_pages_collapsed, __ATOMIC_RELAXED));
}

static u64 full_scans_show(char *buf, u64 size)
{
	return show_num(buf, size, (u32)__atomic_load_n(&khugepaged_full_scans, __ATOMIC_RELAXED));
}

const struct sysfs_attr thp_sysfs_attrs[] = {
	{ "enabled", enabled_show, enabled_store },
	{ "defrag", defrag_show, defrag_store },
	{ "use_zero_page", use_zero_page_show, use_zero_page_store },
	{ "hpage_pmd_size", hpage_pmd_size_show, NULL },
	{ "shmem_enabled", shmem_enabled_show, shmem_enabled_store },
	{ "khugepaged/defrag", khugepaged_defrag_show, khugepaged_defrag_store },
	{ "khugepaged/scan_sleep_millisecs", scan_sleep_show, scan_sleep_store },
	{ "khugepaged/alloc_sleep_millisecs", alloc_sleep_show, alloc_sleep_store },
	{ "khugepaged/pages_to_scan", pages_to_scan_show, pages_to_scan_store },
	{ "khugepaged/pages_collapsed", pages_collapsed_show, NULL },
	{ "khugepaged/full_scans", full_scans_show, NULL },
	{ "khugepaged/max_ptes_none", max_ptes_none_show, max_ptes_none_store },
	{ "khugepaged/max_ptes_swap", max_ptes_swap_show, max_ptes_swap_store },
	{ "khugepaged/max_ptes_shared", max_ptes_shared_show, max_ptes_shared_store },
};
const u32 thp_sysfs_nr_attrs = ARRAY_SIZE(thp_sysfs_attrs);
