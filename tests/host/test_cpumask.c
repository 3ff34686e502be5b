/* SPDX-License-Identifier: MIT */
// SOURCES:
/* tests/host/test_cpumask.c - the CPU bitmap of kernel/cpumask.h.
 *
 * Every function against a model (a bool per CPU), at the word edges where
 * a bitmap goes wrong: CPUs 0, 63, 64, 127, 128, 255 (NR_CPUS - 1). The
 * masks sit in heap buffers of exactly their size, so AddressSanitizer
 * reports a word read or written past the end.
 */
#include "tests/host/htest.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/cpumask.h"

_Static_assert(NR_CPUS >= 256, "Pagoda supports at least 256 CPUs");

static const u32 edges[] = { 0, 1, 63, 64, 65, 127, 128, 191, 192, 254, 255 };
#define NR_EDGES (sizeof(edges) / sizeof(edges[0]))

static cpumask_t *new_mask(void)
{
	cpumask_t *m = malloc(sizeof(*m));
	memset(m, 0xA5, sizeof(*m));    /* garbage: cpumask_clear must clear it */
	cpumask_clear(m);
	return m;
}

/* The model: which CPUs m holds, checked bit by bit and through every
 * whole-mask function. */
static void expect_model(const cpumask_t *m, const bool *model)
{
	u32 n = 0, first = NR_CPUS;
	for (u32 c = 0; c < NR_CPUS; c++) {
		HT_EXPECT_EQ(cpumask_test_cpu(c, m), model[c]);
		if (model[c]) {
			n++;
			if (first == NR_CPUS)
				first = c;
		}
	}
	HT_EXPECT_EQ(cpumask_weight(m), n);
	HT_EXPECT_EQ(cpumask_empty(m), n == 0);
	HT_EXPECT_EQ(cpumask_first(m), first);
	u32 seen = 0, cpu, prev = 0;
	for_each_cpu(cpu, m) {
		HT_EXPECT(cpu < NR_CPUS && model[cpu]);
		HT_EXPECT(seen == 0 || cpu > prev);     /* ascending, each once */
		prev = cpu;
		seen++;
	}
	HT_EXPECT_EQ(seen, n);
}

HTEST(size_and_empty)
{
	HT_EXPECT_EQ(sizeof(cpumask_t) * 8, NR_CPUS);
	cpumask_t *m = new_mask();
	bool model[NR_CPUS] = { false };
	expect_model(m, model);
	HT_EXPECT_EQ(cpumask_next(-1, m), NR_CPUS);
	HT_EXPECT_EQ(cpumask_next(NR_CPUS - 1, m), NR_CPUS);
	free(m);
}

HTEST(set_clear_test_each_edge)
{
	for (u32 i = 0; i < NR_EDGES; i++) {
		u32 cpu = edges[i];
		cpumask_t *m = new_mask();
		bool model[NR_CPUS] = { false };
		cpumask_set_cpu(cpu, m);
		model[cpu] = true;
		expect_model(m, model);
		HT_EXPECT_EQ(cpumask_first(m), cpu);
		/* Its word holds exactly that bit; no neighbour word touched. */
		for (u32 w = 0; w < CPUMASK_WORDS; w++)
			HT_EXPECT_EQ(m->bits[w], w == cpu / 64 ? 1ULL << (cpu % 64) : 0);
		cpumask_set_cpu(cpu, m);        /* setting twice is one bit */
		HT_EXPECT_EQ(cpumask_weight(m), 1);
		cpumask_clear_cpu(cpu, m);
		model[cpu] = false;
		expect_model(m, model);
		free(m);
	}
}

HTEST(many_bits_and_next)
{
	cpumask_t *m = new_mask();
	bool model[NR_CPUS] = { false };
	for (u32 i = 0; i < NR_EDGES; i++) {
		__cpumask_set_cpu(edges[i], m);
		model[edges[i]] = true;
	}
	expect_model(m, model);
	/* next(n) is the lowest CPU above n, across word boundaries. */
	HT_EXPECT_EQ(cpumask_next(1, m), 63);
	HT_EXPECT_EQ(cpumask_next(63, m), 64);
	HT_EXPECT_EQ(cpumask_next(65, m), 127);
	HT_EXPECT_EQ(cpumask_next(128, m), 191);
	HT_EXPECT_EQ(cpumask_next(254, m), 255);
	HT_EXPECT_EQ(cpumask_next(255, m), NR_CPUS);
	__cpumask_clear_cpu(64, m);
	model[64] = false;
	__cpumask_clear_cpu(0, m);
	model[0] = false;
	expect_model(m, model);
	free(m);
}

