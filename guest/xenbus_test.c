// SPDX-License-Identifier: MIT
/*
 * `xenbus [ops|host|quota|smp]`: the kvm tier's checks of the VMM's xenstore,
 * made from the guest through xenbus.c (hv/tests/test_xenstore_boot.c
 * runs them):
 *   ops    every operation: the keys the VMM wrote for this domain (checked
 *          against start_info, which the builder fills independently),
 *          write, read, mkdir, directory, rm, permissions (EACCES on nodes
 *          of domain 0 and of another domain), watches (on its own writes,
 *          events queued between a request and its reply), transactions
 *          (commit, abort, conflict: EAGAIN), values longer than the ring
 *          and replies wrapping the ring's end;
 *   host   waits for the toolstack to write data/host-key
 *          (`xenith xenstore-write`): the watch fires and the value is read;
 *   quota  what a hostile guest does: nodes, value size, watches and
 *          transactions until the store refuses, each with Xen's errno;
 *          the store still serves this domain afterwards; then it waits for
 *          the toolstack (`xenith shutdown`, or `--reboot`: it starts over)
 *          so `xenith xenstore-ls` can be asked meanwhile;
 *   smp    every vCPU makes requests at once (the client's lock).
 * Each prints "xenbus: MODE: all checks passed" at the end.
 */
#include "assert.h"
#include "xenbus.h"

#define WAIT_NS 30000000000ull /* a watch event the store owes us: generous for a loaded host */

static char home[64];

static void check(const char *what, long got, long want)
{
	printf("xenbus: %s -> %ld %s\n", what, got, got == want ? "ok" : "WRONG");
	GUEST_ASSERT_EQ(got, want);
}

static void check_str(const char *what, const char *got, const char *want)
{
	bool same = !strcmp(got, want);

	printf("xenbus: %s -> '%s' %s\n", what, got, same ? "ok" : "WRONG");
	if (!same)
		guest_assert_fail(__FILE__, __LINE__, what, "'%s' != '%s'", got, want);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && !strcmp(s + a - b, tail);
}

/* Whether name is one of the n NUL-separated strings in list. */
static bool listed(const char *list, int n, const char *name)
{
	for (int i = 0; i < n; i++, list += strlen(list) + 1)
		if (!strcmp(list, name))
			return true;
	return false;
}

static void read_expect(const char *path, const char *want)
{
	char buf[256], what[160];

	snprintf(what, sizeof(what), "read %s", path);
	GUEST_ASSERT(xenbus_read(XBT_NIL, path, buf, sizeof(buf)) >= 0);
	check_str(what, buf, want);
}

/* ---- ops ---- */

static void vmm_keys(void)
{
	char want[64], path[96], buf[512];
	uint64_t v;
	int n;

	snprintf(path, sizeof(path), "%s/name", home);
	read_expect(path, start_info->name);
	read_expect("name", start_info->name); /* relative: from the home */
	snprintf(want, sizeof(want), "%u", start_info->domid);
	read_expect("domid", want);
	check("memory/target in KiB", xenbus_read_u64(XBT_NIL, "memory/target", &v), 0);
	check("memory/target is the memory", (long)v, (long)(start_info->mem_bytes >> 10));
	check("store/port", xenbus_read_u64(XBT_NIL, "store/port", &v), 0);
	check("store/port is start_info's", (long)v, start_info->store_evtchn);
	check("store/ring-ref", xenbus_read_u64(XBT_NIL, "store/ring-ref", &v), 0);
	check("store/ring-ref is start_info's", (long)v, (long)(start_info->store_ring / XENITH_PAGE_SIZE));
	check("console/port", xenbus_read_u64(XBT_NIL, "console/port", &v), 0);
	check("console/port is start_info's", (long)v, start_info->console_evtchn);
	for (unsigned i = 0; i < start_info->nr_vcpus; i++) {
		snprintf(path, sizeof(path), "cpu/%u/availability", i);
		read_expect(path, "online");
	}
	snprintf(path, sizeof(path), "cpu/%u/availability", start_info->nr_vcpus);
	check("no availability past the last vCPU (ENOENT)", xenbus_read(XBT_NIL, path, buf, sizeof(buf)),
	      -XEN_ENOENT);
	GUEST_ASSERT(xenbus_read(XBT_NIL, "vm", buf, sizeof(buf)) > 4);
	check("vm is under /vm/", !strncmp(buf, "/vm/", 4), 1);
	snprintf(path, sizeof(path), "%s/name", buf);
	read_expect(path, start_info->name);
	n = xenbus_directory(XBT_NIL, home, buf, sizeof(buf));
	GUEST_ASSERT(n > 0);
	static const char *const names[] = { "name", "domid", "vm", "memory", "cpu", "store", "console",
					     "control", "device", "data" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "the home lists %s", names[i]);
		check(path, listed(buf, n, names[i]), 1);
	}
	check("a read of a missing node (ENOENT)", xenbus_read(XBT_NIL, "data/none", buf, sizeof(buf)),
	      -XEN_ENOENT);
	check("a buffer too small (E2BIG)", xenbus_read(XBT_NIL, "name", buf, 2), -XEN_E2BIG);
	check("... still terminated", buf[1], 0);
}

