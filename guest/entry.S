/* SPDX-License-Identifier: MIT */
/*
 * Every vCPU starts here: RDI = start_info, RSI = vCPU id, RSP = the top
 * of this vCPU's stack (builder-provided, 16-byte aligned).
 */
#define MINIOS_UPCALL_VECTOR 0xf3 /* = trap.c */
	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	andq $-16, %rsp
	xorl %ebp, %ebp
	call kernel_entry
	ud2 /* kernel_entry does not return */
	.size _start, . - _start

/*
 * CPL-0 mode only (guest_cpl = 0): the IDT's entry points, 16 bytes apart
 * from trap_stubs (vectors 0-31), and the upcall vector's.  Each pushes an
 * error code (0 when the CPU does not) and the vector, then trap_common
 * saves the general registers as a struct trap_frame (trap.c) and calls
 * trap_dispatch(frame).  The stack is 16-byte aligned at that call: the
 * CPU aligns RSP before pushing its frame, which with the error code is an
 * even number of quadwords, as the vector and 15 registers are.
 */
.macro TRAP_STUB vec, has_error
	.balign 16
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
.endm

	.text
	.globl trap_stubs
	.balign 16
trap_stubs:
	TRAP_STUB 0, 0
	TRAP_STUB 1, 0
	TRAP_STUB 2, 0
	TRAP_STUB 3, 0
	TRAP_STUB 4, 0
	TRAP_STUB 5, 0
	TRAP_STUB 6, 0
	TRAP_STUB 7, 0
	TRAP_STUB 8, 1
	TRAP_STUB 9, 0
	TRAP_STUB 10, 1
	TRAP_STUB 11, 1
	TRAP_STUB 12, 1
	TRAP_STUB 13, 1
	TRAP_STUB 14, 1
	TRAP_STUB 15, 0
	TRAP_STUB 16, 0
	TRAP_STUB 17, 1
	TRAP_STUB 18, 0
	TRAP_STUB 19, 0
	TRAP_STUB 20, 0
	TRAP_STUB 21, 1
	TRAP_STUB 22, 0
	TRAP_STUB 23, 0
	TRAP_STUB 24, 0
	TRAP_STUB 25, 0
	TRAP_STUB 26, 0
	TRAP_STUB 27, 0
	TRAP_STUB 28, 0
	TRAP_STUB 29, 1
	TRAP_STUB 30, 1
	TRAP_STUB 31, 0
	.globl upcall_stub
upcall_stub:
	TRAP_STUB MINIOS_UPCALL_VECTOR, 0

trap_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp /* vector and error code */
	iretq

	.section .note.GNU-stack, "", @progbits
