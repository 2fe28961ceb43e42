/* SPDX-License-Identifier: MIT */
/*
 * An SR-IOV NIC's virtual functions as the PF's driver sets them up for a
 * domain: each VF's MAC address, VLAN (and 802.1p priority), MAC/VLAN
 * anti-spoof check and trust, as `ip link set DEV vf N mac M vlan V
 * spoofchk on|off trust on|off` sets them and `ip link show DEV` lists them.
 * All through rtnetlink on a NETLINK_ROUTE socket (RTM_SETLINK with a
 * nested IFLA_VFINFO_LIST > IFLA_VF_INFO; RTM_GETLINK with IFLA_EXT_MASK =
 * RTEXT_FILTER_VF), with no netlink library.  DEV is the PF's network
 * interface (its host driver stays bound: VF settings are the PF driver's).
 *
 * The request builders and the reply parsers are pure, so that the unit
 * tests (sriov/tests/test_nic_vf.c) and the fuzz target (fuzz/fuzz_nic_vf.c)
 * drive them with bytes; nic_vf_set and nic_vf_list do the I/O.  Replies
 * come from the kernel but are parsed as if they did not: every length is
 * checked against what holds it, and a message that does not fit is -EPROTO.
 */
#ifndef XENITH_SRIOV_NIC_VF_H
#define XENITH_SRIOV_NIC_VF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define NIC_VF_VLAN_MAX 4094  /* 4095 is reserved by 802.1Q */
#define NIC_VF_QOS_MAX 7      /* the 3-bit priority (PCP) */
#define NIC_VF_MSG_LEN 256    /* room for the kernel's extended-ack message */

/* What to change on one VF: only the fields whose set_ flag is true. */
struct nic_vf_settings {
	bool set_mac, set_vlan, set_spoofchk, set_trust;
	uint8_t mac[6];   /* 00:00:00:00:00:00: none from the PF, the VF chooses its own */
	uint16_t vlan;    /* 0: no VLAN (the VF's traffic untagged, not filtered) */
	uint8_t qos;
	bool spoofchk, trust;
};

/* One VF as the PF's driver reports it (RTM_GETLINK, IFLA_VF_INFO). */
struct nic_vf_state {
	uint32_t vf;
	bool has_mac, has_vlan;
	uint8_t mac[6];          /* the first 6 of the kernel's 32 address bytes (Ethernet) */
	uint32_t vlan, qos;      /* as reported: 0-4095 and 0-7 from any driver that keeps to the UAPI */
	int8_t spoofchk, trust;  /* 1 on, 0 off, -1 not reported (the driver cannot say, or no attribute) */
};

/* One link's SR-IOV view from RTM_GETLINK. */
struct nic_vf_link {
	int ifindex;
	char kind[16];   /* IFLA_INFO_KIND ("veth", "dummy", ...): "" for a device's own driver */
	int64_t num_vf;  /* IFLA_NUM_VF: VFs enabled; -1 when absent (no parent device: cannot have VFs) */
	bool vfinfo;     /* IFLA_VFINFO_LIST present: the driver reports its VFs' settings */
	size_t nvf;      /* VF entries in the list */
	size_t stored;   /* of them, stored in the caller's array (at most its size) */
};

/*
 * RTM_SETLINK for link ifindex with IFLA_VFINFO_LIST > IFLA_VF_INFO holding
 * IFLA_VF_MAC, IFLA_VF_VLAN, IFLA_VF_SPOOFCHK and IFLA_VF_TRUST for VF vf,
 * those s sets; NLM_F_REQUEST | NLM_F_ACK, sequence number seq.  Returns
 * the message's length, -ENOSPC when it does not fit in size bytes, or
 * -EINVAL when s sets nothing (the kernel answers EINVAL to an empty
 * IFLA_VF_INFO).
 */
int nic_vf_build_set(void *buf, size_t size, int ifindex, uint32_t vf, const struct nic_vf_settings *s,
		     uint32_t seq);

/* RTM_GETLINK for link ifindex with IFLA_EXT_MASK = RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS. */
int nic_vf_build_get(void *buf, size_t size, int ifindex, uint32_t seq);

/*
 * Looks through a netlink reply (len bytes, possibly several messages) for
 * the NLMSG_ERROR answering sequence number seq; other messages are
 * skipped.  Returns 0 for an ack of 0, the kernel's -errno, -EPROTO for a
 * message that is malformed or truncated (or an error code no kernel
 * sends), or 1 when buf holds no answer to seq (read on).  The extended
 * ack's message (NLMSGERR_ATTR_MSG, present when NLM_F_ACK_TLVS is set)
 * goes into msg (msgsize bytes, NUL-terminated, non-printable bytes as
 * '?'); "" when there is none.  msg may be NULL.
 */
int nic_vf_parse_ack(const void *buf, size_t len, uint32_t seq, char *msg, size_t msgsize);

/*
 * Looks through a reply to nic_vf_build_get for the RTM_NEWLINK of link
 * ifindex with sequence number seq and reads its SR-IOV view into l and
 * up to max VF entries into vf (IFLA_VFINFO_LIST, in the kernel's order).
 * Unknown attributes are skipped.  Returns 0, 1 when buf holds neither
 * that link nor an error for seq, the kernel's -errno (its extended-ack
 * message in msg, as nic_vf_parse_ack) or -EPROTO: a length that does not
 * fit what holds it, a VF attribute shorter than its UAPI struct, or a VF
 * entry whose attributes name different VFs.
 */
int nic_vf_parse_link(const void *buf, size_t len, uint32_t seq, int ifindex, struct nic_vf_link *l,
		      struct nic_vf_state *vf, size_t max, char *msg, size_t msgsize);

/*
 * Sets s on VF vf of the PF's interface ifname: one RTM_SETLINK per field,
 * in the order the kernel applies them (MAC, VLAN, spoofchk, trust), so
 * that a refusal names its field; the fields before it stay set, and the
 * message says which those are.  0, or -errno with what to do in eb
 * (EOPNOTSUPP: the driver has no VF settings; EINVAL/ENODEV/ERANGE with a
 * VF past the device's VFs: how many it has; EPERM: CAP_NET_ADMIN).
 */
int nic_vf_set(const char *ifname, unsigned vf, const struct nic_vf_settings *s, struct errbuf *eb);

/* Reads ifname's SR-IOV view (as nic_vf_parse_link) through RTM_GETLINK; 0 or -errno with eb. */
int nic_vf_list(const char *ifname, struct nic_vf_link *l, struct nic_vf_state *vf, size_t max,
		struct errbuf *eb);

/* "aa:bb:cc:dd:ee:ff" (hex, either case): unicast or all zero; -EINVAL and why in eb otherwise. */
int nic_vf_parse_mac(const char *s, uint8_t mac[6], struct errbuf *eb);
/* "V" or "V:QOS": V 0-4094, QOS 0-7 (0 without it). */
int nic_vf_parse_vlan(const char *s, uint16_t *vlan, uint8_t *qos, struct errbuf *eb);
/* One of the CLI's KEY=VALUE words (mac=, vlan=, spoofchk=on|off, trust=on|off) into s; a key given twice is refused. */
int nic_vf_parse_arg(const char *arg, struct nic_vf_settings *s, struct errbuf *eb);

#endif
