"""The scanner's gates: per file (first byte, text/binary header, empty file) they never hide a
finding; per directory, helper threads only work while reads wait for the disk.

A detector declares `first_bytes` / `header_class` and the scanner skips it by table lookup; a
wrong declaration would silently lose findings, so every fixture and negative file is checked:
any detector that recognises a file when called directly must be among the scanner's candidates.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sanitize.detect import base, registry
from sanitize.detect.base import BINARY, HEADER_BYTES, TEXT, DamagedFile, FileContext, Gate, GateTest, looks_like_text
from sanitize.scan import HeaderReader, Scanner
from sanitize.scan.files import candidate_table, content_parts, gated_table
from sanitize.scan.first_bytes import ALL, alternatives, cuts_by_first_byte, first_bytes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "artifacts"
FILES = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_size)


def _contexts() -> Iterator[tuple[Path, FileContext]]:
    """Every fixture and negative file as the scanner hands it to detectors; each closed after its turn."""
    for path in FILES:
        fd = os.open(path, os.O_RDONLY)
        try:
            header = os.pread(fd, HEADER_BYTES, 0)
            yield (
                path,
                FileContext(str(path), os.fstat(fd).st_size, header, fd, siblings=frozenset(os.listdir(path.parent))),
            )
        finally:
            os.close(fd)


def test_fixture_corpus_is_large() -> None:
    assert len(FILES) > 100  # guards the glob, so the check below cannot pass on nothing


def _recognises(detector: object, ctx: FileContext) -> bool:
    try:
        return detector.detect(ctx) is not None  # type: ignore[attr-defined]
    except DamagedFile:  # its format, damaged: listed as an artifact, so the gate must let it through
        return True
    except Exception:
        return False


@pytest.mark.parametrize("text", [False, True])
def test_gates_keep_every_detector_that_matches(text: bool) -> None:
    detectors = registry.file_detectors()
    table = candidate_table(detectors, text)
    checked = 0
    for path, ctx in _contexts():
        if ctx.is_text != text:
            continue
        candidates = table[ctx.header[0]]
        for detector in detectors:
            if _recognises(detector, ctx):
                checked += 1
                assert detector in candidates, f"{detector.name} gated out {path.relative_to(FIXTURES)}"
    assert checked > (5 if text else 40)


def test_every_declared_gate_admits_every_file_its_detector_recognises() -> None:
    """Each detector's own `gate`, on every fixture and negative file, whatever its first byte or class."""
    gated = [(d, GateTest([d.gate])) for d in registry.file_detectors() if isinstance(getattr(d, "gate", None), Gate)]
    assert len(gated) >= 12
    checked: Counter[str] = Counter()
    for path, ctx in _contexts():
        for detector, gate in gated:
            if _recognises(detector, ctx):
                checked[detector.name] += 1
                assert gate.admits(ctx.header, ctx.size, ctx.name), f"{detector.name} gated out {path}"
    assert sum(checked.values()) > 60 and len(checked) >= 10, checked


@pytest.mark.parametrize("text", [False, True])
def test_the_scanner_asks_every_detector_that_matches_through_the_gates(text: bool) -> None:
    """Each table cell's selection (combined gate, then the lookaheads and other parts)."""
    detectors = registry.file_detectors()
    cells = gated_table(detectors, text)
    checked = 0
    for path, ctx in _contexts():
        if ctx.is_text != text:
            continue
        cell = cells[ctx.header[0]]
        asked = cell.select(ctx.header, ctx.size, ctx.name)
        assert list(asked) == [d for d in cell.candidates if d in asked]  # registry order kept
        for detector in detectors:
            if _recognises(detector, ctx):
                checked += 1
                assert detector in asked, (detector.name, path)
    assert checked > (5 if text else 40)


