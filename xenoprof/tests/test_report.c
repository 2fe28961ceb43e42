// SPDX-License-Identifier: MIT
/*
 * unit: the reports of a profile (xenoprof/report.c, report_svg.c) and the
 * names they use (names.c), on a profile made up here with known counts:
 *   domain "web" (2 vCPUs, image /images/web.elf):
 *     vCPU 0, in the guest: main -> mid -> leaf 60 samples, main -> mid 30,
 *             main 10 (a 60/30/10 split of its 100 samples)
 *     vCPU 1: in the hypervisor for an IO exit under main 20, for sched_op
 *             (no stack) 8; idle 12; recur -> recur -> recur under main 5
 *             (recursion: counted once per sample); an address no symbol
 *             holds under main 3
 *     backend thread 0 "blk q0" 15 samples with two host frames, thread 1
 *             (no name) 2; counters for both vCPUs, KVM statistics, a note
 *   domain "db;x y" (1 vCPU, image "/boot/db kernel"): do_query;v2 x 7,
 *     operator<&>"' 4, an address no symbol holds 2; it ended.
 * Every expected number is computed from those constants.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/kvm.h>

#include "jsondoc.h"
#include "names.h"
#include "profile.h"
#include "report.h"
#include "xenith/abi.h"

#define EXIT(n) XP_DETAIL(XP_CLASS_EXIT, KVM_EXIT_##n)
#define HCALL(n) XP_DETAIL(XP_CLASS_HCALL, __HYPERVISOR_##n)

/* the samples of the made-up profile */
enum {
	G_LEAF = 60, G_MID = 30, G_MAIN = 10,      /* web vCPU 0 */
	HV_IO = 20, HV_SCHED = 8, IDLE1 = 12,      /* web vCPU 1 */
	RECUR = 5, UNRES = 3,
	BACK0 = 15, BACK1 = 2,                     /* web's backend threads */
	DB_Q = 7, DB_OP = 4, DB_U = 2,             /* db vCPU 0 */
};
#define WEB_V0 (G_LEAF + G_MID + G_MAIN)
#define WEB_V1 (HV_IO + HV_SCHED + IDLE1 + RECUR + UNRES)
#define WEB_VCPU (WEB_V0 + WEB_V1)
#define WEB_GUEST (WEB_V0 + RECUR + UNRES)
#define WEB_HV (HV_IO + HV_SCHED)
#define WEB_BACKEND (BACK0 + BACK1)
#define DB_VCPU (DB_Q + DB_OP + DB_U)
#define ALL (WEB_VCPU + WEB_BACKEND + DB_VCPU)
#define NR_SAMPLE_RECS 13
#define DURATION_NS 2000000000ull

/* counters: web vCPU 0 and 1 */
#define IO0_N 100
#define IO0_NS 2000000
#define HLT0_N 10
#define HLT0_NS 500000
#define SCHED0_N 40
#define SCHED0_NS 1000000
#define IO1_N 50
#define IO1_NS 1000000
#define MMIO1_N 5
#define MMIO1_NS 4000000
#define EVT1_N 30
#define EVT1_NS 600000
#define WEB_EXIT_NS (IO0_NS + HLT0_NS + IO1_NS + MMIO1_NS)

static const char *const OP_NAME = "operator<&>\"'";

/* ---- building it ---- */

struct pb {
	uint8_t *buf;
	size_t n, cap;
	unsigned samples;
};

static void pb_raw(struct pb *b, const void *rec, size_t size)
{
	if (b->n + size > b->cap) {
		b->cap = (b->n + size) * 2 + 4096;
		b->buf = realloc(b->buf, b->cap);
		assert_non_null(b->buf);
	}
	memcpy(b->buf + b->n, rec, size);
	b->n += size;
}

static void pb_add(struct pb *b, const void *rec)
{
	struct xp_rec h;

	memcpy(&h, rec, sizeof(h));
	assert_true(h.size >= 8);
	b->samples += h.type == XP_REC_SAMPLE;
	pb_raw(b, rec, h.size);
}

static void pb_domain(struct pb *b, uint32_t dom, uint32_t nr_vcpus, const char *name, const char *image)
{
	struct xp_rec_domain d = { .h = { XP_REC_DOMAIN, 0, sizeof(d) }, .dom = dom, .domid = 3 + dom,
				   .nr_vcpus = nr_vcpus };

	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.image, sizeof(d.image), "%s", image);
	pb_add(b, &d);
}

static void pb_symbol(struct pb *b, uint32_t dom, uint64_t addr, uint64_t size, const char *name)
{
	uint8_t rec[128];

	assert_true(xp_make_symbol(rec, sizeof(rec), dom, addr, size, name) > 0);
	pb_add(b, rec);
}

static void pb_note(struct pb *b, uint16_t type, uint32_t dom, const char *text)
{
	uint8_t rec[256];

	assert_true(xp_make_note(rec, sizeof(rec), type, dom, text) > 0);
	pb_add(b, rec);
}

/* A sample: ips innermost first, ending in 0 (not part of the stack). */
static void pb_sample(struct pb *b, uint32_t dom, uint16_t vcpu, uint8_t where, uint32_t detail, uint32_t weight,
		      const uint64_t *ips)
{
	struct {
		struct xp_rec_sample s;
		uint64_t ips[XP_MAX_DEPTH];
	} r;
	unsigned depth = 0;

	memset(&r, 0, sizeof(r));
	while (ips && ips[depth])
		r.ips[depth] = ips[depth], depth++;
	r.s = (struct xp_rec_sample){ .h = { XP_REC_SAMPLE, 0, (uint32_t)xp_sample_size(depth) }, .dom = dom,
				      .vcpu = vcpu, .where = where, .depth = (uint8_t)depth, .detail = detail,
				      .weight = weight };
	pb_add(b, &r);
}

static void pb_counters(struct pb *b, uint32_t dom, uint16_t vcpu, uint64_t guest_ns, uint64_t idle_ns,
			uint64_t lost, const struct xp_counter *c, unsigned nr)
{
	struct {
		struct xp_rec_counters r;
		struct xp_counter c[8];
	} rec = { .r = { .h = { XP_REC_COUNTERS, 0, (uint32_t)xp_counters_size(nr) }, .dom = dom, .vcpu = vcpu,
			 .nr = (uint16_t)nr, .guest_ns = guest_ns, .idle_ns = idle_ns, .samples_lost = lost } };

	memcpy(rec.c, c, nr * sizeof(*c));
	pb_add(b, &rec);
}

static struct pb B;

