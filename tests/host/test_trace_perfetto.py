#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/host/test_trace_perfetto.py - tools/trace-perfetto writes trace-event
JSON that Perfetto's UI and chrome://tracing can read, from a real trace.

The input, tests/host/data/trace_fork.log, is the serial output of
user/programs/trace_fork on a 2-CPU boot with "trace" (docs/tracing.md,
"Trace your fork"). The tool is run as a user runs it; its file must be
valid JSON whose events carry the fields the format requires, with every
record of the dump present once, the fork's faults, COW copies and reuse
decoded, and the pairs (shootdowns, the mmu_gather, the grace period, the
page tables' wait) as slices. A broken dump must be refused. Prints KTAP."""
import json
import os
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(TOP, "tools", "trace-perfetto")
LOG = os.path.join(TOP, "tests", "host", "data", "trace_fork.log")
PHASES = {"M", "i", "X", "b", "e"}


def export(log_text):
    """Run the tool on log_text: (exit status, the JSON object or None, output)."""
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "serial.log"), os.path.join(d, "trace.json")
        with open(src, "w") as f:
            f.write(log_text)
        r = subprocess.run([sys.executable, TOOL, "--out", out, src],
                           capture_output=True, text=True)
        obj = None
        if r.returncode == 0:
            with open(out) as f:
                obj = json.load(f)      # raises on invalid JSON: a failure
        return r.returncode, obj, r.stdout + r.stderr


def records(text):
    return [l.split() for l in text.splitlines() if l.startswith("TRACE ")]


def case_self_test(text):
    r = subprocess.run([sys.executable, TOOL, "--self-test"], capture_output=True, text=True)
    return r.returncode == 0, r.stdout


def case_fields(text):
    rc, obj, out = export(text)
    if rc != 0:
        return False, out
    bad = [e for e in obj["traceEvents"]
           if e.get("ph") not in PHASES or not isinstance(e.get("name"), str) or
           e.get("pid") != 1 or (e["ph"] != "M" and
                                 (not isinstance(e.get("ts"), (int, float)) or e["ts"] < 0 or
                                  not isinstance(e.get("tid"), int)))]
    bad += [e for e in obj["traceEvents"] if e["ph"] == "X" and e.get("dur", -1) < 0]
    return not bad, "events without the required fields: %r" % bad[:3]


def case_every_record_once(text):
    """Every record is an instant, except IPIs, which are flow-bound slices."""
    rc, obj, out = export(text)
    if rc != 0:
        return False, out
    want = sorted((int(w[1]), int(w[2])) for w in records(text))
    got = sorted((e["tid"], e["args"]["tsc"]) for e in obj["traceEvents"]
                 if e["ph"] == "i" or e["name"] in ("ipi_send", "ipi_recv"))
    return want == got, "records %d, exported %d" % (len(want), len(got))


def case_fork_events(text):
    """The fork's story: faults with their kind, copies, the reuse, names."""
    rc, obj, out = export(text)
    if rc != 0:
        return False, out
    ev = obj["traceEvents"]
    faults = [e for e in ev if e["name"] == "fault"]
    copies = [e for e in ev if e["name"] == "cow_copy"]
    reuse = [e for e in ev if e["name"] == "cow_reuse"]
    kinds = {e["args"]["kind"] for e in faults}
    ok = (len(copies) >= 2 and len(reuse) == 1 and
          reuse[0]["args"]["address"] == "0x7ffff7ffc000" and
          "write protection user" in kinds and "read not-present user" in kinds and
          all(e["args"]["address"].startswith("0x") for e in faults + copies))
    threads = {e["args"]["name"] for e in ev if e["name"] == "thread_name"}
    ok = ok and threads == {"CPU 0", "CPU 1", "RCU"}
    return ok, "faults %d (%s), copies %d, reuse %d, threads %s" % (
        len(faults), sorted(kinds), len(copies), len(reuse), sorted(threads))


def case_slices(text):
    rc, obj, out = export(text)
    if rc != 0:
        return False, out
    names = [e["name"] for e in obj["traceEvents"] if e["ph"] in ("X", "b")]
    n_flush = sum(1 for w in records(text) if w[3] == "flush_req")
    ok = (names.count("shootdown") == n_flush and names.count("mmu_gather") == 1 and
          names.count("grace period 1") == 1 and names.count("table wait") == 7)
    return ok, "slices: %r" % sorted(set(names))


def case_broken_refused(text):
    cut = "\n".join(l for l in text.splitlines() if not l.startswith("TRACE-END"))
    rc, _, out = export(cut)
    rc2, _, out2 = export(text.replace("cow_copy", "cow_copies", 1))
    return rc != 0 and rc2 != 0 and "TRACE-END" in out, out + out2


CASES = [("self_test", case_self_test), ("event_fields", case_fields),
         ("every_record_once", case_every_record_once), ("fork_events", case_fork_events),
         ("slices", case_slices), ("broken_dump_refused", case_broken_refused)]


def main():
    with open(LOG) as f:
        text = f.read()
    print("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: trace_perfetto")
    print(f"    1..{len(CASES)}")
    failed = 0
    for i, (name, fn) in enumerate(CASES):
        try:
            ok, why = fn(text)
        except Exception as e:          # invalid JSON, a missing key: a failure
            ok, why = False, "%s: %s" % (type(e).__name__, e)
        if not ok:
            failed += 1
            for line in str(why).splitlines():
                print("    # " + line)
        print(f"    {'ok' if ok else 'not ok'} {i + 1} {name}")
    print(f"{'ok' if not failed else 'not ok'} 1 trace_perfetto")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
