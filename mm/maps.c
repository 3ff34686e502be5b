/* SPDX-License-Identifier: MIT */
/* mm/maps.c - /proc/PID/maps text, in Linux's format:
 *
 *   start-end perms offset dev inode [padding name]
 *   00400000-00401000 r-xp 00000000 00:00 0
 *   7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
 *
 * Addresses in lower-case hex, at least 8 digits; perms r/w/x or '-', then
 * 's' (shared) or 'p' (private); anonymous memory has offset 0, device 00:00
 * and inode 0 (a memfd: its offset, device 00:01, an inode number and
 * "/memfd:NAME (deleted)"). A line without a name ends with the space after the inode
 * (Linux prints it); a named one is padded with spaces so the name starts at
 * column 73 (Linux pads to 25 + 6 * sizeof(void *) - 1 characters, then one
 * more space). [heap] and [stack] are found by address, as Linux does.
 */
#include "mm/mm.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/pagemap.h"
#include "mm/thp.h"
#include "mm/userfaultfd.h"
#include "mm/page.h"
#include "mm/vma_lock.h"
#include "mm/shared_anon.h"
#include "kernel/printk.h"

#define MAPS_NAME_COLUMN 72
/* A line with the longest memfd name (249 bytes) fits. */
#define MAPS_LINE_MAX 360

/* One VMA's line of /proc/PID/maps (and the header of its smaps block),
 * newline included, into line; its length. */
static int maps_line(struct mm_struct *mm, const struct vm_area *v, char *line, size_t size)
{
	/* A memfd's or tmpfs file's object: its file offset, the shmem
	 * mount's device 00:01, an inode number, and its name; an unlinked
	 * file's (a memfd always is) as Linux prints it. */
	const char *file = v->shared ? v->shared->name : NULL;
	u64 off = file ? v->pgoff * PAGE_SIZE : 0;
	u64 ino = file ? ((u64)v->shared >> 6) & 0xffffffffUL : 0;
	int n = snprintf(line, size, "%08lx-%08lx %c%c%c%c %08lx 00:%02x %lu ",
			 v->start, v->end,
			 (v->flags & VM_READ) ? 'r' : '-',
			 (v->flags & VM_WRITE) ? 'w' : '-',
			 (v->flags & VM_EXEC) ? 'x' : '-',
			 (v->flags & VM_SHARED) ? 's' : 'p', off, file ? 1 : 0, ino);
	const char *name = NULL;
	char path[280];
	if (file) {
		snprintf(path, sizeof(path), "/%s%s", file,
			 READ_ONCE(v->shared->linked) ? "" : " (deleted)");
		name = path;
	} else if (v->start <= mm->brk && v->end >= mm->start_brk && mm->brk > mm->start_brk)
		name = "[heap]";
	else if (mm->start_stack && v->start <= mm->start_stack && v->end >= mm->start_stack)
		name = "[stack]";
	if (name) {
		while (n < MAPS_NAME_COLUMN)
			line[n++] = ' ';
		n += snprintf(line + n, size - (size_t)n, " %s", name);
	}
	line[n++] = '\n';
	line[n] = 0;
	return n;
}

size_t mm_format_maps(struct mm_struct *mm, char *buf, size_t size)
{
	size_t len = 0;
	if (size == 0)
		return 0;
	buf[0] = 0;
	down_read(&mm->mmap_lock);
	const struct vma_set *s = mm->vma_root;
	for (u32 i = 0; i < s->nr; i++) {
		char line[MAPS_LINE_MAX];
		int n = maps_line(mm, s->v[i], line, sizeof(line));
		if (len + (size_t)n >= size)
			break;          /* whole lines only */
		for (int k = 0; k < n; k++)
			buf[len++] = line[k];
	}
	buf[len] = 0;
	up_read(&mm->mmap_lock);
	return len;
}

/* ---- /proc/PID/smaps and smaps_rollup ---- */

/* Linux's struct mem_size_stats, in bytes; pss in bytes << PSS_SHIFT, so
 * that a page mapped three times adds a third without rounding. */
#define PSS_SHIFT 12
struct mem_size_stats {
	u64 resident, shared_clean, shared_dirty, private_clean, private_dirty;
	u64 referenced, anonymous, anonymous_thp;
	u64 pss, pss_dirty, pss_anon, pss_shmem, pss_locked;
};

/* How many page-table entries map this 4 KiB page: its own count, plus
 * the PMD maps of the 2 MiB page it is part of (mm/thp.h: the head's own
 * count already holds those). */
static s32 total_mapcount(struct page *p, bool huge)
{
	if (!huge)
		return page_mapcount(p);
	struct page *head = compound_head(p);
	return page_mapcount(p) + (p != head ? thp_entire_mapcount(head) : 0);
}

