"""The host identity that certificates name as the media source."""

from __future__ import annotations

from sanitize.hw.host import Host

# Our field names -> the DMI attributes under /sys/class/dmi/id.
DMI_FIELDS = {
    "system_vendor": "sys_vendor",
    "product_name": "product_name",
    "product_serial": "product_serial",
    "product_uuid": "product_uuid",
    "chassis_asset_tag": "chassis_asset_tag",
    "board_serial": "board_serial",
}


def host_identity(host: Host) -> dict[str, str | None]:
    identity: dict[str, str | None] = {"hostname": host.hostname(), "machine_id": host.machine_id()}
    identity.update({ours: host.read_sys("class", "dmi", "id", theirs) or None for ours, theirs in DMI_FIELDS.items()})
    identity["kernel"] = host.kernel_release()
    return identity
