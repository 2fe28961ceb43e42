// SPDX-License-Identifier: MIT
/*
 * kvm tier: the xenstore a VMM serves its domain (hv/xsdomain.c), seen
 * from both ends: minios's xenbus client running `xenbus ...`
 * (guest/xenbus_test.c: every operation, its own quotas, all vCPUs at
 * once), and the toolstack's `xenith xenstore-ls` and `xenith
 * xenstore-write` on a running domain.  What the VMM wrote is checked
 * against what `xenith list` says of the domain (its name, id, memory),
 * not against the dump itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static struct proc P, Q;

/* NAME's id and memory (MiB) from `xenith list`. */
static void list_domain(const char *name, unsigned *id, unsigned *mem_mib)
{
	char want[80];
	const char *row;

	assert_int_equal(RUN(&Q, 20, "list"), 0);
	snprintf(want, sizeof(want), "\n%s ", name);
	row = strstr(Q.out, want);
	if (!row)
		fail_msg("`xenith list` has no row for %s:\n%s", name, Q.out);
	/* NAME ID STATE VCPUS MEM(MiB) UPTIME */
	assert_int_equal(sscanf(row + strlen(want), " %u %*s %*s %u", id, mem_mib), 2);
}

/* Whether text has a line that is `key = "value"` after its indentation. */
static bool has_node(const char *text, const char *key, const char *value)
{
	char want[256];
	size_t len = (size_t)snprintf(want, sizeof(want), "%s = \"%s\"", key, value);

	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n'), *t = s;

		while (*t == ' ')
			t++;
		if (!strncmp(t, want, len) && (t[len] == '\n' || !t[len]))
			return true;
		if (!nl)
			break;
		s = nl + 1;
	}
	return false;
}

static void expect_node(const char *text, const char *key, const char *value)
{
	if (!has_node(text, key, value))
		fail_msg("no node `%s = \"%s\"` in:\n%.3000s", key, value, text);
}

static void test_guest_makes_every_xenstore_operation(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 120, "run", "--name", "t-xs-ops", "--cmdline", "xenbus ops"), 0);
	assert_int_equal(proc_count_lines(&P, "xenbus: ops: all checks passed"), 1);
	assert_null(strstr(P.out, "WRONG"));
}

static void test_every_vcpu_uses_the_store_at_once(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 180, "run", "--name", "t-xs-smp", "--vcpus", "4", "--cmdline", "xenbus smp"), 0);
	assert_int_equal(proc_count_lines(&P, "xenbus: smp: all checks passed"), 1);
	assert_int_equal(proc_count_lines(&P, "xenbus: vCPUs that made 50 writes and reads each -> 4 ok"), 1);
}

static void test_a_toolstack_write_fires_the_guests_watch(void **state)
{
	char path[96];
	unsigned id, mem;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-xs-host", "--cmdline", "xenbus host", NULL });
	assert_true(proc_wait_line(&P, "xenbus: host: waiting for the toolstack to write data/host-key", 60));
	list_domain("t-xs-host", &id, &mem);
	snprintf(path, sizeof(path), "/local/domain/%u/data/host-key", id);
	assert_int_equal(RUN(&Q, 20, "xenstore-write", "t-xs-host", path, "written-by-the-host"), 0);
	/* then the other end of a device: InitWait first (the guest waits on), then Connected (4) */
	assert_true(proc_wait_line(&P, "xenbus: host: waiting for the toolstack to connect data/peer", 60));
	snprintf(path, sizeof(path), "/local/domain/%u/data/peer/state", id);
	assert_int_equal(RUN(&Q, 20, "xenstore-write", "t-xs-host", path, "2"), 0);
	assert_int_equal(RUN(&Q, 20, "xenstore-write", "t-xs-host", path, "4"), 0);
	proc_wait(&P, 60);
	assert_int_equal(P.status, 0);
	assert_int_equal(proc_count_lines(&P, "xenbus: host: all checks passed"), 1);
}

