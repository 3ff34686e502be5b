/* SPDX-License-Identifier: MIT */
/* fpu_test - each thread's FPU, SSE and AVX registers are its own.
 *
 * The only test program built with SSE/AVX allowed (user/Makefile names it
 * alone). Every register is loaded, kept and read back inside one inline
 * assembly block, whose only other instructions are system calls (which
 * preserve these registers on Linux): the compiler's own use of registers
 * cannot hide a kernel that loses or mixes them.
 *
 *   1-2  a new process starts in Linux's init state: x87 control word
 *        0x37F, MXCSR 0x1F80, x87 stack empty, every register zero (and
 *        the upper halves of the ymm registers, with AVX);
 *   3-4  two threads pinned on every CPU load distinct values into xmm
 *        (then ymm) 0-15, four x87 registers, MXCSR and the x87 control
 *        word, and check them after many sched_yield and nanosleep calls:
 *        the two on one CPU switch between each other all the time;
 *   5    a thread made by clone(CLONE_VM|CLONE_THREAD) starts with its
 *        creator's registers (Linux's fpu_clone copies them);
 *   6-7  fork: the child starts with the parent's registers, then loads
 *        its own and keeps them while the parent, on the same CPU, keeps
 *        the parent's.
 * AVX parts run when CPUID says AVX and OSXSAVE and XCR0 enables ymm;
 * otherwise they print a SKIP (the qemu64 CPU).
 */
#include "libc.h"

#define MAX_CPUS_USED 64
#define THREADS_PER_CPU 2
#define ROUNDS 300

/* What one asm block loads and stores: 16 vector registers of 32 bytes
 * (16 used without AVX), four x87 doubles, MXCSR and the control word. */
struct regs {
	u8 vec[16][32];         /* offset 0 */
	double x87[4];          /* offset 512 */
	u32 mxcsr;              /* offset 544 */
	u16 fcw;                /* offset 548 */
	u16 pad;
} __attribute__((aligned(64)));

static bool have_avx;

#define VEC_ALL(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) \
	OP(8) OP(9) OP(10) OP(11) OP(12) OP(13) OP(14) OP(15)
#define LD_X(n) "movdqu " #n "*32(%[in]), %%xmm" #n "\n\t"
#define ST_X(n) "movdqu %%xmm" #n ", " #n "*32(%[out])\n\t"
#define LD_Y(n) "vmovdqu " #n "*32(%[in]), %%ymm" #n "\n\t"
#define ST_Y(n) "vmovdqu %%ymm" #n ", " #n "*32(%[out])\n\t"
#define LD_REST "fldl 512(%[in])\n\tfldl 520(%[in])\n\tfldl 528(%[in])\n\tfldl 536(%[in])\n\t" \
	"ldmxcsr 544(%[in])\n\tfldcw 548(%[in])\n\t"
#define ST_REST "fstpl 536(%[out])\n\tfstpl 528(%[out])\n\tfstpl 520(%[out])\n\tfstpl 512(%[out])\n\t" \
	"stmxcsr 544(%[out])\n\tfnstcw 548(%[out])\n\t"
/* n rounds of sched_yield, with a 100 us nanosleep every 16th. */
#define SWITCH_LOOP "1:\n\tmov $24, %%eax\n\tsyscall\n\t" \
	"test $15, %[n]\n\tjnz 2f\n\tmov $35, %%eax\n\tmov %[ts], %%rdi\n\txor %%esi, %%esi\n\tsyscall\n" \
	"2:\n\tdec %[n]\n\tjnz 1b\n\t"
#define VEC_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define ASM_CLOBBERS "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc", \
	"st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", VEC_CLOBBERS

static const struct timespec short_sleep = { 0, 100000 };

/* Back to the ABI's defaults after a block changed them. */
static void default_controls(void)
{
	u32 mxcsr = 0x1F80;
	u16 fcw = 0x037F;

	__asm__ volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(mxcsr), "m"(fcw));
}

