// SPDX-License-Identifier: MIT
/*
 * unit: what the migrate suite (bench/migbench.c) reads from the output of
 * `xenith save`, `restore`, `run --boot-trace`, `migrate` and the guest
 * programs gap and dirty, in the exact form those print it (the lines
 * below are from real runs, a few numbers and an address changed), and the
 * dirty rate its report says pre-copy stops converging at.  A line that is not quite the one printed
 * must be refused, not half read: the suite fails rather than record it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "migbench.h"
#include "report.h"
#include "testutil.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_migbench_reads_the_save_line(void **state)
{
	struct mig_saved s;

	(void)state;
	assert_int_equal(mig_parse_saved("gap: waking every 1 ms\n"
					 "saved 'g1' to /tmp/x: y/snap: 70 pages, 0.3 MiB, paused 1.637 ms\n", &s), 0);
	NEAR(s.pages, 70);
	NEAR(s.paused_ms, 1.637);
	/* a failed save prints no such line; one with a field missing is not read */
	assert_int_equal(mig_parse_saved("xenith save: cannot reach domain 'g1'\n", &s), -EINVAL);
	assert_int_equal(mig_parse_saved("saved 'g1' to snap: 70 pages, 0.3 MiB\n", &s), -EINVAL);
	assert_int_equal(mig_parse_saved("saved 'g1' to snap: 70 pages, 0.3 MiB, paused ms\n", &s), -EINVAL);
}

static void test_migbench_reads_the_restore_line_and_the_last_of_several(void **state)
{
	static const char out[] =
		"gap: 188887 us without running\n"
		"xenith: restored 'g1' from snap: 70 pages, built in 1.024 ms, loaded in 0.932 ms, running 15.393 ms "
		"after the start of xenith\n"
		"xenith: restored 'g1' from snap: 71 pages, built in 2.000 ms, loaded in 3.000 ms, running 4.500 ms "
		"after the start of xenith\n"
		"gap: shutdown requested\n";
	struct mig_restored s;

	(void)state;
	assert_int_equal(mig_parse_restored(out, &s), 0);
	NEAR(s.pages, 71);
	NEAR(s.build_ms, 2);
	NEAR(s.load_ms, 3);
	NEAR(s.running_ms, 4.5);
	/* the line must start the line: a guest echoing it in a longer line is not it */
	assert_int_equal(mig_parse_restored("guest says xenith: restored 'g1' from snap: 70 pages, built in 1 ms, "
					    "loaded in 1 ms, running 1 ms after the start of xenith\n", &s), -EINVAL);
}

static void test_migbench_reads_first_run_from_the_boot_trace(void **state)
{
	double ms = 0;

	(void)state;
	assert_int_equal(mig_parse_first_run("xenith: domain 'g1' (id 1) saved by `xenith save`\n"
					     "boot-trace: created_us=18869.5 first_run_us=20709.4 first_exit_us=21041.8 "
					     "first_line_us=21099.4\n", &ms), 0);
	NEAR(ms, 20.7094);
	/* -1.0: the vCPU never ran (tools/cmd_run.c) */
	assert_int_equal(mig_parse_first_run("boot-trace: created_us=10.0 first_run_us=-1.0 first_exit_us=-1.0 "
					     "first_line_us=-1.0\n", &ms), -EINVAL);
	assert_int_equal(mig_parse_first_run("boot-trace: created_us=10.0\n", &ms), -EINVAL);
}

static void test_migbench_reads_a_migration_that_converged(void **state)
{
	struct mig_migrated m;

	(void)state;
	assert_int_equal(mig_parse_migrated("migrated 'g1' to 127.0.0.1:39223: 1 rounds, 72 pages (0.3 MiB), stop "
					    "and copy 2 pages (0 the VMM's own writes), downtime 9.290 ms, 13.5 ms "
					    "in all\n", &m), 0);
	NEAR(m.rounds, 1);
	assert_true(m.converged);
	NEAR(m.pages, 72);
	NEAR(m.mib, 0.3);
	NEAR(m.final_pages, 2);
	NEAR(m.swept_pages, 0);
	NEAR(m.downtime_ms, 9.29);
	NEAR(m.total_ms, 13.5);
}

static void test_migbench_reads_a_migration_that_did_not_converge(void **state)
{
	struct mig_migrated m;

	(void)state;
	/* the round lines on stderr come first, and an IPv6 receiver has colons in its address */
	assert_int_equal(mig_parse_migrated("xenith migrate: round 0: 70 pages (0.3 MiB) at 634 MB/s; 0 dirty, "
					    "stopping now would take 0.000 ms\n"
					    "migrated 'g1' to [::1]:44389: 9 rounds (did not converge: the guest "
					    "dirties memory faster than it goes), 87345 pages (341.9 MiB), stop and "
					    "copy 5753 pages (12 the VMM's own writes), downtime 42.854 ms, 433.2 ms "
					    "in all\n", &m), 0);
	NEAR(m.rounds, 9);
	assert_false(m.converged);
	NEAR(m.pages, 87345);
	NEAR(m.final_pages, 5753);
	NEAR(m.swept_pages, 12);
	NEAR(m.downtime_ms, 42.854);
	NEAR(m.total_ms, 433.2);
	/* a failed migration, or a line cut short, is not a result */
	assert_int_equal(mig_parse_migrated("xenith migrate: cannot reach the receiver at 127.0.0.1:1\n", &m),
			 -EINVAL);
	assert_int_equal(mig_parse_migrated("migrated 'g1' to 127.0.0.1:1: 1 rounds, 72 pages (0.3 MiB), stop "
					    "and copy 2 pages (0 the VMM's own writes), downtime 9.290 ms\n", &m),
			 -EINVAL);
}

