// SPDX-License-Identifier: MIT
/*
 * A switch vif's quiesce, resume, save and restore: the VMM's side of the
 * switch protocol's QUIESCE, RESUME and RESTORE (io/switch_proto.h,
 * netdev_switch.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "domain.h"
#include "evtchn.h"
#include "jsondoc.h"
#include "netdev_switch_priv.h"
#include "switch_proto.h"
#include "xenith/grant_table.h"

#define STATE_TEXT_MAX 4096 /* 8 queues' ring states as JSON: about 1.6 KiB */

bool swlink_gone(struct swlink *l)
{
	return atomic_load(&l->dead);
}

/* A u32 member of a queue's object in the QUIESCE reply; false if missing or not one. */
static bool get_u32(const struct jv *o, const char *key, uint32_t *out)
{
	const struct jv *v = jv_get(o, key);

	if (!v || v->type != JV_NUM || v->num < 0 || v->num > 4294967295.0 || v->num != (double)(uint32_t)v->num)
		return false;
	*out = (uint32_t)v->num;
	return true;
}

static bool get_bool(const struct jv *o, const char *key, bool *out)
{
	const struct jv *v = jv_get(o, key);

	if (!v || v->type != JV_BOOL)
		return false;
	*out = v->b;
	return true;
}

/* The QUIESCE reply's ring states, one per connected queue; 0 or -EPROTO with the reason in why. */
static int parse_states(struct swlink *l, const char *text, char *why, size_t size)
{
	char err[128];
	struct jv *doc = jv_parse(text, err, sizeof(err));
	const struct jv *qs = doc ? jv_get(doc, "queues") : NULL;
	int r = 0;

	if (!qs || qs->type != JV_ARR || qs->n != l->connected) {
		snprintf(why, size, "its ring states are not %u queue(s) as JSON (%s)", l->connected,
			 doc ? "a queues array of another length" : err);
		jv_free(doc);
		return -EPROTO;
	}
	for (size_t q = 0; q < qs->n && r == 0; q++) {
		const struct jv *o = &qs->items[q];
		struct netback_ring_state *st = &l->saved[q];

		if (!get_u32(o, "tx_ref", &st->tx_ref) || !get_u32(o, "rx_ref", &st->rx_ref) ||
		    !get_u32(o, "tx_req_cons", &st->tx_req_cons) || !get_u32(o, "tx_rsp_prod_pvt", &st->tx_rsp_prod_pvt) ||
		    !get_u32(o, "rx_req_cons", &st->rx_req_cons) || !get_u32(o, "rx_rsp_prod_pvt", &st->rx_rsp_prod_pvt) ||
		    !get_bool(o, "tx_cut", &st->tx_cut) || !get_bool(o, "broken", &st->broken)) {
			snprintf(why, size, "queue %zu's ring state lacks a field or has one out of range", q);
			r = -EPROTO;
		}
	}
	jv_free(doc);
	if (r == 0)
		l->nr_saved = l->connected;
	return r;
}

/*
 * Whatever the switch notified before it answered reaches the guest now:
 * the link thread delivers under notify_lock, so once it is ours nothing
 * it read is undelivered, and what it has not read is read here.
 */
static void flush_notifies(struct swlink *l)
{
	pthread_mutex_lock(&l->notify_lock);
	for (unsigned q = 0; q < l->connected; q++)
		for (unsigned k = 0; k < 2; k++) {
			uint64_t c;

			if (read(l->notify[q][k], &c, sizeof(c)) == sizeof(c))
				evtchn_backend_notify(l->d, atomic_load(&l->evtchn[q][k]), l->kick[q]);
		}
	pthread_mutex_unlock(&l->notify_lock);
}

int swlink_quiesce(struct swlink *l, uint64_t deadline_ns, struct errbuf *eb)
{
	char *text = malloc(STATE_TEXT_MAX), why[256];
	unsigned left = device_ms_left(deadline_ns);
	struct swp_quiesce m = { .timeout_ms = left < SWP_QUIESCE_MAX_MS ? left : SWP_QUIESCE_MAX_MS };
	int r = 0;

	if (!text)
		return errbuf_set(eb, ENOMEM, "vif %u: out of memory", l->vif);
	pthread_mutex_lock(&l->req_lock);
	l->nr_saved = 0;
	if (l->connected && m.timeout_ms == 0) {
		r = errbuf_set(eb, ETIMEDOUT, "vif %u: no time is left of the %u ms its domain's devices have to "
			       "quiesce, all of them together", l->vif, DEVICE_QUIESCE_MS);
	} else if (l->connected) {
		swp_hdr_init(&m.h, SWP_QUIESCE, sizeof(m));
		r = swlink_request(l, &m, sizeof(m), text, STATE_TEXT_MAX);
		if (r < 0)
			r = errbuf_set(eb, -r, "vif %u: switch %s (%s) did not quiesce its queues: %s", l->vif, l->name,
				       l->path, text);
		else if ((r = parse_states(l, text, why, sizeof(why))) < 0)
			errbuf_set(eb, -r, "vif %u: switch %s quiesced its queues, but %s", l->vif, l->name, why);
		if (r == 0)
			flush_notifies(l);
	}
	pthread_mutex_unlock(&l->req_lock);
	free(text);
	if (r == -EPROTO) {
		struct errbuf ignored;

		swlink_resume(l, &ignored); /* quiesced there, but the state is unusable: it goes on */
	}
	return r;
}

