/* SPDX-License-Identifier: MIT */
/*
 * The relocation stream: what `xenith save` writes and `xenith restore`
 * and `xenith migrate-receive` read (issue 18).  Modelled on Xen's
 * migration stream v2 (libxc-migration-stream): an image header, then
 * records, each {type, length, checksum} and a body padded to 8 bytes,
 * the last one END.  All integers are little-endian, as the hosts are.
 *
 * Image header, 32 bytes:
 *   0   char[8]  magic "XENITHMS"
 *   8   u32      version (MIG_VERSION)
 *   12  u32      byte-order mark 0x01020304, as the writer's CPU stores it
 *   16  u32      header size (32; a later version may make it larger)
 *   20  u32      flags (none defined: 0)
 *   24  u64      reserved (0)
 *
 * Record, 16 bytes then the body:
 *   0   u32      type; bit 31 (MIG_REC_OPTIONAL) marks a record a reader
 *                that does not know the type may skip
 *   4   u32      body length in bytes (at most MIG_REC_MAX_BODY), padding excluded
 *   8   u32      CRC-32C (Castagnoli) of the body
 *   12  u32      reserved (0)
 *   16  body, then zero bytes up to the next multiple of 8
 *
 * Record types (bodies: the structs below; "..." ones are defined with
 * the code that writes them, in the same version):
 *   END       0  empty; the last record
 *   DOMAIN    1  struct mig_domain: first, once
 *   VCPU      2  a vCPU's registers and state
 *   PAGES     3  struct mig_pages_hdr, count u64 frame numbers (strictly
 *                increasing, each below the domain's memory), then count
 *                pages of 4096 bytes in that order; count 1..MIG_PAGES_MAX
 *   EVTCHN    4  the event-channel table
 *   GRANT     5  the grant table's place and size
 *   TIMER     6  periodic timers
 *   DEVICE    7  one device's state (its type's save hook)
 *   XENSTORE  8  the domain's store
 *   CONSOLE   9  the console's partial line
 *   CONFIG   10  the domain's config as config-file text, after the kernel
 *                image's size and CRC-32C (struct mig_config_hdr)
 *   RO_FRAMES 11 the frames the guest maps read-only (a bitmap)
 *   UPCALL   12 a CPL-0 guest's upcall vector and the vCPUs' owed upcalls;
 *                written with MIG_REC_OPTIONAL (a reader of this version
 *                that predates it refuses a CPL-0 domain's CONFIG first)
 *
 * How versions evolve: a change that an older reader can ignore is a new
 * record type with MIG_REC_OPTIONAL, in the same version.  Anything else
 * (a new mandatory record, a changed body, a changed header) is a new
 * version; a reader refuses a version other than its own, naming both,
 * and a mandatory record type it does not know, naming it.
 *
 * Reading is strict, since a stream may come off a network from another
 * host: magic, version, byte order, header size and reserved fields;
 * each record's length bound, checksum and zero padding; END last and
 * empty; typed bodies by their parsers.  Errors name the record's number,
 * its offset in the stream, its type and what is wrong.
 */
#ifndef XENITH_MIG_STREAM_H
#define XENITH_MIG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MIG_MAGIC "XENITHMS"
#define MIG_VERSION 1u
#define MIG_BYTE_ORDER 0x01020304u
#define MIG_HEADER_SIZE 32u
#define MIG_REC_HEADER_SIZE 16u
#define MIG_REC_OPTIONAL 0x80000000u
#define MIG_REC_MAX_BODY (8u << 20)
#define MIG_PAGE_SIZE 4096u
#define MIG_PAGES_MAX 1024u /* pages per PAGES record: 4 MiB and the frame list */

enum mig_rec_type {
	MIG_REC_END = 0,
	MIG_REC_DOMAIN = 1,
	MIG_REC_VCPU = 2,
	MIG_REC_PAGES = 3,
	MIG_REC_EVTCHN = 4,
	MIG_REC_GRANT = 5,
	MIG_REC_TIMER = 6,
	MIG_REC_DEVICE = 7,
	MIG_REC_XENSTORE = 8,
	MIG_REC_CONSOLE = 9,
	MIG_REC_CONFIG = 10,
	MIG_REC_RO_FRAMES = 11,
	MIG_REC_UPCALL = 12,
	MIG_REC_NR_TYPES
};

struct mig_header {
	char magic[8];
	uint32_t version;
	uint32_t byte_order;
	uint32_t header_size;
	uint32_t flags;
	uint64_t reserved;
};
_Static_assert(sizeof(struct mig_header) == MIG_HEADER_SIZE, "stream header");

struct mig_rec_header {
	uint32_t type;
	uint32_t length;
	uint32_t checksum;
	uint32_t reserved;
};
_Static_assert(sizeof(struct mig_rec_header) == MIG_REC_HEADER_SIZE, "record header");

