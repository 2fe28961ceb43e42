/* SPDX-License-Identifier: MIT */
/*
 * A domain: guest memory, its vCPUs, event channels and console, and the
 * lifecycle the toolstack drives (pause, unpause, shutdown, destroy).
 *
 * Threads: one per running vCPU, plus whoever calls the domain_* control
 * functions (the CLI's main thread, the control-socket thread).  d->lock
 * protects the state machine; d->state_cond announces state changes.
 */
#ifndef XENITH_HV_DOMAIN_H
#define XENITH_HV_DOMAIN_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "console.h"
#include "elfload.h"
#include "err.h"
#include "evtchn.h"
#include "grant.h"
#include "iobus.h"
#include "kvm.h"
#include "memmap.h"
#include "prof.h"
#include "xenith/console.h"
#include "xenith/shared_info.h"
#include "xenith/start_info.h"

enum domain_state {
	DOMAIN_BUILT,    /* memory and vCPUs ready, nothing ran yet */
	DOMAIN_RUNNING,
	DOMAIN_PAUSED,
	DOMAIN_SHUTDOWN, /* the guest asked: poweroff, reboot (see shutdown_reason) */
	DOMAIN_CRASHED,  /* triple fault, failed GUEST_ASSERT, KVM error, ... */
	DOMAIN_DESTROYED,/* ended by the toolstack or a timeout */
};

const char *domain_state_name(enum domain_state s);

/* Guest physical layout chosen by the builder (see builder.c). */
struct domain_layout {
	uint64_t start_info, shared_info, console, gdt;
	uint64_t xenstore;            /* the store's ring page (PV guests) */
	uint64_t image_start, image_end;
	uint64_t pt_base, nr_pt_pages;
	uint64_t stack_base, stack_stride, stack_guard;
	uint64_t free_start, free_end;
};

/*
 * The device window: guest-physical space above RAM where passed-through
 * BARs are placed (builder_device_window), identity-mapped uncached in a
 * PV guest's page tables.  Starts at the first 2 MiB boundary at or above
 * the end of RAM; empty (size 0) for most domains.
 */
#define DEVWIN_ALIGN (2ull << 20)
#define DEVWIN_MAX (256ull << 20)

/* Where a vCPU's thread is, for people (a stuck domain's report); written by the thread itself. */
enum vcpu_where {
	VCPU_WHERE_NONE,      /* no thread yet */
	VCPU_WHERE_PARKED,    /* down (never up, or VCPUOP_down), or paused */
	VCPU_WHERE_GUEST,     /* in KVM_RUN */
	VCPU_WHERE_EXIT,      /* handling an exit (a hypercall: see last_hypercall) */
	VCPU_WHERE_BLOCKED,   /* sched_op block/poll, or HLT at CPL 0 */
	VCPU_WHERE_ENDED,     /* the thread returned */
};

/*
 * A vCPU has one host thread for the domain's whole life (created by
 * domain_start, joined by domain_wait/domain_destroy): VCPUOP_up and
 * VCPUOP_down only change `up`, and a vCPU that is down parks its thread.
 * So no hypercall ever creates or joins a thread, and two vCPUs bringing
 * up a third at once is decided under d->lock (one gets EALREADY).
 */
struct vcpu {
	struct domain *d;
	unsigned id;
	int fd;
	struct kvm_run *run;          /* NULL until mapped: vcpu_kick() checks */
	/* KVM's dirty ring of this vCPU (hv/dirty_ring.c): NULL without one */
	struct kvm_dirty_gfn *ring;
	uint32_t ring_next;           /* the next entry to harvest; under ring_lock */
	pthread_mutex_t ring_lock;
	pthread_t thread;
	bool thread_started;          /* under d->lock */
	atomic_bool up;               /* VCPUOP_up done and not down; written under d->lock */
	atomic_bool start_pending;    /* up with a new entry point (start_rip); under d->lock */
	uint64_t start_rip;           /* under d->lock */
	bool parked;                  /* the thread waits in vcpu_park(); under d->lock */
	_Atomic int where;            /* enum vcpu_where */
	_Atomic uint32_t last_hypercall; /* op number of the newest hypercall */

	/* Blocking in sched_op block/poll (or HLT at CPL 0): wait on cond under d->lock. */
	pthread_cond_t wake;
	bool blocked;

	/* CPL-0 guests: the upcall vector is owed to this vCPU (evtchn_set_pending). */
	atomic_bool irq_pending;
	/* VCPUOP_set_periodic_timer, under d->lock; 0 = off. */
	uint64_t timer_period_ns, timer_next_ns;

