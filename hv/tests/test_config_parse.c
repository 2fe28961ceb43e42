// SPDX-License-Identifier: MIT
/* unit: config files and keys; every error names the key, the value and what is allowed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "membacking.h"

static void expect_msg(const struct errbuf *eb, const char *const *needles)
{
	for (; *needles; needles++)
		if (!strstr(eb->msg, *needles))
			fail_msg("message '%s' lacks '%s'", eb->msg, *needles);
}

#define EXPECT_SET_FAILS(cfg, key, value, ...)                                      \
	do {                                                                        \
		struct errbuf _eb = { "" };                                         \
		assert_int_equal(config_set(cfg, key, value, &_eb), -EINVAL);       \
		expect_msg(&_eb, (const char *const[]){ __VA_ARGS__, NULL });       \
	} while (0)

static void test_config_defaults(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	assert_int_equal(c.memory_mib, 16);
	assert_int_equal(c.vcpus, 1);
	assert_int_equal(c.on_poweroff, ACTION_DESTROY);
	assert_int_equal(c.on_reboot, ACTION_RESTART);
	assert_int_equal(c.on_crash, ACTION_DESTROY);
	assert_string_equal(c.name, "");
	assert_true(c.timeout_s == 0);
}

static void test_config_parses_file_with_comments_and_quotes(void **state)
{
	struct domain_config c;
	struct errbuf eb;
	const char *text = "# a comment\n"
			   "\n"
			   "name = \"web-1\"   # trailing comment\n"
			   "memory=512M\n"
			   "  vcpus = 4\n"
			   "cmdline = 'ticker 50 # not a comment'\n"
			   "extra = \"say \\\"hi\\\"\"\n"
			   "on_crash = preserve\n"
			   "on_reboot = destroy\n"
			   "timeout = 2.5\n"
			   "memory = 1G\n";

	(void)state;
	config_init(&c);
	assert_int_equal(config_parse_text(&c, text, "web.cfg", &eb), 0);
	assert_string_equal(c.name, "web-1");
	assert_int_equal(c.memory_mib, 1024); /* the later value wins, as in xl */
	assert_int_equal(c.vcpus, 4);
	assert_string_equal(c.cmdline, "say \"hi\"");
	assert_int_equal(c.on_crash, ACTION_PRESERVE);
	assert_int_equal(c.on_reboot, ACTION_DESTROY);
	assert_true(c.timeout_s == 2.5);
}

static void test_config_bad_values_name_key_value_and_allowed(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	EXPECT_SET_FAILS(&c, "vcpus", "0", "vcpus", "0", "1 to 64");
	EXPECT_SET_FAILS(&c, "vcpus", "65", "vcpus", "65", "1 to 64");
	EXPECT_SET_FAILS(&c, "vcpus", "two", "vcpus", "two");
	EXPECT_SET_FAILS(&c, "vcpus", "-1", "vcpus", "-1");
	EXPECT_SET_FAILS(&c, "memory", "1", "memory", "1", "2 to 65536");
	EXPECT_SET_FAILS(&c, "memory", "lots", "memory", "lots", "MiB");
	EXPECT_SET_FAILS(&c, "memory", "100G", "memory", "100G");
	EXPECT_SET_FAILS(&c, "memory", "99999999999999999999", "memory");
	EXPECT_SET_FAILS(&c, "name", "-x", "name", "-x", "A-Z");
	EXPECT_SET_FAILS(&c, "name", "a b", "name", "a b");
	EXPECT_SET_FAILS(&c, "name", "", "name");
	EXPECT_SET_FAILS(&c, "on_crash", "coredump-destroy", "on_crash", "coredump-destroy",
			 "destroy, restart or preserve");
	EXPECT_SET_FAILS(&c, "timeout", "0", "timeout", "0", "seconds");
	EXPECT_SET_FAILS(&c, "timeout", "nan", "timeout", "nan");
	EXPECT_SET_FAILS(&c, "timeout", "1e99", "timeout");
	EXPECT_SET_FAILS(&c, "kernel", "", "kernel");
	/* nothing was changed by the failures */
	assert_int_equal(c.vcpus, 1);
	assert_int_equal(c.memory_mib, 16);
	assert_int_equal(c.on_crash, ACTION_DESTROY);
}

/* console_log_max: MiB (default 16), suffixes M and G, 1 MiB to 1 TiB. */
static void test_console_log_max_takes_mib_with_suffixes_within_limits(void **state)
{
	struct domain_config c;
	struct errbuf eb;

	(void)state;
	config_init(&c);
	assert_int_equal(c.console_log_max, 16ull << 20);
	assert_int_equal(config_parse_text(&c, "console_log_max = 64\n", "t.cfg", &eb), 0);
	assert_int_equal(c.console_log_max, 64ull << 20);
	assert_int_equal(config_set(&c, "console_log_max", "2G", &eb), 0);
	assert_int_equal(c.console_log_max, 2ull << 30);
	assert_int_equal(config_set(&c, "console_log_max", "1m", &eb), 0);
	assert_int_equal(c.console_log_max, 1ull << 20);
	assert_int_equal(config_set(&c, "console_log_max", "1048576", &eb), 0);
	assert_int_equal(c.console_log_max, 1ull << 40);
	EXPECT_SET_FAILS(&c, "console_log_max", "0", "console_log_max = 0", "1 to 1048576", "rotated");
	EXPECT_SET_FAILS(&c, "console_log_max", "1048577", "console_log_max = 1048577");
	EXPECT_SET_FAILS(&c, "console_log_max", "1025G", "console_log_max = 1025G");
	EXPECT_SET_FAILS(&c, "console_log_max", "-1", "console_log_max = -1");
	EXPECT_SET_FAILS(&c, "console_log_max", "4K", "console_log_max = 4K", "MiB");
	EXPECT_SET_FAILS(&c, "console_log_max", "M", "console_log_max = M");
	EXPECT_SET_FAILS(&c, "console_log_max", "99999999999999999999", "console_log_max");
	assert_int_equal(c.console_log_max, 1ull << 40); /* the failures changed nothing */
}

static void test_config_unknown_key_suggests_the_nearest(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	EXPECT_SET_FAILS(&c, "memroy", "64", "unknown key 'memroy'", "did you mean 'memory'",
			 "known keys: name, memory");
	EXPECT_SET_FAILS(&c, "frobnicate", "1", "unknown key 'frobnicate'", "known keys");
}

