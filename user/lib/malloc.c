/* SPDX-License-Identifier: MIT */
/* user/lib/malloc.c - see malloc.h. */
#include "malloc.h"
#include "string.h"
#include "sys.h"
#include "thread.h"

#define MIN_SHIFT 4			/* 16 bytes */
#define MAX_SHIFT 11			/* 2 KiB */
#define NCLASS (MAX_SHIFT - MIN_SHIFT + 1)
#define CHUNK (64 * 1024)

/* Every block starts with this header; the user's bytes follow. 16 bytes,
 * so user pointers stay 16-byte aligned. */
struct header {
	size_t size;	/* class size, or the whole mapping's length */
	u32 cls;	/* size class index, or NCLASS for a large block */
	u32 magic;
};
#define MAGIC 0x6d616c6cu

struct free_block {
	struct free_block *next;
};

static struct free_block *free_list[NCLASS];
static u8 *chunk_pos, *chunk_end;
static spinlock_t lock;

static void *large_alloc(size_t n)
{
	size_t len = (n + sizeof(struct header) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	struct header *h = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (h == MAP_FAILED)
		return NULL;
	h->size = len;
	h->cls = NCLASS;
	h->magic = MAGIC;
	return h + 1;
}

void *malloc(size_t n)
{
	u32 cls = 0;
	size_t size;
	struct header *h;

	if (n + sizeof(struct header) > (1UL << MAX_SHIFT))
		return large_alloc(n);
	while ((1UL << (cls + MIN_SHIFT)) < n + sizeof(struct header))
		cls++;
	size = 1UL << (cls + MIN_SHIFT);

	spin_lock(&lock);
	if (free_list[cls]) {
		h = (struct header *)free_list[cls];
		free_list[cls] = free_list[cls]->next;
	} else {
		if (chunk_pos + size > chunk_end) {
			u8 *c = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (c == MAP_FAILED) {
				spin_unlock(&lock);
				return NULL;
			}
			chunk_pos = c;
			chunk_end = c + CHUNK;
		}
		h = (struct header *)chunk_pos;
		chunk_pos += size;
	}
	spin_unlock(&lock);
	h->size = size;
	h->cls = cls;
	h->magic = MAGIC;
	return h + 1;
}

void *calloc(size_t count, size_t size)
{
	void *p;

	if (size && count > (size_t)-1 / size)
		return NULL;
	p = malloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

void free(void *p)
{
	struct header *h;
	struct free_block *b;
	u32 cls;

	if (!p)
		return;
	h = (struct header *)p - 1;
	if (h->magic != MAGIC) {
		static const char msg[] = "free: bad pointer\n";

		write(2, msg, sizeof(msg) - 1);
		exit(126);
	}
	h->magic = 0;
	if (h->cls == NCLASS) {
		munmap(h, h->size);
		return;
	}
	cls = h->cls;
	b = (struct free_block *)h;
	spin_lock(&lock);
	b->next = free_list[cls];
	free_list[cls] = b;
	spin_unlock(&lock);
}
