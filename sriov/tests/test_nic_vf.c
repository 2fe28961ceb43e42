// SPDX-License-Identifier: MIT
/*
 * unit tier: sriov/nic_vf.c.  The RTM_SETLINK and RTM_GETLINK requests byte
 * by byte (one case against bytes worked out by hand from the UAPI struct
 * layouts, every combination of fields by walking the nesting); the ack and
 * RTM_NEWLINK parsers on replies written here, on replies whose lengths lie
 * and on replies cut short, each placed so that it ends at a page the
 * process cannot read (a read past the reply is a crash, not a silent
 * pass); the CLI's MAC, VLAN and KEY=VALUE words.  Then, as root, the real
 * kernel: a link that has no VFs (dummy, or veth where the kernel has no
 * dummy driver) in a network namespace of its own, whose VF settings the
 * kernel refuses with EOPNOTSUPP: only after parsing the request through to
 * the driver, which the control case (a MAC attribute 4 bytes short,
 * refused earlier with another errno) shows.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <cmocka.h>

#include "nic_vf.h"

/* ---- writing netlink messages (replies for the parsers, requests for the kernel) ---- */

struct w {
	uint8_t b[4096];
	size_t len;
};

static size_t w_put(struct w *w, const void *data, size_t n)
{
	size_t off = w->len, padded = (n + 3) & ~(size_t)3;

	assert_true(off + padded <= sizeof(w->b));
	memset(w->b + off, 0, padded);
	if (data)
		memcpy(w->b + off, data, n);
	w->len += padded;
	return off;
}

static size_t w_attr(struct w *w, uint16_t type, const void *data, size_t n)
{
	struct nlattr a = { .nla_len = (uint16_t)(4 + n), .nla_type = type };
	size_t off = w_put(w, &a, sizeof(a));

	w_put(w, data, n);
	return off;
}

static void w_u32(struct w *w, uint16_t type, uint32_t v)
{
	w_attr(w, type, &v, sizeof(v));
}

static size_t w_nest(struct w *w, uint16_t type)
{
	return w_attr(w, type, NULL, 0);
}

static void w_nest_end(struct w *w, size_t off)
{
	uint16_t n = (uint16_t)(w->len - off);

	memcpy(w->b + off, &n, 2);
}

static size_t w_msg(struct w *w, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq };

	return w_put(w, &h, sizeof(h));
}

static void w_msg_end(struct w *w, size_t off)
{
	uint32_t n = (uint32_t)(w->len - off);

	memcpy(w->b + off, &n, 4);
}

/* An NLMSG_ERROR: error, capped (the request's header only), an extended-ack message when text is not NULL. */
static void w_ack(struct w *w, uint32_t seq, int error, const char *text)
{
	size_t m = w_msg(w, NLMSG_ERROR, NLM_F_CAPPED | (text ? NLM_F_ACK_TLVS : 0), seq);
	struct nlmsgerr e = { .error = error, .msg = { .nlmsg_len = 40, .nlmsg_type = RTM_SETLINK, .nlmsg_seq = seq } };

	w_put(w, &e, sizeof(e));
	if (text)
		w_attr(w, NLMSGERR_ATTR_MSG, text, strlen(text) + 1);
	w_msg_end(w, m);
}

/* ---- a reply that ends where readable memory ends ---- */

static uint8_t *guard_area;
static long page;

/* n bytes of p copied so that the byte after them is the first of a PROT_NONE page. */
static const uint8_t *at_edge(const void *p, size_t n)
{
	if (!guard_area) {
		page = sysconf(_SC_PAGESIZE);
		guard_area = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(guard_area != MAP_FAILED);
		assert_int_equal(mprotect(guard_area + 2 * page, (size_t)page, PROT_NONE), 0);
	}
	assert_true(n <= 2 * (size_t)page);
	memcpy(guard_area + 2 * page - n, p, n);
	return guard_area + 2 * page - n;
}

/* ---- walking a built request ---- */

