// SPDX-License-Identifier: MIT
/*
 * The `net` benchmark suite: the guest's network programs (net/apps.c) in a
 * minios domain through the network split driver, against the same
 * programs natively on the same kind of port (xenith-net KIND:NAME, the
 * port code a vif's backend uses), received or sent by the same native
 * program on the port's wire side; native and guest interleaved in pairs
 * (native rep i, then guest rep i), as the blk suite pairs fio with its
 * guest.  Reference lines in the same run: dpdk-testpmd txonly and
 * iperf3 -u between two namespaces (netref.c).
 *
 * One case row = (port kind, direction, frame size, notification mode).
 * Directions: tx (the guest blasts, a sink on the wire counts), rx (a
 * blaster on the wire, the guest's sink counts), echo (the guest serves, a
 * client on the wire measures round trips).  A port kind is a row of
 * kinds[]: how to make and remove what it needs and the commands that run
 * on each side of it.  Series: "<case>@<mode>" (pps at 64 B, Gbit/s at
 * 1500 B; echo: "<case>-p50@<mode>" and "-p99@", us) in modes native,
 * guest and ratio (per pair), "<case>-loss@<mode>" (%); each series
 * records which thread ran on which CPU ("placement").
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "netbench.h"
#include "netbench_priv.h"
#include "netproc.h"

enum net_dir { NET_TX, NET_RX, NET_ECHO };
static const char *const dir_names[] = { "tx", "rx", "echo" };

struct net_row {
	const char *kind;  /* a row of kinds[] */
	enum net_dir dir;
	unsigned size;     /* frame bytes, Ethernet header to the payload's end (no FCS) */
	const char *mode;  /* the vif's notification mode */
	bool quick;        /* part of --quick */
};

/*
 * --quick runs two cheap rows (CI's budget): 64-byte guest-to-sink packets/s
 * and echo latency, both in ioeventfd mode (the default).
 */
static const struct net_row rows[] = {
	{ "tap", NET_TX, 64, "exit", false },     { "tap", NET_TX, 64, "ioeventfd", true },
	{ "tap", NET_TX, 64, "poll", false },     { "tap", NET_TX, 1500, "exit", false },
	{ "tap", NET_TX, 1500, "ioeventfd", false }, { "tap", NET_TX, 1500, "poll", false },
	{ "tap", NET_RX, 64, "exit", false },     { "tap", NET_RX, 64, "ioeventfd", false },
	{ "tap", NET_RX, 64, "poll", false },     { "tap", NET_RX, 1500, "exit", false },
	{ "tap", NET_RX, 1500, "ioeventfd", false }, { "tap", NET_RX, 1500, "poll", false },
	{ "tap", NET_ECHO, 64, "exit", false },   { "tap", NET_ECHO, 64, "ioeventfd", true },
	{ "tap", NET_ECHO, 64, "poll", false },
	/* a DPDK vdev (net_af_packet on a veth): the target figures' rows in each mode, rx and echo in one */
	{ "dpdk", NET_TX, 64, "exit", false },    { "dpdk", NET_TX, 64, "ioeventfd", false },
	{ "dpdk", NET_TX, 64, "poll", false },    { "dpdk", NET_TX, 1500, "exit", false },
	{ "dpdk", NET_TX, 1500, "ioeventfd", false }, { "dpdk", NET_TX, 1500, "poll", false },
	{ "dpdk", NET_RX, 64, "ioeventfd", false }, { "dpdk", NET_ECHO, 64, "ioeventfd", false },
	/* domain to domain through a switch (rx would be the same path the other way) */
	{ "switch", NET_TX, 64, "exit", false },  { "switch", NET_TX, 64, "ioeventfd", false },
	{ "switch", NET_TX, 1500, "ioeventfd", false }, { "switch", NET_ECHO, 64, "ioeventfd", false },
};
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- port kinds ---- */

/*
 * tap: one network namespace of the run's own; the guest's vif is
 * port=tap:G moved into it, the native program opens tap:N there; the wire
 * side of each is an AF_PACKET xenith-net on G or N.
 */
static int tap_setup(struct net_env *e, char *why, size_t whylen)
{
	snprintf(e->ns, sizeof(e->ns), "xnb%d", (int)getpid() % 1000000);
	snprintf(e->guest_if, sizeof(e->guest_if), "%sg", e->ns);
	snprintf(e->native_if, sizeof(e->native_if), "%sn", e->ns);
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		snprintf(why, whylen, "/dev/net/tun: %s (modprobe tun)", strerror(errno));
		return -1;
	}
	if (nproc_run((const char *const[]){ "ip", "netns", "add", e->ns, NULL }) != 0) {
		snprintf(why, whylen, "`ip netns add %s` failed (iproute2 installed? root?)", e->ns);
		return -1;
	}
	e->made = true;
	return 0;
}

