/* SPDX-License-Identifier: MIT */
/*
 * A domain into the relocation stream and back (issue 18): what `xenith
 * save` and `xenith restore` do, in the VMM that holds the domain.  The
 * stream's format is mig/stream.h; this is what goes into it and how a
 * new VMM rebuilds the domain from it.
 *
 * Save (reloc_save), with the domain paused (synchronously, as `xenith
 * pause`) and frozen (its periodic timers hold their ticks):
 *   1. every device is quiesced: requests it took have completed and
 *      their responses are in guest memory (device.h); a device type
 *      without save, or an instance its type's check_save refuses (a vif
 *      on a dpdk port; for a live migration a tap vif too), refuses the
 *      whole save, before anything stops;
 *   2. the records: DOMAIN, CONFIG (the config as text, and the kernel
 *      image's size and CRC), VCPU per vCPU (KVM's registers, segment
 *      and control state, FPU/XSAVE, XCR0, a few MSRs, pending events;
 *      the TSC with the wall-clock time it was read at; up or down),
 *      RO_FRAMES, PAGES (every page the guest's memory holds that is not
 *      all zero, in batches), EVTCHN, GRANT, TIMER, UPCALL (a CPL-0
 *      guest's), CONSOLE, XENSTORE, DEVICE per device, END;
 *   3. with keep, the devices resume and the domain runs on (if it was
 *      running); without, the caller destroys it.  On any failure the
 *      devices resume and the domain runs on, and the error says so.
 *
 * A vCPU parks for a pause only once KVM has completed its last exit
 * (vcpu.c), so its registers are those after the instruction.  A vCPU
 * asleep in SCHEDOP_block or SCHEDOP_poll is saved with RIP on the
 * hypercall's OUT (VT-x and AMD-V KVM have not advanced it yet; PVM has,
 * and the save moves it back): after a restore it makes the hypercall
 * again, as Xen restarts a preempted one.  A poll's timeout then starts
 * again: a guest sleep that spans a save lasts longer, never shorter.  A
 * vCPU halted at CPL 0 (HLT, vcpu_halt) is woken by the pause and parks
 * past its HLT: restored, it goes on as from a wake-up, which HLT allows.
 *
 * Live migration (reloc_migrate) writes the same stream while the domain
 * runs, over a connection: migrate.c says how.
 *
 * Restore (reloc_restore_open, reloc_restore, domain_start_restored)
 * builds the domain from the saved config exactly as a boot does (memory,
 * devices connected, the store with the VMM's nodes), checks the kernel
 * image is the one saved, then replaces the guest's memory and the VMM's
 * state with the stream's, in the order written; every record is checked
 * as input from a file or a network.  The guest goes on where it stopped:
 * nothing in it runs for the restore.  What a Xen guest does on resume
 * that a Xenith guest still needs is its clock: Xenith gives the TSC the
 * value it had at the save plus the wall-clock time since (so the guest
 * sees the downtime as a gap, and no time going backwards), on the same
 * TSC frequency (a host whose TSC runs at another rate is refused).
 *
 * PV guests are saved, at CPL 3 and at CPL 0 (VT-x/AMD-V hosts; the
 * guest's IDT is in its memory, and UPCALL has the vector it registered
 * and the upcalls owed to its vCPUs).  A Linux guest's in-kernel irqchip,
 * PIT and LAPIC are not in the stream yet (refused, saying so).
 */
#ifndef XENITH_HV_RELOCATE_H
#define XENITH_HV_RELOCATE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "stream.h"

struct domain;
struct domain_opts;
struct kvm_sys;

struct reloc_save_stats {
	uint64_t pause_ns;     /* the pause: every vCPU out of the guest */
	uint64_t quiesce_ns;   /* the devices' quiesce */
	uint64_t write_ns;     /* the stream written (and synced, for a file) */
	uint64_t paused_ns;    /* from the pause request to running again (keep) or to the end of the save */
	uint64_t pages;        /* pages written */
	uint64_t zero_pages;   /* pages skipped: never touched or all zero */
	uint64_t bytes;        /* the stream's size */
};

/* d's state into the stream on fd (see above).  0 or -errno with eb; the domain runs on after a failure. */
int reloc_save(struct domain *d, int fd, bool keep, struct reloc_save_stats *st, struct errbuf *eb);

/* Live migration's sender (migrate.c says how it goes). */
struct reloc_progress {
	unsigned round;        /* 0: all of memory; then the dirty rounds */
	bool final;            /* the stop-and-copy */
	uint64_t pages;        /* sent in this round */
	uint64_t total_pages;  /* sent so far */
	uint64_t bytes;        /* the stream so far */
	uint64_t dirty;        /* the dirty log's pages this round answered */
	double rate_mbs;       /* this round's pages, in MB/s */
	double est_downtime_ms; /* what stopping now would cost at that rate */
};

struct reloc_migrate_opts {
	uint64_t downtime_ns;  /* stop and copy once the dirty pages would go in this long */
	unsigned max_rounds;   /* and at the latest after this many dirty rounds */
	/* Called after each round, from the migrating thread; NULL: none. */
	void (*progress)(void *opaque, const struct reloc_progress *p);
	void *opaque;
};

