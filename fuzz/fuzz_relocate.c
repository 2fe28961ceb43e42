// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a restore's typed records (hv/relocate.c,
 * reloc_load_records) from any bytes, as `xenith restore` and a migration's
 * receiver take them from a file or another host after the DOMAIN and
 * CONFIG records.  The input is the stream after those: records in the
 * stream's framing (mig/stream.h), which the target puts behind a valid
 * image header.  They are loaded into a fresh unbacked domain (no KVM: its
 * vCPU descriptors are -1, so a VCPU record that parses fails at its first
 * ioctl, saying so) of NR_VCPUS vCPUs and MEMORY_MIB MiB with one disk
 * (mode exit, two queues) and one vif (mode exit, two queues on in-memory
 * pairs, MAC VIF_MAC: a DEVICE record "vif0" reaches the vif record's
 * parser and, when it fits, the restore of its queues), built from the
 * bundled minios, and destroyed after each input (the leak checker sees
 * what a load leaves behind).
 *
 * Checks:
 *  - the load answers 0 or a negative errno with a message;
 *  - after any answer, the event-channel table is one this domain can
 *    have: port 0 reserved, the console and store ports their fixed
 *    kinds, every port's vCPU below NR_VCPUS and its kind known, no port
 *    left bound to a backend without its kick (the disk and the vif rebind
 *    their own),
 *    virq_port[] on ports bound to that VIRQ; the grant table inside
 *    guest memory and above its free memory;
 *  - a load that succeeded left what a start needs (d->reloc).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "fuzz.h"
#include "relocate.h"
#include "stream.h"

#define NR_VCPUS 2u
#define MEMORY_MIB 4u
#define DISK_BYTES (1u << 20)
#define MAX_STREAM (1u << 20)
#define VIF_MAC "00:16:3e:0f:00:01" /* fuzz/make_seeds.py's vif records carry it */

static struct domain_config cfg;
static uint8_t *stream;

static void setup(void)
{
	const char *tmp = getenv("TMPDIR"), *img = getenv("XENITH_MINIOS");
	char path[256], spec[400];
	struct errbuf eb;
	int fd;

	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "fz");
	cfg.vcpus = NR_VCPUS;
	cfg.memory_mib = MEMORY_MIB;
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", img ? img : "build/guest/minios");
	snprintf(path, sizeof(path), "%s/xenith-fuzz-reloc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0) {
		fprintf(stderr, "fuzz_relocate: a disk image in %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
	snprintf(spec, sizeof(spec), "path=%s,mode=exit,direct=0,queues=2", path);
	if (config_set(&cfg, "disk", spec, &eb) < 0) {
		fprintf(stderr, "fuzz_relocate: %s\n", eb.msg);
		exit(1);
	}
	/* The pair's other ends are nobody's: frames the vif sends wait in it, up to its depth. */
	snprintf(spec, sizeof(spec), "mac=" VIF_MAC ",port=pair:fz-reloc-%d,mode=exit,queues=2", (int)getpid());
	if (config_set(&cfg, "vif", spec, &eb) < 0) {
		fprintf(stderr, "fuzz_relocate: %s\n", eb.msg);
		exit(1);
	}
	stream = malloc(MIG_HEADER_SIZE + MAX_STREAM);
	if (!stream)
		exit(1);
	/* The image header is the stream target's business: every input gets a valid one. */
	memset(stream, 0, MIG_HEADER_SIZE);
	memcpy(stream, MIG_MAGIC, 8);
	memcpy(stream + 8, &(uint32_t){ MIG_VERSION }, 4);
	memcpy(stream + 12, &(uint32_t){ MIG_BYTE_ORDER }, 4);
	memcpy(stream + 16, &(uint32_t){ MIG_HEADER_SIZE }, 4);
}

static void check_tables(struct domain *d)
{
	const struct evtchn_table *t = &d->evtchn;
	uint32_t n = atomic_load(&d->gnttab.nr_entries);

	FUZZ_CHECK(t->port[0].kind == EVTCHN_RESERVED, "port 0 is of kind %u", t->port[0].kind);
	FUZZ_CHECK(t->port[EVTCHN_CONSOLE_PORT].kind == EVTCHN_CONSOLE, "the console port is of kind %u",
		   t->port[EVTCHN_CONSOLE_PORT].kind);
	FUZZ_CHECK(t->port[EVTCHN_XENSTORE_PORT].kind == EVTCHN_XENSTORE, "the store port is of kind %u",
		   t->port[EVTCHN_XENSTORE_PORT].kind);
	for (unsigned p = 0; p < XENITH_NR_EVTCHN; p++) {
		FUZZ_CHECK(t->port[p].kind <= EVTCHN_IPI, "port %u of kind %u", p, t->port[p].kind);
		FUZZ_CHECK(t->port[p].vcpu < NR_VCPUS, "port %u on vCPU %u", p, t->port[p].vcpu);
		FUZZ_CHECK(t->port[p].kind != EVTCHN_BACKEND || t->port[p].kick_fd >= 0,
			   "port %u bound to a backend without its kick descriptor", p);
	}
	for (unsigned i = 0; i < XENITH_NR_VIRQS; i++) {
		int32_t p = t->virq_port[i];

		FUZZ_CHECK(p >= 0 && (uint32_t)p < XENITH_NR_EVTCHN, "VIRQ %u on port %d", i, p);
		FUZZ_CHECK(!p || (t->port[p].kind == EVTCHN_VIRQ && t->port[p].virq == i),
			   "VIRQ %u on port %d, which is not bound to it", i, p);
	}
	if (n) {
		uint64_t bytes = (uint64_t)n * 8;

		FUZZ_CHECK(d->gnttab.gpa >= d->layout.free_start && d->gnttab.gpa + bytes <= d->mem_size,
			   "a grant table of %u entries at 0x%llx", n, (unsigned long long)d->gnttab.gpa);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct domain_opts opts = { .console_fd = -1 };
	struct mig_reader r;
	struct domain *d;
	struct errbuf eb;
	uint64_t pages;
	int rc;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > MAX_STREAM)
		return 0;
	if (domain_create_unbacked(&cfg, &opts, 1, &d, &eb) < 0) {
		fprintf(stderr, "fuzz_relocate: domain_create_unbacked: %s\n", eb.msg);
		abort();
	}
	memcpy(stream + MIG_HEADER_SIZE, data, size);
	memset(&eb, 0, sizeof(eb));
	rc = mig_reader_open_mem(&r, stream, MIG_HEADER_SIZE + size, &eb);
	FUZZ_CHECK(rc == 0, "the header the target made is refused: %s", eb.msg);
	rc = reloc_load_records(d, &r, &pages, &eb);
	FUZZ_CHECK(rc == 0 || (rc < 0 && rc >= -4095), "the load answered %d", rc);
	FUZZ_CHECK(rc == 0 || eb.msg[0], "a refusal (%d) without a message", rc);
	FUZZ_CHECK(rc < 0 || d->reloc, "a load that succeeded left nothing to start with");
	FUZZ_CHECK(pages <= d->mem_size / MIG_PAGE_SIZE * 64, "%llu pages loaded", (unsigned long long)pages);
	check_tables(d);
	mig_reader_close(&r);
	domain_destroy(d);
	return 0;
}
