/* SPDX-License-Identifier: MIT */
/*
 * The VMM's side of xenoprof: what each vCPU counts all the time, and
 * sampling while a `xenith prof record` client is attached.
 *
 * Counting (always on, written only by the vCPU's thread, read by others
 * with relaxed loads): exits per KVM exit reason and hypercalls per op;
 * while a profile is recorded also the time the VMM spent on each, the
 * time in KVM_RUN and the time blocked.
 *
 * Sampling: one POSIX timer per vCPU thread (CLOCK_MONOTONIC, so idle time
 * is sampled too) sends SIGPROF to that thread.  The handler looks at
 * where the thread is (struct vcpu's `where`):
 *   - in KVM_RUN: it sets immediate_exit and a flag; KVM_RUN returns EINTR
 *     (at once, if the thread was about to enter it), and the run loop takes
 *     a guest sample: RIP and a frame-pointer stack read from guest memory
 *     through the guest's page tables (xenoprof/unwind.h);
 *   - handling an exit, blocked or parked: the handler records the sample
 *     itself (hypervisor, with the exit reason or hypercall, or idle), with
 *     the guest's stack as of the exit.
 * Samples go to a per-vCPU ring (single writer: the vCPU thread, in the
 * loop or in the handler; single reader: the recording client's control
 * thread).  The loop marks its own ring writes, and a signal that lands
 * during one is counted as lost rather than written over it.
 *
 * One recording at a time per domain (prof_session_start refuses a second).
 */
#ifndef XENITH_HV_PROF_H
#define XENITH_HV_PROF_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "profile.h"
#include "xenith/abi.h"

#define PROF_EXIT_MAX 64       /* KVM exit reasons counted one by one; the rest in the last */
#define PROF_DEPTH 32          /* frames a sample keeps */
#define PROF_RING_SLOTS 256    /* a recording client drains every 20 ms: 5 s of samples at 50 Hz... 12 s at 20 */
#define PROF_FREQ_MIN 1
#define PROF_FREQ_MAX 5000
#define PROF_FREQ_DEFAULT 1000

struct prof_counts {
	uint64_t exits[PROF_EXIT_MAX], exit_ns[PROF_EXIT_MAX];
	uint64_t hcalls[XENITH_HYPERCALL_MAX], hcall_ns[XENITH_HYPERCALL_MAX];
	uint64_t guest_ns, idle_ns;
	uint64_t evtchn_sends;     /* EVTCHNOP_send by this vCPU */
};

/* A sample record with room for PROF_DEPTH addresses in its ips[] (no struct with a flexible member inside another). */
union prof_slot {
	struct xp_rec_sample s;
	uint8_t room[sizeof(struct xp_rec_sample) + PROF_DEPTH * sizeof(uint64_t)];
};

struct prof_ring {
	_Atomic uint32_t head;     /* written by the vCPU thread */
	_Atomic uint32_t tail;     /* written by the reader */
	_Atomic uint64_t lost;
	union prof_slot slot[PROF_RING_SLOTS];
};

/* Guest paging state as of the vCPU's last guest sample (for stacks taken in the handler). */
struct prof_sregs {
	uint64_t cr0, cr3, cr4, efer;
	bool valid;
};

struct vcpu_prof {
	struct prof_counts c;
	_Atomic bool sampling;           /* a recording is on: the handler records */
	struct prof_ring *ring;          /* allocated at the first recording, freed with the vCPU */
	uint64_t t0_ns;                  /* the recording's start (sample times are relative to it) */
	pid_t tid;                       /* the vCPU thread's, for its timer */
	int stats_fd;                    /* KVM_GET_STATS_FD of the vCPU, -1 if none */
	volatile sig_atomic_t guest_pending; /* the handler asked the loop for a guest sample */
	volatile sig_atomic_t in_write;  /* the loop is writing a slot */
	uint32_t cur_hcall;              /* op + 1 of the hypercall being handled, 0 = none */
	uint64_t exit_idle_ns;           /* blocked time inside the exit being handled (timing) */
	struct prof_sregs sregs;
};

