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
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sanitize.detect.dir_files import list_dir, open_file
from sanitize.detect.nofollow import open_no_symlinks

HEADER_BYTES = 4096
READ_BUDGET = 1 << 20  # most any detector may read from one file beyond the header

# Values of the optional `header_class` attribute of a file detector (see FileDetector).
TEXT = "text"
BINARY = "binary"


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
    # A file in a format a detector knows (SQLite, Parquet) that it could not examine because
    # the file is damaged: it may hold anything, so it is listed rather than passed over.
    DAMAGED = "damaged"


Detail = str | int | float | bool


@dataclass(frozen=True)
class Finding:
    category: Category
    format: str  # "gguf", "safetensors", "chroma", ...
    evidence: str  # the rule that matched: "gguf-magic", "sqlite-embedding-blobs:float32x384"
    details: Mapping[str, Detail] = field(default_factory=dict)  # never content


class BudgetExceeded(Exception):
    """A detector asked for more bytes than READ_BUDGET allows."""


class DamagedFile(Exception):
    """The file is in the detector's format but cannot be examined: truncated, overwritten,
    a header that contradicts itself. A damaged file on a scanned disk is input, not a bug.

    A detector raises it only when the file is recognisably its own (a SQLite header) and
    parsing then fails; for a file that is merely not its format it returns None. The scanner
    lists the file as an artifact (`finding()`: what the detector still recognised, else
    category `damaged`, with `details.damage` = `reason`) and reports an error
    `damaged:<detector>` for it; neither makes the command fail. Any other exception a
    detector raises is a bug (`detector:<detector>`, exit 1). `reason` is a short fixed word
    (`corrupt`, `header`...), never content.
    """

    def __init__(self, reason: str, *, fmt: str, recognised: Finding | None = None) -> None:
        super().__init__(f"damaged {fmt} file: {reason}")
        self.reason = reason
        self.fmt = fmt
        self.recognised = recognised

    def finding(self) -> Finding:
        if self.recognised is not None:
            found = self.recognised
            return Finding(found.category, found.format, found.evidence, {**found.details, "damage": self.reason})
        return Finding(Category.DAMAGED, self.fmt, f"{self.fmt}-magic", {"damage": self.reason})


def looks_like_text(data: bytes) -> bool:
    """No NUL byte and valid UTF-8 (ASCII included): what every text format's header looks like."""
    if not data or b"\x00" in data:
        return False
    if data.isascii():  # most text, decided without decoding
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the header boundary is still text.
        return exc.start >= len(data) - 3
    return True


class FileContext:
    """One regular file as detectors see it: name, size, header and capped extra reads."""

    # One is built for every file of a tree: slots make building it and reading it cheaper.
    __slots__ = ("_fd", "_is_text", "_memo", "_name", "bytes_read", "header", "path", "siblings", "size")

    def __init__(
        self,
        path: str,
        size: int,
        header: bytes,
        fd: int | None = None,
        *,
        siblings: frozenset[str] = frozenset(),
        name: str | None = None,
        is_text: bool | None = None,
    ) -> None:
        self.path = path
        self.size = size
        self.header = header
        self._fd = fd
        self.bytes_read = len(header)
        # Names in the same directory: lets a detector use a neighbour (adapter_config.json,
        # quantize_config.json) as supporting evidence without another directory read.
        self.siblings = siblings
        self._memo: dict[str, object] | None = None
        self._name = name
        self._is_text = is_text  # `looks_like_text(header)`, when the caller has computed it

    @property
    def memo(self) -> dict[str, object]:
        """Parsed structures several detectors share (a zip central directory), parsed once per
        file; made on first use, since most files never need one."""
        if self._memo is None:
            self._memo = {}
        return self._memo

    @property
    def name(self) -> str:
        # Plain memo, not functools.cached_property: that one takes a lock on every first access
        # (Python 3.11), which showed in profiles at 200,000 files.
        if self._name is None:
            self._name = self.path.rpartition("/")[2]
        return self._name

    @property
    def fd(self) -> int | None:
        """The descriptor the scanner opened (no-follow, non-blocking): a detector that needs more
        than `read_at` (SQLite) works from it and never opens the path again."""
        return self._fd

    @property
    def is_text(self) -> bool:
        """`looks_like_text(header)`, computed once per file however many detectors ask."""
        if self._is_text is None:
            self._is_text = looks_like_text(self.header)
        return self._is_text

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
# O_NONBLOCK: a FIFO put in a file's place cannot block the open or the read; O_NOCTTY: nor a
# terminal become the scan's controlling one.
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


def _open(path: str, flags: int, dir_fd: int | None) -> int:
    # A name under an open directory is one component (O_NOFOLLOW covers it); a path is
    # resolved without following a symlink anywhere in it (see sanitize.detect.nofollow).
    if dir_fd is None and "/" in path:
        return open_no_symlinks(path, flags)
    return os.open(path, flags, dir_fd=dir_fd)