static void tap_teardown(struct net_env *e)
{
	if (e->made)
		nproc_run((const char *const[]){ "ip", "netns", "del", e->ns, NULL });
	e->made = false;
}

static void tap_vif(const struct net_env *e, char *buf, size_t size)
{
	snprintf(buf, size, "port=tap:%s,netns=%s", e->guest_if, e->ns);
}

static unsigned tap_argv(const struct net_env *e, enum net_where w, const char **argv, char *scratch,
			 size_t scratch_len)
{
	if (w == AT_NATIVE_PORT)
		snprintf(scratch, scratch_len, "tap:%s", e->native_if);
	else
		snprintf(scratch, scratch_len, "%s", w == AT_GUEST_WIRE ? e->guest_if : e->native_if);
	argv[0] = "ip", argv[1] = "netns", argv[2] = "exec", argv[3] = e->ns, argv[4] = e->xnet, argv[5] = scratch;
	return 6;
}

/*
 * dpdk: a DPDK net_af_packet vdev on one end of a veth pair whose other end
 * is in a network namespace of the run's own; the guest's vif is
 * port=dpdk:[net_af_packet0,iface=G] (its VMM is xenith-dpdk), the native
 * program opens dpdk:[net_af_packet0,iface=N]; the wire side of each is an
 * AF_PACKET xenith-net on the peer (G's or N's, ending in "w") in the
 * namespace.  G and N stay in this namespace: the vdev opens its interface
 * where the process runs.
 */
static void dpdk_peer(const char *end, char *buf, size_t size)
{
	snprintf(buf, size, "%sw", end);
}

static int dpdk_setup(struct net_env *e, char *why, size_t whylen)
{
	const char *ends[2] = { e->guest_if, e->native_if };

	snprintf(e->ns, sizeof(e->ns), "xnd%d", (int)getpid() % 1000000);
	snprintf(e->guest_if, sizeof(e->guest_if), "%sg", e->ns);
	snprintf(e->native_if, sizeof(e->native_if), "%sn", e->ns);
	if (!XENITH_HAVE_DPDK) {
		snprintf(why, whylen, "a build without DPDK (dpdk-dev: ci/setup.sh installs it; then rebuild)");
		return -1;
	}
	if (nproc_run((const char *const[]){ "ip", "netns", "add", e->ns, NULL }) != 0) {
		snprintf(why, whylen, "`ip netns add %s` failed (iproute2 installed? root?)", e->ns);
		return -1;
	}
	e->made = true;
	for (int i = 0; i < 2; i++) {
		char peer[24];

		dpdk_peer(ends[i], peer, sizeof(peer));
		if (nproc_run((const char *const[]){ "ip", "link", "add", ends[i], "type", "veth", "peer", "name", peer,
						     "netns", e->ns, NULL }) != 0 ||
		    nproc_run((const char *const[]){ "ip", "link", "set", ends[i], "up", NULL }) != 0 ||
		    nproc_run((const char *const[]){ "ip", "-n", e->ns, "link", "set", peer, "up", NULL }) != 0) {
			snprintf(why, whylen, "cannot make the veth pair %s/%s (in %s)", ends[i], peer, e->ns);
			return -1;
		}
	}
	return 0;
}

static void dpdk_teardown(struct net_env *e)
{
	if (e->made) {
		/* the namespace takes the peers, and a veth pair goes with either end */
		nproc_run((const char *const[]){ "ip", "netns", "del", e->ns, NULL });
		nproc_run((const char *const[]){ "ip", "link", "del", e->guest_if, NULL });
		nproc_run((const char *const[]){ "ip", "link", "del", e->native_if, NULL });
	}
	e->made = false;
}

static void dpdk_vif(const struct net_env *e, char *buf, size_t size)
{
	snprintf(buf, size, "port=dpdk:[net_af_packet0,iface=%s]", e->guest_if);
}

static unsigned dpdk_argv(const struct net_env *e, enum net_where w, const char **argv, char *scratch,
			  size_t scratch_len)
{
	if (w == AT_NATIVE_PORT) {
		snprintf(scratch, scratch_len, "dpdk:[net_af_packet0,iface=%s]", e->native_if);
		argv[0] = e->xnet, argv[1] = scratch;
		return 2;
	}
	dpdk_peer(w == AT_GUEST_WIRE ? e->guest_if : e->native_if, scratch, scratch_len);
	argv[0] = "ip", argv[1] = "netns", argv[2] = "exec", argv[3] = e->ns, argv[4] = e->xnet, argv[5] = scratch;
	return 6;
}

/*
 * switch: domain to domain through a `xenith switch` of the run's own
 * (xnsPID): the guest's vif and the wire side's, a second domain running
 * the other program, are both port=switch:NAME.  The native reference is
 * process to process over shared memory: xenith-net on a DPDK net_memif
 * pair (the server in the guest's place, the client on the wire side),
 * frames between two processes through rings in memory they share, as
 * the switch's are; so the kind needs DPDK too.
 */
