// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the domain config parser (hv/config.c).  The input is the
 * text of a config file; it must parse into a configuration that keeps
 * every documented limit, or fail with a message that names the file and
 * line; never crash, never leak (LeakSanitizer is on under libFuzzer).
 *
 * The first byte picks how the text goes in (the rest is the text):
 *   bits 0-1: base_dir (the config file's directory) is "", "/etc/xenith"
 *             or 4000 bytes long (relative paths then overflow PATH_MAX);
 *   bit 2:    through config_parse_file on a memfd (its read path and
 *             NUL check) as well as config_parse_text.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "xenith/blkif.h"
#include "xenith/netif.h"

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

/*
 * port=dpdk:[VDEV-ARGS]: the args are the vdev's name (the port name, no
 * more than letters, digits, '_') then ',' or the end, printable without
 * spaces, brackets balanced (what was inside the vif's brackets); no two
 * vifs on one vdev; other ports carry no args.
 */
static void check_dpdk_vif(const struct domain_config *c, unsigned i)
{
	const struct vif_config *v = &c->vifs[i];
	size_t name_len = strlen(v->port_name);
	int depth = 0;

	FUZZ_CHECK(terminated(v->dpdk_args, sizeof(v->dpdk_args)), "vif %u: dpdk args not terminated", i);
	if (v->port != VIF_PORT_DPDK) {
		FUZZ_CHECK(!v->dpdk_args[0], "vif %u: dpdk args '%s' on a %s port", i, v->dpdk_args,
			   vif_port_name(v->port));
		return;
	}
	FUZZ_CHECK(!strncmp(v->dpdk_args, v->port_name, name_len) &&
		   (v->dpdk_args[name_len] == ',' || !v->dpdk_args[name_len]) &&
		   strspn(v->port_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == name_len,
		   "vif %u: vdev name '%s' of args '%s'", i, v->port_name, v->dpdk_args);
	for (const char *p = v->dpdk_args; *p; p++) {
		FUZZ_CHECK(isgraph((unsigned char)*p), "vif %u: dpdk args '%s' with a space or control character",
			   i, v->dpdk_args);
		depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
		FUZZ_CHECK(depth >= 0, "vif %u: dpdk args '%s' close a bracket never opened", i, v->dpdk_args);
	}
	FUZZ_CHECK(depth == 0, "vif %u: dpdk args '%s' leave a bracket open", i, v->dpdk_args);
	for (unsigned j = 0; j < i; j++)
		FUZZ_CHECK(!(c->vifs[j].port == VIF_PORT_DPDK && !strcmp(v->port_name, c->vifs[j].port_name)),
			   "vifs %u and %u share vdev %s", j, i, v->port_name);
}


static void check_config(const struct domain_config *c)
{
	FUZZ_CHECK(terminated(c->name, sizeof(c->name)) && terminated(c->kernel, sizeof(c->kernel)) &&
		   terminated(c->initrd, sizeof(c->initrd)) &&
		   terminated(c->cmdline, sizeof(c->cmdline)) &&
		   terminated(c->console_log, sizeof(c->console_log)), "a string field is not terminated");
	FUZZ_CHECK(c->memory_mib >= CONFIG_MEMORY_MIN_MIB && c->memory_mib <= CONFIG_MEMORY_MAX_MIB,
		   "memory %llu MiB", (unsigned long long)c->memory_mib);
	FUZZ_CHECK(c->vcpus >= 1 && c->vcpus <= XENITH_MAX_VCPUS, "vcpus %u", c->vcpus);
	FUZZ_CHECK(c->guest_cpl == 0 || c->guest_cpl == 3, "guest_cpl %u", c->guest_cpl);
	FUZZ_CHECK(c->on_poweroff <= ACTION_PRESERVE && c->on_reboot <= ACTION_PRESERVE &&
		   c->on_crash <= ACTION_PRESERVE, "an on_* action out of range");
	FUZZ_CHECK(isfinite(c->timeout_s) && c->timeout_s >= 0 && c->timeout_s <= 365.0 * 86400,
		   "timeout %g", c->timeout_s);
	FUZZ_CHECK(c->console_log_max >= (1ull << 20) &&
		   c->console_log_max <= ((uint64_t)CONFIG_CONSOLE_LOG_MAX_MAX_MIB << 20) &&
		   c->console_log_max % (1ull << 20) == 0, "console_log_max %llu bytes",
		   (unsigned long long)c->console_log_max);
	FUZZ_CHECK(c->nr_disks <= CONFIG_MAX_DISKS, "%u disks", c->nr_disks);
	for (unsigned i = 0; i < c->nr_disks; i++) {
		const struct disk_config *d = &c->disks[i];

		FUZZ_CHECK(terminated(d->path, sizeof(d->path)) && d->path[0], "disk %u: no path", i);
		FUZZ_CHECK(d->mode <= DISK_MODE_POLL, "disk %u: mode %d", i, (int)d->mode);
		FUZZ_CHECK(d->queues <= XENITH_DISK_MAX_QUEUES, "disk %u: %u queues", i, d->queues);
	}
	FUZZ_CHECK(c->nr_pci <= CONFIG_MAX_PCI, "%u pci functions", c->nr_pci);
	for (unsigned i = 0; i < c->nr_pci; i++) {
		const char *b = c->pci[i];
		unsigned dom, bus, slot, fn;
		int n = -1;

		/* Stored as sysfs spells it: 12 characters, lower-case hex, a valid slot and function, once. */
		FUZZ_CHECK(terminated(b, CONFIG_BDF_LEN) && strlen(b) == 12, "pci %u: '%.16s'", i, b);
		sscanf(b, "%4x:%2x:%2x.%1x%n", &dom, &bus, &slot, &fn, &n);
		FUZZ_CHECK(n == 12 && slot <= 0x1f && fn <= 7, "pci %u: '%s' is not DDDD:BB:SS.F", i, b);
		for (const char *q = b; *q; q++)
			FUZZ_CHECK(!isupper((unsigned char)*q), "pci %u: '%s' is not lower case", i, b);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(b, c->pci[j]), "pci %s twice", b);
	}
	FUZZ_CHECK(c->nr_vifs <= CONFIG_MAX_VIFS, "%u vifs", c->nr_vifs);
	for (unsigned i = 0; i < c->nr_vifs; i++) {
		const struct vif_config *v = &c->vifs[i];
		size_t len = strnlen(v->port_name, sizeof(v->port_name));

		FUZZ_CHECK(len > 0 && len < sizeof(v->port_name) && !strpbrk(v->port_name, "/: \t\n"),
			   "vif %u: port name '%.16s'", i, v->port_name);
		FUZZ_CHECK(v->port <= VIF_PORT_SWITCH && v->mode <= VIF_MODE_POLL, "vif %u: port %d mode %d",
			   i, (int)v->port, (int)v->mode);
		FUZZ_CHECK(v->queues >= 1 && v->queues <= XENITH_NET_MAX_QUEUES, "vif %u: %u queues", i,
			   v->queues);
		FUZZ_CHECK(!v->mac_set || (!(v->mac[0] & 1) && (v->mac[0] | v->mac[1] | v->mac[2] |
			   v->mac[3] | v->mac[4] | v->mac[5])), "vif %u: mac not unicast or zero", i);
		FUZZ_CHECK(terminated(v->bridge, sizeof(v->bridge)) && terminated(v->netns, sizeof(v->netns)),
			   "vif %u: bridge or netns not terminated", i);
		FUZZ_CHECK(v->port == VIF_PORT_TAP || (!v->bridge[0] && !v->netns[0]),
			   "vif %u: bridge/netns on a %s port", i, vif_port_name(v->port));
		FUZZ_CHECK(!strchr(v->netns, '/') && strcmp(v->netns, "..") && strcmp(v->netns, "."),
			   "vif %u: netns '%s' leaves /run/netns", i, v->netns);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(!(v->port == VIF_PORT_TAP && c->vifs[j].port == VIF_PORT_TAP &&
				     !strcmp(v->port_name, c->vifs[j].port_name)),
				   "vifs %u and %u share tap:%s", j, i, v->port_name);
		check_dpdk_vif(c, i);
	}
	FUZZ_CHECK(c->memory_backing <= MEM_BACKING_AUTO, "memory_backing %d", (int)c->memory_backing);
	FUZZ_CHECK(c->numa_node >= -1 && c->numa_node <= 1023, "numa_node %d", c->numa_node);
	FUZZ_CHECK(c->nr_vcpu_pin <= XENITH_MAX_VCPUS, "%u vcpu_pin entries", c->nr_vcpu_pin);
	FUZZ_CHECK(terminated(c->vcpu_pin, sizeof(c->vcpu_pin)), "vcpu_pin not terminated");
	for (unsigned i = 0; i < c->nr_vcpu_pin; i++) {
		struct cpu_mask m;
		bool any = false;

		FUZZ_CHECK(config_vcpu_pin(c, i, &m) == 0, "vcpu_pin entry %u of '%s' does not parse", i,
			   c->vcpu_pin);
		for (unsigned k = 0; k < CONFIG_CPUS_MAX / 64; k++)
			any |= m.bits[k] != 0;
		FUZZ_CHECK(any, "vcpu_pin entry %u has no CPU", i); /* an empty list is refused */
	}
	FUZZ_CHECK(config_vcpu_pin(c, c->nr_vcpu_pin, &(struct cpu_mask){ { 0 } }) < 0,
		   "vcpu_pin has an entry past its count");
	if (c->name[0]) {
		FUZZ_CHECK(c->name[0] != '-' && c->name[0] != '.', "name '%s'", c->name);
		for (const char *p = c->name; *p; p++)
			FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				   (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-',
				   "name '%s'", c->name);
	}
}

static void check_result(int r, const struct domain_config *c, const struct errbuf *eb,
			 const char *origin)
{
	if (r == 0) {
		check_config(c);
		return;
	}
	FUZZ_CHECK(r < 0 && r > -4096, "returned %d", r);
	FUZZ_CHECK(terminated(eb->msg, sizeof(eb->msg)), "unterminated message");
	FUZZ_CHECK(eb->msg[0], "error %d with no message", r);
	FUZZ_CHECK(!strncmp(eb->msg, origin, strlen(origin)), "message '%s' does not name %s",
		   eb->msg, origin);
}

static void set_base_dir(struct domain_config *c, unsigned which)
{
	switch (which) {
	case 1:
		snprintf(c->base_dir, sizeof(c->base_dir), "/etc/xenith");
		break;
	case 2:
		memset(c->base_dir, 'd', 4000);
		c->base_dir[0] = '/';
		c->base_dir[4000] = 0;
		break;
	}
}

/* Through a file, as `xenith run -c` reads it (a memfd: no disk, nothing to clean up). */
static void parse_as_file(const uint8_t *text, size_t len)
{
	static struct domain_config c;
	struct errbuf eb = { "" };
	char path[64];
	int fd = memfd_create("fuzz.cfg", MFD_CLOEXEC), r;

	if (fd < 0)
		return;
	if (write(fd, text, len) == (ssize_t)len) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		config_init(&c);
		r = config_parse_file(&c, path, &eb);
		if (r == 0) {
			check_config(&c);
			FUZZ_CHECK(!strcmp(c.base_dir, "/proc/self/fd"), "base_dir '%s'", c.base_dir);
		} else {
			/* Whether the file is refused or a line in it, the message names it. */
			FUZZ_CHECK(r < 0 && r > -4096, "returned %d", r);
			FUZZ_CHECK(terminated(eb.msg, sizeof(eb.msg)) && strstr(eb.msg, path),
				   "message '%s' does not name %s", eb.msg, path);
		}
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct domain_config c; /* 40 KiB: not on the stack */
	struct errbuf eb = { "" };
	uint8_t knobs;
	char *text;
	int r;

	if (size < 1)
		return 0;
	knobs = data[0];
	data++;
	size--;
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	config_init(&c);
	set_base_dir(&c, knobs & 3);
	r = config_parse_text(&c, text, "fuzz.cfg", &eb);
	check_result(r, &c, &eb, "fuzz.cfg");
	if (knobs & 4)
		parse_as_file(data, size);
	free(text);
	return 0;
}
