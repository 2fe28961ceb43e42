/* SPDX-License-Identifier: MIT */
/*
 * The profile file of `xenith prof record` (and the record stream a VMM
 * sends over its control socket while it is profiled).
 *
 * A file is a header followed by records.  Every integer is little-endian
 * (the hosts are x86-64) and every record starts with struct xp_rec and is
 * a multiple of 8 bytes long, so that each field is naturally aligned.  A
 * reader skips records of a type it does not know (a newer writer); it
 * refuses a file whose header is not this one (foreign), whose records
 * run past the end or are malformed (corrupt), or that has no XP_REC_END
 * (truncated: the recording did not finish).
 *
 * dom in a record is the index of the domain in the file (the order of
 * their XP_REC_DOMAIN records, from 0); in the VMM's stream it is 0, and
 * `xenith prof record` renumbers it.
 */
#ifndef XENITH_XENOPROF_PROFILE_H
#define XENITH_XENOPROF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define XP_MAGIC "XENPROF\n"
#define XP_VERSION 1u

struct xp_header {
	char magic[8];         /* XP_MAGIC */
	uint32_t version;      /* XP_VERSION */
	uint32_t header_size;  /* sizeof(struct xp_header) */
	uint64_t start_unix_ns;/* CLOCK_REALTIME when recording started (for people) */
	uint32_t freq_hz;      /* sampling frequency asked for (per vCPU) */
	uint32_t flags;        /* 0 */
	char host[32];         /* the host's name, NUL-terminated */
};
_Static_assert(sizeof(struct xp_header) == 64, "header layout");

enum xp_rec_type {
	XP_REC_DOMAIN = 1,   /* struct xp_rec_domain */
	XP_REC_SYMBOL = 2,   /* struct xp_rec_symbol + name */
	XP_REC_SAMPLE = 3,   /* struct xp_rec_sample + ips[depth] */
	XP_REC_COUNTERS = 4, /* struct xp_rec_counters + entries[nr] */
	XP_REC_KVMSTAT = 5,  /* struct xp_rec_kvmstat + name */
	XP_REC_NOTE = 6,     /* struct xp_rec_note + text */
	XP_REC_DOMEND = 7,   /* struct xp_rec_note + text: the domain ended during the recording */
	XP_REC_END = 8,      /* struct xp_rec_end: the last record of a complete file */
};

struct xp_rec {
	uint16_t type;         /* enum xp_rec_type */
	uint16_t flags;        /* 0 */
	uint32_t size;         /* bytes, this header included; a multiple of 8, at least 8 */
};

#define XP_NAME_MAX 64
#define XP_PATH_MAX 256

enum xp_guest_kind { XP_KIND_PV = 0, XP_KIND_LINUX = 1 };

struct xp_rec_domain {
	struct xp_rec h;
	uint32_t dom;          /* index in the file */
	uint32_t domid;
	uint32_t nr_vcpus;
	uint32_t kind;         /* enum xp_guest_kind */
	char name[XP_NAME_MAX];  /* NUL-terminated */
	char image[XP_PATH_MAX]; /* the guest image's path, NUL-terminated (for people) */
};

/* A guest function: [addr, addr + size).  Names a guest address in the report. */
struct xp_rec_symbol {
	struct xp_rec h;
	uint32_t dom;
	uint32_t pad;
	uint64_t addr;
	uint64_t size;
	char name[];           /* NUL-terminated, then zero padding to the record's size */
};

/* Where a sample found its vCPU. */
enum xp_where {
	XP_WHERE_GUEST = 0,    /* running guest code: ips are guest-virtual, ips[0] the RIP */
	XP_WHERE_HV = 1,       /* in the VMM handling an exit: detail says which */
	XP_WHERE_IDLE = 2,     /* blocked (sched_op block/poll, HLT) or parked (down, paused) */
	XP_WHERE_BACKEND = 3,  /* a backend thread of the domain's VMM: ips are host addresses */
	/*
	 * The vCPU thread in the host kernel (KVM's own work for it: exits it
	 * handles, emulation, the world switch), sampled by perf on CPU time
	 * (xenoprof/hostperf.h): ips are kernel addresses.  The VMM's sampler
	 * counted this time as XP_WHERE_GUEST: a report moves it over.
	 */
	XP_WHERE_KVM = 4,
	XP_WHERE_NR
};

/*
 * detail of an XP_WHERE_HV sample and kind of a counter: a class in the
 * top 8 bits, a number below.
 */
