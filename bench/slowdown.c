// SPDX-License-Identifier: MIT
#include "slowdown.h"

#include <stdlib.h>
#include <string.h>

static int parse_item(const char *item, size_t len, struct slowdown *d, struct errbuf *eb)
{
	char buf[128], *slash, *colon, *side, *end;
	unsigned long pct;

	if (len >= sizeof(buf))
		return errbuf_set(eb, EINVAL, "'%.*s...': too long", 40, item);
	memcpy(buf, item, len);
	buf[len] = 0;
	slash = strchr(buf, '/');
	colon = strchr(buf, ':');
	if (!slash || !colon || slash > colon || slash == buf || colon == slash + 1)
		return errbuf_set(eb, EINVAL, "'%s': expected SUITE/CASE:PCT[:guest|native]", buf);
	*slash = *colon = 0;
	side = strchr(colon + 1, ':');
	if (side)
		*side++ = 0;
	if (strlen(buf) >= sizeof(d->suite) || strlen(slash + 1) >= sizeof(d->name))
		return errbuf_set(eb, EINVAL, "'%s/%s': name too long", buf, slash + 1);
	pct = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || pct < 1 || pct > 1000)
		return errbuf_set(eb, EINVAL, "'%s/%s:%s': PCT must be an integer from 1 to 1000", buf, slash + 1,
				  colon + 1);
	memset(d, 0, sizeof(*d));
	strcpy(d->suite, buf);
	strcpy(d->name, slash + 1);
	d->pct = (unsigned)pct;
	d->guest = d->native = true;
	if (side && !strcmp(side, "guest"))
		d->native = false;
	else if (side && !strcmp(side, "native"))
		d->guest = false;
	else if (side)
		return errbuf_set(eb, EINVAL, "'%s/%s': side '%s': expected guest or native", d->suite, d->name,
				  side);
	return 0;
}

int slowdown_parse(const char *spec, struct slowdown_set *out, struct errbuf *eb)
{
	memset(out, 0, sizeof(*out));
	while (*spec) {
		size_t len = strcspn(spec, ",");
		int r;

		if (out->n == SLOWDOWN_MAX)
			return errbuf_set(eb, EINVAL, "at most %d cases", SLOWDOWN_MAX);
		r = parse_item(spec, len, &out->s[out->n], eb);
		if (r < 0)
			return r;
		out->n++;
		spec += len;
		if (*spec == ',' && !*++spec)
			return errbuf_set(eb, EINVAL, "a trailing comma");
	}
	if (!out->n)
		return errbuf_set(eb, EINVAL, "empty; expected SUITE/CASE:PCT[:guest|native]");
	return 0;
}

unsigned slowdown_pct(const struct slowdown_set *set, const char *suite, const char *name, bool guest)
{
	for (unsigned i = 0; i < set->n; i++) {
		const struct slowdown *d = &set->s[i];

		if (!strcmp(d->suite, suite) && !strcmp(d->name, name) && (guest ? d->guest : d->native))
			return d->pct;
	}
	return 0;
}
