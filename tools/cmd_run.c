// SPDX-License-Identifier: MIT
/* xenith run: build a domain, boot it, serve its control socket, report how it ended. */
#include <getopt.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkdev.h"
#include "config.h"
#include "confine.h"
#include "control.h"
#include "domain.h"
#include "port_dpdk.h"
#include "relocate.h"
#include "textfilter.h"
#include "vcpu.h"
#include "xenith.h"

static void run_help(FILE *f)
{
	fprintf(f,
"usage: xenith run [OPTIONS] [IMAGE]\n"
"       xenith run -c FILE [OPTIONS]\n\n"
"Boots a domain and stays with it until it ends: a Xenith PV guest (an ELF image\n"
"such as the bundled minios, booted when there is no IMAGE and no kernel in the\n"
"config) or an unmodified Linux bzImage (VT-x/AMD-V hosts only: Linux runs its\n"
"kernel at CPL 0; console on COM1, so give it console=ttyS0).\n\n"
"options (each sets the config key of the same name; options win over -c FILE):\n"
"  -c, --config FILE      read `key = value` lines (xl.cfg style) from FILE\n"
"  -n, --name NAME        domain name, unique among running domains\n"
"                         (default: the image's file name, made unique)\n"
"  -m, --memory MIB       guest memory in MiB (default 16; 512M and 1G accepted)\n"
"      --vcpus N          virtual CPUs (default 1, at most 64)\n"
"      --kernel IMAGE     guest ELF image or Linux bzImage (same as IMAGE)\n"
"      --initrd FILE      initial ramdisk for a Linux kernel\n"
"      --cmdline TEXT     guest command line; for minios the program to run:\n"
"                         hello (default), smp, crash, assert, hypercall, spin,\n"
"                         idle, ticker [MS], timer [N [MS]], grant, evtchn [N],\n"
"                         blk ... (see README), net-sink, net-blast, net-echo\n"
"                         (see README), exit N, reboot, mem, escape,\n"
"                         flood BYTES, hostile ..., net-hostile ...,\n"
"                         dirtylog I J ... (hypercall, grant, evtchn and\n"
"                         dirtylog need XENITH_TEST_HOOKS=1 in the environment)\n"
"      --guest-cpl 3|0    where a PV guest kernel runs: 3 (default, deprivileged)\n"
"                         or 0 (VT-x/AMD-V hosts only: its own IDT, exceptions\n"
"                         reported by the guest, events as interrupts, HLT idle)\n"
"      --xen-hvm          a Linux guest sees Xen's HVM interface instead of KVM's\n"
"                         (Xen CPUID leaves, hypercall page, event channels;\n"
"                         README, \"Linux guests that see Xen\"; config: xen_hvm = 1)\n"
"      --disk SPEC        a virtual disk (repeatable, up to 4):\n"
"                         path=FILE[,mode=exit|ioeventfd|poll][,ro=0|1]\n"
"                         [,direct=0|1][,sqpoll=0|1][,queues=1-8 (default: one per vCPU)]\n"
"                         [,persistent=0|1 (persistent grants, default 1)];\n"
"                         config: disk = [ \"...\", ... ]; each image is locked\n"
"                         while the domain lives: a writable one by this domain\n"
"                         alone, a ro=1 one shared with other ro=1 domains\n"
"      --vif SPEC         a network interface (repeatable, up to 4):\n"
"                         port=tap:IFNAME|dpdk:[VDEV-ARGS]|pair:NAME\n"
"                         [,mac=XX:XX:XX:XX:XX:XX\n"
"                         (default 00:16:3e + 3 random bytes)]\n"
"                         [,mode=exit|ioeventfd|poll][,queues=1-8 (default 1)]\n"
"                         [,bridge=BR|,netns=NS (tap only)];\n"
"                         config: vif = [ \"...\", ... ]; a tap is created if it\n"
"                         does not exist (as root), else attached; dpdk: a DPDK\n"
"                         vdev, e.g. dpdk:[net_af_packet0,iface=veth1] (config\n"
"                         keys dpdk_hugepages = 0|1, dpdk_eal_args = \"...\")\n"
"      --pci BDF          a PCI function passed through (repeatable, up to 4;\n"
"                         config: pci = [ \"0000:01:00.1\", ... ]): on vfio-pci\n"
"                         (xenith pci assignable-add), its IOMMU group viable;\n"
"                         the domain's RAM is mapped for its DMA at IOVA =\n"
"                         guest-physical, and it is reset at every start and at\n"
"                         the end (README: PCI passthrough)\n"
"      --on-poweroff ACT  destroy (default) | restart | preserve\n"
"      --on-reboot ACT    restart (default) | destroy | preserve\n"
"      --on-crash ACT     destroy (default) | restart | preserve\n"
"      --console-log FILE also append guest output to FILE\n"
"      --console-log-max MIB\n"
"                         cap on the console log (default 16; 64M, 1G accepted):\n"
"                         at the cap FILE becomes FILE.1 (dropping the older\n"
"                         FILE.1) and a new FILE starts with a line saying how\n"
"                         many bytes were dropped\n"
"      --timeout SECONDS  destroy the domain if it runs longer than this\n"
"      --memory-backing auto|memfd|hugetlb|thp\n"
"                         guest memory: auto (default: thp for domains of 64 MiB\n"
"                         and more where the host allows it, else memfd), memfd\n"
"                         of 4 KiB pages, hugetlb (2 MiB pages reserved in\n"
"                         /proc/sys/vm/nr_hugepages; memory a multiple of 2 MiB)\n"
"                         or thp (transparent huge pages, if /sys/kernel/mm/\n"
"                         transparent_hugepage/shmem_enabled allows: advise or\n"
"                         always)\n"
"      --numa-node N      guest memory and vCPU threads on host NUMA node N\n"
"      --vcpu-pin CPUS    host CPUs for the vCPU threads, as xl's cpus: \"0-3,^2\";\n"
"                         once: every vCPU; repeated: vCPU 0, 1, ... in turn\n"
"                         (config: vcpu_pin = [ \"0\", \"1\" ])\n"
"      --dirty-ring auto|0|N\n"
"                         how KVM logs the pages a PV guest dirties, for\n"
"                         `xenith migrate`: auto (default: its dirty ring where\n"
"                         the host has it, else its bitmap), 0 (the bitmap), or\n"
"                         a ring of N entries per vCPU (a power of two, 256-65536)\n"
"  -p, --prefix           put \"NAME: \" in front of every console line\n"
"  -q, --quiet            no status line when the domain ends\n"
"      --boot-trace       print boot timings to stderr when the domain ends\n"
"                         (relative to $XENITH_T0_NS, a CLOCK_MONOTONIC time in ns,\n"
"                         when set, else to the start of xenith)\n"
"      --run-dir DIR      where control sockets live (default $XENITH_RUN_DIR,\n"
"                         /run/xenith as root, else $XDG_RUNTIME_DIR/xenith,\n"
"                         else /tmp/xenith-UID); it must be yours, mode 0700\n"
"      --no-seccomp       no system call filters (to debug a VMM that exits with\n"
"                         status 70; config: seccomp = 0)\n"
"      --user NAME|UID:GID  started as root: switch to this user once the domain\n"
"                         is built (its disks must be open to that user: a reboot\n"
"                         reopens them)\n"
"      --jail             started as root: run in a private mount namespace whose\n"
"                         root holds only the domain's disks (config: jail = 1)\n"
"  -h, --help             this text\n\n"
"config keys: name, memory, vcpus, kernel, initrd (alias ramdisk), cmdline (alias\n"
"extra), guest_cpl, disk, vif, pci, on_poweroff, on_reboot, on_crash, console_log,\n"
"console_log_max, timeout, seccomp, user, jail, memory_backing, numa_node,\n"
"vcpu_pin, xen_hvm, dirty_ring.  Confinement (README): descriptors inherited from the parent are\n"
"closed, no-new-privileges is set, and each VMM thread has a seccomp filter.\n"
"Relative paths in FILE are relative to FILE's directory.\n\n"
"exit status:\n"
"  0-63  the guest powered off with this exit code (larger codes are reported as 63)\n"
"  64    bad command line or configuration\n"
"  65    the domain could not be built or started (no KVM, bad image, ...)\n"
"  66    the guest crashed (triple fault, failed GUEST_ASSERT, ...)\n"
"  67    destroyed by `xenith destroy` or a signal\n"
"  68    destroyed because --timeout expired\n"
"  69    the guest asked to reboot and on_reboot = destroy\n"
"  70    a VMM thread made a system call its seccomp filter does not allow\n"
"        (the thread and the call are named on stderr and in the console log)\n");
}

