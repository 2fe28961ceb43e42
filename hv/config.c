// SPDX-License-Identifier: MIT
/* Domain configuration: xl.cfg-style `key = value` files and single keys. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenith/blkif.h"
#include "xenith/netif.h"

#define CONFIG_FILE_MAX (1u << 20)
/* The longest line config_parse_text reads is one byte less (its NUL); config_format keeps within it. */
#define CONFIG_LINE_MAX 2048u
/* The longest disk and vif specs add_disk and add_vif take, less one (their NUL). */
#define DISK_SPEC_MAX (PATH_MAX + 128)
#define VIF_SPEC_MAX 512u
#define TIMEOUT_MAX_S (365.0 * 86400)

const char *const config_keys[] = {
	"name", "memory", "vcpus", "kernel", "initrd", "cmdline", "guest_cpl", "disk", "vif", "pci", "on_poweroff", "on_reboot", "on_crash",
	"console_log", "console_log_max", "timeout", "seccomp", "user", "jail", "memory_backing", "numa_node",
	"vcpu_pin", "dpdk_hugepages", "dpdk_eal_args", "xen_hvm", "dirty_ring", NULL,
};

void config_init(struct domain_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_mib = 16;
	cfg->vcpus = 1;
	cfg->guest_cpl = 3;
	cfg->on_poweroff = ACTION_DESTROY;
	cfg->on_reboot = ACTION_RESTART;
	cfg->on_crash = ACTION_DESTROY;
	cfg->console_log_max = (uint64_t)CONFIG_CONSOLE_LOG_MAX_DEFAULT_MIB << 20;
	cfg->seccomp = true;
	cfg->memory_backing = MEM_BACKING_AUTO;
	cfg->numa_node = -1;
	cfg->dirty_ring = -1;
}

const char *config_backing_name(enum mem_backing b)
{
	switch (b) {
	case MEM_BACKING_MEMFD: return "memfd";
	case MEM_BACKING_HUGETLB: return "hugetlb";
	case MEM_BACKING_THP: return "thp";
	case MEM_BACKING_AUTO: return "auto";
	}
	return "?";
}

const char *config_action_name(enum domain_action a)
{
	switch (a) {
	case ACTION_DESTROY: return "destroy";
	case ACTION_RESTART: return "restart";
	case ACTION_PRESERVE: return "preserve";
	}
	return "?";
}

static unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[64], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int unknown_key(const char *key, struct errbuf *eb)
{
	char known[256] = "";
	const char *near = NULL;
	unsigned best = 3;

	for (const char *const *k = config_keys; *k; k++) {
		unsigned d = edit_distance(key, *k);

		if (d < best) {
			best = d;
			near = *k;
		}
		strcat(known, known[0] ? ", " : "");
		strcat(known, *k);
	}
	if (near)
		return errbuf_set(eb, EINVAL, "unknown key '%s'; did you mean '%s'? known keys: %s", key,
				  near, known);
	return errbuf_set(eb, EINVAL, "unknown key '%s'; known keys: %s", key, known);
}

static int parse_uint(const char *v, unsigned long long *out)
{
	char *end;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

/* A whole number of MiB, or with a suffix M or G, from min to max MiB: 0 or -EINVAL. */
static int parse_mib(const char *v, unsigned long long min, unsigned long long max,
		     unsigned long long *out)
{
	char num[32], *end;
	unsigned long long mib;
	size_t len = strlen(v);
	unsigned shift = 0;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, len + 1);
	if (num[len - 1] == 'M' || num[len - 1] == 'm') {
		num[--len] = 0;
	} else if (num[len - 1] == 'G' || num[len - 1] == 'g') {
		num[--len] = 0;
		shift = 10;
	}
	if (!len || !isdigit((unsigned char)num[0]))
		return -EINVAL;
	errno = 0;
	mib = strtoull(num, &end, 10);
	if (errno || *end || mib > (max >> shift))
		return -EINVAL;
	mib <<= shift;
	if (mib < min || mib > max)
		return -EINVAL;
	*out = mib;
	return 0;
}

static int set_memory(struct domain_config *cfg, const char *v, struct errbuf *eb)
{
	unsigned long long mib;

	if (parse_mib(v, CONFIG_MEMORY_MIN_MIB, CONFIG_MEMORY_MAX_MIB, &mib) < 0)
		return errbuf_set(eb, EINVAL, "memory = %s: must be a whole number of MiB from %u to %u "
				  "(a suffix M or G is accepted, e.g. 512M, 1G)", v, CONFIG_MEMORY_MIN_MIB,
				  CONFIG_MEMORY_MAX_MIB);
	cfg->memory_mib = mib;
	return 0;
}

/* console_log_max: MiB, or with a suffix M or G (as memory). */
static int set_console_log_max(struct domain_config *cfg, const char *v, struct errbuf *eb)
{
	unsigned long long mib;

	if (parse_mib(v, 1, CONFIG_CONSOLE_LOG_MAX_MAX_MIB, &mib) < 0)
		return errbuf_set(eb, EINVAL, "console_log_max = %s: must be a whole number of MiB from 1 "
				  "to %u (a suffix M or G is accepted, e.g. 64M, 1G); the console log is "
				  "rotated there", v, CONFIG_CONSOLE_LOG_MAX_MAX_MIB);
	cfg->console_log_max = (uint64_t)mib << 20;
	return 0;
}

static int set_name(struct domain_config *cfg, const char *v, struct errbuf *eb)
{
	size_t len = strlen(v);

	if (len == 0 || len >= XENITH_NAME_MAX || v[0] == '-' || v[0] == '.')
		goto bad;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			goto bad;
	memcpy(cfg->name, v, len + 1);
	return 0;
bad:
	return errbuf_set(eb, EINVAL, "name = %s: must be 1 to %d characters of A-Z a-z 0-9 _ . -, "
			  "not starting with '-' or '.'", v, XENITH_NAME_MAX - 1);
}

/* Relative paths from a file are relative to the file's directory. */
static int set_path(struct domain_config *cfg, const char *key, char *dst, const char *v,
		    struct errbuf *eb)
{
	int n;

	if (!*v)
		return errbuf_set(eb, EINVAL, "%s = \"\": must be a path to a file", key);
	if (v[0] != '/' && cfg->base_dir[0])
		n = snprintf(dst, PATH_MAX, "%s/%s", cfg->base_dir, v);
	else
		n = snprintf(dst, PATH_MAX, "%s", v);
	if (n >= PATH_MAX)
		return errbuf_set(eb, ENAMETOOLONG, "%s = %.64s...: path longer than %d bytes", key, v,
				  PATH_MAX - 1);
	return 0;
}

const char *disk_mode_name(enum disk_mode m)
{
	switch (m) {
	case DISK_MODE_EXIT: return "exit";
	case DISK_MODE_IOEVENTFD: return "ioeventfd";
	case DISK_MODE_POLL: return "poll";
	}
	return "?";
}

