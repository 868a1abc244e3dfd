"""Memory images: swap areas, hibernation images and ELF core dumps hold RAM contents
(prompts, KV caches, decrypted weights) of whatever ran on the machine.

Swap: `SWAPSPACE2` (or old `SWAP-SPACE`) in the last 10 bytes of the first page; a hibernation
image replaces it with `S1SUSPEND` and friends. The page is 4 KiB on x86; for 16/64 KiB pages
the signature is only looked for when the swap header's version field (offset 1024) is 1.
Core dumps: ELF with e_type ET_CORE.
"""

from __future__ import annotations

import re
import struct

from sanitize.detect.base import BINARY, Category, Detail, FileContext, Finding, Gate

_SWAP = {b"SWAPSPACE2": "linux-swap", b"SWAP-SPACE": "linux-swap-v0"}
_HIBERNATION = (b"S1SUSPEND", b"S2SUSPEND", b"ULSUSPEND", b"LINHIB0001")
_PAGE_SIZES = (4096, 16384, 65536)
_SIGNATURE_FIRST = frozenset(sig[0] for sig in (*_SWAP, *_HIBERNATION))
_SWAP_VERSION_1 = (b"\x01\0\0\0", b"\0\0\0\x01")  # LE or BE u32 at 1024
ET_CORE = 4
# detect()'s first test, as a gate: an ELF header, a signature's first byte at the end of a 4 KiB
# page, or a swap header's version 1.
_GATE = (
    rb"\x7fELF|(?s:.{4086})[" + b"".join(re.escape(bytes([c])) for c in sorted(_SIGNATURE_FIRST)) + rb"]"
    + rb"|(?s:.{1024})(?:" + b"|".join(re.escape(v) for v in _SWAP_VERSION_1) + rb")"
)  # fmt: skip


def _page_signature(tail10: bytes, page: int) -> Finding | None:
    if tail10 in _SWAP:
        return Finding(Category.MEMORY_IMAGE, _SWAP[tail10], "swap-signature", {"page_size": page})
    for sig in _HIBERNATION:
        if tail10.startswith(sig):
            return Finding(Category.MEMORY_IMAGE, "hibernation-image", "hibernation-signature", {"page_size": page})
    return None


def _elf_core(header: bytes) -> Finding | None:
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[4] not in (1, 2) or header[5] not in (1, 2):
        return None
    order = "<" if header[5] == 1 else ">"
    e_type, machine = struct.unpack_from(order + "HH", header, 16)
    if e_type != ET_CORE:
        return None
    details: dict[str, Detail] = {"elf_class": 32 if header[4] == 1 else 64, "machine": machine}
    return Finding(Category.MEMORY_IMAGE, "elf-core", "elf-et-core", details)


def sniff_memory_image(header: bytes) -> Finding | None:
    if len(header) >= 4096:
        found = _page_signature(header[4086:4096], 4096)
        if found is not None:
            return found
    return _elf_core(header)


class MemoryImageDetector:
    name = "memory-image"
    # Swap and hibernation headers are zero-filled pages; ELF headers hold small integers.
    header_class = BINARY
    gate = Gate(opening=_GATE)

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_memory_image(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        header = ctx.header
        if (
            header[:4] != b"\x7fELF"
            and (len(header) < 4096 or header[4086] not in _SIGNATURE_FIRST)
            and header[1024:1028] not in _SWAP_VERSION_1
        ):
            return None  # most files: none of the rules below can match, decided without calls
        found = sniff_memory_image(header)
        if found is not None or header[1024:1028] not in _SWAP_VERSION_1:
            return found
        for page in _PAGE_SIZES[1:]:
            if ctx.size >= page:
                found = _page_signature(ctx.read_at(page - 10, 10), page)
                if found is not None:
                    return found
        return None


DETECTORS = [MemoryImageDetector()]
