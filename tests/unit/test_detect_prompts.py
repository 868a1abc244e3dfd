"""Prompts and outputs written as text, and AI applications' data directories, against the corpus
fixtures/make_prompt_fixtures.py wrote with the tools themselves (or from their source's line
layouts), and the look-alikes from ordinary software beside them."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sanitize.detect.base import HEADER_BYTES, DamagedFile, FileContext
from sanitize.detect.parquet_footer import MAX_FOOTER, ParquetError, read_footer
from sanitize.detect.prompt_logs import ParquetPromptLogDetector, classify_csv, role
from sanitize.detect.prompt_text import PromptTextDetector, classify_prompt_text
from sanitize.scan import Scanner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "artifacts"
PROMPTS = FIXTURES / "prompts"
NEGATIVES = FIXTURES / "negatives"
EXPECTED: dict[str, dict[str, str]] = json.loads((PROMPTS / "EXPECTED.json").read_text())


@pytest.fixture(scope="module")
def corpus_scan() -> dict[str, object]:
    result = Scanner(workers=1).scan([str(PROMPTS)])
    assert result.errors == [] and result.detector_load_errors == []
    return {a.path: a for a in result.artifacts}


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_each_family_found_with_its_category_and_rule(rel: str, corpus_scan: dict[str, object]) -> None:
    art = corpus_scan.get(rel)
    assert art is not None, f"{rel} not found"
    want = EXPECTED[rel]
    got = (art.unit, art.category, art.format, art.evidence)  # type: ignore[attr-defined]
    assert got == (want["unit"], want["category"], want["format"], want["evidence"])


def test_nothing_found_beyond_the_expected(corpus_scan: dict[str, object]) -> None:
    assert sorted(set(corpus_scan) - set(EXPECTED)) == []


def test_every_family_of_the_issue_is_in_the_corpus() -> None:
    formats = {v["format"] for v in EXPECTED.values()}
    for fmt in (
        "chat-template-text",
        "instruction-prompt-text",
        "transcript-text",
        "vllm-log",
        "ollama-log",
        "llama-cpp-server-log",
        "tgi-log",
        "litellm-log",
        "localai-log",
        "langchain-run",
        "llamaindex-events",
        "langfuse-trace",
        "mlflow-trace",
        "otel-genai-spans",
        "openai-batch",
        "csv-prompt-log",
        "tsv-prompt-log",
        "jsonl-prompt-log",
        "parquet-prompt-log",
        "ollama-history",
        "ollama-private-key",
        "ollama-system-prompt",
        "ollama-template",
        "open-webui-uploads",
        "open-webui-cache",
        "anythingllm-documents",
        "anythingllm-vector-cache",
        "lm-studio-user-files",
        "jan-assistant-instructions",
        "gpt4all-embeddings",
        "text-generation-webui-notebook",
        "privategpt-local-data",
        "localai-upload",
        "vllm-torch-compile-cache",
        "torch-inductor-cache",
        "hf-datasets-arrow",
    ):
        assert fmt in formats, fmt


@pytest.mark.parametrize("corpus", ["prompts", "stores", "weights"])
def test_look_alikes_from_ordinary_software_give_nothing(corpus: str) -> None:
    result = Scanner(workers=1).scan([str(NEGATIVES / corpus)])
    assert [(a.path, a.evidence) for a in result.artifacts] == []
    assert result.errors == []


def test_negative_corpus_covers_the_look_alike_kinds() -> None:
    names = {p.relative_to(NEGATIVES / "prompts").as_posix() for p in (NEGATIVES / "prompts").rglob("*") if p.is_file()}
    for needed in (
        "logs/nginx_access.log",
        "logs/journal.txt",
        "logs/uvicorn_access.log",
        "tables/orders.csv",
        "tables/metrics.csv",
        "docs/chat_templates.md",
        "src/build_prompt.py",
        "config/settings.yaml",
        "apps/dot-ssh/id_ed25519",
        "logs/vllm_no_request_logging.log",
        "logs/ollama_info.log",
    ):
        assert needed in names, needed


def test_documented_file_of_an_unrecognised_directory_is_nothing(tmp_path: Path) -> None:
    """The same names outside a recognised application directory: content decides alone."""
    (tmp_path / "history").write_text("ls -la\ncd /srv\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "a.txt").write_text("hello\n")
    assert Scanner(workers=1).scan([str(tmp_path)]).artifacts == []


def test_prompt_text_must_open_like_a_prompt() -> None:
    body = b"<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert classify_prompt_text(body.split(b"\n")[0], body) is not None
    assert classify_prompt_text(b"# Title", b"# Title\n" + body) is None
    assert classify_prompt_text(b"<|im_start|>{{ role }}", b"<|im_start|>{{ role }}\n" + body) is None  # Jinja
    one = b"<|im_start|>user\n"
    assert classify_prompt_text(one.strip(), one) is None  # one token is not a rendered prompt


def test_column_roles_from_any_names() -> None:
    assert role("llm_response_text") == "output"
    assert role("builtPrompt") == "prompt"
    assert role("response_time_ms") is None
    assert role("generated_at") is None
    assert role("customer") is None


def test_csv_rows_cut_by_the_prefix_are_dropped() -> None:
    head = b"prompt,completion\nSummarise the memo please,The memo says so\nSummarise the"
    found = classify_csv(head, truncated=True)
    assert found is not None and found.details["rows_examined"] == 1


def test_camel_case_table_headers_are_read_like_column_names(tmp_path: Path) -> None:
    """A header line's telling words count in camelCase too (`userPrompt`), as column names are
    split; an ordinary camelCase export stays clean."""
    rows = [
        ("Summarize the following clause for the client meeting", "The clause caps liability at the fees paid."),
        ("Translate the following letter for opposing counsel", "Madame, nous avons bien recu votre lettre."),
    ]
    with open(tmp_path / "debug.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["requestId", "userPrompt", "modelResponse"])
        writer.writerows((i, p, r) for i, (p, r) in enumerate(rows))
    with open(tmp_path / "orders.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["orderId", "customerName", "deliveryNote"])
        writer.writerows((i, "Dana", "Leave the parcel with the neighbour at number four") for i in range(3))
    result = Scanner(workers=1).scan([str(tmp_path)])
    assert [(a.path, a.format, a.evidence) for a in result.artifacts] == [
        ("debug.csv", "csv-prompt-log", "prompt-log-csv:prompt+response")
    ]


def _ctx(path: Path, fds: list[int]) -> FileContext:
    fd = os.open(path, os.O_RDONLY)
    fds.append(fd)
    return FileContext(str(path), os.fstat(fd).st_size, os.pread(fd, HEADER_BYTES, 0), fd)


def test_damaged_and_hostile_parquet_footers_are_damaged_files_not_faults(tmp_path: Path) -> None:
    fds: list[int] = []
    try:
        for name, data in {
            "len.parquet": b"PAR1" + b"\x00" * 8 + b"\xff\xff\xff\x7fPAR1",
            "garbage.parquet": b"PAR1" + b"\x19\xfc" * 40 + (80).to_bytes(4, "little") + b"PAR1",
            "deep.parquet": b"PAR1" + b"\x1c" * 200 + (200).to_bytes(4, "little") + b"PAR1",
        }.items():
            (tmp_path / name).write_bytes(data)
            ctx = _ctx(tmp_path / name, fds)
            with pytest.raises(ParquetError):
                read_footer(ctx)
            with pytest.raises(DamagedFile):
                ParquetPromptLogDetector().detect(ctx)
        result = Scanner(workers=1).scan([str(tmp_path)])
        assert result.faults() == []  # the files' fault, not the scan's
        assert sorted((a.path, a.category, a.format) for a in result.artifacts) == [
            (n, "damaged", "parquet") for n in ("deep.parquet", "garbage.parquet", "len.parquet")
        ]
        assert {e.kind for e in result.errors} == {"damaged:parquet-prompt-log"}
    finally:
        for fd in fds:
            os.close(fd)


def test_a_parquet_footer_past_the_readers_bound_is_a_budget_not_damage(tmp_path: Path) -> None:
    length = MAX_FOOTER + 1
    (tmp_path / "wide.parquet").write_bytes(b"PAR1" + bytes(length) + length.to_bytes(4, "little") + b"PAR1")
    result = Scanner(workers=1).scan([str(tmp_path)])
    assert result.artifacts == [] and result.faults() == []
    assert [e.kind for e in result.errors] == ["budget:parquet-prompt-log"]


def test_server_log_counted_in_its_first_and_last_windows(tmp_path: Path) -> None:
    """A long log: its start says which server wrote it, the request lines may be at the end."""
    src = (PROMPTS / "logs" / "ollama_debug.log").read_bytes()
    head, tail = src.split(b"\n", 2)[:2], src
    filler = b'time=2024-06-01T10:00:00.000Z level=INFO source=sched.go:1 msg="waiting"\n' * 4000
    path = tmp_path / "server.log"
    path.write_bytes(b"\n".join(head) + b"\n" + filler + tail)
    fds: list[int] = []
    try:
        found = PromptTextDetector().detect(_ctx(path, fds))
    finally:
        for fd in fds:
            os.close(fd)
    assert found is not None and found.evidence == "server-log:ollama:prompts"
    assert found.details["records_counted_in"] == "first and last 64 KiB"


MARKERS = [f"ZQX{n:03d}MARKER" for n in range(12)]


def _plant_markers(root: Path) -> None:
    """The corpus, with every prompt's synthetic text replaced by a unique marker."""
    shutil.copytree(PROMPTS, root, symlinks=True)
    n = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        if b"privileged memo" in data and not data.startswith((b"SQLite", b"PAR1", b"GGUF")) and b"\x00" not in data:
            marker = MARKERS[n % len(MARKERS)].encode()
            path.write_bytes(data.replace(b"privileged memo", marker))
            n += 1
    assert n >= 20