static void expect_text_error(const char *text, const char *needle1, const char *needle2)
{
	struct domain_config c;
	struct errbuf eb = { "" };

	config_init(&c);
	assert_int_equal(config_parse_text(&c, text, "t.cfg", &eb), -EINVAL);
	if (!strstr(eb.msg, needle1) || !strstr(eb.msg, needle2))
		fail_msg("message '%s' lacks '%s' or '%s'", eb.msg, needle1, needle2);
}

static void test_config_syntax_errors_give_line_numbers(void **state)
{
	(void)state;
	expect_text_error("name = a\nmemory 64\n", "t.cfg:2:", "missing '='");
	expect_text_error("\n\nname = \"unterminated\n", "t.cfg:3:", "unterminated");
	expect_text_error("vcpus = 2 3\n", "t.cfg:1:", "unexpected text");
	expect_text_error("name = 'a' junk\n", "t.cfg:1:", "unexpected text");
	expect_text_error("= 5\n", "t.cfg:1:", "key = value");
	expect_text_error("name =\n", "t.cfg:1:", "no value");
	expect_text_error("vcpus = 1\nvcpus = 0\n", "t.cfg:2:", "vcpus = 0");
}

/* What a test created in /tmp, removed by remove_tmp() even when an assertion failed. */
static char tmp_dir[32], tmp_file[128];

static int remove_tmp(void **state)
{
	(void)state;
	if (tmp_file[0] && unlink(tmp_file) < 0 && errno != ENOENT)
		fprintf(stderr, "teardown: unlink %s: %s\n", tmp_file, strerror(errno));
	if (tmp_dir[0] && rmdir(tmp_dir) < 0 && errno != ENOENT)
		fprintf(stderr, "teardown: rmdir %s: %s\n", tmp_dir, strerror(errno));
	tmp_file[0] = tmp_dir[0] = 0;
	return 0;
}

