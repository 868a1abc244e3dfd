"""NIST SP 800-88 level of each method per media type: the one table docs/methods.md explains.

Sources (see docs/methods.md): NIST SP 800-88 Rev. 1 Appendix A media tables, and where
they are silent or dated, openSeaChest's IEEE 2883 encoding (`get_Supported_Erase_Methods`).
"""

from __future__ import annotations

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
    # NIST Rev. 1: Enhanced SECURITY ERASE UNIT purges an ATA HDD, but SECURITY ERASE UNIT
    # is "only a Clear mechanism for flash" (ATA SSD table).
    "ata-secure-erase-enhanced": (PURGE, CLEAR),
    "ata-secure-erase": (CLEAR, CLEAR),
    "scsi-sanitize-crypto": (PURGE, PURGE),
    "scsi-sanitize-block": (PURGE, PURGE),
    "scsi-sanitize-overwrite": (PURGE, PURGE),
    # Cryptographic erase of a LUKS volume: Purge only when no other copy of the key exists.
    "luks-crypto-erase": (PURGE, PURGE),
    # TCG revert of a drive that encrypts all media: cryptographic erase (Rev. 1 §2.6, Appendix A).
    "tcg-psid-revert": (PURGE, PURGE),
}


def is_flash(media_type: str) -> bool:
    return media_type in FLASH_MEDIA


def level_of(method: str, media_type: str) -> NistLevel:
    hdd, flash = LEVELS[method]
    return flash if is_flash(media_type) else hdd
