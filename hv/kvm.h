/* SPDX-License-Identifier: MIT */
/*
 * Thin wrappers over the KVM API: /dev/kvm, one VM, its vCPUs.  Each call
 * returns 0 or -errno and explains failures in a struct errbuf.
 */
#ifndef XENITH_HV_KVM_H
#define XENITH_HV_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct kvm_sys {
	int fd;             /* /dev/kvm */
	int vcpu_mmap_size; /* size of struct kvm_run and its pages */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, for every vCPU */
	unsigned max_vcpus;
};

/* Opens /dev/kvm, checks the API version and every capability Xenith needs. */
int kvm_sys_open(struct kvm_sys *sys, struct errbuf *eb);
void kvm_sys_close(struct kvm_sys *sys);

/* Name of the KVM vendor module in use ("kvm_intel", "kvm_amd", "kvm_pvm", ...). */
const char *kvm_vendor_module(void);

/* The TSC frequency KVM gives guests, from a throw-away VM; 0 if unknown. */
uint64_t kvm_host_tsc_khz(struct kvm_sys *sys);

int kvm_vm_create(struct kvm_sys *sys, int *vm_fd, struct errbuf *eb);
int kvm_vm_set_memory(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
		      struct errbuf *eb);

int kvm_vcpu_create(struct kvm_sys *sys, int vm_fd, unsigned id, int *vcpu_fd,
		    struct kvm_run **run, struct errbuf *eb);
void kvm_vcpu_close(struct kvm_sys *sys, int vcpu_fd, struct kvm_run *run);

#endif
