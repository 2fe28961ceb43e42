// SPDX-License-Identifier: MIT
/* The network programs' options (net/opts.h). */
#include "opts.h"

#include "apps.h"

static bool parse_num(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	if (p == s)
		return false;
	*out = v;
	*end = p;
	return true;
}

static bool parse_port(const char *v, const char **end, uint16_t *port)
{
	uint64_t n;

	if (!parse_num(v, end, &n) || n == 0 || n > 65535)
		return false;
	*port = (uint16_t)n;
	return true;
}

static bool key_is(const char *key, size_t len, const char *name)
{
	size_t i = 0;

	while (i < len && name[i] && key[i] == name[i])
		i++;
	return i == len && !name[i];
}

void net_opts_default(struct net_opts *o, uint16_t port)
{
	__builtin_memset(o, 0, sizeof(*o));
	o->ip = 0x0a000002u;
	o->prefix = 24;
	o->port = port;
	o->src_port = 4000;
	o->size = NET_APP_FRAME_MIN;
	o->timeout_ms = 1000;
	o->queues = 1;
}

/* One key=value; false when the value is not one the key takes. *end after the value. */
static bool parse_one(const char *key, size_t kl, const char *v, const char **end, struct net_opts *o)
{
	uint64_t n;

	if (key_is(key, kl, "ip")) {
		o->prefix = 24;
		return net_parse_ip(v, end, &o->ip, &o->prefix);
	}
	if (key_is(key, kl, "gw"))
		return net_parse_ip(v, end, &o->gw, NULL);
	if (key_is(key, kl, "mac"))
		return (o->has_mac = net_parse_mac(v, end, o->mac)) && !(o->mac[0] & 1);
	if (key_is(key, kl, "dst"))
		return (o->has_dst = net_parse_ip(v, end, &o->dst_ip, NULL) && **end == ':' &&
				     parse_port(*end + 1, end, &o->dst_port));
	if (key_is(key, kl, "port"))
		return parse_port(v, end, &o->port);
	if (key_is(key, kl, "src"))
		return parse_port(v, end, &o->src_port);
	if (!parse_num(v, end, &n))
		return false;
	if (key_is(key, kl, "vif") && n < 64)
		o->vif = (unsigned)n;
	else if (key_is(key, kl, "size") && n >= NET_APP_FRAME_MIN && n <= NET_APP_FRAME_MAX)
		o->size = (unsigned)n;
	else if (key_is(key, kl, "count"))
		o->count = n;
	else if (key_is(key, kl, "rate"))
		o->rate = n;
	else if (key_is(key, kl, "duration") && n <= UINT64_MAX / 1000000)
		o->duration_ms = n;
	else if (key_is(key, kl, "idle") && n <= UINT64_MAX / 1000000)
		o->idle_ms = n;
	else if (key_is(key, kl, "timeout") && n > 0 && n <= UINT64_MAX / 1000000)
		o->timeout_ms = n;
	else if (key_is(key, kl, "hold") && n <= 1)
		o->hold = n == 1;
	else if (key_is(key, kl, "queues") && n >= 1 && n <= 8) /* include/xenith/netif.h's XENITH_NET_MAX_QUEUES */
		o->queues = (unsigned)n;
	else
		return false;
	return true;
}

bool net_opts_parse(const char *args, struct net_opts *o, const char **bad, size_t *bad_len)
{
	for (;;) {
		const char *key, *eq, *end = NULL;

		while (*args == ' ')
			args++;
		if (!*args)
			return true;
		key = eq = args;
		while (*eq && *eq != '=' && *eq != ' ')
			eq++;
		*bad = key;
		*bad_len = 0;
		if (*eq != '=' || eq == key)
			return false;
		*bad_len = (size_t)(eq - key);
		if (!parse_one(key, *bad_len, eq + 1, &end, o) || (*end && *end != ' '))
			return false;
		args = end;
	}
}
