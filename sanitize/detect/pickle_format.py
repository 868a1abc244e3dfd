"""Python pickles: the PyTorch legacy format (a pickled magic number first) and raw pickles.

Protocols 2-5 start `80 0N`; 4 and 5 go on with a FRAME opcode (`95` + u64 length), which is
strong. Protocols 0/1 have no marker, so they need more: the header must parse as a run of
pickle opcodes (pickletools.genops only decodes, it never imports or calls anything) and the
file must end with STOP (`.`). Opcode parsing is capped at MAX_OPS.
"""

from __future__ import annotations

import io
import itertools
import pickletools
import struct

from sanitize.detect.base import Category, Detail, FileContext, Finding

TORCH_LEGACY_MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa85019")
OPTIMIZER_MARKERS = (b"optimizer", b"exp_avg", b"param_groups")
MAX_OPS = 256
MIN_WEAK_OPS = 8
_WEAK_FIRST = frozenset(b"(}]c")


def _opcodes_ok(header: bytes, needed: int, complete: bool) -> bool:
    """Does the header decode as pickle opcodes? A complete file must reach STOP; a header cut
    from a larger file must yield `needed` opcodes before the cut (or junk) stops decoding."""
    count = 0
    try:
        for op, _, _ in itertools.islice(pickletools.genops(io.BytesIO(header)), MAX_OPS):
            count += 1
            if op.name == "STOP":
                return True
    except Exception:  # genops raises ValueError, UnicodeDecodeError... on junk or at the cut
        return not complete and count >= needed
    return not complete and count >= needed


def _protocol(header: bytes) -> int | None:
    if len(header) >= 3 and header[0] == 0x80 and 2 <= header[1] <= 5:
        return header[1]
    if header[:1] and header[0] in _WEAK_FIRST:
        return 0
    return None


class TorchLegacyDetector:
    name = "pytorch-legacy"
    first_bytes = b"\x80"

    def sniff(self, header: bytes) -> Finding | None:
        if not header.startswith(TORCH_LEGACY_MAGIC):
            return None
        if any(m in header for m in OPTIMIZER_MARKERS):
            return Finding(Category.TRAINING_CHECKPOINT, "pytorch-legacy", "torch-legacy-magic:optimizer-state", {})
        return Finding(Category.MODEL_WEIGHTS, "pytorch-legacy", "torch-legacy-magic", {})

    def detect(self, ctx: FileContext) -> Finding | None:
        return self.sniff(ctx.header)


class PickleDetector:
    name = "pickle"
    first_bytes = b"\x80(}]c"

    def _strong(self, header: bytes, size: int | None) -> Finding | None:
        proto = _protocol(header)
        if proto is None or proto < 2:
            return None
        details: dict[str, Detail] = {"protocol": proto}
        if proto >= 4:
            if header[2] != 0x95 or len(header) < 11:
                return None
            (frame,) = struct.unpack_from("<Q", header, 3)
            if size is not None and frame > size:
                return None
            evidence = "pickle-frame"
        else:
            complete = size is not None and size <= len(header)
            if not _opcodes_ok(header, MIN_WEAK_OPS, complete):
                return None
            evidence = "pickle-opcodes"
        return Finding(Category.MODEL_WEIGHTS, "pickle", f"{evidence}:p{proto}", details)

    def sniff(self, header: bytes) -> Finding | None:
        return self._strong(header, None)

    def detect(self, ctx: FileContext) -> Finding | None:
        proto = _protocol(ctx.header)
        if proto is None or ctx.size < 4:
            return None
        if ctx.tail(1) != b".":
            return None  # every pickle ends with STOP
        if proto >= 2:
            return self._strong(ctx.header, ctx.size)
        # Protocol 0/1: weak first byte; the whole header must decode as opcodes.
        if not _opcodes_ok(ctx.header, 32, ctx.size <= len(ctx.header)):
            return None
        return Finding(Category.MODEL_WEIGHTS, "pickle", "pickle-opcodes:p0-1", {"protocol": "0-1"})


DETECTORS = [TorchLegacyDetector(), PickleDetector()]
