#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/host/test_lab.py - tools/lab: the marker parser, the starter
writer, lab.conf, and every lab of labs/ against tools/run-tests.

The marker cases run on text made here (markers are assembled from pieces,
so that this file holds none itself); the starter case writes a starter of
a small fake tree (a git-less directory) and reads it back; the last cases
parse every labs/*/lab.conf and check that each names configurations,
suites and negative controls that exist, and that every marker in the tree
is well formed. Prints KTAP."""
import importlib.machinery
import importlib.util
import os
import re
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(name, path):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


lab = load("lab", os.path.join(TOP, "tools", "lab"))
OPEN, CLOSE = "/" + "*", "*" + "/"


def mk(name, kind, text=""):
    """A marker line: mk("x", "BEGIN", "hint") -> the BEGIN line of lab x."""
    return "%s LAB(%s) %s%s %s" % (OPEN, name, kind, (": " + text) if text else "", CLOSE)


SOURCE = [
    "int f(void)",
    "{",
    "\t" + mk("alpha", "BEGIN", "compute the answer"),
    "\t" + mk("alpha", "STUB", "return 0;"),
    "\tint x = 6 * 7;",
    "\treturn x;",
    "\t" + mk("alpha", "END"),
    "}",
    "int g(void)",
    "{",
    "\t" + mk("beta", "BEGIN", "another lab's code"),
    "\treturn 1;",
    "\t" + mk("beta", "END"),
    "}",
]


def expect_error(lines, text):
    """The parser must refuse LINES with a message holding TEXT."""
    try:
        lab.parse_markers("f.c", lines)
    except lab.LabError as e:
        if text in str(e):
            return True, ""
        return False, "wrong message: %s" % e
    return False, "accepted"


def case_regions():
    r = lab.parse_markers("f.c", SOURCE)
    ok = [(x.lab, x.hint, x.begin, x.end, x.stub, x.indent) for x in r] == [
        ("alpha", "compute the answer", 2, 6, "return 0;", "\t"),
        ("beta", "another lab's code", 10, 12, "", "\t")]
    return ok, "" if ok else repr(r)


def case_starter_lines():
    got = lab.starter_lines("f.c", SOURCE, "alpha")
    want = ["int f(void)", "{", "\t%s TODO(lab alpha): compute the answer %s" % (OPEN, CLOSE),
            "\treturn 0;", "}", "int g(void)", "{", "\treturn 1;", "}"]
    return got == want, "" if got == want else "\n".join(got)


def case_malformed_names_file_and_line():
    bad = SOURCE[:2] + ["\t" + OPEN + " LAB(alpha) BEGIN " + CLOSE] + SOURCE[3:]
    return expect_error(bad, "f.c:3: malformed lab marker")


def case_unclosed():
    return expect_error(SOURCE[:6], "f.c:3: LAB(alpha) BEGIN has no END")


def case_nested():
    bad = SOURCE[:4] + ["\t" + mk("beta", "BEGIN", "inner")] + SOURCE[4:]
    return expect_error(bad, "f.c:5: LAB(beta) BEGIN inside the region of LAB(alpha)")


def case_stray_end():
    return expect_error(["x", mk("alpha", "END")], "f.c:2: LAB(alpha) END outside any region")


def case_two_stubs():
    bad = SOURCE[:4] + ["\t" + mk("alpha", "STUB", "return 1;")] + SOURCE[4:]
    return expect_error(bad, "f.c:5: a second STUB")


def case_across_conditional():
    bad = ["#ifdef X", mk("alpha", "BEGIN", "h"), "#else", mk("alpha", "END"), "#endif"]
    ok1, why1 = expect_error(bad, "f.c:3: #else/#elif of a conditional begun outside")
    bad = [mk("alpha", "BEGIN", "h"), "#if 1", "x", mk("alpha", "END"), "#endif"]
    ok2, why2 = expect_error(bad, "f.c:4: LAB(alpha) region ends inside a preprocessor")
    inside = [mk("alpha", "BEGIN", "h"), "#if 1", "x", "#endif", mk("alpha", "END")]
    ok3 = len(lab.parse_markers("f.c", inside)) == 1
    return ok1 and ok2 and ok3, why1 or why2 or ("" if ok3 else "a whole #if inside refused")


def case_conf():
    text = ("title = T\nread = docs/a.md docs/b.md  # first\nanswers = answers.md\n"
            "case bios-4cpu cow.fork_while_writing 10\ncase user-4cpu user:cow_test.3 5\n"
            "control neg-cow-flush\n")
    c = lab.parse_conf("lab.conf", "x", text)
    ok = (c.title == "T" and c.read == ["docs/a.md", "docs/b.md"] and c.max_score == 15
          and c.controls == ["neg-cow-flush"] and c.cases[1].selector == "user:cow_test.3")
    try:
        lab.parse_conf("lab.conf", "x", "title = T\ncase a b\n")
        ok = False
    except lab.LabError as e:
        ok = ok and str(e).startswith("lab.conf:2:")
    return ok, ""


def case_conf_safety_and_text():
    """A selector may name a user case by its text (spaces and all: the
    configuration is the first word, the points the last); "safety" marks a
    case the starter passes too."""
    text = ("title = T\nanswers = answers.md\ncase c s.one 10\n"
            "safety user-4cpu user:p.a case: by its text  5\n")
    c = lab.parse_conf("lab.conf", "x", text)
    got = [(g.config, g.selector, g.points, g.safety) for g in c.cases]
    ok = got == [("c", "s.one", 10, False), ("user-4cpu", "user:p.a case: by its text", 5, True)]
    try:
        lab.parse_conf("lab.conf", "x", "safety c s.one many\n")
        ok = False
    except lab.LabError as e:
        ok = ok and "expected 'safety CONFIG SELECTOR POINTS'" in str(e)
    return ok, repr(got)


def case_control_names_user_case_by_text():
    """A control whose must_fail names a user program's case by its text is
    accepted when the lab grades that case by the same text, refused when
    the lab grades only another case of the program."""
    rt = lab.load_run_tests(TOP)
    neg = rt.Config("neg-x", "pc", "bios", "max", 4, "512M", "cdrom", words="x_debug",
                    run="p", suites="none", must_fail="user:p.the writes stay out")
    configs = {"user-4cpu": rt.Config("user-4cpu", "pc", "bios", "max", 4, "512M", "cdrom"),
               "neg-x": neg}
    name = lab.lab_names(TOP)[0]        # a lab that exists: its README is checked
    errors = []
    for case, want in (("user:p.the writes stay out", 0), ("user:p.3", 1)):
        conf = lab.parse_conf("lab.conf", name, "title = T\nanswers = a.md\n"
                              "case user-4cpu %s 5\ncontrol neg-x\n" % case)
        got = lab_conf_errors(name, conf, configs, set(), {"p"})
        if len(got) != want:
            errors.append("%s: %r" % (case, got))
    return not errors, "\n".join(errors)


def case_safety_scores_only_with_the_rest():
    """A safety case's points are held back while a plain case of the lab
    misses any: a correct-but-naive starter passes it without the lab."""
    conf = lab.parse_conf("lab.conf", "x", "case c s.prop 10\nsafety c s.safe 5\n")

    def run(prop):
        results = [{"name": "c s.prop", "score": prop, "max_score": 10, "output": ""},
                   {"name": "c s.safe", "score": 5, "max_score": 5, "output": "passed"}]
        lab.apply_safety(conf, results, lambda line: None)
        return [r["score"] for r in results]
    got = (run(0), run(10))
    return got == ([0, 0], [10, 5]), repr(got)


def case_verify_starter_failures():
    """verify-starter's judgement of one boot: failures the lab's graded
    cases or its controls' must_fail name are expected (by name, number or
    text; a program's exit-status case with its failing case), the rest and
    a broken boot are named; an unknown configuration is refused."""
    rt = lab.load_run_tests(TOP)
    C = rt.Case
    cases = [C("madvise", "graded", "fail", 0), C("madvise", "other", "fail", 1),
             C("uffd", "a", "pass", 2), C("uffd", "b", "fail", 3),
             C("user:p", "the writes stay out", "fail", 4), C("user:p", lab.USER_EXIT, "fail", 5),
             C("user:q", "fine", "pass", 6), C("user:q", lab.USER_EXIT, "fail", 7)]
    problems = [rt.Problem("suite", "suite madvise reported not ok", 1),
                rt.Problem("exit-status", "QEMU exited with status 3", -1),
                rt.Problem("hang", "no exit within 300 s", -1)]
    o = rt.Outcome([], cases, problems)
    got = lab.unexpected_failures(o, ["madvise.graded", "uffd.2", "user:p.the writes stay out"])
    want = ["madvise.other", "user:q." + lab.USER_EXIT, "hang: no exit within 300 s"]
    ok = got == want
    try:
        lab.verify_starter(lab.lab_names(TOP)[0], ["no-such-config"])
        ok = False
    except lab.LabError as e:
        ok = ok and "no-such-config" in str(e)
    return ok, "got %r" % got


def case_write_starter():
    """A fake tree with two labs: the starter of one has its TODO, the other
    lab's code without markers, no answers, no hidden tests, no other lab,
    and a checksum list of its tests."""
    with tempfile.TemporaryDirectory() as d:
        src, dest = os.path.join(d, "src"), os.path.join(d, "dest")
        files = {"f.c": "\n".join(SOURCE) + "\n", "tests/t.c": "test\n",
                 "tests/labs-hidden/alpha/lab.conf": "case a alpha.x 1\n",
                 "labs/alpha/lab.conf": "case a s.c 1\n", "labs/alpha/answers.md": "secret\n",
                 "labs/alpha/README.md": "r\n", "labs/beta/lab.conf": "case a s.c 1\n",
                 "labs/README.md": "instructors\n"}
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            with open(os.path.join(src, rel), "w") as f:
                f.write(text)
        n = lab.write_starter("alpha", dest, src)
        got = sorted(os.path.relpath(os.path.join(p, f), dest)
                     for p, _, fs in os.walk(dest) for f in fs)
        want = ["f.c", "labs/alpha/README.md", "labs/alpha/lab.conf",
                "labs/alpha/" + lab.PRISTINE_LIST, "tests/t.c"]
        text = open(os.path.join(dest, "f.c")).read()
        ok = (n == 1 and got == want and "TODO(lab alpha)" in text and "LAB(" not in text
              and "6 * 7" not in text and "return 1;" in text
              and "tests/t.c" in open(os.path.join(dest, "labs/alpha", lab.PRISTINE_LIST)).read())
        if not ok:
            return ok, "regions %d, files %r\n%s" % (n, got, text)
        return restores_pristine(src, dest)


def restores_pristine(src, dest):
    """A test file the student changed is named without PRISTINE, and
    copied back from it with; the lab's own marked files are not checked."""
    with open(os.path.join(dest, "tests/t.c"), "w") as f:
        f.write("changed\n")
    said = lab.restore_pristine("alpha", dest, None)
    ok = len(said) == 1 and "tests/t.c differs" in said[0]
    said = lab.restore_pristine("alpha", dest, src)
    ok = ok and len(said) == 1 and said[0].startswith("restored tests/t.c")
    ok = ok and open(os.path.join(dest, "tests/t.c")).read() == "test\n"
    return ok and lab.restore_pristine("alpha", dest, src) == [], "pristine: %r" % said


def case_labs_reference_what_exists():
    """Every labs/*/lab.conf parses; its configurations exist in
    tools/run-tests, its in-kernel suites are registered (KTEST_SUITE in
    tests/kernel), its user programs are built (a tests/user source), and
    each control is a negative control whose must_fail target is graded."""
    rt = lab.load_run_tests(TOP)
    configs = lab.all_configs(rt)
    suites = set()
    for p, _, fs in os.walk(os.path.join(TOP, "tests", "kernel")):
        for f in fs:
            if f.endswith(".c"):
                suites |= set(re.findall(r"KTEST_SUITE\((\w+)", open(os.path.join(p, f)).read()))
    programs = {os.path.splitext(n)[0] for n in os.listdir(os.path.join(TOP, "tests", "user"))}
    errors = []
    for name in lab.lab_names(TOP):
        try:
            conf = lab.load_lab(name, TOP)
        except lab.LabError as e:
            errors.append(str(e))
            continue
        errors += lab_conf_errors(name, conf, configs, suites, programs)
    return not errors, "\n".join(errors)


def lab_conf_errors(name, conf, configs, suites, programs):
    errors = []
    if not conf.title or not conf.answers:
        errors.append("labs/%s: title and answers are required" % name)
    for r in conf.read:
        if not os.path.exists(os.path.join(TOP, r)):
            errors.append("labs/%s: read names %s, which does not exist" % (name, r))
    if not os.path.isfile(os.path.join(TOP, "labs", name, "README.md")):
        errors.append("labs/%s/README.md is missing" % name)
    graded = {c.selector for c in conf.cases}
    for c in conf.cases:
        suite, _, user = lab.split_selector(c.selector)
        if c.config not in configs:
            errors.append("%s: no configuration %s" % (c.where, c.config))
        host = suite.startswith("host:")
        if host != (c.config == lab.HOST):
            errors.append("%s: host:SUITE goes with the configuration host, and only it" % c.where)
        if host and not os.path.isfile(os.path.join(TOP, "tests", "host", "test_%s.c" % suite[5:])):
            errors.append("%s: no host test tests/host/test_%s.c" % (c.where, suite[5:]))
        if not user and not host and suite not in suites:
            errors.append("%s: no in-kernel suite %s" % (c.where, suite))
        if user and suite[5:] not in programs:
            errors.append("%s: no user program %s" % (c.where, suite[5:]))
    for ctl in conf.controls:
        cfg = configs.get(ctl)
        if cfg is None or not cfg.must_fail:
            errors.append("labs/%s: control %s is not a negative control" % (name, ctl))
        elif cfg.must_fail not in graded and not any(
                c.config == ctl for c in conf.cases):
            errors.append("labs/%s: control %s proves %s, which is not graded"
                          % (name, ctl, cfg.must_fail))
    return errors


def case_find_case():
    """Selectors reach the results of a boot: SUITE.CASE by name or
    number, user:PROGRAM.N, a bare suite only when all of it passed."""
    rt = lab.load_run_tests(TOP)
    cases = [rt.Case("cow", "a", "pass", 0), rt.Case("cow", "b", "fail", 1),
             rt.Case("user:p", "first one", "pass", 2), rt.Case("user:p", "exit", "pass", 3)]
    o = rt.Outcome([], cases, [])
    got = [lab.find_case(o, *lab.split_selector(s)[:2])
           for s in ("cow.a", "cow.2", "cow", "user:p.1", "user:p.first one", "user:p", "cow.9")]
    ok = ([c.name if c else None for c in got] == ["a", "b", "b", "first one", "first one",
                                                   "exit", None]
          and [c.status for c in got[:6]] == ["pass", "fail", "fail", "pass", "pass", "pass"])
    return ok, "" if ok else repr(got)


def case_hidden_tests():
    """An instructor's tests/labs-hidden/NAME adds its cases to the lab and
    its tree/ over the tree graded; a hidden file may not replace one."""
    with tempfile.TemporaryDirectory() as d:
        files = {"labs/alpha/lab.conf": "title = A\nanswers = answers.md\ncase c s.one 1\n",
                 "tests/labs-hidden/alpha/lab.conf": "case c s.hidden 2\n",
                 "tests/labs-hidden/alpha/tree/tests/kernel/mm/test_h.c": "hidden\n"}
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        conf = lab.load_lab("alpha", d)
        added = lab.add_hidden(conf, d)
        ok = ([c.selector for c in conf.cases] == ["s.one", "s.hidden"] and conf.max_score == 3
              and added == [os.path.join(d, "tests/kernel/mm/test_h.c")]
              and open(added[0]).read() == "hidden\n")
        try:
            lab.add_hidden(conf, d)     # the file is there now: refused
            ok = False
        except lab.LabError:
            pass
        return ok, "" if ok else "cases %r, added %r" % (conf.cases, added)


def case_markers_in_tree():
    try:
        counts = lab.check_markers(TOP)
    except lab.LabError as e:
        return False, str(e)
    # A starter tree (it has the checksum list) has its own lab's regions
    # replaced by TODOs: none is left there, as it should be.
    missing = [n for n in lab.lab_names(TOP) if n not in counts and not os.path.isfile(
        os.path.join(TOP, "labs", n, lab.PRISTINE_LIST))]
    return not missing, "labs without a marked region: %s" % ", ".join(missing)


CASES = [(n[len("case_"):], f) for n, f in sorted(globals().items())
         if n.startswith("case_") and callable(f)]


def main():
    print("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: lab")
    print("    1..%d" % len(CASES))
    failed = 0
    for i, (name, fn) in enumerate(CASES):
        try:
            ok, why = fn()
        except Exception as e:          # a crash of the tool is a failure, shown
            ok, why = False, "%s: %s" % (type(e).__name__, e)
        if not ok:
            failed += 1
            for line in why.splitlines():
                print("    # " + line)
        print("    %s %d %s" % ("ok" if ok else "not ok", i + 1, name))
    print("%s 1 lab" % ("ok" if not failed else "not ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
