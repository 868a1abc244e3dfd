"""contrib/ansible against localhost (connection local) on the loop-device lab.

The playbook installs the tool from a wheel built here into a venv of its own, runs the dry
run and collects its report; then, only with sanitize_execute=true and the right serials,
the real run, with the certificates and the archive bundle fetched back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from sanitize import lab as labmod
from sanitize.hw.linux import LinuxHost
from tests.support.lab import device_sha256

pytestmark = pytest.mark.root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "contrib", "ansible", "decommission.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A wheel built from a copy of the sources (building in the checkout would leave build/)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(os.path.join(REPO, "sanitize"), src / "sanitize", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(REPO, name), src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(src), "-w", str(work / "dist")],
        check=True,
        capture_output=True,
    )
    (whl,) = (work / "dist").glob("sanitize-*.whl")
    return str(whl)


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labmod.LabState]:
    directory = str(tmp_path_factory.mktemp("ansiblelab") / "lab")
    state = labmod.up(LinuxHost(), directory)
    try:
        yield state
    finally:
        labmod.down(LinuxHost(), directory, remove_state=True)


def playbook(extra: dict[str, Any], workdir: str) -> subprocess.CompletedProcess[str]:
    inventory = os.path.join(workdir, "hosts.ini")
    with open(inventory, "w", encoding="utf-8") as fh:
        fh.write(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    varsfile = os.path.join(workdir, "vars.json")
    with open(varsfile, "w", encoding="utf-8") as fh:
        json.dump(extra, fh)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "ansible-tmp"))
    env["ANSIBLE_HOME"] = os.path.join(workdir, "ansible-home")
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", inventory, PLAYBOOK, "-e", f"@{varsfile}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )


def test_playbook_dry_run_then_confirmed_real_run(lab: labmod.LabState, wheel: str, tmp_path: os.PathLike[str]) -> None:
    work = str(tmp_path)
    state = os.path.join(work, "state")
    common: dict[str, Any] = {
        "sanitize_become": False,
        "sanitize_wheel": wheel,
        "sanitize_venv": os.path.join(work, "venv", "sanitize"),
        "sanitize_state_dir": state,
        "sanitize_remote_report_dir": os.path.join(work, "staging"),
        "sanitize_reports_dir": os.path.join(work, "reports"),
        "sanitize_archive_dir": os.path.join(work, "certificates"),
        "sanitize_only": lab.devices(),
    }
    hashes = {dev: device_sha256(dev) for dev in lab.devices() if dev != lab.volume("system").loop}

    dry = playbook(common, work)
    assert dry.returncode == 0, dry.stdout[-4000:]
    with open(os.path.join(work, "reports", "localhost", "dry-run.json"), encoding="utf-8") as fh:
        report = json.load(fh)
    assert report["schema"] == "sanitize.decommission/1" and report["dry_run"] is True
    expected = sorted(v.identity or "" for v in lab.erasable())
    assert sorted(report["confirm_with"]) == expected
    assert not os.path.exists(state)
    assert {dev: device_sha256(dev) for dev in hashes} == hashes

    # Execution without the serials is refused by the playbook before anything runs.
    refused = playbook(common | {"sanitize_execute": True}, work)
    assert refused.returncode != 0
    assert "sanitize_confirm" in refused.stdout
    assert {dev: device_sha256(dev) for dev in hashes} == hashes

    real = playbook(
        common
        | {
            "sanitize_execute": True,
            "sanitize_confirm_by_host": {"localhost": ",".join(report["confirm_with"])},
            "sanitize_keys_org": "Ansible CI",
        },
        work,
    )
    assert real.returncode == 0, real.stdout[-4000:]
    with open(os.path.join(work, "reports", "localhost", "decommission.json"), encoding="utf-8") as fh:
        done = json.load(fh)
    assert done["status"] == "verified"
    assert all(r["status"] == "verified" for r in done["results"])
    collected = os.listdir(os.path.join(work, "certificates", "localhost"))
    assert len([n for n in collected if n.startswith("certificate-") and n.endswith(".pdf")]) == len(expected)
    assert any(n.startswith("summary-") for n in collected)
    with zipfile.ZipFile(os.path.join(work, "certificates", "localhost", "archive.zip")) as bundle:
        assert any(name.endswith("log.jsonl") for name in bundle.namelist())
    witness = os.path.join(work, "certificates", "localhost", "archive-head.txt")
    with open(witness, encoding="utf-8") as fh:
        assert fh.read().strip() == f"{done['archive']['head']['size']}:{done['archive']['head']['root']}"
    check = subprocess.run(
        [sys.executable, "-m", "sanitize", "--state-dir", state, "archive", "verify", "--witness", witness],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert all(device_sha256(dev) != digest for dev, digest in hashes.items())
