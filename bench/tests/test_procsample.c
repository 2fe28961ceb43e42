// SPDX-License-Identifier: MIT
/* unit: what proc_sample() counts, checked against what this test opens, starts and touches. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "procsample.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool release;

static void *parked(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!release)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void test_descriptors_are_counted_by_kind(void **state)
{
	struct proc_sample a, b;
	int ev[3], mfd;

	(void)state;
	assert_int_equal(proc_sample(getpid(), &a), 0);
	for (int i = 0; i < 3; i++)
		ev[i] = eventfd(0, EFD_CLOEXEC);
	mfd = memfd_create("soak-test", MFD_CLOEXEC);
	assert_true(ev[0] >= 0 && ev[1] >= 0 && ev[2] >= 0 && mfd >= 0);
	assert_int_equal(proc_sample(getpid(), &b), 0);
	assert_int_equal(b.v[PM_FDS] - a.v[PM_FDS], 4);
	assert_int_equal(b.v[PM_FDS_EVENTFD] - a.v[PM_FDS_EVENTFD], 3);
	assert_int_equal(b.v[PM_FDS_MEMFD] - a.v[PM_FDS_MEMFD], 1);
	assert_int_equal(b.v[PM_FDS_KVM_VM], a.v[PM_FDS_KVM_VM]);
	for (int i = 0; i < 3; i++)
		close(ev[i]);
	close(mfd);
	assert_int_equal(proc_sample(getpid(), &b), 0);
	assert_int_equal(b.v[PM_FDS], a.v[PM_FDS]);
}

static void test_threads_are_counted(void **state)
{
	struct proc_sample a, b;
	pthread_t t[2];

	(void)state;
	assert_int_equal(proc_sample(getpid(), &a), 0);
	assert_int_equal(a.v[PM_IOU_WORKERS], 0);
	release = false;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, parked, NULL), 0);
	assert_int_equal(proc_sample(getpid(), &b), 0);
	assert_int_equal(b.v[PM_THREADS] - a.v[PM_THREADS], 2);
	pthread_mutex_lock(&lock);
	release = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(proc_sample(getpid(), &b), 0);
	assert_int_equal(b.v[PM_THREADS], a.v[PM_THREADS]);
}

static void test_touched_memory_shows_in_rss_and_mappings(void **state)
{
	struct proc_sample a, b;
	size_t len = 8 << 20;
	uint8_t *p;

	(void)state;
	assert_int_equal(proc_sample(getpid(), &a), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 1, len);
	assert_int_equal(proc_sample(getpid(), &b), 0);
	assert_true(b.v[PM_RSS_KIB] - a.v[PM_RSS_KIB] >= 8000);
	assert_true(b.v[PM_RSS_ANON_KIB] - a.v[PM_RSS_ANON_KIB] >= 8000);
	assert_true(b.v[PM_MAPS] >= a.v[PM_MAPS]); /* may merge with a neighbour */
	assert_true(b.v[PM_MEM_AVAILABLE_KIB] > 0);
	munmap(p, len);
}

static void test_a_process_that_is_gone_is_an_error(void **state)
{
	struct proc_sample s;
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_true(proc_sample(pid, &s) < 0);
}

static void test_kernel_vms_are_unknown_without_debugfs_or_counted_with_it(void **state)
{
	struct proc_sample s;

	(void)state;
	assert_int_equal(proc_sample(getpid(), &s), 0);
	if (proc_kvm_debugfs())
		assert_int_equal(s.v[PM_KERNEL_VMS], 0); /* this test created no VM */
	else
		assert_int_equal(s.v[PM_KERNEL_VMS], -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptors_are_counted_by_kind),
		cmocka_unit_test(test_threads_are_counted),
		cmocka_unit_test(test_touched_memory_shows_in_rss_and_mappings),
		cmocka_unit_test(test_a_process_that_is_gone_is_an_error),
		cmocka_unit_test(test_kernel_vms_are_unknown_without_debugfs_or_counted_with_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
