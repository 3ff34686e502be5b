/* SPDX-License-Identifier: MIT */
/* kernel/procfs.c - the read-only pseudo-files, in Linux's formats:
 *   /proc/self/maps     mm_format_maps() (mm/)
 *   /proc/self/status   name, pids, state, VmLck, VmRSS, VmPTE, threads
 *   /proc/self/smaps, smaps_rollup  mm_format_smaps() (mm/): per VMA (or
 *                       summed) Rss, Pss, Locked ..., Linux 6.1's lines
 *   /proc/meminfo       totals from the page allocator and the slab
 *   /proc/vmstat        nr_free_pages, nr_page_table_pages, TLB counters
 *   /proc/self/tlbstat  (Pagoda's own) the TLB counters of this address space
 *   /proc/tlbstat       (Pagoda's own) the TLB counters of each CPU
 *   /proc/trace         opening it dumps the event log (kernel/trace.h) over
 *                       the serial console and empties it; the file itself
 *                       says how many records went out
 *   /proc/trace_clear   opening it empties the event log
 *   /proc/cmdline       the kernel command line and a newline, as Linux's
 *                       (user programs take their parameters from it)
 *   /proc/self/mm_check (Pagoda's own) runs mm_check_counts() (mm/mm_debug.h)
 *                       on the reader's address space at open: "N\n" with the
 *                       number of problems, then the first one's description
 * (Pseudo-files are read-only here, so the two trace files act when opened
 * rather than on a write such as Linux's "echo > trace".)
 *   /proc/self/pagemap  8 bytes per virtual page (mm/pagemap.h), computed
 *                       at each read; also /proc/PID/pagemap of any live
 *                       process. The PAGEMAP_SCAN ioctl works on it.
 *   /proc/self/clear_refs  write-only: "4" clears soft-dirty, 1-3 the
 *                       accessed bits, 5 the peak RSS (mm/softdirty.h);
 *                       also /proc/PID/clear_refs of any live process.
 *   /proc/sysrq-trigger  write-only: "t" prints every thread and where it
 *                       sleeps, "w" the blocked ones (kernel/sysrq.h)
 *   /proc/sys/vm/mmap_min_addr  the lowest address mmap gives or takes
 *                       (mm/user_layout.h: Linux's default, 65536); read
 *                       only here (Linux's root may lower it)
 *   /proc/sys/vm/drop_caches  write-only: 2 or 3 drains the deferred split
 *                       queue (mm/deferred_split.h), 1 and 4 find nothing
 *                       to drop (no page cache); Linux's values and EINVAL
 * "/proc/PID/..." with the caller's own pid is the same as /proc/self.
 *
 * Two kinds of open file (kernel/file.h):
 *   - text: generated once, at open, into pages owned by the open file and
 *     freed at close: reads see one consistent snapshot. Seekable as
 *     Linux's seq_file (SEEK_SET, SEEK_CUR), so pread works.
 *   - pagemap and clear_refs: hold the mm_struct (mm_grab) from open to
 *     close, as Linux's proc_mem_open, not the address space: a file
 *     inherited by a fork child or opened by another process must not
 *     keep a dead process's pages. Each read, scan or write becomes a
 *     user for the while (mm_get_not_zero), ESRCH once the process has
 *     exited (Linux's pagemap_read). pagemap reads
 *     take its mmap_lock for read, one chunk at a time, and copy to the
 *     user with no lock held; seekable as Linux's mem_lseek: the position
 *     is vaddr / 4096 * 8. A clear_refs write takes it for write.
 */
#include "kernel/proc.h"
#include "kernel/file.h"
#include "kernel/uaccess.h"
#include "mm/pagemap.h"
#include "mm/softdirty.h"
#include "mm/slab.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "mm/mm.h"
#include "mm/mlock.h"
#include "mm/mm_debug.h"
#include "kernel/bootinfo.h"
#include "mm/buddy.h"
#include "mm/tlbflush.h"
#include "kernel/trace.h"
#include "kernel/sysrq.h"
#include "mm/vma_lock.h"
#include "mm/deferred_split.h"
#include "mm/user_layout.h"      /* MMAP_MIN_ADDR */
#include "arch/x86_64/smp.h"      /* cpu_online_mask */