/* DOMAIN: what the domain is; the rest of the stream is read against it. */
#define MIG_NAME_MAX 64u
struct mig_domain {
	uint32_t abi_version;  /* the guest ABI (XENITH_ELFNOTE_ABI_VERSION) */
	uint32_t kind;         /* 0 pv, 1 linux */
	uint32_t nr_vcpus;     /* 1..XENITH_MAX_VCPUS */
	uint32_t domid;        /* 1..0x7fef: the guest knows itself by it (start_info, its store paths) */
	uint64_t mem_size;     /* bytes, a multiple of MIG_PAGE_SIZE */
	uint64_t tsc_khz;
	char name[MIG_NAME_MAX]; /* NUL-terminated */
};
_Static_assert(sizeof(struct mig_domain) == 96, "DOMAIN body");

struct mig_pages_hdr {
	uint32_t count;
	uint32_t pad;          /* 0 */
};

/* One record as read: body (never NULL) points into the reader's buffer until the next mig_next(). */
struct mig_record {
	uint32_t type;         /* with MIG_REC_OPTIONAL as the stream had it */
	uint32_t length;
	const uint8_t *body;
	unsigned index;        /* 0 for the first record */
	uint64_t offset;       /* of its header in the stream */
	bool placed;           /* PAGES whose pages are in place (mig_reader_place_pages) */
};

/* CRC-32C of len bytes, continuing from crc (0 to start). */
uint32_t mig_crc32c(uint32_t crc, const void *data, size_t len);
/* The same without SSE4.2's crc32 instruction (what mig_crc32c uses on a CPU without it); for tests. */
uint32_t mig_crc32c_sw(uint32_t crc, const void *data, size_t len);

/* The type's name ("PAGES"), or "type N" for one this version does not know. */
const char *mig_rec_name(uint32_t type);

/* ---- writing ---- */

struct mig_writer {
	int fd;
	uint64_t offset;       /* bytes written */
	unsigned nr_records;
};

/* Writes the image header to fd.  0 or -errno with eb. */
int mig_writer_start(struct mig_writer *w, int fd, struct errbuf *eb);
/*
 * One record whose body is the concatenation of n pieces (a PAGES record:
 * its header, frame list and pages, without copying them together).
 */
int mig_write_record(struct mig_writer *w, uint32_t type, const void *const *pieces, const size_t *lens,
		     unsigned n, struct errbuf *eb);
/* The END record. */
int mig_writer_end(struct mig_writer *w, struct errbuf *eb);

/* ---- reading ---- */

struct mig_reader {
	int fd;                /* -1: reading the memory below */
	const uint8_t *mem;
	size_t mem_size;
	uint64_t offset;       /* bytes consumed */
	uint8_t *body;         /* fd: the current record's body (grown as needed) */
	size_t cap;
	unsigned nr_records;   /* records read, skipped ones included */
	unsigned nr_skipped;   /* optional records of unknown type */
	bool ended;            /* END was read */
	struct mig_header header;
	uint8_t *place_base;   /* mig_reader_place_pages: where PAGES go, or NULL */
	uint64_t place_pfns;
};

/* Reads and checks the image header from fd, or from size bytes at mem. */
int mig_reader_open_fd(struct mig_reader *r, int fd, struct errbuf *eb);
int mig_reader_open_mem(struct mig_reader *r, const void *mem, size_t size, struct errbuf *eb);
/*
 * The next record: 1 and *rec, or 0 once END was read (and at every call
 * after it), or -errno with eb.  An optional record of a type this version
 * does not know is skipped; an unknown mandatory one is -EPROTO.
 */
int mig_next(struct mig_reader *r, struct mig_record *rec, struct errbuf *eb);
void mig_reader_close(struct mig_reader *r);
/*
 * From now on a PAGES record's pages go from the descriptor straight to
 * base + frame * MIG_PAGE_SIZE (frames below max_pfn), not through the
 * reader's buffer: a restore's pages are read once, into guest memory,
 * and not copied there again (for a small domain that was a third of its
 * load; at a migration's stop, it is downtime).  The record's header and
 * frames are checked as mig_parse_pages checks them before a page is
 * read; its checksum can only be checked once the pages are in place, so
 * a corrupt record has written memory, which the load that fails with it
 * then throws away.  Such a record comes out of mig_next with `placed`
 * set and its header and frames as its body.  base NULL: back to the
 * buffer.  A reader from memory ignores this (its records are in memory).
 */
void mig_reader_place_pages(struct mig_reader *r, uint8_t *base, uint64_t max_pfn);

/* ---- typed bodies ---- */

/* DOMAIN: length, a name that is a NUL-terminated string, vCPUs 1..max_vcpus, memory in pages, a guest's domid. */
int mig_parse_domain(const struct mig_record *rec, unsigned max_vcpus, struct mig_domain *out,
		     struct errbuf *eb);
/*
 * PAGES: count 1..MIG_PAGES_MAX, pad 0, length exactly header + frames +
 * pages, frames strictly increasing and below max_pfn.  The frames are
 * copied to pfns (room for MIG_PAGES_MAX); *data points at the first page
 * in the record's body, or is NULL for a record whose pages were placed.
 */
int mig_parse_pages(const struct mig_record *rec, uint64_t max_pfn, uint32_t *count, uint64_t *pfns,
		    const uint8_t **data, struct errbuf *eb);

#endif
