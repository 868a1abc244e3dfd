"""Prompt logs as tables: CSV, TSV, JSONL and Parquet files that pair a prompt-like column with
an output-like one, under whatever names a pipeline gave them.

Column names are split into words (`llm_response_text` -> llm, response, text) and each column
is called prompt-like or output-like by its words. Then:
- a pair in which one side has an unambiguous word (prompt, instruction, completion, response,
  generated, ...) is a prompt log by its names (rule `prompt+completion`, `input+response`, ...);
- a pair of everyday words (question/answer, input/output, text/summary, source/target) needs
  the table's structure too: a column only model calls have (model, temperature, token counts),
  prompt cells that embed another column's value of the same row (a prompt built from inputs),
  prompt cells that share a template (a common opening, chat-template tokens, instruction
  phrasing);
- with no telling names at all, a column of chat-template prompts next to a column of long free
  text is one (rule `structure`).
Records with a `messages` list (fine-tuning, request logs) or ShareGPT `conversations` count too.
CSV/TSV and JSONL are read up to `TEXT_PREFIX_BYTES` (at most MAX_ROWS rows); Parquet only its
footer (names, types, value sizes: long text has a large average size per value). Nothing of a
cell is kept: the finding has the rule, the column count and the rows looked at.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sanitize.detect.base import (
    HEADER_BYTES,
    TEXT,
    BudgetExceeded,
    Category,
    DamagedFile,
    Detail,
    FileContext,
    Finding,
    Gate,
    has_word,
)
from sanitize.detect.bounded_text import JSON_OBJECT_OPENING, first_significant_byte, is_jsonl, read_prefix
from sanitize.detect.parquet_footer import ParquetError, ParquetTooLarge, read_footer

MAX_ROWS = 50
MIN_ROWS = 2  # structure rules need at least this many rows
LONG_TEXT = 40  # average characters (or Parquet bytes per value) of free text
LINE_LOG_SUFFIXES = (".jsonl", ".ndjson", ".log")

PROMPT_WORDS = frozenset({"prompt", "prompts", "instruction", "instructions", "question", "questions", "query",
                          "queries", "input", "inputs", "request", "context", "user", "human", "message", "msg",
                          "src", "source", "text", "utterance", "ask", "system", "templated", "rendered"})  # fmt: skip
OUTPUT_WORDS = frozenset({"completion", "completions", "response", "responses", "resp", "output", "outputs",
                          "answer", "answers", "ans", "generated", "generation", "generations", "prediction",
                          "predictions", "pred", "reply", "replies", "assistant", "ai", "bot", "target", "tgt",
                          "summary", "result", "label", "chosen", "rejected", "gpt", "llm"})  # fmt: skip
# Words that name an LLM prompt or output unambiguously: a pair with one of them needs no more.
STRONG_WORDS = frozenset({"prompt", "prompts", "instruction", "instructions", "completion", "completions",
                          "response", "responses", "generated", "generation", "generations", "llm", "gpt",
                          "chosen", "rejected", "assistant", "templated", "rendered"})  # fmt: skip
LLM_FIELDS = frozenset({"model", "tokens", "prompt_tokens", "completion_tokens", "total_tokens", "usage",
                        "temperature", "max_tokens", "llm", "system_prompt", "finish_reason", "top_p",
                        "model_name", "latency_ms", "input_tokens", "output_tokens"})  # fmt: skip
# Words that make a column a measurement or a key, never free text ("response_time_ms", "generated_at").
NOT_TEXT_WORDS = frozenset({"at", "on", "date", "time", "ts", "timestamp", "id", "ids", "count", "len", "length",
                            "code", "status", "ms", "sec", "secs", "seconds", "type", "hash", "url", "size", "bytes",
                            "tokens", "score", "rate", "num", "number", "idx", "index", "flag", "version"})  # fmt: skip
_NUMBER = re.compile(r"\A[-+]?[\d.,:eE%x]+\Z")
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])")
_IDENTIFIER = re.compile(r"\A[A-Za-z_][A-Za-z0-9_ .:/()-]{0,63}\Z")
_TEMPLATE_MARKS = ("<|im_start|>", "<|start_header_id|>", "[INST]", "<start_of_turn>", "<|user|>",
                   "### Instruction", "### Response", "<|begin_of_text|>")  # fmt: skip
_INSTRUCTION_PHRASES = re.compile(
    r"\b(?:you are an?|answer the following|summari[sz]e the|translate the following|given the following"
    r"|respond with|based on the (?:context|following)|classify the following|question:|context:)",
    re.IGNORECASE,
)


def words(name: str) -> set[str]:
    return {w.lower() for w in _SPLIT.split(name.strip()) if w}


def role(name: str) -> str | None:
    ws = words(name)
    if ws & NOT_TEXT_WORDS:
        return None
    if ws & OUTPUT_WORDS:
        return "output"
    if ws & PROMPT_WORDS:
        return "prompt"
    return None


@dataclass(frozen=True)
class Pair:
    prompt: str
    output: str
    strong: bool

    @property
    def rule(self) -> str:
        def key(name: str, vocab: frozenset[str]) -> str:
            ws = words(name)
            return next((w for w in sorted(ws) if w in vocab), sorted(ws)[0] if ws else name)

        return f"{key(self.prompt, PROMPT_WORDS)}+{key(self.output, OUTPUT_WORDS)}"


def pairs(columns: Sequence[str]) -> list[Pair]:
    prompts = [c for c in columns if role(c) == "prompt"]
    outputs = [c for c in columns if role(c) == "output"]
    out = [Pair(p, o, bool((words(p) | words(o)) & STRONG_WORDS)) for p in prompts for o in outputs]
    return sorted(out, key=lambda p: not p.strong)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _text_cells(cells: list[str]) -> bool:
    """Most cells are words (a letter and a space), not codes, numbers or single tokens."""
    texts = [c for c in cells if c]
    return bool(texts) and 2 * sum(1 for c in texts if " " in c.strip() and any(ch.isalpha() for ch in c)) > len(texts)


def _numeric(cells: list[str]) -> bool:
    texts = [c.strip() for c in cells if c.strip()]
    return not texts or all(_NUMBER.match(c) for c in texts)


def _long_text(cells: list[str]) -> bool:
    texts = [c for c in cells if c]
    return bool(texts) and sum(len(c) for c in texts) / len(texts) >= LONG_TEXT and all(" " in c for c in texts)


def _embeds_other_columns(rows: list[dict[str, object]], prompt: str, others: Sequence[str]) -> bool:
    """In most rows the prompt cell contains another column's value of the same row."""
    hits = 0
    for row in rows:
        cell = _text(row.get(prompt))
        if any(len(v) >= 3 and v in cell and v != cell for o in others if (v := _text(row.get(o)).strip())):
            hits += 1
    return len(rows) >= MIN_ROWS and hits * 2 > len(rows)


