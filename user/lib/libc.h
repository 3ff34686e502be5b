/* SPDX-License-Identifier: MIT */
/* user/lib/libc.h - everything a user program needs, in one include. */
#ifndef USER_LIBC_H
#define USER_LIBC_H

#include "types.h"
#include "syscall.h"
#include "sys.h"
#include "signal.h"
#include "string.h"
#include "stdio.h"
#include "malloc.h"
#include "thread.h"
#include "ktap.h"
#include "proc.h"
#include "stats.h"

#endif
