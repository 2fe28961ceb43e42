// SPDX-License-Identifier: MIT
/*
 * `xenith switch start|list|stop`: the domain switch's process and the
 * toolstack's view of it (io/switch.h, protocol io/switch_proto.h).
 *
 * start NAME [--foreground] [--no-seccomp] [--run-dir DIR]: binds RUNDIR/switch/NAME.sock,
 * holds RUNDIR/switch/NAME.lock (flock; a second start of NAME fails,
 * naming the pid that holds it), prints one line
 *   switch NAME: socket PATH pid PID
 * and serves; without --foreground the server is a daemon (its own
 * session, stdin /dev/null, stdout and stderr appended to
 * RUNDIR/switch/NAME.log) and start returns once the socket listens, so a
 * script or benchmark can start one, run domains with port=switch:NAME,
 * and `xenith switch stop NAME` (which returns once the process ended).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>

#include "control.h"
#include "fsutil.h"
#include "jsondoc.h"
#include "switch.h"
#include "xenith.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xenith switch start NAME [--foreground] [--no-seccomp] [--run-dir DIR]\n"
		"usage: xenith switch list [NAME] [--json] [--run-dir DIR]\n"
		"usage: xenith switch stop NAME [--run-dir DIR]\n"
		"A learning L2 switch joining the vifs of several domains (vif port=switch:NAME), in a\n"
		"process of its own; its socket is RUNDIR/switch/NAME.sock.  The server runs with no\n"
		"capabilities, no-new-privileges and a seccomp filter (--no-seccomp: without, to debug).\n");
}

static int switch_dir(const char *run_dir, char *out, size_t size)
{
	char dir[PATH_MAX], want[PATH_MAX + 8];
	struct errbuf eb = { 0 };

	if (rundir_resolve(run_dir, dir, sizeof(dir), &eb) < 0) {
		fprintf(stderr, "xenith switch: %s\n", eb.msg);
		return -1;
	}
	snprintf(want, sizeof(want), "%s/switch", dir);
	if (fs_private_dir(want, out, size, &eb) < 0) {
		fprintf(stderr, "xenith switch: %s\n", eb.msg);
		return -1;
	}
	return 0;
}

static int lock_owner(const char *path)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), pid = 0;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			pid = atoi(buf);
		close(fd);
	}
	return pid;
}

/*
 * The switch's system calls once it serves (seen with strace -f over the
 * kvm tier's switch cases): the socket (poll, accept4, recvmsg, sendmsg),
 * checking a VMM's descriptors (fstat, fcntl, readlink of /proc/self/fd,
 * pread), mapping guest memory (mmap, munmap), netback threads (clone
 * with CLONE_THREAD, rt_sigaction for glibc's first thread, ppoll, read
 * and write of eventfds, futex), unlink of its socket and lock at exit.
 * Anything else ends the process: a switch that a VMM tricked into
 * something else must not do it.
 */
static int confine_switch(void)
{
	static const int allow[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll),
		SCMP_SYS(accept4), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
		SCMP_SYS(fcntl), SCMP_SYS(readlink), SCMP_SYS(pread64), SCMP_SYS(eventfd2), SCMP_SYS(mmap),
		SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(mremap), SCMP_SYS(brk),
		SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
		SCMP_SYS(clock_gettime), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getrandom),
		SCMP_SYS(sched_yield), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(unlink), SCMP_SYS(nanosleep),
		SCMP_SYS(clock_nanosleep),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = ctx ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < sizeof(allow) / sizeof(allow[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0);
	/* threads only, never a process; clone3's flags cannot be checked: glibc falls back to clone */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0) /* a netback thread names itself */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (r == 0)
		r = seccomp_load(ctx);
	if (ctx)
		seccomp_release(ctx);
	return r;
}