static void test_migbench_reads_the_guests_last_lines(void **state)
{
	struct mig_guest g;

	(void)state;
	assert_int_equal(mig_parse_guest("gap: waking every 1 ms\ngap: shutdown requested\n"
					 "gap: 624 wakes, largest gap 10634 us\n", "gap", &g), 0);
	NEAR(g.wakes, 624);
	NEAR(g.largest_gap_us, 10634);
	NEAR(g.rate_mbs, 0);
	assert_int_equal(mig_parse_guest("dirty: 1600 MB/s over 64 MiB\ndirty: 477 wakes, 423343 pages written "
					 "at 1599 MB/s, largest gap 165386 us\n", "dirty", &g), 0);
	NEAR(g.wakes, 477);
	NEAR(g.pages, 423343);
	NEAR(g.rate_mbs, 1599);
	NEAR(g.largest_gap_us, 165386);
	/* one program's line is not the other's, and a guest that never reported has none */
	assert_int_equal(mig_parse_guest("gap: 624 wakes, largest gap 10634 us\n", "dirty", &g), -EINVAL);
	assert_int_equal(mig_parse_guest("gap: waking every 1 ms\n", "gap", &g), -EINVAL);
	assert_int_equal(mig_parse_guest("gap: 624 wakes, largest gap 10634 us\n", "ticker", &g), -EINVAL);
}

static void test_migbench_guest_gap_is_the_largest_gap_less_one_period(void **state)
{
	(void)state;
	NEAR(mig_guest_gap_ms(10634, 1), 9.634);
	NEAR(mig_guest_gap_ms(1000, 1), 0);
	NEAR(mig_guest_gap_ms(400, 1), 0); /* a wake early by the clock's grain: never below 0 */
}

/* A run with dirty-R-converged series of the given samples, rates in the order given. */
static void dirty_run(struct bench_run *run, const unsigned *rates, const char *const *conv, size_t n)
{
	bench_run_init(run);
	for (size_t i = 0; i < n; i++) {
		char name[48];
		struct bench_series *s;

		snprintf(name, sizeof(name), "dirty-%u-converged", rates[i]);
		s = bench_run_series(run, "migrate", name, "xenith", "0/1", true);
		assert_non_null(s);
		for (const char *c = conv[i]; *c; c++)
			assert_int_equal(bench_series_add(s, *c == '1'), 0);
	}
}

static void test_migbench_limit_is_the_lowest_rate_where_most_runs_did_not_converge(void **state)
{
	static const unsigned rates[] = { 1600, 25, 400, 800, 100 };
	/* 400: one of three failed (most converged); 800: two of three failed; 1600: none converged */
	static const char *const conv[] = { "000", "111", "101", "010", "111" };
	struct bench_run run;
	double limit = 0, highest = 0;

	(void)state;
	dirty_run(&run, rates, conv, 5);
	/* other suites' and other figures' series do not count */
	assert_int_equal(bench_series_add(bench_run_series(&run, "migrate", "dirty-50-downtime", "xenith", "ms",
							    false), 0), 0);
	assert_int_equal(bench_series_add(bench_run_series(&run, "prof", "dirty-60-converged", "xenith", "0/1",
							    true), 0), 0);
	assert_true(report_migrate_limit(&run, &limit, &highest));
	NEAR(limit, 800);
	NEAR(highest, 1600);
	bench_run_free(&run);
}

static void test_migbench_limit_is_above_the_highest_when_every_rate_converged(void **state)
{
	static const unsigned rates[] = { 100, 400 };
	/* half of the runs failing is not most */
	static const char *const conv[] = { "11", "10" };
	struct bench_run run;
	double limit = 0, highest = 0;

	(void)state;
	dirty_run(&run, rates, conv, 2);
	assert_false(report_migrate_limit(&run, &limit, &highest));
	NEAR(highest, 400);
	bench_run_free(&run);
	/* and no dirty case at all: no limit, nothing tried */
	bench_run_init(&run);
	assert_false(report_migrate_limit(&run, &limit, &highest));
	NEAR(highest, 0);
	bench_run_free(&run);
}

