"""What the emulated hardware does, checked with the raw tools (no `sanitize` code).

The plan/erase tests assume these facts (docs/test-lab.md); if a QEMU update changes one of them,
these tests say so directly instead of leaving a puzzling failure in a `sanitize` test.
"""

from __future__ import annotations

import json

import pytest

from tests.vm.guest import guestlab
from tests.vm.guest.guestlab import Stacks, sh

pytestmark = pytest.mark.vm

OACS_FORMAT = 1 << 1
FNA_CRYPTO_ERASE = 1 << 2


@pytest.mark.parametrize("ctrl_id", ["nvme0", "nvme1"])
def test_nvme_controller_capabilities(ctrl_id: str) -> None:
    out = sh("nvme", "id-ctrl", guestlab.nvme_controller_path(ctrl_id), "-o", "json").stdout
    ctrl = json.loads(out)
    assert ctrl["sn"].strip() == guestlab.nvme_controller(ctrl_id)["serial"]
    assert ctrl["oacs"] & OACS_FORMAT, "Format NVM is supported"
    assert not ctrl["fna"] & FNA_CRYPTO_ERASE, "crypto erase is not advertised"
    assert ctrl["sanicap"] == 0, "no Sanitize operation is supported"


def test_nvme_controller_lists_both_namespaces() -> None:
    out = sh("nvme", "list-ns", guestlab.nvme_controller_path("nvme0"), "-o", "json").stdout
    nsids = sorted(entry["nsid"] for entry in json.loads(out)["nsid_list"])
    assert nsids == [1, 2]


def test_ata_disk_has_no_security_feature_set(stacks: Stacks) -> None:
    identify = sh("hdparm", "-I", stacks.standalone_sata).stdout.decode()
    assert "Model Number:" in identify
    assert "Security:" not in identify


def test_hdparm_reports_success_for_an_aborted_security_erase(stacks: Stacks) -> None:
    """The reason `sanitize` must never trust hdparm's exit code."""
    before = guestlab.read_head(stacks.standalone_sata)
    set_pass = sh("hdparm", "--user-master", "u", "--security-set-pass", "lab", stacks.standalone_sata, check=False)
    erase = sh("hdparm", "--user-master", "u", "--security-erase", "lab", stacks.standalone_sata, check=False)
    assert (set_pass.returncode, erase.returncode) == (0, 0)
    assert guestlab.read_head(stacks.standalone_sata) == before


def test_scsi_disk_rejects_sanitize(stacks: Stacks) -> None:
    before = guestlab.read_head(stacks.standalone_scsi)
    proc = sh("sg_sanitize", "--block", "--quick", stacks.standalone_scsi, check=False)
    assert proc.returncode == 9, proc.stderr  # sg3_utils: illegal request, invalid opcode
    assert guestlab.read_head(stacks.standalone_scsi) == before