static void write_read_rm(void)
{
	char buf[256];
	uint64_t v;
	int n;

	check("write data/a", xenbus_write(XBT_NIL, "data/a", "hello"), 0);
	read_expect("data/a", "hello");
	check("write data/a again", xenbus_write(XBT_NIL, "data/a", ""), 0);
	check("read an empty value", xenbus_read(XBT_NIL, "data/a", buf, sizeof(buf)), 0);
	check("printf data/n", xenbus_printf(XBT_NIL, "data", "n", "%u", 4242u), 0);
	check("read_u64 data/n", xenbus_read_u64(XBT_NIL, "data/n", &v), 0);
	check("... its value", (long)v, 4242);
	check("read_u64 of text (EINVAL)", xenbus_read_u64(XBT_NIL, "name", &v), -XEN_EINVAL);
	check("printf 2^64 as text", xenbus_printf(XBT_NIL, "data/n", NULL, "18446744073709551616"), 0);
	check("read_u64 past 2^64-1 (EINVAL)", xenbus_read_u64(XBT_NIL, "data/n", &v), -XEN_EINVAL);
	check("mkdir data/d", xenbus_mkdir(XBT_NIL, "data/d"), 0);
	check("write data/d/x/y (parents made)", xenbus_write(XBT_NIL, "data/d/x/y", "deep"), 0);
	read_expect("data/d/x/y", "deep");
	n = xenbus_directory(XBT_NIL, "data", buf, sizeof(buf));
	check("directory data: a, n, d", n, 3);
	check("... lists a", listed(buf, n, "a"), 1);
	check("... lists d", listed(buf, n, "d"), 1);
	check("... lists n", listed(buf, n, "n"), 1);
	check("directory into 2 bytes (E2BIG)", xenbus_directory(XBT_NIL, "data", buf, 2), -XEN_E2BIG);
	check("rm data/d (and below)", xenbus_rm(XBT_NIL, "data/d"), 0);
	check("read data/d/x/y after rm (ENOENT)", xenbus_read(XBT_NIL, "data/d/x/y", buf, sizeof(buf)),
	      -XEN_ENOENT);
	check("directory data after rm", xenbus_directory(XBT_NIL, "data", buf, sizeof(buf)), 2);
	check("directory of a missing node (ENOENT)", xenbus_directory(XBT_NIL, "data/d", buf, sizeof(buf)),
	      -XEN_ENOENT);
	check("rm a missing node whose parent is there (Xen: 0)", xenbus_rm(XBT_NIL, "data/d"), 0);
}

