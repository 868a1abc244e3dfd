"""Firmware methods on emulated drives: the NVMe Format NVM that QEMU implements runs for real and
is verified; what QEMU does not implement (NVMe Sanitize with SANICAP=0, Format with crypto erase
when FNA bit 2 is 0, ATA Security, SCSI SANITIZE) is detected and refused before anything is sent,
although QEMU would accept some of them and hdparm would report success."""

from __future__ import annotations

from typing import Any

import pytest

from tests.vm.guest import guestlab
from tests.vm.guest.guestlab import Stacks

pytestmark = pytest.mark.vm

REFUSED = 4  # ExitCode.REFUSED
UNSUPPORTED = 6  # ExitCode.UNSUPPORTED
NVME_SERIAL = guestlab.nvme_controller("nvme0")["serial"]


@pytest.fixture(scope="module")
def plans(stacks: Stacks) -> dict[str, dict[str, Any]]:
    doc = guestlab.sanitize_json(
        "plan",
        stacks.erase_namespace,
        stacks.crypt_disk,
        stacks.standalone_sata,
        stacks.standalone_scsi,
        ok_codes=(REFUSED,),  # the opened LUKS disk is named and refused
    )
    assert doc["schema"] == "sanitize.purge-plan/1"
    return {d["device"]: d for d in doc["devices"]}


def _why_not(plan: dict[str, Any], method: str) -> str:
    for alt in plan["alternatives"]:
        if alt["method"] == method:
            assert alt["available"] is False, alt
            return str(alt["why_not"])
    raise AssertionError(f"{method} not among the alternatives: {plan['alternatives']}")


def test_nvme_plan_is_format_with_user_data_erase(plans: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    plan = plans[stacks.erase_namespace]
    assert plan["status"] == "ok", plan
    assert plan["method"] == "nvme-format-user"
    assert plan["argv"] == [["nvme", "format", stacks.erase_namespace, "--ses=1", "--force"]]


def test_nvme_crypto_format_is_not_offered_without_fna_bit2(plans: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    assert "FNA" in _why_not(plans[stacks.erase_namespace], "nvme-format-crypto")


@pytest.mark.parametrize("action", ["crypto", "block", "overwrite"])
def test_nvme_sanitize_is_not_offered_with_sanicap_0(
    plans: dict[str, dict[str, Any]], stacks: Stacks, action: str
) -> None:
    assert "SANICAP" in _why_not(plans[stacks.erase_namespace], f"nvme-sanitize-{action}").upper()


def test_opened_luks_disk_is_refused(plans: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    plan = plans[stacks.crypt_disk]
    assert plan["status"] == "refused"
    assert plan.get("method") is None
    assert "protected" in plan["refused"] or "in use" in plan["refused"] or "held" in plan["refused"], plan


def test_ata_security_is_reported_unsupported(plans: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    plan = plans[stacks.standalone_sata]
    assert plan["status"] == "ok"
    assert plan["method"] == "overwrite", "QEMU's ATA disk has no firmware erase to offer"
    for method in ("ata-secure-erase", "ata-secure-erase-enhanced"):
        assert "secur" in _why_not(plan, method).lower()


def test_scsi_sanitize_is_reported_unsupported(plans: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    plan = plans[stacks.standalone_scsi]
    assert plan["status"] == "ok"
    assert plan["method"] == "overwrite"
    sanitize_alternatives = [a for a in plan["alternatives"] if a["method"].startswith("scsi-sanitize-")]
    assert sanitize_alternatives, plan["alternatives"]
    for alt in sanitize_alternatives:
        assert alt["available"] is False, alt
        assert alt["why_not"], alt


@pytest.mark.parametrize(
    ("role", "method", "why"),
    [
        ("erase_namespace", "nvme-format-crypto", "FNA"),
        ("erase_namespace", "nvme-sanitize-block", "SANICAP"),
        ("standalone_sata", "ata-secure-erase", "SECUR"),
        ("standalone_scsi", "scsi-sanitize-block", "SANITIZE"),
    ],
)
def test_unsupported_method_is_refused_before_anything_is_sent(
    stacks: Stacks, role: str, method: str, why: str
) -> None:
    """A real (not dry-run) erase, confirmed: it must stop at planning and leave the data."""
    device = getattr(stacks, role)
    before = guestlab.read_head(device)
    confirm = guestlab.identity(device)
    result = guestlab.sanitize("erase", device, "--method", method, "--confirm", confirm, "--yes", "--json")
    assert result.returncode == UNSUPPORTED, (result.returncode, result.stderr)
    assert why in result.stderr.upper(), result.stderr
    assert result.stdout == ""
    assert guestlab.read_head(device) == before


def test_nvme_format_user_erases_one_namespace_and_verifies(stacks: Stacks) -> None:
    target, other = stacks.erase_namespace, stacks.spare_namespace
    target_before, other_before = guestlab.read_head(target), guestlab.read_head(other)
    result = guestlab.sanitize(
        "erase", target, "--method", "nvme-format-user", "--confirm", NVME_SERIAL, "--yes", "--json"
    )
    assert result.returncode == 0, result.stderr
    doc = result.json()
    assert doc["method"] == "nvme-format-user"
    assert doc["status"] == "verified", doc
    assert doc["verification"]["outcome"] == "passed"
    formats = [c for c in doc["commands"] if c["argv"][:2] == ["nvme", "format"]]
    assert formats and formats[0]["argv"] == ["nvme", "format", target, "--ses=1", "--force"]
    assert formats[0]["returncode"] == 0
    assert guestlab.read_head(target) != target_before
    # Format NVM acts on the named namespace only (FNA bit 0 is 0): its sibling keeps its data.
    assert guestlab.read_head(other) == other_before


@pytest.mark.parametrize("role", ["raid member", "opened LUKS disk", "logical volume"])
def test_erase_under_a_mounted_stack_is_refused(stacks: Stacks, role: str) -> None:
    device = {
        "raid member": stacks.raid_members[0],
        "opened LUKS disk": stacks.crypt_disk,
        "logical volume": stacks.lv,
    }[role]
    # The first KiB: an overwrite starts there, and neither md, LUKS nor ext4 ever writes to it.
    before = guestlab.read_head(device, 1024)
    result = guestlab.sanitize(
        "erase", device, "--method", "overwrite", "--confirm", guestlab.identity(device), "--yes", "--json"
    )
    assert result.returncode == REFUSED, (result.returncode, result.stderr)
    assert result.stderr.startswith("sanitize: error:")
    assert guestlab.read_head(device, 1024) == before
