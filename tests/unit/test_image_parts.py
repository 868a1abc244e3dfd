"""Pieces of the live image that need no build and no boot: the initramfs writer, the lock, the
console QR code, the image's identity in documents, collection commands, live-medium protection."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sanitize
from sanitize.certify.qr import matrix
from sanitize.decommission import OWN_MEDIUM, advice_for
from sanitize.errors import BadInput
from sanitize.image import collect, cpio, qrterm, recipe
from sanitize.image.build import LOCK_FILE, parse_lock, project_requirements, wheel_name_version
from sanitize.inventory.model import DeviceTree
from sanitize.inventory.protect import protect
from tests.support.devices import make_device
from tests.support.fake_host import FakeHost

# --- initramfs -------------------------------------------------------------------------------------


def _tree(root: Path, mtime: int) -> None:
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/tool").write_bytes(b"#!/bin/sh\necho hi\n")
    os.chmod(root / "usr/bin/tool", 0o755)
    (root / "bin").symlink_to("usr/bin")
    (root / "big").write_bytes(os.urandom(3 << 20))
    (root / "empty").write_bytes(b"")
    for path in [*root.rglob("*"), root]:
        os.utime(path, (mtime, mtime), follow_symlinks=False)


def test_initramfs_is_reproducible_and_unpacks_with_gnu_cpio(tmp_path: Path) -> None:
    if shutil.which("cpio") is None:
        pytest.fail("cpio is not installed (apt-get install cpio)")
    first, second = tmp_path / "a", tmp_path / "b"
    _tree(first, 2_000_000_000)
    shutil.copytree(first, second, symlinks=True)
    for path in [*second.rglob("*"), second]:
        os.utime(path, (2_100_000_000, 2_100_000_000), follow_symlinks=False)
    outputs = []
    for root in (first, second):
        buffer = io.BytesIO()
        count = cpio.write_tree(str(root), buffer, clamp_mtime=1_700_000_000)
        outputs.append(buffer.getvalue())
        assert count == 6
    assert outputs[0] == outputs[1], "same files, different dates after the clamp: same archive"
    assert len(outputs[0]) % 512 == 0
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["cpio", "-idm", "--quiet"], input=outputs[0], cwd=out, check=True)
    assert (out / "usr/bin/tool").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert os.stat(out / "usr/bin/tool").st_mode & 0o777 == 0o755
    assert os.readlink(out / "bin") == "usr/bin"
    assert (out / "big").read_bytes() == (first / "big").read_bytes()
    assert int(os.stat(out / "big").st_mtime) == 1_700_000_000
    listing = subprocess.run(["cpio", "-it", "--quiet"], input=outputs[0], capture_output=True, check=True).stdout
    assert listing.split(b"\n")[:4] == [b"big", b"bin", b"empty", b"usr"]


# --- the lock ----------------------------------------------------------------------------------------


def test_the_bundled_lock_pins_every_requirement_with_a_hash() -> None:
    pins = parse_lock(LOCK_FILE.read_text(), str(LOCK_FILE))
    wanted = {re.split(r"[<>=!~; \[]", r, maxsplit=1)[0].lower() for r in project_requirements()}
    assert wanted <= set(pins), sorted(wanted - set(pins))
    assert all(len(h) == 64 for _version, hashes in pins.values() for h in hashes)


def test_the_lock_pins_the_tested_set() -> None:
    """The image runs what CI tested: every package in both has the same version."""
    tested: dict[str, str] = {}
    for line in (LOCK_FILE.parents[2] / "constraints" / "tested.txt").read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            tested[re.sub(r"[-_.]+", "-", name).lower()] = version
    pins = parse_lock(LOCK_FILE.read_text(), str(LOCK_FILE))
    differ = {n: (v, tested[n]) for n, (v, _h) in pins.items() if n in tested and tested[n] != v}
    assert not differ, f"python.lock and constraints/tested.txt differ (lock, tested): {differ}"
    assert set(pins) <= set(tested), sorted(set(pins) - set(tested))


@pytest.mark.parametrize(
    "text",
    ["click>=8\n", "click==8.1\n", "click==8.1 --hash=md5:abc\n", "# only a comment\n"],
)
def test_a_lock_without_exact_pins_and_hashes_is_refused(text: str) -> None:
    with pytest.raises(BadInput):
        parse_lock(text, "python.lock")


def test_wheel_names() -> None:
    name = "charset_normalizer-3.5.3-cp311-cp311-manylinux1_x86_64.whl"
    assert wheel_name_version(name) == ("charset-normalizer", "3.5.3")
    assert wheel_name_version("sanitize-0.1.0-py3-none-any.whl") == ("sanitize", "0.1.0")
    with pytest.raises(BadInput):
        wheel_name_version("sanitize-0.1.0.tar.gz")


# --- the fingerprint QR code ---------------------------------------------------------------------------


def test_the_console_qr_code_is_the_fingerprints_qr_code() -> None:
    text = "sanitize-signer;sha256=" + "ab:" * 31 + "ab"
    drawn = qrterm.render(text)
    assert set(drawn) <= set("█▀▄ \n")
    assert max(len(line) for line in drawn.splitlines()) <= 80, "fits an 80-column console"
    assert qrterm.read(drawn) == matrix(text)


# --- the image's identity ------------------------------------------------------------------------------


def test_documents_name_the_image_only_inside_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sanitize.image_identity.cache_clear()
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert "image" not in sanitize.tool_identity()
    image_id = hashlib.sha256(b"inputs").hexdigest()
    (tmp_path / sanitize.IMAGE_IDENTITY_FILE).write_text(json.dumps({"image_id": image_id}))
    sanitize.image_identity.cache_clear()
    assert sanitize.tool_identity() == {"name": "sanitize", "version": sanitize.__version__, "image": image_id}
    (tmp_path / sanitize.IMAGE_IDENTITY_FILE).write_text(json.dumps({"image_id": "not a hash"}))
    sanitize.image_identity.cache_clear()
    assert "image" not in sanitize.tool_identity()
    sanitize.image_identity.cache_clear()


# --- collection ---------------------------------------------------------------------------------------


def test_collection_commands(tmp_path: Path) -> None:
    local = tmp_path / "run"
    (local / "certificates").mkdir(parents=True)
    (local / "certificates" / "a.json").write_text("{}")
    creds = tmp_path / "creds"
    creds.mkdir()
    [rsync] = collect.upload_argv("rsync://10.0.2.100:8873/results/", str(local), "H1-20260101T000000Z", str(creds), {})
    assert rsync[0] == "rsync" and rsync[-2:] == [f"{local}/", "rsync://10.0.2.100:8873/results/H1-20260101T000000Z/"]
    files = {"id_ed25519": b"k", "known_hosts": b"h"}
    [sftp] = collect.upload_argv("sftp://ops@collector:2222/srv/sanitize", str(local), "H1", str(creds), files)
    assert sftp[-1] == "ops@collector" and sftp[sftp.index("-P") : sftp.index("-P") + 2] == ["-P", "2222"]
    assert "StrictHostKeyChecking=yes" in sftp
    batch = (creds / "sftp.batch").read_text()
    assert '-mkdir "/srv/sanitize/H1"' in batch and f'put -r "{local}/." "/srv/sanitize/H1"' in batch
    with pytest.raises(collect.CollectFailed, match="known_hosts"):
        collect.upload_argv("sftp://collector/x", str(local), "H1", str(creds), {})
    [curl] = collect.upload_argv("https://collector/up/", str(local), "H1", str(creds), {"ca.pem": b"c"})
    assert curl[0] == "curl" and curl[-1] == "https://collector/up/H1.tar" and "--cacert" in curl
    tarball = creds / "H1.tar"
    assert subprocess.run(["tar", "-tf", str(tarball)], capture_output=True, text=True).stdout.split() == [
        "H1/certificates/a.json"
    ]


# --- live-medium protection ------------------------------------------------------------------------------


def test_the_live_medium_is_protected_whole_and_says_why() -> None:
    disk = "/dev/santestc"
    stick = make_device(disk, serial="STICK", children=(f"{disk}1", f"{disk}2", f"{disk}3"), fstype="iso9660")
    iso = make_device(f"{disk}1", type="part", parent=disk, fstype="iso9660", label=recipe.LIVE_LABEL)
    efi = make_device(f"{disk}2", type="part", parent=disk, fstype="vfat", label="EFIBOOT")
    config = make_device(f"{disk}3", type="part", parent=disk, fstype="vfat", label=recipe.CONFIG_LABEL)
    server = make_device("/dev/santestn", serial="S1")
    tree = protect(DeviceTree((stick, iso, efi, config, server)), FakeHost(), swaps=set(), self_devnos=set())
    by_path = {d.path: d for d in tree}
    assert not by_path["/dev/santestn"].protected
    for path in ("/dev/santestc", "/dev/santestc1", "/dev/santestc2", "/dev/santestc3"):
        assert by_path[path].protected, path
    assert "the sanitize live medium" in by_path["/dev/santestc3"].protected_reasons[0]
    assert by_path["/dev/santestc2"].protected_reasons == ("on santestc, the sanitize live medium",)
    assert advice_for(by_path["/dev/santestc"]) == OWN_MEDIUM


def test_a_stray_fat_label_elsewhere_protects_only_that_disk() -> None:
    other = make_device("/dev/santestd", serial="D", children=("/dev/santestd1",))
    config = make_device("/dev/santestd1", type="part", parent="/dev/santestd", fstype="ext4", label="SANITIZE")
    tree = protect(DeviceTree((other, config)), FakeHost(), swaps=set(), self_devnos=set())
    assert not any(d.protected for d in tree), "only a FAT SANITIZE partition is a config partition"


def test_image_run_refuses_outside_the_live_image(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sanitize.cli import cli

    sanitize.image_identity.cache_clear()
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "state"), "image", "run"])
    expected = 4 if os.geteuid() == 0 else 5  # refused; without root, root is asked for first
    assert result.exit_code == expected, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "state").exists()


# --- the boot-time runner ---------------------------------------------------------------------------


def test_the_config_partition_on_the_stick_wins_over_a_stray_one() -> None:
    from sanitize.image.live import config_partition

    stray = make_device("/dev/santesta1", type="part", parent="/dev/santesta", fstype="vfat", label="SANITIZE")
    disk_a = make_device("/dev/santesta", children=("/dev/santesta1",))
    stick = make_device("/dev/santestz", children=("/dev/santestz1", "/dev/santestz3"))
    iso = make_device("/dev/santestz1", type="part", parent="/dev/santestz", fstype="iso9660", label="SANITIZE_LIVE")
    ours = make_device("/dev/santestz3", type="part", parent="/dev/santestz", fstype="vfat", label="SANITIZE")
    tree = DeviceTree((disk_a, stray, stick, iso, ours))
    assert config_partition(tree) == ours
    assert config_partition(DeviceTree((disk_a, stray))) == stray
    assert config_partition(DeviceTree((disk_a,))) is None


def test_the_run_is_named_after_the_server_in_fat_safe_characters() -> None:
    from sanitize.image.live import _run_name

    name = _run_name({"product_serial": "CZ:J/0 42 ", "product_uuid": None, "hostname": "sanitize-live"})
    assert re.fullmatch(r"CZ_J_0_42-\d{8}T\d{6}Z", name), name
    assert _run_name({"product_serial": None, "product_uuid": None, "hostname": "h"}).startswith("h-")
