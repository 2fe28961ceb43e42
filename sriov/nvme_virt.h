/* SPDX-License-Identifier: MIT */
/*
 * NVMe virtualization management: an SR-IOV NVMe PF (the primary
 * controller) owns the flexible queue (VQ) and interrupt (VI) resources;
 * each VF is a secondary controller that serves no I/O until the primary
 * assigns it some and brings it online (NVMe 1.4 section 8.5, the
 * Virtualization Management admin command, opcode 0x1c).  Everything goes
 * through the PF's admin queue, which the host's nvme driver owns: the
 * kernel's admin pass-through (NVME_IOCTL_ADMIN_CMD on /dev/nvmeN), the
 * same commands nvme-cli's `virt-mgmt` and `list-secondary` send.
 *
 * The sequence (nvme_virt_online) is written over a small transport so that
 * the unit tests run it against a model of a controller
 * (sriov/tests/test_nvme_virt.c); nvme_virt_open gives the real one.
 */
#ifndef XENITH_SRIOV_NVME_VIRT_H
#define XENITH_SRIOV_NVME_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define NVME_ID_BUF 4096
#define NVME_MAX_SECONDARY 127 /* entries one Secondary Controller List holds */

/* Identify CNS 0x14: the primary controller's flexible resources. */
struct nvme_prictrl {
	uint16_t cntlid;
	bool vq_flexible, vi_flexible; /* CRT: which resource types are flexible at all */
	uint32_t vqfrt, vqrfa;         /* VQ: flexible total, assigned to secondaries */
	uint16_t vqrfap, vqprt;        /* VQ: flexible allocated to the primary, private to the primary */
	uint16_t vqfrsm, vqgran;       /* VQ: most per secondary, granularity */
	uint32_t vifrt, virfa;         /* the same for interrupts */
	uint16_t virfap, viprt, vifrsm, vigran;
};

/* One entry of Identify CNS 0x15, the Secondary Controller List. */
struct nvme_secctrl {
	uint16_t scid, pcid; /* the secondary's and its primary's controller IDs */
	bool online;
	uint16_t vfn;        /* VF number, 1-based: the PF's virtfn(vfn - 1) */
	uint16_t nvq, nvi;   /* resources assigned */
};

/* Parse the 4096-byte Identify data; -EINVAL and why in eb for data no controller sends. */
int nvme_parse_prictrl(const uint8_t *buf, size_t len, struct nvme_prictrl *p, struct errbuf *eb);
/* Fills up to NVME_MAX_SECONDARY entries of s; returns how many, or -errno. */
int nvme_parse_seclist(const uint8_t *buf, size_t len, struct nvme_secctrl *s, struct errbuf *eb);

/* The PF's admin queue: an admin command with an optional 4 KiB data-in buffer, and a controller reset. */
struct nvme_admin {
	void *ctx;
	/* returns 0, the NVMe status (> 0: SCT << 8 | SC), or -errno */
	int (*cmd)(void *ctx, uint8_t opcode, uint32_t cdw10, uint32_t cdw11, void *data, uint32_t len);
	int (*reset)(void *ctx); /* controller-level reset of the primary; 0 once it answers again, or -errno */
};

/* Identify CNS 0x14 and 0x15 through a: the primary and its secondaries (s: NVME_MAX_SECONDARY entries). */
int nvme_virt_query(const struct nvme_admin *a, struct nvme_prictrl *p, struct nvme_secctrl *s, size_t *ns,
		    struct errbuf *eb);

/* What nvme_virt_online does, step by step, for its caller to print (may be NULL). */
typedef void (*nvme_virt_progress)(void *arg, const char *step);

/*
 * Brings the secondary controllers of VFs 1..nvfs online with vq queues
 * (the admin queue counts: 2 is one I/O queue pair) and vi interrupts each:
 *   1. checks that the primary's flexible resources cover nvfs x vq and
 *      nvfs x vi and that vq, vi are within the per-secondary maximum;
 *   2. when the primary holds flexible resources, releases them (action 1,
 *      count 0) and resets the primary, which is when that takes effect;
 *   3. enable_vfs(arg, nvfs): the VFs must exist before a secondary goes
 *      online (the caller writes sriov_numvfs);
 *   4. each secondary already online with vq and vi is left alone; any
 *      other is taken offline, given vq and vi (action 8) and put online
 *      (action 9);
 *   5. reads the list back and checks that each is online with vq and vi.
 * 0, or -errno / the NVMe status with the step and what to do in eb.
 */
int nvme_virt_online(const struct nvme_admin *a, unsigned nvfs, unsigned vq, unsigned vi,
		     int (*enable_vfs)(void *arg, unsigned nvfs, struct errbuf *eb), void *arg,
		     nvme_virt_progress progress, void *parg, struct errbuf *eb);

/* Takes every online secondary offline and gives its resources back (assign 0). */
int nvme_virt_offline(const struct nvme_admin *a, nvme_virt_progress progress, void *parg, struct errbuf *eb);

/*
 * The real transport: the PF at bdf (under the sysfs root) must be bound to
 * the nvme driver; opens its /dev/nvmeN (devdir, normally "/dev").
 * nvme_virt_close releases it.
 */
struct nvme_pf {
	int fd;
	char name[32]; /* "nvme0" */
};
int nvme_virt_open(const char *root, const char *devdir, const char *bdf, struct nvme_pf *pf,
		   struct nvme_admin *a, struct errbuf *eb);
void nvme_virt_close(struct nvme_pf *pf);

/* "Invalid Controller Identifier", ...: the Virtualization Management and Identify statuses, by name. */
const char *nvme_status_name(int status);

#endif