def test_gates_decide_ordinary_files_without_calling_detectors() -> None:
    """Notes and random bytes pass no gate: no detector is called for them; a JSON record or a
    table's header line reaches only the detectors whose openings it has."""
    rnd = random.Random(3)
    cells = (gated_table(registry.file_detectors(), False), gated_table(registry.file_detectors(), True))
    note = b"line 0 of a note: nothing to see\nline 1 of a note: nothing to see\n"
    for header, text in ((note, True), (rnd.randbytes(4000), False), (b"\x89PNG\r\n\x1a\n" + bytes(range(200)), False)):
        assert cells[text][header[0]].select(header, len(header), "f.dat") == ()
    table = b"a,b,c\n1,2,3\n"  # an ordinary table: no telling word in its header line, no template mark
    assert cells[True][ord("a")].select(table, len(table), "f.csv") == ()
    for telling in (b"id,prompt,output\n1,2,3\n", b"id,userPrompt,modelAnswer\n", b"a,b\n[INST] x,y\n"):
        assert [d.name for d in cells[True][telling[0]].select(telling, len(telling), "f.csv")] == ["prompt-logs"]
    record = b'{"id": 1, "name": "x"}'  # one JSON object, no telling key: asks no detector
    assert cells[True][ord("{")].select(record, len(record), "f.json") == ()
    assert [d.name for d in cells[True][ord("{")].select(record + b"\n", len(record) + 1, "f.json")] == ["prompt-logs"]
    assert [d.name for d in cells[True][ord("{")].select(record, len(record), "f.jsonl")] == ["prompt-logs"]
    assert [d.name for d in cells[True][ord("{")].select(record, 9000, "f.json")] == ["lance", "prompt-logs"]
    assert "credentials" in [d.name for d in cells[True][ord("{")].select(record, len(record), ".env")]
    for key, asked in ((b'"role"', ["chat-stores"]), (b'"run_type"', ["prompt-text"])):
        keyed = b'{"id": 1, ' + key + b': "x"}'
        assert [d.name for d in cells[True][ord("{")].select(keyed, len(keyed), "f.json")] == asked


def test_gate_parts() -> None:
    gate = GateTest(
        [
            Gate(opening=rb"MAGIC"),
            Gate(within=((b"_", b"hf_", 80),)),
            Gate(ending=(b"LANC",), beyond_header=True),
            Gate(names=frozenset({"token"}), name_prefixes=(".env.",), name_suffixes=(".env",)),
        ]
    )
    assert gate.admits(b"MAGIC...", 8, "x")
    assert gate.admits(b"xx hf_abc", 9, "x") and not gate.admits(b"x" * 80 + b"hf_abc", 86, "x")
    assert gate.admits(b"....LANC", 8, "x") and not gate.admits(b"....LAND", 8, "x")
    assert gate.admits(b"....LAND", 9000, "x")  # the footer is beyond the header
    assert not gate.admits(b"plain", 5, "x") and gate.admits(b"plain", 4097, "x")
    assert all(gate.admits(b"plain", 5, n) for n in ("token", ".env.local", "prod.env"))
    assert not GateTest([Gate(opening=rb"MAGIC")]).admits(b"plain", 1 << 20, "token")
    # keyed: the opening and the inner gate, both; inner gates of one opening are one test
    keyed = GateTest(
        [
            Gate(keyed=((rb"\{", Gate(within=((b"k", b'"key"', 4096),))),)),
            Gate(keyed=((rb"\{", Gate(beyond_header=True, name_suffixes=(".jsonl",))),)),
        ]
    )
    assert keyed.admits(b'{"key": 1}', 10, "x") and not keyed.admits(b'["key"]', 7, "x")
    assert not keyed.admits(b'{"id": 1}', 9, "x") and not keyed.admits(b"plain", 9000, "x.jsonl")
    assert keyed.admits(b'{"id": 1}', 9000, "x") and keyed.admits(b'{"id": 1}', 9, "x.jsonl")
    # first_line_words: a word of the first line only, in any case, camelCase split
    words = GateTest([Gate(first_line_words=frozenset({"prompt"}))])
    for line in (b"id,prompt", b"ID;PROMPT_2", b"userPrompt|x", b"Prompt"):
        assert words.admits(line + b"\nrow", 9, "x"), line
    for line in (b"id,prompts", b"promptly,x", b"id,x\nprompt", b"HTTPPrompt"):
        assert not words.admits(line, 9, "x"), line


def test_has_word_splits_like_column_names_and_ignores_case() -> None:
    words = frozenset({b"prompt", b"response"})
    assert base.has_word(b"id,user_prompt,x", words) and base.has_word(b"modelResponse", words)
    assert base.has_word(b"RESPONSE2", words) and base.has_word(b"\xc3\xa9prompt\xc3\xa9", words)
    assert not base.has_word(b"prompter,responses", words) and not base.has_word(b"", words)


