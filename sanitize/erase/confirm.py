"""Confirmation: nothing is written unless the user named the device and typed its identity.

The identity is the device's serial number, or its kernel name (`loop3`, `sdb1`) when it
has none (`Device.identity`). Interactively the user types it at a prompt; otherwise
`--confirm VALUE` must match. For several devices give one `--confirm` per device, in
the same order as the devices, or a single comma-separated list
(`--confirm S1,S2`). `--yes` alone is never enough: it cannot tell which disk the
user meant.

The expected value is not echoed in error messages, so a script cannot be "fixed" by
pasting the answer from the error without looking at the device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sanitize.errors import Refused
from sanitize.inventory.model import Device

Prompt = Callable[[str], str]


def _what(device: Device) -> str:
    return "serial" if device.serial else "kernel name"


def _describe(device: Device) -> str:
    model = " ".join(p for p in (device.vendor, device.model) if p) or device.type
    return f"{device.path} ({model}, {device.size_bytes} bytes, {device.media_type})"


def split_values(devices: Sequence[Device], values: Sequence[str]) -> list[str]:
    if len(values) == 1 and len(devices) > 1:
        values = values[0].split(",")
    values = [v.strip() for v in values]
    if len(values) != len(devices):
        raise Refused(
            f"{len(devices)} device(s) need {len(devices)} confirmation value(s), got {len(values)} "
            "(one --confirm per device in order, or one comma-separated list)"
        )
    return values


def confirm_devices(
    devices: Sequence[Device],
    values: Sequence[str],
    *,
    yes: bool,
    interactive: bool,
    prompt: Prompt,
) -> None:
    """Return only when every device is confirmed; otherwise raise Refused (exit 4)."""
    if values:
        for device, value in zip(devices, split_values(devices, values), strict=True):
            if value != device.identity:
                raise Refused(
                    f"{device.path}: --confirm value does not match its {_what(device)} (see `sanitize inventory`)"
                )
        return
    if yes:
        raise Refused(
            "--yes alone is not enough: also pass --confirm with each device's serial (or kernel name when it has none)"
        )
    if not interactive:
        raise Refused("confirmation needed: pass --confirm with each device's serial (or kernel name when it has none)")
    for device in devices:
        typed = prompt(f"Erase {_describe(device)}? Type its {_what(device)} to confirm").strip()
        if typed != device.identity:
            raise Refused(f"{device.path}: typed value does not match its {_what(device)}; nothing was written")
