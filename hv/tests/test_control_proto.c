// SPDX-License-Identifier: MIT
/*
 * unit tier: the control protocol as text (hv/control_proto.c), with no
 * socket and no domain: how each malformed request is refused (and that it
 * leaves no half-parsed request behind), and the shape of the replies.
 * The server's handling of the same (one request per connection, the
 * length limit on the wire, each command's reply from a served domain) is
 * in test_control.c.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "control.h"
#include "domain.h"
#include "jsondoc.h"

/* Parses line (strlen) into a request that starts as garbage; returns the result. */
static int parse(const char *line, struct control_request *req, char *err, size_t errlen)
{
	memset(req, 0xa5, sizeof(*req));
	err[0] = 0;
	return control_parse_request(line, strlen(line), req, err, errlen);
}

static void expect_refused(const char *line, size_t len, const char *why)
{
	struct control_request req;
	char err[256] = "";

	memset(&req, 0xa5, sizeof(req));
	if (control_parse_request(line, len, &req, err, sizeof(err)) != -EINVAL)
		fail_msg("request '%s' accepted", line);
	if (!strstr(err, why))
		fail_msg("request '%s': error '%s' does not say '%s'", line, err, why);
	/* nothing half-parsed is left for a caller that ignores the result */
	assert_int_equal(req.cmd, 0);
	assert_false(req.reboot);
}

static void test_malformed_requests_are_refused_with_what_is_wrong(void **state)
{
	static const char nul[] = "{\"cmd\":\"info\"}\0{\"cmd\":\"destroy\"}";

	(void)state;
	expect_refused("", 0, "a request is one JSON object");
	expect_refused("{\"cmd\":\"info\"", 13, "a request is one JSON object");
	expect_refused("{\"cmd\":\"info\"} {}", 17, "a request is one JSON object");
	expect_refused("[\"info\"]", 8, "not an object");
	expect_refused("\"info\"", 6, "not an object");
	expect_refused("{}", 2, "no \"cmd\"");
	expect_refused("{\"command\":\"info\"}", 18, "no \"cmd\"");
	expect_refused("{\"cmd\":5}", 9, "\"cmd\" is not a string");
	expect_refused("{\"cmd\":null}", 12, "\"cmd\" is not a string");
	expect_refused("{\"cmd\":[\"info\"]}", 16, "\"cmd\" is not a string");
	expect_refused("{\"cmd\":\"info\",\"cmd\":\"destroy\"}", 30, "appears twice");
	expect_refused("{\"cmd\":\"shutdown\",\"reason\":\"reboot\",\"reason\":\"poweroff\"}", 55, "appears twice");
	expect_refused(nul, sizeof(nul) - 1, "NUL");
	expect_refused("{\"cmd\":\"shutdown\",\"reason\":\"halt\"}", 34, "\"poweroff\" or \"reboot\"");
	expect_refused("{\"cmd\":\"shutdown\",\"reason\":1}", 29, "\"poweroff\" or \"reboot\"");
	expect_refused("{\"cmd\":\"shutdown\",\"reason\":\"Reboot\"}", 36, "\"poweroff\" or \"reboot\"");
	expect_refused("{\"cmd\":\"INFO\"}", 14, "unknown command 'INFO'");
	expect_refused("{\"cmd\":\"info \"}", 15, "unknown command 'info '");
}

