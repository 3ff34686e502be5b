/* SPDX-License-Identifier: MIT */
/* mm/paging.c - the kernel page tables; see paging.h. */
#include "mm/paging.h"
#include "kernel/sched.h"
#include "mm/buddy.h"
#include "mm/memmap.h"
#include "mm/direct_map.h"
#include "mm/ioremap.h"
#include "mm/kstack.h"
#include "kernel/bootinfo.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/desc.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/pat.h"
#include "kernel/uaccess.h"

struct paging_features paging_features;
u64 kernel_root_phys;
/* Stacks in the kernel image whose lowest page is left unmapped: the boot
 * stack (boot/entry.asm), the boot CPU's IST stacks (desc.h:
 * ist_stack_guard) and the kernel threads' stacks (sched.h:
 * thread_stack_guard). The other CPUs' stacks are in the kernel stack area
 * (mm/kstack.h). */
extern char boot_stack_guard[];
extern u64 boot_pml4[];         /* boot/entry.asm: the tables APs start on */

extern char __text_start[], __rodata_start[], __rodata_end[], __data_start[], __bss_end[];

#define CR4_PGE (1UL << 7)
#define CR4_SMEP (1UL << 20)
#define CR4_SMAP (1UL << 21)
#define GIB (1UL << 30)
#define TWO_MIB (1UL << 21)

/* --- allocating tables: a boot pool first, the page allocator later --- */
static u64 pool_next, pool_end;
static u64 pool_used;

static u64 *table_alloc(void)
{
	if (pool_next) {
		if (pool_next >= pool_end)
			panic("mm: the boot page-table pool (%lu pages) is too small", pool_used);
		u64 pa = pool_next;
		pool_next += PAGE_SIZE;
		pool_used++;
		u64 *t = phys_to_virt(pa);
		page_fill(t, 0, PAGE_SIZE);
		return t;
	}
	struct page *p = pagetable_alloc();
	return p ? page_address(p) : NULL;
}

struct page *pagetable_alloc(void)
{
	struct page *p = alloc_page(__GFP_ZERO);
	if (!p)
		return NULL;
	p->flags |= PG_pagetable;
	vm_stat_add(NR_PAGETABLE, 1);
	return p;
}

void pagetable_free(struct page *p)
{
	/* A PTE table's lock word (mm/pgtable.h) must be free: a CPU still
	 * holding it would be using a table nobody may reach any more. */
	u32 holder = __atomic_load_n(&p->ptl, __ATOMIC_RELAXED);
	if (holder)
		panic("page table at %lx freed while CPU %u holds its lock",
		      page_to_phys(p), holder - 1);
	p->flags &= ~PG_pagetable;
	vm_stat_add(NR_PAGETABLE, -1);
	free_page(p);
}

static u64 *kernel_root;

static unsigned pt_index(u64 va, unsigned shift) { return (va >> shift) & (PT_ENTRIES - 1); }

/* The table the entry points to, allocated (zeroed) if absent. Upper-level
 * entries are always present+writable and never NX: the effective rights
 * are the intersection of all levels, so the leaf decides. */
static u64 *next_table(u64 *table, unsigned idx)
{
	u64 e = table[idx];
	if (e & PTE_P) {
		if (e & PTE_PS)
			panic("mm: mapping over a huge page at index %u", idx);
		return phys_to_virt(e & PTE_ADDR_MASK);
	}
	u64 *t = table_alloc();
	if (!t)
		panic("mm: out of memory for a kernel page table");
	table[idx] = virt_to_phys(t) | PTE_P | PTE_W;
	return t;
}

/* Map [va, va+size) to [pa, pa+size) with the largest pages alignment and
 * the CPU allow (huge = false forces 4 KiB pages). The caller vouches that
 * the range is one memory type (mm/direct_map.h). */
