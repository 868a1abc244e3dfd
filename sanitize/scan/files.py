"""Scanning one file: open it safely, read its header, ask the detectors that may apply.

Each file costs one open, one read of at most HEADER_BYTES and one close, and an fstat only when
the read fills the header (a shorter read is the whole file: its size), when the file is
reported, or when the read probes the page cache (HeaderReader); no detector is asked about an
empty file. Detectors may read more through FileContext, capped at READ_BUDGET. Which
detectors may apply is a table lookup on the header's first byte and on whether it looks like
text; of those, the ones that declare a gate are asked only when it holds, and the gates of one
table cell are tested together (one compiled match for their openings). A detector that raises
or exceeds its budget becomes a counted error.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import replace

from sanitize.detect.app_layout import AppScope
from sanitize.detect.base import (
    BINARY,
    HEADER_BYTES,
    TEXT,
    BudgetExceeded,
    DamagedFile,
    FileContext,
    FileDetector,
    Finding,
    Gate,
    GateTest,
    looks_like_text,
    open_regular_fd,
    regular_stat,
)
from sanitize.detect.locations import location_hint
from sanitize.detect.registry import Registry
from sanitize.scan.collect import Collector, error_kind, relpath
from sanitize.scan.first_bytes import cuts_by_first_byte
from sanitize.scan.model import Artifact, ScanStats

HASH_CHUNK = 1 << 20
NOWAIT = getattr(os, "RWF_NOWAIT", 0)  # Linux: a read that fails instead of waiting for the disk
PROBE_FILES = 4  # files per directory whose header read also tells whether the cache is cold


class HeaderReader:
    """Reads a file's first bytes, and says whether they were already in the page cache.

    Threads only pay off while reads wait for a disk: detection holds the GIL, and with the
    data cached, extra threads just pass the GIL back and forth at every syscall (measured:
    the 200k benchmark took 3.3 s with one thread, 3.3 to 7.3 s with four). A non-blocking
    first try (RWF_NOWAIT) tells the scanner which case it is in, at no extra syscall when
    cached. Without it (`nowait=False`, or a platform without the flag) every read counts as
    uncached, so every worker thread takes work. The scanner asks it only for a probing read (a
    directory's first files, see PROBE_FILES, or every file once one came from the disk); its
    other reads are plain `pread`s, counted as cached (FileScanner.scan_file).
    """

    def __init__(self, nowait: bool = True) -> None:
        self.flag = NOWAIT if nowait else 0

    @property
    def tells_cached(self) -> bool:
        return bool(self.flag)

    def read(self, fd: int, length: int) -> tuple[bytes, bool]:
        if self.flag:
            buf = bytearray(length)
            try:
                if os.preadv(fd, [buf], 0, self.flag) == length:
                    return bytes(buf), True
            except BlockingIOError:
                pass
            except OSError as exc:  # a filesystem without RWF_NOWAIT: read normally, count it as uncached
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
        return os.pread(fd, length, 0), False


def candidate_table(files: tuple[FileDetector, ...], text: bool) -> tuple[tuple[FileDetector, ...], ...]:
    """For each first byte, the detectors worth calling on a header of that class (see FileDetector)."""
    excluded = BINARY if text else TEXT
    return tuple(
        tuple(
            d
            for d in files
            if (getattr(d, "first_bytes", None) is None or b in d.first_bytes)  # type: ignore[attr-defined]
            and getattr(d, "header_class", None) != excluded
        )
        for b in range(256)
    )


Check = tuple[FileDetector, Callable[[bytes], object] | None, Callable[[bytes, int, str], bool] | None]


class Cell:
    """The detectors of one (text class, first byte), in registry order, and their gates.

    Most ordinary files fail every gate: one `match` of all the openings as one alternation,
    plus a memchr or two, and only the ungated detectors are asked. A file that fails every
    gate's content parts (all but `beyond_header` and `ending`) goes only to the detectors whose
    gate its size or its last bytes pass: a footer format (Lance) is asked about a file longer
    than its header only when the file's last bytes, which the caller reads (`footer_size` of
    them), end with its footer. For a file that passes, each gated detector is asked if its own
    opening matches (one C call) or the other parts of its gate hold (see `Check`).
    """

    __slots__ = ("_content", "all", "beyond", "candidates", "ending", "endings", "footer", "footer_size", "ungated")

    def __init__(self, candidates: tuple[FileDetector, ...], checks: tuple[Check, ...], content: GateTest | None):
        self.candidates = candidates
        self._content = content  # the content parts of the gates; None: no gate has any
        self.all = checks  # (detector, its opening's match, the rest of its gate)
        gates = [g if isinstance(g, Gate) else None for g in (getattr(d, "gate", None) for d in candidates)]
        pairs = list(zip(checks, gates, strict=True))
        self.ungated = tuple(c for c, g in pairs if g is None)
        self.beyond = tuple(c for c, g in pairs if g is None or g.beyond_header)
        self.footer = tuple(c for c, g in pairs if g is None or g.beyond_header or g.ending)
        self.ending = tuple(c for c, g in pairs if g is None or g.ending)
        self.endings = tuple(sorted({e for g in gates if g is not None for e in g.ending}))
        self.footer_size = max((len(e) for e in self.endings), default=0)

    def checks(self, header: bytes, size: int, name: str) -> tuple[Check, ...] | None:
        """The detectors that may recognise this file, each with the gate still to pass (`passes`);
        None for a file longer than its header that no content gate admits, in a cell with footer
        formats: its last `footer_size` bytes decide (`after_footer`)."""
        if self._content is not None and self._content.admits(header, size, name):
            return self.all
        # Most files: decided here, no gated detector called, or only those a size or footer may admit.
        if size > len(header):
            return None if self.footer_size else self.beyond
        if self.endings and header.endswith(self.endings):
            return self.ending
        return self.ungated

    def after_footer(self, footer: bytes) -> tuple[Check, ...]:
        """`beyond`, and the footer formats' detectors if the file's last bytes end with a footer."""
        return self.footer if footer.endswith(self.endings) else self.beyond

    def select(self, header: bytes, size: int, name: str, footer: bytes = b"") -> tuple[FileDetector, ...]:
        """The detectors asked about a file (`footer`: its last bytes, when longer than its header)."""
        chosen = self.checks(header, size, name)
        if chosen is None:
            chosen = self.after_footer(footer)
        return tuple(c[0] for c in chosen if passes(c, header, size, name))


def content_parts(gate: Gate) -> Gate:
    """A gate without its size and footer parts (Cell tests those apart)."""
    return replace(gate, beyond_header=False, ending=())


def _check(d: FileDetector) -> Check:
    gate = getattr(d, "gate", None)
    if not isinstance(gate, Gate):
        return d, None, None
    if any(b"(?P" in o for o in (gate.opening or b"", *(k[0] for k in gate.keyed))):
        raise ValueError(f"{d.name}: a gate's opening must not name groups")
    rest = replace(gate, opening=None)
    return (
        d,
        re.compile(gate.opening).match if gate.opening else None,
        GateTest([rest]).admits if rest != Gate() else None,
    )


def passes(check: Check, header: bytes, size: int, name: str) -> bool:
    _, match, rest = check
    if match is not None and match(header) is not None:
        return True
    if rest is not None:
        return rest(header, size, name)
    return match is None


def gated_table(files: tuple[FileDetector, ...], text: bool) -> tuple[Cell, ...]:
    """candidate_table with each cell's gates compiled (see Gate and Cell), each gate's openings cut
    to those that can start with the cell's byte (first_bytes.py); cells with the same detectors
    and cut gates are one object, each detector's check and each set of gates compiled once."""
    checks = {id(d): _check(d) for d in files}
    cuts = {
        id(d): cuts_by_first_byte(content_parts(d.gate))  # type: ignore[attr-defined]
        for d in files
        if isinstance(getattr(d, "gate", None), Gate)
    }
    cells: dict[tuple[tuple[int, ...], tuple[int, ...]], Cell] = {}
    tests: dict[tuple[int, ...], GateTest] = {}
    table = []
    for byte, candidates in enumerate(candidate_table(files, text)):
        ids = tuple(id(d) for d in candidates)
        content = [cut for cut in (cuts[i][byte] for i in ids if i in cuts) if cut is not None]
        same = tuple(id(cut) for cut in content)  # cuts are shared objects: equal cuts, equal ids
        if (ids, same) not in cells:
            if content and same not in tests:
                tests[same] = GateTest(content)
            cells[ids, same] = Cell(candidates, tuple(checks[i] for i in ids), tests[same] if content else None)
        table.append(cells[ids, same])
    return tuple(table)


