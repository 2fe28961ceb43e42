// SPDX-License-Identifier: MIT
/*
 * Reports of a profile: what the text and JSON reports say is computed
 * once per domain (struct dom_an) and written by either; the folded stacks
 * (xp_fold) feed the folded report and the SVG (report_svg.c).
 *
 * Percentages of a domain are of its vCPU samples (guest + hypervisor +
 * idle): a function's self is where a guest sample's RIP was, its total the
 * guest and hypervisor samples with it anywhere on the guest stack (once
 * per sample, however deep it recurses), so the time the hypervisor spent
 * on a function's behalf counts to it.  Return addresses (every frame but
 * the first) are looked up one byte back: a call that ends its function
 * returns to the next one.
 *
 * XP_WHERE_KVM samples (perf, on the CPU time of a vCPU thread in the host
 * kernel) are time the VMM's sampler saw as guest time: per vCPU, up to
 * its guest samples move from the guest's share to the hypervisor's (as
 * "host kernel"); their kernel functions have a table of their own.  The
 * folded stacks and the flame graph show them under "[kvm]" as recorded,
 * next to the guest stacks they overlap.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "names.h"

#define TOP_DEFAULT 20

size_t xp_char_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;
	uint32_t cp, min;

	if (!n)
		return 0;
	if (u[0] < 0x80)
		return u[0] >= 0x20 && u[0] != 0x7f;
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2, cp = u[0] & 0x1f, min = 0x80;
	} else if ((u[0] & 0xf0) == 0xe0) {
		len = 3, cp = u[0] & 0x0f, min = 0x800;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4, cp = u[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	/* overlong, a surrogate, past Unicode, or a C1 control or noncharacter XML refuses */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0) ||
	    cp == 0xfffe || cp == 0xffff)
		return 0;
	return len;
}

/* s as valid UTF-8 without control characters: '?' for each byte that is not. */
static void put_clean(FILE *f, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		size_t k = xp_char_len(s, n);

		if (k) {
			fwrite(s, 1, k, f);
		} else {
			fputc('?', f);
			k = 1;
		}
		s += k;
		n -= k;
	}
}

static bool selected(const struct xp_domain *d, const struct xp_report_opts *o)
{
	return !o || !o->dom_filter || !strcmp(d->rec->name, o->dom_filter);
}

static int any_selected(const struct xp_profile *p, const struct xp_report_opts *o)
{
	for (size_t i = 0; i < p->nr_domains; i++)
		if (selected(&p->domains[i], o))
			return 0;
	return o && o->dom_filter ? -ENOENT : 0;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *image_base(const struct xp_domain *d)
{
	const char *s = strrchr(d->rec->image, '/');

	s = s ? s + 1 : d->rec->image;
	return *s ? s : "guest";
}

/* ---- the analysis of a domain ---- */

struct fn_row {
	const struct xp_symbol *sym;   /* NULL: an address no symbol holds */
	uint64_t addr;                 /* then: that address */
	uint64_t self, total;
	size_t stamp;                  /* the last sample counted in total, + 1 */
};

struct flat {
	struct fn_row *v;
	size_t n, cap;
	uint64_t denom;                /* the vCPU samples of the pass */
	bool kernel;                   /* of the host kernel's samples (XP_WHERE_KVM), not the guest's */
};

/* Addresses without a symbol -> their row (+1; 0: free): open addressing. */
struct addr_map {
	uint64_t *key;
	size_t *row;
	size_t cap, n;
};

struct det_row {
	uint32_t detail;
	uint64_t samples;
};

struct ctr_table {
	struct xp_counter *exits, *hcalls;
	size_t nexits, nhcalls;
	uint64_t hv_ns;                /* the denominator of "share of hypervisor time" */
};

/* Where the samples of vCPUs (or of their domain) say the time went. */
struct split {
	uint64_t guest;                /* the guest samples less what moved to kernel */
	uint64_t vmm;                  /* XP_WHERE_HV */
	uint64_t kernel;               /* per vCPU the least of its XP_WHERE_KVM and guest samples */
	uint64_t idle;
	uint64_t kvm;                  /* XP_WHERE_KVM samples as recorded */
	uint64_t backend;              /* the domain's backend threads */
};

struct vcpu_an {
	struct split sp;
	struct flat flat;
	struct ctr_table ctr;
};

struct dom_an {
	const struct xp_domain *d;
	struct split sp;               /* the vCPUs' added up, and the backend's */
	uint64_t vcpu_samples;         /* guest + vmm + kernel + idle: the samples of the VMM's sampler */
	struct flat flat;
	struct flat kflat;             /* host kernel functions */
	struct det_row *det;
	size_t ndet;
	struct ctr_table ctr;
	struct vcpu_an *vcpus;         /* [nr_vcpus] */
	const struct xp_rec_kvmstat **kvm;  /* non-zero, the VM's first, then by vCPU */
	size_t nkvm;
};

static size_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k;
}

static size_t *addr_map_slot(struct addr_map *m, uint64_t key)
{
	size_t i = mix(key) & (m->cap - 1);

	while (m->row[i] && m->key[i] != key)
		i = (i + 1) & (m->cap - 1);
	return &m->row[i];
}

static int addr_map_grow(struct addr_map *m)
{
	struct addr_map n = { .cap = m->cap ? 2 * m->cap : 64 };

	n.key = calloc(n.cap, sizeof(*n.key));
	n.row = calloc(n.cap, sizeof(*n.row));
	if (!n.key || !n.row) {
		free(n.key);
		free(n.row);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->row[i]) {
			size_t *s = addr_map_slot(&n, m->key[i]);

			*s = m->row[i];
			n.key[s - n.row] = m->key[i];
		}
	}
	n.n = m->n;
	free(m->key);
	free(m->row);
	*m = n;
	return 0;
}