/* The profile of the file's comment, parsed. */
static struct xp_profile *made_up(void)
{
	struct xp_header h;
	struct xp_rec_end end = { .h = { XP_REC_END, 0, sizeof(end) }, .duration_ns = DURATION_NS, .nr_lost = 4 };
	struct xp_profile *p = NULL;
	struct errbuf eb = { "" };
	uint8_t rec[256];

	memset(&B, 0, sizeof(B));
	xp_header_init(&h, "testhost", 997, 1700000000ull * 1000000000ull);
	pb_raw(&B, &h, sizeof(h));
	pb_note(&B, XP_REC_NOTE, UINT32_MAX, "sampling by timer: perf events unavailable");
	pb_domain(&B, 0, 2, "web", "/images/web.elf");
	pb_symbol(&B, 0, 0x1300, 0x100, "recur");
	pb_symbol(&B, 0, 0x1000, 0x100, "main");
	pb_symbol(&B, 0, 0x1200, 0x100, "leaf");
	pb_symbol(&B, 0, 0x1100, 0x100, "mid");
	pb_domain(&B, 1, 1, "db;x y", "/boot/db kernel");
	pb_symbol(&B, 1, 0x400000, 0x1000, "do_query;v2 x");
	pb_symbol(&B, 1, 0x402000, 0x1000, OP_NAME);
	assert_true(xp_make_thread_note(rec, sizeof(rec), 0, 0, "blk q0") > 0);
	pb_add(&B, rec);

	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, G_LEAF, (const uint64_t[]){ 0x1210, 0x1150, 0x1050, 0 });
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, G_MID, (const uint64_t[]){ 0x1160, 0x1050, 0 });
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, G_MAIN, (const uint64_t[]){ 0x1060, 0 });
	pb_sample(&B, 0, 1, XP_WHERE_HV, EXIT(IO), HV_IO, (const uint64_t[]){ 0x1070, 0 });
	pb_sample(&B, 0, 1, XP_WHERE_HV, HCALL(sched_op), HV_SCHED, NULL);
	pb_sample(&B, 0, 1, XP_WHERE_IDLE, 0, IDLE1, NULL);
	pb_sample(&B, 0, 1, XP_WHERE_GUEST, 0, RECUR, (const uint64_t[]){ 0x1310, 0x1320, 0x1330, 0x1080, 0 });
	pb_sample(&B, 0, 1, XP_WHERE_GUEST, 0, UNRES, (const uint64_t[]){ 0x5000, 0x1090, 0 });
	pb_sample(&B, 0, 0, XP_WHERE_BACKEND, 0, BACK0, (const uint64_t[]){ 0x7f0000001000, 0x7f0000002000, 0 });
	pb_sample(&B, 0, 1, XP_WHERE_BACKEND, 0, BACK1, NULL);
	pb_sample(&B, 1, 0, XP_WHERE_GUEST, 0, DB_Q, (const uint64_t[]){ 0x400010, 0 });
	pb_sample(&B, 1, 0, XP_WHERE_GUEST, 0, DB_OP, (const uint64_t[]){ 0x402010, 0 });
	pb_sample(&B, 1, 0, XP_WHERE_GUEST, 0, DB_U, (const uint64_t[]){ 0x9000, 0 });

	pb_counters(&B, 0, 0, 1500000000, 100000000, 1,
		    (const struct xp_counter[]){ { EXIT(IO), 0, IO0_N, IO0_NS }, { EXIT(HLT), 0, HLT0_N, HLT0_NS },
						 { HCALL(sched_op), 0, SCHED0_N, SCHED0_NS } }, 3);
	pb_counters(&B, 0, 1, 800000000, 900000000, 0,
		    (const struct xp_counter[]){ { EXIT(IO), 0, IO1_N, IO1_NS }, { EXIT(MMIO), 0, MMIO1_N, MMIO1_NS },
						 { HCALL(event_channel_op), 0, EVT1_N, EVT1_NS } }, 3);
	assert_true(xp_make_kvmstat(rec, sizeof(rec), 0, -1, 3, "remote_tlb_flush") > 0);
	pb_add(&B, rec);
	assert_true(xp_make_kvmstat(rec, sizeof(rec), 0, 0, 110, "exits") > 0);
	pb_add(&B, rec);
	assert_true(xp_make_kvmstat(rec, sizeof(rec), 0, 1, 0, "halt_exits") > 0);
	pb_add(&B, rec);
	pb_note(&B, XP_REC_NOTE, 0, "web: vCPU 1 was paused for 0.2 s");
	pb_note(&B, XP_REC_DOMEND, 1, "db: shut down (poweroff) at 1.2 s");
	end.nr_samples = B.samples;
	pb_add(&B, &end);
	assert_int_equal(B.samples, NR_SAMPLE_RECS);
	if (xp_parse(B.buf, B.n, &p, &eb))
		fail_msg("the made-up profile is refused: %s", eb.msg);
	return p;
}

static void done(struct xp_profile *p)
{
	xp_free(p);
	free(B.buf);
	memset(&B, 0, sizeof(B));
}

/* A report into a string. */
typedef int report_fn(const struct xp_profile *, FILE *, const struct xp_report_opts *);

static char *report(report_fn *fn, const struct xp_profile *p, const struct xp_report_opts *o, int want)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(fn(p, f, o), want);
	fclose(f);
	return text;
}

static double pct(double part, double whole)
{
	return 100.0 * part / whole;
}

static void has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("no \"%s\" in:\n%s", want, text);
}

static void has_not(const char *text, const char *unwanted)
{
	if (strstr(text, unwanted))
		fail_msg("\"%s\" in:\n%s", unwanted, text);
}

/* The row of a flat profile as the text report writes it. */
static void fn_row(char *buf, size_t size, unsigned self, unsigned total, unsigned denom, const char *name)
{
	snprintf(buf, size, "    %8u  %5.1f%%  %5.1f%%  %s\n", self, pct(self, denom), pct(total, denom), name);
}

/* ---- names ---- */

