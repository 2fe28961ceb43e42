// SPDX-License-Identifier: MIT
/*
 * NVMe virtualization management through a PF's admin queue (nvme_virt.h).
 * Identify data is little-endian; read it byte by byte, never by casting.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nvme_ioctl.h>

#include "nvme_virt.h"
#include "pci.h"

#define OP_IDENTIFY 0x06
#define OP_VIRT_MGMT 0x1c
#define CNS_PRIMARY_CAPS 0x14
#define CNS_SECONDARY_LIST 0x15
#define ACT_PRIMARY_FLEXIBLE 0x1
#define ACT_SECONDARY_OFFLINE 0x7
#define ACT_SECONDARY_ASSIGN 0x8
#define ACT_SECONDARY_ONLINE 0x9
#define RT_VQ 0
#define RT_VI 1
#define SEC_ENTRY 32 /* bytes per Secondary Controller Entry; the list's header is one entry long */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int nvme_parse_prictrl(const uint8_t *buf, size_t len, struct nvme_prictrl *p, struct errbuf *eb)
{
	if (len < 80)
		return errbuf_set(eb, EINVAL, "primary controller capabilities: %zu bytes, need 80", len);
	memset(p, 0, sizeof(*p));
	p->cntlid = le16(buf);
	p->vq_flexible = buf[4] & 1;
	p->vi_flexible = buf[4] & 2;
	p->vqfrt = le32(buf + 32);
	p->vqrfa = le32(buf + 36);
	p->vqrfap = le16(buf + 40);
	p->vqprt = le16(buf + 42);
	p->vqfrsm = le16(buf + 44);
	p->vqgran = le16(buf + 46);
	p->vifrt = le32(buf + 64);
	p->virfa = le32(buf + 68);
	p->virfap = le16(buf + 72);
	p->viprt = le16(buf + 74);
	p->vifrsm = le16(buf + 76);
	p->vigran = le16(buf + 78);
	/* What is handed out cannot exceed the flexible total (overflow-safe: 64-bit sums). */
	if ((uint64_t)p->vqrfa + p->vqrfap > p->vqfrt || (uint64_t)p->virfa + p->virfap > p->vifrt)
		return errbuf_set(eb, EINVAL,
				  "primary controller capabilities are inconsistent: VQ %u + %u assigned of %u flexible, "
				  "VI %u + %u of %u",
				  p->vqrfa, p->vqrfap, p->vqfrt, p->virfa, p->virfap, p->vifrt);
	return 0;
}

int nvme_parse_seclist(const uint8_t *buf, size_t len, struct nvme_secctrl *s, struct errbuf *eb)
{
	size_t n;

	if (len < SEC_ENTRY)
		return errbuf_set(eb, EINVAL, "secondary controller list: %zu bytes, need at least %d", len, SEC_ENTRY);
	n = buf[0];
	if (n > NVME_MAX_SECONDARY || SEC_ENTRY * (n + 1) > len)
		return errbuf_set(eb, EINVAL, "secondary controller list: %zu entries do not fit in its %zu bytes", n,
				  len);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = buf + SEC_ENTRY * (i + 1);

		s[i] = (struct nvme_secctrl){
			.scid = le16(e), .pcid = le16(e + 2), .online = e[4] & 1,
			.vfn = le16(e + 8), .nvq = le16(e + 10), .nvi = le16(e + 12),
		};
		if (!s[i].vfn)
			return errbuf_set(eb, EINVAL, "secondary controller %u has VF number 0 (VFs count from 1)",
					  s[i].scid);
	}
	return (int)n;
}

const char *nvme_status_name(int status)
{
	switch (status) {
	case 0x0001: return "Invalid Command Opcode";
	case 0x0002: return "Invalid Field in Command";
	case 0x011f: return "Invalid Controller Identifier";
	case 0x0120: return "Invalid Secondary Controller State";
	case 0x0121: return "Invalid Number of Controller Resources";
	case 0x0122: return "Invalid Resource Identifier";
	default: return "NVMe error";
	}
}

/* a's command; an NVMe status or errno becomes a message naming what was asked. */
static int admin(const struct nvme_admin *a, uint8_t op, uint32_t cdw10, uint32_t cdw11, void *data, uint32_t len,
		 struct errbuf *eb, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static int admin(const struct nvme_admin *a, uint8_t op, uint32_t cdw10, uint32_t cdw11, void *data, uint32_t len,
		 struct errbuf *eb, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	int r = a->cmd(a->ctx, op, cdw10, cdw11, data, len);

	if (!r)
		return 0;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r < 0)
		return errbuf_set(eb, -r, "%s: %s", what, strerror(-r));
	return errbuf_set(eb, EIO, "%s: the controller answered status 0x%03x (%s)", what, r, nvme_status_name(r));
}

