/* SPDX-License-Identifier: MIT */
/* user/lib/crt0.S - process entry point.
 *
 * The kernel starts a new program here with the System V x86_64 initial
 * stack: %rsp points at argc, then argv[], NULL, envp[], NULL, auxv.
 * There is no return address, so we clear %rbp (the end of the frame-pointer
 * chain for debuggers and backtraces), hand that stack pointer to C and
 * align %rsp to 16 bytes as the ABI requires at a call.
 */
	.text
	.globl _start
	.type _start, @function
_start:
	xor	%ebp, %ebp
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	__libc_start		/* never returns: it calls exit_group */
	hlt
	.size _start, . - _start

/* long __thread_clone(unsigned long flags, void *stack, int *ptid,
 *                     int *ctid, unsigned long tls)
 *
 * clone(2) for threads. The child runs on a new stack, so it cannot return
 * into the C function that called clone: the caller has stored the entry
 * function at stack[0] and its argument at stack[1]; the child pops both,
 * calls fn(arg) and ends the thread with exit(fn's result). The parent gets
 * the child's tid (or -errno) back like any system call.
 */
	.globl __thread_clone
	.type __thread_clone, @function
__thread_clone:
	mov	%rcx, %r10		/* the 4th syscall argument goes in r10 */
	mov	$56, %eax		/* __NR_clone */
	syscall
	test	%rax, %rax
	jnz	1f			/* parent (tid) or error (-errno) */
	xor	%ebp, %ebp		/* child: a fresh frame-pointer chain */
	pop	%rax			/* fn */
	pop	%rdi			/* arg */
	call	*%rax
	mov	%eax, %edi
	mov	$60, %eax		/* __NR_exit: this thread only */
	syscall
	hlt
1:	ret
	.size __thread_clone, . - __thread_clone

	.section .note.GNU-stack, "", @progbits
