/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/test_vm.c - user address spaces ("test=vm"): VMAs split and merge,
 * faults map the zero page then a fresh page, mprotect and munmap take
 * rights away, fork copies private memory and shares shared memory, faults
 * on every CPU at once into one address space, and every page comes back.
 *
 * The tests run in kernel threads that borrow an address space
 * (kthread_use_mm) and touch it through copy_to_user/copy_from_user. If a
 * copy faults and the trap handler does not resolve user faults itself, the
 * exception table turns the fault into -EFAULT; user_access() below then
 * does what the trap handler does for a user fault (handle_mm_fault with the
 * CPU's error code) and retries, so the same tests work before and after
 * the process side routes #PF to handle_mm_fault.
 */
#include "kernel/rcu.h"
#include "kernel/ktest.h"
#include "kernel/uaccess.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "mm/mm.h"
#include "mm/fault.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "mm/fault_inject.h"
#include "mm/tlbflush.h"
#include "tests/kernel/mm/test_user.h"
#include "arch/x86_64/smp.h"

#define PF_PROT 1UL
#define PF_WRITE 2UL
#define BASE 0x0000100000000000UL       /* 16 TiB: far from anything else */
#define P(n) ((u64)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static int user_access(struct mm_struct *mm, u64 addr, void *buf, size_t n, bool write)
{
	return test_user_access(mm, addr, buf, n, write);
}
static int put_u64(struct mm_struct *mm, u64 addr, u64 v) { return test_put_u64(mm, addr, v); }
static int get_u64(struct mm_struct *mm, u64 addr, u64 *v) { return test_get_u64(mm, addr, v); }

static u64 pte_of(struct mm_struct *mm, u64 addr)
{
	u64 *e = pgtable_walk(mm, addr, PT_PTE);
	return e ? *e : 0;
}

/* The VMA layout as "start-end perms" in pages from BASE, comma separated. */
static void layout(struct mm_struct *mm, char *out, size_t size)
{
	struct vma_set *s = mm->vma_root;
	size_t len = 0;
	out[0] = 0;
	for (u32 i = 0; i < s->nr && len < size; i++) {
		struct vm_area *v = s->v[i];
		len += (size_t)snprintf(out + len, size - len, "%s%lu-%lu %c%c%c%c", len ? "," : "",
					(v->start - BASE) / PAGE_SIZE, (v->end - BASE) / PAGE_SIZE,
					v->flags & VM_READ ? 'r' : '-', v->flags & VM_WRITE ? 'w' : '-',
					v->flags & VM_EXEC ? 'x' : '-', v->flags & VM_SHARED ? 's' : 'p');
	}
}

static bool expect_layout(struct ktest *t, struct mm_struct *mm, const char *want, int line)
{
	char got[256];
	layout(mm, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		ktest_fail(t, __FILE__, line, "layout: expected \"%s\", got \"%s\"", want, got);
		return false;
	}
	return true;
}
#define EXPECT_LAYOUT(t, mm, want) expect_layout(t, mm, want, __LINE__)

/* Compare text line by line, reporting each differing line. */
static void expect_text(struct ktest *t, const char *got, const char *want, int line)
{
	for (u32 n = 1; *got || *want; n++) {
		const char *ge = strchr(got, '\n'), *we = strchr(want, '\n');
		size_t gl = ge ? (size_t)(ge - got) : strlen(got);
		size_t wl = we ? (size_t)(we - want) : strlen(want);
		if (gl != wl || memcmp(got, want, gl) != 0)
			ktest_fail(t, __FILE__, line, "line %u: got \"%.*s\", want \"%.*s\"",
				   n, (int)gl, got, (int)wl, want);
		got += gl + (ge ? 1 : 0);
		want += wl + (we ? 1 : 0);
	}
}

static void test_split_merge(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE, P(64), PROT_NONE, ANON | MAP_FIXED, -1, 0), BASE);
	EXPECT_LAYOUT(t, mm, "0-64 ---p");
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE, P(8), RW, ANON | MAP_FIXED, -1, 0), BASE);
	EXPECT_LAYOUT(t, mm, "0-8 rw-p,8-64 ---p");
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + P(2), P(2), PROT_READ), 0);
	EXPECT_LAYOUT(t, mm, "0-2 rw-p,2-4 r--p,4-8 rw-p,8-64 ---p");
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + P(2), P(2), RW), 0);
	EXPECT_LAYOUT(t, mm, "0-8 rw-p,8-64 ---p");
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE + P(3), P(2)), 0);
	EXPECT_LAYOUT(t, mm, "0-3 rw-p,5-8 rw-p,8-64 ---p");
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE + P(3), P(2)), 0);    /* a hole */
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + P(3), P(2), RW, ANON | MAP_FIXED, -1, 0), BASE + P(3));
	EXPECT_LAYOUT(t, mm, "0-8 rw-p,8-64 ---p");
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + P(2), P(1), RW, ANON | MAP_FIXED_NOREPLACE, -1, 0),
			(u64)-EEXIST);
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + P(6), P(4), PROT_READ, ANON | MAP_FIXED, -1, 0),
			BASE + P(6));
	EXPECT_LAYOUT(t, mm, "0-6 rw-p,6-10 r--p,10-64 ---p");
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + P(16), P(4), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			BASE + P(16));
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + P(17), P(1), PROT_READ), 0);
	EXPECT_LAYOUT(t, mm, "0-6 rw-p,6-10 r--p,10-16 ---p,16-17 rw-s,17-18 r--s,18-20 rw-s,20-64 ---p");
	/* The pieces of one shared object merge back; two objects never do. */
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + P(17), P(1), RW), 0);
	EXPECT_LAYOUT(t, mm, "0-6 rw-p,6-10 r--p,10-16 ---p,16-20 rw-s,20-64 ---p");
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + P(20), P(2), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			BASE + P(20));
	EXPECT_LAYOUT(t, mm, "0-6 rw-p,6-10 r--p,10-16 ---p,16-20 rw-s,20-22 rw-s,22-64 ---p");
	KTEST_EXPECT_EQ(t, mm->nr_vmas, 6);
	/* mprotect over a hole: the part before it changes, then -ENOMEM. */
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE + P(30), P(1)), 0);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + P(29), P(2), PROT_READ), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + P(30), P(1), PROT_READ), (u64)-ENOMEM);
	mm_put(mm);
}