/* The terminal table states the limit and the targets' verdicts next to the figures. */
static void test_migbench_report_states_limit_targets_and_anchors(void **state)
{
	static const unsigned rates[] = { 400, 800 };
	static const char *const conv[] = { "111", "000" };
	struct bench_run run;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	dirty_run(&run, rates, conv, 2);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(bench_series_add(bench_run_series(&run, "migrate", "dirty-400-downtime", "xenith",
								    "ms", false), 8 + i), 0);
		assert_int_equal(bench_series_add(bench_run_series(&run, "migrate", "idle-64M-downtime", "xenith",
								    "ms", false), 3 + i), 0); /* 3, 4, 5 */
		assert_int_equal(bench_series_add(bench_run_series(&run, "migrate", "to-running-64M", "restore",
								    "ms", false), 15), 0);
	}
	bench_run_finish(&run);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	report_migrate(f, &run, false);
	fclose(f);
	assert_non_null(strstr(text, "Pre-copy stops converging at 800 MB/s"));
	assert_non_null(strstr(text, "target under 5 ms: met in 2 of 3 runs"));
	assert_non_null(strstr(text, "target under 5 ms: missed (none of 3 runs)"));
	assert_non_null(strstr(text, "Firecracker restores a snapshot in 8 to 9 ms"));
	assert_non_null(strstr(text, "Clark et al., NSDI 2005"));
	free(text);
	bench_run_free(&run);
}

/* The line after "migrated": which dirty log, and the ring's full exits. */
static void test_migbench_reads_the_dirty_log_line(void **state)
{
	struct mig_dirty_log l;

	(void)state;
	assert_int_equal(mig_parse_dirty_log("migrated 'g1' to 127.0.0.1:1: ...\ndirty log: KVM's dirty ring, 1024 "
					     "entries per vCPU; 16 vCPU exits for a full ring\n", &l), 0);
	NEAR(l.ring_entries, 1024);
	NEAR(l.full_exits, 16);
	assert_int_equal(mig_parse_dirty_log("dirty log: KVM's dirty bitmap\n", &l), 0);
	NEAR(l.ring_entries, 0);
	NEAR(l.full_exits, 0);
	assert_int_equal(mig_parse_dirty_log("dirty log: KVM's dirty ring, 1024 entries per vCPU\n", &l), -EINVAL);
	assert_int_equal(mig_parse_dirty_log("migrated 'g1' to 127.0.0.1:1\n", &l), -EINVAL);
}

/* logs-R's rows: each way's figures, and the pairs' ratio shown as ring / bitmap with its interval. */
static void test_migbench_report_sets_the_ring_against_the_bitmap(void **state)
{
	static const double ring[] = { 50, 60, 55 }, bitmap[] = { 100, 110, 120 };
	struct bench_run run;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	bench_run_init(&run);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(bench_series_add(bench_run_series(&run, "migrate", "logs-400-total", "ring", "ms",
								    false), ring[i]), 0);
		assert_int_equal(bench_series_add(bench_run_series(&run, "migrate", "logs-400-total", "bitmap", "ms",
								    false), bitmap[i]), 0);
		assert_int_equal(bench_series_add(bench_run_series(&run, "migrate", "logs-400-total", "ratio", "x",
								    true), bitmap[i] / ring[i]), 0);
		assert_int_equal(bench_series_add(bench_run_series(&run, "migrate", "logs-400-full-exits", "ring",
								    "exits", false), 16), 0);
	}
	bench_run_finish(&run);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	report_migrate(f, &run, false);
	fclose(f);
	assert_non_null(strstr(text, "dirty 400 MB/s, KVM's ring: in all (ms)"));
	assert_non_null(strstr(text, "dirty 400 MB/s, KVM's bitmap: in all (ms)"));
	/* the median pair is 110 / 60: the ring takes 0.545 of the bitmap's time */
	assert_non_null(strstr(text, "ring / bitmap, in all, pairs (x)"));
	assert_non_null(strstr(text, "0.545"));
	assert_non_null(strstr(text, "95% CI of the pairs ["));
	assert_non_null(strstr(text, "full-ring exits (exits)"));
	free(text);
	bench_run_free(&run);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migbench_reads_the_save_line),
		cmocka_unit_test(test_migbench_reads_the_restore_line_and_the_last_of_several),
		cmocka_unit_test(test_migbench_reads_first_run_from_the_boot_trace),
		cmocka_unit_test(test_migbench_reads_a_migration_that_converged),
		cmocka_unit_test(test_migbench_reads_a_migration_that_did_not_converge),
		cmocka_unit_test(test_migbench_reads_the_guests_last_lines),
		cmocka_unit_test(test_migbench_guest_gap_is_the_largest_gap_less_one_period),
		cmocka_unit_test(test_migbench_limit_is_the_lowest_rate_where_most_runs_did_not_converge),
		cmocka_unit_test(test_migbench_limit_is_above_the_highest_when_every_rate_converged),
		cmocka_unit_test(test_migbench_report_states_limit_targets_and_anchors),
		cmocka_unit_test(test_migbench_reads_the_dirty_log_line),
		cmocka_unit_test(test_migbench_report_sets_the_ring_against_the_bitmap),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
