// SPDX-License-Identifier: MIT
/*
 * The control protocol as text: a request line in, a validated request
 * out; replies out.  No sockets and no domain here, so the fuzzer and the
 * unit tests reach all of it.
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "json.h"
#include "jsondoc.h"

static const char *const cmd_names[] = {
	[CONTROL_INFO] = "info",
	[CONTROL_DISKS] = "disks",
	[CONTROL_DEVICES] = "devices",
	[CONTROL_PAUSE] = "pause",
	[CONTROL_UNPAUSE] = "unpause",
	[CONTROL_SHUTDOWN] = "shutdown",
	[CONTROL_DESTROY] = "destroy",
	[CONTROL_SAVE] = "save",
	[CONTROL_MIGRATE] = "migrate",
	[CONTROL_CONSOLE] = "console",
	[CONTROL_XENSTORE] = "xenstore",
	[CONTROL_XENSTORE_WRITE] = "xenstore-write",
	[CONTROL_MEMMAP] = "memmap",
	[CONTROL_PROF] = "prof",
	[CONTROL_STATS] = "stats",
};
_Static_assert(sizeof(cmd_names) / sizeof(cmd_names[0]) == CONTROL_NR_CMDS,
	       "a name for every control command");

#define BAD_REQUEST "a request is one JSON object with a \"cmd\" string, e.g. {\"cmd\":\"info\"}"

const char *control_cmd_name(enum control_cmd cmd)
{
	return (unsigned)cmd < CONTROL_NR_CMDS ? cmd_names[cmd] : "?";
}

/* The value of key at the top level of obj; -EINVAL when it is there twice. */
static int member(const struct jv *obj, const char *key, const struct jv **out)
{
	*out = NULL;
	for (size_t i = 0; i < obj->n; i++) {
		if (strcmp(obj->keys[i], key))
			continue;
		if (*out)
			return -EINVAL;
		*out = &obj->items[i];
	}
	return 0;
}

/* For messages: what the client sent, printable ASCII only and short. */
static void printable(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++)
		out[n++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
	out[n] = 0;
}

/* "path" and "value" of the xenstore commands; the store itself judges the path. */
static int xenstore_args(struct control_request *req, const struct jv *path, const struct jv *value,
			 char *err, size_t errlen)
{
	bool write = req->cmd == CONTROL_XENSTORE_WRITE;

	if (path && (path->type != JV_STR || !path->str[0] || strlen(path->str) > CONTROL_XS_PATH_MAX)) {
		snprintf(err, errlen, "%s: \"path\" must be a string of 1 to %d bytes",
			 control_cmd_name(req->cmd), CONTROL_XS_PATH_MAX);
		return -EINVAL;
	}
	if (write && (!path || !value || value->type != JV_STR)) {
		snprintf(err, errlen, "xenstore-write needs \"path\" and \"value\" strings");
		return -EINVAL;
	}
	if (!write && value) {
		snprintf(err, errlen, "xenstore takes no \"value\" (xenstore-write does)");
		return -EINVAL;
	}
	snprintf(req->path, sizeof(req->path), "%s", path ? path->str : "/");
	if (write)
		snprintf(req->value, sizeof(req->value), "%s", value->str);
	return 0;
}