static void map_range(u64 va, u64 pa, u64 size, u64 flags, bool huge)
{
	if (!paging_features.nx)
		flags &= ~PTE_NX;       /* bit 63 is reserved without NX */
	while (size > 0) {
		u64 step = direct_map_page_size(va, pa, size, paging_features.gbpages, huge);
		u64 *pdpt = next_table(kernel_root, pt_index(va, PML4_SHIFT));
		if (step == GIB) {
			pdpt[pt_index(va, PDPT_SHIFT)] = pa | flags | PTE_PS;
		} else {
			u64 *pd = next_table(pdpt, pt_index(va, PDPT_SHIFT));
			if (step == TWO_MIB)
				pd[pt_index(va, PD_SHIFT)] = pa | flags | PTE_PS;
			else
				next_table(pd, pt_index(va, PD_SHIFT))[pt_index(va, PAGE_SHIFT)] = pa | flags;
		}
		va += step, pa += step, size -= step;
	}
}

u64 *paging_lookup(u64 va, enum pt_level *level)
{
	u64 *t = kernel_root;
	static const unsigned shifts[PT_LEVELS + 1] = {
		[PT_PML4] = PML4_SHIFT, [PT_PUD] = PDPT_SHIFT, [PT_PMD] = PD_SHIFT, [PT_PTE] = PAGE_SHIFT,
	};
	for (enum pt_level l = PT_PML4; l >= PT_PTE; l--) {
		u64 *e = &t[pt_index(va, shifts[l])];
		if (!(*e & PTE_P))
			return NULL;
		if (l == PT_PTE || (l < PT_PML4 && (*e & PTE_PS))) {
			*level = l;
			return e;
		}
		t = phys_to_virt(*e & PTE_ADDR_MASK);
	}
	return NULL;
}

static inline void invlpg(u64 va)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"(va) : "memory");
}

bool paging_unmap_kernel_page(u64 va)
{
	enum pt_level level;
	u64 *e = paging_lookup(va, &level);
	if (!e || level != PT_PTE)
		return false;
	*e = 0;
	invlpg(va);
	return true;
}

/* --- CPU features --- */

static void detect_features(void)
{
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	u32 max_leaf = a;
	cpuid(1, 0, &a, &b, &c, &d);
	paging_features.pge = (d >> 13) & 1;
	if (max_leaf >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		paging_features.smep = (b >> 7) & 1;
		paging_features.smap = (b >> 20) & 1;
	}
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a >= 0x80000001) {
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		paging_features.gbpages = (d >> 26) & 1;
		/* boot/entry.asm set EFER.NXE if the CPU has NX; trust EFER. */
		paging_features.nx = ((d >> 20) & 1) && (rdmsr(MSR_EFER) & (1UL << 11));
	}
}

static void enable_cr4_features(void)
{
	u64 cr4 = read_cr4();
	if (paging_features.pge)
		cr4 |= CR4_PGE;
	if (paging_features.smep)
		cr4 |= CR4_SMEP;        /* the kernel never executes user pages */
	if (paging_features.smap)
		cr4 |= CR4_SMAP;        /* ...nor touches them without STAC */
	write_cr4(cr4);
}

/* --- building the kernel root --- */

/* Bytes of the Multiboot2 framebuffer (0 without one). */
static u64 framebuffer_size(void)
{
	return boot_info.fb.present ? (u64)boot_info.fb.pitch * boot_info.fb.height : 0;
}

u64 paging_pool_estimate(void)
{
	u64 top = MAX(memmap_highest_addr(), FOUR_GIB);
	u64 gib = (top + GIB - 1) / GIB;
	u64 image = (u64)(__bss_end - __text_start);
	/* root + PDPTs (one per 512 GiB, plus the kernel's) + one PD per GiB
	 * (2 MiB pages) + the kernel image's PD and PTs; each RAM range may
	 * start and end off a 2 MiB boundary: a PT and a PD at each end. */
	return 1 + (gib / 512 + 2) + gib + 4 * boot_info.nr_mmap + 1 + image / TWO_MIB + 2 +
	       /* splitting the direct map around the image (protect_image_alias) */
	       1 + image / TWO_MIB + 2 +
	       /* the framebuffer in 4 KiB pages (ioremap_wc): PTs, a PD per
	        * GiB it touches, a PDPT above 512 GiB */
	       3 + framebuffer_size() / TWO_MIB + 2 + framebuffer_size() / GIB;
}

static void unmap_guard(void *va, const char *what)
{
	if (!paging_unmap_kernel_page((u64)va))
		panic("mm: cannot unmap the guard page of %s at %p", what, va);
}

