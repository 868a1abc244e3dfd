"""Vector-store, SQLite, chat, prompt-log, cache and credential detectors against real fixtures
(fixtures/make_store_fixtures.py), negatives and hostile inputs."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import random
import shutil
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitize.detect.base import HEADER_BYTES, BudgetExceeded, DamagedFile, DirContext, FileContext, Finding
from sanitize.detect.registry import build
from sanitize.detect.sqlite_stores import SqliteStoreDetector
from sanitize.scan import Scanner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "artifacts"
STORES = FIXTURES / "stores"
NEGATIVES = FIXTURES / "negatives" / "stores"

MODULES = [
    "sanitize.detect.chroma",
    "sanitize.detect.sqlite_stores",
    "sanitize.detect.faiss",
    "sanitize.detect.hnswlib",
    "sanitize.detect.annoy",
    "sanitize.detect.usearch",
    "sanitize.detect.lance",
    "sanitize.detect.qdrant",
    "sanitize.detect.milvus",
    "sanitize.detect.redis",
    "sanitize.detect.pgvector",
    "sanitize.detect.llamaindex",
    "sanitize.detect.llamacpp_cache",
    "sanitize.detect.chat_stores",
    "sanitize.detect.prompt_logs",
    "sanitize.detect.credentials",
]
REGISTRY = build(MODULES)
DOC_STRINGS = [f"privileged memo {i}" for i in range(1, 6)]


def test_all_modules_load() -> None:
    assert REGISTRY.errors == ()
    for name in MODULES:
        assert importlib.import_module(name).DETECTORS


@pytest.fixture
def open_ctx() -> Iterator:
    fds: list[int] = []

    def make(path: Path) -> FileContext:
        fd = os.open(path, os.O_RDONLY)
        fds.append(fd)
        size = os.fstat(fd).st_size
        return FileContext(str(path), size, os.pread(fd, HEADER_BYTES, 0), fd)

    yield make
    for fd in fds:
        os.close(fd)


def detect_file(ctx: FileContext) -> Finding | None:
    """What the scanner does: the first file detector (in registry order) that claims it."""
    for detector in REGISTRY.file_detectors:
        finding = detector.detect(ctx)
        if finding is not None:
            return finding
    return None


def detect_dir(path: Path) -> Finding | None:
    ctx = DirContext(str(path), frozenset(os.listdir(path)))
    for detector in REGISTRY.dir_detectors:
        finding = detector.detect_dir(ctx)
        if finding is not None:
            return finding
    return None


# (file, category, format, evidence) -- evidence may end with "*" for a prefix match
FILE_CASES = [
    ("chroma_persist/chroma.sqlite3", "vector-store", "chroma", "sqlite-schema:chroma"),
    ("sqlite_vec.db", "vector-store", "sqlite-vec", "sqlite-schema:sqlite-vec"),
    ("sqlite_vss.db", "vector-store", "sqlite-vss", "sqlite-schema:sqlite-vss"),
    ("qdrant_local/collection/memos/storage.sqlite", "vector-store", "qdrant-local", "sqlite-schema:qdrant-local"),
    ("webui.db", "conversation", "open-webui", "sqlite-schema:open-webui"),
    ("anythingllm.db", "conversation", "anythingllm", "sqlite-schema:anythingllm"),
    ("localdocs_v3.db", "vector-store", "gpt4all-localdocs", "sqlite-schema:gpt4all-localdocs"),
    ("rag_float32.db", "vector-store", "sqlite-embeddings", "sqlite-embedding-blobs:float32x384"),
    ("rag_float16.db", "vector-store", "sqlite-embeddings", "sqlite-embedding-blobs:float16x768"),
    ("rag_json.db", "vector-store", "sqlite-embeddings", "sqlite-embedding-blobs:jsonx256"),
    ("chatbot_history.db", "conversation", "sqlite-chat", "sqlite-chat-columns:role+content"),
    ("faiss/flat_l2.index", "vector-store", "faiss", "faiss-header-dummy"),
    ("faiss/flat_ip.index", "vector-store", "faiss", "faiss-header-dummy"),
    ("faiss/hnsw_flat.index", "vector-store", "faiss", "faiss-header-dummy"),
    ("faiss/ivf_flat.index", "vector-store", "faiss", "faiss-header-dummy"),
    ("faiss/idmap.index", "vector-store", "faiss", "faiss-header-dummy"),
    ("faiss/sq8.index", "vector-store", "faiss", "faiss-header-dummy"),
    ("faiss/binary_flat.index", "vector-store", "faiss", "faiss-binary-header"),
    ("langchain_faiss/index.faiss", "vector-store", "faiss", "faiss-header-dummy"),
    ("hnswlib_index.bin", "vector-store", "hnswlib", "hnswlib-header-mult"),
    ("annoy_index.ann", "vector-store", "annoy", "annoy-ext-node-modulus"),
    ("usearch_index.usearch", "vector-store", "usearch", "usearch-magic"),
    ("redis/dump.rdb", "vector-store", "redis-rdb", "redis-rdb-magic"),
    ("redis/appendonlydir/appendonly.aof.1.incr.aof", "vector-store", "redis-aof", "redis-aof-resp"),
    ("redis/appendonlydir/appendonly.aof.1.base.rdb", "vector-store", "redis-rdb", "redis-rdb-magic"),
    ("milvus_binlog_434", "vector-store", "milvus-binlog", "milvus-binlog-magic"),
    ("llamaindex_storage/docstore.json", "document-store", "llamaindex-docstore", "llamaindex-json-key"),
    ("llamaindex_storage/index_store.json", "document-store", "llamaindex-index-store", "llamaindex-json-key"),
    ("llamaindex_storage/default__vector_store.json", "vector-store", "llamaindex-vector-store",
     "llamaindex-json-key"),
    ("prompt.cache", "inference-cache", "llama-cpp-session", "llama-cpp-session-magic"),
    ("slot0.bin", "inference-cache", "llama-cpp-slot", "llama-cpp-slot-magic"),
    ("gpt4all-0f3c.chat", "conversation", "gpt4all-chat", "gpt4all-chat-magic"),
    ("1700000000000.conversation.json", "conversation", "chat-json", "chat-json:messages-role"),
    ("chat_export.json", "conversation", "chat-json", "chat-json:messages-role"),
    ("tgwui_chat_20240101.json", "conversation", "text-generation-webui-chat", "chat-json:internal-visible"),
    ("jan_thread/messages.jsonl", "conversation", "chat-jsonl", "chat-jsonl:role-content"),
    ("prompts.csv", "prompt-log", "csv-prompt-log", "prompt-log-csv:prompt+completion"),
    ("requests.jsonl", "prompt-log", "jsonl-prompt-log", "prompt-log-jsonl:prompt+response"),
    ("finetune.jsonl", "prompt-log", "jsonl-prompt-log", "prompt-log-jsonl:messages"),
    ("inference.log", "prompt-log", "jsonl-prompt-log", "prompt-log-jsonl:input+output:llm-fields"),
    ("token", "credential", "huggingface-token", "hf-token"),
    ("notes.txt", "credential", "huggingface-token", "hf-token"),
    (".env", "credential", "dotenv-api-keys", "dotenv-api-key"),
    (".webui_secret_key", "credential", "open-webui-secret-key", "webui-secret-key-file"),
]  # fmt: skip
# The format has no magic, so its rule needs the name (documented weak rules).
NAME_DEPENDENT = {"annoy_index.ann", ".env", ".webui_secret_key"}

DIR_CASES = [
    ("chroma_persist", "vector-store", "chroma", "chroma-persist-dir"),
    ("langchain_faiss", "document-store", "langchain-faiss", "langchain-faiss-pair"),
    ("lancedb/memos.lance", "vector-store", "lance", "lance-table-dir"),
    ("qdrant_local", "vector-store", "qdrant-local", "qdrant-local-meta"),
    ("milvus_lite.db", "vector-store", "milvus-lite", "milvus-lite-dir"),
    ("redis/appendonlydir", "vector-store", "redis-aof-dir", "redis-aof-manifest"),
    ("pg_data", "vector-store", "pgvector", "pgvector-catalog"),
    ("llamaindex_storage", "document-store", "llamaindex-storage", "llamaindex-persist-dir"),
    ("jan_thread", "conversation", "jan-thread", "jan-thread-dir"),
]


def _check(finding: Finding | None, category: str, fmt: str, evidence: str) -> None:
    assert finding is not None
    assert (finding.category.value, finding.format, finding.evidence) == (category, fmt, evidence)


@pytest.mark.parametrize(("rel", "category", "fmt", "evidence"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_file_fixture_recognised(open_ctx, rel: str, category: str, fmt: str, evidence: str) -> None:
    _check(detect_file(open_ctx(STORES / rel)), category, fmt, evidence)


@pytest.mark.parametrize(("rel", "category", "fmt", "evidence"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_file_fixture_recognised_when_renamed(open_ctx, tmp_path: Path, rel: str, category: str, fmt: str,
                                              evidence: str) -> None:  # fmt: skip
    renamed = tmp_path / "blob.dat"
    shutil.copyfile(STORES / rel, renamed)
    finding = detect_file(open_ctx(renamed))
    if Path(rel).name in NAME_DEPENDENT:
        assert finding is None or finding.format != fmt
    else:
        _check(finding, category, fmt, evidence)


@pytest.mark.parametrize(("rel", "category", "fmt", "evidence"), DIR_CASES, ids=[c[0] for c in DIR_CASES])
def test_dir_fixture_recognised(rel: str, category: str, fmt: str, evidence: str, tmp_path: Path) -> None:
    _check(detect_dir(STORES / rel), category, fmt, evidence)
    renamed = tmp_path / "somewhere"
    shutil.copytree(STORES / rel, renamed)
    _check(detect_dir(renamed), category, fmt, evidence)


def test_details_carry_counts_not_content(open_ctx) -> None:
    f = detect_file(open_ctx(STORES / "chroma_persist" / "chroma.sqlite3"))
    assert f is not None and f.details["embeddings"] == 5
    f = detect_file(open_ctx(STORES / "sqlite_vec.db"))
    assert f is not None and f.details["dimension"] == 384
    f = detect_dir(STORES / "chroma_persist")
    assert f is not None and f.details == {"vector_segments": 1}
    header = next(STORES.glob("chroma_persist/*/header.bin"))
    f = detect_file(open_ctx(header))
    assert f is not None and (f.format, f.details["dimension"], f.details["elements"]) == ("chroma-hnsw", 8, 5)
    f = detect_file(open_ctx(STORES / "sqlite_vss.db"))
    assert f is not None and f.details["dimension"] == 8
    f = detect_file(open_ctx(STORES / "webui.db"))
    assert f is not None and f.details["chats"] == 1 and f.details["has_credentials"] is True
    f = detect_file(open_ctx(STORES / "hnswlib_index.bin"))
    assert f is not None and (f.details["dimension"], f.details["elements"]) == (8, 5)
    f = detect_file(open_ctx(STORES / "prompt.cache"))
    assert f is not None and f.details == {"version": 10, "n_tokens": 6}
    f = detect_file(open_ctx(STORES / "faiss" / "idmap.index"))
    assert f is not None and (f.details["dimension"], f.details["vectors"]) == (8, 10)
    f = detect_file(open_ctx(STORES / ".env"))
    assert f is not None and f.details == {"openai_key": 1, "anthropic_key": 1, "env_api_key": 2}


def _secret_values() -> list[str]:
    values = [(STORES / "token").read_text().strip(), (STORES / ".webui_secret_key").read_text().strip()]
    for line in (STORES / ".env").read_text().splitlines():
        if "=" in line and "KEY" in line:
            values.append(line.split("=", 1)[1])
    return values


def test_no_finding_contains_document_text_or_secrets() -> None:
    result = Scanner(REGISTRY, workers=1).scan([str(STORES)])
    assert result.artifacts
    forbidden = DOC_STRINGS + _secret_values()
    secret_prefixes = [v[:8] for v in _secret_values()]
    for art in result.artifacts:
        text = repr((art.format, art.evidence, dict(art.details)))
        for s in forbidden + secret_prefixes:
            assert s not in text, (art.path, s)


def test_scan_reports_directory_units() -> None:
    result = Scanner(REGISTRY, workers=1).scan([str(STORES)])
    units = {a.path: (a.unit, a.format) for a in result.artifacts}
    for rel, _cat, fmt, _ev in DIR_CASES:
        assert units.get(rel) == ("directory", fmt), rel
    assert result.stats.errors == 0


# --- negatives ---------------------------------------------------------------------------------


def test_negatives_give_nothing(open_ctx) -> None:
    for path in sorted((FIXTURES / "negatives").rglob("*")):
        if path.is_file():
            assert detect_file(open_ctx(path)) is None, path.name
    assert detect_dir(NEGATIVES) is None
    for detector in REGISTRY.sniffers:
        for path in NEGATIVES.rglob("*"):
            if path.is_file():
                assert detector.sniff(path.read_bytes()[:HEADER_BYTES]) is None, (detector.name, path.name)


def test_negative_scan_is_empty() -> None:
    for registry in (REGISTRY, None):  # these detectors alone, then every registered detector
        result = Scanner(registry, workers=1).scan([str(NEGATIVES)])
        assert result.artifacts == []
        assert result.stats.errors == 0


# --- header sniffers (for carving raw blocks) ---------------------------------------------------

SNIFFABLE = {
    "faiss/flat_l2.index": "faiss",
    "faiss/binary_flat.index": "faiss",
    "hnswlib_index.bin": "hnswlib",
    next(p.relative_to(STORES).as_posix() for p in STORES.glob("chroma_persist/*/header.bin")): "chroma-hnsw",
    "usearch_index.usearch": "usearch",
    "redis/dump.rdb": "redis-rdb",
    "milvus_binlog_434": "milvus-binlog",
    "prompt.cache": "llama-cpp-session",
    "slot0.bin": "llama-cpp-slot",
    "gpt4all-0f3c.chat": "gpt4all-chat",
    "llamaindex_storage/docstore.json": "llamaindex-docstore",
    "token": "huggingface-token",
    "webui.db": "open-webui",
    "sqlite_vec.db": "sqlite-vec",
    "sqlite_vss.db": "sqlite-vss",
    "rag_float32.db": None,  # generic embedding tables need the data pages, not just page 1
}


@pytest.mark.parametrize(("rel", "fmt"), SNIFFABLE.items(), ids=list(SNIFFABLE))
def test_sniffers(rel: str, fmt: str | None) -> None:
    header = (STORES / rel).read_bytes()[:HEADER_BYTES]
    found = {f.format for d in REGISTRY.sniffers if (f := d.sniff(header)) is not None}
    assert found == ({fmt} if fmt else set())


# --- SQLite: read-only, hostile, large ----------------------------------------------------------


def _tree_state(directory: Path) -> dict[str, tuple[int, int, str]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in directory.iterdir()}  # fmt: skip


def test_sqlite_opened_read_only_and_immutable(open_ctx, tmp_path: Path) -> None:
    db = tmp_path / "wal.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE passages (id INTEGER PRIMARY KEY, vec BLOB)")
    conn.execute("INSERT INTO passages(vec) VALUES (?)", (struct.pack("<384f", *([0.05] * 384)),))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for extra in tmp_path.glob("wal.db-*"):
        extra.unlink()
    before = _tree_state(tmp_path)
    dir_mtime = tmp_path.stat().st_mtime_ns
    _check(detect_file(open_ctx(db)), "vector-store", "sqlite-embeddings", "sqlite-embedding-blobs:float32x384")
    assert _tree_state(tmp_path) == before  # no -wal, -shm or -journal, nothing rewritten
    assert tmp_path.stat().st_mtime_ns == dir_mtime


def test_non_sqlite_never_reaches_sqlite(open_ctx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("sqlite3.connect called for a non-SQLite file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    path = tmp_path / "x.db"
    path.write_bytes(b"SQLite format 2\x00" + bytes(200))
    assert SqliteStoreDetector().detect(open_ctx(path)) is None


def test_corrupt_sqlite_is_damaged_not_a_crash(open_ctx, tmp_path: Path) -> None:
    good = (STORES / "rag_float32.db").read_bytes()
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(good[:100] + random.Random(5).randbytes(len(good) - 100))
    with pytest.raises(DamagedFile):
        SqliteStoreDetector().detect(open_ctx(corrupt))
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes((STORES / "chroma_persist" / "chroma.sqlite3").read_bytes()[:6000])
    with contextlib.suppress(DamagedFile):
        SqliteStoreDetector().detect(open_ctx(truncated))
    result = Scanner(REGISTRY, workers=1).scan([str(tmp_path)])
    assert result.stats.errors >= 1  # counted, and the scan finished
    assert {e.kind for e in result.errors} == {"damaged:sqlite-stores"} and result.faults() == []
    assert "corrupt.db" in {a.path for a in result.artifacts if a.details.get("damage")}


def test_million_row_table_is_sampled_and_count_capped(open_ctx, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    db = tmp_path / "big.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT, emb BLOB)")
    vec = struct.pack("<384f", *([0.01] * 383 + [0.5]))
    conn.executemany("INSERT INTO items(label, emb) VALUES (?, ?)",
                     ((f"item {i}", vec if i < 100 else None) for i in range(1_000_000)))  # fmt: skip
    conn.commit()
    conn.close()
    monkeypatch.setattr("sanitize.detect.sqlite_stores.COUNT_CAP", 200_000)
    finding = SqliteStoreDetector().detect(open_ctx(db))
    _check(finding, "vector-store", "sqlite-embeddings", "sqlite-embedding-blobs:float32x384")
    assert finding is not None
    assert finding.details["rows"] == 200_000 and finding.details["rows_capped"] is True


def test_browser_like_blobs_are_not_embeddings(open_ctx) -> None:
    assert SqliteStoreDetector().detect(open_ctx(NEGATIVES / "history.db")) is None


# --- bounded reads, malformed input --------------------------------------------------------------


@pytest.mark.parametrize("opening", [b'{"docstore/data": {"a": "', b'{"messages": [{"role": "user", "content": "',
                                     b'{"prompt": "', b"prompt,completion\n"])  # fmt: skip
def test_50mb_text_reads_only_a_bounded_prefix(open_ctx, tmp_path: Path, opening: bytes) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.write(opening)
        chunk = b"a" * (1 << 20)
        for _ in range(50):
            f.write(chunk)
        f.write(b'"}}')
    ctx = open_ctx(path)
    detect_file(ctx)
    assert ctx.bytes_read <= 64 * 1024 + HEADER_BYTES


@pytest.mark.parametrize(
    "content",
    [
        b'{"messages": [{"role": ',
        b"{{{{",
        b'[1, 2, "',
        b'{"prompt": "x"\n{"prompt',
        b'{"internal": [[',
        b"\xff\xfe{\x00\x00",
        b'{"embedding_dict": {"x": [0.1,',
    ],
)
def test_malformed_json_never_raises(open_ctx, tmp_path: Path, content: bytes) -> None:  # fmt: skip
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    finding = detect_file(open_ctx(path))
    assert finding is None or finding.category.value in ("conversation", "vector-store", "document-store")


def test_faiss_fourcc_with_bad_header_is_rejected(open_ctx, tmp_path: Path) -> None:
    rnd = random.Random(3)
    for fourcc in (b"IxF2", b"IHNf", b"IBxF", b"IwFl"):
        path = tmp_path / f"{fourcc.decode()}.index"
        path.write_bytes(fourcc + rnd.randbytes(200))
        assert detect_file(open_ctx(path)) is None
    # a valid dummy but an absurd dimension
    path = tmp_path / "absurd.index"
    path.write_bytes(b"IxF2" + struct.pack("<iqqq", -5, 10, 1 << 20, 1 << 20) + bytes(64))
    assert detect_file(open_ctx(path)) is None


def test_truncated_and_empty_files(open_ctx, tmp_path: Path) -> None:
    for rel, _c, _f, _e in FILE_CASES:
        data = (STORES / rel).read_bytes()
        for cut in (0, 3, 11, 40):
            path = tmp_path / f"cut{cut}.bin"
            path.write_bytes(data[:cut])
            with contextlib.suppress(DamagedFile):
                detect_file(open_ctx(path))


def test_fifo_in_a_store_dir_is_never_opened(tmp_path: Path) -> None:
    store = tmp_path / "storage"
    shutil.copytree(STORES / "llamaindex_storage", store)
    (store / "docstore.json").unlink()
    os.mkfifo(store / "docstore.json")
    # would block forever if opened; read_head refuses non-regular files
    finding = detect_dir(store)
    assert finding is None or finding.details.get("has_docstore") is False


def test_credentials_rules_and_read_limits(open_ctx, tmp_path: Path) -> None:
    token = "hf_" + "Ab3" * 12
    stored = tmp_path / "stored_tokens"
    stored.write_text("[default]\n" + "x = y\n" * 1000 + f"hf_token = {token}\n")  # past the 4 KiB header
    f = detect_file(open_ctx(stored))
    assert f is not None and f.format == "huggingface-token" and f.details == {"hf_token": 1}
    # An ordinary big text file is checked in its header only.
    big = tmp_path / "build.log"
    big.write_text("ok\n" * 5000 + token + "\n")
    ctx = open_ctx(big)
    assert detect_file(ctx) is None and ctx.bytes_read <= HEADER_BYTES + 8  # + the Lance footer probe
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=your-key-here\nHF_TOKEN=${HF_TOKEN}\nSECRET_KEY=<change me>\nPORT=1\n")
    assert detect_file(open_ctx(env)) is None
    env.write_text("export GROQ_API_KEY='gsk_0123456789abcdefABCDEF'\n")
    f = detect_file(open_ctx(env))
    assert f is not None and f.details == {"env_api_key": 1}
    assert "gsk_" not in repr(f)


def test_qdrant_server_layout(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    (storage / "collections" / "memos" / "0" / "segments").mkdir(parents=True)
    (storage / "collections" / "memos" / "config.json").write_text("{}")
    (storage / "aliases").mkdir()
    (storage / "raft_state.json").write_text("{}")
    _check(detect_dir(storage), "vector-store", "qdrant-server", "qdrant-storage-dir")
    (storage / "raft_state.json").unlink()
    (storage / "aliases").rmdir()
    assert detect_dir(storage) is None


def test_wal_file_of_a_live_chat_database(open_ctx, tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    conn = sqlite3.connect(live / "webui.db")
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        for table in ("auth", "user", "chat"):
            conn.execute(f'CREATE TABLE "{table}" (id TEXT, data TEXT)')
        conn.execute("INSERT INTO chat VALUES ('c1', ?)", (DOC_STRINGS[0],))
        conn.commit()
        copy = tmp_path / "copy"
        copy.mkdir()
        shutil.copyfile(live / "webui.db-wal", copy / "webui.db-wal")
    finally:
        conn.close()
    finding = detect_file(open_ctx(copy / "webui.db-wal"))
    _check(finding, "conversation", "open-webui", "sqlite-wal-schema:open-webui")
    assert DOC_STRINGS[0] not in repr(finding)
    # No header sniff here: page 1's schema cells sit at the end of the page, past the first 4 KiB.


def test_runaway_query_is_aborted_and_reported(open_ctx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sanitize.detect.sqlite_readonly._MAX_TICKS", 0)
    monkeypatch.setattr("sanitize.detect.sqlite_readonly._OPS_PER_TICK", 1)
    with pytest.raises(BudgetExceeded):  # a limit of the scan, not damage and not a bug
        SqliteStoreDetector().detect(open_ctx(STORES / "rag_float32.db"))
    shutil.copyfile(STORES / "rag_float32.db", tmp_path / "rag.db")
    result = Scanner(REGISTRY, workers=1).scan([str(tmp_path)])
    assert [e.kind for e in result.errors] == ["budget:sqlite-stores"] and result.faults() == []


@pytest.mark.parametrize(
    "first_line",
    [
        b"dtype,input,output,ulperrortol\n",  # numpy test vectors: input+output alone is not a prompt log
        b"const { input, output } = require('x')\n",  # code with commas is not a CSV header
        b'a,"b\rc",prompt,completion\r\n',  # a bare CR inside a field
        b"\x82\xa0,\x82\xa2\rprompt\n",  # Shift-JIS bytes and old Mac line ends
    ],
)
def test_csv_lookalikes_are_not_prompt_logs(open_ctx, tmp_path: Path, first_line: bytes) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(first_line + b"1,2,3,4\n")
    assert detect_file(open_ctx(path)) is None


MAGIC_PREFIXES = [b"", b"IxF2", b"IBxF", b"nsgg", b"qsgg", b"REDIS0011", b"*2\r\n$6\r\nSELECT\r\n", b"usearch",
                  b"\xf5\xd5\x53\xcc", b"\xbc\xfa\xff\x00", b"SQLite format 3\x00", b"\x37\x7f\x06\x82",
                  b'{"docstore/data": {', b'{"messages": [', b"\x01\x00\x00\x00"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(MAGIC_PREFIXES), body=st.binary(max_size=300))
def test_sniffers_never_raise_on_garbage(prefix: bytes, body: bytes) -> None:
    for detector in REGISTRY.sniffers:
        detector.sniff(prefix + body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(MAGIC_PREFIXES), body=st.binary(max_size=5000))
def test_file_detectors_never_raise_on_garbage(open_ctx, tmp_path: Path, prefix: bytes, body: bytes) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(prefix + body)
    ctx = open_ctx(path)
    for detector in REGISTRY.file_detectors:
        with contextlib.suppress(DamagedFile):  # the one expected, reported outcome; anything else is a bug
            detector.detect(ctx)


@pytest.mark.parametrize("rows", [4, 1000])  # a vector blob inside the header, and one ending far beyond it
def test_usearch_with_vectors_first_says_so_wherever_the_blob_ends(tmp_path: Path, open_ctx, rows: int) -> None:
    width = 64
    path = tmp_path / "index.usearch"
    blob = struct.pack("<II", rows, width) + bytes(rows * width)
    path.write_bytes(blob + b"usearch" + struct.pack("<HHH", 2, 26, 6) + bytes(64))
    finding = detect_file(open_ctx(path))
    assert finding is not None and finding.format == "usearch"
    assert finding.details["vectors_first"] is True