	/*
	 * Xen HVM guests (xenhvm.h): the vcpu_info the guest registered (or
	 * its slot in shared_info), NULL before either; the vector its upcall
	 * raises, 0 = none.  Set by hypercalls, read by any thread.
	 */
	_Atomic(struct xenith_vcpu_info *) vcpu_info;
	_Atomic uint8_t upcall_vector;
	/*
	 * Its paging registers, read once per hypercall that has a pointer
	 * argument (KVM_GET_SREGS), for translating guest-virtual arguments:
	 * cr0, cr3, cr4, efer.  The vCPU thread only.
	 */
	bool hc_paging_valid;
	uint64_t hc_cr0, hc_cr3, hc_cr4, hc_efer;

	/* Statistics, written only by the vCPU thread. */
	uint64_t nr_irqs;                /* exits and hypercalls: prof.c's counters */
	uint64_t first_run_ns;        /* CLOCK_MONOTONIC just before the first KVM_RUN */
	uint64_t first_exit_ns;       /* CLOCK_MONOTONIC of the first exit, 0 if none */
	/* Counters per exit reason and hypercall, and sampling (prof.h). */
	struct vcpu_prof prof;
};

/* How the domain ended, for the exit status and the report. */
struct domain_end {
	enum domain_state state;      /* SHUTDOWN, CRASHED or DESTROYED */
	uint32_t reason;              /* SHUTDOWN_* when state == SHUTDOWN */
	uint32_t code;                /* poweroff exit code */
	bool timed_out;               /* destroyed by the --timeout watchdog */
	char why[640];                /* one line for people */
	bool have_regs;
	unsigned vcpu;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

struct domain_kind; /* kind.h */
struct device;      /* device.h */
struct port_space;  /* portalloc.h */
struct bench_sink;  /* bench_hooks.h */
struct xsdomain;    /* xsdomain.h */
struct reloc_state; /* relocate.c */

struct domain {
	struct domain_config cfg;
	const struct domain_kind *guest_kind; /* pv, linux (kind.h); NULL until the image is open */
	void *guest_kind_data;              /* the kind's own state (kind_linux: struct linux_guest) */
	bool pv_cpl0;                 /* a PV guest whose kernel runs at CPL 0 (kind_pv) */
	uint32_t domid;
	struct kvm_sys *kvm;
	int vm_fd;

	/*
	 * Where each vCPU thread runs (vcpu_pin, numa_node): nr_vcpus sets, or
	 * NULL when no vCPU is restricted; set by domain_create, read by each
	 * vCPU thread as it starts.
	 */
	cpu_set_t *vcpu_cpus;
	int mem_fd;                   /* memfd: shareable with backends, savable */
	enum mem_backing mem_backing; /* what backs it: cfg's, with auto resolved */
	uint8_t *mem;
	uint64_t mem_size;
	struct memmap memmap;         /* regions of guest-physical space and their KVM slots */
	uint32_t dirty_ring;          /* entries of KVM's dirty ring per vCPU; 0: the dirty bitmap */
	uint64_t dirty_ring_full;     /* vCPU exits for a full ring (atomic) */
	struct iobus pio, mmio;       /* who answers port and MMIO exits (iobus.h) */
	/*
	 * PV guests: the frames the guest maps read-only (page tables, GDT and
	 * TSS, start_info, the image's read-only segments; bit f of word f/64).
	 * The VMM writes none of them on the guest's behalf: hypercall output
	 * pointers there get EFAULT, grants for writing EPERM, as in Xen.
	 */
	uint64_t *ro_frames;
	struct domain_layout layout;
	uint64_t devwin_base, devwin_size; /* the device window (above), fixed at create */

	void *image_map;              /* the guest ELF file, mmapped read-only */
	size_t image_size;
	struct elf_image image;

	struct xenith_start_info *start_info;
	struct xenith_shared_info *shared;
	struct xenith_console_ring *cons_ring;
	uint64_t tsc_khz;

	struct evtchn_table evtchn;
	struct grant_table gnttab;    /* PV guests; backends reach guest memory only through it */
	bool gnttab_ready;
	struct console console;
	bool console_ready;
	/* Its devices (device.h): built by devices_create(), fixed until domain_destroy(). */
	struct device **devices;
	unsigned nr_devices;
	/* I/O port numbers taken (portalloc.h): devices take theirs at create, give them back at destroy. */
	struct port_space *ports;
	struct xsdomain *xs;          /* the domain's xenstore and its ring (xsdomain.h) */

	unsigned nr_vcpus;
	struct vcpu *vcpus;

