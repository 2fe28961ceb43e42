/* SPDX-License-Identifier: MIT */
/*
 * Guest kinds.  Each kind of guest the VMM runs provides one static const
 * table: how its image is recognised and checked, how its memory and boot
 * structures are built, how its vCPUs start, how their exits are handled
 * and where its console is.  The core (domain.c, builder.c, vcpu.c) calls
 * through d->guest_kind and never asks which kind a domain is.
 *   pv     a Xenith PV guest (ELF with the ABI note: minios), kernel at CPL 3
 *          or, on VT-x/AMD-V, at CPL 0 (kind_pv.c)
 *   linux  an unmodified Linux bzImage on KVM's in-kernel irqchip (kind_linux.c)
 */
#ifndef XENITH_HV_KIND_H
#define XENITH_HV_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct domain;
struct vcpu;
struct kvm_regs;

struct domain_kind {
	const char *name;
	/* Whether the image (the whole file) is of this kind; the first kind that says so takes it. */
	bool (*probe)(const void *image, size_t size);
	/*
	 * d->image_map holds the file: checks it against the config and the
	 * host, claims the kind's port and MMIO ranges, plans guest memory.
	 * Refusals name what is wrong.
	 */
	int (*open)(struct domain *d, const char *path, struct errbuf *eb);
	/* Undoes open(); copes with a failed or partial one. */
	void (*close)(struct domain *d);
	/* A new VM, before its vCPUs exist (irqchip, timers); NULL: nothing. */
	int (*vm_init)(struct domain *d, struct errbuf *eb);
	/* Guest memory is mapped and zero: image, boot structures, memory-map regions. */
	int (*populate)(struct domain *d, struct errbuf *eb);
	/* After populate, on every build: the kind's console and guest interfaces; NULL: none. */
	int (*connect)(struct domain *d, struct errbuf *eb);
	/* A vCPU's initial segment and control state (CPUID too). */
	int (*setup_vcpu)(struct domain *d, struct vcpu *v, struct errbuf *eb);
	/*
	 * vCPU v (re)starts at rip: fills its registers; false to leave KVM's
	 * reset state alone (a Linux AP waits for its INIT/SIPI).
	 */
	bool (*entry_regs)(struct domain *d, struct vcpu *v, uint64_t rip, struct kvm_regs *r);
	/* KVM_EXIT_IO: the vCPU's port access. */
	void (*pio)(struct vcpu *v);
	/* The toolstack asks the guest to power off or reboot (XENITH_CONTROL_*). */
	int (*request_shutdown)(struct domain *d, uint32_t request, struct errbuf *eb);
	/* Why a triple fault happens in this kind, for the crash report. */
	const char *triple_fault;
	/* Every vCPU is up from the start (KVM holds APs until SIPI), not only vCPU 0. */
	bool all_vcpus_at_start;
	/* domain_create_unbacked() can build it (tests and fuzzing without KVM). */
	bool unbacked_ok;
};

extern const struct domain_kind kind_pv, kind_linux;

/* The kind whose probe takes this image (pv takes whatever is left, and checks it). */
const struct domain_kind *kind_of_image(const void *image, size_t size);

#endif
