/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_paging.c - the kernel page tables ("test=paging"): W^X on the
 * kernel image, guard pages under the stacks, the direct map's coverage, and
 * the CPU protections. Faults are provoked on purpose at instructions listed
 * in the exception table, so they are reported back instead of panicking. */
#include "arch/x86_64/pat.h"
#include "kernel/ktest.h"
#include "arch/x86_64/acpi.h"
#include "kernel/sched.h"
#include "kernel/bootinfo.h"
#include "mm/paging.h"
#include "mm/direct_map.h"
#include "mm/ioremap.h"
#include "mm/buddy.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/desc.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"

extern char boot_stack_guard[];
extern char __text_start[], __rodata_start[], __data_start[];

/* One "ret" in .data: the target of the execute-from-data test. */
__asm__(".pushsection .data\n"
	".globl paging_exec_probe\n"
	"paging_exec_probe: ret\n"
	".popsection");
extern char paging_exec_probe[];

static const u64 test_rodata_word = 0x0123456789abcdefUL;

#define PF_P 1UL
#define PF_W 2UL
#define PF_I 16UL

/* Write one byte (the value already there) at p; true if it faulted. */
static bool write_faults(volatile u8 *p)
{
	u32 faulted;
	u8 v = *p;
	__asm__ __volatile__(
		"movl $0, %0\n\t"
		"1: movb %b2, (%1)\n\t"
		"jmp 2f\n\t"
		"3: movl $1, %0\n\t"
		"2:\n\t"
		".pushsection .ex_table, \"a\"\n\t"
		".quad 1b, 3b\n\t"
		".popsection"
		: "=&r"(faulted) : "r"(p), "q"(v) : "memory");
	return faulted;
}

static bool read_faults(volatile u8 *p)
{
	u32 faulted;
	u8 v;
	__asm__ __volatile__(
		"movl $0, %0\n\t"
		"1: movb (%2), %b1\n\t"
		"jmp 2f\n\t"
		"3: movl $1, %0\n\t"
		"2:\n\t"
		".pushsection .ex_table, \"a\"\n\t"
		".quad 1b, 3b\n\t"
		".popsection"
		: "=&r"(faulted), "=&q"(v) : "r"(p) : "memory");
	return faulted;
}

static void test_text_not_writable(struct ktest *t)
{
	volatile u8 *p = (volatile u8 *)(u64)test_text_not_writable;
	KTEST_EXPECT_TRUE(t, write_faults(p));
	struct trap_frame tf;
	trap_last_fixup(&tf);
	KTEST_EXPECT_EQ(t, tf.vector, VEC_PAGE_FAULT);
	KTEST_EXPECT_EQ(t, tf.error_code & (PF_P | PF_W), PF_P | PF_W);
	KTEST_EXPECT_EQ(t, read_cr2(), (u64)p);
	enum pt_level level;
	u64 *e = paging_lookup((u64)p, &level);
	KTEST_ASSERT_TRUE(t, e != NULL);
	KTEST_EXPECT_EQ(t, level, 1);
	KTEST_EXPECT_EQ(t, *e & (PTE_W | PTE_NX), 0);
	/* Nor through its alias in the direct map. */
	volatile u8 *alias = phys_to_virt(virt_to_phys((const void *)p));
	KTEST_EXPECT_TRUE(t, write_faults(alias));
	e = paging_lookup((u64)alias, &level);
	KTEST_ASSERT_TRUE(t, e != NULL);
	KTEST_EXPECT_EQ(t, *e & PTE_W, 0);
}

static void test_rodata_not_writable(struct ktest *t)
{
	volatile u8 *p = (volatile u8 *)&test_rodata_word;
	KTEST_EXPECT_TRUE(t, write_faults(p));
	enum pt_level level;
	u64 *e = paging_lookup((u64)p, &level);
	KTEST_ASSERT_TRUE(t, e != NULL);
	KTEST_EXPECT_EQ(t, *e & PTE_W, 0);
	if (paging_features.nx)
		KTEST_EXPECT_EQ(t, *e & PTE_NX, PTE_NX);
}

