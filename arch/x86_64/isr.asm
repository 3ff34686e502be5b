; SPDX-License-Identifier: MIT
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

; The vectors that run on their own IST stack and may interrupt any
; instruction: NMI (2), double fault (8), machine check (18). They take the
; paranoid entry below instead of isr_common.
%macro STUB_PARANOID 2
isr_stub_%1:
  %if %2
    push 0
  %endif
    push %1
    jmp isr_paranoid
%endmacro

; Vectors where the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30.
%assign v 0
%rep 256
  %if v = 2 || v = 18
    STUB_PARANOID v, 1
  %elif v = 8
    STUB_PARANOID v, 0
  %elif (v >= 10 && v <= 14) || v = 17 || v = 21 || v = 29 || v = 30
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

; The paranoid entry. isr_common decides from the interrupted CS whether GS
; holds the user's base (and swaps it), and for ordinary interrupts that is
; right: they are masked on the few instructions where CS and GS disagree
; (the SYSCALL entry before its swapgs, the return to user mode after its
; own). An NMI or a machine check is not masked there, and a double fault
; may come from anywhere. So these three trust neither CS nor GS: they save
; the GS base MSR as it is, load this CPU's own struct cpu (its address is
; kept at the top of the IST stack they arrive on, arch/x86_64/desc.c), and
; put the saved base back on the way out, whatever it was. Linux's
; paranoid_entry does the same where it can write the GS base directly.
; trap_debug_gs_from_cs=1 (a negative control, the trap suite's
; nmi_with_foreign_gs must then fail) makes them use isr_common's rule.
MSR_GS_BASE equ 0xC0000101
IST_FRAME equ 7 * 8             ; vector, error, rip, cs, rflags, rsp, ss
extern trap_debug_gs_from_cs
isr_paranoid:
    cmp byte [rel trap_debug_gs_from_cs], 0
    jne isr_common
    SAVE_GPRS
    mov ecx, MSR_GS_BASE
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov r12, rax                ; the interrupted GS base; the C code keeps r12
    mov rax, [rsp + 15 * 8 + IST_FRAME]     ; this CPU's struct cpu *
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov rdi, rsp
    push qword [rsp + 17 * 8]   ; rip: the backtrace starts at the interrupted frame
    push rbp
    mov rbp, rsp
    cld
    call trap_dispatch
    add rsp, 16
    mov rax, r12
    mov rdx, r12
    shr rdx, 32
    mov ecx, MSR_GS_BASE
    wrmsr
    RESTORE_GPRS
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
