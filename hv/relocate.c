// SPDX-License-Identifier: MIT
/*
 * A domain into the relocation stream and back: see relocate.h for what
 * is saved, in which order, and what a restore does.  Record bodies other
 * than DOMAIN and PAGES (mig/stream.c) are defined here, little-endian,
 * each checked field by field on the way in:
 *
 *   CONFIG     struct mig_config_hdr, then text_len bytes of config text
 *   VCPU       u32 id, u32 flags (VCPU_F_*), u64 start_rip, u64 tsc,
 *              u64 wall_ns (CLOCK_REALTIME at the TSC read), struct
 *              kvm_regs, struct kvm_sregs, struct kvm_vcpu_events, u64
 *              xcr0, u32 fpu kind (1 XSAVE: 4096 bytes follow; 2 FPU:
 *              struct kvm_fpu follows), u32 nr_msrs then nr_msrs
 *              {u32 index, u32 0, u64 value}
 *   RO_FRAMES  u64 words, then the bitmap's words
 *   EVTCHN     u32 ports (XENITH_NR_EVTCHN), each {u8 kind, u8 virq, u16
 *              vcpu, u16 remote_dom, u8 percpu, u8 0}; u32 virqs
 *              (XENITH_NR_VIRQS), each an i32 port
 *   GRANT      u64 gpa, u32 frames (0: the guest has set no table)
 *   TIMER      u32 vCPUs, each {u64 period_ns, u64 ns to the next tick}
 *   CONSOLE    the partial line: u32 length, its bytes
 *   XENSTORE   xsdomain_save()'s bytes (io/xenstore_save.c)
 *   DEVICE     the device's name (savebuf string), then its save's bytes
 *              (their format: hv/blkdev.h for vbd, hv/netdev.h for vif)
 *   UPCALL     (guest_cpl = 0 domains only, marked optional) u32 the
 *              vector the guest registered (HVMOP_set_param; 0: none yet),
 *              u32 vCPUs, then a u8 per vCPU: 1 if an upcall is owed to it
 *              (raised, not yet injected), else 0
 */
#include "relocate_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "device.h"
#include "domain.h"
#include "kind.h"
#include "savebuf.h"
#include "unwind.h"
#include "vcpu.h"
#include "xsdomain.h"

const uint32_t reloc_saved_msrs[] = {
	0x174, 0x175, 0x176,            /* SYSENTER_CS, _ESP, _EIP */
	0x277,                          /* PAT */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR, LSTAR, CSTAR, SFMASK */
	0xc0000102,                     /* KERNEL_GS_BASE */
	0xc0000103,                     /* TSC_AUX */
};
const unsigned reloc_nr_saved_msrs = sizeof(reloc_saved_msrs) / sizeof(reloc_saved_msrs[0]);