def test_a_cell_asks_size_and_footer_gates_apart_from_content_gates() -> None:
    """A file no content gate admits goes to the detectors its size or last bytes concern: a
    footer format (Lance) only when the file's last bytes, read by the scanner, end with it."""
    cells = gated_table(registry.file_detectors(), False)
    rnd = random.Random(9)
    noise = bytes(b | 1 for b in rnd.randbytes(HEADER_BYTES))  # no NUL: no binary magic, no text either
    cell = cells[noise[0]]
    ungated = [d.name for d in cell.candidates if not hasattr(d, "gate")]
    assert cell.checks(noise, 1 << 20, "f.bin") is None and [c[0].name for c in cell.beyond] == ungated
    assert [c[0].name for c in cell.after_footer(b"\x00" * cell.footer_size)] == ungated
    footer = b"\x01\x00\x02\x00LANC"[-cell.footer_size :]
    assert "lance" in [c[0].name for c in cell.after_footer(footer)]
    assert [d.name for d in cell.select(noise, 1 << 20, "f.bin", footer)] == ["lance"]
    assert [d.name for d in cell.select(noise[:100] + b"\x01\x00\x02\x00LANC", 108, "f.lance")] == ["lance"]
    assert cell.select(noise[:108], 108, "f.bin") == ()


def test_a_footer_beyond_the_header_is_read_by_the_scanner_and_found(tmp_path: Path) -> None:
    body = bytes(b | 1 for b in random.Random(4).randbytes(3 * HEADER_BYTES))
    (tmp_path / "part-0.bin").write_bytes(body + b"\x02\x00\x03\x00LANC")  # a Lance data file, renamed
    (tmp_path / "noise.bin").write_bytes(body + b"\x02\x00\x03\x00LAND")
    result = Scanner(workers=1, processes=0).scan([str(tmp_path)])
    assert [(a.path, a.format, a.size_bytes) for a in result.artifacts] == [("part-0.bin", "lance", len(body) + 8)]
    assert result.stats.bytes_read == 2 * HEADER_BYTES + 4 + 4 + 8  # two headers, two footers, Lance's own read


_PLAIN_KEYS = ("id", "name", "content", "text", "type", "input", "level", "msg", "body", "payload", "tags", "n")
_TELLING_KEYS = ("messages", "role", "run_type", "inputs", "outputs", "prompts", "generations", "custom_id",
                 "response", "event_type", "formatted_prompt", "class_name", "internal", "visible", "prompt",
                 "completion", "instruction", "gen_ai.prompt", "gen_ai.request.model", "mlflow.spanInputs",
                 "langfuse.observation.input", "traceId", "tid", "timestamp", "message")  # fmt: skip
_JSON_VALUES = ("llm", "user", "assistant", "chat_model", "GENERATION", "LLMChatStartEvent", "templating",
                "Received request cmpl-1: prompt: 'x'", "INFO", 1, 0.5, None)  # fmt: skip


def _json_header(rnd: random.Random) -> tuple[bytes, int, str]:
    """A JSON or JSON-lines file as a detector sees it: (header, size, name)."""

    def value(key: str, depth: int) -> object:
        pick = rnd.random()
        if key == "messages" and pick < 0.6:
            return [{"role": rnd.choice(["user", "assistant"]), "content": "x"} for _ in range(rnd.randrange(1, 4))]
        if depth < 2 and pick < 0.2:
            return record(depth + 1)
        if depth < 2 and pick < 0.3:
            return [record(depth + 1) for _ in range(rnd.randrange(1, 3))] if rnd.random() < 0.7 else [["a", "b"]]
        return rnd.choice(_JSON_VALUES)

    def record(depth: int = 0) -> dict[str, object]:
        keys = rnd.sample(_PLAIN_KEYS, rnd.randrange(1, 4))
        if rnd.random() < 0.3:
            keys[rnd.randrange(len(keys) + 1) :] = rnd.sample(_TELLING_KEYS, rnd.randrange(1, 3))
        return {k: value(k, depth) for k in keys}

    records = [
        json.dumps(record(), separators=rnd.choice([(",", ":"), (", ", ": ")])) for _ in range(rnd.randrange(1, 5))
    ]
    body = rnd.choice(["\n".join(records), "[" + ", ".join(records) + "]", records[0]])
    data = (rnd.choice(["", " ", "\n", "\ufeff", "\t\n "]) + body + rnd.choice(["", "\n"])).encode()
    size = len(data) if rnd.random() < 0.7 else len(data) + rnd.choice([1, 5000])
    return data[:HEADER_BYTES], size, rnd.choice(["f.json", "f.jsonl", "f.log", "f.ndjson", "f.dat", "x.json"])


