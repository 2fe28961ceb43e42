// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the control socket's server side (hv/control.c,
 * hv/control_proto.c) and the JSON helpers the control path uses
 * (lib/json.c over lib/jsondoc.c).  The domain is a stub that records which
 * domain call a request made; no KVM, no threads.
 *
 * Input: one knob byte, then the bytes a client sends.
 *   knob bit 0: the stub's domain calls fail (with a message full of
 *               quotes, backslashes and control bytes, as a domain name
 *               in an error might be);
 *   knob bit 1: the console refuses the client (too many attached);
 *   knob bits 2-7: the output size given to json_escape (see check_escape).
 *
 * "prof" and "stats" reach stubs of hv/prof.c: a recording is always refused
 * (its stream is records, not a reply line); stats answers fixed counters.
 *
 * Each input goes through:
 *   1. control_serve_connection() on a socketpair: the client's bytes, then
 *      EOF; the reply is read back.  It must be exactly one line, one JSON
 *      object with a boolean "ok"; what it says and which domain call was
 *      made must follow from the request line alone (framing by the first
 *      newline within CONTROL_REQUEST_MAX + 1 bytes, then
 *      control_parse_request), and an error must carry the exact message.
 *   2. control_parse_request() on the first line: an accepted line is a
 *      JSON object whose single "cmd" is the command's name, with a valid
 *      reason; a refusal has a message, and control_format_error() of it
 *      parses back to that message.
 *   3. json.c on the bytes as a NUL-terminated text (a reply as a client
 *      reads it): json_is_object, json_get_string/number/bool agree with
 *      the document parser; json_escape round-trips.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "confine.h"
#include "control.h"
#include "domain.h"
#include "fuzz.h"
#include "json.h"
#include "jsondoc.h"
#include "relocate.h"

/* ---- the stub domain ---- */

enum call { CALL_NONE, CALL_INFO, CALL_PAUSE, CALL_UNPAUSE, CALL_SHUTDOWN, CALL_KILL, CALL_DISKS,
	    CALL_DEVICES, CALL_CONSOLE, CALL_XS_DUMP, CALL_XS_WRITE, CALL_MEMMAP, CALL_STATS, CALL_PROF };

static struct {
	bool fail, console_full;
	enum call call;
	unsigned calls;
	uint32_t shutdown_request;
	int console_fd;
	char xs_path[CONTROL_XS_PATH_MAX + 1], xs_value[CONTROL_XS_VALUE_MAX + 1];
	unsigned prof_freq;
} stub;

static const char nasty[] = "domain 'a\"b\\c' is \x01\x1b[31m\t\x7f\xc3\xa9 busy";

static struct domain dom;

static void record(enum call c)
{
	stub.call = c;
	stub.calls++;
}

const char *domain_state_name(enum domain_state s)
{
	return s == DOMAIN_RUNNING ? "running" : "other";
}

void domain_get_info(struct domain *d, struct domain_info *info)
{
	record(CALL_INFO);
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", d->cfg.name);
	info->domid = 7;
	info->state = DOMAIN_RUNNING;
	info->vcpus = info->vcpus_up = 2;
	info->memory_mib = 16;
	info->uptime_s = 1.5;
}

static int outcome(struct errbuf *eb)
{
	return stub.fail ? errbuf_set(eb, EINVAL, "%s", nasty) : 0;
}

int domain_pause(struct domain *d, struct errbuf *eb)
{
	(void)d;
	record(CALL_PAUSE);
	return outcome(eb);
}

int domain_unpause(struct domain *d, struct errbuf *eb)
{
	(void)d;
	record(CALL_UNPAUSE);
	return outcome(eb);
}

int domain_request_shutdown(struct domain *d, uint32_t request, struct errbuf *eb)
{
	(void)d;
	record(CALL_SHUTDOWN);
	stub.shutdown_request = request;
	return outcome(eb);
}

void domain_kill(struct domain *d, bool timed_out, const char *why)
{
	(void)d;
	(void)timed_out;
	(void)why;
	record(CALL_KILL);
}

/*
 * save and migrate need the stream's descriptor passed with the request
 * (SCM_RIGHTS), which this harness never sends: they must be refused
 * before reaching these.
 */
int reloc_save(struct domain *d, int fd, bool keep, struct reloc_save_stats *st, struct errbuf *eb)
{
	(void)d, (void)fd, (void)keep, (void)st, (void)eb;
	FUZZ_CHECK(false, "save reached the domain without a descriptor");
	return -EINVAL;
}