HTEST(copy_and_or_andnot_equal)
{
	cpumask_t *a = new_mask(), *b = new_mask(), *d = new_mask();
	bool ma[NR_CPUS] = { false }, mb[NR_CPUS] = { false }, md[NR_CPUS];
	/* a: multiples of 3; b: the edges. */
	for (u32 c = 0; c < NR_CPUS; c += 3) {
		cpumask_set_cpu(c, a);
		ma[c] = true;
	}
	for (u32 i = 0; i < NR_EDGES; i++) {
		cpumask_set_cpu(edges[i], b);
		mb[edges[i]] = true;
	}
	cpumask_copy(d, a);
	expect_model(d, ma);
	HT_EXPECT(cpumask_equal(d, a));
	HT_EXPECT(!cpumask_equal(a, b));

	HT_EXPECT(cpumask_and(d, a, b));
	for (u32 c = 0; c < NR_CPUS; c++)
		md[c] = ma[c] && mb[c];
	expect_model(d, md);
	HT_EXPECT(cpumask_test_cpu(63, d) && cpumask_test_cpu(255, d) && !cpumask_test_cpu(64, d));

	cpumask_or(d, a, b);
	for (u32 c = 0; c < NR_CPUS; c++)
		md[c] = ma[c] || mb[c];
	expect_model(d, md);

	HT_EXPECT(cpumask_andnot(d, a, b));
	for (u32 c = 0; c < NR_CPUS; c++)
		md[c] = ma[c] && !mb[c];
	expect_model(d, md);

	/* and/andnot say whether anything is left. */
	HT_EXPECT(!cpumask_andnot(d, b, b));
	HT_EXPECT(cpumask_empty(d));
	cpumask_clear(d);
	HT_EXPECT(!cpumask_and(d, a, d));
	free(a);
	free(b);
	free(d);
}

HTEST(first_n_and_of)
{
	const u32 ns[] = { 0, 1, 63, 64, 65, 127, 128, 200, 255, 256 };
	for (u32 i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		cpumask_t *m = new_mask();
		bool model[NR_CPUS];
		cpumask_set_first_n(m, ns[i]);
		for (u32 c = 0; c < NR_CPUS; c++)
			model[c] = c < ns[i];
		expect_model(m, model);
		free(m);
	}
	for (u32 i = 0; i < NR_EDGES; i++) {
		const cpumask_t *one = cpumask_of(edges[i]);
		HT_EXPECT_EQ(cpumask_weight(one), 1);
		HT_EXPECT_EQ(cpumask_first(one), edges[i]);
	}
}

HTEST(take_all_moves_every_bit)
{
	cpumask_t *inbox = new_mask(), *taken = new_mask();
	bool model[NR_CPUS] = { false }, none[NR_CPUS] = { false };
	for (u32 i = 0; i < NR_EDGES; i++) {
		cpumask_set_cpu(edges[i], inbox);
		model[edges[i]] = true;
	}
	cpumask_take_all(taken, inbox);
	expect_model(taken, model);
	expect_model(inbox, none);
	cpumask_take_all(taken, inbox);         /* nothing new: nothing taken */
	expect_model(taken, none);
	free(inbox);
	free(taken);
}

/* The atomic set and clear change only their own bit of a shared word:
 * two CPUs in one word, set and cleared in turn, never disturb a third. */
HTEST(atomic_ops_keep_neighbours)
{
	cpumask_t *m = new_mask();
	cpumask_set_cpu(127, m);
	for (u32 r = 0; r < 1000; r++) {
		cpumask_set_cpu(64, m);
		cpumask_set_cpu(126, m);
		cpumask_clear_cpu(64, m);
		HT_EXPECT(cpumask_test_cpu(126, m) && cpumask_test_cpu(127, m) && !cpumask_test_cpu(64, m));
		cpumask_clear_cpu(126, m);
	}
	HT_EXPECT_EQ(cpumask_weight(m), 1);
	HT_EXPECT_EQ(cpumask_first(m), 127);
	free(m);
}

int main(void)
{
	alarm(20);      /* an iteration that never ends fails the run (SIGALRM) */
	return htest_main("cpumask", (struct htest[]){
		HT_CASE(size_and_empty),
		HT_CASE(set_clear_test_each_edge),
		HT_CASE(many_bits_and_next),
		HT_CASE(copy_and_or_andnot_equal),
		HT_CASE(first_n_and_of),
		HT_CASE(take_all_moves_every_bit),
		HT_CASE(atomic_ops_keep_neighbours),
		{ 0 } });
}