int nvme_virt_query(const struct nvme_admin *a, struct nvme_prictrl *p, struct nvme_secctrl *s, size_t *ns,
		    struct errbuf *eb)
{
	uint8_t buf[NVME_ID_BUF];
	int r;

	memset(buf, 0, sizeof(buf));
	r = admin(a, OP_IDENTIFY, CNS_PRIMARY_CAPS, 0, buf, sizeof(buf), eb, "Identify primary controller capabilities");
	if (r == -EIO)
		return errbuf_prefix(eb, EOPNOTSUPP, "the controller has no virtualization management");
	if (r < 0 || (r = nvme_parse_prictrl(buf, sizeof(buf), p, eb)) < 0)
		return r;
	memset(buf, 0, sizeof(buf));
	r = admin(a, OP_IDENTIFY, CNS_SECONDARY_LIST, 0, buf, sizeof(buf), eb, "Identify secondary controller list");
	if (r < 0 || (r = nvme_parse_seclist(buf, sizeof(buf), s, eb)) < 0)
		return r;
	*ns = (size_t)r;
	return 0;
}

static void say(nvme_virt_progress progress, void *parg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(nvme_virt_progress progress, void *parg, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	progress(parg, line);
}

static int mgmt(const struct nvme_admin *a, unsigned act, unsigned rt, uint16_t cntlid, unsigned nr, struct errbuf *eb)
{
	static const char *const acts[] = {
		[ACT_PRIMARY_FLEXIBLE] = "allocate to the primary", [ACT_SECONDARY_OFFLINE] = "take offline",
		[ACT_SECONDARY_ASSIGN] = "assign", [ACT_SECONDARY_ONLINE] = "bring online",
	};

	return admin(a, OP_VIRT_MGMT, (uint32_t)cntlid << 16 | rt << 8 | act, nr, NULL, 0, eb,
		     "Virtualization Management (%s, %u %s, controller %u)", acts[act], nr, rt == RT_VQ ? "VQ" : "VI",
		     cntlid);
}

/* The secondary of VF vfn in s, or NULL. */
static const struct nvme_secctrl *sec_of_vf(const struct nvme_secctrl *s, size_t ns, unsigned vfn)
{
	for (size_t i = 0; i < ns; i++)
		if (s[i].vfn == vfn)
			return &s[i];
	return NULL;
}

int nvme_virt_online(const struct nvme_admin *a, unsigned nvfs, unsigned vq, unsigned vi,
		     int (*enable_vfs)(void *arg, unsigned nvfs, struct errbuf *eb), void *arg,
		     nvme_virt_progress progress, void *parg, struct errbuf *eb)
{
	struct nvme_secctrl s[NVME_MAX_SECONDARY];
	struct nvme_prictrl p;
	uint64_t vq_other = 0, vi_other = 0;
	size_t ns;
	int r = nvme_virt_query(a, &p, s, &ns, eb);

	if (r < 0)
		return r;
	if (!p.vq_flexible || !p.vi_flexible)
		return errbuf_set(eb, EOPNOTSUPP, "the controller's queues%s and interrupts%s cannot be given to its VFs "
						  "(primary capabilities: %s)", p.vq_flexible ? "" : " (VQ)",
				  p.vi_flexible ? "" : " (VI)", p.vq_flexible ? "VI not flexible" : "VQ not flexible");
	if (!nvfs || nvfs > ns)
		return errbuf_set(eb, ERANGE, "%u VFs asked, the controller has %zu secondary controllers", nvfs, ns);
	if (vq < 2 || vi < 1)
		return errbuf_set(eb, EINVAL, "a VF needs at least 2 queues (its admin queue and one I/O queue) and 1 "
					      "interrupt, not %u and %u", vq, vi);
	if ((p.vqfrsm && vq > p.vqfrsm) || (p.vifrsm && vi > p.vifrsm))
		return errbuf_set(eb, ERANGE, "at most %u queues and %u interrupts per VF (VQFRSM, VIFRSM), not %u and %u",
				  p.vqfrsm, p.vifrsm, vq, vi);
	if ((p.vqgran > 1 && vq % p.vqgran) || (p.vigran > 1 && vi % p.vigran))
		return errbuf_set(eb, EINVAL, "queues are assigned in multiples of %u and interrupts of %u (VQGRAN, "
					      "VIGRAN), not %u and %u", p.vqgran, p.vigran, vq, vi);
	/* Secondaries beyond nvfs keep what they hold; ours are reassigned. */
	for (size_t i = 0; i < ns; i++)
		if (s[i].vfn > nvfs) {
			vq_other += s[i].nvq;
			vi_other += s[i].nvi;
		}
	if ((uint64_t)nvfs * vq + vq_other > p.vqfrt || (uint64_t)nvfs * vi + vi_other > p.vifrt)
		return errbuf_set(eb, ENOSPC, "%u VFs x %u queues and x %u interrupts need %llu and %llu flexible "
					      "resources; the controller has %u and %u (%llu and %llu held by other VFs)",
				  nvfs, vq, vi, (unsigned long long)nvfs * vq, (unsigned long long)nvfs * vi, p.vqfrt,
				  p.vifrt, (unsigned long long)vq_other, (unsigned long long)vi_other);

	if (p.vqrfap || p.virfap) {
		say(progress, parg, "releasing the primary's flexible resources (%u queues, %u interrupts) and "
				    "resetting it", p.vqrfap, p.virfap);
		if ((r = mgmt(a, ACT_PRIMARY_FLEXIBLE, RT_VQ, p.cntlid, 0, eb)) < 0 ||
		    (r = mgmt(a, ACT_PRIMARY_FLEXIBLE, RT_VI, p.cntlid, 0, eb)) < 0)
			return r;
		r = a->reset(a->ctx);
		if (r < 0)
			return errbuf_set(eb, -r, "resetting the primary controller after releasing its flexible "
						  "resources: %s", strerror(-r));
		if ((r = nvme_virt_query(a, &p, s, &ns, eb)) < 0)
			return errbuf_prefix(eb, -r, "after resetting the primary");
		if (p.vqrfap || p.virfap)
			return errbuf_set(eb, EIO, "the primary still holds %u queues and %u interrupts after its reset",
					  p.vqrfap, p.virfap);
	}
	if ((r = enable_vfs(arg, nvfs, eb)) < 0)
		return r;
	for (unsigned vfn = 1; vfn <= nvfs; vfn++) {
		const struct nvme_secctrl *c = sec_of_vf(s, ns, vfn);

		if (!c)
			return errbuf_set(eb, ENODEV, "no secondary controller for VF %u in the controller's list", vfn);
		if (c->online && c->nvq == vq && c->nvi == vi) {
			say(progress, parg, "VF %u (controller %u): online already with %u queues, %u interrupts", vfn,
			    c->scid, vq, vi);
			continue;
		}
		say(progress, parg, "VF %u (controller %u): %u queues, %u interrupts, online", vfn, c->scid, vq, vi);
		if ((c->online && (r = mgmt(a, ACT_SECONDARY_OFFLINE, RT_VQ, c->scid, 0, eb)) < 0) ||
		    (r = mgmt(a, ACT_SECONDARY_ASSIGN, RT_VQ, c->scid, vq, eb)) < 0 ||
		    (r = mgmt(a, ACT_SECONDARY_ASSIGN, RT_VI, c->scid, vi, eb)) < 0 ||
		    (r = mgmt(a, ACT_SECONDARY_ONLINE, RT_VQ, c->scid, 0, eb)) < 0)
			return errbuf_prefix(eb, -r, "VF %u", vfn);
	}
	if ((r = nvme_virt_query(a, &p, s, &ns, eb)) < 0)
		return errbuf_prefix(eb, -r, "reading the secondary controllers back");
	for (unsigned vfn = 1; vfn <= nvfs; vfn++) {
		const struct nvme_secctrl *c = sec_of_vf(s, ns, vfn);

		if (!c || !c->online || c->nvq != vq || c->nvi != vi)
			return errbuf_set(eb, EIO, "VF %u reads back %s with %u queues and %u interrupts, not online with "
						   "%u and %u", vfn, c && c->online ? "online" : "offline", c ? c->nvq : 0,
					  c ? c->nvi : 0, vq, vi);
	}
	return 0;
}

int nvme_virt_offline(const struct nvme_admin *a, nvme_virt_progress progress, void *parg, struct errbuf *eb)
{
	struct nvme_secctrl s[NVME_MAX_SECONDARY];
	struct nvme_prictrl p;
	size_t ns;
	int r = nvme_virt_query(a, &p, s, &ns, eb);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ns; i++) {
		if (!s[i].online && !s[i].nvq && !s[i].nvi)
			continue;
		say(progress, parg, "VF %u (controller %u): offline, %u queues and %u interrupts released", s[i].vfn,
		    s[i].scid, s[i].nvq, s[i].nvi);
		if ((s[i].online && (r = mgmt(a, ACT_SECONDARY_OFFLINE, RT_VQ, s[i].scid, 0, eb)) < 0) ||
		    (s[i].nvq && (r = mgmt(a, ACT_SECONDARY_ASSIGN, RT_VQ, s[i].scid, 0, eb)) < 0) ||
		    (s[i].nvi && (r = mgmt(a, ACT_SECONDARY_ASSIGN, RT_VI, s[i].scid, 0, eb)) < 0))
			return errbuf_prefix(eb, -r, "VF %u", s[i].vfn);
	}
	return 0;
}