static void test_errors(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	u64 kernel = 0xffff800000000000UL;
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + 1, P(1), RW, ANON | MAP_FIXED, -1, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, 0, RW, ANON, -1, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, MAP_ANONYMOUS, -1, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, MAP_ANONYMOUS | MAP_SHARED | MAP_PRIVATE, -1, 0),
			(u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, MAP_PRIVATE, -1, 0), (u64)-EBADF);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, MAP_SHARED, 99, 0), (u64)-EBADF);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, MAP_SHARED, 1, 0), (u64)-ENODEV);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, MAP_SHARED | 0x80000, 1, 0), (u64)-ENODEV);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, 0x03 | 0x80000, 1, 0), (u64)-95);  /* EOPNOTSUPP */
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, 0x0f, 1, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(2), RW, MAP_PRIVATE, 1, (u64)-4096), (u64)-75); /* EOVERFLOW */
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), PROT_EXEC, MAP_PRIVATE, 1, 0), (u64)-ENODEV);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, P(1), RW, ANON, -1, 1), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, 1UL << 62, RW, ANON, -1, 0), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0, (u64)-4096, RW, ANON, -1, 0), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_mmap(mm, (1UL << 56) - PAGE_SIZE, P(2), RW, ANON | MAP_FIXED, -1, 0),
			(u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_mmap(mm, kernel, P(1), RW, ANON | MAP_FIXED, -1, 0), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE + 1, P(1)), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, BASE, 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, kernel, P(1)), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE + 1, P(1), PROT_READ), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE, P(1), 0x10), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE, P(1), PROT_READ), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, BASE, 0, PROT_READ), 0);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, P(1), 999), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE + 1, P(1), 0), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, P(1), 4), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, 0, 4), 0);
	/* Placement: top-down below mmap_base, a free hint is honoured. */
	long a = do_mmap(mm, 0, P(3), RW, ANON, -1, 0);
	KTEST_EXPECT_EQ(t, a, mm->mmap_base - P(3));
	long b = do_mmap(mm, 0, P(1), RW, ANON, -1, 0);
	KTEST_EXPECT_EQ(t, b, a - P(1));
	KTEST_EXPECT_EQ(t, mm->nr_vmas, 1);     /* adjacent and equal: merged */
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + 5, P(1), RW, ANON, -1, 0), BASE + P(1));
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + P(1), P(1), RW, ANON, -1, 0), a - P(2));
	mm_put(mm);
}

