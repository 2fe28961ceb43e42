// SPDX-License-Identifier: MIT
#include "console.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* Closes the log files (console_init's failure path, console_fini). */
static void console_close_files(struct console *c)
{
	int *fds[] = { &c->log_fd, &c->log_rd_fd, &c->log1_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Opens LOG.1 beside LOG (a regular file of ours, no link), as private as LOG. */
static int open_log1(struct console *c, const char *log_path, mode_t mode, struct errbuf *eb)
{
	char old[PATH_MAX + 2];
	struct stat st1;

	snprintf(old, sizeof(old), "%s.1", log_path);
	c->log1_fd = open(old, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);
	if (c->log1_fd < 0)
		return errbuf_set(eb, errno, "console_log %s: its rotation file %s: %s%s", log_path, old,
				  strerror(errno), errno == ELOOP ? " (a symbolic link: remove it)" : "");
	if (fstat(c->log1_fd, &st1) < 0 || !S_ISREG(st1.st_mode) || st1.st_nlink != 1)
		return errbuf_set(eb, EINVAL, "console_log %s: its rotation file %s is not a regular file "
				  "with one name; remove it", log_path, old);
	/* An earlier run's LOG.1 may be more open than LOG is now. */
	if ((st1.st_mode & 0777) != (mode & 0777) && fchmod(c->log1_fd, mode & 0777) < 0)
		return errbuf_set(eb, errno, "console_log %s: making %s as private as the log (mode %03o): %s",
				  log_path, old, (unsigned)(mode & 0777), strerror(errno));
	c->log1_output = (uint64_t)st1.st_size; /* an earlier run's: output, dropped next */
	return 0;
}

int console_init(struct console *c, int out_fd, const char *prefix, const char *log_path,
		 uint64_t log_max, struct errbuf *eb)
{
	struct stat st, st_rd;
	int r;

	memset(c, 0, sizeof(*c));
	c->out_fd = out_fd;
	c->log_fd = -1;
	c->log_rd_fd = -1;
	c->log1_fd = -1;
	c->log_max = log_max ? log_max : CONSOLE_LOG_MAX_DEFAULT;
	text_filter_init(&c->filter, 0);
	snprintf(c->prefix, sizeof(c->prefix), "%s", prefix ? prefix : "");
	if (c->log_max < CONSOLE_LOG_MAX_MIN)
		return errbuf_set(eb, EINVAL, "console_log_max = %llu bytes: at least %llu are needed",
				  (unsigned long long)c->log_max, CONSOLE_LOG_MAX_MIN);
	if (log_path && *log_path) {
		if (strlen(log_path) + 2 >= sizeof(c->log_path))
			return errbuf_set(eb, ENAMETOOLONG, "console_log %.64s...: path too long", log_path);
		snprintf(c->log_path, sizeof(c->log_path), "%s", log_path);
		/*
		 * Write-only: were the VMM a reader of a FIFO log too, the pipe
		 * would fill once its reader went away, and the guest would wait.
		 */
		c->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (c->log_fd < 0)
			return errbuf_set(eb, errno, "console_log %s: %s", log_path, strerror(errno));
		if (fstat(c->log_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			/* A FIFO or a device: not rotated, and a full one loses output rather than block. */
			fcntl(c->log_fd, F_SETFL, fcntl(c->log_fd, F_GETFL) | O_NONBLOCK);
			goto done;
		}
		c->log_capped = true;
		c->log_size = c->log_output = (uint64_t)st.st_size; /* appending: it counts */
		/*
		 * LOG (to read) and LOG.1 are opened now, while files may still be
		 * opened: the VMM's threads may not open or rename files once it
		 * is confined (seccomp, a jail without this directory).  A LOG we
		 * may not read is emptied at the cap instead of copied.
		 */
		c->log_rd_fd = open(log_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (c->log_rd_fd >= 0 && (fstat(c->log_rd_fd, &st_rd) < 0 || st_rd.st_ino != st.st_ino ||
					  st_rd.st_dev != st.st_dev)) {
			close(c->log_rd_fd); /* replaced between the two opens */
			c->log_rd_fd = -1;
		}
		r = open_log1(c, log_path, st.st_mode, eb);
		if (r < 0) {
			console_close_files(c);
			return r;
		}
	}
done:
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
	console_close_files(c);
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

/* Appends to the log file and counts its size; 0 or -errno (what was not written is lost). */
static int log_append(struct console *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(c->log_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		c->log_size += (uint64_t)n;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A line of xenith's own in the log (not guest output); 0 or -errno. */
static __attribute__((format(printf, 2, 3))) int log_note(struct console *c, const char *fmt, ...)
{
	char note[PATH_MAX + 256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return -EINVAL;
	return log_append(c, note, (size_t)n < sizeof(note) ? (size_t)n : sizeof(note) - 1);
}

/* Writes all of buf at off; 0 or an errno. */
static int pwrite_all(int fd, const char *buf, size_t len, loff_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/*
 * Copies LOG's bytes [from, to) to the start of LOG.1; 0 or an errno.
 * copy_file_range where it can (no copy through user space; reflinks);
 * pread/pwrite where it cannot (LOG a link into another file system).
 * A LOG shorter than we counted (truncated behind our back) ends the copy.
 */
static int copy_to_log1(struct console *c, uint64_t from, uint64_t to)
{
	loff_t in = (loff_t)from, out = 0;
	bool plain = false;

	if (c->log_rd_fd < 0)
		return EBADF; /* LOG could not be opened for reading */
	while ((uint64_t)in < to) {
		size_t want = (size_t)(to - (uint64_t)in);
		ssize_t n;

		if (!plain) {
			n = copy_file_range(c->log_rd_fd, &in, c->log1_fd, &out, want, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) {
				plain = true;
				continue;
			}
		} else {
			char buf[8192];
			int e;

			n = pread(c->log_rd_fd, buf, want < sizeof(buf) ? want : sizeof(buf), in);
			if (n > 0 && (e = pwrite_all(c->log1_fd, buf, (size_t)n, out)) != 0) {
				errno = e;
				n = -1;
			}
			if (n > 0) {
				in += n;
				out += n;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			break;
	}
	return 0;
}

/*
 * Where the copy into LOG.1 starts when LOG holds more than the cap (an
 * earlier run's log, or a smaller cap than then): the start of the first
 * whole line of the last log_max bytes, so that LOG.1 stays within the cap
 * too.  A line longer than any of ours is cut.
 */
static uint64_t tail_start(struct console *c)
{
	uint64_t start = c->log_size - c->log_max;
	char buf[CONSOLE_LINE_MAX + 2];
	ssize_t n = pread(c->log_rd_fd, buf, sizeof(buf), (off_t)(start - 1));

	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			return start + (uint64_t)i;
	return start;
}

/*
 * LOG's output moves to LOG.1 (what LOG.1 held goes: that output is
 * dropped) and LOG starts again with a line saying so.  The files were
 * opened by console_init(): the rotation names no path, so it works under
 * the seccomp filters (no thread may open or rename a file) and in a jail
 * (which holds only the disks).  If LOG.1 cannot take the output, it is
 * dropped; if LOG cannot be emptied, logging stops (on stderr), its
 * descriptor kept open until console_fini() (the seccomp handler's log).
 */
static void log_rotate(struct console *c)
{
	uint64_t from = 0, skipped = 0, dropped, moved;
	int err = 0;

	if (c->log_rd_fd >= 0 && c->log_size > c->log_max) {
		from = tail_start(c);
		skipped = from < c->log_output ? from : c->log_output;
	}
	dropped = c->log1_output + skipped;
	moved = c->log_output - skipped;
	if (ftruncate(c->log1_fd, 0) < 0)
		err = errno;
	if (!err)
		err = copy_to_log1(c, from, c->log_size);
	if (ftruncate(c->log_fd, 0) < 0) {
		fprintf(stderr, "xenith: console_log %s reached console_log_max and cannot be emptied (%s); "
			"guest output is no longer logged\n", c->log_path, strerror(errno));
		c->log_off = true;
		return;
	}
	c->log_size = c->log_output = 0;
	if (err) {
		ftruncate(c->log1_fd, 0); /* no part of a copy left behind, uncounted */
		c->log1_output = 0;
		c->log_dropped += dropped + moved;
		log_note(c, "xenith: console log reached console_log_max (%llu bytes) and could not be "
			 "copied to %s.1 (%s), so it was emptied: %llu bytes of older output dropped "
			 "(%llu in all)\n", (unsigned long long)c->log_max, c->log_path, strerror(err),
			 (unsigned long long)(dropped + moved), (unsigned long long)c->log_dropped);
		return;
	}
	c->log1_output = moved;
	c->log_dropped += dropped;
	log_note(c, "xenith: console log reached console_log_max (%llu bytes): the %llu bytes of output "
		 "before this line are in %s.1; %llu bytes of older output dropped (%llu in all)\n",
		 (unsigned long long)c->log_max, (unsigned long long)moved, c->log_path,
		 (unsigned long long)dropped, (unsigned long long)c->log_dropped);
}

/* One line of guest output to the log: rotated first if it would pass the cap. */
static void log_line(struct console *c, const char *line, size_t len)
{
	char lost[PATH_MAX + 128];
	size_t lost_len = 0;
	uint64_t before;
	int r;

	if (c->log_lost) {
		int n = snprintf(lost, sizeof(lost), "xenith: %llu bytes of console output were lost: "
				 "writing %s failed: %s\n", (unsigned long long)c->log_lost, c->log_path,
				 strerror(c->log_errno));

		lost_len = n < 0 ? 0 : (size_t)n < sizeof(lost) ? (size_t)n : sizeof(lost) - 1;
	}
	if (c->log_capped && c->log_size + lost_len + len > c->log_max)
		log_rotate(c);
	if (c->log_off)
		return;
	if (lost_len) {
		if (log_append(c, lost, lost_len) < 0) {
			c->log_lost += len; /* still failing: this line goes too */
			return;
		}
		c->log_lost = 0;
	}
	before = c->log_size;
	r = log_append(c, line, len);
	c->log_output += c->log_size - before;
	if (r < 0) {
		c->log_lost += len - (c->log_size - before);
		c->log_errno = -r;
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
	if (c->log_fd >= 0 && !c->log_off)
		log_line(c, out + plen, n - plen);
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

/* console_write() with c->lock held. */
static void write_locked(struct console *c, const char *buf, size_t len)
{
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
}

void console_write(struct console *c, const char *buf, size_t len)
{
	pthread_mutex_lock(&c->lock);
	write_locked(c, buf, len);
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

bool console_full(struct console *c)
{
	bool full;

	pthread_mutex_lock(&c->lock);
	full = c->nr_clients == CONSOLE_MAX_CLIENTS;
	pthread_mutex_unlock(&c->lock);
	return full;
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
	/*
	 * Under the console lock from the indices to the write: two vCPUs
	 * kicking the port at once would otherwise both take [cons, prod) and
	 * print it twice, or print two drains out of order.
	 */
	pthread_mutex_lock(&d->console.lock);
	/* Pairs with the guest's release store of out_prod: the bytes before it are visible. */
	prod = __atomic_load_n(&r->out_prod, __ATOMIC_ACQUIRE);
	cons = __atomic_load_n(&r->out_cons, __ATOMIC_RELAXED);
	n = prod - cons;
	if (n > XENITH_CONS_OUT_SIZE) {
		pthread_mutex_unlock(&d->console.lock);
		return -EINVAL; /* the guest's indices are impossible: ignore them */
	}
	for (uint32_t i = 0; i < n; i++)
		buf[i] = r->out[MASK_XENCONS_IDX(cons + i, XENITH_CONS_OUT_SIZE)];
	/* Pairs with the guest's acquire load of out_cons: it may reuse the slots. */
	__atomic_store_n(&r->out_cons, prod, __ATOMIC_RELEASE);
	if (n)
		write_locked(&d->console, buf, n);
	pthread_mutex_unlock(&d->console.lock);
	return 0;
}
