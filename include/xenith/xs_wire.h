/* SPDX-License-Identifier: MIT */
/*
 * xenstore's wire format, as Xen defines it (xen/include/public/io/xs_wire.h):
 * the message header, the operation numbers, the error strings and the
 * shared ring page through which a guest talks to the store.  Values and
 * layouts are Xen's so that Xen's own clients (Mini-OS, Linux's xenbus)
 * speak to Xenith's store unchanged; the words here are ours.
 *
 * A message is a struct xsd_sockmsg followed by len bytes of payload
 * (len <= XENSTORE_PAYLOAD_MAX), usually NUL-terminated strings.  A reply
 * echoes type, req_id and tx_id, or has type XS_ERROR and the errno's
 * name ("ENOENT") NUL-terminated as payload.  Watch events arrive on the
 * response ring as XS_WATCH_EVENT messages with req_id and tx_id 0 and the
 * payload "path\0token\0".
 *
 * The ring page: the guest writes requests into req[] and advances
 * req_prod; the store consumes them (req_cons) and writes replies and
 * watch events into rsp[] (rsp_prod), which the guest consumes (rsp_cons).
 * Indices are free-running 32-bit counters; the byte at index i is at
 * MASK_XENSTORE_IDX(i).  After moving an index, each side notifies the
 * other through the store's event channel.
 */
#ifndef XENITH_XS_WIRE_H
#define XENITH_XS_WIRE_H

#include <stdint.h>

enum xsd_sockmsg_type {
	XS_CONTROL = 0,          /* XS_DEBUG in older Xen; privileged: a guest gets EACCES */
	XS_DIRECTORY = 1,
	XS_READ = 2,
	XS_GET_PERMS = 3,
	XS_WATCH = 4,
	XS_UNWATCH = 5,
	XS_TRANSACTION_START = 6,
	XS_TRANSACTION_END = 7,
	XS_INTRODUCE = 8,
	XS_RELEASE = 9,
	XS_GET_DOMAIN_PATH = 10,
	XS_WRITE = 11,
	XS_MKDIR = 12,
	XS_RM = 13,
	XS_SET_PERMS = 14,
	XS_WATCH_EVENT = 15,
	XS_ERROR = 16,
	XS_IS_DOMAIN_INTRODUCED = 17,
	XS_RESUME = 18,
	XS_SET_TARGET = 19,
	XS_RESTRICT = 20,
	XS_RESET_WATCHES = 21,
	XS_DIRECTORY_PART = 22,
	XS_TYPE_COUNT,
	XS_INVALID = 0xffff,
};

struct xsd_sockmsg {
	uint32_t type;   /* enum xsd_sockmsg_type */
	uint32_t req_id; /* chosen by the client, echoed in the reply */
	uint32_t tx_id;  /* transaction, 0 for none */
	uint32_t len;    /* payload bytes after this header */
};
_Static_assert(sizeof(struct xsd_sockmsg) == 16, "xsd_sockmsg ABI");

/* Fields of an XS_WATCH_EVENT payload. */
enum xs_watch_type {
	XS_WATCH_PATH = 0,
	XS_WATCH_TOKEN = 1,
};

#define XENSTORE_PAYLOAD_MAX 4096u
#define XENSTORE_ABS_PATH_MAX 3072u
#define XENSTORE_REL_PATH_MAX 2048u

#define XENSTORE_RING_SIZE 1024u
typedef uint32_t XENSTORE_RING_IDX;
#define MASK_XENSTORE_IDX(idx) ((idx) & (XENSTORE_RING_SIZE - 1))

struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE];  /* guest -> store */
	char rsp[XENSTORE_RING_SIZE];  /* store -> guest: replies and watch events */
	XENSTORE_RING_IDX req_cons, req_prod;
	XENSTORE_RING_IDX rsp_cons, rsp_prod;
	uint32_t server_features;      /* XENSTORE_SERVER_FEATURE_*, written by the store */
	uint32_t connection;           /* XENSTORE_CONNECTED, ... */
	uint32_t error;                /* XENSTORE_ERROR_*, written by the store */
};
_Static_assert(__builtin_offsetof(struct xenstore_domain_interface, req_cons) == 2048, "xs ring ABI");
_Static_assert(__builtin_offsetof(struct xenstore_domain_interface, error) == 2072, "xs ring ABI");

#define XENSTORE_SERVER_FEATURE_RECONNECTION 1u
#define XENSTORE_SERVER_FEATURE_ERROR 2u
#define XENSTORE_CONNECTED 0u
#define XENSTORE_RECONNECT 1u
#define XENSTORE_ERROR_NONE 0u
#define XENSTORE_ERROR_COMM 1u     /* a message the store cannot parse: the ring is dead */
#define XENSTORE_ERROR_RINGIDX 2u  /* impossible ring indices */
#define XENSTORE_ERROR_PROTO 3u    /* a protocol violation */

/* XenbusState, Xen's device connection states (xen/include/public/io/xenbus.h). */
enum xenbus_state {
	XenbusStateUnknown = 0,
	XenbusStateInitialising = 1,
	XenbusStateInitWait = 2,   /* backend: waiting for the frontend's details */
	XenbusStateInitialised = 3,/* frontend: details written, waiting for the backend */
	XenbusStateConnected = 4,
	XenbusStateClosing = 5,
	XenbusStateClosed = 6,
	XenbusStateReconfiguring = 7,
	XenbusStateReconfigured = 8,
};

#endif
