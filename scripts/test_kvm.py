#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Tests of scripts/kvm.py: the decision on made-up machines, the parsing
of KVM's CPUID table, and the probe on this machine."""

import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvm  # noqa: E402

VMX_ON = {(1, 0): (0, 0, 1 << 5, 0)}
SVM_ON = {(0x80000001, 0): (0, 0, 1 << 2, 0)}


class Decide(unittest.TestCase):
    def test_a_kvm_device_without_the_cpu_flags_is_not_enough(self):
        # This kind of machine: /dev/kvm creates VMs, the CPU lists neither.
        ok, ext, why = kvm.decide({"sse2", "avx"}, 12, True, VMX_ON)
        self.assertFalse(ok)
        self.assertIsNone(ext)
        self.assertIn("neither vmx nor svm", why)

    def test_every_condition_is_needed(self):
        cases = [
            (({"vmx"}, None, False, None), "cannot be opened"),
            (({"vmx"}, 11, True, VMX_ON), "API 11"),
            (({"vmx"}, 12, False, VMX_ON), "does not create a VM"),
            (({"vmx"}, 12, True, None), "KVM_GET_SUPPORTED_CPUID failed"),
            (({"vmx"}, 12, True, {}), "nested=0"),
            (({"vmx"}, 12, True, SVM_ON), "kvm_intel nested=0"),
            (({"svm"}, 12, True, VMX_ON), "kvm_amd nested=0"),
        ]
        for args, want in cases:
            ok, _, why = kvm.decide(*args)
            self.assertFalse(ok, args)
            self.assertIn(want, why, args)

    def test_nested_vmx_or_svm_offered_is_usable(self):
        self.assertEqual(kvm.decide({"vmx"}, 12, True, VMX_ON)[:2], (True, "vmx"))
        self.assertEqual(kvm.decide({"svm"}, 12, True, SVM_ON)[:2], (True, "svm"))


class Parse(unittest.TestCase):
    def test_the_cpuid_table_of_kvm_cpuid2(self):
        entries = [(1, 0, 0, 1, 2, 0x20, 4), (0x80000001, 0, 0, 5, 6, 0x4, 8)]
        buf = struct.pack("<II", len(entries), 0)
        for e in entries:
            buf += kvm.ENTRY.pack(*e, 0, 0, 0)
        # Room for more than nent: only nent count.
        buf += bytes(kvm.ENTRY.size * 3)
        self.assertEqual(kvm.parse_cpuid(buf),
                         {(1, 0): (1, 2, 0x20, 4), (0x80000001, 0): (5, 6, 4, 8)})

    def test_cpu_flags_from_cpuinfo(self):
        with tempfile.NamedTemporaryFile("w", suffix="cpuinfo", delete=False) as f:
            f.write("processor\t: 0\nflags\t\t: fpu vme svm sse2\n\nprocessor\t: 1\nflags\t: fpu\n")
        try:
            self.assertEqual(kvm.cpu_flags(f.name), {"fpu", "vme", "svm", "sse2"})
            self.assertEqual(kvm.cpu_flags("/nonexistent"), set())
        finally:
            os.unlink(f.name)


class ThisMachine(unittest.TestCase):
    def test_the_probe_agrees_with_the_cpu_flags(self):
        ok, ext, why = kvm.probe()
        flags = kvm.cpu_flags()
        if not {"vmx", "svm"} & flags:
            self.assertFalse(ok, why)
            self.assertIn("neither vmx nor svm", why)
        if ok:
            self.assertIn(ext, flags)
        args, _, line = kvm.qemu_accel()
        self.assertEqual(args[:1], ["-accel"])
        self.assertEqual(args[1], "kvm" if ok else "tcg", line)

    def test_a_missing_device_is_not_usable(self):
        ok, _, why = kvm.probe(dev="/nonexistent/kvm", cpuinfo="/nonexistent")
        self.assertFalse(ok)
        self.assertIn("neither", why)


if __name__ == "__main__":
    unittest.main()
