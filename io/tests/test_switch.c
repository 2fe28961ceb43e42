// SPDX-License-Identifier: MIT
/* unit tier: the domain switch's forwarding table and its message checks (io/switch_l2.h, io/switch_proto.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
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
	h = good_hello(); h.pad = 1; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.flags = 2; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), -EINVAL);
	h = good_hello(); h.flags = SWP_HELLO_TAKEOVER; assert_int_equal(parse_hello(&h, SWP_HELLO_FDS(2)), 0);
}

/* RESTORE: CONNECT's ranges, and per queue only the flags the protocol knows. */
static void test_proto_checks_restore_ranges(void **state)
{
	struct swp_restore c = { 0 };
	struct swp_msg m;
	char why[256];

	(void)state;
	swp_hdr_init(&c.h, SWP_RESTORE, sizeof(c));
	c.table_gpa = 0x200000;
	c.table_frames = 1;
	c.nr_queues = 2;
	c.q[1] = (struct swp_queue_state){ .tx_ref = 9, .rx_ref = 10, .tx_req_cons = 7, .tx_rsp_prod_pvt = 7,
					   .flags = SWP_QUEUE_TX_CUT | SWP_QUEUE_BROKEN };
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), 0);
	assert_int_equal(m.type, SWP_RESTORE);
	assert_int_equal(m.u.restore.q[1].tx_req_cons, 7);
	c.q[1].flags = 4;
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "restore: queue 1: flags 0x4"));
	c.q[1].flags = 0;
	c.table_frames = 0;
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), -EINVAL);
	c.table_frames = 1;
	c.nr_queues = XENITH_NET_MAX_QUEUES + 1;
	assert_int_equal(swp_parse(&c, sizeof(c), 0, &m, why, sizeof(why)), -EINVAL);
	c.nr_queues = 1;
	assert_int_equal(swp_parse(&c, sizeof(c) - 4, 0, &m, why, sizeof(why)), -EPROTO);
	c.h.len = sizeof(c);
	assert_int_equal(swp_parse(&c, sizeof(c), 1, &m, why, sizeof(why)), -EBADF);
}

/* QUIESCE carries the time its vif's queues have, together: 1 ms to SWP_QUIESCE_MAX_MS. */
static void test_proto_checks_the_quiesce_timeout(void **state)
{
	struct swp_quiesce q = { .timeout_ms = SWP_QUIESCE_MAX_MS };
	struct swp_hdr h;
	struct swp_msg m;
	char why[256];

	(void)state;
	swp_hdr_init(&q.h, SWP_QUIESCE, sizeof(q));
	assert_int_equal(swp_parse(&q, sizeof(q), 0, &m, why, sizeof(why)), 0);
	assert_int_equal(m.u.quiesce.timeout_ms, SWP_QUIESCE_MAX_MS);
	q.timeout_ms = 0;
	assert_int_equal(swp_parse(&q, sizeof(q), 0, &m, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "QUIESCE timeout 0 ms"));
	q.timeout_ms = SWP_QUIESCE_MAX_MS + 1;
	assert_int_equal(swp_parse(&q, sizeof(q), 0, &m, why, sizeof(why)), -EPROTO);
	q.timeout_ms = 5;
	q.pad = 1;
	assert_int_equal(swp_parse(&q, sizeof(q), 0, &m, why, sizeof(why)), -EPROTO);
	/* the bare header the first version of QUIESCE was is too short now */
	swp_hdr_init(&h, SWP_QUIESCE, sizeof(h));
	assert_int_equal(swp_parse(&h, sizeof(h), 0, &m, why, sizeof(why)), -EPROTO);
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

/* A HELLO's descriptors, as a VMM sends them: guest memory (sealed memfd), the read-only map, eventfds. */
static void hello_fds(const struct swp_hello *h, int *fds)
{
	unsigned n = 0;

	fds[n] = memfd_create("unit", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fds[n] >= 0);
	assert_int_equal(ftruncate(fds[n], (off_t)h->mem_size), 0);
	assert_int_equal(fcntl(fds[n], F_ADD_SEALS, F_SEAL_SHRINK), 0);
	n++;
	fds[n] = memfd_create("unit-ro", MFD_CLOEXEC);
	assert_true(fds[n] >= 0);
	assert_int_equal(ftruncate(fds[n], (off_t)((h->mem_size / 4096 + 63) / 64 * 8)), 0);
	n++;
	while (n < SWP_HELLO_FDS(h->nr_queues)) {
		fds[n] = eventfd(0, EFD_CLOEXEC);
		assert_true(fds[n] >= 0);
		n++;
	}
}

/* One packet to the switch on conn (sv[0]), the reply read on sv[1]: its status, its text in text. */
static int ask(struct sw *sw, int sv[2], const void *pkt, size_t len, int *fds, unsigned nfds, char *text,
	       size_t size)
{
	static char buf[SWP_MSG_MAX];
	int stop = 0, r;
	ssize_t n;

	r = sw_handle(sw, sv[0], pkt, len, fds, nfds, &stop);
	n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n > 0);
	/* the kick eventfds of a HELLO's reply come with it: this test does not need them */
	r = swp_reply_text(buf, (size_t)n, text, size);
	return r;
}

