/* SPDX-License-Identifier: MIT */
/* arch/x86_64/fpu.c - user threads' x87/SSE/AVX registers: enabling them,
 * one area per thread, eager save and restore at the switch, signal frames.
 * The rules are in fpu.h; the story in docs/fpu.md. */
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/cpu.h"
#include "kernel/sched.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/errno.h"
#include "kernel/uaccess.h"
#include "mm/buddy.h"

#define CR0_MP (1UL << 1)
#define CR0_EM (1UL << 2)
#define CR0_TS (1UL << 3)
#define CR0_NE (1UL << 5)
#define CR4_OSFXSR (1UL << 9)
#define CR4_OSXMMEXCPT (1UL << 10)
#define CR4_OSXSAVE (1UL << 18)

#define CPUID1_ECX_XSAVE (1U << 26)
#define CPUID1_EDX_FXSR (1U << 24)

#define XFEATURE_FP (1UL << 0)
#define XFEATURE_SSE (1UL << 1)
#define XFEATURE_YMM (1UL << 2)
#define XFEATURE_FPSSE (XFEATURE_FP | XFEATURE_SSE)
/* AVX-512: opmask, upper halves of ZMM0-15, ZMM16-31: all three or none. */
#define XFEATURE_AVX512 ((1UL << 5) | (1UL << 6) | (1UL << 7))

/* Offsets in the FXSAVE area (the first 512 bytes of either format). */
#define FX_FCW 0
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_SW_BYTES 464
#define FXSAVE_SIZE 512
#define XSAVE_HDR 512           /* the 64-byte XSAVE header */
#define XSAVE_HDR_SIZE 64
#define FPU_INIT_FCW 0x037F
#define FPU_INIT_MXCSR 0x1F80

/* struct _fpx_sw_bytes (Linux's uapi sigcontext.h): bytes 464..511. */
struct fpx_sw_bytes {
	u32 magic1;
	u32 extended_size;      /* the area plus MAGIC2 */
	u64 xfeatures;
	u32 xstate_size;        /* the area */
	u32 padding[7];
} __packed;

static bool use_xsave;
static u64 xfeatures;           /* XCR0 */
static u32 state_size = FXSAVE_SIZE;
static u32 mxcsr_mask = 0xFFBF; /* FXSAVE's field, if the CPU gives one */
static bool skip_switch;        /* fpu_debug_skip_switch: negative control */
static u8 init_state[PAGE_SIZE] __aligned(64);

u32 fpu_state_size(void) { return state_size; }
bool fpu_uses_xsave(void) { return use_xsave; }
u64 fpu_xfeatures(void) { return use_xsave ? xfeatures : 0; }

/* ---- the instructions (the only SSE-touching code in the kernel) ---- */

