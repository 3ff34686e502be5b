/* SPDX-License-Identifier: MIT */
/* tests/user/interplay/interplay.h - what the parts of the interplay tester
 * share (docs/testing-mm.md, "The interplay tester"): the model's types,
 * the operations, the threads and the child, and the state of one run. */
#ifndef INTERPLAY_H
#define INTERPLAY_H

#include "libc.h"
#include "uffd.h"

#define MAX_OPS 4096

#define MAX_CPUS 16

struct params {
	u64 seed, seeds, ops, seconds;
	u64 races_every;	/* soak: the race episodes after every N seeds (0: never) */
	u64 child_dies;		/* 1 in N commands kills the fork child instead (0: never) */
	bool threaded;		/* writes from another CPU beside each VMA change */
	bool seeds_given, shrink, races, faultinject;
	bool collapse;		/* MADV_COLLAPSE operations (interplay.collapse=0: none) */
	bool thp_mix;		/* interplay.mix=thp: the huge-page kinds four times as often */
	bool thpstat;		/* a line per seed with the THP counters of /proc/vmstat */
	bool thp_always;	/* thp=always (Pagoda) or transparent_hugepage=always (Linux) */
	char keep[1024];	/* "i,j,k" or empty */
	char without[256];	/* ",name,name," operation kinds or advice left out */
	u64 list[16];		/* interplay.seed=a,b,c (MAX_LIST) */
	int nlist;
};

#define MAX_LIST 16

struct mem {
	long free_slab;		/* MemFree + Slab, kB (Pagoda: exact) */
	long anon_huge;		/* AnonHugePages, kB */
};

#define HUGE (2UL << 20)

#define WINDOW 0x300000000000UL	/* same addresses on every kernel */

#define NSLOT 4

#define SLOT_SPAN (8UL << 20)

#define MAX_PAGES 1024		/* a region is at most 4 MiB */

#define EPISODE_BASE (WINDOW + NSLOT * SLOT_SPAN)

enum tri { NO, YES, MAYBE };

struct page_state {
	u8 mapped;
	u8 prot;		/* PROT_READ | PROT_WRITE */
	u8 shared;		/* content lives in object obj, page opage */
	u8 thp;			/* the VMA is MADV_HUGEPAGE */
	u8 nohuge;		/* the VMA is MADV_NOHUGEPAGE (VM_NOHUGEPAGE) */
	u8 anon;		/* enum tri: the VMA has had an anonymous fault
				 * (Linux: vma->anon_vma, which MADV_COLLAPSE needs) */
	u8 wpte;		/* enum tri: the entry is writable (a write since
				 * the last thing that may have taken W away) */
	u8 ever_thp;		/* was: a huge page may cover it */
	u8 maybe_zero;		/* MADV_FREE: old content or zeros */
	u8 present;		/* enum tri */
	u8 wp;			/* enum tri: userfaultfd write-protected */
	u8 sd;			/* enum tri: soft-dirty (pagemap bit 55) */
	u8 uffd;		/* registered: UREG_* (0: not) */
	u8 dontfork, wipeonfork;
	u8 locked;		/* VM_LOCKED (mlock.c): not inherited by the child */
	u8 unknown;		/* a failed call (fault injection) may have hit it */
	u16 obj;
	u32 vma;		/* pages with the same number are in one VMA */
	u32 opage;
	u32 gen;		/* content of a private page */
	u64 okey;		/* a private page mremap moved: the key its bytes
				 * carry (0: its address's, page_key) */
};

struct view {
	struct page_state pg[NSLOT][MAX_PAGES];
};

#define MAX_OBJ 256

#define OBJ_POOL (64 * 1024)

#define LOG_LINES 512

struct expect {
	u64 addr, key;
	u32 gen;
	u8 kind;		/* EXP_* */
	u8 maybe_zero;
};

#define MAX_RW 64		/* pages per read or write job */

/* page_state.uffd: registered with which file, in which mode. */
enum { UREG_NONE, UREG_WP, UREG_MISSING, UREG_MISSING_WP };

/* A generation a missing fault's fill brings (missing.c), never a write's. */
#define FILL_GEN 0x80000000u

struct job {
	int kind, n;
	struct expect e[MAX_RW];
	bool ok;
	char msg[200];
};

struct worker {
	int cpu;
	int seq;		/* bumped to post a job (futex word) */
	int done;		/* set to seq when the job is done (futex word) */
	struct job job;
	struct uthread *t;
};

struct ctl {
	int seq, ack;		/* polled: futexes do not cross processes here */
	int cmd, n, advice;	/* advice: also the protection of CMD_MPROTECT */
	u64 addr, len;
	struct expect e[MAX_RW];
	long result;		/* 0 or -errno */
	bool die;		/* interplay.child_dies: end, as if killed, partway */
	bool ok;
	char msg[200];
};

#define STACK_LEN (64 * 1024)

enum op_kind {
	OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MADVISE, OP_WRITE, OP_READ,
	OP_PAGEMAP, OP_FORK, OP_CHILD_EXIT, OP_UREG, OP_UUNREG, OP_UWP,
	OP_PVM, OP_PMADV, OP_RETOUCH, OP_CLEAR_REFS, OP_THP, OP_COLLAPSE, OP_MLOCK, OP_MREMAP, NR_OPS
};

/* An operation is its kind and random numbers; what they mean (which
 * pages, which advice) is decided against the model when it runs, so that
 * any subset of a seed's operations is a valid run (shrinking). */
struct op {
	u8 kind;
	u32 r[4];
};

#define PVM_PAGES 16

#define MAX_RACERS 32