#define PROCFS_ORDER 2          /* 16 KiB per open file: maps of ~200 VMAs */
#define SMAPS_ORDER 5           /* 128 KiB: smaps of ~140 VMAs */


struct text {
	char *buf;
	u64 len, size;
};

static void put(struct text *t, const char *fmt, ...) __printf(2, 3);
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (u64)n < t->size - t->len ? (u64)n : t->size - t->len - 1;
}

/* Linux's meminfo line: name padded to 16 columns, value in kB, width 8. */
static void meminfo_line(struct text *t, const char *name, u64 pages)
{
	char label[20];
	snprintf(label, sizeof(label), "%s:", name);
	put(t, "%-16s%8lu kB\n", label, pages * (PAGE_SIZE / 1024));
}

static void gen_meminfo(struct text *t)
{
	struct mm_counters c;
	mm_counters_read(&c);
	u64 slab = (u64)c.stat[NR_SLAB_PAGES];
	u64 kstack_pages = (u64)nr_threads_alive() * (KSTACK_SIZE / PAGE_SIZE);
	meminfo_line(t, "MemTotal", c.managed_pages);
	meminfo_line(t, "MemFree", c.free_pages);
	meminfo_line(t, "MemAvailable", c.free_pages);
	meminfo_line(t, "Buffers", 0);
	meminfo_line(t, "Cached", 0);
	meminfo_line(t, "SwapCached", 0);
	meminfo_line(t, "Active", 0);
	meminfo_line(t, "Inactive", 0);
	meminfo_line(t, "SwapTotal", 0);
	meminfo_line(t, "SwapFree", 0);
	meminfo_line(t, "Slab", slab);
	meminfo_line(t, "SReclaimable", 0);
	meminfo_line(t, "SUnreclaim", slab);
	put(t, "%-16s%8lu kB\n", "KernelStack:", kstack_pages * (PAGE_SIZE / 1024));
	meminfo_line(t, "PageTables", (u64)c.stat[NR_PAGETABLE]);
	meminfo_line(t, "AnonHugePages", (u64)c.stat[NR_ANON_THPS] * 512);
	meminfo_line(t, "HugePages_Total", 0);
	put(t, "%-16s%8lu kB\n", "Hugepagesize:", 2048UL);
}

static const char *const tlb_stat_names[NR_TLB_STAT_ITEMS] = {
	"nr_tlb_remote_flush", "nr_tlb_remote_flush_received",
	"nr_tlb_local_flush_all", "nr_tlb_local_flush_one",
};

/* One address space's share of the /proc/vmstat TLB counters. */
static void gen_mm_tlbstat(struct text *t, struct mm_struct *mm)
{
	for (int i = 0; i < NR_TLB_STAT_ITEMS; i++)
		put(t, "%s %lu\n", tlb_stat_names[i], mm ? READ_ONCE(mm->tlb_stat[i]) : 0);
}

/* A line per online CPU: "cpuN" and the four counters in vmstat order. */
static void gen_cpu_tlbstat(struct text *t)
{
	put(t, "cpu");
	for (int i = 0; i < NR_TLB_STAT_ITEMS; i++)
		put(t, " %s", tlb_stat_names[i]);
	put(t, "\n");
	u32 cpu;
	for_each_online_cpu(cpu) {
		put(t, "cpu%u", cpu);
		for (int i = 0; i < NR_TLB_STAT_ITEMS; i++)
			put(t, " %lu", tlb_stat_cpu(cpu, (enum tlb_stat_item)i));
		put(t, "\n");
	}
}

