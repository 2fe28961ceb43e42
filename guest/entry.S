/* SPDX-License-Identifier: MIT */
/*
 * Every vCPU starts here: RDI = start_info, RSI = vCPU id, RSP = the top
 * of this vCPU's stack (builder-provided, 16-byte aligned).
 */
	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	andq $-16, %rsp
	xorl %ebp, %ebp
	call kernel_entry
	ud2 /* kernel_entry does not return */
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
