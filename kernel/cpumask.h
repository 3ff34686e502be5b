/* SPDX-License-Identifier: MIT */
/* kernel/cpumask.h - a set of CPUs: a fixed-size bitmap, bit N for CPU N.
 *
 * NR_CPUS bits in NR_CPUS/64 words. Linux's names (include/linux/cpumask.h)
 * and Linux's convention: masks are passed by pointer, the CPU first.
 *
 * Concurrency rules, per function:
 * - cpumask_set_cpu / cpumask_clear_cpu are atomic read-modify-writes of the
 *   bit's word (LOCK OR / LOCK AND) with sequential consistency, so on x86
 *   they are full barriers: a shared mask (an mm's cpumask, the online mask,
 *   a flush inbox) is changed only through them (or under a lock its owner
 *   names). TLB shootdown's ordering argument relies on the full barrier
 *   (docs/tlb-shootdown.md).
 * - cpumask_test_cpu reads the bit's word once (an atomic load).
 * - Every function that reads a whole mask (copy, and, or, andnot, empty,
 *   weight, first, next, equal) reads it one word at a time, each word once
 *   atomically: on a shared mask that others change the result is a
 *   *snapshot per word*, not of the whole mask at one instant. Callers that
 *   need more (the flush initiator) say why a per-word snapshot is enough.
 * - cpumask_take_all moves every bit of a shared mask into a private one,
 *   one atomic exchange per word: a bit set concurrently is either taken
 *   now or left for the next call, never lost.
 * - __cpumask_set_cpu / __cpumask_clear_cpu / cpumask_clear and every
 *   function's destination are plain stores for private masks (on the stack,
 *   or a shared mask under its lock) - except cpumask_copy, whose stores are
 *   atomic so a mask published under a lock may be read locklessly.
 *
 * A CPU number must be below NR_CPUS; the functions do not check (the
 * callers' CPU numbers come from smp_processor_id() or from iterating a
 * mask). The host unit test is tests/host/test_cpumask.c.
 */
#ifndef PAGODA_CPUMASK_H
#define PAGODA_CPUMASK_H

#include "kernel/types.h"

#define NR_CPUS 256
#define CPUMASK_WORDS (NR_CPUS / 64)
_Static_assert(NR_CPUS % 64 == 0, "a cpumask is whole 64-bit words");

typedef struct cpumask {
	u64 bits[CPUMASK_WORDS];
} cpumask_t;

#define CPUMASK_NONE ((cpumask_t){ { 0 } })

static inline u32 cpumask_word_of(u32 cpu) { return cpu / 64; }
static inline u64 cpumask_bit_of(u32 cpu) { return 1ULL << (cpu % 64); }

static inline u64 cpumask_read_word(const cpumask_t *m, u32 w)
{
	return __atomic_load_n(&m->bits[w], __ATOMIC_RELAXED);
}

/* --- one CPU --- */

static inline void cpumask_set_cpu(u32 cpu, cpumask_t *m)
{
	__atomic_or_fetch(&m->bits[cpumask_word_of(cpu)], cpumask_bit_of(cpu), __ATOMIC_SEQ_CST);
}

static inline void cpumask_clear_cpu(u32 cpu, cpumask_t *m)
{
	__atomic_and_fetch(&m->bits[cpumask_word_of(cpu)], ~cpumask_bit_of(cpu), __ATOMIC_SEQ_CST);
}

static inline bool cpumask_test_cpu(u32 cpu, const cpumask_t *m)
{
	return (cpumask_read_word(m, cpumask_word_of(cpu)) & cpumask_bit_of(cpu)) != 0;
}

static inline void __cpumask_set_cpu(u32 cpu, cpumask_t *m)
{
	m->bits[cpumask_word_of(cpu)] |= cpumask_bit_of(cpu);
}

static inline void __cpumask_clear_cpu(u32 cpu, cpumask_t *m)
{
	m->bits[cpumask_word_of(cpu)] &= ~cpumask_bit_of(cpu);
}