static uint16_t u16_at(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * Exact bytes, worked out by hand from linux/netlink.h, linux/rtnetlink.h
 * and linux/if_link.h (little-endian; netlink is host order): all four
 * fields for VF 3 of link 7, sequence 0x01020304.
 *   nlmsghdr 16: len 120, RTM_SETLINK 19, NLM_F_REQUEST|NLM_F_ACK 5, seq, pid 0
 *   ifinfomsg 16: family 0, pad, type 0, index 7, flags 0, change 0
 *   nlattr IFLA_VFINFO_LIST (22), len 4 + 84 = 88
 *     nlattr IFLA_VF_INFO (1), len 4 + 40 + 16 + 12 + 12 = 84
 *       IFLA_VF_MAC (1), len 4 + 36 = 40: struct ifla_vf_mac { u32 vf; u8 mac[32]; }
 *       IFLA_VF_VLAN (2), len 4 + 12 = 16: struct ifla_vf_vlan { u32 vf, vlan, qos; }
 *       IFLA_VF_SPOOFCHK (4), len 4 + 8 = 12: struct ifla_vf_spoofchk { u32 vf, setting; }
 *       IFLA_VF_TRUST (9), len 4 + 8 = 12: struct ifla_vf_trust { u32 vf, setting; }
 */
static void test_set_request_matches_the_uapi_layout_byte_for_byte(void **state)
{
	static const uint8_t want[120] = {
		120, 0, 0, 0, 19, 0, 5, 0, 0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0,
		0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		88, 0, 22, 0,
		84, 0, 1, 0,
		40, 0, 1, 0, 3, 0, 0, 0, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		16, 0, 2, 0, 3, 0, 0, 0, 0xe8, 0x03, 0, 0, 5, 0, 0, 0,
		12, 0, 4, 0, 3, 0, 0, 0, 0, 0, 0, 0,
		12, 0, 9, 0, 3, 0, 0, 0, 1, 0, 0, 0,
	};
	const struct nic_vf_settings s = {
		.set_mac = true, .set_vlan = true, .set_spoofchk = true, .set_trust = true,
		.mac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 }, .vlan = 1000, .qos = 5, .spoofchk = false, .trust = true,
	};
	uint8_t buf[256];

	(void)state;
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) {
		printf("# skip: the bytes are written out for a little-endian host\n");
		skip();
	}
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(nic_vf_build_set(buf, sizeof(buf), 7, 3, &s, 0x01020304), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(buf[sizeof(want)], 0xaa); /* nothing written past it */
}

/* The attribute at p (an IFLA_VF_* struct): its length, type, VF number, all within the nest. */
static const uint8_t *expect_attr(const uint8_t *p, const uint8_t *end, uint16_t type, uint16_t len, uint32_t vf)
{
	assert_true(p + 4 <= end);
	assert_int_equal(((uintptr_t)p) & 3, 0);
	assert_int_equal(u16_at(p), len);
	assert_int_equal(u16_at(p + 2), type);
	assert_true(p + len <= end);
	assert_int_equal(u32_at(p + 4), vf);
	return p + ((len + 3u) & ~3u);
}

static void test_set_request_nests_each_field_with_its_length(void **state)
{
	uint8_t buf[256] __attribute__((aligned(4)));

	(void)state;
	for (unsigned mask = 1; mask < 16; mask++) {
		const struct nic_vf_settings s = {
			.set_mac = mask & 1, .set_vlan = mask & 2, .set_spoofchk = mask & 4, .set_trust = mask & 8,
			.mac = { 0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc }, .vlan = 4094, .qos = 7, .spoofchk = true, .trust = false,
		};
		uint32_t vf = 65534 + mask;
		size_t inner = (mask & 1 ? 40 : 0) + (mask & 2 ? 16 : 0) + (mask & 4 ? 12 : 0) + (mask & 8 ? 12 : 0);
		int len = nic_vf_build_set(buf, sizeof(buf), 42, vf, &s, mask);
		const uint8_t *p, *end;

		assert_int_equal(len, 16 + 16 + 4 + 4 + inner);
		assert_int_equal(u32_at(buf), len);
		assert_int_equal(u16_at(buf + 4), RTM_SETLINK);
		assert_int_equal(u16_at(buf + 6), NLM_F_REQUEST | NLM_F_ACK);
		assert_int_equal(u32_at(buf + 8), mask);
		assert_int_equal(u32_at(buf + 20), 42);                   /* ifi_index */
		assert_int_equal(u16_at(buf + 32), len - 32);              /* IFLA_VFINFO_LIST: the rest of the message */
		assert_int_equal(u16_at(buf + 34) & NLA_TYPE_MASK, IFLA_VFINFO_LIST);
		assert_int_equal(u16_at(buf + 36), len - 36);              /* IFLA_VF_INFO: the whole list */
		assert_int_equal(u16_at(buf + 38) & NLA_TYPE_MASK, IFLA_VF_INFO);
		p = buf + 40;
		end = buf + len;
		if (mask & 1) {
			const uint8_t *a = p;

			p = expect_attr(p, end, IFLA_VF_MAC, 40, vf);
			assert_memory_equal(a + 8, s.mac, 6);
			for (int i = 14; i < 40; i++)
				assert_int_equal(a[i], 0);
		}
		if (mask & 2) {
			const uint8_t *a = p;

			p = expect_attr(p, end, IFLA_VF_VLAN, 16, vf);
			assert_int_equal(u32_at(a + 8), 4094);
			assert_int_equal(u32_at(a + 12), 7);
		}
		if (mask & 4) {
			const uint8_t *a = p;

			p = expect_attr(p, end, IFLA_VF_SPOOFCHK, 12, vf);
			assert_int_equal(u32_at(a + 8), 1);
		}
		if (mask & 8) {
			const uint8_t *a = p;

			p = expect_attr(p, end, IFLA_VF_TRUST, 12, vf);
			assert_int_equal(u32_at(a + 8), 0);
		}
		assert_ptr_equal(p, end);
	}
}