/* Drops what the switch does not need: it maps memfds and moves bytes, nothing more. */
static void deprivilege(void)
{
	struct rlimit no_core = { 0, 0 };
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	setrlimit(RLIMIT_CORE, &no_core); /* no guest memory in core dumps */
	prctl(PR_SET_DUMPABLE, 0);        /* nor ptrace by other processes of the user */
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	syscall(SYS_capset, &hdr, data);  /* no capability left, even as root */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static int sw_cmd_start(const char *name, bool foreground, bool seccomp, const char *run_dir)
{
	char dir[PATH_MAX], sock[PATH_MAX], lock[PATH_MAX + 16], log[PATH_MAX + 16], pid[32];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct sigaction sa = { .sa_handler = on_signal };
	struct sw *sw;
	int lfd, s, n, r, ready[2] = { -1, -1 };

	if (!swp_name_ok(name)) {
		fprintf(stderr, "xenith switch: '%s' is not a switch name (1 to 31 of A-Z a-z 0-9 _ . -)\n", name);
		return EXIT_USAGE;
	}
	if (switch_dir(run_dir, dir, sizeof(dir)) < 0)
		return EXIT_START;
	snprintf(lock, sizeof(lock), "%s/%s.lock", dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	n = snprintf(sock, sizeof(sock), "%s/%s.sock", dir, name); /* dir is RUNDIR/switch */
	if (n < 0 || (size_t)n >= sizeof(a.sun_path)) {
		fprintf(stderr, "xenith switch: socket path %s/%s.sock is longer than a Unix socket allows; "
			"use a shorter --run-dir\n", dir, name);
		return EXIT_START;
	}
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0) {
		fprintf(stderr, "xenith switch: %s: %s\n", lock, strerror(errno));
		return EXIT_START;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "xenith switch: a switch named '%s' is already running (pid %d, socket %s); "
			"choose another name or `xenith switch stop %s`\n", name, lock_owner(lock), sock, name);
		close(lfd);
		return EXIT_START;
	}
	unlink(sock); /* a switch that died left it */
	strcpy(a.sun_path, sock);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 64) < 0) {
		fprintf(stderr, "xenith switch: socket %s: %s\n", sock, strerror(errno));
		close(lfd);
		return EXIT_START;
	}
	chmod(sock, 0600);
	if (!foreground) {
		pid_t child;
		int null = open("/dev/null", O_RDWR | O_CLOEXEC), lg = open(log, O_WRONLY | O_CREAT | O_APPEND |
									  O_CLOEXEC | O_NOFOLLOW, 0600);

		fflush(stdout);
		if (pipe2(ready, O_CLOEXEC) < 0) {
			fprintf(stderr, "xenith switch: pipe: %s\n", strerror(errno));
			return EXIT_START;
		}
		child = fork();
		if (child < 0) {
			fprintf(stderr, "xenith switch: fork: %s\n", strerror(errno));
			return EXIT_START;
		}
		if (child > 0) {
			char c;

			/* Returns once the server is confined and serving (or says it ended). */
			close(ready[1]);
			if (read(ready[0], &c, 1) != 1) {
				fprintf(stderr, "xenith switch: %s ended while starting; see %s\n", name, log);
				return EXIT_START;
			}
			printf("switch %s: socket %s pid %d\n", name, sock, (int)child);
			return 0; /* the listening socket and the lock live on in the child */
		}
		close(ready[0]);
		setsid();
		if (null >= 0)
			dup2(null, 0);
		if (lg >= 0) {
			dup2(lg, 1);
			dup2(lg, 2);
		}
	} else {
		printf("switch %s: socket %s pid %d\n", name, sock, (int)getpid());
		fflush(stdout);
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (pwrite(lfd, pid, (size_t)n, 0) != n || ftruncate(lfd, n) < 0)
		fprintf(stderr, "xenith switch: cannot write %s: %s\n", lock, strerror(errno));
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	deprivilege();
	r = seccomp ? confine_switch() : 0;
	if (r < 0)
		fprintf(stderr, "xenith switch %s: seccomp filter: %s\n", name, strerror(-r));
	else
		r = sw_create(name, &sw);
	if (r == 0) {
		fprintf(stderr, "xenith switch %s: serving %s\n", name, sock);
		if (ready[1] >= 0) {
			if (write(ready[1], "1", 1) != 1) {
				/* the parent went: nobody to tell */
			}
			close(ready[1]);
		}
		r = sw_serve(sw, s, &stop_flag);
		sw_destroy(sw);
	}
	unlink(sock);
	unlink(lock);
	close(s);
	close(lfd);
	fprintf(stderr, "xenith switch %s: stopped%s%s\n", name, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
	return r < 0 ? EXIT_START : 0;
}

/* One request to the switch at sock: the reply's text in out (NUL-terminated); its status, or -errno. */
static int request(const char *sock, enum swp_type type, char *out, size_t size)
{
	static char buf[SWP_MSG_MAX];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct pollfd pf;
	struct swp_hdr h;
	ssize_t n;
	int s, r;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		close(s);
		return r;
	}
	swp_hdr_init(&h, type, sizeof(h));
	pf.fd = s;
	pf.events = POLLIN;
	if (write(s, &h, sizeof(h)) != sizeof(h) || poll(&pf, 1, 10000) != 1 ||
	    (n = read(s, buf, sizeof(buf))) <= 0) {
		close(s);
		return -ETIMEDOUT;
	}
	close(s);
	return swp_reply_text(buf, (size_t)n, out, size);
}