int reloc_migrate(struct domain *d, int fd, const struct reloc_migrate_opts *o, struct reloc_migrate_stats *st,
		  struct errbuf *eb)
{
	(void)d, (void)fd, (void)o, (void)st, (void)eb;
	FUZZ_CHECK(false, "migrate reached the domain without a descriptor");
	return -EINVAL;
}

/* No migration ever holds the stub's domain. */
int reloc_release(struct domain *d, struct errbuf *eb)
{
	(void)d, (void)eb;
	return 0;
}

int domain_disks_json(struct domain *d, char *buf, size_t size)
{
	(void)d;
	record(CALL_DISKS);
	return snprintf(buf, size, "[]");
}

int devices_json(struct domain *d, char *buf, size_t size)
{
	(void)d;
	record(CALL_DEVICES);
	return snprintf(buf, size, "[]");
}

int domain_memmap_json(struct domain *d, char *buf, size_t size)
{
	(void)d;
	record(CALL_MEMMAP);
	return snprintf(buf, size, "[]");
}

/* stats: what hv/prof.c writes, in the stub's numbers */
static const char stats_reply[] = "{\"ok\":true,\"vcpus\":[{\"exits\":3,\"hypercalls\":2,\"evtchn_sends\":1}],"
				  "\"evtchn_raised\":4}\n";

int prof_stats_json(struct domain *d, char *buf, size_t size)
{
	(void)d;
	record(CALL_STATS);
	if (stub.fail)
		return -1;
	return snprintf(buf, size, "%s", stats_reply);
}

/*
 * prof: the stub refuses every recording (a recording's stream is records,
 * not a JSON line; tests/test_prof.c checks it on a real domain), with the
 * nasty message, and remembers the frequency it was asked for.
 */
int prof_session_start(struct domain *d, unsigned freq, struct prof_session **out, struct errbuf *eb)
{
	(void)d;
	*out = NULL;
	record(CALL_PROF);
	stub.prof_freq = freq;
	return errbuf_set(eb, EBUSY, "%s", nasty);
}

/* Never reached (no session starts): here for the linker. */
int prof_header_json(struct domain *d, unsigned freq, char *buf, size_t size)
{
	(void)d, (void)freq, (void)buf, (void)size;
	abort();
}

uint8_t *prof_symbol_records(struct domain *d, size_t *len)
{
	(void)d, (void)len;
	abort();
}

size_t prof_session_drain(struct prof_session *s, void *buf, size_t size)
{
	(void)s, (void)buf, (void)size;
	abort();
}

bool prof_session_detached(struct prof_session *s)
{
	(void)s;
	abort();
}

size_t prof_session_finish_size(const struct prof_session *s)
{
	(void)s;
	abort();
}

size_t prof_session_finish(struct prof_session *s, void *buf, size_t size)
{
	(void)s, (void)buf, (void)size;
	abort();
}

bool domain_ended(struct domain *d)
{
	(void)d;
	abort();
}

/* A dump with what JSON must escape: quotes, backslashes, control bytes, UTF-8. */
static const char xs_dump_text[] = "local = \"\"\n domain = \"\"\n  7 = \"a\\\\b\\\"c\x01\x1b[0m\t\x7f\xc3\xa9\"\n";

int xsdomain_dump(struct domain *d, const char *path, size_t max, char **out)
{
	(void)d;
	(void)max;
	record(CALL_XS_DUMP);
	snprintf(stub.xs_path, sizeof(stub.xs_path), "%s", path);
	*out = NULL;
	if (stub.fail)
		return -ENOENT;
	*out = strdup(xs_dump_text);
	return *out ? 0 : -ENOMEM;
}

int xsdomain_write(struct domain *d, const char *path, const char *value)
{
	(void)d;
	record(CALL_XS_WRITE);
	snprintf(stub.xs_path, sizeof(stub.xs_path), "%s", path);
	snprintf(stub.xs_value, sizeof(stub.xs_value), "%s", value);
	return stub.fail ? -EACCES : 0;
}

/* The accept thread narrows its seccomp filter first; the fuzzer runs unconfined. */
void confine_thread(enum confine_kind kind)
{
	(void)kind;
}