static void test_set_request_that_does_not_fit_is_enospc(void **state)
{
	const struct nic_vf_settings s = { .set_mac = true, .set_trust = true, .trust = true };
	const struct nic_vf_settings none = { .mac = { 2 } };
	uint8_t buf[128];
	int need = nic_vf_build_set(buf, sizeof(buf), 1, 0, &s, 1);

	(void)state;
	assert_int_equal(need, 92);
	for (int size = 0; size < need; size++)
		assert_int_equal(nic_vf_build_set(buf, (size_t)size, 1, 0, &s, 1), -ENOSPC);
	assert_int_equal(nic_vf_build_set(buf, (size_t)need, 1, 0, &s, 1), need);
	assert_int_equal(nic_vf_build_set(buf, sizeof(buf), 1, 0, &none, 1), -EINVAL);
}

static void test_get_request_asks_for_the_vfs_without_stats(void **state)
{
	static const uint8_t want[40] = {
		40, 0, 0, 0, 18, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0,  /* RTM_GETLINK, NLM_F_REQUEST, seq 9 */
		0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* link 5 */
		8, 0, 29, 0, 9, 0, 0, 0,                           /* IFLA_EXT_MASK: RTEXT_FILTER_VF | SKIP_STATS */
	};
	uint8_t buf[64];

	(void)state;
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) {
		printf("# skip: the bytes are written out for a little-endian host\n");
		skip();
	}
	assert_int_equal(nic_vf_build_get(buf, sizeof(buf), 5, 9), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(nic_vf_build_get(buf, 39, 5, 9), -ENOSPC);
}

/* ---- acks ---- */

static void test_ack_of_zero_is_success(void **state)
{
	struct w w = { .len = 0 };
	char msg[64] = "stale";

	(void)state;
	w_ack(&w, 77, 0, NULL);
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 77, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 77, NULL, 0), 0);
}

static void test_ack_error_is_the_kernels_negative_errno(void **state)
{
	struct w w = { .len = 0 };
	char msg[64];

	(void)state;
	w_ack(&w, 1, -EOPNOTSUPP, NULL);
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 1, msg, sizeof(msg)), -EOPNOTSUPP);
	assert_string_equal(msg, "");
}

static void test_ack_extended_message_is_read(void **state)
{
	struct w w = { .len = 0 };
	char msg[64], small[8];
	struct nlmsgerr e = { .error = -EINVAL, .msg = { .nlmsg_len = 41, .nlmsg_type = RTM_SETLINK, .nlmsg_seq = 3 } };
	uint8_t echo[41 - 16];
	size_t m;

	(void)state;
	/* capped: the TLVs right after struct nlmsgerr */
	w_ack(&w, 2, -ERANGE, "Unknown device type");
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 2, msg, sizeof(msg)), -ERANGE);
	assert_string_equal(msg, "Unknown device type");
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 2, small, sizeof(small)), -ERANGE);
	assert_string_equal(small, "Unknown");
	/* not capped: after the echoed request (41 bytes, its payload padded to 4), as the kernel sends it by default */
	w.len = 0;
	m = w_msg(&w, NLMSG_ERROR, NLM_F_ACK_TLVS, 3);
	memset(echo, 0xee, sizeof(echo));
	w_put(&w, &e, sizeof(e));
	w_put(&w, echo, sizeof(echo));
	w_attr(&w, NLMSGERR_ATTR_OFFS, "\x20\0\0\0", 4);
	w_attr(&w, NLMSGERR_ATTR_MSG, "VF\x1b[2Jout of range", 19);
	w_msg_end(&w, m);
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 3, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "VF?[2Jout of range"); /* no escape reaches a terminal */
}

static void test_ack_for_another_sequence_is_skipped(void **state)
{
	struct w w = { .len = 0 };
	size_t m;
	char msg[64];

	(void)state;
	w_ack(&w, 5, -EINVAL, "not ours");
	m = w_msg(&w, RTM_NEWLINK, 0, 6); /* a message of ours that is not the ack */
	w_put(&w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	w_msg_end(&w, m);
	w_ack(&w, 6, -EBUSY, NULL);
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 6, msg, sizeof(msg)), -EBUSY);
	assert_string_equal(msg, "");
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 5, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "not ours");
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, w.len), w.len, 7, msg, sizeof(msg)), 1);
	assert_int_equal(nic_vf_parse_ack(at_edge(w.b, 0), 0, 7, msg, sizeof(msg)), 1);
}

static int ack_of(const struct w *w, uint32_t seq)
{
	char msg[64];

	return nic_vf_parse_ack(at_edge(w->b, w->len), w->len, seq, msg, sizeof(msg));
}

