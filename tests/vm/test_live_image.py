"""The live image, built by `sanitize image build` and booted in QEMU (TCG) on an emulated AI server
(tests/vm/liveimage.py): NVMe former system disk, SATA data volume, SCSI model volume, and the
image itself on a USB stick. Nothing of the host is shared with the guest.

1. Dry run, by direct kernel boot of the network-boot pair with `sanitize.job=inventory` on the
   kernel command line (over a stick whose job file says decommission): the inventory document
   is on the serial console, the AI data is found, and not one byte of any disk changes.
2. Decommission, booted from the ISO on the USB stick (SeaBIOS), unattended, with the job,
   the organisation key and the operator details on the SANITIZE partition: every disk is
   sanitized, the former system disk included; certificates, archive and job land on the
   stick and at the rsync collection point; the host checks the disks read back clean, the
   certificates verify against the job's signer, and the archive verifies and merges centrally.

One image build serves the session; each boot is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sanitize.certify import keys as keystore
from sanitize.state import StateDir
from tests.vm import liveimage
from tests.vm.liveimage import SERIALS, Boot, BuiltImage, ServerDisks, UsbStick

pytestmark = [pytest.mark.root, pytest.mark.slow]

KEEP = os.environ.get("SANITIZE_VM_KEEP") == "1"
OPERATOR_TOML = b"""[operator]
name = "Jane Doe"
title = "Data Center Technician"
organization = "Example Corp"
location = "DC1 rack 12"
"""


def sanitize_cli(*args: str, state: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "sanitize"]
    if state is not None:
        argv += ["--state-dir", str(state)]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # Not pytest's tmp_path: concurrent pytest sessions prune each other's basetemp directories.
    path = Path(tempfile.mkdtemp(prefix="sanitize-live-", dir="/var/tmp"))
    yield path
    if KEEP:
        sys.stderr.write(f"[live-image] kept {path}\n")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def image(workdir: Path) -> BuiltImage:
    built = liveimage.built_image(workdir / "build.log")
    sys.stderr.write(f"\n[live-image] image {built.image_id[:16]} ({'built now' if built.built_now else 'cached'})\n")
    return built


@pytest.fixture(scope="module")
def signer(workdir: Path) -> dict[str, bytes]:
    """The organisation's key, as an operator copies it to keys/ on the stick."""
    state = StateDir(str(workdir / "org-state"))
    assert sanitize_cli("keys", "init", "--org", "Example Corp IT", state=Path(state.path)).returncode == 0
    return {
        "signer.pem": Path(keystore.cert_path(state)).read_bytes(),
        "signer.key": Path(keystore.key_path(state)).read_bytes(),
    }


def prepare_stick(image: BuiltImage, path: Path, job: str, signer: dict[str, bytes]) -> UsbStick:
    stick = UsbStick.from_iso(image.iso, path)
    stick.put("job.toml", job.encode())
    stick.put("config.toml", OPERATOR_TOML)
    for name, data in signer.items():
        stick.put(f"keys/{name}", data)
    return stick


# --- 1. dry run ----------------------------------------------------------------------------------


@dataclass
class DryRun:
    boot: Boot
    before: dict[str, str]
    after: dict[str, str]
    stick_before: str
    stick_after: str


@pytest.fixture(scope="module")
def dry_run(image: BuiltImage, signer: dict[str, bytes], workdir: Path) -> DryRun:
    run_dir = workdir / "dry-run"
    disks = ServerDisks.create(run_dir / "disks")
    # A stick prepared for a decommission: the kernel command line makes it an inventory.
    job = f'job = "decommission"\nconfirm = {json.dumps(list(SERIALS))}\n'
    stick = prepare_stick(image, run_dir / "stick.img", job, signer)
    before, stick_before = disks.sha256(), liveimage.file_sha256(stick.path)
    append = "console=ttyS0 quiet sanitize.job=inventory sanitize.settle=3"
    boot = liveimage.boot(image, disks, run_dir, stick=stick, direct_append=append, timeout=600)
    return DryRun(boot, before, disks.sha256(), stick_before, liveimage.file_sha256(stick.path))


def test_dry_run_powers_off_and_writes_nothing_to_any_disk(dry_run: DryRun) -> None:
    assert dry_run.boot.powered_off, dry_run.boot.describe()
    assert dry_run.after == dry_run.before
    assert dry_run.stick_after == dry_run.stick_before, "the stick (config partition included) was written"


