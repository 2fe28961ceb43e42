// SPDX-License-Identifier: MIT
/*
 * The restore side of relocation: a stream's records into a domain built
 * again from its saved config (relocate.h says what a restore does; the
 * record bodies are described at the top of relocate.c).  Every field is
 * checked as input from a file or a network, before KVM or the domain
 * sees it; errors name the record, its offset and what is wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clock.h"
#include "confine.h"
#include "device.h"
#include "domain.h"
#include "kind.h"
#include "relocate_priv.h"
#include "savebuf.h"
#include "vcpu.h"
#include "xsdomain.h"

int reloc_restore_open(struct mig_reader *r, int fd, struct domain_config *cfg, struct reloc_head *head,
		       struct errbuf *eb)
{
	int n = mig_reader_open_fd(r, fd, eb);

	return n < 0 ? n : reloc_read_head(r, cfg, head, eb);
}

int reloc_read_head(struct mig_reader *r, struct domain_config *cfg, struct reloc_head *head, struct errbuf *eb)
{
	struct mig_record rec;
	struct mig_config_hdr h;
	char *text;
	int n;

	memset(head, 0, sizeof(*head));
	n = mig_next(r, &rec, eb);
	if (n <= 0 || rec.type != MIG_REC_DOMAIN)
		return n < 0 ? n : errbuf_set(eb, EPROTO, "record 0: %s where DOMAIN must come first",
					      n ? mig_rec_name(rec.type) : "END");
	n = mig_parse_domain(&rec, XENITH_MAX_VCPUS, &head->dom, eb);
	if (n < 0)
		return n;
	n = mig_next(r, &rec, eb);
	if (n <= 0 || rec.type != MIG_REC_CONFIG)
		return n < 0 ? n : errbuf_set(eb, EPROTO, "record 1: %s where CONFIG must follow DOMAIN",
					      n ? mig_rec_name(rec.type) : "END");
	if (rec.length < sizeof(h))
		return errbuf_set(eb, EPROTO, "record 1 (CONFIG): %u bytes, shorter than its header",
				  rec.length);
	memcpy(&h, rec.body, sizeof(h));
	if (h.text_len != rec.length - sizeof(h) || memchr(rec.body + sizeof(h), 0, h.text_len))
		return errbuf_set(eb, EPROTO, "record 1 (CONFIG): text of %u bytes in a body of %u, or "
				  "with a NUL byte", h.text_len, rec.length);
	text = malloc((size_t)h.text_len + 1);
	if (!text)
		return errbuf_set(eb, ENOMEM, "out of memory for the saved config");
	memcpy(text, rec.body + sizeof(h), h.text_len);
	text[h.text_len] = 0;
	config_init(cfg);
	n = config_parse_text(cfg, text, "the saved config", eb);
	free(text);
	if (n < 0)
		return errbuf_prefix(eb, n, "record 1 (CONFIG)");
	if (strcmp(cfg->name, head->dom.name) || cfg->vcpus != head->dom.nr_vcpus ||
	    cfg->memory_mib << 20 != head->dom.mem_size)
		return errbuf_set(eb, EPROTO, "record 1 (CONFIG): name '%s', %u vCPUs, %llu MiB, where "
				  "DOMAIN says '%s', %u, %llu MiB", cfg->name, cfg->vcpus,
				  (unsigned long long)cfg->memory_mib, head->dom.name, head->dom.nr_vcpus,
				  (unsigned long long)(head->dom.mem_size >> 20));
	head->image_size = h.image_size;
	head->image_crc = h.image_crc;
	return 0;
}

struct loader {
	struct domain *d;
	struct reloc_state *rs;
	struct errbuf *eb;
	const struct mig_record *rec;
	uint64_t *pfns;
	unsigned nr_vcpu_recs;
	bool have[MIG_REC_NR_TYPES];
	unsigned nr_device_recs;
};

static int bad(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct loader *l, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return errbuf_set(l->eb, EPROTO, "record %u (%s) at byte %llu: %s", l->rec->index,
			  mig_rec_name(l->rec->type), (unsigned long long)l->rec->offset, what);
}

/* The load fails: eb says why; prefix it with the record. */
static int failed(struct loader *l, int r)
{
	return errbuf_prefix(l->eb, r, "record %u (%s) at byte %llu", l->rec->index,
			     mig_rec_name(l->rec->type), (unsigned long long)l->rec->offset);
}