/* Load *in, switch CPUs rounds times, store into *out. */
static void hold_regs(const struct regs *in, struct regs *out, long rounds, bool avx)
{
	if (avx)
		__asm__ volatile(VEC_ALL(LD_Y) LD_REST SWITCH_LOOP VEC_ALL(ST_Y) ST_REST "vzeroupper"
				 : [n] "+r"(rounds)
				 : [in] "r"(in), [out] "r"(out), [ts] "r"(&short_sleep)
				 : ASM_CLOBBERS);
	else
		__asm__ volatile(VEC_ALL(LD_X) LD_REST SWITCH_LOOP VEC_ALL(ST_X) ST_REST
				 : [n] "+r"(rounds)
				 : [in] "r"(in), [out] "r"(out), [ts] "r"(&short_sleep)
				 : ASM_CLOBBERS);
	default_controls();
}

/* Distinct values for thread (or process) number id. */
static void make_regs(struct regs *r, int id)
{
	memset(r, 0, sizeof(*r));
	for (int v = 0; v < 16; v++)
		for (int b = 0; b < 32; b++)
			r->vec[v][b] = (u8)(id * 37 + v * 11 + b * 3 + 1);
	for (int k = 0; k < 4; k++)
		r->x87[k] = id * 1000.25 + k * 3.5 + 0.125;
	/* Rounding control and flush-to-zero vary; exceptions stay masked. */
	r->mxcsr = 0x1F80 | ((u32)(id & 3) << 13) | ((id & 4) ? 0x8000U : 0);
	r->fcw = (u16)(0x037F | ((id & 3) << 10));
}

static bool regs_equal(const struct regs *a, const struct regs *b, bool avx, int id)
{
	int width = avx ? 32 : 16;

	for (int v = 0; v < 16; v++)
		if (memcmp(a->vec[v], b->vec[v], (size_t)width)) {
			ktap_diag("id %d: %smm%d differs", id, avx ? "y" : "x", v);
			return false;
		}
	if (memcmp(a->x87, b->x87, sizeof(a->x87))) {
		ktap_diag("id %d: x87 registers differ", id);
		return false;
	}
	if (a->mxcsr != b->mxcsr || a->fcw != b->fcw) {
		ktap_diag("id %d: MXCSR 0x%x FCW 0x%x, expected 0x%x 0x%x", id, b->mxcsr, b->fcw,
			  a->mxcsr, a->fcw);
		return false;
	}
	return true;
}

static bool cpu_has_avx(void)
{
	u32 a, b, c, d, lo, hi;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1U << 28)) || !(c & (1U << 27)))
		return false;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

/* ---- 1-2: the state a new process starts with ---- */