static void test_xenstore_ls_prints_what_the_vmm_wrote_for_the_domain(void **state)
{
	char home[64], want[32], kib[32];
	unsigned id, mem;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-xs-ls", "--memory", "16", "--vcpus", "2",
					      "--cmdline", "idle", NULL });
	assert_true(proc_wait_line(&P, "idle: waiting for the toolstack", 60));
	list_domain("t-xs-ls", &id, &mem);
	assert_int_equal(mem, 16);
	snprintf(home, sizeof(home), "/local/domain/%u", id);
	snprintf(want, sizeof(want), "%u", id);
	snprintf(kib, sizeof(kib), "%u", mem * 1024);

	/* the whole tree: the domain's home with its keys, domain 0's */
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-xs-ls"), 0);
	expect_node(Q.out, "local", "");
	expect_node(Q.out, want, ""); /* the home, named by the id */
	expect_node(Q.out, "name", "t-xs-ls");
	expect_node(Q.out, "domid", want);
	expect_node(Q.out, "target", kib);
	expect_node(Q.out, "static-max", kib);
	expect_node(Q.out, "name", "Domain-0");
	/* below a path, and by the domain's id */
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", want, home), 0);
	expect_node(Q.out, "name", "t-xs-ls");
	expect_node(Q.out, "availability", "online");
	assert_null(strstr(Q.out, "Domain-0"));
	/* a missing path: the store's error, named */
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-xs-ls", "/no/such/node"), 1);
	assert_non_null(strstr(Q.err, "/no/such/node"));
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-xs-ls", "a", "b"), 64);

	/* a write shows; a reboot gives the domain its tree afresh */
	snprintf(home, sizeof(home), "/local/domain/%u/data/left-over", id);
	assert_int_equal(RUN(&Q, 20, "xenstore-write", "t-xs-ls", home, "from-before"), 0);
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-xs-ls"), 0);
	expect_node(Q.out, "left-over", "from-before");
	assert_int_equal(RUN(&Q, 20, "shutdown", "--reboot", "t-xs-ls"), 0);
	assert_true(proc_wait_count(&P, "idle: waiting for the toolstack", 2, 60));
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-xs-ls"), 0);
	expect_node(Q.out, "name", "t-xs-ls");
	assert_false(has_node(Q.out, "left-over", "from-before"));
	assert_int_equal(RUN(&Q, 20, "shutdown", "-w", "t-xs-ls"), 0);
	proc_wait(&P, 30);
	assert_int_equal(P.status, 0);
}

/* N of the nth (from 1) "xenbus: quota: N nodes written before the refusal" line. */
static unsigned nodes_before_refusal(const char *out, unsigned nth)
{
	static const char tail[] = " nodes written before the refusal\n";
	const char *s = out, *hit = NULL;

	for (unsigned k = 0; k < nth; k++) {
		hit = strstr(s, tail);
		assert_non_null(hit);
		s = hit + 1;
	}
	while (hit > out && hit[-1] >= '0' && hit[-1] <= '9')
		hit--;
	return (unsigned)strtoul(hit, NULL, 10);
}

static void test_a_guest_filling_its_quotas_harms_only_itself(void **state)
{
	static const char done[] = "xenbus: quota: all checks passed; waiting for the toolstack";
	unsigned id, mem, first;
	char want[32];

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-xs-quota", "--cmdline", "xenbus quota", NULL });
	assert_true(proc_wait_line(&P, done, 120));
	/* with its node quota full, the toolstack still reads the store */
	list_domain("t-xs-quota", &id, &mem);
	snprintf(want, sizeof(want), "%u", id);
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-xs-quota"), 0);
	expect_node(Q.out, "name", "t-xs-quota");
	expect_node(Q.out, "domid", want);
	/* rebooted, the domain's nodes went with its old tree: the whole quota is its own again */
	first = nodes_before_refusal(P.out, 1);
	assert_true(first > 0);
	assert_int_equal(RUN(&Q, 20, "shutdown", "--reboot", "t-xs-quota"), 0);
	assert_true(proc_wait_count(&P, done, 2, 120));
	assert_int_equal(nodes_before_refusal(P.out, 2), first);
	assert_int_equal(RUN(&Q, 20, "shutdown", "t-xs-quota"), 0);
	proc_wait(&P, 30);
	assert_int_equal(P.status, 0);
	assert_null(strstr(P.out, "WRONG"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_guest_makes_every_xenstore_operation, harness_teardown),
		cmocka_unit_test_teardown(test_every_vcpu_uses_the_store_at_once, harness_teardown),
		cmocka_unit_test_teardown(test_a_toolstack_write_fires_the_guests_watch, harness_teardown),
		cmocka_unit_test_teardown(test_xenstore_ls_prints_what_the_vmm_wrote_for_the_domain,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_guest_filling_its_quotas_harms_only_itself, harness_teardown),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