struct vcpu;
struct domain;

/* Installs the SIGPROF handler; once per process (vcpu_global_init). */
int prof_global_init(struct errbuf *eb);
/* The vCPU thread, first thing: records its thread id and unblocks SIGPROF. */
void prof_vcpu_thread_start(struct vcpu *v);
/* The run loop, after KVM_RUN returned EINTR: takes the guest sample the handler asked for. */
void prof_guest_sample(struct vcpu *v);
/* The vCPU was created (vcpu_init): opens its KVM statistics. */
void prof_vcpu_init(struct vcpu *v);
/* Frees what the vCPU's recording state holds (vcpu_fini). */
void prof_vcpu_fini(struct vcpu *v);

/* A counter of the vCPU's own (the only writer), readable by others with relaxed loads. */
static inline void prof_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}
/* The run loop: dt ns spent handling an exit of this reason (less the time blocked in it). */
void prof_exit_time(struct vcpu *v, unsigned reason, uint64_t dt);
/* kind_pv: a hypercall op is about to be dispatched (counted; named in samples meanwhile). */
void prof_hypercall(struct vcpu *v, uint32_t op);

/* Whether the run loop should time exits (a recording is on); a relaxed load. */
bool prof_timing(const struct domain *d);

/* Blocked time (sched_op block/poll, HLT): call around the wait, from the vCPU thread. */
uint64_t prof_idle_begin(const struct vcpu *v);
void prof_idle_end(struct vcpu *v, uint64_t t0);

/* ---- a recording, driven by the control thread serving `xenith prof record` ---- */

struct prof_session;

/*
 * Starts sampling every vCPU of d at freq Hz: -EBUSY if a recording is on
 * already, -ERANGE for a frequency outside [PROF_FREQ_MIN, PROF_FREQ_MAX],
 * -ENOMEM, or a timer's error; each with a message.
 */
int prof_session_start(struct domain *d, unsigned freq, struct prof_session **out, struct errbuf *eb);
/*
 * Moves the samples taken so far into buf as XP_REC_SAMPLE records (dom 0):
 * the bytes written (0 when none; at most size, never a partial record).
 */
size_t prof_session_drain(struct prof_session *s, void *buf, size_t size);
/* True once the domain's vCPUs went away (ended or restarted): the session only drains. */
bool prof_session_detached(struct prof_session *s);
/*
 * Stops sampling and writes the closing records into buf: per vCPU
 * XP_REC_COUNTERS (what changed over the recording), XP_REC_KVMSTAT (KVM's
 * statistics that changed), a XP_REC_DOMEND when the domain ended or
 * restarted meanwhile, and XP_REC_END.  Returns the bytes written; frees s.
 */
size_t prof_session_finish(struct prof_session *s, void *buf, size_t size);
/* Upper bound of prof_session_finish()'s output for d. */
size_t prof_session_finish_size(const struct prof_session *s);

/*
 * The reply line that opens a recording's stream: {"ok":true,"name":...,
 * "domid":...,"vcpus":...,"kind":"pv"|"linux","image":...,"freq":...,
 * "pid":... (the VMM's),"tids":[...] (each vCPU's thread)}, newline
 * included.  0, or -ENOSPC.
 */
int prof_header_json(struct domain *d, unsigned freq, char *buf, size_t size);
/* The guest image's functions as XP_REC_SYMBOL records (dom 0), malloc'd; NULL with *len 0 when none. */
uint8_t *prof_symbol_records(struct domain *d, size_t *len);
/*
 * The `stats` reply line: {"ok":true,"vcpus":[{"exits":..,"hypercalls":..,
 * "evtchn_sends":..},...],"evtchn_raised":..}: counts since the domain
 * (re)started.  The length, or -1 when it does not fit.
 */
int prof_stats_json(struct domain *d, char *buf, size_t size);

/*
 * Called by domain teardown before the vCPUs go (a restart or the end): a
 * recording in progress keeps the counters as they are now and stops.
 */
void prof_domain_detach(struct domain *d, const char *why);

#endif
