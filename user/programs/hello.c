/* SPDX-License-Identifier: MIT */
/* hello - the smallest program: one line on the console and exit 0. */
#include "libc.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("hello from user mode, pid %d\n", getpid());
	return 0;
}
