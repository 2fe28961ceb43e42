// SPDX-License-Identifier: MIT
/*
 * unit tier: the device model (hv/device.c) on an unbacked domain built
 * from the bundled minios with three disks, the bench hooks and the test
 * loopback: which devices a config makes, their names and states through
 * the lifecycle, their doorbell ports, the JSON the control socket sends,
 * and save/restore refused until migration exists.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkdev.h"
#include "bench_hooks.h"
#include "clock.h"
#include "device.h"
#include "domain.h"
#include "jsondoc.h"
#include "portalloc.h"
#include "savebuf.h"
#include "vbd.h"
#include "xenstore.h"
#include "xsdomain.h"
#include "unbacked.h"
#include "xenith/blkif.h"

#define NR_DISKS 3

/* A quiesce's deadline as save gives one: the whole bound from now. */
#define SOON (now_ns() + DEVICE_QUIESCE_MS * 1000000ull)

static char paths[NR_DISKS][64];
static unsigned reports;
static bool with_vif; /* make_domain adds a vif (an in-memory pair port) too */
/* The test's domain: destroyed by end_domain() or, after a failed assertion, by the teardown. */
static struct domain *D;

static void sink_report(void *opaque, struct domain *d, uint32_t case_id, uint32_t rep, double value)
{
	(void)opaque, (void)d, (void)case_id, (void)rep, (void)value;
	reports++;
}

/* Disk 0 mode=exit, disks 1 and 2 mode=ioeventfd; with bench hooks and test hooks if asked. */
static struct domain *make_domain(bool bench, bool test_hooks, unsigned nr_disks)
{
	static const struct bench_sink sink = { sink_report, NULL };
	struct domain_opts opts = { .console_fd = -1, .bench = bench ? &sink : NULL };
	struct domain_config cfg;
	struct errbuf eb;
	struct domain *d = NULL;
	char spec[128];

	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "unit");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", getenv("XENITH_MINIOS"));
	cfg.vcpus = 2;
	for (unsigned i = 0; i < nr_disks; i++) {
		snprintf(spec, sizeof(spec), "path=%s,direct=0,queues=%u%s", paths[i], i + 1,
			 i == 0 ? ",mode=exit" : "");
		if (config_set(&cfg, "disk", spec, &eb) < 0)
			fail_msg("disk %s: %s", spec, eb.msg);
	}
	if (with_vif) {
		snprintf(spec, sizeof(spec), "port=pair:devtest%d", (int)getpid());
		if (config_set(&cfg, "vif", spec, &eb) < 0)
			fail_msg("vif %s: %s", spec, eb.msg);
	}
	if (test_hooks)
		setenv("XENITH_TEST_HOOKS", "1", 1);
	if (domain_create_unbacked(&cfg, &opts, 7, &d, &eb) < 0)
		fail_msg("domain_create_unbacked: %s", eb.msg);
	unsetenv("XENITH_TEST_HOOKS");
	D = d;
	return d;
}

static void end_domain(void)
{
	domain_destroy(D);
	D = NULL;
}

/* A failed assertion skips the test's end_domain(): its disks' locks must not outlive it. */
static int end_test(void **state)
{
	(void)state;
	unsetenv("XENITH_TEST_HOOKS");
	end_domain();
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (!getenv("XENITH_MINIOS"))
		fail_msg("XENITH_MINIOS is not set (meson test sets it to the bundled minios)");
	for (unsigned i = 0; i < NR_DISKS; i++) {
		int fd;

		snprintf(paths[i], sizeof(paths[i]), "/tmp/xenith-devtest-XXXXXX");
		fd = mkstemp(paths[i]);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 1 << 20), 0);
		close(fd);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NR_DISKS; i++)
		unlink(paths[i]);
	return 0;
}

static const char *state_name(const struct device *dev)
{
	return device_state_name((enum device_state)atomic_load(&dev->state));
}

