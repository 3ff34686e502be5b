/* SPDX-License-Identifier: MIT */
/* arch/x86_64/desc.c - per-CPU GDT and TSS, and the one IDT all CPUs share. */
#include "arch/x86_64/desc.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/trap.h"
#include "kernel/string.h"
#include "kernel/cmdline.h"
#include "mm/kstack.h"

/* Negative control for the paranoid entry (isr.asm): with
 * trap_debug_gs_from_cs on the command line, NMI, double fault and machine
 * check decide from CS, like every other vector, whether GS needs a swap. */
bool trap_debug_gs_from_cs;

static struct idt_entry idt[256] __aligned(16);
extern const u64 isr_stub_table[256];

/* The boot CPU's IST stacks are static: it needs them before the page
 * allocator exists. Each has a guard page below it, which mm/paging.c
 * unmaps: an overflow faults instead of running into the next stack. The
 * other CPUs' IST stacks are mapped when each is started
 * (ist_stacks_prepare), in the kernel stack area (mm/kstack.h), whose
 * guard pages are never mapped. */
struct ist_stack {
	u8 guard[4096];
	u8 stack[IST_STACK_SIZE];
};
static struct ist_stack boot_ist_stacks[IST_COUNT] __aligned(4096);

_Static_assert(IST_COUNT <= KSTACK_NR_IST, "mm/kstack.h has a slot for each IST stack");

void *ist_stack_guard(u32 cpu, u32 ist)
{
	if (cpu == 0)
		return boot_ist_stacks[ist].guard;
	return kstack_guard(KSTACK_SLOT_IST(cpu, ist));
}

/* The top 16 bytes of each IST stack hold this CPU's struct cpu pointer
 * (and padding, keeping the stack 16-byte aligned) for the paranoid entry
 * (isr.asm), which cannot trust GS. */
static void set_ist_top(struct cpu *c, u32 ist, u8 *stack)
{
	u64 *top = (u64 *)&stack[IST_STACK_SIZE];
	top[-2] = (u64)c;
	top[-1] = 0;
	c->ist_stack_top[ist] = &top[-2];
}

bool ist_stacks_prepare(struct cpu *c)
{
	for (u32 i = 0; i < IST_COUNT; i++) {
		u8 *stack = c->id == 0 ? boot_ist_stacks[i].stack
				       : kstack_map(KSTACK_SLOT_IST(c->id, i), IST_STACK_SIZE);
		if (!stack)
			return false;
		set_ist_top(c, i, stack);
	}
	return true;
}

static u64 segment_desc(bool code, unsigned dpl)
{
	/* Long mode ignores base and limit; only type, DPL, P and L matter. */
	u64 d = (1UL << 47) | (1UL << 44) | ((u64)dpl << 45);
	if (code)
		d |= (1UL << 43) | (1UL << 53) | (1UL << 41);   /* code, L, readable */
	else
		d |= (1UL << 41);                                /* writable */
	return d;
}

void gdt_init_cpu(struct cpu *c)
{
	memset(&c->tss, 0, sizeof(c->tss));
	for (int i = 0; i < IST_COUNT; i++)
		c->tss.ist[i] = (u64)c->ist_stack_top[i];   /* ist_stacks_prepare */
	c->tss.iomap_base = sizeof(struct tss);   /* no I/O bitmap */

	c->gdt[0] = 0;
	c->gdt[1] = segment_desc(true, 0);
	c->gdt[2] = segment_desc(false, 0);
	c->gdt[3] = segment_desc(false, 3);
	c->gdt[4] = segment_desc(true, 3);
	u64 base = (u64)&c->tss;
	u64 limit = sizeof(struct tss) - 1;
	c->gdt[5] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89UL << 40) |
		    (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
	c->gdt[6] = base >> 32;

	struct desc_ptr p = { .limit = sizeof(c->gdt) - 1, .base = (u64)c->gdt };
	__asm__ __volatile__(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %w2, %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%ss\n\t"
		"ltr %w3\n\t"
		:
		: "m"(p), "i"(KERNEL_CS), "r"(KERNEL_DS), "r"(TSS_SEL)
		: "rax", "memory");
}

static void idt_set(u8 vec, u64 handler, u8 ist, u8 dpl)
{
	struct idt_entry *e = &idt[vec];
	e->offset_low = handler & 0xFFFF;
	e->selector = KERNEL_CS;
	e->ist = ist;
	e->type_attr = 0x8E | (dpl << 5);      /* present, interrupt gate */
	e->offset_mid = (handler >> 16) & 0xFFFF;
	e->offset_high = handler >> 32;
	e->zero = 0;
}

void idt_init(void)
{
	cmdline_debug_switch("trap", "trap_debug_gs_from_cs", &trap_debug_gs_from_cs,
			     "NMI, double fault and machine check trust CS to choose the GS base");
	for (int v = 0; v < 256; v++)
		idt_set((u8)v, isr_stub_table[v], 0, 0);
	idt_set(2, isr_stub_table[2], IST_NMI, 0);
	idt_set(8, isr_stub_table[8], IST_DOUBLE_FAULT, 0);
	idt_set(18, isr_stub_table[18], IST_MACHINE_CHECK, 0);
	/* int3 and into may be executed by user code (DPL 3, as Linux's
	 * system interrupt gates): a SIGTRAP or SIGSEGV rather than a #GP. */
	idt_set(3, isr_stub_table[3], 0, 3);
	idt_set(4, isr_stub_table[4], 0, 3);
}

void idt_load(void)
{
	struct desc_ptr p = { .limit = sizeof(idt) - 1, .base = (u64)idt };
	__asm__ __volatile__("lidt %0" : : "m"(p));
}
