/* user/lib/uffd.c - opening a userfaultfd the way every test and benchmark
 * program does (uffd.h). */
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