static void test_brk_maps(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	mm_set_brk_start(mm, 0x601234);
	KTEST_EXPECT_EQ(t, mm->brk, 0x602000);
	KTEST_EXPECT_EQ(t, do_brk(mm, 0), 0x602000);
	KTEST_EXPECT_EQ(t, do_brk(mm, 1), 0x602000);
	KTEST_EXPECT_EQ(t, do_brk(mm, 0x602000 + P(4)), 0x602000 + P(4));
	KTEST_EXPECT_EQ(t, mm_setup_stack(mm, 0x7ffffffff000UL, P(33)), 0);
	KTEST_EXPECT_EQ(t, do_mmap(mm, 0x10000000, P(1), PROT_READ | PROT_EXEC,
				   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0), 0x10000000);
	char buf[512];
	mm_format_maps(mm, buf, sizeof(buf));
	const char *want =
		"00602000-00606000 rw-p 00000000 00:00 0                                  [heap]\n"
		"10000000-10001000 r-xs 00000000 00:00 0 \n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";
	expect_text(t, buf, want, __LINE__);
	/* A bounded buffer gets whole lines only. */
	size_t n = mm_format_maps(mm, buf, 100);
	KTEST_EXPECT_EQ(t, n, strlen(want) - strlen(strchr(want, '\n') + 1));
	/* Shrink, and growing into the next mapping fails. */
	KTEST_EXPECT_EQ(t, do_brk(mm, 0x602000 + P(1)), 0x602000 + P(1));
	KTEST_EXPECT_EQ(t, mm->nr_vmas, 3);
	KTEST_EXPECT_EQ(t, do_brk(mm, 0x10000000), 0x602000 + P(1));
	mm_put(mm);
}

static void test_zero_then_fresh(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	kthread_use_mm(mm);
	u64 a = BASE + P(5), v = 1;
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE, P(16), RW, ANON | MAP_FIXED, -1, 0), BASE);
	KTEST_EXPECT_EQ(t, get_u64(mm, a, &v), 0);
	KTEST_EXPECT_EQ(t, v, 0);
	u64 e = pte_of(mm, a);
	KTEST_EXPECT_TRUE(t, pte_present(e) && !pte_write(e) && pte_special(e));
	KTEST_EXPECT_EQ(t, pte_page(e), zero_page);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 0);
	KTEST_EXPECT_EQ(t, mm->pgtable_pages, 3);       /* PDPT, PD, PT */
	KTEST_EXPECT_EQ(t, put_u64(mm, a + 8, 0x1234), 0);
	e = pte_of(mm, a);
	KTEST_EXPECT_TRUE(t, pte_present(e) && pte_write(e) && !pte_special(e));
	KTEST_EXPECT_NE(t, pte_page(e), zero_page);
	KTEST_EXPECT_EQ(t, page_mapcount(pte_page(e)), 1);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 1);
	KTEST_EXPECT_EQ(t, get_u64(mm, a, &v), 0);
	KTEST_EXPECT_EQ(t, v, 0);
	KTEST_EXPECT_EQ(t, get_u64(mm, a + 8, &v), 0);
	KTEST_EXPECT_EQ(t, v, 0x1234);
	/* The zero page itself is still all zero. */
	const u64 *z = page_address(zero_page);
	u64 orr = 0;
	for (u32 i = 0; i < PAGE_SIZE / 8; i++)
		orr |= z[i];
	KTEST_EXPECT_EQ(t, orr, 0);
	/* MAP_POPULATE: resident at once. */
	KTEST_EXPECT_EQ(t, do_mmap(mm, BASE + P(32), P(8), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0),
			BASE + P(32));
	KTEST_EXPECT_EQ(t, mm->rss_pages, 9);
	/* MADV_DONTNEED: the page goes, reads give zero again. */
	KTEST_EXPECT_EQ(t, do_madvise(mm, BASE, P(16), 4), 0);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 8);
	KTEST_EXPECT_EQ(t, get_u64(mm, a + 8, &v), 0);
	KTEST_EXPECT_EQ(t, v, 0);
	kthread_unuse_mm(mm);
	mm_put(mm);
}

