/* SPDX-License-Identifier: MIT */
/* mm/slab.h - small objects: kmalloc/kfree and named object caches.
 *
 * A cache hands out objects of one size carved from "slabs" (1-8 contiguous
 * pages). kmalloc uses caches of 16, 32, ..., 2048 bytes; bigger requests
 * get whole pages. Objects are 8-byte aligned.
 *
 * Each object slot is   [ tag 8 ][ object ][ red zone 8 ]
 * The tag says allocated or free (and the size kmalloc was asked for): a
 * second kfree of the same object is caught here, in every build. In the
 * debug build (CONFIG_DEBUG_MM) the bytes past the requested size and the red
 * zone hold 0xbb and are checked on kfree (buffer overflow), and freed objects
 * are filled with 0x6b and checked when handed out again (use after free).
 * Every such report stops the kernel naming the cache and the object.
 *
 * Fast path: each CPU keeps a few free objects per cache (a "magazine")
 * touched only by that CPU with interrupts disabled: no lock. The cache lock
 * is taken to refill or flush half a magazine. kmalloc may be called from
 * interrupt context; it returns NULL on failure.
 * Lock order: cache lock, then the page allocator's locks.
 */
#ifndef PAGODA_MM_SLAB_H
#define PAGODA_MM_SLAB_H

#include "kernel/types.h"
#include "mm/buddy.h"

#define KMALLOC_MAX_CACHE_SIZE 2048
#define SLAB_POISON_FREE 0x6b
#define SLAB_REDZONE 0xbb

struct kmem_cache;

void slab_init(void);

/* A cache of objects of `size` bytes (at most KMALLOC_MAX_CACHE_SIZE);
 * NULL if the fixed table of caches is full. Caches are never destroyed. */
struct kmem_cache *kmem_cache_create(const char *name, u32 size);
void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *c, void *obj);

void *kmalloc(size_t size, gfp_t gfp);
static inline void *kzalloc(size_t size, gfp_t gfp) { return kmalloc(size, gfp | __GFP_ZERO); }
void kfree(const void *p);
/* Bytes usable at p (the size class, or the pages of a large allocation). */
size_t ksize(const void *p);

/* Give this CPU's cached free objects back to their slabs, then free every
 * empty slab's pages. Tests use it to see slab memory return to zero. */
void slab_flush_cpu(void);
void slab_shrink(void);

struct slab_cache_info {
	const char *name;
	u32 object_size, objects_per_slab, slab_pages;
	u64 slabs;              /* slabs held */
	u64 objects_in_use;     /* handed out and not yet freed */
	u64 bytes_requested;    /* by kmalloc callers, for the objects in use */
};
/* Cache number i (0 <= i < slab_nr_caches()). */
u32 slab_nr_caches(void);
void slab_cache_info(u32 i, struct slab_cache_info *out);

#endif
