"""Tokenizer files: HF `tokenizer.json`, GPT-2 style `vocab.json` / `merges.txt`, WordPiece
`vocab.txt`, SentencePiece `.model` protobufs and tiktoken rank files.

All rules look at the structure of the first HEADER_BYTES only: the key order the tokenizers
library writes, sequential ranks, or consistent protobuf piece records. No token is reported.
"""

from __future__ import annotations

import re

from sanitize.detect.base import Category, Detail, FileContext, Finding, Gate
from sanitize.detect.binreader import Truncated, read_varint

_TOKENIZER_JSON = re.compile(rb'^\s*\{\s*"version"\s*:\s*"[\d.]+"\s*,\s*"truncation"\s*:')
# Possessive: a JSON string cannot be matched two ways, and giving back costs the gate on every JSON file.
_VOCAB_JSON_ENTRY = re.compile(rb'\s*+"(?:[^"\\]|\\.){1,64}+"\s*+:\s*+(\d{1,7}+)\s*+,')
_TIKTOKEN_RUN = re.compile(rb"(?:[A-Za-z0-9+/]+={0,2} \d+\n){%d,%d}" % (8, 16))
_TIKTOKEN_RANK = re.compile(rb" (\d+)\n")
_MERGES_FIRST = re.compile(rb"^#version: \d+(\.\d+)*\r?$")
MIN_RUN = 8


def _tokenizer(fmt: str, evidence: str, details: dict[str, Detail] | None = None) -> Finding:
    return Finding(Category.TOKENIZER, fmt, evidence, details or {})


def _tokenizer_json(h: bytes) -> Finding | None:
    if _TOKENIZER_JSON.match(h) and b'"added_tokens"' in h:
        return _tokenizer("hf-tokenizer-json", "tokenizer-json-keys")
    return None


def _vocab_json(h: bytes) -> Finding | None:
    """`{"tok": 0, "tok2": 1, ...}`: one object whose first entries are consecutive ids."""
    body = h.lstrip()
    if body[:2] != b'{"':
        return None
    pos, ids = 1, list[int]()
    while len(ids) < MIN_RUN * 2:
        m = _VOCAB_JSON_ENTRY.match(body, pos)
        if m is None:
            return None
        ids.append(int(m.group(1)))
        pos = m.end()
    if ids != list(range(ids[0], ids[0] + len(ids))):
        return None
    return _tokenizer("bpe-vocab-json", "vocab-json-sequential-ids")


def _lines(h: bytes, complete: bool) -> list[bytes]:
    lines = h.split(b"\n")
    return lines if complete else lines[:-1]  # the last line may be cut by the header


def _merges(h: bytes, complete: bool) -> Finding | None:
    lines = _lines(h, complete)
    if not lines or not _MERGES_FIRST.match(lines[0]):
        return None
    body = [ln.rstrip(b"\r") for ln in lines[1:] if ln]
    if len(body) >= 3 and all(ln.count(b" ") == 1 and not ln.startswith(b" ") for ln in body[:MIN_RUN]):
        return _tokenizer("bpe-merges", "merges-version-header")
    return None


def _tiktoken(h: bytes, complete: bool) -> Finding | None:
    run = _TIKTOKEN_RUN.match(h)  # anchored: ordinary files fail on their first line
    if run is None:
        return None
    ranks = [int(r) for r in _TIKTOKEN_RANK.findall(run.group(0))]
    if ranks != list(range(ranks[0], ranks[0] + len(ranks))):
        return None
    return _tokenizer("tiktoken", "tiktoken-base64-ranks")


def _wordpiece(h: bytes, complete: bool) -> Finding | None:
    lines = [ln.rstrip(b"\r") for ln in _lines(h, complete)]
    if not lines or lines[0] not in (b"[PAD]", b"<pad>", b"[UNK]"):
        return None
    specials = {b"[PAD]", b"[UNK]", b"[CLS]", b"[SEP]", b"[MASK]"}
    if len(specials & set(lines[:2048])) >= 4 and all(b" " not in ln for ln in lines[:64]):
        return _tokenizer("wordpiece-vocab", "wordpiece-special-tokens")
    return None


def _sentencepiece(h: bytes) -> Finding | None:
    """ModelProto.pieces (field 1): each `0a LEN { 0a LEN piece, 15 f32 score, 18 type }`."""
    pos, pieces = 0, 0
    try:
        while pos < len(h) and pieces < MIN_RUN:
            if h[pos] != 0x0A:
                break
            outer, p = read_varint(h, pos + 1)
            if not 2 <= outer <= 1024 or h[p] != 0x0A:
                return None
            end = p + outer
            inner, q = read_varint(h, p + 1)
            if q + inner > end:
                return None
            h[q : q + inner].decode("utf-8")
            q += inner
            while q < end:
                tag = h[q]
                if tag == 0x15:  # score: fixed32
                    q += 5
                elif tag == 0x18:  # type: varint
                    _, q = read_varint(h, q + 1)
                else:
                    return None
            if q != end:
                return None
            pos, pieces = end, pieces + 1
    except (Truncated, IndexError, UnicodeDecodeError):
        pass
    if pieces >= MIN_RUN or (pieces >= 3 and pos >= len(h) - 64):
        return _tokenizer("sentencepiece-model", "sentencepiece-piece-records", {"pieces_checked": pieces})
    return None


def sniff_tokenizer(header: bytes, complete: bool = False) -> Finding | None:
    first = header[:1]
    if first == b"\x0a":
        return _sentencepiece(header)
    if first in (b"{", b" ", b"\n", b"\t", b"\r"):
        return _tokenizer_json(header) or _vocab_json(header)
    if first == b"#":
        return _merges(header, complete)
    if first in (b"[", b"<"):
        return _wordpiece(header, complete)
    return _tiktoken(header, complete)


class TokenizerDetector:
    name = "tokenizer"
    first_bytes = b"\x0a{ \t\r\n#[<+/" + bytes(range(0x30, 0x3A)) + bytes(range(0x41, 0x5B)) + bytes(range(0x61, 0x7B))
    # How each rule of sniff_tokenizer starts: SentencePiece records, tokenizer.json's first key,
    # a vocab.json's first two entries (_vocab_json needs 16), the merges header, a WordPiece
    # special token, a tiktoken line (base64, a space, a rank).
    gate = Gate(
        opening=rb'\n|\s*\{\s*"version"|\s*\{(?:' + _VOCAB_JSON_ENTRY.pattern + rb"){2}"
        rb"|#version: |\[PAD\]|<pad>|\[UNK\]|[A-Za-z0-9+/]++={0,2} \d++\n"
    )

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_tokenizer(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        return sniff_tokenizer(ctx.header, ctx.size <= len(ctx.header))


DETECTORS = [TokenizerDetector()]