#define XP_DETAIL(cls, n) (((uint32_t)(cls) << 24) | ((uint32_t)(n) & 0xffffff))
#define XP_DETAIL_CLASS(d) ((d) >> 24)
#define XP_DETAIL_NUM(d) ((d) & 0xffffff)
enum xp_detail_class {
	XP_CLASS_NONE = 0,
	XP_CLASS_EXIT = 1,     /* a KVM exit reason (KVM_EXIT_*) handled in the VMM */
	XP_CLASS_HCALL = 2,    /* a hypercall (__HYPERVISOR_* op number) */
};

#define XP_MAX_DEPTH 64

struct xp_rec_sample {
	struct xp_rec h;
	uint32_t dom;
	uint16_t vcpu;         /* for XP_WHERE_BACKEND: the backend thread's index (XP_REC_NOTE names it) */
	uint8_t where;         /* enum xp_where */
	uint8_t depth;         /* entries in ips, at most XP_MAX_DEPTH; 0 allowed (no address) */
	uint32_t detail;       /* XP_WHERE_HV: XP_DETAIL(...); else 0 */
	uint32_t weight;       /* samples this record stands for (>= 1) */
	uint64_t time_ns;      /* since the start of the recording */
	uint64_t ips[];        /* innermost first */
};

/* Counts and time per exit reason and hypercall of one vCPU over the recording. */
struct xp_counter {
	uint32_t kind;         /* XP_DETAIL(XP_CLASS_EXIT or XP_CLASS_HCALL, n) */
	uint32_t pad;
	uint64_t count;
	uint64_t time_ns;      /* time spent in the VMM handling them */
};
struct xp_rec_counters {
	struct xp_rec h;
	uint32_t dom;
	uint16_t vcpu;
	uint16_t nr;           /* entries */
	uint64_t guest_ns;     /* time in KVM_RUN */
	uint64_t idle_ns;      /* time blocked or parked */
	uint64_t samples_lost; /* samples the vCPU could not record (its buffer was full) */
	struct xp_counter c[];
};

/* One of KVM's own statistics (KVM_GET_STATS_FD), its change over the recording. */
struct xp_rec_kvmstat {
	struct xp_rec h;
	uint32_t dom;
	int32_t vcpu;          /* -1: the VM's */
	uint64_t value;
	char name[];           /* NUL-terminated, padded */
};

/* A line for people: an event that was unavailable and its fallback, a backend thread's name, ... */
struct xp_rec_note {
	struct xp_rec h;
	uint32_t dom;          /* UINT32_MAX: not about one domain */
	uint32_t pad;
	char text[];           /* NUL-terminated, padded */
};

struct xp_rec_end {
	struct xp_rec h;
	uint64_t duration_ns;
	uint64_t nr_samples;   /* sample records written */
	uint64_t nr_lost;      /* samples lost (vCPU buffers full, stream behind) */
};

/*
 * A backend thread's name: a note of its domain with the text
 * "backend thread N: NAME" (xp_make_thread_note writes one) names the
 * thread whose XP_WHERE_BACKEND samples carry vcpu N.
 */
#define XP_THREAD_NOTE "backend thread "

/* ---- writing a profile ---- */

struct xp_writer;

/*
 * Fills a header: magic, version, header_size, the host's name (truncated
 * to fit), the sampling frequency and the start time.
 */
void xp_header_init(struct xp_header *h, const char *host, uint32_t freq_hz, uint64_t start_unix_ns);

/*
 * Starts a profile at path: writes to "path.tmp", which a successful
 * xp_writer_close renames to path, so a recording that dies never leaves a
 * half file under the final name.  magic, version and header_size are the
 * writer's own; the rest of h is written as given.  0 or -errno (a path
 * whose directory does not exist is refused, saying so).
 */
int xp_writer_open(const char *path, const struct xp_header *h, struct xp_writer **out, struct errbuf *eb);
/*
 * Appends one record (rec starts with struct xp_rec; rec->h.size bytes).
 * It is checked as the reader checks it: a record the reader would refuse
 * (bad size, a dom not declared before it, a sample of depth 70, ...) is
 * refused here with the reader's message and not written.  XP_REC_END is
 * xp_writer_close's.  0 or -errno; after a failure to write, only
 * xp_writer_abort is left.
 */
int xp_write(struct xp_writer *w, const void *rec, struct errbuf *eb);
/*
 * Writes the end record (end->duration_ns and end->nr_lost as given; its
 * h and nr_samples are the writer's: the sample records it wrote), syncs
 * the file and renames it to its final path.  w is freed, also on failure,
 * which removes the temporary file.  0 or -errno.
 */
