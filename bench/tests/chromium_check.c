// SPDX-License-Identifier: MIT
#include "chromium_check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* Chromium's start on a loaded 2-CPU host takes seconds; a hung one is killed after this. */
#define CHROMIUM_DEADLINE_S 120

/*
 * Appended to the copy of the page Chromium opens.  Per chart: its marks,
 * how many are drawn, the svg's laid-out size and the first mark that is
 * not drawn, one "CHART ..." line each in <pre id="drawn">.
 */
static const char probe[] =
	"<script>(function () {\n"
	"var out = [], boxes = [], charts = 0;\n"
	"scrollTo(0, 0);\n"
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
	"    if (fin && r.width > 0 && r.height > 0 && inside && paints && hit && !covered) {\n"
	"      var c = (top && top !== m && top.classList.contains('mark') ? getComputedStyle(top) : cs).fill.match(/\\d+/g);\n"
	"      boxes.push(['MARK', charts, Math.floor(r.left + scrollX), Math.floor(r.top + scrollY),\n"
	"                  Math.ceil(r.width), Math.ceil(r.height), c[0], c[1], c[2]].join(' '));\n"
	"      drawn++;\n"
	"      return;\n"
	"    }\n"
	"    if (!why)\n"
	"      why = m.tagName + ' \"' + m.textContent.slice(0, 60) + '\": ' + (!fin ? 'box not finite' :\n"
	"            !(r.width > 0 && r.height > 0) ? 'empty box' : !inside ? 'outside its svg' :\n"
	"            !paints ? 'fill does not paint (' + cs.fill + ')' : !hit ? 'not hit at its centre' :\n"
	"            'covered by ' + top.tagName + '.' + top.getAttribute('class'));\n"
	"  });\n"
	"  var s = svg ? svg.getBoundingClientRect() : null;\n"
	"  out.push(['CHART', sec.dataset.suite, sec.dataset.chart, marks.length, drawn,\n"
	"            s ? Math.round(s.width) + 'x' + Math.round(s.height) : 'nosvg', why.replace(/\\s+/g, '_')].join(' '));\n"
	"  charts++;\n"
	"});\n"
	"scrollTo(0, 0);\n"
	"out.push('PAGE ' + Math.ceil(document.body.getBoundingClientRect().bottom + scrollY) + ' ' + innerHeight);\n"
	"out = out.concat(boxes);\n"
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
 * The screenshot is one window tall: the page must fit in it (the report
 * of a document with every suite and a history is about 5,000 px).
 */
#define WINDOW_W 1200
#define WINDOW_H 9000

