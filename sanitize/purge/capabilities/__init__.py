"""Read-only capability probes per interface, and the per-device aggregate the planner uses.

Every probe runs external tools through `Host.run`, so a fake runner can stand in for the
hardware; a missing tool becomes a note naming its Debian package, never a crash.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from sanitize.enums import DeviceType
from sanitize.errors import ToolMissing
from sanitize.hw.host import Host
from sanitize.inventory.model import Device
from sanitize.purge.capabilities import ata, luks, nvme, scsi, sed
from sanitize.purge.capabilities.ata import AtaCapabilities, DcoState, HpaState, SanitizeStatus
from sanitize.purge.capabilities.luks import LuksHeader
from sanitize.purge.capabilities.nvme import NvmeCapabilities
from sanitize.purge.capabilities.scsi import ScsiCapabilities
from sanitize.purge.capabilities.sed import SedInfo

__all__ = ["Capabilities", "interface_of", "probe_device"]


@dataclass
class Capabilities:
    device: str
    interface: str  # nvme | ata | scsi | other
    nvme: NvmeCapabilities | None = None
    ata: AtaCapabilities | None = None
    ata_sanitize_status: SanitizeStatus | None = None
    hpa: HpaState | None = None
    dco: DcoState | None = None
    scsi: ScsiCapabilities | None = None
    luks: LuksHeader | None = None
    sed: SedInfo | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def self_encrypting(self) -> bool:
        """A hint only: IDENTIFY says "Device encrypts all user data", or TCG reports MediaEncrypt."""
        return bool((self.ata and self.ata.self_encrypting) or (self.sed and self.sed.media_encrypt))

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"interface": self.interface, "notes": list(self.notes)}
        for key in ("nvme", "ata", "scsi", "luks"):
            value = getattr(self, key)
            doc[key] = value.to_dict() if value is not None else None
        if self.ata_sanitize_status is not None:
            s = self.ata_sanitize_status
            doc["ata_sanitize_status"] = {"state": s.state, "completed_without_error": s.completed_without_error}
        if self.hpa is not None:
            doc["hpa"] = {"current": self.hpa.current, "native": self.hpa.native, "enabled": self.hpa.enabled}
        if self.dco is not None:
            doc["dco"] = {"real_max_sectors": self.dco.real_max_sectors}
        if self.sed is not None:
            doc["sed"] = {
                "opal": self.sed.opal,
                "media_encrypt": self.sed.media_encrypt,
                "locking_enabled": self.sed.locking_enabled,
                "locked": self.sed.locked,
            }
        doc["self_encrypting"] = self.self_encrypting
        return doc


def interface_of(device: Device) -> str:
    name = device.name
    if re.match(r"^nvme\d+n\d+$", name) or device.transport == "nvme":
        return "nvme"
    if device.transport in ("sata", "ata"):
        return "ata"
    if device.transport in ("sas", "scsi", "fc", "iscsi", "usb", "spi") or re.match(r"^sd[a-z]+$", name):
        return "scsi"
    return "other"


def probe_device(host: Host, device: Device, *, luks_header: str | None = None) -> Capabilities:
    """Everything the planner needs about one device; writes nothing."""
    caps = Capabilities(device=device.path, interface=interface_of(device))
    whole_disk = device.type == DeviceType.DISK and device.parent is None
    try:
        if whole_disk and caps.interface == "nvme":
            controller = nvme.resolve_controller(host, device.name, device.controller)
            if controller:
                caps.nvme = nvme.probe(host, controller)
        elif whole_disk and caps.interface == "scsi":
            caps.scsi = scsi.probe(host, device.path)
            if caps.scsi.inquiry.is_ata_behind_sat:
                caps.interface = "ata"
        if whole_disk and caps.interface == "ata":
            _probe_ata(host, device.path, caps)
    except ToolMissing as exc:
        caps.notes.append(f"{exc.one_line()}: firmware capabilities unknown")
    if whole_disk and caps.interface in ("ata", "scsi", "nvme"):
        with contextlib.suppress(ToolMissing):  # sedutil is optional: IDENTIFY gives the ATA hint
            caps.sed = sed.probe(host, caps.nvme.controller if caps.nvme else device.path)
    if device.fstype == "crypto_LUKS" or luks_header:
        try:
            caps.luks = luks.probe(host, device.path, luks_header)
        except ToolMissing as exc:
            caps.notes.append(f"{exc.one_line()}: LUKS header not read")
    return caps


def _probe_ata(host: Host, path: str, caps: Capabilities) -> None:
    caps.ata = ata.probe(host, path)
    if caps.ata.has("sanitize"):
        caps.ata_sanitize_status = ata.read_sanitize_status(host, path)
    if caps.ata.has("hpa_feature"):
        caps.hpa = ata.probe_hpa(host, path)
    if caps.ata.has("dco_feature"):
        caps.dco = ata.probe_dco(host, path)
