// SPDX-License-Identifier: MIT
/* unit tier: the domain switch's forwarding table and its message checks (io/switch_l2.h, io/switch_proto.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "switch.h"
#include "switch_l2.h"
#include "switch_proto.h"
#include "xenith/grant_table.h"

static const uint8_t A[6] = { 0x00, 0x16, 0x3e, 0, 0, 0x0a }, B[6] = { 0x00, 0x16, 0x3e, 0, 0, 0x0b };

static void test_l2_learns_a_source_and_finds_it_until_it_ages(void **state)
{
	static struct l2_table t;

	(void)state;
	l2_init(&t, 100);
	assert_int_equal(l2_lookup(&t, A, 1), -1);
	assert_int_equal(l2_learn(&t, A, 3, 10), 0);
	assert_int_equal(l2_lookup(&t, A, 50), 3);
	assert_int_equal(l2_lookup(&t, B, 50), -1);
	assert_int_equal(l2_lookup(&t, A, 110), 3);   /* age 100: still live */
	assert_int_equal(l2_lookup(&t, A, 111), -1);  /* aged out */
	assert_int_equal(l2_count(&t, 111), 0);
}

static void test_l2_a_mac_moving_to_another_port_is_counted_and_followed(void **state)
{
	static struct l2_table t;

	(void)state;
	l2_init(&t, 1000);
	assert_int_equal(l2_learn(&t, A, 1, 1), 0);
	assert_int_equal(l2_learn(&t, A, 1, 2), 0);
	assert_int_equal(l2_learn(&t, A, 2, 3), 1);
	assert_int_equal(l2_lookup(&t, A, 4), 2);
	assert_int_equal(t.moves, 1);
	assert_int_equal(l2_count(&t, 4), 1);
}

static void test_l2_forgets_a_detached_port_only(void **state)
{
	static struct l2_table t;

	(void)state;
	l2_init(&t, 1000);
	l2_learn(&t, A, 1, 1);
	l2_learn(&t, B, 2, 1);
	l2_forget_port(&t, 1);
	assert_int_equal(l2_lookup(&t, A, 2), -1);
	assert_int_equal(l2_lookup(&t, B, 2), 2);
}

static void test_l2_a_full_window_refuses_new_macs_and_keeps_old_ones(void **state)
{
	static struct l2_table t;
	unsigned learned = 0, refused = 0;
	uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0, 0, 0 };

	(void)state;
	l2_init(&t, 1000000);
	/* Far more MACs than entries: the table stays bounded, refusals are counted, learned ones stay found. */
	for (unsigned i = 0; i < 4 * L2_SIZE; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		if (l2_learn(&t, mac, (uint16_t)(i % 7), 1) == 0)
			learned++;
		else
			refused++;
	}
	assert_true(learned <= L2_SIZE);
	assert_true(refused >= 3 * L2_SIZE);
	assert_int_equal(t.full, refused);
	assert_int_equal(l2_count(&t, 2), learned);
	for (unsigned i = 0, found = 0; i < 4 * L2_SIZE; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		found += l2_lookup(&t, mac, 2) == (int)(i % 7);
		if (i == 4 * L2_SIZE - 1)
			assert_int_equal(found, learned);
	}
	/* an aged table has room again */
	assert_int_equal(l2_learn(&t, mac, 1, 1000000 + 2), 0);
}

static struct swp_hello good_hello(void)
{
	struct swp_hello h = { 0 };

	swp_hdr_init(&h.h, SWP_HELLO, sizeof(h));
	h.mem_size = 32 << 20;
	h.min_gpa = 1 << 20;
	h.domid = 1;
	h.vif = 0;
	h.mode = XENITH_NET_MODE_IOEVENTFD;
	h.nr_queues = 2;
	memcpy(h.mac, A, 6);
	strcpy(h.domain, "d1");
	return h;
}

static int parse_hello(const struct swp_hello *h, unsigned nfds)
{
	struct swp_msg m;
	char why[256];

	return swp_parse(h, sizeof(*h), nfds, &m, why, sizeof(why));
}

static void test_proto_accepts_a_good_hello_and_copies_it(void **state)
{
	struct swp_hello h = good_hello();
	struct swp_msg m;
	char why[256];

	(void)state;
	assert_int_equal(swp_parse(&h, sizeof(h), SWP_HELLO_FDS(2), &m, why, sizeof(why)), 0);
	assert_int_equal(m.type, SWP_HELLO);
	assert_memory_equal(m.u.hello.mac, A, 6);
	assert_int_equal(m.u.hello.nr_queues, 2);
}

