/* SPDX-License-Identifier: MIT */
/* mm/slab.c - object caches and kmalloc; see slab.h for the layout and rules. */
#include "mm/slab.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#ifndef HOST_TEST
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#else
#include "mm/host_env.h"
#endif

#define MAX_CACHES 24
#define MAGAZINE 16             /* free objects kept per CPU per cache */
#define SLAB_MIN_OBJECTS 8      /* pick the slab order so at least this many fit */
#define SLAB_MAX_ORDER 3

#define SLAB_MAGIC 0x51ab51ab51ab51abUL
#define TAG_ALLOCATED 0xA110C8EDu
#define TAG_FREE 0xF4EEF4EEu
#define TAG_SIZE 8
#define REDZONE_SIZE 8

/* The header at the start of each slab's first page. */
struct slab {
	u64 magic;
	struct kmem_cache *cache;
	struct list_head link;  /* on the cache's partial or full list */
	void *freelist;         /* free objects; next pointer in their first 8 bytes */
	u32 inuse;              /* objects not on the freelist */
	u32 total;
};

struct slab_cpu {
	u32 count;
	void *objs[MAGAZINE];
	u64 allocs, frees;              /* counters, this CPU only */
	u64 bytes_alloc, bytes_freed;
};

struct kmem_cache {
	const char *name;
	u32 size;               /* object bytes, a multiple of 8 */
	u32 stride;             /* tag + object + red zone */
	u32 order;              /* slab = 2^order pages */
	u32 per_slab;
	u32 first;              /* offset of the first slot in a slab */
	spinlock_t lock;        /* the lists and every slab's freelist */
	struct list_head partial, full;
	u64 nr_slabs;
	struct slab_cpu cpu[MAX_CPUS];
};

static struct kmem_cache caches[MAX_CACHES];
static u32 nr_caches;
static const u32 kmalloc_sizes[] = { 16, 32, 64, 128, 256, 512, 1024, 2048 };
static struct kmem_cache *kmalloc_caches[ARRAY_SIZE(kmalloc_sizes)];

static inline u64 *obj_tag(void *obj) { return (u64 *)obj - 1; }
static inline u64 make_tag(u32 state, u32 req) { return ((u64)state << 32) | req; }
static inline u32 tag_state(u64 tag) { return (u32)(tag >> 32); }
static inline u32 tag_req(u64 tag) { return (u32)tag; }

static __noreturn void slab_bug(struct kmem_cache *c, const void *obj, const char *why)
{
	printk(KERN_EMERG "slab: cache '%s' (object size %u), object %p: %s\n",
	       c ? c->name : "?", c ? c->size : 0, obj, why);
	if (obj)
		dump_page(virt_to_page(obj), "the object's page");
	panic("slab: %s (object %p, cache %s)", why, obj, c ? c->name : "?");
}

struct kmem_cache *kmem_cache_create(const char *name, u32 size)
{
	if (size == 0 || size > KMALLOC_MAX_CACHE_SIZE || nr_caches == MAX_CACHES)
		return NULL;
	struct kmem_cache *c = &caches[nr_caches++];
	c->name = name;
	c->size = (u32)ALIGN_UP(size, 8);
	c->stride = TAG_SIZE + c->size + REDZONE_SIZE;
	c->first = (u32)ALIGN_UP(sizeof(struct slab), 16);
	c->order = 0;
	while (c->order < SLAB_MAX_ORDER &&
	       ((PAGE_SIZE << c->order) - c->first) / c->stride < SLAB_MIN_OBJECTS)
		c->order++;
	c->per_slab = (u32)(((PAGE_SIZE << c->order) - c->first) / c->stride);
	spin_init(&c->lock, "slab cache");
	list_init(&c->partial);
	list_init(&c->full);
	return c;
}

/* --- slabs (cache lock held, interrupts off) --- */

static struct slab *new_slab(struct kmem_cache *c)
{
	struct page *pg = alloc_pages(c->order ? __GFP_COMP : 0, c->order);
	if (!pg)
		return NULL;
	pg->flags |= PG_slab;
	vm_stat_add(NR_SLAB_PAGES, 1L << c->order);
	struct slab *s = page_address(pg);
	s->magic = SLAB_MAGIC;
	s->cache = c;
	s->freelist = NULL;
	s->inuse = 0;
	s->total = c->per_slab;
	/* Build the freelist backwards so objects go out in address order. */
	for (u32 i = c->per_slab; i-- > 0;) {
		u8 *slot = (u8 *)s + c->first + (u64)i * c->stride;
		void *obj = slot + TAG_SIZE;
		*obj_tag(obj) = make_tag(TAG_FREE, 0);
		if (CONFIG_DEBUG_MM) {
			memset(obj, SLAB_POISON_FREE, c->size);
			memset((u8 *)obj + c->size, SLAB_REDZONE, REDZONE_SIZE);
		}
		*(void **)obj = s->freelist;
		s->freelist = obj;
	}
	list_add(&s->link, &c->partial);
	c->nr_slabs++;
	return s;
}

