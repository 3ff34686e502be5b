/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_trace.c - the event log's dump must hold what was recorded.
 *
 * The tests record their own events with trace_record() (which records even
 * when tracing is off) while switching trace_event() off, so nothing else in
 * the kernel adds records meanwhile. Each dump is read back line by line, in
 * the text format tools/trace-svg parses, and checked as it streams by:
 * the header and trailer, TSC order across CPUs, each CPU's records in the
 * order it wrote them, and the lost count. The last case dumps while other
 * CPUs keep recording: every record must then be printed once, intact, or
 * counted as lost - never both, never neither.
 *
 * Runs with test=trace. It empties the log (a "trace" boot loses what it
 * had recorded before the tests).
 */
#include "kernel/ktest.h"
#include "kernel/trace.h"
#include "kernel/string.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/apic.h"

#define TEST_CPUS 8             /* at most this many CPUs take part */

/* What one dump said, gathered line by line. */
struct capture {
	u32 lines, bad_lines;
	bool begin, end;
	u64 begin_cpus, begin_khz, begin_ring;
	u64 end_records, end_lost;
	u64 records;            /* TRACE lines */
	u64 tsc_backwards;      /* a line older than the one before it */
	u64 last_tsc;
	u64 wrong_event;        /* event name not the one b says */
	u64 wrong_a;            /* a is not the CPU that printed it */
	u64 lost_lines[MAX_CPUS];       /* TRACE-LOST figures */
	/* Per CPU: how many records, the first and last b, how often b did
	 * not go up by exactly one, how often it did not go up at all. */
	u64 n[MAX_CPUS], first_b[MAX_CPUS], last_b[MAX_CPUS];
	u64 gaps[MAX_CPUS], b_backwards[MAX_CPUS];
};

static struct capture cap;

/* Up to max space-separated words of line, in place in buf. */
static u32 split(const char *line, char *buf, u32 size, char **word, u32 max)
{
	strlcpy(buf, line, size);
	u32 n = 0;
	char *p = buf;
	while (*p && n < max) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		word[n++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
	}
	return n;
}

/* Decimal, or hex after 0x; false on anything else. */
static bool number(const char *s, u64 *v)
{
	u64 base = 10, x = 0;
	if (s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		u64 d;
		if (*s >= '0' && *s <= '9')
			d = (u64)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (u64)(*s - 'a' + 10);
		else
			return false;
		x = x * base + d;
	}
	*v = x;
	return true;
}

/* "key=N" with the expected key. */
static bool keyval(const char *w, const char *key, u64 *v)
{
	size_t k = strlen(key);
	return !strncmp(w, key, k) && w[k] == '=' && number(w + k + 1, v);
}

static void capture_line(const char *line, void *arg)
{
	struct capture *c = arg;
	char buf[160], *w[8];
	u32 n = split(line, buf, sizeof(buf), w, 8);
	u64 cpu, tsc, a, b;
	c->lines++;
	if (n == 4 && !strcmp(w[0], "TRACE-BEGIN") && c->lines == 1 &&
	    keyval(w[1], "cpus", &c->begin_cpus) && keyval(w[2], "tsc_khz", &c->begin_khz) &&
	    keyval(w[3], "ring", &c->begin_ring)) {
		c->begin = true;
	} else if (n == 3 && !strcmp(w[0], "TRACE-END") && !c->end &&
		   keyval(w[1], "records", &c->end_records) && keyval(w[2], "lost", &c->end_lost)) {
		c->end = true;
	} else if (n == 3 && !strcmp(w[0], "TRACE-LOST") && number(w[1], &cpu) &&
		   cpu < MAX_CPUS && number(w[2], &a)) {
		c->lost_lines[cpu] += a;
	} else if (n == 6 && !strcmp(w[0], "TRACE") && number(w[1], &cpu) && cpu < MAX_CPUS &&
		   number(w[2], &tsc) && number(w[4], &a) && number(w[5], &b) && !c->end) {
		c->records++;
		if (tsc < c->last_tsc)
			c->tsc_backwards++;
		c->last_tsc = tsc;
		if (strcmp(w[3], trace_event_name((u32)(b % TR_NR_EVENTS))))
			c->wrong_event++;
		if (a != cpu)
			c->wrong_a++;
		if (c->n[cpu] == 0) {
			c->first_b[cpu] = b;
		} else {
			if (b != c->last_b[cpu] + 1)
				c->gaps[cpu]++;
			if (b <= c->last_b[cpu])
				c->b_backwards[cpu]++;
		}
		c->n[cpu]++;
		c->last_b[cpu] = b;
	} else {
		c->bad_lines++;
	}
}