static void test_ack_with_lying_lengths_is_eproto(void **state)
{
	struct w w = { .len = 0 }, good = { .len = 0 };
	uint32_t v;
	uint16_t a;

	(void)state;
	w_ack(&good, 4, -EPERM, "Operation needs CAP_NET_ADMIN");
	/* cut anywhere: never a read past the end, never an answer from half a message */
	for (size_t n = 1; n < good.len; n++) {
		char msg[64];

		assert_int_equal(nic_vf_parse_ack(at_edge(good.b, n), n, 4, msg, sizeof(msg)), -EPROTO);
	}
	/* nlmsg_len below a header, past the buffer */
	for (uint32_t len = 0; len < 16; len++) {
		w = good;
		memcpy(w.b, &len, 4);
		assert_int_equal(ack_of(&w, 4), -EPROTO);
	}
	w = good;
	v = (uint32_t)w.len + 4;
	memcpy(w.b, &v, 4);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
	/* an error message too short for struct nlmsgerr */
	w.len = 0;
	w_msg(&w, NLMSG_ERROR, 0, 4);
	w_put(&w, "\0\0\0\0", 4);
	w_msg_end(&w, 0);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
	/* error codes no kernel sends */
	w.len = 0;
	w_ack(&w, 4, 5, NULL);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
	w.len = 0;
	w_ack(&w, 4, -4096, NULL);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
	/* the message attribute longer than what is left of the message, and shorter than its header */
	w = good;
	a = 200;
	memcpy(w.b + 36, &a, 2);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
	a = 3;
	memcpy(w.b + 36, &a, 2);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
	/* not capped, and the echoed request longer than the message */
	w = good;
	a = NLM_F_ACK_TLVS;
	memcpy(w.b + 6, &a, 2);
	v = 0xfffffff0u;
	memcpy(w.b + 20, &v, 4);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
	v = 8; /* shorter than a header: no request was ever that */
	memcpy(w.b + 20, &v, 4);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
	/* a malformed message before ours spoils the rest */
	w.len = 0;
	w_msg(&w, RTM_NEWLINK, 0, 9);
	v = 2;
	memcpy(w.b, &v, 4);
	w.len = 16;
	w_ack(&w, 4, 0, NULL);
	assert_int_equal(ack_of(&w, 4), -EPROTO);
}

/* ---- RTM_NEWLINK ---- */

static void w_vf(struct w *w, uint32_t vf, const uint8_t mac[6], uint32_t vlan, uint32_t qos, uint32_t spoofchk,
		 uint32_t trust)
{
	size_t info = w_nest(w, IFLA_VF_INFO), vl;
	struct ifla_vf_mac m = { .vf = vf };
	struct ifla_vf_broadcast b;
	struct ifla_vf_vlan v = { .vf = vf, .vlan = vlan, .qos = qos };
	struct ifla_vf_tx_rate tx = { .vf = vf, .rate = 100 };
	struct ifla_vf_spoofchk sc = { .vf = vf, .setting = spoofchk };
	struct ifla_vf_link_state ls = { .vf = vf, .link_state = IFLA_VF_LINK_STATE_AUTO };
	struct ifla_vf_trust t = { .vf = vf, .setting = trust };
	struct ifla_vf_vlan_info vi = { .vf = vf, .vlan = vlan, .qos = qos, .vlan_proto = 0x0081 };

	memcpy(m.mac, mac, 6);
	memset(b.broadcast, 0xff, sizeof(b.broadcast));
	/* in the kernel's order (rtnl_fill_vfinfo), with the attributes nic_vf skips among them */
	w_attr(w, IFLA_VF_MAC, &m, sizeof(m));
	w_attr(w, IFLA_VF_BROADCAST, &b, sizeof(b));
	w_attr(w, IFLA_VF_VLAN, &v, sizeof(v));
	w_attr(w, IFLA_VF_TX_RATE, &tx, sizeof(tx));
	w_attr(w, IFLA_VF_SPOOFCHK, &sc, sizeof(sc));
	w_attr(w, IFLA_VF_LINK_STATE, &ls, sizeof(ls));
	w_attr(w, IFLA_VF_TRUST, &t, sizeof(t));
	vl = w_nest(w, IFLA_VF_VLAN_LIST);
	w_attr(w, IFLA_VF_VLAN_INFO, &vi, sizeof(vi));
	w_nest_end(w, vl);
	w_nest_end(w, info);
}

static const uint8_t MAC0[6] = { 0x02, 0, 0, 0, 0, 0x10 }, MAC1[6] = { 0 };

/* The RTM_NEWLINK of link index with seq: a PF with two VFs when vfs, else a veth link. */
static void w_link(struct w *w, uint32_t seq, int index, bool vfs)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_type = 1 };
	size_t m = w_msg(w, RTM_NEWLINK, 0, seq), list, li;

	w_put(w, &ifi, sizeof(ifi));
	w_attr(w, IFLA_IFNAME, vfs ? "enp3s0f0" : "veth7", vfs ? 9 : 6);
	w_u32(w, IFLA_MTU, 1500);
	if (vfs) {
		w_u32(w, IFLA_NUM_VF, 2);
		list = w_nest(w, IFLA_VFINFO_LIST);
		w_vf(w, 0, MAC0, 100, 3, 1, 0);
		w_vf(w, 1, MAC1, 0, 0, 0xffffffffu, 1); /* spoofchk not reported by the driver */
		w_nest_end(w, list);
	} else {
		li = w_nest(w, IFLA_LINKINFO);
		w_attr(w, IFLA_INFO_KIND, "veth", 5);
		w_nest_end(w, li);
	}
	w_u32(w, 0x7ff0, 1); /* an attribute from a future kernel */
	w_msg_end(w, m);
}

