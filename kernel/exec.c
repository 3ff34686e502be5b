/* SPDX-License-Identifier: MIT */
/* kernel/exec.c - starting a program from a boot module, and the run=
 * command line.
 *
 * GRUB loads each program as a Multiboot2 module whose string is
 * "NAME ARG..." (docs/user-programs.md); exec_spawn(name) makes a process
 * of the module called NAME, with that string, split on spaces, as argv:
 *   1. elf_parse() checks the file and lists its PT_LOAD segments;
 *   2. mm_create() makes an empty address space; mm_map_segment() maps
 *      each segment (contents copied, .bss zeroed); mm_setup_stack() makes
 *      the stack VMA below USER_STACK_TOP; the break starts after the last
 *      segment;
 *   3. the System V initial stack (argc, argv, envp, auxv, the strings and
 *      AT_RANDOM's bytes) is laid out in a kernel page with the addresses
 *      it will have in user space;
 *   4. the process's first thread starts: in its own address space it
 *      copies that page onto its stack (copy_to_user faults the stack pages
 *      in) and enters user mode at the ELF entry point.
 */
#include "kernel/rcu.h"
#include "kernel/proc.h"
#include "kernel/elf.h"
#include "kernel/bootinfo.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/uaccess.h"
#include "kernel/time.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/desc.h"
#include "arch/x86_64/cpu.h"
#include "mm/mm.h"
#include "mm/buddy.h"
#include "mm/slab.h"

#define USER_STACK_TOP 0x00007ffffffff000UL
#define USER_STACK_SIZE (8UL << 20)     /* Linux's default RLIMIT_STACK */

/* Auxiliary vector types (Linux uapi linux/auxvec.h). */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31

static const struct boot_module *find_module(const char *name)
{
	for (u32 i = 0; i < boot_info.nr_modules; i++)
		if (!strcmp(boot_info.modules[i].name, name))
			return &boot_info.modules[i];
	return NULL;
}

bool boot_module_exists(const char *name)
{
	return find_module(name) != NULL;
}

/* A cheap source for AT_RANDOM: the TSC mixed (not cryptographic). */
static u64 mix64(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdUL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53UL;
	return x ^ (x >> 33);
}

/* Copy n bytes just below user address *pos (moving it down) into the
 * page that will become the top of the stack; returns the new *pos. */
static u64 push_bytes(u8 *page, u64 *pos, const void *src, u64 n)
{
	*pos -= n;
	memcpy(page + PAGE_SIZE - (USER_STACK_TOP - *pos), src, n);
	return *pos;
}

/* A module's string split into argv: words separated by spaces, no
 * quoting (a GRUB module line has none to offer). The words point into
 * the boot module's string, which lives for good. */
#define EXEC_MAX_ARGS 64
struct exec_args {
	u32 argc;
	const char *word[EXEC_MAX_ARGS];
	u32 len[EXEC_MAX_ARGS];
};

static int split_args(const char *s, struct exec_args *a)
{
	a->argc = 0;
	for (;;) {
		while (*s == ' ')
			s++;
		if (!*s)
			return 0;
		if (a->argc == EXEC_MAX_ARGS)
			return -E2BIG;  /* Linux's answer to too many arguments */
		u32 n = 0;
		while (s[n] && s[n] != ' ')
			n++;
		a->word[a->argc] = s;
		a->len[a->argc++] = n;
		s += n;
	}
}

/* The argument strings, NUL-terminated and contiguous, argv[0] lowest (as
 * Linux lays them out: /proc/PID/cmdline reads them as one block). Their
 * user addresses go to addr[]. */
static void push_arg_strings(u8 *page, u64 *pos, const struct exec_args *a, u64 *addr)
{
	u64 total = 0;
	for (u32 i = 0; i < a->argc; i++)
		total += a->len[i] + 1;
	*pos -= total;
	u64 at = *pos;
	for (u32 i = 0; i < a->argc; i++) {
		u8 *dst = page + PAGE_SIZE - (USER_STACK_TOP - at);
		memcpy(dst, a->word[i], a->len[i]);
		dst[a->len[i]] = 0;
		addr[i] = at;
		at += a->len[i] + 1;
	}
}

/* Where the program headers are in memory: inside the segment that maps
 * the file's start (static executables map their header). */
