// SPDX-License-Identifier: MIT
#include "chromium_check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Chromium's start on a loaded 2-CPU host takes seconds; a hung one is killed after this. */
#define CHROMIUM_DEADLINE_S 120

/*
 * Appended to the copy of the page Chromium opens.  Per chart: its marks,
 * how many are drawn, the svg's laid-out size and the first mark that is
 * not drawn, one "CHART ..." line each in <pre id="drawn">.
 */
static const char probe[] =
	"<script>(function () {\n"
	"var out = [];\n"
	"document.querySelectorAll('section.chart').forEach(function (sec) {\n"
	"  var svg = sec.querySelector('svg'), marks = sec.querySelectorAll('.mark'), drawn = 0, why = '';\n"
	"  marks.forEach(function (m) {\n"
	"    m.scrollIntoView({block: 'center', inline: 'center'});\n"
	"    var s = svg.getBoundingClientRect(), r = m.getBoundingClientRect(), cs = getComputedStyle(m);\n"
	"    var fin = [r.left, r.top, r.width, r.height].every(isFinite);\n"
	"    var inside = r.left >= s.left - 1 && r.right <= s.right + 1 && r.top >= s.top - 1 &&\n"
	"                 r.bottom <= s.bottom + 1;\n"
	"    var paints = cs.fill !== 'none' && !/rgba\\(.*,\\s*0\\)/.test(cs.fill) && cs.visibility === 'visible' &&\n"
	"                 cs.display !== 'none' && parseFloat(cs.opacity) > 0 && parseFloat(cs.fillOpacity) > 0;\n"
	"    var cx = r.left + r.width / 2, cy = r.top + r.height / 2;\n"
	"    var hit = fin && document.elementsFromPoint(cx, cy).indexOf(m) >= 0;\n"
	"    var top = fin ? document.elementFromPoint(cx, cy) : null;\n"
	"    var covered = top && top !== m && !top.classList.contains('mark') && top.closest('svg') === svg &&\n"
	"                  /^(rect|circle|ellipse|polygon|path)$/.test(top.tagName) && getComputedStyle(top).fill !== 'none';\n"
	"    if (fin && r.width > 0 && r.height > 0 && inside && paints && hit && !covered) { drawn++; return; }\n"
	"    if (!why)\n"
	"      why = m.tagName + ' \"' + m.textContent.slice(0, 60) + '\": ' + (!fin ? 'box not finite' :\n"
	"            !(r.width > 0 && r.height > 0) ? 'empty box' : !inside ? 'outside its svg' :\n"
	"            !paints ? 'fill does not paint (' + cs.fill + ')' : !hit ? 'not hit at its centre' :\n"
	"            'covered by ' + top.tagName + '.' + top.getAttribute('class'));\n"
	"  });\n"
	"  var s = svg ? svg.getBoundingClientRect() : null;\n"
	"  out.push(['CHART', sec.dataset.suite, sec.dataset.chart, marks.length, drawn,\n"
	"            s ? Math.round(s.width) + 'x' + Math.round(s.height) : 'nosvg', why.replace(/\\s+/g, '_')].join(' '));\n"
	"});\n"
	"var pre = document.createElement('pre');\n"
	"pre.id = 'drawn';\n"
	"pre.textContent = out.join('\\n');\n"
	"document.body.appendChild(pre);\n"
	"})();</script>\n";