/* The direct map: RAM only, write-back, never a large page across a
 * boundary between RAM and anything else (mm/direct_map.h). Device
 * memory is mapped later, by whoever needs it, with its type (ioremap). */
static void map_direct(void)
{
	static struct phys_range ranges[BOOT_MAX_MMAP];
	u32 n = direct_map_ranges(boot_info.mmap, boot_info.nr_mmap, ranges, BOOT_MAX_MMAP);
	if (n > BOOT_MAX_MMAP)
		panic("mm: more than %d RAM ranges in the memory map", BOOT_MAX_MMAP);
	for (u32 i = 0; i < n; i++)
		map_range(DIRECT_MAP_BASE + ranges[i].start, ranges[i].start,
			  ranges[i].end - ranges[i].start, PTE_P | PTE_W | PTE_G | PTE_NX, true);
}

/* The 4 KiB entry for va, splitting the 1 GiB or 2 MiB page that maps it
 * into 512 smaller ones with the same attributes; NULL if va is unmapped. */
static u64 *split_to_4k(u64 va)
{
	for (;;) {
		enum pt_level level;
		u64 *e = paging_lookup(va, &level);
		if (!e || level == PT_PTE)
			return e;
		u64 size = level == PT_PUD ? GIB : TWO_MIB;
		u64 sub = level == PT_PUD ? TWO_MIB : PAGE_SIZE;
		u64 base = *e & PTE_ADDR_MASK & ~(size - 1);
		u64 flags = *e & ~PTE_ADDR_MASK;
		/* The large page's PAT bit is bit 12, inside the address mask:
		 * carried over by hand (arch/x86_64/pat.h). */
		bool pat = (*e & PAT_PTE_PAT_LARGE) != 0;
		if (level == PT_PMD)
			flags = (flags & ~PTE_PS) | (pat ? PAT_PTE_PAT_4K : 0); /* bit 7: PAT */
		else if (pat)
			flags |= PAT_PTE_PAT_LARGE;
		u64 *t = table_alloc();
		if (!t)
			return NULL;
		for (u64 i = 0; i < PT_ENTRIES; i++)
			t[i] = (base + i * sub) | flags;
		*e = virt_to_phys(t) | PTE_P | PTE_W;
	}
}

bool paging_map_kernel_page(u64 va, u64 pa, u64 flags)
{
	enum pt_level level;
	if (paging_lookup(va, &level))
		return false;
	if (!paging_features.nx)
		flags &= ~PTE_NX;
	/* Address spaces copy the kernel's root entries when they are made
	 * (mm/mm_struct.c): after boot a new root entry would not reach them. */
	if (!pool_next && !(kernel_root[pt_index(va, PML4_SHIFT)] & PTE_P)) {
		printk(KERN_WARNING "mm: 0x%lx needs a new kernel root entry after boot\n", va);
		return false;
	}
	u64 *t = kernel_root;
	static const unsigned shifts[] = { PML4_SHIFT, PDPT_SHIFT, PD_SHIFT };
	for (unsigned i = 0; i < 3; i++) {
		u64 e = t[pt_index(va, shifts[i])];
		if (!(e & PTE_P)) {
			u64 *n = table_alloc();
			if (!n)
				return false;
			t[pt_index(va, shifts[i])] = virt_to_phys(n) | PTE_P | PTE_W;
			e = t[pt_index(va, shifts[i])];
		}
		t = phys_to_virt(e & PTE_ADDR_MASK);
	}
	t[pt_index(va, PAGE_SHIFT)] = pa | flags;
	return true;
}

/* The direct map has its own alias of the kernel image. Make the alias of
 * text and rodata read-only too, or W^X could be bypassed through it. */
static void protect_image_alias(void)
{
	u64 start = (u64)__text_start - KERNEL_VMA, end = (u64)__data_start - KERNEL_VMA;
	for (u64 pa = start; pa < end; pa += PAGE_SIZE) {
		u64 *e = split_to_4k(DIRECT_MAP_BASE + pa);
		if (!e)
			panic("mm: the direct map does not cover the kernel image at 0x%lx", pa);
		*e &= ~PTE_W;
	}
}