int swlink_resume(struct swlink *l, struct errbuf *eb)
{
	char text[256];
	struct swp_hdr h;
	int r = 0;

	pthread_mutex_lock(&l->req_lock);
	if (l->attached) {
		swp_hdr_init(&h, SWP_RESUME, sizeof(h));
		r = swlink_request(l, &h, sizeof(h), text, sizeof(text));
	}
	pthread_mutex_unlock(&l->req_lock);
	if (r < 0)
		return errbuf_set(eb, -r, "vif %u: switch %s (%s) did not resume its queues: %s", l->vif, l->name,
				  l->path, text);
	return 0;
}

int swlink_saved_queue(struct swlink *l, unsigned q, uint32_t *tx_port, uint32_t *rx_port,
		       struct netback_ring_state *st)
{
	int r = -ENOENT;

	pthread_mutex_lock(&l->req_lock);
	if (q < l->nr_saved) {
		*tx_port = atomic_load(&l->evtchn[q][0]);
		*rx_port = atomic_load(&l->evtchn[q][1]);
		*st = l->saved[q];
		r = 0;
	}
	pthread_mutex_unlock(&l->req_lock);
	return r;
}

int swlink_restore(struct swlink *l, unsigned nq, const uint32_t (*ports)[2], const struct netback_ring_state *st,
		   struct errbuf *eb)
{
	struct domain *d = l->d;
	struct swp_restore m = { 0 };
	char text[512];
	int r = 0;

	pthread_mutex_lock(&l->req_lock);
	if (!l->attached || l->connected || nq > l->nr_queues) {
		r = errbuf_set(eb, EBUSY, "vif %u: the switch link is %s: saved state goes to a vif as a build leaves it",
			       l->vif, !l->attached ? "not attached" : l->connected ? "connected already" :
			       "of fewer queues");
		goto out;
	}
	for (unsigned q = 0; q < nq && r == 0; q++) {
		r = swlink_bind_queue(l, q, ports[q][0], ports[q][1]);
		if (r < 0)
			r = errbuf_set(eb, EINVAL, "vif %u queue %u: event channel %u/%u %s", l->vif, q, ports[q][0],
				       ports[q][1], r == -EBUSY ? "is bound to a backend already (another queue's?)" :
				       "in the restored event-channel table is not an unbound port for the backend's "
				       "domain 0 (the table must be restored first, its backend ports unbound)");
		m.q[q] = (struct swp_queue_state){
			.tx_ref = st[q].tx_ref, .rx_ref = st[q].rx_ref, .tx_req_cons = st[q].tx_req_cons,
			.tx_rsp_prod_pvt = st[q].tx_rsp_prod_pvt, .rx_req_cons = st[q].rx_req_cons,
			.rx_rsp_prod_pvt = st[q].rx_rsp_prod_pvt,
			.flags = (st[q].tx_cut ? SWP_QUEUE_TX_CUT : 0) | (st[q].broken ? SWP_QUEUE_BROKEN : 0),
		};
	}
	if (r < 0)
		goto out;
	swp_hdr_init(&m.h, SWP_RESTORE, sizeof(m));
	m.table_gpa = d->gnttab.gpa;
	m.table_frames = atomic_load(&d->gnttab.nr_entries) / (uint32_t)XENITH_GNTTAB_ENTRIES_PER_FRAME;
	m.nr_queues = nq;
	r = swlink_request(l, &m, sizeof(m), text, sizeof(text));
	if (r < 0)
		r = errbuf_set(eb, -r, "vif %u: switch %s (%s) refused the saved queues: %s", l->vif, l->name, l->path,
			       text);
out:
	if (r < 0)
		swlink_unbind_all(l);
	pthread_mutex_unlock(&l->req_lock);
	return r;
}
