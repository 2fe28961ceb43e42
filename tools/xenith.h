/* SPDX-License-Identifier: MIT */
#ifndef XENITH_TOOLS_XENITH_H
#define XENITH_TOOLS_XENITH_H

/* Exit statuses of the xenith command (also in `xenith run --help`). */
#define EXIT_GUEST_MAX 63   /* 0..63: the guest powered off with this code */
#define EXIT_USAGE 64       /* bad command line or configuration */
#define EXIT_START 65       /* the domain could not be built or started */
#define EXIT_CRASHED 66     /* the guest crashed */
#define EXIT_DESTROYED 67   /* destroyed by the toolstack or a signal */
#define EXIT_TIMEOUT 68     /* --timeout expired and the domain was destroyed */
#define EXIT_REBOOT 69      /* the guest asked to reboot and on_reboot = destroy */

int cmd_run(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_migrate_receive(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_disks(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_memmap(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_unpause(int argc, char **argv);
int cmd_shutdown(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_xenstore_ls(int argc, char **argv);
int cmd_xenstore_write(int argc, char **argv);
int cmd_switch(int argc, char **argv);
int cmd_pci(int argc, char **argv);
int cmd_prof(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_compare(int argc, char **argv);

#include <stddef.h>
/*
 * A domain given by name or numeric id (cmd_control.c): its name in name;
 * non-zero after printing why when the run directory cannot be listed.
 */
int resolve_domain(const char *dir, const char *target, char *name, size_t size, const char *cmdname);
#include <stdbool.h>
/* Waits until the domain's VMM has released its name (cmd_control.c); false after timeout_s. */
bool wait_gone(const char *dir, const char *name, double timeout_s);
/* The bundled guest: $XENITH_MINIOS, the build tree, next to the binary, the install path. */
int find_bundled_minios(char *out, size_t size);

#endif