/* Account one mapped 4 KiB page (Linux's smaps_account for one page).
 * Every private page here was written when it was allocated (a read maps
 * the zero page, which counts nowhere) and there is no swap or MADV_FREE
 * to clean it, so a private page is dirty, as Linux's would be; a shared
 * one is dirty when its entry says so. */
static void smaps_account(struct mem_size_stats *mss, const struct vm_area *v, u64 e, bool huge)
{
	struct page *p = pte_page(e);
	bool shared_vma = (v->flags & VM_SHARED) != 0;
	bool dirty = !shared_vma || (e & PTE_D);
	s32 m = total_mapcount(p, huge);
	u64 pss = m >= 2 ? (PAGE_SIZE << PSS_SHIFT) / (u64)m : PAGE_SIZE << PSS_SHIFT;
	mss->resident += PAGE_SIZE;
	if (e & PTE_A)
		mss->referenced += PAGE_SIZE;
	if (!shared_vma) {
		mss->anonymous += PAGE_SIZE;
		mss->pss_anon += pss;
		if (huge)
			mss->anonymous_thp += PAGE_SIZE;
	} else {
		mss->pss_shmem += pss;
	}
	if (m >= 2)
		*(dirty ? &mss->shared_dirty : &mss->shared_clean) += PAGE_SIZE;
	else
		*(dirty ? &mss->private_dirty : &mss->private_clean) += PAGE_SIZE;
	mss->pss += pss;
	if (dirty)
		mss->pss_dirty += pss;
}

/* Walk v's entries (mm/pagemap.h's reader) and account each mapped page
 * that has one of its own (not the zero pages). mmap_lock held. */
static void smaps_walk_vma(struct mm_struct *mm, const struct vm_area *v,
			   struct mem_size_stats *mss)
{
	u64 e[64];              /* a chunk at a time: kernel stacks are small */
	for (u64 a = v->start; a < v->end;) {
		bool huge;
		u32 n = pagemap_read_leaves(mm, a, MIN(v->end, a + sizeof(e) / 8 * PAGE_SIZE), e, &huge);
		for (u32 i = 0; i < n; i++)
			if (pte_mapped(e[i]) && !pte_special(e[i]) && pte_page(e[i]) != zero_page)
				smaps_account(mss, v, e[i], huge);
		a += (u64)n * PAGE_SIZE;
	}
	if (v->flags & VM_LOCKED)
		mss->pss_locked += mss->pss;
}

/* THPeligible (Linux 6.1's hugepage_vma_check for smaps): private memory
 * where the THP mode allows it, and an aligned 2 MiB fits below the end. */
static bool thp_eligible(const struct vm_area *v)
{
	enum thp_mode mode = READ_ONCE(thp_mode);
	if (mode == THP_NEVER || (v->flags & (VM_SHARED | VM_NOHUGEPAGE)) || v->shared)
		return false;
	if (mode == THP_MADVISE && !(v->flags & VM_HUGEPAGE))
		return false;
	if (v->end - v->start < HPAGE_SIZE)
		return false;
	return ((v->end - HPAGE_SIZE) & HPAGE_MASK) >= v->start;
}

static size_t smaps_put(char *buf, size_t size, size_t len, const char *fmt, ...) __printf(4, 5);
static size_t smaps_put(char *buf, size_t size, size_t len, const char *fmt, ...)
{
	if (len >= size)
		return len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	return n > 0 ? MIN(len + (size_t)n, size - 1) : len;
}

/* Linux's "Name:" padded to 16 columns, then kB in 8. */
#define KB_LINE(name, bytes) \
	len = smaps_put(buf, size, len, "%-16s%8lu kB\n", name, (u64)(bytes) >> 10)

static size_t smaps_counters(char *buf, size_t size, size_t len,
			     const struct mem_size_stats *mss, bool rollup)
{
	KB_LINE("Rss:", mss->resident);
	KB_LINE("Pss:", mss->pss >> PSS_SHIFT);
	KB_LINE("Pss_Dirty:", mss->pss_dirty >> PSS_SHIFT);
	if (rollup) {
		KB_LINE("Pss_Anon:", mss->pss_anon >> PSS_SHIFT);
		KB_LINE("Pss_File:", 0);
		KB_LINE("Pss_Shmem:", mss->pss_shmem >> PSS_SHIFT);
	}
	KB_LINE("Shared_Clean:", mss->shared_clean);
	KB_LINE("Shared_Dirty:", mss->shared_dirty);
	KB_LINE("Private_Clean:", mss->private_clean);
	KB_LINE("Private_Dirty:", mss->private_dirty);
	KB_LINE("Referenced:", mss->referenced);
	KB_LINE("Anonymous:", mss->anonymous);
	KB_LINE("LazyFree:", 0);        /* MADV_FREE frees at once here */
	KB_LINE("AnonHugePages:", mss->anonymous_thp);
	KB_LINE("ShmemPmdMapped:", 0);  /* shared memory is never PMD-mapped */
	KB_LINE("FilePmdMapped:", 0);   /* no files */
	KB_LINE("Shared_Hugetlb:", 0);  /* no hugetlbfs */
	KB_LINE("Private_Hugetlb:", 0);
	KB_LINE("Swap:", 0);            /* no swap */
	KB_LINE("SwapPss:", 0);
	KB_LINE("Locked:", mss->pss_locked >> PSS_SHIFT);
	return len;
}

