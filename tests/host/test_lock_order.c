/* SPDX-License-Identifier: MIT */
// SOURCES:
/* Host test: the lock order the validator checks (kernel/lockdep_order.h)
 * and the one docs/locking.md documents are the same table - every class
 * in both, with the same rank. Run from the top of the tree (make
 * host-test does). */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "tests/host/htest.h"

typedef uint16_t u16;
#include "kernel/lockdep_order.h"

#define DOC "docs/locking.md"
#define MAX_ROWS 64

struct doc_row {
	char name[64];
	unsigned rank;
};

static struct doc_row doc[MAX_ROWS];
static unsigned nr_doc;
static int doc_read;

/* The table's rows: "| RANK | `CLASS` | ...". */
static void read_doc(void)
{
	if (doc_read)
		return;
	doc_read = 1;
	FILE *f = fopen(DOC, "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f) && nr_doc < MAX_ROWS) {
		unsigned rank;
		char name[64];
		if (sscanf(line, "| %u | `%63[^`]` |", &rank, name) == 2) {
			doc[nr_doc].rank = rank;
			strcpy(doc[nr_doc].name, name);
			nr_doc++;
		}
	}
	fclose(f);
}

static const struct doc_row *doc_find(const char *name)
{
	for (unsigned i = 0; i < nr_doc; i++)
		if (strcmp(doc[i].name, name) == 0)
			return &doc[i];
	return NULL;
}

HTEST(doc_has_a_table)
{
	read_doc();
	HT_EXPECT(nr_doc >= 20);
}

HTEST(every_code_class_documented_with_its_rank)
{
	read_doc();
	for (unsigned i = 0; i < sizeof(lock_order) / sizeof(lock_order[0]); i++) {
		const struct doc_row *d = doc_find(lock_order[i].name);
		if (!d) {
			printf("    # %s: in kernel/lockdep_order.h, not in " DOC "\n",
			       lock_order[i].name);
			htest_case_failed = 1;
			continue;
		}
		HT_EXPECT_EQ(d->rank, lock_order[i].rank);
	}
}

HTEST(every_documented_class_in_code)
{
	read_doc();
	for (unsigned i = 0; i < nr_doc; i++) {
		int found = 0;
		for (unsigned j = 0; j < sizeof(lock_order) / sizeof(lock_order[0]); j++)
			found |= strcmp(lock_order[j].name, doc[i].name) == 0;
		if (!found) {
			printf("    # %s: in " DOC ", not in kernel/lockdep_order.h\n", doc[i].name);
			htest_case_failed = 1;
		}
	}
}

HTEST(doc_table_in_rank_order)
{
	read_doc();
	for (unsigned i = 1; i < nr_doc; i++)
		HT_EXPECT(doc[i - 1].rank <= doc[i].rank);
}

int main(void)
{
	return htest_main("lock_order", (struct htest[]){
		HT_CASE(doc_has_a_table),
		HT_CASE(every_code_class_documented_with_its_rank),
		HT_CASE(every_documented_class_in_code),
		HT_CASE(doc_table_in_rank_order),
		{0} });
}
