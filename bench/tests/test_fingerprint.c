// SPDX-License-Identifier: MIT
/* The environment fingerprint's diff and the guest/native ratio pairs (bench/result.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "result.h"
#include "testutil.h"

static void make_env(struct bench_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->cpu_model, sizeof(e->cpu_model), "AMD EPYC");
	snprintf(e->microcode, sizeof(e->microcode), "0x1000065");
	snprintf(e->kernel, sizeof(e->kernel), "Linux 6.18.44");
	snprintf(e->kvm_module, sizeof(e->kvm_module), "kvm_pvm");
	snprintf(e->governor, sizeof(e->governor), "none");
	snprintf(e->turbo, sizeof(e->turbo), "unknown");
	snprintf(e->smt, sizeof(e->smt), "off");
	e->mem_total_kib = 24683652; /* 23.5 GiB: rounds to 24 */
	e->cpus_online = 2;
	snprintf(e->revision, sizeof(e->revision), "abc1234");
	snprintf(e->build_type, sizeof(e->build_type), "debugoptimized");
	snprintf(e->hostname, sizeof(e->hostname), "vm");
}

static const struct bench_env_diff *find_diff(const struct bench_env_diff *d, size_t n, const char *field)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(d[i].field, field))
			return &d[i];
	return NULL;
}

/*
 * What this host gives: every fingerprint field recorded (a value, or
 * "none"/"unknown" where the host has no such knob), so that two runs on it
 * compare on every field; the memory and CPU count what /proc and sysconf say.
 */
static void test_env_collect_records_every_fingerprint_field(void **state)
{
	struct bench_env e, f;
	struct bench_env_diff d[BENCH_ENV_FIELDS];
	unsigned unrecorded;
	char buf[160];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	bench_env_collect(&e, 1000000, "kvm_test", "rev", "plain");
	for (unsigned i = 0; i < BENCH_ENV_FIELDS; i++) {
		const char *name = bench_env_field(&e, i, buf, sizeof(buf));

		if (!buf[0])
			fail_msg("field %s is not recorded on this host", name);
	}
	assert_null(bench_env_field(&e, BENCH_ENV_FIELDS, buf, sizeof(buf)));
	assert_true(e.mem_total_kib > 1024);
	assert_int_equal(e.cpus_online, (unsigned)cpus);
	assert_true(!strcmp(e.turbo, "on") || !strcmp(e.turbo, "off") || !strcmp(e.turbo, "unknown"));
	assert_true(!strcmp(e.smt, "on") || !strcmp(e.smt, "off") || !strcmp(e.smt, "unknown"));
	assert_string_equal(e.kvm_module, "kvm_test");
	bench_env_collect(&f, 1000000, "kvm_test", "other-rev", "release");
	assert_int_equal(bench_env_diff(&e, &f, d, &unrecorded), 0);
	assert_int_equal(unrecorded, 0);
}

/* Same fingerprint: no difference, whatever the revision, build type, host name and date. */
static void test_env_diff_ignores_what_a_comparison_is_for(void **state)
{
	struct bench_env a, b;
	struct bench_env_diff d[BENCH_ENV_FIELDS];
	unsigned unrecorded;

	(void)state;
	make_env(&a);
	make_env(&b);
	snprintf(b.revision, sizeof(b.revision), "def5678-dirty");
	snprintf(b.build_type, sizeof(b.build_type), "release");
	snprintf(b.hostname, sizeof(b.hostname), "other");
	snprintf(b.date, sizeof(b.date), "2026-12-01T00:00:00Z");
	b.tsc_khz = 1;
	b.mem_total_kib = a.mem_total_kib - 8192; /* 8 MiB the kernel kept: the same memory size */
	assert_int_equal(bench_env_diff(&a, &b, d, &unrecorded), 0);
	assert_int_equal(unrecorded, 0);
}

