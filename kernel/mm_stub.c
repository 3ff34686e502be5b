/* kernel/mm_stub.c - TEMPORARY stand-in for the address-space half of
 * mm/mm.h, so that processes can run before the memory manager's own
 * implementation (mm/vma.c, mm/fault.c, mm/mmap.c...) lands.
 *
 * Every function here is weak: the real ones replace them at link time
 * with no edit, and this file is to be deleted then. It is deliberately
 * simple: VMAs in a small sorted array, one lock (mmap_lock taken for
 * write even by faults), no zero page (a read fault maps a fresh zeroed
 * page), fork copies every page at once, MAP_SHARED pages are populated at
 * mmap so that fork can share them, and every TLB flush is a full one on
 * every CPU.
 */
#include "mm/mm.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/paging.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/syscall.h"
#include "kernel/elf.h"
#include "kernel/proc.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"

#define WEAK __attribute__((weak))
#define STUB_MAX_VMAS 256
#define MADV_NORMAL 0
#define MADV_RANDOM 1
#define MADV_SEQUENTIAL 2
#define MADV_WILLNEED 3
#define MADV_DONTNEED 4
#define MADV_HUGEPAGE 14
#define MADV_NOHUGEPAGE 15
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f

struct stub_vma {
	u64 start, end;
	u32 flags;
};

struct stub_vmas {
	u32 n;
	struct stub_vma v[STUB_MAX_VMAS];
};

static struct stub_vmas *vmas(struct mm_struct *mm) { return mm->vma_root; }

/* ---- page tables ---- */

static u64 *table_of(u64 entry) { return phys_to_virt(entry & PTE_ADDR_MASK); }

/* The level-1 entry for va, allocating missing tables if alloc. */
static u64 *walk(struct mm_struct *mm, u64 va, bool alloc)
{
	u64 *table = phys_to_virt(mm->pgd_phys);
	for (int shift = 39; shift > 12; shift -= 9) {
		u64 *e = &table[(va >> shift) & 511];
		if (!(*e & PTE_P)) {
			if (!alloc)
				return NULL;
			struct page *pt = pagetable_alloc();
			if (!pt)
				return NULL;
			mm->pgtable_pages++;
			*e = page_to_phys(pt) | PTE_P | PTE_W | PTE_U;
		}
		table = table_of(*e);
	}
	return &table[(va >> 12) & 511];
}

static u64 pte_bits(u32 flags)
{
	u64 bits = PTE_P | PTE_U;
	if (flags & VM_WRITE)
		bits |= PTE_W;
	if (!(flags & VM_EXEC) && paging_features.nx)
		bits |= PTE_NX;
	return bits;
}

static void flush_ipi(void *arg)
{
	struct mm_struct *mm = arg;
	if ((read_cr3() & PTE_ADDR_MASK) == mm->pgd_phys)
		write_cr3(read_cr3());
}

WEAK void flush_tlb_mm(struct mm_struct *mm)
{
	u64 f = local_irq_save();
	flush_ipi(mm);
	local_irq_restore(f);
	smp_call_function_many(READ_ONCE(mm->cpumask) & ~(1UL << smp_processor_id()),
			       flush_ipi, mm, true);
}

/* Remove the pages mapped in [start, end). page_table_lock held. */
static void zap_range(struct mm_struct *mm, u64 start, u64 end)
{
	for (u64 va = start; va < end; va += PAGE_SIZE) {
		u64 *pte = walk(mm, va, false);
		if (!pte || !(*pte & PTE_P))
			continue;
		struct page *pg = phys_to_page(*pte & PTE_ADDR_MASK);
		*pte = 0;
		pg->mapcount--;
		mm->rss_pages--;
		put_page(pg);
	}
}

static void free_tables(u64 *table, int level)
{
	for (int i = 0; i < (level == 4 ? 256 : 512); i++) {
		if (!(table[i] & PTE_P))
			continue;
		if (level > 2)
			free_tables(table_of(table[i]), level - 1);
		pagetable_free(phys_to_page(table[i] & PTE_ADDR_MASK));
		table[i] = 0;
	}
}

