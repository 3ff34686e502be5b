#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/host/test_gdb.py - the GDB commands of tools/gdb/pagoda.py against a
booted kernel (docs/debugging.md).

Makes an image (tools/mkiso, no GRUB menu delay) that runs
user/programs/trace_fork, a fork and its copy-on-write faults, and boots it
in QEMU with 2 CPUs and a GDB stub on a free local port, stopped (-S). GDB, in batch mode
with the script loaded, stops at the first copy-on-write copy (wp_page_copy:
a user address and its mm at hand, no breakpoint condition to evaluate on
every fault) and runs every command. The output must
show: the walk of the faulting address, four levels down to a 4 KiB page with
its flags, read-only (a COW fault); the walk of a kernel address ending in a
large page; that page's struct page with sane counts, anonymous or the zero
page; each CPU's
loaded mm and generations; a backtrace per CPU through wp_page_copy. Prints
KTAP; skips when gdb, QEMU or the image is missing (make builds the image).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ELF = os.path.join(TOP, "build", "pagoda.elf")
USER_BIN = os.path.join(TOP, "build", "user", "bin", "trace_fork")
SCRIPT = os.path.join(TOP, "tools", "gdb", "pagoda.py")
TIMEOUT = 150           # seconds for the whole GDB session (a boot under load)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# After the stop, each command runs on its own: one that fails (printed
# as an error) must not keep the others from being checked.
STEPS = [("WALK-USER", "pagoda-walk vmf->address"),
         ("PAGE", "pagoda-page phys=$pagoda_phys"),
         ("PAGE", 'pagoda-page "pfn=$pagoda_phys >> 12"'),
         ("PAGE", 'pagoda-page "$vmemmap + ($pagoda_phys >> 12)"'),
         ("WALK-KERNEL", "pagoda-walk &kmain vmf->mm"),
         ("TLB", "pagoda-tlb"),
         ("EXPECT", "py:expect_tlb()"),
         ("BT", "pagoda-bt-all 4")]

GDB_COMMANDS = """
set pagination off
set confirm off
break wp_page_copy
continue
python
def expect_tlb():
    # What pagoda-tlb must print, read here with plain expressions.
    st = gdb.parse_and_eval("tlb_state")
    for c in range(2):
        mm = st[c]["loaded_mm"]
        if int(mm):
            print("expect %%d 0x%%x %%d %%d" %% (c, int(mm), int(st[c]["loaded_mm_gen"]),
                                             int(mm["tlb_gen"])))
last = None
for tag, cmd in %r:
    if tag != last:
        print("@@" + tag)
        last = tag
    try:
        if cmd.startswith("py:"):
            eval(cmd[3:])
        else:
            gdb.execute(cmd)
    except gdb.error as e:
        print("ERROR in %%s: %%s" %% (cmd, e))
print("@@END")
end
kill
""" % (STEPS,)