/* The real transport: the kernel's admin pass-through on /dev/nvmeN. */
static int pf_cmd(void *ctx, uint8_t opcode, uint32_t cdw10, uint32_t cdw11, void *data, uint32_t len)
{
	struct nvme_pf *pf = ctx;
	struct nvme_passthru_cmd c = {
		.opcode = opcode, .addr = (uintptr_t)data, .data_len = len,
		.cdw10 = cdw10, .cdw11 = cdw11, .timeout_ms = 10000,
	};
	int r = ioctl(pf->fd, NVME_IOCTL_ADMIN_CMD, &c);

	return r < 0 ? -errno : r & 0x7ff; /* SCT and SC; not the DNR and More bits */
}

static int pf_reset(void *ctx)
{
	struct nvme_pf *pf = ctx;

	/* Synchronous: the kernel returns once the controller is enabled again. */
	return ioctl(pf->fd, NVME_IOCTL_RESET) < 0 ? -errno : 0;
}

int nvme_virt_open(const char *root, const char *devdir, const char *bdf, struct nvme_pf *pf,
		   struct nvme_admin *a, struct errbuf *eb)
{
	char dir[PATH_MAX], dev[PATH_MAX + 40], drv[64] = "";
	struct dirent *de;
	unsigned cls = 0;
	FILE *f;
	DIR *d;
	int r = pci_fn_dir(root, bdf, dir, sizeof(dir), eb);