static bool segment_sane(const struct kvm_segment *s)
{
	return s->present <= 1 && s->dpl <= 3 && s->db <= 1 && s->s <= 1 && s->l <= 1 && s->g <= 1 &&
	       s->avl <= 1 && s->unusable <= 1 && s->type <= 15;
}

static int load_vcpu(struct loader *l)
{
	struct domain *d = l->d;
	struct saveread rd;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	uint64_t xcr0, tsc, wall, start_rip;
	struct kvm_msr_entry msrs[RELOC_MAX_SAVED_MSRS];
	uint32_t id, flags, fpu, nr, set;
	struct vcpu *v;

	saveread_init(&rd, l->rec->body, l->rec->length);
	id = saveread_u32(&rd);
	flags = saveread_u32(&rd);
	start_rip = saveread_u64(&rd);
	tsc = saveread_u64(&rd);
	wall = saveread_u64(&rd);
	saveread_get(&rd, &regs, sizeof(regs));
	saveread_get(&rd, &sregs, sizeof(sregs));
	saveread_get(&rd, &ev, sizeof(ev));
	xcr0 = saveread_u64(&rd);
	fpu = saveread_u32(&rd);
	if (rd.bad)
		return bad(l, "%u bytes, shorter than a vCPU's state", l->rec->length);
	if (id >= d->nr_vcpus)
		return bad(l, "vCPU %u of a domain of %u", id, d->nr_vcpus);
	if (l->rs->v[id].seen)
		return bad(l, "vCPU %u a second time", id);
	if (flags & ~VCPU_F_KNOWN)
		return bad(l, "vCPU %u: unknown flags 0x%x", id, flags & ~VCPU_F_KNOWN);
	if (!segment_sane(&sregs.cs) || !segment_sane(&sregs.ss) || !segment_sane(&sregs.ds) ||
	    !segment_sane(&sregs.es) || !segment_sane(&sregs.fs) || !segment_sane(&sregs.gs) ||
	    !segment_sane(&sregs.tr) || !segment_sane(&sregs.ldt))
		return bad(l, "vCPU %u: a segment register with out-of-range fields", id);
	/*
	 * A CPL-3 PV vCPU: the guest cannot have changed its code segment's
	 * privilege.  A CPL-0 one runs its kernel at 0 and may run code at 3;
	 * its selector's RPL says which, as the hardware's does.
	 */
	if (!domain_pv_at_cpl0(d) ? (sregs.cs.selector & 3) != 3 || sregs.cs.dpl != 3
				  : (sregs.cs.dpl != 0 && sregs.cs.dpl != 3) || (sregs.cs.selector & 3) != sregs.cs.dpl)
		return bad(l, "vCPU %u: code segment 0x%x (DPL %u), not one a PV guest at CPL %u runs in", id,
			   sregs.cs.selector, sregs.cs.dpl, domain_pv_at_cpl0(d) ? 0 : 3);
	v = &d->vcpus[id];
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return bad(l, "vCPU %u: KVM refuses its segment and control state: %s", id, strerror(errno));
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return bad(l, "vCPU %u: KVM refuses its registers: %s", id, strerror(errno));
	if (xcr0) {
		struct kvm_xcrs x = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = xcr0 } } };

		if (ioctl(v->fd, KVM_SET_XCRS, &x) < 0)
			return bad(l, "vCPU %u: XCR0 0x%llx is not supported on this host: %s", id,
				   (unsigned long long)xcr0, strerror(errno));
	}
	if (fpu == FPU_XSAVE) {
		struct kvm_xsave *xs = malloc(sizeof(*xs));
		int r;

		if (!xs)
			return errbuf_set(l->eb, ENOMEM, "out of memory for vCPU %u's XSAVE area", id);
		saveread_get(&rd, xs, sizeof(*xs));
		r = rd.bad ? -1 : ioctl(v->fd, KVM_SET_XSAVE, xs);
		free(xs);
		if (rd.bad)
			return bad(l, "vCPU %u: its XSAVE area is cut short", id);
		if (r < 0)
			return bad(l, "vCPU %u: KVM refuses its XSAVE area (features this host lacks?): %s",
				   id, strerror(errno));
	} else if (fpu == FPU_LEGACY) {
		struct kvm_fpu f;

		if (saveread_get(&rd, &f, sizeof(f)) < 0)
			return bad(l, "vCPU %u: its FPU state is cut short", id);
		if (ioctl(v->fd, KVM_SET_FPU, &f) < 0)
			return bad(l, "vCPU %u: KVM refuses its FPU state: %s", id, strerror(errno));
	} else {
		return bad(l, "vCPU %u: FPU state of unknown kind %u", id, fpu);
	}
	nr = saveread_u32(&rd);
	if (rd.bad || nr > reloc_nr_saved_msrs || saveread_left(&rd) != (size_t)nr * 16)
		return bad(l, "vCPU %u: %u MSRs in %zu bytes (at most %u MSRs, 16 bytes each)", id, nr,
			   saveread_left(&rd), reloc_nr_saved_msrs);
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t index = saveread_u32(&rd), pad = saveread_u32(&rd);
		bool known = false;

		for (size_t k = 0; k < reloc_nr_saved_msrs; k++)
			known |= reloc_saved_msrs[k] == index;
		if (!known || pad)
			return bad(l, "vCPU %u: MSR 0x%x is not one a save writes", id, index);
		msrs[i] = (struct kvm_msr_entry){ .index = index, .data = saveread_u64(&rd) };
	}
	set = reloc_msrs_set(v->fd, msrs, nr);
	if (set < nr)
		return bad(l, "vCPU %u: KVM refuses MSR 0x%x = 0x%llx", id, msrs[set].index,
			   (unsigned long long)msrs[set].data);
	/* Pending exceptions and interrupts last: setting registers may clear them. */
	ev.flags &= KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return bad(l, "vCPU %u: KVM refuses its pending events: %s", id, strerror(errno));
	l->rs->v[id].seen = true;
	l->rs->v[id].up = flags & VCPU_F_UP;
	l->rs->v[id].start_pending = flags & VCPU_F_START_PENDING;
	l->rs->v[id].start_rip = start_rip;
	l->rs->v[id].tsc = tsc;
	l->rs->v[id].wall_ns = wall;
	l->nr_vcpu_recs++;
	return 0;
}

