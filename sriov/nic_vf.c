// SPDX-License-Identifier: MIT
/*
 * SR-IOV NIC VF settings through rtnetlink (nic_vf.h).  Netlink is in host
 * byte order; headers and attributes are 4-byte aligned.  Replies are read
 * with memcpy into local structs (a caller's buffer need not be aligned)
 * and every length is checked against what holds it before it is used.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "nic_vf.h"

/* The UAPI layouts the builders write and the parsers read (linux/if_link.h). */
_Static_assert(sizeof(struct nlmsghdr) == 16, "nlmsghdr");
_Static_assert(sizeof(struct ifinfomsg) == 16, "ifinfomsg");
_Static_assert(sizeof(struct nlattr) == 4, "nlattr");
_Static_assert(sizeof(struct nlmsgerr) == 20, "nlmsgerr");
_Static_assert(sizeof(struct ifla_vf_mac) == 36, "ifla_vf_mac: vf, 32 address bytes");
_Static_assert(sizeof(struct ifla_vf_vlan) == 12, "ifla_vf_vlan: vf, vlan, qos");
_Static_assert(sizeof(struct ifla_vf_spoofchk) == 8, "ifla_vf_spoofchk: vf, setting");
_Static_assert(sizeof(struct ifla_vf_trust) == 8, "ifla_vf_trust: vf, setting");

#define ALIGN4(n) (((n) + 3u) & ~(size_t)3u)
#define REPLY_TIMEOUT_S 5 /* the kernel answers at once; a driver talking to its firmware takes milliseconds */

/* ---- building requests ---- */

struct msgbuf {
	uint8_t *p;
	size_t size, len;
	bool full;
};

/* Appends n bytes of data (zeroes when data is NULL) and the padding to 4 bytes. */
static void put(struct msgbuf *b, const void *data, size_t n)
{
	size_t padded = ALIGN4(n);

	if (b->full || padded > b->size - b->len) {
		b->full = true;
		return;
	}
	if (data)
		memcpy(b->p + b->len, data, n);
	else
		memset(b->p + b->len, 0, n);
	memset(b->p + b->len + n, 0, padded - n);
	b->len += padded;
}

static void put_attr(struct msgbuf *b, uint16_t type, const void *data, size_t n)
{
	struct nlattr a = { .nla_len = (uint16_t)(sizeof(a) + n), .nla_type = type };

	put(b, &a, sizeof(a));
	put(b, data, n);
}

/* A nest's header, its length filled in by nest_end; returns its offset. */
static size_t nest_start(struct msgbuf *b, uint16_t type)
{
	size_t off = b->len;

	put_attr(b, type, NULL, 0);
	return off;
}

static void nest_end(struct msgbuf *b, size_t off)
{
	uint16_t n;

	if (b->full)
		return;
	if (b->len - off > UINT16_MAX) {
		b->full = true;
		return;
	}
	n = (uint16_t)(b->len - off);
	memcpy(b->p + off + offsetof(struct nlattr, nla_len), &n, sizeof(n));
}

static void put_header(struct msgbuf *b, uint16_t type, uint16_t flags, uint32_t seq, int ifindex)
{
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };

	put(b, &h, sizeof(h));
	put(b, &ifi, sizeof(ifi));
}

static int finish(struct msgbuf *b)
{
	uint32_t len = (uint32_t)b->len;

	if (b->full)
		return -ENOSPC;
	memcpy(b->p + offsetof(struct nlmsghdr, nlmsg_len), &len, sizeof(len));
	return (int)len;
}