/* ---- address spaces ---- */

WEAK struct mm_struct *mm_create(void)
{
	struct mm_struct *mm = kzalloc(sizeof(*mm), GFP_KERNEL);
	if (!mm)
		return NULL;
	mm->vma_root = get_free_pages(GFP_KERNEL | __GFP_ZERO, 2);
	struct page *pgd = pagetable_alloc();
	if (!mm->vma_root || !pgd) {
		if (pgd)
			pagetable_free(pgd);
		if (mm->vma_root)
			free_pages_addr(mm->vma_root, 2);
		kfree(mm);
		return NULL;
	}
	_Static_assert(sizeof(struct stub_vmas) <= 4 * PAGE_SIZE, "vma array");
	mm->pgd_phys = page_to_phys(pgd);
	u64 *root = page_address(pgd), *kroot = phys_to_virt(kernel_root_phys);
	for (int i = 256; i < 512; i++)
		root[i] = kroot[i];
	rwsem_init(&mm->mmap_lock, "mmap_lock");
	spin_init(&mm->page_table_lock, "page_table_lock");
	mm->users = 1;
	mm->mmap_base = 0x00007f0000000000UL;
	return mm;
}

WEAK void mm_get(struct mm_struct *mm)
{
	__atomic_add_fetch(&mm->users, 1, __ATOMIC_RELAXED);
}

WEAK void mm_put(struct mm_struct *mm)
{
	if (__atomic_sub_fetch(&mm->users, 1, __ATOMIC_ACQ_REL))
		return;
	struct stub_vmas *vs = vmas(mm);
	for (u32 i = 0; i < vs->n; i++)
		zap_range(mm, vs->v[i].start, vs->v[i].end);
	free_tables(phys_to_virt(mm->pgd_phys), 4);
	pagetable_free(phys_to_page(mm->pgd_phys));
	free_pages_addr(mm->vma_root, 2);
	kfree(mm);
}

WEAK void switch_mm(struct mm_struct *prev, struct mm_struct *next)
{
	u32 cpu = smp_processor_id();
	if (prev == next)
		return;
	if (prev)
		__atomic_and_fetch(&prev->cpumask, ~(1UL << cpu), __ATOMIC_RELAXED);
	if (next) {
		__atomic_or_fetch(&next->cpumask, 1UL << cpu, __ATOMIC_RELAXED);
		write_cr3(next->pgd_phys);
	} else {
		write_cr3(kernel_root_phys);
	}
}

/* ---- VMAs ---- */

static struct stub_vma *find_vma(struct mm_struct *mm, u64 addr)
{
	struct stub_vmas *vs = vmas(mm);
	for (u32 i = 0; i < vs->n; i++)
		if (addr >= vs->v[i].start && addr < vs->v[i].end)
			return &vs->v[i];
	return NULL;
}

static bool range_free(struct mm_struct *mm, u64 start, u64 end)
{
	struct stub_vmas *vs = vmas(mm);
	for (u32 i = 0; i < vs->n; i++)
		if (vs->v[i].start < end && start < vs->v[i].end)
			return false;
	return true;
}

/* Split so that no VMA straddles addr. */
static int split_at(struct mm_struct *mm, u64 addr)
{
	struct stub_vmas *vs = vmas(mm);
	for (u32 i = 0; i < vs->n; i++) {
		struct stub_vma *v = &vs->v[i];
		if (addr > v->start && addr < v->end) {
			if (vs->n == STUB_MAX_VMAS)
				return -ENOMEM;
			memmove(&vs->v[i + 1], &vs->v[i], (vs->n - i) * sizeof(*v));
			vs->n++;
			vs->v[i].end = addr;
			vs->v[i + 1].start = addr;
			return 0;
		}
	}
	return 0;
}

