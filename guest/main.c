// SPDX-License-Identifier: MIT
/* kernel_entry: every vCPU arrives here from _start. */
#include "hypercall.h"
#include "minios.h"

/* The image's ABI version, an ELF note the VMM reads before it builds the domain. */
static const struct {
	uint32_t namesz, descsz, type;
	char name[8]; /* "Xenith\0", padded to 4 bytes */
	uint32_t version;
} abi_note __attribute__((used, section(".note.xenith"), aligned(4))) = {
	.namesz = sizeof(XENITH_ELFNOTE_NAME),
	.descsz = sizeof(uint32_t),
	.type = XENITH_ELFNOTE_ABI_VERSION,
	.name = XENITH_ELFNOTE_NAME,
	.version = XENITH_ABI_VERSION,
};

struct xenith_start_info *start_info;
struct xenith_shared_info *shared_info;

noreturn_fn void smp_secondary_entry(unsigned vcpu);

static noreturn_fn void early_fail(const char *msg)
{
	HYPERVISOR_console_io(CONSOLEIO_write, strlen(msg), msg);
	shutdown(SHUTDOWN_crash);
}

noreturn_fn void kernel_entry(struct xenith_start_info *si, unsigned vcpu)
{
	if (vcpu != 0)
		smp_secondary_entry(vcpu);
	if (si->magic != XENITH_START_INFO_MAGIC)
		early_fail("minios: start_info has the wrong magic; not started by a Xenith VMM\n");
	if (si->abi_version != XENITH_ABI_VERSION)
		early_fail("minios: the VMM speaks another Xenith guest ABI version\n");
	start_info = si;
	shared_info = (struct xenith_shared_info *)(uintptr_t)si->shared_info;
	time_init();
	console_init();
	if (current_cpl() == 0) {
		long r = trap_init();

		if (r < 0)
			printf("minios: running at CPL 0 but the VMM refused the upcall vector (%ld)\n", r);
	}
	mm_init();
	poweroff((unsigned)run_program(si->cmdline));
}
