/* SPDX-License-Identifier: MIT */
/* kernel/ksyms.h - kernel symbol lookup for backtraces.
 * The table is generated at build time from the linked kernel (tools/gen-ksyms)
 * and linked in a second pass; see linker.ld and the Makefile. */
#ifndef PAGODA_KSYMS_H
#define PAGODA_KSYMS_H

#include "kernel/types.h"

/* Name of the function containing addr and the offset into it, or NULL. */
const char *ksym_lookup(u64 addr, u64 *offset);

#endif
