/* SPDX-License-Identifier: MIT */
/*
 * Domain configuration: `key = value` files in the spirit of xl.cfg, and
 * the same keys set one by one (the CLI maps --on-crash to on_crash).
 */
#ifndef XENITH_HV_CONFIG_H
#define XENITH_HV_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "xenith/start_info.h"

enum domain_action {
	ACTION_DESTROY,  /* end the domain; the VMM exits */
	ACTION_RESTART,  /* build the domain again and boot it */
	ACTION_PRESERVE, /* keep it, paused, for inspection until destroyed */
};

/* How a frontend's kicks reach a disk's backend (see io/blkback.h). */
enum disk_mode {
	DISK_MODE_EXIT,      /* event-channel send: a hypercall exit handled in the VMM */
	DISK_MODE_IOEVENTFD, /* a write to the disk's doorbell port, completed in the kernel */
	DISK_MODE_POLL,      /* no kicks: the backend polls the ring on its own thread */
};

#define CONFIG_MAX_DISKS 4u

struct disk_config {
	char path[PATH_MAX];  /* regular file or block device */
	enum disk_mode mode;  /* default ioeventfd */
	bool ro;              /* default 0 */
	bool direct;          /* O_DIRECT when the backing store allows it; default 1 */
	bool sqpoll;          /* io_uring SQPOLL thread; default 0 */
	unsigned queues;      /* rings (and backend threads); 0, the default: one per vCPU, at most 8 */
	bool persistent;      /* offer persistent grants (zero-copy); default 1 */
};

const char *disk_mode_name(enum disk_mode m);

/* How a netfront's kicks reach a vif's backend (io/netback.h): as for disks. */
enum vif_mode {
	VIF_MODE_EXIT,      /* event-channel send: a hypercall exit handled in the VMM */
	VIF_MODE_IOEVENTFD, /* a write to the vif's doorbell port, completed in the kernel */
	VIF_MODE_POLL,      /* no kicks: the backend polls the rings on its own thread */
};

/* Where a vif's frames go on the host side (io/netport.h). */
enum vif_port {
	VIF_PORT_TAP,  /* a tap device, created or attached (io/port_tap.c) */
	VIF_PORT_PAIR, /* an in-memory pair: the vifs naming one pair in a VMM are its two ends */
	VIF_PORT_DPDK, /* a DPDK software vdev (io/port_dpdk.c): port=dpdk:[VDEV-ARGS] */
	VIF_PORT_SWITCH, /* a domain switch process (`xenith switch`, io/switch.h) */
};

#define CONFIG_MAX_VIFS 4u

/* PCI functions passed through (`pci` key, hv/pcidev.c); a BDF as sysfs spells it, and its NUL. */
#define CONFIG_MAX_PCI 4u
#define CONFIG_BDF_LEN 13u
#define CONFIG_IFNAME_MAX 16u /* IFNAMSIZ, with the NUL */
#define CONFIG_NETNS_MAX 64u
#define CONFIG_DPDK_ARGS_MAX 256u /* PORT_DPDK_ARGS_MAX (io/port_dpdk.h) */

struct vif_config {
	uint8_t mac[6];             /* the guest's MAC: unicast, not zero */
	bool mac_set;               /* false: 00:16:3e + 3 random bytes at create (as xl) */
	enum vif_port port;
	char port_name[CONFIG_IFNAME_MAX]; /* the tap's interface name, the pair's name, the vdev's name */
	enum vif_mode mode;         /* default ioeventfd */
	unsigned queues;            /* 1 (the default) to XENITH_NET_MAX_QUEUES */
	char bridge[CONFIG_IFNAME_MAX]; /* tap: a bridge to add it to; "" none */
	char netns[CONFIG_NETNS_MAX];   /* tap: a namespace (/run/netns/NAME) to move it to; "" none */
	char dpdk_args[CONFIG_DPDK_ARGS_MAX]; /* dpdk: VDEV-ARGS, without the brackets */
};

const char *vif_mode_name(enum vif_mode m);
const char *vif_port_name(enum vif_port p);

/* Guest memory's backing (hv/membacking.h). */
enum mem_backing {
	MEM_BACKING_MEMFD,   /* memfd of 4 KiB pages */
	MEM_BACKING_HUGETLB, /* memfd of 2 MiB pages reserved in /proc/sys/vm/nr_hugepages */
	MEM_BACKING_THP,     /* memfd asking for transparent huge pages (MADV_HUGEPAGE) */
	MEM_BACKING_AUTO,    /* the default: thp or memfd, chosen at build (mem_backing_resolve) */
};

/*
 * memory_backing = auto gives thp to domains of at least this much memory
 * (hv/membacking.c says why 64 MiB), memfd to smaller ones.
 */
#define MEM_AUTO_THP_MIN_MIB 64u

/* A set of host CPUs, as vcpu_pin lists them (xl.cfg's CPU-LIST: "0", "1-3,^2", "all"). */
#define CONFIG_CPUS_MAX 1024u
struct cpu_mask {
	uint64_t bits[CONFIG_CPUS_MAX / 64];
};

static inline bool cpu_mask_test(const struct cpu_mask *m, unsigned cpu)
{
	return cpu < CONFIG_CPUS_MAX && (m->bits[cpu / 64] >> (cpu % 64)) & 1;
}

/* "0-3,8" (ascending ranges) for a mask, into buf; "none" when empty; cut at len. */
void cpu_mask_format(const struct cpu_mask *m, char *buf, size_t len);
/* Parses a CPU list ("0", "1-3", "0-7,^4-5", "all": every CPU this process may use). 0 or -EINVAL. */
int cpu_list_parse(const char *s, struct cpu_mask *m);

