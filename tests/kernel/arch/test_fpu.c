/* SPDX-License-Identifier: MIT */
/* tests/kernel/arch/test_fpu.c - the FPU signal-frame interface
 * (arch/x86_64/fpu.h) that signal delivery and rt_sigreturn use.
 *
 * The test thread borrows an address space for the frames and gets an FPU
 * area of its own (fpu_thread_alloc), so the scheduler switches its
 * registers like a user thread's. The kernel cannot touch the registers
 * from C (it is built without SSE), so every check goes through the
 * frames: save, edit the frame in user memory, restore, save again, look.
 * Offsets are Linux's sigcontext layout: FCW at 0, MXCSR at 24, xmm0 at
 * 160, the software bytes at 464, the XSAVE header at 512, the upper
 * halves of ymm0-15 at 576 (XSAVE standard format, component 2).
 */
#include "kernel/ktest.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/uaccess.h"
#include "kernel/rcu.h"
#include "arch/x86_64/fpu.h"
#include "mm/mm.h"
#include "mm/page.h"

#define BASE 0x40000000UL       /* the first frame; a second one a page up */
#define SECOND (BASE + PAGE_SIZE)
#define FX_FCW 0
#define FX_MXCSR 24
#define FX_XMM0 160
#define FX_SW 464
#define XSTATE_BV 512
#define XCOMP_BV 520
#define YMM_HI0 576

struct env {
	struct mm_struct *mm;
	u8 frame[PAGE_SIZE];    /* a kernel copy of a frame, to read and edit */
};

static bool env_setup(struct ktest *t, struct env *e)
{
	e->mm = mm_create();
	if (!KTEST_EXPECT_TRUE(t, e->mm))
		return false;
	KTEST_EXPECT_EQ(t, do_mmap(e->mm, BASE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0), BASE);
	kthread_use_mm(e->mm);
	if (!KTEST_EXPECT_EQ(t, fpu_thread_alloc(current_thread(), false), 0)) {
		kthread_unuse_mm(e->mm);
		mm_put(e->mm);
		return false;
	}
	fpu_reset_current();
	return true;
}

static void env_teardown(struct env *e)
{
	fpu_thread_free(current_thread());
	kthread_unuse_mm(e->mm);
	mm_put(e->mm);
	rcu_barrier();
}

/* Save the live registers at addr and copy the frame into e->frame. */
static bool save_and_read(struct ktest *t, struct env *e, u64 addr)
{
	if (!KTEST_EXPECT_EQ(t, fpu_save_signal_frame((void *)addr), 0))
		return false;
	return KTEST_EXPECT_EQ(t, copy_from_user(e->frame, addr, fpu_signal_frame_size()), 0);
}

static u32 word32(const struct env *e, u32 off) { return *(const u32 *)(e->frame + off); }
static u64 word64(const struct env *e, u32 off) { return *(const u64 *)(e->frame + off); }

static void test_frame_layout(struct ktest *t)
{
	static struct env e;
	if (!env_setup(t, &e))
		return;
	u32 size = fpu_state_size();
	KTEST_EXPECT_EQ(t, fpu_signal_frame_size(), size + (fpu_uses_xsave() ? 4 : 0));
	if (save_and_read(t, &e, BASE)) {
		KTEST_EXPECT_EQ(t, *(u16 *)(e.frame + FX_FCW), 0x037F);
		KTEST_EXPECT_EQ(t, word32(&e, FX_MXCSR), 0x1F80);
		KTEST_EXPECT_EQ(t, word64(&e, FX_XMM0), 0);
		if (fpu_uses_xsave()) {
			KTEST_EXPECT_EQ(t, word32(&e, FX_SW), FP_XSTATE_MAGIC1);
			KTEST_EXPECT_EQ(t, word32(&e, FX_SW + 4), size + 4);
			KTEST_EXPECT_EQ(t, word64(&e, FX_SW + 8), fpu_xfeatures());
			KTEST_EXPECT_EQ(t, word32(&e, FX_SW + 16), size);
			KTEST_EXPECT_EQ(t, word32(&e, size), FP_XSTATE_MAGIC2);
			KTEST_EXPECT_EQ(t, word64(&e, XSTATE_BV) & 3, 3);  /* FP, SSE always */
			KTEST_EXPECT_EQ(t, word64(&e, XCOMP_BV), 0);
		}
	}
	/* XSAVE's alignment rule, and a frame nobody can write. */
	KTEST_EXPECT_EQ(t, fpu_save_signal_frame((void *)(BASE + 16)), -EFAULT);
	KTEST_EXPECT_EQ(t, fpu_save_signal_frame((void *)(BASE + 4 * PAGE_SIZE)), -EFAULT);
	env_teardown(&e);
}

/* A frame edited in user memory is what the registers hold after the
 * restore: MXCSR, FCW, xmm0 and (with AVX) ymm0's upper half. */
