// SPDX-License-Identifier: MIT
/*
 * kvm tier: the guest's network programs (guest/net.c, guest/net_hostile.c)
 * where they need no vif: a domain without one gets the reason and exit
 * status 3, bad options the option's name and status 2.  With a vif they
 * are exercised end to end by test_net.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static struct proc P;

static void expect_run(const char *name, const char *cmdline, bool test_image, int status, const char *says)
{
	if (test_image)
		assert_int_equal(RUN(&P, 60, "run", "--name", name, "-m", "32", "--kernel", harness_minios(),
				     "--cmdline", cmdline), status);
	else
		assert_int_equal(RUN(&P, 60, "run", "--name", name, "-m", "32", "--cmdline", cmdline), status);
	if (!strstr(P.out, says))
		fail_msg("'%s' did not print '%s':\n%s", cmdline, says, P.out);
}

static void test_net_programs_without_a_vif_say_so_and_exit_3(void **state)
{
	(void)state;
	expect_run("t-net-novif-sink", "net-sink count=1", false, 3,
		   "net-sink: vif 0: connect: -2 (no such vif");
	expect_run("t-net-novif-blast", "net-blast dst=10.0.0.1:9 count=1", false, 3,
		   "net-blast: vif 0: connect: -2 (no such vif");
	expect_run("t-net-novif-echo", "net-echo vif=1", false, 3, "net-echo: vif 1: connect: -2 (no such vif");
	expect_run("t-net-novif-hostile", "net-hostile", true, 3, "net-hostile: vif 0: connect -> -2");
}

static void test_net_programs_refuse_bad_options_by_name(void **state)
{
	(void)state;
	expect_run("t-net-opt-size", "net-blast dst=10.0.0.1:9 count=1 size=63", false, 2,
		   "net-blast: bad option 'size' (");
	expect_run("t-net-opt-size2", "net-blast dst=10.0.0.1:9 count=1 size=1515", false, 2,
		   "net-blast: bad option 'size' (");
	expect_run("t-net-opt-dst", "net-blast count=1", false, 2, "net-blast: needs dst=A.B.C.D:PORT");
	expect_run("t-net-opt-port", "net-blast dst=10.0.0.1:70000 count=1", false, 2, "net-blast: bad option 'dst'");
	expect_run("t-net-opt-ip", "net-sink ip=10.0.0.300/24", false, 2, "net-sink: bad option 'ip'");
	expect_run("t-net-opt-unknown", "net-sink colour=blue", false, 2, "net-sink: bad option 'colour'");
	expect_run("t-net-opt-mac", "net-sink mac=02:00:00:00:00:09", false, 2,
		   "net-sink: mac= is for native runs: a guest sends from its vif's MAC");
	expect_run("t-net-opt-echo", "net-echo dst=10.0.0.1:7", false, 2, "net-echo: the client (dst=) needs count=N");
	expect_run("t-net-opt-hostile", "net-hostile flood=x", true, 2, "net-hostile: bad option 'flood=x'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_net_programs_without_a_vif_say_so_and_exit_3, harness_teardown),
		cmocka_unit_test_teardown(test_net_programs_refuse_bad_options_by_name, harness_teardown),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
