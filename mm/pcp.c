/* SPDX-License-Identifier: MIT */
/* mm/pcp.c - per-CPU caches of free order-0 pages ("pcp" in Linux).
 *
 * Most allocations are single pages, and most single pages are freed soon on
 * the CPU that allocated them. Each CPU keeps a short LIFO list of free pages
 * so that such pairs touch no shared data at all: the zone lock is taken once
 * per PCP_BATCH pages, to refill an empty cache or to drain one that grew
 * past PCP_HIGH.
 *
 * Locking: each cache has a spinlock, taken with interrupts disabled. Its own
 * CPU takes it on every operation (uncontended: the line stays in this CPU's
 * cache); another CPU takes it only in pcp_drain_all(), when memory is short.
 * Lock order: cache lock, then zone lock.
 */
#include "mm/buddy.h"
#include "kernel/printk.h"
#ifndef HOST_TEST
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#else
#include "mm/host_env.h"
#endif

#define PCP_BATCH 31    /* pages moved per refill or drain */
#define PCP_HIGH 93     /* drain a batch when the cache holds more than this */

struct pcp {
	spinlock_t lock;
	struct list_head list;  /* free pages, PG_pcp set, most recently freed first */
	u32 count;
	u64 refills, drains;    /* trips to the zone lock */
} __aligned(64);                /* one cache line each: no false sharing */

static struct pcp pcp_caches[MAX_CPUS];
bool pcp_bypass;

void pcp_init(void)
{
	for (u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		spin_init(&pcp_caches[cpu].lock, "pcp");
		list_init(&pcp_caches[cpu].list);
		pcp_caches[cpu].count = 0;
	}
}

static struct pcp *pcp_lock_this_cpu(u64 *flags)
{
	*flags = local_irq_save();
	struct pcp *c = &pcp_caches[smp_processor_id()];
	spin_lock(&c->lock);
	return c;
}

static void pcp_unlock(struct pcp *c, u64 flags)
{
	spin_unlock(&c->lock);
	local_irq_restore(flags);
}

struct page *pcp_alloc(void)
{
	u64 flags;
	struct pcp *c = pcp_lock_this_cpu(&flags);
	if (list_empty(&c->list)) {
		struct list_head batch;
		list_init(&batch);
		unsigned got = buddy_alloc_bulk(PCP_BATCH, &batch);
		c->refills++;
		while (!list_empty(&batch)) {
			struct page *p = list_first_entry(&batch, struct page, lru);
			list_del(&p->lru);
			p->flags |= PG_pcp;
			list_add_tail(&p->lru, &c->list);
		}
		c->count += got;
	}
	struct page *p = NULL;
	if (!list_empty(&c->list)) {
		p = list_first_entry(&c->list, struct page, lru);
		list_del(&p->lru);
		p->flags &= ~PG_pcp;
		c->count--;
	}
	pcp_unlock(c, flags);
	return p;
}

/* Move n pages (or all) from c to the buddy lists; c's lock held. */
static void pcp_drain_locked(struct pcp *c, u32 n)
{
	struct list_head batch;
	list_init(&batch);
	while (n-- > 0 && !list_empty(&c->list)) {
		/* The coldest pages: from the tail. */
		struct page *p = list_entry(c->list.prev, struct page, lru);
		list_del(&p->lru);
		p->flags &= ~PG_pcp;
		list_add(&p->lru, &batch);
		c->count--;
	}
	buddy_free_bulk(&batch);
	c->drains++;
}

void pcp_free(struct page *p)
{
	u64 flags;
	struct pcp *c = pcp_lock_this_cpu(&flags);
	p->flags |= PG_pcp;
	list_add(&p->lru, &c->list);
	c->count++;
	if (c->count > PCP_HIGH)
		pcp_drain_locked(c, PCP_BATCH);
	pcp_unlock(c, flags);
}

void pcp_drain_local(void)
{
	u64 flags;
	struct pcp *c = pcp_lock_this_cpu(&flags);
	pcp_drain_locked(c, c->count);
	pcp_unlock(c, flags);
}

void pcp_drain_all(void)
{
	u32 cpu;
	for_each_possible_cpu(cpu) {
		struct pcp *c = &pcp_caches[cpu];
		if (READ_ONCE(c->count) == 0)
			continue;
		u64 flags = spin_lock_irqsave(&c->lock);
		pcp_drain_locked(c, c->count);
		spin_unlock_irqrestore(&c->lock, flags);
	}
}

void pcp_stats(u64 *refills, u64 *drains)
{
	*refills = *drains = 0;
	u32 cpu;
	for_each_possible_cpu(cpu) {
		*refills += READ_ONCE(pcp_caches[cpu].refills);
		*drains += READ_ONCE(pcp_caches[cpu].drains);
	}
}

u64 pcp_count_all(void)
{
	u64 n = 0;
	u32 cpu;
	for_each_possible_cpu(cpu)
		n += READ_ONCE(pcp_caches[cpu].count);
	return n;
}