static void xsetbv0(u64 v)
{
	__asm__ __volatile__("xsetbv" : : "c"(0), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static void save_regs(void *area)
{
	if (use_xsave)
		__asm__ __volatile__("xsave64 (%0)" : : "r"(area), "a"((u32)xfeatures),
				     "d"((u32)(xfeatures >> 32)) : "memory");
	else
		__asm__ __volatile__("fxsave64 (%0)" : : "r"(area) : "memory");
}

static void restore_regs(const void *area)
{
	if (use_xsave)
		__asm__ __volatile__("xrstor64 (%0)" : : "r"(area), "a"((u32)xfeatures),
				     "d"((u32)(xfeatures >> 32)) : "memory");
	else
		__asm__ __volatile__("fxrstor64 (%0)" : : "r"(area) : "memory");
}

/* ---- enabling ---- */

static void enable_this_cpu(void)
{
	u64 cr0 = read_cr0();
	cr0 |= CR0_MP | CR0_NE;
	cr0 &= ~(CR0_EM | CR0_TS);
	write_cr0(cr0);
	u64 cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (use_xsave)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);
	if (use_xsave)
		xsetbv0(xfeatures);
}

/* Which XCR0 to enable: x87, SSE, AVX when offered, AVX-512's three
 * components only all together. Nothing else (MPX, PKRU, AMX...): Pagoda
 * would have to manage them. */
static u64 pick_xfeatures(void)
{
	u32 a, b, c, d;
	cpuid(0xD, 0, &a, &b, &c, &d);
	u64 offered = ((u64)d << 32) | a;
	u64 want = offered & (XFEATURE_FPSSE | XFEATURE_YMM);
	if ((offered & XFEATURE_AVX512) == XFEATURE_AVX512 && (want & XFEATURE_YMM))
		want |= XFEATURE_AVX512;
	return want;
}

/* The initial state: FCW 0x37F, MXCSR 0x1F80, the rest zero; with XSAVE
 * the header says x87 and SSE are stored (so those two words are loaded)
 * and every other component is in its init state (zero). */
static void build_init_state(void)
{
	memset(init_state, 0, sizeof(init_state));
	*(u16 *)(init_state + FX_FCW) = FPU_INIT_FCW;
	*(u32 *)(init_state + FX_MXCSR) = FPU_INIT_MXCSR;
	if (use_xsave)
		*(u64 *)(init_state + XSAVE_HDR) = XFEATURE_FPSSE;
}

void fpu_init(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & CPUID1_EDX_FXSR))
		panic("FPU: the CPU has no FXSAVE/FXRSTOR (x86_64 requires them)");
	use_xsave = (c & CPUID1_ECX_XSAVE) != 0;
	if (use_xsave)
		xfeatures = pick_xfeatures();
	enable_this_cpu();
	if (use_xsave) {
		cpuid(0xD, 0, &a, &b, &c, &d);
		state_size = b;         /* for the XCR0 just set */
		if (state_size > PAGE_SIZE)
			panic("FPU: XSAVE area of %u bytes for XCR0 %lx", state_size, xfeatures);
	}
	/* The MXCSR bits FXRSTOR accepts: FXSAVE reports them (0 = default). */
	static u8 probe[FXSAVE_SIZE] __aligned(64);
	__asm__ __volatile__("fninit; fxsave64 (%0)" : : "r"(probe) : "memory");
	u32 mask = *(u32 *)(probe + FX_MXCSR_MASK);
	if (mask)
		mxcsr_mask = mask;
	build_init_state();
	skip_switch = cmdline_has("fpu_debug_skip_switch");
	printk("FPU: %s, xfeatures 0x%lx, %u bytes per thread%s\n", use_xsave ? "XSAVE" : "FXSAVE",
	       fpu_xfeatures(), state_size,
	       skip_switch ? " (fpu_debug_skip_switch: registers NOT restored at switches)" : "");
}

void fpu_init_cpu(void)
{
	enable_this_cpu();
}

/* ---- per thread ---- */

int fpu_thread_alloc(struct thread *t, bool src_current)
{
	/* Zeroed: XSAVE writes XSTATE_BV but not the rest of its header,
	 * which XRSTOR requires to be zero. */
	u8 *area = get_free_pages(GFP_KERNEL | __GFP_ZERO, 0);
	if (!area)
		return -ENOMEM;
	if (src_current)
		save_regs(area);        /* the caller's live registers are its own */
	else
		memcpy(area, init_state, state_size);
	t->fpu_state = area;
	return 0;
}

void fpu_thread_free(struct thread *t)
{
	void *area = t->fpu_state;
	if (!area)
		return;
	/* NULL first: a switch away from t from now on saves nothing. */
	WRITE_ONCE(t->fpu_state, NULL);
	barrier();
	free_pages_addr(area, 0);
}

void fpu_switch(struct thread *prev, struct thread *next)
{
	if (prev->fpu_state)
		save_regs(prev->fpu_state);
	/* A kernel thread loads nothing: it never uses these registers, and
	 * the next user thread loads all of its own. */
	if (next->fpu_state && !skip_switch)
		restore_regs(next->fpu_state);
}

/* ---- signal frames ---- */

u32 fpu_signal_frame_size(void)
{
	return state_size + (use_xsave ? FP_XSTATE_MAGIC2_SIZE : 0);
}

/* XSAVE's epilogue in the user frame (Linux's save_xstate_epilog): the
 * software bytes, MAGIC2 after the area, and FP and SSE always marked
 * present in the header, for programs that edit the legacy area. */
static int save_xstate_epilog(u64 ustate, u64 xstate_bv)
{
	struct fpx_sw_bytes sw;
	memset(&sw, 0, sizeof(sw));
	sw.magic1 = FP_XSTATE_MAGIC1;
	sw.extended_size = state_size + FP_XSTATE_MAGIC2_SIZE;
	sw.xfeatures = xfeatures;
	sw.xstate_size = state_size;
	u32 magic2 = FP_XSTATE_MAGIC2;
	xstate_bv |= XFEATURE_FPSSE;
	if (copy_to_user(ustate + FX_SW_BYTES, &sw, sizeof(sw)) ||
	    copy_to_user(ustate + XSAVE_HDR, &xstate_bv, sizeof(xstate_bv)) ||
	    copy_to_user(ustate + state_size, &magic2, sizeof(magic2)))
		return -EFAULT;
	return 0;
}