static void test_a_config_makes_its_devices_named_by_type_in_registration_order(void **state)
{
	struct domain *d;

	(void)state;
	d = make_domain(true, true, NR_DISKS);
	assert_int_equal(d->nr_devices, NR_DISKS + 2);
	assert_string_equal(d->devices[0]->name, "vbd0");
	assert_string_equal(d->devices[1]->name, "vbd1");
	assert_string_equal(d->devices[2]->name, "vbd2");
	assert_string_equal(d->devices[3]->name, "bench0");
	assert_string_equal(d->devices[4]->name, "loopback0");
	assert_string_equal(d->devices[3]->ops->type, "bench");
	for (unsigned i = 0; i < d->nr_devices; i++)
		assert_string_equal(state_name(d->devices[i]), "connected"); /* the build connected them */
	assert_ptr_equal(device_find(d, d->devices[1]->ops, 1), d->devices[1]);
	assert_null(device_find(d, d->devices[1]->ops, NR_DISKS));
	assert_int_equal(blkdev_count(d), NR_DISKS);
	assert_true(bench_hooks_present(d));
	end_domain();

	/* A type may make none: no disks, no bench, no test hooks, no devices. */
	d = make_domain(false, false, 0);
	assert_int_equal(d->nr_devices, 0);
	assert_int_equal(blkdev_count(d), 0);
	assert_false(bench_hooks_present(d));
	end_domain();
}

static void test_every_device_goes_through_disconnect_and_connect_as_a_reboot_does(void **state)
{
	struct domain *d;
	struct errbuf eb;

	(void)state;
	d = make_domain(true, true, NR_DISKS);
	devices_disconnect(d); /* what domain_teardown() does before guest memory goes */
	for (unsigned i = 0; i < d->nr_devices; i++)
		assert_string_equal(state_name(d->devices[i]), "disconnected");
	assert_null(blkdev_queue(d, 0, 0, NULL)); /* the backends are closed */
	assert_int_equal(devices_connect(d, &eb), 0); /* what the rebuild does */
	for (unsigned i = 0; i < d->nr_devices; i++)
		assert_string_equal(state_name(d->devices[i]), "connected");
	assert_non_null(blkdev_queue(d, 2, 2, NULL)); /* disk 2's third queue is open again */
	assert_null(blkdev_queue(d, 2, 3, NULL));
	/* Quiesce and resume: each only from the state it leaves. */
	assert_int_equal(device_resume(d->devices[0], &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "vbd0 is connected, not quiesced"));
	assert_int_equal(device_quiesce(d->devices[0], SOON, &eb), 0);
	assert_string_equal(state_name(d->devices[0]), "quiesced");
	assert_int_equal(device_quiesce(d->devices[0], SOON, &eb), -EINVAL);
	assert_int_equal(device_resume(d->devices[0], &eb), 0);
	assert_string_equal(state_name(d->devices[0]), "connected");
	/* One bound for a whole domain's devices: one whose deadline has passed quiesces nothing, saying why. */
	assert_int_equal(device_quiesce(d->devices[1], now_ns() - 1, &eb), -ETIMEDOUT);
	assert_non_null(strstr(eb.msg, "disk 1 queue 0: no time is left of the 10000 ms"));
	assert_string_equal(state_name(d->devices[1]), "connected");
	assert_int_equal(device_quiesce(d->devices[1], SOON, &eb), 0);
	assert_int_equal(device_resume(d->devices[1], &eb), 0);
	end_domain();
}

static void test_save_and_restore_are_refused_for_types_without_them(void **state)
{
	struct domain *d;
	struct errbuf eb;
	char want[160];
	unsigned refused = 0;

	(void)state;
	with_vif = true;
	d = make_domain(true, true, 1);
	with_vif = false;
	/* one of each registered type but pci, which needs a function on vfio-pci (the lab's vfio_nvme.sh) */
	assert_int_equal(d->nr_devices, device_nr_types - 1);
	for (unsigned i = 0; i < d->nr_devices; i++) {
		struct device *dev = d->devices[i];
		struct savebuf sb = { 0 };

		if (dev->ops->save)
			continue;
		snprintf(want, sizeof(want), "%s: save/restore of %s devices is not supported yet, so this "
			 "domain cannot be saved or migrated", dev->name, dev->ops->type);
		memset(&eb, 0, sizeof(eb));
		assert_int_equal(device_save(dev, &sb, &eb), -ENOTSUP);
		assert_string_equal(eb.msg, want);
		assert_int_equal(sb.len, 0);
		snprintf(want, sizeof(want), "%s: save/restore of %s devices is not supported yet", dev->name,
			 dev->ops->type);
		memset(&eb, 0, sizeof(eb));
		assert_int_equal(device_restore(dev, "", 0, &eb), -ENOTSUP);
		assert_string_equal(eb.msg, want);
		refused++;
	}
	assert_true(refused > 0); /* the vif at least: its netback has no save yet */
	end_domain();
}

