"""Build the device tree from sysfs, udev and (without udev) a read-only blkid probe.

Sources, in order of trust: sysfs for topology and sizes (always there); udev's ID_*
properties for identity and filesystems when udevd has run; `blkid -p` when it has not.
Nothing here writes to any device.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sanitize.enums import DeviceType, MediaType
from sanitize.hw.blkid import probe_filesystem
from sanitize.hw.host import Host, Mount
from sanitize.hw.nvme_sysfs import controller_of_namespace
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.protect import protect

Reader = Callable[..., str | None]

SECTOR = 512  # sysfs `size` is always in 512-byte units, whatever the device's sector size


@dataclass(frozen=True)
class _Raw:
    """What we learn about one kernel block device before relations are resolved."""

    name: str
    sysdir: str
    parent_name: str | None
    props: Mapping[str, str]


def probe(host: Host) -> DeviceTree:
    raws = [raw for name in host.list_sys("class", "block") if (raw := _read_raw(host, name)) is not None]
    by_name = {r.name: r for r in raws}
    mounts = host.mounts()
    swaps = set(host.swaps())
    devices = [_device(host, raw, by_name, mounts) for raw in raws]
    return protect(DeviceTree(tuple(devices)), host, swaps=swaps, self_devnos=host.running_from())


def _read_raw(host: Host, name: str) -> _Raw | None:
    if not host.sys_is_dir("class", "block", name):
        return None
    sysdir = host.sys_realpath("class", "block", name)
    if _absent(host, name):
        return None
    parent_name = None
    if host.read_sys("class", "block", name, "partition") is not None:
        parent_name = os.path.basename(os.path.dirname(sysdir))
        if _absent(host, parent_name):
            return None  # a partition left behind on a detached loop device
    props = dict(host.udev(name))
    return _Raw(name, sysdir, parent_name, props)


def _absent(host: Host, name: str) -> bool:
    """Unattached loop devices and empty RAM disks are slots, not devices: lsblk hides them too."""
    if not name.startswith(("loop", "zram", "ram")):
        return False
    return (host.read_sys("class", "block", name, "size") or "0") == "0"


def _udev_initialized(props: Mapping[str, str]) -> bool:
    return "USEC_INITIALIZED" in props or any(k.startswith("ID_") for k in props)


def _device(host: Host, raw: _Raw, by_name: Mapping[str, _Raw], mounts: list[Mount]) -> Device:
    name, props = raw.name, raw.props
    whole = raw.parent_name or name

    def rd(*parts: str) -> str | None:
        return host.read_sys("class", "block", name, *parts)

    def wd(*parts: str) -> str | None:
        return host.read_sys("class", "block", whole, *parts)

    path = host.devnode(name)
    devno = rd("dev") or ""
    dtype = _type(name, raw.parent_name is not None, rd)
    rotational = _flag(wd("queue", "rotational"))
    fs = dict(props) if _udev_initialized(props) else probe_filesystem(host, path)
    identity = _identity(host, whole, props, wd)
    transport = _transport(whole, raw.sysdir if raw.parent_name is None else os.path.dirname(raw.sysdir), props)
    children = [r.name for r in by_name.values() if r.parent_name == name]
    holders = host.list_sys("class", "block", name, "holders")
    slaves = host.list_sys("class", "block", name, "slaves")
    mine = [m for m in mounts if m.devno == devno or os.path.realpath(m.source) == path]
    mountpoints = tuple(sorted({m.mountpoint for m in mine}))
    if not fs.get("ID_FS_TYPE") and not fs.get("TYPE") and mine:
        fs["TYPE"] = mine[0].fstype  # blkid cannot open some mounted devices in containers
    backing = rd("loop", "backing_file") if name.startswith("loop") else None
    if backing is None and raw.parent_name and raw.parent_name.startswith("loop"):
        backing = wd("loop", "backing_file")
    return Device(
        path=path,
        name=name,
        type=dtype,
        size_bytes=int(rd("size") or 0) * SECTOR,
        logical_sector_size=int(wd("queue", "logical_block_size") or 512),
        physical_sector_size=int(wd("queue", "physical_block_size") or 512),
        rotational=rotational,
        transport=transport,
        media_type=_media_type(whole, dtype, transport, rotational, props),
        vendor=identity["vendor"],
        model=identity["model"],
        serial=identity["serial"],
        wwn=identity["wwn"],
        firmware=identity["firmware"],
        read_only=_flag(rd("ro")) or False,
        removable=_flag(wd("removable")) or False,
        pttype=fs.get("ID_PART_TABLE_TYPE") or fs.get("PTTYPE") or None,
        fstype=fs.get("ID_FS_TYPE") or fs.get("TYPE") or None,
        label=fs.get("ID_FS_LABEL") or fs.get("LABEL") or None,
        uuid=fs.get("ID_FS_UUID") or fs.get("UUID") or None,
        partuuid=fs.get("ID_PART_ENTRY_UUID") or fs.get("PART_ENTRY_UUID") or None,
        partlabel=fs.get("ID_PART_ENTRY_NAME") or fs.get("PART_ENTRY_NAME") or None,
        mountpoints=mountpoints,
        parent=host.devnode(raw.parent_name) if raw.parent_name else None,
        children=tuple(host.devnode(c) for c in sorted(set(children) | set(holders))),
        holders=tuple(host.devnode(h) for h in holders),
        slaves=tuple(host.devnode(s) for s in slaves),
        protected=False,
        protected_reasons=(),
        devno=devno,
        backing_file=backing,
        controller=_nvme_controller(host, whole),
        sys_path=raw.sysdir,
        start_bytes=_start_bytes(rd("start")) if raw.parent_name else None,
        links=_identity_links(props),
    )


# udev names that identify the physical device (by-id: model and serial, WWN; by-path: the slot).
# by-uuid, by-label and by-partuuid name filesystems and partitions, which the sanitization destroys.
IDENTITY_LINK_DIRS = ("/dev/disk/by-id/", "/dev/disk/by-path/")


def _start_bytes(start: str | None) -> int | None:
    return int(start) * SECTOR if start and start.isdigit() else None


def _identity_links(props: Mapping[str, str]) -> tuple[str, ...]:
    links = props.get("DEVLINKS", "").split()
    return tuple(sorted(link for link in links if link.startswith(IDENTITY_LINK_DIRS)))


DM_UUID_PREFIXES = (
    ("CRYPT-", DeviceType.CRYPT),
    ("LVM-", DeviceType.LVM),
    ("mpath-", DeviceType.MPATH),
    ("part", DeviceType.PART),
)


def _type(name: str, is_partition: bool, read: Reader) -> DeviceType:
    if is_partition:
        return DeviceType.PART
    if name.startswith("loop"):
        return DeviceType.LOOP
    if name.startswith("dm-"):
        uuid = read("dm", "uuid") or ""
        for prefix, kind in DM_UUID_PREFIXES:
            if uuid.startswith(prefix):
                return kind
        return DeviceType.DM
    if name.startswith("md"):
        return DeviceType.of_md_level(read("md", "level"))
    if name.startswith("sr"):
        return DeviceType.ROM
    return DeviceType.DISK


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip() == "1"


def _transport(whole: str, sysdir: str, props: Mapping[str, str]) -> str | None:
    if whole.startswith(("loop", "dm-", "md", "zram", "ram")):
        return None
    bus = props.get("ID_BUS")
    if bus == "ata":
        return "sata" if props.get("ID_ATA_SATA") == "1" or "/ata" in sysdir else "ata"
    if bus == "usb" or "/usb" in sysdir:
        return "usb"
    if whole.startswith("nvme") or "/nvme" in sysdir:
        return "nvme"
    if whole.startswith("vd"):
        return "virtio"
    if whole.startswith("mmcblk"):
        return "mmc"
    if "/ata" in sysdir:
        return "sata"
    if "/end_device-" in sysdir or "/sas" in sysdir:
        return "sas"
    if whole.startswith("sd") or whole.startswith("sr"):
        return "scsi"
    return bus or None


VIRTUAL_TYPES = (DeviceType.LOOP, DeviceType.CRYPT, DeviceType.LVM, DeviceType.DM, DeviceType.MPATH)


def _media_type(
    whole: str, dtype: DeviceType, transport: str | None, rotational: bool | None, props: Mapping[str, str]
) -> MediaType:
    if dtype in VIRTUAL_TYPES or dtype.startswith("raid") or whole.startswith("md"):
        return MediaType.VIRTUAL
    if whole.startswith(("zram", "ram")):
        return MediaType.RAM
    if dtype == DeviceType.ROM:
        return MediaType.OPTICAL
    if transport == "nvme":
        return MediaType.NVME
    if transport == "usb":
        return MediaType.USB_HDD if rotational else MediaType.USB_FLASH
    if transport == "mmc":
        return MediaType.FLASH
    if transport == "virtio":
        return MediaType.VIRTUAL
    if props.get("ID_ATA_ROTATION_RATE_RPM") == "0":
        return MediaType.SSD
    if rotational is True:
        return MediaType.HDD
    if rotational is False:
        return MediaType.SSD
    return MediaType.UNKNOWN


def _identity(host: Host, whole: str, props: Mapping[str, str], read_whole: Reader) -> dict[str, str | None]:
    def dev_attr(*parts: str) -> str | None:
        value = read_whole("device", *parts)
        return (value.strip() or None) if value else None

    # device/vendor is a SCSI INQUIRY vendor for sd/sr, but a PCI vendor id for virtio.
    vendor = props.get("ID_VENDOR") or (dev_attr("vendor") if whole.startswith(("sd", "sr")) else None)
    model = props.get("ID_MODEL_ENC", "").replace("\\x20", " ").strip() or props.get("ID_MODEL") or dev_attr("model")
    # SAS/SCSI disks with an NAA WWN get the WWN in ID_SERIAL_SHORT; the unit serial
    # (VPD page 0x80) is ID_SCSI_SERIAL, as lsblk reports it.
    serial = (
        props.get("ID_SCSI_SERIAL") or props.get("ID_SERIAL_SHORT") or dev_attr("serial") or _vpd_serial(host, whole)
    )
    wwn = props.get("ID_WWN_WITH_EXTENSION") or props.get("ID_WWN") or _wwn_from_sysfs(read_whole)
    firmware = props.get("ID_REVISION") or dev_attr("firmware_rev") or dev_attr("rev")
    if vendor and vendor.strip().upper() == "ATA" and model:
        # libata reports vendor "ATA"; the real maker is the model's first word.
        vendor = model.split()[0] if " " in model else vendor
    if whole.startswith(("loop", "dm-", "md", "zram")):
        vendor = model = serial = wwn = firmware = None
    return {
        "vendor": vendor.strip() if vendor else None,
        "model": model.strip() if model else None,
        "serial": serial.strip() if serial else None,
        "wwn": wwn,
        "firmware": firmware.strip() if firmware else None,
    }


def _vpd_serial(host: Host, whole: str) -> str | None:
    """The unit serial number from SCSI VPD page 0x80 (header of 4 bytes, then the serial)."""
    page = host.read_sys_bytes("class", "block", whole, "device", "vpd_pg80", limit=256)
    if page is None or len(page) < 4:
        return None
    return page[4 : 4 + page[3]].decode("ascii", "replace").strip() or None


def _wwn_from_sysfs(read_whole: Reader) -> str | None:
    for parts in (("wwid",), ("device", "wwid")):
        value = read_whole(*parts)
        if not value:
            continue
        value = value.strip()
        if value.startswith("naa."):
            return "0x" + value[4:].lower()
        if value.startswith(("eui.", "nvme.")):
            return value.lower()  # NVMe namespace identifiers, as udev's ID_WWN gives them
    return None


def _nvme_controller(host: Host, whole: str) -> str | None:
    return controller_of_namespace(host, whole) if whole.startswith("nvme") else None