static u64 phdr_address(const struct elf_image *img, const u8 *file)
{
	u64 phoff = *(const u64 *)(file + 32);
	u16 phentsize = *(const u16 *)(file + 54), phnum = *(const u16 *)(file + 56);
	u64 phdr = 0;
	for (u32 i = 0; i < img->nr_segments; i++)
		if (img->seg[i].offset == 0 && phoff + (u64)phnum * phentsize <= img->seg[i].filesz)
			phdr = img->seg[i].vaddr + phoff;
	return phdr;
}

/* Lay out the System V initial stack in page (its last byte is
 * USER_STACK_TOP-1): from the top, the file name (AT_EXECFN), the argument
 * strings, the platform string and AT_RANDOM's bytes, then, 16-byte
 * aligned, argc, argv[], NULL, envp NULL, auxv. Returns the user stack
 * pointer (pointing at argc); *len gets the bytes to copy (from the
 * returned address up to USER_STACK_TOP). The module string is at most
 * BOOT_MODULE_CMDLINE_MAX bytes, so everything fits in the one page. */
static u64 build_stack(u8 *page, const char *name, const struct exec_args *args,
		       const struct elf_image *img, const u8 *file, u64 *len)
{
	u64 top = USER_STACK_TOP;
	u64 pos = top;
	u64 rnd[2] = { mix64(rdtsc()), mix64(rdtsc() ^ 0x5bd1e995) };
	u64 at_execfn = push_bytes(page, &pos, name, strlen(name) + 1);
	u64 argv[EXEC_MAX_ARGS + 1];
	push_arg_strings(page, &pos, args, argv);
	argv[args->argc] = 0;
	u64 at_platform = push_bytes(page, &pos, "x86_64", 7);
	u64 at_random = push_bytes(page, &pos, rnd, 16);
	pos &= ~15UL;

	u16 phentsize = *(const u16 *)(file + 54), phnum = *(const u16 *)(file + 56);
	u64 auxv[][2] = {
		{ AT_PHDR, phdr_address(img, file) }, { AT_PHENT, phentsize }, { AT_PHNUM, phnum },
		{ AT_PAGESZ, PAGE_SIZE }, { AT_BASE, 0 }, { AT_FLAGS, 0 },
		{ AT_ENTRY, img->entry }, { AT_UID, 0 }, { AT_EUID, 0 },
		{ AT_GID, 0 }, { AT_EGID, 0 }, { AT_PLATFORM, at_platform },
		{ AT_HWCAP, 0 }, { AT_CLKTCK, 100 }, { AT_SECURE, 0 },
		{ AT_RANDOM, at_random }, { AT_EXECFN, at_execfn }, { AT_NULL, 0 },
	};
	/* argc, argv[], NULL, envp NULL, auxv: keep %rsp 16-byte aligned. */
	u64 words = 1 + (args->argc + 1) + 1 + 2 * ARRAY_SIZE(auxv);
	if (words & 1)
		pos -= 8;
	push_bytes(page, &pos, auxv, sizeof(auxv));
	u64 envp_end = 0;
	push_bytes(page, &pos, &envp_end, 8);
	push_bytes(page, &pos, argv, (args->argc + 1) * 8);
	u64 argc = args->argc;
	u64 sp = push_bytes(page, &pos, &argc, 8);
	*len = top - sp;
	return sp;
}

/* Runs in the new process's first thread, in its address space. */
static void exec_first_entry(void)
{
	struct process *p = current_proc();
	struct thread *t = current_thread();
	struct trap_frame *tf = user_frame(t);
	u64 len = USER_STACK_TOP - tf->rsp;
	int err = copy_to_user(tf->rsp, (u8 *)p->exec_stack + PAGE_SIZE - len, len);
	free_pages_addr(p->exec_stack, 0);
	p->exec_stack = NULL;
	if (err) {
		printk("[pagoda] pid %u (%s): cannot write the initial stack; killed by SIGSEGV\n",
		       p->pid, p->name);
		proc_kill_current(SIGSEGV);
	}
}