static void addr_map_free(struct addr_map *m)
{
	free(m->key);
	free(m->row);
}

static int new_row(struct flat *fl, const struct xp_symbol *sym, uint64_t addr, size_t *idx)
{
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? 2 * fl->cap : 32;
		struct fn_row *v = realloc(fl->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fl->v = v;
		fl->cap = cap;
	}
	fl->v[fl->n] = (struct fn_row){ .sym = sym, .addr = addr };
	*idx = fl->n++;
	return 0;
}

/*
 * The row of the function at frame j of a guest stack.  sym_row maps the
 * domain's symbols to rows + 1 (0: none yet).
 */
static int row_of(const struct xp_domain *d, struct flat *fl, size_t *sym_row, struct addr_map *m, uint64_t addr,
		  unsigned j, size_t *idx)
{
	const struct xp_symbol *sym = j && addr ? xp_symbol_at(d, addr - 1) : NULL;
	size_t *slot;
	int err;

	if (!sym)
		sym = xp_symbol_at(d, addr);
	if (sym) {
		slot = &sym_row[sym - d->symbols];
		if (!*slot) {
			if ((err = new_row(fl, sym, 0, idx)))
				return err;
			*slot = *idx + 1;
		}
		*idx = *slot - 1;
		return 0;
	}
	if (2 * (m->n + 1) > m->cap && (err = addr_map_grow(m)))
		return err;
	slot = addr_map_slot(m, addr);
	if (!*slot) {
		if ((err = new_row(fl, NULL, addr, idx)))
			return err;
		m->key[slot - m->row] = addr;
		*slot = *idx + 1;
		m->n++;
	}
	*idx = *slot - 1;
	return 0;
}

static int by_self(const void *a, const void *b)
{
	const struct fn_row *x = a, *y = b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	if (!x->sym != !y->sym)
		return x->sym ? -1 : 1;
	if (x->sym) {
		int c = strcmp(x->sym->name, y->sym->name);

		if (c)
			return c;
		return (x->sym > y->sym) - (x->sym < y->sym);
	}
	return (x->addr > y->addr) - (x->addr < y->addr);
}

/*
 * The flat profile of n samples of domain d (sym_row: all 0, left so): of
 * the guest (guest and hypervisor samples' guest stacks) or, fl->kernel,
 * of the host kernel (XP_WHERE_KVM samples).
 */
static int flat_build(const struct xp_domain *d, const struct xp_rec_sample *const *s, size_t n, size_t *sym_row,
		      struct flat *fl)
{
	uint8_t self_where = fl->kernel ? XP_WHERE_KVM : XP_WHERE_GUEST;
	struct addr_map m = { 0 };
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		uint8_t where = s[i]->where;
		uint32_t w = s[i]->weight;

		if (where == XP_WHERE_BACKEND || where == XP_WHERE_KVM) {
			if (where != self_where)
				continue;
		} else {
			fl->denom += w;
		}
		if (fl->kernel ? where != XP_WHERE_KVM : where != XP_WHERE_GUEST && where != XP_WHERE_HV)
			continue;
		for (unsigned j = 0; j < s[i]->depth; j++) {
			size_t r;

			if ((err = row_of(d, fl, sym_row, &m, s[i]->ips[j], j, &r)))
				break;
			if (j == 0 && where == self_where)
				fl->v[r].self += w;
			if (fl->v[r].stamp != i + 1) {
				fl->v[r].total += w;
				fl->v[r].stamp = i + 1;
			}
		}
	}
	for (size_t r = 0; r < fl->n; r++)
		if (fl->v[r].sym)
			sym_row[fl->v[r].sym - d->symbols] = 0;
	addr_map_free(&m);
	if (!err && fl->n)
		qsort(fl->v, fl->n, sizeof(fl->v[0]), by_self);
	return err;
}

/* The hypervisor's time in the host kernel, as a detail of its own (no class has 0xff). */
#define DETAIL_KERNEL UINT32_MAX

static const char *det_name(uint32_t detail, char *buf, size_t size)
{
	if (detail == DETAIL_KERNEL) {
		snprintf(buf, size, "host kernel (KVM)");
		return buf;
	}
	return xp_detail_name(detail, buf, size);
}

static int by_detail(const void *a, const void *b)
{
	const struct det_row *x = a, *y = b;

	return (x->detail > y->detail) - (x->detail < y->detail);
}

static int by_det_samples(const void *a, const void *b)
{
	const struct det_row *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return by_detail(a, b);
}

static int details_build(struct dom_an *a)
{
	const struct xp_domain *d = a->d;
	size_t n = 0;

	if (!a->sp.vmm && !a->sp.kernel)
		return 0;
	if (!(a->det = malloc((d->nr_samples + 1) * sizeof(*a->det))))
		return -ENOMEM;
	for (size_t i = 0; i < d->nr_samples; i++)
		if (d->samples[i]->where == XP_WHERE_HV)
			a->det[n++] = (struct det_row){ d->samples[i]->detail, d->samples[i]->weight };
	if (a->sp.kernel)
		a->det[n++] = (struct det_row){ DETAIL_KERNEL, a->sp.kernel };
	qsort(a->det, n, sizeof(a->det[0]), by_detail);
	a->ndet = 0;
	for (size_t i = 0; i < n; i++) {
		if (a->ndet && a->det[a->ndet - 1].detail == a->det[i].detail)
			a->det[a->ndet - 1].samples += a->det[i].samples;
		else
			a->det[a->ndet++] = a->det[i];
	}
	qsort(a->det, a->ndet, sizeof(a->det[0]), by_det_samples);
	return 0;
}

