"""End to end on the loop-device lab: `sanitize lab` and `sanitize decommission` as root.

Every run is confined with --only to the lab's own loop devices (other tests attach loop
devices on this machine at the same time) and uses a state dir of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from sanitize import lab as labmod
from sanitize.hw.linux import LinuxHost
from tests.support.lab import LoopLab, device_sha256, sh

pytestmark = pytest.mark.root


@contextlib.contextmanager
def mounted_for_inspection(lab: labmod.LabState, role: str) -> Iterator[str]:
    """Mount an unmounted lab volume read-write for a moment, to plant a file on it."""
    vol = lab.volume(role)
    assert vol.loop and vol.mountpoint
    sh("mount", "-t", "ext4", vol.loop, vol.mountpoint)
    try:
        yield vol.mountpoint
    finally:
        sh("umount", vol.mountpoint)


def sanitize(*args: str, state: str, check_rc: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SANITIZE_STATE_DIR=state, LC_ALL="C")
    proc = subprocess.run(
        [sys.executable, "-m", "sanitize", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, (proc.returncode, proc.stderr[-3000:])
    return proc


def lab_loop_lines(directory: str) -> list[str]:
    out = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=True).stdout
    return sorted(line for line in out.splitlines() if directory in line)


def lab_mount_lines(directory: str) -> list[str]:
    with open("/proc/mounts", encoding="utf-8") as fh:
        return sorted(line for line in fh if directory in line)


def raw_contains(dev: str, needle: bytes) -> bool:
    overlap = len(needle) - 1
    tail = b""
    with open(dev, "rb") as fh:
        while chunk := fh.read(4 << 20):
            if needle in tail + chunk:
                return True
            tail = chunk[-overlap:]
    return False


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labmod.LabState]:
    directory = str(tmp_path_factory.mktemp("declab") / "lab")
    state = labmod.up(LinuxHost(), directory)
    try:
        yield state
    finally:
        labmod.down(LinuxHost(), directory, remove_state=True)
        assert lab_loop_lines(directory) == []
        assert lab_mount_lines(directory) == []


def only_args(lab: labmod.LabState) -> list[str]:
    return [arg for dev in lab.devices() for arg in ("--only", dev)]


def confirm_value(lab: labmod.LabState) -> str:
    return ",".join(v.identity for v in lab.erasable() if v.identity)


def test_lab_up_down_leaves_no_loop_device_or_mount(tmp_path: os.PathLike[str]) -> None:
    directory = os.path.join(str(tmp_path), "lab")
    before_loops = lab_loop_lines(directory)
    before_mounts = lab_mount_lines(directory)
    lab = labmod.up(LinuxHost(), directory)
    try:
        assert len(lab_loop_lines(directory)) == 4
        assert len(lab_mount_lines(directory)) == 1  # only the system volume stays mounted
        assert os.stat(directory).st_mode & 0o777 == 0o700
        assert lab.volume("system").mounted and not lab.volume("cache").mounted
    finally:
        labmod.down(LinuxHost(), directory)
    assert lab_loop_lines(directory) == before_loops == []
    assert lab_mount_lines(directory) == before_mounts == []
    assert not os.path.exists(directory)


def test_lab_down_after_a_crash_finds_unrecorded_loops_and_mounts(tmp_path: os.PathLike[str]) -> None:
    directory = os.path.join(str(tmp_path), "lab")
    lab = labmod.up(LinuxHost(), directory)
    try:
        # A crash right after losetup, before the lab file was written, and a volume left mounted.
        cache = lab.volume("cache")
        assert cache.loop and cache.mountpoint
        subprocess.run(["mount", cache.loop, cache.mountpoint], check=True)
        os.unlink(os.path.join(directory, labmod.LAB_FILE))
    finally:
        labmod.down(LinuxHost(), directory)
    assert lab_loop_lines(directory) == []
    assert lab_mount_lines(directory) == []


def test_lab_refuses_a_second_up_in_the_same_dir(lab: labmod.LabState) -> None:
    proc = sanitize("lab", "up", "--dir", lab.directory, state=lab.state_dir)
    assert proc.returncode == 4
    assert "already" in proc.stderr


def test_dry_run_reports_the_cache_volume_and_writes_nothing(lab: labmod.LabState, tmp_path: os.PathLike[str]) -> None:
    planted = f"planted-{uuid.uuid4().hex}"
    with (
        mounted_for_inspection(lab, "cache") as root,
        open(os.path.join(root, "models", "planted.gguf"), "wb") as fh,
    ):
        fh.write(labmod.tiny_gguf(name=planted))
    hashes = {dev: device_sha256(dev) for dev in lab.devices()}
    state = os.path.join(str(tmp_path), "never-created")

    report = os.path.join(str(tmp_path), "before.html")
    proc = sanitize("decommission", "--dry-run", "--json", "--report", report, *only_args(lab), state=state, check_rc=0)

    roles = {v.loop: v.role for v in lab.volumes}
    after = {dev: device_sha256(dev) for dev in lab.devices()}
    assert {roles[d]: h for d, h in after.items()} == {roles[d]: h for d, h in hashes.items()}
    assert not os.path.exists(state)
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "sanitize.decommission/1" and doc["dry_run"] is True
    cache = lab.volume("cache").loop
    (volume,) = [v for v in doc["volumes"] if v["device"] == cache]
    assert "not mounted" in volume["risk"]
    assert volume["summary"]["vector-store"]["count"] == 1
    assert "models/planted.gguf" in {a["path"] for a in volume["artifacts"]}
    assert planted not in proc.stdout  # names of files, never their content
    assert sorted(p["device"]["path"] for p in doc["plans"]) == sorted(str(v.loop) for v in lab.erasable())
    (blocked,) = doc["not_sanitized"]
    assert blocked["path"] == lab.volume("system").loop and "mounted" in blocked["why"]
    assert "AI DATA FOUND" in proc.stderr and "To sanitize, confirm with" in proc.stderr
    with open(report, encoding="utf-8") as fh:
        page = fh.read()
    assert os.path.isfile(os.path.join(str(tmp_path), "before.pdf"))
    assert f'data-device="{cache}"' in page and "planted.gguf" in page and planted not in page


def test_wrong_or_partial_confirmation_is_refused_and_writes_nothing(lab: labmod.LabState) -> None:
    sanitize("keys", "init", "--org", "test", state=lab.state_dir, check_rc=0)
    hashes = {dev: device_sha256(dev) for dev in lab.devices()}
    partial = confirm_value(lab).split(",")[0]
    for value in (partial, confirm_value(lab) + ",sdz", ""):
        args = ["--confirm", value] if value else []
        proc = sanitize("decommission", *only_args(lab), *args, state=lab.state_dir)
        assert proc.returncode == 4, proc.stderr
    assert {dev: device_sha256(dev) for dev in lab.devices()} == hashes


def test_real_run_sanitizes_all_but_the_protected_device_and_certifies(lab: labmod.LabState) -> None:
    planted = f"planted-{uuid.uuid4().hex}".encode()
    with (
        mounted_for_inspection(lab, "cache") as root,
        open(os.path.join(root, "models", "planted.gguf"), "wb") as fh,
    ):
        fh.write(labmod.tiny_gguf(name=planted.decode()))
    cache = lab.volume("cache").loop
    system = lab.volume("system").loop
    vault = lab.volume("vault")
    assert cache and system and vault.loop
    assert raw_contains(cache, planted) and raw_contains(cache, labmod.MEMO_MARKER.encode())
    system_hash = device_sha256(system)
    sanitize("keys", "init", "--org", "test", state=lab.state_dir, check_rc=0)

    proc = sanitize(
        "decommission", "--json", *only_args(lab), "--confirm", confirm_value(lab), state=lab.state_dir, check_rc=0
    )

    doc = json.loads(proc.stdout)
    assert doc["status"] == "verified" and doc["exit_code"] == 0
    assert doc["host_complete"] is False  # the protected system volume is left, and said so
    assert {r["device"]["path"] for r in doc["results"]} == {v.loop for v in lab.erasable()}
    assert all(r["status"] == "verified" for r in doc["results"])
    assert device_sha256(system) == system_hash
    assert not raw_contains(cache, planted)
    assert not raw_contains(cache, labmod.MEMO_MARKER.encode())
    test_key = subprocess.run(
        ["cryptsetup", "open", "--test-passphrase", "--key-file", str(vault.keyfile), vault.loop],
        capture_output=True,
        check=False,
    )
    assert test_key.returncode != 0
    assert len(doc["certificates"]) == 3
    assert all(c["kind"] == "certificate" for c in doc["certificates"])
    for cert in doc["certificates"]:
        sanitize("cert", "verify", cert["pdf"], state=lab.state_dir, check_rc=0)
        sanitize("cert", "verify", cert["json"], state=lab.state_dir, check_rc=0)
    assert doc["summary_pdf"] and os.path.isfile(doc["summary_pdf"])
    sanitize("cert", "verify", doc["summary_pdf"], state=lab.state_dir, check_rc=0)  # archived too
    assert doc["archive"]["ok"] is True and doc["archive"]["size"] == 4
    sanitize("archive", "verify", state=lab.state_dir, check_rc=0)


def test_lab_demo_runs_only_on_the_lab_and_leaves_certificates(lab: labmod.LabState) -> None:
    proc = sanitize("lab", "demo", "--dir", lab.directory, state=lab.state_dir, check_rc=0)
    assert "Certificates:" in proc.stdout
    cert_dir = proc.stdout.split("Certificates:")[1].split()[0]
    report = proc.stdout.split("Report:")[1].split()[0]
    assert report == os.path.join(cert_dir, "report.html") and os.path.isfile(os.path.join(cert_dir, "report.pdf"))
    with open(report, encoding="utf-8") as fh:
        page = fh.read()
    assert page.count(">Certificate (PDF)</a>") == 3 and "found before sanitization" in page
    pdfs = [n for n in os.listdir(cert_dir) if n.endswith(".pdf")]
    assert len([n for n in pdfs if n.startswith("certificate-")]) == 3
    assert any(n.startswith("summary-") for n in pdfs)
    mine = {f"{v.loop}:" for v in lab.volumes if v.loop}
    touched = [line for line in proc.stderr.splitlines() if line.startswith("scanning ")]
    assert all(f"/dev/{line.split()[1]}:" in mine for line in touched)


def _written_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as fh:
            fields = dict(line.split(": ") for line in fh.read().splitlines())
        return int(fields.get("write_bytes", "0"))
    except (OSError, ValueError):
        return 0


def test_interrupted_run_exits_8_with_a_failure_report(tmp_path: os.PathLike[str]) -> None:
    loops = LoopLab(workdir=str(tmp_path))
    try:
        dev = loops.loop("3G")  # sparse: the overwrite allocates as it goes, so it takes seconds
        state = os.path.join(str(tmp_path), "state")
        sanitize("keys", "init", "--org", "test", state=state, check_rc=0)
        env = dict(os.environ, SANITIZE_STATE_DIR=state, LC_ALL="C")
        name = os.path.basename(dev)
        proc = subprocess.Popen(
            [sys.executable, "-m", "sanitize", "decommission", "--json", "--only", dev, "--confirm", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            for _ in range(1200):
                if _written_bytes(proc.pid) > (64 << 20) or proc.poll() is not None:
                    break
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 8, err[-2000:]
        doc = json.loads(out)
        assert doc["status"] == "interrupted"
        assert [r["status"] for r in doc["results"]] == ["interrupted"]
        assert [c["kind"] for c in doc["certificates"]] == ["failure-report"]
    finally:
        assert not loops.cleanup()