int control_parse_request(const char *line, size_t len, struct control_request *req, char *err,
			  size_t errlen)
{
	const struct jv *cmd, *reason, *path, *value, *freq, *keep, *downtime, *rounds;
	char msg[128], shown[40];
	struct jv *doc;
	int r = -EINVAL;

	memset(req, 0, sizeof(*req));
	if (len > CONTROL_REQUEST_MAX) {
		snprintf(err, errlen, "%s", CONTROL_ERR_TOO_LONG);
		return -EINVAL;
	}
	/* A NUL would end the text early: what we parse would not be what was sent. */
	if (memchr(line, 0, len)) {
		snprintf(err, errlen, "a request must not contain NUL bytes");
		return -EINVAL;
	}
	doc = jv_parse(line, msg, sizeof(msg));
	if (!doc) {
		snprintf(err, errlen, BAD_REQUEST " (%s)", msg);
		return -EINVAL;
	}
	if (doc->type != JV_OBJ) {
		snprintf(err, errlen, BAD_REQUEST " (not an object)");
		goto out;
	}
	if (member(doc, "cmd", &cmd) < 0 || member(doc, "reason", &reason) < 0 ||
	    member(doc, "path", &path) < 0 || member(doc, "value", &value) < 0 ||
	    member(doc, "freq", &freq) < 0 || member(doc, "keep", &keep) < 0 ||
	    member(doc, "downtime_ms", &downtime) < 0 || member(doc, "max_rounds", &rounds) < 0) {
		snprintf(err, errlen, "a key appears twice in the request; give each once");
		goto out;
	}
	if (!cmd || cmd->type != JV_STR) {
		snprintf(err, errlen, BAD_REQUEST " (%s)", cmd ? "\"cmd\" is not a string" : "no \"cmd\"");
		goto out;
	}
	for (unsigned i = 0; i < CONTROL_NR_CMDS && r < 0; i++) {
		if (!strcmp(cmd->str, cmd_names[i])) {
			req->cmd = (enum control_cmd)i;
			r = 0;
		}
	}
	if (r < 0) {
		size_t n;

		printable(shown, sizeof(shown), cmd->str);
		n = (size_t)snprintf(err, errlen, "unknown command '%s'; known: ", shown);
		for (unsigned i = 0; i < CONTROL_NR_CMDS && n < errlen; i++)
			n += (size_t)snprintf(err + n, errlen - n, "%s%s", i ? ", " : "", cmd_names[i]);
		goto out;
	}
	if (req->cmd == CONTROL_SHUTDOWN && reason) {
		if (reason->type == JV_STR && !strcmp(reason->str, "reboot")) {
			req->reboot = true;
		} else if (reason->type != JV_STR || strcmp(reason->str, "poweroff")) {
			snprintf(err, errlen, "shutdown reason must be \"poweroff\" or \"reboot\"");
			r = -EINVAL;
		}
	}
	if (r == 0 && (req->cmd == CONTROL_XENSTORE || req->cmd == CONTROL_XENSTORE_WRITE))
		r = xenstore_args(req, path, value, err, errlen);
	if (r == 0 && req->cmd == CONTROL_PROF) {
		req->freq = PROF_FREQ_DEFAULT;
		if (freq && (freq->type != JV_NUM || !(freq->num >= 1 && freq->num <= 1e6) ||
			     freq->num != (double)(unsigned)freq->num)) {
			snprintf(err, errlen, "prof: \"freq\" must be a whole number of Hz");
			r = -EINVAL;
		} else if (freq) {
			req->freq = (unsigned)freq->num;
		}
	}
	if (r == 0 && req->cmd == CONTROL_SAVE && keep) {
		if (keep->type != JV_BOOL) {
			snprintf(err, errlen, "save: \"keep\" must be true or false");
			r = -EINVAL;
		} else {
			req->keep = keep->b;
		}
	}
	if (r == 0 && req->cmd == CONTROL_MIGRATE) {
		req->downtime_ms = 5;
		req->max_rounds = 30;
		if (downtime && (downtime->type != JV_NUM || !(downtime->num >= 0.01 && downtime->num <= 60000))) {
			snprintf(err, errlen, "migrate: \"downtime_ms\" must be a number of milliseconds from "
				 "0.01 to 60000");
			r = -EINVAL;
		} else if (downtime) {
			req->downtime_ms = downtime->num;
		}
		if (r == 0 && rounds && (rounds->type != JV_NUM || !(rounds->num >= 0 && rounds->num <= 1000) ||
					 rounds->num != (double)(unsigned)rounds->num)) {
			snprintf(err, errlen, "migrate: \"max_rounds\" must be a whole number from 0 to 1000");
			r = -EINVAL;
		} else if (rounds) {
			req->max_rounds = (unsigned)rounds->num;
		}
	}
out:
	jv_free(doc);
	if (r < 0)
		memset(req, 0, sizeof(*req));
	return r;
}

/* Ends a reply that snprintf wrote into out: cut to fit, newline added. */
static size_t finish(char *out, size_t size, int n)
{
	if (n < 0)
		n = 0;
	if ((size_t)n > size - 2)
		n = (int)(size - 2);
	out[n++] = '\n';
	out[n] = 0;
	return (size_t)n;
}

size_t control_format_ok(char *out, size_t size)
{
	return finish(out, size, snprintf(out, size, "{\"ok\":true}"));
}

size_t control_format_error(char *out, size_t size, const char *msg)
{
	static const char head[] = "{\"ok\":false,\"error\":\"", tail[] = "\"}";
	size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1, n;

	/* The escaped message gets what the frame leaves, so the frame is never cut. */
	memcpy(out, head, hl);
	json_escape(out + hl, size - hl - tl - 1, msg);
	n = hl + strlen(out + hl);
	memcpy(out + n, tail, tl);
	n += tl;
	out[n++] = '\n';
	out[n] = 0;
	return n;
}

size_t control_format_info(char *out, size_t size, const struct domain_info *info,
			   const char *state, int pid)
{
	char name[6 * XENITH_NAME_MAX + 8], st[64], cpus[6 * sizeof(info->vcpu_cpus)];
	double up = info->uptime_s;

	/* JSON has no inf or nan, and a number of 300 digits would not fit. */
	if (!(up >= 0 && up < 1e12))
		up = 0;
	json_escape(name, sizeof(name), info->name);
	json_escape(st, sizeof(st), state);
	json_escape(cpus, sizeof(cpus), info->vcpu_cpus);
	return finish(out, size,
		      snprintf(out, size, "{\"ok\":true,\"name\":\"%s\",\"id\":%u,\"state\":\"%s\","
			       "\"vcpus\":%u,\"vcpus_up\":%u,\"memory_mib\":%llu,\"uptime_s\":%.3f,"
			       "\"restarts\":%u,\"pid\":%d,\"memory_backing\":\"%s\",\"numa_node\":%d,"
			       "\"vcpu_cpus\":\"%s\"}",
			       name, info->domid, st, info->vcpus, info->vcpus_up,
			       (unsigned long long)info->memory_mib, up, info->restarts,
			       pid, config_backing_name(info->memory_backing), info->numa_node, cpus));
}

bool control_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= XENITH_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}
