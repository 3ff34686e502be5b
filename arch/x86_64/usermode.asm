; SPDX-License-Identifier: MIT
; arch/x86_64/usermode.asm - the first entry of a thread into user mode.
;
; A new user thread (exec, clone, fork) has its user registers in a struct
; trap_frame at the top of its kernel stack, exactly where a system call or
; an interrupt from user mode would have left them. Entering user mode is
; then the second half of a system-call return: point RSP at the frame and
; let syscall_return pop it and IRETQ (with SWAPGS to the user's GS base).

bits 64
section .text
extern syscall_return

; void enter_user(struct trap_frame *tf)  -- never returns
global enter_user
enter_user:
    cli                         ; SWAPGS ... IRETQ must not be interrupted
    mov rsp, rdi
    jmp syscall_return

section .note.GNU-stack noalloc noexec nowrite progbits