static void test_protection(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	kthread_use_mm(mm);
	u64 a = BASE, v = 0;
	KTEST_EXPECT_EQ(t, do_mmap(mm, a, P(4), RW, ANON | MAP_FIXED, -1, 0), a);
	KTEST_EXPECT_EQ(t, put_u64(mm, a, 77), 0);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, a, P(4), PROT_READ), 0);
	KTEST_EXPECT_EQ(t, put_u64(mm, a, 78), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, get_u64(mm, a, &v), 0);
	KTEST_EXPECT_EQ(t, v, 77);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, a, P(4), PROT_NONE), 0);
	KTEST_EXPECT_EQ(t, get_u64(mm, a, &v), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 1);   /* PROT_NONE keeps the page */
	KTEST_EXPECT_EQ(t, do_mprotect(mm, a, P(4), RW), 0);
	KTEST_EXPECT_EQ(t, get_u64(mm, a, &v), 0);
	KTEST_EXPECT_EQ(t, v, 77);
	KTEST_EXPECT_EQ(t, put_u64(mm, a, 79), 0);
	/* Exec of a non-exec VMA is refused by the fault path. */
	KTEST_EXPECT_EQ(t, handle_mm_fault(mm, a + P(1), 16 | 4), VM_FAULT_SIGSEGV);
	/* A read refused by a present entry (SMAP, say) is never "resolved":
	 * returning 0 would retry it forever. */
	KTEST_EXPECT_EQ(t, handle_mm_fault(mm, a, PF_PROT), VM_FAULT_SIGSEGV);
	/* A user fetch from an executable VMA maps the page. */
	KTEST_EXPECT_EQ(t, do_mprotect(mm, a + P(2), P(1), PROT_READ | PROT_EXEC), 0);
	KTEST_EXPECT_EQ(t, handle_mm_fault(mm, a + P(2), 16 | 4), VM_FAULT_DONE);
	KTEST_EXPECT_TRUE(t, pte_present(pte_of(mm, a + P(2))) &&
			  !(pte_of(mm, a + P(2)) & PTE_NX));
	KTEST_EXPECT_EQ(t, handle_mm_fault(mm, USER_SPACE_END, 0), VM_FAULT_SIGSEGV);
	/* munmap: access faults, the tables go too. */
	KTEST_EXPECT_EQ(t, do_munmap_range(mm, a, P(4)), 0);
	KTEST_EXPECT_EQ(t, get_u64(mm, a, &v), (u64)-EFAULT);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 0);
	KTEST_EXPECT_EQ(t, mm->pgtable_pages, 0);
	kthread_unuse_mm(mm);
	mm_put(mm);
}

static void test_madvise(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	u64 sh = BASE, priv = BASE + P(8), v = 0;
	KTEST_EXPECT_EQ(t, do_mmap(mm, sh, P(4), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0), sh);
	KTEST_EXPECT_EQ(t, do_mmap(mm, priv, P(4), RW, ANON | MAP_FIXED, -1, 0), priv);
	kthread_use_mm(mm);
	KTEST_EXPECT_EQ(t, put_u64(mm, sh, 5), 0);
	KTEST_EXPECT_EQ(t, put_u64(mm, priv, 6), 0);
	/* DONTNEED on shared memory drops the mapping, not the contents. */
	KTEST_EXPECT_EQ(t, do_madvise(mm, sh, P(4), 4), 0);
	KTEST_EXPECT_EQ(t, mm->rss_pages, 1);
	KTEST_EXPECT_EQ(t, get_u64(mm, sh, &v), 0);
	KTEST_EXPECT_EQ(t, v, 5);
	/* REMOVE punches a hole: zero afterwards; only for shared memory
	 * that may be written (VM_MAYWRITE: a read-only mprotect keeps it). */
	KTEST_EXPECT_EQ(t, do_madvise(mm, sh, P(4), 9), 0);
	KTEST_EXPECT_EQ(t, get_u64(mm, sh, &v), 0);
	KTEST_EXPECT_EQ(t, v, 0);
	KTEST_EXPECT_EQ(t, do_madvise(mm, priv, P(1), 9), (u64)-EINVAL);
	KTEST_EXPECT_EQ(t, do_mprotect(mm, sh, P(4), PROT_READ), 0);
	KTEST_EXPECT_EQ(t, do_madvise(mm, sh, P(4), 9), 0);
	KTEST_EXPECT_EQ(t, do_madvise(mm, sh, P(4), 8), (u64)-EINVAL);      /* FREE: anon only */
	/* FREE and hints on private memory; a hole in the range: -ENOMEM
	 * after applying to what is mapped. */
	KTEST_EXPECT_EQ(t, do_madvise(mm, priv, P(4), 8), 0);
	KTEST_EXPECT_EQ(t, get_u64(mm, priv, &v), 0);
	KTEST_EXPECT_EQ(t, v, 0);
	KTEST_EXPECT_EQ(t, put_u64(mm, priv, 7), 0);
	KTEST_EXPECT_EQ(t, do_madvise(mm, priv, P(6), 4), (u64)-ENOMEM);
	KTEST_EXPECT_EQ(t, get_u64(mm, priv, &v), 0);
	KTEST_EXPECT_EQ(t, v, 0);
	for (u64 adv = 0; adv <= 3; adv++)
		KTEST_EXPECT_EQ(t, do_madvise(mm, priv, P(4), adv), 0);
	KTEST_EXPECT_EQ(t, do_madvise(mm, priv, P(4), 15), 0);     /* NOHUGEPAGE */
	KTEST_EXPECT_EQ(t, do_madvise(mm, priv, P(4), 23), 0);     /* POPULATE_WRITE */
	KTEST_EXPECT_EQ(t, mm->rss_pages, 4);  /* the shared page read above was punched again */
	kthread_unuse_mm(mm);
	mm_put(mm);
}