static void test_link_with_two_vfs_is_read(void **state)
{
	struct w w = { .len = 0 };
	struct nic_vf_state vf[4];
	struct nic_vf_link l;
	char msg[32];

	(void)state;
	w_link(&w, 11, 9, false); /* another link (without VFs) in the same reply */
	w_link(&w, 10, 8, false); /* our link, but another sequence (an older answer) */
	w_link(&w, 11, 8, true);
	memset(vf, 0x5a, sizeof(vf));
	assert_int_equal(nic_vf_parse_link(at_edge(w.b, w.len), w.len, 11, 8, &l, vf, 4, msg, sizeof(msg)), 0);
	assert_int_equal(l.ifindex, 8);
	assert_int_equal(l.num_vf, 2);
	assert_true(l.vfinfo);
	assert_string_equal(l.kind, "");
	assert_int_equal(l.nvf, 2);
	assert_int_equal(l.stored, 2);
	assert_int_equal(vf[0].vf, 0);
	assert_true(vf[0].has_mac && vf[0].has_vlan);
	assert_memory_equal(vf[0].mac, MAC0, 6);
	assert_int_equal(vf[0].vlan, 100);
	assert_int_equal(vf[0].qos, 3);
	assert_int_equal(vf[0].spoofchk, 1);
	assert_int_equal(vf[0].trust, 0);
	assert_int_equal(vf[1].vf, 1);
	assert_memory_equal(vf[1].mac, MAC1, 6);
	assert_int_equal(vf[1].vlan, 0);
	assert_int_equal(vf[1].spoofchk, -1);
	assert_int_equal(vf[1].trust, 1);
	assert_int_equal(vf[2].vf, 0x5a5a5a5a); /* nothing written past the VFs */
	/* room for one: both counted, one stored */
	assert_int_equal(nic_vf_parse_link(at_edge(w.b, w.len), w.len, 11, 8, &l, vf, 1, msg, sizeof(msg)), 0);
	assert_int_equal(l.nvf, 2);
	assert_int_equal(l.stored, 1);
	assert_int_equal(nic_vf_parse_link(at_edge(w.b, w.len), w.len, 11, 8, &l, NULL, 0, msg, sizeof(msg)), 0);
	assert_int_equal(l.stored, 0);
	/* neither the link nor an error for the sequence: read on */
	assert_int_equal(nic_vf_parse_link(at_edge(w.b, w.len), w.len, 12, 8, &l, vf, 4, msg, sizeof(msg)), 1);
}

static void test_link_without_vfs_says_so(void **state)
{
	struct w w = { .len = 0 };
	struct nic_vf_link l;

	(void)state;
	w_link(&w, 3, 4, false);
	assert_int_equal(nic_vf_parse_link(at_edge(w.b, w.len), w.len, 3, 4, &l, NULL, 0, NULL, 0), 0);
	assert_int_equal(l.num_vf, -1);
	assert_false(l.vfinfo);
	assert_int_equal(l.nvf, 0);
	assert_string_equal(l.kind, "veth");
	/* a second IFLA_LINKINFO, shorter than the first: read from its own start */
	w.len = 0;
	size_t m = w_msg(&w, RTM_NEWLINK, 0, 3), li;
	struct ifinfomsg ifi = { .ifi_index = 4 };

	w_put(&w, &ifi, sizeof(ifi));
	li = w_nest(&w, IFLA_LINKINFO);
	w_attr(&w, IFLA_INFO_KIND, "macvlan", 8);
	w_u32(&w, IFLA_INFO_DATA, 0);
	w_nest_end(&w, li);
	li = w_nest(&w, IFLA_LINKINFO);
	w_attr(&w, IFLA_INFO_KIND, "ipvl", 4);
	w_nest_end(&w, li);
	w_msg_end(&w, m);
	assert_int_equal(nic_vf_parse_link(at_edge(w.b, w.len), w.len, 3, 4, &l, NULL, 0, NULL, 0), 0);
	assert_string_equal(l.kind, "ipvl");
}

static void test_link_error_is_the_kernels_errno(void **state)
{
	struct w w = { .len = 0 };
	struct nic_vf_link l;
	char msg[64];

	(void)state;
	w_ack(&w, 3, -ENODEV, "no such device");
	assert_int_equal(nic_vf_parse_link(at_edge(w.b, w.len), w.len, 3, 4, &l, NULL, 0, msg, sizeof(msg)), -ENODEV);
	assert_string_equal(msg, "no such device");
}

/* The offset in w of the first attribute of type (nla_type) at or after from; fails the test if none. */
static size_t find_attr(const struct w *w, size_t from, uint16_t type, uint16_t len)
{
	for (size_t off = from; off + 4 <= w->len; off += 4)
		if (u16_at(w->b + off + 2) == type && u16_at(w->b + off) == len)
			return off;
	fail_msg("no attribute %u of %u bytes", type, len);
	return 0;
}

static int link_of(const struct w *w)
{
	struct nic_vf_state vf[4];
	struct nic_vf_link l;

	return nic_vf_parse_link(at_edge(w->b, w->len), w->len, 1, 2, &l, vf, 4, NULL, 0);
}