#define MIGRATE_PORT "8002" /* as `xenith migrate`'s default: xend's relocation port */

enum {
	OPT_VCPUS = 256, OPT_KERNEL, OPT_INITRD, OPT_CMDLINE, OPT_GUEST_CPL, OPT_DISK, OPT_VIF, OPT_PCI, OPT_ON_POWEROFF, OPT_ON_REBOOT, OPT_ON_CRASH,
	OPT_CONSOLE_LOG, OPT_CONSOLE_LOG_MAX, OPT_TIMEOUT, OPT_RUN_DIR, OPT_BOOT_TRACE, OPT_NO_SECCOMP,
	OPT_USER, OPT_JAIL, OPT_MEMORY_BACKING, OPT_NUMA_NODE, OPT_VCPU_PIN, OPT_XEN_HVM, OPT_DIRTY_RING,
};

static const struct option run_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "name", required_argument, NULL, 'n' },
	{ "memory", required_argument, NULL, 'm' },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "guest-cpl", required_argument, NULL, OPT_GUEST_CPL },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "vif", required_argument, NULL, OPT_VIF },
	{ "pci", required_argument, NULL, OPT_PCI },
	{ "on-poweroff", required_argument, NULL, OPT_ON_POWEROFF },
	{ "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
	{ "on-crash", required_argument, NULL, OPT_ON_CRASH },
	{ "console-log", required_argument, NULL, OPT_CONSOLE_LOG },
	{ "console-log-max", required_argument, NULL, OPT_CONSOLE_LOG_MAX },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "prefix", no_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "boot-trace", no_argument, NULL, OPT_BOOT_TRACE },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "jail", no_argument, NULL, OPT_JAIL },
	{ "xen-hvm", no_argument, NULL, OPT_XEN_HVM },
	{ "memory-backing", required_argument, NULL, OPT_MEMORY_BACKING },
	{ "numa-node", required_argument, NULL, OPT_NUMA_NODE },
	{ "vcpu-pin", required_argument, NULL, OPT_VCPU_PIN },
	{ "dirty-ring", required_argument, NULL, OPT_DIRTY_RING },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *option_key(int opt)
{
	switch (opt) {
	case 'n': return "name";
	case 'm': return "memory";
	case OPT_VCPUS: return "vcpus";
	case OPT_KERNEL: return "kernel";
	case OPT_INITRD: return "initrd";
	case OPT_CMDLINE: return "cmdline";
	case OPT_GUEST_CPL: return "guest_cpl";
	case OPT_DISK: return "disk";
	case OPT_VIF: return "vif";
	case OPT_PCI: return "pci";
	case OPT_ON_POWEROFF: return "on_poweroff";
	case OPT_ON_REBOOT: return "on_reboot";
	case OPT_ON_CRASH: return "on_crash";
	case OPT_CONSOLE_LOG: return "console_log";
	case OPT_CONSOLE_LOG_MAX: return "console_log_max";
	case OPT_TIMEOUT: return "timeout";
	case OPT_NO_SECCOMP: return "seccomp";
	case OPT_USER: return "user";
	case OPT_JAIL: return "jail";
	case OPT_XEN_HVM: return "xen_hvm";
	case OPT_MEMORY_BACKING: return "memory_backing";
	case OPT_NUMA_NODE: return "numa_node";
	case OPT_VCPU_PIN: return "vcpu_pin";
	case OPT_DIRTY_RING: return "dirty_ring";
	default: return NULL;
	}
}