def mode_fields(st_mode: int) -> tuple[str, bool]:
    perms = stat.S_IMODE(st_mode)
    return f"{perms:04o}", bool(perms & stat.S_IROTH)


def make_artifact(
    root: str,
    top: str,
    path: str,
    unit: str,
    finding: Finding,
    size: int,
    mode: str,
    world: bool,
    files: int | None,
    digest: str | None = None,
) -> Artifact:
    return Artifact(
        root=root,
        path=relpath(path, top),
        unit=unit,
        category=finding.category.value,
        format=finding.format,
        size_bytes=size,
        evidence=finding.evidence,
        details=dict(finding.details),
        mode=mode,
        world_readable=world,
        sha256=digest,
        location_hint=location_hint(path),
        files=files,
    )


class FileScanner:
    """Recognises single files; shared by the walk's threads (a worker process has its copy)."""

    def __init__(self, registry: Registry, collector: Collector, headers: HeaderReader, hash_files: bool) -> None:
        self.files = registry.file_detectors
        # Detectors worth calling, by [header looks like text][first byte], with their gates: the
        # per-file gates are decided once here, not inside each detector.
        self.cells = (gated_table(self.files, False), gated_table(self.files, True))
        self.no_header: tuple[Check, ...] = tuple((d, None, None) for d in self.files)
        self.collector = collector
        self.headers = headers
        self.hash_files = hash_files

    def scan_file(
        self,
        root: str,
        top: str,
        path: str,
        siblings: frozenset[str],
        stats: ScanStats,
        name: str | None = None,
        dir_fd: int | None = None,
        app: AppScope | None = None,
        probe: bool = True,
    ) -> bool:
        """Scan one file: `path` in full, or `name` inside the open directory `dir_fd`.

        `app`: the layout of the recognised application directory above it, asked about a file
        no content detector recognised. Returns False when its header had to be read from the
        disk (see HeaderReader; asked only with `probe`).
        """
        stats.files_seen += 1
        try:
            fd = open_regular_fd(path) if dir_fd is None or name is None else open_regular_fd(name, dir_fd=dir_fd)
        except OSError as exc:
            self.collector.error(stats, root, top, path, error_kind(exc))
            return True
        st: os.stat_result | None = None
        cached = True
        try:
            if probe:
                st = regular_stat(fd, path)
                size = st.st_size
                # Ask for no more than the file holds: a full read is a cache hit.
                header, cached = (
                    self.headers.read(fd, size if size < HEADER_BYTES else HEADER_BYTES) if size else (b"", True)
                )
            else:
                # A read shorter than a header is the whole file, so most files need no fstat for
                # their size. Their type: the walk listed a regular file, and pread refuses what a
                # race could put in its place (ESPIPE for a FIFO, EISDIR for a directory).
                header = os.pread(fd, HEADER_BYTES, 0)
                if len(header) < HEADER_BYTES:
                    size = len(header)
                else:
                    st = regular_stat(fd, path)
                    size = st.st_size
            if not size:
                stats.empty_files += 1  # no content, nothing any detector could recognise
                return True
            if header:
                text = looks_like_text(header)
                base = name if name is not None else path.rpartition("/")[2]
                cell = self.cells[text][header[0]]
                candidates = cell.checks(header, size, base)
                if candidates is None:
                    # No content gate admits a file longer than its header: a footer format (Lance)
                    # still may, which its last bytes (one small read) decide.
                    footer = os.pread(fd, cell.footer_size, size - cell.footer_size)
                    stats.bytes_read += len(footer)
                    candidates = cell.after_footer(footer)
            else:  # a file that shrank to nothing after fstat: every detector, as for any file without a header
                text, candidates = False, self.no_header
            if candidates:
                ctx = FileContext(path, size, header, fd, siblings=siblings, name=name, is_text=text)
                finding = self._detect(ctx, candidates, root, top, stats)
                stats.bytes_read += ctx.bytes_read
            else:  # most files: no detector to ask, no context to build
                finding = None
                stats.bytes_read += len(header)
            if finding is None and app is not None:
                finding = app.classify(path, False)  # a documented file of a recognised application
            if finding is None:
                return cached
            if st is None:
                st = regular_stat(fd, path)
            digest = self._hash(fd, stats) if self.hash_files else None
        except OSError as exc:
            self.collector.error(stats, root, top, path, error_kind(exc))
            return cached
        finally:
            os.close(fd)
        mode, world = mode_fields(st.st_mode)
        self.collector.emit(stats, make_artifact(root, top, path, "file", finding, size, mode, world, None, digest))
        return cached

    def _detect(
        self, ctx: FileContext, candidates: tuple[Check, ...], root: str, top: str, stats: ScanStats
    ) -> Finding | None:
        header, size = ctx.header, ctx.size
        for detector, match, rest in candidates:
            # The detector's own gate (`passes`, inlined: this runs for most detectors of many files).
            if match is not None:
                if match(header) is None and (rest is None or not rest(header, size, ctx.name)):
                    continue
            elif rest is not None and not rest(header, size, ctx.name):
                continue
            try:
                finding = detector.detect(ctx)
            except BudgetExceeded:
                self.collector.error(stats, root, top, ctx.path, f"budget:{detector.name}")
                continue
            except DamagedFile as exc:  # its format, damaged: listed, since it may hold anything
                self.collector.error(stats, root, top, ctx.path, f"damaged:{detector.name}")
                return exc.finding()
            except OSError:
                raise  # the file itself failed (vanished, EIO): reported once by the caller
            except Exception:
                self.collector.error(stats, root, top, ctx.path, f"detector:{detector.name}")
                continue
            if finding is not None:
                return finding
        return None

    @staticmethod
    def _hash(fd: int, stats: ScanStats) -> str:
        h = hashlib.sha256()
        offset = 0
        while chunk := os.pread(fd, HASH_CHUNK, offset):
            h.update(chunk)
            offset += len(chunk)
        stats.bytes_hashed += offset
        return h.hexdigest()