static void permissions(void)
{
	char buf[128], path[96], want[16];
	const char *mine[2];
	int n;

	n = xenbus_get_perms(XBT_NIL, home, buf, sizeof(buf));
	check("perms of the home: two entries", n, 2);
	check_str("... the owner: domain 0, no access for others", buf, "n0");
	snprintf(want, sizeof(want), "r%u", start_info->domid);
	check_str("... this domain may read", buf + strlen(buf) + 1, want);
	snprintf(want, sizeof(want), "n%u", start_info->domid);
	n = xenbus_get_perms(XBT_NIL, "data", buf, sizeof(buf));
	check("perms of data: one entry", n, 1);
	check_str("... this domain owns it", buf, want);
	check("write in the read-only home (EACCES)", xenbus_write(XBT_NIL, "x", "1"), -XEN_EACCES);
	check("mkdir in the read-only home (EACCES)", xenbus_mkdir(XBT_NIL, "y"), -XEN_EACCES);
	check("rm a read-only node (EACCES)", xenbus_rm(XBT_NIL, "name"), -XEN_EACCES);
	check("write domain 0's /local/domain/0/x (EACCES)", xenbus_write(XBT_NIL, "/local/domain/0/x", "1"),
	      -XEN_EACCES);
	check("read domain 0's /local/domain/0/name (EACCES)",
	      xenbus_read(XBT_NIL, "/local/domain/0/name", buf, sizeof(buf)), -XEN_EACCES);
	snprintf(path, sizeof(path), "/local/domain/%u/x", start_info->domid + 1);
	check("write another domain's home (EACCES)", xenbus_write(XBT_NIL, path, "1"), -XEN_EACCES);
	mine[0] = want;
	mine[1] = "r0";
	check("write data/p", xenbus_write(XBT_NIL, "data/p", "v"), 0);
	check("set_perms data/p: owner me, domain 0 reads", xenbus_set_perms(XBT_NIL, "data/p", mine, 2), 0);
	n = xenbus_get_perms(XBT_NIL, "data/p", buf, sizeof(buf));
	check("... get_perms gives both back", n, 2);
	check_str("... first", buf, want);
	check_str("... second", buf + strlen(buf) + 1, "r0");
	mine[0] = "n0";
	check("set_perms of a node it does not own (EACCES)", xenbus_set_perms(XBT_NIL, "name", mine, 1),
	      -XEN_EACCES);
	check("rm data/p", xenbus_rm(XBT_NIL, "data/p"), 0);
}

static void watches(void)
{
	char path[128], buf[64];

	check("watch data/w", xenbus_watch("data/w", "tok-w"), 0);
	check("the watch fires once when set", xenbus_wait_for_watch("tok-w", path, sizeof(path), WAIT_NS), 0);
	check("... naming the watched path", ends_with(path, "data/w"), 1);
	check("write data/w/x", xenbus_write(XBT_NIL, "data/w/x", "1"), 0);
	/*
	 * The event the write fired comes before the reply to our next request
	 * at the latest: the client reads it off the ring then and queues it.
	 */
	GUEST_ASSERT(xenbus_read(XBT_NIL, "name", buf, sizeof(buf)) > 0);
	check("the event was queued while a request waited for its reply", xenbus_watch_events_queued() >= 1, 1);
	check("a write below the watch fires it", xenbus_wait_for_watch("tok-w", path, sizeof(path), WAIT_NS), 0);
	check("... naming the node written", ends_with(path, "data/w/x"), 1);
	check("rm data/w/x", xenbus_rm(XBT_NIL, "data/w/x"), 0);
	check("rm fires it too", xenbus_wait_for_watch("tok-w", path, sizeof(path), WAIT_NS), 0);
	check("write data/other", xenbus_write(XBT_NIL, "data/other", "1"), 0);
	check("a write elsewhere does not fire it (waited 200 ms)",
	      xenbus_wait_for_watch("tok-w", path, sizeof(path), 200000000ull), -XEN_ETIMEDOUT);
	check("unwatch", xenbus_unwatch("data/w", "tok-w"), 0);
	check("write data/w after unwatch", xenbus_write(XBT_NIL, "data/w", "2"), 0);
	check("no event after unwatch (waited 200 ms)",
	      xenbus_wait_for_watch("tok-w", path, sizeof(path), 200000000ull), -XEN_ETIMEDOUT);
	check("unwatch a watch that is not there (ENOENT)", xenbus_unwatch("data/w", "tok-w"), -XEN_ENOENT);
	check("nothing left queued", xenbus_watch_events_queued(), 0);
	check("nothing dropped", (long)xenbus_watch_events_dropped(), 0);
}