/* Linux's show_smap_vma_flags: two letters per flag, in its bit order
 * (VM_LOCKONFAULT has no mnemonic in 6.1: "??"). Pagoda has no VM_ACCOUNT
 * ("ac"), VM_MAYSHARE ("ms") is VM_SHARED here. */
static size_t smaps_vmflags(char *buf, size_t size, size_t len, u32 f)
{
	static const struct { u32 flag; char name[3]; } names[] = {
		{ VM_READ, "rd" }, { VM_WRITE, "wr" }, { VM_EXEC, "ex" }, { VM_SHARED, "sh" },
		{ VM_MAYREAD, "mr" }, { VM_MAYWRITE, "mw" }, { VM_MAYEXEC, "me" },
		{ VM_SHARED, "ms" }, { VM_GROWSDOWN, "gd" }, { VM_LOCKED, "lo" },
		{ VM_DONTCOPY, "dc" }, { VM_LOCKONFAULT, "??" }, { VM_WIPEONFORK, "wf" },
		{ VM_DONTDUMP, "dd" }, { VM_SOFTDIRTY, "sd" }, { VM_HUGEPAGE, "hg" },
		{ VM_NOHUGEPAGE, "nh" }, { VM_UFFD_MISSING, "um" }, { VM_UFFD_WP, "uw" },
	};
	len = smaps_put(buf, size, len, "VmFlags: ");
	for (u32 i = 0; i < ARRAY_SIZE(names); i++)
		if (f & names[i].flag)
			len = smaps_put(buf, size, len, "%s ", names[i].name);
	return smaps_put(buf, size, len, "\n");
}

/* One VMA's block of smaps. */
static size_t smaps_vma(struct mm_struct *mm, const struct vm_area *v, char *buf,
			size_t size, size_t len, const struct mem_size_stats *mss)
{
	char line[MAPS_LINE_MAX];
	maps_line(mm, v, line, sizeof(line));
	len = smaps_put(buf, size, len, "%s", line);
	KB_LINE("Size:", v->end - v->start);
	KB_LINE("KernelPageSize:", PAGE_SIZE);
	KB_LINE("MMUPageSize:", PAGE_SIZE);
	len = smaps_counters(buf, size, len, mss, false);
	len = smaps_put(buf, size, len, "THPeligible:    %d\n", thp_eligible(v) ? 1 : 0);
	return smaps_vmflags(buf, size, len, v->flags);
}

static void mss_add(struct mem_size_stats *to, const struct mem_size_stats *from)
{
	const u64 *f = (const u64 *)from;
	u64 *t = (u64 *)to;
	for (u32 i = 0; i < sizeof(*to) / sizeof(u64); i++)
		t[i] += f[i];
}

size_t mm_format_smaps(struct mm_struct *mm, char *buf, size_t size, bool rollup)
{
	size_t len = 0;
	if (size == 0)
		return 0;
	buf[0] = 0;
	struct mem_size_stats total = { 0 };
	down_read(&mm->mmap_lock);
	const struct vma_set *s = mm->vma_root;
	for (u32 i = 0; i < s->nr; i++) {
		struct mem_size_stats mss = { 0 };
		smaps_walk_vma(mm, s->v[i], &mss);
		if (rollup)
			mss_add(&total, &mss);
		else
			len = smaps_vma(mm, s->v[i], buf, size, len, &mss);
	}
	if (rollup && s->nr) {
		/* The span from the first VMA to the end of the last (Linux's
		 * header, perms "---p"), padded as a named maps line. */
		char line[MAPS_LINE_MAX];
		int n = snprintf(line, sizeof(line), "%08lx-%08lx ---p 00000000 00:00 0 ",
				 s->v[0]->start, s->v[s->nr - 1]->end);
		while (n < MAPS_NAME_COLUMN)
			line[n++] = ' ';
		line[n] = 0;
		len = smaps_put(buf, size, len, "%s [rollup]\n", line);
		len = smaps_counters(buf, size, len, &total, true);
	}
	up_read(&mm->mmap_lock);
	return len;
}
