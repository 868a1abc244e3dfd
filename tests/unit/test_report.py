"""The server report: what it draws, that it says what it must, and that it carries nothing else."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from sanitize.server_report import build, pdf_path_for, write_server_report
from sanitize.server_report.html import CSP, render
from sanitize.server_report.model import MIN_BLOCK_WIDTH, drawn_widths
from tests.support.clirunner import cli_runner
from tests.support.fake_host import FakeHost
from tests.support.server import HOSTILE, decommission

GiB = 1 << 30


def disks() -> dict:
    report = build(decommission(), dry_run=True)
    return {d.device.name: d for d in report.disks}


def test_partitions_are_placed_to_scale_with_the_free_space() -> None:
    nvme = disks()["nvme0n1"]
    labels = [(b.label, b.state) for b in nvme.blocks]
    assert labels == [
        ("nvme0n1p1 vfat", "clean"),
        ("nvme0n1p2 crypto_LUKS", "encrypted"),
        ("nvme0n1p3 LVM2_member", "container"),
        ("free", "free"),
    ]
    p2, p3, free = nvme.blocks[1:]
    assert p2.offset == pytest.approx((513 << 20) / (1 << 40)) and p2.width == pytest.approx(400 / 1024)
    assert p3.offset == pytest.approx(p2.offset + p2.width)
    assert free.size_bytes == (1 << 40) - (513 << 20) - 900 * GiB
    assert all(b.protected for b in nvme.blocks[:2]) and not p3.protected


def test_stacks_are_drawn_below_what_they_are_built_on() -> None:
    nvme, sdc, sdd = (disks()[n] for n in ("nvme0n1", "sdc", "sdd"))
    p2, p3 = nvme.blocks[1:3]
    (root,) = p2.children
    assert root.label == "dm-0 ext4" and root.state == "ai-data" and root.protected
    lvs = [(c.label, c.state, c.category, round(c.width, 3)) for c in p3.children]
    assert lvs == [
        ("dm-1 ext4 “models”", "ai-data", "adapter", 0.6),
        ("dm-2 xfs “rag”", "ai-data", "vector-store", 0.24),
    ]
    assert p3.children[1].offset == pytest.approx(0.6)
    for disk in (sdc, sdd):  # a RAID1 array is drawn on each of its members, full width
        (member,) = disk.blocks
        (array,) = member.children
        assert array.label == "md0 ext4 “backup”" and array.state == "clean" and array.width == pytest.approx(1.0)
    rows = {name: d.rows for name, d in disks().items()}
    assert rows == {"nvme0n1": 2, "sdb": 1, "sdc": 2, "sdd": 2, "loop7": 1}


def test_tiny_partitions_stay_visible_and_bars_follow_capacity() -> None:
    nvme = disks()["nvme0n1"]
    drawn = {block.label: width for _row, _left, width, block in nvme.layout()}
    assert drawn["nvme0n1p1 vfat"] == pytest.approx(MIN_BLOCK_WIDTH)
    assert sum(drawn_widths([b.width for b in nvme.blocks])) == pytest.approx(sum(b.width for b in nvme.blocks))
    scales = {n: d.scale for n, d in disks().items()}
    assert scales["sdb"] == 1.0 and scales["sdc"] == pytest.approx(0.5) and scales["nvme0n1"] == pytest.approx(0.4)


def test_colour_is_the_most_sensitive_kind_on_the_volume() -> None:
    sdb = disks()["sdb"]
    (cache,) = sdb.blocks
    # conversation beats vector-store and inference-cache, though it is the smallest
    assert cache.category == "conversation" and cache.colour == "#c62828"
    assert "not mounted" in cache.tag and "AI DATA: 3" in cache.tag


def test_plan_and_what_is_left_carry_standard_and_advice() -> None:
    d = disks()
    plan = d["sdb"].plan
    assert plan is not None and plan["confirm_as"] == "WD-WCC7K1234567"
    assert plan["standard_line"].startswith("NIST SP 800-88 Rev. 2 Clear; IEEE 2883-2022 overwrite")
    assert plan["artifacts"]["conversation"]["count"] == 1
    assert d["nvme0n1"].plan is None and d["nvme0n1"].not_sanitized is not None
    assert "live medium" in d["nvme0n1"].not_sanitized["advice"]


def test_html_is_self_contained_and_escapes_every_name(tmp_path: Path) -> None:
    report = build(decommission(), dry_run=True)
    page = render(report, str(tmp_path / "r.html"))
    assert f'content="{CSP}"' in page and "default-src 'none'" in CSP
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<link" not in page.lower()
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:|//)""", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page  # the style sheet fetches nothing either
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page  # the hostile name, shown as text
    assert "0123456789abcdef0123456789abcdef" not in page  # the machine-id only as a hash
    for name in ("nvme0n1p1", "dm-0", "dm-1", "dm-2", "sdb", "sdc1", "md0", "loop7"):
        assert f'data-path="/dev/{name}"' in page  # a block in a bar
    for name in ("nvme0n1", "sdb", "sdc", "sdd", "loop7"):
        assert f'data-device="/dev/{name}"' in page  # a disk
    assert "/rag/privileged-memos.sqlite" in page and "sanitize&#x27;s own files" in page


def test_pdf_has_the_same_content(tmp_path: Path) -> None:
    html_path, pdf_path = write_server_report(build(decommission(), dry_run=True), str(tmp_path / "r.html"))
    assert pdf_path == str(tmp_path / "r.pdf") == pdf_path_for(html_path)
    assert os.stat(html_path).st_mode & 0o777 == 0o600 and os.stat(pdf_path).st_mode & 0o777 == 0o600
    text = subprocess.run(["pdftotext", "-layout", pdf_path, "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    for needle in ("gpu-07.example.org", "S6Z1NJ0W123456", "/rag/privileged-memos.sqlite", "NOT SANITIZED"):
        assert needle in flat
    assert "NIST SP 800-88 Rev. 2 Clear" in flat and "md0 ext4" in flat
    info = subprocess.run(["pdfinfo", pdf_path], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Title:\s+Server report: gpu-07.example.org", info)


def test_report_command_writes_both_files_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sanitize.cli import cli
    from sanitize.cli import report as report_cli
    from sanitize.cli.app import App

    monkeypatch.setattr("sanitize.decommission.prepare", lambda *a, **k: decommission())
    app = App(host=FakeHost())  # the example server stands in for the machine: nothing real is probed
    out = tmp_path / "out" / "server.html"
    result = cli_runner().invoke(cli, ["report", "-o", str(out), "--json"], obj=app)
    assert result.exit_code == 3 and "cannot write the report" in result.stderr  # no such directory: bad input
    out.parent.mkdir()
    result = cli_runner().invoke(cli, ["report", "-o", str(out), "--json"], obj=app)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "sanitize.server-report/1" and doc["html"] == str(out) and os.path.isfile(doc["pdf"])
    assert doc["counts"]["volumes_with_ai_data"] == 5 and "machine_id" not in doc["host"]
    assert report_cli.default_report_path("gpu 07/x") == "sanitize-report-gpu_07_x.html"
    assert HOSTILE not in out.read_text()


def test_every_artifact_category_has_a_colour_and_a_rank() -> None:
    from sanitize.detect.base import Category
    from sanitize.server_report.model import CATEGORY_COLOURS, SENSITIVITY

    assert {str(c) for c in Category} == set(CATEGORY_COLOURS) == set(SENSITIVITY)
