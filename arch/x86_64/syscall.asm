; SPDX-License-Identifier: MIT
; arch/x86_64/syscall.asm - the SYSCALL entry point and the return to user mode.
;
; SYSCALL (set up in arch/x86_64/syscall.c) jumps here in ring 0 with:
;   RCX = user RIP, R11 = user RFLAGS, RSP = still the USER stack,
;   interrupts off (SFMASK clears IF, plus DF, TF and AC).
; We swap GS to reach the per-CPU area, switch to the current thread's kernel
; stack, and build the same struct trap_frame an interrupt would (trap.h), so
; system calls, faults and the scheduler all see one frame layout.

bits 64
%include "arch/x86_64/trap_frame.inc"
section .text
extern syscall_dispatch

USER_CS         equ 0x23
USER_DS         equ 0x1b
SYSCALL_VECTOR  equ 0x100       ; not a hardware vector: "this frame is a syscall"

global syscall_entry
syscall_entry:
    swapgs
    mov [gs:16], rsp            ; user_rsp_scratch
    mov rsp, [gs:8]             ; syscall_rsp: this thread's kernel stack top
    push USER_DS                ; ss
    push qword [gs:16]          ; rsp
    push r11                    ; rflags
    push USER_CS                ; cs
    push rcx                    ; rip
    push 0                      ; error code
    push SYSCALL_VECTOR
    SAVE_GPRS
    mov rdi, rsp
    push qword [rsp + 17 * 8]   ; fake frame: backtraces end at the user RIP
    push 0
    mov rbp, rsp
    call syscall_dispatch       ; enables interrupts itself, disables them on return
    add rsp, 16
global syscall_return
syscall_return:
    RESTORE_GPRS
    add rsp, 16                 ; vector, error code
    ; IRETQ rather than SYSRET: it restores exactly the frame (the kernel may
    ; have changed RIP/RSP, e.g. for a new program), and it has no trap for a
    ; non-canonical RIP, which SYSRET famously has on Intel CPUs.
    swapgs
    iretq

section .note.GNU-stack noalloc noexec nowrite progbits