/* Dump into cap (emptying the log) and check what every dump must satisfy. */
static void dump_and_check(struct ktest *t, u64 records, u64 lost)
{
	memset(&cap, 0, sizeof(cap));
	KTEST_ASSERT_TRUE(t, trace_dump_to(capture_line, &cap, true, NULL));
	KTEST_EXPECT_EQ(t, cap.bad_lines, 0);
	KTEST_EXPECT_TRUE(t, cap.begin);
	KTEST_EXPECT_TRUE(t, cap.end);
	KTEST_EXPECT_EQ(t, cap.begin_cpus, nr_cpus);
	KTEST_EXPECT_EQ(t, cap.begin_khz, tsc_khz);
	KTEST_EXPECT_EQ(t, cap.begin_ring, TRACE_RING);
	KTEST_EXPECT_EQ(t, cap.records, records);
	KTEST_EXPECT_EQ(t, cap.end_records, records);
	KTEST_EXPECT_EQ(t, cap.end_lost, lost);
	KTEST_EXPECT_EQ(t, cap.tsc_backwards, 0);
	KTEST_EXPECT_EQ(t, cap.wrong_event, 0);
	KTEST_EXPECT_EQ(t, cap.wrong_a, 0);
}

/* Record this CPU's number as a and a running count as b; the event
 * cycles through all of them, so each name and the hex format appear. */
static void record_n(u64 from, u64 count)
{
	u64 cpu = smp_processor_id();
	for (u64 i = from; i < from + count; i++)
		trace_record((enum trace_event)(i % TR_NR_EVENTS), cpu, i);
}

static bool saved_enabled;

static void begin(void)
{
	saved_enabled = trace_enabled;
	trace_set_enabled(false);
	trace_clear();
}

static void end(void)
{
	trace_clear();
	trace_set_enabled(saved_enabled);
}

static cpumask_t test_mask(u32 *count)
{
	cpumask_t m = CPUMASK_NONE;
	u32 n = 0, c;
	for_each_online_cpu(c) {
		if (n == TEST_CPUS)
			break;
		__cpumask_set_cpu(c, &m);
		n++;
	}
	*count = n;
	return m;
}

static void test_names(struct ktest *t)
{
	for (u32 e = 0; e < TR_NR_EVENTS; e++) {
		const char *s = trace_event_name(e);
		KTEST_EXPECT_TRUE(t, strcmp(s, "unknown") != 0);
		for (const char *p = s; *p; p++)
			KTEST_EXPECT_TRUE(t, (*p >= 'a' && *p <= 'z') || *p == '_');
		for (u32 f = 0; f < e; f++)
			KTEST_EXPECT_TRUE(t, strcmp(s, trace_event_name(f)) != 0);
	}
	KTEST_EXPECT_EQ(t, strcmp(trace_event_name(TR_NR_EVENTS), "unknown"), 0);
	KTEST_EXPECT_EQ(t, strcmp(trace_event_name(TR_FLUSH_REQ), "flush_req"), 0);
	KTEST_EXPECT_EQ(t, strcmp(trace_event_name(TR_GP_END), "gp_end"), 0);
}

#define PER_CPU 100

static void record_100(void *arg)
{
	(void)arg;
	record_n(0, PER_CPU);
}

static void test_merged_order(struct ktest *t)
{
	u32 n;
	cpumask_t m = test_mask(&n);
	begin();
	ktest_on_cpus(&m, record_100, NULL);
	dump_and_check(t, (u64)n * PER_CPU, 0);
	u32 c;
	for_each_cpu(c, &m) {
		KTEST_EXPECT_EQ(t, cap.n[c], PER_CPU);
		KTEST_EXPECT_EQ(t, cap.first_b[c], 0);
		KTEST_EXPECT_EQ(t, cap.last_b[c], PER_CPU - 1);
		KTEST_EXPECT_EQ(t, cap.gaps[c], 0);
	}
	/* A dump forgets what it printed. */
	dump_and_check(t, 0, 0);
	end();
}

#define EXTRA 37

