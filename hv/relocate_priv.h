/* SPDX-License-Identifier: MIT */
/*
 * What relocate.c (save), relocate_load.c (restore) and migrate.c (live
 * migration) share: the record bodies' constants and the save's steps.
 * The bodies' layout is described at the top of relocate.c.
 */
#ifndef XENITH_HV_RELOCATE_PRIV_H
#define XENITH_HV_RELOCATE_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <linux/kvm.h>

#include "relocate.h"
#include "stream.h"

struct domain;
struct savebuf;
struct vcpu;

#define VCPU_F_UP 1u            /* up (VCPUOP_up done, not down) */
#define VCPU_F_START_PENDING 2u /* brought up but not yet started at start_rip */
#define VCPU_F_KNOWN (VCPU_F_UP | VCPU_F_START_PENDING)

#define FPU_XSAVE 1u
#define FPU_LEGACY 2u

#define MSR_IA32_TSC 0x10u

/* MSRs a CPL-3 PV vCPU's state may be in besides its registers (relocate.c); those KVM cannot read are left out. */
#define RELOC_MAX_SAVED_MSRS 10u
extern const uint32_t reloc_saved_msrs[RELOC_MAX_SAVED_MSRS];
extern const unsigned reloc_nr_saved_msrs;

struct mig_config_hdr {
	uint64_t image_size;
	uint32_t image_crc;
	uint32_t text_len;
};

/* What a restore keeps until the domain starts: the vCPUs' TSCs are set at the last moment. */
struct reloc_state {
	unsigned nr_vcpus;
	struct {
		bool seen, up, start_pending;
		uint64_t start_rip, tsc, wall_ns;
		uint64_t timer_period_ns, timer_left_ns;
	} v[];
};

static inline uint64_t reloc_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One MSR through KVM_GET_MSRS / KVM_SET_MSRS: 0 or -1. */
int reloc_msr_get(int fd, uint32_t index, uint64_t *value);
int reloc_msr_set(int fd, uint32_t index, uint64_t value);

/*
 * Many at once, one ioctl where KVM takes them all (a vCPU ioctl costs
 * tens of microseconds under PVM; a restore set ten MSRs one by one).
 * reloc_msrs_get reads reloc_saved_msrs[] into out[] (room for
 * reloc_nr_saved_msrs), leaving out those KVM cannot read, and returns how
 * many it read.  reloc_msrs_set sets e[0..n): n when KVM took them all,
 * else the index of the first it refused (n <= reloc_nr_saved_msrs).
 */
unsigned reloc_msrs_get(int fd, struct kvm_msr_entry *out);
unsigned reloc_msrs_set(int fd, const struct kvm_msr_entry *e, unsigned n);

/* ---- the save's steps (relocate.c) ---- */

struct saver {
	struct domain *d;
	struct mig_writer w;
	struct reloc_save_stats *st;
	struct errbuf *eb;
};

/* A record whose body is b. */
int reloc_put_record(struct saver *s, uint32_t type, const struct savebuf *b);
/* The image header, DOMAIN and CONFIG. */
int reloc_write_head(struct saver *s, int fd);
/* A PAGES record of the count frames in pfns (increasing), from guest memory. */
int reloc_write_pages(struct saver *s, const uint64_t *pfns, uint32_t count);
/* Whether the page holds only zero bytes. */
bool reloc_page_is_zero(const uint8_t *p);
/* The state of a paused, frozen, quiesced domain: VCPU, RO_FRAMES, EVTCHN ... DEVICE records, END. */
int reloc_write_state(struct saver *s);
/*
 * Why this domain cannot be saved, or with migrate migrated live (its
 * kind, a device without save, a device's own check_save), before
 * anything stops; 0 if it can.
 */
int reloc_check_savable(struct domain *d, bool migrate, struct errbuf *eb);
/* Stops and lets go the VMM's own writes to guest memory (the periodic timers), under d->lock. */
void reloc_set_frozen(struct domain *d, bool frozen);
/* Quiesces every device: 0, or -errno with eb and the devices quiesced so far resumed. */
int reloc_quiesce_devices(struct domain *d, struct errbuf *eb);
/* Resumes every device (a failed save, --keep, or a migration that did not happen). */
void reloc_resume_devices(struct domain *d);

#endif