static void transactions(void)
{
	xenbus_transaction_t t;
	char buf[64];
	int r, tries;

	check("transaction start", xenbus_transaction_start(&t), 0);
	check("... an id other than XBT_NIL", t != XBT_NIL, 1);
	check("write data/t inside", xenbus_write(t, "data/t", "1"), 0);
	check("read inside sees it", xenbus_read(t, "data/t", buf, sizeof(buf)), 1);
	check("read outside does not (ENOENT)", xenbus_read(XBT_NIL, "data/t", buf, sizeof(buf)), -XEN_ENOENT);
	check("commit", xenbus_transaction_end(t, false), 0);
	read_expect("data/t", "1");

	check("transaction start (to abort)", xenbus_transaction_start(&t), 0);
	check("write data/t inside", xenbus_write(t, "data/t", "aborted"), 0);
	check("abort", xenbus_transaction_end(t, true), 0);
	read_expect("data/t", "1");

	check("transaction start (to conflict)", xenbus_transaction_start(&t), 0);
	GUEST_ASSERT(xenbus_read(t, "data/t", buf, sizeof(buf)) == 1);
	check("write data/t outside meanwhile", xenbus_write(XBT_NIL, "data/t", "outside"), 0);
	check("write data/t inside", xenbus_write(t, "data/t", "inside"), 0);
	check("commit after a conflicting change (EAGAIN)", xenbus_transaction_end(t, false), -XEN_EAGAIN);
	read_expect("data/t", "outside");
	check("a transaction id that ended (ENOENT)", xenbus_write(t, "data/t", "x"), -XEN_ENOENT);

	/* What a caller does with EAGAIN: start again. */
	for (tries = 0, r = -XEN_EAGAIN; r == -XEN_EAGAIN && tries < 3; tries++) {
		GUEST_ASSERT_EQ(xenbus_transaction_start(&t), 0);
		GUEST_ASSERT_EQ(xenbus_write(t, "data/t", "retried"), 0);
		if (tries == 0)
			GUEST_ASSERT_EQ(xenbus_write(XBT_NIL, "data/t", "racing"), 0);
		r = xenbus_transaction_end(t, false);
	}
	check("the retry loop commits on its second try", tries, 2);
	check("... and its write is there", r, 0);
	read_expect("data/t", "retried");
}

/* Values longer than the ring, and many replies whose bytes wrap the ring's end. */
static void ring_wrap(void)
{
	static char big[1500], back[sizeof(big) + 1];
	char small[200], got[sizeof(small)];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 1] = 0;
	check("write a value longer than the ring", xenbus_write(XBT_NIL, "data/big", big), 0);
	check("read it back", xenbus_read(XBT_NIL, "data/big", back, sizeof(back)), (long)strlen(big));
	check("... the same bytes", !strcmp(back, big), 1);
	/* 16 + 8 + 97 = 121-byte replies: 1024 is no multiple, so they straddle the end again and again. */
	memset(small, 'z', 97);
	small[97] = 0;
	check("write a 97-byte value", xenbus_write(XBT_NIL, "data/s", small), 0);
	for (int i = 0; i < 40; i++) {
		small[0] = (char)('A' + i % 26);
		GUEST_ASSERT_EQ(xenbus_write(XBT_NIL, "data/s", small), 0);
		GUEST_ASSERT_EQ(xenbus_read(XBT_NIL, "data/s", got, sizeof(got)), 97);
		if (strcmp(got, small))
			guest_assert_fail(__FILE__, __LINE__, "read after write", "round %d: '%.20s...'", i, got);
	}
	printf("xenbus: 40 writes and reads across the ring's end -> ok\n");
	check("rm data/big", xenbus_rm(XBT_NIL, "data/big"), 0);
}

