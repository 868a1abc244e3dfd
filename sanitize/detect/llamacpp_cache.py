"""llama.cpp prompt caches (`--prompt-cache`, magic `ggsn`) and slot/sequence state files
(`--slot-save-path`, magic `ggsq`). Both hold the prompt's token ids and the KV cache, i.e.
the prompt itself. Versions drift between releases, so any small version is accepted."""

from __future__ import annotations

import struct

from sanitize.detect.base import BINARY, Category, FileContext, Finding

MAGICS = {0x6767736E: ("llama-cpp-session", "llama-cpp-session-magic"),
          0x67677371: ("llama-cpp-slot", "llama-cpp-slot-magic")}  # fmt: skip
MAX_VERSION = 64
MAX_TOKENS = 1 << 22


def _parse(header: bytes) -> tuple[str, str, int, int] | None:
    if len(header) < 12:
        return None
    magic, version, n_tokens = struct.unpack_from("<III", header)
    if magic not in MAGICS or not (1 <= version <= MAX_VERSION) or n_tokens > MAX_TOKENS:
        return None
    fmt, evidence = MAGICS[magic]
    return fmt, evidence, version, n_tokens


def _finding(parsed: tuple[str, str, int, int]) -> Finding:
    fmt, evidence, version, n_tokens = parsed
    return Finding(Category.INFERENCE_CACHE, fmt, evidence, {"version": version, "n_tokens": n_tokens})


class LlamaCppCacheDetector:
    name = "llamacpp-cache"
    first_bytes = bytes(sorted({m & 0xFF for m in MAGICS}))  # the magics' low bytes (LE): n, q
    header_class = BINARY  # u32 LE version <= MAX_VERSION: NUL high bytes

    def sniff(self, header: bytes) -> Finding | None:
        parsed = _parse(header)
        return _finding(parsed) if parsed else None

    def detect(self, ctx: FileContext) -> Finding | None:
        parsed = _parse(ctx.header)
        if parsed is None or 12 + 4 * parsed[3] > ctx.size:  # the token ids must fit in the file
            return None
        return _finding(parsed)


DETECTORS = [LlamaCppCacheDetector()]