static int load_pages(struct loader *l)
{
	uint64_t npages = l->d->mem_size / MIG_PAGE_SIZE;
	const uint8_t *data;
	uint32_t count;
	int r = mig_parse_pages(l->rec, npages, &count, l->pfns, &data, l->eb);

	if (r < 0)
		return failed(l, r);
	for (uint32_t i = 0; data && i < count; i++) /* none for a record the reader placed */
		memcpy(l->d->mem + l->pfns[i] * MIG_PAGE_SIZE, data + (size_t)i * MIG_PAGE_SIZE, MIG_PAGE_SIZE);
	return (int)count;
}

static int load_ro_frames(struct loader *l)
{
	uint64_t words = (l->d->mem_size / MIG_PAGE_SIZE + 63) / 64, n;
	struct saveread rd;

	saveread_init(&rd, l->rec->body, l->rec->length);
	n = saveread_u64(&rd);
	if (rd.bad || n != words || !l->d->ro_frames || saveread_left(&rd) != words * 8)
		return bad(l, "a bitmap of %llu words in %zu bytes, for a domain of %llu words",
			   (unsigned long long)n, saveread_left(&rd), (unsigned long long)words);
	saveread_get(&rd, l->d->ro_frames, words * 8);
	return 0;
}

static int load_evtchn(struct loader *l)
{
	struct domain *d = l->d;
	struct evtchn ports[XENITH_NR_EVTCHN];
	int32_t virq_port[XENITH_NR_VIRQS];
	struct saveread rd;
	uint32_t n;

	saveread_init(&rd, l->rec->body, l->rec->length);
	n = saveread_u32(&rd);
	if (n != XENITH_NR_EVTCHN)
		return bad(l, "%u ports, where this version has %u", n, XENITH_NR_EVTCHN);
	memset(ports, 0, sizeof(ports));
	for (unsigned p = 0; p < XENITH_NR_EVTCHN; p++) {
		struct evtchn *e = &ports[p];
		uint8_t pad;

		e->kind = saveread_u8(&rd);
		e->virq = saveread_u8(&rd);
		e->vcpu = saveread_u16(&rd);
		e->remote_dom = saveread_u16(&rd);
		e->percpu = saveread_u8(&rd);
		pad = saveread_u8(&rd);
		e->kick_fd = -1;
		if (rd.bad)
			return bad(l, "cut short at port %u", p);
		if (e->kind > EVTCHN_IPI || pad || (p == 0) != (e->kind == EVTCHN_RESERVED) ||
		    e->vcpu >= d->nr_vcpus || e->virq >= XENITH_NR_VIRQS ||
		    (e->percpu && e->kind != EVTCHN_VIRQ))
			return bad(l, "port %u: kind %u, vCPU %u, VIRQ %u: not a port this domain can have", p,
				   e->kind, e->vcpu, e->virq);
		if ((p == EVTCHN_CONSOLE_PORT) != (e->kind == EVTCHN_CONSOLE) ||
		    (p == EVTCHN_XENSTORE_PORT) != (e->kind == EVTCHN_XENSTORE))
			return bad(l, "port %u: kind %u: the console and store ports are fixed", p, e->kind);
		/* The device that had it binds it again (device.h); until then it waits for a backend. */
		if (e->kind == EVTCHN_BACKEND) {
			e->kind = EVTCHN_UNBOUND;
			e->remote_dom = XENITH_BACKEND_DOMID;
		}
	}
	n = saveread_u32(&rd);
	if (n != XENITH_NR_VIRQS)
		return bad(l, "%u VIRQs, where this version has %u", n, XENITH_NR_VIRQS);
	for (unsigned i = 0; i < XENITH_NR_VIRQS; i++) {
		virq_port[i] = (int32_t)saveread_u32(&rd);
		if (rd.bad)
			return bad(l, "cut short at VIRQ %u", i);
		if (virq_port[i] < 0 || (uint32_t)virq_port[i] >= XENITH_NR_EVTCHN ||
		    (virq_port[i] && (ports[virq_port[i]].kind != EVTCHN_VIRQ || ports[virq_port[i]].virq != i ||
				      ports[virq_port[i]].percpu)))
			return bad(l, "VIRQ %u on port %d, which is not bound to it", i, virq_port[i]);
	}
	if (saveread_done(&rd) < 0)
		return bad(l, "%zu bytes after the table", saveread_left(&rd));
	pthread_mutex_lock(&d->lock);
	memcpy(d->evtchn.port, ports, sizeof(ports));
	memcpy(d->evtchn.virq_port, virq_port, sizeof(virq_port));
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int load_grant(struct loader *l)
{
	struct saveread rd;
	uint64_t gpa;
	uint32_t frames;
	int r;

	saveread_init(&rd, l->rec->body, l->rec->length);
	gpa = saveread_u64(&rd);
	frames = saveread_u32(&rd);
	if (saveread_done(&rd) < 0)
		return bad(l, "%u bytes, where the body is 12", l->rec->length);
	if (!frames)
		return gpa ? bad(l, "a table at 0x%llx of no frames", (unsigned long long)gpa) : 0;
	r = grant_table_set(&l->d->gnttab, gpa, frames);
	if (r < 0)
		return bad(l, "a table of %u frames at 0x%llx: %s", frames, (unsigned long long)gpa,
			   strerror(-r));
	return 0;
}

static int load_timers(struct loader *l)
{
	struct saveread rd;
	uint32_t n;

	saveread_init(&rd, l->rec->body, l->rec->length);
	n = saveread_u32(&rd);
	if (n != l->d->nr_vcpus || saveread_left(&rd) != (size_t)n * 16)
		return bad(l, "timers of %u vCPUs in %zu bytes, for a domain of %u", n, saveread_left(&rd),
			   l->d->nr_vcpus);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t period = saveread_u64(&rd), left = saveread_u64(&rd);

		/* VCPUOP_set_periodic_timer's own bounds (hypercall.c): at least 1 ms, at most a year. */
		if (period && (period < 1000000ull || period > 365ull * 86400 * 1000000000ull || left > period))
			return bad(l, "vCPU %u: a period of %llu ns, next tick in %llu ns", i,
				   (unsigned long long)period, (unsigned long long)left);
		l->rs->v[i].timer_period_ns = period;
		l->rs->v[i].timer_left_ns = left;
	}
	return 0;
}