/* XenbusState helpers: both ends played here (the host plays the other end in `host`). */
static void states(void)
{
	enum xenbus_state st = XenbusStateUnknown;

	check("read_state of a device with none yet (ENOENT)", xenbus_read_state(XBT_NIL, "data/fe", &st),
	      -XEN_ENOENT);
	check("switch_state Initialising", xenbus_switch_state(XBT_NIL, "data/fe", XenbusStateInitialising), 0);
	read_expect("data/fe/state", "1");
	check("read_state", xenbus_read_state(XBT_NIL, "data/fe", &st), 0);
	check("... Initialising", st, XenbusStateInitialising);
	check("the other end: InitWait", xenbus_switch_state(XBT_NIL, "data/be", XenbusStateInitWait), 0);
	check("wait_state for a state already reached", xenbus_wait_state("data/be", XenbusStateInitWait, &st,
									  WAIT_NS), 0);
	check("... the state read", st, XenbusStateInitWait);
	check("wait_state for Connected, which does not come (waited 200 ms)",
	      xenbus_wait_state("data/be", XenbusStateConnected, &st, 200000000ull), -XEN_ETIMEDOUT);
	check("... the last state read", st, XenbusStateInitWait);
	check("the other end closes", xenbus_switch_state(XBT_NIL, "data/be", XenbusStateClosed), 0);
	check("wait_state for Connected on a closed end (EIO)",
	      xenbus_wait_state("data/be", XenbusStateConnected, &st, WAIT_NS), -XEN_EIO);
	check("... Closed", st, XenbusStateClosed);
	check("wait_state for Closed itself", xenbus_wait_state("data/be", XenbusStateClosed, &st, WAIT_NS), 0);
	check("a state that is no number", xenbus_write(XBT_NIL, "data/be/state", "up"), 0);
	check("read_state of it (EINVAL)", xenbus_read_state(XBT_NIL, "data/be", &st), -XEN_EINVAL);
	check("a state past Reconfigured", xenbus_write(XBT_NIL, "data/be/state", "9"), 0);
	check("read_state of it (EINVAL)", xenbus_read_state(XBT_NIL, "data/be", &st), -XEN_EINVAL);
	check("no events left queued by wait_state", xenbus_watch_events_queued(), 0);
	check("rm data/fe", xenbus_rm(XBT_NIL, "data/fe"), 0);
	check("rm data/be", xenbus_rm(XBT_NIL, "data/be"), 0);
}

static int mode_ops(void)
{
	vmm_keys();
	write_read_rm();
	permissions();
	watches();
	transactions();
	ring_wrap();
	states();
	printf("xenbus: ops: all checks passed\n");
	return 0;
}

/* ---- host ---- */

static int mode_host(void)
{
	char path[128], buf[128];

	check("watch data/host-key", xenbus_watch("data/host-key", "host"), 0);
	check("the watch fires once when set", xenbus_wait_for_watch("host", path, sizeof(path), WAIT_NS), 0);
	printf("xenbus: host: waiting for the toolstack to write data/host-key\n");
	/* The test writes it when it sees the line above: allow it a loaded host's minutes. */
	check("the toolstack's write fires the watch",
	      xenbus_wait_for_watch("host", path, sizeof(path), 240000000000ull), 0);
	check("... naming data/host-key", ends_with(path, "data/host-key"), 1);
	GUEST_ASSERT(xenbus_read(XBT_NIL, "data/host-key", buf, sizeof(buf)) >= 0);
	check_str("the value the toolstack wrote", buf, "written-by-the-host");
	check("unwatch data/host-key", xenbus_unwatch("data/host-key", "host"), 0);
	/* The toolstack as the other end of a device: this end waits for it to connect. */
	check("switch_state Initialised", xenbus_switch_state(XBT_NIL, "data/dev", XenbusStateInitialised), 0);
	printf("xenbus: host: waiting for the toolstack to connect data/peer\n");
	{
		enum xenbus_state st;

		check("the toolstack's end reaches Connected",
		      xenbus_wait_state("data/peer", XenbusStateConnected, &st, 240000000000ull), 0);
		check("... as read", st, XenbusStateConnected);
	}
	printf("xenbus: host: all checks passed\n");
	return 0;
}

