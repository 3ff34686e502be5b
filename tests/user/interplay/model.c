/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/model.c - the model: what every page must hold, and the checks of a page
 * (docs/testing-mm.md, "The interplay tester"). */
#include "interplay.h"

/* ------------------------------------------------------------------ */
/* random numbers and page contents                                    */
/* ------------------------------------------------------------------ */

u64 rng_state;

u64 rnd(void)
{
	/* xorshift64*: enough for choosing operations. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DUL;
}

u64 mix(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdUL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53UL;
	return x ^ (x >> 33);
}

/* Word i of a page whose identity is key, written with generation gen;
 * generation 0 is a page never written: zeros. */
static inline u64 pattern(u64 key, u32 gen, u64 i)
{
	return gen ? mix(key * 0x9E3779B97F4A7C15UL ^ gen) + i * 0x100000001UL : 0;
}

/* ------------------------------------------------------------------ */
/* the model                                                           */
/* ------------------------------------------------------------------ */

/* Shared anonymous objects: one per shared mmap, pages never freed in the
 * model (an object lives while something maps it; we just forget it). */
struct object objects[MAX_OBJ];
u32 obj_gen[OBJ_POOL];
int nobj;
u32 obj_used;

struct view parent_view, child_view;
u32 next_vma;

/* Soft-dirty (docs/soft-dirty.md), as Linux 6.1 reports it per entry:
 * after a clear (clear-refs) a page is not soft-dirty until this process
 * writes it; a write makes it soft-dirty until the next clear. Where the
 * kernel may add the bit without our write, the model says unknown: a new
 * VMA (VM_SOFTDIRTY), a VMA whose flags change or that is new beside it (a
 * merge may carry VM_SOFTDIRTY either way; Linux's mprotect_fixup and
 * madvise give the merged VMA the changed range's flags), and a page a huge
 * page may cover (khugepaged's collapse and a THP fault mark all 512). */

/* A VMA over pages a..a+n-1 is new or its flags changed: it and the VMAs
 * it may merge with (every mapped page next to it, out to the first hole:
 * the model does not know where the kernel merged) may now carry
 * VM_SOFTDIRTY, or have lost it. */
static void sd_vma_changed(struct view *v, int s, int a, int n)
{
	int lo = a, hi = a + n;
	while (lo > 0 && v->pg[s][lo - 1].mapped)
		lo--;
	while (hi < MAX_PAGES && v->pg[s][hi].mapped)
		hi++;
	for (int p = lo; p < hi; p++) {
		if (v->pg[s][p].sd == NO)
			v->pg[s][p].sd = MAYBE;
		/* A merge gives a VMA without anon_vma its neighbour's. */
		if (v->pg[s][p].anon == NO && (lo < a || hi > a + n))
			v->pg[s][p].anon = MAYBE;
	}
}

/* This process faulted an anonymous page in at p (a write): Linux gives
 * the VMA its anon_vma then, which it keeps through splits and merges and
 * which MADV_COLLAPSE asks for; every page of the model's VMA shares it. */
static void anon_set(struct view *v, int s, int p, u8 to)
{
	u32 vma = v->pg[s][p].vma;
	for (int q = p; q >= 0 && v->pg[s][q].mapped && v->pg[s][q].vma == vma; q--)
		if (v->pg[s][q].anon != YES)
			v->pg[s][q].anon = to;
	for (int q = p + 1; q < MAX_PAGES && v->pg[s][q].mapped && v->pg[s][q].vma == vma; q++)
		if (v->pg[s][q].anon != YES)
			v->pg[s][q].anon = to;
}

void anon_faulted(struct view *v, int s, int p)
{
	anon_set(v, s, p, YES);
}

/* A read fault at p: in a VMA where a huge page may be mapped it gives the
 * VMA an anon_vma too (Linux's do_huge_pmd_anonymous_page, before it maps
 * the huge zero page); elsewhere it maps the zero page without one. */
void anon_read(struct view *v, int s, int p)
{
	if (v->pg[s][p].anon == NO)
		anon_set(v, s, p, MAYBE);
}

/* This process wrote page p: soft-dirty until the next clear, whatever
 * else happens to the VMA (mprotect, a split of a huge page and fork keep
 * the entry's bit). A page of a huge-page region may bring the rest of its
 * 2 MiB unit with it (a THP fault, or the split of the huge zero page). */
void sd_written(struct view *v, int s, int p)
{
	v->pg[s][p].sd = YES;
	if (!v->pg[s][p].ever_thp)
		return;
	for (int q = p / 512 * 512; q < p / 512 * 512 + 512; q++)
		if (v->pg[s][q].sd == NO)
			v->pg[s][q].sd = MAYBE;
}

/* The page was zapped (DONTNEED, FREE, a punch): its entry, and the bit
 * with it, may be gone; a VMA without VM_SOFTDIRTY then reads clean. */
void sd_dropped(struct page_state *ps)
{
	if (ps->sd == YES)
		ps->sd = MAYBE;
}

/* The parent read page p of a shared mapping (a read fault there, or a
 * GUP read): Linux's fault-around (do_fault_around) then also maps the
 * object's pages already in its page cache in a 16-page window
 * (fault_around_bytes, 64 KiB) that starts at p rounded down to 16 pages,
 * or at the VMA's start if that is later; the model does not know where
 * the VMA starts, so up to 32 pages from the rounded-down p may be present. */
void fault_around(struct view *v, int s, int p)
{
	if (!v->pg[s][p].shared)
		return;
	/* A huge page of the object (MADV_COLLAPSE made one on Linux) is
	 * mapped whole, by the PMD, on a read fault. */
	if (v->pg[s][p].ever_thp)
		for (int q = p / 512 * 512; q < p / 512 * 512 + 512; q++)
			if (v->pg[s][q].shared && v->pg[s][q].present == NO)
				v->pg[s][q].present = MAYBE;
	for (int q = p / 16 * 16; q < p / 16 * 16 + 32 && q < MAX_PAGES; q++)
		if (v->pg[s][q].shared && v->pg[s][q].present == NO)
			v->pg[s][q].present = MAYBE;
}

/* Pages a..a+n-1 were just mapped: from now on they are in one VMA of
 * their own (or part of a bigger one, if the kernel merged it with a
 * neighbour: pages with the same number are never split between two VMAs,
 * which is all the model needs to know). */
void new_vma(struct view *v, int s, int a, int n)
{
	/* No anon_vma yet, unless it merged with a mapped neighbour
	 * (sd_vma_changed). */
	next_vma++;
	for (int p = a; p < a + n; p++) {
		v->pg[s][p].vma = next_vma;
		v->pg[s][p].anon = NO;
	}
	sd_vma_changed(v, s, a, n);
}

/* A flag of the VMAs over pages a..a+n-1 changed: they split off from the
 * pages around, and the boundaries inside stay (VMAs that differ in
 * something else are not merged). */
void split_vmas(struct view *v, int s, int a, int n)
{
	u32 old = 0;
	for (int p = a; p < a + n; p++) {
		if (p == a || v->pg[s][p].vma != old) {
			old = v->pg[s][p].vma;
			next_vma++;
		}
		v->pg[s][p].vma = next_vma;
	}
	sd_vma_changed(v, s, a, n);
}
bool child_alive;
pid_t child_pid;

u64 page_addr(int s, int p)
{
	return WINDOW + (u64)s * SLOT_SPAN + (u64)p * PAGE_SIZE;
}

/* What a page must hold: its identity and generation. */
u64 page_key(int s, int p, const struct page_state *ps)
{
	if (ps->shared)
		return (1UL << 40) | ((u64)ps->obj << 20) | ps->opage;
	return ps->okey ? ps->okey : page_addr(s, p) >> 12;
}

u32 *obj_slot(const struct page_state *ps)
{
	return &obj_gen[objects[ps->obj].base + ps->opage];
}

static u32 page_gen(const struct page_state *ps)
{
	return ps->shared ? *obj_slot(ps) : ps->gen;
}

u8 after_zap(const struct page_state *ps)
{
	return ps->ever_thp ? MAYBE : NO;
}

/* ------------------------------------------------------------------ */
/* failures and the operation log                                      */
/* ------------------------------------------------------------------ */

bool quiet;		/* a shrinking attempt: print nothing */
bool failed;
char fail_msg[256];
int cur_op = -1;

static char oplog[LOG_LINES][96];
int oplog_n;

void logop(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = oplog[oplog_n % LOG_LINES];
	int n = snprintf(line, 12, "op %d: ", cur_op);
	vsnprintf(line + n, sizeof(oplog[0]) - (size_t)n, fmt, ap);
	va_end(ap);
	oplog_n++;
}

void fail(const char *fmt, ...)
{
	if (failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(fail_msg, 16, "op %d: ", cur_op);
	vsnprintf(fail_msg + n, sizeof(fail_msg) - (size_t)n, fmt, ap);
	va_end(ap);
	failed = true;
}

/* The first process's page where a runner leaves its failure message. */
char *shared_msg;

void print_oplog(void)
{
	int first = oplog_n > LOG_LINES ? oplog_n - LOG_LINES : 0;
	printf("# operation log (%d operations):\n", oplog_n);
	for (int i = first; i < oplog_n; i++)
		printf("#   %s\n", oplog[i % LOG_LINES]);
}

/* Ask the kernel to print every thread and where it sleeps (Linux's
 * SysRq-t; on Linux it goes to the kernel log, and needs root): a thread
 * stuck in the kernel shows its backtrace there. */
static void show_kernel_threads(void)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY, 0);
	if (fd < 0)
		return;
	if (write(fd, "t", 1) != 1)
		printf("# /proc/sysrq-trigger: %s\n", errno_name(errno));
	close(fd);
}

