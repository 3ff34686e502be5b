; SPDX-License-Identifier: MIT
; arch/x86_64/switch.asm - switch_to: the one place a CPU changes threads.
;
;   void switch_to(u64 *prev_ksp, u64 next_ksp);
;
; Saves the callee-saved registers (the System V ABI says the caller does not
; expect the others to survive a call) on the current kernel stack, stores the
; stack pointer in *prev_ksp, loads next_ksp and pops the next thread's
; registers. "ret" then returns into wherever the next thread called
; switch_to from - or, for a new thread, into thread_start (kernel/sched.c
; builds that first frame by hand).
bits 64
section .text
global switch_to
switch_to:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
