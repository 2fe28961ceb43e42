// SPDX-License-Identifier: MIT
/*
 * kvm tier: `xenith run -c FILE`, bad configuration and bad images, seen
 * from the command line: what boots, what is refused and what it says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "harness.h"


static struct proc P;

static void test_config_file_boots_what_it_describes(void **state)
{
	char path[256], text[1024];

	(void)state;
	harness_path(path, sizeof(path), "web.cfg");
	snprintf(text, sizeof(text),
		 "# a web-ish domain\n"
		 "name = \"t-web\"\n"
		 "memory = 32\n"
		 "vcpus = 2\n"
		 "kernel = '%s'\n"
		 "cmdline = \"smp\"\n"
		 "on_crash = destroy\n", harness_minios());
	test_write_file(path, text, strlen(text));
	assert_int_equal(RUN(&P, 20, "run", "-c", path), 0);
	assert_non_null(strstr(P.out, "smp: 2 of 2 vCPUs up"));
}

static void test_options_override_the_config_file(void **state)
{
	char path[256], text[512];

	(void)state;
	harness_path(path, sizeof(path), "exit.cfg");
	snprintf(text, sizeof(text), "name = t-over\ncmdline = \"exit 3\"\n");
	test_write_file(path, text, strlen(text));
	assert_int_equal(RUN(&P, 20, "run", "--cmdline", "exit 5", "-c", path), 5);
}

static void test_unknown_key_and_bad_value_name_key_value_and_allowed(void **state)
{
	char path[256];
	const char *bad_key = "name = x\nmemroy = 64\n";
	const char *bad_val = "vcpus = 0\n";

	(void)state;
	harness_path(path, sizeof(path), "bad.cfg");
	test_write_file(path, bad_key, strlen(bad_key));
	assert_int_equal(RUN(&P, 20, "run", "-c", path), 64);
	assert_non_null(strstr(P.err, "memroy"));
	assert_non_null(strstr(P.err, ":2"));
	assert_non_null(strstr(P.err, "memory"));

	test_write_file(path, bad_val, strlen(bad_val));
	assert_int_equal(RUN(&P, 20, "run", "-c", path), 64);
	assert_non_null(strstr(P.err, "vcpus"));
	assert_non_null(strstr(P.err, "0"));
	assert_non_null(strstr(P.err, "64"));

	assert_int_equal(RUN(&P, 20, "run", "--on-crash", "coredump-destroy"), 64);
	assert_non_null(strstr(P.err, "coredump-destroy"));
	assert_non_null(strstr(P.err, "preserve"));
}

static void test_image_for_another_abi_version_is_refused_naming_both(void **state)
{
	static const char note[] = "Xenith\0\0\x02\0\0\0"; /* version 2: XENITH_ABI_VERSION */
	char path[256];
	size_t len;
	char *img = test_read_file(harness_minios(), &len);
	char *hit = memmem(img, len, note, sizeof(note) - 1);

	(void)state;
	assert_non_null(hit);
	hit[8] = 9; /* the note's version: 2 -> 9 */
	harness_path(path, sizeof(path), "minios-v9");
	test_write_file(path, img, len);
	free(img);
	assert_int_equal(RUN(&P, 20, "run", path), 65);
	assert_non_null(strstr(P.err, "version 9"));
	assert_non_null(strstr(P.err, "version 2"));
}

static void test_non_elf_image_is_refused_with_a_reason(void **state)
{
	char path[256];

	(void)state;
	harness_path(path, sizeof(path), "not-elf");
	test_write_file(path, "#!/bin/sh\necho hi\n", 18);
	assert_int_equal(RUN(&P, 20, "run", path), 65);
	assert_non_null(strstr(P.err, "not-elf"));
	assert_non_null(strstr(P.err, "magic"));
	assert_int_equal(RUN(&P, 20, "run", "/nonexistent/guest"), 65);
	assert_non_null(strstr(P.err, "No such file"));
}

/*
 * The commands `xenith --help` lists: "  NAME  summary" lines after
 * "commands:", up to the first empty line.  Returns how many.
 */
static size_t listed_commands(const char *help, char names[][32], size_t max)
{
	const char *s = strstr(help, "\ncommands:\n");
	size_t n = 0;

	assert_non_null(s);
	for (s = strchr(s + 1, '\n') + 1; *s && *s != '\n' && n < max;) {
		const char *nl = strchr(s, '\n');

		if (sscanf(s, " %31s", names[n]) == 1)
			n++;
		if (!nl)
			break;
		s = nl + 1;
	}
	return n;
}

/* A line of out that starts with "usage: xenith CMD" followed by a space or its end. */
static bool has_usage_line(const char *out, const char *cmd)
{
	char head[64];
	size_t len;

	len = (size_t)snprintf(head, sizeof(head), "usage: xenith %s", cmd);
	for (const char *s = out; *s;) {
		const char *nl = strchr(s, '\n');

		if (!strncmp(s, head, len) && (s[len] == ' ' || s[len] == '\n' || !s[len]))
			return true;
		if (!nl)
			break;
		s = nl + 1;
	}
	return false;
}