static void test_config_file_paths_are_relative_to_the_file(void **state)
{
	char *dir = tmp_dir, path[128];
	struct domain_config c;
	struct errbuf eb;
	FILE *f;

	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/xenith-cfg-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(tmp_file, sizeof(tmp_file), "%s/web.cfg", dir);
	snprintf(path, sizeof(path), "%s", tmp_file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("kernel = \"images/minios\"\nconsole_log = /var/log/x.log\n", f);
	fclose(f);
	config_init(&c);
	assert_int_equal(config_parse_file(&c, path, &eb), 0);
	snprintf(path, sizeof(path), "%s/images/minios", dir);
	assert_string_equal(c.kernel, path);
	assert_string_equal(c.console_log, "/var/log/x.log");
}

static void test_config_missing_or_binary_file_is_an_error(void **state)
{
	char *path = tmp_file;
	struct domain_config c;
	struct errbuf eb;
	int fd;

	(void)state;
	config_init(&c);
	assert_true(config_parse_file(&c, "/nonexistent/web.cfg", &eb) < 0);
	assert_non_null(strstr(eb.msg, "/nonexistent/web.cfg"));
	assert_non_null(strstr(eb.msg, "No such file"));
	snprintf(tmp_file, sizeof(tmp_file), "/tmp/xenith-cfg-bin-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "name = x\0\n", 10), 10);
	close(fd);
	assert_int_equal(config_parse_file(&c, path, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "NUL"));
}

static void test_disks_from_a_list_and_their_fields(void **state)
{
	struct domain_config c;
	struct errbuf eb = { "" };
	const char *text = "disk = [ \"path=/srv/a.img,mode=exit,ro=1\", 'b.img' ]\n"
			   "disk = \"path=/dev/nvme0n1,mode=poll,direct=0,sqpoll=1,queues=3\"\n";

	(void)state;
	config_init(&c);
	strcpy(c.base_dir, "/etc/xenith");
	assert_int_equal(config_parse_text(&c, text, "d.cfg", &eb), 0);
	assert_int_equal(c.nr_disks, 3);
	assert_string_equal(c.disks[0].path, "/srv/a.img");
	assert_int_equal(c.disks[0].mode, DISK_MODE_EXIT);
	assert_true(c.disks[0].ro);
	assert_true(c.disks[0].direct);
	assert_string_equal(c.disks[1].path, "/etc/xenith/b.img"); /* relative to the file */
	assert_int_equal(c.disks[1].mode, DISK_MODE_IOEVENTFD);  /* the default */
	assert_false(c.disks[1].ro);
	assert_int_equal(c.disks[2].mode, DISK_MODE_POLL);
	assert_false(c.disks[2].direct);
	assert_true(c.disks[2].sqpoll);
	assert_int_equal(c.disks[0].queues, 0); /* default: one per vCPU */
	assert_int_equal(c.disks[2].queues, 3);
}

static void test_bad_disk_specs_say_what_is_wrong(void **state)
{
	struct domain_config c;
	struct errbuf eb = { "" };

	(void)state;
	config_init(&c);
	EXPECT_SET_FAILS(&c, "disk", "path=/a,mode=fast", "mode=fast", "exit, ioeventfd or poll");
	EXPECT_SET_FAILS(&c, "disk", "path=/a,ro=yes", "ro=yes", "0 or 1");
	EXPECT_SET_FAILS(&c, "disk", "path=/a,speed=9", "unknown field 'speed'", "path, mode");
	EXPECT_SET_FAILS(&c, "disk", "mode=exit", "no path=");
	EXPECT_SET_FAILS(&c, "disk", "path=/a,queues=0", "queues=0", "1 to 8");
	EXPECT_SET_FAILS(&c, "disk", "path=/a,queues=9", "queues=9", "1 to 8");
	EXPECT_SET_FAILS(&c, "disk", "path=/a,queues=two", "queues=two", "1 to 8");
	EXPECT_SET_FAILS(&c, "disk", "/a,/b", "'/b' is not field=value");
	for (unsigned i = 0; i < CONFIG_MAX_DISKS; i++)
		assert_int_equal(config_set(&c, "disk", "/x.img", &eb), 0);
	EXPECT_SET_FAILS(&c, "disk", "/y.img", "at most 4 disks");
	assert_int_equal(config_parse_text(&c, "disk = [ /x.img ]\n", "l.cfg", &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "list items are quoted strings"));
	assert_int_equal(config_parse_text(&c, "disk = [ \"/x.img\" \"/y\" ]\n", "l.cfg", &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "expected ',' or ']'"));
	assert_int_equal(config_parse_text(&c, "disk = [ ]\n", "l.cfg", &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "empty list"));
}

static void test_vifs_from_a_list_and_their_fields(void **state)
{
	struct domain_config c;
	struct errbuf eb;
	const char *text = "vif = [ \"mac=00:16:3e:0A:bc:01,port=tap:xt0,mode=poll,queues=2,bridge=br0\", "
			   "'port=pair:p1,mode=exit' ]\n"
			   "vif = \"port=tap:xt1,netns=ns-1.a,mac=02:00:00:00:00:07\"\n";
	static const uint8_t mac0[6] = { 0x00, 0x16, 0x3e, 0x0a, 0xbc, 0x01 };

	(void)state;
	config_init(&c);
	assert_int_equal(config_parse_text(&c, text, "v.cfg", &eb), 0);
	assert_int_equal(c.nr_vifs, 3);
	assert_true(c.vifs[0].mac_set);
	assert_memory_equal(c.vifs[0].mac, mac0, 6);
	assert_int_equal(c.vifs[0].port, VIF_PORT_TAP);
	assert_string_equal(c.vifs[0].port_name, "xt0");
	assert_int_equal(c.vifs[0].mode, VIF_MODE_POLL);
	assert_int_equal(c.vifs[0].queues, 2);
	assert_string_equal(c.vifs[0].bridge, "br0");
	assert_string_equal(c.vifs[0].netns, "");
	assert_false(c.vifs[1].mac_set); /* generated at create, as xl does */
	assert_int_equal(c.vifs[1].port, VIF_PORT_PAIR);
	assert_string_equal(c.vifs[1].port_name, "p1");
	assert_int_equal(c.vifs[1].mode, VIF_MODE_EXIT);
	assert_int_equal(c.vifs[1].queues, 1); /* the default */
	assert_int_equal(c.vifs[2].mode, VIF_MODE_IOEVENTFD); /* the default */
	assert_string_equal(c.vifs[2].netns, "ns-1.a");
	assert_int_equal(c.vifs[2].mac[5], 7);
	assert_string_equal(vif_mode_name(c.vifs[0].mode), "poll");
	assert_string_equal(vif_port_name(c.vifs[1].port), "pair");
}

/*
 * port=dpdk:[VDEV-ARGS]: the brackets hold the vdev's own commas (even a
 * mac= of the vdev's), so the vif's fields before and after are the vif's.
 */
static void test_a_dpdk_vif_takes_its_vdev_args_in_brackets(void **state)
{
	static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
	struct domain_config c;
	struct errbuf eb;

	(void)state;
	config_init(&c);
	assert_int_equal(config_set(&c, "vif", "mac=00:16:3e:00:00:01,port=dpdk:[net_memif0,role=server,"
				    "socket=/tmp/x.sock,mac=02:00:00:00:00:09],mode=poll,queues=2", &eb), 0);
	assert_int_equal(config_set(&c, "vif", "port=dpdk:net_ring0", &eb), 0);
	assert_int_equal(config_set(&c, "vif", "port=dpdk:[net_x0,list=[1,2]],mode=exit", &eb), 0);
	assert_int_equal(c.nr_vifs, 3);
	assert_int_equal(c.vifs[0].port, VIF_PORT_DPDK);
	assert_string_equal(c.vifs[0].dpdk_args, "net_memif0,role=server,socket=/tmp/x.sock,mac=02:00:00:00:00:09");
	assert_string_equal(c.vifs[0].port_name, "net_memif0");
	assert_memory_equal(c.vifs[0].mac, mac, 6); /* the vif's mac=, not the vdev's */
	assert_int_equal(c.vifs[0].mode, VIF_MODE_POLL);
	assert_int_equal(c.vifs[0].queues, 2);
	assert_string_equal(c.vifs[1].dpdk_args, "net_ring0");
	assert_string_equal(c.vifs[1].port_name, "net_ring0");
	assert_string_equal(c.vifs[2].dpdk_args, "net_x0,list=[1,2]");
	assert_int_equal(c.vifs[2].mode, VIF_MODE_EXIT);
	assert_string_equal(vif_port_name(c.vifs[2].port), "dpdk");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:[net_memif0,role=client]", "vdev net_memif0 is vif 0's port already");
	config_init(&c);
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:net_memif0,role=server", "unknown field 'role'",
			 "port=dpdk:[net_memif0,role=server]");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:[net_memif0,role=server", "unbalanced '[' ']'");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:[net_x0]],mode=poll", "unbalanced '[' ']'");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:[]", "1 to 255 characters");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:[net-x0,a=b]", "the vdev's name, 1 to 15");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:net_abcdefghijklm", "the vdev's name, 1 to 15");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:[net_x0,a=\tb]", "without spaces");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:net_x0,netns=n", "apply to port=tap: only");
	assert_int_equal(c.nr_vifs, 0);
	/* The EAL's settings: hugepages or not, extra arguments. */
	assert_false(c.dpdk_hugepages);
	assert_int_equal(config_set(&c, "dpdk_hugepages", "1", &eb), 0);
	assert_true(c.dpdk_hugepages);
	EXPECT_SET_FAILS(&c, "dpdk_hugepages", "yes", "must be 0", "or 1 (on hugepages)");
	assert_int_equal(config_set(&c, "dpdk_eal_args", "-m 256 --log-level=pmd.net.memif:debug", &eb), 0);
	assert_string_equal(c.dpdk_eal_args, "-m 256 --log-level=pmd.net.memif:debug");
}