	pthread_mutex_t lock;
	pthread_cond_t state_cond;
	/* Held by toolstack requests and by a restart, which rebuilds memory and vCPUs. */
	pthread_mutex_t ctl_lock;
	enum domain_state state;
	atomic_bool pause_requested;  /* vCPUs must leave KVM_RUN and wait (set under lock) */
	atomic_bool stop_requested;   /* vCPUs must exit their threads (set under lock) */
	unsigned nr_running_threads;  /* vCPU threads alive */
	unsigned nr_parked_threads;   /* vCPU threads parked: down, or paused */
	bool ended;                   /* end is final (until a reboot restarts) */
	bool released;                /* a preserved domain may now go away */
	struct domain_end end;
	unsigned restarts;

	/* Periodic timers: one thread per domain, started at the first VCPUOP_set_periodic_timer. */
	pthread_t timer_thread;
	bool timer_thread_started;    /* under d->lock */
	bool timer_stop;              /* under d->lock */
	pthread_cond_t timer_cond;    /* a timer changed, or stop */
	/*
	 * A save in progress (relocate.c), under d->lock: the periodic timers
	 * hold their ticks, so that nothing the VMM does on its own writes
	 * guest memory while it is copied.
	 */
	bool frozen;
	/*
	 * A job for the thread in domain_wait (domain_run_on_main), under
	 * d->lock: the function, its argument, its result once done.
	 */
	int (*main_job)(struct domain *d, void *arg);
	void *main_job_arg;
	int main_job_result;
	bool main_job_done;
	/*
	 * A migration left it paused with its devices quiesced, timers frozen
	 * and disks' locks handed over (migrate.c); under ctl_lock.
	 */
	bool reloc_held;
	/* A restored domain not yet started: what its start needs (relocate.c); NULL otherwise. */
	struct reloc_state *reloc;
	/* HVM_PARAM_CALLBACK_IRQ (CPL-0 guests): vector injected on upcalls; 0 = none. */
	_Atomic uint8_t callback_vector;
	/* A Linux guest that sees Xen (cfg.xen_hvm; xenhvm.h); NULL otherwise. */
	struct xenhvm *xh;

	uint64_t created_ns;          /* CLOCK_MONOTONIC at domain_create */
	uint64_t started_ns;

	/* The stop watchdog (domain_opts.stuck). */
	void (*stuck)(struct domain *d, const char *what);
	uint64_t kill_ns;             /* under d->lock: the first domain_kill(), 0 = none */
	bool watchdog_started, watchdog_stop; /* under d->lock */
	pthread_t watchdog;
	bool test_hooks;              /* XENITH_TEST_HOOKS=1: test-only hypercalls (abi.h) */
	/*
	 * Without test hooks, the XENITH_TEST_* ops the domain serves anyway
	 * (bit cmd): a device's create grants those it needs (the bench
	 * hooks: ECHO and SHMEM_ECHO).  A mask, so that the hypercall that
	 * `xenith bench exit` measures looks nothing up.
	 */
	uint32_t test_ops;
	bool unbacked;                /* domain_create_unbacked(): no KVM VM, never runs */
	bool restoring;               /* the first build of a restore (domain_opts.restoring) */

