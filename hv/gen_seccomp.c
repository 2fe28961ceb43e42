// SPDX-License-Identifier: MIT
/*
 * gen_seccomp OUTPUT.c: compiles every seccomp filter of the VMM at build
 * time (confine_rules.c, libseccomp) and writes them as C arrays, with the
 * system call names for the SIGSYS message.  confine.c installs these, so
 * no VMM start pays libseccomp's compiling (1 to 2 ms for the ten kinds).
 *
 * One thing in a filter is known only at run time: tgkill is allowed for
 * the VMM's own process, so its pid is a constant in the program.  Each
 * filter is compiled twice here, with two pids no process can have; the
 * two programs must be the same but for "jeq #pid" instructions, whose
 * places are written out for confine_bpf_load to fill in.  Anything else
 * differing (libseccomp laying a program out by its constants) stops the
 * build, saying so.  unit-confine_rules checks the result against a
 * compile with the real pid.
 */
#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confine_priv.h"
#include "err.h"

/* Above PID_MAX_LIMIT (2^22): no process has either. */
#define PID_A 0x7e0d1a51u
#define PID_B 0x1bad5eedu

static int die(const char *fmt, const char *a, int n)
{
	fprintf(stderr, "gen_seccomp: ");
	fprintf(stderr, fmt, a, n);
	fputc('\n', stderr);
	return 1;
}

static int emit(FILE *f, int bench, int hooks, int kind, unsigned short *len, unsigned short *npid)
{
	struct sock_fprog a, b;
	struct errbuf eb;
	unsigned short at[64];
	unsigned n = 0;

	if (confine_compile_kind((enum confine_kind)kind, bench, hooks, PID_A, &a, &eb) < 0 ||
	    confine_compile_kind((enum confine_kind)kind, bench, hooks, PID_B, &b, &eb) < 0)
		return die("%s: %d", eb.msg, kind);
	if (a.len != b.len)
		return die("the %s filter is %d instructions long or not, by the pid in it: cannot be "
			   "compiled ahead", confine_kind_name((enum confine_kind)kind), a.len);
	for (unsigned i = 0; i < a.len; i++) {
		const struct sock_filter *x = &a.filter[i], *y = &b.filter[i];

		if (!memcmp(x, y, sizeof(*x))) {
			if (x->k == PID_A || x->k == PID_B)
				return die("the %s filter has the placeholder pid as another constant (insn %d)",
					   confine_kind_name((enum confine_kind)kind), (int)i);
			continue;
		}
		if (x->code != (BPF_JMP | BPF_JEQ | BPF_K) || y->code != x->code || x->jt != y->jt ||
		    x->jf != y->jf || x->k != PID_A || y->k != PID_B)
			return die("the %s filter differs by the pid at instruction %d in more than its "
				   "constant: cannot be compiled ahead", confine_kind_name((enum confine_kind)kind),
				   (int)i);
		if (n == sizeof(at) / sizeof(at[0]))
			return die("the %s filter compares the pid more than %d times",
				   confine_kind_name((enum confine_kind)kind), (int)n);
		at[n++] = (unsigned short)i;
	}
	if (n == 0)
		return die("the %s filter has no pid in it (tgkill is allowed for the VMM's own process "
			   "only): the check is lost", confine_kind_name((enum confine_kind)kind), 0);
	fprintf(f, "static const struct sock_filter f_%d_%d_%d[%u] = {\n", bench, hooks, kind, a.len);
	for (unsigned i = 0; i < a.len; i++)
		fprintf(f, "\t{ 0x%02x, %u, %u, 0x%08x },\n", a.filter[i].code, a.filter[i].jt, a.filter[i].jf,
			a.filter[i].k == PID_A ? 0u : a.filter[i].k);
	fprintf(f, "};\nstatic const unsigned short p_%d_%d_%d[%u] = {", bench, hooks, kind, n);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s%u", i ? ", " : " ", at[i]);
	fprintf(f, " };\n");
	*len = a.len;
	*npid = (unsigned short)n;
	free(a.filter);
	free(b.filter);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned short len[2][2][CONFINE_NR_KINDS], npid[2][2][CONFINE_NR_KINDS];
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_seccomp OUTPUT.c\n");
		return 2;
	}
	f = fopen(argv[1], "w");
	if (!f)
		return die("%s: %d", argv[1], errno);
	fprintf(f, "/* Written by hv/gen_seccomp.c at build time from hv/confine_rules.c: not to be edited. */\n"
		   "#include <stddef.h>\n#include <linux/filter.h>\n\n#include \"confine_priv.h\"\n\n");
	for (int bench = 0; bench < 2; bench++)
		for (int hooks = 0; hooks < 2; hooks++)
			for (int k = 0; k < CONFINE_NR_KINDS; k++)
				if (emit(f, bench, hooks, k, &len[bench][hooks][k], &npid[bench][hooks][k])) {
					fclose(f);
					remove(argv[1]);
					return 1;
				}
	fprintf(f, "\nconst struct confine_bpf confine_bpf[2][2][CONFINE_NR_KINDS] = {\n");
	for (int bench = 0; bench < 2; bench++)
		for (int hooks = 0; hooks < 2; hooks++)
			for (int k = 0; k < CONFINE_NR_KINDS; k++)
				fprintf(f, "\t[%d][%d][%d] = { f_%d_%d_%d, %u, %u, p_%d_%d_%d },\n", bench, hooks, k,
					bench, hooks, k, len[bench][hooks][k], npid[bench][hooks][k], bench, hooks, k);
	fprintf(f, "};\n\nconst char *const confine_syscall_names[CONFINE_NAMES_MAX] = {\n");
	for (int nr = 0; nr < CONFINE_NAMES_MAX; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);

		if (name && name[0] && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name))
			fprintf(f, "\t[%d] = \"%s\",\n", nr, name);
		free(name);
	}
	fprintf(f, "};\n");
	if (fclose(f) != 0) {
		remove(argv[1]);
		return die("%s: %d", argv[1], errno);
	}
	return 0;
}
