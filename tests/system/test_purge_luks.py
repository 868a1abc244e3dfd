"""luks-crypto-erase on real LUKS1/LUKS2 loop devices (root): the key is gone and the header too."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from sanitize.erase.method import ExecutionContext, Planning
from sanitize.erase.options import EraseOptions, LuksOptions
from sanitize.erase.planning import plan_for
from sanitize.erase.runner import new_result, run_plan
from sanitize.hw.linux import LinuxHost
from sanitize.inventory.probe import probe
from sanitize.methods import all_methods
from sanitize.purge.planner import plan_device
from sanitize.state import StateDir
from tests.support.journal import interrupt_during_write, journal_in
from tests.support.lab import device_sha256, system_devno

pytestmark = pytest.mark.root


def read(path: str, offset: int, length: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(length)


def unlocks(dev: str, keyfile: str, header: str | None = None) -> bool:
    argv = [
        "cryptsetup",
        "open",
        "--test-passphrase",
        "--key-file",
        keyfile,
        *(["--header", header] if header else []),
        dev,
    ]
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def erase(dev: str, tmp_path, options: EraseOptions | None = None, dry_run: bool = False):
    host = LinuxHost()
    options = options or EraseOptions(verify="sample")
    tree = probe(host)
    device = next(d for d in tree if d.path == dev)
    plan = plan_for(Planning(host, tree, all_methods()), device, "luks-crypto-erase", options)
    if dry_run:
        return plan
    ctx = ExecutionContext(
        host=host, state=StateDir(str(tmp_path / "state")), result=new_result(plan, host), stop=threading.Event()
    )
    return run_plan(plan, ctx, all_methods())


# (version, keyslot 0 area, header extent up to the data offset)
LAYOUTS = [(1, (4096, 256000), 2 << 20), (2, (32768, 258048), 16 << 20)]


@pytest.mark.parametrize(("version", "slot", "extent"), LAYOUTS)
def test_luks_crypto_erase(lab, tmp_path, version, slot, extent):
    dev = lab.loop("64M")
    key = lab.luks(dev, version)
    assert unlocks(dev, key)
    keyslot_before = read(dev, *slot)
    header_before = read(dev, 0, extent)
    data_before = read(dev, extent, 1 << 20)

    result = erase(dev, tmp_path)

    assert result.status == "verified", result.to_dict()
    assert result.method == "luks-crypto-erase" and result.nist_level == "purge"
    assert not unlocks(dev, key)
    keyslot_after = read(dev, *slot)
    same = sum(a == b for a, b in zip(keyslot_before, keyslot_after, strict=True))
    assert same < len(keyslot_before) // 100  # changed, by chance only ~1/256 of bytes match
    assert keyslot_after.count(0) < len(keyslot_after) // 100  # random, not zeros
    header_after = read(dev, 0, extent)
    assert header_after != header_before and header_after[:6] != b"LUKS\xba\xbe"
    assert read(dev, extent, 1 << 20) == data_before  # only the header area is touched
    assert any("ciphertext" in n for n in result.notes)
    assert any("keyslots active before erase: [0]" in n for n in result.notes)
    assert ["cryptsetup", "erase", "-q", dev] in [c.argv for c in result.commands]
    assert subprocess.run(["cryptsetup", "isLuks", dev], check=False).returncode != 0


def test_luks_dry_run_plan_writes_nothing(lab, tmp_path):
    dev = lab.loop("32M")
    key = lab.luks(dev, 2)
    before = device_sha256(dev)
    plan = erase(dev, tmp_path, dry_run=True)
    assert plan.method == "luks-crypto-erase"
    assert ["cryptsetup", "erase", "-q", dev] in [list(s.argv) for s in plan.steps if s.argv]
    assert device_sha256(dev) == before and unlocks(dev, key)
    assert not os.path.exists(tmp_path / "state")


def test_planner_picks_luks_for_a_luks_loop_device(lab, tmp_path):
    dev = lab.loop("32M")
    lab.luks(dev, 2)
    host = LinuxHost()
    tree = probe(host)
    result = plan_device(Planning(host, tree, all_methods()), next(d for d in tree if d.path == dev))
    assert result.plan and result.plan.method == "luks-crypto-erase", result.to_dict()
    assert result.capabilities and result.capabilities.luks and result.capabilities.luks.active_keyslots == [0]


def test_detached_header_destroyed_too(lab, tmp_path):
    dev = lab.loop("32M")
    header = str(tmp_path / "hdr.img")
    subprocess.run(["truncate", "-s", "16M", header], check=True)
    keyfile = lab.luks(dev, 2, key=b"detached-key", header=header)
    assert unlocks(dev, keyfile, header)
    result = erase(dev, tmp_path, EraseOptions(verify="sample", luks=LuksOptions(header=header)))
    assert result.status == "verified", result.to_dict()
    assert not os.path.exists(header)
    assert any("detached header" in n for n in result.notes)


def test_then_overwrite_chains_a_device_level_erase(lab, tmp_path):
    dev = lab.loop("32M")
    key = lab.luks(dev, 2)
    result = erase(dev, tmp_path, EraseOptions(verify="sample", luks=LuksOptions(then="overwrite")))
    assert result.status == "verified", result.to_dict()
    assert not unlocks(dev, key)
    assert result.bytes_written >= 32 << 20


def test_protected_or_open_volume_refused(lab, tmp_path):
    from sanitize.errors import Refused

    dev = lab.loop("32M")
    lab.luks(dev, 2)
    host = LinuxHost()
    tree = probe(host)
    device = next(d for d in tree if d.path == dev)
    import dataclasses

    protected = dataclasses.replace(device, protected=True, protected_reasons=("test: marked protected",))
    from sanitize.inventory.model import DeviceTree

    with pytest.raises(Refused, match="protected"):
        plan_for(
            Planning(host, DeviceTree((protected,)), all_methods()), protected, "luks-crypto-erase", EraseOptions()
        )


def test_plan_cli_json_lists_luks_and_refuses_root(lab):
    import json

    from sanitize.cli import cli
    from tests.support.clirunner import cli_runner

    dev = lab.loop("32M")
    lab.luks(dev, 1)
    out = cli_runner().invoke(cli, ["plan", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["schema"] == "sanitize.purge-plan/1"
    by_path = {d["device"]: d for d in doc["devices"]}
    assert by_path[dev]["method"] == "luks-crypto-erase" and by_path[dev]["nist_level"] == "purge"
    assert ["cryptsetup", "erase", "-q", dev] in by_path[dev]["argv"]
    system = {d.path for d in probe(LinuxHost()) if d.devno == system_devno()}
    refused = {d["device"] for d in doc["devices"] if d["status"] == "refused"}
    assert system and system <= refused, "the disk the system runs on must be listed as refused"


def test_erase_cli_luks_with_then_overwrite(lab, state_dir):
    import json

    from sanitize.cli import cli
    from tests.support.clirunner import cli_runner

    dev = lab.loop("32M")
    key = lab.luks(dev, 2)
    name = os.path.basename(dev)
    before = device_sha256(dev)
    dry = cli_runner().invoke(cli, ["erase", dev, "--method", "luks-crypto-erase", "--then", "overwrite", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert device_sha256(dev) == before and not os.path.exists(state_dir)
    out = cli_runner().invoke(
        cli,
        ["erase", dev, "--method", "luks-crypto-erase", "--then", "overwrite", "--confirm", name, "--yes", "--json"],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["method"] == "luks-crypto-erase" and doc["status"] == "verified"
    assert any("ciphertext" in n for n in doc["notes"]) and doc["bytes_written"] >= 32 << 20
    assert not unlocks(dev, key)
    # The chained overwrite's journal (it holds the pattern key) is gone with the run.
    journal_dir = os.path.join(state_dir, "journal")
    assert not os.path.isdir(journal_dir) or not os.listdir(journal_dir)
    bad = cli_runner().invoke(cli, ["erase", dev, "--method", "overwrite", "--then", "overwrite", "--dry-run"])
    assert bad.exit_code == 3


def test_luks_then_overwrite_interrupted_during_the_overwrite_resumes_it(lab, state_dir):
    """The keyslots and header are gone once the overwrite starts: --resume continues the overwrite."""
    import json
    import sys

    dev = lab.loop("256M", preallocate=True)
    key = lab.luks(dev, 2)
    name = os.path.basename(dev)
    argv = ["erase", dev, "--method", "luks-crypto-erase", "--then", "overwrite", "--pattern", "zeros"]
    code, out = interrupt_during_write(
        [*argv, "--passes", "3", "--confirm", name, "--yes", "--json"], state_dir, checkpoint_mib=32
    )
    assert code == 8, out
    first = json.loads(out)
    assert first["status"] == "interrupted" and not unlocks(dev, key)

    resumed = subprocess.run(
        [sys.executable, "-m", "sanitize", "erase", dev, "--resume", "--confirm", name, "--yes", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    doc = json.loads(resumed.stdout)
    assert doc["status"] == "verified" and doc["id"] == first["id"]
    assert doc["method"] == "overwrite" and doc["passes"] == 3
    assert any("luks-crypto-erase" in n and "completed" in n for n in doc["notes"]), doc["notes"]
    assert any("was stopped (signal)" in n for n in doc["notes"])
    assert journal_in(state_dir) is None
    assert read(dev, 0, 1 << 20) == bytes(1 << 20)  # the header area is zeros now, like the rest