static void test_names_of_exits_hypercalls_and_details(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(xp_exit_name(KVM_EXIT_IO), "IO");
	assert_string_equal(xp_exit_name(KVM_EXIT_MMIO), "MMIO");
	assert_string_equal(xp_exit_name(KVM_EXIT_HLT), "HLT");
	assert_string_equal(xp_exit_name(KVM_EXIT_SHUTDOWN), "SHUTDOWN");
	assert_string_equal(xp_exit_name(KVM_EXIT_INTR), "INTR");
	assert_string_equal(xp_exit_name(KVM_EXIT_IRQ_WINDOW_OPEN), "IRQ_WINDOW_OPEN");
	assert_string_equal(xp_exit_name(KVM_EXIT_FAIL_ENTRY), "FAIL_ENTRY");
	assert_string_equal(xp_exit_name(KVM_EXIT_INTERNAL_ERROR), "INTERNAL_ERROR");
	assert_string_equal(xp_exit_name(KVM_EXIT_SYSTEM_EVENT), "SYSTEM_EVENT");
	assert_string_equal(xp_exit_name(KVM_EXIT_UNKNOWN), "UNKNOWN");
	assert_null(xp_exit_name(1000));
	assert_null(xp_exit_name(UINT32_MAX));
	assert_string_equal(xp_hcall_name(__HYPERVISOR_sched_op), "sched_op");
	assert_string_equal(xp_hcall_name(__HYPERVISOR_event_channel_op), "event_channel_op");
	assert_string_equal(xp_hcall_name(__HYPERVISOR_xenith_time), "xenith_time");
	assert_string_equal(xp_hcall_name(__HYPERVISOR_grant_table_op), "grant_table_op");
	assert_string_equal(xp_hcall_name(__HYPERVISOR_xenith_discard), "xenith_discard");
	assert_null(xp_hcall_name(13));
	assert_null(xp_hcall_name(XENITH_HYPERCALL_MAX));
	assert_string_equal(xp_detail_name(HCALL(sched_op), buf, sizeof(buf)), "hypercall sched_op");
	assert_string_equal(xp_detail_name(EXIT(MMIO), buf, sizeof(buf)), "exit MMIO");
	assert_string_equal(xp_detail_name(XP_DETAIL(XP_CLASS_HCALL, 99), buf, sizeof(buf)), "hypercall op 99");
	assert_string_equal(xp_detail_name(XP_DETAIL(XP_CLASS_EXIT, 77), buf, sizeof(buf)), "exit 77");
	assert_string_equal(xp_detail_name(0, buf, sizeof(buf)), "none");
	assert_string_equal(xp_detail_name(XP_DETAIL(5, 3), buf, sizeof(buf)), "detail 0x05000003");
	assert_string_equal(xp_detail_name(EXIT(MMIO), buf, 5), "exit");
}

/* ---- text ---- */

static void test_text_report_splits_samples_and_ranks_functions(void **state)
{
	struct xp_profile *p = made_up();
	char *t = report(xp_report_text, p, NULL, 0);
	char want[256];
	const char *leaf, *mid, *main_;

	(void)state;
	has(t, "Xenith profile of host testhost, started 2023-11-14 22:13:20 UTC\n");
	snprintf(want, sizeof(want), "997 Hz per vCPU for 2.000 s: %d samples in %d records, 4 lost\n", ALL,
		 NR_SAMPLE_RECS);
	has(t, want);
	has(t, "  note: sampling by timer: perf events unavailable\n");
	has(t, "domain web (domid 3, 2 vCPUs, pv, image /images/web.elf)\n");
	snprintf(want, sizeof(want), "vCPU samples: %d: guest %.1f%%, hypervisor %.1f%%, idle %.1f%%\n", WEB_VCPU,
		 pct(WEB_GUEST, WEB_VCPU), pct(WEB_HV, WEB_VCPU), pct(IDLE1, WEB_VCPU));
	has(t, want);
	snprintf(want, sizeof(want), "backend samples: %d, %.1f%% of the domain's vCPU samples\n", WEB_BACKEND,
		 pct(WEB_BACKEND, WEB_VCPU));
	has(t, want);
	has(t, "  note: web: vCPU 1 was paused for 0.2 s\n");
	has(t, "  note: backend thread 0: blk q0\n");

	/* the whole domain: self where the RIP was; total on the stack, hypervisor samples under main included */
	snprintf(want, sizeof(want), "guest functions, all vCPUs (%% of %d vCPU samples", WEB_VCPU);
	has(t, want);
	fn_row(want, sizeof(want), G_LEAF, G_LEAF, WEB_VCPU, "leaf");
	has(t, want);
	leaf = strstr(t, want);
	fn_row(want, sizeof(want), G_MID, G_LEAF + G_MID, WEB_VCPU, "mid");
	has(t, want);
	mid = strstr(t, want);
	fn_row(want, sizeof(want), G_MAIN, WEB_V0 + HV_IO + RECUR + UNRES, WEB_VCPU, "main");
	has(t, want);
	main_ = strstr(t, want);
	assert_true(leaf < mid && mid < main_); /* by self */
	/* recur is three frames deep in its samples: counted once each */
	fn_row(want, sizeof(want), RECUR, RECUR, WEB_VCPU, "recur");
	has(t, want);
	fn_row(want, sizeof(want), UNRES, UNRES, WEB_VCPU, "[web.elf]+0x5000");
	has(t, want);

	/* vCPU 0 alone: 60/30/10 of its 100 samples */
	snprintf(want, sizeof(want), "guest functions, vCPU 0 (%% of %d vCPU samples", WEB_V0);
	has(t, want);
	fn_row(want, sizeof(want), G_LEAF, G_LEAF, WEB_V0, "leaf");
	has(t, want);
	fn_row(want, sizeof(want), G_MID, G_LEAF + G_MID, WEB_V0, "mid");
	has(t, want);
	fn_row(want, sizeof(want), G_MAIN, WEB_V0, WEB_V0, "main");
	has(t, want);
	snprintf(want, sizeof(want), "guest functions, vCPU 1 (%% of %d vCPU samples", WEB_V1);
	has(t, want);

	/* the hypervisor's samples by what it did */
	snprintf(want, sizeof(want), "hypervisor samples by detail (%d samples, %.1f%% of vCPU samples)", WEB_HV,
		 pct(WEB_HV, WEB_VCPU));
	has(t, want);
	snprintf(want, sizeof(want), "    %8d  %5.1f%%  %5.1f%%  exit IO\n", HV_IO, pct(HV_IO, WEB_VCPU),
		 pct(HV_IO, WEB_HV));
	has(t, want);
	snprintf(want, sizeof(want), "    %8d  %5.1f%%  %5.1f%%  hypercall sched_op\n", HV_SCHED,
		 pct(HV_SCHED, WEB_VCPU), pct(HV_SCHED, WEB_HV));
	has(t, want);

	/* the counters: both vCPUs' IO exits add up; MMIO took the most time */
	snprintf(want, sizeof(want), "exits and hypercalls, all vCPUs (counters: hypervisor time %.3f ms over 2.000 s)",
		 WEB_EXIT_NS / 1e6);
	has(t, want);
	snprintf(want, sizeof(want), "    %10d  %10.1f  %10.3f  %9.2f  %5.1f%%  MMIO\n", MMIO1_N, MMIO1_N / 2.0,
		 MMIO1_NS / 1e6, MMIO1_NS / 1e3 / MMIO1_N, pct(MMIO1_NS, WEB_EXIT_NS));
	has(t, want);
	mid = strstr(t, want);
	snprintf(want, sizeof(want), "    %10d  %10.1f  %10.3f  %9.2f  %5.1f%%  IO\n", IO0_N + IO1_N,
		 (IO0_N + IO1_N) / 2.0, (IO0_NS + IO1_NS) / 1e6, (IO0_NS + IO1_NS) / 1e3 / (IO0_N + IO1_N),
		 pct(IO0_NS + IO1_NS, WEB_EXIT_NS));
	has(t, want);
	assert_true(mid < strstr(t, want)); /* by time */
	snprintf(want, sizeof(want), "    %10d  %10.1f  %10.3f  %9.2f  %5.1f%%  event_channel_op\n", EVT1_N,
		 EVT1_N / 2.0, EVT1_NS / 1e6, EVT1_NS / 1e3 / EVT1_N, pct(EVT1_NS, WEB_EXIT_NS));
	has(t, want);
	/* and per vCPU: vCPU 0's IO alone */
	has(t, "exits and hypercalls, vCPU 0 (counters: hypervisor time 2.500 ms over 2.000 s)");
	snprintf(want, sizeof(want), "    %10d  %10.1f  %10.3f  %9.2f  %5.1f%%  IO\n", IO0_N, IO0_N / 2.0, IO0_NS / 1e6,
		 IO0_NS / 1e3 / IO0_N, pct(IO0_NS, IO0_NS + HLT0_NS));
	has(t, want);

	/* time per vCPU from the counters */
	snprintf(want, sizeof(want), "     1  %8d  %5.1f%%  %5.1f%%  %5.1f%%  %10.3f  %10.3f  %6d\n", WEB_V1,
		 pct(RECUR + UNRES, WEB_V1), pct(WEB_HV, WEB_V1), pct(IDLE1, WEB_V1), 800.0, 900.0, 0);
	has(t, want);

	snprintf(want, sizeof(want), "    %-8s  %14d  remote_tlb_flush\n", "VM", 3);
	has(t, want);
	snprintf(want, sizeof(want), "    %-8s  %14d  exits\n", "vCPU 0", 110);
	has(t, want);
	has_not(t, "halt_exits");

	has(t, "domain db;x y (domid 4, 1 vCPU, pv, image /boot/db kernel)\n");
	has(t, "  ended during the recording: db: shut down (poweroff) at 1.2 s\n");
	/* no counters for db: its times are not known; one vCPU: no tables per vCPU */
	snprintf(want, sizeof(want), "     0  %8d  %5.1f%%  %5.1f%%  %5.1f%%  %10s  %10s  %6s\n", DB_VCPU, 100.0, 0.0,
		 0.0, "-", "-", "-");
	has(t, want);
	snprintf(want, sizeof(want), "guest functions, vCPU 0 (%% of %d vCPU samples", DB_VCPU);
	has_not(t, want);
	fn_row(want, sizeof(want), DB_U, DB_U, DB_VCPU, "[db kernel]+0x9000");
	has(t, want);
	fn_row(want, sizeof(want), DB_OP, DB_OP, DB_VCPU, OP_NAME);
	has(t, want);
	free(t);
	done(p);
}

