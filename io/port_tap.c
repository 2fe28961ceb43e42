// SPDX-License-Identifier: MIT
/* A tap device as a vif's port (port_tap.h). */
#include "port_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct tap_port {
	struct net_port port;
	int fd;
	unsigned queue, ifindex;
	bool multi, attached;
	char ifname[IFNAMSIZ];
	/* Written by the netback thread only; read by `xenith devices`. */
	_Atomic uint64_t sent, received, send_stalls, rx_dropped;
};

static int tap_send(struct net_port *p, const struct net_frame *frames, unsigned n)
{
	struct tap_port *t = (struct tap_port *)p;
	unsigned i;

	for (i = 0; i < n; i++) {
		ssize_t w = write(t->fd, frames[i].data, frames[i].len);

		if (w < 0) {
			if (errno == EBADF || errno == EBADFD)
				return i ? (int)i : -errno; /* the tap is gone */
			/* EAGAIN (queue full), EIO (the link is down), ENOBUFS...: the rest are port_full. */
			atomic_fetch_add_explicit(&t->send_stalls, 1, memory_order_relaxed);
			break;
		}
	}
	atomic_fetch_add_explicit(&t->sent, i, memory_order_relaxed);
	return (int)i;
}

static int tap_recv(struct net_port *p, struct net_frame *frames, unsigned n)
{
	struct tap_port *t = (struct tap_port *)p;
	unsigned got = 0, tries = 0;

	/* Bounded: a runt or oversize frame costs a read but never keeps the thread here. */
	while (got < n && tries++ < 2 * n) {
		ssize_t r = read(t->fd, frames[got].data, frames[got].cap);

		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return got ? (int)got : -errno;
		}
		/* A runt, or a frame as long as the buffer (an MTU raised past 1500: possibly cut). */
		if (r < 14 || (size_t)r > NET_PORT_FRAME_MAX || r == frames[got].cap) {
			atomic_fetch_add_explicit(&t->rx_dropped, 1, memory_order_relaxed);
			continue;
		}
		frames[got++].len = (uint16_t)r;
	}
	atomic_fetch_add_explicit(&t->received, got, memory_order_relaxed);
	return (int)got;
}

static int tap_rx_fd(struct net_port *p)
{
	return ((struct tap_port *)p)->fd;
}

static int tap_stats_json(struct net_port *p, char *buf, size_t size)
{
	struct tap_port *t = (struct tap_port *)p;
	int n = snprintf(buf, size, "\"kind\":\"tap\",\"ifname\":\"%s\",\"queue\":%u,\"sent\":%llu,"
			 "\"received\":%llu,\"send_stalls\":%llu,\"rx_dropped\":%llu", t->ifname, t->queue,
			 (unsigned long long)atomic_load(&t->sent),
			 (unsigned long long)atomic_load(&t->received),
			 (unsigned long long)atomic_load(&t->send_stalls),
			 (unsigned long long)atomic_load(&t->rx_dropped));

	return n < 0 || (size_t)n >= size ? -1 : n;
}

static void tap_close(struct net_port *p)
{
	struct tap_port *t = (struct tap_port *)p;

	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct net_port_ops tap_ops = {
	.kind = "tap",
	.send = tap_send,
	.recv = tap_recv,
	.rx_fd = tap_rx_fd,
	.stats_json = tap_stats_json,
	.close = tap_close,
};

int port_tap_set_queue_attached(struct net_port *p, bool attached)
{
	struct tap_port *t = (struct tap_port *)p;
	struct ifreq ifr = { 0 };

	if (!p || p->ops != &tap_ops || !t->multi || t->queue == 0 || t->attached == attached)
		return 0;
	ifr.ifr_flags = attached ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(t->fd, TUNSETQUEUE, &ifr) < 0)
		return -errno;
	t->attached = attached;
	return 0;
}

unsigned port_tap_ifindex(const struct net_port *p)
{
	return p && p->ops == &tap_ops ? ((const struct tap_port *)p)->ifindex : 0;
}

