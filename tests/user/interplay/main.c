/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/main.c - interplay, a randomized, seed-reproducible, model-checked tester of the
 * whole memory manager at once (docs/testing-mm.md, "The interplay tester").
 *
 * A seed gives a list of operations over a handful of regions at fixed
 * addresses: mmap (private or shared anonymous, THP-eligible or not, fixed
 * or by hint), munmap and MAP_FIXED replacement of whole and partial ranges,
 * mprotect, madvise (DONTNEED, FREE, REMOVE, HUGEPAGE, NOHUGEPAGE, DONTFORK,
 * DOFORK, WIPEONFORK, KEEPONFORK), fork (the child lives on, reads and
 * writes its view and punches holes on command, and sweeps it when told to
 * exit), userfaultfd register, unregister, protect and unprotect (a handler
 * thread resolves write faults in sync mode; or the kernel does, in async
 * mode where it has it), process_madvise, process_vm_readv, /proc/self/pagemap
 * and reads and writes, each by a thread pinned to a chosen CPU.
 *
 * The model (struct view: one per address space, the parent's and the live
 * child's) says for every page whether it is mapped, its protection, which
 * content it must hold (a generation number: each write stores a pattern
 * made of the page's identity and a new generation; 0 is zeros), whether it
 * may also read as zeros (MADV_FREE), whether it is present and whether it is
 * write-protected by userfaultfd (yes, no or unknown: THP placement is not
 * predicted). Every read is checked against it, and so is pagemap; at the
 * end the child and the parent sweep every page.
 *
 * Each seed runs in a fresh process (the runner); around it the first
 * process checks that every page came back (AnonHugePages, and on Pagoda
 * MemFree + Slab) and, on Pagoda, the runner reads /proc/self/mm_check (the
 * kernel's map and reference count checker) before it exits. A failing seed
 * prints its operation log and is then shrunk: subsets of its operations are
 * run again in fresh runners, dropping chunks while it still fails (ddmin),
 * and the short reproducer is printed with the words that replay it.
 *
 * Two race episodes follow the seeds: UFFDIO_WRITEPROTECT of a large range
 * with markers while other CPUs fault in THPs and huge zero pages (after it,
 * every page must be protected), and writers asleep on protected pages
 * while the handler unprotects without reading the messages (every writer
 * must wake).
 *
 * Parameters come from the kernel command line (/proc/cmdline), since a
 * program gets no arguments (the last word of a kind wins):
 * interplay.seed=S (first seed, 1; or a list "1,2,4"), interplay.seeds=N
 * (3), interplay.ops=N (300), interplay.seconds=T (soak: seeds one after
 * another for T seconds, with progress lines), interplay.keep=i,j,k (replay
 * only those operations of seed S), interplay.without=a,b (leave out those
 * operation kinds or madvise advice), interplay.shrink=0 (no shrinking),
 * interplay.races=0 (no episodes), interplay.races_every=N (soak: the
 * episodes after every N seeds), interplay.faultinject=1 (calls may fail
 * with ENOMEM: weaker checks; implied by fail_page_alloc_every=N).
 *
 * Every line printed for a passing run depends on the seed only (fixed
 * addresses, a deterministic order of operations): the same binary prints
 * the same lines on Linux (tools/linux-ref), except the lines about features
 * Linux 6.1 lacks, listed in docs/testing-mm.md.
 */
#include "interplay.h"

/* ------------------------------------------------------------------ */
/* parameters                                                          */
/* ------------------------------------------------------------------ */

struct params prm = { .seed = 1, .seeds = 3, .ops = 300, .shrink = true, .races = true,
		      .collapse = true };

bool is_pagoda;
int ncpus;

/* The value of the last word "key=" in /proc/cmdline, or NULL. */
static const char *cmdline_word(const char *cmdline, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *found = NULL;
	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\n')
			p++;
		const char *w = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if ((size_t)(p - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
			size_t n = (size_t)(p - w) - klen - 1;
			if (n >= size)
				n = size - 1;
			memcpy(buf, w + klen + 1, n);
			buf[n] = 0;
			found = buf;	/* the last one wins: words added later override */
		}
	}
	return found;
}

static void read_params(void)
{
	static char cmdline[1024];
	char v[1024];
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = 0;
	if (cmdline_word(cmdline, "interplay.seed", v, sizeof(v))) {
		/* One seed, or a list "1,2,4" (then seeds= is its length). */
		char *p = v;
		prm.seed = strtoul(p, &p, 10);
		for (prm.nlist = 0; *p == ',' && prm.nlist < MAX_LIST; ) {
			if (!prm.nlist)
				prm.list[prm.nlist++] = prm.seed;
			prm.list[prm.nlist++] = strtoul(p + 1, &p, 10);
		}
	}
	if (cmdline_word(cmdline, "interplay.seeds", v, sizeof(v))) {
		prm.seeds = strtoul(v, NULL, 10);
		prm.seeds_given = true;
	}
	if (cmdline_word(cmdline, "interplay.ops", v, sizeof(v)))
		prm.ops = strtoul(v, NULL, 10);
	if (prm.ops > MAX_OPS)
		prm.ops = MAX_OPS;
	if (cmdline_word(cmdline, "interplay.seconds", v, sizeof(v)))
		prm.seconds = strtoul(v, NULL, 10);
	if (cmdline_word(cmdline, "interplay.shrink", v, sizeof(v)))
		prm.shrink = strtoul(v, NULL, 10) != 0;
	if (cmdline_word(cmdline, "interplay.races_every", v, sizeof(v)))
		prm.races_every = strtoul(v, NULL, 10);
	if (cmdline_word(cmdline, "interplay.races", v, sizeof(v)))
		prm.races = strtoul(v, NULL, 10) != 0;
	if (cmdline_word(cmdline, "interplay.threaded", v, sizeof(v)))
		prm.threaded = strtoul(v, NULL, 10) != 0;
	if (cmdline_word(cmdline, "interplay.child_dies", v, sizeof(v)))
		prm.child_dies = strtoul(v, NULL, 10);
	if (cmdline_word(cmdline, "interplay.faultinject", v, sizeof(v)))
		prm.faultinject = strtoul(v, NULL, 10) != 0;
	/* Fault injection is a kernel word: a boot with it is such a run. */
	if (cmdline_word(cmdline, "fail_page_alloc_every", v, sizeof(v)))
		prm.faultinject = true;
	if (cmdline_word(cmdline, "interplay.collapse", v, sizeof(v)))
		prm.collapse = strtoul(v, NULL, 10) != 0;
	if (cmdline_word(cmdline, "interplay.mix", v, sizeof(v)))
		prm.thp_mix = !strcmp(v, "thp");
	if (cmdline_word(cmdline, "interplay.thpstat", v, sizeof(v)))
		prm.thpstat = strtoul(v, NULL, 10) != 0;
	/* Huge pages in every private VMA, not only MADV_HUGEPAGE ones: the
	 * model then treats every private page as one a THP may cover. */
	if ((cmdline_word(cmdline, "thp", v, sizeof(v)) ||
	     cmdline_word(cmdline, "transparent_hugepage", v, sizeof(v))) && !strcmp(v, "always"))
		prm.thp_always = true;
	if (cmdline_word(cmdline, "interplay.keep", v, sizeof(v)))
		strlcpy(prm.keep, v, sizeof(prm.keep));
	if (cmdline_word(cmdline, "interplay.without", v, sizeof(v)))
		snprintf(prm.without, sizeof(prm.without), ",%s,", v);
}

/* interplay.without=fork,WIPEONFORK: operations of those kinds (or madvise
 * with that advice) are left out, the others stay as the seed draws them:
 * how long a seed takes to find one defect when another is known. */
bool left_out(const char *name)
{
	char w[40];
	snprintf(w, sizeof(w), ",%s,", name);
	return prm.without[0] && strstr(prm.without, w);
}

/* ------------------------------------------------------------------ */
/* memory back: what the first process measures around each runner     */
/* ------------------------------------------------------------------ */

static struct mem mem_now(void)
{
	struct mem m = { -1, -1 };
	/* Under fault injection an open of /proc/meminfo may fail (ENOMEM):
	 * try again, or a baseline of -1 would fail the seed for nothing. */
	for (int tries = 0; tries < 100 && (m.free_slab < 0 || m.anon_huge < 0); tries++) {
		long free = proc_field("/proc/meminfo", "MemFree");
		long slab = proc_field("/proc/meminfo", "Slab");
		m.free_slab = free < 0 || slab < 0 ? -1 : free + slab;
		m.anon_huge = proc_field("/proc/meminfo", "AnonHugePages");
	}
	return m;
}

static bool mem_same(const struct mem *a, const struct mem *b)
{
	/* Linux's free memory moves with everything it caches: there only
	 * AnonHugePages must come back. Under fault injection a process an
	 * earlier seed lost to the out-of-memory kill may still be giving its
	 * pages back when this seed measures its start: more free memory at
	 * the end is then no leak. */
	if (is_pagoda && prm.faultinject)
		return a->anon_huge == b->anon_huge && b->free_slab >= a->free_slab;
	return a->anon_huge == b->anon_huge && (!is_pagoda || a->free_slab == b->free_slab);
}

/* Pages freed after an RCU grace period or by a reaped thread come back a
 * little later than wait4 returns: allow 3 s. */
static bool mem_back(const struct mem *before, struct mem *after)
{
	u64 deadline = now_ns() + 3UL * 1000 * 1000 * 1000;
	do {
		*after = mem_now();
		if (mem_same(before, after))
			return true;
		sleep_ns(2 * 1000 * 1000);
	} while (now_ns() < deadline);
	return false;
}

/* Touch the next 64 KiB of this thread's stack once, so that the stack
 * pages the checks below will use are there before the first measurement
 * (a page they fault in later would look like a page not given back). */
static void __attribute__((noinline)) prefault_stack(void)
{
	volatile u8 buf[64 * 1024];
	for (size_t i = 0; i < sizeof(buf); i += PAGE_SIZE)
		buf[i] = 0;
}

/* Keep the main stack out of every runner (MADV_DONTFORK). A runner lives
 * on a stack of its own, but after a plain fork it would still share the
 * main stack's pages copy-on-write, so that our first write there while it
 * runs - the wait loop below - would need a new page; under fault injection
 * that fault can find none, and the kernel kills us, ending the whole run.
 * Kept out, the main stack stays ours alone: no copy, no fault. */
static void keep_stack_from_runners(void)
{
	static bool done;
	char maps[8192];
	if (done || read_file("/proc/self/maps", maps, sizeof(maps)) < 0)
		return;
	for (char *l = maps; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *nl = strchr(l, '\n');
		char *name = strstr(l, "[stack]");
		if (!name || (nl && name > nl))
			continue;
		char *dash;
		unsigned long lo = strtoul(l, &dash, 16);
		unsigned long hi = strtoul(dash + 1, NULL, 16);
		done = madvise((void *)lo, hi - lo, MADV_DONTFORK) == 0;
		return;
	}
}

/* Run fn(arg) in a fresh process and judge it: exit status 0 and every page
 * back. In fault-injection mode a runner killed by a signal is fine (the
 * kernel may kill a process whose fault found no memory). */
bool run_isolated(long (*fn)(void *), void *arg, char *why, size_t len)
{
	/* One stack for every runner, mapped before the first measurement:
	 * the page tables under it are ours and stay. */
	static void *stack;
	if (!stack)
		stack = mmap(NULL, STACK_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	((volatile u8 *)stack)[STACK_LEN - 1] = 0;	/* fork_call writes there */
	prefault_stack();
	keep_stack_from_runners();
	struct mem before = mem_now(), after;
	pid_t pid = fork_call(fn, arg, stack, STACK_LEN);
	if (pid < 0) {
		/* Under fault injection fork may find no memory: no run. */
		if (prm.faultinject && errno == ENOMEM) {
			ktap_diag("fork of the runner: ENOMEM (fault injection), seed not run");
			return true;
		}
		snprintf(why, len, "fork: %s", errno_name(errno));
		return false;
	}
	int status = 0;
	shared_msg[0] = 0;
	/* A runner gives up on a thread after 60 s; one stuck in the kernel
	 * for longer is killed. */
	u64 deadline = now_ns() + 600UL * 1000 * 1000 * 1000;
	while (wait4(pid, &status, WNOHANG, NULL) != pid) {
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			wait4(pid, &status, 0, NULL);
			break;
		}
		sleep_ns(5 * 1000 * 1000);
	}
	bool ok = true;
	why[0] = 0;
	if (WIFSIGNALED(status) && !prm.faultinject) {
		snprintf(why, len, "the runner was killed by signal %d", WTERMSIG(status));
		ok = false;
	} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
		snprintf(why, len, "%s", shared_msg[0] ? shared_msg : "the model did not hold");
		ok = false;
	}
	if (!mem_back(&before, &after)) {
		snprintf(why + strlen(why), len - strlen(why),
			 "%smemory not back: AnonHugePages %ld -> %ld kB, MemFree+Slab %ld -> %ld kB",
			 why[0] ? "; " : "", before.anon_huge, after.anon_huge,
			 before.free_slab, after.free_slab);
		ok = false;
	}
	return ok;
}

/* ------------------------------------------------------------------ */
/* seeds, shrinking, soak                                              */
/* ------------------------------------------------------------------ */

static u64 ops_done;

static bool run_seed(u64 seed, char *why, size_t len)
{
	static u64 arg;         /* not on our stack, which runners do not get */
	arg = seed;
	bool ok = run_isolated(runner_main, &arg, why, len);
	for (int i = 0; i < (int)prm.ops; i++)
		ops_done += keep[i];
	return ok;
}

/* A failure's kind: its message without the operation number, up to the
 * first digit ("WIPEONFORK slot ", "memory not back: AnonHugePages "), so
 * that shrinking keeps to the failure it started from. */
static void signature(const char *why, char *sig, size_t len)
{
	if (!strncmp(why, "op ", 3) && strchr(why, ':'))
		why = strchr(why, ':') + 2;
	size_t n = 0;
	while (why[n] && (why[n] < '0' || why[n] > '9') && n + 1 < len && n < 40)
		n++;
	memcpy(sig, why, n);
	sig[n] = 0;
}

/* Does a subset fail the same way? Twice, since a race may not strike
 * every time. */
static bool subset_fails(u64 seed, const int *idx, int n, const char *sig)
{
	char why[300], got[48];
	memset(keep, 0, sizeof(keep));
	for (int i = 0; i < n; i++)
		keep[idx[i]] = true;
	for (int t = 0; t < 2; t++)
		if (!run_seed(seed, why, sizeof(why))) {
			signature(why, got, sizeof(got));
			if (!strcmp(got, sig))
				return true;
		}
	return false;
}

/* ddmin: drop chunks of the operation list while the run still fails,
 * halving the chunks when no chunk can go; at most budget seconds. */
static int shrink(u64 seed, int *idx, int n, u64 budget_s, const char *sig)
{
	static int cand[MAX_OPS];
	u64 deadline = now_ns() + budget_s * 1000UL * 1000 * 1000;
	int parts = 2, tries = 0;
	while (n >= 2 && now_ns() < deadline) {
		int chunk = (n + parts - 1) / parts;
		bool reduced = false;
		for (int start = 0; start < n && now_ns() < deadline; start += chunk) {
			int m = 0;
			for (int i = 0; i < n; i++)
				if (i < start || i >= start + chunk)
					cand[m++] = idx[i];
			tries++;
			if (m && subset_fails(seed, cand, m, sig)) {
				memcpy(idx, cand, sizeof(int) * (size_t)m);
				n = m;
				parts = parts > 2 ? parts - 1 : 2;
				reduced = true;
				break;
			}
		}
		if (!reduced) {
			if (parts >= n)
				break;
			parts = parts * 2 < n ? parts * 2 : n;
		}
	}
	printf("# shrinking: %d runs, %s\n", tries,
	       now_ns() < deadline ? "done" : "stopped by its time budget");
	return n;
}

/* After a failure: the reproducer, its words, and its log (one more run,
 * not quiet, prints what it did). */
static void report_failure(u64 seed, const char *first_why)
{
	static int idx[MAX_OPS];
	char sig[48];
	signature(first_why, sig, sizeof(sig));
	/* Operations after the failing one never ran: drop them first. */
	int last = (int)prm.ops - 1;
	if (!strncmp(first_why, "op ", 3))
		last = (int)strtoul(first_why + 3, NULL, 10);
	int n = 0;
	for (int i = 0; i <= last && i < (int)prm.ops; i++)
		if (keep[i])
			idx[n++] = i;
	/* Under fault injection a failure depends on which allocation failed:
	 * a subset would not fail the same way. */
	if (!prm.shrink || prm.faultinject || n < 2)
		return;
	quiet = true;
	n = shrink(seed, idx, n, 90, sig);
	quiet = false;
	char words[1024];
	int w = snprintf(words, sizeof(words), "interplay.seed=%lu interplay.ops=%lu interplay.keep=",
			 (unsigned long)seed, (unsigned long)prm.ops);
	for (int i = 0; i < n && w < (int)sizeof(words) - 8; i++)
		w += snprintf(words + w, sizeof(words) - (size_t)w, "%s%d", i ? "," : "", idx[i]);
	printf("# reproducer: %d operations (", n);
	for (int i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", kind_name[ops[idx[i]].kind]);
	printf("); replay with: %s\n", words);
	memset(keep, 0, sizeof(keep));
	for (int i = 0; i < n; i++)
		keep[idx[i]] = true;
	char why[300];
	if (run_seed(seed, why, sizeof(why)))
		printf("# (the reproducer passed this time: a race)\n");
	else
		printf("# reproducer: %s\n", why);
}

/* Keep words "i,j,k" as the kept operations. */
static void parse_keep(void)
{
	memset(keep, 0, sizeof(keep));
	for (char *p = prm.keep; *p;) {
		unsigned long i = strtoul(p, &p, 10);
		if (i < MAX_OPS)
			keep[i] = true;
		while (*p && (*p < '0' || *p > '9'))
			p++;
	}
}

static bool test_seed(int num, u64 seed)
{
	char why[300];
	gen_ops(seed, (int)prm.ops);
	if (prm.keep[0])
		parse_keep();
	else
		memset(keep, 1, sizeof(keep));
	bool ok = run_seed(seed, why, sizeof(why));
	if (!ok)
		printf("# seed %lu: %s\n", (unsigned long)seed, why);
	if (!ok && !prm.keep[0])
		report_failure(seed, why);
	ktap_ok(ok, "seed %lu: %lu operations on the model", (unsigned long)seed,
		(unsigned long)prm.ops);
	(void)num;
	return ok;
}

/* make soak: seeds one after another for prm.seconds, a progress line
 * every 5 s; with interplay.races_every=N the race episodes after every N
 * seeds (a failure counts as one). */
static void soak(void)
{
	u64 start = now_ns(), last = start, seed = prm.seed;
	int failures = 0, runs = 0, race_runs = 0;
	while (now_ns() - start < prm.seconds * 1000UL * 1000 * 1000 &&
	       !(prm.seeds_given && (u64)runs >= prm.seeds)) {
		char why[300];
		gen_ops(seed, (int)prm.ops);
		memset(keep, 1, sizeof(keep));
		if (!run_seed(seed, why, sizeof(why))) {
			printf("# seed %lu: %s\n", (unsigned long)seed, why);
			report_failure(seed, why);
			failures++;
		}
		runs++;
		seed++;
		if (prm.races_every && runs % (int)prm.races_every == 0 && !prm.faultinject) {
			race_runs++;
			if (!races(true)) {
				printf("# race episodes after seed %lu failed\n",
				       (unsigned long)seed - 1);
				failures++;
			}
		}
		if (now_ns() - last > 5UL * 1000 * 1000 * 1000) {
			last = now_ns();
			u64 secs = (last - start) / 1000000000UL;
			printf("# progress: %lu ops, %lu ops/s, %d seeds, %d failed",
			       (unsigned long)ops_done, (unsigned long)(secs ? ops_done / secs : 0),
			       runs, failures);
			if (prm.races_every)
				printf(", race episodes run %d times", race_runs);
			printf("\n");
		}
	}
	ktap_ok(failures == 0, "soak: %d seeds from %lu, %lu operations, %d failed", runs,
		(unsigned long)prm.seed, (unsigned long)ops_done, failures);
}

int main(void)
{
	is_pagoda = !strcmp(system_name(), "Pagoda");
	ncpus = online_cpus();
	if (ncpus > MAX_CPUS)
		ncpus = MAX_CPUS;
	read_params();
	shared_msg = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_msg == MAP_FAILED)
		ktap_bail("mmap: %s", errno_name(errno));
	shared_msg[0] = 0;	/* its page now, not during the first measurement */
	if (prm.seconds) {
		ktap_plan(1);
		soak();
		return ktap_finish();
	}
	int nseeds = prm.keep[0] ? 1 : prm.nlist ? prm.nlist : (int)prm.seeds;
	bool do_races = prm.races && !prm.keep[0] && !prm.faultinject;
	ktap_plan(nseeds + (do_races ? 2 : 0));
	for (int i = 0; i < nseeds; i++)
		test_seed(i + 1, prm.nlist ? prm.list[i] : prm.seed + (u64)i);
	if (do_races)
		races(false);
	return ktap_finish();
}
