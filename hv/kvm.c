// SPDX-License-Identifier: MIT
#include "kvm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

struct kvm_cap_req {
	int cap;
	const char *name;
	const char *why;
};

static const struct kvm_cap_req required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest memory from the VMM" },
	{ KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS", "hypercall registers without extra ioctls" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "pausing vCPUs without races" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "guest CPUID" },
	{ KVM_CAP_XCRS, "KVM_CAP_XCRS", "enabling SSE/AVX state for the guest" },
	{ KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ", "the guest clock" },
};

/*
 * Looked up once: a reboot rebuilds the domain where /sys may no longer be
 * reachable (jail = 1), and under the main thread's seccomp filter.
 */
const char *kvm_vendor_module(void)
{
	static const char *const mods[] = { "kvm_pvm", "kvm_intel", "kvm_amd" };
	static const char *found;
	const char *m = __atomic_load_n(&found, __ATOMIC_ACQUIRE);
	char path[64];

	for (size_t i = 0; !m && i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (access(path, F_OK) == 0)
			m = mods[i];
	}
	if (!m)
		m = "unknown";
	__atomic_store_n(&found, m, __ATOMIC_RELEASE);
	return m;
}

static int get_supported_cpuid(struct kvm_sys *sys, struct errbuf *eb)
{
	/* 256 entries cover every CPU seen so far: one call, not a retry (it is slow on PVM). */
	for (unsigned n = 256; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return errbuf_set(eb, ENOMEM, "out of memory for CPUID entries");
		c->nent = n;
		if (ioctl(sys->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			sys->cpuid = c;
			return 0;
		}
		int err = errno;

		free(c);
		if (err != E2BIG)
			return errbuf_set(eb, err, "KVM_GET_SUPPORTED_CPUID: %s", strerror(err));
	}
	return errbuf_set(eb, E2BIG, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

int kvm_sys_open(struct kvm_sys *sys, struct errbuf *eb)
{
	int fd, ver, r;

	memset(sys, 0, sizeof(*sys));
	sys->fd = -1;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (err == ENOENT)
			return errbuf_set(eb, err, "/dev/kvm does not exist: this machine has no KVM "
				"(load kvm_intel, kvm_amd or kvm_pvm, or enable virtualization in firmware)");
		if (err == EACCES || err == EPERM)
			return errbuf_set(eb, err, "/dev/kvm: permission denied; run as root or add "
				"yourself to group kvm");
		return errbuf_set(eb, err, "cannot open /dev/kvm: %s", strerror(err));
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		close(fd);
		return errbuf_set(eb, ENOTSUP, "/dev/kvm speaks KVM API version %d; Xenith needs "
			"version %d", ver, KVM_API_VERSION);
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			close(fd);
			return errbuf_set(eb, ENOTSUP, "KVM lacks capability %s (needed for %s); "
				"this kernel's KVM is too old or limited",
				required_caps[i].name, required_caps[i].why);
		}
	}
	if ((ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS) == 0) {
		close(fd);
		return errbuf_set(eb, ENOTSUP, "KVM_CAP_SYNC_REGS does not cover general-purpose registers");
	}
	r = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0) {
		int err = errno;

		close(fd);
		return errbuf_set(eb, err, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(err));
	}
	sys->vcpu_mmap_size = r;
	r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	sys->max_vcpus = r > 0 ? (unsigned)r : 1;
	sys->fd = fd;
	r = get_supported_cpuid(sys, eb);
	if (r < 0) {
		close(fd);
		sys->fd = -1;
		return r;
	}
	return 0;
}

void kvm_sys_close(struct kvm_sys *sys)
{
	if (sys->fd >= 0)
		close(sys->fd);
	free(sys->cpuid);
	sys->cpuid = NULL;
	sys->fd = -1;
}

int kvm_vm_create(struct kvm_sys *sys, int *vm_fd, struct errbuf *eb)
{
	int fd;

	do
		fd = ioctl(sys->fd, KVM_CREATE_VM, 0);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int err = errno;

		if (err == EMFILE || err == ENFILE)
			return errbuf_set(eb, err, "KVM_CREATE_VM: out of file descriptors (%s); "
				"raise `ulimit -n` or run fewer domains per process", strerror(err));
		return errbuf_set(eb, err, "KVM_CREATE_VM: %s", strerror(err));
	}
	*vm_fd = fd;
	return 0;
}

int kvm_vm_set_memory(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
		      struct errbuf *eb)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return errbuf_set(eb, errno, "KVM_SET_USER_MEMORY_REGION slot %u [0x%llx, +0x%llx): %s",
				  slot, (unsigned long long)gpa, (unsigned long long)size,
				  strerror(errno));
	return 0;
}

int kvm_vcpu_create(struct kvm_sys *sys, int vm_fd, unsigned id, int *vcpu_fd,
		    struct kvm_run **run, struct errbuf *eb)
{
	int fd;
	void *p;

	fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (fd < 0)
		return errbuf_set(eb, errno, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int err = errno;

		close(fd);
		return errbuf_set(eb, err, "vCPU %u: fcntl: %s", id, strerror(err));
	}
	p = mmap(NULL, (size_t)sys->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = errno;

		close(fd);
		return errbuf_set(eb, err, "vCPU %u: mmap of kvm_run: %s", id, strerror(err));
	}
	if (ioctl(fd, KVM_SET_CPUID2, sys->cpuid) < 0) {
		int err = errno;

		munmap(p, (size_t)sys->vcpu_mmap_size);
		close(fd);
		return errbuf_set(eb, err, "vCPU %u: KVM_SET_CPUID2: %s", id, strerror(err));
	}
	*vcpu_fd = fd;
	*run = p;
	return 0;
}

void kvm_vcpu_close(struct kvm_sys *sys, int vcpu_fd, struct kvm_run *run)
{
	if (run)
		munmap(run, (size_t)sys->vcpu_mmap_size);
	if (vcpu_fd >= 0)
		close(vcpu_fd);
}

uint64_t kvm_host_tsc_khz(struct kvm_sys *sys)
{
	int vm, vcpu, khz = 0;

	vm = ioctl(sys->fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		return 0;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu >= 0) {
		khz = ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
		close(vcpu);
	}
	close(vm);
	return khz > 0 ? (uint64_t)khz : 0;
}
