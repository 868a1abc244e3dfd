"""Sanitization level and technique of each method per media type: the table docs/methods.md explains.

NIST SP 800-88 Rev. 2 (September 2025) defines the Clear, Purge and Destroy methods and, except
for cryptographic erase, leaves the techniques per media and interface to IEEE 2883-2022. IEEE
2883 is not public; its per-interface table is read here through the interface specifications
(NVMe, ATA/ACS, SCSI/SBC) and openSeaChest's encoding of it (`get_Supported_Erase_Methods`).
Where that reading and the withdrawn Rev. 1's media tables differ, the stricter level is used
and docs/methods.md says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sanitize.enums import FLASH_MEDIA, NistLevel

CLEAR = NistLevel.CLEAR
PURGE = NistLevel.PURGE

# method -> (level on HDD, level on flash). Flash = SSD, NVMe, USB flash.
LEVELS: dict[str, tuple[NistLevel, NistLevel]] = {
    "nvme-sanitize-crypto": (PURGE, PURGE),
    "nvme-sanitize-block": (PURGE, PURGE),
    "nvme-sanitize-overwrite": (PURGE, PURGE),
    # IEEE 2883 (via openSeaChest): only the crypto variant of Format NVM can be a Purge.
    "nvme-format-crypto": (PURGE, PURGE),
    "nvme-format-user": (CLEAR, CLEAR),
    "ata-sanitize-crypto": (PURGE, PURGE),
    "ata-sanitize-block": (PURGE, PURGE),
    "ata-sanitize-overwrite": (PURGE, PURGE),
    # Enhanced SECURITY ERASE UNIT purges an ATA HDD, but on flash SECURITY ERASE UNIT is
    # "only a Clear mechanism" (the stricter reading, from Rev. 1's ATA SSD table).
    "ata-secure-erase-enhanced": (PURGE, CLEAR),
    "ata-secure-erase": (CLEAR, CLEAR),
    "scsi-sanitize-crypto": (PURGE, PURGE),
    "scsi-sanitize-block": (PURGE, PURGE),
    "scsi-sanitize-overwrite": (PURGE, PURGE),
    # Cryptographic erase of a LUKS volume: Purge only when no other copy of the key exists.
    "luks-crypto-erase": (PURGE, PURGE),
    # TCG revert of a drive that encrypts all media: cryptographic erase (Rev. 2's CE guidance).
    "tcg-psid-revert": (PURGE, PURGE),
}


def is_flash(media_type: str) -> bool:
    return media_type in FLASH_MEDIA


def level_of(method: str, media_type: str) -> NistLevel:
    hdd, flash = LEVELS[method]
    return flash if is_flash(media_type) else hdd


NIST_STANDARD = "NIST SP 800-88 Rev. 2"
IEEE_STANDARD = "IEEE 2883-2022"


@dataclass(frozen=True)
class Technique:
    """How a method sanitizes, named as IEEE 2883 and the interface specifications name it."""

    technique: str  # IEEE 2883 technique: cryptographic erase, block erase, overwrite, ...
    interface_command: str  # the command (and action) on the device's interface that performs it
    logical: bool = True  # Rev. 2: a logical technique (over the interface), as opposed to physical

    def to_dict(self) -> dict[str, str | bool]:
        return {"technique": self.technique, "interface_command": self.interface_command, "logical": self.logical}


TECHNIQUES: dict[str, Technique] = {
    "nvme-sanitize-crypto": Technique("cryptographic erase", "NVMe Sanitize, Crypto Erase action (SANACT 100b)"),
    "nvme-sanitize-block": Technique("block erase", "NVMe Sanitize, Block Erase action (SANACT 010b)"),
    "nvme-sanitize-overwrite": Technique("overwrite", "NVMe Sanitize, Overwrite action (SANACT 011b)"),
    "nvme-format-crypto": Technique(
        "cryptographic erase", "NVMe Format NVM, Secure Erase Settings: Cryptographic Erase (SES 010b)"
    ),
    "nvme-format-user": Technique(
        "user data erase", "NVMe Format NVM, Secure Erase Settings: User Data Erase (SES 001b)"
    ),
    "ata-sanitize-crypto": Technique("cryptographic erase", "ATA SANITIZE DEVICE: CRYPTO SCRAMBLE EXT"),
    "ata-sanitize-block": Technique("block erase", "ATA SANITIZE DEVICE: BLOCK ERASE EXT"),
    "ata-sanitize-overwrite": Technique("overwrite", "ATA SANITIZE DEVICE: OVERWRITE EXT"),
    "ata-secure-erase-enhanced": Technique("secure erase", "ATA SECURITY ERASE UNIT, enhanced mode"),
    "ata-secure-erase": Technique("secure erase", "ATA SECURITY ERASE UNIT, normal mode"),
    "scsi-sanitize-crypto": Technique("cryptographic erase", "SCSI SANITIZE, CRYPTOGRAPHIC ERASE service action"),
    "scsi-sanitize-block": Technique("block erase", "SCSI SANITIZE, BLOCK ERASE service action"),
    "scsi-sanitize-overwrite": Technique("overwrite", "SCSI SANITIZE, OVERWRITE service action"),
    "luks-crypto-erase": Technique(
        "cryptographic erase", "none: host software (cryptsetup erase) destroys the LUKS key slots, then the header"
    ),
    "tcg-psid-revert": Technique(
        "cryptographic erase", "TCG Storage (Opal/Enterprise) Revert with the PSID authority: a new media key"
    ),
    "overwrite": Technique("overwrite", "host WRITE commands to every user-addressable sector"),
}


def technique_of(method: str) -> Technique | None:
    return TECHNIQUES.get(method)


def standard_of(method: str, level: str) -> dict[str, str | None]:
    """What a plan, a report and a certificate cite for `method` done at `level`."""
    tech = technique_of(method)
    return {
        "nist": NIST_STANDARD,
        "nist_method": str(level).capitalize(),
        "ieee2883": IEEE_STANDARD,
        "technique": tech.technique if tech else None,
        "interface_command": tech.interface_command if tech else None,
    }


def standard_line(method: str, level: str) -> str:
    """One line for people: "NIST SP 800-88 Rev. 2 Purge; IEEE 2883-2022 cryptographic erase (NVMe ...)"."""
    std = standard_of(method, level)
    line = f"{std['nist']} {std['nist_method']}"
    if std["technique"]:
        line += f"; {std['ieee2883']} {std['technique']} ({std['interface_command']})"
    return line
