// SPDX-License-Identifier: MIT
/*
 * unit tier: sriov/nvme_virt.c against a model of an SR-IOV NVMe
 * controller's virtualization management, with the rules of NVMe 1.4
 * section 8.5 as QEMU 7.2 applies them: the primary's flexible allocation
 * takes effect at its next reset; a secondary is given resources only while
 * offline, goes online only with its VF enabled, at least 2 queues and 1
 * interrupt; resources never exceed the flexible total.  The tests check the
 * command sequence nvme_virt_online sends, the state it leaves, and that a
 * request the controller cannot satisfy is refused before anything changes.
 * Also the parsers of the two Identify structures.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "nvme_virt.h"

#define NSEC 4

struct model {
	/* the primary */
	uint32_t vqfrt, vifrt;
	uint16_t vqrfap, virfap, next_vqrfap, next_virfap, vqfrsm, vifrsm;
	/* the secondaries: VF i + 1 is controller i + 1 */
	bool online[NSEC];
	uint16_t nvq[NSEC], nvi[NSEC];
	unsigned vfs_enabled;
	/* what was sent: "I14", "I15", "M<act>.<rt>.<ctrl>.<nr>", "R" */
	char log[64][32];
	unsigned nlog, resets;
	int fail_enable; /* enable_vfs returns this when non-zero */
};

static void logf_(struct model *m, const char *fmt, ...)
{
	va_list ap;

	assert_true(m->nlog < 64);
	va_start(ap, fmt);
	vsnprintf(m->log[m->nlog++], sizeof(m->log[0]), fmt, ap);
	va_end(ap);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

static uint32_t assigned(const struct model *m, bool vq)
{
	uint32_t sum = 0;

	for (int i = 0; i < NSEC; i++)
		sum += vq ? m->nvq[i] : m->nvi[i];
	return sum;
}

static int model_cmd(void *ctx, uint8_t op, uint32_t cdw10, uint32_t cdw11, void *data, uint32_t len)
{
	struct model *m = ctx;

	if (op == 0x06) {
		uint8_t *b = data;

		assert_int_equal(len, 4096);
		memset(b, 0, len);
		logf_(m, "I%02x", cdw10 & 0xff);
		if ((cdw10 & 0xff) == 0x14) {
			b[4] = 3;
			put32(b + 32, m->vqfrt);
			put32(b + 36, assigned(m, true));
			put16(b + 40, m->vqrfap);
			put16(b + 42, 4);
			put16(b + 44, m->vqfrsm);
			put16(b + 46, 1);
			put32(b + 64, m->vifrt);
			put32(b + 68, assigned(m, false));
			put16(b + 72, m->virfap);
			put16(b + 74, 1);
			put16(b + 76, m->vifrsm);
			put16(b + 78, 1);
		} else if ((cdw10 & 0xff) == 0x15) {
			b[0] = NSEC;
			for (int i = 0; i < NSEC; i++) {
				uint8_t *e = b + 32 * (i + 1);

				put16(e, i + 1);
				e[4] = m->online[i];
				put16(e + 8, i + 1);
				put16(e + 10, m->nvq[i]);
				put16(e + 12, m->nvi[i]);
			}
		} else
			return 0x0002;
		return 0;
	}
	assert_int_equal(op, 0x1c);
	unsigned act = cdw10 & 0xf, rt = cdw10 >> 8 & 7, ctrl = cdw10 >> 16, nr = cdw11 & 0xffff;
	logf_(m, "M%u.%u.%u.%u", act, rt, ctrl, nr);
	if (act == 1) {
		if (ctrl != 0)
			return 0x011f;
		if (rt == 0)
			m->next_vqrfap = (uint16_t)nr;
		else
			m->next_virfap = (uint16_t)nr;
		return 0;
	}
	if (ctrl < 1 || ctrl > NSEC)
		return 0x011f;
	unsigned i = ctrl - 1;
	switch (act) {
	case 7:
		m->online[i] = false;
		return 0;
	case 8: {
		uint16_t *cur = rt == 0 ? &m->nvq[i] : &m->nvi[i];
		uint32_t total = rt == 0 ? m->vqfrt : m->vifrt, prim = rt == 0 ? m->vqrfap : m->virfap;
		uint32_t max = rt == 0 ? m->vqfrsm : m->vifrsm;

		if (m->online[i])
			return 0x0120;
		if (nr > max || assigned(m, rt == 0) - *cur + nr + prim > total)
			return 0x0121;
		*cur = (uint16_t)nr;
		return 0;
	}
	case 9:
		if (m->online[i] || i >= m->vfs_enabled || m->nvq[i] < 2 || m->nvi[i] < 1)
			return 0x0120;
		m->online[i] = true;
		return 0;
	}
	return 0x0002;
}

static int model_reset(void *ctx)
{
	struct model *m = ctx;

	logf_(m, "R");
	m->resets++;
	m->vqrfap = m->next_vqrfap;
	m->virfap = m->next_virfap;
	return 0;
}

static int model_enable(void *arg, unsigned n, struct errbuf *eb)
{
	struct model *m = arg;

	logf_(m, "E%u", n);
	if (m->fail_enable)
		return errbuf_set(eb, m->fail_enable, "sriov_numvfs refused");
	if (m->vfs_enabled < n)
		m->vfs_enabled = n;
	return 0;
}

/* QEMU's lab controller: 8 flexible queues, 4 interrupts, all held by the primary. */
static struct model lab(void)
{
	return (struct model){ .vqfrt = 8, .vifrt = 4, .vqrfap = 8, .virfap = 4, .next_vqrfap = 8, .next_virfap = 4,
			       .vqfrsm = 8, .vifrsm = 4 };
}

static struct nvme_admin admin_of(struct model *m)
{
	return (struct nvme_admin){ .ctx = m, .cmd = model_cmd, .reset = model_reset };
}

static unsigned count_prefix(const struct model *m, const char *prefix)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->nlog; i++)
		n += !strncmp(m->log[i], prefix, strlen(prefix));
	return n;
}

