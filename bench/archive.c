// SPDX-License-Identifier: MIT
#include "archive.h"

#include "fsutil.h"
#include "resindex.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX];

int archive_prepare(const char *out, struct errbuf *eb)
{
	const char *env = getenv("XENITH_RESULTS");
	char src[PATH_MAX];
	int r;

	if (out && *out) {
		snprintf(dir, sizeof(dir), "%s", out);
	} else if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else {
		snprintf(src, sizeof(src), "%s/results", XENITH_SOURCE_ROOT);
		if (access(src, W_OK) == 0)
			snprintf(dir, sizeof(dir), "%s/results/runs", XENITH_SOURCE_ROOT);
		else
			snprintf(dir, sizeof(dir), "xenith-results");
	}
	r = fs_mkdir_p(dir, 0755);
	if (r < 0)
		return errbuf_set(eb, -r, "results archive %s: %s (choose another with --out)", dir,
				  strerror(-r));
	if (access(dir, W_OK) < 0)
		return errbuf_set(eb, errno, "results archive %s is not writable: %s (choose another "
				  "with --out)", dir, strerror(errno));
	return 0;
}

const char *archive_dir(void)
{
	return dir;
}

static int index_run(const struct bench_run *run, const char *file, struct errbuf *eb)
{
	char path[PATH_MAX + 16];
	struct results_index *ix;
	int r;

	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	r = index_open_sqlite(&ix, path, eb);
	if (r < 0)
		return r;
	r = index_store_run(ix, run, file, eb);
	index_close(ix);
	return r;
}

/* The document's file name for a run id: ':' is awkward in file names. */
static void doc_name(const char *id, char *name, size_t size)
{
	snprintf(name, size, "%s", id);
	for (char *p = name; *p; p++)
		if (*p == ':' || *p == '/')
			*p = '-';
}

void archive_unique_id(char *id, size_t size)
{
	char base[128], name[128], path[PATH_MAX];
	const char *z;
	int date_len;

	snprintf(base, sizeof(base), "%s", id);
	z = strchr(base, 'Z'); /* the date: YYYY-MM-DDTHH:MM:SSZ */
	date_len = z ? (int)(z - base + 1) : (int)strlen(base);
	for (unsigned k = 2; k < 100; k++) {
		doc_name(id, name, sizeof(name));
		if (snprintf(path, sizeof(path), "%s/%s.json", dir, name) >= (int)sizeof(path) ||
		    access(path, F_OK) < 0)
			return;
		/*
		 * The count right after the date: ".02" sorts after the "-" that
		 * follows the date in the first run's name, so names still sort by
		 * time (archive_latest, history).
		 */
		snprintf(id, size, "%.*s.%02u%s", date_len, base, k, base + date_len);
	}
}

int archive_store(const struct bench_run *run, char *path, size_t size, struct errbuf *eb)
{
	char name[128];
	int r;

	/* File names sort by date. */
	doc_name(run->id, name, sizeof(name));
	if (snprintf(path, size, "%s/%s.json", dir, name) >= (int)size)
		return errbuf_set(eb, ENAMETOOLONG, "archive path too long");
	r = bench_run_write(run, path, eb);
	if (r < 0)
		return r;
	return index_run(run, name, eb);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Document names in directory `in`, sorted (names start with the date). */
static char **list_documents_in(const char *in, size_t *n)
{
	DIR *d = opendir(in);
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		/* run documents are named after their date; exports and reports are not */
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") || strstr(de->d_name, ".partial") ||
		    de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? 2 * cap : 32) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		v[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	if (v)
		qsort(v, *n, sizeof(*v), cmp_name);
	return v;
}

/* Document names in the archive, sorted. */
static char **list_documents(size_t *n)
{
	return list_documents_in(dir, n);
}

int archive_latest_in(const char *in, char *path, size_t size, struct errbuf *eb)
{
	size_t n;
	char **names = list_documents_in(in, &n);
	int r = 0;

	if (!n)
		r = errbuf_set(eb, ENOENT, "no result documents in %s", in);
	else if (snprintf(path, size, "%s/%s", in, names[n - 1]) >= (int)size)
		r = errbuf_set(eb, ENAMETOOLONG, "path too long");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int archive_latest(char *path, size_t size, struct errbuf *eb)
{
	size_t n;
	char **names = list_documents(&n);
	int r = 0;

	if (!n)
		r = errbuf_set(eb, ENOENT, "no result documents in %s; run `xenith bench` first", dir);
	else if (snprintf(path, size, "%s/%s", dir, names[n - 1]) >= (int)size)
		r = errbuf_set(eb, ENAMETOOLONG, "path too long");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int archive_load_history(const char *skip_path, size_t max, struct bench_run **runs, size_t *n,
			 struct errbuf *eb)
{
	size_t count, first;
	char **names = list_documents(&count);
	struct bench_run *v = calloc(max ? max : 1, sizeof(*v));

	*runs = v;
	*n = 0;
	if (!v) {
		for (size_t i = 0; i < count; i++)
			free(names[i]);
		free(names);
		return errbuf_set(eb, ENOMEM, "out of memory");
	}
	first = count > max + 1 ? count - max - 1 : 0;
	for (size_t i = first; i < count && *n < max; i++) {
		char path[PATH_MAX + 256];
		struct errbuf ignore;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (skip_path && !strcmp(path, skip_path))
			continue;
		if (bench_run_read(&v[*n], path, &ignore) == 0)
			(*n)++;
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return 0;
}