def test_keyed_gates_admit_every_json_file_their_detectors_recognise() -> None:
    """The JSON detectors' keyed gates (an opening *and* a key, a second line or a name) are
    implied by their rules: on generated JSON and JSON lines, every file one of them recognises
    passes its own gate and the scanner's table."""
    detectors = registry.file_detectors()
    keyed = [d for d in detectors if isinstance(getattr(d, "gate", None), Gate) and d.gate.keyed]  # type: ignore[attr-defined]
    assert {d.name for d in keyed} >= {"prompt-text", "chat-stores", "prompt-logs"}
    gates = {d.name: GateTest([d.gate]) for d in keyed}  # type: ignore[attr-defined]
    cells = gated_table(detectors, True)
    rnd = random.Random(11)
    recognised: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for _ in range(4000):
        header, size, name = _json_header(rnd)
        ctx = FileContext(f"/t/{name}", size, header, None, name=name)
        asked = cells[header[0]].select(header, size, name) if ctx.is_text else ()
        for detector in keyed:
            admitted = gates[detector.name].admits(header, size, name)
            passed[detector.name] += admitted
            if _recognises(detector, ctx):
                recognised[detector.name] += 1
                assert admitted, (detector.name, header[:200], size, name)
                assert detector in asked, (detector.name, header[:200], size, name)
    for detector in keyed:  # both sides exercised: files recognised, and files the gate keeps out
        assert recognised[detector.name] >= 40 and passed[detector.name] <= 3900, (recognised, passed)


_PLAIN_COLUMNS = ("id", "name", "amount", "created_at", "status", "customer", "sku", "qty", "notes", "score")
_TELLING_COLUMNS = ("prompt", "response", "completion", "question", "answer", "input", "output", "instruction",
                    "generated", "text", "summary", "model", "messages", "target", "source", "label")  # fmt: skip
_CELLS = ("x", "42", "You are a helpful assistant. Summarize the following text for a client", "",
          "The clause limits liability to the fees paid in the prior twelve months.")  # fmt: skip
_TEMPLATED = ("<|im_start|>user\nhello<|im_end|>", "[INST] translate the following [/INST]", "### Instruction:\nsay hi")


def _column(rnd: random.Random) -> str:
    words = [rnd.choice(_TELLING_COLUMNS if rnd.random() < 0.2 else _PLAIN_COLUMNS) for _ in range(rnd.randrange(1, 3))]
    style = rnd.randrange(4)
    if style == 0:
        return "_".join(words)
    if style == 1:
        return words[0] + "".join(w.title() for w in words[1:])  # camelCase
    if style == 2:
        return "_".join(words).upper()
    return " ".join(words) + rnd.choice(["", "2", "_v1"])


def _table_header(rnd: random.Random) -> tuple[bytes, int, str]:
    """A CSV or TSV file as a detector sees it: (header, size, name)."""
    delimiter = rnd.choice([",", "\t", ";", "|"])
    columns = [_column(rnd) for _ in range(rnd.randrange(2, 5))]
    cells = _CELLS + _TEMPLATED if rnd.random() < 0.3 else _CELLS
    rows = [[rnd.choice(cells) for _ in columns] for _ in range(rnd.randrange(1, 8))]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=rnd.choice(["\n", "\r\n"]))
    writer.writerow(columns)
    writer.writerows(rows)
    data = (rnd.choice(["", "\ufeff"]) + out.getvalue()).encode()
    size = len(data) if rnd.random() < 0.8 else len(data) + 5000
    return data[:HEADER_BYTES], size, rnd.choice(["f.csv", "f.tsv", "f.txt", "f.dat"])