/* The mask holding only cpu, as a value (cpumask_of() gives a pointer). */
static inline cpumask_t cpumask_of_cpu(u32 cpu)
{
	cpumask_t m = CPUMASK_NONE;
	__cpumask_set_cpu(cpu, &m);
	return m;
}

/* A pointer to a temporary mask holding only cpu, for passing to a
 * function (it lives until the end of the caller's enclosing block): a
 * one-element compound-literal array initialised from a struct value. */
#define cpumask_of(cpu) ((const cpumask_t *)(cpumask_t[1]){ cpumask_of_cpu(cpu) })

/* --- whole masks --- */

static inline void cpumask_clear(cpumask_t *m)
{
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		m->bits[w] = 0;
}

/* Every CPU number below n (n <= NR_CPUS). */
static inline void cpumask_set_first_n(cpumask_t *m, u32 n)
{
	for (u32 w = 0; w < CPUMASK_WORDS; w++) {
		u32 lo = w * 64;
		m->bits[w] = n >= lo + 64 ? ~0ULL : n > lo ? (1ULL << (n - lo)) - 1 : 0;
	}
}

static inline void cpumask_copy(cpumask_t *dst, const cpumask_t *src)
{
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		__atomic_store_n(&dst->bits[w], cpumask_read_word(src, w), __ATOMIC_RELAXED);
}

/* dst = a & b; true if the result is not empty (as Linux's). */
static inline bool cpumask_and(cpumask_t *dst, const cpumask_t *a, const cpumask_t *b)
{
	u64 any = 0;
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		any |= dst->bits[w] = cpumask_read_word(a, w) & cpumask_read_word(b, w);
	return any != 0;
}

static inline void cpumask_or(cpumask_t *dst, const cpumask_t *a, const cpumask_t *b)
{
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		dst->bits[w] = cpumask_read_word(a, w) | cpumask_read_word(b, w);
}

/* dst = a & ~b; true if the result is not empty. */
static inline bool cpumask_andnot(cpumask_t *dst, const cpumask_t *a, const cpumask_t *b)
{
	u64 any = 0;
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		any |= dst->bits[w] = cpumask_read_word(a, w) & ~cpumask_read_word(b, w);
	return any != 0;
}

static inline bool cpumask_empty(const cpumask_t *m)
{
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		if (cpumask_read_word(m, w))
			return false;
	return true;
}

static inline bool cpumask_equal(const cpumask_t *a, const cpumask_t *b)
{
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		if (cpumask_read_word(a, w) != cpumask_read_word(b, w))
			return false;
	return true;
}

static inline u32 cpumask_weight(const cpumask_t *m)
{
	u32 n = 0;
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		for (u64 x = cpumask_read_word(m, w); x; x &= x - 1)
			n++;    /* clear the lowest set bit (no POPCNT: qemu64 lacks it) */
	return n;
}

/* The lowest CPU in m above n (n = -1 for the first), or NR_CPUS if none. */
static inline u32 cpumask_next(int n, const cpumask_t *m)
{
	u32 cpu = (u32)(n + 1);
	for (u32 w = cpu / 64; w < CPUMASK_WORDS; w++) {
		u64 x = cpumask_read_word(m, w);
		if (w == cpu / 64)
			x &= ~0ULL << (cpu % 64);
		if (x)
			return w * 64 + (u32)__builtin_ctzll(x);
	}
	return NR_CPUS;
}

static inline u32 cpumask_first(const cpumask_t *m) { return cpumask_next(-1, m); }

/* for_each_cpu(cpu, mask): cpu (a u32) runs over the CPUs in mask, lowest
 * first; each word is read when the iteration reaches it. */
#define for_each_cpu(cpu, mask)                                                \
	for ((cpu) = cpumask_first(mask); (cpu) < NR_CPUS;                     \
	     (cpu) = cpumask_next((int)(cpu), (mask)))

/* Move every bit of the shared mask src into dst (dst = the bits taken). */
static inline void cpumask_take_all(cpumask_t *dst, cpumask_t *src)
{
	for (u32 w = 0; w < CPUMASK_WORDS; w++)
		dst->bits[w] = __atomic_exchange_n(&src->bits[w], 0, __ATOMIC_SEQ_CST);
}

#endif