/* vcpu_pin's entries, as canonical lists, take at most this many bytes together (with a NUL). */
#define CONFIG_VCPU_PIN_MAX 512u

#define CONFIG_MEMORY_MIN_MIB 2u
#define CONFIG_MEMORY_MAX_MIB 65536u
/* console_log_max, in MiB: the console log (and its one rotated copy) is capped there. */
#define CONFIG_CONSOLE_LOG_MAX_DEFAULT_MIB 16u
#define CONFIG_CONSOLE_LOG_MAX_MAX_MIB (1u << 20)

struct domain_config {
	char name[XENITH_NAME_MAX];           /* "" until set: the CLI picks a default */
	uint64_t memory_mib;                  /* default 16 */
	unsigned vcpus;                       /* default 1, 1..XENITH_MAX_VCPUS */
	char kernel[PATH_MAX];                /* "" means the bundled minios; an ELF PV
					       * guest or a Linux bzImage */
	char initrd[PATH_MAX];                /* Linux guests: "" means none */
	char cmdline[XENITH_CMDLINE_MAX];
	unsigned guest_cpl;                   /* PV guests: 3 (default) or 0 (VT-x/AMD-V hosts) */
	bool xen_hvm;                         /* Linux guests: see Xen's HVM interface (hv/xenhvm.h); default 0 */
	enum domain_action on_poweroff;       /* default destroy */
	enum domain_action on_reboot;         /* default restart */
	enum domain_action on_crash;          /* default destroy */
	char console_log[PATH_MAX];           /* "" means none */
	uint64_t console_log_max;             /* bytes; the log is rotated there (default 16 MiB) */
	struct disk_config disks[CONFIG_MAX_DISKS]; /* `disk` keys, in order */
	unsigned nr_disks;
	struct vif_config vifs[CONFIG_MAX_VIFS]; /* `vif` keys, in order */
	unsigned nr_vifs;
	char pci[CONFIG_MAX_PCI][CONFIG_BDF_LEN]; /* `pci` keys: PCI functions passed through, "DDDD:BB:SS.F" */
	unsigned nr_pci;
	bool dpdk_hugepages;                  /* the DPDK EAL on hugepages (default: --no-huge) */
	char dpdk_eal_args[256];              /* extra EAL arguments, space-separated (io/port_dpdk.h) */
	double timeout_s;                     /* 0 means none */
	/* Confinement (hv/confine.h) */
	bool seccomp;                         /* system call filters; default 1 */
	char user[64];                        /* "" keeps the uid; NAME or UID:GID */
	bool jail;                            /* private mount namespace; default 0 */
	char base_dir[PATH_MAX];              /* relative paths in a file are relative to it */
	/* Placement (hv/membacking.h) */
	enum mem_backing memory_backing;      /* default memfd */
	int numa_node;                        /* -1 (the default): none */
	/* Dirty logging (hv/dirty_ring.h): -1 auto (the default), 0 KVM's bitmap, else ring entries per vCPU */
	int dirty_ring;
	/*
	 * vcpu_pin: one entry pins every vCPU to its CPUs; several, vCPU i to
	 * entry i.  Kept as text, each entry's canonical CPU list ("0-3,5")
	 * after a space: 64 masks of 1024 CPUs would add 8 KiB to every domain.
	 */
	char vcpu_pin[CONFIG_VCPU_PIN_MAX];
	unsigned nr_vcpu_pin;
};

void config_init(struct domain_config *cfg);

/* Keys known to config_set, NULL-terminated, in the order --help shows them. */
extern const char *const config_keys[];

/*
 * Sets one key from its text value.  Errors name the key, the value and
 * what is allowed ("vcpus = 0: must be an integer from 1 to 64").
 */
int config_set(struct domain_config *cfg, const char *key, const char *value, struct errbuf *eb);

/*
 * Parses a whole file (origin names it in messages, with the line
 * number).  Syntax: `key = value` per line; values are numbers, bare
 * words or strings in single or double quotes; `#` starts a comment.
 */
int config_parse_text(struct domain_config *cfg, const char *text, const char *origin, struct errbuf *eb);
int config_parse_file(struct domain_config *cfg, const char *path, struct errbuf *eb);

/*
 * cfg as config-file text that config_parse_text() reads back into an
 * equal config: a `key = value` line for every key whose value differs
 * from config_init()'s, strings quoted, disks, vifs, pci and vcpu_pin one
 * line per entry in order, each disk's and vif's spec with the fields that
 * differ from add_disk's and add_vif's defaults (`xenith save` stores it
 * for `xenith restore`).
 *
 * Paths are written as cfg holds them (absolute, or as given: the caller
 * resolved them), so read the text with base_dir "": config_parse_text()
 * into a config_init()ed config, not config_parse_file().  base_dir has no
 * key; it goes out as a comment, and the parsed config has base_dir "".
 * Not carried either: what is not in struct domain_config, such as a vif's
 * MAC generated at create when mac_set is false (set mac_set to keep it).
 *
 * Returns the text's length; -1 when size is too small (buf then holds a
 * terminated, cut text, when size > 0); -2 for a value the syntax cannot
 * carry: a newline, a line of 2048 bytes or more, a ',' in a disk path,
 * a vif name with a ',' or unpaired brackets, console_log_max not in whole
 * MiB, an enum without a name (hv/config.c lists why); -2 whatever size,
 * with buf holding the lines before the value.
 */
int config_format(const struct domain_config *cfg, char *buf, size_t size);

const char *config_action_name(enum domain_action a);
const char *config_backing_name(enum mem_backing b);
/* vcpu_pin's entry i (< nr_vcpu_pin) as a mask: 0 or -EINVAL. */
int config_vcpu_pin(const struct domain_config *cfg, unsigned i, struct cpu_mask *m);

#endif
