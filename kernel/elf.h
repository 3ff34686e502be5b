/* SPDX-License-Identifier: MIT */
/* kernel/elf.h - checking and describing a static ELF64 x86_64 executable.
 *
 * elf_parse() is a pure function over the file's bytes (host-tested in
 * tests/host/test_elf.c): it checks the header and every PT_LOAD program
 * header against the file size and the user address range, and fills a
 * fixed-size description that the loader (kernel/exec.c) maps. Anything it
 * does not accept gets a negative Linux errno (ENOEXEC for a malformed or
 * foreign file, EINVAL for a segment that would not fit in user space).
 */
#ifndef PAGODA_ELF_H
#define PAGODA_ELF_H

#include "kernel/types.h"

#define ELF_MAX_SEGMENTS 16

#define SEG_READ 1
#define SEG_WRITE 2
#define SEG_EXEC 4

struct elf_segment {
	u64 vaddr;              /* as in the file (may be unaligned) */
	u64 memsz;
	u64 filesz;
	u64 offset;             /* in the file */
	u32 prot;               /* SEG_READ | SEG_WRITE | SEG_EXEC */
};

struct elf_image {
	u64 entry;
	u32 nr_segments;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
	u64 lowest, highest;    /* page-rounded span of all segments */
};

/* Returns 0 or -ENOEXEC / -EINVAL; out is filled only on success. */
int elf_parse(const void *file, u64 size, struct elf_image *out);

#endif