static bool all_zero(const u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* First thing main does, before the compiler's own code may touch a
 * vector register. FXSAVE: FCW at 0, FSW at 2, abridged tag word at 4
 * (0: all empty), MXCSR at 24, x87 registers at 32, xmm at 160. */
static __attribute__((noinline)) void check_initial_state(void)
{
	static u8 fx[512] __attribute__((aligned(64)));
	static u8 upper[16][16];

	__asm__ volatile("fxsave64 %0" : "=m"(fx));
	if (have_avx)
#define ST_HI(n) "vextractf128 $1, %%ymm" #n ", " #n "*16(%[u])\n\t"
		__asm__ volatile(VEC_ALL(ST_HI) : : [u] "r"(upper) : "memory");
	u16 fcw = *(u16 *)fx, fsw = *(u16 *)(fx + 2);
	u32 mxcsr = *(u32 *)(fx + 24);
	bool ok = fcw == 0x037F && fsw == 0 && fx[4] == 0 && mxcsr == 0x1F80 &&
		  all_zero(fx + 32, 128) && all_zero(fx + 160, 256);
	if (!ok)
		ktap_diag("FCW 0x%x FSW 0x%x tags 0x%x MXCSR 0x%x, registers %s", fcw, fsw, fx[4], mxcsr,
			  all_zero(fx + 32, 128) && all_zero(fx + 160, 256) ? "zero" : "not zero");
	ktap_ok(ok, "a new process starts with FCW 0x37F, MXCSR 0x1F80, x87 and xmm registers zero");
	if (have_avx)
		ktap_ok(all_zero(&upper[0][0], sizeof(upper)), "a new process starts with ymm upper halves zero");
	else
		ktap_skip("no AVX", "a new process starts with ymm upper halves zero");
}

/* ---- 3-4: threads on every CPU ---- */

struct worker {
	int id, cpu;
	bool avx;
	bool ok;
	struct regs in, out;
};

static struct worker workers[MAX_CPUS_USED * THREADS_PER_CPU];

static long worker_main(void *arg)
{
	struct worker *w = arg;

	make_regs(&w->in, w->id);
	hold_regs(&w->in, &w->out, ROUNDS, w->avx);
	w->ok = regs_equal(&w->in, &w->out, w->avx, w->id);
	return 0;
}

static bool threads_keep_registers(const int *cpus, int ncpus, bool avx)
{
	static struct uthread *t[MAX_CPUS_USED * THREADS_PER_CPU];
	int n = ncpus * THREADS_PER_CPU;
	bool ok = true;

	for (int i = 0; i < n; i++) {
		workers[i].id = i + 1;
		workers[i].cpu = cpus[i % ncpus];
		workers[i].avx = avx;
		workers[i].ok = false;
		t[i] = thread_create(worker_main, &workers[i], workers[i].cpu);
		if (!t[i]) {
			ktap_diag("thread_create: %s", errno_name(errno));
			ok = false;
		}
	}
	for (int i = 0; i < n; i++) {
		if (!t[i])
			continue;
		if (thread_join(t[i]) != 0 || !workers[i].ok)
			ok = false;
	}
	return ok;
}

/* ---- 5: a new thread starts with its creator's registers ---- */

static u8 clone_stack[16384] __attribute__((aligned(16)));

#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
			    CLONE_SYSVSEM)
/* The child stores its registers into *cout, sets cout->pad and exits
 * without touching its stack; the parent stores its own into *out. */
#define CLONE_CALL "mov $56, %%eax\n\tmov %[flags], %%edi\n\tmov %[sp], %%rsi\n\txor %%edx, %%edx\n\t" \
	"xor %%r10d, %%r10d\n\txor %%r8d, %%r8d\n\tsyscall\n\ttest %%rax, %%rax\n\tjnz 3f\n\t"
#define CLONE_CHILD_END "movw $1, 550(%[out])\n\tmov $60, %%eax\n\txor %%edi, %%edi\n\tsyscall\n\thlt\n3:\n\t"

static long clone_with_regs(const struct regs *in, struct regs *out, struct regs *cout, bool avx)
{
	void *sp = clone_stack + sizeof(clone_stack);
	long ret;

	if (avx)
		__asm__ volatile(VEC_ALL(LD_Y) LD_REST CLONE_CALL "xchg %[out], %[cout]\n\t"
				 VEC_ALL(ST_Y) ST_REST CLONE_CHILD_END VEC_ALL(ST_Y) ST_REST
				 "vzeroupper\n\tmov %%rax, %[ret]"
				 : [ret] "=r"(ret), [cout] "+r"(cout)
				 : [in] "r"(in), [out] "r"(out), [sp] "r"(sp), [flags] "i"(CLONE_THREAD_FLAGS)
				 : ASM_CLOBBERS);
	else
		__asm__ volatile(VEC_ALL(LD_X) LD_REST CLONE_CALL "xchg %[out], %[cout]\n\t"
				 VEC_ALL(ST_X) ST_REST CLONE_CHILD_END VEC_ALL(ST_X) ST_REST
				 "mov %%rax, %[ret]"
				 : [ret] "=r"(ret), [cout] "+r"(cout)
				 : [in] "r"(in), [out] "r"(out), [sp] "r"(sp), [flags] "i"(CLONE_THREAD_FLAGS)
				 : ASM_CLOBBERS);
	default_controls();
	return ret;
}

static bool clone_copies_registers(bool avx)
{
	static struct regs in, out, cout;

	make_regs(&in, 200);
	memset(&cout, 0, sizeof(cout));
	long tid = clone_with_regs(&in, &out, &cout, avx);
	if (tid < 0) {
		ktap_diag("clone: %s", errno_name((int)-tid));
		return false;
	}
	while (!READ_ONCE(cout.pad))
		sched_yield();
	cout.pad = 0;
	return regs_equal(&in, &out, avx, 200) && regs_equal(&in, &cout, avx, 201);
}