struct run_args {
	struct domain_config cfg;
	bool name_given, prefix, quiet, boot_trace;
	const char *run_dir;
	const char *new_name;   /* restore: --name */
};

static int parse_run_args(int argc, char **argv, struct run_args *a)
{
	struct errbuf eb;
	int opt;

	memset(a, 0, sizeof(*a));
	config_init(&a->cfg);
	/* The config file first, whatever its place: options override it. */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:n:m:pqh", run_options, NULL)) != -1) {
		if (opt == 'c' && config_parse_file(&a->cfg, optarg, &eb) < 0) {
			fprintf(stderr, "xenith run: %s\n", eb.msg);
			return EXIT_USAGE;
		}
	}
	opterr = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:n:m:pqh", run_options, NULL)) != -1) {
		const char *key = option_key(opt);

		if (key) {
			char saved[PATH_MAX];

			/* Paths on the command line are relative to the current directory. */
			snprintf(saved, sizeof(saved), "%s", a->cfg.base_dir);
			a->cfg.base_dir[0] = 0;
			/* The flags set their keys: --no-seccomp is seccomp = 0, --jail jail = 1, --xen-hvm xen_hvm = 1. */
			if (config_set(&a->cfg, key, opt == OPT_NO_SECCOMP ? "0" :
				       opt == OPT_JAIL || opt == OPT_XEN_HVM ? "1" : optarg,
				       &eb) < 0) {
				fprintf(stderr, "xenith run: %s\n", eb.msg);
				return EXIT_USAGE;
			}
			snprintf(a->cfg.base_dir, sizeof(a->cfg.base_dir), "%s", saved);
			if (opt == 'n')
				a->name_given = true;
			continue;
		}
		switch (opt) {
		case 'c':
			break;
		case 'p':
			a->prefix = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case OPT_BOOT_TRACE:
			a->boot_trace = true;
			break;
		case OPT_RUN_DIR:
			a->run_dir = optarg;
			break;
		case 'h':
			run_help(stdout);
			return 0;
		default:
			fprintf(stderr, "xenith run: see `xenith run --help`\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc - 1) {
		fprintf(stderr, "xenith run: one IMAGE at most, got '%s' and '%s'\n", argv[optind],
			argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (optind == argc - 1) {
		a->cfg.base_dir[0] = 0;
		if (config_set(&a->cfg, "kernel", argv[optind], &eb) < 0) {
			fprintf(stderr, "xenith run: %s\n", eb.msg);
			return EXIT_USAGE;
		}
	}
	if (!a->cfg.kernel[0] && find_bundled_minios(a->cfg.kernel, sizeof(a->cfg.kernel)) < 0) {
		fprintf(stderr, "xenith run: no IMAGE given and the bundled minios is not at %s "
			"(build it with `meson compile -C build`, or set XENITH_MINIOS)\n",
			a->cfg.kernel);
		return EXIT_USAGE;
	}
	if (a->cfg.name[0])
		a->name_given = true;
	return -1;
}

/* The default name: the image's file name without extension, made unique. */
static int claim_name(struct run_args *a, const char *dir, int *lock_fd, struct errbuf *eb)
{
	char base[XENITH_NAME_MAX], tmp[PATH_MAX];
	size_t len = 0;
	int r;

	if (a->name_given)
		return rundir_claim_name(dir, a->cfg.name, lock_fd, eb);
	snprintf(tmp, sizeof(tmp), "%s", a->cfg.kernel);
	for (const char *p = basename(tmp); *p && *p != '.' && len < 40; p++)
		base[len++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ? *p : '_';
	base[len] = 0;
	if (!len || base[0] == '-')
		snprintf(base, sizeof(base), "domain");
	for (unsigned i = 1; i < 10000; i++) {
		if (i == 1)
			snprintf(a->cfg.name, sizeof(a->cfg.name), "%s", base);
		else
			snprintf(a->cfg.name, sizeof(a->cfg.name), "%s-%u", base, i);
		r = rundir_claim_name(dir, a->cfg.name, lock_fd, eb);
		if (r != -EEXIST)
			return r;
	}
	return errbuf_set(eb, EEXIST, "no free name of the form %s-N; give one with --name", base);
}

struct signal_waiter {
	struct domain *d;
	sigset_t set;
};

static void *signal_thread(void *arg)
{
	struct signal_waiter *w = arg;
	char why[64];
	int sig;

	confine_thread(CONFINE_SIGNAL);
	if (sigwait(&w->set, &sig) == 0 && sig != SIGUSR2) {
		snprintf(why, sizeof(why), "destroyed: xenith received %s", strsignal(sig));
		domain_kill(w->d, false, why);
	}
	return NULL;
}

/* What the stop watchdog needs to leave a clean run directory behind. */
static struct {
	char dir[PATH_MAX];
	const char *name;
	int name_fd;
} stuck_ctx = { .name_fd = -1 };

/*
 * The domain was destroyed but did not stop within DOMAIN_STOP_GRACE_MS
 * (a vCPU thread stuck in the VMM, a backend that does not return): the
 * toolstack's word is final, so the process ends here and the kernel takes
 * back what the stuck threads hold.
 */
static void domain_stuck(struct domain *d, const char *what)
{
	/* After a kill: the end is final, and d->lock may be held by what is stuck. */
	const struct domain_end *e = domain_final_end(d);

	fprintf(stderr, "xenith: domain '%s' (id %u) %s, but did not stop within %u ms: %s; "
		"ending the VMM process\n", domain_name(d), domain_id(d), e->why,
		DOMAIN_STOP_GRACE_MS, what);
	rundir_release_name(stuck_ctx.dir, stuck_ctx.name, stuck_ctx.name_fd);
	_exit(e->timed_out ? EXIT_TIMEOUT : EXIT_DESTROYED);
}

static void print_crash(const struct domain *d)
{
	const struct domain_end *e = domain_final_end(d);
	const struct kvm_regs *r = &e->regs;
	const char *sym;
	char safe[128];
	uint64_t off;

	if (!e->have_regs)
		return;
	fprintf(stderr, "  vCPU %u: rip 0x%016llx", e->vcpu, (unsigned long long)r->rip);
	if (elf_symbolize(domain_image(d), r->rip, &sym, &off)) {
		/* The symbol table is the guest image's: its names are guest text. */
		text_sanitize(safe, sizeof(safe), sym, strnlen(sym, sizeof(safe)), TEXT_ONE_LINE);
		fprintf(stderr, " <%s+0x%llx>", safe, (unsigned long long)off);
	}
	fprintf(stderr, "  rsp 0x%016llx  rflags 0x%llx\n", (unsigned long long)r->rsp,
		(unsigned long long)r->rflags);
	fprintf(stderr, "  rax 0x%016llx  rbx 0x%016llx  rcx 0x%016llx  rdx 0x%016llx\n",
		(unsigned long long)r->rax, (unsigned long long)r->rbx, (unsigned long long)r->rcx,
		(unsigned long long)r->rdx);
	fprintf(stderr, "  rsi 0x%016llx  rdi 0x%016llx  rbp 0x%016llx  r8  0x%016llx\n",
		(unsigned long long)r->rsi, (unsigned long long)r->rdi, (unsigned long long)r->rbp,
		(unsigned long long)r->r8);
	fprintf(stderr, "  r9  0x%016llx  r10 0x%016llx  r11 0x%016llx  r12 0x%016llx\n",
		(unsigned long long)r->r9, (unsigned long long)r->r10, (unsigned long long)r->r11,
		(unsigned long long)r->r12);
	fprintf(stderr, "  r13 0x%016llx  r14 0x%016llx  r15 0x%016llx  cr3 0x%llx\n",
		(unsigned long long)r->r13, (unsigned long long)r->r14, (unsigned long long)r->r15,
		(unsigned long long)e->sregs.cr3);
}

static int exit_status(const struct domain *d, bool quiet)
{
	const struct domain_end *e = domain_final_end(d);
	int status;

	switch (e->state) {
	case DOMAIN_SHUTDOWN:
		if (e->reason == SHUTDOWN_reboot) {
			status = EXIT_REBOOT;
			break;
		}
		status = e->code > EXIT_GUEST_MAX ? EXIT_GUEST_MAX : (int)e->code;
		break;
	case DOMAIN_CRASHED:
		status = EXIT_CRASHED;
		break;
	default:
		status = e->timed_out ? EXIT_TIMEOUT : EXIT_DESTROYED;
		break;
	}
	if (!quiet || e->state == DOMAIN_CRASHED || e->timed_out)
		fprintf(stderr, "xenith: domain '%s' (id %u) %s%s\n", domain_name(d), domain_id(d),
			e->state == DOMAIN_CRASHED ? "crashed: " : "", e->why);
	if (e->state == DOMAIN_CRASHED)
		print_crash(d);
	return status;
}

static void boot_trace(const struct domain *d, uint64_t t0)
{
	struct domain_boot_times bt;

	domain_boot_times(d, &bt);
#define REL(x) ((x) ? ((double)((int64_t)((x) - t0))) / 1000.0 : -1.0)
	fprintf(stderr, "boot-trace: created_us=%.1f first_run_us=%.1f first_exit_us=%.1f "
		"first_line_us=%.1f\n", REL(bt.created_ns), REL(bt.first_run_ns), REL(bt.first_exit_ns),
		REL(bt.first_line_ns));
#undef REL
}

/* Set-up is over: the jail, then the control socket (bound on the host), then the rest. */
static int confine_domain(struct domain *d, const char *dir, struct control_server **ctl, struct errbuf *eb)
{
	char host_dir[PATH_MAX];
	int r = 0;

	confine_set_log_fd(domain_console_log_fd(d));
	r = domain_confine_disks(d, eb);
	if (r == 0)
		r = confine_enter_jail(dir, eb);
	if (r == 0)
		r = control_server_start(d, confine_host_path(dir, host_dir, sizeof(host_dir)), ctl, eb);
	if (r == 0)
		r = confine_process(eb);
	return r;
}

/*
 * A domain with a port=dpdk: vif runs in xenith-dpdk, this program with the
 * DPDK port linked in, from this executable's directory: DPDK's
 * constructors write about half a MiB of every process that links it, and
 * the domains without one should not carry that.  Returns only when there
 * is no xenith-dpdk to run (the port's open then says so) or exec failed.
 */
static void exec_dpdk_vmm(const struct domain_config *cfg, int argc, char **argv, uint64_t t0)
{
	char self[PATH_MAX], path[PATH_MAX + 16], t0s[32];
	char *nargv[argc + 2];
	bool want = false;
	ssize_t n;

	for (unsigned i = 0; i < cfg->nr_vifs; i++)
		want |= cfg->vifs[i].port == VIF_PORT_DPDK;
	if (!want || port_dpdk_available())
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = 0;
	snprintf(path, sizeof(path), "%s/xenith-dpdk", dirname(self));
	if (access(path, X_OK) < 0)
		return;
	snprintf(t0s, sizeof(t0s), "%llu", (unsigned long long)t0);
	setenv("XENITH_T0_NS", t0s, 1); /* the start-up time counts from this process's start */
	nargv[0] = path;
	for (int i = 0; i < argc; i++)
		nargv[i + 1] = argv[i];
	nargv[argc + 1] = NULL;
	execv(path, nargv);
	fprintf(stderr, "xenith run: cannot run %s for the dpdk vif: %s\n", path, strerror(errno));
}

static void restore_help(FILE *f, bool receive)
{
	if (receive)
		fprintf(f,
"usage: xenith migrate-receive [OPTIONS]\n\n"
"Waits for one `xenith migrate` from another host (or this one) on TCP, takes\n"
"the domain it sends, and stays with it until it ends, as `xenith run` does.\n"
"It says \"listening on ADDR:PORT\" on stderr first.  The domain is built from\n"
"its config as the sender had it (kernel image and disks at the same paths);\n"
"it starts only when the sender confirms, and if the stream breaks or is\n"
"refused the sender's domain runs on there and nothing is left here.\n"
"Domain names and ids are per run directory: a receiver on the sender's host\n"
"needs a run directory of its own (--run-dir).\n\n"
"The stream says what to build (its config: kernel, disks, user), as a config\n"
"file does, and nothing authenticates the sender: listen only where trusted\n"
"senders alone can connect (loopback, a private network, an ssh tunnel).\n\n"
"options:\n"
"      --listen ADDR:PORT\n"
"                         where to listen (default 127.0.0.1:" MIGRATE_PORT "; port 0 picks one)\n");
	else
		fprintf(f,
"usage: xenith restore [OPTIONS] FILE\n\n"
"Brings back a domain that `xenith save` wrote to FILE ('-': standard input),\n"
"with its name, domain id, vCPUs, memory, event channels, grants, timers,\n"
"console and disks, and stays with it until it ends, as `xenith run` does.\n"
"The guest goes on where it stopped; its clock shows the time the domain was\n"
"away.  The kernel image and the disks must be at the paths they had (the image\n"
"is checked: the same bytes).\n\n"
"options:\n");
	fprintf(f,
"  -n, --name NAME        run it under another name (the saved one may still be\n"
"                         taken: `xenith save --keep`)\n"
"  -p, --prefix           put \"name: \" in front of every console line\n"
"  -q, --quiet            no status line when the domain ends\n"
"      --run-dir DIR      where control sockets live (as for `xenith run`)\n"
"  -h, --help             this text\n\n"
"exit status: as `xenith run`'s; 65 also when the stream is not one this version\n"
"reads (the error names the record and what is wrong).\n");
}

/*
 * migrate-receive: listens at spec (ADDR:PORT), says where on stderr, and
 * takes one connection.  -1 with why on failure.
 */
static int accept_one(const char *spec, char *why, size_t whylen)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char shost[NI_MAXHOST], sport[NI_MAXSERV];
	int lfd, fd, one = 1, r;

	if (!colon || colon == spec) {
		snprintf(why, whylen, "--listen %s: expected ADDR:PORT", spec);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	r = getaddrinfo(host, colon + 1, &hints, &res);
	if (r != 0) {
		snprintf(why, whylen, "--listen %s: %s", spec, gai_strerror(r));
		return -1;
	}
	lfd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, res->ai_addr, res->ai_addrlen) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(why, whylen, "listening on %s: %s", spec, strerror(errno));
		freeaddrinfo(res);
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	freeaddrinfo(res);
	if (getnameinfo((struct sockaddr *)&ss, len, shost, sizeof(shost), sport, sizeof(sport),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		fprintf(stderr, "xenith migrate-receive: listening on %s:%s\n", shost, sport);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		snprintf(why, whylen, "accepting on %s: %s", spec, strerror(errno));
	else
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(lfd);
	return fd;
}

/* `xenith restore`'s command line: the saved config comes from the stream (reloc_restore_open). */
static int parse_restore_args(int argc, char **argv, struct run_args *a, const char **path, bool receive)
{
	const char *cmd = receive ? "xenith migrate-receive" : "xenith restore";
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "prefix", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	/* Loopback unless asked: whoever connects says what this VMM builds (restore_help). */
	*path = receive ? "127.0.0.1:" MIGRATE_PORT : NULL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "n:pqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (!receive)
				goto bad;
			*path = optarg;
			break;
		case 'n':
			if (!control_name_ok(optarg) || strlen(optarg) >= sizeof(a->cfg.name)) {
				fprintf(stderr, "%s: --name %s: letters, digits, '_', '.' and '-', "
					"not starting with '-' or '.', at most %zu characters\n", cmd, optarg,
					sizeof(a->cfg.name) - 1);
				return EXIT_USAGE;
			}
			a->new_name = optarg;
			break;
		case 'p':
			a->prefix = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case OPT_RUN_DIR:
			a->run_dir = optarg;
			break;
		case 'h':
			restore_help(stdout, receive);
			return 0;
		default:
			goto bad;
		}
	}
	if (receive && optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", cmd, argv[optind]);
		return EXIT_USAGE;
	}
	if (!receive && optind != argc - 1) {
		fprintf(stderr, "%s: expected one FILE (what `xenith save` wrote)\n", cmd);
		return EXIT_USAGE;
	}
	if (!receive)
		*path = argv[optind];
	return -1;
bad:
	fprintf(stderr, "%s: see `%s --help`\n", cmd, cmd);
	return EXIT_USAGE;
}

enum vmm_mode { MODE_RUN, MODE_RESTORE, MODE_RECEIVE };

static int run_or_restore(int argc, char **argv, enum vmm_mode mode);

int cmd_run(int argc, char **argv)
{
	return run_or_restore(argc, argv, MODE_RUN);
}

int cmd_restore(int argc, char **argv)
{
	return run_or_restore(argc, argv, MODE_RESTORE);
}

int cmd_migrate_receive(int argc, char **argv)
{
	return run_or_restore(argc, argv, MODE_RECEIVE);
}

/* migrate-receive: the sender hears why nothing will run here (it runs its domain on). */
static void refuse_sender(bool receive, int fd, const char *why)
{
	char line[600];

	if (!receive || fd < 0)
		return;
	snprintf(line, sizeof(line), "ERROR %.500s\n", why);
	for (char *p = line; p[1]; p++)
		if (*p == '\n')
			*p = ' ';
	reloc_handshake_reply(fd, line);
}

/* migrate-receive: the domain is built; the sender may stop it now (hv/migrate.c). */
static void tell_built(void *opaque)
{
	reloc_handshake_reply(*(int *)opaque, "BUILT\n");
}

static int run_or_restore(int argc, char **argv, enum vmm_mode mode)
{
	bool restore = mode != MODE_RUN, receive = mode == MODE_RECEIVE;
	const char *cmd = receive ? "xenith migrate-receive" : restore ? "xenith restore" : "xenith run";
	char got[64];
	uint64_t t_stream = 0;
	const char *stream_path = NULL;
	struct mig_reader reader = { .fd = -1 };
	struct reloc_head head = { .image_size = 0 };
	struct reloc_restore_stats rst;
	int stream_fd = -1;
	uint64_t t0 = now_ns();
	const char *t0_env = getenv("XENITH_T0_NS");
	struct run_args a;
	struct errbuf eb;
	char dir[PATH_MAX];
	struct kvm_sys kvm = { .fd = -1 };
	struct domain *d = NULL;
	struct control_server *ctl = NULL;
	struct signal_waiter sw;
	pthread_t sigthread;
	bool sigthread_started = false;
	int name_fd = -1, id_fd = -1, status = EXIT_START, r;
	uint32_t domid = 0;

	if (t0_env && *t0_env)
		t0 = strtoull(t0_env, NULL, 10);
	/* A closed stdout (xenith run | head) must not kill the VMM: console writes just fail. */
	signal(SIGPIPE, SIG_IGN);
	if (restore) {
		r = parse_restore_args(argc, argv, &a, &stream_path, receive);
		if (r >= 0)
			return r;
		if (receive) {
			stream_fd = accept_one(stream_path, eb.msg, sizeof(eb.msg));
			stream_path = "the stream from the sender";
			t_stream = now_ns();
		} else {
			stream_fd = strcmp(stream_path, "-") ? open(stream_path, O_RDONLY | O_CLOEXEC)
							     : dup(STDIN_FILENO);
			snprintf(eb.msg, sizeof(eb.msg), "%s: %s", stream_path, strerror(errno));
		}
		if (stream_fd < 0) {
			fprintf(stderr, "%s: %s\n", cmd, eb.msg);
			return EXIT_USAGE;
		}
		if (reloc_restore_open(&reader, stream_fd, &a.cfg, &head, &eb) < 0) {
			fprintf(stderr, "%s: %s: %s\n", cmd, stream_path, eb.msg);
			refuse_sender(receive, stream_fd, eb.msg);
			mig_reader_close(&reader);
			close(stream_fd);
			return EXIT_START;
		}
		if (a.new_name)
			snprintf(a.cfg.name, sizeof(a.cfg.name), "%s", a.new_name);
		a.name_given = true;
	} else {
		r = parse_run_args(argc, argv, &a);
		if (r >= 0)
			return r;
	}
	if (!restore)
		exec_dpdk_vmm(&a.cfg, argc, argv, t0);
	struct confine_opts co = { .mode = CONFINE_PROCESS, .seccomp = a.cfg.seccomp, .user = a.cfg.user,
				   .jail = a.cfg.jail, .keep_fd = stream_fd };

	r = confine_prepare(&co, &eb);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", cmd, eb.msg);
		return r == -ENOTSUP || r == -ENOMEM ? EXIT_START : EXIT_USAGE;
	}
	if (rundir_resolve(a.run_dir, dir, sizeof(dir), &eb) < 0 ||
	    claim_name(&a, dir, &name_fd, &eb) < 0 ||
	    (restore ? rundir_claim_domid_exact(dir, head.dom.domid, &id_fd, &eb)
		     : rundir_claim_domid(dir, &domid, &id_fd, &eb)) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, eb.msg);
		status = EXIT_USAGE;
		goto out;
	}
	if (restore)
		domid = head.dom.domid;
	/* vif port=switch:NAME finds the switch's socket in this run directory (hv/netdev_switch.c). */
	setenv("XENITH_RUN_DIR", dir, 1);
	/* Signals go to one thread, which destroys the domain cleanly. */
	sigemptyset(&sw.set);
	sigaddset(&sw.set, SIGINT);
	sigaddset(&sw.set, SIGTERM);
	sigaddset(&sw.set, SIGHUP);
	sigaddset(&sw.set, SIGUSR2); /* our own wake-up at the end */
	pthread_sigmask(SIG_BLOCK, &sw.set, NULL);
	if (kvm_sys_open(&kvm, &eb) < 0 || vcpu_global_init(&eb) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, eb.msg);
		goto out;
	}
	struct domain_opts opts = { .console_fd = STDOUT_FILENO, .console_prefix = a.prefix,
				    .stuck = domain_stuck, .defer_disk_locks = receive,
				    .migrating_in = receive };

	snprintf(stuck_ctx.dir, sizeof(stuck_ctx.dir), "%s", dir);
	stuck_ctx.name = a.cfg.name;
	stuck_ctx.name_fd = name_fd;

	if (restore ? reloc_restore_cb(&reader, &a.cfg, &head, &opts, &kvm, domid, &d, &rst,
				       receive ? tell_built : NULL, &stream_fd, &eb) < 0
		    : domain_create(&a.cfg, &opts, &kvm, domid, &d, &eb) < 0) {
		fprintf(stderr, "%s: %s%s%s\n", cmd, restore ? stream_path : "", restore ? ": " : "", eb.msg);
		d = NULL;
		goto out;
	}
	/* The sender let go of the disks' locks as it stopped; they are this domain's now. */
	if (receive && blkdev_take_locks(d, 10000, &eb) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, eb.msg);
		goto out;
	}
	if (restore) {
		mig_reader_close(&reader);
		if (!receive) {
			close(stream_fd);
			stream_fd = -1;
		}
	}
	if (confine_domain(d, dir, &ctl, &eb) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, eb.msg);
		goto out;
	}
	sw.d = d;
	sigthread_started = pthread_create(&sigthread, NULL, signal_thread, &sw) == 0;
	if (receive) {
		/* Everything is here: the sender says GO (or nothing runs here, and it runs on there). */
		r = reloc_handshake_reply(stream_fd, "READY\n");
		if (r == 0)
			r = reloc_handshake_wait(stream_fd, "GO", 60000, got, sizeof(got));
		if (r < 0) {
			fprintf(stderr, "%s: the sender did not confirm (%s): nothing runs here\n", cmd,
				r == -EPROTO ? got : r == -EPIPE ? "it closed the connection" : strerror(-r));
			goto out;
		}
	}
	if ((restore ? domain_start_restored(d, &eb) : domain_start(d, &eb)) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, eb.msg);
		goto out;
	}
	if (receive) {
		/* Told to go, it runs here whatever happens to the connection now. */
		reloc_handshake_reply(stream_fd, "DONE\n");
		close(stream_fd);
		stream_fd = -1;
		if (!a.quiet)
			fprintf(stderr, "xenith: received '%s': %llu pages, running %.3f ms after the stream "
				"started\n", a.cfg.name, (unsigned long long)rst.pages, (now_ns() - t_stream) / 1e6);
	}
	if (restore && !receive && !a.quiet)
		fprintf(stderr, "xenith: restored '%s' from %s: %llu pages, built in %.3f ms, loaded in "
			"%.3f ms, running %.3f ms after the start of xenith\n", a.cfg.name, stream_path,
			(unsigned long long)rst.pages, rst.build_ns / 1e6, rst.load_ns / 1e6,
			(now_ns() - t0) / 1e6);
	if (!domain_wait(d, a.cfg.timeout_s > 0 ? now_ns() + (uint64_t)(a.cfg.timeout_s * 1e9) : 0)) {
		char why[96];

		snprintf(why, sizeof(why), "destroyed: it ran longer than --timeout %gs", a.cfg.timeout_s);
		domain_kill(d, true, why);
		domain_wait(d, 0);
	}
	status = exit_status(d, a.quiet);
	if (a.boot_trace)
		boot_trace(d, t0);
out:
	if (stream_fd >= 0) {
		refuse_sender(receive, stream_fd, eb.msg[0] ? eb.msg : "the receiver could not take the domain");
		mig_reader_close(&reader);
		close(stream_fd);
	}
	confine_abandon(); /* threads waiting to be confined go on to see the stop */
	control_server_stop(ctl);
	if (sigthread_started) {
		pthread_kill(sigthread, SIGUSR2);
		pthread_join(sigthread, NULL);
	}
	confine_set_log_fd(-1); /* domain_destroy closes the log: the number may be reused */
	domain_destroy(d);
	kvm_sys_close(&kvm);
	if (id_fd >= 0)
		close(id_fd);
	rundir_release_name(dir, a.cfg.name, name_fd);
	return status;
}