int fpu_save_signal_frame(void *ustate)
{
	u8 *area = current_thread()->fpu_state;
	u64 u = (u64)ustate;
	if (!area || (u & 63))
		return -EFAULT;
	/* The area is a scratch copy here: a switch while copy_to_user
	 * sleeps saves the same live registers into it again. */
	save_regs(area);
	u64 xstate_bv = use_xsave ? *(u64 *)(area + XSAVE_HDR) : 0;
	if (copy_to_user(u, area, state_size))
		return -EFAULT;
	return use_xsave ? save_xstate_epilog(u, xstate_bv) : 0;
}

void fpu_reset_current(void)
{
	restore_regs(init_state);
}

/* Which state the frame holds (Linux's check_xstate_in_sigframe): an
 * XSAVE image when both magic words and the sizes are right, else only
 * the legacy FP/SSE area. Sets *xsave_image, and for an XSAVE image the
 * components to restore and its size; -EFAULT on an unreadable MAGIC2. */
static int xstate_in_frame(u64 ustate, const u8 *buf, bool *xsave_image, u64 *restore, u32 *size)
{
	struct fpx_sw_bytes sw;
	memcpy(&sw, buf + FX_SW_BYTES, sizeof(sw));
	if (sw.magic1 != FP_XSTATE_MAGIC1 || sw.xstate_size < XSAVE_HDR + XSAVE_HDR_SIZE ||
	    sw.xstate_size > state_size || sw.xstate_size > sw.extended_size)
		return 0;       /* *xsave_image stays false */
	u32 magic2;
	if (copy_from_user(&magic2, ustate + sw.xstate_size, sizeof(magic2)))
		return -EFAULT;
	if (magic2 != FP_XSTATE_MAGIC2)
		return 0;
	*xsave_image = true;
	*size = sw.xstate_size;
	*restore = sw.xfeatures & xfeatures;    /* XRSTOR's mask is ANDed with XCR0 */
	return 0;
}

/* What XRSTOR (or FXRSTOR) would refuse with #GP, which on Linux fails the
 * sigreturn: MXCSR reserved bits, and in the XSAVE header components
 * outside XCR0 or a nonzero XCOMP_BV (Pagoda restores the standard form
 * only) and reserved bytes 16..23. */
static bool frame_loadable(const u8 *buf, bool xsave_image)
{
	if (*(const u32 *)(buf + FX_MXCSR) & ~mxcsr_mask)
		return false;
	if (!xsave_image)
		return true;
	const u64 *hdr = (const u64 *)(buf + XSAVE_HDR);
	return !(hdr[0] & ~xfeatures) && hdr[1] == 0 && hdr[2] == 0;
}

/* buf holds the frame's first 512 bytes: complete the image XRSTOR loads.
 * Components not restored are reset, as Linux's init_bv does. */
static int frame_to_image(u64 ustate, u8 *buf)
{
	u32 size = 0;
	u64 restore = 0;
	bool xsave_image = false;
	int err = xstate_in_frame(ustate, buf, &xsave_image, &restore, &size);
	if (err)
		return err;
	if (xsave_image) {
		/* Only the frame's own size: beyond it components read as
		 * zero, and the header's bits for them are checked below. */
		if (copy_from_user(buf + FXSAVE_SIZE, ustate + FXSAVE_SIZE, size - FXSAVE_SIZE))
			return -EFAULT;
		if (!frame_loadable(buf, true))
			return -EFAULT;
		*(u64 *)(buf + XSAVE_HDR) &= restore;
		if (!(restore & (XFEATURE_SSE | XFEATURE_YMM)))
			*(u32 *)(buf + FX_MXCSR) = FPU_INIT_MXCSR;
		return 0;
	}
	if (!frame_loadable(buf, false))
		return -EFAULT;
	memset(buf + FXSAVE_SIZE, 0, state_size - FXSAVE_SIZE);
	*(u64 *)(buf + XSAVE_HDR) = XFEATURE_FPSSE;
	return 0;
}

int fpu_restore_signal_frame(const void *ustate)
{
	u64 u = (u64)ustate;
	if (u & 63)
		return -EFAULT;
	/* A private copy, checked before loading: the registers change only
	 * if the whole frame is good, and XRSTOR never faults in the kernel. */
	u8 *buf = get_free_pages(GFP_KERNEL | __GFP_ZERO, 0);
	if (!buf)
		return -ENOMEM;
	int err = copy_from_user(buf, u, FXSAVE_SIZE) ? -EFAULT : 0;
	if (!err && use_xsave)
		err = frame_to_image(u, buf);
	else if (!err && !frame_loadable(buf, false))
		err = -EFAULT;
	if (!err)
		restore_regs(buf);
	free_pages_addr(buf, 0);
	return err;
}