static void switch_socket(const struct net_env *e, char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/%s-memif.sock", e->ns);
}

static int switch_setup(struct net_env *e, char *why, size_t whylen)
{
	char sock[64];

	snprintf(e->ns, sizeof(e->ns), "xns%d", (int)getpid() % 1000000);
	if (!XENITH_HAVE_DPDK) {
		snprintf(why, whylen, "its native reference, a net_memif pair, needs DPDK (dpdk-dev: ci/setup.sh "
			 "installs it; then rebuild)");
		return -1;
	}
	switch_socket(e, sock, sizeof(sock));
	unlink(sock);
	if (nproc_run((const char *const[]){ e->xenith, "switch", "start", e->ns, NULL }) != 0) {
		snprintf(why, whylen, "`xenith switch start %s` failed", e->ns);
		return -1;
	}
	e->made = true;
	return 0;
}

static void switch_teardown(struct net_env *e)
{
	char sock[64];

	if (e->made)
		nproc_run((const char *const[]){ e->xenith, "switch", "stop", e->ns, NULL });
	switch_socket(e, sock, sizeof(sock));
	unlink(sock);
	e->made = false;
}

static void switch_vif(const struct net_env *e, char *buf, size_t size)
{
	snprintf(buf, size, "port=switch:%s", e->ns);
}

static unsigned switch_argv(const struct net_env *e, enum net_where w, const char **argv, char *scratch,
			    size_t scratch_len)
{
	char sock[64];

	switch_socket(e, sock, sizeof(sock));
	snprintf(scratch, scratch_len, "dpdk:[net_memif0,role=%s,socket=%s]", w == AT_NATIVE_PORT ? "server" : "client",
		 sock);
	argv[0] = e->xnet, argv[1] = scratch;
	return 2;
}

static const struct net_kind kinds[] = {
	{ "tap", tap_setup, tap_teardown, tap_vif, tap_argv, false, false },
	{ "dpdk", dpdk_setup, dpdk_teardown, dpdk_vif, dpdk_argv, false, false },
	{ "switch", switch_setup, switch_teardown, switch_vif, switch_argv, true, true },
};

static const struct net_kind *kind_of(const char *name)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(kinds[k].kind, name))
			return &kinds[k];
	return NULL;
}

/* ---- names and selection ---- */

static void case_name(const struct net_row *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s-%s-%u", r->kind, dir_names[r->dir], r->size);
}

bool net_case_exists(const char *name)
{
	for (size_t i = 0; i < NR_ROWS; i++) {
		char c[48], cm[64];

		case_name(&rows[i], c, sizeof(c));
		snprintf(cm, sizeof(cm), "%s@%s", c, rows[i].mode);
		if (!strcmp(name, c) || !strcmp(name, cm))
			return true;
	}
	return net_ref_exists(name);
}

void net_list(void)
{
	for (size_t i = 0; i < NR_ROWS; i++) {
		const struct net_row *r = &rows[i];
		char c[48], cm[64];

		case_name(r, c, sizeof(c));
		snprintf(cm, sizeof(cm), "%s@%s", c, r->mode);
		printf("%-8s %-16s %-10s %-6s %s (native: xenith-net on a %s port)\n", "net", cm,
		       r->dir == NET_ECHO ? "us" : r->size >= 1000 ? "Gbit/s" : "pps", r->quick ? "yes" : "no",
		       r->dir == NET_ECHO ? "lower (p50 and p99)" : "higher (and loss %)", r->kind);
	}
	net_ref_list();
}

static bool row_selected(const struct net_bench_opts *o, const struct net_row *r)
{
	char c[48], cm[64];

	if (!o->only)
		return !o->quick || r->quick;
	case_name(r, c, sizeof(c));
	snprintf(cm, sizeof(cm), "%s@%s", c, r->mode);
	return o->only(o->opaque, cm, r->quick) || o->only(o->opaque, c, r->quick);
}

/* ---- one side of one case ---- */

struct net_sample {
	double value, loss, p99;  /* pps or Gbit/s, loss %, echo p99 us; echo: value = p50 us */
	char placement[96];
};

/* xenith-net argv on side w: the kind's prefix, then the words of args (space-separated, in words). */
static void program_argv(const struct net_ctx *c, enum net_where w, char *words, const char **argv,
			 char *scratch, size_t scratch_len)
{
	unsigned n = c->kind->argv(&c->env, w, argv, scratch, scratch_len);

	for (char *t = strtok(words, " "); t && n < NET_ARGV_MAX - 1; t = strtok(NULL, " "))
		argv[n++] = t;
	argv[n] = NULL;
}