/* The position of the first log entry equal to s, or -1. */
static int at(const struct model *m, const char *s)
{
	for (unsigned i = 0; i < m->nlog; i++)
		if (!strcmp(m->log[i], s))
			return (int)i;
	return -1;
}

static void test_online_from_reset_state(void **state)
{
	struct model m = lab();
	struct nvme_admin a = admin_of(&m);
	struct errbuf eb = { "" };

	(void)state;
	assert_int_equal(nvme_virt_online(&a, 2, 2, 1, model_enable, &m, NULL, NULL, &eb), 0);
	/* the primary gave its flexible resources up, and a reset made it so, before any assignment */
	assert_int_equal(m.resets, 1);
	assert_int_equal(m.vqrfap, 0);
	assert_int_equal(m.virfap, 0);
	assert_true(at(&m, "M1.0.0.0") >= 0 && at(&m, "M1.1.0.0") > at(&m, "M1.0.0.0"));
	assert_true(at(&m, "R") > at(&m, "M1.1.0.0"));
	/* VFs enabled before the first secondary goes online */
	assert_true(at(&m, "E2") > at(&m, "R"));
	assert_true(at(&m, "M9.0.1.0") > at(&m, "E2"));
	/* each: VQ, then VI, then online */
	for (int c = 1; c <= 2; c++) {
		char q[32], i[32], o[32];

		snprintf(q, sizeof(q), "M8.0.%d.2", c);
		snprintf(i, sizeof(i), "M8.1.%d.1", c);
		snprintf(o, sizeof(o), "M9.0.%d.0", c);
		assert_true(at(&m, q) >= 0 && at(&m, i) > at(&m, q) && at(&m, o) > at(&m, i));
		assert_true(m.online[c - 1]);
		assert_int_equal(m.nvq[c - 1], 2);
		assert_int_equal(m.nvi[c - 1], 1);
	}
	assert_false(m.online[2]);
	assert_false(m.online[3]);
	/* and it read the result back last */
	assert_string_equal(m.log[m.nlog - 1], "I15");
}

static void test_online_twice_changes_nothing(void **state)
{
	struct model m = lab();
	struct nvme_admin a = admin_of(&m);
	struct errbuf eb = { "" };

	(void)state;
	assert_int_equal(nvme_virt_online(&a, 2, 2, 1, model_enable, &m, NULL, NULL, &eb), 0);
	m.nlog = 0;
	assert_int_equal(nvme_virt_online(&a, 2, 2, 1, model_enable, &m, NULL, NULL, &eb), 0);
	assert_int_equal(count_prefix(&m, "M"), 0);
	assert_int_equal(count_prefix(&m, "R"), 0);
	assert_int_equal(m.resets, 1);
}