static int load_console(struct loader *l)
{
	struct console *c = &l->d->console;
	struct saveread rd;
	uint32_t n;

	saveread_init(&rd, l->rec->body, l->rec->length);
	n = saveread_u32(&rd);
	if (rd.bad || n >= sizeof(c->line) || saveread_left(&rd) != n)
		return bad(l, "a partial line of %u bytes in %zu (at most %zu)", n, saveread_left(&rd),
			   sizeof(c->line) - 1);
	pthread_mutex_lock(&c->lock);
	saveread_get(&rd, c->line, n);
	c->line_len = n;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* UPCALL (relocate.c): parsed whole, then refused for a CPL-3 domain, which registers no vector. */
static int load_upcall(struct loader *l)
{
	struct domain *d = l->d;
	uint8_t owed[XENITH_MAX_VCPUS];
	struct saveread rd;
	uint32_t vector, n;

	saveread_init(&rd, l->rec->body, l->rec->length);
	vector = saveread_u32(&rd);
	n = saveread_u32(&rd);
	if (rd.bad || n != d->nr_vcpus || saveread_left(&rd) != n)
		return bad(l, "%u vCPUs in %zu bytes, for a domain of %u vCPUs", n, saveread_left(&rd),
			   d->nr_vcpus);
	if (vector != 0 && (vector < 32 || vector > 255))
		return bad(l, "vector %u: 0 (none registered) or 32 to 255", vector);
	saveread_get(&rd, owed, n);
	for (uint32_t i = 0; i < n; i++)
		if (owed[i] > 1 || (owed[i] && !vector))
			return bad(l, "vCPU %u: owed %u%s", i, owed[i], owed[i] > 1 ? " (0 or 1)" :
				   ", without a vector to deliver it on");
	if (!domain_pv_at_cpl0(d))
		return bad(l, "an upcall vector for a domain whose kernel runs at CPL 3, which has none");
	atomic_store(&d->callback_vector, (uint8_t)vector);
	for (uint32_t i = 0; i < n; i++)
		atomic_store(&d->vcpus[i].irq_pending, owed[i] != 0);
	return 0;
}

static int load_device(struct loader *l)
{
	struct saveread rd;
	char name[sizeof(((struct device *)0)->name)];
	struct device *dev = NULL;
	int r;

	saveread_init(&rd, l->rec->body, l->rec->length);
	if (saveread_str(&rd, name, sizeof(name)) < 0)
		return bad(l, "no device name at its head");
	for (unsigned i = 0; i < l->d->nr_devices && !dev; i++)
		if (!strcmp(l->d->devices[i]->name, name))
			dev = l->d->devices[i];
	if (!dev)
		return bad(l, "device %s, which this domain's config does not make", name);
	r = device_restore(dev, rd.p + rd.off, saveread_left(&rd), l->eb);
	if (r < 0)
		return failed(l, r);
	l->nr_device_recs++;
	return 0;
}

static int load_record(struct loader *l)
{
	uint32_t t = l->rec->type & ~MIG_REC_OPTIONAL;
	int r;

	if (t == MIG_REC_DOMAIN || t == MIG_REC_CONFIG)
		return bad(l, "a second one");
	if (t == MIG_REC_DEVICE && (!l->have[MIG_REC_EVTCHN] || !l->have[MIG_REC_GRANT]))
		return bad(l, "a device's state before the event channels and grant table it uses");
	if (t != MIG_REC_VCPU && t != MIG_REC_PAGES && t != MIG_REC_DEVICE && t < MIG_REC_NR_TYPES &&
	    l->have[t])
		return bad(l, "a second one");
	switch (t) {
	case MIG_REC_VCPU: r = load_vcpu(l); break;
	case MIG_REC_PAGES: r = load_pages(l); break;
	case MIG_REC_RO_FRAMES: r = load_ro_frames(l); break;
	case MIG_REC_EVTCHN: r = load_evtchn(l); break;
	case MIG_REC_GRANT: r = load_grant(l); break;
	case MIG_REC_TIMER: r = load_timers(l); break;
	case MIG_REC_CONSOLE: r = load_console(l); break;
	case MIG_REC_XENSTORE:
		r = xsdomain_restore(l->d, l->rec->body, l->rec->length, l->eb);
		if (r < 0)
			r = failed(l, r);
		break;
	case MIG_REC_DEVICE: r = load_device(l); break;
	case MIG_REC_UPCALL: r = load_upcall(l); break;
	default:
		r = bad(l, "not a record a restore takes");
		break;
	}
	if (r >= 0 && t < MIG_REC_NR_TYPES)
		l->have[t] = true;
	return r;
}

/* What a complete stream must have had, checked at END. */
static int check_complete(struct loader *l)
{
	static const uint32_t needed[] = { MIG_REC_RO_FRAMES, MIG_REC_EVTCHN, MIG_REC_GRANT, MIG_REC_TIMER,
					   MIG_REC_CONSOLE, MIG_REC_XENSTORE };

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!l->have[needed[i]])
			return errbuf_set(l->eb, EPROTO, "the stream ended without a %s record",
					  mig_rec_name(needed[i]));
	if (domain_pv_at_cpl0(l->d) && !l->have[MIG_REC_UPCALL])
		return errbuf_set(l->eb, EPROTO, "the stream ended without an UPCALL record, which a domain "
				  "whose kernel runs at CPL 0 has");
	if (l->nr_vcpu_recs != l->d->nr_vcpus)
		return errbuf_set(l->eb, EPROTO, "the stream ended with %u VCPU records for %u vCPUs",
				  l->nr_vcpu_recs, l->d->nr_vcpus);
	if (l->nr_device_recs != l->d->nr_devices)
		return errbuf_set(l->eb, EPROTO, "the stream ended with the state of %u devices, for the "
				  "%u this domain has", l->nr_device_recs, l->d->nr_devices);
	return 0;
}