static void merge_all(struct mm_struct *mm)
{
	struct stub_vmas *vs = vmas(mm);
	for (u32 i = 0; i + 1 < vs->n;) {
		struct stub_vma *a = &vs->v[i], *b = &vs->v[i + 1];
		if (a->end == b->start && a->flags == b->flags && !(a->flags & VM_STACK)) {
			a->end = b->end;
			memmove(b, b + 1, (vs->n - i - 2) * sizeof(*b));
			vs->n--;
		} else {
			i++;
		}
	}
}

static int insert_vma(struct mm_struct *mm, u64 start, u64 end, u32 flags)
{
	struct stub_vmas *vs = vmas(mm);
	if (vs->n == STUB_MAX_VMAS)
		return -ENOMEM;
	u32 i = 0;
	while (i < vs->n && vs->v[i].start < start)
		i++;
	memmove(&vs->v[i + 1], &vs->v[i], (vs->n - i) * sizeof(vs->v[0]));
	vs->v[i] = (struct stub_vma){ start, end, flags };
	vs->n++;
	mm->nr_vmas = vs->n;
	merge_all(mm);
	mm->nr_vmas = vs->n;
	return 0;
}

static int unmap_range(struct mm_struct *mm, u64 start, u64 end)
{
	if (split_at(mm, start) || split_at(mm, end))
		return -ENOMEM;
	struct stub_vmas *vs = vmas(mm);
	spin_lock(&mm->page_table_lock);
	zap_range(mm, start, end);
	spin_unlock(&mm->page_table_lock);
	for (u32 i = 0; i < vs->n;) {
		if (vs->v[i].start >= start && vs->v[i].end <= end) {
			memmove(&vs->v[i], &vs->v[i + 1], (vs->n - i - 1) * sizeof(vs->v[0]));
			vs->n--;
		} else {
			i++;
		}
	}
	mm->nr_vmas = vs->n;
	flush_tlb_mm(mm);
	return 0;
}

static u32 prot_to_flags(u32 prot)
{
	u32 f = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
	if (prot & PROT_READ)
		f |= VM_READ;
	if (prot & PROT_WRITE)
		f |= VM_WRITE | VM_READ;
	if (prot & PROT_EXEC)
		f |= VM_EXEC | VM_READ;
	return f;
}

/* Map one fresh zeroed page at va. page_table_lock held. */
static int map_new_page(struct mm_struct *mm, u64 va, u32 flags)
{
	u64 *pte = walk(mm, va, true);
	if (!pte)
		return -ENOMEM;
	if (*pte & PTE_P)
		return 0;
	struct page *pg = alloc_page(__GFP_ZERO);
	if (!pg)
		return -ENOMEM;
	pg->flags |= PG_anon;
	pg->mapcount = 1;
	*pte = page_to_phys(pg) | pte_bits(flags);
	mm->rss_pages++;
	return 0;
}

static int populate(struct mm_struct *mm, u64 start, u64 end, u32 flags)
{
	int err = 0;
	spin_lock(&mm->page_table_lock);
	for (u64 va = start; va < end && !err; va += PAGE_SIZE)
		err = map_new_page(mm, va, flags);
	spin_unlock(&mm->page_table_lock);
	return err;
}

WEAK int mm_map_segment(struct mm_struct *mm, u64 vaddr, u64 memsz, const void *data,
			u64 filesz, u32 prot)
{
	u64 start = vaddr & PAGE_MASK, end = (vaddr + memsz + PAGE_SIZE - 1) & PAGE_MASK;
	u32 flags = prot_to_flags(prot);
	if (!range_free(mm, start, end))
		return -EINVAL;
	int err = insert_vma(mm, start, end, flags);
	if (!err)
		err = populate(mm, start, end, flags);
	if (err)
		return err;
	/* Copy the file's bytes through the direct map. */
	for (u64 off = 0; off < filesz;) {
		u64 va = vaddr + off;
		u64 *pte = walk(mm, va, false);
		u64 in_page = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		u64 n = filesz - off < in_page ? filesz - off : in_page;
		memcpy((u8 *)phys_to_virt(*pte & PTE_ADDR_MASK) + (va & (PAGE_SIZE - 1)),
		       (const u8 *)data + off, n);
		off += n;
	}
	return 0;
}

