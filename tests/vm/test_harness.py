"""The lab harness's own logic, without booting anything."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sanitize.image.cpio import NewcWriter
from tests.vm import harness
from tests.vm.test_vm_lab import PENDING, _case_id, guest_test_ids, parse_junit


def test_cpio_archive_unpacks_with_gnu_cpio(tmp_path: Path) -> None:
    if shutil.which("cpio") is None:
        pytest.fail("cpio is not installed (apt-get install cpio)")
    buffer = io.BytesIO()
    archive = NewcWriter(buffer)
    archive.directory("bin")
    archive.file("bin/tool", b"#!/bin/sh\necho hi\n", 0o755)
    archive.file("odd-length.txt", b"abc")
    archive.symlink("bin/link", "tool")
    archive.finish()
    (tmp_path / "a.cpio").write_bytes(buffer.getvalue())
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["cpio", "-id", "--quiet", "-F", str(tmp_path / "a.cpio")], cwd=out, check=True)
    assert (out / "bin/tool").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert (out / "bin/tool").stat().st_mode & 0o777 == 0o755
    assert (out / "odd-length.txt").read_bytes() == b"abc"
    assert os.readlink(out / "bin/link") == "tool"


def test_disk_arguments_cover_every_disk(tmp_path: Path) -> None:
    args = harness.qemu_disk_args(harness.DEFAULT_TOPOLOGY, tmp_path)
    devices = [args[i + 1] for i, a in enumerate(args) if a == "-device"]
    assert devices.count("virtio-scsi-pci,id=vscsi") == 1
    assert "nvme,id=nvme0,serial=SANTESTNVME0" in devices
    namespaces = [d for d in devices if d.startswith("nvme-ns,") and "bus=nvme0" in d]
    assert [("nsid=1" in d, "nsid=2" in d) for d in namespaces] == [(True, False), (False, True)]
    sata = [d for d in devices if d.startswith("ide-hd,")]
    assert ["bus=ide.0" in sata[0], "bus=ide.1" in sata[1]] == [True, True]
    assert all("serial=SANTEST" in d for d in devices if d.startswith(("ide-hd", "scsi-hd")))
    images = sorted(tmp_path.glob("*.img"))
    expected = sum(len(c.namespaces) for c in harness.DEFAULT_TOPOLOGY.nvme) + len(harness.DEFAULT_TOPOLOGY.disks)
    assert len(images) == expected
    assert all(img.stat().st_blocks == 0 for img in images), "images must be sparse"


def test_commas_in_a_model_are_rejected(tmp_path: Path) -> None:
    bad = harness.Topology(nvme=(), disks=(harness.PlainDisk("x", "sata", 1, "S1", "A,B", "5000c50000000001"),))
    with pytest.raises(harness.LabError, match="commas"):
        harness.qemu_disk_args(bad, tmp_path)


@pytest.mark.parametrize(
    ("paths", "shares"),
    [
        (["/work/repo", "/root/.pyenv/bin"], []),
        (["/tmp/ci-123/repo", "/tmp/ci-123/repo/.venv/bin"], ["/tmp/ci-123"]),
        (["/tmp/a/x", "/tmp/b/y"], ["/tmp/a", "/tmp/b"]),
    ],
)
def test_directories_under_tmp_become_shares(paths: list[str], shares: list[str]) -> None:
    assert harness._hidden_by_guest_tmp([Path(p) for p in paths]) == shares


def test_guest_script_quotes_the_command(tmp_path: Path) -> None:
    script = harness._guest_main_script(["echo", "a b", "$HOME"], tmp_path, Path("/repo"), {"K": "v w"})
    assert "echo 'a b' '$HOME'" in script
    assert "export K='v w'" in script
    assert f"> {tmp_path}/guest-rc" in script


def test_junit_case_ids(tmp_path: Path) -> None:
    assert _case_id("tests.vm.guest.test_x_vm", "test_a[p1]") == "test_x_vm.py::test_a[p1]"
    assert _case_id("tests.vm.guest.pending.test_y_vm.TestZ", "test_b") == "pending/test_y_vm.py::TestZ::test_b"
    (tmp_path / "j.xml").write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.vm.guest.test_x_vm" name="test_ok"/>'
        '<testcase classname="tests.vm.guest.test_x_vm" name="test_bad"><failure message="boom">tb</failure></testcase>'
        '<testcase classname="tests.vm.guest.test_x_vm" name="test_skip"><skipped message="why"/></testcase>'
        "</testsuite></testsuites>"
    )
    cases = {c.test_id: c for c in parse_junit(tmp_path / "j.xml")}
    assert cases["test_x_vm.py::test_ok"].outcome == "passed"
    assert cases["test_x_vm.py::test_bad"].outcome == "failed"
    assert "boom" in cases["test_x_vm.py::test_bad"].message
    assert cases["test_x_vm.py::test_skip"].outcome == "skipped"


def test_host_lists_guest_tests_and_pending_ones_only_on_request() -> None:
    ids = guest_test_ids()
    assert "test_purge_vm.py::test_nvme_format_user_erases_one_namespace_and_verifies" in ids
    assert "test_inventory_vm.py::test_raid_lvm_tree" in ids
    assert any(i.startswith("pending/") for i in ids) == PENDING
