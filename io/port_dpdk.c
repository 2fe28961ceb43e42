// SPDX-License-Identifier: MIT
/* A DPDK software vdev as a vif's port (port_dpdk.h). */
#include "port_dpdk.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define BURST NET_PORT_BURST
#define DESC 512u                 /* RX and TX descriptors per queue (adjusted to the PMD's limits) */
#define POOL_PER_QUEUE 2048u      /* RX descriptors, a TX burst, and net_ring's 1024-slot rings */
#define NOHUGE_MEMORY_MB "64"     /* --no-huge -m: the pools of a few ports */
#define EAL_MAX_WORDS 32

struct dpdk_dev {
	char name[48];            /* the vdev's name: VDEV-ARGS up to the first ',' */
	uint16_t port_id;
	struct rte_mempool *pool;
	unsigned open;            /* queues not closed yet; under eal.lock */
	struct dpdk_dev *next;
};

struct dpdk_port {
	struct net_port port;
	struct dpdk_dev *dev;
	uint16_t queue;
	struct rte_mbuf *mb[BURST];
	/* Written by the netback thread only; read by `xenith devices`. */
	_Atomic uint64_t sent, unsent, no_mbuf, received, rx_dropped;
};

/* The process's EAL: started once, at the first open; the open vdevs. */
static struct {
	pthread_mutex_t lock;
	int state;                /* 0: not tried, 1: up, -errno: rte_eal_init failed */
	bool hugepages;
	char extra[PORT_DPDK_EAL_ARGS_MAX];
	char argline[1024];       /* the arguments it was started with, for messages */
	char failure[2048];        /* why it did not start (state < 0) */
	struct dpdk_dev *devs;
} eal = { .lock = PTHREAD_MUTEX_INITIALIZER };

bool port_dpdk_available(void)
{
	return true;
}

int port_dpdk_eal_configure(bool hugepages, const char *extra_args, char *msg, size_t msglen)
{
	const char *extra = extra_args ? extra_args : "";
	int r = 0;

	if (strlen(extra) >= sizeof(eal.extra)) {
		snprintf(msg, msglen, "DPDK EAL arguments \"%.40s...\": longer than %zu bytes", extra,
			 sizeof(eal.extra) - 1);
		return -EINVAL;
	}
	pthread_mutex_lock(&eal.lock);
	if (eal.state != 0 && (eal.hugepages != hugepages || strcmp(eal.extra, extra))) {
		snprintf(msg, msglen, "DPDK: the EAL of this process started already (%s), with hugepages %s "
			 "and extra arguments \"%s\"; one EAL per process: give every domain of this VMM the "
			 "same dpdk_hugepages and dpdk_eal_args", eal.state > 0 ? "up" : "and failed",
			 eal.hugepages ? "on" : "off", eal.extra);
		r = -EALREADY;
	} else {
		eal.hugepages = hugepages;
		strcpy(eal.extra, extra);
	}
	pthread_mutex_unlock(&eal.lock);
	return r;
}

/*
 * "0-3,6": the CPUs this thread may run on, so that rte_eal_init, which
 * pins the calling thread to its lcore's CPUs, leaves it where it was.
 */
static void cpu_list(char *buf, size_t size)
{
	cpu_set_t set;
	size_t len = 0;
	int first = -1, cpu;

	buf[0] = 0;
	if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		snprintf(buf, size, "0");
		return;
	}
	for (cpu = 0; cpu <= CPU_SETSIZE; cpu++) {
		bool in = cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set);

		if (in && first < 0)
			first = cpu;
		if (!in && first >= 0) {
			char piece[24];
			int n = snprintf(piece, sizeof(piece), first == cpu - 1 ? "%s%d" : "%s%d-%d", len ? "," : "",
					 first, cpu - 1);

			if (len + (size_t)n >= size)
				break; /* a list too long for the buffer: the lcore gets the CPUs so far */
			memcpy(buf + len, piece, (size_t)n + 1);
			len += (size_t)n;
			first = -1;
		}
	}
	if (!buf[0])
		snprintf(buf, size, "0");
}

