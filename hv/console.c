// SPDX-License-Identifier: MIT
#include "console.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "domain.h"

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a closed terminal must not stop the domain */
		buf += n;
		len -= (size_t)n;
	}
}

int console_init(struct console *c, int out_fd, const char *prefix, const char *log_path,
		 struct errbuf *eb)
{
	memset(c, 0, sizeof(*c));
	c->out_fd = out_fd;
	c->log_fd = -1;
	text_filter_init(&c->filter, 0);
	snprintf(c->prefix, sizeof(c->prefix), "%s", prefix ? prefix : "");
	if (log_path && *log_path) {
		c->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (c->log_fd < 0)
			return errbuf_set(eb, errno, "console_log %s: %s", log_path, strerror(errno));
	}
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

void console_fini(struct console *c)
{
	console_flush(c);
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < c->nr_clients; i++)
		close(c->clients[i]);
	c->nr_clients = 0;
	pthread_mutex_unlock(&c->lock);
	if (c->log_fd >= 0)
		close(c->log_fd);
	c->log_fd = -1;
	pthread_mutex_destroy(&c->lock);
}

static void history_add(struct console *c, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		c->history[(c->history_total + i) % CONSOLE_HISTORY] = buf[i];
	c->history_total += len;
}

/* Sends to attached clients; drops a client whose socket is full or gone. */
static void clients_send(struct console *c, const char *buf, size_t len)
{
	for (unsigned i = 0; i < c->nr_clients;) {
		ssize_t n = send(c->clients[i], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n == (ssize_t)len) {
			i++;
			continue;
		}
		close(c->clients[i]);
		c->clients[i] = c->clients[--c->nr_clients];
	}
}

/* One complete line (or a forced partial one) to every sink; c->lock held. */
static void emit_line(struct console *c)
{
	char out[sizeof(c->prefix) + CONSOLE_LINE_MAX + 1];
	size_t n = 0, plen = strlen(c->prefix);

	if (!c->first_line_ns)
		c->first_line_ns = now_ns();
	memcpy(out, c->prefix, plen);
	n = plen;
	memcpy(out + n, c->line, c->line_len);
	n += c->line_len;
	if (c->line_len == 0 || c->line[c->line_len - 1] != '\n')
		out[n++] = '\n';
	if (c->out_fd >= 0)
		write_all(c->out_fd, out, n);
	if (c->log_fd >= 0)
		write_all(c->log_fd, out + plen, n - plen);
	history_add(c, out + plen, n - plen);
	clients_send(c, out + plen, n - plen);
	c->line_len = 0;
}

/* Filtered text (whole characters) onto the current line; c->lock held. */
static void line_add(struct console *c, const char *s, size_t n)
{
	if (c->line_len + n > CONSOLE_LINE_MAX)
		emit_line(c); /* a long line is cut, between characters */
	memcpy(c->line + c->line_len, s, n);
	c->line_len += n;
	if (s[n - 1] == '\n' || c->line_len == CONSOLE_LINE_MAX)
		emit_line(c);
}

void console_write(struct console *c, const char *buf, size_t len)
{
	pthread_mutex_lock(&c->lock);
	c->bytes += len;
	for (size_t i = 0; i < len; i++) {
		char out[TEXT_FILTER_OUT_MAX];
		size_t n;

		/* Keep the host terminal sane: no escape sequences, no NULs, no C1 (textfilter.h). */
		if (buf[i] == '\r')
			continue; /* CRLF from Linux guests */
		n = text_filter_byte(&c->filter, (uint8_t)buf[i], out);
		if (n)
			line_add(c, out, n);
	}
	pthread_mutex_unlock(&c->lock);
}

void console_flush(struct console *c)
{
	char out[TEXT_FILTER_OUT_MAX];
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = text_filter_end(&c->filter, out); /* a character the guest never finished */
	if (n)
		line_add(c, out, n);
	if (c->line_len)
		emit_line(c);
	pthread_mutex_unlock(&c->lock);
}

int console_attach(struct console *c, int fd)
{
	uint64_t total, start;

	pthread_mutex_lock(&c->lock);
	if (c->nr_clients == CONSOLE_MAX_CLIENTS) {
		pthread_mutex_unlock(&c->lock);
		return -EBUSY;
	}
	total = c->history_total;
	start = total > CONSOLE_HISTORY ? total - CONSOLE_HISTORY : 0;
	for (uint64_t i = start; i < total;) {
		size_t off = i % CONSOLE_HISTORY;
		size_t n = CONSOLE_HISTORY - off;

		if (n > total - i)
			n = (size_t)(total - i);
		/* Blocking here is fine: the history is at most 16 KiB. */
		write_all(fd, c->history + off, n);
		i += n;
	}
	c->clients[c->nr_clients++] = fd;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int console_drain_ring(struct domain *d)
{
	struct xenith_console_ring *r = d->cons_ring;
	char buf[XENITH_CONS_OUT_SIZE];
	uint32_t cons, prod, n;

	if (!r)
		return 0; /* a domain without a ring (Linux guests use the UART) */
	/* Pairs with the guest's release store of out_prod: the bytes before it are visible. */
	prod = __atomic_load_n(&r->out_prod, __ATOMIC_ACQUIRE);
	cons = __atomic_load_n(&r->out_cons, __ATOMIC_RELAXED);
	n = prod - cons;
	if (n > XENITH_CONS_OUT_SIZE)
		return -EINVAL; /* the guest's indices are impossible: ignore them */
	for (uint32_t i = 0; i < n; i++)
		buf[i] = r->out[MASK_XENCONS_IDX(cons + i, XENITH_CONS_OUT_SIZE)];
	/* Pairs with the guest's acquire load of out_cons: it may reuse the slots. */
	__atomic_store_n(&r->out_cons, prod, __ATOMIC_RELEASE);
	if (n)
		console_write(&d->console, buf, n);
	return 0;
}