static void test_bad_vif_specs_say_what_is_wrong(void **state)
{
	struct domain_config c;
	struct errbuf eb;

	(void)state;
	config_init(&c);
	EXPECT_SET_FAILS(&c, "vif", "mac=00:16:3e:01:02:03", "no port=");
	EXPECT_SET_FAILS(&c, "vif", "port=eth0", "port=eth0", "tap:IFNAME", "pair:NAME");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdkx:net_ring0", "port=dpdkx:net_ring0", "tap:IFNAME", "dpdk:[VDEV-ARGS]");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:", "port=tap:", "1 to 15 characters");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:abcdefghijklmnop", "abcdefghijklmnop", "1 to 15");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:a/b", "a/b", "without '/'");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,mac=01:00:5e:00:00:01", "mac=01:00:5e:00:00:01", "unicast");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,mac=00:00:00:00:00:00", "not all zero");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,mac=00:16:3e:1:2:3", "mac=00:16:3e:1:2:3", "six hex bytes");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,mac=00:16:3e:01:02:03:04", "six hex bytes");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,mac=00-16-3e-01-02-03", "separated by ':'");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,mode=fast", "mode=fast", "exit, ioeventfd or poll");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,queues=0", "queues=0", "1 to 8");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,queues=9", "queues=9", "1 to 8");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,speed=9", "unknown field 'speed'", "mac, port, mode");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,tap", "'tap' is not field=value");
	EXPECT_SET_FAILS(&c, "vif", "port=pair:p,bridge=br0", "apply to port=tap: only");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,bridge=br0,netns=n", "give one of them");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,netns=../etc", "netns=../etc", "/run/netns");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x,bridge=b r", "bridge=b r", "without");
	/* outer brackets that are not one pair (found by fuzz_config) */
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:[net_x0,li]=st1[,2],mode=exit", "a ']' that closes no '['");
	EXPECT_SET_FAILS(&c, "vif", "port=dpdk:[net_x0,a=[b]", "unbalanced");
	assert_int_equal(c.nr_vifs, 0); /* nothing refused was kept */
	assert_int_equal(config_set(&c, "vif", "port=tap:x,mac=00:16:3e:00:00:01", &eb), 0);
	EXPECT_SET_FAILS(&c, "vif", "port=tap:x", "tap:x is vif 0's port already");
	EXPECT_SET_FAILS(&c, "vif", "port=tap:y,mac=00:16:3e:00:00:01", "vif 0 has that MAC already");
	for (unsigned i = 1; i < CONFIG_MAX_VIFS; i++) {
		char spec[32];

		snprintf(spec, sizeof(spec), "port=pair:p%u", i);
		assert_int_equal(config_set(&c, "vif", spec, &eb), 0);
	}
	EXPECT_SET_FAILS(&c, "vif", "port=pair:q", "at most 4 vifs");
}

