"""Device objects for unit tests that need an inventory without a machine."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from sanitize.inventory.model import Device

_PLAIN = Device(
    path="/dev/placeholder",
    name="placeholder",
    type="disk",
    size_bytes=64 << 20,
    logical_sector_size=512,
    physical_sector_size=512,
    rotational=False,
    transport="virtio",
    media_type="ssd",
    vendor=None,
    model="Test",
    serial="SER123",
    wwn=None,
    firmware=None,
    read_only=False,
    removable=False,
    pttype=None,
    fstype=None,
    label=None,
    uuid=None,
    mountpoints=(),
    parent=None,
    children=(),
    holders=(),
    slaves=(),
    protected=False,
    protected_reasons=(),
)


def make_device(path: str, **overrides: Any) -> Device:
    """An idle, unprotected 64 MiB disk at `path`; tests override only what they are about."""
    fields: dict[str, Any] = {"name": os.path.basename(path)}
    fields.update(overrides)
    return replace(_PLAIN, path=path, **fields)
