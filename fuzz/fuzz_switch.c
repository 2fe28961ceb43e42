// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the domain switch's side of its protocol (io/switch.c,
 * io/switch_proto.c), which reads packets from VMMs it does not trust.
 * Each input is a series of packets on one connection (a socketpair whose
 * other end the harness reads replies from), each with a descriptor set
 * the harness builds: real eventfds, a sealed memfd of 1 MiB and a
 * read-only-frames file of the size that memory needs, or wrong ones
 * (/dev/null, an unsealed memfd, too few or too many).  Then the
 * connection closes.
 *
 * Invariants, from the protocol's rules (switch_proto.h), not its code:
 *  - swp_parse accepts a packet only if its header is right (magic,
 *    version, length = packet, known type, reserved 0) and, for a HELLO,
 *    1..8 queues with 2 + 2 x queues descriptors, memory a non-zero
 *    multiple of 4096 within SWP_MEM_MAX, min_gpa inside it, a unicast
 *    non-zero MAC, a terminated printable name; for a CONNECT 1..32
 *    page-aligned table frames and 1..8 queues, for a RESTORE the same
 *    and per queue no flag but TX_CUT and BROKEN; other requests carry no
 *    descriptors; a HELLO's flags are TAKEOVER at most;
 *  - every packet the switch handles gets exactly one reply, which the
 *    switch's own parser accepts as a REPLY;
 *  - at most one vif per connection; none after a DETACH or once it closed;
 *  - no descriptor leaks: after the connection closed the process has
 *    the descriptors it had before.
 *
 * Input: repeated { u8 kind; u16 len; u8 fdmode; len bytes of packet }.
 *   kind bit 0: overwrite the header with a valid one for type 1 + kind>>1 % (SWP_TYPE_NR - 1)
 *   (so the fuzzer reaches the field checks), bit 7: for a HELLO, force
 *   mem_size to 1 MiB and nr_queues to 1 + fdmode>>4 % 8.
 *   fdmode % 4: 0 no descriptors, 1 right ones for the hello's queues,
 *   2 right ones plus one, 3 /dev/null for each.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "switch.h"
#include "switch_proto.h"
#include "xenith/grant_table.h"

#define MEM (1u << 20)

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static int memfd_of(size_t size, bool seal)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		abort();
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		abort();
	return fd;
}

/* The descriptors for a packet; how many. */
static unsigned make_fds(int *fds, unsigned mode, unsigned nq)
{
	unsigned n = 0, want = SWP_HELLO_FDS(nq > 0 && nq <= XENITH_NET_MAX_QUEUES ? nq : 1);

	switch (mode % 4) {
	case 0:
		return 0;
	case 1:
	case 2:
		fds[n++] = memfd_of(MEM, !(mode & 8));
		fds[n++] = memfd_of((MEM / 4096 + 63) / 64 * 8, false);
		while (n < want)
			fds[n++] = eventfd(0, EFD_CLOEXEC);
		if (mode % 4 == 2)
			fds[n++] = eventfd(0, EFD_CLOEXEC);
		return n;
	default:
		while (n < want)
			fds[n++] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return n;
	}
}

