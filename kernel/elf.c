/* SPDX-License-Identifier: MIT */
/* kernel/elf.c - ELF64 header and program-header checks. Field offsets are
 * those of the System V ABI (ELF-64 object file format). Every read is
 * bounds-checked against the file size first: the file comes from outside. */
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "mm/user_layout.h"     /* USER_SPACE_END */

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2
#define PF_R 4
#define PAGE 4096UL

struct elf64_ehdr {
	u8 ident[EI_NIDENT];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};

/* a + b <= limit, without overflow. */
static bool fits(u64 a, u64 b, u64 limit)
{
	return a <= limit && b <= limit - a;
}

int elf_parse(const void *file, u64 size, struct elf_image *out)
{
	const u8 *bytes = file;
	if (size < sizeof(struct elf64_ehdr))
		return -ENOEXEC;
	const struct elf64_ehdr *eh = file;
	if (bytes[0] != 0x7F || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F')
		return -ENOEXEC;
	if (eh->ident[4] != ELFCLASS64 || eh->ident[5] != ELFDATA2LSB || eh->ident[6] != EV_CURRENT)
		return -ENOEXEC;
	/* Static, non-PIE executables only: that is what user/ builds. */
	if (eh->type != ET_EXEC || eh->machine != EM_X86_64 || eh->version != EV_CURRENT)
		return -ENOEXEC;
	if (eh->phentsize != sizeof(struct elf64_phdr) || eh->phnum == 0)
		return -ENOEXEC;
	if (!fits(eh->phoff, (u64)eh->phnum * sizeof(struct elf64_phdr), size))
		return -ENOEXEC;
	if (eh->phoff % 8)
		return -ENOEXEC;

	struct elf_image img = { .entry = eh->entry, .lowest = ~0UL, .highest = 0 };
	const struct elf64_phdr *ph = (const struct elf64_phdr *)(bytes + eh->phoff);
	bool entry_in_exec = false;
	for (u32 i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD || ph[i].memsz == 0)
			continue;
		const struct elf64_phdr *p = &ph[i];
		if (img.nr_segments == ELF_MAX_SEGMENTS)
			return -ENOEXEC;
		if (p->filesz > p->memsz || !fits(p->offset, p->filesz, size))
			return -ENOEXEC;
		/* The file offset and the address must agree modulo a page, so
		 * the loader can copy page by page. */
		if ((p->offset % PAGE) != (p->vaddr % PAGE))
			return -ENOEXEC;
		if (p->vaddr < PAGE || !fits(p->vaddr, p->memsz, USER_SPACE_END))
			return -EINVAL;
		struct elf_segment *s = &img.seg[img.nr_segments++];
		s->vaddr = p->vaddr;
		s->memsz = p->memsz;
		s->filesz = p->filesz;
		s->offset = p->offset;
		s->prot = ((p->flags & PF_R) ? SEG_READ : 0) | ((p->flags & PF_W) ? SEG_WRITE : 0) |
			  ((p->flags & PF_X) ? SEG_EXEC : 0);
		u64 lo = ALIGN_DOWN(p->vaddr, PAGE);
		u64 hi = ALIGN_UP(p->vaddr + p->memsz, PAGE);
		if (hi > USER_SPACE_END)
			return -EINVAL;
		/* Segments must not overlap each other (page granularity). */
		for (u32 j = 0; j + 1 < img.nr_segments; j++) {
			u64 olo = ALIGN_DOWN(img.seg[j].vaddr, PAGE);
			u64 ohi = ALIGN_UP(img.seg[j].vaddr + img.seg[j].memsz, PAGE);
			if (lo < ohi && olo < hi)
				return -EINVAL;
		}
		if (lo < img.lowest)
			img.lowest = lo;
		if (hi > img.highest)
			img.highest = hi;
		if ((s->prot & SEG_EXEC) && eh->entry >= p->vaddr && eh->entry - p->vaddr < p->memsz)
			entry_in_exec = true;
	}
	if (img.nr_segments == 0 || !entry_in_exec)
		return -ENOEXEC;
	*out = img;
	return 0;
}
