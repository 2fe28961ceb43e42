/* SPDX-License-Identifier: MIT */
/*
 * Names of the x86 exception vectors, for reports made by the VMM (the
 * stub IDT, hv/trap.c) and by minios itself at CPL 0 (guest/trap.c).
 * Not part of the guest ABI; shared text only.
 */
#ifndef XENITH_EXCEPTIONS_H
#define XENITH_EXCEPTIONS_H

static inline const char *xenith_exception_name(unsigned long vector)
{
	static const char *const names[32] = {
		[0] = "#DE divide error", [1] = "#DB debug", [2] = "NMI", [3] = "#BP breakpoint",
		[4] = "#OF overflow", [5] = "#BR bound range", [6] = "#UD invalid opcode",
		[7] = "#NM device not available", [8] = "#DF double fault", [10] = "#TS invalid TSS",
		[11] = "#NP segment not present", [12] = "#SS stack fault",
		[13] = "#GP general protection", [14] = "#PF page fault", [16] = "#MF x87 error",
		[17] = "#AC alignment check", [18] = "#MC machine check", [19] = "#XM SIMD error",
		[20] = "#VE virtualization", [21] = "#CP control protection",
	};

	return vector < 32 && names[vector] ? names[vector] : "reserved exception";
}

#endif