static void test_text_report_takes_top_and_a_domain_filter(void **state)
{
	struct xp_profile *p = made_up();
	struct xp_report_opts o = { .top = 1 };
	char *t = report(xp_report_text, p, &o, 0);
	char want[256];

	(void)state;
	fn_row(want, sizeof(want), G_LEAF, G_LEAF, WEB_VCPU, "leaf");
	has(t, want);
	fn_row(want, sizeof(want), G_MID, G_LEAF + G_MID, WEB_VCPU, "mid");
	has_not(t, want);
	has(t, "    ... 4 more\n"); /* mid, main, recur and the address */
	free(t);

	o = (struct xp_report_opts){ .dom_filter = "db;x y" };
	t = report(xp_report_text, p, &o, 0);
	has(t, "domain db;x y");
	has_not(t, "domain web");
	free(t);

	o.dom_filter = "nope";
	t = report(xp_report_text, p, &o, -ENOENT);
	assert_string_equal(t, "");
	free(t);
	t = report(xp_report_folded, p, &o, -ENOENT);
	free(t);
	t = report(xp_report_json, p, &o, -ENOENT);
	free(t);
	t = report(xp_report_svg, p, &o, -ENOENT);
	free(t);
	done(p);
}

/* ---- folded ---- */

static void test_folded_stacks_root_first_one_line_per_stack(void **state)
{
	struct xp_profile *p = made_up();
	struct xp_report_opts o = { .dom_filter = "db;x y" };
	char *t = report(xp_report_folded, p, NULL, 0);
	char want[2048];

	(void)state;
	/* sorted frame by frame; ';' and ' ' in names become '_' */
	snprintf(want, sizeof(want),
		 "db_x_y;vcpu0;[db_kernel]+0x9000 %d\n"
		 "db_x_y;vcpu0;do_query_v2_x %d\n"
		 "db_x_y;vcpu0;%s %d\n"
		 "web;[backend] 1 %d\n"
		 "web;[backend] blk_q0;[vmm]+0x7f0000002000;[vmm]+0x7f0000001000 %d\n"
		 "web;vcpu0;main %d\n"
		 "web;vcpu0;main;mid %d\n"
		 "web;vcpu0;main;mid;leaf %d\n"
		 "web;vcpu1;[hv] hypercall sched_op %d\n"
		 "web;vcpu1;[idle] %d\n"
		 "web;vcpu1;main;[hv] exit IO %d\n"
		 "web;vcpu1;main;[web.elf]+0x5000 %d\n"
		 "web;vcpu1;main;recur;recur;recur %d\n",
		 DB_U, DB_Q, OP_NAME, DB_OP, BACK1, BACK0, G_MAIN, G_MID, G_LEAF, HV_SCHED, IDLE1, HV_IO, UNRES, RECUR);
	assert_string_equal(t, want);
	free(t);

	t = report(xp_report_folded, p, &o, 0);
	snprintf(want, sizeof(want),
		 "db_x_y;vcpu0;[db_kernel]+0x9000 %d\n"
		 "db_x_y;vcpu0;do_query_v2_x %d\n"
		 "db_x_y;vcpu0;%s %d\n", DB_U, DB_Q, OP_NAME, DB_OP);
	assert_string_equal(t, want);
	free(t);
	done(p);
}