static void test_link_with_lying_lengths_is_eproto(void **state)
{
	struct w good = { .len = 0 }, w;
	size_t list, info, mac, spoof;
	uint16_t a;
	uint32_t v;

	(void)state;
	w_link(&good, 1, 2, true);
	assert_int_equal(link_of(&good), 0);
	list = find_attr(&good, 32, IFLA_NUM_VF, 8) + 8;
	assert_int_equal(u16_at(good.b + list + 2), IFLA_VFINFO_LIST);
	info = list + 4;
	mac = info + 4;
	spoof = find_attr(&good, mac, IFLA_VF_SPOOFCHK, 12);
	/* cut anywhere */
	for (size_t n = 1; n < good.len; n++) {
		w = good;
		w.len = n;
		assert_int_equal(link_of(&w), -EPROTO);
	}
	/* the list longer than the message; a VF entry longer than the list */
	w = good;
	a = (uint16_t)(good.len - list + 4);
	memcpy(w.b + list, &a, 2);
	assert_int_equal(link_of(&w), -EPROTO);
	w = good;
	a = u16_at(good.b + list); /* the list's length: 4 more than there is room for */
	memcpy(w.b + info, &a, 2);
	assert_int_equal(link_of(&w), -EPROTO);
	/* IFLA_VF_MAC and IFLA_VF_SPOOFCHK shorter than their structs (the rest of the nest kept whole) */
	w = good;
	a = 36;
	memcpy(w.b + mac, &a, 2);
	memcpy(w.b + mac + 36, "\x04\0\0\0", 4); /* the freed 4 bytes: an empty attribute of type 0 */
	assert_int_equal(link_of(&w), -EPROTO);
	w = good;
	a = 8;
	memcpy(w.b + spoof, &a, 2);
	memcpy(w.b + spoof + 8, "\x04\0\0\0", 4);
	assert_int_equal(link_of(&w), -EPROTO);
	/* a VF entry whose attributes name two VFs */
	w = good;
	v = 1;
	memcpy(w.b + spoof + 4, &v, 4);
	assert_int_equal(link_of(&w), -EPROTO);
	/* an attribute header shorter than itself */
	w = good;
	a = 2;
	memcpy(w.b + mac, &a, 2);
	assert_int_equal(link_of(&w), -EPROTO);
	/* an RTM_NEWLINK too short for its ifinfomsg */
	w.len = 0;
	w_msg(&w, RTM_NEWLINK, 0, 1);
	w_put(&w, "\0\0\0\0\0\0\0", 8);
	w_msg_end(&w, 0);
	assert_int_equal(link_of(&w), -EPROTO);
}

/* ---- the CLI's words ---- */

static void test_mac_words(void **state)
{
	uint8_t mac[6] = { 9, 9, 9, 9, 9, 9 }, zero[6] = { 0 };
	const uint8_t want[6] = { 0x02, 0xab, 0xcd, 0xef, 0x01, 0x9f };
	static const char *const bad[] = {
		"", "02:ab:cd:ef:01", "02:ab:cd:ef:01:9f:00", "02-ab-cd-ef-01-9f", "02:ab:cd:ef:01:9g", "2:ab:cd:ef:01:9f0",
		"02:ab:cd:ef:01:9f ", " 02:ab:cd:ef:01:9f", "02:ab:cd:ef:01:-f", "02:ab:cd:ef:01::f", "0x2:ab:cd:ef:01:9",
	};
	static const char *const multicast[] = { "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "33:33:00:00:00:01",
						 "03:00:00:00:00:00" };
	struct errbuf eb;

	(void)state;
	assert_int_equal(nic_vf_parse_mac("02:AB:cd:Ef:01:9f", mac, &eb), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(nic_vf_parse_mac("00:00:00:00:00:00", mac, &eb), 0); /* the VF chooses */
	assert_memory_equal(mac, zero, 6);
	assert_int_equal(nic_vf_parse_mac("fe:ff:ff:ff:ff:ff", mac, &eb), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(mac, 9, 6);
		assert_int_equal(nic_vf_parse_mac(bad[i], mac, &eb), -EINVAL);
		assert_non_null(strstr(eb.msg, "not a MAC address"));
		assert_int_equal(mac[0], 9); /* untouched on a refusal */
	}
	for (size_t i = 0; i < sizeof(multicast) / sizeof(multicast[0]); i++) {
		assert_int_equal(nic_vf_parse_mac(multicast[i], mac, &eb), -EINVAL);
		assert_non_null(strstr(eb.msg, "multicast"));
	}
}

static void test_vlan_words(void **state)
{
	static const char *const bad[] = { "", "4095", "-1", "+5", "100:8", "100:", ":3", "1 00", "0x10", "100:3:4",
					   "99999999999", "100:-0", "4294967396", "100: 3" };
	struct errbuf eb;
	uint16_t vlan = 77;
	uint8_t qos = 77;

	(void)state;
	assert_int_equal(nic_vf_parse_vlan("0", &vlan, &qos, &eb), 0);
	assert_int_equal(vlan, 0);
	assert_int_equal(qos, 0);
	assert_int_equal(nic_vf_parse_vlan("4094", &vlan, &qos, &eb), 0);
	assert_int_equal(vlan, 4094);
	assert_int_equal(nic_vf_parse_vlan("100:7", &vlan, &qos, &eb), 0);
	assert_int_equal(vlan, 100);
	assert_int_equal(qos, 7);
	assert_int_equal(nic_vf_parse_vlan("0:3", &vlan, &qos, &eb), 0); /* priority tagging without a VLAN */
	assert_int_equal(qos, 3);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vlan = qos = 77;
		assert_int_equal(nic_vf_parse_vlan(bad[i], &vlan, &qos, &eb), -EINVAL);
		assert_int_equal(vlan, 77);
		assert_int_equal(qos, 77);
	}
	assert_int_equal(nic_vf_parse_vlan("4095", &vlan, &qos, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "0 (none) to 4094"));
	assert_int_equal(nic_vf_parse_vlan("10:8", &vlan, &qos, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "0 to 7"));
}