/* struct kvm_msrs with room for its one entry. */
union one_msr {
	struct kvm_msrs h;
	uint8_t room[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

int reloc_msr_get(int fd, uint32_t index, uint64_t *value)
{
	union one_msr m;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.h.entries[0].index = index;
	if (ioctl(fd, KVM_GET_MSRS, &m) != 1)
		return -1;
	*value = m.h.entries[0].data;
	return 0;
}

int reloc_msr_set(int fd, uint32_t index, uint64_t value)
{
	union one_msr m;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.h.entries[0].index = index;
	m.h.entries[0].data = value;
	return ioctl(fd, KVM_SET_MSRS, &m) == 1 ? 0 : -1;
}

/* struct kvm_msrs with room for every saved MSR. */
union saved_msrs {
	struct kvm_msrs h;
	uint8_t room[sizeof(struct kvm_msrs) + RELOC_MAX_SAVED_MSRS * sizeof(struct kvm_msr_entry)];
};

unsigned reloc_msrs_get(int fd, struct kvm_msr_entry *out)
{
	union saved_msrs m;
	unsigned at = 0, got = 0;

	/* KVM reads in order and stops at the first it cannot read: skip that one, go on after it. */
	while (at < reloc_nr_saved_msrs) {
		int k;

		memset(&m, 0, sizeof(m));
		m.h.nmsrs = reloc_nr_saved_msrs - at;
		for (unsigned i = 0; i < m.h.nmsrs; i++)
			m.h.entries[i].index = reloc_saved_msrs[at + i];
		k = ioctl(fd, KVM_GET_MSRS, &m);
		if (k < 0)
			k = 0;
		for (int i = 0; i < k && (unsigned)i < m.h.nmsrs; i++)
			out[got++] = m.h.entries[i];
		at += (unsigned)k + 1;
	}
	return got;
}

unsigned reloc_msrs_set(int fd, const struct kvm_msr_entry *e, unsigned n)
{
	union saved_msrs m;
	int k;

	if (n == 0)
		return 0;
	if (n > reloc_nr_saved_msrs)
		return reloc_nr_saved_msrs;
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = n;
	memcpy(m.h.entries, e, n * sizeof(*e));
	k = ioctl(fd, KVM_SET_MSRS, &m);
	return k < 0 ? 0 : (unsigned)k > n ? n : (unsigned)k;
}

/* ------------------------------------------------------------------ save */

int reloc_put_record(struct saver *s, uint32_t type, const struct savebuf *b)
{
	const void *piece = b->p ? (const void *)b->p : (const void *)"";
	size_t len = b->len;

	if (savebuf_status(b) < 0)
		return errbuf_set(s->eb, ENOMEM, "out of memory for the %s record", mig_rec_name(type));
	return mig_write_record(&s->w, type, &piece, &len, 1, s->eb);
}

static int save_config(struct saver *s)
{
	struct domain *d = s->d;
	struct mig_config_hdr h = { .image_size = d->image_size };
	struct savebuf b = { 0 };
	char *text = malloc(256 * 1024);
	int n, r;

	if (!text)
		return errbuf_set(s->eb, ENOMEM, "out of memory for the config");
	n = config_format(&d->cfg, text, 256 * 1024);
	if (n < 0) {
		free(text);
		return errbuf_set(s->eb, EINVAL, "the domain's config cannot be written as text (%s)",
				  n == -1 ? "longer than 256 KiB" : "a value the file syntax cannot carry");
	}
	h.image_crc = mig_crc32c(0, d->image_map, d->image_size);
	h.text_len = (uint32_t)n;
	savebuf_put(&b, &h, sizeof(h));
	savebuf_put(&b, text, (size_t)n);
	free(text);
	r = reloc_put_record(s, MIG_REC_CONFIG, &b);
	savebuf_free(&b);
	return r;
}

/*
 * A vCPU asleep in SCHEDOP_block or SCHEDOP_poll is saved so that it makes
 * the hypercall again (relocate.h): its RIP on the hypercall's OUT (ABI:
 * `outl %eax, $XENITH_HYPERCALL_PORT`, 2 bytes), RAX still the op.  Where
 * RIP is at the exit depends on the host: VT-x and AMD-V KVM advance it
 * only when the exit is completed (at the next KVM_RUN), PVM before the
 * exit.  The bytes at RIP say which.
 */
static int rewind_to_hypercall(struct domain *d, unsigned id, struct kvm_regs *regs, const struct kvm_sregs *sr,
			       struct errbuf *eb)
{
	static const uint8_t out_e0[2] = { 0xe7, XENITH_HYPERCALL_PORT };
	struct xp_guest_mem m = { .mem = d->mem, .size = d->mem_size };
	struct xp_cpu_state cs = { .rip = regs->rip, .cr0 = sr->cr0, .cr3 = sr->cr3, .cr4 = sr->cr4,
				   .efer = sr->efer };
	uint8_t b[2];

	if (xp_read_guest(&m, &cs, regs->rip, b, 2) == 0 && !memcmp(b, out_e0, 2))
		return 0;
	if (regs->rip >= 2 && xp_read_guest(&m, &cs, regs->rip - 2, b, 2) == 0 && !memcmp(b, out_e0, 2)) {
		regs->rip -= 2;
		return 0;
	}
	return errbuf_set(eb, EIO, "vCPU %u sleeps in a hypercall, but no hypercall instruction is at or "
			  "before its RIP 0x%llx", id, (unsigned long long)regs->rip);
}

/* Asleep in HLT at CPL 0 (vcpu_halt), not in a hypercall; d->lock held. */
static bool halted_in(const struct vcpu *v)
{
	return v->blocked && v->run->exit_reason == KVM_EXIT_HLT;
}

static int save_vcpu(struct saver *s, struct vcpu *v)
{
	struct savebuf b = { 0 };
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	struct kvm_xcrs xcrs;
	struct kvm_xsave *xs = NULL;
	struct kvm_fpu fpu;
	struct kvm_msr_entry msrs[RELOC_MAX_SAVED_MSRS];
	uint64_t tsc, xcr0 = 0;
	uint32_t flags = 0, nr = 0;
	size_t nr_at;
	bool blocked;
	int r;

	/*
	 * Under d->lock a vCPU asleep in a hypercall stays asleep (it waits
	 * on d->lock's condition) and one parked stays parked: its registers
	 * and `blocked` agree.
	 */
	pthread_mutex_lock(&s->d->lock);
	/*
	 * One woken from its sleep since the pause is on its way to park: let
	 * it get there.  So is one halted at CPL 0 (vcpu_halt), which the pause
	 * wakes: parked, it is past its HLT, and no hypercall is to be made again.
	 */
	for (int tries = 0; v->thread_started && !v->parked && (!v->blocked || halted_in(v)) && tries < 100;
	     tries++) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->d->state_cond, &s->d->lock, &ts);
	}
	if (v->thread_started && !v->parked && (!v->blocked || halted_in(v))) {
		pthread_mutex_unlock(&s->d->lock);
		return errbuf_set(s->eb, EBUSY, "vCPU %u neither parked nor asleep within a second of the pause",
				  v->id);
	}
	blocked = v->blocked;
	r = ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
	pthread_mutex_unlock(&s->d->lock);
	if (r < 0)
		return errbuf_set(s->eb, -r, "vCPU %u: reading its registers: %s", v->id, strerror(-r));
	if (blocked && (r = rewind_to_hypercall(s->d, v->id, &regs, &sregs, s->eb)) < 0)
		return r;
	if (reloc_msr_get(v->fd, MSR_IA32_TSC, &tsc) < 0)
		return errbuf_set(s->eb, EIO, "vCPU %u: KVM cannot read its TSC (MSR 0x10)", v->id);
	memset(&xcrs, 0, sizeof(xcrs));
	if (ioctl(v->fd, KVM_GET_XCRS, &xcrs) == 0)
		for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (xcrs.xcrs[i].xcr == 0)
				xcr0 = xcrs.xcrs[i].value;
	pthread_mutex_lock(&s->d->lock);
	if (atomic_load(&v->up))
		flags |= VCPU_F_UP;
	if (atomic_load(&v->start_pending))
		flags |= VCPU_F_START_PENDING;
	savebuf_u32(&b, v->id);
	savebuf_u32(&b, flags);
	savebuf_u64(&b, v->start_rip);
	pthread_mutex_unlock(&s->d->lock);
	savebuf_u64(&b, tsc);
	savebuf_u64(&b, reloc_wall_ns());
	savebuf_put(&b, &regs, sizeof(regs));
	savebuf_put(&b, &sregs, sizeof(sregs));
	savebuf_put(&b, &ev, sizeof(ev));
	savebuf_u64(&b, xcr0);
	xs = malloc(sizeof(*xs));
	if (xs && ioctl(v->fd, KVM_GET_XSAVE, xs) == 0) {
		savebuf_u32(&b, FPU_XSAVE);
		savebuf_put(&b, xs, sizeof(*xs));
	} else if (ioctl(v->fd, KVM_GET_FPU, &fpu) == 0) {
		savebuf_u32(&b, FPU_LEGACY);
		savebuf_put(&b, &fpu, sizeof(fpu));
	} else {
		free(xs);
		savebuf_free(&b);
		return errbuf_set(s->eb, errno, "vCPU %u: reading its FPU state: %s", v->id, strerror(errno));
	}
	free(xs);
	nr_at = b.len;
	savebuf_u32(&b, 0);
	nr = reloc_msrs_get(v->fd, msrs);
	for (uint32_t i = 0; i < nr; i++) {
		savebuf_u32(&b, msrs[i].index);
		savebuf_u32(&b, 0);
		savebuf_u64(&b, msrs[i].data);
	}
	if (!b.oom)
		memcpy(b.p + nr_at, &nr, sizeof(nr));
	r = reloc_put_record(s, MIG_REC_VCPU, &b);
	savebuf_free(&b);
	return r;
}

