"""Cryptographic-erase style verification: hash sampled blocks before, compare after.

A firmware erase may leave zeros, ones or random-looking data, so the only honest check
is that what was there before is gone (NIST SP 800-88: compare pseudorandom locations
before and after a CE). Only SHA-256 digests are kept, never content. Samples that were
blank (all one byte value) before prove nothing when blank after; they are counted as
uninformative, not as passes.
"""

from __future__ import annotations

import hashlib
import mmap
import secrets
from dataclasses import dataclass, field
from typing import Any

from sanitize.enums import Outcome
from sanitize.erase.result import Verification
from sanitize.hw.host import Host

SAMPLE_BYTES = 4096
SUBSECTIONS = 1000  # NIST: >= 1000 subsections, 2 pseudorandom locations each, plus first and last
FULL_CHUNK = 1 << 20


@dataclass
class Snapshot:
    device: str
    size: int
    block: int
    mode: str  # sample | full
    offsets: list[int] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)
    blank: list[bool] = field(default_factory=list)


def _offsets(size: int, block: int, mode: str, subsections: int) -> list[int]:
    last = (size // block - 1) * block
    if last < 0:
        return []
    if mode == "full":
        return list(range(0, size - size % block, block))
    rng = secrets.SystemRandom()
    nblocks = size // block
    sections = max(1, min(subsections, nblocks // 2 or 1))
    per = nblocks / sections
    chosen = {0, last}
    for i in range(sections):
        lo, hi = int(i * per), max(int(i * per), int((i + 1) * per) - 1)
        for _ in range(2):
            chosen.add(rng.randint(lo, hi) * block)
    return sorted(chosen)


def _read_blocks(host: Host, device: str, offsets: list[int], block: int) -> list[bytes | None]:
    buf = mmap.mmap(-1, block)  # page aligned, as O_DIRECT needs
    out: list[bytes | None] = []
    with host.open_device(device, direct=True) as dev:
        view = memoryview(buf)
        for off in offsets:
            try:
                dev.read_into(view, off)
            except OSError:
                out.append(None)
                continue
            out.append(bytes(view))
        view.release()
    buf.close()
    return out


def take(host: Host, device: str, *, mode: str = "sample", subsections: int = SUBSECTIONS) -> Snapshot:
    with host.open_device(device) as dev:
        size = dev.size_bytes()
        lss = dev.logical_sector_size()
    block = FULL_CHUNK if mode == "full" else max(SAMPLE_BYTES, lss)
    snap = Snapshot(device=device, size=size, block=block, mode=mode)
    snap.offsets = _offsets(size, block, mode, subsections)
    for data in _read_blocks(host, device, snap.offsets, block):
        content = data or b""
        snap.digests.append(hashlib.sha256(content).digest())
        snap.blank.append(not content or content.count(content[:1]) == len(content))
    return snap


def compare(host: Host, before: Snapshot) -> Verification:
    """Passed when no informative sample still holds what it held before."""
    after = _read_blocks(host, before.device, before.offsets, before.block)
    unchanged = informative = unreadable = 0
    first_unchanged: list[int] = []
    for off, digest, blank, data in zip(before.offsets, before.digests, before.blank, after, strict=True):
        if data is None:
            unreadable += 1
            continue
        if blank:
            continue
        informative += 1
        if hashlib.sha256(data).digest() == digest:
            unchanged += 1
            if len(first_unchanged) < 8:
                first_unchanged.append(off)
    checked = (len(before.offsets) - unreadable) * before.block
    details: dict[str, Any] = {
        "approach": "pre/post comparison of sampled blocks (NIST SP 800-88 CE verification)",
        "samples": len(before.offsets),
        "informative_samples": informative,
        "unchanged_samples": unchanged,
        "unreadable_samples": unreadable,
        "block_bytes": before.block,
    }
    if first_unchanged:
        details["unchanged_offsets"] = first_unchanged
    if informative == 0:
        details["warning"] = "every sampled block was blank before the erase: the read-back cannot show a change"
    return Verification(
        method="full" if before.mode == "full" else "sample",
        coverage=min(1.0, checked / before.size) if before.size else 0.0,
        bytes_checked=checked,
        outcome=Outcome.FAILED if unchanged or unreadable else Outcome.PASSED,
        mismatches=unchanged,
        details=details,
    )