static void test_folded_merges_samples_of_one_stack(void **state)
{
	struct xp_profile *p;
	struct errbuf eb = { "" };
	struct xp_header h;
	struct xp_rec_end end = { .h = { XP_REC_END, 0, sizeof(end) }, .nr_samples = 3 };
	char *t;

	(void)state;
	memset(&B, 0, sizeof(B));
	xp_header_init(&h, "h", 100, 0);
	pb_raw(&B, &h, sizeof(h));
	pb_domain(&B, 0, 1, "d", "");
	pb_symbol(&B, 0, 0x100, 0x10, "f");
	/* three records, one stack: 0x104 and 0x108 are both f */
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, 1, (const uint64_t[]){ 0x104, 0 });
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, 2, (const uint64_t[]){ 0x108, 0 });
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, 4, (const uint64_t[]){ 0x104, 0 });
	pb_add(&B, &end);
	assert_int_equal(xp_parse(B.buf, B.n, &p, &eb), 0);
	t = report(xp_report_folded, p, NULL, 0);
	assert_string_equal(t, "d;vcpu0;f 7\n");
	free(t);
	done(p);
}

/*
 * A call that is the last instruction of g returns to g's end (the next
 * function's start): the return address names its caller one byte back.
 * The innermost frame is a RIP, taken as it is.
 */
static void test_return_address_at_the_end_of_a_function_is_its_caller(void **state)
{
	struct xp_profile *p;
	struct errbuf eb = { "" };
	struct xp_header h;
	struct xp_rec_end end = { .h = { XP_REC_END, 0, sizeof(end) }, .nr_samples = 2 };
	char *t;

	(void)state;
	memset(&B, 0, sizeof(B));
	xp_header_init(&h, "h", 100, 0);
	pb_raw(&B, &h, sizeof(h));
	pb_domain(&B, 0, 1, "d", "");
	pb_symbol(&B, 0, 0x100, 0x10, "f");
	pb_symbol(&B, 0, 0x200, 0x10, "g");
	pb_symbol(&B, 0, 0x210, 0x10, "h");
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, 1, (const uint64_t[]){ 0x104, 0x210, 0 });
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, 2, (const uint64_t[]){ 0x210, 0 });
	pb_add(&B, &end);
	assert_int_equal(xp_parse(B.buf, B.n, &p, &eb), 0);
	t = report(xp_report_folded, p, NULL, 0);
	assert_string_equal(t, "d;vcpu0;g;f 1\n"
			       "d;vcpu0;h 2\n");
	free(t);
	done(p);
}

/* ---- JSON ---- */

static const struct jv *item(const struct jv *arr, size_t i)
{
	assert_non_null(arr);
	assert_int_equal(arr->type, JV_ARR);
	assert_true(i < arr->n);
	return &arr->items[i];
}

/* The element of array arr whose "name" is name. */
static const struct jv *named(const struct jv *arr, const char *name)
{
	assert_non_null(arr);
	for (size_t i = 0; i < arr->n; i++)
		if (!strcmp(jv_str(&arr->items[i], "name", ""), name))
			return &arr->items[i];
	fail_msg("no \"%s\"", name);
	return NULL;
}

#define assert_near(a, b) assert_true(fabs_((a) - (b)) < 1e-3)

static double fabs_(double x)
{
	return x < 0 ? -x : x;
}

static void test_json_report_says_what_the_text_says(void **state)
{
	struct xp_profile *p = made_up();
	char *t = report(xp_report_json, p, NULL, 0);
	char err[128] = "";
	struct jv *doc = jv_parse(t, err, sizeof(err));
	const struct jv *web, *db, *fns, *row, *v0, *s;

	(void)state;
	if (!doc)
		fail_msg("not JSON (%s):\n%s", err, t);
	assert_string_equal(jv_str(doc, "host", ""), "testhost");
	assert_near(jv_num(doc, "freq_hz", 0), 997);
	assert_near(jv_num(doc, "duration_ns", 0), (double)DURATION_NS);
	assert_near(jv_num(doc, "samples", 0), ALL);
	assert_near(jv_num(doc, "sample_records", 0), NR_SAMPLE_RECS);
	assert_near(jv_num(doc, "lost", 0), 4);
	assert_string_equal(item(jv_get(doc, "notes"), 0)->str, "sampling by timer: perf events unavailable");
	assert_int_equal(jv_get(doc, "domains")->n, 2);

	web = item(jv_get(doc, "domains"), 0);
	assert_string_equal(jv_str(web, "name", ""), "web");
	assert_near(jv_num(web, "domid", 0), 3);
	assert_near(jv_num(web, "vcpus", 0), 2);
	assert_string_equal(jv_str(web, "image", ""), "/images/web.elf");
	s = jv_get(web, "samples");
	assert_near(jv_num(s, "vcpu", 0), WEB_VCPU);
	assert_near(jv_num(s, "guest", 0), WEB_GUEST);
	assert_near(jv_num(s, "hv", 0), WEB_HV);
	assert_near(jv_num(s, "idle", 0), IDLE1);
	assert_near(jv_num(s, "backend", 0), WEB_BACKEND);
	assert_near(jv_num(web, "guest_pct", 0), pct(WEB_GUEST, WEB_VCPU));
	assert_near(jv_num(web, "hv_pct", 0), pct(WEB_HV, WEB_VCPU));
	assert_near(jv_num(web, "idle_pct", 0), pct(IDLE1, WEB_VCPU));
	assert_near(jv_num(web, "backend_pct_of_vcpu", 0), pct(WEB_BACKEND, WEB_VCPU));
	assert_true(jv_get(web, "ended")->type == JV_NULL);

	fns = jv_get(jv_get(web, "functions"), "functions");
	assert_string_equal(jv_str(item(fns, 0), "name", ""), "leaf"); /* by self */
	row = named(fns, "main");
	assert_near(jv_num(row, "self", 0), G_MAIN);
	assert_near(jv_num(row, "total", 0), WEB_V0 + HV_IO + RECUR + UNRES);
	assert_near(jv_num(row, "total_pct", 0), pct(WEB_V0 + HV_IO + RECUR + UNRES, WEB_VCPU));
	row = named(fns, "recur");
	assert_near(jv_num(row, "total", 0), RECUR);
	row = named(fns, "[web.elf]+0x5000");
	assert_false(jv_bool(row, "symbolized", true));
	assert_near(jv_num(row, "self_pct", 0), pct(UNRES, WEB_VCPU));

	row = item(jv_get(web, "hv_details"), 0);
	assert_string_equal(jv_str(row, "detail", ""), "exit IO");
	assert_near(jv_num(row, "samples", 0), HV_IO);
	assert_near(jv_num(row, "hv_pct", 0), pct(HV_IO, WEB_HV));

	assert_near(jv_num(web, "hv_ns", 0), WEB_EXIT_NS);
	row = item(jv_get(web, "exits"), 0);
	assert_string_equal(jv_str(row, "name", ""), "MMIO");
	assert_near(jv_num(row, "count", 0), MMIO1_N);
	assert_near(jv_num(row, "per_s", 0), MMIO1_N / 2.0);
	assert_near(jv_num(row, "time_ns", 0), MMIO1_NS);
	assert_near(jv_num(row, "mean_us", 0), MMIO1_NS / 1e3 / MMIO1_N);
	assert_near(jv_num(row, "hv_pct", 0), pct(MMIO1_NS, WEB_EXIT_NS));
	row = named(jv_get(web, "exits"), "IO");
	assert_near(jv_num(row, "count", 0), IO0_N + IO1_N);
	row = item(jv_get(web, "hypercalls"), 0);
	assert_string_equal(jv_str(row, "name", ""), "sched_op");
	assert_near(jv_num(row, "number", 0), __HYPERVISOR_sched_op);
	assert_int_equal(jv_get(web, "hypercalls")->n, 2);

	assert_int_equal(jv_get(web, "kvm_stats")->n, 2);
	row = item(jv_get(web, "kvm_stats"), 0);
	assert_near(jv_num(row, "vcpu", 0), -1);
	assert_string_equal(jv_str(row, "name", ""), "remote_tlb_flush");
	assert_near(jv_num(row, "value", 0), 3);
	assert_string_equal(item(jv_get(web, "notes"), 1)->str, "web: vCPU 1 was paused for 0.2 s");

	v0 = item(jv_get(web, "per_vcpu"), 0);
	assert_near(jv_num(v0, "guest_ns", 0), 1500000000);
	assert_near(jv_num(v0, "samples_lost", 0), 1);
	assert_near(jv_num(v0, "guest_pct", 0), 100);
	row = item(jv_get(jv_get(v0, "functions"), "functions"), 0);
	assert_string_equal(jv_str(row, "name", ""), "leaf");
	assert_near(jv_num(row, "self_pct", 0), 60);
	row = named(jv_get(jv_get(v0, "functions"), "functions"), "mid");
	assert_near(jv_num(row, "total_pct", 0), 90);
	row = item(jv_get(v0, "exits"), 0);
	assert_string_equal(jv_str(row, "name", ""), "IO");
	assert_near(jv_num(row, "hv_pct", 0), pct(IO0_NS, IO0_NS + HLT0_NS));

	db = item(jv_get(doc, "domains"), 1);
	assert_string_equal(jv_str(db, "name", ""), "db;x y");
	assert_string_equal(jv_str(db, "ended", ""), "db: shut down (poweroff) at 1.2 s");
	fns = jv_get(jv_get(db, "functions"), "functions");
	row = named(fns, OP_NAME); /* quotes survive the round trip */
	assert_near(jv_num(row, "self", 0), DB_OP);
	named(fns, "[db kernel]+0x9000");
	jv_free(doc);
	free(t);
	done(p);
}