WEAK int mm_setup_stack(struct mm_struct *mm, u64 top, u64 size)
{
	mm->start_stack = top;
	return insert_vma(mm, top - size, top, prot_to_flags(PROT_READ | PROT_WRITE) | VM_STACK);
}

WEAK void mm_set_brk_start(struct mm_struct *mm, u64 start)
{
	mm->start_brk = mm->brk = (start + PAGE_SIZE - 1) & PAGE_MASK;
}

WEAK int handle_mm_fault(struct mm_struct *mm, u64 addr, u64 error_code)
{
	down_write(&mm->mmap_lock);
	struct stub_vma *v = find_vma(mm, addr);
	int err = -EFAULT;
	if (v) {
		bool write = error_code & 2, exec = error_code & 16;
		bool ok = write ? (v->flags & VM_WRITE) :
			  exec ? (v->flags & VM_EXEC) : (v->flags & VM_READ);
		if (ok) {
			spin_lock(&mm->page_table_lock);
			err = map_new_page(mm, addr & PAGE_MASK, v->flags);
			spin_unlock(&mm->page_table_lock);
		}
	}
	up_write(&mm->mmap_lock);
	return err;
}

WEAK int mm_fork(struct mm_struct *parent, struct mm_struct **child)
{
	struct mm_struct *mm = mm_create();
	if (!mm)
		return -ENOMEM;
	down_write(&parent->mmap_lock);
	*vmas(mm) = *vmas(parent);
	mm->nr_vmas = parent->nr_vmas;
	mm->start_brk = parent->start_brk;
	mm->brk = parent->brk;
	mm->start_stack = parent->start_stack;
	mm->mmap_base = parent->mmap_base;
	int err = 0;
	struct stub_vmas *vs = vmas(parent);
	for (u32 i = 0; i < vs->n && !err; i++) {
		struct stub_vma *v = &vs->v[i];
		for (u64 va = v->start; va < v->end && !err; va += PAGE_SIZE) {
			u64 *src = walk(parent, va, false);
			if (!src || !(*src & PTE_P))
				continue;
			u64 *dst = walk(mm, va, true);
			if (!dst) {
				err = -ENOMEM;
				break;
			}
			struct page *sp = phys_to_page(*src & PTE_ADDR_MASK);
			if (v->flags & VM_SHARED) {
				get_page(sp);
				sp->mapcount++;
				*dst = *src;
			} else {
				struct page *np = alloc_page(0);
				if (!np) {
					err = -ENOMEM;
					break;
				}
				np->flags |= PG_anon;
				np->mapcount = 1;
				memcpy(page_address(np), page_address(sp), PAGE_SIZE);
				*dst = page_to_phys(np) | (*src & ~PTE_ADDR_MASK);
			}
			mm->rss_pages++;
		}
	}
	up_write(&parent->mmap_lock);
	if (err) {
		mm_put(mm);
		return err;
	}
	*child = mm;
	return 0;
}

WEAK size_t mm_format_maps(struct mm_struct *mm, char *buf, size_t size)
{
	size_t len = 0;
	down_read(&mm->mmap_lock);
	struct stub_vmas *vs = vmas(mm);
	for (u32 i = 0; i < vs->n && len + 100 < size; i++) {
		struct stub_vma *v = &vs->v[i];
		const char *name = v->flags & VM_STACK ? "[stack]" : v->flags & VM_HEAP ? "[heap]" : "";
		int n = snprintf(buf + len, size - len, "%08lx-%08lx %c%c%c%c 00000000 00:00 0 %s%s\n",
				 v->start, v->end, v->flags & VM_READ ? 'r' : '-',
				 v->flags & VM_WRITE ? 'w' : '-', v->flags & VM_EXEC ? 'x' : '-',
				 v->flags & VM_SHARED ? 's' : 'p', *name ? "                         " : "",
				 name);
		len += (size_t)n;
	}
	up_read(&mm->mmap_lock);
	return len;
}

