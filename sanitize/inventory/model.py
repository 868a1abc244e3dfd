"""The device model: immutable devices in a tree, looked up by path, name, serial or WWN."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sanitize.enums import DeviceType, MediaType

INVENTORY_SCHEMA = "sanitize.inventory/1"


@dataclass(frozen=True)
class Device:
    """One block device or volume, with the fields of the `sanitize.inventory/1` schema."""

    path: str  # /dev/sda1
    name: str  # kernel name: sda1, nvme0n1p2, dm-0, loop3
    type: DeviceType
    size_bytes: int
    logical_sector_size: int
    physical_sector_size: int
    rotational: bool | None
    transport: str | None  # nvme, sata, sas, scsi, usb, virtio, mmc, loop, ...
    media_type: MediaType
    vendor: str | None
    model: str | None
    serial: str | None
    wwn: str | None
    firmware: str | None
    read_only: bool
    removable: bool
    pttype: str | None
    fstype: str | None
    label: str | None
    uuid: str | None
    mountpoints: tuple[str, ...]
    parent: str | None  # path of the parent (a partition's disk); None for top-level devices
    children: tuple[str, ...]  # paths of partitions and of devices stacked on this one
    holders: tuple[str, ...]  # paths of devices that hold this one open (dm, md)
    slaves: tuple[str, ...]  # paths of devices this one is built on (for dm, md)
    protected: bool
    protected_reasons: tuple[str, ...]
    devno: str = ""  # "major:minor"
    backing_file: str | None = None  # loop devices: their identity
    controller: str | None = None  # NVMe: the controller character device, /dev/nvme0
    partuuid: str | None = None
    partlabel: str | None = None
    sys_path: str | None = None
    start_bytes: int | None = None  # partitions: offset on their disk (drawn to scale in the report)
    links: tuple[str, ...] = ()  # udev's /dev/disk/by-id and by-path names: who the device is without a serial
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for key in ("mountpoints", "children", "holders", "slaves", "protected_reasons", "links"):
            doc[key] = list(doc[key])
        doc.pop("extra")
        doc.pop("sys_path")
        return doc

    @property
    def identity(self) -> str:
        """What a person types to confirm this device: its serial, else its kernel name."""
        return self.serial or self.name


@dataclass(frozen=True)
class DeviceTree:
    devices: tuple[Device, ...]

    def __iter__(self) -> Iterator[Device]:
        return iter(self.devices)

    def __len__(self) -> int:
        return len(self.devices)

    def get(self, key: str) -> Device | None:
        """Look a device up by /dev path, kernel name, serial or WWN."""
        for dev in self.devices:
            if key in (dev.path, dev.name):
                return dev
        for dev in self.devices:
            if dev.serial and key == dev.serial and dev.parent is None:
                return dev
            if dev.wwn and key.lower() in (dev.wwn.lower(), dev.wwn.lower().removeprefix("0x")):
                return dev
        return None

    def roots(self) -> list[Device]:
        """Top-level devices: those with no parent and built on no other device."""
        return [d for d in self.devices if d.parent is None and not d.slaves]

    def children_of(self, dev: Device) -> list[Device]:
        return [c for c in (self.get(p) for p in dev.children) if c is not None]

    def descendants(self, dev: Device) -> list[Device]:
        seen: dict[str, Device] = {}
        stack = self.children_of(dev)
        while stack:
            child = stack.pop()
            if child.path in seen:
                continue
            seen[child.path] = child
            stack.extend(self.children_of(child))
        return list(seen.values())

    def ancestors(self, dev: Device) -> list[Device]:
        """Everything `dev` is built on: its parent disk and, for dm/md, their members."""
        out: dict[str, Device] = {}
        stack = [p for p in (dev.parent, *dev.slaves) if p]
        while stack:
            path = stack.pop()
            if path in out:
                continue
            found = self.get(path)
            if found is None:
                continue
            out[path] = found
            stack.extend(p for p in (found.parent, *found.slaves) if p)
        return list(out.values())