/* ---- SVG ---- */

/*
 * python3 parses the SVG (any XML error fails the test) and prints per
 * frame its title, fill and width; NULL (the caller skips) without python3.
 */
static char *svg_frames(const char *svg)
{
	static const char script[] =
		"import sys, xml.etree.ElementTree as E\n"
		"ns = '{http://www.w3.org/2000/svg}'\n"
		"root = E.parse(sys.argv[1]).getroot()\n"
		"assert root.tag == ns + 'svg', root.tag\n"
		"for g in root.iter(ns + 'g'):\n"
		"    r = g.find(ns + 'rect')\n"
		"    print(g.find(ns + 'title').text + '|' + r.get('fill') + '|' + r.get('width'))\n";
	char svg_path[] = "/tmp/xp-svg-XXXXXX", py_path[] = "/tmp/xp-svg-XXXXXX.py", cmd[128], chunk[4096];
	char *out = NULL;
	size_t len = 0, n;
	FILE *f, *py, *o;
	int rc;

	if (system("python3 -c 'import xml.etree.ElementTree' >/dev/null 2>&1"))
		return NULL;
	assert_non_null(f = fdopen(mkstemp(svg_path), "w"));
	fputs(svg, f);
	fclose(f);
	assert_non_null(f = fdopen(mkstemps(py_path, 3), "w"));
	fputs(script, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "python3 %s %s 2>&1", py_path, svg_path);
	assert_non_null(py = popen(cmd, "r"));
	assert_non_null(o = open_memstream(&out, &len));
	while ((n = fread(chunk, 1, sizeof(chunk), py)) > 0)
		fwrite(chunk, 1, n, o);
	fclose(o);
	rc = pclose(py);
	unlink(svg_path);
	unlink(py_path);
	if (rc)
		fail_msg("python3 refused the SVG: %s\n%s", out, svg);
	return out;
}

/* The frame of frames (a "title|fill|width" per line) whose title is title; its fill's r, g, b. */
static void frame(const char *frames, const char *title, unsigned rgb[3])
{
	char want[256];
	const char *at;

	snprintf(want, sizeof(want), "%s|rgb(", title);
	at = strstr(frames, want);
	if (!at || (at != frames && at[-1] != '\n'))
		fail_msg("no frame \"%s\" in:\n%s", title, frames);
	assert_int_equal(sscanf(at + strlen(want), "%u,%u,%u", &rgb[0], &rgb[1], &rgb[2]), 3);
}

static void title(char *buf, size_t size, const char *name, unsigned samples)
{
	snprintf(buf, size, "%s (%u samples, %.2f%%)", name, samples, pct(samples, ALL));
}