def _templated(cells: list[str]) -> bool:
    texts = [c for c in cells if c]
    if len(texts) < MIN_ROWS:
        return False
    if all(any(m in c for m in _TEMPLATE_MARKS) for c in texts):
        return True
    common = texts[0]
    for c in texts[1:]:
        while common and not c.startswith(common):
            common = common[: len(common) // 2] if len(common) > 32 else common[:-1]
    return len(common) >= 16 or all(_INSTRUCTION_PHRASES.search(c) for c in texts)


def classify_rows(columns: Sequence[str], rows: list[dict[str, object]], kind: str) -> Finding | None:
    details: dict[str, Detail] = {"columns": len(columns), "rows_examined": len(rows)}
    lowered = {c.strip().lower() for c in columns}
    for pair in pairs(columns):
        prompt_cells = [_text(r.get(pair.prompt)) for r in rows]
        output_cells = [_text(r.get(pair.output)) for r in rows]
        if (
            _numeric(prompt_cells)
            or _numeric(output_cells)
            or not (_text_cells(prompt_cells) or _text_cells(output_cells))
        ):
            continue  # an empty table, or columns of numbers and codes: no prompt and no answer
        evidence = None
        if pair.strong:
            evidence = "names"
        elif lowered & LLM_FIELDS:
            evidence = "llm-fields"
        elif rows and _embeds_other_columns(rows, pair.prompt, [c for c in columns if c != pair.prompt]):
            evidence = "prompt-embeds-columns"
        elif rows and _templated(prompt_cells):
            evidence = "templated-prompts"
        if evidence is not None:
            rule = pair.rule if evidence == "names" else f"{pair.rule}:{evidence}"
            return Finding(Category.PROMPT_LOG, f"{kind}-prompt-log", f"prompt-log-{kind}:{rule}", details)
    if "messages" in lowered:
        return Finding(Category.PROMPT_LOG, f"{kind}-prompt-log", f"prompt-log-{kind}:messages", details)
    if "conversations" in lowered and rows and isinstance(rows[0].get("conversations"), list):
        return Finding(Category.PROMPT_LOG, f"{kind}-prompt-log", f"prompt-log-{kind}:sharegpt-conversations", details)
    # No telling names: a column of chat-template prompts beside a column of long free text.
    if len(rows) >= MIN_ROWS:
        cells = {c: [_text(r.get(c)) for r in rows] for c in columns}
        for c, values in cells.items():
            if (
                _templated(values)
                and all(any(m in x for m in _TEMPLATE_MARKS) for x in values if x)
                and any(_long_text(v) for o, v in cells.items() if o != c)
            ):
                return Finding(Category.PROMPT_LOG, f"{kind}-prompt-log", f"prompt-log-{kind}:structure", details)
    return None


# -- CSV / TSV --------------------------------------------------------------------------------------

_DELIMITERS = (",", "\t", ";", "|")
_LEADING_SPACE = (b" ", b"\t", b"\r", b"\n", b"\xef")
# Any telling word as a word of a header line (base.has_word: split at non-letters and camelCase humps).
_LEXICON_WORDS = frozenset(PROMPT_WORDS | OUTPUT_WORDS | {"messages", "conversations"})
_LEXICON = frozenset(w.encode() for w in _LEXICON_WORDS)
_TEMPLATE_MARK_BYTES = tuple(m.encode() for m in _TEMPLATE_MARKS)  # each starts with "<", "[" or "#"


def _header_cells(line: str) -> tuple[list[str], str] | None:
    for delimiter in _DELIMITERS:
        if delimiter in line:
            try:
                row = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
            except csv.Error:
                return None
            cells = [c.strip().strip('"') for c in row]
            if len(cells) >= 2 and all(_IDENTIFIER.match(c) for c in cells):  # a header, not prose or data
                return cells, delimiter
            return None
    return None


def _may_be_table(first_line: bytes, head: bytes) -> bool:
    """Cheap test before any parsing: a telling header word, or template marks in the rows."""
    if len(first_line) > 4096 or not (
        b"," in first_line or b"\t" in first_line or b";" in first_line or b"|" in first_line
    ):
        return False
    if has_word(first_line, _LEXICON):
        return True
    return (b"<" in head or b"[" in head or b"#" in head) and any(m in head for m in _TEMPLATE_MARK_BYTES)


def classify_csv(prefix: bytes, truncated: bool = False) -> Finding | None:
    if truncated and b"\n" in prefix:
        prefix = prefix[: prefix.rindex(b"\n") + 1]  # the last row may be cut by the prefix's end
    text = prefix.decode("utf-8", "replace").lstrip("\ufeff")
    first_line = text.split("\n", 1)[0].rstrip("\r")
    header = _header_cells(first_line)
    if header is None:
        return None
    columns, delimiter = header
    rows: list[dict[str, object]] = []
    body = text[len(first_line) :].lstrip("\r\n")
    try:
        for row in csv.reader(io.StringIO(body), delimiter=delimiter):
            if len(rows) >= MAX_ROWS:
                break
            if len(row) == len(columns):
                rows.append(dict(zip(columns, row, strict=True)))
    except csv.Error:
        pass
    kind = "tsv" if delimiter == "\t" else "csv"
    return classify_rows(columns, rows, kind)


# -- JSONL --------------------------------------------------------------------------------------------


def jsonl_records(prefix: bytes) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for line in prefix.split(b"\n")[: MAX_ROWS + 1]:
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            break  # the last line may be cut by the prefix's end
        if not isinstance(value, dict):
            break
        records.append(value)
    return records


def classify_jsonl(prefix: bytes) -> Finding | None:
    records = jsonl_records(prefix)
    if not records:
        return None
    columns = list(dict.fromkeys(k for r in records[:5] for k in r))
    return classify_rows(columns, records, "jsonl")


class PromptLogDetector:
    name = "prompt-logs"
    header_class = TEXT
    # A table (_may_be_table): a first line with a delimiter (a file starting with "{" is JSON)
    # and a telling word in it or a template mark in the header; ordinary CSVs stop here. Or
    # JSON lines (after whitespace or a BOM): is_jsonl needs a second line, in the header or
    # beyond it, unless the name says it is a line log.
    gate = Gate(
        keyed=(
            (
                rb"(?!\{)[^\n,\t;|]*+[,\t;|]",
                Gate(
                    first_line_words=_LEXICON_WORDS,
                    within=tuple((mark[:1], mark, HEADER_BYTES) for mark in _TEMPLATE_MARK_BYTES),
                ),
            ),
            (
                JSON_OBJECT_OPENING,
                Gate(within=((b"\n", b"\n", HEADER_BYTES),), beyond_header=True, name_suffixes=LINE_LOG_SUFFIXES),
            ),
        ),
    )

    def detect(self, ctx: FileContext) -> Finding | None:
        head = ctx.header
        if head[:1] == b"{" or (head[:1] in _LEADING_SPACE and first_significant_byte(head[:64]) == ord("{")):
            # Read further only when the first two records do not fit in the header.
            prefix = head if head.count(b"\n") >= 2 or ctx.size <= len(head) else read_prefix(ctx)
            # A single JSON document is left to the chat/store detectors; logs have one record per line.
            if not (is_jsonl(prefix) or ctx.name.endswith(LINE_LOG_SUFFIXES)):
                return None
            return classify_jsonl(read_prefix(ctx) if prefix is head and ctx.size > len(head) else prefix)
        nl = head.find(b"\n")
        first_line = head[: nl if nl >= 0 else len(head)]
        if not _may_be_table(first_line, head):
            return None
        prefix = read_prefix(ctx)
        return classify_csv(prefix, truncated=len(prefix) < ctx.size)


class ParquetPromptLogDetector:
    name = "parquet-prompt-log"
    first_bytes = b"P"

    def detect(self, ctx: FileContext) -> Finding | None:
        try:
            footer = read_footer(ctx)
        except ParquetTooLarge:
            raise BudgetExceeded(ctx.path) from None  # reported as a limit of the scan, not read
        except ParquetError:  # a Parquet file whose footer cannot be read: listed as damaged, not a fault
            raise DamagedFile("footer", fmt="parquet") from None
        if footer is None:
            return None
        strings = [c for c in footer.columns if c.is_string]
        names = [c.name for c in footer.columns]
        by_name = {c.name: c for c in footer.columns}
        details: dict[str, Detail] = {"columns": len(names), "rows": footer.rows}
        lowered = {n.rsplit(".", 1)[-1].lower() for n in names}
        for pair in pairs([c.name for c in strings]):
            long_text = all(by_name[n].avg_bytes >= LONG_TEXT for n in (pair.prompt, pair.output))
            if pair.strong or lowered & LLM_FIELDS or long_text:
                evidence = "names" if pair.strong else "llm-fields" if lowered & LLM_FIELDS else "long-text"
                rule = pair.rule if evidence == "names" else f"{pair.rule}:{evidence}"
                return Finding(Category.PROMPT_LOG, "parquet-prompt-log", f"prompt-log-parquet:{rule}", details)
        if "messages" in lowered or "conversations" in lowered:
            return Finding(Category.PROMPT_LOG, "parquet-prompt-log", "prompt-log-parquet:messages", details)
        return None


DETECTORS = [PromptLogDetector(), ParquetPromptLogDetector()]