static int parse_bool01(const char *field, const char *v, bool *out, struct errbuf *eb)
{
	if (strcmp(v, "0") && strcmp(v, "1"))
		return errbuf_set(eb, EINVAL, "disk: %s=%s: must be 0 or 1", field, v);
	*out = v[0] == '1';
	return 0;
}

/*
 * "path=/var/lib/x.img,mode=ioeventfd,ro=0,direct=1,sqpoll=0,queues=N,persistent=1"
 * (path= may be left out of a lone path)
 */
/*
 * A PCI function as xl's pci key names it: DDDD:BB:SS.F, or BB:SS.F in
 * domain 0 (hexadecimal, slot up to 1f, function up to 7); stored as sysfs
 * spells it, lower case with the domain.
 */
static int add_pci(struct domain_config *cfg, const char *v, struct errbuf *eb)
{
	unsigned dom = 0, bus, slot, fn;
	int n = -1;
	const char *p = v;

	if (cfg->nr_pci >= CONFIG_MAX_PCI)
		return errbuf_set(eb, EINVAL, "pci = %.32s: at most %u PCI functions", v, CONFIG_MAX_PCI);
	for (const char *q = v; *q; q++)
		if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
			return errbuf_set(eb, EINVAL, "pci = %.32s: a PCI function is DDDD:BB:SS.F or BB:SS.F "
						      "(hexadecimal, as `xenith pci list` prints)", v);
	if (strlen(v) == 12 && v[4] == ':' && v[7] == ':' && v[10] == '.')
		sscanf(v, "%4x:%2x:%2x.%1x%n", &dom, &bus, &slot, &fn, &n);
	else if (strlen(v) == 7 && v[2] == ':' && v[5] == '.')
		sscanf(v, "%2x:%2x.%1x%n", &bus, &slot, &fn, &n);
	if (n != (int)strlen(v) || slot > 0x1f || fn > 7)
		return errbuf_set(eb, EINVAL, "pci = %.32s: a PCI function is DDDD:BB:SS.F or BB:SS.F, slot 00-1f, "
					      "function 0-7 (as `xenith pci list` prints)", p);
	snprintf(cfg->pci[cfg->nr_pci], CONFIG_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, slot, fn);
	for (unsigned i = 0; i < cfg->nr_pci; i++)
		if (!strcmp(cfg->pci[i], cfg->pci[cfg->nr_pci]))
			return errbuf_set(eb, EINVAL, "pci = %s: given twice", cfg->pci[i]);
	cfg->nr_pci++;
	return 0;
}

static int add_disk(struct domain_config *cfg, const char *spec, struct errbuf *eb)
{
	struct disk_config dk = { .mode = DISK_MODE_IOEVENTFD, .direct = true, .persistent = true };
	char buf[DISK_SPEC_MAX], *save = NULL, *item;
	int r;

	if (cfg->nr_disks >= CONFIG_MAX_DISKS)
		return errbuf_set(eb, EINVAL, "disk = %s: at most %u disks", spec, CONFIG_MAX_DISKS);
	if (strlen(spec) >= sizeof(buf))
		return errbuf_set(eb, EINVAL, "disk = %.64s...: longer than %zu bytes", spec, sizeof(buf) - 1);
	strcpy(buf, spec);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		const char *f = item, *v;

		if (!eq) {
			if (dk.path[0] || !*item)
				return errbuf_set(eb, EINVAL, "disk = %s: '%s' is not field=value (fields: "
						  "path, mode, ro, direct, sqpoll, queues, persistent)", spec, item);
			v = item;
			f = "path";
		} else {
			*eq = 0;
			v = eq + 1;
		}
		if (!strcmp(f, "path")) {
			r = set_path(cfg, "disk path", dk.path, v, eb);
		} else if (!strcmp(f, "mode")) {
			r = 0;
			if (!strcmp(v, "exit"))
				dk.mode = DISK_MODE_EXIT;
			else if (!strcmp(v, "ioeventfd"))
				dk.mode = DISK_MODE_IOEVENTFD;
			else if (!strcmp(v, "poll"))
				dk.mode = DISK_MODE_POLL;
			else
				r = errbuf_set(eb, EINVAL, "disk: mode=%s: must be exit, ioeventfd or poll", v);
		} else if (!strcmp(f, "ro")) {
			r = parse_bool01(f, v, &dk.ro, eb);
		} else if (!strcmp(f, "direct")) {
			r = parse_bool01(f, v, &dk.direct, eb);
		} else if (!strcmp(f, "sqpoll")) {
			r = parse_bool01(f, v, &dk.sqpoll, eb);
		} else if (!strcmp(f, "persistent")) {
			r = parse_bool01(f, v, &dk.persistent, eb);
		} else if (!strcmp(f, "queues")) {
			unsigned long long n;

			r = 0;
			if (parse_uint(v, &n) < 0 || n < 1 || n > XENITH_DISK_MAX_QUEUES)
				r = errbuf_set(eb, EINVAL, "disk: queues=%s: must be 1 to %u (rings, each with "
					       "a backend thread)", v, XENITH_DISK_MAX_QUEUES);
			else
				dk.queues = (unsigned)n;
		} else {
			r = errbuf_set(eb, EINVAL, "disk: unknown field '%s' (fields: path, mode, ro, "
				       "direct, sqpoll, queues, persistent)", f);
		}
		if (r < 0)
			return r;
	}
	if (!dk.path[0])
		return errbuf_set(eb, EINVAL, "disk = %s: no path= (e.g. disk = \"path=/var/lib/x.img,"
				  "mode=ioeventfd\")", spec);
	cfg->disks[cfg->nr_disks++] = dk;
	return 0;
}

const char *vif_mode_name(enum vif_mode m)
{
	switch (m) {
	case VIF_MODE_EXIT: return "exit";
	case VIF_MODE_IOEVENTFD: return "ioeventfd";
	case VIF_MODE_POLL: return "poll";
	}
	return "?";
}

const char *vif_port_name(enum vif_port p)
{
	switch (p) {
	case VIF_PORT_TAP: return "tap";
	case VIF_PORT_PAIR: return "pair";
	case VIF_PORT_DPDK: return "dpdk";
	case VIF_PORT_SWITCH: return "switch";
	}
	return "?";
}

#define VIF_FIELDS "mac, port, mode, queues, bridge, netns"

/* "52:54:00:12:34:56": six pairs of hex digits separated by ':'; unicast and not zero. */
static int parse_mac(const char *v, uint8_t mac[6])
{
	bool zero = true;

	for (unsigned i = 0; i < 6; i++) {
		const char *p = v + 3 * i;

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
		    p[2] != (i == 5 ? 0 : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)strtoul((char[3]){ p[0], p[1], 0 }, NULL, 16);
		zero = zero && !mac[i];
	}
	return zero || (mac[0] & 1) ? -EINVAL : 0;
}