bool console_full(struct console *c)
{
	(void)c;
	if (stub.console_full)
		record(CALL_CONSOLE); /* the request's one domain call: the refusal */
	return stub.console_full;
}

int console_attach(struct console *c, int fd)
{
	(void)c;
	record(CALL_CONSOLE);
	if (stub.console_full)
		return -EBUSY;
	stub.console_fd = fd;
	return 0;
}

/* ---- helpers ---- */

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

/* Parses a reply line (no newline): a JSON object with a boolean "ok"; returns it. */
static struct jv *parse_reply(const char *reply)
{
	char err[128];
	struct jv *doc = jv_parse(reply, err, sizeof(err));
	const struct jv *ok;

	FUZZ_CHECK(doc, "reply '%s' is not JSON: %s", reply, err);
	FUZZ_CHECK(doc->type == JV_OBJ, "reply '%s' is not an object", reply);
	ok = jv_get(doc, "ok");
	FUZZ_CHECK(ok && ok->type == JV_BOOL, "reply '%s' has no boolean ok", reply);
	if (!ok->b) {
		const struct jv *e = jv_get(doc, "error");

		FUZZ_CHECK(e && e->type == JV_STR && e->str[0], "error reply '%s' has no error text",
			   reply);
	}
	return doc;
}

static void check_error_reply(const char *reply, const char *msg)
{
	struct jv *doc = parse_reply(reply);

	FUZZ_CHECK(!jv_bool(doc, "ok", true), "reply '%s': expected an error '%s'", reply, msg);
	FUZZ_CHECK(!strcmp(jv_str(doc, "error", ""), msg), "reply '%s': expected the error '%s'", reply,
		   msg);
	jv_free(doc);
}

static enum call call_of(enum control_cmd cmd)
{
	switch (cmd) {
	case CONTROL_INFO: return CALL_INFO;
	case CONTROL_DISKS: return CALL_DISKS;
	case CONTROL_DEVICES: return CALL_DEVICES;
	case CONTROL_MEMMAP: return CALL_MEMMAP;
	case CONTROL_PAUSE: return CALL_PAUSE;
	case CONTROL_UNPAUSE: return CALL_UNPAUSE;
	case CONTROL_SHUTDOWN: return CALL_SHUTDOWN;
	case CONTROL_DESTROY: return CALL_KILL;
	case CONTROL_CONSOLE: return CALL_CONSOLE;
	case CONTROL_XENSTORE: return CALL_XS_DUMP;
	case CONTROL_XENSTORE_WRITE: return CALL_XS_WRITE;
	case CONTROL_STATS: return CALL_STATS;
	case CONTROL_PROF: return CALL_PROF;
	default: return CALL_NONE;
	}
}

/* The one "cmd"-like member of obj named key: NULL when absent, and fails when repeated. */
static const struct jv *only(const struct jv *obj, const char *key, bool *twice)
{
	const struct jv *found = NULL;

	for (size_t i = 0; i < obj->n; i++) {
		if (strcmp(obj->keys[i], key))
			continue;
		if (found)
			*twice = true;
		found = &obj->items[i];
	}
	return found;
}

/* ---- 2. the parser on one line ---- */