static void test_restore_round_trip(struct ktest *t)
{
	static struct env e;
	if (!env_setup(t, &e))
		return;
	bool avx = fpu_xfeatures() & 4;
	if (save_and_read(t, &e, BASE)) {
		*(u32 *)(e.frame + FX_MXCSR) = 0x3F80;         /* round down */
		*(u16 *)(e.frame + FX_FCW) = 0x027F;           /* 53-bit precision */
		*(u64 *)(e.frame + FX_XMM0) = 0x0123456789abcdefUL;
		if (avx) {
			*(u64 *)(e.frame + XSTATE_BV) |= 4;
			*(u64 *)(e.frame + YMM_HI0) = 0xfedcba9876543210UL;
		}
		KTEST_EXPECT_EQ(t, copy_to_user(BASE, e.frame, fpu_signal_frame_size()), 0);
		KTEST_EXPECT_EQ(t, fpu_restore_signal_frame((void *)BASE), 0);
		yield();                /* the registers must survive a switch too */
		memset(e.frame, 0, sizeof(e.frame));
		if (save_and_read(t, &e, SECOND)) {
			KTEST_EXPECT_EQ(t, word32(&e, FX_MXCSR), 0x3F80);
			KTEST_EXPECT_EQ(t, *(u16 *)(e.frame + FX_FCW), 0x027F);
			KTEST_EXPECT_EQ(t, word64(&e, FX_XMM0), 0x0123456789abcdefUL);
			if (avx)
				KTEST_EXPECT_EQ(t, word64(&e, YMM_HI0), 0xfedcba9876543210UL);
		}
	}
	fpu_reset_current();
	if (save_and_read(t, &e, SECOND)) {
		KTEST_EXPECT_EQ(t, word32(&e, FX_MXCSR), 0x1F80);
		KTEST_EXPECT_EQ(t, word64(&e, FX_XMM0), 0);
		if (avx)
			KTEST_EXPECT_EQ(t, word64(&e, YMM_HI0), 0);
	}
	env_teardown(&e);
}

/* Edit the saved frame at BASE with fn, restore it: the result, and the
 * registers must be unchanged on failure (MXCSR still 0x1F80). */
static long restore_edited(struct ktest *t, struct env *e, void (*fn)(struct env *e))
{
	if (!save_and_read(t, e, BASE))
		return 1;
	fn(e);
	KTEST_EXPECT_EQ(t, copy_to_user(BASE, e->frame, fpu_signal_frame_size()), 0);
	long ret = fpu_restore_signal_frame((void *)BASE);
	if (ret && save_and_read(t, e, SECOND))
		KTEST_EXPECT_EQ(t, word32(e, FX_MXCSR), 0x1F80);
	return ret;
}

static void bad_mxcsr(struct env *e) { *(u32 *)(e->frame + FX_MXCSR) = 0x80001F80; }
static void bad_xstate_bv(struct env *e)
{
	*(u32 *)(e->frame + FX_MXCSR) = 0x3F80;
	*(u64 *)(e->frame + XSTATE_BV) |= 1UL << 9;    /* PKRU: never in our XCR0 */
}
static void bad_xcomp_bv(struct env *e)
{
	*(u32 *)(e->frame + FX_MXCSR) = 0x3F80;
	*(u64 *)(e->frame + XCOMP_BV) = 1UL << 63;     /* compacted: not taken */
}

/* What XRSTOR would refuse (a #GP, which fails Linux's sigreturn) is
 * refused before any register changes. */
static void test_bad_frames_refused(struct ktest *t)
{
	static struct env e;
	if (!env_setup(t, &e))
		return;
	KTEST_EXPECT_EQ(t, restore_edited(t, &e, bad_mxcsr), -EFAULT);
	if (fpu_uses_xsave()) {
		KTEST_EXPECT_EQ(t, restore_edited(t, &e, bad_xstate_bv), -EFAULT);
		KTEST_EXPECT_EQ(t, restore_edited(t, &e, bad_xcomp_bv), -EFAULT);
	}
	KTEST_EXPECT_EQ(t, fpu_restore_signal_frame((void *)(BASE + 8)), -EFAULT);
	KTEST_EXPECT_EQ(t, fpu_restore_signal_frame((void *)(BASE + 4 * PAGE_SIZE)), -EFAULT);
	env_teardown(&e);
}

static void no_magic(struct env *e)
{
	*(u32 *)(e->frame + FX_SW) = 0;                 /* MAGIC1 gone */
	*(u32 *)(e->frame + FX_MXCSR) = 0x3F80;
	*(u64 *)(e->frame + XSTATE_BV) |= 4;
	*(u64 *)(e->frame + YMM_HI0) = 0x5555555555555555UL;
}

/* Without the magic words the frame is a legacy FXSAVE image (Linux's
 * check_xstate_in_sigframe): FP and SSE are loaded, AVX is reset. */
static void test_frame_without_magic_is_fx_only(struct ktest *t)
{
	static struct env e;
	if (!fpu_uses_xsave()) {
		ktest_skip(t, "FXSAVE CPU: every frame is FX-only");
		return;
	}
	if (!env_setup(t, &e))
		return;
	KTEST_EXPECT_EQ(t, restore_edited(t, &e, no_magic), 0);
	if (save_and_read(t, &e, SECOND)) {
		KTEST_EXPECT_EQ(t, word32(&e, FX_MXCSR), 0x3F80);
		if (fpu_xfeatures() & 4)
			KTEST_EXPECT_EQ(t, word64(&e, YMM_HI0), 0);
	}
	env_teardown(&e);
}

static const struct ktest_case fpu_cases[] = {
	{ "frame_layout", test_frame_layout },
	{ "restore_round_trip", test_restore_round_trip },
	{ "bad_frames_refused", test_bad_frames_refused },
	{ "frame_without_magic_is_fx_only", test_frame_without_magic_is_fx_only },
};
KTEST_SUITE(fpu, fpu_cases);
