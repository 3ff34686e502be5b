# SPDX-License-Identifier: MIT
"""tools/gdb/pagoda.py - GDB commands for looking at Pagoda's memory manager.

`make debug` boots QEMU stopped, with a GDB stub, and prints the command that
attaches GDB with this file loaded (docs/debugging.md):

    gdb -q -x tools/gdb/pagoda.py -ex 'target remote :PORT' build/pagoda.elf

QEMU shows each virtual CPU to GDB as a thread (thread N is CPU N-1). The
commands:

  pagoda-walk ADDR [MM]  the page-table walk of ADDR: each level's index, the
                         entry's address and value, its flags and where it
                         points; MM (a struct mm_struct * expression) or, by
                         default, the address space of the selected CPU (its
                         current thread's mm, else the mm it has loaded, else
                         CR3). Sets $pagoda_phys to the physical address
                         found, for pagoda-page phys=$pagoda_phys. An
                         expression with spaces goes in quotes.
  pagoda-page PAGE       a struct page and its counts: refcount, mapcount (a
                         PTE table's lock instead), order, flags by name, pfn.
                         PAGE is a struct page * expression, or pfn=N, or
                         phys=ADDR.
  pagoda-tlb             each CPU's loaded mm and TLB generation against the
                         mm's (mm/tlbflush.h): "behind" means a flush of that
                         mm is still due on that CPU.
  pagoda-bt-all          a backtrace of every CPU.

The flag names are read from the headers (mm/paging.h, mm/pgtable.h,
mm/page.h), so they stay the kernel's. tests/host/test_gdb.py runs every
command against a booted kernel.
"""

import os
import re
import struct

import gdb

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRECT_MAP_BASE = 0xFFFF800000000000
ADDR_MASK = 0x000FFFFFFFFFF000
LEVELS = [("PML4", 39), ("PDPT", 30), ("PD", 21), ("PT", 12)]


def header_bits(path, prefix):
    """{bit value: NAME} from '#define PREFIX_NAME (1UL << N)' lines."""
    bits = {}
    pat = re.compile(r"#define\s+%s(\w+)\s+\(1[uU]?[lL]*\s*<<\s*(\d+)\)" % prefix)
    try:
        with open(os.path.join(TOP, path)) as f:
            for m in pat.finditer(f.read()):
                bits.setdefault(1 << int(m.group(2)), m.group(1))
    except OSError:
        pass
    return bits


def header_value(path, name, default):
    """The number of '#define NAME 0x...' in a header, or default."""
    try:
        with open(os.path.join(TOP, path)) as f:
            m = re.search(r"#define\s+%s\s+(0[xX][0-9a-fA-F]+|\d+)" % name, f.read())
    except OSError:
        m = None
    return int(m.group(1), 0) if m else default


# The page descriptors: one virtual array, vmemmap (mm/sparse.h); a macro in
# C, so GDB has no symbol for it.
VMEMMAP_START = header_value("mm/sparse.h", "VMEMMAP_START", 0xFFFFEA0000000000)

PTE_BITS = header_bits("mm/paging.h", "PTE_")
PTE_BITS.update(header_bits("mm/pgtable.h", "PTE_"))
PG_BITS = header_bits("mm/page.h", "PG_")
PTE_PS = 1 << 7


def names(value, table):
    out = [n for bit, n in sorted(table.items()) if value & bit]
    return "|".join(out) if out else "-"


def sym(name, source):
    """A kernel variable, static ones by their file's name."""
    try:
        return gdb.parse_and_eval(name)
    except gdb.error:
        return gdb.parse_and_eval("'%s'::%s" % (source, name))


def read_u64(addr):
    data = gdb.selected_inferior().read_memory(addr, 8)
    return struct.unpack("<Q", bytes(data))[0]


def nr_cpus():
    n = int(sym("nr_cpus", "arch/x86_64/percpu.c"))
    return max(1, min(n, len(gdb.selected_inferior().threads())))


def selected_cpu():
    """The selected GDB thread's CPU: struct cpu at GS base, else its number."""
    try:
        gs = int(gdb.parse_and_eval("$gs_base"))
        if gs:
            return int(gdb.parse_and_eval("((struct cpu *)%d)->id" % gs))
    except gdb.error:
        pass
    return gdb.selected_thread().num - 1


def cpu_mm(cpu):
    """(struct mm_struct * value or None, how it was found) for a CPU."""
    cur = sym("runqueues", "kernel/sched.c")[cpu]["current"]
    if int(cur) and int(cur["mm"]):
        return cur["mm"], "thread %s (tid %d)" % (cur["name"].string(), int(cur["tid"]))
    loaded = sym("tlb_state", "mm/tlbflush.c")[cpu]["loaded_mm"]
    if int(loaded):
        return loaded, "the mm loaded on CPU %d" % cpu
    return None, "CR3 of CPU %d" % cpu


