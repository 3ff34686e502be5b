/* SPDX-License-Identifier: MIT */
/* user/lib/uffd.c - opening a userfaultfd the way every test and benchmark
 * program does, and reading a frame from /proc/self/pagemap (uffd.h). */
#include "libc.h"
#include "uffd.h"

int uffd_open(u64 features, u64 *got)
{
	int fd = userfaultfd(O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		ktap_bail("userfaultfd: %s", errno_name(errno));
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	if (ioctl(fd, UFFDIO_API, &api) < 0)
		ktap_bail("UFFDIO_API features %#lx: %s", (unsigned long)features, errno_name(errno));
	if (got)
		*got = api.features;
	return fd;
}

int pagemap_pfn(int fd, const void *addr, u64 *pfn)
{
	u64 e = 0;
	if (pread(fd, &e, sizeof(e), (off_t)((u64)addr / PAGE_SIZE * 8)) != sizeof(e))
		return -1;
	*pfn = (e & PM_PRESENT) ? (e & PM_PFN_MASK) : 0;
	return 0;
}