static int open_queue(const struct port_tap_config *cfg, unsigned q, struct tap_port **out, char *msg,
		      size_t msglen)
{
	struct tap_port *t = calloc(1, sizeof(*t));
	struct ifreq ifr = { 0 };
	int e;

	if (!t) {
		snprintf(msg, msglen, "tap:%s: out of memory", cfg->ifname);
		return -ENOMEM;
	}
	t->port.ops = &tap_ops;
	t->queue = q;
	t->multi = cfg->queues > 1;
	t->attached = true;
	snprintf(t->port.name, sizeof(t->port.name), "tap:%s", cfg->ifname);
	snprintf(t->ifname, sizeof(t->ifname), "%s", cfg->ifname);
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		e = errno;
		snprintf(msg, msglen, "tap:%s: /dev/net/tun: %s%s", cfg->ifname, strerror(e),
			 e == ENOENT ? " (load the tun module: modprobe tun)" :
			 e == EACCES || e == EPERM ? " (run as root, or give this user access to /dev/net/tun)" :
			 "");
		free(t);
		return -e;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (cfg->queues > 1 ? IFF_MULTI_QUEUE : 0);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		snprintf(msg, msglen, "tap:%s: TUNSETIFF%s: %s (%s)", cfg->ifname,
			 cfg->queues > 1 ? " with IFF_MULTI_QUEUE" : "", strerror(e),
			 e == EPERM ? "creating a tap needs root or CAP_NET_ADMIN; or make it beforehand: "
				      "ip tuntap add NAME mode tap user USER" :
			 e == EINVAL ? "NAME exists but is not a tap with these flags: a tun device, or a "
				       "tap made without (or with) multi_queue where queues= asks otherwise" :
			 e == EBUSY ? "another process has the tap open already" : "see tuntap.rst");
		close(t->fd);
		free(t);
		return -e;
	}
	*out = t;
	return 0;
}

/* ioctl on an AF_INET socket (one per call: this runs once per open). */
static int sock_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -errno;
	r = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return r;
}

static int set_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	r = sock_ioctl(SIOCGIFFLAGS, &ifr);
	if (r < 0)
		return r;
	ifr.ifr_flags |= IFF_UP;
	return sock_ioctl(SIOCSIFFLAGS, &ifr);
}

static int add_to_bridge(const char *bridge, unsigned ifindex)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = (int)ifindex;
	return sock_ioctl(SIOCBRADDIF, &ifr);
}

/* RTM_NEWLINK moving ifindex into the namespace behind ns_fd; 0 or -errno (the kernel's answer). */
static int move_to_netns(unsigned ifindex, int ns_fd)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		struct rtattr rta;
		uint32_t fd;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_NEWLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex },
		.rta = { .rta_len = RTA_LENGTH(sizeof(uint32_t)), .rta_type = IFLA_NET_NS_FD },
		.fd = (uint32_t)ns_fd,
	};
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), r;
	ssize_t n;

	_Static_assert(sizeof(req) == NLMSG_LENGTH(sizeof(struct ifinfomsg)) + RTA_LENGTH(sizeof(uint32_t)),
		       "no padding in the request");
	if (s < 0)
		return -errno;
	if (send(s, &req, sizeof(req), 0) < 0) {
		r = -errno;
		goto out;
	}
	n = recv(s, &ack, sizeof(ack), 0);
	if (n < 0)
		r = -errno;
	else if ((size_t)n < sizeof(ack) || ack.nh.nlmsg_type != NLMSG_ERROR)
		r = -EPROTO;
	else
		r = ack.err.error;
out:
	close(s);
	return r;
}

/* Sets ifname up inside the namespace behind ns_fd: this thread enters it and comes back. */
static int set_up_in_netns(const char *ifname, int ns_fd)
{
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), r;

	if (home < 0)
		return -errno;
	if (setns(ns_fd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(home);
		return r;
	}
	r = set_up(ifname);
	if (setns(home, CLONE_NEWNET) < 0 && r == 0)
		r = -errno; /* cannot happen for a namespace we came from; say so if it does */
	close(home);
	return r;
}

