// SPDX-License-Identifier: MIT
/* Hardware events of vCPU threads, named by libpfm4 (hwevents.h). */
#include "hwevents.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct hw_event {
	char name[64];
	struct perf_event_attr attr;
	int *fd;            /* per vCPU, -1 where its thread had none */
};

struct hwevents {
	struct hw_event ev[HWEVENTS_MAX];
	unsigned n, nr_vcpus;
};

static void append(char *buf, size_t size, const char *fmt, const char *a, const char *b)
{
	size_t len = strlen(buf);

	if (len < size)
		snprintf(buf + len, size - len, fmt, len ? ", " : "", a, b);
}

int hwevents_open(const char *list, const pid_t *tids, unsigned n, struct hwevents **out, char *unavailable,
		  size_t ulen, struct errbuf *eb)
{
	struct hwevents *hw = calloc(1, sizeof(*hw));
	char names[1024], *save = NULL;
	int r;

	unavailable[0] = 0;
	if (!hw)
		return errbuf_set(eb, ENOMEM, "out of memory for hardware events");
	hw->nr_vcpus = n;
	r = pfm_initialize();
	if (r != PFM_SUCCESS) {
		free(hw);
		return errbuf_set(eb, EIO, "libpfm4 cannot start: %s", pfm_strerror(r));
	}
	snprintf(names, sizeof(names), "%s", list);
	for (char *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct hw_event *e = &hw->ev[hw->n];
		pfm_perf_encode_arg_t arg;
		bool any = false;
		int err = 0;

		if (hw->n == HWEVENTS_MAX) {
			hwevents_close(hw);
			return errbuf_set(eb, E2BIG, "at most %d hardware events", HWEVENTS_MAX);
		}
		memset(e, 0, sizeof(*e));
		memset(&arg, 0, sizeof(arg));
		arg.attr = &e->attr;
		arg.size = sizeof(arg);
		r = pfm_get_os_event_encoding(name, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
		if (r != PFM_SUCCESS) {
			hwevents_close(hw);
			return errbuf_set(eb, EINVAL, "event '%.64s': %s (names are libpfm4's: cycles, instructions, "
					  "LLC-misses, branch-misses, or the PMU's own, e.g. amd64_fam19h::...)",
					  name, pfm_strerror(r));
		}
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->attr.size = sizeof(e->attr);
		e->attr.disabled = 0;
		e->fd = malloc((n ? n : 1) * sizeof(int));
		if (!e->fd) {
			hwevents_close(hw);
			return errbuf_set(eb, ENOMEM, "out of memory for hardware events");
		}
		for (unsigned i = 0; i < n; i++) {
			e->fd[i] = tids[i] ? (int)syscall(SYS_perf_event_open, &e->attr, tids[i], -1, -1,
							  PERF_FLAG_FD_CLOEXEC) : -1;
			if (e->fd[i] >= 0)
				any = true;
			else if (tids[i])
				err = errno;
		}
		if (!any) {
			append(unavailable, ulen, "%s%s (%s)", name,
			       err == ENOENT || err == EOPNOTSUPP ? "no such hardware counter on this host"
								  : strerror(err));
			free(e->fd);
			continue;
		}
		hw->n++;
	}
	*out = hw;
	return 0;
}

unsigned hwevents_count(const struct hwevents *hw)
{
	return hw->n;
}

const char *hwevents_name(const struct hwevents *hw, unsigned i)
{
	return i < hw->n ? hw->ev[i].name : NULL;
}

uint64_t hwevents_read(const struct hwevents *hw, unsigned i, unsigned vcpu)
{
	uint64_t v = 0;

	if (i >= hw->n || vcpu >= hw->nr_vcpus || hw->ev[i].fd[vcpu] < 0 ||
	    read(hw->ev[i].fd[vcpu], &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

void hwevents_close(struct hwevents *hw)
{
	if (!hw)
		return;
	for (unsigned i = 0; i < hw->n; i++) {
		for (unsigned j = 0; j < hw->nr_vcpus; j++)
			if (hw->ev[i].fd[j] >= 0)
				close(hw->ev[i].fd[j]);
		free(hw->ev[i].fd);
	}
	free(hw);
}