/* A key of disk i's backend directory in the domain's store, as the guest reads it. */
static uint64_t backend_u64(struct domain *d, unsigned i, const char *key)
{
	char path[160];
	uint64_t v = UINT64_MAX;

	snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%u/%u/%s", d->domid, vbd_devid(i), key);
	assert_int_equal(xs_read_u64(xsdomain_store(d), path, &v), 0);
	return v;
}

static void backend_str(struct domain *d, unsigned i, const char *key, char *out, size_t size)
{
	char path[160];

	snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%u/%u/%s", d->domid, vbd_devid(i), key);
	assert_int_equal(xs_read(xsdomain_store(d), path, out, size, NULL), 0);
}

/* Doorbells come from the domain's port space: ioeventfd disks get one each, the guest learns it (xenstore). */
static void test_ioeventfd_disks_get_their_own_doorbell_and_the_guest_learns_it(void **state)
{
	uint64_t port[NR_DISKS];
	char mode[NR_DISKS][16];
	struct domain *d;

	(void)state;
	d = make_domain(false, false, NR_DISKS);
	for (unsigned i = 0; i < NR_DISKS; i++) {
		port[i] = backend_u64(d, i, "xenith-doorbell");
		backend_str(d, i, "xenith-notify", mode[i], sizeof(mode[i]));
	}
	assert_string_equal(mode[0], "exit");
	assert_int_equal(port[0], 0); /* kicks are event-channel sends */
	assert_string_equal(mode[1], "ioeventfd");
	assert_int_not_equal(port[1], 0);
	assert_int_not_equal(port[2], 0);
	assert_int_not_equal(port[1], port[2]);
	assert_string_equal(port_space_owner(d->ports, (uint32_t)port[1]), "vbd1 doorbell");
	assert_string_equal(port_space_owner(d->ports, (uint32_t)port[2] + 3), "vbd2 doorbell");
	assert_int_equal(backend_u64(d, 1, "multi-queue-max-queues"), 2);
	assert_int_equal(backend_u64(d, 2, "multi-queue-max-queues"), 3);
	end_domain();
}

/*
 * The frontend's protocol key is guest input: anything but x86_64-abi, a
 * value too long for the backend's buffer included, is refused (Closing,
 * the reason in error/) before any ring is looked at.
 */
static void test_a_frontend_protocol_other_than_x86_64_is_refused(void **state)
{
	static const char *const bad[] = { "x86_32-abi", "x86_64-abi-with-a-tail-longer-than-thirty-two-bytes" };
	struct domain *d;

	(void)state;
	d = make_domain(false, false, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char fe[96], be[96], path[192], err[256];
		uint64_t st = 0;

		snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", d->domid, vbd_devid(0));
		snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/%u", d->domid, vbd_devid(0));
		/* A fresh offer: the previous refusal is closed first, as a frontend does. */
		snprintf(path, sizeof(path), "%s/state", fe);
		assert_int_equal(xs_printf(xsdomain_store(d), path, "%u", (unsigned)XenbusStateClosed), 0);
		assert_int_equal(xs_printf(xsdomain_store(d), path, "%u", (unsigned)XenbusStateInitialising), 0);
		snprintf(path, sizeof(path), "%s/protocol", fe);
		assert_int_equal(xs_printf(xsdomain_store(d), path, "%s", bad[i]), 0);
		snprintf(path, sizeof(path), "%s/state", fe);
		assert_int_equal(xs_printf(xsdomain_store(d), path, "%u", (unsigned)XenbusStateInitialised), 0);
		snprintf(path, sizeof(path), "%s/state", be);
		assert_int_equal(xs_read_u64(xsdomain_store(d), path, &st), 0);
		if (st != XenbusStateClosing)
			fail_msg("protocol '%s': backend state %llu, not Closing", bad[i], (unsigned long long)st);
		snprintf(path, sizeof(path), "/local/domain/0/error%s/error", be + strlen("/local/domain/0"));
		assert_int_equal(xs_read(xsdomain_store(d), path, err, sizeof(err), NULL), 0);
		assert_non_null(strstr(err, "protocol"));
	}
	end_domain();
}