static void test_reassign_goes_offline_first(void **state)
{
	struct model m = lab();
	struct nvme_admin a = admin_of(&m);
	struct errbuf eb = { "" };

	(void)state;
	assert_int_equal(nvme_virt_online(&a, 1, 2, 1, model_enable, &m, NULL, NULL, &eb), 0);
	m.nlog = 0;
	assert_int_equal(nvme_virt_online(&a, 1, 4, 2, model_enable, &m, NULL, NULL, &eb), 0);
	assert_true(at(&m, "M7.0.1.0") >= 0 && at(&m, "M8.0.1.4") > at(&m, "M7.0.1.0"));
	assert_true(m.online[0]);
	assert_int_equal(m.nvq[0], 4);
	assert_int_equal(m.nvi[0], 2);
}

static void test_too_much_is_refused_before_any_change(void **state)
{
	struct model m = lab();
	struct nvme_admin a = admin_of(&m);
	struct errbuf eb = { "" };

	(void)state;
	/* 4 x 3 queues = 12 > 8 flexible */
	assert_int_equal(nvme_virt_online(&a, 4, 3, 1, model_enable, &m, NULL, NULL, &eb), -ENOSPC);
	assert_non_null(strstr(eb.msg, "the controller has 8 and 4"));
	assert_int_equal(count_prefix(&m, "M") + count_prefix(&m, "R") + count_prefix(&m, "E"), 0);
	/* more VFs than secondaries, fewer than 2 queues, more than the per-VF maximum */
	assert_int_equal(nvme_virt_online(&a, 5, 2, 1, model_enable, &m, NULL, NULL, &eb), -ERANGE);
	assert_int_equal(nvme_virt_online(&a, 1, 1, 1, model_enable, &m, NULL, NULL, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "at least 2 queues"));
	m.vqfrsm = 2;
	assert_int_equal(nvme_virt_online(&a, 1, 4, 1, model_enable, &m, NULL, NULL, &eb), -ERANGE);
	assert_int_equal(count_prefix(&m, "M") + count_prefix(&m, "R") + count_prefix(&m, "E"), 0);
}

static void test_other_vfs_resources_count(void **state)
{
	struct model m = lab();
	struct nvme_admin a = admin_of(&m);
	struct errbuf eb = { "" };

	(void)state;
	m.vqrfap = m.next_vqrfap = 0;
	m.virfap = m.next_virfap = 0;
	m.vfs_enabled = 4;
	m.nvq[3] = 6; /* VF 4 holds 6 of the 8 queues */
	m.nvi[3] = 1;
	assert_int_equal(nvme_virt_online(&a, 2, 2, 1, model_enable, &m, NULL, NULL, &eb), -ENOSPC);
	assert_non_null(strstr(eb.msg, "6 and 1 held by other VFs"));
	assert_int_equal(nvme_virt_online(&a, 1, 2, 1, model_enable, &m, NULL, NULL, &eb), 0);
	assert_int_equal(m.resets, 0); /* the primary held nothing: no reset */
}

static void test_enable_failure_stops_before_online(void **state)
{
	struct model m = lab();
	struct nvme_admin a = admin_of(&m);
	struct errbuf eb = { "" };

	(void)state;
	m.fail_enable = EBUSY;
	assert_int_equal(nvme_virt_online(&a, 2, 2, 1, model_enable, &m, NULL, NULL, &eb), -EBUSY);
	assert_string_equal(eb.msg, "sriov_numvfs refused");
	assert_int_equal(count_prefix(&m, "M8") + count_prefix(&m, "M9"), 0);
}

static int enable_nothing(void *arg, unsigned n, struct errbuf *eb)
{
	(void)arg, (void)n, (void)eb;
	return 0;
}

static void test_controller_status_is_named(void **state)
{
	struct model m = lab();
	struct nvme_admin a = admin_of(&m);
	struct errbuf eb = { "" };

	(void)state;
	/* the VFs never enabled: the controller refuses to bring the secondary online */
	assert_int_equal(nvme_virt_online(&a, 1, 2, 1, enable_nothing, &m, NULL, NULL, &eb), -EIO);
	assert_non_null(strstr(eb.msg, "VF 1: "));
	assert_non_null(strstr(eb.msg, "bring online"));
	assert_non_null(strstr(eb.msg, "0x120 (Invalid Secondary Controller State)"));
}