static void test_pci_functions_as_sysfs_spells_them(void **state)
{
	static const char *const bad[][2] = {
		{ "0000:01:00", "DDDD:BB:SS.F or BB:SS.F" },   /* no function */
		{ "0000:01:20.0", "slot 00-1f" },             /* slot past 1f */
		{ "01:00.8", "function 0-7" },
		{ "0000:01:00.1 ", "hexadecimal" },           /* a space */
		{ "0x00:01:00.1", "hexadecimal" },            /* sscanf's 0x must not slip through */
		{ "+000:01:00.1", "hexadecimal" },
		{ "00000:01:00.1", "DDDD:BB:SS.F" },
		{ "1:00.1", "DDDD:BB:SS.F" },
	};
	struct domain_config c;
	struct errbuf eb = { "" };

	(void)state;
	config_init(&c);
	assert_int_equal(c.nr_pci, 0);
	assert_int_equal(config_parse_text(&c, "pci = [ \"0000:01:00.1\", '02:1F.7' ]\npci = \"ABCD:ff:1e.0\"\n", "p.cfg",
					   &eb), 0);
	assert_int_equal(c.nr_pci, 3);
	assert_string_equal(c.pci[0], "0000:01:00.1");
	assert_string_equal(c.pci[1], "0000:02:1f.7"); /* domain 0 added, lower case */
	assert_string_equal(c.pci[2], "abcd:ff:1e.0");
	/* the same function twice (in another spelling), and a fifth */
	assert_int_equal(config_set(&c, "pci", "01:00.1", &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "given twice"));
	assert_int_equal(config_set(&c, "pci", "0000:03:00.0", &eb), 0);
	assert_int_equal(config_set(&c, "pci", "0000:04:00.0", &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "at most 4"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_init(&c);
		assert_int_equal(config_set(&c, "pci", bad[i][0], &eb), -EINVAL);
		if (!strstr(eb.msg, bad[i][1]))
			fail_msg("pci = %s: '%s' does not say '%s'", bad[i][0], eb.msg, bad[i][1]);
		assert_int_equal(c.nr_pci, 0);
	}
}

static void test_confinement_keys_and_their_defaults(void **state)
{
	struct domain_config c;
	struct errbuf eb;

	(void)state;
	config_init(&c);
	assert_true(c.seccomp);
	assert_false(c.jail);
	assert_string_equal(c.user, "");
	assert_int_equal(config_parse_text(&c, "seccomp = 0\nuser = \"nobody\"\njail = 1\n", "c.cfg", &eb), 0);
	assert_false(c.seccomp);
	assert_true(c.jail);
	assert_string_equal(c.user, "nobody");
	EXPECT_SET_FAILS(&c, "seccomp", "off", "seccomp = off", "0 or 1");
	EXPECT_SET_FAILS(&c, "jail", "/srv/jail", "jail = /srv/jail", "0 or 1");
	EXPECT_SET_FAILS(&c, "user", "../x", "user = ../x", "user name or UID:GID");
}


static unsigned mask_count(const struct cpu_mask *m)
{
	unsigned n = 0;

	for (unsigned c = 0; c < CONFIG_CPUS_MAX; c++)
		n += cpu_mask_test(m, c);
	return n;
}

static void test_placement_keys_and_their_defaults(void **state)
{
	struct domain_config c;
	struct cpu_mask m;
	struct errbuf eb;
	const char *text = "memory_backing = hugetlb\n"
			   "numa_node = 3\n"
			   "vcpu_pin = [ \"2\", \"3-8,^5\", \"0,7\" ]\n";

	(void)state;
	config_init(&c);
	assert_int_equal(c.memory_backing, MEM_BACKING_AUTO);
	assert_int_equal(c.numa_node, -1);
	assert_int_equal(c.nr_vcpu_pin, 0);
	assert_int_equal(config_parse_text(&c, text, "t.cfg", &eb), 0);
	assert_int_equal(c.memory_backing, MEM_BACKING_HUGETLB);
	assert_int_equal(c.numa_node, 3);
	assert_int_equal(c.nr_vcpu_pin, 3);
	/* xl.cfg's own example: vCPU 0 on CPU 2, vCPU 1 on 3,4,6,7,8 */
	assert_int_equal(config_vcpu_pin(&c, 0, &m), 0);
	assert_true(cpu_mask_test(&m, 2));
	assert_int_equal(mask_count(&m), 1);
	assert_int_equal(config_vcpu_pin(&c, 1, &m), 0);
	assert_int_equal(mask_count(&m), 5);
	assert_false(cpu_mask_test(&m, 5));
	assert_true(cpu_mask_test(&m, 3) && cpu_mask_test(&m, 8));
	assert_int_equal(config_vcpu_pin(&c, 2, &m), 0);
	assert_true(cpu_mask_test(&m, 0) && cpu_mask_test(&m, 7));
	assert_int_equal(mask_count(&m), 2);
	assert_int_equal(config_vcpu_pin(&c, 3, &m), -EINVAL);
	assert_string_equal(c.vcpu_pin, "2 3-4,6-8 0,7"); /* canonical, in order */
	assert_int_equal(config_set(&c, "memory_backing", "thp", &eb), 0);
	assert_int_equal(c.memory_backing, MEM_BACKING_THP);
	assert_int_equal(config_set(&c, "memory_backing", "memfd", &eb), 0);
	assert_int_equal(c.memory_backing, MEM_BACKING_MEMFD);
	assert_string_equal(config_backing_name(MEM_BACKING_THP), "thp");
	assert_int_equal(config_set(&c, "memory_backing", "auto", &eb), 0);
	assert_int_equal(c.memory_backing, MEM_BACKING_AUTO);
	/* auto under 64 MiB is memfd on any host; the explicit ones stay as asked */
	{
		char why[256];

		assert_int_equal(mem_backing_resolve(MEM_BACKING_AUTO, 62ull << 20, why, sizeof(why)),
				 MEM_BACKING_MEMFD);
		assert_non_null(strstr(why, "auto: memfd, the domain has 62 MiB, under the 64 MiB"));
		assert_int_equal(mem_backing_resolve(MEM_BACKING_MEMFD, 1ull << 30, why, sizeof(why)),
				 MEM_BACKING_MEMFD);
		assert_int_equal(mem_backing_resolve(MEM_BACKING_HUGETLB, 2ull << 20, NULL, 0),
				 MEM_BACKING_HUGETLB);
		assert_int_equal(mem_backing_resolve(MEM_BACKING_THP, 2ull << 20, NULL, 0), MEM_BACKING_THP);
	}

	EXPECT_SET_FAILS(&c, "memory_backing", "huge", "memory_backing = huge", "auto (the default", "memfd",
			 "hugetlb", "thp");
	EXPECT_SET_FAILS(&c, "memory_backing", "", "memory_backing = ", "memfd");
	EXPECT_SET_FAILS(&c, "numa_node", "-1", "numa_node = -1", "0 to 1023");
	EXPECT_SET_FAILS(&c, "numa_node", "1024", "numa_node = 1024", "0 to 1023");
	EXPECT_SET_FAILS(&c, "numa_node", "one", "numa_node = one");
	/* dirty_ring: auto (-1, the default), 0, or a power of two from 256 to 65536 */
	{
		struct domain_config r;

		config_init(&r);
		assert_int_equal(r.dirty_ring, -1);
		assert_int_equal(config_set(&r, "dirty_ring", "65536", &eb), 0);
		assert_int_equal(r.dirty_ring, 65536);
		assert_int_equal(config_set(&r, "dirty_ring", "0", &eb), 0);
		assert_int_equal(r.dirty_ring, 0);
		assert_int_equal(config_set(&r, "dirty_ring", "auto", &eb), 0);
		assert_int_equal(r.dirty_ring, -1);
		EXPECT_SET_FAILS(&r, "dirty_ring", "128", "dirty_ring = 128", "power of two from 256 to 65536");
		EXPECT_SET_FAILS(&r, "dirty_ring", "131072", "dirty_ring = 131072", "65536");
		EXPECT_SET_FAILS(&r, "dirty_ring", "1000", "dirty_ring = 1000", "power of two");
		EXPECT_SET_FAILS(&r, "dirty_ring", "-1", "dirty_ring = -1", "auto, 0");
		assert_int_equal(r.dirty_ring, -1); /* refused values change nothing */
	}
	EXPECT_SET_FAILS(&c, "vcpu_pin", "1-", "vcpu_pin = 1-", "N-M");
	EXPECT_SET_FAILS(&c, "vcpu_pin", "x", "vcpu_pin = x");
	assert_int_equal(c.nr_vcpu_pin, 3); /* refused entries are not added */

	/* 64 entries of every even CPU below 200 do not fit in the text: refused, the rest kept */
	config_init(&c);
	char evens[1024] = "";

	for (unsigned cpu = 0; cpu < 200; cpu += 2)
		snprintf(evens + strlen(evens), sizeof(evens) - strlen(evens), "%s%u", cpu ? "," : "", cpu);
	unsigned added = 0;
	struct errbuf e2 = { "" };

	while (added < XENITH_MAX_VCPUS && config_set(&c, "vcpu_pin", evens, &e2) == 0)
		added++;
	assert_true(added >= 1 && added < XENITH_MAX_VCPUS);
	assert_non_null(strstr(e2.msg, "take more than 511 characters"));
	assert_int_equal(c.nr_vcpu_pin, added);
	assert_int_equal(config_vcpu_pin(&c, added - 1, &m), 0);
	assert_int_equal(mask_count(&m), 100);
	config_init(&c);
	for (unsigned i = 0; i < XENITH_MAX_VCPUS; i++)
		assert_int_equal(config_set(&c, "vcpu_pin", "1", &eb), 0);
	EXPECT_SET_FAILS(&c, "vcpu_pin", "1", "vcpu_pin = 1", "at most 64 entries");
}

static void test_cpu_lists_at_their_edges(void **state)
{
	static const char *const bad[] = {
		"", ",", "0,", ",0", "3-1", "0,3-1", "1--2", "-1", "1-2-3", "0 ,1", " 0", "0x1", "^", "^0",
		"0,^0", "1024", "0-1024", "99999999999999999999", "all,^all", "al", "1,all2",
	};
	struct cpu_mask m;
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cpu_list_parse(bad[i], &m) == 0)
			fail_msg("CPU list '%s' was accepted", bad[i]);
	assert_int_equal(cpu_list_parse("0", &m), 0);
	assert_int_equal(mask_count(&m), 1);
	assert_int_equal(cpu_list_parse("1023", &m), 0);
	assert_true(cpu_mask_test(&m, 1023));
	assert_int_equal(cpu_list_parse("0-1023", &m), 0);
	assert_int_equal(mask_count(&m), CONFIG_CPUS_MAX);
	assert_int_equal(cpu_list_parse("4-4", &m), 0);
	assert_int_equal(mask_count(&m), 1);
	assert_int_equal(cpu_list_parse("0-9,^3-4,^9,3", &m), 0); /* left to right */
	cpu_mask_format(&m, buf, sizeof(buf));
	assert_string_equal(buf, "0-3,5-8");
	assert_int_equal(cpu_list_parse("63,64,127-128", &m), 0);
	cpu_mask_format(&m, buf, sizeof(buf));
	assert_string_equal(buf, "63-64,127-128");
	assert_int_equal(cpu_list_parse("all", &m), 0);
	assert_true(mask_count(&m) >= 1); /* this process's CPUs */
	memset(&m, 0, sizeof(m));
	cpu_mask_format(&m, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	assert_int_equal(cpu_list_parse("1,3,5,7,9,11,13,15,17,19", &m), 0);
	cpu_mask_format(&m, buf, 8); /* cut, still terminated */
	assert_true(strlen(buf) < 8);
}

/*
 * config_format: what `xenith save` writes for `xenith restore`.  The
 * configs are built through config_set, formatted, parsed into a fresh
 * config and compared field by field.
 */

/*
 * A new field must be formatted (or listed in config.h as not carried)
 * and compared below: these sizes change with the fields (x86-64's).
 */
#if defined(__x86_64__)
_Static_assert(sizeof(struct domain_config) == 36384 && sizeof(struct disk_config) == 4112 &&
	       sizeof(struct vif_config) == 372,
	       "struct domain_config changed: teach config_format (hv/config.c) and assert_configs_equal "
	       "the field");
#endif

static void set_ok(struct domain_config *c, const char *key, const char *value)
{
	struct errbuf eb = { "" };

	if (config_set(c, key, value, &eb) < 0)
		fail_msg("config_set(%s, %s): %s", key, value, eb.msg);
}

/* memcmp would also compare what each string leaves after its NUL; base_dir is not carried (config.h). */
static void assert_configs_equal(const struct domain_config *a, const struct domain_config *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->memory_mib, b->memory_mib);
	assert_int_equal(a->vcpus, b->vcpus);
	assert_string_equal(a->kernel, b->kernel);
	assert_string_equal(a->initrd, b->initrd);
	assert_string_equal(a->cmdline, b->cmdline);
	assert_int_equal(a->guest_cpl, b->guest_cpl);
	assert_int_equal(a->xen_hvm, b->xen_hvm);
	assert_int_equal(a->on_poweroff, b->on_poweroff);
	assert_int_equal(a->on_reboot, b->on_reboot);
	assert_int_equal(a->on_crash, b->on_crash);
	assert_string_equal(a->console_log, b->console_log);
	assert_int_equal(a->console_log_max, b->console_log_max);
	assert_int_equal(a->nr_disks, b->nr_disks);
	for (unsigned i = 0; i < a->nr_disks; i++) {
		const struct disk_config *x = &a->disks[i], *y = &b->disks[i];

		assert_string_equal(x->path, y->path);
		assert_int_equal(x->mode, y->mode);
		assert_int_equal(x->ro, y->ro);
		assert_int_equal(x->direct, y->direct);
		assert_int_equal(x->sqpoll, y->sqpoll);
		assert_int_equal(x->queues, y->queues);
		assert_int_equal(x->persistent, y->persistent);
	}
	assert_int_equal(a->nr_vifs, b->nr_vifs);
	for (unsigned i = 0; i < a->nr_vifs; i++) {
		const struct vif_config *x = &a->vifs[i], *y = &b->vifs[i];

		assert_int_equal(x->mac_set, y->mac_set);
		assert_memory_equal(x->mac, y->mac, sizeof(x->mac));
		assert_int_equal(x->port, y->port);
		assert_string_equal(x->port_name, y->port_name);
		assert_int_equal(x->mode, y->mode);
		assert_int_equal(x->queues, y->queues);
		assert_string_equal(x->bridge, y->bridge);
		assert_string_equal(x->netns, y->netns);
		assert_string_equal(x->dpdk_args, y->dpdk_args);
	}
	assert_int_equal(a->nr_pci, b->nr_pci);
	for (unsigned i = 0; i < a->nr_pci; i++)
		assert_string_equal(a->pci[i], b->pci[i]);
	assert_int_equal(a->dpdk_hugepages, b->dpdk_hugepages);
	assert_string_equal(a->dpdk_eal_args, b->dpdk_eal_args);
	if (a->timeout_s != b->timeout_s)
		fail_msg("timeout %.17g came back as %.17g", a->timeout_s, b->timeout_s);
	assert_int_equal(a->seccomp, b->seccomp);
	assert_string_equal(a->user, b->user);
	assert_int_equal(a->jail, b->jail);
	assert_int_equal(a->memory_backing, b->memory_backing);
	assert_int_equal(a->numa_node, b->numa_node);
	assert_int_equal(a->dirty_ring, b->dirty_ring);
	assert_string_equal(a->vcpu_pin, b->vcpu_pin);
	assert_int_equal(a->nr_vcpu_pin, b->nr_vcpu_pin);
}