bool reloc_page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;

	for (unsigned i = 0; i < MIG_PAGE_SIZE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return false;
	return true;
}

int reloc_write_pages(struct saver *s, const uint64_t *pfns, uint32_t count)
{
	struct mig_pages_hdr h = { .count = count };
	const void *pieces[2 + MIG_PAGES_MAX];
	size_t lens[2 + MIG_PAGES_MAX];

	if (!count)
		return 0;
	unsigned n = 2;

	pieces[0] = &h;
	lens[0] = sizeof(h);
	pieces[1] = pfns;
	lens[1] = count * sizeof(uint64_t);
	/* Runs of consecutive frames are one piece each: fewer iovecs for writev. */
	for (uint32_t i = 0; i < count; i++) {
		if (i && pfns[i] == pfns[i - 1] + 1) {
			lens[n - 1] += MIG_PAGE_SIZE;
			continue;
		}
		pieces[n] = s->d->mem + pfns[i] * MIG_PAGE_SIZE;
		lens[n++] = MIG_PAGE_SIZE;
	}
	s->st->pages += count;
	return mig_write_record(&s->w, MIG_REC_PAGES, pieces, lens, n, s->eb);
}

/*
 * Every page with something in it.  Pages the memfd never had (SEEK_HOLE)
 * are skipped without being read; those it has are sent unless all zero.
 */