static int by_ctr_kind(const void *a, const void *b)
{
	const struct xp_counter *x = a, *y = b;

	return (x->kind > y->kind) - (x->kind < y->kind);
}

static int by_ctr_time(const void *a, const void *b)
{
	const struct xp_counter *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return by_ctr_kind(a, b);
}

/*
 * Exits and hypercalls of n entries sorted by kind (one per kind), each by
 * time.  Every hypercall is an exit (port I/O) too, so the exits' time is
 * the time in the hypervisor; a recorder that counted the two apart would
 * leave the exits less than the hypercalls, and then they add up.
 */
static int ctr_build(const struct xp_counter *c, size_t n, struct ctr_table *t)
{
	uint64_t exit_ns = 0, hcall_ns = 0;

	if (n && (!(t->exits = malloc(n * sizeof(*c))) || !(t->hcalls = malloc(n * sizeof(*c)))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (XP_DETAIL_CLASS(c[i].kind) == XP_CLASS_EXIT) {
			t->exits[t->nexits++] = c[i];
			exit_ns += c[i].time_ns;
		} else if (XP_DETAIL_CLASS(c[i].kind) == XP_CLASS_HCALL) {
			t->hcalls[t->nhcalls++] = c[i];
			hcall_ns += c[i].time_ns;
		}
	}
	t->hv_ns = exit_ns >= hcall_ns ? exit_ns : exit_ns + hcall_ns;
	if (t->nexits)
		qsort(t->exits, t->nexits, sizeof(*c), by_ctr_time);
	if (t->nhcalls)
		qsort(t->hcalls, t->nhcalls, sizeof(*c), by_ctr_time);
	return 0;
}

/* The domain's counters: its vCPUs' entries, one per kind. */
static int dom_ctr_build(struct dom_an *a)
{
	const struct xp_domain *d = a->d;
	struct xp_counter *all;
	size_t n = 0, m = 0;
	int err;

	for (uint32_t v = 0; v < d->rec->nr_vcpus; v++)
		n += d->vcpus[v].nr;
	if (!n)
		return 0;
	if (!(all = malloc(n * sizeof(*all))))
		return -ENOMEM;
	for (uint32_t v = 0; v < d->rec->nr_vcpus; v++) {
		if (!d->vcpus[v].nr)
			continue;
		memcpy(all + m, d->vcpus[v].c, d->vcpus[v].nr * sizeof(*all));
		m += d->vcpus[v].nr;
	}
	qsort(all, n, sizeof(*all), by_ctr_kind);
	m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && all[m - 1].kind == all[i].kind) {
			all[m - 1].count += all[i].count;
			all[m - 1].time_ns += all[i].time_ns;
		} else {
			all[m++] = all[i];
		}
	}
	err = ctr_build(all, m, &a->ctr);
	free(all);
	return err;
}

static int by_kvm(const void *a, const void *b)
{
	const struct xp_rec_kvmstat *x = *(const struct xp_rec_kvmstat *const *)a;
	const struct xp_rec_kvmstat *y = *(const struct xp_rec_kvmstat *const *)b;

	if (x->vcpu != y->vcpu)
		return x->vcpu < y->vcpu ? -1 : 1;
	return (x > y) - (x < y); /* file order */
}

static void ctr_free(struct ctr_table *t)
{
	free(t->exits);
	free(t->hcalls);
}

static void dom_an_free(struct dom_an *a)
{
	if (a->vcpus) {
		for (uint32_t v = 0; v < a->d->rec->nr_vcpus; v++) {
			free(a->vcpus[v].flat.v);
			ctr_free(&a->vcpus[v].ctr);
		}
	}
	free(a->vcpus);
	free(a->flat.v);
	free(a->kflat.v);
	free(a->det);
	ctr_free(&a->ctr);
	free(a->kvm);
}

/* Samples of each vCPU: by[off[v]] to by[off[v + 1]]. */
static int by_vcpu(const struct xp_domain *d, const struct xp_rec_sample ***by, size_t **off)
{
	uint32_t nv = d->rec->nr_vcpus;
	size_t *o = calloc(nv + 2, sizeof(*o));
	const struct xp_rec_sample **b = malloc((d->nr_samples + 1) * sizeof(*b));

	if (!o || !b) {
		free(o);
		free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->nr_samples; i++)
		if (d->samples[i]->where != XP_WHERE_BACKEND)
			o[d->samples[i]->vcpu + 2]++;
	for (uint32_t v = 0; v < nv; v++)
		o[v + 2] += o[v + 1];
	for (size_t i = 0; i < d->nr_samples; i++)
		if (d->samples[i]->where != XP_WHERE_BACKEND)
			b[o[d->samples[i]->vcpu + 1]++] = d->samples[i];
	*by = b;
	*off = o;
	return 0;
}

/* The split of one vCPU's n samples. */
static void split_vcpu(struct split *sp, const struct xp_rec_sample *const *s, size_t n)
{
	uint64_t w[XP_WHERE_NR] = { 0 };

	for (size_t i = 0; i < n; i++)
		w[s[i]->where] += s[i]->weight;
	sp->kvm = w[XP_WHERE_KVM];
	sp->kernel = w[XP_WHERE_KVM] < w[XP_WHERE_GUEST] ? w[XP_WHERE_KVM] : w[XP_WHERE_GUEST];
	sp->guest = w[XP_WHERE_GUEST] - sp->kernel;
	sp->vmm = w[XP_WHERE_HV];
	sp->idle = w[XP_WHERE_IDLE];
}

static uint64_t split_total(const struct split *sp)
{
	return sp->guest + sp->vmm + sp->kernel + sp->idle;
}

