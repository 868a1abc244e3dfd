"""safetensors: u64 LE header length N, then a JSON object starting with `{`.

Variants are told apart by metadata and tensor names (ai-artifacts.md §1): MLX writes
`__metadata__.format = "mlx"`; GPTQ/AWQ/EXL2 by quantization suffixes; LoRA/PEFT by
`lora_A`/`lora_B` keys (category adapter). Only names and counts go into details.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable

from sanitize.detect.base import BINARY, HEADER_BYTES, READ_BUDGET, Category, Detail, FileContext, Finding, Gate

MAX_HEADER = 100_000_000  # the reference implementation's cap
_NAME_RE = re.compile(rb'"((?:[^"\\]|\\.){1,512})"\s*:\s*\{\s*"dtype"')
_DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL"}


def _variant(names: Iterable[str], metadata_format: str | None, siblings: frozenset[str]) -> str:
    names = list(names)
    if any(".lora_A" in n or ".lora_B" in n or "lora_down" in n or "lora_up" in n for n in names):
        return "lora"
    if "adapter_config.json" in siblings:
        return "lora"
    suffixes = {n.rsplit(".", 1)[-1] for n in names}
    if {"q_weight", "q_scale", "q_invperm"} & suffixes:
        return "exl2"
    if "qweight" in suffixes:
        return "gptq" if "g_idx" in suffixes or "quantize_config.json" in siblings else "awq"
    if metadata_format == "mlx":
        return "mlx"
    return "plain"


def _finding(
    names: list[str], meta_format: str | None, siblings: frozenset[str], evidence: str, extra: dict[str, Detail]
) -> Finding:
    variant = _variant(names, meta_format, siblings)
    category = Category.ADAPTER if variant == "lora" else Category.MODEL_WEIGHTS
    details: dict[str, Detail] = {"variant": variant, **extra}
    if variant != "plain":
        evidence += f":{variant}"
    return Finding(category, "safetensors", evidence, details)


class SafetensorsDetector:
    name = "safetensors"
    header_class = BINARY  # the u64 LE header length is <= MAX_HEADER < 2**32: bytes 4-7 are NUL
    gate = Gate(opening=rb"(?s:.{8})\{")  # the JSON header after its u64 length

    def _length(self, header: bytes) -> int | None:
        if len(header) < 10 or header[8] != 0x7B:
            return None
        n = struct.unpack_from("<Q", header)[0]
        if not 2 <= n <= MAX_HEADER:
            return None
        return int(n)

    def _from_json(self, raw: bytes, siblings: frozenset[str]) -> Finding | None:
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, dict):
            return None
        meta = doc.pop("__metadata__", None)
        meta_format = meta.get("format") if isinstance(meta, dict) else None
        dtypes: set[str] = set()
        for value in doc.values():
            if not (isinstance(value, dict) and "dtype" in value and "data_offsets" in value):
                return None
            dtypes.add(str(value["dtype"]))
        extra: dict[str, Detail] = {"tensors": len(doc), "dtypes": ",".join(sorted(dtypes))}
        if isinstance(meta_format, str):
            extra["metadata_format"] = meta_format[:32]
        return _finding(
            list(doc), meta_format if isinstance(meta_format, str) else None, siblings, "safetensors-header", extra
        )

    def _from_prefix(self, prefix: bytes, siblings: frozenset[str], n: int) -> Finding | None:
        """The JSON does not fit: accept it on the tensor-entry pattern of its first bytes."""
        names = [m.group(1).decode("utf-8", "replace") for m in _NAME_RE.finditer(prefix)]
        if not names or b'"data_offsets"' not in prefix:
            return None
        dtype_hits = set(re.findall(rb'"dtype"\s*:\s*"([A-Z0-9_]+)"', prefix))
        if not {d.decode() for d in dtype_hits} & _DTYPES:
            return None
        meta_format = "mlx" if re.search(rb'"format"\s*:\s*"mlx"', prefix) else None
        return _finding(names, meta_format, siblings, "safetensors-header-prefix", {"header_bytes": n})

    def sniff(self, header: bytes) -> Finding | None:
        n = self._length(header)
        if n is None:
            return None
        if n + 8 <= len(header):
            return self._from_json(header[8 : 8 + n], frozenset())
        return self._from_prefix(header[8:HEADER_BYTES], frozenset(), n)

    def detect(self, ctx: FileContext) -> Finding | None:
        n = self._length(ctx.header)
        if n is None or n + 8 > ctx.size:
            return None
        if n + 8 <= len(ctx.header):
            return self._from_json(ctx.header[8 : 8 + n], ctx.siblings)
        if n <= READ_BUDGET // 2:
            return self._from_json(ctx.read_at(8, n), ctx.siblings)
        return self._from_prefix(ctx.header[8:], ctx.siblings, n)


DETECTORS = [SafetensorsDetector()]