int nic_vf_build_set(void *buf, size_t size, int ifindex, uint32_t vf, const struct nic_vf_settings *s,
		     uint32_t seq)
{
	struct msgbuf b = { .p = buf, .size = size > INT32_MAX ? INT32_MAX : size };
	size_t list, info;

	if (!s->set_mac && !s->set_vlan && !s->set_spoofchk && !s->set_trust)
		return -EINVAL;
	put_header(&b, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifindex);
	/* Nests without NLA_F_NESTED, as iproute2 sends them; the kernel accepts either. */
	list = nest_start(&b, IFLA_VFINFO_LIST);
	info = nest_start(&b, IFLA_VF_INFO);
	if (s->set_mac) {
		struct ifla_vf_mac m = { .vf = vf };

		memcpy(m.mac, s->mac, sizeof(s->mac)); /* the other 26 bytes stay zero */
		put_attr(&b, IFLA_VF_MAC, &m, sizeof(m));
	}
	if (s->set_vlan) {
		struct ifla_vf_vlan v = { .vf = vf, .vlan = s->vlan, .qos = s->qos };

		put_attr(&b, IFLA_VF_VLAN, &v, sizeof(v));
	}
	if (s->set_spoofchk) {
		struct ifla_vf_spoofchk c = { .vf = vf, .setting = s->spoofchk };

		put_attr(&b, IFLA_VF_SPOOFCHK, &c, sizeof(c));
	}
	if (s->set_trust) {
		struct ifla_vf_trust t = { .vf = vf, .setting = s->trust };

		put_attr(&b, IFLA_VF_TRUST, &t, sizeof(t));
	}
	nest_end(&b, info);
	nest_end(&b, list);
	return finish(&b);
}

int nic_vf_build_get(void *buf, size_t size, int ifindex, uint32_t seq)
{
	struct msgbuf b = { .p = buf, .size = size > INT32_MAX ? INT32_MAX : size };
	/* Without the VFs' statistics: 64 VFs' worth would not fit in the 16-bit length of IFLA_VFINFO_LIST. */
	uint32_t mask = RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS;

	put_header(&b, RTM_GETLINK, NLM_F_REQUEST, seq, ifindex);
	put_attr(&b, IFLA_EXT_MASK, &mask, sizeof(mask));
	return finish(&b);
}

/* ---- parsing replies ---- */

/*
 * The next message of buf at *off: 1 and its header and extent (*mlen
 * bytes at *m), 0 at the end, -EPROTO when a header does not fit.  The
 * last message may lack its padding.
 */
static int next_msg(const uint8_t *buf, size_t len, size_t *off, struct nlmsghdr *h, const uint8_t **m,
		    size_t *mlen)
{
	size_t left = len - *off;

	if (!left)
		return 0;
	if (left < sizeof(*h))
		return -EPROTO;
	memcpy(h, buf + *off, sizeof(*h));
	if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > left)
		return -EPROTO;
	*m = buf + *off;
	*mlen = h->nlmsg_len;
	*off += ALIGN4(h->nlmsg_len) < left ? ALIGN4(h->nlmsg_len) : left;
	return 1;
}

/* Attributes: the same for a run of attributes at p (len bytes); *type without the flag bits. */
static int next_attr(const uint8_t *p, size_t len, size_t *off, uint16_t *type, const uint8_t **data,
		     size_t *dlen)
{
	struct nlattr a;
	size_t left = len - *off;

	if (!left)
		return 0;
	if (left < sizeof(a))
		return -EPROTO;
	memcpy(&a, p + *off, sizeof(a));
	if (a.nla_len < sizeof(a) || a.nla_len > left)
		return -EPROTO;
	*type = a.nla_type & NLA_TYPE_MASK;
	*data = p + *off + sizeof(a);
	*dlen = a.nla_len - sizeof(a);
	*off += ALIGN4(a.nla_len) < left ? ALIGN4(a.nla_len) : left;
	return 1;
}

/* A string attribute for people: up to its first NUL, at most size - 1 bytes, non-printable bytes as '?'. */
static void copy_text(char *dst, size_t size, const uint8_t *src, size_t n)
{
	size_t i;

	if (!dst || !size)
		return;
	for (i = 0; i < n && i < size - 1 && src[i]; i++)
		dst[i] = isprint(src[i]) ? (char)src[i] : '?';
	dst[i] = '\0';
}

/*
 * An NLMSG_ERROR message m (mlen bytes, flags from its header): the
 * kernel's error (0 or -errno) with its extended-ack message in msg, or
 * -EPROTO.
 */