static void record_overflow(void *arg)
{
	(void)arg;
	record_n(0, TRACE_RING + EXTRA);
}

static void test_overwrite_counts_lost(struct ktest *t)
{
	u32 cpu = nr_cpus > 1 && cpumask_test_cpu(1, &cpu_online_mask) ? 1 : 0;
	begin();
	ktest_on_cpu(cpu, record_overflow, NULL);
	dump_and_check(t, TRACE_RING, EXTRA);
	KTEST_EXPECT_EQ(t, cap.lost_lines[cpu], EXTRA);
	KTEST_EXPECT_EQ(t, cap.n[cpu], TRACE_RING);
	/* The oldest records went; the newest TRACE_RING are all there. */
	KTEST_EXPECT_EQ(t, cap.first_b[cpu], EXTRA);
	KTEST_EXPECT_EQ(t, cap.last_b[cpu], TRACE_RING + EXTRA - 1);
	KTEST_EXPECT_EQ(t, cap.gaps[cpu], 0);
	end();
}

static void test_clear(struct ktest *t)
{
	u32 cpu = smp_processor_id();
	begin();
	record_n(0, 10);
	trace_clear();
	record_n(10, 3);
	dump_and_check(t, 3, 0);
	KTEST_EXPECT_EQ(t, cap.first_b[cpu], 10);
	KTEST_EXPECT_EQ(t, cap.last_b[cpu], 12);
	end();
}

/* trace_event() costs nothing when off, and records when on. Other kernel
 * code may record too while it is on, so count only our marker. */
#define MARKER 0x7e57

struct marker_count {
	u64 seen;
};

static void count_marker(const char *line, void *arg)
{
	struct marker_count *m = arg;
	char buf[160], *w[8];
	u64 a;
	if (split(line, buf, sizeof(buf), w, 8) == 6 && !strcmp(w[0], "TRACE") &&
	    number(w[4], &a) && a == MARKER)
		m->seen++;
}

static void test_enable_switch(struct ktest *t)
{
	struct marker_count m = { 0 };
	begin();
	trace_event(TR_FLUSH_REQ, MARKER, 1);   /* off: not recorded */
	trace_set_enabled(true);
	trace_event(TR_FLUSH_REQ, MARKER, 2);
	trace_event(TR_FLUSH_DONE, MARKER, 3);
	trace_set_enabled(false);
	trace_event(TR_FLUSH_REQ, MARKER, 4);   /* off again */
	KTEST_EXPECT_TRUE(t, trace_dump_to(count_marker, &m, true, NULL));
	KTEST_EXPECT_EQ(t, m.seen, 2);
	end();
}

/* A record overwritten between the dump's copy of it and its check must be
 * counted lost, not printed: the test hook overwrites the oldest record of
 * a full ring exactly there, once. */
#define OVERWRITE 100
static u32 hook_calls;

static void overwrite_now(u32 cpu)
{
	if (cpu == smp_processor_id() && hook_calls++ == 0)
		record_n(TRACE_RING, OVERWRITE);
}

static void torn_on_this_cpu(void *arg)
{
	struct ktest *t = arg;
	u32 cpu = smp_processor_id();
	record_n(0, TRACE_RING);
	hook_calls = 0;
	trace_test_after_copy = overwrite_now;
	memset(&cap, 0, sizeof(cap));
	bool ok = trace_dump_to(capture_line, &cap, true, NULL);
	trace_test_after_copy = NULL;
	KTEST_ASSERT_TRUE(t, ok);
	KTEST_EXPECT_GE(t, hook_calls, 1);
	/* The dump covers the TRACE_RING records there when it began; the
	 * hook's OVERWRITE new ones destroyed the oldest OVERWRITE of them,
	 * including the one already copied. */
	KTEST_EXPECT_EQ(t, cap.end_records, TRACE_RING - OVERWRITE);
	KTEST_EXPECT_EQ(t, cap.end_lost, OVERWRITE);
	KTEST_EXPECT_EQ(t, cap.first_b[cpu], OVERWRITE);
	KTEST_EXPECT_EQ(t, cap.last_b[cpu], TRACE_RING - 1);
	KTEST_EXPECT_EQ(t, cap.b_backwards[cpu], 0);
	/* The hook's records come in the next dump. */
	dump_and_check(t, OVERWRITE, 0);
	KTEST_EXPECT_EQ(t, cap.first_b[cpu], TRACE_RING);
}