static void gen_vmstat(struct text *t)
{
	struct mm_counters c;
	mm_counters_read(&c);
	put(t, "nr_free_pages %lu\n", c.free_pages);
	put(t, "nr_slab_unreclaimable %ld\n", c.stat[NR_SLAB_PAGES]);
	put(t, "nr_page_table_pages %ld\n", c.stat[NR_PAGETABLE]);
	put(t, "nr_kernel_stack %lu\n", (u64)nr_threads_alive() * (KSTACK_SIZE / 1024));
	put(t, "nr_anon_transparent_hugepages %ld\n", c.stat[NR_ANON_THPS]);
	for (int i = 0; i < NR_TLB_STAT_ITEMS; i++)
		put(t, "%s %lu\n", tlb_stat_names[i], tlb_stat_read((enum tlb_stat_item)i));
	put(t, "thp_fault_alloc %ld\n", c.stat[NR_THP_FAULT_ALLOC]);
	put(t, "thp_fault_fallback %ld\n", c.stat[NR_THP_FAULT_FALLBACK]);
	put(t, "thp_split_pmd %ld\n", c.stat[NR_THP_SPLIT_PMD]);
	put(t, "thp_collapse_alloc %ld\n", c.stat[NR_THP_COLLAPSE_ALLOC]);
	put(t, "thp_collapse_alloc_failed %ld\n", c.stat[NR_THP_COLLAPSE_ALLOC_FAILED]);
	/* Deferred split (mm/deferred_split.h): Linux's two counters, then
	 * Pagoda's own line for the queue's length (Linux has none). */
	put(t, "thp_split_page %ld\n", c.stat[NR_THP_SPLIT_PAGE]);
	put(t, "thp_deferred_split_page %ld\n", c.stat[NR_THP_DEFERRED_SPLIT_PAGE]);
	put(t, "pagoda_thp_deferred_split_queue %lu\n", deferred_split_queue_len());
	/* Linux's CONFIG_PER_VMA_LOCK_STATS lines (mm/vma_lock.h). */
	put(t, "vma_lock_success %lu\n", vma_lock_events(VMA_LOCK_SUCCESS));
	put(t, "vma_lock_abort %lu\n", vma_lock_events(VMA_LOCK_ABORT));
	put(t, "vma_lock_retry %lu\n", vma_lock_events(VMA_LOCK_RETRY));
	put(t, "vma_lock_miss %lu\n", vma_lock_events(VMA_LOCK_MISS));
}

static void gen_trace(struct text *t)
{
	struct trace_totals tot;
	if (!trace_dump_to(trace_emit_console, NULL, true, &tot)) {
		put(t, "busy: another dump is running\n");
		return;
	}
	put(t, "dumped %lu records to the console, %lu lost; recording is %s\n",
	    tot.records, tot.lost, READ_ONCE(trace_enabled) ? "on" : "off (boot with \"trace\")");
}

static void gen_cmdline(struct text *t)
{
	put(t, "%s\n", boot_info.cmdline);
}

/* The consistency check of the opener's address space. The caller holds no
 * lock of it: mm_check_counts() takes mmap_lock itself. */
static void gen_mm_check(struct text *t, struct mm_struct *mm)
{
	char why[160] = "";
	int n = mm ? mm_check_counts(mm, why, sizeof(why)) : 0;
	put(t, "%d\n", n);
	if (n)
		put(t, "%s\n", why);
}

static void gen_trace_clear(struct text *t)
{
	trace_clear();
	put(t, "cleared; recording is %s\n", READ_ONCE(trace_enabled) ? "on" : "off");
}

static void status_kb(struct text *t, const char *name, u64 pages)
{
	put(t, "%s:\t%8lu kB\n", name, pages * (PAGE_SIZE / 1024));
}