static int read_error(const uint8_t *m, size_t mlen, uint16_t flags, char *msg, size_t msgsize)
{
	const uint8_t *body = m + sizeof(struct nlmsghdr), *data;
	size_t blen = mlen - sizeof(struct nlmsghdr), off = 0, dlen;
	uint64_t tlv; /* 64-bit: the echoed length is the sender's word */
	struct nlmsgerr e;
	uint16_t type;
	int r;

	if (blen < sizeof(e))
		return -EPROTO;
	memcpy(&e, body, sizeof(e));
	if (e.error > 0 || e.error < -4095) /* the kernel's errnos are 1..4095 */
		return -EPROTO;
	if (!(flags & NLM_F_ACK_TLVS))
		return e.error;
	/* The TLVs follow the request the kernel echoed: its header only when capped, else all of it. */
	if (flags & NLM_F_CAPPED)
		tlv = sizeof(e);
	else if (e.msg.nlmsg_len < sizeof(struct nlmsghdr))
		return -EPROTO;
	else
		tlv = sizeof(e.error) + (((uint64_t)e.msg.nlmsg_len + 3) & ~(uint64_t)3);
	if (tlv > blen)
		return -EPROTO;
	while ((r = next_attr(body + tlv, blen - tlv, &off, &type, &data, &dlen)) > 0)
		if (type == NLMSGERR_ATTR_MSG)
			copy_text(msg, msgsize, data, dlen);
	return r < 0 ? r : e.error;
}

int nic_vf_parse_ack(const void *buf, size_t len, uint32_t seq, char *msg, size_t msgsize)
{
	struct nlmsghdr h;
	const uint8_t *m;
	size_t off = 0, mlen;
	int r;

	copy_text(msg, msgsize, NULL, 0);
	while ((r = next_msg(buf, len, &off, &h, &m, &mlen)) > 0)
		if (h.nlmsg_type == NLMSG_ERROR && h.nlmsg_seq == seq)
			return read_error(m, mlen, h.nlmsg_flags, msg, msgsize);
	return r < 0 ? r : 1;
}

static int32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return (int32_t)v;
}

/* Takes the VF number one attribute of an IFLA_VF_INFO names; -EPROTO when it disagrees with an earlier one. */
static int vf_number(struct nic_vf_state *st, bool *known, const uint8_t *data)
{
	uint32_t vf = (uint32_t)get_u32(data);

	if (*known && st->vf != vf)
		return -EPROTO;
	st->vf = vf;
	*known = true;
	return 0;
}

/* One IFLA_VF_INFO's attributes into st. */
static int read_vf(const uint8_t *p, size_t len, struct nic_vf_state *st)
{
	const uint8_t *d;
	size_t off = 0, n;
	uint16_t type;
	bool known = false;
	int r;

	while ((r = next_attr(p, len, &off, &type, &d, &n)) > 0) {
		switch (type) {
		case IFLA_VF_MAC:
			if (n < sizeof(struct ifla_vf_mac) || vf_number(st, &known, d) < 0)
				return -EPROTO;
			memcpy(st->mac, d + offsetof(struct ifla_vf_mac, mac), sizeof(st->mac));
			st->has_mac = true;
			break;
		case IFLA_VF_VLAN:
			if (n < sizeof(struct ifla_vf_vlan) || vf_number(st, &known, d) < 0)
				return -EPROTO;
			st->vlan = (uint32_t)get_u32(d + offsetof(struct ifla_vf_vlan, vlan));
			st->qos = (uint32_t)get_u32(d + offsetof(struct ifla_vf_vlan, qos));
			st->has_vlan = true;
			break;
		case IFLA_VF_SPOOFCHK:
		case IFLA_VF_TRUST: {
			/* u32 setting; the kernel reports (u32)-1 when the driver does not say */
			int32_t v;

			if (n < sizeof(struct ifla_vf_spoofchk) || vf_number(st, &known, d) < 0)
				return -EPROTO;
			v = get_u32(d + offsetof(struct ifla_vf_spoofchk, setting));
			*(type == IFLA_VF_SPOOFCHK ? &st->spoofchk : &st->trust) = v == -1 ? -1 : v != 0;
			break;
		}
		default:
			break;
		}
	}
	return r;
}