/* A thread or the child stopped answering: nothing can be cleaned up, so
 * report and end the runner (exit_group takes every thread with it). */
__noreturn void abort_run(void)
{
	if (!quiet) {
		printf("# %s\n", fail_msg);
		print_oplog();
		show_kernel_threads();
	}
	strlcpy(shared_msg, fail_msg, 256);
	if (child_alive)
		kill(child_pid, SIGKILL);
	exit(1);
}

/* ------------------------------------------------------------------ */
/* checking a page                                                     */
/* ------------------------------------------------------------------ */

struct expect expect_of(const struct view *v, int s, int p)
{
	const struct page_state *ps = &v->pg[s][p];
	struct expect e = { .addr = page_addr(s, p) };
	if (!ps->mapped) {
		e.kind = EXP_UNMAPPED;
		return e;
	}
	if (!(ps->prot & PROT_READ) || ps->unknown)
		return e;
	e.kind = EXP_CONTENT;
	e.key = page_key(s, p, ps);
	e.gen = page_gen(ps);
	e.maybe_zero = ps->maybe_zero;
	return e;
}

/* Is a page mapped? madvise(MADV_NORMAL) on an unmapped range is ENOMEM on
 * both kernels and changes nothing on a mapped one. */
bool is_mapped(u64 addr)
{
	return madvise((void *)addr, PAGE_SIZE, MADV_NORMAL) == 0;
}