static void gen_status(struct text *t, struct process *p)
{
	struct mm_struct *mm = p->mm;
	u64 rss = mm ? READ_ONCE(mm->rss_pages) : 0;
	/* Page-table pages below the top level: Linux's VmPTE does not count
	 * the PGD either. */
	u64 pte = mm ? READ_ONCE(mm->pgtable_pages) : 0;
	put(t, "Name:\t%s\n", p->name);
	put(t, "Umask:\t0022\n");
	put(t, "State:\tR (running)\n");
	put(t, "Tgid:\t%u\n", p->pid);
	put(t, "Ngid:\t0\n");
	put(t, "Pid:\t%u\n", p->pid);
	put(t, "PPid:\t%u\n", p->parent ? p->parent->pid : 0);
	put(t, "TracerPid:\t0\n");
	put(t, "Uid:\t0\t0\t0\t0\n");
	put(t, "Gid:\t0\t0\t0\t0\n");
	put(t, "FDSize:\t%u\n", MAX_FILES);
	status_kb(t, "VmLck", mm ? mm_locked_pages(mm) : 0);
	status_kb(t, "VmHWM", mm ? mm_hiwater_rss(mm) : 0);
	status_kb(t, "VmRSS", rss);
	status_kb(t, "RssAnon", rss);
	status_kb(t, "RssFile", 0);
	status_kb(t, "RssShmem", 0);
	status_kb(t, "VmPTE", pte);
	status_kb(t, "VmSwap", 0);
	put(t, "Threads:\t%u\n", p->nr_threads);
}

/* ---- text snapshots ---- */

struct snapshot {
	char *buf;              /* 2^order pages */
	u64 len;
	u32 order;
};

static long text_read(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	struct snapshot *snap = f->private;
	if (*pos >= snap->len || count == 0)
		return 0;
	u64 n = snap->len - *pos;
	if (n > count)
		n = count;
	if (copy_to_user(ubuf, snap->buf + *pos, n))
		return -EFAULT;
	*pos += n;
	return (long)n;
}

/* The position SEEK_SET or SEEK_CUR asks for (the only ones /proc files
 * take); false for any other whence. */
static bool seek_target(const struct file *f, s64 offset, int whence, s64 *pos)
{
	if (whence == SEEK_SET)
		*pos = offset;
	else if (whence == SEEK_CUR)
		*pos = (s64)f->pos + offset;
	else
		return false;
	return true;
}

/* Linux's seq_lseek: SEEK_SET and SEEK_CUR, never below 0. */
static s64 text_llseek(struct file *f, s64 offset, int whence)
{
	s64 pos;
	if (!seek_target(f, offset, whence, &pos))
		return -EINVAL;
	return pos < 0 ? -EINVAL : pos;
}

static void text_release(struct file *f)
{
	struct snapshot *snap = f->private;
	free_pages_addr(snap->buf, snap->order);
	kfree(snap);
}

static const struct file_ops text_ops = {
	.name = "proc-text",
	.read = text_read,
	.llseek = text_llseek,
	.release = text_release,
	.positional = true,
	.procfs = true,
};

/* ---- pagemap ---- */

#define PM_ENTRY_BYTES 8
#define PM_CHUNK 512            /* entries per hold of mmap_lock (one 4 KiB buffer) */

/* Linux's pagemap_read: position and count in whole entries (EINVAL), and
 * nothing past the top of user space. The caller is a user of mm. */
