"""Legacy llama.cpp files from before GGUF: ggml, ggmf, ggjt, ggla (LoRA) and ggcc (Falcon).

The magic is a little-endian u32, so on disk the letters are reversed (`tjgg` for 'ggjt').
After it: a version (except plain ggml) and seven u32 hparams that must look like a model
(n_vocab, n_embd, ...), which keeps four ASCII letters alone from deciding.
"""

from __future__ import annotations

import struct

from sanitize.detect.base import BINARY, Category, Detail, FileContext, Finding

# magic on disk -> (format, has version, allowed versions)
_MAGICS: dict[bytes, tuple[str, bool, range]] = {
    b"lmgg": ("ggml", False, range(0)),
    b"fmgg": ("ggmf", True, range(1, 2)),
    b"tjgg": ("ggjt", True, range(1, 4)),
    b"ccgg": ("ggcc", True, range(1, 4)),
    b"algg": ("ggla", True, range(1, 2)),
}


def sniff_ggml(header: bytes) -> Finding | None:
    spec = _MAGICS.get(header[:4])
    if spec is None:
        return None
    fmt, versioned, versions = spec
    pos = 4
    details: dict[str, Detail] = {}
    if versioned:
        if len(header) < 8:
            return None
        (version,) = struct.unpack_from("<I", header, 4)
        if version not in versions:
            return None
        details["version"] = version
        pos = 8
    if fmt == "ggla":  # LoRA: u32 r, u32 alpha
        if len(header) < pos + 8:
            return None
        r, alpha = struct.unpack_from("<II", header, pos)
        if not 1 <= r <= 4096 or alpha > 1 << 16:
            return None
        return Finding(Category.ADAPTER, fmt, "ggla-magic+lora-params", {**details, "rank": r})
    if len(header) < pos + 28:
        return None
    n_vocab, n_embd, _, n_head, n_layer, _, _ = struct.unpack_from("<7I", header, pos)
    if not (1 <= n_vocab <= 1_000_000 and 1 <= n_embd <= 100_000 and 1 <= n_head <= 4096 and 1 <= n_layer <= 1024):
        return None
    details.update(n_vocab=n_vocab, n_layer=n_layer)
    return Finding(Category.MODEL_WEIGHTS, fmt, f"{fmt}-magic+hparams", details)


class LegacyGGMLDetector:
    name = "ggml-legacy"
    first_bytes = b"lftca"
    # The magic is followed by u32 fields that must be small (a version <= 3, n_vocab <= 1e6,
    # a LoRA rank <= 4096): their high bytes are NUL, so a text header never matches.
    header_class = BINARY

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_ggml(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        return sniff_ggml(ctx.header)


DETECTORS = [LegacyGGMLDetector()]
