/* SPDX-License-Identifier: MIT */
/* arch/x86_64/fw_cfg.c - reading a named file from QEMU's fw_cfg device
 * through its I/O ports (fw_cfg.h). */
#include "arch/x86_64/fw_cfg.h"
#include "arch/x86_64/cpu.h"
#include "kernel/string.h"

/* One directory entry: size and selector are big-endian. */
struct fw_cfg_file {
	u32 size_be;
	u16 select_be;
	u16 reserved;
	char name[FW_CFG_FILE_NAME_MAX];
};

static void fw_cfg_select(u16 key)
{
	outw(FW_CFG_PORT_SEL, key);
}

/* Reads continue where the last one stopped, until the next select. */
static void fw_cfg_read(void *buf, size_t len)
{
	u8 *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = inb(FW_CFG_PORT_DATA);
}

static u32 be32(u32 v) { return __builtin_bswap32(v); }
static u16 be16(u16 v) { return __builtin_bswap16(v); }

static bool fw_cfg_present(void)
{
	if (!cpu_under_hypervisor())
		return false;
	char sig[4];
	fw_cfg_select(FW_CFG_KEY_SIGNATURE);
	fw_cfg_read(sig, sizeof(sig));
	return memcmp(sig, "QEMU", 4) == 0;
}

/* The directory entry for name; false if there is none. */
static bool fw_cfg_find(const char *name, struct fw_cfg_file *out)
{
	u32 count_be;
	fw_cfg_select(FW_CFG_KEY_FILE_DIR);
	fw_cfg_read(&count_be, sizeof(count_be));
	u32 count = be32(count_be);
	for (u32 i = 0; i < count; i++) {
		fw_cfg_read(out, sizeof(*out));
		out->name[FW_CFG_FILE_NAME_MAX - 1] = 0;
		if (strcmp(out->name, name) == 0)
			return true;
	}
	return false;
}

long fw_cfg_read_string(const char *name, char *buf, size_t size)
{
	struct fw_cfg_file f;
	if (size == 0 || !fw_cfg_present() || !fw_cfg_find(name, &f))
		return -1;
	u32 len = be32(f.size_be);
	if (len >= size)
		return -2;
	fw_cfg_select(be16(f.select_be));
	fw_cfg_read(buf, len);
	buf[len] = 0;
	/* A file written by an editor or `echo` ends in a newline. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = 0;
	return (long)len;
}