/* The framebuffer, and only it, write-combining (arch/x86_64/pat.h): the
 * firmware's MTRRs usually make it uncached, one bus write per store.
 * Mapped now, at the address the boot tables gave it (the screen console
 * has been drawing there since before paging_init). */
static void map_framebuffer_wc(void)
{
	if (!boot_info.fb.present)
		return;
	if (!ioremap_wc(boot_info.fb.addr, framebuffer_size()))
		printk(KERN_WARNING "mm: the framebuffer at 0x%lx is not write-combining "
		       "(it overlaps RAM); the screen console stays slow\n", boot_info.fb.addr);
}

static void map_kernel_image(void)
{
	u64 text = (u64)__text_start, rodata = (u64)__rodata_start;
	u64 data = (u64)__data_start, end = ALIGN_UP((u64)__bss_end, PAGE_SIZE);
	map_range(text, text - KERNEL_VMA, rodata - text, PTE_P | PTE_G, false);
	map_range(rodata, rodata - KERNEL_VMA, data - rodata, PTE_P | PTE_G | PTE_NX, false);
	map_range(data, data - KERNEL_VMA, end - data, PTE_P | PTE_W | PTE_G | PTE_NX, false);
}

/* The stacks in the kernel image: the boot stack, the boot CPU's IST
 * stacks and the kernel threads' stacks. The other CPUs' stacks live in
 * the kernel stack area, whose guard pages are never mapped (mm/kstack.h). */
static void unmap_stack_guards(void)
{
	unmap_guard(boot_stack_guard, "the boot stack");
	for (u32 ist = 0; ist < IST_COUNT; ist++)
		unmap_guard(ist_stack_guard(0, ist), "an IST stack of the boot CPU");
	void *g;
	for (u32 slot = 0; (g = thread_stack_guard(slot)) != NULL; slot++)
		unmap_guard(g, "a kernel thread's stack");
}

/* The kernel stack area's root entry (mm/kstack.h), made now so that every
 * address space copies it, and copied into the boot tables: an AP starts on
 * those and pushes onto its stack before it loads kernel_cr3. */
static void make_kstack_area_root(void)
{
	unsigned i = pt_index(KSTACK_AREA_START, PML4_SHIFT);
	u64 *pdpt = table_alloc();
	kernel_root[i] = virt_to_phys(pdpt) | PTE_P | PTE_W;
	boot_pml4[i] = kernel_root[i];
}

void paging_init(u64 pool_phys, u64 pool_pages)
{
	detect_features();
	/* Before the first entry that selects write-combining (pat.h). */
	pat_init_cpu();
	pool_next = pool_phys;
	pool_end = pool_phys + pool_pages * PAGE_SIZE;
	pool_used = 0;

	kernel_root = table_alloc();
	map_direct();
	map_framebuffer_wc();
	protect_image_alias();
	map_kernel_image();
	unmap_stack_guards();
	make_kstack_area_root();

	kernel_root_phys = virt_to_phys(kernel_root);
	/* The boot tables (boot_pml4) stay as they are: APs start on them,
	 * then load kernel_cr3 (arch/x86_64/smp.c). */
	write_cr3(kernel_root_phys);
	kernel_cr3 = kernel_root_phys;
	enable_cr4_features();
	cpu_has_smap = paging_features.smap;
	pr_info("mm: kernel page tables at 0x%lx (%lu pages); NX %s, 1 GiB pages %s, "
		"global %s, SMEP %s, SMAP %s, PAT %s\n", kernel_root_phys, pool_used,
		paging_features.nx ? "on" : "absent", paging_features.gbpages ? "used" : "absent",
		paging_features.pge ? "on" : "absent", paging_features.smep ? "on" : "absent",
		paging_features.smap ? "on" : "absent", pat_enabled ? "on (framebuffer WC)" : "absent");
}

void paging_map_boot(u64 va, u64 pa, u64 size, bool huge)
{
	if (!pool_next)
		panic("mm: paging_map_boot(0x%lx) after the boot page-table pool was closed", va);
	map_range(va, pa, size, PTE_P | PTE_W | PTE_G | PTE_NX, huge);
}

u64 paging_pool_finish(void)
{
	/* From now on, tables come from the page allocator. */
	pool_next = 0;
	return pool_used;
}