def _open_noatime(path: str, flags: int, dir_fd: int | None) -> int:
    """O_NOATIME is refused (EPERM) on files the caller does not own unless it has CAP_FOWNER,
    so it is tried first and dropped on EPERM."""
    try:
        return _open(path, flags | _NOATIME, dir_fd)
    except PermissionError as exc:
        if not _NOATIME or exc.errno != errno.EPERM:  # EACCES is a real refusal, not O_NOATIME's
            raise
        return _open(path, flags, dir_fd)


def open_directory(path: str) -> int:
    """A directory fd for listing and for opening its files by name (`open_regular(name, dir_fd=)`):
    the kernel then resolves one name per file, not the whole path, and a directory swapped for
    a symlink during the scan is refused (ELOOP), not followed."""
    return _open_noatime(path, OPEN_FLAGS | os.O_DIRECTORY, None)


def open_regular_fd(path: str, *, dir_fd: int | None = None) -> int:
    """Open what should be a regular file as open_regular does, without checking its type."""
    if dir_fd is None:
        return _open_noatime(path, OPEN_FLAGS, None)
    # One name under an open directory (the scan's case, once per file: _open_noatime inlined).
    try:
        return os.open(path, OPEN_FLAGS | _NOATIME, dir_fd=dir_fd)
    except PermissionError as exc:
        if not _NOATIME or exc.errno != errno.EPERM:
            raise
        return os.open(path, OPEN_FLAGS, dir_fd=dir_fd)


def regular_stat(fd: int, path: str) -> os.stat_result:
    """fstat of an open file that should be regular; OSError (fd left open) for anything else."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise (
            IsADirectoryError(path)
            if stat.S_ISDIR(st.st_mode)
            else OSError(errno.ESPIPE, f"not a regular file: {path}")
        )
    return st


def open_regular(path: str, *, dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """Open a regular file read-only without following links; OSError for anything else."""
    fd = open_regular_fd(path, dir_fd=dir_fd)
    try:
        return fd, regular_stat(fd, path)
    except BaseException:
        os.close(fd)
        raise


@dataclass(frozen=True)
class Gate:
    """What a file must show before a detector can recognise it: the scanner asks the detector
    only when at least one of these holds (see FileDetector). A gate is a necessary condition
    implied by the detector's own rules, never a guess: a wrong gate silently loses findings.

    - `opening`: a regular expression (bytes) that matches at the header's first byte (`match`).
    - `within`: (guard, literal, end) triples: `literal` occurs in `header[:end]`; the scanner
      looks for it only where the one-byte `guard` occurs (memchr: a longer search costs a few
      microseconds per 4 KiB).
    - `ending`: the file ends with one of these (a footer): the header when it holds the whole
      file, else the file's last bytes, which the scanner reads (one small read) before asking.
    - `beyond_header`: the file is longer than its header (the detector reads further).
    - `names`, `name_prefixes`, `name_suffixes`: the file's name says what it holds.
    - `keyed`: (opening, gate) pairs: the opening matches *and* the inner gate holds. For an
      opening that ordinary files share (a JSON object's `{`) and that the detector's rules
      only accept with something more (a key, a second line, a name).
    - `first_line_words`: a word of the header's first line is one of these (lower case; see
      `has_word`). For a table's header line, which ordinary CSVs share.
    """

    opening: bytes | None = None
    within: tuple[tuple[bytes, bytes, int], ...] = ()
    ending: tuple[bytes, ...] = ()
    beyond_header: bool = False
    names: frozenset[str] = frozenset()
    name_prefixes: tuple[str, ...] = ()
    name_suffixes: tuple[str, ...] = ()
    keyed: tuple[tuple[bytes, Gate], ...] = ()
    first_line_words: frozenset[str] = frozenset()


_LETTERS_ONLY = bytes(c if 65 <= c <= 90 or 97 <= c <= 122 else 32 for c in range(256))  # others: space
_HUMP = re.compile(rb"[a-z][A-Z]").search
_CAMEL_WORD = re.compile(rb"[A-Z]+[a-z]*|[a-z]+").findall


def has_word(line: bytes, words: frozenset[bytes]) -> bool:
    """Whether a word of `line`, in any case, is one of `words` (lower case). Words are the runs of
    ASCII letters, split where a lower-case letter meets a capital (`userPrompt`: user, prompt)."""
    if not words.isdisjoint(line.translate(_LETTERS_ONLY).lower().split()):
        return True
    return _HUMP(line) is not None and not words.isdisjoint(map(bytes.lower, _CAMEL_WORD(line)))


class GateTest:
    """Gates compiled into one test: a file passes when it passes any of them. For the detectors
    of one (text class, first byte) the openings become one alternation, so an ordinary file is
    decided by one failed `match` and a few memchr calls instead of a call to each detector.

    `admits(header, size, name)` is a closure over the parts the gates have (asked once per file
    of a tree: no attribute lookups, no loop over empty parts). The alternation is compiled on
    the first call: a scan uses few of the table's (text class, first byte) cells, and compiling
    all of them took 13 ms of every scan's start."""

    __slots__ = ("_compiled", "_gates", "admits")

    def __init__(self, gates: Iterable[Gate]) -> None:
        self._gates = list(gates)
        self._compiled: Callable[[bytes, int, str], bool] | None = None
        self.admits: Callable[[bytes, int, str], bool] = (
            self._first if any(g.opening is not None or g.keyed for g in self._gates) else _admits(self._gates)
        )

    def _first(self, header: bytes, size: int, name: str) -> bool:
        # Compiled once, also for a caller that kept `admits` from before the first call.
        if self._compiled is None:
            self._compiled = self.admits = _admits(self._gates)
        return self._compiled(header, size, name)