static int read_vfinfo_list(const uint8_t *p, size_t len, struct nic_vf_link *l, struct nic_vf_state *vf,
			    size_t max)
{
	const uint8_t *d;
	size_t off = 0, n;
	uint16_t type;
	int r;

	while ((r = next_attr(p, len, &off, &type, &d, &n)) > 0) {
		struct nic_vf_state st = { .vf = (uint32_t)l->nvf, .spoofchk = -1, .trust = -1 };

		if (type != IFLA_VF_INFO)
			continue;
		if ((r = read_vf(d, n, &st)) < 0)
			return r;
		if (l->stored < max)
			vf[l->stored++] = st;
		l->nvf++;
	}
	return r;
}

/* An RTM_NEWLINK's body (after the nlmsghdr) into l and vf. */
static int read_link(const uint8_t *p, size_t len, struct nic_vf_link *l, struct nic_vf_state *vf, size_t max)
{
	const uint8_t *d, *kd;
	size_t off = sizeof(struct ifinfomsg), n, koff, kn;
	uint16_t type, ktype;
	int r, k;

	while ((r = next_attr(p, len, &off, &type, &d, &n)) > 0) {
		switch (type) {
		case IFLA_NUM_VF:
			if (n < sizeof(uint32_t))
				return -EPROTO;
			l->num_vf = (uint32_t)get_u32(d);
			break;
		case IFLA_VFINFO_LIST:
			l->vfinfo = true;
			if ((r = read_vfinfo_list(d, n, l, vf, max)) < 0)
				return r;
			break;
		case IFLA_LINKINFO:
			koff = 0;
			while ((k = next_attr(d, n, &koff, &ktype, &kd, &kn)) > 0)
				if (ktype == IFLA_INFO_KIND)
					copy_text(l->kind, sizeof(l->kind), kd, kn);
			if (k < 0)
				return k;
			break;
		default:
			break;
		}
	}
	return r;
}

int nic_vf_parse_link(const void *buf, size_t len, uint32_t seq, int ifindex, struct nic_vf_link *l,
		      struct nic_vf_state *vf, size_t max, char *msg, size_t msgsize)
{
	struct nlmsghdr h;
	struct ifinfomsg ifi;
	const uint8_t *m;
	size_t off = 0, mlen;
	int r;

	copy_text(msg, msgsize, NULL, 0);
	while ((r = next_msg(buf, len, &off, &h, &m, &mlen)) > 0) {
		if (h.nlmsg_seq != seq)
			continue;
		if (h.nlmsg_type == NLMSG_ERROR) {
			r = read_error(m, mlen, h.nlmsg_flags, msg, msgsize);
			if (r)
				return r;
			continue; /* an ack of 0 before the link would be odd, not wrong */
		}
		if (h.nlmsg_type != RTM_NEWLINK)
			continue;
		if (mlen - sizeof(h) < sizeof(ifi))
			return -EPROTO;
		memcpy(&ifi, m + sizeof(h), sizeof(ifi));
		if (ifi.ifi_index != ifindex)
			continue;
		*l = (struct nic_vf_link){ .ifindex = ifindex, .num_vf = -1 };
		return read_link(m + sizeof(h), mlen - sizeof(h), l, vf, max);
	}
	return r < 0 ? r : 1;
}

/* ---- the kernel ---- */

struct nl {
	int fd;
	uint32_t seq;
	uint8_t *buf;
	size_t cap;
};

static int nl_open(struct nl *nl, struct errbuf *eb)
{
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	int one = 1;

	*nl = (struct nl){ .fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), .seq = (uint32_t)getpid() };
	if (nl->fd < 0)
		return errbuf_set(eb, errno, "rtnetlink socket: %s", strerror(errno));
	/* The kernel's reason in words (4.12), and its echo of our request left out (4.3); older ones refuse: fine. */
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		int e = errno;

		close(nl->fd);
		return errbuf_set(eb, e, "rtnetlink socket: SO_RCVTIMEO: %s", strerror(e));
	}
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	free(nl->buf);
	nl->fd = -1;
	nl->buf = NULL;
}