static void free_slab(struct kmem_cache *c, struct slab *s)
{
	list_del(&s->link);
	c->nr_slabs--;
	s->magic = 0;
	struct page *pg = virt_to_page(s);
	pg->flags &= ~PG_slab;
	vm_stat_add(NR_SLAB_PAGES, -(1L << c->order));
	free_pages(pg, c->order);
}

static struct slab *slab_of(struct kmem_cache *c, const void *obj)
{
	struct page *head = compound_head(virt_to_page(obj));
	if (!(head->flags & PG_slab))
		slab_bug(c, obj, "freed object is not in a slab");
	struct slab *s = page_address(head);
	if (s->magic != SLAB_MAGIC || (c && s->cache != c))
		slab_bug(c, obj, "freed object belongs to another cache");
	u64 off = (u64)((const u8 *)obj - (const u8 *)s);
	if (off < s->cache->first + TAG_SIZE || (off - s->cache->first - TAG_SIZE) % s->cache->stride != 0)
		slab_bug(s->cache, obj, "pointer is not the start of an object");
	return s;
}

/* Move up to n objects from the slabs into the magazine. */
static void refill(struct kmem_cache *c, struct slab_cpu *m, u32 n)
{
	spin_lock(&c->lock);
	while (m->count < n) {
		if (list_empty(&c->partial) && !new_slab(c))
			break;
		struct slab *s = list_first_entry(&c->partial, struct slab, link);
		while (s->freelist && m->count < n) {
			void *obj = s->freelist;
			s->freelist = *(void **)obj;
			if (CONFIG_DEBUG_MM)    /* the freelist link was not poison */
				memset(obj, SLAB_POISON_FREE, sizeof(void *));
			s->inuse++;
			m->objs[m->count++] = obj;
		}
		if (!s->freelist) {
			list_del(&s->link);
			list_add(&s->link, &c->full);
		}
	}
	spin_unlock(&c->lock);
}

/* Move the magazine's oldest n objects back to their slabs. */
static void flush(struct kmem_cache *c, struct slab_cpu *m, u32 n)
{
	spin_lock(&c->lock);
	for (u32 i = 0; i < n && i < m->count; i++) {
		void *obj = m->objs[i];
		struct slab *s = slab_of(c, obj);
		bool was_full = s->freelist == NULL;
		*(void **)obj = s->freelist;
		s->freelist = obj;
		s->inuse--;
		if (was_full) {
			list_del(&s->link);
			list_add(&s->link, &c->partial);
		}
		/* An empty slab is freed at once unless it is the only slab
		 * with free objects: keeping one avoids freeing and allocating
		 * a page on every alloc/free pair at a slab boundary. */
		bool only_one = c->partial.next == &s->link && s->link.next == &c->partial;
		if (s->inuse == 0 && !only_one)
			free_slab(c, s);
	}
	u32 left = m->count > n ? m->count - n : 0;
	memmove(&m->objs[0], &m->objs[m->count - left], left * sizeof(void *));
	m->count = left;
	spin_unlock(&c->lock);
}

/* --- objects --- */

static void check_poison(struct kmem_cache *c, void *obj)
{
	const u8 *b = obj;
	for (u32 i = sizeof(void *); i < c->size; i++)
		if (b[i] != SLAB_POISON_FREE) {
			printk(KERN_EMERG "slab: byte %u is 0x%x, poison is 0x%x\n", i, b[i],
			       SLAB_POISON_FREE);
			slab_bug(c, obj, "object written after it was freed (poison overwritten)");
		}
}

static void *cache_alloc(struct kmem_cache *c, gfp_t gfp, u32 req)
{
	u64 flags = local_irq_save();
	struct slab_cpu *m = &c->cpu[smp_processor_id()];
	if (m->count == 0)
		refill(c, m, MAGAZINE / 2);
	if (m->count == 0) {
		local_irq_restore(flags);
		return NULL;
	}
	void *obj = m->objs[--m->count];
	m->allocs++;
	m->bytes_alloc += req;
	local_irq_restore(flags);

	u64 tag = *obj_tag(obj);
	if (tag_state(tag) != TAG_FREE)
		slab_bug(c, obj, "free object's tag overwritten (overflow from the object before?)");
	if (CONFIG_DEBUG_MM) {
		check_poison(c, obj);
		/* Everything past what the caller asked for is red zone. */
		memset((u8 *)obj + req, SLAB_REDZONE, c->size - req);
	}
	*obj_tag(obj) = make_tag(TAG_ALLOCATED, req);
	if (gfp & __GFP_ZERO)
		memset(obj, 0, req);
	return obj;
}

