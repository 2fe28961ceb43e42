/* SPDX-License-Identifier: MIT */
/*
 * A domain's xenstore (io/xenstore.h) and the guest's connection to it,
 * the VMM's side of what Xen's toolstack and xenstored do for a PV guest.
 *
 * The store lives as long as the domain (the first build makes it): the
 * VMM's own nodes and watches, the backends' directories, survive a
 * reboot.  Each build (domain_create, a restart) then
 *   - removes the guest's home /local/domain/ID and /vm/UUID and writes
 *     them anew (what xl writes for a new domain; the list is in
 *     xsdomain.c), so a rebooted guest starts from a fresh tree, as a Xen
 *     guest rebooted by xl (a new domain) does;
 *   - opens the guest's connection on the new ring page (the builder's
 *     BUILDER_XENSTORE), whose notify sets EVTCHN_XENSTORE_PORT pending.
 * A teardown ends the connection (the guest's watches and transactions go)
 * before guest memory is unmapped.
 */
#ifndef XENITH_HV_XSDOMAIN_H
#define XENITH_HV_XSDOMAIN_H

#include <stddef.h>

#include "err.h"

struct domain;
struct xs_store;

/* At every build of a PV domain, once guest memory is populated: 0 or -errno with eb. */
int xsdomain_connect(struct domain *d, struct errbuf *eb);
/* Ends the guest's connection (teardown, before guest memory goes); no-op without one. */
void xsdomain_disconnect(struct domain *d);
/* Frees the store (domain_destroy). */
void xsdomain_free(struct domain *d);

/*
 * The guest sent on EVTCHN_XENSTORE_PORT (its vCPU thread): the store
 * answers every whole request on the ring now.  -EPROTO once the ring
 * was found unusable (then and at every later send), -ENOTCONN without a
 * connection; else 0.
 */
int xsdomain_kick(struct domain *d);

/* The domain's store, NULL before the first build: the VMM's backends act on it as domain 0. */
struct xs_store *xsdomain_store(struct domain *d);

/*
 * `xenith xenstore-ls`: the tree below path (NULL: "/") as xenstore-ls
 * prints it, in a malloc'd string (*out, the caller frees): 0, -ENOENT,
 * -ENOMEM, -E2BIG (longer than max bytes), -ENOTCONN (no store).
 */
int xsdomain_dump(struct domain *d, const char *path, size_t max, char **out);

/* `xenith xenstore-write`: writes value at path as domain 0 (the toolstack): 0 or -errno. */
int xsdomain_write(struct domain *d, const char *path, const char *value);

/*
 * Relocation (`xenith save`/`restore`): the store's tree and the guest's
 * connection (io/xenstore.h's xs_save: format and what a restore does to
 * open transactions).
 */
struct savebuf;
/* The domain's store and its guest connection into out (a paused domain). 0 or -errno with eb. */
int xsdomain_save(struct domain *d, struct savebuf *out, struct errbuf *eb);
/*
 * Loads them into this (new, not yet running) domain's store and connection,
 * built from the same config; the domain keeps the saved /vm/UUID.  0 or
 * -errno with eb; a refusal leaves the store as it was.
 */
int xsdomain_restore(struct domain *d, const void *data, size_t len, struct errbuf *eb);

#endif