/* An interface name as the kernel takes it: 1 to 15 bytes, no '/', ':', space or control character. */
static bool ifname_ok(const char *v)
{
	size_t len = strlen(v);

	if (!len || len >= CONFIG_IFNAME_MAX || !strcmp(v, ".") || !strcmp(v, ".."))
		return false;
	for (const char *p = v; *p; p++)
		if (*p == '/' || *p == ':' || !isgraph((unsigned char)*p))
			return false;
	return true;
}

/* A network namespace's name (a file in /run/netns): A-Z a-z 0-9 _ . -, not "." or "..". */
static bool netns_ok(const char *v)
{
	size_t len = strlen(v);

	if (!len || len >= CONFIG_NETNS_MAX || v[0] == '.' || v[0] == '-')
		return false;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

/*
 * "dpdk:[net_memif0,role=server,socket=/run/x.sock]" or, without a comma,
 * "dpdk:net_ring0": the vdev's name (letters, digits, '_') and its
 * arguments (printable, no spaces).  The brackets keep the arguments'
 * commas out of the vif's own fields (split_vif); they are not stored.
 */
static int dpdk_port(struct vif_config *vc, const char *v, struct errbuf *eb)
{
	const char *a = v + 5;
	size_t len = strlen(a), name_len;

	if (a[0] == '[') {
		if (len < 2 || a[len - 1] != ']')
			return errbuf_set(eb, EINVAL, "vif: port=%s: a '[' without its closing ']' at the end", v);
		a++;
		len -= 2;
	}
	if (!len || len >= CONFIG_DPDK_ARGS_MAX)
		return errbuf_set(eb, EINVAL, "vif: port=%s: VDEV-ARGS of 1 to %u characters (e.g. "
				  "dpdk:[net_af_packet0,iface=veth1])", v, CONFIG_DPDK_ARGS_MAX - 1);
	name_len = strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	if (name_len == 0 || name_len >= CONFIG_IFNAME_MAX || (name_len < len && a[name_len] != ','))
		return errbuf_set(eb, EINVAL, "vif: port=%s: VDEV-ARGS start with the vdev's name, 1 to %u "
				  "letters, digits or '_' (net_memif0, net_af_packet1, ...), then ',' and its "
				  "arguments", v, CONFIG_IFNAME_MAX - 1);
	for (size_t i = 0, depth = 0; i < len; i++) {
		if (!isgraph((unsigned char)a[i]))
			return errbuf_set(eb, EINVAL, "vif: port=%s: VDEV-ARGS without spaces or control "
					  "characters", v);
		/* "[a]=b[c]" is balanced as a whole, but its outer brackets are not a pair */
		if (a[i] == '[')
			depth++;
		else if (a[i] == ']' && depth-- == 0)
			return errbuf_set(eb, EINVAL, "vif: port=%s: a ']' that closes no '[' in VDEV-ARGS (the "
					  "brackets around them must be one pair: dpdk:[net_memif0,...])", v);
		if (i + 1 == len && depth)
			return errbuf_set(eb, EINVAL, "vif: port=%s: a '[' in VDEV-ARGS that is never closed", v);
	}
	vc->port = VIF_PORT_DPDK;
	memcpy(vc->dpdk_args, a, len);
	vc->dpdk_args[len] = 0;
	snprintf(vc->port_name, sizeof(vc->port_name), "%.*s", (int)name_len, a);
	return 0;
}

/*
 * The next field of a vif spec at *p: up to a ',' outside brackets (the
 * brackets of port=dpdk:[...], nested ones too).  The field, NUL-ended in
 * place, or NULL at the end; *bad when a bracket is unbalanced.
 */
static char *split_vif(char **p, bool *bad)
{
	char *start = *p, *c;
	int depth = 0;

	if (!start)
		return NULL;
	for (c = start; *c && !(*c == ',' && depth == 0); c++) {
		depth += *c == '[' ? 1 : *c == ']' ? -1 : 0;
		if (depth < 0)
			break;
	}
	*bad = depth != 0;
	*p = *c == ',' ? c + 1 : NULL;
	*c = 0;
	return start;
}

static int vif_field(struct vif_config *vc, const char *f, const char *v, struct errbuf *eb)
{
	unsigned long long n;

	if (!strcmp(f, "mac")) {
		if (parse_mac(v, vc->mac) < 0)
			return errbuf_set(eb, EINVAL, "vif: mac=%s: must be six hex bytes separated by ':' "
					  "(e.g. 00:16:3e:01:02:03), unicast (the first byte even) and "
					  "not all zero", v);
		vc->mac_set = true;
	} else if (!strcmp(f, "port") && !strncmp(v, "dpdk:", 5)) {
		return dpdk_port(vc, v, eb);
	} else if (!strcmp(f, "port")) {
		const char *name = strchr(v, ':');

		if (name && !strncmp(v, "tap:", 4))
			vc->port = VIF_PORT_TAP;
		else if (name && !strncmp(v, "pair:", 5))
			vc->port = VIF_PORT_PAIR;
		else if (name && !strncmp(v, "switch:", 7))
			vc->port = VIF_PORT_SWITCH;
		else
			return errbuf_set(eb, EINVAL, "vif: port=%s: must be tap:IFNAME (a tap device, "
					  "created or attached), dpdk:[VDEV-ARGS] (a DPDK vdev), pair:NAME "
					  "(an in-memory pair joining two vifs of this VMM) or switch:NAME (a "
					  "domain switch, `xenith switch start NAME`)", v);
		if (!ifname_ok(name + 1))
			return errbuf_set(eb, EINVAL, "vif: port=%s: the name must be 1 to %u characters, "
					  "without '/', ':' or spaces", v, CONFIG_IFNAME_MAX - 1);
		strcpy(vc->port_name, name + 1);
	} else if (!strcmp(f, "mode")) {
		if (!strcmp(v, "exit"))
			vc->mode = VIF_MODE_EXIT;
		else if (!strcmp(v, "ioeventfd"))
			vc->mode = VIF_MODE_IOEVENTFD;
		else if (!strcmp(v, "poll"))
			vc->mode = VIF_MODE_POLL;
		else
			return errbuf_set(eb, EINVAL, "vif: mode=%s: must be exit, ioeventfd or poll", v);
	} else if (!strcmp(f, "queues")) {
		if (parse_uint(v, &n) < 0 || n < 1 || n > XENITH_NET_MAX_QUEUES)
			return errbuf_set(eb, EINVAL, "vif: queues=%s: must be 1 to %u (ring pairs, each "
					  "with a backend thread)", v, XENITH_NET_MAX_QUEUES);
		vc->queues = (unsigned)n;
	} else if (!strcmp(f, "bridge")) {
		if (!ifname_ok(v))
			return errbuf_set(eb, EINVAL, "vif: bridge=%s: must be an interface name of 1 to %u "
					  "characters, without '/', ':' or spaces", v, CONFIG_IFNAME_MAX - 1);
		strcpy(vc->bridge, v);
	} else if (!strcmp(f, "netns")) {
		if (!netns_ok(v))
			return errbuf_set(eb, EINVAL, "vif: netns=%s: must be a namespace name (a file in "
					  "/run/netns, as `ip netns add` makes) of 1 to %u characters of "
					  "A-Z a-z 0-9 _ . -, not starting with '.' or '-'", v,
					  CONFIG_NETNS_MAX - 1);
		strcpy(vc->netns, v);
	} else {
		return errbuf_set(eb, EINVAL, "vif: unknown field '%s' (fields: " VIF_FIELDS ")%s", f,
				  vc->port == VIF_PORT_DPDK ? "; VDEV-ARGS with commas go in brackets: "
				  "port=dpdk:[net_memif0,role=server]" : "");
	}
	return 0;
}

/* "mac=00:16:3e:01:02:03,port=tap:xt0,mode=ioeventfd,queues=1,bridge=br0,netns=ns1" */
static int add_vif(struct domain_config *cfg, const char *spec, struct errbuf *eb)
{
	struct vif_config vc = { .mode = VIF_MODE_IOEVENTFD, .queues = 1 };
	char buf[VIF_SPEC_MAX], *next = buf, *item;
	bool have_port = false, bad = false;

	if (cfg->nr_vifs >= CONFIG_MAX_VIFS)
		return errbuf_set(eb, EINVAL, "vif = %.64s: at most %u vifs", spec, CONFIG_MAX_VIFS);
	if (strlen(spec) >= sizeof(buf))
		return errbuf_set(eb, EINVAL, "vif = %.64s...: longer than %zu bytes", spec, sizeof(buf) - 1);
	strcpy(buf, spec);
	while ((item = split_vif(&next, &bad)) != NULL) {
		char *eq = strchr(item, '=');
		int r;

		if (bad)
			return errbuf_set(eb, EINVAL, "vif = %s: unbalanced '[' ']' (VDEV-ARGS with commas go in "
					  "brackets: port=dpdk:[net_memif0,role=server])", spec);
		if (!*item)
			continue; /* ",," or a trailing ',', as strtok allowed */
		if (!eq)
			return errbuf_set(eb, EINVAL, "vif = %s: '%s' is not field=value (fields: "
					  VIF_FIELDS ")", spec, item);
		*eq = 0;
		r = vif_field(&vc, item, eq + 1, eb);
		if (r < 0)
			return r;
		have_port |= !strcmp(item, "port");
	}
	if (!have_port)
		return errbuf_set(eb, EINVAL, "vif = %s: no port= (e.g. vif = \"mac=00:16:3e:01:02:03,"
				  "port=tap:xt0\")", spec);
	if (vc.port != VIF_PORT_TAP && (vc.bridge[0] || vc.netns[0]))
		return errbuf_set(eb, EINVAL, "vif = %s: bridge= and netns= apply to port=tap: only", spec);
	if (vc.bridge[0] && vc.netns[0])
		return errbuf_set(eb, EINVAL, "vif = %s: bridge= and netns= together: the bridge must be "
				  "in the namespace the tap moves to; give one of them", spec);
	for (unsigned i = 0; i < cfg->nr_vifs; i++) {
		const struct vif_config *o = &cfg->vifs[i];

		if (o->port == VIF_PORT_TAP && vc.port == VIF_PORT_TAP && !strcmp(o->port_name, vc.port_name))
			return errbuf_set(eb, EINVAL, "vif = %s: tap:%s is vif %u's port already; each vif "
					  "needs its own tap", spec, vc.port_name, i);
		if (o->port == VIF_PORT_DPDK && vc.port == VIF_PORT_DPDK && !strcmp(o->port_name, vc.port_name))
			return errbuf_set(eb, EINVAL, "vif = %s: vdev %s is vif %u's port already; each vif "
					  "needs a vdev of its own name (net_memif0, net_memif1, ...)", spec,
					  vc.port_name, i);
		if (o->mac_set && vc.mac_set && !memcmp(o->mac, vc.mac, 6))
			return errbuf_set(eb, EINVAL, "vif = %s: vif %u has that MAC already", spec, i);
	}
	cfg->vifs[cfg->nr_vifs++] = vc;
	return 0;
}

static int set_action(const char *key, enum domain_action *dst, const char *v, struct errbuf *eb)
{
	for (int a = ACTION_DESTROY; a <= ACTION_PRESERVE; a++) {
		if (!strcmp(v, config_action_name((enum domain_action)a))) {
			*dst = (enum domain_action)a;
			return 0;
		}
	}
	return errbuf_set(eb, EINVAL, "%s = %s: must be destroy, restart or preserve", key, v);
}

static void mask_range(struct cpu_mask *m, unsigned lo, unsigned hi, bool set)
{
	for (unsigned c = lo; c <= hi; c++) {
		if (set)
			m->bits[c / 64] |= 1ull << (c % 64);
		else
			m->bits[c / 64] &= ~(1ull << (c % 64));
	}
}

/* A CPU number below CONFIG_CPUS_MAX at *pp (decimal digits only); *pp moves past it. */
static int parse_cpu(const char **pp, unsigned *cpu)
{
	const char *p = *pp;
	unsigned long n = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n >= CONFIG_CPUS_MAX)
			return -EINVAL;
	}
	*pp = p;
	*cpu = (unsigned)n;
	return 0;
}