class PagodaCommand(gdb.Command):
    def __init__(self, name):
        super().__init__(name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        try:
            self.run(gdb.string_to_argv(arg))
        except gdb.error as e:
            raise gdb.GdbError("%s: %s" % (self.__class__.__name__, e))


class Walk(PagodaCommand):
    """pagoda-walk ADDR [MM]: the page-table walk of ADDR, level by level."""

    def run(self, argv):
        if not argv:
            raise gdb.GdbError("usage: pagoda-walk ADDR [MM]")
        addr = int(gdb.parse_and_eval(argv[0])) & (2 ** 64 - 1)
        if len(argv) > 1:
            mm, how = gdb.parse_and_eval(argv[1]), "the mm %s" % argv[1]
        else:
            mm, how = cpu_mm(selected_cpu())
        root = int(mm["pgd_phys"]) if mm is not None else int(gdb.parse_and_eval("$cr3"))
        root &= ADDR_MASK
        print("walk of 0x%x in %s, root (pgd) at phys 0x%x" % (addr, how, root))
        self.walk(addr, root)

    def walk(self, addr, table):
        for name, shift in LEVELS:
            idx = (addr >> shift) & 511
            where = DIRECT_MAP_BASE + table + idx * 8
            e = read_u64(where)
            flags = names(e, PTE_BITS)
            print("  %-4s [%3d] entry at 0x%x = 0x%016x  %s" % (name, idx, where, e, flags))
            if not e & 1:
                print("  not present at %s: the walk stops (a fault here)" % name)
                return
            if name == "PT" or (e & PTE_PS and name in ("PDPT", "PD")):
                size = 1 << shift
                phys = (e & ADDR_MASK & ~(size - 1)) + (addr & (size - 1))
                print("  -> %s page, phys 0x%x (pfn %d); $pagoda_phys set" % (
                    {"PT": "4 KiB", "PD": "2 MiB", "PDPT": "1 GiB"}[name], phys, phys >> 12))
                gdb.set_convenience_variable("pagoda_phys", phys)
                return
            table = e & ADDR_MASK


class Page(PagodaCommand):
    """pagoda-page PAGE|pfn=N|phys=ADDR: a struct page and its counts (PAGE an
    expression: a struct page pointer, or $vmemmap + N)."""

    def run(self, argv):
        if not argv:
            raise gdb.GdbError("usage: pagoda-page PAGE | pfn=N | phys=ADDR")
        vmemmap = gdb.parse_and_eval("(struct page *)0x%x" % VMEMMAP_START)
        gdb.set_convenience_variable("vmemmap", vmemmap)    # for PAGE expressions
        a = " ".join(argv)
        if a.startswith("pfn=") or a.startswith("phys="):
            v = int(gdb.parse_and_eval(a.split("=", 1)[1]))
            pfn = v if a.startswith("pfn=") else v >> 12
            page = vmemmap + pfn
        else:
            page = gdb.parse_and_eval(a).cast(vmemmap.type)
            pfn = int((page - vmemmap))
        if pfn < 0 or pfn >= int(sym("max_pfn", "mm/buddy.c")):
            raise gdb.GdbError("pfn %d has no struct page (max_pfn %d)"
                               % (pfn, int(sym("max_pfn", "mm/buddy.c"))))
        p = page.dereference()
        flags = int(p["flags"])
        count = ("ptl %d" % int(p["ptl"])) if flags & self.flag("pagetable") else \
            "mapcount %d" % int(p["mapcount"])
        print("struct page 0x%x: pfn %d, phys 0x%x" % (int(page), pfn, pfn << 12))
        print("  refcount %d  %s  order %d  owner %d" % (
            int(p["refcount"]), count, int(p["order"]), int(p["owner"])))
        print("  flags 0x%x %s" % (flags, names(flags, PG_BITS)))

    @staticmethod
    def flag(name):
        return next((b for b, n in PG_BITS.items() if n == name), 0)


class Tlb(PagodaCommand):
    """pagoda-tlb: each CPU's loaded mm and TLB generation against the mm's."""

    def run(self, argv):
        st = sym("tlb_state", "mm/tlbflush.c")
        print("cpu  loaded_mm           loaded_mm_gen  mm->tlb_gen  lazy  current")
        for c in range(nr_cpus()):
            s = st[c]
            mm = s["loaded_mm"]
            cur = sym("runqueues", "kernel/sched.c")[c]["current"]
            who = cur["name"].string() if int(cur) else "-"
            if int(mm):
                gen, mgen = int(s["loaded_mm_gen"]), int(mm["tlb_gen"])
                note = "" if gen >= mgen else "  behind: a flush is due"
                print("%-4d 0x%-16x  %-13d  %-11d  %-4s  %s%s" % (
                    c, int(mm), gen, mgen, "yes" if bool(s["is_lazy"]) else "no", who, note))
            else:
                print("%-4d %-18s  %-13s  %-11s  %-4s  %s" % (c, "(kernel)", "-", "-", "-", who))


class BtAll(PagodaCommand):
    """pagoda-bt-all: a backtrace of every CPU (QEMU's threads)."""

    def run(self, argv):
        keep = gdb.selected_thread()
        try:
            for t in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
                t.switch()
                print("--- CPU %d (gdb thread %d) ---" % (t.num - 1, t.num))
                gdb.execute("bt %s" % " ".join(argv), to_string=False)
        finally:
            keep.switch()


Walk("pagoda-walk")
Page("pagoda-page")
Tlb("pagoda-tlb")
BtAll("pagoda-bt-all")
print("pagoda: pagoda-walk, pagoda-page, pagoda-tlb, pagoda-bt-all (help CMD; docs/debugging.md)")
