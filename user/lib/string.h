/* SPDX-License-Identifier: MIT */
/* user/lib/string.h - memory and string functions (string.c). The compiler
 * may also emit calls to memcpy, memset, memmove and memcmp by itself. */
#ifndef USER_STRING_H
#define USER_STRING_H

#include "types.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *hay, const char *needle);
char *strncpy(char *dst, const char *src, size_t n);
/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t strlcpy(char *dst, const char *src, size_t size);
/* Parse an unsigned number in base 10 or 16 ("0x" prefix, or base 16);
 * *end is set past the last digit. */
unsigned long strtoul(const char *s, char **end, int base);

#endif