/* Fill an address space, fork it, check the copy, tear both down. */
static void test_fork(struct ktest *t)
{
	struct mm_struct *parent = mm_create(), *child = NULL;
	KTEST_ASSERT_TRUE(t, parent);
	u64 priv = BASE, shared = BASE + P(16), zero = BASE + P(32), v = 0;
	KTEST_EXPECT_EQ(t, do_mmap(parent, priv, P(4), RW, ANON | MAP_FIXED, -1, 0), priv);
	KTEST_EXPECT_EQ(t, do_mmap(parent, shared, P(4), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			shared);
	KTEST_EXPECT_EQ(t, do_mmap(parent, zero, P(4), RW, ANON | MAP_FIXED, -1, 0), zero);
	kthread_use_mm(parent);
	KTEST_EXPECT_EQ(t, put_u64(parent, priv, 1), 0);
	KTEST_EXPECT_EQ(t, put_u64(parent, shared, 1), 0);
	KTEST_EXPECT_EQ(t, get_u64(parent, zero, &v), 0);
	kthread_unuse_mm(parent);

	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);
	KTEST_EXPECT_EQ(t, child->nr_vmas, 3);
	KTEST_EXPECT_EQ(t, child->rss_pages, parent->rss_pages);
	KTEST_EXPECT_EQ(t, child->pgtable_pages, parent->pgtable_pages);
	KTEST_EXPECT_EQ(t, pte_page(pte_of(child, zero)), zero_page);
	KTEST_EXPECT_EQ(t, pte_page(pte_of(child, shared)), pte_page(pte_of(parent, shared)));
	/* Copy-on-write: the private page is shared, read-only on both sides. */
	KTEST_EXPECT_EQ(t, pte_page(pte_of(child, priv)), pte_page(pte_of(parent, priv)));
	KTEST_EXPECT_FALSE(t, pte_write(pte_of(child, priv)));
	KTEST_EXPECT_FALSE(t, pte_write(pte_of(parent, priv)));
	KTEST_EXPECT_TRUE(t, pte_write(pte_of(child, shared)));

	kthread_use_mm(child);
	KTEST_EXPECT_EQ(t, get_u64(child, priv, &v), 0);
	KTEST_EXPECT_EQ(t, v, 1);
	KTEST_EXPECT_EQ(t, put_u64(child, priv, 2), 0);
	/* The child's write copied the page. */
	KTEST_EXPECT_NE(t, pte_page(pte_of(child, priv)), pte_page(pte_of(parent, priv)));
	KTEST_EXPECT_EQ(t, put_u64(child, shared, 2), 0);
	KTEST_EXPECT_EQ(t, put_u64(child, shared + P(1), 3), 0);  /* a page first touched by the child */
	kthread_unuse_mm(child);
	mm_put(child);

	kthread_use_mm(parent);
	KTEST_EXPECT_EQ(t, get_u64(parent, priv, &v), 0);
	KTEST_EXPECT_EQ(t, v, 1);
	KTEST_EXPECT_EQ(t, get_u64(parent, shared, &v), 0);
	KTEST_EXPECT_EQ(t, v, 2);
	KTEST_EXPECT_EQ(t, get_u64(parent, shared + P(1), &v), 0);
	KTEST_EXPECT_EQ(t, v, 3);
	kthread_unuse_mm(parent);
	mm_put(parent);
}

/* Everything an address space allocated comes back: pages, tables, slab. */
static void test_no_leak(struct ktest *t)
{
	test_fork(t);                   /* warm the slab caches up */
	u64 before = test_settled_free_pages();
	u64 objects = test_slab_objects();
	s64 tables_before = vm_stat[NR_PAGETABLE];
	test_fork(t);
	test_zero_then_fresh(t);
	test_madvise(t);
	test_split_merge(t);
	u64 after = test_settled_free_pages();       /* waits for the table frees */
	KTEST_EXPECT_EQ(t, vm_stat[NR_PAGETABLE], tables_before);
	KTEST_EXPECT_EQ(t, test_slab_objects(), objects);
	KTEST_EXPECT_EQ(t, after, before);
}

/* fork failing at each allocation in turn: -ENOMEM, nothing leaks, the
 * parent keeps its contents. */