static void print_table(const char *json)
{
	char err[128];
	struct jv *doc = jv_parse(json, err, sizeof(err));
	const struct jv *vifs;

	if (!doc) {
		printf("%s\n", json);
		return;
	}
	printf("switch %s pid %.0f l2_entries %.0f\n", jv_str(doc, "switch", "?"), jv_num(doc, "pid", 0),
	       jv_num(doc, "l2_entries", 0));
	vifs = jv_get(doc, "vifs");
	for (size_t i = 0; vifs && i < vifs->n; i++) {
		const struct jv *v = &vifs->items[i];

		printf("  %-16s domid=%.0f vif=%.0f mac=%s queues=%.0f connected=%.0f forwarded=%.0f flooded=%.0f "
		       "received=%.0f drop_queue_full=%.0f drop_spoofed=%.0f drop_unknown_port=%.0f\n",
		       jv_str(v, "domain", "?"), jv_num(v, "domid", 0), jv_num(v, "vif", 0), jv_str(v, "mac", "?"),
		       jv_num(v, "queues", 0), jv_num(v, "queues_connected", 0), jv_num(v, "forwarded", 0),
		       jv_num(v, "flooded", 0), jv_num(v, "received", 0), jv_num(v, "drop_queue_full", 0),
		       jv_num(v, "drop_spoofed", 0), jv_num(v, "drop_unknown_port", 0));
	}
	jv_free(doc);
}

static int sw_cmd_list(const char *only, bool json, const char *run_dir)
{
	static char out[SWP_MSG_MAX];
	char dir[PATH_MAX], pat[PATH_MAX + 16];
	unsigned shown = 0;
	glob_t g;

	if (switch_dir(run_dir, dir, sizeof(dir)) < 0)
		return EXIT_START;
	snprintf(pat, sizeof(pat), "%s/%s.sock", dir, only ? only : "*");
	if (glob(pat, 0, NULL, &g) != 0) {
		if (only) {
			fprintf(stderr, "xenith switch: no switch named '%s' is running (no %s); "
				"`xenith switch start %s`\n", only, pat, only);
			return EXIT_START;
		}
		if (json)
			printf("[]\n");
		else
			printf("no switch is running (in %s)\n", dir);
		return 0;
	}
	if (json)
		printf("[");
	for (size_t i = 0; i < g.gl_pathc; i++) {
		int r = request(g.gl_pathv[i], SWP_LIST, out, sizeof(out));

		if (r == -ECONNREFUSED || r == -ENOENT)
			continue; /* a switch that was killed left its socket: nobody listens */
		if (r < 0) {
			fprintf(stderr, "xenith switch: %s does not answer: %s\n", g.gl_pathv[i], strerror(-r));
			continue;
		}
		if (json)
			printf("%s%s", shown ? "," : "", out);
		else
			print_table(out);
		shown++;
	}
	if (json)
		printf("]\n");
	else if (!shown)
		printf("no switch is running (in %s)\n", dir);
	globfree(&g);
	return 0;
}

static int sw_cmd_stop(const char *name, const char *run_dir)
{
	char dir[PATH_MAX], sock[PATH_MAX + 16], lock[PATH_MAX + 16], out[256];
	int pid, r;

	if (!swp_name_ok(name)) {
		fprintf(stderr, "xenith switch: '%s' is not a switch name\n", name);
		return EXIT_USAGE;
	}
	if (switch_dir(run_dir, dir, sizeof(dir)) < 0)
		return EXIT_START;
	snprintf(sock, sizeof(sock), "%s/%s.sock", dir, name);
	snprintf(lock, sizeof(lock), "%s/%s.lock", dir, name);
	pid = lock_owner(lock);
	r = request(sock, SWP_STOP, out, sizeof(out));
	if (r < 0) {
		fprintf(stderr, "xenith switch: no switch named '%s' answers at %s: %s\n", name, sock, strerror(-r));
		return EXIT_START;
	}
	/* Returns once the process is gone (its vifs are detached by then). */
	for (int i = 0; pid > 0 && i < 1000 && (kill(pid, 0) == 0 || errno == EPERM); i++) {
		struct timespec ts = { 0, 10000000 };

		nanosleep(&ts, NULL);
	}
	printf("switch %s stopped\n", name);
	return 0;
}

int cmd_switch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *run_dir = NULL, *verb;
	bool foreground = false, json = false, seccomp = true;
	int c;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "fjr:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 'S': seccomp = false; break;
		case 'j': json = true; break;
		case 'r': run_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(verb, "list"))
		return sw_cmd_list(optind < argc ? argv[optind] : NULL, json, run_dir);
	if (optind != argc - 1 || (strcmp(verb, "start") && strcmp(verb, "stop"))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return !strcmp(verb, "start") ? sw_cmd_start(argv[optind], foreground, seccomp, run_dir) : sw_cmd_stop(argv[optind], run_dir);
}