/* Guest memory as a new memfd has it: all zero (the builder wrote its boot structures). */
static void zero_memory(struct domain *d)
{
	if (d->mem_fd >= 0 &&
	    fallocate(d->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)d->mem_size) == 0)
		return;
	memset(d->mem, 0, d->mem_size);
}

int reloc_load_records(struct domain *d, struct mig_reader *r, uint64_t *pages, struct errbuf *eb)
{
	struct loader l = { .d = d, .eb = eb };
	struct mig_record rec;
	int n;

	*pages = 0;
	l.rs = calloc(1, sizeof(*l.rs) + d->nr_vcpus * sizeof(l.rs->v[0]));
	l.pfns = malloc(MIG_PAGES_MAX * sizeof(uint64_t));
	if (!l.rs || !l.pfns) {
		n = errbuf_set(eb, ENOMEM, "out of memory for the restore");
		goto out;
	}
	l.rs->nr_vcpus = d->nr_vcpus;
	zero_memory(d);
	/* Pages straight from the stream into guest memory, which a failed load throws away (stream.h). */
	mig_reader_place_pages(r, d->mem, d->mem_size / MIG_PAGE_SIZE);
	while ((n = mig_next(r, &rec, eb)) > 0) {
		l.rec = &rec;
		n = load_record(&l);
		if (n < 0)
			goto out;
		if (rec.type == MIG_REC_PAGES)
			*pages += (uint64_t)n;
	}
	if (n == 0)
		n = check_complete(&l);
	if (n == 0) {
		free(d->reloc);
		d->reloc = l.rs;
		l.rs = NULL;
	}
out:
	mig_reader_place_pages(r, NULL, 0); /* d may go; the reader may not */
	free(l.pfns);
	free(l.rs);
	return n;
}