/* Starts the EAL unless it is up or failed already; under eal.lock.  0 or -errno with msg. */
static int eal_start(char *msg, size_t msglen)
{
	static char words[PORT_DPDK_EAL_ARGS_MAX], prefix[48], cpus[512], lcores[sizeof(cpus) + 16];
	char *argv[EAL_MAX_WORDS + 16], *save = NULL, *w;
	int argc = 0, r;
	size_t len = 0;

	if (eal.state > 0)
		return 0;
	if (eal.state < 0) {
		snprintf(msg, msglen, "%s", eal.failure);
		return eal.state;
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=xenith-%d", (int)getpid());
	cpu_list(cpus, sizeof(cpus));
	snprintf(lcores, sizeof(lcores), "--lcores=0@(%s)", cpus);
	argv[argc++] = "xenith";
	argv[argc++] = "--no-pci";
	argv[argc++] = "--no-telemetry";
	argv[argc++] = prefix;
	argv[argc++] = lcores;
	argv[argc++] = "--log-level=warning";
	if (eal.hugepages) {
		argv[argc++] = "--in-memory"; /* no shared configuration, no hugepage files left behind */
	} else {
		argv[argc++] = "--no-shconf"; /* --in-memory's half that --no-huge allows */
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = NOHUGE_MEMORY_MB;
	}
	strcpy(words, eal.extra);
	for (w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (argc >= EAL_MAX_WORDS + 10) {
			snprintf(msg, msglen, "DPDK EAL arguments \"%s\": more than %d words", eal.extra,
				 EAL_MAX_WORDS);
			return -EINVAL; /* not remembered: configure may fix it */
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	for (int i = 1; i < argc && len < sizeof(eal.argline); i++)
		len += (size_t)snprintf(eal.argline + len, sizeof(eal.argline) - len, "%s%s", i > 1 ? " " : "",
					argv[i]);
	/* To stderr, not the EAL's default of stdout plus syslog (a socket the VMM's filter does not allow). */
	rte_openlog_stream(stderr);
	r = rte_eal_init(argc, argv);
	if (r < 0) {
		int e = rte_errno ? rte_errno : EINVAL;

		snprintf(eal.failure, sizeof(eal.failure), "DPDK: the EAL did not start: rte_eal_init(%s): %s "
			 "(errno %d); %s", eal.argline, rte_strerror(e), e,
			 eal.hugepages ? "hugepages are on (dpdk_hugepages = 1): reserve some (echo 512 > "
					 "/proc/sys/vm/nr_hugepages), or turn them off; check dpdk_eal_args and "
					 "the EAL's messages above" :
			 e == ENOMEM ? "not enough memory for -m " NOHUGE_MEMORY_MB " MiB; check dpdk_eal_args "
				       "and the EAL's messages above" :
			 "check dpdk_eal_args (the extra arguments) and the EAL's messages above; the "
			 "EAL starts once per process, restart the VMM to try again");
		eal.state = e > 0 ? -e : -EINVAL;
		rmdir(rte_eal_get_runtime_dir()); /* made empty: no shared configuration */
		snprintf(msg, msglen, "%s", eal.failure);
		return eal.state;
	}
	eal.state = 1;
	rmdir(rte_eal_get_runtime_dir());
	return 0;
}

/* DPDK's calls return -errno, or -1 for "failed" (the PMD logged why). */
static const char *dpdk_strerror(int r)
{
	return r < -1 ? rte_strerror(-r) : "failed (the driver's message is above)";
}

static int dpdk_send(struct net_port *p, const struct net_frame *frames, unsigned n)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	unsigned got = 0, i;
	uint16_t sent;

	if (n > BURST)
		n = BURST;
	if (rte_pktmbuf_alloc_bulk(d->dev->pool, d->mb, n) == 0) {
		got = n;
	} else {
		/* The pool is short (mbufs held in the PMD's rings): take what there is. */
		while (got < n && (d->mb[got] = rte_pktmbuf_alloc(d->dev->pool)) != NULL)
			got++;
		atomic_fetch_add_explicit(&d->no_mbuf, n - got, memory_order_relaxed);
	}
	for (i = 0; i < got; i++) {
		char *dst = rte_pktmbuf_append(d->mb[i], frames[i].len);

		/* A frame is at most NET_PORT_FRAME_MAX, the data room 2048: cannot fail. */
		memcpy(dst, frames[i].data, frames[i].len);
	}
	sent = got ? rte_eth_tx_burst(d->dev->port_id, d->queue, d->mb, (uint16_t)got) : 0;
	if (sent < got)
		rte_pktmbuf_free_bulk(d->mb + sent, got - sent);
	atomic_fetch_add_explicit(&d->sent, sent, memory_order_relaxed);
	atomic_fetch_add_explicit(&d->unsent, n - sent, memory_order_relaxed);
	return sent;
}

static int dpdk_recv(struct net_port *p, struct net_frame *frames, unsigned n)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	uint16_t got = rte_eth_rx_burst(d->dev->port_id, d->queue, d->mb, (uint16_t)(n > BURST ? BURST : n));
	unsigned kept = 0;

	for (uint16_t i = 0; i < got; i++) {
		uint32_t len = rte_pktmbuf_pkt_len(d->mb[i]);
		const void *src;

		if (len < 14 || len > NET_PORT_FRAME_MAX || len > frames[kept].cap) {
			atomic_fetch_add_explicit(&d->rx_dropped, 1, memory_order_relaxed);
			continue;
		}
		/* Copies into data itself only when the mbuf is a chain; else points into it. */
		src = rte_pktmbuf_read(d->mb[i], 0, len, frames[kept].data);
		if (src != frames[kept].data)
			memcpy(frames[kept].data, src, len);
		frames[kept++].len = (uint16_t)len;
	}
	if (got)
		rte_pktmbuf_free_bulk(d->mb, got);
	atomic_fetch_add_explicit(&d->received, kept, memory_order_relaxed);
	return (int)kept;
}

static int dpdk_rx_fd(struct net_port *p)
{
	(void)p;
	return -1; /* see port_dpdk.h: netback looks at recv every 1 ms while it sleeps */
}

static int dpdk_stats_json(struct net_port *p, char *buf, size_t size)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	struct rte_eth_stats st;
	int n, r = rte_eth_stats_get(d->dev->port_id, &st);

	if (r < 0)
		memset(&st, 0, sizeof(st));
	n = snprintf(buf, size, "\"kind\":\"dpdk\",\"vdev\":\"%s\",\"queue\":%u,\"sent\":%llu,\"unsent\":%llu,"
		     "\"no_mbuf\":%llu,\"received\":%llu,\"rx_dropped\":%llu,\"pmd\":{\"ok\":%s,\"ipackets\":%llu,"
		     "\"opackets\":%llu,\"ibytes\":%llu,\"obytes\":%llu,\"imissed\":%llu,\"ierrors\":%llu,"
		     "\"oerrors\":%llu,\"rx_nombuf\":%llu}", d->dev->name, d->queue,
		     (unsigned long long)atomic_load(&d->sent), (unsigned long long)atomic_load(&d->unsent),
		     (unsigned long long)atomic_load(&d->no_mbuf), (unsigned long long)atomic_load(&d->received),
		     (unsigned long long)atomic_load(&d->rx_dropped), r < 0 ? "false" : "true",
		     (unsigned long long)st.ipackets, (unsigned long long)st.opackets,
		     (unsigned long long)st.ibytes, (unsigned long long)st.obytes,
		     (unsigned long long)st.imissed, (unsigned long long)st.ierrors,
		     (unsigned long long)st.oerrors, (unsigned long long)st.rx_nombuf);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Stops and removes dev, frees its pool; under eal.lock. */
static void dev_destroy(struct dpdk_dev *dev)
{
	struct dpdk_dev **pp;

	for (pp = &eal.devs; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	if (rte_eth_dev_is_valid_port(dev->port_id)) {
		rte_eth_dev_stop(dev->port_id);
		rte_eth_dev_close(dev->port_id);
	}
	rte_eal_hotplug_remove("vdev", dev->name);
	rte_mempool_free(dev->pool);
	free(dev);
}

static void dpdk_close(struct net_port *p)
{
	struct dpdk_port *d = (struct dpdk_port *)p;

	if (!d)
		return;
	pthread_mutex_lock(&eal.lock);
	if (--d->dev->open == 0)
		dev_destroy(d->dev);
	pthread_mutex_unlock(&eal.lock);
	free(d);
}

static const struct net_port_ops dpdk_ops = {
	.kind = "dpdk",
	.send = dpdk_send,
	.recv = dpdk_recv,
	.rx_fd = dpdk_rx_fd,
	.stats_json = dpdk_stats_json,
	.close = dpdk_close,
};

/* Probes, configures and starts the vdev; under eal.lock.  0 or -errno with msg. */
static int dev_open(const char *vdev_args, unsigned queues, struct dpdk_dev **out, char *msg, size_t msglen)
{
	size_t nlen = strcspn(vdev_args, ",");
	const char *args = vdev_args[nlen] ? vdev_args + nlen + 1 : "";
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct dpdk_dev *dev;
	char pool_name[RTE_MEMPOOL_NAMESIZE];
	uint16_t nrx = DESC, ntx = DESC;
	int r;

	if (nlen == 0 || nlen >= sizeof(dev->name)) {
		snprintf(msg, msglen, "dpdk:%s: the vdev's name (before the first ',') must be 1 to %zu "
			 "characters, e.g. net_memif0", vdev_args, sizeof(dev->name) - 1);
		return -EINVAL;
	}
	for (dev = eal.devs; dev; dev = dev->next) {
		if (strlen(dev->name) == nlen && !strncmp(dev->name, vdev_args, nlen)) {
			snprintf(msg, msglen, "dpdk:%s: %s is open already in this process (each port needs a "
				 "vdev of its own name: net_memif0, net_memif1, ...)", vdev_args, dev->name);
			return -EBUSY;
		}
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		snprintf(msg, msglen, "dpdk:%s: out of memory", vdev_args);
		return -ENOMEM;
	}
	memcpy(dev->name, vdev_args, nlen);
	r = rte_eal_hotplug_add("vdev", dev->name, args);
	if (r < 0) {
		snprintf(msg, msglen, "dpdk:%s: probing the vdev: %s; drivers in this build: net_ring, "
			 "net_memif, net_af_packet, net_tap, net_null; check the name and the arguments (e.g. "
			 "net_af_packet's iface= must exist)", vdev_args,
			 r == -EFAULT ? "no driver of that name" : dpdk_strerror(r));
		free(dev);
		return r < -1 ? r : -ENODEV;
	}
	r = rte_eth_dev_get_port_by_name(dev->name, &dev->port_id);
	if (r < 0) {
		snprintf(msg, msglen, "dpdk:%s: probed, but it is no Ethernet device: %s", vdev_args,
			 dpdk_strerror(r));
		goto remove;
	}
	r = rte_eth_dev_info_get(dev->port_id, &info);
	if (r < 0) {
		snprintf(msg, msglen, "dpdk:%s: rte_eth_dev_info_get: %s", vdev_args, dpdk_strerror(r));
		goto close;
	}
	if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
		snprintf(msg, msglen, "dpdk:%s: %u queues asked, the device has %u RX and %u TX%s", vdev_args,
			 queues, info.max_rx_queues, info.max_tx_queues,
			 !strncmp(dev->name, "net_af_packet", 13) ? " (add qpairs=N to its arguments)" :
			 !strncmp(dev->name, "net_ring", 8) ? " (net_ring has 1; use net_memif for more)" : "");
		r = -EINVAL;
		goto close;
	}
	snprintf(pool_name, sizeof(pool_name), "xenith_p%u", dev->port_id);
	/* No per-lcore cache: the netback threads are not lcores (port_dpdk.h). */
	dev->pool = rte_pktmbuf_pool_create(pool_name, POOL_PER_QUEUE * queues + 1023, 0, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (!dev->pool) {
		r = -(rte_errno ? rte_errno : ENOMEM);
		snprintf(msg, msglen, "dpdk:%s: the mbuf pool (%u mbufs): %s (the EAL's memory is -m "
			 NOHUGE_MEMORY_MB " MiB without hugepages: raise it with dpdk_eal_args = \"-m 256\")",
			 vdev_args, POOL_PER_QUEUE * queues + 1023, rte_strerror(-r));
		goto close;
	}
	memset(&conf, 0, sizeof(conf));
	r = rte_eth_dev_configure(dev->port_id, (uint16_t)queues, (uint16_t)queues, &conf);
	if (r == 0)
		r = rte_eth_dev_adjust_nb_rx_tx_desc(dev->port_id, &nrx, &ntx);
	for (unsigned q = 0; q < queues && r == 0; q++) {
		r = rte_eth_rx_queue_setup(dev->port_id, (uint16_t)q, nrx, (unsigned)rte_eth_dev_socket_id(dev->port_id),
					   NULL, dev->pool);
		if (r == 0)
			r = rte_eth_tx_queue_setup(dev->port_id, (uint16_t)q, ntx,
						   (unsigned)rte_eth_dev_socket_id(dev->port_id), NULL);
	}
	if (r == 0)
		r = rte_eth_dev_start(dev->port_id);
	if (r < 0) {
		snprintf(msg, msglen, "dpdk:%s: configuring %u queue(s) and starting it: %s%s", vdev_args, queues,
			 dpdk_strerror(r), !strncmp(dev->name, "net_memif", 9) && strstr(args, "role=client") ?
			 " (a memif client needs its server's socket to exist)" : "");
		r = r < -1 ? r : -EIO;
		goto close;
	}
	/* The guest's MAC is not the device's: take every frame (no-op where there is no filter). */
	rte_eth_promiscuous_enable(dev->port_id);
	dev->next = eal.devs;
	eal.devs = dev;
	*out = dev;
	return 0;
close:
	rte_eth_dev_close(dev->port_id);
remove:
	if (r == -1)
		r = -EIO;
	rte_eal_hotplug_remove("vdev", dev->name);
	rte_mempool_free(dev->pool);
	free(dev);
	return r;
}

int port_dpdk_open(const char *vdev_args, unsigned queues, struct net_port **ports, char *msg, size_t msglen)
{
	struct dpdk_port *d[PORT_DPDK_MAX_QUEUES] = { 0 };
	struct dpdk_dev *dev;
	unsigned q;
	int r;

	if (!vdev_args || !vdev_args[0] || strlen(vdev_args) >= PORT_DPDK_ARGS_MAX || queues < 1 ||
	    queues > PORT_DPDK_MAX_QUEUES) {
		snprintf(msg, msglen, "dpdk:%.64s: vdev arguments of 1 to %u characters and 1 to %u queues "
			 "(%u asked)", vdev_args ? vdev_args : "", PORT_DPDK_ARGS_MAX - 1, PORT_DPDK_MAX_QUEUES,
			 queues);
		return -EINVAL;
	}
	for (q = 0; q < queues; q++) {
		d[q] = calloc(1, sizeof(*d[q]));
		if (!d[q]) {
			snprintf(msg, msglen, "dpdk:%s: out of memory", vdev_args);
			r = -ENOMEM;
			goto free_ports;
		}
	}
	pthread_mutex_lock(&eal.lock);
	r = eal_start(msg, msglen);
	if (r == 0)
		r = dev_open(vdev_args, queues, &dev, msg, msglen);
	if (r == 0)
		dev->open = queues;
	pthread_mutex_unlock(&eal.lock);
	if (r < 0)
		goto free_ports;
	for (q = 0; q < queues; q++) {
		d[q]->port.ops = &dpdk_ops;
		d[q]->dev = dev;
		d[q]->queue = (uint16_t)q;
		snprintf(d[q]->port.name, sizeof(d[q]->port.name), "dpdk:%s", dev->name);
		ports[q] = &d[q]->port;
	}
	return 0;
free_ports:
	for (q = 0; q < queues; q++)
		free(d[q]);
	return r;
}

/*
 * The drivers are one object with this file (io/dpdk_pmds.sh): referring to
 * one of its symbols links all of them, and their constructors register
 * net_ring, net_memif, net_af_packet, net_tap, net_null, the vdev bus and
 * the ring mempool.
 */
__attribute__((used)) static int (*const link_the_drivers)(struct rte_ring *) = rte_eth_from_ring;
