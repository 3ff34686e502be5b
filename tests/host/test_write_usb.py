#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/host/test_write_usb.py - tools/write-usb refuses every device that
is not a removable, unused whole disk, writes and checks the one that is.

Each case builds a fake machine in a temporary directory (sysfs entries for
the disks, /proc/self/mountinfo, /proc/swaps, and the "devices" as regular
files) and runs the tool on it with PAGODA_WRITE_USB_SYSROOT pointing there.
A refusal must leave the device's bytes untouched; the accepted stick must
end up holding the image. The read-back check is driven directly: a device
that does not hold the image must be reported. Prints KTAP."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(TOP, "tools", "write-usb")
IMAGE_BYTES = 3 * 1024 * 1024 + 123      # not a multiple of the tool's chunk
DISK_SECTORS = 16384                     # 8 MiB


def put(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def fake_disk(root, name, major_minor, removable="1", usb=False, parts=(),
              sectors=DISK_SECTORS):
    """A disk in sysfs (optionally reached through a USB controller's path,
    as real sysfs links do) and its device file, filled with 0xAA."""
    real = os.path.join(root, "sys", "devices", "pci0000:00",
                        "usb1/1-1" if usb else "ata1", "block", name)
    put(os.path.join(real, "removable"), removable + "\n")
    put(os.path.join(real, "size"), f"{sectors}\n")
    put(os.path.join(real, "dev"), major_minor + "\n")
    put(os.path.join(real, "device", "vendor"), "Fake\n")
    put(os.path.join(real, "device", "model"), "Stick\n")
    os.makedirs(os.path.join(real, "holders"), exist_ok=True)
    major, minor = major_minor.split(":")
    for i, p in enumerate(parts):
        put(os.path.join(real, p, "partition"), f"{i + 1}\n")
        put(os.path.join(real, p, "size"), "2048\n")
        put(os.path.join(real, p, "dev"), f"{major}:{int(minor) + i + 1}\n")
        os.makedirs(os.path.join(real, p, "holders"), exist_ok=True)
        link = os.path.join(root, "sys", "class", "block", p)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join(real, p), link)
        put(os.path.join(root, "dev", p), "")
    os.makedirs(os.path.join(root, "sys", "block"), exist_ok=True)
    os.symlink(real, os.path.join(root, "sys", "block", name))
    put(os.path.join(root, "dev", name), "")
    with open(os.path.join(root, "dev", name), "wb") as f:
        f.write(b"\xaa" * sectors * 512)
    return real


def fake_machine(root):
    put(os.path.join(root, "proc", "self", "mountinfo"),
        "22 1 8:2 / / rw,relatime - ext4 /dev/sda2 rw\n")
    put(os.path.join(root, "proc", "swaps"),
        "Filename\tType\tSize\tUsed\tPriority\n")
    fake_disk(root, "sda", "8:0", removable="0", parts=("sda1", "sda2"))
    fake_disk(root, "sdb", "8:16", parts=("sdb1",))
    image = os.path.join(root, "pagoda.iso")
    with open(image, "wb") as f:
        f.write(bytes((i * 7 + 3) & 0xFF for i in range(IMAGE_BYTES)))
    return image


def run(root, image, device, answer):
    env = dict(os.environ, PAGODA_WRITE_USB_SYSROOT=root)
    return subprocess.run([sys.executable, TOOL, "--image", image, device],
                          input=answer, capture_output=True, text=True, env=env)


def untouched(root, name):
    with open(os.path.join(root, "dev", name), "rb") as f:
        data = f.read()
        return data == b"\xaa" * len(data)


def holds_image(root, name, image):
    with open(image, "rb") as a, open(os.path.join(root, "dev", name), "rb") as b:
        want = a.read()
        return b.read(len(want)) == want