struct reloc_migrate_stats {
	unsigned rounds;       /* dirty rounds after round 0 */
	bool converged;        /* stopped because the rest fitted the downtime target */
	bool ambiguous;        /* GO went out, DONE did not come back: the domain stays paused here */
	uint64_t pages, bytes; /* all pages sent (a page may go more than once); the stream's size */
	uint64_t last_dirty;   /* the dirty log's pages in the last pre-copy round */
	uint64_t final_dirty;  /* the dirty log's pages at the stop */
	uint64_t final_pages;  /* pages sent in the stop-and-copy (dirty, and the VMM's own writes) */
	uint64_t swept_pages;  /* of those, found by hash: written by the VMM behind KVM's log */
	uint64_t precopy_ns, stop_copy_ns;
	uint64_t downtime_ns;  /* from the pause to the receiver's DONE */
	uint64_t total_ns;
	uint32_t dirty_ring;   /* KVM's dirty ring, entries per vCPU; 0: its dirty bitmap */
	uint64_t ring_full_exits; /* vCPU exits for a full ring during the migration */
};

/*
 * Migrates running domain d over fd (a connected socket) to a receiver.
 * 0: the receiver runs the domain; the caller ends it here (it is paused).
 * -errno with eb: it runs on here, unless st->ambiguous (paused, see
 * migrate.c).
 */
int reloc_migrate(struct domain *d, int fd, const struct reloc_migrate_opts *o, struct reloc_migrate_stats *st,
		  struct errbuf *eb);
/*
 * A domain a migration left paused (the receiver never confirmed, or the
 * disks' locks could not be taken back): its disks' locks taken again,
 * devices resumed, timers let go, before `xenith unpause` lets it run.
 * 0 (also for any other domain), or -errno with eb: it stays paused.
 */
int reloc_release(struct domain *d, struct errbuf *eb);
/* The receiver's side of the handshake: a line out ("READY\n", "DONE\n", "ERROR why\n"); 0 or -errno. */
int reloc_handshake_reply(int fd, const char *line);
/* Waits up to ms for a line: 0 when it is want, -EPROTO (got holds it), -ETIMEDOUT, -EPIPE or -errno. */
int reloc_handshake_wait(int fd, const char *want, unsigned ms, char *got, size_t size);

/* What reloc_restore_open found at the head of a stream. */
struct reloc_head {
	struct mig_domain dom;
	uint64_t image_size;
	uint32_t image_crc;
};

/*
 * Opens the stream on fd and reads its DOMAIN and CONFIG records: the
 * config to build the domain from (paths as saved) into *cfg.  0 or
 * -errno with eb, naming the record and what is wrong.
 */
int reloc_restore_open(struct mig_reader *r, int fd, struct domain_config *cfg, struct reloc_head *head,
		       struct errbuf *eb);

/* reloc_restore_open's second half: DOMAIN and CONFIG from a reader already open (a stream in memory). */
int reloc_read_head(struct mig_reader *r, struct domain_config *cfg, struct reloc_head *head, struct errbuf *eb);

struct reloc_restore_stats {
	uint64_t build_ns;     /* domain_create from the saved config */
	uint64_t load_ns;      /* the rest of the stream into the domain */
	uint64_t pages;
};

/*
 * Builds the domain from cfg (which reloc_restore_open read; the caller
 * may have resolved it, not changed it) and loads the rest of the stream
 * into it; *out is a domain that has not run, to start with
 * domain_start_restored().  0 or -errno with eb (nothing left behind).
 */
int reloc_restore(struct mig_reader *r, const struct domain_config *cfg, const struct reloc_head *head,
		  const struct domain_opts *opts, struct kvm_sys *kvm, uint32_t domid, struct domain **out,
		  struct reloc_restore_stats *st, struct errbuf *eb);
/*
 * As reloc_restore, calling built(opaque) once the domain is built, before
 * the records after CONFIG are read (a migration's receiver tells the
 * sender then: the build is not downtime).
 */
int reloc_restore_cb(struct mig_reader *r, const struct domain_config *cfg, const struct reloc_head *head,
		     const struct domain_opts *opts, struct kvm_sys *kvm, uint32_t domid, struct domain **out,
		     struct reloc_restore_stats *st, void (*built)(void *opaque), void *opaque,
		     struct errbuf *eb);

/*
 * reloc_restore's second half: the records after CONFIG, up to END, into d
 * (built from the saved config; its memory is zeroed first), each checked;
 * *pages counts the pages loaded.  Also what the relocate fuzz target
 * feeds an unbacked domain.  0 or -errno with eb naming the record.
 */
int reloc_load_records(struct domain *d, struct mig_reader *r, uint64_t *pages, struct errbuf *eb);

/* Starts a restored domain: its TSCs set, the vCPUs that were up run on, devices resumed. */
int domain_start_restored(struct domain *d, struct errbuf *eb);

#endif