static void test_offline_releases(void **state)
{
	struct model m = lab();
	struct nvme_admin a = admin_of(&m);
	struct errbuf eb = { "" };

	(void)state;
	assert_int_equal(nvme_virt_online(&a, 3, 2, 1, model_enable, &m, NULL, NULL, &eb), 0);
	assert_int_equal(nvme_virt_offline(&a, NULL, NULL, &eb), 0);
	for (int i = 0; i < NSEC; i++) {
		assert_false(m.online[i]);
		assert_int_equal(m.nvq[i], 0);
		assert_int_equal(m.nvi[i], 0);
	}
	/* and then all 4 VFs fit */
	assert_int_equal(nvme_virt_online(&a, 4, 2, 1, model_enable, &m, NULL, NULL, &eb), 0);
}

static void test_parse_secondary_list(void **state)
{
	struct nvme_secctrl s[NVME_MAX_SECONDARY];
	uint8_t b[4096] = { 0 };
	struct errbuf eb;

	(void)state;
	b[0] = 2;
	put16(b + 32, 7);
	put16(b + 34, 1);
	b[36] = 0xff; /* only bit 0 is the state */
	put16(b + 40, 3);
	put16(b + 42, 0x1234);
	put16(b + 44, 0xabcd);
	put16(b + 64, 8);
	put16(b + 72, 4);
	assert_int_equal(nvme_parse_seclist(b, sizeof(b), s, &eb), 2);
	assert_int_equal(s[0].scid, 7);
	assert_int_equal(s[0].pcid, 1);
	assert_true(s[0].online);
	assert_int_equal(s[0].vfn, 3);
	assert_int_equal(s[0].nvq, 0x1234);
	assert_int_equal(s[0].nvi, 0xabcd);
	assert_false(s[1].online);
	assert_int_equal(s[1].vfn, 4);
	/* VF number 0, more entries than a list holds or than the bytes given */
	put16(b + 72, 0);
	assert_int_equal(nvme_parse_seclist(b, sizeof(b), s, &eb), -EINVAL);
	put16(b + 72, 4);
	b[0] = 128;
	assert_int_equal(nvme_parse_seclist(b, sizeof(b), s, &eb), -EINVAL);
	b[0] = 2;
	assert_int_equal(nvme_parse_seclist(b, 95, s, &eb), -EINVAL);
	assert_int_equal(nvme_parse_seclist(b, 96, s, &eb), 2);
}

static void test_parse_primary_caps(void **state)
{
	struct nvme_prictrl p;
	uint8_t b[4096] = { 0 };
	struct errbuf eb;

	(void)state;
	put16(b, 0x41);
	b[4] = 1; /* VQ flexible only */
	put32(b + 32, 0x10000);
	put32(b + 36, 0x8000);
	put16(b + 40, 0x7fff);
	put16(b + 44, 64);
	put32(b + 64, 9);
	put32(b + 68, 4);
	put16(b + 72, 5);
	assert_int_equal(nvme_parse_prictrl(b, sizeof(b), &p, &eb), 0);
	assert_int_equal(p.cntlid, 0x41);
	assert_true(p.vq_flexible);
	assert_false(p.vi_flexible);
	assert_int_equal(p.vqfrt, 0x10000);
	assert_int_equal(p.vqrfa, 0x8000);
	assert_int_equal(p.vqrfap, 0x7fff);
	assert_int_equal(p.vqfrsm, 64);
	assert_int_equal(p.virfap, 5);
	/* more handed out than there is */
	put16(b + 72, 6);
	assert_int_equal(nvme_parse_prictrl(b, sizeof(b), &p, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "VI 4 + 6 of 9"));
	assert_int_equal(nvme_parse_prictrl(b, 79, &p, &eb), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_online_from_reset_state),
		cmocka_unit_test(test_online_twice_changes_nothing),
		cmocka_unit_test(test_reassign_goes_offline_first),
		cmocka_unit_test(test_too_much_is_refused_before_any_change),
		cmocka_unit_test(test_other_vfs_resources_count),
		cmocka_unit_test(test_enable_failure_stops_before_online),
		cmocka_unit_test(test_controller_status_is_named),
		cmocka_unit_test(test_offline_releases),
		cmocka_unit_test(test_parse_secondary_list),
		cmocka_unit_test(test_parse_primary_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