static void test_the_device_list_as_json_has_each_device_with_its_counters(void **state)
{
	static char buf[1 << 16];
	const struct jv *devs, *vbd1, *stats, *queues, *bench, *lb;
	struct domain *d;
	struct jv *doc;
	char err[128];
	int n;

	(void)state;
	d = make_domain(true, true, 2);
	/* Two bench reports: its counter says 2. */
	assert_int_equal(unbacked_call(&d->vcpus[0], __HYPERVISOR_xenith_bench_report, 1, 0, 0, 0, 0), 0);
	assert_int_equal(unbacked_call(&d->vcpus[1], __HYPERVISOR_xenith_bench_report, 1, 1, 0, 0, 0), 0);
	assert_int_equal(reports, 2);
	n = devices_json(d, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	doc = jv_parse(buf, err, sizeof(err));
	if (!doc)
		fail_msg("devices_json is not JSON (%s): %s", err, buf);
	assert_int_equal(doc->type, JV_ARR);
	assert_int_equal(doc->n, 4);
	devs = doc;
	vbd1 = &devs->items[1];
	assert_string_equal(jv_str(vbd1, "type", ""), "vbd");
	assert_string_equal(jv_str(vbd1, "name", ""), "vbd1");
	assert_string_equal(jv_str(vbd1, "state", ""), "connected");
	stats = jv_get(vbd1, "stats");
	assert_non_null(stats);
	assert_string_equal(jv_str(stats, "path", ""), paths[1]);
	assert_string_equal(jv_str(stats, "mode", ""), "ioeventfd");
	assert_true(jv_num(stats, "requests", -1) == 0);
	queues = jv_get(stats, "queues");
	assert_non_null(queues);
	assert_int_equal(queues->n, 2); /* queues=2 */
	assert_true(jv_num(&queues->items[1], "queue", -1) == 1);
	bench = &devs->items[2];
	assert_string_equal(jv_str(bench, "name", ""), "bench0");
	assert_true(jv_num(jv_get(bench, "stats"), "reports", -1) == 2);
	lb = &devs->items[3];
	assert_string_equal(jv_str(lb, "name", ""), "loopback0");
	assert_false(jv_bool(jv_get(lb, "stats"), "running", true));
	jv_free(doc);
	/* Too small a buffer: -1, never a cut document. */
	assert_int_equal(devices_json(d, buf, (size_t)n), -1);
	assert_int_equal(devices_json(d, buf, 40), -1);
	assert_int_equal(devices_json(d, buf, (size_t)n + 1), n);
	end_domain();
}

/* Two disks on one image: the second's create fails, and what the first took is given back. */
static void test_a_failed_create_leaves_nothing_behind(void **state)
{
	struct domain_opts opts = { .console_fd = -1 };
	struct domain_config cfg;
	struct domain *d;
	struct errbuf eb;
	char spec[128];

	(void)state;
	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "unit");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", getenv("XENITH_MINIOS"));
	for (unsigned i = 0; i < 2; i++) {
		snprintf(spec, sizeof(spec), "path=%s", paths[0]);
		assert_int_equal(config_set(&cfg, "disk", spec, &eb), 0);
	}
	assert_int_equal(domain_create_unbacked(&cfg, &opts, 7, &D, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "list each disk once"));
	/* The image's lock went with the failed domain: a new domain takes it. */
	d = make_domain(false, false, 1);
	assert_int_equal(blkdev_count(d), 1);
	end_domain();
}

static void test_a_pci_function_that_cannot_be_opened_fails_the_create(void **state)
{
	struct domain_opts opts = { .console_fd = -1 };
	struct domain_config cfg;
	struct errbuf eb;

	(void)state;
	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "unit");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", getenv("XENITH_MINIOS"));
	assert_int_equal(config_set(&cfg, "pci", "ffff:ff:1f.7", &eb), 0);
	assert_true(domain_create_unbacked(&cfg, &opts, 7, &D, &eb) < 0);
	assert_null(D);
	if (!strstr(eb.msg, "pci = ffff:ff:1f.7: no PCI function ffff:ff:1f.7 on this host"))
		fail_msg("'%s'", eb.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_a_config_makes_its_devices_named_by_type_in_registration_order, end_test),
		cmocka_unit_test_teardown(test_every_device_goes_through_disconnect_and_connect_as_a_reboot_does, end_test),
		cmocka_unit_test_teardown(test_save_and_restore_are_refused_for_types_without_them, end_test),
		cmocka_unit_test_teardown(test_ioeventfd_disks_get_their_own_doorbell_and_the_guest_learns_it, end_test),
		cmocka_unit_test_teardown(test_the_device_list_as_json_has_each_device_with_its_counters, end_test),
		cmocka_unit_test_teardown(test_a_failed_create_leaves_nothing_behind, end_test),
		cmocka_unit_test_teardown(test_a_pci_function_that_cannot_be_opened_fails_the_create, end_test),
		cmocka_unit_test_teardown(test_a_frontend_protocol_other_than_x86_64_is_refused, end_test),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
