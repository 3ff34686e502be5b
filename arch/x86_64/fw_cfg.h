/* SPDX-License-Identifier: MIT */
/* arch/x86_64/fw_cfg.h - QEMU's firmware configuration device (fw_cfg), read
 * for one thing: words the virtual machine's owner adds to the kernel
 * command line without rebuilding the boot image.
 *
 * QEMU's `-fw_cfg name=opt/pagoda/cmdline,file=PATH` (or `string=`) makes a
 * named file that the guest reads through two I/O ports: a 16-bit selector
 * (0x510) and a byte-wide data port (0x511), as QEMU's docs/specs/fw_cfg.rst
 * describes. The test harness passes each configuration's command line this
 * way, so one boot image serves every configuration (tools/run-tests).
 *
 * Only under a hypervisor (CPUID's hypervisor bit) and only after the
 * signature "QEMU" reads back: on a real PC those ports may belong to
 * another device. Boot CPU only, before the other CPUs start; no locking.
 */
#ifndef PAGODA_FW_CFG_H
#define PAGODA_FW_CFG_H

#include "kernel/types.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_KEY_SIGNATURE 0x0000     /* "QEMU" */
#define FW_CFG_KEY_FILE_DIR 0x0019      /* be32 count, then FW_CFG_FILE_SIZE-byte entries */
#define FW_CFG_FILE_NAME_MAX 56         /* a directory entry's name field, NUL-padded */

/* Copy the fw_cfg file `name` into buf as a NUL-terminated string (at most
 * size - 1 bytes; a trailing newline is dropped). Returns its length, or -1
 * when there is no such device or file, or -2 when it does not fit. */
long fw_cfg_read_string(const char *name, char *buf, size_t size);

#endif
