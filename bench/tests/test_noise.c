// SPDX-License-Identifier: MIT
/*
 * unit: the noise record (bench/noise.h) from fake /proc and /sys files
 * under a root of the test's own: the shares of CPU time, the load average
 * and frequency samples, the warnings they give, and the document's
 * "noise" object written, read back, and absent from older documents.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsutil.h"
#include "noise.h"
#include "report.h"
#include "result.h"
#include "testutil.h"

static char root[PATH_MAX];

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX + 128], dir[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	if (fs_mkdir_p(dir, 0755) < 0)
		fail_msg("mkdir %s failed", dir);
	test_write_text(path, text);
}

/* /proc/stat with the aggregate line's counters and two CPUs. */
static void stat_file(unsigned long long user, unsigned long long system, unsigned long long idle,
		      unsigned long long iowait, unsigned long long steal)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "cpu  %llu 0 %llu %llu %llu 0 0 %llu 0 0\n"
		 "cpu0 1 0 1 1 0 0 0 0 0 0\ncpu1 1 0 1 1 0 0 0 0 0 0\n"
		 "intr 12345 0 0\nctxt 999\nbtime 1700000000\n", user, system, idle, iowait, steal);
	put("/proc/stat", text);
}

/* /proc/self/stat with utime, stime, cutime, cstime (a name with a space and a parenthesis). */
static void self_file(unsigned long long utime, unsigned long long stime, unsigned long long cutime,
		      unsigned long long cstime)
{
	char text[512];

	snprintf(text, sizeof(text), "4242 (xen ith) b) R 1 4242 4242 0 -1 4194304 100 0 0 0 %llu %llu %llu %llu "
		 "20 0 3 0 100 1000000 200\n", utime, stime, cutime, cstime);
	put("/proc/self/stat", text);
}

static int fresh_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/xenith-noise-XXXXXX");
	if (!mkdtemp(root))
		fail_msg("mkdtemp: %s", strerror(errno));
	return 0;
}