static void test_key_value_words(void **state)
{
	struct nic_vf_settings s = { 0 };
	struct errbuf eb;

	(void)state;
	assert_int_equal(nic_vf_parse_arg("vlan=12:1", &s, &eb), 0);
	assert_int_equal(nic_vf_parse_arg("trust=on", &s, &eb), 0);
	assert_int_equal(nic_vf_parse_arg("spoofchk=off", &s, &eb), 0);
	assert_false(s.set_mac);
	assert_true(s.set_vlan && s.set_trust && s.set_spoofchk);
	assert_int_equal(s.vlan, 12);
	assert_int_equal(s.qos, 1);
	assert_true(s.trust);
	assert_false(s.spoofchk);
	assert_int_equal(nic_vf_parse_arg("trust=off", &s, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "given twice"));
	assert_int_equal(nic_vf_parse_arg("mac=01:00:00:00:00:00", &s, &eb), -EINVAL);
	assert_false(s.set_mac);
	assert_int_equal(nic_vf_parse_arg("mac=02:00:00:00:00:01", &s, &eb), 0);
	assert_true(s.set_mac);
	assert_int_equal(s.mac[5], 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(nic_vf_parse_arg("spoofchk=yes", &s, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "on or off"));
	assert_false(s.set_spoofchk);
	assert_int_equal(nic_vf_parse_arg("mac", &s, &eb), -EINVAL);
	assert_int_equal(nic_vf_parse_arg("macs=02:00:00:00:00:01", &s, &eb), -EINVAL);
	assert_int_equal(nic_vf_parse_arg("ma=02:00:00:00:00:01", &s, &eb), -EINVAL);
	assert_int_equal(nic_vf_parse_arg("qos=3", &s, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "mac=M, vlan=V[:QOS]"));
	assert_int_equal(nic_vf_parse_arg("=on", &s, &eb), -EINVAL);
}

/* ---- the real kernel ---- */

/* One request to the kernel and its ack (nic_vf_parse_ack); 0 or -errno, the kernel's message in msg. */
static int rtnl_call(struct w *req, char *msg, size_t msgsize)
{
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	uint8_t buf[8192];
	uint32_t seq = u32_at(req->b + 8);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), one = 1, r = 1;
	ssize_t n;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(sendto(fd, req->b, req->len, 0, (struct sockaddr *)&k, sizeof(k)), (ssize_t)req->len);
	while (r == 1) {
		n = recv(fd, buf, sizeof(buf), 0);
		assert_true(n > 0);
		r = nic_vf_parse_ack(buf, (size_t)n, seq, msg, msgsize);
	}
	close(fd);
	return r;
}

static int link_add(const char *name, const char *kind, char *msg, size_t msgsize)
{
	struct w w = { .len = 0 };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	size_t m = w_msg(&w, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 100), li;

	w_put(&w, &ifi, sizeof(ifi));
	w_attr(&w, IFLA_IFNAME, name, strlen(name) + 1);
	li = w_nest(&w, IFLA_LINKINFO);
	w_attr(&w, IFLA_INFO_KIND, kind, strlen(kind));
	w_nest_end(&w, li);
	w_msg_end(&w, m);
	return rtnl_call(&w, msg, msgsize);
}

static int link_del(const char *name)
{
	struct w w = { .len = 0 };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex(name) };
	size_t m = w_msg(&w, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, 101);
	char msg[NIC_VF_MSG_LEN];

	w_put(&w, &ifi, sizeof(ifi));
	w_msg_end(&w, m);
	return rtnl_call(&w, msg, sizeof(msg));
}

static char made_link[IFNAMSIZ]; /* for the teardown when an assertion ends the test early */

static int delete_made_link(void **state)
{
	(void)state;
	if (made_link[0] && if_nametoindex(made_link))
		link_del(made_link);
	made_link[0] = '\0';
	return 0;
}