struct image {
	unsigned w, h;
	unsigned char *rgb; /* w * h * 3 */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decodes Chromium's screenshot: 8-bit RGB or RGBA, not interlaced.  0, or -1 with why. */
static int png_read(const char *path, struct image *img, char *why, size_t why_size)
{
	size_t len = 0, zlen = 0, at = 8;
	unsigned char *file = NULL, *z = NULL, *raw = NULL;
	unsigned ch = 0;
	int r = -1;
	FILE *f = fopen(path, "rb");

	memset(img, 0, sizeof(*img));
	if (f) {
		fseek(f, 0, SEEK_END);
		len = (size_t)ftell(f);
		rewind(f);
		file = malloc(len ? len : 1);
		if (file && fread(file, 1, len, f) != len)
			len = 0;
		fclose(f);
	}
	if (!file || len < 33 || memcmp(file, "\x89PNG\r\n\x1a\n", 8)) {
		snprintf(why, why_size, "%s: not a PNG screenshot", path);
		goto out;
	}
	z = malloc(len);
	while (z && at + 12 <= len) {
		uint32_t n = be32(file + at);
		const unsigned char *type = file + at + 4, *data = file + at + 8;

		if (n > len - at - 12)
			break;
		if (!memcmp(type, "IHDR", 4) && n >= 13) {
			img->w = be32(data);
			img->h = be32(data + 4);
			ch = data[9] == 2 ? 3 : data[9] == 6 ? 4 : 0;
			if (data[8] != 8 || !ch || data[12] != 0 || !img->w || !img->h || img->w > 20000 || img->h > 20000) {
				snprintf(why, why_size, "%s: a PNG this check does not read (depth %u, colour type %u)", path,
					 data[8], data[9]);
				goto out;
			}
		} else if (!memcmp(type, "IDAT", 4)) {
			memcpy(z + zlen, data, n);
			zlen += n;
		}
		at += 12 + n;
	}
	if (!ch) {
		snprintf(why, why_size, "%s: no image header", path);
		goto out;
	}
	{
		size_t stride = (size_t)img->w * ch, rawlen = (stride + 1) * img->h;
		uLongf got = rawlen;

		raw = malloc(rawlen);
		img->rgb = malloc((size_t)img->w * img->h * 3);
		if (!raw || !img->rgb || uncompress(raw, &got, z, zlen) != Z_OK || got != rawlen) {
			snprintf(why, why_size, "%s: cannot inflate the image", path);
			goto out;
		}
		for (unsigned y = 0; y < img->h; y++) {
			unsigned char *row = raw + y * (stride + 1) + 1, *up = y ? row - (stride + 1) : NULL;
			unsigned filter = row[-1];

			for (size_t x = 0; x < stride; x++) {
				int a = x >= ch ? row[x - ch] : 0, b = up ? up[x] : 0, c = up && x >= ch ? up[x - ch] : 0;

				switch (filter) {
				case 0: break;
				case 1: row[x] = (unsigned char)(row[x] + a); break;
				case 2: row[x] = (unsigned char)(row[x] + b); break;
				case 3: row[x] = (unsigned char)(row[x] + (a + b) / 2); break;
				case 4: row[x] = (unsigned char)(row[x] + paeth(a, b, c)); break;
				default:
					snprintf(why, why_size, "%s: bad filter %u in row %u", path, filter, y);
					goto out;
				}
			}
			for (unsigned x = 0; x < img->w; x++)
				memcpy(img->rgb + ((size_t)y * img->w + x) * 3, row + (size_t)x * ch, 3);
		}
	}
	r = 0;
out:
	if (r < 0) {
		free(img->rgb);
		img->rgb = NULL;
	}
	free(file);
	free(z);
	free(raw);
	return r;
}

/*
 * Whether a mark's box in the screenshot shows its fill: at least a third
 * of its pixels within 40 of the fill's colour in each channel (lines,
 * whiskers and antialiased edges take the rest), and that colour is not
 * the page's white.
 */
static bool painted(const struct image *img, int x, int y, int w, int h, const int rgb[3])
{
	unsigned total = 0, match = 0;

	if (rgb[0] > 215 && rgb[1] > 215 && rgb[2] > 215)
		return false;
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++) {
			const unsigned char *p;

			if (i < 0 || j < 0 || (unsigned)i >= img->w || (unsigned)j >= img->h)
				continue;
			p = img->rgb + ((size_t)j * img->w + (size_t)i) * 3;
			total++;
			match += abs(p[0] - rgb[0]) <= 40 && abs(p[1] - rgb[1]) <= 40 && abs(p[2] - rgb[2]) <= 40;
		}
	return total && match * 3 >= total;
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
			const char *err_path, const char *png, char *why, size_t why_size)
{
	char profile_arg[4300], shot_arg[4300], size_arg[64];
	struct timespec t0, now;
	int status;
	pid_t pid;

	snprintf(profile_arg, sizeof(profile_arg), "--user-data-dir=%s", profile);
	snprintf(shot_arg, sizeof(shot_arg), "--screenshot=%s", png);
	snprintf(size_arg, sizeof(size_arg), "--window-size=%d,%d", WINDOW_W, WINDOW_H);
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
		      "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1", size_arg,
		      profile_arg, shot_arg, "--dump-dom", url, (char *)NULL);
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
	char page[4200], dom[4200], err[4200], profile[4200], png[4200], url[4300];
	struct image img = { 0 };
	unsigned page_h = 0, window_h = 0;
	char *html = NULL, *body, *text = NULL, *pre, *p;
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
	snprintf(png, sizeof(png), "%s/shot.png", workdir);
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
	if (run_chromium(chromium, profile, url, dom, err, png, why, why_size) < 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	text = slurp(dom);
	pre = text ? strstr(text, "<pre id=\"drawn\">") : NULL;
	p = pre;
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
	/* the screenshot: each drawn mark's box shows its fill */
	p = strstr(pre, "PAGE ");
	if (!p || sscanf(p, "PAGE %u %u", &page_h, &window_h) != 2 || page_h > window_h) {
		snprintf(why, why_size, "the page (%u px) is taller than the screenshot's window (%u px)", page_h,
			 window_h);
		n = -1;
		goto out;
	}
	if (png_read(png, &img, why, why_size) < 0) {
		n = -1;
		goto out;
	}
	for (p = strstr(p, "MARK "); p; p = strstr(p + 1, "MARK ")) {
		int ci, x, y, w, h, rgb[3];

		if (sscanf(p, "MARK %d %d %d %d %d %d %d %d", &ci, &x, &y, &w, &h, &rgb[0], &rgb[1], &rgb[2]) != 8 ||
		    ci < 0 || ci >= n) {
			snprintf(why, why_size, "cannot read the probe's line: %.100s", p);
			n = -1;
			goto out;
		}
		if (painted(&img, x, y, w, h, rgb))
			out[ci].painted++;
		else if (!out[ci].unpainted[0])
			snprintf(out[ci].unpainted, sizeof(out[ci].unpainted),
				 "the box %dx%d at (%d, %d) in the screenshot is not rgb(%d, %d, %d), or that is white", w, h,
				 x, y, rgb[0], rgb[1], rgb[2]);
	}
out:
	free(img.rgb);
	free(html);
	free(text);
	/* XENITH_CHROMIUM_KEEP=1 keeps the page, Chromium's DOM and screenshot for a look */
	if (!getenv("XENITH_CHROMIUM_KEEP"))
		nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return n;
}
