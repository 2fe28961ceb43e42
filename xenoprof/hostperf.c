// SPDX-License-Identifier: MIT
/* The host kernel's share of vCPU threads, by perf's cpu-clock (hostperf.h). */
#include "hostperf.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <linux/perf_event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_PAGES 64 /* data pages per event: 256 KiB, about 2 s of deep chains at 1 kHz */

struct hp_event {
	int fd;
	void *map;
	size_t map_size;
	unsigned vcpu;
};

struct hostperf {
	struct hp_event *ev;
	unsigned n;
	uint64_t lost;
	size_t page;
	uint8_t rec[65536]; /* one record, put together when it wraps the ring */
};

static int perf_open(pid_t tid, unsigned freq, bool user)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.sample_period = 1000000000ull / freq; /* cpu-clock counts nanoseconds */
	a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN;
	a.exclude_user = !user;
	a.exclude_hv = 1;
	a.exclude_guest = 1; /* VT-x/AMD-V: a tick in guest mode is the guest's (the VMM's sampler has it) */
	a.exclude_callchain_user = 1;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.wakeup_events = 1;
	return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static int open_all(const pid_t *tids, unsigned n, unsigned freq, bool user, struct hostperf **out,
		    struct errbuf *eb)
{
	struct hostperf *hp = calloc(1, sizeof(*hp));
	int r = 0;

	if (!hp || !(hp->ev = calloc(n ? n : 1, sizeof(*hp->ev)))) {
		free(hp);
		return errbuf_set(eb, ENOMEM, "out of memory for perf events");
	}
	hp->page = (size_t)sysconf(_SC_PAGESIZE);
	for (unsigned i = 0; i < n && r == 0; i++) {
		struct hp_event *e = &hp->ev[hp->n];

		if (!tids[i])
			continue;
		e->vcpu = i;
		e->fd = perf_open(tids[i], freq, user);
		if (e->fd < 0) {
			int err = errno;
			FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
			int level = 99;

			if (f) {
				if (fscanf(f, "%d", &level) != 1)
					level = 99;
				fclose(f);
			}
			r = errbuf_set(eb, err, "perf_event_open(cpu-clock) on thread %d: %s%s", (int)tids[i],
				       strerror(err),
				       err == EACCES || err == EPERM
					       ? (level > 1 ? " (kernel samples of another process need root or "
							      "CAP_PERFMON, or kernel.perf_event_paranoid <= 1)" : "")
					       : "");
			break;
		}
		e->map_size = (1 + RING_PAGES) * hp->page;
		e->map = mmap(NULL, e->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0);
		if (e->map == MAP_FAILED) {
			r = errbuf_set(eb, errno, "mmap of vCPU %u's perf ring: %s", i, strerror(errno));
			close(e->fd);
			break;
		}
		hp->n++;
	}
	if (r < 0) {
		hostperf_close(hp);
		return r;
	}
	*out = hp;
	return 0;
}

int hostperf_open(const pid_t *tids, unsigned n, unsigned freq, struct hostperf **out, struct errbuf *eb)
{
	return open_all(tids, n, freq, false, out, eb);
}

int hostperf_open_threads(const pid_t *tids, unsigned n, unsigned freq, struct hostperf **out,
			  struct errbuf *eb)
{
	return open_all(tids, n, freq, true, out, eb);
}

/* Copies len bytes at offset off of the ring (which may wrap) into dst. */
static void ring_copy(const uint8_t *data, uint64_t size, uint64_t off, void *dst, size_t len)
{
	size_t first = (size_t)(size - off % size);

	if (first > len)
		first = len;
	memcpy(dst, data + off % size, first);
	memcpy((uint8_t *)dst + first, data, len - first);
}

size_t hostperf_drain(struct hostperf *hp,
		      void (*fn)(void *arg, unsigned vcpu, uint64_t time_ns, const uint64_t *ips, unsigned depth),
		      void *arg)
{
	size_t count = 0;

	for (unsigned i = 0; i < hp->n; i++) {
		struct hp_event *e = &hp->ev[i];
		struct perf_event_mmap_page *mp = e->map;
		const uint8_t *data = (const uint8_t *)e->map + hp->page;
		uint64_t size = (uint64_t)RING_PAGES * hp->page;
		uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE), tail = mp->data_tail;

		while (head - tail >= sizeof(struct perf_event_header)) {
			struct perf_event_header h;

			ring_copy(data, size, tail, &h, sizeof(h));
			if (h.size < sizeof(h) || h.size > head - tail) {
				tail = head; /* malformed: give the rest up rather than misread it */
				break;
			}
			ring_copy(data, size, tail, hp->rec, h.size);
			if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof(h) + 8 + 8 + 8 + 8) {
				const uint64_t *p = (const uint64_t *)(hp->rec + sizeof(h));
				uint64_t time = p[2], nr = p[3];
				uint64_t ips[HOSTPERF_DEPTH];
				unsigned depth = 0;

				/* ip, pid/tid, time, then the chain: nr entries, PERF_CONTEXT_* markers among them */
				if (nr <= (h.size - sizeof(h) - 32) / 8) {
					for (uint64_t k = 0; k < nr && depth < HOSTPERF_DEPTH; k++)
						if (p[4 + k] < (uint64_t)PERF_CONTEXT_MAX)
							ips[depth++] = p[4 + k];
					if (!depth)
						ips[depth++] = p[0];
					fn(arg, e->vcpu, time, ips, depth);
					count++;
				}
			} else if (h.type == PERF_RECORD_LOST && h.size >= sizeof(h) + 16) {
				const uint64_t *p = (const uint64_t *)(hp->rec + sizeof(h));

				hp->lost += p[1];
			}
			tail += h.size;
		}
		__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
	}
	return count;
}