/* Each fingerprint field that differs is named, with both values. */
static void test_env_diff_names_every_differing_field(void **state)
{
	static const char *const fields[] = { "cpu_model", "microcode", "kernel", "kvm_module", "governor",
					      "turbo", "smt", "memory", "cpus" };
	struct bench_env a, b;
	struct bench_env_diff d[BENCH_ENV_FIELDS];
	const struct bench_env_diff *x;
	size_t n;

	(void)state;
	make_env(&a);
	make_env(&b);
	snprintf(b.cpu_model, sizeof(b.cpu_model), "Intel(R) Xeon(R) Platinum");
	snprintf(b.microcode, sizeof(b.microcode), "0x2b000571");
	snprintf(b.kernel, sizeof(b.kernel), "Linux 6.19.0");
	snprintf(b.kvm_module, sizeof(b.kvm_module), "kvm_intel");
	snprintf(b.governor, sizeof(b.governor), "powersave");
	snprintf(b.turbo, sizeof(b.turbo), "on");
	snprintf(b.smt, sizeof(b.smt), "on");
	b.mem_total_kib = 8u << 20;
	b.cpus_online = 4;
	n = bench_env_diff(&a, &b, d, NULL);
	assert_int_equal(n, BENCH_ENV_FIELDS);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!find_diff(d, n, fields[i]))
			fail_msg("field %s differs but is not named", fields[i]);
	x = find_diff(d, n, "cpu_model");
	assert_string_equal(x->base, "AMD EPYC");
	assert_string_equal(x->cur, "Intel(R) Xeon(R) Platinum");
	x = find_diff(d, n, "memory");
	assert_string_equal(x->base, "24 GiB");
	assert_string_equal(x->cur, "8 GiB");
	x = find_diff(d, n, "cpus");
	assert_string_equal(x->base, "2");
	assert_string_equal(x->cur, "4");

	/* One field alone. */
	make_env(&b);
	snprintf(b.governor, sizeof(b.governor), "performance");
	n = bench_env_diff(&a, &b, d, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].field, "governor");
	assert_string_equal(d[0].base, "none");
	assert_string_equal(d[0].cur, "performance");
}

/* A field one side did not record is no difference, only counted. */
static void test_env_diff_counts_unrecorded_fields(void **state)
{
	struct bench_env a, b;
	struct bench_env_diff d[BENCH_ENV_FIELDS];
	unsigned unrecorded;

	(void)state;
	make_env(&a);
	make_env(&b);
	b.microcode[0] = 0;
	b.mem_total_kib = 0;
	snprintf(a.smt, sizeof(a.smt), "on");
	assert_int_equal(bench_env_diff(&a, &b, d, &unrecorded), 1);
	assert_string_equal(d[0].field, "smt");
	assert_int_equal(unrecorded, 2);
}

/* Pairs follow bench_relative_speed's direction: 1.0 is native speed, below 1 slower than native. */
static void test_pair_speed_follows_the_direction_rule(void **state)
{
	(void)state;
	assert_true(bench_pair_speed(200.0, 100.0, false) == 0.5); /* us: guest takes twice as long */
	assert_true(bench_pair_speed(5.0, 20.0, true) == 0.25);    /* GB/s: guest a quarter of native */
	assert_true(isnan(bench_pair_speed(0, 100.0, false)));
	assert_true(isnan(bench_pair_speed(100.0, -1, true)));
	assert_true(isnan(bench_pair_speed(NAN, 1, true)));
}

/*
 * Pairs go to SUITE/CASE in mode "ratio" ("ratio-thp" for guest-thp), one
 * sample per pair in order; the interval is Student's t on the logarithms.
 */
static void test_ratio_series_has_one_sample_per_pair_and_a_log_t_interval(void **state)
{
	static const double native[] = { 100, 110, 90 }, guest[] = { 200, 220, 180 };
	struct bench_run r;
	struct bench_series *g, *t;
	const struct bench_series *rs;

	(void)state;
	bench_run_init(&r);
	g = bench_run_series(&r, "compute", "crc32", "guest", "us", false);
	for (int i = 0; i < 3; i++) {
		bench_series_add(g, guest[i]);
		assert_int_equal(bench_ratio_add(&r, g, guest[i], native[i]), 0);
		g = bench_run_series(&r, "compute", "crc32", "guest", "us", false);
	}
	assert_int_equal(bench_ratio_add(&r, g, 0, 100), -EINVAL); /* no ratio: not added */
	g = bench_run_series(&r, "memory", "copy", "guest-thp", "GB/s", true);
	assert_int_equal(bench_ratio_add(&r, g, 1.0, 4.0), 0);
	g = bench_run_series(&r, "memory", "copy", "guest-thp", "GB/s", true);
	assert_int_equal(bench_ratio_add(&r, g, 4.0, 4.0), 0);
	bench_run_finish(&r);

	rs = bench_run_find(&r, "compute", "crc32", "ratio");
	assert_non_null(rs);
	assert_string_equal(rs->unit, "x");
	assert_true(rs->higher_is_better);
	assert_int_equal(rs->n, 3);
	for (int i = 0; i < 3; i++)
		assert_true(rs->samples[i] == 0.5);
	/* every pair the same: an interval of no width */
	assert_true(fabs(rs->ratio_lo - 0.5) < 1e-12 && fabs(rs->ratio_hi - 0.5) < 1e-12);

	t = (struct bench_series *)bench_run_find(&r, "memory", "copy", "ratio-thp");
	assert_non_null(t);
	assert_int_equal(t->n, 2);
	assert_true(t->samples[0] == 0.25 && t->samples[1] == 1.0);
	/*
	 * logs ln 1/4 and 0: mean -ln 2, sd ln4/sqrt 2, standard error ln 2;
	 * t(0.975, 1) = 12.706: [2^(-1 - 12.706), 2^(-1 + 12.706)].
	 */
	assert_true(fabs(t->ratio_lo / pow(2, -13.706) - 1) < 1e-9);
	assert_true(fabs(t->ratio_hi / pow(2, 11.706) - 1) < 1e-9);
	assert_null(bench_run_find(&r, "memory", "copy", "ratio"));
	bench_run_free(&r);
}