static void test_proto_refuses_each_bad_hello_field(void **state)
{
	struct swp_hello h;

	(void)state;
	h = good_hello(); assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2) - 1), -EBADF);
	h = good_hello(); assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2) + 1), -EBADF);
	h = good_hello(); h.nr_queues = 0; assert_int_equal(parse_hello(&h, 2), -EINVAL);
	h = good_hello(); h.nr_queues = XENITH_NET_MAX_QUEUES + 1;
	assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(XENITH_NET_MAX_QUEUES + 1)), -EINVAL);
	h = good_hello(); h.mem_size = 4097; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.mem_size = 0; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.mem_size = SWP_MEM_MAX + 4096; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.min_gpa = h.mem_size; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.domid = 0; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.domid = 0x7ff0; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.vif = 64; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.mode = 3; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.mac[0] = 1; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); memset(h.mac, 0, 6); assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); memset(h.domain, 'x', sizeof(h.domain)); assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.domain[0] = 0; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.domain[1] = '\n'; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.pad[1] = 1; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
}

static void test_proto_refuses_packets_that_are_not_the_protocol(void **state)
{
	struct swp_hello h;
	struct swp_msg m;
	char why[256];
	struct swp_hdr x;

	(void)state;
	h = good_hello(); h.h.magic++; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EPROTO);
	h = good_hello(); h.h.version = 2; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EPROTO);
	h = good_hello(); h.h.len--; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EPROTO);
	h = good_hello(); h.h.type = SWP_TYPE_NR; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EPROTO);
	h = good_hello(); h.h.reserved = 1; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EPROTO);
	h = good_hello(); assert_int_equal(swp_parse(&h, sizeof(h.h) - 1, 0, &m, why, sizeof(why)), -EPROTO);
	swp_hdr_init(&x, SWP_HELLO, sizeof(x)); /* a hello cut short */
	assert_int_equal(swp_parse(&x, sizeof(x), 2, &m, why, sizeof(why)), -EPROTO);
	swp_hdr_init(&x, SWP_LIST, sizeof(x));
	assert_int_equal(swp_parse(&x, sizeof(x), 0, &m, why, sizeof(why)), 0);
	assert_int_equal(m.type, SWP_LIST);
	assert_int_equal(swp_parse(&x, sizeof(x), 1, &m, why, sizeof(why)), -EBADF); /* no descriptors with LIST */
}

static void test_proto_checks_connect_ranges(void **state)
{
	struct swp_connect c = { 0 };
	struct swp_msg m;
	char why[256];

	(void)state;
	swp_hdr_init(&c.h, SWP_CONNECT, sizeof(c));
	c.table_gpa = 0x200000;
	c.table_frames = 1;
	c.nr_queues = 1;
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), 0);
	c.table_frames = 0;
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), -EINVAL);
	c.table_frames = XENITH_GNTTAB_MAX_FRAMES + 1;
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), -EINVAL);
	c.table_frames = 1;
	c.table_gpa = 0x200001;
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), -EINVAL);
	c.table_gpa = 0x200000;
	c.nr_queues = XENITH_NET_MAX_QUEUES + 1;
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), -EINVAL);
}

/* The switch itself refuses a hello whose descriptors are not what it says, replying and closing. */
static void test_switch_refuses_a_hello_with_wrong_descriptors(void **state)
{
	struct swp_hello h = good_hello();
	struct sw *sw;
	int sv[2], fds[SWP_HELLO_FDS(2)], stop = 0;
	char buf[512];
	struct swp_msg m;
	ssize_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(sw_create("unit", &sw), 0);
	for (unsigned i = 0; i < SWP_HELLO_FDS(2); i++)
		fds[i] = dup(0); /* not a memfd, not eventfds */
	assert_int_equal(sw_handle(sw, sv[0], &h, sizeof(h), fds, SWP_HELLO_FDS(2), &stop), -1);
	n = read(sv[1], buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(swp_parse(buf, (size_t)n, 0, &m, NULL, 0), 0);
	assert_int_equal(m.type, SWP_REPLY);
	assert_true(m.u.reply.status < 0);
	assert_int_equal(sw_nr_vifs(sw), 0);
	sw_destroy(sw);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_l2_learns_a_source_and_finds_it_until_it_ages),
		cmocka_unit_test(test_l2_a_mac_moving_to_another_port_is_counted_and_followed),
		cmocka_unit_test(test_l2_forgets_a_detached_port_only),
		cmocka_unit_test(test_l2_a_full_window_refuses_new_macs_and_keeps_old_ones),
		cmocka_unit_test(test_proto_accepts_a_good_hello_and_copies_it),
		cmocka_unit_test(test_proto_refuses_each_bad_hello_field),
		cmocka_unit_test(test_proto_refuses_packets_that_are_not_the_protocol),
		cmocka_unit_test(test_proto_checks_connect_ranges),
		cmocka_unit_test(test_switch_refuses_a_hello_with_wrong_descriptors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
