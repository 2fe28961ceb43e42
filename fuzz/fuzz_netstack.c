// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the guest stack's receive path (net/stack.c) and the sink
 * behind it (net/apps.c), on frames a backend (or anyone on the wire)
 * hands the guest.  Input: records of a little-endian u16 length (up to
 * 4096: a broken backend can name a whole page) and that many bytes, each
 * given to net_input of one stack (MAC 02:00:00:00:00:0b, 10.0.0.2/24,
 * gateway 10.0.0.254) whose UDP port 5001 is a sink; the ARP cache and
 * the sink carry over from frame to frame.  Checks, besides no crash:
 *   - every frame lands in exactly one outcome counter (the sum equals
 *     rx_frames after each frame);
 *   - at most one frame is sent per frame received, only for an ARP
 *     request or an ICMP echo request to us, and what is sent is a frame
 *     a wire takes: 60..1514 bytes, our source MAC, and a reply whose
 *     headers are well formed (ARP: op 2 from our MAC and IP, to the asker;
 *     IPv4: checksum right, from our address, total length within the
 *     frame; ICMP: an echo reply with a right checksum);
 *   - the ARP cache holds no multicast MAC and no address 0;
 *   - the sink counts only datagrams the stack delivered, finds no more
 *     duplicates than datagrams, and never more lost than sequence numbers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "apps.h"
#include "fuzz.h"
#include "stack.h"

#define MAX_FRAME 4096u

static const uint8_t MAC[6] = { 0x02, 0, 0, 0, 0, 0x0b };
#define IP 0x0a000002u

struct out {
	unsigned n;
	uint8_t f[NET_FRAME_MAX];
	size_t len;
	uint64_t t;
};

static int o_send(void *dev, const uint8_t *frame, size_t len)
{
	struct out *o = dev;

	FUZZ_CHECK(len >= NET_FRAME_MIN && len <= NET_FRAME_MAX, "sent a frame of %zu bytes", len);
	o->n++;
	memcpy(o->f, frame, len);
	o->len = len;
	return 0;
}

static unsigned o_poll(void *dev, struct net_stack *s, unsigned max)
{
	(void)dev;
	(void)s;
	(void)max;
	return 0;
}

static uint64_t o_now(void *dev)
{
	return ((struct out *)dev)->t += 1000;
}

static const struct net_dev_ops ops = { .send = o_send, .poll = o_poll, .now_ns = o_now };

static void check_reply(const struct net_stack *s, const uint8_t *in, size_t in_len, const struct out *o)
{
	const uint8_t *f = o->f;

	FUZZ_CHECK(!memcmp(f + 6, MAC, 6), "sent with another source MAC");
	FUZZ_CHECK(in_len >= NET_ETH_HLEN, "answered a runt");
	if (net_get16(f + 12) == NET_ETHERTYPE_ARP) {
		const uint8_t *a = f + NET_ETH_HLEN;

		FUZZ_CHECK(net_get16(in + 12) == NET_ETHERTYPE_ARP, "an ARP frame answered something else");
		FUZZ_CHECK(net_get16(a + 6) == 2, "sent ARP op %u", net_get16(a + 6));
		FUZZ_CHECK(!memcmp(a + 8, MAC, 6) && net_get32(a + 14) == IP, "an ARP reply not naming us");
		FUZZ_CHECK(net_get32(in + NET_ETH_HLEN + 24) == IP, "answered an ARP request for another address");
		FUZZ_CHECK(!memcmp(f, in + 6, 6) || !memcmp(f, in + NET_ETH_HLEN + 8, 6), "ARP reply to a stranger");
		return;
	}
	FUZZ_CHECK(net_get16(f + 12) == NET_ETHERTYPE_IPV4, "sent EtherType %#x", net_get16(f + 12));
	{
		const uint8_t *ip = f + NET_ETH_HLEN, *icmp = ip + NET_IP_HLEN;
		size_t total = net_get16(ip + 2);

		FUZZ_CHECK(ip[0] == 0x45 && net_csum(ip, NET_IP_HLEN, 0) == 0, "a bad IPv4 header sent");
		FUZZ_CHECK(net_get32(ip + 12) == IP, "sent from another address");
		FUZZ_CHECK(total >= NET_IP_HLEN + 8 && NET_ETH_HLEN + total <= o->len, "IPv4 total %zu in %zu bytes",
			   total, o->len);
		FUZZ_CHECK(ip[9] == 1 && icmp[0] == 0, "sent IP proto %u type %u unasked", ip[9], icmp[0]);
		FUZZ_CHECK(net_csum(icmp, total - NET_IP_HLEN, 0) == 0, "an echo reply with a bad checksum");
		FUZZ_CHECK(net_get32(in + NET_ETH_HLEN + 16) == IP, "answered a ping to another address");
	}
	(void)s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static uint8_t frame[MAX_FRAME];
	struct net_stack s;
	struct net_sink k;
	struct out o;

	memset(&o, 0, sizeof(o));
	net_stack_init(&s, &ops, &o, MAC, IP, 24, 0x0a0000feu);
	net_sink_init(&k, &s, 5001);
	while (in.left >= 2) {
		size_t len = fuzz_u16(&in) % (MAX_FRAME + 1);
		uint64_t udp0 = s.st.rx_udp;
		unsigned sent0 = o.n;

		len = fuzz_bytes(&in, frame, len);
		net_input(&s, frame, len);
		FUZZ_CHECK(net_stack_rx_outcomes(&s.st) == s.st.rx_frames, "%llu outcomes for %llu frames",
			   (unsigned long long)net_stack_rx_outcomes(&s.st), (unsigned long long)s.st.rx_frames);
		FUZZ_CHECK(o.n - sent0 <= 1, "%u frames sent for one", o.n - sent0);
		if (o.n != sent0)
			check_reply(&s, frame, len, &o);
		FUZZ_CHECK(k.packets + k.bad == s.st.rx_udp, "sink counted %llu of %llu delivered",
			   (unsigned long long)(k.packets + k.bad), (unsigned long long)s.st.rx_udp);
		FUZZ_CHECK(s.st.rx_udp - udp0 <= 1, "one frame delivered twice");
		FUZZ_CHECK(k.duplicates <= k.packets && k.lost <= k.next_seq, "sink: %llu dup of %llu, %llu lost of %llu",
			   (unsigned long long)k.duplicates, (unsigned long long)k.packets, (unsigned long long)k.lost,
			   (unsigned long long)k.next_seq);
		for (unsigned i = 0; i < NET_ARP_CACHE; i++)
			FUZZ_CHECK(!s.arp[i].valid || (s.arp[i].ip != 0 && !(s.arp[i].mac[0] & 1)),
				   "ARP cache entry %u: ip %#x mac %02x...", i, s.arp[i].ip, s.arp[i].mac[0]);
	}
	return 0;
}