static int dom_an_build(const struct xp_domain *d, struct dom_an *a)
{
	const struct xp_rec_sample **by = NULL;
	size_t *off = NULL, *sym_row;
	uint32_t nv = d->rec->nr_vcpus;
	int err = -ENOMEM;

	memset(a, 0, sizeof(*a));
	a->d = d;
	a->kflat.kernel = true;
	if (!(sym_row = calloc(d->nr_symbols + 1, sizeof(*sym_row))))
		return -ENOMEM;
	if (nv && !(a->vcpus = calloc(nv, sizeof(*a->vcpus))))
		goto out;
	if ((err = flat_build(d, d->samples, d->nr_samples, sym_row, &a->flat)) ||
	    (err = flat_build(d, d->samples, d->nr_samples, sym_row, &a->kflat)) || (err = by_vcpu(d, &by, &off)))
		goto out;
	for (size_t i = 0; i < d->nr_samples; i++)
		if (d->samples[i]->where == XP_WHERE_BACKEND)
			a->sp.backend += d->samples[i]->weight;
	for (uint32_t v = 0; v < nv; v++) {
		struct vcpu_an *va = &a->vcpus[v];

		split_vcpu(&va->sp, by + off[v], off[v + 1] - off[v]);
		a->sp.guest += va->sp.guest;
		a->sp.vmm += va->sp.vmm;
		a->sp.kernel += va->sp.kernel;
		a->sp.idle += va->sp.idle;
		a->sp.kvm += va->sp.kvm;
		if ((err = flat_build(d, by + off[v], off[v + 1] - off[v], sym_row, &va->flat)) ||
		    (err = ctr_build(d->vcpus[v].c, d->vcpus[v].nr, &va->ctr)))
			goto out;
	}
	a->vcpu_samples = split_total(&a->sp);
	if ((err = details_build(a)) || (err = dom_ctr_build(a)))
		goto out;
	err = -ENOMEM;
	if (d->nr_kvmstats && !(a->kvm = malloc(d->nr_kvmstats * sizeof(*a->kvm))))
		goto out;
	for (size_t i = 0; i < d->nr_kvmstats; i++)
		if (d->kvmstats[i]->value)
			a->kvm[a->nkvm++] = d->kvmstats[i];
	if (a->nkvm)
		qsort(a->kvm, a->nkvm, sizeof(a->kvm[0]), by_kvm);
	err = 0;
out:
	free(by);
	free(off);
	free(sym_row);
	return err;
}

/* The analyses of the selected domains; *n of them. */
static int analyse(const struct xp_profile *p, const struct xp_report_opts *o, struct dom_an **out, size_t *n)
{
	struct dom_an *a;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = any_selected(p, o)))
		return err;
	if (!(a = calloc(p->nr_domains + 1, sizeof(*a))))
		return -ENOMEM;
	for (size_t i = 0; i < p->nr_domains; i++) {
		if (!selected(&p->domains[i], o))
			continue;
		err = dom_an_build(&p->domains[i], &a[*n]);
		(*n)++;
		if (err) {
			for (size_t k = 0; k < *n; k++)
				dom_an_free(&a[k]);
			free(a);
			*n = 0;
			return err;
		}
	}
	*out = a;
	return 0;
}

static void analyses_free(struct dom_an *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dom_an_free(&a[i]);
	free(a);
}

/* A function's name, or [IMAGE]+0xADDR ([kernel]+0xADDR) for an address no symbol holds. */
static const char *fn_label(const struct xp_domain *d, const struct flat *fl, const struct fn_row *r, char *buf,
			    size_t size)
{
	if (r->sym)
		return r->sym->name;
	snprintf(buf, size, "[%s]+%#" PRIx64, fl->kernel ? "kernel" : image_base(d), r->addr);
	return buf;
}

static const char *kind_name(uint32_t kind)
{
	return kind == XP_KIND_PV ? "pv" : kind == XP_KIND_LINUX ? "linux" : "unknown kind";
}

static unsigned top_of(const struct xp_report_opts *o)
{
	return o && o->top ? o->top : TOP_DEFAULT;
}

static double duration_s(const struct xp_profile *p)
{
	return (double)p->end.duration_ns / 1e9;
}

static uint64_t total_weight(const struct xp_profile *p)
{
	uint64_t w = 0;

	for (size_t i = 0; i < p->nr_domains; i++)
		for (size_t k = 0; k < p->domains[i].nr_samples; k++)
			w += p->domains[i].samples[k]->weight;
	return w;
}

static int finish(FILE *f)
{
	return fflush(f) || ferror(f) ? -EIO : 0;
}

/* ---- text ---- */

static void text_flat(FILE *f, const struct xp_domain *d, const struct flat *fl, unsigned top, const char *what)
{
	char buf[320];

	if (fl->kernel)
		fprintf(f, "\n  host kernel functions, %s (%% of %" PRIu64 " vCPU samples; total: on the stack)\n",
			what, fl->denom);
	else
		fprintf(f, "\n  guest functions, %s (%% of %" PRIu64 " vCPU samples; total: on the stack, hypervisor "
			   "samples included)\n", what, fl->denom);
	if (!fl->n) {
		fprintf(f, "    (no guest addresses)\n");
		return;
	}
	fprintf(f, "        self   self%%  total%%  function\n");
	for (size_t i = 0; i < fl->n && i < top; i++) {
		const struct fn_row *r = &fl->v[i];

		fprintf(f, "    %8" PRIu64 "  %5.1f%%  %5.1f%%  ", r->self, pct(r->self, fl->denom),
			pct(r->total, fl->denom));
		put_clean(f, fn_label(d, fl, r, buf, sizeof(buf)));
		fputc('\n', f);
	}
	if (fl->n > top)
		fprintf(f, "    ... %zu more\n", fl->n - top);
}

