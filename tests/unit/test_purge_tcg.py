"""TCG Opal PSID revert against fake drives built from recorded sedutil-cli output.

No emulator speaks TCG, so the success path is proven against `FakeSed`, whose query output is
the recorded fixture with its locking values following the drive's state; the verification
reads the drive's data file back for real.
"""

from __future__ import annotations

import json
import logging
import os

import pytest

from sanitize.cli import cli
from sanitize.erase.options import EraseOptions, FirmwareOptions
from sanitize.errors import BadInput, Unsupported
from sanitize.inventory.model import DeviceTree
from sanitize.methods import all_methods
from sanitize.purge.planner import plan_device
from sanitize.report.decommission import DecommissionScreen
from tests.support.clirunner import cli_runner
from tests.support.fake_drives import FakeAta, FakeDrives, FakeNvme, FakeSed, fixture
from tests.unit.purge_support import data_file, device, host_for, make_plan, planning, run_method

PSID = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
QUERY = "sedutil-cli-query__opal2-locking-enabled.txt"
SED_SSD = "hdparm-I__850evo-ssd-sed-security-notfrozen.txt"  # Security Erase only: Clear on flash


def opal_ata(tmp_path, query=None, **kw):
    path = data_file(tmp_path / "sda")
    drives = FakeDrives()
    drives.add(FakeAta(path, fixture(SED_SSD), data=path))
    sed = drives.add(FakeSed(path, query or fixture(QUERY), PSID, data=path, **kw))
    dev = device(path, media="ssd")
    return drives, sed, dev, DeviceTree((dev,))


def with_psid(psid: str = PSID) -> EraseOptions:
    return EraseOptions(firmware=FirmwareOptions(psid=psid))


def test_psid_revert_success_is_a_verified_purge_and_the_psid_is_never_recorded(tmp_path, caplog):
    drives, sed, dev, tree = opal_ata(tmp_path)
    host = host_for(drives)
    with caplog.at_level(logging.DEBUG, logger="sanitize"):
        result = run_method(host, tree, dev, "tcg-psid-revert", tmp_path, options=with_psid())

    assert result.status == "verified", result.to_dict()
    assert result.nist_level == "purge"
    assert not sed.locking_enabled
    assert result.verification.details["unchanged_samples"] == 0
    assert ["sedutil-cli", "--yesIreallywanttoERASEALLmydatausingthePSID", "<PSID>", dev.path] in [
        c.argv for c in result.commands
    ]
    assert PSID not in json.dumps(result.to_dict())
    assert all(PSID not in " ".join(r.argv) + r.stdout + r.stderr for r in host.command_log.records)
    assert PSID not in caplog.text


@pytest.mark.parametrize(
    ("psid", "outcome", "why"),
    [
        ("X" * 32, "success", "NOT_AUTHORIZED"),  # a mistyped PSID
        (PSID, "silent", "still reports LockingEnabled = Y"),  # says success, nothing changed
        (PSID, "mute", "did not report a completed revert"),  # exit 0, nothing said, nothing done
    ],
)
def test_a_revert_the_drive_does_not_confirm_fails(tmp_path, psid, outcome, why):
    drives, sed, dev, tree = opal_ata(tmp_path, outcome=outcome)
    result = run_method(host_for(drives), tree, dev, "tcg-psid-revert", tmp_path, options=with_psid(psid))
    assert result.status == "failed"
    assert why in json.dumps(result.verification.details)
    assert sed.locking_enabled


@pytest.mark.parametrize("psid", [None, "too-short", "0123456789ABCDEFGHIJKLMNOPQRSTU!"])
def test_missing_or_malformed_psid_is_bad_input_at_plan_time(tmp_path, psid):
    drives, sed, dev, tree = opal_ata(tmp_path)
    options = EraseOptions(firmware=FirmwareOptions(psid=psid))
    with pytest.raises(BadInput, match="PSID"):
        run_method(host_for(drives), tree, dev, "tcg-psid-revert", tmp_path, options=options)
    assert sed.locking_enabled


def test_a_drive_that_does_not_encrypt_its_media_is_not_offered_a_revert(tmp_path):
    plain = fixture(QUERY).replace("MediaEncrypt = Y", "MediaEncrypt = N")
    drives, _, dev, tree = opal_ata(tmp_path, query=plain)
    with pytest.raises(Unsupported, match="MediaEncrypt"):
        run_method(host_for(drives), tree, dev, "tcg-psid-revert", tmp_path, options=with_psid())


def test_without_sedutil_the_revert_is_unsupported(tmp_path):
    drives, _, dev, tree = opal_ata(tmp_path)
    drives.missing.add("sedutil-cli")
    with pytest.raises(Unsupported, match="sedutil"):
        run_method(host_for(drives), tree, dev, "tcg-psid-revert", tmp_path, options=with_psid())


def test_nvme_revert_addresses_the_controller(tmp_path):
    ns = data_file(tmp_path / "nvme0n1")
    ctrl = str(tmp_path / "nvme0")
    drives = FakeDrives()
    drives.add(FakeNvme(ctrl, fixture("nvme-id-ctrl__pc401-no-crypto-format.json"), data=[ns]))
    drives.add(FakeSed(ctrl, fixture(QUERY), PSID, data=ns))
    dev = device(ns, media="nvme", transport="nvme", controller=ctrl)
    result = run_method(host_for(drives), DeviceTree((dev,)), dev, "tcg-psid-revert", tmp_path, options=with_psid())
    assert result.status == "verified", result.to_dict()
    assert ["sedutil-cli", "--query", ctrl] in [c.argv for c in result.commands]


