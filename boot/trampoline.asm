; SPDX-License-Identifier: MIT
; boot/trampoline.asm - where an application processor (AP) starts.
;
; A startup IPI (SIPI) starts an AP in 16-bit real mode at CS:IP = (page<<8):0,
; so this code must live in a page below 1 MiB. smp.c copies the bytes from
; trampoline_start to trampoline_end to such a page (chosen from the memory
; map), fills in the data block at the end (struct trampoline_data in smp.c),
; and sends INIT-SIPI-SIPI. The code is position independent: it finds its
; own physical address from CS and patches the two far-jump targets and the
; GDT pointer, which need absolute addresses.
;
; Steps: real mode -> 32-bit protected mode (flat segments, paging off) ->
; long mode, with CR3 = the boot page tables (boot_pml4, which identity-maps
; 0..4 GiB, so this page stays reachable when paging comes on) -> a 64-bit
; jump to ap_main(cpu) in the higher half, on the stack the BSP chose (in the
; kernel stack area, mm/kstack.h, whose root entry paging_init also put in
; boot_pml4).
; ap_main switches to the kernel's real page tables (kernel_cr3).
;
; The bytes live in .rodata: they are only ever copied, never run in place.

section .rodata
bits 16

%define OFF(label) ((label) - trampoline_start)

global trampoline_start, trampoline_end, trampoline_data
align 16
trampoline_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    xor ebx, ebx
    mov bx, ax
    shl ebx, 4                  ; ebx = physical address of this page

    ; Absolute addresses for the GDT pointer and the two far jumps.
    lea eax, [ebx + OFF(tr_gdt)]
    mov [OFF(tr_gdt_ptr) + 2], eax
    lea eax, [ebx + OFF(pm32)]
    mov [OFF(tr_pm32_ptr)], eax
    lea eax, [ebx + OFF(lm64)]
    mov [OFF(tr_lm64_ptr)], eax

    lgdt [OFF(tr_gdt_ptr)]
    mov eax, cr0
    or eax, 1                   ; PE
    mov cr0, eax
    jmp dword far [OFF(tr_pm32_ptr)]

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax

    mov eax, cr4
    or eax, 1 << 5              ; PAE: required for long mode
    mov cr4, eax
    mov eax, [ebx + OFF(trampoline_data) + TD_CR3]
    mov cr3, eax

    ; EFER as the BSP has it (LME, and NXE where the CPU has NX: page
    ; tables with NX bits fault without it).
    mov ecx, 0xC0000080
    rdmsr
    or eax, [ebx + OFF(trampoline_data) + TD_EFER]
    wrmsr

    ; After INIT a CPU starts with its caches disabled (CR0.CD and NW
    ; set): clear them, or this AP would run uncached and very slowly.
    mov eax, cr0
    and eax, ~((1 << 30) | (1 << 29))   ; CD, NW
    or eax, (1 << 31) | (1 << 16)       ; PG, WP
    mov cr0, eax
    jmp dword far [ebx + OFF(tr_lm64_ptr)]

bits 64
lm64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov ebx, ebx                ; upper halves are undefined after the switch
    mov rsp, [rbx + OFF(trampoline_data) + TD_STACK]
    mov edi, [rbx + OFF(trampoline_data) + TD_CPU]
    mov rax, [rbx + OFF(trampoline_data) + TD_ENTRY]
    xor ebp, ebp                ; ends the frame-pointer chain for backtraces
    push rbp                    ; a null "return address": as after a call
    jmp rax                     ; ap_main(cpu), never returns

align 8
tr_gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08: 32-bit code, flat
    dq 0x00CF92000000FFFF       ; 0x10: data, flat
    dq 0x00209A0000000000       ; 0x18: 64-bit code
tr_gdt_end:
tr_gdt_ptr:
    dw tr_gdt_end - tr_gdt - 1
    dd 0                        ; patched: physical address of tr_gdt
align 4
tr_pm32_ptr:
    dd 0                        ; patched: physical address of pm32
    dw 0x08
align 4
tr_lm64_ptr:
    dd 0                        ; patched: physical address of lm64
    dw 0x18

; Filled in by the BSP before each AP is started (struct trampoline_data).
TD_CR3   equ 0
TD_EFER  equ 4
TD_STACK equ 8
TD_ENTRY equ 16
TD_CPU   equ 24
align 8
trampoline_data:
    dd 0                        ; cr3 (physical, below 4 GiB)
    dd 0                        ; efer bits to set
    dq 0                        ; stack top (virtual)
    dq 0                        ; entry (virtual): ap_main
    dd 0                        ; logical CPU number
    dd 0
trampoline_end:

section .note.GNU-stack noalloc noexec nowrite progbits