int reloc_restore(struct mig_reader *r, const struct domain_config *cfg, const struct reloc_head *head,
		  const struct domain_opts *opts, struct kvm_sys *kvm, uint32_t domid, struct domain **out,
		  struct reloc_restore_stats *st, struct errbuf *eb)
{
	return reloc_restore_cb(r, cfg, head, opts, kvm, domid, out, st, NULL, NULL, eb);
}

int reloc_restore_cb(struct mig_reader *r, const struct domain_config *cfg, const struct reloc_head *head,
		     const struct domain_opts *opts, struct kvm_sys *kvm, uint32_t domid, struct domain **out,
		     struct reloc_restore_stats *st, void (*built)(void *opaque), void *opaque,
		     struct errbuf *eb)
{
	struct domain *d = NULL;
	uint64_t t0 = now_ns();
	int n;

	memset(st, 0, sizeof(*st));
	*out = NULL;
	if (domid != head->dom.domid)
		return errbuf_set(eb, EINVAL, "the saved guest is domain %u, and knows itself by that id; it "
				  "cannot be restored as domain %u", head->dom.domid, domid);
	struct domain_opts ro = *opts;

	ro.restoring = true; /* the memory is the stream's: nothing written into it at the build */
	n = domain_create(cfg, &ro, kvm, domid, &d, eb);
	if (n < 0)
		return errbuf_prefix(eb, n, "building the saved domain again");
	st->build_ns = now_ns() - t0;
	t0 = now_ns();
	if (d->guest_kind != &kind_pv) {
		n = errbuf_set(eb, EPROTO, "the saved config makes a %s guest, which a save never writes",
			       d->guest_kind->name);
		goto fail;
	}
	if (d->image_size != head->image_size || mig_crc32c(0, d->image_map, d->image_size) != head->image_crc ||
	    d->image.abi_version != head->dom.abi_version) {
		n = errbuf_set(eb, ESTALE, "the kernel %s is not the one the domain was saved with (%llu "
			       "bytes, CRC-32C 0x%08x; it was %llu bytes, 0x%08x): restore needs the same image",
			       d->cfg.kernel, (unsigned long long)d->image_size,
			       mig_crc32c(0, d->image_map, d->image_size),
			       (unsigned long long)head->image_size, head->image_crc);
		goto fail;
	}
	if (head->dom.tsc_khz != d->tsc_khz) {
		n = errbuf_set(eb, ENOTSUP, "the domain was saved on a host whose TSC runs at %llu kHz; "
			       "this one's runs at %llu kHz, and its guest's clock counts on the rate",
			       (unsigned long long)head->dom.tsc_khz, (unsigned long long)d->tsc_khz);
		goto fail;
	}
	if (built)
		built(opaque);
	n = reloc_load_records(d, r, &st->pages, eb);
	if (n < 0)
		goto fail;
	st->load_ns = now_ns() - t0;
	*out = d;
	return 0;
fail:
	/*
	 * Threads the build and the load started (a switch vif's link thread,
	 * backends attached to restored rings) wait in confine_thread() for a
	 * confinement that will not come now: they go on unconfined to see the
	 * stop, or the teardown would wait for them forever.
	 */
	confine_abandon();
	domain_destroy(d);
	return n;
}