static int save_pages(struct saver *s)
{
	struct domain *d = s->d;
	uint64_t npages = d->mem_size / MIG_PAGE_SIZE, pfn = 0;
	uint64_t *pfns = malloc(MIG_PAGES_MAX * sizeof(*pfns));
	uint32_t count = 0;
	int r = 0;

	if (!pfns)
		return errbuf_set(s->eb, ENOMEM, "out of memory for the page batches");
	while (pfn < npages && r == 0) {
		uint64_t end = npages;

		if (d->mem_fd >= 0) {
			off_t data = lseek(d->mem_fd, (off_t)(pfn * MIG_PAGE_SIZE), SEEK_DATA);
			off_t hole;

			if (data < 0)
				break; /* ENXIO: nothing more in the file */
			hole = lseek(d->mem_fd, data, SEEK_HOLE);
			s->st->zero_pages += (uint64_t)data / MIG_PAGE_SIZE - pfn;
			pfn = (uint64_t)data / MIG_PAGE_SIZE;
			if (hole > data && (uint64_t)hole / MIG_PAGE_SIZE < npages)
				end = ((uint64_t)hole + MIG_PAGE_SIZE - 1) / MIG_PAGE_SIZE;
		}
		for (; pfn < end && r == 0; pfn++) {
			if (reloc_page_is_zero(d->mem + pfn * MIG_PAGE_SIZE)) {
				s->st->zero_pages++;
				continue;
			}
			pfns[count++] = pfn;
			if (count == MIG_PAGES_MAX) {
				r = reloc_write_pages(s, pfns, count);
				count = 0;
			}
		}
	}
	if (r == 0 && pfn < npages)
		s->st->zero_pages += npages - pfn;
	if (r == 0)
		r = reloc_write_pages(s, pfns, count);
	free(pfns);
	return r;
}