static void text_ctr_rows(FILE *f, const struct xp_counter *c, size_t n, uint64_t hv_ns, double secs)
{
	char name[64];

	for (size_t i = 0; i < n; i++) {
		const char *s = xp_detail_name(c[i].kind, name, sizeof(name));

		/* the class word goes: the table says it */
		s = strchr(s, ' ') ? strchr(s, ' ') + 1 : s;
		fprintf(f, "    %10" PRIu64 "  %10.1f  %10.3f  %9.2f  %5.1f%%  %s\n", c[i].count,
			secs > 0 ? (double)c[i].count / secs : 0.0, (double)c[i].time_ns / 1e6,
			c[i].count ? (double)c[i].time_ns / (double)c[i].count / 1e3 : 0.0, pct(c[i].time_ns, hv_ns),
			s);
	}
}

static void text_ctr(FILE *f, const struct ctr_table *t, const char *what, double secs)
{
	if (!t->nexits && !t->nhcalls)
		return;
	fprintf(f, "\n  exits and hypercalls, %s (counters: hypervisor time %.3f ms over %.3f s)\n", what,
		(double)t->hv_ns / 1e6, secs);
	fprintf(f, "         count       per s     time ms    mean us     %%hv  exit\n");
	text_ctr_rows(f, t->exits, t->nexits, t->hv_ns, secs);
	if (t->nhcalls) {
		fprintf(f, "         count       per s     time ms    mean us     %%hv  hypercall\n");
		text_ctr_rows(f, t->hcalls, t->nhcalls, t->hv_ns, secs);
	}
}

static void text_domain(FILE *f, const struct xp_profile *p, const struct dom_an *a, unsigned top)
{
	const struct xp_domain *d = a->d;
	const struct xp_rec_domain *r = d->rec;
	char what[64], name[64];

	fprintf(f, "\ndomain ");
	put_clean(f, r->name);
	fprintf(f, " (domid %u, %u vCPU%s, %s, image ", r->domid, r->nr_vcpus, r->nr_vcpus == 1 ? "" : "s",
		kind_name(r->kind));
	put_clean(f, r->image);
	fprintf(f, ")\n");
	fprintf(f, "  vCPU samples: %" PRIu64 ": guest %.1f%%, hypervisor %.1f%%", a->vcpu_samples,
		pct(a->sp.guest, a->vcpu_samples), pct(a->sp.vmm + a->sp.kernel, a->vcpu_samples));
	if (a->sp.kvm)
		fprintf(f, " (in the VMM %.1f%%, in the host kernel %.1f%%)", pct(a->sp.vmm, a->vcpu_samples),
			pct(a->sp.kernel, a->vcpu_samples));
	fprintf(f, ", idle %.1f%%\n", pct(a->sp.idle, a->vcpu_samples));
	if (a->sp.kvm)
		fprintf(f, "  host kernel samples: %" PRIu64 " (perf, CPU time in KVM for the vCPUs), %" PRIu64
			   " of them moved from the guest's share to the hypervisor's\n", a->sp.kvm, a->sp.kernel);
	fprintf(f, "  backend samples: %" PRIu64 ", %.1f%% of the domain's vCPU samples\n", a->sp.backend,
		pct(a->sp.backend, a->vcpu_samples));
	if (d->domend) {
		fprintf(f, "  ended during the recording: ");
		put_clean(f, d->domend);
		fputc('\n', f);
	}
	for (size_t i = 0; i < d->nr_notes; i++) {
		fprintf(f, "  note: ");
		put_clean(f, d->notes[i]->text);
		fputc('\n', f);
	}
	if (r->nr_vcpus) {
		fprintf(f, "\n  vCPU   samples  guest%%     hv%%   idle%%    guest ms     idle ms    lost\n");
		for (uint32_t v = 0; v < r->nr_vcpus; v++) {
			const struct split *sp = &a->vcpus[v].sp;
			const struct xp_vcpu_counters *vc = &d->vcpus[v];
			uint64_t n = split_total(sp);

			fprintf(f, "  %4u  %8" PRIu64 "  %5.1f%%  %5.1f%%  %5.1f%%", v, n, pct(sp->guest, n),
				pct(sp->vmm + sp->kernel, n), pct(sp->idle, n));
			if (vc->records)
				fprintf(f, "  %10.3f  %10.3f  %6" PRIu64 "\n", (double)vc->guest_ns / 1e6,
					(double)vc->idle_ns / 1e6, vc->samples_lost);
			else
				fprintf(f, "  %10s  %10s  %6s\n", "-", "-", "-"); /* no counters */
		}
	}
	text_flat(f, d, &a->flat, top, "all vCPUs");
	for (uint32_t v = 0; v < r->nr_vcpus && r->nr_vcpus > 1; v++) {
		if (!a->vcpus[v].flat.denom)
			continue;
		snprintf(what, sizeof(what), "vCPU %u", v);
		text_flat(f, d, &a->vcpus[v].flat, top, what);
	}
	if (a->sp.kvm)
		text_flat(f, d, &a->kflat, top, "all vCPUs");
	if (a->ndet) {
		uint64_t hv = a->sp.vmm + a->sp.kernel;

		fprintf(f, "\n  hypervisor samples by detail (%" PRIu64 " samples, %.1f%% of vCPU samples)\n", hv,
			pct(hv, a->vcpu_samples));
		fprintf(f, "     samples   %%vCPU     %%hv  detail\n");
		for (size_t i = 0; i < a->ndet; i++)
			fprintf(f, "    %8" PRIu64 "  %5.1f%%  %5.1f%%  %s\n", a->det[i].samples,
				pct(a->det[i].samples, a->vcpu_samples), pct(a->det[i].samples, hv),
				det_name(a->det[i].detail, name, sizeof(name)));
	}
	text_ctr(f, &a->ctr, "all vCPUs", duration_s(p));
	for (uint32_t v = 0; v < r->nr_vcpus && r->nr_vcpus > 1; v++) {
		snprintf(what, sizeof(what), "vCPU %u", v);
		text_ctr(f, &a->vcpus[v].ctr, what, duration_s(p));
	}
	if (a->nkvm) {
		fprintf(f, "\n  KVM statistics (their change over the recording; zeroes left out)\n");
		for (size_t i = 0; i < a->nkvm; i++) {
			if (a->kvm[i]->vcpu < 0)
				snprintf(what, sizeof(what), "VM");
			else
				snprintf(what, sizeof(what), "vCPU %d", a->kvm[i]->vcpu);
			fprintf(f, "    %-8s  %14" PRIu64 "  ", what, a->kvm[i]->value);
			put_clean(f, a->kvm[i]->name);
			fputc('\n', f);
		}
	}
}