/* ---- quota ---- */

/* Waits for `xenith shutdown` (VIRQ_CONTROL): returns for a power-off, reboots for a reboot. */
static void wait_for_toolstack(uint32_t p)
{
	for (;;) {
		uint32_t req;

		sched_poll(&p, 1, 0);
		if (!evtchn_test_and_clear(p))
			continue;
		req = __atomic_exchange_n(&shared_info->control_request, XENITH_CONTROL_NONE, __ATOMIC_ACQUIRE);
		if (req == XENITH_CONTROL_POWEROFF)
			return;
		if (req == XENITH_CONTROL_REBOOT) {
			printf("xenbus: reboot requested\n");
			shutdown(SHUTDOWN_reboot);
		}
	}
}

static void still_serves(const char *after)
{
	char buf[128], what[128];

	snprintf(what, sizeof(what), "after %s, the store still reads this domain's name", after);
	GUEST_ASSERT(xenbus_read(XBT_NIL, "name", buf, sizeof(buf)) > 0);
	check_str(what, buf, start_info->name);
}

static int mode_quota(void)
{
	static char val[XENSTORE_PAYLOAD_MAX];
	static xenbus_transaction_t txs[4096];
	char path[64];
	unsigned n;
	int r;

	/* A tree of its own, fresh at every boot (after a reboot too: nothing of the last run's) */
	check("a fresh tree: no data/q yet (ENOENT)", xenbus_read(XBT_NIL, "data/q", path, sizeof(path)),
	      -XEN_ENOENT);
	/* Nodes: Xen's quota-nb-entry-per-domain, refused with ENOSPC. */
	for (n = 0; n < 100000; n++) {
		snprintf(path, sizeof(path), "data/q/%u", n);
		r = xenbus_write(XBT_NIL, path, "x");
		if (r < 0)
			break;
	}
	printf("xenbus: quota: %u nodes written before the refusal\n", n);
	check("a node past the quota (ENOSPC)", r, -XEN_ENOSPC);
	check("the store stopped it well before 100000 nodes", n < 100000, 1);
	still_serves("the node quota");
	check("rm data/q gives the nodes back", xenbus_rm(XBT_NIL, "data/q"), 0);
	check("... so a write succeeds again", xenbus_write(XBT_NIL, "data/q", "x"), 0);

	/* A value as long as the wire allows: Xen's quota-max-entry-size refuses it with ENOSPC. */
	memset(val, 'v', sizeof(val) - 1 - sizeof("data/big"));
	check("a value past the size quota (ENOSPC)", xenbus_write(XBT_NIL, "data/big", val), -XEN_ENOSPC);
	still_serves("the value quota");

	/* Watches: Xen's quota-nb-watch-per-domain, refused with E2BIG. */
	for (n = 0; n < 100000; n++) {
		snprintf(path, sizeof(path), "data/w%u", n);
		r = xenbus_watch(path, path);
		if (r < 0)
			break;
		/* take the event it fires when set, so the client's queue stays short */
		GUEST_ASSERT_EQ(xenbus_wait_for_watch(path, NULL, 0, WAIT_NS), 0);
	}
	printf("xenbus: quota: %u watches set before the refusal\n", n);
	check("a watch past the quota (E2BIG)", r, -XEN_E2BIG);
	still_serves("the watch quota");
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "data/w%u", i);
		GUEST_ASSERT_EQ(xenbus_unwatch(path, path), 0);
	}
	check("a watch after unwatching them all", xenbus_watch("data/w0", "again"), 0);
	GUEST_ASSERT_EQ(xenbus_unwatch("data/w0", "again"), 0);

	/* Transactions open at once: Xen's quota-max-transaction, refused with ENOSPC. */
	for (n = 0; n < ARRAY_SIZE(txs); n++) {
		r = xenbus_transaction_start(&txs[n]);
		if (r < 0)
			break;
	}
	printf("xenbus: quota: %u transactions open before the refusal\n", n);
	check("a transaction past the quota (ENOSPC)", r, -XEN_ENOSPC);
	still_serves("the transaction quota");
	for (unsigned i = 0; i < n; i++)
		GUEST_ASSERT_EQ(xenbus_transaction_end(txs[i], true), 0);
	check("a transaction after ending them all", xenbus_transaction_start(&txs[0]), 0);
	GUEST_ASSERT_EQ(xenbus_transaction_end(txs[0], true), 0);

	/* Leave the node quota full for the toolstack to look at. */
	for (n = 0; n < 100000; n++) {
		snprintf(path, sizeof(path), "data/q/%u", n);
		if (xenbus_write(XBT_NIL, path, "x") < 0)
			break;
	}
	still_serves("filling the node quota again");
	/* Bound before the line that tells the toolstack it may ask. */
	r = evtchn_bind_virq(VIRQ_CONTROL, 0);
	GUEST_ASSERT(r > 0);
	printf("xenbus: quota: all checks passed; waiting for the toolstack\n");
	wait_for_toolstack((uint32_t)r);
	return 0;
}