static void test_fork_enomem(struct ktest *t)
{
	struct mm_struct *parent = mm_create();
	KTEST_ASSERT_TRUE(t, parent);
	KTEST_EXPECT_EQ(t, do_mmap(parent, BASE, P(8), RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0), BASE);
	KTEST_EXPECT_EQ(t, do_mmap(parent, BASE + P(600), P(2), RW,
				   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0), BASE + P(600));
	kthread_use_mm(parent);
	KTEST_EXPECT_EQ(t, put_u64(parent, BASE + P(7), 42), 0);
	kthread_unuse_mm(parent);
	u64 rss = parent->rss_pages;
	struct mm_struct *child = NULL;
	KTEST_ASSERT_EQ(t, mm_fork(parent, &child), 0);  /* warm-up */
	mm_put(child);
	u64 before = test_settled_free_pages();
	u32 failures = 0, absorbed = 0;
	for (u64 nth = 1; nth < 200; nth++) {
		child = NULL;
		u64 injected_before = fail_page_alloc_injected();
		fail_page_alloc_set(nth, 0);
		int r = mm_fork(parent, &child);
		fail_page_alloc_set(0, 0);
		bool injected = fail_page_alloc_injected() != injected_before;
		if (r == 0) {
			mm_put(child);
			if (!injected)
				break;  /* nth is past the last allocation fork makes */
			/* The failure hit an allocation with a fallback (the
			 * slab refilled its per-CPU magazine from partial slabs):
			 * fork rightly succeeded. It must still leak nothing. */
			absorbed++;
			if (!KTEST_EXPECT_EQ(t, test_settled_free_pages(), before))
				break;
			continue;
		}
		failures++;
		KTEST_EXPECT_EQ(t, r, (u64)-ENOMEM);
		if (!KTEST_EXPECT_EQ(t, test_settled_free_pages(), before))
			break;
	}
	ktest_log(t, "fork failed cleanly at %u allocation points (%u failures absorbed by a fallback)",
		  failures, absorbed);
	KTEST_EXPECT_GT(t, failures, 3);
	KTEST_EXPECT_EQ(t, test_settled_free_pages(), before);
	KTEST_EXPECT_EQ(t, parent->rss_pages, rss);
	u64 v = 0;
	kthread_use_mm(parent);
	KTEST_EXPECT_EQ(t, get_u64(parent, BASE + P(7), &v), 0);
	kthread_unuse_mm(parent);
	KTEST_EXPECT_EQ(t, v, 42);
	mm_put(parent);
}

/* --- faults from every CPU at once into one address space --- */

#define SMP_PAGES 256
#define LEADER_SLOT 512         /* byte offset no CPU's own slot reaches */
#define STALE_PAGES 4

struct smp_ctx {
	struct mm_struct *mm;
	u32 leader, ncpus;
	u32 barrier;
	u32 errors, stale;
	u32 phase_errors[4];
};

/* The k-th meeting point of all participants (k = 1, 2, ...). */
static void smp_barrier(struct smp_ctx *c, u32 k)
{
	__atomic_add_fetch(&c->barrier, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&c->barrier, __ATOMIC_SEQ_CST) < k * c->ncpus)
		cpu_relax();
}

static void smp_worker(void *arg)
{
	struct smp_ctx *c = arg;
	u32 cpu = smp_processor_id();
	u64 v;
	kthread_use_mm(c->mm);
	/* 1. Every CPU reads the first half: zero-page faults racing, and a
	 *    zero-page translation cached in every TLB. */
	for (u32 i = 0; i < SMP_PAGES / 2; i++) {
		v = 1;
		if (get_u64(c->mm, BASE + P(i) + 8 * cpu, &v) || v != 0)
			__atomic_add_fetch(&c->phase_errors[0], 1, __ATOMIC_RELAXED);
	}
	smp_barrier(c, 1);
	/* 2. One CPU writes a few of them: each write replaces the zero page,
	 *    which must flush the translations the others cached just before
	 *    (re-read right before, so that they are still in the TLB)... */
	for (u32 i = 0; i < STALE_PAGES; i++)
		if (copy_from_user(&v, BASE + P(i) + LEADER_SLOT, 8) || v != 0)
			__atomic_add_fetch(&c->phase_errors[1], 1, __ATOMIC_RELAXED);
	smp_barrier(c, 2);
	if (cpu == c->leader)
		for (u32 i = 0; i < STALE_PAGES; i++)
			if (put_u64(c->mm, BASE + P(i) + LEADER_SLOT, 0x5a00 + i))
				__atomic_add_fetch(&c->phase_errors[2], 1, __ATOMIC_RELAXED);
	smp_barrier(c, 3);
	/* ...or they would still read zeros here. */
	for (u32 i = 0; i < STALE_PAGES; i++)
		if (copy_from_user(&v, BASE + P(i) + LEADER_SLOT, 8) || v != 0x5a00 + i)
			__atomic_add_fetch(&c->stale, 1, __ATOMIC_RELAXED);
	/* 3. All CPUs write every page at their own slot, in different orders:
	 *    write faults on the second half race with each other. */
	for (u32 i = 0; i < SMP_PAGES; i++) {
		u32 p = (i * 7 + cpu) % SMP_PAGES;
		if (put_u64(c->mm, BASE + P(p) + 8 * cpu, ((u64)p << 8) | cpu))
			__atomic_add_fetch(&c->phase_errors[3], 1, __ATOMIC_RELAXED);
	}
	smp_barrier(c, 4);
	/* 4. Every CPU sees every CPU's values. */
	for (u32 p = 0; p < SMP_PAGES; p++)
		for (u32 other = 0; other < MAX_CPUS; other++) {
			if (!cpumask_test_cpu(other, &cpu_online_mask))
				continue;
			if (copy_from_user(&v, BASE + P(p) + 8 * other, 8) || v != (((u64)p << 8) | other))
				__atomic_add_fetch(&c->stale, 1, __ATOMIC_RELAXED);
		}
	kthread_unuse_mm(c->mm);
}

