"""contrib/ansible/live-pxe.yml against localhost (connection local): the boot server gets the live
image and one iPXE job per server of the rack; the collector merges the runs that arrived into the
central archive. (Booting the image itself is tests/vm/test_live_image.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sanitize.certify import keys
from sanitize.certify.archive import Archive
from sanitize.state import StateDir
from tests.support.certify import issue, state_with_keys

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "contrib" / "ansible" / "live-pxe.yml"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SANITIZE = os.path.join(os.path.dirname(sys.executable), "sanitize")
RACK = {"rack-a-01": "52:54:00:AA:00:01", "rack-a-02": "52:54:00:aa:00:02"}


def playbook(work: Path, extra: dict[str, Any], *tags: str) -> subprocess.CompletedProcess[str]:
    inventory = work / "rack.ini"
    lines = [f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}", "[sanitize_rack]"]
    lines += [f"{host} sanitize_mac={mac}" for host, mac in RACK.items()]
    inventory.write_text("\n".join(lines) + "\n")
    varsfile = work / "vars.json"
    varsfile.write_text(json.dumps({"sanitize_become": False, **extra}))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"))
    env["ANSIBLE_HOME"] = str(work / "ansible-home")
    argv = [ANSIBLE_PLAYBOOK, "-i", str(inventory), str(PLAYBOOK), "-e", f"@{varsfile}"]
    if tags:
        argv += ["--tags", ",".join(tags)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """Stand-ins for `sanitize image build` output (the playbook only copies them)."""
    out = tmp_path / "image"
    out.mkdir()
    (out / "vmlinuz").write_bytes(b"kernel")
    (out / "initrd.img").write_bytes(b"initramfs")
    (out / "manifest.json").write_text(json.dumps({"schema": "sanitize.image-manifest/1", "image_id": "ab" * 32}))
    return out


def test_publish_writes_an_inventory_job_per_server_by_default(tmp_path: Path, image_dir: Path) -> None:
    http = tmp_path / "http"
    common = {
        "sanitize_image_dir": str(image_dir),
        "sanitize_live_http_root": str(http),
        "sanitize_live_http_url": "http://pxe01/sanitize",
        "sanitize_live_collect_url": "rsync://collector/sanitize/",
    }
    done = playbook(tmp_path, common, "publish")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (http / "initrd.img").read_bytes() == b"initramfs"
    assert "hosts/${mac:hexhyp}.ipxe" in (http / "boot.ipxe").read_text()
    script = (http / "hosts" / "52-54-00-aa-00-01.ipxe").read_text()
    assert "kernel http://pxe01/sanitize/vmlinuz " in script
    assert "sanitize.job=inventory sanitize.collect=rsync://collector/sanitize/" in script
    assert "decommission" not in script.split("\n", 2)[2]

    # A real run needs every server's confirmed serials: one missing fails before anything changes.
    real = {**common, "sanitize_execute": True, "sanitize_confirm_by_host": {"rack-a-01": "S1, S2"}}
    refused = playbook(tmp_path, real, "publish")
    assert refused.returncode != 0
    assert "rack-a-02: needs sanitize_mac" in refused.stdout
    assert "sanitize.job=inventory" in (http / "hosts" / "52-54-00-aa-00-01.ipxe").read_text()

    real["sanitize_confirm_by_host"]["rack-a-02"] = "S3"
    done = playbook(tmp_path, real, "publish")
    assert done.returncode == 0, done.stdout + done.stderr
    first = (http / "hosts" / "52-54-00-aa-00-01.ipxe").read_text()
    assert "sanitize.job=decommission sanitize.confirm=S1,S2 sanitize.collect=" in first
    assert "sanitize.confirm=S3 " in (http / "hosts" / "52-54-00-aa-00-02.ipxe").read_text()


def test_collect_merges_every_run_into_the_central_archive(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    org = state_with_keys(str(tmp_path / "org"), org="Example Corp IT")  # the key the stick/jobs carry
    trust = tmp_path / "org-signer.pem"
    trust.write_bytes(keys.cert_pem(keys.load_signer_cert(org)))
    expected = []
    for n, host in enumerate(RACK):
        live = StateDir(str(tmp_path / f"live-{n}"))
        shutil.copytree(os.path.join(org.path, "keys"), os.path.join(live.path, "keys"))
        expected += [issue(live, str(tmp_path / f"out-{n}")).certificate_id for _ in range(2)]
        shutil.copytree(Archive.of(live).path, incoming / f"{host}-2026010{n}T000000Z" / "archive")
    central = state_with_keys(str(tmp_path / "central"), org="Central IT")
    extra = {
        "sanitize_live_incoming": str(incoming),
        "sanitize_live_trust": str(trust),
        "sanitize_bin": SANITIZE,
        "sanitize_state_dir": central.path,
    }
    done = playbook(tmp_path, extra, "collect")
    assert done.returncode == 0, done.stdout + done.stderr
    entries = Archive.of(central).entries()
    assert [e["certificate_id"] for e in entries] == expected
    assert Archive.of(central).verify(keys.load_signer_cert(central)).ok
    again = playbook(tmp_path, extra, "collect")  # idempotent: nothing added, nothing changed
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout
