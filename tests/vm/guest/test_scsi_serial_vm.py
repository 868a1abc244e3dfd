"""Waits for a fix in sanitize/inventory/probe.py (`_identity`): a SCSI/SAS disk's serial is the
unit serial number (VPD page 0x80, udev ID_SCSI_SERIAL), not udev's ID_SERIAL_SHORT, which scsi_id
fills with the WWN whenever the disk reports an NAA designator (every SAS drive does). Today the
inventory shows the WWN as the serial, and lookup or confirmation by the label's serial fails."""

from __future__ import annotations

import pytest

from tests.vm.guest import guestlab
from tests.vm.guest.guestlab import Stacks

pytestmark = pytest.mark.vm


@pytest.mark.parametrize("disk_id", ["scsi0", "scsi1", "scsi2"])
def test_scsi_serial_is_the_unit_serial_number(stacks: Stacks, disk_id: str) -> None:
    doc = guestlab.sanitize_json("inventory", "--no-scan", guestlab.disk_path(disk_id))
    assert doc["devices"][0]["serial"] == guestlab.disk(disk_id)["serial"]


def test_lookup_by_scsi_label_serial(stacks: Stacks) -> None:
    doc = guestlab.sanitize_json("inventory", "--no-scan", guestlab.disk("scsi2")["serial"])
    paths = [d["path"] for d in doc["devices"]]
    assert paths[0] == stacks.cache_disk, paths