/*
 * xl.cfg's CPU-LIST, without its node: forms: items separated by commas,
 * each "N", "N-M" (N <= M) or "all", or one of these after '^' to take
 * CPUs away again (items apply left to right).  The result must not be empty.
 */
int cpu_list_parse(const char *s, struct cpu_mask *m)
{
	const char *p = s;

	memset(m, 0, sizeof(*m));
	if (!*p)
		return -EINVAL;
	for (;;) {
		bool take = *p == '^';
		unsigned lo, hi;

		if (take)
			p++;
		if (!strncmp(p, "all", 3)) {
			cpu_set_t allowed;

			p += 3;
			if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
				return -EINVAL;
			for (unsigned c = 0; c < CONFIG_CPUS_MAX && c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &allowed))
					mask_range(m, c, c, !take);
		} else {
			if (parse_cpu(&p, &lo) < 0)
				return -EINVAL;
			hi = lo;
			if (*p == '-') {
				p++;
				if (parse_cpu(&p, &hi) < 0 || hi < lo)
					return -EINVAL;
			}
			mask_range(m, lo, hi, !take);
		}
		if (!*p)
			break;
		if (*p++ != ',')
			return -EINVAL;
	}
	for (unsigned i = 0; i < CONFIG_CPUS_MAX / 64; i++)
		if (m->bits[i])
			return 0;
	return -EINVAL;
}