def test_the_table_gate_admits_every_table_prompt_logs_recognises() -> None:
    """prompt-logs' gate for tables (a delimiter in the first line, and a telling word there in any
    case or camelCase, or a template mark in the header) is implied by its rules: on generated
    CSV and TSV files, every one it recognises passes its gate and the scanner's table."""
    detector = next(d for d in registry.file_detectors() if d.name == "prompt-logs")
    gate = GateTest([detector.gate])  # type: ignore[attr-defined]
    cells = gated_table(registry.file_detectors(), True)
    rnd = random.Random(13)
    recognised = passed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(1500):
            header, size, name = _table_header(rnd)
            path = os.path.join(tmp, f"{i}-{name}")
            with open(path, "wb") as fh:
                fh.write(header + b"x" * (size - len(header)))
            fd = os.open(path, os.O_RDONLY)
            try:
                ctx = FileContext(path, size, header, fd, name=name)
                admitted = gate.admits(header, size, name)
                passed += admitted
                if _recognises(detector, ctx):
                    recognised += 1
                    assert admitted, (header[:200], size, name)
                    assert detector in cells[header[0]].select(header, size, name), (header[:200], size, name)
            finally:
                os.close(fd)
    assert recognised >= 50 and passed <= 1300, (recognised, passed)  # both sides exercised


def test_a_gate_test_kept_before_its_first_call_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scanner keeps each detector's `admits` in its table before any file is seen."""
    compiled: list[int] = []
    real = base._admits
    monkeypatch.setattr(base, "_admits", lambda gates: compiled.append(1) or real(gates))
    kept = GateTest([Gate(keyed=((rb"\{", Gate(within=((b"k", b'"key"', 4096),))),))]).admits
    assert [kept(b'{"key": 1}', 10, "x"), kept(b'{"id": 1}', 9, "x"), kept(b"{}", 2, "x")] == [True, False, False]
    assert len(compiled) == 2  # the gate and its keyed inner gate, once each


def test_declared_gates_are_well_formed() -> None:
    for detector in registry.file_detectors():
        assert getattr(detector, "header_class", None) in (None, TEXT, BINARY), detector.name
        first = getattr(detector, "first_bytes", None)
        assert first is None or (isinstance(first, bytes) and first), detector.name


def test_text_classification_is_computed_once_and_matches_looks_like_text() -> None:
    rnd = random.Random(5)
    cut = ("x" * 4094 + "\u00e9").encode()[:4095]  # a two-byte character cut by the header's end: still text
    samples = [b"plain ascii\n", "caf\u00e9 na\u00efve".encode(), b"nul\x00inside", b"\xff\xfe", rnd.randbytes(64), cut]
    for data in samples:
        ctx = FileContext("/x", len(data), data)
        assert ctx.is_text == looks_like_text(data)
        assert ctx.is_text is ctx.is_text


def test_empty_files_are_counted_and_not_given_to_detectors(tmp_path: Path) -> None:
    (tmp_path / "empty.bin").write_bytes(b"")
    (tmp_path / ".env").write_bytes(b"")
    (tmp_path / "one.txt").write_bytes(b"x")
    seen: list[str] = []

    class _Spy:
        name = "spy"

        def detect(self, ctx: FileContext) -> None:
            seen.append(ctx.name)

    reg = registry.Registry((_Spy(),), (), (), ())
    result = Scanner(reg, workers=1, processes=0).scan([str(tmp_path)])
    assert result.stats.files_seen == 3 and result.stats.empty_files == 2
    assert seen == ["one.txt"]
    assert result.stats.to_dict()["empty_files"] == 2


def test_directory_swapped_for_symlink_during_scan_is_not_followed(tmp_path: Path) -> None:
    """Directories are opened O_NOFOLLOW and their files by name under that fd."""
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (elsewhere / "model.gguf").write_bytes(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))
    (root / "trigger.txt").write_bytes(b"x")

    class _Swapper:
        name = "swapper"

        def detect(self, ctx: FileContext) -> None:
            if ctx.name == "trigger.txt":  # root's files are scanned before its subdirectories
                (root / "sub").rename(root / "sub.old")
                (root / "sub").symlink_to(elsewhere)

    gguf = registry.build(["sanitize.detect.gguf"]).file_detectors
    reg = registry.Registry((_Swapper(), *gguf), (), (), ())
    result = Scanner(reg, workers=1, processes=0).scan([str(root)])
    assert result.artifacts == []
    assert [(e.path, e.kind) for e in result.errors] == [("sub", "changed-type")]