static int remove_root(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * Over the run: 1000 ticks pass on the host, 300 idle or in I/O wait, 40
 * stolen; this process used 400 (its own 300, its children 100): steal 4%,
 * xenith 40%, others 26%.
 */
static void test_cpu_shares_come_from_the_counters_over_the_run(void **state)
{
	struct noise_record rec;
	struct bench_noise n;

	(void)state;
	stat_file(1000, 500, 2000, 100, 10);
	self_file(200, 50, 10, 0);
	put("/proc/loadavg", "1.00 0.50 0.20 2/100 4242\n");
	noise_begin(&rec, root);
	/* +620 user, +40 system, +250 idle, +50 iowait, +40 steal = +1000 */
	stat_file(1620, 540, 2250, 150, 50);
	self_file(450, 100, 100, 10);  /* +250 +50 +90 +10 = +400 */
	put("/proc/loadavg", "3.10 1.00 0.30 4/100 4242\n");
	noise_end(&rec, &n);
	assert_true(n.set);
	assert_int_equal(n.cpus, 2);
	assert_true(fabs(n.steal - 0.04) < 1e-9);
	assert_true(fabs(n.self - 0.40) < 1e-9);
	assert_true(fabs(n.other - 0.26) < 1e-9);
	/* the load average at the start and at the end */
	assert_int_equal(n.load_samples, 2);
	assert_true(fabs(n.load_max - 3.1) < 1e-9);
	assert_true(fabs(n.load_mean - 2.05) < 1e-9);
}

/* Without cpufreq in /sys: "not exposed", and no frequency warning. */
static void test_frequency_not_exposed_is_said_and_not_warned(void **state)
{
	struct noise_record rec;
	struct bench_run run;
	char line[512], w[8][NOISE_WARNING_LEN];

	(void)state;
	stat_file(100, 100, 800, 0, 0);
	self_file(1, 1, 0, 0);
	put("/proc/loadavg", "0.50 0.50 0.50 1/100 4242\n");
	bench_run_init(&run);
	noise_begin(&rec, root);
	stat_file(150, 150, 1700, 0, 0);
	self_file(40, 10, 0, 0);
	noise_end(&rec, &run.noise);
	assert_string_equal(run.noise.governor, "");
	assert_int_equal(run.noise.freq_samples, 0);
	noise_summary(&run.noise, line, sizeof(line));
	assert_non_null(strstr(line, "frequency scaling not exposed"));
	assert_non_null(strstr(line, "load average max 0.5 (mean 0.5) on 2 CPUs"));
	/* a quiet host: other processes 0%, no steal, load below the CPUs: nothing to warn of */
	assert_int_equal(noise_warnings(&run, w, 8), 0);
}

/* A powersave governor and a frequency that moved: both warned; the samples' range recorded. */
static void test_frequency_scaling_is_sampled_and_warned(void **state)
{
	struct noise_record rec;
	struct bench_run run;
	char w[8][NOISE_WARNING_LEN];
	size_t n;

	(void)state;
	stat_file(100, 100, 800, 0, 0);
	self_file(1, 1, 0, 0);
	put("/proc/loadavg", "0.10 0.10 0.10 1/100 4242\n");
	put("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "powersave\n");
	put("/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "powersave\n");
	put("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "3400000\n");
	put("/sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "3400000\n");
	bench_run_init(&run);
	noise_begin(&rec, root);
	put("/sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "1200000\n");
	noise_sample(&rec);
	stat_file(150, 150, 1700, 0, 0);
	self_file(40, 10, 0, 0);
	noise_end(&rec, &run.noise);
	assert_string_equal(run.noise.governor, "powersave");
	assert_int_equal(run.noise.freq_samples, 6); /* 2 CPUs, 3 samples */
	assert_true(run.noise.freq_min_mhz == 1200 && run.noise.freq_max_mhz == 3400);
	n = noise_warnings(&run, w, 8);
	assert_int_equal(n, 2);
	assert_non_null(strstr(w[0], "cpufreq governor powersave, not performance"));
	assert_string_equal(w[1], "CPU frequency ranged 1200-3400 MHz during the run");
	/* CPUs with different governors */
	put("/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance\n");
	noise_sample(&rec);
	assert_string_equal(rec.n.governor, "mixed");
}

/* The warnings of a loaded host and of a noisy series, in the words a person reads. */
static void test_load_steal_other_and_unstable_series_are_warned(void **state)
{
	struct bench_run run;
	struct bench_series *s, *quiet, *dens;
	char w[8][NOISE_WARNING_LEN];
	const double noisy[] = { 100, 130, 95, 120, 80 };   /* cv about 19% */
	const double steady[] = { 100, 101, 99, 100, 100 };

	(void)state;
	bench_run_init(&run);
	run.noise = (struct bench_noise){ .set = true, .cpus = 2, .load_samples = 10, .load_max = 3.1,
					  .load_mean = 2.5, .steal = 0.04, .other = 0.23, .self = 0.5,
					  .freq_min_mhz = NAN, .freq_max_mhz = NAN };
	s = bench_run_series(&run, "memory", "copy", "guest", "MB/s", true);
	quiet = bench_run_series(&run, "compute", "crc32", "guest", "us", false);
	dens = bench_run_series(&run, "density", "n10-boot", "xenith", "us", false);
	for (int i = 0; i < 5; i++) {
		bench_series_add(s, noisy[i]);
		bench_series_add(quiet, steady[i]);
		bench_series_add(dens, noisy[i]); /* density samples other domains, not repetitions: not judged */
	}
	bench_run_finish(&run);
	assert_int_equal(noise_warnings(&run, w, 8), 4);
	assert_string_equal(w[0], "load average 3.1 on 2 CPUs during the run");
	assert_string_equal(w[1], "steal 4% of CPU time: the hypervisor below ran something else on our CPUs");
	assert_string_equal(w[2], "other processes used 23% of CPU time during the run");
	assert_string_equal(w[3], "unstable: memory/copy guest cv 19% (above 10%)");
	/* at most max written, every one counted */
	assert_int_equal(noise_warnings(&run, w, 1), 4);
	bench_run_free(&run);
}

/* Unreadable or malformed files: nothing is made up, nothing crashes. */
static void test_missing_or_malformed_files_leave_figures_unknown(void **state)
{
	struct noise_record rec;
	struct bench_noise n;
	struct noise_times t;
	uint64_t ticks;
	double load;

	(void)state;
	noise_begin(&rec, root); /* an empty root */
	noise_end(&rec, &n);
	assert_true(n.set);
	assert_int_equal(n.load_samples, 0);
	assert_true(isnan(n.steal) && isnan(n.other) && isnan(n.self));
	put("/proc/stat", "intr 1 2 3\n");
	assert_int_equal(noise_read_stat(root, &t), -EINVAL);
	put("/proc/self/stat", "4242 no parenthesis here\n");
	assert_int_equal(noise_read_self(root, &ticks), -EINVAL);
	put("/proc/self/stat", "4242 (short) R 1 2\n");
	assert_int_equal(noise_read_self(root, &ticks), -EINVAL);
	put("/proc/loadavg", "garbage\n");
	assert_int_equal(noise_read_loadavg(root, &load), -EINVAL);
}

/* The "noise" object is written and read back; a document without one reads as not recorded. */
static void test_the_noise_record_round_trips_and_old_documents_load_without_it(void **state)
{
	struct bench_run a, b;
	struct bench_series *s;
	struct errbuf eb;
	char path[PATH_MAX + 32];
	char *text;

	(void)state;
	bench_run_init(&a);
	snprintf(a.id, sizeof(a.id), "2026-01-01T00:00:00Z-x");
	s = bench_run_series(&a, "compute", "crc32", "guest", "us", false);
	bench_series_add(s, 1);
	a.noise = (struct bench_noise){ .set = true, .cpus = 2, .load_samples = 7, .load_max = 2.5,
					.load_mean = 1.25, .steal = 0.01, .other = 0.125, .self = 0.5,
					.freq_samples = 0, .freq_min_mhz = NAN, .freq_max_mhz = NAN };
	bench_run_finish(&a);
	snprintf(path, sizeof(path), "%s/doc.json", root);
	assert_int_equal(bench_run_write(&a, path, &eb), 0);
	text = test_read_file(path, NULL);
	assert_non_null(strstr(text, "\"noise\": {"));
	assert_non_null(strstr(text, "\"governor\": null"));
	free(text);
	assert_int_equal(bench_run_read(&b, path, &eb), 0);
	assert_true(b.noise.set);
	assert_int_equal(b.noise.cpus, 2);
	assert_int_equal(b.noise.load_samples, 7);
	assert_true(b.noise.load_max == 2.5 && b.noise.load_mean == 1.25);
	assert_true(b.noise.steal == 0.01 && b.noise.other == 0.125 && b.noise.self == 0.5);
	assert_string_equal(b.noise.governor, "");
	assert_int_equal(b.noise.freq_samples, 0);
	bench_run_free(&b);
	/* written without a record (as every document before it): none is read */
	a.noise.set = false;
	assert_int_equal(bench_run_write(&a, path, &eb), 0);
	text = test_read_file(path, NULL);
	assert_null(strstr(text, "\"noise\""));
	free(text);
	assert_int_equal(bench_run_read(&b, path, &eb), 0);
	assert_false(b.noise.set);
	bench_run_free(&b);
	bench_run_free(&a);
}

/*
 * A real document written before the record existed (the quick baseline of
 * c75d5e8, kept as bench/tests/data/run-c75d5e8.json when the baseline was
 * refreshed) still loads, as not recorded.
 */
static void test_documents_from_before_the_record_load_without_it(void **state)
{
	char path[PATH_MAX];
	struct bench_run r;
	struct errbuf eb;

	(void)state;
	snprintf(path, sizeof(path), "%s/bench/tests/data/run-c75d5e8.json", XENITH_SOURCE_ROOT);
	if (bench_run_read(&r, path, &eb) < 0)
		fail_msg("%s: %s", path, eb.msg);
	assert_false(r.noise.set);
	assert_true(r.nr_series > 0);
	bench_run_free(&r);
}

/* The report has a Noise section: the summary and each warning; a run without a record has none. */
static void test_the_report_shows_the_noise_and_its_warnings(void **state)
{
	struct bench_run run;
	struct bench_series *s;
	struct errbuf eb;
	char path[PATH_MAX + 32];
	char *html;

	(void)state;
	bench_run_init(&run);
	snprintf(run.id, sizeof(run.id), "2026-01-01T00:00:00Z-x");
	s = bench_run_series(&run, "compute", "crc32", "guest", "us", false);
	for (int i = 0; i < 5; i++)
		bench_series_add(s, 100 + i);
	run.noise = (struct bench_noise){ .set = true, .cpus = 2, .load_samples = 3, .load_max = 3.1,
					  .load_mean = 2.0, .steal = 0.04, .other = 0.02, .self = 0.5,
					  .freq_min_mhz = NAN, .freq_max_mhz = NAN };
	bench_run_finish(&run);
	snprintf(path, sizeof(path), "%s/report.html", root);
	assert_int_equal(report_write_html(&run, NULL, 0, path, &eb), 0);
	html = test_read_file(path, NULL);
	assert_non_null(strstr(html, "<h2>Noise</h2><p>During the run: load average max 3.1 (mean 2.0) on 2 CPUs, "
				     "steal 4.0%, other processes 2% and xenith 50% of CPU time, frequency scaling "
				     "not exposed.</p>"));
	assert_non_null(strstr(html, "<li>load average 3.1 on 2 CPUs during the run</li>"));
	assert_non_null(strstr(html, "<li>steal 4% of CPU time"));
	free(html);
	run.noise.set = false;
	assert_int_equal(report_write_html(&run, NULL, 0, path, &eb), 0);
	html = test_read_file(path, NULL);
	assert_null(strstr(html, "<h2>Noise</h2>"));
	free(html);
	unlink(path);
	bench_run_free(&run);
}

/*
 * The sampler thread: ROOT/proc/loadavg is a FIFO served by a thread of the
 * test, so each read is an event the test sees.  The first read is
 * noise_start()'s own (on the caller) and is served 1.00; the second, served
 * 9.00, can only be the sampler thread's, as every read between start and
 * stop is: once it has happened, the test stops the sampler, and the record's
 * maximum must be 9.00.  The thread is joined (noise_stop returns) and the
 * FIFO's server released in every case.
 */
struct fifo_server {
	char path[PATH_MAX + 32];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned served;
	bool done;
};

static bool server_done(struct fifo_server *fs)
{
	bool done;

	pthread_mutex_lock(&fs->lock);
	done = fs->done;
	pthread_mutex_unlock(&fs->lock);
	return done;
}

static void *serve_loadavg(void *arg)
{
	struct fifo_server *fs = arg;

	while (!server_done(fs)) {
		int fd = open(fs->path, O_WRONLY); /* blocks until a reader opens */

		if (fd < 0 || server_done(fs)) {
			if (fd >= 0)
				close(fd);
			break; /* the test's own reader, opened to release us */
		}
		/* the second load average served is 9.00, every other 1.00 */
		if (write(fd, fs->served == 1 ? "9.00 1.00 0.50 2/100 4242\n" : "1.00 1.00 0.50 2/100 4242\n",
			  26) != 26) {
			close(fd);
			break;
		}
		close(fd);
		/*
		 * Until that reader has closed, an open for writing would find it
		 * again: wait for "no reader" (ENXIO), polling every millisecond.
		 */
		while (!server_done(fs) && (fd = open(fs->path, O_WRONLY | O_NONBLOCK)) >= 0) {
			close(fd);
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		}
		pthread_mutex_lock(&fs->lock);
		fs->served++;
		pthread_cond_broadcast(&fs->cond);
		pthread_mutex_unlock(&fs->lock);
	}
	return NULL;
}

static void test_the_sampler_thread_samples_between_start_and_stop(void **state)
{
	struct fifo_server fs = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct noise_sampler *s;
	struct bench_noise n;
	struct timespec deadline;
	pthread_t server;
	unsigned served;
	int fd;

	(void)state;
	put("/proc/loadavg", "");
	snprintf(fs.path, sizeof(fs.path), "%s/proc/loadavg", root);
	assert_int_equal(unlink(fs.path), 0);
	assert_int_equal(mkfifo(fs.path, 0600), 0);
	assert_int_equal(pthread_create(&server, NULL, serve_loadavg, &fs), 0);
	s = noise_start(root, 10, -1);
	assert_non_null(s);
	/* wait for the sampler's read: the second one served (60 s: a loaded host) */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 60;
	pthread_mutex_lock(&fs.lock);
	while (fs.served < 2 && pthread_cond_timedwait(&fs.cond, &fs.lock, &deadline) == 0)
		;
	served = fs.served;
	pthread_mutex_unlock(&fs.lock);
	noise_stop(s, &n);
	/* release the server: a reader of our own for its last open */
	pthread_mutex_lock(&fs.lock);
	fs.done = true;
	pthread_mutex_unlock(&fs.lock);
	fd = open(fs.path, O_RDONLY | O_NONBLOCK);
	pthread_join(server, NULL);
	if (fd >= 0)
		close(fd);
	if (served < 2)
		fail_msg("the sampler thread never read the load average in 60 s");
	/* the 9.00 of the second read, which only the sampler thread can have made, is in the record */
	assert_true(n.load_samples >= 2);
	assert_true(n.load_max == 9.0);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cpu_shares_come_from_the_counters_over_the_run, fresh_root,
						remove_root),
		cmocka_unit_test_setup_teardown(test_frequency_not_exposed_is_said_and_not_warned, fresh_root,
						remove_root),
		cmocka_unit_test_setup_teardown(test_frequency_scaling_is_sampled_and_warned, fresh_root, remove_root),
		cmocka_unit_test_setup_teardown(test_load_steal_other_and_unstable_series_are_warned, fresh_root,
						remove_root),
		cmocka_unit_test_setup_teardown(test_missing_or_malformed_files_leave_figures_unknown, fresh_root,
						remove_root),
		cmocka_unit_test_setup_teardown(test_the_noise_record_round_trips_and_old_documents_load_without_it,
						fresh_root, remove_root),
		cmocka_unit_test_setup_teardown(test_documents_from_before_the_record_load_without_it, fresh_root,
						remove_root),
		cmocka_unit_test_setup_teardown(test_the_report_shows_the_noise_and_its_warnings, fresh_root,
						remove_root),
		cmocka_unit_test_setup_teardown(test_the_sampler_thread_samples_between_start_and_stop, fresh_root,
						remove_root),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