/* `xenith CMD [SUB] --help` exits 0 and prints a usage line naming CMD [SUB]. */
static void expect_help(const char *cmd, const char *sub)
{
	char full[64];
	int st;

	snprintf(full, sizeof(full), "%s%s%s", cmd, sub ? " " : "", sub ? sub : "");
	st = sub ? RUN(&P, 20, cmd, sub, "--help") : RUN(&P, 20, cmd, "--help");
	printf("# xenith %s --help: status %d\n", full, st);
	if (st != 0 || !has_usage_line(P.out, full))
		fail_msg("`xenith %s --help`: status %d, usage line %s:\n%.300s", full, st,
			 has_usage_line(P.out, full) ? "present" : "missing", P.out);
}

/*
 * Subcommands a command's usage names: lines "usage: xenith CMD WORD" or
 * "       xenith CMD WORD" where WORD is a lowercase word (not an option or
 * a placeholder such as NAME or [OPTIONS]).
 */
static size_t usage_subcommands(const char *help, const char *cmd, char subs[][32], size_t max)
{
	char head[48];
	size_t n = 0;

	assert_true((size_t)snprintf(head, sizeof(head), "xenith %s ", cmd) < sizeof(head));
	for (const char *s = help; *s && n < max;) {
		const char *nl = strchr(s, '\n'), *u = s;
		char word[32];

		if (!strncmp(u, "usage: ", 7))
			u += 7;
		else
			while (*u == ' ')
				u++;
		if (u > s && !strncmp(u, head, strlen(head)) && sscanf(u + strlen(head), "%31[a-z]", word) == 1 &&
		    (u[strlen(head) + strlen(word)] == ' ' || u[strlen(head) + strlen(word)] == '\n')) {
			snprintf(subs[n++], 32, "%s", word);
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	return n;
}

static void test_every_subcommand_has_help(void **state)
{
	/* What the README documents; the list the program prints must have each (and may have more). */
	static const char *const documented[] = { "run", "list", "disks", "devices", "pause", "unpause", "shutdown",
						  "destroy", "console", "bench", "xenstore-ls", "xenstore-write" };
	char names[32][32];
	size_t n;

	(void)state;
	assert_int_equal(RUN(&P, 20, "--help"), 0);
	n = listed_commands(P.out, names, 32);
	for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++) {
		bool found = false;

		for (size_t k = 0; k < n; k++)
			found |= !strcmp(names[k], documented[i]);
		if (!found)
			fail_msg("`xenith --help` does not list '%s':\n%s", documented[i], P.out);
	}
	assert_true(n >= sizeof(documented) / sizeof(documented[0]));
	/* every listed command, and every subcommand its usage names: --help exits 0 naming it */
	for (size_t k = 0; k < n; k++) {
		char subs[8][32];
		size_t nsubs;

		expect_help(names[k], NULL);
		nsubs = usage_subcommands(P.out, names[k], subs, 8);
		for (size_t j = 0; j < nsubs; j++)
			expect_help(names[k], subs[j]);
	}
	assert_int_equal(RUN(&P, 20, "frobnicate"), 64);
}

/*
 * A xenith without xenith-fleet beside it (a copy alone, as in the lab):
 * `fleet --help` and `exporter --help` still answer with their usage and
 * say what is missing; running one says it cannot run xenith-fleet.
 */
static void test_fleet_help_answers_without_xenith_fleet(void **state)
{
	char dir[512], lone[600], cmd[2048], saved[600];
	const char *bin = getenv("XENITH_BIN");

	(void)state;
	snprintf(saved, sizeof(saved), "%s", bin ? bin : harness_xenith());
	harness_path(dir, sizeof(dir), "lone");
	snprintf(lone, sizeof(lone), "%s/xenith", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s' '%s'", dir, saved, lone);
	assert_int_equal(system(cmd), 0);
	setenv("XENITH_BIN", lone, 1);
	assert_int_equal(RUN(&P, 20, "fleet", "--help"), 0);
	assert_non_null(strstr(P.out, "usage: xenith fleet query"));
	assert_non_null(strstr(P.out, "which is not installed next to this"));
	assert_int_equal(RUN(&P, 20, "exporter", "--help"), 0);
	assert_non_null(strstr(P.out, "usage: xenith exporter"));
	assert_int_equal(RUN(&P, 20, "fleet", "query"), 65);
	assert_non_null(strstr(P.err, "xenith-fleet: No such file or directory"));
	setenv("XENITH_BIN", saved, 1);
}

static void test_console_log_gets_guest_output(void **state)
{
	char path[256];
	size_t len;
	char *log;

	(void)state;
	harness_path(path, sizeof(path), "console.log");
	unlink(path);
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-log", "--console-log", path), 0);
	log = test_read_file(path, &len);
	assert_non_null(memmem(log, len, "hello", 5));
	free(log);
}

/*
 * A file with a well-formed bzImage setup header (boot protocol `version`,
 * the kernel's `initrd_addr_max`) and a dummy 4 KiB kernel: what Linux 6.1
 * says about itself, scaled down.
 */
static void write_bzimage_with(const char *path, uint16_t version, uint32_t initrd_addr_max)
{
	uint8_t img[2 * 512 + 4096] = { 0 };
	uint32_t init_size = 16u << 20, align = 2u << 20, cmdline_size = 2047;
	uint64_t pref_address = 16u << 20;

	img[0x1f1] = 1;                  /* setup_sects */
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;               /* boot_flag */
	img[0x200] = 0xeb;
	img[0x201] = 0x66;               /* jump over the header: it ends at 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	memcpy(img + 0x206, &version, 2);
	img[0x211] = 0x01;               /* LOADED_HIGH */
	memcpy(img + 0x22c, &initrd_addr_max, 4);
	memcpy(img + 0x230, &align, 4);  /* kernel_alignment */
	img[0x234] = 1;                  /* relocatable_kernel */
	img[0x236] = 0x01;               /* XLF_KERNEL_64 */
	memcpy(img + 0x238, &cmdline_size, 4);
	memcpy(img + 0x258, &pref_address, 8);
	memcpy(img + 0x260, &init_size, 4);
	test_write_file(path, img, sizeof(img));
}

static void write_bzimage(const char *path, uint16_t version)
{
	write_bzimage_with(path, version, 0x7fffffff);
}

static void test_linux_kernel_with_old_boot_protocol_is_refused(void **state)
{
	char path[256];

	(void)state;
	harness_path(path, sizeof(path), "old-bzImage");
	write_bzimage(path, 0x0206);
	assert_int_equal(RUN(&P, 20, "run", "-m", "256", path), 65);
	assert_non_null(strstr(P.err, "boot protocol 2.06"));
	assert_non_null(strstr(P.err, "2.12 or later"));
}

static void test_linux_kernel_on_pvm_host_fails_at_once_saying_why(void **state)
{
	char path[256];

	(void)state;
	if (strcmp(harness_kvm_module(), "kvm_pvm") != 0)
		SKIP_BECAUSE("not a PVM host: real kernels boot here (the lab's linux_guest test)");
	harness_path(path, sizeof(path), "bzImage");
	write_bzimage(path, 0x020f);
	assert_int_equal(RUN(&P, 20, "run", "-m", "256", "--cmdline", "console=ttyS0", path), 65);
	assert_non_null(strstr(P.err, "is a Linux kernel"));
	assert_non_null(strstr(P.err, "CPL 0"));
	assert_non_null(strstr(P.err, "kvm_pvm"));
	assert_int_equal(P.out_len, 0); /* nothing ran */
}

/*
 * Finding 1 of issue 10: a kernel whose initrd_addr_max (0xfff) leaves no
 * room for the initrd made the initrd address wrap below guest memory.  It
 * is refused for that on every host, before the host check, naming the
 * field and its value.
 */
static void test_linux_kernel_with_no_room_below_initrd_addr_max_is_refused_naming_it(void **state)
{
	char path[256], initrd[256];
	static uint8_t mib[1 << 20];

	(void)state;
	harness_path(path, sizeof(path), "bzImage-initrd-max");
	harness_path(initrd, sizeof(initrd), "initrd-1m");
	write_bzimage_with(path, 0x020f, 0xfff);
	test_write_file(initrd, mib, sizeof(mib));
	assert_int_equal(RUN(&P, 20, "run", "-m", "256", "--initrd", initrd, path), 65);
	assert_non_null(strstr(P.err, "initrd_addr_max = 0xfff"));
	assert_null(strstr(P.err, "CPL 0"));
	assert_int_equal(P.out_len, 0); /* nothing ran */
}

static void test_initrd_with_a_pv_guest_is_refused(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--initrd", "/etc/hostname", harness_minios()), 65);
	assert_non_null(strstr(P.err, "only Linux kernels take an initrd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_config_file_boots_what_it_describes, harness_teardown),
		cmocka_unit_test_teardown(test_options_override_the_config_file, harness_teardown),
		cmocka_unit_test_teardown(test_unknown_key_and_bad_value_name_key_value_and_allowed, harness_teardown),
		cmocka_unit_test_teardown(test_image_for_another_abi_version_is_refused_naming_both, harness_teardown),
		cmocka_unit_test_teardown(test_non_elf_image_is_refused_with_a_reason, harness_teardown),
		cmocka_unit_test_teardown(test_every_subcommand_has_help, harness_teardown),
		cmocka_unit_test_teardown(test_fleet_help_answers_without_xenith_fleet, harness_teardown),
		cmocka_unit_test_teardown(test_console_log_gets_guest_output, harness_teardown),
		cmocka_unit_test_teardown(test_linux_kernel_with_old_boot_protocol_is_refused, harness_teardown),
		cmocka_unit_test_teardown(test_linux_kernel_on_pvm_host_fails_at_once_saying_why, harness_teardown),
		cmocka_unit_test_teardown(test_linux_kernel_with_no_room_below_initrd_addr_max_is_refused_naming_it, harness_teardown),
		cmocka_unit_test_teardown(test_initrd_with_a_pv_guest_is_refused, harness_teardown),
	};

	harness_require_kvm();
	harness_run_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