static void test_data_not_executable(struct ktest *t)
{
	if (!paging_features.nx) {
		ktest_skip(t, "the CPU has no NX");
		return;
	}
	u32 faulted;
	/* Call the "ret" in .data. If it runs, it returns to 2:. If the fetch
	 * faults, the fault address is the probe itself: its exception-table
	 * entry resumes at 3:, which drops the return address the call pushed. */
	__asm__ __volatile__(
		"movl $0, %0\n\t"
		"leaq paging_exec_probe(%%rip), %%rax\n\t"
		"call *%%rax\n\t"
		"jmp 2f\n\t"
		"3: addq $8, %%rsp\n\t"
		"movl $1, %0\n\t"
		"2:\n\t"
		".pushsection .ex_table, \"a\"\n\t"
		".quad paging_exec_probe, 3b\n\t"
		".popsection"
		: "=&r"(faulted) : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
		  "memory");
	KTEST_EXPECT_EQ(t, faulted, 1);
	struct trap_frame tf;
	trap_last_fixup(&tf);
	KTEST_EXPECT_EQ(t, tf.vector, VEC_PAGE_FAULT);
	KTEST_EXPECT_EQ(t, tf.error_code & (PF_P | PF_I), PF_P | PF_I);
	KTEST_EXPECT_EQ(t, tf.rip, (u64)paging_exec_probe);
}

struct stack_probe {
	u8 *kstack;
	bool bottom_faulted, below_faulted;
	u64 below_error;
};

static void probe_own_stack(void *arg)
{
	struct stack_probe *p = arg;
	p->kstack = current_thread()->kstack;
	p->bottom_faulted = read_faults((volatile u8 *)p->kstack);
	p->below_faulted = read_faults((volatile u8 *)p->kstack - 8);
	struct trap_frame tf;
	trap_last_fixup(&tf);
	p->below_error = tf.error_code;
}

static void test_stack_guards_unmapped(struct ktest *t)
{
	enum pt_level level;
	KTEST_EXPECT_TRUE(t, paging_lookup((u64)boot_stack_guard, &level) == NULL);
	KTEST_EXPECT_TRUE(t, read_faults((volatile u8 *)boot_stack_guard + PAGE_SIZE - 8));
	struct trap_frame tf;
	trap_last_fixup(&tf);
	KTEST_EXPECT_EQ(t, tf.error_code & PF_P, 0);            /* not present */
	/* The stack itself, just above, is mapped. */
	KTEST_EXPECT_FALSE(t, read_faults((volatile u8 *)boot_stack_guard + PAGE_SIZE));
	/* The boot CPU's IST stacks are in the image, their guards unmapped. */
	for (u32 i = 0; i < IST_COUNT; i++)
		KTEST_EXPECT_TRUE(t, paging_lookup((u64)ist_stack_guard(0, i), &level) == NULL);
	/* Every other CPU's stacks were mapped when it started (mm/kstack.h):
	 * each stack's lowest page is mapped, the page below it is not. */
	u32 n = 0, cpu;
	for_each_cpu(cpu, &cpu_online_mask) {
		if (cpu == 0)
			continue;
		u64 bottom = (u64)cpus[cpu].kstack_top - AP_STACK_SIZE;
		KTEST_EXPECT_TRUE(t, paging_lookup(bottom, &level) != NULL);
		KTEST_EXPECT_TRUE(t, paging_lookup(bottom - PAGE_SIZE, &level) == NULL);
		KTEST_EXPECT_TRUE(t, paging_lookup((u64)ap_stack_guard(cpu), &level) == NULL);
		for (u32 i = 0; i < IST_COUNT; i++) {
			u64 ist = (u64)cpus[cpu].ist_stack_top[i] + 16 - IST_STACK_SIZE;
			KTEST_EXPECT_TRUE(t, paging_lookup(ist, &level) != NULL);
			KTEST_EXPECT_TRUE(t, paging_lookup(ist - PAGE_SIZE, &level) == NULL);
			KTEST_EXPECT_TRUE(t, paging_lookup((u64)ist_stack_guard(cpu, i), &level) == NULL);
		}
		n++;
	}
	void *g;
	u32 slots = 0;
	for (u32 slot = 0; (g = thread_stack_guard(slot)) != NULL; slot++, slots++) {
		KTEST_EXPECT_TRUE(t, paging_lookup((u64)g, &level) == NULL);
		KTEST_EXPECT_TRUE(t, paging_lookup((u64)g + PAGE_SIZE, &level) != NULL);
	}
	/* A kernel thread's stack: readable down to its lowest byte, and the
	 * page below faults, not present. (The tests run in kmain, on the
	 * boot stack: a thread of its own looks at a thread stack.) */
	struct stack_probe probe = { 0 };
	/* Pinned: trap_last_fixup() reports this CPU's last fixup. */
	cpumask_t one = cpumask_of_cpu(num_online_cpus() > 1 ? 1 : 0);
	struct thread *th = kthread_create("guard_probe", probe_own_stack, &probe, &one);
	KTEST_ASSERT_TRUE(t, th != NULL);
	thread_join(th);
	KTEST_EXPECT_TRUE(t, probe.kstack != NULL);
	KTEST_EXPECT_FALSE(t, probe.bottom_faulted);
	KTEST_EXPECT_TRUE(t, probe.below_faulted);
	KTEST_EXPECT_EQ(t, probe.below_error & PF_P, 0);
	ktest_log(t, "boot stack, boot CPU's %u IST stacks, %u APs' stacks and %u thread slots "
		  "guarded", IST_COUNT, n, slots);
}