/* Returns the parse result; req and err as control_parse_request leaves them. */
static int check_parse(const char *line, size_t len, struct control_request *req, char *err,
		       size_t errlen)
{
	int r = control_parse_request(line, len, req, err, errlen);

	if (r == 0) {
		char msg[128];
		struct jv *doc;
		const struct jv *cmd, *reason, *path, *value, *freq;
		bool twice = false;

		FUZZ_CHECK((unsigned)req->cmd < CONTROL_NR_CMDS, "command %d", (int)req->cmd);
		FUZZ_CHECK(len <= CONTROL_REQUEST_MAX, "accepted a line of %zu bytes", len);
		FUZZ_CHECK(!memchr(line, 0, len), "accepted a line with a NUL");
		doc = jv_parse(line, msg, sizeof(msg));
		FUZZ_CHECK(doc && doc->type == JV_OBJ, "accepted '%s', which is not a JSON object", line);
		cmd = only(doc, "cmd", &twice);
		reason = only(doc, "reason", &twice);
		path = only(doc, "path", &twice);
		value = only(doc, "value", &twice);
		freq = only(doc, "freq", &twice);
		FUZZ_CHECK(!twice, "accepted '%s' with a key given twice", line);
		/* prof's freq: a whole number of Hz from 1 to 10^6, else the default */
		if (req->cmd == CONTROL_PROF)
			FUZZ_CHECK(freq ? freq->type == JV_NUM && freq->num >= 1 && freq->num <= 1e6 &&
						  freq->num == (double)req->freq
					: req->freq == PROF_FREQ_DEFAULT,
				   "accepted '%s' with freq %u", line, req->freq);
		if (req->cmd == CONTROL_XENSTORE || req->cmd == CONTROL_XENSTORE_WRITE) {
			FUZZ_CHECK(path ? path->type == JV_STR && !strcmp(path->str, req->path)
					: !strcmp(req->path, "/") && req->cmd == CONTROL_XENSTORE,
				   "accepted '%s' with path '%s'", line, req->path);
			FUZZ_CHECK(req->cmd == CONTROL_XENSTORE ? !value && !req->value[0]
				   : value && value->type == JV_STR && !strcmp(value->str, req->value),
				   "accepted '%s' with value '%s'", line, req->value);
		}
		FUZZ_CHECK(cmd && cmd->type == JV_STR && !strcmp(cmd->str, control_cmd_name(req->cmd)),
			   "accepted '%s' as %s", line, control_cmd_name(req->cmd));
		if (req->cmd == CONTROL_SHUTDOWN && reason)
			FUZZ_CHECK(reason->type == JV_STR &&
				   !strcmp(reason->str, req->reboot ? "reboot" : "poweroff"),
				   "accepted '%s' as a %s", line, req->reboot ? "reboot" : "poweroff");
		else
			FUZZ_CHECK(!req->reboot, "accepted '%s' as a reboot", line);
		jv_free(doc);
	} else {
		char reply[1024];
		size_t n;

		FUZZ_CHECK(r == -EINVAL, "returned %d", r);
		FUZZ_CHECK(terminated(err, errlen) && err[0], "refusal without a message");
		n = control_format_error(reply, sizeof(reply), err);
		FUZZ_CHECK(n < sizeof(reply) && reply[n - 1] == '\n' && strlen(reply) == n,
			   "error reply of %zu bytes not one line", n);
		reply[n - 1] = 0;
		FUZZ_CHECK(!strchr(reply, '\n'), "error reply '%s' spans lines", reply);
		check_error_reply(reply, err);
	}
	return r;
}

/* ---- 1. the server on a socket ---- */

