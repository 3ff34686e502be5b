/* SPDX-License-Identifier: MIT */
/* tests/kernel/kernel/test_console.c - "test=console": printk in an NMI
 * takes no console lock (kernel/console.h).
 *
 * This CPU holds console_lock and sends another CPU an NMI, whose handler
 * prints (kernel/panic.c: nmi_handler). The handler must return while the
 * lock is still held - within 2 s of TSC time - and its line must reach
 * the log once the lock is released. With "console_debug_nmi_lock" the NMI
 * path takes the lock like any other printk: the handler then spins until
 * the 2 s are up and the case fails (the negative control
 * neg-nmi-console-lock in tools/run-tests). The wait is bounded, so the
 * failure is a result, not a hung boot.
 */
#include "kernel/ktest.h"
#include "kernel/console.h"
#include "kernel/printk.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"

/* Wait up to ms for c's NMI handler to have returned `want` times. */
static bool wait_nmis_done(struct cpu *c, u64 want, u64 ms)
{
	u64 t0 = rdtsc(), limit = tsc_khz * ms;
	while (rdtsc() - t0 < limit) {
		if (__atomic_load_n(&c->nmis_done, __ATOMIC_ACQUIRE) >= want)
			return true;
		cpu_relax();
	}
	return false;
}

static bool contains(const char *s, const char *word)
{
	size_t n = 0;
	while (word[n])
		n++;
	for (; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] == word[i])
			i++;
		if (i == n)
			return true;
	}
	return false;
}

static struct cpu *another_online_cpu(void)
{
	u32 other = ktest_other_cpu(smp_processor_id());
	return other < NR_CPUS ? &cpus[other] : NULL;
}

static void test_nmi_prints_while_lock_held(struct ktest *t)
{
	struct cpu *c = another_online_cpu();
	if (!c) {
		ktest_skip(t, "one CPU online");
		return;
	}
	u64 want = __atomic_load_n(&c->nmis_done, __ATOMIC_ACQUIRE) + 1;
	u64 f = console_lock_irqsave();
	lapic_send_nmi(c->apic_id);
	bool returned = wait_nmis_done(c, want, 2000);
	console_unlock_irqrestore(f);
	/* Under the negative control the handler gets the lock only now. */
	bool late = returned || wait_nmis_done(c, want, 5000);
	KTEST_EXPECT_TRUE(t, returned);
	KTEST_EXPECT_TRUE(t, late);
	static char tail[2048];
	char line[40];
	snprintf(line, sizeof(line), "NMI on CPU %u at", c->id);
	size_t n = console_log_tail(tail, sizeof(tail) - 1);
	tail[n] = 0;
	KTEST_EXPECT_TRUE(t, contains(tail, line));
	ktest_log(t, "CPU %u's NMI handler %s while this CPU held the console lock", c->id,
		  returned ? "printed and returned" : "did not return");
}

static const struct ktest_case console_cases[] = {
	{ "nmi_prints_while_lock_held", test_nmi_prints_while_lock_held },
};
KTEST_SUITE(console, console_cases);