static int hello(struct sw *sw, int sv[2], const uint8_t mac[6], unsigned domid, bool takeover, char *text,
		 size_t size)
{
	struct swp_hello h = good_hello();
	int fds[SWP_FDS_MAX];

	h.mem_size = 1 << 20;
	h.min_gpa = 1 << 16;
	h.nr_queues = 1;
	h.domid = domid;
	h.flags = takeover ? SWP_HELLO_TAKEOVER : 0;
	snprintf(h.domain, sizeof(h.domain), "d%u", domid);
	memcpy(h.mac, mac, 6);
	hello_fds(&h, fds);
	return ask(sw, sv, &h, sizeof(h), fds, SWP_HELLO_FDS(1), text, size);
}

static double list_num(struct sw *sw, const char *key)
{
	static char buf[SWP_TEXT_MAX];
	char want[64];
	const char *p;

	assert_true(sw_list_json(sw, buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "\"%s\":", key);
	p = strstr(buf, want);
	assert_non_null(p);
	return strtod(p + strlen(want), NULL);
}

/*
 * A migration's receiver attaches the vif with the MAC the sender's still
 * has (TAKEOVER; anyone else is refused, and a third is too), and its
 * RESUME makes the switch learn the MAC on it at once: unicast to the MAC
 * goes to the receiver's vif from then on, not to the sender's.
 */
static void test_a_takeover_hello_shares_a_mac_and_its_resume_takes_the_mac(void **state)
{
	int a[2], b[2], c[2];
	struct swp_hdr h;
	struct sw *sw;
	char text[512];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, b), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, c), 0);
	assert_int_equal(sw_create("unit", &sw), 0);
	if (hello(sw, a, A, 1, false, text, sizeof(text)) != 0)
		fail_msg("the first vif: %s", text);
	assert_int_equal(hello(sw, b, A, 2, false, text, sizeof(text)), -EADDRINUSE);
	assert_non_null(strstr(text, "is attached already (domain d1 vif 0)"));
	if (hello(sw, b, A, 2, true, text, sizeof(text)) != 0)
		fail_msg("the takeover: %s", text);
	assert_int_equal(hello(sw, c, A, 3, true, text, sizeof(text)), -EADDRINUSE);
	assert_non_null(strstr(text, ", twice"));
	assert_int_equal(sw_nr_vifs(sw), 2);
	/* A's vif resumes (the sender, say, after a failed migration): the MAC is on A's slot */
	swp_hdr_init(&h, SWP_RESUME, sizeof(h));
	assert_int_equal(ask(sw, a, &h, sizeof(h), NULL, 0, text, sizeof(text)), 0);
	assert_int_equal(list_num(sw, "l2_entries"), 1);
	assert_int_equal(list_num(sw, "l2_moves"), 0);
	/* the receiver resumes: the MAC moves to its vif, before it sent a frame */
	assert_int_equal(ask(sw, b, &h, sizeof(h), NULL, 0, text, sizeof(text)), 0);
	assert_int_equal(list_num(sw, "l2_entries"), 1);
	assert_int_equal(list_num(sw, "l2_moves"), 1);
	/* the sender's VMM ends: its vif goes, the MAC stays learned on the receiver's */
	sw_conn_closed(sw, a[0]);
	assert_int_equal(sw_nr_vifs(sw), 1);
	assert_int_equal(list_num(sw, "l2_entries"), 1);
	/* with no queue connected a QUIESCE has nothing to quiesce: no queues, and the MAC may go on */
	struct swp_quiesce qm = { .timeout_ms = 1000 };

	swp_hdr_init(&qm.h, SWP_QUIESCE, sizeof(qm));
	assert_int_equal(ask(sw, b, &qm, sizeof(qm), NULL, 0, text, sizeof(text)), 0);
	assert_string_equal(text, "{\"queues\":[]}");
	sw_destroy(sw);
	for (unsigned i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
		close(c[i]);
	}
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
		cmocka_unit_test(test_proto_checks_the_quiesce_timeout),
		cmocka_unit_test(test_proto_refuses_packets_that_are_not_the_protocol),
		cmocka_unit_test(test_proto_checks_connect_ranges),
		cmocka_unit_test(test_proto_checks_restore_ranges),
		cmocka_unit_test(test_a_takeover_hello_shares_a_mac_and_its_resume_takes_the_mac),
		cmocka_unit_test(test_switch_refuses_a_hello_with_wrong_descriptors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