def test_dry_run_prints_the_inventory_with_the_ai_data(dry_run: DryRun, image: BuiltImage) -> None:
    doc = dry_run.boot.inventory()
    assert doc["schema"] == "sanitize.inventory/1"
    assert doc["tool"]["image"] == image.image_id  # type: ignore[index]
    devices: list[dict[str, Any]] = doc["devices"]  # type: ignore[assignment]
    by_serial = {d["serial"]: d for d in devices if d["parent"] is None and d["serial"]}
    assert set(SERIALS) <= set(by_serial), sorted(by_serial)
    assert not any(by_serial[s]["protected"] for s in SERIALS), "the server's disks are free to sanitize"
    stick = by_serial[liveimage.STICK_SERIAL]
    assert stick["protected"] and any("live medium" in r for r in stick["protected_reasons"]), stick
    nvme = by_serial["SANTESTLIVENVME0"]
    parts = [d for d in devices if d["parent"] == nvme["path"]]
    assert sorted(p["fstype"] for p in parts) == ["ext4", "swap", "vfat"]
    found: dict[str, set[str]] = {}
    for volume in doc["volumes"]:  # type: ignore[attr-defined]
        found.setdefault(volume["device"], set()).update(volume["summary"])
    root = next(p["path"] for p in parts if p["fstype"] == "ext4")
    assert {"model-weights", "prompt-log"} <= found.get(root, set()), found
    sata = by_serial["SANTESTLIVESATA0"]["path"]
    assert {"vector-store", "conversation"} <= found.get(sata, set()), found


# --- 2. decommission -----------------------------------------------------------------------------


@dataclass
class Decommissioned:
    boot: Boot
    disks: ServerDisks
    stick: UsbStick
    results: Path  # results/<run>/ copied off the stick
    collected: Path  # what the rsync collection point received
    stick_outside_config: tuple[str, str]


@pytest.fixture(scope="module")
def decommissioned(image: BuiltImage, signer: dict[str, bytes], workdir: Path) -> Decommissioned:
    run_dir = workdir / "decommission"
    disks = ServerDisks.create(run_dir / "disks")
    job = (
        'job = "decommission"\n'
        f"confirm = {json.dumps(list(SERIALS))}\n"
        "settle = 3\n"
        'collect = "rsync://10.0.2.100/results/"\n'
    )
    stick = prepare_stick(image, run_dir / "stick.img", job, signer)
    outside_before = stick.outside_config()
    collected = run_dir / "collected"
    collected.mkdir()
    network = liveimage.collector_netdev(collected, run_dir)
    boot = liveimage.boot(image, disks, run_dir, stick=stick, network=network, timeout=1500)
    runs = stick.listing("results")
    results = stick.fetch(f"results/{runs[0]}", run_dir / "from-stick") if len(runs) == 1 else run_dir / "none"
    return Decommissioned(boot, disks, stick, results, collected, (outside_before, stick.outside_config()))


def test_decommission_runs_unattended_and_powers_off(decommissioned: Decommissioned) -> None:
    boot = decommissioned.boot
    assert boot.powered_off, boot.describe()
    assert decommissioned.results.is_dir(), f"no results/<run>/ on the stick\n{boot.describe()}"
    doc = json.loads((decommissioned.results / "decommission.json").read_text())
    assert doc["status"] == "verified", (doc["status"], doc["problems"], boot.describe())
    assert doc["exit_code"] == 0
    assert sorted(doc["confirm_with"]) == sorted(SERIALS)
    assert [b["identity"] for b in doc["not_sanitized"]] == [liveimage.STICK_SERIAL]


@pytest.mark.parametrize("serial", SERIALS)
def test_every_disk_reads_back_without_its_old_content(decommissioned: Decommissioned, serial: str) -> None:
    assert decommissioned.boot.powered_off, decommissioned.boot.describe()
    assert liveimage.leftovers(decommissioned.disks, serial) == []


def test_the_live_medium_itself_was_not_erased(decommissioned: Decommissioned) -> None:
    before, after = decommissioned.stick_outside_config
    assert before == after, "the ISO part of the stick changed"


def test_certificates_verify_against_the_signer_of_the_job(
    decommissioned: Decommissioned, signer: dict[str, bytes], workdir: Path, image: BuiltImage
) -> None:
    results = decommissioned.results
    trust = workdir / "org-signer.pem"
    trust.write_bytes(signer["signer.pem"])
    assert (results / "signer.pem").read_bytes() == signer["signer.pem"]
    pdfs = sorted((results / "certificates").glob("*.pdf"))
    jsons = sorted(p for p in (results / "certificates").glob("*.json") if not p.name.endswith(".sig"))
    certificates = [json.loads(p.read_text()) for p in jsons]
    certs = [c for c in certificates if c.get("schema", "").startswith("sanitize.certificate")]
    assert sorted(c["device"]["serial"] for c in certs) == sorted(SERIALS), [c.get("schema") for c in certificates]
    assert all(c["tool"]["image"] == image.image_id for c in certs)
    assert all(c["status"] == "verified" for c in certs)
    nvme = next(c for c in certs if c["device"]["serial"] == "SANTESTLIVENVME0")
    assert nvme["artifacts_before"], "the certificate of the former system disk lists the AI data it held"
    assert certs[0]["performed_by"]["name"] == "Jane Doe"
    assert len(pdfs) >= len(SERIALS)
    for pdf in pdfs:
        checked = sanitize_cli("cert", "verify", str(pdf), "--trust", str(trust))
        assert checked.returncode == 0, (pdf.name, checked.stdout, checked.stderr)