int xp_report_text(const struct xp_profile *p, FILE *f, const struct xp_report_opts *o)
{
	const struct xp_header *h = &p->header;
	struct dom_an *a;
	size_t n;
	char when[64];
	struct tm tm;
	time_t t = (time_t)(h->start_unix_ns / 1000000000u);
	int err;

	if ((err = analyse(p, o, &a, &n)))
		return err;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(when, sizeof(when), "at %" PRIu64 " ns", h->start_unix_ns);
	fprintf(f, "Xenith profile of host ");
	put_clean(f, h->host);
	fprintf(f, ", started %s\n", when);
	fprintf(f, "  %u Hz per vCPU for %.3f s: %" PRIu64 " samples in %" PRIu64 " records, %" PRIu64 " lost\n",
		h->freq_hz, duration_s(p), total_weight(p), p->end.nr_samples, p->end.nr_lost);
	for (size_t i = 0; i < p->nr_notes; i++) {
		fprintf(f, "  note: ");
		put_clean(f, p->notes[i]->text);
		fputc('\n', f);
	}
	for (size_t i = 0; i < n; i++)
		text_domain(f, p, &a[i], top_of(o));
	analyses_free(a, n);
	return finish(f);
}

/* ---- JSON ---- */

/* s as a JSON string: cleaned as put_clean does, escaped by json_escape. */
static int jstr(FILE *f, const char *s)
{
	char small[3 * 128 + 2], *c = small, *e;
	size_t n = strlen(s), k = 0;

	/* the cleaned copy (n + 1 bytes), then its escape: only '"' and '\\' are left to escape, 2 bytes each */
	if (3 * n + 2 > sizeof(small) && !(c = malloc(3 * n + 2)))
		return -ENOMEM;
	e = c + n + 1;
	for (size_t i = 0; i < n;) {
		size_t len = xp_char_len(s + i, n - i);

		if (len) {
			memcpy(c + k, s + i, len);
			k += len;
			i += len;
		} else {
			c[k++] = '?';
			i++;
		}
	}
	c[k] = 0;
	json_escape(e, 2 * n + 1, c);
	fprintf(f, "\"%s\"", e);
	if (c != small)
		free(c);
	return 0;
}

static int json_flat(FILE *f, const struct xp_domain *d, const struct flat *fl, unsigned top)
{
	char buf[320];
	int err = 0;

	fprintf(f, "{\"vcpu_samples\": %" PRIu64 ", \"rows\": %zu, \"functions\": [", fl->denom, fl->n);
	for (size_t i = 0; i < fl->n && i < top && !err; i++) {
		const struct fn_row *r = &fl->v[i];

		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		err = jstr(f, fn_label(d, fl, r, buf, sizeof(buf)));
		fprintf(f, ", \"symbolized\": %s, \"self\": %" PRIu64 ", \"self_pct\": %.4f, \"total\": %" PRIu64
			   ", \"total_pct\": %.4f}", r->sym ? "true" : "false", r->self, pct(r->self, fl->denom),
			r->total, pct(r->total, fl->denom));
	}
	fprintf(f, "]}");
	return err;
}

static void json_ctr_rows(FILE *f, const struct xp_counter *c, size_t n, uint64_t hv_ns, double secs)
{
	char name[64];

	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		const char *s = xp_detail_name(c[i].kind, name, sizeof(name));

		s = strchr(s, ' ') ? strchr(s, ' ') + 1 : s;
		/* detail names are ours: letters, digits, '_' and spaces */
		fprintf(f, "%s{\"name\": \"%s\", \"number\": %u, \"count\": %" PRIu64 ", \"per_s\": %.4f, "
			   "\"time_ns\": %" PRIu64 ", \"mean_us\": %.4f, \"hv_pct\": %.4f}",
			i ? ", " : "", s, XP_DETAIL_NUM(c[i].kind), c[i].count,
			secs > 0 ? (double)c[i].count / secs : 0.0, c[i].time_ns,
			c[i].count ? (double)c[i].time_ns / (double)c[i].count / 1e3 : 0.0, pct(c[i].time_ns, hv_ns));
	}
	fputc(']', f);
}

static void json_ctr(FILE *f, const struct ctr_table *t, double secs)
{
	fprintf(f, "\"hv_ns\": %" PRIu64 ", \"exits\": ", t->hv_ns);
	json_ctr_rows(f, t->exits, t->nexits, t->hv_ns, secs);
	fprintf(f, ", \"hypercalls\": ");
	json_ctr_rows(f, t->hcalls, t->nhcalls, t->hv_ns, secs);
}

