// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the rtnetlink reply parsers of sriov/nic_vf.c, the ack
 * (nic_vf_parse_ack) and the RTM_NEWLINK with a link's VFs
 * (nic_vf_parse_link), on replies of any shape, each in a buffer of
 * exactly its size (ASan sees a read past it).  Checks, besides no crash:
 *   - each returns 0, 1 (read on), -EPROTO or a kernel errno (-1..-4095);
 *   - the extended-ack message and the link's kind are NUL-terminated
 *     within their buffers and printable;
 *   - the link parser stores min(VFs listed, room) entries and writes
 *     nothing past the room it was given; spoofchk and trust are -1, 0 or 1;
 *   - the request nic_vf_build_set writes for fuzzed settings, read back
 *     as an RTM_NEWLINK, gives exactly those settings for that VF.
 *
 * Input (little-endian; fuzz.h reads zeroes past the end):
 *   u32 seq, u32 ifindex, u8 room (v % 8 VF entries), u8 message buffer size (v % 80),
 *   u8 which fields the round trip sets (bits 0-3), u32 VF, 6 bytes MAC, u16 VLAN, u8 QoS, u8 spoofchk/trust bits,
 *   then the reply: the rest of the input.
 * fuzz/make_seeds.py writes valid inputs in this layout.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "fuzz.h"
#include "nic_vf.h"

#define ROOM_MAX 8

static void check_rc(int r, const char *what)
{
	FUZZ_CHECK(r == 0 || r == 1 || (r < 0 && r >= -4095), "%s returned %d", what, r);
}

static void check_text(const char *s, size_t size, const char *what)
{
	size_t n = strnlen(s, size);

	FUZZ_CHECK(n < size, "%s is not NUL-terminated within its %zu bytes", what, size);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(isprint((unsigned char)s[i]), "%s has byte 0x%02x at %zu", what, (unsigned char)s[i], i);
}

/* nic_vf_build_set's request, as an RTM_NEWLINK, through nic_vf_parse_link: the same settings come back. */
static void round_trip(int ifindex, uint32_t vf, const struct nic_vf_settings *s)
{
	uint8_t req[256];
	struct nic_vf_state st[2];
	struct nic_vf_link l;
	int len = nic_vf_build_set(req, sizeof(req), ifindex, vf, s, 7), r;
	uint16_t type = RTM_NEWLINK;

	if (!s->set_mac && !s->set_vlan && !s->set_spoofchk && !s->set_trust) {
		FUZZ_CHECK(len == -EINVAL, "an empty request built: %d", len);
		return;
	}
	FUZZ_CHECK(len > 0 && (size_t)len <= sizeof(req), "nic_vf_build_set returned %d", len);
	memcpy(req + 4, &type, sizeof(type));
	r = nic_vf_parse_link(req, (size_t)len, 7, ifindex, &l, st, 2, NULL, 0);
	FUZZ_CHECK(r == 0, "our own request parsed as %d", r);
	FUZZ_CHECK(l.nvf == 1 && l.stored == 1 && l.vfinfo && l.num_vf == -1, "%zu VFs, %zu stored", l.nvf, l.stored);
	FUZZ_CHECK(st[0].vf == vf, "VF %u read back as %u", vf, st[0].vf);
	FUZZ_CHECK(st[0].has_mac == s->set_mac && (!s->set_mac || !memcmp(st[0].mac, s->mac, 6)), "mac");
	FUZZ_CHECK(st[0].has_vlan == s->set_vlan && (!s->set_vlan || (st[0].vlan == s->vlan && st[0].qos == s->qos)),
		   "vlan %u qos %u", st[0].vlan, st[0].qos);
	FUZZ_CHECK(st[0].spoofchk == (s->set_spoofchk ? s->spoofchk : -1), "spoofchk %d", st[0].spoofchk);
	FUZZ_CHECK(st[0].trust == (s->set_trust ? s->trust : -1), "trust %d", st[0].trust);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct nic_vf_state vf[ROOM_MAX + 1], untouched;
	struct nic_vf_settings s = { 0 };
	struct nic_vf_link l;
	uint32_t seq = fuzz_u32(&in), rvf;
	int ifindex = (int)fuzz_u32(&in), r;
	size_t room = fuzz_u8(&in) % ROOM_MAX, msgsize = fuzz_u8(&in) % 80;
	uint8_t fields = fuzz_u8(&in), bits, *reply;
	char *msg;

	rvf = fuzz_u32(&in);
	fuzz_bytes(&in, s.mac, sizeof(s.mac));
	s.vlan = fuzz_u16(&in);
	s.qos = fuzz_u8(&in);
	bits = fuzz_u8(&in);
	s.set_mac = fields & 1;
	s.set_vlan = fields & 2;
	s.set_spoofchk = fields & 4;
	s.set_trust = fields & 8;
	s.spoofchk = bits & 1;
	s.trust = bits & 2;
	round_trip(ifindex, rvf, &s);

	/* exactly sized copies: a read past either is ASan's */
	reply = malloc(in.left ? in.left : 1);
	msg = malloc(msgsize ? msgsize : 1);
	if (!reply || !msg)
		abort();
	if (in.left)
		memcpy(reply, in.p, in.left);

	r = nic_vf_parse_ack(reply, in.left, seq, msgsize ? msg : NULL, msgsize);
	check_rc(r, "nic_vf_parse_ack");
	if (msgsize)
		check_text(msg, msgsize, "the ack's message");

	memset(vf, 0xa5, sizeof(vf));
	r = nic_vf_parse_link(reply, in.left, seq, ifindex, &l, vf, room, msgsize ? msg : NULL, msgsize);
	check_rc(r, "nic_vf_parse_link");
	if (msgsize)
		check_text(msg, msgsize, "the link error's message");
	if (r == 0) {
		FUZZ_CHECK(l.ifindex == ifindex, "link %d, asked %d", l.ifindex, ifindex);
		FUZZ_CHECK(l.stored == (l.nvf < room ? l.nvf : room), "%zu stored of %zu, room %zu", l.stored, l.nvf,
			   room);
		FUZZ_CHECK(l.num_vf >= -1 && l.num_vf <= UINT32_MAX, "num_vf %lld", (long long)l.num_vf);
		FUZZ_CHECK(l.vfinfo || l.nvf == 0, "%zu VFs without a list", l.nvf);
		check_text(l.kind, sizeof(l.kind), "the link's kind");
		for (size_t i = 0; i < l.stored; i++)
			FUZZ_CHECK(vf[i].spoofchk >= -1 && vf[i].spoofchk <= 1 && vf[i].trust >= -1 && vf[i].trust <= 1,
				   "VF %zu: spoofchk %d, trust %d", i, vf[i].spoofchk, vf[i].trust);
	}
	/* past what was stored (on a refusal: past the room, below it a partial list may be left) nothing is written */
	memset(&untouched, 0xa5, sizeof(untouched));
	for (size_t i = r == 0 ? l.stored : room; i <= ROOM_MAX; i++)
		FUZZ_CHECK(!memcmp(&vf[i], &untouched, sizeof(vf[i])), "entry %zu written (room %zu, returned %d)", i,
			   room, r);
	free(msg);
	free(reply);
	return 0;
}