#define RACE_LEN (64UL << 20)	/* 32 huge pages */

#define WAKE_PAGES MAX_RACERS

struct object { u32 base, npages; };

enum { EXP_SKIP, EXP_CONTENT, EXP_UNMAPPED };

enum { JOB_READ, JOB_WRITE, JOB_STOP };

enum { CMD_CHECK, CMD_WRITE, CMD_MADVISE, CMD_MUNMAP, CMD_MPROTECT, CMD_EXIT };

extern struct params prm;

/* main.c */
extern bool is_pagoda;
extern int ncpus;
bool left_out(const char *name);
bool run_isolated(long (*fn)(void *), void *arg, char *why, size_t len);

/* model.c */
extern u64 rng_state;
extern struct object objects[MAX_OBJ];
extern u32 obj_gen[OBJ_POOL];
extern int nobj;
extern u32 obj_used;
extern struct view parent_view, child_view;
extern u32 next_vma;
extern bool child_alive;
extern pid_t child_pid;
extern bool quiet;
extern bool failed;
extern char fail_msg[256];
extern int cur_op;
extern u64 cur_seed;	/* the runner's seed */
extern int oplog_n;
extern char *shared_msg;
u64 rnd(void);
u64 mix(u64 x);
void new_vma(struct view *v, int s, int a, int n);
void split_vmas(struct view *v, int s, int a, int n);
void sd_written(struct view *v, int s, int p);
void sd_dropped(struct page_state *ps);
void fault_around(struct view *v, int s, int p);
void anon_faulted(struct view *v, int s, int p);
void anon_read(struct view *v, int s, int p);
u64 page_addr(int s, int p);
u64 page_key(int s, int p, const struct page_state *ps);
u32 *obj_slot(const struct page_state *ps);
u8 after_zap(const struct page_state *ps);
void logop(const char *fmt, ...) __printf(1, 2);
void fail(const char *fmt, ...) __printf(1, 2);
void print_oplog(void);
__noreturn void abort_run(void);
struct expect expect_of(const struct view *v, int s, int p);
bool is_mapped(u64 addr);
bool page_matches(const u64 *buf, const struct expect *e, char *out, size_t len);
bool check_page(const struct expect *e, char *out, size_t len);
void write_page(u64 addr, u64 key, u32 gen);

/* threads.c */
extern int uffd;
extern bool have_markers, have_async, uffd_async;
extern struct uthread *handler;
extern long handler_faults;
extern struct ctl *ctl;
extern void *child_stack;
void futex_wait_change(int *word, int seen);
void futex_wake_all(int *word);
void run_job_on(int cpu, struct job *j);
void job_start(int cpu, const struct job *j);
void job_wait(int cpu, struct job *j);
void start_workers(void);
void stop_workers(void);
int uffd_call(unsigned long cmd, void *arg);
int wp_range(int fd, u64 start, u64 len, u64 mode);
void uffd_setup(u64 seed);
void uffd_teardown(void);
void pause_briefly(unsigned *spins);
long child_main(void *arg);
bool child_call(int cmd);
bool child_was_killed(void);
bool child_kill_allowed(void);
extern int child_deaths;

/* ops.c */
extern const char *kind_name[NR_OPS];
extern struct op ops[MAX_OPS];
extern bool keep[MAX_OPS];
void gen_ops(u64 seed, int n);
const char *errstr(long r);
void op_retouch(const struct op *o);
void maybe_retouch(const struct op *o);
long runner_main(void *arg);

/* thp.c */
/* The /proc/vmstat THP counters interplay.thpstat=1 prints (thp.c). */
#define NR_THP_VM 4

struct thp_stats {
	int regions, cuts, collapse_ok, collapse_refused;
	int sure_ok, sure_einval, either;	/* what the model predicted */
	long vm_start[NR_THP_VM];	/* thp_fault_alloc, thp_split_pmd,
					   thp_collapse_alloc, thp_split_page */
};
extern struct thp_stats thp_stats;
void op_thp(const struct op *o);
void op_collapse(const struct op *o);
void thp_stats_begin(void);
void thp_stats_print(u64 seed);

/* ops.c, for thp.c */
extern u32 next_gen;
extern const u8 op_weight[NR_OPS];
long model_madvise(struct view *v, int s, int a, int n, int advice);
void unmap_pages(struct view *v, int s, int a, int n);
void fresh_pages(struct view *v, int s, int a, int n, bool shared, bool thp);
bool expect_ret(long got, long want, const char *what, int s, int a, int n);
void write_range(struct view *v, int s, int a, int n, int cpu, bool in_child, bool huge_only);
void read_range(struct view *v, int s, int a, int n, int cpu, bool in_child);
void op_fork(const struct op *o);
void child_lost_range(int s, int a, int n);

/* mlock.c */
void op_mlock(const struct op *o);
long model_populate(struct view *v, int s, int a, int n, bool write);
void mlock_after_mprotect(struct view *v, int s, int a, int n, int prot);
/* mremap.c */
void op_mremap(const struct op *o);

/* missing.c */
extern int mfd;
u32 fill_gen(u64 addr);
void missing_setup(void);
void missing_teardown(void);
bool is_missing_reg(const struct page_state *ps);
void missing_may_fill(struct page_state *ps, int s, int p);
void missing_forget(struct page_state *ps);
bool slot_has_missing(int s);
void expect_events(u32 event, const u64 (*want)[2], int nwant, const char *what);
void expect_unmap_event(int s, int a, int n, const char *what);
void expect_remove_events(int s, int a, int n, int stop, const char *what);

/* races.c */
bool races(bool in_soak);

#endif
