// SPDX-License-Identifier: MIT
/* unit: the network programs' options (net/opts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "opts.h"

static void test_every_key_is_parsed(void **state)
{
	struct net_opts o;
	const char *bad;
	size_t len;

	(void)state;
	net_opts_default(&o, 5001);
	assert_true(net_opts_parse("  vif=2 ip=192.168.1.9/16 gw=192.168.0.1 mac=02:00:00:00:00:0c port=9 src=7 "
				   "dst=192.168.1.1:5001 size=1514 count=10 rate=1000 duration=5 idle=6 timeout=7 hold=1 queues=8 ",
				   &o, &bad, &len));
	assert_int_equal(o.vif, 2);
	assert_int_equal(o.ip, 0xc0a80109u);
	assert_int_equal(o.prefix, 16);
	assert_int_equal(o.gw, 0xc0a80001u);
	assert_true(o.has_mac);
	assert_int_equal(o.mac[5], 0x0c);
	assert_int_equal(o.port, 9);
	assert_int_equal(o.src_port, 7);
	assert_true(o.has_dst);
	assert_int_equal(o.dst_ip, 0xc0a80101u);
	assert_int_equal(o.dst_port, 5001);
	assert_int_equal(o.size, 1514);
	assert_int_equal(o.count, 10);
	assert_int_equal(o.rate, 1000);
	assert_int_equal(o.duration_ms, 5);
	assert_int_equal(o.idle_ms, 6);
	assert_int_equal(o.timeout_ms, 7);
	assert_true(o.hold);
	assert_int_equal(o.queues, 8);
}

static void test_defaults(void **state)
{
	struct net_opts o;
	const char *bad;
	size_t len;

	(void)state;
	net_opts_default(&o, 7);
	assert_true(net_opts_parse("", &o, &bad, &len));
	assert_int_equal(o.ip, 0x0a000002u);
	assert_int_equal(o.prefix, 24);
	assert_int_equal(o.port, 7);
	assert_int_equal(o.size, 64);
	assert_false(o.has_dst);
	assert_false(o.has_mac);
	assert_int_equal(o.queues, 1);
	assert_true(net_opts_parse("ip=10.1.2.3", &o, &bad, &len));
	assert_int_equal(o.prefix, 24); /* no /P: 24 */
}

/* args must be refused, naming want (a key, or the whole word when it is not key=value). */
static void refused(const char *args, const char *want, size_t want_len)
{
	struct net_opts o;
	const char *bad = NULL;
	size_t len = 99;

	net_opts_default(&o, 1);
	if (net_opts_parse(args, &o, &bad, &len))
		fail_msg("'%s' was accepted", args);
	assert_non_null(bad);
	assert_int_equal(len, want_len);
	assert_memory_equal(bad, want, strlen(want));
}

static void test_bad_words_are_named(void **state)
{
	(void)state;
	refused("count=1 size=63", "size", 4);
	refused("size=1515", "size", 4);
	refused("dst=10.0.0.1:0", "dst", 3);
	refused("dst=10.0.0.1:65536", "dst", 3);
	refused("dst=10.0.0.1", "dst", 3);
	refused("ip=10.0.0.300", "ip", 2);
	refused("ip=10.0.0.3/33", "ip", 2);
	refused("gw=10.0.0.1/24", "gw", 2);
	refused("mac=01:00:00:00:00:01", "mac", 3); /* multicast */
	refused("mac=02:00:00:00:00", "mac", 3);
	refused("count=12x", "count", 5);
	refused("count=99999999999999999999", "count", 5); /* past 2^64 */
	refused("duration=18446744073709552", "duration", 8); /* ms past 2^64 ns */
	refused("timeout=0", "timeout", 7);
	refused("hold=2", "hold", 4);
	refused("vif=64", "vif", 3);
	refused("queues=0", "queues", 6);
	refused("queues=9", "queues", 6);
	refused("colour=blue", "colour", 6);
	refused("count=1 loose", "loose", 0);
	refused("=5", "=5", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_is_parsed),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_words_are_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