static int place(const struct port_tap_config *cfg, unsigned ifindex, char *msg, size_t msglen)
{
	int r;

	if (cfg->bridge && cfg->bridge[0]) {
		r = add_to_bridge(cfg->bridge, ifindex);
		if (r < 0) {
			snprintf(msg, msglen, "tap:%s: adding it to bridge %s: %s%s", cfg->ifname, cfg->bridge,
				 strerror(-r), r == -ENODEV ? " (no such bridge: ip link add BR type bridge)" :
				 r == -EBUSY ? " (it is in another bridge already)" : "");
			return r;
		}
	}
	if (cfg->netns && cfg->netns[0]) {
		char path[128];
		int ns_fd;

		snprintf(path, sizeof(path), "/run/netns/%s", cfg->netns);
		ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (ns_fd < 0) {
			r = -errno;
			snprintf(msg, msglen, "tap:%s: netns %s: %s: %s%s", cfg->ifname, cfg->netns, path,
				 strerror(-r), r == -ENOENT ? " (make it with: ip netns add NAME)" : "");
			return r;
		}
		r = move_to_netns(ifindex, ns_fd);
		if (r < 0) {
			snprintf(msg, msglen, "tap:%s: moving it into netns %s: %s%s", cfg->ifname, cfg->netns,
				 strerror(-r), r == -EEXIST ? " (that namespace has an interface of this name)" : "");
		} else {
			r = set_up_in_netns(cfg->ifname, ns_fd);
			if (r < 0)
				snprintf(msg, msglen, "tap:%s: setting it up in netns %s: %s", cfg->ifname,
					 cfg->netns, strerror(-r));
		}
		close(ns_fd);
		return r;
	}
	r = set_up(cfg->ifname);
	if (r < 0)
		snprintf(msg, msglen, "tap:%s: setting it up (SIOCSIFFLAGS IFF_UP): %s%s", cfg->ifname,
			 strerror(-r), r == -EPERM ? " (needs root or CAP_NET_ADMIN, or a tap that is up)" : "");
	return r;
}

int port_tap_open(const struct port_tap_config *cfg, struct net_port **ports, char *msg, size_t msglen)
{
	struct tap_port *t[PORT_TAP_MAX_QUEUES] = { 0 };
	struct ifreq ifr = { 0 };
	unsigned q;
	int r = 0;

	if (!cfg->ifname || !cfg->ifname[0] || strlen(cfg->ifname) >= IFNAMSIZ || cfg->queues < 1 ||
	    cfg->queues > PORT_TAP_MAX_QUEUES) {
		snprintf(msg, msglen, "tap:%s: a name of 1 to %u characters and 1 to %u queues (%u asked)",
			 cfg->ifname ? cfg->ifname : "", IFNAMSIZ - 1, PORT_TAP_MAX_QUEUES, cfg->queues);
		return -EINVAL;
	}
	for (q = 0; q < cfg->queues && r == 0; q++)
		r = open_queue(cfg, q, &t[q], msg, msglen);
	if (r < 0)
		goto close_queues;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->ifname);
	r = sock_ioctl(SIOCGIFINDEX, &ifr);
	if (r < 0) {
		snprintf(msg, msglen, "tap:%s: its interface index: %s", cfg->ifname, strerror(-r));
		goto close_queues;
	}
	r = place(cfg, (unsigned)ifr.ifr_ifindex, msg, msglen);
	if (r < 0)
		goto close_queues;
	for (q = 1; q < cfg->queues && r == 0; q++) {
		r = port_tap_set_queue_attached(&t[q]->port, false); /* until a frontend connects it */
		if (r < 0)
			snprintf(msg, msglen, "tap:%s: detaching queue %u (TUNSETQUEUE): %s", cfg->ifname, q,
				 strerror(-r));
	}
	if (r < 0)
		goto close_queues;
	for (q = 0; q < cfg->queues; q++) {
		t[q]->ifindex = (unsigned)ifr.ifr_ifindex;
		ports[q] = &t[q]->port;
	}
	return 0;
close_queues:
	for (q = 0; q < cfg->queues; q++)
		tap_close(t[q] ? &t[q]->port : NULL);
	return r;
}
