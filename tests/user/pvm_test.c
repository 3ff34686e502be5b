/* SPDX-License-Identifier: MIT */
/* pvm_test - process_vm_readv(2): reading another process's memory (and our
 * own), with Linux's answers for bad arguments. The kernel reaches the
 * remote pages through read-only pins, which unshare copy-on-write pages
 * first (docs/cow.md): after fork, what we read must be what the other
 * process maps, never the page it shared with us before writing.
 */
#include "libc.h"

#define CHUNK 6000              /* more than a page: copies cross pages */

static u8 own[CHUNK], got[CHUNK];

static bool filled(const u8 *p, size_t n, u8 seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (u8)(seed + i * 7))
			return false;
	return true;
}

static void fill(u8 *p, size_t n, u8 seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(seed + i * 7);
}

int main(void)
{
	ktap_plan(9);
	pid_t me = getpid();
	fill(own, CHUNK, 3);

	/* Our own memory, two remote pieces into three local ones. */
	struct iovec remote[2] = { { own, 1000 }, { own + 1000, CHUNK - 1000 } };
	struct iovec local[3] = { { got, 10 }, { got + 10, 4000 }, { got + 4010, CHUNK - 4010 } };
	ssize_t n = process_vm_readv(me, local, 3, remote, 2, 0);
	ktap_ok(n == CHUNK && filled(got, CHUNK, 3), "read our own memory through iovecs (%ld bytes)", (long)n);

	/* A child writes its private copy after fork; we read the child's. */
	volatile u32 *flag = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (flag == MAP_FAILED)
		ktap_bail("mmap of the shared flag page failed: %s", errno_name(errno));
	*flag = 0;
	pid_t child = fork();
	if (child == 0) {
		fill(own, CHUNK / 2, 99);      /* half rewritten, half still shared */
		*flag = 1;
		while (*flag != 2)
			__asm__ volatile("pause");
		exit(0);
	}
	while (*flag != 1)
		__asm__ volatile("pause");
	memset(got, 0, sizeof(got));
	struct iovec r1 = { own, CHUNK }, l1 = { got, CHUNK };
	n = process_vm_readv(child, &l1, 1, &r1, 1, 0);
	ktap_ok(n == CHUNK && filled(got, CHUNK / 2, 99) && filled(got + CHUNK / 2, CHUNK / 2, (u8)(3 + (CHUNK / 2) * 7)),
		"read the child's copy-on-write memory: its writes, and the shared rest");
	ktap_ok(filled(own, CHUNK, 3), "our own memory is unchanged by the child's writes and by the read");
	*flag = 2;
	int status = 0;
	ktap_ok(wait4(child, &status, 0, NULL) == child && status == 0, "the child exited cleanly");

	/* Linux's errors. */
	errno = 0;
	ktap_ok(process_vm_readv(me, &l1, 1, &r1, 1, 1) == -1 && errno == EINVAL, "flags != 0: EINVAL");
	errno = 0;
	ktap_ok(process_vm_readv(me, &l1, 1025, &r1, 1, 0) == -1 && errno == EINVAL, "more than 1024 iovecs: EINVAL");
	errno = 0;
	ktap_ok(process_vm_readv(child, &l1, 1, &r1, 1, 0) == -1 && errno == ESRCH, "a pid that has gone: ESRCH");
	struct iovec bad = { (void *)0x10000, 16 };
	errno = 0;
	ktap_ok(process_vm_readv(me, &l1, 1, &bad, 1, 0) == -1 && errno == EFAULT, "an unmapped remote address: EFAULT");
	struct iovec two[2] = { { own, 100 }, { (void *)0x10000, 16 } };
	n = process_vm_readv(me, &l1, 1, two, 2, 0);
	ktap_ok(n == 100, "a good piece, then a bad one: the bytes of the good one (%ld)", (long)n);
	return ktap_finish();
}
