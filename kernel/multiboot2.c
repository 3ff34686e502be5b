/* SPDX-License-Identifier: MIT */
/* kernel/multiboot2.c - parse the Multiboot2 boot information into boot_info.
 * Tag numbers and layouts are those of the Multiboot2 specification. */
#include "kernel/bootinfo.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "arch/x86_64/cpu.h"

#define MB2_BOOTLOADER_MAGIC 0x36D76289

#define TAG_END 0
#define TAG_CMDLINE 1
#define TAG_LOADER_NAME 2
#define TAG_MODULE 3
#define TAG_MMAP 6
#define TAG_FRAMEBUFFER 8
#define TAG_EFI64 12
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15
#define TAG_EFI_MMAP 17

struct boot_info boot_info;

struct mb2_tag {
	u32 type;
	u32 size;
};

/* One module: its range and its string "NAME ARG..." (bootinfo.h). A
 * module whose string or name does not fit is left out with a warning, so
 * run=NAME then says there is no such module. */
static void parse_module(const u8 *tag)
{
	const char *str = (const char *)tag + 16;
	if (boot_info.nr_modules == BOOT_MAX_MODULES) {
		pr_warn("multiboot2: more than %d modules; the rest are ignored\n", BOOT_MAX_MODULES);
		return;
	}
	while (*str == ' ')
		str++;
	u64 name_len = 0;
	while (str[name_len] && str[name_len] != ' ')
		name_len++;
	struct boot_module *m = &boot_info.modules[boot_info.nr_modules];
	if (strlen(str) >= sizeof(m->cmdline) || name_len >= sizeof(m->name)) {
		pr_warn("multiboot2: module string longer than %lu bytes (or a name longer than %lu); ignored: %s\n",
			sizeof(m->cmdline) - 1, sizeof(m->name) - 1, str);
		return;
	}
	m->start = *(const u32 *)(tag + 8);
	m->end = *(const u32 *)(tag + 12);
	strlcpy(m->cmdline, str, sizeof(m->cmdline));
	memcpy(m->name, str, name_len);
	m->name[name_len] = 0;
	boot_info.nr_modules++;
}

static void parse_mmap(const u8 *tag, u32 size)
{
	u32 entry_size = *(const u32 *)(tag + 8);
	if (entry_size < 24)
		return;
	for (u32 off = 16; off + entry_size <= size; off += entry_size) {
		if (boot_info.nr_mmap == BOOT_MAX_MMAP) {
			pr_warn("multiboot2: memory map has more than %d entries; the rest are ignored\n",
				BOOT_MAX_MMAP);
			return;
		}
		const u8 *e = tag + off;
		struct boot_mmap_entry *m = &boot_info.mmap[boot_info.nr_mmap++];
		m->base = *(const u64 *)(e + 0);
		m->length = *(const u64 *)(e + 8);
		m->type = *(const u32 *)(e + 16);
	}
}

static void parse_framebuffer(const u8 *tag)
{
	struct boot_framebuffer *fb = &boot_info.fb;
	fb->addr = *(const u64 *)(tag + 8);
	fb->pitch = *(const u32 *)(tag + 16);
	fb->width = *(const u32 *)(tag + 20);
	fb->height = *(const u32 *)(tag + 24);
	fb->bpp = tag[28];
	fb->type = tag[29];
	if (fb->type == FB_TYPE_RGB) {
		const u8 *c = tag + 32;     /* after the 16-bit reserved field at 30 */
		fb->red_pos = c[0];
		fb->red_size = c[1];
		fb->green_pos = c[2];
		fb->green_size = c[3];
		fb->blue_pos = c[4];
		fb->blue_size = c[5];
	}
	fb->present = true;
}

int multiboot2_parse(u32 magic, u64 info_phys)
{
	if (magic != MB2_BOOTLOADER_MAGIC) {
		pr_err("Pagoda was not started by a Multiboot2 loader (magic %x)\n", magic);
		return -1;
	}
	const u8 *info = phys_to_virt(info_phys);
	u32 total = *(const u32 *)info;
	boot_info.info_phys = info_phys;
	boot_info.info_size = total;

	for (u32 off = 8; off + 8 <= total;) {
		const u8 *tag = info + off;
		const struct mb2_tag *t = (const struct mb2_tag *)tag;
		if (t->type == TAG_END)
			break;
		switch (t->type) {
		case TAG_CMDLINE:
			strlcpy(boot_info.cmdline, (const char *)tag + 8, sizeof(boot_info.cmdline));
			break;
		case TAG_LOADER_NAME:
			strlcpy(boot_info.loader, (const char *)tag + 8, sizeof(boot_info.loader));
			break;
		case TAG_MODULE:
			parse_module(tag);
			break;
		case TAG_MMAP:
			parse_mmap(tag, t->size);
			break;
		case TAG_FRAMEBUFFER:
			parse_framebuffer(tag);
			break;
		case TAG_EFI64:
		case TAG_EFI_MMAP:
			boot_info.efi = true;
			break;
		case TAG_ACPI_OLD:
		case TAG_ACPI_NEW:
			/* Prefer the 2.0+ copy (it has the XSDT address). */
			if (t->type == TAG_ACPI_NEW || boot_info.rsdp_phys == 0) {
				u32 len = t->size - 8;
				if (len > sizeof(boot_info.rsdp))
					len = sizeof(boot_info.rsdp);
				memcpy(boot_info.rsdp, tag + 8, len);
				boot_info.rsdp_len = len;
				boot_info.rsdp_phys = info_phys + off + 8;
			}
			break;
		default:
			break;
		}
		off += ALIGN_UP(t->size, 8);
	}
	return 0;
}