static json_t *json_line(const struct nproc *p)
{
	char *line = nproc_line(p, "net-json: ");
	json_t *j = line ? json_loads(line, 0, NULL) : NULL;

	free(line);
	return j;
}

static double jnum(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Fills s from the driver's and the receiver's net-json lines. */
static int measure(const struct net_row *r, const struct nproc *driver, const struct nproc *receiver,
		   struct net_sample *s, char *why, size_t whylen)
{
	json_t *d = json_line(driver), *v = r->dir == NET_ECHO ? NULL : json_line(receiver);
	int ret = -1;

	if (!d || (r->dir != NET_ECHO && !v)) {
		snprintf(why, whylen, "no net-json line from the %s", !d ? "sender" : "receiver");
	} else if (r->dir == NET_ECHO) {
		double got = jnum(d, "received");

		s->value = jnum(d, "p50_ns") / 1000.0;
		s->p99 = jnum(d, "p99_ns") / 1000.0;
		s->loss = jnum(d, "sent") > 0 ? 100.0 * (jnum(d, "sent") - got) / jnum(d, "sent") : NAN;
		if (!(got > 0) || !(s->value > 0))
			snprintf(why, whylen, "the echo client got no answer");
		else
			ret = 0;
	} else {
		double sent = jnum(d, "sent"), pk = jnum(v, "packets"), ns = jnum(v, "elapsed_ns");

		s->value = r->size >= 1000 ? jnum(v, "bytes") * 8 / ns : pk * 1e9 / ns;
		s->loss = sent > 0 ? 100.0 * (sent - pk) / sent : NAN;
		s->p99 = NAN;
		if (!(pk > 1) || !(ns > 0) || !(s->value > 0))
			snprintf(why, whylen, "the receiver counted %.0f packets of %.0f sent", pk, sent);
		else
			ret = 0;
	}
	json_decref(d);
	json_decref(v);
	return ret;
}

/* Pins the VMM's netback thread(s) to cpu once there is one: false if none came within 30 s. */
static bool pin_backend(struct nproc *vmm, int cpu)
{
	for (unsigned i = 0; i < 3000; i++) {
		struct timespec ms10 = { 0, 10000000 };

		if (nproc_pin_threads(vmm->pid, "xenith-backend", cpu) > 0)
			return true;
		if (nproc_wait_exit(vmm, 0))
			return false;
		nanosleep(&ms10, NULL);
	}
	return false;
}

/*
 * One repetition of row r on one side: the inner program (the guest, or
 * xenith-net on the native port) and the outer one on the wire side.
 */
/*
 * Starts a domain NAME whose vif 0 (MAC mac) is on the kind's port in r's
 * mode, running the minios program cmd, its vCPU on cpu (-1: anywhere),
 * output to out; true once it said ready.
 */
static bool start_domain(const struct net_ctx *c, const struct net_row *r, const char *name, const char *mac,
			 const char *cmd, int cpu, struct nproc *p, const char *out)
{
	char vif[192], port[128], vcpu[16];

	c->kind->vif(&c->env, port, sizeof(port));
	snprintf(vif, sizeof(vif), "mac=%s,%s,mode=%s", mac, port, r->mode);
	snprintf(vcpu, sizeof(vcpu), "%d", cpu);
	const char *a[] = { c->xenith, "run", "-q", "-n", name, "-m", "32", "--timeout", "120", "--vif", vif,
			    "--cmdline", cmd, cpu >= 0 ? "--vcpu-pin" : NULL, vcpu,
			    c->no_seccomp ? "--no-seccomp" : NULL, NULL };

	return nproc_start(p, a, -1, out) == 0 && nproc_wait_line(p, ": ready vif=0", 60);
}

static int run_side(struct net_ctx *c, const struct net_row *r, bool guest, struct net_sample *s, char *why,
		    size_t whylen)
{
	static const char *const prog[] = { "blast", "sink", "echo" }; /* the inner program, by direction */
	const unsigned ms = c->duration_ms, echo_n = c->echo_count;
	char inner_opts[256], outer_opts[256], scratch_i[64], scratch_o[64], out_i[PATH_MAX], out_o[PATH_MAX];
	const char *argv_i[NET_ARGV_MAX], *argv_o[NET_ARGV_MAX];
	struct nproc in = { 0 }, out = { 0 };
	const struct nproc *driver, *receiver;
	char cpus_a[32] = "?", cpus_b[32] = "?", cpus_p[32] = "?";
	int ret = -1;

	switch (r->dir) {
	case NET_TX:
		snprintf(inner_opts, sizeof(inner_opts), "ip=10.0.0.2/24 dst=10.0.0.1:5001 size=%u duration=%u",
			 r->size, ms);
		snprintf(outer_opts, sizeof(outer_opts), "sink ip=10.0.0.1/24 idle=1000");
		break;
	case NET_RX:
		snprintf(inner_opts, sizeof(inner_opts), "ip=10.0.0.2/24 idle=1000");
		snprintf(outer_opts, sizeof(outer_opts), "blast ip=10.0.0.1/24 dst=10.0.0.2:5001 size=%u duration=%u",
			 r->size, ms);
		break;
	case NET_ECHO:
		snprintf(inner_opts, sizeof(inner_opts), "ip=10.0.0.2/24 count=%u", echo_n);
		snprintf(outer_opts, sizeof(outer_opts), "echo ip=10.0.0.1/24 dst=10.0.0.2:7 count=%u size=%u "
			 "timeout=1000", echo_n, r->size);
		break;
	}
	snprintf(out_i, sizeof(out_i), "%s/inner.out", c->dir);
	snprintf(out_o, sizeof(out_o), "%s/outer.out", c->dir);
	if (guest) {
		char cmd[320];

		snprintf(cmd, sizeof(cmd), "net-%s %s", prog[r->dir], inner_opts);
		if (!start_domain(c, r, "xenith-netbench", "00:16:3e:00:0b:01", cmd, c->pl.vcpu, &in, out_i)) {
			snprintf(why, whylen, "the guest never said ready (exit %d)", in.status);
			goto stop;
		}
		/*
		 * The netback thread starts on the vCPU's CPUs when the backend
		 * connects, which can come after the guest's "ready" (netfront goes
		 * Connected once its keys are written, as Xen's): wait for it, then
		 * move it where it belongs.
		 */
		if (c->pl.backend >= 0 && !pin_backend(&in, c->pl.backend)) {
			snprintf(why, whylen, "no xenith-backend thread in the VMM to pin within 30 s");
			goto stop;
		}
		nproc_thread_cpus(in.pid, "xenith-vcpu0", cpus_a, sizeof(cpus_a));
		nproc_thread_cpus(in.pid, "xenith-backend", cpus_b, sizeof(cpus_b));
	} else {
		char words[320];

		snprintf(words, sizeof(words), "%s %s%s", prog[r->dir], inner_opts, c->kind->native_holds ? " hold=1" : "");
		program_argv(c, AT_NATIVE_PORT, words, argv_i, scratch_i, sizeof(scratch_i));
		if (nproc_start(&in, argv_i, c->pl.inner, out_i) < 0 || !nproc_wait_line(&in, "xenith-net: ready", 30)) {
			snprintf(why, whylen, "xenith-net on the native port never said ready (exit %d)", in.status);
			goto stop;
		}
		nproc_thread_cpus(in.pid, NULL, cpus_a, sizeof(cpus_a));
	}
	if (guest && c->kind->wire_domain) {
		char cmd[320];

		snprintf(cmd, sizeof(cmd), "net-%s", outer_opts); /* "sink ..." -> "net-sink ..." */
		if (!start_domain(c, r, "xenith-netbench-peer", "00:16:3e:00:0b:02", cmd, c->pl.peer, &out, out_o)) {
			snprintf(why, whylen, "the wire side's domain never said ready (exit %d)", out.status);
			goto stop;
		}
		nproc_thread_cpus(out.pid, "xenith-vcpu0", cpus_p, sizeof(cpus_p));
	} else {
		program_argv(c, guest ? AT_GUEST_WIRE : AT_NATIVE_WIRE, outer_opts, argv_o, scratch_o,
			     sizeof(scratch_o));
		if (nproc_start(&out, argv_o, c->pl.peer, out_o) < 0 ||
		    !nproc_wait_line(&out, "xenith-net: ready", 30)) {
			snprintf(why, whylen, "xenith-net on the wire side never said ready (exit %d)", out.status);
			goto stop;
		}
		nproc_thread_cpus(out.pid, NULL, cpus_p, sizeof(cpus_p));
	}
	driver = r->dir == NET_TX ? &in : &out;
	receiver = r->dir == NET_TX ? &out : &in;
	/* the driver ends on its own (duration or count; 5 s for ARP at most), the receiver 1 s after its last packet */
	/* a blast ends after ms; echo round trips time out after 1 s each, so a bound only for a sane path */
	if (!nproc_wait_line((struct nproc *)driver, "net-json: ", r->dir == NET_ECHO ? 180 : ms / 1000.0 + 60)) {
		snprintf(why, whylen, "the %s did not finish", r->dir == NET_ECHO ? "echo client" : "blast");
		goto stop;
	}
	if (r->dir != NET_ECHO && !nproc_wait_line((struct nproc *)receiver, "net-json: ", 30)) {
		snprintf(why, whylen, "the sink did not finish");
		goto stop;
	}
	ret = measure(r, driver, receiver, s, why, whylen);
	if (guest && c->kind->wire_domain) /* netback runs in the switch, whose threads are not pinned */
		snprintf(s->placement, sizeof(s->placement), "vcpu0:%s link:%s peer-vcpu0:%s switch:any", cpus_a,
			 cpus_b, cpus_p);
	else if (guest)
		snprintf(s->placement, sizeof(s->placement), "vcpu0:%s netback:%s peer:%s", cpus_a, cpus_b, cpus_p);
	else
		snprintf(s->placement, sizeof(s->placement), "program:%s peer:%s", cpus_a, cpus_p);
stop:
	if (guest && c->kind->wire_domain && out.pid)
		nproc_wait_exit(&out, 10);
	nproc_stop(&out);
	if (guest && in.pid)
		nproc_wait_exit(&in, 10); /* the program has ended: the domain shuts down */
	nproc_stop(&in);
	if (ret < 0 && !nproc_interrupted) { /* a failure's evidence; an interrupt is none */
		char *o = nproc_output(&in), *w = nproc_output(&out);

		fprintf(stderr, "\nxenith bench: net: %s side output:\n%s\nxenith bench: net: its wire side's output:\n%s\n",
			guest ? "guest" : "native", o ? o : "", w ? w : "");
		free(o);
		free(w);
	}
	return ret;
}

/* ---- the suite ---- */

/*
 * Placement on 2 CPUs.  The native program in the guest's place on CPU 0,
 * the wire-side program on CPU 1, for guest and native alike.
 *
 * Guest to wire (tx) on a tap or DPDK port: the netback thread on CPU 0,
 * where the native program runs (it does what the native program does
 * there: the port's send path, the kernel's for a tap), and the vCPU on
 * CPU 1 with the sink, in every mode.  Measured (2 runs of 2 pairs a side,
 * alternating, 71d4870 + this placement's switch): medians of the pair
 * ratios, vCPU with netback on CPU 0 -> vCPU on CPU 1: tap-tx-64 exit
 * 0.76 -> 0.89, ioeventfd 0.82 -> 0.89; tap-tx-1500 exit 0.72 -> 0.80,
 * ioeventfd 0.73 -> 0.83; dpdk-tx-64 ioeventfd 0.79 -> 0.97; dpdk-tx-1500
 * exit 0.86 -> 0.98; in poll mode (netback had CPU 1 with the sink)
 * tap-tx-64 0.51 -> 0.74, dpdk-tx-64 0.78 -> 0.83.  The vCPU builds a
 * packet in about 0.15 us and sleeps once per half ring; the sink leaves
 * CPU 1 room for it, and netback keeps CPU 0 to itself.
 *
 * The other rows (rx, echo) keep the vCPU on CPU 0, where the native
 * program is: rx because the wire side's blaster fills CPU 1 (a vCPU there
 * would take the offered load down with it); netback with the vCPU on CPU 0
 * in exit and ioeventfd modes, on CPU 1 in poll mode (a poller needs a CPU
 * other than the vCPU's, the block path's lesson).  Echo in poll mode takes
 * milliseconds per round trip whichever CPU the client has (p50 7.2 ms with
 * the client on CPU 1, 8.1 ms on CPU 0, 14-21 us natively): the guest's
 * netfront spins too in poll mode, so both CPUs have a spinner.  The switch
 * rows: the guest's vCPU on CPU 0, the wire side's domain on CPU 1, the
 * switch's threads unpinned.
 */
static struct net_placement place(const struct net_row *r)
{
	if (r->dir == NET_TX && strcmp(r->kind, "switch"))
		return (struct net_placement){ .inner = 0, .vcpu = 1, .backend = 0, .peer = 1 };
	return (struct net_placement){ .inner = 0, .vcpu = 0, .backend = strcmp(r->mode, "poll") ? 0 : 1, .peer = 1 };
}

static int add(struct bench_run *run, const char *name, const char *mode, const char *unit, bool higher,
	       double v, const char *placement)
{
	struct bench_series *s = bench_run_series(run, "net", name, mode, unit, higher);

	if (!s || bench_series_add(s, v) < 0)
		return -1;
	snprintf(s->placement, sizeof(s->placement), "%s", placement);
	return 0;
}

/* Adds the pair's ratio sample to name's "ratio" series (guest speed / native: 1.0 = native). */
static int add_ratio(struct bench_run *run, const char *name, double g, double n, const char *placement)
{
	const struct bench_series *gs = bench_run_find(run, "net", name, "guest");
	struct bench_series *rs;

	if (!gs || bench_ratio_add(run, gs, g, n) == -ENOMEM)
		return -1;
	rs = (struct bench_series *)bench_run_find(run, "net", name, "ratio");
	if (rs)
		snprintf(rs->placement, sizeof(rs->placement), "%s", placement);
	return 0;
}

static int record(struct bench_run *run, const struct net_row *r, const struct net_sample *n,
		  const struct net_sample *g)
{
	char c[48], name[64], pname[64], lname[64];

	case_name(r, c, sizeof(c));
	if (r->dir == NET_ECHO) {
		snprintf(name, sizeof(name), "%s-p50@%s", c, r->mode);
		snprintf(pname, sizeof(pname), "%s-p99@%s", c, r->mode);
		return add(run, name, "native", "us", false, n->value, n->placement) ||
		       add(run, name, "guest", "us", false, g->value, g->placement) ||
		       add(run, pname, "native", "us", false, n->p99, n->placement) ||
		       add(run, pname, "guest", "us", false, g->p99, g->placement) ||
		       add_ratio(run, name, g->value, n->value, g->placement) ||
		       add_ratio(run, pname, g->p99, n->p99, g->placement) ? -1 : 0;
	}
	snprintf(name, sizeof(name), "%s@%s", c, r->mode);
	snprintf(lname, sizeof(lname), "%s-loss@%s", c, r->mode);
	return add(run, name, "native", r->size >= 1000 ? "Gbit/s" : "pps", true, n->value, n->placement) ||
	       add(run, name, "guest", r->size >= 1000 ? "Gbit/s" : "pps", true, g->value, g->placement) ||
	       add(run, lname, "native", "%", false, n->loss, n->placement) ||
	       add(run, lname, "guest", "%", false, g->loss, g->placement) ||
	       add_ratio(run, name, g->value, n->value, g->placement) ? -1 : 0;
}

static void note(struct bench_run *run, const char *fmt, const char *a, const char *b)
{
	size_t used = strlen(run->note);

	snprintf(run->note + used, sizeof(run->note) - used, fmt, a, b);
}

/* Finds xenith and xenith-net next to this program (build tree or install); false when one is missing. */
static bool find_programs(struct net_ctx *c)
{
	char self[PATH_MAX / 2], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return false;
	self[n] = 0;
	slash = strrchr(self, '/');
	*slash = 0;
	snprintf(c->xenith, sizeof(c->xenith), "%s/xenith", self);
	snprintf(c->env.xenith, sizeof(c->env.xenith), "%s", c->xenith);
	if (getenv("XENITH_NET"))
		snprintf(c->env.xnet, sizeof(c->env.xnet), "%s", getenv("XENITH_NET"));
	else {
		snprintf(c->env.xnet, sizeof(c->env.xnet), "%s/../net/xenith-net", self);
		if (access(c->env.xnet, X_OK) < 0)
			snprintf(c->env.xnet, sizeof(c->env.xnet), "%s/xenith-net", self);
	}
	return access(c->xenith, X_OK) == 0 && access(c->env.xnet, X_OK) == 0;
}

static void all_cpus(void)
{
	cpu_set_t all;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&all);
	for (long k = 0; k < ncpu && k < CPU_SETSIZE; k++)
		CPU_SET((int)k, &all);
	sched_setaffinity(0, sizeof(all), &all);
}

