# SPDX-License-Identifier: MIT
# Pagoda - top-level Makefile.
#
#   make            build build/pagoda.elf and build/pagoda.iso
#   make run        boot the ISO in QEMU on 4 CPUs, serial on this terminal
#   make debug      the same, stopped at the start, waiting for GDB on a per-user port (GDBPORT)
#   make test       host unit tests, then the QEMU test matrix (tools/run-tests)
#   make test-quick a small subset of the matrix for the edit loop
#   make selftests  Linux 6.1's mm selftests on Pagoda and on Linux, a table (docs/selftests.md)
#   make bench-tlb  munmap/TLB-shootdown figures on Pagoda and on Linux
#   make bench-thp  transparent huge pages against 4 KiB pages, Pagoda and Linux
#   make bench-cow  fork and copy-on-write figures on Pagoda and on Linux
#   make bench-madvise  batched process_madvise and page-table reclaim, Pagoda and Linux
#   make bench-uffd  userfaultfd write protection: protecting 1 GiB, wp faults, Pagoda and Linux
#   make bench-thp-cow  write faults on a forked, split THP's pieces, Pagoda and Linux
#   make bench-dsplit  MemFree after a partial munmap of 100 THPs, before and
#                   after the deferred split (made by memory pressure); Pagoda
#                   and Linux
#   make bench-vma  faults beside mmap/munmap/mprotect, 1-4 threads; Pagoda with and
#                   without per-VMA locks (vma_lock=0), and Linux
#   make bench-collapse  MADV_COLLAPSE of 2 MiB against faulting it in, Pagoda and Linux
#   make bench-mremap    mremap moves of 4 KiB pages against a 2 MiB huge page, Pagoda and Linux
#   make soak       long runs of the interplay tester (SOAK_MINUTES, SOAK_SEED,
#                   SOAK_SEEDS, SOAK_CPUS, SOAK_FAULTINJECT, SOAK_RACES: tools/soak)
#   make interplay-linux  the interplay tester's fixed seeds on Pagoda and on
#                   Linux, outputs compared
#   make host-test  host unit tests only
#   make deps       install missing Debian packages (tools/deps)
#
# Kernel sources are picked up by wildcard: a new .c or .asm file in boot/,
# arch/x86_64/, kernel/ or mm/ is built without editing this file; so is a new
# in-kernel suite in tests/kernel/*/ or benchmark in tests/bench/kernel/
# (tests/README.md): the image carries them, and kernel/ktest.c runs them
# when the command line asks.

# The toolchain: GCC and GNU ld by default. LLVM=1 builds with clang and
# ld.lld instead (what every platform's LLVM has, macOS included);
# CROSS_COMPILE=x86_64-elf- takes a cross GCC and binutils by their prefix
# (Homebrew's x86_64-elf-gcc). The kernel is freestanding either way, so
# clang is told the ELF target rather than the host's (macOS's is Mach-O).
ifeq ($(LLVM),1)
CC      := clang --target=x86_64-unknown-none-elf
HOSTCC  := clang
LD      := ld.lld
NM      := llvm-nm
# The mmu_gather keeps a batch header followed by its pages inside a struct
# (mm/mmu_gather.h), a GNU C extension clang names a warning; Linux turns the
# same warning off for the same pattern.
TOOLCHAIN_CFLAGS := -Wno-gnu-variable-sized-type-not-at-end
else
CC      := $(CROSS_COMPILE)gcc
HOSTCC  := gcc
LD      := $(CROSS_COMPILE)ld
NM      := $(CROSS_COMPILE)nm
TOOLCHAIN_CFLAGS :=
endif
export LLVM CROSS_COMPILE
NASM    := nasm
PYTHON  := python3
BUILD   := build