static void test_a_request_over_the_limit_is_refused_before_it_is_parsed(void **state)
{
	char *line = malloc(CONTROL_REQUEST_MAX + 2);
	struct control_request req;
	char err[256];

	(void)state;
	assert_non_null(line);
	/* a valid request padded with spaces to the limit: served */
	memset(line, ' ', CONTROL_REQUEST_MAX + 1);
	memcpy(line, "{\"cmd\":\"info\"}", 14);
	line[CONTROL_REQUEST_MAX] = 0;
	assert_int_equal(control_parse_request(line, CONTROL_REQUEST_MAX, &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_INFO);
	/* one byte more: refused with the documented message, whatever it holds */
	line[CONTROL_REQUEST_MAX] = ' ';
	line[CONTROL_REQUEST_MAX + 1] = 0;
	assert_int_equal(control_parse_request(line, CONTROL_REQUEST_MAX + 1, &req, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, CONTROL_ERR_TOO_LONG);
	free(line);
}

static void test_unknown_command_is_echoed_printable_and_short(void **state)
{
	struct control_request req;
	char err[512], line[400];

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"\\u001b[31mred\\u0007\"}", &req, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown command '?[31mred?'"));
	assert_non_null(strstr(err, "known: info, disks, devices, pause, unpause, shutdown, destroy, console"));
	snprintf(line, sizeof(line), "{\"cmd\":\"%0300d\"}", 7);
	assert_int_equal(parse(line, &req, err, sizeof(err)), -EINVAL);
	/* the name is cut to 39 characters: an error line stays a line */
	assert_non_null(strstr(err, "unknown command '000000000000000000000000000000000000000'"));
	for (const char *p = err; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

static void test_shutdown_reason_is_read_only_for_shutdown(void **state)
{
	struct control_request req;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"shutdown\",\"reason\":\"poweroff\"}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_SHUTDOWN);
	assert_false(req.reboot);
	assert_int_equal(parse("{\"reason\":\"reboot\",\"cmd\":\"shutdown\"}", &req, err, sizeof(err)), 0);
	assert_true(req.reboot);
	/* another command ignores a reason, whatever it is, and other keys */
	assert_int_equal(parse("{\"cmd\":\"info\",\"reason\":\"reboot\",\"x\":[1,{}]}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_INFO);
	assert_false(req.reboot);
	assert_int_equal(parse("{\"cmd\":\"destroy\",\"reason\":7}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_DESTROY);
	assert_false(req.reboot);
}

/* prof: "freq" a whole number of Hz, PROF_FREQ_DEFAULT without it; the VMM checks the range. */
static void test_prof_takes_a_whole_frequency(void **state)
{
	struct control_request req;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"prof\"}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_PROF);
	assert_int_equal(req.freq, PROF_FREQ_DEFAULT);
	assert_int_equal(parse("{\"cmd\":\"prof\",\"freq\":250}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.freq, 250);
	assert_int_equal(parse("{\"cmd\":\"prof\",\"freq\":99999}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.freq, 99999); /* out of PROF_FREQ_MAX: prof_session_start refuses it */
	{
		static const char *const bad[] = { "{\"cmd\":\"prof\",\"freq\":1.5}", "{\"cmd\":\"prof\",\"freq\":0}",
						   "{\"cmd\":\"prof\",\"freq\":\"100\"}", "{\"cmd\":\"prof\",\"freq\":-5}",
						   "{\"cmd\":\"prof\",\"freq\":1e12}" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(parse(bad[i], &req, err, sizeof(err)), -EINVAL);
			assert_non_null(strstr(err, "\"freq\" must be a whole number of Hz"));
		}
	}
	/* stats takes nothing */
	assert_int_equal(parse("{\"cmd\":\"stats\"}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_STATS);
}

/* A reply: one line ending in its only newline, one JSON object with "ok"; returns it. */
static struct jv *reply_doc(const char *out, size_t n, size_t size)
{
	char err[128];
	struct jv *doc;

	assert_true(n > 0 && n < size);
	assert_int_equal(strlen(out), n);
	assert_int_equal(out[n - 1], '\n');
	assert_ptr_equal(strchr(out, '\n'), out + n - 1);
	doc = jv_parse(out, err, sizeof(err));
	if (!doc)
		fail_msg("reply '%s' is not JSON: %s", out, err);
	assert_int_equal(doc->type, JV_OBJ);
	assert_non_null(jv_get(doc, "ok"));
	assert_int_equal(jv_get(doc, "ok")->type, JV_BOOL);
	return doc;
}

static void test_ok_reply_is_exactly_ok_true(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(control_format_ok(out, sizeof(out)), 12);
	assert_string_equal(out, "{\"ok\":true}\n");
}

static void test_info_reply_has_every_field_with_its_value_and_type(void **state)
{
	struct domain_info info = { .domid = 42, .state = DOMAIN_RUNNING, .vcpus = 8, .vcpus_up = 3,
				    .memory_mib = 1ull << 40, .uptime_s = 12.3456, .restarts = 5,
				    .memory_backing = MEM_BACKING_HUGETLB, .numa_node = 1,
				    .vcpu_cpus = "0/1-3,^2" };
	static const char *const keys[] = { "ok", "name", "id", "state", "vcpus", "vcpus_up", "memory_mib",
					    "uptime_s", "restarts", "pid", "memory_backing", "numa_node",
					    "vcpu_cpus" };
	char out[CONTROL_REPLY_MAX];
	struct jv *doc;
	size_t n;

	(void)state;
	snprintf(info.name, sizeof(info.name), "web-1.a_b");
	n = control_format_info(out, sizeof(out), &info, "running", 4321);
	doc = reply_doc(out, n, sizeof(out));
	assert_int_equal(doc->n, sizeof(keys) / sizeof(keys[0])); /* these and no others */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!jv_get(doc, keys[i]))
			fail_msg("info reply without \"%s\": %s", keys[i], out);
	assert_true(jv_bool(doc, "ok", false));
	assert_string_equal(jv_str(doc, "name", ""), "web-1.a_b");
	assert_string_equal(jv_str(doc, "state", ""), "running");
	assert_true(jv_num(doc, "id", -1) == 42);
	assert_true(jv_num(doc, "vcpus", -1) == 8);
	assert_true(jv_num(doc, "vcpus_up", -1) == 3);
	assert_true(jv_num(doc, "memory_mib", -1) == (double)(1ull << 40));
	assert_true(fabs(jv_num(doc, "uptime_s", -1) - 12.346) < 1e-9); /* milliseconds */
	assert_true(jv_num(doc, "restarts", -1) == 5);
	assert_true(jv_num(doc, "pid", -1) == 4321);
	assert_string_equal(jv_str(doc, "memory_backing", ""), "hugetlb");
	assert_true(jv_num(doc, "numa_node", -2) == 1);
	assert_string_equal(jv_str(doc, "vcpu_cpus", ""), "0/1-3,^2");
	jv_free(doc);
}

static void test_info_reply_stays_json_for_any_name_and_uptime(void **state)
{
	static const double uptimes[] = { NAN, INFINITY, -INFINITY, -1, 1e300, 1e12 };
	struct domain_info info = { .domid = 1, .vcpus = 1, .vcpus_up = 1, .memory_mib = 16 };
	char out[CONTROL_REPLY_MAX], name[XENITH_NAME_MAX];
	struct jv *doc;

	(void)state;
	/* the longest name, of the characters JSON escapes longest */
	for (size_t i = 0; i < sizeof(name) - 1; i++)
		name[i] = "\"\\\x01\x1f\n"[i % 5];
	name[sizeof(name) - 1] = 0;
	memcpy(info.name, name, sizeof(name));
	for (size_t i = 0; i < sizeof(uptimes) / sizeof(uptimes[0]); i++) {
		info.uptime_s = uptimes[i];
		doc = reply_doc(out, control_format_info(out, sizeof(out), &info, "crashed \"x\"", 1), sizeof(out));
		assert_string_equal(jv_str(doc, "name", ""), name); /* escaped, not cut or mangled */
		assert_string_equal(jv_str(doc, "state", ""), "crashed \"x\"");
		/* JSON has no NaN or infinity; a value out of range is shown as 0 */
		assert_true(jv_num(doc, "uptime_s", -1) == 0);
		jv_free(doc);
	}
	info.uptime_s = 999999999999.5;
	/* the longest CPU lists too, with that name: still whole */
	memset(info.vcpu_cpus, '7', sizeof(info.vcpu_cpus) - 1);
	info.vcpu_cpus[sizeof(info.vcpu_cpus) - 1] = 0;
	info.numa_node = -1;
	doc = reply_doc(out, control_format_info(out, sizeof(out), &info, "running", 1), sizeof(out));
	assert_true(jv_num(doc, "uptime_s", -1) == 999999999999.5);
	assert_string_equal(jv_str(doc, "vcpu_cpus", ""), info.vcpu_cpus);
	assert_true(jv_num(doc, "numa_node", 0) == -1);
	assert_string_equal(jv_str(doc, "name", ""), name);
	jv_free(doc);
}

static void test_error_reply_carries_the_message(void **state)
{
	char out[256];
	struct jv *doc;

	(void)state;
	doc = reply_doc(out, control_format_error(out, sizeof(out), "domain 'a' is paused, not \"running\""),
			sizeof(out));
	assert_false(jv_bool(doc, "ok", true));
	assert_string_equal(jv_str(doc, "error", ""), "domain 'a' is paused, not \"running\"");
	assert_int_equal(doc->n, 2);
	jv_free(doc);
}

static void test_domain_names_are_checked_as_config_accepts_them(void **state)
{
	static const char *const good[] = { "a", "web-1", "Web_2.example", "0", "a-", "a.", "x.y-z_0" };
	static const char *const bad[] = { "", "-a", ".a", "..", "a/b", "a b", "a\n", "é", "a:b", "a*",
					   "../x" };
	char longest[XENITH_NAME_MAX], too_long[XENITH_NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!control_name_ok(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (control_name_ok(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = 0;
	assert_true(control_name_ok(longest));
	memset(too_long, 'n', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = 0;
	assert_false(control_name_ok(too_long));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_requests_are_refused_with_what_is_wrong),
		cmocka_unit_test(test_a_request_over_the_limit_is_refused_before_it_is_parsed),
		cmocka_unit_test(test_unknown_command_is_echoed_printable_and_short),
		cmocka_unit_test(test_prof_takes_a_whole_frequency),
		cmocka_unit_test(test_shutdown_reason_is_read_only_for_shutdown),
		cmocka_unit_test(test_ok_reply_is_exactly_ok_true),
		cmocka_unit_test(test_info_reply_has_every_field_with_its_value_and_type),
		cmocka_unit_test(test_info_reply_stays_json_for_any_name_and_uptime),
		cmocka_unit_test(test_error_reply_carries_the_message),
		cmocka_unit_test(test_domain_names_are_checked_as_config_accepts_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