	/* xenoprof (prof.h): the recording in progress, if any, under prof_lock. */
	pthread_mutex_t prof_lock;
	struct prof_session *prof;
	atomic_bool prof_timing;      /* a recording is on: vCPUs time their exits */
	/* Event-channel notifications raised for the guest (a port newly pending), any thread. */
	_Atomic uint64_t nr_evtchn_raised;
};

/* How a domain's console reaches the host. */
struct domain_opts {
	int console_fd;      /* where guest output goes (usually 1); -1 for nowhere */
	bool console_prefix; /* put "name: " in front of every line */
	const struct bench_sink *bench; /* non-NULL: a benchmark domain (bench_hooks.h) */
	/*
	 * The stop watchdog: once the domain is killed (domain_kill: destroy, a
	 * signal, the timeout), if domain_destroy() has not finished within
	 * DOMAIN_STOP_GRACE_MS, stuck() is called from the watchdog's thread
	 * with a line on what has not stopped.  It must not return: a VMM ends
	 * the process (the kernel reclaims what stuck threads hold).  NULL: no
	 * watchdog.
	 */
	void (*stuck)(struct domain *d, const char *what);
	/*
	 * A migration's receiver: the disk images are opened but not locked
	 * at create (the sender still runs on them); blkdev_take_locks()
	 * takes them once the sender has let go.
	 */
	bool defer_disk_locks;
	/*
	 * A migration's receiver, whose domain still runs at the sender: a vif
	 * on a domain switch attaches at the first build with its MAC still
	 * the sender's (SWP_HELLO_TAKEOVER) and takes the MAC over when it
	 * resumes (hv/netdev.h).
	 */
	bool migrating_in;
	/*
	 * A restore (reloc_restore): guest memory comes whole from the stream,
	 * so the first build lays the domain out and maps it but writes
	 * nothing into it (no image, page tables, start_info): the load punches
	 * memory to zero anyway.  A reboot later builds in full.
	 */
	bool restoring;
};

#define DOMAIN_STOP_GRACE_MS 10000u

/* Builds a domain from cfg (kernel path already resolved); nothing runs. */
int domain_create(const struct domain_config *cfg, const struct domain_opts *opts,
		  struct kvm_sys *kvm, uint32_t domid, struct domain **out, struct errbuf *eb);
/*
 * Stops the periodic-timer thread if it runs and lets a later
 * VCPUOP_set_periodic_timer start it again (teardown; the hypercall fuzz
 * target's reset between inputs).
 */
void domain_timer_thread_stop(struct domain *d);
/*
 * For tests and fuzzing: a PV domain with guest memory, page tables,
 * start_info, shared_info, event channels, grant table, disks and vCPU
 * state as domain_create() builds them, but no KVM VM and no vCPU thread.
 * It never runs (domain_start refuses); its hypercall handlers are called
 * directly: registers in v->run->s.regs.regs, then hypercall_dispatch(v).
 * A vCPU that is not up never blocks in sched_op block/poll (it returns as
 * a vCPU being taken down does).  With opts->bench, the bench hooks exist
 * without their ioeventfds; opts->stuck is ignored.
 */
int domain_create_unbacked(const struct domain_config *cfg, const struct domain_opts *opts,
			   uint32_t domid, struct domain **out, struct errbuf *eb);
/* Starts vCPU 0 at the image entry. */
int domain_start(struct domain *d, struct errbuf *eb);
/*
 * How a restored domain's vCPU starts (relocate.c): up or not; with
 * pending, at rip (it was brought up and had not started when saved);
 * else with the registers the restore gave it.
 */
struct vcpu_start {
	bool up, pending;
	uint64_t rip;
};
/* domain_start() for a restored domain: vs has nr_vcpus entries. */
int domain_start_vcpus(struct domain *d, const struct vcpu_start *vs, struct errbuf *eb);
/* Stops every vCPU thread and frees everything; copes with partial builds. */
void domain_destroy(struct domain *d);

/* How long domain_pause() waits for every vCPU to leave guest code before it fails. */
#define DOMAIN_PAUSE_TIMEOUT_MS 10000u

int domain_pause(struct domain *d, struct errbuf *eb);
int domain_unpause(struct domain *d, struct errbuf *eb);
/* Asks the guest to power off or reboot (XENITH_CONTROL_*) via VIRQ_CONTROL. */
int domain_request_shutdown(struct domain *d, uint32_t request, struct errbuf *eb);
/* Ends the domain now (state DESTROYED); why says who asked. */
void domain_kill(struct domain *d, bool timed_out, const char *why);

/*
 * Waits until the domain has ended or deadline_ns (CLOCK_MONOTONIC, 0 =
 * forever) passes; returns true if it ended.  Restarts on reboot/crash
 * when the config says so, and keeps preserved domains until destroyed.
 */
bool domain_wait(struct domain *d, uint64_t deadline_ns);

/*
 * Runs fn(d, arg) on the thread waiting in domain_wait() (the VMM's main
 * thread, whose system-call filter alone may change the VM's memory slots:
 * a migration switches their dirty logging) and returns its result.  From
 * another thread (the control thread).  -ETIMEDOUT when no thread takes it
 * within DOMAIN_MAIN_JOB_TIMEOUT_MS (none waits in domain_wait), -ECANCELED
 * when the domain ends first.
 */
#define DOMAIN_MAIN_JOB_TIMEOUT_MS 10000u
int domain_run_on_main(struct domain *d, int (*fn)(struct domain *d, void *arg), void *arg);

/* VCPUOP_set_periodic_timer / stop (period 0); from the vCPU's thread. */
int domain_set_periodic_timer(struct domain *d, struct vcpu *v, uint64_t period_ns);

/* A vCPU went to sleep in sched_op block/poll; d->lock held. */
void domain_note_blocked(struct domain *d);

/* Called from vCPU threads. */
void domain_shutdown_by_guest(struct domain *d, uint32_t reason, uint32_t code);
void domain_crash(struct domain *d, struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Snapshot for `xenith list` / info. */
struct domain_info {
	char name[XENITH_NAME_MAX];
	uint32_t domid;
	enum domain_state state;
	unsigned vcpus, vcpus_up;
	uint64_t memory_mib;
	double uptime_s;
	unsigned restarts;
	enum mem_backing memory_backing;
	int numa_node;                /* -1: none */
	/* Where the vCPU threads run: each vCPU's CPU list, '/' between vCPUs; "" when not restricted */
	char vcpu_cpus[200];
};
void domain_get_info(struct domain *d, struct domain_info *info);

/* A PV guest whose kernel runs at CPL 0 (guest_cpl = 0): own IDT, upcalls as interrupts. */
static inline bool domain_pv_at_cpl0(const struct domain *d)
{
	return d->pv_cpl0;
}

/* Guest memory access with bounds checks: 0 or -EFAULT. */
/* Whether a guest's domid argument names itself: DOMID_SELF or its own id. */
static inline bool domain_is_self(const struct domain *d, uint32_t domid)
{
	return domid == XENITH_DOMID_SELF || domid == d->domid;
}

static inline void *domain_gpa(struct domain *d, uint64_t gpa, uint64_t len)
{
	if (gpa > d->mem_size || len > d->mem_size - gpa)
		return NULL;
	return d->mem + gpa;
}
/* As domain_gpa(), for the VMM to write into: NULL also when a page of it is read-only to the guest. */
void *domain_gpa_writable(struct domain *d, uint64_t gpa, uint64_t len);
int domain_copy_from_guest(struct domain *d, void *dst, uint64_t gpa, uint64_t len);
int domain_copy_to_guest(struct domain *d, uint64_t gpa, const void *src, uint64_t len);
/* Copies a NUL-terminated guest string (truncated to size-1, always terminated). */
int domain_copy_string(struct domain *d, char *dst, size_t size, uint64_t gpa);

/*
 * Accessors (domain_access.c): what tools/ and bench/ read of a domain, so
 * they do not depend on struct domain's layout.  Those that take d non-const
 * read under the lock the field lives under, from any thread.
 */
const char *domain_name(const struct domain *d);
uint32_t domain_id(const struct domain *d);
/* Whether the domain has ended (under d->lock). */
bool domain_ended(struct domain *d);
/* As domain_ended(), and copies how it ended into *out (zeroed while it runs). */
bool domain_get_end(struct domain *d, struct domain_end *out);
/*
 * How it ended, without the lock: only once the end is final, i.e. after
 * domain_wait() returned true, or in domain_opts.stuck (after a kill).
 */
const struct domain_end *domain_final_end(const struct domain *d);
/* vCPU vcpu's host thread: 0, -EINVAL (no such vCPU) or -ESRCH (not started). */
int domain_vcpu_thread(struct domain *d, unsigned vcpu, pthread_t *out);
/*
 * vCPU vcpu's kernel thread id (perf_event_open, timers): 0, -EINVAL (no
 * such vCPU) or -ESRCH (its thread has not started).  The thread records
 * its id first thing, before it enters the guest: read it once the guest
 * has run (from a bench report, or after a control request it answered).
 */
int domain_vcpu_tid(struct domain *d, unsigned vcpu, pid_t *tid);
/* Boot timestamps (CLOCK_MONOTONIC ns, 0 = not yet), for boot traces and the density suite. */
struct domain_boot_times {
	uint64_t created_ns;     /* domain_create */
	uint64_t first_run_ns;   /* vCPU 0's first KVM_RUN */
	uint64_t first_exit_ns;  /* vCPU 0's first exit: the guest runs */
	uint64_t first_line_ns;  /* the first complete console line */
};
void domain_boot_times(const struct domain *d, struct domain_boot_times *bt);
/* The guest ELF image (its symbols name a crashed guest's RIP). */
const struct elf_image *domain_image(const struct domain *d);
/* The console log's descriptor, -1 without a console_log. */
int domain_console_log_fd(const struct domain *d);
/* The guest memory map as JSON (memmap_json); under d->ctl_lock, as a restart rebuilds it. */
int domain_memmap_json(struct domain *d, char *buf, size_t size);
/* Lets the confined VMM open each disk again (confine_add_path() per disk). */
int domain_confine_disks(struct domain *d, struct errbuf *eb);
struct blkback_stats;
/* A disk queue's backend counters (under d->disk_lock): 0, -EINVAL or -ENODEV (not connected). */
int domain_disk_stats(struct domain *d, unsigned disk, unsigned queue, struct blkback_stats *st);

#endif