/* Large enough for any config: at most 4 + 4 + 4 + 64 + 20 lines of under 2 KiB. */
static char saved[256 << 10];

/* cfg formatted into saved and parsed back into a fresh config, which must equal it. */
static void assert_round_trips(const struct domain_config *cfg)
{
	static struct domain_config back;
	struct errbuf eb = { "" };
	int n = config_format(cfg, saved, sizeof(saved));

	if (n < 0)
		fail_msg("config_format returned %d", n);
	assert_int_equal(strlen(saved), n);
	config_init(&back);
	if (config_parse_text(&back, saved, "saved", &eb) < 0)
		fail_msg("the text does not parse back: %s; the text:\n%s", eb.msg, saved);
	assert_configs_equal(cfg, &back);
	assert_string_equal(back.base_dir, "");
}

static void test_config_format_of_the_defaults_is_empty(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	assert_int_equal(config_format(&c, saved, sizeof(saved)), 0);
	assert_string_equal(saved, "");
	assert_round_trips(&c);
}

static void test_config_format_round_trips_every_key(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	set_ok(&c, "name", "web-1.a_b");
	set_ok(&c, "memory", "4G");
	set_ok(&c, "vcpus", "8");
	set_ok(&c, "kernel", "/boot/vmlinuz");
	set_ok(&c, "initrd", "/boot/initrd.img");
	set_ok(&c, "cmdline", "console=hvc0 root=/dev/xvda");
	set_ok(&c, "guest_cpl", "0");
	set_ok(&c, "disk", "/srv/a.img");
	set_ok(&c, "vif", "port=tap:xt0");
	set_ok(&c, "pci", "0000:01:00.1");
	set_ok(&c, "pci", "ab:1f.7");
	set_ok(&c, "on_poweroff", "preserve");
	set_ok(&c, "on_reboot", "destroy");
	set_ok(&c, "on_crash", "restart");
	set_ok(&c, "console_log", "/var/log/web-1.log");
	set_ok(&c, "console_log_max", "1G");
	set_ok(&c, "timeout", "0.1"); /* not a binary fraction: needs all 17 digits */
	set_ok(&c, "seccomp", "0");
	set_ok(&c, "user", "1000:1000");
	set_ok(&c, "jail", "1");
	set_ok(&c, "memory_backing", "hugetlb");
	set_ok(&c, "numa_node", "0"); /* 0 is not the default (-1) */
	set_ok(&c, "vcpu_pin", "0-3,^1");
	set_ok(&c, "vcpu_pin", "1023");
	set_ok(&c, "vcpu_pin", "4-7");
	set_ok(&c, "dpdk_hugepages", "1");
	set_ok(&c, "dpdk_eal_args", "-m 256 --log-level=pmd.net.memif:debug");
	set_ok(&c, "xen_hvm", "1");
	set_ok(&c, "dirty_ring", "256");
	assert_round_trips(&c);
	/* each key once at least, so a key added to config_keys but not to config_format shows here */
	for (const char *const *k = config_keys; *k; k++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "\n%s = ", *k);
		if (strncmp(saved, needle + 1, strlen(needle + 1)) && !strstr(saved, needle))
			fail_msg("no line for key '%s' in:\n%s", *k, saved);
	}
	/* the other values of the enums and of memory_backing */
	set_ok(&c, "on_poweroff", "restart");
	set_ok(&c, "on_reboot", "preserve");
	set_ok(&c, "on_crash", "preserve");
	set_ok(&c, "memory_backing", "thp");
	set_ok(&c, "timeout", "31536000");
	assert_round_trips(&c);
	set_ok(&c, "memory_backing", "memfd");
	set_ok(&c, "timeout", "1e-300");
	set_ok(&c, "dirty_ring", "0"); /* 0 is not the default (auto, -1) */
	assert_round_trips(&c);
}

