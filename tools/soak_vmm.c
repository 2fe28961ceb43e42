// SPDX-License-Identifier: MIT
/*
 * The soak suite's VMM scenarios, reboot and disk-churn: a `xenith run`
 * whose guest runs `blk churn` (guest/blkchurn.c) over data disks and a
 * mailbox disk.  At each sampling point the guest, every data disk
 * disconnected, prints "blk-churn: wait cycle=C token=T free=F" and polls
 * the mailbox until we have sampled the VMM and written T back into it.
 */
#include "soak_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blkpattern.h"
#include "xenith.h"

#define MAILBOX_BYTES 4096
#define VERIFY_SEED 7
#define VERIFY_BLOCKS 16

/* The verify pass's blocks in the disk's second half, read back by the host: bad words. */
static long host_verify(const char *path)
{
	uint64_t base = DISK_BYTES / 2, w[512];
	long bad = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (unsigned b = 0; b < VERIFY_BLOCKS; b++) {
		if (pread(fd, w, sizeof(w), (off_t)(base + b * sizeof(w))) != (ssize_t)sizeof(w)) {
			bad = -1;
			break;
		}
		for (unsigned i = 0; i < 512; i++)
			bad += w[i] != blk_pattern(VERIFY_SEED, base + b * sizeof(w) + i * 8);
	}
	close(fd);
	return bad;
}

static int ack(int mbox_fd, uint64_t token)
{
	uint64_t w[2] = { BLK_ACK_MAGIC, token };

	return pwrite(mbox_fd, w, sizeof(w), 0) == (ssize_t)sizeof(w) ? 0 : -errno;
}

/* The VMM scenarios' common part: `xenith run` with the data disks and a mailbox disk. */
struct vmm_run {
	const char *name;
	char disks[3][PATH_MAX];
	char disk_opts[3][PATH_MAX + 64];
	unsigned nr_data;
	char mbox[PATH_MAX];
	char cmdline[256];
	bool reboot;
};

static int vmm_files(struct soak_ctx *x, struct vmm_run *v, const char *const modes[], unsigned n)
{
	char name[32];
	int r;

	v->nr_data = n;
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s-d%u.img", v->name, i);
		r = soak_make_file(x, name, DISK_BYTES, v->disks[i], sizeof(v->disks[i]));
		if (r < 0)
			return soak_fail(x, "cannot create %s: %s", v->disks[i], strerror(-r));
		snprintf(v->disk_opts[i], sizeof(v->disk_opts[i]), "path=%s,%s", v->disks[i], modes[i]);
	}
	snprintf(name, sizeof(name), "%s-mailbox.img", v->name);
	r = soak_make_file(x, name, MAILBOX_BYTES, v->mbox, sizeof(v->mbox));
	if (r < 0)
		return soak_fail(x, "cannot create %s: %s", v->mbox, strerror(-r));
	/* Buffered (direct=0): the guest's reads see our pwrite() at once. */
	snprintf(v->disk_opts[n], sizeof(v->disk_opts[n]), "path=%s,mode=ioeventfd,direct=0,queues=1", v->mbox);
	return 0;
}

struct vmm_result {
	unsigned long boots, restarts;
	bool ok_line, failed_line;
	char summary[1024];
	char err_tail[512];       /* the VMM's last lines on stderr */
};

/*
 * Runs the VMM: samples it at every "blk-churn: wait" line and acks; stops
 * it with SIGTERM once `stop_after` samples are taken (0: let it end).
 */
static int vmm_drive(struct soak_ctx *x, struct vmm_run *v, unsigned long stop_after, struct vmm_result *res)
{
	char rundir[PATH_MAX + 8], line[1024];
	const char *argv[24];
	unsigned n = 0;
	struct child ch;
	int r, stream, mbox;
	bool stopping = false;

	memset(res, 0, sizeof(*res));
	snprintf(rundir, sizeof(rundir), "%s/run", x->dir);
	if (mkdir(rundir, 0700) < 0 && errno != EEXIST)
		return soak_fail(x, "cannot create %s: %s", rundir, strerror(errno));
	argv[n++] = x->xenith;
	argv[n++] = "run";
	argv[n++] = "-q";
	argv[n++] = "-n";
	argv[n++] = v->name;
	argv[n++] = "--run-dir";
	argv[n++] = rundir;
	argv[n++] = "-m";
	argv[n++] = "32";
	argv[n++] = "--on-reboot";
	argv[n++] = "restart";
	for (unsigned i = 0; i <= v->nr_data; i++) {
		argv[n++] = "--disk";
		argv[n++] = v->disk_opts[i];
	}
	argv[n++] = "--cmdline";
	argv[n++] = v->cmdline;
	argv[n] = NULL;
	mbox = open(v->mbox, O_RDWR | O_CLOEXEC);
	if (mbox < 0)
		return soak_fail(x, "cannot open %s: %s", v->mbox, strerror(errno));
	r = child_spawn(&ch, (char *const *)argv, false);
	if (r < 0) {
		close(mbox);
		return soak_fail(x, "cannot start %s: %s", x->xenith, strerror(-r));
	}
	while ((r = child_line(&ch, line, sizeof(line), &stream, LINE_TIMEOUT_MS)) > 0) {
		unsigned long long c, token;
		long freep;

		if (stream == 1) {
			if (strstr(line, "; restarting it"))
				res->restarts++;
			continue;
		}
		if (stopping)
			continue; /* read to the end: the last restart lines may still come */
		if (sscanf(line, "blk-churn: wait cycle=%llu token=%llu free=%ld", &c, &token, &freep) == 3) {
			/* reboot: a cycle is a boot; disk-churn: the guest's own count */
			double cyc = v->reboot ? (double)res->boots : (double)c;

			res->boots++;
			if (soak_take_sample(x, ch.pid, cyc, v->reboot ? -1 : freep) < 0) {
				child_kill(&ch);
				close(mbox);
				return soak_fail(x, "the VMM went away at cycle %.0f (its stderr: %s)", cyc, ch.tail[1]);
			}
			if (stop_after && res->boots >= stop_after) {
				kill(ch.pid, SIGTERM); /* while the guest waits: an orderly destroy */
				stopping = true;
				continue;
			}
			if (ack(mbox, token) < 0) {
				child_kill(&ch);
				close(mbox);
				return soak_fail(x, "cannot write %s: %s", v->mbox, strerror(errno));
			}
		} else if (strstr(line, "during it")) {
			snprintf(res->summary, sizeof(res->summary), "%s", line + strlen("blk-churn: "));
		} else if (!strcmp(line, "blk-churn: ok")) {
			res->ok_line = true;
		} else if (!strcmp(line, "blk-churn: FAILED")) {
			res->failed_line = true;
		}
	}
	close(mbox);
	if (r == -ETIMEDOUT) {
		child_kill(&ch);
		return soak_fail(x, "the VMM said nothing for %d s (its output: %s; stderr: %s)", LINE_TIMEOUT_MS / 1000,
				 ch.tail[0], ch.tail[1]);
	}
	child_reap(&ch, 60000);
	snprintf(res->err_tail, sizeof(res->err_tail), "%s", ch.tail[1]);
	if (res->failed_line)
		return soak_fail(x, "the guest's checks failed (its output: %s)", ch.tail[0]);
	return ch.status;
}

