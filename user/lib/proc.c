/* SPDX-License-Identifier: MIT */
/* user/lib/proc.c - see proc.h. */
#include "proc.h"
#include "string.h"
#include "sys.h"

long read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY, 0);
	size_t len = 0;

	if (fd < 0)
		return -1;
	/* Pseudo-files may come in several reads; stop at end of file. */
	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(fd);
	return (long)len;
}

int read_maps(struct map_entry *out, int max)
{
	static char buf[64 * 1024];
	char *p = buf;
	int n = 0;

	if (read_file("/proc/self/maps", buf, sizeof(buf)) < 0)
		return -1;
	while (*p && n < max) {
		char *eol = strchr(p, '\n');

		out[n].start = strtoul(p, &p, 16);
		if (*p == '-')
			p++;
		out[n].end = strtoul(p, &p, 16);
		if (*p == ' ')
			p++;
		strncpy(out[n].perms, p, 4);
		out[n].perms[4] = 0;
		n++;
		if (!eol)
			break;
		p = eol + 1;
	}
	return n;
}

long proc_field(const char *path, const char *key)
{
	static char buf[16 * 1024];
	size_t klen = strlen(key);
	char *p = buf;

	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	while (*p) {
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return (long)strtoul(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return -1;
}

bool text_counter(const char *text, const char *name, u64 *value)
{
	size_t len = strlen(name);

	for (const char *p = text; p && *p;) {
		if (!strncmp(p, name, len) && p[len] == ' ') {
			*value = strtoul(p + len + 1, NULL, 10);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

void proc_counters(const char *path, const char *const *names, int n, u64 *value, bool *have)
{
	static char buf[32 * 1024];
	bool read = read_file(path, buf, sizeof(buf)) >= 0;

	for (int i = 0; i < n; i++) {
		value[i] = 0;
		have[i] = read && text_counter(buf, names[i], &value[i]);
	}
}

long proc_counter(const char *path, const char *name)
{
	static char buf[16 * 1024];
	u64 v;

	if (read_file(path, buf, sizeof(buf)) < 0 || !text_counter(buf, name, &v))
		return -1;
	return (long)v;
}
