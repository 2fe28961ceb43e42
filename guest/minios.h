/* SPDX-License-Identifier: MIT */
/* minios: the Xenith PV guest kernel.  Declarations shared by its files. */
#ifndef MINIOS_H
#define MINIOS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenith/abi.h"
#include "xenith/console.h"
#include "xenith/grant_table.h"
#include "xenith/shared_info.h"
#include "xenith/start_info.h"

#define noreturn_fn __attribute__((noreturn))
#define printf_fmt(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern struct xenith_start_info *start_info;
extern struct xenith_shared_info *shared_info;

/* lib.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Parses an unsigned decimal; *end after the digits.  false if none. */
bool parse_ulong(const char *s, const char **end, unsigned long *out);

/* spinlock (lib.c) */
struct spinlock {
	atomic_flag held;
};
#define SPINLOCK_INIT { ATOMIC_FLAG_INIT }
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);

/* printf.c */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) printf_fmt(3, 0);
int snprintf(char *buf, size_t size, const char *fmt, ...) printf_fmt(3, 4);

/* console.c */
void console_init(void);
void console_write(const char *s, size_t len);
int printf(const char *fmt, ...) printf_fmt(1, 2);

/* sched.c */
noreturn_fn void poweroff(unsigned code);
noreturn_fn void shutdown(unsigned reason);
void sched_yield(void);
void sched_block(void);
/* 0 when one of ports is pending, -XEN_ETIMEDOUT after timeout_ns. */
long sched_poll(const uint32_t *ports, unsigned nr, uint64_t timeout_ns);

/* events.c */
int evtchn_bind_virq(unsigned virq, unsigned vcpu);
bool evtchn_test_and_clear(uint32_t port);
void evtchn_unmask(uint32_t port);
void evtchn_clear_upcall(unsigned vcpu);
/* A port for a backend in the VMM (remote_dom XENITH_BACKEND_DOMID), or -errno. */
int evtchn_alloc_unbound(uint16_t remote_dom);
int evtchn_status(uint32_t port, struct evtchn_status *st);
int evtchn_send(uint32_t port);
int evtchn_close(uint32_t port);
/* Upcalls for port go to vCPU vcpu: 0 or -errno. */
int evtchn_bind_vcpu(uint32_t port, unsigned vcpu);

/* trap.c: CPL-0 mode only (guest_cpl = 0) */
typedef void (*evtchn_handler_t)(uint32_t port);
unsigned current_cpl(void);
/* Installs minios's IDT and asks for upcalls as interrupts; -XEN_EPERM at CPL 3. */
int trap_init(void);
/* Other vCPUs load the same IDT (IDTR is per CPU). */
void trap_load_idt(void);
/* fn runs in the upcall (interrupt context, general registers only) when port is pending. */
void evtchn_set_handler(uint32_t port, evtchn_handler_t fn);
/* A handler that counts the port's events; evtchn_event_count() reads the count. */
void evtchn_count_events(uint32_t port);
uint64_t evtchn_event_count(uint32_t port);
uint64_t trap_upcalls(void);
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
/* Waits for an interrupt with interrupts on (sti; hlt: no wake-up slips in between), then off. */
static inline void irq_wait(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

/* gnttab.c: grant table */
int gnttab_init(unsigned nr_frames);
uint32_t gnttab_size(void);
/* A reference granting domid access to guest frame `frame`, or -errno. */
int gnttab_grant(uint16_t domid, uint64_t frame, bool readonly);
/* Takes the grant back; false while the backend has the page in use. */
bool gnttab_end_access(uint32_t ref);
void gnttab_free(uint32_t ref);

/* time.c */
void time_init(void);
uint64_t rdtsc(void);
uint64_t monotonic_ns(void);
void sleep_ns(uint64_t ns);

/* smp.c */
unsigned smp_processor_id(void);
int smp_start_vcpu(unsigned vcpu, void (*fn)(unsigned vcpu));
noreturn_fn void smp_vcpu_down(void);

/* mm.c */
void mm_init(void);
void *alloc_pages(size_t n);
void free_pages(void *p, size_t n);
size_t mm_free_pages(void);
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void free(void *p);

/* programs.c */
int run_program(const char *cmdline);

#endif
