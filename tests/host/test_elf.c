/* SPDX-License-Identifier: MIT */
// SOURCES: kernel/elf.c
/* Host tests for kernel/elf.c: a well-formed executable is described
 * exactly; each kind of malformed file is refused with the right errno. */
#include <string.h>
#include "tests/host/htest.h"
#include "kernel/elf.h"
#include "kernel/errno.h"

/* A file image: ELF header, two program headers, and some "code". */
static unsigned char file[0x3000];

struct ehdr {
	unsigned char ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static struct ehdr *eh(void) { return (struct ehdr *)file; }
static struct phdr *ph(int i) { return (struct phdr *)(file + 64 + 56 * i); }

static void make_good(void)
{
	memset(file, 0, sizeof(file));
	memcpy(eh()->ident, "\x7f" "ELF\x02\x01\x01", 7);
	eh()->type = 2;
	eh()->machine = 62;
	eh()->version = 1;
	eh()->entry = 0x401000;
	eh()->phoff = 64;
	eh()->ehsize = 64;
	eh()->phentsize = 56;
	eh()->phnum = 2;
	/* text: file 0x1000..0x1800 at 0x401000, R X */
	*ph(0) = (struct phdr){ 1, 5, 0x1000, 0x401000, 0x401000, 0x800, 0x800, 0x1000 };
	/* data+bss: file 0x2000..0x2100 at 0x402000, memsz 0x3000, R W */
	*ph(1) = (struct phdr){ 1, 6, 0x2000, 0x402000, 0x402000, 0x100, 0x3000, 0x1000 };
}

static int parse(struct elf_image *img) { return elf_parse(file, sizeof(file), img); }

HTEST(good_file_is_described)
{
	struct elf_image img;
	make_good();
	HT_EXPECT_EQ(parse(&img), 0);
	HT_EXPECT_EQ(img.entry, 0x401000);
	HT_EXPECT_EQ(img.nr_segments, 2);
	HT_EXPECT_EQ(img.seg[0].prot, SEG_READ | SEG_EXEC);
	HT_EXPECT_EQ(img.seg[1].prot, SEG_READ | SEG_WRITE);
	HT_EXPECT_EQ(img.seg[1].memsz, 0x3000);
	HT_EXPECT_EQ(img.lowest, 0x401000);
	HT_EXPECT_EQ(img.highest, 0x405000);
}

HTEST(bad_magic_class_type_machine)
{
	struct elf_image img;
	make_good(); file[1] = 'X';
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	make_good(); eh()->ident[4] = 1;               /* 32-bit */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	make_good(); eh()->type = 3;                   /* ET_DYN (PIE) */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	make_good(); eh()->machine = 3;                /* i386 */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	HT_EXPECT_EQ(elf_parse(file, 10, &img), -ENOEXEC);   /* truncated header */
}

HTEST(program_headers_outside_file)
{
	struct elf_image img;
	make_good(); eh()->phoff = sizeof(file) - 56;  /* second header past the end */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	make_good(); eh()->phoff = ~0ULL - 8;          /* offset + size overflows */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	make_good(); eh()->phentsize = 32;
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
}

HTEST(segment_checks)
{
	struct elf_image img;
	make_good(); ph(1)->filesz = 0x4000;           /* filesz > memsz */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	make_good(); ph(1)->offset = 0x2f00; ph(1)->vaddr = 0x402f00; ph(1)->filesz = 0x200; ph(1)->memsz = 0x200;
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);           /* data runs past the file */
	make_good(); ph(1)->vaddr = 0x402100;          /* offset and address disagree mod page */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	make_good(); ph(1)->vaddr = 0x00007ffffffff000ULL; ph(1)->offset = 0x2000; ph(1)->memsz = 0x3000;
	HT_EXPECT_EQ(parse(&img), -EINVAL);            /* past the end of user space */
	make_good(); ph(1)->vaddr = ~0ULL - 0xfff; ph(1)->offset = 0x2000;
	HT_EXPECT_EQ(parse(&img), -EINVAL);            /* address overflow */
	make_good(); ph(1)->vaddr = 0x401000 + 0x1000 - 0x1000; ph(1)->offset = 0x2000 - 0x1000;
	HT_EXPECT_EQ(parse(&img), -EINVAL);            /* overlaps the text segment */
	make_good(); ph(0)->vaddr = 0; ph(0)->offset = 0; eh()->entry = 0x10;
	HT_EXPECT_EQ(parse(&img), -EINVAL);            /* page zero stays unmapped */
}

HTEST(entry_must_be_in_executable_segment)
{
	struct elf_image img;
	make_good(); eh()->entry = 0x402000;            /* in the data segment */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
	make_good(); ph(0)->type = 4; ph(1)->type = 4;  /* no PT_LOAD at all */
	HT_EXPECT_EQ(parse(&img), -ENOEXEC);
}

int main(void)
{
	return htest_main("elf", (struct htest[]){
		HT_CASE(good_file_is_described),
		HT_CASE(bad_magic_class_type_machine),
		HT_CASE(program_headers_outside_file),
		HT_CASE(segment_checks),
		HT_CASE(entry_must_be_in_executable_segment),
		{ 0, 0 } });
}