def _admits(gates: list[Gate]) -> Callable[[bytes, int, str], bool]:
    openings = sorted({g.opening for g in gates if g.opening is not None})
    match = re.compile(b"|".join(b"(?:%s)" % o for o in openings)).match if openings else None
    # Literals by guard: one memchr for the guard, then only its own literals.
    by_guard: dict[tuple[bytes, int], set[bytes]] = {}
    for g in gates:
        for guard, literal, end in g.within:
            by_guard.setdefault((guard, end), set()).add(literal)
    within = tuple((guard, tuple(sorted(by_guard[guard, end])), end) for guard, end in sorted(by_guard))
    endings = tuple(sorted({e for g in gates for e in g.ending}))
    beyond = any(g.beyond_header for g in gates)
    names = frozenset().union(*(g.names for g in gates))
    prefixes = tuple(sorted({p for g in gates for p in g.name_prefixes}))
    suffixes = tuple(sorted({x for g in gates for x in g.name_suffixes}))
    by_name = bool(names or prefixes or suffixes)
    # Inner gates of one opening are one test; the opening is matched first (most files fail it).
    inner: dict[bytes, list[Gate]] = {}
    for g in gates:
        for opening, gate in g.keyed:
            inner.setdefault(opening, []).append(gate)
    keyed = tuple((re.compile(o).match, _admits(inner[o])) for o in sorted(inner))
    line_words = frozenset(w.encode() for g in gates for w in g.first_line_words)

    def admits(header: bytes, size: int, name: str) -> bool:
        if match is not None and match(header) is not None:
            return True
        for opens, holds in keyed:
            if opens(header) is not None and holds(header, size, name):
                return True
        for guard, literals, end in within:
            if header.find(guard, 0, end) >= 0:
                for literal in literals:
                    if header.find(literal, 0, end) >= 0:
                        return True
        if line_words:
            nl = header.find(b"\n")
            if has_word(header if nl < 0 else header[:nl], line_words):
                return True
        if size > len(header):
            if beyond or endings:  # the footer is beyond the header (the scanner's cells read it first)
                return True
        elif endings and header.endswith(endings):
            return True
        return by_name and (name in names or name.startswith(prefixes) or name.endswith(suffixes))

    return admits


@dataclass(frozen=True)
class DirContext:
    """A directory as directory-detectors see it: its path and the names inside it.

    `read_member` and `list_member` look one step further (a `variables/` subdirectory, the
    first bytes of `saved_model.pb`) under one shared READ_BUDGET per directory.
    """

    path: str
    entries: frozenset[str]
    _spent: list[int] = field(default_factory=lambda: [0], compare=False, repr=False)
    # Asked of every directory of a tree by several detectors: computed once (the dataclass is frozen).
    _memo: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        name = self._memo.get("name")
        if name is None:
            name = self._memo["name"] = os.path.basename(self.path.rstrip("/"))
        return name

    def ending(self, suffix: str) -> list[str]:
        """The names that end with `suffix`. Most directories have none, which one search of all
        the names joined tells (a name followed by a newline in that text), not a loop over them."""
        joined = self._memo.get("joined")
        if joined is None:
            joined = self._memo["joined"] = "\n".join(self.entries) + "\n"
        if suffix + "\n" not in joined:
            return []
        return [n for n in self.entries if n.endswith(suffix)]

    def read_member(self, relpath: str, length: int = HEADER_BYTES, offset: int = 0) -> bytes | None:
        """First bytes of a regular file below this directory; None if absent or not regular."""
        if length <= 0 or ".." in relpath.split("/"):
            return None
        if self._spent[0] + length > READ_BUDGET:
            raise BudgetExceeded(os.path.join(self.path, relpath))
        fd = open_file(os.path.join(self.path, relpath))
        if fd is None:
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
        return frozenset(list_dir(os.path.join(self.path, relpath), limit))


@runtime_checkable
class FileDetector(Protocol):
    """`detect` returns a Finding or None ("not mine"), or raises `DamagedFile` for a file of its
    format that it cannot parse; any other exception is a bug. It is never called for an empty file.

    Optional class attributes let the scanner skip a detector without calling it, decided once
    per file instead of inside every detector; that matters at 200,000 files:
    - `first_bytes: bytes`: every first byte a file of this format can start with.
    - `header_class`: `TEXT` when the detector can only match if `looks_like_text(header)`
      (no NUL byte, UTF-8), `BINARY` when it can only match if not (its structure puts a NUL
      byte or invalid UTF-8 in the header, e.g. a small little-endian integer).
    - `gate: Gate`: what the header (or size, or name) must show; the scanner tests the gates of
      all of a file's remaining detectors at once.
    Declare one only when the detector's own rules imply it: a wrong gate silently loses findings.
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