static long pagemap_read_mm(struct mm_struct *mm, u64 ubuf, u64 count, u64 *pos)
{
	if ((*pos % PM_ENTRY_BYTES) || (count % PM_ENTRY_BYTES))
		return -EINVAL;
	if (count == 0)
		return 0;
	u64 vpn = *pos / PM_ENTRY_BYTES;
	if (vpn >= TASK_SIZE >> PAGE_SHIFT)
		return 0;
	u64 *buf = kmalloc(PM_CHUNK * sizeof(u64), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	long done = 0;
	while (count && vpn < TASK_SIZE >> PAGE_SHIFT) {
		u64 n = count / PM_ENTRY_BYTES;
		if (n > PM_CHUNK)
			n = PM_CHUNK;
		if (n > (TASK_SIZE >> PAGE_SHIFT) - vpn)
			n = (TASK_SIZE >> PAGE_SHIFT) - vpn;
		pagemap_read_entries(mm, vpn << PAGE_SHIFT, n, buf);
		if (copy_to_user(ubuf, buf, n * PM_ENTRY_BYTES)) {
			if (!done)
				done = -EFAULT;
			break;
		}
		done += (long)(n * PM_ENTRY_BYTES);
		ubuf += n * PM_ENTRY_BYTES;
		count -= n * PM_ENTRY_BYTES;
		vpn += n;
		*pos += n * PM_ENTRY_BYTES;
		cond_resched();
	}
	kfree(buf);
	return done;
}

/* ESRCH once the process has exited, before the arguments are looked at
 * (Linux's pagemap_read). */
static long pagemap_fread(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	struct mm_struct *mm = f->private;
	if (!mm_get_not_zero(mm))
		return -ESRCH;
	long r = pagemap_read_mm(mm, ubuf, count, pos);
	mm_put(mm);
	return r;
}

/* Linux's mem_lseek: SEEK_SET and SEEK_CUR, any offset that is not an
 * errno in disguise. */
static s64 pagemap_llseek(struct file *f, s64 offset, int whence)
{
	s64 pos;
	if (!seek_target(f, offset, whence, &pos))
		return -EINVAL;
	if (pos < 0 && pos >= -4095)
		return -EOVERFLOW;
	return pos;
}

static long pagemap_ioctl(struct file *f, u32 cmd, u64 arg)
{
	if (cmd != PAGEMAP_SCAN)
		return -EINVAL;         /* Linux's do_pagemap_cmd */
	struct mm_struct *mm = f->private;
	if (!mm_get_not_zero(mm))
		return -ESRCH;
	long r = pagemap_scan(mm, arg);
	mm_put(mm);
	return r;
}

static void pagemap_release(struct file *f)
{
	mm_drop(f->private);
}

static const struct file_ops pagemap_ops = {
	.name = "pagemap",
	.read = pagemap_fread,
	.llseek = pagemap_llseek,
	.ioctl = pagemap_ioctl,
	.release = pagemap_release,
	.positional = true,
	.procfs = true,
};

/* ---- clear_refs ---- */

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Linux's kstrtoint(strstrip(buf), 10): optional sign, decimal digits,
 * nothing else but white space around; -EINVAL, or -ERANGE past an int. */
static long parse_int(const char *s, long *out)
{
	while (is_space(*s))
		s++;
	bool neg = *s == '-';
	if (*s == '+' || *s == '-')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	long v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > 0x80000000L)
			return -ERANGE;
	}
	while (is_space(*s))
		s++;
	if (*s)
		return -EINVAL;
	if (v > 0x7fffffffL + neg)
		return -ERANGE;
	*out = neg ? -v : v;
	return 0;
}

/* The integer a write to a /proc control file gives: at most its first 12
 * bytes are looked at (Linux's PROC_NUMBUF buffer; *looked is how many).
 * 0, -EFAULT or parse_int's error. */
static long user_int(u64 ubuf, u64 count, long *v, u64 *looked)
{
	char buf[13] = { 0 };
	*looked = count < sizeof(buf) - 1 ? count : sizeof(buf) - 1;
	if (copy_from_user(buf, ubuf, *looked))
		return -EFAULT;
	return parse_int(buf, v);
}

/* Linux's clear_refs_write: a write that is obeyed returns how many bytes
 * it looked at. */
static long clear_refs_fwrite(struct file *f, u64 ubuf, u64 count)
{
	long type;
	u64 n;
	long err = user_int(ubuf, count, &type, &n);
	if (!err) {
		/* The process has exited: Linux (get_task_mm of a zombie
		 * gives no mm) does nothing and reports success. */
		struct mm_struct *mm = f->private;
		if (!mm_get_not_zero(mm))
			return (long)n;
		err = mm_clear_refs(mm, type);
		mm_put(mm);
	}
	return err ? err : (long)n;
}

