// SPDX-License-Identifier: MIT
/*
 * unit tier: the accessors tools/ and bench/ read a domain through
 * (hv/domain_access.c), on an unbacked domain.  The end of a domain is
 * written by whichever thread ends it, under d->lock; a toolstack thread
 * that polls it (the density suite waiting for a guest's main) must read
 * it under the same lock.  The poller test below runs that pattern; the
 * unit test unit-domain_access-tsan (tsan.sh) builds this file with
 * -fsanitize=thread, where an unlocked read fails as a data race.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "blkback.h"
#include "domain.h"
#include "unbacked.h"

#define WHY "killed by test_domain_access"

static struct domain *D;

static int setup(void **state)
{
	(void)state;
	D = unbacked_domain(2, NULL, false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (D)
		domain_destroy(D);
	D = NULL;
	return 0;
}

static void test_domain_name_and_id_are_the_configured_ones(void **state)
{
	(void)state;
	assert_string_equal(domain_name(D), "unit");
	assert_int_equal(domain_id(D), 7);
}

static void test_domain_end_is_empty_until_a_kill_and_then_says_why(void **state)
{
	struct domain_end end;

	(void)state;
	assert_false(domain_ended(D));
	memset(&end, 0xff, sizeof(end));
	assert_false(domain_get_end(D, &end));
	assert_string_equal(end.why, "");

	domain_kill(D, true, WHY);
	assert_true(domain_ended(D));
	assert_true(domain_get_end(D, &end));
	assert_int_equal(end.state, DOMAIN_DESTROYED);
	assert_true(end.timed_out);
	assert_string_equal(end.why, WHY);
	assert_string_equal(domain_final_end(D)->why, WHY);
}

struct poller {
	atomic_bool go;
	bool saw_end;
	char why[sizeof(((struct domain_end *)0)->why)];
	unsigned long polls;
};

/* The density suite's wait: poll the end until the domain ended (bounded by a poll count). */
static void *poll_end(void *arg)
{
	struct poller *p = arg;
	struct domain_end end;

	atomic_store(&p->go, true);
	for (p->polls = 0; p->polls < 100000000ul; p->polls++) {
		if (domain_get_end(D, &end)) {
			p->saw_end = true;
			snprintf(p->why, sizeof(p->why), "%s", end.why);
			break;
		}
		sched_yield();
	}
	return NULL;
}

static void test_domain_end_polled_from_another_thread_is_whole(void **state)
{
	struct poller p = { 0 };
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, poll_end, &p), 0);
	while (!atomic_load(&p.go))
		sched_yield();
	domain_kill(D, false, WHY);
	pthread_join(t, NULL);
	assert_true(p.saw_end);
	/* The reason as written, never a partly written one. */
	assert_string_equal(p.why, WHY);
}

static void test_domain_vcpu_thread_refuses_unstarted_and_missing_vcpus(void **state)
{
	pthread_t t;

	(void)state;
	/* An unbacked domain starts no threads. */
	assert_int_equal(domain_vcpu_thread(D, 0, &t), -ESRCH);
	assert_int_equal(domain_vcpu_thread(D, 2, &t), -EINVAL);
}

static void test_domain_boot_times_are_zero_before_the_guest_ran(void **state)
{
	struct domain_boot_times bt;

	(void)state;
	domain_boot_times(D, &bt);
	assert_true(bt.created_ns > 0);
	assert_int_equal(bt.first_run_ns, 0);
	assert_int_equal(bt.first_exit_ns, 0);
	assert_int_equal(bt.first_line_ns, 0);
}

static void test_domain_disk_stats_refuses_a_domain_without_disks(void **state)
{
	struct blkback_stats st;

	(void)state;
	assert_int_equal(domain_disk_stats(D, 0, 0, &st), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_domain_name_and_id_are_the_configured_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_end_is_empty_until_a_kill_and_then_says_why, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_domain_end_polled_from_another_thread_is_whole, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_domain_vcpu_thread_refuses_unstarted_and_missing_vcpus,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_boot_times_are_zero_before_the_guest_ran, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_domain_disk_stats_refuses_a_domain_without_disks, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