/* ---- smp ---- */

static atomic_uint smp_done;

static void smp_worker(unsigned vcpu)
{
	char path[32], want[32], got[32];

	snprintf(path, sizeof(path), "data/cpu%u", vcpu);
	for (unsigned i = 0; i < 50; i++) {
		snprintf(want, sizeof(want), "%u-%u", vcpu, i);
		GUEST_ASSERT_EQ(xenbus_write(XBT_NIL, path, want), 0);
		GUEST_ASSERT(xenbus_read(XBT_NIL, path, got, sizeof(got)) >= 0);
		if (strcmp(got, want))
			guest_assert_fail(__FILE__, __LINE__, "read after write", "vCPU %u: '%s' != '%s'",
					  vcpu, got, want);
	}
	atomic_fetch_add(&smp_done, 1);
}

static int mode_smp(void)
{
	unsigned n = start_info->nr_vcpus;
	uint64_t deadline = monotonic_ns() + 120000000000ull;

	for (unsigned v = 1; v < n; v++)
		GUEST_ASSERT_EQ(smp_start_vcpu(v, smp_worker), 0);
	smp_worker(0);
	while (atomic_load(&smp_done) < n) {
		if (monotonic_ns() > deadline)
			guest_assert_fail(__FILE__, __LINE__, "every vCPU done", "%u of %u",
					  atomic_load(&smp_done), n);
		sched_yield();
	}
	check("vCPUs that made 50 writes and reads each", atomic_load(&smp_done), n);
	printf("xenbus: smp: all checks passed\n");
	return 0;
}

int xenbus_test_main(const char *args)
{
	check("xenbus_init", xenbus_init(), 0);
	snprintf(home, sizeof(home), "/local/domain/%u", start_info->domid);
	if (!*args || !strncmp(args, "ops", 3))
		return mode_ops();
	if (!strncmp(args, "host", 4))
		return mode_host();
	if (!strncmp(args, "quota", 5))
		return mode_quota();
	if (!strncmp(args, "smp", 3))
		return mode_smp();
	printf("xenbus: unknown mode '%s' (ops, host, quota, smp)\n", args);
	return 2;
}