static void json_split(FILE *f, const struct split *sp)
{
	uint64_t n = split_total(sp), hv = sp->vmm + sp->kernel;

	fprintf(f, "\"samples\": {\"vcpu\": %" PRIu64 ", \"guest\": %" PRIu64 ", \"hv\": %" PRIu64
		   ", \"hv_vmm\": %" PRIu64 ", \"hv_kernel\": %" PRIu64 ", \"idle\": %" PRIu64 ", \"kvm\": %" PRIu64
		   ", \"backend\": %" PRIu64 "}, "
		   "\"guest_pct\": %.4f, \"hv_pct\": %.4f, \"idle_pct\": %.4f, \"backend_pct_of_vcpu\": %.4f",
		n, sp->guest, hv, sp->vmm, sp->kernel, sp->idle, sp->kvm, sp->backend, pct(sp->guest, n), pct(hv, n),
		pct(sp->idle, n), pct(sp->backend, n));
}

static int json_domain(FILE *f, const struct xp_profile *p, const struct dom_an *a, unsigned top)
{
	const struct xp_domain *d = a->d;
	const struct xp_rec_domain *r = d->rec;
	char name[64];
	int err = 0;

	fprintf(f, "{\"index\": %zu, \"name\": ", (size_t)(d - p->domains));
	err |= jstr(f, r->name);
	fprintf(f, ", \"domid\": %u, \"vcpus\": %u, \"kind\": \"%s\", \"image\": ", r->domid, r->nr_vcpus,
		kind_name(r->kind));
	err |= jstr(f, r->image);
	fprintf(f, ", ");
	json_split(f, &a->sp);
	fprintf(f, ", \"ended\": ");
	if (d->domend)
		err |= jstr(f, d->domend);
	else
		fprintf(f, "null");
	fprintf(f, ", \"notes\": [");
	for (size_t i = 0; i < d->nr_notes; i++) {
		fprintf(f, "%s", i ? ", " : "");
		err |= jstr(f, d->notes[i]->text);
	}
	fprintf(f, "], \"functions\": ");
	err |= json_flat(f, d, &a->flat, top);
	fprintf(f, ", \"kernel_functions\": ");
	err |= json_flat(f, d, &a->kflat, top);
	fprintf(f, ", \"hv_details\": [");
	for (size_t i = 0; i < a->ndet; i++) {
		/* detail names are ours: letters, digits, '_', spaces and parentheses */
		fprintf(f, "%s{\"detail\": \"%s\", \"code\": ", i ? ", " : "",
			det_name(a->det[i].detail, name, sizeof(name)));
		if (a->det[i].detail == DETAIL_KERNEL)
			fprintf(f, "null");
		else
			fprintf(f, "%u", a->det[i].detail);
		fprintf(f, ", \"samples\": %" PRIu64 ", \"vcpu_pct\": %.4f, \"hv_pct\": %.4f}", a->det[i].samples,
			pct(a->det[i].samples, a->vcpu_samples), pct(a->det[i].samples, a->sp.vmm + a->sp.kernel));
	}
	fprintf(f, "], ");
	json_ctr(f, &a->ctr, duration_s(p));
	fprintf(f, ", \"kvm_stats\": [");
	for (size_t i = 0; i < a->nkvm; i++) {
		fprintf(f, "%s{\"vcpu\": %d, \"name\": ", i ? ", " : "", a->kvm[i]->vcpu);
		err |= jstr(f, a->kvm[i]->name);
		fprintf(f, ", \"value\": %" PRIu64 "}", a->kvm[i]->value);
	}
	fprintf(f, "], \"per_vcpu\": [");
	for (uint32_t v = 0; v < r->nr_vcpus; v++) {
		const struct xp_vcpu_counters *vc = &d->vcpus[v];

		fprintf(f, "%s{\"vcpu\": %u, ", v ? ", " : "", v);
		json_split(f, &a->vcpus[v].sp);
		fprintf(f, ", \"guest_ns\": %" PRIu64 ", \"idle_ns\": %" PRIu64 ", \"samples_lost\": %" PRIu64
			   ", \"functions\": ", vc->guest_ns, vc->idle_ns, vc->samples_lost);
		err |= json_flat(f, d, &a->vcpus[v].flat, top);
		fprintf(f, ", ");
		json_ctr(f, &a->vcpus[v].ctr, duration_s(p));
		fputc('}', f);
	}
	fprintf(f, "]}");
	return err ? -ENOMEM : 0;
}

int xp_report_json(const struct xp_profile *p, FILE *f, const struct xp_report_opts *o)
{
	const struct xp_header *h = &p->header;
	struct dom_an *a;
	size_t n;
	int err;

	if ((err = analyse(p, o, &a, &n)))
		return err;
	fprintf(f, "{\"host\": ");
	err |= jstr(f, h->host);
	fprintf(f, ", \"start_unix_ns\": %" PRIu64 ", \"freq_hz\": %u, \"duration_ns\": %" PRIu64
		   ", \"samples\": %" PRIu64 ", \"sample_records\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"notes\": [",
		h->start_unix_ns, h->freq_hz, p->end.duration_ns, total_weight(p), p->end.nr_samples, p->end.nr_lost);
	for (size_t i = 0; i < p->nr_notes; i++) {
		fprintf(f, "%s", i ? ", " : "");
		err |= jstr(f, p->notes[i]->text);
	}
	fprintf(f, "], \"domains\": [");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		err |= json_domain(f, p, &a[i], top_of(o));
	}
	fprintf(f, "]}\n");
	analyses_free(a, n);
	if (err)
		return -ENOMEM;
	return finish(f);
}

/* ---- folded stacks ---- */