void cpu_mask_format(const struct cpu_mask *m, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = 0;
	for (unsigned c = 0; c < CONFIG_CPUS_MAX; c++) {
		unsigned hi = c;
		int n;

		if (!cpu_mask_test(m, c))
			continue;
		while (hi + 1 < CONFIG_CPUS_MAX && cpu_mask_test(m, hi + 1))
			hi++;
		if (hi == c)
			n = snprintf(buf + used, len - used, "%s%u", used ? "," : "", c);
		else
			n = snprintf(buf + used, len - used, "%s%u-%u", used ? "," : "", c, hi);
		if (n < 0 || (size_t)n >= len - used) {
			buf[len - 1] = 0;
			return;
		}
		used += (size_t)n;
		c = hi;
	}
	if (!used)
		snprintf(buf, len, "none");
}

static int set_backing(struct domain_config *cfg, const char *v, struct errbuf *eb)
{
	for (int b = MEM_BACKING_MEMFD; b <= MEM_BACKING_AUTO; b++) {
		if (!strcmp(v, config_backing_name((enum mem_backing)b))) {
			cfg->memory_backing = (enum mem_backing)b;
			return 0;
		}
	}
	return errbuf_set(eb, EINVAL, "memory_backing = %s: must be auto (the default: thp for domains "
			  "of at least %u MiB where the host allows it, else memfd), memfd (4 KiB pages), "
			  "hugetlb (2 MiB pages reserved in /proc/sys/vm/nr_hugepages) or thp (transparent "
			  "huge pages)", v, MEM_AUTO_THP_MIN_MIB);
}

static int add_vcpu_pin(struct domain_config *cfg, const char *v, struct errbuf *eb)
{
	struct cpu_mask m;
	char canon[4096];
	size_t used = strlen(cfg->vcpu_pin), len;

	if (cfg->nr_vcpu_pin >= XENITH_MAX_VCPUS)
		return errbuf_set(eb, EINVAL, "vcpu_pin = %s: at most %u entries (one per vCPU)", v,
				  XENITH_MAX_VCPUS);
	if (cpu_list_parse(v, &m) < 0)
		return errbuf_set(eb, EINVAL, "vcpu_pin = %s: must be a CPU list as xl's cpus: items "
				  "N, N-M or all, separated by commas, ^ in front of an item takes those "
				  "CPUs away (e.g. \"2\", \"0-3,^1\"), CPUs below %u, not empty", v,
				  CONFIG_CPUS_MAX);
	cpu_mask_format(&m, canon, sizeof(canon));
	len = strlen(canon);
	if (used + (used ? 1 : 0) + len >= sizeof(cfg->vcpu_pin))
		return errbuf_set(eb, EINVAL, "vcpu_pin = %s: the entries' CPU lists together (as ranges) "
				  "take more than %u characters", v, CONFIG_VCPU_PIN_MAX - 1);
	if (used)
		cfg->vcpu_pin[used++] = ' ';
	memcpy(cfg->vcpu_pin + used, canon, len + 1); /* fits: checked above */
	cfg->nr_vcpu_pin++;
	return 0;
}

int config_vcpu_pin(const struct domain_config *cfg, unsigned i, struct cpu_mask *m)
{
	const char *p = cfg->vcpu_pin;
	char entry[CONFIG_VCPU_PIN_MAX];
	size_t len;

	if (i >= cfg->nr_vcpu_pin)
		return -EINVAL;
	for (; i > 0; i--) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	len = strcspn(p, " ");
	memcpy(entry, p, len);
	entry[len] = 0;
	return cpu_list_parse(entry, m);
}

int config_set(struct domain_config *cfg, const char *key, const char *v, struct errbuf *eb)
{
	unsigned long long n;

	if (!strcmp(key, "name"))
		return set_name(cfg, v, eb);
	if (!strcmp(key, "memory"))
		return set_memory(cfg, v, eb);
	if (!strcmp(key, "vcpus")) {
		if (parse_uint(v, &n) < 0 || n < 1 || n > XENITH_MAX_VCPUS)
			return errbuf_set(eb, EINVAL, "vcpus = %s: must be an integer from 1 to %u", v,
					  XENITH_MAX_VCPUS);
		cfg->vcpus = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "guest_cpl")) {
		if (strcmp(v, "0") && strcmp(v, "3"))
			return errbuf_set(eb, EINVAL, "guest_cpl = %s: must be 3 (the guest kernel runs "
					  "deprivileged, the default) or 0 (it runs at CPL 0 with its own "
					  "IDT; VT-x/AMD-V hosts only)", v);
		cfg->guest_cpl = (unsigned)(v[0] - '0');
		return 0;
	}
	if (!strcmp(key, "kernel"))
		return set_path(cfg, key, cfg->kernel, v, eb);
	if (!strcmp(key, "initrd") || !strcmp(key, "ramdisk"))
		return set_path(cfg, key, cfg->initrd, v, eb);
	if (!strcmp(key, "disk"))
		return add_disk(cfg, v, eb);
	if (!strcmp(key, "vif"))
		return add_vif(cfg, v, eb);
	if (!strcmp(key, "pci"))
		return add_pci(cfg, v, eb);
	if (!strcmp(key, "console_log"))
		return set_path(cfg, key, cfg->console_log, v, eb);
	if (!strcmp(key, "console_log_max"))
		return set_console_log_max(cfg, v, eb);
	if (!strcmp(key, "cmdline") || !strcmp(key, "extra")) {
		if (strlen(v) >= XENITH_CMDLINE_MAX)
			return errbuf_set(eb, EINVAL, "%s: %zu bytes; at most %d are allowed", key,
					  strlen(v), XENITH_CMDLINE_MAX - 1);
		strcpy(cfg->cmdline, v);
		return 0;
	}
	if (!strcmp(key, "on_poweroff"))
		return set_action(key, &cfg->on_poweroff, v, eb);
	if (!strcmp(key, "on_reboot"))
		return set_action(key, &cfg->on_reboot, v, eb);
	if (!strcmp(key, "on_crash"))
		return set_action(key, &cfg->on_crash, v, eb);
	if (!strcmp(key, "timeout")) {
		char *end;
		double t;

		errno = 0;
		t = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(t) || !(t > 0) || t > TIMEOUT_MAX_S)
			return errbuf_set(eb, EINVAL, "timeout = %s: must be a number of seconds, more "
					  "than 0 and at most one year (e.g. 0.5, 30)", v);
		cfg->timeout_s = t;
		return 0;
	}
	if (!strcmp(key, "dpdk_hugepages")) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			return errbuf_set(eb, EINVAL, "%s = %s: must be 0 (the DPDK EAL on ordinary memory, "
					  "--no-huge, the default) or 1 (on hugepages)", key, v);
		cfg->dpdk_hugepages = v[0] == '1';
		return 0;
	}
	if (!strcmp(key, "dpdk_eal_args")) {
		if (strlen(v) >= sizeof(cfg->dpdk_eal_args))
			return errbuf_set(eb, EINVAL, "%s: %zu bytes; at most %zu are allowed", key, strlen(v),
					  sizeof(cfg->dpdk_eal_args) - 1);
		strcpy(cfg->dpdk_eal_args, v);
		return 0;
	}
	if (!strcmp(key, "xen_hvm")) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			return errbuf_set(eb, EINVAL, "xen_hvm = %s: must be 0 (a Linux guest sees KVM, the "
					  "default) or 1 (it sees Xen's HVM interface)", v);
		cfg->xen_hvm = v[0] == '1';
		return 0;
	}
	if (!strcmp(key, "seccomp") || !strcmp(key, "jail")) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			return errbuf_set(eb, EINVAL, "%s = %s: must be 0 or 1", key, v);
		*(key[0] == 's' ? &cfg->seccomp : &cfg->jail) = v[0] == '1';
		return 0;
	}
	if (!strcmp(key, "memory_backing"))
		return set_backing(cfg, v, eb);
	if (!strcmp(key, "numa_node")) {
		if (parse_uint(v, &n) < 0 || n > 1023)
			return errbuf_set(eb, EINVAL, "numa_node = %s: must be a node number from 0 to 1023 "
					  "(the host's nodes are in /sys/devices/system/node)", v);
		cfg->numa_node = (int)n;
		return 0;
	}
	if (!strcmp(key, "dirty_ring")) {
		if (!strcmp(v, "auto")) {
			cfg->dirty_ring = -1;
			return 0;
		}
		if (parse_uint(v, &n) < 0 || (n && (n < 256 || n > 65536 || (n & (n - 1)))))
			return errbuf_set(eb, EINVAL, "dirty_ring = %s: must be auto, 0 (KVM's dirty bitmap) or "
					  "the ring's entries per vCPU, a power of two from 256 to 65536", v);
		cfg->dirty_ring = (int)n;
		return 0;
	}
	if (!strcmp(key, "vcpu_pin"))
		return add_vcpu_pin(cfg, v, eb);
	if (!strcmp(key, "user")) {
		if (!*v || strlen(v) >= sizeof(cfg->user) || strchr(v, '/'))
			return errbuf_set(eb, EINVAL, "user = %s: must be a user name or UID:GID, at most "
					  "%zu characters", v, sizeof(cfg->user) - 1);
		strcpy(cfg->user, v);
		return 0;
	}
	return unknown_key(key, eb);
}

