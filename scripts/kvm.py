#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Whether QEMU can run Xen under KVM here, with real VMX or SVM for it.

KVM is really usable for a nested Xen only when all three hold:

1. the CPU lists `vmx` or `svm` in /proc/cpuinfo's flags;
2. /dev/kvm answers KVM_GET_API_VERSION with 12 and creates a VM;
3. KVM_GET_SUPPORTED_CPUID offers that extension to guests (CPUID.1:ECX
   bit 5 for VMX, CPUID.80000001h:ECX bit 2 for SVM): nested
   virtualisation is on (kvm_intel/kvm_amd's `nested` parameter).

Some machines (this project's build hosts among them) have a /dev/kvm that
creates VMs while the CPU lists neither flag: a VM there runs, but no
guest of it gets VMX or SVM, so Xen would find no HVM support.  The
runners ask `probe()` and fall back to emulation, saying why, unless all
three hold.

    scripts/kvm.py          prints the verdict and its reason
"""

import fcntl
import os
import struct
import sys

KVMIO = 0xAE
KVM_GET_API_VERSION = (KVMIO << 8) | 0x00
KVM_CREATE_VM = (KVMIO << 8) | 0x01
# _IOWR(KVMIO, 0x05, struct kvm_cpuid2): 8 bytes of header.
KVM_GET_SUPPORTED_CPUID = (3 << 30) | (8 << 16) | (KVMIO << 8) | 0x05
KVM_API_VERSION = 12
# struct kvm_cpuid_entry2: function, index, flags, eax, ebx, ecx, edx,
# padding[3], all u32.
ENTRY = struct.Struct("<10I")
MAX_ENTRIES = 256

VMX_LEAF, VMX_BIT = 0x1, 5
SVM_LEAF, SVM_BIT = 0x80000001, 2


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The first CPU's flags, as a set of names."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def parse_cpuid(buf):
    """{(function, index): (eax, ebx, ecx, edx)} of a struct kvm_cpuid2."""
    nent = struct.unpack_from("<I", buf, 0)[0]
    out = {}
    for i in range(min(nent, (len(buf) - 8) // ENTRY.size)):
        fn, idx, _flags, a, b, c, d, *_ = ENTRY.unpack_from(buf, 8 + i * ENTRY.size)
        out[(fn, idx)] = (a, b, c, d)
    return out


def decide(flags, api, vm_created, cpuid):
    """(usable, extension or None, reason) from what was found: the CPU's
    flags, the API version (None if /dev/kvm did not open), whether a VM
    was created, and the supported CPUID (None if it could not be read)."""
    ext = "vmx" if "vmx" in flags else "svm" if "svm" in flags else None
    if ext is None:
        return False, None, "the CPU lists neither vmx nor svm"
    if api is None:
        return False, ext, "/dev/kvm cannot be opened"
    if api != KVM_API_VERSION:
        return False, ext, f"/dev/kvm speaks API {api}, not {KVM_API_VERSION}"
    if not vm_created:
        return False, ext, "/dev/kvm does not create a VM"
    if cpuid is None:
        return False, ext, "KVM_GET_SUPPORTED_CPUID failed"
    leaf, bit = (VMX_LEAF, VMX_BIT) if ext == "vmx" else (SVM_LEAF, SVM_BIT)
    ecx = cpuid.get((leaf, 0), (0, 0, 0, 0))[2]
    if not ecx & (1 << bit):
        return False, ext, (f"KVM does not offer {ext} to its guests "
                            f"(nested virtualisation is off: kvm_{'intel' if ext == 'vmx' else 'amd'} nested=0)")
    return True, ext, f"KVM with nested {ext}"


def probe(dev="/dev/kvm", cpuinfo="/proc/cpuinfo"):
    """decide() on this machine."""
    flags = cpu_flags(cpuinfo)
    api, created, cpuid = None, False, None
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return decide(flags, None, False, None)
    try:
        api = fcntl.ioctl(fd, KVM_GET_API_VERSION)
        try:
            vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
            os.close(vm)
            created = True
        except OSError:
            pass
        buf = bytearray(8 + MAX_ENTRIES * ENTRY.size)
        struct.pack_into("<I", buf, 0, MAX_ENTRIES)
        try:
            fcntl.ioctl(fd, KVM_GET_SUPPORTED_CPUID, buf, True)
            cpuid = parse_cpuid(bytes(buf))
        except OSError:
            pass
    finally:
        os.close(fd)
    return decide(flags, api, created, cpuid)


def qemu_accel(want_kvm=True):
    """QEMU's accelerator arguments and a line saying which: KVM where
    probe() finds it usable (and the caller wants it), else TCG."""
    if want_kvm:
        ok, ext, why = probe()
        if ok:
            return ["-accel", "kvm"], ext, f"QEMU on KVM ({why})"
        return ["-accel", "tcg"], None, f"QEMU emulates (TCG): no usable KVM: {why}"
    return ["-accel", "tcg"], None, "QEMU emulates (TCG)"


if __name__ == "__main__":
    ok, ext, why = probe()
    print(f"{'usable' if ok else 'not usable'}: {why}")
    sys.exit(0 if ok else 1)
