/* SPDX-License-Identifier: MIT */
/* pthreads_libc - POSIX threads on the host's C library (glibc or musl),
 * linked statically: pthread_create (clone with CLONE_SETTLS and friends,
 * set_robust_list, rseq), a mutex and a condition variable (futex), join,
 * thread-local storage, and floating-point work in every thread at once,
 * whose results must not depend on the others (each thread's SSE and x87
 * registers are its own). Built as pthreads_glibc and pthreads_musl; prints
 * KTAP, the same lines on Linux.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define STEPS 200000

static __thread int tls_index = -1;
static __thread double tls_sum;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_here = PTHREAD_COND_INITIALIZER;
static int arrived;

struct job {
	int index;
	double result;          /* the thread's sum */
	int tls_ok;             /* its TLS kept its own values */
	void *tls_addr;
};

/* A sum whose every step rounds: any register another thread left behind
 * changes the result. */
static double work(int index)
{
	double s = 0.0, x = 1.0 + index * 0.25;

	for (int i = 1; i <= STEPS; i++) {
		s += sin(x * i) / i + sqrt((double)i) * 1e-9;
		if ((i & 0x3fff) == 0)
			sched_yield();
	}
	return s;
}

static void *thread_main(void *arg)
{
	struct job *j = arg;

	tls_index = j->index;
	j->tls_addr = &tls_index;
	/* Everybody here before anybody works: all run at once. */
	pthread_mutex_lock(&lock);
	if (++arrived == NTHREADS)
		pthread_cond_broadcast(&all_here);
	while (arrived < NTHREADS)
		pthread_cond_wait(&all_here, &lock);
	pthread_mutex_unlock(&lock);

	tls_sum = work(j->index);
	j->result = tls_sum;
	j->tls_ok = tls_index == j->index && tls_sum == j->result;
	return j;
}

static int failures, number;

static void ok(int pass, const char *what)
{
	number++;
	printf("%sok %d %s\n", pass ? "" : "not ", number, what);
	if (!pass)
		failures++;
}

int main(void)
{
	pthread_t t[NTHREADS];
	struct job jobs[NTHREADS];
	int created = 1, joined = 1, same = 1, tls = 1, distinct = 1;

	printf("KTAP version 1\n1..6\n");
	fflush(stdout);
	tls_index = 100;
	for (int i = 0; i < NTHREADS; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].index = i;
		if (pthread_create(&t[i], NULL, thread_main, &jobs[i]) != 0)
			created = 0;
	}
	ok(created, "pthread_create starts 4 threads");
	for (int i = 0; i < NTHREADS && created; i++) {
		void *ret;
		if (pthread_join(t[i], &ret) != 0 || ret != &jobs[i])
			joined = 0;
	}
	ok(created && joined, "pthread_join returns each thread's value");
	ok(arrived == NTHREADS, "all 4 met under a mutex and a condition variable");
	for (int i = 0; i < NTHREADS; i++) {
		if (jobs[i].result != work(i))
			same = 0;
		tls = tls && jobs[i].tls_ok;
		for (int k = 0; k < i; k++)
			if (jobs[i].tls_addr == jobs[k].tls_addr)
				distinct = 0;
	}
	ok(same, "each thread's floating-point sum equals the same sum computed alone");
	ok(tls && tls_index == 100, "thread-local variables keep each thread's values");
	ok(distinct && jobs[0].tls_addr != (void *)&tls_index,
	   "each thread's thread-local variable has its own address");
	printf("# totals: pass:%d fail:%d skip:0\n", number - failures, failures);
	return failures ? 1 : 0;
}