static void test_svg_is_xml_with_a_frame_per_merged_stack_position(void **state)
{
	struct xp_profile *p = made_up();
	char *svg = report(xp_report_svg, p, NULL, 0), *frames = svg_frames(svg);
	char want[256];
	unsigned rgb[3], lines = 0;

	(void)state;
	if (!frames) {
		free(svg);
		done(p);
		skip();
	}
	/* all, web, its 2 backend threads and 2 host frames, vcpu0 main mid leaf, vcpu1 and its
	 * 8 frames ([hv] x2, [idle], main, the address, recur x3), db and its 4 */
	for (const char *c = frames; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 1 + 1 + 4 + 4 + 9 + 5);
	title(want, sizeof(want), "all", ALL);
	frame(frames, want, rgb);
	title(want, sizeof(want), "web", WEB_VCPU + WEB_BACKEND);
	frame(frames, want, rgb);
	/* main under vcpu0 and main under vcpu1 are two frames */
	title(want, sizeof(want), "main", WEB_V0);
	frame(frames, want, rgb);
	assert_true(rgb[0] >= 200 && rgb[2] <= 55); /* guest: warm */
	title(want, sizeof(want), "main", HV_IO + RECUR + UNRES);
	frame(frames, want, rgb);
	title(want, sizeof(want), "leaf", G_LEAF);
	frame(frames, want, rgb);
	title(want, sizeof(want), "recur", RECUR); /* three of them, each with all 5 */
	frame(frames, want, rgb);
	title(want, sizeof(want), "[hv] exit IO", HV_IO);
	frame(frames, want, rgb);
	assert_true(rgb[2] >= 200 && rgb[0] < 150); /* hypervisor: blue */
	title(want, sizeof(want), "[idle]", IDLE1);
	frame(frames, want, rgb);
	assert_true(rgb[0] == rgb[1] && rgb[1] == rgb[2]); /* idle: grey */
	title(want, sizeof(want), "[backend] blk_q0", BACK0);
	frame(frames, want, rgb);
	assert_true(rgb[1] > rgb[0] && rgb[1] > rgb[2]); /* backend: green */
	title(want, sizeof(want), "[vmm]+0x7f0000001000", BACK0);
	frame(frames, want, rgb);
	assert_true(rgb[1] > rgb[0] && rgb[1] > rgb[2]);
	title(want, sizeof(want), OP_NAME, DB_OP); /* escaped in the SVG, itself again in the parse */
	frame(frames, want, rgb);
	has(svg, "operator&lt;&amp;&gt;&quot;&apos;");
	free(frames);
	free(svg);
	done(p);
}

/*
 * Host kernel samples (XP_WHERE_KVM, perf's): the VMM's sampler saw that
 * time as guest time, so per vCPU up to its guest samples move to the
 * hypervisor's share.  vCPU 0: guest 10, kernel 5 (all move); vCPU 1: guest
 * 1, kernel 3 (1 moves).
 */
enum { KG0 = 10, KHV0 = 2, KK0A = 4, KK0B = 1, KG1 = 1, KK1 = 3 };
#define K_MOVED (KK0A + KK0B + KG1)
#define K_VCPU (KG0 + KHV0 + KG1)

static void test_host_kernel_samples_move_from_guest_to_hypervisor(void **state)
{
	struct xp_profile *p;
	struct errbuf eb = { "" };
	struct xp_header h;
	struct xp_rec_end end = { .h = { XP_REC_END, 0, sizeof(end) }, .nr_samples = 6 };
	char *t, *frames, want[1024], err[128] = "";
	const struct jv *dom, *row;
	struct jv *doc;
	unsigned rgb[3];

	(void)state;
	memset(&B, 0, sizeof(B));
	xp_header_init(&h, "h", 100, 0);
	pb_raw(&B, &h, sizeof(h));
	pb_domain(&B, 0, 2, "k", "/img/k.elf");
	pb_symbol(&B, 0, 0x100, 0x100, "f");
	pb_symbol(&B, 0, 0xffffffff81000000ull, 0x1000, "[k] vmx_vcpu_run");
	pb_symbol(&B, 0, 0xffffffff81002000ull, 0x1000, "[k] kvm_arch_vcpu_ioctl_run");
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, KG0, (const uint64_t[]){ 0x110, 0 });
	pb_sample(&B, 0, 0, XP_WHERE_HV, EXIT(IO), KHV0, NULL);
	pb_sample(&B, 0, 0, XP_WHERE_KVM, 0, KK0A,
		  (const uint64_t[]){ 0xffffffff81000010ull, 0xffffffff81002100ull, 0 });
	pb_sample(&B, 0, 0, XP_WHERE_KVM, 0, KK0B, (const uint64_t[]){ 0xffffffff82000000ull, 0 });
	pb_sample(&B, 0, 1, XP_WHERE_GUEST, 0, KG1, (const uint64_t[]){ 0x120, 0 });
	pb_sample(&B, 0, 1, XP_WHERE_KVM, 0, KK1, (const uint64_t[]){ 0xffffffff81000020ull, 0 });
	pb_add(&B, &end);
	assert_int_equal(xp_parse(B.buf, B.n, &p, &eb), 0);

	t = report(xp_report_text, p, NULL, 0);
	snprintf(want, sizeof(want), "vCPU samples: %d: guest %.1f%%, hypervisor %.1f%% "
		 "(in the VMM %.1f%%, in the host kernel %.1f%%), idle 0.0%%\n", K_VCPU, pct(KG0 + KG1 - K_MOVED, K_VCPU), pct(KHV0 + K_MOVED, K_VCPU),
		 pct(KHV0, K_VCPU), pct(K_MOVED, K_VCPU));
	has(t, want);
	snprintf(want, sizeof(want), "host kernel samples: %d (perf, CPU time in KVM for the vCPUs), %d of them moved",
		 KK0A + KK0B + KK1, K_MOVED);
	has(t, want);
	snprintf(want, sizeof(want), "host kernel functions, all vCPUs (%% of %d vCPU samples", K_VCPU);
	has(t, want);
	fn_row(want, sizeof(want), KK0A + KK1, KK0A + KK1, K_VCPU, "[k] vmx_vcpu_run");
	has(t, want);
	fn_row(want, sizeof(want), 0, KK0A, K_VCPU, "[k] kvm_arch_vcpu_ioctl_run");
	has(t, want);
	fn_row(want, sizeof(want), KK0B, KK0B, K_VCPU, "[kernel]+0xffffffff82000000");
	has(t, want);
	snprintf(want, sizeof(want), "    %8d  %5.1f%%  %5.1f%%  host kernel (KVM)\n", K_MOVED, pct(K_MOVED, K_VCPU),
		 pct(K_MOVED, K_MOVED + KHV0));
	has(t, want);
	/* vCPU 1: its 1 guest sample went to the kernel */
	snprintf(want, sizeof(want), "     1  %8d  %5.1f%%  %5.1f%%", KG1, 0.0, 100.0);
	has(t, want);
	free(t);

	t = report(xp_report_folded, p, NULL, 0);
	snprintf(want, sizeof(want),
		 "k;vcpu0;[hv] exit IO %d\n"
		 "k;vcpu0;[kvm];[k]_kvm_arch_vcpu_ioctl_run;[k]_vmx_vcpu_run %d\n"
		 "k;vcpu0;[kvm];[kernel]+0xffffffff82000000 %d\n"
		 "k;vcpu0;f %d\n"
		 "k;vcpu1;[kvm];[k]_vmx_vcpu_run %d\n"
		 "k;vcpu1;f %d\n", KHV0, KK0A, KK0B, KG0, KK1, KG1);
	assert_string_equal(t, want);
	free(t);

	t = report(xp_report_json, p, NULL, 0);
	if (!(doc = jv_parse(t, err, sizeof(err))))
		fail_msg("not JSON (%s):\n%s", err, t);
	dom = item(jv_get(doc, "domains"), 0);
	assert_near(jv_num(jv_get(dom, "samples"), "guest", 0), KG0 + KG1 - K_MOVED);
	assert_near(jv_num(jv_get(dom, "samples"), "hv_kernel", 0), K_MOVED);
	assert_near(jv_num(jv_get(dom, "samples"), "kvm", 0), KK0A + KK0B + KK1);
	row = item(jv_get(jv_get(dom, "kernel_functions"), "functions"), 0);
	assert_string_equal(jv_str(row, "name", ""), "[k] vmx_vcpu_run");
	assert_near(jv_num(row, "self", 0), KK0A + KK1);
	row = item(jv_get(dom, "hv_details"), 0);
	assert_string_equal(jv_str(row, "detail", ""), "host kernel (KVM)");
	assert_true(jv_get(row, "code")->type == JV_NULL);
	jv_free(doc);
	free(t);

	t = report(xp_report_svg, p, NULL, 0);
	if ((frames = svg_frames(t))) {
		snprintf(want, sizeof(want), "[k]_vmx_vcpu_run (%d samples, %.2f%%)", KK1,
			 pct(KK1, KG0 + KHV0 + KK0A + KK0B + KG1 + KK1));
		frame(frames, want, rgb);
		assert_true(rgb[2] >= 220 && rgb[0] < 150); /* the hypervisor's, in the kernel: light blue */
		free(frames);
	}
	free(t);
	done(p);
}