static void on_stop_signal(int sig)
{
	nproc_interrupted = sig;
}

/*
 * Ctrl-C or SIGTERM during the suite: the waits return, the case running
 * stops its programs (nproc_stop), the loop ends, the port kind's teardown
 * deletes the namespace, veths and switch; then the signal is raised again
 * with its default action, so the bench ends as interrupted, with nothing
 * of the suite left behind.
 */
static void catch_stop_signals(struct sigaction old[2])
{
	struct sigaction sa = { .sa_handler = on_stop_signal }; /* no SA_RESTART: sleeps end early */

	sigemptyset(&sa.sa_mask);
	nproc_interrupted = 0;
	sigaction(SIGINT, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
}

static void release_stop_signals(const struct sigaction old[2])
{
	int sig = nproc_interrupted;

	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
	if (!sig)
		return;
	fprintf(stderr, "\nxenith bench: net: interrupted (%s); its programs are stopped and its namespaces "
		"deleted\n", strsignal(sig));
	signal(sig, SIG_DFL);
	raise(sig);
}

int run_net(struct bench_run *run, const struct net_bench_opts *o, void (*progress)(const char *, ...))
{
	struct sigaction old_sig[2];
	struct net_ctx c = { .duration_ms = o->quick ? 1000 : 2000, .echo_count = o->quick ? 1000 : 2000,
			     .no_seccomp = o->no_seccomp };
	const struct net_kind *made = NULL;
	unsigned total = 0, done = 0, nsel = 0;
	bool failed[NR_ROWS] = { false };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char why[256];
	int r = 0;

	for (size_t i = 0; i < NR_ROWS; i++)
		nsel += row_selected(o, &rows[i]);
	if (!nsel && !net_refs_selected(o))
		return 0;
	if (geteuid() != 0) {
		note(run, "net: not run: needs root (network namespaces, taps, AF_PACKET)%s%s. ", "", "");
		fprintf(stderr, "xenith bench: net suite skipped: needs root (network namespaces, taps, AF_PACKET)\n");
		return 0;
	}
	if (!find_programs(&c)) {
		note(run, "net: not run: %s or %s is missing (build them: meson compile). ", c.xenith, c.env.xnet);
		fprintf(stderr, "xenith bench: net suite skipped: %s or %s is missing\n", c.xenith, c.env.xnet);
		return 0;
	}
	/* placement: place() per row; one CPU: nothing pinned */
	c.pl = (struct net_placement){ -1, -1, -1, -1 };
	all_cpus(); /* the other suites pin this process; the guests and programs choose their own CPUs */
	snprintf(c.dir, sizeof(c.dir), "/tmp/xenith-netbench-%d", (int)getpid());
	if (mkdir(c.dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "xenith bench: net: cannot make %s: %s\n", c.dir, strerror(errno));
		return -1;
	}
	total = (o->warmup + o->repeat) * nsel;
	catch_stop_signals(old_sig);
	for (unsigned rep = 0; rep < o->warmup + o->repeat && r == 0 && !nproc_interrupted; rep++) {
		for (size_t i = 0; i < NR_ROWS && r == 0 && !nproc_interrupted; i++) {
			const struct net_row *row = &rows[i];
			struct net_sample n = { 0 }, g = { 0 };
			char cname[48];

			if (!row_selected(o, row))
				continue;
			case_name(row, cname, sizeof(cname));
			if (!made || strcmp(made->kind, row->kind)) {
				if (made)
					made->teardown(&c.env);
				made = c.kind = kind_of(row->kind);
				if (made->setup(&c.env, why, sizeof(why)) < 0) {
					fprintf(stderr, "xenith bench: net: port kind %s: %s\n", row->kind, why);
					note(run, "net: %s rows not run: %s. ", row->kind, why);
					made->teardown(&c.env);
					made = NULL;
					continue;
				}
			}
			if (ncpu >= 2)
				c.pl = place(row);
			progress("net %u/%u: %s@%s, native then guest%s", ++done, total, cname, row->mode,
				 rep < o->warmup ? " [warm-up]" : "");
			if (failed[i])
				continue;
			if (run_side(&c, row, false, &n, why, sizeof(why)) < 0 ||
			    run_side(&c, row, true, &g, why, sizeof(why)) < 0) {
				if (nproc_interrupted)
					break;
				/* the case's later repetitions are left out; the others go on */
				fprintf(stderr, "\nxenith bench: net %s@%s failed: %s\n", cname, row->mode, why);
				char full[64];

				snprintf(full, sizeof(full), "%s@%s", cname, row->mode);
				note(run, "net/%s: failed: %s. ", full, why);
				failed[i] = true;
				continue;
			}
			if (rep >= o->warmup && record(run, row, &n, &g) < 0)
				r = -1;
		}
	}
	if (made)
		made->teardown(&c.env);
	/* the references: sender where the guest side runs, receiver where the wire side runs */
	c.pl = ncpu >= 2 ? (struct net_placement){ 0, -1, -1, 1 } : (struct net_placement){ -1, -1, -1, -1 };
	if (r == 0 && !nproc_interrupted)
		r = net_refs_run(run, o, &c, progress);
	nproc_remove_tree(c.dir);
	release_stop_signals(old_sig);
	return r;
}

void bench_print_net(const struct bench_run *run)
{
	bool header = false;

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *g = &run->series[i], *nat, *loss_g, *loss_n;
		char lname[80], cs[64];
		const char *at;

		if (strcmp(g->suite, "net") || strcmp(g->mode, "guest") || strstr(g->name, "-loss@"))
			continue;
		at = strchr(g->name, '@');
		nat = bench_run_find(run, "net", g->name, "native");
		if (!at || !nat)
			continue;
		snprintf(cs, sizeof(cs), "%.*s", (int)(at - g->name), g->name);
		snprintf(lname, sizeof(lname), "%s-loss%s", cs, at);
		loss_g = bench_run_find(run, "net", lname, "guest");
		loss_n = bench_run_find(run, "net", lname, "native");
		if (!header) {
			printf("\n%-16s %-9s %6s %11s %11s %7s %7s %7s  %s\n", "net case", "mode", "unit", "native",
			       "guest", "g/n", "loss n", "loss g", "placement (guest | native)");
			header = true;
		}
		printf("%-16s %-9s %6s %11.4g %11.4g %7.3f ", cs, at + 1, g->unit, nat->sum.median, g->sum.median,
		       g->sum.median / nat->sum.median);
		if (loss_g && loss_n)
			printf("%6.1f%% %6.1f%%", loss_n->sum.median, loss_g->sum.median);
		else
			printf("%7s %7s", "-", "-");
		printf("  %s | %s\n", g->placement, nat->placement);
	}
	net_refs_print(run, header);
}