static void check_serve(const uint8_t *data, size_t size)
{
	static char reply[CONTROL_DISKS_MAX];
	char err[256], line[CONTROL_REQUEST_MAX + 2];
	const uint8_t *nl = memchr(data, '\n', size < CONTROL_REQUEST_MAX + 1 ? size : CONTROL_REQUEST_MAX + 1);
	struct control_request req;
	bool handed_over;
	size_t got = 0;
	int sv[2], r = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	if (size && send(sv[0], data, size, MSG_NOSIGNAL) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return; /* larger than the socket buffer: not an input this target makes */
	}
	shutdown(sv[0], SHUT_WR);
	stub.call = CALL_NONE;
	stub.calls = 0;
	stub.console_fd = -1;
	handed_over = control_serve_connection(&dom, sv[1], -1);
	FUZZ_CHECK(handed_over == (stub.console_fd == sv[1]), "handed over %d, console fd %d",
		   handed_over, stub.console_fd);
	close(sv[1]); /* ours, or the stub console's */
	for (;;) {
		ssize_t k = recv(sv[0], reply + got, sizeof(reply) - 1 - got, MSG_DONTWAIT);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(sv[0]);
	reply[got] = 0;
	FUZZ_CHECK(got > 0 && reply[got - 1] == '\n' && strlen(reply) == got,
		   "reply of %zu bytes does not end a line: '%s'", got, reply);
	reply[got - 1] = 0;
	FUZZ_CHECK(!strchr(reply, '\n'), "more than one reply line: '%s'", reply);

	/* What the reply must be, from the bytes alone. */
	if (!nl) {
		FUZZ_CHECK(stub.calls == 0, "a domain call without a complete line");
		check_error_reply(reply, size > CONTROL_REQUEST_MAX ? CONTROL_ERR_TOO_LONG
								: "the request ended without a newline");
		return;
	}
	memcpy(line, data, (size_t)(nl - data));
	line[nl - data] = 0;
	r = check_parse(line, (size_t)(nl - data), &req, err, sizeof(err));
	if (r < 0) {
		FUZZ_CHECK(stub.calls == 0, "a refused request made a domain call");
		check_error_reply(reply, err);
		return;
	}
	if (req.cmd == CONTROL_SAVE || req.cmd == CONTROL_MIGRATE) {
		/* no descriptor came with it (this harness sends none): refused before any domain call */
		struct jv *doc = parse_reply(reply);

		FUZZ_CHECK(stub.calls == 0, "%s without a descriptor made a domain call", control_cmd_name(req.cmd));
		FUZZ_CHECK(!jv_bool(doc, "ok", true) && strstr(jv_str(doc, "error", ""), "passed with the request "
							       "(SCM_RIGHTS)"),
			   "%s without a descriptor answered '%s'", control_cmd_name(req.cmd), reply);
		jv_free(doc);
		return;
	}
	FUZZ_CHECK(stub.calls == 1 && stub.call == call_of(req.cmd), "%s made %u calls, the last %d",
		   control_cmd_name(req.cmd), stub.calls, (int)stub.call);
	if (req.cmd == CONTROL_SHUTDOWN)
		FUZZ_CHECK(stub.shutdown_request == (req.reboot ? XENITH_CONTROL_REBOOT
								: XENITH_CONTROL_POWEROFF),
			   "shutdown request %u", stub.shutdown_request);
	if (req.cmd == CONTROL_XENSTORE || req.cmd == CONTROL_XENSTORE_WRITE) {
		FUZZ_CHECK(!strcmp(stub.xs_path, req.path), "%s asked the store for '%s', the request "
			   "said '%s'", control_cmd_name(req.cmd), stub.xs_path, req.path);
		if (req.cmd == CONTROL_XENSTORE_WRITE)
			FUZZ_CHECK(!strcmp(stub.xs_value, req.value), "xenstore-write wrote '%s', the "
				   "request said '%s'", stub.xs_value, req.value);
		if (stub.fail) {
			struct jv *doc = parse_reply(reply);
			const char *e = jv_str(doc, "error", "");

			FUZZ_CHECK(!jv_bool(doc, "ok", true) && !strncmp(e, control_cmd_name(req.cmd),
									  strlen(control_cmd_name(req.cmd))),
				   "%s failed, and answered '%s'", control_cmd_name(req.cmd), reply);
			jv_free(doc);
			return;
		}
	}
	switch (req.cmd) {
	case CONTROL_PAUSE:
	case CONTROL_UNPAUSE:
	case CONTROL_SHUTDOWN:
		if (stub.fail) {
			check_error_reply(reply, nasty);
			return;
		}
		break;
	case CONTROL_PROF:
		FUZZ_CHECK(stub.prof_freq == req.freq, "prof asked for %u Hz, the request said %u", stub.prof_freq,
			   req.freq);
		check_error_reply(reply, nasty); /* the stub refuses every recording */
		return;
	case CONTROL_STATS:
		if (stub.fail) {
			check_error_reply(reply, "cannot write the domain's counters");
			return;
		}
		/* the reply as the VMM wrote it, its newline taken off */
		FUZZ_CHECK(strlen(reply) == sizeof(stats_reply) - 2 && !strncmp(reply, stats_reply, sizeof(stats_reply) - 2),
			   "stats reply '%s'", reply);
		return;
	case CONTROL_CONSOLE:
		if (stub.console_full) {
			/* the refusal alone: no {"ok":true} before it */
			check_error_reply(reply, "too many console clients attached");
			return;
		}
		break;
	default:
		break;
	}
	struct jv *doc = parse_reply(reply);

	FUZZ_CHECK(jv_bool(doc, "ok", false), "%s answered '%s'", control_cmd_name(req.cmd), reply);
	if (req.cmd == CONTROL_INFO)
		FUZZ_CHECK(!strcmp(jv_str(doc, "name", ""), dom.cfg.name) && jv_num(doc, "id", 0) == 7,
			   "info reply '%s'", reply);
	if (req.cmd == CONTROL_DISKS) {
		const struct jv *disks = jv_get(doc, "disks");

		FUZZ_CHECK(disks && disks->type == JV_ARR && disks->n == 0, "disks reply '%s'", reply);
	}
	if (req.cmd == CONTROL_DEVICES) {
		const struct jv *devs = jv_get(doc, "devices");

		FUZZ_CHECK(devs && devs->type == JV_ARR && devs->n == 0, "devices reply '%s'", reply);
	}
	if (req.cmd == CONTROL_MEMMAP) {
		const struct jv *mm = jv_get(doc, "memmap");

		FUZZ_CHECK(mm && mm->type == JV_ARR && mm->n == 0, "memmap reply '%s'", reply);
	}
	if (req.cmd == CONTROL_XENSTORE)
		FUZZ_CHECK(!strcmp(jv_str(doc, "xenstore", ""), xs_dump_text), "xenstore reply '%s' is not "
			   "the dump", reply);
	jv_free(doc);
}

/* ---- 3. json.c ---- */

static void check_json_helpers(const char *text)
{
	char msg[128], s[16];
	struct jv *doc = jv_parse(text, msg, sizeof(msg));
	bool is_obj = doc && doc->type == JV_OBJ, b;
	const struct jv *v = is_obj ? jv_get(doc, "error") : NULL;
	double num;
	int r;

	FUZZ_CHECK(json_is_object(text) == is_obj, "json_is_object disagrees on '%s'", text);
	r = json_get_string(text, "error", s, sizeof(s));
	FUZZ_CHECK(r == (!is_obj ? -EINVAL : !v ? -ENOENT : v->type != JV_STR ? -EINVAL : 0),
		   "json_get_string returned %d", r);
	if (r == 0)
		FUZZ_CHECK(terminated(s, sizeof(s)) && !strncmp(s, v->str, sizeof(s) - 1) &&
			   strlen(s) == (strlen(v->str) < sizeof(s) ? strlen(v->str) : sizeof(s) - 1),
			   "json_get_string gave '%s' for '%s'", s, v->str);
	v = is_obj ? jv_get(doc, "id") : NULL;
	r = json_get_number(text, "id", &num);
	FUZZ_CHECK(r == (!is_obj ? -EINVAL : !v ? -ENOENT : v->type != JV_NUM ? -EINVAL : 0),
		   "json_get_number returned %d", r);
	FUZZ_CHECK(r || num == v->num || (num != num && v->num != v->num), "json_get_number value");
	v = is_obj ? jv_get(doc, "ok") : NULL;
	r = json_get_bool(text, "ok", &b);
	FUZZ_CHECK(r == (!is_obj ? -EINVAL : !v ? -ENOENT : v->type != JV_BOOL ? -EINVAL : 0),
		   "json_get_bool returned %d", r);
	FUZZ_CHECK(r || b == v->b, "json_get_bool value");
	jv_free(doc);
}

/* json_escape into size bytes: a valid string body that reads back as a prefix of s (all of it when room). */
static void check_escape(const char *s, size_t size)
{
	size_t len = strlen(s), n;
	char *out = malloc(size), *quoted = malloc(size + 2), msg[128];
	struct jv *doc;

	if (!out || !quoted)
		abort();
	json_escape(out, size, s);
	n = strlen(out);
	FUZZ_CHECK(n < size, "json_escape wrote %zu bytes into %zu", n, size);
	quoted[0] = '"';
	memcpy(quoted + 1, out, n);
	quoted[n + 1] = '"';
	quoted[n + 2] = 0;
	doc = jv_parse(quoted, msg, sizeof(msg));
	FUZZ_CHECK(doc && doc->type == JV_STR, "json_escape gave %s: %s", quoted, doc ? "not a string" : msg);
	FUZZ_CHECK(!strncmp(doc->str, s, strlen(doc->str)), "json_escape changed the text");
	if (size > 6 * len)
		FUZZ_CHECK(strlen(doc->str) == len, "json_escape cut a text with room for it");
	jv_free(doc);
	free(out);
	free(quoted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	char err[256], *text;
	uint8_t knobs;

	if (!dom.cfg.name[0]) {
		snprintf(dom.cfg.name, sizeof(dom.cfg.name), "fuzz-dom.1");
		pthread_mutex_init(&dom.ctl_lock, NULL);
	}
	if (size < 1)
		return 0;
	knobs = data[0];
	data++;
	size--;
	stub.fail = knobs & 1;
	stub.console_full = knobs & 2;

	check_serve(data, size);

	/* The whole input as one line (a NUL inside included), whatever its newlines. */
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	check_parse(text, size, &req, err, sizeof(err));
	check_json_helpers(text);
	check_escape(text, 1 + (size_t)(knobs >> 2) * 8);
	free(text);
	return 0;
}
