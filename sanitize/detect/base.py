"""The detector contract: recognise an AI artifact from a few bytes of content.

A detector looks at a file (or a directory, for formats that are directories) and returns a
`Finding` or None ("not mine"). It reads through `FileContext`, which hands out the first
`HEADER_BYTES` once and caps any further reads, so a hostile file cannot make a detector
read without bound. Detectors never return content: only counts, sizes, dimensions and
names of structures (table names, tensor counts), which is what reports may show.
"""

from __future__ import annotations

import enum
import errno
import functools
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

HEADER_BYTES = 4096
READ_BUDGET = 1 << 20  # most any detector may read from one file beyond the header


class Category(enum.StrEnum):
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

    def __init__(
        self,
        path: str,
        size: int,
        header: bytes,
        fd: int | None = None,
        *,
        siblings: frozenset[str] = frozenset(),
    ) -> None:
        self.path = path
        self.size = size
        self.header = header
        self._fd = fd
        self.bytes_read = len(header)
        # Names in the same directory: lets a detector use a neighbour (adapter_config.json,
        # quantize_config.json) as supporting evidence without another directory read.
        self.siblings = siblings
        # Parsed structures several detectors share (a zip central directory), parsed once per file.
        self.memo: dict[str, object] = {}

    @functools.cached_property
    def name(self) -> str:
        return os.path.basename(self.path)  # lazily: most files never need it

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


# Opening flags for anything a detector reads: never follow a symlink, never block on a FIFO
# swapped in after the type check, and leave atime alone (a forensic scan must not change it).
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


def open_regular(path: str, *, dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """Open a regular file read-only without following links; OSError for anything else.

    O_NOATIME is refused (EPERM) on files the caller does not own unless it has CAP_FOWNER,
    so it is tried first and dropped on EPERM.
    """
    try:
        fd = os.open(path, OPEN_FLAGS | _NOATIME, dir_fd=dir_fd)
    except PermissionError as exc:
        if not _NOATIME or exc.errno != errno.EPERM:  # EACCES is a real refusal, not O_NOATIME's
            raise
        fd = os.open(path, OPEN_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(path) if stat.S_ISDIR(st.st_mode) else OSError(f"not a regular file: {path}")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


@dataclass(frozen=True)
class DirContext:
    """A directory as directory-detectors see it: its path and the names inside it.

    `read_member` and `list_member` look one step further (a `variables/` subdirectory, the
    first bytes of `saved_model.pb`) under one shared READ_BUDGET per directory.
    """

    path: str
    entries: frozenset[str]
    _spent: list[int] = field(default_factory=lambda: [0], compare=False, repr=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path.rstrip("/"))

    def read_member(self, relpath: str, length: int = HEADER_BYTES, offset: int = 0) -> bytes | None:
        """First bytes of a regular file below this directory; None if absent or not regular."""
        if length <= 0 or ".." in relpath.split("/"):
            return None
        if self._spent[0] + length > READ_BUDGET:
            raise BudgetExceeded(os.path.join(self.path, relpath))
        try:
            st = os.lstat(os.path.join(self.path, relpath))
            if not stat.S_ISREG(st.st_mode):
                return None
            fd, _ = open_regular(os.path.join(self.path, relpath))
        except OSError:
            return None
        try:
            data = os.pread(fd, length, offset)
        except OSError:
            return None
        finally:
            os.close(fd)
        self._spent[0] += len(data)
        return data

    def list_member(self, relpath: str, limit: int = 4096) -> frozenset[str]:
        """Names inside a subdirectory (not following symlinks); empty if absent. At most `limit`."""
        if ".." in relpath.split("/"):
            return frozenset()
        full = os.path.join(self.path, relpath)
        try:
            if not stat.S_ISDIR(os.lstat(full).st_mode):
                return frozenset()
            names: list[str] = []
            with os.scandir(full) as it:
                for entry in it:
                    names.append(entry.name)
                    if len(names) >= limit:
                        break
            return frozenset(names)
        except OSError:
            return frozenset()


@runtime_checkable
class FileDetector(Protocol):
    """`detect` returns a Finding or None ("not mine").

    Optional class attribute `first_bytes: bytes`: every first byte a non-empty file of this
    format can start with. The scanner then skips the detector for other files without calling
    it, which matters at 200,000 files; leave it out when any first byte is possible.
    """

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
