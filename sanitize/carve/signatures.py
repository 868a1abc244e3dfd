"""Header signatures found at sector starts, tested for a whole buffer at once.

Files begin at filesystem-block boundaries, so an artifact's header sits at the start of a
512-byte sector. Instead of a Python loop over offsets, `sector_candidates` views the
buffer as a (sectors, 512) numpy array and tests every sector's first bytes in a few
vectorised comparisons; only the rare matches reach the per-format `confirm` checks below,
which look at the 4 KiB from that sector. Confirm checks return structural details only.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Mapping

import numpy as np

from sanitize.carve.model import Detail

SECTOR = 512
HEADER = 4096
Details = dict[str, Detail]
Confirm = Callable[[bytes], Details | None]


def _u32le(magic: bytes) -> int:
    return int(struct.unpack("<I", magic)[0])


# ---------------------------------------------------------------------------- confirm rules


def _gguf(h: bytes) -> Details | None:
    if len(h) < 24:
        return None
    version_le = struct.unpack_from("<I", h, 4)[0]
    version_be = struct.unpack_from(">I", h, 4)[0]
    if 1 <= version_le <= 3:
        order, version = "<", version_le
    elif 1 <= version_be <= 3:
        order, version = ">", version_be
    else:
        return None
    n_tensors, n_kv = struct.unpack_from(order + "qq", h, 8)
    if not (0 <= n_tensors <= 1 << 24 and 0 <= n_kv <= 1 << 20):
        return None
    return {"version": version, "tensors": n_tensors, "kv": n_kv, "big_endian": order == ">"}


def _safetensors(h: bytes) -> Details | None:
    (n,) = struct.unpack_from("<Q", h, 0)
    if not 2 <= n <= 100_000_000 or h[8:10] != b'{"':
        return None
    text = h[8 : 8 + min(n, len(h) - 8)]
    if n <= len(h) - 8:
        try:
            doc = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(doc, dict):
            return None
        tensors = [v for k, v in doc.items() if k != "__metadata__"]
        if not all(isinstance(v, dict) and "dtype" in v and "data_offsets" in v for v in tensors):
            return None
        return {"header_bytes": n, "tensors": len(tensors)}
    # A header longer than the 4 KiB we hold: its beginning must still look like one.
    if b'"dtype"' not in text[:1024] and not text.startswith(b'{"__metadata__"'):
        return None
    return {"header_bytes": n}


def _sqlite_db(h: bytes) -> Details | None:
    if h[:16] != b"SQLite format 3\x00" or len(h) < 100:
        return None
    (raw,) = struct.unpack_from(">H", h, 16)
    page = 65536 if raw == 1 else raw
    if page < 512 or page & (page - 1) or h[21:24] != b"\x40\x20\x20":
        return None
    (pages,) = struct.unpack_from(">I", h, 28)
    return {"page_size": page, "pages": pages}


def _sqlite_wal(h: bytes) -> Details | None:
    magic, version, page = struct.unpack_from(">III", h, 0)
    if magic not in (0x377F0682, 0x377F0683) or version != 3007000:
        return None
    if page < 512 or page > 65536 or page & (page - 1):
        return None
    return {"page_size": page}


def _sqlite_journal(h: bytes) -> Details | None:
    if h[:8] != bytes.fromhex("d9d505f920a163d7"):
        return None
    sector, page = struct.unpack_from(">II", h, 20)
    if page and (page < 512 or page > 65536 or page & (page - 1)):
        return None
    if sector and (sector < 512 or sector & (sector - 1)):
        return None
    return {"page_size": page}


def _faiss(h: bytes) -> Details | None:
    code = h[:4]
    if not (code[:1] in b"IB" and all(48 <= c < 123 for c in code)):
        return None
    d, ntotal = struct.unpack_from("<iq", h, 4)
    if not (0 < d <= 1 << 16 and 0 <= ntotal < 1 << 40):
        return None
    return {"fourcc": code.decode("ascii"), "dim": d, "vectors": ntotal}


def _hnswlib(h: bytes) -> Details | None:
    if len(h) < 96:
        return None
    off0, max_el, cur, size_el, label_off, off_data = struct.unpack_from("<6Q", h, 0)
    max_m, max_m0, m = struct.unpack_from("<3Q", h, 56)
    (mult,) = struct.unpack_from("<d", h, 80)
    if off0 != 0 or not 2 <= m <= 4096 or max_m != m or max_m0 != 2 * m:
        return None
    if not math.isclose(mult, 1 / math.log(m), rel_tol=1e-9) or cur > max_el:
        return None
    if not (off_data < label_off <= size_el) or (label_off - off_data) % 4:
        return None
    return {"dim": (label_off - off_data) // 4, "elements": cur, "M": m}


def _numpy(h: bytes) -> Details | None:
    if h[:6] != b"\x93NUMPY" or h[6] not in (1, 2, 3):
        return None
    if h[6] == 1:
        (hlen,), start = struct.unpack_from("<H", h, 8), 10
    else:
        (hlen,), start = struct.unpack_from("<I", h, 8), 12
    text = h[start : start + min(hlen, 512)]
    if not text.startswith(b"{'descr'") and not text.startswith(b"{'fortran_order'"):
        return None
    out: Details = {"version": h[6]}
    # dtype and shape are structure (they give the vector dimension), never values.
    for key in ("descr", "shape"):
        idx = text.find(f"'{key}':".encode())
        if idx >= 0:
            tail = text[idx + len(key) + 3 :].lstrip()
            end = tail.find(b")") + 1 if tail.startswith(b"(") else tail.find(b",")
            if end > 0:
                out[key] = tail[:end].decode("ascii", "replace").strip(" '")[:40]
    return out


def _hdf5(h: bytes) -> Details | None:
    if h[:8] != b"\x89HDF\r\n\x1a\n" or h[8] > 3:
        return None
    return {"superblock_version": h[8]}


_TORCH_NAMES = (b"data.pkl", b"/data/0", b"/constants.pkl", b"/version", b"/byteorder")


def _torch_zip(h: bytes) -> Details | None:
    if h[:4] != b"PK\x03\x04" or len(h) < 30:
        return None
    (name_len,) = struct.unpack_from("<H", h, 26)
    name = h[30 : 30 + name_len]
    if not 0 < name_len <= 1024 or not name.endswith(_TORCH_NAMES):
        return None
    return {"entry": name.rsplit(b"/", 1)[-1].decode("utf-8", "replace")}


def _torch_legacy(h: bytes) -> Details | None:
    return {} if h[:14] == bytes.fromhex("80028a0a6cfc9c46f9206aa85019") else None


def _llama_state(h: bytes) -> Details | None:
    version, n_tokens = struct.unpack_from("<II", h, 4)
    if not 1 <= version <= 64 or n_tokens > 1 << 24:
        return None
    return {"version": version, "tokens": n_tokens}


def _redis(h: bytes) -> Details | None:
    if h[:5] != b"REDIS" or not h[5:9].isdigit():
        return None
    return {"rdb_version": int(h[5:9])}


def _ggml_legacy(h: bytes) -> Details | None:
    magic = h[:4]
    (version,) = struct.unpack_from("<I", h, 4)
    if magic == b"lmgg":
        version, hp = 0, 4
    elif (magic == b"fmgg" and version == 1) or (magic == b"tjgg" and 1 <= version <= 3) or magic == b"algg":
        hp = 8
    else:
        return None
    n_vocab, n_embd = struct.unpack_from("<II", h, hp)
    if magic != b"algg" and not (1 <= n_vocab <= 1 << 20 and 1 <= n_embd <= 1 << 16):
        return None
    return {"magic": magic[::-1].decode("ascii"), "version": version}


# ---------------------------------------------------------------------------- the tables

# First four bytes of a sector -> (kind, confirm rule).
MAGIC4: Mapping[int, tuple[str, Confirm]] = {
    _u32le(b"GGUF"): ("gguf", _gguf),
    _u32le(b"SQLi"): ("sqlite-database", _sqlite_db),
    _u32le(bytes.fromhex("377f0682")): ("sqlite-wal", _sqlite_wal),
    _u32le(bytes.fromhex("377f0683")): ("sqlite-wal", _sqlite_wal),
    _u32le(bytes.fromhex("d9d505f9")): ("sqlite-journal", _sqlite_journal),
    _u32le(b"\x93NUM"): ("numpy", _numpy),
    _u32le(b"\x89HDF"): ("hdf5", _hdf5),
    _u32le(b"PK\x03\x04"): ("pytorch-zip", _torch_zip),
    _u32le(bytes.fromhex("80028a0a")): ("pytorch-legacy", _torch_legacy),
    _u32le(b"nsgg"): ("llama-session", _llama_state),
    _u32le(b"qsgg"): ("llama-seq-state", _llama_state),
    _u32le(b"REDI"): ("redis-rdb", _redis),
    _u32le(b"lmgg"): ("ggml-legacy", _ggml_legacy),
    _u32le(b"fmgg"): ("ggml-legacy", _ggml_legacy),
    _u32le(b"tjgg"): ("ggml-legacy", _ggml_legacy),
    _u32le(b"algg"): ("ggml-legacy", _ggml_legacy),
}
_MAGIC_KEYS = np.array(sorted(MAGIC4), dtype=np.uint64)
_HEAD_WORDS = 10  # the 8-byte words of a sector's start that sector_candidates reads
_FAISS_MARK = 1 << 20

# Kinds found without a fixed first-four-bytes magic.
STRUCTURAL: Mapping[str, Confirm] = {"safetensors": _safetensors, "faiss": _faiss, "hnswlib": _hnswlib}


def sector_heads(sectors: np.ndarray) -> np.ndarray:
    """The first 80 bytes of every sector of `sectors` (a (n, 512) uint8 view of a contiguous
    buffer), as (n, 10) little-endian uint64 words in one small contiguous array: one strided
    pass over the buffer, then every test of the carve's scan runs in the CPU cache (a strided
    pass per test cost three times as much)."""
    return np.ascontiguousarray(sectors.reshape(-1).view("<u8").reshape(len(sectors), SECTOR // 8)[:, :_HEAD_WORDS])


def sector_candidates(sectors: np.ndarray, heads: np.ndarray | None = None) -> list[tuple[int, str, Confirm]]:
    """Sectors whose first bytes fit a signature: [(sector index, kind, confirm rule)].

    `sectors` is a (n, 512) uint8 view of a contiguous buffer; `heads` its `sector_heads`, when
    the caller already has them.
    """
    words = sector_heads(sectors) if heads is None else heads
    first = words[:, 0]
    found: list[tuple[int, str, Confirm]] = []

    magic4 = first & np.uint64(0xFFFFFFFF)
    for i in np.flatnonzero(np.isin(magic4, _MAGIC_KEYS)):
        kind, rule = MAGIC4[int(magic4[i])]
        found.append((int(i), kind, rule))

    brace = np.flatnonzero(words[:, 1] & np.uint64(0xFFFF) == 0x227B)  # '{"' at byte 8
    if brace.size:
        ok = (first[brace] >= 2) & (first[brace] <= 100_000_000)
        found.extend((int(i), "safetensors", _safetensors) for i in brace[ok])

    faiss = np.flatnonzero(words[:, 2] == _FAISS_MARK)
    if faiss.size:
        found.extend((int(i), "faiss", _faiss) for i in faiss[words[faiss, 3] == _FAISS_MARK])

    # hnswlib has no magic: offsetLevel0 == 0, then maxM == M and maxM0 == 2*M at 56..80.
    m_all = words[:, 9]
    cand = np.flatnonzero((first == 0) & (m_all - np.uint64(2) <= np.uint64(4094)))  # 2 <= M <= 4096
    if cand.size:
        m = m_all[cand]
        ok = (words[cand, 7] == m) & (words[cand, 8] == 2 * m)
        found.extend((int(i), "hnswlib", _hnswlib) for i in cand[ok])

    found.sort(key=lambda t: t[0])
    return found