def test_the_archive_segment_verifies_and_merges_centrally(
    decommissioned: Decommissioned, signer: dict[str, bytes], workdir: Path
) -> None:
    trust = workdir / "org-signer.pem"
    trust.write_bytes(signer["signer.pem"])
    segment = decommissioned.results / "archive"
    checked = sanitize_cli("archive", "verify", "--dir", str(segment), "--trust", str(trust), "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["size"] >= len(SERIALS)
    central = workdir / "central-state"
    assert sanitize_cli("keys", "init", "--org", "Central IT", state=central).returncode == 0
    merged = sanitize_cli("archive", "merge", str(segment), "--trust", str(trust), "--json", state=central)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert len(json.loads(merged.stdout)["added"]) == json.loads(checked.stdout)["size"]
    assert sanitize_cli("archive", "verify", state=central).returncode == 0


def test_the_collection_point_received_the_same_results(decommissioned: Decommissioned) -> None:
    runs = [p for p in decommissioned.collected.iterdir() if p.is_dir()]
    assert [p.name for p in runs] == [decommissioned.results.name], decommissioned.boot.describe()

    def files(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): liveimage.file_sha256(p) for p in root.rglob("*") if p.is_file()}

    assert files(runs[0]) == files(decommissioned.results)


# --- 3. at the console -----------------------------------------------------------------------------


@dataclass
class AtConsole:
    boot: Boot
    before: dict[str, str]
    after: dict[str, str]
    results: Path


@pytest.fixture(scope="module")
def at_console(image: BuiltImage, signer: dict[str, bytes], workdir: Path) -> AtConsole:
    """The interactive job on the serial console: the operator types one serial of the three."""
    run_dir = workdir / "console"
    disks = ServerDisks.create(run_dir / "disks")
    stick = prepare_stick(image, run_dir / "stick.img", 'after = "poweroff"\n', signer)
    before = disks.sha256()
    append = "console=ttyS0 quiet sanitize.job=console sanitize.settle=3"
    answers = [("Type the serials", "SANTESTLIVENVME0\n"), ("Power off, reboot or open a shell?", "poweroff\n")]
    boot = liveimage.boot(image, disks, run_dir, stick=stick, direct_append=append, answers=answers, timeout=600)
    runs = stick.listing("results")
    results = stick.fetch(f"results/{runs[0]}", run_dir / "from-stick") if len(runs) == 1 else run_dir / "none"
    return AtConsole(boot, before, disks.sha256(), results)


def test_the_console_asks_for_the_serials_and_refuses_an_incomplete_set(at_console: AtConsole) -> None:
    boot = at_console.boot
    assert boot.powered_off, boot.describe()
    assert "To sanitize, confirm with: --confirm" in boot.console
    assert "refused: not confirmed: 2 device(s) of the plan were not named" in boot.console, boot.describe()
    assert at_console.after == at_console.before, "a refused confirmation wrote to a disk"
    doc = json.loads((at_console.results / "decommission.json").read_text())
    assert doc["dry_run"] is True and doc["refused"].startswith("not confirmed")
    assert sorted(doc["confirm_with"]) == sorted(SERIALS)


# --- 4. UEFI: the same stick booted by OVMF (UEFI firmware); about 2 minutes more under TCG ----------


def test_uefi_boots_the_stick_and_runs_its_inventory(image: BuiltImage, workdir: Path) -> None:
    run_dir = workdir / "uefi"
    disks = ServerDisks.create(run_dir / "disks")
    stick = UsbStick.from_iso(image.iso, run_dir / "stick.img")
    stick.put("job.toml", b'job = "inventory"\n')
    before, stick_before = disks.sha256(), liveimage.file_sha256(stick.path)
    boot = liveimage.boot(image, disks, run_dir, stick=stick, uefi=True, timeout=900)
    assert boot.powered_off, boot.describe()
    assert "BdsDxe: starting" in boot.console and "UEFI" in boot.console
    doc = boot.inventory()
    assert doc["tool"]["image"] == image.image_id  # type: ignore[index]
    assert disks.sha256() == before and liveimage.file_sha256(stick.path) == stick_before