/* Linux's noop_llseek: the position stays (nothing reads it). */
static s64 clear_refs_llseek(struct file *f, s64 offset, int whence)
{
	(void)offset;
	(void)whence;
	return (s64)f->pos;
}

static const struct file_ops clear_refs_ops = {
	.name = "clear_refs",
	.write = clear_refs_fwrite,
	.llseek = clear_refs_llseek,
	.release = pagemap_release,     /* the same reference on the mm */
	.procfs = true,
};

/* ---- /proc/sys/vm/drop_caches ---- */

/* Linux's drop_caches_sysctl_handler (an int from 1 to 4, else EINVAL): 1
 * drops the page cache, 2 what the shrinkers hold ("reclaimable slab
 * objects"; Linux's deferred split queue is one of them), 3 both, 4 only
 * silences its message. Pagoda has no page cache, and its one shrinkable
 * cache is the deferred split queue (mm/deferred_split.h): 2 and 3 drain it
 * here, in the writer's context, waiting for mmap_locks. */
static long drop_caches_write(struct file *f, u64 ubuf, u64 count)
{
	(void)f;
	long v;
	u64 n;
	long err = user_int(ubuf, count, &v, &n);
	if (!err && (v < 1 || v > 4))
		err = -EINVAL;
	if (err)
		return err;
	if (v & 2)
		deferred_split_scan(deferred_split_queue_len());
	return (long)count;
}

static const struct file_ops drop_caches_ops = {
	.name = "drop_caches",
	.write = drop_caches_write,
	.procfs = true,
};

/* "/proc/PID/<name>": PID's address space (a reference), else NULL. */
static struct mm_struct *mm_file_target(const char *path, const char *name, bool *matched)
{
	*matched = false;
	if (strncmp(path, "/proc/", 6))
		return NULL;
	const char *c = path + 6;
	u64 pid = 0;
	if (*c < '0' || *c > '9')
		return NULL;
	while (*c >= '0' && *c <= '9' && pid < 0x100000000UL)
		pid = pid * 10 + (u64)(*c++ - '0');
	if (*c++ != '/' || strcmp(c, name))
		return NULL;
	*matched = true;
	return pid && pid < 0x100000000UL ? proc_get_mm((u32)pid) : NULL;
}

/* An open file of kind ops on mm, given a user reference on it: the file
 * keeps the struct only (see the top of this file). clear_refs is open
 * for writing too: do_open keeps what was asked. */
static struct file *mm_file_open(const struct file_ops *ops, struct mm_struct *mm, long *err)
{
	u32 mode = ops->write ? FMODE_READ | FMODE_WRITE : FMODE_READ;
	struct file *f = file_alloc(ops, mode, 0, mm);
	if (f)
		mm_grab(mm);
	else
		*err = -ENOMEM;
	mm_put(mm);
	return f;
}

/* Which text snapshot path names (rest: what follows "/proc/self/" or our
 * own "/proc/PID/", or NULL): the case of text_file_open, or -1. */
static int text_file_which(const char *path, const char *rest)
{
	int which;
	if (rest && !strcmp(rest, "maps"))
		which = 0;
	else if (rest && !strcmp(rest, "status"))
		which = 1;
	else if (!strcmp(path, "/proc/meminfo"))
		which = 2;
	else if (!strcmp(path, "/proc/vmstat"))
		which = 3;
	else if (!strcmp(path, "/proc/trace"))
		which = 4;
	else if (!strcmp(path, "/proc/trace_clear"))
		which = 5;
	else if (rest && !strcmp(rest, "tlbstat"))
		which = 6;
	else if (!strcmp(path, "/proc/tlbstat"))
		which = 7;
	else if (!strcmp(path, "/proc/cmdline"))
		which = 8;
	else if (rest && !strcmp(rest, "mm_check"))
		which = 9;
	else if (rest && !strcmp(rest, "smaps"))
		which = 10;
	else if (rest && !strcmp(rest, "smaps_rollup"))
		which = 11;
	else if (!strcmp(path, "/proc/sys/vm/mmap_min_addr"))
		which = 12;
	else
		which = -1;
	return which;
}