static int save_ro_frames(struct saver *s)
{
	uint64_t words = (s->d->mem_size / MIG_PAGE_SIZE + 63) / 64;
	struct savebuf b = { 0 };
	int r;

	savebuf_u64(&b, s->d->ro_frames ? words : 0);
	if (s->d->ro_frames)
		savebuf_put(&b, s->d->ro_frames, words * sizeof(uint64_t));
	r = reloc_put_record(s, MIG_REC_RO_FRAMES, &b);
	savebuf_free(&b);
	return r;
}

static int save_evtchn(struct saver *s)
{
	struct domain *d = s->d;
	struct savebuf b = { 0 };
	int r;

	pthread_mutex_lock(&d->lock);
	savebuf_u32(&b, XENITH_NR_EVTCHN);
	for (unsigned p = 0; p < XENITH_NR_EVTCHN; p++) {
		const struct evtchn *e = &d->evtchn.port[p];

		savebuf_u8(&b, e->kind);
		savebuf_u8(&b, e->virq);
		savebuf_u16(&b, e->vcpu);
		savebuf_u16(&b, e->remote_dom);
		savebuf_u8(&b, e->percpu);
		savebuf_u8(&b, 0);
	}
	savebuf_u32(&b, XENITH_NR_VIRQS);
	for (unsigned i = 0; i < XENITH_NR_VIRQS; i++)
		savebuf_u32(&b, (uint32_t)d->evtchn.virq_port[i]);
	pthread_mutex_unlock(&d->lock);
	r = reloc_put_record(s, MIG_REC_EVTCHN, &b);
	savebuf_free(&b);
	return r;
}

static int save_grant(struct saver *s)
{
	struct grant_table *gt = &s->d->gnttab;
	uint32_t n = atomic_load(&gt->nr_entries);
	struct savebuf b = { 0 };
	int r;

	savebuf_u64(&b, n ? gt->gpa : 0);
	savebuf_u32(&b, n / XENITH_GNTTAB_ENTRIES_PER_FRAME);
	r = reloc_put_record(s, MIG_REC_GRANT, &b);
	savebuf_free(&b);
	return r;
}

static int save_timers(struct saver *s)
{
	struct domain *d = s->d;
	struct savebuf b = { 0 };
	uint64_t now = now_ns();
	int r;

	pthread_mutex_lock(&d->lock);
	savebuf_u32(&b, d->nr_vcpus);
	for (unsigned i = 0; i < d->nr_vcpus; i++) {
		const struct vcpu *v = &d->vcpus[i];

		savebuf_u64(&b, v->timer_period_ns);
		savebuf_u64(&b, v->timer_period_ns && v->timer_next_ns > now ? v->timer_next_ns - now : 0);
	}
	pthread_mutex_unlock(&d->lock);
	r = reloc_put_record(s, MIG_REC_TIMER, &b);
	savebuf_free(&b);
	return r;
}

/* A CPL-0 guest's upcall: its vector and, per vCPU, whether one is owed (vcpu_inject has yet to inject it). */
static int save_upcall(struct saver *s)
{
	struct domain *d = s->d;
	struct savebuf b = { 0 };
	int r;

	savebuf_u32(&b, atomic_load(&d->callback_vector));
	savebuf_u32(&b, d->nr_vcpus);
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		savebuf_u8(&b, atomic_load(&d->vcpus[i].irq_pending) ? 1 : 0);
	r = reloc_put_record(s, MIG_REC_UPCALL | MIG_REC_OPTIONAL, &b);
	savebuf_free(&b);
	return r;
}