/* ---- the system calls ---- */

static struct mm_struct *cur_mm(void) { return current_proc()->mm; }

static u64 find_gap(struct mm_struct *mm, u64 len, u64 hint)
{
	if (hint && !(hint & (PAGE_SIZE - 1)) && hint + len <= USER_SPACE_END && hint + len > hint &&
	    range_free(mm, hint, hint + len))
		return hint;
	/* Top down from mmap_base: below the lowest VMA in the way. */
	u64 end = mm->mmap_base;
	while (end >= len + 0x10000) {
		u64 start = end - len, lowest = end;
		struct stub_vmas *vs = vmas(mm);
		for (u32 i = 0; i < vs->n; i++)
			if (vs->v[i].start < end && start < vs->v[i].end && vs->v[i].start < lowest)
				lowest = vs->v[i].start;
		if (lowest == end)
			return start;
		end = lowest;
	}
	return 0;
}

static long sys_mmap(u64 addr, u64 len, u64 prot, u64 flags, u64 fd, u64 off)
{
	struct mm_struct *mm = cur_mm();
	if (off & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!len)
		return -EINVAL;
	u64 rlen = (len + PAGE_SIZE - 1) & PAGE_MASK;
	if (!rlen || rlen > USER_SPACE_END)
		return -ENOMEM;
	u32 type = flags & MAP_TYPE;
	if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS))
		return (s32)fd < 0 || (s32)fd >= MAX_FILES ? -EBADF : -ENODEV;
	if (prot & ~(u64)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	if (fixed && (addr & (PAGE_SIZE - 1)))
		return -EINVAL;
	if (fixed && (addr + rlen > USER_SPACE_END || addr + rlen < addr))
		return -ENOMEM;
	u32 vflags = prot_to_flags((u32)prot) | (type != MAP_PRIVATE ? VM_SHARED : 0);
	down_write(&mm->mmap_lock);
	long ret;
	if (fixed) {
		if (!range_free(mm, addr, addr + rlen)) {
			if (flags & MAP_FIXED_NOREPLACE) {
				ret = -EEXIST;
				goto out;
			}
			unmap_range(mm, addr, addr + rlen);
		}
	} else {
		addr = find_gap(mm, rlen, addr);
		if (!addr) {
			ret = -ENOMEM;
			goto out;
		}
	}
	ret = insert_vma(mm, addr, addr + rlen, vflags);
	if (!ret && ((flags & MAP_POPULATE) || (vflags & VM_SHARED)))
		ret = populate(mm, addr, addr + rlen, vflags);
	if (ret)
		unmap_range(mm, addr, addr + rlen);
	else
		ret = (long)addr;
out:
	up_write(&mm->mmap_lock);
	return ret;
}

static long sys_munmap(u64 addr, u64 len)
{
	struct mm_struct *mm = cur_mm();
	if ((addr & (PAGE_SIZE - 1)) || !len)
		return -EINVAL;
	u64 rlen = (len + PAGE_SIZE - 1) & PAGE_MASK;
	if (addr >= USER_SPACE_END || rlen > USER_SPACE_END - addr)
		return -EINVAL;
	down_write(&mm->mmap_lock);
	long r = unmap_range(mm, addr, addr + rlen);
	up_write(&mm->mmap_lock);
	return r;
}

static bool range_mapped(struct mm_struct *mm, u64 start, u64 end)
{
	for (u64 a = start; a < end;) {
		struct stub_vma *v = find_vma(mm, a);
		if (!v)
			return false;
		a = v->end;
	}
	return true;
}