/* A quoted string at *pp, unquoted in place; *pp moves past the closing quote. */
static int parse_quoted(char **pp, char **value, const char *k, struct errbuf *eb)
{
	char *p = *pp, q = *p++, *out;

	*value = out = p;
	for (;; p++) {
		if (!*p)
			return errbuf_set(eb, EINVAL, "unterminated %s-quoted string for key '%s'",
					  q == '"' ? "double" : "single", k);
		if (*p == q)
			break;
		if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		*out++ = *p;
	}
	*pp = p + 1;
	*out = 0;
	return 0;
}

#define CONFIG_LIST_MAX 16

/*
 * One line: `key = value` or `key = [ "v1", "v2" ]` (xl.cfg's lists of
 * quoted strings); *nvalues is 0 for a blank or comment line.
 */
static int parse_line(char *line, char **key, char **values, unsigned *nvalues, struct errbuf *eb)
{
	char *p = line, *k, *v;

	*key = NULL;
	*nvalues = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p || *p == '#')
		return 0;
	k = p;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == k)
		return errbuf_set(eb, EINVAL, "expected `key = value`, got '%.40s'", k);
	if (*p && !isspace((unsigned char)*p) && *p != '=')
		return errbuf_set(eb, EINVAL, "'%c' cannot be part of a key", *p);
	char *kend = p;

	while (isspace((unsigned char)*p))
		p++;
	if (*p != '=')
		return errbuf_set(eb, EINVAL, "missing '=' after key '%.*s'", (int)(kend - k), k);
	*kend = 0;
	p++;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '[') {
		p++;
		for (;;) {
			int r;

			while (isspace((unsigned char)*p))
				p++;
			if (*p == ']' && *nvalues == 0)
				break; /* an empty list */
			if (*p != '"' && *p != '\'')
				return errbuf_set(eb, EINVAL, "key '%s': list items are quoted strings, "
						  "e.g. %s = [ \"a\", \"b\" ]", k, k);
			if (*nvalues == CONFIG_LIST_MAX)
				return errbuf_set(eb, EINVAL, "key '%s': more than %d list items", k,
						  CONFIG_LIST_MAX);
			r = parse_quoted(&p, &values[(*nvalues)++], k, eb);
			if (r < 0)
				return r;
			while (isspace((unsigned char)*p))
				p++;
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p == ']')
				break;
			return errbuf_set(eb, EINVAL, "key '%s': expected ',' or ']' in the list, got '%.20s'",
					  k, p);
		}
		p++;
		if (*nvalues == 0)
			return errbuf_set(eb, EINVAL, "key '%s' has an empty list", k);
		while (isspace((unsigned char)*p))
			p++;
		if (*p && *p != '#')
			return errbuf_set(eb, EINVAL, "unexpected text after the list of '%s': '%.40s'", k, p);
		*key = k;
		return 0;
	}
	if (*p == '"' || *p == '\'') {
		int r = parse_quoted(&p, &v, k, eb);

		if (r < 0)
			return r;
	} else {
		char *end;

		v = p;
		while (*p && !isspace((unsigned char)*p) && *p != '#')
			p++;
		end = p;
		if (end == v)
			return errbuf_set(eb, EINVAL, "key '%s' has no value", k);
		while (isspace((unsigned char)*p))
			p++;
		if (*p && *p != '#')
			return errbuf_set(eb, EINVAL, "unexpected text after the value of '%s': '%.40s' "
					  "(quote values that contain spaces)", k, p);
		*end = 0;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p && *p != '#')
		return errbuf_set(eb, EINVAL, "unexpected text after the value of '%s': '%.40s'", k, p);
	*key = k;
	values[0] = v;
	*nvalues = 1;
	return 0;
}

int config_parse_text(struct domain_config *cfg, const char *text, const char *origin,
		      struct errbuf *eb)
{
	unsigned lineno = 0;
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[CONFIG_LINE_MAX], *key, *values[CONFIG_LIST_MAX];
		unsigned nvalues;
		int r;