long exec_spawn(const char *name)
{
	const struct boot_module *mod = find_module(name);
	if (!mod)
		return -ENOENT;
	const u8 *file = phys_to_virt(mod->start);
	u64 size = mod->end - mod->start;
	struct exec_args args;
	int err = split_args(mod->cmdline, &args);
	if (err)
		return err;
	struct elf_image img;
	err = elf_parse(file, size, &img);
	if (err)
		return err;

	struct process *p = proc_alloc(NULL, name);
	if (!p)
		return -EAGAIN;
	files_init(p);
	p->mm = mm_create();
	if (!p->mm) {
		proc_free_unstarted(p);
		return -ENOMEM;
	}
	for (u32 i = 0; i < img.nr_segments && !err; i++) {
		const struct elf_segment *s = &img.seg[i];
		err = mm_map_segment(p->mm, s->vaddr, s->memsz, file + s->offset, s->filesz, s->prot);
	}
	if (!err)
		err = mm_setup_stack(p->mm, USER_STACK_TOP, USER_STACK_SIZE);
	if (err) {
		proc_free_unstarted(p);
		return err;
	}
	mm_set_brk_start(p->mm, img.highest);

	p->exec_stack = get_free_pages(GFP_KERNEL | __GFP_ZERO, 0);
	if (!p->exec_stack) {
		proc_free_unstarted(p);
		return -ENOMEM;
	}
	u64 len;
	struct trap_frame tf;
	memset(&tf, 0, sizeof(tf));
	tf.rsp = build_stack(p->exec_stack, name, &args, &img, file, &len);
	tf.rip = img.entry;
	tf.cs = USER_CS;
	tf.ss = USER_DS;
	tf.rflags = RFLAGS_IF | 2;      /* bit 1 is always set */
	long pid = proc_add_thread(p, &tf, 0, exec_first_entry, 0, 0);
	if (pid < 0) {
		free_pages_addr(p->exec_stack, 0);
		p->exec_stack = NULL;
		proc_free_unstarted(p);
	}
	return pid;
}

/* ---- run=NAME[,NAME...] ---- */

struct mem_snapshot {
	u64 pages;              /* free pages plus pages held by the slab */
	s64 slab_objects;
};

static void snapshot(struct mem_snapshot *s)
{
	struct mm_counters c;
	rcu_barrier();          /* page tables are freed after a grace period */
	mm_counters_read(&c);
	s->pages = c.free_pages + (u64)c.stat[NR_SLAB_PAGES];
	s->slab_objects = c.stat[NR_SLAB_OBJECTS];
}

/* Runs each program in turn and waits for it. Kernel lines start with
 * "[pagoda]" (tools/run-tests and tools/linux-ref tell them from the
 * programs' output that way). Returns the number of failures: a program
 * that could not start, exited non-zero or died of a signal, or left
 * pages or slab objects behind. */
int run_user_programs(const char *list)
{
	int failures = 0;
	const char *s = list;
	/* The shared zero page is allocated once, for good: before the
	 * first baseline, so that it does not count as the first program's. */
	zero_page_init();
	while (*s) {
		char name[64];
		u32 n = 0;
		while (*s && *s != ',') {
			if (n < sizeof(name) - 1)
				name[n++] = *s;
			s++;
		}
		name[n] = 0;
		if (*s == ',')
			s++;
		if (!n)
			continue;

		struct mem_snapshot before, after;
		snapshot(&before);
		printk("[pagoda] run %s: start\n", name);
		long pid = exec_spawn(name);
		if (pid < 0) {
			printk("[pagoda] run %s: cannot start: error %ld%s\n", name, -pid,
			       pid == -ENOENT ? " (no module of that name)" : "");
			failures++;
			continue;
		}
		int status = proc_wait((u32)pid);
		snapshot(&after);
		bool ok = status == 0;
		if (status & 0x7f)
			printk("[pagoda] run %s: pid %ld killed by signal %d\n", name, pid, status & 0x7f);
		else
			printk("[pagoda] run %s: pid %ld exited with status %d\n", name, pid, (status >> 8) & 0xff);
		if (after.pages != before.pages || after.slab_objects != before.slab_objects) {
			printk("[pagoda] run %s: LEAK: free+slab pages %lu -> %lu, slab objects %ld -> %ld\n",
			       name, before.pages, after.pages, before.slab_objects, after.slab_objects);
			ok = false;
		} else {
			printk("[pagoda] run %s: no leak (free+slab pages %lu, slab objects %ld)\n",
			       name, after.pages, after.slab_objects);
		}
		printk("[pagoda] run %s: %s\n", name, ok ? "PASS" : "FAIL");
		if (!ok)
			failures++;
	}
	return failures;
}