static long sys_mprotect(u64 addr, u64 len, u64 prot)
{
	struct mm_struct *mm = cur_mm();
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (prot & ~(u64)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	u64 rlen = (len + PAGE_SIZE - 1) & PAGE_MASK;
	if (rlen < len || addr + rlen < addr)
		return -ENOMEM;
	if (!len)
		return 0;
	down_write(&mm->mmap_lock);
	long r = -ENOMEM;
	u64 end = addr + rlen;
	if (range_mapped(mm, addr, end) && !split_at(mm, addr) && !split_at(mm, end)) {
		struct stub_vmas *vs = vmas(mm);
		spin_lock(&mm->page_table_lock);
		for (u32 i = 0; i < vs->n; i++) {
			struct stub_vma *v = &vs->v[i];
			if (v->start < addr || v->end > end)
				continue;
			v->flags = (v->flags & ~(u32)(VM_READ | VM_WRITE | VM_EXEC)) |
				   (prot_to_flags((u32)prot) & (VM_READ | VM_WRITE | VM_EXEC));
			for (u64 va = v->start; va < v->end; va += PAGE_SIZE) {
				u64 *pte = walk(mm, va, false);
				if (pte && (*pte & PTE_P)) {
					if (v->flags & (VM_READ | VM_WRITE | VM_EXEC))
						*pte = (*pte & PTE_ADDR_MASK) | pte_bits(v->flags);
					else
						*pte = (*pte & PTE_ADDR_MASK) | (pte_bits(v->flags) & ~PTE_U);
				}
			}
		}
		spin_unlock(&mm->page_table_lock);
		merge_all(mm);
		mm->nr_vmas = vs->n;
		flush_tlb_mm(mm);
		r = 0;
	}
	up_write(&mm->mmap_lock);
	return r;
}

static long sys_brk(u64 addr)
{
	struct mm_struct *mm = cur_mm();
	down_write(&mm->mmap_lock);
	u64 old = (mm->brk + PAGE_SIZE - 1) & PAGE_MASK;
	u64 new = (addr + PAGE_SIZE - 1) & PAGE_MASK;
	if (addr >= mm->start_brk && addr < USER_SPACE_END) {
		if (new < old) {
			unmap_range(mm, new, old);
			mm->brk = addr;
		} else if (new == old || (range_free(mm, old, new) &&
				insert_vma(mm, old, new, prot_to_flags(PROT_READ | PROT_WRITE) | VM_HEAP) == 0)) {
			mm->brk = addr;
		}
	}
	u64 r = mm->brk;
	up_write(&mm->mmap_lock);
	return (long)r;
}

static long sys_madvise(u64 addr, u64 len, u64 advice)
{
	struct mm_struct *mm = cur_mm();
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTNEED: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
		break;
	default:
		return -EINVAL;
	}
	u64 rlen = (len + PAGE_SIZE - 1) & PAGE_MASK;
	if (rlen < len)
		return -EINVAL;
	if (!len)
		return 0;
	down_write(&mm->mmap_lock);
	long r = range_mapped(mm, addr, addr + rlen) ? 0 : -ENOMEM;
	if (!r && advice == MADV_DONTNEED) {
		spin_lock(&mm->page_table_lock);
		for (u64 a = addr; a < addr + rlen; a += PAGE_SIZE) {
			struct stub_vma *v = find_vma(mm, a);
			if (v && !(v->flags & VM_SHARED))
				zap_range(mm, a, a + PAGE_SIZE);
		}
		spin_unlock(&mm->page_table_lock);
		flush_tlb_mm(mm);
	}
	up_write(&mm->mmap_lock);
	return r;
}

WEAK void mm_syscalls_init(void)
{
	syscall_register(SYS_mmap, (void (*)(void))sys_mmap);
	syscall_register(SYS_munmap, (void (*)(void))sys_munmap);
	syscall_register(SYS_mprotect, (void (*)(void))sys_mprotect);
	syscall_register(SYS_brk, (void (*)(void))sys_brk);
	syscall_register(SYS_madvise, (void (*)(void))sys_madvise);
}