static void cache_free(struct kmem_cache *c, void *obj)
{
	u64 tag = *obj_tag(obj);
	if (tag_state(tag) == TAG_FREE)
		slab_bug(c, obj, "double free");
	if (tag_state(tag) != TAG_ALLOCATED)
		slab_bug(c, obj, "tag before the object overwritten (underflow?) or not an object");
	u32 req = tag_req(tag);
	if (CONFIG_DEBUG_MM) {
		const u8 *b = obj;
		for (u32 i = req; i < c->size + REDZONE_SIZE; i++)
			if (b[i] != SLAB_REDZONE) {
				printk(KERN_EMERG "slab: %u bytes requested; byte %u past the start is 0x%x\n",
				       req, i, b[i]);
				slab_bug(c, obj, "red zone overwritten (write past the end of the object)");
			}
		memset(obj, SLAB_POISON_FREE, c->size);
	}
	*obj_tag(obj) = make_tag(TAG_FREE, 0);

	u64 flags = local_irq_save();
	struct slab_cpu *m = &c->cpu[smp_processor_id()];
	if (m->count == MAGAZINE)
		flush(c, m, MAGAZINE / 2);
	m->objs[m->count++] = obj;
	m->frees++;
	m->bytes_freed += req;
	local_irq_restore(flags);
}

void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
	return cache_alloc(c, gfp, c->size);
}

void kmem_cache_free(struct kmem_cache *c, void *obj)
{
	if (!obj)
		return;
	slab_of(c, obj);
	cache_free(c, obj);
}

/* --- kmalloc --- */

static unsigned order_for(size_t size)
{
	unsigned order = 0;
	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}

void *kmalloc(size_t size, gfp_t gfp)
{
	if (size == 0)
		return NULL;
	if (unlikely(!kmalloc_caches[0])) {
		printk(KERN_ERR "kmalloc called before mm_init(): no memory yet\n");
		return NULL;
	}
	if (size <= KMALLOC_MAX_CACHE_SIZE) {
		unsigned i = 0;
		while (kmalloc_sizes[i] < size)
			i++;
		return cache_alloc(kmalloc_caches[i], gfp, (u32)size);
	}
	unsigned order = order_for(size);
	if (order > MAX_ORDER)
		return NULL;
	struct page *p = alloc_pages(gfp | __GFP_COMP, order);
	if (!p)
		return NULL;
	/* An order-0 compound page is still marked head, so kfree knows it. */
	p->flags |= PG_head;
	p->order = (u8)order;
	vm_stat_add(NR_KMALLOC_LARGE_PAGES, 1L << order);
	return page_address(p);
}

void kfree(const void *ptr)
{
	if (!ptr)
		return;
	struct page *head = compound_head(virt_to_page(ptr));
	if (head->flags & PG_slab) {
		struct slab *s = slab_of(NULL, ptr);
		cache_free(s->cache, (void *)ptr);
		return;
	}
	if ((head->flags & PG_head) && ptr == page_address(head)) {
		vm_stat_add(NR_KMALLOC_LARGE_PAGES, -(1L << head->order));
		free_pages(head, head->order);
		return;
	}
	slab_bug(NULL, ptr, page_is_free(head) ? "kfree of freed memory (double free)"
			    : "kfree of a pointer kmalloc did not return");
}

size_t ksize(const void *ptr)
{
	struct page *head = compound_head(virt_to_page(ptr));
	if (head->flags & PG_slab)
		return slab_of(NULL, ptr)->cache->size;
	return PAGE_SIZE << head->order;
}

/* --- maintenance and counters --- */

void slab_flush_cpu(void)
{
	u64 flags = local_irq_save();
	for (u32 i = 0; i < nr_caches; i++) {
		struct slab_cpu *m = &caches[i].cpu[smp_processor_id()];
		flush(&caches[i], m, m->count);
	}
	local_irq_restore(flags);
}

void slab_shrink(void)
{
	for (u32 i = 0; i < nr_caches; i++) {
		struct kmem_cache *c = &caches[i];
		u64 flags = local_irq_save();
		spin_lock(&c->lock);
		struct list_head *pos = c->partial.next;
		while (pos != &c->partial) {
			struct slab *s = list_entry(pos, struct slab, link);
			pos = pos->next;
			if (s->inuse == 0)
				free_slab(c, s);
		}
		spin_unlock(&c->lock);
		local_irq_restore(flags);
	}
}

u32 slab_nr_caches(void) { return nr_caches; }

void slab_cache_info(u32 i, struct slab_cache_info *out)
{
	struct kmem_cache *c = &caches[i];
	out->name = c->name;
	out->object_size = c->size;
	out->objects_per_slab = c->per_slab;
	out->slab_pages = 1u << c->order;
	out->slabs = READ_ONCE(c->nr_slabs);
	u64 a = 0, f = 0, ba = 0, bf = 0;
	u32 cpu;
	for_each_possible_cpu(cpu) {
		a += READ_ONCE(c->cpu[cpu].allocs);
		f += READ_ONCE(c->cpu[cpu].frees);
		ba += READ_ONCE(c->cpu[cpu].bytes_alloc);
		bf += READ_ONCE(c->cpu[cpu].bytes_freed);
	}
	out->objects_in_use = a - f;
	out->bytes_requested = ba - bf;
}

void slab_init(void)
{
	static const char *const names[] = {
		"kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-128",
		"kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048",
	};
	for (unsigned i = 0; i < ARRAY_SIZE(kmalloc_sizes); i++) {
		kmalloc_caches[i] = kmem_cache_create(names[i], kmalloc_sizes[i]);
		if (!kmalloc_caches[i])
			panic("slab: cannot create %s", names[i]);
	}
}
