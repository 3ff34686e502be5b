/* SPDX-License-Identifier: MIT */
/* tests/kernel/mm/crash_test.c - deliberate memory bugs, to see the debug checks stop the
 * kernel with a useful report. Boot with "mm_crash_test=CASE":
 *   page_twice   free the same page twice
 *   page_ref     free a page someone else still references
 *   page_mapped  free a page that is still mapped (mapcount 1)
 *   page_uaf     write into a freed page, then allocate it again
 *   kfree_twice  kfree the same object twice
 *   redzone      write one byte past a kmalloc'd object, then kfree it
 *   slab_uaf     write into a freed object, then kmalloc it again
 * Each must end in a panic naming the page or object (exit code 35 under
 * "poweroff"); reaching the end of a case is itself reported as a failure. */
#include "kernel/ktest.h"
#include "mm/buddy.h"
#include "mm/slab.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/string.h"

static void mm_crash_test(void)
{
	char c[32];
	if (!cmdline_get("mm_crash_test", c, sizeof(c)))
		return;
	printk("mm_crash_test: %s (a panic report should follow)\n", c);
	struct page *p = alloc_page(0);
	u8 *o = kmalloc(24, GFP_KERNEL);
	if (!p || !o)
		panic("mm_crash_test: no memory to start with");
	if (strcmp(c, "page_twice") == 0) {
		free_page(p);
		free_page(p);
	} else if (strcmp(c, "page_ref") == 0) {
		get_page(p);
		free_page(p);
	} else if (strcmp(c, "page_mapped") == 0) {
		p->mapcount = 1;
		free_page(p);
	} else if (strcmp(c, "page_uaf") == 0) {
		free_page(p);
		((u8 *)page_address(p))[100] = 1;
		alloc_page(0);          /* the per-CPU cache is LIFO: p again */
	} else if (strcmp(c, "kfree_twice") == 0) {
		kfree(o);
		kfree(o);
	} else if (strcmp(c, "redzone") == 0) {
		o[24] = 1;
		kfree(o);
	} else if (strcmp(c, "slab_uaf") == 0) {
		kfree(o);
		o[12] = 1;
		kmalloc(24, GFP_KERNEL);
	} else {
		pr_err("mm_crash_test: unknown case '%s'\n", c);
		return;
	}
	panic("mm_crash_test: %s was NOT detected", c);
}

KTEST_HOOK(mm_crash_test, KTEST_HOOK_MM_INIT, "mm_crash_test", mm_crash_test);