static int save_console(struct saver *s)
{
	struct console *c = &s->d->console;
	struct savebuf b = { 0 };
	int r;

	pthread_mutex_lock(&c->lock);
	savebuf_u32(&b, (uint32_t)c->line_len);
	savebuf_put(&b, c->line, c->line_len);
	pthread_mutex_unlock(&c->lock);
	r = reloc_put_record(s, MIG_REC_CONSOLE, &b);
	savebuf_free(&b);
	return r;
}

static int save_xenstore(struct saver *s)
{
	struct savebuf b = { 0 };
	int r = xsdomain_save(s->d, &b, s->eb);

	if (r == 0)
		r = reloc_put_record(s, MIG_REC_XENSTORE, &b);
	savebuf_free(&b);
	return r;
}

static int save_devices(struct saver *s)
{
	for (unsigned i = 0; i < s->d->nr_devices; i++) {
		struct device *dev = s->d->devices[i];
		struct savebuf b = { 0 };
		int r;

		savebuf_str(&b, dev->name);
		r = device_save(dev, &b, s->eb);
		if (r == 0)
			r = reloc_put_record(s, MIG_REC_DEVICE, &b);
		savebuf_free(&b);
		if (r < 0)
			return r;
	}
	return 0;
}

static int save_domain_record(struct saver *s)
{
	struct domain *d = s->d;
	struct mig_domain m = {
		.abi_version = d->image.abi_version,
		.kind = 0,
		.nr_vcpus = d->nr_vcpus,
		.domid = d->domid,
		.mem_size = d->mem_size,
		.tsc_khz = d->tsc_khz,
	};
	const void *piece = &m;
	size_t len = sizeof(m);

	snprintf(m.name, sizeof(m.name), "%s", d->cfg.name);
	return mig_write_record(&s->w, MIG_REC_DOMAIN, &piece, &len, 1, s->eb);
}

int reloc_write_head(struct saver *s, int fd)
{
	int r = mig_writer_start(&s->w, fd, s->eb);

	if (r == 0)
		r = save_domain_record(s);
	if (r == 0)
		r = save_config(s);
	s->st->bytes = s->w.offset;
	return r;
}

int reloc_write_state(struct saver *s)
{
	int r = 0;

	for (unsigned i = 0; r == 0 && i < s->d->nr_vcpus; i++)
		r = save_vcpu(s, &s->d->vcpus[i]);
	if (r == 0)
		r = save_ro_frames(s);
	if (r == 0)
		r = save_evtchn(s);
	if (r == 0)
		r = save_grant(s);
	if (r == 0)
		r = save_timers(s);
	if (r == 0 && domain_pv_at_cpl0(s->d))
		r = save_upcall(s);
	if (r == 0)
		r = save_console(s);
	if (r == 0)
		r = save_xenstore(s);
	if (r == 0)
		r = save_devices(s);
	if (r == 0)
		r = mig_writer_end(&s->w, s->eb);
	s->st->bytes = s->w.offset;
	return r;
}

static int write_stream(struct saver *s, int fd)
{
	int r = reloc_write_head(s, fd);

	if (r == 0)
		r = save_pages(s);
	if (r == 0)
		r = reloc_write_state(s);
	return r;
}

int reloc_check_savable(struct domain *d, bool migrate, struct errbuf *eb)
{
	if (d->guest_kind != &kind_pv)
		return errbuf_set(eb, ENOTSUP, "domain '%s' is a %s guest: save and migration of Linux "
				  "guests are not supported yet (their in-kernel irqchip, PIT and LAPIC state "
				  "are not in the stream)", d->cfg.name, d->guest_kind->name);
	for (unsigned i = 0; i < d->nr_devices; i++) {
		struct device *dev = d->devices[i];
		int r;

		if (!dev->ops->save)
			return errbuf_set(eb, ENOTSUP, "domain '%s' has %s: save/restore of %s devices is not "
					  "supported yet, so the domain cannot be saved or migrated",
					  d->cfg.name, dev->name, dev->ops->type);
		r = dev->ops->check_save ? dev->ops->check_save(dev, migrate, eb) : 0;
		if (r < 0)
			return errbuf_prefix(eb, r, "domain '%s' cannot be %s", d->cfg.name,
					     migrate ? "migrated live" : "saved");
	}
	return 0;
}

