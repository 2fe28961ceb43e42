/* SPDX-License-Identifier: MIT */
/*
 * Reports of a loaded profile (profile.h) for `xenith prof report`: text
 * for people, FlameGraph's folded stacks, JSON, and an SVG flame graph.
 *
 * Each writes to f and returns 0, -ENOENT when opts->dom_filter names no
 * domain of the profile (nothing written), -ENOMEM, or -EIO when f reports
 * a write error.  Names from the file are written as valid UTF-8 without
 * control characters (others become '?'), whatever the file holds.
 */
#ifndef XENITH_XENOPROF_REPORT_H
#define XENITH_XENOPROF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"

struct xp_report_opts {
	const char *dom_filter;   /* only the domains of this name; NULL: all */
	unsigned top;             /* functions listed per table; 0: 20 */
};

/*
 * Per domain: the split of its vCPU samples (guest, hypervisor, idle) and
 * its backend threads' samples; the guest functions (self and total, for
 * the domain and per vCPU); hypervisor samples by detail; exits and
 * hypercalls from the counters; time per vCPU; KVM's statistics; notes.
 */
int xp_report_text(const struct xp_profile *p, FILE *f, const struct xp_report_opts *o);
/*
 * FlameGraph's folded stacks: "DOMAIN;vcpuN;outer;...;inner COUNT" per
 * distinct stack, ending in "[hv] DETAIL" or "[idle]" for those samples;
 * "DOMAIN;vcpuN;[kvm];kernel frames COUNT" for the host kernel's (perf's
 * XP_WHERE_KVM: they overlap the guest's, which the VMM's sampler took on
 * the same time); "DOMAIN;[backend] THREAD;host frames COUNT" for backend
 * threads.  ';', spaces and control characters in names become '_'.
 */
int xp_report_folded(const struct xp_profile *p, FILE *f, const struct xp_report_opts *o);
/* The text report's content as one JSON document. */
int xp_report_json(const struct xp_profile *p, FILE *f, const struct xp_report_opts *o);
/* A self-contained SVG flame graph of the folded stacks (report_svg.c). */
int xp_report_svg(const struct xp_profile *p, FILE *f, const struct xp_report_opts *o);

/* ---- shared by report.c and report_svg.c ---- */

struct xp_stack {
	char *line;            /* frames, root first, separated by ';' */
	uint64_t count;        /* summed weights */
	uint8_t where;         /* enum xp_where of its samples */
};

struct xp_stacks {
	struct xp_stack *v;
	size_t n;
	uint64_t total;        /* sum of the counts */
};

/*
 * The folded stacks of the samples of the domains o selects, sorted frame
 * by frame (siblings by name, a frame before its callees' stacks).  0,
 * -ENOENT or -ENOMEM.
 */
int xp_fold(const struct xp_profile *p, const struct xp_report_opts *o, struct xp_stacks *out);
void xp_stacks_free(struct xp_stacks *s);

/*
 * The length of the character at s (n bytes there): 1 to 4 for valid
 * UTF-8 that is no control character, 0 for anything else (the writers
 * put '?' for such a byte).
 */
size_t xp_char_len(const char *s, size_t n);

#endif