static int nl_send(struct nl *nl, const void *req, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	do
		n = sendto(nl->fd, req, len, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/*
 * One datagram from the kernel into nl->buf, grown to its size (a link
 * with many VFs answers in tens of KiB); its length, or -errno (-ETIMEDOUT
 * after REPLY_TIMEOUT_S).  Datagrams from other sockets are dropped.
 */
static ssize_t nl_recv(struct nl *nl)
{
	struct sockaddr_nl from;
	socklen_t flen;
	ssize_t n;

	for (;;) {
		n = recv(nl->fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if ((size_t)n > nl->cap) {
			uint8_t *p = realloc(nl->buf, (size_t)n);

			if (!p)
				return -ENOMEM;
			nl->buf = p;
			nl->cap = (size_t)n;
		}
		flen = sizeof(from);
		n = recvfrom(nl->fd, nl->buf, nl->cap, 0, (struct sockaddr *)&from, &flen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if (flen >= sizeof(from) && from.nl_pid == 0)
			return n;
	}
}

static int ifindex_of(const char *ifname, struct errbuf *eb)
{
	unsigned idx = if_nametoindex(ifname);

	if (!idx)
		return errbuf_set(eb, ENODEV, "%s: no such network interface (`ip link` lists them; name the PF's "
					      "interface)", ifname);
	return (int)idx;
}

/* RTM_GETLINK for ifindex on nl; msg gets the kernel's extended-ack message. */
static int query(struct nl *nl, int ifindex, struct nic_vf_link *l, struct nic_vf_state *vf, size_t max,
		 char *msg, size_t msgsize)
{
	uint8_t req[64];
	uint32_t seq = ++nl->seq;
	int len = nic_vf_build_get(req, sizeof(req), ifindex, seq), r;
	ssize_t n;

	if (len < 0)
		return len;
	if ((r = nl_send(nl, req, (size_t)len)) < 0)
		return r;
	do {
		if ((n = nl_recv(nl)) < 0)
			return (int)n;
		r = nic_vf_parse_link(nl->buf, (size_t)n, seq, ifindex, l, vf, max, msg, msgsize);
	} while (r == 1);
	return r;
}

/* One RTM_SETLINK and its ack; msg gets the kernel's extended-ack message. */
static int set_one(struct nl *nl, int ifindex, unsigned vf, const struct nic_vf_settings *s, char *msg,
		   size_t msgsize)
{
	uint8_t req[128];
	uint32_t seq = ++nl->seq;
	int len = nic_vf_build_set(req, sizeof(req), ifindex, vf, s, seq), r;
	ssize_t n;

	if (len < 0)
		return len;
	if ((r = nl_send(nl, req, (size_t)len)) < 0)
		return r;
	do {
		if ((n = nl_recv(nl)) < 0)
			return (int)n;
		r = nic_vf_parse_ack(nl->buf, (size_t)n, seq, msg, msgsize);
	} while (r == 1);
	return r;
}

/* "mac 02:00:00:00:00:01", "vlan 100 qos 3", "spoofchk on", "trust off": what one field asks, for messages. */
static void field_text(const struct nic_vf_settings *s, char *buf, size_t size)
{
	if (s->set_mac)
		snprintf(buf, size, "mac %02x:%02x:%02x:%02x:%02x:%02x", s->mac[0], s->mac[1], s->mac[2], s->mac[3],
			 s->mac[4], s->mac[5]);
	else if (s->set_vlan)
		snprintf(buf, size, "vlan %u qos %u", s->vlan, s->qos);
	else if (s->set_spoofchk)
		snprintf(buf, size, "spoofchk %s", s->spoofchk ? "on" : "off");
	else
		snprintf(buf, size, "trust %s", s->trust ? "on" : "off");
}

/*
 * The kernel's refusal err of field (key: its name) in words, with what to
 * do; the link is asked again for its kind and VF count to say which.
 */
static int refused(struct nl *nl, int ifindex, const char *ifname, unsigned vf, const char *key, const char *field,
		   int err, const char *kmsg, const char *done, struct errbuf *eb)
{
	struct nic_vf_link l;
	char why[NIC_VF_MSG_LEN + 16] = "";
	bool known = query(nl, ifindex, &l, NULL, 0, NULL, 0) == 0;

	if (kmsg[0])
		snprintf(why, sizeof(why), "; the kernel: %s", kmsg);
	if (err == -EOPNOTSUPP && known && l.kind[0])
		return errbuf_set(eb, EOPNOTSUPP, "%s is a %s link, which has no SR-IOV VFs: its driver has no VF "
						  "settings (%s%s); name the PF's interface of an SR-IOV NIC", ifname,
				  l.kind, strerror(EOPNOTSUPP), why);
	if (err == -EOPNOTSUPP && known && l.vfinfo)
		return errbuf_set(eb, EOPNOTSUPP, "%s VF %u: its driver cannot set %s on its VFs (%s%s)%s", ifname, vf,
				  key, strerror(EOPNOTSUPP), why, done);
	if (err == -EOPNOTSUPP)
		return errbuf_set(eb, EOPNOTSUPP, "%s: its driver has no SR-IOV VF settings, or not %s (%s%s); name the "
						  "PF's interface of an SR-IOV NIC (a virtual interface such as veth or "
						  "dummy has none)%s", ifname, key, strerror(EOPNOTSUPP), why, done);
	if ((err == -EINVAL || err == -ENODEV || err == -ERANGE) && known && l.num_vf >= 0 && vf >= l.num_vf) {
		if (!l.num_vf)
			return errbuf_set(eb, -err, "%s has no VFs enabled, so no VF %u (`xenith pci sriov PF N` gives "
						    "its PF N VFs)%s", ifname, vf, why);
		return errbuf_set(eb, -err, "%s has %lld VFs (0 to %lld), no VF %u%s", ifname, (long long)l.num_vf,
				  (long long)l.num_vf - 1, vf, why);
	}
	if (err == -EPERM || err == -EACCES)
		return errbuf_set(eb, -err, "setting %s on VF %u of %s needs CAP_NET_ADMIN (run as root)%s", field, vf,
				  ifname, done);
	return errbuf_set(eb, -err, "%s VF %u: the driver refused %s: %s%s%s", ifname, vf, field, strerror(-err), why,
			  done);
}

int nic_vf_set(const char *ifname, unsigned vf, const struct nic_vf_settings *s, struct errbuf *eb)
{
	/* One request per field, in the order the kernel's do_setvfinfo applies them. */
	static const char *const keys[4] = { "mac", "vlan", "spoofchk", "trust" };
	struct nic_vf_settings one[4] = {
		{ .set_mac = s->set_mac },
		{ .set_vlan = s->set_vlan, .vlan = s->vlan, .qos = s->qos },
		{ .set_spoofchk = s->set_spoofchk, .spoofchk = s->spoofchk },
		{ .set_trust = s->set_trust, .trust = s->trust },
	};
	char kmsg[NIC_VF_MSG_LEN], field[48], done[160] = "";
	struct nl nl;
	int ifindex = ifindex_of(ifname, eb), r = 0;

	if (ifindex < 0)
		return ifindex;
	if (!s->set_mac && !s->set_vlan && !s->set_spoofchk && !s->set_trust)
		return errbuf_set(eb, EINVAL, "nothing to set on VF %u of %s", vf, ifname);
	memcpy(one[0].mac, s->mac, sizeof(s->mac));
	if ((r = nl_open(&nl, eb)) < 0)
		return r;
	for (size_t i = 0; i < 4; i++) {
		if (!one[i].set_mac && !one[i].set_vlan && !one[i].set_spoofchk && !one[i].set_trust)
			continue;
		field_text(&one[i], field, sizeof(field));
		r = set_one(&nl, ifindex, vf, &one[i], kmsg, sizeof(kmsg));
		if (r == -ETIMEDOUT) {
			r = errbuf_set(eb, ETIMEDOUT, "%s VF %u %s: no answer from the kernel in %d s%s", ifname, vf, field,
				       REPLY_TIMEOUT_S, done);
			break;
		}
		if (r == -EPROTO) {
			r = errbuf_set(eb, EPROTO, "%s VF %u %s: a malformed answer from the kernel%s", ifname, vf, field,
				       done);
			break;
		}
		if (r < 0) {
			r = refused(&nl, ifindex, ifname, vf, keys[i], field, r, kmsg, done, eb);
			break;
		}
		/* For a later refusal: what took effect before it. */
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%s%s", done[0] ? ", " : "; already set: ",
			 field);
	}
	nl_close(&nl);
	return r;
}

int nic_vf_list(const char *ifname, struct nic_vf_link *l, struct nic_vf_state *vf, size_t max, struct errbuf *eb)
{
	char kmsg[NIC_VF_MSG_LEN];
	struct nl nl;
	int ifindex = ifindex_of(ifname, eb), r;

	if (ifindex < 0)
		return ifindex;
	if ((r = nl_open(&nl, eb)) < 0)
		return r;
	r = query(&nl, ifindex, l, vf, max, kmsg, sizeof(kmsg));
	nl_close(&nl);
	if (r == -ETIMEDOUT)
		return errbuf_set(eb, ETIMEDOUT, "%s: no answer from the kernel to RTM_GETLINK in %d s", ifname,
				  REPLY_TIMEOUT_S);
	if (r == -EPROTO)
		return errbuf_set(eb, EPROTO, "%s: a malformed answer from the kernel to RTM_GETLINK", ifname);
	if (r < 0)
		return errbuf_set(eb, -r, "%s: RTM_GETLINK: %s%s%s%s", ifname, strerror(-r), kmsg[0] ? " (" : "", kmsg,
				  kmsg[0] ? ")" : "");
	return 0;
}

/* ---- the CLI's words ---- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nic_vf_parse_mac(const char *s, uint8_t mac[6], struct errbuf *eb)
{
	uint8_t m[6];

	if (strlen(s) != 17)
		return errbuf_set(eb, EINVAL, "'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", s);
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return errbuf_set(eb, EINVAL, "'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", s);
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	if (m[0] & 1)
		return errbuf_set(eb, EINVAL, "%s is a multicast address (the first byte is odd): a VF needs a unicast "
					      "one (02:xx:xx:xx:xx:xx for a locally administered one)", s);
	memcpy(mac, m, sizeof(m));
	return 0;
}

/* A decimal number 0..max, the whole of s[0..n), no sign, no space. */
static bool decimal(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!n || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

int nic_vf_parse_vlan(const char *s, uint16_t *vlan, uint8_t *qos, struct errbuf *eb)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	unsigned v, q = 0;

	if (!decimal(s, n, NIC_VF_VLAN_MAX, &v))
		return errbuf_set(eb, EINVAL, "'%s': the VLAN is 0 (none) to %d, then optionally :QOS", s, NIC_VF_VLAN_MAX);
	if (colon && !decimal(colon + 1, strlen(colon + 1), NIC_VF_QOS_MAX, &q))
		return errbuf_set(eb, EINVAL, "'%s': the QoS after the ':' is a priority 0 to %d", s, NIC_VF_QOS_MAX);
	*vlan = (uint16_t)v;
	*qos = (uint8_t)q;
	return 0;
}

static int onoff(const char *key, const char *v, bool *on, struct errbuf *eb)
{
	if (!strcmp(v, "on") || !strcmp(v, "off")) {
		*on = !strcmp(v, "on");
		return 0;
	}
	return errbuf_set(eb, EINVAL, "%s=%s: on or off", key, v);
}

int nic_vf_parse_arg(const char *arg, struct nic_vf_settings *s, struct errbuf *eb)
{
	static const char *const keys[] = { "mac", "vlan", "spoofchk", "trust" };
	const char *eq = strchr(arg, '=');
	size_t k, n = eq ? (size_t)(eq - arg) : 0;
	bool *given[] = { &s->set_mac, &s->set_vlan, &s->set_spoofchk, &s->set_trust };
	int r;

	for (k = 0; k < 4; k++)
		if (eq && strlen(keys[k]) == n && !strncmp(arg, keys[k], n))
			break;
	if (k == 4)
		return errbuf_set(eb, EINVAL, "'%s': give mac=M, vlan=V[:QOS], spoofchk=on|off or trust=on|off", arg);
	if (*given[k])
		return errbuf_set(eb, EINVAL, "%s= given twice", keys[k]);
	switch (k) {
	case 0: r = nic_vf_parse_mac(eq + 1, s->mac, eb); break;
	case 1: r = nic_vf_parse_vlan(eq + 1, &s->vlan, &s->qos, eb); break;
	case 2: r = onoff(keys[k], eq + 1, &s->spoofchk, eb); break;
	default: r = onoff(keys[k], eq + 1, &s->trust, eb); break;
	}
	if (r < 0)
		return r;
	*given[k] = true;
	return 0;
}