/* The framebuffer, and only it, is write-combining (arch/x86_64/pat.h),
 * in 4 KiB pages; the pages next to it keep their type. */
static void test_framebuffer_write_combining(struct ktest *t)
{
	if (!boot_info.fb.present) {
		ktest_log(t, "no framebuffer");
		return;
	}
	u64 start = ALIGN_DOWN(boot_info.fb.addr, PAGE_SIZE);
	u64 end = ALIGN_UP(boot_info.fb.addr + (u64)boot_info.fb.pitch * boot_info.fb.height, PAGE_SIZE);
	enum pat_type want = pat_enabled ? PAT_WC : PAT_UC;
	u32 bad = 0;
	enum pt_level level;
	for (u64 pa = start; pa < end; pa += PAGE_SIZE) {
		u64 *e = paging_lookup(DIRECT_MAP_BASE + pa, &level);
		bad += !e || level != PT_PTE || pat_type_of(*e, false) != want;
	}
	KTEST_EXPECT_EQ(t, bad, 0);
	u64 *after = paging_lookup(DIRECT_MAP_BASE + end, &level);
	if (after)
		KTEST_EXPECT_NE(t, (u64)pat_type_of(*after, level != PT_PTE), (u64)PAT_WC);
	ktest_log(t, "%lu framebuffer pages, PAT %s", (end - start) / PAGE_SIZE,
		  pat_enabled ? "on" : "absent");
}

static u64 leaf_size(enum pt_level level)
{
	return level == PT_PUD ? 1UL << 30 : level == PT_PMD ? 1UL << 21 : PAGE_SIZE;
}

/* One RAM range: every page mapped write-back, global, NX, and wholly
 * inside the range; returns the rule breakers. */
static u64 check_ram_range(const struct phys_range *r, u64 *pages)
{
	u64 bad = 0;
	for (u64 pa = r->start; pa < r->end;) {
		enum pt_level level;
		u64 *e = paging_lookup(DIRECT_MAP_BASE + pa, &level);
		if (!e)
			return bad + 1;
		u64 size = leaf_size(level), base = ALIGN_DOWN(pa, size);
		bad += base < r->start || base + size > r->end;
		bad += pat_type_of(*e, level != PT_PTE) != PAT_WB;
		bad += !(*e & PTE_G) || (paging_features.nx && !(*e & PTE_NX));
		(*pages)++;
		pa = base + size;
	}
	return bad;
}

/* The direct map (mm/direct_map.h): RAM only, write-back, no large page
 * across a boundary between RAM and anything else; the page past each
 * RAM range is unmapped or a 4 KiB page of its own (a device ioremapped
 * with its type, or firmware tables). */
static void test_direct_map(struct ktest *t)
{
	static struct phys_range r[BOOT_MAX_MMAP];
	u32 n = direct_map_ranges(boot_info.mmap, boot_info.nr_mmap, r, BOOT_MAX_MMAP);
	KTEST_ASSERT_TRUE(t, n > 0 && n <= BOOT_MAX_MMAP);
	u64 bad = 0, pages = 0, above = 0;
	for (u32 i = 0; i < n; i++) {
		bad += check_ram_range(&r[i], &pages);
		enum pt_level level;
		u64 *next = paging_lookup(DIRECT_MAP_BASE + r[i].end, &level);
		KTEST_EXPECT_TRUE(t, !next || level == PT_PTE || r[i].end >= max_pfn << PAGE_SHIFT);
		if (r[i].end > 0x100000000UL)
			above += r[i].end - MAX(r[i].start, 0x100000000UL);
	}
	KTEST_EXPECT_EQ(t, bad, 0);
	/* The MMIO hole below 4 GiB is not RAM: 0xFEC00000 (the I/O APIC)
	 * is mapped only as the device, uncached, in a 4 KiB page. */
	enum pt_level level;
	u64 *io = paging_lookup(DIRECT_MAP_BASE + 0xFEC00000UL, &level);
	if (io) {
		KTEST_EXPECT_EQ(t, (unsigned)level, (unsigned)PT_PTE);
		KTEST_EXPECT_EQ(t, (u64)pat_type_of(*io, false), (u64)PAT_UC);
	}
	if (above) {
		/* Touch the last page of RAM through the direct map. */
		volatile u64 *w = page_address(pfn_to_page(max_pfn - 1));
		KTEST_EXPECT_FALSE(t, read_faults((volatile u8 *)w));
	}
	ktest_log(t, "%u RAM ranges in %lu pages, all write-back; %lu MiB above 4 GiB", n, pages,
		  above >> 20);
}