static void test_config_format_round_trips_four_disks_with_every_option(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	set_ok(&c, "disk", "path=/srv/a.img,mode=exit,ro=1,direct=0,sqpoll=1,queues=8,persistent=0");
	set_ok(&c, "disk", "path=/dev/nvme0n1,mode=poll,queues=1");
	set_ok(&c, "disk", "path=/srv/x=y.img,ro=1,mode=ioeventfd,persistent=0"); /* "=" in a path */
	set_ok(&c, "disk", "path=/srv/d.img,direct=0,sqpoll=1,queues=3");
	assert_int_equal(c.nr_disks, 4);
	assert_round_trips(&c);
}

static void test_config_format_round_trips_vifs_of_each_port_kind(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	set_ok(&c, "vif", "mac=00:16:3e:0A:bc:01,port=tap:xt0,mode=poll,queues=4,bridge=br0");
	set_ok(&c, "vif", "port=pair:p1,mode=exit");
	set_ok(&c, "vif", "mac=02:00:00:00:00:09,port=dpdk:[net_memif0,role=server,socket=/tmp/x.sock,"
	       "list=[1,2],mac=02:00:00:00:00:0a],mode=poll,queues=2");
	set_ok(&c, "vif", "port=switch:sw0,mode=poll,queues=8,mac=fe:ff:ff:ff:ff:ff");
	assert_round_trips(&c);
	/* netns, a vdev without args, a tap whose name has quotes, '#' and a bracketed ',' */
	config_init(&c);
	set_ok(&c, "vif", "port=tap:xt1,netns=ns-1.a,mode=exit");
	set_ok(&c, "vif", "port=dpdk:net_ring0");
	set_ok(&c, "vif", "port=tap:a\"b'c#[,]\\,bridge=b'r\"0");
	assert_string_equal(c.vifs[2].port_name, "a\"b'c#[,]\\");
	assert_round_trips(&c);
}

static void test_config_format_quotes_spaces_and_quote_characters(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	set_ok(&c, "cmdline", " say \"it's\" \\\"here\\\" # not a comment\tC:\\dir\\ ");
	set_ok(&c, "kernel", "/srv/my images/guest's kernel");
	set_ok(&c, "initrd", "/srv/\"quoted\"/initrd\\");
	set_ok(&c, "console_log", "/var/log/a \"b\" 'c' \\d.log");
	set_ok(&c, "user", "o'brien");
	set_ok(&c, "dpdk_eal_args", "--vdev \"net_x0\" -m 256 '#'");
	set_ok(&c, "disk", "path=/srv/disk \"one\"/x y's.img,ro=1");
	set_ok(&c, "disk", "/srv/back\\slash\\");
	assert_round_trips(&c);
	/* quotes that need no escape where one kind will do */
	assert_non_null(strstr(saved, "initrd = '/srv/\"quoted\"/initrd\\'\n"));
	assert_non_null(strstr(saved, "user = \"o'brien\"\n"));
}