static void check_accepted(const struct swp_msg *m, const uint8_t *pkt, size_t len, unsigned nfds)
{
	struct swp_hdr h;

	memcpy(&h, pkt, sizeof(h));
	FUZZ_CHECK(h.magic == SWP_MAGIC && h.version == SWP_VERSION && h.len == len && !h.reserved,
		   "accepted a packet with a bad header");
	FUZZ_CHECK(h.type == m->type, "type %u parsed as %u", h.type, m->type);
	if (m->type == SWP_HELLO) {
		const struct swp_hello *x = &m->u.hello;

		FUZZ_CHECK(len == sizeof(*x), "hello of %zu bytes", len);
		FUZZ_CHECK(x->nr_queues >= 1 && x->nr_queues <= 8 && nfds == 2 + 2 * x->nr_queues,
			   "hello: %u queues, %u fds", x->nr_queues, nfds);
		FUZZ_CHECK(x->mem_size && !(x->mem_size % 4096) && x->mem_size <= SWP_MEM_MAX &&
			   x->min_gpa < x->mem_size, "hello: memory %llu", (unsigned long long)x->mem_size);
		FUZZ_CHECK(!(x->mac[0] & 1) && (x->mac[0] | x->mac[1] | x->mac[2] | x->mac[3] | x->mac[4] | x->mac[5]),
			   "hello: bad MAC accepted");
		FUZZ_CHECK(memchr(x->domain, 0, sizeof(x->domain)) && x->domain[0], "hello: name");
		FUZZ_CHECK(!(x->flags & ~SWP_HELLO_TAKEOVER) && !x->pad, "hello: flags %#x", x->flags);
	} else if (m->type == SWP_CONNECT) {
		const struct swp_connect *c = &m->u.connect;

		FUZZ_CHECK(c->table_frames >= 1 && c->table_frames <= XENITH_GNTTAB_MAX_FRAMES && !(c->table_gpa % 4096) &&
			   c->nr_queues >= 1 && c->nr_queues <= 8, "connect out of range accepted");
	} else if (m->type == SWP_RESTORE) {
		const struct swp_restore *c = &m->u.restore;

		FUZZ_CHECK(len == sizeof(*c) && nfds == 0, "restore of %zu bytes, %u fds", len, nfds);
		FUZZ_CHECK(c->table_frames >= 1 && c->table_frames <= XENITH_GNTTAB_MAX_FRAMES && !(c->table_gpa % 4096) &&
			   c->nr_queues >= 1 && c->nr_queues <= 8, "restore out of range accepted");
		for (unsigned q = 0; q < c->nr_queues; q++)
			FUZZ_CHECK(!(c->q[q].flags & ~3u), "restore: queue %u flags %#x accepted", q, c->q[q].flags);
	} else if (m->type == SWP_QUIESCE) {
		const struct swp_quiesce *q = &m->u.quiesce;

		FUZZ_CHECK(len == sizeof(*q) && nfds == 0, "quiesce of %zu bytes, %u fds", len, nfds);
		FUZZ_CHECK(q->timeout_ms >= 1 && q->timeout_ms <= SWP_QUIESCE_MAX_MS && !q->pad,
			   "quiesce: timeout %u ms, pad %u accepted", q->timeout_ms, q->pad);
	} else if (m->type != SWP_REPLY) {
		FUZZ_CHECK(nfds == 0 && len == sizeof(struct swp_hdr), "request with %u fds / %zu bytes", nfds, len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[4096], reply[SWP_MSG_MAX];
	struct fuzz_in in = { data, size };
	unsigned before = open_fds();
	struct sw *sw;
	int sv[2], stop = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || sw_create("fuzz", &sw) < 0)
		abort();
	for (unsigned round = 0; round < 8 && in.left && !stop; round++) {
		uint8_t kind = fuzz_u8(&in);
		size_t len = fuzz_u16(&in) % (sizeof(pkt) + 1);
		uint8_t mode = fuzz_u8(&in);
		int fds[SWP_FDS_MAX + 1];
		unsigned nfds, nq = 1;
		struct swp_msg m;
		unsigned type;
		ssize_t n;
		int r;

		fuzz_bytes(&in, pkt, len);
		if (kind & 1) {
			enum swp_type t = (enum swp_type)(1 + (kind >> 1) % (SWP_TYPE_NR - 1));
			static const size_t sizes[SWP_TYPE_NR] = {
				[SWP_HELLO] = sizeof(struct swp_hello), [SWP_CONNECT] = sizeof(struct swp_connect),
				[SWP_DISCONNECT] = sizeof(struct swp_hdr), [SWP_STATS] = sizeof(struct swp_hdr),
				[SWP_LIST] = sizeof(struct swp_hdr), [SWP_STOP] = sizeof(struct swp_hdr),
				[SWP_DETACH] = sizeof(struct swp_hdr), [SWP_REPLY] = sizeof(struct swp_reply),
				[SWP_QUIESCE] = sizeof(struct swp_quiesce), [SWP_RESUME] = sizeof(struct swp_hdr),
				[SWP_RESTORE] = sizeof(struct swp_restore) };

			if (len < sizes[t])
				len = sizes[t];
			swp_hdr_init((struct swp_hdr *)pkt, t, (uint32_t)len);
			if (t == SWP_HELLO && (kind & 0x80)) {
				struct swp_hello *h = (struct swp_hello *)pkt;

				h->mem_size = MEM;
				h->nr_queues = 1 + (mode >> 4) % 8;
			}
		}
		if (len >= sizeof(struct swp_hello))
			memcpy(&nq, pkt + offsetof(struct swp_hello, nr_queues), sizeof(nq));
		nfds = make_fds(fds, mode, nq);
		r = swp_parse(pkt, len, nfds, &m, NULL, 0);
		type = r == 0 ? m.type : 0;
		if (r == 0)
			check_accepted(&m, pkt, len, nfds);
		else
			FUZZ_CHECK(r == -EPROTO || r == -EINVAL || r == -EBADF, "swp_parse: %d", r);
		if (nfds > SWP_FDS_MAX) { /* the serve loop never hands more over */
			for (unsigned i = SWP_FDS_MAX; i < nfds; i++)
				close(fds[i]);
			nfds = SWP_FDS_MAX;
		}
		r = sw_handle(sw, sv[0], pkt, len, fds, nfds, &stop);
		n = recv(sv[1], reply, sizeof(reply), MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		FUZZ_CHECK(n > 0, "no reply to a packet (handle %d)", r);
		FUZZ_CHECK(swp_parse(reply, (size_t)n, 0, &m, NULL, 0) == 0 && m.type == SWP_REPLY, "bad reply");
		FUZZ_CHECK(recv(sv[1], reply, sizeof(reply), MSG_DONTWAIT) < 0, "two replies to one packet");
		FUZZ_CHECK(sw_nr_vifs(sw) <= 1, "%u vifs on one connection", sw_nr_vifs(sw));
		if (type == SWP_DETACH)
			FUZZ_CHECK(sw_nr_vifs(sw) == 0, "a vif outlived its DETACH");
		if (r < 0)
			break;
	}
	sw_conn_closed(sw, sv[0]);
	FUZZ_CHECK(sw_nr_vifs(sw) == 0, "a vif outlived its connection");
	sw_destroy(sw);
	close(sv[0]);
	close(sv[1]);
	FUZZ_CHECK(open_fds() == before, "descriptors leaked: %u before, %u after", before, open_fds());
	return 0;
}