def _spy_tree(root: Path, dirs: int = 24, files: int = 3) -> None:
    for i in range(dirs):
        (root / f"d{i}").mkdir(parents=True)
        for j in range(files):
            (root / f"d{i}" / f"f{j}.txt").write_bytes(b"some text\n")


class _ThreadSpy:
    name = "thread-spy"

    def __init__(self) -> None:
        self.threads: set[int] = set()
        self._second_thread = threading.Event()

    def detect(self, ctx: FileContext) -> None:
        self.threads.add(threading.get_ident())
        if len(self.threads) > 1:
            self._second_thread.set()
        # Releases the GIL, as a read from a slow disk would. Waiting for a second thread rather
        # than sleeping a fixed time keeps the test independent of the machine's load: a helper
        # that joins ends the wait at once, and one that never joins leaves 72 x 50 ms to do so.
        self._second_thread.wait(0.05)


def test_header_read_says_whether_it_came_from_the_page_cache(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 100)  # just written: in the page cache
    fd = os.open(path, os.O_RDONLY)
    try:
        assert HeaderReader().read(fd, 300) == (b"abc" * 100, True)
    finally:
        os.close(fd)


def test_cached_tree_is_scanned_by_one_thread_however_many_workers(tmp_path: Path) -> None:
    _spy_tree(tmp_path)
    spy = _ThreadSpy()
    result = Scanner(registry.Registry((spy,), (), (), ()), workers=4, processes=0).scan([str(tmp_path)])
    assert result.stats.files_seen == 72 and len(spy.threads) == 1


class _FromTheDisk(HeaderReader):
    """Every header read as if it had to wait for the disk."""

    def read(self, fd: int, length: int) -> tuple[bytes, bool]:
        return os.pread(fd, length, 0), False


class _SlowDiskSpy:
    """Counts the files each thread scanned; every file takes 10 ms with the GIL released, as a
    read from a slow disk does."""

    name = "slow-disk-spy"

    def __init__(self) -> None:
        self.files_by_thread: Counter[int] = Counter()
        self._lock = threading.Lock()

    def detect(self, ctx: FileContext) -> None:
        with self._lock:
            self.files_by_thread[threading.get_ident()] += 1
        time.sleep(0.01)


def test_helper_threads_share_the_work_while_reads_wait_for_the_disk(tmp_path: Path) -> None:
    """Once reads wait for the disk the walk lists ahead (for readahead); the directories it
    listed are shared, so the helpers scan files too instead of waiting for the first worker."""
    _spy_tree(tmp_path)
    spy = _SlowDiskSpy()
    reg = registry.Registry((spy,), (), (), ())
    result = Scanner(reg, workers=4, processes=0, headers=_FromTheDisk()).scan([str(tmp_path)])
    assert result.stats.files_seen == 72 and sum(spy.files_by_thread.values()) == 72
    # Evenly shared, each of the 4 threads scans about 18 files; the first worker alone would scan 72
    # (before the shared queue, 63-69 of them: it listed every directory ahead into its own queue).
    assert len(spy.files_by_thread) > 1 and max(spy.files_by_thread.values()) <= 36, spy.files_by_thread


def test_without_nowait_reads_every_worker_takes_work_and_results_hold(tmp_path: Path) -> None:
    _spy_tree(tmp_path)
    (tmp_path / "d3" / "model.gguf").write_bytes(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))
    blocking = HeaderReader(nowait=False)
    assert not blocking.tells_cached
    fd = os.open(tmp_path / "d3" / "model.gguf", os.O_RDONLY)
    try:
        assert blocking.read(fd, 8) == (b"GGUF\x03\0\0\0", False)
    finally:
        os.close(fd)
    result = Scanner(workers=4, processes=0, headers=blocking).scan([str(tmp_path)])
    assert [a.path for a in result.artifacts] == ["d3/model.gguf"] and result.stats.errors == 0


# -- openings cut to a cell's first byte (sanitize/scan/first_bytes.py) ----------------------------