def session(port, iso):
    """Boot, attach, run the commands: GDB's output."""
    r = subprocess.run([os.path.join(TOP, "tools", "mkiso"), iso, "run=trace_fork", "0"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "tools/mkiso failed:\n" + r.stdout + r.stderr
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "pc", "-cpu", "max", "-smp", "2", "-m", "256M",
         "-cdrom", iso, "-display", "none", "-serial", "null", "-no-reboot",
         "-gdb", "tcp:127.0.0.1:%d" % port, "-S"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".gdb", delete=False) as f:
            f.write(GDB_COMMANDS)
        r = subprocess.run(["gdb", "-q", "-nx", "-batch", "-x", SCRIPT,
                            "-ex", "target remote 127.0.0.1:%d" % port, "-x", f.name, ELF],
                           capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        os.unlink(f.name)
        return r.stdout + r.stderr
    finally:
        qemu.kill()
        qemu.wait()


def section(out, name):
    m = re.search(r"@@%s\n(.*?)(?=@@|\Z)" % name, out, re.S)
    return m.group(1) if m else ""


def case_walk_user(out):
    s = section(out, "WALK-USER")
    levels = re.findall(r"^\s+(PML4|PDPT|PD|PT)\s+\[\s*\d+\] entry at 0x[0-9a-f]+ = 0x[0-9a-f]{16}\s+(\S+)",
                        s, re.M)
    ok = [l for l, _ in levels] == ["PML4", "PDPT", "PD", "PT"] and \
        "-> 4 KiB page" in s and "P" in levels[-1][1].split("|") and \
        "U" in levels[-1][1].split("|") and "W" not in levels[-1][1].split("|")
    return ok, s


def case_walk_kernel(out):
    s = section(out, "WALK-KERNEL")
    ok = "walk of 0xffffffff8" in s and re.search(r"-> (2 MiB|1 GiB|4 KiB) page", s) and \
        "U" not in re.findall(r"= 0x[0-9a-f]{16}\s+(\S+)", s)[-1].split("|")
    return bool(ok), s


def case_page(out):
    s = section(out, "PAGE")
    pages = re.findall(r"refcount (-?\d+)\s+mapcount (-?\d+)\s+order (\d+).*?\n\s+flags 0x[0-9a-f]+ (\S+)", s)
    ok = len(pages) == 3 and pages[0] == pages[1] == pages[2] and int(pages[0][0]) >= 1 and \
        int(pages[0][1]) >= 1 and {"anon", "zero"} & set(pages[0][3].split("|"))
    return bool(ok), s


def case_tlb(out):
    """Two rows; each CPU with an mm loaded shows the values GDB reads
    itself with plain expressions (the EXPECT lines)."""
    s = section(out, "TLB")
    rows = re.findall(r"^(\d+)\s+(0x[0-9a-f]+|\(kernel\))\s+(\S+)\s+(\S+)", s, re.M)
    want = re.findall(r"^expect (\d+) (0x[0-9a-f]+) (\d+) (\d+)$", section(out, "EXPECT"), re.M)
    ok = "loaded_mm_gen" in s and len(rows) == 2 and want and \
        all(w in rows for w in want)
    return bool(ok), s + section(out, "EXPECT")


def case_bt_all(out):
    s = section(out, "BT")
    cpus = re.findall(r"^--- CPU (\d+) \(gdb thread \d+\) ---", s, re.M)
    return cpus == ["0", "1"] and "wp_page_copy" in s and s.count("#0 ") >= 2, s


CASES = [("walk_user_address", case_walk_user), ("walk_kernel_address", case_walk_kernel),
         ("struct_page", case_page), ("tlb_generations", case_tlb),
         ("backtrace_all_cpus", case_bt_all)]


def main():
    print("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: gdb")
    print("    1..%d" % len(CASES))
    missing = [w for w in ("gdb", "qemu-system-x86_64") if not shutil.which(w)]
    missing += [p for p in (ELF, USER_BIN) if not os.path.exists(p)]
    if missing:
        for i, (name, _) in enumerate(CASES):
            print("    ok %d %s # SKIP missing %s" % (i + 1, name, ", ".join(missing)))
        print("ok 1 gdb # SKIP")
        return 0
    try:
        with tempfile.TemporaryDirectory() as d:
            out = session(free_port(), os.path.join(d, "gdb.iso"))
    except subprocess.TimeoutExpired as e:
        out = "GDB session timed out after %d s\n%s" % (TIMEOUT, e.stdout or "")
    if os.environ.get("PAGODA_GDB_LOG"):
        with open(os.environ["PAGODA_GDB_LOG"], "w") as f:
            f.write(out)        # the session, for docs/debugging.md
    failed = 0
    for i, (name, fn) in enumerate(CASES):
        ok, why = fn(out)
        if not ok:
            failed += 1
            for line in (why or out).splitlines()[-40:]:
                print("    # " + line)
        print("    %s %d %s" % ("ok" if ok else "not ok", i + 1, name))
    print("%s 1 gdb" % ("ok" if not failed else "not ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