		lineno++;
		if (len >= sizeof(line))
			return errbuf_set(eb, EINVAL, "%s:%u: line longer than %zu bytes", origin, lineno,
					  sizeof(line) - 1);
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (nl ? 1 : 0);
		r = parse_line(line, &key, values, &nvalues, eb);
		for (unsigned i = 0; r == 0 && i < nvalues; i++)
			r = config_set(cfg, key, values[i], eb);
		if (r < 0)
			return errbuf_prefix(eb, r, "%s:%u", origin, lineno);
	}
	return 0;
}

int config_parse_file(struct domain_config *cfg, const char *path, struct errbuf *eb)
{
	char *text = NULL, dir[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(eb, errno, "cannot read config %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errbuf_set(eb, EINVAL, "config %s is not a regular file", path);
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		close(fd);
		return errbuf_set(eb, EFBIG, "config %s is %lld bytes; at most %u are allowed", path,
				  (long long)st.st_size, CONFIG_FILE_MAX);
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return errbuf_set(eb, ENOMEM, "out of memory reading %s", path);
	}
	n = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(text);
		return errbuf_set(eb, EIO, "cannot read config %s: short read", path);
	}
	text[n] = 0;
	if (memchr(text, 0, (size_t)n)) {
		free(text);
		return errbuf_set(eb, EINVAL, "config %s contains a NUL byte; it is not a text file", path);
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');

	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	if (slash == dir)
		snprintf(dir, sizeof(dir), "/");
	snprintf(cfg->base_dir, sizeof(cfg->base_dir), "%s", dir);
	r = config_parse_text(cfg, text, path, eb);
	free(text);
	return r;
}

/*
 * config_format: cfg as lines config_parse_text reads back.  It returns -2
 * for what that syntax cannot carry:
 *  - a newline in a value: the parser ends the line there, quoted or not;
 *  - a line of CONFIG_LINE_MAX bytes or more (a path near PATH_MAX, a long
 *    cmdline full of quotes and backslashes): the parser refuses the line;
 *  - a ',' in a disk's path: add_disk cuts its spec at every ',';
 *  - a vif's port name or bridge with a ',' outside brackets, or brackets
 *    that do not pair: split_vif cuts or refuses the spec there;
 *  - console_log_max that is not a whole number of MiB: the key takes MiB;
 *  - an enum value without a name (a struct filled in by hand).
 * Values a key's own checks refuse (memory_mib = 1, written into the
 * struct directly) go out as they are: config_set refuses them on the way
 * back, naming the key, which is better than a guess here.
 */

/* Text built into a buffer; len counts all of it, as snprintf does, so len >= size means it was cut. */
struct text {
	char *buf;
	size_t size, len;
};

static void text_putc(struct text *t, char c)
{
	if (t->len + 1 < t->size) {
		t->buf[t->len] = c;
		t->buf[t->len + 1] = 0;
	}
	t->len++;
}

static void __attribute__((format(printf, 2, 3))) text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->len < t->size ? t->buf + t->len : NULL, t->len < t->size ? t->size - t->len : 0,
		      fmt, ap);
	va_end(ap);
	t->len += n < 0 ? t->size + 1 : (size_t)n;
}

/*
 * `key = value` and its newline onto out, value in quotes when quoted.
 * parse_quoted undoes only \" and \\ in double quotes and nothing in
 * single quotes, so a value with '"' or '\' but no '\'' goes in single
 * quotes (no escapes, a shorter line), any other in double quotes.
 */
