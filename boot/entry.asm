; SPDX-License-Identifier: MIT
; boot/entry.asm - from GRUB (32-bit protected mode) to 64-bit C in the higher half.
;
; GRUB loads the ELF at its physical load addresses (starting at 2 MiB, see
; linker.ld) and jumps to _start in 32-bit protected mode with paging off,
; EAX = Multiboot2 magic and EBX = physical address of the boot information.
; Everything here runs before paging. The .boot sections are linked at their
; physical addresses; .bss symbols are linked in the higher half, so this code
; uses them by physical address: "sym - KERNEL_VMA".
;
; What we build (docs/boot.md has the picture):
;   PML4[0]   -> pdpt_low : identity map of 0..4 GiB (2 MiB pages). The AP
;                trampoline and the jump below need it; it is dropped once
;                user address spaces own the lower half.
;   PML4[256] -> pdpt_low : the same 4 GiB at DIRECT_MAP_BASE (0xffff800000000000).
;   PML4[511] -> pdpt_high: the kernel image at KERNEL_VMA (0xffffffff80000000),
;                entries 510 and 511 map physical 0..2 GiB.

KERNEL_VMA      equ 0xFFFFFFFF80000000
MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0

PTE_P           equ 1
PTE_W           equ 2
PTE_PS          equ 0x80

section .multiboot_header
align 8
mb2_header_start:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header_start
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header_start))

    ; Information request (type 1). Optional (flags = 1) so that GRUB boots us
    ; even where it cannot provide one; the kernel checks what it got.
    align 8
.info_req:
    dw 1, 1
    dd .info_req_end - .info_req
    dd 1            ; boot command line
    dd 3            ; modules
    dd 6            ; memory map
    dd 8            ; framebuffer info
    dd 14           ; ACPI 1.0 RSDP
    dd 15           ; ACPI 2.0+ RSDP
.info_req_end:

    ; Framebuffer request (type 5), optional. Under UEFI there is no VGA text
    ; mode, so without this GRUB would leave us with no screen at all.
    align 8
.fb_req:
    dw 5, 1
    dd .fb_req_end - .fb_req
    dd 1024         ; width
    dd 768          ; height
    dd 32           ; depth
.fb_req_end:

    ; Module alignment (type 6): page-align modules so the memory manager can
    ; treat them as whole pages.
    align 8
    dw 6, 0
    dd 8

    align 8
    dw 0, 0         ; end tag
    dd 8
mb2_header_end:

section .boot.text progbits alloc exec
bits 32
global _start
_start:
    cli
    cld
    mov esp, boot_stack_top - KERNEL_VMA
    mov [mb_magic - KERNEL_VMA], eax
    mov [mb_info_phys - KERNEL_VMA], ebx

    ; Long mode needs CPUID leaf 0x80000001 with EDX bit 29 (LM).
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz no_long_mode
    mov [cpu_ext_edx - KERNEL_VMA], edx

    ; --- page tables (zeroed .bss; GRUB does not clear .bss for us) ---
    mov edi, boot_page_tables_start - KERNEL_VMA
    mov ecx, (boot_page_tables_end - boot_page_tables_start) / 4
    xor eax, eax
    rep stosd

    ; pd0..pd3: 2048 entries of 2 MiB each = 4 GiB.
    mov edi, boot_pd - KERNEL_VMA
    xor ecx, ecx
.fill_pd:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_P | PTE_W | PTE_PS
    mov [edi + ecx * 8], eax
    mov eax, ecx
    shr eax, 11                 ; high dword of (ecx << 21)
    mov [edi + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 2048
    jb .fill_pd

    ; pdpt_low[0..3] -> pd0..pd3
    mov edi, boot_pdpt_low - KERNEL_VMA
    mov eax, boot_pd - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [edi + 0], eax
    add eax, 4096
    mov [edi + 8], eax
    add eax, 4096
    mov [edi + 16], eax
    add eax, 4096
    mov [edi + 24], eax

    ; pdpt_high[510] -> pd0, [511] -> pd1
    mov edi, boot_pdpt_high - KERNEL_VMA
    mov eax, boot_pd - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [edi + 510 * 8], eax
    add eax, 4096
    mov [edi + 511 * 8], eax

    ; pml4
    mov edi, boot_pml4 - KERNEL_VMA
    mov eax, boot_pdpt_low - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [edi + 0], eax
    mov [edi + 256 * 8], eax
    mov eax, boot_pdpt_high - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [edi + 511 * 8], eax

    ; --- enter long mode ---
    mov eax, cr4
    or eax, 1 << 5              ; PAE
    mov cr4, eax
    mov eax, boot_pml4 - KERNEL_VMA
    mov cr3, eax

    mov ecx, 0xC0000080         ; EFER
    rdmsr
    or eax, 1 << 8              ; LME
    test dword [cpu_ext_edx - KERNEL_VMA], 1 << 20
    jz .no_nx
    or eax, 1 << 11             ; NXE: only where the CPU has NX, else #GP
.no_nx:
    wrmsr

    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1   ; PG, WP, PE
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    jmp 0x08:long_mode_entry

; No long mode: say so on the VGA text screen and COM1, then stop. This is the
; only message a person with a 32-bit-only machine will ever see.
no_long_mode:
    mov esi, no_lm_msg
    mov edi, 0xB8000
.vga_loop:
    lodsb
    test al, al
    jz .serial
    mov ah, 0x4F
    stosw
    jmp .vga_loop
.serial:
    mov esi, no_lm_msg
.ser_loop:
    lodsb
    test al, al
    jz .halt
    mov dx, 0x3F8
    out dx, al
    jmp .ser_loop
.halt:
    hlt
    jmp .halt

bits 64
long_mode_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov rax, higher_half_entry
    jmp rax

section .boot.rodata progbits alloc noexec nowrite
no_lm_msg: db "Pagoda: this CPU has no 64-bit long mode; Pagoda needs an x86_64 CPU.", 0

align 16
boot_gdt:
    dq 0
    dq 0x00209A0000000000       ; 0x08: 64-bit code
    dq 0x0000920000000000       ; 0x10: data
boot_gdt_end:
boot_gdt_ptr:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt

section .text
extern kmain
higher_half_entry:
    mov rsp, boot_stack_top
    xor rbp, rbp                ; ends the frame-pointer chain for backtraces
    mov edi, [mb_magic]
    mov esi, [mb_info_phys]
    call kmain
.hang:
    cli
    hlt
    jmp .hang

section .bss
align 4096
global boot_pml4
boot_page_tables_start:
boot_pml4:      resb 4096
boot_pdpt_low:  resb 4096
boot_pdpt_high: resb 4096
global boot_pd
boot_pd:        resb 4096 * 4
boot_page_tables_end:

global boot_stack_guard, boot_stack_bottom, boot_stack_top
align 4096
; Left unmapped by mm/paging.c, so that overflowing the boot stack faults
; instead of overwriting the page tables above.
boot_stack_guard:
    resb 4096
boot_stack_bottom:
    resb 16384
boot_stack_top:

mb_magic:       resd 1
mb_info_phys:   resd 1
cpu_ext_edx:    resd 1

section .note.GNU-stack noalloc noexec nowrite progbits
