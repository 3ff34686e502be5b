/* SPDX-License-Identifier: MIT */
/* mm/memmap.c - the memory map and reserved ranges; see memmap.h. */
#include "mm/memmap.h"
#include "mm/page.h"
#include "kernel/bootinfo.h"
#include "kernel/printk.h"

struct mem_range reserved[MAX_RESERVED];
u32 nr_reserved;

/* Linker symbols (linker.ld): physical extent of the whole image, .bss
 * (boot page tables and stacks) included. */
extern char __kernel_phys_start[], __kernel_phys_end[];

#define LOW_MEMORY_END 0x100000UL       /* 1 MiB */

void memmap_reserve(u64 start, u64 end, const char *what)
{
	start = ALIGN_DOWN(start, PAGE_SIZE);
	end = ALIGN_UP(end, PAGE_SIZE);
	if (end <= start)
		return;
	/* Pieces taken one after the other for the same purpose (the page
	 * descriptors, mm/sparse.h) are usually adjacent: one entry. */
	if (nr_reserved && reserved[nr_reserved - 1].what == what &&
	    reserved[nr_reserved - 1].end == start) {
		reserved[nr_reserved - 1].end = end;
		return;
	}
	if (nr_reserved == MAX_RESERVED)
		panic("mm: more than %d reserved ranges (adding %s)", MAX_RESERVED, what);
	reserved[nr_reserved++] = (struct mem_range){ start, end, what };
}

static const char *mmap_type_name(u32 type)
{
	switch (type) {
	case MMAP_AVAILABLE: return "available";
	case MMAP_RESERVED: return "reserved";
	case MMAP_ACPI_RECLAIMABLE: return "ACPI reclaimable";
	case MMAP_ACPI_NVS: return "ACPI NVS";
	case MMAP_BAD: return "bad memory";
	default: return "unknown";
	}
}

void memmap_init(void)
{
	nr_reserved = 0;
	if (boot_info.nr_mmap == 0)
		panic("mm: the boot loader gave no memory map; Pagoda cannot tell RAM from holes");
	/* BIOS data, the EBDA, option ROMs, and the AP trampoline all live
	 * below 1 MiB; like Linux, never allocate from there. */
	memmap_reserve(0, LOW_MEMORY_END, "low 1 MiB");
	memmap_reserve((u64)__kernel_phys_start, (u64)__kernel_phys_end, "kernel image");
	for (u32 i = 0; i < boot_info.nr_modules; i++)
		memmap_reserve(boot_info.modules[i].start, boot_info.modules[i].end, "module");
	/* Kept: boot_info.rsdp_phys points into it. A few KiB. */
	memmap_reserve(boot_info.info_phys, boot_info.info_phys + boot_info.info_size,
		       "multiboot2 info");
	if (boot_info.fb.present)
		memmap_reserve(boot_info.fb.addr,
			       boot_info.fb.addr + (u64)boot_info.fb.pitch * boot_info.fb.height,
			       "framebuffer");
	/* Anything not plain RAM, in case the map lists it overlapping RAM. */
	for (u32 i = 0; i < boot_info.nr_mmap; i++) {
		const struct boot_mmap_entry *e = &boot_info.mmap[i];
		if (e->type != MMAP_AVAILABLE && e->length != 0 &&
		    e->base < (memmap_ram_end_pfn() << PAGE_SHIFT))
			memmap_reserve(e->base, e->base + e->length, mmap_type_name(e->type));
	}
}

u64 memmap_ram_end_pfn(void)
{
	u64 end = 0;
	for (u32 i = 0; i < boot_info.nr_mmap; i++) {
		const struct boot_mmap_entry *e = &boot_info.mmap[i];
		if (e->type == MMAP_AVAILABLE && e->base + e->length > end)
			end = e->base + e->length;
	}
	return end >> PAGE_SHIFT;
}

u64 memmap_highest_addr(void)
{
	u64 end = 0;
	for (u32 i = 0; i < boot_info.nr_mmap; i++) {
		const struct boot_mmap_entry *e = &boot_info.mmap[i];
		if ((e->type == MMAP_AVAILABLE || e->type == MMAP_ACPI_RECLAIMABLE ||
		     e->type == MMAP_ACPI_NVS) && e->base + e->length > end)
			end = e->base + e->length;
	}
	return end;
}

/* The reserved range overlapping [start, end) that starts first, or NULL. */
static const struct mem_range *first_overlap(u64 start, u64 end)
{
	const struct mem_range *best = NULL;
	for (u32 i = 0; i < nr_reserved; i++) {
		const struct mem_range *r = &reserved[i];
		if (r->start < end && r->end > start && (!best || r->start < best->start))
			best = r;
	}
	return best;
}

/* Walk the free parts of available RAM: the available entries minus the
 * reserved table. fn gets page-aligned [start, end) in bytes; returning true
 * stops the walk. */
static bool walk_free(bool (*fn)(u64 start, u64 end, void *arg), void *arg)
{
	for (u32 i = 0; i < boot_info.nr_mmap; i++) {
		const struct boot_mmap_entry *e = &boot_info.mmap[i];
		if (e->type != MMAP_AVAILABLE)
			continue;
		u64 cur = ALIGN_UP(e->base, PAGE_SIZE);
		u64 end = ALIGN_DOWN(e->base + e->length, PAGE_SIZE);
		while (cur < end) {
			const struct mem_range *r = first_overlap(cur, end);
			if (!r) {
				if (fn(cur, end, arg))
					return true;
				break;
			}
			if (r->start > cur && fn(cur, r->start, arg))
				return true;
			cur = MAX(cur, r->end);
		}
	}
	return false;
}

struct early_req {
	u64 size, align, lo, hi, found;
};

static bool early_try(u64 start, u64 end, void *arg)
{
	struct early_req *req = arg;
	start = MAX(start, req->lo);
	end = MIN(end, req->hi);
	u64 a = ALIGN_UP(start, req->align);
	if (a < end && end - a >= req->size) {
		req->found = a;
		return true;
	}
	return false;
}

u64 early_alloc_range(u64 size, u64 align, u64 lo, u64 hi, const char *what)
{
	struct early_req req = { ALIGN_UP(size, PAGE_SIZE), MAX(align, PAGE_SIZE), lo, hi, 0 };
	if (!walk_free(early_try, &req))
		return 0;
	memmap_reserve(req.found, req.found + req.size, what);
	return req.found;
}

u64 early_alloc(u64 size, u64 align, const char *what)
{
	return early_alloc_range(size, align, 0, FOUR_GIB, what);
}

struct free_walk {
	void (*fn)(u64, u64);
};

static bool free_cb(u64 start, u64 end, void *arg)
{
	struct free_walk *w = arg;
	w->fn(start >> PAGE_SHIFT, end >> PAGE_SHIFT);
	return false;
}

void memmap_for_each_free(void (*fn)(u64 start_pfn, u64 end_pfn))
{
	struct free_walk w = { fn };
	walk_free(free_cb, &w);
}

void memmap_print(void)
{
	pr_info("mm: memory map from the boot loader:\n");
	for (u32 i = 0; i < boot_info.nr_mmap; i++) {
		const struct boot_mmap_entry *e = &boot_info.mmap[i];
		pr_info("  [0x%012lx-0x%012lx) %s\n", e->base, e->base + e->length,
			mmap_type_name(e->type));
	}
	pr_info("mm: reserved ranges:\n");
	for (u32 i = 0; i < nr_reserved; i++)
		pr_info("  [0x%012lx-0x%012lx) %s\n", reserved[i].start, reserved[i].end,
			reserved[i].what);
}
