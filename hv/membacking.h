/* SPDX-License-Identifier: MIT */
/*
 * Guest memory: how it is backed (memfd of 4 KiB pages, hugetlb memfd of
 * 2 MiB pages, memfd with transparent huge pages, or auto: thp for domains
 * big enough to gain from it, memfd for the rest), on which NUMA node, and
 * which host CPUs a vCPU may run on.  Every backing is a memfd, so that
 * backends (and later a driver domain) can share guest memory through it.
 */
#ifndef XENITH_HV_MEMBACKING_H
#define XENITH_HV_MEMBACKING_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

#define MEM_HUGE_PAGE (2ull << 20)

const char *mem_backing_name(enum mem_backing b);
/* The unit guest memory comes in: 2 MiB for hugetlb, else 4 KiB. */
uint64_t mem_backing_page_size(enum mem_backing b);

/*
 * Creates guest memory of `size` bytes as cfg asks (memory_backing,
 * numa_node): a memfd in *fd and its shared mapping in *mem, zeroes,
 * nothing faulted in.  guard > 0 (unbacked domains) puts an inaccessible
 * region of that many bytes on each side of the mapping.  Errors name the
 * backing and what to do (e.g. how many hugepages to reserve).
 */
int mem_backing_alloc(const struct domain_config *cfg, uint64_t size, uint64_t guard, int *fd,
		      uint8_t **mem, enum mem_backing *used, struct errbuf *eb);

/*
 * The backing a domain of `size` bytes gets for `b`: b itself, except auto:
 * thp when the domain has at least MEM_AUTO_THP_MIN_MIB and the host gives
 * shared memory transparent huge pages, memfd otherwise.  why (may be NULL)
 * says which and why, for people.
 */
enum mem_backing mem_backing_resolve(enum mem_backing b, uint64_t size, char *why, size_t len);
void mem_backing_unmap(uint8_t *mem, uint64_t size, uint64_t guard);

/*
 * Can this host back `size` bytes this way now?  true, or false with the
 * reason in why (hugetlb: too few free huge pages; thp: shmem_enabled
 * refuses).  memfd always can.
 */
bool mem_backing_available(enum mem_backing b, uint64_t size, char *why, size_t len);

/*
 * NUMA: the nodes this host has (a bit per node, as CPUs in a cpu_mask),
 * and the CPUs of one node.  0 or -errno.
 */
int mem_numa_nodes(struct cpu_mask *nodes, struct errbuf *eb);
int mem_numa_node_cpus(int node, struct cpu_mask *cpus, struct errbuf *eb);

/*
 * The CPUs vCPU `id` may run on under cfg (vcpu_pin, then numa_node), in
 * *cpus; false when it is not restricted.  Checked against the CPUs this
 * process may use, at domain creation: an error names the CPU.
 */
int mem_vcpu_cpus(const struct domain_config *cfg, unsigned id, struct cpu_mask *cpus, bool *restricted,
		  struct errbuf *eb);

#endif