/* One memory type per physical page (mm/ioremap.h): RAM is write-back and
 * cannot be had uncached or write-combining; a device page keeps the type
 * it was first mapped with. */
static void test_ioremap_one_type_per_page(struct ktest *t)
{
	struct page *p = alloc_page(0);
	KTEST_ASSERT_TRUE(t, p != NULL);
	u64 pa = page_to_phys(p);
	KTEST_EXPECT_TRUE(t, ioremap_cache(pa, PAGE_SIZE) == page_address(p));
	KTEST_EXPECT_TRUE(t, ioremap_wc(pa, PAGE_SIZE) == NULL);
	KTEST_EXPECT_TRUE(t, ioremap_uc(pa, 16) == NULL);
	free_page(p);
	u64 ioapic = acpi_info.nr_ioapics ? acpi_info.ioapic[0].phys : 0;
	if (ioapic) {
		KTEST_EXPECT_TRUE(t, ioremap_uc(ioapic, 0x20) == phys_to_virt(ioapic));
		KTEST_EXPECT_TRUE(t, ioremap_cache(ioapic, 0x20) == NULL);
	}
	if (boot_info.fb.present && pat_enabled) {
		KTEST_EXPECT_TRUE(t, ioremap_wc(boot_info.fb.addr, PAGE_SIZE) != NULL);
		KTEST_EXPECT_TRUE(t, ioremap_uc(boot_info.fb.addr, PAGE_SIZE) == NULL);
	}
}

/* iounmap: a page shared by two ioremaps stays until both are undone;
 * then it is gone on every CPU (the entry is global: without the flush
 * IPI another CPU keeps reading through its stale translation, which
 * neg-iounmap-local-flush shows), and may be mapped with another type. The
 * legacy VGA window at 0xA0000 is device memory on every PC, never RAM,
 * and reading it is harmless. */
struct iounmap_probe {
	volatile u8 *va;
	u32 stage;              /* 1: primed; 2: unmapped; 3: done */
	bool faulted_before, faulted_after;
};

static void iounmap_remote_reader(void *arg)
{
	struct iounmap_probe *p = arg;
	p->faulted_before = read_faults(p->va);         /* now in this CPU's TLB */
	__atomic_store_n(&p->stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&p->stage, __ATOMIC_ACQUIRE) != 2)
		cpu_relax();    /* interrupts on: the flush IPI gets in */
	p->faulted_after = read_faults(p->va);
}

