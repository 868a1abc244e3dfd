"""After every erase, a carve of the device is part of the verification (issue 9)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest

from sanitize.erase import EraseOptions, Planning, build_plan
from sanitize.erase.result import Verification
from sanitize.erase.runner import check_nothing_recognisable
from sanitize.hw.linux import LinuxHost
from sanitize.inventory.probe import probe
from sanitize.methods import all_methods
from tests.support.lab import LoopLab

pytestmark = pytest.mark.root


def gguf_header() -> bytes:
    key, value = b"general.architecture", b"llama"
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 1)
    head += struct.pack("<Q", len(key)) + key + struct.pack("<I", 8) + struct.pack("<Q", len(value)) + value
    return head.ljust(4096, b"\0")


def test_real_erase_records_a_clean_carve(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("32M")
    with open(dev, "r+b") as fh:
        fh.write(gguf_header())
    argv = ["erase", dev, "--pattern", "zeros", "--json", "--confirm", os.path.basename(dev), "--carve-check", "full"]
    proc = subprocess.run(
        [sys.executable, "-m", "sanitize", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    carve = result["verification"]["details"]["carve"]
    assert result["status"] == "verified"
    assert carve["hits"] == 0 and carve["sample_fraction"] == 1.0
    assert result["verification"]["details"]["carve_hits"] == 0


def test_anything_recognisable_left_fails_verification(lab: LoopLab) -> None:
    """A method whose own read-back passed still fails when a carve finds an artifact."""
    dev = lab.loop("16M")
    with open(dev, "r+b") as fh:
        fh.seek(8 << 20)
        fh.write(gguf_header())
    host = LinuxHost()
    plan = build_plan(Planning(host, probe(host), all_methods()), dev, "overwrite", EraseOptions(carve_check="full"))
    verification = Verification(method="sample", coverage=0.1, outcome="passed")
    check_nothing_recognisable(plan, verification, LinuxHost())
    assert verification.outcome == "failed"
    assert verification.details["carve_hits"] >= 1
    assert verification.details["carve"]["first_offsets"][0] == 8 << 20


def test_carve_check_none_skips_it(lab: LoopLab) -> None:
    dev = lab.loop("16M")
    host = LinuxHost()
    plan = build_plan(Planning(host, probe(host), all_methods()), dev, "overwrite", EraseOptions(carve_check="none"))
    verification = Verification(method="sample", coverage=0.1, outcome="passed")
    check_nothing_recognisable(plan, verification, LinuxHost())
    assert verification.outcome == "passed" and "carve" not in verification.details