	if (r < 0)
		return r;
	memset(pf, 0, sizeof(*pf));
	pf->fd = -1;
	snprintf(dev, sizeof(dev), "%s/class", dir);
	f = fopen(dev, "r");
	if (f) {
		if (fscanf(f, "%x", &cls) != 1)
			cls = 0;
		fclose(f);
	}
	if (cls != 0x010802)
		return errbuf_set(eb, ENODEV, "%s is not an NVMe controller (class %06x, not 010802)", bdf, cls);
	pci_fn_driver(dir, drv, sizeof(drv));
	if (strcmp(drv, "nvme"))
		return errbuf_set(eb, ENODEV, "%s is on %s, not on the nvme driver: its secondary controllers are "
					      "managed through the host's nvme driver (echo %s > "
					      "/sys/bus/pci/drivers/nvme/bind)", bdf, drv[0] ? drv : "no driver", bdf);
	snprintf(dev, sizeof(dev), "%s/nvme", dir);
	d = opendir(dev);
	if (!d)
		return errbuf_set(eb, ENODEV, "%s is on nvme but has no controller (%s: %s)", bdf, dev, strerror(errno));
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "nvme", 4) && strlen(de->d_name) < sizeof(pf->name)) {
			strcpy(pf->name, de->d_name);
			break;
		}
	closedir(d);
	if (!pf->name[0])
		return errbuf_set(eb, ENODEV, "%s is on nvme but %s lists no controller", bdf, dev);
	snprintf(dev, sizeof(dev), "%s/%s", devdir, pf->name);
	pf->fd = open(dev, O_RDWR | O_CLOEXEC);
	if (pf->fd < 0)
		return errbuf_set(eb, errno, "%s (the controller of %s): %s%s", dev, bdf, strerror(errno),
				  errno == EACCES ? " (needs root)" : "");
	*a = (struct nvme_admin){ .ctx = pf, .cmd = pf_cmd, .reset = pf_reset };
	return 0;
}

void nvme_virt_close(struct nvme_pf *pf)
{
	if (pf->fd >= 0)
		close(pf->fd);
	pf->fd = -1;
}
