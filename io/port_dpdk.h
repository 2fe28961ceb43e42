/* SPDX-License-Identifier: MIT */
/*
 * A DPDK software vdev as a vif's port (io/netport.h): "port=dpdk:VDEV-ARGS".
 *
 * VDEV-ARGS is what DPDK's --vdev takes: the device name, then its
 * arguments ("net_memif0,role=server,socket=/tmp/x.sock",
 * "net_af_packet0,iface=veth1,qpairs=2", "net_tap0,iface=xd0",
 * "net_ring0").  The device is probed (hot-plugged on the vdev bus),
 * configured with `queues` RX and TX queues, started, and each queue is
 * one struct net_port; all or none.  The last queue closed stops, closes
 * and removes the device.
 *
 * Known limit (DPDK 22.11): a net_memif server's listening socket is
 * released only on the EAL interrupt thread's next event on it, so after
 * its port closes the same socket cannot be served again by this process
 * (probing says "Address already in use"); the VMM keeps its ports from
 * domain create to destroy, reboots included, so only a second domain of
 * one process on the same socket meets it.
 *
 * The EAL starts once per process, at the first open: --no-huge (64 MiB
 * of ordinary memory) unless port_dpdk_eal_configure() asked for
 * hugepages, --no-pci, --no-telemetry, --in-memory (no shared
 * configuration, no files), a file prefix of its own
 * (xenith-PID), one lcore on the CPUs the caller may run on (so
 * rte_eal_init pins nobody), logs to stderr at warning level and above.
 * A failed start is remembered: every later open reports it again.
 *
 * Threads: the netback threads are not EAL lcores and are not registered
 * (rte_thread_register would take an lcore slot each and system calls
 * under the VMM's filter).  That is safe because the mbuf pool has no
 * per-lcore cache (a non-lcore thread would use none anyway, and it
 * would only be a cache for lcores we never run): every get and put goes
 * to the pool's multi-producer, multi-consumer ring, and each queue is
 * burst by one thread only.  The EAL starts its own interrupt thread
 * (eal-intr-thread: memif's control channel, alarms).
 *
 * send copies each frame into an mbuf and calls rte_eth_tx_burst once;
 * the mbufs the PMD did not take are freed and not counted as sent (they
 * are netback's port_full).  recv calls rte_eth_rx_burst once, copies
 * the frames out and frees the mbufs (runts and frames over
 * NET_PORT_FRAME_MAX are dropped and counted).
 *
 * rx_fd is -1: none of these PMDs gives a descriptor that says "frames
 * waiting" that a plain poll(2) could wait on (af_packet and ring offer no
 * RX interrupt; memif's is an eventfd the peer writes, which would have
 * to be drained and re-armed before each sleep without losing a frame
 * that came in between; tap's would do, but is one driver of four).
 * netback then sleeps in ppoll with a 1 ms tick (NO_RX_FD_POLL_NS in
 * io/netback.c) between looks at recv, on its kick eventfd too, so an
 * idle queue costs 1000 wake-ups per second and no spinning (measured:
 * an idle net-sink domain on dpdk:[net_af_packet0,...] in ioeventfd mode
 * used 0.27 s of CPU in 10 s, 1.1k context switches a second; on a tap
 * 0.08 s), and a frame waits at most about 1 ms before the guest gets
 * it in exit and ioeventfd modes after an idle spell; for 10 ms after
 * traffic netback looks every 50 us (NO_RX_FD_FAST_NS), so the frames of
 * a flow and the replies of a conversation wait tens of microseconds
 * (poll mode looks continuously while busy).
 */
#ifndef XENITH_IO_PORT_DPDK_H
#define XENITH_IO_PORT_DPDK_H

#include <stdbool.h>
#include <stddef.h>

#include "netport.h"

#define PORT_DPDK_MAX_QUEUES 8u
#define PORT_DPDK_ARGS_MAX 256u   /* VDEV-ARGS, with the NUL */
#define PORT_DPDK_EAL_ARGS_MAX 256u

/*
 * How the EAL starts, before the first port_dpdk_open of the process:
 * hugepages (no --no-huge, no -m: the EAL takes hugepages from
 * /proc/sys/vm/nr_hugepages as it needs them) and extra_args (NULL or ""
 * none; words separated by spaces, appended after Xenith's own, e.g.
 * "-m 256" or "--log-level=pmd.net.memif:debug").  0; -EALREADY with a
 * message when the EAL started already with other settings (one EAL per
 * process: the first wins); -EINVAL for args too long or of too many words.
 */
int port_dpdk_eal_configure(bool hugepages, const char *extra_args, char *msg, size_t msglen);

/*
 * Opens queues (1 to PORT_DPDK_MAX_QUEUES) ports on the vdev vdev_args,
 * ports[0..queues), all or none.  0, or -errno with the reason and what
 * to do in msg: the EAL's arguments and rte_strerror when it fails to
 * start; -ENOTSUP in a program without DPDK (io/port_dpdk_none.c: the
 * plain build/tools/xenith, whose domains with a dpdk vif run in
 * xenith-dpdk, and every program of a build without libdpdk).
 */
int port_dpdk_open(const char *vdev_args, unsigned queues, struct net_port **ports, char *msg, size_t msglen);

/* True when this build has DPDK (port_dpdk_open can work). */
bool port_dpdk_available(void);

#endif