static void test_config_format_writes_paths_as_resolved_and_base_dir_as_a_comment(void **state)
{
	struct domain_config c;

	(void)state;
	config_init(&c);
	strcpy(c.base_dir, "/etc/xenith");
	set_ok(&c, "kernel", "images/minios");
	/* as `xenith run` does for its options: relative to the current directory, left relative */
	c.base_dir[0] = 0;
	set_ok(&c, "initrd", "rel/initrd");
	set_ok(&c, "disk", "rel/disk.img");
	strcpy(c.base_dir, "/etc/xenith");
	assert_string_equal(c.kernel, "/etc/xenith/images/minios");
	assert_round_trips(&c);
	assert_non_null(strstr(saved, "initrd = \"rel/initrd\"\n"));
	assert_non_null(strstr(saved, "# base_dir = \"/etc/xenith\"\n"));
}

static void test_config_format_says_when_the_buffer_is_too_small(void **state)
{
	struct domain_config c;
	char full[4096], cut[4096];
	int n;

	(void)state;
	config_init(&c);
	set_ok(&c, "name", "small");
	set_ok(&c, "cmdline", "a fairly long command line for a buffer that is too small");
	set_ok(&c, "disk", "path=/srv/a.img,ro=1");
	n = config_format(&c, full, sizeof(full));
	assert_true(n > 40);
	assert_int_equal(config_format(&c, cut, (size_t)n + 1), n);
	assert_string_equal(cut, full);
	for (size_t size = 1; size <= (size_t)n; size += size < 4 ? 1 : 7) {
		memset(cut, 'x', sizeof(cut));
		assert_int_equal(config_format(&c, cut, size), -1);
		/* cut where the buffer ends, and terminated */
		assert_int_equal(strlen(cut), size - 1);
		assert_memory_equal(cut, full, size - 1);
	}
	assert_int_equal(config_format(&c, cut, (size_t)n), -1);
	cut[0] = 'x';
	assert_int_equal(config_format(&c, cut, 0), -1);
	assert_int_equal(cut[0], 'x'); /* nothing written to a buffer of no bytes */
}

static void test_config_format_refuses_what_the_syntax_cannot_carry(void **state)
{
	static char long_path[3000];
	struct domain_config c;
	char buf[8192];

	(void)state;
	config_init(&c);
	set_ok(&c, "cmdline", "two\nlines");
	assert_int_equal(config_format(&c, buf, sizeof(buf)), -2);
	/* longer than a line the parser reads, though a path may be */
	config_init(&c);
	memset(long_path, 'k', sizeof(long_path) - 1);
	long_path[0] = '/';
	set_ok(&c, "kernel", long_path);
	assert_int_equal(config_format(&c, buf, sizeof(buf)), -2);
	/* 1023 quotes fit a cmdline, but not a line once each is escaped... */
	config_init(&c);
	memset(long_path, '"', XENITH_CMDLINE_MAX - 1);
	long_path[XENITH_CMDLINE_MAX - 1] = 0;
	set_ok(&c, "cmdline", long_path);
	assert_true(config_format(&c, buf, sizeof(buf)) > 0); /* ...and need none in single quotes */
	long_path[0] = '\'';
	set_ok(&c, "cmdline", long_path);
	assert_int_equal(config_format(&c, buf, sizeof(buf)), -2);
	/* what config_set cannot make, but a struct filled in by hand can hold */
	config_init(&c);
	set_ok(&c, "disk", "/srv/a.img");
	strcpy(c.disks[0].path, "/srv/a,b.img");
	assert_int_equal(config_format(&c, buf, sizeof(buf)), -2);
	config_init(&c);
	set_ok(&c, "vif", "port=tap:xt0");
	strcpy(c.vifs[0].port_name, "a,b");
	assert_int_equal(config_format(&c, buf, sizeof(buf)), -2);
	strcpy(c.vifs[0].port_name, "a]b[");
	assert_int_equal(config_format(&c, buf, sizeof(buf)), -2);
	config_init(&c);
	c.console_log_max = (3ull << 20) / 2;
	assert_int_equal(config_format(&c, buf, sizeof(buf)), -2);
	config_init(&c);
	c.on_crash = (enum domain_action)7;
	assert_int_equal(config_format(&c, buf, sizeof(buf)), -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_parses_file_with_comments_and_quotes),
		cmocka_unit_test(test_config_bad_values_name_key_value_and_allowed),
		cmocka_unit_test(test_console_log_max_takes_mib_with_suffixes_within_limits),
		cmocka_unit_test(test_config_unknown_key_suggests_the_nearest),
		cmocka_unit_test(test_config_syntax_errors_give_line_numbers),
		cmocka_unit_test_teardown(test_config_file_paths_are_relative_to_the_file, remove_tmp),
		cmocka_unit_test_teardown(test_config_missing_or_binary_file_is_an_error, remove_tmp),
		cmocka_unit_test(test_disks_from_a_list_and_their_fields),
		cmocka_unit_test(test_bad_disk_specs_say_what_is_wrong),
		cmocka_unit_test(test_vifs_from_a_list_and_their_fields),
		cmocka_unit_test(test_a_dpdk_vif_takes_its_vdev_args_in_brackets),
		cmocka_unit_test(test_bad_vif_specs_say_what_is_wrong),
		cmocka_unit_test(test_pci_functions_as_sysfs_spells_them),
		cmocka_unit_test(test_confinement_keys_and_their_defaults),
		cmocka_unit_test(test_placement_keys_and_their_defaults),
		cmocka_unit_test(test_cpu_lists_at_their_edges),
		cmocka_unit_test(test_config_format_of_the_defaults_is_empty),
		cmocka_unit_test(test_config_format_round_trips_every_key),
		cmocka_unit_test(test_config_format_round_trips_four_disks_with_every_option),
		cmocka_unit_test(test_config_format_round_trips_vifs_of_each_port_kind),
		cmocka_unit_test(test_config_format_quotes_spaces_and_quote_characters),
		cmocka_unit_test(test_config_format_writes_paths_as_resolved_and_base_dir_as_a_comment),
		cmocka_unit_test(test_config_format_says_when_the_buffer_is_too_small),
		cmocka_unit_test(test_config_format_refuses_what_the_syntax_cannot_carry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