static void test_kernel_refuses_vf_settings_on_a_link_without_vfs(void **state)
{
	static const char *const kinds[] = { "dummy", "veth" };
	const struct nic_vf_settings each[] = {
		{ .set_mac = true, .mac = { 0x02, 0, 0, 0, 0, 1 } },
		{ .set_vlan = true, .vlan = 100, .qos = 2 },
		{ .set_spoofchk = true, .spoofchk = true },
		{ .set_trust = true },
	};
	char name[IFNAMSIZ], msg[NIC_VF_MSG_LEN], tried[2 * NIC_VF_MSG_LEN] = "";
	const char *kind = NULL;
	struct nic_vf_link l;
	struct errbuf eb;
	struct w req = { .len = 0 };
	bool own_netns;
	int r, len;

	(void)state;
	if (geteuid() != 0) {
		printf("# skip: creating a link needs root (CAP_NET_ADMIN)\n");
		fflush(stdout);
		skip();
	}
	/* A namespace of our own: nothing to collide with, and nothing left if the test dies. */
	own_netns = unshare(CLONE_NEWNET) == 0;
	snprintf(name, sizeof(name), "xnvf%d", (int)getpid() % 100000);
	for (size_t i = 0; i < 2 && !kind; i++) {
		r = link_add(name, kinds[i], msg, sizeof(msg));
		if (!r) {
			kind = kinds[i];
			snprintf(made_link, sizeof(made_link), "%s", name);
		}
		else
			snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s: %s%s%s", i ? "; " : "",
				 kinds[i], strerror(-r), msg[0] ? ", " : "", msg);
	}
	if (!kind) {
		printf("# skip: no link could be made (%s)\n", tried);
		fflush(stdout);
		skip();
	}
	if (tried[0])
		printf("# %s; using %s (network namespace: %s)\n", tried, kind, own_netns ? "own" : "the host's");

	/* Observed on 6.18: EOPNOTSUPP for each field, no extended-ack message. */
	for (size_t i = 0; i < sizeof(each) / sizeof(each[0]); i++) {
		r = nic_vf_set(name, 0, &each[i], &eb);
		printf("# %s: %s\n", name, eb.msg);
		assert_int_equal(r, -EOPNOTSUPP);
		assert_non_null(strstr(eb.msg, "has no SR-IOV VFs"));
		assert_non_null(strstr(eb.msg, kind));
		assert_non_null(strstr(eb.msg, "Operation not supported"));
	}
	/* Read back: a link with no parent device has no IFLA_NUM_VF and no VF list. */
	assert_int_equal(nic_vf_list(name, &l, NULL, 0, &eb), 0);
	assert_int_equal(l.ifindex, (int)if_nametoindex(name));
	assert_int_equal(l.num_vf, -1);
	assert_false(l.vfinfo);
	assert_string_equal(l.kind, kind);

	/* The control: the same request with IFLA_VF_MAC 4 bytes short is refused before any driver sees it. */
	len = nic_vf_build_set(req.b, sizeof(req.b), (int)if_nametoindex(name), 0, &each[0], 200);
	assert_int_equal(len, 80);
	req.len = (size_t)len - 4;
	memcpy(req.b, &(uint32_t){ 76 }, 4);
	memcpy(req.b + 32, &(uint16_t){ 44 }, 2);
	memcpy(req.b + 36, &(uint16_t){ 40 }, 2);
	memcpy(req.b + 40, &(uint16_t){ 36 }, 2);
	r = rtnl_call(&req, msg, sizeof(msg));
	printf("# a 32-byte IFLA_VF_MAC: %s%s%s\n", strerror(-r), msg[0] ? ": " : "", msg);
	assert_true(r < 0);
	assert_int_not_equal(r, -EOPNOTSUPP);

	assert_int_equal(link_del(name), 0);
	made_link[0] = '\0';
	assert_int_equal(if_nametoindex(name), 0);
	assert_int_equal(nic_vf_set(name, 0, &each[0], &eb), -ENODEV);
	assert_non_null(strstr(eb.msg, "no such network interface"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_request_matches_the_uapi_layout_byte_for_byte),
		cmocka_unit_test(test_set_request_nests_each_field_with_its_length),
		cmocka_unit_test(test_set_request_that_does_not_fit_is_enospc),
		cmocka_unit_test(test_get_request_asks_for_the_vfs_without_stats),
		cmocka_unit_test(test_ack_of_zero_is_success),
		cmocka_unit_test(test_ack_error_is_the_kernels_negative_errno),
		cmocka_unit_test(test_ack_extended_message_is_read),
		cmocka_unit_test(test_ack_for_another_sequence_is_skipped),
		cmocka_unit_test(test_ack_with_lying_lengths_is_eproto),
		cmocka_unit_test(test_link_with_two_vfs_is_read),
		cmocka_unit_test(test_link_without_vfs_says_so),
		cmocka_unit_test(test_link_error_is_the_kernels_errno),
		cmocka_unit_test(test_link_with_lying_lengths_is_eproto),
		cmocka_unit_test(test_mac_words),
		cmocka_unit_test(test_vlan_words),
		cmocka_unit_test(test_key_value_words),
		cmocka_unit_test_teardown(test_kernel_refuses_vf_settings_on_a_link_without_vfs, delete_made_link),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