def test_first_bytes_of_a_pattern_are_a_superset_and_every_byte_when_unsure() -> None:
    assert first_bytes(rb"GGUF") == frozenset(b"G")
    assert first_bytes(rb"[ \t\r\n\xef\xbb\xbf]*\{") == frozenset(b" \t\r\n\xef\xbb\xbf{")
    assert first_bytes(rb"\s*+\{") == frozenset(b" \t\n\r\f\v{")
    assert first_bytes(rb"(?:\(\w+ pid=\d+\) )?(?:DEBUG|INFO)") == frozenset(b"(DI")
    assert first_bytes(rb"(?!\{)[^\n,]*+,") == first_bytes(rb"[^\n,]*+,") == ALL - frozenset(b"\n")
    assert first_bytes(rb"\d\d:|srv  |\[PAD\]") == frozenset(b"0123456789s[")
    for unsure in (rb"a*", rb"(?i)abc", rb"(?i:abc)", rb"(x)?(?(1)a|b)", rb"x?", rb"(?=a)", rb"\bfoo|(", rb"."):
        assert first_bytes(unsure) == ALL, unsure


def test_top_level_alternatives_split_outside_groups_classes_and_escapes() -> None:
    assert alternatives(rb"a|b(c|d)|[|x]|\||[]|]|[^]|]") == (rb"a", rb"b(c|d)", rb"[|x]", rb"\|", rb"[]|]", rb"[^]|]")
    assert alternatives(rb"(?i)a|b") == (rb"(?i)a|b",) and alternatives(rb"abc") == (rb"abc",)
    assert alternatives(rb"a|b)") == (rb"a|b)",)  # a part that does not parse alone: no split


def test_a_gate_cut_to_a_first_byte_drops_only_what_cannot_start_there() -> None:
    gate = Gate(opening=rb"\{x|ab|\s*c", keyed=((rb"\[", Gate(within=((b"k", b"k", 9),))),), name_suffixes=(".y",))
    cuts = cuts_by_first_byte(gate)
    cut, bracket, space = cuts[ord("a")], cuts[ord("[")], cuts[ord(" ")]
    assert cut is not None and bracket is not None and space is not None
    assert cut.opening == rb"(?:ab)" and cut.keyed == () and cut.name_suffixes == (".y",)
    assert bracket.keyed == gate.keyed and bracket.opening is None
    assert space.opening == rb"(?:\s*c)"
    assert cuts_by_first_byte(Gate(opening=rb"a*|b"))[ord("z")] == Gate(opening=rb"(?:a*)")  # a* may match nothing


def _headers_of_every_kind() -> Iterator[tuple[bytes, int, str]]:
    for _, ctx in _contexts():
        yield ctx.header, ctx.size, ctx.name
        for lead in (b" ", b"\n", b"\xef\xbb\xbf", b"{", b"[", b"#", b"|", b"1"):
            yield lead + ctx.header[: HEADER_BYTES - len(lead)], ctx.size + len(lead), ctx.name
    rnd = random.Random(17)
    for _ in range(1500):
        yield _json_header(rnd)
        yield _table_header(rnd)
        yield rnd.randbytes(rnd.randrange(1, 600)), rnd.choice([600, 9000]), "f.bin"


@pytest.mark.parametrize("text", [False, True])
def test_cells_with_cut_openings_decide_exactly_as_the_whole_gates(text: bool) -> None:
    """Cutting the openings to a cell's first byte changes no decision: every cell's test admits
    exactly the headers that its detectors' whole gates (content parts) admit."""
    detectors = registry.file_detectors()
    cells = gated_table(detectors, text)
    whole = {}
    checked = admitted = 0
    for header, size, name in _headers_of_every_kind():
        if not header or looks_like_text(header) != text:
            continue
        cell = cells[header[0]]
        gates = tuple(content_parts(d.gate) for d in cell.candidates if isinstance(getattr(d, "gate", None), Gate))  # type: ignore[attr-defined]
        if gates not in whole:
            whole[gates] = GateTest(g for g in gates if g != Gate())
        expected = whole[gates].admits(header, size, name) if any(g != Gate() for g in gates) else False
        got = cell._content is not None and cell._content.admits(header, size, name)
        assert got == expected, (header[:80], size, name)
        checked += 1
        admitted += got
    assert checked > 1000 and 50 < admitted < checked - 50, (checked, admitted)