static void test_overwritten_while_copied(struct ktest *t)
{
	begin();
	ktest_on_cpu(0, torn_on_this_cpu, t);
	end();
}

/* CPU 0 dumps again and again while the others record as fast as they can.
 * Each writer's b counts up, so across all the dumps every CPU must show
 * b strictly rising, and printed + lost must equal what it wrote. */
#define WRITES 20000

static u32 writers_left;
static u64 total_printed[MAX_CPUS], total_lost[MAX_CPUS], last_seen_b[MAX_CPUS];
static bool seen_any[MAX_CPUS];
static u64 cross_dump_backwards, dumps_done, dump_errors;

static void writer_or_dumper(void *arg)
{
	(void)arg;
	u32 me = smp_processor_id();
	if (me != 0) {
		/* Half flat out, half paced so that the dumps (slower than
		 * recording) also catch up and print records mid-run. */
		record_n(0, WRITES / 2);
		for (u64 i = WRITES / 2; i < WRITES; i++) {
			record_n(i, 1);
			for (u32 k = 0; k < 200; k++)
				cpu_relax();
		}
		__atomic_sub_fetch(&writers_left, 1, __ATOMIC_SEQ_CST);
		return;
	}
	bool last = false;
	while (!last) {
		last = __atomic_load_n(&writers_left, __ATOMIC_SEQ_CST) == 0;
		memset(&cap, 0, sizeof(cap));
		if (!trace_dump_to(capture_line, &cap, true, NULL) || cap.bad_lines ||
		    !cap.begin || !cap.end || cap.tsc_backwards || cap.wrong_a || cap.wrong_event ||
		    cap.records != cap.end_records)
			dump_errors++;
		dumps_done++;
		u64 lost_sum = 0;
		for (u32 c = 0; c < MAX_CPUS; c++) {
			lost_sum += cap.lost_lines[c];
			total_lost[c] += cap.lost_lines[c];
			total_printed[c] += cap.n[c];
			if (cap.b_backwards[c])
				dump_errors++;
			if (cap.n[c]) {
				if (seen_any[c] && cap.first_b[c] <= last_seen_b[c])
					cross_dump_backwards++;
				seen_any[c] = true;
				last_seen_b[c] = cap.last_b[c];
			}
		}
		if (lost_sum != cap.end_lost)
			dump_errors++;
	}
}

static void test_dump_while_recording(struct ktest *t)
{
	u32 n;
	cpumask_t m = test_mask(&n);
	if (n < 2 || !cpumask_test_cpu(0, &m)) {
		ktest_skip(t, "needs CPU 0 and another CPU");
		return;
	}
	begin();
	writers_left = n - 1;
	memset(total_printed, 0, sizeof(total_printed));
	memset(total_lost, 0, sizeof(total_lost));
	memset(seen_any, 0, sizeof(seen_any));
	cross_dump_backwards = dumps_done = dump_errors = 0;
	ktest_on_cpus(&m, writer_or_dumper, NULL);
	KTEST_EXPECT_EQ(t, dump_errors, 0);
	KTEST_EXPECT_EQ(t, cross_dump_backwards, 0);
	u64 printed = 0, lost = 0;
	u32 c;
	for_each_cpu(c, &m) {
		if (c == 0)
			continue;
		KTEST_EXPECT_EQ(t, total_printed[c] + total_lost[c], WRITES);
		KTEST_EXPECT_EQ(t, last_seen_b[c], WRITES - 1);
		printed += total_printed[c];
		lost += total_lost[c];
	}
	KTEST_EXPECT_EQ(t, total_printed[0] + total_lost[0], 0);
	ktest_log(t, "%lu dumps while %u CPUs recorded %u each: %lu printed, %lu lost",
		  dumps_done, n - 1, WRITES, printed, lost);
	end();
}

static const struct ktest_case trace_cases[] = {
	{ "event_names", test_names },
	{ "merged_order", test_merged_order },
	{ "overwrite_counts_lost", test_overwrite_counts_lost },
	{ "clear", test_clear },
	{ "enable_switch", test_enable_switch },
	{ "overwritten_while_copied", test_overwritten_while_copied },
	{ "dump_while_recording", test_dump_while_recording },
};
KTEST_SUITE(trace, trace_cases);