KERNEL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
	-mcmodel=kernel -mno-red-zone -mgeneral-regs-only \
	-mno-mmx -mno-sse -mno-sse2 -mno-80387 \
	-fno-stack-protector -fno-omit-frame-pointer -fno-optimize-sibling-calls \
	-fno-strict-aliasing -fno-asynchronous-unwind-tables \
	$(TOOLCHAIN_CFLAGS) -I. -MMD -MP
NASMFLAGS := -f elf64 -g -F dwarf

C_SRCS   := $(sort $(wildcard kernel/*.c arch/x86_64/*.c mm/*.c)) \
	$(sort $(wildcard tests/kernel/*/*.c tests/bench/kernel/*.c))
ASM_SRCS := $(sort $(wildcard boot/*.asm arch/x86_64/*.asm))
OBJS := $(patsubst %.c,$(BUILD)/%.o,$(C_SRCS)) $(patsubst %.asm,$(BUILD)/%.o,$(ASM_SRCS))

QEMU      := qemu-system-x86_64
RUN_CPUS  ?= 4
RUN_MEM   ?= 512M
RUN_CMDLINE ?= trace

.PHONY: all run debug test test-quick selftests host-test lab-list lab-starter lab-verify grade host-build deps clean iso user-programs linux-check bench-tlb bench-thp bench-cow \
	bench-madvise bench-uffd bench-vma bench-thp-cow bench-dsplit bench-collapse bench-mremap soak interplay-linux

all: $(BUILD)/pagoda.iso

deps:
	@tools/deps

# The toolchain in use, remembered: building with the other one (LLVM=1 or
# not, another CROSS_COMPILE) rebuilds every object rather than linking
# GCC's with clang's.
$(BUILD)/toolchain: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(LD)' | cmp -s - $@ || echo '$(CC) $(LD)' > $@

$(BUILD)/%.o: %.c $(BUILD)/toolchain
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@

# NASM's -MD does not list %include files here, so every assembly object
# depends on every include file explicitly.
$(BUILD)/%.o: %.asm $(wildcard arch/x86_64/*.inc) $(BUILD)/toolchain
	@mkdir -p $(dir $@)
	$(NASM) $(NASMFLAGS) -MD $(BUILD)/$*.d -MP $< -o $@

# Two-pass link for backtrace symbols: link with an empty table, list the
# text symbols, link again with the real table. The table sits after all
# code (linker.ld), so the second link moves no function.
$(BUILD)/ksyms-empty.o: tools/gen-ksyms
	@mkdir -p $(BUILD)
	$(PYTHON) tools/gen-ksyms --empty > $(BUILD)/ksyms-empty.S
	$(CC) -c $(BUILD)/ksyms-empty.S -o $@

$(BUILD)/pagoda.elf: $(OBJS) $(BUILD)/ksyms-empty.o linker.ld tools/gen-ksyms
	$(LD) -n -T linker.ld -o $(BUILD)/pagoda-pass1.elf $(OBJS) $(BUILD)/ksyms-empty.o
	$(NM) -n $(BUILD)/pagoda-pass1.elf | $(PYTHON) tools/gen-ksyms > $(BUILD)/ksyms.S
	$(CC) -c $(BUILD)/ksyms.S -o $(BUILD)/ksyms.o
	$(LD) -n -T linker.ld -o $@ $(OBJS) $(BUILD)/ksyms.o
	@$(NM) $(BUILD)/pagoda-pass1.elf | grep ' [tT] ' | sort > $(BUILD)/syms1.txt
	@$(NM) $@ | grep ' [tT] ' | sort > $(BUILD)/syms2.txt
	@cmp -s $(BUILD)/syms1.txt $(BUILD)/syms2.txt || { echo "ksyms: second link moved code"; exit 1; }

# The kernel stands without its tests (tests/README.md): its own objects link
# alone, and no source outside tests/ includes a file from there. Production
# reaches test code only through kernel/ktest.h's registration sections.
PROD_OBJS := $(filter-out $(BUILD)/tests/%,$(OBJS))
$(BUILD)/pagoda-notests.elf: $(PROD_OBJS) $(BUILD)/ksyms-empty.o linker.ld
	$(LD) -n -T linker.ld -o $@ $(PROD_OBJS) $(BUILD)/ksyms-empty.o
	@! grep -rn '#include "tests/' boot arch kernel mm || \
		{ echo "production code includes a test header"; rm -f $@; exit 1; }

# The image carries RUN_CMDLINE; remember the last one so that changing it
# ("make run RUN_CMDLINE=nosmp") remakes the image.
$(BUILD)/run-cmdline: FORCE
	@mkdir -p $(BUILD)
	@echo '$(RUN_CMDLINE)' | cmp -s - $@ || echo '$(RUN_CMDLINE)' > $@

# User programs (user/Makefile) go on the ISO as Multiboot2 modules.
user-programs:
	$(MAKE) -C user

# Run every user test program on Pagoda (tools/run-tests' user-4cpu
# configuration writes each program's own output to build/pagoda-out/) and
# on Debian's Linux in QEMU (tools/linux-ref), and compare the two.
linux-check: deps
	$(MAKE) all
	tools/run-tests --only user-4cpu || true
	$(MAKE) -C user linux-check

# The TLB-shootdown benchmark (tests/bench/user/bench_tlb.c, docs/benchmarks.md):
# Pagoda with 2 and 4 CPUs (tools/run-tests' bench configurations, one boot
# at a time), then Debian's Linux with the same CPUs (tools/linux-ref).
# Only a correctness check can fail it; the figures are "#" lines.
bench-tlb: deps
	$(MAKE) all
	tools/run-tests -j 1 --only bench-tlb-2cpu,bench-tlb-4cpu
	@for n in 2 4; do echo "=== Pagoda, -smp $$n"; \
	  cat $(BUILD)/pagoda-out/bench-tlb-$${n}cpu/bench_tlb.txt; done
	@for n in 2 4; do echo "=== Linux, -smp $$n"; \
	  tools/linux-ref -smp $$n bench_tlb || exit 1; done

# Transparent huge pages against 4 KiB pages (tests/bench/user/bench_thp.c):
# Pagoda with 2 CPUs, then Debian's Linux the same way (the program switches
# Linux's THP from Debian's "never" to "madvise", Pagoda's default).
bench-thp: deps
	$(MAKE) all
	tools/run-tests -j 1 --only bench-thp-2cpu
	@echo "=== Pagoda, -smp 2"; cat $(BUILD)/pagoda-out/bench-thp-2cpu/bench_thp.txt
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 bench_thp

# MADV_COLLAPSE of a 2 MiB piece of 4 KiB pages against faulting those pages
# in (tests/bench/user/bench_collapse.c, docs/thp.md): Pagoda with 2 CPUs, then
# Debian's Linux the same way.
bench-collapse: deps
	$(MAKE) all
	tools/run-tests -j 1 --only bench-collapse-2cpu
	@echo "=== Pagoda, -smp 2"; cat $(BUILD)/pagoda-out/bench-collapse-2cpu/bench_collapse.txt
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 bench_collapse

# mremap moves (tests/bench/user/bench_mremap.c, docs/mremap.md): Pagoda
# with 2 CPUs, then Debian's Linux with 2.
bench-mremap: deps
	$(MAKE) all
	tools/run-tests -j 1 --only bench-mremap-2cpu
	@echo "=== Pagoda, -smp 2"; cat $(BUILD)/pagoda-out/bench-mremap-2cpu/bench_mremap.txt
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 bench_mremap

# The fork and copy-on-write benchmark (tests/bench/user/bench_cow.c,
# docs/benchmarks.md): Pagoda with 2 CPUs, then Debian's Linux with 2.
bench-cow: deps
	$(MAKE) all
	tools/run-tests -j 1 --only bench-cow-2cpu
	@echo "=== Pagoda, -smp 2"; cat $(BUILD)/pagoda-out/bench-cow-2cpu/bench_cow.txt
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 bench_cow

# process_madvise(MADV_DONTNEED) latency by vector length, and page-table
# memory after a sparse zap (tests/bench/user/bench_madvise.c): Pagoda as it
# boots (batching and page-table reclaim on), with madvise_batch=0 and with
# pt_reclaim=0, then Debian's Linux, all with 2 CPUs. A boot takes about
# 90 s on an idle two-core host, longer when other QEMUs run: hence --timeout.
bench-madvise: deps
	$(MAKE) all
	tools/run-tests -j 1 --timeout 900 --only bench-madvise-2cpu,bench-madvise-nobatch-2cpu,bench-madvise-noreclaim-2cpu
	@for c in "" nobatch- noreclaim-; do echo "=== Pagoda, -smp 2, bench-madvise-$${c}2cpu"; \
	  cat $(BUILD)/pagoda-out/bench-madvise-$${c}2cpu/bench_madvise.txt; done
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 bench_madvise

# userfaultfd write protection (tests/bench/user/bench_uffd.c): protecting and
# clearing 1 GiB never touched (with and without markers), read-faulted and
# written, and the cycles per sync and async wp fault; Pagoda with 2 CPUs,
# then Debian's Linux the same way. 2 GiB of memory so that 1 GiB can be
# written.
bench-uffd: deps
	$(MAKE) all
	tools/run-tests -j 1 --timeout 900 --only bench-uffd-2cpu
	@echo "=== Pagoda, -smp 2"; cat $(BUILD)/pagoda-out/bench-uffd-2cpu/bench_uffd.txt
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 -m 2G bench_uffd

# Page faults and the address space's lock (tests/bench/user/bench_vma.c): one
# thread's faults alone and beside a thread that maps, unmaps and mprotects
# other memory, and faults from 1, 2 and 4 threads into separate VMAs;
# Pagoda as it boots (per-VMA locks) and with vma_lock=0 (every fault under
# mmap_lock), then Debian's Linux 6.1 (no per-VMA locks), all with 2 CPUs.
bench-vma: deps
	$(MAKE) all
	tools/run-tests -j 1 --timeout 900 --only bench-vma-2cpu,bench-vma-nolock-2cpu
	@for c in "" nolock-; do echo "=== Pagoda, -smp 2, bench-vma-$${c}2cpu"; \
	  cat $(BUILD)/pagoda-out/bench-vma-$${c}2cpu/bench_vma.txt; done
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 bench_vma

# Write faults on the pieces of a THP that fork shared and the parent split
# (tests/bench/user/bench_thp_cow.c, docs/thp.md): after the child exited, with
# it alive, unsplit, and on 4 KiB pages; Pagoda as it boots (per-piece
# exclusivity), with thp_whole_exclusive (one bit per compound), then
# Debian's Linux 6.1 (the program asks it for THP "madvise"), all with 2 CPUs.
bench-thp-cow: deps
	$(MAKE) all
	tools/run-tests -j 1 --timeout 900 --only bench-thp-cow-2cpu,bench-thp-cow-whole-2cpu
	@for c in "" whole-; do echo "=== Pagoda, -smp 2, bench-thp-cow-$${c}2cpu"; \
	  cat $(BUILD)/pagoda-out/bench-thp-cow-$${c}2cpu/bench_thp_cow.txt; done
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 bench_thp_cow
# The deferred split (tests/bench/user/bench_deferred_split.c): MemFree after
# a partial munmap of 100 THPs, and after memory pressure made each kernel
# split them (Pagoda's allocator, Linux's shrinker); both with 2 CPUs.
bench-dsplit: deps
	$(MAKE) all
	tools/run-tests -j 1 --timeout 900 --only bench-dsplit-2cpu
	@echo "=== Pagoda, -smp 2"; cat $(BUILD)/pagoda-out/bench-dsplit-2cpu/bench_deferred_split.txt
	@echo "=== Linux, -smp 2"; tools/linux-ref -smp 2 bench_deferred_split

# The interplay tester (tests/user/interplay/, docs/testing-mm.md).
soak: deps
	$(MAKE) all
	tools/soak

# Its fixed seeds (the interplay-4cpu and interplay-thp configurations) on
# Pagoda, then the same binary and seeds on Debian's Linux 6.1, the outputs
# diffed.
INTERPLAY_WORDS := interplay.seed=1,2,3
INTERPLAY_THP_WORDS := interplay.seed=1,2 interplay.mix=thp interplay.thpstat=1 interplay.races=0
interplay-linux: deps
	$(MAKE) all
	tools/run-tests -j 1 --timeout 900 --only interplay-4cpu,interplay-thp || true
	mkdir -p $(BUILD)/linux-ref/out $(BUILD)/linux-ref/out-thp
	@# -m 1G: Linux 6.1 turns transparent huge pages off at boot below
	@# 512 MiB of RAM (hugepage_init), whatever the command line says.
	tools/linux-ref -smp 4 -m 1G -append "transparent_hugepage=madvise $(INTERPLAY_WORDS)" \
		--compare $(BUILD)/linux-ref/out interplay
	tools/linux-ref -smp 4 -m 1G -append "transparent_hugepage=always $(INTERPLAY_THP_WORDS)" \
		--compare $(BUILD)/linux-ref/out-thp interplay
	@# The two race lines (and the totals they change) and the THP counts
	@# (interplay.thpstat) are the known differences (docs/testing-mm.md).
	grep -v -e ' race: ' -e '^# totals:' $(BUILD)/linux-ref/out/interplay.txt > $(BUILD)/linux-ref/out/interplay.cmp
	grep -v -e ' race: ' -e '^# totals:' $(BUILD)/pagoda-out/interplay-4cpu/interplay.txt > $(BUILD)/pagoda-out/interplay.cmp
	grep -v -e '^# seed .* THP regions' $(BUILD)/linux-ref/out-thp/interplay.txt > $(BUILD)/linux-ref/out-thp/interplay.cmp
	grep -v -e '^# seed .* THP regions' $(BUILD)/pagoda-out/interplay-thp/interplay.txt > $(BUILD)/pagoda-out/interplay-thp.cmp
	diff -u --label linux/interplay --label pagoda/interplay \
		$(BUILD)/linux-ref/out/interplay.cmp $(BUILD)/pagoda-out/interplay.cmp && \
	diff -u --label linux/interplay-thp --label pagoda/interplay-thp \
		$(BUILD)/linux-ref/out-thp/interplay.cmp $(BUILD)/pagoda-out/interplay-thp.cmp && \
		echo "interplay: Pagoda and Linux print the same lines (the race lines and THP counts aside)"

$(BUILD)/pagoda.iso: $(BUILD)/pagoda.elf $(BUILD)/pagoda-notests.elf iso/boot/grub/grub.cfg.in tools/mkiso $(BUILD)/run-cmdline user-programs
	tools/mkiso $@ "$(RUN_CMDLINE)" 3

iso: $(BUILD)/pagoda.iso

QEMU_RUN_FLAGS := -machine pc -cpu max -smp $(RUN_CPUS) -m $(RUN_MEM) \
	-cdrom $(BUILD)/pagoda.iso -serial stdio -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04

run: deps
	$(MAKE) all
	$(QEMU) $(QEMU_RUN_FLAGS) $(if $(DISPLAY),,-display none) ; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 33 ] || { echo "QEMU exited with $$rc"; exit $$rc; }

# make debug: QEMU stopped before the first instruction, its GDB stub on
# GDBPORT (local connections only). The port is per user (20000 + uid mod
# 40000), so that two students on one server do not take each other's;
# GDBPORT=N chooses another. The printed command loads tools/gdb/pagoda.py,
# the memory manager's commands (docs/debugging.md).
GDBPORT ?= $(shell echo $$((20000 + $$(id -u) % 40000)))

debug: deps
	$(MAKE) all
	@echo "QEMU is waiting for GDB on port $(GDBPORT). In another terminal:"
	@echo "  gdb -q -x tools/gdb/pagoda.py -ex 'target remote :$(GDBPORT)' $(BUILD)/pagoda.elf"
	$(QEMU) $(QEMU_RUN_FLAGS) -gdb tcp:127.0.0.1:$(GDBPORT) -S $(if $(DISPLAY),,-display none)

# --- host unit tests (AddressSanitizer + UBSan) ---
# Each tests/host/test_NAME.c names the kernel sources it links against on a
# line "// SOURCES: a.c b.c"; see tests/host/README.md.
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. -DHOST_TEST \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HOST_TESTS := $(patsubst tests/host/%.c,$(BUILD)/host/%,$(sort $(wildcard tests/host/test_*.c)))

$(BUILD)/host/%: tests/host/%.c $(wildcard tests/host/*.h) FORCE
	@mkdir -p $(BUILD)/host
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $< $(shell sed -n 's|^// SOURCES:||p' $<)

host-build: $(HOST_TESTS)

host-test: $(HOST_TESTS)
	@$(if $(HOST_TESTS),tools/run-host-tests $(HOST_TESTS) $(sort $(wildcard tests/host/test_*.py)) tools/check-style tools/check-license,echo "no host tests (tests/host/test_*.c)")

# The harness checks its own log reading (--self-test) before it is trusted
# with the matrix; so does the trace picture tool (tools/trace-svg). TEST_FLAGS passes options on: make test TEST_FLAGS="-j 1".
TEST_FLAGS ?=

test: deps
	$(MAKE) all
	tools/run-tests --self-test
	tools/trace-svg --self-test
	tools/run-tests --host --matrix full --summary-file $(BUILD)/test-summary $(TEST_FLAGS)
	tools/selftests --quick --add-to $(BUILD)/test-summary

# Linux 6.1's own mm selftests, built from Debian's linux-source-6.1 at test
# time, on Pagoda (one boot each) and on Linux (tools/linux-ref): the table of
# docs/selftests.md. make test runs the quick subset.
selftests: deps
	$(MAKE) all
	tools/selftests

test-quick: deps
	$(MAKE) all
	tools/run-tests --self-test >/dev/null || tools/run-tests --self-test
	tools/trace-svg --self-test
	tools/run-tests --host --matrix quick $(TEST_FLAGS)

# Labs (labs/README.md): the names, a student's starter tree written from
# this one, and the grade of a lab in this tree (Score: N/M last, and
# build/grade/LAB.json for Gradescope). PRISTINE=DIR restores test files a
# student changed from DIR (the solution, or the starter as handed out).
lab-list:
	@tools/lab list

lab-starter:
	@test -n "$(LAB)" -a -n "$(DEST)" || { echo "usage: make lab-starter LAB=NAME DEST=DIR"; exit 2; }
	tools/lab starter $(LAB) $(DEST)

grade: deps
	@test -n "$(LAB)" || { echo "usage: make grade LAB=NAME [PRISTINE=DIR]"; exit 2; }
	tools/lab grade $(LAB) $(if $(PRISTINE),--pristine $(PRISTINE))

# The starter of LAB written, built and booted in a temporary directory
# (CONFIGS, default bios-4cpu user-4cpu): every failure outside the lab is
# named (exit status 1), then the starter is graded (below full).
lab-verify: deps
	@test -n "$(LAB)" || { echo "usage: make lab-verify LAB=NAME [CONFIGS='CONFIG...']"; exit 2; }
	tools/lab verify-starter $(LAB) $(CONFIGS)

clean:
	rm -rf $(BUILD)

FORCE:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