/*
 * A document from before the ratio series: derive_ratios pairs the guest
 * and native samples by index (the exit costs with their analogue), once,
 * and leaves alone a case that has its ratio series already and the blk
 * suite (its native side is fio, not a pair of the same code).
 */
static void test_derive_ratios_pairs_old_series_by_index(void **state)
{
	struct bench_run r;
	struct bench_series *s;
	const struct bench_series *q;

	(void)state;
	bench_run_init(&r);
	s = bench_run_series(&r, "compute", "crc32", "native", "us", false);
	bench_series_add(s, 100);
	bench_series_add(s, 200);
	bench_series_add(s, 300);
	s = bench_run_series(&r, "compute", "crc32", "guest", "us", false);
	bench_series_add(s, 400);
	bench_series_add(s, 400); /* one sample fewer: two pairs */
	s = bench_run_series(&r, "exit", "getppid", "native", "ns", false);
	bench_series_add(s, 50);
	s = bench_run_series(&r, "exit", "hypercall", "guest", "ns", false);
	snprintf(s->analogue, sizeof(s->analogue), "getppid");
	bench_series_add(s, 25000);
	s = bench_run_series(&r, "memory", "copy", "native", "GB/s", true);
	bench_series_add(s, 10);
	s = bench_run_series(&r, "memory", "copy", "guest", "GB/s", true);
	bench_series_add(s, 5);
	s = bench_run_series(&r, "memory", "copy", "ratio", "x", true);
	bench_series_add(s, 0.75); /* recorded in pairs: kept as it is */
	s = bench_run_series(&r, "blk", "randread-4k-qd1@exit", "native", "IOPS", true);
	bench_series_add(s, 10000);
	s = bench_run_series(&r, "blk", "randread-4k-qd1@exit", "guest", "IOPS", true);
	bench_series_add(s, 5000);
	bench_run_finish(&r);

	assert_int_equal(bench_run_derive_ratios(&r), 2);
	q = bench_run_find(&r, "compute", "crc32", "ratio");
	assert_non_null(q);
	assert_int_equal(q->n, 2);
	assert_true(q->samples[0] == 0.25 && q->samples[1] == 0.5);
	assert_true(isfinite(q->ratio_lo) && q->ratio_lo < q->ratio_hi); /* finished */
	q = bench_run_find(&r, "exit", "hypercall", "ratio");
	assert_non_null(q);
	assert_int_equal(q->n, 1);
	assert_true(q->samples[0] == 50.0 / 25000);
	assert_string_equal(q->analogue, "getppid");
	q = bench_run_find(&r, "memory", "copy", "ratio");
	assert_int_equal(q->n, 1);
	assert_true(q->samples[0] == 0.75);
	assert_null(bench_run_find(&r, "blk", "randread-4k-qd1@exit", "ratio"));
	assert_int_equal(bench_run_derive_ratios(&r), 0); /* once */
	bench_run_free(&r);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_collect_records_every_fingerprint_field),
		cmocka_unit_test(test_env_diff_ignores_what_a_comparison_is_for),
		cmocka_unit_test(test_env_diff_names_every_differing_field),
		cmocka_unit_test(test_env_diff_counts_unrecorded_fields),
		cmocka_unit_test(test_pair_speed_follows_the_direction_rule),
		cmocka_unit_test(test_ratio_series_has_one_sample_per_pair_and_a_log_t_interval),
		cmocka_unit_test(test_derive_ratios_pairs_old_series_by_index),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
