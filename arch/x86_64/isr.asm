; arch/x86_64/isr.asm - interrupt and exception entry stubs.
;
; Every vector gets a stub that makes the stack look the same (an error code,
; real or a dummy 0, then the vector number), saves all general registers and
; calls trap_dispatch(struct trap_frame *). The layout must match
; struct trap_frame in arch/x86_64/trap.h.

bits 64
%include "arch/x86_64/trap_frame.inc"
section .text
extern trap_dispatch

%macro STUB_NOERR 1
isr_stub_%1:
    push 0
    push %1
    jmp isr_common
%endmacro

%macro STUB_ERR 1
isr_stub_%1:
    push %1
    jmp isr_common
%endmacro

; Vectors where the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30.
%assign v 0
%rep 256
  %if v = 8 || (v >= 10 && v <= 14) || v = 17 || v = 21 || v = 29 || v = 30
    STUB_ERR v
  %else
    STUB_NOERR v
  %endif
  %assign v v + 1
%endrep

isr_common:
    ; Coming from user mode (CS RPL 3)? Then GS holds the user's base: swap
    ; in the kernel's per-CPU base. [rsp+24] is CS (vector, error, rip, cs).
    test qword [rsp + 24], 3
    jz .from_kernel_1
    swapgs
.from_kernel_1:
    SAVE_GPRS
    mov rdi, rsp
    ; Make the backtrace start at the interrupted frame: a fake frame whose
    ; return address is the interrupted RIP.
    push qword [rsp + 17 * 8]   ; rip
    push rbp
    mov rbp, rsp
    cld
    call trap_dispatch
    add rsp, 16
    RESTORE_GPRS
    test qword [rsp + 24], 3
    jz .from_kernel_2
    swapgs
.from_kernel_2:
    add rsp, 16                 ; vector and error code
    iretq

section .rodata
global isr_stub_table
align 8
isr_stub_table:
%assign v 0
%rep 256
    dq isr_stub_ %+ v
  %assign v v + 1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
