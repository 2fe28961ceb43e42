// SPDX-License-Identifier: MIT
/* The domain switch's protocol: checks of every message (switch_proto.h). */
#include "switch_proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xenith/abi.h"
#include "xenith/grant_table.h"

#define SWP_VIF_MAX 64u

static int bad(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -err;
}

void swp_hdr_init(struct swp_hdr *h, enum swp_type type, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->magic = SWP_MAGIC;
	h->version = SWP_VERSION;
	h->type = (uint16_t)type;
	h->len = len;
}

static int check_hello(const struct swp_hello *m, unsigned nfds, char *why, size_t whylen)
{
	static const uint8_t zero[6];
	size_t n = strnlen(m->domain, sizeof(m->domain));

	if (m->nr_queues < 1 || m->nr_queues > XENITH_NET_MAX_QUEUES)
		return bad(EINVAL, why, whylen, "hello: %u queues (1 to %u)", m->nr_queues, XENITH_NET_MAX_QUEUES);
	if (nfds != SWP_HELLO_FDS(m->nr_queues))
		return bad(EBADF, why, whylen, "hello: %u descriptors for %u queue(s), not %u", nfds,
			   m->nr_queues, SWP_HELLO_FDS(m->nr_queues));
	if (!m->mem_size || m->mem_size % 4096 || m->mem_size > SWP_MEM_MAX)
		return bad(EINVAL, why, whylen, "hello: memory size %llu (a multiple of 4096, at most %llu)",
			   (unsigned long long)m->mem_size, (unsigned long long)SWP_MEM_MAX);
	if (m->min_gpa >= m->mem_size)
		return bad(EINVAL, why, whylen, "hello: min_gpa %#llx past the memory (%#llx bytes)",
			   (unsigned long long)m->min_gpa, (unsigned long long)m->mem_size);
	if (!m->domid || m->domid >= XENITH_DOMID_SELF)
		return bad(EINVAL, why, whylen, "hello: domid %u (1 to %u)", m->domid, XENITH_DOMID_SELF - 1);
	if (m->vif >= SWP_VIF_MAX)
		return bad(EINVAL, why, whylen, "hello: vif %u (0 to %u)", m->vif, SWP_VIF_MAX - 1);
	if (m->mode > XENITH_NET_MODE_POLL)
		return bad(EINVAL, why, whylen, "hello: mode %u", m->mode);
	if (!memcmp(m->mac, zero, 6) || (m->mac[0] & 1))
		return bad(EINVAL, why, whylen, "hello: MAC is zero or multicast");
	if (m->flags & ~SWP_HELLO_TAKEOVER || m->pad)
		return bad(EINVAL, why, whylen, "hello: flags %#x (at most %#x) or padding not zero", m->flags,
			   SWP_HELLO_TAKEOVER);
	if (n == 0 || n == sizeof(m->domain))
		return bad(EINVAL, why, whylen, "hello: domain name empty or not terminated");
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)m->domain[i]))
			return bad(EINVAL, why, whylen, "hello: domain name has byte %#x", (unsigned char)m->domain[i]);
	return 0;
}

static int check_connect(const struct swp_connect *m, char *why, size_t whylen)
{
	if (!m->table_frames || m->table_frames > XENITH_GNTTAB_MAX_FRAMES)
		return bad(EINVAL, why, whylen, "connect: grant table of %u frames (1 to %u)", m->table_frames,
			   XENITH_GNTTAB_MAX_FRAMES);
	if (m->table_gpa % 4096 || m->table_gpa > SWP_MEM_MAX)
		return bad(EINVAL, why, whylen, "connect: grant table at %#llx", (unsigned long long)m->table_gpa);
	if (m->nr_queues < 1 || m->nr_queues > XENITH_NET_MAX_QUEUES)
		return bad(EINVAL, why, whylen, "connect: %u queues (1 to %u)", m->nr_queues, XENITH_NET_MAX_QUEUES);
	return 0; /* ring refs: the grant checks judge them (io/grant.c) */
}

static int check_restore(const struct swp_restore *m, char *why, size_t whylen)
{
	struct swp_connect c = { .table_gpa = m->table_gpa, .table_frames = m->table_frames,
				 .nr_queues = m->nr_queues };
	int r = check_connect(&c, why, whylen);

	if (r < 0)
		return r;
	for (uint32_t q = 0; q < m->nr_queues; q++)
		if (m->q[q].flags & ~(SWP_QUEUE_TX_CUT | SWP_QUEUE_BROKEN))
			return bad(EINVAL, why, whylen, "restore: queue %u: flags %#x", q, m->q[q].flags);
	return 0; /* refs and indices: the grant checks and netback judge them against the rings */
}

