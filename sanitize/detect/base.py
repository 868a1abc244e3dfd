"""The detector contract: recognise an AI artifact from a few bytes of content.

A detector looks at a file (or a directory, for formats that are directories) and returns a
`Finding` or None ("not mine"). It reads through `FileContext`, which hands out the first
`HEADER_BYTES` once and caps any further reads, so a hostile file cannot make a detector
read without bound. Detectors never return content: only counts, sizes, dimensions and
names of structures (table names, tensor counts), which is what reports may show.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

HEADER_BYTES = 4096
READ_BUDGET = 1 << 20  # most any detector may read from one file beyond the header


class Category(str, enum.Enum):
    MODEL_WEIGHTS = "model-weights"
    ADAPTER = "adapter"
    TRAINING_CHECKPOINT = "training-checkpoint"
    VECTOR_STORE = "vector-store"
    INFERENCE_CACHE = "inference-cache"
    CONVERSATION = "conversation"
    PROMPT_LOG = "prompt-log"
    DOCUMENT_STORE = "document-store"
    TOKENIZER = "tokenizer"
    CREDENTIAL = "credential"
    MEMORY_IMAGE = "memory-image"


Detail = str | int | float | bool


@dataclass(frozen=True)
class Finding:
    category: Category
    format: str  # "gguf", "safetensors", "chroma", ...
    evidence: str  # the rule that matched: "gguf-magic", "sqlite-embedding-blobs:float32x384"
    details: Mapping[str, Detail] = field(default_factory=dict)  # never content


class BudgetExceeded(Exception):
    """A detector asked for more bytes than READ_BUDGET allows."""


class FileContext:
    """One regular file as detectors see it: name, size, header and capped extra reads."""

    def __init__(self, path: str, size: int, header: bytes, fd: int | None = None) -> None:
        self.path = path
        self.name = os.path.basename(path)
        self.size = size
        self.header = header
        self._fd = fd
        self.bytes_read = len(header)

    def read_at(self, offset: int, length: int) -> bytes:
        if length < 0 or offset < 0:
            return b""
        if self.bytes_read + length > HEADER_BYTES + READ_BUDGET:
            raise BudgetExceeded(self.path)
        if offset + length <= len(self.header):
            return self.header[offset : offset + length]
        if self._fd is None:
            return b""
        data = os.pread(self._fd, length, offset)
        self.bytes_read += len(data)
        return data

    def tail(self, length: int) -> bytes:
        return self.read_at(max(0, self.size - length), min(length, self.size))


@dataclass(frozen=True)
class DirContext:
    """A directory as directory-detectors see it: its path and the names inside it."""

    path: str
    entries: frozenset[str]

    @property
    def name(self) -> str:
        return os.path.basename(self.path.rstrip("/"))


@runtime_checkable
class FileDetector(Protocol):
    name: str

    def detect(self, ctx: FileContext) -> Finding | None: ...


@runtime_checkable
class DirectoryDetector(Protocol):
    name: str

    def detect_dir(self, ctx: DirContext) -> Finding | None: ...


@runtime_checkable
class HeaderSniffer(Protocol):
    """Header-only recognition, usable on raw device blocks by `sanitize carve`."""

    name: str

    def sniff(self, header: bytes) -> Finding | None: ...