static void test_smp_faults(struct ktest *t)
{
	struct smp_ctx c = { .mm = mm_create(), .ncpus = num_online_cpus(),
			     .leader = cpumask_first(&cpu_online_mask) };
	KTEST_ASSERT_TRUE(t, c.mm);
	KTEST_EXPECT_EQ(t, do_mmap(c.mm, BASE, P(SMP_PAGES), RW, ANON | MAP_FIXED, -1, 0), BASE);
	u64 flushes = tlb_stat_read(NR_TLB_REMOTE_FLUSH);
	ktest_on_cpus(&cpu_online_mask, smp_worker, &c);
	for (u32 i = 0; i < 4; i++)
		if (c.phase_errors[i])
			ktest_fail(t, __FILE__, __LINE__, "%u errors in step %u", c.phase_errors[i], i + 1);
	KTEST_EXPECT_EQ(t, c.stale, 0);
	KTEST_EXPECT_EQ(t, c.mm->rss_pages, SMP_PAGES);
	KTEST_EXPECT_TRUE(t, cpumask_empty(&c.mm->cpumask));
	/* Every CPU's value in every page: no write went to a page that was
	 * then replaced. */
	u32 bad = 0;
	for (u32 p = 0; p < SMP_PAGES; p++) {
		const u64 *kva = page_address(pte_page(pte_of(c.mm, BASE + P(p))));
		for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
			if (cpumask_test_cpu(cpu, &cpu_online_mask) && kva[cpu] != (((u64)p << 8) | cpu))
				bad++;
	}
	KTEST_EXPECT_EQ(t, bad, 0);
	ktest_log(t, "%u CPUs, %u pages, %lu remote flushes", num_online_cpus(),
		  SMP_PAGES, tlb_stat_read(NR_TLB_REMOTE_FLUSH) - flushes);
	mm_put(c.mm);
}

/* --- TLB flushes reach the other CPUs --- */

struct flush_ctx {
	struct mm_struct *mm;
	u32 leader, followers;
	u32 phase, ready;
	u32 errors, stale;
};

