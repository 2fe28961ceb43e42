// SPDX-License-Identifier: MIT
/* unit: the validation knob's parser (XENITH_BENCH_SLOWDOWN) and the spin it drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "slowdown.h"
#include "testutil.h"
#include "workloads.h"

static void test_one_case_both_sides_by_default(void **state)
{
	struct slowdown_set set;
	struct errbuf eb;

	(void)state;
	assert_int_equal(slowdown_parse("compute/matmul:5", &set, &eb), 0);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.s[0].suite, "compute");
	assert_string_equal(set.s[0].name, "matmul");
	assert_int_equal(slowdown_pct(&set, "compute", "matmul", true), 5);
	assert_int_equal(slowdown_pct(&set, "compute", "matmul", false), 5);
	assert_int_equal(slowdown_pct(&set, "compute", "crc32", true), 0);
	assert_int_equal(slowdown_pct(&set, "memory", "matmul", true), 0);
}

static void test_sides_and_lists(void **state)
{
	struct slowdown_set set;
	struct errbuf eb;

	(void)state;
	assert_int_equal(slowdown_parse("memory/latency-2M:7:guest,exit/getppid:12:native,compute/crc32:1000",
					&set, &eb), 0);
	assert_int_equal(set.n, 3);
	assert_int_equal(slowdown_pct(&set, "memory", "latency-2M", true), 7);
	assert_int_equal(slowdown_pct(&set, "memory", "latency-2M", false), 0);
	assert_int_equal(slowdown_pct(&set, "exit", "getppid", false), 12);
	assert_int_equal(slowdown_pct(&set, "exit", "getppid", true), 0);
	assert_int_equal(slowdown_pct(&set, "compute", "crc32", false), 1000);
}

static void expect_refused(const char *spec, const char *why)
{
	struct slowdown_set set;
	struct errbuf eb = { "" };

	if (slowdown_parse(spec, &set, &eb) != -EINVAL)
		fail_msg("'%s' was accepted", spec);
	if (!strstr(eb.msg, why))
		fail_msg("'%s': message '%s' lacks '%s'", spec, eb.msg, why);
}

static void test_malformed_specs_are_refused_with_the_reason(void **state)
{
	(void)state;
	expect_refused("", "empty");
	expect_refused("compute/matmul", "expected SUITE/CASE:PCT");
	expect_refused("matmul:5", "expected SUITE/CASE:PCT");
	expect_refused("/matmul:5", "expected SUITE/CASE:PCT");
	expect_refused("compute/:5", "expected SUITE/CASE:PCT");
	expect_refused("compute/matmul:0", "from 1 to 1000");
	expect_refused("compute/matmul:1001", "from 1 to 1000");
	expect_refused("compute/matmul:5%", "from 1 to 1000");
	expect_refused("compute/matmul:", "from 1 to 1000");
	expect_refused("compute/matmul:5:both", "expected guest or native");
	expect_refused("compute/matmul:5,", "trailing comma");
	expect_refused("compute/a:1,compute/b:1,compute/c:1,compute/d:1,compute/e:1,compute/f:1,compute/g:1,"
		       "compute/h:1,compute/i:1", "at most 8");
	expect_refused("averyveryverylongsuitename/x:5", "too long");
}

/* The spin: an interval of T ticks measures about T * (1 + pct / 100), never less. */
static void test_stop_clock_adds_the_percentage_of_the_interval(void **state)
{
	uint64_t t0, t1, plain = 0, slowed = 0;

	(void)state;
	for (int k = 0; k < 5; k++) {
		wl_slowdown_pct = 0;
		t0 = wl_rdtsc();
		while (wl_rdtsc() - t0 < 2000000)
			;
		t1 = wl_stop_clock(t0);
		plain = t1 - t0;
		wl_slowdown_pct = 50;
		t0 = wl_rdtsc();
		while (wl_rdtsc() - t0 < 2000000)
			;
		t1 = wl_stop_clock(t0);
		slowed = t1 - t0;
		wl_slowdown_pct = 0;
		/* at least 1.5 x 2,000,000 ticks; preemption only makes it longer, so no upper bound */
		assert_true(slowed >= 3000000);
		assert_true(plain >= 2000000);
	}
	print_message("# last plain %llu ticks, slowed by 50%%: %llu\n", (unsigned long long)plain,
		      (unsigned long long)slowed);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_case_both_sides_by_default),
		cmocka_unit_test(test_sides_and_lists),
		cmocka_unit_test(test_malformed_specs_are_refused_with_the_reason),
		cmocka_unit_test(test_stop_clock_adds_the_percentage_of_the_interval),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