def refused(setup, device, answer, why):
    """Run on a fresh machine changed by setup(root); the tool must exit 1,
    say WHY in its message and leave the device as it was."""
    with tempfile.TemporaryDirectory() as root:
        image = fake_machine(root)
        setup(root)
        r = run(root, image, device, answer)
        name = os.path.basename(device)
        intact = not os.path.exists(os.path.join(root, "dev", name)) or untouched(root, name)
        ok = r.returncode == 1 and why in r.stderr and intact
        return ok, r.stderr.strip()


def nothing(root):
    pass


def mount_partition(root):
    with open(os.path.join(root, "proc", "self", "mountinfo"), "a") as f:
        f.write("40 22 8:17 / /media/stick rw - vfat /dev/disk/by-uuid/1234 rw\n")


def swap_partition(root):
    with open(os.path.join(root, "proc", "swaps"), "a") as f:
        f.write("/dev/sdb1\tpartition\t1024\t0\t-2\n")


def hold_partition(root):
    put(os.path.join(root, "sys", "block", "sdb", "sdb1", "holders", "dm-0"), "")


def small_disk(root):
    fake_disk(root, "sdc", "8:32", sectors=64)


def usb_disk(root):
    fake_disk(root, "sdd", "8:48", removable="0", usb=True)


CASES = [
    ("refuses_internal_disk", lambda: refused(nothing, "/dev/sda", "sda\n", "neither removable")),
    ("refuses_partition", lambda: refused(nothing, "/dev/sdb1", "sdb1\n", "is a partition")),
    ("refuses_mounted_partition",
     lambda: refused(mount_partition, "/dev/sdb", "sdb\n", "sdb1 on /media/stick")),
    ("refuses_swap", lambda: refused(swap_partition, "/dev/sdb", "sdb\n", "sdb1 is swap")),
    ("refuses_held_disk", lambda: refused(hold_partition, "/dev/sdb", "sdb\n", "used by dm-0")),
    ("refuses_small_disk", lambda: refused(small_disk, "/dev/sdc", "sdc\n", "the image needs")),
    ("refuses_missing_device", lambda: refused(nothing, "/dev/sdz", "sdz\n", "no such device")),
    ("refuses_wrong_answer", lambda: refused(nothing, "/dev/sdb", "sda\n", "not confirmed")),
    ("refuses_no_answer", lambda: refused(nothing, "/dev/sdb", "", "no answer")),
]


def writes(device, name):
    with tempfile.TemporaryDirectory() as root:
        image = fake_machine(root)
        usb_disk(root)
        r = run(root, image, device, name + "\n")
        ok = r.returncode == 0 and holds_image(root, name, image) and "read back" in r.stdout
        return ok, (r.stdout + r.stderr).strip()


def verify_catches_difference():
    loader = importlib.machinery.SourceFileLoader("write_usb", TOOL)
    spec = importlib.util.spec_from_loader("write_usb", loader)
    tool = importlib.util.module_from_spec(spec)
    loader.exec_module(tool)
    with tempfile.TemporaryDirectory() as root:
        image = fake_machine(root)
        dev = os.path.join(root, "dev", "sdb")
        with open(image, "rb") as a, open(dev, "r+b") as b:
            b.write(a.read())
        same = tool.verify(image, dev)
        with open(dev, "r+b") as b:         # one byte near the end differs
            b.seek(IMAGE_BYTES - 2)
            b.write(b"\x00")
        return same and not tool.verify(image, dev), "verify() result wrong"


CASES += [
    ("writes_removable_stick", lambda: writes("/dev/sdb", "sdb")),
    ("writes_usb_disk_not_removable", lambda: writes("/dev/sdd", "sdd")),
    ("verify_catches_a_difference", verify_catches_difference),
]


def main():
    print("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: write_usb")
    print(f"    1..{len(CASES)}")
    failed = 0
    for i, (name, fn) in enumerate(CASES):
        ok, detail = fn()
        if not ok:
            failed += 1
            for line in detail.split("\n"):
                print("    # " + line)
        print(f"    {'ok' if ok else 'not ok'} {i + 1} {name}")
    print(f"{'ok' if not failed else 'not ok'} 1 write_usb")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