void reloc_set_frozen(struct domain *d, bool frozen)
{
	pthread_mutex_lock(&d->lock);
	d->frozen = frozen;
	pthread_cond_broadcast(&d->timer_cond);
	pthread_mutex_unlock(&d->lock);
}

static void resume_first(struct domain *d, unsigned n)
{
	struct errbuf eb;

	for (unsigned i = n; i-- > 0;)
		if (device_resume(d->devices[i], &eb) < 0)
			fprintf(stderr, "xenith: domain '%s': %s\n", d->cfg.name, eb.msg);
}

void reloc_resume_devices(struct domain *d)
{
	unsigned n = 0;

	while (n < d->nr_devices && atomic_load(&d->devices[n]->state) == DEVICE_QUIESCED)
		n++;
	resume_first(d, n);
}

int reloc_quiesce_devices(struct domain *d, struct errbuf *eb)
{
	uint64_t deadline = now_ns() + DEVICE_QUIESCE_MS * 1000000ull; /* one bound for them all */

	for (unsigned i = 0; i < d->nr_devices; i++) {
		int r = device_quiesce(d->devices[i], deadline, eb);

		if (r < 0) {
			resume_first(d, i);
			return r;
		}
	}
	return 0;
}

int reloc_save(struct domain *d, int fd, bool keep, struct reloc_save_stats *st, struct errbuf *eb)
{
	struct saver s = { .d = d, .st = st, .eb = eb };
	uint64_t t0 = now_ns(), t1;
	bool was_running;
	struct stat sb;
	int r;

	memset(st, 0, sizeof(*st));
	r = reloc_check_savable(d, false, eb);
	if (r < 0)
		return r;
	pthread_mutex_lock(&d->lock);
	was_running = d->state == DOMAIN_RUNNING;
	r = d->state == DOMAIN_RUNNING || d->state == DOMAIN_PAUSED ? 0 : -EINVAL;
	pthread_mutex_unlock(&d->lock);
	if (r < 0)
		return errbuf_set(eb, EINVAL, "domain '%s' is %s: only a running or paused domain can be "
				  "saved", d->cfg.name, domain_state_name(d->state));
	if (was_running && (r = domain_pause(d, eb)) < 0)
		return r;
	reloc_set_frozen(d, true);
	t1 = now_ns();
	st->pause_ns = t1 - t0;
	r = reloc_quiesce_devices(d, eb);
	if (r < 0)
		goto fail;
	st->quiesce_ns = now_ns() - t1;
	t1 = now_ns();
	r = write_stream(&s, fd);
	if (r == 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && fdatasync(fd) < 0)
		r = errbuf_set(eb, errno, "syncing the saved stream to its file: %s", strerror(errno));
	st->write_ns = now_ns() - t1;
	if (r < 0)
		goto fail;
	if (keep) {
		reloc_resume_devices(d);
		reloc_set_frozen(d, false);
		if (was_running && domain_unpause(d, eb) < 0)
			return -EIO;
	}
	st->paused_ns = now_ns() - t0;
	return 0;
fail:
	reloc_resume_devices(d);
	reloc_set_frozen(d, false);
	if (was_running) {
		struct errbuf eb2;

		if (domain_unpause(d, &eb2) < 0)
			return errbuf_prefix(eb, r, "and the domain could not run on (%s)", eb2.msg);
		return errbuf_prefix(eb, r, "save of '%s' failed, the domain runs on", d->cfg.name);
	}
	return errbuf_prefix(eb, r, "save of '%s' failed, the domain stays paused", d->cfg.name);
}