static void flush_worker(void *arg)
{
	struct flush_ctx *c = arg;
	u32 cpu = smp_processor_id();
	u64 v = 0;
	kthread_use_mm(c->mm);
	if (cpu == c->leader) {
		if (put_u64(c->mm, BASE, 0x11) || put_u64(c->mm, BASE + P(1), 0x22))
			c->errors++;
		__atomic_store_n(&c->phase, 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->ready, c->followers);
		/* Every follower now caches a writable translation of both
		 * pages. Narrowing the rights must reach them... */
		if (do_mprotect(c->mm, BASE, P(2), PROT_READ))
			c->errors++;
		__atomic_store_n(&c->phase, 2, __ATOMIC_SEQ_CST);
		test_wait_until(&c->ready, 2 * c->followers);
		/* ...and so must removing them, before the pages are freed. */
		if (do_munmap_range(c->mm, BASE, P(2)))
			c->errors++;
		__atomic_store_n(&c->phase, 3, __ATOMIC_SEQ_CST);
		test_wait_until(&c->ready, 3 * c->followers);
	} else {
		test_wait_until(&c->phase, 1);
		if (get_u64(c->mm, BASE, &v) || v != 0x11 || put_u64(c->mm, BASE + P(1) + 8 * cpu, cpu))
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->phase, 2);
		/* Plain copies: a stale writable TLB entry would let this through. */
		if (copy_to_user(BASE + P(1) + 8 * cpu, &v, 8) == 0)
			__atomic_add_fetch(&c->stale, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
		test_wait_until(&c->phase, 3);
		if (copy_from_user(&v, BASE, 8) == 0)
			__atomic_add_fetch(&c->stale, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
	}
	kthread_unuse_mm(c->mm);
}

static void test_remote_flush(struct ktest *t)
{
	cpumask_t online;
	cpumask_copy(&online, &cpu_online_mask);
	if (cpumask_weight(&online) < 2) {
		ktest_skip(t, "needs two CPUs");
		return;
	}
	struct flush_ctx c = { .mm = mm_create() };
	KTEST_ASSERT_TRUE(t, c.mm);
	c.leader = cpumask_first(&online);
	c.followers = cpumask_weight(&online) - 1;
	KTEST_EXPECT_EQ(t, do_mmap(c.mm, BASE, P(2), RW, ANON | MAP_FIXED, -1, 0), BASE);
	u64 received = tlb_stat_read(NR_TLB_REMOTE_FLUSH_RECEIVED);
	ktest_on_cpus(&online, flush_worker, &c);
	KTEST_EXPECT_EQ(t, c.errors, 0);
	KTEST_EXPECT_EQ(t, c.stale, 0);
	KTEST_EXPECT_GE(t, tlb_stat_read(NR_TLB_REMOTE_FLUSH_RECEIVED) - received, 2 * c.followers);
	mm_put(c.mm);
}

/* exec's helpers: segments with data, a shared page, the stack. */
static void test_exec_helpers(struct ktest *t)
{
	struct mm_struct *mm = mm_create();
	KTEST_ASSERT_TRUE(t, mm);
	static const char text[] = "text bytes";
	static const char data[] = "data!";
	KTEST_EXPECT_EQ(t, mm_map_segment(mm, 0x400000, 0x1800, text, sizeof(text), PROT_READ | PROT_EXEC), 0);
	/* The data segment starts inside the text's last page. */
	KTEST_EXPECT_EQ(t, mm_map_segment(mm, 0x401900, 0x2000, data, sizeof(data), RW), 0);
	KTEST_EXPECT_EQ(t, mm_setup_stack(mm, 0x7ffffffff000UL, P(8)), 0);
	mm_set_brk_start(mm, 0x403900);
	char buf[512];
	mm_format_maps(mm, buf, sizeof(buf));
	const char *want =
		"00400000-00401000 r-xp 00000000 00:00 0 \n"
		"00401000-00402000 rwxp 00000000 00:00 0 \n"
		"00402000-00404000 rw-p 00000000 00:00 0 \n"
		"7fffffff7000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";
	expect_text(t, buf, want, __LINE__);
	kthread_use_mm(mm);
	char got[16];
	KTEST_EXPECT_EQ(t, user_access(mm, 0x400000, got, sizeof(text), false), 0);
	KTEST_EXPECT_EQ(t, memcmp(got, text, sizeof(text)), 0);
	KTEST_EXPECT_EQ(t, user_access(mm, 0x401900, got, sizeof(data), false), 0);
	KTEST_EXPECT_EQ(t, memcmp(got, data, sizeof(data)), 0);
	u64 v = 1;
	KTEST_EXPECT_EQ(t, get_u64(mm, 0x403000, &v), 0);        /* bss: zero */
	KTEST_EXPECT_EQ(t, v, 0);
	KTEST_EXPECT_EQ(t, put_u64(mm, 0x400000, 0), (u64)-EFAULT);      /* text is read-only */
	KTEST_EXPECT_EQ(t, put_u64(mm, 0x7ffffffff000UL - 8, 5), 0);
	kthread_unuse_mm(mm);
	mm_put(mm);
}

static const struct ktest_case vm_cases[] = {
	{ "split_merge", test_split_merge },
	{ "errors", test_errors },
	{ "brk_maps", test_brk_maps },
	{ "zero_then_fresh", test_zero_then_fresh },
	{ "protection", test_protection },
	{ "madvise", test_madvise },
	{ "fork", test_fork },
	{ "exec_helpers", test_exec_helpers },
	{ "smp_faults", test_smp_faults },
	{ "remote_flush", test_remote_flush },
	{ "fork_enomem", test_fork_enomem },
	{ "no_leak", test_no_leak },
};
KTEST_SUITE(vm, vm_cases);
