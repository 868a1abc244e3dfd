"""The words inventories, plans, results and certificates share, one enum each.

Values are the strings of the JSON documents (docs/schemas.md): a `StrEnum` member is the
string itself, so documents, comparisons and sorting are unchanged. Erase writes these
words and certify reads them; both import them from here.
"""

from __future__ import annotations

from enum import StrEnum


class NistLevel(StrEnum):
    """NIST SP 800-88 sanitization level a method reaches on a given medium."""

    CLEAR = "clear"
    PURGE = "purge"


class Status(StrEnum):
    """How an erase of one device ended; only `verified` can be certified."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"  # written, but the operator chose --verify none
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Outcome(StrEnum):
    """The outcome of a verification."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class PhaseStatus(StrEnum):
    """How far one phase of an erase (write, verify, carve-check, ...) got."""

    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    NOT_REACHED = "not reached"


class MediaType(StrEnum):
    HDD = "hdd"
    SSD = "ssd"
    NVME = "nvme"
    USB_FLASH = "usb-flash"
    USB_HDD = "usb-hdd"
    FLASH = "flash"  # eMMC/SD behind an mmc host
    VIRTUAL = "virtual"
    OPTICAL = "optical"
    RAM = "ram"
    UNKNOWN = "unknown"

    @property
    def is_flash(self) -> bool:
        """Media whose spare and remapped blocks a host overwrite cannot reach (NIST: Clear only)."""
        return self in FLASH_MEDIA


FLASH_MEDIA = frozenset({MediaType.SSD, MediaType.NVME, MediaType.USB_FLASH})


class DeviceType(StrEnum):
    """What a block device is: a disk, a partition, or a device built on others."""

    DISK = "disk"
    PART = "part"
    LOOP = "loop"
    CRYPT = "crypt"
    LVM = "lvm"
    MPATH = "mpath"
    DM = "dm"  # another device-mapper target
    ROM = "rom"
    MD = "md"  # an md array whose level the kernel did not name
    RAID0 = "raid0"
    RAID1 = "raid1"
    RAID4 = "raid4"
    RAID5 = "raid5"
    RAID6 = "raid6"
    RAID10 = "raid10"
    LINEAR = "linear"
    MULTIPATH = "multipath"
    FAULTY = "faulty"
    CONTAINER = "container"

    @classmethod
    def of_md_level(cls, level: str | None) -> DeviceType:
        """The type of an md array from its sysfs `md/level`."""
        try:
            return cls(level) if level else cls.MD
        except ValueError:
            return cls.MD