/* ---- 6-7: fork ---- */

#define FORK_CALL "mov $57, %%eax\n\tsyscall\n\t"

/* pid is early-clobbered ("=&a"): the syscall writes rax while out is still
 * to be used, so no input may be given rax (clang did, and the stores after
 * the fork went to the pid). */
static long fork_with_regs(const struct regs *in, struct regs *out, bool avx)
{
	long pid;

	if (avx)
		__asm__ volatile(VEC_ALL(LD_Y) LD_REST FORK_CALL VEC_ALL(ST_Y) ST_REST "vzeroupper"
				 : "=&a"(pid) : [in] "r"(in), [out] "r"(out)
				 : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc",
				   "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
				   VEC_CLOBBERS);
	else
		__asm__ volatile(VEC_ALL(LD_X) LD_REST FORK_CALL VEC_ALL(ST_X) ST_REST
				 : "=&a"(pid) : [in] "r"(in), [out] "r"(out)
				 : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc",
				   "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
				   VEC_CLOBBERS);
	default_controls();
	return pid;
}

/* The child's exit code: bit 0 set if it did not start with the parent's
 * registers, bit 1 if it lost its own. */
static __noreturn void fork_child(const struct regs *parent_in, const struct regs *at_fork, bool avx)
{
	static struct regs in, out;
	int code = regs_equal(parent_in, at_fork, avx, 300) ? 0 : 1;

	make_regs(&in, 301);
	hold_regs(&in, &out, ROUNDS, avx);
	if (!regs_equal(&in, &out, avx, 301))
		code |= 2;
	exit(code);
}

static void fork_tests(int cpu, bool avx)
{
	static struct regs in, out, again;

	pin_to_cpu(cpu);        /* the child inherits it: both on one CPU */
	make_regs(&in, 300);
	long pid = fork_with_regs(&in, &out, avx);
	if (pid == 0)
		fork_child(&in, &out, avx);
	bool parent_ok = pid > 0 && regs_equal(&in, &out, avx, 300);
	hold_regs(&in, &again, ROUNDS, avx);
	bool parent_kept = pid > 0 && regs_equal(&in, &again, avx, 300);
	int code = reap_child((pid_t)pid);

	if (code < 0 || code >= 1000)
		ktap_diag("fork: child status %d", code);
	ktap_ok(parent_ok && code >= 0 && code < 1000 && !(code & 1),
		"fork: the child starts with the parent's registers");
	ktap_ok(parent_kept && code >= 0 && code < 1000 && !(code & 2),
		"fork: child and parent on one CPU each keep their own registers");
}

int main(void)
{
	static int cpus[MAX_CPUS_USED];
	int ncpus = 0;
	cpu_set_t mask;

	have_avx = cpu_has_avx();
	ktap_plan(7);
	check_initial_state();

	cpu_zero(&mask);
	if (sched_getaffinity(0, sizeof(mask), &mask) <= 0)
		ktap_bail("sched_getaffinity: %s", errno_name(errno));
	for (int cpu = 0; cpu < CPU_SETSIZE && ncpus < MAX_CPUS_USED; cpu++)
		if (cpu_isset(cpu, &mask))
			cpus[ncpus++] = cpu;

	ktap_ok(threads_keep_registers(cpus, ncpus, false),
		"two threads per CPU keep their xmm, x87, MXCSR and FCW across switches");
	if (have_avx)
		ktap_ok(threads_keep_registers(cpus, ncpus, true),
			"two threads per CPU keep their ymm registers across switches");
	else
		ktap_skip("no AVX", "two threads per CPU keep their ymm registers across switches");
	ktap_ok(clone_copies_registers(have_avx),
		"clone(CLONE_VM|CLONE_THREAD): the new thread starts with its creator's registers");
	fork_tests(cpus[0], have_avx);
	return ktap_finish();
}