int xp_writer_close(struct xp_writer *w, const struct xp_rec_end *end, struct errbuf *eb);
/* Gives up: closes and removes the temporary file, frees w.  NULL is allowed. */
void xp_writer_abort(struct xp_writer *w);

/*
 * Builders of the variable-size records into buf (any alignment): each
 * returns the record's size, or 0 if it does not fit in size bytes (or
 * type is not XP_REC_NOTE or XP_REC_DOMEND, depth > XP_MAX_DEPTH).
 */
size_t xp_make_symbol(void *buf, size_t size, uint32_t dom, uint64_t addr, uint64_t len, const char *name);
size_t xp_make_note(void *buf, size_t size, uint16_t type, uint32_t dom, const char *text);
size_t xp_make_thread_note(void *buf, size_t size, uint32_t dom, unsigned thread, const char *name);
size_t xp_make_kvmstat(void *buf, size_t size, uint32_t dom, int32_t vcpu, uint64_t value, const char *name);
/* The size of a sample record of depth addresses, a counters record of nr entries; 0 if too many. */
size_t xp_sample_size(unsigned depth);
size_t xp_counters_size(unsigned nr);

/* ---- reading a profile ---- */

struct xp_symbol {
	uint64_t addr, size;   /* [addr, addr + size) */
	const char *name;
};

struct xp_thread {
	unsigned index;        /* the vcpu field of its XP_WHERE_BACKEND samples */
	const char *name;
};

/* A vCPU's COUNTERS records, added up (a vCPU may have several: they add). */
struct xp_vcpu_counters {
	unsigned records;      /* COUNTERS records of this vCPU (0: none) */
	uint64_t guest_ns, idle_ns, samples_lost;
	struct xp_counter *c;  /* one entry per kind, sorted by kind */
	size_t nr;
};

struct xp_domain {
	const struct xp_rec_domain *rec;          /* name, domid, nr_vcpus, kind, image */
	struct xp_symbol *symbols;                /* sorted by address */
	size_t nr_symbols;
	const struct xp_rec_sample **samples;     /* in the file's order */
	size_t nr_samples;
	struct xp_vcpu_counters *vcpus;           /* [rec->nr_vcpus] */
	const struct xp_rec_kvmstat **kvmstats;
	size_t nr_kvmstats;
	const struct xp_rec_note **notes;         /* XP_REC_NOTE records of the domain */
	size_t nr_notes;
	const char *domend;                       /* the last XP_REC_DOMEND's text, or NULL */
	struct xp_thread *threads;                /* backend threads named by notes, sorted by index */
	size_t nr_threads;
};

/*
 * A parsed profile.  Records are checked and indexed, not copied: the
 * pointers point into the data given to xp_parse (which must outlive the
 * profile) or into the file xp_load mapped (which xp_free unmaps).
 */
struct xp_profile {
	struct xp_header header;
	struct xp_domain *domains;                /* [nr_domains], indexed by dom */
	size_t nr_domains;
	const struct xp_rec_note **notes;         /* notes not about one domain (dom UINT32_MAX) */
	size_t nr_notes;
	struct xp_rec_end end;
	size_t nr_records;                        /* after the header, the end record included */
	/* private */
	void *map;                                /* xp_load's mapping */
	size_t map_size;
	void *copy;                               /* xp_parse's aligned copy of misaligned data */
};

/*
 * Checks and indexes a profile in memory.  0 with *out set, or -errno with
 * a message saying what is wrong and where (-EINVAL: not a profile, another
 * version, corrupt or truncated).  Safe on any input; linear in its size
 * (symbols sorted: n log n).
 */
int xp_parse(const void *data, size_t size, struct xp_profile **out, struct errbuf *eb);
/* Maps the file at path and parses it; messages start with the path. */
int xp_load(const char *path, struct xp_profile **out, struct errbuf *eb);
void xp_free(struct xp_profile *p);

/* The symbol of d that holds addr ([addr, addr + size)), or NULL. */
const struct xp_symbol *xp_symbol_at(const struct xp_domain *d, uint64_t addr);
/*
 * The name of the symbol of domain dom that holds addr, with addr's offset
 * in it in *off (if off is not NULL); NULL if none does.
 */
const char *xp_symbolize(const struct xp_profile *p, uint32_t dom, uint64_t addr, uint64_t *off);
/* The name of backend thread index of domain dom, or NULL if no note names it. */
const char *xp_thread_name(const struct xp_profile *p, uint32_t dom, unsigned index);

#endif