const char *chromium_path(void)
{
	static char found[4096];
	static const char *const names[] = { "chromium", "chromium-browser" };
	const char *path = getenv("PATH");

	for (size_t n = 0; path && n < sizeof(names) / sizeof(names[0]); n++) {
		const char *p = path;

		while (*p) {
			size_t l = strcspn(p, ":");

			snprintf(found, sizeof(found), "%.*s/%s", (int)l, p, names[n]);
			if (access(found, X_OK) == 0)
				return found;
			p += l + (p[l] == ':');
		}
	}
	return NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (!f)
		return NULL;
	do {
		if (cap - n < 65536) {
			char *nb = realloc(buf, (cap = cap ? 2 * cap : 262144) + 1);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = 0;
	return buf;
}

/*
 * Chromium's helpers (zygote, renderers) are in its process group and, as
 * this process is a subreaper, become its children when Chromium exits:
 * none outlives the check, none is left a zombie.
 */
static void reap_group(pid_t pgid)
{
	/* a member whose parent is still dying is not ours yet: up to 5 s for the group to empty */
	for (int i = 0; i < 500 && kill(-pgid, SIGKILL) == 0; i++) {
		while (waitpid(-pgid, NULL, WNOHANG) > 0)
			;
		usleep(10000);
	}
	while (waitpid(-pgid, NULL, WNOHANG) > 0)
		;
}

/* Runs chromium on url with stdout to out_path; 0, or -1 with why.  Kills its process group on the deadline. */
static int run_chromium(const char *chromium, const char *profile, const char *url, const char *out_path,
			const char *err_path, char *why, size_t why_size)
{
	char profile_arg[4300];
	struct timespec t0, now;
	int status;
	pid_t pid;

	snprintf(profile_arg, sizeof(profile_arg), "--user-data-dir=%s", profile);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid = fork();
	if (pid < 0) {
		snprintf(why, why_size, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		setpgid(0, 0);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		/* --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start */
		execl(chromium, chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		      "--disable-extensions", "--hide-scrollbars", "--window-size=1200,900", profile_arg,
		      "--dump-dom", url, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (r < 0 || now.tv_sec - t0.tv_sec > CHROMIUM_DEADLINE_S) {
			reap_group(pid);
			snprintf(why, why_size, "chromium did not finish within %d s", CHROMIUM_DEADLINE_S);
			return -1;
		}
		usleep(20000);
	}
	reap_group(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *err = slurp(err_path);

		snprintf(why, why_size, "chromium failed (status 0x%x): %.400s", status, err ? err : "");
		free(err);
		return -1;
	}
	return 0;
}

int chromium_drawn(const char *html_path, const char *workdir, struct drawn_chart *out, size_t max,
		   double *seconds, char *why, size_t why_size)
{
	const char *chromium = chromium_path();
	char page[4200], dom[4200], err[4200], profile[4200], url[4300];
	char *html = NULL, *body, *text = NULL, *p;
	struct timespec t0, t1;
	int n = -1;
	FILE *f;

	*seconds = 0;
	if (!chromium) {
		snprintf(why, why_size, "chromium is not installed");
		return -1;
	}
	if (mkdir(workdir, 0700) < 0) {
		snprintf(why, why_size, "mkdir %s: %s", workdir, strerror(errno));
		return -1;
	}
	snprintf(page, sizeof(page), "%s/page.html", workdir);
	snprintf(dom, sizeof(dom), "%s/dom.html", workdir);
	snprintf(err, sizeof(err), "%s/chromium.err", workdir);
	snprintf(profile, sizeof(profile), "%s/profile", workdir);
	snprintf(url, sizeof(url), "file://%s", page);
	html = slurp(html_path);
	if (!html || !(body = strstr(html, "</body>"))) {
		snprintf(why, why_size, "%s: %s", html_path, html ? "no </body>" : strerror(errno));
		goto out;
	}
	f = fopen(page, "w");
	if (!f || fwrite(html, 1, (size_t)(body - html), f) != (size_t)(body - html) || fputs(probe, f) < 0 ||
	    fputs(body, f) < 0 || fclose(f) != 0) {
		snprintf(why, why_size, "writing %s failed", page);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (run_chromium(chromium, profile, url, dom, err, why, why_size) < 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	text = slurp(dom);
	p = text ? strstr(text, "<pre id=\"drawn\">") : NULL;
	if (!p) {
		snprintf(why, why_size, "Chromium's DOM has no result of the probe (did the page load?)");
		goto out;
	}
	n = 0;
	for (p = strstr(p, "CHART "); p && (size_t)n < max; p = strstr(p + 1, "CHART ")) {
		struct drawn_chart *c = &out[n];

		memset(c, 0, sizeof(*c));
		if (sscanf(p, "CHART %31s %63s %u %u %31s %199[^\n<]", c->suite, c->id, &c->marks, &c->drawn,
			   c->svg_size, c->why) < 5) {
			snprintf(why, why_size, "cannot read the probe's line: %.100s", p);
			n = -1;
			goto out;
		}
		for (char *u = c->why; *u; u++) /* the probe's line had its spaces as '_' */
			*u = *u == '_' ? ' ' : *u;
		n++;
	}
out:
	free(html);
	free(text);
	nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return n;
}