def test_planner_prefers_the_revert_to_a_clear_only_method_once_the_psid_is_given(tmp_path):
    drives, _, dev, tree = opal_ata(tmp_path)
    host = host_for(drives)
    without = plan_device(planning(host, tree), dev, EraseOptions())
    given = plan_device(planning(host, tree), dev, with_psid())
    assert without.plan is not None and without.plan.method == "ata-secure-erase-enhanced"
    assert without.plan.nist_level == "clear"
    offered = {a["method"]: a for a in without.alternatives}
    assert "needs --psid" in offered["tcg-psid-revert"]["why_not"]
    assert given.plan is not None and given.plan.method == "tcg-psid-revert" and given.plan.nist_level == "purge"
    assert PSID not in json.dumps(given.to_dict())
    plan_doc = given.plan.to_dict()  # what `erase --dry-run --json` prints
    assert plan_doc["options"]["extra"]["psid"] == "<redacted>" and PSID not in json.dumps(plan_doc)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/dev/sda", "/dev/sdb", "--method", "tcg-psid-revert"], "one device"),
        (["/dev/sda", "--method", "overwrite"], "--psid applies to"),
    ],
)
def test_psid_option_misuse_is_bad_input(args, message):
    out = cli_runner().invoke(cli, ["erase", *args, "--psid", PSID, "--dry-run"])
    assert out.exit_code == 3 and message in out.stderr


def test_certificate_of_a_revert_names_the_method_and_holds_no_psid(tmp_path):
    from sanitize.certify.document import build_document
    from sanitize.methods import all_methods

    drives, _, dev, tree = opal_ata(tmp_path)
    result = run_method(host_for(drives), tree, dev, "tcg-psid-revert", tmp_path, options=with_psid())
    doc = build_document(result.to_dict())
    assert doc["sanitization"]["method_label"].startswith("TCG PSID Revert")
    assert doc["sanitization"]["nist_level"] == "purge"
    assert doc["sanitization"]["method_family"] == "Cryptographic Erase"
    assert PSID not in json.dumps(doc)
    assert "tcg-psid-revert" in all_methods()


def test_psid_file_parsing_names_lines_never_psids(tmp_path):
    from sanitize.purge.methods.tcg import parse_psid_file

    text = f"# rack 7\nS64HNE0R123456 {PSID}\n\n/dev/sdc {PSID.lower()}  # a drive without a serial\n"
    assert parse_psid_file(text, "psids.txt") == {"S64HNE0R123456": PSID, "/dev/sdc": PSID.lower()}
    for bad, where in ((f"S1 {PSID}\nS2 short-psid\n", "psids.txt:2"), (f"S1 {PSID}\nS1 {PSID}\n", "twice")):
        with pytest.raises(BadInput, match=where) as info:
            parse_psid_file(bad, "psids.txt")
        assert PSID not in str(info.value)


def test_decommission_chooses_the_revert_only_for_the_drive_whose_psid_it_was_given(tmp_path):
    from sanitize import decommission

    drives, _, dev, tree = opal_ata(tmp_path)
    host = host_for(drives)
    given = decommission.prepare(host, tree, all_methods(), psids={dev.serial: PSID}, scan=False)
    other = decommission.prepare(host, tree, all_methods(), psids={"SOME-OTHER-SERIAL": PSID}, scan=False)
    assert [p.method for p in given.plans] == ["tcg-psid-revert"]
    assert [p.method for p in other.plans] == ["ata-secure-erase-enhanced"]
    assert PSID not in json.dumps(DecommissionScreen(given, dry_run=True).document())


@pytest.mark.parametrize("content", [f"S1 {PSID} extra\n", "fifo"])
def test_decommission_psid_file_errors_are_bad_input(tmp_path, content):
    path = tmp_path / "psids.txt"
    if content == "fifo":
        os.mkfifo(path)
    else:
        path.write_text(content)
    out = cli_runner().invoke(cli, ["decommission", "--dry-run", "--psid-file", str(path)])
    assert out.exit_code == 3, out.output
    assert PSID not in out.output


def test_planning_a_revert_sends_nothing_to_the_drive_and_refuses_protected_drives(tmp_path):
    import hashlib
    from pathlib import Path

    from sanitize.errors import Refused
    from tests.support.fake_drives import PSID_FLAG

    drives, sed, dev, tree = opal_ata(tmp_path)
    before = hashlib.sha256(Path(dev.path).read_bytes()).hexdigest()
    host = host_for(drives)
    plan = make_plan(host, tree, dev, "tcg-psid-revert", with_psid())  # what --dry-run prints
    assert any(PSID_FLAG in (s.argv or ()) for s in plan.steps)
    assert not any(PSID_FLAG in call for call in drives.calls) and sed.locking_enabled
    assert hashlib.sha256(Path(dev.path).read_bytes()).hexdigest() == before

    mounted = device(dev.path, media="ssd", mountpoints=("/srv",), protected=True, protected_reasons=("mounted",))
    with pytest.raises(Refused):
        make_plan(host, DeviceTree((mounted,)), mounted, "tcg-psid-revert", with_psid())
    assert not any(PSID_FLAG in call for call in drives.calls)
