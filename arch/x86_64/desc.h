/* SPDX-License-Identifier: MIT */
/* arch/x86_64/desc.h - GDT, TSS and IDT layouts and selectors. */
#ifndef PAGODA_DESC_H
#define PAGODA_DESC_H

#include "kernel/types.h"

/* Selectors. The order (kernel code, kernel data, user data, user code) is
 * what SYSCALL/SYSRET require; user segments are used from [process] on. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define TSS_SEL 0x28
#define GDT_ENTRIES 7           /* null, kcode, kdata, udata, ucode, tss (2 slots) */

/* Interrupt Stack Table slots: these exceptions get a known-good stack even
 * if the current one is corrupt or overflowed into its guard page. */
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3
#define IST_COUNT 3
#define IST_STACK_SIZE 8192

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

struct idt_entry {
	u16 offset_low;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_high;
	u32 zero;
} __packed;

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

struct cpu;
/* Set by the command line's trap_debug_gs_from_cs (a negative control):
 * the paranoid entry (isr.asm) then trusts CS like the other vectors. */
extern bool trap_debug_gs_from_cs;

/* Give c its IST stacks (c->ist_stack_top): the boot CPU's static ones,
 * or pages mapped in the kernel stack area (mm/kstack.h) for an AP, done
 * by the boot CPU before it starts the AP. False when there is no memory. */
bool ist_stacks_prepare(struct cpu *c);
/* Build and load this CPU's GDT and TSS (with the IST stacks
 * ist_stacks_prepare gave it) and the shared IDT. */
void gdt_init_cpu(struct cpu *c);
void idt_init(void);            /* once, on the boot CPU: fill the table */
void idt_load(void);            /* every CPU */
/* The page below IST stack ist (0-based) of cpu: the boot CPU's, which
 * mm/paging.c unmaps, or a guard in the kernel stack area, never mapped. */
void *ist_stack_guard(u32 cpu, u32 ist);

#endif