static void test_reports_of_names_that_are_not_text(void **state)
{
	struct xp_profile *p;
	struct errbuf eb = { "" };
	struct xp_header h;
	struct xp_rec_end end = { .h = { XP_REC_END, 0, sizeof(end) }, .nr_samples = 1 };
	char *t, *frames, err[128] = "";
	struct jv *doc;

	(void)state;
	memset(&B, 0, sizeof(B));
	xp_header_init(&h, "h\x1b[2J", 100, 0);
	pb_raw(&B, &h, sizeof(h));
	pb_domain(&B, 0, 1, "bad\xff\xfe", "");
	pb_symbol(&B, 0, 0x100, 0x10, "f\x1b[31m\xc3");
	pb_note(&B, XP_REC_NOTE, 0, "line\nbreak\t\"quoted\" \xe2\x82\xac");
	pb_sample(&B, 0, 0, XP_WHERE_GUEST, 0, 1, (const uint64_t[]){ 0x104, 0x2000, 0 });
	pb_add(&B, &end);
	assert_int_equal(xp_parse(B.buf, B.n, &p, &eb), 0);

	t = report(xp_report_text, p, NULL, 0);
	has_not(t, "\x1b");
	has(t, "host h?[2J");
	has(t, "domain bad?? ");
	has(t, "f?[31m?\n");
	has(t, "note: line?break?\"quoted\" \xe2\x82\xac\n"); /* valid UTF-8 stays */
	has(t, "[guest]+0x2000"); /* no image */
	free(t);

	t = report(xp_report_folded, p, NULL, 0);
	assert_string_equal(t, "bad__;vcpu0;[guest]+0x2000;f_[31m_ 1\n");
	free(t);

	t = report(xp_report_json, p, NULL, 0);
	doc = jv_parse(t, err, sizeof(err));
	if (!doc)
		fail_msg("not JSON (%s):\n%s", err, t);
	assert_string_equal(jv_str(item(jv_get(doc, "domains"), 0), "name", ""), "bad??");
	assert_string_equal(item(jv_get(item(jv_get(doc, "domains"), 0), "notes"), 0)->str,
			    "line?break?\"quoted\" \xe2\x82\xac");
	jv_free(doc);
	free(t);

	t = report(xp_report_svg, p, NULL, 0);
	has_not(t, "\x1b");
	if ((frames = svg_frames(t))) {
		has(frames, "f_[31m_ (1 samples, 100.00%)");
		free(frames);
	}
	free(t);
	done(p);
}

static void test_reports_of_a_profile_without_samples(void **state)
{
	struct xp_profile *p;
	struct errbuf eb = { "" };
	struct xp_header h;
	struct xp_rec_end end = { .h = { XP_REC_END, 0, sizeof(end) } };
	char *t, *frames, err[128] = "";
	struct jv *doc;

	(void)state;
	memset(&B, 0, sizeof(B));
	xp_header_init(&h, "h", 100, 0);
	pb_raw(&B, &h, sizeof(h));
	pb_domain(&B, 0, 0, "empty", "");
	pb_add(&B, &end);
	assert_int_equal(xp_parse(B.buf, B.n, &p, &eb), 0);
	t = report(xp_report_text, p, NULL, 0);
	has(t, "vCPU samples: 0: guest 0.0%, hypervisor 0.0%, idle 0.0%\n");
	has(t, "(no guest addresses)");
	free(t);
	t = report(xp_report_folded, p, NULL, 0);
	assert_string_equal(t, "");
	free(t);
	t = report(xp_report_json, p, NULL, 0);
	doc = jv_parse(t, err, sizeof(err));
	if (!doc)
		fail_msg("not JSON (%s):\n%s", err, t);
	assert_int_equal(jv_get(item(jv_get(doc, "domains"), 0), "per_vcpu")->n, 0);
	jv_free(doc);
	free(t);
	t = report(xp_report_svg, p, NULL, 0);
	has(t, ": 0 samples</text>");
	if ((frames = svg_frames(t))) {
		assert_string_equal(frames, "");
		free(frames);
	}
	free(t);
	done(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_of_exits_hypercalls_and_details),
		cmocka_unit_test(test_text_report_splits_samples_and_ranks_functions),
		cmocka_unit_test(test_text_report_takes_top_and_a_domain_filter),
		cmocka_unit_test(test_folded_stacks_root_first_one_line_per_stack),
		cmocka_unit_test(test_folded_merges_samples_of_one_stack),
		cmocka_unit_test(test_return_address_at_the_end_of_a_function_is_its_caller),
		cmocka_unit_test(test_json_report_says_what_the_text_says),
		cmocka_unit_test(test_svg_is_xml_with_a_frame_per_merged_stack_position),
		cmocka_unit_test(test_host_kernel_samples_move_from_guest_to_hypervisor),
		cmocka_unit_test(test_reports_of_names_that_are_not_text),
		cmocka_unit_test(test_reports_of_a_profile_without_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
