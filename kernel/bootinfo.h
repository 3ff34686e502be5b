/* SPDX-License-Identifier: MIT */
/* kernel/bootinfo.h - what GRUB told us, parsed once from the Multiboot2
 * information structure into fixed-size tables (kernel/multiboot2.c).
 *
 * Everything is copied out of GRUB's structure, so the memory it occupied can
 * be reused later; physical addresses of things still in use (modules, the
 * framebuffer, ACPI tables) are kept so mm/ can reserve them.
 */
#ifndef PAGODA_BOOTINFO_H
#define PAGODA_BOOTINFO_H

#include "kernel/types.h"

#define BOOT_MAX_MMAP 128
#define BOOT_MAX_MODULES 64
#define BOOT_MODULE_CMDLINE_MAX 256
#define BOOT_CMDLINE_MAX 512

/* Memory map entry types, as in Multiboot2 (and the E820 types). */
#define MMAP_AVAILABLE 1
#define MMAP_RESERVED 2
#define MMAP_ACPI_RECLAIMABLE 3
#define MMAP_ACPI_NVS 4
#define MMAP_BAD 5

struct boot_mmap_entry {
	u64 base;
	u64 length;
	u32 type;
};

/* A program loaded by "module2 /boot/bin/FILE NAME ARG...": GRUB passes
 * the words after the path as the module's string. name is its first word
 * (what run=NAME looks for); the whole string is the program's argv, split
 * on spaces (kernel/exec.c). A longer string is refused at parse time,
 * never cut: a cut argument would run the program with another argv. */
struct boot_module {
	u64 start;              /* physical, page-aligned (module-align tag) */
	u64 end;
	char cmdline[BOOT_MODULE_CMDLINE_MAX];  /* "NAME ARG..." */
	char name[64];          /* its first word */
};

/* Framebuffer types, as in Multiboot2. */
#define FB_TYPE_INDEXED 0
#define FB_TYPE_RGB 1
#define FB_TYPE_EGA_TEXT 2

struct boot_framebuffer {
	bool present;
	u64 addr;               /* physical */
	u32 pitch, width, height;
	u8 bpp, type;
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

struct boot_info {
	u64 info_phys, info_size;      /* GRUB's structure itself */
	char cmdline[BOOT_CMDLINE_MAX];
	char loader[64];
	u32 nr_mmap;
	struct boot_mmap_entry mmap[BOOT_MAX_MMAP];
	u32 nr_modules;
	struct boot_module modules[BOOT_MAX_MODULES];
	struct boot_framebuffer fb;
	u64 rsdp_phys;          /* 0 if GRUB gave none; else a copy in rsdp[] */
	u8 rsdp[64];
	u32 rsdp_len;
	bool efi;               /* booted through UEFI (GRUB passed an EFI tag) */
};

extern struct boot_info boot_info;

/* Returns 0, or -1 with a message if magic is wrong. */
int multiboot2_parse(u32 magic, u64 info_phys);

#endif