def test_no_marker_in_any_output_log_state_or_report(tmp_path: Path) -> None:
    tree, state = tmp_path / "tree", tmp_path / "state"
    _plant_markers(tree)
    env = {**os.environ, "SANITIZE_STATE_DIR": str(state)}
    outputs = []
    for args in (["scan", "--json", "--hash", str(tree)], ["scan", str(tree)], ["scan", "--fail-on-found", str(tree)]):
        proc = subprocess.run([sys.executable, "-m", "sanitize", *args], capture_output=True, env=env, check=False)
        assert proc.returncode in (0, 10), proc.stderr
        outputs += [proc.stdout, proc.stderr]
    doc = json.loads(outputs[0])
    assert len(doc["artifacts"]) >= len(EXPECTED) - 3  # the scan did find the planted prompts
    written = [p.read_bytes() for p in state.rglob("*") if p.is_file()] if state.exists() else []
    for blob in outputs + written:
        for marker in MARKERS:
            assert marker.encode() not in blob


def test_volume_risk_line_names_prompt_logs_and_app_data_first() -> None:
    from sanitize.inventory.volumes import FindingGroup, TopFinding, VolumeReport

    report = VolumeReport("/dev/x", "x", "ext4", "/srv", scanned=True, artifact_count=5, files_seen=100)
    for category, fmt, sizes in (
        ("model-weights", "gguf", [(9 << 30) - 1, 1]),
        ("prompt-log", "vllm-log", [4000, 96]),
        ("prompt-log", "csv-prompt-log", [100]),
    ):
        group = report.groups[(category, fmt)] = FindingGroup(category, fmt)
        for i, size in enumerate(sizes):
            group.add(TopFinding(f"/srv/{fmt}-{i}", size, 0, False))
    report.apps = {"ollama": 2, "open-webui": 3}
    assert report.risk == (
        "x (ext4, mounted at /srv): prompt logs: 2 vllm-log, 1 csv-prompt-log, 4.1 KiB; "
        "AI app data: open-webui (3), ollama (2); 2 gguf model-weights, 9.0 GiB"
    )