uint64_t hostperf_lost(const struct hostperf *hp)
{
	return hp->lost;
}

void hostperf_close(struct hostperf *hp)
{
	if (!hp)
		return;
	for (unsigned i = 0; i < hp->n; i++) {
		munmap(hp->ev[i].map, hp->ev[i].map_size);
		close(hp->ev[i].fd);
	}
	free(hp->ev);
	free(hp);
}

/* ---- kernel symbols ---- */

struct ksym {
	uint64_t addr;
	char *name;
};

struct ksyms {
	struct ksym *v;
	size_t n;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int ksyms_load(struct ksyms **out, struct errbuf *eb)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	struct ksyms *k = calloc(1, sizeof(*k));
	size_t cap = 0;
	char line[512];

	if (!f || !k) {
		int err = f ? ENOMEM : errno;

		if (f)
			fclose(f);
		free(k);
		return errbuf_set(eb, err, "/proc/kallsyms: %s", strerror(err));
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256];

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (k->n == cap) {
			struct ksym *nv = realloc(k->v, (cap ? cap * 2 : 65536) * sizeof(*nv));

			if (!nv)
				break;
			k->v = nv;
			cap = cap ? cap * 2 : 65536;
		}
		k->v[k->n].addr = addr;
		k->v[k->n].name = strdup(name);
		if (k->v[k->n].name)
			k->n++;
	}
	fclose(f);
	if (!k->n) {
		free(k->v);
		free(k);
		return errbuf_set(eb, EPERM, "/proc/kallsyms shows no addresses (not root?)");
	}
	qsort(k->v, k->n, sizeof(k->v[0]), ksym_cmp);
	*out = k;
	return 0;
}

/* Adds one symbol; false when out of memory. */
static bool ksyms_add(struct ksyms *k, size_t *cap, uint64_t addr, const char *name)
{
	if (k->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4096;
		struct ksym *nv = realloc(k->v, nc * sizeof(*nv));

		if (!nv)
			return false;
		k->v = nv;
		*cap = nc;
	}
	k->v[k->n].addr = addr;
	k->v[k->n].name = strdup(name);
	if (!k->v[k->n].name)
		return false;
	k->n++;
	return true;
}

int ksyms_load_elf(const char *path, struct ksyms **out, struct errbuf *eb)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	size_t cap = 0;
	Elf *e;

	if (fd < 0 || !k) {
		int err = fd < 0 ? errno : ENOMEM;

		if (fd >= 0)
			close(fd);
		free(k);
		return errbuf_set(eb, err, "%s: %s", path, strerror(err));
	}
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (name && name[0] && !ksyms_add(k, &cap, sym.st_value, name))
				break;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	if (!k->n) {
		free(k->v);
		free(k);
		return errbuf_set(eb, ENOENT, "%s: no function symbols (stripped?)", path);
	}
	qsort(k->v, k->n, sizeof(k->v[0]), ksym_cmp);
	*out = k;
	return 0;
}

const char *ksyms_lookup(const struct ksyms *k, uint64_t addr, uint64_t *start, uint64_t *size)
{
	size_t lo = 0, hi = k->n;

	/* the last symbol at or below addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	*start = k->v[lo - 1].addr;
	*size = lo < k->n ? k->v[lo].addr - *start : 4096;
	if (addr - *start >= *size)
		return NULL;
	return k->v[lo - 1].name;
}

int ksyms_find(const struct ksyms *k, const char *name, uint64_t *start, uint64_t *size)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->v[i].name, name)) {
			*start = k->v[i].addr;
			*size = i + 1 < k->n ? k->v[i + 1].addr - *start : 4096;
			return 0;
		}
	return -ENOENT;
}

void ksyms_free(struct ksyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].name);
	free(k->v);
	free(k);
}
