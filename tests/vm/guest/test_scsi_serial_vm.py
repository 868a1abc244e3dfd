"""A SCSI/SAS disk's serial is its unit serial number (VPD page 0x80, udev ID_SCSI_SERIAL), not
udev's ID_SERIAL_SHORT, which scsi_id fills with the WWN whenever the disk reports an NAA
designator (every SAS drive does); lookup and confirmation go by the serial on the label."""

from __future__ import annotations

import pytest

from tests.vm.guest import guestlab
from tests.vm.guest.guestlab import Stacks

pytestmark = pytest.mark.vm


@pytest.mark.parametrize("disk_id", ["scsi0", "scsi1", "scsi2"])
def test_scsi_serial_is_the_unit_serial_number(stacks: Stacks, disk_id: str) -> None:
    path = guestlab.disk_path(disk_id)
    doc = guestlab.sanitize_json("inventory", "--no-scan", path)
    # The named disk comes with what is built on it (an md array, its LV), in any order.
    (dev,) = [d for d in doc["devices"] if d["path"] == path]
    assert dev["serial"] == guestlab.disk(disk_id)["serial"]


def test_lookup_by_scsi_label_serial(stacks: Stacks) -> None:
    doc = guestlab.sanitize_json("inventory", "--no-scan", guestlab.disk("scsi2")["serial"])
    paths = [d["path"] for d in doc["devices"]]
    assert paths[0] == stacks.cache_disk, paths