int swp_parse(const void *buf, size_t len, unsigned nfds, struct swp_msg *msg, char *why, size_t whylen)
{
	static const size_t size[SWP_TYPE_NR] = {
		[SWP_HELLO] = sizeof(struct swp_hello),
		[SWP_CONNECT] = sizeof(struct swp_connect),
		[SWP_DISCONNECT] = sizeof(struct swp_hdr),
		[SWP_STATS] = sizeof(struct swp_hdr),
		[SWP_LIST] = sizeof(struct swp_hdr),
		[SWP_STOP] = sizeof(struct swp_hdr),
		[SWP_DETACH] = sizeof(struct swp_hdr),
		[SWP_REPLY] = sizeof(struct swp_reply),
		[SWP_QUIESCE] = sizeof(struct swp_quiesce),
		[SWP_RESUME] = sizeof(struct swp_hdr),
		[SWP_RESTORE] = sizeof(struct swp_restore),
	};
	struct swp_hdr h;
	int r;

	memset(msg, 0, sizeof(*msg));
	if (len < sizeof(h) || len > SWP_MSG_MAX)
		return bad(EPROTO, why, whylen, "a packet of %zu bytes (%zu to %u)", len, sizeof(h), SWP_MSG_MAX);
	memcpy(&h, buf, sizeof(h));
	if (h.magic != SWP_MAGIC || h.version != SWP_VERSION || h.reserved)
		return bad(EPROTO, why, whylen, "not a switch protocol v%u packet (magic %#x, version %u)",
			   SWP_VERSION, h.magic, h.version);
	if (h.len != len)
		return bad(EPROTO, why, whylen, "length field %u, packet %zu bytes", h.len, len);
	if (h.type == 0 || h.type >= SWP_TYPE_NR)
		return bad(EPROTO, why, whylen, "unknown message type %u", h.type);
	if (h.type == SWP_REPLY ? len < size[h.type] : len != size[h.type])
		return bad(EPROTO, why, whylen, "message type %u of %zu bytes, not %zu", h.type, len, size[h.type]);
	if (h.type != SWP_HELLO && h.type != SWP_REPLY && nfds)
		return bad(EBADF, why, whylen, "message type %u with %u descriptors (none expected)", h.type, nfds);
	msg->type = (enum swp_type)h.type;
	switch (msg->type) {
	case SWP_HELLO:
		memcpy(&msg->u.hello, buf, sizeof(msg->u.hello));
		r = check_hello(&msg->u.hello, nfds, why, whylen);
		break;
	case SWP_CONNECT:
		memcpy(&msg->u.connect, buf, sizeof(msg->u.connect));
		r = check_connect(&msg->u.connect, why, whylen);
		break;
	case SWP_RESTORE:
		memcpy(&msg->u.restore, buf, sizeof(msg->u.restore));
		r = check_restore(&msg->u.restore, why, whylen);
		break;
	case SWP_QUIESCE:
		memcpy(&msg->u.quiesce, buf, sizeof(msg->u.quiesce));
		r = 0;
		if (msg->u.quiesce.timeout_ms < 1 || msg->u.quiesce.timeout_ms > SWP_QUIESCE_MAX_MS ||
		    msg->u.quiesce.pad)
			r = bad(EPROTO, why, whylen, "QUIESCE timeout %u ms, pad %u (1 to %u ms, and 0)",
				msg->u.quiesce.timeout_ms, msg->u.quiesce.pad, SWP_QUIESCE_MAX_MS);
		break;
	case SWP_REPLY: {
		struct swp_reply rp;

		memcpy(&rp, buf, sizeof(rp));
		if (rp.text_len != len - sizeof(rp))
			return bad(EPROTO, why, whylen, "reply: text of %u bytes in %zu", rp.text_len, len - sizeof(rp));
		if (rp.status > 0 || rp.status < -4095)
			return bad(EINVAL, why, whylen, "reply: status %d", rp.status);
		if (rp.status < 0 && nfds)
			return bad(EBADF, why, whylen, "reply: an error with %u descriptors", nfds);
		msg->u.reply.status = rp.status;
		msg->u.reply.text_len = rp.text_len;
		msg->u.reply.text = (const char *)buf + sizeof(rp);
		r = 0;
		break;
	}
	default:
		r = 0;
		break;
	}
	if (r < 0)
		msg->type = 0;
	return r;
}

int swp_send(int sock, const void *buf, size_t len, const int *fds, unsigned nfds, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SWP_FDS_MAX)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > SWP_FDS_MAX)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	n = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int swp_reply_text(const void *buf, size_t len, char *out, size_t size)
{
	struct swp_msg m;
	char why[160];
	int r = swp_parse(buf, len, 0, &m, why, sizeof(why));

	if (r < 0 || m.type != SWP_REPLY) {
		snprintf(out, size, "%s", r < 0 ? why : "not a reply");
		return -EPROTO;
	}
	snprintf(out, size, "%.*s", (int)m.u.reply.text_len, m.u.reply.text);
	return m.u.reply.status;
}

int swp_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 31 || name[0] == '.' || name[0] == '-')
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return 0;
	return 1;
}

void swp_default_run_dir(char *out, size_t size)
{
	const char *env = getenv("XENITH_RUN_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(out, size, "%s", env);
	else if (geteuid() == 0)
		snprintf(out, size, "/run/xenith");
	else if (xdg && *xdg)
		snprintf(out, size, "%s/xenith", xdg);
	else
		snprintf(out, size, "/tmp/xenith-%u", (unsigned)geteuid());
}

int swp_socket_path(const char *run_dir, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/switch/%s.sock", run_dir, name);

	if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}