/* A /proc text file: a snapshot of case `which` (text_file_which) of
 * process p, made now and read later. NULL with *err on failure. */
static struct file *text_file_open(struct process *p, int which, long *err)
{
	struct snapshot *snap = kmalloc(sizeof(*snap), GFP_KERNEL);
	/* smaps: about 900 bytes per VMA, so more room than the rest. */
	u32 order = which == 10 ? SMAPS_ORDER : PROCFS_ORDER;
	struct text t = { get_free_pages(GFP_KERNEL, order), 0, PAGE_SIZE << order };
	if (!t.buf || !snap) {
		if (t.buf)
			free_pages_addr(t.buf, order);
		kfree(snap);
		*err = -ENOMEM;
		return NULL;
	}
	switch (which) {
	case 0:
		t.len = p->mm ? mm_format_maps(p->mm, t.buf, t.size) : 0;
		if (t.len > t.size)
			t.len = t.size;
		break;
	case 1:
		gen_status(&t, p);
		break;
	case 2:
		gen_meminfo(&t);
		break;
	case 3:
		gen_vmstat(&t);
		break;
	case 4:
		gen_trace(&t);
		break;
	case 5:
		gen_trace_clear(&t);
		break;
	case 6:
		gen_mm_tlbstat(&t, p->mm);
		break;
	case 7:
		gen_cpu_tlbstat(&t);
		break;
	case 8:
		gen_cmdline(&t);
		break;
	case 10:
	case 11:
		t.len = p->mm ? mm_format_smaps(p->mm, t.buf, t.size, which == 11) : 0;
		break;
	case 12:
		put(&t, "%lu\n", MMAP_MIN_ADDR);
		break;
	default:
		gen_mm_check(&t, p->mm);
		break;
	}
	snap->buf = t.buf;
	snap->len = t.len;
	snap->order = order;
	struct file *f = file_alloc(&text_ops, FMODE_READ, 0, snap);
	if (!f) {
		text_release(&(struct file){ .private = snap });
		*err = -ENOMEM;
	}
	return f;
}

struct file *procfs_open(const char *path, long *err)
{
	struct process *p = current_proc();
	const char *rest = NULL;
	char own[32];
	snprintf(own, sizeof(own), "/proc/%u/", p->pid);
	if (!strncmp(path, "/proc/self/", 11))
		rest = path + 11;
	else if (!strncmp(path, own, strlen(own)))
		rest = path + strlen(own);
	static const struct { const char *name; const struct file_ops *ops; } mm_files[] = {
		{ "pagemap", &pagemap_ops },
		{ "clear_refs", &clear_refs_ops },
	};
	for (u32 i = 0; i < ARRAY_SIZE(mm_files); i++) {
		if (rest && !strcmp(rest, mm_files[i].name)) {
			if (!p->mm) {
				*err = -ENOENT;
				return NULL;
			}
			mm_get(p->mm);
			return mm_file_open(mm_files[i].ops, p->mm, err);
		}
		bool matched;
		struct mm_struct *other = mm_file_target(path, mm_files[i].name, &matched);
		if (matched) {
			if (!other) {
				*err = -ENOENT;
				return NULL;
			}
			return mm_file_open(mm_files[i].ops, other, err);
		}
	}
	if (!strcmp(path, "/proc/sysrq-trigger"))
		return sysrq_open(err);
	if (!strcmp(path, "/proc/sys/vm/drop_caches")) {
		struct file *f = file_alloc(&drop_caches_ops, FMODE_WRITE, 0, NULL);
		if (!f)
			*err = -ENOMEM;
		return f;
	}
	int which = text_file_which(path, rest);
	if (which < 0) {
		*err = -ENOENT;
		return NULL;
	}
	return text_file_open(p, which, err);
}