static int put_line(struct text *out, const char *key, const char *v, bool quoted)
{
	char buf[CONFIG_LINE_MAX];
	struct text line = { buf, sizeof(buf), 0 };
	char q = strpbrk(v, "\"\\") && !strchr(v, '\'') ? '\'' : '"';

	if (strchr(v, '\n'))
		return -2;
	text_printf(&line, "%s = ", key);
	if (quoted) {
		text_putc(&line, q);
		for (const char *p = v; *p; p++) {
			if (q == '"' && (*p == '"' || *p == '\\'))
				text_putc(&line, '\\');
			text_putc(&line, *p);
		}
		text_putc(&line, q);
	} else {
		text_printf(&line, "%s", v);
	}
	if (line.len >= line.size)
		return -2;
	text_printf(out, "%s\n", buf);
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
put_number(struct text *out, const char *key, const char *fmt, ...)
{
	char v[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return put_line(out, key, v, false);
}

/* An enum's value by its name, the word its key reads back; "?" is no value's name. */
static int put_name(struct text *out, const char *key, const char *name)
{
	return strcmp(name, "?") ? put_line(out, key, name, false) : -2;
}

/* The fields add_disk reads, those that differ from its defaults; path= first, as every disk has one. */
static int put_disk(struct text *out, const struct disk_config *dk)
{
	char buf[DISK_SPEC_MAX];
	struct text spec = { buf, sizeof(buf), 0 };

	if (strchr(dk->path, ',') || !strcmp(disk_mode_name(dk->mode), "?"))
		return -2;
	text_printf(&spec, "path=%s", dk->path);
	if (dk->mode != DISK_MODE_IOEVENTFD)
		text_printf(&spec, ",mode=%s", disk_mode_name(dk->mode));
	if (dk->ro)
		text_printf(&spec, ",ro=1");
	if (!dk->direct)
		text_printf(&spec, ",direct=0");
	if (dk->sqpoll)
		text_printf(&spec, ",sqpoll=1");
	if (dk->queues)
		text_printf(&spec, ",queues=%u", dk->queues);
	if (!dk->persistent)
		text_printf(&spec, ",persistent=0");
	if (spec.len >= spec.size)
		return -2;
	return put_line(out, "disk", buf, true);
}

/* split_vif cuts a vif's spec at each ',' outside brackets: a value it would cut or refuse is no field's. */
static bool vif_value_ok(const char *v)
{
	int depth = 0;

	for (; *v; v++) {
		if (*v == ',' && depth == 0)
			return false;
		depth += *v == '[' ? 1 : *v == ']' ? -1 : 0;
		if (depth < 0)
			return false;
	}
	return depth == 0;
}

/* The fields add_vif reads, those that differ from its defaults; port= first, as every vif has one. */
static int put_vif(struct text *out, const struct vif_config *vc)
{
	char buf[VIF_SPEC_MAX], port[CONFIG_DPDK_ARGS_MAX + 16];
	struct text spec = { buf, sizeof(buf), 0 };

	if (!strcmp(vif_port_name(vc->port), "?") || !strcmp(vif_mode_name(vc->mode), "?"))
		return -2;
	/* a dpdk port's name is the vdev's, the start of its args: the args alone bring both back */
	if (vc->port == VIF_PORT_DPDK)
		snprintf(port, sizeof(port), "dpdk:[%s]", vc->dpdk_args);
	else
		snprintf(port, sizeof(port), "%s:%s", vif_port_name(vc->port), vc->port_name);
	if (!vif_value_ok(port) || !vif_value_ok(vc->bridge) || !vif_value_ok(vc->netns))
		return -2;
	text_printf(&spec, "port=%s", port);
	if (vc->mac_set)
		text_printf(&spec, ",mac=%02x:%02x:%02x:%02x:%02x:%02x", vc->mac[0], vc->mac[1], vc->mac[2],
			    vc->mac[3], vc->mac[4], vc->mac[5]);
	if (vc->mode != VIF_MODE_IOEVENTFD)
		text_printf(&spec, ",mode=%s", vif_mode_name(vc->mode));
	if (vc->queues != 1)
		text_printf(&spec, ",queues=%u", vc->queues);
	if (vc->bridge[0])
		text_printf(&spec, ",bridge=%s", vc->bridge);
	if (vc->netns[0])
		text_printf(&spec, ",netns=%s", vc->netns);
	if (spec.len >= spec.size)
		return -2;
	return put_line(out, "vif", buf, true);
}

/* vcpu_pin's entries, one line each: CONFIG_LIST_MAX items in a list are fewer than XENITH_MAX_VCPUS. */
static int put_vcpu_pin(struct text *out, const struct domain_config *cfg)
{
	const char *p = cfg->vcpu_pin;

	for (unsigned i = 0; i < cfg->nr_vcpu_pin; i++) {
		char entry[CONFIG_VCPU_PIN_MAX];
		size_t len = strcspn(p, " ");
		int r;

		if (!len)
			return -2; /* fewer entries in the text than nr_vcpu_pin counts */
		memcpy(entry, p, len);
		entry[len] = 0;
		r = put_line(out, "vcpu_pin", entry, true);
		if (r < 0)
			return r;
		p += len + (p[len] == ' ');
	}
	return 0;
}

static int put_all(struct text *out, const struct domain_config *cfg)
{
	struct domain_config def;
	int r = 0;

	config_init(&def);
	if (cfg->name[0])
		r = put_line(out, "name", cfg->name, true);
	if (!r && cfg->memory_mib != def.memory_mib)
		r = put_number(out, "memory", "%llu", (unsigned long long)cfg->memory_mib);
	if (!r && cfg->vcpus != def.vcpus)
		r = put_number(out, "vcpus", "%u", cfg->vcpus);
	if (!r && cfg->kernel[0])
		r = put_line(out, "kernel", cfg->kernel, true);
	if (!r && cfg->initrd[0])
		r = put_line(out, "initrd", cfg->initrd, true);
	if (!r && cfg->cmdline[0])
		r = put_line(out, "cmdline", cfg->cmdline, true);
	if (!r && cfg->guest_cpl != def.guest_cpl)
		r = put_number(out, "guest_cpl", "%u", cfg->guest_cpl);
	for (unsigned i = 0; !r && i < cfg->nr_disks; i++)
		r = put_disk(out, &cfg->disks[i]);
	for (unsigned i = 0; !r && i < cfg->nr_vifs; i++)
		r = put_vif(out, &cfg->vifs[i]);
	for (unsigned i = 0; !r && i < cfg->nr_pci; i++)
		r = put_line(out, "pci", cfg->pci[i], true);
	if (!r && cfg->on_poweroff != def.on_poweroff)
		r = put_name(out, "on_poweroff", config_action_name(cfg->on_poweroff));
	if (!r && cfg->on_reboot != def.on_reboot)
		r = put_name(out, "on_reboot", config_action_name(cfg->on_reboot));
	if (!r && cfg->on_crash != def.on_crash)
		r = put_name(out, "on_crash", config_action_name(cfg->on_crash));
	if (!r && cfg->console_log[0])
		r = put_line(out, "console_log", cfg->console_log, true);
	/* the key takes MiB: bytes that are not a whole number of them cannot go back */
	if (!r && cfg->console_log_max != def.console_log_max && cfg->console_log_max % (1u << 20))
		r = -2;
	else if (!r && cfg->console_log_max != def.console_log_max)
		r = put_number(out, "console_log_max", "%llu",
			       (unsigned long long)cfg->console_log_max >> 20);
	/* 17 significant digits bring any double back exactly through strtod */
	if (!r && cfg->timeout_s != def.timeout_s)
		r = put_number(out, "timeout", "%.17g", cfg->timeout_s);
	if (!r && cfg->seccomp != def.seccomp)
		r = put_number(out, "seccomp", "%d", cfg->seccomp);
	if (!r && cfg->user[0])
		r = put_line(out, "user", cfg->user, true);
	if (!r && cfg->jail != def.jail)
		r = put_number(out, "jail", "%d", cfg->jail);
	if (!r && cfg->memory_backing != def.memory_backing)
		r = put_name(out, "memory_backing", config_backing_name(cfg->memory_backing));
	if (!r && cfg->numa_node != def.numa_node)
		r = put_number(out, "numa_node", "%d", cfg->numa_node);
	if (!r)
		r = put_vcpu_pin(out, cfg);
	if (!r && cfg->dpdk_hugepages != def.dpdk_hugepages)
		r = put_number(out, "dpdk_hugepages", "%d", cfg->dpdk_hugepages);
	if (!r && cfg->dpdk_eal_args[0])
		r = put_line(out, "dpdk_eal_args", cfg->dpdk_eal_args, true);
	if (!r && cfg->xen_hvm != def.xen_hvm)
		r = put_number(out, "xen_hvm", "%d", cfg->xen_hvm);
	if (!r && cfg->dirty_ring != def.dirty_ring)
		r = put_number(out, "dirty_ring", "%d", cfg->dirty_ring);
	return r;
}

/*
 * base_dir has no key: the paths above are written as cfg holds them,
 * already resolved against it, so the text must be read with base_dir ""
 * (config_parse_text into a config_init()ed config) and needs none.  It
 * goes out as a comment for the reader, left out when no comment line can
 * hold it (a newline would end the comment and start a line that is parsed).
 */
static void put_base_dir(struct text *out, const struct domain_config *cfg)
{
	char buf[CONFIG_LINE_MAX];
	struct text line = { buf, sizeof(buf), 0 };

	if (!cfg->base_dir[0] || put_line(&line, "# base_dir", cfg->base_dir, true) < 0)
		return;
	text_printf(&line, "# (not a key: the paths above are resolved already)\n");
	if (line.len < line.size)
		text_printf(out, "%s", buf);
}

int config_format(const struct domain_config *cfg, char *buf, size_t size)
{
	struct text out = { buf, size, 0 };
	int r;

	if (size)
		buf[0] = 0;
	r = put_all(&out, cfg);
	if (r < 0)
		return r;
	put_base_dir(&out, cfg);
	if (out.len >= size || out.len > INT_MAX)
		return -1;
	return (int)out.len;
}