static int check_disks(struct soak_ctx *x, const struct vmm_run *v)
{
	for (unsigned i = 0; i < v->nr_data; i++) {
		long bad = host_verify(v->disks[i]);

		if (bad != 0)
			return soak_fail(x, "%s: the verify pass's blocks %s on the host", v->disks[i],
					 bad < 0 ? "cannot be read" : "do not hold the pattern");
	}
	return 0;
}

int soak_run_reboot(struct soak_ctx *x)
{
	static const char *const modes[] = { "mode=ioeventfd,queues=2", "mode=poll,queues=1" };
	struct vmm_run v = { .name = "soak-reboot", .reboot = true };
	struct vmm_result res;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nd = cpus >= 2 ? 2 : 1; /* poll mode needs a CPU besides the vCPU's */
	int st;

	if (vmm_files(x, &v, modes, nd) < 0)
		return -1;
	snprintf(v.cmdline, sizeof(v.cmdline), "blk churn cycles=2 disks=%u depth=8 wait=1 mailbox=%u sample=2 "
		 "leave=1 reboot=1 seed=%d blocks=%d", nd, nd, VERIFY_SEED, VERIFY_BLOCKS);
	st = vmm_drive(x, &v, x->cycles + 1, &res);
	if (st < 0)
		return -1;
	if (st != EXIT_DESTROYED)
		return soak_fail(x, "the VMM exited with status %d, not %d (destroyed by SIGTERM) (its stderr: %s)", st,
				 EXIT_DESTROYED, res.err_tail);
	if (res.boots != x->cycles + 1 || res.restarts != x->cycles)
		return soak_fail(x, "%lu boots sampled and %lu restarts reported, expected %lu and %lu", res.boots,
				 res.restarts, x->cycles + 1, x->cycles);
	if (check_disks(x, &v) < 0)
		return -1;
	snprintf(x->detail, sizeof(x->detail), "%lu reboots with disks %s%s, requests in flight at each",
		 x->cycles, modes[0], nd > 1 ? " and mode=poll" : " (no CPU for a poll-mode disk)");
	return 0;
}

int soak_run_disk_churn(struct soak_ctx *x)
{
	static const char *const modes[] = { "mode=ioeventfd,queues=2", "mode=exit,queues=1" };
	struct vmm_run v = { .name = "soak-churn" };
	struct vmm_result res;
	unsigned long long reqs = 0, before = 0, during = 0, never = 0, errs = 0;
	int st;

	if (vmm_files(x, &v, modes, 2) < 0)
		return -1;
	snprintf(v.cmdline, sizeof(v.cmdline), "blk churn cycles=%lu disks=2 depth=8 wait=1 mailbox=2 sample=%lu "
		 "seed=%d blocks=%d", x->cycles, x->sc->every, VERIFY_SEED, VERIFY_BLOCKS);
	st = vmm_drive(x, &v, 0, &res);
	if (st < 0)
		return -1;
	if (st != 0 || !res.ok_line)
		return soak_fail(x, "the guest did not finish its cycles and checks (status %d; stderr: %s)", st,
				 res.err_tail);
	if (sscanf(res.summary, "%*u cycles: %llu requests, %llu answered before the disconnect, %llu during it, "
		   "%llu never taken, %llu errors", &reqs, &before, &during, &never, &errs) != 5)
		return soak_fail(x, "no summary from the guest");
	if (during == 0)
		return soak_fail(x, "no request was in flight at any disconnect (%s): the scenario tested nothing",
				 res.summary);
	if (check_disks(x, &v) < 0)
		return -1;
	snprintf(x->detail, sizeof(x->detail), "%llu requests: %llu answered before the disconnect, %llu during "
		 "it, %llu never taken", reqs, before, during, never);
	return 0;
}