static void test_iounmap(struct ktest *t)
{
	const u64 pa = 0xA0000;
	enum pt_level level;
	volatile u8 *va = phys_to_virt(pa);
	KTEST_ASSERT_TRUE(t, paging_lookup((u64)va, &level) == NULL);
	KTEST_ASSERT_TRUE(t, ioremap_uc(pa, 2 * PAGE_SIZE) == va);
	KTEST_EXPECT_TRUE(t, ioremap_uc(pa, PAGE_SIZE) == va);         /* a second user */
	iounmap(va, PAGE_SIZE);
	KTEST_EXPECT_TRUE(t, paging_lookup((u64)va, &level) != NULL);  /* one left */
	KTEST_EXPECT_TRUE(t, ioremap_wc(pa, PAGE_SIZE) == NULL);       /* still UC */

	u32 other = ktest_other_cpu(smp_processor_id());
	struct iounmap_probe probe = { .va = va };
	struct thread *th = NULL;
	if (other < NR_CPUS) {
		th = kthread_create("iounmap_probe", iounmap_remote_reader, &probe,
				    cpumask_of(other));
		KTEST_ASSERT_TRUE(t, th != NULL);
		while (__atomic_load_n(&probe.stage, __ATOMIC_ACQUIRE) != 1)
			cpu_relax();
	}
	iounmap(va, 2 * PAGE_SIZE);
	KTEST_EXPECT_TRUE(t, paging_lookup((u64)va, &level) == NULL);
	KTEST_EXPECT_TRUE(t, paging_lookup((u64)va + PAGE_SIZE, &level) == NULL);
	KTEST_EXPECT_TRUE(t, read_faults(va));
	if (th) {
		__atomic_store_n(&probe.stage, 2, __ATOMIC_RELEASE);
		thread_join(th);
		KTEST_EXPECT_FALSE(t, probe.faulted_before);
		KTEST_EXPECT_TRUE(t, probe.faulted_after);
	} else {
		ktest_log(t, "one CPU: no remote translation to check");
	}
	/* Unmapped, the page may take another type; undone again. */
	KTEST_EXPECT_TRUE(t, ioremap_wc(pa, PAGE_SIZE) == va);
	iounmap(va, PAGE_SIZE);
	KTEST_EXPECT_TRUE(t, paging_lookup((u64)va, &level) == NULL);
	/* RAM is never unmapped by iounmap. */
	struct page *p = alloc_page(GFP_KERNEL);
	KTEST_ASSERT_TRUE(t, p != NULL);
	KTEST_EXPECT_TRUE(t, ioremap_cache(page_to_phys(p), PAGE_SIZE) == page_address(p));
	iounmap(page_address(p), PAGE_SIZE);
	KTEST_EXPECT_TRUE(t, paging_lookup((u64)page_address(p), &level) != NULL);
	free_page(p);
}

static void test_kernel_root_layout(struct ktest *t)
{
	u64 *root = phys_to_virt(kernel_root_phys);
	KTEST_EXPECT_EQ(t, read_cr3() & PTE_ADDR_MASK, kernel_root_phys);
	unsigned used_low = 0;
	for (unsigned i = 0; i < 256; i++)
		used_low += (root[i] & PTE_P) != 0;
	KTEST_EXPECT_EQ(t, used_low, 0);                /* lower half: for user space */
	enum pt_level level;
	u64 *e = paging_lookup((u64)__data_start, &level);
	KTEST_ASSERT_TRUE(t, e != NULL);
	KTEST_EXPECT_EQ(t, *e & (PTE_W | PTE_G), PTE_W | PTE_G);
	if (paging_features.nx)
		KTEST_EXPECT_EQ(t, *e & PTE_NX, PTE_NX);
	u64 cr4 = read_cr4();
	KTEST_EXPECT_EQ(t, (cr4 >> 7) & 1, paging_features.pge);
	KTEST_EXPECT_EQ(t, (cr4 >> 20) & 1, paging_features.smep);
	KTEST_EXPECT_EQ(t, (cr4 >> 21) & 1, paging_features.smap);
	KTEST_EXPECT_EQ(t, (rdmsr(MSR_EFER) >> 11) & 1, paging_features.nx);
}

static void test_pagetable_pages_counted(struct ktest *t)
{
	struct mm_counters c;
	mm_counters_read(&c);
	s64 before = c.stat[NR_PAGETABLE];
	struct page *p = pagetable_alloc();
	KTEST_ASSERT_TRUE(t, p != NULL);
	KTEST_EXPECT_TRUE(t, p->flags & PG_pagetable);
	mm_counters_read(&c);
	KTEST_EXPECT_EQ(t, c.stat[NR_PAGETABLE], before + 1);
	pagetable_free(p);
	mm_counters_read(&c);
	KTEST_EXPECT_EQ(t, c.stat[NR_PAGETABLE], before);
}

static const struct ktest_case paging_cases[] = {
	{ "text_not_writable", test_text_not_writable },
	{ "rodata_not_writable", test_rodata_not_writable },
	{ "data_not_executable", test_data_not_executable },
	{ "stack_guards_unmapped", test_stack_guards_unmapped },
	{ "direct_map", test_direct_map },
	{ "framebuffer_write_combining", test_framebuffer_write_combining },
	{ "ioremap_one_type_per_page", test_ioremap_one_type_per_page },
	{ "iounmap", test_iounmap },
	{ "kernel_root_layout", test_kernel_root_layout },
	{ "pagetable_pages_counted", test_pagetable_pages_counted },
};
KTEST_SUITE(paging, paging_cases);
