/* SPDX-License-Identifier: MIT */
/* kernel/cmdline.c - lookups in boot_info.cmdline. */
#include "kernel/cmdline.h"
#include "kernel/bootinfo.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "arch/x86_64/fw_cfg.h"

size_t cmdline_add_from_fw_cfg(void)
{
	static char extra[BOOT_CMDLINE_MAX];
	long n = fw_cfg_read_string(CMDLINE_FW_CFG_FILE, extra, sizeof(extra));
	if (n == -2) {
		pr_err("cmdline: fw_cfg %s is longer than %d bytes; its words are ignored\n",
		       CMDLINE_FW_CFG_FILE, BOOT_CMDLINE_MAX - 1);
		return 0;
	}
	if (n <= 0)
		return 0;
	size_t have = strlen(boot_info.cmdline);
	if (have + 1 + (size_t)n >= sizeof(boot_info.cmdline)) {
		pr_err("cmdline: GRUB's line and fw_cfg's words are longer than %d bytes together; "
		       "fw_cfg's words are ignored\n", BOOT_CMDLINE_MAX - 1);
		return 0;
	}
	if (have > 0)
		boot_info.cmdline[have++] = ' ';
	memcpy(boot_info.cmdline + have, extra, (size_t)n + 1);
	return (size_t)n;
}

/* Find "key" or "key=..." as a whole word; return a pointer past the key. */
static const char *find_key(const char *key)
{
	size_t klen = strlen(key);
	const char *p = boot_info.cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - word) >= klen && strncmp(word, key, klen) == 0 &&
		    (word[klen] == '=' || word[klen] == ' ' || word[klen] == 0))
			return word + klen;
	}
	return NULL;
}

bool cmdline_get(const char *key, char *buf, size_t size)
{
	const char *v = find_key(key);
	if (!v)
		return false;
	if (size == 0)
		return true;
	size_t n = 0;
	if (*v == '=') {
		v++;
		while (v[n] && v[n] != ' ' && n + 1 < size) {
			buf[n] = v[n];
			n++;
		}
		/* A value cut short would run the wrong thing quietly (a
		 * program list ending in half a name): say so. */
		if (v[n] && v[n] != ' ')
			printk(KERN_WARNING "cmdline: the value of %s= is longer than %lu bytes; "
			       "it was cut\n", key, (unsigned long)size - 1);
	}
	buf[n] = 0;
	return true;
}

bool cmdline_has(const char *key)
{
	return find_key(key) != NULL;
}

long cmdline_long(const char *key, long def)
{
	char buf[32];
	if (!cmdline_get(key, buf, sizeof(buf)) || !buf[0])
		return def;
	long v = 0;
	for (const char *p = buf; *p; p++) {
		if (*p < '0' || *p > '9')
			return def;
		v = v * 10 + (*p - '0');
	}
	return v;
}

bool list_contains(const char *list, const char *item)
{
	size_t ilen = strlen(item);
	const char *p = list;
	while (*p) {
		const char *start = p;
		while (*p && *p != ',')
			p++;
		if ((size_t)(p - start) == ilen && strncmp(start, item, ilen) == 0)
			return true;
		if (*p == ',')
			p++;
	}
	return false;
}

void cmdline_debug_switch(const char *who, const char *word, bool *flag, const char *what)
{
	*flag = cmdline_has(word);
	if (*flag)
		printk(KERN_WARNING "%s: %s: %s (negative control)\n", who, word, what);
}