struct sbuf {
	char *s;
	size_t n, cap;
	bool nomem;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->nomem)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *ns;

		while (b->n + n + 1 > cap)
			cap *= 2;
		if (!(ns = realloc(b->s, cap))) {
			b->nomem = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* A name from the file as one frame: ';', spaces and what xp_char_len refuses become '_'. */
static void sb_name(struct sbuf *b, const char *s)
{
	size_t n = strlen(s), start = b->n;

	sb_add(b, s, n);
	if (b->nomem)
		return;
	for (size_t i = start; i < b->n;) {
		size_t len = xp_char_len(b->s + i, b->n - i);

		if (!len || b->s[i] == ';' || b->s[i] == ' ') {
			b->s[i++] = '_';
			continue;
		}
		i += len;
	}
}

static void sb_hex(struct sbuf *b, const char *module, uint64_t addr)
{
	char num[24];

	sb_str(b, "[");
	sb_name(b, module);
	snprintf(num, sizeof(num), "]+%#" PRIx64, addr);
	sb_str(b, num);
}

/* Guest (or host kernel: module "kernel") frames, outermost first. */
static void sb_frames(struct sbuf *b, const struct xp_domain *d, const struct xp_rec_sample *s, const char *module)
{
	for (unsigned j = s->depth; j-- > 0;) {
		uint64_t ip = s->ips[j];
		const struct xp_symbol *sym = j && ip ? xp_symbol_at(d, ip - 1) : NULL;

		if (!sym)
			sym = xp_symbol_at(d, ip);
		sb_str(b, ";");
		if (sym)
			sb_name(b, sym->name);
		else
			sb_hex(b, module, ip);
	}
}

static void stack_line(struct sbuf *b, const struct xp_profile *p, const struct xp_domain *d,
		       const struct xp_rec_sample *s)
{
	char tmp[64];
	const char *thread;

	b->n = 0;
	sb_name(b, d->rec->name);
	if (s->where == XP_WHERE_BACKEND) {
		sb_str(b, ";[backend] ");
		thread = xp_thread_name(p, (uint32_t)(d - p->domains), s->vcpu);
		if (thread) {
			sb_name(b, thread);
		} else {
			snprintf(tmp, sizeof(tmp), "%u", s->vcpu);
			sb_str(b, tmp);
		}
		/* the VMM's and the kernel's functions, as `xenith prof record` named them ("f", "f_[k]") */
		sb_frames(b, d, s, "vmm");
		return;
	}
	snprintf(tmp, sizeof(tmp), ";vcpu%u", s->vcpu);
	sb_str(b, tmp);
	if (s->where == XP_WHERE_IDLE) {
		sb_str(b, ";[idle]");
		return;
	}
	if (s->where == XP_WHERE_KVM) {
		sb_str(b, ";[kvm]");
		sb_frames(b, d, s, "kernel");
		return;
	}
	sb_frames(b, d, s, image_base(d));
	if (s->where == XP_WHERE_HV) {
		sb_str(b, ";[hv] ");
		sb_str(b, xp_detail_name(s->detail, tmp, sizeof(tmp)));
	}
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Frame by frame: ';' (and the end) below any character of a name. */
static int by_frames(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)((const struct xp_stack *)a)->line;
	const unsigned char *y = (const unsigned char *)((const struct xp_stack *)b)->line;

	for (;; x++, y++) {
		unsigned cx = *x == ';' ? 1 : *x, cy = *y == ';' ? 1 : *y;

		if (cx != cy)
			return cx < cy ? -1 : 1;
		if (!cx)
			return 0;
	}
}

void xp_stacks_free(struct xp_stacks *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].line);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int xp_fold(const struct xp_profile *p, const struct xp_report_opts *o, struct xp_stacks *out)
{
	struct sbuf b = { 0 };
	size_t *slot = NULL, cap = 0, nrec = 0, vcap = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = any_selected(p, o)))
		return err;
	for (size_t i = 0; i < p->nr_domains; i++)
		if (selected(&p->domains[i], o))
			nrec += p->domains[i].nr_samples;
	/* at most one stack per sample record: a table of twice that never fills */
	for (cap = 16; cap < 2 * nrec; cap *= 2)
		;
	if (!(slot = calloc(cap, sizeof(*slot))))
		return -ENOMEM;
	for (size_t i = 0; i < p->nr_domains; i++) {
		const struct xp_domain *d = &p->domains[i];

		if (!selected(d, o))
			continue;
		for (size_t k = 0; k < d->nr_samples; k++) {
			const struct xp_rec_sample *s = d->samples[k];
			size_t h;

			stack_line(&b, p, d, s);
			if (b.nomem)
				goto nomem;
			for (h = fnv(b.s) & (cap - 1); slot[h]; h = (h + 1) & (cap - 1))
				if (!strcmp(out->v[slot[h] - 1].line, b.s))
					break;
			if (!slot[h]) {
				if (out->n == vcap) {
					size_t nc = vcap ? 2 * vcap : 64;
					struct xp_stack *v = realloc(out->v, nc * sizeof(*v));

					if (!v)
						goto nomem;
					out->v = v;
					vcap = nc;
				}
				if (!(out->v[out->n].line = strdup(b.s)))
					goto nomem;
				out->v[out->n].count = 0;
				out->v[out->n].where = s->where;
				slot[h] = ++out->n;
			}
			out->v[slot[h] - 1].count += s->weight;
			out->total += s->weight;
		}
	}
	free(slot);
	free(b.s);
	if (out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), by_frames);
	return 0;
nomem:
	free(slot);
	free(b.s);
	xp_stacks_free(out);
	return -ENOMEM;
}

int xp_report_folded(const struct xp_profile *p, FILE *f, const struct xp_report_opts *o)
{
	struct xp_stacks st;
	int err;

	if ((err = xp_fold(p, o, &st)))
		return err;
	for (size_t i = 0; i < st.n; i++)
		fprintf(f, "%s %" PRIu64 "\n", st.v[i].line, st.v[i].count);
	xp_stacks_free(&st);
	return finish(f);
}
