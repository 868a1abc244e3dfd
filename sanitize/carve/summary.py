"""Carving as other commands use it: the inventory's risk line and erase verification."""

from __future__ import annotations

from typing import Any

from sanitize.carve.allocation import place_hits
from sanitize.carve.model import Allocation, CarveResult, Hit
from sanitize.carve.scanner import FLOAT_KIND, PAGE_KIND, CarveOptions, carve
from sanitize.hw.host import Host

# How a risk phrase names one unit of each kind: (singular, plural).
_NOUNS: dict[str, tuple[str, str]] = {
    PAGE_KIND: ("SQLite page with embedding BLOBs", "SQLite pages with embedding BLOBs"),
    FLOAT_KIND: ("run of float32 vectors", "runs of float32 vectors"),
    "gguf": ("GGUF model header", "GGUF model headers"),
    "safetensors": ("safetensors header", "safetensors headers"),
    "sqlite-database": ("SQLite database header", "SQLite database headers"),
    "sqlite-wal": ("SQLite WAL header", "SQLite WAL headers"),
    "sqlite-journal": ("SQLite journal header", "SQLite journal headers"),
    "faiss": ("FAISS index header", "FAISS index headers"),
    "hnswlib": ("hnswlib index header", "hnswlib index headers"),
    "numpy": ("NumPy array header", "NumPy array headers"),
    "hdf5": ("HDF5 header", "HDF5 headers"),
    "pytorch-zip": ("PyTorch checkpoint header", "PyTorch checkpoint headers"),
    "pytorch-legacy": ("legacy PyTorch checkpoint header", "legacy PyTorch checkpoint headers"),
    "llama-session": ("llama.cpp prompt cache", "llama.cpp prompt caches"),
    "llama-seq-state": ("llama.cpp slot state", "llama.cpp slot states"),
    "redis-rdb": ("Redis dump header", "Redis dump headers"),
    "ggml-legacy": ("legacy GGML model header", "legacy GGML model headers"),
}


def _units(hit: Hit) -> int:
    # Neighbouring SQLite pages are merged into one hit; the phrase counts pages.
    return int(hit.details.get("pages", 1)) if hit.kind == PAGE_KIND else 1


def risk_phrase(result: CarveResult, where: Allocation = Allocation.FREE) -> str | None:
    """ "37 deleted SQLite pages with embedding BLOBs, 1 GGUF model header in free space", or None."""
    totals: dict[str, int] = {}
    for hit in result.hits:
        if hit.allocation is where:
            totals[hit.kind] = totals.get(hit.kind, 0) + _units(hit)
            logged = int(hit.details.get("embedding_pages", 0))  # inside a WAL or journal
            if logged:
                totals[PAGE_KIND] = totals.get(PAGE_KIND, 0) + logged
    if not totals:
        return None
    parts = []
    for kind, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        one, many = _NOUNS.get(kind, (f"{kind} hit", f"{kind} hits"))
        parts.append(f"{n} {one if n == 1 else many}")
    if where is Allocation.FREE:
        return f"{_deleted(parts)} in free space"
    return ", ".join(parts) + f" in {where.value} space"


def _deleted(parts: list[str]) -> str:
    head, *rest = parts
    number, _, noun = head.partition(" ")
    return ", ".join([f"{number} deleted {noun}", *rest])


def carve_summary(host: Host, device: str, *, sample: float = 1.0) -> dict[str, Any]:
    """Counts per kind in free / allocated / unknown space and a risk phrase, for `inventory --carve`."""
    result = carve(host, device, CarveOptions(sample=sample))
    place_hits(result, host)
    by_place: dict[str, dict[str, int]] = {a.value: {} for a in Allocation}
    for hit in result.hits:
        per = by_place[hit.allocation.value]
        per[hit.kind] = per.get(hit.kind, 0) + _units(hit)
    return {
        "device": device,
        "bytes_read": result.bytes_read,
        "coverage": round(result.coverage, 6),
        "hits": result.hits_total,
        "truncated": result.truncated,
        "filesystem": result.filesystem,
        "allocation_note": result.allocation_note,
        "free": by_place[Allocation.FREE.value],
        "allocated": by_place[Allocation.ALLOCATED.value],
        "unknown": by_place[Allocation.UNKNOWN.value],
        "risk": risk_phrase(result),
    }


def carve_verify(host: Host, device_path: str, sample_fraction: float = 0.01) -> dict[str, Any]:
    """A (sampled) carve after sanitization, for `verification.details.carve` on the certificate.

    No allocation lookup: after an erase there is no filesystem, and every hit counts.
    """
    result = carve(host, device_path, CarveOptions(sample=sample_fraction, max_hits=100))
    kinds: dict[str, int] = {}
    for hit in result.hits:
        kinds[hit.kind] = kinds.get(hit.kind, 0) + 1
    return {
        "hits": result.hits_total,
        "kinds": kinds,
        "first_offsets": [h.offset for h in result.hits[:10]],
        "bytes_read": result.bytes_read,
        "coverage": round(result.coverage, 6),
        "sample_fraction": sample_fraction,
        "unreadable_chunks": len(result.unreadable),
        "seconds": round(result.seconds, 3),
    }