/* Compare buf (a page read from addr, directly or through another call)
 * with what e says; describes a mismatch in out. */
bool page_matches(const u64 *buf, const struct expect *e, char *out, size_t len)
{
	bool zero_ok = e->maybe_zero || e->gen == 0;
	bool all_zero = true, all_pat = true;
	size_t bad = 0;
	for (size_t i = 0; i < PAGE_SIZE / 8; i++) {
		if (buf[i])
			all_zero = false;
		if (buf[i] != pattern(e->key, e->gen, i) && all_pat) {
			all_pat = false;
			bad = i;
		}
	}
	if (all_pat || (zero_ok && all_zero))
		return true;
	snprintf(out, len, "page 0x%lx: word %lu is 0x%lx, expected 0x%lx (generation %u%s)%s",
		 (unsigned long)e->addr, (unsigned long)bad, (unsigned long)buf[bad],
		 (unsigned long)pattern(e->key, e->gen, bad), e->gen,
		 e->maybe_zero ? " or zeros" : "", all_zero ? ": it reads as zeros" : "");
	return false;
}

/* Check one page of this address space against e (any thread). */
bool check_page(const struct expect *e, char *out, size_t len)
{
	if (e->kind == EXP_SKIP)
		return true;
	if (e->kind == EXP_UNMAPPED) {
		if (!is_mapped(e->addr))
			return true;
		snprintf(out, len, "page 0x%lx is mapped, expected unmapped", (unsigned long)e->addr);
		return false;
	}
	if (!is_mapped(e->addr)) {
		snprintf(out, len, "page 0x%lx is not mapped", (unsigned long)e->addr);
		return false;
	}
	return page_matches((const u64 *)e->addr, e, out, len);
}

void write_page(u64 addr, u64 key, u32 gen)
{
	volatile u64 *w = (volatile u64 *)addr;
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = pattern(key, gen, i);
}