int domain_start_restored(struct domain *d, struct errbuf *eb)
{
	struct reloc_state *rs = d->reloc;
	struct vcpu_start *vs;
	uint64_t now_wall, now;
	int r;

	if (!rs)
		return errbuf_set(eb, EINVAL, "domain '%s' was not restored", d->cfg.name);
	/* Each TSC goes on from its saved value by the wall-clock time since: the guest sees the gap. */
	now_wall = reloc_wall_ns();
	for (unsigned i = 0; i < d->nr_vcpus; i++) {
		uint64_t gap = now_wall > rs->v[i].wall_ns ? now_wall - rs->v[i].wall_ns : 0;
		unsigned __int128 ticks = (unsigned __int128)gap * d->tsc_khz / 1000000u;

		if (reloc_msr_set(d->vcpus[i].fd, MSR_IA32_TSC, rs->v[i].tsc + (uint64_t)ticks) < 0)
			return errbuf_set(eb, EIO, "vCPU %u: KVM refuses to set its TSC (MSR 0x10)", i);
	}
	for (unsigned i = 0; i < d->nr_devices; i++)
		if (device_resume(d->devices[i], eb) < 0)
			return errbuf_prefix(eb, -EIO, "the restored domain's %s", d->devices[i]->name);
	vs = calloc(d->nr_vcpus, sizeof(*vs));
	if (!vs)
		return errbuf_set(eb, ENOMEM, "out of memory to start the restored domain");
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		vs[i] = (struct vcpu_start){ rs->v[i].up, rs->v[i].start_pending, rs->v[i].start_rip };
	r = domain_start_vcpus(d, vs, eb);
	free(vs);
	if (r < 0)
		return r;
	now = now_ns();
	for (unsigned i = 0; i < d->nr_vcpus; i++) {
		if (!rs->v[i].timer_period_ns)
			continue;
		r = domain_set_periodic_timer(d, &d->vcpus[i], rs->v[i].timer_period_ns);
		if (r < 0)
			return errbuf_set(eb, -r, "vCPU %u: its periodic timer: %s", i, strerror(-r));
		pthread_mutex_lock(&d->lock);
		d->vcpus[i].timer_next_ns = now + rs->v[i].timer_left_ns;
		pthread_mutex_unlock(&d->lock);
	}
	free(rs);
	d->reloc = NULL;
	return 0;
}
